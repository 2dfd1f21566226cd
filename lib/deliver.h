/*
 * SPDX-License-Identifier: ISC
 *
 * deliver.h -- the delivery agent side of the qmgr -> agent protocol
 * (docs/ipc.md, "qmgr -> delivery agents").
 *
 * The queue manager connects to an agent's service socket and sends
 * requests one after another on that connection.  A request is a byte
 * carrying the queue file's descriptor (read-only, SCM_RIGHTS), a
 * "deliver" attribute message, and one "rcpt" message per recipient.  The
 * agent answers with one "rcpt" result per recipient and a "done".
 *
 * deliver_serve() runs that loop; an agent supplies a handler that sets a
 * result on every recipient.  The queue file itself is parsed here
 * (lib/qfile) and its content is offered as a mailbox_src.
 */
#ifndef TERN_DELIVER_H
#define TERN_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox.h"
#include "qfile.h"
#include "qid.h"

#define DELIVER_PROTO		"deliver/1"
#define DELIVER_NEXTHOP_MAX	512
#define DELIVER_TEXT_MAX	1000	/* diagnostic text of one result */
#define DELIVER_RELAY_MAX	300	/* "dovecot[127.0.0.1]:24", "virtual" */
#define DELIVER_DSN_MAX		15	/* "5.1.1"; RFC 3463: x.yyy.zzz */
#define DELIVER_RCPT_MAX	10000	/* recipients in one request */
#define DELIVER_HEADER_MAX	(1024 * 1024)	/* deliver_header() bytes */

enum deliver_result {
	DELIVER_NONE = 0,	/* not set by the handler: deferred */
	DELIVER_SENT,		/* delivered, or relayed */
	DELIVER_DEFERRED,	/* try again later */
	DELIVER_BOUNCED		/* permanent failure */
};

struct deliver_rcpt {
	/* From the request. */
	uint32_t	 index;		/* recipient's position in the file */
	char		*addr;
	char		*orcpt_type;
	char		*orcpt;
	uint8_t		 notify;	/* QFILE_NOTIFY_* */
	/* Set by the agent (deliver_set). */
	enum deliver_result result;
	char		 dsn[DELIVER_DSN_MAX + 1];
	char		 relay[DELIVER_RELAY_MAX + 1];
	char		 text[DELIVER_TEXT_MAX + 1];
};

struct deliver_req {
	char		 queue_id[QID_LEN + 1];
	char		 nexthop[DELIVER_NEXTHOP_MAX + 1];
	char		 sender[QFILE_ADDR_MAX + 1];	/* "" for <> */
	int		 fd;		/* the queue file, read-only */
	struct qfile	 q;		/* parsed from fd */
	struct deliver_rcpt *rcpts;
	size_t		 nrcpt;
	/* deliver_header(): the header section, contiguous. */
	uint8_t		*hdr;
	size_t		 hdr_len;
	/* State of a mailbox_src made by deliver_src(). */
	size_t		 src_range, src_off;
};

/*
 * deliver_serve -- read requests on sock until qmgr closes it, or sends
 * nothing for timeout_ms between two requests (returns 0), or the
 * protocol breaks (returns -1 and logs why).  For each request,
 * handler(req, arg) sets a result on each recipient it handles; one it
 * leaves unset is reported as deferred (4.3.0, "delivery agent did not
 * handle the recipient").  timeout_ms bounds each read and write (and
 * the wait for the next request).  max_size bounds the queue file read
 * (0: 128 MiB).
 *
 * Protocol errors (the connection is closed): not exactly one
 * descriptor with the byte 'Q', a descriptor that is not a regular file
 * open read-only, a malformed or unexpected message, another proto,
 * nrcpt outside 1..DELIVER_RCPT_MAX, a sender or a recipient address
 * that differs from the queue file's, an index out of range or named
 * twice in one request, notify bits outside QFILE_NOTIFY_*.  A queue
 * file that cannot be read or parsed is not one: the handler is not
 * called and every recipient is deferred (4.3.0) with the reason.
 */
int	deliver_serve(int sock, void (*handler)(struct deliver_req *, void *),
	    void *arg, int timeout_ms, size_t max_size);

/*
 * deliver_serve_idle -- deliver_serve, and while it waits for a request,
 * idle(arg) is called: it returns the milliseconds after which it wants
 * to be called again (it closes an idle connection of its own then), or
 * -1 when it has nothing to time.  It is called again after each wait,
 * so it must do its work when its time has come and then return -1.
 */
int	deliver_serve_idle(int sock,
	    void (*handler)(struct deliver_req *, void *),
	    int (*idle)(void *), void *arg, int timeout_ms, size_t max_size);

/*
 * deliver_set -- record the result of one recipient.  dsn is "2.0.0"
 * style (checked: a bad one becomes 4.3.0 or 5.3.0 by result); relay
 * names where it went; text is a printf format for the diagnostic
 * (control characters are replaced, long text is cut).
 */
void	deliver_set(struct deliver_rcpt *, enum deliver_result,
	    const char *dsn, const char *relay, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/*
 * deliver_src -- a mailbox_src that reads the message content from the
 * start, with an optional prefix (a Delivered-To: line).  The prefix must
 * outlive the copy.  Call again to start over.
 */
void	deliver_src(struct deliver_req *, struct mailbox_src *,
	    const void *prefix, size_t prefix_len);

/*
 * deliver_header -- the message's header section, at most
 * DELIVER_HEADER_MAX bytes, held in req.  It ends before the empty line
 * (CRLF or LF) that ends it or, as cleanup reads it, before the first
 * line that is neither a header field (RFC 5322 2.2: a name of printable
 * ASCII but ':', optional white space, ':') nor, after one, a
 * continuation line (starting with SP or HT).  Every line it holds
 * keeps its line end, except a last one the content did not end.
 */
const uint8_t *deliver_header(struct deliver_req *, size_t *len_r);

/*
 * deliver_header_count -- how many header fields named name (case
 * insensitive) the header section has; with value non-NULL, only those
 * whose value, trimmed of white space, equals value (case insensitive).
 */
size_t	deliver_header_count(struct deliver_req *, const char *name,
	    const char *value);

/*
 * deliver_delay -- seconds since the message arrived (its queue file's
 * arrival record), for the delay= of the delivery log line; never
 * negative.
 */
double	deliver_delay(const struct deliver_req *);

/*
 * deliver_crlf -- the line end the content uses: "\r\n" unless its
 * first line ends with a bare LF.
 */
const char *deliver_crlf(struct deliver_req *);

#endif
