/*
 * SPDX-License-Identifier: ISC
 *
 * check_attr.c -- unit tests for lib/attr.c: encoding, decoding of good
 * and malformed bodies, framing, lookups, blocking I/O over sockets, and
 * attr_expect (a service's answer and its status).
 *
 * Process:  test runner (Check), no privilege; peers are the test itself
 *           or a forked child on the other end of a socketpair or pipe.
 * Input:    fixed tables of bodies, some built at run time (limits).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "xmem.h"

#define LIT(s)	(const uint8_t *)(s), sizeof(s) - 1

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
set_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Decode what attr_put_* built (prefix stripped); must succeed. */
static void
decode_out(const struct buf *out, struct attr_msg *msg)
{
	const char *err = NULL;

	ck_assert_uint_ge(out->len, 4);
	ck_assert_uint_eq(be32(out->data), out->len - 4);
	if (attr_decode(out->data + 4, out->len - 4, msg, &err) != ATTR_OK)
		ck_abort_msg("decode failed: %s", err);
}

static int64_t
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* A small message used by the I/O tests. */
static void
build_sample(struct buf *out)
{
	attr_out_init(out);
	ck_assert_int_eq(attr_put_str(out, "request", "deliver"), 0);
	ck_assert_int_eq(attr_put_int(out, "size", 12345), 0);
	ck_assert_int_eq(attr_put_data(out, "blob", "a\0b", 3), 0);
}

static void
check_sample(const struct attr_msg *msg)
{
	char s[32];
	int64_t v;

	ck_assert_uint_eq(msg->n, 3);
	ck_assert_int_eq(attr_get_str(msg, "request", s, sizeof(s)), 0);
	ck_assert_str_eq(s, "deliver");
	ck_assert_int_eq(attr_get_int(msg, "size", &v), 0);
	ck_assert_int_eq(v, 12345);
	ck_assert_uint_eq(msg->attrs[2].len, 3);
	ck_assert_mem_eq(msg->attrs[2].val, "a\0b", 3);
}

/* Encoding and decoding. */

START_TEST(test_out_init)
{
	struct buf out;

	attr_out_init(&out);
	ck_assert_uint_eq(out.len, 4);
	ck_assert_mem_eq(out.data, "\0\0\0\0", 4);
	buf_clear(&out);
}
END_TEST

START_TEST(test_wire_format)
{
	static const uint8_t want[] =
	    "\0\0\0\x20"
	    "\x01\x02" "ab" "\0\0\0\x02" "xy"
	    "\x02\x01" "n" "\0\0\0\x08" "\xff\xff\xff\xff\xff\xff\xff\xfe"
	    "\x03\x01" "d" "\0\0\0\0";
	struct buf out;

	attr_out_init(&out);
	ck_assert_int_eq(attr_put_str(&out, "ab", "xy"), 0);
	ck_assert_int_eq(attr_put_int(&out, "n", -2), 0);
	ck_assert_int_eq(attr_put_data(&out, "d", NULL, 0), 0);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, sizeof(want) - 1);
	buf_clear(&out);
}
END_TEST

START_TEST(test_roundtrip_str)
{
	struct attr_msg msg;
	struct buf out;
	char *big;

	big = xmalloc(ATTR_STR_MAX + 1);
	memset(big, 'x', ATTR_STR_MAX);
	big[ATTR_STR_MAX] = '\0';
	attr_out_init(&out);
	ck_assert_int_eq(attr_put_str(&out, "hello", "world"), 0);
	ck_assert_int_eq(attr_put_str(&out, "empty", ""), 0);
	ck_assert_int_eq(attr_put_str(&out, "big", big), 0);
	ck_assert_int_eq(attr_put_str(&out, "utf8", "caf\xc3\xa9 \xff"), 0);

	attr_msg_init(&msg);
	decode_out(&out, &msg);
	ck_assert_uint_eq(msg.n, 4);
	ck_assert_int_eq(msg.attrs[0].type, ATTR_T_STR);
	ck_assert_str_eq(msg.attrs[0].name, "hello");
	ck_assert_uint_eq(msg.attrs[0].len, 5);
	ck_assert_mem_eq(msg.attrs[0].val, "world", 5);
	ck_assert_str_eq(msg.attrs[1].name, "empty");
	ck_assert_uint_eq(msg.attrs[1].len, 0);
	ck_assert_uint_eq(msg.attrs[2].len, ATTR_STR_MAX);
	ck_assert_mem_eq(msg.attrs[2].val, big, ATTR_STR_MAX);
	ck_assert_uint_eq(msg.attrs[3].len, 7);
	ck_assert_mem_eq(msg.attrs[3].val, "caf\xc3\xa9 \xff", 7);
	attr_msg_clear(&msg);
	buf_clear(&out);
	free(big);
}
END_TEST

START_TEST(test_roundtrip_int)
{
	static const int64_t vals[] = { 0, 1, -1, 255, -256, INT32_MAX,
	    INT32_MIN, (int64_t)UINT32_MAX + 1, INT64_MAX, INT64_MIN,
	    INT64_MIN + 1, INT64_MAX - 1 };
	const size_t nvals = sizeof(vals) / sizeof(vals[0]);
	struct attr_msg msg;
	struct buf out;
	char name[8];
	size_t i;

	attr_out_init(&out);
	for (i = 0; i < nvals; i++) {
		snprintf(name, sizeof(name), "i%zu", i);
		ck_assert_int_eq(attr_put_int(&out, name, vals[i]), 0);
	}
	attr_msg_init(&msg);
	decode_out(&out, &msg);
	ck_assert_uint_eq(msg.n, nvals);
	for (i = 0; i < nvals; i++) {
		ck_assert_int_eq(msg.attrs[i].type, ATTR_T_INT);
		ck_assert_uint_eq(msg.attrs[i].len, 8);
		ck_assert_msg(msg.attrs[i].num == vals[i], "value %zu", i);
	}
	/* Big-endian two's complement on the wire. */
	ck_assert_mem_eq(msg.attrs[9].val, "\x80\0\0\0\0\0\0\0", 8);
	ck_assert_mem_eq(msg.attrs[8].val, "\x7f\xff\xff\xff\xff\xff\xff\xff",
	    8);
	ck_assert_mem_eq(msg.attrs[2].val, "\xff\xff\xff\xff\xff\xff\xff\xff",
	    8);
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

START_TEST(test_roundtrip_data)
{
	static const uint8_t bin[] = { 0, 1, 0, 0xff, 0, '\n', 0 };
	struct attr_msg msg;
	struct buf out;
	uint8_t *big;
	size_t bigsz;

	/* One attribute that fills the body exactly: 2 + 1 + 4 + value. */
	bigsz = ATTR_MSG_MAX - 7 - (2 + 3 + 4 + sizeof(bin)) - (2 + 5 + 4);
	big = xmalloc(bigsz);
	memset(big, 0, bigsz);
	big[bigsz - 1] = 0x5a;
	attr_out_init(&out);
	ck_assert_int_eq(attr_put_data(&out, "bin", bin, sizeof(bin)), 0);
	ck_assert_int_eq(attr_put_data(&out, "empty", NULL, 0), 0);
	ck_assert_int_eq(attr_put_data(&out, "z", big, bigsz), 0);
	ck_assert_uint_eq(out.len, 4 + ATTR_MSG_MAX);

	attr_msg_init(&msg);
	decode_out(&out, &msg);
	ck_assert_uint_eq(msg.n, 3);
	ck_assert_int_eq(msg.attrs[0].type, ATTR_T_DATA);
	ck_assert_uint_eq(msg.attrs[0].len, sizeof(bin));
	ck_assert_mem_eq(msg.attrs[0].val, bin, sizeof(bin));
	ck_assert_uint_eq(msg.attrs[1].len, 0);
	ck_assert_uint_eq(msg.attrs[2].len, bigsz);
	ck_assert_mem_eq(msg.attrs[2].val, big, bigsz);
	attr_msg_clear(&msg);
	buf_clear(&out);
	free(big);
}
END_TEST

START_TEST(test_decode_empty_and_reuse)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;

	attr_msg_init(&msg);
	ck_assert_int_eq(attr_decode((const uint8_t *)"", 0, &msg, &err),
	    ATTR_OK);
	ck_assert_uint_eq(msg.n, 0);

	build_sample(&out);
	decode_out(&out, &msg);
	check_sample(&msg);

	/* A second decode replaces the first ... */
	ck_assert_int_eq(attr_decode(LIT("\x02\x01" "k" "\0\0\0\x08"
	    "\0\0\0\0\0\0\0\x07"), &msg, &err), ATTR_OK);
	ck_assert_uint_eq(msg.n, 1);
	ck_assert_ptr_null(attr_find(&msg, "request"));
	ck_assert_int_eq(msg.attrs[0].num, 7);

	/* ... and a failed one leaves no attributes behind. */
	ck_assert_int_eq(attr_decode(LIT("\x09"), &msg, &err), ATTR_ERR);
	ck_assert_uint_eq(msg.n, 0);
	ck_assert_ptr_null(attr_find(&msg, "k"));

	/* Cleared, it is empty and usable again. */
	attr_msg_clear(&msg);
	ck_assert_ptr_null(msg.body.data);
	decode_out(&out, &msg);
	check_sample(&msg);
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

/* Malformed bodies: each must be rejected with its own error. */

static void
build_too_many(struct buf *b)
{
	uint8_t rec[4 + 4] = { ATTR_T_STR, 2, 'a', 'a', 0, 0, 0, 0 };
	int i;

	for (i = 0; i <= ATTR_MAX_ATTRS; i++) {
		rec[2] = (uint8_t)('a' + i / 26);
		rec[3] = (uint8_t)('a' + i % 26);
		ck_assert_int_eq(buf_add(b, rec, sizeof(rec)), 0);
	}
}

/* Append a header for a value of vlen bytes of fill. */
static void
build_value(struct buf *b, uint8_t type, size_t vlen, uint8_t fill)
{
	uint8_t head[7] = { type, 1, 'v' };
	uint8_t *val;

	set_be32(head + 3, (uint32_t)vlen);
	val = xmalloc(vlen);
	memset(val, fill, vlen);
	ck_assert_int_eq(buf_add(b, head, sizeof(head)), 0);
	ck_assert_int_eq(buf_add(b, val, vlen), 0);
	free(val);
}

static void
build_str_too_long(struct buf *b)
{
	build_value(b, ATTR_T_STR, ATTR_STR_MAX + 1, 'x');
}

static void
build_body_too_large(struct buf *b)
{
	build_value(b, ATTR_T_DATA, ATTR_MSG_MAX + 1 - 7, 0);
}

static const struct bad_body {
	const char	*what;
	const uint8_t	*body;
	size_t		 len;
	void		(*build)(struct buf *);
	const char	*err;
} bad_bodies[] = {
	{ "unknown type 4", LIT("\x04\x01" "a" "\0\0\0\0"), NULL,
	  "unknown attribute type" },
	{ "type 0", LIT("\x00\x01" "a" "\0\0\0\0"), NULL,
	  "unknown attribute type" },
	{ "type 255", LIT("\xff\x01" "a" "\0\0\0\0"), NULL,
	  "unknown attribute type" },
	{ "zero-length name", LIT("\x01\x00" "\0\0\0\0"), NULL,
	  "empty attribute name" },
	{ "name too long", LIT("\x01\x21" "aaaaaaaaaa" "aaaaaaaaaa"
	  "aaaaaaaaaa" "aaa" "\0\0\0\0"), NULL, "attribute name too long" },
	{ "name length 255", LIT("\x01\xff" "a"), NULL,
	  "attribute name too long" },
	{ "upper-case name", LIT("\x01\x01" "A" "\0\0\0\0"), NULL,
	  "bad character in attribute name" },
	{ "dash in name", LIT("\x01\x03" "a-b" "\0\0\0\0"), NULL,
	  "bad character in attribute name" },
	{ "NUL in name", LIT("\x01\x02" "a\0" "\0\0\0\0"), NULL,
	  "bad character in attribute name" },
	{ "8-bit name", LIT("\x01\x01" "\xe9" "\0\0\0\0"), NULL,
	  "bad character in attribute name" },
	{ "truncated header", LIT("\x01"), NULL,
	  "truncated attribute header" },
	{ "truncated name", LIT("\x01\x05" "ab"), NULL,
	  "truncated attribute name" },
	{ "no value length", LIT("\x01\x01" "a"), NULL,
	  "truncated value length" },
	{ "truncated value length", LIT("\x01\x01" "a" "\0\0\0"), NULL,
	  "truncated value length" },
	{ "value length past end", LIT("\x01\x01" "a" "\0\0\0\x05" "abc"),
	  NULL, "truncated value" },
	{ "INT of 7 bytes", LIT("\x02\x01" "n" "\0\0\0\x07" "1234567"), NULL,
	  "integer value not 8 bytes" },
	{ "INT of 9 bytes", LIT("\x02\x01" "n" "\0\0\0\x09" "123456789"),
	  NULL, "integer value not 8 bytes" },
	{ "INT of 0 bytes", LIT("\x02\x01" "n" "\0\0\0\0"), NULL,
	  "integer value not 8 bytes" },
	{ "STR with NUL", LIT("\x01\x01" "s" "\0\0\0\x03" "a\0b"), NULL,
	  "NUL byte in string value" },
	{ "STR of one NUL", LIT("\x01\x01" "s" "\0\0\0\x01" "\0"), NULL,
	  "NUL byte in string value" },
	{ "duplicate name", LIT("\x02\x01" "n" "\0\0\0\x08" "\0\0\0\0\0\0\0\0"
	  "\x02\x01" "n" "\0\0\0\x08" "\0\0\0\0\0\0\0\0"), NULL,
	  "duplicate attribute name" },
	{ "duplicate name, other type", LIT("\x01\x02" "ab" "\0\0\0\0"
	  "\x03\x01" "c" "\0\0\0\0" "\x03\x02" "ab" "\0\0\0\0"), NULL,
	  "duplicate attribute name" },
	{ "length UINT32_MAX", LIT("\x03\x01" "d" "\xff\xff\xff\xff" "abc"),
	  NULL, "truncated value" },
	{ "length UINT32_MAX - 6", LIT("\x03\x01" "d" "\xff\xff\xff\xf9"
	  "abc"), NULL, "truncated value" },
	{ "length 2^31", LIT("\x01\x01" "s" "\x80\0\0\0" "abc"), NULL,
	  "truncated value" },
	{ "trailing byte", LIT("\x03\x01" "d" "\0\0\0\0" "\x03"), NULL,
	  "truncated attribute header" },
	{ "good then bad", LIT("\x01\x01" "a" "\0\0\0\x01" "x"
	  "\x01\x01" "b" "\0\0\0\x02" "x"), NULL, "truncated value" },
	{ "too many attributes", NULL, 0, build_too_many,
	  "too many attributes" },
	{ "STR too long", NULL, 0, build_str_too_long,
	  "string value too long" },
	{ "body too large", NULL, 0, build_body_too_large,
	  "message too large" },
};

START_TEST(test_decode_malformed)
{
	const struct bad_body *t = &bad_bodies[_i];
	struct attr_msg msg;
	const char *err = NULL;
	const uint8_t *body = t->body;
	size_t len = t->len;
	struct buf b;

	buf_init(&b, 4 * ATTR_MSG_MAX);
	if (t->build != NULL) {
		t->build(&b);
		body = b.data;
		len = b.len;
	}
	attr_msg_init(&msg);
	ck_assert_msg(attr_decode(body, len, &msg, &err) == ATTR_ERR,
	    "%s: accepted", t->what);
	ck_assert_msg(err != NULL && strcmp(err, t->err) == 0,
	    "%s: error \"%s\", want \"%s\"", t->what, err ? err : "(null)",
	    t->err);
	ck_assert_uint_eq(msg.n, 0);
	attr_msg_clear(&msg);
	buf_clear(&b);
}
END_TEST

/* The largest legal body cases are accepted: limits are inclusive. */
START_TEST(test_decode_limits)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf b;
	uint8_t rec[4 + 32] = { ATTR_T_DATA, 32 };
	int i;

	buf_init(&b, 4 * ATTR_MSG_MAX);
	/* ATTR_MAX_ATTRS attributes with ATTR_NAME_MAX-byte names. */
	for (i = 0; i < ATTR_MAX_ATTRS; i++) {
		memset(rec + 2, '_', 32);
		rec[2] = (uint8_t)('a' + i / 26);
		rec[3] = (uint8_t)('a' + i % 26);
		ck_assert_int_eq(buf_add(&b, rec, 2 + 32), 0);
		ck_assert_int_eq(buf_add(&b, "\0\0\0\0", 4), 0);
	}
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_decode(b.data, b.len, &msg, &err), ATTR_OK);
	ck_assert_uint_eq(msg.n, ATTR_MAX_ATTRS);
	ck_assert_uint_eq(strlen(msg.attrs[63].name), ATTR_NAME_MAX);
	ck_assert_ptr_eq(attr_find(&msg, msg.attrs[63].name), &msg.attrs[63]);
	attr_msg_clear(&msg);
	buf_clear(&b);
}
END_TEST

/* Framing. */

START_TEST(test_frame_partial_prefix)
{
	static const uint8_t in[] = { 0, 0, 0, 0 };
	const char *err = NULL;
	size_t total = 99, len;

	for (len = 0; len < 4; len++)
		ck_assert_int_eq(attr_frame(in, len, &total, &err), ATTR_MORE);
	ck_assert_uint_eq(total, 99);
	ck_assert_int_eq(attr_frame(in, 4, &total, &err), ATTR_OK);
	ck_assert_uint_eq(total, 4);
}
END_TEST

START_TEST(test_frame_body)
{
	uint8_t in[4 + 10 + 3];
	const char *err = NULL;
	size_t total = 0;

	memset(in, 'x', sizeof(in));
	set_be32(in, 10);
	ck_assert_int_eq(attr_frame(in, 4, &total, &err), ATTR_MORE);
	ck_assert_int_eq(attr_frame(in, 13, &total, &err), ATTR_MORE);
	ck_assert_int_eq(attr_frame(in, 14, &total, &err), ATTR_OK);
	ck_assert_uint_eq(total, 14);
	/* Bytes of the next message do not change the answer. */
	total = 0;
	ck_assert_int_eq(attr_frame(in, sizeof(in), &total, &err), ATTR_OK);
	ck_assert_uint_eq(total, 14);
}
END_TEST

START_TEST(test_frame_oversize)
{
	uint8_t in[4];
	const char *err = NULL;
	size_t total = 0;

	set_be32(in, ATTR_MSG_MAX);
	ck_assert_int_eq(attr_frame(in, 4, &total, &err), ATTR_MORE);
	set_be32(in, ATTR_MSG_MAX + 1);
	ck_assert_int_eq(attr_frame(in, 4, &total, &err), ATTR_ERR);
	ck_assert_str_eq(err, "message too large");
	err = NULL;
	set_be32(in, UINT32_MAX);
	ck_assert_int_eq(attr_frame(in, 4, &total, &err), ATTR_ERR);
	ck_assert_str_eq(err, "message too large");
	ck_assert_uint_eq(total, 0);
}
END_TEST

/* Building: limits leave out unchanged. */

static void
assert_put_fails(struct buf *out, int r)
{
	ck_assert_int_eq(r, -1);
	ck_assert_uint_eq(be32(out->data), out->len - 4);
}

START_TEST(test_put_names)
{
	static const char *bad[] = { "", "Abc", "a-b", "a b", "caf\xc3\xa9",
	    "a.b", "a\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	struct buf out, copy;
	size_t i;

	attr_out_init(&out);
	ck_assert_int_eq(attr_put_int(&out, "a_0", 1), 0);
	ck_assert_int_eq(attr_put_int(&out,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1), 0);
	buf_init(&copy, 4 * ATTR_MSG_MAX);
	ck_assert_int_eq(buf_add(&copy, out.data, out.len), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_put_fails(&out, attr_put_int(&out, bad[i], 1));
		assert_put_fails(&out, attr_put_str(&out, bad[i], "v"));
		assert_put_fails(&out, attr_put_data(&out, bad[i], "v", 1));
	}
	assert_put_fails(&out, attr_put_int(&out, NULL, 1));
	assert_put_fails(&out, attr_put_str(&out, "s", NULL));
	assert_put_fails(&out, attr_put_data(&out, "d", NULL, 1));
	/* Names are unique, whatever the type. */
	assert_put_fails(&out, attr_put_int(&out, "a_0", 2));
	assert_put_fails(&out, attr_put_str(&out, "a_0", "x"));
	ck_assert_uint_eq(out.len, copy.len);
	ck_assert_mem_eq(out.data, copy.data, copy.len);
	buf_clear(&copy);
	buf_clear(&out);
}
END_TEST

START_TEST(test_put_too_many)
{
	struct attr_msg msg;
	struct buf out;
	char name[8];
	size_t len;
	int i;

	attr_out_init(&out);
	for (i = 0; i < ATTR_MAX_ATTRS; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		ck_assert_int_eq(attr_put_int(&out, name, i), 0);
		ck_assert_uint_eq(be32(out.data), out.len - 4);
	}
	len = out.len;
	assert_put_fails(&out, attr_put_int(&out, "more", 0));
	assert_put_fails(&out, attr_put_str(&out, "more", ""));
	ck_assert_uint_eq(out.len, len);
	attr_msg_init(&msg);
	decode_out(&out, &msg);
	ck_assert_uint_eq(msg.n, ATTR_MAX_ATTRS);
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

START_TEST(test_put_too_big)
{
	struct buf out;
	uint8_t *big;
	char *str;
	size_t len;

	big = xcalloc(1, ATTR_MSG_MAX + 1);
	str = xmalloc(ATTR_STR_MAX + 2);
	memset(str, 's', ATTR_STR_MAX + 1);
	str[ATTR_STR_MAX + 1] = '\0';

	attr_out_init(&out);
	assert_put_fails(&out, attr_put_str(&out, "s", str));
	assert_put_fails(&out, attr_put_data(&out, "d", big,
	    ATTR_MSG_MAX - 6));
	assert_put_fails(&out, attr_put_data(&out, "d", big, SIZE_MAX));
	ck_assert_uint_eq(out.len, 4);
	str[ATTR_STR_MAX] = '\0';
	ck_assert_int_eq(attr_put_str(&out, "s", str), 0);

	/* Fill to exactly ATTR_MSG_MAX, then nothing more fits. */
	len = ATTR_MSG_MAX - (out.len - 4) - 7;
	assert_put_fails(&out, attr_put_data(&out, "d", big, len + 1));
	ck_assert_int_eq(attr_put_data(&out, "d", big, len), 0);
	ck_assert_uint_eq(out.len, 4 + ATTR_MSG_MAX);
	ck_assert_uint_eq(be32(out.data), ATTR_MSG_MAX);
	assert_put_fails(&out, attr_put_data(&out, "e", NULL, 0));
	assert_put_fails(&out, attr_put_int(&out, "i", 0));
	ck_assert_uint_eq(out.len, 4 + ATTR_MSG_MAX);
	buf_clear(&out);
	free(str);
	free(big);
}
END_TEST

/* Lookups. */

static void
lookup_setup(struct attr_msg *msg, struct buf *out)
{
	attr_out_init(out);
	ck_assert_int_eq(attr_put_str(out, "s", "hello"), 0);
	ck_assert_int_eq(attr_put_str(out, "e", ""), 0);
	ck_assert_int_eq(attr_put_int(out, "i", -42), 0);
	ck_assert_int_eq(attr_put_data(out, "d", "x\0y", 3), 0);
	attr_msg_init(msg);
	decode_out(out, msg);
}

START_TEST(test_find)
{
	const struct attr *a;
	struct attr_msg msg;
	struct buf out;

	lookup_setup(&msg, &out);
	ck_assert_ptr_nonnull(a = attr_find(&msg, "i"));
	ck_assert_ptr_eq(a, &msg.attrs[2]);
	ck_assert_int_eq(a->type, ATTR_T_INT);
	ck_assert_ptr_nonnull(a = attr_find(&msg, "d"));
	ck_assert_int_eq(a->type, ATTR_T_DATA);
	ck_assert_ptr_null(attr_find(&msg, "missing"));
	ck_assert_ptr_null(attr_find(&msg, ""));
	ck_assert_ptr_null(attr_find(&msg, "S"));
	ck_assert_ptr_null(attr_find(&msg, NULL));
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

START_TEST(test_get_str)
{
	struct attr_msg msg;
	struct buf out;
	char s[16];

	lookup_setup(&msg, &out);
	ck_assert_int_eq(attr_get_str(&msg, "s", s, sizeof(s)), 0);
	ck_assert_str_eq(s, "hello");
	ck_assert_int_eq(attr_get_str(&msg, "s", s, 6), 0);	/* exact */
	ck_assert_str_eq(s, "hello");
	memcpy(s, "untouched", 10);
	ck_assert_int_eq(attr_get_str(&msg, "s", s, 5), -1);	/* no room */
	ck_assert_int_eq(attr_get_str(&msg, "s", s, 0), -1);
	ck_assert_int_eq(attr_get_str(&msg, "missing", s, sizeof(s)), -1);
	ck_assert_int_eq(attr_get_str(&msg, "i", s, sizeof(s)), -1);
	ck_assert_int_eq(attr_get_str(&msg, "d", s, sizeof(s)), -1);
	ck_assert_str_eq(s, "untouched");
	ck_assert_int_eq(attr_get_str(&msg, "e", s, 1), 0);
	ck_assert_str_eq(s, "");
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

START_TEST(test_get_int)
{
	struct attr_msg msg;
	struct buf out;
	int64_t v;

	lookup_setup(&msg, &out);
	ck_assert_int_eq(attr_get_int(&msg, "i", &v), 0);
	ck_assert_int_eq(v, -42);
	v = 7;
	ck_assert_int_eq(attr_get_int(&msg, "s", &v), -1);
	ck_assert_int_eq(attr_get_int(&msg, "d", &v), -1);
	ck_assert_int_eq(attr_get_int(&msg, "missing", &v), -1);
	ck_assert_int_eq(v, 7);
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

/* Blocking I/O. */

START_TEST(test_io_roundtrip)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out, out2;
	int sv[2];

	make_pair(sv);
	build_sample(&out);
	attr_out_init(&out2);
	ck_assert_int_eq(attr_put_int(&out2, "second", 2), 0);
	/* Two messages back to back: each read takes exactly one. */
	ck_assert_int_eq(attr_write(sv[0], &out, 1000, &err), 0);
	ck_assert_int_eq(attr_write(sv[0], &out2, -1, &err), 0);
	attr_msg_init(&msg);
	if (attr_read(sv[1], &msg, 1000, &err) != 0)
		ck_abort_msg("attr_read: %s", err);
	check_sample(&msg);
	if (attr_read(sv[1], &msg, -1, &err) != 0)
		ck_abort_msg("attr_read: %s", err);
	ck_assert_uint_eq(msg.n, 1);
	ck_assert_str_eq(msg.attrs[0].name, "second");
	close(sv[0]);
	ck_assert_int_eq(attr_read(sv[1], &msg, 1000, &err), -1);
	ck_assert_str_eq(err, "connection closed");
	ck_assert_uint_eq(msg.n, 0);
	attr_msg_clear(&msg);
	buf_clear(&out);
	buf_clear(&out2);
	close(sv[1]);
}
END_TEST

START_TEST(test_io_big)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;
	uint8_t *big;
	size_t i, len = ATTR_MSG_MAX - 7;
	pid_t pid;
	int sv[2], status;

	/* Larger than the socket buffer: the writer must loop. */
	big = xmalloc(len);
	for (i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7);
	attr_out_init(&out);
	ck_assert_int_eq(attr_put_data(&out, "d", big, len), 0);
	make_pair(sv);
	if ((pid = fork()) == 0) {
		close(sv[1]);
		status = attr_write(sv[0], &out, 5000, &err) == 0 ? 0 : 1;
		buf_clear(&out);	/* for valgrind in the child */
		free(big);
		_exit(status);
	}
	ck_assert_int_ne(pid, -1);
	close(sv[0]);
	attr_msg_init(&msg);
	if (attr_read(sv[1], &msg, 5000, &err) != 0)
		ck_abort_msg("attr_read: %s", err);
	ck_assert_uint_eq(msg.attrs[0].len, len);
	ck_assert_mem_eq(msg.attrs[0].val, big, len);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	attr_msg_clear(&msg);
	buf_clear(&out);
	free(big);
	close(sv[1]);
}
END_TEST

static void
on_alarm(int sig)
{
	(void)sig;
}

/*
 * A child writes the message one byte at a time while SIGALRM keeps
 * interrupting the reader's poll(): short reads and EINTR are absorbed.
 */
START_TEST(test_io_byte_by_byte)
{
	struct itimerval it, off;
	struct sigaction sa, osa;
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;
	size_t i;
	pid_t pid;
	int sv[2], status;

	build_sample(&out);
	make_pair(sv);
	if ((pid = fork()) == 0) {
		close(sv[1]);
		status = 0;
		for (i = 0; i < out.len && status == 0; i++) {
			if (write(sv[0], out.data + i, 1) != 1)
				status = 1;
			usleep(1000);
		}
		buf_clear(&out);	/* for valgrind in the child */
		_exit(status);
	}
	ck_assert_int_ne(pid, -1);
	close(sv[0]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, &osa), 0);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = 700;
	it.it_value.tv_usec = 700;
	memset(&off, 0, sizeof(off));
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);

	attr_msg_init(&msg);
	if (attr_read(sv[1], &msg, 5000, &err) != 0)
		ck_abort_msg("attr_read: %s", err);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
	ck_assert_int_eq(sigaction(SIGALRM, &osa, NULL), 0);
	check_sample(&msg);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	attr_msg_clear(&msg);
	buf_clear(&out);
	close(sv[1]);
}
END_TEST

/* The peer sends the first n bytes of a message and closes. */
static void
read_cut(size_t n, const char *want)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;
	int sv[2];

	build_sample(&out);
	ck_assert_uint_lt(n, out.len);
	make_pair(sv);
	ck_assert_int_eq(write(sv[0], out.data, n), (ssize_t)n);
	close(sv[0]);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_read(sv[1], &msg, 1000, &err), -1);
	ck_assert_msg(err != NULL && strcmp(err, want) == 0,
	    "cut at %zu: \"%s\", want \"%s\"", n, err ? err : "(null)", want);
	ck_assert_uint_eq(msg.n, 0);
	attr_msg_clear(&msg);
	buf_clear(&out);
	close(sv[1]);
}

START_TEST(test_io_peer_closes)
{
	read_cut(0, "connection closed");
	read_cut(1, "truncated message");
	read_cut(3, "truncated message");
	read_cut(4, "truncated message");
	read_cut(10, "truncated message");
}
END_TEST

/* ---- attr_expect: a service's answer and its status ------------------- */

/*
 * Write one message of the given attributes (NULL-terminated name,
 * value pairs) to sv[0], then run attr_expect on sv[1] wanting want.
 */
static int
expect_after(const char *const *kv, const char *want, char *why,
    size_t whysz)
{
	struct attr_msg msg;
	struct buf out;
	const char *err = NULL;
	int sv[2], r;

	make_pair(sv);
	attr_out_init(&out);
	for (; kv[0] != NULL; kv += 2)
		ck_assert_int_eq(attr_put_str(&out, kv[0], kv[1]), 0);
	ck_assert_int_eq(attr_write(sv[0], &out, 1000, &err), 0);
	buf_clear(&out);
	attr_msg_init(&msg);
	memset(why, 'x', whysz);
	r = attr_expect(sv[1], &msg, 1000, want, "tlsproxy", why, whysz);
	if (r == 0) {
		/* The message stays readable for the caller's lookups. */
		ck_assert_ptr_nonnull(attr_find(&msg, "status"));
	}
	attr_msg_clear(&msg);
	close(sv[0]);
	close(sv[1]);
	return r;
}

START_TEST(test_expect_status)
{
	static const char *const ok[] = { "status", "ok", "tls_proto",
	    "TLSv1.3", NULL };
	static const char *const ready[] = { "status", "ready", NULL };
	static const char *const error[] = { "status", "error", "text",
	    "handshake failed: no", NULL };
	static const char *const bare[] = { "status", "error", NULL };
	static const char *const empty[] = { "status", "error", "text", "",
	    NULL };
	static const char *const none[] = { "text", "hello", NULL };
	static const char *const longst[] = { "status",
	    "a-status-longer-than-its-buffer", NULL };
	char why[128];

	ck_assert_int_eq(expect_after(ok, "ok", why, sizeof(why)), 0);
	ck_assert_int_eq(expect_after(ready, "ready", why, sizeof(why)), 0);
	/* Another status: the text the service gave. */
	ck_assert_int_eq(expect_after(ready, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: status ready");
	ck_assert_int_eq(expect_after(error, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "handshake failed: no");
	/* No text, or an empty one: the status named. */
	ck_assert_int_eq(expect_after(bare, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: status error");
	ck_assert_int_eq(expect_after(empty, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: status error");
	ck_assert_int_eq(expect_after(none, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: answer without status");
	/* A status too long for attr_expect's buffer is no status. */
	ck_assert_int_eq(expect_after(longst, "ok", why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: answer without status");
	/* A text longer than why is cut, still NUL-terminated. */
	ck_assert_int_eq(expect_after(error, "ok", why, 8), -1);
	ck_assert_uint_lt(strlen(why), 8);
}
END_TEST

START_TEST(test_expect_read_fails)
{
	struct attr_msg msg;
	char why[128];
	int sv[2];

	/* The peer closes without answering. */
	make_pair(sv);
	close(sv[0]);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_expect(sv[1], &msg, 1000, "ok", "tlsproxy",
	    why, sizeof(why)), -1);
	ck_assert_str_eq(why, "tlsproxy: connection closed");
	attr_msg_clear(&msg);
	close(sv[1]);

	/* Silence: the timeout. */
	make_pair(sv);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_expect(sv[1], &msg, 100, "ok", "qmgr", why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "qmgr: timeout");
	attr_msg_clear(&msg);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_io_timeout)
{
	struct attr_msg msg;
	struct timespec t0;
	const char *err = NULL;
	int64_t ms;
	int sv[2];

	make_pair(sv);
	attr_msg_init(&msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(attr_read(sv[1], &msg, 150, &err), -1);
	ms = elapsed_ms(&t0);
	ck_assert_str_eq(err, "timeout");
	ck_assert_int_ge(ms, 140);
	ck_assert_int_lt(ms, 1000);

	/* A prefix, then silence. */
	ck_assert_int_eq(write(sv[0], "\0\0\0\x10", 4), 4);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(attr_read(sv[1], &msg, 150, &err), -1);
	ck_assert_str_eq(err, "timeout");
	ck_assert_int_lt(elapsed_ms(&t0), 1000);
	ck_assert_uint_eq(msg.n, 0);
	attr_msg_clear(&msg);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * The timeout covers the whole call, not each read: a peer that sends a
 * byte every 40 ms cannot keep the reader busy past 200 ms.
 */
START_TEST(test_io_timeout_trickle)
{
	struct attr_msg msg;
	struct timespec t0;
	const char *err = NULL;
	struct buf out;
	int64_t ms;
	size_t i;
	pid_t pid;
	int sv[2], status;

	build_sample(&out);
	make_pair(sv);
	if ((pid = fork()) == 0) {
		close(sv[1]);
		for (i = 0; i < out.len; i++) {
			if (write(sv[0], out.data + i, 1) != 1)
				break;
			usleep(40000);
		}
		buf_clear(&out);	/* for valgrind in the child */
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	close(sv[0]);
	attr_msg_init(&msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(attr_read(sv[1], &msg, 200, &err), -1);
	ms = elapsed_ms(&t0);
	ck_assert_str_eq(err, "timeout");
	ck_assert_int_ge(ms, 190);
	ck_assert_int_lt(ms, 800);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	attr_msg_clear(&msg);
	buf_clear(&out);
	close(sv[1]);
}
END_TEST

START_TEST(test_io_write_timeout)
{
	struct timespec t0;
	const char *err = NULL;
	struct buf out;
	uint8_t *big;
	int sv[2], sz = 4096, r = 0, i;

	big = xcalloc(1, ATTR_MSG_MAX - 7);
	attr_out_init(&out);
	ck_assert_int_eq(attr_put_data(&out, "d", big, ATTR_MSG_MAX - 7), 0);
	make_pair(sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
	/* Nobody reads sv[1]: the socket fills up. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 4 && r == 0; i++)
		r = attr_write(sv[0], &out, 150, &err);
	ck_assert_int_eq(r, -1);
	ck_assert_str_eq(err, "timeout");
	ck_assert_int_lt(elapsed_ms(&t0), 2000);
	buf_clear(&out);
	free(big);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_io_oversize_prefix)
{
	static const uint32_t sizes[] = { ATTR_MSG_MAX + 1, 0x7fffffff,
	    UINT32_MAX };
	struct attr_msg msg;
	const char *err = NULL;
	uint8_t prefix[4];
	size_t i;
	int sv[2];

	attr_msg_init(&msg);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		make_pair(sv);
		set_be32(prefix, sizes[i]);
		ck_assert_int_eq(write(sv[0], prefix, 4), 4);
		ck_assert_int_eq(attr_read(sv[1], &msg, 1000, &err), -1);
		ck_assert_str_eq(err, "message too large");
		/* Rejected before anything was allocated for it. */
		ck_assert_ptr_null(msg.body.data);
		ck_assert_uint_eq(msg.body.cap, 0);
		close(sv[0]);
		close(sv[1]);
	}
	attr_msg_clear(&msg);
}
END_TEST

/* A prefix not backed by data costs only the bytes that came. */
START_TEST(test_io_lying_prefix)
{
	struct attr_msg msg;
	const char *err = NULL;
	uint8_t raw[4 + 10];
	int sv[2];

	memset(raw, 'x', sizeof(raw));
	set_be32(raw, ATTR_MSG_MAX);
	make_pair(sv);
	ck_assert_int_eq(write(sv[0], raw, sizeof(raw)), (ssize_t)sizeof(raw));
	close(sv[0]);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_read(sv[1], &msg, 1000, &err), -1);
	ck_assert_str_eq(err, "truncated message");
	ck_assert_uint_lt(msg.body.cap, 1024);
	attr_msg_clear(&msg);
	close(sv[1]);
}
END_TEST

START_TEST(test_io_bad_body)
{
	static const uint8_t raw[] = "\0\0\0\x07" "\x02\x01" "n" "\0\0\0\0";
	struct attr_msg msg;
	const char *err = NULL;
	int sv[2];

	make_pair(sv);
	ck_assert_int_eq(write(sv[0], raw, sizeof(raw) - 1),
	    (ssize_t)sizeof(raw) - 1);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_read(sv[1], &msg, 1000, &err), -1);
	ck_assert_str_eq(err, "integer value not 8 bytes");
	ck_assert_uint_eq(msg.n, 0);
	attr_msg_clear(&msg);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A closed peer is EPIPE, not a SIGPIPE that kills this process. */
START_TEST(test_io_write_closed)
{
	const char *err = NULL;
	struct buf out;
	int sv[2];

	build_sample(&out);
	make_pair(sv);
	close(sv[1]);
	ck_assert_int_eq(attr_write(sv[0], &out, 1000, &err), -1);
	ck_assert_str_eq(err, strerror(EPIPE));
	buf_clear(&out);
	close(sv[0]);
}
END_TEST

/* Not a socket: send() fails with ENOTSOCK, write() takes over. */
START_TEST(test_io_pipe)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;
	int p[2];

	build_sample(&out);
	ck_assert_int_eq(pipe(p), 0);
	if (attr_write(p[1], &out, 1000, &err) != 0)
		ck_abort_msg("attr_write: %s", err);
	attr_msg_init(&msg);
	if (attr_read(p[0], &msg, 1000, &err) != 0)
		ck_abort_msg("attr_read: %s", err);
	check_sample(&msg);
	attr_msg_clear(&msg);
	buf_clear(&out);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_io_bad_fd)
{
	struct attr_msg msg;
	const char *err = NULL;
	struct buf out;

	build_sample(&out);
	attr_msg_init(&msg);
	ck_assert_int_eq(attr_read(-1, &msg, 100, &err), -1);
	ck_assert_str_eq(err, strerror(EBADF));
	ck_assert_int_eq(attr_write(-1, &out, 100, &err), -1);
	ck_assert_str_eq(err, strerror(EBADF));
	/* A closed descriptor: poll() says POLLNVAL. */
	ck_assert_int_eq(attr_read(1000, &msg, 100, &err), -1);
	ck_assert_str_eq(err, strerror(EBADF));
	attr_msg_clear(&msg);
	buf_clear(&out);
}
END_TEST

static Suite *
attr_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("attr");

	tc = tcase_create("codec");
	tcase_add_test(tc, test_out_init);
	tcase_add_test(tc, test_wire_format);
	tcase_add_test(tc, test_roundtrip_str);
	tcase_add_test(tc, test_roundtrip_int);
	tcase_add_test(tc, test_roundtrip_data);
	tcase_add_test(tc, test_decode_empty_and_reuse);
	tcase_add_test(tc, test_decode_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, test_decode_malformed, 0,
	    (int)(sizeof(bad_bodies) / sizeof(bad_bodies[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("frame");
	tcase_add_test(tc, test_frame_partial_prefix);
	tcase_add_test(tc, test_frame_body);
	tcase_add_test(tc, test_frame_oversize);
	suite_add_tcase(s, tc);

	tc = tcase_create("put");
	tcase_add_test(tc, test_put_names);
	tcase_add_test(tc, test_put_too_many);
	tcase_add_test(tc, test_put_too_big);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_get_str);
	tcase_add_test(tc, test_get_int);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_io_roundtrip);
	tcase_add_test(tc, test_io_big);
	tcase_add_test(tc, test_io_byte_by_byte);
	tcase_add_test(tc, test_io_peer_closes);
	tcase_add_test(tc, test_io_timeout);
	tcase_add_test(tc, test_io_timeout_trickle);
	tcase_add_test(tc, test_io_write_timeout);
	tcase_add_test(tc, test_io_oversize_prefix);
	tcase_add_test(tc, test_io_lying_prefix);
	tcase_add_test(tc, test_io_bad_body);
	tcase_add_test(tc, test_io_write_closed);
	tcase_add_test(tc, test_io_pipe);
	tcase_add_test(tc, test_io_bad_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("expect");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_expect_status);
	tcase_add_test(tc, test_expect_read_fails);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(attr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
