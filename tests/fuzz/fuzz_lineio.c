/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_lineio.c -- libFuzzer harness for lineio_read(), lineio_read_part()
 * and lineio_read_raw().
 *
 * Input:    byte 0 picks max (0..64), byte 1 the write size (0: all at
 *           once), byte 2 bit 0 turns on lineio_discard() after lines
 *           that start with 'D', bit 1 reads pieces (lineio_read_part),
 *           bit 2 raw bytes (lineio_read_raw, byte 0 picking how many);
 *           the rest (at most 16 KiB) goes through a
 *           socketpair, read back with timeout 0 between writes.
 * Checks:   without discard, the lines read equal those of a plain
 *           reference split of the input; pieces and their endings
 *           rebuild the input at least up to its last LF, raw bytes all
 *           of it; limits hold; no leaks of memory
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
	int		 mode;		/* 0 lines, 1 pieces, 2 raw */
	size_t		 want;		/* raw: bytes asked for */
	uint8_t		*out;		/* pieces, raw: what came back */
	size_t		 outlen;
};

static void
append(struct run *u, const void *p, size_t n)
{
	if (u->outlen + n > INPUT_MAX + 2)
		abort();
	memcpy(u->out + u->outlen, p, n);
	u->outlen += n;
}

/* Pieces and raw reads must give back the bytes exactly. */
static void
drain_bytes(struct run *u)
{
	enum lineio_result r;
	enum lineio_end end;
	const char *p;
	size_t len;

	while (!u->eof) {
		if (u->mode == 1)
			r = lineio_read_part(&u->l, &p, &len, &end);
		else {
			r = lineio_read_raw(&u->l, u->want, &p, &len);
			end = LINEIO_END_NONE;
		}
		if (r == LINEIO_TIMEOUT)
			return;
		if (r == LINEIO_EOF) {
			u->eof = true;
			return;
		}
		if (r != LINEIO_OK || (u->mode == 1 && len > u->l.max + 1) ||
		    (u->mode == 2 && (len == 0 || len > u->want)))
			abort();
		append(u, p, len);
		if (end == LINEIO_END_CRLF)
			append(u, "\r\n", 2);
		else if (end == LINEIO_END_LF)
			append(u, "\n", 1);
	}
}

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

	if (u->mode != 0) {
		drain_bytes(u);
		return;
	}
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
	u.mode = (data[2] & 2) ? 1 : (data[2] & 4) ? 2 : 0;
	u.want = 1 + data[0] % 64;
	if (u.mode == 1 && u.ref.max < 2)
		u.ref.max = 2;
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
	u.out = malloc(INPUT_MAX + 2);
	if (u.out == NULL)
		abort();
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
	if (u.mode == 2 && (u.outlen != size || memcmp(u.out, data, size)))
		abort();
	if (u.mode == 1) {
		size_t last = size;

		while (last > 0 && data[last - 1] != '\n')
			last--;
		/* Pieces of an unended last line may come before EOF. */
		if (u.outlen < last || u.outlen > size ||
		    memcmp(u.out, data, u.outlen) != 0)
			abort();
	}
	free(u.out);
	lineio_free(&u.l);
	(void)close(sv[0]);
	(void)close(sv[1]);
	return 0;
}
