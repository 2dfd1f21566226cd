/*
 * SPDX-License-Identifier: ISC
 *
 * check_tls_policy.c -- unit tests for lib/tls_policy: level names, the
 * table value parser (good and hostile values), next hops, the lookup
 * order of smtp_tls_policy_maps (next hop verbatim, domain, ".parent")
 * and the resolution of the match names.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "tls_policy.h"

static struct conf *conf;
static struct tls_policy_ctx *ctx;

static int
setup_conf(const char *text, char *err, size_t errsz)
{
	if (ctx != NULL)
		tls_policy_close(&ctx);
	if (conf != NULL)
		conf_free(&conf);
	conf = conf_new(NULL, NULL);
	ck_assert_int_eq(conf_parse(conf, "tern.conf", text, strlen(text)),
	    0);
	ck_assert_int_eq(conf_finish(conf), 0);
	return tls_policy_open(conf, &ctx, err, errsz);
}

static void
setup_ok(const char *text)
{
	char err[256] = "";

	ck_assert_msg(setup_conf(text, err, sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	tls_policy_close(&ctx);
	if (conf != NULL)
		conf_free(&conf);
}

/* Look up; check the level, the key found and the names ("a b c"). */
static void
expect(const char *nexthop, const char *domain, const char *level,
    const char *key, bool hostname, const char *names)
{
	struct tls_policy p;
	char err[256] = "", got[1024] = "";
	size_t i;

	ck_assert_msg(tls_policy_lookup(ctx, nexthop, domain, &p, err,
	    sizeof(err)) == 0, "%s: %s", nexthop, err);
	ck_assert_str_eq(tls_policy_level_name(p.level), level);
	ck_assert_str_eq(p.key, key);
	ck_assert_int_eq(p.match_hostname, hostname);
	for (i = 0; i < p.nmatch; i++) {
		if (i > 0)
			strlcat(got, " ", sizeof(got));
		strlcat(got, p.match[i], sizeof(got));
	}
	ck_assert_str_eq(got, names);
}

static void
expect_fail(const char *nexthop, const char *domain, const char *why)
{
	struct tls_policy p;
	char err[256] = "";

	ck_assert_int_eq(tls_policy_lookup(ctx, nexthop, domain, &p, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "%s: got \"%s\"", nexthop,
	    err);
}

START_TEST(test_levels)
{
	static const char *const names[] = { "none", "may", "encrypt",
	    "dane", "verify", "secure" };
	enum tls_policy_level l;
	size_t i;

	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(tls_policy_level_parse(names[i], &l), 0);
		ck_assert_int_eq(l, (int)i);
		ck_assert_str_eq(tls_policy_level_name(l), names[i]);
	}
	ck_assert_int_eq(tls_policy_level_parse("Verify", &l), -1);
	ck_assert_int_eq(tls_policy_level_parse("dane-only", &l), -1);
	ck_assert_int_eq(tls_policy_level_parse("fingerprint", &l), -1);
	ck_assert_int_eq(tls_policy_level_parse("", &l), -1);
	ck_assert_str_eq(tls_policy_level_name((enum tls_policy_level)6),
	    "?");
}
END_TEST

START_TEST(test_parse_good)
{
	struct tls_policy p;
	const char *err = NULL;

	ck_assert_int_eq(tls_policy_parse("dane", &p, &err), 0);
	ck_assert_int_eq(p.level, TLS_POLICY_DANE);
	ck_assert_uint_eq(p.nmatch, 0);
	ck_assert_int_eq(tls_policy_parse("\t secure  match=nexthop:"
	    ".Example.ORG:mx_1.example.net:hostname \t", &p, &err), 0);
	ck_assert_int_eq(p.level, TLS_POLICY_SECURE);
	ck_assert_uint_eq(p.nmatch, 4);
	ck_assert_str_eq(p.match[0], "nexthop");
	ck_assert_str_eq(p.match[1], ".Example.ORG");
	ck_assert_str_eq(p.match[2], "mx_1.example.net");
	ck_assert_str_eq(p.match[3], "hostname");
	ck_assert_int_eq(tls_policy_parse("verify match=dot-nexthop", &p,
	    &err), 0);
	ck_assert_int_eq(p.level, TLS_POLICY_VERIFY);
	ck_assert_str_eq(p.match[0], "dot-nexthop");
	ck_assert_int_eq(tls_policy_parse("verify match=a:b:c:d:e:f:g:h", &p,
	    &err), 0);
	ck_assert_uint_eq(p.nmatch, TLS_POLICY_MATCH_MAX);
	/* An IPv4 address is matched against the certificate's addresses. */
	ck_assert_int_eq(tls_policy_parse("secure match=192.0.2.1:1.example",
	    &p, &err), 0);
	ck_assert_str_eq(p.match[0], "192.0.2.1");
	ck_assert_str_eq(p.match[1], "1.example");
}
END_TEST

static char long_value[TLS_POLICY_VALUE_MAX + 2];
static char long_name[300];

static const struct {
	const char *value, *why;
} bad_values[] = {
	{ "", "empty policy" },
	{ " \t ", "empty policy" },
	{ "maybe", "unknown level" },
	{ "MAY", "unknown level" },
	{ "averyveryverylonglevelname", "unknown level" },
	{ "dane-only", "unknown level" },
	{ "verify match=", "match=" },
	{ "verify match=a::b", "match=" },
	{ "verify match=a:", "match=" },
	{ "verify match=:a", "match=" },
	{ "verify match=a..b", "match=" },
	{ "verify match=..a", "match=" },
	{ "verify match=a.", "match=" },
	{ "verify match=*.example.org", "match=" },
	/* lib/hostname.h: no "-" at a label's ends, no all-digit last label. */
	{ "verify match=-a.example", "match=" },
	{ "verify match=a-.example", "match=" },
	{ "verify match=a.example-", "match=" },
	{ "verify match=example.123", "match=" },
	{ "verify match=192.0.2", "match=" },
	{ "verify match=.192.0.2.1", "match=" },
	{ "verify match=.-a.example", "match=" },
	{ "verify match=a b", "expected name=value" },
	{ "verify match=a:b:c:d:e:f:g:h:i", "too many names" },
	{ "verify match=a match=b", "given twice" },
	{ "may match=a", "only for verify and secure" },
	{ "dane match=a", "only for verify and secure" },
	{ "encrypt protocols=!SSLv2", "unsupported attribute" },
	{ "verify ciphers=high", "unsupported attribute" },
	{ "secure tafile=/x", "unsupported attribute" },
	{ "verify\x01", "control" },
	{ "verify match=\xc3\xa9.example", "control or 8-bit" },
	{ long_value, "too long" },
	{ long_name, "match=" },
};

START_TEST(test_parse_bad)
{
	struct tls_policy p;
	const char *err = NULL;
	char label[70];

	memset(long_value, ' ', sizeof(long_value) - 1);
	memcpy(long_value, "may", 3);
	/* A label of 64 bytes. */
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(long_name, sizeof(long_name), "verify match=%s.org", label);
	memset(&p, 0x5a, sizeof(p));
	ck_assert_int_eq(tls_policy_parse(bad_values[_i].value, &p, &err),
	    -1);
	ck_assert_msg(strstr(err, bad_values[_i].why) != NULL, "%s: %s",
	    bad_values[_i].value, err);
	/* Nothing half-parsed is left. */
	ck_assert_uint_eq(p.nmatch, 0);
	ck_assert_int_eq(p.level, TLS_POLICY_NONE);
}
END_TEST

START_TEST(test_nexthop)
{
	char out[300];
	bool bare;

	ck_assert_int_eq(tls_policy_nexthop("[mx.example.net]:587", "d.test",
	    out, sizeof(out), &bare), 0);
	ck_assert_str_eq(out, "mx.example.net");
	ck_assert(!bare);
	ck_assert_int_eq(tls_policy_nexthop("[192.0.2.1]", "d.test", out,
	    sizeof(out), &bare), 0);
	ck_assert_str_eq(out, "192.0.2.1");
	ck_assert(!bare);
	ck_assert_int_eq(tls_policy_nexthop("relay.example.net:2525", "d",
	    out, sizeof(out), &bare), 0);
	ck_assert_str_eq(out, "relay.example.net");
	ck_assert(!bare);
	ck_assert_int_eq(tls_policy_nexthop("example.org", "d.test", out,
	    sizeof(out), &bare), 0);
	ck_assert_str_eq(out, "example.org");
	ck_assert(bare);
	ck_assert_int_eq(tls_policy_nexthop("", "d.test", out, sizeof(out),
	    &bare), 0);
	ck_assert_str_eq(out, "d.test");
	ck_assert(bare);
	/* Malformed. */
	ck_assert_int_eq(tls_policy_nexthop("[]", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("[mx", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("[mx]x", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("[mx]:0", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("[mx]:65536", "d", out,
	    sizeof(out), &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("mx:", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop(":25", "d", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("", "", out, sizeof(out),
	    &bare), -1);
	ck_assert_int_eq(tls_policy_nexthop("example.org", "d", out, 5,
	    &bare), -1);
}
END_TEST

START_TEST(test_default_level)
{
	/* smtp_tls_security_level is not set (or not known): may. */
	setup_ok("");
	expect("example.org", "example.org", "may", "", false, "");
	expect("[mx.example.org]:587", "example.org", "may", "", false, "");
}
END_TEST

#define MAPS \
	"smtp_tls_policy_maps = inline:{ " \
	"{ example.org = secure }, " \
	"{ .example.org = verify match=hostname:nexthop:.mx.example.org }, " \
	"{ .org = encrypt }, " \
	"{ [relay.example.net]:587 = verify }, " \
	"{ [relay.example.net] = dane }, " \
	"{ relay.example.net:2525 = none }, " \
	"{ broken.test = verify match=a..b }, " \
	"{ d.test = secure match=dot-nexthop } }, " \
	"inline:{ { example.org = none }, { other.test = dane }, " \
	"{ .test = encrypt } }\n"

START_TEST(test_lookup_order)
{
	setup_ok(MAPS);
	/* The domain itself; the first table answers first. */
	expect("example.org", "example.org", "secure", "example.org", false,
	    "example.org .example.org");
	/* An empty next hop is the recipient domain. */
	expect("", "example.org", "secure", "example.org", false,
	    "example.org .example.org");
	/* A subdomain: the nearest parent. */
	expect("a.b.example.org", "x.test", "verify", ".example.org", true,
	    "a.b.example.org .mx.example.org");
	expect("example.com.org", "x.test", "encrypt", ".org", false, "");
	/* The second table. */
	expect("other.test", "x.test", "dane", "other.test", false, "");
	expect("sub.other.test", "x.test", "encrypt", ".test", false, "");
	/* Bracketed and with a port: verbatim only, no parents. */
	expect("[relay.example.net]:587", "x.test", "verify",
	    "[relay.example.net]:587", true, "");
	expect("[relay.example.net]", "x.test", "dane", "[relay.example.net]",
	    false, "");
	expect("relay.example.net:2525", "x.test", "none",
	    "relay.example.net:2525", false, "");
	expect("[relay.example.net]:25", "x.test", "may", "", false, "");
	expect("[a.example.org]", "example.org", "may", "", false, "");
	/* Case does not matter in keys. */
	expect("EXAMPLE.Org", "example.org", "secure", "EXAMPLE.Org", false,
	    "EXAMPLE.Org .EXAMPLE.Org");
	/* Nothing found: the default. */
	expect("example.net", "example.net", "may", "", false, "");
	/* secure with match=dot-nexthop only. */
	expect("d.test", "d.test", "secure", "d.test", false, ".d.test");
}
END_TEST

START_TEST(test_lookup_defaults_per_level)
{
	setup_ok("smtp_tls_policy_maps = inline:{ v.test=verify, "
	    "s.test=secure }\n");
	expect("v.test", "v.test", "verify", "v.test", true, "");
	expect("[s.test]:2525", "s.test", "may", "", false, "");
	expect("s.test", "s.test", "secure", "s.test", false,
	    "s.test .s.test");
}
END_TEST

START_TEST(test_lookup_errors)
{
	char err[256] = "";

	setup_ok(MAPS);
	expect_fail("broken.test", "x.test", "bad policy for \"broken.test\"");
	expect_fail("[relay", "x.test", "bad next hop");
	expect_fail("", "", "bad next hop");
	/*
	 * An IPv4 next hop is matched as an address; nothing is below it,
	 * so dot-nexthop adds no name.  A next hop that is no host name
	 * cannot be matched.
	 */
	setup_ok("smtp_tls_policy_maps = inline:{ { [192.0.2.1] = secure } "
	    "}\n");
	expect("[192.0.2.1]", "x.test", "secure", "[192.0.2.1]", false,
	    "192.0.2.1");
	setup_ok("smtp_tls_policy_maps = inline:{ { [::1] = secure } }\n");
	expect_fail("[::1]", "x.test", "not a host name to match");
	/* Tables that do not open. */
	ck_assert_int_eq(setup_conf("smtp_tls_policy_maps = "
	    "lmdb:/nonexistent/tern/policy\n", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/tern/policy") != NULL, "%s",
	    err);
	ck_assert_ptr_null(ctx);
	ck_assert_int_eq(setup_conf("smtp_tls_policy_maps = inline:{ a=b }, "
	    "bogus:x\n", err, sizeof(err)), -1);
	ck_assert_ptr_null(ctx);
	ck_assert_int_eq(setup_conf("smtp_tls_policy_maps = inline:{a=b} "
	    "inline:{a=b} inline:{a=b} inline:{a=b} inline:{a=b} "
	    "inline:{a=b} inline:{a=b} inline:{a=b} inline:{a=b} "
	    "inline:{a=b} inline:{a=b} inline:{a=b} inline:{a=b} "
	    "inline:{a=b} inline:{a=b} inline:{a=b} inline:{a=b}\n", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "more than 16") != NULL, "%s", err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls_policy");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_parse_good);
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, test_nexthop);
	suite_add_tcase(s, tc);
	tc = tcase_create("lookup");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_default_level);
	tcase_add_test(tc, test_lookup_order);
	tcase_add_test(tc, test_lookup_defaults_per_level);
	tcase_add_test(tc, test_lookup_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
