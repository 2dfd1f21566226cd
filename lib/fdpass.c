/*
 * SPDX-License-Identifier: ISC
 *
 * fdpass.c -- send and receive file descriptors over UNIX sockets.
 *
 * Process:  master (to services), smtpd and tlsproxy (client sockets).
 * Input:    control data from a peer that may be compromised: it must not
 *           make us hold descriptors we did not ask for.
 * Failure:  -1 with errno set; anything unexpected received is closed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

/* Control buffer for FDPASS_MAX descriptors, aligned for struct cmsghdr. */
union fdpass_cmsg {
	struct cmsghdr	hdr;
	unsigned char	buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
};

int
fdpass_send(int sock, const int *fds, size_t nfds, const void *data,
    size_t len)
{
	union fdpass_cmsg cbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	/* Without a data byte, a stream socket may not carry the fds. */
	if (data == NULL || len == 0 || nfds > FDPASS_MAX ||
	    (nfds > 0 && fds == NULL)) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/*
 * Take the descriptors of one SCM_RIGHTS message: the first ones into
 * fds[*nfds_r..maxfds), any beyond closed at once.  The count comes from
 * cmsg_len, bounded by the control data actually returned.  Returns false
 * when some had to be closed.
 */
static bool
take_rights(const struct msghdr *msg, struct cmsghdr *cmsg, int *fds,
    size_t maxfds, size_t *nfds_r)
{
	const unsigned char *end, *data;
	size_t clen, room, n, i;
	bool ok = true;
	int fd;

	end = (const unsigned char *)msg->msg_control + msg->msg_controllen;
	room = (size_t)(end - (const unsigned char *)cmsg);
	clen = cmsg->cmsg_len < room ? cmsg->cmsg_len : room;
	if (clen < CMSG_LEN(0))
		return false;
	n = (clen - CMSG_LEN(0)) / sizeof(int);
	data = CMSG_DATA(cmsg);
	for (i = 0; i < n; i++) {
		memcpy(&fd, data + i * sizeof(int), sizeof(fd));
		if (*nfds_r < maxfds)
			fds[(*nfds_r)++] = fd;
		else {
			close(fd);
			ok = false;
		}
	}
	return ok;
}

static void
close_all(int *fds, size_t *nfds_r)
{
	size_t i;

	for (i = 0; i < *nfds_r; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	*nfds_r = 0;
}

ssize_t
fdpass_recv(int sock, int *fds, size_t maxfds, size_t *nfds_r, void *data,
    size_t len)
{
	union fdpass_cmsg cbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;
	bool ok;

	if (nfds_r == NULL || data == NULL || len == 0 ||
	    (maxfds > 0 && fds == NULL)) {
		errno = EINVAL;
		return -1;
	}
	*nfds_r = 0;
	if (maxfds > FDPASS_MAX)
		maxfds = FDPASS_MAX;
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	/* Walk everything even after a failure, to close every fd. */
	ok = (msg.msg_flags & MSG_CTRUNC) == 0;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS) {
			ok = false;
			continue;
		}
		if (!take_rights(&msg, cmsg, fds, maxfds, nfds_r))
			ok = false;
	}
	if (!ok) {
		close_all(fds, nfds_r);
		errno = EBADMSG;
		return -1;
	}
	return n;
}
