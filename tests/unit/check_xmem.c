/*
 * SPDX-License-Identifier: ISC
 *
 * check_xmem.c -- unit tests for lib/xmem.c.
 *
 * Process:  test runner, any user; impossible allocations run in forked
 *           children because they must exit(1).
 * Input:    fixed tables.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmem.h"

#define HUGE_NMEMB	(SIZE_MAX / 2 + 1)	/* times 4 overflows size_t */

/*
 * Check passes an exit test that expects 1 on any exit(1), a failed
 * assertion's too: a call that returns where it must exit ends the test
 * with this status instead.
 */
#define EXIT_RETURNED	2

#ifdef __SANITIZE_ADDRESS__
/*
 * AddressSanitizer reports an impossible allocation and exits with status 1
 * itself, which would pass the exit test without reaching xmem's check: let
 * it return NULL as the C library does.
 */
const char	*__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

static const struct {
	size_t	nmemb;
	size_t	size;
} calloc_cases[] = {
	{ 0, 0 },
	{ 0, 16 },
	{ 16, 0 },
	{ 1, 1 },
	{ 3, 7 },
	{ 1000, 16 },
	{ 1, 65536 },
};

static const struct {
	const char	*in;
	size_t		 inlen;	/* bytes of in, for inputs with a NUL */
	size_t		 n;
	const char	*out;
} strndup_cases[] = {
	{ "hello", 5, 3, "hel" },
	{ "hello", 5, 5, "hello" },
	{ "hello", 5, 100, "hello" },
	{ "hello", 5, 0, "" },
	{ "", 0, 4, "" },
	{ "he\0llo", 6, 6, "he" },	/* stops at the NUL */
};

/* Read a whole small file into out (NUL-terminated); returns its length. */
static size_t
slurp(const char *path, char *out, size_t sz)
{
	FILE *fp;
	size_t n;

	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	n = fread(out, 1, sz - 1, fp);
	out[n] = '\0';
	fclose(fp);
	return n;
}

START_TEST(test_xmalloc_zero)
{
	char *p;

	p = xmalloc(0);
	ck_assert_ptr_nonnull(p);
	free(p);
}
END_TEST

START_TEST(test_xmalloc_usable)
{
	unsigned char *p;
	size_t i;

	p = xmalloc(4096);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 4096; i++)
		p[i] = (unsigned char)i;
	for (i = 0; i < 4096; i++)
		ck_assert_uint_eq(p[i], (unsigned char)i);
	free(p);
}
END_TEST

START_TEST(test_xcalloc_zeroes)
{
	size_t nmemb = calloc_cases[_i].nmemb, size = calloc_cases[_i].size;
	unsigned char *p;
	size_t i;

	p = xcalloc(nmemb, size);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < nmemb * size; i++)
		ck_assert_msg(p[i] == 0, "xcalloc(%zu, %zu): byte %zu is %u",
		    nmemb, size, i, p[i]);
	free(p);
}
END_TEST

START_TEST(test_xreallocarray_keeps)
{
	uint32_t *p;
	size_t i;

	p = xreallocarray(NULL, 10, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 10; i++)
		p[i] = (uint32_t)(i * 7919);
	p = xreallocarray(p, 100000, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(p[i], i * 7919);
	p[99999] = 1;
	p = xreallocarray(p, 3, sizeof(*p));
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(p[i], i * 7919);
	free(p);
}
END_TEST

START_TEST(test_xreallocarray_zero)
{
	void *p;

	p = xreallocarray(NULL, 0, 8);
	ck_assert_ptr_nonnull(p);
	p = xreallocarray(p, 8, 0);
	ck_assert_ptr_nonnull(p);
	free(p);
}
END_TEST

/* Exit test: the multiplication overflows, which must be fatal. */
START_TEST(test_xreallocarray_overflow_exits)
{
	log_init("check_xmem", 0);
	(void)xreallocarray(NULL, HUGE_NMEMB, 4);
	_exit(EXIT_RETURNED);
}
END_TEST

/* The same in a child of our own, to read the log line it leaves. */
START_TEST(test_xreallocarray_overflow_logs)
{
	char path[] = "/tmp/check_xmem.XXXXXX", text[1024];
	pid_t pid;
	int fd, status;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	close(fd);
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		log_init("check_xmem", 0);
		if (log_file(path) == -1)
			_exit(2);
		(void)xreallocarray(NULL, HUGE_NMEMB, 4);
		_exit(3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	slurp(path, text, sizeof(text));
	unlink(path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "child status %#x, want exit 1", status);
	ck_assert_msg(strstr(text, "tern/check_xmem[") != NULL, "log: %s",
	    text);
	ck_assert_msg(strstr(text, "]: fatal: out of memory") != NULL,
	    "log: %s", text);
	ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
}
END_TEST

START_TEST(test_xstrdup)
{
	const char *src = "mail.example.org";
	char *p;

	p = xstrdup(src);
	ck_assert_ptr_ne(p, src);
	ck_assert_str_eq(p, src);
	free(p);
	p = xstrdup("");
	ck_assert_str_eq(p, "");
	free(p);
}
END_TEST

START_TEST(test_xstrndup)
{
	size_t inlen = strndup_cases[_i].inlen, n = strndup_cases[_i].n;
	char *in, *p;

	/* An exact-size copy without a NUL: xstrndup must not read past n. */
	in = xmalloc(inlen);
	memcpy(in, strndup_cases[_i].in, inlen);
	p = xstrndup(in, n < inlen ? n : inlen);
	ck_assert_str_eq(p, strndup_cases[_i].out);
	free(p);
	free(in);
	/* With the full n on the NUL-terminated literal. */
	p = xstrndup(strndup_cases[_i].in, n);
	ck_assert_str_eq(p, strndup_cases[_i].out);
	free(p);
}
END_TEST

START_TEST(test_xasprintf)
{
	char *p, *big;

	p = xasprintf("%s-%d-%zu", "a", -42, (size_t)7);
	ck_assert_str_eq(p, "a--42-7");
	free(p);
	p = xasprintf("%s", "");
	ck_assert_str_eq(p, "");
	free(p);

	big = xmalloc(100001);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	p = xasprintf("<%s>", big);
	ck_assert_uint_eq(strlen(p), 100002);
	ck_assert_int_eq(p[0], '<');
	ck_assert_int_eq(p[100001], '>');
	ck_assert_int_eq(strspn(p + 1, "x"), 100000);
	free(p);
	free(big);
}
END_TEST

static Suite *
xmem_suite(bool forking)
{
	Suite *s;
	TCase *tc;

	s = suite_create("xmem");

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_xmalloc_zero);
	tcase_add_test(tc, test_xmalloc_usable);
	tcase_add_loop_test(tc, test_xcalloc_zeroes, 0,
	    sizeof(calloc_cases) / sizeof(calloc_cases[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("reallocarray");
	tcase_add_test(tc, test_xreallocarray_keeps);
	tcase_add_test(tc, test_xreallocarray_zero);
	tcase_add_test(tc, test_xreallocarray_overflow_logs);
	/* An exit test would end the whole runner under CK_FORK=no. */
	if (forking)
		tcase_add_exit_test(tc, test_xreallocarray_overflow_exits, 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, test_xstrdup);
	tcase_add_loop_test(tc, test_xstrndup, 0,
	    sizeof(strndup_cases) / sizeof(strndup_cases[0]));
	tcase_add_test(tc, test_xasprintf);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(NULL);
	srunner_add_suite(sr, xmem_suite(srunner_fork_status(sr) != CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
