/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_dsn.c -- libFuzzer harness for the notice composer (lib/dsn.c).
 *
 * Input:    8 bytes of settings (kind, RET, sender flags, client,
 *           bounce_size_limit, how the content is cut into records, the
 *           nonce), then three lengths and the strings they measure (the
 *           diagnostic, the recipient address, the relay), then the
 *           original message content: any bytes.
 * Checks:   the composer never crashes; when it composes, every line ends
 *           in CRLF and has at most DSN_LINE_MAX bytes, there is no NUL,
 *           the boundary occurs only in the Content-Type parameter and in
 *           the delimiter lines (one per part, and the close), nothing
 *           but the header and parts is there, and 8-bit bytes appear
 *           only when dsn.eightbit or dsn.utf8 says so.  Any breach
 *           abort()s.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ascii.h"
#include "buf.h"
#include "dsn.h"
#include "fuzz.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define SETTINGS	8
#define STR_MAX		3000

static const char *const actions[] = { "failed", "delayed", "delivered" };
static const char *const statuses[] = { "5.1.1", "4.4.1", "2.0.0" };

/* A string of the input: at most n bytes from *p, NUL-terminated. */
static char *
take(const uint8_t **p, const uint8_t *end, size_t n)
{
	char *s;

	if (n > (size_t)(end - *p))
		n = (size_t)(end - *p);
	s = malloc(n + 1);
	CHECK(s != NULL);
	memcpy(s, *p, n);
	s[n] = '\0';		/* an inner NUL just ends it early */
	*p += n;
	return s;
}

static void
check_lines(const struct buf *b)
{
	size_t i, col = 0;

	CHECK(b->len >= 2 && memcmp(b->data + b->len - 2, "\r\n", 2) == 0);
	for (i = 0; i < b->len; i++) {
		CHECK(b->data[i] != '\0' && b->data[i] != '\n');
		if (b->data[i] == '\r') {
			CHECK(i + 1 < b->len && b->data[i + 1] == '\n');
			CHECK(col <= DSN_LINE_MAX);
			col = 0;
			i++;
		} else
			col++;
	}
}

/*
 * The boundary: once in the header's parameter, then only as whole
 * delimiter lines, nparts of them and the close one, which ends it all.
 */
static void
check_boundary(const struct dsn *d, const struct buf *b)
{
	const uint8_t *p = b->data, *end = b->data + b->len, *hit;
	size_t bl = strlen(d->boundary), seen = 0, delims = 0;
	size_t nparts = d->returned == DSN_RETURN_NONE ? 2 : 3;
	const uint8_t *body;

	CHECK(bl > 0 && bl <= DSN_BOUNDARY_MAX);
	body = memmem(b->data, b->len, "\r\n\r\n", 4);
	CHECK(body != NULL);
	while ((hit = memmem(p, (size_t)(end - p), d->boundary, bl)) != NULL) {
		if (seen++ == 0) {
			/* The parameter, in the header section. */
			CHECK(hit < body && hit[-1] == '"' && hit[bl] == '"');
		} else {
			CHECK(hit > body);
			CHECK(hit - b->data >= 4 &&
			    memcmp(hit - 4, "\r\n--", 4) == 0);
			if (delims < nparts)
				CHECK(memcmp(hit + bl, "\r\n", 2) == 0);
			else {
				CHECK(memcmp(hit + bl, "--\r\n", 4) == 0);
				CHECK(hit + bl + 4 == end);
			}
			delims++;
		}
		p = hit + bl;
	}
	CHECK(delims == nparts + 1);
}

static void
check_8bit(const struct dsn *d, const struct buf *b)
{
	const uint8_t *body = memmem(b->data, b->len, "\r\n\r\n", 4);
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] < 0x80)
			continue;
		CHECK(d->utf8 || (d->eightbit && b->data + i > body));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz;
	const uint8_t *p = data + SETTINGS, *end = data + size;
	struct qfile_range *ranges = NULL;
	struct dsn_notice n;
	struct dsn_rcpt r[2];
	struct qfile q;
	struct dsn d;
	struct buf out;
	const char *err = NULL;
	char *diag, *addr, *relay;
	size_t dl, al, rl, piece, i, k, clen;
	int kind;

	if (!tz) {
		setenv("TZ", "UTC", 1);
		tzset();
		tz = true;
	}
	if (size < SETTINGS + 4)
		return 0;
	kind = data[0] % 3;
	dl = ascii_get_be16(p) % STR_MAX;
	al = p[2];
	rl = p[3];
	p += 4;
	diag = take(&p, end, dl);
	addr = take(&p, end, al);
	relay = take(&p, end, rl);

	memset(&q, 0, sizeof(q));
	q.arrival_sec = (int64_t)ascii_get_be32(data + 4);
	q.sender.ret = (data[0] >> 2) % 3;
	q.sender.flags = (data[0] >> 4) & 0x07;
	q.has_client = data[0] & 0x80;
	strcpy(q.client.helo, "helo");
	strcpy(q.client.addr, "192.0.2.1");
	strcpy(q.sender.addr, data[1] & 1 ? "" : "s\xc3\xa9@example.org");
	if (data[1] & 2)
		strcpy(q.sender.envid, "ENV\x01ID");
	/* The content, cut into records of 1..256 bytes (or one). */
	clen = (size_t)(end - p);
	piece = data[2] == 0 ? (clen > 0 ? clen : 1) : data[2];
	ranges = calloc(clen / piece + 1, sizeof(*ranges));
	CHECK(ranges != NULL);
	for (i = 0, k = 0; i < clen; i += piece, k++) {
		ranges[k].off = i;
		ranges[k].len = clen - i < piece ? clen - i : piece;
	}
	q.base = p;
	q.base_len = clen;
	q.content = ranges;
	q.ncontent = k;
	q.content_size = clen;

	memset(r, 0, sizeof(r));
	r[0].addr = addr[0] != '\0' ? addr : "x@example.net";
	r[0].orcpt_type = data[1] & 4 ? "utf-8" : "rfc822";
	r[0].orcpt = data[1] & 8 ? addr : "";
	r[0].action = actions[kind];
	r[0].status = data[1] & 0x80 ? "5.0" : statuses[kind];
	r[0].remote_mta = relay;
	r[0].diag = diag;
	r[0].diag_smtp = data[1] & 0x10;
	r[1] = r[0];
	r[1].addr = "second@example.net";

	memset(&n, 0, sizeof(n));
	n.kind = (enum dsn_kind)kind;
	n.orig = &q;
	n.queue_id = data[1] & 0x20 ? "\"Q\xff/" : "01JN7W803RJ000GGZZZZZZZZ";
	n.rcpts = r;
	n.nrcpt = data[1] & 0x40 ? 2 : 1;
	n.myhostname = "mx.example";
	n.from = "MAILER-DAEMON@example";
	n.to = q.sender.addr[0] != '\0' ? q.sender.addr : "postmaster";
	n.now = q.arrival_sec + 60;
	n.retry_until = q.arrival_sec + 86400;
	n.size_limit = (size_t)data[3] * 37;
	n.nonce = ascii_get_be32(data + 4);

	dsn_init(&d);
	buf_init(&out, SIZE_MAX);
	if (dsn_compose(&d, &n, "NEW@mx.example", &out, &err) == -1)
		CHECK(err != NULL);
	else {
		check_lines(&out);
		check_boundary(&d, &out);
		check_8bit(&d, &out);
		CHECK(d.returned != DSN_RETURN_FULL ||
		    (kind == 0 && q.sender.ret == QFILE_RET_FULL &&
		    clen <= n.size_limit));
	}
	dsn_clear(&d);
	buf_clear(&out);
	free(ranges);
	free(diag);
	free(addr);
	free(relay);
	return 0;
}
