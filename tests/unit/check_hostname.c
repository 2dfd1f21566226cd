/*
 * SPDX-License-Identifier: ISC
 *
 * check_hostname.c -- unit tests for lib/hostname.c: a table of good and
 * bad names under each flag, the length limits at their edges, and names
 * that carry a NUL or a byte >= 0x80 inside the length given.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    fixed tables and names built here.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"

#define U	HOSTNAME_UNDERSCORE
#define D	HOSTNAME_FINAL_DOT

static const struct {
	const char	*name;
	unsigned	 flags;
	bool		 ok;
} names[] = {
	{ "example.org", 0, true },
	{ "EXAMPLE.Org", 0, true },
	{ "localhost", 0, true },
	{ "mx-1.example.org", 0, true },
	{ "a-b-c.example", 0, true },
	{ "xn--bcher-kva.example", 0, true },
	{ "1.example.org", 0, true },		/* RFC 1123: digit first */
	{ "123.example", 0, true },		/* all-digit inner label */
	{ "0.0.0.example1", 0, true },
	{ "1.2.3.4a", 0, true },
	{ "a", 0, true },
	/* empty */
	{ "", 0, false },
	{ "", U | D, false },
	{ ".", 0, false },
	{ ".", D, false },
	/* hyphens */
	{ "-mx.example.org", 0, false },
	{ "mx-.example.org", 0, false },
	{ "mx.-example.org", 0, false },
	{ "mx.example.org-", 0, false },
	{ "-", 0, false },
	{ "mx.example.-", U | D, false },
	/* empty labels, leading and trailing dots */
	{ "a..b", 0, false },
	{ "a..b", U | D, false },
	{ ".example.org", 0, false },
	{ ".example.org", D, false },
	{ "example.org.", 0, false },
	{ "example.org.", U, false },
	{ "example.org.", D, true },
	{ "example.org..", D, false },
	/* underscore */
	{ "_25._tcp.mx.example.org", 0, false },
	{ "_25._tcp.mx.example.org", U, true },
	{ "host_name.example", 0, false },
	{ "host_name.example", U, true },
	{ "_dmarc.example.", U | D, true },
	{ "_", U, true },
	{ "_.example", 0, false },
	/* all-digit last label: an address, never a name (RFC 1123 2.1) */
	{ "192.0.2.1", 0, false },
	{ "192.0.2.1", U | D, false },
	{ "192.0.2.1.", D, false },
	{ "example.123", 0, false },
	{ "123", 0, false },
	{ "0", U, false },
	/* other bytes */
	{ "mx example.org", 0, false },
	{ "mx\\.example.org", 0, false },
	{ "m\xc3\xa9.example", 0, false },
	{ "m\xc3\xa9.example", U | D, false },
	{ "\x80.example", 0, false },
	{ "a.b*", 0, false },
	{ "*.example.org", U, false },
	{ "mx:25", 0, false },
	{ "[192.0.2.1]", 0, false },
	{ "mx/example", 0, false },
	{ "mx@example", 0, false },
};

START_TEST(test_table)
{
	ck_assert_msg(hostname_ok(names[_i].name, strlen(names[_i].name),
	    names[_i].flags) == names[_i].ok, "\"%s\" flags %u: expected %s",
	    names[_i].name, names[_i].flags, names[_i].ok ? "ok" : "refused");
}
END_TEST

/* Labels of 63 and 64 bytes, names of 253 and 254 bytes. */
START_TEST(test_lengths)
{
	char name[300];

	memset(name, 'a', 63);
	ck_assert(hostname_ok(name, 63, 0));
	memset(name, 'a', 64);
	ck_assert(!hostname_ok(name, 64, 0));
	ck_assert(!hostname_ok(name, 64, U | D));
	/* A 63-byte label between others. */
	memset(name, 'a', 130);
	name[1] = name[65] = '.';
	ck_assert(hostname_ok(name, 67, 0));
	ck_assert(!hostname_ok(name, 130, 0));	/* the last is 64 */
	/* 4 labels of 63 bytes and 3 dots, less one byte: 253. */
	memset(name, 'a', 254);
	name[63] = name[127] = name[191] = '.';
	ck_assert(hostname_ok(name, 253, 0));
	ck_assert(!hostname_ok(name, 254, 0));
	ck_assert(!hostname_ok(name, 254, U | D));
	/* 253 and a final dot: 254 bytes with HOSTNAME_FINAL_DOT. */
	name[253] = '.';
	ck_assert(hostname_ok(name, 254, D));
	ck_assert(!hostname_ok(name, 254, 0));
	name[254] = '.';
	ck_assert(!hostname_ok(name, 255, D));
	/* 254 bytes and a final dot: still too long. */
	name[253] = 'a';
	ck_assert(!hostname_ok(name, 255, D));
}
END_TEST

/* Only the n bytes given are read, and a NUL among them refuses. */
START_TEST(test_length_is_honoured)
{
	static const char nul[] = "mx\0evil.example.org";
	static const char dotnul[] = "example.org.\0";

	ck_assert(!hostname_ok(nul, sizeof(nul) - 1, 0));
	ck_assert(!hostname_ok(nul, sizeof(nul) - 1, U | D));
	ck_assert(!hostname_ok(nul, 3, 0));
	ck_assert(hostname_ok(nul, 2, 0));
	ck_assert(!hostname_ok(dotnul, sizeof(dotnul) - 1, D));
	ck_assert(!hostname_ok("", 1, 0));
	/* A prefix of a longer string. */
	ck_assert(hostname_ok("example.org:25", 11, 0));
	ck_assert(!hostname_ok("example.org:25", 12, 0));
	ck_assert(hostname_ok("mx.example.org.", 14, 0));
	ck_assert(!hostname_ok("mx.example.org.", 0, D));
}
END_TEST

/* Every byte value alone as a one-byte label after "a.". */
START_TEST(test_every_byte)
{
	char name[4] = { 'x', '.', 0, 0 };
	int c;
	bool want, wantu;

	for (c = 0; c < 256; c++) {
		name[2] = (char)c;
		want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		wantu = want || c == '_';
		ck_assert_msg(hostname_ok(name, 3, 0) == want, "byte %d", c);
		ck_assert_msg(hostname_ok(name, 3, U) == wantu, "byte %d",
		    c);
	}
}
END_TEST

static Suite *
hostname_suite(void)
{
	Suite *s = suite_create("hostname");
	TCase *tc = tcase_create("syntax");

	tcase_add_loop_test(tc, test_table, 0,
	    sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_length_is_honoured);
	tcase_add_test(tc, test_every_byte);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(hostname_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
