/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_alias.c -- libFuzzer harness for alias_parse (lib/alias.h): table
 * values and :include: files, which any user may write.
 *
 * Process:  fuzzer or replay test only.
 * Input:    the first byte's low bit picks ALIAS_P_FILE; the rest is the
 *           text.
 * Failure:  a crash, a sanitizer report, or abort() when a target breaks
 *           the contract (empty, too long, a marker it should have lost,
 *           an address without both sides), when an error has no reason,
 *           or when the targets, written out again quoted, do not parse
 *           back to the same list.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "buf.h"
#include "fuzz.h"

#define FUZZ_OUT_MAX	(8 * 1024 * 1024)

static void
add(struct buf *b, const void *p, size_t n)
{
	if (buf_add(b, p, n) == -1)
		abort();
}

static void
check_item(const struct alias_item *it)
{
	size_t n = strlen(it->text);
	const char *at;

	if (n == 0 || n > ALIAS_TARGET_MAX)
		abort();
	switch (it->type) {
	case ALIAS_T_COMMAND:
		if (it->text[0] == ' ' || it->text[0] == '\t')
			abort();
		break;
	case ALIAS_T_INCLUDE:
	case ALIAS_T_FILE:
		if (it->text[0] != '/')
			abort();
		break;
	case ALIAS_T_MAILBOX:
		if (strchr(it->text, '@') != NULL || n > ALIAS_NAME_MAX)
			abort();
		break;
	case ALIAS_T_ADDR:
		at = strrchr(it->text, '@');
		if (at == NULL || at == it->text || at[1] == '\0')
			abort();
		break;
	case ALIAS_T_NAME:
		if (n > ALIAS_NAME_MAX || strchr(it->text, '@') != NULL ||
		    it->text[0] == '|' || it->text[0] == '/' ||
		    it->text[0] == '\\')
			abort();
		break;
	default:
		abort();
	}
}

/* Each target in double quotes, its marker inside, '"' and '\' escaped. */
static void
serialize(const struct alias_list *l, struct buf *b)
{
	const struct alias_item *it;
	size_t i, k;

	for (i = 0; i < l->n; i++) {
		it = &l->v[i];
		add(b, "\"", 1);
		if (it->type == ALIAS_T_COMMAND)
			add(b, "|", 1);
		else if (it->type == ALIAS_T_INCLUDE)
			add(b, ":include:", 9);
		else if (it->type == ALIAS_T_MAILBOX)
			add(b, "\\\\", 2);
		for (k = 0; it->text[k] != '\0'; k++) {
			if (it->text[k] == '"' || it->text[k] == '\\')
				add(b, "\\", 1);
			add(b, &it->text[k], 1);
		}
		add(b, "\",", 2);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alias_list a, b;
	char err[ALIAS_ERR_MAX];
	struct buf out;
	unsigned flags;
	size_t i;

	if (size == 0)
		return 0;
	flags = (data[0] & 1) ? ALIAS_P_FILE : 0;
	alias_list_init(&a);
	alias_list_init(&b);
	err[0] = '\0';
	if (alias_parse(&a, (const char *)data + 1, size - 1, flags,
	    err) == -1) {
		if (err[0] == '\0')
			abort();
		alias_list_clear(&a);
		return 0;
	}
	for (i = 0; i < a.n; i++)
		check_item(&a.v[i]);
	buf_init(&out, FUZZ_OUT_MAX);
	serialize(&a, &out);
	if (alias_parse(&b, (const char *)out.data, out.len, flags,
	    err) == -1 || b.n != a.n)
		abort();
	for (i = 0; i < a.n; i++)
		if (a.v[i].type != b.v[i].type ||
		    strcmp(a.v[i].text, b.v[i].text) != 0)
			abort();
	buf_clear(&out);
	alias_list_clear(&a);
	alias_list_clear(&b);
	return 0;
}
