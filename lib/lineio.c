/*
 * SPDX-License-Identifier: ISC
 *
 * lineio.c -- bounded line reader over a file descriptor, with timeouts.
 *
 * Process:  any that reads lines from a peer (smtpd, the smtp client, IPC).
 * Input:    untrusted bytes; a line never uses more than max + 2 bytes of
 *           memory and a silent peer costs at most timeout_ms per call.
 * Failure:  read errors -> LINEIO_ERR with errno; nothing here logs.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lineio.h"
#include "log.h"
#include "xmem.h"

/* What scan() found in the buffer. */
enum scan {
	SCAN_LINE,	/* a complete line */
	SCAN_TOOLONG,	/* a line passed max */
	SCAN_MORE,	/* need more bytes */
};

void
lineio_init(struct lineio *l, int fd, size_t max, int timeout_ms)
{
	if (max > SIZE_MAX - 2)
		bug("lineio_init: max %zu too large", max);
	l->fd = fd;
	l->max = max;
	l->timeout_ms = timeout_ms;
	l->cap = max + 2;
	l->buf = xmalloc(l->cap);
	l->start = 0;
	l->end = 0;
	l->skipping = false;
	l->eof = false;
	l->wait_hook = NULL;
	l->wait_arg = NULL;
}

void
lineio_set_wait_hook(struct lineio *l, void (*fn)(void *), void *arg)
{
	l->wait_hook = fn;
	l->wait_arg = arg;
}

void
lineio_free(struct lineio *l)
{
	free(l->buf);
	l->buf = NULL;
	l->cap = 0;
	l->start = 0;
	l->end = 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		bug("clock_gettime(CLOCK_MONOTONIC) failed");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline for poll(): -1 waits for ever. */
static int
remaining(const struct lineio *l, int64_t deadline)
{
	int64_t left;

	if (l->timeout_ms < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Look for a line in buf[start..end), knowing buf[start..start + *seen)
 * holds no LF.  In the tail of a too-long line, drop bytes up to its LF.
 */
static enum scan
scan(struct lineio *l, size_t *seen, size_t *len_r, bool *crlf_r)
{
	uint8_t *lf;
	size_t len, n;

	if (l->skipping) {
		lf = memchr(l->buf + l->start, '\n', l->end - l->start);
		if (lf == NULL) {
			l->start = l->end = 0;
			return SCAN_MORE;
		}
		l->start = (size_t)(lf - l->buf) + 1;
		l->skipping = false;
		*seen = 0;
	}
	n = l->end - l->start;
	lf = memchr(l->buf + l->start + *seen, '\n', n - *seen);
	if (lf == NULL) {
		*seen = n;
		/* Past max even if the next byte were LF after a CR. */
		if (n > l->max &&
		    (n > l->max + 1 || l->buf[l->end - 1] != '\r')) {
			l->start = l->end = 0;
			l->skipping = true;
			return SCAN_TOOLONG;
		}
		return SCAN_MORE;
	}
	len = (size_t)(lf - (l->buf + l->start));
	*crlf_r = len > 0 && lf[-1] == '\r';
	if (*crlf_r)
		len--;
	*len_r = len;
	*seen = 0;
	if (len > l->max) {
		l->start = (size_t)(lf - l->buf) + 1;
		return SCAN_TOOLONG;
	}
	return SCAN_LINE;
}

/* Move unread bytes to the front so a whole line fits. */
static void
compact(struct lineio *l)
{
	if (l->start == 0)
		return;
	if (l->end > l->start)
		memmove(l->buf, l->buf + l->start, l->end - l->start);
	l->end -= l->start;
	l->start = 0;
}

/* Wait for and read more bytes: LINEIO_OK (bytes or EOF), else why not. */
static enum lineio_result
fill(struct lineio *l, int64_t deadline)
{
	struct pollfd pfd;
	ssize_t n;
	int r;

	if (l->end == l->cap)
		bug("lineio: fill with a full buffer");
	for (;;) {
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Nothing there yet: let the owner act before we wait. */
		if (l->wait_hook != NULL && poll(&pfd, 1, 0) == 0)
			l->wait_hook(l->wait_arg);
		r = poll(&pfd, 1, remaining(l, deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return LINEIO_ERR;
		if (r == 0)
			return LINEIO_TIMEOUT;
		n = read(l->fd, l->buf + l->end, l->cap - l->end);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			return LINEIO_ERR;
		if (n == 0)
			l->eof = true;
		l->end += (size_t)n;
		return LINEIO_OK;
	}
}

enum lineio_result
lineio_read(struct lineio *l, const char **line_r, size_t *len_r,
    bool *crlf_r)
{
	enum lineio_result r;
	int64_t deadline = 0;
	size_t seen = 0, len = 0;
	bool crlf = false;

	*line_r = NULL;
	*len_r = 0;
	if (crlf_r != NULL)
		*crlf_r = false;
	if (l->timeout_ms >= 0)
		deadline = now_ms() + l->timeout_ms;
	for (;;) {
		switch (scan(l, &seen, &len, &crlf)) {
		case SCAN_LINE:
			*line_r = (const char *)l->buf + l->start;
			*len_r = len;
			if (crlf_r != NULL)
				*crlf_r = crlf;
			/* Consume through LF; a NUL over CR or LF ends it. */
			l->start += len + (crlf ? 2 : 1);
			l->buf[l->start - (crlf ? 2 : 1)] = '\0';
			return LINEIO_OK;
		case SCAN_TOOLONG:
			return LINEIO_TOOLONG;
		case SCAN_MORE:
			break;
		}
		if (l->eof) {
			l->start = l->end = 0;
			return LINEIO_EOF;
		}
		compact(l);
		if ((r = fill(l, deadline)) != LINEIO_OK)
			return r;
	}
}

/* Take n bytes from the front of the buffer. */
static const char *
take(struct lineio *l, size_t n)
{
	const char *p = (const char *)l->buf + l->start;

	l->start += n;
	return p;
}

enum lineio_result
lineio_read_part(struct lineio *l, const char **piece_r, size_t *len_r,
    enum lineio_end *end_r)
{
	enum lineio_result r;
	int64_t deadline = 0;
	uint8_t *lf;
	size_t n, len;

	*piece_r = NULL;
	*len_r = 0;
	*end_r = LINEIO_END_NONE;
	if (l->max < 2)
		bug("lineio_read_part: max %zu too small", l->max);
	if (l->timeout_ms >= 0)
		deadline = now_ms() + l->timeout_ms;
	/* A line lineio_read() was skipping is content here: no skipping. */
	l->skipping = false;
	for (;;) {
		n = l->end - l->start;
		lf = memchr(l->buf + l->start, '\n', n);
		if (lf != NULL) {
			len = (size_t)(lf - (l->buf + l->start));
			if (len <= l->max + 1) {
				bool cr = len > 0 && lf[-1] == '\r';

				*end_r = cr ? LINEIO_END_CRLF : LINEIO_END_LF;
				*len_r = cr ? len - 1 : len;
				*piece_r = take(l, len + 1);
				return LINEIO_OK;
			}
		}
		if (lf != NULL || n >= l->max) {
			len = l->max;
			if (l->buf[l->start + len - 1] == '\r')
				len--;
			*len_r = len;
			*piece_r = take(l, len);
			return LINEIO_OK;
		}
		if (l->eof) {
			l->start = l->end = 0;
			return LINEIO_EOF;
		}
		compact(l);
		if ((r = fill(l, deadline)) != LINEIO_OK)
			return r;
	}
}

enum lineio_result
lineio_read_raw(struct lineio *l, size_t want, const char **data_r,
    size_t *len_r)
{
	enum lineio_result r;
	int64_t deadline = 0;
	size_t n;

	*data_r = NULL;
	*len_r = 0;
	if (want == 0)
		bug("lineio_read_raw: want 0");
	if (l->timeout_ms >= 0)
		deadline = now_ms() + l->timeout_ms;
	l->skipping = false;
	while (l->end == l->start) {
		if (l->eof)
			return LINEIO_EOF;
		l->start = l->end = 0;
		if ((r = fill(l, deadline)) != LINEIO_OK)
			return r;
	}
	n = l->end - l->start;
	*len_r = n < want ? n : want;
	*data_r = take(l, *len_r);
	return LINEIO_OK;
}

size_t
lineio_pending(const struct lineio *l)
{
	return l->end - l->start;
}

size_t
lineio_discard(struct lineio *l)
{
	size_t n = l->end - l->start;

	l->start = l->end = 0;
	return n;
}

void
lineio_set_fd(struct lineio *l, int fd)
{
	(void)lineio_discard(l);
	l->fd = fd;
	l->eof = false;
	l->skipping = false;
}

int
lineio_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len > (1u << 20) ? (1u << 20) : len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}
