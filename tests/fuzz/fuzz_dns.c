/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_dns.c -- libFuzzer harness for lib/dns_rdata.c: the parsers of
 * DNS record data that come from answers (wire names, MX, TLSA), host
 * name syntax and the MX order.  Needs no libunbound.
 *
 * Input:    one mode byte, then data.  Mode % 5: 0 a wire name (into a
 *           buffer as small as the mode byte says, to catch overruns),
 *           1 MX record data, 2 TLSA record data, 3 a list of 16-bit
 *           preferences to order, 4 a text name for dns_host_ok and,
 *           raw, for hostname_ok (lib/hostname.h) under every flag.
 * Checks:   no crash, no read or write out of bounds; a name's text is
 *           printable, fits, and reads back to the same octets; an MX
 *           target is "" or a valid host name; TLSA lengths agree with
 *           the input and the digest sizes; the MX order is a sorted
 *           permutation; a valid host name has only its allowed bytes,
 *           no empty label, no "-" at a label's ends, "_" and a final
 *           dot only with their flags; more flags never refuse more.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "hostname.h"
#include "fuzz.h"

#define ORDER_MAX	64

static int
digit(char c)
{
	if (c < '0' || c > '9')
		abort();
	return c - '0';
}

/* Turn the text back into wire octets; abort on anything malformed. */
static size_t
text_to_wire(const char *t, uint8_t *w, size_t cap)
{
	size_t pos = 0, lenpos;
	uint8_t n;

	if (strcmp(t, ".") == 0) {
		w[0] = 0;
		return 1;
	}
	for (;;) {
		lenpos = pos++;
		n = 0;
		while (*t != '\0' && *t != '.') {
			if (pos >= cap)
				abort();
			if (*t == '\\') {
				w[pos++] = (uint8_t)(digit(t[1]) * 100 +
				    digit(t[2]) * 10 + digit(t[3]));
				t += 4;
			} else
				w[pos++] = (uint8_t)*t++;
			n++;
		}
		if (n == 0 || n > DNS_LABEL_MAX)
			abort();
		w[lenpos] = n;
		if (*t == '\0')
			break;
		t++;
	}
	w[pos++] = 0;
	return pos;
}

static void
name(const uint8_t *data, size_t size, size_t outsz)
{
	uint8_t back[2 * DNS_TEXT_MAX];
	const char *err = NULL;
	char *out;
	size_t used, i, len;

	if ((out = malloc(outsz)) == NULL)
		abort();
	used = dns_name_to_text(data, size, out, outsz, &err);
	if (used == 0) {
		if (err == NULL || err[0] == '\0')
			abort();
		free(out);
		return;
	}
	len = strlen(out);
	if (used > size || used > DNS_WIRE_MAX || len >= outsz)
		abort();
	for (i = 0; i < len; i++)
		if (out[i] <= 0x20 || out[i] >= 0x7f)
			abort();
	if (text_to_wire(out, back, sizeof(back)) != used ||
	    memcmp(back, data, used) != 0)
		abort();
	free(out);
}

static void
mx(const uint8_t *data, size_t size)
{
	struct dns_mx m;
	const char *err = NULL;

	if (dns_parse_mx_rdata(data, size, &m, &err) == -1) {
		if (err == NULL || err[0] == '\0')
			abort();
		return;
	}
	if (size < 3 || m.pref != (unsigned)(data[0] << 8 | data[1]))
		abort();
	if (m.host[0] != '\0' && !dns_host_ok(m.host))
		abort();
	if (m.host[0] == '\0' && size != 3)
		abort();
}

static void
tlsa(const uint8_t *data, size_t size)
{
	struct dns_tlsa t;
	const char *err = NULL;

	if (dns_parse_tlsa_rdata(data, size, &t, &err) == -1) {
		if (err == NULL || err[0] == '\0')
			abort();
		return;
	}
	if (t.len + 3 != size || t.data != data + 3 || t.len == 0 ||
	    t.len > DNS_TLSA_DATA_MAX)
		abort();
	if ((t.mtype == 1 && t.len != 32) || (t.mtype == 2 && t.len != 64))
		abort();
	if (t.usage != data[0] || t.selector != data[1] || t.mtype != data[2])
		abort();
	(void)dns_tlsa_usable(&t);
}

static void
order(const uint8_t *data, size_t size)
{
	struct dns_mx m[ORDER_MAX];
	bool seen[ORDER_MAX];
	uint64_t rng = size;
	size_t n, i, k;

	n = size / 2 > ORDER_MAX ? ORDER_MAX : size / 2;
	for (i = 0; i < n; i++) {
		m[i].pref = (unsigned)(data[2 * i] << 8 | data[2 * i + 1]);
		snprintf(m[i].host, sizeof(m[i].host), "%zu", i);
		seen[i] = false;
	}
	dns_mx_order(m, n, &rng);
	for (i = 0; i < n; i++) {
		k = strtoul(m[i].host, NULL, 10);
		if (k >= n || seen[k] ||
		    m[i].pref != (unsigned)(data[2 * k] << 8 | data[2 * k + 1]))
			abort();
		seen[k] = true;
		if (i > 0 && m[i - 1].pref > m[i].pref)
			abort();
	}
}

/* What an accepted name must look like under flags (lib/hostname.h). */
static void
host_shape(const char *s, size_t n, unsigned flags)
{
	size_t i;

	if (n > 1 && s[n - 1] == '.') {
		if (!(flags & HOSTNAME_FINAL_DOT))
			abort();
		n--;
	}
	if (n == 0 || n > HOSTNAME_MAX || s[0] == '.' || s[n - 1] == '.' ||
	    s[0] == '-' || s[n - 1] == '-')
		abort();
	for (i = 0; i < n; i++) {
		if (s[i] == '_' && !(flags & HOSTNAME_UNDERSCORE))
			abort();
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			abort();
		if (s[i] == '.' && (s[i + 1] == '.' || s[i - 1] == '-' ||
		    s[i + 1] == '-'))
			abort();
	}
}

static void
host(const uint8_t *data, size_t size)
{
	static const unsigned flags[] = { 0, HOSTNAME_UNDERSCORE,
	    HOSTNAME_FINAL_DOT, HOSTNAME_UNDERSCORE | HOSTNAME_FINAL_DOT };
	char buf[DNS_TEXT_MAX];
	size_t len = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1, i;
	bool ok[4];

	/* The raw bytes, NULs included, under every flag. */
	for (i = 0; i < 4; i++) {
		ok[i] = hostname_ok((const char *)data, size, flags[i]);
		if (ok[i])
			host_shape((const char *)data, size, flags[i]);
	}
	/* More latitude never refuses what less accepted. */
	if ((ok[0] && !(ok[1] && ok[2] && ok[3])) || (ok[1] && !ok[3]) ||
	    (ok[2] && !ok[3]))
		abort();
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (!dns_host_ok(buf))
		return;
	len = strlen(buf);
	if (len == 0 || len > DNS_NAME_MAX || buf[len - 1] == '.')
		abort();
	/* dns_host_ok takes "_" (lib/dns.h). */
	host_shape(buf, len, HOSTNAME_UNDERSCORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		/* Mode bytes 0..250 step 5: buffers of 1..DNS_TEXT_MAX. */
		name(data + 1, size - 1, data[0] >= 250 ? DNS_TEXT_MAX :
		    (size_t)data[0] / 5 * 20 + 1);
		break;
	case 1:
		mx(data + 1, size - 1);
		break;
	case 2:
		tlsa(data + 1, size - 1);
		break;
	case 3:
		order(data + 1, size - 1);
		break;
	default:
		host(data + 1, size - 1);
		break;
	}
	return 0;
}
