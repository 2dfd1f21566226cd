/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_tlsproxy.c -- libFuzzer harness for tlsproxy's checks of what
 * smtpd and the smtp client send it (daemons/tlsproxy/tlsproxy_req.c,
 * docs/ipc.md): tlsproxy_req_parse() (request=server and request=client,
 * with verify=dane its TLSA records and names) and tlsproxy_req_is_start()
 * on any message the attribute decoder accepts; and the TLSA record and
 * name parsers of tlsproxy_dane.c on the raw bytes of any other input.
 *
 * Input:    an attribute message body (no length prefix), at most
 *           TLSPROXY_REQ_MAX bytes, as tlsproxy reads them; otherwise a
 *           string for tlsproxy_dane_parse_record/_parse_names.
 * Checks:   a request that parses has every field of its role
 *           NUL-terminated, printable ASCII without spaces, a port
 *           1..65535, and an ident "name[addr]"; the other role's fields
 *           stay empty; a client request's ca_file is empty or absolute,
 *           and its cache key fits and starts with "ident:port";
 *           ca_names only with verify=ca, each a host name or ".name",
 *           and then a digest of them in the cache key; DANE
 *           records are usable (RFC 7672), of the length their matching
 *           type says, inside the pool, and the names host names; a
 *           request that does not parse leaves nothing behind; a request
 *           is never both a session request and a start; any violation
 *           abort()s.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "fuzz.h"
#include "tlsproxy.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_field(const char *s, size_t sz)
{
	size_t i, n = strnlen(s, sz);

	CHECK(n < sz);
	for (i = 0; i < n; i++)
		CHECK(s[i] > 0x20 && s[i] < 0x7f);
}

static void
check_word(const char *s, size_t sz)
{
	check_field(s, sz);
	CHECK(s[0] != '\0');
}

static void
check_port(const char *s, size_t sz)
{
	long port;

	check_word(s, sz);
	port = strtol(s, NULL, 10);
	CHECK(port >= 1 && port <= 65535);
}

static void
check_ident(const struct tlsproxy_req *req, const char *name,
    const char *addr)
{
	char ident[sizeof(req->ident)];

	snprintf(ident, sizeof(ident), "%s[%s]", name, addr);
	CHECK(strcmp(ident, req->ident) == 0);
}

static void
check_server(const struct tlsproxy_req *req)
{
	check_word(req->client_name, sizeof(req->client_name));
	check_word(req->client_addr, sizeof(req->client_addr));
	check_port(req->client_port, sizeof(req->client_port));
	check_ident(req, req->client_name, req->client_addr);
	CHECK(req->server_name[0] == '\0' && req->server_addr[0] == '\0' &&
	    req->server_port[0] == '\0' && req->ca_file[0] == '\0' &&
	    req->verify == TLSPROXY_VERIFY_NONE && req->dane.ntlsa == 0 &&
	    req->nca_names == 0);
}

static void
check_dane(const struct tlsproxy_dane *d)
{
	size_t i, j, sum = 0, n;

	CHECK(d->ntlsa <= TLSPROXY_TLSA_MAX);
	CHECK(d->nnames <= TLSPROXY_DANE_NAMES_MAX);
	for (i = 0; i < d->ntlsa; i++) {
		const struct tlsproxy_tlsa *t = &d->tlsa[i];

		CHECK(t->usage == 2 || t->usage == 3);
		CHECK(t->selector <= 1 && t->mtype <= 2);
		CHECK(t->len >= 1 && t->len <= TLSPROXY_TLSA_DATA_MAX);
		CHECK(t->mtype != 1 || t->len == 32);
		CHECK(t->mtype != 2 || t->len == 64);
		CHECK(t->off == sum);
		sum += t->len;
	}
	CHECK(sum == d->pool_len && sum <= sizeof(d->pool));
	for (i = 0; i < d->nnames; i++) {
		n = strnlen(d->names[i], sizeof(d->names[i]));
		CHECK(n >= 1 && n <= 253);
		CHECK(d->names[i][0] != '.' && d->names[i][n - 1] != '.');
		for (j = 0; j < n; j++)
			CHECK(d->names[i][j] != ':' && d->names[i][j] > 0x20 &&
			    d->names[i][j] < 0x7f);
	}
}

/* Not a message: the TLSA record and name parsers on the raw string. */
static void
fuzz_strings(const uint8_t *data, size_t size)
{
	static struct tlsproxy_dane d;
	char s[2 * TLSPROXY_TLSA_DATA_MAX + 16];
	const char *err = NULL;
	size_t before;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&d, 0, sizeof(d));
	/* Twice: the second lands after the first in the pool. */
	(void)tlsproxy_dane_parse_record(s, &d, &err);
	before = d.ntlsa;
	if (tlsproxy_dane_parse_record(s, &d, &err) == 0)
		CHECK(d.ntlsa == before + 1);
	else
		CHECK(d.ntlsa == before && err != NULL);
	check_dane(&d);
	if (tlsproxy_dane_parse_names(s, &d, &err) == 0)
		CHECK(d.nnames >= 1);
	else
		CHECK(err != NULL);
	check_dane(&d);
}

/* ca_names: only with verify=ca, each a name or ".name", in the key. */
static void
check_ca_names(const struct tlsproxy_req *req, const char *key)
{
	size_t i, n;

	CHECK(req->nca_names <= TLSPROXY_CA_NAMES_MAX);
	CHECK(req->nca_names == 0 || req->verify == TLSPROXY_VERIFY_CA);
	CHECK((req->nca_names > 0) == (strstr(key, " names=") != NULL));
	for (i = 0; i < req->nca_names; i++) {
		n = strnlen(req->ca_names[i], sizeof(req->ca_names[i]));
		CHECK(n >= 1 && n < sizeof(req->ca_names[i]));
		CHECK(req->ca_names[i][n - 1] != '.');
		CHECK(strchr(req->ca_names[i], ':') == NULL);
		CHECK(strstr(req->ca_names[i], "..") == NULL);
		check_word(req->ca_names[i], sizeof(req->ca_names[i]));
	}
}

static void
check_client(const struct tlsproxy_req *req)
{
	char key[TLSPROXY_KEY_MAX], want[sizeof(req->ident) + 8];

	check_word(req->server_name, sizeof(req->server_name));
	check_word(req->server_addr, sizeof(req->server_addr));
	check_port(req->server_port, sizeof(req->server_port));
	check_field(req->ca_file, sizeof(req->ca_file));
	CHECK(req->ca_file[0] == '\0' || req->ca_file[0] == '/');
	check_ident(req, req->server_name, req->server_addr);
	CHECK(req->client_name[0] == '\0' && req->client_addr[0] == '\0' &&
	    req->client_port[0] == '\0');
	tlsproxy_cache_key(req, key, sizeof(key));
	CHECK(strlen(key) < sizeof(key) - 1);
	snprintf(want, sizeof(want), "%s:%s", req->ident, req->server_port);
	CHECK(strncmp(key, want, strlen(want)) == 0);
	CHECK((req->verify == TLSPROXY_VERIFY_CA) ==
	    (strstr(key, " ca=") != NULL));
	CHECK((req->verify == TLSPROXY_VERIFY_DANE) ==
	    (strstr(key, " dane=") != NULL));
	if (req->verify == TLSPROXY_VERIFY_DANE) {
		CHECK(req->ca_file[0] == '\0');
		CHECK(strlen(strstr(key, " dane=")) == 6 + TLS_FP_LEN);
		CHECK(req->dane.ntlsa >= 1);
		CHECK(req->dane.nnames >= 1);
	} else
		CHECK(req->dane.ntlsa == 0 && req->dane.nnames == 0);
	check_dane(&req->dane);
	check_ca_names(req, key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlsproxy_req req;
	static struct attr_msg m;
	const char *err = NULL;
	int r;

	if (size > TLSPROXY_REQ_MAX)
		return 0;
	attr_msg_init(&m);
	if (attr_decode(data, size, &m, &err) != ATTR_OK) {
		attr_msg_clear(&m);
		fuzz_strings(data, size);
		return 0;
	}
	memset(&req, 0x5a, sizeof(req));
	r = tlsproxy_req_parse(&m, &req, &err);
	if (r == 0) {
		check_word(req.service, sizeof(req.service));
		if (req.role == TLSPROXY_SERVER)
			check_server(&req);
		else {
			CHECK(req.role == TLSPROXY_CLIENT);
			check_client(&req);
		}
		CHECK(!tlsproxy_req_is_start(&m));
	} else {
		CHECK(r == -1 && err != NULL && err[0] != '\0');
		CHECK(req.ident[0] == '\0');
	}
	attr_msg_clear(&m);
	return 0;
}
