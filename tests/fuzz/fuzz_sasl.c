/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_sasl.c -- libFuzzer harness for lib/sasl.c: sasl_parse_reply()
 * (lines from Dovecot's auth server), sasl_parse_auth() (the SMTP AUTH
 * argument) and sasl_parse_response() (a client line in the exchange).
 *
 * Input:    one selector byte (low bit: reply or AUTH argument), then the
 *           line.
 * Checks:   no crash, no read past the line; a parsed reply has printable
 *           user= and reason= within their limits, a CONT challenge that
 *           lies inside the line and is base64, a MECH name that is a
 *           valid one; an accepted AUTH argument has an upper-case
 *           mechanism name of 1 to 20 characters and an initial response
 *           inside the argument that is base64; a failure carries a 501
 *           or 504 reply.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sasl.h"

static void
printable(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] == 127)
			abort();
}

static void
mech_ok(const char *m)
{
	size_t n = strlen(m), i;

	if (n == 0 || n > SASL_MECH_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (!((m[i] >= 'A' && m[i] <= 'Z') ||
		    (m[i] >= '0' && m[i] <= '9') || m[i] == '-' || m[i] == '_'))
			abort();
}

static void
check_reply(const char *line, size_t len)
{
	struct sasl_reply r;
	const char *err = NULL;

	if (sasl_parse_reply(line, len, &r, &err) == -1) {
		if (err == NULL)
			abort();
		return;
	}
	printable(r.user, SASL_USER_MAX);
	printable(r.reason, SASL_REASON_MAX);
	if (r.type == SASL_R_MECH)
		mech_ok(r.mech);
	if (r.type == SASL_R_CONT) {
		if (r.data < line || r.data > line + len ||
		    r.data_len > (size_t)(line + len - r.data))
			abort();
		if (!sasl_b64_ok(r.data, r.data_len))
			abort();
	}
}

static void
check_auth(const char *arg, size_t len)
{
	struct sasl_auth_arg a;
	const char *enh = NULL, *text = NULL;
	int code = 0;

	(void)sasl_parse_response(arg, len);
	if (sasl_parse_auth(arg, len, &a, &code, &enh, &text) == -1) {
		if ((code != 501 && code != 504) || enh == NULL || text == NULL)
			abort();
		return;
	}
	mech_ok(a.mech);
	if (!a.has_resp)
		return;
	if (a.resp < arg || a.resp > arg + len ||
	    a.resp_len > (size_t)(arg + len - a.resp))
		abort();
	if (!sasl_b64_ok(a.resp, a.resp_len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1)
		return 0;
	/* An exact-size copy, so that a read past the end is caught. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		check_auth(copy, size - 1);
	else
		check_reply(copy, size - 1);
	free(copy);
	return 0;
}
