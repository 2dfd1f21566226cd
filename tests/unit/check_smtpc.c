/*
 * SPDX-License-Identifier: ISC
 *
 * check_smtpc.c -- unit tests for lib/smtpc.c: hostile and odd server
 * replies, EHLO/LHLO keywords, MAIL and RCPT lines, next hops, the
 * dot-stuffing converter cut at every byte, and the connection's
 * timeouts over socketpairs and loopback sockets.
 *
 * Process:  test runner (Check), no privilege.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"
#include "smtpc.h"

static struct smtpc_reply rep;

/* Feed CRLF-separated lines; the last result. */
static enum smtpc_parse
feed(const char *text, const char **err_r)
{
	const char *p = text, *nl;
	enum smtpc_parse r = SMTPC_ERR;

	smtpc_reply_init(&rep);
	*err_r = NULL;
	while (*p != '\0') {
		nl = strstr(p, "\r\n");
		if (nl == NULL)
			nl = p + strlen(p);
		r = smtpc_reply_line(&rep, p, (size_t)(nl - p), err_r);
		if (r != SMTPC_MORE)
			return r;
		p = *nl == '\0' ? nl : nl + 2;
	}
	return r;
}

/* ---- replies --------------------------------------------------------------- */

START_TEST(test_reply_single)
{
	const char *err;

	ck_assert_int_eq(feed("250 2.1.5 Ok", &err), SMTPC_DONE);
	ck_assert_int_eq(rep.code, 250);
	ck_assert_str_eq(rep.enh, "2.1.5");
	ck_assert_str_eq(rep.text, "2.1.5 Ok");
	ck_assert_uint_eq(rep.nlines, 1);
	/* A code alone, and a code and a hyphen, are lines too. */
	ck_assert_int_eq(feed("354", &err), SMTPC_DONE);
	ck_assert_int_eq(rep.code, 354);
	ck_assert_str_eq(rep.text, "");
	ck_assert_int_eq(feed("250-\r\n250", &err), SMTPC_DONE);
	ck_assert_uint_eq(rep.nlines, 2);
}
END_TEST

START_TEST(test_reply_multi)
{
	const char *err;
	char buf[256];

	ck_assert_int_eq(feed("250-mx.example\r\n250-PIPELINING\r\n250 SIZE",
	    &err), SMTPC_DONE);
	ck_assert_str_eq(rep.text, "mx.example\nPIPELINING\nSIZE");
	ck_assert_uint_eq(rep.nlines, 3);
	ck_assert_str_eq(rep.enh, "");
	ck_assert_int_eq(feed("550-5.1.1 no such\r\n550-5.1.1 user\r\n"
	    "550 5.1.1", &err), SMTPC_DONE);
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, sizeof(buf)),
	    "550 5.1.1 no such user");
	/* A later line with another code in its text is kept whole. */
	ck_assert_int_eq(feed("550-5.1.1 a\r\n550 5.7.1 b", &err),
	    SMTPC_DONE);
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, sizeof(buf)),
	    "550 5.1.1 a 5.7.1 b");
}
END_TEST

static const struct {
	const char	*line;
	const char	*err;
} bad_lines[] = {
	{ "", "reply line without a three-digit code" },
	{ "25", "reply line without a three-digit code" },
	{ "2x0 ok", "reply line without a three-digit code" },
	{ " 250 ok", "reply line without a three-digit code" },
	{ "199 old", "reply code out of range" },
	{ "600 new", "reply code out of range" },
	{ "260 sixty", "reply code out of range" },
	{ "099 zero", "reply code out of range" },
	{ "250x", "reply code not followed by a space or a hyphen" },
	{ "250\t2.0.0 tab", "reply code not followed by a space or a hyphen" },
	{ "2500", "reply code not followed by a space or a hyphen" },
};

START_TEST(test_reply_bad_line)
{
	const char *err;

	smtpc_reply_init(&rep);
	ck_assert_int_eq(smtpc_reply_line(&rep, bad_lines[_i].line,
	    strlen(bad_lines[_i].line), &err), SMTPC_ERR);
	ck_assert_str_eq(err, bad_lines[_i].err);
}
END_TEST

START_TEST(test_reply_codes_must_agree)
{
	const char *err;

	ck_assert_int_eq(feed("250-a\r\n251 b", &err), SMTPC_ERR);
	ck_assert_str_eq(err, "reply lines with different codes");
	ck_assert_int_eq(feed("250-a\r\n550 b", &err), SMTPC_ERR);
}
END_TEST

START_TEST(test_reply_limits)
{
	static char line[SMTPC_LINE_MAX + 2];
	const char *err;
	size_t i;

	/* The longest line passes, one byte more does not. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	smtpc_reply_init(&rep);
	ck_assert_int_eq(smtpc_reply_line(&rep, line, SMTPC_LINE_MAX, &err),
	    SMTPC_DONE);
	smtpc_reply_init(&rep);
	ck_assert_int_eq(smtpc_reply_line(&rep, line, SMTPC_LINE_MAX + 1,
	    &err), SMTPC_ERR);
	ck_assert_str_eq(err, "reply line too long");
	/* Too many lines. */
	smtpc_reply_init(&rep);
	for (i = 0; i < SMTPC_REPLY_LINES; i++)
		ck_assert_int_eq(smtpc_reply_line(&rep, "250-x", 5, &err),
		    SMTPC_MORE);
	ck_assert_int_eq(smtpc_reply_line(&rep, "250 x", 5, &err),
	    SMTPC_ERR);
	ck_assert_str_eq(err, "reply with too many lines");
	/* Too many bytes in all. */
	line[3] = '-';
	smtpc_reply_init(&rep);
	for (i = 0; i < SMTPC_REPLY_MAX / (SMTPC_LINE_MAX - 4); i++)
		ck_assert_int_eq(smtpc_reply_line(&rep, line, SMTPC_LINE_MAX,
		    &err), SMTPC_MORE);
	ck_assert_int_eq(smtpc_reply_line(&rep, line, SMTPC_LINE_MAX, &err),
	    SMTPC_ERR);
	ck_assert_str_eq(err, "reply too long");
	ck_assert_uint_le(rep.len, SMTPC_REPLY_MAX);
}
END_TEST

START_TEST(test_reply_controls_and_nul)
{
	const char *err;

	smtpc_reply_init(&rep);
	ck_assert_int_eq(smtpc_reply_line(&rep, "250 a\0b\033c\x7f\xc3\xa9",
	    12, &err), SMTPC_DONE);
	ck_assert_uint_eq(rep.len, 8);
	ck_assert(memcmp(rep.text, "a b c \xc3\xa9", 8) == 0);
}
END_TEST

static const struct {
	const char	*reply;
	const char	*enh;
	const char	*dsn;
} enh_cases[] = {
	{ "250 2.1.5 Ok", "2.1.5", "2.1.5" },
	{ "550 5.123.456 x", "5.123.456", "5.123.456" },
	{ "452 4.2.2", "4.2.2", "4.2.2" },
	{ "550 2.1.5 class differs", "", "5.0.0" },
	{ "550 5.1234.1 too many digits", "", "5.0.0" },
	{ "550 5.1.1x", "", "5.0.0" },
	{ "550 5..1", "", "5.0.0" },
	{ "550 5.1", "", "5.0.0" },
	{ "450 try later", "", "4.0.0" },
	{ "250 Ok", "", "2.0.0" },
	{ "354 go", "", "2.0.0" },
	{ "550-5.1.1 first\r\n550 5.1.1 second", "5.1.1", "5.1.1" },
};

START_TEST(test_reply_enh)
{
	const char *err;
	char dsn[SMTPC_ENH_MAX + 1];

	ck_assert_int_eq(feed(enh_cases[_i].reply, &err), SMTPC_DONE);
	ck_assert_str_eq(rep.enh, enh_cases[_i].enh);
	ck_assert_str_eq(smtpc_reply_dsn(&rep, dsn), enh_cases[_i].dsn);
}
END_TEST

START_TEST(test_reply_format_cut)
{
	const char *err;
	char buf[12];

	ck_assert_int_eq(feed("250-2.0.0 saved\r\n250 2.0.0 really", &err),
	    SMTPC_DONE);
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, sizeof(buf)),
	    "250 2.0.0 s");
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, 4), "250");
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, 2), "2");
	ck_assert_str_eq(smtpc_reply_format(&rep, buf, 1), "");
}
END_TEST

/* ---- keywords ---------------------------------------------------------------- */

START_TEST(test_ext)
{
	struct smtpc_ext ext;
	const char *err;

	ck_assert_int_eq(feed("250-PIPELINING SIZE DSN\r\n250-pipelining\r\n"
	    "250-Size 1000\r\n250-8bitmime\r\n250-SMTPUTF8\r\n250-DSN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n"
	    "250-STARTTLS\r\n250-X-UNKNOWN 1\r\n250-PIPELININGX\r\n"
	    "250 AUTH PLAIN", &err), SMTPC_DONE);
	smtpc_ext_parse(&rep, &ext);
	ck_assert_uint_eq(ext.flags, SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE |
	    SMTPC_EXT_8BITMIME | SMTPC_EXT_SMTPUTF8 | SMTPC_EXT_DSN |
	    SMTPC_EXT_ENHANCEDSTATUSCODES | SMTPC_EXT_CHUNKING |
	    SMTPC_EXT_BINARYMIME | SMTPC_EXT_STARTTLS);
	ck_assert_uint_eq(ext.size, 1000);
	/* The greeting line is not a keyword. */
	ck_assert_int_eq(feed("250 PIPELINING", &err), SMTPC_DONE);
	smtpc_ext_parse(&rep, &ext);
	ck_assert_uint_eq(ext.flags, 0);
}
END_TEST

static const struct {
	const char	*line;
	uint64_t	 size;
} size_cases[] = {
	{ "250 SIZE", 0 },
	{ "250 SIZE 0", 0 },
	{ "250 SIZE 52428800", 52428800 },
	{ "250 SIZE  77 ", 77 },
	{ "250 SIZE 18446744073709551615", UINT64_MAX },
	{ "250 SIZE 18446744073709551616", 0 },
	{ "250 SIZE 123456789012345678901", 0 },
	{ "250 SIZE -1", 0 },
	{ "250 SIZE 10k", 0 },
};

START_TEST(test_ext_size)
{
	struct smtpc_ext ext;
	char buf[128];
	const char *err;

	snprintf(buf, sizeof(buf), "250-x\r\n%s", size_cases[_i].line);
	ck_assert_int_eq(feed(buf, &err), SMTPC_DONE);
	smtpc_ext_parse(&rep, &ext);
	ck_assert_uint_eq(ext.flags, SMTPC_EXT_SIZE);
	ck_assert_uint_eq(ext.size, size_cases[_i].size);
}
END_TEST

/* ---- commands ---------------------------------------------------------------- */

static const struct smtpc_ext all_ext = {
	SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME | SMTPC_EXT_SMTPUTF8 |
	SMTPC_EXT_DSN | SMTPC_EXT_BINARYMIME | SMTPC_EXT_CHUNKING, 0
};
static const struct smtpc_ext no_ext = { 0, 0 };

START_TEST(test_fmt_mail)
{
	struct smtpc_mail m = { "a@b", 1234, SMTPC_BODY_8BITMIME, true,
	    QFILE_RET_HDRS, "x+y=z \xc3" };
	char buf[SMTPC_CMD_MAX];

	ck_assert_int_eq(smtpc_fmt_mail(buf, sizeof(buf), &m, &all_ext),
	    (ssize_t)strlen(buf));
	ck_assert_str_eq(buf, "MAIL FROM:<a@b> SIZE=1234 BODY=8BITMIME "
	    "SMTPUTF8 RET=HDRS ENVID=x+2By+3Dz+20+C3\r\n");
	ck_assert_int_gt(smtpc_fmt_mail(buf, sizeof(buf), &m, &no_ext), 0);
	ck_assert_str_eq(buf, "MAIL FROM:<a@b>\r\n");
	m.sender = "";
	m.size = 0;
	m.body = SMTPC_BODY_BINARYMIME;
	m.smtputf8 = false;
	m.ret = QFILE_RET_FULL;
	m.envid = NULL;
	ck_assert_int_gt(smtpc_fmt_mail(buf, sizeof(buf), &m, &all_ext), 0);
	ck_assert_str_eq(buf, "MAIL FROM:<> BODY=BINARYMIME RET=FULL\r\n");
	/* No room, and a sender that would inject a command. */
	ck_assert_int_eq(smtpc_fmt_mail(buf, 10, &m, &all_ext), -1);
	ck_assert_int_eq(smtpc_fmt_mail(buf, 0, &m, &all_ext), -1);
	m.sender = "a@b>\r\nRCPT TO:<c@d";
	ck_assert_int_eq(smtpc_fmt_mail(buf, sizeof(buf), &m, &all_ext), -1);
}
END_TEST

START_TEST(test_fmt_rcpt)
{
	struct smtpc_rcpt r = { "c@d", QFILE_NOTIFY_SUCCESS |
	    QFILE_NOTIFY_DELAY, "rfc822", "o+x=@d" };
	char buf[SMTPC_CMD_MAX];

	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    false), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d> NOTIFY=SUCCESS,DELAY "
	    "ORCPT=rfc822;o+2Bx+3D@d\r\n");
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &no_ext,
	    false), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d>\r\n");
	r.notify = QFILE_NOTIFY_NEVER;
	r.orcpt_type = "";
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    false), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d> NOTIFY=NEVER\r\n");
	/* 8-bit ORCPT: raw for utf-8 under SMTPUTF8, else left out. */
	r.notify = 0;
	r.orcpt_type = "utf-8";
	r.orcpt = "\xc3\xbc@d";
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    true), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d> ORCPT=utf-8;\xc3\xbc@d\r\n");
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    false), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d>\r\n");
	r.orcpt_type = "rfc822";
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    true), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d>\r\n");
	/* A bad addr-type is not sent. */
	r.orcpt_type = "rfc 822";
	r.orcpt = "x@d";
	ck_assert_int_gt(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    true), 0);
	ck_assert_str_eq(buf, "RCPT TO:<c@d>\r\n");
	/* Empty, control characters, no room. */
	r.addr = "";
	ck_assert_int_eq(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    false), -1);
	r.addr = "c@d\nQUIT";
	ck_assert_int_eq(smtpc_fmt_rcpt(buf, sizeof(buf), &r, &all_ext,
	    false), -1);
	r.addr = "c@d";
	ck_assert_int_eq(smtpc_fmt_rcpt(buf, 12, &r, &all_ext, false), -1);
}
END_TEST

START_TEST(test_xtext)
{
	char buf[16];

	ck_assert_int_eq(smtpc_xtext(buf, sizeof(buf), "a+b=c", 5, false), 9);
	ck_assert_str_eq(buf, "a+2Bb+3Dc");
	ck_assert_int_eq(smtpc_xtext(buf, sizeof(buf), " \x7f~!", 4, false),
	    8);
	ck_assert_str_eq(buf, "+20+7F~!");
	ck_assert_int_eq(smtpc_xtext(buf, sizeof(buf), "\xff", 1, true), 1);
	ck_assert_int_eq(smtpc_xtext(buf, sizeof(buf), "\xff", 1, false), 3);
	ck_assert_str_eq(buf, "+FF");
	ck_assert_int_eq(smtpc_xtext(buf, 3, "+", 1, false), -1);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(smtpc_xtext(buf, 4, "++", 2, false), -1);
	ck_assert_str_eq(buf, "+2B");
	ck_assert_int_eq(smtpc_xtext(buf, 0, "a", 1, false), -1);
}
END_TEST

/* ---- next hops ------------------------------------------------------------------ */

static const struct {
	const char	*in;
	int		 kind;		/* -1: error */
	const char	*a, *b;		/* path, or host and port */
} hops[] = {
	{ "unix:/run/dovecot/lmtp", SMTPC_NH_UNIX, "/run/dovecot/lmtp", NULL },
	{ "inet:127.0.0.1:24", SMTPC_NH_INET, "127.0.0.1", "24" },
	{ "inet:mail.example.org", SMTPC_NH_INET, "mail.example.org", "24" },
	{ "inet:[::1]:2424", SMTPC_NH_INET, "::1", "2424" },
	{ "inet:[2001:db8::1]", SMTPC_NH_INET, "2001:db8::1", "24" },
	{ "inet:h:65535", SMTPC_NH_INET, "h", "65535" },
	{ "unix:relative", -1, NULL, NULL },
	{ "unix:", -1, NULL, NULL },
	{ "unix:/p\n", -1, NULL, NULL },
	{ "inet:", -1, NULL, NULL },
	{ "inet:h:", -1, NULL, NULL },
	{ "inet:h:0", -1, NULL, NULL },
	{ "inet:h:65536", -1, NULL, NULL },
	{ "inet:h:24x", -1, NULL, NULL },
	{ "inet:h:123456", -1, NULL, NULL },
	{ "inet:h:24:25", -1, NULL, NULL },
	{ "inet:-h:24", -1, NULL, NULL },
	{ "inet:h h:24", -1, NULL, NULL },
	/* lib/hostname.h, no latitude; an IPv4 address in four parts only. */
	{ "inet:h_1:24", -1, NULL, NULL },
	{ "inet:h-:24", -1, NULL, NULL },
	{ "inet:a..b:24", -1, NULL, NULL },
	{ "inet:.h:24", -1, NULL, NULL },
	{ "inet:h.:24", -1, NULL, NULL },
	{ "inet:1.2.3:24", -1, NULL, NULL },
	{ "inet:256.0.0.1:24", -1, NULL, NULL },
	{ "inet:example.123:24", -1, NULL, NULL },
	{ "inet:1.example:24", SMTPC_NH_INET, "1.example", "24" },
	{ "inet:[::1", -1, NULL, NULL },
	{ "inet:[]:24", -1, NULL, NULL },
	{ "inet:[not-v6]:24", -1, NULL, NULL },
	{ "inet:[::1]x24", -1, NULL, NULL },
	{ "inet:[::1]:", -1, NULL, NULL },
	{ "tcp:h:24", -1, NULL, NULL },
	{ "/run/dovecot/lmtp", -1, NULL, NULL },
	{ "", -1, NULL, NULL },
};

START_TEST(test_nexthop)
{
	struct smtpc_nexthop nh;
	const char *err = NULL;
	int r;

	r = smtpc_nexthop_parse(hops[_i].in, "24", &nh, &err);
	if (hops[_i].kind == -1) {
		ck_assert_int_eq(r, -1);
		ck_assert_ptr_nonnull(err);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq((int)nh.kind, hops[_i].kind);
	if (nh.kind == SMTPC_NH_UNIX)
		ck_assert_str_eq(nh.path, hops[_i].a);
	else {
		ck_assert_str_eq(nh.host, hops[_i].a);
		ck_assert_str_eq(nh.port, hops[_i].b);
	}
}
END_TEST

START_TEST(test_nexthop_long)
{
	char in[SMTPC_PATH_MAX + 8], host[SMTPC_HOST_MAX + 16];
	struct smtpc_nexthop nh;
	const char *err;

	memcpy(in, "unix:/", 6);
	memset(in + 6, 'p', SMTPC_PATH_MAX - 1);
	in[5 + SMTPC_PATH_MAX] = '\0';
	ck_assert_int_eq(smtpc_nexthop_parse(in, "24", &nh, &err), 0);
	ck_assert_uint_eq(strlen(nh.path), SMTPC_PATH_MAX);
	in[5 + SMTPC_PATH_MAX] = 'p';
	in[6 + SMTPC_PATH_MAX] = '\0';
	ck_assert_int_eq(smtpc_nexthop_parse(in, "24", &nh, &err), -1);
	/* Host names: 253 bytes in labels of at most 63 (lib/hostname.h). */
	memcpy(host, "inet:", 5);
	memset(host + 5, 'h', SMTPC_HOST_MAX + 1);
	host[6 + SMTPC_HOST_MAX] = '\0';
	ck_assert_int_eq(smtpc_nexthop_parse(host, "24", &nh, &err), -1);
	host[5 + 63] = host[5 + 127] = host[5 + 191] = '.';
	host[5 + 253] = '\0';
	ck_assert_int_eq(smtpc_nexthop_parse(host, "24", &nh, &err), 0);
	ck_assert_uint_eq(strlen(nh.host), 253);
	host[5 + 253] = 'h';
	host[5 + 254] = '\0';
	ck_assert_int_eq(smtpc_nexthop_parse(host, "24", &nh, &err), -1);
	/* Labels of 63 and 64 bytes. */
	memset(host + 5, 'h', 64);
	memcpy(host + 5 + 63, ".example", 9);
	ck_assert_int_eq(smtpc_nexthop_parse(host, "24", &nh, &err), 0);
	memcpy(host + 5 + 64, ".example", 9);
	ck_assert_int_eq(smtpc_nexthop_parse(host, "24", &nh, &err), -1);
}
END_TEST

/* ---- dot-stuffing ------------------------------------------------------------------- */

struct sink {
	char	 buf[32768];
	size_t	 len;
	int	 fail_after;	/* flushes allowed; -1: any */
};

static int
sink_flush(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (s->fail_after == 0)
		return -1;
	if (s->fail_after > 0)
		s->fail_after--;
	ck_assert_uint_le(n, sizeof(s->buf) - s->len);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static const struct {
	const char	*in;
	const char	*out;
} dots[] = {
	{ "", ".\r\n" },
	{ "a\r\n", "a\r\n.\r\n" },
	{ "a", "a\r\n.\r\n" },
	{ ".", "..\r\n.\r\n" },
	{ ".\r\n", "..\r\n.\r\n" },
	{ "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n" },
	{ "..x\r\n. y\r\nz.\r\n", "...x\r\n.. y\r\nz.\r\n.\r\n" },
	{ "a\nb\n", "a\r\nb\r\n.\r\n" },
	{ "a\n.\n", "a\r\n..\r\n.\r\n" },
	{ "a\rb", "a\r\nb\r\n.\r\n" },
	{ "a\r.\r", "a\r\n..\r\n.\r\n" },
	{ "a\r\r\n", "a\r\n\r\n.\r\n" },
	{ "\r\n\r\n", "\r\n\r\n.\r\n" },
	{ "a\r", "a\r\n.\r\n" },
	{ "x.y.\r\n.", "x.y.\r\n..\r\n.\r\n" },
};

/* Every way of cutting the input into two pieces, and byte by byte. */
START_TEST(test_dot)
{
	struct smtpc_dot d;
	struct sink s;
	size_t n = strlen(dots[_i].in), cut, i;

	for (cut = 0; cut <= n + 1; cut++) {
		memset(&s, 0, sizeof(s));
		s.fail_after = -1;
		smtpc_dot_init(&d, sink_flush, &s);
		if (cut <= n) {
			ck_assert_int_eq(smtpc_dot_put(&d, dots[_i].in, cut),
			    0);
			ck_assert_int_eq(smtpc_dot_put(&d, dots[_i].in + cut,
			    n - cut), 0);
		} else {
			for (i = 0; i < n; i++)
				ck_assert_int_eq(smtpc_dot_put(&d,
				    dots[_i].in + i, 1), 0);
		}
		ck_assert_int_eq(smtpc_dot_end(&d), 0);
		ck_assert_uint_eq(s.len, strlen(dots[_i].out));
		ck_assert(memcmp(s.buf, dots[_i].out, s.len) == 0);
		ck_assert_uint_eq(d.size, s.len);
	}
}
END_TEST

START_TEST(test_dot_large_and_failing)
{
	static char in[3 * SMTPC_DOT_OUT];
	struct smtpc_dot d;
	struct sink *s;
	size_t i;

	/* Many short dot lines: the output outgrows the buffer. */
	for (i = 0; i + 3 <= sizeof(in); i += 3)
		memcpy(in + i, ".\r\n", 3);
	s = calloc(1, sizeof(*s));
	ck_assert_ptr_nonnull(s);
	s->fail_after = 0;
	smtpc_dot_init(&d, sink_flush, s);
	ck_assert_int_eq(smtpc_dot_put(&d, in, sizeof(in)), -1);
	/* 5000 lines of ".": 20000 bytes out, two flushes. */
	s->fail_after = 1;
	smtpc_dot_init(&d, sink_flush, s);
	ck_assert_int_eq(smtpc_dot_put(&d, in, 15000), 0);
	ck_assert_int_eq(smtpc_dot_end(&d), -1);
	memset(s, 0, sizeof(*s));
	s->fail_after = 2;
	smtpc_dot_init(&d, sink_flush, s);
	ck_assert_int_eq(smtpc_dot_put(&d, in, 15000), 0);
	ck_assert_int_eq(smtpc_dot_end(&d), 0);
	ck_assert_uint_eq(s->len, 20003);
	ck_assert(memcmp(s->buf + 19996, "..\r\n.\r\n", 7) == 0);
	free(s);
}
END_TEST

/* ---- the connection ---------------------------------------------------------------- */

static int	sv[2];

static void
pair_setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
pair_teardown(void)
{
	if (sv[1] != -1)
		close(sv[1]);
}

static void
put(const char *s)
{
	ck_assert_int_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(test_read_reply)
{
	struct smtpc c;

	smtpc_open(&c, sv[0]);
	put("220-hello\r\n220 there\r\n250-x\r\n");
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_OK);
	ck_assert_int_eq(rep.code, 220);
	ck_assert_str_eq(rep.text, "hello\nthere");
	/* Half a reply, then nothing: the timeout. */
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 100), SMTPC_IO_TIMEOUT);
	put("250 y\r\n");
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_OK);
	ck_assert_str_eq(rep.text, "y");
	put("250-a\r\n550 b\r\n");
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_ERR);
	ck_assert_str_eq(c.err, "malformed reply: reply lines with "
	    "different codes");
	smtpc_close(&c);
	smtpc_close(&c);
}
END_TEST

START_TEST(test_read_reply_long_and_eof)
{
	static char line[SMTPC_LINE_MAX + 16];
	struct smtpc c;

	smtpc_open(&c, sv[0]);
	memset(line, 'x', sizeof(line) - 3);
	memcpy(line, "250 ", 4);
	memcpy(line + sizeof(line) - 3, "\r\n", 3);
	put(line);
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_ERR);
	ck_assert_str_eq(c.err, "reply line too long");
	put("250 part");
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_EOF);
	ck_assert_int_eq(smtpc_write(&c, "QUIT\r\n", 6, 1000), SMTPC_IO_EOF);
	smtpc_close(&c);
}
END_TEST

START_TEST(test_write_timeout)
{
	static char big[64 * 1024];
	struct smtpc c;
	enum smtpc_io io = SMTPC_IO_OK;
	int i;

	smtpc_open(&c, sv[0]);
	/* Nobody reads sv[1]: the buffers fill, then the write times out. */
	for (i = 0; i < 200 && io == SMTPC_IO_OK; i++)
		io = smtpc_write(&c, big, sizeof(big), 100);
	ck_assert_int_eq(io, SMTPC_IO_TIMEOUT);
	ck_assert_str_eq(c.err, "timed out");
	smtpc_close(&c);
}
END_TEST

START_TEST(test_connect_unix)
{
	struct sockaddr_un sun;
	struct smtpc_nexthop nh;
	struct smtpc c;
	char dir[] = "/tmp/check_smtpc.XXXXXX", relay[300];
	const char *err;
	bool resolve;
	int l, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s", dir);
	ck_assert_int_eq(smtpc_nexthop_parse("unix:/nonexistent/lmtp", "24",
	    &nh, &err), 0);
	ck_assert_int_eq(smtpc_connect(&c, &nh, 1000, relay, sizeof(relay),
	    &resolve), -1);
	ck_assert(!resolve);
	ck_assert_str_eq(c.err, "connect to /nonexistent/lmtp: No such file "
	    "or directory");
	ck_assert_str_eq(relay, "/nonexistent/lmtp");
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	strlcpy(nh.path, sun.sun_path, sizeof(nh.path));
	ck_assert_int_eq(smtpc_connect(&c, &nh, 1000, relay, sizeof(relay),
	    &resolve), 0);
	ck_assert_str_eq(relay, sun.sun_path);
	fd = accept(l, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "220 hi\r\n", 8), 8);
	ck_assert_int_eq(smtpc_read_reply(&c, &rep, 1000), SMTPC_IO_OK);
	ck_assert_int_eq(rep.code, 220);
	smtpc_close(&c);
	close(fd);
	close(l);
	unlink(sun.sun_path);
	rmdir(dir);
}
END_TEST

START_TEST(test_connect_inet)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct smtpc_nexthop nh;
	struct smtpc c;
	char hop[64], relay[300], want[300];
	const char *err;
	bool resolve;
	int l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	snprintf(hop, sizeof(hop), "inet:127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(smtpc_nexthop_parse(hop, "24", &nh, &err), 0);
	ck_assert_int_eq(smtpc_connect(&c, &nh, 1000, relay, sizeof(relay),
	    &resolve), 0);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%u",
	    ntohs(sin.sin_port));
	ck_assert_str_eq(relay, want);
	smtpc_close(&c);
	/* Nothing listens any more: refused, and said so. */
	close(l);
	ck_assert_int_eq(smtpc_connect(&c, &nh, 1000, relay, sizeof(relay),
	    &resolve), -1);
	snprintf(want, sizeof(want), "connect to 127.0.0.1[127.0.0.1]:%u: "
	    "Connection refused", ntohs(sin.sin_port));
	ck_assert_str_eq(c.err, want);
}
END_TEST

static Suite *
smtpc_suite(void)
{
	Suite *s = suite_create("smtpc");
	TCase *tc;

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_single);
	tcase_add_test(tc, test_reply_multi);
	tcase_add_loop_test(tc, test_reply_bad_line, 0,
	    sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(tc, test_reply_codes_must_agree);
	tcase_add_test(tc, test_reply_limits);
	tcase_add_test(tc, test_reply_controls_and_nul);
	tcase_add_loop_test(tc, test_reply_enh, 0,
	    sizeof(enh_cases) / sizeof(enh_cases[0]));
	tcase_add_test(tc, test_reply_format_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("ext");
	tcase_add_test(tc, test_ext);
	tcase_add_loop_test(tc, test_ext_size, 0,
	    sizeof(size_cases) / sizeof(size_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("commands");
	tcase_add_test(tc, test_fmt_mail);
	tcase_add_test(tc, test_fmt_rcpt);
	tcase_add_test(tc, test_xtext);
	suite_add_tcase(s, tc);

	tc = tcase_create("nexthop");
	tcase_add_loop_test(tc, test_nexthop, 0, sizeof(hops) / sizeof(hops[0]));
	tcase_add_test(tc, test_nexthop_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("dot");
	tcase_add_loop_test(tc, test_dot, 0, sizeof(dots) / sizeof(dots[0]));
	tcase_add_test(tc, test_dot_large_and_failing);
	suite_add_tcase(s, tc);

	tc = tcase_create("conn");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_read_reply);
	tcase_add_test(tc, test_read_reply_long_and_eof);
	tcase_add_test(tc, test_write_timeout);
	tcase_add_test(tc, test_connect_unix);
	tcase_add_test(tc, test_connect_inet);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(smtpc_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
