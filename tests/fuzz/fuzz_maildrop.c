/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_maildrop.c -- libFuzzer harness for lib/maildrop: the maildrop
 * file parser (what pickup and terndrop read from any local user) and
 * the "sendmail -t" header parser with its address lists.
 *
 * Input:    one mode byte, then data.  Mode even: a maildrop file for
 *           maildrop_parse() with a content limit from the mode byte.
 *           Mode odd: a message for maildrop_extract() with a header
 *           limit from the mode byte; the same bytes also go through
 *           maildrop_parse_alist() as one field value.
 * Checks:   no crash, no read past the input; a parsed file keeps its
 *           limits (addresses valid, at most MAILDROP_RCPT_MAX, content
 *           inside the input and within the limit), and writing it back
 *           gives a file that parses to the same envelope and content;
 *           extraction only ever drops bytes (the output is never longer
 *           than the input), every address it yields is valid, and the
 *           output holds no Bcc: field in its header section.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "maildrop.h"

static void
check_list(const struct maildrop_list *l)
{
	size_t i;

	if (l->n > MAILDROP_RCPT_MAX)
		abort();
	for (i = 0; i < l->n; i++)
		if (!maildrop_addr_ok(l->v[i], strlen(l->v[i]), false))
			abort();
}

static void
file(const uint8_t *data, size_t size, uint64_t limit)
{
	struct maildrop md, md2;
	struct buf out;
	const char *err;
	size_t i;

	if (maildrop_parse(data, size, limit, &md, &err) == -1)
		return;
	check_list(&md.rcpts);
	if (md.rcpts.n == 0 || md.content < data ||
	    md.content + md.content_len != data + size ||
	    (limit != 0 && md.content_len > limit) ||
	    !maildrop_addr_ok(md.sender, strlen(md.sender), true))
		abort();
	buf_init(&out, size + 64);
	if (maildrop_write(&out, md.sender, md.fullname, &md.rcpts,
	    md.content, md.content_len, &err) == -1 ||
	    maildrop_parse(out.data, out.len, limit, &md2, &err) == -1)
		abort();
	if (strcmp(md.sender, md2.sender) != 0 ||
	    strcmp(md.fullname, md2.fullname) != 0 ||
	    md.rcpts.n != md2.rcpts.n || md.content_len != md2.content_len ||
	    memcmp(md.content, md2.content, md.content_len) != 0)
		abort();
	for (i = 0; i < md.rcpts.n; i++)
		if (strcmp(md.rcpts.v[i], md2.rcpts.v[i]) != 0)
			abort();
	maildrop_clear(&md2);
	maildrop_clear(&md);
	buf_clear(&out);
}

/* Whether the header section of p[0..n) still has a Bcc: field. */
static bool
has_bcc(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n &&
		    p[i + 1] == '\n'))
			return false;
		if (n - i >= 4 && strncasecmp((const char *)p + i, "bcc:", 4) == 0)
			return true;
		while (i < n && p[i] != '\n')
			i++;
		i++;
	}
	return false;
}

static void
message(const uint8_t *data, size_t size, size_t hdr_max)
{
	struct maildrop_list l;
	struct buf out;
	const char *err;
	int rc;

	maildrop_list_init(&l);
	buf_init(&out, size);
	rc = maildrop_extract(data, size, hdr_max, &l, &out, &err);
	check_list(&l);
	if (out.len > size)
		abort();
	if (rc == 0 && has_bcc(out.data, out.len)) {
		/* Only a line that is not a field can look like one. */
		struct maildrop_list l2;
		struct buf out2;

		maildrop_list_init(&l2);
		buf_init(&out2, out.len);
		if (maildrop_extract(out.data, out.len, hdr_max, &l2, &out2,
		    &err) == 0 && out2.len != out.len)
			abort();
		buf_clear(&out2);
		maildrop_list_clear(&l2);
	}
	buf_clear(&out);
	maildrop_list_clear(&l);
	(void)maildrop_parse_alist((const char *)data, size, &l, &err);
	check_list(&l);
	maildrop_list_clear(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0)
		file(data + 1, size - 1, (uint64_t)(data[0] >> 1) * 64);
	else
		message(data + 1, size - 1, 16 + (size_t)(data[0] >> 1) * 64);
	return 0;
}
