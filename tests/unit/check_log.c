/*
 * SPDX-License-Identifier: ISC
 *
 * check_log.c -- unit tests for lib/log.c.
 *
 * Process:  test runner, any user; fatal paths run in forked children (our
 *           own, to read the line they leave) and as exit/signal tests.
 * Input:    fixed tables; log lines go to temporary files.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define PROCNAME	"check_log"
#define TEXT_MAX	16384
#define LONG_MSG	10000	/* longer than any log line */
#define NAME_LONGEST	63	/* procname log.c keeps; host name shown */
#define CHILD_SKIP	77	/* a child's "cannot test here" */

/*
 * Check passes an exit test that expects 1 on any exit(1), a failed
 * assertion's too: a call that returns where it must exit ends the test
 * with this status instead.
 */
#define EXIT_RETURNED	2

struct level {
	void		(*fn)(const char *, ...);
	const char	*word;
};

static const struct level levels[] = {
	{ log_warnx, "warning: " },
	{ log_error, "error: " },
	{ log_info, "" },
	{ log_debug, "debug: " },
};

/* Every function that returns, for the errno test. */
static void (*const returning[])(const char *, ...) = {
	log_warn, log_warnx, log_error, log_info, log_debug,
};

static const struct {
	const char	*in;
	size_t		 n;
	const char	*out;
} safe_cases[] = {
	{ "hello", 5, "hello" },
	{ "", 0, "" },
	{ "abc", 1, "a" },			/* n, not strlen, counts */
	{ "a b", 3, "a b" },			/* space is printable */
	{ "a\tb", 3, "a\\tb" },
	{ "a\r\nb", 4, "a\\r\\nb" },
	{ "\x01\x1f", 2, "\\001\\037" },
	{ "\x1b[0m", 4, "\\033[0m" },		/* no terminal escapes */
	{ "\x7f", 1, "\\177" },
	{ "caf\xc3\xa9", 5, "caf\\303\\251" },
	{ "\xff\x80", 2, "\\377\\200" },
	{ "a\0b", 3, "a\\0b" },
	{ "\0" "1", 2, "\\0001" },		/* "\01" would be ambiguous */
	{ "ab\0", 3, "ab\\0" },
	{ "back\\slash", 10, "back\\\\slash" },
	{ "<user@example.org>", 18, "<user@example.org>" },
};

/* Mixed input for the truncation tests: escapes of 1 to 4 bytes. */
static const char mixed[] = "ab\\c\r\n\0\x01\xe9 de\tf\0" "1gh\x7fij\x1b[m";

static char	logpath[64];

static void
setup(void)
{
	int fd;

	strlcpy(logpath, "/tmp/check_log.XXXXXX", sizeof(logpath));
	ck_assert_int_ne(fd = mkstemp(logpath), -1);
	close(fd);
	log_init(PROCNAME, 0);
	log_verbose(false);
	ck_assert_int_eq(log_file(logpath), 0);
}

static void
teardown(void)
{
	log_init(PROCNAME, 0);
	log_verbose(false);
	unlink(logpath);
}

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

static size_t
count_lines(const char *text)
{
	size_t n = 0;

	for (; (text = strchr(text, '\n')) != NULL; text++)
		n++;
	return n;
}

/*
 * The log file must hold one line, from process pid; returns what follows
 * "tern/<procname>[<pid>]: " in it (the static buffer text).
 */
static const char *
only_line(pid_t pid)
{
	static char text[TEXT_MAX];
	char prefix[128];
	const char *p;
	size_t len;

	len = slurp(logpath, text, sizeof(text));
	ck_assert_msg(len > 0, "nothing logged");
	ck_assert_msg(count_lines(text) == 1 && text[len - 1] == '\n',
	    "want one line, got \"%s\"", text);
	snprintf(prefix, sizeof(prefix), "tern/%s[%ld]: ", PROCNAME,
	    (long)pid);
	p = strstr(text, prefix);
	ck_assert_msg(p != NULL, "no \"%s\" in \"%s\"", prefix, text);
	ck_assert_msg(p == text || p[-1] == ' ', "prefix glued: \"%s\"", text);
	return p + strlen(prefix);
}

/* Fork; the child runs fn(arg) and should not return. */
static pid_t
spawn(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		fn(arg);
		_exit(CHILD_SKIP + 1);
	}
	return pid;
}

static int
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

START_TEST(test_init_procname)
{
	ck_assert_str_eq(log_procname(), PROCNAME);
	ck_assert_int_ne(log_fd(), -1);
	log_init("other", 0);
	ck_assert_str_eq(log_procname(), "other");
}
END_TEST

START_TEST(test_file_bad_path)
{
	int fd = log_fd();

	errno = 0;
	ck_assert_int_eq(log_file("/nonexistent-dir/check_log"), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Nothing changed: the old file still gets the lines. */
	ck_assert_int_eq(log_fd(), fd);
	log_warnx("still %s", "here");
	ck_assert_str_eq(only_line(getpid()), "warning: still here\n");
}
END_TEST

START_TEST(test_level_words)
{
	const struct level *l = &levels[_i];
	char want[128];

	log_verbose(true);
	l->fn("level %d of %s", _i, "four");
	snprintf(want, sizeof(want), "%slevel %d of four\n", l->word, _i);
	ck_assert_str_eq(only_line(getpid()), want);
}
END_TEST

START_TEST(test_warn_strerror)
{
	char want[256];

	errno = ENOENT;
	log_warn("open %s", "/nope");
	ck_assert_int_eq(errno, ENOENT);
	snprintf(want, sizeof(want), "warning: open /nope: %s\n",
	    strerror(ENOENT));
	ck_assert_str_eq(only_line(getpid()), want);
}
END_TEST

START_TEST(test_errno_kept)
{
	log_verbose(true);
	errno = EACCES;
	returning[_i]("errno %d", 1);
	ck_assert_int_eq(errno, EACCES);
	errno = 0;
	returning[_i]("errno %d", 2);
	ck_assert_int_eq(errno, 0);
}
END_TEST

START_TEST(test_debug_verbose)
{
	char text[TEXT_MAX];

	log_debug("hidden %d", 1);
	ck_assert_uint_eq(slurp(logpath, text, sizeof(text)), 0);
	log_verbose(true);
	log_debug("shown %d", 2);
	log_verbose(false);
	log_debug("hidden %d", 3);
	ck_assert_str_eq(only_line(getpid()), "debug: shown 2\n");
}
END_TEST

START_TEST(test_no_destination)
{
	char text[TEXT_MAX];
	int fd = log_fd();

	log_init(PROCNAME, 0);
	log_warnx("nowhere");
	ck_assert_uint_eq(slurp(logpath, text, sizeof(text)), 0);
	/* The file stays open and is used again once asked for. */
	ck_assert_int_eq(log_fd(), fd);
	log_init(PROCNAME, LOG_TO_FILE);
	log_warnx("back");
	ck_assert_str_eq(only_line(getpid()), "warning: back\n");
}
END_TEST

START_TEST(test_one_line_per_call)
{
	char text[TEXT_MAX];
	const char *one, *two, *three;

	log_info("one");
	log_warnx("two");
	log_error("three");
	slurp(logpath, text, sizeof(text));
	ck_assert_uint_eq(count_lines(text), 3);
	one = strstr(text, "]: one\n");
	two = strstr(text, "]: warning: two\n");
	three = strstr(text, "]: error: three\n");
	ck_assert_msg(one != NULL && two != NULL && three != NULL, "%s", text);
	ck_assert_msg(one < two && two < three, "out of order: %s", text);
}
END_TEST

/* A message longer than a line is cut, but stays one line. */
static void
check_long(void (*fn)(const char *, ...), const char *word)
{
	const char *rest;
	char *msg;
	size_t n;

	msg = malloc(LONG_MSG + 1);
	ck_assert_ptr_nonnull(msg);
	memset(msg, 'a', LONG_MSG);
	msg[LONG_MSG] = '\0';
	errno = EIO;
	fn("%s", msg);
	free(msg);
	rest = only_line(getpid());
	ck_assert_msg(strncmp(rest, word, strlen(word)) == 0, "%.40s", rest);
	n = strspn(rest + strlen(word), "a");
	ck_assert_uint_ge(n, 1024);
	ck_assert_uint_lt(n, LONG_MSG);
}

START_TEST(test_long_message)
{
	check_long(log_warnx, "warning: ");
	ck_assert_int_eq(truncate(logpath, 0), 0);
	check_long(log_warn, "warning: ");
	ck_assert_int_eq(truncate(logpath, 0), 0);
	check_long(log_info, "");
}
END_TEST

/* The longest procname, with the longest message. */
START_TEST(test_long_procname)
{
	char name[NAME_LONGEST + 10], text[TEXT_MAX], *msg;
	size_t len;

	memset(name, 'p', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	log_init(name, LOG_TO_FILE);
	len = strlen(log_procname());
	ck_assert_uint_ge(len, 16);
	ck_assert_int_eq(strncmp(log_procname(), name, len), 0);
	msg = malloc(LONG_MSG + 1);
	ck_assert_ptr_nonnull(msg);
	memset(msg, 'm', LONG_MSG);
	msg[LONG_MSG] = '\0';
	log_warnx("%s", msg);
	log_warnx("%s", msg);
	free(msg);
	len = slurp(logpath, text, sizeof(text));
	ck_assert_uint_eq(count_lines(text), 2);
	ck_assert_int_eq(text[len - 1], '\n');
}
END_TEST

/*
 * In a new UTS namespace, with the longest host name a file line can show:
 * timestamp, host, procname and message together exceed the line, which
 * must still end in '\n' so that the next line does not join it.
 */
static void
long_host_child(void *arg)
{
	char host[NAME_LONGEST + 1], name[NAME_LONGEST + 1];
	const char *msg = arg;

	if (unshare(CLONE_NEWUTS) == -1 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWUTS) == -1)
		_exit(CHILD_SKIP);
	memset(host, 'h', NAME_LONGEST);
	host[NAME_LONGEST] = '\0';
	if (sethostname(host, NAME_LONGEST) == -1)
		_exit(CHILD_SKIP);
	memset(name, 'p', NAME_LONGEST);
	name[NAME_LONGEST] = '\0';
	log_init(name, LOG_TO_FILE);
	log_warnx("%s", msg);
	log_warnx("%s", msg);
	_exit(0);
}

START_TEST(test_long_hostname)
{
	char text[TEXT_MAX], *msg;
	size_t len;
	int status;

	msg = malloc(LONG_MSG + 1);
	ck_assert_ptr_nonnull(msg);
	memset(msg, 'm', LONG_MSG);
	msg[LONG_MSG] = '\0';
	status = reap(spawn(long_host_child, msg));
	free(msg);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP) {
		printf("check_log: no UTS namespace here, "
		    "long host name test skipped\n");
		return;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	len = slurp(logpath, text, sizeof(text));
	ck_assert_msg(strstr(text, " hhhhhhhhhhhhhhhh") != NULL, "no host");
	ck_assert_uint_eq(count_lines(text), 2);
	ck_assert_int_eq(text[len - 1], '\n');
}
END_TEST

/* Standard error, redirected to a file for the test. */
START_TEST(test_stderr)
{
	char path[] = "/tmp/check_log.XXXXXX", text[TEXT_MAX], want[256];
	int fd, saved;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	fflush(stderr);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	close(fd);
	log_init(PROCNAME, LOG_TO_STDERR);
	log_warnx("to %s", "stderr");
	log_info("second");
	errno = EPERM;
	log_warn("third");
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);

	slurp(path, text, sizeof(text));
	unlink(path);
	snprintf(want, sizeof(want),
	    "tern/%s[%ld]: warning: to stderr\n"
	    "tern/%s[%ld]: second\n"
	    "tern/%s[%ld]: warning: third: %s\n",
	    PROCNAME, (long)getpid(), PROCNAME, (long)getpid(),
	    PROCNAME, (long)getpid(), strerror(EPERM));
	ck_assert_str_eq(text, want);
	/* Not to the file as well: LOG_TO_FILE was not asked for. */
	ck_assert_uint_eq(slurp(logpath, text, sizeof(text)), 0);
}
END_TEST

START_TEST(test_stderr_long)
{
	char path[] = "/tmp/check_log.XXXXXX", text[TEXT_MAX], *msg;
	int fd, saved;
	size_t len;

	msg = malloc(LONG_MSG + 1);
	ck_assert_ptr_nonnull(msg);
	memset(msg, 'e', LONG_MSG);
	msg[LONG_MSG] = '\0';
	ck_assert_int_ne(fd = mkstemp(path), -1);
	fflush(stderr);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	close(fd);
	log_init(PROCNAME, LOG_TO_STDERR);
	log_warnx("%s", msg);
	log_warnx("%s", msg);
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	free(msg);

	len = slurp(path, text, sizeof(text));
	unlink(path);
	ck_assert_uint_eq(count_lines(text), 2);
	ck_assert_int_eq(text[len - 1], '\n');
	ck_assert_int_eq(strncmp(text, "tern/" PROCNAME "[", 10), 0);
}
END_TEST

static void
fatal_child(void *arg)
{
	(void)arg;
	errno = EPERM;
	fatal("going %s", "down");
}

static void
fatalx_child(void *arg)
{
	(void)arg;
	errno = EPERM;
	fatalx("going %s", "down");
}

static void
bug_child(void *arg)
{
	(void)arg;
	bug("broken %d", 42);
}

START_TEST(test_fatal_line)
{
	char want[256];
	pid_t pid;
	int status;

	status = reap(pid = spawn(fatal_child, NULL));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %#x, want exit 1", status);
	snprintf(want, sizeof(want), "fatal: going down: %s\n",
	    strerror(EPERM));
	ck_assert_str_eq(only_line(pid), want);
}
END_TEST

START_TEST(test_fatalx_line)
{
	pid_t pid;
	int status;

	status = reap(pid = spawn(fatalx_child, NULL));
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %#x, want exit 1", status);
	ck_assert_str_eq(only_line(pid), "fatal: going down\n");
}
END_TEST

START_TEST(test_bug_line)
{
	pid_t pid;
	int status;

	status = reap(pid = spawn(bug_child, NULL));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "status %#x, want SIGABRT", status);
	ck_assert_str_eq(only_line(pid), "panic: broken 42\n");
}
END_TEST

/* Exit and signal tests, as Check sees them; no fixture: no teardown. */
START_TEST(test_fatal_exits)
{
	log_init(PROCNAME, 0);
	fatal_child(NULL);
	_exit(EXIT_RETURNED);
}
END_TEST

START_TEST(test_fatalx_exits)
{
	log_init(PROCNAME, 0);
	fatalx_child(NULL);
	_exit(EXIT_RETURNED);
}
END_TEST

START_TEST(test_bug_aborts)
{
	log_init(PROCNAME, 0);
	bug("broken %d", 43);
}
END_TEST

START_TEST(test_safe_table)
{
	char buf[LOG_SAFE_MAX], *in;
	size_t n = safe_cases[_i].n;

	/* An exact-size copy: log_safe() must read n bytes, no more. */
	in = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(in);
	memcpy(in, safe_cases[_i].in, n);
	ck_assert_ptr_eq(log_safe(buf, sizeof(buf), in, n), buf);
	ck_assert_str_eq(buf, safe_cases[_i].out);
	free(in);
}
END_TEST

/* Every byte value alone comes out as printable ASCII. */
START_TEST(test_safe_every_byte)
{
	char in[1] = { (char)_i }, buf[16];
	size_t i;

	log_safe(buf, sizeof(buf), in, 1);
	ck_assert_msg(buf[0] != '\0', "byte %#x vanished", _i);
	for (i = 0; buf[i] != '\0'; i++)
		ck_assert_msg(buf[i] >= 0x20 && buf[i] < 0x7f,
		    "byte %#x gave %#x", _i, (unsigned char)buf[i]);
	if (_i >= 0x20 && _i < 0x7f && _i != '\\') {
		ck_assert_int_eq(buf[0], _i);
		ck_assert_int_eq(buf[1], '\0');
	} else
		ck_assert_int_eq(buf[0], '\\');
}
END_TEST

/*
 * Each buffer size from 0 up: the canary after the buffer survives, the
 * output is NUL-terminated and printable, and it is either the whole
 * encoding or the encoding of a prefix of the input followed by "...".
 */
START_TEST(test_safe_sizes)
{
	const unsigned char canary = 0xa5;
	size_t sz = (size_t)_i, n = sizeof(mixed) - 1, len, k;
	char full[LOG_SAFE_MAX], part[LOG_SAFE_MAX], *buf, *in;
	bool found;

	in = malloc(n);
	ck_assert_ptr_nonnull(in);
	memcpy(in, mixed, n);
	log_safe(full, sizeof(full), in, n);

	buf = malloc(sz + 1);
	ck_assert_ptr_nonnull(buf);
	memset(buf, canary, sz + 1);
	ck_assert_ptr_eq(log_safe(buf, sz, in, n), buf);
	ck_assert_uint_eq((unsigned char)buf[sz], canary);
	if (sz == 0)
		goto done;
	ck_assert_ptr_nonnull(memchr(buf, '\0', sz));
	len = strlen(buf);
	for (k = 0; k < len; k++)
		ck_assert_msg(buf[k] >= 0x20 && buf[k] < 0x7f,
		    "sz %zu: byte %zu is %#x", sz, k, (unsigned char)buf[k]);
	if (strcmp(buf, full) == 0 || len == 0)
		goto done;
	ck_assert_msg(len >= 3 && strcmp(buf + len - 3, "...") == 0,
	    "sz %zu: cut without \"...\": \"%s\"", sz, buf);
	/* What precedes "..." never ends inside an escape. */
	buf[len - 3] = '\0';
	found = false;
	for (k = 0; k <= n && !found; k++) {
		log_safe(part, sizeof(part), in, k);
		found = strcmp(part, buf) == 0;
	}
	ck_assert_msg(found, "sz %zu: \"%s\" encodes no prefix", sz, buf);
done:
	free(buf);
	free(in);
}
END_TEST

/* Buffers with room enough for n bytes at 4 bytes each keep all of it. */
START_TEST(test_safe_room)
{
	char buf[4 * 40 + 4], *in;
	size_t n;

	in = malloc(40);
	ck_assert_ptr_nonnull(in);
	memset(in, '\001', 40);
	for (n = 0; n <= 40; n++) {
		log_safe(buf, 4 * n + 4, in, n);
		ck_assert_uint_eq(strlen(buf), 4 * n);
	}
	memset(in, 'x', 40);
	log_safe(buf, sizeof(buf), in, 40);
	ck_assert_uint_eq(strlen(buf), 40);
	free(in);
}
END_TEST

/* Large inputs into a LOG_SAFE_MAX buffer. */
START_TEST(test_safe_large)
{
	char buf[LOG_SAFE_MAX + 1], *in;
	size_t n = 100000, len;

	in = malloc(n);
	ck_assert_ptr_nonnull(in);
	memset(in, '\n', n);
	buf[LOG_SAFE_MAX] = 'C';
	log_safe(buf, LOG_SAFE_MAX, in, n);
	ck_assert_int_eq(buf[LOG_SAFE_MAX], 'C');
	len = strlen(buf);
	ck_assert_uint_lt(len, LOG_SAFE_MAX);
	ck_assert_uint_ge(len, LOG_SAFE_MAX / 4);
	ck_assert_str_eq(buf + len - 3, "...");
	ck_assert_int_eq(strncmp(buf, "\\n\\n\\n", 6), 0);
	ck_assert_ptr_null(strchr(buf, '\n'));
	free(in);
}
END_TEST

static Suite *
log_suite(bool forking)
{
	Suite *s;
	TCase *tc;

	s = suite_create("log");

	tc = tcase_create("setup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init_procname);
	tcase_add_test(tc, test_file_bad_path);
	tcase_add_test(tc, test_no_destination);
	suite_add_tcase(s, tc);

	tc = tcase_create("levels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_level_words, 0,
	    sizeof(levels) / sizeof(levels[0]));
	tcase_add_test(tc, test_warn_strerror);
	tcase_add_loop_test(tc, test_errno_kept, 0,
	    sizeof(returning) / sizeof(returning[0]));
	tcase_add_test(tc, test_debug_verbose);
	suite_add_tcase(s, tc);

	tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_line_per_call);
	tcase_add_test(tc, test_long_message);
	tcase_add_test(tc, test_long_procname);
	tcase_add_test(tc, test_long_hostname);
	tcase_add_test(tc, test_stderr);
	tcase_add_test(tc, test_stderr_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("fatal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_fatal_line);
	tcase_add_test(tc, test_fatalx_line);
	tcase_add_test(tc, test_bug_line);
	suite_add_tcase(s, tc);

	/* These would end the whole runner under CK_FORK=no. */
	tc = tcase_create("fatal_exit");
	if (forking) {
		tcase_add_exit_test(tc, test_fatal_exits, 1);
		tcase_add_exit_test(tc, test_fatalx_exits, 1);
		tcase_add_test_raise_signal(tc, test_bug_aborts, SIGABRT);
	}
	suite_add_tcase(s, tc);

	tc = tcase_create("safe");
	tcase_add_loop_test(tc, test_safe_table, 0,
	    sizeof(safe_cases) / sizeof(safe_cases[0]));
	tcase_add_loop_test(tc, test_safe_every_byte, 0, 256);
	tcase_add_loop_test(tc, test_safe_sizes, 0, 80);
	tcase_add_test(tc, test_safe_room);
	tcase_add_test(tc, test_safe_large);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	struct rlimit nocore = { 0, 0 };
	SRunner *sr;
	int failed;

	/* The abort() of bug() need not leave core files. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	sr = srunner_create(NULL);
	srunner_add_suite(sr, log_suite(srunner_fork_status(sr) != CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
