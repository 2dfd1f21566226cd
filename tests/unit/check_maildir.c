/*
 * SPDX-License-Identifier: ISC
 *
 * check_maildir.c -- unit tests for lib/maildir.c and the CRLF-to-LF side
 * of lib/mailbox.c: content cut at every place (CR and LF in different
 * reads, no last line end), the name and size reported, many deliveries
 * in a row, nothing left in tmp/ after success or failure (failing read,
 * file size limit), symbolic links refused, directories created.
 *
 * Process:  test runner (Check); a scratch directory in /tmp.
 * Input:    messages written here.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"
#include "mailbox_test.h"
#include "maildir.h"
#include "xmem.h"

static char	topdir[64];
static char	md[128];		/* topdir/Maildir */
static int	topfd = -1;

static void
setup(void)
{
	topfd = scratch_dir("check_maildir", topdir, sizeof(topdir));
	snprintf(md, sizeof(md), "%s/Maildir", topdir);
}

static void
teardown(void)
{
	close(topfd);
	scratch_remove(AT_FDCWD, topdir);
}

static int
sub(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", md, name);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	return fd;
}

/* new/ holds exactly one message, equal to want; it is removed after. */
static void
expect_one(const char *want, size_t wlen, const struct maildir_result *res)
{
	char name[NAME_MAX + 1], suffix[64];
	size_t len;
	char *got;
	int newfd = sub("new"), tmpfd = sub("tmp");

	ck_assert_uint_eq(count_at(newfd, name, sizeof(name)), 1);
	ck_assert_str_eq(name, res->name);
	ck_assert_uint_eq(count_at(tmpfd, NULL, 0), 0);
	got = slurp_at(newfd, name, &len);
	ck_assert_uint_eq(len, wlen);
	ck_assert_uint_eq(res->size, wlen);
	ck_assert_mem_eq(got, want, wlen);
	snprintf(suffix, sizeof(suffix), ",S=%zu", wlen);
	ck_assert_uint_gt(strlen(name), strlen(suffix));
	ck_assert_str_eq(name + strlen(name) - strlen(suffix), suffix);
	ck_assert_int_eq(unlinkat(newfd, name, 0), 0);
	free(got);
	close(newfd);
	close(tmpfd);
}

/* Nothing in new/ and tmp/. */
static void
expect_none(void)
{
	int newfd = sub("new"), tmpfd = sub("tmp");

	ck_assert_uint_eq(count_at(newfd, NULL, 0), 0);
	ck_assert_uint_eq(count_at(tmpfd, NULL, 0), 0);
	close(newfd);
	close(tmpfd);
}

static void
deliver_ok(const struct mailbox_src *src, struct maildir_result *res)
{
	const char *err = NULL;

	if (maildir_deliver(md, MAILDIR_CREATE, src, res, &err) != 0)
		ck_abort_msg("maildir_deliver: %s: %s", err, strerror(errno));
}

START_TEST(test_basic)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	static const char want[] =
	    "Delivered-To: u@example.org\nSubject: hi\n\nbody\n";
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	struct stat st;
	char name[NAME_MAX + 1];
	int fd;

	src = tsrc_init(&t, msg, sizeof(msg) - 1, 0, 0);
	src.prefix = "Delivered-To: u@example.org\r\n";
	src.prefix_len = strlen(src.prefix);
	deliver_ok(&src, &res);
	/* SEC.MusecPpidQnRrandom.HOST,S=SIZE */
	ck_assert_ptr_nonnull(strstr(res.name, ".M"));
	snprintf(name, sizeof(name), "P%ldQ", (long)getpid());
	ck_assert_ptr_nonnull(strstr(res.name, name));
	ck_assert_ptr_nonnull(strchr(res.name, 'R'));
	ck_assert_ptr_null(strchr(res.name, '/'));
	ck_assert_ptr_null(strchr(res.name, ':'));
	ck_assert_int_eq(stat(md, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	fd = sub("new");
	ck_assert_int_eq(fstatat(fd, res.name, &st, 0), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	close(fd);
	fd = sub("cur");
	ck_assert_uint_eq(count_at(fd, NULL, 0), 0);
	close(fd);
	expect_one(want, sizeof(want) - 1, &res);
}
END_TEST

/* Messages whose CRs and LFs fall on every read boundary. */
static const char *const splits[] = {
	"a\r\nb\r\n",
	"\r\n\r\n\r\n",
	"no line end",
	"ends in CR\r",
	"\r\r\n\r\r",
	"lone\rCR and lone\nLF\r\n",
	"From x\r\n>From y\r\nlast",
	"",
};

START_TEST(test_splits)
{
	const char *msg = splits[_i];
	size_t len = strlen(msg), wlen, k;
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	uint8_t *want = xmalloc(2 * len + 1);

	wlen = ref_convert((const uint8_t *)msg, len, false, want);
	for (k = 0; k <= len; k++) {
		/* k bytes, then the rest; and k bytes at a time. */
		src = tsrc_init(&t, msg, len, k, 0);
		deliver_ok(&src, &res);
		expect_one((const char *)want, wlen, &res);
		src = tsrc_init(&t, msg, len, 0, k == 0 ? 1 : k);
		deliver_ok(&src, &res);
		expect_one((const char *)want, wlen, &res);
	}
	free(want);
}
END_TEST

/* The prefix and the first read form one stream: CR | LF across them. */
START_TEST(test_prefix_boundary)
{
	static const char want[] = "X-A: 1\nX-B: 2\n";
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;

	src = tsrc_init(&t, "\nX-B: 2\r\n", 9, 0, 0);
	src.prefix = "X-A: 1\r";
	src.prefix_len = 7;
	deliver_ok(&src, &res);
	expect_one(want, sizeof(want) - 1, &res);
}
END_TEST

/* Large content, more than the converter's and the reader's buffers. */
START_TEST(test_large)
{
	size_t len = 3 * MAILBOX_OUT_MAX + 17, wlen, i;
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	uint8_t *msg = xmalloc(len), *want = xmalloc(2 * len + 1);

	for (i = 0; i < len; i++)
		msg[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' : 'a';
	wlen = ref_convert(msg, len, false, want);
	src = tsrc_init(&t, msg, len, 0, 4093);
	deliver_ok(&src, &res);
	expect_one((const char *)want, wlen, &res);
	free(msg);
	free(want);
}
END_TEST

START_TEST(test_unique)
{
	enum { N = 300 };
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	int newfd, tmpfd, i;

	for (i = 0; i < N; i++) {
		src = tsrc_init(&t, "x\r\n", 3, 0, 0);
		deliver_ok(&src, &res);
	}
	newfd = sub("new");
	tmpfd = sub("tmp");
	ck_assert_uint_eq(count_at(newfd, NULL, 0), N);
	ck_assert_uint_eq(count_at(tmpfd, NULL, 0), 0);
	close(newfd);
	close(tmpfd);
}
END_TEST

/* A read that fails part way: -1, its errno, nothing left anywhere. */
START_TEST(test_read_fails)
{
	size_t len = 5 * MAILBOX_OUT_MAX, i;
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	const char *err = NULL;
	uint8_t *msg = xmalloc(len);

	for (i = 0; i < len; i++)
		msg[i] = i % 10 == 9 ? '\n' : 'b';
	src = tsrc_init(&t, msg, len, 0, 1000);
	t.fail = true;
	t.fail_at = _i == 0 ? 0 : 3 * MAILBOX_OUT_MAX;
	t.fail_errno = ENOLINK;
	ck_assert_int_eq(maildir_deliver(md, MAILDIR_CREATE, &src, &res, &err),
	    -1);
	ck_assert_int_eq(errno, ENOLINK);
	ck_assert_str_eq(err, "cannot read the message");
	ck_assert_str_eq(res.name, "");
	expect_none();
	free(msg);
}
END_TEST

/* A write that fails (file size limit): EFBIG, tmp/ empty. */
START_TEST(test_write_fails)
{
	size_t len = 4 * MAILBOX_OUT_MAX;
	struct maildir_result res;
	struct mailbox_src src;
	struct rlimit rl = { 1000, 1000 };
	struct tsrc t;
	const char *err = NULL;
	uint8_t *msg = xmalloc(len);
	pid_t pid;
	int status;

	memset(msg, 'c', len);
	ck_assert_int_ne(mkdir(md, 0700), -1);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		src = tsrc_init(&t, msg, len, 0, 0);
		if (maildir_deliver(md, MAILDIR_CREATE, &src, &res, &err) !=
		    -1 || errno != EFBIG)
			_exit(3);
		_exit(strcmp(err, "cannot write the message") == 0 ? 0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	expect_none();
	free(msg);
}
END_TEST

/* Which part is a symbolic link, and what maildir_deliver says. */
static const struct {
	const char	*link;		/* relative to the Maildir's parent */
	const char	*err;
} symlinks[] = {
	{ "Maildir", "Maildir is a symbolic link" },
	{ "Maildir/tmp", "Maildir tmp/ is a symbolic link" },
	{ "Maildir/new", "Maildir new/ is a symbolic link" },
	{ "Maildir/cur", "Maildir cur/ is a symbolic link" },
};

START_TEST(test_symlink_refused)
{
	static const char *const parts[] = { "tmp", "new", "cur" };
	const char *link = symlinks[_i].link, *err = NULL;
	char path[PATH_MAX], target[PATH_MAX];
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	size_t i;
	int fd;

	/* A real Maildir elsewhere, the link pointing at it (or its part). */
	ck_assert_int_eq(mkdirat(topfd, "real", 0700), 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "real/%s", parts[i]);
		ck_assert_int_eq(mkdirat(topfd, path, 0700), 0);
	}
	if (_i != 0)
		ck_assert_int_eq(mkdirat(topfd, "Maildir", 0700), 0);
	for (i = 0; i < 3 && _i != 0; i++) {
		snprintf(path, sizeof(path), "Maildir/%s", parts[i]);
		if (strcmp(path, link) != 0)
			ck_assert_int_eq(mkdirat(topfd, path, 0700), 0);
	}
	if (_i == 0)
		strlcpy(target, "real", sizeof(target));
	else
		snprintf(target, sizeof(target), "../real/%s",
		    strrchr(link, '/') + 1);
	ck_assert_int_eq(symlinkat(target, topfd, link), 0);
	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(md, MAILDIR_CREATE, &src, &res,
	    &err), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(err, symlinks[_i].err);
	fd = openat(topfd, "real/new", O_RDONLY | O_DIRECTORY);
	ck_assert_uint_eq(count_at(fd, NULL, 0), 0);
	close(fd);
	fd = openat(topfd, "real/tmp", O_RDONLY | O_DIRECTORY);
	ck_assert_uint_eq(count_at(fd, NULL, 0), 0);
	close(fd);
}
END_TEST

START_TEST(test_missing_and_create)
{
	char path[PATH_MAX];
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	struct stat st;
	const char *err = NULL;

	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(md, 0, &src, &res, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(err, "cannot open the Maildir");
	/* Nested, missing parents, a trailing slash, doubled slashes. */
	snprintf(path, sizeof(path), "%s/a//b/Maildir/", topdir);
	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(path, MAILDIR_CREATE, &src, &res,
	    &err), 0);
	snprintf(path, sizeof(path), "%s/a/b/Maildir/new/%s", topdir,
	    res.name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 2);
	snprintf(path, sizeof(path), "%s/a/b", topdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	/* Without MAILDIR_CREATE, an existing Maildir is fine. */
	snprintf(path, sizeof(path), "%s/a/b/Maildir", topdir);
	src = tsrc_init(&t, "y\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(path, 0, &src, &res, &err), 0);
	/* A Maildir without new/: ENOENT, not created. */
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(mkdirat(topfd, "Maildir/tmp", 0700), 0);
	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(md, 0, &src, &res, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(err, "cannot open Maildir new/");
}
END_TEST

START_TEST(test_not_a_directory)
{
	struct maildir_result res;
	struct mailbox_src src;
	struct tsrc t;
	const char *err = NULL;
	int fd;

	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(mkdirat(topfd, "Maildir/tmp", 0700), 0);
	fd = openat(topfd, "Maildir/new", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	close(fd);
	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver(md, MAILDIR_CREATE, &src, &res,
	    &err), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_str_eq(err, "Maildir new/ is not a directory");
	fd = sub("tmp");
	ck_assert_uint_eq(count_at(fd, NULL, 0), 0);
	close(fd);
	src = tsrc_init(&t, "x\n", 2, 0, 0);
	ck_assert_int_eq(maildir_deliver("", 0, &src, &res, &err), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *
maildir_suite(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc;

	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_loop_test(tc, test_splits, 0,
	    (int)(sizeof(splits) / sizeof(splits[0])));
	tcase_add_test(tc, test_prefix_boundary);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("failure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_read_fails, 0, 2);
	tcase_add_test(tc, test_write_fails);
	tcase_add_loop_test(tc, test_symlink_refused, 0,
	    (int)(sizeof(symlinks) / sizeof(symlinks[0])));
	tcase_add_test(tc, test_missing_and_create);
	tcase_add_test(tc, test_not_a_directory);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(maildir_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
