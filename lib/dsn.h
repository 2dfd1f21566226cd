/*
 * SPDX-License-Identifier: ISC
 *
 * dsn.h -- delivery status notifications (RFC 3464): the composer of
 * the notice bounce sends back to a sender (mail layer).
 *
 * The notice is a complete RFC 5322 message with CRLF line ends:
 *
 *	From: Mail Delivery System <MAILER-DAEMON@myorigin>
 *	To: <sender>, Subject:, Date:, Message-ID:,
 *	Auto-Submitted: auto-replied (RFC 3834), MIME-Version: 1.0
 *	Content-Type: multipart/report; report-type=delivery-status;
 *	    boundary="QID.NONCE/Tern"
 *
 *	part 1  text/plain: what happened, in words, for each recipient
 *	part 2  message/delivery-status: the RFC 3464 fields
 *	part 3  text/rfc822-headers (the original's header section), or
 *	        message/rfc822 (the whole original, for a failure with
 *	        RET=FULL that fits size_limit); left out when not even the
 *	        header section fits
 *
 * An original sent with SMTPUTF8 gets the RFC 6533 types instead
 * (message/global-delivery-status, message/global-headers,
 * message/global), and so does a notice naming a non-ASCII address:
 * such a notice must itself travel with SMTPUTF8 (dsn.utf8).
 *
 * Invariants, whatever the input (tests/fuzz/fuzz_dsn.c checks them):
 * every line ends in CRLF and has at most DSN_LINE_MAX bytes before it
 * (long diagnostics are folded at spaces, or cut; long lines of the
 * original are split); the boundary occurs nowhere in any part; text
 * from remote replies and the envelope has its control characters
 * replaced; 8-bit bytes appear only where dsn.eightbit says so.
 *
 * Pure: never logs, never exits; allocates only the buffers in struct
 * dsn, bounded by its input.
 */
#ifndef TERN_DSN_H
#define TERN_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "qfile.h"

#define DSN_LINE_MAX		998	/* RFC 5322 2.1.1, CRLF not counted */
#define DSN_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */
#define DSN_DIAG_MAX		2000	/* bytes of one diagnostic kept */
#define DSN_TEXT_RCPT_MAX	100	/* recipients named in part 1 */
#define DSN_BOUNDARY_TRIES	100

enum dsn_kind {
	DSN_FAILURE,		/* "Undelivered Mail Returned to Sender" */
	DSN_DELAY,		/* "Delayed Mail (still being retried)" */
	DSN_SUCCESS		/* "Successful Mail Delivery Report" */
};

enum dsn_return {
	DSN_RETURN_NONE,	/* no part 3 */
	DSN_RETURN_HEADERS,	/* the header section */
	DSN_RETURN_FULL		/* the whole message */
};

/* One recipient the notice reports on.  NULL strings count as "". */
struct dsn_rcpt {
	const char	*addr;		/* Final-Recipient */
	const char	*orcpt_type;	/* ORCPT: "rfc822", "utf-8"; "": none */
	const char	*orcpt;		/* ORCPT address, xtext-decoded */
	const char	*action;	/* "failed", "delayed", "delivered",
					   "relayed", "expanded" */
	const char	*status;	/* RFC 3463, "5.1.1" */
	const char	*remote_mta;	/* "mx.example.org", maybe with
					   "[addr]:port"; "": none */
	const char	*diag;		/* the diagnostic text; "": none */
	bool		 diag_smtp;	/* diag is a server's reply: "smtp;",
					   else "x-unix;" */
};

struct dsn_notice {
	enum dsn_kind	 kind;
	const struct qfile *orig;	/* envelope and content ranges */
	const char	*queue_id;	/* the original's */
	const struct dsn_rcpt *rcpts;
	size_t		 nrcpt;		/* at least 1 */
	const char	*myhostname;	/* Reporting-MTA */
	const char	*from;		/* "MAILER-DAEMON@myorigin" */
	const char	*to;		/* who gets the notice */
	int64_t		 now;		/* Date:, Last-Attempt-Date: */
	int64_t		 retry_until;	/* delay: Will-Retry-Until; 0: none */
	size_t		 size_limit;	/* bounce_size_limit */
	uint32_t	 nonce;		/* random, for the boundary */
};

/* A notice being composed: dsn_prepare, then dsn_write. */
struct dsn {
	/* Set by dsn_prepare, for the notice's envelope. */
	bool		 utf8;		/* needs SMTPUTF8 */
	bool		 eightbit;	/* has 8-bit bytes: BODY=8BITMIME */
	enum dsn_return	 returned;	/* what part 3 holds */
	bool		 cut;		/* less than RET asked for */
	char		 boundary[DSN_BOUNDARY_MAX + 1];
	/* Private. */
	const struct dsn_notice *n;
	struct buf	 text;		/* part 1 */
	struct buf	 status;	/* part 2 */
	struct buf	 orig;		/* part 3, lines already made safe */
	size_t		 ret_bytes;	/* bytes of the original in part 3 */
};

/* Where dsn_write puts the notice: 0, or -1 to stop. */
typedef int	(*dsn_out_fn)(void *arg, const void *data, size_t len);

void	dsn_init(struct dsn *);
void	dsn_clear(struct dsn *);

/*
 * dsn_prepare -- check the notice (kind, actions and status codes must
 * agree: a failure is "failed" with a 4.x.x or 5.x.x status, a delay
 * "delayed" with 4.x.x, a success "delivered", "relayed" or "expanded"
 * with 2.x.x), decide what is returned, build the parts and choose the
 * boundary.  n and everything it points to must stay valid until
 * dsn_clear.  Returns 0, or -1 with *err_r set to a static string.
 */
int	dsn_prepare(struct dsn *, const struct dsn_notice *n,
	    const char **err_r);

/*
 * dsn_write -- the whole notice, through out(arg, ...) in pieces;
 * msgid is the Message-ID: without its angle brackets.  Returns 0, or
 * -1 when out did (or msgid is not printable ASCII).
 */
int	dsn_write(struct dsn *, const char *msgid, dsn_out_fn out, void *arg);

/*
 * dsn_compose -- dsn_prepare and dsn_write into out (appended; its max
 * applies).  Returns 0, or -1 with *err_r set.
 */
int	dsn_compose(struct dsn *, const struct dsn_notice *n,
	    const char *msgid, struct buf *out, const char **err_r);

/* dsn_kind_name -- "failure", "delay", "success"; dsn_kind_parse: -1. */
const char *dsn_kind_name(enum dsn_kind);
int	dsn_kind_parse(const char *, enum dsn_kind *);

/*
 * dsn_status_valid -- is s an RFC 3463 status code, class "." 1-3
 * digits "." 1-3 digits, class 2, 4 or 5?
 */
bool	dsn_status_valid(const char *s);

#endif
