/*
 * SPDX-License-Identifier: ISC
 *
 * qmgr.h -- the queue manager: one process that takes messages from
 * incoming/ and deferred/ into active/, hands their recipients to the
 * delivery agents, records each outcome in the queue file, asks bounce
 * for the notices owed, and removes, defers or expires each message.
 */
#ifndef TERN_QMGR_H
#define TERN_QMGR_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "deliver.h"
#include "qfile.h"
#include "qid.h"
#include "route.h"

struct conf;
struct event;
struct event_base;
struct service_ctx;

#define QMGR_SCAN_INTERVAL	1	/* seconds between incoming/ scans */
#define QMGR_AGENT_IDLE		30	/* seconds an idle agent is kept */
#define QMGR_WRITE_TIMEOUT	10000	/* ms for a request to be written */
#define QMGR_DEAD_AFTER		3	/* failed deliveries: destination dead */
#define QMGR_DEAD_TIME		60	/* seconds a dead destination rests */
#define QMGR_TRANSPORTS_MAX	64
#define QMGR_RCPT_LOG_MAX	1400	/* one bounce/ or defer/ log line */

/* Per recipient, this pass. */
enum rstate {
	RS_IDLE = 0,		/* nothing to do now (final or not ours) */
	RS_QUEUED,		/* in a job, waiting or in flight */
	RS_ANSWERED		/* outcome recorded this pass */
};

/* What the administrator asked for a message in active/ (ternctl). */
enum qmgr_admin {
	ADMIN_NONE = 0,
	ADMIN_HOLD,		/* to hold/ when the pass ends */
	ADMIN_REQUEUE,		/* to incoming/ when the pass ends */
	ADMIN_DELETE		/* removed when the pass ends */
};

/* One message in active/. */
struct qmsg {
	TAILQ_ENTRY(qmsg) entry;
	char		 id[QID_LEN + 1];
	int		 fd;		/* active/ID, read-write */
	struct qfile	 q;		/* the envelope */
	uint8_t		*rstate;	/* enum rstate per recipient */
	size_t		 njobs;		/* jobs not finished */
	size_t		 nnotices;	/* bounce requests in flight */
	bool		 notice_failed;	/* one of them failed: retry later */
	bool		 finishing;
	enum qmgr_admin	 admin;		/* asked for by ternctl */
	unsigned	 admin_uid;	/* who asked */
};
TAILQ_HEAD(qmsg_list, qmsg);

struct job;
struct dest;
struct transport;

/* A connection to one agent process. */
struct agent {
	TAILQ_ENTRY(agent) entry;	/* transport's idle list */
	struct transport *t;
	int		 fd;
	struct event	*ev_read, *ev_timer;
	struct buf	 in;
	struct job	*job;		/* NULL when idle */
	size_t		 nresults;
};
TAILQ_HEAD(agent_list, agent);

/* Recipients of one message for one destination, one request. */
struct job {
	TAILQ_ENTRY(job) entry;
	struct qmsg	*m;
	struct dest	*d;
	uint32_t	*idx;		/* recipient indexes */
	bool		*done;		/* result received */
	size_t		 n;
	bool		 any_ok;	/* a result other than 4.4.x came */
	char		 last_defer[DELIVER_TEXT_MAX + 1];
};
TAILQ_HEAD(job_list, job);

struct dest {
	TAILQ_ENTRY(dest) entry;
	struct transport *t;
	char		 nexthop[ROUTE_NEXTHOP_MAX + 1];
	struct job_list	 jobs;		/* waiting */
	size_t		 active;	/* jobs in flight */
	unsigned	 fails;		/* deliveries in a row that failed */
	time_t		 dead_until;
	char		 dead_why[DELIVER_TEXT_MAX + 1];
};
TAILQ_HEAD(dest_list, dest);

struct transport {
	char		 name[ROUTE_TRANSPORT_MAX + 1];
	size_t		 limit;		/* agent processes (services.conf) */
	size_t		 nconn;
	struct agent_list idle;
	struct dest_list dests;
};

struct qmgr {
	struct service_ctx *ctx;
	struct conf	*conf;
	struct event_base *base;
	int		 qdir;		/* queue_directory */
	struct route_ctx *route;
	struct qmsg_list msgs;
	size_t		 nmsgs, nrcpts;
	size_t		 active_limit, rcpt_limit;
	size_t		 dest_limit, job_rcpt_limit;
	struct transport *transports[QMGR_TRANSPORTS_MAX];
	size_t		 ntransports;
	struct event	*ev_scan, *ev_deferred, *ev_sched;
	bool		 draining;
	bool		 flush;		/* next deferred/ scan: every file due */
	time_t		 deferred_due;	/* 0: scan deferred/ now */
};

extern struct qmgr qmgr;

/* qmgr_queue.c */
void	qmgr_start(struct service_ctx *);
void	qmgr_wake_client(struct service_ctx *, int fd);
void	qmgr_drain(struct service_ctx *);
void	qmgr_pre_jail(struct service_ctx *);
void	qmgr_message_done(struct qmsg *);	/* a job or notice ended */
void	qmgr_record(struct qmsg *, uint32_t index, enum deliver_result,
	    const char *dsn, const char *relay, const char *text, bool agent);

/* qmgr_deliver.c */
void	qmgr_transports_init(void);
void	qmgr_enqueue(struct qmsg *, const char *transport,
	    const char *nexthop, const uint32_t *idx, size_t n);
void	qmgr_schedule(void);
size_t	qmgr_in_flight(void);
void	qmgr_cancel_waiting(struct qmsg *);	/* may finish the message */
void	qmgr_revive(void);		/* forget resting destinations */

/* qmgr_notice.c */
void	qmgr_notices(struct qmsg *);
void	qmgr_mark_warned(struct qmsg *);

#endif
