/*
 * SPDX-License-Identifier: ISC
 *
 * addr.h -- RFC 5321 paths: "<user@example.org>" as given to MAIL FROM:
 * and RCPT TO: (mail layer: may use base modules, never the reverse).
 *
 * Grammar accepted (RFC 5321 4.1.2, RFC 6531 3.3 when ADDR_F_SMTPUTF8):
 *
 *   Path        = "<" [ A-d-l ":" ] Mailbox ">"   "<>" with ADDR_F_SENDER,
 *                                                 "<postmaster>" (any case)
 *                                                 with ADDR_F_RCPT
 *   A-d-l       = "@" Domain *( "," "@" Domain )  checked, then ignored
 *   Mailbox     = Local-part "@" ( Domain / address-literal )
 *   Local-part  = Dot-string / Quoted-string      kept as written
 *   Dot-string  = Atom *( "." Atom ), atext of RFC 5322 3.2.3
 *   Quoted-string = DQUOTE *( qtextSMTP / "\" %d32-126 ) DQUOTE
 *   Domain      = sub-domain *( "." sub-domain ), letters, digits, hyphen,
 *                 no hyphen first or last in a label
 *   address-literal = "[" 1*3DIGIT 3( "." 1*3DIGIT ) "]"  (each 0..255)
 *                   / "[IPv6:" <what inet_pton(AF_INET6) accepts> "]"
 *                 General-address-literal ("[tag:...]") is refused.
 *
 * With ADDR_F_SMTPUTF8, atext, qtextSMTP and sub-domain labels may also
 * hold non-ASCII characters, which must be well-formed UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF).  U-labels
 * are not checked against IDNA2008; the 63-octet label limit is applied to
 * a label's ASCII octets only, since a U-label's limit is that of its
 * A-label, which may be shorter than its UTF-8 form.
 *
 * Limits (RFC 5321 4.5.3.1): a local part as written (quotes and
 * backslashes included) <= ADDR_LOCAL_MAX octets, a domain <= ADDR_DOMAIN_MAX,
 * a label <= ADDR_LABEL_MAX, the whole path from "<" to ">" inclusive
 * <= ADDR_PATH_MAX.
 *
 * Errors and the reply smtpd sends for each (smtpcmd.c makes them):
 *
 *   error                       MAIL FROM             RCPT TO
 *   ADDR_E_SYNTAX               501 5.1.7             501 5.1.3
 *   ADDR_E_LOCAL_TOOLONG        553 5.1.7             553 5.1.3
 *   ADDR_E_DOMAIN_TOOLONG       553 5.1.7             553 5.1.3
 *     (also a label over 63 octets)
 *   ADDR_E_PATH_TOOLONG         501 5.5.4             501 5.5.4
 *     (RFC 5321 4.5.3.1.10 "501 Path too long")
 *   ADDR_E_UTF8_NEEDS_SMTPUTF8  553 5.6.7             553 5.6.7
 *     (RFC 6531 3.7.4.1: well-formed UTF-8 but SMTPUTF8 not in use)
 *   ADDR_E_BAD_UTF8             501 5.1.7             501 5.1.3
 *     (8-bit bytes that are not well-formed UTF-8, with or without SMTPUTF8)
 *   ADDR_E_NULL_NOT_ALLOWED     (cannot happen)       501 5.1.3
 *
 * Everything here is pure: never logs, never allocates, never exits, reads
 * only the bytes it is given (no NUL terminator needed).
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3, "<" and ">" included */
#define ADDR_LABEL_MAX	63	/* RFC 1035 2.3.4 */

/* addr_parse_path flags */
#define ADDR_F_SENDER		0x01	/* reverse-path: "<>" allowed */
#define ADDR_F_RCPT		0x02	/* forward-path: "<postmaster>" too */
#define ADDR_F_SMTPUTF8		0x04	/* RFC 6531: UTF-8 allowed */
#define ADDR_F_NOBRACKETS_OK	0x08	/* "user@example.org" without <> */

enum addr_err {
	ADDR_E_NONE = 0,
	ADDR_E_SYNTAX,
	ADDR_E_LOCAL_TOOLONG,
	ADDR_E_DOMAIN_TOOLONG,
	ADDR_E_PATH_TOOLONG,
	ADDR_E_UTF8_NEEDS_SMTPUTF8,
	ADDR_E_BAD_UTF8,
	ADDR_E_NULL_NOT_ALLOWED,
};

/*
 * A parsed mailbox.  Both fields are NUL-terminated and hold no NUL, CR
 * or LF.  The null reverse-path "<>" has both empty; "<postmaster>" has
 * local "postmaster" (lower case) and an empty domain.  local is exactly
 * as written, quotes and quoted-pairs included: quoting can matter for
 * delivery.  domain is as written; an address literal keeps its brackets
 * ("[192.0.2.1]", "[IPv6:2001:db8::1]") and sets literal.
 */
struct addr {
	char	 local[ADDR_LOCAL_MAX + 1];
	char	 domain[ADDR_DOMAIN_MAX + 1];
	bool	 utf8;		/* non-ASCII anywhere in the path, even in
				   a source route that was dropped */
	bool	 literal;	/* domain is an address literal */
};

/*
 * addr_parse_path -- parse the path at the start of in[0..len), e.g. what
 * follows "MAIL FROM:" (the caller strips that and any spaces after it).
 * Returns 0, fills *out and sets *used_r to the bytes consumed (through the
 * ">"; for a bare address with ADDR_F_NOBRACKETS_OK, up to the first
 * space or the end) so that the caller can go on with ESMTP parameters;
 * nothing after the path is looked at.  Returns -1 with *err_r set (and
 * *out zeroed, *used_r untouched) when the path is not acceptable.
 * Pure: never logs, never allocates, never exits.
 */
int	addr_parse_path(const char *in, size_t len, unsigned flags,
	    struct addr *out, size_t *used_r, enum addr_err *err_r);

/*
 * addr_domain_check -- is s[0..len) exactly one Domain or address literal
 * as above?  Flags: only ADDR_F_SMTPUTF8 matters.  Returns 0 (with
 * *literal_r, when not NULL, saying which), or -1 with *err_r set.  Used
 * for HELO/EHLO arguments.  Pure.
 */
int	addr_domain_check(const char *s, size_t len, unsigned flags,
	    bool *literal_r, enum addr_err *err_r);

/*
 * addr_utf8_char -- the length (2, 3 or 4) of the well-formed non-ASCII
 * UTF-8 character at the start of s[0..n), or 0 when there is none there
 * (an ASCII byte, a bad lead or continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a truncated sequence).
 */
size_t	addr_utf8_char(const char *s, size_t n);

/* addr_err_str -- a short static description of e, for logs and tests. */
const char *addr_err_str(enum addr_err e);

/*
 * addr_format -- write "local@domain" ("" for the null path, "postmaster"
 * for "<postmaster>") into buf of size sz, always NUL-terminated when
 * sz > 0.  Returns the length the whole text needs, as snprintf does:
 * a result >= sz means it was truncated.
 */
size_t	addr_format(const struct addr *, char *buf, size_t sz);

/*
 * addr_local_unquoted -- the local part with a quoted-string's quotes and
 * backslashes removed ("\"a\\\"b\"" -> "a\"b"; a dot-string is copied as
 * is), into buf as addr_format does.  The result may hold spaces, '"' and
 * '@', but never NUL, CR or LF.
 */
size_t	addr_local_unquoted(const struct addr *, char *buf, size_t sz);

#endif
