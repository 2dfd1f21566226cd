/*
 * SPDX-License-Identifier: ISC
 *
 * check_dns.c -- unit tests for lib/dns: the record data parsers with
 * hostile input, host name syntax, the MX order, and real lookups
 * through libunbound configured by a temporary unbound.conf: local-zone
 * and local-data for the answers (several MX preferences and equal ones,
 * null MX, no MX but addresses, CNAMEs, NXDOMAIN, TLSA, bad targets,
 * limits), and a forwarder for everything else on 127.0.0.1: a UDP
 * socket of the test that never answers (TEMPFAIL by timeout; it also
 * shows that the queries stay on loopback), or a closed port.  No test
 * zone is a real one, and "." is forwarded to loopback: libunbound never
 * asks the root servers.  dnssec_validation through dns_open_system
 * (the test's unbound.conf in place of resolv.conf, its own root key
 * file): no, yes without the key, auto with a forwarder that never
 * answers (validation stays on, no warning), with the log captured in a
 * file; and libunbound's own messages in that log, cut at their bound.
 * Signed and stripped answers need a signing server: test_dns_dnssec.py.
 *
 * Process:  test runner (Check), no privilege, loopback only.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"

#define SHA256_HEX \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- pure parsers ------------------------------------------------------ */

static size_t
to_text(const char *wire, size_t len, char *out, size_t outsz,
    const char **err)
{
	*err = NULL;
	return dns_name_to_text((const uint8_t *)wire, len, out, outsz, err);
}

START_TEST(test_name_simple)
{
	char out[DNS_TEXT_MAX];
	const char *err;

	ck_assert_uint_eq(to_text("\0", 1, out, sizeof(out), &err), 1);
	ck_assert_str_eq(out, ".");
	ck_assert_uint_eq(to_text("\3mx1\7example\3org\0", 17, out,
	    sizeof(out), &err), 17);
	ck_assert_str_eq(out, "mx1.example.org");
	/* Stops at the root: what follows belongs to someone else. */
	ck_assert_uint_eq(to_text("\1a\0junk", 7, out, sizeof(out), &err), 3);
	ck_assert_str_eq(out, "a");
}
END_TEST

START_TEST(test_name_escapes)
{
	char out[DNS_TEXT_MAX];
	const char *err;

	ck_assert_uint_eq(to_text("\3a.b\1\0\0", 7, out, sizeof(out), &err),
	    7);
	ck_assert_str_eq(out, "a\\046b.\\000");
	ck_assert_uint_eq(to_text("\4a\\ \xff\0", 6, out, sizeof(out), &err),
	    6);
	ck_assert_str_eq(out, "a\\092\\032\\255");
	ck_assert_uint_eq(to_text("\3_25\4_tcp\1x\0", 12, out, sizeof(out),
	    &err), 12);
	ck_assert_str_eq(out, "_25._tcp.x");
}
END_TEST

START_TEST(test_name_hostile)
{
	static const struct {
		const char *wire;
		size_t len;
		const char *err;
	} bad[] = {
		{ "", 0, "name runs past the record" },
		{ "\3abc", 4, "name runs past the record" },
		{ "\4abc", 4, "label runs past the record" },
		{ "\300\014", 2, "compression pointer in record data" },
		{ "\1a\300\0", 4, "compression pointer in record data" },
		{ "\377", 1, "compression pointer in record data" },
		{ "\100abc", 4, "unsupported label type" },
		{ "\200abc", 4, "unsupported label type" },
		{ "\1a", 2, "name runs past the record" },
	};
	char out[DNS_TEXT_MAX];
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_uint_eq(to_text(bad[i].wire, bad[i].len, out,
		    sizeof(out), &err), 0);
		ck_assert_str_eq(err, bad[i].err);
	}
}
END_TEST

/* A name of labels of 63 octets (and one shorter one) up to total. */
static size_t
long_name(uint8_t *w, size_t total, uint8_t fill)
{
	size_t pos = 0, n;

	while (total - pos > 1) {
		n = total - pos - 2;
		if (n > 63)
			n = 63;
		if (n == 0)
			n = 1;
		w[pos] = (uint8_t)n;
		memset(w + pos + 1, fill, n);
		pos += n + 1;
	}
	w[pos++] = 0;
	return pos;
}

START_TEST(test_name_lengths)
{
	uint8_t w[600];
	char out[DNS_TEXT_MAX], small[10];
	const char *err;
	size_t len;

	len = long_name(w, 255, 'a');
	ck_assert_uint_eq(len, 255);
	ck_assert_uint_eq(dns_name_to_text(w, len, out, sizeof(out), &err),
	    255);
	ck_assert_uint_eq(strlen(out), 253);
	ck_assert(dns_host_ok(out));
	len = long_name(w, 256, 'a');
	ck_assert_uint_eq(len, 256);
	ck_assert_uint_eq(dns_name_to_text(w, len, out, sizeof(out), &err),
	    0);
	ck_assert_str_eq(err, "name longer than 255 octets");
	/* The longest name of bytes that all need escaping fits. */
	len = long_name(w, 255, 0xff);
	ck_assert_uint_eq(dns_name_to_text(w, len, out, sizeof(out), &err),
	    255);
	ck_assert_uint_lt(strlen(out), DNS_TEXT_MAX);
	ck_assert_uint_eq(dns_name_to_text(w, len, small, sizeof(small),
	    &err), 0);
	ck_assert_str_eq(err, "name too long for its buffer");
	ck_assert_uint_eq(dns_name_to_text(w, len, small, 1, &err), 0);
	/* A 63-octet label is the longest. */
	w[0] = 63;
	memset(w + 1, 'b', 63);
	w[64] = 0;
	ck_assert_uint_eq(dns_name_to_text(w, 65, out, sizeof(out), &err),
	    65);
}
END_TEST

static const struct {
	const char *name;
	bool ok;
} hosts[] = {
	{ "example.org", true },
	{ "mx-1.example.org", true },
	{ "_25._tcp.mx.example.org", true },	/* "_" taken, as Postfix */
	{ "mx_1.example.org", true },
	{ "mx_-.example.org", false },
	{ "localhost", true },
	{ "1.example.org", true },
	{ "0.0.0.example1", true },
	{ "", false },
	{ ".", false },
	{ "example.org.", false },
	{ ".example.org", false },
	{ "a..b", false },
	{ "-mx.example.org", false },
	{ "mx-.example.org", false },
	{ "mx example.org", false },
	{ "mx\\.example.org", false },
	{ "m\xc3\xa9.example", false },
	{ "192.0.2.1", false },
	{ "example.123", false },
	{ "a.b*", false },
	{ "mx.example-", false },
	{ "123", false },
};

START_TEST(test_host_ok)
{
	ck_assert_msg(dns_host_ok(hosts[_i].name) == hosts[_i].ok, "%s",
	    hosts[_i].name);
}
END_TEST

START_TEST(test_host_ok_lengths)
{
	char name[300];

	memset(name, 'a', 63);
	name[63] = '\0';
	ck_assert(dns_host_ok(name));
	memset(name, 'a', 64);
	name[64] = '\0';
	ck_assert(!dns_host_ok(name));
	/* 4 labels of 63 and one dot each, less one: 253 characters. */
	memset(name, 'a', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	ck_assert(dns_host_ok(name));
	name[253] = 'a';
	name[254] = '\0';
	ck_assert(!dns_host_ok(name));
}
END_TEST

static int
parse_mx(const char *rdata, size_t len, struct dns_mx *mx, const char **err)
{
	*err = NULL;
	return dns_parse_mx_rdata((const uint8_t *)rdata, len, mx, err);
}

START_TEST(test_mx_rdata)
{
	struct dns_mx mx;
	const char *err;

	ck_assert_int_eq(parse_mx("\0\12\2mx\7example\0", 14, &mx, &err), 0);
	ck_assert_uint_eq(mx.pref, 10);
	ck_assert_str_eq(mx.host, "mx.example");
	ck_assert_int_eq(parse_mx("\377\377\1a\1b\0", 7, &mx, &err), 0);
	ck_assert_uint_eq(mx.pref, 65535);
	ck_assert_str_eq(mx.host, "a.b");
	ck_assert_int_eq(parse_mx("\0\0\0", 3, &mx, &err), 0);
	ck_assert_uint_eq(mx.pref, 0);
	ck_assert_str_eq(mx.host, "");
}
END_TEST

START_TEST(test_mx_rdata_hostile)
{
	static const struct {
		const char *rdata;
		size_t len;
		const char *err;
	} bad[] = {
		{ "", 0, "MX record shorter than 3 octets" },
		{ "\0\12", 2, "MX record shorter than 3 octets" },
		{ "\0\12\0\0", 4, "octets after the MX target" },
		{ "\0\12\1a\0x", 6, "octets after the MX target" },
		{ "\0\12\1a", 4, "name runs past the record" },
		{ "\0\12\5a", 4, "label runs past the record" },
		{ "\0\12\300\0", 4, "compression pointer in record data" },
		{ "\0\12\1a\300\2", 6, "compression pointer in record data" },
		{ "\0\12\4-bad\0", 8, "MX target is not a host name" },
		{ "\0\12\3a b\0", 7, "MX target is not a host name" },
		{ "\0\12\3a.b\0", 7, "MX target is not a host name" },
		{ "\0\12\1" "1\1" "2\1" "3\1" "4\0", 11,
		    "MX target is not a host name" },
		{ "\0\12\1a\0\0", 6, "octets after the MX target" },
	};
	struct dns_mx mx;
	const char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_mx(bad[i].rdata, bad[i].len, &mx, &err),
		    -1);
		ck_assert_msg(strcmp(err, bad[i].err) == 0, "%zu: %s", i, err);
	}
}
END_TEST

START_TEST(test_mx_rdata_every_cut)
{
	static const char rd[] = "\0\5\4mail\7example\3org\0";
	struct dns_mx mx;
	const char *err;
	size_t n;

	/* Every shorter prefix of a good record is refused. */
	for (n = 0; n < sizeof(rd) - 1; n++)
		ck_assert_int_eq(parse_mx(rd, n, &mx, &err), -1);
	ck_assert_int_eq(parse_mx(rd, sizeof(rd) - 1, &mx, &err), 0);
	ck_assert_str_eq(mx.host, "mail.example.org");
}
END_TEST

static int
parse_tlsa(const uint8_t *rdata, size_t len, struct dns_tlsa *t,
    const char **err)
{
	*err = NULL;
	return dns_parse_tlsa_rdata(rdata, len, t, err);
}

START_TEST(test_tlsa_rdata)
{
	uint8_t rd[3 + DNS_TLSA_DATA_MAX + 1];
	struct dns_tlsa t;
	const char *err;

	memset(rd, 0xab, sizeof(rd));
	rd[0] = 3;
	rd[1] = 1;
	rd[2] = 1;
	ck_assert_int_eq(parse_tlsa(rd, 3 + 32, &t, &err), 0);
	ck_assert_uint_eq(t.usage, 3);
	ck_assert_uint_eq(t.selector, 1);
	ck_assert_uint_eq(t.mtype, 1);
	ck_assert_uint_eq(t.len, 32);
	ck_assert_ptr_eq(t.data, rd + 3);
	ck_assert(dns_tlsa_usable(&t));
	ck_assert_int_eq(parse_tlsa(rd, 3 + 31, &t, &err), -1);
	ck_assert_str_eq(err, "TLSA SHA2-256 digest is not 32 octets");
	ck_assert_int_eq(parse_tlsa(rd, 3 + 33, &t, &err), -1);
	rd[2] = 2;
	ck_assert_int_eq(parse_tlsa(rd, 3 + 64, &t, &err), 0);
	ck_assert_int_eq(parse_tlsa(rd, 3 + 32, &t, &err), -1);
	ck_assert_str_eq(err, "TLSA SHA2-512 digest is not 64 octets");
	rd[2] = 0;
	ck_assert_int_eq(parse_tlsa(rd, 3 + 1, &t, &err), 0);
	ck_assert_int_eq(parse_tlsa(rd, 3 + DNS_TLSA_DATA_MAX, &t, &err), 0);
	ck_assert_uint_eq(t.len, DNS_TLSA_DATA_MAX);
	ck_assert_int_eq(parse_tlsa(rd, 3 + DNS_TLSA_DATA_MAX + 1, &t, &err),
	    -1);
	ck_assert_str_eq(err, "TLSA association data longer than 2048 octets");
	ck_assert_int_eq(parse_tlsa(rd, 3, &t, &err), -1);
	ck_assert_str_eq(err, "TLSA record without association data");
	ck_assert_int_eq(parse_tlsa(rd, 2, &t, &err), -1);
	ck_assert_str_eq(err, "TLSA record shorter than 3 octets");
	ck_assert_int_eq(parse_tlsa(rd, 0, &t, &err), -1);
	/* Unknown matching types are kept, and are not usable. */
	rd[2] = 7;
	ck_assert_int_eq(parse_tlsa(rd, 3 + 5, &t, &err), 0);
	ck_assert(!dns_tlsa_usable(&t));
}
END_TEST

START_TEST(test_tlsa_usable)
{
	struct dns_tlsa t = { 0, 0, 0, 1, (const uint8_t *)"x" };
	unsigned u, s, m;

	for (u = 0; u < 5; u++)
		for (s = 0; s < 3; s++)
			for (m = 0; m < 4; m++) {
				t.usage = (uint8_t)u;
				t.selector = (uint8_t)s;
				t.mtype = (uint8_t)m;
				ck_assert(dns_tlsa_usable(&t) ==
				    ((u == 2 || u == 3) && s <= 1 && m <= 2));
			}
}
END_TEST

static void
set_mx(struct dns_mx *mx, unsigned pref, const char *host)
{
	mx->pref = pref;
	snprintf(mx->host, sizeof(mx->host), "%s", host);
}

START_TEST(test_mx_order)
{
	struct dns_mx mx[6], again[6];
	uint64_t rng, rng2;
	unsigned firsts[3] = { 0, 0, 0 };
	int round;
	size_t i;

	for (round = 0; round < 300; round++) {
		memset(mx, 0, sizeof(mx));
		set_mx(&mx[0], 20, "c");
		set_mx(&mx[1], 10, "a0");
		set_mx(&mx[2], 10, "a1");
		set_mx(&mx[3], 30, "z");
		set_mx(&mx[4], 10, "a2");
		set_mx(&mx[5], 5, "first");
		memcpy(again, mx, sizeof(mx));
		rng = rng2 = (uint64_t)round;
		dns_mx_order(mx, 6, &rng);
		dns_mx_order(again, 6, &rng2);
		ck_assert_mem_eq(mx, again, sizeof(mx));
		ck_assert_str_eq(mx[0].host, "first");
		for (i = 1; i < 4; i++) {
			ck_assert_uint_eq(mx[i].pref, 10);
			ck_assert_int_eq(mx[i].host[0], 'a');
		}
		ck_assert_str_eq(mx[4].host, "c");
		ck_assert_str_eq(mx[5].host, "z");
		firsts[mx[1].host[1] - '0']++;
	}
	/* Each of the equal ones comes first about a third of the time. */
	for (i = 0; i < 3; i++)
		ck_assert_msg(firsts[i] > 60, "a%zu first %u times", i,
		    firsts[i]);
	dns_mx_order(mx, 0, &rng);
	dns_mx_order(mx, 1, &rng);
	ck_assert_str_eq(mx[0].host, "first");
}
END_TEST

/* ---- lookups through libunbound ---------------------------------------- */

static char tmpdir[64];
static char conf_path[128];
static int silent_fd = -1;		/* the forwarder that never answers */
static unsigned silent_port;
static struct dns *dns;

/* The test zones.  "." goes to the silent forwarder on loopback. */
static const char zones[] =
	"server:\n"
	"\tverbosity: 0\n"
	"\tdo-not-query-localhost: no\n"
	"\tdo-ip6: no\n"
	"\tlocal-zone: \"mx.example.\" static\n"
	"\tlocal-data: \"multi.mx.example. IN MX 20 c.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 10 a0.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 10 a1.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 30 z.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 10 a2.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 5 first.mx.example.\"\n"
	"\tlocal-data: \"multi.mx.example. IN MX 30 Z.MX.example.\"\n"
	"\tlocal-data: \"nullmx.mx.example. IN MX 0 .\"\n"
	"\tlocal-data: \"nullmx10.mx.example. IN MX 10 .\"\n"
	"\tlocal-data: \"mixednull.mx.example. IN MX 0 .\"\n"
	"\tlocal-data: \"mixednull.mx.example. IN MX 10 a0.mx.example.\"\n"
	"\tlocal-data: \"nomx.mx.example. IN A 192.0.2.1\"\n"
	"\tlocal-data: \"nomx.mx.example. IN AAAA 2001:db8::1\"\n"
	"\tlocal-data: \"v4only.mx.example. IN A 192.0.2.4\"\n"
	"\tlocal-data: \"a0.mx.example. IN A 192.0.2.10\"\n"
	"\tlocal-data: \"alias.mx.example. IN CNAME a0.mx.example.\"\n"
	"\tlocal-data: \"alias2.mx.example. IN CNAME alias.mx.example.\"\n"
	"\tlocal-data: \"mxalias.mx.example. IN CNAME multi.mx.example.\"\n"
	"\tlocal-data: \"dangling.mx.example. IN CNAME gone.mx.example.\"\n"
	"\tlocal-data: \"loop1.mx.example. IN CNAME loop2.mx.example.\"\n"
	"\tlocal-data: \"loop2.mx.example. IN CNAME loop1.mx.example.\"\n"
	"\tlocal-data: \"badcname.mx.example. IN CNAME a\\032b.mx.example.\"\n"
	"\tlocal-data: \"weird.mx.example. IN MX 10 a\\032b.example.\"\n"
	"\tlocal-data: \"weird.mx.example. IN MX 10 -bad.example.\"\n"
	"\tlocal-data: \"weird.mx.example. IN MX 10 192.0.2.1.\"\n"
	"\tlocal-data: \"weird.mx.example. IN MX 20 good.mx.example.\"\n"
	"\tlocal-data: \"allbad.mx.example. IN MX 10 -bad.example.\"\n"
	"\tlocal-data: \"_25._tcp.a0.mx.example. IN TLSA 3 1 1 " SHA256_HEX
	    "\"\n"
	"\tlocal-data: \"_25._tcp.a0.mx.example. IN TLSA 2 0 1 " SHA256_HEX
	    "\"\n"
	"\tlocal-data: \"_25._tcp.a0.mx.example. IN TLSA 3 1 1 0102\"\n"
	"\tlocal-data: \"_25._tcp.a0.mx.example. IN TLSA 0 0 0 ffee\"\n"
	"\tlocal-data: \"_465._tcp.a0.mx.example. IN TLSA 3 1 1 0102\"\n"
	"\tlocal-data: \"_25._tcp.alias.mx.example. IN CNAME "
	    "_25._tcp.a0.mx.example.\"\n"
	/* A from local data; AAAA goes on to the silent forwarder. */
	"\tlocal-zone: \"half.example.\" typetransparent\n"
	"\tlocal-data: \"half.example. IN A 192.0.2.7\"\n";

static void
write_conf(const char *path, unsigned port, bool extra)
{
	FILE *fp;
	int i;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(zones, fp);
	if (extra) {
		/* More records than the lists hold. */
		for (i = 0; i < 40; i++)
			fprintf(fp, "\tlocal-data: \"many.mx.example. IN MX "
			    "%d h%02d.mx.example.\"\n", 40 - i, i);
		for (i = 0; i < 20; i++)
			fprintf(fp, "\tlocal-data: \"many.mx.example. IN A "
			    "192.0.2.%d\"\n\tlocal-data: \"many.mx.example. "
			    "IN AAAA 2001:db8::%d\"\n", i + 1, i + 1);
		for (i = 0; i < 20; i++)
			fprintf(fp, "\tlocal-data: \"_25._tcp.many.mx.example."
			    " IN TLSA 3 0 0 %0512x\"\n", i);
	}
	fprintf(fp, "forward-zone:\n\tname: \".\"\n"
	    "\tforward-addr: 127.0.0.1@%u\n", port);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
lookup_setup(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char err[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_dns.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf_path, sizeof(conf_path), "%s/unbound.conf", tmpdir);
	ck_assert_int_ne(silent_fd = socket(AF_INET, SOCK_DGRAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(silent_fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(silent_fd, (struct sockaddr *)&sin,
	    &slen), 0);
	silent_port = ntohs(sin.sin_port);
	write_conf(conf_path, silent_port, true);
	dns = dns_open(conf_path, DNS_DNSSEC_AUTO, err, sizeof(err));
	ck_assert_msg(dns != NULL, "dns_open: %s", err);
	dns_set_timeout(dns, 1500);
}

static void
lookup_teardown(void)
{
	dns_close(&dns);
	if (silent_fd != -1)
		close(silent_fd);
	silent_fd = -1;
	unlink(conf_path);
	rmdir(tmpdir);
}

START_TEST(test_mx_preferences_shuffled)
{
	struct dns_mx_list l;
	unsigned seen[6] = { 0 }, perm;
	uint64_t seed;
	size_t i;

	for (seed = 0; seed < 200; seed++) {
		dns_seed(dns, seed);
		ck_assert_int_eq(dns_mx(dns, "multi.mx.example", &l), DNS_OK);
		/* Z.MX.example is z.mx.example again: kept once. */
		ck_assert_uint_eq(l.n, 6);
		ck_assert(!l.info.secure);
		ck_assert_str_eq(l.info.canon, "");
		ck_assert_str_eq(l.mx[0].host, "first.mx.example");
		ck_assert_uint_eq(l.mx[0].pref, 5);
		for (i = 1; i < 4; i++) {
			ck_assert_uint_eq(l.mx[i].pref, 10);
			ck_assert_int_eq(l.mx[i].host[0], 'a');
		}
		ck_assert_str_eq(l.mx[4].host, "c.mx.example");
		ck_assert_uint_eq(l.mx[5].pref, 30);
		ck_assert_int_eq(strcasecmp(l.mx[5].host, "z.mx.example"), 0);
		/* Which of the six orders of a0, a1, a2 this is. */
		perm = (unsigned)(l.mx[1].host[1] - '0') * 2 +
		    (l.mx[2].host[1] > l.mx[3].host[1]);
		ck_assert_uint_lt(perm, 6);
		seen[perm]++;
	}
	for (i = 0; i < 6; i++)
		ck_assert_msg(seen[i] > 10, "order %zu seen %u times", i,
		    seen[i]);
	/* A final dot is allowed. */
	ck_assert_int_eq(dns_mx(dns, "multi.mx.example.", &l), DNS_OK);
}
END_TEST

START_TEST(test_mx_null)
{
	struct dns_mx_list l;

	ck_assert_int_eq(dns_mx(dns, "nullmx.mx.example", &l), DNS_NULLMX);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_nonnull(strstr(l.info.why, "null MX"));
	/* RFC 7505 says preference 0; the root alone means it anyway. */
	ck_assert_int_eq(dns_mx(dns, "nullmx10.mx.example", &l), DNS_NULLMX);
	/* A null MX beside a real one is skipped, the other one kept. */
	ck_assert_int_eq(dns_mx(dns, "mixednull.mx.example", &l), DNS_OK);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.mx[0].host, "a0.mx.example");
	ck_assert_uint_eq(l.info.nskipped, 1);
	ck_assert_ptr_nonnull(strstr(l.info.skipped, "null MX beside"));
}
END_TEST

START_TEST(test_mx_none_then_addresses)
{
	struct dns_mx_list l;
	struct dns_addr_list a;
	char text[INET6_ADDRSTRLEN];

	ck_assert_int_eq(dns_mx(dns, "nomx.mx.example", &l), DNS_NODATA);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(dns_addr(dns, "nomx.mx.example", DNS_INET_ALL, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_int_eq(a.addr[0].family, AF_INET6);
	inet_ntop(AF_INET6, &a.addr[0].u.v6, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8::1");
	ck_assert_int_eq(a.addr[1].family, AF_INET);
	inet_ntop(AF_INET, &a.addr[1].u.v4, text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.1");
	ck_assert(!a.info.secure);
	ck_assert_int_eq(dns_addr(dns, "nomx.mx.example", DNS_INET4, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.addr[0].family, AF_INET);
	ck_assert_int_eq(dns_addr(dns, "nomx.mx.example", DNS_INET6, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.addr[0].family, AF_INET6);
	/* No AAAA: IPv6 only finds nothing, both find the IPv4 one. */
	ck_assert_int_eq(dns_addr(dns, "v4only.mx.example", DNS_INET6, &a),
	    DNS_NODATA);
	ck_assert_int_eq(dns_addr(dns, "v4only.mx.example", DNS_INET_ALL, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(dns_addr(dns, "v4only.mx.example", 0, &a),
	    DNS_NODATA);
}
END_TEST

START_TEST(test_cname)
{
	struct dns_addr_list a;
	struct dns_mx_list l;
	char text[INET_ADDRSTRLEN];

	ck_assert_int_eq(dns_addr(dns, "alias.mx.example", DNS_INET4, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 1);
	inet_ntop(AF_INET, &a.addr[0].u.v4, text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.10");
	ck_assert_str_eq(a.info.canon, "a0.mx.example");
	/* Two steps. */
	ck_assert_int_eq(dns_addr(dns, "alias2.mx.example", DNS_INET_ALL, &a),
	    DNS_OK);
	ck_assert_str_eq(a.info.canon, "a0.mx.example");
	ck_assert_int_eq(dns_mx(dns, "mxalias.mx.example", &l), DNS_OK);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_str_eq(l.info.canon, "multi.mx.example");
	/* To a name that does not exist. */
	ck_assert_int_eq(dns_addr(dns, "dangling.mx.example", DNS_INET4, &a),
	    DNS_NXDOMAIN);
	ck_assert_str_eq(a.info.canon, "gone.mx.example");
	/* A loop is cut. */
	ck_assert_int_eq(dns_addr(dns, "loop1.mx.example", DNS_INET4, &a),
	    DNS_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(a.info.why, "more than 8 CNAMEs"));
	/* To a name Tern would not look up. */
	ck_assert_int_eq(dns_addr(dns, "badcname.mx.example", DNS_INET4, &a),
	    DNS_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(a.info.why, "CNAME"));
}
END_TEST

START_TEST(test_nxdomain_nodata)
{
	struct dns_mx_list l;
	struct dns_addr_list a;
	struct dns_tlsa_list t;

	ck_assert_int_eq(dns_mx(dns, "nosuch.mx.example", &l), DNS_NXDOMAIN);
	ck_assert_ptr_nonnull(strstr(l.info.why, "no such domain"));
	ck_assert_int_eq(dns_addr(dns, "nosuch.mx.example", DNS_INET_ALL, &a),
	    DNS_NXDOMAIN);
	ck_assert_int_eq(dns_tlsa(dns, "nosuch.mx.example", 25, &t),
	    DNS_NXDOMAIN);
	ck_assert_int_eq(dns_mx(dns, "a0.mx.example", &l), DNS_NODATA);
	ck_assert_int_eq(dns_addr(dns, "multi.mx.example", DNS_INET_ALL, &a),
	    DNS_NODATA);
}
END_TEST

START_TEST(test_bad_names_not_sent)
{
	static const char *bad[] = {
		"", ".", "a..b", "exa mple.org", "-x.example",
		"a\\.b.example", "192.0.2.1", "\xff\xfe.example",
	};
	char longname[400];
	struct dns_mx_list l;
	struct dns_addr_list a;
	struct dns_tlsa_list t;
	struct pollfd pfd = { silent_fd, POLLIN, 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(dns_mx(dns, bad[i], &l), DNS_NXDOMAIN);
		ck_assert_ptr_nonnull(strstr(l.info.why,
		    "is not a valid host name"));
		ck_assert_ptr_null(strchr(l.info.why, '\xff'));
		ck_assert_int_eq(dns_addr(dns, bad[i], DNS_INET_ALL, &a),
		    DNS_NXDOMAIN);
		ck_assert_int_eq(dns_tlsa(dns, bad[i], 25, &t), DNS_NXDOMAIN);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(dns_mx(dns, longname, &l), DNS_NXDOMAIN);
	ck_assert_uint_lt(strlen(l.info.why), DNS_WHY_MAX);
	/* A host name that is good alone but too long with _25._tcp. */
	memset(longname, 'a', 253);
	longname[63] = longname[127] = longname[191] = '.';
	longname[253] = '\0';
	ck_assert_int_eq(dns_tlsa(dns, longname, 25, &t), DNS_NXDOMAIN);
	ck_assert_int_eq(dns_tlsa(dns, "a0.mx.example", 0, &t), DNS_NXDOMAIN);
	ck_assert_int_eq(dns_tlsa(dns, "a0.mx.example", 65536, &t),
	    DNS_NXDOMAIN);
	/* None of them reached the forwarder. */
	ck_assert_int_eq(poll(&pfd, 1, 100), 0);
}
END_TEST

START_TEST(test_mx_bad_targets)
{
	struct dns_mx_list l;

	ck_assert_int_eq(dns_mx(dns, "weird.mx.example", &l), DNS_OK);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.mx[0].host, "good.mx.example");
	ck_assert_uint_eq(l.info.nskipped, 3);
	ck_assert_ptr_nonnull(strstr(l.info.skipped,
	    "MX target is not a host name"));
	ck_assert_int_eq(dns_mx(dns, "allbad.mx.example", &l), DNS_TEMPFAIL);
	ck_assert_str_eq(l.info.skipped,
	    "MX \"-bad.example\": MX target is not a host name");
	ck_assert_ptr_nonnull(strstr(l.info.why, "no usable MX host"));
}
END_TEST

START_TEST(test_limits)
{
	struct dns_mx_list l;
	struct dns_addr_list a;
	struct dns_tlsa_list t;
	size_t i, v4 = 0;

	/* 40 MX records: the 32 of lowest preference are kept. */
	ck_assert_int_eq(dns_mx(dns, "many.mx.example", &l), DNS_OK);
	ck_assert_uint_eq(l.n, DNS_MX_MAX);
	for (i = 0; i < l.n; i++)
		ck_assert_uint_eq(l.mx[i].pref, i + 1);
	/* 20 + 20 addresses: 16 of each family. */
	ck_assert_int_eq(dns_addr(dns, "many.mx.example", DNS_INET_ALL, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, DNS_ADDR_MAX);
	for (i = 0; i < a.n; i++)
		v4 += a.addr[i].family == AF_INET;
	ck_assert_uint_eq(v4, DNS_ADDR_MAX / 2);
	ck_assert_uint_eq(a.info.nskipped, 8);
	ck_assert_int_eq(dns_addr(dns, "many.mx.example", DNS_INET4, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 20);
	/* 20 TLSA records of 256 octets: 16 fit the list (and the pool). */
	ck_assert_int_eq(dns_tlsa(dns, "many.mx.example", 25, &t), DNS_OK);
	ck_assert_uint_eq(t.n, DNS_TLSA_MAX);
	ck_assert_uint_eq(t.info.nskipped, 4);
	ck_assert_uint_le(t.pool_len, DNS_TLSA_POOL);
	for (i = 0; i < t.n; i++) {
		ck_assert_uint_eq(t.tlsa[i].len, 256);
		ck_assert(t.tlsa[i].data >= t.pool &&
		    t.tlsa[i].data + t.tlsa[i].len <= t.pool + t.pool_len);
	}
}
END_TEST

START_TEST(test_tlsa)
{
	struct dns_tlsa_list t;
	size_t i, usable = 0, full = 0;

	ck_assert_int_eq(dns_tlsa(dns, "a0.mx.example", 25, &t), DNS_OK);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.info.nskipped, 1);
	ck_assert_str_eq(t.info.skipped,
	    "TLSA record: TLSA SHA2-256 digest is not 32 octets");
	/* Local data is not signed: DANE would not use these. */
	ck_assert(!t.info.secure);
	ck_assert(!t.info.bogus);
	for (i = 0; i < t.n; i++) {
		usable += dns_tlsa_usable(&t.tlsa[i]);
		if (t.tlsa[i].mtype == 1) {
			ck_assert_uint_eq(t.tlsa[i].len, 32);
			ck_assert_uint_eq(t.tlsa[i].data[0], 0x01);
			ck_assert_uint_eq(t.tlsa[i].data[31], 0xef);
		} else {
			full++;
			ck_assert_uint_eq(t.tlsa[i].usage, 0);
			ck_assert_uint_eq(t.tlsa[i].len, 2);
		}
	}
	ck_assert_uint_eq(usable, 2);
	ck_assert_uint_eq(full, 1);
	/* Records there, none usable: DNS_OK with none (RFC 7672 2.2). */
	ck_assert_int_eq(dns_tlsa(dns, "a0.mx.example", 465, &t), DNS_OK);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.info.nskipped, 1);
	/* The TLSA name itself may be a CNAME. */
	ck_assert_int_eq(dns_tlsa(dns, "alias.mx.example", 25, &t), DNS_OK);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.info.canon, "_25._tcp.a0.mx.example");
	/* No TLSA for this port. */
	ck_assert_int_eq(dns_tlsa(dns, "a0.mx.example", 587, &t),
	    DNS_NXDOMAIN);
}
END_TEST

static double
elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(test_tempfail_silent_forwarder)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct dns_mx_list l;
	struct dns_addr_list a;
	struct timespec t0;
	uint8_t pkt[512];
	ssize_t n;
	double t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(dns_mx(dns, "down.example", &l), DNS_TEMPFAIL);
	t = elapsed(&t0);
	ck_assert_msg(t >= 1.4 && t < 3.0, "took %.2f s", t);
	ck_assert_ptr_nonnull(strstr(l.info.why, "no answer within 1.500 s"));
	ck_assert(!l.info.secure);
	/* The query came to the forwarder, from loopback. */
	n = recvfrom(silent_fd, pkt, sizeof(pkt), MSG_DONTWAIT,
	    (struct sockaddr *)&from, &flen);
	ck_assert_int_gt(n, 12);
	ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_ptr_nonnull(memmem(pkt, (size_t)n, "\4down\7example", 13));
	/* The resolver still works after a cancelled query. */
	dns_set_timeout(dns, 500);
	ck_assert_int_eq(dns_addr(dns, "down.example", DNS_INET_ALL, &a),
	    DNS_TEMPFAIL);
	ck_assert_int_eq(dns_mx(dns, "multi.mx.example", &l), DNS_OK);
}
END_TEST

START_TEST(test_addr_one_family_fails)
{
	struct dns_addr_list a;
	char text[INET_ADDRSTRLEN];

	/*
	 * The AAAA lookup times out, the A one answers: the A address,
	 * DNS_OK, the AAAA failure in why, and not bogus.  (Whether the
	 * answered family alone decides info.secure needs DNSSEC:
	 * tests/integration/test_dns_dnssec.py.)
	 */
	dns_set_timeout(dns, 500);
	ck_assert_int_eq(dns_addr(dns, "half.example", DNS_INET_ALL, &a),
	    DNS_OK);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_int_eq(a.addr[0].family, AF_INET);
	inet_ntop(AF_INET, &a.addr[0].u.v4, text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.7");
	ck_assert_ptr_nonnull(strstr(a.info.why, "no answer within 0.500 s"));
	ck_assert(!a.info.bogus);
	ck_assert(!a.info.secure);	/* local data is never validated */
	ck_assert_int_eq(dns_addr(dns, "half.example", DNS_INET6, &a),
	    DNS_TEMPFAIL);
	ck_assert_uint_eq(a.n, 0);
	ck_assert(!a.info.bogus);
	ck_assert(!a.info.secure);
	ck_assert_int_eq(dns_addr(dns, "half.example", DNS_INET4, &a),
	    DNS_OK);
	ck_assert_str_eq(a.info.why, "");
}
END_TEST

START_TEST(test_tempfail_closed_port)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct dns_tlsa_list t;
	struct timespec t0;
	struct dns *d;
	char path[160], err[256];
	double el;
	int fd;

	/* A port that was free a moment ago and is closed now. */
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_DGRAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/closed.conf", tmpdir);
	write_conf(path, ntohs(sin.sin_port), false);
	ck_assert_ptr_nonnull(d = dns_open(path, DNS_DNSSEC_AUTO, err,
	    sizeof(err)));
	dns_set_timeout(d, 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(dns_tlsa(d, "mx.down.example", 25, &t),
	    DNS_TEMPFAIL);
	el = elapsed(&t0);
	ck_assert_msg(el < 2.5, "took %.2f s", el);
	ck_assert(!t.info.secure);
	ck_assert_int_eq(dns_tlsa(d, "a0.mx.example", 25, &t), DNS_OK);
	dns_close(&d);
	ck_assert_ptr_null(d);
	dns_close(&d);
	unlink(path);
}
END_TEST

START_TEST(test_open_errors)
{
	char path[160], err[256];
	struct dns *d;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	ck_assert_ptr_null(dns_open(path, DNS_DNSSEC_AUTO, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "none.conf"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("server:\n\tno-such-option: 1\n", fp);
	fclose(fp);
	ck_assert_ptr_null(dns_open(path, DNS_DNSSEC_AUTO, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad.conf"));
	/* A trust anchor file that is missing fails at open, not later. */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fprintf(fp, "server:\n\ttrust-anchor-file: \"%s/no.key\"\n"
	    "forward-zone:\n\tname: \".\"\n\tforward-addr: 127.0.0.1@%u\n",
	    tmpdir, silent_port);
	fclose(fp);
	ck_assert_ptr_null(d = dns_open(path, DNS_DNSSEC_AUTO, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad.conf"));
	unlink(path);
	ck_assert_str_eq(dns_result_str(DNS_OK), "ok");
	ck_assert_str_eq(dns_result_str(DNS_NULLMX), "null MX");
	ck_assert_str_eq(dns_result_str(DNS_TEMPFAIL), "temporary failure");
}
END_TEST

START_TEST(test_open_system)
{
	struct dns *d;
	char err[256];

	/* Reads resolv.conf and hosts; sends nothing. */
	if (access(DNS_RESOLV_CONF, R_OK) == -1)
		return;
	d = dns_open("", DNS_DNSSEC_AUTO, err, sizeof(err));
	ck_assert_msg(d != NULL, "%s", err);
	dns_close(&d);
}
END_TEST

/* ---- dnssec_validation and libunbound's messages ------------------------ */

/* The root's KSK-2017 DS (a fact of the DNS): a well-formed anchor. */
#define ROOT_DS	". IN DS 20326 8 2 " \
	"E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"

static char log_path[160];

/* Log to a file of the test's, empty. */
static void
log_capture(void)
{
	snprintf(log_path, sizeof(log_path), "%s/log", tmpdir);
	unlink(log_path);
	log_init("check_dns", 0);
	ck_assert_int_eq(log_file(log_path), 0);
}

/* What was logged, NUL-terminated, in buf. */
static const char *
log_read(char *buf, size_t sz)
{
	FILE *fp;
	size_t n;

	ck_assert_ptr_nonnull(fp = fopen(log_path, "r"));
	n = fread(buf, 1, sz - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The system setup, with the test's forwarders in place of resolv.conf. */
static void
sys_init(struct dns_system *sys, const char *fwd, const char *key)
{
	memset(sys, 0, sizeof(*sys));
	sys->forward_conf = fwd;
	sys->hosts = NULL;
	sys->root_key = key;
	sys->probe = ".";
}

START_TEST(test_dnssec_parse)
{
	enum dns_dnssec m = DNS_DNSSEC_NO;

	ck_assert_int_eq(dns_dnssec_parse("auto", &m), 0);
	ck_assert_int_eq(m, DNS_DNSSEC_AUTO);
	ck_assert_int_eq(dns_dnssec_parse("yes", &m), 0);
	ck_assert_int_eq(m, DNS_DNSSEC_YES);
	ck_assert_int_eq(dns_dnssec_parse("no", &m), 0);
	ck_assert_int_eq(m, DNS_DNSSEC_NO);
	ck_assert_int_eq(dns_dnssec_parse("", &m), -1);
	ck_assert_int_eq(dns_dnssec_parse("Yes", &m), -1);
	ck_assert_int_eq(dns_dnssec_parse("auto ", &m), -1);
	ck_assert_int_eq(m, DNS_DNSSEC_NO);
}
END_TEST

START_TEST(test_dnssec_no_root_key)
{
	struct dns_system sys;
	struct dns *d;
	char key[160], err[256], buf[4096];

	log_capture();
	snprintf(key, sizeof(key), "%s/none.key", tmpdir);
	sys_init(&sys, conf_path, key);
	/* yes: a start-up error that says what is missing. */
	ck_assert_ptr_null(dns_open_system(&sys, DNS_DNSSEC_YES, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "dnssec_validation = yes"));
	ck_assert_ptr_nonnull(strstr(err, "none.key"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	/* auto: no validation, and the log says so. */
	ck_assert_ptr_nonnull(d = dns_open_system(&sys, DNS_DNSSEC_AUTO, err,
	    sizeof(err)));
	ck_assert(!dns_validating(d));
	dns_close(&d);
	log_read(buf, sizeof(buf));
	ck_assert_uint_eq(count(buf, "DNSSEC validation off (dnssec_"
	    "validation = auto, no root trust anchor file)"), 1);
	ck_assert_uint_eq(count(buf, "warning"), 0);
}
END_TEST

START_TEST(test_dnssec_no)
{
	struct dns_system sys;
	struct dns_mx_list l;
	struct dns *d;
	char key[160], err[256], buf[4096];

	log_capture();
	snprintf(key, sizeof(key), "%s/root.key", tmpdir);
	write_file(key, ROOT_DS "\n");
	sys_init(&sys, conf_path, key);
	ck_assert_ptr_nonnull(d = dns_open_system(&sys, DNS_DNSSEC_NO, err,
	    sizeof(err)));
	ck_assert(!dns_validating(d));
	ck_assert_int_eq(dns_mx(d, "multi.mx.example", &l), DNS_OK);
	ck_assert(!l.info.secure);
	dns_close(&d);
	/* yes with the key: the anchor is in use. */
	ck_assert_ptr_nonnull(d = dns_open_system(&sys, DNS_DNSSEC_YES, err,
	    sizeof(err)));
	ck_assert(dns_validating(d));
	dns_close(&d);
	/* An unbound.conf of one's own: no turns its validator off. */
	ck_assert_ptr_nonnull(d = dns_open(conf_path, DNS_DNSSEC_NO, err,
	    sizeof(err)));
	ck_assert(!dns_validating(d));
	ck_assert_int_eq(dns_mx(d, "multi.mx.example", &l), DNS_OK);
	dns_close(&d);
	log_read(buf, sizeof(buf));
	ck_assert_uint_eq(count(buf, "DNSSEC validation off "
	    "(dnssec_validation = no)"), 2);
	ck_assert_uint_eq(count(buf, "DNSSEC validation on, root trust "
	    "anchor (dnssec_validation = yes)"), 1);
	unlink(key);
}
END_TEST

/*
 * auto, and the forwarder never answers (offline): validation stays
 * on, no warning; the probes are bounded by DNS_PROBE_TIMEOUT_MS.
 */
START_TEST(test_dnssec_auto_offline)
{
	struct dns_system sys;
	struct timespec t0;
	struct dns *d;
	char key[160], err[256], buf[4096];
	double el;

	log_capture();
	snprintf(key, sizeof(key), "%s/root.key", tmpdir);
	write_file(key, ROOT_DS "\n");
	sys_init(&sys, conf_path, key);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_ptr_nonnull(d = dns_open_system(&sys, DNS_DNSSEC_AUTO, err,
	    sizeof(err)));
	el = elapsed(&t0);
	ck_assert_msg(el < 2.0 * DNS_PROBE_TIMEOUT_MS / 1000 + 2,
	    "took %.2f s", el);
	ck_assert(dns_validating(d));
	dns_close(&d);
	log_read(buf, sizeof(buf));
	ck_assert_uint_eq(count(buf, "DNSSEC validation on, root trust "
	    "anchor (dnssec_validation = auto"), 1);
	ck_assert_uint_eq(count(buf, "strips"), 0);
	ck_assert_uint_eq(count(buf, "warning"), 0);
	unlink(key);
}
END_TEST

/*
 * libunbound's own error messages reach the log, one line each, with
 * its time stamp and name taken off, "libunbound: " before them, and
 * cut (marked "...") at a bounded length: a trust anchor file that does
 * not parse, under a path long enough to make a long message.
 */
START_TEST(test_unbound_messages)
{
	struct dns_system sys;
	char dir[600], key[700], err[256], buf[16384], *line, *save;
	size_t i, n, longest = 0;

	log_capture();
	snprintf(dir, sizeof(dir), "%s", tmpdir);
	for (i = 0; i < 3; i++) {
		n = strlen(dir);
		snprintf(dir + n, sizeof(dir) - n, "/%0150d", (int)i);
		memset(dir + n + 1, 'd', 150);
		ck_assert_int_eq(mkdir(dir, 0700), 0);
	}
	snprintf(key, sizeof(key), "%s/bad.key", dir);
	write_file(key, "this is not a trust anchor\n");
	sys_init(&sys, conf_path, key);
	ck_assert_ptr_null(dns_open_system(&sys, DNS_DNSSEC_YES, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "system resolver"));
	log_read(buf, sizeof(buf));
	ck_assert_msg(count(buf, "error: libunbound: ") >= 2, "%s", buf);
	ck_assert_msg(count(buf, "error: libunbound: parse error in ") == 1,
	    "%s", buf);
	/* The stamp "[...]" and "libunbound[pid:n]" are gone. */
	ck_assert_uint_eq(count(buf, "libunbound["), 0);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) > longest)
			longest = strlen(line);
		/* The file's name is longer than a line: cut. */
		if (strstr(line, "trust-anchor-file") != NULL)
			ck_assert_msg(strlen(line) > 3 && strcmp(line +
			    strlen(line) - 3, "...") == 0, "%s", line);
	}
	ck_assert_uint_lt(longest, 600);
	unlink(key);
	for (i = 0; i < 3; i++) {
		rmdir(dir);
		*strrchr(dir, '/') = '\0';
	}
}
END_TEST

static Suite *
dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc;

	tc = tcase_create("name");
	tcase_add_test(tc, test_name_simple);
	tcase_add_test(tc, test_name_escapes);
	tcase_add_test(tc, test_name_hostile);
	tcase_add_test(tc, test_name_lengths);
	tcase_add_loop_test(tc, test_host_ok, 0,
	    sizeof(hosts) / sizeof(hosts[0]));
	tcase_add_test(tc, test_host_ok_lengths);
	suite_add_tcase(s, tc);

	tc = tcase_create("rdata");
	tcase_add_test(tc, test_mx_rdata);
	tcase_add_test(tc, test_mx_rdata_hostile);
	tcase_add_test(tc, test_mx_rdata_every_cut);
	tcase_add_test(tc, test_tlsa_rdata);
	tcase_add_test(tc, test_tlsa_usable);
	tcase_add_test(tc, test_mx_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_checked_fixture(tc, lookup_setup, lookup_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_mx_preferences_shuffled);
	tcase_add_test(tc, test_mx_null);
	tcase_add_test(tc, test_mx_none_then_addresses);
	tcase_add_test(tc, test_cname);
	tcase_add_test(tc, test_nxdomain_nodata);
	tcase_add_test(tc, test_bad_names_not_sent);
	tcase_add_test(tc, test_mx_bad_targets);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_tlsa);
	tcase_add_test(tc, test_tempfail_silent_forwarder);
	tcase_add_test(tc, test_addr_one_family_fails);
	tcase_add_test(tc, test_tempfail_closed_port);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_open_system);
	suite_add_tcase(s, tc);

	tc = tcase_create("dnssec");
	tcase_add_checked_fixture(tc, lookup_setup, lookup_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_dnssec_parse);
	tcase_add_test(tc, test_dnssec_no_root_key);
	tcase_add_test(tc, test_dnssec_no);
	tcase_add_test(tc, test_dnssec_auto_offline);
	tcase_add_test(tc, test_unbound_messages);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(dns_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
