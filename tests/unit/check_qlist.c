/*
 * SPDX-License-Identifier: ISC
 *
 * check_qlist.c -- unit tests for lib/qlist.c: escaping of untrusted
 * text, the showq request parser, defer/ID reasons, the listing of a
 * queue made here (text and JSON), and the client side of showq over a
 * socketpair.
 *
 * Process:  test runner (Check), no privilege; TZ=UTC for the times.
 * Input:    queue files written with lib/qfile's writer into a temporary
 *           queue directory; fixed tables.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"
#include "qid.h"
#include "qlist.h"
#include "xmem.h"

#define ARRIVAL		1700000000	/* Tue Nov 14 22:13:20 2023 UTC */

/* What f made of s, through a memory stream. */
static char *
through(void (*f)(FILE *, const char *), const char *s)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	ck_assert_ptr_nonnull(m = open_memstream(&out, &len));
	f(m, s);
	ck_assert_int_eq(fclose(m), 0);
	return out;
}

static const struct {
	const char	*in, *text, *json;
} escapes[] = {
	{ "a@b.example", "a@b.example", "\"a@b.example\"" },
	{ "back\\slash", "back\\x5cslash", "\"back\\\\slash\"" },
	{ "q\"uote", "q\"uote", "\"q\\\"uote\"" },
	{ "nl\nx", "nl\\x0ax", "\"nl\\nx\"" },
	{ "esc\x1b[31m", "esc\\x1b[31m", "\"esc\\u001b[31m\"" },
	{ "caf\xc3\xa9", "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "bad\xff", "bad\\xff", "\"bad\\ufffd\"" },
	{ "c1\xc2\x85", "c1\\xc2\\x85", "\"c1\\u0085\"" },
	{ "over\xed\xa0\x80", "over\\xed\\xa0\\x80",
	    "\"over\\ufffd\\ufffd\\ufffd\"" },
};

START_TEST(test_escape)
{
	char *t, *j;

	t = through(qlist_put_text, escapes[_i].in);
	j = through(qlist_put_json, escapes[_i].in);
	ck_assert_str_eq(t, escapes[_i].text);
	ck_assert_str_eq(j, escapes[_i].json);
	free(t);
	free(j);
}
END_TEST

START_TEST(test_request)
{
	ck_assert_int_eq(qlist_request("list\n", 5), 0);
	ck_assert_int_eq(qlist_request("json\n", 5), 1);
	ck_assert_int_eq(qlist_request("list", 4), -1);
	ck_assert_int_eq(qlist_request("list\r\n", 6), -1);
	ck_assert_int_eq(qlist_request("LIST\n", 5), -1);
	ck_assert_int_eq(qlist_request("jsonx\n", 6), -1);
	ck_assert_int_eq(qlist_request("", 0), -1);
	ck_assert_int_eq(qlist_request("list\nlist\n", 10), -1);
}
END_TEST

/* ---- a queue made here ------------------------------------------------ */

static char qdir[64];
static struct qlist_dirs dirs;

static void
queue_setup(void)
{
	static const char *const sub[] = { "incoming", "active",
	    "deferred", "hold", "corrupt", "defer" };
	char path[128];
	size_t i;
	int qfd;

	setenv("TZ", "UTC", 1);
	tzset();
	strlcpy(qdir, "/tmp/check_qlist.XXXXXX", sizeof(qdir));
	ck_assert_ptr_nonnull(mkdtemp(qdir));
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", qdir, sub[i]);
		ck_assert_int_eq(mkdir(path, 0700), 0);
	}
	ck_assert_int_ne(qfd = open(qdir, O_RDONLY | O_DIRECTORY), -1);
	dirs.qdir = qdir;
	for (i = 0; i < QLIST_NQUEUES; i++)
		ck_assert_int_ne(dirs.dirs[i] = openat(qfd, qlist_names[i],
		    O_RDONLY | O_DIRECTORY), -1);
	ck_assert_int_ne(dirs.defer_fd = openat(qfd, "defer",
	    O_RDONLY | O_DIRECTORY), -1);
	close(qfd);
}

static void
queue_teardown(void)
{
	char cmd[128];
	int i;

	for (i = 0; i < QLIST_NQUEUES; i++)
		close(dirs.dirs[i]);
	close(dirs.defer_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* A message from sender to the recipients in queue qi; its ID in id. */
static void
put_message(enum qlist_queue qi, const char *sender, const char *const *rcpt,
    const uint8_t *status, size_t n, char id[QID_LEN + 1])
{
	static const char body[] = "Subject: t\r\n\r\nhello\r\n";
	struct qfile_writer w;
	struct qfile_sender s;
	struct qfile_rcpt r;
	size_t i;

	ck_assert_int_eq(qid_new(id), 0);
	memset(&s, 0, sizeof(s));
	strlcpy(s.addr, sender, sizeof(s.addr));
	ck_assert_int_eq(qfile_writer_open(&w, dirs.dirs[qi], "tmp"), 0);
	ck_assert_int_eq(qfile_put_arrival(&w, ARRIVAL, 0), 0);
	ck_assert_int_eq(qfile_put_sender(&w, &s), 0);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.addr = rcpt[i];
		r.status = status[i];
		ck_assert_int_eq(qfile_put_rcpt(&w, &r), 0);
	}
	ck_assert_int_eq(qfile_put_content(&w, body, sizeof(body) - 1), 0);
	ck_assert_int_eq(qfile_writer_commit(&w, dirs.dirs[qi], id), 0);
}

static void
put_file(int dirfd, const char *name, const char *text)
{
	int fd;

	ck_assert_int_ne(fd = openat(dirfd, name, O_WRONLY | O_CREAT |
	    O_TRUNC, 0600), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *
listing(bool json, int *rc_r)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	ck_assert_ptr_nonnull(m = open_memstream(&out, &len));
	*rc_r = qlist_write(&dirs, json, m, stderr, "check_qlist");
	ck_assert_int_eq(fclose(m), 0);
	return out;
}

START_TEST(test_empty)
{
	char *out;
	int rc;

	out = listing(false, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "Mail queue is empty\n");
	free(out);
	out = listing(true, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_reasons)
{
	struct qlist_reasons r;
	char id[QID_LEN + 1];

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(qid_new(id), 0);
	qlist_reasons_read(&r, dirs.defer_fd, id, 3);
	ck_assert_ptr_null(r.data);
	ck_assert_ptr_null(r.rs[0].text);
	put_file(dirs.defer_fd, id,
	    "0\tdelayed\t4.4.1\tmx.example\tfirst\n"
	    "1\tdelayed\t4.2.2\tmx.example\tfull\n"
	    "0\tdelayed\t4.4.2\tmx2.example\tsecond\n"
	    "7\tdelayed\t4.0.0\tx\tout of range\n"
	    "2\tfailed\t5.0.0\tx\tnot a delay\n"
	    "2\tdelayed\ttoo few fields\n"
	    "x\tdelayed\t4.0.0\tx\tnot a number\n"
	    "2\tdelayed\t4.0.0\tx\tno newline");
	qlist_reasons_read(&r, dirs.defer_fd, id, 3);
	ck_assert_ptr_nonnull(r.data);
	ck_assert_str_eq(r.rs[0].text, "second");
	ck_assert_str_eq(r.rs[0].dsn, "4.4.2");
	ck_assert_str_eq(r.rs[0].relay, "mx2.example");
	ck_assert_str_eq(r.rs[1].text, "full");
	ck_assert_ptr_null(r.rs[2].text);
	qlist_reasons_free(&r);
	ck_assert_ptr_null(r.rs);
}
END_TEST

START_TEST(test_listing)
{
	static const char *const rcpts[] = { "a@x.example", "b@x.example",
	    "c@x.example" };
	static const uint8_t pending[] = { 0, 0, 0 };
	static const uint8_t one_done[] = { QFILE_RS_DONE, 0, 0 };
	char held[QID_LEN + 1], deferred[QID_LEN + 1], bad[QID_LEN + 1];
	char want[2048], *out;
	int rc;

	put_message(QLIST_HOLD, "s@x.example", rcpts, pending, 1, held);
	put_message(QLIST_DEFERRED, "", rcpts, one_done, 3, deferred);
	put_file(dirs.defer_fd, deferred,
	    "1\tdelayed\t4.4.1\tmx\tconnection refused\n"
	    "2\tdelayed\t4.4.1\tmx\tconnection refused\n");
	ck_assert_int_eq(qid_new(bad), 0);
	put_file(dirs.dirs[QLIST_INCOMING], bad, "not a queue file");
	put_file(dirs.dirs[QLIST_INCOMING], "not-an-id", "ignored");

	out = listing(false, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_nonnull(strstr(out, "-Queue ID-                "
	    "--Size-- ---Arrival Time----  -Sender/Recipient-------\n"));
	snprintf(want, sizeof(want), "%s!       21 Tue Nov 14 22:13:20  "
	    "s@x.example\n%56sa@x.example\n\n", held, "");
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "%s        21 Tue Nov 14 22:13:20  "
	    "MAILER-DAEMON\n(connection refused)\n%56sb@x.example\n"
	    "%56sc@x.example\n\n", deferred, "", "");
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "%s#", bad);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "(corrupt queue file: "));
	ck_assert_ptr_null(strstr(out, "not-an-id"));
	ck_assert_ptr_nonnull(strstr(out, "\n-- 1 Kbytes in 3 Requests.\n"));
	free(out);

	out = listing(true, &rc);
	ck_assert_int_eq(rc, 0);
	snprintf(want, sizeof(want), "{\"queue_name\": \"hold\", "
	    "\"queue_id\": \"%s\", \"arrival_time\": %d, \"message_size\": "
	    "21, \"sender\": \"s@x.example\", \"recipients\": [{\"address\": "
	    "\"a@x.example\"}]}\n", held, ARRIVAL);
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "{\"queue_name\": \"deferred\", "
	    "\"queue_id\": \"%s\", \"arrival_time\": %d, \"message_size\": "
	    "21, \"sender\": \"\", \"recipients\": [{\"address\": "
	    "\"b@x.example\", \"delay_reason\": \"connection refused\"}, "
	    "{\"address\": \"c@x.example\", \"delay_reason\": "
	    "\"connection refused\"}]}\n", deferred, ARRIVAL);
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "{\"queue_name\": \"incoming\", "
	    "\"queue_id\": \"%s\", ", bad);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "\"corrupt\": true"));
	free(out);
}
END_TEST

/* ---- the client side -------------------------------------------------- */

/* qlist_ask against a peer that answers reply (then closes). */
static int
ask(const char *reply, bool json, char **out_r, const char **err_r,
    char *ebuf, size_t esz, char *req, size_t reqsz)
{
	size_t len = 0;
	ssize_t n;
	FILE *m;
	int sv[2], rc;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], reply, strlen(reply)),
	    (ssize_t)strlen(reply));
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	*out_r = NULL;
	ck_assert_ptr_nonnull(m = open_memstream(out_r, &len));
	rc = qlist_ask(sv[0], json, m, ebuf, esz, err_r);
	ck_assert_int_eq(fclose(m), 0);
	ck_assert_int_ge(n = read(sv[1], req, reqsz - 1), 0);
	req[n] = '\0';
	close(sv[0]);
	close(sv[1]);
	return rc;
}

START_TEST(test_ask)
{
	char ebuf[256], req[64], *out;
	const char *err;

	ck_assert_int_eq(ask("ok\nMail queue is empty\n", false, &out, &err,
	    ebuf, sizeof(ebuf), req, sizeof(req)), 0);
	ck_assert_str_eq(req, "list\n");
	ck_assert_str_eq(out, "Mail queue is empty\n");
	free(out);

	ck_assert_int_eq(ask("ok\n{}\n", true, &out, &err, ebuf,
	    sizeof(ebuf), req, sizeof(req)), 0);
	ck_assert_str_eq(req, "json\n");
	ck_assert_str_eq(out, "{}\n");
	free(out);

	ck_assert_int_eq(ask("error permission denied\x1b\n", false, &out,
	    &err, ebuf, sizeof(ebuf), req, sizeof(req)), -1);
	ck_assert_str_eq(err, "permission denied?");
	ck_assert_str_eq(out, "");
	free(out);

	ck_assert_int_eq(ask("hello\n", false, &out, &err, ebuf,
	    sizeof(ebuf), req, sizeof(req)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not its protocol"));
	free(out);

	ck_assert_int_eq(ask("", false, &out, &err, ebuf, sizeof(ebuf), req,
	    sizeof(req)), -1);
	ck_assert_ptr_nonnull(strstr(err, "connection closed"));
	free(out);
}
END_TEST

START_TEST(test_ask_long_status)
{
	char reply[QLIST_STATUS_MAX + 16], ebuf[256], req[64], *out;
	const char *err;

	memset(reply, 'x', sizeof(reply) - 2);
	reply[sizeof(reply) - 2] = '\n';
	reply[sizeof(reply) - 1] = '\0';
	ck_assert_int_eq(ask(reply, false, &out, &err, ebuf, sizeof(ebuf),
	    req, sizeof(req)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no answer from showq"));
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

static Suite *
qlist_suite(void)
{
	Suite *s = suite_create("qlist");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_loop_test(tc, test_escape, 0,
	    sizeof(escapes) / sizeof(escapes[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("queue");
	tcase_add_checked_fixture(tc, queue_setup, queue_teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_listing);
	suite_add_tcase(s, tc);

	tc = tcase_create("ask");
	tcase_add_test(tc, test_ask);
	tcase_add_test(tc, test_ask_long_status);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(qlist_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
