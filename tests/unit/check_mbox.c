/*
 * SPDX-License-Identifier: ISC
 *
 * check_mbox.c -- unit tests for lib/mbox.c and the quoting side of
 * lib/mailbox.c: the From line, mboxrd quoting of From, >From and >>From
 * lines with every read boundary, the line end and blank line after a
 * message, truncation back after a failing read, dotlocks (stale ones
 * removed, fresh ones waited for, then a clear error), a second process
 * holding the fcntl lock, a mailbox replaced while we wait, and refusal of
 * symbolic links, FIFOs, devices and files with more than one link.
 *
 * Process:  test runner (Check); a scratch directory in /tmp; children
 *           that hold locks; as root, one child drops to nobody.
 * Input:    messages written here.  TZ is UTC for the From line dates.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"
#include "mailbox_test.h"
#include "mbox.h"
#include "xmem.h"

#define FROM_0	"From a@example.org Thu Jan  1 00:00:00 1970\n"
#define NOBODY	65534

static char	topdir[64];
static char	mbox[128];		/* topdir/mbox */
static char	lockname[160];		/* topdir/mbox.lock */
static int	topfd = -1;

static void
setup(void)
{
	topfd = scratch_dir("check_mbox", topdir, sizeof(topdir));
	snprintf(mbox, sizeof(mbox), "%s/mbox", topdir);
	snprintf(lockname, sizeof(lockname), "%s.lock", mbox);
}

static void
teardown(void)
{
	close(topfd);
	scratch_remove(AT_FDCWD, topdir);
}

static struct mbox_params
params(int flags)
{
	struct mbox_params p = {
		.path = mbox, .sender = "a@example.org", .when = 0,
		.flags = flags, .lock_wait_ms = 300, .stale_sec = 60,
	};

	return p;
}

static int
deliver(const struct mbox_params *p, const void *msg, size_t len,
    size_t first, size_t step, const char **err_r)
{
	struct mailbox_src src;
	struct tsrc t;
	uint64_t size;

	src = tsrc_init(&t, msg, len, first, step);
	return mbox_deliver(p, &src, &size, err_r);
}

static void
deliver_ok(const struct mbox_params *p, const void *msg, size_t len,
    size_t first, size_t step)
{
	const char *err = NULL;

	if (deliver(p, msg, len, first, step, &err) != 0)
		ck_abort_msg("mbox_deliver: %s: %s", err, strerror(errno));
}

/* The mailbox is exactly want; remove it. */
static void
expect(const char *want, size_t wlen)
{
	size_t len;
	char *got = slurp_at(AT_FDCWD, mbox, &len);

	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(got, want, wlen);
	free(got);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	ck_assert_int_eq(unlink(mbox), 0);
}

static void
expect_str(const char *want)
{
	expect(want, strlen(want));
}

static off_t
file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(test_basic)
{
	static const char msg[] = "Subject: hi\r\n\r\nFrom here\r\nbye\r\n";
	static const char one[] = FROM_0 "Delivered-To: u@example.org\n"
	    "Subject: hi\n\n>From here\nbye\n\n";
	struct mbox_params p = params(MBOX_CREATE);
	struct mailbox_src src;
	struct tsrc t;
	struct stat st;
	uint64_t size;
	const char *err = NULL;
	char want[512];

	src = tsrc_init(&t, msg, sizeof(msg) - 1, 0, 0);
	src.prefix = "Delivered-To: u@example.org\n";
	src.prefix_len = strlen(src.prefix);
	ck_assert_int_eq(mbox_deliver(&p, &src, &size, &err), 0);
	ck_assert_uint_eq(size, sizeof(one) - 1);
	ck_assert_int_eq(stat(mbox, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* A second message is appended after the blank line. */
	src = tsrc_init(&t, msg, sizeof(msg) - 1, 0, 0);
	src.prefix = "Delivered-To: u@example.org\n";
	src.prefix_len = strlen(src.prefix);
	ck_assert_int_eq(mbox_deliver(&p, &src, &size, &err), 0);
	snprintf(want, sizeof(want), "%s%s", one, one);
	expect(want, strlen(want));
}
END_TEST

/* Sender shapes on the From line; a date that is not the epoch. */
START_TEST(test_from_line)
{
	struct mbox_params p = params(MBOX_CREATE);

	p.sender = "";
	deliver_ok(&p, "x\n", 2, 0, 0);
	expect_str("From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nx\n\n");
	p.sender = "\"a b\"@example.org";
	p.when = 1700000000;
	deliver_ok(&p, "x\n", 2, 0, 0);
	expect_str("From \"a_b\"@example.org Tue Nov 14 22:13:20 2023\nx\n\n");
	p.sender = "a\n\tb\x7f@x";
	deliver_ok(&p, "", 0, 0, 0);
	expect_str("From a__b_@x Tue Nov 14 22:13:20 2023\n\n");
}
END_TEST

/* Line ends after the message: added when missing, never doubled. */
START_TEST(test_line_end)
{
	struct mbox_params p = params(MBOX_CREATE);

	deliver_ok(&p, "no end", 6, 0, 0);
	expect(FROM_0 "no end\n\n", sizeof(FROM_0) - 1 + 8);
	deliver_ok(&p, "end\r\n", 5, 0, 0);
	expect(FROM_0 "end\n\n", sizeof(FROM_0) - 1 + 5);
	deliver_ok(&p, "cr\r", 3, 0, 0);
	expect(FROM_0 "cr\r\n\n", sizeof(FROM_0) - 1 + 5);
}
END_TEST

/* Quoting, each message cut at every place. */
static const char *const quoting[] = {
	"From x\r\n",
	">From x\r\n>>From y\r\n>>>From z\r\n",
	"a\r\nFrom b\r\n\r\nFrom \r\nFrom",
	"From\r\nFromx\r\n From \r\n>From\r\n>>>\r\n>F\r\nFro",
	"x\r\n>>From ",
	"\r\nFrom \r\r\nFrom \rFrom \nFrom ",
	">\r\n>>\r\nFrom\tx\r\nFROM x\r\n",
};

START_TEST(test_quoting)
{
	const char *msg = quoting[_i];
	size_t len = strlen(msg), k, flen = sizeof(FROM_0) - 1, blen;
	struct mbox_params p = params(MBOX_CREATE);
	char *want = xmalloc(flen + 2 * len + 3);

	memcpy(want, FROM_0, flen);
	blen = ref_convert((const uint8_t *)msg, len, true,
	    (uint8_t *)want + flen);
	if (blen > 0 && want[flen + blen - 1] != '\n')
		want[flen + blen++] = '\n';
	want[flen + blen++] = '\n';
	for (k = 0; k <= len; k++) {
		deliver_ok(&p, msg, len, k, 0);
		expect(want, flen + blen);
		deliver_ok(&p, msg, len, 0, k == 0 ? 1 : k);
		expect(want, flen + blen);
	}
	free(want);
}
END_TEST

/* Lines of many '>' before "From ", longer than the output buffer. */
START_TEST(test_long_quote)
{
	size_t n = 2 * MAILBOX_OUT_MAX + 5, len = n + 8;
	struct mbox_params p = params(MBOX_CREATE);
	char *msg = xmalloc(len), *want = xmalloc(sizeof(FROM_0) + len + 3);
	size_t flen = sizeof(FROM_0) - 1;

	memset(msg, '>', n);
	memcpy(msg + n, "From x\r\n", 8);
	memcpy(want, FROM_0, flen);
	want[flen] = '>';
	memset(want + flen + 1, '>', n);
	memcpy(want + flen + 1 + n, "From x\n\n", 8);
	deliver_ok(&p, msg, len, 0, 1000);
	expect(want, flen + 1 + n + 8);
	/* The same without "From ": nothing added. */
	msg[n] = 'F';
	memcpy(msg + n + 1, "rom_x\r\n", 7);
	memcpy(want + flen, msg, n + 6);
	memcpy(want + flen + n + 6, "\n\n", 2);
	deliver_ok(&p, msg, len, 0, 999);
	expect(want, flen + n + 8);
	free(msg);
	free(want);
}
END_TEST

/* A read that fails part way: the mailbox is back to its old size. */
START_TEST(test_truncate_back)
{
	static const char old[] = FROM_0 "old\n\n";
	size_t len = 6 * MAILBOX_OUT_MAX, i, glen;
	struct mbox_params p = params(MBOX_CREATE);
	struct mailbox_src src;
	struct tsrc t;
	uint64_t size;
	const char *err = NULL;
	char *msg = xmalloc(len), *got;

	for (i = 0; i < len; i++)
		msg[i] = i % 40 == 39 ? '\n' : 'q';
	deliver_ok(&p, "old", 3, 0, 0);
	ck_assert_int_eq(file_size(mbox), sizeof(old) - 1);
	src = tsrc_init(&t, msg, len, 0, 4000);
	t.fail = true;
	t.fail_at = _i == 0 ? 0 : 4 * MAILBOX_OUT_MAX;
	t.fail_errno = ENOLINK;
	ck_assert_int_eq(mbox_deliver(&p, &src, &size, &err), -1);
	ck_assert_int_eq(errno, ENOLINK);
	ck_assert_str_eq(err, "cannot read the message");
	ck_assert_uint_eq(size, 0);
	got = slurp_at(AT_FDCWD, mbox, &glen);
	ck_assert_uint_eq(glen, sizeof(old) - 1);
	ck_assert_str_eq(got, old);
	free(got);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	/* Locks are gone: the next delivery works. */
	deliver_ok(&p, "new", 3, 0, 0);
	ck_assert_int_eq(file_size(mbox), 2 * (sizeof(old) - 1));
	free(msg);
}
END_TEST

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
make_lock(time_t age)
{
	struct timespec ts[2];
	int fd;

	fd = open(lockname, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ne(fd, -1);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	ck_assert_int_eq(futimens(fd, ts), 0);
	close(fd);
}

START_TEST(test_dotlock)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	double t0, dt;

	/* Stale: removed, delivered, no lock left. */
	make_lock(3600);
	deliver_ok(&p, "x\n", 2, 0, 0);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	ck_assert_int_eq(file_size(mbox), sizeof(FROM_0) - 1 + 3);
	/* Fresh: a bounded wait, then EAGAIN; the lock is not ours. */
	make_lock(0);
	t0 = now();
	ck_assert_int_eq(deliver(&p, "y\n", 2, 0, 0, &err), -1);
	dt = now() - t0;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_str_eq(err, "mailbox is locked (dotlock)");
	ck_assert(dt >= 0.25 && dt < 5.0);
	ck_assert_int_eq(access(lockname, F_OK), 0);
	ck_assert_int_eq(file_size(mbox), sizeof(FROM_0) - 1 + 3);
	/* Without dotlocking, the same lock file is no obstacle. */
	p.flags |= MBOX_NO_DOTLOCK;
	deliver_ok(&p, "y\n", 2, 0, 0);
	ck_assert_int_eq(access(lockname, F_OK), 0);
	ck_assert_int_eq(file_size(mbox), 2 * (sizeof(FROM_0) - 1 + 3));
}
END_TEST

/*
 * Once our dotlock shows (we are about to open and lock), give the
 * mailbox another name, create a new one, and let go of the fcntl lock on
 * the old one.
 */
static int
replace_mbox(int fd)
{
	char old[192];
	int nfd;

	while (access(lockname, F_OK) == -1)
		usleep(1000);
	usleep(500000);
	snprintf(old, sizeof(old), "%s.old", mbox);
	if (rename(mbox, old) == -1)
		return -1;
	if ((nfd = open(mbox, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	close(nfd);
	return close(fd);
}

/*
 * A child takes the fcntl lock, says so on a pipe, and with replace, also
 * moves the mailbox away and puts a new one in its place once our dotlock
 * exists; it lets go when the other pipe closes.
 */
static pid_t
lock_holder(int *release_fd, bool replace)
{
	int ready[2], rel[2], fd;
	struct flock fl;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(rel), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(ready[0]);
		close(rel[1]);
		if ((fd = open(mbox, O_RDWR)) == -1)
			_exit(2);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == -1)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		if (replace && replace_mbox(fd) == -1)
			_exit(5);
		(void)read(rel[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release_fd = rel[1];
	return pid;
}

static void
reap(pid_t pid, int release_fd)
{
	int status;

	close(release_fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(test_fcntl_contention)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	double t0, dt;
	pid_t pid;
	int rel;

	deliver_ok(&p, "x\n", 2, 0, 0);
	pid = lock_holder(&rel, false);
	t0 = now();
	ck_assert_int_eq(deliver(&p, "y\n", 2, 0, 0, &err), -1);
	dt = now() - t0;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_str_eq(err, "mailbox is locked (fcntl)");
	ck_assert(dt >= 0.25 && dt < 5.0);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	ck_assert_int_eq(file_size(mbox), sizeof(FROM_0) - 1 + 3);
	reap(pid, rel);
	deliver_ok(&p, "y\n", 2, 0, 0);
	ck_assert_int_eq(file_size(mbox), 2 * (sizeof(FROM_0) - 1 + 3));
}
END_TEST

START_TEST(test_replaced)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	pid_t pid;
	int rel;

	deliver_ok(&p, "x\n", 2, 0, 0);
	pid = lock_holder(&rel, true);
	p.lock_wait_ms = 10000;
	ck_assert_int_eq(deliver(&p, "y\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_str_eq(err, "mailbox was replaced while locking");
	reap(pid, rel);
	ck_assert_int_eq(file_size(mbox), 0);
	ck_assert_int_eq(access(lockname, F_OK), -1);
}
END_TEST

START_TEST(test_symlink_refused)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	int fd;

	fd = openat(topfd, "target", O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(symlinkat("target", topfd, "mbox"), 0);
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(err, "mailbox is a symbolic link");
	ck_assert_int_eq(file_size(mbox), 0);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	/* Dangling: not created through the link either. */
	ck_assert_int_eq(unlinkat(topfd, "mbox", 0), 0);
	ck_assert_int_eq(symlinkat("absent", topfd, "mbox"), 0);
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(faccessat(topfd, "absent", F_OK, 0), -1);
}
END_TEST

START_TEST(test_not_regular)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	int rd;

	/* A FIFO without a reader (ENXIO), then with one (EINVAL). */
	ck_assert_int_eq(mkfifo(mbox, 0600), 0);
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_str_eq(err, "mailbox is not a regular file");
	rd = open(mbox, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ne(rd, -1);
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(err, "mailbox is not a regular file");
	close(rd);
	ck_assert_int_eq(access(lockname, F_OK), -1);
	/* A device. */
	p.path = "/dev/null";
	p.flags = MBOX_NO_DOTLOCK;
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(err, "mailbox is not a regular file");
	/* A directory. */
	p.path = topdir;
	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, EISDIR);
}
END_TEST

START_TEST(test_hard_link_refused)
{
	struct mbox_params p = params(MBOX_CREATE);
	const char *err = NULL;
	char other[160];

	deliver_ok(&p, "x\n", 2, 0, 0);
	snprintf(other, sizeof(other), "%s/other", topdir);
	ck_assert_int_eq(link(mbox, other), 0);
	ck_assert_int_eq(deliver(&p, "y\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, EMLINK);
	ck_assert_str_eq(err, "mailbox has more than one hard link");
	ck_assert_int_eq(file_size(mbox), sizeof(FROM_0) - 1 + 3);
	ck_assert_int_eq(access(lockname, F_OK), -1);
}
END_TEST

START_TEST(test_missing)
{
	struct mbox_params p = params(0);
	const char *err = NULL;

	ck_assert_int_eq(deliver(&p, "x\n", 2, 0, 0, &err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(err, "cannot open the mailbox");
	ck_assert_int_eq(access(mbox, F_OK), -1);
	ck_assert_int_eq(access(lockname, F_OK), -1);
}
END_TEST

/*
 * No permission to create FILE.lock (a spool directory the recipient
 * cannot write): an error, unless MBOX_DOTLOCK_OPTIONAL.  Run in a child
 * that is nobody when we are root.
 */
START_TEST(test_dotlock_optional)
{
	struct mbox_params p = params(0);
	const char *err = NULL;
	bool root = geteuid() == 0;
	pid_t pid;
	int fd, status;

	fd = open(mbox, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ne(fd, -1);
	if (geteuid() == 0)
		ck_assert_int_eq(fchown(fd, NOBODY, NOBODY), 0);
	close(fd);
	ck_assert_int_eq(chmod(topdir, 0755), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (root && (setgroups(0, NULL) == -1 ||
		    setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
		    setresuid(NOBODY, NOBODY, NOBODY) == -1))
			_exit(2);
		if (!root && chmod(topdir, 0555) == -1)
			_exit(3);
		if (deliver(&p, "x\n", 2, 0, 0, &err) != -1 ||
		    errno != EACCES ||
		    strcmp(err, "cannot create the dotlock file") != 0)
			_exit(4);
		p.flags |= MBOX_DOTLOCK_OPTIONAL;
		if (deliver(&p, "x\n", 2, 0, 0, &err) != 0)
			_exit(5);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	(void)chmod(topdir, 0700);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(file_size(mbox), sizeof(FROM_0) - 1 + 3);
}
END_TEST

static Suite *
mbox_suite(void)
{
	Suite *s = suite_create("mbox");
	TCase *tc;

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_from_line);
	tcase_add_test(tc, test_line_end);
	tcase_add_loop_test(tc, test_quoting, 0,
	    (int)(sizeof(quoting) / sizeof(quoting[0])));
	tcase_add_test(tc, test_long_quote);
	suite_add_tcase(s, tc);

	tc = tcase_create("safety");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_truncate_back, 0, 2);
	tcase_add_test(tc, test_dotlock);
	tcase_add_test(tc, test_fcntl_contention);
	tcase_add_test(tc, test_replaced);
	tcase_add_test(tc, test_symlink_refused);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_hard_link_refused);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_dotlock_optional);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	setenv("TZ", "UTC", 1);
	tzset();
	sr = srunner_create(mbox_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
