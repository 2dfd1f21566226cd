/*
 * SPDX-License-Identifier: ISC
 *
 * fdpass.h -- send and receive file descriptors over UNIX sockets with
 * SCM_RIGHTS (base layer).
 */
#ifndef TERN_FDPASS_H
#define TERN_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX	4	/* descriptors in one message */

/*
 * fdpass_send -- send len bytes (1..) of data with nfds (0..FDPASS_MAX)
 * descriptors attached, all at once.  Returns 0, or -1 with errno set
 * (EMSGSIZE for a short send).
 */
int	fdpass_send(int sock, const int *fds, size_t nfds, const void *data,
	    size_t len);

/*
 * fdpass_recv -- receive up to len bytes and at most maxfds descriptors
 * (received close-on-exec).  Descriptors beyond maxfds, or any that came
 * with truncated control data, are closed and the call fails: a peer
 * cannot make us hold descriptors we did not ask for.  Returns the number
 * of data bytes (0 at end of file) with *nfds_r set, or -1 with errno set
 * (EBADMSG for an unexpected control message).
 */
ssize_t	fdpass_recv(int sock, int *fds, size_t maxfds, size_t *nfds_r,
	    void *data, size_t len);

#endif
