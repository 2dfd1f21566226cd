/*
 * SPDX-License-Identifier: ISC
 *
 * check_bounce.c -- unit tests for bounce's pure parts: who gets a
 * notice (bounce_route) and which diagnostics are server replies.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"

static const struct bounce_conf bc = {
	.myorigin = "example.org",
	.myhostname = "mx.example.org",
	.double_bounce_sender = "double-bounce",
	.notice_rcpt = "postmaster",
};

static const struct {
	const char	*sender;
	enum dsn_kind	 kind;
	const char	*rcpt;		/* the one reported on */
	enum bounce_to	 to;
	const char	*env_sender, *notice_to;
} cases[] = {
	{ "a@example.net", DSN_FAILURE, "b@x", BOUNCE_TO_SENDER, "",
	    "a@example.net" },
	{ "a@example.net", DSN_DELAY, "b@x", BOUNCE_TO_SENDER, "",
	    "a@example.net" },
	{ "a@example.net", DSN_SUCCESS, "b@x", BOUNCE_TO_SENDER, "",
	    "a@example.net" },
	/* A local sender without a domain gets myorigin's. */
	{ "alice", DSN_FAILURE, "b@x", BOUNCE_TO_SENDER, "",
	    "alice@example.org" },
	/* A bounce that bounced: to the postmaster, from double-bounce. */
	{ "", DSN_FAILURE, "a@example.net", BOUNCE_TO_NOTICE_RCPT,
	    "double-bounce@example.org", "postmaster@example.org" },
	{ "", DSN_DELAY, "a@example.net", BOUNCE_TO_NOBODY, NULL, NULL },
	{ "", DSN_SUCCESS, "a@example.net", BOUNCE_TO_NOBODY, NULL, NULL },
	/* From <> to the postmaster itself: nobody left to tell. */
	{ "", DSN_FAILURE, "postmaster", BOUNCE_TO_NOBODY, NULL, NULL },
	{ "", DSN_FAILURE, "PostMaster@example.org", BOUNCE_TO_NOBODY, NULL,
	    NULL },
	{ "", DSN_FAILURE, "postmaster@mx.example.org", BOUNCE_TO_NOBODY,
	    NULL, NULL },
	{ "", DSN_FAILURE, "postmaster@example.net", BOUNCE_TO_NOTICE_RCPT,
	    "double-bounce@example.org", "postmaster@example.org" },
	/* Mail from double-bounce is never returned. */
	{ "double-bounce@example.org", DSN_FAILURE, "postmaster",
	    BOUNCE_TO_NOBODY, NULL, NULL },
	{ "Double-Bounce@MX.example.org", DSN_FAILURE, "x@y",
	    BOUNCE_TO_NOBODY, NULL, NULL },
	{ "double-bounce", DSN_DELAY, "x@y", BOUNCE_TO_NOBODY, NULL, NULL },
	{ "double-bounce@example.net", DSN_FAILURE, "x@y", BOUNCE_TO_SENDER,
	    "", "double-bounce@example.net" },
};

START_TEST(test_route)
{
	struct bounce_route rt;
	const char *r[1] = { cases[_i].rcpt };

	ck_assert_int_eq(bounce_route(&bc, cases[_i].sender, cases[_i].kind,
	    r, 1, &rt), 0);
	ck_assert_int_eq(rt.to, cases[_i].to);
	if (rt.to == BOUNCE_TO_NOBODY) {
		ck_assert_ptr_nonnull(rt.why);
		return;
	}
	ck_assert_str_eq(rt.env_sender, cases[_i].env_sender);
	ck_assert_str_eq(rt.rcpt, cases[_i].notice_to);
}
END_TEST

START_TEST(test_route_several)
{
	struct bounce_route rt;
	const char *r[3] = { "postmaster", "postmaster@example.org",
	    "other@example.net" };

	/* Only when every recipient is the postmaster is it skipped. */
	ck_assert_int_eq(bounce_route(&bc, "", DSN_FAILURE, r, 3, &rt), 0);
	ck_assert_int_eq(rt.to, BOUNCE_TO_NOTICE_RCPT);
	ck_assert_int_eq(bounce_route(&bc, "", DSN_FAILURE, r, 2, &rt), 0);
	ck_assert_int_eq(rt.to, BOUNCE_TO_NOBODY);
}
END_TEST

START_TEST(test_route_too_long)
{
	struct bounce_route rt;
	char sender[QFILE_ADDR_MAX + 1];
	const char *r[1] = { "x@y" };

	memset(sender, 'a', QFILE_ADDR_MAX);
	sender[QFILE_ADDR_MAX] = '\0';
	/* No domain, and no room to add one. */
	ck_assert_int_eq(bounce_route(&bc, sender, DSN_FAILURE, r, 1, &rt),
	    -1);
}
END_TEST

START_TEST(test_diag_smtp)
{
	ck_assert(bounce_diag_smtp("550 5.1.1 no such user"));
	ck_assert(bounce_diag_smtp("421-4.7.0 try later"));
	ck_assert(bounce_diag_smtp("250"));
	ck_assert(!bounce_diag_smtp("mailbox full"));
	ck_assert(!bounce_diag_smtp("5501 x"));
	ck_assert(!bounce_diag_smtp("650 x"));
	ck_assert(!bounce_diag_smtp("55"));
	ck_assert(!bounce_diag_smtp(""));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("bounce");
	TCase *tc = tcase_create("route");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_route, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_route_several);
	tcase_add_test(tc, test_route_too_long);
	tcase_add_test(tc, test_diag_smtp);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
