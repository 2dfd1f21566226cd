/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup_msg.c -- what cleanup does to and checks in message content:
 * the Received: header it adds, the header section's limits, and the
 * fields a local submission lacks.
 *
 * Process:  cleanup.
 * Input:    untrusted content, streamed in arbitrary pieces.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"

void
cleanup_headers_init(struct cleanup_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

/* A line starts: if it is "Received:", count it. */
static void
line_name_done(struct cleanup_headers *h)
{
	if (h->namelen >= 9 && strncasecmp(h->name, "Received:", 9) == 0)
		h->received++;
}

int
cleanup_headers_feed(struct cleanup_headers *h, const uint8_t *p, size_t n,
    uint64_t size_limit, unsigned hop_limit, int *code_r,
    const char **enh_r, const char **text_r)
{
	size_t i;

	for (i = 0; i < n && !h->done; i++) {
		h->bytes++;
		if (h->line_start) {
			/* "\r\n" alone on a line ends the header section. */
			if (p[i] == '\r' || p[i] == '\n') {
				if (p[i] == '\n')
					h->done = true;
				continue;
			}
			h->line_start = false;
			h->namelen = 0;
		}
		if (p[i] == '\n') {
			line_name_done(h);
			h->line_start = true;
			continue;
		}
		if (h->namelen < sizeof(h->name))
			h->name[h->namelen++] = (char)p[i];
	}
	if (h->bytes > size_limit) {
		*code_r = 552;
		*enh_r = "5.3.4";
		*text_r = "Error: message header section too large";
		return -1;
	}
	/* With the Received: cleanup adds, at most hop_limit in all. */
	if (h->received >= hop_limit) {
		*code_r = 554;
		*enh_r = "5.4.6";
		*text_r = "Error: too many hops (Received: headers)";
		return -1;
	}
	return 0;
}

void
cleanup_date(char *buf, size_t sz, int64_t when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, sz, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
	    (off < 0 ? -off : off) % 60);
}

/*
 * "Received: by host (Tern, from userid UID) id QID; date", Postfix's;
 * mail Tern made itself (a bounce) has no user: "by host (Tern) id ...".
 */
static int
received_local(char *buf, size_t sz, const struct cleanup_rcvd *r,
    const char *date, const char *eol)
{
	if (r->internal)
		return snprintf(buf, sz, "Received: by %s (Tern)%s\tid %s; "
		    "%s%s", r->myhostname, eol, r->qid, date, eol);
	return snprintf(buf, sz, "Received: by %s (Tern, from userid %lld)%s"
	    "\tid %s; %s%s", r->myhostname, (long long)r->uid, eol, r->qid,
	    date, eol);
}

size_t
cleanup_received(char *buf, size_t sz, const struct cleanup_rcvd *r)
{
	const struct qfile_client *c = r->client;
	const char *eol = r->crlf ? "\r\n" : "\n";
	char date[64], forpart[600], tls[300];
	int n;

	cleanup_date(date, sizeof(date), r->when);
	if (c == NULL)
		n = received_local(buf, sz, r, date, eol);
	else {
		forpart[0] = tls[0] = '\0';
		if (r->rcpt != NULL)
			snprintf(forpart, sizeof(forpart), "%s\tfor <%s>", eol,
			    r->rcpt);
		if (r->tls_proto != NULL && r->tls_proto[0] != '\0' &&
		    (size_t)snprintf(tls, sizeof(tls), "\t(using %s with "
		    "cipher %s)%s", r->tls_proto, r->tls_cipher, eol) >=
		    sizeof(tls))
			return 0;
		n = snprintf(buf, sz, "Received: from %s (%s [%s])%s"
		    "%s\tby %s (Tern) with %s id %s%s;%s\t%s%s",
		    c->helo[0] ? c->helo : "unknown",
		    c->name[0] ? c->name : "unknown", c->addr, eol, tls,
		    r->myhostname, c->proto, r->qid, forpart, eol, date, eol);
	}
	if (n < 0 || (size_t)n >= sz)
		return 0;
	return (size_t)n;
}

/* ---- the header section of a local submission --------------------------- */

enum line_kind { L_MORE, L_END, L_BLANK, L_BODY, L_FIELD, L_CONT };

/* RFC 5322 2.2 ftext: printable US-ASCII except the colon. */
static bool
ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static bool
wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/*
 * What the line at q (n bytes known, eof: no more) is.  A field's name
 * is q[0 .. *namelen_r).  in_field: the line before was a field.
 */
static enum line_kind
line_kind(const uint8_t *q, size_t n, bool eof, bool in_field,
    size_t *namelen_r)
{
	size_t i, j;

	if (n == 0)
		return eof ? L_END : L_MORE;
	if (q[0] == '\n')
		return L_BLANK;
	if (q[0] == '\r') {
		if (n == 1)
			return eof ? L_BODY : L_MORE;
		return q[1] == '\n' ? L_BLANK : L_BODY;
	}
	if (wsp(q[0]))
		return in_field ? L_CONT : L_BODY;
	for (i = 0; i < n && i < CLEANUP_LINE_MAX && ftext(q[i]); i++)
		;
	for (j = i; j < n && j < CLEANUP_LINE_MAX && wsp(q[j]); j++)
		;
	if (j < n && j < CLEANUP_LINE_MAX) {
		if (i == 0 || q[j] != ':')
			return L_BODY;
		*namelen_r = i;
		return L_FIELD;
	}
	/* No colon yet: more may bring one, unless the line is too long. */
	if (eof || j >= CLEANUP_LINE_MAX)
		return L_BODY;
	return L_MORE;
}

static unsigned
field_bit(const uint8_t *name, size_t len)
{
	static const struct {
		const char	*name;
		unsigned	 bit;
	} fields[] = {
		{ "Message-ID", CLEANUP_HDR_MSGID },
		{ "Date", CLEANUP_HDR_DATE },
		{ "From", CLEANUP_HDR_FROM },
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i].name) == len &&
		    strncasecmp(fields[i].name, (const char *)name, len) == 0)
			return fields[i].bit;
	return 0;
}

/*
 * The line end style of the message: that of its first line, looked for
 * in its first CLEANUP_LINE_MAX + 2 bytes; CRLF when there is none.
 */
static enum cleanup_scan
first_eol(const uint8_t *p, size_t len, bool eof, bool *crlf_r)
{
	size_t max = CLEANUP_LINE_MAX + 2;
	const uint8_t *lf;

	lf = memchr(p, '\n', len < max ? len : max);
	if (lf == NULL) {
		if (!eof && len < max)
			return CLEANUP_SCAN_MORE;
		*crlf_r = true;
		return CLEANUP_SCAN_OK;
	}
	*crlf_r = lf > p && lf[-1] == '\r';
	return CLEANUP_SCAN_OK;
}

void
cleanup_hscan_init(struct cleanup_hscan *s)
{
	memset(s, 0, sizeof(*s));
}

enum cleanup_scan
cleanup_hscan(const uint8_t *p, size_t len, bool eof, struct cleanup_hscan *s)
{
	const uint8_t *lf;
	size_t namelen = 0;

	if (len == 0)
		p = (const uint8_t *)"";	/* never NULL + 0 */
	if (s->line > len || s->lf_from > len)
		return CLEANUP_SCAN_MORE;	/* misuse: a shorter message */
	for (;;) {
		s->end = s->line;
		/* Where the last call stopped: a line not yet classified. */
		if (s->lf_from == 0) {
			switch (line_kind(p + s->line, len - s->line, eof,
			    s->line > 0, &namelen)) {
			case L_MORE:
				return CLEANUP_SCAN_MORE;
			case L_END:
			case L_BLANK:
				return first_eol(p, len, eof, &s->crlf);
			case L_BODY:
				s->add_blank = true;
				return first_eol(p, len, eof, &s->crlf);
			case L_FIELD:
				s->seen |= field_bit(p + s->line, namelen);
				break;
			case L_CONT:
				break;
			}
			s->lf_from = s->line + 1;
		}
		/* A field or its continuation: up to the next line. */
		lf = memchr(p + s->lf_from, '\n', len - s->lf_from);
		if (lf == NULL) {
			s->end = s->lf_from = len;
			if (!eof)
				return CLEANUP_SCAN_MORE;
			s->add_eol = true;
			return first_eol(p, len, eof, &s->crlf);
		}
		s->line = (size_t)(lf - p) + 1;
		s->lf_from = 0;
	}
}

/* Append the C string s to buf[*off], keeping room for the NUL. */
static bool
put(char *buf, size_t sz, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (n >= sz - *off)
		return false;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return true;
}

size_t
cleanup_hadd(char *buf, size_t sz, const struct cleanup_hscan *s,
    const struct cleanup_fields *f)
{
	const char *eol = s->crlf ? "\r\n" : "\n";
	size_t off = 0;
	bool ok = sz > 0;

	if ((s->seen & CLEANUP_HDR_ALL) == CLEANUP_HDR_ALL) {
		if (sz > 0)
			buf[0] = '\0';
		return 0;
	}
	if (ok && s->add_eol)
		ok = put(buf, sz, &off, eol);
	if (ok && !(s->seen & CLEANUP_HDR_MSGID))
		ok = put(buf, sz, &off, "Message-ID: <") &&
		    put(buf, sz, &off, f->msgid) && put(buf, sz, &off, ">") &&
		    put(buf, sz, &off, eol);
	if (ok && !(s->seen & CLEANUP_HDR_DATE))
		ok = put(buf, sz, &off, "Date: ") &&
		    put(buf, sz, &off, f->date) && put(buf, sz, &off, eol);
	if (ok && !(s->seen & CLEANUP_HDR_FROM))
		ok = put(buf, sz, &off, "From: ") &&
		    put(buf, sz, &off, f->from) && put(buf, sz, &off, eol);
	if (ok && s->add_blank)
		ok = put(buf, sz, &off, eol);
	return ok ? off : (size_t)-1;
}

int
cleanup_from(char *buf, size_t sz, const char *sender, const char *myorigin)
{
	const char *p;
	int n;

	for (p = sender; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -1;
	if (sender[0] == '\0')
		n = snprintf(buf, sz, "MAILER-DAEMON@%s", myorigin);
	else if (strchr(sender, '@') == NULL)
		n = snprintf(buf, sz, "%s@%s", sender, myorigin);
	else
		n = snprintf(buf, sz, "%s", sender);
	if (n < 0 || (size_t)n >= sz)
		return -1;
	return 0;
}

/* atext of RFC 5322 3.2.3, and the space between words. */
static bool
phrase_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == ' ' ||
	    strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

static bool
put_b64(char *buf, size_t sz, size_t *off, const unsigned char *p, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[5];
	uint32_t v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		q[4] = '\0';
		if (!put(buf, sz, off, q))
			return false;
	}
	return true;
}

/* RFC 2047 encoded words, each at most 45 bytes of whole characters. */
static bool
put_encoded(char *buf, size_t sz, size_t *off, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), n;

	while (len > 0) {
		n = len > 45 ? 45 : len;
		/* Never cut before a UTF-8 continuation byte. */
		while (n < len && n > 1 && (p[n] & 0xc0) == 0x80)
			n--;
		if (!put(buf, sz, off, "=?UTF-8?B?") ||
		    !put_b64(buf, sz, off, p, n) || !put(buf, sz, off, "?="))
			return false;
		p += n;
		len -= n;
		if (len > 0 && !put(buf, sz, off, " "))
			return false;
	}
	return true;
}

static bool
put_quoted(char *buf, size_t sz, size_t *off, const char *name)
{
	char ch[3];

	if (!put(buf, sz, off, "\""))
		return false;
	for (; *name != '\0'; name++) {
		ch[0] = *name;
		ch[1] = '\0';
		if (*name == '"' || *name == '\\') {
			ch[0] = '\\';
			ch[1] = *name;
			ch[2] = '\0';
		}
		if (!put(buf, sz, off, ch))
			return false;
	}
	return put(buf, sz, off, "\"");
}

int
cleanup_from_name(char *buf, size_t sz, const char *name,
    const char *addrspec)
{
	const unsigned char *p;
	size_t off = 0, len = strlen(name);
	bool atoms = true, eight = false, ok;

	if (sz == 0 || len > CLEANUP_NAME_MAX)
		return -1;
	buf[0] = '\0';
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p & 0x80)
			eight = true;
		else if (!phrase_char(*p))
			atoms = false;
	}
	if (len == 0)
		return put(buf, sz, &off, addrspec) ? 0 : -1;
	if (name[0] == ' ' || name[len - 1] == ' ')
		atoms = false;
	if (eight)
		ok = put_encoded(buf, sz, &off, name);
	else if (atoms)
		ok = put(buf, sz, &off, name);
	else
		ok = put_quoted(buf, sz, &off, name);
	ok = ok && put(buf, sz, &off, " <") && put(buf, sz, &off, addrspec) &&
	    put(buf, sz, &off, ">");
	return ok ? 0 : -1;
}
