/*
 * SPDX-License-Identifier: ISC
 *
 * check_smtp.c -- unit tests for the smtp program's pure parts
 * (daemons/smtp): smtp_dest_parse, the SMTP next hop ("domain",
 * "domain:port", "[host]", "[host]:port", "[ipv6:addr]"), with every
 * refusal it makes; smtp_self, which addresses are this host's SMTP
 * server (from a services.conf the test writes, and proxy_interfaces).
 *
 * Process:  test runner (Check), no privilege, no network, no DNS
 *           (smtp_self binds UDP sockets to loopback addresses, port 0).
 * Input:    fixed tables of next hops and addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
	{ "mx_1.example.org:65535", "mx_1.example.org", true, false, 65535 },
	{ "[mx_1.example.org]", "mx_1.example.org", false, false, 25 },
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
	{ "x-.example.org", "not a domain name" },
	{ "example.org.", "not a domain name" },
	{ "example.123", "not a domain name" },
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

/* ---- smtp_self ------------------------------------------------------ */

static const char self_services[] =
    "smtp     inet 127.0.0.1:2525 y n 100 5 - smtpd\n"
    "all      inet *:2600         y n 100 5 - smtpd\n"
    "smtps    inet [::1]:2700     y n 10  0 - smtpd -o smtpd_tls_wrappermode=yes\n"
    "other    inet 127.0.0.1:2800 y n 10  0 - echo\n"
    "cleanup  unix private/cleanup y n 100 0 - cleanup\n";

static bool
is_self(const struct smtp_self *s, const char *addr, unsigned port)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		return smtp_self_is(s, (struct sockaddr *)&sin);
	}
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	return smtp_self_is(s, (struct sockaddr *)&sin6);
}

/* Whether this machine has ::1 (a container may have no IPv6). */
static bool
have_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6;
	bool ok;
	int fd;

	if ((fd = socket(AF_INET6, SOCK_DGRAM, 0)) == -1)
		return false;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

START_TEST(test_self_listeners)
{
	static const char *const proxy[] = { "198.51.100.7", "2001:db8::7" };
	char dir[] = "/tmp/check_smtp.XXXXXX", path[64];
	struct smtp_self *s = calloc(1, sizeof(*s));
	FILE *f;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/services.conf", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(self_services, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	smtp_self_load(s, path, proxy, 2);
	unlink(path);
	rmdir(dir);

	/* One address: that address and port only. */
	ck_assert(is_self(s, "127.0.0.1", 2525));
	ck_assert(!is_self(s, "127.0.0.2", 2525));
	ck_assert(!is_self(s, "127.0.0.1", 25));
	/* Every address: the port on any address of this host. */
	ck_assert(is_self(s, "127.0.0.1", 2600));
	ck_assert(is_self(s, "127.0.0.77", 2600));
	ck_assert(!is_self(s, "192.0.2.1", 2600));	/* not this host's */
	ck_assert(!is_self(s, "127.0.0.77", 2601));
	/* Only smtpd listeners count. */
	ck_assert(!is_self(s, "127.0.0.1", 2800));
	/* proxy_interfaces: the address, whatever the port. */
	ck_assert(is_self(s, "198.51.100.7", 25));
	ck_assert(is_self(s, "198.51.100.7", 2525));
	ck_assert(!is_self(s, "198.51.100.8", 25));
	ck_assert(is_self(s, "2001:db8::7", 25));
	ck_assert(!is_self(s, "2001:db8::8", 25));
	if (have_ipv6_loopback()) {
		ck_assert(is_self(s, "::1", 2700));
		ck_assert(is_self(s, "::1", 2600));
		ck_assert(!is_self(s, "::1", 2525));
	}
	free(s);
}
END_TEST

START_TEST(test_self_without_services_file)
{
	static const char *const proxy[] = { "192.0.2.9" };
	struct smtp_self *s = calloc(1, sizeof(*s));

	ck_assert_ptr_nonnull(s);
	smtp_self_load(s, "/nonexistent/services.conf", proxy, 1);
	ck_assert(is_self(s, "192.0.2.9", 25));
	ck_assert(!is_self(s, "127.0.0.1", 25));
	smtp_self_load(s, "/nonexistent/services.conf", NULL, 0);
	ck_assert_uint_eq(s->n, 0);
	ck_assert(!is_self(s, "192.0.2.9", 25));
	free(s);
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
	tc = tcase_create("self");
	tcase_add_test(tc, test_self_listeners);
	tcase_add_test(tc, test_self_without_services_file);
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
