/*
 * SPDX-License-Identifier: ISC
 *
 * tls.c -- the GnuTLS glue (mail layer): check and load the SMTP
 * server's certificate/key pairs, describe a finished handshake.
 *
 * Process:  master and ternctl (tls_server_check), tlsproxy
 *           (tls_server_creds in pre_jail, tls_session_describe).
 * Input:    PEM files named by tern.conf, read here with a size cap so
 *           that a wrong path (a log, a device) cannot eat memory; the
 *           peer's handshake data through GnuTLS (SNI is filtered).
 * Failure:  -1 with one line "<file>: <reason>" in err; key bytes are
 *           wiped before they are freed.  Only tls_init() may exit.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "conf.h"
#include "log.h"
#include "tls.h"
#include "xmem.h"

#define TLS_FILE_MAX	(1024 * 1024)	/* bytes in a PEM file: 1 MiB */
#define KEYID_MAX	64		/* SHA-256 key id, with room */
#define SNI_MAX		256		/* RFC 1035 name, plus NUL */

/* One certificate chain and its private key, as read from disk. */
struct pair {
	const char		*certfile, *keyfile;
	gnutls_datum_t		 certpem, keypem;
	gnutls_x509_crt_t	*crts;
	unsigned int		 ncrts;
	gnutls_privkey_t	 key;
};

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* Copy src into dst, or leave dst empty when it does not fit. */
static void
copy_or_empty(char *dst, size_t dstsz, const char *src)
{
	if (dstsz == 0)
		return;
	if (strlcpy(dst, src, dstsz) >= dstsz)
		dst[0] = '\0';
}

void
tls_init(void)
{
	static bool done;
	int r;

	if (done)
		return;
	if (gnutls_check_version("3.7.0") == NULL)
		fatalx("GnuTLS %s is too old (3.7.0 needed)",
		    gnutls_check_version(NULL));
	if ((r = gnutls_global_init()) < 0)
		fatalx("gnutls_global_init: %s", gnutls_strerror(r));
	done = true;
}

static void
datum_wipe(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		explicit_bzero(d->data, d->size);
		free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/*
 * Read a whole regular file of at most TLS_FILE_MAX bytes, NUL-terminated
 * (not counted in size).  O_NONBLOCK so that a FIFO named by mistake does
 * not hang the master; fstat then refuses it.
 */
static int
read_file(const char *path, gnutls_datum_t *out, char *err, size_t errsz)
{
	struct stat st;
	unsigned char *data;
	size_t len = 0;
	ssize_t n;
	int fd;

	out->data = NULL;
	out->size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		seterr(err, errsz, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errsz, "%s: cannot stat: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errsz, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > TLS_FILE_MAX) {
		seterr(err, errsz, "%s: file too large (over 1 MiB)", path);
		close(fd);
		return -1;
	}
	/* One byte more than allowed, to notice a file that grew. */
	data = xmalloc(TLS_FILE_MAX + 2);
	for (;;) {
		n = read(fd, data + len, TLS_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > TLS_FILE_MAX)
			break;
	}
	if (n == -1) {
		seterr(err, errsz, "%s: cannot read: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (len > TLS_FILE_MAX) {
		seterr(err, errsz, "%s: file too large (over 1 MiB)", path);
		goto fail;
	}
	if (len == 0) {
		seterr(err, errsz, "%s: empty file", path);
		goto fail;
	}
	close(fd);
	data[len] = '\0';
	out->data = data;
	out->size = (unsigned int)len;
	return 0;
fail:
	explicit_bzero(data, len);
	free(data);
	close(fd);
	return -1;
}

/* Does the file contain marker?  (It may hold NUL bytes: memmem.) */
static bool
has_pem(const gnutls_datum_t *d, const char *marker)
{
	return memmem(d->data, d->size, marker, strlen(marker)) != NULL;
}

static void
pair_free_crts(struct pair *p)
{
	unsigned int i;

	for (i = 0; i < p->ncrts; i++)
		gnutls_x509_crt_deinit(p->crts[i]);
	gnutls_free(p->crts);
	p->crts = NULL;
	p->ncrts = 0;
}

static void
pair_clear(struct pair *p)
{
	pair_free_crts(p);
	if (p->key != NULL)
		gnutls_privkey_deinit(p->key);
	p->key = NULL;
	datum_wipe(&p->certpem);
	datum_wipe(&p->keypem);
}

static int
pair_parse_certs(struct pair *p, char *err, size_t errsz)
{
	int r;

	if (!has_pem(&p->certpem, "-----BEGIN CERTIFICATE-----") &&
	    !has_pem(&p->certpem, "-----BEGIN X509 CERTIFICATE-----")) {
		seterr(err, errsz, "%s: no PEM certificate found", p->certfile);
		return -1;
	}
	r = gnutls_x509_crt_list_import2(&p->crts, &p->ncrts, &p->certpem,
	    GNUTLS_X509_FMT_PEM, 0);
	if (r < 0 || p->ncrts == 0) {
		if (r >= 0)
			pair_free_crts(p);
		p->crts = NULL;
		p->ncrts = 0;
		seterr(err, errsz, "%s: bad PEM certificate: %s", p->certfile,
		    r < 0 ? gnutls_strerror(r) : "none decoded");
		return -1;
	}
	return 0;
}

static int
pair_parse_key(struct pair *p, char *err, size_t errsz)
{
	int r;

	if ((r = gnutls_privkey_init(&p->key)) < 0) {
		p->key = NULL;
		seterr(err, errsz, "%s: %s", p->keyfile, gnutls_strerror(r));
		return -1;
	}
	r = gnutls_privkey_import_x509_raw(p->key, &p->keypem,
	    GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0 && !has_pem(&p->keypem, "PRIVATE KEY-----")) {
		seterr(err, errsz, "%s: no PEM private key found", p->keyfile);
		return -1;
	}
	if (r == GNUTLS_E_DECRYPTION_FAILED) {
		seterr(err, errsz, "%s: private key is encrypted (not "
		    "supported)", p->keyfile);
		return -1;
	}
	if (r < 0) {
		seterr(err, errsz, "%s: bad private key: %s", p->keyfile,
		    gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/* Does the private key belong to crt?  Compares SHA-256 key ids. */
static int
key_matches(gnutls_privkey_t key, gnutls_x509_crt_t crt)
{
	gnutls_pubkey_t pub;
	unsigned char kid[KEYID_MAX], cid[KEYID_MAX];
	size_t klen = sizeof(kid), clen = sizeof(cid);
	int r;

	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	r = gnutls_pubkey_import_privkey(pub, key, 0, 0);
	if (r >= 0)
		r = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256,
		    kid, &klen);
	gnutls_pubkey_deinit(pub);
	if (r < 0)
		return -1;
	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, cid,
	    &clen) < 0)
		return -1;
	return klen == clen && memcmp(kid, cid, klen) == 0;
}

static int
pair_check_match(struct pair *p, char *err, size_t errsz)
{
	unsigned int i;

	if (key_matches(p->key, p->crts[0]) == 1)
		return 0;
	/* A chain in the wrong order gives a more useful message. */
	for (i = 1; i < p->ncrts; i++) {
		if (key_matches(p->key, p->crts[i]) == 1) {
			seterr(err, errsz, "%s: the certificate of the key in "
			    "%s is #%u in the chain; it must come first",
			    p->certfile, p->keyfile, i + 1);
			return -1;
		}
	}
	seterr(err, errsz, "%s: key does not match the certificate in %s",
	    p->keyfile, p->certfile);
	return -1;
}

static void
fmt_time(char *buf, size_t sz, time_t t)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)strlcpy(buf, "(unknown date)", sz);
}

static int
pair_check_time(struct pair *p, time_t now, char *err, size_t errsz)
{
	char when[64], which[48];
	time_t t;
	unsigned int i;

	for (i = 0; i < p->ncrts; i++) {
		if (i == 0)
			(void)strlcpy(which, "certificate", sizeof(which));
		else
			(void)snprintf(which, sizeof(which),
			    "certificate #%u in the chain", i + 1);
		t = gnutls_x509_crt_get_activation_time(p->crts[i]);
		if (t == (time_t)-1 || t > now) {
			fmt_time(when, sizeof(when), t);
			seterr(err, errsz, "%s: %s not valid before %s",
			    p->certfile, which, when);
			return -1;
		}
		t = gnutls_x509_crt_get_expiration_time(p->crts[i]);
		if (t == (time_t)-1 || t < now) {
			fmt_time(when, sizeof(when), t);
			seterr(err, errsz, "%s: %s expired on %s", p->certfile,
			    which, when);
			return -1;
		}
	}
	return 0;
}

static int
pair_check_host(struct pair *p, const char *hostname, char *err,
    size_t errsz)
{
	/* Default flags: RFC 6125, wildcard only as the left-most label. */
	if (gnutls_x509_crt_check_hostname2(p->crts[0], hostname, 0) != 0)
		return 0;
	seterr(err, errsz, "%s: certificate does not cover %s", p->certfile,
	    hostname);
	return -1;
}

/*
 * Read and parse a pair and check that the key matches the leaf; when
 * check is set, also validity at now and, unless hostname is NULL, that
 * the leaf covers hostname.
 */
static int
pair_load(struct pair *p, const char *certfile, const char *keyfile,
    bool check, const char *hostname, time_t now, char *err, size_t errsz)
{
	memset(p, 0, sizeof(*p));
	p->certfile = certfile;
	p->keyfile = keyfile;
	if (read_file(certfile, &p->certpem, err, errsz) == -1 ||
	    pair_parse_certs(p, err, errsz) == -1 ||
	    read_file(keyfile, &p->keypem, err, errsz) == -1 ||
	    pair_parse_key(p, err, errsz) == -1 ||
	    pair_check_match(p, err, errsz) == -1)
		goto fail;
	if (check && pair_check_time(p, now, err, errsz) == -1)
		goto fail;
	if (check && hostname != NULL &&
	    pair_check_host(p, hostname, err, errsz) == -1)
		goto fail;
	return 0;
fail:
	pair_clear(p);
	return -1;
}

/* Hand the PEM bytes we read (and checked) to GnuTLS. */
static int
pair_add(struct pair *p, gnutls_certificate_credentials_t creds, char *err,
    size_t errsz)
{
	int r;

	r = gnutls_certificate_set_x509_key_mem2(creds, &p->certpem,
	    &p->keypem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		seterr(err, errsz, "%s: GnuTLS cannot use it with %s: %s",
		    p->certfile, p->keyfile, gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static int
creds_new(gnutls_certificate_credentials_t *creds_r, char *err,
    size_t errsz)
{
	int r;

	if ((r = gnutls_certificate_allocate_credentials(creds_r)) < 0) {
		seterr(err, errsz, "gnutls_certificate_allocate_credentials: "
		    "%s", gnutls_strerror(r));
		return -1;
	}
	/*
	 * API_V2: set_x509_key returns the index of the pair.  The key and
	 * certificate match check stays on (no SKIP_KEY_CERT_MATCH).
	 */
	gnutls_certificate_set_flags(*creds_r, GNUTLS_CERTIFICATE_API_V2);
	/* For TLS 1.2 DHE clients that offer no RFC 7919 group. */
	(void)gnutls_certificate_set_known_dh_params(*creds_r,
	    GNUTLS_SEC_PARAM_MEDIUM);
	return 0;
}

int
tls_check_pair(const char *certfile, const char *keyfile,
    const char *hostname, time_t now, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t creds;
	struct pair p;
	int r;

	if (pair_load(&p, certfile, keyfile, true, hostname, now, err,
	    errsz) == -1)
		return -1;
	/* What GnuTLS itself refuses, tlsproxy could not load later. */
	if ((r = creds_new(&creds, err, errsz)) == 0) {
		r = pair_add(&p, creds, err, errsz);
		gnutls_certificate_free_credentials(creds);
	}
	pair_clear(&p);
	return r;
}

/* The two pairs: RSA and ECDSA, by their parameter names. */
static const struct {
	const char	*cert, *key;
} slots[] = {
	{ "smtpd_tls_cert_file", "smtpd_tls_key_file" },
	{ "smtpd_tls_eccert_file", "smtpd_tls_eckey_file" },
};
#define NSLOTS	(sizeof(slots) / sizeof(slots[0]))

/*
 * The files of slot i: 1 when set, 0 when unused, -1 when only the key
 * is set (its default follows the certificate, so that was written).
 */
static int
slot_files(const struct conf *conf, size_t i, const char **cert_r,
    const char **key_r, char *err, size_t errsz)
{
	*cert_r = conf_str(conf, slots[i].cert);
	*key_r = conf_str(conf, slots[i].key);
	if ((*cert_r)[0] == '\0' && (*key_r)[0] == '\0')
		return 0;
	if ((*cert_r)[0] == '\0') {
		seterr(err, errsz, "%s is set but %s is empty", slots[i].key,
		    slots[i].cert);
		return -1;
	}
	if ((*key_r)[0] == '\0')
		*key_r = *cert_r;
	return 1;
}

static int
check_priority(const char *prio, char *err, size_t errsz)
{
	gnutls_priority_t pc;
	const char *errpos = NULL;
	int r;

	if (prio[0] == '\0') {
		seterr(err, errsz, "smtpd_tls_priority is empty");
		return -1;
	}
	r = gnutls_priority_init(&pc, prio, &errpos);
	if (r == GNUTLS_E_NO_PRIORITIES_WERE_SET) {
		/* It parsed, but leaves no version or no cipher enabled. */
		seterr(err, errsz, "smtpd_tls_priority: \"%s\" leaves nothing "
		    "usable: %s", prio, gnutls_strerror(r));
		return -1;
	}
	if (r < 0) {
		if (errpos != NULL && errpos >= prio &&
		    errpos <= prio + strlen(prio))
			seterr(err, errsz, "smtpd_tls_priority: bad priority "
			    "string at position %zu (\"%s\"): %s",
			    (size_t)(errpos - prio), errpos,
			    gnutls_strerror(r));
		else
			seterr(err, errsz, "smtpd_tls_priority: bad priority "
			    "string: %s", gnutls_strerror(r));
		return -1;
	}
	gnutls_priority_deinit(pc);
	return 0;
}

int
tls_server_check(const struct conf *conf, time_t now, char *err,
    size_t errsz)
{
	const char *cert, *key, *host;
	size_t i;
	int n = 0, r;

	host = conf_str(conf, "myhostname");
	for (i = 0; i < NSLOTS; i++) {
		if ((r = slot_files(conf, i, &cert, &key, err, errsz)) == -1)
			return -1;
		if (r == 0)
			continue;
		if (tls_check_pair(cert, key, host, now, err, errsz) == -1)
			return -1;
		n++;
	}
	if (n == 0) {
		if (strcmp(tls_server_level(conf), "encrypt") == 0) {
			seterr(err, errsz, "smtpd_tls_security_level = encrypt "
			    "needs smtpd_tls_cert_file or "
			    "smtpd_tls_eccert_file");
			return -1;
		}
		return 1;
	}
	return check_priority(conf_str(conf, "smtpd_tls_priority"), err,
	    errsz);
}

int
tls_server_creds(const struct conf *conf,
    gnutls_certificate_credentials_t *creds_r, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t creds;
	const char *cert, *key;
	struct pair p;
	size_t i;
	int n = 0, r;

	*creds_r = NULL;
	if (creds_new(&creds, err, errsz) == -1)
		return -1;
	for (i = 0; i < NSLOTS; i++) {
		if ((r = slot_files(conf, i, &cert, &key, err, errsz)) == -1)
			goto fail;
		if (r == 0)
			continue;
		/* No time or host check: the master decided to offer TLS. */
		if (pair_load(&p, cert, key, false, NULL, 0, err, errsz) == -1)
			goto fail;
		r = pair_add(&p, creds, err, errsz);
		pair_clear(&p);
		if (r == -1)
			goto fail;
		n++;
	}
	if (n == 0) {
		seterr(err, errsz, "no server certificate configured "
		    "(smtpd_tls_cert_file, smtpd_tls_eccert_file)");
		goto fail;
	}
	*creds_r = creds;
	return 0;
fail:
	gnutls_certificate_free_credentials(creds);
	return -1;
}

int
tls_fingerprint(const gnutls_datum_t *der, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	size_t i;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (der == NULL || der->data == NULL || out == NULL ||
	    outsz < TLS_FP_LEN + 1)
		return -1;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, md) < 0)
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[TLS_FP_LEN] = '\0';
	return 0;
}

static const char *
proto_name(gnutls_protocol_t v)
{
	const char *name;

	switch (v) {
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	case GNUTLS_TLS1_1:
		return "TLSv1.1";
	case GNUTLS_TLS1_0:
		return "TLSv1";
	case GNUTLS_SSL3:
		return "SSLv3";
	default:
		name = gnutls_protocol_get_name(v);
		return name != NULL ? name : "unknown";
	}
}

static void
describe_cipher(gnutls_session_t s, char *out, size_t outsz)
{
	const char *name = NULL;

	if (gnutls_protocol_get_version(s) == GNUTLS_TLS1_3) {
#if GNUTLS_VERSION_NUMBER >= 0x030704
		name = gnutls_ciphersuite_get(s);
#else
		char buf[TLS_DESC_MAX];
		const char *c, *h;
		size_t i;

		c = gnutls_cipher_get_name(gnutls_cipher_get(s));
		h = gnutls_digest_get_name(gnutls_prf_hash_get(s));
		if (c != NULL && h != NULL && snprintf(buf, sizeof(buf),
		    "TLS_%s_%s", c, h) < (int)sizeof(buf)) {
			for (i = 0; buf[i] != '\0'; i++)
				if (buf[i] == '-')
					buf[i] = '_';
			copy_or_empty(out, outsz, buf);
			return;
		}
#endif
	} else
		name = gnutls_cipher_suite_get_name(gnutls_kx_get(s),
		    gnutls_cipher_get(s), gnutls_mac_get(s));
	copy_or_empty(out, outsz, name != NULL ? name : "unknown");
}

/* The SNI host name, when it is one and printable ASCII. */
static void
describe_sni(gnutls_session_t s, char *out, size_t outsz)
{
	char name[SNI_MAX];
	size_t len = sizeof(name) - 1, i;
	unsigned int type;

	copy_or_empty(out, outsz, "");
	memset(name, 0, sizeof(name));
	if (gnutls_server_name_get(s, name, &len, &type, 0) < 0 ||
	    type != GNUTLS_NAME_DNS || len == 0 || len >= sizeof(name))
		return;
	for (i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return;
	name[len] = '\0';
	copy_or_empty(out, outsz, name);
}

static void
describe_peer(gnutls_session_t s, char *out, size_t outsz)
{
	const gnutls_datum_t *certs;
	unsigned int n = 0;

	copy_or_empty(out, outsz, "");
	if (gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS) !=
	    GNUTLS_CRT_X509)
		return;
	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0)
		return;
	if (tls_fingerprint(&certs[0], out, outsz) == -1)
		copy_or_empty(out, outsz, "");
}

void
tls_session_describe(gnutls_session_t s, char *proto, size_t protosz,
    char *cipher, size_t ciphersz, char *sni, size_t snisz, char *fp,
    size_t fpsz)
{
	copy_or_empty(proto, protosz,
	    proto_name(gnutls_protocol_get_version(s)));
	describe_cipher(s, cipher, ciphersz);
	describe_sni(s, sni, snisz);
	describe_peer(s, fp, fpsz);
}
