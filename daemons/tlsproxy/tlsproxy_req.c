/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_req.c -- checks of smtpd's requests, and the plaintext buffers.
 *
 * Process:  tlsproxy (mail_owner).
 * Input:    decoded attribute messages from smtpd (less trusted: a
 *           compromised smtpd must not get odd text into our logs).
 * Failure:  -1 with a static reason; pure, never logs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tlsproxy.h"

/* Printable ASCII, no space, not empty: safe in a log line as it is. */
static bool
word_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool
port_ok(const char *s)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return i > 0 && v >= 1 && v <= 65535;
}

static bool
str_is(const struct attr_msg *m, const char *name, const char *want)
{
	char v[32];

	return attr_get_str(m, name, v, sizeof(v)) == 0 &&
	    strcmp(v, want) == 0;
}

int
tlsproxy_req_parse(const struct attr_msg *m, struct tlsproxy_req *req,
    const char **err_r)
{
	memset(req, 0, sizeof(*req));
	if (!str_is(m, "request", "server")) {
		*err_r = "not request=server";
		return -1;
	}
	if (!str_is(m, "proto", TLSPROXY_PROTO)) {
		*err_r = "not proto=" TLSPROXY_PROTO;
		return -1;
	}
	if (attr_get_str(m, "client_name", req->client_name,
	    sizeof(req->client_name)) == -1 || !word_ok(req->client_name)) {
		*err_r = "bad client_name";
		return -1;
	}
	if (attr_get_str(m, "client_addr", req->client_addr,
	    sizeof(req->client_addr)) == -1 || !word_ok(req->client_addr)) {
		*err_r = "bad client_addr";
		return -1;
	}
	if (attr_get_str(m, "client_port", req->client_port,
	    sizeof(req->client_port)) == -1 || !port_ok(req->client_port)) {
		*err_r = "bad client_port";
		return -1;
	}
	if (attr_get_str(m, "service", req->service,
	    sizeof(req->service)) == -1 || !word_ok(req->service)) {
		*err_r = "bad service";
		return -1;
	}
	/* The six above, each once (attr_decode refuses duplicates). */
	if (m->n != 6) {
		*err_r = "unexpected attributes";
		return -1;
	}
	/* Both parts are at most 255 + 63 bytes: this always fits. */
	strlcpy(req->ident, req->client_name, sizeof(req->ident));
	strlcat(req->ident, "[", sizeof(req->ident));
	strlcat(req->ident, req->client_addr, sizeof(req->ident));
	strlcat(req->ident, "]", sizeof(req->ident));
	return 0;
}

bool
tlsproxy_req_is_start(const struct attr_msg *m)
{
	return m->n == 1 && str_is(m, "request", "start");
}

size_t
tlsproxy_buf_room(const struct tlsproxy_buf *b)
{
	return sizeof(b->data) - b->len;
}

void
tlsproxy_buf_consume(struct tlsproxy_buf *b, size_t n)
{
	if (n > b->len)
		bug("tlsproxy_buf_consume: %zu > %zu", n, b->len);
	b->len -= n;
	if (b->len > 0)
		memmove(b->data, b->data + n, b->len);
}
