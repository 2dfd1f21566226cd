/*
 * SPDX-License-Identifier: ISC
 *
 * alias.c -- aliases(5) target lists and their expansion (see alias.h).
 *
 * Process:  the local delivery agent, in its root parent: only parsing and
 *           bookkeeping here, no file is opened and nothing is run.
 * Input:    alias values and :include: files: untrusted text, bounded.
 * Failure:  -1 or a status with a one-line reason; never logs, never exits.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alias.h"
#include "map.h"
#include "xmem.h"

#define INCLUDE_MARK	":include:"

const char *
alias_type_name(enum alias_type t)
{
	switch (t) {
	case ALIAS_T_NAME:
		return "name";
	case ALIAS_T_MAILBOX:
		return "mailbox";
	case ALIAS_T_ADDR:
		return "address";
	case ALIAS_T_INCLUDE:
		return "include";
	case ALIAS_T_COMMAND:
		return "command";
	case ALIAS_T_FILE:
		return "file";
	}
	return "unknown";
}

void
alias_list_init(struct alias_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
alias_list_clear(struct alias_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- parsing ------------------------------------------------------------ */

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
fail(char *err, const char *why)
{
	strlcpy(err, why, ALIAS_ERR_MAX);
	return -1;
}

static void
list_add(struct alias_list *l, enum alias_type t, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].type = t;
	l->v[l->n].text = xmalloc(n + 1);
	memcpy(l->v[l->n].text, s, n);
	l->v[l->n].text[n] = '\0';
	l->n++;
}

/*
 * If s[0..n) is one quoted string, write its content (escapes undone) to
 * out and return its length; else copy s as it is.
 */
static size_t
unquote(const char *s, size_t n, char *out)
{
	size_t i, k = 0;

	if (n >= 2 && s[0] == '"') {
		for (i = 1; i < n; i++) {
			if (s[i] == '\\' && i + 1 < n) {
				out[k++] = s[++i];
				continue;
			}
			if (s[i] == '"')
				break;
			out[k++] = s[i];
		}
		if (i == n - 1)
			return k;
	}
	memcpy(out, s, n);
	return n;
}

static size_t
skip_blanks(const char *s, size_t i, size_t n)
{
	while (i < n && blank(s[i]))
		i++;
	return i;
}

/* One target, already trimmed: classify and append it. */
static int
add_target_text(struct alias_list *l, const char *raw, size_t rawlen,
    char *err)
{
	char *t;
	const char *at;
	size_t n, i;
	size_t mark = sizeof(INCLUDE_MARK) - 1;
	int rc = 0;

	if (rawlen == 0)
		return 0;
	if (rawlen > ALIAS_TARGET_MAX + 2)
		return fail(err, "target too long");
	t = xmalloc(rawlen + 1);
	n = unquote(raw, rawlen, t);
	t[n] = '\0';
	if (n > ALIAS_TARGET_MAX)
		rc = fail(err, "target too long");
	else if (n == 0)
		rc = 0;
	else if (t[0] == '|') {
		i = skip_blanks(t, 1, n);
		if (i == n)
			rc = fail(err, "empty command after '|'");
		else
			list_add(l, ALIAS_T_COMMAND, t + i, n - i);
	} else if (n >= mark && strncasecmp(t, INCLUDE_MARK, mark) == 0) {
		i = skip_blanks(t, mark, n);
		if (i == n || t[i] != '/')
			rc = fail(err, "an :include: path must be absolute");
		else
			list_add(l, ALIAS_T_INCLUDE, t + i, n - i);
	} else if (t[0] == '/')
		list_add(l, ALIAS_T_FILE, t, n);
	else if (t[0] == '\\') {
		if (n == 1 || memchr(t, '@', n) != NULL || n - 1 > ALIAS_NAME_MAX)
			rc = fail(err, "'\\' must be followed by a local name");
		else
			list_add(l, ALIAS_T_MAILBOX, t + 1, n - 1);
	} else if ((at = memrchr(t, '@', n)) != NULL) {
		if (at == t || at == t + n - 1)
			rc = fail(err, "address without local part or domain");
		else
			list_add(l, ALIAS_T_ADDR, t, n);
	} else if (n > ALIAS_NAME_MAX)
		rc = fail(err, "name too long");
	else
		list_add(l, ALIAS_T_NAME, t, n);
	free(t);
	return rc;
}

static int
add_trimmed(struct alias_list *l, const char *s, size_t start, size_t end,
    char *err)
{
	while (start < end && blank(s[start]))
		start++;
	while (end > start && blank(s[end - 1]))
		end--;
	return add_target_text(l, s + start, end - start, err);
}

/* A byte no target may hold: NUL, controls other than tab, CR, LF. */
static bool
bad_byte(unsigned char c, char *err)
{
	if (c == '\0') {
		fail(err, "NUL byte");
		return true;
	}
	if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
		fail(err, "control character");
		return true;
	}
	return false;
}

int
alias_parse(struct alias_list *l, const char *s, size_t len, unsigned flags,
    char *err)
{
	size_t i, start = 0;
	bool inq = false, bol = true;
	const char *nl;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (bad_byte(c, err))
			return -1;
		if (inq) {
			if (c == '\n')
				return fail(err, "unterminated quote");
			if (c == '\\' && i + 1 < len && s[i + 1] != '\n') {
				/* The escaped byte is checked too. */
				if (bad_byte((unsigned char)s[++i], err))
					return -1;
			}
			else if (c == '"')
				inq = false;
			continue;
		}
		if (bol && c == '#' && (flags & ALIAS_P_FILE)) {
			/* A comment line: up to, not including, its end. */
			nl = memchr(s + i, '\n', len - i);
			i = nl == NULL ? len : (size_t)(nl - s);
			start = i;
			i--;
			continue;
		}
		if (c == '\n')
			bol = true;
		else if (c != ' ' && c != '\t' && c != '\r')
			bol = false;
		if (c == '"')
			inq = true;
		else if (c == ',' || c == '\n') {
			if (add_trimmed(l, s, start, i, err) == -1)
				return -1;
			start = i + 1;
		}
	}
	if (inq)
		return fail(err, "unterminated quote");
	return add_trimmed(l, s, start, len, err);
}

/* ---- expansion ---------------------------------------------------------- */

void
alias_expansion_init(struct alias_expansion *x)
{
	memset(x, 0, sizeof(*x));
}

void
alias_expansion_clear(struct alias_expansion *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		free(x->v[i].text);
		free(x->v[i].via);
	}
	free(x->v);
	memset(x, 0, sizeof(*x));
}

int
alias_base(const char *name, const char *delim, char *buf, size_t sz,
    size_t *ext_r)
{
	size_t n, cut;

	n = strlen(name);
	if (n >= sz)
		return -1;
	memcpy(buf, name, n + 1);
	map_fold(buf, n);
	cut = delim != NULL && delim[0] != '\0' ? strcspn(name, delim) : n;
	/* "+ext" alone is a name, not an extension of "". */
	if (cut == 0 || cut == n)
		cut = n;
	buf[cut] = '\0';
	if (ext_r != NULL)
		*ext_r = cut < n ? cut + 1 : 0;
	return 0;
}

struct exp {
	const struct alias_ops *ops;
	struct alias_expansion *out;
	char		*stack[ALIAS_DEPTH_MAX];	/* names, files */
	bool		 is_file[ALIAS_DEPTH_MAX];
	size_t		 depth;
};

static enum alias_status xfail(struct exp *, enum alias_status,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static enum alias_status
xfail(struct exp *e, enum alias_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->out->err, sizeof(e->out->err), fmt, ap);
	va_end(ap);
	return st;
}

/* The innermost name being expanded, or NULL. */
static const char *
current_name(const struct exp *e)
{
	size_t i;

	for (i = e->depth; i > 0; i--)
		if (!e->is_file[i - 1])
			return e->stack[i - 1];
	return NULL;
}

static bool
on_stack(const struct exp *e, const char *s, bool file)
{
	size_t i;

	for (i = 0; i < e->depth; i++)
		if (e->is_file[i] == file && strcmp(e->stack[i], s) == 0)
			return true;
	return false;
}

static enum alias_status
add_final(struct exp *e, enum alias_type t, const char *text, int64_t owner,
    bool include)
{
	struct alias_expansion *x = e->out;
	const char *via = current_name(e);
	size_t i;

	for (i = 0; i < x->n; i++)
		if (x->v[i].type == t && strcmp(x->v[i].text, text) == 0)
			return ALIAS_OK;
	if (x->n == ALIAS_TARGETS_MAX)
		return xfail(e, ALIAS_FAIL, "alias %.64s expands to more than %d "
		    "targets", via != NULL ? via : "", ALIAS_TARGETS_MAX);
	if (x->n == x->cap) {
		x->cap = x->cap == 0 ? 4 : x->cap * 2;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	x->v[x->n].type = t;
	x->v[x->n].text = xstrdup(text);
	x->v[x->n].via = xstrdup(via != NULL ? via : "");
	x->v[x->n].owner = owner;
	x->v[x->n].include = include;
	x->n++;
	return ALIAS_OK;
}

static enum alias_status do_items(struct exp *, const struct alias_list *,
    int64_t, bool);

static void
push(struct exp *e, const char *s, bool file)
{
	e->stack[e->depth] = xstrdup(s);
	e->is_file[e->depth] = file;
	e->depth++;
}

static void
pop(struct exp *e)
{
	e->depth--;
	free(e->stack[e->depth]);
	e->stack[e->depth] = NULL;
}

/* Look up name, then its base; key gets the one found. */
static enum alias_lookup
find(struct exp *e, const char *name, char *key, char *value, int64_t *owner)
{
	char full[ALIAS_NAME_MAX + 1];
	enum alias_lookup r;

	strlcpy(full, name, sizeof(full));
	map_fold(full, strlen(full));
	strlcpy(key, full, ALIAS_NAME_MAX + 1);
	*owner = ALIAS_OWNER_DEFAULT;
	r = e->ops->lookup(e->ops->arg, full, value, MAP_VALUE_MAX + 1, owner,
	    e->out->err);
	if (r != ALIAS_L_NOTFOUND)
		return r;
	if (alias_base(name, e->ops->delim, key, ALIAS_NAME_MAX + 1,
	    NULL) == -1 || strcmp(key, full) == 0)
		return r;
	return e->ops->lookup(e->ops->arg, key, value, MAP_VALUE_MAX + 1,
	    owner, e->out->err);
}

static enum alias_status
do_name(struct exp *e, const char *name, bool top)
{
	char key[ALIAS_NAME_MAX + 1], base[ALIAS_NAME_MAX + 1];
	char err[ALIAS_ERR_MAX];
	const char *cur = current_name(e);
	struct alias_list l;
	enum alias_status st;
	int64_t owner;
	char *value;

	if (strlen(name) > ALIAS_NAME_MAX || alias_base(name, e->ops->delim,
	    base, sizeof(base), NULL) == -1)
		return xfail(e, ALIAS_FAIL, "name too long: %.64s", name);
	value = xmalloc(MAP_VALUE_MAX + 1);
	switch (find(e, name, key, value, &owner)) {
	case ALIAS_L_TEMPFAIL:
		free(value);
		return ALIAS_TEMPFAIL;
	case ALIAS_L_NOTFOUND:
		free(value);
		return top ? ALIAS_NOTFOUND :
		    add_final(e, ALIAS_T_MAILBOX, base, ALIAS_OWNER_DEFAULT,
		    false);
	case ALIAS_L_FOUND:
		break;
	}
	/* "user: user, other": the name's own mailbox. */
	if (cur != NULL && strcmp(key, cur) == 0) {
		free(value);
		return add_final(e, ALIAS_T_MAILBOX, base, ALIAS_OWNER_DEFAULT,
		    false);
	}
	if (on_stack(e, key, false)) {
		free(value);
		e->out->loop = true;
		return xfail(e, ALIAS_FAIL, "alias loop: %.64s expands to "
		    "itself through %.64s", key, cur);
	}
	if (e->depth == ALIAS_DEPTH_MAX) {
		free(value);
		e->out->loop = true;
		return xfail(e, ALIAS_FAIL, "alias expansion of %.64s nested "
		    "too deeply", key);
	}
	if (owner == 0)
		owner = ALIAS_OWNER_DEFAULT;
	alias_list_init(&l);
	if (alias_parse(&l, value, strlen(value), 0, err) == -1) {
		free(value);
		alias_list_clear(&l);
		return xfail(e, ALIAS_TEMPFAIL, "alias %.64s: %s", key, err);
	}
	free(value);
	push(e, key, false);
	st = do_items(e, &l, owner, false);
	pop(e);
	alias_list_clear(&l);
	return st;
}

static enum alias_status
do_include(struct exp *e, const char *path, int64_t owner)
{
	char err[ALIAS_ERR_MAX];
	struct alias_list l;
	enum alias_status st;
	int64_t fowner;
	char *text = NULL;
	size_t len = 0;

	if (on_stack(e, path, true)) {
		e->out->loop = true;
		return xfail(e, ALIAS_FAIL, "include loop: %.200s includes "
		    "itself", path);
	}
	if (e->depth == ALIAS_DEPTH_MAX) {
		e->out->loop = true;
		return xfail(e, ALIAS_FAIL, "alias expansion through %.200s "
		    "nested too deeply", path);
	}
	if (e->ops->include == NULL)
		return xfail(e, ALIAS_TEMPFAIL, ":include: %.200s: not "
		    "supported here", path);
	err[0] = '\0';
	if (e->ops->include(e->ops->arg, path, owner, &text, &len, &fowner,
	    err) == -1) {
		free(text);
		return xfail(e, ALIAS_TEMPFAIL, ":include: %.200s: %s", path,
		    err);
	}
	if (len > ALIAS_INCLUDE_MAX) {
		free(text);
		return xfail(e, ALIAS_TEMPFAIL, ":include: %.200s: %s", path,
		    "file too big");
	}
	alias_list_init(&l);
	if (alias_parse(&l, text, len, ALIAS_P_FILE, err) == -1) {
		free(text);
		alias_list_clear(&l);
		return xfail(e, ALIAS_TEMPFAIL, ":include: %.200s: %s", path,
		    err);
	}
	free(text);
	push(e, path, true);
	st = do_items(e, &l, fowner == 0 ? owner : fowner, true);
	pop(e);
	alias_list_clear(&l);
	return st;
}

static enum alias_status
do_addr(struct exp *e, const char *addr, int64_t owner, bool include)
{
	const char *at = strrchr(addr, '@');
	char local[ALIAS_NAME_MAX + 1];
	size_t n = (size_t)(at - addr);

	if (e->ops->local_domain == NULL ||
	    !e->ops->local_domain(e->ops->arg, at + 1))
		return add_final(e, ALIAS_T_ADDR, addr, owner, include);
	if (n > ALIAS_NAME_MAX)
		return xfail(e, ALIAS_FAIL, "local part too long: %.64s",
		    addr);
	n = unquote(addr, n, local);
	local[n] = '\0';
	return do_name(e, local, false);
}

static enum alias_status
do_items(struct exp *e, const struct alias_list *l, int64_t owner,
    bool include)
{
	enum alias_status st = ALIAS_OK;
	const struct alias_item *it;
	size_t i;

	for (i = 0; i < l->n && st == ALIAS_OK; i++) {
		it = &l->v[i];
		if (++e->out->steps > ALIAS_STEPS_MAX)
			return xfail(e, ALIAS_FAIL, "alias expansion takes more "
			    "than %d steps", ALIAS_STEPS_MAX);
		switch (it->type) {
		case ALIAS_T_NAME:
			st = do_name(e, it->text, false);
			break;
		case ALIAS_T_MAILBOX: {
			char base[ALIAS_NAME_MAX + 1];

			if (alias_base(it->text, e->ops->delim, base,
			    sizeof(base), NULL) == -1)
				return xfail(e, ALIAS_FAIL, "name too long");
			st = add_final(e, ALIAS_T_MAILBOX, base,
			    ALIAS_OWNER_DEFAULT, false);
			break;
		}
		case ALIAS_T_ADDR:
			st = do_addr(e, it->text, owner, include);
			break;
		case ALIAS_T_INCLUDE:
			st = do_include(e, it->text, owner);
			break;
		case ALIAS_T_COMMAND:
		case ALIAS_T_FILE:
			st = add_final(e, it->type, it->text, owner, include);
			break;
		}
	}
	return st;
}

enum alias_status
alias_expand(const struct alias_ops *ops, const char *name,
    struct alias_expansion *out)
{
	struct exp e;
	enum alias_status st;

	memset(&e, 0, sizeof(e));
	e.ops = ops;
	e.out = out;
	out->err[0] = '\0';
	st = do_name(&e, name, true);
	while (e.depth > 0)
		pop(&e);
	if (st == ALIAS_OK && out->n == 0)
		return xfail(&e, ALIAS_FAIL, "alias %.64s expands to no "
		    "recipients", name);
	return st;
}
