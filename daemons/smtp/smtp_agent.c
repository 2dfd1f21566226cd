/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_agent.c -- the smtp program's settings, its mode, the request
 * handler, the per-recipient log line, and the end of an idle session.
 *
 * Process:  smtp / lmtp (mail_owner, no keys).
 * Input:    services.conf arguments (trusted), requests from qmgr.
 * Failure:  bad arguments are fatal at start; everything else becomes a
 *           recipient result.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dns.h"
#include "log.h"
#include "smtp.h"
#include "tls_policy.h"
#include "xmem.h"

static int
ms(const struct conf *conf, const char *name)
{
	return (int)conf_time(conf, name) * 1000;
}

/* The stage timeouts "<proto>_<stage>_timeout"; hello is "helo"/"lhlo". */
static void
timeouts(struct smtp_timeouts *t, const struct conf *conf, const char *proto,
    const char *hello)
{
	const struct {
		const char *stage;
		int	*ms;
	} tab[] = {
		{ "connect", &t->connect }, { hello, &t->helo },
		{ "mail", &t->mail }, { "rcpt", &t->rcpt },
		{ "data_init", &t->data_init }, { "data_xfer", &t->data_xfer },
		{ "data_done", &t->data_done }, { "quit", &t->quit },
	};
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s_timeout", proto,
		    tab[i].stage);
		*tab[i].ms = ms(conf, name);
	}
}

/* inet_protocols: "all", "ipv4", "ipv6", or a list of the last two. */
static int
families(const struct conf *conf)
{
	const char *v = conf_str(conf, "inet_protocols");
	int f = 0;

	if (strstr(v, "all") != NULL)
		return DNS_INET_ALL;
	if (strstr(v, "ipv4") != NULL)
		f |= DNS_INET4;
	if (strstr(v, "ipv6") != NULL)
		f |= DNS_INET6;
	return f != 0 ? f : DNS_INET_ALL;
}

static void
smtp_init(struct smtp_agent *a, const struct conf *conf)
{
	const char *const *proxy;
	char path[PATH_MAX];
	size_t nproxy;

	a->helo_name = conf_str(conf, "smtp_helo_name");
	a->myhostname = conf_str(conf, "myhostname");
	timeouts(&a->t, conf, "smtp", "helo");
	a->starttls_ms = ms(conf, "smtp_starttls_timeout");
	a->queue_dir = conf_str(conf, "queue_directory");
	a->dns_config = conf_str(conf, "dns_resolver_config");
	/* conf_params.c checked the value; auto otherwise. */
	if (dns_dnssec_parse(conf_str(conf, "dnssec_validation"),
	    &a->dnssec) == -1)
		a->dnssec = DNS_DNSSEC_AUTO;
	a->families = families(conf);
	a->mx_address_limit = (size_t)conf_int(conf,
	    "smtp_mx_address_limit");
	a->mx_session_limit = (size_t)conf_int(conf,
	    "smtp_mx_session_limit");
	a->cache_ms = ms(conf, "smtp_connection_cache_time_limit");
	a->reuse_ms = ms(conf, "smtp_connection_reuse_time_limit");
	proxy = conf_list(conf, "proxy_interfaces", &nproxy);
	(void)snprintf(path, sizeof(path), "%s/services.conf",
	    conf_str(conf, "config_directory"));
	smtp_self_load(&a->self, path, proxy, nproxy);
}

void
smtp_agent_init(struct smtp_agent *a, const struct conf *conf, bool lmtp,
    const char *service)
{
	memset(a, 0, sizeof(*a));
	a->lmtp = lmtp;
	a->conf = conf;
	a->service = service;
	a->sess.c.fd = -1;
	if (!lmtp) {
		smtp_init(a, conf);
		return;
	}
	a->helo_name = conf_str(conf, "lmtp_lhlo_name");
	timeouts(&a->t, conf, "lmtp", "lhlo");
}

void
smtp_agent_clear(struct smtp_agent *a)
{
	smtp_sess_quit(a);
	dns_close(&a->dns);
	tls_policy_close(&a->tls_policy);
}

int64_t
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Milliseconds the open session may still wait for a request: the
 * idle limit and the total one, whichever ends first (LMTP: no limit).
 */
static int64_t
sess_left(const struct smtp_agent *a)
{
	const struct smtp_sess *s = &a->sess;
	int64_t now = smtp_now_ms(), idle, total;

	if (a->lmtp)
		return INT32_MAX;
	idle = s->used_ms + a->cache_ms - now;
	total = s->opened_ms + a->reuse_ms - now;
	return idle < total ? idle : total;
}

int
smtp_idle(void *arg)
{
	struct smtp_agent *a = arg;
	int64_t left;

	if (!a->sess.open || a->lmtp)
		return -1;
	if ((left = sess_left(a)) > 0)
		return left > INT32_MAX ? INT32_MAX : (int)left;
	smtp_sess_quit(a);
	return -1;
}

int
smtp_agent_args(int argc, char **argv, bool *lmtp_r, const char **err_r)
{
	*lmtp_r = false;
	if (argc == 0)
		return 0;
	if (argc == 1 && strcmp(argv[0], "--lmtp") == 0) {
		*lmtp_r = true;
		return 0;
	}
	*err_r = "expected no argument (SMTP) or --lmtp";
	return -1;
}

void
smtp_log(const struct deliver_req *req, const struct deliver_rcpt *r)
{
	char to[LOG_SAFE_MAX], relay[LOG_SAFE_MAX], text[1100];
	const char *status;

	switch (r->result) {
	case DELIVER_SENT:
		status = "sent";
		break;
	case DELIVER_BOUNCED:
		status = "bounced";
		break;
	default:
		status = "deferred";
		break;
	}
	log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)",
	    req->queue_id, log_safe(to, sizeof(to), r->addr, strlen(r->addr)),
	    log_safe(relay, sizeof(relay), r->relay, strlen(r->relay)),
	    deliver_delay(req), r->dsn, status, log_safe(text, sizeof(text),
	    r->text, strlen(r->text)));
}

void
smtp_sess_quit(struct smtp_agent *a)
{
	struct smtpc_reply *rep;
	struct smtp_sess *s = &a->sess;

	if (!s->open)
		return;
	if (smtpc_write(&s->c, "QUIT\r\n", 6, a->t.quit) == SMTPC_IO_OK) {
		/* The reply does not matter; only that we wait for it. */
		rep = xmalloc(sizeof(*rep));
		(void)smtpc_read_reply(&s->c, rep, a->t.quit);
		free(rep);
	}
	smtpc_close(&s->c);
	s->open = false;
}

void
smtp_handle(struct deliver_req *req, void *arg)
{
	struct smtp_agent *a = arg;
	size_t i;

	if (a->sess.open && sess_left(a) <= 0)
		smtp_sess_quit(a);
	if (a->lmtp)
		smtp_lmtp_deliver(a, req);
	else
		smtp_out_deliver(a, req);
	a->sess.used_ms = smtp_now_ms();
	for (i = 0; i < req->nrcpt; i++) {
		if (req->rcpts[i].result == DELIVER_NONE)
			deliver_set(&req->rcpts[i], DELIVER_DEFERRED, "4.3.0",
			    "none", "delivery agent did not handle the "
			    "recipient");
		smtp_log(req, &req->rcpts[i]);
	}
}
