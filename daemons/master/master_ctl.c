/*
 * SPDX-License-Identifier: ISC
 *
 * master_ctl.c -- the control socket ternctl talks to (see ctl.h).
 *
 * Process:  master.
 * Input:    one attr.h request per connection, only from peers whose
 *           SO_PEERCRED uid is 0, mail_owner's or the master's own.
 * Failure:  a refused or malformed request is logged and that connection
 *           closed; the master goes on.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/event.h>

#include "attr.h"
#include "buf.h"
#include "ctl.h"
#include "log.h"
#include "master.h"

#define CTL_READ_TIMEOUT_MS	2000

static bool
peer_allowed(struct master *m, int fd, uid_t *uid_r)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return false;
	*uid_r = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid() ||
	    (m->cfg.mail_uid != (uid_t)-1 && cred.uid == m->cfg.mail_uid);
}

static void
status_table(struct master *m, struct buf *t)
{
	struct msvc *svc;
	const char *state;

	TAILQ_FOREACH(svc, &m->services, entry) {
		state = svc->removed ? "draining" :
		    svc->throttled ? "throttled" : "running";
		if (buf_addf(t, "%s %s %s %u %u %u %u %s\n", svc->def.name,
		    svc->def.type == SERVICES_INET ? "inet" : "unix",
		    svc->def.listen, svc->nproc, svc->navail, svc->maxproc,
		    svc->def.prefork, state) == -1)
			break;
	}
}

static void
reply(int fd, struct buf *out)
{
	const char *err;

	if (attr_write(fd, out, CTL_READ_TIMEOUT_MS, &err) == -1)
		log_warnx("control: cannot reply: %s", err);
}

static void
serve(struct master *m, int fd)
{
	struct attr_msg msg;
	struct buf out, table;
	char req[32];
	const char *err;

	attr_msg_init(&msg);
	attr_out_init(&out);
	if (attr_read(fd, &msg, CTL_READ_TIMEOUT_MS, &err) == -1) {
		log_warnx("control: bad request: %s", err);
		goto done;
	}
	if (attr_get_str(&msg, "request", req, sizeof(req)) == -1) {
		log_warnx("control: request without a valid \"request\"");
		goto done;
	}
	if (strcmp(req, CTL_REQ_STATUS) == 0) {
		buf_init(&table, ATTR_STR_MAX);
		status_table(m, &table);
		attr_put_str(&out, "status", "ok");
		attr_put_int(&out, "pid", getpid());
		attr_put_int(&out, "started", m->started);
		attr_put_data(&out, "services", table.data, table.len);
		buf_clear(&table);
		reply(fd, &out);
	} else if (strcmp(req, CTL_REQ_RELOAD) == 0) {
		const char *why;

		log_info("reload requested by ternctl");
		if (master_reload(m, &why) == 0)
			attr_put_str(&out, "status", "ok");
		else {
			attr_put_str(&out, "status", "error");
			attr_put_str(&out, "reason", why);
		}
		attr_put_int(&out, "pid", getpid());
		reply(fd, &out);
	} else if (strcmp(req, CTL_REQ_STOP) == 0) {
		log_info("stop requested by ternctl");
		attr_put_str(&out, "status", "ok");
		attr_put_int(&out, "pid", getpid());
		reply(fd, &out);
		master_stop(m);
	} else {
		log_warnx("control: unknown request");
		attr_put_str(&out, "status", "error");
		attr_put_str(&out, "reason", "unknown request");
		reply(fd, &out);
	}
done:
	buf_clear(&out);
	attr_msg_clear(&msg);
}

static void
on_ctl(evutil_socket_t lfd, short what, void *arg)
{
	struct master *m = arg;
	uid_t uid = (uid_t)-1;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return;
	if (!peer_allowed(m, fd, &uid)) {
		log_warnx("control: connection from uid %ld refused",
		    (long)uid);
		close(fd);
		return;
	}
	serve(m, fd);
	close(fd);
}

int
master_ctl_open(struct master *m)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (master_unix_path(&m->cfg, CTL_SOCKET_PATH, sun.sun_path,
	    sizeof(sun.sun_path)) == -1) {
		log_error("control socket path too long");
		return -1;
	}
	(void)unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 16) == -1) {
		log_error("control socket %s: %s", sun.sun_path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* Only the owner may connect; SO_PEERCRED is checked as well. */
	if (chmod(sun.sun_path, 0600) == -1 ||
	    (m->cfg.mail_uid != (uid_t)-1 &&
	    chown(sun.sun_path, m->cfg.mail_uid, m->cfg.mail_gid) == -1)) {
		log_error("control socket %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	m->ctl_fd = fd;
	m->ev_ctl = event_new(m->base, fd, EV_READ | EV_PERSIST, on_ctl, m);
	if (m->ev_ctl == NULL)
		fatalx("cannot create events");
	event_add(m->ev_ctl, NULL);
	return 0;
}

void
master_ctl_close(struct master *m)
{
	char path[1100];

	if (m->ev_ctl != NULL) {
		event_free(m->ev_ctl);
		m->ev_ctl = NULL;
	}
	if (m->ctl_fd != -1) {
		close(m->ctl_fd);
		m->ctl_fd = -1;
		if (master_unix_path(&m->cfg, CTL_SOCKET_PATH, path,
		    sizeof(path)) == 0)
			(void)unlink(path);
	}
}
