/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_tls.c -- the TLS contexts.  Server role: certificates and
 * keys, priorities and the session ticket key, loaded once before the
 * privilege drop, then one GnuTLS session per STARTTLS.  Client role: no
 * key at all; a priority string, the system trust store (loaded before
 * the privilege drop), verification (PKIX, or DANE with tlsproxy_dane.c)
 * and the resumption of sessions.
 *
 * Process:  tlsproxy (root in tlsproxy_pre_jail, mail_owner after).
 * Input:    tern.conf (trusted) and the PEM files it names.
 * Failure:  nothing here exits: a context that did not load is logged
 *           once and every request of that role is then answered
 *           status=error, so that the master does not restart us in a loop
 *           and smtpd says 454.  The two roles fail apart: no server key
 *           leaves the client role working.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/x509.h>

#include "conf.h"
#include "log.h"
#include "service.h"
#include "tlsproxy.h"

static struct {
	bool		 ready;
	char		 why[TLS_ERR_MAX];	/* when not ready */
	gnutls_certificate_credentials_t creds;
	gnutls_priority_t prio;
	bool		 tickets;
	gnutls_datum_t	 ticket_key;	/* the master key, in memory only */
	unsigned	 cache_timeout;	/* seconds: tickets and their keys */
	bool		 ask_ccert;
} srv;

static struct {
	bool		 ready;
	char		 why[TLS_ERR_MAX];	/* when not ready */
	gnutls_priority_t prio;
	gnutls_certificate_credentials_t none;	/* trusts nothing */
	gnutls_certificate_credentials_t dane;	/* TLSA records only */
	gnutls_certificate_credentials_t sys;	/* NULL: did not load */
	char		 sys_why[TLS_ERR_MAX];
	time_t		 cache_timeout;
} cli;

/* Parse the priority string of param into *prio_r; -1 with why set. */
static int
load_priority(const struct conf *conf, const char *param,
    gnutls_priority_t *prio_r, char *why, size_t whysz)
{
	const char *str = conf_str(conf, param);
	const char *errpos = NULL;
	int r;

	r = gnutls_priority_init2(prio_r, str, &errpos, 0);
	if (r == GNUTLS_E_SUCCESS)
		return 0;
	*prio_r = NULL;
	if (errpos != NULL && errpos >= str && errpos <= str + strlen(str))
		snprintf(why, whysz, "%s: bad priority string at \"%s\": %s",
		    param, errpos, gnutls_strerror(r));
	else
		snprintf(why, whysz, "%s: %s", param, gnutls_strerror(r));
	return -1;
}

/*
 * GnuTLS 3.7 derives the keys that protect tickets from this master key
 * and rotates them by itself, each cache_timeout: no timer of ours.
 */
static int
make_ticket_key(void)
{
	int r;

	if ((r = gnutls_session_ticket_key_generate(&srv.ticket_key)) < 0) {
		snprintf(srv.why, sizeof(srv.why), "session ticket key: %s",
		    gnutls_strerror(r));
		return -1;
	}
	return 0;
}

/* The chain the server sent, against the request's TLSA records. */
static int
dane_verify(gnutls_session_t s, struct tlsproxy_client_state *st)
{
	const gnutls_datum_t *chain;
	unsigned n = 0;

	chain = gnutls_certificate_get_peers(s, &n);
	return tlsproxy_dane_verify(&st->req->dane, chain, chain != NULL ? n :
	    0, st->dane_match, sizeof(st->dane_match), st->dane_err,
	    sizeof(st->dane_err));
}

/*
 * verify=dane, during the handshake, when the server's certificates are
 * in: non-zero fails the handshake (GNUTLS_E_CERTIFICATE_ERROR, and an
 * alert to the server).
 */
static int
dane_check(gnutls_session_t s)
{
	struct tlsproxy_client_state *st = gnutls_session_get_ptr(s);

	if (st == NULL || st->req->verify != TLSPROXY_VERIFY_DANE)
		return -1;
	return dane_verify(s, st) == 0 ? 0 : -1;
}

static void
client_pre_jail(const struct conf *conf)
{
	int r;

	cli.cache_timeout = conf_time(conf, "smtp_tls_session_cache_timeout");
	if ((r = gnutls_certificate_allocate_credentials(&cli.none)) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&cli.dane)) < 0)
		fatalx("gnutls_certificate_allocate_credentials: %s",
		    gnutls_strerror(r));
	gnutls_certificate_set_verify_function(cli.dane, dane_check);
	/* Read now: the trust store may be out of reach after the drop. */
	if ((r = gnutls_certificate_allocate_credentials(&cli.sys)) < 0)
		fatalx("gnutls_certificate_allocate_credentials: %s",
		    gnutls_strerror(r));
	r = gnutls_certificate_set_x509_system_trust(cli.sys);
	if (r <= 0) {
		snprintf(cli.sys_why, sizeof(cli.sys_why),
		    "the system trust store did not load: %s",
		    r == 0 ? "no certificates" : gnutls_strerror(r));
		log_warnx("%s; outbound TLS with verify=ca needs a ca_file",
		    cli.sys_why);
		gnutls_certificate_free_credentials(cli.sys);
		cli.sys = NULL;
	}
	if (load_priority(conf, "smtp_tls_priority", &cli.prio, cli.why,
	    sizeof(cli.why)) == -1) {
		log_error("outbound TLS is not available: %s", cli.why);
		return;
	}
	cli.ready = true;
}

void
tlsproxy_pre_jail(struct service_ctx *ctx)
{
	const struct conf *conf = ctx->conf;

	tls_init();
	client_pre_jail(conf);
	srv.tickets = conf_bool(conf, "smtpd_tls_session_tickets");
	srv.cache_timeout = (unsigned)conf_time(conf,
	    "smtpd_tls_session_cache_timeout");
	srv.ask_ccert = conf_bool(conf, "smtpd_tls_ask_ccert");
	if (tls_server_creds(conf, &srv.creds, srv.why, sizeof(srv.why)) ==
	    -1)
		goto fail;
	if (load_priority(conf, "smtpd_tls_priority", &srv.prio, srv.why,
	    sizeof(srv.why)) == -1)
		goto fail;
	if (srv.tickets && make_ticket_key() == -1)
		goto fail;
	srv.ready = true;
	return;
fail:
	log_error("TLS is not available: %s; every STARTTLS will be "
	    "refused until this is fixed and tern reloaded", srv.why);
}

bool
tlsproxy_tls_ready(const char **why_r)
{
	*why_r = srv.why;
	return srv.ready;
}

int
tlsproxy_tls_session(int fd, gnutls_session_t *s_r, const char **err_r)
{
	gnutls_session_t s;
	unsigned flags;
	int r;

	*s_r = NULL;
	flags = GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;
	/* Tickets are sent after the client's Finished: see below. */
	flags |= srv.tickets ? GNUTLS_NO_AUTO_SEND_TICKET : GNUTLS_NO_TICKETS;
	if ((r = gnutls_init(&s, flags)) < 0) {
		*err_r = gnutls_strerror(r);
		return -1;
	}
	if ((r = gnutls_priority_set(s, srv.prio)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    srv.creds)) < 0 ||
	    (srv.tickets && (r = gnutls_session_ticket_enable_server(s,
	    &srv.ticket_key)) < 0)) {
		*err_r = gnutls_strerror(r);
		gnutls_deinit(s);
		return -1;
	}
	gnutls_db_set_cache_expiration(s, (int)srv.cache_timeout);
	/* Only asked: the fingerprint is reported, nothing is verified. */
	if (srv.ask_ccert)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
	/* Our own timer bounds the handshake; GnuTLS's must never block. */
	gnutls_handshake_set_timeout(s, 0);
	gnutls_transport_set_int(s, fd);
	*s_r = s;
	return 0;
}

/*
 * TLS 1.3: send the session ticket once the client's Finished is in, as
 * OpenSSL servers do.  Sent with the server's own flight instead (GnuTLS's
 * default), nothing of ours follows the client's Finished, so the client's
 * first command waits behind its unacknowledged Finished (Nagle) for our
 * delayed ACK: 40 ms on every STARTTLS.  The socket's send buffer is empty
 * here; a ticket that still cannot go out is skipped (no resumption).
 */
void
tlsproxy_tls_send_ticket(gnutls_session_t s)
{
	int r, i;

	if (!srv.tickets || gnutls_protocol_get_version(s) != GNUTLS_TLS1_3)
		return;
	for (i = 0; i < 4; i++) {
		r = gnutls_session_ticket_send(s, 1, 0);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			break;
	}
}

/* ---- the client role ----------------------------------------------------- */

bool
tlsproxy_tls_client_ready(const char **why_r)
{
	*why_r = cli.why;
	return cli.ready;
}

int
tlsproxy_tls_client_creds(const struct tlsproxy_req *req,
    gnutls_certificate_credentials_t *creds_r,
    gnutls_certificate_credentials_t *own_r, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t c;
	int r;

	*creds_r = *own_r = NULL;
	if (req->verify == TLSPROXY_VERIFY_NONE) {
		*creds_r = cli.none;
		return 0;
	}
	if (req->verify == TLSPROXY_VERIFY_DANE) {
		*creds_r = cli.dane;
		return 0;
	}
	if (req->ca_file[0] == '\0') {
		if (cli.sys == NULL) {
			strlcpy(err, cli.sys_why, errsz);
			return -1;
		}
		*creds_r = cli.sys;
		return 0;
	}
	if ((r = gnutls_certificate_allocate_credentials(&c)) < 0) {
		snprintf(err, errsz, "%s", gnutls_strerror(r));
		return -1;
	}
	r = gnutls_certificate_set_x509_trust_file(c, req->ca_file,
	    GNUTLS_X509_FMT_PEM);
	if (r <= 0) {
		snprintf(err, errsz, "%s: %s", req->ca_file, r == 0 ?
		    "no certificates" : gnutls_strerror(r));
		gnutls_certificate_free_credentials(c);
		return -1;
	}
	*creds_r = *own_r = c;
	return 0;
}

static void
cache_store(gnutls_session_t s, const char *key)
{
	gnutls_datum_t d = { NULL, 0 };

	if (gnutls_session_get_data2(s, &d) < 0)
		return;
	tlsproxy_cache_put(key, d.data, d.size, time(NULL));
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
}

/* A TLS 1.3 ticket arrived (after the handshake): keep the session. */
static int
on_ticket(gnutls_session_t s, unsigned htype, unsigned when,
    unsigned incoming, const gnutls_datum_t *msg)
{
	const struct tlsproxy_client_state *st = gnutls_session_get_ptr(s);

	if (st != NULL && incoming &&
	    gnutls_protocol_get_version(s) == GNUTLS_TLS1_3)
		cache_store(s, st->key);
	return 0;
}

static bool
is_address(const char *name)
{
	uint8_t a[16];

	return inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
}

int
tlsproxy_tls_client_session(int fd, struct tlsproxy_client_state *st,
    gnutls_certificate_credentials_t creds, gnutls_session_t *s_r,
    const char **err_r)
{
	const struct tlsproxy_req *req = st->req;
	gnutls_session_t s;
	const void *data;
	size_t len;
	int r;

	*s_r = NULL;
	if ((r = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK |
	    GNUTLS_NO_SIGNAL)) < 0) {
		*err_r = gnutls_strerror(r);
		return -1;
	}
	if ((r = gnutls_priority_set(s, cli.prio)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    creds)) < 0 ||
	    (!is_address(req->server_name) && (r = gnutls_server_name_set(s,
	    GNUTLS_NAME_DNS, req->server_name,
	    strlen(req->server_name))) < 0)) {
		*err_r = gnutls_strerror(r);
		gnutls_deinit(s);
		return -1;
	}
	/*
	 * RFC 6125 name checks; a failure fails the handshake.  With
	 * ca_names the chain alone here, the names in client_done.
	 */
	if (req->verify == TLSPROXY_VERIFY_CA)
		gnutls_session_set_verify_cert(s, req->nca_names > 0 ? NULL :
		    req->server_name, 0);
	/* A session the server forgot only costs a full handshake. */
	if (tlsproxy_cache_get(st->key, time(NULL), cli.cache_timeout, &data,
	    &len) == 0)
		(void)gnutls_session_set_data(s, data, len);
	gnutls_session_set_ptr(s, st);
	gnutls_handshake_set_hook_function(s,
	    GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_POST, on_ticket);
	gnutls_handshake_set_timeout(s, 0);
	gnutls_transport_set_int(s, fd);
	*s_r = s;
	return 0;
}

void
tlsproxy_tls_verify_error(gnutls_session_t s, char *err, size_t errsz)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status;
	size_t len;

	err[0] = '\0';
	status = gnutls_session_get_verify_cert_status(s);
	if (status == 0)
		return;
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0) {
		snprintf(err, errsz, "certificate verification failed "
		    "(status 0x%x)", status);
		return;
	}
	snprintf(err, errsz, "%.*s", (int)out.size, (const char *)out.data);
	gnutls_free(out.data);
	/* GnuTLS ends each sentence with a space. */
	len = strlen(err);
	while (len > 0 && err[len - 1] == ' ')
		err[--len] = '\0';
}

/* A dNSName of the leaf that is below domain (".example.org")? */
static bool
below(gnutls_x509_crt_t leaf, const char *domain)
{
	char name[256];
	size_t i, len, dlen = strlen(domain);
	unsigned critical;
	int r;

	for (i = 0; i < 64; i++) {
		len = sizeof(name) - 1;
		r = gnutls_x509_crt_get_subject_alt_name(leaf, (unsigned)i,
		    name, &len, &critical);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r != GNUTLS_SAN_DNSNAME || len <= dlen ||
		    len >= sizeof(name))
			continue;
		name[len] = '\0';
		if (strlen(name) == len &&
		    strcasecmp(name + len - dlen, domain) == 0)
			return true;
	}
	return false;
}

/*
 * verify=ca with ca_names, after the handshake verified the chain (or
 * resumed a session whose key holds these names): the leaf covers one
 * of them.  -1 with st->dane_err set when it does not.
 */
static int
ca_names_verify(gnutls_session_t s, struct tlsproxy_client_state *st)
{
	const struct tlsproxy_req *req = st->req;
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t leaf;
	unsigned n = 0;
	size_t i, len;
	bool ok = false;

	chain = gnutls_certificate_get_peers(s, &n);
	if (chain == NULL || n == 0 || gnutls_x509_crt_init(&leaf) < 0) {
		strlcpy(st->dane_err, "no server certificate",
		    sizeof(st->dane_err));
		return -1;
	}
	if (gnutls_x509_crt_import(leaf, &chain[0], GNUTLS_X509_FMT_DER) <
	    0) {
		gnutls_x509_crt_deinit(leaf);
		strlcpy(st->dane_err, "the server certificate does not "
		    "parse", sizeof(st->dane_err));
		return -1;
	}
	for (i = 0; i < req->nca_names && !ok; i++)
		ok = req->ca_names[i][0] == '.' ? below(leaf,
		    req->ca_names[i]) : gnutls_x509_crt_check_hostname2(leaf,
		    req->ca_names[i], 0) != 0;
	gnutls_x509_crt_deinit(leaf);
	if (ok)
		return 0;
	snprintf(st->dane_err, sizeof(st->dane_err), "the server "
	    "certificate covers none of ");
	for (i = 0; i < req->nca_names; i++) {
		len = strlen(st->dane_err);
		snprintf(st->dane_err + len, sizeof(st->dane_err) - len, "%s%s",
		    i > 0 ? ", " : "", req->ca_names[i]);
	}
	return -1;
}

#define TRUST_CHAIN_MAX	16	/* certificates of a chain looked at */

/*
 * verify=none: whether the chain the server sent (or the resumed session
 * remembers) verifies to ca_file, or to the system trust store when
 * ca_file is "", dates and signatures checked, the name not.  Only
 * reported ("Trusted" in the client's log), never enforced.
 */
static bool
chain_trusted(gnutls_session_t s, const char *ca_file)
{
	gnutls_x509_crt_t crts[TRUST_CHAIN_MAX];
	gnutls_x509_trust_list_t tl = NULL;
	const gnutls_datum_t *raw;
	unsigned n = 0, ncrt = 0, i, voutput = 1;
	bool own = false, ok = false;

	raw = gnutls_certificate_get_peers(s, &n);
	if (raw == NULL || n == 0)
		return false;
	if (ca_file[0] != '\0') {
		if (gnutls_x509_trust_list_init(&tl, 0) < 0)
			return false;
		own = true;
		if (gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0) <= 0)
			goto out;
	} else if (cli.sys == NULL)
		return false;
	else
		gnutls_certificate_get_trust_list(cli.sys, &tl);
	for (i = 0; i < n && i < TRUST_CHAIN_MAX; i++) {
		if (gnutls_x509_crt_init(&crts[ncrt]) < 0)
			break;
		if (gnutls_x509_crt_import(crts[ncrt], &raw[i],
		    GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crts[ncrt]);
			break;
		}
		ncrt++;
	}
	ok = ncrt > 0 && gnutls_x509_trust_list_verify_crt2(tl, crts, ncrt,
	    NULL, 0, 0, &voutput, NULL) == 0 && voutput == 0;
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
out:
	if (own)
		gnutls_x509_trust_list_deinit(tl, 1);
	return ok;
}

int
tlsproxy_tls_client_done(gnutls_session_t s,
    struct tlsproxy_client_state *st, bool *verified_r, bool *trusted_r,
    char *err, size_t errsz)
{
	err[0] = '\0';
	*verified_r = *trusted_r = false;
	/*
	 * A resumed session had no Certificate message, so no callback:
	 * check what the session remembers of the server's chain.
	 */
	if (st->req->verify == TLSPROXY_VERIFY_DANE &&
	    gnutls_session_is_resumed(s) && dane_verify(s, st) == -1)
		return -1;
	if (st->req->verify == TLSPROXY_VERIFY_CA && st->req->nca_names > 0 &&
	    ca_names_verify(s, st) == -1)
		return -1;
	/* With verify=ca or dane the handshake failed unless it verified. */
	*verified_r = st->req->verify != TLSPROXY_VERIFY_NONE;
	*trusted_r = *verified_r || chain_trusted(s, st->req->ca_file);
	if (gnutls_protocol_get_version(s) != GNUTLS_TLS1_3 &&
	    !gnutls_session_is_resumed(s))
		cache_store(s, st->key);
	return 0;
}
