/*
 * SPDX-License-Identifier: ISC
 *
 * check_smtpcmd.c -- unit tests for lib/smtpcmd.c.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    command lines written here, most of them hostile.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpcmd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define F8	SMTPCMD_F_8BITMIME
#define FU	SMTPCMD_F_SMTPUTF8
#define FD	SMTPCMD_F_DSN
#define FS	SMTPCMD_F_SIZE
#define FC	SMTPCMD_F_CHUNKING
#define FA	SMTPCMD_F_AUTH
#define FT	SMTPCMD_F_TXN_SMTPUTF8
#define FNB	SMTPCMD_F_NOBRACKETS_OK
#define ALL	(F8 | FU | FD | FS | FC | FA)

/* ---- accepted lines --------------------------------------------------- */

struct good {
	const char	*line;
	unsigned	 flags;
	enum smtpcmd_verb verb;
	const char	*arg;		/* expected argument */
	bool		 extra_space;
	const char	*addr;		/* MAIL/RCPT: addr_format(), or NULL */
};

static const struct good good[] = {
	/* verbs, any case */
	{ "HELO mail.example.org", 0, SMTPCMD_HELO, "mail.example.org", false,
	    NULL },
	{ "EHLO mail.example.org", 0, SMTPCMD_EHLO, "mail.example.org", false,
	    NULL },
	{ "ehlo x", 0, SMTPCMD_EHLO, "x", false, NULL },
	{ "eHlO x", 0, SMTPCMD_EHLO, "x", false, NULL },
	{ "EHLO  x", 0, SMTPCMD_EHLO, "x", true, NULL },
	{ "EHLO x ", 0, SMTPCMD_EHLO, "x", true, NULL },
	{ "DATA", 0, SMTPCMD_DATA, "", false, NULL },
	{ "data", 0, SMTPCMD_DATA, "", false, NULL },
	{ "DATA ", 0, SMTPCMD_DATA, "", true, NULL },
	{ "DATA   ", 0, SMTPCMD_DATA, "", true, NULL },
	{ "RSET", 0, SMTPCMD_RSET, "", false, NULL },
	{ "rset", 0, SMTPCMD_RSET, "", false, NULL },
	{ "QUIT", 0, SMTPCMD_QUIT, "", false, NULL },
	{ "Quit", 0, SMTPCMD_QUIT, "", false, NULL },
	{ "STARTTLS", 0, SMTPCMD_STARTTLS, "", false, NULL },
	{ "starttls", 0, SMTPCMD_STARTTLS, "", false, NULL },
	{ "NOOP", 0, SMTPCMD_NOOP, "", false, NULL },
	{ "NOOP hello there", 0, SMTPCMD_NOOP, "hello there", false, NULL },
	{ "noop \x01\x7f\xff", 0, SMTPCMD_NOOP, "\x01\x7f\xff", false, NULL },
	{ "HELP", 0, SMTPCMD_HELP, "", false, NULL },
	{ "HELP MAIL", 0, SMTPCMD_HELP, "MAIL", false, NULL },
	{ "VRFY user", 0, SMTPCMD_VRFY, "user", false, NULL },
	{ "vrfy <user@example.org>", 0, SMTPCMD_VRFY, "<user@example.org>",
	    false, NULL },
	{ "EXPN list", 0, SMTPCMD_EXPN, "list", false, NULL },
	{ "AUTH PLAIN AGFiYwBkZWY=", 0, SMTPCMD_AUTH, "PLAIN AGFiYwBkZWY=",
	    false, NULL },
	{ "auth login", 0, SMTPCMD_AUTH, "login", false, NULL },
	{ "BDAT 0 LAST", 0, SMTPCMD_BDAT, "0 LAST", false, NULL },
	{ "BDAT 10  LAST", 0, SMTPCMD_BDAT, "10  LAST", true, NULL },
	{ "BDAT 10 ", 0, SMTPCMD_BDAT, "10", true, NULL },
	/* MAIL FROM:, with and without a space */
	{ "MAIL FROM:<a@b>", 0, SMTPCMD_MAIL, "FROM:<a@b>", false, "a@b" },
	{ "MAIL FROM: <a@b>", 0, SMTPCMD_MAIL, "FROM: <a@b>", true, "a@b" },
	{ "MAIL FROM:   <a@b>", 0, SMTPCMD_MAIL, "FROM:   <a@b>", true,
	    "a@b" },
	{ "mail from:<a@b>", 0, SMTPCMD_MAIL, "from:<a@b>", false, "a@b" },
	{ "MaIl FrOm:<a@b>", 0, SMTPCMD_MAIL, "FrOm:<a@b>", false, "a@b" },
	{ "MAIL  FROM:<a@b>", 0, SMTPCMD_MAIL, "FROM:<a@b>", true, "a@b" },
	{ "MAIL FROM:<a@b> ", 0, SMTPCMD_MAIL, "FROM:<a@b>", true, "a@b" },
	{ "MAIL FROM:<>", 0, SMTPCMD_MAIL, "FROM:<>", false, "" },
	{ "MAIL FROM:<> SIZE=0", FS, SMTPCMD_MAIL, "FROM:<> SIZE=0", false,
	    "" },
	{ "MAIL FROM:<a@b>  SIZE=1", FS, SMTPCMD_MAIL, "FROM:<a@b>  SIZE=1",
	    true, "a@b" },
	{ "MAIL FROM:<a@b> SIZE=1  BODY=8BITMIME", FS | F8, SMTPCMD_MAIL,
	    "FROM:<a@b> SIZE=1  BODY=8BITMIME", true, "a@b" },
	{ "MAIL FROM:<@r.example:\"x y\"@[192.0.2.1]>", 0, SMTPCMD_MAIL,
	    NULL, false, "\"x y\"@[192.0.2.1]" },
	{ "MAIL FROM:<postmaster@example.org>", 0, SMTPCMD_MAIL, NULL, false,
	    "postmaster@example.org" },
	{ "MAIL FROM:a@b", FNB, SMTPCMD_MAIL, NULL, false, "a@b" },
	{ "MAIL FROM:a@b SIZE=1", FNB | FS, SMTPCMD_MAIL, NULL, false, "a@b" },
	/* RCPT TO: */
	{ "RCPT TO:<a@b>", 0, SMTPCMD_RCPT, "TO:<a@b>", false, "a@b" },
	{ "rcpt to: <a@b>", 0, SMTPCMD_RCPT, "to: <a@b>", true, "a@b" },
	{ "RCPT TO:<postmaster>", 0, SMTPCMD_RCPT, NULL, false, "postmaster" },
	{ "RCPT TO:<Postmaster>", 0, SMTPCMD_RCPT, NULL, false, "postmaster" },
	{ "RCPT TO:<@a,@b:u@c>", 0, SMTPCMD_RCPT, NULL, false, "u@c" },
	{ "RCPT TO:<a@b> NOTIFY=NEVER", FD, SMTPCMD_RCPT, NULL, false, "a@b" },
	{ "RCPT TO:a@b", FNB, SMTPCMD_RCPT, NULL, false, "a@b" },
	/* SMTPUTF8 */
	{ "MAIL FROM:<j\xc3\xb6@ex> SMTPUTF8", FU, SMTPCMD_MAIL, NULL, false,
	    "j\xc3\xb6@ex" },
	{ "MAIL FROM:<j\xc3\xb6@ex> smtputf8", FU, SMTPCMD_MAIL, NULL, false,
	    "j\xc3\xb6@ex" },
	{ "RCPT TO:<j\xc3\xb6@b\xc3\xbc" "cher.ex>", FU | FT, SMTPCMD_RCPT,
	    NULL, false, "j\xc3\xb6@b\xc3\xbc" "cher.ex" },
	{ "MAIL FROM:<a@b> SMTPUTF8 AUTH=j\xc3\xb6", FU | FA, SMTPCMD_MAIL,
	    NULL, false, "a@b" },
	{ "MAIL FROM:<a@b> AUTH=j\xc3\xb6 SMTPUTF8", FU | FA, SMTPCMD_MAIL,
	    NULL, false, "a@b" },
	/* junk after HELO is kept, not refused */
	{ "HELO junk_name!", 0, SMTPCMD_HELO, "junk_name!", false, NULL },
	{ "EHLO two words", 0, SMTPCMD_EHLO, "two words", false, NULL },
};

START_TEST(test_good)
{
	const struct good *g = &good[_i];
	struct smtpcmd c;
	struct smtpcmd_err e;
	char buf[600];

	ck_assert_msg(smtpcmd_parse(g->line, strlen(g->line), g->flags, &c,
	    &e) == 0, "case %d \"%s\": %d %s %s", _i, g->line, e.code,
	    e.enh ? e.enh : "", e.text ? e.text : "");
	ck_assert_int_eq(c.verb, g->verb);
	if (g->arg != NULL) {
		ck_assert_uint_eq(c.arg_len, strlen(g->arg));
		ck_assert(memcmp(c.arg, g->arg, c.arg_len) == 0);
	}
	ck_assert(c.arg >= g->line &&
	    c.arg + c.arg_len <= g->line + strlen(g->line));
	ck_assert_int_eq(c.extra_space, g->extra_space);
	if (g->addr != NULL) {
		(void)addr_format(&c.addr, buf, sizeof(buf));
		ck_assert_str_eq(buf, g->addr);
	}
	ck_assert_int_eq(e.code, 0);
}
END_TEST

/* ---- refused lines ---------------------------------------------------- */

struct bad {
	const char	*line;
	size_t		 len;		/* 0: strlen(line) */
	unsigned	 flags;
	enum smtpcmd_verb verb;
	int		 code;
	const char	*enh;
	const char	*text;
	const char	*param;		/* expected err.param, or NULL */
};

#define UNREC	500, "5.5.2", "Command not recognized"
#define BADCH	500, "5.5.2", "Syntax error (invalid character)"
#define NOPAR	501, "5.5.4", "Syntax error (no parameters allowed)"
#define ARGRQ	501, "5.5.4", "Syntax error (argument required)"
#define HOSTCH	501, "5.5.4", "Syntax error (invalid character in hostname)"
#define MAILSY	501, "5.5.4", "Syntax: MAIL FROM:<address>"
#define RCPTSY	501, "5.5.4", "Syntax: RCPT TO:<address>"
#define BDATSY	501, "5.5.4", "Syntax: BDAT chunk-size [LAST]"
#define SBAD	501, "5.1.7", "Bad sender address syntax"
#define RBAD	501, "5.1.3", "Bad recipient address syntax"
#define NEEDU8	553, "5.6.7", "Non-ASCII address requires SMTPUTF8"
#define PARAMS	501, "5.5.4", "Syntax error in parameters"
#define UNSUPP	555, "5.5.4", "Unsupported option"
#define DUP	501, "5.5.4", "Duplicate parameter"

static const struct bad bad[] = {
	/* verbs */
	{ "", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ " ", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "MAILX FROM:<a@b>", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "MAI FROM:<a@b>", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ " MAIL FROM:<a@b>", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "MAIL\tFROM:<a@b>", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "MAILFROM:<a@b>", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "HELO\tx", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "QUIT\r", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "QUIT\0", 5, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "STARTTL", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "STARTTLSX", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "GET / HTTP/1.0", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "\xc3\xa9HLO x", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	{ "TURN", 0, 0, SMTPCMD_UNKNOWN, UNREC, NULL },
	/* bare CR, LF, NUL inside */
	{ "NOOP a\0b", 8, 0, SMTPCMD_NOOP, BADCH, NULL },
	{ "NOOP a\rb", 0, 0, SMTPCMD_NOOP, BADCH, NULL },
	{ "NOOP a\nb", 0, 0, SMTPCMD_NOOP, BADCH, NULL },
	{ "MAIL FROM:<a@b>\r", 0, 0, SMTPCMD_MAIL, BADCH, NULL },
	{ "RCPT TO:<a\nb@c>", 0, 0, SMTPCMD_RCPT, BADCH, NULL },
	{ "RCPT TO:<a@b> \0", 15, 0, SMTPCMD_RCPT, BADCH, NULL },
	{ "EHLO a\rb", 0, 0, SMTPCMD_EHLO, BADCH, NULL },
	{ "DATA \r", 0, 0, SMTPCMD_DATA, BADCH, NULL },
	/* no arguments allowed */
	{ "DATA x", 0, 0, SMTPCMD_DATA, NOPAR, NULL },
	{ "RSET x", 0, 0, SMTPCMD_RSET, NOPAR, NULL },
	{ "QUIT now", 0, 0, SMTPCMD_QUIT, NOPAR, NULL },
	{ "STARTTLS x", 0, 0, SMTPCMD_STARTTLS, NOPAR, NULL },
	{ "starttls  TLS1.3 ", 0, 0, SMTPCMD_STARTTLS, NOPAR, NULL },
	/* argument required */
	{ "VRFY", 0, 0, SMTPCMD_VRFY, ARGRQ, NULL },
	{ "VRFY ", 0, 0, SMTPCMD_VRFY, ARGRQ, NULL },
	{ "EXPN", 0, 0, SMTPCMD_EXPN, ARGRQ, NULL },
	{ "AUTH", 0, 0, SMTPCMD_AUTH, ARGRQ, NULL },
	{ "AUTH   ", 0, 0, SMTPCMD_AUTH, ARGRQ, NULL },
	/* HELO, EHLO */
	{ "HELO", 0, 0, SMTPCMD_HELO, 501, "5.5.4", "Syntax: HELO hostname",
	    NULL },
	{ "EHLO", 0, 0, SMTPCMD_EHLO, 501, "5.5.4", "Syntax: EHLO hostname",
	    NULL },
	{ "EHLO ", 0, 0, SMTPCMD_EHLO, 501, "5.5.4", "Syntax: EHLO hostname",
	    NULL },
	{ "EHLO \x01", 0, 0, SMTPCMD_EHLO, HOSTCH, NULL },
	{ "EHLO a\tb", 0, 0, SMTPCMD_EHLO, HOSTCH, NULL },
	{ "EHLO h\xc3\xa9.example", 0, FU, SMTPCMD_EHLO, HOSTCH, NULL },
	{ "HELO x\x7f", 0, 0, SMTPCMD_HELO, HOSTCH, NULL },
	/* MAIL FROM: shape */
	{ "MAIL", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL ", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL FROM", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL FROM <a@b>", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL FROM :<a@b>", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL TO:<a@b>", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL FRO:<a@b>", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL <a@b>", 0, 0, SMTPCMD_MAIL, MAILSY, NULL },
	{ "MAIL FROM:", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM: ", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:a@b", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<a@b", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<postmaster>", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<a@b..c>", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<\"a@b>", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<a@[256.1.1.1]>", 0, 0, SMTPCMD_MAIL, SBAD, NULL },
	{ "MAIL FROM:<\xff@b>", 0, FU, SMTPCMD_MAIL, 501, "5.1.7",
	    "Malformed UTF-8 in address", NULL },
	/* RCPT TO: shape */
	{ "RCPT", 0, 0, SMTPCMD_RCPT, RCPTSY, NULL },
	{ "RCPT TO", 0, 0, SMTPCMD_RCPT, RCPTSY, NULL },
	{ "RCPT FROM:<a@b>", 0, 0, SMTPCMD_RCPT, RCPTSY, NULL },
	{ "RCPT TO :<a@b>", 0, 0, SMTPCMD_RCPT, RCPTSY, NULL },
	{ "RCPT TO:", 0, 0, SMTPCMD_RCPT, RBAD, NULL },
	{ "RCPT TO:<a>", 0, 0, SMTPCMD_RCPT, RBAD, NULL },
	{ "RCPT TO:<a@-b>", 0, 0, SMTPCMD_RCPT, RBAD, NULL },
	{ "RCPT TO:<>", 0, 0, SMTPCMD_RCPT, 501, "5.1.3",
	    "Null recipient not allowed", NULL },
	{ "RCPT TO:<\xc3\x28@b>", 0, FU | FT, SMTPCMD_RCPT, 501, "5.1.3",
	    "Malformed UTF-8 in address", NULL },
	/* junk after the path */
	{ "MAIL FROM:<a@b>x", 0, 0, SMTPCMD_MAIL, PARAMS, "x" },
	{ "MAIL FROM:<a@b>SIZE=1 BODY=7BIT", 0, FS | F8, SMTPCMD_MAIL, PARAMS,
	    "SIZE=1" },
	{ "MAIL FROM:<a@b>>", 0, 0, SMTPCMD_MAIL, PARAMS, ">" },
	{ "RCPT TO:<a@b>\tNOTIFY=NEVER", 0, FD, SMTPCMD_RCPT, PARAMS,
	    "\tNOTIFY=NEVER" },
	/* UTF-8 without SMTPUTF8 */
	{ "MAIL FROM:<j\xc3\xb6@ex>", 0, 0, SMTPCMD_MAIL, NEEDU8, NULL },
	{ "MAIL FROM:<j\xc3\xb6@ex> SMTPUTF8", 0, 0, SMTPCMD_MAIL, NEEDU8,
	    NULL },
	{ "MAIL FROM:<j\xc3\xb6@ex>", 0, FU, SMTPCMD_MAIL, NEEDU8, NULL },
	{ "MAIL FROM:<a@b\xc3\xbc.ex> SIZE=1", 0, FU | FS, SMTPCMD_MAIL,
	    NEEDU8, NULL },
	{ "MAIL FROM:<@\xc3\xa4:a@b>", 0, FU, SMTPCMD_MAIL, NEEDU8, NULL },
	{ "RCPT TO:<j\xc3\xb6@ex>", 0, 0, SMTPCMD_RCPT, NEEDU8, NULL },
	{ "RCPT TO:<j\xc3\xb6@ex>", 0, FU, SMTPCMD_RCPT, NEEDU8, NULL },
	{ "RCPT TO:<j\xc3\xb6@ex>", 0, FT, SMTPCMD_RCPT, NEEDU8, NULL },
	{ "MAIL FROM:<a@b> AUTH=j\xc3\xb6", 0, FU | FA, SMTPCMD_MAIL, PARAMS,
	    "AUTH=j\xc3\xb6" },
	{ "MAIL FROM:<a@b> AUTH=j\xc3\xb6 SMTPUTF8", 0, FA, SMTPCMD_MAIL,
	    PARAMS, "AUTH=j\xc3\xb6" },
	{ "MAIL FROM:<a@b> SMTPUTF8 AUTH=j\xff", 0, FU | FA, SMTPCMD_MAIL,
	    PARAMS, "AUTH=j\xff" },
	{ "MAIL FROM:<a@b> SMTPUTF8 AUTH=j\xed\xa0\x80", 0, FU | FA,
	    SMTPCMD_MAIL, PARAMS, "AUTH=j\xed\xa0\x80" },
	{ "RCPT TO:<a@b> ORCPT=utf-8;j\xc3\xb6", 0, FU | FD, SMTPCMD_RCPT,
	    PARAMS, "ORCPT=utf-8;j\xc3\xb6" },
	/* parameter syntax */
	{ "MAIL FROM:<a@b> =1", 0, ALL, SMTPCMD_MAIL, PARAMS, "=1" },
	{ "MAIL FROM:<a@b> -SIZE=1", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "-SIZE=1" },
	{ "MAIL FROM:<a@b> SI_ZE=1", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "SI_ZE=1" },
	{ "MAIL FROM:<a@b> SIZE=", 0, ALL, SMTPCMD_MAIL, PARAMS, "SIZE=" },
	{ "MAIL FROM:<a@b> RET=", 0, ALL, SMTPCMD_MAIL, PARAMS, "RET=" },
	{ "MAIL FROM:<a@b> AUTH=a=b", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "AUTH=a=b" },
	{ "MAIL FROM:<a@b> AUTH=a\x01", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "AUTH=a\x01" },
	{ "MAIL FROM:<a@b> AUTH=a\x7f", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "AUTH=a\x7f" },
	{ "MAIL FROM:<a@b> SIZE=1\t", 0, ALL, SMTPCMD_MAIL, PARAMS,
	    "SIZE=1\t" },
	/* unknown, misplaced, not advertised */
	{ "MAIL FROM:<a@b> FOO=bar", 0, ALL, SMTPCMD_MAIL, UNSUPP, "FOO=bar" },
	{ "MAIL FROM:<a@b> X-FOO", 0, ALL, SMTPCMD_MAIL, UNSUPP, "X-FOO" },
	{ "MAIL FROM:<a@b> SIZE=1 FOO", 0, ALL, SMTPCMD_MAIL, UNSUPP, "FOO" },
	{ "MAIL FROM:<a@b> NOTIFY=NEVER", 0, ALL, SMTPCMD_MAIL, UNSUPP,
	    "NOTIFY=NEVER" },
	{ "MAIL FROM:<a@b> ORCPT=rfc822;a@b", 0, ALL, SMTPCMD_MAIL, UNSUPP,
	    "ORCPT=rfc822;a@b" },
	{ "RCPT TO:<a@b> SIZE=1", 0, ALL, SMTPCMD_RCPT, UNSUPP, "SIZE=1" },
	{ "RCPT TO:<a@b> BODY=8BITMIME", 0, ALL, SMTPCMD_RCPT, UNSUPP,
	    "BODY=8BITMIME" },
	{ "RCPT TO:<a@b> SMTPUTF8", 0, ALL, SMTPCMD_RCPT, UNSUPP, "SMTPUTF8" },
	{ "RCPT TO:<a@b> RET=FULL", 0, ALL, SMTPCMD_RCPT, UNSUPP, "RET=FULL" },
	{ "MAIL FROM:<a@b> SIZE=1", 0, ALL & ~FS, SMTPCMD_MAIL, UNSUPP,
	    "SIZE=1" },
	{ "MAIL FROM:<a@b> BODY=8BITMIME", 0, ALL & ~(F8 | FC), SMTPCMD_MAIL,
	    UNSUPP, "BODY=8BITMIME" },
	{ "MAIL FROM:<a@b> BODY=8BITMIME", 0, FC, SMTPCMD_MAIL, UNSUPP,
	    "BODY=8BITMIME" },
	{ "MAIL FROM:<a@b> BODY=7BIT", 0, FC, SMTPCMD_MAIL, UNSUPP,
	    "BODY=7BIT" },
	{ "MAIL FROM:<a@b> BODY=BINARYMIME", 0, F8, SMTPCMD_MAIL, UNSUPP,
	    "BODY=BINARYMIME" },
	{ "MAIL FROM:<a@b> SMTPUTF8", 0, ALL & ~FU, SMTPCMD_MAIL, UNSUPP,
	    "SMTPUTF8" },
	{ "MAIL FROM:<a@b> RET=FULL", 0, ALL & ~FD, SMTPCMD_MAIL, UNSUPP,
	    "RET=FULL" },
	{ "MAIL FROM:<a@b> ENVID=x", 0, ALL & ~FD, SMTPCMD_MAIL, UNSUPP,
	    "ENVID=x" },
	{ "MAIL FROM:<a@b> AUTH=<>", 0, ALL & ~FA, SMTPCMD_MAIL, UNSUPP,
	    "AUTH=<>" },
	{ "RCPT TO:<a@b> NOTIFY=NEVER", 0, ALL & ~FD, SMTPCMD_RCPT, UNSUPP,
	    "NOTIFY=NEVER" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;x", 0, ALL & ~FD, SMTPCMD_RCPT, UNSUPP,
	    "ORCPT=rfc822;x" },
	/* an unsupported option is named even with a bad value */
	{ "MAIL FROM:<a@b> FOO=", 0, ALL, SMTPCMD_MAIL, UNSUPP, "FOO=" },
	/* duplicates, in any case */
	{ "MAIL FROM:<a@b> SIZE=1 SIZE=2", 0, ALL, SMTPCMD_MAIL, DUP,
	    "SIZE=2" },
	{ "MAIL FROM:<a@b> size=1 SIZE=1", 0, ALL, SMTPCMD_MAIL, DUP,
	    "SIZE=1" },
	{ "MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8", 0, ALL, SMTPCMD_MAIL, DUP,
	    "SMTPUTF8" },
	{ "MAIL FROM:<a@b> BODY=7BIT BODY=8BITMIME", 0, ALL, SMTPCMD_MAIL,
	    DUP, "BODY=8BITMIME" },
	{ "MAIL FROM:<a@b> RET=FULL RET=HDRS", 0, ALL, SMTPCMD_MAIL, DUP,
	    "RET=HDRS" },
	{ "MAIL FROM:<a@b> ENVID=a ENVID=b", 0, ALL, SMTPCMD_MAIL, DUP,
	    "ENVID=b" },
	{ "MAIL FROM:<a@b> AUTH=<> AUTH=<>", 0, ALL, SMTPCMD_MAIL, DUP,
	    "AUTH=<>" },
	{ "RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", 0, ALL, SMTPCMD_RCPT,
	    DUP, "NOTIFY=NEVER" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;b", 0, ALL,
	    SMTPCMD_RCPT, DUP, "ORCPT=rfc822;b" },
	/* SIZE */
	{ "MAIL FROM:<a@b> SIZE", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SIZE value", "SIZE" },
	{ "MAIL FROM:<a@b> SIZE=-1", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SIZE value", "SIZE=-1" },
	{ "MAIL FROM:<a@b> SIZE=+1", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SIZE value", "SIZE=+1" },
	{ "MAIL FROM:<a@b> SIZE=1a", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SIZE value", "SIZE=1a" },
	{ "MAIL FROM:<a@b> SIZE=0x10", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SIZE value", "SIZE=0x10" },
	{ "MAIL FROM:<a@b> SIZE=18446744073709551616", 0, ALL, SMTPCMD_MAIL,
	    501, "5.5.4", "Bad SIZE value", "SIZE=18446744073709551616" },
	{ "MAIL FROM:<a@b> SIZE=99999999999999999999", 0, ALL, SMTPCMD_MAIL,
	    501, "5.5.4", "Bad SIZE value", "SIZE=99999999999999999999" },
	{ "MAIL FROM:<a@b> SIZE=000000000000000000001", 0, ALL, SMTPCMD_MAIL,
	    501, "5.5.4", "Bad SIZE value", "SIZE=000000000000000000001" },
	/* BODY */
	{ "MAIL FROM:<a@b> BODY", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad BODY value", "BODY" },
	{ "MAIL FROM:<a@b> BODY=8BIT", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad BODY value", "BODY=8BIT" },
	{ "MAIL FROM:<a@b> BODY=8BITMIMEX", 0, ALL, SMTPCMD_MAIL, 501,
	    "5.5.4", "Bad BODY value", "BODY=8BITMIMEX" },
	{ "MAIL FROM:<a@b> BODY=BINARY", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad BODY value", "BODY=BINARY" },
	/* SMTPUTF8, RET */
	{ "MAIL FROM:<a@b> SMTPUTF8=yes", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad SMTPUTF8 value", "SMTPUTF8=yes" },
	{ "MAIL FROM:<a@b> RET", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad RET value", "RET" },
	{ "MAIL FROM:<a@b> RET=NONE", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad RET value", "RET=NONE" },
	{ "MAIL FROM:<a@b> RET=FULLHDRS", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad RET value", "RET=FULLHDRS" },
	/* ENVID xtext */
	{ "MAIL FROM:<a@b> ENVID", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID" },
	{ "MAIL FROM:<a@b> ENVID=a+", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=a+" },
	{ "MAIL FROM:<a@b> ENVID=a+4", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=a+4" },
	{ "MAIL FROM:<a@b> ENVID=+4g", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+4g" },
	{ "MAIL FROM:<a@b> ENVID=+zz", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+zz" },
	{ "MAIL FROM:<a@b> ENVID=+2b", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+2b" },
	{ "MAIL FROM:<a@b> ENVID=+2B+3d", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+2B+3d" },
	{ "MAIL FROM:<a@b> ENVID=+00", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+00" },
	{ "MAIL FROM:<a@b> ENVID=+0D+0A", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+0D+0A" },
	{ "MAIL FROM:<a@b> ENVID=+7F", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+7F" },
	{ "MAIL FROM:<a@b> ENVID=+C3+A9", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad ENVID value", "ENVID=+C3+A9" },
	{ "MAIL FROM:<a@b> SMTPUTF8 ENVID=\xc3\xa9", 0, ALL, SMTPCMD_MAIL,
	    501, "5.5.4", "Bad ENVID value", "ENVID=\xc3\xa9" },
	/* AUTH */
	{ "MAIL FROM:<a@b> AUTH", 0, ALL, SMTPCMD_MAIL, 501, "5.5.4",
	    "Bad AUTH value", "AUTH" },
	/* NOTIFY */
	{ "RCPT TO:<a@b> NOTIFY", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY" },
	{ "RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad NOTIFY value", "NOTIFY=NEVER,SUCCESS" },
	{ "RCPT TO:<a@b> NOTIFY=DELAY,NEVER", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad NOTIFY value", "NOTIFY=DELAY,NEVER" },
	{ "RCPT TO:<a@b> NOTIFY=NEVER,NEVER", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad NOTIFY value", "NOTIFY=NEVER,NEVER" },
	{ "RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad NOTIFY value", "NOTIFY=SUCCESS,SUCCESS" },
	{ "RCPT TO:<a@b> NOTIFY=SUCCESS,", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY=SUCCESS," },
	{ "RCPT TO:<a@b> NOTIFY=,SUCCESS", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY=,SUCCESS" },
	{ "RCPT TO:<a@b> NOTIFY=SUCCESS,,DELAY", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad NOTIFY value", "NOTIFY=SUCCESS,,DELAY" },
	{ "RCPT TO:<a@b> NOTIFY=,", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY=," },
	{ "RCPT TO:<a@b> NOTIFY=SUCCES", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY=SUCCES" },
	{ "RCPT TO:<a@b> NOTIFY=ALWAYS", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad NOTIFY value", "NOTIFY=ALWAYS" },
	/* ORCPT */
	{ "RCPT TO:<a@b> ORCPT", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad ORCPT value", "ORCPT" },
	{ "RCPT TO:<a@b> ORCPT=rfc822", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad ORCPT value", "ORCPT=rfc822" },
	{ "RCPT TO:<a@b> ORCPT=;a@b", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad ORCPT value", "ORCPT=;a@b" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad ORCPT value", "ORCPT=rfc822;" },
	{ "RCPT TO:<a@b> ORCPT=rf(c;a", 0, ALL, SMTPCMD_RCPT, 501, "5.5.4",
	    "Bad ORCPT value", "ORCPT=rf(c;a" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;a+2b", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad ORCPT value", "ORCPT=rfc822;a+2b" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;a+0D", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad ORCPT value", "ORCPT=rfc822;a+0D" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;a+4", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad ORCPT value", "ORCPT=rfc822;a+4" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;a+", 0, ALL, SMTPCMD_RCPT, 501,
	    "5.5.4", "Bad ORCPT value", "ORCPT=rfc822;a+" },
	{ "RCPT TO:<a@b> ORCPT=rfc822;j\xc3\xb6", 0, ALL | FT, SMTPCMD_RCPT,
	    501, "5.5.4", "Bad ORCPT value", "ORCPT=rfc822;j\xc3\xb6" },
	{ "RCPT TO:<a@b> ORCPT=utf-8;j\xc3", 0, ALL | FT, SMTPCMD_RCPT,
	    PARAMS, "ORCPT=utf-8;j\xc3" },
	/* BDAT */
	{ "BDAT", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT ", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT x", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT LAST", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT -1", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT +1", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10x", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10 LAS", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10 LASTX", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10 LAST X", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10 LAST LAST", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10LAST", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 10\tLAST", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 1 2", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 1000000000000000000", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
	{ "BDAT 99999999999999999999999999999999", 0, 0, SMTPCMD_BDAT, BDATSY,
	    NULL },
	{ "BDAT 0000000000000000001 LAST", 0, 0, SMTPCMD_BDAT, BDATSY, NULL },
};

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];
	struct smtpcmd c;
	struct smtpcmd_err e;
	size_t len = b->len ? b->len : strlen(b->line);

	ck_assert_msg(smtpcmd_parse(b->line, len, b->flags, &c, &e) == -1,
	    "case %d \"%s\" accepted", _i, b->line);
	ck_assert_msg(c.verb == b->verb, "case %d: verb %s", _i,
	    smtpcmd_verb_str(c.verb));
	ck_assert_msg(e.code == b->code && strcmp(e.enh, b->enh) == 0 &&
	    strcmp(e.text, b->text) == 0, "case %d \"%s\": got %d %s %s", _i,
	    b->line, e.code, e.enh, e.text);
	if (b->param == NULL)
		ck_assert_ptr_null(e.param);
	else {
		ck_assert_ptr_nonnull(e.param);
		ck_assert(e.param >= b->line && e.param + e.param_len <=
		    b->line + len);
		ck_assert_msg(e.param_len == strlen(b->param) &&
		    memcmp(e.param, b->param, e.param_len) == 0,
		    "case %d: param \"%.*s\"", _i, (int)e.param_len, e.param);
	}
}
END_TEST

/* ---- the details of what is parsed ------------------------------------ */

static void
parse_ok(const char *line, unsigned flags, struct smtpcmd *c)
{
	struct smtpcmd_err e;

	ck_assert_msg(smtpcmd_parse(line, strlen(line), flags, c, &e) == 0,
	    "\"%s\": %d %s %s", line, e.code, e.enh ? e.enh : "",
	    e.text ? e.text : "");
}

static void
parse_err(const char *line, unsigned flags, int code, const char *text)
{
	struct smtpcmd c;
	struct smtpcmd_err e;

	ck_assert_int_eq(smtpcmd_parse(line, strlen(line), flags, &c, &e),
	    -1);
	ck_assert_int_eq(e.code, code);
	ck_assert_str_eq(e.text, text);
}

START_TEST(test_mail_all)
{
	struct smtpcmd c;

	parse_ok("MAIL FROM:<user@example.org> SIZE=12345 BODY=8BITMIME "
	    "SMTPUTF8 RET=HDRS ENVID=QQ+2B123+3D+20x AUTH=<>", ALL, &c);
	ck_assert_int_eq(c.verb, SMTPCMD_MAIL);
	ck_assert_str_eq(c.addr.local, "user");
	ck_assert_str_eq(c.addr.domain, "example.org");
	ck_assert_uint_eq(c.nparams, 6);
	ck_assert(c.size_set);
	ck_assert_uint_eq(c.size, 12345);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_8BITMIME);
	ck_assert(c.smtputf8);
	ck_assert_int_eq(c.ret, SMTPCMD_RET_HDRS);
	ck_assert(c.envid_set);
	ck_assert_str_eq(c.envid, "QQ+123= x");
	ck_assert_uint_eq(c.auth_len, 2);
	ck_assert(memcmp(c.auth, "<>", 2) == 0);
	ck_assert(!c.extra_space);
	/* RCPT fields untouched */
	ck_assert_uint_eq(c.notify, 0);
	ck_assert(!c.orcpt_set);
}
END_TEST

START_TEST(test_mail_none)
{
	struct smtpcmd c;

	parse_ok("MAIL FROM:<a@b>", ALL, &c);
	ck_assert_uint_eq(c.nparams, 0);
	ck_assert(!c.size_set);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_NONE);
	ck_assert(!c.smtputf8);
	ck_assert_int_eq(c.ret, SMTPCMD_RET_NONE);
	ck_assert(!c.envid_set);
	ck_assert_str_eq(c.envid, "");
	ck_assert_ptr_null(c.auth);
	ck_assert(!c.addr.utf8);
}
END_TEST

START_TEST(test_mail_values)
{
	struct smtpcmd c;
	char line[1024];
	size_t i;

	parse_ok("MAIL FROM:<a@b> SIZE=18446744073709551615", ALL, &c);
	ck_assert(c.size == UINT64_MAX);
	parse_ok("MAIL FROM:<a@b> SIZE=00000000000000000001", ALL, &c);
	ck_assert_uint_eq(c.size, 1);
	parse_ok("MAIL FROM:<a@b> size=0", ALL, &c);
	ck_assert(c.size_set);
	ck_assert_uint_eq(c.size, 0);

	parse_ok("MAIL FROM:<a@b> BODY=7bit", ALL, &c);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_7BIT);
	parse_ok("MAIL FROM:<a@b> body=8bitmime", F8, &c);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_8BITMIME);
	parse_ok("MAIL FROM:<a@b> BODY=BINARYMIME", FC, &c);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_BINARYMIME);
	parse_ok("MAIL FROM:<a@b> BODY=binarymime", F8 | FC, &c);
	ck_assert_int_eq(c.body, SMTPCMD_BODY_BINARYMIME);

	parse_ok("MAIL FROM:<a@b> RET=full", FD, &c);
	ck_assert_int_eq(c.ret, SMTPCMD_RET_FULL);

	/* ENVID: 100 decoded bytes, however they were encoded */
	memcpy(line, "MAIL FROM:<a@b> ENVID=", 22);
	for (i = 0; i < 100; i++)
		memcpy(line + 22 + 3 * i, "+41", 3);
	line[22 + 300] = '\0';
	parse_ok(line, FD, &c);
	ck_assert_uint_eq(strlen(c.envid), 100);
	ck_assert_int_eq(c.envid[99], 'A');
	memcpy(line + 22 + 300, "+41", 4);
	parse_err(line, FD, 501, "Bad ENVID value");
	memset(line + 22, 'e', 101);
	line[22 + 101] = '\0';
	parse_err(line, FD, 501, "Bad ENVID value");
	line[22 + 100] = '\0';
	parse_ok(line, FD, &c);
	ck_assert_uint_eq(strlen(c.envid), 100);

	/* AUTH: 500 bytes raw */
	memcpy(line, "MAIL FROM:<a@b> AUTH=", 21);
	memset(line + 21, 'a', 500);
	line[21 + 500] = '\0';
	parse_ok(line, FA, &c);
	ck_assert_uint_eq(c.auth_len, 500);
	ck_assert_ptr_eq(c.auth, line + 21);
	line[21 + 500] = 'a';
	line[21 + 501] = '\0';
	parse_err(line, FA, 501, "Bad AUTH value");
}
END_TEST

struct notify {
	const char	*value;
	unsigned	 bits;
};

static const struct notify notifies[] = {
	{ "NEVER", SMTPCMD_NOTIFY_NEVER },
	{ "never", SMTPCMD_NOTIFY_NEVER },
	{ "SUCCESS", SMTPCMD_NOTIFY_SUCCESS },
	{ "FAILURE", SMTPCMD_NOTIFY_FAILURE },
	{ "DELAY", SMTPCMD_NOTIFY_DELAY },
	{ "SUCCESS,FAILURE", SMTPCMD_NOTIFY_SUCCESS | SMTPCMD_NOTIFY_FAILURE },
	{ "delay,Success", SMTPCMD_NOTIFY_SUCCESS | SMTPCMD_NOTIFY_DELAY },
	{ "SUCCESS,FAILURE,DELAY", SMTPCMD_NOTIFY_SUCCESS |
	    SMTPCMD_NOTIFY_FAILURE | SMTPCMD_NOTIFY_DELAY },
	{ "FAILURE,DELAY,SUCCESS", SMTPCMD_NOTIFY_SUCCESS |
	    SMTPCMD_NOTIFY_FAILURE | SMTPCMD_NOTIFY_DELAY },
};

START_TEST(test_notify)
{
	const struct notify *n = &notifies[_i];
	struct smtpcmd c;
	char line[200];

	snprintf(line, sizeof(line), "RCPT TO:<a@b> NOTIFY=%s", n->value);
	parse_ok(line, FD, &c);
	ck_assert_uint_eq(c.notify, n->bits);
	ck_assert_uint_eq(c.nparams, 1);
}
END_TEST

START_TEST(test_orcpt)
{
	struct smtpcmd c;
	char line[1100];
	size_t i;

	parse_ok("RCPT TO:<user@example.org> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;user+40example.org", FD, &c);
	ck_assert_int_eq(c.verb, SMTPCMD_RCPT);
	ck_assert(c.orcpt_set);
	ck_assert_str_eq(c.orcpt_type, "rfc822");
	ck_assert_str_eq(c.orcpt, "user@example.org");
	ck_assert_uint_eq(c.nparams, 2);
	/* MAIL fields untouched */
	ck_assert(!c.size_set && !c.smtputf8 && c.auth == NULL);

	parse_ok("RCPT TO:<a@b> ORCPT=RFC822;+22a+20b+22+40x", FD, &c);
	ck_assert_str_eq(c.orcpt_type, "RFC822");
	ck_assert_str_eq(c.orcpt, "\"a b\"@x");
	/* ";" is an xchar: only the first one ends the addr-type */
	parse_ok("RCPT TO:<a@b> ORCPT=rfc822;a;b", FD, &c);
	ck_assert_str_eq(c.orcpt_type, "rfc822");
	ck_assert_str_eq(c.orcpt, "a;b");

	/* RFC 6533: raw UTF-8 with addr-type utf-8, under SMTPUTF8 */
	parse_ok("RCPT TO:<j\xc3\xb6@ex> ORCPT=UTF-8;j\xc3\xb6@ex",
	    FD | FU | FT, &c);
	ck_assert_str_eq(c.orcpt_type, "UTF-8");
	ck_assert_str_eq(c.orcpt, "j\xc3\xb6@ex");
	ck_assert(c.addr.utf8);
	parse_ok("RCPT TO:<a@b> ORCPT=utf-8;j\\x{00F6}@ex", FD, &c);
	ck_assert_str_eq(c.orcpt, "j\\x{00F6}@ex");

	/* 500 decoded bytes, a type of 32 */
	memcpy(line, "RCPT TO:<a@b> ORCPT=rfc822;", 27);
	memset(line + 27, 'o', 500);
	line[27 + 500] = '\0';
	parse_ok(line, FD, &c);
	ck_assert_uint_eq(strlen(c.orcpt), 500);
	line[27 + 500] = 'o';
	line[27 + 501] = '\0';
	parse_err(line, FD, 501, "Bad ORCPT value");
	memcpy(line, "RCPT TO:<a@b> ORCPT=", 20);
	for (i = 0; i < 32; i++)
		line[20 + i] = 't';
	memcpy(line + 52, ";x", 3);
	parse_ok(line, FD, &c);
	ck_assert_uint_eq(strlen(c.orcpt_type), 32);
	memcpy(line + 20 + 32, "t;x", 4);
	parse_err(line, FD, 501, "Bad ORCPT value");
}
END_TEST

struct bdat {
	const char	*line;
	uint64_t	 size;
	bool		 last;
};

static const struct bdat bdats[] = {
	{ "BDAT 0 LAST", 0, true },
	{ "BDAT 0", 0, false },
	{ "BDAT 1000", 1000, false },
	{ "bdat 10 last", 10, true },
	{ "BDAT 10 Last", 10, true },
	{ "BDAT 10  LAST  ", 10, true },
	{ "BDAT  7", 7, false },
	{ "BDAT 007", 7, false },
	{ "BDAT 999999999999999999", 999999999999999999ULL, false },
	{ "BDAT 999999999999999999 LAST", 999999999999999999ULL, true },
	{ "BDAT 000000000000000001", 1, false },
};

START_TEST(test_bdat)
{
	const struct bdat *b = &bdats[_i];
	struct smtpcmd c;

	parse_ok(b->line, 0, &c);
	ck_assert_int_eq(c.verb, SMTPCMD_BDAT);
	ck_assert(c.chunk_size == b->size);
	ck_assert_int_eq(c.last, b->last);
}
END_TEST

struct helo {
	const char	*line;
	bool		 valid;
};

static const struct helo helos[] = {
	{ "EHLO mail.example.org", true },
	{ "EHLO localhost", true },
	{ "EHLO [192.0.2.1]", true },
	{ "EHLO [IPv6:2001:db8::1]", true },
	{ "HELO x", true },
	{ "HELO 1.2.3.4", true },
	{ "EHLO mail.example.org.", false },
	{ "EHLO 192.0.2.1]", false },
	{ "EHLO [192.0.2.256]", false },
	{ "EHLO [tag:x]", false },
	{ "EHLO -bad-.example", false },
	{ "EHLO under_score.example", false },
	{ "EHLO two words", false },
	{ "HELO !!!", false },
	{ "HELO \"quoted\"", false },
};

START_TEST(test_helo)
{
	const struct helo *h = &helos[_i];
	struct smtpcmd c;

	parse_ok(h->line, ALL, &c);
	ck_assert_int_eq(c.helo_valid, h->valid);
}
END_TEST

START_TEST(test_helo_length)
{
	struct smtpcmd c;
	char line[300];

	memcpy(line, "EHLO ", 5);
	memset(line + 5, 'h', 255);
	line[5 + 255] = '\0';
	parse_ok(line, 0, &c);
	ck_assert_uint_eq(c.arg_len, 255);
	/* a single label of 255 is no domain, but it is kept */
	ck_assert(!c.helo_valid);
	line[5 + 255] = 'h';
	line[5 + 256] = '\0';
	parse_err(line, 0, 501, "Hostname too long");
	/* trailing spaces do not count */
	memset(line + 5 + 255, ' ', 20);
	line[5 + 275] = '\0';
	parse_ok(line, 0, &c);
	ck_assert_uint_eq(c.arg_len, 255);
}
END_TEST

/* Long paths give their own replies through MAIL and RCPT. */
START_TEST(test_path_limits)
{
	char line[600];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<");
	memset(line + n, 'l', 65);
	memcpy(line + n + 65, "@b>", 4);
	parse_err(line, 0, 553, "Local part too long");
	memcpy(line, "RCPT TO:<  ", 11);
	memmove(line + 9, line + 11, strlen(line + 11) + 1);
	parse_err(line, 0, 553, "Local part too long");

	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<a@");
	memset(line + n, 'd', 60);
	memset(line + n + 60, '.', 1);
	memset(line + n + 61, 'd', 60);
	memcpy(line + n + 121, ".", 1);
	memset(line + n + 122, 'd', 60);
	memcpy(line + n + 182, ".", 1);
	memset(line + n + 183, 'd', 60);
	memcpy(line + n + 243, ".", 1);
	memset(line + n + 244, 'd', 12);
	memcpy(line + n + 256, ">", 2);
	parse_err(line, 0, 553, "Domain too long");
	/* 253: a domain that fits, a path that does not */
	memmove(line + n + 253, line + n + 256, 2);
	parse_err(line, 0, 501, "Path too long");
}
END_TEST

/* The parameter count is checked first, whatever the parameters are. */
START_TEST(test_too_many)
{
	struct smtpcmd c;
	struct smtpcmd_err e;
	char line[300];
	size_t i, n;

	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<a@b>");
	for (i = 0; i < SMTPCMD_PARAMS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "  X%zu", i);
	ck_assert_int_eq(smtpcmd_parse(line, n, ALL, &c, &e), -1);
	ck_assert_int_eq(e.code, 555);
	ck_assert_uint_eq(e.param_len, 2);
	ck_assert(memcmp(e.param, "X0", 2) == 0);
	n += (size_t)snprintf(line + n, sizeof(line) - n, " SIZE=1   ");
	ck_assert_int_eq(smtpcmd_parse(line, n, ALL, &c, &e), -1);
	ck_assert_int_eq(e.code, 501);
	ck_assert_str_eq(e.enh, "5.5.4");
	ck_assert_str_eq(e.text, "Too many parameters");
	ck_assert_ptr_null(e.param);
	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:<a@b>");
	for (i = 0; i <= SMTPCMD_PARAMS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " N=1");
	parse_err(line, ALL, 501, "Too many parameters");
}
END_TEST

START_TEST(test_err_fields)
{
	struct smtpcmd c;
	struct smtpcmd_err e;
	const char *line = "MAIL FROM:<j\xc3\xb6@ex>";

	ck_assert_int_eq(smtpcmd_parse(line, strlen(line), FU, &c, &e), -1);
	ck_assert_int_eq(e.addr_err, ADDR_E_UTF8_NEEDS_SMTPUTF8);
	ck_assert_int_eq(e.code, 553);
	ck_assert_str_eq(e.enh, "5.6.7");
	line = "RCPT TO:<a@b..c>";
	ck_assert_int_eq(smtpcmd_parse(line, strlen(line), 0, &c, &e), -1);
	ck_assert_int_eq(e.addr_err, ADDR_E_SYNTAX);
	line = "RCPT TO:<a@b> FOO";
	ck_assert_int_eq(smtpcmd_parse(line, strlen(line), 0, &c, &e), -1);
	ck_assert_int_eq(e.addr_err, ADDR_E_NONE);
	/* A good parse clears a previous error. */
	line = "NOOP";
	ck_assert_int_eq(smtpcmd_parse(line, strlen(line), 0, &c, &e), 0);
	ck_assert_int_eq(e.code, 0);
	ck_assert_ptr_null(e.text);
}
END_TEST

/* Bytes past len are never looked at. */
START_TEST(test_no_overread)
{
	static const char *const lines[] = {
	    ("MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=FULL "
	    "ENVID=a+2B AUTH=<>"),
	    "RCPT TO:<a@[IPv6:::1]> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b",
	    "BDAT 100 LAST", "EHLO [192.0.2.1]", "STARTTLS", "VRFY x" };
	struct smtpcmd c;
	struct smtpcmd_err e;
	size_t i, k, n;
	char *p;

	for (i = 0; i < NELEM(lines); i++) {
		n = strlen(lines[i]);
		for (k = 0; k <= n; k++) {
			p = malloc(k ? k : 1);
			ck_assert_ptr_nonnull(p);
			memcpy(p, lines[i], k);
			(void)smtpcmd_parse(p, k, ALL, &c, &e);
			free(p);
		}
		p = malloc(n);
		ck_assert_ptr_nonnull(p);
		memcpy(p, lines[i], n);
		ck_assert_int_eq(smtpcmd_parse(p, n, ALL, &c, &e), 0);
		free(p);
	}
}
END_TEST

START_TEST(test_verb_str)
{
	static const struct {
		enum smtpcmd_verb v;
		const char *s;
	} names[] = {
		{ SMTPCMD_HELO, "HELO" }, { SMTPCMD_EHLO, "EHLO" },
		{ SMTPCMD_MAIL, "MAIL" }, { SMTPCMD_RCPT, "RCPT" },
		{ SMTPCMD_DATA, "DATA" }, { SMTPCMD_BDAT, "BDAT" },
		{ SMTPCMD_RSET, "RSET" }, { SMTPCMD_NOOP, "NOOP" },
		{ SMTPCMD_QUIT, "QUIT" }, { SMTPCMD_HELP, "HELP" },
		{ SMTPCMD_VRFY, "VRFY" }, { SMTPCMD_EXPN, "EXPN" },
		{ SMTPCMD_STARTTLS, "STARTTLS" }, { SMTPCMD_AUTH, "AUTH" },
		{ SMTPCMD_UNKNOWN, "UNKNOWN" },
	};
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		ck_assert_str_eq(smtpcmd_verb_str(names[i].v), names[i].s);
	ck_assert_str_eq(smtpcmd_verb_str((enum smtpcmd_verb)999), "UNKNOWN");
}
END_TEST

static Suite *
smtpcmd_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("smtpcmd");

	tc = tcase_create("lines");
	tcase_add_loop_test(tc, test_good, 0, (int)NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, (int)NELEM(bad));
	tcase_add_test(tc, test_no_overread);
	tcase_add_test(tc, test_err_fields);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_verb_str);
	suite_add_tcase(s, tc);

	tc = tcase_create("mail");
	tcase_add_test(tc, test_mail_all);
	tcase_add_test(tc, test_mail_none);
	tcase_add_test(tc, test_mail_values);
	tcase_add_test(tc, test_path_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("rcpt");
	tcase_add_loop_test(tc, test_notify, 0, (int)NELEM(notifies));
	tcase_add_test(tc, test_orcpt);
	suite_add_tcase(s, tc);

	tc = tcase_create("bdat");
	tcase_add_loop_test(tc, test_bdat, 0, (int)NELEM(bdats));
	suite_add_tcase(s, tc);

	tc = tcase_create("helo");
	tcase_add_loop_test(tc, test_helo, 0, (int)NELEM(helos));
	tcase_add_test(tc, test_helo_length);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(smtpcmd_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
