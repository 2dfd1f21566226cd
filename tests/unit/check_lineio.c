/*
 * SPDX-License-Identifier: ISC
 *
 * check_lineio.c -- unit tests for lib/lineio.c.
 *
 * Process:  test runner (Check), no privilege; writers are the test itself
 *           or a forked child on the other end of a socketpair or pipe.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lineio.h"

static int	sv[2];		/* sv[0] is read by lineio, sv[1] written */

static void
pair_setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
pair_teardown(void)
{
	if (sv[0] != -1)
		(void)close(sv[0]);
	if (sv[1] != -1)
		(void)close(sv[1]);
	sv[0] = sv[1] = -1;
}

static void
put(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
}

static void
puts_fd(int fd, const char *s)
{
	put(fd, s, strlen(s));
}

static void
close_writer(void)
{
	ck_assert_int_eq(close(sv[1]), 0);
	sv[1] = -1;
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Expect one line with this text and CRLF flag. */
static void
expect_line(struct lineio *l, const char *want, size_t wlen, bool wcrlf)
{
	const char *line;
	size_t len;
	bool crlf;

	ck_assert_int_eq(lineio_read(l, &line, &len, &crlf), LINEIO_OK);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(line, want, wlen);
	ck_assert_int_eq(crlf, wcrlf);
}

static enum lineio_result
read_one(struct lineio *l)
{
	const char *line;
	size_t len;

	return lineio_read(l, &line, &len, NULL);
}

/* ---- table: input written at once, then EOF --------------------------- */

struct want {
	enum lineio_result r;
	const char	*text;		/* for LINEIO_OK */
	bool		 crlf;
};

struct split_case {
	size_t		 max;
	const char	*input;
	struct want	 want[8];	/* up to and including LINEIO_EOF */
};

static const struct split_case split_cases[] = {
	{ 16, "a\r\nb\nc\r\n", { { LINEIO_OK, "a", true },
	    { LINEIO_OK, "b", false }, { LINEIO_OK, "c", true },
	    { LINEIO_EOF, NULL, false } } },
	{ 16, "\n\r\n\n", { { LINEIO_OK, "", false }, { LINEIO_OK, "", true },
	    { LINEIO_OK, "", false }, { LINEIO_EOF, NULL, false } } },
	/* A CR not before LF is data. */
	{ 16, "a\rb\r\r\n", { { LINEIO_OK, "a\rb\r", true },
	    { LINEIO_EOF, NULL, false } } },
	/* Exactly max bytes, with and without CR. */
	{ 4, "abcd\nabcd\r\n", { { LINEIO_OK, "abcd", false },
	    { LINEIO_OK, "abcd", true }, { LINEIO_EOF, NULL, false } } },
	/* max + 1: TOOLONG once, then the next line. */
	{ 4, "abcde\nok\n", { { LINEIO_TOOLONG, NULL, false },
	    { LINEIO_OK, "ok", false }, { LINEIO_EOF, NULL, false } } },
	{ 4, "abcde\r\nok\r\n", { { LINEIO_TOOLONG, NULL, false },
	    { LINEIO_OK, "ok", true }, { LINEIO_EOF, NULL, false } } },
	/* Far too long: its tail is skipped, however long. */
	{ 4, "abcdefghijklmnopqrstuvwxyz0123456789\r\nx\n",
	    { { LINEIO_TOOLONG, NULL, false }, { LINEIO_OK, "x", false },
	    { LINEIO_EOF, NULL, false } } },
	{ 4, "abcdefghij\nabcdefghij\nabc\n",
	    { { LINEIO_TOOLONG, NULL, false },
	    { LINEIO_TOOLONG, NULL, false }, { LINEIO_OK, "abc", false },
	    { LINEIO_EOF, NULL, false } } },
	/* EOF with a partial line drops it. */
	{ 16, "abc\nde", { { LINEIO_OK, "abc", false },
	    { LINEIO_EOF, NULL, false }, { LINEIO_EOF, NULL, false } } },
	{ 16, "abc\r", { { LINEIO_EOF, NULL, false } } },
	/* EOF in the tail of a too-long line. */
	{ 2, "abcdefgh", { { LINEIO_TOOLONG, NULL, false },
	    { LINEIO_EOF, NULL, false } } },
	{ 0, "\r\n\nx\n", { { LINEIO_OK, "", true }, { LINEIO_OK, "", false },
	    { LINEIO_TOOLONG, NULL, false }, { LINEIO_EOF, NULL, false } } },
	{ 16, "", { { LINEIO_EOF, NULL, false } } },
};

START_TEST(test_split)
{
	const struct split_case *c = &split_cases[_i];
	const struct want *w;
	struct lineio l;
	const char *line;
	size_t len;
	bool crlf;
	enum lineio_result r;

	puts_fd(sv[1], c->input);
	close_writer();
	lineio_init(&l, sv[0], c->max, 1000);
	ck_assert_uint_eq(l.cap, c->max + 2);
	for (w = c->want; ; w++) {
		r = lineio_read(&l, &line, &len, &crlf);
		ck_assert_msg(r == w->r, "case %d step %td: got %d, want %d",
		    _i, w - c->want, r, w->r);
		if (r == LINEIO_OK) {
			ck_assert_uint_eq(len, strlen(w->text));
			ck_assert_mem_eq(line, w->text, len);
			ck_assert_int_eq(crlf, w->crlf);
			ck_assert_int_eq(line[len], '\0');
		} else {
			ck_assert_ptr_null(line);
			ck_assert_uint_eq(len, 0);
		}
		if (r == LINEIO_EOF)
			break;
	}
	lineio_free(&l);
	ck_assert_ptr_null(l.buf);
}
END_TEST

/* ---- streams ---------------------------------------------------------- */

START_TEST(test_several_in_one_write)
{
	struct lineio l;

	puts_fd(sv[1], "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"
	    "DATA\r\n");
	lineio_init(&l, sv[0], 512, 1000);
	expect_line(&l, "EHLO a", 6, true);
	expect_line(&l, "MAIL FROM:<a@b>", 15, true);
	expect_line(&l, "RCPT TO:<c@d>", 13, true);
	expect_line(&l, "DATA", 4, true);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	lineio_free(&l);
}
END_TEST

START_TEST(test_split_writes)
{
	struct lineio l;

	lineio_init(&l, sv[0], 64, 100);
	puts_fd(sv[1], "hel");
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	ck_assert_uint_eq(lineio_pending(&l), 3);
	puts_fd(sv[1], "lo\r");
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	puts_fd(sv[1], "\nwor");
	expect_line(&l, "hello", 5, true);
	puts_fd(sv[1], "ld\n");
	expect_line(&l, "world", 5, false);
	lineio_free(&l);
}
END_TEST

/* A line that fills the buffer after compaction: max bytes + CRLF. */
START_TEST(test_compaction)
{
	struct lineio l;
	char line[40];
	int i;

	lineio_init(&l, sv[0], 8, 100);
	puts_fd(sv[1], "ab\r\n12345");
	expect_line(&l, "ab", 2, true);
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	puts_fd(sv[1], "678\r\n");
	expect_line(&l, "12345678", 8, true);
	/* Lines of every length around max in a row. */
	for (i = 0; i < 12; i++) {
		memset(line, 'a' + i, (size_t)i);
		line[i] = '\n';
		put(sv[1], line, (size_t)i + 1);
	}
	for (i = 0; i < 12; i++) {
		memset(line, 'a' + i, (size_t)i);
		if (i <= 8)
			expect_line(&l, line, (size_t)i, false);
		else
			ck_assert_int_eq(read_one(&l), LINEIO_TOOLONG);
	}
	lineio_free(&l);
}
END_TEST

START_TEST(test_max_exact)
{
	struct lineio l;
	char buf[1100];

	memset(buf, 'x', 1000);
	buf[1000] = '\n';
	put(sv[1], buf, 1001);
	buf[1000] = 'x';
	buf[1001] = '\r';
	buf[1002] = '\n';
	put(sv[1], buf, 1003);
	puts_fd(sv[1], "QUIT\r\n");
	lineio_init(&l, sv[0], 1000, 1000);
	expect_line(&l, buf, 1000, false);
	ck_assert_int_eq(read_one(&l), LINEIO_TOOLONG);
	expect_line(&l, "QUIT", 4, true);
	lineio_free(&l);
}
END_TEST

/* The tail of a too-long line may come later, in pieces. */
START_TEST(test_toolong_slow_tail)
{
	struct lineio l;

	lineio_init(&l, sv[0], 4, 100);
	puts_fd(sv[1], "abcdefg");
	ck_assert_int_eq(read_one(&l), LINEIO_TOOLONG);
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	puts_fd(sv[1], "hijk");
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	puts_fd(sv[1], "lmn\nnext\n");
	expect_line(&l, "next", 4, false);
	lineio_free(&l);
}
END_TEST

START_TEST(test_nul_in_line)
{
	struct lineio l;

	put(sv[1], "a\0b\r\n\0\n", 7);
	lineio_init(&l, sv[0], 16, 1000);
	expect_line(&l, "a\0b", 3, true);
	expect_line(&l, "\0", 1, false);
	lineio_free(&l);
}
END_TEST

START_TEST(test_eof_mid_line)
{
	struct lineio l;

	puts_fd(sv[1], "one\r\ntw");
	close_writer();
	lineio_init(&l, sv[0], 16, -1);
	expect_line(&l, "one", 3, true);
	ck_assert_int_eq(read_one(&l), LINEIO_EOF);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	ck_assert_int_eq(read_one(&l), LINEIO_EOF);
	lineio_free(&l);
}
END_TEST

START_TEST(test_pipe)
{
	struct lineio l;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	puts_fd(p[1], "W\n");
	lineio_init(&l, p[0], 8, 200);
	expect_line(&l, "W", 1, false);
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	close(p[1]);
	ck_assert_int_eq(read_one(&l), LINEIO_EOF);
	lineio_free(&l);
	close(p[0]);
}
END_TEST

START_TEST(test_read_error)
{
	struct lineio l;
	int fd;

	fd = dup(sv[0]);
	ck_assert_int_ne(fd, -1);
	close(fd);
	lineio_init(&l, fd, 8, 200);
	errno = 0;
	ck_assert_int_eq(read_one(&l), LINEIO_ERR);
	ck_assert_int_eq(errno, EBADF);
	lineio_free(&l);
}
END_TEST

/* ---- timeouts --------------------------------------------------------- */

START_TEST(test_timeout_silent)
{
	struct lineio l;
	int64_t t0, dt;

	lineio_init(&l, sv[0], 64, 150);
	t0 = ms_now();
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	dt = ms_now() - t0;
	ck_assert_msg(dt >= 140 && dt < 1000, "waited %lld ms", (long long)dt);
	/* Still usable afterwards. */
	puts_fd(sv[1], "late\n");
	expect_line(&l, "late", 4, false);
	lineio_free(&l);
}
END_TEST

START_TEST(test_timeout_zero)
{
	struct lineio l;

	lineio_init(&l, sv[0], 64, 0);
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	puts_fd(sv[1], "now\npart");
	expect_line(&l, "now", 3, false);
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	lineio_free(&l);
}
END_TEST

/* A peer that trickles bytes without LF cannot extend the wait. */
START_TEST(test_timeout_total)
{
	struct lineio l;
	int64_t t0, dt;
	pid_t pid;
	int i, status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(sv[0]);
		for (i = 0; i < 100; i++) {
			if (write(sv[1], "x", 1) != 1)
				_exit(0);
			usleep(20 * 1000);
		}
		_exit(0);
	}
	lineio_init(&l, sv[0], 4096, 200);
	t0 = ms_now();
	ck_assert_int_eq(read_one(&l), LINEIO_TIMEOUT);
	dt = ms_now() - t0;
	ck_assert_msg(dt >= 190 && dt < 1000, "waited %lld ms", (long long)dt);
	ck_assert_uint_gt(lineio_pending(&l), 0);
	kill(pid, SIGKILL);	/* Check handles SIGTERM itself */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	lineio_free(&l);
}
END_TEST

/* ---- pending and discard ---------------------------------------------- */

START_TEST(test_pending_discard)
{
	struct lineio l;
	const char *burst = "STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<y>\r\n";

	lineio_init(&l, sv[0], 512, 1000);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	puts_fd(sv[1], burst);
	expect_line(&l, "STARTTLS", 8, true);
	ck_assert_uint_eq(lineio_pending(&l), strlen(burst) - 10);
	ck_assert_uint_eq(lineio_discard(&l), strlen(burst) - 10);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	ck_assert_uint_eq(lineio_discard(&l), 0);
	puts_fd(sv[1], "EHLO b\r\n");
	expect_line(&l, "EHLO b", 6, true);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	lineio_free(&l);
}
END_TEST

/* After the STARTTLS hand-off: the same reader, another descriptor. */
START_TEST(test_set_fd)
{
	struct lineio l;
	const char *line;
	size_t len;
	int other[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	lineio_init(&l, sv[0], 512, 1000);
	puts_fd(sv[1], "STARTTLS\r\nRSET\r\n");
	expect_line(&l, "STARTTLS", 8, true);
	ck_assert_int_eq(close(sv[1]), 0);
	sv[1] = -1;
	ck_assert_uint_gt(lineio_pending(&l), 0);
	expect_line(&l, "RSET", 4, true);
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_EOF);
	puts_fd(other[1], "EHLO inside\r\n");
	lineio_set_fd(&l, other[0]);
	ck_assert_uint_eq(lineio_pending(&l), 0);
	expect_line(&l, "EHLO inside", 11, true);
	lineio_free(&l);
	close(other[0]);
	close(other[1]);
}
END_TEST

/* ---- volume ----------------------------------------------------------- */

#define STREAM_BYTES	(1024 * 1024)

START_TEST(test_long_stream)
{
	struct lineio l;
	const char *line;
	char want[32], chunk[8192];
	size_t len, total = 0, n = 0, clen;
	pid_t pid;
	int status, k;
	bool crlf;
	enum lineio_result r;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(sv[0]);
		/* Odd-sized writes so lines straddle chunk boundaries. */
		while (total < STREAM_BYTES) {
			clen = 0;
			while (clen < sizeof(chunk) - 32 &&
			    total < STREAM_BYTES) {
				k = snprintf(chunk + clen, 32, "line %zu%s", n,
				    n % 3 == 0 ? "\r\n" : "\n");
				clen += (size_t)k;
				total += (size_t)k;
				n++;
			}
			for (len = 0; len < clen; len += (size_t)k) {
				k = (int)write(sv[1], chunk + len,
				    clen - len > 777 ? 777 : clen - len);
				if (k <= 0)
					_exit(1);
			}
		}
		close(sv[1]);
		_exit(0);
	}
	close_writer();
	lineio_init(&l, sv[0], 16, 5000);
	while ((r = lineio_read(&l, &line, &len, &crlf)) == LINEIO_OK) {
		k = snprintf(want, sizeof(want), "line %zu", n);
		ck_assert_uint_eq(len, (size_t)k);
		ck_assert_mem_eq(line, want, len);
		ck_assert_int_eq(crlf, n % 3 == 0);
		total += len + (crlf ? 2 : 1);
		n++;
	}
	ck_assert_int_eq(r, LINEIO_EOF);
	ck_assert_uint_ge(total, STREAM_BYTES);
	ck_assert_uint_gt(n, 80000);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	lineio_free(&l);
}
END_TEST

/* ---- pieces and raw bytes ------------------------------------------------ */

static void
expect_piece(struct lineio *l, const char *want, enum lineio_end wend)
{
	enum lineio_end end;
	const char *p;
	size_t len;

	ck_assert_int_eq(lineio_read_part(l, &p, &len, &end), LINEIO_OK);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(p, want, len);
	ck_assert_int_eq(end, wend);
}

START_TEST(test_part_long_line_in_pieces)
{
	struct lineio l;

	lineio_init(&l, sv[0], 4, 1000);
	/* A line of 10 bytes comes in pieces of 4; nothing is lost. */
	puts_fd(sv[1], "abcdefghij\r\nkl\nmn");
	close_writer();
	expect_piece(&l, "abcd", LINEIO_END_NONE);
	expect_piece(&l, "efgh", LINEIO_END_NONE);
	expect_piece(&l, "ij", LINEIO_END_CRLF);
	expect_piece(&l, "kl", LINEIO_END_LF);
	/* A partial last line at EOF is dropped, as with lineio_read. */
	{
		enum lineio_end end;
		const char *p;
		size_t len;

		ck_assert_int_eq(lineio_read_part(&l, &p, &len, &end),
		    LINEIO_EOF);
	}
	lineio_free(&l);
}
END_TEST

START_TEST(test_part_never_splits_crlf)
{
	struct lineio l;

	lineio_init(&l, sv[0], 4, 1000);
	/* The CR falls at the end of a piece: it is held back. */
	puts_fd(sv[1], "abc\rdefgh\r\n");
	expect_piece(&l, "abc", LINEIO_END_NONE);
	expect_piece(&l, "\rdef", LINEIO_END_NONE);
	expect_piece(&l, "gh", LINEIO_END_CRLF);
	/* Bare CR in the middle of a line stays content. */
	puts_fd(sv[1], "a\rb\r\n");
	expect_piece(&l, "a\rb", LINEIO_END_CRLF);
	lineio_free(&l);
}
END_TEST

START_TEST(test_raw_bytes)
{
	struct lineio l;
	const char *p, *line;
	size_t len;

	lineio_init(&l, sv[0], 64, 1000);
	puts_fd(sv[1], "BDAT 5\r\nhel");
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_OK);
	ck_assert_str_eq(line, "BDAT 5");
	/* Buffered bytes first, at most what was asked for. */
	ck_assert_int_eq(lineio_read_raw(&l, 5, &p, &len), LINEIO_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(p, "hel", 3);
	puts_fd(sv[1], "lo\r\nQUIT\r\n");
	ck_assert_int_eq(lineio_read_raw(&l, 2, &p, &len), LINEIO_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(p, "lo", 2);
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_OK);
	ck_assert_str_eq(line, "");
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_OK);
	ck_assert_str_eq(line, "QUIT");
	close_writer();
	ck_assert_int_eq(lineio_read_raw(&l, 1, &p, &len), LINEIO_EOF);
	lineio_free(&l);
}
END_TEST

START_TEST(test_raw_timeout)
{
	struct lineio l;
	const char *p;
	size_t len;

	lineio_init(&l, sv[0], 64, 100);
	ck_assert_int_eq(lineio_read_raw(&l, 10, &p, &len), LINEIO_TIMEOUT);
	lineio_free(&l);
}
END_TEST

static int hook_calls;

static void
count_hook(void *arg)
{
	hook_calls++;
	ck_assert_ptr_eq(arg, &hook_calls);
}

START_TEST(test_wait_hook)
{
	struct lineio l;
	const char *line;
	size_t len;

	lineio_init(&l, sv[0], 64, 100);
	lineio_set_wait_hook(&l, count_hook, &hook_calls);
	hook_calls = 0;
	/* Data already there: no wait, no call. */
	puts_fd(sv[1], "ONE\r\nTWO\r\n");
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_OK);
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_OK);
	ck_assert_int_eq(hook_calls, 0);
	/* Nothing there: the hook runs before the wait. */
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_TIMEOUT);
	ck_assert_int_ge(hook_calls, 1);
	/* The tail of a too-long line counts as "nothing there" once read. */
	hook_calls = 0;
	lineio_free(&l);
	lineio_init(&l, sv[0], 4, 100);
	lineio_set_wait_hook(&l, count_hook, &hook_calls);
	puts_fd(sv[1], "ABCDEFGHIJ\r\n");
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_TOOLONG);
	ck_assert_int_eq(lineio_read(&l, &line, &len, NULL), LINEIO_TIMEOUT);
	ck_assert_int_ge(hook_calls, 1);
	lineio_free(&l);
}
END_TEST

/* ---- lineio_write_all ------------------------------------------------ */

/* 3 MiB through a pipe read by a child: short writes, every byte kept. */
START_TEST(test_write_all_pipe)
{
	size_t len = 3u << 20, got = 0, i;
	uint8_t *data = malloc(len), *back = malloc(len);
	int p[2], status;
	ssize_t n;
	pid_t pid;

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(back);
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		close(p[0]);
		_exit(lineio_write_all(p[1], data, len) == 0 ? 0 : 1);
	}
	close(p[1]);
	while ((n = read(p[0], back + got, len - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(data, back, len) == 0);
	free(data);
	free(back);
}
END_TEST

START_TEST(test_write_all_error)
{
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(lineio_write_all(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
	ck_assert_int_eq(lineio_write_all(-1, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(lineio_write_all(-1, "", 0), 0);	/* nothing */
}
END_TEST

static Suite *
lineio_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("lineio");

	tc = tcase_create("read");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_loop_test(tc, test_split, 0,
	    (int)(sizeof(split_cases) / sizeof(split_cases[0])));
	tcase_add_test(tc, test_several_in_one_write);
	tcase_add_test(tc, test_split_writes);
	tcase_add_test(tc, test_compaction);
	tcase_add_test(tc, test_max_exact);
	tcase_add_test(tc, test_toolong_slow_tail);
	tcase_add_test(tc, test_nul_in_line);
	tcase_add_test(tc, test_eof_mid_line);
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_read_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeout");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_timeout_silent);
	tcase_add_test(tc, test_timeout_zero);
	tcase_add_test(tc, test_timeout_total);
	suite_add_tcase(s, tc);

	tc = tcase_create("part_raw");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_part_long_line_in_pieces);
	tcase_add_test(tc, test_part_never_splits_crlf);
	tcase_add_test(tc, test_raw_bytes);
	tcase_add_test(tc, test_raw_timeout);
	tcase_add_test(tc, test_wait_hook);
	suite_add_tcase(s, tc);

	tc = tcase_create("pending");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_add_test(tc, test_pending_discard);
	tcase_add_test(tc, test_set_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_long_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("write_all");
	tcase_add_test(tc, test_write_all_pipe);
	tcase_add_test(tc, test_write_all_error);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(lineio_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
