/*
 * SPDX-License-Identifier: ISC
 *
 * qmgr_notice.c -- asking bounce for the notices a message owes
 * (docs/ipc.md, "qmgr -> bounce"): a failure notice for recipients at
 * status 2 (failed), a success report for those at 1 (delivered with
 * NOTIFY=SUCCESS).  Once bounce answers ok (the notice is queued) or
 * skipped (none is due), those recipients go to status 3 (done).
 *
 * Process:  qmgr.
 * Input:    bounce/ID, the reasons qmgr itself recorded (bounded lines;
 *           a line that does not parse is ignored), and bounce's reply.
 * Failure:  bounce unreachable or answering error: the message is kept
 *           and the notice asked for again at its next pass.
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
#include "xmem.h"

#define REASONS_MAX	(16 * 1024 * 1024)	/* bytes of bounce/ID read */

struct reason {
	char	dsn[DELIVER_DSN_MAX + 1];
	char	relay[DELIVER_RELAY_MAX + 1];
	char	text[DELIVER_TEXT_MAX + 1];
	bool	set;
};

struct notice {
	struct qmsg	*m;
	int		 fd;
	struct event	*ev;
	struct buf	 in;
	uint32_t	*idx;
	size_t		 n;
	const char	*kind;
};

/* The last reason recorded for each recipient with action `action`. */
static struct reason *
read_reasons(const struct qmsg *m, const char *action)
{
	struct reason *rs = xcalloc(m->q.nrcpt, sizeof(*rs));
	char path[64], *data, *line, *next, *f[5];
	size_t len = 0, cap = 0, i;
	unsigned long idx;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "bounce/%s", m->id);
	if ((fd = openat(qmgr.qdir, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return rs;
	data = NULL;
	for (;;) {
		if (len + 65536 + 1 > cap) {
			if (cap >= REASONS_MAX)
				break;
			cap = cap ? cap * 2 : 65536 * 2;
			data = xreallocarray(data, cap, 1);
		}
		n = read(fd, data + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (data == NULL)
		return rs;
	data[len] = '\0';
	for (line = data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			break;		/* a torn last line */
		*next++ = '\0';
		for (i = 0; i < 5; i++) {
			f[i] = line;
			line = i < 4 ? strchr(line, '\t') : NULL;
			if (i < 4 && line == NULL)
				break;
			if (line != NULL)
				*line++ = '\0';
		}
		if (i < 5)
			continue;
		errno = 0;
		idx = strtoul(f[0], NULL, 10);
		if (errno != 0 || idx >= m->q.nrcpt ||
		    strcmp(f[1], action) != 0)
			continue;
		strlcpy(rs[idx].dsn, f[2], sizeof(rs[idx].dsn));
		strlcpy(rs[idx].relay, f[3], sizeof(rs[idx].relay));
		strlcpy(rs[idx].text, f[4], sizeof(rs[idx].text));
		rs[idx].set = true;
	}
	free(data);
	return rs;
}

static void
notice_end(struct notice *nt, bool ok, const char *why)
{
	struct qmsg *m = nt->m;
	struct qfile_rcpt *r;
	size_t k;

	if (ok) {
		for (k = 0; k < nt->n; k++) {
			r = &m->q.rcpts[nt->idx[k]];
			if (qfile_rcpt_set_status(m->fd, r->status_off,
			    QFILE_RS_DONE) == 0)
				r->status = QFILE_RS_DONE;
		}
	} else {
		log_warnx("%s: %s notice not sent, will try again: %s",
		    m->id, nt->kind, why);
		m->notice_failed = true;
	}
	if (nt->ev != NULL)
		event_free(nt->ev);
	if (nt->fd != -1)
		close(nt->fd);
	buf_clear(&nt->in);
	free(nt->idx);
	free(nt);
	m->nnotices--;
	qmgr_message_done(m);
}

static void
on_reply(evutil_socket_t fd, short what, void *arg)
{
	struct notice *nt = arg;
	struct attr_msg msg;
	const struct attr *st;
	char text[256] = "";
	uint8_t tmp[4096];
	const char *err = "";
	size_t total;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		notice_end(nt, false, "bounce timed out");
		return;
	}
	n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		notice_end(nt, false, "bounce closed the connection");
		return;
	}
	if (buf_add(&nt->in, tmp, (size_t)n) == -1) {
		notice_end(nt, false, "reply too large");
		return;
	}
	switch (attr_frame(nt->in.data, nt->in.len, &total, &err)) {
	case ATTR_MORE:
		return;
	case ATTR_ERR:
		notice_end(nt, false, err);
		return;
	default:
		break;
	}
	attr_msg_init(&msg);
	if (attr_decode(nt->in.data + 4, total - 4, &msg, &err) != ATTR_OK) {
		attr_msg_clear(&msg);
		notice_end(nt, false, err);
		return;
	}
	st = attr_find(&msg, "status");
	(void)attr_get_str(&msg, "text", text, sizeof(text));
	if (st != NULL && st->type == ATTR_T_STR &&
	    ((st->len == 2 && memcmp(st->val, "ok", 2) == 0) ||
	    (st->len == 7 && memcmp(st->val, "skipped", 7) == 0))) {
		attr_msg_clear(&msg);
		notice_end(nt, true, "");
		return;
	}
	attr_msg_clear(&msg);
	notice_end(nt, false, text[0] != '\0' ? text : "bounce refused");
}

static int
connect_bounce(const char **err_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/bounce", conf_str(qmgr.conf, "queue_directory")) >=
	    sizeof(sun.sun_path)) {
		*err_r = "socket path too long";
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		*err_r = strerror(errno);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Ask for one notice of kind about the recipients at status st. */
static void
ask(struct qmsg *m, uint8_t st, const char *kind, const char *action)
{
	struct timeval tv;
	struct notice *nt;
	struct reason *rs;
	struct buf out;
	const struct qfile_rcpt *r;
	const char *err = "";
	char path[64];
	size_t i, k;
	int rfd;

	nt = xcalloc(1, sizeof(*nt));
	nt->m = m;
	nt->fd = -1;
	nt->kind = kind;
	nt->idx = xcalloc(m->q.nrcpt, sizeof(*nt->idx));
	for (i = 0; i < m->q.nrcpt; i++)
		if (m->q.rcpts[i].status == st)
			nt->idx[nt->n++] = (uint32_t)i;
	m->nnotices++;
	if (nt->n == 0) {
		free(nt->idx);
		free(nt);
		m->nnotices--;
		return;
	}
	buf_init(&nt->in, ATTR_MSG_MAX + 4);
	if ((nt->fd = connect_bounce(&err)) == -1) {
		notice_end(nt, false, err);
		return;
	}
	snprintf(path, sizeof(path), "active/%s", m->id);
	if ((rfd = openat(qmgr.qdir, path, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		notice_end(nt, false, strerror(errno));
		return;
	}
	if (fdpass_send(nt->fd, &rfd, 1, "Q", 1) == -1) {
		close(rfd);
		notice_end(nt, false, strerror(errno));
		return;
	}
	close(rfd);
	rs = read_reasons(m, action);
	buf_init(&out, ATTR_MSG_MAX);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "notify") == -1 ||
	    attr_put_str(&out, "proto", "bounce/1") == -1 ||
	    attr_put_str(&out, "queue_id", m->id) == -1 ||
	    attr_put_str(&out, "kind", kind) == -1 ||
	    attr_put_int(&out, "nrcpt", (int64_t)nt->n) == -1 ||
	    attr_write(nt->fd, &out, QMGR_WRITE_TIMEOUT, &err) == -1)
		goto fail;
	for (k = 0; k < nt->n; k++) {
		i = nt->idx[k];
		r = &m->q.rcpts[i];
		buf_clear(&out);	/* attr_out_init starts a new buffer */
		attr_out_init(&out);
		if (attr_put_str(&out, "request", "rcpt") == -1 ||
		    attr_put_int(&out, "index", (int64_t)i) == -1 ||
		    attr_put_str(&out, "addr", r->addr) == -1 ||
		    attr_put_str(&out, "orcpt_type", r->orcpt_type) == -1 ||
		    attr_put_str(&out, "orcpt", r->orcpt) == -1 ||
		    attr_put_str(&out, "action", action) == -1 ||
		    attr_put_str(&out, "dsn", rs[i].set ? rs[i].dsn :
		    (st == QFILE_RS_FAILED ? "5.0.0" : "2.0.0")) == -1 ||
		    attr_put_str(&out, "relay", rs[i].relay) == -1 ||
		    attr_put_str(&out, "text", rs[i].set ? rs[i].text :
		    "reason not recorded") == -1 ||
		    attr_write(nt->fd, &out, QMGR_WRITE_TIMEOUT, &err) == -1)
			goto fail;
	}
	buf_clear(&out);
	free(rs);
	nt->ev = event_new(qmgr.base, nt->fd, EV_READ | EV_PERSIST, on_reply,
	    nt);
	if (nt->ev == NULL)
		fatalx("cannot create an event");
	tv.tv_sec = conf_time(qmgr.conf, "ipc_timeout");
	tv.tv_usec = 0;
	event_add(nt->ev, &tv);
	return;
fail:
	buf_clear(&out);
	free(rs);
	notice_end(nt, false, err);
}

void
qmgr_notices(struct qmsg *m)
{
	/* Held while asking, so that a quick failure cannot finish m. */
	m->nnotices++;
	ask(m, QFILE_RS_FAILED, "failure", "failed");
	ask(m, QFILE_RS_DELIVERED, "success", "delivered");
	m->nnotices--;
}
