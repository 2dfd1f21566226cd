/*
 * SPDX-License-Identifier: ISC
 *
 * dns_rdata.c -- the pure part of lib/dns: domain names in wire format,
 * MX and TLSA record data, host name syntax (lib/hostname) and the MX
 * order.
 *
 * Process:  smtp (through dns.c); the fuzz harness and unit tests.
 * Input:    record data from DNS answers: untrusted.  Every length is
 *           checked before the octets it counts are read.
 * Failure:  -1 or 0 with a static reason; never logs, exits or allocates.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "dns.h"
#include "hostname.h"

#define LABEL_PTR	0xc0	/* compression pointer (RFC 1035 4.1.4) */
#define TLSA_FIXED	3	/* usage, selector, matching type */
#define SHA256_LEN	32
#define SHA512_LEN	64

static bool
host_char(int c)
{
	return ascii_isalnum(c) || c == '-' || c == '_';
}

bool
dns_host_ok(const char *name)
{
	/* "_" is no RFC 952 host name, but DNS has such MX hosts. */
	return hostname_ok(name, strlen(name), HOSTNAME_UNDERSCORE);
}

/* Append s (n bytes) to out at *pos; false when it would not fit. */
static bool
put(char *out, size_t outsz, size_t *pos, const char *s, size_t n)
{
	if (n >= outsz - *pos)
		return false;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return true;
}

static bool
put_label(char *out, size_t outsz, size_t *pos, const uint8_t *p, size_t n)
{
	char esc[5];
	size_t i;

	for (i = 0; i < n; i++) {
		if (host_char(p[i])) {
			if (!put(out, outsz, pos, (const char *)p + i, 1))
				return false;
			continue;
		}
		snprintf(esc, sizeof(esc), "\\%03u", p[i]);
		if (!put(out, outsz, pos, esc, 4))
			return false;
	}
	return true;
}

size_t
dns_name_to_text(const uint8_t *wire, size_t len, char *out, size_t outsz,
    const char **err_r)
{
	size_t pos = 0, opos = 0, n;

	if (outsz < 2) {
		*err_r = "no room for the name";
		return 0;
	}
	out[0] = '\0';
	for (;;) {
		if (pos >= len) {
			*err_r = "name runs past the record";
			return 0;
		}
		n = wire[pos];
		if ((n & LABEL_PTR) == LABEL_PTR) {
			*err_r = "compression pointer in record data";
			return 0;
		}
		if ((n & LABEL_PTR) != 0) {
			*err_r = "unsupported label type";
			return 0;
		}
		if (n == 0)
			break;
		if (n >= len - pos) {
			*err_r = "label runs past the record";
			return 0;
		}
		/* This label, its length octet and the final root octet. */
		if (pos + n + 2 > DNS_WIRE_MAX) {
			*err_r = "name longer than 255 octets";
			return 0;
		}
		if ((opos > 0 && !put(out, outsz, &opos, ".", 1)) ||
		    !put_label(out, outsz, &opos, wire + pos + 1, n)) {
			*err_r = "name too long for its buffer";
			return 0;
		}
		pos += n + 1;
	}
	if (opos == 0)
		(void)put(out, outsz, &opos, ".", 1);
	return pos + 1;
}

int
dns_parse_mx_rdata(const uint8_t *rdata, size_t len, struct dns_mx *out,
    const char **err_r)
{
	char text[DNS_TEXT_MAX];
	size_t used;

	if (len < 3) {
		*err_r = "MX record shorter than 3 octets";
		return -1;
	}
	out->pref = ascii_get_be16(rdata);
	out->host[0] = '\0';
	if ((used = dns_name_to_text(rdata + 2, len - 2, text, sizeof(text),
	    err_r)) == 0)
		return -1;
	if (used != len - 2) {
		*err_r = "octets after the MX target";
		return -1;
	}
	if (used == 1)
		return 0;		/* the root: null MX (RFC 7505) */
	if (!dns_host_ok(text)) {
		*err_r = "MX target is not a host name";
		return -1;
	}
	/* dns_host_ok bounds it by DNS_NAME_MAX. */
	memcpy(out->host, text, strlen(text) + 1);
	return 0;
}

int
dns_parse_tlsa_rdata(const uint8_t *rdata, size_t len, struct dns_tlsa *out,
    const char **err_r)
{
	size_t dlen;

	if (len < TLSA_FIXED) {
		*err_r = "TLSA record shorter than 3 octets";
		return -1;
	}
	if (len == TLSA_FIXED) {
		*err_r = "TLSA record without association data";
		return -1;
	}
	dlen = len - TLSA_FIXED;
	if (dlen > DNS_TLSA_DATA_MAX) {
		*err_r = "TLSA association data longer than 2048 octets";
		return -1;
	}
	if (rdata[2] == 1 && dlen != SHA256_LEN) {
		*err_r = "TLSA SHA2-256 digest is not 32 octets";
		return -1;
	}
	if (rdata[2] == 2 && dlen != SHA512_LEN) {
		*err_r = "TLSA SHA2-512 digest is not 64 octets";
		return -1;
	}
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->len = dlen;
	out->data = rdata + TLSA_FIXED;
	return 0;
}

bool
dns_tlsa_usable(const struct dns_tlsa *t)
{
	if (t->usage != 2 && t->usage != 3)
		return false;
	if (t->selector > 1)
		return false;
	return t->mtype <= 2;
}

/* splitmix64: small, seedable, good enough to spread load over hosts. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t z;

	z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
shuffle(struct dns_mx *mx, size_t n, uint64_t *rng)
{
	struct dns_mx tmp;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = (size_t)(next_random(rng) % i);
		if (j == i - 1)
			continue;
		tmp = mx[i - 1];
		mx[i - 1] = mx[j];
		mx[j] = tmp;
	}
}

void
dns_mx_order(struct dns_mx *mx, size_t n, uint64_t *rng)
{
	struct dns_mx tmp;
	size_t i, j, run;

	/* Insertion sort: stable, and n is at most DNS_RR_MAX. */
	for (i = 1; i < n; i++) {
		tmp = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > tmp.pref; j--)
			mx[j] = mx[j - 1];
		if (j != i)
			mx[j] = tmp;
	}
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && mx[i + run].pref == mx[i].pref;
		    run++)
			;
		shuffle(mx + i, run, rng);
	}
}
