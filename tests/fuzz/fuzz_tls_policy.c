/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_tls_policy.c -- libFuzzer harness for the parsers of lib/tls_policy:
 * tls_policy_parse() (an smtp_tls_policy_maps value) and
 * tls_policy_nexthop() (a next hop from the queue manager).
 *
 * Input:    arbitrary bytes up to 2 KiB, used whole (up to the first NUL)
 *           as a table value and as a next hop.
 * Checks:   a value that parses has a known level, at most
 *           TLS_POLICY_MATCH_MAX match names, each NUL-terminated,
 *           printable, without ":" or white space, and match names only
 *           with verify or secure; a value that does not parse leaves the
 *           policy cleared with a reason; a next hop that parses gives a
 *           non-empty domain without brackets that is a substring of the
 *           input (or the domain given for an empty one), "bare"
 *           exactly when the input neither starts with "[" nor holds a
 *           ":"; any violation
 *           abort()s.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tls_policy.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define INPUT_MAX	2048

static void
check_policy(const char *s)
{
	static struct tls_policy p;
	const char *err = NULL;
	size_t i, j, n;

	memset(&p, 0x5a, sizeof(p));
	if (tls_policy_parse(s, &p, &err) == -1) {
		CHECK(err != NULL && err[0] != '\0');
		CHECK(p.level == TLS_POLICY_NONE && p.nmatch == 0 &&
		    !p.match_hostname && p.key[0] == '\0');
		return;
	}
	CHECK(p.level <= TLS_POLICY_SECURE);
	CHECK(strcmp(tls_policy_level_name(p.level), "?") != 0);
	CHECK(p.nmatch <= TLS_POLICY_MATCH_MAX);
	CHECK(p.nmatch == 0 || p.level == TLS_POLICY_VERIFY ||
	    p.level == TLS_POLICY_SECURE);
	for (i = 0; i < p.nmatch; i++) {
		n = strnlen(p.match[i], sizeof(p.match[i]));
		CHECK(n >= 1 && n < sizeof(p.match[i]));
		for (j = 0; j < n; j++)
			CHECK(p.match[i][j] > 0x20 && p.match[i][j] < 0x7f &&
			    p.match[i][j] != ':');
		CHECK(strstr(s, p.match[i]) != NULL);
	}
}

static void
check_nexthop(const char *s)
{
	char out[600];
	bool bare;

	if (tls_policy_nexthop(s, "dest.example", out, sizeof(out), &bare) ==
	    -1)
		return;
	CHECK(out[0] != '\0' && strlen(out) < sizeof(out));
	if (s[0] == '\0') {
		CHECK(bare && strcmp(out, "dest.example") == 0);
		return;
	}
	CHECK(strstr(s, out) != NULL);
	CHECK(bare == (s[0] != '[' && strchr(s, ':') == NULL));
	if (s[0] == '[')
		CHECK(strchr(out, ']') == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[INPUT_MAX + 1];

	if (size > INPUT_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_policy(s);
	check_nexthop(s);
	return 0;
}
