/*
 * SPDX-License-Identifier: ISC
 *
 * check_dsn.c -- unit tests for lib/dsn.c: the notices are parsed back
 * (header, MIME parts, delivery-status fields) and checked field by
 * field, for every kind, every RET, ORCPT, long and hostile diagnostics,
 * 8-bit and SMTPUTF8 originals, and content that holds a would-be
 * boundary.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dsn.h"

#define QID	"01JN7W803RJ000GGZZZZZZZZ"
#define NONCE	0x2a

static const char ORIG[] =
    "Received: from client (client [192.0.2.1])\r\n"
    "\tby mx.example (Tern) with ESMTP id " QID ";\r\n"
    "\tTue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: a@example.org\r\n"
    "To: b@example.net\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "the body\r\n"
    "second line\r\n";

/* ---- the notice under test ---------------------------------------------- */

struct fx {
	struct qfile	 q;
	struct dsn_rcpt	 r[200];
	struct dsn_notice n;
	struct dsn	 d;
	struct buf	 out;
	uint8_t		*content;
	struct qfile_range ranges[4096];
};

static struct fx fx;

/* The content, cut into pieces of piece bytes (0: one range). */
static void
set_content(const void *p, size_t len, size_t piece)
{
	size_t off = 0, k = 0;

	free(fx.content);
	fx.content = malloc(len + 1);
	memcpy(fx.content, p, len);
	fx.q.base = fx.content;
	fx.q.base_len = len;
	if (piece == 0)
		piece = len > 0 ? len : 1;
	while (off < len) {
		ck_assert_uint_lt(k, 4096);
		fx.ranges[k].off = off;
		fx.ranges[k].len = len - off < piece ? len - off : piece;
		off += fx.ranges[k].len;
		k++;
	}
	fx.q.content = fx.ranges;
	fx.q.ncontent = k;
	fx.q.content_size = len;
}

static void
rcpt(size_t i, const char *addr, const char *action, const char *status,
    const char *relay, const char *diag, bool smtp)
{
	memset(&fx.r[i], 0, sizeof(fx.r[i]));
	fx.r[i].addr = addr;
	fx.r[i].orcpt_type = "";
	fx.r[i].orcpt = "";
	fx.r[i].action = action;
	fx.r[i].status = status;
	fx.r[i].remote_mta = relay;
	fx.r[i].diag = diag;
	fx.r[i].diag_smtp = smtp;
	if (fx.n.nrcpt < i + 1)
		fx.n.nrcpt = i + 1;
}

static void
setup(void)
{
	memset(&fx.q, 0, sizeof(fx.q));
	fx.content = NULL;
	fx.q.arrival_sec = 1700000000;
	fx.q.has_client = true;
	strcpy(fx.q.client.name, "client.example.org");
	strcpy(fx.q.client.addr, "192.0.2.1");
	strcpy(fx.q.client.helo, "helo.example.org");
	strcpy(fx.q.client.proto, "ESMTP");
	strcpy(fx.q.sender.addr, "a@example.org");
	set_content(ORIG, strlen(ORIG), 0);
	memset(&fx.n, 0, sizeof(fx.n));
	fx.n.kind = DSN_FAILURE;
	fx.n.orig = &fx.q;
	fx.n.queue_id = QID;
	fx.n.rcpts = fx.r;
	fx.n.myhostname = "mx.example";
	fx.n.from = "MAILER-DAEMON@example";
	fx.n.to = "a@example.org";
	fx.n.now = 1700000100;
	fx.n.size_limit = 50000;
	fx.n.nonce = NONCE;
	rcpt(0, "b@example.net", "failed", "5.1.1",
	    "mx.example.net[192.0.2.9]:25",
	    "550 5.1.1 <b@example.net>: Recipient address rejected", true);
	dsn_init(&fx.d);
	buf_init(&fx.out, 1u << 30);
}

static void
teardown(void)
{
	dsn_clear(&fx.d);
	buf_clear(&fx.out);
	free(fx.content);
	fx.content = NULL;
}

static const char *
compose(void)
{
	const char *err = NULL;

	buf_reset(&fx.out);
	if (dsn_compose(&fx.d, &fx.n, "NEWQID@mx.example", &fx.out,
	    &err) == -1)
		ck_abort_msg("dsn_compose: %s", err);
	return buf_cstr(&fx.out);
}

static const char *
compose_err(void)
{
	const char *err = NULL;

	buf_reset(&fx.out);
	ck_assert_int_eq(dsn_compose(&fx.d, &fx.n, "x@y", &fx.out, &err), -1);
	ck_assert_ptr_nonnull(err);
	return err;
}

/* ---- parsing the notice back -------------------------------------------- */

/* Every line ends in CRLF, none longer than 998, no NUL. */
static void
check_lines(const struct buf *b)
{
	size_t i, col = 0;

	ck_assert_uint_gt(b->len, 2);
	ck_assert(b->data[b->len - 2] == '\r' && b->data[b->len - 1] == '\n');
	for (i = 0; i < b->len; i++) {
		ck_assert_int_ne(b->data[i], 0);
		if (b->data[i] == '\r') {
			ck_assert_uint_lt(i + 1, b->len);
			ck_assert_int_eq(b->data[i + 1], '\n');
			ck_assert_uint_le(col, DSN_LINE_MAX);
			col = 0;
			i++;
			continue;
		}
		ck_assert_int_ne(b->data[i], '\n');
		col++;
	}
}

/*
 * The unfolded value of field name in the header section text[0..len)
 * (up to the first empty line), or NULL; the k-th such field (0 first).
 */
static char *
field(const char *text, size_t len, const char *name, int k)
{
	const char *p = text, *end = text + len, *eol, *v;
	size_t nl = strlen(name);
	char *out;
	size_t o = 0;

	while (p < end) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return NULL;		/* end of the section */
		if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':' && k-- == 0) {
			v = p + nl + 1;
			while (*v == ' ')
				v++;
			out = malloc((size_t)(end - v) + 1);
			for (;;) {
				eol = strstr(v, "\r\n");
				ck_assert_ptr_nonnull(eol);
				memcpy(out + o, v, (size_t)(eol - v));
				o += (size_t)(eol - v);
				v = eol + 2;
				if (*v != ' ' && *v != '\t')
					break;
			}
			out[o] = '\0';
			return out;
		}
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			return NULL;
		p = eol + 2;
	}
	return NULL;
}

static void
assert_field(const char *text, const char *name, const char *want)
{
	char *v = field(text, strlen(text), name, 0);

	ck_assert_msg(v != NULL, "no %s field", name);
	ck_assert_str_eq(v, want);
	free(v);
}

static bool
has_field(const char *text, const char *name)
{
	char *v = field(text, strlen(text), name, 0);

	free(v);
	return v != NULL;
}

struct part {
	char	*head;		/* the part's header section, CRLF-ended */
	char	*body;
};

struct notice {
	char	*head;
	char	 boundary[80];
	struct part parts[4];
	int	 nparts;
};

static char *
dup_range(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Split the notice: its header, the boundary, the parts. */
static void
parse(const char *msg, struct notice *nt)
{
	const char *body, *p, *next, *hend;
	char delim[100], *ct, *b;
	size_t dl;

	memset(nt, 0, sizeof(*nt));
	body = strstr(msg, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	nt->head = dup_range(msg, (size_t)(body - msg) + 2);
	body += 4;
	ct = field(nt->head, strlen(nt->head), "Content-Type", 0);
	ck_assert_ptr_nonnull(ct);
	b = strstr(ct, "boundary=\"");
	ck_assert_ptr_nonnull(b);
	b += 10;
	ck_assert_ptr_nonnull(strchr(b, '"'));
	*strchr(b, '"') = '\0';
	ck_assert_uint_le(strlen(b), DSN_BOUNDARY_MAX);
	strcpy(nt->boundary, b);
	free(ct);
	snprintf(delim, sizeof(delim), "\r\n--%s", nt->boundary);
	dl = strlen(delim);
	/* The first delimiter follows the preamble's empty line. */
	p = strstr(body - 2, delim);
	ck_assert_ptr_nonnull(p);
	p += dl;
	while (strncmp(p, "--\r\n", 4) != 0) {
		ck_assert(strncmp(p, "\r\n", 2) == 0);
		p += 2;
		next = strstr(p, delim);
		ck_assert_ptr_nonnull(next);
		ck_assert_int_lt(nt->nparts, 4);
		hend = strstr(p, "\r\n\r\n");
		ck_assert(hend != NULL && hend <= next);
		nt->parts[nt->nparts].head = dup_range(p,
		    (size_t)(hend - p) + 2);
		nt->parts[nt->nparts].body = dup_range(hend + 4,
		    (size_t)(next - hend - 4));
		nt->nparts++;
		p = next + dl;
	}
	/* Nothing after the close delimiter but its CRLF. */
	ck_assert_str_eq(p, "--\r\n");
}

static void
notice_free(struct notice *nt)
{
	int i;

	free(nt->head);
	for (i = 0; i < nt->nparts; i++) {
		free(nt->parts[i].head);
		free(nt->parts[i].body);
	}
}

/* The k-th recipient group of a delivery-status body (0 is per-message). */
static char *
group(const char *body, int k)
{
	const char *p = body, *e;

	while (k-- > 0) {
		p = strstr(p, "\r\n\r\n");
		ck_assert_ptr_nonnull(p);
		p += 4;
	}
	e = strstr(p, "\r\n\r\n");
	return e != NULL ? dup_range(p, (size_t)(e - p) + 4) :
	    dup_range(p, strlen(p));
}

static int
ngroups(const char *body)
{
	int n = 1;
	const char *p = body;

	while ((p = strstr(p, "\r\n\r\n")) != NULL && p[4] != '\0') {
		n++;
		p += 4;
	}
	return n;
}

/* Does part 1 say s, once its wrapped lines are joined again? */
static bool
text_has(const char *body, const char *s)
{
	char *u = malloc(strlen(body) + 1), *o = u;
	const char *p = body;
	bool found;

	while (*p != '\0') {
		if (strncmp(p, "\r\n    ", 6) == 0) {
			*o++ = ' ';
			p += 6;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	found = strstr(u, s) != NULL;
	free(u);
	return found;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_failure)
{
	struct notice nt;
	const char *msg = compose();
	char *g;

	check_lines(&fx.out);
	parse(msg, &nt);
	assert_field(nt.head, "From",
	    "Mail Delivery System <MAILER-DAEMON@example>");
	assert_field(nt.head, "To", "<a@example.org>");
	assert_field(nt.head, "Subject", "Undelivered Mail Returned to Sender");
	assert_field(nt.head, "Message-ID", "<NEWQID@mx.example>");
	assert_field(nt.head, "Auto-Submitted", "auto-replied");
	assert_field(nt.head, "MIME-Version", "1.0");
	assert_field(nt.head, "Date", "Tue, 14 Nov 2023 22:15:00 +0000");
	ck_assert_str_eq(nt.boundary, QID ".0000002A/Tern");
	ck_assert_ptr_nonnull(strstr(nt.head, "multipart/report; "
	    "report-type=delivery-status;"));
	ck_assert(!has_field(nt.head, "Content-Transfer-Encoding"));
	ck_assert_int_eq(nt.nparts, 3);
	ck_assert(!fx.d.utf8 && !fx.d.eightbit && !fx.d.cut);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);

	/* Part 1: words. */
	assert_field(nt.parts[0].head, "Content-Type",
	    "text/plain; charset=us-ascii");
	ck_assert(text_has(nt.parts[0].body,
	    "This is the mail system at host mx.example."));
	ck_assert(text_has(nt.parts[0].body, "<b@example.net>: "
	    "host mx.example.net said: 550 5.1.1 <b@example.net>: Recipient"));

	/* Part 2: the report. */
	assert_field(nt.parts[1].head, "Content-Type",
	    "message/delivery-status");
	ck_assert_int_eq(ngroups(nt.parts[1].body), 2);
	g = group(nt.parts[1].body, 0);
	assert_field(g, "Reporting-MTA", "dns; mx.example");
	assert_field(g, "X-Tern-Queue-ID", QID);
	assert_field(g, "X-Tern-Sender", "rfc822; a@example.org");
	assert_field(g, "Received-From-MTA",
	    "dns; helo.example.org (client.example.org [192.0.2.1])");
	assert_field(g, "Arrival-Date", "Tue, 14 Nov 2023 22:13:20 +0000");
	ck_assert(!has_field(g, "Original-Envelope-Id"));
	free(g);
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Final-Recipient", "rfc822; b@example.net");
	ck_assert(!has_field(g, "Original-Recipient"));
	assert_field(g, "Action", "failed");
	assert_field(g, "Status", "5.1.1");
	assert_field(g, "Remote-MTA", "dns; mx.example.net");
	assert_field(g, "Diagnostic-Code", "smtp; 550 5.1.1 <b@example.net>: "
	    "Recipient address rejected");
	assert_field(g, "Last-Attempt-Date", "Tue, 14 Nov 2023 22:15:00 +0000");
	ck_assert(!has_field(g, "Will-Retry-Until"));
	free(g);

	/* Part 3: the original header section, exactly. */
	assert_field(nt.parts[2].head, "Content-Type", "text/rfc822-headers");
	ck_assert_str_eq(nt.parts[2].body, "Received: from client (client "
	    "[192.0.2.1])\r\n\tby mx.example (Tern) with ESMTP id " QID
	    ";\r\n\tTue, 14 Nov 2023 22:13:20 +0000\r\nFrom: a@example.org"
	    "\r\nTo: b@example.net\r\nSubject: hello\r\n");
	notice_free(&nt);
}
END_TEST

START_TEST(test_several_and_local)
{
	struct notice nt;
	char *g;

	rcpt(1, "c@example.net", "failed", "5.2.2", "", "mailbox full", false);
	rcpt(2, "d@example.net", "failed", "4.4.1", "",
	    "connect to mx.example.net: Connection timed out", false);
	fx.q.has_client = false;
	strcpy(fx.q.sender.envid, "ENV-1");
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert_int_eq(ngroups(nt.parts[1].body), 4);
	g = group(nt.parts[1].body, 0);
	assert_field(g, "Original-Envelope-Id", "ENV-1");
	ck_assert(!has_field(g, "Received-From-MTA"));
	free(g);
	g = group(nt.parts[1].body, 2);
	assert_field(g, "Final-Recipient", "rfc822; c@example.net");
	assert_field(g, "Status", "5.2.2");
	assert_field(g, "Diagnostic-Code", "x-unix; mailbox full");
	ck_assert(!has_field(g, "Remote-MTA"));
	free(g);
	g = group(nt.parts[1].body, 3);
	assert_field(g, "Status", "4.4.1");
	assert_field(g, "Action", "failed");
	free(g);
	ck_assert(text_has(nt.parts[0].body,
	    "<c@example.net>: mailbox full"));
	ck_assert(text_has(nt.parts[0].body, "<d@example.net>: "
	    "connect to mx.example.net: Connection timed out"));
	notice_free(&nt);
}
END_TEST

START_TEST(test_delay)
{
	struct notice nt;
	char *g;

	fx.n.kind = DSN_DELAY;
	fx.n.retry_until = 1700432000;
	rcpt(0, "b@example.net", "delayed", "4.4.1", "", "connection refused",
	    false);
	parse(compose(), &nt);
	check_lines(&fx.out);
	assert_field(nt.head, "Subject", "Delayed Mail (still being retried)");
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Action", "delayed");
	assert_field(g, "Will-Retry-Until", "Sun, 19 Nov 2023 22:13:20 +0000");
	free(g);
	ck_assert(text_has(nt.parts[0].body,
	    "Sun, 19 Nov 2023 22:13:20 +0000"));
	assert_field(nt.parts[2].head, "Content-Description",
	    "Message Headers");
	notice_free(&nt);
}
END_TEST

START_TEST(test_success)
{
	struct notice nt;
	char *g;

	fx.n.kind = DSN_SUCCESS;
	rcpt(0, "b@example.net", "delivered", "2.0.0", "", "delivered to "
	    "maildir", false);
	rcpt(1, "c@example.net", "relayed", "2.0.0", "mx.example.net",
	    "250 2.0.0 Ok", true);
	/* RET=FULL is for failures: a success returns the headers. */
	fx.q.sender.ret = QFILE_RET_FULL;
	parse(compose(), &nt);
	check_lines(&fx.out);
	assert_field(nt.head, "Subject", "Successful Mail Delivery Report");
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Action", "delivered");
	assert_field(g, "Status", "2.0.0");
	free(g);
	g = group(nt.parts[1].body, 2);
	assert_field(g, "Action", "relayed");
	assert_field(g, "Remote-MTA", "dns; mx.example.net");
	free(g);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);
	assert_field(nt.parts[2].head, "Content-Type", "text/rfc822-headers");
	notice_free(&nt);
}
END_TEST

/* Each kind takes only its own actions and status classes. */
static const struct {
	enum dsn_kind	 kind;
	const char	*action, *status;
	bool		 ok;
} kinds[] = {
	{ DSN_FAILURE, "failed", "5.0.0", true },
	{ DSN_FAILURE, "failed", "4.4.7", true },
	{ DSN_FAILURE, "failed", "2.0.0", false },
	{ DSN_FAILURE, "delayed", "5.0.0", false },
	{ DSN_FAILURE, "delivered", "5.0.0", false },
	{ DSN_DELAY, "delayed", "4.0.0", true },
	{ DSN_DELAY, "delayed", "5.0.0", false },
	{ DSN_DELAY, "failed", "4.0.0", false },
	{ DSN_SUCCESS, "delivered", "2.0.0", true },
	{ DSN_SUCCESS, "relayed", "2.1.5", true },
	{ DSN_SUCCESS, "expanded", "2.0.0", true },
	{ DSN_SUCCESS, "delivered", "4.0.0", false },
	{ DSN_SUCCESS, "failed", "2.0.0", false },
	{ DSN_FAILURE, "failed", "5.1", false },
	{ DSN_FAILURE, "failed", "5.1.1000", false },
	{ DSN_FAILURE, "failed", "3.1.1", false },
	{ DSN_FAILURE, "failed", "", false },
	{ DSN_FAILURE, "FAILED", "5.1.1", false },
};

START_TEST(test_kinds)
{
	const char *err;

	fx.n.kind = kinds[_i].kind;
	rcpt(0, "b@example.net", kinds[_i].action, kinds[_i].status, "",
	    "x", false);
	if (kinds[_i].ok) {
		compose();
		check_lines(&fx.out);
	} else {
		err = compose_err();
		ck_assert_str_eq(err, "action or status does not fit the kind");
	}
}
END_TEST

START_TEST(test_bad_input)
{
	fx.n.to = "";
	ck_assert_str_eq(compose_err(), "no recipient for the notice");
	fx.n.to = "a@example.org";
	fx.n.nrcpt = 0;
	ck_assert_str_eq(compose_err(), "no recipient to report on");
	fx.n.nrcpt = 1;
	fx.r[0].addr = "";
	compose_err();
}
END_TEST

START_TEST(test_kind_names)
{
	enum dsn_kind k;

	ck_assert_int_eq(dsn_kind_parse("failure", &k), 0);
	ck_assert_int_eq(k, DSN_FAILURE);
	ck_assert_int_eq(dsn_kind_parse("delay", &k), 0);
	ck_assert_int_eq(k, DSN_DELAY);
	ck_assert_int_eq(dsn_kind_parse("success", &k), 0);
	ck_assert_int_eq(k, DSN_SUCCESS);
	ck_assert_int_eq(dsn_kind_parse("Failure", &k), -1);
	ck_assert_str_eq(dsn_kind_name(DSN_DELAY), "delay");
	ck_assert(dsn_status_valid("5.7.1"));
	ck_assert(dsn_status_valid("2.123.456"));
	ck_assert(!dsn_status_valid("5.7.1 "));
	ck_assert(!dsn_status_valid("5..1"));
}
END_TEST

START_TEST(test_ret_full)
{
	struct notice nt;

	fx.q.sender.ret = QFILE_RET_FULL;
	/* Content in 7-byte records: a record boundary means nothing. */
	set_content(ORIG, strlen(ORIG), 7);
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_FULL);
	ck_assert(!fx.d.cut);
	assert_field(nt.parts[2].head, "Content-Type", "message/rfc822");
	assert_field(nt.parts[2].head, "Content-Description",
	    "Undelivered Message");
	ck_assert_str_eq(nt.parts[2].body, ORIG);
	ck_assert(text_has(nt.parts[0].body,
	    "The message is returned below."));
	notice_free(&nt);
}
END_TEST

START_TEST(test_ret_full_too_big)
{
	struct notice nt;

	fx.q.sender.ret = QFILE_RET_FULL;
	fx.n.size_limit = strlen(ORIG) - 1;
	parse(compose(), &nt);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);
	ck_assert(fx.d.cut);
	assert_field(nt.parts[2].head, "Content-Type", "text/rfc822-headers");
	ck_assert_ptr_null(strstr(nt.parts[2].body, "the body"));
	ck_assert(text_has(nt.parts[0].body, "Only the header "
	    "section of the message is returned: the whole message is "
	    "larger than"));
	notice_free(&nt);

	/* Binary content is never returned whole. */
	fx.n.size_limit = 50000;
	fx.q.sender.flags = QFILE_BINARYMIME;
	parse(compose(), &nt);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);
	ck_assert(fx.d.cut);
	ck_assert(text_has(nt.parts[0].body, "BINARYMIME"));
	notice_free(&nt);
}
END_TEST

START_TEST(test_ret_hdrs)
{
	struct notice nt;

	fx.q.sender.ret = QFILE_RET_HDRS;
	parse(compose(), &nt);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);
	ck_assert(!fx.d.cut);
	ck_assert_ptr_null(strstr(nt.parts[2].body, "the body"));
	ck_assert_ptr_nonnull(strstr(nt.parts[2].body, "Subject: hello\r\n"));
	notice_free(&nt);
}
END_TEST

START_TEST(test_headers_cut)
{
	struct notice nt;
	size_t cut;

	/* Up to "To:" fits, "Subject:" does not: cut between fields. */
	cut = (size_t)(strstr(ORIG, "Subject:") - ORIG);
	fx.n.size_limit = cut + 3;
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_HEADERS);
	ck_assert(fx.d.cut);
	ck_assert_uint_eq(fx.d.ret_bytes, cut);
	ck_assert_uint_eq(strlen(nt.parts[2].body), cut);
	ck_assert_int_eq(strncmp(nt.parts[2].body, ORIG, cut), 0);
	ck_assert(text_has(nt.parts[0].body, "the rest was cut"));
	notice_free(&nt);

	/* Not even the first field (a folded Received:) fits: no part 3. */
	fx.n.size_limit = 60;
	parse(compose(), &nt);
	ck_assert_int_eq(fx.d.returned, DSN_RETURN_NONE);
	ck_assert_int_eq(nt.nparts, 2);
	ck_assert(text_has(nt.parts[0].body, "The message is not "
	    "returned"));
	notice_free(&nt);
}
END_TEST

START_TEST(test_orcpt)
{
	struct notice nt;
	char *g;

	fx.r[0].orcpt_type = "rfc822";
	fx.r[0].orcpt = "alias@example.net";
	parse(compose(), &nt);
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Final-Recipient", "rfc822; b@example.net");
	assert_field(g, "Original-Recipient", "rfc822; alias@example.net");
	free(g);
	ck_assert(text_has(nt.parts[0].body,
	    "<b@example.net> (originally alias@example.net): "));
	notice_free(&nt);
}
END_TEST

START_TEST(test_long_diagnostic)
{
	struct notice nt;
	char *diag, *g, *v;
	size_t i;

	/* 5000 bytes without a space: cut, and split into lines. */
	diag = malloc(5001);
	memset(diag, 'x', 5000);
	diag[5000] = '\0';
	fx.r[0].diag = diag;
	parse(compose(), &nt);
	check_lines(&fx.out);
	g = group(nt.parts[1].body, 1);
	v = field(g, strlen(g), "Diagnostic-Code", 0);
	ck_assert_ptr_nonnull(v);
	/* Unfolded: the forced breaks each left one space behind. */
	ck_assert_int_eq(strncmp(v, "smtp; xxx", 9), 0);
	ck_assert_ptr_nonnull(strstr(v, "x..."));
	ck_assert_uint_le(strlen(v), 6 + DSN_DIAG_MAX + 3 + 5);
	free(v);
	free(g);
	notice_free(&nt);

	/* Words: folded at spaces, nothing lost when unfolded. */
	for (i = 0; i < 5000; i++)
		diag[i] = i % 10 == 9 ? ' ' : 'a' + (char)(i % 10);
	diag[1999] = 'z';
	fx.r[0].diag = diag;
	parse(compose(), &nt);
	check_lines(&fx.out);
	g = group(nt.parts[1].body, 1);
	v = field(g, strlen(g), "Diagnostic-Code", 0);
	ck_assert_int_eq(strncmp(v + 6, diag, DSN_DIAG_MAX), 0);
	ck_assert_str_eq(v + 6 + DSN_DIAG_MAX, "...");
	/* Folded into lines of at most 78 where there are spaces. */
	ck_assert_ptr_null(strstr(g, "abcdefghi abcdefghi abcdefghi "
	    "abcdefghi abcdefghi abcdefghi abcdefghi abcdefghi"));
	free(v);
	free(g);
	notice_free(&nt);
	free(diag);
}
END_TEST

START_TEST(test_hostile_diagnostic)
{
	struct notice nt;
	char *g;

	/* A multi-line reply with a header injection and control bytes. */
	fx.r[0].diag = "550-5.1.1 first\r\n550 5.1.1 second\r\n\r\n"
	    "X-Evil: 1\x01\x1b[31m\x7f \xff\xfe end";
	fx.r[0].remote_mta = "evil\r\nhost[1.2.3.4]";
	parse(compose(), &nt);
	check_lines(&fx.out);
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Diagnostic-Code", "smtp; 550-5.1.1 first 550 5.1.1 "
	    "second X-Evil: 1 [31m ?? end");
	ck_assert(!has_field(g, "Remote-MTA"));
	ck_assert(!has_field(g, "X-Evil"));
	free(g);
	ck_assert_int_eq(ngroups(nt.parts[1].body), 2);
	ck_assert(!fx.d.eightbit);
	notice_free(&nt);
}
END_TEST

START_TEST(test_relay_forms)
{
	static const struct {
		const char *relay, *want;
	} c[] = {
		{ "mx.example.net", "dns; mx.example.net" },
		{ "mx.example.net[192.0.2.1]:25", "dns; mx.example.net" },
		{ "[192.0.2.1]:25", "dns; [192.0.2.1]" },
		{ "[IPv6:2001:db8::1]", "dns; [IPv6:2001:db8::1]" },
		{ "dovecot[127.0.0.1]:24", "dns; dovecot" },
		{ "bad host", NULL },
		{ "", NULL },
	};
	struct notice nt;
	size_t i;
	char *g;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		fx.r[0].remote_mta = c[i].relay;
		parse(compose(), &nt);
		g = group(nt.parts[1].body, 1);
		if (c[i].want != NULL)
			assert_field(g, "Remote-MTA", c[i].want);
		else
			ck_assert(!has_field(g, "Remote-MTA"));
		free(g);
		notice_free(&nt);
	}
}
END_TEST

START_TEST(test_8bit_original)
{
	static const char m[] = "Subject: caf\xc3\xa9\r\n\r\n"
	    "d\xc3\xa9j\xc3\xa0 vu\r\n";
	struct notice nt;

	fx.q.sender.flags = QFILE_8BITMIME;
	fx.q.sender.ret = QFILE_RET_FULL;
	set_content(m, strlen(m), 3);
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert(fx.d.eightbit);
	ck_assert(!fx.d.utf8);
	assert_field(nt.head, "Content-Transfer-Encoding", "8bit");
	assert_field(nt.parts[2].head, "Content-Type", "message/rfc822");
	assert_field(nt.parts[2].head, "Content-Transfer-Encoding", "8bit");
	ck_assert_str_eq(nt.parts[2].body, m);
	/* The report itself stays 7-bit. */
	assert_field(nt.parts[1].head, "Content-Type",
	    "message/delivery-status");
	ck_assert(!has_field(nt.parts[1].head, "Content-Transfer-Encoding"));
	notice_free(&nt);
}
END_TEST

START_TEST(test_smtputf8)
{
	static const char m[] = "From: j\xc3\xb6rg@example.org\r\n"
	    "Subject: gr\xc3\xbc\xc3\x9f\x65\r\n\r\nbody\r\n";
	struct notice nt;
	char *g;

	fx.q.sender.flags = QFILE_SMTPUTF8 | QFILE_8BITMIME;
	strcpy(fx.q.sender.addr, "j\xc3\xb6rg@example.org");
	fx.n.to = "j\xc3\xb6rg@example.org";
	set_content(m, strlen(m), 0);
	rcpt(0, "b\xc3\xbc+x@example.net", "failed", "5.1.1", "",
	    "no such user: b\xc3\xbc+x \xff", false);
	fx.r[0].orcpt_type = "utf-8";
	fx.r[0].orcpt = "b\xc3\xbc=y@example.net";
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert(fx.d.utf8 && fx.d.eightbit);
	assert_field(nt.head, "To", "<j\xc3\xb6rg@example.org>");
	ck_assert_ptr_nonnull(strstr(nt.head,
	    "report-type=global-delivery-status;"));
	assert_field(nt.parts[0].head, "Content-Type",
	    "text/plain; charset=utf-8");
	assert_field(nt.parts[1].head, "Content-Type",
	    "message/global-delivery-status");
	assert_field(nt.parts[2].head, "Content-Type",
	    "message/global-headers");
	g = group(nt.parts[1].body, 0);
	assert_field(g, "X-Tern-Sender", "utf-8; j\xc3\xb6rg@example.org");
	free(g);
	g = group(nt.parts[1].body, 1);
	assert_field(g, "Final-Recipient",
	    "utf-8; b\xc3\xbc\\x{2B}x@example.net");
	assert_field(g, "Original-Recipient",
	    "utf-8; b\xc3\xbc\\x{3D}y@example.net");
	/* Invalid UTF-8 in a diagnostic never gets through. */
	assert_field(g, "Diagnostic-Code",
	    "x-unix; no such user: b\xc3\xbc+x ?");
	free(g);
	ck_assert_str_eq(nt.parts[2].body, "From: j\xc3\xb6rg@example.org\r\n"
	    "Subject: gr\xc3\xbc\xc3\x9f\x65\r\n");
	notice_free(&nt);
}
END_TEST

START_TEST(test_boundary_in_content)
{
	char m[1024], b0[80], b1[80];
	struct notice nt;

	/* The first two candidates, in the body and in a header. */
	snprintf(b0, sizeof(b0), "%s.%08X/Tern", QID, NONCE);
	snprintf(b1, sizeof(b1), "%s.%08X/Tern", QID, NONCE + 1);
	snprintf(m, sizeof(m), "Subject: x\r\nX-B: --%s\r\n\r\n--%s\r\n"
	    "--%s--\r\n", b1, b0, b0);
	fx.q.sender.ret = QFILE_RET_FULL;
	set_content(m, strlen(m), 0);
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert_str_ne(nt.boundary, b0);
	ck_assert_str_ne(nt.boundary, b1);
	ck_assert_int_eq(nt.nparts, 3);
	ck_assert_str_eq(nt.parts[2].body, m);
	notice_free(&nt);

	/* In a diagnostic too. */
	set_content(ORIG, strlen(ORIG), 0);
	snprintf(m, sizeof(m), "550 --%s", b0);
	fx.r[0].diag = m;
	parse(compose(), &nt);
	ck_assert_str_eq(nt.boundary, b1);
	ck_assert_int_eq(nt.nparts, 3);
	notice_free(&nt);
}
END_TEST

START_TEST(test_long_lines_and_odd_ends)
{
	struct buf m;
	struct notice nt;
	size_t i;

	/* A 3000-byte header field, bare LF and CR, a NUL, no last CRLF. */
	buf_init(&m, 1 << 20);
	buf_addstr(&m, "X-Long: ");
	for (i = 0; i < 3000; i++)
		buf_add(&m, "h", 1);
	buf_addstr(&m, "\r\nX-Bare: a\rb\nSubject: s\r\n\r\n");
	for (i = 0; i < 2500; i++)
		buf_add(&m, i == 997 ? "\xc3\xa9" : "b", i == 997 ? 2 : 1);
	buf_add(&m, "\nnul\0x\rlast", 11);
	fx.q.sender.ret = QFILE_RET_FULL;
	fx.q.sender.flags = QFILE_8BITMIME;
	set_content(m.data, m.len, 1000);
	parse(compose(), &nt);
	check_lines(&fx.out);
	/* The long field is folded, so still one field; the CR a space. */
	ck_assert(has_field(nt.parts[2].body, "X-Long"));
	assert_field(nt.parts[2].body, "X-Bare", "a b");
	assert_field(nt.parts[2].body, "Subject", "s");
	/* The body line is split before the two-byte character. */
	ck_assert_ptr_nonnull(strstr(nt.parts[2].body, "b\r\n\xc3\xa9"));
	ck_assert_ptr_nonnull(strstr(nt.parts[2].body,
	    "\r\nnul x\r\nlast\r\n"));
	notice_free(&nt);
	buf_clear(&m);
}
END_TEST

START_TEST(test_no_blank_line)
{
	static const char m[] = "Subject: a\r\nFrom: b@c\r\nnot a field\r\n"
	    "more\r\n";
	struct notice nt;

	set_content(m, strlen(m), 0);
	parse(compose(), &nt);
	ck_assert_str_eq(nt.parts[2].body, "Subject: a\r\nFrom: b@c\r\n");
	notice_free(&nt);
	/* Only header fields and no body: all of it. */
	set_content("Subject: a", 10, 0);
	parse(compose(), &nt);
	ck_assert_str_eq(nt.parts[2].body, "Subject: a\r\n");
	notice_free(&nt);
}
END_TEST

START_TEST(test_many_rcpts)
{
	static char addrs[150][32];
	struct notice nt;
	size_t i;

	for (i = 0; i < 150; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "r%zu@example.net", i);
		rcpt(i, addrs[i], "failed", "5.1.1", "", "unknown", false);
	}
	parse(compose(), &nt);
	check_lines(&fx.out);
	ck_assert_int_eq(ngroups(nt.parts[1].body), 151);
	ck_assert(text_has(nt.parts[0].body, "<r99@example.net>"));
	ck_assert(!text_has(nt.parts[0].body, "<r100@example.net>"));
	ck_assert(text_has(nt.parts[0].body, "and 50 more"));
	ck_assert_ptr_nonnull(strstr(nt.parts[1].body,
	    "rfc822; r149@example.net"));
	notice_free(&nt);
}
END_TEST

static int	fail_after;

static int
failing_out(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return fail_after-- > 0 ? 0 : -1;
}

START_TEST(test_write_errors)
{
	const char *err;
	int i;

	ck_assert_int_eq(dsn_prepare(&fx.d, &fx.n, &err), 0);
	for (i = 0; i < 8; i++) {
		fail_after = i;
		ck_assert_int_eq(dsn_write(&fx.d, "a@b", failing_out, NULL),
		    -1);
	}
	fail_after = 100;
	ck_assert_int_eq(dsn_write(&fx.d, "a@b", failing_out, NULL), 0);
	/* A Message-ID that would break the header. */
	ck_assert_int_eq(dsn_write(&fx.d, "a\r\nb@c", failing_out, NULL), -1);
	ck_assert_int_eq(dsn_write(&fx.d, "", failing_out, NULL), -1);
}
END_TEST

static Suite *
dsn_suite(void)
{
	Suite *s = suite_create("dsn");
	TCase *tc = tcase_create("compose");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_failure);
	tcase_add_test(tc, test_several_and_local);
	tcase_add_test(tc, test_delay);
	tcase_add_test(tc, test_success);
	tcase_add_loop_test(tc, test_kinds, 0,
	    (int)(sizeof(kinds) / sizeof(kinds[0])));
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_ret_full);
	tcase_add_test(tc, test_ret_full_too_big);
	tcase_add_test(tc, test_ret_hdrs);
	tcase_add_test(tc, test_headers_cut);
	tcase_add_test(tc, test_orcpt);
	tcase_add_test(tc, test_long_diagnostic);
	tcase_add_test(tc, test_hostile_diagnostic);
	tcase_add_test(tc, test_relay_forms);
	tcase_add_test(tc, test_8bit_original);
	tcase_add_test(tc, test_smtputf8);
	tcase_add_test(tc, test_boundary_in_content);
	tcase_add_test(tc, test_long_lines_and_odd_ends);
	tcase_add_test(tc, test_no_blank_line);
	tcase_add_test(tc, test_many_rcpts);
	tcase_add_test(tc, test_write_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Dates in the notice are local time: make it UTC. */
	setenv("TZ", "UTC", 1);
	tzset();
	sr = srunner_create(dsn_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
