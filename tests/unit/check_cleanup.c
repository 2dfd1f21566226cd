/*
 * SPDX-License-Identifier: ISC
 *
 * check_cleanup.c -- cleanup's content checks: the header section's
 * limits as content streams past in any pieces, and the Received: header.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

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

START_TEST(test_received_header)
{
	struct qfile_client c;
	char buf[1024];
	size_t n;

	memset(&c, 0, sizeof(c));
	strcpy(c.name, "client.example");
	strcpy(c.addr, "192.0.2.7");
	strcpy(c.helo, "helo.example");
	strcpy(c.proto, "ESMTP");
	n = cleanup_received(buf, sizeof(buf), &c, "mx.example", "QID1",
	    "rcpt@example", 0);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "Received: from helo.example "
	    "(client.example [192.0.2.7])\r\n\tby mx.example (Tern) with ESMTP "
	    "id QID1\r\n\tfor <rcpt@example>;\r\n\t"));
	ck_assert(n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n');
	/* Several recipients: no "for". */
	n = cleanup_received(buf, sizeof(buf), &c, "mx.example", "QID1", NULL,
	    0);
	ck_assert_ptr_null(strstr(buf, "for <"));
	/* Too small a buffer: 0, never a cut header. */
	ck_assert_uint_eq(cleanup_received(buf, 40, &c, "mx.example", "QID1",
	    NULL, 0), 0);
	/* Unknown name and HELO are said so. */
	c.name[0] = c.helo[0] = '\0';
	cleanup_received(buf, sizeof(buf), &c, "mx", "Q", NULL, 0);
	ck_assert_ptr_nonnull(strstr(buf, "from unknown (unknown "
	    "[192.0.2.7])"));
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
