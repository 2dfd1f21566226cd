/*
 * SPDX-License-Identifier: ISC
 *
 * check_maildrop.c -- unit tests for lib/maildrop.c: the writer's exact
 * bytes and its refusals, the strict parser on good and hostile files
 * (one rejection per check), the limits, address checks, address lists
 * and "sendmail -t" extraction with Bcc: removal.
 *
 * Process:  test runner (Check), no privilege.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "maildrop.h"

static int
parse_str(const char *s, struct maildrop *md, const char **err)
{
	return maildrop_parse((const uint8_t *)s, strlen(s), 0, md, err);
}

/* ---- writer and parser ------------------------------------------------- */

START_TEST(test_write_exact)
{
	struct maildrop_list l;
	struct maildrop md;
	struct buf out;
	const char *err;
	const char want[] = "TERNDROP1\nS joe\nN Joe User\nR a@example.org\n"
	    "R bob\nL 12\nSubject: x\n\n";

	maildrop_list_init(&l);
	ck_assert_int_eq(maildrop_list_add(&l, "a@example.org", 13), 0);
	ck_assert_int_eq(maildrop_list_add(&l, "bob", 3), 0);
	ck_assert_int_eq(maildrop_list_add(&l, "bob", 3), 0);	/* dup */
	ck_assert_uint_eq(l.n, 2);
	buf_init(&out, 4096);
	ck_assert_int_eq(maildrop_write(&out, "joe", "Joe User", &l,
	    "Subject: x\n\n", 12, &err), 0);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, out.len);

	ck_assert_int_eq(maildrop_parse(out.data, out.len, 0, &md, &err), 0);
	ck_assert_str_eq(md.sender, "joe");
	ck_assert_str_eq(md.fullname, "Joe User");
	ck_assert_uint_eq(md.rcpts.n, 2);
	ck_assert_str_eq(md.rcpts.v[0], "a@example.org");
	ck_assert_str_eq(md.rcpts.v[1], "bob");
	ck_assert_uint_eq(md.content_len, 12);
	ck_assert_mem_eq(md.content, "Subject: x\n\n", 12);
	maildrop_clear(&md);
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

START_TEST(test_write_null_sender_binary_content)
{
	struct maildrop_list l;
	struct maildrop md;
	struct buf out;
	const char *err;
	const uint8_t content[] = { 0, '\r', '\n', 0xff, '.', '\n', 'x' };

	maildrop_list_init(&l);
	maildrop_list_add(&l, "r@\xc3\xa9.example", 12);
	buf_init(&out, 4096);
	ck_assert_int_eq(maildrop_write(&out, "", NULL, &l, content,
	    sizeof(content), &err), 0);
	ck_assert_int_eq(maildrop_parse(out.data, out.len, 100, &md, &err), 0);
	ck_assert_str_eq(md.sender, "");
	ck_assert_str_eq(md.fullname, "");
	ck_assert_uint_eq(md.content_len, sizeof(content));
	ck_assert_mem_eq(md.content, content, sizeof(content));
	maildrop_clear(&md);
	/* The content limit applies. */
	ck_assert_int_eq(maildrop_parse(out.data, out.len, 6, &md, &err), -1);
	ck_assert_str_eq(err, "bad content length");
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

START_TEST(test_write_refuses)
{
	struct maildrop_list l, none;
	struct buf out;
	const char *err;
	char name[MAILDROP_NAME_MAX + 2];

	maildrop_list_init(&l);
	maildrop_list_init(&none);
	maildrop_list_add(&l, "a@b.example", 11);
	buf_init(&out, 100);
	ck_assert_int_eq(maildrop_write(&out, "x\ny", NULL, &l, "", 0, &err),
	    -1);
	ck_assert_str_eq(err, "bad sender address");
	ck_assert_int_eq(maildrop_write(&out, "x", "a\nS evil", &l, "", 0,
	    &err), -1);
	ck_assert_str_eq(err, "bad full name");
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(maildrop_write(&out, "x", name, &l, "", 0, &err), -1);
	ck_assert_int_eq(maildrop_write(&out, "x", NULL, &none, "", 0, &err),
	    -1);
	ck_assert_str_eq(err, "no recipients");
	/* out's max: nothing half written stays. */
	ck_assert_int_eq(maildrop_write(&out, "x", NULL, &l, "0123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789", 80, &err), -1);
	ck_assert_str_eq(err, "message too long");
	ck_assert_uint_eq(out.len, 0);
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

static const struct {
	const char	*file;
	const char	*err;		/* NULL: accepted */
} files[] = {
	{ "TERNDROP1\nS a\nR b\nL 0\n", NULL },
	{ "TERNDROP1\nS \nR b\nL 2\nhi", NULL },
	{ "TERNDROP1\nS a@b.example\nN \nR b\nL 0\n", NULL },
	{ "", "bad magic" },
	{ "TERNDROP2\nS a\nR b\nL 0\n", "bad magic" },
	{ "TERNDROP1", "bad magic" },
	{ "TERNDROP1\r\nS a\nR b\nL 0\n", "bad magic" },
	{ "TERNDROP1\nR b\nL 0\n", "missing sender line" },
	{ "TERNDROP1\nSa\nR b\nL 0\n", "missing sender line" },
	{ "TERNDROP1\nS a b\nR b\nL 0\n", "sender: bad address" },
	{ "TERNDROP1\nS a\x01\nR b\nL 0\n", "sender: bad address" },
	{ "TERNDROP1\nS a\r\nR b\nL 0\n", "sender: bad address" },
	{ "TERNDROP1\nS <a@b>\nR b\nL 0\n", "sender: bad address" },
	{ "TERNDROP1\nS a\n", "truncated envelope" },
	{ "TERNDROP1\nS a\nN x\tz\nR b\nL 0\n", "bad full name" },
	{ "TERNDROP1\nS a\nN x\nN y\nR b\nL 0\n", "unexpected envelope line" },
	{ "TERNDROP1\nS a\nR \nL 0\n", "recipient: bad address" },
	{ "TERNDROP1\nS a\nR b@@c\nL 0\n", "recipient: bad address" },
	{ "TERNDROP1\nS a\nR b@-c.example\nL 0\n", "recipient: bad address" },
	{ "TERNDROP1\nS a\nL 0\n", "no recipients" },
	{ "TERNDROP1\nS a\nR b\nS c\nL 0\n", "unexpected envelope line" },
	{ "TERNDROP1\nS a\nR b\nN c\nL 0\n", "unexpected envelope line" },
	{ "TERNDROP1\nS a\nR b\nL\n", "truncated envelope" },
	{ "TERNDROP1\nS a\nR b\nL \n", "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL 01\nx", "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL -1\n", "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL 1x\nx", "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL 99999999999999999999999\n",
	  "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL 18446744073709551616\n",
	  "bad content length" },
	{ "TERNDROP1\nS a\nR b\nL 3\nab", "truncated content" },
	{ "TERNDROP1\nS a\nR b\nL 1\nab", "data after the content" },
	{ "TERNDROP1\nS a\nR b\n", "truncated envelope" },
};

START_TEST(test_parse_table)
{
	struct maildrop md;
	const char *err = NULL;
	int rc;

	rc = parse_str(files[_i].file, &md, &err);
	if (files[_i].err == NULL) {
		ck_assert_msg(rc == 0, "%d: %s", _i, err);
		maildrop_clear(&md);
	} else {
		ck_assert_msg(rc == -1, "%d accepted", _i);
		ck_assert_str_eq(err, files[_i].err);
		ck_assert_uint_eq(md.rcpts.n, 0);
	}
}
END_TEST

START_TEST(test_parse_long_values)
{
	char addr[MAILDROP_ADDR_MAX + 10], file[2 * MAILDROP_ADDR_MAX];
	struct maildrop md;
	const char *err;

	/* A local part over 64 bytes is not an RFC 5321 mailbox. */
	memset(addr, 'a', 70);
	strcpy(addr + 70, "@example.org");
	snprintf(file, sizeof(file), "TERNDROP1\nS a\nR %s\nL 0\n", addr);
	ck_assert_int_eq(parse_str(file, &md, &err), -1);
	/* A line longer than any value can be is not looked at to its end. */
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	snprintf(file, sizeof(file), "TERNDROP1\nS %s\nR b\nL 0\n", addr);
	ck_assert_int_eq(parse_str(file, &md, &err), -1);
	ck_assert_str_eq(err, "missing sender line");
}
END_TEST

START_TEST(test_too_many_recipients)
{
	struct maildrop_list l;
	struct maildrop md;
	struct buf out;
	const char *err;
	char a[32];
	size_t i;

	maildrop_list_init(&l);
	for (i = 0; i < MAILDROP_RCPT_MAX; i++) {
		snprintf(a, sizeof(a), "u%zu", i);
		ck_assert_int_eq(maildrop_list_add(&l, a, strlen(a)), 0);
	}
	ck_assert_int_eq(maildrop_list_add(&l, "one-more", 8), -1);
	buf_init(&out, MAILDROP_ENVELOPE_MAX);
	ck_assert_int_eq(maildrop_write(&out, "s", NULL, &l, "", 0, &err), 0);
	ck_assert_int_eq(maildrop_parse(out.data, out.len, 0, &md, &err), 0);
	ck_assert_uint_eq(md.rcpts.n, MAILDROP_RCPT_MAX);
	maildrop_clear(&md);
	/* One more R line than allowed. */
	buf_truncate(&out, out.len - 4);	/* "L 0\n" */
	buf_addstr(&out, "R extra\nL 0\n");
	ck_assert_int_eq(maildrop_parse(out.data, out.len, 0, &md, &err), -1);
	ck_assert_str_eq(err, "too many recipients");
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

START_TEST(test_size_max)
{
	ck_assert_uint_eq(maildrop_size_max(1000), 1000 + MAILDROP_ENVELOPE_MAX);
	ck_assert_uint_eq(maildrop_size_max(0),
	    MAILDROP_CONTENT_HARD_MAX + MAILDROP_ENVELOPE_MAX);
	ck_assert_uint_eq(maildrop_size_max(UINT64_MAX),
	    MAILDROP_CONTENT_HARD_MAX + MAILDROP_ENVELOPE_MAX);
}
END_TEST

/* ---- addresses ------------------------------------------------------------ */

static const struct {
	const char	*addr;
	bool		 sender_ok, rcpt_ok;
} addrs[] = {
	{ "", true, false },
	{ "root", true, true },
	{ "user@example.org", true, true },
	{ "\"john doe\"@example.org", true, true },
	{ "j\xc3\xb6rg@example.org", true, true },
	{ "a@[192.0.2.1]", true, true },
	{ "<a@example.org>", false, false },
	{ "a@", false, false },
	{ "@example.org", false, false },
	{ "a b@example.org", false, false },
	{ "a@b@c", false, false },
	{ "a\n@b", false, false },
	{ "a@exa mple.org", false, false },
	{ "a\xff@example.org", false, false },
};

START_TEST(test_addr_ok)
{
	const char *a = addrs[_i].addr;

	ck_assert_msg(maildrop_addr_ok(a, strlen(a), true) == addrs[_i].sender_ok,
	    "sender %s", a);
	ck_assert_msg(maildrop_addr_ok(a, strlen(a), false) == addrs[_i].rcpt_ok,
	    "recipient %s", a);
}
END_TEST

static const struct {
	const char	*list;
	const char	*want;		/* addresses joined by " ", or NULL */
} alists[] = {
	{ "a@x.example", "a@x.example" },
	{ " a@x.example , b@y.example ", "a@x.example b@y.example" },
	{ "Alice <a@x.example>", "a@x.example" },
	{ "\"Doe, John\" <j@x.example>, k@x.example", "j@x.example k@x.example" },
	{ "j@x.example (John, Doe (the (nested)) one)", "j@x.example" },
	{ "team: a@x.example, b@x.example;, c@x.example",
	  "a@x.example b@x.example c@x.example" },
	{ "undisclosed-recipients:;", "" },
	{ "\"q\\\"x\"@x.example", "\"q\\\"x\"@x.example" },
	{ "a@x.example,\r\n\tb@x.example", "a@x.example b@x.example" },
	{ "a@[IPv6:2001:db8::1]", "a@[IPv6:2001:db8::1]" },
	{ "a@x.example, a@x.example", "a@x.example" },
	{ "root", "root" },
	{ ",,,", "" },
	{ "Alice <a@x.example", NULL },
	{ "a@x.example>", NULL },
	{ "<<a@x.example>>", NULL },
	{ "\"unterminated@x.example", NULL },
	{ "a@x.example (unterminated", NULL },
	{ "((((((((((((((((((deep))))))))))))))))))", NULL },
	{ "not an address", NULL },
	{ "a@@x.example", NULL },
	{ "<a@x.example, b@x.example>", NULL },
};

static void
joined(const struct maildrop_list *l, char *buf, size_t sz)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strlcat(buf, " ", sz);
		strlcat(buf, l->v[i], sz);
	}
}

START_TEST(test_alist)
{
	struct maildrop_list l;
	const char *err = NULL;
	char got[1024];
	int rc;

	maildrop_list_init(&l);
	rc = maildrop_parse_alist(alists[_i].list, strlen(alists[_i].list),
	    &l, &err);
	if (alists[_i].want == NULL)
		ck_assert_msg(rc == -1, "%s accepted", alists[_i].list);
	else {
		ck_assert_msg(rc == 0, "%s: %s", alists[_i].list, err);
		joined(&l, got, sizeof(got));
		ck_assert_str_eq(got, alists[_i].want);
	}
	maildrop_list_clear(&l);
}
END_TEST

START_TEST(test_alist_long_address)
{
	struct maildrop_list l;
	const char *err;
	char list[2 * MAILDROP_ADDR_MAX];

	maildrop_list_init(&l);
	/* A long display name is fine: only the address counts. */
	memset(list, 'n', MAILDROP_ADDR_MAX + 10);
	strcpy(list + MAILDROP_ADDR_MAX + 10, " <a@x.example>");
	ck_assert_int_eq(maildrop_parse_alist(list, strlen(list), &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	memset(list, 'a', MAILDROP_ADDR_MAX + 10);
	strcpy(list + MAILDROP_ADDR_MAX + 10, "@x.example");
	ck_assert_int_eq(maildrop_parse_alist(list, strlen(list), &l, &err), -1);
	ck_assert_str_eq(err, "address too long in a To:, Cc: or Bcc: field");
	maildrop_list_clear(&l);
}
END_TEST

/* ---- sendmail -t ---------------------------------------------------------- */

static int
extract(const char *msg, size_t hdr_max, struct maildrop_list *l,
    struct buf *out, const char **err)
{
	maildrop_list_init(l);
	buf_init(out, 1 << 20);
	return maildrop_extract((const uint8_t *)msg, strlen(msg), hdr_max, l,
	    out, err);
}

START_TEST(test_extract)
{
	struct maildrop_list l;
	struct buf out;
	const char *err;
	char got[1024];
	const char msg[] =
	    "From: me@x.example\r\n"
	    "to: A <a@x.example>,\r\n"
	    "  b@x.example\r\n"
	    "Subject: hi\r\n"
	    "BCC: secret@x.example,\r\n"
	    "\thidden@x.example\r\n"
	    "Cc: c@x.example\r\n"
	    "Bcc:\r\n"
	    "X-To: not@x.example\r\n"
	    "\r\n"
	    "To: body@x.example\r\n"
	    "Bcc: body-too@x.example\r\n";
	const char want[] =
	    "From: me@x.example\r\n"
	    "to: A <a@x.example>,\r\n"
	    "  b@x.example\r\n"
	    "Subject: hi\r\n"
	    "Cc: c@x.example\r\n"
	    "X-To: not@x.example\r\n"
	    "\r\n"
	    "To: body@x.example\r\n"
	    "Bcc: body-too@x.example\r\n";

	ck_assert_int_eq(extract(msg, 100000, &l, &out, &err), 0);
	joined(&l, got, sizeof(got));
	ck_assert_str_eq(got, "a@x.example b@x.example secret@x.example "
	    "hidden@x.example c@x.example");
	ck_assert_str_eq(buf_cstr(&out), want);
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

START_TEST(test_extract_edges)
{
	struct maildrop_list l;
	struct buf out;
	const char *err;

	/* No header section: the body starts at once. */
	ck_assert_int_eq(extract("just a body\nTo: x@y.example\n", 100, &l,
	    &out, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_str_eq(buf_cstr(&out), "just a body\nTo: x@y.example\n");
	buf_clear(&out);
	maildrop_list_clear(&l);
	/* Headers only, the last Bcc: without a line end. */
	ck_assert_int_eq(extract("To: a@x.example\nBcc: b@x.example", 100, &l,
	    &out, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(buf_cstr(&out), "To: a@x.example\n");
	buf_clear(&out);
	maildrop_list_clear(&l);
	/* Empty message. */
	ck_assert_int_eq(extract("", 100, &l, &out, &err), 0);
	ck_assert_uint_eq(out.len, 0);
	buf_clear(&out);
	maildrop_list_clear(&l);
	/* A bad address fails the whole. */
	ck_assert_int_eq(extract("Cc: a@@x\n\n", 100, &l, &out, &err), -1);
	ck_assert_str_eq(err, "bad address in a To:, Cc: or Bcc: field");
	buf_clear(&out);
	maildrop_list_clear(&l);
	/* header_size_limit */
	ck_assert_int_eq(extract("Subject: 0123456789012345678901234567890\n"
	    "To: a@x.example\n\n", 30, &l, &out, &err), -1);
	ck_assert_str_eq(err, "header section too long");
	buf_clear(&out);
	maildrop_list_clear(&l);
	/* out's max */
	maildrop_list_init(&l);
	buf_init(&out, 4);
	ck_assert_int_eq(maildrop_extract((const uint8_t *)"To: a@x.example\n",
	    16, 100, &l, &out, &err), -1);
	ck_assert_str_eq(err, "message too long");
	buf_clear(&out);
	maildrop_list_clear(&l);
}
END_TEST

static Suite *
maildrop_suite(void)
{
	Suite *s = suite_create("maildrop");
	TCase *tc;

	tc = tcase_create("file");
	tcase_set_timeout(tc, 60);	/* 10,000 recipients under ASan */
	tcase_add_test(tc, test_write_exact);
	tcase_add_test(tc, test_write_null_sender_binary_content);
	tcase_add_test(tc, test_write_refuses);
	tcase_add_loop_test(tc, test_parse_table, 0,
	    sizeof(files) / sizeof(files[0]));
	tcase_add_test(tc, test_parse_long_values);
	tcase_add_test(tc, test_too_many_recipients);
	tcase_add_test(tc, test_size_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("addresses");
	tcase_add_loop_test(tc, test_addr_ok, 0,
	    sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_loop_test(tc, test_alist, 0,
	    sizeof(alists) / sizeof(alists[0]));
	tcase_add_test(tc, test_alist_long_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("extract");
	tcase_add_test(tc, test_extract);
	tcase_add_test(tc, test_extract_edges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(maildrop_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
