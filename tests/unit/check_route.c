/*
 * SPDX-License-Identifier: ISC
 *
 * check_route.c -- unit tests for lib/route: transport and next hop.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "route.h"

static struct conf *conf;
static struct route_ctx *ctx;

static void
setup_conf(const char *text)
{
	char err[256];
	const char *e;

	if (ctx != NULL)
		route_close(&ctx);
	if (conf != NULL)
		conf_free(&conf);
	conf = conf_new(NULL, NULL);
	ck_assert_int_eq(conf_parse(conf, "tern.conf", text, strlen(text)),
	    0);
	ck_assert_int_eq(conf_finish(conf), 0);
	(void)e;
	ck_assert_msg(route_open(conf, &ctx, err, sizeof(err)) == 0, "%s",
	    err);
}

static void
teardown(void)
{
	route_close(&ctx);
	if (conf != NULL)
		conf_free(&conf);
}

static void
expect(const char *addr, const char *transport, const char *nexthop)
{
	struct route r;
	char err[256] = "";

	ck_assert_msg(route_resolve(ctx, addr, &r, err, sizeof(err)) == 0,
	    "%s: %s", addr, err);
	ck_assert_str_eq(r.transport, transport);
	ck_assert_str_eq(r.nexthop, nexthop);
}

static void
expect_fail(const char *addr, const char *why)
{
	struct route r;
	char err[256] = "";

	ck_assert_int_eq(route_resolve(ctx, addr, &r, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "%s: got \"%s\"", addr, err);
}

START_TEST(test_defaults)
{
	setup_conf("myhostname = mx.example.org\n"
	    "mydestination = example.org, localhost\n"
	    "virtual_mailbox_domains = virt.example\n");
	expect("alice@example.org", "local", "example.org");
	expect("Alice@EXAMPLE.ORG", "local", "example.org");
	expect("postmaster", "local", "mx.example.org");
	expect("bob@virt.example", "virtual", "virt.example");
	expect("carol@elsewhere.test", "smtp", "elsewhere.test");
	expect("dave@[192.0.2.1]", "smtp", "[192.0.2.1]");
	/* The last @ splits: a quoted local part may hold one. */
	expect("\"a@b\"@example.org", "local", "example.org");
}
END_TEST

START_TEST(test_relayhost_and_transports)
{
	setup_conf("mydestination = example.org\n"
	    "relayhost = [smarthost.example]:587\n"
	    "local_transport = lmtp\n"
	    "default_transport = relay\n");
	expect("a@example.org", "lmtp", "example.org");
	expect("b@remote.test", "relay", "[smarthost.example]:587");
	/* A transport parameter may name its next hop, as Postfix's do. */
	setup_conf("mydestination = example.org\n"
	    "local_transport = lmtp:unix:/run/dovecot/lmtp\n"
	    "virtual_mailbox_domains = v.test\n"
	    "virtual_transport = virtual:\n");
	expect("a@example.org", "lmtp", "unix:/run/dovecot/lmtp");
	expect("a@v.test", "virtual", "v.test");
}
END_TEST

START_TEST(test_transport_maps)
{
	setup_conf("mydestination = example.org\n"
	    "transport_maps = inline:{ special@example.org=discard:, "
	    "example.org=lmtp:unix:/run/dovecot/lmtp, "
	    ".sub.test=smtp:[10.0.0.1]:25, host.test=:[mx.host.test], "
	    "only.test=error:, relay.test=relay: }\n");
	expect("special@example.org", "discard", "");
	expect("other@example.org", "lmtp", "unix:/run/dovecot/lmtp");
	expect("x@a.sub.test", "smtp", "[10.0.0.1]:25");
	expect("x@b.a.sub.test", "smtp", "[10.0.0.1]:25");
	/* ".sub.test" is for subdomains, not sub.test itself. */
	expect("x@sub.test", "smtp", "sub.test");
	expect("x@host.test", "smtp", "[mx.host.test]");
	expect("x@only.test", "error", "");
	expect("x@relay.test", "relay", "relay.test");
	expect("x@none.test", "smtp", "none.test");
}
END_TEST

START_TEST(test_bad_values)
{
	setup_conf("transport_maps = inline:{ upper.test=SMTP:x, "
	    "long.test=abcdefghijklmnopqrstuvwxyz0123456789:x }\n");
	expect_fail("a@upper.test", "bad transport");
	expect_fail("a@long.test", "bad transport");
	setup_conf("default_transport = Bad!\n");
	expect_fail("a@b.test", "bad transport name");
}
END_TEST

START_TEST(test_open_errors)
{
	struct conf *c = conf_new(NULL, NULL);
	struct route_ctx *x = NULL;
	char err[256] = "";
	const char *t = "transport_maps = lmdb:/nonexistent/tern/transport\n";

	ck_assert_int_eq(conf_parse(c, "tern.conf", t, strlen(t)), 0);
	ck_assert_int_eq(conf_finish(c), 0);
	ck_assert_int_eq(route_open(c, &x, err, sizeof(err)), -1);
	ck_assert_ptr_null(x);
	ck_assert_str_ne(err, "");
	conf_free(&c);
}
END_TEST

START_TEST(test_valid_transport)
{
	ck_assert_int_eq(route_valid_transport("smtp", 4), 1);
	ck_assert_int_eq(route_valid_transport("my_relay-2", 10), 1);
	ck_assert_int_eq(route_valid_transport("", 0), 0);
	ck_assert_int_eq(route_valid_transport("a/b", 3), 0);
	ck_assert_int_eq(route_valid_transport("..", 2), 0);
	ck_assert_int_eq(route_valid_transport(
	    "abcdefghijklmnopqrstuvwxyz0123456", 33), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");
	SRunner *sr;
	int nf;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_relayhost_and_transports);
	tcase_add_test(tc, test_transport_maps);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_valid_transport);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
