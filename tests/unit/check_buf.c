/*
 * SPDX-License-Identifier: ISC
 *
 * check_buf.c -- unit tests for lib/buf.c.
 *
 * Process:  test runner, any user.
 * Input:    fixed tables; bug() paths run as signal tests (SIGABRT).
 */
#include "config.h"

#include <sys/resource.h>

#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

#define TEST_MAX	64
#define MIB		(1024 * 1024)

static struct buf b;

static const size_t max_cases[] = { 0, 1, 2, 63, 64, 65, 100, 4096 };

static const size_t huge_cases[] = {
	SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 3, SIZE_MAX / 2 + 1, TEST_MAX + 1,
};

static void
setup(void)
{
	buf_init(&b, TEST_MAX);
}

static void
teardown(void)
{
	buf_clear(&b);
}

/* The invariants every operation keeps. */
static void
check_nul(const struct buf *p)
{
	ck_assert_uint_le(p->len, p->max);
	if (p->data == NULL) {
		ck_assert_uint_eq(p->len, 0);
		return;
	}
	ck_assert_uint_lt(p->len, p->cap);
	ck_assert_int_eq(p->data[p->len], '\0');
}

/* Call buf_vaddf() as a caller with its own variadic wrapper would. */
static int __attribute__((format(printf, 2, 3)))
vaddf(struct buf *p, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(p, fmt, ap);
	va_end(ap);
	return r;
}

START_TEST(test_init)
{
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.max, TEST_MAX);
	ck_assert_str_eq(buf_cstr(&b), "");
	check_nul(&b);
}
END_TEST

START_TEST(test_add)
{
	ck_assert_int_eq(buf_add(&b, "abc", 3), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(b.data, "abc", 3);
	check_nul(&b);
	/* Binary data, a NUL included, is kept as is. */
	ck_assert_int_eq(buf_add(&b, "d\0e", 3), 0);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_mem_eq(b.data, "abcd\0e", 6);
	check_nul(&b);
	ck_assert_int_eq(buf_add(&b, "ignored", 0), 0);
	ck_assert_uint_eq(b.len, 6);
	check_nul(&b);
}
END_TEST

START_TEST(test_add_empty)
{
	ck_assert_int_eq(buf_add(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	check_nul(&b);
}
END_TEST

START_TEST(test_addstr)
{
	ck_assert_int_eq(buf_addstr(&b, "hello"), 0);
	ck_assert_int_eq(buf_addstr(&b, ""), 0);
	ck_assert_int_eq(buf_addstr(&b, ", world"), 0);
	ck_assert_str_eq(buf_cstr(&b), "hello, world");
	ck_assert_uint_eq(b.len, 12);
	check_nul(&b);
}
END_TEST

START_TEST(test_addf)
{
	ck_assert_int_eq(buf_addf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(buf_cstr(&b), "42-x");
	ck_assert_int_eq(buf_addf(&b, "%s", ""), 0);
	ck_assert_int_eq(buf_addf(&b, " %05.1f|%c", 2.5, 'z'), 0);
	ck_assert_str_eq(buf_cstr(&b), "42-x 002.5|z");
	ck_assert_uint_eq(b.len, strlen("42-x 002.5|z"));
	check_nul(&b);
}
END_TEST

START_TEST(test_vaddf)
{
	ck_assert_int_eq(buf_addstr(&b, "<"), 0);
	ck_assert_int_eq(vaddf(&b, "%s=%u", "n", 7U), 0);
	ck_assert_int_eq(vaddf(&b, "%s", ">"), 0);
	ck_assert_str_eq(buf_cstr(&b), "<n=7>");
	check_nul(&b);
}
END_TEST

/* Fill to exactly max in odd chunks; one byte more must fail unchanged. */
START_TEST(test_max_exact)
{
	size_t max = max_cases[_i], n;
	char chunk[7], *want;
	struct buf m;

	memset(chunk, 'q', sizeof(chunk));
	buf_init(&m, max);
	while (m.len < max) {
		n = max - m.len < sizeof(chunk) ? max - m.len : sizeof(chunk);
		chunk[0] = (char)('a' + m.len % 26);
		ck_assert_int_eq(buf_add(&m, chunk, n), 0);
		check_nul(&m);
	}
	ck_assert_uint_eq(m.len, max);
	want = malloc(max + 1);
	ck_assert_ptr_nonnull(want);
	memcpy(want, buf_cstr(&m), max + 1);

	ck_assert_int_eq(buf_add(&m, "x", 1), -1);
	ck_assert_int_eq(buf_addstr(&m, "x"), -1);
	ck_assert_int_eq(buf_addf(&m, "%c", 'x'), -1);
	ck_assert_int_eq(vaddf(&m, "%d", 1), -1);
	ck_assert_uint_eq(m.len, max);
	ck_assert_mem_eq(buf_cstr(&m), want, max + 1);
	check_nul(&m);
	/* Adding nothing to a full buffer is fine. */
	ck_assert_int_eq(buf_add(&m, "x", 0), 0);
	ck_assert_int_eq(buf_addf(&m, "%s", ""), 0);
	ck_assert_uint_eq(m.len, max);
	free(want);
	buf_clear(&m);
}
END_TEST

/* max + 1 bytes in one go: refused, the buffer stays as it was. */
START_TEST(test_max_plus_one)
{
	size_t max = max_cases[_i];
	struct buf m;
	char *big;

	big = malloc(max + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'z', max + 1);
	buf_init(&m, max);
	ck_assert_int_eq(buf_add(&m, big, max + 1), -1);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_str_eq(buf_cstr(&m), "");
	if (max > 0) {
		ck_assert_int_eq(buf_add(&m, "a", 1), 0);
		ck_assert_int_eq(buf_add(&m, big, max), -1);
		ck_assert_uint_eq(m.len, 1);
		ck_assert_str_eq(buf_cstr(&m), "a");
		ck_assert_int_eq(buf_add(&m, big, max - 1), 0);
		ck_assert_uint_eq(m.len, max);
	}
	check_nul(&m);
	free(big);
	buf_clear(&m);
}
END_TEST

START_TEST(test_addf_past_max)
{
	struct buf m;

	buf_init(&m, 10);
	ck_assert_int_eq(buf_addstr(&m, "12345"), 0);
	ck_assert_int_eq(buf_addf(&m, "%s", "678901"), -1);
	ck_assert_int_eq(buf_addf(&m, "%d", 678901), -1);
	ck_assert_uint_eq(m.len, 5);
	ck_assert_str_eq(buf_cstr(&m), "12345");
	check_nul(&m);
	ck_assert_int_eq(buf_addf(&m, "%d", 67890), 0);
	ck_assert_str_eq(buf_cstr(&m), "1234567890");
	ck_assert_int_eq(buf_addf(&m, "%c", '!'), -1);
	ck_assert_str_eq(buf_cstr(&m), "1234567890");
	buf_clear(&m);
}
END_TEST

START_TEST(test_max_zero)
{
	struct buf m;

	buf_init(&m, 0);
	ck_assert_int_eq(buf_add(&m, "x", 0), 0);
	ck_assert_int_eq(buf_addstr(&m, ""), 0);
	ck_assert_int_eq(buf_addf(&m, "%s", ""), 0);
	ck_assert_int_eq(buf_add(&m, "x", 1), -1);
	ck_assert_int_eq(buf_addstr(&m, "x"), -1);
	ck_assert_int_eq(buf_addf(&m, "x"), -1);
	ck_assert_uint_eq(m.len, 0);
	ck_assert_str_eq(buf_cstr(&m), "");
	check_nul(&m);
	buf_consume(&m, 0);
	buf_truncate(&m, 0);
	ck_assert_str_eq(buf_cstr(&m), "");
	buf_clear(&m);
}
END_TEST

/* Lengths whose sum with len would wrap must fail, not wrap. */
START_TEST(test_huge_n)
{
	static const char one = 'x';
	size_t n = huge_cases[_i];

	ck_assert_int_eq(buf_add(&b, &one, n), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_addstr(&b, "abc"), 0);
	ck_assert_int_eq(buf_add(&b, &one, n), -1);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_str_eq(buf_cstr(&b), "abc");
	check_nul(&b);
}
END_TEST

/* A max of SIZE_MAX means "no limit": it must not wrap max + 1. */
START_TEST(test_max_unlimited)
{
	static const char one = 'x';
	struct buf m;
	size_t i;

	buf_init(&m, SIZE_MAX);
	ck_assert_int_eq(buf_addstr(&m, "hello"), 0);
	ck_assert_str_eq(buf_cstr(&m), "hello");
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_add(&m, "0123456789", 10), 0);
	ck_assert_uint_eq(m.len, 10005);
	ck_assert_uint_ge(m.cap, m.len + 1);
	ck_assert_mem_eq(m.data + 9995, "0123456789", 11);
	check_nul(&m);
	ck_assert_int_eq(buf_add(&m, &one, SIZE_MAX), -1);
	ck_assert_int_eq(buf_add(&m, &one, SIZE_MAX - m.len), -1);
	ck_assert_uint_eq(m.len, 10005);
	buf_clear(&m);
}
END_TEST

START_TEST(test_consume)
{
	ck_assert_int_eq(buf_addstr(&b, "hello world"), 0);
	buf_consume(&b, 0);
	ck_assert_str_eq(buf_cstr(&b), "hello world");
	buf_consume(&b, 6);
	ck_assert_str_eq(buf_cstr(&b), "world");
	ck_assert_uint_eq(b.len, 5);
	check_nul(&b);
	buf_consume(&b, 5);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	check_nul(&b);
	/* The buffer goes on working after being emptied. */
	ck_assert_int_eq(buf_addstr(&b, "again"), 0);
	ck_assert_str_eq(buf_cstr(&b), "again");
}
END_TEST

START_TEST(test_consume_fresh)
{
	buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
}
END_TEST

START_TEST(test_truncate)
{
	ck_assert_int_eq(buf_addstr(&b, "hello world"), 0);
	buf_truncate(&b, 11);
	ck_assert_str_eq(buf_cstr(&b), "hello world");
	buf_truncate(&b, 5);
	ck_assert_str_eq(buf_cstr(&b), "hello");
	ck_assert_uint_eq(b.len, 5);
	check_nul(&b);
	buf_truncate(&b, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	check_nul(&b);
	ck_assert_int_eq(buf_addstr(&b, "x"), 0);
	ck_assert_str_eq(buf_cstr(&b), "x");
}
END_TEST

START_TEST(test_truncate_fresh)
{
	buf_truncate(&b, 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
}
END_TEST

/* Signal tests: n > len is a caller's bug, bug() aborts. */
START_TEST(test_consume_past_len)
{
	log_init("check_buf", 0);	/* the panic line is not the point */
	ck_assert_int_eq(buf_addstr(&b, "abc"), 0);
	buf_consume(&b, 4);
	ck_abort_msg("buf_consume(4) of 3 bytes returned");
}
END_TEST

START_TEST(test_truncate_past_len)
{
	log_init("check_buf", 0);
	ck_assert_int_eq(buf_addstr(&b, "abc"), 0);
	buf_truncate(&b, 4);
	ck_abort_msg("buf_truncate(4) of 3 bytes returned");
}
END_TEST

START_TEST(test_consume_fresh_past_len)
{
	log_init("check_buf", 0);
	buf_consume(&b, 1);
	ck_abort_msg("buf_consume(1) of an empty buffer returned");
}
END_TEST

START_TEST(test_reset_keeps_memory)
{
	uint8_t *data;
	size_t cap;

	ck_assert_int_eq(buf_addstr(&b, "some text that is kept"), 0);
	data = b.data;
	cap = b.cap;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.max, TEST_MAX);
	check_nul(&b);
	ck_assert_int_eq(buf_addstr(&b, "new"), 0);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_str_eq(buf_cstr(&b), "new");
}
END_TEST

START_TEST(test_reset_fresh)
{
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
}
END_TEST

START_TEST(test_clear)
{
	ck_assert_int_eq(buf_addstr(&b, "secret"), 0);
	buf_clear(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	/* Still usable, with the same limit. */
	ck_assert_int_eq(buf_addstr(&b, "after"), 0);
	ck_assert_str_eq(buf_cstr(&b), "after");
	ck_assert_uint_eq(b.max, TEST_MAX);
	buf_clear(&b);
	buf_clear(&b);			/* twice is harmless */
	ck_assert_ptr_null(b.data);
}
END_TEST

/* Many small appends up to exactly 1 MiB, then one byte too many. */
START_TEST(test_grow_to_mib)
{
	static const char pat[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	const size_t plen = sizeof(pat) - 1;
	struct buf m;
	size_t i, n, off;

	buf_init(&m, MIB);
	for (i = 0; m.len < MIB; i++) {
		n = i % 13 + 1;
		if (n > MIB - m.len)
			n = MIB - m.len;
		off = m.len % plen;
		if (off + n > plen)
			n = plen - off;
		ck_assert_int_eq(buf_add(&m, pat + off, n), 0);
	}
	ck_assert_uint_eq(m.len, MIB);
	ck_assert_uint_le(m.cap, (size_t)MIB + 1);
	check_nul(&m);
	for (i = 0; i < MIB; i++)
		if (m.data[i] != (uint8_t)pat[i % plen])
			ck_abort_msg("byte %zu is %#x, want %#x", i,
			    m.data[i], (uint8_t)pat[i % plen]);
	ck_assert_int_eq(buf_add(&m, "x", 1), -1);
	ck_assert_uint_eq(m.len, MIB);
	check_nul(&m);
	buf_consume(&m, MIB - 3);
	ck_assert_uint_eq(m.len, 3);
	ck_assert_mem_eq(m.data, pat + (MIB - 3) % plen, 3);
	check_nul(&m);
	buf_clear(&m);
}
END_TEST

static Suite *
buf_suite(bool forking)
{
	Suite *s;
	TCase *tc;

	s = suite_create("buf");

	tc = tcase_create("add");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_add);
	tcase_add_test(tc, test_add_empty);
	tcase_add_test(tc, test_addstr);
	tcase_add_test(tc, test_addf);
	tcase_add_test(tc, test_vaddf);
	suite_add_tcase(s, tc);

	tc = tcase_create("max");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_max_exact, 0,
	    sizeof(max_cases) / sizeof(max_cases[0]));
	tcase_add_loop_test(tc, test_max_plus_one, 0,
	    sizeof(max_cases) / sizeof(max_cases[0]));
	tcase_add_test(tc, test_addf_past_max);
	tcase_add_test(tc, test_max_zero);
	tcase_add_loop_test(tc, test_huge_n, 0,
	    sizeof(huge_cases) / sizeof(huge_cases[0]));
	tcase_add_test(tc, test_max_unlimited);
	suite_add_tcase(s, tc);

	tc = tcase_create("consume_truncate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_consume);
	tcase_add_test(tc, test_consume_fresh);
	tcase_add_test(tc, test_truncate);
	tcase_add_test(tc, test_truncate_fresh);
	/* A signal test would end the whole runner under CK_FORK=no. */
	if (forking) {
		tcase_add_test_raise_signal(tc, test_consume_past_len,
		    SIGABRT);
		tcase_add_test_raise_signal(tc, test_truncate_past_len,
		    SIGABRT);
		tcase_add_test_raise_signal(tc, test_consume_fresh_past_len,
		    SIGABRT);
	}
	suite_add_tcase(s, tc);

	tc = tcase_create("reset_clear");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_reset_keeps_memory);
	tcase_add_test(tc, test_reset_fresh);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_grow_to_mib);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	struct rlimit nocore = { 0, 0 };
	SRunner *sr;
	int failed;

	/* The abort() of the signal tests need not leave core files. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	sr = srunner_create(NULL);
	srunner_add_suite(sr, buf_suite(srunner_fork_status(sr) != CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
