/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_agent.c -- the smtp program's settings, its mode, the request
 * handler and the per-recipient log line.
 *
 * Process:  smtp / lmtp (mail_owner, no keys).
 * Input:    services.conf arguments (trusted), requests from qmgr.
 * Failure:  bad arguments are fatal at start; everything else becomes a
 *           recipient result.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "smtp.h"
#include "xmem.h"

static int
ms(const struct conf *conf, const char *name)
{
	return (int)conf_time(conf, name) * 1000;
}

void
smtp_agent_init(struct smtp_agent *a, const struct conf *conf, bool lmtp)
{
	memset(a, 0, sizeof(*a));
	a->lmtp = lmtp;
	a->sess.c.fd = -1;
	if (!lmtp)
		return;
	a->helo_name = conf_str(conf, "lmtp_lhlo_name");
	a->t.connect = ms(conf, "lmtp_connect_timeout");
	a->t.helo = ms(conf, "lmtp_lhlo_timeout");
	a->t.mail = ms(conf, "lmtp_mail_timeout");
	a->t.rcpt = ms(conf, "lmtp_rcpt_timeout");
	a->t.data_init = ms(conf, "lmtp_data_init_timeout");
	a->t.data_xfer = ms(conf, "lmtp_data_xfer_timeout");
	a->t.data_done = ms(conf, "lmtp_data_done_timeout");
	a->t.quit = ms(conf, "lmtp_quit_timeout");
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

	if (a->lmtp)
		smtp_lmtp_deliver(a, req);
	else {
		/*
		 * Outbound SMTP (MX lookup, TLS through tlsproxy) is still to
		 * be written: say so for every recipient, never drop one.
		 */
		for (i = 0; i < req->nrcpt; i++)
			deliver_set(&req->rcpts[i], DELIVER_DEFERRED, "4.3.0",
			    "none", "SMTP client not available yet");
	}
	for (i = 0; i < req->nrcpt; i++) {
		if (req->rcpts[i].result == DELIVER_NONE)
			deliver_set(&req->rcpts[i], DELIVER_DEFERRED, "4.3.0",
			    "none", "delivery agent did not handle the "
			    "recipient");
		smtp_log(req, &req->rcpts[i]);
	}
}
