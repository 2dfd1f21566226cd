/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_match.c -- libFuzzer harness for lib/match.c.
 *
 * Input:    arbitrary bytes, split into at most WORDS_MAX words of at most
 *           WORD_MAX bytes on spaces, tabs, newlines and commas (as
 *           conf_list() would), then used as a network list, a domain list
 *           and the domains and client addresses looked up in them.
 * Checks:   no crash or leak; every network accepted is in range with no
 *           host bits and reads back the same from its own text; the list
 *           parser agrees with match_net_parse_one word by word; lookups
 *           agree with a bit-by-bit reference; the domain rules hold
 *           (subdomains only widen, case and a trailing dot do not matter,
 *           "bad" + entry never matches, "x." + entry only as a subdomain).
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "match.h"

#define WORDS_MAX	64
#define WORD_MAX	256
#define NAME_BUF	(WORD_MAX + 8)	/* a word, "x." before, "." after */

struct words {
	char		 buf[WORDS_MAX][WORD_MAX + 1];
	size_t		 len[WORDS_MAX];	/* NUL bytes included */
	const char	*v[WORDS_MAX + 1];
	size_t		 n;
};

static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool
is_sep(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',';
}

/* Longer words keep their first WORD_MAX bytes. */
static void
split(const uint8_t *data, size_t size, struct words *w)
{
	size_t i = 0, len;

	w->n = 0;
	while (w->n < WORDS_MAX) {
		while (i < size && is_sep(data[i]))
			i++;
		if (i == size)
			break;
		for (len = 0; i < size && !is_sep(data[i]); i++) {
			if (len < WORD_MAX)
				w->buf[w->n][len++] = (char)data[i];
		}
		w->buf[w->n][len] = '\0';
		w->len[w->n] = len;
		w->v[w->n] = w->buf[w->n];
		w->n++;
	}
	w->v[w->n] = NULL;
}

/* ---- networks --------------------------------------------------------- */

static bool
bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static void
check_net(const struct match_net *net)
{
	unsigned bits, i;

	if (net->family == AF_INET) {
		bits = 32;
		for (i = 4; i < 16; i++) {
			if (net->addr[i] != 0)
				abort();
		}
	} else if (net->family == AF_INET6) {
		bits = 128;
		if (net->prefix >= 96 &&
		    memcmp(net->addr, mapped, sizeof(mapped)) == 0)
			abort();	/* should have become IPv4 */
	} else
		abort();
	if (net->prefix > bits)
		abort();
	for (i = net->prefix; i < bits; i++) {
		if (bit(net->addr, i))
			abort();
	}
}

/* The reference: compare the first prefix bits one at a time. */
static bool
ref_in(const struct match_net *net, int family, const uint8_t *a)
{
	unsigned i;

	if (net->family != family)
		return false;
	for (i = 0; i < net->prefix; i++) {
		if (bit(net->addr, i) != bit(a, i))
			return false;
	}
	return true;
}

static bool
ref_contains(const struct match_nets *nets, int family, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < nets->n; i++) {
		if (ref_in(&nets->v[i], family, a))
			return true;
	}
	return false;
}

static bool
contains4(const struct match_nets *nets, const uint8_t a[4])
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a, 4);
	return match_nets_contains(nets, (const struct sockaddr *)&sin);
}

static bool
contains6(const struct match_nets *nets, const uint8_t a[16])
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a, 16);
	return match_nets_contains(nets, (const struct sockaddr *)&sin6);
}

/* An IPv4 client checked both as itself and as ::ffff:a.b.c.d. */
static bool
contains_client(const struct match_nets *nets, int family, const uint8_t *a)
{
	uint8_t m[16];
	bool r;

	if (family == AF_INET6)
		return contains6(nets, a);
	r = contains4(nets, a);
	memcpy(m, mapped, sizeof(mapped));
	memcpy(m + 12, a, 4);
	if (contains6(nets, m) != r)
		abort();
	return r;
}

static void
check_client(const struct match_nets *nets, int family, const uint8_t *a)
{
	uint8_t v4[16];

	/* The reference sees a mapped client as the IPv4 it carries. */
	if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0) {
		memset(v4, 0, sizeof(v4));
		memcpy(v4, a + 12, 4);
		if (contains_client(nets, AF_INET6, a) !=
		    ref_contains(nets, AF_INET, v4))
			abort();
		return;
	}
	if (contains_client(nets, family, a) != ref_contains(nets, family, a))
		abort();
}

/* The network's own text reads back as the same network. */
static void
check_roundtrip(const struct match_net *net)
{
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];
	struct match_net again;
	const char *err = NULL;
	int n;

	if (inet_ntop(net->family, net->addr, addr, sizeof(addr)) == NULL)
		abort();
	n = snprintf(text, sizeof(text), net->family == AF_INET6 ?
	    "[%s]/%u" : "%s/%u", addr, net->prefix);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	if (match_net_parse_one(text, (size_t)n, &again, &err) != 0 ||
	    memcmp(&again, net, sizeof(again)) != 0)
		abort();
}

/*
 * First, last and just-outside addresses of one network.  An IPv6 address
 * in ::ffff:0:0/96 is an IPv4 client, which no IPv6 network holds.
 */
static void
expect_in(const struct match_nets *one, int family, const uint8_t *a,
    bool want)
{
	if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		want = false;
	if (contains_client(one, family, a) != want)
		abort();
}

static void
check_edges(const struct match_net *net)
{
	struct match_net copy = *net;
	struct match_nets one = { &copy, 1 };
	unsigned bits = net->family == AF_INET ? 32 : 128, i;
	uint8_t a[16];

	memcpy(a, net->addr, sizeof(a));
	expect_in(&one, net->family, a, true);
	for (i = net->prefix; i < bits; i++)
		a[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	expect_in(&one, net->family, a, true);
	if (net->prefix == 0)
		return;
	i = net->prefix - 1;
	a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	expect_in(&one, net->family, a, false);
}

static void
fuzz_one_nets(const struct words *w)
{
	struct match_net net;
	const char *err;
	size_t i;

	for (i = 0; i < w->n; i++) {
		err = NULL;
		if (match_net_parse_one(w->buf[i], w->len[i], &net,
		    &err) == 0) {
			if (err != NULL)
				abort();
			check_net(&net);
			check_roundtrip(&net);
			check_edges(&net);
		} else if (err == NULL || err[0] == '\0')
			abort();
	}
}

/* The list parser agrees with match_net_parse_one on each C string. */
static void
fuzz_nets(const struct words *w, const uint8_t *data, size_t size)
{
	struct match_nets nets;
	struct match_net net;
	const char *err = NULL, *err1;
	uint8_t a[16];
	size_t i, bad = WORDS_MAX + 1;

	if (match_nets_parse(w->v, w->n, &nets, &bad, &err) == -1) {
		if (bad >= w->n || err == NULL || err[0] == '\0' ||
		    nets.v != NULL || nets.n != 0)
			abort();
		for (i = 0; i <= bad; i++) {
			if ((match_net_parse_one(w->v[i], strlen(w->v[i]), &net,
			    &err1) == 0) != (i < bad))
				abort();
		}
		return;
	}
	if (nets.n != w->n || (nets.n > 0 && nets.v == NULL))
		abort();
	for (i = 0; i < nets.n; i++) {
		if (match_net_parse_one(w->v[i], strlen(w->v[i]), &net,
		    &err1) != 0 || memcmp(&net, &nets.v[i], sizeof(net)) != 0)
			abort();
		check_client(&nets, nets.v[i].family, nets.v[i].addr);
	}
	/* Clients made of the input's first bytes. */
	memset(a, 0, sizeof(a));
	memcpy(a, data, size < sizeof(a) ? size : sizeof(a));
	check_client(&nets, AF_INET6, a);
	check_client(&nets, AF_INET, a);
	memcpy(a + 12, a, 4);
	memcpy(a, mapped, sizeof(mapped));
	check_client(&nets, AF_INET6, a);
	match_nets_free(&nets);
	if (nets.v != NULL || nets.n != 0)
		abort();
}

/* ---- domains ---------------------------------------------------------- */

static bool
in_list(const struct words *w, const char *d, bool sub)
{
	return match_domain(w->v, w->n, d, sub);
}

static void
upper(char *dst, const char *src, size_t sz)
{
	size_t i;

	for (i = 0; i + 1 < sz && src[i] != '\0'; i++)
		dst[i] = src[i] >= 'a' && src[i] <= 'z' ?
		    (char)(src[i] - 'a' + 'A') : src[i];
	dst[i] = '\0';
}

/* Subdomains only widen; case and one trailing dot change nothing. */
static void
check_lookup(const struct words *w, const char *d)
{
	char alt[NAME_BUF];
	bool exact = in_list(w, d, false), sub = in_list(w, d, true);
	size_t i, len = strlen(d);
	bool any = false;

	if (exact && !sub)
		abort();
	if ((exact || sub) && (len == 0 || len > MATCH_DOMAIN_MAX + 1))
		abort();
	upper(alt, d, sizeof(alt));
	if (in_list(w, alt, false) != exact || in_list(w, alt, true) != sub)
		abort();
	if (len > 0 && len < WORD_MAX && d[0] != '[' && d[len - 1] != '.' &&
	    len < MATCH_DOMAIN_MAX) {
		(void)snprintf(alt, sizeof(alt), "%s.", d);
		if (in_list(w, alt, false) != exact ||
		    in_list(w, alt, true) != sub)
			abort();
	}
	/* The list matches when one of its entries does. */
	for (i = 0; i < w->n; i++)
		any = any || match_domain(&w->v[i], 1, d, true);
	if (any != sub)
		abort();
}

/* Every byte of a valid entry is one a domain or literal may hold. */
static void
check_entry_text(const char *e)
{
	size_t i, len = strlen(e);

	if (len == 0 || len > MATCH_DOMAIN_MAX + 1)
		abort();
	if (e[0] == '[') {
		if (e[len - 1] != ']')
			abort();
		return;
	}
	for (i = 0; i < len; i++) {
		if (!((e[i] >= 'a' && e[i] <= 'z') ||
		    (e[i] >= 'A' && e[i] <= 'Z') ||
		    (e[i] >= '0' && e[i] <= '9') || e[i] == '-' || e[i] == '.'))
			abort();
	}
}

/* What a valid entry must and must not match. */
static void
check_entry(const char *e)
{
	const char *one[1] = { e };
	char core[WORD_MAX + 1], alt[NAME_BUF];
	size_t len;

	check_entry_text(e);
	(void)snprintf(core, sizeof(core), "%s", e[0] == '.' ? e + 1 : e);
	len = strlen(core);
	if (len > 0 && core[0] != '[' && core[len - 1] == '.')
		core[--len] = '\0';
	if (len == 0)
		abort();
	if (e[0] == '.') {
		if (match_domain(one, 1, core, true))
			abort();
	} else if (!match_domain(one, 1, core, false))
		abort();
	(void)snprintf(alt, sizeof(alt), "bad%s", core);
	if (match_domain(one, 1, alt, true) || match_domain(one, 1, alt + 2,
	    true))
		abort();			/* "badexample.com" */
	(void)snprintf(alt, sizeof(alt), "x.%s", core);
	if (core[0] == '[' || len + 2 > MATCH_DOMAIN_MAX) {
		if (match_domain(one, 1, alt, true))
			abort();
		return;
	}
	if (!match_domain(one, 1, alt, true) ||
	    match_domain(one, 1, alt, false) != (e[0] == '.'))
		abort();
}

static void
fuzz_domains(const struct words *w)
{
	char d[NAME_BUF];
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (match_domain_ok(w->v[i]))
			check_entry(w->v[i]);
	}
	if (w->n == 0) {
		if (in_list(w, "example.com", true))
			abort();
		return;
	}
	/* Look up the first word, the last one, and a subdomain of it. */
	check_lookup(w, w->v[0]);
	check_lookup(w, w->v[w->n - 1]);
	(void)snprintf(d, sizeof(d), "a.%s", w->v[w->n - 1]);
	check_lookup(w, d);
	if (match_domain(w->v, 0, w->v[0], true))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct words w;

	split(data, size, &w);
	fuzz_one_nets(&w);
	fuzz_nets(&w, data, size);
	fuzz_domains(&w);
	return 0;
}
