/*
 * SPDX-License-Identifier: ISC
 *
 * check_deliver.c -- unit tests for lib/deliver.c: the agent side of the
 * qmgr -> delivery agent protocol over a socketpair, with queue files
 * written by lib/qfile's writer: good requests (one and several on one
 * connection, several recipients, the content through deliver_src),
 * every protocol error (wrong byte, no descriptor, two, not a regular
 * file, not read-only, bad proto, nrcpt 0 or too big, index out of range
 * or named twice, recipient or sender not the file's, bad notify,
 * truncated messages), unreadable queue files (deferred, not a protocol
 * error), no descriptor left open, the idle time-out; deliver_set's
 * checks of dsn, relay and text; deliver_header, deliver_header_count
 * and deliver_crlf on folded headers, LF-only content, content cut into
 * records at every place, and no empty line between header and body.
 *
 * Process:  test runner (Check).  deliver_serve runs in the test's own
 *           process: each test writes a whole conversation into its end
 *           of the socketpair first, shuts down writing, then serves, then
 *           reads the replies.
 * Input:    requests and queue files built here.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "deliver.h"
#include "fdpass.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "xmem.h"

#define SENDER		"sender@example.org"
#define RCPT0		"alice@example.com"
#define RCPT1		"bob@example.com"
#define RCPT2		"carol@example.com"
#define CONTENT		"Received: from x by y; date\r\n" \
			"Subject: test\r\n\r\nHello.\r\n"
#define TIMEOUT_MS	2000

static int	sv[2] = { -1, -1 };	/* qmgr (the test), the agent */
static char	qid[QID_LEN + 1];
static size_t	baseline_fds;

/* What the handler saw and what it answers. */
static struct {
	unsigned	 calls;
	size_t		 nrcpt;
	char		 queue_id[QID_LEN + 1];
	char		 nexthop[DELIVER_NEXTHOP_MAX + 1];
	char		 sender[QFILE_ADDR_MAX + 1];
	char		 addr[4][QFILE_ADDR_MAX + 1];
	char		 orcpt[4][QFILE_ADDR_MAX + 1];
	char		 orcpt_type[4][QFILE_ORCPT_TYPE_MAX + 1];
	uint32_t	 index[4];
	uint8_t		 notify[4];
	uint8_t		 content[8192];
	size_t		 clen;
	bool		 leave_unset;		/* set no result */
	void		*arg;
} hs;

static int	handler_arg;

static size_t
open_fds(void)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ck_assert_int_eq(qid_new(qid), 0);
	memset(&hs, 0, sizeof(hs));
	baseline_fds = open_fds();
}

static void
teardown(void)
{
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* ---- queue files ----------------------------------------------------- */

/*
 * A queue file from sender to the n recipients, with content written in
 * pieces of step bytes (0: at once); open read-only, already unlinked.
 */
static int
qfile_make(const char *sender, const char *const *rcpts, size_t n,
    const void *content, size_t len, size_t step)
{
	char path[] = "/tmp/check_deliver.XXXXXX";
	struct qfile_writer w;
	struct qfile_sender s;
	struct qfile_rcpt r;
	size_t i, k;
	int fd, ro;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(qfile_writer_fdopen(&w, fd), 0);
	ck_assert_int_eq(qfile_put_arrival(&w, 1700000000, 5), 0);
	memset(&s, 0, sizeof(s));
	strlcpy(s.addr, sender, sizeof(s.addr));
	ck_assert_int_eq(qfile_put_sender(&w, &s), 0);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.addr = rcpts[i];
		ck_assert_int_eq(qfile_put_rcpt(&w, &r), 0);
	}
	for (i = 0; i < len; i += k) {
		k = step == 0 || step > len - i ? len - i : step;
		ck_assert_int_eq(qfile_put_content(&w,
		    (const uint8_t *)content + i, k), 0);
	}
	ck_assert_int_eq(qfile_writer_finish(&w), 0);
	close(fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(ro, -1);
	ck_assert_int_eq(unlink(path), 0);
	return ro;
}

static int
qfile_std(void)
{
	static const char *const rcpts[] = { RCPT0, RCPT1, RCPT2 };

	return qfile_make(SENDER, rcpts, 3, CONTENT, sizeof(CONTENT) - 1, 0);
}

/* ---- the qmgr end ---------------------------------------------------- */

static void
send_raw(const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(sv[0], b, len);
		ck_assert_int_gt(n, 0);
		b += n;
		len -= (size_t)n;
	}
}

/* Step 1: byte with the descriptor, which the test then closes. */
static void
send_fd(int fd, char byte)
{
	ck_assert_int_eq(fdpass_send(sv[0], &fd, 1, &byte, 1), 0);
	close(fd);
}

static void
send_out(struct buf *out, size_t cut)
{
	send_raw(out->data, cut != 0 && cut < out->len ? cut : out->len);
	buf_clear(out);
}

/* The deliver message: NULL leaves a string out, nrcpt < -1000 too. */
static void
send_deliver_full(const char *request, const char *proto, const char *id,
    const char *sender, int64_t nrcpt, size_t cut)
{
	struct buf out;

	attr_out_init(&out);
	if (request != NULL)
		ck_assert_int_eq(attr_put_str(&out, "request", request), 0);
	if (proto != NULL)
		ck_assert_int_eq(attr_put_str(&out, "proto", proto), 0);
	if (id != NULL)
		ck_assert_int_eq(attr_put_str(&out, "queue_id", id), 0);
	ck_assert_int_eq(attr_put_str(&out, "nexthop", "example.com"), 0);
	if (sender != NULL)
		ck_assert_int_eq(attr_put_str(&out, "sender", sender), 0);
	if (nrcpt >= -1000)
		ck_assert_int_eq(attr_put_int(&out, "nrcpt", nrcpt), 0);
	send_out(&out, cut);
}

static void
send_deliver(int64_t nrcpt)
{
	send_deliver_full("deliver", DELIVER_PROTO, qid, SENDER, nrcpt, 0);
}

static void
send_rcpt_full(const char *request, int64_t index, const char *addr,
    const char *orcpt_type, const char *orcpt, int64_t notify, size_t cut)
{
	struct buf out;

	attr_out_init(&out);
	ck_assert_int_eq(attr_put_str(&out, "request", request), 0);
	ck_assert_int_eq(attr_put_int(&out, "index", index), 0);
	if (addr != NULL)
		ck_assert_int_eq(attr_put_str(&out, "addr", addr), 0);
	ck_assert_int_eq(attr_put_str(&out, "orcpt_type", orcpt_type), 0);
	ck_assert_int_eq(attr_put_str(&out, "orcpt", orcpt), 0);
	ck_assert_int_eq(attr_put_int(&out, "notify", notify), 0);
	send_out(&out, cut);
}

static void
send_rcpt(int64_t index, const char *addr)
{
	send_rcpt_full("rcpt", index, addr, "", "", 0, 0);
}

/* ---- the agent end --------------------------------------------------- */

static void
handler(struct deliver_req *req, void *arg)
{
	struct mailbox_src src;
	static const char prefix[] = "P: 1\r\n";
	ssize_t n;
	size_t i;

	hs.calls++;
	hs.arg = arg;
	hs.nrcpt = req->nrcpt;
	strlcpy(hs.queue_id, req->queue_id, sizeof(hs.queue_id));
	strlcpy(hs.nexthop, req->nexthop, sizeof(hs.nexthop));
	strlcpy(hs.sender, req->sender, sizeof(hs.sender));
	for (i = 0; i < req->nrcpt && i < 4; i++) {
		strlcpy(hs.addr[i], req->rcpts[i].addr, sizeof(hs.addr[i]));
		strlcpy(hs.orcpt[i], req->rcpts[i].orcpt, sizeof(hs.orcpt[i]));
		strlcpy(hs.orcpt_type[i], req->rcpts[i].orcpt_type,
		    sizeof(hs.orcpt_type[i]));
		hs.index[i] = req->rcpts[i].index;
		hs.notify[i] = req->rcpts[i].notify;
	}
	/* read() gives no prefix (mailbox_copy sends it); 7-byte reads. */
	deliver_src(req, &src, prefix, sizeof(prefix) - 1);
	ck_assert_ptr_eq(src.prefix, prefix);
	ck_assert_uint_eq(src.prefix_len, sizeof(prefix) - 1);
	hs.clen = 0;
	while ((n = src.read(src.arg, hs.content + hs.clen,
	    sizeof(hs.content) - hs.clen < 7 ? sizeof(hs.content) - hs.clen :
	    7)) > 0)
		hs.clen += (size_t)n;
	ck_assert_int_eq(n, 0);
	if (hs.leave_unset)
		return;
	for (i = 0; i < req->nrcpt; i++)
		deliver_set(&req->rcpts[i], i == 1 ? DELIVER_BOUNCED :
		    DELIVER_SENT, i == 1 ? "5.1.1" : "2.0.0", "test",
		    "handled %s", req->rcpts[i].addr);
}

/* Everything is written: serve until end of file, then stop the agent. */
static int
serve_max(size_t max_size)
{
	int rc;

	ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
	rc = deliver_serve(sv[1], handler, &handler_arg, TIMEOUT_MS, max_size);
	close(sv[1]);
	sv[1] = -1;
	return rc;
}

static int
serve(void)
{
	return serve_max(0);
}

static const char *
str_of(const struct attr_msg *m, const char *name)
{
	static char v[2][DELIVER_TEXT_MAX + 1];
	static int k;

	k = !k;
	ck_assert_int_eq(attr_get_str(m, name, v[k], sizeof(v[k])), 0);
	return v[k];
}

static void
expect_reply(int64_t index, const char *result, const char *dsn,
    const char *relay, const char *text)
{
	struct attr_msg m;
	const char *err;
	int64_t v;

	attr_msg_init(&m);
	ck_assert_int_eq(attr_read(sv[0], &m, TIMEOUT_MS, &err), 0);
	ck_assert_uint_eq(m.n, 6);
	ck_assert_str_eq(str_of(&m, "status"), "rcpt");
	ck_assert_int_eq(attr_get_int(&m, "index", &v), 0);
	ck_assert_int_eq(v, index);
	ck_assert_str_eq(str_of(&m, "result"), result);
	ck_assert_str_eq(str_of(&m, "dsn"), dsn);
	ck_assert_str_eq(str_of(&m, "relay"), relay);
	ck_assert_str_eq(str_of(&m, "text"), text);
	attr_msg_clear(&m);
}

static void
expect_done(void)
{
	struct attr_msg m;
	const char *err;

	attr_msg_init(&m);
	ck_assert_int_eq(attr_read(sv[0], &m, TIMEOUT_MS, &err), 0);
	ck_assert_uint_eq(m.n, 1);
	ck_assert_str_eq(str_of(&m, "status"), "done");
	attr_msg_clear(&m);
}

/*
 * No (more) replies: the agent closed its end (a reset when it left
 * bytes unread, as after a protocol error).
 */
static void
expect_eof(void)
{
	ssize_t n;
	char c;

	n = read(sv[0], &c, 1);
	if (n == -1)
		ck_assert_int_eq(errno, ECONNRESET);
	else
		ck_assert_int_eq(n, 0);
}

/*
 * A protocol error: -1, no handler, no reply, no descriptor kept (the
 * test holds extra ones of its own).
 */
static void
expect_protocol_error_fds(size_t extra)
{
	ck_assert_int_eq(serve(), -1);
	ck_assert_uint_eq(hs.calls, 0);
	expect_eof();
	/* sv[1] is closed. */
	ck_assert_uint_eq(open_fds(), baseline_fds - 1 + extra);
}

static void
expect_protocol_error(void)
{
	expect_protocol_error_fds(0);
}

/* ---- good requests --------------------------------------------------- */

START_TEST(test_one_request)
{
	send_fd(qfile_std(), 'Q');
	send_deliver(2);
	send_rcpt_full("rcpt", 2, RCPT2, "rfc822", "Carol@Example.COM",
	    QFILE_NOTIFY_FAILURE | QFILE_NOTIFY_DELAY, 0);
	send_rcpt(0, RCPT0);
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(hs.calls, 1);
	ck_assert_ptr_eq(hs.arg, &handler_arg);
	ck_assert_str_eq(hs.queue_id, qid);
	ck_assert_str_eq(hs.nexthop, "example.com");
	ck_assert_str_eq(hs.sender, SENDER);
	ck_assert_uint_eq(hs.nrcpt, 2);
	ck_assert_str_eq(hs.addr[0], RCPT2);
	ck_assert_uint_eq(hs.index[0], 2);
	ck_assert_str_eq(hs.orcpt_type[0], "rfc822");
	ck_assert_str_eq(hs.orcpt[0], "Carol@Example.COM");
	ck_assert_uint_eq(hs.notify[0], QFILE_NOTIFY_FAILURE |
	    QFILE_NOTIFY_DELAY);
	ck_assert_str_eq(hs.addr[1], RCPT0);
	ck_assert_uint_eq(hs.index[1], 0);
	ck_assert_str_eq(hs.orcpt_type[1], "");
	ck_assert_uint_eq(hs.clen, sizeof(CONTENT) - 1);
	ck_assert_mem_eq(hs.content, CONTENT, hs.clen);
	/* Replies in request order. */
	expect_reply(2, "sent", "2.0.0", "test", "handled " RCPT2);
	expect_reply(0, "bounced", "5.1.1", "test", "handled " RCPT0);
	expect_done();
	expect_eof();
	ck_assert_uint_eq(open_fds(), baseline_fds - 1);
}
END_TEST

START_TEST(test_several_requests)
{
	static const char *const one[] = { RCPT1 };
	static const char big_content[] = "Subject: two\r\n\r\nbody\r\n";
	uint8_t *big;
	size_t i, len = 3 * QFILE_REC_MAX + 17;
	int fd;

	send_fd(qfile_std(), 'Q');
	send_deliver(1);
	send_rcpt(1, RCPT1);
	/* The second file's content spans several content records. */
	big = xmalloc(len);
	for (i = 0; i < len; i++)
		big[i] = (uint8_t)("abc\r\n"[i % 5]);
	memcpy(big, big_content, sizeof(big_content) - 1);
	fd = qfile_make("", one, 1, big, len, 1000);
	send_fd(fd, 'Q');
	send_deliver_full("deliver", DELIVER_PROTO, qid, "", 1, 0);
	send_rcpt(0, RCPT1);
	hs.leave_unset = true;
	/* The handler keeps 8 KiB of content: no more here. */
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(hs.calls, 2);
	ck_assert_str_eq(hs.sender, "");
	ck_assert_uint_eq(hs.clen, sizeof(hs.content));
	ck_assert_mem_eq(hs.content, big, hs.clen);
	/* Unset results are deferred. */
	expect_reply(1, "deferred", "4.3.0", "",
	    "delivery agent did not handle the recipient");
	expect_done();
	expect_reply(0, "deferred", "4.3.0", "",
	    "delivery agent did not handle the recipient");
	expect_done();
	expect_eof();
	free(big);
	ck_assert_uint_eq(open_fds(), baseline_fds - 1);
}
END_TEST

START_TEST(test_no_request)
{
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(hs.calls, 0);
	expect_eof();
}
END_TEST

START_TEST(test_idle_timeout)
{
	/* qmgr keeps the connection open but sends nothing. */
	ck_assert_int_eq(deliver_serve(sv[1], handler, NULL, 50, 0), 0);
	ck_assert_uint_eq(hs.calls, 0);
}
END_TEST

/* A queue file the agent cannot read: deferred with the reason. */
START_TEST(test_unreadable_qfile)
{
	char path[] = "/tmp/check_deliver.XXXXXX";
	int fd, ro;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "not a queue file", 16), 16);
	close(fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(ro, -1);
	unlink(path);
	send_fd(ro, 'Q');
	send_deliver(2);
	send_rcpt(3, "x@example.com");
	send_rcpt(0, "y@example.com");
	/* The next request on the same connection is served. */
	send_fd(qfile_std(), 'Q');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	ck_assert_int_eq(serve(), 0);
	ck_assert_uint_eq(hs.calls, 1);
	expect_reply(3, "deferred", "4.3.0", "",
	    "cannot read the queue file: bad magic");
	expect_reply(0, "deferred", "4.3.0", "",
	    "cannot read the queue file: bad magic");
	expect_done();
	expect_reply(0, "sent", "2.0.0", "test", "handled " RCPT0);
	expect_done();
	expect_eof();
}
END_TEST

START_TEST(test_qfile_too_large)
{
	send_fd(qfile_std(), 'Q');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	ck_assert_int_eq(serve_max(100), 0);
	ck_assert_uint_eq(hs.calls, 0);
	expect_reply(0, "deferred", "4.3.0", "",
	    "cannot read the queue file: queue file too large");
	expect_done();
	expect_eof();
}
END_TEST

/* ---- protocol errors ------------------------------------------------- */

START_TEST(test_wrong_byte)
{
	send_fd(qfile_std(), 'X');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	expect_protocol_error();
}
END_TEST

START_TEST(test_no_fd)
{
	send_raw("Q", 1);
	send_deliver(1);
	send_rcpt(0, RCPT0);
	expect_protocol_error();
}
END_TEST

START_TEST(test_attrs_first)
{
	/* An attribute message where the byte and descriptor belong. */
	send_deliver(1);
	expect_protocol_error();
}
END_TEST

START_TEST(test_two_fds)
{
	int fds[2];

	fds[0] = qfile_std();
	fds[1] = qfile_std();
	ck_assert_int_eq(fdpass_send(sv[0], fds, 2, "Q", 1), 0);
	close(fds[0]);
	close(fds[1]);
	send_deliver(1);
	send_rcpt(0, RCPT0);
	expect_protocol_error();
}
END_TEST

START_TEST(test_too_many_fds)
{
	int fds[FDPASS_MAX], i;

	for (i = 0; i < FDPASS_MAX; i++)
		fds[i] = qfile_std();
	ck_assert_int_eq(fdpass_send(sv[0], fds, FDPASS_MAX, "Q", 1), 0);
	for (i = 0; i < FDPASS_MAX; i++)
		close(fds[i]);
	expect_protocol_error();
}
END_TEST

START_TEST(test_fd_not_a_file)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	send_fd(p[0], 'Q');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	expect_protocol_error_fds(1);
	/* The agent kept no copy of the read end: nobody reads the pipe. */
	ck_assert_int_eq(write(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
}
END_TEST

START_TEST(test_fd_writable)
{
	char path[] = "/tmp/check_deliver.XXXXXX";
	int fd, ro, rw;

	ro = qfile_std();
	/* The same file opened read-write: refused. */
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	close(fd);
	rw = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ne(rw, -1);
	unlink(path);
	close(ro);
	send_fd(rw, 'Q');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	expect_protocol_error();
}
END_TEST

/* Variants of the deliver message, by _i. */
START_TEST(test_bad_deliver)
{
	char longid[QID_LEN + 2];

	memset(longid, 'A', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	send_fd(qfile_std(), 'Q');
	switch (_i) {
	case 0:
		send_deliver_full("deliver", "deliver/2", qid, SENDER, 1, 0);
		break;
	case 1:
		send_deliver_full("rcpt", DELIVER_PROTO, qid, SENDER, 1, 0);
		break;
	case 2:
		send_deliver_full(NULL, DELIVER_PROTO, qid, SENDER, 1, 0);
		break;
	case 3:
		send_deliver_full("deliver", NULL, qid, SENDER, 1, 0);
		break;
	case 4:
		send_deliver_full("deliver", DELIVER_PROTO, "not-a-qid",
		    SENDER, 1, 0);
		break;
	case 5:
		send_deliver_full("deliver", DELIVER_PROTO, longid, SENDER,
		    1, 0);
		break;
	case 6:
		send_deliver_full("deliver", DELIVER_PROTO, qid, NULL, 1, 0);
		break;
	case 7:		/* nrcpt missing */
		send_deliver_full("deliver", DELIVER_PROTO, qid, SENDER,
		    -2000, 0);
		break;
	case 8:
		send_deliver(0);
		break;
	case 9:
		send_deliver(-1);
		break;
	case 10:
		send_deliver(DELIVER_RCPT_MAX + 1);
		break;
	case 11:	/* not the file's sender */
		send_deliver_full("deliver", DELIVER_PROTO, qid,
		    "other@example.org", 1, 0);
		break;
	case 12:	/* <> is not the file's sender either */
		send_deliver_full("deliver", DELIVER_PROTO, qid, "", 1, 0);
		break;
	case 13:	/* the message cut short */
		send_deliver_full("deliver", DELIVER_PROTO, qid, SENDER, 1,
		    30);
		break;
	case 14:	/* nothing after the descriptor */
		break;
	case 15: {	/* a length prefix over the limit */
		static const uint8_t big[] = { 0x7f, 0xff, 0xff, 0xff };

		send_raw(big, sizeof(big));
		break;
	}
	case 16: {	/* the proto as an integer */
		struct buf out;

		attr_out_init(&out);
		ck_assert_int_eq(attr_put_str(&out, "request", "deliver"), 0);
		ck_assert_int_eq(attr_put_int(&out, "proto", 1), 0);
		ck_assert_int_eq(attr_put_str(&out, "queue_id", qid), 0);
		ck_assert_int_eq(attr_put_str(&out, "nexthop", "x"), 0);
		ck_assert_int_eq(attr_put_str(&out, "sender", SENDER), 0);
		ck_assert_int_eq(attr_put_int(&out, "nrcpt", 1), 0);
		send_out(&out, 0);
		break;
	}
	default:
		ck_abort();
	}
	if (_i != 13 && _i != 14 && _i != 15)
		send_rcpt(0, RCPT0);
	expect_protocol_error();
}
END_TEST

/* Variants of the recipients, by _i. */
START_TEST(test_bad_rcpt)
{
	send_fd(qfile_std(), 'Q');
	send_deliver(2);
	send_rcpt(0, RCPT0);
	switch (_i) {
	case 0:		/* index past the file's recipients */
		send_rcpt(3, RCPT2);
		break;
	case 1:
		send_rcpt(-1, RCPT2);
		break;
	case 2:		/* not the file's recipient at that index */
		send_rcpt(1, RCPT2);
		break;
	case 3:		/* the same recipient twice */
		send_rcpt(0, RCPT0);
		break;
	case 4:		/* case matters: the exact address of the file */
		send_rcpt(1, "Bob@example.com");
		break;
	case 5:
		send_rcpt_full("rcpt", 1, RCPT1, "", "", 0x10, 0);
		break;
	case 6:
		send_rcpt_full("rcpt", 1, RCPT1, "", "", -1, 0);
		break;
	case 7:
		send_rcpt_full("deliver", 1, RCPT1, "", "", 0, 0);
		break;
	case 8:		/* addr missing */
		send_rcpt_full("rcpt", 1, NULL, "", "", 0, 0);
		break;
	case 9:		/* one rcpt message short */
		break;
	case 10:	/* the last one cut */
		send_rcpt_full("rcpt", 1, RCPT1, "", "", 0, 20);
		break;
	case 11: {	/* an ORCPT type over its limit */
		char t[QFILE_ORCPT_TYPE_MAX + 2];

		memset(t, 'a', sizeof(t) - 1);
		t[sizeof(t) - 1] = '\0';
		send_rcpt_full("rcpt", 1, RCPT1, t, "x@y", 0, 0);
		break;
	}
	default:
		ck_abort();
	}
	expect_protocol_error();
}
END_TEST

/* A good request, then a bad one: the first is answered. */
START_TEST(test_good_then_bad)
{
	send_fd(qfile_std(), 'Q');
	send_deliver(1);
	send_rcpt(0, RCPT0);
	send_fd(qfile_std(), 'Q');
	send_deliver(1);
	send_rcpt(1, RCPT0);
	ck_assert_int_eq(serve(), -1);
	ck_assert_uint_eq(hs.calls, 1);
	expect_reply(0, "sent", "2.0.0", "test", "handled " RCPT0);
	expect_done();
	expect_eof();
	ck_assert_uint_eq(open_fds(), baseline_fds - 1);
}
END_TEST

/* ---- deliver_set ----------------------------------------------------- */

static const struct {
	enum deliver_result res;
	const char *dsn, *want;
} dsn_cases[] = {
	{ DELIVER_SENT, "2.0.0", "2.0.0" },
	{ DELIVER_SENT, "2.1.5", "2.1.5" },
	{ DELIVER_SENT, "2.999.999", "2.999.999" },
	{ DELIVER_SENT, "5.1.1", "2.0.0" },
	{ DELIVER_SENT, "4.2.2", "2.0.0" },
	{ DELIVER_SENT, NULL, "2.0.0" },
	{ DELIVER_DEFERRED, "4.2.2", "4.2.2" },
	{ DELIVER_DEFERRED, "2.0.0", "4.3.0" },
	{ DELIVER_DEFERRED, "5.1.1", "4.3.0" },
	{ DELIVER_BOUNCED, "5.1.1", "5.1.1" },
	{ DELIVER_BOUNCED, "5.4.6", "5.4.6" },
	{ DELIVER_BOUNCED, "4.4.6", "5.3.0" },
	{ DELIVER_BOUNCED, "", "5.3.0" },
	{ DELIVER_BOUNCED, "5", "5.3.0" },
	{ DELIVER_BOUNCED, "5.", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1.", "5.3.0" },
	{ DELIVER_BOUNCED, "5..1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1.1.", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1.1 ", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1234.1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1.1234", "5.3.0" },
	{ DELIVER_BOUNCED, "5.a.1", "5.3.0" },
	{ DELIVER_BOUNCED, "6.1.1", "5.3.0" },
	{ DELIVER_BOUNCED, "55.1.1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.-1.1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.1.1\n", "5.3.0" },
	{ DELIVER_BOUNCED, "5.100.100.1", "5.3.0" },
	{ DELIVER_BOUNCED, "5.0000000000000000.1", "5.3.0" },
};

START_TEST(test_set_dsn)
{
	struct deliver_rcpt r;

	memset(&r, 0, sizeof(r));
	deliver_set(&r, dsn_cases[_i].res, dsn_cases[_i].dsn, "virtual",
	    "x");
	ck_assert_int_eq(r.result, dsn_cases[_i].res);
	ck_assert_str_eq(r.dsn, dsn_cases[_i].want);
	ck_assert_str_eq(r.relay, "virtual");
	ck_assert_str_eq(r.text, "x");
}
END_TEST

START_TEST(test_set_text)
{
	struct deliver_rcpt r;
	char big[3000];

	memset(&r, 0, sizeof(r));
	deliver_set(&r, DELIVER_DEFERRED, "4.3.0", "a\r\nb\x7f", "%s: %d",
	    "line\r\nbreak\ttab\x01", 42);
	ck_assert_str_eq(r.text, "line  break tab : 42");
	ck_assert_str_eq(r.relay, "a  b ");
	/* 8-bit bytes (UTF-8 addresses) stay. */
	deliver_set(&r, DELIVER_SENT, "2.0.0", NULL, "to \xc3\xa9@x");
	ck_assert_str_eq(r.text, "to \xc3\xa9@x");
	ck_assert_str_eq(r.relay, "");
	/* Long text is cut at DELIVER_TEXT_MAX. */
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	deliver_set(&r, DELIVER_BOUNCED, "5.0.0", big, "%s", big);
	ck_assert_uint_eq(strlen(r.text), DELIVER_TEXT_MAX);
	ck_assert_uint_eq(strlen(r.relay), DELIVER_RELAY_MAX);
}
END_TEST

/* ---- header, count, line ends ---------------------------------------- */

/* A request over content, cut into records at the given places. */
static void
fake_req(struct deliver_req *req, struct qfile_range *rg, size_t maxrg,
    const char *content, size_t len, const size_t *cuts, size_t ncuts)
{
	size_t i, start = 0, n = 0;

	memset(req, 0, sizeof(*req));
	req->fd = -1;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;

		if (end <= start)
			continue;
		ck_assert_uint_lt(n, maxrg);
		rg[n].off = start;
		rg[n].len = end - start;
		n++;
		start = end;
	}
	req->q.base = (const uint8_t *)content;
	req->q.base_len = len;
	req->q.content = rg;
	req->q.ncontent = n;
	req->q.content_size = len;
}

static const struct {
	const char *content, *header, *crlf;
} hdr_cases[] = {
	{ "Subject: a\r\nReceived: x\r\n\tfolded\r\n\r\nbody\r\n",
	  "Subject: a\r\nReceived: x\r\n\tfolded\r\n", "\r\n" },
	/* LF only. */
	{ "A: 1\nB: 2\n  more\n\nbody: not a header\n",
	  "A: 1\nB: 2\n  more\n", "\n" },
	/* No empty line: the body starts at the first non-header line. */
	{ "A: 1\r\nthis is the body\r\nB: 2\r\n\r\n",
	  "A: 1\r\n", "\r\n" },
	{ "A: 1\r\n  cont\r\nno colon here\r\n", "A: 1\r\n  cont\r\n",
	  "\r\n" },
	/* No body at all, the last line without its end. */
	{ "A: 1\r\nB: 2", "A: 1\r\nB: 2", "\r\n" },
	{ "A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n", "\r\n" },
	{ "A: 1\r\nno header", "A: 1\r\n", "\r\n" },
	/* No header section. */
	{ "", "", "\r\n" },
	{ "\r\nbody\r\n", "", "\r\n" },
	{ "\nbody\n", "", "\n" },
	{ "body line\r\nA: 1\r\n", "", "\r\n" },
	{ " A: 1\r\nB: 2\r\n", "", "\r\n" },
	{ ": empty name\r\n", "", "\r\n" },
	{ "From sender Mon Jan  1 00:00:00 2024\nA: 1\n", "", "\n" },
	/* White space before the colon (RFC 5322 4.5). */
	{ "Name : value\r\nX\t:y\r\n\r\n", "Name : value\r\nX\t:y\r\n",
	  "\r\n" },
	/* A lone CR is not a line end; CR CR LF is not an empty line. */
	{ "A: 1\rB: 2\r\n\r\r\nbody", "A: 1\rB: 2\r\n", "\r\n" },
	/* The first line's end decides CRLF or LF. */
	{ "A: 1\nB: 2\r\n\r\n", "A: 1\nB: 2\r\n", "\n" },
	{ "A: 1\r\nB: 2\n\n", "A: 1\r\nB: 2\n", "\r\n" },
	/* 8-bit bytes in a value are fine, not in a name. */
	{ "A: \xc3\xa9\r\n\xc3\xa9: 1\r\n", "A: \xc3\xa9\r\n", "\r\n" },
	/* An empty line that ends with a lone CR at the very end. */
	{ "A: 1\r\n\r", "A: 1\r\n", "\r\n" },
};

/* Every case, cut into two records at every place and into 1-byte ones. */
START_TEST(test_header)
{
	const char *c = hdr_cases[_i].content, *want = hdr_cases[_i].header;
	size_t len = strlen(c), wlen = strlen(want), cut, got_len, k;
	struct qfile_range rg[256];
	struct deliver_req req;
	size_t cuts[256];
	const uint8_t *h;

	ck_assert_uint_lt(len, 256);
	for (cut = 0; cut <= len + 1; cut++) {
		if (cut <= len)
			fake_req(&req, rg, 256, c, len, &cut, 1);
		else {
			for (k = 0; k < len; k++)
				cuts[k] = k + 1;
			fake_req(&req, rg, 256, c, len, cuts, len);
		}
		h = deliver_header(&req, &got_len);
		ck_assert_uint_eq(got_len, wlen);
		ck_assert_mem_eq(h, want, wlen);
		/* Held: the same answer again. */
		ck_assert_ptr_eq(deliver_header(&req, &got_len), h);
		ck_assert_uint_eq(got_len, wlen);
		ck_assert_str_eq(deliver_crlf(&req), hdr_cases[_i].crlf);
		free(req.hdr);
	}
}
END_TEST

START_TEST(test_header_count)
{
	static const char c[] =
	    "Received: from a\r\n\tby b; date\r\n"
	    "received : from c\r\n"
	    "Delivered-To: alice@example.com\r\n"
	    "Delivered-To:\r\n Alice@Example.COM \r\n"
	    "Delivered-To:alice@example.com.\r\n"
	    "Delivered-To: <alice@example.com>\r\n"
	    "X-Delivered-To: alice@example.com\r\n"
	    "Delivered-To-X: alice@example.com\r\n"
	    "RECEIVED: x\r\n"
	    "\r\n"
	    "Received: in the body\r\n"
	    "Delivered-To: alice@example.com\r\n";
	struct qfile_range rg[4];
	struct deliver_req req;
	size_t cut = 50;

	fake_req(&req, rg, 4, c, sizeof(c) - 1, &cut, 1);
	ck_assert_uint_eq(deliver_header_count(&req, "Received", NULL), 3);
	ck_assert_uint_eq(deliver_header_count(&req, "received", NULL), 3);
	ck_assert_uint_eq(deliver_header_count(&req, "Delivered-To", NULL),
	    4);
	ck_assert_uint_eq(deliver_header_count(&req, "delivered-to",
	    "alice@example.com"), 2);
	ck_assert_uint_eq(deliver_header_count(&req, "Delivered-To",
	    "<alice@example.com>"), 1);
	ck_assert_uint_eq(deliver_header_count(&req, "Delivered-To",
	    "bob@example.com"), 0);
	ck_assert_uint_eq(deliver_header_count(&req, "Received",
	    "from a\r\n\tby b; date"), 1);
	ck_assert_uint_eq(deliver_header_count(&req, "Subject", NULL), 0);
	ck_assert_uint_eq(deliver_header_count(&req, "Delivered", NULL), 0);
	free(req.hdr);
}
END_TEST

/* The header section is capped; a field cut there is kept as far as read. */
START_TEST(test_header_limit)
{
	static const char first[] = "A: aaaaaaa\r\n";
	static const char line[] = "Received: 0123456789abcdef\r\n";
	size_t ll = sizeof(line) - 1, fl = sizeof(first) - 1, n, i, len;
	struct qfile_range rg[1];
	struct deliver_req req;
	char *c;

	/* The limit falls 20 bytes into a Received: line, after its colon. */
	ck_assert_uint_eq((DELIVER_HEADER_MAX - fl - 20) % ll, 0);
	n = (DELIVER_HEADER_MAX - fl - 20) / ll + 10;
	len = fl + n * ll + 6;
	c = xmalloc(len);
	memcpy(c, first, fl);
	for (i = 0; i < n; i++)
		memcpy(c + fl + i * ll, line, ll);
	memcpy(c + fl + n * ll, "\r\nbody", 6);
	fake_req(&req, rg, 1, c, len, NULL, 0);
	deliver_header(&req, &i);
	ck_assert_uint_eq(i, DELIVER_HEADER_MAX);
	ck_assert_uint_eq(deliver_header_count(&req, "Received", NULL),
	    (DELIVER_HEADER_MAX - fl - 20) / ll + 1);
	free(req.hdr);

	/* Cut 4 bytes into a line, before any colon: that line goes. */
	fake_req(&req, rg, 1, c + fl, len - fl, NULL, 0);
	deliver_header(&req, &i);
	ck_assert_uint_eq(i, DELIVER_HEADER_MAX / ll * ll);
	free(req.hdr);
	free(c);
}
END_TEST

START_TEST(test_crlf_split)
{
	static const char c[] = "Subject: x\r\n\r\n";
	struct qfile_range rg[2];
	struct deliver_req req;
	size_t cut = 11;	/* between CR and LF */

	fake_req(&req, rg, 2, c, sizeof(c) - 1, &cut, 1);
	ck_assert_str_eq(deliver_crlf(&req), "\r\n");
	cut = 10;
	fake_req(&req, rg, 2, "Subject: x\n", 11, &cut, 1);
	ck_assert_str_eq(deliver_crlf(&req), "\n");
	fake_req(&req, rg, 2, "no line end", 11, &cut, 1);
	ck_assert_str_eq(deliver_crlf(&req), "\r\n");
}
END_TEST

/* deliver_src starts over at each call, whatever was read before. */
START_TEST(test_src_restart)
{
	static const char c[] = "A: 1\r\n\r\nbody";
	struct qfile_range rg[4];
	struct mailbox_src src;
	struct deliver_req req;
	size_t cuts[2] = { 3, 9 }, got;
	char buf[64];
	ssize_t n;
	int round;

	fake_req(&req, rg, 4, c, sizeof(c) - 1, cuts, 2);
	for (round = 0; round < 2; round++) {
		deliver_src(&req, &src, NULL, 0);
		ck_assert_ptr_null(src.prefix);
		got = 0;
		if (round == 1) {
			/* Half-read, then started over. */
			ck_assert_int_eq(src.read(src.arg, buf, 5), 3);
			deliver_src(&req, &src, NULL, 0);
		}
		while ((n = src.read(src.arg, buf + got, 2)) > 0)
			got += (size_t)n;
		ck_assert_int_eq(n, 0);
		ck_assert_uint_eq(got, sizeof(c) - 1);
		ck_assert_mem_eq(buf, c, got);
	}
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc;

	tc = tcase_create("serve");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_one_request);
	tcase_add_test(tc, test_several_requests);
	tcase_add_test(tc, test_no_request);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_unreadable_qfile);
	tcase_add_test(tc, test_qfile_too_large);
	tcase_add_test(tc, test_good_then_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("protocol errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_wrong_byte);
	tcase_add_test(tc, test_no_fd);
	tcase_add_test(tc, test_attrs_first);
	tcase_add_test(tc, test_two_fds);
	tcase_add_test(tc, test_too_many_fds);
	tcase_add_test(tc, test_fd_not_a_file);
	tcase_add_test(tc, test_fd_writable);
	tcase_add_loop_test(tc, test_bad_deliver, 0, 17);
	tcase_add_loop_test(tc, test_bad_rcpt, 0, 12);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_loop_test(tc, test_set_dsn, 0,
	    (int)(sizeof(dsn_cases) / sizeof(dsn_cases[0])));
	tcase_add_test(tc, test_set_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("content");
	tcase_add_loop_test(tc, test_header, 0,
	    (int)(sizeof(hdr_cases) / sizeof(hdr_cases[0])));
	tcase_add_test(tc, test_header_count);
	tcase_add_test(tc, test_header_limit);
	tcase_add_test(tc, test_crlf_split);
	tcase_add_test(tc, test_src_restart);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check_deliver", 0);
	sr = srunner_create(deliver_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
