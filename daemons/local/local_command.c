/*
 * SPDX-License-Identifier: ISC
 *
 * local_command.c -- |command targets: /bin/sh -c command, the message on
 * standard input.
 *
 * Process:  local, in the child that already has the alias owner's ids
 *           (local_run_as): it forks the shell in a session of its own,
 *           with a fixed minimal environment and no descriptor above 2,
 *           feeds it the message (Return-Path:, Delivered-To:, then the
 *           content with LF line ends) while it collects the output, and
 *           kills the whole session after command_time_limit.
 * Input:    the message (untrusted); the command's output (its first
 *           line goes into the result, cut and sanitized).
 * Failure:  exit 0 sent; EX_TEMPFAIL (75), a signal or the time limit
 *           deferred; any other status bounced, DSN from sysexits(3).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "mailbox.h"
#include "xmem.h"

#define EX_TEMPFAIL_CODE	75	/* sysexits.h EX_TEMPFAIL */
#define ENV_MAX			12

struct cmd_job {
	struct local_ctx *ctx;
	struct local_rcpt *rc;
	const struct local_user *u;
	const char	*command;
};

/* The stdin writer's state, for the converter's flush callback. */
struct feed {
	int		 in, out;	/* command's stdin, its output */
	struct timespec	 end;
	bool		 in_closed;	/* the command stopped reading */
	bool		 out_eof;
	char		 output[LOCAL_OUTPUT_MAX + 1];
	size_t		 olen;
};

/* sysexits(3) -> enhanced status code (RFC 3463), as Postfix maps them. */
static const char *
sysexits_dsn(int code)
{
	switch (code) {
	case 64:	/* EX_USAGE */
		return "5.3.0";
	case 65:	/* EX_DATAERR */
		return "5.6.0";
	case 67:	/* EX_NOUSER */
		return "5.1.1";
	case 68:	/* EX_NOHOST */
		return "5.1.2";
	case 73:	/* EX_CANTCREAT */
		return "5.2.0";
	case 76:	/* EX_PROTOCOL */
		return "5.5.0";
	case 77:	/* EX_NOPERM */
		return "5.7.0";
	case 78:	/* EX_CONFIG */
		return "5.3.5";
	default:
		return "5.3.0";
	}
}

/* The first line of what the command printed, for a diagnostic. */
static void
first_line(const char *out, char *buf, size_t sz)
{
	size_t n = strcspn(out, "\r\n");

	if (n >= sz)
		n = sz - 1;
	memcpy(buf, out, n);
	buf[n] = '\0';
}

void
local_exit_report(struct local_report *rep, const char *command, int status,
    bool timed_out, const char *output)
{
	char line[LOCAL_OUTPUT_MAX + 1];
	int code;

	first_line(output, line, sizeof(line));
	if (timed_out) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "command time limit exceeded: \"%.200s\"", command);
		return;
	}
	if (WIFSIGNALED(status)) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "command died with signal %d: \"%.200s\"%s%s",
		    WTERMSIG(status), command, line[0] != '\0' ? ": " : "",
		    line);
		return;
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (code == 0)
		local_report_set(rep, DELIVER_SENT, "2.0.0",
		    "delivered to command: %.200s", command);
	else if (code == EX_TEMPFAIL_CODE)
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "temporary failure, command exited %d: \"%.200s\"%s%s",
		    code, command, line[0] != '\0' ? ": " : "", line);
	else
		local_report_set(rep, DELIVER_BOUNCED, sysexits_dsn(code),
		    "command died with status %d: \"%.200s\"%s%s", code,
		    command, line[0] != '\0' ? ": " : "", line);
}

static int
ms_left(const struct timespec *end)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(end->tv_sec - now.tv_sec) * 1000 +
	    (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms <= 0 ? 0 : ms > 60000 ? 60000 : (int)ms + 1;
}

/* Read what the command wrote; keep the first LOCAL_OUTPUT_MAX bytes. */
static void
drain(struct feed *f)
{
	char buf[4096];
	ssize_t n;
	size_t k;

	for (;;) {
		n = read(f->out, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			f->out_eof = true;
			return;
		}
		if (n == -1)
			return;
		k = LOCAL_OUTPUT_MAX - f->olen;
		if (k > (size_t)n)
			k = (size_t)n;
		memcpy(f->output + f->olen, buf, k);
		f->olen += k;
		f->output[f->olen] = '\0';
	}
}

/* flush callback: write p[0..n) to the command, reading its output. */
static int
feed_flush(void *arg, const void *p, size_t n)
{
	struct feed *f = arg;
	struct pollfd pfd[2];
	ssize_t w;
	int ms;

	while (n > 0 && !f->in_closed) {
		if ((ms = ms_left(&f->end)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd[0].fd = f->in;
		pfd[0].events = POLLOUT;
		pfd[1].fd = f->out_eof ? -1 : f->out;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, ms) == -1 && errno != EINTR)
			return -1;
		if (pfd[1].revents != 0)
			drain(f);
		if (pfd[0].revents == 0)
			continue;
		w = write(f->in, p, n);
		if (w == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w == -1) {
			/* EPIPE: it read what it wanted; its status says. */
			f->in_closed = true;
			break;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static void
add_env(char **env, size_t *n, const char *name, const char *value)
{
	env[(*n)++] = xasprintf("%s=%s", name, value);
}

static _Noreturn void
exec_shell(struct cmd_job *j, int in, int out)
{
	char *env[ENV_MAX + 1], *argv[4];
	struct local_rcpt *rc = j->rc;
	size_t n = 0;

	setsid();
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1)
		_exit(EX_TEMPFAIL_CODE);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGXFSZ, SIG_DFL);
	closefrom(3);
	add_env(env, &n, "PATH", "/usr/bin:/bin");
	add_env(env, &n, "HOME", j->u->home);
	add_env(env, &n, "SHELL", j->u->shell[0] != '\0' ? j->u->shell :
	    "/bin/sh");
	add_env(env, &n, "USER", j->u->name);
	add_env(env, &n, "LOGNAME", j->u->name);
	add_env(env, &n, "SENDER", rc->req->sender);
	add_env(env, &n, "RECIPIENT", rc->r->addr);
	add_env(env, &n, "LOCAL", rc->local);
	add_env(env, &n, "DOMAIN", rc->domain);
	add_env(env, &n, "EXTENSION", rc->ext);
	env[n] = NULL;
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)j->command;
	argv[3] = NULL;
	execve("/bin/sh", argv, env);
	_exit(EX_TEMPFAIL_CODE);
}

/* Wait for the shell until the deadline; then kill its whole session. */
static int
reap(pid_t pid, struct feed *f, bool *timed_out)
{
	struct pollfd pfd;
	int status, ms;
	pid_t r;

	for (;;) {
		if (!f->out_eof) {
			pfd.fd = f->out;
			pfd.events = POLLIN;
			if ((ms = ms_left(&f->end)) > 0 && poll(&pfd, 1,
			    ms > 50 ? 50 : ms) > 0)
				drain(f);
		}
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid && f->out_eof)
			return status;
		if (r == pid) {
			/* Exited; read what is left without waiting long. */
			drain(f);
			return status;
		}
		if (ms_left(&f->end) == 0)
			break;
		if (f->out_eof)
			poll(NULL, 0, 20);
	}
	*timed_out = true;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return status;
}

static void
cmd_job(void *arg, struct local_report *rep)
{
	struct cmd_job *j = arg;
	struct mailbox_conv conv;
	struct mailbox_src src;
	struct feed f;
	const char *err;
	int in[2], out[2], status;
	bool timed_out = false;
	pid_t pid;

	memset(&f, 0, sizeof(f));
	clock_gettime(CLOCK_MONOTONIC, &f.end);
	f.end.tv_sec += j->ctx->command_time;
	if (pipe2(in, O_CLOEXEC) == -1) {
		local_errno_report(rep, errno, "command", "cannot make a pipe");
		return;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		local_errno_report(rep, errno, "command", "cannot make a pipe");
		return;
	}
	if ((pid = fork()) == -1) {
		local_errno_report(rep, errno, "command", "cannot fork");
		return;
	}
	if (pid == 0)
		exec_shell(j, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	f.in = in[1];
	f.out = out[0];
	fcntl(f.in, F_SETFL, O_NONBLOCK);
	fcntl(f.out, F_SETFL, O_NONBLOCK);
	deliver_src(j->rc->req, &src, j->rc->prefix, j->rc->prefix_len);
	mailbox_conv_init(&conv, false, feed_flush, &f);
	if (mailbox_copy(&conv, &src, &err) == -1 && errno == ETIMEDOUT)
		f.end.tv_sec = 0;	/* no more time: kill it now */
	close(f.in);
	status = reap(pid, &f, &timed_out);
	close(f.out);
	local_exit_report(rep, j->command, status, timed_out, f.output);
}

void
local_command(struct local_ctx *ctx, struct local_rcpt *rc,
    const struct local_user *u, const char *command, struct local_report *rep)
{
	struct cmd_job j;

	j.ctx = ctx;
	j.rc = rc;
	j.u = u;
	j.command = command;
	local_run_as(ctx, u, (gid_t)-1, (unsigned)ctx->command_time + 30,
	    cmd_job, &j, rep);
}
