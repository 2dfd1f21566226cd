/*
 * SPDX-License-Identifier: ISC
 *
 * maildrop.c -- maildrop files (parse and write) and the recipients of
 * "sendmail -t" from a header section.
 *
 * Process:  sendmail (the user), terndrop (the user, setgid_group),
 *           pickup (mail_owner).
 * Input:    maildrop files written by any local user: untrusted; message
 *           headers from the user's own program.
 * Failure:  -1 and a static reason; never logs or exits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "maildrop.h"
#include "xmem.h"

#define COMMENT_DEPTH_MAX	16

/* ---- address lists ------------------------------------------------------ */

void
maildrop_list_init(struct maildrop_list *l)
{
	memset(l, 0, sizeof(*l));
}

void
maildrop_list_clear(struct maildrop_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int
maildrop_list_add(struct maildrop_list *l, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && memcmp(l->v[i], s, len) == 0)
			return 0;
	if (l->n >= MAILDROP_RCPT_MAX)
		return -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, len);
	return 0;
}

/* ---- values ------------------------------------------------------------- */

static bool
no_controls(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool
maildrop_addr_ok(const char *s, size_t len, bool sender)
{
	char tmp[MAILDROP_ADDR_MAX + 16];
	struct addr a;
	enum addr_err err;
	size_t used;

	if (len == 0)
		return sender;
	if (len > MAILDROP_ADDR_MAX || !no_controls(s, len))
		return false;
	if (memchr(s, '@', len) != NULL) {
		if (addr_parse_path(s, len, ADDR_F_NOBRACKETS_OK |
		    ADDR_F_SMTPUTF8, &a, &used, &err) == -1)
			return false;
		return used == len;
	}
	/* A local part alone: checked as the mailbox it becomes here. */
	memcpy(tmp, s, len);
	memcpy(tmp + len, "@localhost", 10);
	if (addr_parse_path(tmp, len + 10, ADDR_F_NOBRACKETS_OK |
	    ADDR_F_SMTPUTF8, &a, &used, &err) == -1)
		return false;
	return used == len + 10;
}

uint64_t
maildrop_size_max(uint64_t content_limit)
{
	if (content_limit == 0 || content_limit > MAILDROP_CONTENT_HARD_MAX)
		content_limit = MAILDROP_CONTENT_HARD_MAX;
	return content_limit + MAILDROP_ENVELOPE_MAX;
}

/* ---- parsing ------------------------------------------------------------ */

struct cursor {
	const uint8_t	*p, *end;
};

/*
 * The next envelope line: its letter in *type, its value (after the one
 * space) in *v, *vlen.  -1 when there is no complete line.
 */
static int
next_line(struct cursor *c, char *type, const char **v, size_t *vlen)
{
	const uint8_t *nl;
	size_t n = (size_t)(c->end - c->p);

	if (n > MAILDROP_ADDR_MAX + 3)
		n = MAILDROP_ADDR_MAX + 3;	/* the longest line */
	if ((nl = memchr(c->p, '\n', n)) == NULL || nl - c->p < 2 ||
	    c->p[1] != ' ')
		return -1;
	*type = (char)c->p[0];
	*v = (const char *)c->p + 2;
	*vlen = (size_t)(nl - c->p) - 2;
	c->p = nl + 1;
	return 0;
}

/* "L" value: decimal, 1..20 digits, no leading zero, at most limit. */
static int
parse_len(const char *v, size_t len, uint64_t limit, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0 || len > 20 || (len > 1 && v[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > limit)
		return -1;
	*out = n;
	return 0;
}

static int
parse_fail(struct maildrop *md, const char **err_r, const char *why)
{
	maildrop_clear(md);
	*err_r = why;
	return -1;
}

int
maildrop_parse(const uint8_t *p, size_t len, uint64_t content_limit,
    struct maildrop *md, const char **err_r)
{
	struct cursor c = { p, p + len };
	const size_t mlen = sizeof(MAILDROP_MAGIC) - 1;
	const char *v;
	uint64_t clen;
	size_t vlen;
	char type;

	memset(md, 0, sizeof(*md));
	if (content_limit == 0 || content_limit > MAILDROP_CONTENT_HARD_MAX)
		content_limit = MAILDROP_CONTENT_HARD_MAX;
	if (len < mlen + 1 || memcmp(p, MAILDROP_MAGIC, mlen) != 0 ||
	    p[mlen] != '\n')
		return parse_fail(md, err_r, "bad magic");
	c.p += mlen + 1;
	if (next_line(&c, &type, &v, &vlen) == -1 || type != 'S')
		return parse_fail(md, err_r, "missing sender line");
	if (!maildrop_addr_ok(v, vlen, true))
		return parse_fail(md, err_r, "sender: bad address");
	memcpy(md->sender, v, vlen);
	md->sender[vlen] = '\0';
	if (next_line(&c, &type, &v, &vlen) == -1)
		return parse_fail(md, err_r, "truncated envelope");
	if (type == 'N') {
		if (vlen > MAILDROP_NAME_MAX || !no_controls(v, vlen))
			return parse_fail(md, err_r, "bad full name");
		memcpy(md->fullname, v, vlen);
		md->fullname[vlen] = '\0';
		if (next_line(&c, &type, &v, &vlen) == -1)
			return parse_fail(md, err_r, "truncated envelope");
	}
	while (type == 'R') {
		if (!maildrop_addr_ok(v, vlen, false))
			return parse_fail(md, err_r, "recipient: bad address");
		if (maildrop_list_add(&md->rcpts, v, vlen) == -1)
			return parse_fail(md, err_r, "too many recipients");
		if (next_line(&c, &type, &v, &vlen) == -1)
			return parse_fail(md, err_r, "truncated envelope");
	}
	if (md->rcpts.n == 0)
		return parse_fail(md, err_r, "no recipients");
	if (type != 'L')
		return parse_fail(md, err_r, "unexpected envelope line");
	if (parse_len(v, vlen, content_limit, &clen) == -1)
		return parse_fail(md, err_r, "bad content length");
	if ((uint64_t)(c.end - c.p) != clen)
		return parse_fail(md, err_r, clen > (uint64_t)(c.end - c.p) ?
		    "truncated content" : "data after the content");
	md->content = c.p;
	md->content_len = (size_t)clen;
	return 0;
}

void
maildrop_clear(struct maildrop *md)
{
	maildrop_list_clear(&md->rcpts);
	memset(md, 0, sizeof(*md));
}

/* ---- writing ------------------------------------------------------------ */

int
maildrop_write(struct buf *out, const char *sender, const char *fullname,
    const struct maildrop_list *rcpts, const void *content,
    size_t content_len, const char **err_r)
{
	size_t i, start = out->len;

	if (!maildrop_addr_ok(sender, strlen(sender), true)) {
		*err_r = "bad sender address";
		return -1;
	}
	if (fullname != NULL && (strlen(fullname) > MAILDROP_NAME_MAX ||
	    !no_controls(fullname, strlen(fullname)))) {
		*err_r = "bad full name";
		return -1;
	}
	if (rcpts->n == 0 || rcpts->n > MAILDROP_RCPT_MAX) {
		*err_r = rcpts->n ? "too many recipients" : "no recipients";
		return -1;
	}
	for (i = 0; i < rcpts->n; i++)
		if (!maildrop_addr_ok(rcpts->v[i], strlen(rcpts->v[i]), false)) {
			*err_r = "bad recipient address";
			return -1;
		}
	if (buf_addf(out, "%s\nS %s\n", MAILDROP_MAGIC, sender) == -1 ||
	    (fullname != NULL && fullname[0] != '\0' &&
	    buf_addf(out, "N %s\n", fullname) == -1))
		goto full;
	for (i = 0; i < rcpts->n; i++)
		if (buf_addf(out, "R %s\n", rcpts->v[i]) == -1)
			goto full;
	if (buf_addf(out, "L %zu\n", content_len) == -1 ||
	    buf_add(out, content, content_len) == -1)
		goto full;
	return 0;
full:
	buf_truncate(out, start);
	*err_r = "message too long";
	return -1;
}

/* ---- sendmail -t -------------------------------------------------------- */

/* An address list being taken apart (RFC 5322 3.4). */
struct alist {
	char	 addr[MAILDROP_ADDR_MAX + 1];	/* the current element */
	size_t	 len;
	bool	 angle_seen;	/* <...> seen: it is the address */
	bool	 too_long;
};

static int
alist_put(struct alist *a, char ch)
{
	if (a->len >= MAILDROP_ADDR_MAX) {
		a->too_long = true;
		return -1;
	}
	a->addr[a->len++] = ch;
	return 0;
}

/* The element ends: keep its address, if it has one. */
static int
alist_end(struct alist *a, struct maildrop_list *rcpts, const char **err_r)
{
	int rc = 0;

	if (a->too_long) {
		*err_r = "address too long in a To:, Cc: or Bcc: field";
		rc = -1;
	} else if (a->len > 0 && !maildrop_addr_ok(a->addr, a->len, false)) {
		*err_r = "bad address in a To:, Cc: or Bcc: field";
		rc = -1;
	} else if (a->len > 0 && maildrop_list_add(rcpts, a->addr,
	    a->len) == -1) {
		*err_r = "too many recipients";
		rc = -1;
	}
	memset(a, 0, sizeof(*a));
	return rc;
}

/*
 * Outside <...>, the text of an element is kept without its white space
 * and comments (a bare addr-spec); a <...> replaces it.  ':' outside
 * <...> and [...] starts a group (what came before is its name), ';'
 * ends it.
 */
int
maildrop_parse_alist(const char *v, size_t n, struct maildrop_list *rcpts,
    const char **err_r)
{
	struct alist a;
	size_t i;
	int depth = 0;
	bool quoted = false, angle = false, literal = false;
	char ch;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < n; i++) {
		ch = v[i];
		if (ch == '\r' || ch == '\n')
			continue;		/* unfolding */
		if (depth > 0) {		/* a comment */
			if (ch == '\\')
				i++;
			else if (ch == '(' && ++depth > COMMENT_DEPTH_MAX)
				goto bad;
			else if (ch == ')')
				depth--;
			continue;
		}
		if (quoted) {
			if (ch == '\\' && i + 1 < n) {
				if (!a.angle_seen || angle)
					(void)alist_put(&a, ch);
				ch = v[++i];
			} else if (ch == '"')
				quoted = false;
			if (!a.angle_seen || angle)
				(void)alist_put(&a, ch);
			continue;
		}
		switch (ch) {
		case '(':
			depth = 1;
			continue;
		case '"':
			quoted = true;
			break;
		case '<':
			if (angle)
				goto bad;
			angle = true;
			a.angle_seen = true;
			a.len = 0;
			a.too_long = false;
			continue;
		case '>':
			if (!angle)
				goto bad;
			angle = false;
			continue;
		case ' ':
		case '\t':
			continue;
		case ',':
		case ';':
			if (angle)
				goto bad;
			if (alist_end(&a, rcpts, err_r) == -1)
				return -1;
			continue;
		case '[':
			literal = true;
			break;
		case ']':
			literal = false;
			break;
		case ':':
			if (!angle && !literal) {	/* a group's name ends */
				memset(&a, 0, sizeof(a));
				continue;
			}
			break;
		}
		if (!a.angle_seen || angle)
			(void)alist_put(&a, ch);
	}
	if (depth > 0 || quoted || angle)
		goto bad;
	return alist_end(&a, rcpts, err_r);
bad:
	*err_r = "bad address list in a To:, Cc: or Bcc: field";
	return -1;
}

/* A field name of the line at p[0..n), or 0: its length, colon excluded. */
static size_t
field_name(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < 998; i++) {
		if (p[i] == ':')
			return i;
		if (p[i] <= 0x20 || p[i] > 0x7e)
			return 0;
	}
	return 0;
}

static bool
name_is(const uint8_t *p, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp((const char *)p, want, n) == 0;
}

int
maildrop_extract(const uint8_t *msg, size_t len, size_t hdr_max,
    struct maildrop_list *rcpts, struct buf *out, const char **err_r)
{
	const uint8_t *p = msg, *end = msg + len, *eol, *fend;
	size_t nlen, vstart;
	bool bcc;

	while (p < end) {
		if ((size_t)(p - msg) > hdr_max) {
			*err_r = "header section too long";
			return -1;
		}
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			break;			/* the empty line */
		if ((nlen = field_name(p, (size_t)(end - p))) == 0)
			break;			/* not a field: the body */
		/* The field and its continuation lines. */
		fend = p;
		do {
			eol = memchr(fend, '\n', (size_t)(end - fend));
			fend = eol == NULL ? end : eol + 1;
		} while (fend < end && (*fend == ' ' || *fend == '\t'));
		if ((size_t)(fend - msg) > hdr_max) {
			*err_r = "header section too long";
			return -1;
		}
		vstart = nlen + 1;
		bcc = name_is(p, nlen, "Bcc");
		if ((bcc || name_is(p, nlen, "To") || name_is(p, nlen, "Cc")) &&
		    maildrop_parse_alist((const char *)p + vstart,
		    (size_t)(fend - p) - vstart, rcpts, err_r) == -1)
			return -1;
		if (!bcc && buf_add(out, p, (size_t)(fend - p)) == -1)
			goto full;
		p = fend;
	}
	if (buf_add(out, p, (size_t)(end - p)) == -1)
		goto full;
	return 0;
full:
	*err_r = "message too long";
	return -1;
}
