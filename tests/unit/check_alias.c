/*
 * SPDX-License-Identifier: ISC
 *
 * check_alias.c -- unit tests for lib/alias.c: parsing target lists and
 * :include: files, and expansion against a table and files held in
 * memory (chains, self references, "\user", loops, limits, owners,
 * extensions, local and remote addresses, failures).
 *
 * Process:  test runner only.
 * Input:    literal tables and files.
 * Failure:  a failed check fails the test.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "xmem.h"

/* ---- parsing ------------------------------------------------------------ */

static struct alias_list list;
static char err[ALIAS_ERR_MAX];

static void
parse_ok(const char *text, unsigned flags)
{
	alias_list_clear(&list);
	err[0] = '\0';
	ck_assert_msg(alias_parse(&list, text, strlen(text), flags, err) == 0,
	    "%s: %s", text, err);
}

static void
item_is(size_t i, enum alias_type t, const char *text)
{
	ck_assert_uint_lt(i, list.n);
	ck_assert_msg(list.v[i].type == t, "item %zu: %s, not %s", i,
	    alias_type_name(list.v[i].type), alias_type_name(t));
	ck_assert_str_eq(list.v[i].text, text);
}

START_TEST(test_parse_kinds)
{
	parse_ok(" bob,alice@example.org , |/usr/bin/vacation bob,"
	    ":include:/etc/tern/list, /var/log/mail.copy, \\bob,"
	    "/srv/maildir/, :INCLUDE: /x", 0);
	ck_assert_uint_eq(list.n, 8);
	item_is(0, ALIAS_T_NAME, "bob");
	item_is(1, ALIAS_T_ADDR, "alice@example.org");
	item_is(2, ALIAS_T_COMMAND, "/usr/bin/vacation bob");
	item_is(3, ALIAS_T_INCLUDE, "/etc/tern/list");
	item_is(4, ALIAS_T_FILE, "/var/log/mail.copy");
	item_is(5, ALIAS_T_MAILBOX, "bob");
	item_is(6, ALIAS_T_FILE, "/srv/maildir/");
	item_is(7, ALIAS_T_INCLUDE, "/x");
}
END_TEST

START_TEST(test_parse_quotes)
{
	parse_ok("\"|/usr/bin/prog -a, -b\", \"/path with space\","
	    " \"john doe\"@example.org, \"a\\\"b\", \"\"", 0);
	ck_assert_uint_eq(list.n, 4);
	item_is(0, ALIAS_T_COMMAND, "/usr/bin/prog -a, -b");
	item_is(1, ALIAS_T_FILE, "/path with space");
	item_is(2, ALIAS_T_ADDR, "\"john doe\"@example.org");
	item_is(3, ALIAS_T_NAME, "a\"b");
}
END_TEST

START_TEST(test_parse_empty_and_blank)
{
	parse_ok("", 0);
	ck_assert_uint_eq(list.n, 0);
	parse_ok(" , ,,\t", 0);
	ck_assert_uint_eq(list.n, 0);
	/* '#' is an ordinary byte in a table value. */
	parse_ok("#team", 0);
	item_is(0, ALIAS_T_NAME, "#team");
}
END_TEST

START_TEST(test_parse_include_file)
{
	parse_ok("# members\r\nbob\r\n  # indented comment, with a comma\n"
	    "alice, carol\n\n|cmd # not a comment\n#last", ALIAS_P_FILE);
	ck_assert_uint_eq(list.n, 4);
	item_is(0, ALIAS_T_NAME, "bob");
	item_is(1, ALIAS_T_NAME, "alice");
	item_is(2, ALIAS_T_NAME, "carol");
	item_is(3, ALIAS_T_COMMAND, "cmd # not a comment");
}
END_TEST

static const struct {
	const char	*text;
	unsigned	 flags;
	const char	*err;
} bad[] = {
	{ "a, \"b", 0, "unterminated quote" },
	{ "\"a\nb\"", ALIAS_P_FILE, "unterminated quote" },
	{ "a\001b", 0, "control character" },
	{ "a\177", 0, "control character" },
	{ "|", 0, "empty command after '|'" },
	{ "|  \t", 0, "empty command after '|'" },
	{ ":include:etc/list", 0, "an :include: path must be absolute" },
	{ ":include:", 0, "an :include: path must be absolute" },
	{ "\\", 0, "'\\' must be followed by a local name" },
	{ "\\bob@example.org", 0, "'\\' must be followed by a local name" },
	{ "@example.org", 0, "address without local part or domain" },
	{ "bob@", 0, "address without local part or domain" },
};

START_TEST(test_parse_bad)
{
	const char *t = bad[_i].text;

	alias_list_clear(&list);
	err[0] = '\0';
	ck_assert_int_eq(alias_parse(&list, t, strlen(t), bad[_i].flags, err),
	    -1);
	ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

START_TEST(test_parse_nul_and_limits)
{
	char *big;

	alias_list_clear(&list);
	ck_assert_int_eq(alias_parse(&list, "a\0b", 3, 0, err), -1);
	ck_assert_str_eq(err, "NUL byte");
	/* An escaped byte in quotes is checked as well. */
	alias_list_clear(&list);
	ck_assert_int_eq(alias_parse(&list, "\"a\\\0b\"", 6, 0, err), -1);
	ck_assert_str_eq(err, "NUL byte");
	alias_list_clear(&list);
	ck_assert_int_eq(alias_parse(&list, "\"a\\\001\"", 5, 0, err), -1);
	ck_assert_str_eq(err, "control character");
	big = xmalloc(ALIAS_TARGET_MAX + 2);
	memset(big, 'x', ALIAS_TARGET_MAX + 1);
	big[0] = '/';
	big[ALIAS_TARGET_MAX + 1] = '\0';
	alias_list_clear(&list);
	ck_assert_int_eq(alias_parse(&list, big, strlen(big), 0, err), -1);
	ck_assert_str_eq(err, "target too long");
	big[ALIAS_TARGET_MAX] = '\0';
	parse_ok(big, 0);
	ck_assert_uint_eq(list.n, 1);
	big[ALIAS_NAME_MAX + 1] = '\0';
	big[0] = 'x';
	alias_list_clear(&list);
	ck_assert_int_eq(alias_parse(&list, big, strlen(big), 0, err), -1);
	ck_assert_str_eq(err, "name too long");
	free(big);
}
END_TEST

START_TEST(test_base)
{
	char buf[16];
	size_t ext;

	ck_assert_int_eq(alias_base("Bob+Lists", "+", buf, sizeof(buf), &ext),
	    0);
	ck_assert_str_eq(buf, "bob");
	ck_assert_uint_eq(ext, 4);
	ck_assert_int_eq(alias_base("bob-x+y", "+-", buf, sizeof(buf), &ext),
	    0);
	ck_assert_str_eq(buf, "bob");
	ck_assert_uint_eq(ext, 4);
	ck_assert_int_eq(alias_base("BOB+", "", buf, sizeof(buf), &ext), 0);
	ck_assert_str_eq(buf, "bob+");
	ck_assert_uint_eq(ext, 0);
	ck_assert_int_eq(alias_base("+x", "+", buf, sizeof(buf), &ext), 0);
	ck_assert_str_eq(buf, "+x");
	ck_assert_uint_eq(ext, 0);
	ck_assert_int_eq(alias_base("bob", NULL, buf, sizeof(buf), &ext), 0);
	ck_assert_str_eq(buf, "bob");
	ck_assert_int_eq(alias_base("0123456789abcdef", "+", buf, sizeof(buf),
	    &ext), -1);
}
END_TEST

/* ---- expansion ---------------------------------------------------------- */

struct entry {
	const char	*key;		/* folded */
	const char	*value;
	int64_t		 owner;
};

struct file {
	const char	*path;
	const char	*text;
	int64_t		 owner;
	bool		 fail;
};

static const struct entry *table;
static const struct file *files;
static bool table_fails;
static int64_t include_asked_owner;
static int lookups;

static enum alias_lookup
t_lookup(void *arg, const char *name, char *value, size_t sz,
    int64_t *owner_r, char *e)
{
	size_t i;

	(void)arg;
	lookups++;
	if (table_fails) {
		snprintf(e, ALIAS_ERR_MAX, "table is down");
		return ALIAS_L_TEMPFAIL;
	}
	for (i = 0; table[i].key != NULL; i++)
		if (strcmp(table[i].key, name) == 0) {
			ck_assert_uint_gt(sz, strlen(table[i].value));
			strlcpy(value, table[i].value, sz);
			*owner_r = table[i].owner;
			return ALIAS_L_FOUND;
		}
	return ALIAS_L_NOTFOUND;
}

static int
t_include(void *arg, const char *path, int64_t owner, char **text_r,
    size_t *len_r, int64_t *owner_r, char *e)
{
	size_t i;

	(void)arg;
	include_asked_owner = owner;
	for (i = 0; files != NULL && files[i].path != NULL; i++)
		if (strcmp(files[i].path, path) == 0) {
			if (files[i].fail)
				break;
			*text_r = xstrdup(files[i].text);
			*len_r = strlen(files[i].text);
			*owner_r = files[i].owner;
			return 0;
		}
	snprintf(e, ALIAS_ERR_MAX, "cannot open: No such file");
	return -1;
}

static bool
t_local(void *arg, const char *domain)
{
	(void)arg;
	return strcasecmp(domain, "localhost") == 0 ||
	    strcasecmp(domain, "example.test") == 0;
}

static struct alias_ops ops = {
	.lookup = t_lookup,
	.include = t_include,
	.local_domain = t_local,
	.delim = "+",
};

static struct alias_expansion x;

static enum alias_status
expand(const char *name)
{
	alias_expansion_clear(&x);
	lookups = 0;
	return alias_expand(&ops, name, &x);
}

static void
target_is(size_t i, enum alias_type t, const char *text, int64_t owner)
{
	ck_assert_uint_lt(i, x.n);
	ck_assert_msg(x.v[i].type == t, "target %zu: %s, not %s", i,
	    alias_type_name(x.v[i].type), alias_type_name(t));
	ck_assert_str_eq(x.v[i].text, text);
	ck_assert_int_eq(x.v[i].owner, owner);
}

static void
expand_ok(const char *name, size_t n)
{
	enum alias_status st = expand(name);

	ck_assert_msg(st == ALIAS_OK, "%s: status %d: %s", name, st, x.err);
	ck_assert_uint_eq(x.n, n);
}

#define DEF	ALIAS_OWNER_DEFAULT

static const struct entry basic[] = {
	{ "postmaster", "root", 0 },
	{ "root", "bob", 0 },
	{ "team", "bob, alice, Carol@LOCALHOST, dave@remote.example", 0 },
	{ "bob", "\\bob, /var/log/bob.copy, |/usr/bin/vacation bob", 1000 },
	{ "self", "self, other", 0 },
	{ "loopa", "loopb", 0 },
	{ "loopb", "x, loopc", 0 },
	{ "loopc", "loopa", 0 },
	{ "list", ":include:/etc/list", 0 },
	{ "ulist", ":include:/home/u/list", 0 },
	{ "nested", ":include:/etc/outer", 0 },
	{ "incloop", ":include:/etc/loop", 0 },
	{ "missing", ":include:/etc/none", 0 },
	{ "badval", "a, \"b", 0 },
	{ "empty", " , ", 0 },
	{ "dup", "bob, team, bob@example.test, alice", 0 },
	{ "ext", "alice", 0 },
	{ "ext+special", "carol", 0 },
	{ "quoted", "\"erin\"@example.test", 0 },
	{ NULL, NULL, 0 },
};

static const struct file basic_files[] = {
	{ "/etc/list", "# the list\nalice\n|/bin/cmd\n/tmp/f\n", 0, false },
	{ "/home/u/list", "carol\n|/bin/ucmd\n", 1234, false },
	{ "/etc/outer", ":include:/home/u/list\n", 0, false },
	{ "/etc/loop", "alice\n:include:/etc/loop2\n", 0, false },
	{ "/etc/loop2", ":include:/etc/loop\n", 0, false },
	{ NULL, NULL, 0, false },
};

static void
basic_setup(void)
{
	table = basic;
	files = basic_files;
	table_fails = false;
	alias_expansion_init(&x);
	alias_list_init(&list);
}

static void
basic_teardown(void)
{
	alias_expansion_clear(&x);
	alias_list_clear(&list);
}

START_TEST(test_expand_notfound)
{
	ck_assert_int_eq(expand("nosuchname"), ALIAS_NOTFOUND);
	ck_assert_uint_eq(x.n, 0);
	/* With the extension, then without: two lookups. */
	ck_assert_int_eq(expand("nosuchname+ext"), ALIAS_NOTFOUND);
	ck_assert_int_eq(lookups, 2);
}
END_TEST

START_TEST(test_expand_chain_and_backslash)
{
	/* postmaster -> root -> bob -> \bob, file, command. */
	expand_ok("PostMaster", 3);
	target_is(0, ALIAS_T_MAILBOX, "bob", DEF);
	target_is(1, ALIAS_T_FILE, "/var/log/bob.copy", 1000);
	target_is(2, ALIAS_T_COMMAND, "/usr/bin/vacation bob", 1000);
	ck_assert_str_eq(x.v[1].via, "bob");
	ck_assert(!x.v[1].include);
}
END_TEST

START_TEST(test_expand_team)
{
	expand_ok("team", 6);
	target_is(0, ALIAS_T_MAILBOX, "bob", DEF);
	target_is(1, ALIAS_T_FILE, "/var/log/bob.copy", 1000);
	target_is(2, ALIAS_T_COMMAND, "/usr/bin/vacation bob", 1000);
	target_is(3, ALIAS_T_MAILBOX, "alice", DEF);
	/* Our own domain: a local name, folded. */
	target_is(4, ALIAS_T_MAILBOX, "carol", DEF);
	target_is(5, ALIAS_T_ADDR, "dave@remote.example", DEF);
	ck_assert_str_eq(x.v[5].via, "team");
}
END_TEST

START_TEST(test_expand_self)
{
	expand_ok("self", 2);
	target_is(0, ALIAS_T_MAILBOX, "self", DEF);
	target_is(1, ALIAS_T_MAILBOX, "other", DEF);
}
END_TEST

START_TEST(test_expand_loop)
{
	ck_assert_int_eq(expand("loopa"), ALIAS_FAIL);
	ck_assert(x.loop);
	ck_assert_str_eq(x.err, "alias loop: loopa expands to itself through "
	    "loopc");
	/* Starting in the middle finds the same loop. */
	ck_assert_int_eq(expand("loopc"), ALIAS_FAIL);
	ck_assert(x.loop);
}
END_TEST

START_TEST(test_expand_dedup)
{
	/* bob's three, team's alice, carol and dave; nothing twice. */
	expand_ok("dup", 6);
	target_is(3, ALIAS_T_MAILBOX, "alice", DEF);
	target_is(5, ALIAS_T_ADDR, "dave@remote.example", DEF);
}
END_TEST

START_TEST(test_expand_extension)
{
	/* "ext+other": no such key, so "ext"; a mailbox has no extension. */
	expand_ok("Ext+Other", 1);
	target_is(0, ALIAS_T_MAILBOX, "alice", DEF);
	expand_ok("ext+special", 1);
	target_is(0, ALIAS_T_MAILBOX, "carol", DEF);
	table = (const struct entry[]){ { "a", "bob+x, \\carol+y", 0 },
	    { NULL, NULL, 0 } };
	expand_ok("a", 2);
	target_is(0, ALIAS_T_MAILBOX, "bob", DEF);
	target_is(1, ALIAS_T_MAILBOX, "carol", DEF);
}
END_TEST

START_TEST(test_expand_quoted_local_part)
{
	expand_ok("quoted", 1);
	target_is(0, ALIAS_T_MAILBOX, "erin", DEF);
}
END_TEST

START_TEST(test_expand_include)
{
	expand_ok("list", 3);
	ck_assert_int_eq(include_asked_owner, DEF);
	target_is(0, ALIAS_T_MAILBOX, "alice", DEF);
	/* A root-owned file: the including table's rights. */
	target_is(1, ALIAS_T_COMMAND, "/bin/cmd", DEF);
	ck_assert(x.v[1].include);
	target_is(2, ALIAS_T_FILE, "/tmp/f", DEF);
	ck_assert_str_eq(x.v[2].via, "list");
	/* A user's file: that user's rights. */
	expand_ok("ulist", 2);
	target_is(1, ALIAS_T_COMMAND, "/bin/ucmd", 1234);
	/* Nested: the inner file is read with the outer one's rights. */
	expand_ok("nested", 2);
	target_is(1, ALIAS_T_COMMAND, "/bin/ucmd", 1234);
}
END_TEST

START_TEST(test_expand_include_failures)
{
	ck_assert_int_eq(expand("incloop"), ALIAS_FAIL);
	ck_assert(x.loop);
	ck_assert_str_eq(x.err, "include loop: /etc/loop includes itself");
	ck_assert_int_eq(expand("missing"), ALIAS_TEMPFAIL);
	ck_assert_str_eq(x.err, ":include: /etc/none: cannot open: No such "
	    "file");
	files = (const struct file[]){ { "/etc/list", "a, \"b\n", 0, false },
	    { NULL, NULL, 0, false } };
	ck_assert_int_eq(expand("list"), ALIAS_TEMPFAIL);
	ck_assert_str_eq(x.err, ":include: /etc/list: unterminated quote");
	files = (const struct file[]){ { "/etc/list", "# nobody\n", 0, false },
	    { NULL, NULL, 0, false } };
	ck_assert_int_eq(expand("list"), ALIAS_FAIL);
	ck_assert(!x.loop);
	ck_assert_str_eq(x.err, "alias list expands to no recipients");
}
END_TEST

START_TEST(test_expand_no_include_support)
{
	ops.include = NULL;
	ck_assert_int_eq(expand("list"), ALIAS_TEMPFAIL);
	ops.include = t_include;
	ck_assert_str_eq(x.err, ":include: /etc/list: not supported here");
}
END_TEST

START_TEST(test_expand_failures)
{
	ck_assert_int_eq(expand("badval"), ALIAS_TEMPFAIL);
	ck_assert_str_eq(x.err, "alias badval: unterminated quote");
	ck_assert_int_eq(expand("empty"), ALIAS_FAIL);
	ck_assert_str_eq(x.err, "alias empty expands to no recipients");
	table_fails = true;
	ck_assert_int_eq(expand("team"), ALIAS_TEMPFAIL);
	ck_assert_str_eq(x.err, "table is down");
}
END_TEST

/* A chain longer than ALIAS_DEPTH_MAX. */
START_TEST(test_expand_depth)
{
	struct entry deep[ALIAS_DEPTH_MAX + 3];
	char keys[ALIAS_DEPTH_MAX + 2][16], vals[ALIAS_DEPTH_MAX + 2][16];
	size_t i, n = ALIAS_DEPTH_MAX + 2;

	for (i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "d%zu", i);
		snprintf(vals[i], sizeof(vals[i]), "d%zu", i + 1);
		deep[i].key = keys[i];
		deep[i].value = vals[i];
		deep[i].owner = 0;
	}
	deep[n].key = NULL;
	table = deep;
	ck_assert_int_eq(expand("d0"), ALIAS_FAIL);
	ck_assert(x.loop);
	ck_assert_msg(strstr(x.err, "nested too deeply") != NULL, "%s", x.err);
	/* ALIAS_DEPTH_MAX names deep is still fine. */
	snprintf(vals[ALIAS_DEPTH_MAX - 1], sizeof(vals[0]), "\\end");
	expand_ok("d0", 1);
	target_is(0, ALIAS_T_MAILBOX, "end", DEF);
}
END_TEST

/* More than ALIAS_TARGETS_MAX targets, and more than ALIAS_STEPS_MAX. */
START_TEST(test_expand_limits)
{
	struct entry big[2] = { { "big", NULL, 0 }, { NULL, NULL, 0 } };
	size_t i, len = 0, cap = (ALIAS_TARGETS_MAX + 1) * 12;
	char *v = xmalloc(cap);

	for (i = 0; i <= ALIAS_TARGETS_MAX; i++)
		len += (size_t)snprintf(v + len, cap - len, "u%zu,", i);
	big[0].value = v;
	table = big;
	ck_assert_int_eq(expand("big"), ALIAS_FAIL);
	ck_assert_msg(strstr(x.err, "more than 1000 targets") != NULL, "%s",
	    x.err);
	/* The same name many times: deduplicated, but each one is work. */
	len = 0;
	cap = (ALIAS_STEPS_MAX + 1) * 2 + 1;
	free(v);
	v = xmalloc(cap);
	for (i = 0; i <= ALIAS_STEPS_MAX; i++)
		len += (size_t)snprintf(v + len, cap - len, "u,");
	big[0].value = v;
	ck_assert_int_eq(expand("big"), ALIAS_FAIL);
	ck_assert_msg(strstr(x.err, "more than 10000 steps") != NULL, "%s",
	    x.err);
	free(v);
}
END_TEST

static Suite *
alias_suite(void)
{
	Suite *s = suite_create("alias");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, basic_setup, basic_teardown);
	tcase_add_test(tc, test_parse_kinds);
	tcase_add_test(tc, test_parse_quotes);
	tcase_add_test(tc, test_parse_empty_and_blank);
	tcase_add_test(tc, test_parse_include_file);
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_parse_nul_and_limits);
	tcase_add_test(tc, test_base);
	suite_add_tcase(s, tc);

	tc = tcase_create("expand");
	tcase_add_checked_fixture(tc, basic_setup, basic_teardown);
	tcase_add_test(tc, test_expand_notfound);
	tcase_add_test(tc, test_expand_chain_and_backslash);
	tcase_add_test(tc, test_expand_team);
	tcase_add_test(tc, test_expand_self);
	tcase_add_test(tc, test_expand_loop);
	tcase_add_test(tc, test_expand_dedup);
	tcase_add_test(tc, test_expand_extension);
	tcase_add_test(tc, test_expand_quoted_local_part);
	tcase_add_test(tc, test_expand_include);
	tcase_add_test(tc, test_expand_include_failures);
	tcase_add_test(tc, test_expand_no_include_support);
	tcase_add_test(tc, test_expand_failures);
	tcase_add_test(tc, test_expand_depth);
	tcase_add_test(tc, test_expand_limits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(alias_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
