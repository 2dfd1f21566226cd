/*
 * SPDX-License-Identifier: ISC
 *
 * qfile.c -- the queue file: writer, bounded decoder, in-place status.
 *
 * Process:  cleanup (writes); qmgr, ternctl, bounce (read, and qmgr
 *           rewrites recipient status bytes).
 * Input:    queue files: written by cleanup, but a reader treats each one
 *           as untrusted (a disk, a bug or a hand edit may have changed
 *           it): every length is checked against what is left, every
 *           field against its limit.
 * Failure:  malformed file -> -1 with a static error string, the caller
 *           moves the file to corrupt/; I/O errors -> -1 with errno, which
 *           the writer keeps (ENOSPC stays ENOSPC for a 452 4.3.1).  Misuse
 *           of the writer API (records out of order) -> bug().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "lineio.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "xmem.h"

#define MAGIC_LEN	(sizeof(QFILE_MAGIC) - 1)
#define MAGIC_REC_LEN	(QFILE_REC_HDR + MAGIC_LEN)
#define ARRIVAL_LEN	12		/* u64 seconds, u32 microseconds */
#define END_LEN		12		/* u64 content size, u32 recipients */
#define END_REC_LEN	(QFILE_REC_HDR + END_LEN)
#define USEC_PER_SEC	1000000
#define WBUF_MAX	(2 * (QFILE_REC_HDR + QFILE_REC_MAX))
#define ENV_REC_MAX	2048		/* > the largest envelope payload */
#define READ_CHUNK	(64 * 1024)
#define ENVELOPE_CHUNK	4096		/* most envelopes fit in one */

_Static_assert(2 + QFILE_ADDR_MAX + 1 + 2 + QFILE_ORCPT_TYPE_MAX + 2 +
    QFILE_ADDR_MAX <= ENV_REC_MAX, "recipient record fits ENV_REC_MAX");
_Static_assert(QFILE_REC_MAX <= UINT32_MAX && QFILE_ADDR_MAX <= UINT16_MAX,
    "lengths fit their fields");

/* Byte order. */

/* Checks shared by the writer and the reader. */

static bool
sender_flags_ok(uint8_t f)
{
	if (f & ~(QFILE_SMTPUTF8 | QFILE_8BITMIME | QFILE_BINARYMIME))
		return false;
	if ((f & QFILE_8BITMIME) && (f & QFILE_BINARYMIME))
		return false;
	return true;
}

static bool
ret_ok(uint8_t r)
{
	return r == QFILE_RET_NONE || r == QFILE_RET_FULL ||
	    r == QFILE_RET_HDRS;
}

static bool
notify_ok(uint8_t n)
{
	if (n & ~(QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE |
	    QFILE_NOTIFY_DELAY | QFILE_NOTIFY_NEVER))
		return false;
	if ((n & QFILE_NOTIFY_NEVER) && n != QFILE_NOTIFY_NEVER)
		return false;
	return true;
}

static bool
status_ok(uint8_t s)
{
	return s == QFILE_RS_PENDING || s == QFILE_RS_DELIVERED ||
	    s == QFILE_RS_FAILED || s == QFILE_RS_DONE;
}

/*
 * Reading.  A cursor walks one record's payload; every get checks what is
 * left first.
 */

struct cur {
	const uint8_t	*p;
	size_t		 left;
};

static const uint8_t *
take(struct cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->left < n)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static bool
get_u8(struct cur *c, uint8_t *v)
{
	const uint8_t *p;

	if ((p = take(c, 1)) == NULL)
		return false;
	*v = p[0];
	return true;
}

static bool
get_u16(struct cur *c, uint16_t *v)
{
	const uint8_t *p;

	if ((p = take(c, 2)) == NULL)
		return false;
	*v = ascii_get_be16(p);
	return true;
}

static bool
get_u32(struct cur *c, uint32_t *v)
{
	const uint8_t *p;

	if ((p = take(c, 4)) == NULL)
		return false;
	*v = ascii_get_be32(p);
	return true;
}

static bool
get_u64(struct cur *c, uint64_t *v)
{
	const uint8_t *p;

	if ((p = take(c, 8)) == NULL)
		return false;
	*v = ascii_get_be64(p);
	return true;
}

struct parser;

struct rec_desc {
	uint8_t		 type;
	bool		 singleton;
	const char	*after;		/* types allowed right before */
	const char	*dup_err;
	const char	*order_err;
	const char	*bad_err;	/* fields do not fill the payload */
	int		(*decode)(struct parser *, struct cur *);
};

struct parser {
	struct qfile		*q;
	const uint8_t		*data;
	size_t			 len;
	size_t			 off;		/* of the current record */
	uint8_t			 prev;		/* type of the last record */
	uint32_t		 seen;		/* singletons, bit per recs[] */
	const struct rec_desc	*desc;		/* of the current record */
	const char		*err;
};

static int
bad(struct parser *ps, const char *err)
{
	ps->err = err;
	return -1;
}

/* The payload was not exactly the fields of its type. */
static int
malformed(struct parser *ps)
{
	return bad(ps, ps->desc->bad_err);
}

struct strfield {
	size_t		 max;
	const char	*too_long;
	const char	*has_nul;
};

static const struct strfield f_client_name = { QFILE_HOST_MAX,
	"client name too long", "NUL byte in client name" };
static const struct strfield f_client_addr = { QFILE_CLIENT_ADDR_MAX,
	"client address too long", "NUL byte in client address" };
static const struct strfield f_helo = { QFILE_HOST_MAX,
	"HELO name too long", "NUL byte in HELO name" };
static const struct strfield f_proto = { QFILE_PROTO_MAX,
	"protocol name too long", "NUL byte in protocol name" };
static const struct strfield f_sender = { QFILE_ADDR_MAX,
	"sender address too long", "NUL byte in sender address" };
static const struct strfield f_envid = { QFILE_ENVID_MAX,
	"ENVID too long", "NUL byte in ENVID" };
static const struct strfield f_rcpt = { QFILE_ADDR_MAX,
	"recipient address too long", "NUL byte in recipient address" };
static const struct strfield f_orcpt_type = { QFILE_ORCPT_TYPE_MAX,
	"ORCPT type too long", "NUL byte in ORCPT type" };
static const struct strfield f_orcpt = { QFILE_ADDR_MAX,
	"ORCPT address too long", "NUL byte in ORCPT address" };

/* A string field: u16 length, then that many bytes, none of them NUL. */
static int
get_str(struct parser *ps, struct cur *c, const struct strfield *f,
    const uint8_t **s_r, size_t *len_r)
{
	uint16_t len;

	if (!get_u16(c, &len) || (*s_r = take(c, len)) == NULL)
		return malformed(ps);
	if (len > f->max)
		return bad(ps, f->too_long);
	if (memchr(*s_r, '\0', len) != NULL)
		return bad(ps, f->has_nul);
	*len_r = len;
	return 0;
}

/* A string field into a char array of f->max + 1 bytes. */
static int
get_strf(struct parser *ps, struct cur *c, const struct strfield *f,
    char *dst)
{
	const uint8_t *s;
	size_t len;

	if (get_str(ps, c, f, &s, &len) == -1)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int
dec_magic(struct parser *ps, struct cur *c)
{
	/* Only the first record may be one, and check_magic reads it. */
	return malformed(ps);
}

static int
dec_arrival(struct parser *ps, struct cur *c)
{
	uint64_t sec;
	uint32_t usec;

	if (!get_u64(c, &sec) || !get_u32(c, &usec) || c->left != 0)
		return malformed(ps);
	if (sec > INT64_MAX || usec >= USEC_PER_SEC)
		return bad(ps, "bad arrival time");
	ps->q->arrival_sec = (int64_t)sec;
	ps->q->arrival_usec = usec;
	return 0;
}

static int
dec_client(struct parser *ps, struct cur *c)
{
	struct qfile_client *cl = &ps->q->client;

	if (get_strf(ps, c, &f_client_name, cl->name) == -1 ||
	    get_strf(ps, c, &f_client_addr, cl->addr) == -1)
		return -1;
	if (!get_u16(c, &cl->port))
		return malformed(ps);
	if (get_strf(ps, c, &f_helo, cl->helo) == -1 ||
	    get_strf(ps, c, &f_proto, cl->proto) == -1)
		return -1;
	if (c->left != 0)
		return malformed(ps);
	ps->q->has_client = true;
	return 0;
}

static int
dec_sender(struct parser *ps, struct cur *c)
{
	struct qfile_sender *s = &ps->q->sender;

	if (get_strf(ps, c, &f_sender, s->addr) == -1)
		return -1;
	if (!get_u8(c, &s->flags) || !get_u8(c, &s->ret))
		return malformed(ps);
	if (get_strf(ps, c, &f_envid, s->envid) == -1)
		return -1;
	if (!get_u64(c, &s->size) || c->left != 0)
		return malformed(ps);
	if (!sender_flags_ok(s->flags))
		return bad(ps, "bad sender flags");
	if (!ret_ok(s->ret))
		return bad(ps, "bad RET value");
	return 0;
}

/* The three strings of a recipient live in one allocation, at addr. */
static void
add_rcpt(struct qfile *q, const uint8_t *a, size_t alen, const uint8_t *t,
    size_t tlen, const uint8_t *o, size_t olen, uint8_t notify)
{
	struct qfile_rcpt *r;
	char *p;

	if (q->nrcpt == q->rcpt_cap) {
		q->rcpt_cap = q->rcpt_cap == 0 ? 8 : q->rcpt_cap * 2;
		q->rcpts = xreallocarray(q->rcpts, q->rcpt_cap, sizeof(*r));
	}
	p = xmalloc(alen + 1 + tlen + 1 + olen + 1);
	r = &q->rcpts[q->nrcpt++];
	r->addr = p;
	memcpy(p, a, alen);
	p[alen] = '\0';
	p += alen + 1;
	memcpy(p, t, tlen);
	p[tlen] = '\0';
	r->orcpt_type = p;
	p += tlen + 1;
	memcpy(p, o, olen);
	p[olen] = '\0';
	r->orcpt = p;
	r->notify = notify;
	r->status = QFILE_RS_PENDING;
	r->status_off = -1;		/* until its status record */
}

static int
dec_rcpt(struct parser *ps, struct cur *c)
{
	const uint8_t *a, *t, *o;
	size_t alen, tlen, olen;
	uint8_t notify;

	if (ps->q->nrcpt == QFILE_RCPT_MAX)
		return bad(ps, "too many recipients");
	if (get_str(ps, c, &f_rcpt, &a, &alen) == -1)
		return -1;
	if (!get_u8(c, &notify))
		return malformed(ps);
	if (get_str(ps, c, &f_orcpt_type, &t, &tlen) == -1 ||
	    get_str(ps, c, &f_orcpt, &o, &olen) == -1)
		return -1;
	if (c->left != 0)
		return malformed(ps);
	if (alen == 0)
		return bad(ps, "empty recipient address");
	if (!notify_ok(notify))
		return bad(ps, "bad NOTIFY flags");
	if ((tlen == 0) != (olen == 0))
		return bad(ps, "incomplete ORCPT");
	add_rcpt(ps->q, a, alen, t, tlen, o, olen, notify);
	return 0;
}

static int
dec_status(struct parser *ps, struct cur *c)
{
	struct qfile_rcpt *r = &ps->q->rcpts[ps->q->nrcpt - 1];
	uint8_t st;

	if (!get_u8(c, &st) || c->left != 0)
		return malformed(ps);
	if (!status_ok(st))
		return bad(ps, "bad recipient status");
	r->status = st;
	r->status_off = (off_t)(ps->off + QFILE_REC_HDR);
	return 0;
}

static int
dec_begin(struct parser *ps, struct cur *c)
{
	if (c->left != 0)
		return malformed(ps);
	return 0;
}

static int
dec_content(struct parser *ps, struct cur *c)
{
	struct qfile *q = ps->q;
	struct qfile_range *r;

	if (c->left == 0)
		return bad(ps, "empty content record");
	if (q->ncontent == q->content_cap) {
		q->content_cap = q->content_cap == 0 ? 16 : q->content_cap * 2;
		q->content = xreallocarray(q->content, q->content_cap,
		    sizeof(*r));
	}
	r = &q->content[q->ncontent++];
	r->off = ps->off + QFILE_REC_HDR;
	r->len = c->left;
	/* Cannot wrap: the sum is at most the length of the input. */
	q->content_size += c->left;
	return 0;
}

static int
dec_end(struct parser *ps, struct cur *c)
{
	uint64_t size;
	uint32_t nrcpt;

	if (!get_u64(c, &size) || !get_u32(c, &nrcpt) || c->left != 0)
		return malformed(ps);
	if (nrcpt != ps->q->nrcpt)
		return bad(ps, "recipient count mismatch");
	if (size != ps->q->content_size)
		return bad(ps, "content size mismatch");
	return 0;
}

#define REC(t, single, after, name, fn) { t, single, after,		\
	"duplicate " name " record", name " record out of order",	\
	"malformed " name " record", fn }

/* The "after" strings spell the order of the format: see qfile.h. */
static const struct rec_desc recs[] = {
	REC(QFILE_T_MAGIC, true, "", "magic", dec_magic),
	REC(QFILE_T_ARRIVAL, true, "M", "arrival", dec_arrival),
	REC(QFILE_T_CLIENT, true, "T", "client", dec_client),
	REC(QFILE_T_SENDER, true, "TC", "sender", dec_sender),
	REC(QFILE_T_RCPT, false, "SD", "recipient", dec_rcpt),
	REC(QFILE_T_STATUS, false, "R", "status", dec_status),
	REC(QFILE_T_BEGIN, true, "D", "begin", dec_begin),
	REC(QFILE_T_CONTENT, false, "BX", "content", dec_content),
	REC(QFILE_T_END, true, "BX", "end", dec_end),
};
#define NRECS	(sizeof(recs) / sizeof(recs[0]))

static const struct rec_desc *
find_desc(uint8_t type)
{
	size_t i;

	for (i = 0; i < NRECS; i++)
		if (recs[i].type == type)
			return &recs[i];
	return NULL;
}

/* May a record of desc's type follow ps->prev here? */
static int
check_place(struct parser *ps, const struct rec_desc *d)
{
	uint32_t bit = 1U << (d - recs);

	if (d->singleton && (ps->seen & bit))
		return bad(ps, d->dup_err);
	if (ps->prev == QFILE_T_RCPT && d->type != QFILE_T_STATUS)
		return bad(ps, "recipient without status record");
	if (d->type == QFILE_T_BEGIN && ps->q->nrcpt == 0)
		return bad(ps, "no recipients");
	if (strchr(d->after, ps->prev) == NULL)
		return bad(ps, d->order_err);
	ps->seen |= bit;
	return 0;
}

static int
check_magic(struct parser *ps)
{
	static const uint8_t want[MAGIC_REC_LEN] = { QFILE_T_MAGIC, 0, 0, 0,
	    MAGIC_LEN, 'T', 'E', 'R', 'N', 'Q', '1' };

	/* Same record but for the version digit: a newer (or older) Tern. */
	if (ps->len >= MAGIC_REC_LEN &&
	    memcmp(ps->data, want, MAGIC_REC_LEN - 1) == 0 &&
	    ps->data[MAGIC_REC_LEN - 1] != want[MAGIC_REC_LEN - 1])
		return bad(ps, "unsupported queue file version");
	if (ps->len < MAGIC_REC_LEN ||
	    memcmp(ps->data, want, MAGIC_REC_LEN) != 0)
		return bad(ps, "bad magic");
	ps->off = MAGIC_REC_LEN;
	ps->prev = QFILE_T_MAGIC;
	ps->seen = 1U << (find_desc(QFILE_T_MAGIC) - recs);
	return 0;
}

/* One record at ps->off: frame, place, fields. */
static int
parse_record(struct parser *ps)
{
	const uint8_t *h = ps->data + ps->off;
	size_t left = ps->len - ps->off;
	struct cur c;
	uint32_t rlen;

	if (ps->prev == QFILE_T_END)
		return bad(ps, "data after end record");
	if (left < QFILE_REC_HDR)
		return bad(ps, "truncated record");
	if ((ps->desc = find_desc(h[0])) == NULL)
		return bad(ps, "unknown record type");
	rlen = ascii_get_be32(h + 1);
	if (rlen > QFILE_REC_MAX)
		return bad(ps, "record too long");
	if (rlen > left - QFILE_REC_HDR)
		return bad(ps, "truncated record");
	if (check_place(ps, ps->desc) == -1)
		return -1;
	c.p = h + QFILE_REC_HDR;
	c.left = rlen;
	if (ps->desc->decode(ps, &c) == -1)
		return -1;
	ps->prev = h[0];
	ps->off += QFILE_REC_HDR + rlen;
	return 0;
}

/* Forget a parse; raw stays. */
static void
release_parsed(struct qfile *q)
{
	size_t i;

	/* Each recipient's strings are one allocation, starting at addr. */
	for (i = 0; i < q->nrcpt; i++)
		free((char *)q->rcpts[i].addr);
	free(q->rcpts);
	free(q->content);
	q->rcpts = NULL;
	q->content = NULL;
	q->nrcpt = q->rcpt_cap = 0;
	q->ncontent = q->content_cap = 0;
	q->content_size = 0;
	q->arrival_sec = 0;
	q->arrival_usec = 0;
	q->has_client = false;
	memset(&q->client, 0, sizeof(q->client));
	memset(&q->sender, 0, sizeof(q->sender));
	q->base = NULL;
	q->base_len = 0;
}

static int	pread_full(int, uint8_t *, size_t, off_t);

/* envelope: data ends right after the begin record. */
static int
parse_mode(struct qfile *q, const uint8_t *data, size_t len, bool envelope,
    const char **err_r)
{
	struct parser ps;

	release_parsed(q);
	memset(&ps, 0, sizeof(ps));
	ps.q = q;
	ps.data = data;
	ps.len = len;
	if (check_magic(&ps) == -1)
		goto fail;
	while (ps.off < ps.len)
		if (parse_record(&ps) == -1)
			goto fail;
	if (ps.prev != (envelope ? QFILE_T_BEGIN : QFILE_T_END)) {
		ps.err = envelope ? "truncated envelope" : "missing end record";
		goto fail;
	}
	q->base = data;
	q->base_len = len;
	return 0;

 fail:
	release_parsed(q);
	*err_r = ps.err;
	return -1;
}

void
qfile_init(struct qfile *q)
{
	memset(q, 0, sizeof(*q));
	buf_init(&q->raw, 0);
}

void
qfile_clear(struct qfile *q)
{
	release_parsed(q);
	buf_clear(&q->raw);
}

static int
parse(struct qfile *q, const uint8_t *data, size_t len, const char **err_r)
{
	return parse_mode(q, data, len, false, err_r);
}

int
qfile_parse(const uint8_t *data, size_t len, struct qfile *q,
    const char **err_r)
{
	buf_clear(&q->raw);
	return parse(q, data, len, err_r);
}

static size_t	envelope_end(const uint8_t *, size_t);

/*
 * Read fd from offset 0 into q->raw (at most max_size bytes, with pread
 * so the offset of a shared descriptor is left alone), chunk bytes at a
 * time, to the end of the file -- or, when *env_end is not NULL, only
 * until the begin record is in: *env_end is then where it ends, or 0
 * when the file ended first.  Returns 0, or -1 with q->raw cleared,
 * *err_r set and errno: EFBIG (too_large) or that of pread.
 */
static int
read_raw(int fd, size_t max_size, size_t chunk, struct qfile *q,
    size_t *env_end, const char *too_large, const char **err_r)
{
	uint8_t data[READ_CHUNK];
	off_t off = 0;
	ssize_t n;
	int saved;

	if (chunk > sizeof(data))
		chunk = sizeof(data);
	release_parsed(q);
	buf_clear(&q->raw);
	buf_init(&q->raw, max_size);
	if (env_end != NULL)
		*env_end = 0;
	for (;;) {
		n = pread(fd, data, chunk, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			buf_clear(&q->raw);
			*err_r = strerror(saved);
			errno = saved;
			return -1;
		}
		if (n == 0)
			return 0;
		if (buf_add(&q->raw, data, (size_t)n) == -1) {
			buf_clear(&q->raw);
			*err_r = too_large;
			errno = EFBIG;
			return -1;
		}
		off += n;
		if (env_end != NULL && q->raw.len >= MAGIC_REC_LEN &&
		    (*env_end = envelope_end(q->raw.data, q->raw.len)) != 0)
			return 0;
	}
}

int
qfile_read(int fd, size_t max_size, struct qfile *q, const char **err_r)
{
	if (read_raw(fd, max_size, READ_CHUNK, q, NULL,
	    "queue file too large", err_r) == -1)
		return -1;
	if (parse(q, q->raw.data, q->raw.len, err_r) == -1) {
		buf_clear(&q->raw);
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/*
 * Where the begin record ends in data, or 0 when data does not hold it
 * yet.  Only frames are walked here; parse_mode checks everything.
 */
static size_t
envelope_end(const uint8_t *data, size_t len)
{
	size_t off = MAGIC_REC_LEN;
	uint32_t rlen;

	while (len >= QFILE_REC_HDR && off <= len - QFILE_REC_HDR) {
		rlen = ascii_get_be32(data + off + 1);
		if (rlen > QFILE_REC_MAX)
			return off + QFILE_REC_HDR;	/* parse says why */
		if (rlen > len - off - QFILE_REC_HDR)
			return 0;
		if (data[off] == QFILE_T_BEGIN)
			return off + QFILE_REC_HDR + rlen;
		if (data[off] == QFILE_T_CONTENT || data[off] == QFILE_T_END)
			return off + QFILE_REC_HDR + rlen;	/* out of order */
		off += QFILE_REC_HDR + rlen;
	}
	return 0;
}

int
qfile_read_envelope(int fd, size_t max_size, struct qfile *q,
    const char **err_r)
{
	uint8_t tail[END_REC_LEN];
	struct stat st;
	size_t end;
	int saved;

	if (fstat(fd, &st) == -1) {
		saved = errno;
		release_parsed(q);
		buf_clear(&q->raw);
		*err_r = strerror(saved);
		errno = saved;
		return -1;
	}
	if (read_raw(fd, max_size, ENVELOPE_CHUNK, q, &end,
	    "queue file envelope too large", err_r) == -1)
		return -1;
	if (end == 0)
		end = q->raw.len;	/* parse_mode names the problem */
	if (parse_mode(q, q->raw.data, end > q->raw.len ? q->raw.len : end,
	    true, err_r) == -1)
		goto bad;
	/* The end record must be there, counting the same recipients. */
	if (st.st_size < (off_t)(end + END_REC_LEN) ||
	    pread_full(fd, tail, sizeof(tail),
	    st.st_size - (off_t)END_REC_LEN) == -1 ||
	    tail[0] != QFILE_T_END ||
	    ascii_get_be32(tail + 1) != END_REC_LEN - QFILE_REC_HDR) {
		release_parsed(q);
		*err_r = "missing end record";
		goto bad;
	}
	if (ascii_get_be32(tail + QFILE_REC_HDR + 8) != q->nrcpt) {
		release_parsed(q);
		*err_r = "end record recipient count differs";
		goto bad;
	}
	q->content_size = ascii_get_be64(tail + QFILE_REC_HDR);
	/* Nothing points into the bytes read: a queue manager holding
	 * thousands of envelopes keeps only what was parsed out. */
	buf_clear(&q->raw);
	q->base = NULL;
	q->base_len = 0;
	return 0;
bad:
	buf_clear(&q->raw);
	errno = EBADMSG;
	return -1;
}

int
qfile_content_write(const struct qfile *q, int fd)
{
	size_t i;

	for (i = 0; i < q->ncontent; i++)
		if (lineio_write_all(fd, q->base + q->content[i].off,
		    q->content[i].len) == -1)
			return -1;
	return 0;
}

/* Read exactly len bytes at off; a short file is EINVAL. */
static int
pread_full(int fd, uint8_t *p, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, p, len, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EINVAL;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
qfile_rcpt_set_status(int fd, off_t status_off, uint8_t status)
{
	if (qfile_rcpt_put_status(fd, status_off, status) == -1)
		return -1;
	return fsync(fd);
}

int
qfile_rcpt_put_status(int fd, off_t status_off, uint8_t status)
{
	uint8_t rec[QFILE_REC_HDR + 1];
	ssize_t n;

	if (!status_ok(status) || status_off < QFILE_REC_HDR) {
		errno = EINVAL;
		return -1;
	}
	/* A wrong offset must not scribble over someone's message. */
	if (pread_full(fd, rec, sizeof(rec), status_off - QFILE_REC_HDR) == -1)
		return -1;
	if (rec[0] != QFILE_T_STATUS || ascii_get_be32(rec + 1) != 1 ||
	    !status_ok(rec[QFILE_REC_HDR])) {
		errno = EINVAL;
		return -1;
	}
	do
		n = pwrite(fd, &status, 1, status_off);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n != 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Writing.  Records are built in w->out and written when it is full;
 * content is gathered in w->chunk so that every content record but the
 * last is exactly QFILE_REC_MAX bytes, whatever pieces the caller hands
 * over: the output depends only on what is written, not on how.
 */

enum wstate {
	W_NONE = 0,	/* not open, or done */
	W_ARRIVAL,	/* next: arrival */
	W_CLIENT,	/* next: client or sender */
	W_SENDER,	/* next: sender */
	W_RCPT,		/* next: the first recipient */
	W_RCPTS,	/* next: a recipient, content or the end */
	W_CONTENT,	/* next: content or the end */
};

/* An envelope record's payload, built field by field. */
struct enc {
	uint8_t	p[ENV_REC_MAX];
	size_t	len;
};

static void
enc_add(struct enc *e, const void *p, size_t n)
{
	if (n > sizeof(e->p) - e->len)
		bug("qfile: envelope record past %d bytes", ENV_REC_MAX);
	if (n == 0)
		return;
	memcpy(e->p + e->len, p, n);
	e->len += n;
}

static void
enc_u8(struct enc *e, uint8_t v)
{
	enc_add(e, &v, 1);
}

static void
enc_u16(struct enc *e, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	enc_add(e, b, sizeof(b));
}

static void
enc_u32(struct enc *e, uint32_t v)
{
	uint8_t b[4];

	ascii_put_be32(b, v);
	enc_add(e, b, sizeof(b));
}

static void
enc_u64(struct enc *e, uint64_t v)
{
	enc_u32(e, (uint32_t)(v >> 32));
	enc_u32(e, (uint32_t)v);
}

/* A string already checked against its limit. */
static void
enc_str(struct enc *e, const char *s)
{
	size_t len = s == NULL ? 0 : strlen(s);

	enc_u16(e, (uint16_t)len);
	enc_add(e, s, len);
}

/* Is s a string of at most max bytes?  NULL counts as "" when null_ok. */
static bool
str_ok(const char *s, size_t max, bool null_ok)
{
	if (s == NULL)
		return null_ok;
	return strnlen(s, max + 1) <= max;
}

static void
writer_reset(struct qfile_writer *w, int fd, bool own_fd)
{
	w->fd = fd;
	w->own_fd = own_fd;
	w->dirfd = -1;
	w->tmpname[0] = '\0';
	w->tmp_exists = false;
	w->state = W_NONE;
	w->err = 0;
	w->nrcpt = 0;
	w->max_rcpt = QFILE_RCPT_MAX;
	w->content_size = 0;
	w->max_content = UINT64_MAX;
	buf_init(&w->out, WBUF_MAX);
	buf_init(&w->chunk, QFILE_REC_MAX);
}

static void
writer_release(struct qfile_writer *w)
{
	buf_clear(&w->out);
	buf_clear(&w->chunk);
	w->state = W_NONE;
}

static int
flush(struct qfile_writer *w)
{
	if (w->out.len == 0)
		return 0;
	if (lineio_write_all(w->fd, w->out.data, w->out.len) == -1) {
		w->err = errno != 0 ? errno : EIO;
		return -1;
	}
	buf_reset(&w->out);
	return 0;
}

static int
emit(struct qfile_writer *w, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[QFILE_REC_HDR];

	if (len > QFILE_REC_MAX)
		bug("qfile: record of %zu bytes", len);
	if (w->out.max - w->out.len < QFILE_REC_HDR + len && flush(w) == -1)
		return -1;
	hdr[0] = type;
	ascii_put_be32(hdr + 1, (uint32_t)len);
	if (buf_add(&w->out, hdr, sizeof(hdr)) == -1 ||
	    buf_add(&w->out, p, len) == -1)
		bug("qfile: write buffer overflow");
	return 0;
}

/* Is the writer where fn may be called, and still without error? */
static int
ready(struct qfile_writer *w, const char *fn, enum wstate a, enum wstate b)
{
	if (w->state != (int)a && w->state != (int)b)
		bug("%s: record out of order (writer state %d)", fn, w->state);
	if (w->err != 0) {
		errno = w->err;
		return -1;
	}
	return 0;
}

static bool
tmpname_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return false;
	len = strnlen(s, QFILE_TMPNAME_MAX + 1);
	if (len == 0 || len > QFILE_TMPNAME_MAX)
		return false;
	if (strchr(s, '/') != NULL)
		return false;
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static void
start(struct qfile_writer *w)
{
	w->state = W_ARRIVAL;
	if (emit(w, QFILE_T_MAGIC, QFILE_MAGIC, MAGIC_LEN) == -1)
		bug("qfile: cannot buffer the magic record");
}

int
qfile_writer_open(struct qfile_writer *w, int dirfd, const char *tmpname)
{
	int fd, saved;

	writer_reset(w, -1, true);
	if (!tmpname_ok(tmpname)) {
		errno = EINVAL;
		return -1;
	}
	fd = openat(dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	w->fd = fd;
	w->dirfd = dirfd;
	strlcpy(w->tmpname, tmpname, sizeof(w->tmpname));
	w->tmp_exists = true;
	/* The umask may only take bits away; make it exactly 0600. */
	if (fchmod(fd, S_IRUSR | S_IWUSR) == -1) {
		saved = errno;
		qfile_writer_abort(w);
		errno = saved;
		return -1;
	}
	start(w);
	return 0;
}

int
qfile_writer_fdopen(struct qfile_writer *w, int fd)
{
	writer_reset(w, fd, false);
	start(w);
	return 0;
}

void
qfile_writer_limits(struct qfile_writer *w, size_t max_rcpt,
    uint64_t max_content)
{
	w->max_rcpt = max_rcpt < QFILE_RCPT_MAX ? max_rcpt : QFILE_RCPT_MAX;
	w->max_content = max_content;
}

int
qfile_put_arrival(struct qfile_writer *w, int64_t sec, uint32_t usec)
{
	struct enc e = { .len = 0 };

	if (ready(w, "qfile_put_arrival", W_ARRIVAL, W_ARRIVAL) == -1)
		return -1;
	if (sec < 0 || usec >= USEC_PER_SEC) {
		errno = EINVAL;
		return -1;
	}
	enc_u64(&e, (uint64_t)sec);
	enc_u32(&e, usec);
	if (emit(w, QFILE_T_ARRIVAL, e.p, e.len) == -1)
		return -1;
	w->state = W_CLIENT;
	return 0;
}

int
qfile_put_client(struct qfile_writer *w, const struct qfile_client *cl)
{
	struct enc e = { .len = 0 };

	if (ready(w, "qfile_put_client", W_CLIENT, W_CLIENT) == -1)
		return -1;
	if (!str_ok(cl->name, QFILE_HOST_MAX, false) ||
	    !str_ok(cl->addr, QFILE_CLIENT_ADDR_MAX, false) ||
	    !str_ok(cl->helo, QFILE_HOST_MAX, false) ||
	    !str_ok(cl->proto, QFILE_PROTO_MAX, false)) {
		errno = EINVAL;
		return -1;
	}
	enc_str(&e, cl->name);
	enc_str(&e, cl->addr);
	enc_u16(&e, cl->port);
	enc_str(&e, cl->helo);
	enc_str(&e, cl->proto);
	if (emit(w, QFILE_T_CLIENT, e.p, e.len) == -1)
		return -1;
	w->state = W_SENDER;
	return 0;
}

int
qfile_put_sender(struct qfile_writer *w, const struct qfile_sender *s)
{
	struct enc e = { .len = 0 };

	if (ready(w, "qfile_put_sender", W_CLIENT, W_SENDER) == -1)
		return -1;
	if (!str_ok(s->addr, QFILE_ADDR_MAX, false) ||
	    !str_ok(s->envid, QFILE_ENVID_MAX, false) ||
	    !sender_flags_ok(s->flags) || !ret_ok(s->ret)) {
		errno = EINVAL;
		return -1;
	}
	enc_str(&e, s->addr);
	enc_u8(&e, s->flags);
	enc_u8(&e, s->ret);
	enc_str(&e, s->envid);
	enc_u64(&e, s->size);
	if (emit(w, QFILE_T_SENDER, e.p, e.len) == -1)
		return -1;
	w->state = W_RCPT;
	return 0;
}

static bool
rcpt_ok(const struct qfile_rcpt *r)
{
	bool has_type, has_orcpt;

	if (!str_ok(r->addr, QFILE_ADDR_MAX, false) || r->addr[0] == '\0')
		return false;
	if (!str_ok(r->orcpt_type, QFILE_ORCPT_TYPE_MAX, true) ||
	    !str_ok(r->orcpt, QFILE_ADDR_MAX, true))
		return false;
	has_type = r->orcpt_type != NULL && r->orcpt_type[0] != '\0';
	has_orcpt = r->orcpt != NULL && r->orcpt[0] != '\0';
	if (has_type != has_orcpt)
		return false;
	return notify_ok(r->notify) && status_ok(r->status);
}

int
qfile_put_rcpt(struct qfile_writer *w, const struct qfile_rcpt *r)
{
	struct enc e = { .len = 0 };

	if (ready(w, "qfile_put_rcpt", W_RCPT, W_RCPTS) == -1)
		return -1;
	if (!rcpt_ok(r)) {
		errno = EINVAL;
		return -1;
	}
	if (w->nrcpt >= w->max_rcpt) {
		errno = E2BIG;
		return -1;
	}
	enc_str(&e, r->addr);
	enc_u8(&e, r->notify);
	enc_str(&e, r->orcpt_type);
	enc_str(&e, r->orcpt);
	if (emit(w, QFILE_T_RCPT, e.p, e.len) == -1 ||
	    emit(w, QFILE_T_STATUS, &r->status, 1) == -1)
		return -1;
	w->nrcpt++;
	w->state = W_RCPTS;
	return 0;
}

/* The begin record goes out with the first content, or at the end. */
static int
begin_content(struct qfile_writer *w)
{
	if (w->state == W_CONTENT)
		return 0;
	if (emit(w, QFILE_T_BEGIN, NULL, 0) == -1)
		return -1;
	w->state = W_CONTENT;
	return 0;
}

int
qfile_put_content(struct qfile_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	if (ready(w, "qfile_put_content", W_RCPTS, W_CONTENT) == -1)
		return -1;
	if (len > w->max_content - w->content_size) {
		errno = EFBIG;
		return -1;
	}
	if (begin_content(w) == -1)
		return -1;
	while (len > 0) {
		n = QFILE_REC_MAX - w->chunk.len;
		if (n > len)
			n = len;
		if (buf_add(&w->chunk, p, n) == -1)
			bug("qfile: content chunk overflow");
		w->content_size += n;
		p += n;
		len -= n;
		if (w->chunk.len < QFILE_REC_MAX)
			break;
		if (emit(w, QFILE_T_CONTENT, w->chunk.data, w->chunk.len) == -1)
			return -1;
		buf_reset(&w->chunk);
	}
	return 0;
}

/* Begin (if no content came), the last content, the end; flush. */
static int
finish_records(struct qfile_writer *w, const char *fn)
{
	struct enc e = { .len = 0 };

	if (ready(w, fn, W_RCPTS, W_CONTENT) == -1)
		return -1;
	if (begin_content(w) == -1)
		return -1;
	if (w->chunk.len > 0 &&
	    emit(w, QFILE_T_CONTENT, w->chunk.data, w->chunk.len) == -1)
		return -1;
	buf_reset(&w->chunk);
	enc_u64(&e, w->content_size);
	enc_u32(&e, (uint32_t)w->nrcpt);
	if (emit(w, QFILE_T_END, e.p, e.len) == -1)
		return -1;
	return flush(w);
}

int
qfile_writer_finish(struct qfile_writer *w)
{
	if (w->own_fd)
		bug("qfile_writer_finish: use qfile_writer_commit");
	if (finish_records(w, "qfile_writer_finish") == -1)
		return -1;
	writer_release(w);
	w->fd = -1;
	return 0;
}

/*
 * Give the file its final name, never replacing another: renameat2
 * RENAME_NOREPLACE where the kernel and file system have it, else a hard
 * link (which fails on an existing name too) and an unlink.
 */
static int
move_into_place(struct qfile_writer *w, int destdirfd, const char *qid)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(w->dirfd, w->tmpname, destdirfd, qid,
	    RENAME_NOREPLACE) == 0) {
		w->tmp_exists = false;
		return 0;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (linkat(w->dirfd, w->tmpname, destdirfd, qid, 0) == -1)
		return -1;
	/* The message is in place; a leftover temporary link is harmless. */
	if (unlinkat(w->dirfd, w->tmpname, 0) == 0)
		w->tmp_exists = false;
	return 0;
}

/* Make errno the writer's sticky error. */
static int
stick(struct qfile_writer *w)
{
	w->err = errno != 0 ? errno : EIO;
	return -1;
}

int
qfile_writer_commit(struct qfile_writer *w, int destdirfd, const char *qid)
{
	int r;

	if (!w->own_fd)
		bug("qfile_writer_commit: use qfile_writer_finish");
	if (qid == NULL || !qid_valid(qid, strnlen(qid, QID_LEN + 1))) {
		errno = EINVAL;
		return -1;
	}
	if (finish_records(w, "qfile_writer_commit") == -1)
		return -1;
	if (fsync(w->fd) == -1)
		return stick(w);
	/* Close before the rename: an NFS close may report a lost write. */
	r = close(w->fd);
	w->fd = -1;
	if (r == -1 && errno != EINTR)
		return stick(w);
	if (move_into_place(w, destdirfd, qid) == -1)
		return stick(w);
	if (fsync(destdirfd) == -1) {
		r = errno;
		(void)unlinkat(destdirfd, qid, 0);
		errno = r;
		return stick(w);
	}
	writer_release(w);
	return 0;
}

void
qfile_writer_abort(struct qfile_writer *w)
{
	int saved = errno;

	if (w->own_fd && w->fd != -1)
		(void)close(w->fd);
	w->fd = -1;
	if (w->tmp_exists)
		(void)unlinkat(w->dirfd, w->tmpname, 0);
	w->tmp_exists = false;
	writer_release(w);
	errno = saved;
}
