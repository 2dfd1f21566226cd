/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_addr.c -- libFuzzer harness for addr_parse_path() and friends.
 *
 * Input:    one byte of ADDR_F_* flags, then the bytes of a path.
 * Checks:   no crash, no read past the input, and what is accepted obeys
 *           the contract: limits held, fields clean, the null path and
 *           "<postmaster>" only when allowed, UTF-8 only under SMTPUTF8,
 *           and the formatted address parses again to the same thing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"

#define FLAGS_MASK	(ADDR_F_SENDER | ADDR_F_RCPT | ADDR_F_SMTPUTF8 | \
			    ADDR_F_NOBRACKETS_OK)

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

static void
check_fields(const struct addr *a, unsigned flags)
{
	size_t ll, dl;

	ll = strnlen(a->local, sizeof(a->local));
	dl = strnlen(a->domain, sizeof(a->domain));
	if (ll > ADDR_LOCAL_MAX || dl > ADDR_DOMAIN_MAX)
		abort();
	if (strpbrk(a->local, "\r\n") != NULL ||
	    strpbrk(a->domain, "\r\n ") != NULL)
		abort();
	if (ll == 0 && dl == 0 && (flags & ADDR_F_SENDER) == 0)
		abort();
	if (ll == 0 && dl != 0)		/* "" is written as \"\" */
		abort();
	if (dl == 0 && ll != 0 && (strcmp(a->local, "postmaster") != 0 ||
	    (flags & ADDR_F_RCPT) == 0))
		abort();
	if (!a->utf8 && (has_8bit(a->local) || has_8bit(a->domain)))
		abort();
	if (a->utf8 && (flags & ADDR_F_SMTPUTF8) == 0)
		abort();
	if (a->literal && (dl < 2 || a->domain[0] != '[' ||
	    a->domain[dl - 1] != ']'))
		abort();
}

static void
check_domain(const struct addr *a, unsigned flags)
{
	enum addr_err e;
	bool literal;

	if (a->domain[0] == '\0')
		return;
	if (addr_domain_check(a->domain, strlen(a->domain),
	    flags & ADDR_F_SMTPUTF8, &literal, &e) != 0 || e != ADDR_E_NONE ||
	    literal != a->literal)
		abort();
}

/* "<" addr_format() ">" must parse to the same mailbox. */
static void
check_roundtrip(const struct addr *a, unsigned flags)
{
	char buf[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 4], unq[ADDR_LOCAL_MAX + 1];
	struct addr b;
	enum addr_err e;
	size_t n, used;

	n = addr_format(a, buf + 1, sizeof(buf) - 2);
	if (n >= sizeof(buf) - 2 || n != strlen(buf + 1))
		abort();
	if (n != strlen(a->local) + (a->domain[0] ? 1 + strlen(a->domain) : 0))
		abort();
	buf[0] = '<';
	buf[n + 1] = '>';
	if (addr_parse_path(buf, n + 2, flags & ~ADDR_F_NOBRACKETS_OK, &b,
	    &used, &e) != 0) {
		/* Dropping a source route may make the path legal-length. */
		abort();
	}
	if (used != n + 2 || strcmp(a->local, b.local) != 0 ||
	    strcmp(a->domain, b.domain) != 0 || a->literal != b.literal ||
	    (b.utf8 && !a->utf8))
		abort();
	n = addr_local_unquoted(a, unq, sizeof(unq));
	if (n > strlen(a->local) || n != strlen(unq))
		abort();
}

static void
check_error(const struct addr *a, enum addr_err e)
{
	static const struct addr zero;

	if (e == ADDR_E_NONE || e > ADDR_E_NULL_NOT_ALLOWED ||
	    addr_err_str(e) == NULL)
		abort();
	if (memcmp(a, &zero, sizeof(*a)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a;
	enum addr_err e;
	unsigned flags;
	size_t n, used = (size_t)-1;
	char *in;
	bool lit;

	if (size == 0)
		return 0;
	flags = data[0] & FLAGS_MASK;
	n = size - 1;
	/* An exact copy: a read past n is a sanitizer report. */
	if ((in = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(in, data + 1, n);

	if (addr_parse_path(in, n, flags, &a, &used, &e) == 0) {
		if (e != ADDR_E_NONE || used == 0 || used > n)
			abort();
		if (in[0] == '<') {
			if (used < 2 || in[used - 1] != '>' ||
			    used > ADDR_PATH_MAX)
				abort();
		} else if ((flags & ADDR_F_NOBRACKETS_OK) == 0 ||
		    used + 2 > ADDR_PATH_MAX || (used < n && in[used] != ' '))
			abort();
		check_fields(&a, flags);
		check_domain(&a, flags);
		check_roundtrip(&a, flags);
	} else {
		if (used != (size_t)-1)
			abort();
		check_error(&a, e);
	}

	/* The other entry points on the same bytes. */
	if (addr_domain_check(in, n, flags, &lit, &e) == 0) {
		if (e != ADDR_E_NONE || n == 0 || n > ADDR_DOMAIN_MAX ||
		    memchr(in, ' ', n) != NULL || lit != (in[0] == '['))
			abort();
	} else if (e == ADDR_E_NONE)
		abort();
	if (addr_utf8_char(in, n) > (n < 4 ? n : 4))
		abort();
	free(in);
	return 0;
}
