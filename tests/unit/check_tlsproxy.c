/*
 * SPDX-License-Identifier: ISC
 *
 * check_tlsproxy.c -- tlsproxy's checks of the requests of smtpd and of
 * the smtp client (every attribute, hostile values), its bounded
 * plaintext buffers and the client role's session cache.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "attr.h"
#include "buf.h"
#include "tlsproxy.h"

/* A request built from name/value pairs; a NULL value leaves it out. */
struct kv {
	const char	*name, *val;
};

static const struct kv good[] = {
	{ "request", "server" },
	{ "proto", "tlsproxy/1" },
	{ "client_name", "client.example.test" },
	{ "client_addr", "2001:db8::1" },
	{ "client_port", "65535" },
	{ "service", "submissions" },
};
#define NGOOD	(sizeof(good) / sizeof(good[0]))

static const struct kv good_client[] = {
	{ "request", "client" },
	{ "proto", "tlsproxy/1" },
	{ "server_name", "mx.example.org" },
	{ "server_addr", "192.0.2.25" },
	{ "server_port", "25" },
	{ "service", "smtp" },
	{ "verify", "ca" },
	{ "ca_file", "/etc/ssl/certs/ca-certificates.crt" },
};
#define NCLIENT	(sizeof(good_client) / sizeof(good_client[0]))

static void
decode(struct buf *out, struct attr_msg *m)
{
	const char *err = NULL;

	attr_msg_init(m);
	ck_assert_int_eq(attr_decode(out->data + 4, out->len - 4, m, &err),
	    ATTR_OK);
	buf_clear(out);
}

/* A good request with one attribute replaced (or dropped, val NULL). */
static void
build_from(const struct kv *kv, size_t n, struct attr_msg *m,
    const char *name, const char *val)
{
	struct buf out;
	size_t i;

	attr_out_init(&out);
	for (i = 0; i < n; i++) {
		if (name != NULL && strcmp(kv[i].name, name) == 0) {
			if (val != NULL)
				ck_assert_int_eq(attr_put_str(&out, name, val),
				    0);
			continue;
		}
		ck_assert_int_eq(attr_put_str(&out, kv[i].name, kv[i].val),
		    0);
	}
	decode(&out, m);
}

/*
 * A good request with the attribute as_int sent as an int (25), and one
 * string attribute extra="x" more (each unless NULL).
 */
static void
build_odd(const struct kv *kv, size_t n, struct attr_msg *m,
    const char *as_int, const char *extra)
{
	struct buf out;
	size_t i;

	attr_out_init(&out);
	for (i = 0; i < n; i++)
		if (as_int != NULL && strcmp(kv[i].name, as_int) == 0)
			attr_put_int(&out, as_int, 25);
		else
			attr_put_str(&out, kv[i].name, kv[i].val);
	if (extra != NULL)
		attr_put_str(&out, extra, "x");
	decode(&out, m);
}

static void
build(struct attr_msg *m, const char *name, const char *val)
{
	build_from(good, NGOOD, m, name, val);
}

static void
build_client(struct attr_msg *m, const char *name, const char *val)
{
	build_from(good_client, NCLIENT, m, name, val);
}

START_TEST(test_good_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	build(&m, NULL, NULL);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_str_eq(req.client_name, "client.example.test");
	ck_assert_str_eq(req.client_addr, "2001:db8::1");
	ck_assert_str_eq(req.client_port, "65535");
	ck_assert_str_eq(req.service, "submissions");
	ck_assert_str_eq(req.ident, "client.example.test[2001:db8::1]");
	ck_assert_int_eq(req.role, TLSPROXY_SERVER);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_good_client_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char key[TLSPROXY_KEY_MAX];

	build_client(&m, NULL, NULL);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_int_eq(req.role, TLSPROXY_CLIENT);
	ck_assert_str_eq(req.server_name, "mx.example.org");
	ck_assert_str_eq(req.server_addr, "192.0.2.25");
	ck_assert_str_eq(req.server_port, "25");
	ck_assert_str_eq(req.service, "smtp");
	ck_assert(req.verify);
	ck_assert_str_eq(req.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	ck_assert_str_eq(req.ident, "mx.example.org[192.0.2.25]");
	ck_assert_str_eq(req.client_name, "");
	tlsproxy_cache_key(&req, key, sizeof(key));
	ck_assert_str_eq(key, "mx.example.org[192.0.2.25]:25 "
	    "ca=/etc/ssl/certs/ca-certificates.crt");
	attr_msg_clear(&m);

	/* verify=none, and the system store. */
	build_client(&m, "verify", "none");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert(!req.verify);
	tlsproxy_cache_key(&req, key, sizeof(key));
	ck_assert_str_eq(key, "mx.example.org[192.0.2.25]:25");
	attr_msg_clear(&m);
	build_client(&m, "ca_file", "");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_str_eq(req.ca_file, "");
	tlsproxy_cache_key(&req, key, sizeof(key));
	ck_assert_str_eq(key, "mx.example.org[192.0.2.25]:25 ca=");
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_longest_client_fields_fit)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char name[256], path[1024], key[TLSPROXY_KEY_MAX];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	build_client(&m, "server_name", name);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	attr_msg_clear(&m);
	build_client(&m, "ca_file", path);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_str_eq(req.ca_file, path);
	tlsproxy_cache_key(&req, key, sizeof(key));
	ck_assert_uint_eq(strlen(key), strlen(req.ident) + 3 + 4 + 1023);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_longest_fields_fit)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char name[256], addr[64];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	build(&m, "client_name", name);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	attr_msg_clear(&m);
	build(&m, "client_addr", addr);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_uint_eq(strlen(req.ident), strlen("client.example.test") +
	    63 + 2);
	attr_msg_clear(&m);
}
END_TEST

static char toolong_name[300];

static const struct kv bad[] = {
	{ "request", NULL },
	{ "request", "client" },
	{ "request", "Server" },
	{ "proto", NULL },
	{ "proto", "tlsproxy/2" },
	{ "proto", "tlsproxy/1 " },
	{ "client_name", NULL },
	{ "client_name", "" },
	{ "client_name", "two words" },
	{ "client_name", "tab\there" },
	{ "client_name", "esc\033[0m" },
	{ "client_name", "caf\xc3\xa9" },
	{ "client_name", toolong_name },
	{ "client_addr", NULL },
	{ "client_addr", "" },
	{ "client_addr", "1.2.3.4\r\n" },
	{ "client_port", NULL },
	{ "client_port", "" },
	{ "client_port", "0" },
	{ "client_port", "65536" },
	{ "client_port", "100000" },
	{ "client_port", "-1" },
	{ "client_port", "+25" },
	{ "client_port", "25 " },
	{ "client_port", "0x19" },
	{ "client_port", "025" },
	{ "service", NULL },
	{ "service", "" },
	{ "service", "s\x7f" },
};

static char toolong_path[1100];

static const struct kv bad_client[] = {
	{ "request", "Client" },
	{ "proto", NULL },
	{ "proto", "tlsproxy/0" },
	{ "server_name", NULL },
	{ "server_name", "" },
	{ "server_name", "mx example" },
	{ "server_name", "mx\033]0;x" },
	{ "server_name", toolong_name },
	{ "server_addr", NULL },
	{ "server_addr", "" },
	{ "server_port", NULL },
	{ "server_port", "0" },
	{ "server_port", "65536" },
	{ "server_port", "smtp" },
	{ "server_port", "00025" },
	{ "service", NULL },
	{ "verify", NULL },
	{ "verify", "" },
	{ "verify", "CA" },
	{ "verify", "none " },
	{ "verify", "dane" },
	{ "ca_file", NULL },
	{ "ca_file", "relative.pem" },
	{ "ca_file", "/with space.pem" },
	{ "ca_file", "/tab\there" },
	{ "ca_file", toolong_path },
};

START_TEST(test_bad_client_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	memset(toolong_name, 'x', sizeof(toolong_name) - 1);
	memset(toolong_path, 'p', sizeof(toolong_path) - 1);
	toolong_path[0] = '/';
	build_client(&m, bad_client[_i].name, bad_client[_i].val);
	memset(&req, 0x5a, sizeof(req));
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_ptr_nonnull(err);
	/* Nothing half-parsed is left behind. */
	ck_assert_str_eq(req.ident, "");
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_client_extras_and_mixes)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	/* A client request with a server request's attribute too. */
	build_odd(good_client, NCLIENT, &m, NULL, "client_name");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_str_eq(err, "unexpected attributes");
	attr_msg_clear(&m);

	/* A server request's attributes under request=client. */
	build(&m, "request", "client");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);

	/* The client attributes under request=server. */
	build_client(&m, "request", "server");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);

	/* verify as an int. */
	build_odd(good_client, NCLIENT, &m, "verify", NULL);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);
}
END_TEST

#define H32	"00112233445566778899aabbccddeeff" \
		"00112233445566778899AABBCCDDEEFF"

static const struct kv good_dane[] = {
	{ "request", "client" },
	{ "proto", "tlsproxy/1" },
	{ "server_name", "mx.example.org" },
	{ "server_addr", "192.0.2.25" },
	{ "server_port", "25" },
	{ "service", "smtp" },
	{ "verify", "dane" },
	{ "ca_file", "" },
	{ "tlsa_count", "2" },
	{ "tlsa_0", "3 1 1 " H32 },
	{ "tlsa_1", "2 0 0 3082" },
	{ "dane_names", "mx.example.org:example.org" },
};
#define NDANE	(sizeof(good_dane) / sizeof(good_dane[0]))

START_TEST(test_dane_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char key[TLSPROXY_KEY_MAX], key2[TLSPROXY_KEY_MAX];

	build_from(good_dane, NDANE, &m, NULL, NULL);
	ck_assert_msg(tlsproxy_req_parse(&m, &req, &err) == 0, "%s", err);
	ck_assert_int_eq(req.verify, TLSPROXY_VERIFY_DANE);
	ck_assert_uint_eq(req.dane.ntlsa, 2);
	ck_assert_uint_eq(req.dane.tlsa[0].usage, 3);
	ck_assert_uint_eq(req.dane.tlsa[0].selector, 1);
	ck_assert_uint_eq(req.dane.tlsa[0].mtype, 1);
	ck_assert_uint_eq(req.dane.tlsa[0].len, 32);
	ck_assert_uint_eq(req.dane.pool[0], 0x00);
	ck_assert_uint_eq(req.dane.pool[31], 0xff);
	ck_assert_uint_eq(req.dane.tlsa[1].usage, 2);
	ck_assert_uint_eq(req.dane.tlsa[1].off, 32);
	ck_assert_uint_eq(req.dane.tlsa[1].len, 2);
	ck_assert_uint_eq(req.dane.pool[32], 0x30);
	ck_assert_uint_eq(req.dane.pool_len, 34);
	ck_assert_uint_eq(req.dane.nnames, 2);
	ck_assert_str_eq(req.dane.names[1], "example.org");
	tlsproxy_cache_key(&req, key, sizeof(key));
	ck_assert_uint_eq(strlen(key), strlen("mx.example.org[192.0.2.25]:25 "
	    "dane=") + 64);
	ck_assert(strncmp(key, "mx.example.org[192.0.2.25]:25 dane=", 35) ==
	    0);
	attr_msg_clear(&m);
	/* Other names: another set, another key. */
	build_from(good_dane, NDANE, &m, "dane_names", "mx.example.org");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	tlsproxy_cache_key(&req, key2, sizeof(key2));
	ck_assert_str_ne(key, key2);
	attr_msg_clear(&m);
	/* Another record, too. */
	build_from(good_dane, NDANE, &m, "tlsa_1", "2 0 0 3083");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	tlsproxy_cache_key(&req, key2, sizeof(key2));
	ck_assert_str_ne(key, key2);
	attr_msg_clear(&m);
	/* A certificate name may carry "_" (lib/hostname.h). */
	build_from(good_dane, NDANE, &m, "dane_names", "mx_1.example.org");
	ck_assert_msg(tlsproxy_req_parse(&m, &req, &err) == 0, "%s", err);
	ck_assert_str_eq(req.dane.names[0], "mx_1.example.org");
	attr_msg_clear(&m);
}
END_TEST

static const struct kv bad_dane[] = {
	{ "ca_file", "/etc/ssl/ca.pem" },
	{ "tlsa_count", NULL },
	{ "tlsa_count", "0" },
	{ "tlsa_count", "3" },
	{ "tlsa_count", "02" },
	{ "tlsa_count", "17" },
	{ "tlsa_count", "x" },
	{ "tlsa_0", NULL },
	{ "tlsa_0", "1 1 1 " H32 },
	{ "tlsa_0", "0 0 1 " H32 },
	{ "tlsa_0", "3 2 1 " H32 },
	{ "tlsa_0", "3 1 3 " H32 },
	{ "tlsa_0", "3 1 2 " H32 },
	{ "tlsa_0", "3 1 1 " H32 "00" },
	{ "tlsa_0", "3 1 1 0" H32 },
	{ "tlsa_0", "3 1 0 " },
	{ "tlsa_0", "3 1 0 0g" },
	{ "tlsa_0", "3 1 0 0 " },
	{ "tlsa_0", "3 1  1 " H32 },
	{ "tlsa_0", "31 1 " H32 },
	{ "tlsa_0", "3\t1 1 " H32 },
	{ "dane_names", NULL },
	{ "dane_names", "" },
	{ "dane_names", ":" },
	{ "dane_names", "a:" },
	{ "dane_names", "a..b" },
	{ "dane_names", ".a" },
	{ "dane_names", "a.b." },
	{ "dane_names", "a b" },
	{ "dane_names", "*.example.org" },
	{ "dane_names", "a:b:c:d:e" },
	/* lib/hostname.h: no "-" at a label's ends, no all-digit last one. */
	{ "dane_names", "-mx.example.org" },
	{ "dane_names", "mx-.example.org" },
	{ "dane_names", "mx.example.123" },
	{ "dane_names", "192.0.2.25" },
};

/* The ":"-joined ca_names of a verify=ca request, one case each. */
static const struct {
	const char	*names;
	size_t		 n;		/* names parsed; 0: refused */
} ca_names_cases[] = {
	{ "mx.example.org", 1 },
	{ ".example.org:mx_1.example.org", 2 },	/* a certificate's "_" */
	{ "192.0.2.25:mx.example.org", 2 },	/* an address: its IP SAN */
	{ "1.example:a:b:c:d:e:f:g", 8 },
	{ "", 0 },
	{ ":", 0 },
	{ "a:", 0 },
	{ "a..b", 0 },
	{ "..a", 0 },
	{ "a.", 0 },
	{ "*.example.org", 0 },
	{ "-mx.example.org", 0 },
	{ ".mx-.example.org", 0 },
	{ "example.123", 0 },
	{ ".192.0.2.25", 0 },		/* nothing is below an address */
	{ "192.0.2", 0 },
	{ "m\xc3\xa9.example", 0 },
	{ "a:b:c:d:e:f:g:h:i", 0 },
};

START_TEST(test_ca_names)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	struct buf out;
	const char *err = NULL;
	size_t i;

	attr_out_init(&out);
	for (i = 0; i < NCLIENT; i++)
		ck_assert_int_eq(attr_put_str(&out, good_client[i].name,
		    good_client[i].val), 0);
	ck_assert_int_eq(attr_put_str(&out, "ca_names",
	    ca_names_cases[_i].names), 0);
	decode(&out, &m);
	if (ca_names_cases[_i].n == 0) {
		ck_assert_msg(tlsproxy_req_parse(&m, &req, &err) == -1, "%s",
		    ca_names_cases[_i].names);
		ck_assert_ptr_nonnull(err);
	} else {
		ck_assert_msg(tlsproxy_req_parse(&m, &req, &err) == 0,
		    "%s: %s", ca_names_cases[_i].names, err);
		ck_assert_uint_eq(req.nca_names, ca_names_cases[_i].n);
	}
	attr_msg_clear(&m);
}
END_TEST

/* The one decimal parser of ports and record counts. */
START_TEST(test_number_parse)
{
	size_t n = 99;

	ck_assert_int_eq(tlsproxy_number_parse("1", 16, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(tlsproxy_number_parse("16", 16, &n), 0);
	ck_assert_uint_eq(n, 16);
	ck_assert_int_eq(tlsproxy_number_parse("65535", 65535, &n), 0);
	ck_assert_uint_eq(n, 65535);
	n = 99;
	ck_assert_int_eq(tlsproxy_number_parse("17", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("65536", 65535, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("0", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("01", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("-1", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("+1", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("1 ", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse("1x", 16, &n), -1);
	ck_assert_int_eq(tlsproxy_number_parse(
	    "99999999999999999999999999999", 65535, &n), -1);
	ck_assert_uint_eq(n, 99);
}
END_TEST

START_TEST(test_bad_dane_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	build_from(good_dane, NDANE, &m, bad_dane[_i].name, bad_dane[_i].val);
	memset(&req, 0x5a, sizeof(req));
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(req.ident, "");
	ck_assert_uint_eq(req.dane.ntlsa, 0);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_dane_bounds)
{
	struct tlsproxy_dane d;
	const char *err = NULL;
	char rec[6 + 2 * TLSPROXY_TLSA_DATA_MAX + 3], name[300];
	size_t i;

	memset(&d, 0, sizeof(d));
	/* 2048 bytes of data: the most one record holds. */
	memcpy(rec, "2 0 0 ", 6);
	memset(rec + 6, 'a', 2 * TLSPROXY_TLSA_DATA_MAX);
	rec[6 + 2 * TLSPROXY_TLSA_DATA_MAX] = '\0';
	for (i = 0; i < TLSPROXY_TLSA_POOL / TLSPROXY_TLSA_DATA_MAX; i++)
		ck_assert_int_eq(tlsproxy_dane_parse_record(rec, &d, &err), 0);
	/* The pool is full. */
	ck_assert_int_eq(tlsproxy_dane_parse_record("3 1 0 00", &d, &err),
	    -1);
	ck_assert_str_eq(err, "too much TLSA data");
	ck_assert_uint_eq(d.ntlsa, 4);
	/* One byte more than a record may hold. */
	memset(&d, 0, sizeof(d));
	memcpy(rec + 6 + 2 * TLSPROXY_TLSA_DATA_MAX, "aa", 3);
	ck_assert_int_eq(tlsproxy_dane_parse_record(rec, &d, &err), -1);
	ck_assert_uint_eq(d.ntlsa, 0);
	/* Sixteen records at most. */
	for (i = 0; i < TLSPROXY_TLSA_MAX; i++)
		ck_assert_int_eq(tlsproxy_dane_parse_record("3 1 1 " H32, &d,
		    &err), 0);
	ck_assert_int_eq(tlsproxy_dane_parse_record("3 1 1 " H32, &d, &err),
	    -1);
	ck_assert_str_eq(err, "too many TLSA records");
	/* A 253-byte name fits, 254 does not; labels of 63 at most. */
	memset(name, 'a', 253);
	for (i = 63; i < 253; i += 64)
		name[i] = '.';
	name[253] = '\0';
	ck_assert_int_eq(tlsproxy_dane_parse_names(name, &d, &err), 0);
	name[253] = 'a';
	name[254] = '\0';
	ck_assert_int_eq(tlsproxy_dane_parse_names(name, &d, &err), -1);
	ck_assert_int_eq(tlsproxy_dane_parse_names("a.example:Mx-1.b_c", &d,
	    &err), 0);
	ck_assert_uint_eq(d.nnames, 2);
	memset(name, 'a', 64);
	name[64] = '\0';
	ck_assert_int_eq(tlsproxy_dane_parse_names(name, &d, &err), -1);
}
END_TEST

START_TEST(test_cache)
{
	const void *data;
	size_t len, i;
	char key[32];
	static uint8_t big[64 * 1024 + 1];

	tlsproxy_cache_clear();
	ck_assert_int_eq(tlsproxy_cache_get("a", 100, 60, &data, &len), -1);
	tlsproxy_cache_put("a", "one", 3, 100);
	ck_assert_int_eq(tlsproxy_cache_get("a", 159, 60, &data, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(data, "one", 3) == 0);
	/* Replaced, not added. */
	tlsproxy_cache_put("a", "second", 6, 110);
	ck_assert_uint_eq(tlsproxy_cache_count(), 1);
	ck_assert_int_eq(tlsproxy_cache_get("a", 110, 60, &data, &len), 0);
	ck_assert_uint_eq(len, 6);
	/* Expired: gone. */
	ck_assert_int_eq(tlsproxy_cache_get("a", 170, 60, &data, &len), -1);
	ck_assert_uint_eq(tlsproxy_cache_count(), 0);
	/* A clock that went back does not keep an entry for ever. */
	tlsproxy_cache_put("a", "x", 1, 1000);
	ck_assert_int_eq(tlsproxy_cache_get("a", 999, 60, &data, &len), -1);
	/* Empty and oversized data are not kept. */
	tlsproxy_cache_put("e", "", 0, 1);
	tlsproxy_cache_put("b", big, sizeof(big), 1);
	ck_assert_uint_eq(tlsproxy_cache_count(), 0);
	/* Full: the oldest goes. */
	for (i = 0; i < TLSPROXY_CACHE_MAX; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		/* k5 is the oldest. */
		tlsproxy_cache_put(key, "d", 1, i == 5 ? 1 : 10 + (time_t)i);
	}
	ck_assert_uint_eq(tlsproxy_cache_count(), TLSPROXY_CACHE_MAX);
	tlsproxy_cache_put("new", "d", 1, 5000);
	ck_assert_uint_eq(tlsproxy_cache_count(), TLSPROXY_CACHE_MAX);
	ck_assert_int_eq(tlsproxy_cache_get("k5", 5000, 86400, &data, &len),
	    -1);
	ck_assert_int_eq(tlsproxy_cache_get("k4", 5000, 86400, &data, &len),
	    0);
	ck_assert_int_eq(tlsproxy_cache_get("new", 5000, 86400, &data, &len),
	    0);
	tlsproxy_cache_clear();
	ck_assert_uint_eq(tlsproxy_cache_count(), 0);
}
END_TEST

START_TEST(test_bad_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	memset(toolong_name, 'x', sizeof(toolong_name) - 1);
	build(&m, bad[_i].name, bad[_i].val);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_ptr_nonnull(err);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_wrong_types_and_extras)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	struct buf out;
	const char *err = NULL;

	/* The port as an int instead of a string. */
	build_odd(good, NGOOD, &m, "client_port", NULL);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);

	/* One attribute more than the contract names. */
	build_odd(good, NGOOD, &m, NULL, "sni");
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_str_eq(err, "unexpected attributes");
	attr_msg_clear(&m);

	/* Nothing at all. */
	attr_out_init(&out);
	decode(&out, &m);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_is_start)
{
	struct attr_msg m;
	struct buf out;

	attr_out_init(&out);
	attr_put_str(&out, "request", "start");
	decode(&out, &m);
	ck_assert(tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_str(&out, "request", "start");
	attr_put_str(&out, "proto", "tlsproxy/1");
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_str(&out, "request", "server");
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_data(&out, "request", "start", 5);
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_buf)
{
	static struct tlsproxy_buf b;
	size_t i;

	ck_assert_uint_eq(tlsproxy_buf_room(&b), TLSPROXY_BUF);
	for (i = 0; i < TLSPROXY_BUF; i++)
		b.data[i] = (uint8_t)i;
	b.len = TLSPROXY_BUF;
	ck_assert_uint_eq(tlsproxy_buf_room(&b), 0);
	tlsproxy_buf_consume(&b, 1000);
	ck_assert_uint_eq(b.len, TLSPROXY_BUF - 1000);
	ck_assert_uint_eq(tlsproxy_buf_room(&b), 1000);
	ck_assert_uint_eq(b.data[0], (uint8_t)1000);
	ck_assert_uint_eq(b.data[b.len - 1], (uint8_t)(TLSPROXY_BUF - 1));
	tlsproxy_buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, TLSPROXY_BUF - 1000);
	tlsproxy_buf_consume(&b, b.len);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(tlsproxy_buf_room(&b), TLSPROXY_BUF);
}
END_TEST

START_TEST(test_buf_consume_past_len)
{
	static struct tlsproxy_buf b;

	b.len = 10;
	tlsproxy_buf_consume(&b, 11);
}
END_TEST

static Suite *
tlsproxy_suite(bool forking)
{
	Suite *s = suite_create("tlsproxy");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_test(tc, test_good_request);
	tcase_add_test(tc, test_longest_fields_fit);
	tcase_add_test(tc, test_good_client_request);
	tcase_add_test(tc, test_longest_client_fields_fit);
	tcase_add_loop_test(tc, test_bad_client_request, 0,
	    (int)(sizeof(bad_client) / sizeof(bad_client[0])));
	tcase_add_test(tc, test_client_extras_and_mixes);
	tcase_add_test(tc, test_dane_request);
	tcase_add_loop_test(tc, test_bad_dane_request, 0,
	    sizeof(bad_dane) / sizeof(bad_dane[0]));
	tcase_add_test(tc, test_dane_bounds);
	tcase_add_loop_test(tc, test_ca_names, 0,
	    sizeof(ca_names_cases) / sizeof(ca_names_cases[0]));
	tcase_add_test(tc, test_number_parse);
	tcase_add_loop_test(tc, test_bad_request, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_wrong_types_and_extras);
	tcase_add_test(tc, test_is_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_add_test(tc, test_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf);
	/* A signal test would end the whole runner under CK_FORK=no. */
	if (forking)
		tcase_add_test_raise_signal(tc, test_buf_consume_past_len,
		    SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	struct rlimit nocore = { 0, 0 };
	SRunner *sr;
	int failed;

	(void)setrlimit(RLIMIT_CORE, &nocore);
	sr = srunner_create(NULL);
	srunner_add_suite(sr, tlsproxy_suite(srunner_fork_status(sr) !=
	    CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
