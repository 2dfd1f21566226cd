/*
 * SPDX-License-Identifier: ISC
 *
 * check_showq.c -- unit tests for daemons/showq: who may list the queue
 * (showq_allowed) under authorized_mailq_users.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    tern.conf text made here.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "showq.h"

#define MAIL_UID	((uid_t)4242)

static struct conf *
conf_with(const char *text)
{
	struct conf *c;

	ck_assert_ptr_nonnull(c = conf_new(NULL, NULL));
	ck_assert_int_eq(conf_parse(c, "tern.conf", text, strlen(text)), 0);
	ck_assert_int_eq(conf_finish(c), 0);
	return c;
}

/* A uid that is neither root, MAIL_UID nor ours. */
static uid_t
other_uid(void)
{
	return geteuid() == 5555 ? 5556 : 5555;
}

START_TEST(test_default_anyone)
{
	struct conf *c = conf_with("");

	ck_assert(showq_allowed(c, other_uid(), "alice", MAIL_UID));
	ck_assert(showq_allowed(c, other_uid(), NULL, MAIL_UID));
	conf_free(&c);
}
END_TEST

START_TEST(test_list)
{
	struct conf *c = conf_with("authorized_mailq_users = root, nagios\n");

	ck_assert(showq_allowed(c, other_uid(), "nagios", MAIL_UID));
	ck_assert(!showq_allowed(c, other_uid(), "alice", MAIL_UID));
	ck_assert(!showq_allowed(c, other_uid(), "nagio", MAIL_UID));
	ck_assert(!showq_allowed(c, other_uid(), NULL, MAIL_UID));
	/* root, mail_owner and our own uid always, whatever the list. */
	ck_assert(showq_allowed(c, 0, "root", MAIL_UID));
	ck_assert(showq_allowed(c, MAIL_UID, "tern", MAIL_UID));
	ck_assert(showq_allowed(c, geteuid(), NULL, MAIL_UID));
	/* No mail_owner account: no uid matches it. */
	ck_assert(!showq_allowed(c, (uid_t)-1, NULL, (uid_t)-1));
	conf_free(&c);
}
END_TEST

START_TEST(test_root_only)
{
	struct conf *c = conf_with("authorized_mailq_users = root\n");

	ck_assert(!showq_allowed(c, other_uid(), "alice", MAIL_UID));
	ck_assert(showq_allowed(c, 0, NULL, MAIL_UID));
	conf_free(&c);
}
END_TEST

static Suite *
showq_suite(void)
{
	Suite *s = suite_create("showq");
	TCase *tc = tcase_create("allowed");

	tcase_add_test(tc, test_default_anyone);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_root_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(showq_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
