/*
 * SPDX-License-Identifier: ISC
 *
 * attr.c -- typed, length-prefixed attribute messages for IPC.
 *
 * Process:  all; a receiver treats every message as untrusted.
 * Input:    bodies of at most ATTR_MSG_MAX bytes from a peer process that
 *           may be compromised (smtpd talking to cleanup, for instance).
 * Failure:  malformed input -> ATTR_ERR or -1 with a static error string;
 *           the caller drops that peer.  Misuse of the API -> bug().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ascii.h"
#include "attr.h"
#include "buf.h"
#include "log.h"

#define PREFIX_LEN	4		/* u32 body length */
#define HEAD_LEN	2		/* u8 type, u8 name length */
#define VLEN_LEN	4		/* u32 value length */
#define INT_LEN		8		/* an INT value */
#define READ_CHUNK	(16 * 1024)

/* Two's complement without implementation-defined conversions. */
static int64_t
get_be64s(const uint8_t *p)
{
	uint64_t u;
	int i;

	u = 0;
	for (i = 0; i < 8; i++)
		u = u << 8 | p[i];
	if (u <= INT64_MAX)
		return (int64_t)u;
	return -(int64_t)(~u) - 1;
}

static void
put_be64s(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)u;
		u >>= 8;
	}
}

static bool
name_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool
name_ok(const uint8_t *name, size_t len)
{
	size_t i;

	if (len == 0 || len > ATTR_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char_ok(name[i]))
			return false;
	return true;
}

static bool
type_known(uint8_t type)
{
	return type == ATTR_T_STR || type == ATTR_T_INT || type == ATTR_T_DATA;
}

/*
 * Decode the attribute at p[*off..len) into *a and advance *off.  Every
 * comparison is against what is left (len - *off, minus what was already
 * checked to be there), so no sum can overflow.
 */
static enum attr_result
decode_one(const uint8_t *p, size_t len, size_t *off, struct attr *a,
    const char **err_r)
{
	const uint8_t *name, *val;
	size_t left, nlen;
	uint32_t vlen;
	uint8_t type;

	left = len - *off;
	p += *off;
	if (left < HEAD_LEN) {
		*err_r = "truncated attribute header";
		return ATTR_ERR;
	}
	type = p[0];
	nlen = p[1];
	if (!type_known(type)) {
		*err_r = "unknown attribute type";
		return ATTR_ERR;
	}
	if (nlen == 0) {
		*err_r = "empty attribute name";
		return ATTR_ERR;
	}
	if (nlen > ATTR_NAME_MAX) {
		*err_r = "attribute name too long";
		return ATTR_ERR;
	}
	left -= HEAD_LEN;
	if (left < nlen) {
		*err_r = "truncated attribute name";
		return ATTR_ERR;
	}
	name = p + HEAD_LEN;
	if (!name_ok(name, nlen)) {
		*err_r = "bad character in attribute name";
		return ATTR_ERR;
	}
	left -= nlen;
	if (left < VLEN_LEN) {
		*err_r = "truncated value length";
		return ATTR_ERR;
	}
	vlen = ascii_get_be32(name + nlen);
	left -= VLEN_LEN;
	if (vlen > left) {
		*err_r = "truncated value";
		return ATTR_ERR;
	}
	val = name + nlen + VLEN_LEN;
	if (type == ATTR_T_STR && vlen > ATTR_STR_MAX) {
		*err_r = "string value too long";
		return ATTR_ERR;
	}
	if (type == ATTR_T_STR && memchr(val, '\0', vlen) != NULL) {
		*err_r = "NUL byte in string value";
		return ATTR_ERR;
	}
	if (type == ATTR_T_INT && vlen != INT_LEN) {
		*err_r = "integer value not 8 bytes";
		return ATTR_ERR;
	}

	a->type = (enum attr_type)type;
	memcpy(a->name, name, nlen);
	a->name[nlen] = '\0';
	a->val = val;
	a->len = vlen;
	a->num = type == ATTR_T_INT ? get_be64s(val) : 0;
	*off += HEAD_LEN + nlen + VLEN_LEN + vlen;
	return ATTR_OK;
}

static bool
is_duplicate(const struct attr_msg *msg, const char *name)
{
	size_t i;

	for (i = 0; i < msg->n; i++)
		if (strcmp(msg->attrs[i].name, name) == 0)
			return true;
	return false;
}

/* Decode msg->body in place; msg->n is 0 unless the whole body is good. */
static enum attr_result
decode_body(struct attr_msg *msg, const char **err_r)
{
	const uint8_t *p = msg->body.data;
	size_t len = msg->body.len, off = 0;
	struct attr *a;

	msg->n = 0;
	while (off < len) {
		if (msg->n == ATTR_MAX_ATTRS) {
			*err_r = "too many attributes";
			goto fail;
		}
		a = &msg->attrs[msg->n];
		if (decode_one(p, len, &off, a, err_r) != ATTR_OK)
			goto fail;
		if (is_duplicate(msg, a->name)) {
			*err_r = "duplicate attribute name";
			goto fail;
		}
		msg->n++;
	}
	return ATTR_OK;

 fail:
	msg->n = 0;
	return ATTR_ERR;
}

enum attr_result
attr_decode(const uint8_t *body, size_t len, struct attr_msg *msg,
    const char **err_r)
{
	msg->n = 0;
	buf_reset(&msg->body);
	if (len > ATTR_MSG_MAX) {
		*err_r = "message too large";
		return ATTR_ERR;
	}
	if (buf_add(&msg->body, body, len) == -1) {
		*err_r = "message too large";
		return ATTR_ERR;
	}
	return decode_body(msg, err_r);
}

enum attr_result
attr_frame(const uint8_t *in, size_t len, size_t *total_r,
    const char **err_r)
{
	uint32_t blen;

	if (len < PREFIX_LEN)
		return ATTR_MORE;
	blen = ascii_get_be32(in);
	if (blen > ATTR_MSG_MAX) {
		*err_r = "message too large";
		return ATTR_ERR;
	}
	if (len - PREFIX_LEN < blen)
		return ATTR_MORE;
	*total_r = PREFIX_LEN + (size_t)blen;
	return ATTR_OK;
}

void
attr_msg_init(struct attr_msg *msg)
{
	msg->n = 0;
	buf_init(&msg->body, ATTR_MSG_MAX);
}

void
attr_msg_clear(struct attr_msg *msg)
{
	msg->n = 0;
	buf_clear(&msg->body);
}

/*
 * Building.  out holds prefix + body; the prefix always equals the body
 * length, which is how attr_write knows out was built here.
 */

void
attr_out_init(struct buf *out)
{
	static const uint8_t zero[PREFIX_LEN];

	buf_init(out, PREFIX_LEN + ATTR_MSG_MAX);
	if (buf_add(out, zero, sizeof(zero)) == -1)
		bug("attr_out_init: cannot add the prefix");
}

void
attr_out_reset(struct buf *out)
{
	static const uint8_t zero[PREFIX_LEN];

	buf_reset(out);
	if (buf_add(out, zero, sizeof(zero)) == -1)
		bug("attr_out_reset: cannot add the prefix");
}

static void
check_out(const struct buf *out, const char *fn)
{
	if (out->len < PREFIX_LEN || out->len - PREFIX_LEN > ATTR_MSG_MAX ||
	    ascii_get_be32(out->data) != out->len - PREFIX_LEN)
		bug("%s: message not built by attr_out_init/attr_put_*", fn);
}

/*
 * May an attribute called name join out?  Walks the attributes already
 * there (our own encoding, at most ATTR_MAX_ATTRS of them) to enforce the
 * count and the uniqueness of names, as the decoder will.
 */
static bool
out_room_for(const struct buf *out, const char *name, size_t nlen)
{
	const uint8_t *p = out->data + PREFIX_LEN;
	size_t len = out->len - PREFIX_LEN, off = 0, n = 0, alen, vlen;

	while (off < len) {
		if (len - off < HEAD_LEN + VLEN_LEN)
			bug("attr_put: corrupt message");
		alen = p[off + 1];
		if (len - off - HEAD_LEN - VLEN_LEN < alen)
			bug("attr_put: corrupt message");
		if (alen == nlen && memcmp(p + off + HEAD_LEN, name, nlen) == 0)
			return false;
		off += HEAD_LEN + alen;
		vlen = ascii_get_be32(p + off);
		off += VLEN_LEN;
		if (len - off < vlen)
			bug("attr_put: corrupt message");
		off += vlen;
		n++;
	}
	return n < ATTR_MAX_ATTRS;
}

static int
put(struct buf *out, uint8_t type, const char *name, const void *val,
    size_t vlen)
{
	uint8_t head[HEAD_LEN], vlenb[VLEN_LEN];
	size_t nlen, need, blen, old;

	check_out(out, "attr_put");
	if (name == NULL || (val == NULL && vlen > 0))
		return -1;
	nlen = strnlen(name, ATTR_NAME_MAX + 1);
	if (!name_ok((const uint8_t *)name, nlen))
		return -1;
	if (vlen > ATTR_MSG_MAX)
		return -1;
	need = HEAD_LEN + nlen + VLEN_LEN + vlen;
	blen = out->len - PREFIX_LEN;
	if (blen > ATTR_MSG_MAX - need)
		return -1;
	if (!out_room_for(out, name, nlen))
		return -1;

	head[0] = type;
	head[1] = (uint8_t)nlen;
	ascii_put_be32(vlenb, (uint32_t)vlen);
	old = out->len;
	if (buf_add(out, head, sizeof(head)) == -1 ||
	    buf_add(out, name, nlen) == -1 ||
	    buf_add(out, vlenb, sizeof(vlenb)) == -1 ||
	    buf_add(out, val, vlen) == -1) {
		buf_truncate(out, old);
		return -1;
	}
	ascii_put_be32(out->data, (uint32_t)(out->len - PREFIX_LEN));
	return 0;
}

int
attr_put_str(struct buf *out, const char *name, const char *val)
{
	size_t len;

	if (val == NULL)
		return -1;
	len = strnlen(val, ATTR_STR_MAX + 1);
	if (len > ATTR_STR_MAX)
		return -1;
	return put(out, ATTR_T_STR, name, val, len);
}

int
attr_put_int(struct buf *out, const char *name, int64_t val)
{
	uint8_t b[INT_LEN];

	put_be64s(b, val);
	return put(out, ATTR_T_INT, name, b, sizeof(b));
}

int
attr_put_data(struct buf *out, const char *name, const void *val,
    size_t len)
{
	return put(out, ATTR_T_DATA, name, val, len);
}

/* Lookups. */

const struct attr *
attr_find(const struct attr_msg *msg, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < msg->n; i++)
		if (strcmp(msg->attrs[i].name, name) == 0)
			return &msg->attrs[i];
	return NULL;
}

int
attr_get_str(const struct attr_msg *msg, const char *name, char *buf,
    size_t sz)
{
	const struct attr *a;

	if ((a = attr_find(msg, name)) == NULL)
		return -1;
	if (a->type != ATTR_T_STR)
		return -1;
	if (a->len >= sz)
		return -1;
	if (a->len > 0)
		memcpy(buf, a->val, a->len);
	buf[a->len] = '\0';
	return 0;
}

int
attr_get_int(const struct attr_msg *msg, const char *name, int64_t *out)
{
	const struct attr *a;

	if ((a = attr_find(msg, name)) == NULL)
		return -1;
	if (a->type != ATTR_T_INT)
		return -1;
	*out = a->num;
	return 0;
}

/*
 * Blocking I/O.  The timeout covers the whole call: each poll() waits only
 * for what is left of it, measured on the monotonic clock.
 */

struct deadline {
	bool		forever;
	struct timespec	at;
};

static void
deadline_init(struct deadline *d, int timeout_ms)
{
	d->forever = timeout_ms < 0;
	if (d->forever)
		return;
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	d->at.tv_sec += timeout_ms / 1000;
	d->at.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (d->at.tv_nsec >= 1000000000L) {
		d->at.tv_sec++;
		d->at.tv_nsec -= 1000000000L;
	}
}

/* Milliseconds left, rounded up; 0 once the deadline has passed. */
static int
deadline_left(const struct deadline *d)
{
	struct timespec now;
	int64_t ns;

	if (d->forever)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(d->at.tv_sec - now.tv_sec) * 1000000000 +
	    (d->at.tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/*
 * Wait until fd is ready for events.  Once the deadline has passed, poll
 * once more without waiting, so that data already there is still taken.
 */
static int
wait_fd(int fd, short events, const struct deadline *d, const char **err_r)
{
	struct pollfd pfd;
	int n;

	/* poll() would silently ignore a negative fd and wait it out. */
	if (fd < 0) {
		*err_r = strerror(EBADF);
		return -1;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, deadline_left(d));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*err_r = strerror(errno);
			return -1;
		}
		if (n == 0) {
			*err_r = "timeout";
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			*err_r = strerror(EBADF);
			return -1;
		}
		/* POLLERR and POLLHUP: the read or write reports them. */
		return 0;
	}
}

/*
 * One non-blocking write.  send() with MSG_NOSIGNAL so that a closed peer
 * is EPIPE rather than SIGPIPE, and MSG_DONTWAIT so that a blocking
 * socket cannot hold us past the deadline.  write() for what is not a
 * socket (a pipe): there only the process's SIGPIPE disposition helps, and
 * a blocking pipe may hold a large write past the deadline.
 */
static ssize_t
write_some(int fd, const uint8_t *p, size_t len, bool *sock)
{
	ssize_t n;

	if (*sock) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n != -1 || errno != ENOTSOCK)
			return n;
		*sock = false;
	}
	return write(fd, p, len);
}

int
attr_write(int fd, const struct buf *out, int timeout_ms, const char **err_r)
{
	struct deadline d;
	size_t off = 0;
	bool sock = true;
	ssize_t n;

	check_out(out, "attr_write");
	deadline_init(&d, timeout_ms);
	while (off < out->len) {
		if (wait_fd(fd, POLLOUT, &d, err_r) == -1)
			return -1;
		n = write_some(fd, out->data + off, out->len - off, &sock);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1) {
			*err_r = strerror(errno);
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Read exactly len bytes into p.  Returns 0, 1 at end of file with *got_r
 * bytes read (so that the caller can tell a message boundary from the
 * inside of a message), or -1 with *err_r set.
 */
static int
read_full(int fd, uint8_t *p, size_t len, const struct deadline *d,
    size_t *got_r, const char **err_r)
{
	ssize_t n;

	*got_r = 0;
	while (*got_r < len) {
		if (wait_fd(fd, POLLIN, d, err_r) == -1)
			return -1;
		n = read(fd, p + *got_r, len - *got_r);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1) {
			*err_r = strerror(errno);
			return -1;
		}
		if (n == 0)
			return 1;
		*got_r += (size_t)n;
	}
	return 0;
}

/*
 * The body is read in chunks and appended, so memory grows only with the
 * bytes that actually arrive, never past ATTR_MSG_MAX, and never ahead of
 * a length prefix that a lying peer does not back up with data.
 */
static int
read_body(int fd, struct attr_msg *msg, size_t blen, const struct deadline *d,
    const char **err_r)
{
	uint8_t chunk[READ_CHUNK];
	size_t want, got;
	int r;

	while (msg->body.len < blen) {
		want = blen - msg->body.len;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if ((r = read_full(fd, chunk, want, d, &got, err_r)) == -1)
			return -1;
		if (r == 1) {
			*err_r = "truncated message";
			return -1;
		}
		if (buf_add(&msg->body, chunk, want) == -1)
			bug("attr_read: body past its maximum");
	}
	return 0;
}

int
attr_read(int fd, struct attr_msg *msg, int timeout_ms, const char **err_r)
{
	uint8_t prefix[PREFIX_LEN];
	struct deadline d;
	uint32_t blen;
	size_t got;
	int r;

	msg->n = 0;
	buf_reset(&msg->body);
	deadline_init(&d, timeout_ms);
	r = read_full(fd, prefix, sizeof(prefix), &d, &got, err_r);
	if (r == -1)
		return -1;
	if (r == 1) {
		*err_r = got == 0 ? "connection closed" : "truncated message";
		return -1;
	}
	blen = ascii_get_be32(prefix);
	if (blen > ATTR_MSG_MAX) {
		*err_r = "message too large";
		return -1;
	}
	if (read_body(fd, msg, blen, &d, err_r) == -1)
		return -1;
	if (decode_body(msg, err_r) != ATTR_OK)
		return -1;
	return 0;
}

int
attr_expect(int fd, struct attr_msg *m, int timeout_ms, const char *want,
    const char *peer, char *why, size_t whysz)
{
	char status[16];
	const char *err;

	if (attr_read(fd, m, timeout_ms, &err) == -1) {
		snprintf(why, whysz, "%s: %s", peer, err);
		return -1;
	}
	if (attr_get_str(m, "status", status, sizeof(status)) == -1) {
		snprintf(why, whysz, "%s: answer without status", peer);
		return -1;
	}
	if (strcmp(status, want) == 0)
		return 0;
	if (attr_get_str(m, "text", why, whysz) == -1 || why[0] == '\0')
		snprintf(why, whysz, "%s: status %s", peer, status);
	return -1;
}
