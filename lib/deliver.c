/*
 * SPDX-License-Identifier: ISC
 *
 * deliver.c -- the delivery agent side of the qmgr -> agent protocol.
 *
 * Process:  delivery agents (virtual, local, lmtp, smtp).
 * Input:    attribute messages and a queue file descriptor from qmgr,
 *           which is trusted (private/ socket, mail_owner only) but is
 *           still checked: every field has a bound, every recipient must
 *           match the queue file.
 * Failure:  a request that breaks the protocol is logged and the
 *           connection dropped; qmgr then defers the recipients.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ascii.h"
#include "attr.h"
#include "deliver.h"
#include "fdpass.h"
#include "log.h"
#include "xmem.h"

#define DEFAULT_MAX_SIZE	((size_t)128 * 1024 * 1024)

static const char *
result_name(enum deliver_result r)
{
	switch (r) {
	case DELIVER_SENT:
		return "sent";
	case DELIVER_BOUNCED:
		return "bounced";
	default:
		return "deferred";
	}
}

/* RFC 3463: class "." subject "." detail; class 2, 4 or 5. */
static bool
dsn_valid(const char *s)
{
	size_t i = 0, n;
	int part;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return false;
	if (s[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			return false;
		if (part == 0 && s[i++] != '.')
			return false;
	}
	return s[i] == '\0';
}

void
deliver_set(struct deliver_rcpt *r, enum deliver_result res, const char *dsn,
    const char *relay, const char *fmt, ...)
{
	char tmp[DELIVER_TEXT_MAX + 1];
	va_list ap;
	size_t i;

	r->result = res;
	if (dsn != NULL && strlen(dsn) <= DELIVER_DSN_MAX && dsn_valid(dsn) &&
	    (dsn[0] == '2') == (res == DELIVER_SENT) &&
	    (dsn[0] == '5') == (res == DELIVER_BOUNCED))
		strlcpy(r->dsn, dsn, sizeof(r->dsn));
	else
		strlcpy(r->dsn, res == DELIVER_SENT ? "2.0.0" :
		    res == DELIVER_BOUNCED ? "5.3.0" : "4.3.0", sizeof(r->dsn));
	strlcpy(r->relay, relay != NULL ? relay : "", sizeof(r->relay));
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	for (i = 0; tmp[i] != '\0'; i++)
		if ((unsigned char)tmp[i] < 0x20 || tmp[i] == 0x7f)
			tmp[i] = ' ';
	strlcpy(r->text, tmp, sizeof(r->text));
	for (i = 0; r->relay[i] != '\0'; i++)
		if ((unsigned char)r->relay[i] < 0x20 || r->relay[i] == 0x7f)
			r->relay[i] = ' ';
}

/* ---- content ------------------------------------------------------------ */

static ssize_t
src_read(void *arg, void *buf, size_t len)
{
	struct deliver_req *req = arg;
	const struct qfile_range *rg;
	size_t n;

	while (req->src_range < req->q.ncontent) {
		rg = &req->q.content[req->src_range];
		if (req->src_off < rg->len) {
			n = rg->len - req->src_off;
			if (n > len)
				n = len;
			memcpy(buf, req->q.base + rg->off + req->src_off, n);
			req->src_off += n;
			return (ssize_t)n;
		}
		req->src_range++;
		req->src_off = 0;
	}
	return 0;
}

void
deliver_src(struct deliver_req *req, struct mailbox_src *src,
    const void *prefix, size_t prefix_len)
{
	req->src_range = 0;
	req->src_off = 0;
	src->read = src_read;
	src->arg = req;
	src->prefix = prefix;
	src->prefix_len = prefix_len;
}

const uint8_t *
deliver_header(struct deliver_req *req, size_t *len_r)
{
	const struct qfile_range *rg;
	size_t i, k, cap = 0, len = 0, line_start = 0;
	uint8_t c;

	if (req->hdr != NULL) {
		*len_r = req->hdr_len;
		return req->hdr;
	}
	for (i = 0; i < req->q.ncontent; i++) {
		rg = &req->q.content[i];
		for (k = 0; k < rg->len; k++) {
			c = req->q.base[rg->off + k];
			/* An empty line ends the header section. */
			if (c == '\n' && (len == line_start ||
			    (len == line_start + 1 &&
			    req->hdr[line_start] == '\r')))
				goto done;
			if (len == DELIVER_HEADER_MAX)
				goto done;
			if (len == cap) {
				cap = cap == 0 ? 4096 : cap * 2;
				if (cap > DELIVER_HEADER_MAX)
					cap = DELIVER_HEADER_MAX;
				req->hdr = xreallocarray(req->hdr, cap, 1);
			}
			req->hdr[len++] = c;
			if (c == '\n')
				line_start = len;
		}
	}
done:
	/* Drop a trailing lone CR of the empty line. */
	if (len > line_start && len == line_start + 1 &&
	    req->hdr[line_start] == '\r')
		len = line_start;
	if (req->hdr == NULL)
		req->hdr = xmalloc(1);
	req->hdr_len = len;
	*len_r = len;
	return req->hdr;
}

static bool
ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t
deliver_header_count(struct deliver_req *req, const char *name,
    const char *value)
{
	const uint8_t *h, *f, *colon, *v, *end;
	size_t len, count = 0, nlen = strlen(name), vlen;
	size_t i = 0, start;

	h = deliver_header(req, &len);
	while (i < len) {
		/* One field: this line and its continuation lines. */
		start = i;
		do {
			while (i < len && h[i] != '\n')
				i++;
			if (i < len)
				i++;
		} while (i < len && (h[i] == ' ' || h[i] == '\t'));
		f = h + start;
		end = h + i;
		colon = memchr(f, ':', (size_t)(end - f));
		if (colon == NULL)
			continue;
		v = colon;
		while (v > f && (v[-1] == ' ' || v[-1] == '\t'))
			v--;
		if ((size_t)(v - f) != nlen || strncasecmp((const char *)f,
		    name, nlen) != 0)
			continue;
		if (value == NULL) {
			count++;
			continue;
		}
		v = colon + 1;
		while (v < end && ws(*v))
			v++;
		while (end > v && ws(end[-1]))
			end--;
		vlen = strlen(value);
		if ((size_t)(end - v) == vlen &&
		    strncasecmp((const char *)v, value, vlen) == 0)
			count++;
	}
	return count;
}

const char *
deliver_crlf(struct deliver_req *req)
{
	const struct qfile_range *rg;
	size_t i, k;
	uint8_t prev = 0, c;

	for (i = 0; i < req->q.ncontent; i++) {
		rg = &req->q.content[i];
		for (k = 0; k < rg->len; k++) {
			c = req->q.base[rg->off + k];
			if (c == '\n')
				return prev == '\r' ? "\r\n" : "\n";
			prev = c;
		}
	}
	return "\r\n";
}

/* ---- the protocol ------------------------------------------------------- */

static void
req_clear(struct deliver_req *req)
{
	size_t i;

	for (i = 0; i < req->nrcpt; i++) {
		free(req->rcpts[i].addr);
		free(req->rcpts[i].orcpt_type);
		free(req->rcpts[i].orcpt);
	}
	free(req->rcpts);
	req->rcpts = NULL;
	req->nrcpt = 0;
	free(req->hdr);
	req->hdr = NULL;
	req->hdr_len = 0;
	if (req->fd != -1)
		close(req->fd);
	req->fd = -1;
	qfile_clear(&req->q);
}

static int
get_str(const struct attr_msg *m, const char *name, char *buf, size_t sz,
    const char **err_r)
{
	const struct attr *a = attr_find(m, name);

	if (a == NULL || a->type != ATTR_T_STR) {
		*err_r = "missing string attribute";
		return -1;
	}
	if (a->len >= sz || memchr(a->val, '\0', a->len) != NULL) {
		*err_r = "string attribute too long or with NUL";
		return -1;
	}
	memcpy(buf, a->val, a->len);
	buf[a->len] = '\0';
	return 0;
}

static char *
dup_str(const struct attr_msg *m, const char *name, size_t max,
    const char **err_r)
{
	char *s = xmalloc(max + 1);

	if (get_str(m, name, s, max + 1, err_r) == -1) {
		free(s);
		return NULL;
	}
	return s;
}

static bool
is_request(const struct attr_msg *m, const char *what)
{
	const struct attr *a = attr_find(m, "request");

	return a != NULL && a->type == ATTR_T_STR && a->len == strlen(what) &&
	    memcmp(a->val, what, a->len) == 0;
}

/* 1: qmgr closed the connection between requests. */
static int
read_request(int sock, struct deliver_req *req, int timeout_ms,
    size_t max_size, const char **err_r)
{
	struct attr_msg m;
	char proto[32], byte;
	int fds[FDPASS_MAX];
	size_t nfds = 0, i;
	int64_t n;
	ssize_t got;
	int rc = -1;
	struct deliver_rcpt *r;

	got = fdpass_recv(sock, fds, FDPASS_MAX, &nfds, &byte, 1);
	if (got == 0)
		return 1;
	if (got == -1) {
		*err_r = strerror(errno);
		return -1;
	}
	if (nfds != 1 || byte != 'Q') {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		*err_r = "expected one queue file descriptor";
		return -1;
	}
	req->fd = fds[0];

	attr_msg_init(&m);
	if (attr_read(sock, &m, timeout_ms, err_r) == -1)
		goto out;
	if (!is_request(&m, "deliver")) {
		*err_r = "expected request=deliver";
		goto out;
	}
	if (get_str(&m, "proto", proto, sizeof(proto), err_r) == -1 ||
	    get_str(&m, "queue_id", req->queue_id, sizeof(req->queue_id),
	    err_r) == -1 ||
	    get_str(&m, "nexthop", req->nexthop, sizeof(req->nexthop),
	    err_r) == -1 ||
	    get_str(&m, "sender", req->sender, sizeof(req->sender),
	    err_r) == -1)
		goto out;
	if (strcmp(proto, DELIVER_PROTO) != 0) {
		*err_r = "unknown protocol version";
		goto out;
	}
	if (!qid_valid(req->queue_id, strlen(req->queue_id))) {
		*err_r = "bad queue_id";
		goto out;
	}
	if (attr_get_int(&m, "nrcpt", &n) == -1 || n < 1 ||
	    n > DELIVER_RCPT_MAX) {
		*err_r = "bad nrcpt";
		goto out;
	}
	if (qfile_read(req->fd, max_size, &req->q, err_r) == -1)
		goto out;
	if (strcmp(req->q.sender.addr, req->sender) != 0) {
		*err_r = "sender does not match the queue file";
		goto out;
	}
	req->rcpts = xcalloc((size_t)n, sizeof(*req->rcpts));
	for (i = 0; i < (size_t)n; i++) {
		int64_t idx, notify;

		if (attr_read(sock, &m, timeout_ms, err_r) == -1)
			goto out;
		if (!is_request(&m, "rcpt")) {
			*err_r = "expected request=rcpt";
			goto out;
		}
		r = &req->rcpts[i];
		req->nrcpt = i + 1;
		if ((r->addr = dup_str(&m, "addr", QFILE_ADDR_MAX,
		    err_r)) == NULL ||
		    (r->orcpt_type = dup_str(&m, "orcpt_type",
		    QFILE_ORCPT_TYPE_MAX, err_r)) == NULL ||
		    (r->orcpt = dup_str(&m, "orcpt", QFILE_ADDR_MAX,
		    err_r)) == NULL)
			goto out;
		if (attr_get_int(&m, "index", &idx) == -1 || idx < 0 ||
		    (size_t)idx >= req->q.nrcpt ||
		    attr_get_int(&m, "notify", &notify) == -1 ||
		    notify < 0 || notify > 0xff) {
			*err_r = "bad index or notify";
			goto out;
		}
		if (strcmp(req->q.rcpts[idx].addr, r->addr) != 0) {
			*err_r = "recipient does not match the queue file";
			goto out;
		}
		r->index = (uint32_t)idx;
		r->notify = (uint8_t)notify;
	}
	rc = 0;
out:
	attr_msg_clear(&m);
	return rc;
}

static int
write_replies(int sock, struct deliver_req *req, int timeout_ms,
    const char **err_r)
{
	struct deliver_rcpt *r;
	struct buf out;
	size_t i;
	int rc = 0;

	buf_init(&out, ATTR_MSG_MAX);
	for (i = 0; i < req->nrcpt && rc == 0; i++) {
		r = &req->rcpts[i];
		if (r->result == DELIVER_NONE)
			deliver_set(r, DELIVER_DEFERRED, "4.3.0", "",
			    "delivery agent did not handle the recipient");
		attr_out_init(&out);
		if (attr_put_str(&out, "status", "rcpt") == -1 ||
		    attr_put_int(&out, "index", r->index) == -1 ||
		    attr_put_str(&out, "result", result_name(r->result)) == -1 ||
		    attr_put_str(&out, "dsn", r->dsn) == -1 ||
		    attr_put_str(&out, "relay", r->relay) == -1 ||
		    attr_put_str(&out, "text", r->text) == -1 ||
		    attr_write(sock, &out, timeout_ms, err_r) == -1)
			rc = -1;
	}
	if (rc == 0) {
		attr_out_init(&out);
		if (attr_put_str(&out, "status", "done") == -1 ||
		    attr_write(sock, &out, timeout_ms, err_r) == -1)
			rc = -1;
	}
	buf_clear(&out);
	return rc;
}

int
deliver_serve(int sock, void (*handler)(struct deliver_req *, void *),
    void *arg, int timeout_ms, size_t max_size)
{
	struct deliver_req req;
	const char *err = "";
	int r;

	memset(&req, 0, sizeof(req));
	req.fd = -1;
	qfile_init(&req.q);
	if (max_size == 0)
		max_size = DEFAULT_MAX_SIZE;
	for (;;) {
		r = read_request(sock, &req, timeout_ms, max_size, &err);
		if (r == 1) {
			req_clear(&req);
			return 0;
		}
		if (r == -1) {
			log_warnx("bad request from the queue manager: %s", err);
			req_clear(&req);
			return -1;
		}
		handler(&req, arg);
		if (write_replies(sock, &req, timeout_ms, &err) == -1) {
			log_warnx("cannot answer the queue manager: %s", err);
			req_clear(&req);
			return -1;
		}
		req_clear(&req);
		qfile_init(&req.q);
	}
}
