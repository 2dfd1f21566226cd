/*
 * SPDX-License-Identifier: ISC
 *
 * check_smtp.c -- unit tests for the smtp program's pure parts
 * (daemons/smtp): smtp_dest_parse, the SMTP next hop ("domain",
 * "domain:port", "[host]", "[host]:port", "[ipv6:addr]"), with every
 * refusal it makes.
 *
 * Process:  test runner (Check), no privilege, no network, no DNS.
 * Input:    fixed tables of next hops.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

static const struct good {
	const char	*in;
	const char	*host;
	bool		 mx;
	bool		 literal;
	unsigned	 port;
} goods[] = {
	{ "example.org", "example.org", true, false, 25 },
	{ "Example.ORG", "Example.ORG", true, false, 25 },
	{ "example.org:2525", "example.org", true, false, 2525 },
	{ "localhost:1", "localhost", true, false, 1 },
	{ "mx-1.example.org:65535", "mx-1.example.org", true, false, 65535 },
	{ "[mail.example.org]", "mail.example.org", false, false, 25 },
	{ "[mail.example.org]:587", "mail.example.org", false, false, 587 },
	{ "[192.0.2.1]", "192.0.2.1", false, true, 25 },
	{ "[192.0.2.1]:26", "192.0.2.1", false, true, 26 },
	{ "[2001:db8::1]", "2001:db8::1", false, true, 25 },
	{ "[ipv6:2001:db8::1]:2525", "2001:db8::1", false, true, 2525 },
	{ "[IPv6:::1]", "::1", false, true, 25 },
	{ "example.org:00025", "example.org", true, false, 25 },
};

static const struct bad {
	const char	*in;
	const char	*err;		/* a part of the reason */
} bads[] = {
	{ "", "empty" },
	{ ":25", "empty" },
	{ "bad..domain", "not a domain name" },
	{ "-x.example.org", "not a domain name" },
	{ "192.0.2.1", "not a domain name" },
	/* RFC 952 host names have no "_" (lib/hostname.h), nor does addr.c. */
	{ "mx_1.example.org:65535", "not a domain name" },
	{ "x-.example.org", "not a domain name" },
	{ "example.org.", "not a domain name" },
	{ "example.123", "not a domain name" },
	{ "[mx_1.example.org]", "not a host name" },
	{ "[mx-.example.org]:25", "not a host name" },
	{ "exa mple.org", "not a domain name" },
	{ "example.org:", "port" },
	{ "example.org:0", "port" },
	{ "example.org:65536", "port" },
	{ "example.org:123456", "port" },
	{ "example.org:25x", "port" },
	{ "example.org:+25", "port" },
	{ "example.org:2:5", "port" },
	{ "[mail.example.org", "\"]\"" },
	{ "[]", "empty" },
	{ "[ipv6:]", "not a host name" },
	{ "[mail..example.org]", "not a host name" },
	{ "[999.0.0.1]", "not a host name" },
	{ "[mail.example.org]x", "port" },
	{ "[mail.example.org]:", "port" },
	{ "[mail.example.org]:0", "port" },
	{ "[mail.example.org]:99999", "port" },
	{ "[mail.example.org]:25]", "port" },
};

START_TEST(test_dest_good)
{
	const struct good *g = &goods[_i];
	struct smtp_dest d;
	const char *err = NULL;

	ck_assert_msg(smtp_dest_parse(g->in, &d, &err) == 0, "%s: %s",
	    g->in, err != NULL ? err : "");
	ck_assert_str_eq(d.host, g->host);
	ck_assert_int_eq(d.mx, g->mx);
	ck_assert_int_eq(d.literal, g->literal);
	ck_assert_uint_eq(d.port, g->port);
}
END_TEST

START_TEST(test_dest_bad)
{
	const struct bad *b = &bads[_i];
	struct smtp_dest d;
	const char *err = NULL;

	ck_assert_msg(smtp_dest_parse(b->in, &d, &err) == -1, "%s parsed",
	    b->in);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, b->err) != NULL, "%s: \"%s\" lacks \"%s\"",
	    b->in, err, b->err);
}
END_TEST

/* Host names up to 253 bytes, one more refused; in brackets too. */
START_TEST(test_dest_lengths)
{
	char name[300], hop[310];
	struct smtp_dest d;
	const char *err = NULL;
	size_t i;

	/* 63-byte labels: "aaa...a." four times, cut to length. */
	for (i = 0; i < 253; i++)
		name[i] = (i % 64 == 63) ? '.' : 'a';
	name[253] = '\0';
	ck_assert_int_eq(smtp_dest_parse(name, &d, &err), 0);
	ck_assert_uint_eq(strlen(d.host), 253);
	snprintf(hop, sizeof(hop), "[%s]:25", name);
	ck_assert_int_eq(smtp_dest_parse(hop, &d, &err), 0);
	name[253] = 'a';
	name[254] = '\0';
	ck_assert_int_eq(smtp_dest_parse(name, &d, &err), -1);
	snprintf(hop, sizeof(hop), "[%s]", name);
	ck_assert_int_eq(smtp_dest_parse(hop, &d, &err), -1);
	/* A 64-byte label. */
	memset(name, 'a', 64);
	strcpy(name + 64, ".example.org");
	ck_assert_int_eq(smtp_dest_parse(name, &d, &err), -1);
}
END_TEST

static Suite *
smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("dest");

	tcase_add_loop_test(tc, test_dest_good, 0,
	    (int)(sizeof(goods) / sizeof(goods[0])));
	tcase_add_loop_test(tc, test_dest_bad, 0,
	    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, test_dest_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(smtp_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
