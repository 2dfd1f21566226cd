/*
 * SPDX-License-Identifier: ISC
 *
 * check_qid.c -- unit tests for lib/qid.c: format, order within one
 * process, uniqueness across processes, validation and time decoding.
 *
 * Process:  test runner (Check), no privilege; forked children make IDs
 *           into a shared anonymous mapping.
 * Input:    IDs made here, and fixed tables of bad ones.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qid.h"
#include "xmem.h"

#define ALPHABET	"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define ORDER_N		100000
#define CHILDREN	8
#define PER_CHILD	10000

static void
new_id(char id[QID_LEN + 1])
{
	ck_assert_int_eq(qid_new(id), 0);
}

static int64_t
usec_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}

START_TEST(test_format)
{
	char id[QID_LEN + 1];
	size_t i;

	memset(id, 'x', sizeof(id));
	new_id(id);
	ck_assert_uint_eq(strlen(id), QID_LEN);
	for (i = 0; i < QID_LEN; i++)
		ck_assert_msg(strchr(ALPHABET, id[i]) != NULL,
		    "byte %zu of %s", i, id);
	ck_assert(qid_valid(id, strlen(id)));
}
END_TEST

/* Byte order is creation order, even many IDs in one microsecond. */
START_TEST(test_order)
{
	struct timespec prev_t, t, before, after;
	char *ids;
	size_t i;

	ids = xcalloc(ORDER_N, QID_LEN + 1);
	clock_gettime(CLOCK_REALTIME, &before);
	/* No ck_assert in the loops: each passing one is a write(2). */
	for (i = 0; i < ORDER_N; i++)
		if (qid_new(ids + i * (QID_LEN + 1)) != 0)
			ck_abort_msg("qid_new: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &after);
	for (i = 1; i < ORDER_N; i++) {
		if (strcmp(ids + (i - 1) * (QID_LEN + 1),
		    ids + i * (QID_LEN + 1)) >= 0)
			ck_abort_msg("ID %zu <= ID %zu", i, i - 1);
		if (qid_time(ids + (i - 1) * (QID_LEN + 1), &prev_t) != 0 ||
		    qid_time(ids + i * (QID_LEN + 1), &t) != 0)
			ck_abort_msg("qid_time %zu", i);
		if (usec_of(&prev_t) > usec_of(&t))
			ck_abort_msg("time of ID %zu < time of ID %zu", i,
			    i - 1);
	}
	/* The decoded times lie within the loop (a few carried usec aside). */
	ck_assert_int_eq(qid_time(ids, &t), 0);
	ck_assert_int_ge(usec_of(&t), usec_of(&before));
	ck_assert_int_eq(qid_time(ids + (ORDER_N - 1) * (QID_LEN + 1), &t), 0);
	ck_assert_int_le(usec_of(&t), usec_of(&after) + 1000);
	free(ids);
}
END_TEST

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, QID_LEN + 1);
}

/* CHILDREN processes and the parent make IDs at the same time. */
START_TEST(test_unique_across_fork)
{
	const size_t total = (CHILDREN + 1) * PER_CHILD;
	const size_t sz = total * (QID_LEN + 1);
	pid_t pids[CHILDREN];
	char *ids, *mine;
	int status, c, i;
	size_t k;

	ids = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	ck_assert_ptr_ne(ids, MAP_FAILED);
	for (c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		ck_assert_int_ne(pids[c], -1);
		if (pids[c] == 0) {
			mine = ids + (size_t)c * PER_CHILD * (QID_LEN + 1);
			for (i = 0; i < PER_CHILD; i++)
				if (qid_new(mine + (size_t)i * (QID_LEN + 1)))
					_exit(1);
			_exit(0);
		}
	}
	mine = ids + (size_t)CHILDREN * PER_CHILD * (QID_LEN + 1);
	for (i = 0; i < PER_CHILD; i++)
		if (qid_new(mine + (size_t)i * (QID_LEN + 1)) != 0)
			ck_abort_msg("qid_new: %s", strerror(errno));
	for (c = 0; c < CHILDREN; c++) {
		ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	qsort(ids, total, QID_LEN + 1, cmp_id);
	for (k = 0; k < total; k++)
		if (!qid_valid(ids + k * (QID_LEN + 1), QID_LEN))
			ck_abort_msg("invalid \"%.*s\"", QID_LEN,
			    ids + k * (QID_LEN + 1));
	for (k = 1; k < total; k++)
		if (cmp_id(ids + (k - 1) * (QID_LEN + 1),
		    ids + k * (QID_LEN + 1)) == 0)
			ck_abort_msg("duplicate %s", ids + k * (QID_LEN + 1));
	ck_assert_int_eq(munmap(ids, sz), 0);
}
END_TEST

/* Hand-computed IDs: the layout is part of the interface. */
static const struct {
	const char	*id;
	time_t		 sec;
	long		 nsec;
} good_ids[] = {
	{ "000000000000000000000000", 0, 0 },
	{ "00000001YGHZ000000000000", 1, 999999000 },
	{ "01JN7W803RJ000GGZZZZZZZZ", 1700000000, 123456000 },
	{ "ZZZZZZZZYGHZZZZZZZZZZZZZ", (time_t)((INT64_C(1) << 40) - 1),
	  999999000 },
};

START_TEST(test_good_ids)
{
	struct timespec ts;

	ck_assert(qid_valid(good_ids[_i].id, QID_LEN));
	ck_assert_int_eq(qid_time(good_ids[_i].id, &ts), 0);
	ck_assert_int_eq(ts.tv_sec, good_ids[_i].sec);
	ck_assert_int_eq(ts.tv_nsec, good_ids[_i].nsec);
}
END_TEST

START_TEST(test_time_now)
{
	struct timespec before, t, after;
	char id[QID_LEN + 1];

	clock_gettime(CLOCK_REALTIME, &before);
	new_id(id);
	clock_gettime(CLOCK_REALTIME, &after);
	ck_assert_int_eq(qid_time(id, &t), 0);
	ck_assert_int_eq(t.tv_nsec % 1000, 0);
	ck_assert_int_ge(usec_of(&t), usec_of(&before));
	/* test_order may have carried this process a little ahead. */
	ck_assert_int_le(usec_of(&t), usec_of(&after) + 1000);
}
END_TEST

static const struct {
	const char	*what;
	const char	*id;
	size_t		 len;		/* 0: strlen */
} bad_ids[] = {
	{ "empty", "", 0 },
	{ "one short", "00000000000000000000000", 0 },
	{ "one long", "0000000000000000000000000", 0 },
	{ "lower case", "01jn7w803rj000ggzzzzzzzz", 0 },
	{ "one lower-case letter", "01JN7W803RJ000GGZZZZZZZa", 0 },
	{ "I", "0000000000000000000000I0", 0 },
	{ "L", "0000000000000000000000L0", 0 },
	{ "O", "0000000000000000000000O0", 0 },
	{ "U", "0000000000000000000000U0", 0 },
	{ "dash", "00000000-000000000000000", 0 },
	{ "slash", "00000000/000000000000000", 0 },
	{ "dot", "00000000.000000000000000", 0 },
	{ "space", "00000000 000000000000000", 0 },
	{ "8-bit", "00000000\xc3\xa9" "0000000000000", 0 },
	{ "NUL inside", "00000000\0" "000000000000000", QID_LEN },
	{ "microseconds 1000000", "00000000YGJ0000000000000", 0 },
	{ "microseconds ZZZZ", "00000000ZZZZ000000000000", 0 },
};

START_TEST(test_bad_ids)
{
	struct timespec ts = { 7, 7 };
	const char *id = bad_ids[_i].id;
	size_t len = bad_ids[_i].len ? bad_ids[_i].len : strlen(id);

	ck_assert_msg(!qid_valid(id, len), "%s accepted", bad_ids[_i].what);
	errno = 0;
	ck_assert_int_eq(qid_time(id, &ts), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ts.tv_sec, 7);
}
END_TEST

/* A valid ID inside a longer string is valid only with its length. */
START_TEST(test_valid_len)
{
	const char *s = "01JN7W803RJ000GGZZZZZZZZ.tmp";
	struct timespec ts;

	ck_assert(qid_valid(s, QID_LEN));
	ck_assert(!qid_valid(s, QID_LEN + 1));
	ck_assert(!qid_valid(s, strlen(s)));
	ck_assert(!qid_valid(NULL, QID_LEN));
	ck_assert_int_eq(qid_time(s, &ts), -1);
	ck_assert_int_eq(qid_time(NULL, &ts), -1);
}
END_TEST

static Suite *
qid_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("qid");

	tc = tcase_create("new");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_unique_across_fork);
	tcase_add_test(tc, test_time_now);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_good_ids, 0,
	    (int)(sizeof(good_ids) / sizeof(good_ids[0])));
	tcase_add_loop_test(tc, test_bad_ids, 0,
	    (int)(sizeof(bad_ids) / sizeof(bad_ids[0])));
	tcase_add_test(tc, test_valid_len);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(qid_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
