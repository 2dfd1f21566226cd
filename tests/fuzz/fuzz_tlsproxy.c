/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_tlsproxy.c -- libFuzzer harness for tlsproxy's checks of what
 * smtpd and the smtp client send it (daemons/tlsproxy/tlsproxy_req.c,
 * docs/ipc.md): tlsproxy_req_parse() (request=server and request=client)
 * and tlsproxy_req_is_start() on any message the attribute decoder
 * accepts.
 *
 * Input:    an attribute message body (no length prefix), at most
 *           TLSPROXY_REQ_MAX bytes, as tlsproxy reads them.
 * Checks:   a request that parses has every field of its role
 *           NUL-terminated, printable ASCII without spaces, a port
 *           1..65535, and an ident "name[addr]"; the other role's fields
 *           stay empty; a client request's ca_file is empty or absolute,
 *           and its cache key fits and starts with "ident:port"; a
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
	    !req->verify);
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
	CHECK(req->verify == (strstr(key, " ca=") != NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	int r;

	if (size > TLSPROXY_REQ_MAX)
		return 0;
	attr_msg_init(&m);
	if (attr_decode(data, size, &m, &err) != ATTR_OK) {
		attr_msg_clear(&m);
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
