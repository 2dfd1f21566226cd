/*
 * SPDX-License-Identifier: ISC
 *
 * local_child.c -- run one piece of delivery work as a user, in a child.
 *
 * Process:  local.  The parent (root) forks; the child takes the user's
 *           ids for good (lib/priv priv_become: supplementary groups,
 *           gid, uid, verified, no way back, not dumpable), then does the
 *           work and writes one fixed-size report to a pipe.  The parent
 *           reads it with a time limit and reaps the child.
 * Input:    the user from the password database.
 * Failure:  no report (the child died, was killed, could not drop) is a
 *           deferral: mail is never lost because a child failed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"
#include "priv.h"
#include "service.h"

static int
fill(const struct passwd *pw, struct local_user *u)
{
	if (strlcpy(u->name, pw->pw_name, sizeof(u->name)) >= sizeof(u->name) ||
	    strlcpy(u->home, pw->pw_dir != NULL ? pw->pw_dir : "/",
	    sizeof(u->home)) >= sizeof(u->home) ||
	    strlcpy(u->shell, pw->pw_shell != NULL ? pw->pw_shell : "",
	    sizeof(u->shell)) >= sizeof(u->shell))
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

int
local_user_byname(const char *name, struct local_user *u)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM ? -1 : -2;
	return fill(pw, u) == -1 ? -1 : 0;
}

int
local_user_byuid(uid_t uid, struct local_user *u)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwuid(uid)) == NULL)
		return -1;
	return fill(pw, u);
}

/* The user's groups, and extra_gid; -1 when they do not fit. */
static int
user_groups(const struct local_user *u, gid_t extra_gid, gid_t *groups,
    size_t *n_r)
{
	int n = LOCAL_GROUPS_MAX - 1;
	size_t i, k = 0;
	gid_t all[LOCAL_GROUPS_MAX];

	if (getgrouplist(u->name, u->gid, all, &n) == -1)
		return -1;
	for (i = 0; i < (size_t)n; i++)
		if (all[i] != 0)	/* never root's group */
			groups[k++] = all[i];
	if (extra_gid != (gid_t)-1)
		groups[k++] = extra_gid;
	*n_r = k;
	return 0;
}

static _Noreturn void
child(struct local_ctx *ctx, const struct local_user *u, gid_t extra_gid,
    void (*job)(void *, struct local_report *), void *arg, int wfd)
{
	gid_t groups[LOCAL_GROUPS_MAX];
	struct local_report rep;
	struct priv_user pu;
	const char *err;
	size_t ng;

	/* Nothing of the parent's conversations is ours. */
	close(ctx->client_fd);
	close(SERVICE_STATUS_FD);
	memset(&rep, 0, sizeof(rep));
	if (ctx->root) {
		memset(&pu, 0, sizeof(pu));
		strlcpy(pu.name, u->name, sizeof(pu.name));
		pu.uid = u->uid;
		pu.gid = u->gid;
		if (user_groups(u, extra_gid, groups, &ng) == -1) {
			local_report_set(&rep, DELIVER_DEFERRED, "4.3.0",
			    "cannot read the groups of user %s", u->name);
			goto out;
		}
		if (priv_become(&pu, groups, ng, &err) == -1) {
			local_report_set(&rep, DELIVER_DEFERRED, "4.3.0",
			    "cannot become user %s: %s", u->name, err);
			/* Ids may be half changed: report and stop. */
			goto out;
		}
	}
	umask(077);
	if (chdir(u->home) == -1 && chdir("/") == -1) {
		local_report_set(&rep, DELIVER_DEFERRED, "4.3.0",
		    "cannot change to any directory");
		goto out;
	}
	job(arg, &rep);
out:
	(void)write(wfd, &rep, sizeof(rep));
	_exit(0);
}

/* Read the report; 0 when it came whole before the deadline. */
static int
read_report(int fd, struct local_report *rep, unsigned timeout_sec)
{
	struct timespec now, end;
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	int ms;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_sec;
	while (got < sizeof(*rep)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec)
			return -1;
		ms = (int)(end.tv_sec - now.tv_sec) * 1000 + 1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, ms)) == -1 && errno != EINTR)
			return -1;
		if (n <= 0)
			continue;
		n = read(fd, (char *)rep + got, sizeof(*rep) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

void
local_run_as(struct local_ctx *ctx, const struct local_user *u,
    gid_t extra_gid, unsigned timeout_sec,
    void (*job)(void *, struct local_report *), void *arg,
    struct local_report *out)
{
	int fds[2], status;
	bool timed_out;
	pid_t pid;

	if (ctx->root && (u->uid == 0 || u->gid == 0)) {
		local_report_set(out, DELIVER_DEFERRED, "4.3.5",
		    "refusing to deliver as user %s with uid or gid 0", u->name);
		return;
	}
	if (ctx->root && u->uid == ctx->mail_owner_uid) {
		local_report_set(out, DELIVER_DEFERRED, "4.3.5",
		    "refusing to deliver as mail_owner (%s)", u->name);
		return;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		local_report_set(out, DELIVER_DEFERRED, "4.3.0",
		    "cannot make a pipe: %s", strerror(errno));
		return;
	}
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		local_report_set(out, DELIVER_DEFERRED, "4.3.0",
		    "cannot fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		child(ctx, u, extra_gid, job, arg, fds[1]);
	}
	close(fds[1]);
	memset(out, 0, sizeof(*out));
	timed_out = read_report(fds[0], out, timeout_sec) == -1;
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!timed_out) {
		/* The child's strings may lack their NUL: it is not trusted. */
		out->dsn[sizeof(out->dsn) - 1] = '\0';
		out->text[sizeof(out->text) - 1] = '\0';
		if (out->result != DELIVER_SENT &&
		    out->result != DELIVER_DEFERRED &&
		    out->result != DELIVER_BOUNCED)
			local_report_set(out, DELIVER_DEFERRED, "4.3.0",
			    "delivery process sent a bad report");
		return;
	}
	if (WIFSIGNALED(status))
		local_report_set(out, DELIVER_DEFERRED, "4.3.0",
		    "delivery process as %s killed by signal %d%s", u->name,
		    WTERMSIG(status), WTERMSIG(status) == SIGKILL ?
		    " (time limit?)" : "");
	else
		local_report_set(out, DELIVER_DEFERRED, "4.3.0",
		    "delivery process as %s failed (status %d)", u->name,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
