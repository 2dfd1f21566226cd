/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_tls.c -- the server's TLS context: certificates and keys,
 * priorities and the session ticket key, loaded once before the privilege
 * drop, then one GnuTLS session per STARTTLS.
 *
 * Process:  tlsproxy (root in tlsproxy_pre_jail, mail_owner after).
 * Input:    tern.conf (trusted) and the PEM files it names.
 * Failure:  nothing here exits: a context that did not load is logged
 *           once and every request is then answered status=error, so that
 *           the master does not restart us in a loop and smtpd says 454.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

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

static int
load_priority(const char *str)
{
	const char *errpos = NULL;
	int r;

	r = gnutls_priority_init2(&srv.prio, str, &errpos, 0);
	if (r == GNUTLS_E_SUCCESS)
		return 0;
	srv.prio = NULL;
	if (errpos != NULL && errpos >= str && errpos <= str + strlen(str))
		snprintf(srv.why, sizeof(srv.why), "smtpd_tls_priority: bad "
		    "priority string at \"%s\": %s", errpos,
		    gnutls_strerror(r));
	else
		snprintf(srv.why, sizeof(srv.why), "smtpd_tls_priority: %s",
		    gnutls_strerror(r));
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

void
tlsproxy_pre_jail(struct service_ctx *ctx)
{
	const struct conf *conf = ctx->conf;

	tls_init();
	srv.tickets = conf_bool(conf, "smtpd_tls_session_tickets");
	srv.cache_timeout = (unsigned)conf_time(conf,
	    "smtpd_tls_session_cache_timeout");
	srv.ask_ccert = conf_bool(conf, "smtpd_tls_ask_ccert");
	if (tls_server_creds(conf, &srv.creds, srv.why, sizeof(srv.why)) ==
	    -1)
		goto fail;
	if (load_priority(conf_str(conf, "smtpd_tls_priority")) == -1)
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
	if (!srv.tickets)
		flags |= GNUTLS_NO_TICKETS;
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
