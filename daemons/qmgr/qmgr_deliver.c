/*
 * SPDX-License-Identifier: ISC
 *
 * qmgr_deliver.c -- destinations, jobs and the connections to the
 * delivery agents (docs/ipc.md, "qmgr -> delivery agents").
 *
 * Each transport is a services.conf service "unix private/NAME"; qmgr
 * opens at most that service's process limit of connections to it, one
 * agent process per connection, reused for request after request and
 * closed after QMGR_AGENT_IDLE seconds without work.  Each destination
 * (transport and next hop) has at most
 * default_destination_concurrency_limit requests in flight; after a
 * failed delivery only one, and after QMGR_DEAD_AFTER failures in a row
 * the destination rests for QMGR_DEAD_TIME seconds, its waiting
 * recipients deferred at once instead of hammering it.
 *
 * Process:  qmgr.
 * Input:    replies from delivery agents: bounded attribute messages,
 *           each checked against the request (index, result, dsn).
 * Failure:  an agent that breaks the protocol, closes, or takes longer
 *           than delivery_agent_timeout is dropped; its recipients that
 *           have no result are deferred.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "attr.h"
#include "conf.h"
#include "fdpass.h"
#include "log.h"
#include "qmgr.h"
#include "services.h"
#include "service.h"
#include "xmem.h"

/* Process limits read from services.conf before the privilege drop. */
struct limit {
	char		name[ROUTE_TRANSPORT_MAX + 1];
	size_t		maxproc;
};
static struct limit	limits[QMGR_TRANSPORTS_MAX];
static size_t		nlimits;

static void	agent_free(struct agent *);
static void	job_end(struct job *);

static void
diag(void *arg, const char *file, unsigned line, const char *svc,
    const char *msg)
{
	log_warnx("%s:%u: %s%s%s", file, line, svc ? svc : "",
	    svc ? ": " : "", msg);
}

void
qmgr_pre_jail(struct service_ctx *ctx)
{
	struct services sv;
	char path[1100];
	int64_t def = conf_int(ctx->conf, "default_process_limit");
	size_t i;

	snprintf(path, sizeof(path), "%s/services.conf", ctx->config_dir);
	if (services_load(path, &sv, diag, NULL) != 0) {
		log_warnx("%s: cannot read the transports' process limits; "
		    "each gets default_process_limit", path);
		return;
	}
	for (i = 0; i < sv.n && nlimits < QMGR_TRANSPORTS_MAX; i++) {
		const struct service_def *d = &sv.defs[i];

		if (d->type != SERVICES_UNIX ||
		    strncmp(d->listen, "private/", 8) != 0 ||
		    !route_valid_transport(d->listen + 8,
		    strlen(d->listen + 8)))
			continue;
		strlcpy(limits[nlimits].name, d->listen + 8,
		    sizeof(limits[nlimits].name));
		limits[nlimits].maxproc = d->maxproc ? d->maxproc :
		    (size_t)def;
		nlimits++;
	}
	services_free(&sv);
}

void
qmgr_transports_init(void)
{
	qmgr.ntransports = 0;
}

static struct transport *
transport_get(const char *name)
{
	struct transport *t;
	size_t i;

	for (i = 0; i < qmgr.ntransports; i++)
		if (strcmp(qmgr.transports[i]->name, name) == 0)
			return qmgr.transports[i];
	if (qmgr.ntransports == QMGR_TRANSPORTS_MAX)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	strlcpy(t->name, name, sizeof(t->name));
	t->limit = (size_t)conf_int(qmgr.conf, "default_process_limit");
	for (i = 0; i < nlimits; i++)
		if (strcmp(limits[i].name, name) == 0)
			t->limit = limits[i].maxproc;
	TAILQ_INIT(&t->idle);
	TAILQ_INIT(&t->dests);
	qmgr.transports[qmgr.ntransports++] = t;
	return t;
}

static struct dest *
dest_get(struct transport *t, const char *nexthop)
{
	struct dest *d;

	TAILQ_FOREACH(d, &t->dests, entry)
		if (strcmp(d->nexthop, nexthop) == 0)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->t = t;
	strlcpy(d->nexthop, nexthop, sizeof(d->nexthop));
	TAILQ_INIT(&d->jobs);
	TAILQ_INSERT_TAIL(&t->dests, d, entry);
	return d;
}

/* A destination with nothing waiting or in flight is forgotten, unless
 * it is resting: then it remembers that until its time is up. */
static void
dest_gc(struct dest *d)
{
	if (d->active == 0 && TAILQ_EMPTY(&d->jobs) &&
	    d->dead_until <= time(NULL)) {
		TAILQ_REMOVE(&d->t->dests, d, entry);
		free(d);
	}
}

static void
job_free(struct job *j)
{
	free(j->idx);
	free(j->done);
	free(j);
}

void
qmgr_enqueue(struct qmsg *m, const char *transport, const char *nexthop,
    const uint32_t *idx, size_t n)
{
	struct transport *t;
	struct dest *d;
	struct job *j;
	size_t i, k, len;

	if ((t = transport_get(transport)) == NULL) {
		for (i = 0; i < n; i++)
			qmgr_record(m, idx[i], DELIVER_DEFERRED, "4.3.0", "",
			    "too many transports", false);
		return;
	}
	d = dest_get(t, nexthop);
	for (i = 0; i < n; i += len) {
		len = n - i;
		if (len > qmgr.job_rcpt_limit)
			len = qmgr.job_rcpt_limit;
		if (len > DELIVER_RCPT_MAX)
			len = DELIVER_RCPT_MAX;
		j = xcalloc(1, sizeof(*j));
		j->m = m;
		j->d = d;
		j->n = len;
		j->idx = xcalloc(len, sizeof(*j->idx));
		j->done = xcalloc(len, sizeof(*j->done));
		for (k = 0; k < len; k++) {
			j->idx[k] = idx[i + k];
			m->rstate[idx[i + k]] = RS_QUEUED;
		}
		m->njobs++;
		TAILQ_INSERT_TAIL(&d->jobs, j, entry);
	}
}

/* Defer what a job has not had an answer for. */
static void
job_defer_rest(struct job *j, const char *dsn, const char *relay,
    const char *text)
{
	size_t k;

	for (k = 0; k < j->n; k++)
		if (!j->done[k]) {
			j->done[k] = true;
			qmgr_record(j->m, j->idx[k], DELIVER_DEFERRED, dsn,
			    relay, text, false);
		}
}

/* ---- agent connections ------------------------------------------------ */

static void
agent_arm(struct agent *a, int seconds)
{
	struct timeval tv = { seconds, 0 };

	evtimer_add(a->ev_timer, &tv);
}

/* The agent failed: its job's unanswered recipients are deferred. */
static void
agent_fail(struct agent *a, const char *why)
{
	struct job *j = a->job;

	if (j != NULL) {
		log_warnx("%s: delivery agent %s failed: %s", j->m->id,
		    a->t->name, why);
		job_defer_rest(j, "4.3.0", a->t->name,
		    "delivery agent failed");
		a->job = NULL;
		j->any_ok = true;	/* not the destination's fault */
		job_end(j);
	}
	agent_free(a);
	qmgr_schedule();
}

static void
agent_free(struct agent *a)
{
	if (a->job == NULL && a->fd != -1) {
		/* On the idle list unless it never got there. */
		struct agent *x;

		TAILQ_FOREACH(x, &a->t->idle, entry)
			if (x == a) {
				TAILQ_REMOVE(&a->t->idle, a, entry);
				break;
			}
	}
	if (a->ev_read != NULL)
		event_free(a->ev_read);
	if (a->ev_timer != NULL)
		event_free(a->ev_timer);
	if (a->fd != -1)
		close(a->fd);
	buf_clear(&a->in);
	a->t->nconn--;
	free(a);
}

static bool
str_is(const struct attr *a, const char *s)
{
	return a != NULL && a->type == ATTR_T_STR && a->len == strlen(s) &&
	    memcmp(a->val, s, a->len) == 0;
}

static void
copy_str(const struct attr *a, char *buf, size_t sz)
{
	size_t n;

	if (a == NULL || a->type != ATTR_T_STR) {
		buf[0] = '\0';
		return;
	}
	n = a->len < sz - 1 ? a->len : sz - 1;
	memcpy(buf, a->val, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ||
		    buf[i] == '\0')
			buf[i] = ' ';
}

/* One reply message; -1: protocol error (why in *err_r). */
static int
agent_reply(struct agent *a, const struct attr_msg *msg, const char **err_r)
{
	struct job *j = a->job;
	char dsn[DELIVER_DSN_MAX + 1], relay[DELIVER_RELAY_MAX + 1];
	char text[DELIVER_TEXT_MAX + 1];
	const struct attr *st = attr_find(msg, "status");
	const struct attr *res;
	enum deliver_result r;
	int64_t index;
	size_t k;

	if (str_is(st, "done")) {
		for (k = 0; k < j->n; k++)
			if (!j->done[k]) {
				*err_r = "done before every recipient";
				return -1;
			}
		a->job = NULL;
		job_end(j);
		TAILQ_INSERT_TAIL(&a->t->idle, a, entry);
		agent_arm(a, QMGR_AGENT_IDLE);
		qmgr_schedule();
		return 1;
	}
	if (!str_is(st, "rcpt")) {
		*err_r = "unexpected status";
		return -1;
	}
	if (attr_get_int(msg, "index", &index) == -1) {
		*err_r = "no index";
		return -1;
	}
	for (k = 0; k < j->n; k++)
		if (j->idx[k] == index && !j->done[k])
			break;
	if (k == j->n) {
		*err_r = "result for a recipient not asked for";
		return -1;
	}
	res = attr_find(msg, "result");
	if (str_is(res, "sent"))
		r = DELIVER_SENT;
	else if (str_is(res, "bounced"))
		r = DELIVER_BOUNCED;
	else if (str_is(res, "deferred"))
		r = DELIVER_DEFERRED;
	else {
		*err_r = "bad result";
		return -1;
	}
	copy_str(attr_find(msg, "dsn"), dsn, sizeof(dsn));
	copy_str(attr_find(msg, "relay"), relay, sizeof(relay));
	copy_str(attr_find(msg, "text"), text, sizeof(text));
	if (dsn[0] != (r == DELIVER_SENT ? '2' : r == DELIVER_BOUNCED ? '5' :
	    '4') || dsn[1] != '.')
		strlcpy(dsn, r == DELIVER_SENT ? "2.0.0" :
		    r == DELIVER_BOUNCED ? "5.0.0" : "4.0.0", sizeof(dsn));
	j->done[k] = true;
	if (r != DELIVER_DEFERRED || strncmp(dsn, "4.4.", 4) != 0)
		j->any_ok = true;
	else
		strlcpy(j->last_defer, text, sizeof(j->last_defer));
	qmgr_record(j->m, (uint32_t)index, r, dsn, relay, text, true);
	return 0;
}

static void
on_agent_read(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	struct attr_msg msg;
	uint8_t tmp[16384];
	const char *err = "";
	size_t total;
	ssize_t n;
	int r;

	if (what & EV_TIMEOUT) {
		if (a->job == NULL) {	/* idle long enough */
			agent_free(a);
			qmgr_schedule();
		} else
			agent_fail(a, "timed out");
		return;
	}
	n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (a->job == NULL) {	/* an idle agent went away */
			agent_free(a);
			qmgr_schedule();
		} else
			agent_fail(a, n == 0 ? "connection closed" :
			    strerror(errno));
		return;
	}
	if (a->job == NULL) {
		agent_fail(a, "data while idle");
		return;
	}
	if (buf_add(&a->in, tmp, (size_t)n) == -1) {
		agent_fail(a, "reply too large");
		return;
	}
	attr_msg_init(&msg);
	for (;;) {
		switch (attr_frame(a->in.data, a->in.len, &total, &err)) {
		case ATTR_MORE:
			attr_msg_clear(&msg);
			return;
		case ATTR_ERR:
			attr_msg_clear(&msg);
			agent_fail(a, err);
			return;
		default:
			break;
		}
		if (attr_decode(a->in.data + 4, total - 4, &msg, &err) !=
		    ATTR_OK || (r = agent_reply(a, &msg, &err)) == -1) {
			attr_msg_clear(&msg);
			agent_fail(a, err);
			return;
		}
		buf_consume(&a->in, total);
		if (r == 1) {		/* done: the agent is idle now */
			attr_msg_clear(&msg);
			if (a->in.len > 0)
				agent_fail(a, "data after done");
			return;
		}
	}
}

static void
on_agent_timer(evutil_socket_t fd, short what, void *arg)
{
	on_agent_read(-1, EV_TIMEOUT, arg);
}

static struct agent *
agent_connect(struct transport *t, const char **err_r)
{
	struct sockaddr_un sun;
	struct agent *a;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/%s", conf_str(qmgr.conf, "queue_directory"),
	    t->name) >= sizeof(sun.sun_path)) {
		*err_r = "socket path too long";
		return NULL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*err_r = strerror(errno);
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*err_r = strerror(errno);
		close(fd);
		return NULL;
	}
	a = xcalloc(1, sizeof(*a));
	a->t = t;
	a->fd = fd;
	buf_init(&a->in, ATTR_MSG_MAX + 4);
	a->ev_read = event_new(qmgr.base, fd, EV_READ | EV_PERSIST,
	    on_agent_read, a);
	a->ev_timer = evtimer_new(qmgr.base, on_agent_timer, a);
	if (a->ev_read == NULL || a->ev_timer == NULL)
		fatalx("cannot create events");
	event_add(a->ev_read, NULL);
	t->nconn++;
	return a;
}

/* Send j's request on a; -1 with *err_r on failure. */
static int
agent_send(struct agent *a, struct job *j, const char **err_r)
{
	const struct qfile *q = &j->m->q;
	const struct qfile_rcpt *r;
	char path[64];
	struct buf out;
	int rfd, rc = -1;
	size_t k;

	snprintf(path, sizeof(path), "active/%s", j->m->id);
	if ((rfd = openat(qmgr.qdir, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		*err_r = strerror(errno);
		return -1;
	}
	if (fdpass_send(a->fd, &rfd, 1, "Q", 1) == -1) {
		*err_r = strerror(errno);
		close(rfd);
		return -1;
	}
	close(rfd);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "deliver") == -1 ||
	    attr_put_str(&out, "proto", DELIVER_PROTO) == -1 ||
	    attr_put_str(&out, "queue_id", j->m->id) == -1 ||
	    attr_put_str(&out, "nexthop", j->d->nexthop) == -1 ||
	    attr_put_str(&out, "sender", q->sender.addr) == -1 ||
	    attr_put_int(&out, "nrcpt", (int64_t)j->n) == -1 ||
	    attr_write(a->fd, &out, QMGR_WRITE_TIMEOUT, err_r) == -1)
		goto out;
	for (k = 0; k < j->n; k++) {
		r = &q->rcpts[j->idx[k]];
		attr_out_reset(&out);
		if (attr_put_str(&out, "request", "rcpt") == -1 ||
		    attr_put_int(&out, "index", j->idx[k]) == -1 ||
		    attr_put_str(&out, "addr", r->addr) == -1 ||
		    attr_put_str(&out, "orcpt_type", r->orcpt_type) == -1 ||
		    attr_put_str(&out, "orcpt", r->orcpt) == -1 ||
		    attr_put_int(&out, "notify", r->notify) == -1 ||
		    attr_write(a->fd, &out, QMGR_WRITE_TIMEOUT, err_r) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_clear(&out);
	return rc;
}

/* ---- jobs ------------------------------------------------------------- */

static void
job_end(struct job *j)
{
	struct dest *d = j->d;
	struct qmsg *m = j->m;
	time_t now = time(NULL);

	d->active--;
	if (j->any_ok)
		d->fails = 0;
	else if (++d->fails >= QMGR_DEAD_AFTER) {
		d->dead_until = now + QMGR_DEAD_TIME;
		strlcpy(d->dead_why, j->last_defer, sizeof(d->dead_why));
		log_info("destination %s:%s failed %u times in a row: "
		    "resting for %ds", d->t->name, d->nexthop, d->fails,
		    QMGR_DEAD_TIME);
	}
	job_free(j);
	m->njobs--;
	qmgr_message_done(m);
	dest_gc(d);
}

static void
job_start(struct job *j, struct agent *a)
{
	const char *err = "";

	TAILQ_REMOVE(&j->d->jobs, j, entry);
	j->d->active++;
	a->job = j;
	a->nresults = 0;
	buf_reset(&a->in);
	if (agent_send(a, j, &err) == -1) {
		agent_fail(a, err);
		return;
	}
	agent_arm(a, (int)conf_time(qmgr.conf, "delivery_agent_timeout"));
}

/* A resting destination: what waits for it is deferred now. */
static void
dest_defer_all(struct dest *d)
{
	struct job *j;
	char text[DELIVER_TEXT_MAX + 1];

	snprintf(text, sizeof(text), "delivery temporarily suspended: %.900s",
	    d->dead_why[0] != '\0' ? d->dead_why : "destination not "
	    "responding");
	while ((j = TAILQ_FIRST(&d->jobs)) != NULL) {
		TAILQ_REMOVE(&d->jobs, j, entry);
		d->active++;		/* job_end counts it back */
		j->any_ok = true;	/* not a new failure */
		job_defer_rest(j, "4.4.1", d->nexthop, text);
		job_end(j);
	}
}

/* Start what can start.  Runs from its own event, never nested. */
static void
schedule_run(evutil_socket_t fd, short what, void *arg)
{
	struct transport *t;
	struct dest *d, *dnext;
	struct agent *a;
	struct job *j;
	const char *err;
	time_t now = time(NULL);
	size_t i, limit;
	bool progress = true;

	while (progress) {
		progress = false;
		for (i = 0; i < qmgr.ntransports; i++) {
			t = qmgr.transports[i];
			for (d = TAILQ_FIRST(&t->dests); d != NULL; d = dnext) {
				dnext = TAILQ_NEXT(d, entry);
				if (TAILQ_EMPTY(&d->jobs)) {
					dest_gc(d);
					continue;
				}
				if (d->dead_until > now) {
					dest_defer_all(d);
					progress = true;
					break;	/* d may be gone */
				}
				limit = d->fails > 0 ? 1 : qmgr.dest_limit;
				if (d->active >= limit)
					continue;
				if ((a = TAILQ_FIRST(&t->idle)) != NULL) {
					TAILQ_REMOVE(&t->idle, a, entry);
					evtimer_del(a->ev_timer);
				} else if (t->nconn < t->limit) {
					err = "";
					a = agent_connect(t, &err);
					if (a == NULL) {
						j = TAILQ_FIRST(&d->jobs);
						TAILQ_REMOVE(&d->jobs, j, entry);
						d->active++;
						log_warnx("transport %s: cannot "
						    "connect: %s", t->name,
						    err);
						job_defer_rest(j, "4.3.0", "",
						    "mail transport "
						    "unavailable");
						/* The transport's, not the
						 * destination's, failure. */
						j->any_ok = true;
						job_end(j);
						progress = true;
						break;
					}
				} else
					continue;
				job_start(TAILQ_FIRST(&d->jobs), a);
				/* Round robin: the others go first next. */
				if (!TAILQ_EMPTY(&t->dests)) {
					struct dest *x;

					TAILQ_FOREACH(x, &t->dests, entry)
						if (x == d)
							break;
					if (x != NULL) {
						TAILQ_REMOVE(&t->dests, d,
						    entry);
						TAILQ_INSERT_TAIL(&t->dests, d,
						    entry);
					}
				}
				progress = true;
				break;	/* the lists may have changed */
			}
		}
	}
}

void
qmgr_schedule(void)
{
	if (qmgr.ev_sched == NULL) {
		qmgr.ev_sched = event_new(qmgr.base, -1, 0, schedule_run, NULL);
		if (qmgr.ev_sched == NULL)
			fatalx("cannot create an event");
	}
	event_active(qmgr.ev_sched, 0, 0);
}

size_t
qmgr_in_flight(void)
{
	size_t i, n = 0;
	struct dest *d;

	for (i = 0; i < qmgr.ntransports; i++)
		TAILQ_FOREACH(d, &qmgr.transports[i]->dests, entry)
			n += d->active;
	return n;
}

/*
 * The administrator took m away (ternctl hold, delete, requeue): its jobs
 * that wait for an agent are dropped -- their recipients stay pending in
 * the file -- and the pass ends once the jobs in flight have answered.
 * m may be finished and freed before this returns.
 */
void
qmgr_cancel_waiting(struct qmsg *m)
{
	struct dest *d, *dnext;
	struct job *j, *jnext;
	size_t i;

	for (i = 0; i < qmgr.ntransports; i++) {
		for (d = TAILQ_FIRST(&qmgr.transports[i]->dests); d != NULL;
		    d = dnext) {
			dnext = TAILQ_NEXT(d, entry);
			for (j = TAILQ_FIRST(&d->jobs); j != NULL; j = jnext) {
				jnext = TAILQ_NEXT(j, entry);
				if (j->m != m)
					continue;
				TAILQ_REMOVE(&d->jobs, j, entry);
				job_free(j);
				m->njobs--;
			}
			dest_gc(d);
		}
	}
	qmgr_message_done(m);
}

/* ternctl flush: every destination gets its full concurrency again. */
void
qmgr_revive(void)
{
	struct dest *d, *dnext;
	size_t i;

	for (i = 0; i < qmgr.ntransports; i++) {
		for (d = TAILQ_FIRST(&qmgr.transports[i]->dests); d != NULL;
		    d = dnext) {
			dnext = TAILQ_NEXT(d, entry);
			d->fails = 0;
			d->dead_until = 0;
			d->dead_why[0] = '\0';
			dest_gc(d);
		}
	}
}
