/*
 * SPDX-License-Identifier: ISC
 *
 * showq.c -- showq: one client, one listing (see showq.h).
 *
 * Process:  showq (mail_owner, one client per process).
 * Input:    a request line of at most QLIST_REQ_MAX bytes, compared with
 *           the fixed strings of lib/qlist.h; SO_PEERCRED.
 * Failure:  "error TEXT" to the client and one log line; the process
 *           exits after each client in any case.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "qlist.h"
#include "service.h"
#include "showq.h"

static uid_t	mail_uid = (uid_t)-1;	/* mail_owner's, if it exists */

void
showq_start(struct service_ctx *ctx)
{
	struct passwd *pw;

	/* Writing to a client that went away: an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if ((pw = getpwnam(conf_str(ctx->conf, "mail_owner"))) != NULL)
		mail_uid = pw->pw_uid;
}

bool
showq_allowed(const struct conf *c, uid_t uid, const char *name,
    uid_t owner)
{
	const char *const *users;
	size_t i, n;

	if (uid == 0 || uid == geteuid() || (owner != (uid_t)-1 &&
	    uid == owner))
		return true;
	users = conf_list(c, "authorized_mailq_users", &n);
	for (i = 0; i < n; i++) {
		if (strcmp(users[i], "anyone") == 0)
			return true;
		if (name != NULL && strcmp(users[i], name) == 0)
			return true;
	}
	return false;
}

/* The request line, newline included: at most QLIST_REQ_MAX bytes. */
static ssize_t
read_request(int fd, char *buf, size_t sz)
{
	size_t len = 0;
	ssize_t n;

	while (len < sz) {
		n = read(fd, buf + len, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (ssize_t)len : -1;
		if (buf[len++] == '\n')
			break;
	}
	return (ssize_t)len;
}

static void
reply_error(int fd, const char *text)
{
	char line[QLIST_STATUS_MAX];
	int n;

	n = snprintf(line, sizeof(line), "error %s\n", text);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_NOSIGNAL);
}

/*
 * Close after an error line.  Closing a UNIX socket with unread input
 * resets it, and the client would lose the line: read what it sent
 * first, bounded in bytes (SHOWQ_DRAIN_MAX) and time (SHOWQ_DRAIN_SEC).
 */
static void
drain_close(int fd)
{
	struct timeval tv = { .tv_sec = SHOWQ_DRAIN_SEC };
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	(void)shutdown(fd, SHUT_WR);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < SHOWQ_DRAIN_MAX &&
	    (n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	close(fd);
}

static int
open_queue(const char *qdir, struct qlist_dirs *d)
{
	int qfd, i;

	d->qdir = qdir;
	d->defer_fd = -1;
	for (i = 0; i < QLIST_NQUEUES; i++)
		d->dirs[i] = -1;
	if ((qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < QLIST_NQUEUES; i++)
		if ((d->dirs[i] = openat(qfd, qlist_names[i], O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1)
			break;
	if (i == QLIST_NQUEUES)
		d->defer_fd = openat(qfd, "defer", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	close(qfd);
	return d->defer_fd == -1 ? -1 : 0;
}

static void
close_queue(struct qlist_dirs *d)
{
	int i;

	for (i = 0; i < QLIST_NQUEUES; i++)
		if (d->dirs[i] != -1)
			close(d->dirs[i]);
	if (d->defer_fd != -1)
		close(d->defer_fd);
}

static void
list(struct service_ctx *ctx, int fd, bool json, uid_t uid)
{
	const char *qdir = conf_str(ctx->conf, "queue_directory");
	struct qlist_dirs d;
	FILE *out;
	int rc;

	if (open_queue(qdir, &d) == -1) {
		log_warn("%s: cannot open the queue", qdir);
		close_queue(&d);
		reply_error(fd, "showq cannot read the queue; see the mail "
		    "log");
		return;
	}
	if ((out = fdopen(fd, "w")) == NULL) {
		log_warn("fdopen");
		close_queue(&d);
		close(fd);
		return;
	}
	fputs("ok\n", out);
	rc = qlist_write(&d, json, out, NULL, "showq");
	close_queue(&d);
	if (rc == -1)
		log_warn("uid %u: listing not sent whole",
		    (unsigned)uid);
	else
		log_info("uid %u: queue listed%s", (unsigned)uid,
		    json ? " (json)" : "");
	fclose(out);
}

void
showq_client(struct service_ctx *ctx, int fd)
{
	struct timeval tv = { .tv_sec = SHOWQ_TIMEOUT_SEC };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;
	char req[QLIST_REQ_MAX];
	ssize_t n;
	int json;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	n = read_request(fd, req, sizeof(req));
	if (n <= 0 || (json = qlist_request(req, (size_t)n)) == -1) {
		log_warnx("uid %u: bad request", (unsigned)cred.uid);
		reply_error(fd, "bad request: expected \"list\" or \"json\"");
		drain_close(fd);
		return;
	}
	pw = getpwuid(cred.uid);
	if (!showq_allowed(ctx->conf, cred.uid, pw != NULL ? pw->pw_name :
	    NULL, mail_uid)) {
		log_warnx("uid %u: permission denied "
		    "(authorized_mailq_users)", (unsigned)cred.uid);
		reply_error(fd, "permission denied (authorized_mailq_users)");
		drain_close(fd);
		return;
	}
	list(ctx, fd, json == 1, cred.uid);
}
