/*
 * SPDX-License-Identifier: ISC
 *
 * smtpc.h -- the client side of SMTP and LMTP (mail layer): server
 * replies, EHLO/LHLO keywords, MAIL and RCPT command lines, the next hop
 * of the lmtp transport, dot-stuffing of message content, and a small
 * blocking connection with a timeout on every read and write.
 *
 * The pure parts (reply lines, keywords, command formatting, next hops,
 * the dot-stuffing converter) never log, exit or allocate.  The
 * connection part (struct smtpc) does blocking I/O with poll(): it is
 * meant for a one-client delivery agent that talks to one server at a
 * time, which is what daemons/smtp is, for LMTP and for SMTP.
 *
 * Reply syntax (RFC 5321 4.2): each line is a three-digit code, then "-"
 * (more lines follow) or " " or nothing (the last line), then text.
 * Every line of a reply must carry the same code.  The first digit must
 * be 2..5 and the second 0..5.  A line longer than SMTPC_LINE_MAX, a
 * reply of more than SMTPC_REPLY_LINES lines or SMTPC_REPLY_MAX bytes of
 * text is an error: a hostile server cannot make the client buffer
 * without bound.  An enhanced status code (RFC 2034, RFC 3463) at the
 * start of the first line's text is taken only when its class matches
 * the reply code's first digit.
 *
 * Process:  smtp / lmtp delivery agents (mail_owner, no keys).
 * Input:    replies from a remote or local server: untrusted.
 */
#ifndef TERN_SMTPC_H
#define TERN_SMTPC_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lineio.h"

#define SMTPC_LINE_MAX		2048	/* reply line, CRLF excluded (>= 512) */
#define SMTPC_REPLY_MAX		(16 * 1024)	/* text of one reply */
#define SMTPC_REPLY_LINES	200	/* lines of one reply */
#define SMTPC_ENH_MAX		11	/* "5.123.123" */
#define SMTPC_CMD_MAX		2048	/* one command line with CRLF */
#define SMTPC_DOT_OUT		(16 * 1024)	/* converter's buffer */
#define SMTPC_HOST_MAX		255
#define SMTPC_PATH_MAX		107	/* sun_path less its NUL */

/* ---- replies (pure) ----------------------------------------------------- */

struct smtpc_reply {
	int	 code;			/* 200..559, 0 before the first line */
	char	 enh[SMTPC_ENH_MAX + 1];	/* "2.1.5", or "" */
	size_t	 nlines;
	size_t	 len;			/* bytes used in text */
	/*
	 * Each line's text (after the code and its "-" or " "), lines
	 * separated by '\n'; control characters became spaces.  NUL-ended.
	 */
	char	 text[SMTPC_REPLY_MAX + 1];
};

enum smtpc_parse {
	SMTPC_MORE,		/* a "ddd-" line: read the next one */
	SMTPC_DONE,		/* the last line: the reply is complete */
	SMTPC_ERR		/* malformed: *err_r says why */
};

/* smtpc_reply_init -- an empty reply, ready for its first line. */
void	smtpc_reply_init(struct smtpc_reply *);

/*
 * smtpc_reply_line -- add one line (without its CRLF, len bytes, may hold
 * any byte) to r.  Pure.  After SMTPC_ERR, r must be initialised again.
 */
enum smtpc_parse smtpc_reply_line(struct smtpc_reply *r, const char *line,
	    size_t len, const char **err_r);

/*
 * smtpc_reply_format -- the reply as one line for logs and diagnostics:
 * "550 5.1.1 <bob> User doesn't exist", lines joined by a space (an
 * enhanced code repeated at the start of later lines is dropped).
 * Always NUL-terminates buf (sz >= 1); cut to fit.  Returns buf.
 */
const char *smtpc_reply_format(const struct smtpc_reply *, char *buf,
	    size_t sz);

/*
 * smtpc_reply_dsn -- the reply's enhanced status code, or one derived
 * from its code (X.0.0), into buf (at least SMTPC_ENH_MAX + 1 bytes).
 */
const char *smtpc_reply_dsn(const struct smtpc_reply *, char *buf);

/* ---- EHLO / LHLO keywords (pure) ----------------------------------------- */

#define SMTPC_EXT_PIPELINING		0x0001
#define SMTPC_EXT_SIZE			0x0002
#define SMTPC_EXT_8BITMIME		0x0004
#define SMTPC_EXT_SMTPUTF8		0x0008
#define SMTPC_EXT_DSN			0x0010
#define SMTPC_EXT_ENHANCEDSTATUSCODES	0x0020
#define SMTPC_EXT_CHUNKING		0x0040
#define SMTPC_EXT_BINARYMIME		0x0080
#define SMTPC_EXT_STARTTLS		0x0100

struct smtpc_ext {
	unsigned	flags;		/* SMTPC_EXT_* */
	uint64_t	size;		/* SIZE's limit; 0: none given */
};

/*
 * smtpc_ext_parse -- the extensions a 250 reply to EHLO or LHLO offers:
 * one keyword per line after the first (case-insensitive, RFC 5321
 * 4.1.1.1), parameters after a space.  "SIZE" with a number up to 2^64-1
 * sets size; "SIZE", "SIZE 0" or a malformed number leave it 0 (no
 * limit known).  Unknown keywords are ignored.  Pure.
 */
void	smtpc_ext_parse(const struct smtpc_reply *, struct smtpc_ext *);

/* ---- commands (pure) ----------------------------------------------------- */

enum smtpc_body {
	SMTPC_BODY_NONE,		/* 7BIT, or not said */
	SMTPC_BODY_8BITMIME,
	SMTPC_BODY_BINARYMIME
};

/* What MAIL FROM carries; the queue file's sender record. */
struct smtpc_mail {
	const char	*sender;	/* "" for <> */
	uint64_t	 size;		/* message size; 0: do not send SIZE= */
	enum smtpc_body	 body;
	bool		 smtputf8;
	uint8_t		 ret;		/* QFILE_RET_* */
	const char	*envid;		/* xtext-decoded, "" or NULL: none */
};

/* One RCPT TO. */
struct smtpc_rcpt {
	const char	*addr;
	uint8_t		 notify;	/* QFILE_NOTIFY_*, 0: none */
	const char	*orcpt_type;	/* "" or NULL: no ORCPT */
	const char	*orcpt;		/* xtext-decoded */
};

/*
 * smtpc_fmt_mail -- "MAIL FROM:<sender> params\r\n" into buf (sz bytes),
 * with each parameter the message needs and ext offers: SIZE= (SIZE),
 * BODY=8BITMIME (8BITMIME), BODY=BINARYMIME (BINARYMIME), SMTPUTF8
 * (SMTPUTF8), RET= and ENVID= xtext-encoded (DSN).  Whether the message
 * may go without one it needs is the caller's decision.  Returns the
 * length, or -1 when the sender holds a control character or the line
 * does not fit in sz.  Pure.
 */
ssize_t	smtpc_fmt_mail(char *buf, size_t sz, const struct smtpc_mail *,
	    const struct smtpc_ext *);

/*
 * smtpc_fmt_rcpt -- "RCPT TO:<addr> params\r\n": with DSN, NOTIFY= and
 * ORCPT=type;xtext.  An ORCPT address with 8-bit bytes is sent raw
 * (RFC 6533 unitext) only for type "utf-8" in a session with SMTPUTF8
 * (smtputf8 true), else it is left out.  Returns the length, or -1 as
 * for smtpc_fmt_mail.  Pure.
 */
ssize_t	smtpc_fmt_rcpt(char *buf, size_t sz, const struct smtpc_rcpt *,
	    const struct smtpc_ext *, bool smtputf8);

/*
 * smtpc_xtext -- RFC 3461 xtext of n bytes of s into buf: "+", "=",
 * and bytes outside 33..126 as "+XX"; with raw8, bytes >= 0x80 stay as
 * they are.  Returns the length, or -1 when it does not fit (buf is
 * NUL-terminated either way when sz >= 1).  Pure.
 */
ssize_t	smtpc_xtext(char *buf, size_t sz, const char *s, size_t n,
	    bool raw8);

/* ---- next hops of the lmtp transport (pure) --------------------------------- */

struct smtpc_nexthop {
	enum { SMTPC_NH_UNIX, SMTPC_NH_INET } kind;
	char		path[SMTPC_PATH_MAX + 1];	/* unix */
	char		host[SMTPC_HOST_MAX + 1];	/* inet, no brackets */
	char		port[6];			/* inet, "24" */
};

/*
 * smtpc_nexthop_parse -- "unix:/absolute/path" or "inet:host:port",
 * where host is a name, an IPv4 address or a bracketed IPv6 address
 * ("inet:[::1]:24"); ":port" may be left out and defaults to def_port
 * (a number).  Returns 0, or -1 with *err_r set to a static string.
 */
int	smtpc_nexthop_parse(const char *s, const char *def_port,
	    struct smtpc_nexthop *, const char **err_r);

/* ---- dot-stuffing (pure) ------------------------------------------------- */

/*
 * The DATA converter: message content in, SMTP DATA payload out.  A line
 * that starts with "." gets another "." in front (RFC 5321 4.5.2).  Line
 * ends become CR LF: a bare LF, and a bare CR too (RFC 5321 2.3.8: a
 * client must not send them alone; a server that took a bare one for a
 * line end could be made to see an early end of data).  smtpc_dot_end
 * ends an unterminated last line with CR LF, then writes ".\r\n".  A CR
 * at the end of one chunk and an LF at the start of the next are one
 * line end.  Output gathers in out[] and goes to flush(arg, p, n), which
 * must take all n bytes or return -1.
 */
struct smtpc_dot {
	int		(*flush)(void *arg, const void *p, size_t n);
	void		 *arg;
	bool		  bol;		/* at the start of a line */
	bool		  cr;		/* a CR held: is an LF next? */
	uint64_t	  size;		/* bytes produced, buffered ones too */
	size_t		  len;
	uint8_t		  out[SMTPC_DOT_OUT];
};

void	smtpc_dot_init(struct smtpc_dot *,
	    int (*flush)(void *, const void *, size_t), void *arg);
/* smtpc_dot_put -- convert len bytes.  0, or -1 from flush. */
int	smtpc_dot_put(struct smtpc_dot *, const void *, size_t);
/* smtpc_dot_end -- finish the last line, add ".\r\n", flush.  0 or -1. */
int	smtpc_dot_end(struct smtpc_dot *);

/* ---- the connection (blocking, with timeouts) ------------------------------- */

enum smtpc_io {
	SMTPC_IO_OK,
	SMTPC_IO_TIMEOUT,	/* the stage's timeout passed */
	SMTPC_IO_EOF,		/* the server closed the connection */
	SMTPC_IO_ERR,		/* read or write error (errno), or a bad reply */
};

struct smtpc {
	int		fd;
	struct lineio	in;
	char		err[256];	/* why the last call failed */
};

/*
 * smtpc_connect -- a connected stream socket to nh, within timeout_ms
 * for each address tried (names are resolved with getaddrinfo; each
 * address is tried in turn).  On success c is ready, and relay (rsz
 * bytes) names the peer: "host[addr]:port", or the socket path.  On
 * failure returns -1 with c->err ("connect to host[addr]:port:
 * Connection refused"), and *resolve_r true when the name did not
 * resolve.  Never logs.
 */
int	smtpc_connect(struct smtpc *c, const struct smtpc_nexthop *nh,
	    int timeout_ms, char *relay, size_t rsz, bool *resolve_r);

/*
 * smtpc_connect_addr -- a TCP connection to the address sa within
 * timeout_ms; relay names it in c->err on failure ("connect to
 * relay: Connection refused").  Returns 0 with c ready, or -1.  Never
 * logs.  The SMTP client uses it for the addresses it looked up itself.
 */
int	smtpc_connect_addr(struct smtpc *c, const struct sockaddr *sa,
	    socklen_t salen, int timeout_ms, const char *relay);

/* smtpc_open -- use the connected socket fd (made non-blocking). */
void	smtpc_open(struct smtpc *, int fd);

/* smtpc_close -- close the socket; c may be closed again. */
void	smtpc_close(struct smtpc *);

/*
 * smtpc_write -- write all n bytes within timeout_ms (one deadline for
 * the whole write).  SMTPC_IO_OK, or _TIMEOUT / _EOF (EPIPE,
 * ECONNRESET) / _ERR with c->err set.
 */
enum smtpc_io smtpc_write(struct smtpc *, const void *, size_t,
	    int timeout_ms);

/*
 * smtpc_read_reply -- read one whole reply into r within timeout_ms per
 * line.  A malformed reply or a line over SMTPC_LINE_MAX is _ERR with
 * c->err saying so.
 */
enum smtpc_io smtpc_read_reply(struct smtpc *, struct smtpc_reply *r,
	    int timeout_ms);

#endif
