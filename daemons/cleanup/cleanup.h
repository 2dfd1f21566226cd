/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup.h -- cleanup: takes a message from smtpd (docs/ipc.md), adds
 * Received: (and, for a local submission, the Message-ID:, Date: and
 * From: it lacks), checks header limits, and writes the queue file
 * durably into incoming/ before it answers with the queue ID.
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
#include <time.h>

#include "qfile.h"
#include "qid.h"

struct conf;
struct service_ctx;

/* cleanup_conn.c: the service's hooks. */
void	cleanup_start(struct service_ctx *);
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

/* Header fields a local submission gets when it lacks them. */
#define CLEANUP_HDR_MSGID	0x01	/* Message-ID: */
#define CLEANUP_HDR_DATE	0x02	/* Date: */
#define CLEANUP_HDR_FROM	0x04	/* From: */
#define CLEANUP_HDR_ALL		0x07

/*
 * A field name is looked for in at most this many bytes of a line (RFC
 * 5322 2.1.1: a line is at most 998 characters): a longer run without a
 * colon is not a header field.  The same bound caps how far the first
 * line end is looked for.
 */
#define CLEANUP_LINE_MAX	998

/* Where the header section of a message ends, and what it holds. */
struct cleanup_hscan {
	/*
	 * OK: the offset where added fields go, the end of the last
	 * header field (before the empty line or the first line that is not
	 * a field, or the end of the content).  MORE: the bytes known so
	 * far to be header section.
	 */
	size_t		 end;
	unsigned	 seen;		/* CLEANUP_HDR_* present */
	bool		 crlf;		/* the first line ends in CRLF (or in
					   nothing seen): write CRLF, else LF */
	bool		 add_eol;	/* the last field has no line end */
	bool		 add_blank;	/* a body follows without empty line */
	/* Where the scan goes on: */
	size_t		 line;		/* the line not yet scanned to its end */
	size_t		 lf_from;	/* its LF is not before (0: not known
					   to be a field or a continuation) */
};

enum cleanup_scan { CLEANUP_SCAN_OK, CLEANUP_SCAN_MORE };

/*
 * cleanup_hscan -- find the end of the header section in the first len
 * bytes of a message (eof: that is all of it).  A header field is a line
 * that starts with a field name (printable ASCII but ':', RFC 5322 2.2;
 * white space before the colon is accepted, as the obsolete syntax of
 * RFC 5322 4.5 allows) and a colon; a line that starts with a space or a
 * tab continues a field.  The section ends at the empty line (CRLF or a
 * bare LF), at the first line that is neither, or at the end of the
 * content.  Names compare case-insensitively.
 *
 * Incremental: after cleanup_hscan_init(s), call it with the same
 * message, longer each time (the buffer may move: s holds offsets), until
 * it answers OK.  Each call goes on where the last one stopped and reads
 * again at most CLEANUP_LINE_MAX + 2 bytes it had seen, so a message
 * given one byte at a time is still scanned in linear time.
 *
 * Returns CLEANUP_SCAN_OK with *s filled, or CLEANUP_SCAN_MORE when the
 * answer depends on bytes not yet given (s->end then says how many are
 * header section for sure).  The answer does not depend on how the
 * message was cut: a prefix that answers OK gives the answer for the
 * whole message.  Pure: never logs, never allocates.
 */
enum cleanup_scan cleanup_hscan(const uint8_t *p, size_t len, bool eof,
	    struct cleanup_hscan *s);
void	cleanup_hscan_init(struct cleanup_hscan *);

/* What goes into the fields cleanup adds. */
struct cleanup_fields {
	const char	*msgid;		/* "QID@myhostname", without <> */
	const char	*date;		/* RFC 5322 date-time */
	const char	*from;		/* an addr-spec */
};

/*
 * cleanup_hadd -- the text to insert at s->end: a line end if the last
 * field lacks one, then each field that s->seen lacks (Message-ID:,
 * Date:, From:, in this order), then an empty line if a body follows
 * without one; line ends as s->crlf says.  Nothing at all when no field
 * is missing.  Returns its length (0: nothing to add), or (size_t)-1
 * when it does not fit in sz bytes.  Pure.
 */
size_t	cleanup_hadd(char *buf, size_t sz, const struct cleanup_hscan *s,
	    const struct cleanup_fields *f);

/*
 * cleanup_from -- the addr-spec for the From: of a local submission from
 * envelope sender: the sender, qualified with "@myorigin" when it has no
 * domain; for the null sender "MAILER-DAEMON@myorigin".  Returns 0, or -1
 * when it does not fit or the sender holds a control character.  Pure.
 */
int	cleanup_from(char *buf, size_t sz, const char *sender,
	    const char *myorigin);

/*
 * cleanup_from_name -- the From: value of a local submission whose
 * sender gave a full name (sendmail -F; at most CLEANUP_NAME_MAX bytes,
 * no control character): "name <addrspec>", the name as an RFC 5322
 * phrase: kept as it is when it is atoms and spaces, else a quoted
 * string, or, when it holds 8-bit bytes, RFC 2047 "B" encoded words
 * (UTF-8, at most 45 bytes each, cut between characters).  An empty
 * name gives the addr-spec alone.  Returns 0, or -1 when it does not fit
 * or the name is not acceptable.  Pure.
 */
int	cleanup_from_name(char *buf, size_t sz, const char *name,
	    const char *addrspec);
#define CLEANUP_NAME_MAX	100

/*
 * cleanup_date -- when as an RFC 5322 3.3 date-time in local time
 * ("Tue, 7 Jan 2025 13:02:11 +0100"), English whatever the locale.
 */
void	cleanup_date(char *buf, size_t sz, int64_t when);

/* What the Received: header says. */
struct cleanup_rcvd {
	const struct qfile_client *client;	/* NULL: local or internal */
	bool		 internal;	/* mail Tern made: no client, no uid */
	const char	*tls_proto;	/* "TLSv1.3"; NULL or "": no TLS */
	const char	*tls_cipher;
	int64_t		 uid;		/* local: the submitting user */
	const char	*myhostname;
	const char	*qid;
	const char	*rcpt;		/* the only recipient, or NULL */
	int64_t		 when;
	bool		 crlf;		/* line ends: CRLF, else LF */
};

/*
 * cleanup_received -- the Received: header for a message (RFC 5321
 * 4.4, protocol names per RFC 3848, the TLS comment and the local form
 * as Postfix writes them; the internal form is the local one without
 * "from userid"), ending in a line end, into buf.  Returns its
 * length, or 0 when it did not fit.
 */
size_t	cleanup_received(char *buf, size_t sz, const struct cleanup_rcvd *);

/*
 * cleanup_sweep -- remove the temporary files ("t.*") a crashed cleanup
 * left in the directory dirfd (dirname for the log): regular files whose
 * modification time is at least min_age seconds before now and that no
 * process holds a flock(2) on.  A writer locks its temporary file right
 * after creating it and keeps the lock until commit or abort; the age
 * covers the moment in between.  Logs one line per removed file.
 * Returns how many it removed.
 */
int	cleanup_sweep(int dirfd, const char *dirname, time_t now,
	    time_t min_age);

#define CLEANUP_SWEEP_AGE	600	/* seconds */
#define CLEANUP_SWEEP_EVERY	3600	/* seconds */

/* cleanup_wake.c: the queue manager's wake-up. */
void	cleanup_wake_init(const char *queue_dir);
void	cleanup_wake_qmgr(void);

#endif
