/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_attr.c -- libFuzzer harness for the attribute decoder (lib/attr.c).
 *
 * Input:    arbitrary bytes, taken both as a framed message (u32 prefix +
 *           body) and as a bare body.
 * Checks:   whatever decodes must be consistent (lookups find every
 *           attribute with its value) and must re-encode, with attr_put_*,
 *           to the very same bytes, which decode to the same attributes.
 *           Any difference abort()s.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "buf.h"
#include "fuzz.h"

static char	strbuf[ATTR_STR_MAX + 1];

/* Every attribute is found under its name and reads back as itself. */
static void
check_lookups(const struct attr_msg *msg)
{
	const struct attr *a;
	int64_t v;
	size_t i;

	if (msg->n > ATTR_MAX_ATTRS)
		abort();
	for (i = 0; i < msg->n; i++) {
		a = &msg->attrs[i];
		if (attr_find(msg, a->name) != a)
			abort();
		if (a->name[0] == '\0' || strlen(a->name) > ATTR_NAME_MAX)
			abort();
		if (attr_get_str(msg, a->name, strbuf, sizeof(strbuf)) !=
		    (a->type == ATTR_T_STR ? 0 : -1))
			abort();
		if (a->type == ATTR_T_STR && (strlen(strbuf) != a->len ||
		    memcmp(strbuf, a->val, a->len) != 0))
			abort();
		if (a->type == ATTR_T_STR &&
		    attr_get_str(msg, a->name, strbuf, a->len) != -1)
			abort();
		if (attr_get_int(msg, a->name, &v) !=
		    (a->type == ATTR_T_INT ? 0 : -1))
			abort();
		if (a->type == ATTR_T_INT && v != a->num)
			abort();
	}
	if (attr_find(msg, "") != NULL || attr_find(msg, "NO") != NULL)
		abort();
}

static void
put_all(const struct attr_msg *msg, struct buf *out)
{
	const struct attr *a;
	size_t i;
	int r;

	attr_out_init(out);
	for (i = 0; i < msg->n; i++) {
		a = &msg->attrs[i];
		switch (a->type) {
		case ATTR_T_STR:
			memcpy(strbuf, a->val, a->len);
			strbuf[a->len] = '\0';
			r = attr_put_str(out, a->name, strbuf);
			break;
		case ATTR_T_INT:
			r = attr_put_int(out, a->name, a->num);
			break;
		case ATTR_T_DATA:
			r = attr_put_data(out, a->name, a->val, a->len);
			break;
		default:
			abort();
		}
		if (r != 0)
			abort();
	}
}

static bool
same_attr(const struct attr *a, const struct attr *b)
{
	if (a->type != b->type || strcmp(a->name, b->name) != 0)
		return false;
	if (a->type == ATTR_T_INT)
		return a->num == b->num;
	return a->len == b->len && memcmp(a->val, b->val, a->len) == 0;
}

/* The encoding is canonical: re-encoding gives back the input body. */
static void
check_reencode(const struct attr_msg *msg, const uint8_t *body, size_t len)
{
	struct attr_msg again;
	const char *err;
	struct buf out;
	size_t i, total;

	put_all(msg, &out);
	if (out.len - 4 != len || memcmp(out.data + 4, body, len) != 0)
		abort();
	if (attr_frame(out.data, out.len, &total, &err) != ATTR_OK ||
	    total != out.len)
		abort();
	attr_msg_init(&again);
	if (attr_decode(out.data + 4, out.len - 4, &again, &err) != ATTR_OK)
		abort();
	if (again.n != msg->n)
		abort();
	for (i = 0; i < msg->n; i++)
		if (!same_attr(&msg->attrs[i], &again.attrs[i]))
			abort();
	attr_msg_clear(&again);
	buf_clear(&out);
}

static void
try_body(struct attr_msg *msg, const uint8_t *body, size_t len)
{
	const char *err = NULL;

	if (attr_decode(body, len, msg, &err) != ATTR_OK) {
		if (err == NULL || msg->n != 0)
			abort();
		return;
	}
	check_lookups(msg);
	check_reencode(msg, body, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attr_msg msg;
	const char *err = NULL;
	size_t total = 0;

	attr_msg_init(&msg);
	switch (attr_frame(data, size, &total, &err)) {
	case ATTR_OK:
		if (total < 4 || total > size)
			abort();
		try_body(&msg, data + 4, total - 4);
		break;
	case ATTR_MORE:
		break;
	case ATTR_ERR:
		if (err == NULL)
			abort();
		break;
	}
	/* The same message struct, reused for the whole input as a body. */
	try_body(&msg, data, size);
	attr_msg_clear(&msg);
	return 0;
}
