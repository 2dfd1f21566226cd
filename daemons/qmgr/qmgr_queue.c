/*
 * SPDX-License-Identifier: ISC
 *
 * qmgr_queue.c -- the queue manager's files: scans of incoming/ and
 * deferred/, taking a message into active/, recording outcomes, and
 * removing, deferring or expiring a message when its pass is over.
 *
 * Process:  qmgr (mail_owner, one instance: active/.lock).
 * Input:    queue files (written by cleanup; parsed strictly by
 *           lib/qfile, envelope only); a file that does not parse goes
 *           to corrupt/ and is logged.  Wake-up bytes from cleanup.
 * Failure:  file system errors are logged and the message stays where
 *           it is, to be tried again; nothing is removed that still has
 *           a recipient to deliver or a notice to send.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "qmgr.h"
#include "service.h"
#include "xmem.h"

#define ENVELOPE_MAX	((size_t)64 * 1024 * 1024)

struct qmgr qmgr;

static void	finish(struct qmsg *);

/* ---- logs of outcomes: bounce/ID (notices owed), defer/ID ----------- */

/* Tabs and line ends would break the record: make them spaces. */
static void
clean(char *dst, size_t sz, const char *s)
{
	size_t i;

	strlcpy(dst, s, sz);
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

/* Append "index action dsn relay text" to dir/ID; sync: fsync it. */
static int
log_append(const char *dir, const struct qmsg *m, uint32_t index,
    const char *action, const char *dsn, const char *relay,
    const char *text, bool sync)
{
	char path[64], line[QMGR_RCPT_LOG_MAX + 1], r[DELIVER_RELAY_MAX + 1];
	char t[DELIVER_TEXT_MAX + 1];
	ssize_t n;
	int fd, len, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, m->id);
	clean(r, sizeof(r), relay);
	clean(t, sizeof(t), text);
	len = snprintf(line, sizeof(line), "%u\t%s\t%s\t%s\t%s\n",
	    (unsigned)index, action, dsn, r, t);
	if (len < 0 || (size_t)len >= sizeof(line))
		len = (int)strlen(line);
	if ((fd = openat(qmgr.qdir, path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s: cannot open %s", m->id, path);
		return -1;
	}
	n = write(fd, line, (size_t)len);
	if (n != len || (sync && fsync(fd) == -1)) {
		log_warn("%s: cannot write %s", m->id, path);
		rc = -1;
	}
	close(fd);
	return rc;
}

static void
log_remove(const char *dir, const char *id)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (unlinkat(qmgr.qdir, path, 0) == -1 && errno != ENOENT)
		log_warn("%s: cannot remove %s", id, path);
}

/* ---- outcomes -------------------------------------------------------- */

static const char *
status_word(enum deliver_result r)
{
	switch (r) {
	case DELIVER_SENT:
		return "sent";
	case DELIVER_BOUNCED:
		return "bounced";
	default:
		return "deferred";
	}
}

static double
delay_of(const struct qmsg *m)
{
	struct timespec now;
	double d;

	clock_gettime(CLOCK_REALTIME, &now);
	d = (double)(now.tv_sec - m->q.arrival_sec) +
	    ((double)now.tv_nsec / 1e9 - (double)m->q.arrival_usec / 1e6);
	return d < 0 ? 0 : d;
}

static bool
wants(uint8_t notify, uint8_t what)
{
	if (notify == 0)
		return what == QFILE_NOTIFY_FAILURE;
	return (notify & what) != 0;
}

void
qmgr_record(struct qmsg *m, uint32_t index, enum deliver_result res,
    const char *dsn, const char *relay, const char *text, bool agent)
{
	struct qfile_rcpt *r = &m->q.rcpts[index];
	char safe[LOG_SAFE_MAX];
	uint8_t st;

	/*
	 * One line per recipient: an agent's answer is logged by the agent
	 * (it knows more: orig_to, each alias target); what qmgr decides
	 * itself (error:, discard:, routing, expiry, a failed agent) here.
	 */
	if (agent)
		log_debug("%s: to=<%s>, relay=%s, dsn=%s, status=%s (%s)",
		    m->id, log_safe(safe, sizeof(safe), r->addr,
		    strlen(r->addr)), relay, dsn, status_word(res), text);
	else
		log_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, "
		    "status=%s (%s)", m->id, log_safe(safe, sizeof(safe),
		    r->addr, strlen(r->addr)), relay[0] != '\0' ? relay :
		    "none", delay_of(m), dsn, status_word(res), text);
	m->rstate[index] = RS_ANSWERED;
	switch (res) {
	case DELIVER_SENT:
		st = QFILE_RS_DONE;
		if (wants(r->notify, QFILE_NOTIFY_SUCCESS)) {
			if (log_append("bounce", m, index, "delivered", dsn,
			    relay, text, true) == 0)
				st = QFILE_RS_DELIVERED;
		}
		break;
	case DELIVER_BOUNCED:
		st = QFILE_RS_DONE;
		if (wants(r->notify, QFILE_NOTIFY_FAILURE)) {
			/* Without its reason a notice says too little, but
			 * it still goes: a lost bounce is worse. */
			(void)log_append("bounce", m, index, "failed", dsn,
			    relay, text, true);
			st = QFILE_RS_FAILED;
		}
		break;
	default:
		(void)log_append("defer", m, index, "delayed", dsn, relay,
		    text, false);
		return;
	}
	/*
	 * Not synced here: finish() syncs once, before the file outlives
	 * the pass (deferred/) or notices are asked for, and never for a
	 * file it removes.  A crash before then delivers again: twice,
	 * never lost.
	 */
	if (qfile_rcpt_put_status(m->fd, r->status_off, st) == -1) {
		/* Not recorded: the recipient is tried again later. */
		log_warn("%s: cannot record the status of <%s>", m->id,
		    log_safe(safe, sizeof(safe), r->addr, strlen(r->addr)));
		return;
	}
	r->status = st;
}

/* ---- taking a message in --------------------------------------------- */

static void
free_msg(struct qmsg *m)
{
	TAILQ_REMOVE(&qmgr.msgs, m, entry);
	qmgr.nmsgs--;
	qmgr.nrcpts -= m->q.nrcpt;
	if (m->fd != -1)
		close(m->fd);
	qfile_clear(&m->q);
	free(m->rstate);
	free(m);
}

static void
to_corrupt(const char *from, const char *id, const char *why)
{
	char a[64], b[64];

	snprintf(a, sizeof(a), "%s/%s", from, id);
	snprintf(b, sizeof(b), "corrupt/%s", id);
	if (renameat(qmgr.qdir, a, qmgr.qdir, b) == -1)
		log_warn("%s: cannot move %s to corrupt/", id, a);
	else
		log_error("%s: corrupt queue file moved to corrupt/: %s", id,
		    why);
}

/* Route the pending recipients and queue their jobs. */
static void
plan(struct qmsg *m)
{
	struct route *routes;
	uint32_t *idx;
	bool *taken;
	char err[256];
	size_t i, k, n;

	routes = xcalloc(m->q.nrcpt, sizeof(*routes));
	idx = xcalloc(m->q.nrcpt, sizeof(*idx));
	taken = xcalloc(m->q.nrcpt, sizeof(*taken));
	for (i = 0; i < m->q.nrcpt; i++) {
		if (m->q.rcpts[i].status != QFILE_RS_PENDING) {
			taken[i] = true;
			continue;
		}
		if (route_resolve(qmgr.route, m->q.rcpts[i].addr, &routes[i],
		    err, sizeof(err)) == -1) {
			qmgr_record(m, (uint32_t)i, DELIVER_DEFERRED, "4.3.0",
			    "", err, false);
			taken[i] = true;
			continue;
		}
		if (strcmp(routes[i].transport, "discard") == 0) {
			qmgr_record(m, (uint32_t)i, DELIVER_SENT, "2.0.0",
			    "none", routes[i].nexthop[0] != '\0' ?
			    routes[i].nexthop : "discarded", false);
			taken[i] = true;
		} else if (strcmp(routes[i].transport, "error") == 0) {
			qmgr_record(m, (uint32_t)i, DELIVER_BOUNCED, "5.0.0",
			    "none", routes[i].nexthop[0] != '\0' ?
			    routes[i].nexthop : "mail delivery refused", false);
			taken[i] = true;
		}
	}
	/* Group by transport and next hop, first seen first. */
	for (i = 0; i < m->q.nrcpt; i++) {
		if (taken[i])
			continue;
		n = 0;
		for (k = i; k < m->q.nrcpt; k++) {
			if (taken[k] || strcmp(routes[k].transport,
			    routes[i].transport) != 0 ||
			    strcmp(routes[k].nexthop, routes[i].nexthop) != 0)
				continue;
			taken[k] = true;
			idx[n++] = (uint32_t)k;
		}
		qmgr_enqueue(m, routes[i].transport, routes[i].nexthop, idx,
		    n);
	}
	free(routes);
	free(idx);
	free(taken);
}

/*
 * A file in active/ that cannot be opened or read now (not a corrupt one)
 * goes to deferred/, due at once: the next scan of deferred/ tries again,
 * instead of leaving it in active/ until qmgr restarts.
 */
static void
put_back(const char *id)
{
	char from[64], to[64];

	snprintf(from, sizeof(from), "active/%s", id);
	snprintf(to, sizeof(to), "deferred/%s", id);
	if (renameat(qmgr.qdir, from, qmgr.qdir, to) == -1)
		log_warn("%s: cannot move %s to deferred/", id, from);
}

/* Take the file sub/id into active/ and start its pass. */
static void
take_in(const char *sub, const char *id)
{
	char from[64], to[64], safe[LOG_SAFE_MAX];
	const char *err;
	struct qmsg *m;
	int fd;

	snprintf(from, sizeof(from), "%s/%s", sub, id);
	snprintf(to, sizeof(to), "active/%s", id);
	if (strcmp(sub, "active") != 0 &&
	    renameat(qmgr.qdir, from, qmgr.qdir, to) == -1) {
		if (errno != ENOENT)
			log_warn("%s: cannot move %s to active/", id, from);
		return;
	}
	if ((fd = openat(qmgr.qdir, to, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1) {
		log_warn("%s: cannot open %s", id, to);
		put_back(id);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	strlcpy(m->id, id, sizeof(m->id));
	m->fd = fd;
	qfile_init(&m->q);
	if (qfile_read_envelope(fd, ENVELOPE_MAX, &m->q, &err) == -1) {
		if (errno == EBADMSG || errno == EFBIG)
			to_corrupt("active", id, err);
		else {
			log_warnx("%s: cannot read %s: %s", id, to, err);
			put_back(id);
		}
		close(fd);
		qfile_clear(&m->q);
		free(m);
		return;
	}
	m->rstate = xcalloc(m->q.nrcpt, 1);
	TAILQ_INSERT_TAIL(&qmgr.msgs, m, entry);
	qmgr.nmsgs++;
	qmgr.nrcpts += m->q.nrcpt;
	log_remove("defer", id);
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id,
	    log_safe(safe, sizeof(safe), m->q.sender.addr,
	    strlen(m->q.sender.addr)),
	    (unsigned long long)m->q.content_size, m->q.nrcpt);
	m->njobs++;		/* hold the message while planning */
	plan(m);
	m->njobs--;
	qmgr_message_done(m);
	qmgr_schedule();
}

static bool
room(void)
{
	if (qmgr.draining)
		return false;
	if (qmgr.nmsgs == 0)
		return true;
	return qmgr.nmsgs < qmgr.active_limit && qmgr.nrcpts < qmgr.rcpt_limit;
}

/*
 * Take in what sub/ holds (deferred/: only what is due).  Returns false
 * when it stopped for want of room.
 */
static bool
scan(const char *sub, bool due_only)
{
	struct dirent *de;
	struct stat st;
	char path[64];
	time_t now = time(NULL);
	DIR *d;
	int fd;
	bool all = true;

	if ((fd = openat(qmgr.qdir, sub, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("cannot open %s/", sub);
		if (fd != -1)
			close(fd);
		return true;
	}
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (!room()) {
			all = false;
			break;
		}
		if (due_only) {
			snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
			if (fstatat(qmgr.qdir, path, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 || st.st_mtime > now)
				continue;
		}
		take_in(sub, de->d_name);
	}
	closedir(d);
	return all;
}

static void
on_scan(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { QMGR_SCAN_INTERVAL, 0 };
	time_t now = time(NULL);

	scan("incoming", false);
	if (now >= qmgr.deferred_due) {
		/* A flush takes every file, due or not. */
		if (scan("deferred", !qmgr.flush)) {
			qmgr.deferred_due = now +
			    conf_time(qmgr.conf, "queue_run_delay");
			qmgr.flush = false;
		}
	}
	evtimer_add(qmgr.ev_scan, &tv);
}

/* Scan soon: cleanup said a message came. */
static void
scan_soon(void)
{
	struct timeval tv = { 0, 0 };

	if (!qmgr.draining)
		evtimer_add(qmgr.ev_scan, &tv);
}

/* ---- the end of a pass ----------------------------------------------- */

static void
remove_msg(struct qmsg *m)
{
	char path[64];

	snprintf(path, sizeof(path), "active/%s", m->id);
	if (unlinkat(qmgr.qdir, path, 0) == -1) {
		log_warn("%s: cannot remove %s", m->id, path);
		return;
	}
	log_remove("bounce", m->id);
	log_remove("defer", m->id);
	log_info("%s: removed", m->id);
}

static void
defer_msg(struct qmsg *m, time_t wait)
{
	char from[64], to[64];
	struct timespec ts[2];

	snprintf(from, sizeof(from), "active/%s", m->id);
	snprintf(to, sizeof(to), "deferred/%s", m->id);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) + wait;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	/* The time first: a file in deferred/ with an old time is due. */
	if (futimens(m->fd, ts) == -1)
		log_warn("%s: cannot set the retry time", m->id);
	if (renameat(qmgr.qdir, from, qmgr.qdir, to) == -1)
		log_warn("%s: cannot move %s to deferred/", m->id, from);
	else
		log_debug("%s: deferred for %llds", m->id, (long long)wait);
}

/* Recipients still pending past the lifetime fail now. */
static void
expire(struct qmsg *m)
{
	int64_t life, age;
	char text[200];
	size_t i;

	life = conf_time(qmgr.conf, m->q.sender.addr[0] == '\0' ?
	    "bounce_queue_lifetime" : "maximal_queue_lifetime");
	age = (int64_t)time(NULL) - m->q.arrival_sec;
	if (age < life)
		return;
	snprintf(text, sizeof(text), "message expired: still undeliverable "
	    "after %lld days in the queue", (long long)(age / 86400));
	for (i = 0; i < m->q.nrcpt; i++)
		if (m->q.rcpts[i].status == QFILE_RS_PENDING)
			qmgr_record(m, (uint32_t)i, DELIVER_BOUNCED, "4.4.7",
			    "none", text, false);
}

/* Whether some recipient has status st. */
static bool
any_status(const struct qmsg *m, uint8_t st)
{
	size_t i;

	for (i = 0; i < m->q.nrcpt; i++)
		if (m->q.rcpts[i].status == st)
			return true;
	return false;
}

/* A recipient at status 1 or 2: a notice still to be asked for. */
static bool
owes_notice(const struct qmsg *m)
{
	return any_status(m, QFILE_RS_DELIVERED) ||
	    any_status(m, QFILE_RS_FAILED);
}

/*
 * The pass of a message the administrator asked about is over: do what
 * was asked.  The status bytes go to disk first when the file outlives
 * this (hold, requeue): what was delivered is not delivered again.
 */
static void
admin_finish(struct qmsg *m)
{
	static const char *const where[] = {
		[ADMIN_HOLD] = "hold", [ADMIN_REQUEUE] = "incoming"
	};
	static const char *const done[] = {
		[ADMIN_HOLD] = "held", [ADMIN_REQUEUE] = "requeued"
	};
	char from[64], to[64];

	snprintf(from, sizeof(from), "active/%s", m->id);
	if (m->admin == ADMIN_DELETE) {
		if (unlinkat(qmgr.qdir, from, 0) == -1) {
			log_warn("%s: cannot remove %s", m->id, from);
			return;
		}
		log_remove("bounce", m->id);
		log_remove("defer", m->id);
		log_info("%s: removed by ternctl (uid %u)", m->id,
		    m->admin_uid);
		return;
	}
	if (fdatasync(m->fd) == -1)
		log_warn("%s: fdatasync", m->id);
	snprintf(to, sizeof(to), "%s/%s", where[m->admin], m->id);
	if (renameat(qmgr.qdir, from, qmgr.qdir, to) == -1) {
		log_warn("%s: cannot move %s to %s/", m->id, from,
		    where[m->admin]);
		return;
	}
	log_info("%s: %s by ternctl (uid %u)", m->id, done[m->admin],
	    m->admin_uid);
}

/*
 * The pass is over.  The status bytes qmgr_record() wrote are synced
 * only when they must outlive the pass: before notices are asked for,
 * and before the file goes to deferred/.  A file whose recipients are
 * all done is removed without a sync: a crash before the removal is on
 * disk means a second delivery, as with a crash during the pass.
 */
static void
finish(struct qmsg *m)
{
	bool pending;
	int64_t age, wait, lo, hi;

	if (m->admin != ADMIN_NONE) {
		/* No notices now: they go when the message is back. */
		admin_finish(m);
		if (m->admin == ADMIN_REQUEUE)
			scan_soon();
		goto out;
	}
	if (!m->finishing) {
		m->finishing = true;
		expire(m);
		if (owes_notice(m) && fdatasync(m->fd) == -1)
			log_warn("%s: fdatasync", m->id);
		/* Failure and success notices, and a delay warning when due. */
		qmgr_notices(m);
		if (m->nnotices > 0)
			return;		/* back here when they are answered */
	}
	pending = any_status(m, QFILE_RS_PENDING);
	if (!pending && !owes_notice(m))
		remove_msg(m);		/* every recipient done */
	else {
		if (fdatasync(m->fd) == -1)
			log_warn("%s: fdatasync", m->id);
		lo = conf_time(qmgr.conf, "minimal_backoff_time");
		hi = conf_time(qmgr.conf, "maximal_backoff_time");
		age = (int64_t)time(NULL) - m->q.arrival_sec;
		wait = pending ? age : lo;
		if (wait < lo)
			wait = lo;
		if (wait > hi)
			wait = hi;
		defer_msg(m, (time_t)wait);
	}
out:
	free_msg(m);
	if (qmgr.draining && qmgr.nmsgs == 0)
		event_base_loopexit(qmgr.base, NULL);
}

void
qmgr_message_done(struct qmsg *m)
{
	if (m->njobs == 0 && m->nnotices == 0)
		finish(m);
}

/* ---- wake-ups from cleanup, requests from ternctl --------------------- */

#define CTL_LINE_MAX	128	/* a request line, newline included */
#define CTL_TIMEOUT	10	/* seconds for a request to arrive */

struct waker {
	struct service_ctx *ctx;
	struct event	*ev;
	int		 fd;
	bool		 ctl;		/* a ternctl request, not wake-ups */
	size_t		 len;
	char		 line[CTL_LINE_MAX + 1];
};

static void
waker_close(struct waker *w)
{
	event_free(w->ev);
	close(w->fd);
	service_client_done(w->ctx);
	free(w);
}

static struct qmsg *
find_msg(const char *id)
{
	struct qmsg *m;

	TAILQ_FOREACH(m, &qmgr.msgs, entry)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

/*
 * One request line from ternctl (docs/ipc.md, "ternctl -> qmgr"); the
 * socket is in private/, so the peer is root or mail_owner.  Returns
 * the reply line.
 */
static const char *
ctl_request(char *line, unsigned uid)
{
	static const struct {
		const char	*verb;
		enum qmgr_admin	 admin;
	} verbs[] = {
		{ "delete ", ADMIN_DELETE },
		{ "hold ", ADMIN_HOLD },
		{ "requeue ", ADMIN_REQUEUE },
	};
	struct qmsg *m;
	const char *id;
	size_t i, n;

	if (strcmp(line, "flush") == 0) {
		qmgr.flush = true;
		qmgr.deferred_due = 0;
		qmgr_revive();
		scan_soon();
		log_info("flush of the deferred queue asked for by ternctl "
		    "(uid %u)", uid);
		return "ok\n";
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		n = strlen(verbs[i].verb);
		if (strncmp(line, verbs[i].verb, n) != 0)
			continue;
		id = line + n;
		if (!qid_valid(id, strlen(id)))
			return "error not a queue ID\n";
		if ((m = find_msg(id)) == NULL)
			return "absent\n";
		/* Delete wins over a hold or requeue asked for before. */
		if (m->admin != ADMIN_DELETE) {
			m->admin = verbs[i].admin;
			m->admin_uid = uid;
		}
		log_debug("%s: %s asked for by uid %u while in active/", id,
		    verbs[i].verb, uid);
		qmgr_cancel_waiting(m);		/* m may be gone now */
		return "ok\n";
	}
	return "error unknown request\n";
}

static void
ctl_input(struct waker *w, const char *buf, size_t n)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	const char *reply, *nl;
	unsigned uid = (unsigned)-1;
	size_t i;

	for (i = 0; i < n && w->len < CTL_LINE_MAX; i++)
		w->line[w->len++] = buf[i];
	w->line[w->len] = '\0';
	if ((nl = memchr(w->line, '\n', w->len)) == NULL) {
		if (w->len < CTL_LINE_MAX)
			return;		/* more to come */
		reply = "error request too long\n";
	} else {
		w->line[nl - w->line] = '\0';
		if (getsockopt(w->fd, SOL_SOCKET, SO_PEERCRED, &cred,
		    &clen) == 0)
			uid = (unsigned)cred.uid;
		for (i = 0; w->line[i] != '\0'; i++)
			if ((unsigned char)w->line[i] < 0x20 ||
			    (unsigned char)w->line[i] > 0x7e)
				break;
		reply = w->line[i] != '\0' ? "error bad byte in request\n" :
		    ctl_request(w->line, uid);
	}
	/* A short line into an empty socket buffer: it fits. */
	if (write(w->fd, reply, strlen(reply)) == -1)
		log_warn("cannot answer a ternctl request");
	/* What is left unread would reset the connection before the
	 * peer reads the reply. */
	while (read(w->fd, w->line, sizeof(w->line)) > 0)
		;
	waker_close(w);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct waker *w = arg;
	struct timeval tv = { CTL_TIMEOUT, 0 };
	char buf[256];
	ssize_t n, i;

	if (what & EV_TIMEOUT) {
		log_warnx("a ternctl request did not arrive in %ds: closed",
		    CTL_TIMEOUT);
		waker_close(w);
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && w->len == 0 && !w->ctl && buf[0] >= 'a' &&
	    buf[0] <= 'z') {
		/* A request starts with a lowercase verb, never "W". */
		w->ctl = true;
		event_del(w->ev);
		event_add(w->ev, &tv);
	}
	if (w->ctl) {
		if (n > 0)
			ctl_input(w, buf, (size_t)n);
		else
			waker_close(w);
		return;
	}
	/* "W" from cleanup; the master's wake-up timer sends "W\n". */
	for (i = 0; i < n; i++)
		if (buf[i] != 'W' && buf[i] != '\n') {
			log_warnx("bad wake-up byte from a client: closed");
			n = 0;
			break;
		}
	if (n > 0) {
		scan_soon();
		return;
	}
	waker_close(w);
}

void
qmgr_wake_client(struct service_ctx *ctx, int fd)
{
	struct waker *w = xcalloc(1, sizeof(*w));

	w->ctx = ctx;
	w->fd = fd;
	evutil_make_socket_nonblocking(fd);
	w->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, on_wake, w);
	if (w->ev == NULL)
		fatalx("cannot create an event");
	event_add(w->ev, NULL);
	scan_soon();
}

/* ---- start-up and reload ---------------------------------------------- */

void
qmgr_drain(struct service_ctx *ctx)
{
	/* A reload: no new work; leave once what is in flight is done. */
	qmgr.draining = true;
	event_del(qmgr.ev_scan);
	log_info("reload: finishing %zu messages in flight, then exiting",
	    qmgr.nmsgs);
	if (qmgr.nmsgs == 0)
		event_base_loopexit(qmgr.base, NULL);
}

/* Messages left in active/ by an earlier qmgr start their pass again. */
static void
recover(void)
{
	struct dirent *de;
	char from[64], to[64];
	DIR *d;
	int fd;
	size_t n = 0;

	if ((fd = openat(qmgr.qdir, "active", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL)
		fatal("cannot open active/");
	while ((de = readdir(d)) != NULL) {
		if (!qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		snprintf(from, sizeof(from), "active/%s", de->d_name);
		snprintf(to, sizeof(to), "incoming/%s", de->d_name);
		if (renameat(qmgr.qdir, from, qmgr.qdir, to) == -1) {
			/* ternctl acted on it while no qmgr ran. */
			if (errno != ENOENT)
				log_warn("%s: cannot move back to incoming/",
				    de->d_name);
		} else
			n++;
	}
	closedir(d);
	if (n > 0)
		log_info("%zu messages left in active/ go through again", n);
}

void
qmgr_start(struct service_ctx *ctx)
{
	char err[256];
	int lock;

	qmgr.ctx = ctx;
	qmgr.conf = ctx->conf;
	qmgr.base = ctx->base;
	TAILQ_INIT(&qmgr.msgs);
	if ((qmgr.qdir = open(conf_str(ctx->conf, "queue_directory"),
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("cannot open the queue directory");
	/* One queue manager at a time, even across a reload. */
	if ((lock = openat(qmgr.qdir, "active/.lock", O_RDWR | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		fatal("cannot open active/.lock");
	if (flock(lock, LOCK_EX | LOCK_NB) == -1) {
		log_info("waiting for the previous queue manager to exit");
		if (flock(lock, LOCK_EX) == -1)
			fatal("flock active/.lock");
	}
	if (route_open(ctx->conf, &qmgr.route, err, sizeof(err)) == -1)
		fatalx("transport_maps: %s", err);
	qmgr.active_limit = (size_t)conf_int(ctx->conf,
	    "qmgr_message_active_limit");
	qmgr.rcpt_limit = (size_t)conf_int(ctx->conf,
	    "qmgr_message_recipient_limit");
	qmgr.dest_limit = (size_t)conf_int(ctx->conf,
	    "default_destination_concurrency_limit");
	qmgr.job_rcpt_limit = (size_t)conf_int(ctx->conf,
	    "default_destination_recipient_limit");
	qmgr_transports_init();
	recover();
	qmgr.ev_scan = evtimer_new(qmgr.base, on_scan, NULL);
	if (qmgr.ev_scan == NULL)
		fatalx("cannot create events");
	qmgr.deferred_due = 0;
	scan_soon();
}
