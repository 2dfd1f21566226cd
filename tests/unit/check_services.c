/*
 * SPDX-License-Identifier: ISC
 *
 * check_services.c -- unit tests for lib/services.c.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    services.conf text written here; temporary files under TMPDIR.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "services.h"

#define DIAG_MAX	64

struct diag_rec {
	char		 file[256];
	unsigned	 line;
	char		 service[SERVICES_NAME_MAX + 1];
	bool		 has_service;
	char		 msg[1024];
};

struct diags {
	struct diag_rec	 rec[DIAG_MAX];
	size_t		 n;
	size_t		 total;
};

static void
collect(void *arg, const char *file, unsigned line, const char *service,
    const char *msg)
{
	struct diags *d = arg;
	struct diag_rec *r;

	ck_assert_ptr_nonnull(file);
	ck_assert_ptr_nonnull(msg);
	d->total++;
	if (d->n == DIAG_MAX)
		return;
	r = &d->rec[d->n++];
	snprintf(r->file, sizeof(r->file), "%s", file);
	r->line = line;
	r->has_service = service != NULL;
	snprintf(r->service, sizeof(r->service), "%s", service ? service : "");
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

static int
parse(const char *text, struct services *s, struct diags *d)
{
	memset(d, 0, sizeof(*d));
	return services_parse("test.conf", text, strlen(text), s, collect, d);
}

/* ---- a full valid file ------------------------------------------------ */

static const char valid_conf[] =
    "# Tern services.conf\n"
    "#\n"
    "# name  type listen unpriv chroot maxproc prefork wakeup command\n"
    "smtp       inet  25              n  n  100  5  -  smtpd\n"
    "submission inet  127.0.0.1:587   -  y  -  -    -  smtpd -o tls=yes\n"
    "v6         inet  [::1]:2525      y  /var/empty 10 0 - smtpd\n"
    "any        inet  *:smtps         -  n  -  -  -  smtpd\n"
    "named      inet  localhost:2526  -  n  1  1  -  smtpd\n"
    "\n"
    "cleanup    unix  private/cleanup n  n  50 -  -  cleanup\n"
    "\tpickup_.x-1 unix public/pickup - y 1 1 60 pickup\n"
    "qmgr       unix  private/qmgr    n  -  1  -  300 qmgr\n"
    "    # a comment inside a continued line\n"
    "    -v\n"
    "\t  -n qmgr\r\n";

START_TEST(test_parse_valid)
{
	struct services s;
	struct diags d;
	const struct service_def *sd;

	ck_assert_int_eq(parse(valid_conf, &s, &d), 0);
	ck_assert_uint_eq(d.total, 0);
	/* "\tpickup_.x-1 ..." continues cleanup: it becomes arguments. */
	ck_assert_uint_eq(s.n, 7);

	sd = services_find(&s, "smtp");
	ck_assert_ptr_nonnull(sd);
	ck_assert_int_eq(sd->type, SERVICES_INET);
	ck_assert_str_eq(sd->listen, "25");
	ck_assert_str_eq(sd->host, "");
	ck_assert_str_eq(sd->port, "25");
	ck_assert(!sd->unpriv);
	ck_assert_str_eq(sd->chroot, "");
	ck_assert_uint_eq(sd->maxproc, 100);
	ck_assert_uint_eq(sd->prefork, 5);
	ck_assert_uint_eq(sd->wakeup, 0);
	ck_assert_str_eq(sd->command, "smtpd");
	ck_assert_uint_eq(sd->argc, 0);
	ck_assert_ptr_null(sd->argv[0]);
	ck_assert_uint_eq(sd->line, 4);

	sd = services_find(&s, "submission");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->host, "127.0.0.1");
	ck_assert_str_eq(sd->port, "587");
	ck_assert(sd->unpriv);
	ck_assert_str_eq(sd->chroot, "y");
	ck_assert_uint_eq(sd->maxproc, 0);
	ck_assert_uint_eq(sd->prefork, 0);
	ck_assert_uint_eq(sd->argc, 2);
	ck_assert_str_eq(sd->argv[0], "-o");
	ck_assert_str_eq(sd->argv[1], "tls=yes");
	ck_assert_ptr_null(sd->argv[2]);

	sd = services_find(&s, "v6");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->listen, "[::1]:2525");
	ck_assert_str_eq(sd->host, "::1");
	ck_assert_str_eq(sd->port, "2525");
	ck_assert(sd->unpriv);
	ck_assert_str_eq(sd->chroot, "/var/empty");
	ck_assert_uint_eq(sd->maxproc, 10);
	ck_assert_uint_eq(sd->prefork, 0);

	sd = services_find(&s, "any");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->listen, "*:smtps");
	ck_assert_str_eq(sd->host, "");
	ck_assert_str_eq(sd->port, "smtps");
	ck_assert_str_eq(sd->chroot, "");

	sd = services_find(&s, "named");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->host, "localhost");
	ck_assert_str_eq(sd->port, "2526");
	ck_assert_uint_eq(sd->maxproc, 1);
	ck_assert_uint_eq(sd->prefork, 1);

	sd = services_find(&s, "cleanup");
	ck_assert_ptr_nonnull(sd);
	ck_assert_int_eq(sd->type, SERVICES_UNIX);
	ck_assert_str_eq(sd->listen, "private/cleanup");
	ck_assert_str_eq(sd->host, "");
	ck_assert_str_eq(sd->port, "");
	ck_assert(!sd->unpriv);
	ck_assert_str_eq(sd->chroot, "");
	ck_assert_uint_eq(sd->maxproc, 50);
	ck_assert_str_eq(sd->command, "cleanup");
	ck_assert_uint_eq(sd->argc, 9);
	ck_assert_str_eq(sd->argv[0], "pickup_.x-1");
	ck_assert_str_eq(sd->argv[8], "pickup");
	ck_assert_ptr_null(sd->argv[9]);
	ck_assert_uint_eq(sd->line, 10);

	sd = services_find(&s, "qmgr");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->listen, "private/qmgr");
	ck_assert_str_eq(sd->chroot, "");
	ck_assert_uint_eq(sd->maxproc, 1);
	ck_assert_uint_eq(sd->wakeup, 300);
	ck_assert_uint_eq(sd->argc, 3);
	ck_assert_str_eq(sd->argv[0], "-v");
	ck_assert_str_eq(sd->argv[1], "-n");
	ck_assert_str_eq(sd->argv[2], "qmgr");
	ck_assert_uint_eq(sd->line, 12);

	services_free(&s);
	ck_assert_ptr_null(s.defs);
	ck_assert_uint_eq(s.n, 0);
	services_free(&s);		/* twice is harmless */
}
END_TEST

START_TEST(test_parse_public_wakeup)
{
	struct services s;
	struct diags d;
	const struct service_def *sd;

	ck_assert_int_eq(parse("pickup unix public/pickup - y 1 1 60 pickup\n"
	    "flush unix public/flush.d/x_1-2 y /srv/tern-root_1 - - 86400 "
	    "flush\n", &s, &d), 0);
	ck_assert_uint_eq(s.n, 2);
	sd = services_find(&s, "pickup");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->listen, "public/pickup");
	ck_assert_str_eq(sd->chroot, "y");
	ck_assert_uint_eq(sd->wakeup, 60);
	ck_assert_uint_eq(sd->maxproc, 1);
	ck_assert_uint_eq(sd->prefork, 1);
	sd = services_find(&s, "flush");
	ck_assert_ptr_nonnull(sd);
	ck_assert_str_eq(sd->listen, "public/flush.d/x_1-2");
	ck_assert(sd->unpriv);
	ck_assert_str_eq(sd->chroot, "/srv/tern-root_1");
	ck_assert_uint_eq(sd->wakeup, 86400);
	services_free(&s);
}
END_TEST

START_TEST(test_parse_empty)
{
	struct services s;
	struct diags d;

	ck_assert_int_eq(parse("", &s, &d), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_ptr_null(services_find(&s, "smtp"));
	services_free(&s);
	ck_assert_int_eq(parse("# only\n   \n\t# comments\n\n", &s, &d), 0);
	ck_assert_uint_eq(s.n, 0);
	services_free(&s);
}
END_TEST

/* ---- continuation lines and comments ---------------------------------- */

START_TEST(test_continuation)
{
	struct services s;
	struct diags d;
	const struct service_def *sd;

	/* Every column on its own line; no final newline. */
	ck_assert_int_eq(parse("\n# head\nsmtp\n inet\n\t25\n -\n"
	    "# not a column\n -\n 5\n\n 2\n -\n smtpd\n  -v", &s, &d), 0);
	ck_assert_uint_eq(s.n, 1);
	sd = &s.defs[0];
	ck_assert_str_eq(sd->name, "smtp");
	ck_assert_str_eq(sd->port, "25");
	ck_assert_uint_eq(sd->maxproc, 5);
	ck_assert_uint_eq(sd->prefork, 2);
	ck_assert_str_eq(sd->command, "smtpd");
	ck_assert_uint_eq(sd->argc, 1);
	ck_assert_str_eq(sd->argv[0], "-v");
	ck_assert_uint_eq(sd->line, 3);
	services_free(&s);

	/* An error in a continued service names its first line. */
	ck_assert_int_eq(parse("# x\nsmtp inet 25 - -\n  abc - - smtpd\n",
	    &s, &d), 1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.rec[0].line, 2);
	ck_assert_str_eq(d.rec[0].service, "smtp");
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "bad maxproc \"abc\""));
	services_free(&s);

	/* '#' only starts a comment as the first non-blank byte. */
	ck_assert_int_eq(parse("smtp inet 25 - - - - - smtpd #x\n", &s, &d), 0);
	ck_assert_uint_eq(s.defs[0].argc, 1);
	ck_assert_str_eq(s.defs[0].argv[0], "#x");
	services_free(&s);

	/* CRLF line ends are white space. */
	ck_assert_int_eq(parse("smtp inet 25 - - - - - smtpd\r\n"
	    "\r\n", &s, &d), 0);
	ck_assert_str_eq(s.defs[0].command, "smtpd");
	ck_assert_uint_eq(s.defs[0].argc, 0);
	services_free(&s);
}
END_TEST

/* ---- one error at a time ---------------------------------------------- */

struct bad_case {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	int		 errors;
	unsigned	 line;		/* of the first diagnostic */
	const char	*service;	/* NULL: none given */
	const char	*msg;		/* substring of the first diagnostic */
	size_t		 good;		/* services kept */
};

#define OK1	"smtp inet 127.0.0.1:2525 - - - - - smtpd\n"
#define NUL_TEXT "smtp inet 25 - - - - - smtpd\nx\0y inet 26 - - - - - smtpd\n"

static const struct bad_case bad_cases[] = {
	{ "smtp inet 25 - - abc - - smtpd\n", 0, 1, 1, "smtp",
	    "bad maxproc \"abc\": expected 1..10000 or -", 0 },
	{ "smtp inet 25 - - 0 - - smtpd\n", 0, 1, 1, "smtp",
	    "bad maxproc \"0\"", 0 },
	{ "smtp inet 25 - - 10001 - - smtpd\n", 0, 1, 1, "smtp",
	    "bad maxproc \"10001\"", 0 },
	{ "smtp inet 25 - - -1 - - smtpd\n", 0, 1, 1, "smtp",
	    "bad maxproc \"-1\"", 0 },
	{ "smtp inet 25 - - 99999999999999999999 - - smtpd\n", 0, 1, 1,
	    "smtp", "bad maxproc", 0 },
	{ "a inet 25 - - - - - smtpd\nb unix private/b - - - - - x\n\n"
	    "# c\nsmtp inet 26 - - - - - smtpd\n"
	    "a inet 27 - - - - - smtpd\n", 0, 1, 6, "a",
	    "duplicate service name a (first defined on line 1)", 3 },
	{ OK1 "other inet 127.0.0.1:2525 - - - - - smtpd\n", 0, 1, 2,
	    "other", "duplicate listen address 127.0.0.1:2525 (also used by "
	    "smtp)", 1 },
	{ "a inet *:25 - - - - - smtpd\nb inet 25 - - - - - smtpd\n", 0, 1,
	    2, "b", "duplicate listen address 25 (also used by a)", 1 },
	{ "a inet [::1]:25 - - - - - smtpd\n"
	    "b inet [::1]:25 - - - - - smtpd\n", 0, 1, 2, "b",
	    "duplicate listen address [::1]:25 (also used by a)", 1 },
	{ "a unix private/x - - - - - x\nb unix private/x - - - - - x\n", 0,
	    1, 2, "b", "duplicate listen address private/x (also used by a)",
	    1 },
	{ "smtp inet 25 - - 2 5 - smtpd\n", 0, 1, 1, "smtp",
	    "prefork 5 is above maxproc 2", 0 },
	{ "smtp inet 25 - - - x - smtpd\n", 0, 1, 1, "smtp",
	    "bad prefork \"x\"", 0 },
	{ "smtp inet 25 - - - 10001 - smtpd\n", 0, 1, 1, "smtp",
	    "bad prefork \"10001\"", 0 },
	{ "cleanup unix cleanup - - - - - cleanup\n", 0, 1, 1, "cleanup",
	    "unix listen path must start with private/ or public/", 0 },
	{ "cleanup unix /private/cleanup - - - - - cleanup\n", 0, 1, 1,
	    "cleanup", "unix listen path must start with private/ or public/",
	    0 },
	{ "cleanup unix privatex/cleanup - - - - - cleanup\n", 0, 1, 1,
	    "cleanup", "unix listen path must start with private/ or public/",
	    0 },
	{ "cleanup unix private/../x - - - - - cleanup\n", 0, 1, 1,
	    "cleanup", "bad unix listen path \"private/../x\"", 0 },
	{ "cleanup unix private/./x - - - - - cleanup\n", 0, 1, 1,
	    "cleanup", "bad unix listen path", 0 },
	{ "cleanup unix private/ - - - - - cleanup\n", 0, 1, 1, "cleanup",
	    "bad unix listen path", 0 },
	{ "cleanup unix private//x - - - - - cleanup\n", 0, 1, 1, "cleanup",
	    "bad unix listen path", 0 },
	{ "cleanup unix private/a:b - - - - - cleanup\n", 0, 1, 1, "cleanup",
	    "bad unix listen path", 0 },
	{ "cleanup unix private/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - - - - - cleanup\n", 0, 1, 1,
	    "cleanup", "longer than 100 bytes", 0 },
	{ "ctl unix private/control - - - - - master\n", 0, 1, 1, "ctl",
	    "private/control is reserved", 0 },
	{ "control unix private/ctl - - - - - master\n", 0, 1, 1, "control",
	    "service name control is reserved", 0 },
	{ "smtp inet 25 - - - - - /usr/libexec/smtpd\n", 0, 1, 1, "smtp",
	    "command must be a program name in daemon_directory, not a path",
	    0 },
	{ "smtp inet 25 - - - - - ../smtpd\n", 0, 1, 1, "smtp",
	    "not a path", 0 },
	{ "smtp inet 25 - - - - - Smtpd\n", 0, 1, 1, "smtp",
	    "bad command \"Smtpd\"", 0 },
	{ "smtp inet 25 - - - - - ..\n", 0, 1, 1, "smtp", "bad command", 0 },
	{ "smtp inet 25 - - - - - - smtpd\n", 0, 1, 1, "smtp", "bad command",
	    0 },
	{ "smtp inet 25 - - - - - smtpd 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 "
	    "16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33\n", 0, 1, 1,
	    "smtp", "too many arguments", 0 },
	{ "smtp inet 25 - - - - - smtpd -v \x01x\n", 0, 1, 1, "smtp",
	    "argument 2 has a control character", 0 },
	{ "smtp inet 25 - - - - -\n", 0, 1, 1, "smtp",
	    "missing columns: expected name type listen unpriv chroot maxproc "
	    "prefork wakeup command", 0 },
	{ OK1 "SMTP\n", 0, 1, 2, NULL, "missing columns", 1 },
	{ "smtp tcp 25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad type \"tcp\": expected inet or unix", 0 },
	{ "smtp inet 25 yes - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad unpriv \"yes\": expected y, n or -", 0 },
	{ "smtp inet 25 - var/empty - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad chroot \"var/empty\"", 0 },
	{ "smtp inet 25 - /var/../etc - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad chroot", 0 },
	{ "smtp inet 25 - / - - - smtpd\n", 0, 1, 1, "smtp", "bad chroot", 0 },
	{ "smtp inet 25 - - - - 0 smtpd\n", 0, 1, 1, "smtp",
	    "bad wakeup \"0\": expected 1..86400 or -", 0 },
	{ "smtp inet 25 - - - - 86401 smtpd\n", 0, 1, 1, "smtp",
	    "bad wakeup \"86401\"", 0 },
	{ "Smtp inet 25 - - - - - smtpd\n", 0, 1, 1, NULL,
	    "bad service name \"Smtp\"", 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa inet 25 - - - - - smtpd\n", 0,
	    1, 1, NULL, "bad service name", 0 },
	{ "smtp inet 0 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad port \"0\"", 0 },
	{ "smtp inet 65536 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad port \"65536\"", 0 },
	{ "smtp inet 127.0.0.1: - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad port", 0 },
	{ "smtp inet 127.0.0.1:SMTP - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad port", 0 },
	{ "smtp inet :25 - - - - - smtpd\n", 0, 1, 1, "smtp", "bad host", 0 },
	{ "smtp inet 300.1.1.1:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host \"300.1.1.1\"", 0 },
	{ "smtp inet bad_host:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host", 0 },
	/* lib/hostname.h: no "-" at a label's end, no all-digit last one. */
	{ "smtp inet mx-.example:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host", 0 },
	{ "smtp inet mx.example.25:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host", 0 },
	{ "smtp inet 1.2.3:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host", 0 },
	{ "smtp inet ::1:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "in brackets", 0 },
	{ "smtp inet [::1]25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad listen address", 0 },
	{ "smtp inet [1.2.3.4]:25 - - - - - smtpd\n", 0, 1, 1, "smtp",
	    "bad host", 0 },
	{ NUL_TEXT, sizeof(NUL_TEXT) - 1, 1, 2, NULL, "NUL byte", 1 },
	{ "  smtp inet 25 - - - - - smtpd\n", 0, 1, 1, NULL,
	    "continuation line without a service", 0 },
};

START_TEST(test_parse_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct services s;
	struct diags d;
	size_t len;

	memset(&d, 0, sizeof(d));
	len = c->len != 0 ? c->len : strlen(c->text);
	ck_assert_msg(services_parse("bad.conf", c->text, len, &s, collect,
	    &d) == c->errors, "case %d: %zu errors, first: %s", _i, d.total,
	    d.n > 0 ? d.rec[0].msg : "(none)");
	ck_assert_uint_eq(d.total, (size_t)c->errors);
	ck_assert_str_eq(d.rec[0].file, "bad.conf");
	ck_assert_msg(d.rec[0].line == c->line, "case %d: line %u", _i,
	    d.rec[0].line);
	ck_assert_msg(strstr(d.rec[0].msg, c->msg) != NULL,
	    "case %d: \"%s\" lacks \"%s\"", _i, d.rec[0].msg, c->msg);
	if (c->service == NULL)
		ck_assert(!d.rec[0].has_service);
	else
		ck_assert_str_eq(d.rec[0].service, c->service);
	ck_assert_uint_eq(s.n, c->good);
	services_free(&s);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

START_TEST(test_line_too_long)
{
	struct services s;
	struct diags d;
	char *text;
	size_t n, pad;
	int r;

	/* "smtp inet 25 - - - - - smtpd " plus args to exactly the limit. */
	text = malloc(2 * SERVICES_LINE_MAX);
	ck_assert_ptr_nonnull(text);
	n = (size_t)snprintf(text, 64, "smtp inet 25 - - - - - smtpd ");
	pad = SERVICES_LINE_MAX - n;
	memset(text + n, 'a', pad);	/* one argument, too long */
	text[SERVICES_LINE_MAX] = '\n';
	memset(&d, 0, sizeof(d));
	r = services_parse("f", text, SERVICES_LINE_MAX + 1, &s, collect, &d);
	ck_assert_int_eq(r, 1);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg,
	    "argument 1 is longer than 1024 bytes"));
	services_free(&s);

	/* One byte more: the line itself is too long. */
	text[SERVICES_LINE_MAX] = 'a';
	text[SERVICES_LINE_MAX + 1] = '\n';
	memcpy(text + SERVICES_LINE_MAX + 2, OK1, strlen(OK1));
	memset(&d, 0, sizeof(d));
	r = services_parse("f", text, SERVICES_LINE_MAX + 2 + strlen(OK1), &s,
	    collect, &d);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(d.rec[0].line, 1);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "line is longer than 4096"));
	ck_assert_uint_eq(s.n, 1);		/* the next line is fine */
	services_free(&s);

	/* Continuation lines count toward the limit too. */
	n = (size_t)snprintf(text, 64, "smtp inet 25 - - - - - smtpd\n");
	while (n < SERVICES_LINE_MAX + 100) {
		memcpy(text + n, " -v\n", 4);
		n += 4;
	}
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_parse("f", text, n, &s, collect, &d), 1);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "line is longer"));
	services_free(&s);
	free(text);
}
END_TEST

START_TEST(test_too_many_services)
{
	struct services s;
	struct diags d;
	char *text, *p;
	size_t i;

	text = malloc((SERVICES_MAX + 2) * 64);
	ck_assert_ptr_nonnull(text);
	p = text;
	for (i = 0; i < SERVICES_MAX + 2; i++)
		p += sprintf(p, "s%zu unix private/s%zu - - - - - x\n", i, i);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_parse("f", text, (size_t)(p - text), &s,
	    collect, &d), 1);
	ck_assert_uint_eq(d.total, 1);
	ck_assert_uint_eq(d.rec[0].line, SERVICES_MAX + 1);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "too many services"));
	ck_assert_uint_eq(s.n, SERVICES_MAX);
	ck_assert_str_eq(s.defs[SERVICES_MAX - 1].name, "s255");
	ck_assert_ptr_nonnull(services_find(&s, "s0"));
	ck_assert_ptr_null(services_find(&s, "s256"));
	services_free(&s);
	free(text);
}
END_TEST

START_TEST(test_max_args)
{
	struct services s;
	struct diags d;
	char text[512];
	size_t i;
	int n;

	n = snprintf(text, sizeof(text), "smtp inet 25 - - - - - smtpd");
	for (i = 0; i < SERVICES_ARGS_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, " a%zu", i);
	ck_assert_int_eq(parse(text, &s, &d), 0);
	ck_assert_uint_eq(s.defs[0].argc, SERVICES_ARGS_MAX);
	ck_assert_str_eq(s.defs[0].argv[SERVICES_ARGS_MAX - 1], "a31");
	ck_assert_ptr_null(s.defs[0].argv[SERVICES_ARGS_MAX]);
	services_free(&s);
}
END_TEST

START_TEST(test_file_too_large)
{
	struct services s;
	struct diags d;
	char *text;

	text = calloc(1, SERVICES_FILE_MAX + 1);
	ck_assert_ptr_nonnull(text);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_parse("f", text, SERVICES_FILE_MAX + 1, &s,
	    collect, &d), 1);
	ck_assert_uint_eq(d.rec[0].line, 0);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "larger than"));
	ck_assert_uint_eq(s.n, 0);
	services_free(&s);
	free(text);
}
END_TEST

/* ---- every error reported --------------------------------------------- */

START_TEST(test_many_errors)
{
	struct services s;
	struct diags d;
	int r;

	r = parse(
	    "smtp inet 25 - - - - - smtpd\n"			/* 1 ok */
	    "bad1 inet 25 - - - - - smtpd\n"			/* 2 dup */
	    "bad2 tcp 26 maybe - - - - smtpd\n"			/* 3 two */
	    "# comment\n"					/* 4 */
	    "bad3 unix cleanup - - 2 3 - /bin/sh\n"		/* 5 three */
	    "pickup unix public/pickup - - - - 60 pickup\n"	/* 6 ok */
	    "bad4 inet 27 - - -\n"				/* 7 one */
	    "smtp inet 28 - - - - - smtpd\n",			/* 8 dup */
	    &s, &d);
	ck_assert_int_eq(r, 8);
	ck_assert_uint_eq(d.total, 8);
	ck_assert_uint_eq(d.rec[0].line, 2);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "duplicate listen"));
	ck_assert_uint_eq(d.rec[1].line, 3);
	ck_assert_ptr_nonnull(strstr(d.rec[1].msg, "bad type"));
	ck_assert_uint_eq(d.rec[2].line, 3);
	ck_assert_ptr_nonnull(strstr(d.rec[2].msg, "bad unpriv"));
	ck_assert_uint_eq(d.rec[3].line, 5);
	ck_assert_ptr_nonnull(strstr(d.rec[3].msg, "unix listen path"));
	ck_assert_uint_eq(d.rec[4].line, 5);
	ck_assert_ptr_nonnull(strstr(d.rec[4].msg, "prefork 3 is above"));
	ck_assert_uint_eq(d.rec[5].line, 5);
	ck_assert_ptr_nonnull(strstr(d.rec[5].msg, "not a path"));
	ck_assert_str_eq(d.rec[5].service, "bad3");
	ck_assert_uint_eq(d.rec[6].line, 7);
	ck_assert_ptr_nonnull(strstr(d.rec[6].msg, "missing columns"));
	ck_assert_uint_eq(d.rec[7].line, 8);
	ck_assert_ptr_nonnull(strstr(d.rec[7].msg,
	    "duplicate service name smtp (first defined on line 1)"));
	/* Only the good lines are kept. */
	ck_assert_uint_eq(s.n, 2);
	ck_assert_ptr_nonnull(services_find(&s, "smtp"));
	ck_assert_ptr_nonnull(services_find(&s, "pickup"));
	ck_assert_ptr_null(services_find(&s, "bad1"));
	services_free(&s);
}
END_TEST

START_TEST(test_no_diag)
{
	struct services s;

	const char *text = "x y\nsmtp inet 25 - - - - - smtpd\n";

	ck_assert_int_eq(services_parse(NULL, text, strlen(text), &s, NULL,
	    NULL), 1);
	ck_assert_uint_eq(s.n, 1);
	services_free(&s);
	ck_assert_int_eq(services_parse("x", NULL, 0, &s, NULL, NULL), 0);
	ck_assert_uint_eq(s.n, 0);
	services_free(&s);
}
END_TEST

/* ---- services_find ---------------------------------------------------- */

START_TEST(test_find)
{
	struct services s;
	struct diags d;

	ck_assert_int_eq(parse("a unix private/a - - - - - a\n"
	    "b unix private/b - - - - - b\n", &s, &d), 0);
	ck_assert_ptr_eq(services_find(&s, "a"), &s.defs[0]);
	ck_assert_ptr_eq(services_find(&s, "b"), &s.defs[1]);
	ck_assert_ptr_null(services_find(&s, "c"));
	ck_assert_ptr_null(services_find(&s, ""));
	ck_assert_ptr_null(services_find(&s, "a "));
	ck_assert_ptr_null(services_find(&s, NULL));
	services_free(&s);
	ck_assert_ptr_null(services_find(&s, "a"));
}
END_TEST

/* ---- services_load ---------------------------------------------------- */

static char tmpdir[256];

static void
tmp_setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_services.XXXXXX",
	    t != NULL ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmp_teardown(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/services.conf", tmpdir);
	(void)unlink(path);
	(void)rmdir(tmpdir);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *fp;

	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_load)
{
	struct services s;
	struct diags d;
	char path[512];

	snprintf(path, sizeof(path), "%s/services.conf", tmpdir);
	write_file(path, valid_conf, strlen(valid_conf));
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(path, &s, collect, &d), 0);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_str_eq(services_find(&s, "v6")->host, "::1");
	services_free(&s);

	write_file(path, "smtp inet 25 - - x - - smtpd\n", 29);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(path, &s, collect, &d), 1);
	ck_assert_str_eq(d.rec[0].file, path);
	ck_assert_uint_eq(d.rec[0].line, 1);
	services_free(&s);
}
END_TEST

START_TEST(test_load_missing)
{
	struct services s;
	struct diags d;
	char path[512];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(path, &s, collect, &d), -1);
	ck_assert_uint_eq(d.total, 1);
	ck_assert_uint_eq(d.rec[0].line, 0);
	ck_assert_str_eq(d.rec[0].file, path);
	ck_assert(!d.rec[0].has_service);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, strerror(ENOENT)));
	ck_assert_uint_eq(s.n, 0);
	ck_assert_ptr_null(s.defs);
	services_free(&s);

	/* A directory cannot be read as a file. */
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(tmpdir, &s, collect, &d), -1);
	ck_assert_uint_eq(d.rec[0].line, 0);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "cannot read"));
}
END_TEST

START_TEST(test_load_too_large)
{
	struct services s;
	struct diags d;
	char path[512], *text;

	snprintf(path, sizeof(path), "%s/services.conf", tmpdir);
	text = malloc(SERVICES_FILE_MAX + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, '#', SERVICES_FILE_MAX + 1);
	write_file(path, text, SERVICES_FILE_MAX + 1);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(path, &s, collect, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.rec[0].msg, "larger than 262144"));
	/* Exactly the cap is fine. */
	write_file(path, text, SERVICES_FILE_MAX);
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(services_load(path, &s, collect, &d), 0);
	services_free(&s);
	free(text);
}
END_TEST

static Suite *
services_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("services");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_public_wakeup);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_continuation);
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_no_diag);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_too_many_services);
	tcase_add_test(tc, test_max_args);
	tcase_add_test(tc, test_file_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("find");
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_too_large);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(services_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
