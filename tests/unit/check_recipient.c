/*
 * SPDX-License-Identifier: ISC
 *
 * check_recipient.c -- unit tests for lib/recipient: the keys, and the
 * virtual and local recipient checks smtpd makes at RCPT time.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "recipient.h"

static struct conf *conf;
static struct recipient_tables *tables;

static void
load(const char *text)
{
	recipient_tables_free(&tables);
	if (conf != NULL)
		conf_free(&conf);
	conf = conf_new(NULL, NULL);
	ck_assert_int_eq(conf_parse(conf, "tern.conf", text, strlen(text)),
	    0);
	ck_assert_int_eq(conf_finish(conf), 0);
	tables = recipient_tables_new(conf);
}

static void
teardown(void)
{
	recipient_tables_free(&tables);
	if (conf != NULL)
		conf_free(&conf);
}

static enum recipient_known
virt(const char *addr)
{
	char err[RECIPIENT_ERR_MAX] = "";

	return recipient_virtual(tables, addr, err, sizeof(err));
}

static enum recipient_known
loc(const char *name)
{
	char err[RECIPIENT_ERR_MAX] = "";

	return recipient_local(tables, name, err, sizeof(err));
}

/* ---- recipient_keys, case by case ---------------------------------------------------- */

static const struct {
	const char *addr, *delim;
	size_t n;
	const char *keys[3];
} key_cases[] = {
	{ "user+ext@example.com", "+", 3,
	  { "user+ext@example.com", "user@example.com", "@example.com" } },
	{ "user@example.com", "+", 2, { "user@example.com", "@example.com" } },
	{ "user+ext@example.com", "", 2,
	  { "user+ext@example.com", "@example.com" } },
	{ "user-a+b@example.com", "+-", 3,
	  { "user-a+b@example.com", "user@example.com", "@example.com" } },
	{ "user+@example.com", "+", 3,
	  { "user+@example.com", "user@example.com", "@example.com" } },
	/* A delimiter first is no extension. */
	{ "+user@example.com", "+", 2,
	  { "+user@example.com", "@example.com" } },
	/* Nor one in the domain. */
	{ "user@ex+ample.com", "+", 2,
	  { "user@ex+ample.com", "@ex+ample.com" } },
	/* The last '@' separates the domain. */
	{ "\"a@b+c\"@example.com", "+", 3,
	  { "\"a@b+c\"@example.com", "\"a@b@example.com", "@example.com" } },
	{ "postmaster", "+", 1, { "postmaster" } },
};

START_TEST(test_key_table)
{
	char keys[3][RECIPIENT_KEY_MAX];
	size_t n, i;

	n = recipient_keys(key_cases[_i].addr, key_cases[_i].delim, keys);
	ck_assert_uint_eq(n, key_cases[_i].n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(keys[i], key_cases[_i].keys[i]);
}
END_TEST

START_TEST(test_key_table_long)
{
	char addr[RECIPIENT_KEY_MAX + 20], keys[3][RECIPIENT_KEY_MAX];

	/* Too long as a whole; the catch-all still fits. */
	memset(addr, 'a', sizeof(addr));
	memcpy(addr + 5, "+", 1);
	strlcpy(addr + sizeof(addr) - 10, "@x.org", 10);
	ck_assert_uint_eq(recipient_keys(addr, "+", keys), 2);
	ck_assert_str_eq(keys[0], "aaaaa@x.org");
	ck_assert_str_eq(keys[1], "@x.org");
}
END_TEST

START_TEST(test_keys)
{
	char keys[3][RECIPIENT_KEY_MAX];
	char big[RECIPIENT_KEY_MAX + 3];

	ck_assert_uint_eq(recipient_keys("a@b.test", "", keys), 2);
	ck_assert_str_eq(keys[0], "a@b.test");
	ck_assert_str_eq(keys[1], "@b.test");
	ck_assert_uint_eq(recipient_keys("a+x@b.test", "+", keys), 3);
	ck_assert_str_eq(keys[1], "a@b.test");
	ck_assert_str_eq(keys[2], "@b.test");
	/* A delimiter first is not an extension. */
	ck_assert_uint_eq(recipient_keys("+a@b.test", "+", keys), 2);
	ck_assert_uint_eq(recipient_keys("a-b+c@d", "+-", keys), 3);
	ck_assert_str_eq(keys[1], "a@d");
	ck_assert_uint_eq(recipient_keys("postmaster", "+", keys), 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '@';
	ck_assert_uint_eq(recipient_keys(big, "", keys), 1);
	ck_assert_str_eq(keys[0], big + 5);
}
END_TEST

START_TEST(test_virtual)
{
	load("virtual_mailbox_domains = v.test\n"
	    "recipient_delimiter = +\n"
	    "virtual_mailbox_maps = inline:{ alice@v.test=v/alice/, "
	    "@catch.test=v/all/ }\n");
	ck_assert_int_eq(virt("alice@v.test"), RECIPIENT_KNOWN);
	ck_assert_int_eq(virt("ALICE@V.TEST"), RECIPIENT_KNOWN);
	ck_assert_int_eq(virt("alice+box@v.test"), RECIPIENT_KNOWN);
	ck_assert_int_eq(virt("bob@v.test"), RECIPIENT_UNKNOWN);
	ck_assert_int_eq(virt("anyone@catch.test"), RECIPIENT_KNOWN);
	/* No table: nothing can be refused. */
	load("virtual_mailbox_domains = v.test\n");
	ck_assert_int_eq(virt("bob@v.test"), RECIPIENT_KNOWN);
	/* A table that cannot be opened: a temporary failure. */
	load("virtual_mailbox_maps = inline:{ broken\n");
	ck_assert_int_eq(virt("bob@v.test"), RECIPIENT_TEMPFAIL);
}
END_TEST

START_TEST(test_local)
{
	load("recipient_delimiter = +\n"
	    "alias_maps = inline:{ team=a, Sales=b }\n");
	ck_assert_int_eq(loc("postmaster"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("PostMaster"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("root"), RECIPIENT_KNOWN);	/* an account */
	ck_assert_int_eq(loc("ROOT"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("root+ext"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("team"), RECIPIENT_KNOWN);	/* an alias */
	ck_assert_int_eq(loc("sales"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("team+x"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("no-such-user-here"), RECIPIENT_UNKNOWN);
	ck_assert_int_eq(loc(""), RECIPIENT_UNKNOWN);
}
END_TEST

START_TEST(test_local_missing_tables)
{
	char dir[] = "/tmp/check_recipientXXXXXX", src[200], conftext[400];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/aliases", dir);
	snprintf(conftext, sizeof(conftext), "alias_maps = lmdb:%s\n", src);
	/* Neither the table nor its source: no aliases at all. */
	load(conftext);
	ck_assert_int_eq(loc("root"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("no-such-user-here"), RECIPIENT_UNKNOWN);
	/* A source not built yet: the alias may exist, so not a 550. */
	f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fputs("team: root\n", f);
	fclose(f);
	load(conftext);
	ck_assert_int_eq(loc("root"), RECIPIENT_KNOWN);
	ck_assert_int_eq(loc("team"), RECIPIENT_TEMPFAIL);
	ck_assert_int_eq(unlink(src), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("recipient");
	TCase *tc = tcase_create("recipient");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_keys);
	tcase_add_loop_test(tc, test_key_table, 0,
	    sizeof(key_cases) / sizeof(key_cases[0]));
	tcase_add_test(tc, test_key_table_long);
	tcase_add_test(tc, test_virtual);
	tcase_add_test(tc, test_local);
	tcase_add_test(tc, test_local_missing_tables);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
