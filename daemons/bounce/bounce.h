/*
 * SPDX-License-Identifier: ISC
 *
 * bounce.h -- bounce: makes delivery status notifications (RFC 3464)
 * for the queue manager and queues them through cleanup.
 *
 * Process:  bounce (user mail_owner, one client: one notice per process).
 * Input:    from qmgr over private/bounce (docs/ipc.md, "qmgr -> bounce"):
 *           a queue file descriptor and attribute messages, checked
 *           against the file; the file's content and the diagnostics are
 *           untrusted text (lib/dsn makes them safe).
 * Failure:  a bad request is answered status=error and logged; nothing is
 *           queued.  A notice is acknowledged (status=ok) only after
 *           cleanup said the notice's queue file is durable.
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsn.h"
#include "qfile.h"
#include "qid.h"

#define BOUNCE_PROTO		"bounce/1"
#define BOUNCE_RCPT_MAX		100000	/* recipients in one request */
#define BOUNCE_RELAY_MAX	1000
#define BOUNCE_ACTION_MAX	16
#define BOUNCE_DSN_MAX		15	/* "5.1.1"; x.yyy.zzz */
#define BOUNCE_TEXT_KEEP	(DSN_DIAG_MAX + 1)	/* more is cut */
#define BOUNCE_CHUNK		(64 * 1024)	/* a data request to cleanup */

/* Who gets a notice, and from whom (bounce_route). */
enum bounce_to {
	BOUNCE_TO_SENDER,	/* from <>, to the original sender */
	BOUNCE_TO_NOTICE_RCPT,	/* from double_bounce_sender, to
				   bounce_notice_recipient */
	BOUNCE_TO_NOBODY	/* skipped: why says why */
};

struct bounce_route {
	enum bounce_to	 to;
	char		 env_sender[QFILE_ADDR_MAX + 1];	/* "" for <> */
	char		 rcpt[QFILE_ADDR_MAX + 1];
	const char	*why;		/* NOBODY: for the log and the reply */
};

/* The settings bounce_route needs, from tern.conf. */
struct bounce_conf {
	const char	*myorigin;
	const char	*myhostname;
	const char	*double_bounce_sender;
	const char	*notice_rcpt;	/* bounce_notice_recipient */
};

/*
 * bounce_route -- where a notice of kind about a message from sender
 * goes, given the addresses it reports on (rcpts[0..n)):
 *   - a message from double_bounce_sender: nobody (notices never loop);
 *   - from <>: a failure goes to bounce_notice_recipient, from
 *     double_bounce_sender, unless every recipient reported on is
 *     bounce_notice_recipient itself; a delay or a success goes nowhere;
 *   - else to the sender, from <>.
 * Names without a domain get "@myorigin"; a domain equal to myhostname
 * counts as myorigin when addresses are compared (case-insensitively).
 * Returns 0, or -1 when an address does not fit.  Pure.
 */
int	bounce_route(const struct bounce_conf *, const char *sender,
	    enum dsn_kind kind, const char *const *rcpts, size_t n,
	    struct bounce_route *out);

/*
 * bounce_diag_smtp -- does a diagnostic look like a server's reply
 * ("550 5.1.1 ...", "421-..."), which the report calls "smtp;"?  Pure.
 */
bool	bounce_diag_smtp(const char *text);

struct service_ctx;

/* bounce.c: serve one connection from qmgr, then return. */
void	bounce_client(struct service_ctx *, int fd);

#endif
