/*
 * SPDX-License-Identifier: ISC
 *
 * map_source.c -- the text formats of lookup tables: postmap(1)-style
 * tables, aliases(5)-style aliases, and inline:{...} map names.
 *
 * Process:  ternctl (map build); any process that opens an inline: map.
 * Input:    an administrator's file or tern.conf value: semi-trusted,
 *           parsed as if hostile (pure, bounded) so that a stray byte
 *           gets one clear message with its line.
 * Failure:  every problem goes to the caller's diag function.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "buf.h"
#include "log.h"
#include "map.h"
#include "xmem.h"

#define MSG_MAX		1024	/* one diagnostic */
#define QUOTE_MAX	100	/* source text quoted in a diagnostic */
#define STR(x)		STR2(x)
#define STR2(x)		#x
#define KEY_TOO_LONG	"key too long (more than " STR(MAP_KEY_MAX) " bytes)"

/* State of one map_parse or map_parse_inline. */
struct parse {
	struct map_source *src;
	enum map_format	 fmt;
	const char	*file;
	map_diag_fn	 diag;
	void		*arg;
	int		 errors;
	bool		 stop;		/* too many errors or entries */
	bool		 open;		/* an entry is being collected */
	bool		 bad;		/* ... and already had an error */
	unsigned	 first;		/* its first line */
};

static void	report(struct parse *, unsigned, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static bool
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_control(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static void
report(struct parse *ps, unsigned line, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	if (ps->stop)
		return;
	if (++ps->errors > MAP_DIAG_MAX) {
		strlcpy(msg, "too many errors, giving up", sizeof(msg));
		ps->stop = true;
	} else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (ps->diag != NULL)
		ps->diag(ps->arg, ps->file, line, msg);
}

void
map_fold(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = (char)ascii_tolower((unsigned char)s[i]);
}

void
map_source_init(struct map_source *src)
{
	memset(src, 0, sizeof(*src));
}

void
map_source_clear(struct map_source *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		free(src->ents[i].key);
		free(src->ents[i].value);
	}
	free(src->ents);
	map_source_init(src);
}

static void
add(struct parse *ps, const char *key, size_t klen, const char *value,
    size_t vlen, unsigned line)
{
	struct map_source *src = ps->src;
	struct map_entry *e;

	if (src->n == MAP_ENTRIES_MAX) {
		report(ps, line, "more than %d entries", MAP_ENTRIES_MAX);
		ps->stop = true;
		return;
	}
	if (src->n == src->cap) {
		src->cap = src->cap == 0 ? 64 : src->cap * 2;
		src->ents = xreallocarray(src->ents, src->cap,
		    sizeof(*src->ents));
	}
	e = &src->ents[src->n++];
	e->key = xstrndup(key, klen);
	map_fold(e->key, klen);
	e->klen = klen;
	e->value = xstrndup(value, vlen);
	e->vlen = vlen;
	e->line = line;
}

static int
by_key(const void *a, const void *b)
{
	const struct map_entry *x = a, *y = b;
	int c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sort, then report each key given again; strcmp order is LMDB's. */
static void
sort_check(struct parse *ps, bool inline_map)
{
	struct map_source *src = ps->src;
	char q[QUOTE_MAX];
	size_t i;

	if (src->n > 1)
		qsort(src->ents, src->n, sizeof(*src->ents), by_key);
	for (i = 1; i < src->n; i++) {
		if (strcmp(src->ents[i].key, src->ents[i - 1].key) != 0)
			continue;
		log_safe(q, sizeof(q), src->ents[i].key, src->ents[i].klen);
		if (inline_map)
			report(ps, 0, "duplicate key \"%s\"", q);
		else
			report(ps, src->ents[i].line, "duplicate key \"%s\" "
			    "(first at line %u)", q, src->ents[i - 1].line);
	}
}

/*
 * A key at p (before end), quoted or not, into key (MAP_KEY_MAX + 1
 * bytes), not folded yet.  An unquoted key ends at white space or a byte
 * in stops.  Returns the byte after it, or NULL with *err_r set.
 */
static const char *
parse_key(const char *p, const char *end, const char *stops, char *key,
    size_t *klen_r, const char **err_r)
{
	size_t n = 0;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && ++p == end)
				break;
			if (n == MAP_KEY_MAX) {
				*err_r = KEY_TOO_LONG;
				return NULL;
			}
			key[n++] = *p;
		}
		if (p == end) {
			*err_r = "missing closing quote";
			return NULL;
		}
		p++;
		if (p < end && !is_blank((unsigned char)*p) &&
		    strchr(stops, *p) == NULL) {
			*err_r = "text right after a closing quote";
			return NULL;
		}
	} else {
		for (; p < end && !is_blank((unsigned char)*p) &&
		    strchr(stops, *p) == NULL; p++) {
			if (*p == '"') {
				*err_r = "quote inside a key (quote all of it)";
				return NULL;
			}
			if (n == MAP_KEY_MAX) {
				*err_r = KEY_TOO_LONG;
				return NULL;
			}
			key[n++] = *p;
		}
	}
	if (n == 0) {
		*err_r = "empty key";
		return NULL;
	}
	key[n] = '\0';
	*klen_r = n;
	return p;
}

static const char *
skip_blank(const char *p, const char *end)
{
	while (p < end && is_blank((unsigned char)*p))
		p++;
	return p;
}

/* The value from p to end (already trimmed there): checked and added. */
static void
add_value(struct parse *ps, const char *key, size_t klen, const char *p,
    const char *end)
{
	char q[QUOTE_MAX];

	log_safe(q, sizeof(q), key, klen);
	if (p == end)
		report(ps, ps->first, "no value for key \"%s\"", q);
	else if ((size_t)(end - p) > MAP_VALUE_MAX)
		report(ps, ps->first, "value of \"%s\" too long (more than %d "
		    "bytes)", q, MAP_VALUE_MAX);
	else
		add(ps, key, klen, p, (size_t)(end - p), ps->first);
}

/* One entry of s (len bytes), trimmed at both ends. */
static void
entry(struct parse *ps, const char *s, size_t len)
{
	char key[MAP_KEY_MAX + 1], q[QUOTE_MAX];
	const char *p, *end = s + len, *err = "bad key";
	size_t klen;
	bool aliases = ps->fmt == MAP_ALIASES;

	if ((p = parse_key(s, end, aliases ? ":" : "", key, &klen,
	    &err)) == NULL) {
		report(ps, ps->first, "%s", err);
		return;
	}
	log_safe(q, sizeof(q), key, klen);
	if (aliases) {
		if (*s != '"' && memchr(key, '@', klen) != NULL) {
			report(ps, ps->first, "alias name \"%s\" has a domain "
			    "(names are local; quote a name that holds "
			    "\"@\")", q);
			return;
		}
		p = skip_blank(p, end);
		if (p == end || *p != ':') {
			report(ps, ps->first, "missing \":\" after alias name "
			    "\"%s\"", q);
			return;
		}
		p++;
	} else if (p == end) {
		report(ps, ps->first, "no value for key \"%s\"", q);
		return;
	}
	add_value(ps, key, klen, skip_blank(p, end), end);
}

static void
flush(struct parse *ps, struct buf *lb)
{
	if (ps->open && !ps->bad)
		entry(ps, buf_cstr(lb), lb->len);
	ps->open = false;
	ps->bad = false;
	buf_reset(lb);
}

/* A problem with line lineno: drop the entry it belongs to. */
static void
bad_line(struct parse *ps, struct buf *lb, bool continued, unsigned lineno)
{
	if (!continued || !ps->open) {
		flush(ps, lb);
		ps->open = true;
		ps->first = lineno;
	}
	ps->bad = true;
}

/* One line of n bytes (no newline). */
static void
line(struct parse *ps, struct buf *lb, const char *p, size_t n,
    unsigned lineno)
{
	bool continued = n > 0 && is_blank((unsigned char)p[0]);
	size_t i, j;

	for (i = 0; i < n && is_blank((unsigned char)p[i]); i++)
		;
	for (j = n; j > i && is_blank((unsigned char)p[j - 1]); j--)
		;
	if (i == j || p[i] == '#')
		return;
	for (n = i; n < j && !is_control((unsigned char)p[n]); n++)
		;
	if (n < j) {
		report(ps, lineno, "control character 0x%02x in line",
		    (unsigned char)p[n]);
		bad_line(ps, lb, continued, lineno);
		return;
	}
	if (!continued) {
		flush(ps, lb);
		ps->open = true;
		ps->first = lineno;
	} else if (!ps->open) {
		report(ps, lineno, "continuation line without an entry to "
		    "continue");
		bad_line(ps, lb, continued, lineno);
		return;
	}
	if (ps->bad)
		return;
	if ((continued && buf_add(lb, " ", 1) == -1) ||
	    buf_add(lb, p + i, j - i) == -1) {
		report(ps, ps->first, "entry too long (more than %d bytes)",
		    MAP_LINE_MAX);
		ps->bad = true;
	}
}

int
map_parse(struct map_source *src, enum map_format fmt, const char *fname,
    const char *text, size_t len, map_diag_fn diag, void *arg)
{
	struct parse ps;
	struct buf lb;
	const char *cur, *end, *nl;
	unsigned lineno;
	size_t n;

	memset(&ps, 0, sizeof(ps));
	ps.src = src;
	ps.fmt = fmt;
	ps.file = fname;
	ps.diag = diag;
	ps.arg = arg;
	if (len > MAP_FILE_MAX) {
		report(&ps, 0, "file too large (%zu bytes, at most %d)", len,
		    MAP_FILE_MAX);
		return ps.errors;
	}
	buf_init(&lb, MAP_LINE_MAX);
	for (cur = text, end = text + len, lineno = 1; cur < end && !ps.stop;
	    lineno++) {
		nl = memchr(cur, '\n', (size_t)(end - cur));
		n = nl != NULL ? (size_t)(nl - cur) : (size_t)(end - cur);
		line(&ps, &lb, cur, n, lineno);
		cur += n + (nl != NULL);
	}
	if (!ps.stop)
		flush(&ps, &lb);
	buf_clear(&lb);
	if (!ps.stop)
		sort_check(&ps, false);
	return ps.errors;
}

/*
 * inline:{ ... }
 */

/* Keep the first problem only: map_open has room for one. */
static void
first_error(void *arg, const char *file, unsigned line, const char *msg)
{
	struct buf *err = arg;

	(void)file;
	(void)line;
	if (err->len == 0)
		buf_addstr(err, msg);
}

/* One element "key=value" from s to end; braced: blanks around both. */
static void
element(struct parse *ps, const char *s, const char *end, bool braced)
{
	char q[QUOTE_MAX];
	const char *eq, *k, *v;

	if ((eq = memchr(s, '=', (size_t)(end - s))) == NULL) {
		report(ps, 0, "missing \"=\" in \"%s\"",
		    log_safe(q, sizeof(q), s, (size_t)(end - s)));
		return;
	}
	k = eq;
	v = eq + 1;
	if (braced) {
		s = skip_blank(s, eq);
		while (k > s && is_blank((unsigned char)k[-1]))
			k--;
		v = skip_blank(v, end);
		while (end > v && is_blank((unsigned char)end[-1]))
			end--;
	}
	if (k == s)
		report(ps, 0, "empty key in \"%s\"",
		    log_safe(q, sizeof(q), s, (size_t)(end - s)));
	else if ((size_t)(k - s) > MAP_KEY_MAX)
		report(ps, 0, KEY_TOO_LONG);
	else
		add_value(ps, s, (size_t)(k - s), v, end);
}

static bool
is_inline_sep(int c)
{
	return c == ',' || is_blank(c);
}

/* The elements between the outer braces, from p to end. */
static void
elements(struct parse *ps, const char *p, const char *end)
{
	const char *s, *close;

	while (!ps->stop) {
		while (p < end && is_inline_sep((unsigned char)*p))
			p++;
		if (p == end)
			return;
		if (*p == '{') {
			if ((close = memchr(p, '}', (size_t)(end - p))) == NULL) {
				report(ps, 0, "missing \"}\" after \"{\"");
				return;
			}
			element(ps, p + 1, close, true);
			p = close + 1;
			continue;
		}
		for (s = p; p < end && !is_inline_sep((unsigned char)*p) &&
		    *p != '{' && *p != '}'; p++)
			;
		if (p < end && (*p == '{' || *p == '}')) {
			report(ps, 0, "unexpected \"%c\"", *p);
			return;
		}
		element(ps, s, p, false);
	}
}

int
map_parse_inline(struct map_source *src, const char *text, char *err,
    size_t errsz)
{
	struct parse ps;
	struct buf eb;
	const char *p = text, *end = text + strlen(text), *c;

	memset(&ps, 0, sizeof(ps));
	ps.src = src;
	ps.diag = first_error;
	ps.arg = &eb;
	buf_init(&eb, MSG_MAX);
	p = skip_blank(p, end);
	while (end > p && is_blank((unsigned char)end[-1]))
		end--;
	if ((size_t)(end - p) > MAP_NAME_MAX)
		report(&ps, 0, "inline map too long (more than %d bytes)",
		    MAP_NAME_MAX);
	else if (p == end || *p != '{' || end[-1] != '}' || end - p < 2)
		report(&ps, 0, "inline map not in braces: inline:{ key=value, "
		    "... }");
	else {
		for (c = p; c < end && !is_control((unsigned char)*c); c++)
			;
		if (c < end)
			report(&ps, 0, "control character 0x%02x in inline map",
			    (unsigned char)*c);
		else
			elements(&ps, p + 1, end - 1);
	}
	if (!ps.stop)
		sort_check(&ps, true);
	strlcpy(err, buf_cstr(&eb), errsz);
	buf_clear(&eb);
	return ps.errors == 0 ? 0 : -1;
}
