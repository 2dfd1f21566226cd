/*
 * SPDX-License-Identifier: ISC
 *
 * check_local.c -- unit tests for the pure parts of the local delivery
 * agent (daemons/local/liblocal.a): splitting alias_maps, the result of
 * a command's wait status, and the result of a failed mailbox write.
 *
 * Process:  test runner only.
 * Input:    literal values and wait statuses made by real children.
 * Failure:  a failed check fails the test.
 */
#include "config.h"

#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

static char *words[LOCAL_MAPS_MAX];
static size_t nwords;

static void
words_free(void)
{
	while (nwords > 0)
		free(words[--nwords]);
}

START_TEST(test_split_maps)
{
	bool more;

	nwords = local_split_maps(" lmdb:/etc/tern/aliases,inline:{ a=b, "
	    "{ c = d, e } },\tstatic:{ x y }  lmdb:/x ,", words, 8, &more);
	ck_assert(!more);
	ck_assert_uint_eq(nwords, 4);
	ck_assert_str_eq(words[0], "lmdb:/etc/tern/aliases");
	ck_assert_str_eq(words[1], "inline:{ a=b, { c = d, e } }");
	ck_assert_str_eq(words[2], "static:{ x y }");
	ck_assert_str_eq(words[3], "lmdb:/x");
	words_free();
	nwords = local_split_maps("", words, 8, &more);
	ck_assert_uint_eq(nwords, 0);
	nwords = local_split_maps("a b c", words, 2, &more);
	ck_assert(more);
	ck_assert_uint_eq(nwords, 2);
	words_free();
}
END_TEST

/* The wait status of a child that did what is asked. */
static int
status_of(int code, int sig)
{
	int status;
	pid_t pid;

	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		if (sig != 0)
			raise(sig);
		_exit(code);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(test_exit_report)
{
	struct local_report rep;

	local_exit_report(&rep, "cmd", status_of(0, 0), false, "");
	ck_assert_int_eq(rep.result, DELIVER_SENT);
	ck_assert_str_eq(rep.dsn, "2.0.0");
	ck_assert_str_eq(rep.text, "delivered to command: cmd");
	local_exit_report(&rep, "cmd", status_of(75, 0), false, "busy\nmore");
	ck_assert_int_eq(rep.result, DELIVER_DEFERRED);
	ck_assert_str_eq(rep.text, "temporary failure, command exited 75: "
	    "\"cmd\": busy");
	local_exit_report(&rep, "cmd", status_of(67, 0), false, "no such\r\n");
	ck_assert_int_eq(rep.result, DELIVER_BOUNCED);
	ck_assert_str_eq(rep.dsn, "5.1.1");
	ck_assert_str_eq(rep.text, "command died with status 67: \"cmd\": "
	    "no such");
	local_exit_report(&rep, "cmd", status_of(1, 0), false, "");
	ck_assert_str_eq(rep.dsn, "5.3.0");
	ck_assert_str_eq(rep.text, "command died with status 1: \"cmd\"");
	local_exit_report(&rep, "cmd", status_of(77, 0), false, "");
	ck_assert_str_eq(rep.dsn, "5.7.0");
	local_exit_report(&rep, "cmd", status_of(0, SIGKILL), false, "");
	ck_assert_int_eq(rep.result, DELIVER_DEFERRED);
	ck_assert_str_eq(rep.text, "command died with signal 9: \"cmd\"");
	local_exit_report(&rep, "cmd", status_of(0, SIGKILL), true, "x");
	ck_assert_int_eq(rep.result, DELIVER_DEFERRED);
	ck_assert_str_eq(rep.text, "command time limit exceeded: \"cmd\"");
}
END_TEST

START_TEST(test_errno_report)
{
	static const struct {
		int		 err;
		const char	*dsn;
	} cases[] = {
		{ EDQUOT, "4.2.2" }, { EFBIG, "4.2.2" }, { ENOSPC, "4.3.1" },
		{ EACCES, "4.2.0" }, { EAGAIN, "4.2.0" }, { EIO, "4.2.0" },
	};
	struct local_report rep;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		local_errno_report(&rep, cases[i].err, "mailbox /m", "why");
		/* A mailbox write never bounces. */
		ck_assert_int_eq(rep.result, DELIVER_DEFERRED);
		ck_assert_str_eq(rep.dsn, cases[i].dsn);
		ck_assert_msg(strncmp(rep.text, "cannot deliver to mailbox /m: "
		    "why: ", 30) == 0, "%s", rep.text);
	}
	local_errno_report(&rep, EAGAIN, "mailbox /m", NULL);
	ck_assert_msg(strncmp(rep.text, "cannot deliver to mailbox /m: locked",
	    36) == 0, "%s", rep.text);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("local");
	TCase *tc = tcase_create("pure");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_split_maps);
	tcase_add_test(tc, test_exit_report);
	tcase_add_test(tc, test_errno_report);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
