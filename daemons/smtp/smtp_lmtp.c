/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_lmtp.c -- one delivery request over LMTP (RFC 2033): the session
 * (connect, greeting, LHLO; RSET when it is reused), then the shared
 * transaction of smtp_tx.c.
 *
 * Process:  lmtp (the smtp program with --lmtp; mail_owner, no keys).
 * Input:    server replies (untrusted: lib/smtpc bounds and parses them).
 * Failure:  every outcome is a recipient result: a bad next hop or a
 *           failed connection defers, a 5xx greeting or LHLO bounces
 *           everything, a 4xx defers; a lost or silent connection
 *           defers whatever has no result yet, and ends the session.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp.h"
#include "xmem.h"

/* A failed greeting or LHLO: 5xx bounces everything, else defers. */
static void
refused(struct smtp_sess *s, struct deliver_req *req,
    const struct smtpc_reply *rep, const char *in_reply_to)
{
	char dsn[SMTPC_ENH_MAX + 1], text[DELIVER_TEXT_MAX + 1];
	enum deliver_result res;

	res = smtp_reply_result(s, rep, in_reply_to, dsn, text, sizeof(text));
	if (res == DELIVER_SENT)
		res = DELIVER_DEFERRED;
	smtp_set_rest(req, res, dsn, s->relay, "%s", text);
	smtp_sess_close(s);
}

/* Connect, read the greeting, LHLO.  0, or -1 with every result set. */
static int
sess_open(struct smtp_agent *a, struct deliver_req *req,
    struct smtpc_reply *rep)
{
	struct smtp_sess *s = &a->sess;
	struct smtpc_nexthop nh;
	const char *err;
	char line[SMTPC_CMD_MAX];
	enum smtpc_io io;
	bool resolve;

	if (smtpc_nexthop_parse(req->nexthop, "24", &nh, &err) == -1) {
		smtp_set_rest(req, DELIVER_DEFERRED, "4.3.5", "none",
		    "bad LMTP next hop \"%s\": %s", req->nexthop, err);
		return -1;
	}
	if (smtpc_connect(&s->c, &nh, a->t.connect, s->relay,
	    sizeof(s->relay), &resolve) == -1) {
		smtp_set_rest(req, DELIVER_DEFERRED, resolve ? "4.4.3" :
		    "4.4.1", s->relay, "%s", s->c.err);
		return -1;
	}
	s->open = true;
	s->opened_ms = smtp_now_ms();
	strlcpy(s->nexthop, req->nexthop, sizeof(s->nexthop));
	if ((io = smtpc_read_reply(&s->c, rep, a->t.helo)) != SMTPC_IO_OK) {
		smtp_lost(s, req, io, "receiving the initial server greeting");
		return -1;
	}
	if (rep->code != 220) {
		refused(s, req, rep, "the initial server greeting");
		return -1;
	}
	if ((size_t)snprintf(line, sizeof(line), "LHLO %s\r\n",
	    a->helo_name) >= sizeof(line)) {
		smtp_set_rest(req, DELIVER_DEFERRED, "4.3.5", s->relay,
		    "lmtp_lhlo_name is too long");
		smtp_sess_close(s);
		return -1;
	}
	if ((io = smtp_command(s, rep, line, a->t.helo)) != SMTPC_IO_OK) {
		smtp_lost(s, req, io, "sending LHLO");
		return -1;
	}
	if (rep->code != 250) {
		refused(s, req, rep, "LHLO command");
		return -1;
	}
	smtpc_ext_parse(rep, &s->ext);
	return 0;
}

void
smtp_lmtp_deliver(struct smtp_agent *a, struct deliver_req *req)
{
	struct smtp_sess *s = &a->sess;
	struct smtpc_reply *rep;

	rep = xmalloc(sizeof(*rep));
	if (s->open && strcmp(s->nexthop, req->nexthop) != 0)
		smtp_sess_quit(a);
	if ((s->open && smtp_sess_reuse(a, req, rep)) ||
	    sess_open(a, req, rep) == 0)
		smtp_tx_deliver(a, req);
	free(rep);
}
