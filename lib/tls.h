/*
 * SPDX-License-Identifier: ISC
 *
 * tls.h -- the GnuTLS glue shared by the master, ternctl and tlsproxy
 * (mail layer): checking and loading the SMTP server's certificates and
 * keys, and describing a TLS session for logs and Received: headers.
 *
 * Process:  master and ternctl (checks, before any client), tlsproxy
 *           (loads keys in pre_jail, while still privileged).
 * Input:    PEM files named by tern.conf (trusted administrator input,
 *           but a broken file must give one clear error, not a crash).
 * Failure:  every function returns -1 with a one-line reason in err,
 *           naming the file: "/etc/tern/cert.pem: certificate expired on
 *           2026-01-01", "/etc/tern/key.pem: key does not match the
 *           certificate in /etc/tern/cert.pem", "... does not cover
 *           mail.example.org".
 */
#ifndef TERN_TLS_H
#define TERN_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

struct conf;

#define TLS_ERR_MAX		512	/* room for an error line */
#define TLS_FP_LEN		64	/* hex SHA-256, without NUL */
#define TLS_DESC_MAX		128	/* "TLSv1.3", cipher names */

/*
 * tls_init -- gnutls_global_init once per process (idempotent).  Fatal
 * when GnuTLS cannot start.
 */
void	tls_init(void);

/*
 * tls_check_pair -- load a PEM certificate chain (leaf first) and its
 * PEM private key; check that the key matches the leaf, that every
 * certificate in the chain is valid at time now, and that the leaf
 * covers hostname (RFC 6125 rules via gnutls_x509_crt_check_hostname:
 * SAN dNSName, wildcard only in the left-most label; hostname NULL skips
 * this check), and that GnuTLS itself accepts the pair.  Files over
 * 1 MiB, empty files and non-regular files are refused.  Key bytes are
 * wiped after use.  Never logs or exits.  Returns 0, or -1 with err set.
 */
int	tls_check_pair(const char *certfile, const char *keyfile,
	    const char *hostname, time_t now, char *err, size_t errsz);

/*
 * tls_server_configured and tls_server_level live in tls_level.c and need
 * no GnuTLS at link time: smtpd uses them and links no TLS library.
 *
 * tls_server_configured -- is any server certificate set in conf
 * (smtpd_tls_cert_file or smtpd_tls_eccert_file non-empty)?
 */
bool	tls_server_configured(const struct conf *);

/*
 * tls_server_level -- the effective smtpd_tls_security_level: "none",
 * "may" or "encrypt" (empty means "may" with a certificate, else
 * "none").
 */
const char *tls_server_level(const struct conf *);

/*
 * tls_server_check -- tls_check_pair for every configured pair (RSA:
 * smtpd_tls_cert_file/key_file; ECDSA: smtpd_tls_eccert_file/eckey_file)
 * against myhostname, and that smtpd_tls_priority parses.  Returns 1
 * when no certificate is configured, 0 when all is well, -1 with err set
 * at the first problem (also: a key file set without its certificate,
 * and smtpd_tls_security_level = encrypt with no certificate).
 */
int	tls_server_check(const struct conf *, time_t now, char *err,
	    size_t errsz);

/*
 * tls_server_creds -- load every configured pair into one credentials
 * structure (GnuTLS picks RSA or ECDSA per client).  Checks parsing and
 * the key/certificate match, not dates or host name (tls_server_check's
 * job).  No certificate configured is an error.  Returns 0 with *creds_r
 * set (free with gnutls_certificate_free_credentials), or -1 with err
 * set.  Call before dropping privilege.
 */
int	tls_server_creds(const struct conf *,
	    gnutls_certificate_credentials_t *creds_r, char *err, size_t errsz);

/*
 * tls_session_describe -- after a handshake: protocol ("TLSv1.3"),
 * cipher suite name ("TLS_AES_256_GCM_SHA384" for 1.3, GnuTLS's
 * kx-cipher-mac name for 1.2), SNI host name ("" when none or invalid:
 * printable ASCII only), SHA-256 fingerprint of the peer's leaf
 * certificate as lower-case hex ("" when none was sent).
 */
void	tls_session_describe(gnutls_session_t, char *proto, size_t protosz,
	    char *cipher, size_t ciphersz, char *sni, size_t snisz,
	    char *fp, size_t fpsz);

/*
 * tls_fingerprint -- SHA-256 of a DER certificate as lower-case hex into
 * out (at least TLS_FP_LEN + 1 bytes).  Returns 0 or -1.
 */
int	tls_fingerprint(const gnutls_datum_t *der, char *out, size_t outsz);

#endif
