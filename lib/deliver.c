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

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ascii.h"
#include "attr.h"
#include "deliver.h"
#include "dsn.h"
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

void
deliver_set(struct deliver_rcpt *r, enum deliver_result res, const char *dsn,
    const char *relay, const char *fmt, ...)
{
	char tmp[DELIVER_TEXT_MAX + 1];
	va_list ap;
	size_t i;

	r->result = res;
	if (dsn != NULL && strlen(dsn) <= DELIVER_DSN_MAX && dsn_status_valid(dsn) &&
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

/*
 * Is the line at p (n bytes, its line end included or not) part of a
 * header section?  RFC 5322 2.2: a field name of printable ASCII but ':'
 * (white space before the colon accepted, as section 4.5 allows), then
 * ':'; or, after a field, a continuation line starting with SP or HT.
 */
static bool
header_line(const uint8_t *p, size_t n, bool first)
{
	size_t i = 0;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return !first;
	while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* Is the line at p (n bytes, without its LF) empty: "" or a lone CR? */
static bool
empty_line(const uint8_t *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\r');
}

const uint8_t *
deliver_header(struct deliver_req *req, size_t *len_r)
{
	const struct qfile_range *rg;
	size_t i, k, cap = 4096, len = 0, line_start = 0;
	uint8_t c;

	if (req->hdr != NULL) {
		*len_r = req->hdr_len;
		return req->hdr;
	}
	req->hdr = xmalloc(cap);
	for (i = 0; i < req->q.ncontent; i++) {
		rg = &req->q.content[i];
		for (k = 0; k < rg->len; k++) {
			c = req->q.base[rg->off + k];
			if (c == '\n' && empty_line(req->hdr + line_start,
			    len - line_start)) {
				/* An empty line ends the header section. */
				len = line_start;
				goto done;
			}
			if (len == DELIVER_HEADER_MAX)
				goto done;
			if (len == cap) {
				cap *= 2;
				if (cap > DELIVER_HEADER_MAX)
					cap = DELIVER_HEADER_MAX;
				req->hdr = xreallocarray(req->hdr, cap, 1);
			}
			req->hdr[len++] = c;
			if (c != '\n')
				continue;
			/* So does the first line that is not a header. */
			if (!header_line(req->hdr + line_start,
			    len - line_start, line_start == 0)) {
				len = line_start;
				goto done;
			}
			line_start = len;
		}
	}
done:
	/* A last line without its line end, or cut at the limit. */
	if (len > line_start && (empty_line(req->hdr + line_start,
	    len - line_start) || !header_line(req->hdr + line_start,
	    len - line_start, line_start == 0)))
		len = line_start;
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

double
deliver_delay(const struct deliver_req *req)
{
	struct timespec now;
	double d;

	clock_gettime(CLOCK_REALTIME, &now);
	d = (double)(now.tv_sec - req->q.arrival_sec) +
	    ((double)now.tv_nsec / 1e9 - (double)req->q.arrival_usec / 1e6);
	return d < 0 ? 0 : d;
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

/*
 * Wait for the next request: 1 when one is there, 0 when qmgr stayed
 * silent for timeout_ms, -1 on a poll error.
 */
static int
wait_request(int sock, int timeout_ms, int (*idle)(void *), void *arg)
{
	struct pollfd pfd;
	struct timespec ts;
	int64_t now, deadline;
	int n, w, t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    timeout_ms;
	pfd.fd = sock;
	pfd.events = POLLIN;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now >= deadline)
			return 0;
		t = deadline - now > INT32_MAX ? INT32_MAX :
		    (int)(deadline - now);
		/* The idle hook's own wait; at least 1 ms: never a spin. */
		w = idle != NULL ? idle(arg) : -1;
		if (w == 0)
			w = 1;
		if (w > 0 && w < t)
			t = w;
		n = poll(&pfd, 1, t);
		if (n > 0)
			return 1;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* The queue file: a regular file, opened read-only. */
static int
check_qfile_fd(int fd, const char **err_r)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*err_r = "the descriptor is not a regular file";
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fl & O_ACCMODE) != O_RDONLY) {
		*err_r = "the queue file is not open read-only";
		return -1;
	}
	return 0;
}

/* Step 1: the byte 'Q' with exactly one descriptor. */
static int
read_fd(int sock, struct deliver_req *req, const char **err_r)
{
	int fds[FDPASS_MAX];
	size_t nfds = 0, i;
	ssize_t got;
	char byte = 0;

	got = fdpass_recv(sock, fds, FDPASS_MAX, &nfds, &byte, 1);
	if (got == 0)
		return 1;
	if (got == -1) {
		*err_r = errno == EBADMSG ? "bad control message (too many "
		    "descriptors?)" : strerror(errno);
		return -1;
	}
	if (nfds != 1 || byte != 'Q') {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		*err_r = byte != 'Q' ? "expected the byte Q" :
		    "expected one queue file descriptor";
		return -1;
	}
	req->fd = fds[0];
	return check_qfile_fd(req->fd, err_r);
}

/* Step 2: the deliver message, and the queue file it names. */
static int
read_deliver(int sock, struct deliver_req *req, int timeout_ms,
    size_t max_size, struct attr_msg *m, char *qerr, size_t qerrsz,
    const char **err_r)
{
	char proto[32];
	const char *why;
	int64_t n;

	if (attr_read(sock, m, timeout_ms, err_r) == -1)
		return -1;
	if (!is_request(m, "deliver")) {
		*err_r = "expected request=deliver";
		return -1;
	}
	if (get_str(m, "proto", proto, sizeof(proto), err_r) == -1 ||
	    get_str(m, "queue_id", req->queue_id, sizeof(req->queue_id),
	    err_r) == -1 ||
	    get_str(m, "nexthop", req->nexthop, sizeof(req->nexthop),
	    err_r) == -1 ||
	    get_str(m, "sender", req->sender, sizeof(req->sender),
	    err_r) == -1)
		return -1;
	if (strcmp(proto, DELIVER_PROTO) != 0) {
		*err_r = "unknown protocol version";
		return -1;
	}
	if (!qid_valid(req->queue_id, strlen(req->queue_id))) {
		*err_r = "bad queue_id";
		return -1;
	}
	if (attr_get_int(m, "nrcpt", &n) == -1 || n < 1 ||
	    n > DELIVER_RCPT_MAX) {
		*err_r = "bad nrcpt";
		return -1;
	}
	req->rcpts = xcalloc((size_t)n, sizeof(*req->rcpts));
	req->nrcpt = (size_t)n;
	/*
	 * A file that cannot be read now (I/O error, too large, damaged on
	 * disk) is not qmgr breaking the protocol: the request is still
	 * read, and each recipient deferred with the reason.
	 */
	if (qfile_read(req->fd, max_size, &req->q, &why) == -1) {
		snprintf(qerr, qerrsz, "cannot read the queue file: %s", why);
		return 0;
	}
	if (strcmp(req->q.sender.addr, req->sender) != 0) {
		*err_r = "sender does not match the queue file";
		return -1;
	}
	return 0;
}

/* Step 3: recipient i.  seen marks the file's recipients already named. */
static int
read_rcpt(int sock, struct deliver_req *req, size_t i, int timeout_ms,
    struct attr_msg *m, bool have_file, uint8_t *seen, const char **err_r)
{
	struct deliver_rcpt *r = &req->rcpts[i];
	int64_t idx, notify;

	if (attr_read(sock, m, timeout_ms, err_r) == -1)
		return -1;
	if (!is_request(m, "rcpt")) {
		*err_r = "expected request=rcpt";
		return -1;
	}
	if ((r->addr = dup_str(m, "addr", QFILE_ADDR_MAX, err_r)) == NULL ||
	    (r->orcpt_type = dup_str(m, "orcpt_type", QFILE_ORCPT_TYPE_MAX,
	    err_r)) == NULL ||
	    (r->orcpt = dup_str(m, "orcpt", QFILE_ADDR_MAX, err_r)) == NULL)
		return -1;
	if (attr_get_int(m, "index", &idx) == -1 || idx < 0 ||
	    idx >= QFILE_RCPT_MAX ||
	    (have_file && (size_t)idx >= req->q.nrcpt)) {
		*err_r = "recipient index out of range";
		return -1;
	}
	if (attr_get_int(m, "notify", &notify) == -1 || notify < 0 ||
	    (notify & ~(int64_t)0x0f) != 0) {
		*err_r = "bad notify";
		return -1;
	}
	r->index = (uint32_t)idx;
	r->notify = (uint8_t)notify;
	if (!have_file)
		return 0;
	if (strcmp(req->q.rcpts[idx].addr, r->addr) != 0) {
		*err_r = "recipient does not match the queue file";
		return -1;
	}
	if (seen[idx]) {
		*err_r = "recipient named twice in one request";
		return -1;
	}
	seen[idx] = 1;
	return 0;
}

/*
 * One request.  1: qmgr closed the connection between requests; 2: it
 * stayed silent for timeout_ms between requests.  0: a request; qerr
 * is non-empty when its queue file could not be read.  -1: the protocol
 * broke (*err_r).
 */
static int
read_request(int sock, struct deliver_req *req, int timeout_ms,
    size_t max_size, int (*idle)(void *), void *arg, char *qerr,
    size_t qerrsz, const char **err_r)
{
	struct attr_msg m;
	uint8_t *seen = NULL;
	size_t i;
	int rc;

	qerr[0] = '\0';
	req->queue_id[0] = '\0';
	if ((rc = wait_request(sock, timeout_ms, idle, arg)) <= 0) {
		if (rc == 0)
			return 2;
		*err_r = strerror(errno);
		return -1;
	}
	if ((rc = read_fd(sock, req, err_r)) != 0)
		return rc;
	attr_msg_init(&m);
	rc = read_deliver(sock, req, timeout_ms, max_size, &m, qerr, qerrsz,
	    err_r);
	if (rc == 0 && qerr[0] == '\0')
		seen = xcalloc(req->q.nrcpt, 1);
	for (i = 0; rc == 0 && i < req->nrcpt; i++)
		rc = read_rcpt(sock, req, i, timeout_ms, &m, qerr[0] == '\0',
		    seen, err_r);
	free(seen);
	attr_msg_clear(&m);
	return rc;
}

static int
write_one(int sock, const struct deliver_rcpt *r, int timeout_ms,
    const char **err_r)
{
	struct buf out;
	int rc = -1;

	attr_out_init(&out);
	if (attr_put_str(&out, "status", "rcpt") == -1 ||
	    attr_put_int(&out, "index", r->index) == -1 ||
	    attr_put_str(&out, "result", result_name(r->result)) == -1 ||
	    attr_put_str(&out, "dsn", r->dsn) == -1 ||
	    attr_put_str(&out, "relay", r->relay) == -1 ||
	    attr_put_str(&out, "text", r->text) == -1)
		*err_r = "cannot build a reply";
	else
		rc = attr_write(sock, &out, timeout_ms, err_r);
	buf_clear(&out);
	return rc;
}

static int
write_replies(int sock, struct deliver_req *req, int timeout_ms,
    const char **err_r)
{
	struct deliver_rcpt *r;
	struct buf out;
	size_t i;
	int rc;

	for (i = 0; i < req->nrcpt; i++) {
		r = &req->rcpts[i];
		if (r->result == DELIVER_NONE)
			deliver_set(r, DELIVER_DEFERRED, "4.3.0", "",
			    "delivery agent did not handle the recipient");
		if (write_one(sock, r, timeout_ms, err_r) == -1)
			return -1;
	}
	attr_out_init(&out);
	if (attr_put_str(&out, "status", "done") == -1) {
		*err_r = "cannot build a reply";
		rc = -1;
	} else
		rc = attr_write(sock, &out, timeout_ms, err_r);
	buf_clear(&out);
	return rc;
}

int
deliver_serve(int sock, void (*handler)(struct deliver_req *, void *),
    void *arg, int timeout_ms, size_t max_size)
{
	return deliver_serve_idle(sock, handler, NULL, arg, timeout_ms,
	    max_size);
}

int
deliver_serve_idle(int sock, void (*handler)(struct deliver_req *, void *),
    int (*idle)(void *), void *arg, int timeout_ms, size_t max_size)
{
	struct deliver_req req;
	char qerr[DELIVER_TEXT_MAX + 1];
	const char *err = "";
	size_t i;
	int r;

	memset(&req, 0, sizeof(req));
	req.fd = -1;
	qfile_init(&req.q);
	if (max_size == 0)
		max_size = DEFAULT_MAX_SIZE;
	for (;;) {
		r = read_request(sock, &req, timeout_ms, max_size, idle, arg,
		    qerr, sizeof(qerr), &err);
		if (r == 2)
			log_info("the queue manager sent nothing for %d ms: "
			    "closing the connection", timeout_ms);
		else if (r == -1 && qid_valid(req.queue_id,
		    strlen(req.queue_id)))
			log_warnx("%s: bad request from the queue manager: %s",
			    req.queue_id, err);
		else if (r == -1)
			log_warnx("bad request from the queue manager: %s",
			    err);
		if (r != 0) {
			req_clear(&req);
			return r == -1 ? -1 : 0;
		}
		if (qerr[0] != '\0') {
			log_warnx("%s: %s", req.queue_id, qerr);
			for (i = 0; i < req.nrcpt; i++)
				deliver_set(&req.rcpts[i], DELIVER_DEFERRED,
				    "4.3.0", "", "%s", qerr);
		} else
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
