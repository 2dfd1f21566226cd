/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_dane.c -- DANE for the client role (RFC 7672, docs/ipc.md
 * "smtp client -> tlsproxy", verify=dane): the TLSA records of a request,
 * parsed and bounded, and the check of a server's certificate chain
 * against them with GnuTLS's certificate, public key and hash API.
 *
 * Process:  tlsproxy (mail_owner).
 * Input:    the smtp client's request (less trusted: every record is
 *           checked before use); the server's certificate chain
 *           (untrusted, from the network).
 * Failure:  parsers return -1 with a static reason and never log; the
 *           check returns -1 with a one-line reason for the handshake
 *           failure ("DANE: no TLSA record matches ...").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "hostname.h"
#include "tlsproxy.h"

#define SHA256_LEN	32
#define SHA512_LEN	64

/* ---- parsing ------------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The data length a matching type demands: exact, or 0 for "1..max". */
static size_t
mtype_len(uint8_t mtype)
{
	return mtype == 1 ? SHA256_LEN : mtype == 2 ? SHA512_LEN : 0;
}

int
tlsproxy_dane_parse_record(const char *s, struct tlsproxy_dane *d,
    const char **err_r)
{
	size_t hexlen, len, i, want;
	uint8_t *out;
	int hi, lo;

	if (strlen(s) < 8 || s[1] != ' ' || s[3] != ' ' || s[5] != ' ') {
		*err_r = "TLSA record not \"usage selector mtype hexdata\"";
		return -1;
	}
	if ((s[0] != '2' && s[0] != '3') || (s[2] != '0' && s[2] != '1') ||
	    (s[4] < '0' || s[4] > '2')) {
		*err_r = "TLSA record not usable for SMTP (RFC 7672 3.1)";
		return -1;
	}
	if (d->ntlsa == TLSPROXY_TLSA_MAX) {
		*err_r = "too many TLSA records";
		return -1;
	}
	hexlen = strlen(s + 6);
	len = hexlen / 2;
	want = mtype_len((uint8_t)(s[4] - '0'));
	if (hexlen % 2 != 0 || len == 0 || len > TLSPROXY_TLSA_DATA_MAX ||
	    (want != 0 && len != want)) {
		*err_r = "TLSA data of the wrong length for its matching type";
		return -1;
	}
	if (len > sizeof(d->pool) - d->pool_len) {
		*err_r = "too much TLSA data";
		return -1;
	}
	out = d->pool + d->pool_len;
	for (i = 0; i < len; i++) {
		hi = hexval(s[6 + 2 * i]);
		lo = hexval(s[6 + 2 * i + 1]);
		if (hi < 0 || lo < 0) {
			*err_r = "TLSA data not hexadecimal";
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	d->tlsa[d->ntlsa].usage = (uint8_t)(s[0] - '0');
	d->tlsa[d->ntlsa].selector = (uint8_t)(s[2] - '0');
	d->tlsa[d->ntlsa].mtype = (uint8_t)(s[4] - '0');
	d->tlsa[d->ntlsa].off = d->pool_len;
	d->tlsa[d->ntlsa].len = len;
	d->ntlsa++;
	d->pool_len += len;
	return 0;
}

int
tlsproxy_dane_parse_names(const char *s, struct tlsproxy_dane *d,
    const char **err_r)
{
	const char *end;
	size_t n;

	d->nnames = 0;
	for (;;) {
		end = strchr(s, ':');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		if (!hostname_ok(s, n, HOSTNAME_UNDERSCORE)) {
			*err_r = "bad name in dane_names";
			return -1;
		}
		if (d->nnames == TLSPROXY_DANE_NAMES_MAX) {
			*err_r = "too many dane_names";
			return -1;
		}
		memcpy(d->names[d->nnames], s, n);
		d->names[d->nnames][n] = '\0';
		d->nnames++;
		if (end == NULL)
			return 0;
		s = end + 1;
	}
}

int
tlsproxy_dane_parse(const struct attr_msg *m, struct tlsproxy_dane *d,
    size_t *nattrs_r, const char **err_r)
{
	char buf[6 + 2 * TLSPROXY_TLSA_DATA_MAX + 1], name[32];
	char names[TLSPROXY_DANE_NAMES_MAX * 256];
	size_t n, i;

	memset(d, 0, sizeof(*d));
	if (attr_get_str(m, "tlsa_count", buf, sizeof(buf)) == -1 ||
	    tlsproxy_number_parse(buf, TLSPROXY_TLSA_MAX, &n) == -1) {
		*err_r = "bad tlsa_count";
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "tlsa_%zu", i);
		if (attr_get_str(m, name, buf, sizeof(buf)) == -1) {
			*err_r = "a tlsa_N is missing, too long or no string";
			return -1;
		}
		if (tlsproxy_dane_parse_record(buf, d, err_r) == -1)
			return -1;
	}
	if (attr_get_str(m, "dane_names", names, sizeof(names)) == -1) {
		*err_r = "bad dane_names";
		return -1;
	}
	if (tlsproxy_dane_parse_names(names, d, err_r) == -1)
		return -1;
	*nattrs_r = n + 2;
	return 0;
}

void
tlsproxy_dane_digest(const struct tlsproxy_dane *d, char *hex, size_t sz)
{
	static const char digits[] = "0123456789abcdef";
	gnutls_hash_hd_t h;
	uint8_t md[SHA256_LEN], head[5];
	size_t i;

	hex[0] = '\0';
	if (sz < 2 * SHA256_LEN + 1 ||
	    gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return;
	for (i = 0; i < d->ntlsa; i++) {
		head[0] = d->tlsa[i].usage;
		head[1] = d->tlsa[i].selector;
		head[2] = d->tlsa[i].mtype;
		head[3] = (uint8_t)(d->tlsa[i].len >> 8);
		head[4] = (uint8_t)d->tlsa[i].len;
		(void)gnutls_hash(h, head, sizeof(head));
		(void)gnutls_hash(h, d->pool + d->tlsa[i].off, d->tlsa[i].len);
	}
	/* Each name with its NUL: "a:bc" and "ab:c" differ. */
	for (i = 0; i < d->nnames; i++)
		(void)gnutls_hash(h, d->names[i], strlen(d->names[i]) + 1);
	gnutls_hash_deinit(h, md);
	for (i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * SHA256_LEN] = '\0';
}

/* ---- verification -------------------------------------------------------- */

/* The server's chain, parsed once, with each SubjectPublicKeyInfo. */
struct chain {
	size_t		 n;
	gnutls_x509_crt_t crt[TLSPROXY_CHAIN_MAX];
	gnutls_datum_t	 der[TLSPROXY_CHAIN_MAX];	/* the peer's, not ours */
	gnutls_datum_t	 spki[TLSPROXY_CHAIN_MAX];	/* size 0: none */
};

static void
chain_free(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		gnutls_x509_crt_deinit(c->crt[i]);
		gnutls_free(c->spki[i].data);
	}
	c->n = 0;
}

static void
spki_export(gnutls_x509_crt_t crt, gnutls_datum_t *out)
{
	gnutls_pubkey_t pk;

	out->data = NULL;
	out->size = 0;
	if (gnutls_pubkey_init(&pk) < 0)
		return;
	if (gnutls_pubkey_import_x509(pk, crt, 0) < 0 ||
	    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, out) < 0) {
		out->data = NULL;
		out->size = 0;
	}
	gnutls_pubkey_deinit(pk);
}

static int
chain_import(const gnutls_datum_t *der, size_t n, struct chain *c,
    char *err, size_t errsz)
{
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	if (n == 0) {
		snprintf(err, errsz, "DANE: the server sent no certificate");
		return -1;
	}
	if (n > TLSPROXY_CHAIN_MAX)
		n = TLSPROXY_CHAIN_MAX;		/* a TA deeper is not found */
	for (i = 0; i < n; i++) {
		if ((r = gnutls_x509_crt_init(&c->crt[i])) == 0 &&
		    (r = gnutls_x509_crt_import(c->crt[i], &der[i],
		    GNUTLS_X509_FMT_DER)) < 0)
			gnutls_x509_crt_deinit(c->crt[i]);
		if (r < 0) {
			chain_free(c);
			snprintf(err, errsz, "DANE: certificate %zu of the "
			    "server's chain does not parse: %s", i,
			    gnutls_strerror(r));
			return -1;
		}
		c->n = i + 1;
		c->der[i] = der[i];
		spki_export(c->crt[i], &c->spki[i]);
	}
	return 0;
}

static bool
tlsa_matches(const struct tlsproxy_dane *d, const struct tlsproxy_tlsa *t,
    const struct chain *c, size_t i)
{
	const gnutls_datum_t *in = t->selector == 0 ? &c->der[i] : &c->spki[i];
	const uint8_t *want = d->pool + t->off;
	uint8_t md[SHA512_LEN];

	if (in->size == 0)
		return false;
	switch (t->mtype) {
	case 0:
		return in->size == t->len && memcmp(in->data, want, t->len) == 0;
	case 1:
		return t->len == SHA256_LEN && gnutls_hash_fast(GNUTLS_DIG_SHA256,
		    in->data, in->size, md) == 0 &&
		    memcmp(md, want, SHA256_LEN) == 0;
	case 2:
		return t->len == SHA512_LEN && gnutls_hash_fast(GNUTLS_DIG_SHA512,
		    in->data, in->size, md) == 0 &&
		    memcmp(md, want, SHA512_LEN) == 0;
	default:
		return false;
	}
}

static void
status_text(unsigned status, char *why, size_t whysz)
{
	gnutls_datum_t out = { NULL, 0 };
	size_t len;

	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0) {
		snprintf(why, whysz, "status 0x%x", status);
		return;
	}
	snprintf(why, whysz, "%.*s", (int)out.size, (const char *)out.data);
	gnutls_free(out.data);
	len = strlen(why);
	while (len > 0 && why[len - 1] == ' ')
		why[--len] = '\0';
}

/* The leaf itself is the trust anchor: only its dates are left to check. */
static int
leaf_dates_ok(gnutls_x509_crt_t crt, char *why, size_t whysz)
{
	time_t now = time(NULL);

	if (gnutls_x509_crt_get_activation_time(crt) > now) {
		snprintf(why, whysz, "it is not yet valid");
		return -1;
	}
	if (gnutls_x509_crt_get_expiration_time(crt) < now) {
		snprintf(why, whysz, "it has expired");
		return -1;
	}
	return 0;
}

/* Does the chain from the leaf verify up to certificate depth, as TA? */
static int
ta_chain_ok(const struct chain *c, size_t depth, char *why, size_t whysz)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t ta;
	unsigned status = 0;
	int r;

	if (depth == 0)
		return leaf_dates_ok(c->crt[0], why, whysz);
	if ((r = gnutls_x509_trust_list_init(&tl, 0)) < 0) {
		snprintf(why, whysz, "%s", gnutls_strerror(r));
		return -1;
	}
	if ((r = gnutls_x509_crt_init(&ta)) < 0) {
		gnutls_x509_trust_list_deinit(tl, 1);
		snprintf(why, whysz, "%s", gnutls_strerror(r));
		return -1;
	}
	/* The list owns ta from here, also when adding fails. */
	if ((r = gnutls_x509_crt_import(ta, &c->der[depth],
	    GNUTLS_X509_FMT_DER)) < 0 ||
	    (r = gnutls_x509_trust_list_add_cas(tl, &ta, 1, 0)) != 1) {
		if (r == 0 || r < 0)
			gnutls_x509_crt_deinit(ta);
		gnutls_x509_trust_list_deinit(tl, 1);
		snprintf(why, whysz, "the trust anchor does not load: %s",
		    r < 0 ? gnutls_strerror(r) : "refused");
		return -1;
	}
	r = gnutls_x509_trust_list_verify_crt2(tl, (gnutls_x509_crt_t *)c->crt,
	    (unsigned)depth, NULL, 0, 0, &status, NULL);
	gnutls_x509_trust_list_deinit(tl, 1);
	if (r < 0) {
		snprintf(why, whysz, "the chain does not verify: %s",
		    gnutls_strerror(r));
		return -1;
	}
	if (status != 0) {
		char text[TLS_ERR_MAX];

		status_text(status, text, sizeof(text));
		snprintf(why, whysz, "the chain does not verify up to it: %s",
		    text);
		return -1;
	}
	return 0;
}

static int
names_ok(const struct tlsproxy_dane *d, gnutls_x509_crt_t leaf, char *why,
    size_t whysz)
{
	size_t i, len;

	for (i = 0; i < d->nnames; i++)
		if (gnutls_x509_crt_check_hostname2(leaf, d->names[i], 0) != 0)
			return 0;
	snprintf(why, whysz, "the server certificate covers none of ");
	for (i = 0; i < d->nnames; i++) {
		len = strlen(why);
		snprintf(why + len, whysz - len, "%s%s", i > 0 ? ", " : "",
		    d->names[i]);
	}
	return -1;
}

/* One DANE-TA record: is some certificate of the chain the anchor? */
static int
ta_verify(const struct tlsproxy_dane *d, const struct tlsproxy_tlsa *t,
    const struct chain *c, char *why, size_t whysz)
{
	char w[TLS_ERR_MAX];
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (!tlsa_matches(d, t, c, i))
			continue;
		if (ta_chain_ok(c, i, w, sizeof(w)) == 0 &&
		    names_ok(d, c->crt[0], w, sizeof(w)) == 0)
			return 0;
		if (why[0] == '\0')
			snprintf(why, whysz, "TLSA %u %u %u matches "
			    "certificate %zu of the chain, but %s", t->usage,
			    t->selector, t->mtype, i, w);
	}
	return -1;
}

int
tlsproxy_dane_verify(const struct tlsproxy_dane *d,
    const gnutls_datum_t *chain, size_t n, char *match, size_t matchsz,
    char *err, size_t errsz)
{
	const struct tlsproxy_tlsa *t;
	struct chain c;
	char why[TLS_ERR_MAX];
	size_t i;
	int ok;

	match[0] = err[0] = why[0] = '\0';
	if (chain_import(chain, n, &c, err, errsz) == -1)
		return -1;
	for (i = 0; i < d->ntlsa; i++) {
		t = &d->tlsa[i];
		if (t->usage == 3)
			ok = tlsa_matches(d, t, &c, 0) ? 0 : -1;
		else
			ok = ta_verify(d, t, &c, why, sizeof(why));
		if (ok == 0) {
			snprintf(match, matchsz, "%u %u %u", t->usage,
			    t->selector, t->mtype);
			chain_free(&c);
			return 0;
		}
	}
	if (why[0] != '\0')
		snprintf(err, errsz, "DANE: no TLSA record matches the "
		    "server's certificate chain: %s", why);
	else
		snprintf(err, errsz, "DANE: no TLSA record matches the "
		    "server's certificate chain (%zu certificates, %zu "
		    "records)", c.n, d->ntlsa);
	chain_free(&c);
	return -1;
}
