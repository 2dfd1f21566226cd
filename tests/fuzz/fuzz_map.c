/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_map.c -- libFuzzer harness for the lookup table sources:
 * map_parse (table and aliases formats) and map_parse_inline.
 *
 * Process:  fuzzer or replay test only.
 * Input:    the first byte picks the format (table, aliases, inline); the
 *           rest is the source text.
 * Failure:  a crash, a sanitizer report, or abort() when the error count
 *           and the reports disagree, when an entry breaks the limits, or
 *           when a good parse, written out again and parsed again, does
 *           not give the same entries.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "map.h"

#define FUZZ_OUT_MAX	(4 * 1024 * 1024)

static void
count(void *arg, const char *file, unsigned line, const char *msg)
{
	int *n = arg;

	(void)file;
	(void)line;
	if (msg == NULL || msg[0] == '\0')
		abort();
	(*n)++;
}

static void
add(struct buf *b, const void *p, size_t n)
{
	if (buf_add(b, p, n) == -1)
		abort();
}

/* A key in double quotes, with '"' and '\' escaped. */
static void
add_quoted(struct buf *b, const struct map_entry *e)
{
	size_t i;

	add(b, "\"", 1);
	for (i = 0; i < e->klen; i++) {
		if (e->key[i] == '"' || e->key[i] == '\\')
			add(b, "\\", 1);
		add(b, &e->key[i], 1);
	}
	add(b, "\"", 1);
}

/* The entries written out again in format fmt (2: inline). */
static void
serialize(const struct map_source *src, int fmt, struct buf *b)
{
	const struct map_entry *e;
	size_t i;

	if (fmt == 2)
		add(b, "{", 1);
	for (i = 0; i < src->n; i++) {
		e = &src->ents[i];
		if (fmt == 2) {
			add(b, " { ", 3);
			add(b, e->key, e->klen);
			add(b, " = ", 3);
			add(b, e->value, e->vlen);
			add(b, " },", 3);
			continue;
		}
		add_quoted(b, e);
		add(b, fmt == MAP_ALIASES ? ": " : " ", fmt == MAP_ALIASES ?
		    2 : 1);
		add(b, e->value, e->vlen);
		add(b, "\n", 1);
	}
	if (fmt == 2)
		add(b, " }", 2);
}

static void
check_entries(const struct map_source *src)
{
	const struct map_entry *e;
	size_t i;

	for (i = 0; i < src->n; i++) {
		e = &src->ents[i];
		if (e->klen == 0 || e->klen > MAP_KEY_MAX ||
		    e->vlen == 0 || e->vlen > MAP_VALUE_MAX ||
		    strlen(e->key) != e->klen || strlen(e->value) != e->vlen)
			abort();
		if (i > 0 && strcmp(src->ents[i - 1].key, e->key) >= 0)
			abort();
	}
}

static int
parse(struct map_source *src, int fmt, const char *text, size_t len,
    int *reported)
{
	char err[MAP_ERR_MAX];
	int r;

	if (fmt != 2)
		return map_parse(src, (enum map_format)fmt, "fuzz", text, len,
		    count, reported);
	/* inline: takes a C string. */
	if (memchr(text, '\0', len) != NULL)
		return 0;
	r = map_parse_inline(src, text, err, sizeof(err));
	if (r == -1 && err[0] == '\0')
		abort();
	*reported = -r;
	return -r;
}

/* out, parsed into b, gives the entries of a. */
static void
same(const struct map_source *a, struct map_source *b, int fmt,
    struct buf *out)
{
	int reported = 0;
	size_t i;

	if (parse(b, fmt, buf_cstr(out), out->len, &reported) != 0 ||
	    a->n != b->n)
		abort();
	for (i = 0; i < a->n; i++)
		if (strcmp(a->ents[i].key, b->ents[i].key) != 0 ||
		    strcmp(a->ents[i].value, b->ents[i].value) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct map_source a, b;
	struct buf text, out;
	int fmt, errors, reported = 0;

	if (size == 0)
		return 0;
	fmt = data[0] % 3;
	buf_init(&text, MAP_FILE_MAX);
	add(&text, data + 1, size - 1);
	map_source_init(&a);
	map_source_init(&b);
	errors = parse(&a, fmt, buf_cstr(&text), text.len, &reported);
	if (errors != reported)
		abort();
	if (errors == 0) {
		check_entries(&a);
		buf_init(&out, FUZZ_OUT_MAX);
		serialize(&a, fmt, &out);
		/* Braces and blanks may take an inline map past its limit. */
		if (fmt != 2 || out.len <= MAP_NAME_MAX)
			same(&a, &b, fmt, &out);
		buf_clear(&out);
	}
	map_source_clear(&a);
	map_source_clear(&b);
	buf_clear(&text);
	return 0;
}
