/*
 * SPDX-License-Identifier: ISC
 *
 * qlist.h -- the queue listing that "ternctl queue list", mailq and the
 * showq service print: one implementation, written to a FILE *; the
 * showq protocol's constants and its client side (mail layer).
 *
 * Process:  ternctl (root or mail_owner), showq (mail_owner), terndrop
 *           (the client side only, as the calling user).
 * Input:    queue files (parsed by lib/qfile, bounded), defer/ID lines
 *           written by qmgr (bounded by QLIST_REASONS_MAX); from showq,
 *           one status line (bounded by QLIST_STATUS_MAX), then text
 *           passed on as it is.  Addresses and reasons are untrusted
 *           text: escaped on output.
 * Failure:  a file that cannot be read is reported (to the error FILE *,
 *           or logged when there is none) and the others still listed.
 *
 * The showq protocol (docs/ipc.md): the client writes one request line,
 * QLIST_REQ_TEXT or QLIST_REQ_JSON, and nothing else; showq answers one
 * status line, "ok" or "error TEXT", and after "ok" the listing, then
 * closes the connection.
 */
#ifndef TERN_QLIST_H
#define TERN_QLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qfile.h"

#define QLIST_ENVELOPE_MAX	(64 * 1024 * 1024)	/* as qmgr's */
#define QLIST_REASONS_MAX	(16 * 1024 * 1024)	/* bytes of defer/ID */

#define QLIST_SOCKET		"public/showq"	/* under queue_directory */
#define QLIST_REQ_TEXT		"list\n"
#define QLIST_REQ_JSON		"json\n"
#define QLIST_REQ_MAX		64	/* bytes showq reads of a request */
#define QLIST_STATUS_MAX	256	/* bytes of the status line */
#define QLIST_TIMEOUT_MS	60000	/* no byte for this long: give up */

enum qlist_queue {
	QLIST_INCOMING, QLIST_ACTIVE, QLIST_DEFERRED, QLIST_HOLD,
	QLIST_CORRUPT, QLIST_NQUEUES
};

/* "incoming", "active", ...: the directory names, in listing order. */
extern const char *const qlist_names[QLIST_NQUEUES];

/* The open queue: the five queue directories and defer/. */
struct qlist_dirs {
	const char	*qdir;		/* queue_directory, for messages */
	int		 dirs[QLIST_NQUEUES];
	int		 defer_fd;
};

/* The last deferral reason of each recipient (NULL fields: none). */
struct qlist_reason {
	const char	*dsn, *relay, *text;
};

struct qlist_reasons {
	char		*data;		/* defer/ID's bytes, or NULL */
	struct qlist_reason *rs;	/* one per recipient */
	size_t		 cap;
};

/*
 * qlist_write -- list every message of every queue to out, as "ternctl
 * queue list" prints it (json: one JSON object per message and line).
 * A file that cannot be read is reported to err ("PROG: path: why") or,
 * err NULL, logged; the others are still listed.  Returns 0, 1 when a
 * file could not be read, or -1 when out could not be written (errno).
 */
int	qlist_write(const struct qlist_dirs *, bool json, FILE *out,
	    FILE *err, const char *prog);

/*
 * qlist_reasons_read -- the reasons in defer/ID (id a valid queue ID) for
 * nrcpt recipients: r->rs[i], all NULL when there is none.  Bounded by
 * QLIST_REASONS_MAX; dies only on memory exhaustion.
 */
void	qlist_reasons_read(struct qlist_reasons *r, int defer_fd,
	    const char *id, size_t nrcpt);
void	qlist_reasons_free(struct qlist_reasons *r);

/*
 * qlist_put_text -- str for a terminal: printable ASCII and well-formed
 * UTF-8 as they are, a backslash, control characters and bytes that are
 * not UTF-8 as \xHH.  qlist_put_json: str as a JSON string, quoted,
 * always valid JSON (a byte that is not UTF-8 becomes U+FFFD).
 */
void	qlist_put_text(FILE *f, const char *str);
void	qlist_put_json(FILE *f, const char *str);

/* qlist_fmt_time -- local time of sec; with the year and zone if year. */
void	qlist_fmt_time(char *buf, size_t sz, int64_t sec, bool year);

/*
 * qlist_ask -- the client side of showq over the connected socket fd:
 * send the request, read the status line, copy the listing to out.
 * Returns 0, or -1 with a static or errbuf message in *err_r ("permission
 * denied" as showq said it, or what went wrong).  Bounded in time by
 * QLIST_TIMEOUT_MS per read.
 */
int	qlist_ask(int fd, bool json, FILE *out, char *errbuf, size_t errsz,
	    const char **err_r);

/*
 * qlist_request -- showq's parser of a request: buf[0..len) against the
 * fixed strings.  Returns 1 for json, 0 for text, -1 for anything else.
 */
int	qlist_request(const char *buf, size_t len);

#endif
