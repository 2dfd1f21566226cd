/*
 * SPDX-License-Identifier: ISC
 *
 * addr.c -- RFC 5321 paths: "<user@example.org>" and its relatives.
 *
 * Process:  smtpd (user tern, one client, no keys); the fuzzer feeds it
 *           arbitrary bytes.
 * Input:    untrusted bytes from a MAIL or RCPT line, not NUL-terminated.
 * Failure:  -1 and an addr_err code for the caller's SMTP reply; nothing
 *           here logs, allocates or exits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "addr.h"

#define POSTMASTER	"postmaster"
#define IPV6_TAG	"IPv6:"
#define IPV4_OCTETS	4
#define SNUM_DIGITS	3	/* RFC 5321 4.1.3 Snum = 1*3DIGIT */

/*
 * The longest address literal content worth looking at: "IPv6:" and the
 * longest text form of an IPv6 address.  Anything longer is refused.
 */
#define LITERAL_MAX	(sizeof(IPV6_TAG) - 1 + INET6_ADDRSTRLEN - 1)

struct parser {
	const unsigned char *cur, *end;
	unsigned	 flags;
	bool		 bare;		/* no angle brackets */
	bool		 utf8;		/* a non-ASCII character was taken */
	enum addr_err	 err;
};

/* Where a parsed domain goes: out->domain, or scratch for a route. */
struct field {
	char		*buf;
	size_t		 len;
	size_t		 max;
};

static int
fail(struct parser *ps, enum addr_err e)
{
	ps->err = e;
	return -1;
}

/* RFC 5322 3.2.3 atext, ASCII part. */
static bool
is_atext(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 4.1.2 qtextSMTP, ASCII part: %d32-33 / %d35-91 / %d93-126. */
static bool
is_qtext(int c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

static bool
is_tail(unsigned char c)
{
	return c >= 0x80 && c <= 0xbf;
}

/* RFC 3629 section 4, UTF8-2 / UTF8-3 / UTF8-4. */
size_t
addr_utf8_char(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (n == 0 || p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	if (p[0] <= 0xdf)
		need = 2;
	else if (p[0] <= 0xef)
		need = 3;
	else
		need = 4;
	if (n < need)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < need; i++) {
		if (!is_tail(p[i]))
			return 0;
	}
	return need;
}

/*
 * A non-ASCII character at cur: its length, or 0 with the error set.
 * Malformed UTF-8 is reported as such even without SMTPUTF8, so that a
 * Latin-1 client is not told to use an extension it cannot use anyway.
 */
static size_t
eight_bit(struct parser *ps)
{
	size_t n;

	n = addr_utf8_char((const char *)ps->cur, (size_t)(ps->end - ps->cur));
	if (n == 0) {
		ps->err = ADDR_E_BAD_UTF8;
		return 0;
	}
	if ((ps->flags & ADDR_F_SMTPUTF8) == 0) {
		ps->err = ADDR_E_UTF8_NEEDS_SMTPUTF8;
		return 0;
	}
	ps->utf8 = true;
	return n;
}

/* Append n bytes at cur to f and step over them. */
static int
take(struct parser *ps, struct field *f, size_t n, enum addr_err toolong)
{
	if (n > f->max - f->len)
		return fail(ps, toolong);
	memcpy(f->buf + f->len, ps->cur, n);
	f->len += n;
	f->buf[f->len] = '\0';
	ps->cur += n;
	return 0;
}

/* ---- local part ------------------------------------------------------- */

static int
dot_string(struct parser *ps, struct field *f)
{
	size_t atom = 0, n;
	unsigned char c;

	while (ps->cur < ps->end) {
		c = *ps->cur;
		if (c == '.') {
			if (atom == 0)
				return fail(ps, ADDR_E_SYNTAX);	/* "..", ".a" */
			atom = 0;
			n = 1;
		} else if (c >= 0x80) {
			if ((n = eight_bit(ps)) == 0)
				return -1;
			atom += n;
		} else if (is_atext(c)) {
			n = 1;
			atom++;
		} else
			break;
		if (take(ps, f, n, ADDR_E_LOCAL_TOOLONG) == -1)
			return -1;
	}
	if (atom == 0)
		return fail(ps, ADDR_E_SYNTAX);		/* empty, or "a." */
	return 0;
}

static int
quoted_string(struct parser *ps, struct field *f)
{
	unsigned char c;
	size_t n;

	(void)take(ps, f, 1, ADDR_E_LOCAL_TOOLONG);	/* DQUOTE: f is empty */
	while (ps->cur < ps->end) {
		c = *ps->cur;
		if (c == '"')
			return take(ps, f, 1, ADDR_E_LOCAL_TOOLONG);
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126: ASCII only. */
			if (ps->end - ps->cur < 2 || ps->cur[1] < 32 ||
			    ps->cur[1] > 126)
				return fail(ps, ADDR_E_SYNTAX);
			n = 2;
		} else if (c >= 0x80) {
			if ((n = eight_bit(ps)) == 0)
				return -1;
		} else if (is_qtext(c))
			n = 1;
		else
			return fail(ps, ADDR_E_SYNTAX);	/* controls, DEL */
		if (take(ps, f, n, ADDR_E_LOCAL_TOOLONG) == -1)
			return -1;
	}
	return fail(ps, ADDR_E_SYNTAX);			/* unbalanced quote */
}

/* ---- domain ----------------------------------------------------------- */

/*
 * sub-domain *("." sub-domain): stops at the first byte that cannot be in
 * a domain and leaves it to the caller.
 */
static int
domain_name(struct parser *ps, struct field *f)
{
	size_t label = 0, ascii = 0, n;
	unsigned char c, prev = '.';

	while (ps->cur < ps->end) {
		c = *ps->cur;
		if (c == '.') {
			if (label == 0 || prev == '-')
				return fail(ps, ADDR_E_SYNTAX);
			label = ascii = 0;
			n = 1;
		} else if (c >= 0x80) {
			if ((n = eight_bit(ps)) == 0)
				return -1;
			label += n;
		} else if (ascii_isalpha(c) || ascii_isdigit(c) || c == '-') {
			if (c == '-' && label == 0)
				return fail(ps, ADDR_E_SYNTAX);
			if (++ascii > ADDR_LABEL_MAX)
				return fail(ps, ADDR_E_DOMAIN_TOOLONG);
			n = 1;
			label++;
		} else
			break;
		prev = c;
		if (take(ps, f, n, ADDR_E_DOMAIN_TOOLONG) == -1)
			return -1;
	}
	if (label == 0 || prev == '-')
		return fail(ps, ADDR_E_SYNTAX);	/* empty, "a.", "a-" */
	return 0;
}

static bool
ipv4_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, octet, digits;
	unsigned v;

	for (octet = 0; octet < IPV4_OCTETS; octet++) {
		if (octet > 0) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
		v = 0;
		for (digits = 0; i < n && ascii_isdigit(s[i]); digits++, i++) {
			if (digits == SNUM_DIGITS)
				return false;
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (digits == 0 || v > 255)
			return false;
	}
	return i == n;
}

static bool
ipv6_ok(const unsigned char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t tag = sizeof(IPV6_TAG) - 1;

	if (n <= tag || strncasecmp((const char *)s, IPV6_TAG, tag) != 0)
		return false;
	if (n - tag >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(buf, s + tag, n - tag);
	buf[n - tag] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* "[" ( IPv4 / "IPv6:" IPv6 ) "]"; General-address-literal is refused. */
static int
address_literal(struct parser *ps, struct field *f)
{
	const unsigned char *in, *close;
	size_t n;

	in = ps->cur + 1;
	n = (size_t)(ps->end - in);
	if (n > LITERAL_MAX + 1)
		n = LITERAL_MAX + 1;
	if ((close = memchr(in, ']', n)) == NULL)
		return fail(ps, ADDR_E_SYNTAX);
	n = (size_t)(close - in);
	if (!ipv4_ok(in, n) && !ipv6_ok(in, n))
		return fail(ps, ADDR_E_SYNTAX);
	return take(ps, f, n + 2, ADDR_E_DOMAIN_TOOLONG);
}

/* A-d-l ":" -- each domain is checked, then forgotten (RFC 5321 C). */
static int
source_route(struct parser *ps)
{
	char scratch[ADDR_DOMAIN_MAX + 1];
	struct field f;

	for (;;) {
		if (ps->cur >= ps->end || *ps->cur != '@')
			return fail(ps, ADDR_E_SYNTAX);
		ps->cur++;
		f = (struct field){ scratch, 0, ADDR_DOMAIN_MAX };
		if (domain_name(ps, &f) == -1)
			return -1;
		if (ps->cur >= ps->end)
			return fail(ps, ADDR_E_SYNTAX);
		if (*ps->cur == ':') {
			ps->cur++;
			return 0;
		}
		if (*ps->cur != ',')
			return fail(ps, ADDR_E_SYNTAX);
		ps->cur++;
	}
}

/* ---- path ------------------------------------------------------------- */

/* What may follow a path: ">" normally, a space or the end when bare. */
static bool
at_path_end(const struct parser *ps)
{
	if (ps->bare)
		return ps->cur == ps->end || *ps->cur == ' ';
	return ps->cur < ps->end && *ps->cur == '>';
}

/* "<postmaster>": RCPT only, no route, no quotes, any case. */
static int
postmaster(struct parser *ps, struct addr *out, bool route)
{
	if ((ps->flags & ADDR_F_RCPT) == 0 || route)
		return fail(ps, ADDR_E_SYNTAX);
	if (strcasecmp(out->local, POSTMASTER) != 0)
		return fail(ps, ADDR_E_SYNTAX);
	(void)strlcpy(out->local, POSTMASTER, sizeof(out->local));
	return 0;
}

static int
mailbox(struct parser *ps, struct addr *out, bool route)
{
	struct field local = { out->local, 0, ADDR_LOCAL_MAX };
	struct field dom = { out->domain, 0, ADDR_DOMAIN_MAX };
	int rc;

	if (ps->cur < ps->end && *ps->cur == '"')
		rc = quoted_string(ps, &local);
	else
		rc = dot_string(ps, &local);
	if (rc == -1)
		return -1;
	if (at_path_end(ps) && out->local[0] != '"')
		return postmaster(ps, out, route);
	if (ps->cur >= ps->end || *ps->cur != '@')
		return fail(ps, ADDR_E_SYNTAX);
	ps->cur++;
	if (ps->cur < ps->end && *ps->cur == '[') {
		out->literal = true;
		rc = address_literal(ps, &dom);
	} else
		rc = domain_name(ps, &dom);
	if (rc == -1)
		return -1;
	if (!at_path_end(ps))
		return fail(ps, ADDR_E_SYNTAX);
	return 0;
}

static int
bracketed(struct parser *ps, struct addr *out)
{
	bool route = false;

	ps->cur++;					/* "<" */
	if (ps->cur < ps->end && *ps->cur == '>') {
		if ((ps->flags & ADDR_F_SENDER) == 0)
			return fail(ps, ADDR_E_NULL_NOT_ALLOWED);
		ps->cur++;
		return 0;
	}
	if (ps->cur < ps->end && *ps->cur == '@') {
		if (source_route(ps) == -1)
			return -1;
		route = true;
	}
	if (mailbox(ps, out, route) == -1)
		return -1;
	ps->cur++;					/* ">" */
	return 0;
}

static int
parse(struct parser *ps, struct addr *out, size_t *used_r)
{
	const unsigned char *start = ps->cur;
	size_t used;

	if (ps->cur < ps->end && *ps->cur == '<') {
		if (bracketed(ps, out) == -1)
			return -1;
	} else if (ps->flags & ADDR_F_NOBRACKETS_OK) {
		ps->bare = true;
		if (mailbox(ps, out, false) == -1)
			return -1;
	} else
		return fail(ps, ADDR_E_SYNTAX);
	used = (size_t)(ps->cur - start);
	if (used + (ps->bare ? 2 : 0) > ADDR_PATH_MAX)
		return fail(ps, ADDR_E_PATH_TOOLONG);
	out->utf8 = ps->utf8;
	*used_r = used;
	return 0;
}

int
addr_parse_path(const char *in, size_t len, unsigned flags,
    struct addr *out, size_t *used_r, enum addr_err *err_r)
{
	struct parser ps;

	memset(&ps, 0, sizeof(ps));
	memset(out, 0, sizeof(*out));
	ps.cur = (const unsigned char *)in;
	ps.end = ps.cur + len;
	ps.flags = flags;
	if (parse(&ps, out, used_r) == -1) {
		memset(out, 0, sizeof(*out));
		*err_r = ps.err;
		return -1;
	}
	*err_r = ADDR_E_NONE;
	return 0;
}

int
addr_domain_check(const char *s, size_t len, unsigned flags,
    bool *literal_r, enum addr_err *err_r)
{
	char scratch[ADDR_DOMAIN_MAX + 1];
	struct field f = { scratch, 0, ADDR_DOMAIN_MAX };
	struct parser ps;
	bool literal;
	int rc;

	memset(&ps, 0, sizeof(ps));
	ps.cur = (const unsigned char *)s;
	ps.end = ps.cur + len;
	ps.flags = flags & ADDR_F_SMTPUTF8;
	literal = len > 0 && s[0] == '[';
	if (literal)
		rc = address_literal(&ps, &f);
	else
		rc = domain_name(&ps, &f);
	if (rc == 0 && ps.cur != ps.end)
		rc = fail(&ps, ADDR_E_SYNTAX);
	*err_r = rc == 0 ? ADDR_E_NONE : ps.err;
	if (rc == 0 && literal_r != NULL)
		*literal_r = literal;
	return rc;
}

const char *
addr_err_str(enum addr_err e)
{
	switch (e) {
	case ADDR_E_NONE:
		return "no error";
	case ADDR_E_SYNTAX:
		return "bad address syntax";
	case ADDR_E_LOCAL_TOOLONG:
		return "local part too long";
	case ADDR_E_DOMAIN_TOOLONG:
		return "domain or domain label too long";
	case ADDR_E_PATH_TOOLONG:
		return "path too long";
	case ADDR_E_UTF8_NEEDS_SMTPUTF8:
		return "non-ASCII address without SMTPUTF8";
	case ADDR_E_BAD_UTF8:
		return "malformed UTF-8 in address";
	case ADDR_E_NULL_NOT_ALLOWED:
		return "null address not allowed";
	}
	return "unknown address error";
}

/* ---- output ----------------------------------------------------------- */

/* snprintf-style appending: count everything, store what fits. */
struct out {
	char	*buf;
	size_t	 sz;
	size_t	 len;
};

static void
put(struct out *o, char c)
{
	if (o->len + 1 < o->sz)
		o->buf[o->len] = c;
	o->len++;
}

static void
put_str(struct out *o, const char *s)
{
	while (*s != '\0')
		put(o, *s++);
}

static size_t
finish(struct out *o)
{
	if (o->sz > 0)
		o->buf[o->len < o->sz ? o->len : o->sz - 1] = '\0';
	return o->len;
}

size_t
addr_format(const struct addr *a, char *buf, size_t sz)
{
	struct out o = { buf, sz, 0 };

	put_str(&o, a->local);
	if (a->domain[0] != '\0') {
		put(&o, '@');
		put_str(&o, a->domain);
	}
	return finish(&o);
}

size_t
addr_local_unquoted(const struct addr *a, char *buf, size_t sz)
{
	struct out o = { buf, sz, 0 };
	const char *s = a->local;
	size_t n, i;

	n = strlen(s);
	if (n < 2 || s[0] != '"' || s[n - 1] != '"') {
		put_str(&o, s);
		return finish(&o);
	}
	for (i = 1; i < n - 1; i++) {
		if (s[i] == '\\' && i + 1 < n - 1)
			i++;
		put(&o, s[i]);
	}
	return finish(&o);
}
