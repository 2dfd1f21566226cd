/*
 * SPDX-License-Identifier: ISC
 *
 * smtp.h -- the smtp program: the SMTP and LMTP client delivery agent.
 *
 * One process serves one queue manager connection (docs/ipc.md, "qmgr ->
 * delivery agents") with deliver_serve(), and keeps its connection to
 * the server open from one request to the next while the next hop stays
 * the same.  In LMTP mode (argument --lmtp in services.conf) it speaks
 * RFC 2033 to the next hop of the request: unix:/path or inet:host:port.
 * SMTP mode (outbound mail to remote MX hosts) is not written yet: its
 * requests are answered "deferred" for every recipient.
 *
 * Process:  smtp / lmtp (mail_owner, no keys, no queue access: the
 *           queue file arrives as a read-only descriptor).
 * Input:    requests from qmgr (trusted, checked by lib/deliver);
 *           replies from the server (untrusted, parsed by lib/smtpc).
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <stdbool.h>

#include "deliver.h"
#include "smtpc.h"

struct conf;

/* Every stage's timeout, in milliseconds. */
struct smtp_timeouts {
	int	connect;
	int	helo;		/* greeting, and the LHLO/EHLO reply */
	int	mail;		/* MAIL FROM, and RSET */
	int	rcpt;
	int	data_init;	/* the reply to DATA */
	int	data_xfer;	/* each write of the content */
	int	data_done;	/* the replies after the final dot */
	int	quit;
};

/* The connection kept open between requests. */
struct smtp_sess {
	bool		 open;
	char		 nexthop[DELIVER_NEXTHOP_MAX + 1];
	char		 relay[DELIVER_RELAY_MAX + 1];
	struct smtpc	 c;
	struct smtpc_ext ext;
};

struct smtp_agent {
	bool		 lmtp;		/* --lmtp */
	const char	*helo_name;	/* lmtp_lhlo_name */
	struct smtp_timeouts t;
	struct smtp_sess sess;
};

/*
 * smtp_agent_init -- the settings of mode (lmtp true or false) from
 * conf.  The session starts closed.
 */
void	smtp_agent_init(struct smtp_agent *, const struct conf *, bool lmtp);

/*
 * smtp_agent_args -- the service's arguments: "--lmtp" selects LMTP; no
 * argument, SMTP.  Returns 0, or -1 with *err_r set for anything else.
 */
int	smtp_agent_args(int argc, char **argv, bool *lmtp_r,
	    const char **err_r);

/* smtp_handle -- deliver_serve's handler: one request. */
void	smtp_handle(struct deliver_req *, void *agent);

/* smtp_sess_quit -- say QUIT (waiting at most t.quit) and close. */
void	smtp_sess_quit(struct smtp_agent *);

/*
 * smtp_lmtp_deliver -- deliver one request over LMTP: connect or reuse
 * the session, LHLO, MAIL, RCPT, DATA; sets every recipient's result.
 */
void	smtp_lmtp_deliver(struct smtp_agent *, struct deliver_req *);

/*
 * smtp_log -- one line per recipient, as Postfix writes it:
 * "QID: to=<a>, relay=R, dsn=D, status=S (text)".
 */
void	smtp_log(const struct deliver_req *, const struct deliver_rcpt *);

#endif
