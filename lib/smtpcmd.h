/*
 * SPDX-License-Identifier: ISC
 *
 * smtpcmd.h -- SMTP command lines: verb, arguments, ESMTP parameters
 * (mail layer: uses addr; may use base modules, never the reverse).
 *
 * A command line arrives without its CRLF, already capped in length by
 * smtpd's reader.  Verbs are case-insensitive and end at a space or the
 * end of the line ("MAILX" is not MAIL).  RFC 5321 wants exactly one SP
 * between the verb and its argument and between parameters; extra spaces,
 * a space after "FROM:"/"TO:" and trailing spaces are tolerated and
 * reported in extra_space.  Session state (which verbs are allowed now,
 * whether STARTTLS, AUTH or BDAT were offered, message size limits) is
 * smtpd's business; the flags below tell the parser only which extensions
 * were advertised, for the parameters of MAIL and RCPT.
 *
 * Per verb:
 *   HELO, EHLO   argument required: <= SMTPCMD_HELO_MAX bytes of printable
 *                ASCII (spaces allowed), kept raw; helo_valid says whether
 *                it is a Domain or address literal.
 *   MAIL         "FROM:" [spaces] Reverse-path *(SP param), where param is
 *                SIZE=1*20DIGIT (RFC 1870)       with SMTPCMD_F_SIZE
 *                BODY=7BIT|8BITMIME (RFC 6152)   with SMTPCMD_F_8BITMIME
 *                BODY=BINARYMIME (RFC 3030)      with SMTPCMD_F_CHUNKING
 *                SMTPUTF8 (RFC 6531, no value)   with SMTPCMD_F_SMTPUTF8
 *                RET=FULL|HDRS, ENVID=xtext      with SMTPCMD_F_DSN
 *                AUTH=value (RFC 4954, raw)      with SMTPCMD_F_AUTH
 *   RCPT         "TO:" [spaces] Forward-path *(SP param), where param is
 *                NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY,
 *                ORCPT=addr-type;xtext (RFC 3461) with SMTPCMD_F_DSN
 *   BDAT         chunk-size (1..SMTPCMD_BDAT_DIGITS digits) [SP "LAST"]
 *   DATA RSET QUIT STARTTLS   no argument
 *   NOOP HELP    optional argument, ignored
 *   VRFY EXPN AUTH   argument required, kept raw
 *
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), case-insensitive;
 * esmtp-value = 1*(%d33-60 / %d62-126), plus well-formed UTF-8 when
 * SMTPUTF8 is in use (RFC 6531 3.3).  Each known parameter at most once;
 * keyword values (BODY, RET, NOTIFY, LAST) are case-insensitive.  xtext
 * (RFC 3461 4): chars 33-126 but "+" and "=", or "+" and two UPPER-case hex
 * digits; decoded it must be printable ASCII (32-126).  Limits are on the
 * decoded text: ENVID <= SMTPCMD_ENVID_MAX, ORCPT <= SMTPCMD_ORCPT_MAX.
 *
 * Every reply smtpcmd_parse() can ask for (struct smtpcmd_err; the text is
 * static), each followed by when:
 *
 * 500 5.5.2 Command not recognized
 *	unknown verb, empty line
 * 500 5.5.2 Syntax error (invalid character)
 *	NUL, CR or LF anywhere in the line of a known verb
 * 501 5.5.4 Syntax error (no parameters allowed)
 *	DATA, RSET, QUIT, STARTTLS with an argument
 * 501 5.5.4 Syntax: HELO hostname / Syntax: EHLO hostname
 *	HELO, EHLO without argument
 * 501 5.5.4 Hostname too long
 *	HELO, EHLO argument over SMTPCMD_HELO_MAX
 * 501 5.5.4 Syntax error (invalid character in hostname)
 *	HELO, EHLO argument with a control or 8-bit byte
 * 501 5.5.4 Syntax error (argument required)
 *	VRFY, EXPN, AUTH without argument
 * 501 5.5.4 Syntax: MAIL FROM:<address> / Syntax: RCPT TO:<address>
 *	MAIL not followed by "FROM:", RCPT not followed by "TO:"
 * 501 5.5.4 Syntax: BDAT chunk-size [LAST]
 *	BDAT argument missing, bad, or more than SMTPCMD_BDAT_DIGITS digits
 * 501 5.1.7 Bad sender address syntax (MAIL) / 5.1.3 Bad recipient ... (RCPT)
 *	path ADDR_E_SYNTAX
 * 501 5.1.7 (MAIL) / 5.1.3 (RCPT) Malformed UTF-8 in address
 *	path ADDR_E_BAD_UTF8
 * 553 5.1.7 (MAIL) / 5.1.3 (RCPT) Local part too long
 *	path ADDR_E_LOCAL_TOOLONG
 * 553 5.1.7 (MAIL) / 5.1.3 (RCPT) Domain too long
 *	path ADDR_E_DOMAIN_TOOLONG (the domain, or one label)
 * 501 5.5.4 Path too long
 *	path ADDR_E_PATH_TOOLONG
 * 501 5.1.3 Null recipient not allowed
 *	RCPT TO:<>
 * 553 5.6.7 Non-ASCII address requires SMTPUTF8
 *	non-ASCII path when SMTPUTF8 is not advertised, not on this MAIL,
 *	or (RCPT) was not on this transaction's MAIL (SMTPCMD_F_TXN_SMTPUTF8)
 * 501 5.5.4 Syntax error in parameters
 *	junk stuck to the path, bad keyword, "KEY=" with an empty or bad
 *	value, a non-ASCII value without SMTPUTF8
 * 501 5.5.4 Too many parameters
 *	more than SMTPCMD_PARAMS_MAX (counted before any is looked at)
 * 555 5.5.4 Unsupported option
 *	unknown keyword, one of the other verb's, one of an extension not
 *	advertised, BODY=BINARYMIME without CHUNKING, BODY=7BIT or
 *	BODY=8BITMIME without 8BITMIME
 * 501 5.5.4 Duplicate parameter
 *	a known keyword twice, in any case
 * 501 5.5.4 Bad SIZE value
 *	no value, not 1..20 digits, or over 2^64-1
 * 501 5.5.4 Bad BODY value
 *	not 7BIT, 8BITMIME or BINARYMIME
 * 501 5.5.4 Bad SMTPUTF8 value
 *	SMTPUTF8 with a value
 * 501 5.5.4 Bad RET value
 *	not FULL or HDRS
 * 501 5.5.4 Bad ENVID value
 *	bad xtext, decoded empty, unprintable or over SMTPCMD_ENVID_MAX
 * 501 5.5.4 Bad AUTH value
 *	no value, or over SMTPCMD_AUTH_MAX
 * 501 5.5.4 Bad NOTIFY value
 *	unknown word, a word twice, NEVER with another, empty item
 * 501 5.5.4 Bad ORCPT value
 *	no ";", bad or long addr-type, bad xtext, decoded empty,
 *	unprintable or over SMTPCMD_ORCPT_MAX
 *
 * For parameter errors err->param/param_len is the whole "KEY=value"
 * token, inside the caller's line: log it only through log_safe().
 */
#ifndef TERN_SMTPCMD_H
#define TERN_SMTPCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SMTPCMD_PARAMS_MAX	16	/* ESMTP parameters on one line */
#define SMTPCMD_HELO_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define SMTPCMD_SIZE_DIGITS	20	/* RFC 1870 size-value = 1*20DIGIT */
#define SMTPCMD_BDAT_DIGITS	18	/* chunk-size: well below 2^63 */
#define SMTPCMD_ENVID_MAX	100	/* RFC 3461 4.4, decoded */
#define SMTPCMD_ORCPT_MAX	500	/* RFC 3461 4.2, decoded */
#define SMTPCMD_ORCPT_TYPE_MAX	32	/* "rfc822", "utf-8", ... */
#define SMTPCMD_AUTH_MAX	500	/* RFC 4954 5, raw */

/* smtpcmd_parse flags: what the server advertised, and for RCPT, state. */
#define SMTPCMD_F_8BITMIME	0x0001
#define SMTPCMD_F_SMTPUTF8	0x0002
#define SMTPCMD_F_DSN		0x0004
#define SMTPCMD_F_SIZE		0x0008
#define SMTPCMD_F_CHUNKING	0x0010
#define SMTPCMD_F_AUTH		0x0020
#define SMTPCMD_F_TXN_SMTPUTF8	0x0040	/* RCPT: this MAIL had SMTPUTF8 */
#define SMTPCMD_F_NOBRACKETS_OK	0x0080	/* MAIL FROM:user@host without <> */

enum smtpcmd_verb {
	SMTPCMD_HELO,
	SMTPCMD_EHLO,
	SMTPCMD_MAIL,
	SMTPCMD_RCPT,
	SMTPCMD_DATA,
	SMTPCMD_BDAT,
	SMTPCMD_RSET,
	SMTPCMD_NOOP,
	SMTPCMD_QUIT,
	SMTPCMD_HELP,
	SMTPCMD_VRFY,
	SMTPCMD_EXPN,
	SMTPCMD_STARTTLS,
	SMTPCMD_AUTH,
	SMTPCMD_UNKNOWN,
};

enum smtpcmd_body {
	SMTPCMD_BODY_NONE,		/* not given */
	SMTPCMD_BODY_7BIT,
	SMTPCMD_BODY_8BITMIME,
	SMTPCMD_BODY_BINARYMIME,
};

enum smtpcmd_ret {
	SMTPCMD_RET_NONE,		/* not given */
	SMTPCMD_RET_FULL,
	SMTPCMD_RET_HDRS,
};

/* NOTIFY= bits; 0 means not given.  NEVER is never with the others. */
#define SMTPCMD_NOTIFY_NEVER	0x01
#define SMTPCMD_NOTIFY_SUCCESS	0x02
#define SMTPCMD_NOTIFY_FAILURE	0x04
#define SMTPCMD_NOTIFY_DELAY	0x08

/*
 * A parsed command.  Pointers point into the caller's line; decoded
 * values are NUL-terminated copies.  Fields not used by the verb are
 * zero (pointers NULL).
 */
struct smtpcmd {
	enum smtpcmd_verb verb;
	const char	*arg;		/* after the verb and its spaces */
	size_t		 arg_len;	/* trailing spaces not counted */
	bool		 extra_space;	/* more spaces than RFC 5321 allows */

	/* HELO, EHLO: arg is the name. */
	bool		 helo_valid;	/* a Domain or address literal */

	/* MAIL, RCPT */
	struct addr	 addr;
	size_t		 nparams;

	/* MAIL parameters */
	bool		 size_set;
	uint64_t	 size;
	enum smtpcmd_body body;
	bool		 smtputf8;
	enum smtpcmd_ret ret;
	bool		 envid_set;
	char		 envid[SMTPCMD_ENVID_MAX + 1];	/* decoded */
	const char	*auth;		/* raw AUTH= value, NULL if absent */
	size_t		 auth_len;

	/* RCPT parameters */
	unsigned	 notify;	/* SMTPCMD_NOTIFY_* bits */
	bool		 orcpt_set;
	char		 orcpt_type[SMTPCMD_ORCPT_TYPE_MAX + 1];
	char		 orcpt[SMTPCMD_ORCPT_MAX + 1];	/* decoded */

	/* BDAT */
	uint64_t	 chunk_size;
	bool		 last;
};

/* The reply to send when smtpcmd_parse() fails: see the table above. */
struct smtpcmd_err {
	int		 code;		/* 500, 501, 553 or 555 */
	const char	*enh;		/* "5.5.4" */
	const char	*text;		/* static, no CRLF */
	const char	*param;		/* offending parameter or NULL */
	size_t		 param_len;
	enum addr_err	 addr_err;	/* ADDR_E_NONE unless the path failed */
};

/*
 * smtpcmd_parse -- parse one command line (no CRLF) of len bytes.
 * Returns 0 with *out filled, or -1 with *err filled with the reply to
 * send.  out->verb is set in both cases (SMTPCMD_UNKNOWN when the verb is
 * not known), so smtpd can count bad commands per verb.  Pure: never logs,
 * never allocates, never exits, reads only line[0..len).
 */
int	smtpcmd_parse(const char *line, size_t len, unsigned flags,
	    struct smtpcmd *out, struct smtpcmd_err *err);

/* smtpcmd_verb_str -- "MAIL", ..., "UNKNOWN": static, for logs. */
const char *smtpcmd_verb_str(enum smtpcmd_verb);

#endif
