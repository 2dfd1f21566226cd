/*
 * SPDX-License-Identifier: ISC
 *
 * dsn.c -- the composer of delivery status notifications (RFC 3464,
 * RFC 6533 for SMTPUTF8 mail).
 *
 * Process:  bounce.
 * Input:    a parsed queue file (its content is untrusted: any bytes, any
 *           line length) and diagnostics that may quote remote servers
 *           (untrusted text).  Everything that reaches the notice goes
 *           through clean() (texts) or put_safe() (the original), which
 *           keep the line length and character invariants of dsn.h.
 * Failure:  -1 with a static reason; nothing is logged.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ascii.h"
#include "dsn.h"

#define WRAP_WIDTH	76	/* where a line is broken when it can be */
#define PART_MAX	(SIZE_MAX / 4)
#define INDENT		"    "	/* continuation lines of part 1 */

/* ---- characters --------------------------------------------------------- */

static bool
all_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static const char *
str(const char *s)
{
	return s != NULL ? s : "";
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if none. */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * How many bytes the character starting with c takes, for line
 * breaking: 0 for a continuation byte (it belongs to the one before).
 */
static size_t
char_bytes(uint8_t c)
{
	if ((c & 0xc0) == 0x80)
		return 0;
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * clean -- append s to dst as text that is safe in a header field or a
 * line of part 1: no control character (each becomes a space; with
 * squeeze, runs of white space become one space and the ends are
 * trimmed, for multi-line replies; without, '?', for addresses), 8-bit
 * bytes only when utf8 allows them and they are valid UTF-8 (else '?').
 * At most max bytes of s are used, cut at a character and marked "...".
 */
static int
clean(struct buf *dst, const char *s, size_t max, bool utf8, bool squeeze)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), i = 0, len, start = dst->len;
	bool space = false, cut = false;

	if (n > max) {
		n = max;
		cut = true;
	}
	while (i < n) {
		if (p[i] < 0x20 || p[i] == 0x7f || (squeeze && p[i] == ' ')) {
			if (!squeeze) {
				if (buf_add(dst, "?", 1) == -1)
					return -1;
			} else
				space = dst->len > start;
			i++;
			continue;
		}
		if (space && buf_add(dst, " ", 1) == -1)
			return -1;
		space = false;
		len = utf8_seq(p + i, n - i);
		if (len == 0 || (len > 1 && !utf8)) {
			if (buf_add(dst, "?", 1) == -1)
				return -1;
			i += len == 0 ? 1 : len;
			continue;
		}
		if (buf_add(dst, p + i, len) == -1)
			return -1;
		i += len;
	}
	if (cut && buf_add(dst, "...", 3) == -1)
		return -1;
	return 0;
}

/*
 * RFC 6533 utf-8-addr-unitext: the address as is, but "+", "=" and "\"
 * (and, since clean() ran first, nothing else) as \x{HEX}.
 */
static int
unitext(struct buf *dst, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '+' || *s == '=' || *s == '\\') {
			if (buf_addf(dst, "\\x{%02X}", (unsigned char)*s) == -1)
				return -1;
		} else if (buf_add(dst, s, 1) == -1)
			return -1;
	}
	return 0;
}

/* ---- lines -------------------------------------------------------------- */

static int
put_crlf(struct buf *b, const char *indent)
{
	if (buf_add(b, "\r\n", 2) == -1 || buf_addstr(b, indent) == -1)
		return -1;
	return 0;
}

/*
 * put_wrapped -- append s (n bytes of clean text) to b, whose current line
 * already holds cur bytes; break lines at spaces once past WRAP_WIDTH,
 * and anywhere (between characters) rather than pass DSN_LINE_MAX; end
 * with CRLF.  hdr: a header field, folded (RFC 5322 2.2.3: the break
 * goes before the space, which starts the next line; a forced break adds
 * one); else body text, where a break replaces the spaces by INDENT.
 */
static int
put_wrapped(struct buf *b, const char *s, size_t n, size_t cur, bool hdr)
{
	const char *indent = hdr ? " " : INDENT;
	size_t ilen = strlen(indent), i = 0, sp, end, j, clen;

	while (i < n) {
		/* A token: its spaces, then the bytes up to the next one. */
		for (sp = i; sp < n && s[sp] == ' '; sp++)
			continue;
		for (end = sp; end < n && s[end] != ' '; end++)
			continue;
		if (sp > i && end > sp && cur > ilen &&
		    cur + (end - i) > WRAP_WIDTH) {
			if (put_crlf(b, hdr ? "" : indent) == -1)
				return -1;
			cur = hdr ? 0 : ilen;
			if (!hdr)
				i = sp;
		}
		for (j = i; j < end; j += clen) {
			clen = char_bytes((uint8_t)s[j]);
			if (clen == 0 || j + clen > end)
				clen = 1;
			if (cur + clen > DSN_LINE_MAX) {
				if (put_crlf(b, indent) == -1)
					return -1;
				cur = ilen;
			}
			if (buf_add(b, s + j, clen) == -1)
				return -1;
			cur += clen;
		}
		i = end;
	}
	return buf_add(b, "\r\n", 2);
}

/* "Name: value", value clean text, folded. */
static int
put_field(struct buf *b, const char *name, const char *value)
{
	if (buf_addf(b, "%s: ", name) == -1)
		return -1;
	return put_wrapped(b, value, strlen(value), strlen(name) + 2, true);
}

/* A paragraph of part 1, wrapped, then an empty line. */
static int
put_para(struct buf *b, const char *text)
{
	if (put_wrapped(b, text, strlen(text), 0, false) == -1)
		return -1;
	return buf_add(b, "\r\n", 2);
}

/* RFC 5322 3.3 date-time in local time, English whatever the locale. */
static void
date_str(char *buf, size_t sz, int64_t when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;
	long off;

	if (when < 0 || when > (int64_t)253402300799LL ||
	    localtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	off = tm.tm_gmtoff / 60;
	snprintf(buf, sz, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
	    (off < 0 ? -off : off) % 60);
}

/* ---- checks ------------------------------------------------------------- */

const char *
dsn_kind_name(enum dsn_kind k)
{
	switch (k) {
	case DSN_FAILURE:
		return "failure";
	case DSN_DELAY:
		return "delay";
	case DSN_SUCCESS:
		return "success";
	}
	return "failure";
}

int
dsn_kind_parse(const char *s, enum dsn_kind *k)
{
	if (strcmp(s, "failure") == 0)
		*k = DSN_FAILURE;
	else if (strcmp(s, "delay") == 0)
		*k = DSN_DELAY;
	else if (strcmp(s, "success") == 0)
		*k = DSN_SUCCESS;
	else
		return -1;
	return 0;
}

bool
dsn_status_valid(const char *s)
{
	size_t i, n;
	int part;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return false;
	if (s[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			return false;
		if (part == 0 && s[i++] != '.')
			return false;
	}
	return s[i] == '\0';
}

/* Do the recipient's action and status belong in a notice of kind k? */
static bool
rcpt_fits(enum dsn_kind k, const struct dsn_rcpt *r)
{
	const char *a = str(r->action), *st = str(r->status);

	if (str(r->addr)[0] == '\0' || !dsn_status_valid(st))
		return false;
	switch (k) {
	case DSN_FAILURE:
		/* 4.x.x too: a message that expired while deferred. */
		return strcmp(a, "failed") == 0 && st[0] != '2';
	case DSN_DELAY:
		return strcmp(a, "delayed") == 0 && st[0] == '4';
	case DSN_SUCCESS:
		return (strcmp(a, "delivered") == 0 ||
		    strcmp(a, "relayed") == 0 ||
		    strcmp(a, "expanded") == 0) && st[0] == '2';
	}
	return false;
}

/* Does the notice name an address that only SMTPUTF8 can carry? */
static bool
needs_utf8(const struct dsn_notice *n)
{
	size_t i;

	if ((n->orig->sender.flags & QFILE_SMTPUTF8) ||
	    !all_ascii(n->orig->sender.addr) || !all_ascii(str(n->to)))
		return true;
	for (i = 0; i < n->nrcpt; i++)
		if (!all_ascii(str(n->rcpts[i].addr)) ||
		    !all_ascii(str(n->rcpts[i].orcpt)) ||
		    !all_ascii(str(n->rcpts[i].orcpt_type)))
			return true;
	return false;
}

/* ---- part 3: the original ----------------------------------------------- */

/* Content bytes [out->len, to), appended to out: contiguous. */
static int
gather(const struct qfile *q, size_t to, struct buf *out)
{
	size_t i, at = 0, from = out->len, a, b;

	for (i = 0; i < q->ncontent && at < to; i++) {
		a = from > at ? from - at : 0;
		b = to - at < q->content[i].len ? to - at : q->content[i].len;
		if (a < b && buf_add(out, q->base + q->content[i].off + a,
		    b - a) == -1)
			return -1;
		at += q->content[i].len;
	}
	return 0;
}

/* RFC 5322 2.2: a field name (printable but ':'), white space, ':'. */
static bool
field_line(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 33 && p[i] <= 126 && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/*
 * header_end -- where the header section of p[0..n) ends (eof: that is
 * the whole content): at the empty line, or at the first line that is
 * neither a field nor a continuation.  *cut_r: the largest offset not
 * past limit where a field starts or the section ends, so that
 * p[0..*cut_r) is whole fields.  A section that runs past n (not eof)
 * ends "at n".
 */
static size_t
header_end(const uint8_t *p, size_t n, bool eof, size_t limit, size_t *cut_r)
{
	const uint8_t *lf;
	size_t pos = 0, eol, len, cut = 0;

	while (pos < n) {
		lf = memchr(p + pos, '\n', n - pos);
		if (lf == NULL && !eof) {
			if (pos <= limit)
				cut = pos;
			pos = n;
			break;
		}
		eol = lf != NULL ? (size_t)(lf - p) + 1 : n;
		len = eol - pos;
		if (p[pos] == '\n' || (len == 2 && p[pos] == '\r'))
			break;
		if (p[pos] == ' ' || p[pos] == '\t') {
			if (pos == 0)
				break;
		} else if (!field_line(p + pos, len))
			break;
		else if (pos <= limit)
			cut = pos;
		pos = eol;
	}
	if (pos <= limit)
		cut = pos;
	*cut_r = cut;
	return pos;
}

/*
 * put_safe -- append p[0..n) to b with CRLF line ends (a bare LF ends a
 * line; a bare CR does too in the body, and becomes a space in the header
 * section, the first hdr_end bytes), NUL bytes as spaces, and lines longer
 * than DSN_LINE_MAX split between characters (in the header section as a
 * folded field: CRLF and a space); a CRLF after a last line without one.
 */
static int
put_safe(struct buf *b, const uint8_t *p, size_t n, size_t hdr_end)
{
	size_t i, start = 0, col = 0, clen;
	bool hdr;

#define FLUSH() do {							\
	if (i > start && buf_add(b, p + start, i - start) == -1)	\
		return -1;						\
} while (0)
	for (i = 0; i < n; i++) {
		hdr = i < hdr_end;
		if (p[i] == '\n' || (p[i] == '\r' && (!hdr ||
		    (i + 1 < n && p[i + 1] == '\n')))) {
			FLUSH();
			if (buf_add(b, "\r\n", 2) == -1)
				return -1;
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			start = i + 1;
			col = 0;
			continue;
		}
		clen = char_bytes(p[i]);
		if (col >= DSN_LINE_MAX || (clen > 1 &&
		    col + clen > DSN_LINE_MAX)) {
			FLUSH();
			if (put_crlf(b, hdr ? " " : "") == -1)
				return -1;
			start = i;
			col = hdr ? 1 : 0;
		}
		if (p[i] == '\0' || p[i] == '\r') {
			FLUSH();
			if (buf_add(b, " ", 1) == -1)
				return -1;
			start = i + 1;
		}
		col++;
	}
	FLUSH();
#undef FLUSH
	if (col > 0 && buf_add(b, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* Why less was returned than asked for, for part 1. */
enum cut_why { CUT_NONE, CUT_TOO_BIG, CUT_BINARY, CUT_HEADERS };

/* Decide what part 3 holds and make it (d->orig). */
static int
make_orig(struct dsn *d, enum cut_why *why)
{
	const struct dsn_notice *n = d->n;
	const struct qfile *q = n->orig;
	struct buf raw;
	size_t want, end, cut, step;
	uint64_t g;
	int rc = -1;

	*why = CUT_NONE;
	buf_init(&raw, PART_MAX);
	if (n->kind == DSN_FAILURE && q->sender.ret == QFILE_RET_FULL) {
		if (q->sender.flags & QFILE_BINARYMIME)
			*why = CUT_BINARY;
		else if (q->content_size > n->size_limit)
			*why = CUT_TOO_BIG;
		else {
			if (gather(q, (size_t)q->content_size, &raw) == -1)
				goto out;
			end = header_end(raw.data, raw.len, true, raw.len,
			    &cut);
			if (put_safe(&d->orig, raw.data, raw.len, end) == -1)
				goto out;
			d->returned = DSN_RETURN_FULL;
			d->ret_bytes = raw.len;
			rc = 0;
			goto out;
		}
	}
	/*
	 * Enough to find the end of a section that fits, and a line more:
	 * read a little, and more only while the section goes on.
	 */
	g = (uint64_t)n->size_limit + DSN_LINE_MAX + 2;
	want = q->content_size < g ? (size_t)q->content_size : (size_t)g;
	for (step = 64 * 1024;; step *= 2) {
		if (gather(q, step < want ? step : want, &raw) == -1)
			goto out;
		end = header_end(raw.data, raw.len,
		    raw.len == q->content_size, n->size_limit, &cut);
		if (end < raw.len || raw.len == want)
			break;
	}
	if (end > cut)
		*why = CUT_HEADERS;
	if (cut == 0 && end > 0) {
		d->returned = DSN_RETURN_NONE;
		rc = 0;
		goto out;
	}
	if (put_safe(&d->orig, raw.data, cut, cut) == -1)
		goto out;
	d->returned = DSN_RETURN_HEADERS;
	d->ret_bytes = cut;
	rc = 0;
out:
	buf_clear(&raw);
	return rc;
}

/* ---- part 1: in words --------------------------------------------------- */

static const char *
intro(enum dsn_kind k)
{
	switch (k) {
	case DSN_FAILURE:
		return "Your message could not be delivered to one or more "
		    "of its recipients. The reasons are given below.";
	case DSN_DELAY:
		return "Your message could not be delivered yet to the "
		    "recipients below. The mail system keeps trying; you do "
		    "not need to send it again.";
	case DSN_SUCCESS:
		return "Your message was delivered to the recipients below, "
		    "as you asked (NOTIFY=SUCCESS).";
	}
	return "";
}

static int
return_note(struct dsn *d, enum cut_why why, struct buf *b)
{
	size_t lim = d->n->size_limit;
	const char *what = d->n->kind == DSN_FAILURE ? "returned" : "attached";

	switch (d->returned) {
	case DSN_RETURN_FULL:
		return buf_addf(b, "The message is %s below.", what);
	case DSN_RETURN_NONE:
		return buf_addf(b, "The message is not %s: even its header "
		    "section is larger than %zu bytes.", what, lim);
	case DSN_RETURN_HEADERS:
		break;
	}
	switch (why) {
	case CUT_TOO_BIG:
		return buf_addf(b, "Only the header section of the message "
		    "is %s: the whole message is larger than %zu bytes.",
		    what, lim);
	case CUT_BINARY:
		return buf_addf(b, "Only the header section of the message "
		    "is %s: the message is binary (BODY=BINARYMIME).", what);
	case CUT_HEADERS:
		return buf_addf(b, "The first %zu bytes of the header "
		    "section of the message are %s; the rest was cut.",
		    d->ret_bytes, what);
	case CUT_NONE:
		break;
	}
	return buf_addf(b, "The header section of the message is %s "
	    "below.", what);
}

/*
 * relay_host -- append the host name of a relay, "mx.example.org" of
 * "mx.example.org[192.0.2.1]:25", or an address literal "[192.0.2.1]";
 * nothing when it has a character a host name cannot have.
 */
static int
relay_host(struct buf *dst, const char *relay)
{
	size_t i, n;

	if (relay[0] == '[')
		n = strchr(relay, ']') != NULL ? strcspn(relay, "]") + 1 : 0;
	else
		n = strcspn(relay, "[:");
	if (n > QFILE_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!ascii_isalnum(relay[i]) &&
		    strchr(".-_[]:", relay[i]) == NULL)
			return 0;
	return buf_add(dst, relay, n);
}

/* One recipient in words: "<addr> (...): host H said: text". */
static int
text_rcpt(struct dsn *d, const struct dsn_rcpt *r, struct buf *line)
{
	struct buf host;
	int rc = -1;

	buf_init(&host, 1024);
	if (buf_add(line, "<", 1) == -1 ||
	    clean(line, str(r->addr), QFILE_ADDR_MAX, d->utf8, false) == -1 ||
	    buf_add(line, ">", 1) == -1)
		goto out;
	if (str(r->orcpt)[0] != '\0' &&
	    strcasecmp(str(r->orcpt), str(r->addr)) != 0) {
		if (buf_addstr(line, " (originally ") == -1 ||
		    clean(line, str(r->orcpt), QFILE_ADDR_MAX, d->utf8,
		    false) == -1 || buf_add(line, ")", 1) == -1)
			goto out;
	}
	if (buf_addstr(line, ": ") == -1 ||
	    relay_host(&host, str(r->remote_mta)) == -1)
		goto out;
	if (host.len > 0 && r->diag_smtp && buf_addf(line, "host %s said: ",
	    buf_cstr(&host)) == -1)
		goto out;
	if (str(r->diag)[0] != '\0')
		rc = clean(line, r->diag, DSN_DIAG_MAX, d->utf8, true);
	else
		rc = buf_addf(line, "%s (%s)", str(r->action), str(r->status));
out:
	buf_clear(&host);
	return rc;
}

static int
make_text(struct dsn *d, enum cut_why why)
{
	const struct dsn_notice *n = d->n;
	struct buf *b = &d->text, line;
	char date[64];
	size_t i;
	int rc = -1;

	buf_init(&line, PART_MAX);
	if (buf_addstr(&line, "This is the mail system at host ") == -1 ||
	    clean(&line, str(n->myhostname), 255, false, false) == -1 ||
	    buf_add(&line, ".", 1) == -1 ||
	    put_para(b, buf_cstr(&line)) == -1 ||
	    put_para(b, intro(n->kind)) == -1)
		goto out;
	if (n->kind == DSN_DELAY && n->retry_until > 0) {
		date_str(date, sizeof(date), n->retry_until);
		buf_reset(&line);
		if (buf_addf(&line, "It gives up at %s.", date) == -1 ||
		    put_para(b, buf_cstr(&line)) == -1)
			goto out;
	}
	buf_reset(&line);
	if (return_note(d, why, &line) == -1 ||
	    put_para(b, buf_cstr(&line)) == -1)
		goto out;
	for (i = 0; i < n->nrcpt && i < DSN_TEXT_RCPT_MAX; i++) {
		buf_reset(&line);
		if (text_rcpt(d, &n->rcpts[i], &line) == -1 ||
		    put_para(b, buf_cstr(&line)) == -1)
			goto out;
	}
	if (n->nrcpt > DSN_TEXT_RCPT_MAX) {
		buf_reset(&line);
		if (buf_addf(&line, "... and %zu more recipients: see the "
		    "delivery report.", n->nrcpt - DSN_TEXT_RCPT_MAX) == -1 ||
		    put_para(b, buf_cstr(&line)) == -1)
			goto out;
	}
	/* The last paragraph needs no empty line after it. */
	buf_truncate(b, b->len - 2);
	rc = 0;
out:
	buf_clear(&line);
	return rc;
}

/* ---- part 2: the delivery report ---------------------------------------- */

/* "rfc822; addr", or for a non-ASCII one "utf-8; addr" (RFC 6533). */
static int
typed_addr(struct dsn *d, struct buf *v, const char *addr)
{
	struct buf c;
	int rc;

	buf_init(&c, PART_MAX);
	rc = clean(&c, addr, QFILE_ADDR_MAX, d->utf8, false);
	if (rc == 0 && all_ascii(buf_cstr(&c)))
		rc = buf_addf(v, "rfc822; %s", buf_cstr(&c));
	else if (rc == 0)
		rc = buf_addstr(v, "utf-8; ") == -1 ? -1 :
		    unitext(v, buf_cstr(&c));
	buf_clear(&c);
	return rc;
}

/* The ORCPT address as given; a utf-8 one as RFC 6533 unitext. */
static int
orig_rcpt(struct dsn *d, struct buf *v, const struct dsn_rcpt *r)
{
	struct buf c;
	int rc;

	if (strcasecmp(r->orcpt_type, "utf-8") != 0)
		return clean(v, r->orcpt, QFILE_ADDR_MAX, d->utf8, false);
	buf_init(&c, PART_MAX);
	rc = clean(&c, r->orcpt, QFILE_ADDR_MAX, d->utf8, false);
	if (rc == 0)
		rc = unitext(v, buf_cstr(&c));
	buf_clear(&c);
	return rc;
}

/* One field whose value is built in v (reset first by the caller). */
static int
field_from(struct buf *b, const char *name, struct buf *v)
{
	return put_field(b, name, buf_cstr(v));
}

static int
status_message(struct dsn *d, struct buf *v)
{
	const struct dsn_notice *n = d->n;
	const struct qfile *q = n->orig;
	struct buf *b = &d->status;
	char date[64];

	buf_reset(v);
	if (buf_addstr(v, "dns; ") == -1 ||
	    clean(v, str(n->myhostname), QFILE_HOST_MAX, false, false) == -1 ||
	    field_from(b, "Reporting-MTA", v) == -1)
		return -1;
	buf_reset(v);
	if (clean(v, str(n->queue_id), 64, false, false) == -1 ||
	    field_from(b, "X-Tern-Queue-ID", v) == -1)
		return -1;
	if (q->sender.addr[0] != '\0') {
		buf_reset(v);
		if (typed_addr(d, v, q->sender.addr) == -1 ||
		    field_from(b, "X-Tern-Sender", v) == -1)
			return -1;
	}
	if (q->sender.envid[0] != '\0') {
		buf_reset(v);
		if (clean(v, q->sender.envid, QFILE_ENVID_MAX, false,
		    false) == -1 ||
		    field_from(b, "Original-Envelope-Id", v) == -1)
			return -1;
	}
	if (q->has_client) {
		buf_reset(v);
		if (buf_addstr(v, "dns; ") == -1 ||
		    clean(v, q->client.helo[0] ? q->client.helo : "unknown",
		    QFILE_HOST_MAX, false, false) == -1 ||
		    buf_addstr(v, " (") == -1 ||
		    clean(v, q->client.name[0] ? q->client.name : "unknown",
		    QFILE_HOST_MAX, false, false) == -1 ||
		    buf_addstr(v, " [") == -1 ||
		    clean(v, q->client.addr, QFILE_CLIENT_ADDR_MAX, false,
		    false) == -1 || buf_addstr(v, "])") == -1 ||
		    field_from(b, "Received-From-MTA", v) == -1)
			return -1;
	}
	date_str(date, sizeof(date), q->arrival_sec);
	return put_field(b, "Arrival-Date", date);
}

static int
status_rcpt(struct dsn *d, const struct dsn_rcpt *r, struct buf *v)
{
	struct buf *b = &d->status;
	char date[64];

	if (buf_add(b, "\r\n", 2) == -1)
		return -1;
	buf_reset(v);
	if (typed_addr(d, v, str(r->addr)) == -1 ||
	    field_from(b, "Final-Recipient", v) == -1)
		return -1;
	if (str(r->orcpt_type)[0] != '\0' && str(r->orcpt)[0] != '\0') {
		buf_reset(v);
		if (clean(v, r->orcpt_type, QFILE_ORCPT_TYPE_MAX, false,
		    false) == -1 || buf_addstr(v, "; ") == -1 ||
		    orig_rcpt(d, v, r) == -1 ||
		    field_from(b, "Original-Recipient", v) == -1)
			return -1;
	}
	if (put_field(b, "Action", str(r->action)) == -1 ||
	    put_field(b, "Status", str(r->status)) == -1)
		return -1;
	buf_reset(v);
	if (buf_addstr(v, "dns; ") == -1 ||
	    relay_host(v, str(r->remote_mta)) == -1)
		return -1;
	if (v->len > 5 && field_from(b, "Remote-MTA", v) == -1)
		return -1;
	if (str(r->diag)[0] != '\0') {
		buf_reset(v);
		if (buf_addstr(v, r->diag_smtp ? "smtp; " : "x-unix; ") == -1 ||
		    clean(v, r->diag, DSN_DIAG_MAX, d->utf8, true) == -1 ||
		    field_from(b, "Diagnostic-Code", v) == -1)
			return -1;
	}
	date_str(date, sizeof(date), d->n->now);
	if (put_field(b, "Last-Attempt-Date", date) == -1)
		return -1;
	if (d->n->kind == DSN_DELAY && d->n->retry_until > 0) {
		date_str(date, sizeof(date), d->n->retry_until);
		if (put_field(b, "Will-Retry-Until", date) == -1)
			return -1;
	}
	return 0;
}

static int
make_status(struct dsn *d)
{
	struct buf v;
	size_t i;
	int rc = -1;

	buf_init(&v, PART_MAX);
	if (status_message(d, &v) == -1)
		goto out;
	for (i = 0; i < d->n->nrcpt; i++)
		if (status_rcpt(d, &d->n->rcpts[i], &v) == -1)
			goto out;
	rc = 0;
out:
	buf_clear(&v);
	return rc;
}

/* ---- the whole notice --------------------------------------------------- */

static bool
has_8bit(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i] >= 0x80)
			return true;
	return false;
}

static bool
contains(const struct buf *b, const char *s)
{
	return b->len > 0 && memmem(b->data, b->len, s, strlen(s)) != NULL;
}

/* "QID.NONCE/Tern", the first candidate that no part contains. */
static int
choose_boundary(struct dsn *d)
{
	char qid[32];
	const char *s = str(d->n->queue_id);
	size_t i, k = 0;

	for (i = 0; s[i] != '\0' && k < 24; i++)
		if (ascii_isalnum(s[i]))
			qid[k++] = s[i];
	qid[k] = '\0';
	for (i = 0; i < DSN_BOUNDARY_TRIES; i++) {
		snprintf(d->boundary, sizeof(d->boundary), "%s.%08X/Tern",
		    k > 0 ? qid : "notice", (unsigned)(d->n->nonce + i));
		if (!contains(&d->text, d->boundary) &&
		    !contains(&d->status, d->boundary) &&
		    !contains(&d->orig, d->boundary))
			return 0;
	}
	d->boundary[0] = '\0';
	return -1;
}

void
dsn_init(struct dsn *d)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->text, PART_MAX);
	buf_init(&d->status, PART_MAX);
	buf_init(&d->orig, PART_MAX);
}

void
dsn_clear(struct dsn *d)
{
	buf_clear(&d->text);
	buf_clear(&d->status);
	buf_clear(&d->orig);
	dsn_init(d);
}

int
dsn_prepare(struct dsn *d, const struct dsn_notice *n, const char **err_r)
{
	enum cut_why why;
	size_t i;

	dsn_clear(d);
	d->n = n;
	if (n->orig == NULL || n->nrcpt == 0 || n->rcpts == NULL) {
		*err_r = "no recipient to report on";
		return -1;
	}
	if (str(n->to)[0] == '\0') {
		*err_r = "no recipient for the notice";
		return -1;
	}
	for (i = 0; i < n->nrcpt; i++)
		if (!rcpt_fits(n->kind, &n->rcpts[i])) {
			*err_r = "action or status does not fit the kind";
			return -1;
		}
	d->utf8 = needs_utf8(n);
	if (make_orig(d, &why) == -1 || make_text(d, why) == -1 ||
	    make_status(d) == -1) {
		*err_r = "notice too large";
		return -1;
	}
	d->cut = why != CUT_NONE || (n->kind == DSN_FAILURE &&
	    n->orig->sender.ret == QFILE_RET_FULL &&
	    d->returned != DSN_RETURN_FULL);
	d->eightbit = has_8bit(&d->text) || has_8bit(&d->status) ||
	    has_8bit(&d->orig);
	if (choose_boundary(d) == -1) {
		*err_r = "no MIME boundary found that the content lacks";
		return -1;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static const char *
subject(enum dsn_kind k)
{
	switch (k) {
	case DSN_FAILURE:
		return "Undelivered Mail Returned to Sender";
	case DSN_DELAY:
		return "Delayed Mail (still being retried)";
	case DSN_SUCCESS:
		return "Successful Mail Delivery Report";
	}
	return "";
}

static int
top_header(struct dsn *d, const char *msgid, struct buf *h)
{
	const struct dsn_notice *n = d->n;
	char date[64];

	buf_reset(h);
	date_str(date, sizeof(date), n->now);
	if (buf_addstr(h, "From: Mail Delivery System <") == -1 ||
	    clean(h, str(n->from), QFILE_ADDR_MAX, d->utf8, false) == -1 ||
	    buf_addstr(h, ">\r\nTo: <") == -1 ||
	    clean(h, str(n->to), QFILE_ADDR_MAX, d->utf8, false) == -1 ||
	    buf_addf(h, ">\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n"
	    "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=%s;\r\n"
	    "\tboundary=\"%s\"\r\n", subject(n->kind), date, msgid,
	    d->utf8 ? "global-delivery-status" : "delivery-status",
	    d->boundary) == -1)
		return -1;
	if (d->eightbit && buf_addstr(h,
	    "Content-Transfer-Encoding: 8bit\r\n") == -1)
		return -1;
	return buf_addstr(h, "\r\nThis is a MIME-encapsulated message.\r\n"
	    "\r\n");
}

static const char *
orig_type(const struct dsn *d)
{
	bool g = d->n->orig->sender.flags & QFILE_SMTPUTF8;

	if (d->returned == DSN_RETURN_FULL)
		return g ? "message/global" : "message/rfc822";
	return g ? "message/global-headers" : "text/rfc822-headers";
}

static const char *
orig_desc(const struct dsn *d)
{
	bool full = d->returned == DSN_RETURN_FULL;

	if (d->n->kind == DSN_FAILURE)
		return full ? "Undelivered Message" :
		    "Undelivered Message Headers";
	return full ? "Message" : "Message Headers";
}

/* The head of part k (0, 1, 2), after its delimiter line. */
static int
part_header(struct dsn *d, int k, struct buf *h)
{
	const struct buf *body = k == 0 ? &d->text : k == 1 ? &d->status :
	    &d->orig;
	bool eight = has_8bit(body);

	buf_reset(h);
	if (buf_addf(h, "\r\n--%s\r\n", d->boundary) == -1)
		return -1;
	if (k == 0 && buf_addf(h, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n",
	    eight ? "utf-8" : "us-ascii") == -1)
		return -1;
	if (k == 1 && buf_addf(h, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/%sdelivery-status\r\n",
	    d->utf8 ? "global-" : "") == -1)
		return -1;
	if (k == 2 && buf_addf(h, "Content-Description: %s\r\n"
	    "Content-Type: %s\r\n", orig_desc(d), orig_type(d)) == -1)
		return -1;
	if (eight && buf_addstr(h, "Content-Transfer-Encoding: 8bit\r\n") == -1)
		return -1;
	return buf_add(h, "\r\n", 2);
}

static bool
msgid_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 900)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~' || *s == '<' || *s == '>')
			return false;
	return true;
}

int
dsn_write(struct dsn *d, const char *msgid, dsn_out_fn out, void *arg)
{
	const struct buf *parts[3] = { &d->text, &d->status, &d->orig };
	struct buf h;
	int k, nparts, rc = -1;

	if (d->n == NULL || d->boundary[0] == '\0' || !msgid_ok(msgid))
		return -1;
	buf_init(&h, PART_MAX);
	if (top_header(d, msgid, &h) == -1 || out(arg, h.data, h.len) == -1)
		goto done;
	/* The first delimiter has no CRLF of a part before it. */
	buf_reset(&h);
	nparts = d->returned == DSN_RETURN_NONE ? 2 : 3;
	for (k = 0; k < nparts; k++) {
		if (part_header(d, k, &h) == -1)
			goto done;
		if (out(arg, h.data + (k == 0 ? 2 : 0), h.len -
		    (k == 0 ? 2 : 0)) == -1 ||
		    (parts[k]->len > 0 &&
		    out(arg, parts[k]->data, parts[k]->len) == -1))
			goto done;
	}
	buf_reset(&h);
	if (buf_addf(&h, "\r\n--%s--\r\n", d->boundary) == -1 ||
	    out(arg, h.data, h.len) == -1)
		goto done;
	rc = 0;
done:
	buf_clear(&h);
	return rc;
}

static int
to_buf(void *arg, const void *data, size_t len)
{
	return buf_add(arg, data, len);
}

int
dsn_compose(struct dsn *d, const struct dsn_notice *n, const char *msgid,
    struct buf *out, const char **err_r)
{
	if (dsn_prepare(d, n, err_r) == -1)
		return -1;
	if (dsn_write(d, msgid, to_buf, out) == -1) {
		*err_r = "notice too large, or a bad Message-ID";
		return -1;
	}
	return 0;
}
