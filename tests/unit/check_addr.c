/*
 * SPDX-License-Identifier: ISC
 *
 * check_addr.c -- unit tests for lib/addr.c.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    paths written here, most of them hostile.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define S	ADDR_F_SENDER
#define R	ADDR_F_RCPT
#define U	ADDR_F_SMTPUTF8
#define NB	ADDR_F_NOBRACKETS_OK

/* ---- accepted paths --------------------------------------------------- */

struct good {
	const char	*in;
	unsigned	 flags;
	const char	*local;
	const char	*domain;
	size_t		 used;		/* 0: all of in */
	bool		 utf8;
	bool		 literal;
};

static const struct good good[] = {
	{ "<user@example.org>", 0, "user", "example.org", 0, false, false },
	{ "<user@example.org>", S, "user", "example.org", 0, false, false },
	{ "<user@example.org>", R, "user", "example.org", 0, false, false },
	{ "<User.Name+tag@Example.ORG>", R, "User.Name+tag", "Example.ORG",
	    0, false, false },
	{ "<!#$%&'*+-/=?^_`{|}~@example.org>", R,
	    "!#$%&'*+-/=?^_`{|}~", "example.org", 0, false, false },
	{ "<a@b>", R, "a", "b", 0, false, false },
	{ "<a@123>", R, "a", "123", 0, false, false },
	{ "<a@1.2.3.4>", R, "a", "1.2.3.4", 0, false, false },
	{ "<a@x-y.ex-am--ple.org>", R, "a", "x-y.ex-am--ple.org", 0, false,
	    false },
	{ "<a.b.c@d>", R, "a.b.c", "d", 0, false, false },
	/* quoted local parts, kept as written */
	{ "<\"quoted\"@example.org>", R, "\"quoted\"", "example.org", 0,
	    false, false },
	{ "<\"a b\"@example.org>", R, "\"a b\"", "example.org", 0, false,
	    false },
	{ "<\"a\\\"b\"@ex>", R, "\"a\\\"b\"", "ex", 0, false, false },
	{ "<\"a\\\\b\"@ex>", R, "\"a\\\\b\"", "ex", 0, false, false },
	{ "<\"\\ \"@ex>", R, "\"\\ \"", "ex", 0, false, false },
	{ "<\"\"@example.org>", R, "\"\"", "example.org", 0, false, false },
	{ "<\"a@b\"@example.org>", R, "\"a@b\"", "example.org", 0, false,
	    false },
	{ "<\"a>b\"@ex>", R, "\"a>b\"", "ex", 0, false, false },
	{ "<\"a..b.\"@ex>", R, "\"a..b.\"", "ex", 0, false, false },
	{ "<\"postmaster\"@ex>", R, "\"postmaster\"", "ex", 0, false, false },
	/* null reverse-path, postmaster */
	{ "<>", S, "", "", 0, false, false },
	{ "<>", S | R | U, "", "", 0, false, false },
	{ "<postmaster>", R, "postmaster", "", 0, false, false },
	{ "<PostMaster>", R, "postmaster", "", 0, false, false },
	{ "<POSTMASTER>", R | U, "postmaster", "", 0, false, false },
	{ "<postmaster@example.org>", S, "postmaster", "example.org", 0,
	    false, false },
	/* address literals */
	{ "<a@[192.0.2.1]>", R, "a", "[192.0.2.1]", 0, false, true },
	{ "<a@[0.0.0.0]>", R, "a", "[0.0.0.0]", 0, false, true },
	{ "<a@[255.255.255.255]>", R, "a", "[255.255.255.255]", 0, false,
	    true },
	{ "<a@[01.002.3.4]>", R, "a", "[01.002.3.4]", 0, false, true },
	{ "<a@[IPv6:2001:db8::1]>", R, "a", "[IPv6:2001:db8::1]", 0, false,
	    true },
	{ "<a@[ipv6:::1]>", R, "a", "[ipv6:::1]", 0, false, true },
	{ "<a@[IPv6:::ffff:192.0.2.1]>", R, "a", "[IPv6:::ffff:192.0.2.1]",
	    0, false, true },
	{ "<a@[IPv6:1:2:3:4:5:6:7:8]>", R, "a", "[IPv6:1:2:3:4:5:6:7:8]", 0,
	    false, true },
	{ "<a@[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]>", R, "a",
	    "[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]", 0, false,
	    true },
	/* source routes: checked, then dropped */
	{ "<@a.example,@b.example:user@c.example>", R, "user", "c.example",
	    0, false, false },
	{ "<@a.example:u@d>", S, "u", "d", 0, false, false },
	{ "<@a,@b,@c,@d:u@e>", R, "u", "e", 0, false, false },
	/* what follows the path is the caller's */
	{ "<a@b> SIZE=10", S, "a", "b", 5, false, false },
	{ "<a@b>>", S, "a", "b", 5, false, false },
	{ "<>x", S, "", "", 2, false, false },
	/* SMTPUTF8 */
	{ "<j\xc3\xb6ran@example.org>", R | U, "j\xc3\xb6ran", "example.org",
	    0, true, false },
	{ "<user@b\xc3\xbc" "cher.example>", R | U, "user",
	    "b\xc3\xbc" "cher.example", 0, true, false },
	{ "<\"\xc3\xb6 x\"@ex>", R | U, "\"\xc3\xb6 x\"", "ex", 0, true,
	    false },
	{ "<\xe2\x82\xac@ex>", R | U, "\xe2\x82\xac", "ex", 0, true, false },
	{ "<\xf0\x9f\x98\x80@ex>", R | U, "\xf0\x9f\x98\x80", "ex", 0, true,
	    false },
	{ "<\xef\xbf\xbd@\xf4\x8f\xbf\xbf>", R | U, "\xef\xbf\xbd",
	    "\xf4\x8f\xbf\xbf", 0, true, false },
	{ "<@\xc3\xa4.example:a@b>", R | U, "a", "b", 0, true, false },
	{ "<user@example.org>", R | U, "user", "example.org", 0, false,
	    false },
	/* no brackets, when allowed */
	{ "user@example.org", S | NB, "user", "example.org", 0, false, false },
	{ "user@example.org SIZE=1", S | NB, "user", "example.org", 16, false,
	    false },
	{ "\"a b\"@example.org x", R | NB, "\"a b\"", "example.org", 17,
	    false, false },
	{ "postmaster", R | NB, "postmaster", "", 0, false, false },
	{ "a@[192.0.2.1] x", R | NB, "a", "[192.0.2.1]", 13, false, true },
	{ "<a@b>", S | NB, "a", "b", 0, false, false },
	{ "<>", S | NB, "", "", 0, false, false },
};

START_TEST(test_good)
{
	const struct good *g = &good[_i];
	struct addr a;
	enum addr_err e = ADDR_E_SYNTAX;
	size_t used = 9999;

	ck_assert_msg(addr_parse_path(g->in, strlen(g->in), g->flags, &a,
	    &used, &e) == 0, "case %d \"%s\": %s", _i, g->in, addr_err_str(e));
	ck_assert_int_eq(e, ADDR_E_NONE);
	ck_assert_str_eq(a.local, g->local);
	ck_assert_str_eq(a.domain, g->domain);
	ck_assert_uint_eq(used, g->used ? g->used : strlen(g->in));
	ck_assert_int_eq(a.utf8, g->utf8);
	ck_assert_int_eq(a.literal, g->literal);
}
END_TEST

/* ---- refused paths ---------------------------------------------------- */

struct bad {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	unsigned	 flags;
	enum addr_err	 err;
};

#define SYN	ADDR_E_SYNTAX
#define NEED	ADDR_E_UTF8_NEEDS_SMTPUTF8
#define BADU	ADDR_E_BAD_UTF8

static const struct bad bad[] = {
	/* brackets */
	{ "", 0, S | R | U, SYN },
	{ "user@example.org", 0, S | R | U, SYN },
	{ "<user@example.org", 0, S | R | U | NB, SYN },
	{ "user@example.org>", 0, S | R | U | NB, SYN },
	{ "<", 0, S | R, SYN },
	{ ">", 0, S | R | NB, SYN },
	{ "<<a@b>>", 0, S | R, SYN },
	{ "< a@b>", 0, S | R, SYN },
	{ "<a@b >", 0, S | R, SYN },
	{ "<a @b>", 0, S | R, SYN },
	{ "<a@ b>", 0, S | R, SYN },
	{ "< >", 0, S | R, SYN },
	{ "<\t>", 0, S | R, SYN },
	{ " <a@b>", 0, S | R, SYN },
	{ "a@b", 0, S | R, SYN },
	{ "", 0, S | NB, SYN },
	{ " a@b", 0, S | NB, SYN },
	/* mailbox shape */
	{ "<a>", 0, S | R, SYN },
	{ "<a.b>", 0, R, SYN },
	{ "<@>", 0, S | R, SYN },
	{ "<a@>", 0, S | R, SYN },
	{ "<@b>", 0, S | R, SYN },
	{ "<a@@b>", 0, S | R, SYN },
	{ "<a@b@c>", 0, S | R, SYN },
	{ "<.a@b>", 0, S | R, SYN },
	{ "<a.@b>", 0, S | R, SYN },
	{ "<a..b@c>", 0, S | R, SYN },
	{ "<.@b>", 0, S | R, SYN },
	{ "<a(b)@c>", 0, S | R, SYN },
	{ "<a,b@c>", 0, S | R, SYN },
	{ "<a[b]@c>", 0, S | R, SYN },
	{ "<a:b@c>", 0, S | R, SYN },
	{ "<a;b@c>", 0, S | R, SYN },
	{ "<a\\b@c>", 0, S | R, SYN },
	{ "<a\"b\"@c>", 0, S | R, SYN },
	{ "<\"a\"b@c>", 0, S | R, SYN },
	{ "<\"a\".b@c>", 0, S | R, SYN },
	/* postmaster */
	{ "<postmaster>", 0, S, SYN },
	{ "<postmaster>", 0, 0, SYN },
	{ "<postmaster>", 0, S | U, SYN },
	{ "<\"postmaster\">", 0, R, SYN },
	{ "<@a:postmaster>", 0, R, SYN },
	{ "<postmaster.>", 0, R, SYN },
	{ "<postmasterx>", 0, R, SYN },
	{ "<postmaste>", 0, R, SYN },
	{ "postmaster", 0, S | NB, SYN },
	/* null path */
	{ "<>", 0, R, ADDR_E_NULL_NOT_ALLOWED },
	{ "<>", 0, 0, ADDR_E_NULL_NOT_ALLOWED },
	{ "<>", 0, R | U | NB, ADDR_E_NULL_NOT_ALLOWED },
	{ "<<>>", 0, S, SYN },
	/* quoted strings */
	{ "<\"abc@d>", 0, S | R, SYN },
	{ "<\"abc>", 0, S | R, SYN },
	{ "<\"", 0, S | R, SYN },
	{ "<\"ab\\", 0, S | R, SYN },
	{ "<\"ab\\\"@c>", 0, S | R, SYN },
	{ "<\"a\\\x01\"@b>", 0, S | R, SYN },
	{ "<\"a\\\x7f\"@b>", 0, S | R, SYN },
	{ "<\"a\tb\"@c>", 0, S | R, SYN },
	{ "<\"a\x7f\"@b>", 0, S | R, SYN },
	{ "<\"a\x1b\"@b>", 0, S | R, SYN },
	{ "<\"\\\xc3\xb6\"@ex>", 0, S | R | U, SYN },
	/* bare CR, LF, NUL anywhere */
	{ "<a\rb@c>", 0, S | R, SYN },
	{ "<a\nb@c>", 0, S | R, SYN },
	{ "<a\0b@c>", 7, S | R, SYN },
	{ "<a@b\0.c>", 8, S | R, SYN },
	{ "<a@b\r>", 0, S | R, SYN },
	{ "<a@b\n>", 0, S | R, SYN },
	{ "<\"a\0\"@b>", 8, S | R, SYN },
	{ "<\"a\r\n\"@b>", 0, S | R, SYN },
	{ "<\0>", 3, S | R, SYN },
	{ "<a@b\0>", 6, S | R, SYN },
	{ "<a@[1.2.3.4\0]>", 14, S | R, SYN },
	{ "<a@[IPv6:::1\0]>", 15, S | R, SYN },
	{ "<a@[IPv6:\0::1]>", 15, S | R, SYN },
	/* 8-bit without SMTPUTF8 */
	{ "<j\xc3\xb6ran@ex>", 0, S | R, NEED },
	{ "<a@b\xc3\xbc" "cher.ex>", 0, S | R, NEED },
	{ "<\"\xc3\xb6\"@ex>", 0, S | R, NEED },
	{ "<@\xc3\xa4.ex:a@b>", 0, S | R, NEED },
	{ "j\xc3\xb6@ex", 0, S | NB, NEED },
	/* malformed UTF-8, with or without SMTPUTF8 */
	{ "<\xff@ex>", 0, S | R | U, BADU },
	{ "<\xff@ex>", 0, S | R, BADU },
	{ "<\xe9t\xe9@ex>", 0, S | R, BADU },
	{ "<\xc0\xaf@ex>", 0, S | R | U, BADU },		/* overlong / */
	{ "<\xc1\xbf@ex>", 0, S | R | U, BADU },		/* overlong */
	{ "<\xe0\x80\xaf@ex>", 0, S | R | U, BADU },	/* overlong */
	{ "<\xe0\x9f\xbf@ex>", 0, S | R | U, BADU },	/* overlong */
	{ "<\xf0\x80\x80\xaf@ex>", 0, S | R | U, BADU },	/* overlong */
	{ "<\xf0\x8f\xbf\xbf@ex>", 0, S | R | U, BADU },	/* overlong */
	{ "<\xed\xa0\x80@ex>", 0, S | R | U, BADU },	/* U+D800 */
	{ "<\xed\xbf\xbf@ex>", 0, S | R | U, BADU },	/* U+DFFF */
	{ "<\xf4\x90\x80\x80@ex>", 0, S | R | U, BADU },	/* > U+10FFFF */
	{ "<\xf5\x80\x80\x80@ex>", 0, S | R | U, BADU },
	{ "<\xf8\x88\x80\x80\x80@ex>", 0, S | R | U, BADU },
	{ "<\x80@ex>", 0, S | R | U, BADU },		/* lone tail */
	{ "<\xc3\x28@ex>", 0, S | R | U, BADU },
	{ "<\xe2\x82@ex>", 0, S | R | U, BADU },		/* truncated */
	{ "<a\xc3", 0, S | R | U, BADU },			/* at the end */
	{ "<a@b\xe2\x82>", 0, S | R | U, BADU },
	{ "<\"\xc3\"@ex>", 0, S | R | U, BADU },
	{ "<\xef\xbf@ex>", 0, S | R | U, BADU },
	/* domains */
	{ "<a@-b.ex>", 0, S | R, SYN },
	{ "<a@b-.ex>", 0, S | R, SYN },
	{ "<a@b.ex->", 0, S | R, SYN },
	{ "<a@->", 0, S | R, SYN },
	{ "<a@a..b>", 0, S | R, SYN },
	{ "<a@b.>", 0, S | R, SYN },
	{ "<a@.b>", 0, S | R, SYN },
	{ "<a@.>", 0, S | R, SYN },
	{ "<a@b_c.ex>", 0, S | R, SYN },
	{ "<a@b c>", 0, S | R, SYN },
	{ "<a@b;c>", 0, S | R, SYN },
	{ "<a@\"b\">", 0, S | R, SYN },
	{ "<a@b.ex.>", 0, S | R | U, SYN },
	{ "<a@\xc3\xa4->", 0, S | R | U, SYN },
	{ "<a@-\xc3\xa4>", 0, S | R | U, SYN },
	/* address literals */
	{ "<a@[256.1.1.1]>", 0, S | R, SYN },
	{ "<a@[1.2.3.256]>", 0, S | R, SYN },
	{ "<a@[999.1.1.1]>", 0, S | R, SYN },
	{ "<a@[1.2.3]>", 0, S | R, SYN },
	{ "<a@[1.2.3.4.5]>", 0, S | R, SYN },
	{ "<a@[1.2.3.4.]>", 0, S | R, SYN },
	{ "<a@[.1.2.3.4]>", 0, S | R, SYN },
	{ "<a@[1..3.4]>", 0, S | R, SYN },
	{ "<a@[1234.1.1.1]>", 0, S | R, SYN },
	{ "<a@[0001.1.1.1]>", 0, S | R, SYN },
	{ "<a@[-1.1.1.1]>", 0, S | R, SYN },
	{ "<a@[1.2.3.4>", 0, S | R, SYN },
	{ "<a@[1.2.3.4", 0, S | R, SYN },
	{ "<a@1.2.3.4]>", 0, S | R, SYN },
	{ "<a@[ 1.2.3.4]>", 0, S | R, SYN },
	{ "<a@[1.2.3.4 ]>", 0, S | R, SYN },
	{ "<a@[]>", 0, S | R, SYN },
	{ "<a@[>", 0, S | R, SYN },
	{ "<a@[1.2.3.4]x>", 0, S | R, SYN },
	{ "<a@[1.2.3.4].ex>", 0, S | R, SYN },
	{ "<a@[[1.2.3.4]]>", 0, S | R, SYN },
	{ "<a@[IPv6:]>", 0, S | R, SYN },
	{ "<a@[IPv6]>", 0, S | R, SYN },
	{ "<a@[IPv6::1]>", 0, S | R, SYN },
	{ "<a@[IPv6:12345::]>", 0, S | R, SYN },
	{ "<a@[IPv6:1.2.3.4]>", 0, S | R, SYN },
	{ "<a@[IPv6:::1%eth0]>", 0, S | R, SYN },
	{ "<a@[IPv6:gggg::]>", 0, S | R, SYN },
	{ "<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, S | R, SYN },
	{ "<a@[IPv6:1::2::3]>", 0, S | R, SYN },
	{ "<a@[IPv6: ::1]>", 0, S | R, SYN },
	{ "<a@[IPv4:1.2.3.4]>", 0, S | R, SYN },
	{ "<a@[x400:foo]>", 0, S | R, SYN },
	{ "<a@[2001:db8::1]>", 0, S | R, SYN },
	{ "<a@[IPv6:0000:0000:0000:0000:0000:0000:0000:0000:0000]>", 0, S | R,
	    SYN },
	{ "<a@[IPv6:ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2550]>", 0,
	    S | R, SYN },
	{ "<a@[\xc3\xa4]>", 0, S | R | U, SYN },
	/* source routes */
	{ "<@a.example>", 0, S | R, SYN },
	{ "<@a.example:>", 0, S | R, SYN },
	{ "<@a,@b:>", 0, S | R, SYN },
	{ "<@a.example,b.example:u@c>", 0, S | R, SYN },
	{ "<@:u@c>", 0, S | R, SYN },
	{ "<@a;u@c>", 0, S | R, SYN },
	{ "<@[1.2.3.4]:u@c>", 0, S | R, SYN },
	{ "<@a.example,:u@c>", 0, S | R, SYN },
	{ "<@a.example,@:u@c>", 0, S | R, SYN },
	{ "<@-a:u@c>", 0, S | R, SYN },
	{ "<@a:@b:u@c>", 0, S | R, SYN },
	{ "<@a", 0, S | R, SYN },
	{ "<@a,", 0, S | R, SYN },
	{ "<@a:", 0, S | R, SYN },
	{ "<@a:>", 0, S, SYN },
	{ "@a:u@c", 0, S | NB, SYN },
};

START_TEST(test_bad)
{
	const struct bad *b = &bad[_i];
	struct addr a;
	enum addr_err e = ADDR_E_NONE;
	size_t used = 4242, len;

	len = b->len ? b->len : strlen(b->in);
	memset(&a, 'x', sizeof(a));
	ck_assert_msg(addr_parse_path(b->in, len, b->flags, &a, &used,
	    &e) == -1, "case %d \"%s\" accepted", _i, b->in);
	ck_assert_msg(e == b->err, "case %d \"%s\": got %s, want %s", _i,
	    b->in, addr_err_str(e), addr_err_str(b->err));
	ck_assert_uint_eq(used, 4242);
	/* Nothing half-parsed is left behind. */
	ck_assert_str_eq(a.local, "");
	ck_assert_str_eq(a.domain, "");
	ck_assert(!a.utf8 && !a.literal);
}
END_TEST

/* ---- length limits ---------------------------------------------------- */

/* n bytes of domain: labels of 50 letters, never ending in a dot. */
static void
fill_domain(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (i % 51 == 50) ? '.' : 'd';
	if (n >= 3 && p[n - 1] == '.') {
		p[n - 1] = 'd';
		p[n - 2] = '.';
	}
}

struct limit {
	size_t		 local;		/* dot-string of this length */
	bool		 quoted;	/* local is "..." of that length */
	size_t		 domain;
	size_t		 route;		/* 0, or "@<route>:" with this domain */
	bool		 bare;
	int		 rc;
	enum addr_err	 err;
};

static const struct limit limits[] = {
	{ 64, false, 10, 0, false, 0, ADDR_E_NONE },
	{ 65, false, 10, 0, false, -1, ADDR_E_LOCAL_TOOLONG },
	{ 200, false, 10, 0, false, -1, ADDR_E_LOCAL_TOOLONG },
	{ 64, true, 10, 0, false, 0, ADDR_E_NONE },
	{ 65, true, 10, 0, false, -1, ADDR_E_LOCAL_TOOLONG },
	{ 100, true, 10, 0, false, -1, ADDR_E_LOCAL_TOOLONG },
	/* "<" 1 "@" domain ">": the domain may be 252 in a path. */
	{ 1, false, 252, 0, false, 0, ADDR_E_NONE },
	{ 1, false, 253, 0, false, -1, ADDR_E_PATH_TOOLONG },
	{ 1, false, 255, 0, false, -1, ADDR_E_PATH_TOOLONG },
	{ 1, false, 256, 0, false, -1, ADDR_E_DOMAIN_TOOLONG },
	{ 1, false, 1000, 0, false, -1, ADDR_E_DOMAIN_TOOLONG },
	{ 64, false, 189, 0, false, 0, ADDR_E_NONE },		/* 256 */
	{ 64, false, 190, 0, false, -1, ADDR_E_PATH_TOOLONG },	/* 257 */
	{ 64, false, 189, 0, true, 0, ADDR_E_NONE },
	{ 64, false, 190, 0, true, -1, ADDR_E_PATH_TOOLONG },
	/* a source route counts in the path */
	{ 1, false, 10, 240, false, 0, ADDR_E_NONE },		/* 256 */
	{ 1, false, 10, 241, false, -1, ADDR_E_PATH_TOOLONG },
	{ 1, false, 10, 256, false, -1, ADDR_E_DOMAIN_TOOLONG },
};

START_TEST(test_limits)
{
	const struct limit *l = &limits[_i];
	char in[2048];
	size_t n = 0, used = 0;
	struct addr a;
	enum addr_err e;

	if (!l->bare)
		in[n++] = '<';
	if (l->route) {
		in[n++] = '@';
		fill_domain(in + n, l->route);
		n += l->route;
		in[n++] = ':';
	}
	if (l->quoted) {
		in[n] = '"';
		memset(in + n + 1, 'q', l->local - 2);
		in[n + l->local - 1] = '"';
	} else
		memset(in + n, 'l', l->local);
	n += l->local;
	in[n++] = '@';
	fill_domain(in + n, l->domain);
	n += l->domain;
	if (!l->bare)
		in[n++] = '>';
	ck_assert_int_eq(addr_parse_path(in, n, S | R | NB, &a, &used, &e),
	    l->rc);
	ck_assert_msg(e == l->err, "case %d: got %s, want %s", _i,
	    addr_err_str(e), addr_err_str(l->err));
	if (l->rc == 0) {
		ck_assert_uint_eq(used, n);
		ck_assert_uint_eq(strlen(a.local), l->local);
		ck_assert_uint_eq(strlen(a.domain), l->domain);
	}
}
END_TEST

struct label {
	const char	*label;		/* repeated to the length */
	size_t		 reps;
	unsigned	 flags;
	enum addr_err	 err;
};

static const struct label labels[] = {
	{ "a", 63, 0, ADDR_E_NONE },
	{ "a", 64, 0, ADDR_E_DOMAIN_TOOLONG },
	{ "a", 64, U, ADDR_E_DOMAIN_TOOLONG },
	{ "a", 100, 0, ADDR_E_DOMAIN_TOOLONG },
	/* A U-label's limit is its A-label's: UTF-8 octets are not counted. */
	{ "\xc3\xa9", 40, U, ADDR_E_NONE },
	{ "a\xc3\xa9", 63, U, ADDR_E_NONE },
	{ "a\xc3\xa9", 64, U, ADDR_E_DOMAIN_TOOLONG },
};

START_TEST(test_label)
{
	const struct label *l = &labels[_i];
	char in[1024];
	size_t n, used, i, ll = strlen(l->label);
	struct addr a;
	enum addr_err e;

	memcpy(in, "<a@x.", 5);
	n = 5;
	for (i = 0; i < l->reps; i++, n += ll)
		memcpy(in + n, l->label, ll);
	memcpy(in + n, ".y>", 3);
	n += 3;
	(void)addr_parse_path(in, n, R | l->flags, &a, &used, &e);
	ck_assert_msg(e == l->err, "case %d: got %s", _i, addr_err_str(e));
	/* The label alone, as a domain, the same. */
	(void)addr_domain_check(in + 5, n - 5 - 3, l->flags, NULL, &e);
	ck_assert_int_eq(e, l->err);
}
END_TEST

/* Limits are named after the RFC and exact. */
START_TEST(test_constants)
{
	struct addr a;

	ck_assert_int_eq(ADDR_LOCAL_MAX, 64);
	ck_assert_int_eq(ADDR_DOMAIN_MAX, 255);
	ck_assert_int_eq(ADDR_PATH_MAX, 256);
	ck_assert_int_eq(ADDR_LABEL_MAX, 63);
	ck_assert_uint_eq(sizeof(a.local), 65);
	ck_assert_uint_eq(sizeof(a.domain), 256);
}
END_TEST

/* Bytes past len are never looked at, not even a terminating NUL. */
START_TEST(test_no_overread)
{
	static const char *const paths[] = { "<a@b>", "<>", "<postmaster>",
	    "<\"x\"@[1.2.3.4]>", "<@r:a@[IPv6:::1]>" };
	char *p;
	size_t i, n, k, used;
	struct addr a;
	enum addr_err e;

	for (i = 0; i < NELEM(paths); i++) {
		n = strlen(paths[i]);
		for (k = 0; k <= n; k++) {
			/* Exactly k bytes on the heap: ASan sees over-reads. */
			p = malloc(k ? k : 1);
			ck_assert_ptr_nonnull(p);
			memcpy(p, paths[i], k);
			(void)addr_parse_path(p, k, S | R | U | NB, &a, &used,
			    &e);
			ck_assert_int_eq(e == ADDR_E_NONE, k == n);
			free(p);
		}
	}
}
END_TEST

/* ---- addr_domain_check ------------------------------------------------ */

struct dom {
	const char	*in;
	unsigned	 flags;
	int		 rc;
	bool		 literal;
};

static const struct dom doms[] = {
	{ "example.org", 0, 0, false },
	{ "localhost", 0, 0, false },
	{ "a", 0, 0, false },
	{ "1.2.3.4", 0, 0, false },
	{ "[192.0.2.1]", 0, 0, true },
	{ "[IPv6:::1]", 0, 0, true },
	{ "b\xc3\xbc" "cher.example", U, 0, false },
	{ "b\xc3\xbc" "cher.example", 0, -1, false },
	{ "", 0, -1, false },
	{ "example.org.", 0, -1, false },
	{ ".example.org", 0, -1, false },
	{ "exa mple.org", 0, -1, false },
	{ "example.org ", 0, -1, false },
	{ "-example.org", 0, -1, false },
	{ "example_org", 0, -1, false },
	{ "[1.2.3.4", 0, -1, false },
	{ "[1.2.3.4]x", 0, -1, false },
	{ "[1.2.3.4] ", 0, -1, false },
	{ "[300.1.1.1]", 0, -1, false },
	{ "[tag:x]", 0, -1, false },
	{ "user@example.org", 0, -1, false },
	{ "<example.org>", 0, -1, false },
};

START_TEST(test_domain_check)
{
	const struct dom *d = &doms[_i];
	enum addr_err e;
	bool literal = !d->literal;

	ck_assert_msg(addr_domain_check(d->in, strlen(d->in), d->flags,
	    &literal, &e) == d->rc, "case %d \"%s\"", _i, d->in);
	ck_assert_int_eq(e == ADDR_E_NONE, d->rc == 0);
	if (d->rc == 0)
		ck_assert_int_eq(literal, d->literal);
	/* literal_r may be NULL. */
	ck_assert_int_eq(addr_domain_check(d->in, strlen(d->in), d->flags,
	    NULL, &e), d->rc);
}
END_TEST

/* ---- addr_utf8_char --------------------------------------------------- */

struct u8 {
	const char	*in;
	size_t		 len;
	size_t		 want;
};

static const struct u8 u8s[] = {
	{ "a", 1, 0 },
	{ "", 1, 0 },
	{ "\xc2\x80", 2, 2 },			/* U+0080 */
	{ "\xdf\xbf", 2, 2 },			/* U+07FF */
	{ "\xe0\xa0\x80", 3, 3 },		/* U+0800 */
	{ "\xed\x9f\xbf", 3, 3 },		/* U+D7FF */
	{ "\xee\x80\x80", 3, 3 },		/* U+E000 */
	{ "\xef\xbf\xbf", 3, 3 },		/* U+FFFF */
	{ "\xf0\x90\x80\x80", 4, 4 },		/* U+10000 */
	{ "\xf4\x8f\xbf\xbf", 4, 4 },		/* U+10FFFF */
	{ "\xc3\xa9zzz", 5, 2 },
	{ "\xc3\xa9", 1, 0 },			/* cut by n */
	{ "\xf0\x90\x80\x80", 3, 0 },
	{ "\xc0\x80", 2, 0 },
	{ "\xc1\xbf", 2, 0 },
	{ "\xe0\x9f\xbf", 3, 0 },
	{ "\xed\xa0\x80", 3, 0 },
	{ "\xf0\x8f\xbf\xbf", 4, 0 },
	{ "\xf4\x90\x80\x80", 4, 0 },
	{ "\xf5\x80\x80\x80", 4, 0 },
	{ "\xfe", 1, 0 },
	{ "\xff", 1, 0 },
	{ "\x80", 1, 0 },
	{ "\xbf", 1, 0 },
	{ "\xc3\xc3", 2, 0 },
	{ "\xe2\x82\x41", 3, 0 },
	{ "\xf0\x9f\x98\x41", 4, 0 },
	{ "\xc3\x00", 2, 0 },
};

START_TEST(test_utf8_char)
{
	const struct u8 *u = &u8s[_i];

	ck_assert_uint_eq(addr_utf8_char(u->in, u->len), u->want);
}
END_TEST

/* ---- output ----------------------------------------------------------- */

static struct addr
parsed(const char *in, unsigned flags)
{
	struct addr a;
	enum addr_err e;
	size_t used;

	ck_assert_int_eq(addr_parse_path(in, strlen(in), flags, &a, &used, &e),
	    0);
	return a;
}

START_TEST(test_format)
{
	struct addr a;
	char buf[600];

	a = parsed("<User@Example.org>", R);
	ck_assert_uint_eq(addr_format(&a, buf, sizeof(buf)), 16);
	ck_assert_str_eq(buf, "User@Example.org");

	a = parsed("<>", S);
	ck_assert_uint_eq(addr_format(&a, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");

	a = parsed("<Postmaster>", R);
	ck_assert_uint_eq(addr_format(&a, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "postmaster");

	a = parsed("<@r.example:\"a b\"@[192.0.2.1]>", R);
	ck_assert_uint_eq(addr_format(&a, buf, sizeof(buf)), 17);
	ck_assert_str_eq(buf, "\"a b\"@[192.0.2.1]");

	/* snprintf semantics: the needed length, truncated output. */
	a = parsed("<abc@def>", R);
	memset(buf, 'x', sizeof(buf));
	ck_assert_uint_eq(addr_format(&a, buf, 5), 7);
	ck_assert_str_eq(buf, "abc@");
	ck_assert_uint_eq(addr_format(&a, buf, 7), 7);
	ck_assert_str_eq(buf, "abc@de");
	ck_assert_uint_eq(addr_format(&a, buf, 8), 7);
	ck_assert_str_eq(buf, "abc@def");
	ck_assert_uint_eq(addr_format(&a, buf, 1), 7);
	ck_assert_str_eq(buf, "");
	buf[0] = 'x';
	ck_assert_uint_eq(addr_format(&a, buf, 0), 7);
	ck_assert_int_eq(buf[0], 'x');
	ck_assert_uint_eq(addr_format(&a, NULL, 0), 7);
}
END_TEST

struct unq {
	const char	*in;
	const char	*want;
};

static const struct unq unqs[] = {
	{ "<plain.local@x>", "plain.local" },
	{ "<\"quoted\"@x>", "quoted" },
	{ "<\"a b\"@x>", "a b" },
	{ "<\"a\\\"b\"@x>", "a\"b" },
	{ "<\"a\\\\b\"@x>", "a\\b" },
	{ "<\"\\a\\b\\c\"@x>", "abc" },
	{ "<\"\\\\\"@x>", "\\" },
	{ "<\"\\\"\"@x>", "\"" },
	{ "<\"\"@x>", "" },
	{ "<\"a@b\"@x>", "a@b" },
	{ "<>", "" },
	{ "<postmaster>", "postmaster" },
};

START_TEST(test_unquoted)
{
	const struct unq *u = &unqs[_i];
	struct addr a;
	char buf[100];

	a = parsed(u->in, S | R);
	ck_assert_uint_eq(addr_local_unquoted(&a, buf, sizeof(buf)),
	    strlen(u->want));
	ck_assert_str_eq(buf, u->want);
}
END_TEST

START_TEST(test_unquoted_truncated)
{
	struct addr a;
	char buf[4];

	a = parsed("<\"a\\\"bcdef\"@x>", R);
	ck_assert_uint_eq(addr_local_unquoted(&a, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "a\"b");
	ck_assert_uint_eq(addr_local_unquoted(&a, NULL, 0), 7);
	a = parsed("<abcdef@x>", R);
	ck_assert_uint_eq(addr_local_unquoted(&a, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

START_TEST(test_err_str)
{
	enum addr_err e;
	const char *s, *seen[16];
	size_t i;

	for (e = ADDR_E_NONE; e <= ADDR_E_NULL_NOT_ALLOWED; e++) {
		s = addr_err_str(e);
		ck_assert_ptr_nonnull(s);
		ck_assert(s[0] != '\0');
		for (i = 0; i < (size_t)e; i++)
			ck_assert_str_ne(s, seen[i]);
		seen[e] = s;
	}
	ck_assert_ptr_nonnull(addr_err_str((enum addr_err)999));
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("addr");

	tc = tcase_create("parse_path");
	tcase_add_loop_test(tc, test_good, 0, (int)NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, (int)NELEM(bad));
	tcase_add_test(tc, test_no_overread);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_limits, 0, (int)NELEM(limits));
	tcase_add_loop_test(tc, test_label, 0, (int)NELEM(labels));
	tcase_add_test(tc, test_constants);
	suite_add_tcase(s, tc);

	tc = tcase_create("domain_check");
	tcase_add_loop_test(tc, test_domain_check, 0, (int)NELEM(doms));
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_loop_test(tc, test_utf8_char, 0, (int)NELEM(u8s));
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, test_format);
	tcase_add_loop_test(tc, test_unquoted, 0, (int)NELEM(unqs));
	tcase_add_test(tc, test_unquoted_truncated);
	tcase_add_test(tc, test_err_str);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(addr_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
