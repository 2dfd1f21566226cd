/*
 * SPDX-License-Identifier: ISC
 *
 * check_match.c -- unit tests for lib/match.c.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    network and domain lists written here.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define LIST_MAX	5	/* words in a table's list, NULL-ended */

static size_t
list_len(const char *const *list)
{
	size_t n = 0;

	while (n < LIST_MAX && list[n] != NULL)
		n++;
	return n;
}

/* A client address as accept() would give it. */
static void
make_sa(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') != NULL) {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(25);
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
		memcpy(ss, &sin6, sizeof(sin6));
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(25);
		ck_assert_int_eq(inet_pton(AF_INET, text, &sin.sin_addr), 1);
		memcpy(ss, &sin, sizeof(sin));
	}
}

/* ---- match_net_parse_one: good entries -------------------------------- */

struct net_good {
	const char	*text;
	int		 family;
	const char	*addr;		/* as inet_pton() reads it */
	unsigned	 prefix;
};

static const struct net_good net_good[] = {
	{ "127.0.0.0/8", AF_INET, "127.0.0.0", 8 },
	{ "192.0.2.1", AF_INET, "192.0.2.1", 32 },
	{ "192.0.2.1/32", AF_INET, "192.0.2.1", 32 },
	{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
	{ "0.0.0.0", AF_INET, "0.0.0.0", 32 },
	{ "255.255.255.255", AF_INET, "255.255.255.255", 32 },
	{ "10.128.0.0/9", AF_INET, "10.128.0.0", 9 },
	{ "192.0.2.0/24", AF_INET, "192.0.2.0", 24 },
	{ "10.0.0.0/7", AF_INET, "10.0.0.0", 7 },
	{ "::1", AF_INET6, "::1", 128 },
	{ "[::1]", AF_INET6, "::1", 128 },
	{ "[::1]/128", AF_INET6, "::1", 128 },
	{ "[::1/128]", AF_INET6, "::1", 128 },
	{ "::1/128", AF_INET6, "::1", 128 },
	{ "2001:db8::/32", AF_INET6, "2001:db8::", 32 },
	{ "[2001:db8::]/32", AF_INET6, "2001:db8::", 32 },
	{ "[2001:DB8::]/32", AF_INET6, "2001:db8::", 32 },
	{ "[2001:db8::/32]", AF_INET6, "2001:db8::", 32 },
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1",
	    128 },
	{ "fe80::/10", AF_INET6, "fe80::", 10 },
	{ "::/0", AF_INET6, "::", 0 },
	{ "[::]/0", AF_INET6, "::", 0 },
	{ "::/95", AF_INET6, "::", 95 },
	/* IPv4-mapped entries become the IPv4 network they name. */
	{ "::ffff:127.0.0.1", AF_INET, "127.0.0.1", 32 },
	{ "[::ffff:127.0.0.0]/104", AF_INET, "127.0.0.0", 8 },
	{ "::ffff:0:0/96", AF_INET, "0.0.0.0", 0 },
	{ "::FFFF:c000:0200/120", AF_INET, "192.0.2.0", 24 },
	/* The longest IPv6 text there is. */
	{ "[0000:0000:0000:0000:0000:0000:255.255.255.255]/128", AF_INET6,
	    "::255.255.255.255", 128 },
};

START_TEST(test_net_good)
{
	const struct net_good *c = &net_good[_i];
	struct match_net net;
	const char *err = NULL;
	uint8_t want[16];

	memset(want, 0, sizeof(want));
	ck_assert_int_eq(inet_pton(c->family, c->addr, want), 1);
	ck_assert_msg(match_net_parse_one(c->text, strlen(c->text), &net,
	    &err) == 0, "%s: %s", c->text, err);
	ck_assert_int_eq(net.family, c->family);
	ck_assert_uint_eq(net.prefix, c->prefix);
	ck_assert_mem_eq(net.addr, want, sizeof(want));
}
END_TEST

START_TEST(test_net_len)
{
	static const char text[] = "127.0.0.0/8xyz";
	struct match_net net;
	const char *err = NULL;

	/* Only len bytes are read: no NUL needed. */
	ck_assert_int_eq(match_net_parse_one(text, 11, &net, &err), 0);
	ck_assert_int_eq(net.family, AF_INET);
	ck_assert_uint_eq(net.prefix, 8);
	ck_assert_int_eq(match_net_parse_one(text, 10, &net, &err), -1);
	ck_assert_str_eq(err, "missing prefix length");
	ck_assert_int_eq(match_net_parse_one("::1]", 3, &net, &err), 0);
	ck_assert_int_eq(net.family, AF_INET6);
}
END_TEST

/* ---- match_net_parse_one: bad entries --------------------------------- */

struct net_bad {
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*err;
};

#define TOO_LONG \
    "1111111111111111111111111111111111111111111111111111111111111111"

static const struct net_bad net_bad[] = {
	{ "", 0, "empty network" },
	/* Prefix lengths. */
	{ "127.0.0.0/33", 0, "prefix length out of range" },
	{ "0.0.0.0/99", 0, "prefix length out of range" },
	{ "0.0.0.0/1000", 0, "prefix length out of range" },
	{ "0.0.0.0/4294967328", 0, "prefix length out of range" },
	{ "::/129", 0, "prefix length out of range" },
	{ "[::]/129", 0, "prefix length out of range" },
	{ "10.0.0.0/-1", 0, "bad prefix length" },
	{ "10.0.0.0/+8", 0, "bad prefix length" },
	{ "10.0.0.0/8 ", 0, "bad prefix length" },
	{ "10.0.0.0/0x8", 0, "bad prefix length" },
	{ "10.0.0.0/8/8", 0, "bad prefix length" },
	{ "10.0.0.0/08", 0, "bad prefix length: leading zero" },
	{ "0.0.0.0/00", 0, "bad prefix length: leading zero" },
	{ "[::]/0128", 0, "bad prefix length: leading zero" },
	{ "10.0.0.0/", 0, "missing prefix length" },
	{ "[::1]/", 0, "missing prefix length" },
	{ "[::1/]", 0, "missing prefix length" },
	/* Addresses. */
	{ "256.0.0.1", 0, "bad IPv4 address" },
	{ "1.2.3", 0, "bad IPv4 address" },
	{ "1.2.3.4.5", 0, "bad IPv4 address" },
	{ "1..3.4", 0, "bad IPv4 address" },
	{ "1.2.3.4.", 0, "bad IPv4 address" },
	{ ".1.2.3.4", 0, "bad IPv4 address" },
	{ "01.2.3.4", 0, "bad IPv4 address" },
	{ "1.2.3.0004", 0, "bad IPv4 address" },
	{ "127.1", 0, "bad IPv4 address" },
	{ "4294967295", 0, "bad IPv4 address" },
	{ "1.2.3.4\0", 8, "not an IP address or network" },
	{ "::g", 0, "bad IPv6 address" },
	{ "1::2::3", 0, "bad IPv6 address" },
	{ "1:2:3:4:5:6:7:8:9", 0, "bad IPv6 address" },
	{ ":::", 0, "bad IPv6 address" },
	{ "fe80::1%eth0", 0, "bad IPv6 address" },
	{ "::1\0", 4, "bad IPv6 address" },
	{ "::256.0.0.1", 0, "bad IPv6 address" },
	{ "localhost", 0, "not an IP address or network" },
	{ "example.com/24", 0, "not an IP address or network" },
	{ "1.2.3.a", 0, "not an IP address or network" },
	{ "hash:/etc/tern/nets", 0, "bad IPv6 address" },
	{ "/etc/tern/nets", 0, "missing address" },
	{ "/8", 0, "missing address" },
	{ "[]", 0, "missing address" },
	{ "[]/8", 0, "missing address" },
	{ TOO_LONG "1", 0, "network entry is too long" },
	{ TOO_LONG, 0, "bad IPv4 address" },
	/* Host bits beyond the prefix. */
	{ "127.0.0.1/8", 0, "non-null host bits" },
	{ "11.0.0.0/7", 0, "non-null host bits" },
	{ "0.0.0.1/0", 0, "non-null host bits" },
	{ "192.0.2.1/31", 0, "non-null host bits" },
	{ "2001:db8::1/32", 0, "non-null host bits" },
	{ "[::1]/127", 0, "non-null host bits" },
	{ "::1/0", 0, "non-null host bits" },
	{ "::ffff:0:0/95", 0, "non-null host bits" },
	{ "::ffff:127.0.0.1/104", 0, "non-null host bits" },
	/* Brackets. */
	{ "[::1", 0, "unbalanced brackets" },
	{ "::1]", 0, "unbalanced brackets" },
	{ "[[::1]]", 0, "unbalanced brackets" },
	{ "[::1]]", 0, "unbalanced brackets" },
	{ "[::1][", 0, "unbalanced brackets" },
	{ "::[1]", 0, "unbalanced brackets" },
	{ "]::1[", 0, "unbalanced brackets" },
	{ "[::1]x", 0, "junk after ']'" },
	{ "[::1]128", 0, "junk after ']'" },
	{ "[::1]:25", 0, "junk after ']'" },
	{ "[::1/128]/128", 0, "two prefix lengths" },
	{ "[192.0.2.1]", 0, "brackets are for IPv6 addresses only" },
	{ "[192.0.2.0]/24", 0, "brackets are for IPv6 addresses only" },
	{ "[256.0.0.1]", 0, "bad IPv4 address" },
};

START_TEST(test_net_bad)
{
	const struct net_bad *c = &net_bad[_i];
	struct match_net net;
	const char *err = NULL;
	size_t len;

	len = c->len != 0 ? c->len : strlen(c->text);
	ck_assert_msg(match_net_parse_one(c->text, len, &net, &err) == -1,
	    "case %d \"%s\" was accepted", _i, c->text);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strcmp(err, c->err) == 0, "case %d \"%s\": \"%s\", "
	    "not \"%s\"", _i, c->text, err, c->err);
}
END_TEST

/* ---- match_nets_parse ------------------------------------------------- */

START_TEST(test_nets_parse)
{
	static const char *const words[] = { "127.0.0.0/8", "[::1]/128",
	    "192.0.2.1", NULL };
	struct match_nets nets;
	size_t bad = 99;
	const char *err = NULL;

	ck_assert_int_eq(match_nets_parse(words, 3, &nets, &bad, &err), 0);
	ck_assert_uint_eq(bad, 99);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(nets.n, 3);
	ck_assert_int_eq(nets.v[0].family, AF_INET);
	ck_assert_uint_eq(nets.v[0].prefix, 8);
	ck_assert_uint_eq(nets.v[0].addr[0], 127);
	ck_assert_int_eq(nets.v[1].family, AF_INET6);
	ck_assert_uint_eq(nets.v[1].prefix, 128);
	ck_assert_uint_eq(nets.v[1].addr[15], 1);
	ck_assert_uint_eq(nets.v[2].prefix, 32);
	match_nets_free(&nets);
	ck_assert_ptr_null(nets.v);
	ck_assert_uint_eq(nets.n, 0);
	match_nets_free(&nets);		/* twice is harmless */
	match_nets_free(NULL);
}
END_TEST

START_TEST(test_nets_parse_bad)
{
	static const char *const words[] = { "127.0.0.0/8", "::1",
	    "127.0.0.1/8", "bogus" };
	struct match_nets nets;
	size_t bad = 99;
	const char *err = NULL;

	ck_assert_int_eq(match_nets_parse(words, 4, &nets, &bad, &err), -1);
	ck_assert_uint_eq(bad, 2);
	ck_assert_str_eq(err, "non-null host bits");
	ck_assert_ptr_null(nets.v);
	ck_assert_uint_eq(nets.n, 0);
	match_nets_free(&nets);

	/* The first word, and no place to put the details. */
	ck_assert_int_eq(match_nets_parse(words + 3, 1, &nets, NULL, NULL),
	    -1);
	ck_assert_ptr_null(nets.v);
	ck_assert_int_eq(match_nets_parse(words + 3, 1, &nets, &bad, &err),
	    -1);
	ck_assert_uint_eq(bad, 0);
	ck_assert_str_eq(err, "not an IP address or network");
}
END_TEST

START_TEST(test_nets_parse_empty)
{
	static const char *const none[] = { NULL };
	struct match_nets nets;
	struct sockaddr_storage ss;
	size_t bad = 99;
	const char *err = NULL;

	ck_assert_int_eq(match_nets_parse(NULL, 0, &nets, &bad, &err), 0);
	ck_assert_ptr_null(nets.v);
	ck_assert_uint_eq(nets.n, 0);
	make_sa("127.0.0.1", &ss);
	ck_assert(!match_nets_contains(&nets, (struct sockaddr *)&ss));
	match_nets_free(&nets);
	ck_assert_int_eq(match_nets_parse(none, 0, &nets, &bad, &err), 0);
	ck_assert_uint_eq(nets.n, 0);
	ck_assert_uint_eq(bad, 99);
	match_nets_free(&nets);
}
END_TEST

START_TEST(test_nets_parse_limits)
{
	static const char *const null_word[] = { "::1", NULL };
	const char **words;
	struct match_nets nets;
	size_t i, bad = 99;
	const char *err = NULL;

	words = calloc(MATCH_NETS_MAX + 1, sizeof(*words));
	ck_assert_ptr_nonnull(words);
	for (i = 0; i <= MATCH_NETS_MAX; i++)
		words[i] = "10.0.0.0/8";
	ck_assert_int_eq(match_nets_parse(words, MATCH_NETS_MAX, &nets, &bad,
	    &err), 0);
	ck_assert_uint_eq(nets.n, MATCH_NETS_MAX);
	match_nets_free(&nets);
	ck_assert_int_eq(match_nets_parse(words, MATCH_NETS_MAX + 1, &nets,
	    &bad, &err), -1);
	ck_assert_uint_eq(bad, MATCH_NETS_MAX + 1);
	ck_assert_str_eq(err, "too many networks");
	ck_assert_ptr_null(nets.v);
	free(words);

	/* A NULL word inside the count is an empty entry. */
	ck_assert_int_eq(match_nets_parse(null_word, 2, &nets, &bad, &err),
	    -1);
	ck_assert_uint_eq(bad, 1);
	ck_assert_str_eq(err, "empty network");
}
END_TEST

/* ---- match_nets_contains ---------------------------------------------- */

struct contains_case {
	const char	*nets[LIST_MAX];
	const char	*client;
	bool		 want;
};

#define LOOP8	{ "127.0.0.0/8" }
#define V6ALL	{ "::/0" }

static const struct contains_case contains_cases[] = {
	{ LOOP8, "127.0.0.1", true },
	{ LOOP8, "127.255.255.255", true },
	{ LOOP8, "127.0.0.0", true },
	{ LOOP8, "126.255.255.255", false },
	{ LOOP8, "128.0.0.1", false },
	{ LOOP8, "::ffff:127.0.0.1", true },
	{ LOOP8, "::ffff:128.0.0.1", false },
	{ LOOP8, "::127.0.0.1", false },	/* IPv4-compatible */
	{ LOOP8, "::1", false },
	{ { "192.0.2.1" }, "192.0.2.1", true },
	{ { "192.0.2.1" }, "192.0.2.2", false },
	{ { "192.0.2.1" }, "192.0.2.0", false },
	{ { "192.0.2.1" }, "::ffff:192.0.2.1", true },
	{ { "192.0.2.1/32" }, "::ffff:c000:201", true },
	{ { "0.0.0.0/0" }, "1.2.3.4", true },
	{ { "0.0.0.0/0" }, "255.255.255.255", true },
	{ { "0.0.0.0/0" }, "::ffff:1.2.3.4", true },
	{ { "0.0.0.0/0" }, "::1", false },
	{ { "0.0.0.0/0" }, "::", false },
	{ V6ALL, "::1", true },
	{ V6ALL, "2001:db8::1", true },
	{ V6ALL, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ V6ALL, "1.2.3.4", false },
	{ V6ALL, "::ffff:1.2.3.4", false },
	{ { "[::1]/128" }, "::1", true },
	{ { "[::1]/128" }, "::2", false },
	{ { "[::1]/128" }, "::", false },
	{ { "[::1]/128" }, "127.0.0.1", false },
	{ { "::1" }, "0:0:0:0:0:0:0:1", true },
	{ { "2001:db8::/32" }, "2001:db8::1", true },
	{ { "2001:db8::/32" }, "2001:db8:ffff:ffff::1", true },
	{ { "[2001:db8::]/32" }, "2001:0DB8:0:0:0:0:0:1", true },
	{ { "2001:db8::/32" }, "2001:db9::", false },
	{ { "2001:db8::/32" }, "2001:db7:ffff::", false },
	{ { "2001:db8::/32" }, "192.0.2.1", false },
	{ { "::ffff:127.0.0.0/104" }, "127.0.0.1", true },
	{ { "::ffff:127.0.0.0/104" }, "::ffff:127.0.0.1", true },
	{ { "::ffff:127.0.0.0/104" }, "128.0.0.1", false },
	{ { "::ffff:0:0/96" }, "192.0.2.1", true },
	{ { "10.0.0.0/9" }, "10.127.255.255", true },
	{ { "10.0.0.0/9" }, "10.128.0.0", false },
	{ { "10.128.0.0/9" }, "10.128.0.0", true },
	{ { "10.128.0.0/9" }, "10.127.255.255", false },
	{ { "192.0.2.128/25" }, "192.0.2.255", true },
	{ { "192.0.2.128/25" }, "192.0.2.127", false },
	{ { "192.0.2.0/31" }, "192.0.2.1", true },
	{ { "192.0.2.0/31" }, "192.0.2.2", false },
	{ { "2001:db8:8000::/33" }, "2001:db8:8000::1", true },
	{ { "2001:db8:8000::/33" }, "2001:db8:7fff::1", false },
	{ { "2001:db8::/127" }, "2001:db8::1", true },
	{ { "2001:db8::/127" }, "2001:db8::2", false },
	{ { "192.168.0.0/16", "2001:db8::/32", "127.0.0.1" }, "192.168.1.1",
	    true },
	{ { "192.168.0.0/16", "2001:db8::/32", "127.0.0.1" }, "2001:db8::5",
	    true },
	{ { "192.168.0.0/16", "2001:db8::/32", "127.0.0.1" },
	    "::ffff:127.0.0.1", true },
	{ { "192.168.0.0/16", "2001:db8::/32", "127.0.0.1" }, "10.0.0.1",
	    false },
	{ { "192.168.0.0/16", "2001:db8::/32", "127.0.0.1" }, "::1", false },
	{ { NULL }, "127.0.0.1", false },
	{ { NULL }, "::1", false },
};

START_TEST(test_contains)
{
	const struct contains_case *c = &contains_cases[_i];
	struct match_nets nets;
	struct sockaddr_storage ss;
	size_t bad;
	const char *err = NULL;

	ck_assert_msg(match_nets_parse(c->nets, list_len(c->nets), &nets,
	    &bad, &err) == 0, "case %d: %s", _i, err);
	make_sa(c->client, &ss);
	ck_assert_msg(match_nets_contains(&nets, (struct sockaddr *)&ss) ==
	    c->want, "case %d: %s %s in %s...", _i, c->client,
	    c->want ? "not" : "wrongly", c->nets[0]);
	match_nets_free(&nets);
}
END_TEST

START_TEST(test_contains_other)
{
	static const char *const all[] = { "0.0.0.0/0", "::/0" };
	struct match_nets nets;
	struct sockaddr_un sun;
	struct sockaddr_storage ss;

	ck_assert_int_eq(match_nets_parse(all, 2, &nets, NULL, NULL), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(!match_nets_contains(&nets, (struct sockaddr *)&sun));
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	ck_assert(!match_nets_contains(&nets, (struct sockaddr *)&ss));
	ck_assert(!match_nets_contains(&nets, NULL));
	make_sa("192.0.2.1", &ss);
	ck_assert(match_nets_contains(&nets, (struct sockaddr *)&ss));
	ck_assert(!match_nets_contains(NULL, (struct sockaddr *)&ss));
	match_nets_free(&nets);
}
END_TEST

/* ---- match_domain ----------------------------------------------------- */

struct domain_case {
	const char	*list[LIST_MAX];
	const char	*domain;
	bool		 subdomains;
	bool		 want;
};

#define EX	{ "example.com" }
#define DOTEX	{ ".example.com" }
#define LIT4	{ "[192.0.2.1]" }

static const struct domain_case domain_cases[] = {
	{ EX, "example.com", false, true },
	{ EX, "example.com", true, true },
	{ EX, "EXAMPLE.com", false, true },
	{ EX, "Example.Com", true, true },
	{ EX, "example.com.", false, true },
	{ EX, "EXAMPLE.COM.", true, true },
	{ EX, "a.example.com", false, false },
	{ EX, "a.example.com", true, true },
	{ EX, "A.B.Example.COM.", true, true },
	{ EX, "badexample.com", true, false },
	{ EX, "badexample.com", false, false },
	{ EX, "xample.com", true, false },
	{ EX, "example.co", true, false },
	{ EX, "example.com.evil", true, false },
	{ EX, "example.comm", true, false },
	{ EX, "example.com..", true, false },
	{ EX, "example.com..", false, false },
	{ EX, ".example.com", true, false },
	{ EX, "a..example.com", true, false },
	{ EX, "..example.com", true, false },
	{ EX, "", true, false },
	{ EX, ".", true, false },
	{ EX, "[example.com]", true, false },
	{ { "example.com." }, "example.com", false, true },
	{ { "example.com." }, "a.example.com.", true, true },
	{ { "EXAMPLE.COM" }, "example.com", false, true },
	{ { "com" }, "example.com", true, true },
	{ { "com" }, "example.com", false, false },
	/* A leading dot: subdomains only, whatever the flag. */
	{ DOTEX, "example.com", false, false },
	{ DOTEX, "example.com", true, false },
	{ DOTEX, "a.example.com", false, true },
	{ DOTEX, "a.example.com", true, true },
	{ DOTEX, "A.B.EXAMPLE.COM.", false, true },
	{ DOTEX, "aexample.com", true, false },
	{ DOTEX, ".example.com", true, false },
	{ { ".example.com." }, "a.example.com", false, true },
	/* Address literals: the same text, and nothing else. */
	{ LIT4, "[192.0.2.1]", false, true },
	{ LIT4, "[192.0.2.1]", true, true },
	{ LIT4, "192.0.2.1", true, false },
	{ LIT4, "[192.0.2.10]", true, false },
	{ LIT4, "[192.0.2.1].", true, false },
	{ LIT4, "x.[192.0.2.1]", true, false },
	{ LIT4, "[192.0.2.1", true, false },
	{ { "192.0.2.1" }, "[192.0.2.1]", true, false },
	{ { "[IPv6:2001:db8::1]" }, "[ipv6:2001:DB8::1]", false, true },
	{ { "[IPv6:2001:db8::1]" }, "[IPv6:2001:db8::2]", true, false },
	{ { "[IPv6:2001:db8::1]" }, "[IPv6:2001:db8:0::1]", true, false },
	/* Several entries. */
	{ { "localhost", "example.org", "example.com" }, "mail.example.com",
	    true, true },
	{ { "localhost", "example.org", "example.com" }, "mail.example.com",
	    false, false },
	{ { "localhost", "example.org", "example.com" }, "LOCALHOST", false,
	    true },
	{ { "localhost", "example.org", "example.com" }, "example.net", true,
	    false },
	/* Empty and odd entries match nothing. */
	{ { NULL }, "example.com", true, false },
	{ { "" }, "example.com", true, false },
	{ { "" }, "", true, false },
	{ { "." }, "example.com", true, false },
	{ { ".." }, "example.com", true, false },
	{ { "", ".", "example.org" }, "example.org.", true, true },
	/* Case folding is ASCII only. */
	{ { "\xc3\xa9.example" }, "\xc3\x89.example", true, false },
	{ { "\xc3\xa9.example" }, "\xc3\xa9.EXAMPLE", true, true },
};

START_TEST(test_domain)
{
	const struct domain_case *c = &domain_cases[_i];

	ck_assert_msg(match_domain(c->list, list_len(c->list), c->domain,
	    c->subdomains) == c->want, "case %d: \"%s\" %s \"%s\"...", _i,
	    c->domain, c->want ? "not in" : "wrongly in",
	    c->list[0] != NULL ? c->list[0] : "(empty)");
}
END_TEST

/* n labels of 63 bytes: 64 * n - 1 bytes. */
static void
long_name(char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(buf + i * 64, 'a' + (int)i, 63);
		buf[i * 64 + 63] = '.';
	}
	buf[n * 64 - 1] = '\0';
}

START_TEST(test_domain_limits)
{
	char name[MATCH_DOMAIN_MAX + 8], longer[MATCH_DOMAIN_MAX + 8];
	const char *list[1];

	long_name(name, 4);
	ck_assert_uint_eq(strlen(name), MATCH_DOMAIN_MAX);
	list[0] = name;
	ck_assert(match_domain(list, 1, name, false));
	ck_assert(match_domain_ok(name));
	memcpy(longer, name, MATCH_DOMAIN_MAX);
	longer[MATCH_DOMAIN_MAX] = '.';
	longer[MATCH_DOMAIN_MAX + 1] = '\0';
	ck_assert(match_domain(list, 1, longer, false));
	ck_assert(match_domain_ok(longer));
	longer[MATCH_DOMAIN_MAX] = 'x';
	longer[MATCH_DOMAIN_MAX + 1] = '\0';
	ck_assert(!match_domain(list, 1, longer, true));
	list[0] = longer;
	ck_assert(!match_domain(list, 1, longer, false));
	ck_assert(!match_domain_ok(longer));
	ck_assert(!match_domain(NULL, 0, "example.com", true));
	ck_assert(!match_domain(list, 1, NULL, true));
}
END_TEST

/* ---- match_domain_ok -------------------------------------------------- */

struct ok_case {
	const char	*entry;
	bool		 ok;
};

#define LABEL63 \
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static const struct ok_case ok_cases[] = {
	{ "example.com", true },
	{ "localhost", true },
	{ "EXAMPLE.COM", true },
	{ ".example.com", true },
	{ "example.com.", true },
	{ ".example.com.", true },
	{ "a-b.example", true },
	{ "a--b.example", true },
	{ "xn--bcher-kva.example", true },
	{ "1.example.com", true },
	{ "123.com", true },
	{ "a", true },
	{ LABEL63 ".com", true },
	{ "[192.0.2.1]", true },
	{ "[IPv6:2001:db8::1]", true },
	{ "[ipv6:::1]", true },
	{ "[IPv6:::ffff:192.0.2.1]", true },
	{ "", false },
	{ ".", false },
	{ "..", false },
	{ "..example.com", false },
	{ "example..com", false },
	{ "example.com..", false },
	{ "-a.com", false },
	{ "a-.com", false },
	{ "a.-", false },
	{ "a_b.com", false },
	{ "exa mple.com", false },
	{ "*.example.com", false },
	{ "example.com/", false },
	{ "@example.com", false },
	{ "\xc3\xa9.example", false },
	{ LABEL63 "x.com", false },
	{ "1.2.3.4", false },
	{ "example.123", false },
	{ "123", false },
	{ "[192.0.2.1", false },
	{ "192.0.2.1]", false },
	{ "[192.0.2.1].", false },
	{ "[1.2.3]", false },
	{ "[256.0.0.1]", false },
	{ "[::1]", false },
	{ "[IPv6:]", false },
	{ "[IPv6:::g]", false },
	{ "[IPv6:192.0.2.1]", false },
	{ "[tag:foo]", false },
	{ "[]", false },
	{ "[", false },
};

START_TEST(test_domain_ok)
{
	const struct ok_case *c = &ok_cases[_i];

	ck_assert_msg(match_domain_ok(c->entry) == c->ok, "case %d: \"%s\" "
	    "%s", _i, c->entry, c->ok ? "refused" : "accepted");
}
END_TEST

START_TEST(test_domain_ok_null)
{
	ck_assert(!match_domain_ok(NULL));
}
END_TEST

static Suite *
match_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("match");

	tc = tcase_create("nets");
	tcase_add_loop_test(tc, test_net_good, 0, (int)NELEM(net_good));
	tcase_add_test(tc, test_net_len);
	tcase_add_loop_test(tc, test_net_bad, 0, (int)NELEM(net_bad));
	tcase_add_test(tc, test_nets_parse);
	tcase_add_test(tc, test_nets_parse_bad);
	tcase_add_test(tc, test_nets_parse_empty);
	tcase_add_test(tc, test_nets_parse_limits);
	tcase_add_loop_test(tc, test_contains, 0, (int)NELEM(contains_cases));
	tcase_add_test(tc, test_contains_other);
	suite_add_tcase(s, tc);

	tc = tcase_create("domains");
	tcase_add_loop_test(tc, test_domain, 0, (int)NELEM(domain_cases));
	tcase_add_test(tc, test_domain_limits);
	tcase_add_loop_test(tc, test_domain_ok, 0, (int)NELEM(ok_cases));
	tcase_add_test(tc, test_domain_ok_null);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(match_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
