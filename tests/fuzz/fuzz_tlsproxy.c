/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_tlsproxy.c -- libFuzzer harness for tlsproxy's checks of what
 * smtpd sends it (daemons/tlsproxy/tlsproxy_req.c, docs/ipc.md):
 * tlsproxy_req_parse() and tlsproxy_req_is_start() on any message the
 * attribute decoder accepts.
 *
 * Input:    an attribute message body (no length prefix), at most
 *           TLSPROXY_REQ_MAX bytes, as tlsproxy reads them.
 * Checks:   a request that parses has every field NUL-terminated,
 *           printable ASCII without spaces, a port 1..65535, and an ident
 *           "name[addr]"; a request is never both a server request and a
 *           start; any violation abort()s.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char ident[sizeof(req.ident)];
	long port;
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
		check_field(req.client_name, sizeof(req.client_name));
		check_field(req.client_addr, sizeof(req.client_addr));
		check_field(req.client_port, sizeof(req.client_port));
		check_field(req.service, sizeof(req.service));
		port = strtol(req.client_port, NULL, 10);
		CHECK(port >= 1 && port <= 65535);
		snprintf(ident, sizeof(ident), "%s[%s]", req.client_name,
		    req.client_addr);
		CHECK(strcmp(ident, req.ident) == 0);
		CHECK(!tlsproxy_req_is_start(&m));
	} else
		CHECK(r == -1 && err != NULL && err[0] != '\0');
	attr_msg_clear(&m);
	return 0;
}
