/*
 * SPDX-License-Identifier: ISC
 *
 * check_cleanup.c -- cleanup's content checks: the header section's
 * limits as content streams past in any pieces, the Received: header
 * (with TLS, and for a local submission), the scan of a local
 * submission's header section and the fields it gets, and the sweep of
 * stale temporary files.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* Feed text in pieces of n bytes; the result of the last feed. */
static int
feed(struct cleanup_headers *h, const char *text, size_t piece,
    uint64_t limit, unsigned hops, int *code, const char **enh)
{
	const char *text_r;
	size_t off, len = strlen(text), n;
	int r = 0;

	cleanup_headers_init(h);
	for (off = 0; off < len && r == 0; off += n) {
		n = len - off < piece ? len - off : piece;
		r = cleanup_headers_feed(h, (const uint8_t *)text + off, n,
		    limit, hops, code, enh, &text_r);
	}
	return r;
}

static const size_t pieces[] = { 1, 2, 3, 7, 64, 100000 };

START_TEST(test_hops_counted_in_any_pieces)
{
	const char *msg = "Received: a\r\nreceived: b\r\n\tcontinued\r\n"
	    "RECEIVED: c\r\nX-Received: no\r\nSubject: Received: no\r\n\r\n"
	    "Received: in the body does not count\r\n";
	struct cleanup_headers h;
	const char *enh;
	int code = 0;

	ck_assert_int_eq(feed(&h, msg, pieces[_i], 100000, 4, &code, &enh), 0);
	ck_assert_uint_eq(h.received, 3);
	ck_assert(h.done);
	/* Three and cleanup's own would be four: over a limit of 3. */
	ck_assert_int_eq(feed(&h, msg, pieces[_i], 100000, 3, &code, &enh),
	    -1);
	ck_assert_int_eq(code, 554);
	ck_assert_str_eq(enh, "5.4.6");
}
END_TEST

START_TEST(test_header_size_limit)
{
	struct cleanup_headers h;
	const char *enh;
	char big[3000];
	int code = 0;

	memset(big, 'x', sizeof(big));
	memcpy(big, "Subject: ", 9);
	strcpy(big + sizeof(big) - 8, "\r\n\r\nhi");
	ck_assert_int_eq(feed(&h, big, pieces[_i], 4096, 50, &code, &enh), 0);
	ck_assert_int_eq(feed(&h, big, pieces[_i], 2048, 50, &code, &enh), -1);
	ck_assert_int_eq(code, 552);
	ck_assert_str_eq(enh, "5.3.4");
}
END_TEST

START_TEST(test_body_size_not_header)
{
	struct cleanup_headers h;
	const char *enh;
	char *msg;
	int code = 0;

	/* A large body after a small header is not a header problem. */
	msg = malloc(20000);
	strcpy(msg, "Subject: s\r\n\r\n");
	memset(msg + 14, 'b', 19000);
	msg[19014] = '\0';
	ck_assert_int_eq(feed(&h, msg, pieces[_i], 1024, 50, &code, &enh), 0);
	ck_assert_uint_le(h.bytes, 14);
	free(msg);
}
END_TEST

static void
rcvd_init(struct cleanup_rcvd *r, const struct qfile_client *c)
{
	memset(r, 0, sizeof(*r));
	r->client = c;
	r->myhostname = "mx.example";
	r->qid = "QID1";
	r->crlf = true;
}

static void
client_init(struct qfile_client *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, "client.example");
	strcpy(c->addr, "192.0.2.7");
	strcpy(c->helo, "helo.example");
	strcpy(c->proto, "ESMTP");
}

START_TEST(test_received_header)
{
	struct qfile_client c;
	struct cleanup_rcvd r;
	char buf[1024];
	size_t n;

	client_init(&c);
	rcvd_init(&r, &c);
	r.rcpt = "rcpt@example";
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "Received: from helo.example "
	    "(client.example [192.0.2.7])\r\n\tby mx.example (Tern) with ESMTP "
	    "id QID1\r\n\tfor <rcpt@example>;\r\n\t"));
	ck_assert(n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n');
	ck_assert_ptr_null(strstr(buf, "using"));
	/* Several recipients: no "for". */
	r.rcpt = NULL;
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_ptr_null(strstr(buf, "for <"));
	/* Too small a buffer: 0, never a cut header. */
	ck_assert_uint_eq(cleanup_received(buf, 40, &r), 0);
	/* Unknown name and HELO are said so. */
	c.name[0] = c.helo[0] = '\0';
	cleanup_received(buf, sizeof(buf), &r);
	ck_assert_ptr_nonnull(strstr(buf, "from unknown (unknown "
	    "[192.0.2.7])"));
}
END_TEST

START_TEST(test_received_tls)
{
	const char *want = "Received: from helo.example "
	    "(client.example [192.0.2.7])\r\n"
	    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
	    "\tby mx.example (Tern) with ESMTPS id QID1\r\n"
	    "\tfor <rcpt@example>;\r\n\t";
	struct qfile_client c;
	struct cleanup_rcvd r;
	char buf[1024];
	size_t n;

	client_init(&c);
	strcpy(c.proto, "ESMTPS");
	rcvd_init(&r, &c);
	r.rcpt = "rcpt@example";
	r.tls_proto = "TLSv1.3";
	r.tls_cipher = "TLS_AES_256_GCM_SHA384";
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "%s", buf);
	/* An empty protocol is no TLS. */
	r.tls_proto = "";
	cleanup_received(buf, sizeof(buf), &r);
	ck_assert_ptr_null(strstr(buf, "using"));
	/* Cut: nothing. */
	r.tls_proto = "TLSv1.3";
	ck_assert_uint_eq(cleanup_received(buf, 100, &r), 0);
}
END_TEST

START_TEST(test_received_local)
{
	struct cleanup_rcvd r;
	char buf[1024], date[64], want[1024];
	size_t n;

	rcvd_init(&r, NULL);
	r.uid = 1000;
	r.rcpt = "rcpt@example";
	r.when = 1700000000;
	cleanup_date(date, sizeof(date), r.when);
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_uint_eq(n, strlen(buf));
	/* No client part, and no "for", as Postfix's. */
	snprintf(want, sizeof(want), "Received: by mx.example (Tern, from "
	    "userid 1000)\r\n\tid QID1; %s\r\n", date);
	ck_assert_str_eq(buf, want);
	/* The line ends of the message. */
	r.crlf = false;
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_ptr_nonnull(strstr(buf, "1000)\n\tid QID1; "));
	ck_assert_ptr_null(strchr(buf, '\r'));
}
END_TEST

START_TEST(test_received_internal)
{
	struct cleanup_rcvd r;
	char buf[1024], date[64], want[1024];
	size_t n;

	rcvd_init(&r, NULL);
	r.internal = true;
	r.uid = 1000;		/* not shown: a bounce has no user */
	r.when = 1700000000;
	cleanup_date(date, sizeof(date), r.when);
	n = cleanup_received(buf, sizeof(buf), &r);
	ck_assert_uint_eq(n, strlen(buf));
	snprintf(want, sizeof(want), "Received: by mx.example (Tern)\r\n"
	    "\tid QID1; %s\r\n", date);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(cleanup_received(buf, 30, &r), 0);
}
END_TEST

/* ---- the header section of a local submission ---------------------- */

#define ALL	CLEANUP_HDR_ALL
#define MSGID	CLEANUP_HDR_MSGID
#define DATE	CLEANUP_HDR_DATE
#define FROM	CLEANUP_HDR_FROM

struct hcase {
	const char	*head;		/* the section: fields go after it */
	const char	*rest;		/* what follows */
	unsigned	 seen;
	bool		 crlf, add_eol, add_blank;
};

static const struct hcase hcases[] = {
	/* All three there: nothing to add. */
	{ "From: a@example\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Message-ID: <m@example>\r\n", "\r\nbody\r\n", ALL, true, false,
	    false },
	{ "Subject: s\r\n", "\r\nbody", 0, true, false, false },
	/* Folded: a continuation line is no field, even with a colon. */
	{ "Subject: s\r\n continued from: x\r\nFROM:\r\n\tfolded\r\n",
	    "\r\nFrom: in the body\r\n", FROM, true, false, false },
	/* Names compare case-insensitively, and whole. */
	{ "message-id: <x>\r\nDATE: y\r\nfrom: z\r\n", "\r\n", ALL, true,
	    false, false },
	{ "X-From: a\r\nFrom-Me: b\r\nResent-Date: c\r\nMessage-ID-X: d\r\n",
	    "\r\nb", 0, true, false, false },
	/* No body. */
	{ "Subject: s\r\nDate: d\r\n", "", DATE, true, false, false },
	{ "Subject: s\r\nmessage-id: x", "", MSGID, true, true, false },
	/* A body without the empty line. */
	{ "Subject: s\r\n", "hello world\r\n", 0, true, false, true },
	{ "Subject: s\r\n", "From someone@example Mon Jan  1 00:00:00 2024\r\n",
	    0, true, false, true },
	{ "Subject: s\r\n", "\rx\r\n", 0, true, false, true },
	/* No header section at all. */
	{ "", "hello\r\n", 0, true, false, true },
	{ "", "", 0, true, false, false },
	{ "", "\r\nbody\r\n", 0, true, false, false },
	{ "", " indented: x\r\n", 0, true, false, true },
	{ "", ":x\r\n", 0, true, false, true },
	{ "", "S\xc3\xbc" "bject: x\r\n\r\n", 0, true, false, true },
	{ "", "no colon", 0, true, false, true },
	/* Bare LF line ends. */
	{ "Subject: s\nFrom: x\n", "\nbody\n", FROM, false, false, false },
	{ "", "hello\n", 0, false, false, true },
	{ "Date: d\n", "body\n", DATE, false, false, true },
	{ "Date: d\n", "", DATE, false, false, false },
	{ "Subject: s\n", "\r\nbody", 0, false, false, false },
	/* Obsolete syntax: white space before the colon. */
	{ "Date : x\r\nFrom\t: y\r\n", "\r\n", DATE | FROM, true, false,
	    false },
};

/* A scan of the first len bytes on their own. */
static enum cleanup_scan
scan(const char *p, size_t len, bool eof, struct cleanup_hscan *s)
{
	cleanup_hscan_init(s);
	return cleanup_hscan((const uint8_t *)p, len, eof, s);
}

/* The answers, not where the scans stopped. */
static void
same(const struct cleanup_hscan *a, const struct cleanup_hscan *b)
{
	ck_assert_uint_eq(a->end, b->end);
	ck_assert_uint_eq(a->seen, b->seen);
	ck_assert(a->crlf == b->crlf);
	ck_assert(a->add_eol == b->add_eol);
	ck_assert(a->add_blank == b->add_blank);
}

static void
hcheck(const struct cleanup_hscan *s, const struct hcase *hc, const char *why)
{
	ck_assert_msg(s->end == strlen(hc->head), "%s: end %zu, not %zu",
	    why, s->end, strlen(hc->head));
	ck_assert_msg(s->seen == hc->seen, "%s: seen %x", why, s->seen);
	ck_assert_msg(s->crlf == hc->crlf, "%s: crlf", why);
	ck_assert_msg(s->add_eol == hc->add_eol, "%s: add_eol", why);
	ck_assert_msg(s->add_blank == hc->add_blank, "%s: add_blank", why);
}

/*
 * Scan every prefix a sender in pieces of piece bytes would give: each
 * on its own says MORE or the final answer; and going on from the scan
 * of the prefix before, as cleanup does while it buffers, the same.
 */
static void
hscan_pieces(const char *msg, size_t len, size_t piece,
    const struct cleanup_hscan *final)
{
	struct cleanup_hscan s, inc;
	enum cleanup_scan r = CLEANUP_SCAN_MORE;
	size_t have;

	cleanup_hscan_init(&inc);
	for (have = piece; ; have += piece) {
		if (have > len)
			have = len;
		if (scan(msg, have, false, &s) == CLEANUP_SCAN_OK)
			same(&s, final);
		if (r == CLEANUP_SCAN_MORE &&
		    (r = cleanup_hscan((const uint8_t *)msg, have, false,
		    &inc)) == CLEANUP_SCAN_OK)
			same(&inc, final);
		if (r == CLEANUP_SCAN_MORE)
			ck_assert_uint_le(inc.end, final->end);
		if (have == len)
			break;
	}
	if (r == CLEANUP_SCAN_MORE)
		ck_assert_int_eq(cleanup_hscan((const uint8_t *)msg, len, true,
		    &inc), CLEANUP_SCAN_OK);
	same(&inc, final);
}

static const struct cleanup_fields tfields = {
	.msgid = "QID1@mx.example",
	.date = "Tue, 14 Nov 2023 22:13:20 +0000",
	.from = "user@example.org",
};

START_TEST(test_hscan)
{
	const struct hcase *hc = &hcases[_i];
	struct cleanup_hscan s, s2;
	char msg[512], added[512], again[1024];
	size_t len, n, i;

	snprintf(msg, sizeof(msg), "%s%s", hc->head, hc->rest);
	len = strlen(msg);
	ck_assert_int_eq(scan(msg, len, true, &s), CLEANUP_SCAN_OK);
	hcheck(&s, hc, msg);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		hscan_pieces(msg, len, pieces[i], &s);

	/* With the fields added, a scan finds all three, and adds none. */
	n = cleanup_hadd(added, sizeof(added), &s, &tfields);
	ck_assert_uint_ne(n, (size_t)-1);
	ck_assert_uint_eq(n, strlen(added));
	ck_assert(n == 0 || strstr(added, s.crlf ? "\r\n" : "\n") != NULL);
	ck_assert(s.crlf || strchr(added, '\r') == NULL);
	snprintf(again, sizeof(again), "%s%s%s", hc->head, added, hc->rest);
	ck_assert_int_eq(scan(again, strlen(again), true, &s2),
	    CLEANUP_SCAN_OK);
	ck_assert_uint_eq(s2.seen, ALL);
	ck_assert_uint_eq(cleanup_hadd(added, sizeof(added), &s2, &tfields),
	    0);
	if (hc->seen == ALL)
		ck_assert_str_eq(again, msg);
}
END_TEST

START_TEST(test_hscan_long_lines)
{
	struct cleanup_hscan s;
	char *msg;
	size_t len;

	/* A name longer than a line can be is no name. */
	msg = malloc(4000);
	memset(msg, 'a', 1200);
	strcpy(msg + 1200, ": x\r\n\r\n");
	len = strlen(msg);
	ck_assert_int_eq(scan(msg, 1000, false, &s), CLEANUP_SCAN_OK);
	ck_assert_uint_eq(s.end, 0);
	ck_assert(s.add_blank);
	/* 998 bytes tell it is no field, not yet what its line end is. */
	ck_assert_int_eq(scan(msg, 998, false, &s), CLEANUP_SCAN_MORE);
	ck_assert_int_eq(scan(msg, 997, false, &s), CLEANUP_SCAN_MORE);
	ck_assert_uint_eq(s.end, 0);
	/* A long field is header section as far as it goes. */
	memcpy(msg, "X:", 2);
	ck_assert_int_eq(scan(msg, 1100, false, &s), CLEANUP_SCAN_MORE);
	ck_assert_uint_eq(s.end, 1100);
	ck_assert_int_eq(scan(msg, len, false, &s), CLEANUP_SCAN_OK);
	ck_assert_uint_eq(s.end, len - 2);
	/* Its line end came too late to tell the style: CRLF. */
	strcpy(msg + 1200, ": x\n\n");
	ck_assert_int_eq(scan(msg, len - 2, false, &s), CLEANUP_SCAN_OK);
	ck_assert(s.crlf);
	free(msg);
}
END_TEST

START_TEST(test_hscan_more)
{
	struct cleanup_hscan s;

	/* Only a next byte can tell whether a field goes on. */
	ck_assert_int_eq(scan("Date: x\r\n", 9, false, &s),
	    CLEANUP_SCAN_MORE);
	ck_assert_uint_eq(s.end, 9);
	ck_assert_int_eq(scan("Date: x\r\n\r", 10, false, &s),
	    CLEANUP_SCAN_MORE);
	ck_assert_uint_eq(s.end, 9);
	ck_assert_int_eq(scan("Date: x\r\nFro", 12, false, &s),
	    CLEANUP_SCAN_MORE);
	ck_assert_uint_eq(s.end, 9);
	ck_assert_int_eq(scan("", 0, false, &s), CLEANUP_SCAN_MORE);
	/* A body line with no line end yet: its style is not known. */
	ck_assert_int_eq(scan("hello", 5, false, &s), CLEANUP_SCAN_MORE);
	ck_assert_int_eq(scan("hello", 5, true, &s), CLEANUP_SCAN_OK);
	ck_assert(s.crlf && s.add_blank && s.end == 0);
	ck_assert_int_eq(scan(NULL, 0, true, &s), CLEANUP_SCAN_OK);
}
END_TEST

/*
 * A large header section one byte at a time, going on each time: the
 * same answer, and (with CK_DEFAULT_TIMEOUT) no quadratic rescan.
 */
START_TEST(test_hscan_incremental)
{
	struct cleanup_hscan s, inc;
	size_t len = 0, have, i;
	char *msg;

	msg = malloc(2 * 1024 * 1024 + 100);
	for (i = 0; i < 4000; i++)
		len += (size_t)sprintf(msg + len, "X-%zu: %0480zu\r\n", i, i);
	/* One field longer than any line may be, folded or not. */
	memcpy(msg + len, "Subject: ", 9);
	memset(msg + len + 9, 's', 100000);
	len += 100009;
	len += (size_t)sprintf(msg + len, "\r\n\tmore\r\nDate: d\r\n\r\nb");
	ck_assert_int_eq(scan(msg, len, true, &s), CLEANUP_SCAN_OK);
	ck_assert_uint_eq(s.end, len - 3);
	ck_assert_uint_eq(s.seen, DATE);
	cleanup_hscan_init(&inc);
	for (have = 0; have < len; have++)
		if (cleanup_hscan((const uint8_t *)msg, have, false, &inc) ==
		    CLEANUP_SCAN_OK)
			break;
	same(&inc, &s);
	ck_assert_uint_eq(have, len - 1);	/* up to the empty line's LF */
	free(msg);
}
END_TEST

START_TEST(test_hadd)
{
	struct cleanup_hscan s;
	char buf[512];

	memset(&s, 0, sizeof(s));
	s.crlf = true;
	ck_assert_uint_eq(cleanup_hadd(buf, sizeof(buf), &s, &tfields), 94);
	ck_assert_str_eq(buf, "Message-ID: <QID1@mx.example>\r\n"
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: user@example.org\r\n");
	s.seen = MSGID | FROM;
	s.add_eol = s.add_blank = true;
	s.crlf = false;
	cleanup_hadd(buf, sizeof(buf), &s, &tfields);
	ck_assert_str_eq(buf, "\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\n");
	/* Nothing missing: nothing added, not even a line end. */
	s.seen = ALL;
	ck_assert_uint_eq(cleanup_hadd(buf, sizeof(buf), &s, &tfields), 0);
	ck_assert_str_eq(buf, "");
	/* Too small: never a cut field. */
	s.seen = 0;
	ck_assert_uint_eq(cleanup_hadd(buf, 40, &s, &tfields), (size_t)-1);
	ck_assert_uint_eq(cleanup_hadd(buf, 0, &s, &tfields), (size_t)-1);
}
END_TEST

START_TEST(test_from)
{
	char buf[64];

	ck_assert_int_eq(cleanup_from(buf, sizeof(buf), "a@example.org",
	    "origin.example"), 0);
	ck_assert_str_eq(buf, "a@example.org");
	ck_assert_int_eq(cleanup_from(buf, sizeof(buf), "",
	    "origin.example"), 0);
	ck_assert_str_eq(buf, "MAILER-DAEMON@origin.example");
	ck_assert_int_eq(cleanup_from(buf, sizeof(buf), "joe",
	    "origin.example"), 0);
	ck_assert_str_eq(buf, "joe@origin.example");
	/* No way to end the line early. */
	ck_assert_int_eq(cleanup_from(buf, sizeof(buf), "a@b\r\nBcc: x",
	    "o"), -1);
	ck_assert_int_eq(cleanup_from(buf, sizeof(buf), "a\177@b", "o"), -1);
	ck_assert_int_eq(cleanup_from(buf, 10, "a@example.org", "o"), -1);
}
END_TEST

START_TEST(test_from_name)
{
	char buf[256], name[CLEANUP_NAME_MAX + 2];

	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), "", "a@b.example"),
	    0);
	ck_assert_str_eq(buf, "a@b.example");
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), "Joe User",
	    "a@b.example"), 0);
	ck_assert_str_eq(buf, "Joe User <a@b.example>");
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), "Joe Q. \"J\\\"",
	    "a@b.example"), 0);
	ck_assert_str_eq(buf, "\"Joe Q. \\\"J\\\\\\\"\" <a@b.example>");
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), " lead",
	    "a@b.example"), 0);
	ck_assert_str_eq(buf, "\" lead\" <a@b.example>");
	/* 8-bit: encoded words, never cut inside a character. */
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), "J\xc3\xb6rg",
	    "a@b.example"), 0);
	ck_assert_str_eq(buf, "=?UTF-8?B?SsO2cmc=?= <a@b.example>");
	memset(name, 'a', 44);
	memcpy(name + 44, "\xc3\xa9z", 4);
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), name,
	    "a@b.example"), 0);
	ck_assert_str_eq(buf, "=?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"
	    "YWFhYWFhYWFhYWFhYWFhYWE=?= =?UTF-8?B?w6l6?= <a@b.example>");
	/* Refused: control characters, too long, no room. */
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), "a\r\nBcc: x",
	    "a@b.example"), -1);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(cleanup_from_name(buf, sizeof(buf), name, "a@b"), -1);
	ck_assert_int_eq(cleanup_from_name(buf, 12, "Joe", "a@b.example"), -1);
}
END_TEST

START_TEST(test_date)
{
	char buf[64];

	/* RFC 5322 3.3: "Tue, 14 Nov 2023 22:13:20 +0000" in UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	cleanup_date(buf, sizeof(buf), 1700000000);
	ck_assert_str_eq(buf, "Tue, 14 Nov 2023 22:13:20 +0000");
	setenv("TZ", "EST5", 1);
	tzset();
	cleanup_date(buf, sizeof(buf), 1700000000);
	ck_assert_str_eq(buf, "Tue, 14 Nov 2023 17:13:20 -0500");
	unsetenv("TZ");
	tzset();
}
END_TEST

/* ---- the sweep of stale temporary files ---------------------------- */

static int
mkfile(int dirfd, const char *name, time_t mtime)
{
	struct timespec ts[2];
	int fd;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(futimens(fd, ts), 0);
	return fd;
}

static bool
exists(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

START_TEST(test_sweep)
{
	char dir[] = "/tmp/check_cleanup.XXXXXX";
	struct timespec ts[2];
	time_t now = time(NULL), old = now - 3600;
	int dirfd, locked, fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ne(dirfd, -1);
	close(mkfile(dirfd, "t.old", old));
	close(mkfile(dirfd, "t.young", now - 60));
	close(mkfile(dirfd, "t.future", now + 3600));
	close(mkfile(dirfd, "queued", old));
	close(mkfile(dirfd, "target", old));
	/* A live writer: its lock keeps an old file. */
	locked = mkfile(dirfd, "t.locked", old);
	ck_assert_int_eq(flock(locked, LOCK_EX), 0);
	/* Only regular files, never through a link. */
	ck_assert_int_eq(symlinkat("target", dirfd, "t.link"), 0);
	ck_assert_int_eq(mkfifoat(dirfd, "t.fifo", 0600), 0);
	ck_assert_int_eq(mkdirat(dirfd, "t.dir", 0700), 0);
	ts[0].tv_sec = ts[1].tv_sec = old;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(dirfd, "t.link", ts, AT_SYMLINK_NOFOLLOW),
	    0);
	ck_assert_int_eq(utimensat(dirfd, "t.fifo", ts, 0), 0);
	ck_assert_int_eq(utimensat(dirfd, "t.dir", ts, 0), 0);

	ck_assert_int_eq(cleanup_sweep(dirfd, "dir", now, 600), 1);
	ck_assert(!exists(dirfd, "t.old"));
	ck_assert(exists(dirfd, "t.young"));
	ck_assert(exists(dirfd, "t.future"));
	ck_assert(exists(dirfd, "t.locked"));
	ck_assert(exists(dirfd, "queued"));
	ck_assert(exists(dirfd, "target"));
	ck_assert(exists(dirfd, "t.link"));
	ck_assert(exists(dirfd, "t.fifo"));
	ck_assert(exists(dirfd, "t.dir"));

	/* The writer gone (abort, crash), its file is stale. */
	close(locked);
	ck_assert_int_eq(cleanup_sweep(dirfd, "dir", now, 600), 1);
	ck_assert(!exists(dirfd, "t.locked"));
	/* Lock held through another descriptor of this process, too. */
	fd = mkfile(dirfd, "t.mine", old);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(cleanup_sweep(dirfd, "dir", now, 600), 0);
	close(fd);
	ck_assert_int_eq(cleanup_sweep(dirfd, "dir", now + 7200, 600), 3);
	ck_assert(!exists(dirfd, "t.young"));
	ck_assert(!exists(dirfd, "t.future"));
	ck_assert(!exists(dirfd, "t.mine"));

	ck_assert_int_eq(unlinkat(dirfd, "queued", 0), 0);
	ck_assert_int_eq(unlinkat(dirfd, "target", 0), 0);
	ck_assert_int_eq(unlinkat(dirfd, "t.link", 0), 0);
	ck_assert_int_eq(unlinkat(dirfd, "t.fifo", 0), 0);
	ck_assert_int_eq(unlinkat(dirfd, "t.dir", AT_REMOVEDIR), 0);
	close(dirfd);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *
cleanup_suite(void)
{
	Suite *s = suite_create("cleanup");
	TCase *tc;
	int np = (int)(sizeof(pieces) / sizeof(pieces[0]));

	tc = tcase_create("headers");
	tcase_add_loop_test(tc, test_hops_counted_in_any_pieces, 0, np);
	tcase_add_loop_test(tc, test_header_size_limit, 0, np);
	tcase_add_loop_test(tc, test_body_size_not_header, 0, np);
	suite_add_tcase(s, tc);

	tc = tcase_create("received");
	tcase_add_test(tc, test_received_header);
	tcase_add_test(tc, test_received_tls);
	tcase_add_test(tc, test_received_local);
	tcase_add_test(tc, test_received_internal);
	tcase_add_test(tc, test_date);
	suite_add_tcase(s, tc);

	tc = tcase_create("local");
	tcase_add_loop_test(tc, test_hscan, 0,
	    (int)(sizeof(hcases) / sizeof(hcases[0])));
	tcase_add_test(tc, test_hscan_long_lines);
	tcase_add_test(tc, test_hscan_more);
	tcase_add_test(tc, test_hscan_incremental);
	tcase_add_test(tc, test_hadd);
	tcase_add_test(tc, test_from);
	tcase_add_test(tc, test_from_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("sweep");
	tcase_add_test(tc, test_sweep);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cleanup_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
