/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_qfile.c -- libFuzzer harness for the queue file decoder
 * (lib/qfile.c).
 *
 * Input:    arbitrary bytes, taken as a whole queue file.
 * Checks:   a rejected file leaves an error and an empty struct qfile.
 *           An accepted one must keep every limit and point only inside
 *           the input (status bytes at their records, content ranges in
 *           order); it must go back through the writer (into a memfd)
 *           without a complaint, parse again to the same fields and
 *           content, and that output must be a fixed point: written once
 *           more, it gives the same bytes.  qfile_content_write must give
 *           the concatenated ranges.  Any difference abort()s.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "qfile.h"

static int	sink = -1;	/* a memfd, reused for every input */

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
sink_reset(void)
{
	if (sink == -1)
		CHECK((sink = memfd_create("fuzz_qfile", MFD_CLOEXEC)) != -1);
	CHECK(ftruncate(sink, 0) == 0);
	CHECK(lseek(sink, 0, SEEK_SET) == 0);
}

static void
sink_read(struct buf *out)
{
	uint8_t chunk[65536];
	off_t off = 0;
	ssize_t n;

	buf_init(out, SIZE_MAX);
	while ((n = pread(sink, chunk, sizeof(chunk), off)) > 0) {
		CHECK(buf_add(out, chunk, (size_t)n) == 0);
		off += n;
	}
	CHECK(n == 0);
}

static bool
str_fits(const char *s, size_t max)
{
	return strnlen(s, max + 1) <= max;
}

static void
check_envelope(const struct qfile *q)
{
	const struct qfile_client *c = &q->client;
	const struct qfile_sender *s = &q->sender;

	CHECK(q->arrival_sec >= 0 && q->arrival_usec < 1000000);
	CHECK(str_fits(c->name, QFILE_HOST_MAX));
	CHECK(str_fits(c->addr, QFILE_CLIENT_ADDR_MAX));
	CHECK(str_fits(c->helo, QFILE_HOST_MAX));
	CHECK(str_fits(c->proto, QFILE_PROTO_MAX));
	CHECK(q->has_client || (c->name[0] == '\0' && c->port == 0));
	CHECK(str_fits(s->addr, QFILE_ADDR_MAX));
	CHECK(str_fits(s->envid, QFILE_ENVID_MAX));
	CHECK((s->flags & ~7) == 0 && (s->flags & 6) != 6);
	CHECK(s->ret <= QFILE_RET_HDRS);
}

static void
check_rcpts(const struct qfile *q, const uint8_t *data, size_t len)
{
	const struct qfile_rcpt *r;
	off_t prev = 0;
	size_t i;

	CHECK(q->nrcpt >= 1 && q->nrcpt <= QFILE_RCPT_MAX);
	for (i = 0; i < q->nrcpt; i++) {
		r = &q->rcpts[i];
		CHECK(r->addr[0] != '\0' && str_fits(r->addr, QFILE_ADDR_MAX));
		CHECK(str_fits(r->orcpt_type, QFILE_ORCPT_TYPE_MAX));
		CHECK(str_fits(r->orcpt, QFILE_ADDR_MAX));
		CHECK((r->orcpt_type[0] == '\0') == (r->orcpt[0] == '\0'));
		CHECK((r->notify & ~0x0f) == 0);
		CHECK(!(r->notify & QFILE_NOTIFY_NEVER) ||
		    r->notify == QFILE_NOTIFY_NEVER);
		CHECK(r->status <= QFILE_RS_DONE);
		CHECK(r->status_off > prev && r->status_off < (off_t)len);
		CHECK(data[r->status_off] == r->status);
		CHECK(memcmp(data + r->status_off - QFILE_REC_HDR,
		    "D\0\0\0\x01", QFILE_REC_HDR) == 0);
		prev = r->status_off;
	}
}

static void
check_content(const struct qfile *q, const uint8_t *data, size_t len)
{
	const struct qfile_range *r;
	uint64_t sum = 0;
	size_t i, end = 0;

	for (i = 0; i < q->ncontent; i++) {
		r = &q->content[i];
		CHECK(r->len >= 1 && r->len <= QFILE_REC_MAX);
		CHECK(r->off >= end + QFILE_REC_HDR && r->off <= len &&
		    r->len <= len - r->off);
		CHECK(data[r->off - QFILE_REC_HDR] == QFILE_T_CONTENT);
		end = r->off + r->len;
		sum += r->len;
	}
	CHECK(sum == q->content_size);
}

/* q's content, through qfile_content_write, equals its ranges. */
static void
check_content_write(const struct qfile *q)
{
	struct buf got;
	size_t i, off = 0;

	sink_reset();
	CHECK(qfile_content_write(q, sink) == 0);
	sink_read(&got);
	CHECK(got.len == q->content_size);
	for (i = 0; i < q->ncontent; i++) {
		CHECK(memcmp(got.data + off, q->base + q->content[i].off,
		    q->content[i].len) == 0);
		off += q->content[i].len;
	}
	buf_clear(&got);
}

/* Write q out again with the writer; its bytes into out. */
static void
reserialise(const struct qfile *q, struct buf *out)
{
	struct qfile_writer w;
	size_t i;

	sink_reset();
	CHECK(qfile_writer_fdopen(&w, sink) == 0);
	CHECK(qfile_put_arrival(&w, q->arrival_sec, q->arrival_usec) == 0);
	if (q->has_client)
		CHECK(qfile_put_client(&w, &q->client) == 0);
	CHECK(qfile_put_sender(&w, &q->sender) == 0);
	for (i = 0; i < q->nrcpt; i++)
		CHECK(qfile_put_rcpt(&w, &q->rcpts[i]) == 0);
	for (i = 0; i < q->ncontent; i++)
		CHECK(qfile_put_content(&w, q->base + q->content[i].off,
		    q->content[i].len) == 0);
	CHECK(qfile_writer_finish(&w) == 0);
	sink_read(out);
}

/* The content of a and b, whatever their cuts, is the same. */
static bool
same_content(const struct qfile *a, const struct qfile *b)
{
	size_t i = 0, j = 0, ai = 0, bj = 0, n;

	if (a->content_size != b->content_size)
		return false;
	while (i < a->ncontent && j < b->ncontent) {
		n = a->content[i].len - ai;
		if (n > b->content[j].len - bj)
			n = b->content[j].len - bj;
		if (memcmp(a->base + a->content[i].off + ai,
		    b->base + b->content[j].off + bj, n) != 0)
			return false;
		ai += n;
		bj += n;
		if (ai == a->content[i].len) {
			i++;
			ai = 0;
		}
		if (bj == b->content[j].len) {
			j++;
			bj = 0;
		}
	}
	return i == a->ncontent && j == b->ncontent;
}

static bool
same_rcpt(const struct qfile_rcpt *a, const struct qfile_rcpt *b)
{
	return strcmp(a->addr, b->addr) == 0 &&
	    strcmp(a->orcpt_type, b->orcpt_type) == 0 &&
	    strcmp(a->orcpt, b->orcpt) == 0 && a->notify == b->notify &&
	    a->status == b->status;
}

static bool
same_qfile(const struct qfile *a, const struct qfile *b)
{
	size_t i;

	if (a->arrival_sec != b->arrival_sec ||
	    a->arrival_usec != b->arrival_usec ||
	    a->has_client != b->has_client ||
	    strcmp(a->client.name, b->client.name) != 0 ||
	    strcmp(a->client.addr, b->client.addr) != 0 ||
	    a->client.port != b->client.port ||
	    strcmp(a->client.helo, b->client.helo) != 0 ||
	    strcmp(a->client.proto, b->client.proto) != 0)
		return false;
	if (strcmp(a->sender.addr, b->sender.addr) != 0 ||
	    a->sender.flags != b->sender.flags ||
	    a->sender.ret != b->sender.ret ||
	    strcmp(a->sender.envid, b->sender.envid) != 0 ||
	    a->sender.size != b->sender.size)
		return false;
	if (a->nrcpt != b->nrcpt)
		return false;
	for (i = 0; i < a->nrcpt; i++)
		if (!same_rcpt(&a->rcpts[i], &b->rcpts[i]))
			return false;
	return same_content(a, b);
}

static void
check_accepted(const struct qfile *q, const uint8_t *data, size_t size)
{
	struct buf once, twice;
	struct qfile again;
	const char *err = NULL;

	CHECK(q->base == data && q->base_len == size);
	check_envelope(q);
	check_rcpts(q, data, size);
	check_content(q, data, size);
	check_content_write(q);

	reserialise(q, &once);
	qfile_init(&again);
	CHECK(qfile_parse(once.data, once.len, &again, &err) == 0);
	CHECK(same_qfile(q, &again));
	reserialise(&again, &twice);
	CHECK(twice.len == once.len &&
	    memcmp(twice.data, once.data, once.len) == 0);
	/* The writer packs content into the fewest records: never longer. */
	CHECK(once.len <= size);
	qfile_clear(&again);
	buf_clear(&once);
	buf_clear(&twice);
}

/*
 * qmgr's reader, qfile_read_envelope, on the same bytes from a file: it
 * must accept what the full parser accepts, with the same envelope, and
 * whatever it accepts must look sane.  full is NULL when the full parse
 * failed (the envelope reader checks less, so it may still accept).
 */
static void
check_envelope_reader(const struct qfile *full, const uint8_t *data,
    size_t size)
{
	struct qfile e;
	const char *err = NULL;
	size_t i;
	int fd, r;

	if ((fd = memfd_create("fuzz_qfile_env", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	qfile_init(&e);
	r = qfile_read_envelope(fd, size + 1, &e, &err);
	close(fd);
	if (r == 0) {
		CHECK(e.nrcpt >= 1 && e.raw.len == 0 && e.base == NULL);
		CHECK(e.ncontent == 0);
		for (i = 0; i < e.nrcpt; i++) {
			CHECK(e.rcpts[i].status <= QFILE_RS_DONE);
			CHECK(e.rcpts[i].status_off > 0 &&
			    e.rcpts[i].status_off < (off_t)size);
			CHECK(data[e.rcpts[i].status_off] == e.rcpts[i].status);
		}
	} else
		CHECK(err != NULL && e.nrcpt == 0);
	if (full != NULL) {
		CHECK(r == 0);
		CHECK(e.nrcpt == full->nrcpt);
		CHECK(e.content_size == full->content_size);
		CHECK(strcmp(e.sender.addr, full->sender.addr) == 0);
		for (i = 0; i < e.nrcpt; i++) {
			CHECK(strcmp(e.rcpts[i].addr, full->rcpts[i].addr) == 0);
			CHECK(e.rcpts[i].status_off == full->rcpts[i].status_off);
		}
	}
	qfile_clear(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qfile q;
	const char *err = NULL;

	qfile_init(&q);
	if (qfile_parse(data, size, &q, &err) != 0) {
		CHECK(err != NULL);
		CHECK(q.nrcpt == 0 && q.rcpts == NULL);
		CHECK(q.ncontent == 0 && q.content == NULL);
		CHECK(q.content_size == 0 && !q.has_client);
		check_envelope_reader(NULL, data, size);
	} else {
		check_accepted(&q, data, size);
		check_envelope_reader(&q, data, size);
	}
	qfile_clear(&q);
	return 0;
}
