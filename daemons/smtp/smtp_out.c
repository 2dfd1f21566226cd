/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_out.c -- one delivery request over SMTP (RFC 5321): reuse the
 * open session to the same next hop, or try the next hop's addresses in
 * turn (smtp_dest.c): connect, greeting, EHLO (HELO when EHLO gets a
 * 5xx), STARTTLS as the TLS policy says (smtp_tls.c) and EHLO again,
 * then the transaction of smtp_tx.c.
 *
 * Which failures move on to the next address: everything before MAIL
 * FROM (no connection, a greeting other than 220, a refused EHLO and
 * HELO, TLS required and not had), as RFC 5321 5.1 asks and as Postfix
 * does with smtp_skip_5xx_greeting: a 5xx greeting or HELO speaks for
 * that host, not for the domain, so when every address failed the
 * recipients are deferred with the last reason.  Replies to MAIL, RCPT
 * and DATA are the server's verdict on the mail: 4xx defers, 5xx
 * bounces, 421 ends the session and defers the rest (smtp_tx.c).
 *
 * TLS (smtp_tls_security_level): none never asks; may asks when
 * STARTTLS is offered and goes on in plaintext when it is not (logged)
 * or when the server refuses the command.  At every level, a handshake
 * that fails after the server's 220 drops the connection (4.7.5): mail
 * never goes in plaintext once TLS was asked for, not even on a new
 * connection, and the next server is tried, then the mail deferred.
 * encrypt, verify and secure require TLS: STARTTLS not offered (4.7.4)
 * or refused (4.7.5) drop that server too.
 *
 * Process:  smtp (mail_owner, no keys).
 * Input:    server replies (untrusted: lib/smtpc), DNS answers (lib/dns).
 * Failure:  every outcome is a recipient result.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "smtp.h"
#include "xmem.h"

/* Why the last address tried failed: the result if it was the last. */
struct attempt {
	struct smtp_dest_fail	 why;
	bool			 greeted;	/* a session was made */
};

/* One try's context. */
struct try {
	struct smtp_agent	*a;
	struct deliver_req	*req;
	const struct smtp_dest	*d;
	const struct smtp_tls_policy *pol;
	const struct smtp_cand	*c;
	struct smtpc_reply	*rep;
	struct attempt		*at;
};

static void
why_set(struct attempt *at, const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
why_set(struct attempt *at, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	at->why.res = DELIVER_DEFERRED;
	strlcpy(at->why.dsn, dsn, sizeof(at->why.dsn));
	va_start(ap, fmt);
	(void)vsnprintf(at->why.text, sizeof(at->why.text), fmt, ap);
	va_end(ap);
}

/* A reply that ends this try: its text, its dsn as a 4.x.x. */
static int
refused(struct try *t, const char *in_reply_to)
{
	struct smtp_sess *s = &t->a->sess;
	char dsn[SMTPC_ENH_MAX + 1];

	(void)smtp_reply_result(s, t->rep, in_reply_to, dsn, t->at->why.text,
	    sizeof(t->at->why.text));
	dsn[0] = '4';
	t->at->why.res = DELIVER_DEFERRED;
	strlcpy(t->at->why.dsn, dsn, sizeof(t->at->why.dsn));
	smtp_sess_quit(t->a);
	return -1;
}

static int
broke(struct try *t, enum smtpc_io io, const char *what)
{
	struct smtp_sess *s = &t->a->sess;

	smtp_io_why(s, io, what, t->at->why.text, sizeof(t->at->why.text));
	t->at->why.res = DELIVER_DEFERRED;
	strlcpy(t->at->why.dsn, "4.4.2", sizeof(t->at->why.dsn));
	smtp_sess_close(s);
	return -1;
}

/* EHLO, and HELO when EHLO gets a 5xx (RFC 5321 4.1.4).  0 or -1. */
static int
hello(struct try *t, bool helo_ok)
{
	struct smtp_sess *s = &t->a->sess;
	char line[SMTPC_CMD_MAX];
	enum smtpc_io io;

	memset(&s->ext, 0, sizeof(s->ext));
	snprintf(line, sizeof(line), "EHLO %s\r\n", t->a->helo_name);
	if ((io = smtp_command(s, t->rep, line, t->a->t.helo)) != SMTPC_IO_OK)
		return broke(t, io, "sending EHLO");
	if (t->rep->code == 250) {
		smtpc_ext_parse(t->rep, &s->ext);
		return 0;
	}
	if (t->rep->code / 100 != 5 || !helo_ok)
		return refused(t, "EHLO command");
	snprintf(line, sizeof(line), "HELO %s\r\n", t->a->helo_name);
	if ((io = smtp_command(s, t->rep, line, t->a->t.helo)) != SMTPC_IO_OK)
		return broke(t, io, "sending HELO");
	if (t->rep->code != 250)
		return refused(t, "HELO command");
	return 0;
}

/* STARTTLS when the policy says so.  0: go on (TLS or not), -1: next. */
static int
starttls(struct try *t)
{
	struct smtp_sess *s = &t->a->sess;
	enum smtp_tls_level l = t->pol->level;
	char why[512];
	enum smtpc_io io;

	if (l == SMTP_TLS_NONE)
		return 0;
	if (!(s->ext.flags & SMTPC_EXT_STARTTLS)) {
		if (l == SMTP_TLS_MAY) {
			log_info("%s: STARTTLS not offered by %s: plaintext "
			    "(smtp_tls_security_level may)", t->req->queue_id,
			    s->relay);
			return 0;
		}
		why_set(t->at, "4.7.4", "TLS is required, but was not "
		    "offered by host %s", s->relay);
		smtp_sess_quit(t->a);
		return -1;
	}
	if ((io = smtp_command(s, t->rep, "STARTTLS\r\n", t->a->t.helo)) !=
	    SMTPC_IO_OK)
		return broke(t, io, "sending STARTTLS");
	if (t->rep->code != 220) {
		if (l == SMTP_TLS_MAY) {
			log_info("%s: %s refused STARTTLS: plaintext (%d)",
			    t->req->queue_id, s->relay, t->rep->code);
			return 0;
		}
		return refused(t, "STARTTLS command");
	}
	if (smtp_tls_start(t->a, t->req->queue_id, t->pol, t->c, t->d->port,
	    why, sizeof(why)) == -1) {
		log_info("%s: TLS handshake with %s failed: %s",
		    t->req->queue_id, s->relay, why);
		why_set(t->at, "4.7.5", "Cannot start TLS with %s: %s",
		    s->relay, why);
		return -1;
	}
	/* RFC 3207 4.2: forget what the server said before TLS. */
	return hello(t, false);
}

/* One address: a ready session (0), or -1 with t->at saying why not. */
static int
try_one(struct try *t)
{
	struct smtp_agent *a = t->a;
	struct smtp_sess *s = &a->sess;
	enum smtpc_io io;

	if ((size_t)snprintf(s->relay, sizeof(s->relay), "%s[%s]:%u",
	    t->c->host, t->c->addr, t->d->port) >= sizeof(s->relay))
		bug("smtp: relay name longer than its buffer");
	if (smtpc_connect_addr(&s->c, (const struct sockaddr *)t->c->sa,
	    t->c->salen, a->t.connect, s->relay) == -1) {
		why_set(t->at, "4.4.1", "%s", s->c.err);
		return -1;
	}
	s->open = true;
	s->tls = false;
	s->opened_ms = smtp_now_ms();
	if ((io = smtpc_read_reply(&s->c, t->rep, a->t.helo)) != SMTPC_IO_OK)
		return broke(t, io, "receiving the initial server greeting");
	t->at->greeted = true;
	if (t->rep->code != 220)
		return refused(t, "the initial server greeting");
	if (hello(t, true) == -1 || starttls(t) == -1)
		return -1;
	strlcpy(s->nexthop, t->req->nexthop, sizeof(s->nexthop));
	return 0;
}

/* The DANE outcome of the last host looked at. */
struct dane_last {
	char	host[SMTP_NAME_MAX + 1];
	int	r;
	char	why[DELIVER_TEXT_MAX + 1];
};

/*
 * At level dane: the policy of t->c's host into *hp (looked up once for
 * a run of addresses of the same host).  0, or -1 with t->at saying why
 * this host is deferred (a failed or bogus TLSA lookup).
 */
static int
host_policy(struct try *t, const struct smtp_tls_policy *pol,
    struct smtp_tls_policy *hp, struct dns_tlsa_list *tl,
    struct dane_last *last)
{
	if (pol->level != SMTP_TLS_DANE) {
		*hp = *pol;
		return 0;
	}
	if (last->host[0] == '\0' || strcmp(last->host, t->c->host) != 0) {
		strlcpy(last->host, t->c->host, sizeof(last->host));
		last->r = smtp_tls_dane(t->a, t->d, t->c, pol, hp, tl,
		    last->why, sizeof(last->why));
		if (last->r == -1)
			log_info("%s: DANE: %s: %s: deferring this host",
			    t->req->queue_id, t->c->host, last->why);
		else
			log_info("%s: DANE: %s: %s: %s", t->req->queue_id,
			    t->c->host, hp->dane_why,
			    hp->level == SMTP_TLS_DANE ? "TLS required, the "
			    "certificate checked against TLSA" :
			    hp->level == SMTP_TLS_ENCRYPT ? "TLS required, "
			    "no certificate check (encrypt)" :
			    "opportunistic TLS (may)");
	}
	if (last->r == -1)
		why_set(t->at, "4.7.5", "%s", last->why);
	return last->r;
}

/*
 * Each address in turn, at most mx_session_limit sessions (greetings):
 * 0 with a ready session, or -1 with *best the failure to report: the
 * last one of a server that greeted (what it said, or that it lacked
 * TLS, says more than a later refused connection), else the last one.
 */
static int
try_all(struct try *t, const struct smtp_cand *cands, size_t n,
    struct attempt *best, char *relay, size_t rsz)
{
	const struct smtp_tls_policy *pol = t->pol;
	struct smtp_tls_policy *hp;
	struct dns_tlsa_list *tl;
	struct dane_last *last;
	size_t i, sessions = 0;
	int r = -1;

	memset(best, 0, sizeof(*best));
	hp = xmalloc(sizeof(*hp));
	tl = xmalloc(sizeof(*tl));
	last = xcalloc(1, sizeof(*last));
	t->pol = hp;
	for (i = 0; i < n && sessions < t->a->mx_session_limit; i++) {
		t->c = &cands[i];
		memset(t->at, 0, sizeof(*t->at));
		if (host_policy(t, pol, hp, tl, last) == 0) {
			if (try_one(t) == 0) {
				r = 0;
				break;
			}
		} else if ((size_t)snprintf(t->a->sess.relay,
		    sizeof(t->a->sess.relay), "%s[%s]:%u", t->c->host,
		    t->c->addr, t->d->port) >= sizeof(t->a->sess.relay))
			bug("smtp: relay name longer than its buffer");
		if (t->at->greeted)
			sessions++;
		log_info("%s: %s", t->req->queue_id, t->at->why.text);
		if (t->at->greeted || !best->greeted) {
			*best = *t->at;
			strlcpy(relay, t->a->sess.relay, rsz);
		}
	}
	t->pol = pol;
	free(last);
	free(tl);
	free(hp);
	return r;
}

void
smtp_out_deliver(struct smtp_agent *a, struct deliver_req *req)
{
	struct smtp_sess *s = &a->sess;
	struct smtp_tls_policy pol;
	struct smtp_dest d;
	struct smtp_cand *cands;
	struct attempt at, best;
	struct try t;
	char relay[DELIVER_RELAY_MAX + 1];
	char err[DELIVER_TEXT_MAX + 1];
	const char *perr;
	size_t n;

	memset(&t, 0, sizeof(t));
	t.rep = xmalloc(sizeof(*t.rep));
	cands = xcalloc(SMTP_CAND_MAX, sizeof(*cands));
	if (smtp_dest_parse(req->nexthop, &d, &perr) == -1) {
		smtp_set_rest(req, DELIVER_DEFERRED, "4.3.5", "none",
		    "bad SMTP next hop \"%s\": %s", req->nexthop, perr);
		goto out;
	}
	if (smtp_tls_policy(a, req->nexthop, &d, &pol, err, sizeof(err)) ==
	    -1) {
		smtp_set_rest(req, DELIVER_DEFERRED, "4.7.5", "none",
		    "TLS policy for %s: %s", d.host, err);
		goto out;
	}
	if (pol.key[0] != '\0')
		log_info("%s: TLS policy for %s: %s (smtp_tls_policy_maps, "
		    "key %s)", req->queue_id, req->nexthop,
		    smtp_tls_level_name(pol.level), pol.key);
	if (s->open && strcmp(s->nexthop, req->nexthop) != 0)
		smtp_sess_quit(a);
	if (s->open && smtp_sess_reuse(a, req, t.rep)) {
		smtp_tx_deliver(a, req);
		goto out;
	}
	memset(&at.why, 0, sizeof(at.why));
	if ((n = smtp_dest_lookup(a, req->queue_id, &d, cands, SMTP_CAND_MAX,
	    &at.why)) == 0) {
		smtp_set_rest(req, at.why.res, at.why.dsn, "none", "%s",
		    at.why.text);
		goto out;
	}
	t.a = a;
	t.req = req;
	t.d = &d;
	t.pol = &pol;
	t.at = &at;
	if (try_all(&t, cands, n, &best, relay, sizeof(relay)) == 0)
		smtp_tx_deliver(a, req);
	else
		smtp_set_rest(req, DELIVER_DEFERRED, best.why.dsn, relay,
		    "%s", best.why.text);
out:
	free(cands);
	free(t.rep);
}
