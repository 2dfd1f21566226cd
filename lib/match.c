/*
 * SPDX-License-Identifier: ISC
 *
 * match.c -- relay control: client networks (mynetworks) and domain lists
 * (mydestination, relay_domains, virtual_mailbox_domains).
 *
 * Process:  smtpd (lists from tern.conf, checked at start-up), ternctl
 *           check; the fuzzer feeds it arbitrary words.
 * Input:    list words from conf_list(), trusted but possibly mistyped;
 *           client addresses from accept(); domains from RCPT TO:, already
 *           checked by addr_parse but treated as untrusted here.
 * Failure:  a bad entry -> -1 and a static message for the caller to
 *           report; never logs or exits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "match.h"
#include "xmem.h"

#define V4_BITS		32
#define V6_BITS		128
#define PREFIX_DIGITS	3		/* "128" */
#define MAPPED_BITS	96		/* ::ffff:0:0/96 */

static const uint8_t mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static bool
ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_tolower((unsigned char)a[i]) != ascii_tolower((unsigned char)b[i]))
			return false;
	}
	return true;
}

/* ---- addresses -------------------------------------------------------- */

/* Four decimal parts 0..255, no leading zeros: "127.1" and "010" fail. */
static bool
parse_v4(const char *s, size_t len, uint8_t out[4])
{
	size_t i, part = 0, digits = 0;
	unsigned v = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (digits == 0 || part == 4)
				return false;
			out[part++] = (uint8_t)v;
			v = 0;
			digits = 0;
			continue;
		}
		if (!ascii_isdigit((unsigned char)s[i]))
			return false;
		if (digits == 1 && v == 0)
			return false;		/* leading zero */
		v = v * 10 + (unsigned)(s[i] - '0');
		if (++digits > 3 || v > 255)
			return false;
	}
	return part == 4;
}

/* inet_pton() wants a C string: copy, refusing NUL bytes and long text. */
static bool
parse_v6(const char *s, size_t len, uint8_t out[16])
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(text) || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET6, text, &a6) != 1)
		return false;
	memcpy(out, &a6, 16);
	return true;
}

/* Digits and dots: anything else without a ':' is a host name or junk. */
static bool
v4_chars_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!ascii_isdigit((unsigned char)s[i]) && s[i] != '.')
			return false;
	}
	return true;
}

static int
parse_prefix(const char *s, size_t len, unsigned max, unsigned *prefix_r,
    const char **err_r)
{
	unsigned v = 0;
	size_t i;

	if (len == 0) {
		*err_r = "missing prefix length";
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!ascii_isdigit((unsigned char)s[i])) {
			*err_r = "bad prefix length";
			return -1;
		}
	}
	if (len > 1 && s[0] == '0') {
		*err_r = "bad prefix length: leading zero";
		return -1;
	}
	if (len > PREFIX_DIGITS) {
		*err_r = "prefix length out of range";
		return -1;
	}
	for (i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max) {
		*err_r = "prefix length out of range";
		return -1;
	}
	*prefix_r = v;
	return 0;
}

static bool
bit_set(const uint8_t *a, unsigned bit)
{
	return (a[bit / 8] & (0x80 >> (bit % 8))) != 0;
}

static bool
host_bits_zero(const uint8_t *a, unsigned prefix, unsigned bits)
{
	unsigned i;

	for (i = prefix; i < bits; i++) {
		if (bit_set(a, i))
			return false;
	}
	return true;
}

/* The first prefix bits of a and b agree. */
static bool
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	size_t full = prefix / 8;
	unsigned rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[full] ^ b[full]) & mask) == 0;
}

/* ---- network entries -------------------------------------------------- */

/* The parts of an entry: address text, and prefix text when given. */
struct split {
	const char	*addr;
	size_t		 alen;
	const char	*plen;		/* NULL: no prefix */
	size_t		 plen_len;
	bool		 bracketed;
};

static size_t
count_byte(const char *s, size_t len, char c)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/* "[a]/p", "[a/p]", "[a]", "a/p" or "a". */
static int
split_entry(const char *s, size_t len, struct split *sp, const char **err_r)
{
	const char *rbrack, *slash, *end = s + len;
	size_t open_n = count_byte(s, len, '['), close_n;

	close_n = count_byte(s, len, ']');
	memset(sp, 0, sizeof(*sp));
	if ((s[0] == '[' && (open_n != 1 || close_n != 1)) ||
	    (s[0] != '[' && (open_n != 0 || close_n != 0))) {
		*err_r = "unbalanced brackets";
		return -1;
	}
	sp->addr = s;
	sp->alen = len;
	if (s[0] == '[') {
		rbrack = memchr(s, ']', len);
		sp->bracketed = true;
		sp->addr = s + 1;
		sp->alen = (size_t)(rbrack - sp->addr);
		if (rbrack + 1 < end) {
			if (rbrack[1] != '/') {
				*err_r = "junk after ']'";
				return -1;
			}
			sp->plen = rbrack + 2;
			sp->plen_len = (size_t)(end - sp->plen);
		}
	}
	if ((slash = memchr(sp->addr, '/', sp->alen)) != NULL) {
		if (sp->plen != NULL) {
			*err_r = "two prefix lengths";
			return -1;
		}
		sp->plen = slash + 1;
		sp->plen_len = (size_t)(sp->addr + sp->alen - sp->plen);
		sp->alen = (size_t)(slash - sp->addr);
	}
	return 0;
}

static int
parse_addr(const struct split *sp, struct match_net *out, const char **err_r)
{
	if (sp->alen == 0) {
		*err_r = "missing address";
		return -1;
	}
	if (memchr(sp->addr, ':', sp->alen) != NULL) {
		if (!parse_v6(sp->addr, sp->alen, out->addr)) {
			*err_r = "bad IPv6 address";
			return -1;
		}
		out->family = AF_INET6;
		return 0;
	}
	if (!v4_chars_ok(sp->addr, sp->alen)) {
		*err_r = "not an IP address or network";
		return -1;
	}
	if (!parse_v4(sp->addr, sp->alen, out->addr)) {
		*err_r = "bad IPv4 address";
		return -1;
	}
	if (sp->bracketed) {
		*err_r = "brackets are for IPv6 addresses only";
		return -1;
	}
	out->family = AF_INET;
	return 0;
}

/* ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n. */
static void
unmap(struct match_net *net)
{
	if (net->family != AF_INET6 || net->prefix < MAPPED_BITS ||
	    memcmp(net->addr, mapped_prefix, sizeof(mapped_prefix)) != 0)
		return;
	net->family = AF_INET;
	memmove(net->addr, net->addr + 12, 4);
	memset(net->addr + 4, 0, sizeof(net->addr) - 4);
	net->prefix -= MAPPED_BITS;
}

int
match_net_parse_one(const char *s, size_t len, struct match_net *out,
    const char **err_r)
{
	struct split sp;
	unsigned bits;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		*err_r = "empty network";
		return -1;
	}
	if (len > MATCH_NET_MAX) {
		*err_r = "network entry is too long";
		return -1;
	}
	if (split_entry(s, len, &sp, err_r) == -1)
		return -1;
	if (parse_addr(&sp, out, err_r) == -1)
		return -1;
	bits = out->family == AF_INET ? V4_BITS : V6_BITS;
	out->prefix = bits;
	if (sp.plen != NULL && parse_prefix(sp.plen, sp.plen_len, bits,
	    &out->prefix, err_r) == -1)
		return -1;
	if (!host_bits_zero(out->addr, out->prefix, bits)) {
		*err_r = "non-null host bits";
		return -1;
	}
	unmap(out);
	return 0;
}

int
match_nets_parse(const char *const *words, size_t n, struct match_nets *out,
    size_t *bad_r, const char **err_r)
{
	struct match_net *v;
	const char *err = NULL;
	size_t i;

	out->v = NULL;
	out->n = 0;
	if (n > MATCH_NETS_MAX) {
		i = n;
		err = "too many networks";
		goto bad;
	}
	if (n == 0)
		return 0;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		if (words[i] == NULL) {
			err = "empty network";
			break;
		}
		if (match_net_parse_one(words[i],
		    strnlen(words[i], MATCH_NET_MAX + 1), &v[i], &err) == -1)
			break;
	}
	if (i < n) {
		free(v);
		goto bad;
	}
	out->v = v;
	out->n = n;
	return 0;

bad:
	if (bad_r != NULL)
		*bad_r = i;
	if (err_r != NULL)
		*err_r = err;
	return -1;
}

void
match_nets_free(struct match_nets *nets)
{
	if (nets == NULL)
		return;
	free(nets->v);
	nets->v = NULL;
	nets->n = 0;
}

/* The client as family and address; IPv4-mapped IPv6 becomes IPv4. */
static bool
client_addr(const struct sockaddr *sa, int *family_r, uint8_t addr[16])
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(addr, 0, 16);
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		memcpy(addr, &sin.sin_addr, 4);
		*family_r = AF_INET;
		return true;
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(addr, &sin6.sin6_addr, 16);
		*family_r = AF_INET6;
		if (memcmp(addr, mapped_prefix, sizeof(mapped_prefix)) == 0) {
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family_r = AF_INET;
		}
		return true;
	default:
		return false;
	}
}

bool
match_nets_contains(const struct match_nets *nets, const struct sockaddr *sa)
{
	uint8_t addr[16];
	int family;
	size_t i;

	if (nets == NULL || sa == NULL || !client_addr(sa, &family, addr))
		return false;
	for (i = 0; i < nets->n; i++) {
		if (nets->v[i].family == family &&
		    prefix_eq(nets->v[i].addr, addr, nets->v[i].prefix))
			return true;
	}
	return false;
}

/* ---- domains ---------------------------------------------------------- */

/* Length without one trailing dot (address literals keep theirs). */
static size_t
name_len(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 2);

	if (len > 0 && s[0] != '[' && s[len - 1] == '.')
		len--;
	return len;
}

/* A domain to look up: not empty, not too long, no empty label. */
static bool
lookup_ok(const char *d, size_t len)
{
	if (len == 0 || len > MATCH_DOMAIN_MAX)
		return false;
	if (d[0] == '[')
		return true;
	return d[0] != '.' && d[len - 1] != '.' &&
	    memmem(d, len, "..", 2) == NULL;
}

static bool
entry_matches(const char *e, const char *d, size_t dlen, bool subdomains)
{
	size_t elen = name_len(e, MATCH_DOMAIN_MAX);

	if (elen == 0 || elen > MATCH_DOMAIN_MAX)
		return false;
	if (e[0] == '[' || d[0] == '[')
		return elen == dlen && ieq(e, d, dlen);
	if (e[0] == '.') {
		/* ".example.com": something, then the entry, dot included. */
		return elen >= 2 && e[1] != '.' && dlen > elen &&
		    ieq(d + dlen - elen, e, elen);
	}
	if (elen == dlen)
		return ieq(e, d, dlen);
	return subdomains && dlen > elen + 1 && d[dlen - elen - 1] == '.' &&
	    ieq(d + dlen - elen, e, elen);
}

bool
match_domain(const char *const *list, size_t n, const char *domain,
    bool subdomains)
{
	size_t i, dlen;

	if (list == NULL || domain == NULL)
		return false;
	dlen = name_len(domain, MATCH_DOMAIN_MAX);
	if (!lookup_ok(domain, dlen))
		return false;
	for (i = 0; i < n; i++) {
		if (list[i] != NULL &&
		    entry_matches(list[i], domain, dlen, subdomains))
			return true;
	}
	return false;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]"; general literals are refused. */
static bool
literal_ok(const char *s, size_t len)
{
	uint8_t a[16];

	if (len < 2 || s[len - 1] != ']')
		return false;
	s++;
	len -= 2;
	if (len > 5 && ieq(s, "IPv6:", 5))
		return parse_v6(s + 5, len - 5, a);
	return parse_v4(s, len, a);
}

/* [A-Za-z0-9-]{1,63}, no hyphen first or last. */
static bool
label_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MATCH_LABEL_MAX || s[0] == '-' ||
	    s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		if (!ascii_isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

static bool
all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!ascii_isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

bool
match_domain_ok(const char *s)
{
	const char *dot, *end;
	size_t len;

	if (s == NULL)
		return false;
	len = name_len(s, MATCH_DOMAIN_MAX);
	if (len == 0 || len > MATCH_DOMAIN_MAX)
		return false;
	if (s[0] == '[')
		return literal_ok(s, len);
	if (s[0] == '.') {
		s++;
		len--;
	}
	if (len == 0)
		return false;
	for (end = s + len;; s = dot + 1) {
		if ((dot = memchr(s, '.', (size_t)(end - s))) == NULL)
			dot = end;
		if (!label_ok(s, (size_t)(dot - s)))
			return false;
		if (dot == end)
			break;
	}
	/* RFC 3696 2: a top-level domain is never all digits. */
	return !all_digits(s, (size_t)(end - s));
}
