/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_mailbox.c -- libFuzzer harness for the mailbox converter in
 * lib/mailbox.c (CRLF to LF, mboxrd "From " quoting).
 *
 * Input:    byte 0 bit 0 turns quoting on; byte 1 is the largest piece
 *           (0: all at once; pieces take sizes 1, 2, ... up to it in
 *           turn); the rest, at most 64 KiB, is the message.
 * Checks:   the output does not depend on how the message is cut; size
 *           counts every byte produced; with quoting no output line
 *           starts with "From ", and removing one '>' from each line
 *           matching ">+From " gives back the message with every CR LF
 *           turned into LF (without quoting, the output is exactly that).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mailbox.h"

#define INPUT_MAX	(64 * 1024)

struct sink {
	uint8_t	*p;
	size_t	 len, cap;
};

static int
sink_flush(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	if (n > s->cap - s->len)
		abort();
	memcpy(s->p + s->len, p, n);
	s->len += n;
	return 0;
}

/* Convert in, cut into pieces of 1..maxpiece bytes (0: one piece). */
static void
convert(const uint8_t *in, size_t len, bool quote, size_t maxpiece,
    struct sink *s)
{
	struct mailbox_conv c;
	size_t off = 0, n, next = 1;

	mailbox_conv_init(&c, quote, sink_flush, s);
	while (off < len) {
		n = maxpiece == 0 ? len - off : next;
		if (n > len - off)
			n = len - off;
		if (maxpiece != 0)
			next = next % maxpiece + 1;
		if (mailbox_conv_put(&c, in + off, n) == -1)
			abort();
		off += n;
	}
	if (mailbox_conv_end(&c) == -1 || c.size != s->len)
		abort();
	if (s->len > 0 && c.last != s->p[s->len - 1])
		abort();
}

/* Does the line at p (n bytes) match ">+From "? */
static bool
quoted(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

/* Undo the quoting in place; check that no line starts with "From ". */
static size_t
unquote(uint8_t *p, size_t len)
{
	size_t i = 0, o = 0, end;

	while (i < len) {
		for (end = i; end < len && p[end] != '\n'; end++)
			continue;
		if (end < len)
			end++;
		if (end - i >= 5 && memcmp(p + i, "From ", 5) == 0)
			abort();
		if (quoted(p + i, end - i))
			i++;
		memmove(p + o, p + i, end - i);
		o += end - i;
		i = end;
	}
	return o;
}

/* The message with each CR LF as LF. */
static size_t
expected(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;
		out[o++] = in[i];
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink one, cut;
	uint8_t *want;
	size_t maxpiece, wlen;
	bool quote;

	if (size < 2)
		return 0;
	quote = (data[0] & 1) != 0;
	maxpiece = data[1];
	data += 2;
	size -= 2;
	if (size > INPUT_MAX)
		size = INPUT_MAX;
	/* Quoting adds at most one byte a line. */
	one.cap = cut.cap = 2 * size + 1;
	one.p = malloc(one.cap);
	cut.p = malloc(cut.cap);
	want = malloc(one.cap);
	if (one.p == NULL || cut.p == NULL || want == NULL)
		abort();
	one.len = cut.len = 0;
	convert(data, size, quote, 0, &one);
	convert(data, size, quote, maxpiece, &cut);
	if (one.len != cut.len || memcmp(one.p, cut.p, one.len) != 0)
		abort();
	wlen = expected(data, size, want);
	if (quote)
		cut.len = unquote(cut.p, cut.len);
	if (cut.len != wlen || memcmp(cut.p, want, wlen) != 0)
		abort();
	free(one.p);
	free(cut.p);
	free(want);
	return 0;
}
