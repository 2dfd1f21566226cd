/*
 * SPDX-License-Identifier: ISC
 *
 * check_conf.c -- unit tests for lib/conf.c and the table in
 * lib/conf_params.c.
 *
 * Process:  test runner only.
 * Input:    literal tern.conf texts and values; temporary files in $TMPDIR.
 * Failure:  a failed check fails the test; bug() paths expect SIGABRT.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"

#define DIAGS_MAX	64
#define FILE_NAME	"/etc/tern/tern.conf"

struct diag {
	enum conf_sev	 sev;
	bool		 has_file, has_param;
	char		 file[256];
	unsigned	 line;
	char		 param[128];
	char		 msg[1024];
};

static struct diag diags[DIAGS_MAX];
static size_t ndiags;		/* all of them, even past DIAGS_MAX */
static char last_error[1024];	/* even past DIAGS_MAX */
static struct conf *conf;

static void
collect(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	struct diag *d;

	ck_assert_ptr_eq(arg, &ndiags);
	ck_assert_ptr_nonnull(msg);
	if (sev == CONF_ERROR)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	if (ndiags++ >= DIAGS_MAX)
		return;
	d = &diags[ndiags - 1];
	memset(d, 0, sizeof(*d));
	d->sev = sev;
	d->line = line;
	if ((d->has_file = file != NULL))
		snprintf(d->file, sizeof(d->file), "%s", file);
	if ((d->has_param = param != NULL))
		snprintf(d->param, sizeof(d->param), "%s", param);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static void
setup(void)
{
	ndiags = 0;
	last_error[0] = '\0';
	conf = conf_new(collect, &ndiags);
}

static void
teardown(void)
{
	conf_free(&conf);
	ck_assert_ptr_null(conf);
}

static int
parse(const char *text)
{
	return conf_parse(conf, FILE_NAME, text, strlen(text));
}

/* Parse text and finish; returns the errors of both. */
static int
load(const char *text)
{
	int n;

	n = parse(text);
	return n + conf_finish(conf);
}

/* The first diagnostic whose message contains needle, or NULL. */
static const struct diag *
find(const char *needle)
{
	size_t i;

	for (i = 0; i < ndiags && i < DIAGS_MAX; i++)
		if (strstr(diags[i].msg, needle) != NULL)
			return &diags[i];
	return NULL;
}

static size_t
count(enum conf_sev sev)
{
	size_t i, n = 0;

	for (i = 0; i < ndiags && i < DIAGS_MAX; i++)
		n += diags[i].sev == sev;
	return n;
}

/* A diagnostic containing needle, with this severity, line and param. */
static void
expect(const char *needle, enum conf_sev sev, unsigned line,
    const char *param)
{
	const struct diag *d;

	d = find(needle);
	ck_assert_msg(d != NULL, "no diagnostic with \"%s\" (%zu, first: %s)",
	    needle, ndiags, ndiags > 0 ? diags[0].msg : "-");
	ck_assert_int_eq(d->sev, sev);
	ck_assert_uint_eq(d->line, line);
	if (param == NULL)
		ck_assert(!d->has_param);
	else {
		ck_assert(d->has_param);
		ck_assert_str_eq(d->param, param);
	}
}

static size_t
nparams(void)
{
	size_t n;

	for (n = 0; conf_params[n].name != NULL; n++)
		;
	return n;
}

/*
 * Syntax.
 */

START_TEST(test_basic)
{
	ck_assert_int_eq(load("mail_name = Hello World\n"), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Hello World");
	ck_assert_uint_eq(ndiags, 0);
}
END_TEST

START_TEST(test_no_final_newline)
{
	ck_assert_int_eq(load("mail_owner = a\nmail_name = B"), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "B");
	ck_assert_str_eq(conf_str(conf, "mail_owner"), "a");
}
END_TEST

START_TEST(test_empty_input)
{
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, NULL, 0), 0);
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, "", 0), 0);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
}
END_TEST

START_TEST(test_comments)
{
	ck_assert_int_eq(load("# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    " \t \n"
	    "mail_name = A # not a comment\n"
	    "#mail_owner = x\n"), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "A # not a comment");
	ck_assert_str_eq(conf_str(conf, "mail_owner"), "tern");
	ck_assert(conf_is_default(conf, "mail_owner"));
	ck_assert_uint_eq(ndiags, 0);
}
END_TEST

START_TEST(test_continuation)
{
	ck_assert_int_eq(load("smtpd_banner = one\n"
	    "  two\n"
	    "\tthree   \n"
	    "# a comment does not end it\n"
	    "\n"
	    "    four\n"
	    "mail_name = x\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"),
	    "one two three four");
	ck_assert_str_eq(conf_str(conf, "mail_name"), "x");
}
END_TEST

START_TEST(test_continuation_first)
{
	ck_assert_int_eq(parse("\n  mail_name = x\n   more\nmail_owner = a\n"),
	    1);
	expect("continuation", CONF_ERROR, 2, NULL);
	ck_assert_uint_eq(ndiags, 1);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
	ck_assert_str_eq(conf_str(conf, "mail_owner"), "a");
}
END_TEST

static const char *const spacing[] = {
	"mail_name=X",
	"mail_name =X",
	"mail_name= X",
	"mail_name = X",
	"mail_name \t=\t X \t",
	"mail_name = X\r",
	"mail_name = X\r\n",
	"mail_name\t=\tX\n\n",
};

START_TEST(test_spacing)
{
	ck_assert_int_eq(load(spacing[_i]), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "X");
	ck_assert_uint_eq(ndiags, 0);
}
END_TEST

START_TEST(test_value_specials)
{
	ck_assert_int_eq(load("smtpd_banner = a = b, c\n"
	    "maillog_file =\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"), "a = b, c");
	ck_assert_str_eq(conf_str(conf, "maillog_file"), "");
	ck_assert(!conf_is_default(conf, "maillog_file"));
}
END_TEST

START_TEST(test_missing_equals)
{
	ck_assert_int_eq(parse("mail_name = a\n\nmail_owner tern\n"), 1);
	expect("missing \"=\" after \"mail_owner\"", CONF_ERROR, 3, NULL);
	ck_assert(diags[0].has_file);
	ck_assert_str_eq(diags[0].file, FILE_NAME);
	ck_assert_int_eq(parse("justaword\n"), 1);
	expect("\"justaword\"", CONF_ERROR, 1, NULL);
}
END_TEST

START_TEST(test_empty_name)
{
	ck_assert_int_eq(parse("# x\n= value\n"), 1);
	expect("empty parameter name", CONF_ERROR, 2, NULL);
}
END_TEST

START_TEST(test_bad_name)
{
	ck_assert_int_eq(parse("my-name = x\n"), 1);
	expect("bad character in parameter name", CONF_ERROR, 1, NULL);
}
END_TEST

START_TEST(test_name_length)
{
	char text[CONF_NAME_MAX + 16];

	memset(text, 'a', CONF_NAME_MAX);
	strlcpy(text + CONF_NAME_MAX, "=1\n", sizeof(text) - CONF_NAME_MAX);
	ck_assert_int_eq(parse(text), 0);	/* unknown: a warning */
	ck_assert_uint_eq(count(CONF_ERROR), 0);
	ck_assert_uint_eq(count(CONF_WARNING), 1);
	memset(text, 'a', CONF_NAME_MAX + 1);
	strlcpy(text + CONF_NAME_MAX + 1, "=1\n",
	    sizeof(text) - CONF_NAME_MAX - 1);
	ck_assert_int_eq(parse(text), 1);
	expect("parameter name too long", CONF_ERROR, 1, NULL);
}
END_TEST

START_TEST(test_line_too_long)
{
	size_t len = CONF_LINE_MAX + 100;
	char *text;

	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', len);
	memcpy(text, "\nsmtpd_banner = ", 16);
	/* Continuation lines count: break it up. */
	memcpy(text + 1000, "\n  ", 3);
	memcpy(text + len - 20, "\nmail_name = ok\n", 16);
	text[len - 4] = '\0';
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, strlen(text)), 1);
	expect("line too long", CONF_ERROR, 2, NULL);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert(conf_is_default(conf, "smtpd_banner"));
	ck_assert_str_eq(conf_str(conf, "mail_name"), "ok");
	free(text);
}
END_TEST

START_TEST(test_value_too_long)
{
	size_t len = CONF_VALUE_MAX / 2 + 10;
	char *text;

	/* Short enough for a line, too long after expansion. */
	text = malloc(len + 64);
	ck_assert_ptr_nonnull(text);
	memcpy(text, "big = ", 6);
	memset(text + 6, 'x', len);
	strlcpy(text + 6 + len, "\nsmtpd_banner = $big$big\n", 64);
	ck_assert_int_eq(parse(text), 0);
	ck_assert_int_eq(conf_finish(conf), 1);
	expect("too long after expansion", CONF_ERROR, 2, "smtpd_banner");
	/* Replaced by its default. */
	ck_assert_ptr_nonnull(strstr(conf_str(conf, "smtpd_banner"),
	    " ESMTP Tern"));
	ck_assert_uint_eq(strlen(conf_get(conf, "big")), len);
	free(text);
}
END_TEST

START_TEST(test_file_too_long)
{
	size_t len = CONF_FILE_MAX + 1;
	char *text;

	text = malloc(len);
	ck_assert_ptr_nonnull(text);
	memset(text, '\n', len);
	memcpy(text, "mail_name = x\n", 14);
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, len), 1);
	expect("too large", CONF_ERROR, 0, NULL);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
	/* Exactly the maximum is fine. */
	ndiags = 0;
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, len - 1), 0);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "x");
	free(text);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "mail_name = a\0b\n  more\nmail_owner = x\n";

	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, sizeof(text) - 1),
	    1);
	expect("NUL", CONF_ERROR, 1, NULL);
	ck_assert_uint_eq(ndiags, 1);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert(conf_is_default(conf, "mail_name"));
	ck_assert_str_eq(conf_str(conf, "mail_owner"), "x");
}
END_TEST

START_TEST(test_nul_continuation)
{
	static const char text[] = "mail_name = a\n \0\nmail_owner = x\n";

	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, sizeof(text) - 1),
	    1);
	expect("NUL", CONF_ERROR, 2, NULL);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert(conf_is_default(conf, "mail_name"));
	ck_assert_str_eq(conf_str(conf, "mail_owner"), "x");
}
END_TEST

START_TEST(test_duplicate)
{
	ck_assert_int_eq(load("mail_name = a\nmail_owner = u\nmail_name = b\n"),
	    0);
	expect("duplicate definition of mail_name", CONF_WARNING, 3,
	    "mail_name");
	ck_assert_ptr_nonnull(find("line 1"));
	ck_assert_str_eq(conf_str(conf, "mail_name"), "b");
}
END_TEST

START_TEST(test_duplicate_other_file)
{
	static const char text[] = "mail_name = a\n";

	ck_assert_int_eq(conf_parse(conf, "/a.conf", text, strlen(text)), 0);
	ck_assert_int_eq(conf_parse(conf, "/b.conf", text, strlen(text)), 0);
	ck_assert_ptr_nonnull(find("in /a.conf, line 1"));
	ck_assert_str_eq(diags[0].file, "/b.conf");
}
END_TEST

START_TEST(test_unknown)
{
	ck_assert_int_eq(parse("\nmyhostnam = mx.example.org\n"), 0);
	expect("unknown parameter myhostnam (did you mean myhostname?)",
	    CONF_WARNING, 2, "myhostnam");
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_get(conf, "myhostnam"), "mx.example.org");
	ck_assert(!conf_is_default(conf, "myhostnam"));
}
END_TEST

START_TEST(test_unknown_far)
{
	ck_assert_int_eq(parse("frobnication_level = 3\n"), 0);
	expect("unknown parameter frobnication_level", CONF_WARNING, 1,
	    "frobnication_level");
	ck_assert_ptr_null(find("did you mean"));
	/* A second definition is a duplicate, not unknown again. */
	ck_assert_int_eq(parse("frobnication_level = 4\n"), 0);
	ck_assert_uint_eq(ndiags, 2);
	ck_assert_ptr_nonnull(find("duplicate"));
}
END_TEST

START_TEST(test_diag_fields)
{
	ck_assert_int_eq(parse("# tern.conf\n\nmax_idle = 5x\n"), 0);
	ck_assert_int_eq(conf_finish(conf), 1);
	ck_assert_uint_eq(ndiags, 1);
	ck_assert_int_eq(diags[0].sev, CONF_ERROR);
	ck_assert(diags[0].has_file);
	ck_assert_str_eq(diags[0].file, FILE_NAME);
	ck_assert_uint_eq(diags[0].line, 3);
	ck_assert(diags[0].has_param);
	ck_assert_str_eq(diags[0].param, "max_idle");
	ck_assert_str_eq(diags[0].msg,
	    "bad time value \"5x\" for max_idle: bad unit");
}
END_TEST

START_TEST(test_error_count)
{
	ck_assert_int_eq(parse("a\nb\n= c\nmail_name = ok\nd e\n"), 4);
	ck_assert_uint_eq(count(CONF_ERROR), 4);
}
END_TEST

START_TEST(test_nameless_file)
{
	static const char text[] = "mail_name\n";

	ck_assert_int_eq(conf_parse(conf, NULL, text, strlen(text)), 1);
	ck_assert(!diags[0].has_file);
	ck_assert_uint_eq(diags[0].line, 1);
}
END_TEST

START_TEST(test_no_diag)
{
	static const char text[] = "a\nmyhostnam = x\nmax_idle = q\n";
	struct conf *c;

	c = conf_new(NULL, NULL);
	ck_assert_int_eq(conf_parse(c, FILE_NAME, text, strlen(text)), 1);
	ck_assert_int_eq(conf_finish(c), 1);
	ck_assert_int_eq(conf_time(c, "max_idle"), 100);
	conf_free(&c);
	ck_assert_ptr_null(c);
	conf_free(&c);
}
END_TEST

/*
 * Expansion.
 */

START_TEST(test_expand_simple)
{
	ck_assert_int_eq(load("mail_name = X\n"
	    "smtpd_banner = [$mail_name] [${mail_name}] ${mail_name}y\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"), "[X] [X] Xy");
	ck_assert_uint_eq(ndiags, 0);
}
END_TEST

START_TEST(test_expand_bare_name_ends)
{
	/* A bare name takes every name character: $mail_namey is unknown. */
	ck_assert_int_eq(load("mail_name = X\nsmtpd_banner = $mail_name.y "
	    "$mail_name-z\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"), "X.y X-z");
}
END_TEST

START_TEST(test_expand_nested)
{
	ck_assert_int_eq(load("smtpd_banner = <$a1>\n"
	    "a1 = 1$a2\n"
	    "a2 = 2${a3}\n"
	    "a3 = 3\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"), "<123>");
	ck_assert_str_eq(conf_get(conf, "a1"), "123");
	ck_assert_uint_eq(count(CONF_ERROR), 0);
}
END_TEST

START_TEST(test_expand_default_uses_file)
{
	const char *const *w;
	size_t n;

	ck_assert_int_eq(load("smtpd_timeout = 10m\n"
	    "myhostname = mx.example.org\n"
	    "mydomain = example.org\n"
	    "mail_name = Foo\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"),
	    "mx.example.org ESMTP Foo");
	ck_assert_str_eq(conf_str(conf, "myorigin"), "mx.example.org");
	w = conf_list(conf, "mydestination", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(w[0], "mx.example.org");
	ck_assert_str_eq(w[1], "localhost.example.org");
	ck_assert_str_eq(w[2], "localhost");
	ck_assert_ptr_null(w[3]);
	ck_assert(conf_is_default(conf, "smtpd_banner"));
	ck_assert_int_eq(conf_time(conf, "smtpd_timeout"), 600);
}
END_TEST

START_TEST(test_expand_undefined)
{
	ck_assert_int_eq(load("mail_name = a${nosuch}b$nosuch2\n"), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "ab");
	expect("undefined parameter $nosuch ", CONF_WARNING, 1, "mail_name");
	expect("undefined parameter $nosuch2", CONF_WARNING, 1, "mail_name");
}
END_TEST

START_TEST(test_expand_dollar)
{
	ck_assert_int_eq(load("smtpd_banner = cost $$5 $$$$ $$mail_name "
	    "$$$mail_name\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner"),
	    "cost $5 $$ $mail_name $Tern");
	ck_assert_uint_eq(ndiags, 0);
}
END_TEST

static const char *const bad_refs[] = {
	"mail_name = a$",
	"mail_name = a$ b",
	"mail_name = a$-",
	"mail_name = ${}",
	"mail_name = ${-}",
	"mail_name = ${mail_owner",
	"mail_name = ${mail_owner x}",
	("mail_name = $aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaa"),
};

START_TEST(test_expand_bad)
{
	ck_assert_int_eq(load(bad_refs[_i]), 1);
	ck_assert_uint_eq(count(CONF_ERROR), 1);
	ck_assert_ptr_nonnull(find("bad value of mail_name"));
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
}
END_TEST

START_TEST(test_loop)
{
	ck_assert_int_eq(parse("a = $b\nb = x$a\n"), 0);
	ck_assert_int_eq(conf_finish(conf), 1);
	expect("expansion loop: a -> b -> a", CONF_ERROR, 1, "a");
	ck_assert_str_eq(conf_get(conf, "a"), "");
	ck_assert_str_eq(conf_get(conf, "b"), "x");
}
END_TEST

START_TEST(test_loop_self)
{
	ck_assert_int_eq(load("mail_owner = u\nmail_name = x$mail_name\n"), 1);
	expect("expansion loop: mail_name -> mail_name", CONF_ERROR, 2,
	    "mail_name");
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
}
END_TEST

START_TEST(test_loop_long)
{
	ck_assert_int_eq(load("a = $b\nb = $c\nc = $d\nd = $a\n"
	    "mail_name = <$c>\n"), 1);
	/* mail_name comes first in the table: the loop is met at c. */
	expect("expansion loop: c -> d -> a -> b -> c", CONF_ERROR, 3, "c");
	ck_assert_str_eq(conf_str(conf, "mail_name"), "<>");
}
END_TEST

START_TEST(test_loop_through_default)
{
	/* smtpd_banner's default refers to mail_name: blame the file. */
	ck_assert_int_eq(load("\nmail_name = <$smtpd_banner>\n"), 1);
	ck_assert_uint_eq(count(CONF_ERROR), 1);
	expect("expansion loop", CONF_ERROR, 2, "mail_name");
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Tern");
	ck_assert_ptr_nonnull(strstr(conf_str(conf, "smtpd_banner"),
	    " ESMTP Tern"));
}
END_TEST

START_TEST(test_loop_hostname)
{
	ck_assert_int_eq(load("myhostname = $myorigin\n"), 1);
	ck_assert_uint_eq(count(CONF_ERROR), 1);
	expect("expansion loop: myhostname -> myorigin -> myhostname",
	    CONF_ERROR, 1, "myhostname");
	ck_assert_str_eq(conf_str(conf, "myorigin"),
	    conf_str(conf, "myhostname"));
}
END_TEST

/* A chain of n nested references, defined top-down or bottom-up. */
static int
chain(size_t n, bool reverse)
{
	char line[64], *text;
	size_t i, k, len = 0;

	text = calloc(n + 1, sizeof(line));
	ck_assert_ptr_nonnull(text);
	for (k = 0; k <= n; k++) {
		i = reverse ? n - k : k;
		if (i == n)
			snprintf(line, sizeof(line), "c%zu = end\n", i);
		else
			snprintf(line, sizeof(line), "c%zu = $c%zu\n", i,
			    i + 1);
		memcpy(text + len, line, strlen(line));
		len += strlen(line);
	}
	k = (size_t)conf_parse(conf, FILE_NAME, text, len);
	free(text);
	return (int)k + conf_finish(conf);
}

static const struct {
	size_t	 n;
	bool	 reverse;
	int	 errors;
} chains[] = {
	{ 1, false, 0 },
	{ CONF_EXPAND_DEPTH, false, 0 },
	{ CONF_EXPAND_DEPTH, true, 0 },
	{ CONF_EXPAND_DEPTH + 1, false, 1 },
	{ CONF_EXPAND_DEPTH + 1, true, 1 },
	{ CONF_EXPAND_DEPTH + 10, false, 1 },
};

START_TEST(test_depth)
{
	ck_assert_int_eq(chain(chains[_i].n, chains[_i].reverse),
	    chains[_i].errors);
	if (chains[_i].errors == 0)
		ck_assert_str_eq(conf_get(conf, "c0"), "end");
	else
		ck_assert_ptr_nonnull(find("nested"));
}
END_TEST

START_TEST(test_expand_total)
{
	size_t len = CONF_VALUE_MAX - 100, i, n, sz;
	char *text;

	/* Twice the internal limit of 16 MB. */
	n = 2 * (size_t)(16 * 1024 * 1024) / len;
	sz = len + 32 + n * 32;
	text = malloc(sz);
	ck_assert_ptr_nonnull(text);
	memcpy(text, "big = ", 6);
	memset(text + 6, 'x', len);
	len += 6;
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sz - len, "\nb%zu = $big",
		    i);
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, text, len), 0);
	ck_assert_int_eq(conf_finish(conf), 1);
	ck_assert_ptr_nonnull(strstr(last_error, "together"));
	ck_assert_str_eq(conf_get(conf, "b0"), conf_get(conf, "big"));
	ck_assert_str_eq(conf_get(conf, "b299"), "");
	free(text);
}
END_TEST

START_TEST(test_replaced_by_default)
{
	ck_assert_int_eq(load("max_idle = 5x\n"
	    "myhostname = bad..name\n"
	    "mail_name = M\n"
	    "default_process_limit = 0\n"), 3);
	ck_assert_int_eq(conf_time(conf, "max_idle"), 100);
	ck_assert_int_eq(conf_int(conf, "default_process_limit"), 100);
	ck_assert_str_ne(conf_str(conf, "myhostname"), "bad..name");
	ck_assert_str_eq(conf_str(conf, "myorigin"),
	    conf_str(conf, "myhostname"));
	ck_assert_ptr_nonnull(strstr(conf_str(conf, "smtpd_banner"),
	    " ESMTP M"));
	ck_assert_ptr_null(strstr(conf_str(conf, "smtpd_banner"), "bad"));
	/* Still set by the file: the value was replaced, not unset. */
	ck_assert(!conf_is_default(conf, "max_idle"));
}
END_TEST

START_TEST(test_expand_in_number)
{
	ck_assert_int_eq(load("n = 25\nunit = m\nmax_idle = $n$unit\n"
	    "max_use = ${n}0\n"), 0);
	ck_assert_int_eq(conf_time(conf, "max_idle"), 1500);
	ck_assert_int_eq(conf_int(conf, "max_use"), 250);
}
END_TEST

/*
 * Value parsers.
 */

static const struct {
	const char	*s;
	int		 r;
	bool		 v;
} bools[] = {
	{ "yes", 0, true }, { "YES", 0, true }, { "no", 0, false },
	{ "No", 0, false }, { "true", 0, true }, { "FALSE", 0, false },
	{ "on", 0, true }, { "off", 0, false }, { "1", 0, true },
	{ "0", 0, false }, { "", -1, false }, { "y", -1, false },
	{ "yess", -1, false }, { "2", -1, false }, { " yes", -1, false },
	{ "yes ", -1, false },
};

START_TEST(test_bool)
{
	const char *err = NULL;
	bool v = !bools[_i].v;

	ck_assert_int_eq(conf_parse_bool(bools[_i].s, &v, &err), bools[_i].r);
	if (bools[_i].r == 0)
		ck_assert(v == bools[_i].v);
	else
		ck_assert_ptr_nonnull(err);
}
END_TEST

struct num_case {
	const char	*s;
	int		 r;
	int64_t		 v;
};

static const struct num_case ints[] = {
	{ "0", 0, 0 }, { "42", 0, 42 }, { "-42", 0, -42 }, { "007", 0, 7 },
	{ "9223372036854775807", 0, INT64_MAX },
	{ "-9223372036854775808", 0, INT64_MIN },
	{ "9223372036854775808", -1, 0 },
	{ "-9223372036854775809", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "", -1, 0 }, { "-", -1, 0 }, { "+1", -1, 0 }, { "12x", -1, 0 },
	{ "1 ", -1, 0 }, { " 1", -1, 0 }, { "0x10", -1, 0 }, { "1k", -1, 0 },
	{ "--1", -1, 0 },
};

START_TEST(test_int)
{
	const char *err = NULL;
	int64_t v = 12345;

	ck_assert_int_eq(conf_parse_int(ints[_i].s, &v, &err), ints[_i].r);
	if (ints[_i].r == 0)
		ck_assert_int_eq(v, ints[_i].v);
	else
		ck_assert_ptr_nonnull(err);
}
END_TEST

static const struct num_case times[] = {
	{ "0", 0, 0 }, { "10", 0, 10 }, { "10s", 0, 10 }, { "10S", 0, 10 },
	{ "2m", 0, 120 }, { "5M", 0, 300 }, { "3h", 0, 3 * 3600 },
	{ "1d", 0, 86400 }, { "2w", 0, 2 * 7 * 86400 },
	{ "9223372036854775807", 0, INT64_MAX },
	{ "9223372036854775807s", 0, INT64_MAX },
	{ "153722867280912930m", 0, 153722867280912930LL * 60 },
	{ "153722867280912931m", -1, 0 },
	{ "9223372036854775807w", -1, 0 },
	{ "9223372036854775808", -1, 0 },
	{ "-1", -1, 0 }, { "-1s", -1, 0 }, { "", -1, 0 }, { "s", -1, 0 },
	{ "1x", -1, 0 }, { "1ss", -1, 0 }, { "1 s", -1, 0 }, { "1k", -1, 0 },
	{ "+1", -1, 0 }, { "1.5h", -1, 0 },
};

START_TEST(test_time)
{
	const char *err = NULL;
	int64_t v = 12345;

	ck_assert_int_eq(conf_parse_time(times[_i].s, &v, &err),
	    times[_i].r);
	if (times[_i].r == 0)
		ck_assert_int_eq(v, times[_i].v);
	else
		ck_assert_ptr_nonnull(err);
}
END_TEST

static const struct num_case sizes[] = {
	{ "0", 0, 0 }, { "1024", 0, 1024 }, { "1k", 0, 1024 },
	{ "1K", 0, 1024 }, { "2m", 0, 2 * 1024 * 1024 },
	{ "3G", 0, 3LL * 1024 * 1024 * 1024 },
	{ "8589934591g", 0, 8589934591LL * 1024 * 1024 * 1024 },
	{ "8589934592g", -1, 0 },
	{ "9007199254740992k", -1, 0 },
	{ "-1", -1, 0 }, { "", -1, 0 }, { "k", -1, 0 }, { "1t", -1, 0 },
	{ "1kb", -1, 0 }, { "1s", -1, 0 }, { "10 m", -1, 0 },
};

START_TEST(test_size)
{
	const char *err = NULL;
	int64_t v = 12345;

	ck_assert_int_eq(conf_parse_size(sizes[_i].s, &v, &err),
	    sizes[_i].r);
	if (sizes[_i].r == 0)
		ck_assert_int_eq(v, sizes[_i].v);
	else
		ck_assert_ptr_nonnull(err);
}
END_TEST

#define LABEL61	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghija"
#define LABEL63	LABEL61 "bc"

/* Values in the file: type, bounds and validators at conf_finish. */
static const struct {
	const char	*name;
	const char	*value;
	bool		 ok;
	int64_t		 num;		/* numeric types, when ok */
} values[] = {
	{ "default_process_limit", "0", false, 0 },
	{ "default_process_limit", "1", true, 1 },
	{ "default_process_limit", "10000", true, 10000 },
	{ "default_process_limit", "10001", false, 0 },
	{ "default_process_limit", "-5", false, 0 },
	{ "default_process_limit", "ten", false, 0 },
	{ "max_use", "1000000", true, 1000000 },
	{ "max_use", "1000001", false, 0 },
	{ "line_length_limit", "511", false, 0 },
	{ "line_length_limit", "512", true, 512 },
	{ "line_length_limit", "1m", true, 1048576 },
	{ "line_length_limit", "1025k", false, 0 },
	{ "message_size_limit", "-1", false, 0 },
	{ "message_size_limit", "0", true, 0 },
	{ "message_size_limit", "100m", true, 100 * 1024 * 1024 },
	{ "message_size_limit", "99999999999999999999", false, 0 },
	{ "max_idle", "0", false, 0 },
	{ "max_idle", "1", true, 1 },
	{ "max_idle", "1d", true, 86400 },
	{ "max_idle", "2d", false, 0 },
	{ "shutdown_timeout", "1h", true, 3600 },
	{ "shutdown_timeout", "61m", false, 0 },
	{ "master_start_timeout", "2m", true, 120 },
	{ "service_throttle_time", "1w", false, 0 },
	{ "config_directory", "/opt/tern/etc", true, 0 },
	{ "config_directory", "etc/tern", false, 0 },
	{ "config_directory", "", false, 0 },
	{ "queue_directory", "/", true, 0 },
	{ "mail_owner", "tern", true, 0 },
	{ "mail_owner", "Tern.user_1-x", true, 0 },
	{ "mail_owner", "_tern", true, 0 },
	{ "mail_owner", "-tern", false, 0 },
	{ "mail_owner", "", false, 0 },
	{ "mail_owner", "a b", false, 0 },
	{ "mail_owner", "ter:n", false, 0 },
	{ "mail_owner", "abcdefghijabcdefghijabcdefghijab", true, 0 },
	{ "mail_owner", "abcdefghijabcdefghijabcdefghijabc", false, 0 },
	{ "setgid_group", "terndrop", true, 0 },
	{ "setgid_group", "drop$$", false, 0 },
	{ "myhostname", "mx.example.org", true, 0 },
	{ "myhostname", "localhost", true, 0 },
	{ "myhostname", "MX-1.Example.ORG", true, 0 },
	{ "myhostname", "1.2.3.4", true, 0 },
	{ "myhostname", "a..b", false, 0 },
	{ "myhostname", ".example.org", false, 0 },
	{ "myhostname", "example.org.", false, 0 },
	{ "myhostname", "-a.example.org", false, 0 },
	{ "myhostname", "a-.example.org", false, 0 },
	{ "myhostname", "ex_ample.org", false, 0 },
	{ "myhostname", "ex ample.org", false, 0 },
	{ "myhostname", "", false, 0 },
	{ "myhostname", LABEL63 ".x", true, 0 },
	{ "myhostname", LABEL63 "d.x", false, 0 },
	{ "myhostname", LABEL63 "." LABEL63 "." LABEL63 "." LABEL61, true, 0 },
	{ "myhostname", LABEL63 "." LABEL63 "." LABEL63 "." LABEL61 "x", false,
	    0 },
	{ "mydomain", "example.org", true, 0 },
	{ "mydomain", "exa*mple.org", false, 0 },
	{ "maillog_file", "", true, 0 },
	{ "maillog_file", "/var/log/tern.log", true, 0 },
	{ "maillog_file", "tern.log", false, 0 },
	{ "smtpd_banner", "anything at all, even \"quotes\"", true, 0 },
};

START_TEST(test_values)
{
	const struct conf_param *p;
	int errors;

	p = conf_param_find(values[_i].name);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(conf_set(conf, values[_i].name, values[_i].value), 0);
	errors = conf_finish(conf);
	ck_assert_int_eq(errors, values[_i].ok ? 0 : 1);
	if (!values[_i].ok) {
		expect("bad ", CONF_ERROR, 0, values[_i].name);
		ck_assert(!diags[0].has_file);
		ck_assert_ptr_nonnull(strstr(diags[0].msg,
		    conf_type_name(p->type)));
		return;
	}
	switch (p->type) {
	case CONF_INT:
		ck_assert_int_eq(conf_int(conf, p->name), values[_i].num);
		break;
	case CONF_TIME:
		ck_assert_int_eq(conf_time(conf, p->name), values[_i].num);
		break;
	case CONF_SIZE:
		ck_assert_int_eq(conf_size(conf, p->name), values[_i].num);
		break;
	default:
		ck_assert_str_eq(conf_str(conf, p->name), values[_i].value);
		break;
	}
}
END_TEST

START_TEST(test_large_size)
{
	ck_assert_int_eq(load("message_size_limit = 8589934591g\n"), 0);
	ck_assert_int_eq(conf_size(conf, "message_size_limit"),
	    8589934591LL * 1024 * 1024 * 1024);
}
END_TEST

/*
 * Lists.
 */

START_TEST(test_list_separators)
{
	static const char *const want[] = { "a", "b", "c", "d", "e", "f",
	    "g" };
	const char *const *w;
	size_t i, n = 99;

	ck_assert_int_eq(load("mynetworks = ,a, b c,,d\n"
	    "   e\n"
	    "\tf,\n"
	    "  ,g ,\n"), 0);
	w = conf_list(conf, "mynetworks", &n);
	ck_assert_uint_eq(n, 7);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(w[i], want[i]);
	ck_assert_ptr_null(w[n]);
}
END_TEST

/* Separators inside braces belong to the word: inline:{ a=b, c=d }. */
START_TEST(test_list_braces)
{
	const char *const *w;
	size_t n = 99;

	ck_assert_int_eq(load("transport_maps = inline:{ a=b, c=d },"
	    "lmdb:/x  inline:{x={y, z}} inline:{ open, end\n"), 0);
	w = conf_list(conf, "transport_maps", &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(w[0], "inline:{ a=b, c=d }");
	ck_assert_str_eq(w[1], "lmdb:/x");
	ck_assert_str_eq(w[2], "inline:{x={y, z}}");
	ck_assert_str_eq(w[3], "inline:{ open, end");
	ck_assert_ptr_null(w[n]);
	/* A stray "}" is an ordinary character. */
	ck_assert_int_eq(load("mydestination = a} b\n"), 0);
	w = conf_list(conf, "mydestination", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(w[0], "a}");
}
END_TEST

START_TEST(test_list_empty)
{
	const char *const *w;
	size_t n = 99;

	ck_assert_int_eq(load("mydestination =\nmynetworks = , ,\n"), 0);
	w = conf_list(conf, "mydestination", &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(w[0]);
	w = conf_list(conf, "mynetworks", NULL);
	ck_assert_ptr_null(w[0]);
}
END_TEST

START_TEST(test_list_default)
{
	const char *const *w;
	size_t n;

	ck_assert_int_eq(load(""), 0);
	w = conf_list(conf, "mynetworks", &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(w[0], "127.0.0.0/8");
	ck_assert_str_eq(w[1], "[::1]/128");
	w = conf_list(conf, "mydestination", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(w[1], "localhost.localdomain");
	ck_assert_str_eq(w[2], "localhost");
}
END_TEST

START_TEST(test_list_expanded)
{
	const char *const *w;
	size_t n;

	ck_assert_int_eq(load("nets = 10.0.0.0/8 192.168.0.0/16\n"
	    "mynetworks = $nets, 127.0.0.1\n"), 0);
	w = conf_list(conf, "mynetworks", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(w[1], "192.168.0.0/16");
	ck_assert_str_eq(w[2], "127.0.0.1");
}
END_TEST

/*
 * conf_set, conf_get, conf_is_default, repeated conf_finish.
 */

START_TEST(test_set_override)
{
	ck_assert_int_eq(parse("mail_name = A\nmax_use = 5\n"), 0);
	ck_assert_int_eq(conf_set(conf, "mail_name", "B"), 0);
	ck_assert_int_eq(conf_set(conf, "max_use", "7"), 0);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_uint_eq(ndiags, 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "B");
	ck_assert_int_eq(conf_int(conf, "max_use"), 7);
}
END_TEST

START_TEST(test_set_errors)
{
	char *big;

	ck_assert_int_eq(conf_set(conf, "", "x"), -1);
	expect("empty parameter name", CONF_ERROR, 0, NULL);
	ck_assert_int_eq(conf_set(conf, "a=b", "x"), -1);
	expect("bad character", CONF_ERROR, 0, NULL);
	big = malloc(CONF_VALUE_MAX + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'v', CONF_VALUE_MAX + 1);
	big[CONF_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(conf_set(conf, "mail_name", big), -1);
	expect("too long", CONF_ERROR, 0, "mail_name");
	big[CONF_VALUE_MAX] = '\0';
	ck_assert_int_eq(conf_set(conf, "mail_name", big), 0);
	free(big);
	ck_assert_int_eq(conf_set(conf, "mail_nam", "x"), 0);
	expect("did you mean mail_name", CONF_WARNING, 0, "mail_nam");
	ck_assert(!diags[ndiags - 1].has_file);
}
END_TEST

START_TEST(test_is_default)
{
	ck_assert(conf_is_default(conf, "mail_name"));
	ck_assert(conf_is_default(conf, "no_such_thing"));
	ck_assert_int_eq(parse("mail_name = Tern\n"), 0);
	ck_assert(!conf_is_default(conf, "mail_name"));
	ck_assert(conf_is_default(conf, "mail_owner"));
	ck_assert_int_eq(conf_set(conf, "mail_owner", "tern"), 0);
	ck_assert(!conf_is_default(conf, "mail_owner"));
}
END_TEST

START_TEST(test_get)
{
	/* Not finished yet. */
	ck_assert_ptr_null(conf_get(conf, "mail_name"));
	ck_assert_int_eq(load("extra = $mail_name!\n"), 0);
	ck_assert_str_eq(conf_get(conf, "extra"), "Tern!");
	ck_assert_str_eq(conf_get(conf, "mail_name"), "Tern");
	ck_assert_str_eq(conf_get(conf, "max_idle"), "100s");
	ck_assert_ptr_null(conf_get(conf, "undefined_thing"));
}
END_TEST

START_TEST(test_finish_again)
{
	ck_assert_int_eq(load("mail_name = A\n"), 0);
	ck_assert_str_eq(conf_str(conf, "smtpd_banner") +
	    strlen(conf_str(conf, "smtpd_banner")) - 7, "ESMTP A");
	ck_assert_int_eq(conf_set(conf, "mail_name", "B"), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "A");
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "B");
	ck_assert_str_eq(conf_str(conf, "smtpd_banner") +
	    strlen(conf_str(conf, "smtpd_banner")) - 7, "ESMTP B");
}
END_TEST

START_TEST(test_param_find)
{
	const struct conf_param *p;

	p = conf_param_find("max_idle");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "max_idle");
	ck_assert_int_eq(p->type, CONF_TIME);
	ck_assert_ptr_null(conf_param_find("max_idl"));
	ck_assert_ptr_null(conf_param_find(""));
}
END_TEST

static const struct {
	enum conf_type	 type;
	const char	*name;
} type_names[] = {
	{ CONF_STR, "string" }, { CONF_INT, "integer" },
	{ CONF_BOOL, "boolean" }, { CONF_TIME, "time" },
	{ CONF_SIZE, "size" }, { CONF_LIST, "list" }, { CONF_PATH, "path" },
};

START_TEST(test_type_name)
{
	ck_assert_str_eq(conf_type_name(type_names[_i].type),
	    type_names[_i].name);
}
END_TEST

/*
 * conf_load.
 */

START_TEST(test_load_missing)
{
	ck_assert_int_eq(conf_load(conf, "/nonexistent/tern.conf"), -1);
	ck_assert_uint_eq(ndiags, 1);
	expect("cannot open", CONF_ERROR, 0, NULL);
	ck_assert_str_eq(diags[0].file, "/nonexistent/tern.conf");
}
END_TEST

START_TEST(test_load_directory)
{
	ck_assert_int_eq(conf_load(conf, "/"), -1);
	expect("cannot read", CONF_ERROR, 0, NULL);
}
END_TEST

START_TEST(test_load_file)
{
	static const char text[] = "# test\nmail_name = Loaded\nmax_use = x\n";
	char path[] = "/tmp/check_conf.XXXXXX";
	const char *tmp;
	char buf[256];
	int fd;

	if ((tmp = getenv("TMPDIR")) != NULL && tmp[0] == '/')
		snprintf(buf, sizeof(buf), "%s/check_conf.XXXXXX", tmp);
	else
		snprintf(buf, sizeof(buf), "%s", path);
	fd = mkstemp(buf);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	ck_assert_int_eq(conf_load(conf, buf), 0);
	ck_assert_int_eq(conf_finish(conf), 1);
	unlink(buf);
	ck_assert_str_eq(conf_str(conf, "mail_name"), "Loaded");
	expect("bad integer value \"x\" for max_use", CONF_ERROR, 3,
	    "max_use");
	ck_assert_str_eq(diags[0].file, buf);
}
END_TEST

/*
 * conf_edit.
 */

static const struct {
	const char	*in;
	const char	*names[3];
	const char	*values[3];
	const char	*out;
} edits[] = {
	{ "", { "a" }, { "1" }, "a = 1\n" },
	{ "a = 1", { "b" }, { "2" }, "a = 1\nb = 2\n" },
	/* In place; comments and blank lines stay. */
	{ "# c\na = 1\n\nb = 2\n", { "a" }, { "x" }, "# c\na = x\n\nb = 2\n" },
	/* Continuation lines go with it, even past a comment. */
	{ "a = 1,\n# in\n  2,\n\t3\nb = 3\n", { "a" }, { "z" },
	    "a = z\n# in\nb = 3\n" },
	/* The definition in effect is the last one. */
	{ "a = 1\na = 2\n", { "a" }, { "3" }, "a = 1\na = 3\n" },
	{ "ab = 1\na=2\n", { "a" }, { "3" }, "ab = 1\na = 3\n" },
	{ "a = 1\r\nb = 2\r\n", { "a" }, { "3" }, "a = 3\r\nb = 2\r\n" },
	{ "a = 1\n", { "a" }, { "" }, "a =\n" },
	{ "  x\na = 1\n", { "a" }, { "2" }, "  x\na = 2\n" },
	{ "b = 1\na = 1", { "a" }, { "2" }, "b = 1\na = 2" },
	{ "b = 1\na = 1", { "a", "c" }, { "2", "3" }, "b = 1\na = 2\nc = 3\n" },
	{ "#a = 1\n", { "a" }, { "2" }, "#a = 1\na = 2\n" },
	/* An indented line belongs to the definition above it. */
	{ "b = 1\n  a = 1\n", { "a" }, { "2" }, "b = 1\n  a = 1\na = 2\n" },
	{ "a\n  = 1\nb = 2\n", { "a" }, { "5" }, "a = 5\nb = 2\n" },
	{ "x = 1\ny = 2\n", { "z", "y", "w" }, { "3", "4", "5" },
	    "x = 1\ny = 4\nz = 3\nw = 5\n" },
	{ "= 1\n  a = 2\n", { "a" }, { "3" }, "= 1\n  a = 2\na = 3\n" },
};

START_TEST(test_edit)
{
	struct buf out;
	size_t n;

	for (n = 0; n < 3 && edits[_i].names[n] != NULL; n++)
		;
	buf_init(&out, 4096);
	ck_assert_int_eq(conf_edit(edits[_i].in, strlen(edits[_i].in),
	    edits[_i].names, edits[_i].values, n, &out), 0);
	ck_assert_str_eq(buf_cstr(&out), edits[_i].out);
	buf_clear(&out);
}
END_TEST

/* What conf_edit writes, conf_parse reads back as set. */
START_TEST(test_edit_parses)
{
	static const char text[] = "# keep\nmail_name = Old,\n  more\n"
	    "max_idle = 10s\n";
	const char *names[] = { "mail_name", "max_use" };
	const char *vals[] = { "New $mail_version", "7" };
	char want[256];
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(conf_edit(text, sizeof(text) - 1, names, vals, 2,
	    &out), 0);
	ck_assert_int_eq(conf_parse(conf, FILE_NAME, buf_cstr(&out), out.len),
	    0);
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_uint_eq(ndiags, 0);
	snprintf(want, sizeof(want), "New %s", conf_str(conf,
	    "mail_version"));
	ck_assert_str_eq(conf_str(conf, "mail_name"), want);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "# keep\n"
	    "mail_name = New $mail_version\nmax_idle = 10s\nmax_use = 7\n"));
	ck_assert_int_eq(conf_int(conf, "max_use"), 7);
	ck_assert_int_eq(conf_time(conf, "max_idle"), 10);
	buf_clear(&out);
}
END_TEST

/* A result past the buffer's cap is refused. */
START_TEST(test_edit_too_big)
{
	const char *names[] = { "mail_name" };
	const char *vals[] = { "0123456789" };
	struct buf out;

	buf_init(&out, 16);
	ck_assert_int_eq(conf_edit("max_use = 1\n", 12, names, vals, 1,
	    &out), -1);
	buf_clear(&out);
}
END_TEST

/*
 * conf_nearest.
 */

static const struct {
	const char	*name;
	const char	*near;
} nears[] = {
	{ "myhostnam", "myhostname" },
	{ "myhostname", "myhostname" },
	{ "MyHostname", "myhostname" },
	{ "mail_ownr", "mail_owner" },
	{ "smtpd_bannr", "smtpd_banner" },
	{ "max_ide", "max_idle" },
	{ "max_use", "max_use" },
	{ "queue_dirctory", "queue_directory" },
	{ "deamon_directory", "daemon_directory" },
	{ "queue_dir", NULL },
	{ "", NULL },
	{ "x", NULL },
	{ "frobnicate", NULL },
	{ "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
	    "zzzzzzzzzzzzzzzzzzzzzzzzz", NULL },
};

START_TEST(test_nearest)
{
	const char *near;

	near = conf_nearest(nears[_i].name);
	if (nears[_i].near == NULL)
		ck_assert_ptr_null(near);
	else {
		ck_assert_ptr_nonnull(near);
		ck_assert_str_eq(near, nears[_i].near);
	}
}
END_TEST

/*
 * The table itself.
 */

START_TEST(test_table_entry)
{
	const struct conf_param *p = &conf_params[_i];
	const char *v, *err = NULL;
	int64_t num = 0;
	size_t i;
	bool flag;

	ck_assert_ptr_nonnull(p->name);
	ck_assert_uint_gt(strlen(p->name), 0);
	ck_assert_uint_le(strlen(p->name), CONF_NAME_MAX);
	/* Upper case only where Postfix has it: smtp_tls_CAfile. */
	for (i = 0; p->name[i] != '\0'; i++)
		ck_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789_",
		    p->name[i]) != NULL || strcmp(p->name, "smtp_tls_CAfile") ==
		    0);
	ck_assert_ptr_nonnull(p->desc);
	ck_assert_uint_gt(strlen(p->desc), 10);
	ck_assert_uint_le(strlen(p->desc), 72);
	ck_assert(p->desc[strlen(p->desc) - 1] != '.');
	ck_assert_ptr_nonnull(p->def);
	ck_assert_ptr_eq(conf_param_find(p->name), p);
	for (i = 0; i < (size_t)_i; i++)
		ck_assert_str_ne(conf_params[i].name, p->name);
	if (p->type != CONF_INT && p->type != CONF_TIME &&
	    p->type != CONF_SIZE)
		ck_assert(p->min == 0 && p->max == 0);
	else
		ck_assert(p->max == 0 || p->min <= p->max);

	/* The default, as conf_finish leaves it, passes every check. */
	ck_assert_int_eq(conf_finish(conf), 0);
	ck_assert_uint_eq(count(CONF_ERROR), 0);
	v = conf_get(conf, p->name);
	ck_assert_ptr_nonnull(v);
	ck_assert(conf_is_default(conf, p->name));
	if (p->def_fn == NULL && strchr(p->def, '$') == NULL)
		ck_assert_str_eq(v, p->def);
	switch (p->type) {
	case CONF_STR:
	case CONF_PATH:
		ck_assert_str_eq(conf_str(conf, p->name), v);
		if (p->type == CONF_PATH)
			ck_assert(v[0] == '/');
		break;
	case CONF_LIST:
		ck_assert_ptr_nonnull(conf_list(conf, p->name, NULL));
		break;
	case CONF_BOOL:
		ck_assert_int_eq(conf_parse_bool(v, &flag, &err), 0);
		ck_assert(conf_bool(conf, p->name) == flag);
		break;
	case CONF_INT:
		ck_assert_int_eq(conf_parse_int(v, &num, &err), 0);
		ck_assert_int_eq(conf_int(conf, p->name), num);
		break;
	case CONF_TIME:
		ck_assert_int_eq(conf_parse_time(v, &num, &err), 0);
		ck_assert_int_eq(conf_time(conf, p->name), num);
		break;
	case CONF_SIZE:
		ck_assert_int_eq(conf_parse_size(v, &num, &err), 0);
		ck_assert_int_eq(conf_size(conf, p->name), num);
		break;
	}
	if (p->min != 0 || p->max != 0)
		ck_assert_int_ge(num, p->min);
	if (p->max != 0)
		ck_assert_int_le(num, p->max);
	if (p->check != NULL)
		ck_assert_msg(p->check(v, &err) == 0, "%s: %s", p->name, err);
}
END_TEST

/* Writing every default into the file changes no value. */
START_TEST(test_table_roundtrip)
{
	const struct conf_param *p;
	struct conf *c;

	ck_assert_int_eq(conf_finish(conf), 0);
	c = conf_new(collect, &ndiags);
	for (p = conf_params; p->name != NULL; p++) {
		ck_assert_int_eq(conf_set(c, p->name,
		    p->def_fn != NULL ? conf_get(conf, p->name) : p->def), 0);
	}
	ck_assert_int_eq(conf_finish(c), 0);
	ck_assert_uint_eq(count(CONF_ERROR), 0);
	for (p = conf_params; p->name != NULL; p++)
		ck_assert_str_eq(conf_get(c, p->name), conf_get(conf, p->name));
	conf_free(&c);
}
END_TEST

/*
 * Misuse of the getters: bug(), that is abort().
 */

START_TEST(test_bug_unknown)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_str(conf, "no_such_parameter");
}
END_TEST

START_TEST(test_bug_unknown_but_set)
{
	ck_assert_int_eq(load("extra = 1\n"), 0);
	(void)conf_int(conf, "extra");
}
END_TEST

START_TEST(test_bug_type_int)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_int(conf, "mail_name");
}
END_TEST

START_TEST(test_bug_type_time)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_time(conf, "message_size_limit");
}
END_TEST

START_TEST(test_bug_type_size)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_size(conf, "max_idle");
}
END_TEST

START_TEST(test_bug_type_list)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_list(conf, "mail_name", NULL);
}
END_TEST

START_TEST(test_bug_type_str)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_str(conf, "mynetworks");
}
END_TEST

START_TEST(test_bug_type_bool)
{
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)conf_bool(conf, "max_use");
}
END_TEST

START_TEST(test_bug_unfinished)
{
	(void)conf_str(conf, "mail_name");
}
END_TEST

static TCase *
tcase(const char *name)
{
	TCase *tc;

	tc = tcase_create(name);
	tcase_add_checked_fixture(tc, setup, teardown);
	return tc;
}

#define NITEMS(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
conf_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("conf");

	tc = tcase("parse");
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_no_final_newline);
	tcase_add_test(tc, test_empty_input);
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_continuation_first);
	tcase_add_loop_test(tc, test_spacing, 0, NITEMS(spacing));
	tcase_add_test(tc, test_value_specials);
	tcase_add_test(tc, test_missing_equals);
	tcase_add_test(tc, test_empty_name);
	tcase_add_test(tc, test_bad_name);
	tcase_add_test(tc, test_name_length);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_value_too_long);
	tcase_add_test(tc, test_file_too_long);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_nul_continuation);
	tcase_add_test(tc, test_duplicate);
	tcase_add_test(tc, test_duplicate_other_file);
	tcase_add_test(tc, test_unknown);
	tcase_add_test(tc, test_unknown_far);
	tcase_add_test(tc, test_diag_fields);
	tcase_add_test(tc, test_error_count);
	tcase_add_test(tc, test_nameless_file);
	tcase_add_test(tc, test_no_diag);
	suite_add_tcase(s, tc);

	tc = tcase("expand");
	tcase_add_test(tc, test_expand_simple);
	tcase_add_test(tc, test_expand_bare_name_ends);
	tcase_add_test(tc, test_expand_nested);
	tcase_add_test(tc, test_expand_default_uses_file);
	tcase_add_test(tc, test_expand_undefined);
	tcase_add_test(tc, test_expand_dollar);
	tcase_add_loop_test(tc, test_expand_bad, 0, NITEMS(bad_refs));
	tcase_add_test(tc, test_loop);
	tcase_add_test(tc, test_loop_self);
	tcase_add_test(tc, test_loop_long);
	tcase_add_test(tc, test_loop_through_default);
	tcase_add_test(tc, test_loop_hostname);
	tcase_add_loop_test(tc, test_depth, 0, NITEMS(chains));
	tcase_add_test(tc, test_expand_total);
	tcase_add_test(tc, test_replaced_by_default);
	tcase_add_test(tc, test_expand_in_number);
	suite_add_tcase(s, tc);

	tc = tcase("values");
	tcase_add_loop_test(tc, test_bool, 0, NITEMS(bools));
	tcase_add_loop_test(tc, test_int, 0, NITEMS(ints));
	tcase_add_loop_test(tc, test_time, 0, NITEMS(times));
	tcase_add_loop_test(tc, test_size, 0, NITEMS(sizes));
	tcase_add_loop_test(tc, test_values, 0, NITEMS(values));
	tcase_add_test(tc, test_large_size);
	suite_add_tcase(s, tc);

	tc = tcase("lists");
	tcase_add_test(tc, test_list_separators);
	tcase_add_test(tc, test_list_braces);
	tcase_add_test(tc, test_list_empty);
	tcase_add_test(tc, test_list_default);
	tcase_add_test(tc, test_list_expanded);
	suite_add_tcase(s, tc);

	tc = tcase("access");
	tcase_add_test(tc, test_set_override);
	tcase_add_test(tc, test_set_errors);
	tcase_add_test(tc, test_is_default);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_finish_again);
	tcase_add_test(tc, test_param_find);
	tcase_add_loop_test(tc, test_type_name, 0, NITEMS(type_names));
	suite_add_tcase(s, tc);

	tc = tcase("load");
	tcase_add_test(tc, test_load_missing);
	tcase_add_test(tc, test_load_directory);
	tcase_add_test(tc, test_load_file);
	suite_add_tcase(s, tc);

	tc = tcase("edit");
	tcase_add_loop_test(tc, test_edit, 0, NITEMS(edits));
	tcase_add_test(tc, test_edit_parses);
	tcase_add_test(tc, test_edit_too_big);
	suite_add_tcase(s, tc);

	tc = tcase("nearest");
	tcase_add_loop_test(tc, test_nearest, 0, NITEMS(nears));
	suite_add_tcase(s, tc);

	tc = tcase("table");
	tcase_add_loop_test(tc, test_table_entry, 0, (int)nparams());
	tcase_add_test(tc, test_table_roundtrip);
	suite_add_tcase(s, tc);

	return s;
}

/* Only with fork(): without it the abort() would end the runner. */
static TCase *
bug_tcase(void)
{
	TCase *tc;

	tc = tcase("bug");
	tcase_add_test_raise_signal(tc, test_bug_unknown, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_unknown_but_set, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_int, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_time, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_size, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_list, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_str, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_type_bool, SIGABRT);
	tcase_add_test_raise_signal(tc, test_bug_unfinished, SIGABRT);
	return tc;
}

int
main(void)
{
	SRunner *sr;
	Suite *s;
	int failed;

	s = conf_suite();
	sr = srunner_create(s);
	if (srunner_fork_status(sr) != CK_NOFORK)
		suite_add_tcase(s, bug_tcase());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
