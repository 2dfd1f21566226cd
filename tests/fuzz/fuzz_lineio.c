/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_lineio.c -- libFuzzer harness for lineio_read().
 *
 * Input:    byte 0 picks max (0..64), byte 1 the write size (0: all at
 *           once), byte 2 bit 0 turns on lineio_discard() after lines
 *           that start with 'D'; the rest (at most 16 KiB) goes through a
 *           socketpair, read back with timeout 0 between writes.
 * Checks:   without discard, the lines read equal those of a plain
 *           reference split of the input; limits hold; no leaks of memory
 *           or descriptors.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "lineio.h"

#define INPUT_MAX	(16 * 1024)

/* The obvious split of the whole input, for comparison. */
struct ref {
	const uint8_t	*p;
	size_t		 len, pos, max;
};

static enum lineio_result
ref_next(struct ref *r, const uint8_t **line_r, size_t *len_r, bool *crlf_r)
{
	const uint8_t *s = r->p + r->pos, *lf;
	size_t n;

	if (r->pos == r->len)
		return LINEIO_EOF;
	lf = memchr(s, '\n', r->len - r->pos);
	n = lf != NULL ? (size_t)(lf - s) : r->len - r->pos;
	r->pos += lf != NULL ? n + 1 : n;
	*crlf_r = n > 0 && s[n - 1] == '\r';
	if (*crlf_r)
		n--;
	*line_r = s;
	*len_r = n;
	if (n > r->max)
		return LINEIO_TOOLONG;
	return lf != NULL ? LINEIO_OK : LINEIO_EOF;
}

struct run {
	struct lineio	 l;
	struct ref	 ref;
	bool		 discard;
	bool		 eof;
};

static void
check(struct run *u, enum lineio_result r, const char *line, size_t len,
    bool crlf)
{
	const uint8_t *rline;
	size_t rlen;
	bool rcrlf;

	if (r == LINEIO_ERR)
		abort();
	if (r == LINEIO_OK && (line == NULL || len > u->l.max))
		abort();
	if (lineio_pending(&u->l) > u->l.cap)
		abort();
	if (r == LINEIO_EOF)
		u->eof = true;
	if (u->discard) {
		if (r == LINEIO_OK && len > 0 && line[0] == 'D') {
			(void)lineio_discard(&u->l);
			if (lineio_pending(&u->l) != 0)
				abort();
		}
		return;
	}
	if (ref_next(&u->ref, &rline, &rlen, &rcrlf) != r)
		abort();
	if (r == LINEIO_OK && (rlen != len || rcrlf != crlf ||
	    memcmp(rline, line, len) != 0))
		abort();
}

/* Read what is there; with timeout 0 this stops at LINEIO_TIMEOUT. */
static void
drain(struct run *u)
{
	enum lineio_result r;
	const char *line;
	size_t len;
	bool crlf;

	while (!u->eof) {
		r = lineio_read(&u->l, &line, &len, &crlf);
		if (r == LINEIO_TIMEOUT)
			return;
		check(u, r, line, len, crlf);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run u;
	size_t off = 0, chunk, n;
	ssize_t w;
	int sv[2];

	if (size < 3)
		return 0;
	memset(&u, 0, sizeof(u));
	u.ref.max = data[0] % 65;
	chunk = data[1] % 128;
	u.discard = (data[2] & 1) != 0;
	data += 3;
	size -= 3;
	if (size > INPUT_MAX)
		size = INPUT_MAX;
	u.ref.p = data;
	u.ref.len = size;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	if (fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		abort();
	lineio_init(&u.l, sv[0], u.ref.max, 0);
	while (off < size) {
		n = size - off;
		if (chunk != 0 && n > chunk)
			n = chunk;
		w = write(sv[1], data + off, n);
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			abort();
		if (w > 0)
			off += (size_t)w;
		drain(&u);
	}
	if (shutdown(sv[1], SHUT_WR) == -1)
		abort();
	drain(&u);
	/* Everything was sent before the shutdown: no wait, so EOF. */
	if (!u.eof)
		abort();
	lineio_free(&u.l);
	(void)close(sv[0]);
	(void)close(sv[1]);
	return 0;
}
