/*
 * SPDX-License-Identifier: ISC
 *
 * hostname.c -- the one syntax check of a host name (the rule is in
 * hostname.h).
 *
 * Process:  any: smtp (next hops, MX targets, DNS names), tlsproxy
 *           (certificate reference names), the TLS policy tables and
 *           services.conf parsers.
 * Input:    untrusted bytes with a length; nothing is read past it.
 * Failure:  false; never logs, exits or allocates.
 */
#include "config.h"

#include "ascii.h"
#include "hostname.h"

static bool
label_ok(const char *s, size_t n, unsigned flags, bool *digits_r)
{
	size_t i;
	bool digits = true;

	if (n == 0 || n > HOSTNAME_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (ascii_isdigit((unsigned char)s[i]))
			continue;
		digits = false;
		if (ascii_isalpha((unsigned char)s[i]) || s[i] == '-' ||
		    (s[i] == '_' && (flags & HOSTNAME_UNDERSCORE)))
			continue;
		return false;
	}
	*digits_r = digits;
	return true;
}

bool
hostname_ok(const char *s, size_t n, unsigned flags)
{
	size_t start = 0, i;
	bool digits = false;

	if ((flags & HOSTNAME_FINAL_DOT) && n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > HOSTNAME_MAX)
		return false;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!label_ok(s + start, i - start, flags, &digits))
			return false;
		start = i + 1;
	}
	return !digits;
}
