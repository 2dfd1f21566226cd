/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup.h -- cleanup: takes a message from smtpd (docs/ipc.md), adds
 * Received:, checks header limits, and writes the queue file durably
 * into incoming/ before it answers with the queue ID.
 *
 * Process:  cleanup (user mail_owner, multi-client event loop).
 * Input:    attribute messages from smtpd (a less trusted process: every
 *           message is checked; a bad one closes that connection only),
 *           and message content (untrusted).
 * Failure:  a write error fails that message (452 4.3.1 when the disk is
 *           full, else 451 4.3.0) and leaves no file behind.
 */
#ifndef TERN_CLEANUP_H
#define TERN_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qfile.h"
#include "qid.h"

struct conf;
struct service_ctx;

/* cleanup_conn.c: the service's hooks. */
void	cleanup_open_incoming(struct service_ctx *);
void	cleanup_client(struct service_ctx *, int fd);

/* Tracks the header section of the content as it streams past. */
struct cleanup_headers {
	bool		 done;		/* the empty line was seen */
	bool		 line_start;
	uint64_t	 bytes;		/* header section so far */
	unsigned	 received;	/* Received: headers */
	char		 name[16];	/* start of the current line */
	size_t		 namelen;
};

/*
 * cleanup_headers_feed -- account for n more content bytes.  Returns 0,
 * or -1 with *code_r, *enh_r, *text_r set when a limit is passed.  Pure.
 */
int	cleanup_headers_feed(struct cleanup_headers *, const uint8_t *p,
	    size_t n, uint64_t size_limit, unsigned hop_limit, int *code_r,
	    const char **enh_r, const char **text_r);
void	cleanup_headers_init(struct cleanup_headers *);

/*
 * cleanup_received -- the Received: header for a message (RFC 5321
 * 4.4, protocol names per RFC 3848), CRLF-terminated, into buf.
 * Returns its length, or 0 when it did not fit.
 */
size_t	cleanup_received(char *buf, size_t sz, const struct qfile_client *,
	    const char *myhostname, const char *qid, const char *rcpt,
	    int64_t when);

#endif
