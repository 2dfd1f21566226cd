/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_cleanup.c -- libFuzzer harness for cleanup's scans of message
 * content (daemons/cleanup/cleanup_msg.c): cleanup_hscan() and
 * cleanup_hadd(), which place the fields a local submission lacks, and
 * cleanup_headers_feed(), which counts hops as SMTP content streams past.
 *
 * Input:    byte 0 picks the piece size (1..256), the rest (at most
 *           INPUT_MAX bytes) is the message.
 * Checks:   the whole message scans OK, with its end inside it; every
 *           prefix a sender in pieces would give (eof not yet), scanned
 *           on its own and going on from the scan of the one before,
 *           answers MORE with a "surely header" count no larger than the
 *           final end, or OK with exactly the final answer; the message with the added
 *           fields scans again to all three present and nothing to add,
 *           and keeps the original's bytes around them; feeding the
 *           message in pieces counts what feeding it whole counts.
 *           Any difference abort()s.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fuzz.h"

#define INPUT_MAX	(8 * 1024)
#define SCANS_MAX	256		/* prefix scans per input */

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const struct cleanup_fields fields = {
	.msgid = "01JN7W803RJ000GGZZZZZZZZ@mx.example",
	.date = "Tue, 14 Nov 2023 22:13:20 +0000",
	.from = "MAILER-DAEMON@origin.example",
};

static enum cleanup_scan
scan(const uint8_t *p, size_t len, bool eof, struct cleanup_hscan *s)
{
	cleanup_hscan_init(s);
	return cleanup_hscan(p, len, eof, s);
}

static bool
same(const struct cleanup_hscan *a, const struct cleanup_hscan *b)
{
	return a->end == b->end && a->seen == b->seen &&
	    a->crlf == b->crlf && a->add_eol == b->add_eol &&
	    a->add_blank == b->add_blank;
}

/* Each prefix on its own, and going on from the one before. */
static void
check_pieces(const uint8_t *p, size_t len, size_t piece,
    const struct cleanup_hscan *final)
{
	struct cleanup_hscan s, inc;
	enum cleanup_scan r = CLEANUP_SCAN_MORE;
	size_t have;

	cleanup_hscan_init(&inc);
	for (have = 0; have <= len; have += piece) {
		if (scan(p, have, false, &s) == CLEANUP_SCAN_OK)
			CHECK(same(&s, final));
		else
			CHECK(s.end <= final->end && s.end <= have);
		if (r == CLEANUP_SCAN_MORE)
			r = cleanup_hscan(p, have, false, &inc);
		CHECK(r == CLEANUP_SCAN_MORE ? inc.end <= final->end :
		    same(&inc, final));
	}
	if (r == CLEANUP_SCAN_MORE)
		CHECK(cleanup_hscan(p, len, true, &inc) == CLEANUP_SCAN_OK);
	CHECK(same(&inc, final));
}

static void
check_added(const uint8_t *p, size_t len, const struct cleanup_hscan *s)
{
	static uint8_t again[INPUT_MAX + 2048];
	struct cleanup_hscan s2;
	char added[2048];
	size_t n;

	n = cleanup_hadd(added, sizeof(added), s, &fields);
	CHECK(n != (size_t)-1 && n == strlen(added));
	CHECK((n == 0) == ((s->seen & CLEANUP_HDR_ALL) == CLEANUP_HDR_ALL));
	memcpy(again, p, s->end);
	memcpy(again + s->end, added, n);
	memcpy(again + s->end + n, p + s->end, len - s->end);
	CHECK(scan(again, len + n, true, &s2) == CLEANUP_SCAN_OK);
	CHECK(s2.seen == CLEANUP_HDR_ALL);
	CHECK(cleanup_hadd(added, sizeof(added), &s2, &fields) == 0);
}

static void
check_feed(const uint8_t *p, size_t len, size_t piece)
{
	struct cleanup_headers whole, parts;
	const char *enh, *text;
	size_t off, n;
	int code, r1, r2 = 0;

	cleanup_headers_init(&whole);
	r1 = cleanup_headers_feed(&whole, p, len, UINT64_MAX, 1000000, &code,
	    &enh, &text);
	cleanup_headers_init(&parts);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		r2 = cleanup_headers_feed(&parts, p + off, n, UINT64_MAX,
		    1000000, &code, &enh, &text);
	}
	CHECK(r1 == 0 && r2 == 0);
	CHECK(whole.received == parts.received && whole.done == parts.done &&
	    whole.bytes == parts.bytes && whole.bytes <= len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cleanup_hscan s;
	size_t piece;

	if (size < 1)
		return 0;
	piece = 1 + data[0];
	data++;
	size--;
	if (size > INPUT_MAX)
		size = INPUT_MAX;
	if (piece < size / SCANS_MAX + 1)
		piece = size / SCANS_MAX + 1;

	CHECK(scan(data, size, true, &s) == CLEANUP_SCAN_OK);
	CHECK(s.end <= size);
	CHECK(!s.add_eol || (s.end == size && size > 0 &&
	    data[size - 1] != '\n'));
	CHECK(!s.add_blank || s.end < size);
	CHECK((s.seen & ~CLEANUP_HDR_ALL) == 0);
	check_pieces(data, size, piece, &s);
	check_added(data, size, &s);
	check_feed(data, size, piece);
	return 0;
}
