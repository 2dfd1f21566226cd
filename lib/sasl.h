/*
 * SPDX-License-Identifier: ISC
 *
 * sasl.h -- the pure parts of SMTP AUTH (RFC 4954) with Dovecot's
 * authentication protocol as the back end: the SMTP AUTH argument, the
 * client's responses in the exchange, and the lines Dovecot's auth
 * server sends to a client ("VERSION", "MECH", "DONE", "OK", "CONT",
 * "FAIL", ...).
 *
 * Layer:    mail (uses nothing but libc).
 * Input:    untrusted: the SMTP client's lines, and the auth server's
 *           lines (a local service, still parsed with hard limits).
 * Failure:  -1 (or a reply code) and a static reason; nothing here logs,
 *           allocates or exits.
 */
#ifndef TERN_SASL_H
#define TERN_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define SASL_LINE_MAX		16384	/* Dovecot's longest auth line */
#define SASL_MECH_MAX		20	/* RFC 4422 3.1 */
#define SASL_MECHS_MAX		16	/* mechanisms we remember */
#define SASL_USER_MAX		255	/* user= as logged */
#define SASL_REASON_MAX		255	/* reason= as logged */
#define SASL_ID_MAX		4294967295UL	/* request IDs are 32-bit */

/* ---- the SMTP side ------------------------------------------------------ */

struct sasl_auth_arg {
	char		 mech[SASL_MECH_MAX + 1];	/* upper case */
	bool		 has_resp;	/* an initial response was given */
	const char	*resp;		/* base64, inside the argument; "" for "=" */
	size_t		 resp_len;
};

/*
 * sasl_parse_auth -- the argument of "AUTH mechanism [initial-response]"
 * (RFC 4954 4).  Returns 0 and fills *out, or -1 with the reply in
 * *code_r, *enh_r and *text_r (static strings): 501 5.5.2 for bad syntax
 * or bad base64, 504 5.5.4 for a name that is no SASL mechanism name.
 * Whether the server offers the mechanism is the caller's question.
 */
int	sasl_parse_auth(const char *arg, size_t len, struct sasl_auth_arg *out,
	    int *code_r, const char **enh_r, const char **text_r);

enum sasl_resp {
	SASL_RESP_OK,		/* base64 (possibly empty): pass it on */
	SASL_RESP_CANCEL,	/* "*": the client gives up (RFC 4954 4) */
	SASL_RESP_BAD,		/* not base64 */
};

/* sasl_parse_response -- one client line of the 334 exchange. */
enum sasl_resp sasl_parse_response(const char *line, size_t len);

/* sasl_b64_ok -- is s[0..n) canonical base64 (RFC 4648 4, padded)? */
bool	sasl_b64_ok(const char *s, size_t n);

/* ---- the Dovecot side --------------------------------------------------- */

enum sasl_reply_type {
	SASL_R_VERSION,		/* major, minor */
	SASL_R_MECH,		/* mech, private */
	SASL_R_SPID,		/* handshake lines we do not need */
	SASL_R_CUID,
	SASL_R_COOKIE,
	SASL_R_DONE,		/* end of the handshake */
	SASL_R_OK,		/* id, user */
	SASL_R_CONT,		/* id, data (base64 challenge) */
	SASL_R_FAIL,		/* id, user, reason, temp */
	SASL_R_OTHER,		/* a command this client does not know */
};

struct sasl_reply {
	enum sasl_reply_type type;
	unsigned long	 major, minor;
	char		 mech[SASL_MECH_MAX + 1];
	bool		 private;	/* MECH ... private: never advertise */
	unsigned long	 id;
	const char	*data;		/* CONT: inside the line */
	size_t		 data_len;
	char		 user[SASL_USER_MAX + 1];	/* unescaped, printable */
	char		 reason[SASL_REASON_MAX + 1];	/* unescaped, printable */
	bool		 temp;		/* FAIL with temp / code=temp_fail */
};

/*
 * sasl_parse_reply -- one line from the auth server, without its LF, of
 * at most SASL_LINE_MAX bytes.  Returns 0 and fills *r, or -1 with *err_r
 * set.  Tab-escaped values (\001 x) are unescaped; user= and reason= with
 * control characters after unescaping are refused (-1), so they are safe
 * to log; a value too long for its field is refused as well.  Unknown
 * optional parameters are ignored, as the protocol asks.
 */
int	sasl_parse_reply(const char *line, size_t len, struct sasl_reply *r,
	    const char **err_r);

#endif
