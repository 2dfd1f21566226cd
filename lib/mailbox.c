/*
 * SPDX-License-Identifier: ISC
 *
 * mailbox.c -- queue content to mailbox content: CRLF to LF and mboxrd
 * "From " quoting, streamed across arbitrary read chunks.
 *
 * Process:  local and virtual delivery agents (planned), as the
 *           recipient's uid.
 * Input:    untrusted message bytes; the state between chunks is one
 *           held CR and the count of '>' and "From " bytes at the start of
 *           the current line, so memory does not grow with the input.
 * Failure:  -1 with errno from the callbacks; never logs or exits.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"

#define FROM_		"From "
#define FROM_LEN	(sizeof(FROM_) - 1)

enum {
	ST_BOL = 0,	/* at the start of a line (maybe holding '>'/From) */
	ST_LINE,	/* inside a line */
};

void
mailbox_conv_init(struct mailbox_conv *c, bool quote_from,
    int (*flush)(void *, const void *, size_t), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->flush = flush;
	c->arg = arg;
	c->quote_from = quote_from;
	c->state = ST_BOL;
	c->last = '\n';
}

static int
flush_out(struct mailbox_conv *c)
{
	if (c->len == 0)
		return 0;
	if (c->flush(c->arg, c->out, c->len) == -1)
		return -1;
	c->len = 0;
	return 0;
}

static int
out(struct mailbox_conv *c, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t room;

	if (n == 0)
		return 0;
	c->size += n;
	c->last = s[n - 1];
	while (n > 0) {
		if (c->len == sizeof(c->out) && flush_out(c) == -1)
			return -1;
		room = sizeof(c->out) - c->len;
		if (room > n)
			room = n;
		memcpy(c->out + c->len, s, room);
		c->len += room;
		s += room;
		n -= room;
	}
	return 0;
}

/* n copies of '>'. */
static int
out_gt(struct mailbox_conv *c, size_t n)
{
	static const char gts[] =
	    ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
	size_t k;

	while (n > 0) {
		k = n < sizeof(gts) - 1 ? n : sizeof(gts) - 1;
		if (out(c, gts, k) == -1)
			return -1;
		n -= k;
	}
	return 0;
}

/* The line did not turn out to be a "From " line: output what was held. */
static int
release(struct mailbox_conv *c)
{
	size_t ngt = c->ngt, nfrom = c->nfrom;

	if (ngt == 0 && nfrom == 0)
		return 0;
	c->ngt = c->nfrom = 0;
	c->state = ST_LINE;
	if (out_gt(c, ngt) == -1)
		return -1;
	return out(c, FROM_, nfrom);
}

/*
 * At the start of a line, with quoting: take b into the match if it fits
 * ('>'s, then "From ").  Returns 1 when taken, 0 when b is for the line
 * (what was held is released then), -1 on error.
 */
static int
match(struct mailbox_conv *c, uint8_t b)
{
	if (b == '>' && c->nfrom == 0) {
		c->ngt++;
		return 1;
	}
	if (b != (uint8_t)FROM_[c->nfrom]) {
		if (release(c) == -1)
			return -1;
		c->state = ST_LINE;
		return 0;
	}
	if (++c->nfrom < FROM_LEN)
		return 1;
	/* A "From " line: one more '>' than it had. */
	c->ngt++;
	c->nfrom = 0;
	c->state = ST_LINE;
	if (release(c) == -1 || out(c, FROM_, FROM_LEN) == -1)
		return -1;
	return 1;
}

/* Bytes up to the next CR or LF go out in one piece. */
static size_t
span(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\r' || p[i] == '\n')
			break;
	return i;
}

/* One step: consume at least one byte of p, return how many, or 0 on error. */
static size_t
step(struct mailbox_conv *c, const uint8_t *p, size_t n)
{
	size_t k;
	int r;

	if (c->cr) {
		c->cr = false;
		if (p[0] == '\n') {
			c->state = ST_BOL;
			return out(c, "\n", 1) == -1 ? 0 : 1;
		}
		if (out(c, "\r", 1) == -1)
			return 0;
	}
	if (p[0] == '\r') {
		if (release(c) == -1)
			return 0;
		c->state = ST_LINE;
		c->cr = true;
		return 1;
	}
	if (c->state == ST_BOL && c->quote_from) {
		if ((r = match(c, p[0])) == -1)
			return 0;
		if (r == 1)
			return 1;
	}
	if (p[0] == '\n') {
		c->state = ST_BOL;
		return out(c, "\n", 1) == -1 ? 0 : 1;
	}
	c->state = ST_LINE;
	k = span(p, n);
	return out(c, p, k) == -1 ? 0 : k;
}

int
mailbox_conv_put(struct mailbox_conv *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t k;

	while (len > 0) {
		if ((k = step(c, p, len)) == 0)
			return -1;
		p += k;
		len -= k;
	}
	return 0;
}

/* Output what is held: the start of a line, then a CR. */
static int
release_all(struct mailbox_conv *c)
{
	if (release(c) == -1)
		return -1;
	if (c->cr) {
		c->cr = false;
		c->state = ST_LINE;
		if (out(c, "\r", 1) == -1)
			return -1;
	}
	return 0;
}

int
mailbox_conv_raw(struct mailbox_conv *c, const void *p, size_t len)
{
	if (release_all(c) == -1 || out(c, p, len) == -1)
		return -1;
	c->state = c->last == '\n' ? ST_BOL : ST_LINE;
	return 0;
}

int
mailbox_conv_end(struct mailbox_conv *c)
{
	if (release_all(c) == -1)
		return -1;
	return flush_out(c);
}

int
mailbox_fail(const char *why, const char **err_r)
{
	if (errno == 0)
		errno = EIO;
	*err_r = why;
	return -1;
}

int
mailbox_copy(struct mailbox_conv *c, const struct mailbox_src *src,
    const char **err_r)
{
	static const char write_err[] = "cannot write the message";
	uint8_t buf[MAILBOX_READ_MAX];
	ssize_t n;

	errno = 0;
	if (src->prefix_len > 0 &&
	    mailbox_conv_put(c, src->prefix, src->prefix_len) == -1)
		return mailbox_fail(write_err, err_r);
	for (;;) {
		errno = 0;
		n = src->read(src->arg, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n < 0 || (size_t)n > sizeof(buf))
			return mailbox_fail("cannot read the message", err_r);
		if (n == 0)
			break;
		if (mailbox_conv_put(c, buf, (size_t)n) == -1)
			return mailbox_fail(write_err, err_r);
	}
	errno = 0;
	if (mailbox_conv_end(c) == -1)
		return mailbox_fail(write_err, err_r);
	return 0;
}

int
mailbox_flush_fd(void *arg, const void *data, size_t n)
{
	const uint8_t *p = data;
	int fd = *(int *)arg;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
