/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_deliver.c -- libFuzzer harness for the delivery agent's request
 * reader (lib/deliver.c, deliver_serve) and its header scans.
 *
 * Input:    u16 big-endian n, then n bytes of message content (fewer if
 *           the input is shorter), then the attribute stream qmgr would
 *           send.  The content goes into a valid queue file (a memfd)
 *           from SENDER to the three recipients below; the stream is cut
 *           into requests at each "QQQQ", and each piece is sent after
 *           the byte 'Q' carrying a read-only descriptor of that file,
 *           as far as the socket buffer takes it; then writing is shut
 *           down and deliver_serve() runs in this process (time-outs 0:
 *           nothing waits).
 * Checks:   the handler sees a request consistent with the file (sender,
 *           recipients, indexes, the content through deliver_src), a
 *           header section that is a prefix of the content and within
 *           DELIVER_HEADER_MAX, header counts no larger than the field
 *           count, a line end of "\r\n" or "\n"; every reply is a
 *           well-formed "rcpt" (result and DSN class agree, printable
 *           relay and text within bounds) or "done"; no descriptor is
 *           left open.  Any violation abort()s.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "deliver.h"
#include "fdpass.h"
#include "fuzz.h"
#include "log.h"
#include "qfile.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

#define SENDER		"sender@example.org"
#define STREAM_MAX	(48 * 1024)	/* fits a socket buffer */
#define CONTENT_MAX	(64 * 1024)
#define FD_SCAN		64

static const char *const rcpts[] = {
	"alice@example.com", "Bob@Example.COM", "carol@example.com"
};

static const uint8_t	*content;
static size_t		 content_len;
static uint8_t		 seen[CONTENT_MAX + 1];

static size_t
open_fds(void)
{
	size_t n = 0;
	int fd;

	for (fd = 0; fd < FD_SCAN; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* The queue file, open read-only: a memfd, reopened through /proc. */
static int
make_qfile(const uint8_t *c, size_t len)
{
	struct qfile_writer w;
	struct qfile_sender s;
	struct qfile_rcpt r;
	char path[64];
	size_t i;
	int fd, ro;

	CHECK((fd = memfd_create("fuzz_deliver", MFD_CLOEXEC)) != -1);
	CHECK(qfile_writer_fdopen(&w, fd) == 0);
	CHECK(qfile_put_arrival(&w, 1700000000, 1) == 0);
	memset(&s, 0, sizeof(s));
	strlcpy(s.addr, SENDER, sizeof(s.addr));
	CHECK(qfile_put_sender(&w, &s) == 0);
	for (i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.addr = rcpts[i];
		CHECK(qfile_put_rcpt(&w, &r) == 0);
	}
	if (len > 0)
		CHECK(qfile_put_content(&w, c, len) == 0);
	CHECK(qfile_writer_finish(&w) == 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro != -1);
	close(fd);
	return ro;
}

static void
handler(struct deliver_req *req, void *arg)
{
	struct mailbox_src src;
	const uint8_t *h;
	const char *crlf;
	size_t i, k, hlen, fields;
	ssize_t n;

	CHECK(arg == &content);
	CHECK(strcmp(req->sender, SENDER) == 0);
	CHECK(req->nrcpt >= 1 && req->nrcpt <= DELIVER_RCPT_MAX);
	for (i = 0; i < req->nrcpt; i++) {
		CHECK(req->rcpts[i].index < 3);
		CHECK(strcmp(req->rcpts[i].addr,
		    rcpts[req->rcpts[i].index]) == 0);
		CHECK((req->rcpts[i].notify & ~0x0f) == 0);
		for (k = 0; k < i; k++)
			CHECK(req->rcpts[k].index != req->rcpts[i].index);
	}
	/* The content, in reads of 1..13 bytes, is the file's. */
	deliver_src(req, &src, NULL, 0);
	k = 0;
	for (i = 1; (n = src.read(src.arg, seen + k, i % 13 + 1)) > 0; i++) {
		k += (size_t)n;
		CHECK(k <= content_len);
	}
	CHECK(n == 0 && k == content_len);
	CHECK(k == 0 || memcmp(seen, content, k) == 0);
	/* The header section is a prefix of it. */
	h = deliver_header(req, &hlen);
	CHECK(hlen <= content_len && hlen <= DELIVER_HEADER_MAX);
	CHECK(hlen == 0 || memcmp(h, content, hlen) == 0);
	CHECK(hlen == 0 || (h[0] != ' ' && h[0] != '\t'));
	for (fields = 0, i = 0; i < hlen; i++)
		if (i == 0 || (h[i - 1] == '\n' && h[i] != ' ' &&
		    h[i] != '\t'))
			fields++;
	CHECK(deliver_header_count(req, "Received", NULL) <= fields);
	CHECK(deliver_header_count(req, "Delivered-To", req->rcpts[0].addr) <=
	    deliver_header_count(req, "Delivered-To", NULL));
	crlf = deliver_crlf(req);
	CHECK(strcmp(crlf, "\r\n") == 0 || strcmp(crlf, "\n") == 0);
	for (i = 0; i < req->nrcpt; i++) {
		switch (i % 4) {
		case 0:
			deliver_set(&req->rcpts[i], DELIVER_SENT, "2.0.0",
			    "fuzz", "delivered %zu", hlen);
			break;
		case 1:
			deliver_set(&req->rcpts[i], DELIVER_DEFERRED,
			    req->rcpts[i].orcpt, req->rcpts[i].orcpt_type,
			    "%s", req->rcpts[i].orcpt);
			break;
		case 2:
			deliver_set(&req->rcpts[i], DELIVER_BOUNCED,
			    req->rcpts[i].orcpt_type, "fuzz", "%s",
			    req->rcpts[i].addr);
			break;
		default:
			break;	/* left unset: deferred */
		}
	}
}

static bool
printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

static void
check_reply(const struct attr_msg *m)
{
	const struct attr *st, *res, *dsn, *relay, *text;

	CHECK((st = attr_find(m, "status")) != NULL);
	CHECK(st->type == ATTR_T_STR);
	if (st->len == 4 && memcmp(st->val, "done", 4) == 0) {
		CHECK(m->n == 1);
		return;
	}
	CHECK(st->len == 4 && memcmp(st->val, "rcpt", 4) == 0);
	CHECK(m->n == 6);
	CHECK((res = attr_find(m, "result")) != NULL);
	CHECK((dsn = attr_find(m, "dsn")) != NULL && dsn->len >= 5 &&
	    dsn->len <= DELIVER_DSN_MAX);
	CHECK((relay = attr_find(m, "relay")) != NULL &&
	    relay->len <= DELIVER_RELAY_MAX && printable(relay->val,
	    relay->len));
	CHECK((text = attr_find(m, "text")) != NULL &&
	    text->len <= DELIVER_TEXT_MAX && printable(text->val, text->len));
	CHECK(attr_find(m, "index") != NULL &&
	    attr_find(m, "index")->type == ATTR_T_INT);
	if (res->len == 4 && memcmp(res->val, "sent", 4) == 0)
		CHECK(dsn->val[0] == '2');
	else if (res->len == 8 && memcmp(res->val, "deferred", 8) == 0)
		CHECK(dsn->val[0] == '4');
	else {
		CHECK(res->len == 7 && memcmp(res->val, "bounced", 7) == 0);
		CHECK(dsn->val[0] == '5');
	}
}

/* Every whole reply the agent wrote. */
static void
check_replies(int fd)
{
	static uint8_t buf[1024 * 1024];
	struct attr_msg m;
	const char *err;
	size_t len = 0, off = 0, total;
	ssize_t n;

	while (len < sizeof(buf) &&
	    (n = recv(fd, buf + len, sizeof(buf) - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	attr_msg_init(&m);
	while (attr_frame(buf + off, len - off, &total, &err) == ATTR_OK) {
		CHECK(attr_decode(buf + off + 4, total - 4, &m, &err) ==
		    ATTR_OK);
		check_reply(&m);
		off += total;
	}
	attr_msg_clear(&m);
}

/* Send as much of p as the socket takes without waiting. */
static bool
send_some(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	const uint8_t *stream, *end, *cut;
	size_t n, before;
	int sv[2], qfd;

	if (!init) {
		log_init("fuzz_deliver", 0);
		init = true;
	}
	if (size < 2)
		return 0;
	n = (size_t)data[0] << 8 | data[1];
	if (n > size - 2)
		n = size - 2;
	content = data + 2;
	content_len = n;
	stream = content + n;
	end = data + size;
	if ((size_t)(end - stream) > STREAM_MAX)
		end = stream + STREAM_MAX;

	before = open_fds();
	qfd = make_qfile(content, content_len);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	for (;;) {
		cut = memmem(stream, (size_t)(end - stream), "QQQQ", 4);
		if (fdpass_send(sv[0], &qfd, 1, "Q", 1) == -1)
			break;
		if (!send_some(sv[0], stream, (size_t)((cut ? cut : end) -
		    stream)) || cut == NULL)
			break;
		stream = cut + 4;
	}
	CHECK(shutdown(sv[0], SHUT_WR) == 0);
	(void)deliver_serve(sv[1], handler, &content, 0, 0);
	close(sv[1]);
	check_replies(sv[0]);
	close(sv[0]);
	close(qfd);
	CHECK(open_fds() == before);
	return 0;
}
