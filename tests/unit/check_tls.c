/*
 * SPDX-License-Identifier: ISC
 *
 * check_tls.c -- unit tests for lib/tls.c.
 *
 * Process:  test runner only.
 * Input:    keys and certificates generated at start-up with the GnuTLS
 *           x509 API into a temporary directory (nothing committed);
 *           an in-memory handshake over a socketpair for the session
 *           description.
 * Failure:  a failed check fails the test.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "conf.h"
#include "tls.h"

#define DAY		(24 * 60 * 60)
#define HOST		"mail.example.org"
#define PRIO_13		"NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define PRIO_12		"NORMAL:-VERS-ALL:+VERS-TLS1.2"
#define FILES_MAX	64

static char dir[256];			/* the temporary directory */
static char files[FILES_MAX][320];	/* to remove at the end */
static size_t nfiles;
static time_t gen_now;			/* "now" when the material was made */
static char ec_fp[TLS_FP_LEN + 1];	/* SHA-256 of ec.crt's DER */

/* Material generation. */

static const char *
path(const char *name)
{
	static char buf[4][320];
	static size_t next;
	char *p;

	p = buf[next++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void
remember(const char *p)
{
	size_t i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], p) == 0)
			return;
	if (nfiles < FILES_MAX)
		snprintf(files[nfiles++], sizeof(files[0]), "%s", p);
}

static void
write_file(const char *name, const void *data, size_t len, bool append)
{
	const char *p = path(name);
	FILE *f;

	if ((f = fopen(p, append ? "a" : "w")) == NULL) {
		perror(p);
		exit(EXIT_FAILURE);
	}
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		perror(p);
		exit(EXIT_FAILURE);
	}
	if (fclose(f) != 0) {
		perror(p);
		exit(EXIT_FAILURE);
	}
	remember(p);
}

static void
gt(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", what, gnutls_strerror(r));
		exit(EXIT_FAILURE);
	}
}

static gnutls_x509_privkey_t
gen_key(gnutls_pk_algorithm_t alg)
{
	gnutls_x509_privkey_t key;
	unsigned int bits;

	bits = alg == GNUTLS_PK_RSA ? 2048 :
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
	gt(gnutls_x509_privkey_init(&key), "privkey_init");
	gt(gnutls_x509_privkey_generate(key, alg, bits, 0), "generate");
	return key;
}

static void
save_key(const char *name, gnutls_x509_privkey_t key, bool append)
{
	gnutls_datum_t out;

	gt(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &out),
	    "privkey_export2");
	write_file(name, out.data, out.size, append);
	gnutls_free(out.data);
}

static void
save_key_encrypted(const char *name, gnutls_x509_privkey_t key)
{
	gnutls_datum_t out;

	gt(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
	    "secret", GNUTLS_PKCS_PBES2_AES_256, &out), "export2_pkcs8");
	write_file(name, out.data, out.size, false);
	gnutls_free(out.data);
}

static void
save_crt(const char *name, gnutls_x509_crt_t crt, bool append)
{
	gnutls_datum_t out;

	gt(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out),
	    "crt_export2");
	write_file(name, out.data, out.size, append);
	gnutls_free(out.data);
}

/*
 * A certificate for key with common name cn (also the SAN dNSName unless
 * san is false), valid from from to until, signed by ca/cakey or by
 * itself when ca is NULL.
 */
static gnutls_x509_crt_t
gen_crt(gnutls_x509_privkey_t key, const char *cn, bool san, time_t from,
    time_t until, bool is_ca, gnutls_x509_crt_t ca,
    gnutls_x509_privkey_t cakey)
{
	static unsigned char serial = 1;
	gnutls_x509_crt_t crt;
	char dn[128];
	const char *errp;

	gt(gnutls_x509_crt_init(&crt), "crt_init");
	gt(gnutls_x509_crt_set_version(crt, 3), "set_version");
	serial++;
	gt(gnutls_x509_crt_set_serial(crt, &serial, 1), "set_serial");
	gt(gnutls_x509_crt_set_activation_time(crt, from), "activation");
	gt(gnutls_x509_crt_set_expiration_time(crt, until), "expiration");
	snprintf(dn, sizeof(dn), "CN=%s", cn);
	gt(gnutls_x509_crt_set_dn(crt, dn, &errp), "set_dn");
	if (san)
		gt(gnutls_x509_crt_set_subject_alt_name(crt,
		    GNUTLS_SAN_DNSNAME, cn, strlen(cn), GNUTLS_FSAN_APPEND),
		    "set_san");
	gt(gnutls_x509_crt_set_basic_constraints(crt, is_ca, -1), "bc");
	gt(gnutls_x509_crt_set_key_usage(crt, is_ca ?
	    GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN :
	    GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT),
	    "key_usage");
	gt(gnutls_x509_crt_set_key(crt, key), "set_key");
	if (ca == NULL)
		gt(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0),
		    "self-sign");
	else
		gt(gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0),
		    "sign");
	return crt;
}

static void
pair(const char *crtname, const char *keyname, gnutls_x509_privkey_t key,
    const char *cn, bool san, time_t from, time_t until)
{
	gnutls_x509_crt_t crt;

	crt = gen_crt(key, cn, san, from, until, false, NULL, NULL);
	save_crt(crtname, crt, false);
	if (keyname != NULL)
		save_key(keyname, key, false);
	gnutls_x509_crt_deinit(crt);
}

static void
gen_fp(const char *crtname, char *out, size_t outsz)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem, der;
	char buf[8192];
	FILE *f;
	size_t n;

	if ((f = fopen(path(crtname), "r")) == NULL)
		exit(EXIT_FAILURE);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	pem.data = (unsigned char *)buf;
	pem.size = (unsigned int)n;
	gt(gnutls_x509_crt_init(&crt), "crt_init");
	gt(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM), "import");
	gt(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), "der");
	if (tls_fingerprint(&der, out, outsz) != 0)
		exit(EXIT_FAILURE);
	gnutls_free(der.data);
	gnutls_x509_crt_deinit(crt);
}

static void
gen_chains(time_t now)
{
	gnutls_x509_privkey_t cakey, leafkey;
	gnutls_x509_crt_t ca, oldca, leaf, leaf2;

	cakey = gen_key(GNUTLS_PK_ECDSA);
	leafkey = gen_key(GNUTLS_PK_ECDSA);
	ca = gen_crt(cakey, "Test CA", false, now - DAY, now + 10 * DAY,
	    true, NULL, NULL);
	leaf = gen_crt(leafkey, HOST, true, now - DAY, now + 5 * DAY, false,
	    ca, cakey);
	save_crt("chain.crt", leaf, false);
	save_crt("chain.crt", ca, true);
	save_key("chain.key", leafkey, false);
	save_crt("chain-rev.crt", ca, false);
	save_crt("chain-rev.crt", leaf, true);
	/* A chain whose CA certificate has expired. */
	oldca = gen_crt(cakey, "Old CA", false, now - 90 * DAY,
	    now - 2 * DAY, true, NULL, NULL);
	leaf2 = gen_crt(leafkey, HOST, true, now - DAY, now + 5 * DAY, false,
	    oldca, cakey);
	save_crt("chain-oldca.crt", leaf2, false);
	save_crt("chain-oldca.crt", oldca, true);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_crt_deinit(oldca);
	gnutls_x509_crt_deinit(leaf);
	gnutls_x509_crt_deinit(leaf2);
	gnutls_x509_privkey_deinit(cakey);
	gnutls_x509_privkey_deinit(leafkey);
}

static void
gen_junk(void)
{
	static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "AAAA!!!!not base64\n-----END CERTIFICATE-----\n";
	static const char bad_key[] = "-----BEGIN PRIVATE KEY-----\n"
	    "MIIBVQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
	char *big;
	size_t i;

	write_file("garbage.pem", "hello, world\n", 13, false);
	write_file("bad.pem", bad_pem, sizeof(bad_pem) - 1, false);
	write_file("badkey.pem", bad_key, sizeof(bad_key) - 1, false);
	write_file("empty.pem", "", 0, false);
	big = malloc(1024 * 1024 + 1);
	if (big == NULL)
		exit(EXIT_FAILURE);
	for (i = 0; i < 1024 * 1024 + 1; i++)
		big[i] = i % 64 == 63 ? '\n' : 'A';
	write_file("big.pem", big, 1024 * 1024 + 1, false);
	free(big);
	if (mkdir(path("adir"), 0700) == -1)
		exit(EXIT_FAILURE);
}

static void
gen_material(void)
{
	gnutls_x509_privkey_t rsa, ec, other;
	const char *tmp;
	time_t now;

	tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/check_tls.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(EXIT_FAILURE);
	}
	gen_now = now = time(NULL);
	rsa = gen_key(GNUTLS_PK_RSA);
	ec = gen_key(GNUTLS_PK_ECDSA);
	other = gen_key(GNUTLS_PK_ECDSA);
	pair("rsa.crt", "rsa.key", rsa, HOST, true, now - DAY, now + 365 * DAY);
	pair("ec.crt", "ec.key", ec, HOST, true, now - DAY, now + 365 * DAY);
	pair("wild.crt", NULL, ec, "*.example.org", true, now - DAY,
	    now + 365 * DAY);
	pair("cn-only.crt", NULL, ec, HOST, false, now - DAY, now + 365 * DAY);
	pair("expired.crt", NULL, ec, HOST, true, now - 60 * DAY,
	    now - 30 * DAY);
	pair("future.crt", NULL, ec, HOST, true, now + 30 * DAY,
	    now + 60 * DAY);
	save_key("other.key", other, false);
	save_key_encrypted("enc.key", ec);
	/* Certificate and key in one file (the key file's default). */
	pair("both.pem", NULL, rsa, HOST, true, now - DAY, now + 365 * DAY);
	save_key("both.pem", rsa, true);
	gen_chains(now);
	gen_junk();
	gen_fp("ec.crt", ec_fp, sizeof(ec_fp));
	gnutls_x509_privkey_deinit(rsa);
	gnutls_x509_privkey_deinit(ec);
	gnutls_x509_privkey_deinit(other);
}

static void
remove_material(void)
{
	size_t i;

	for (i = 0; i < nfiles; i++)
		(void)unlink(files[i]);
	(void)rmdir(path("adir"));
	(void)rmdir(dir);
}

/* tls_check_pair */

static char err[TLS_ERR_MAX];

static int
check(const char *crt, const char *key, const char *host)
{
	err[0] = '\0';
	return tls_check_pair(path(crt), path(key), host, time(NULL), err,
	    sizeof(err));
}

static const struct {
	const char	*crt, *key, *host;
} good_pairs[] = {
	{ "rsa.crt", "rsa.key", HOST },
	{ "ec.crt", "ec.key", HOST },
	{ "ec.crt", "ec.key", "MAIL.Example.ORG" },
	{ "wild.crt", "ec.key", HOST },
	{ "wild.crt", "ec.key", "mx.example.org" },
	{ "cn-only.crt", "ec.key", HOST },
	{ "both.pem", "both.pem", HOST },
	{ "chain.crt", "chain.key", HOST },
	{ "ec.crt", "ec.key", NULL },		/* no host name check */
};

START_TEST(test_check_good)
{
	ck_assert_msg(check(good_pairs[_i].crt, good_pairs[_i].key,
	    good_pairs[_i].host) == 0, "%s/%s: %s", good_pairs[_i].crt,
	    good_pairs[_i].key, err);
	ck_assert_str_eq(err, "");
}
END_TEST

/* Each error names the file ("<dir>/<file>: ...") and the reason. */
static const struct {
	const char	*crt, *key, *host;
	const char	*file;		/* named first in the message */
	const char	*reason;	/* a part of the message */
} bad_pairs[] = {
	{ "missing.crt", "rsa.key", HOST, "missing.crt",
	    "cannot open: No such file or directory" },
	{ "rsa.crt", "missing.key", HOST, "missing.key",
	    "cannot open: No such file or directory" },
	{ "empty.pem", "rsa.key", HOST, "empty.pem", "empty file" },
	{ "rsa.crt", "empty.pem", HOST, "empty.pem", "empty file" },
	{ "big.pem", "rsa.key", HOST, "big.pem", "file too large" },
	{ "rsa.crt", "big.pem", HOST, "big.pem", "file too large" },
	{ "adir", "rsa.key", HOST, "adir", "not a regular file" },
	{ "garbage.pem", "rsa.key", HOST, "garbage.pem",
	    "no PEM certificate found" },
	{ "rsa.key", "rsa.key", HOST, "rsa.key",
	    "no PEM certificate found" },
	{ "bad.pem", "rsa.key", HOST, "bad.pem", "bad PEM certificate" },
	{ "rsa.crt", "garbage.pem", HOST, "garbage.pem",
	    "no PEM private key found" },
	{ "rsa.crt", "rsa.crt", HOST, "rsa.crt",
	    "no PEM private key found" },
	{ "rsa.crt", "badkey.pem", HOST, "badkey.pem", "bad private key" },
	{ "ec.crt", "enc.key", HOST, "enc.key",
	    "private key is encrypted (not supported)" },
	{ "rsa.crt", "ec.key", HOST, "ec.key",
	    "key does not match the certificate in " },
	{ "ec.crt", "other.key", HOST, "other.key",
	    "key does not match the certificate in " },
	{ "chain-rev.crt", "chain.key", HOST, "chain-rev.crt",
	    "is #2 in the chain; it must come first" },
	{ "expired.crt", "ec.key", HOST, "expired.crt",
	    "certificate expired on " },
	{ "future.crt", "ec.key", HOST, "future.crt",
	    "certificate not valid before " },
	{ "chain-oldca.crt", "chain.key", HOST, "chain-oldca.crt",
	    "certificate #2 in the chain expired on " },
	{ "rsa.crt", "rsa.key", "mx.example.org", "rsa.crt",
	    "certificate does not cover mx.example.org" },
	{ "wild.crt", "ec.key", "example.org", "wild.crt",
	    "certificate does not cover example.org" },
	{ "wild.crt", "ec.key", "a.mail.example.org", "wild.crt",
	    "does not cover a.mail.example.org" },
	{ "cn-only.crt", "ec.key", "mx.example.org", "cn-only.crt",
	    "does not cover mx.example.org" },
};

START_TEST(test_check_bad)
{
	char want[512];

	ck_assert_int_eq(check(bad_pairs[_i].crt, bad_pairs[_i].key,
	    bad_pairs[_i].host), -1);
	snprintf(want, sizeof(want), "%s: ", path(bad_pairs[_i].file));
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "\"%s\" does not start with \"%s\"", err, want);
	ck_assert_msg(strstr(err, bad_pairs[_i].reason) != NULL,
	    "\"%s\" lacks \"%s\"", err, bad_pairs[_i].reason);
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

static void
date_of(time_t t, char *buf, size_t sz)
{
	struct tm tm;

	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_ne(strftime(buf, sz, "%Y-%m-%d %H:%M:%S UTC", &tm), 0);
}

START_TEST(test_check_dates)
{
	char want[128], when[64];

	ck_assert_int_eq(check("expired.crt", "ec.key", HOST), -1);
	date_of(gen_now - 30 * DAY, when, sizeof(when));
	snprintf(want, sizeof(want), "certificate expired on %s", when);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);

	ck_assert_int_eq(check("future.crt", "ec.key", HOST), -1);
	date_of(gen_now + 30 * DAY, when, sizeof(when));
	snprintf(want, sizeof(want), "certificate not valid before %s", when);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);

	/* At a time where they are valid, both pass. */
	ck_assert_int_eq(tls_check_pair(path("expired.crt"), path("ec.key"),
	    HOST, gen_now - 40 * DAY, err, sizeof(err)), 0);
	ck_assert_int_eq(tls_check_pair(path("future.crt"), path("ec.key"),
	    HOST, gen_now + 40 * DAY, err, sizeof(err)), 0);
	/* And a good one fails when the time is past its end. */
	ck_assert_int_eq(tls_check_pair(path("rsa.crt"), path("rsa.key"),
	    HOST, gen_now + 400 * DAY, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "certificate expired on "));
}
END_TEST

START_TEST(test_check_small_err)
{
	char small[8];

	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(tls_check_pair(path("missing.crt"), path("rsa.key"),
	    HOST, time(NULL), small, sizeof(small)), -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	/* err may be NULL. */
	ck_assert_int_eq(tls_check_pair(path("missing.crt"), path("rsa.key"),
	    HOST, time(NULL), NULL, 0), -1);
}
END_TEST

/* The configuration functions. */

static struct conf *
make_conf(const char *cert, const char *key, const char *eccert,
    const char *eckey, const char *level, const char *prio)
{
	struct conf *conf;

	conf = conf_new(NULL, NULL);
	ck_assert_ptr_nonnull(conf);
	ck_assert_int_eq(conf_set(conf, "myhostname", HOST), 0);
	if (cert != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_cert_file",
		    path(cert)), 0);
	if (key != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_key_file",
		    path(key)), 0);
	if (eccert != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_eccert_file",
		    path(eccert)), 0);
	if (eckey != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_eckey_file",
		    path(eckey)), 0);
	if (level != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_security_level",
		    level), 0);
	if (prio != NULL)
		ck_assert_int_eq(conf_set(conf, "smtpd_tls_priority", prio),
		    0);
	ck_assert_int_eq(conf_finish(conf), 0);
	return conf;
}

static int
server_check(struct conf *conf)
{
	int r;

	err[0] = '\0';
	r = tls_server_check(conf, time(NULL), err, sizeof(err));
	conf_free(&conf);
	return r;
}

START_TEST(test_server_check)
{
	/* Nothing configured. */
	ck_assert_int_eq(server_check(make_conf(NULL, NULL, NULL, NULL, NULL,
	    NULL)), 1);
	ck_assert_int_eq(server_check(make_conf(NULL, NULL, NULL, NULL,
	    "may", "garbage")), 1);
	/* RSA, ECDSA, both; the key defaulting to the certificate file. */
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, NULL)), 0);
	ck_assert_int_eq(server_check(make_conf(NULL, NULL, "ec.crt",
	    "ec.key", NULL, NULL)), 0);
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key",
	    "ec.crt", "ec.key", "encrypt", PRIO_13)), 0);
	ck_assert_int_eq(server_check(make_conf("both.pem", NULL, NULL, NULL,
	    NULL, NULL)), 0);
	ck_assert_int_eq(server_check(make_conf(NULL, NULL, "chain.crt",
	    "chain.key", NULL, NULL)), 0);
}
END_TEST

START_TEST(test_server_check_bad)
{
	char want[512];

	/* A broken ECDSA pair beside a good RSA one. */
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key",
	    "ec.crt", "other.key", NULL, NULL)), -1);
	snprintf(want, sizeof(want), "%s: key does not match the certificate "
	    "in %s", path("other.key"), path("ec.crt"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(server_check(make_conf("expired.crt", "ec.key",
	    NULL, NULL, NULL, NULL)), -1);
	ck_assert_ptr_nonnull(strstr(err, "expired on"));
	/* myhostname must be covered. */
	ck_assert_int_eq(server_check(make_conf("wild.crt", "ec.key", NULL,
	    NULL, NULL, NULL)), 0);
	/* A key without its certificate. */
	ck_assert_int_eq(server_check(make_conf(NULL, "rsa.key", NULL, NULL,
	    NULL, NULL)), -1);
	ck_assert_str_eq(err, "smtpd_tls_key_file is set but "
	    "smtpd_tls_cert_file is empty");
	/* encrypt without a certificate. */
	ck_assert_int_eq(server_check(make_conf(NULL, NULL, NULL, NULL,
	    "encrypt", NULL)), -1);
	ck_assert_ptr_nonnull(strstr(err, "encrypt"));
}
END_TEST

START_TEST(test_server_check_priority)
{
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, "NORMAL:+BOGUS-THING")), -1);
	ck_assert_msg(strncmp(err, "smtpd_tls_priority: bad priority string "
	    "at position 7 (\"+BOGUS-THING\")", 69) == 0, "%s", err);
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, "BOGUS")), -1);
	ck_assert_ptr_nonnull(strstr(err, "at position 0"));
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, "NORMAL:-VERS-ALL")), -1);
	ck_assert_ptr_nonnull(strstr(err, "leaves nothing usable"));
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, PRIO_12)), 0);
	ck_assert_int_eq(server_check(make_conf("rsa.crt", "rsa.key", NULL,
	    NULL, NULL, "SECURE256:%SERVER_PRECEDENCE")), 0);
}
END_TEST

START_TEST(test_server_level)
{
	struct conf *conf;

	conf = make_conf(NULL, NULL, NULL, NULL, NULL, NULL);
	ck_assert(!tls_server_configured(conf));
	ck_assert_str_eq(tls_server_level(conf), "none");
	conf_free(&conf);
	conf = make_conf("rsa.crt", NULL, NULL, NULL, NULL, NULL);
	ck_assert(tls_server_configured(conf));
	ck_assert_str_eq(tls_server_level(conf), "may");
	conf_free(&conf);
	conf = make_conf(NULL, NULL, "ec.crt", NULL, "", NULL);
	ck_assert(tls_server_configured(conf));
	ck_assert_str_eq(tls_server_level(conf), "may");
	conf_free(&conf);
	conf = make_conf("rsa.crt", NULL, NULL, NULL, "encrypt", NULL);
	ck_assert_str_eq(tls_server_level(conf), "encrypt");
	conf_free(&conf);
	conf = make_conf("rsa.crt", NULL, NULL, NULL, "none", NULL);
	ck_assert_str_eq(tls_server_level(conf), "none");
	conf_free(&conf);
	conf = make_conf(NULL, NULL, NULL, NULL, "may", NULL);
	ck_assert(!tls_server_configured(conf));
	ck_assert_str_eq(tls_server_level(conf), "may");
	conf_free(&conf);
}
END_TEST

/* tls_server_creds */

static gnutls_certificate_credentials_t
server_creds(struct conf *conf)
{
	gnutls_certificate_credentials_t creds = NULL;

	err[0] = '\0';
	if (tls_server_creds(conf, &creds, err, sizeof(err)) == -1)
		ck_assert_ptr_null(creds);
	conf_free(&conf);
	return creds;
}

START_TEST(test_server_creds)
{
	gnutls_certificate_credentials_t creds;

	creds = server_creds(make_conf("rsa.crt", "rsa.key", "ec.crt",
	    "ec.key", NULL, NULL));
	ck_assert_msg(creds != NULL, "%s", err);
	gnutls_certificate_free_credentials(creds);
	creds = server_creds(make_conf("both.pem", NULL, NULL, NULL, NULL,
	    NULL));
	ck_assert_msg(creds != NULL, "%s", err);
	gnutls_certificate_free_credentials(creds);
	/* Dates are not its business. */
	creds = server_creds(make_conf(NULL, NULL, "expired.crt", "ec.key",
	    NULL, NULL));
	ck_assert_msg(creds != NULL, "%s", err);
	gnutls_certificate_free_credentials(creds);
}
END_TEST

START_TEST(test_server_creds_bad)
{
	char want[512];

	ck_assert_ptr_null(server_creds(make_conf(NULL, NULL, NULL, NULL,
	    NULL, NULL)));
	ck_assert_ptr_nonnull(strstr(err, "no server certificate"));
	ck_assert_ptr_null(server_creds(make_conf("rsa.crt", "rsa.key",
	    "ec.crt", "rsa.key", NULL, NULL)));
	snprintf(want, sizeof(want), "%s: key does not match the certificate "
	    "in %s", path("rsa.key"), path("ec.crt"));
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(server_creds(make_conf("missing.crt", NULL, NULL,
	    NULL, NULL, NULL)));
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	ck_assert_ptr_null(server_creds(make_conf(NULL, "rsa.key", NULL,
	    NULL, NULL, NULL)));
	ck_assert_ptr_nonnull(strstr(err, "is set but"));
}
END_TEST

/* tls_fingerprint */

START_TEST(test_fingerprint)
{
	gnutls_datum_t d;
	char out[TLS_FP_LEN + 1], small[TLS_FP_LEN];

	d.data = (unsigned char *)"abc";
	d.size = 3;
	ck_assert_int_eq(tls_fingerprint(&d, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	d.data = (unsigned char *)"";
	d.size = 0;
	ck_assert_int_eq(tls_fingerprint(&d, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	ck_assert_int_eq(tls_fingerprint(&d, small, sizeof(small)), -1);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(tls_fingerprint(NULL, out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
}
END_TEST

/* tls_session_describe, through a handshake over a socketpair. */

struct client {
	int		 fd;
	const char	*prio;
	const char	*sni;		/* or NULL */
	bool		 send_cert;
	int		 rc;		/* handshake result */
};

static void *
client_run(void *arg)
{
	struct client *c = arg;
	gnutls_certificate_credentials_t creds;
	gnutls_session_t s;
	int r;

	c->rc = -1;
	if (gnutls_certificate_allocate_credentials(&creds) < 0)
		return NULL;
	if (c->send_cert && gnutls_certificate_set_x509_key_file2(creds,
	    path("ec.crt"), path("ec.key"), GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
		goto out;
	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		goto out;
	if (gnutls_priority_set_direct(s, c->prio, NULL) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds) < 0)
		goto deinit;
	if (c->sni != NULL && gnutls_server_name_set(s, GNUTLS_NAME_DNS,
	    c->sni, strlen(c->sni)) < 0)
		goto deinit;
	gnutls_transport_set_int(s, c->fd);
	gnutls_handshake_set_timeout(s, 10000);
	do {
		r = gnutls_handshake(s);
	} while (r < 0 && gnutls_error_is_fatal(r) == 0);
	c->rc = r;
	if (r == 0)
		(void)gnutls_bye(s, GNUTLS_SHUT_WR);
deinit:
	gnutls_deinit(s);
out:
	gnutls_certificate_free_credentials(creds);
	return NULL;
}

struct desc {
	char	proto[TLS_DESC_MAX], cipher[TLS_DESC_MAX];
	char	sni[TLS_DESC_MAX], fp[TLS_FP_LEN + 1];
	/* The same session described into buffers too small. */
	char	sproto[4], scipher[4], ssni[4], sfp[TLS_FP_LEN];
};

/*
 * Handshake a server using creds from conf (the configuration is
 * freed) with a client in a thread; describe the server's session.
 */
static void
handshake(struct conf *conf, const char *server_prio, bool request,
    struct client *c, struct desc *d)
{
	gnutls_certificate_credentials_t creds;
	gnutls_session_t s;
	pthread_t t;
	int sv[2], r;

	creds = server_creds(conf);
	ck_assert_msg(creds != NULL, "%s", err);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->fd = sv[1];
	ck_assert_int_eq(gnutls_init(&s, GNUTLS_SERVER), 0);
	ck_assert_int_eq(gnutls_priority_set_direct(s, server_prio, NULL), 0);
	ck_assert_int_eq(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    creds), 0);
	if (request)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	gnutls_transport_set_int(s, sv[0]);
	gnutls_handshake_set_timeout(s, 10000);
	ck_assert_int_eq(pthread_create(&t, NULL, client_run, c), 0);
	do {
		r = gnutls_handshake(s);
	} while (r < 0 && gnutls_error_is_fatal(r) == 0);
	if (r < 0)
		close(sv[0]);		/* so that the client gives up */
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(r == 0, "server handshake: %s", gnutls_strerror(r));
	ck_assert_msg(c->rc == 0, "client handshake: %s",
	    gnutls_strerror(c->rc));
	memset(d, 'x', sizeof(*d));
	tls_session_describe(s, d->proto, sizeof(d->proto), d->cipher,
	    sizeof(d->cipher), d->sni, sizeof(d->sni), d->fp, sizeof(d->fp));
	tls_session_describe(s, d->sproto, sizeof(d->sproto), d->scipher,
	    sizeof(d->scipher), d->ssni, sizeof(d->ssni), d->sfp,
	    sizeof(d->sfp));
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(creds);
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_describe_13)
{
	struct client c = { .prio = PRIO_13, .sni = HOST };
	struct desc d;

	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", false, &c, &d);
	ck_assert_str_eq(d.proto, "TLSv1.3");
	ck_assert_msg(strncmp(d.cipher, "TLS_", 4) == 0 &&
	    strlen(d.cipher) > 8, "%s", d.cipher);
	ck_assert_str_eq(d.sni, HOST);
	ck_assert_str_eq(d.fp, "");
}
END_TEST

START_TEST(test_describe_12)
{
	struct client c = { .prio = "NORMAL", .sni = NULL };
	struct desc d;

	handshake(make_conf(NULL, NULL, "ec.crt", "ec.key", NULL, NULL),
	    PRIO_12, false, &c, &d);
	ck_assert_str_eq(d.proto, "TLSv1.2");
	ck_assert_msg(strncmp(d.cipher, "ECDHE_ECDSA_", 12) == 0,
	    "%s", d.cipher);
	ck_assert_str_eq(d.sni, "");
	ck_assert_str_eq(d.fp, "");
}
END_TEST

/* Both pairs loaded: the client's key exchange picks the certificate. */
START_TEST(test_describe_rsa_and_ecdsa)
{
	struct client c = { .sni = HOST };
	struct desc d;

	c.prio = PRIO_12 ":-KX-ALL:+ECDHE-RSA";
	handshake(make_conf("rsa.crt", "rsa.key", "ec.crt", "ec.key", NULL,
	    NULL), PRIO_12, false, &c, &d);
	ck_assert_msg(strncmp(d.cipher, "ECDHE_RSA_", 10) == 0, "%s",
	    d.cipher);
	c.prio = PRIO_12 ":-KX-ALL:+ECDHE-ECDSA";
	handshake(make_conf("rsa.crt", "rsa.key", "ec.crt", "ec.key", NULL,
	    NULL), PRIO_12, false, &c, &d);
	ck_assert_msg(strncmp(d.cipher, "ECDHE_ECDSA_", 12) == 0, "%s",
	    d.cipher);
}
END_TEST

START_TEST(test_describe_client_cert)
{
	struct client c = { .prio = PRIO_13, .sni = HOST, .send_cert = true };
	struct desc d;

	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", true, &c, &d);
	ck_assert_str_eq(d.proto, "TLSv1.3");
	ck_assert_str_eq(d.fp, ec_fp);
	ck_assert_uint_eq(strlen(d.fp), TLS_FP_LEN);
	/* The same over TLS 1.2. */
	c.prio = PRIO_12;
	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", true, &c, &d);
	ck_assert_str_eq(d.proto, "TLSv1.2");
	ck_assert_str_eq(d.fp, ec_fp);
	/* Requested, but the client has none. */
	c.send_cert = false;
	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", true, &c, &d);
	ck_assert_str_eq(d.fp, "");
	/* Sent only when asked. */
	c.send_cert = true;
	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", false, &c, &d);
	ck_assert_str_eq(d.fp, "");
}
END_TEST

START_TEST(test_describe_small_buffers)
{
	struct client c = { .prio = PRIO_13, .sni = HOST, .send_cert = true };
	struct desc d;

	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", true, &c, &d);
	ck_assert_str_eq(d.sni, HOST);
	ck_assert_str_eq(d.fp, ec_fp);
	/* Too small: empty, never cut. */
	ck_assert_str_eq(d.sproto, "");
	ck_assert_str_eq(d.scipher, "");
	ck_assert_str_eq(d.ssni, "");
	ck_assert_str_eq(d.sfp, "");
}
END_TEST

/*
 * A server name longer than the buffer is left out, not cut.  (GnuTLS
 * itself refuses a name with bytes outside letters, digits, '-', '.'
 * and '_', so the printable-ASCII filter cannot be reached from here.)
 */
START_TEST(test_describe_long_sni)
{
	char name[256];
	struct client c = { .prio = PRIO_13, .sni = name };
	struct desc d;

	memset(name, 0, sizeof(name));
	memset(name, 'a', 60);
	name[60] = '.';
	memset(name + 61, 'b', 60);
	strlcat(name, ".example.org", sizeof(name));
	ck_assert_uint_ge(strlen(name), sizeof(d.sni));
	handshake(make_conf("rsa.crt", "rsa.key", NULL, NULL, NULL, NULL),
	    "NORMAL", false, &c, &d);
	ck_assert_str_eq(d.proto, "TLSv1.3");
	ck_assert_str_eq(d.sni, "");
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("tls");
	tc = tcase_create("check_pair");
	tcase_add_loop_test(tc, test_check_good, 0,
	    sizeof(good_pairs) / sizeof(good_pairs[0]));
	tcase_add_loop_test(tc, test_check_bad, 0,
	    sizeof(bad_pairs) / sizeof(bad_pairs[0]));
	tcase_add_test(tc, test_check_dates);
	tcase_add_test(tc, test_check_small_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_test(tc, test_server_check);
	tcase_add_test(tc, test_server_check_bad);
	tcase_add_test(tc, test_server_check_priority);
	tcase_add_test(tc, test_server_level);
	tcase_add_test(tc, test_server_creds);
	tcase_add_test(tc, test_server_creds_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_fingerprint);
	suite_add_tcase(s, tc);

	tc = tcase_create("describe");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_describe_13);
	tcase_add_test(tc, test_describe_12);
	tcase_add_test(tc, test_describe_rsa_and_ecdsa);
	tcase_add_test(tc, test_describe_client_cert);
	tcase_add_test(tc, test_describe_small_buffers);
	tcase_add_test(tc, test_describe_long_sni);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	tls_init();
	tls_init();
	gen_material();
	sr = srunner_create(tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_material();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
