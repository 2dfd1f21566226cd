/*
 * SPDX-License-Identifier: ISC
 *
 * master_spawn.c -- run the services: prefork pools, lazy start, reaping,
 * throttling of services whose processes keep dying, wake-up timers.
 *
 * Process:  master.
 * Input:    status records from the children's pipes (struct
 *           service_status); a record from an unknown pid is ignored.
 * Failure:  spawn/exec failures throttle the service like a crash does.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "master.h"
#include "service.h"
#include "xmem.h"

static void	adjust(struct master *, struct msvc *);

unsigned
master_throttle_delay(unsigned failures, unsigned cap)
{
	unsigned d;

	if (failures == 0)
		return 0;
	d = failures > 16 ? 1u << 16 : 1u << (failures - 1);
	return d < cap ? d : cap;
}

/* ---- service definitions ----------------------------------------------- */

void
master_def_copy(struct service_def *dst, const struct service_def *src)
{
	size_t i;

	*dst = *src;
	for (i = 0; i < src->argc; i++)
		dst->argv[i] = xstrdup(src->argv[i]);
	dst->argv[src->argc] = NULL;
}

void
master_def_free(struct service_def *d)
{
	size_t i;

	for (i = 0; i < d->argc; i++) {
		free(d->argv[i]);
		d->argv[i] = NULL;
	}
	d->argc = 0;
}

bool
master_def_same_listener(const struct service_def *a,
    const struct service_def *b)
{
	return a->type == b->type && strcmp(a->listen, b->listen) == 0;
}

bool
master_def_equal(const struct service_def *a, const struct service_def *b)
{
	size_t i;

	if (!master_def_same_listener(a, b) || strcmp(a->name, b->name) != 0 ||
	    a->unpriv != b->unpriv || strcmp(a->chroot, b->chroot) != 0 ||
	    a->maxproc != b->maxproc || a->prefork != b->prefork ||
	    a->wakeup != b->wakeup || strcmp(a->command, b->command) != 0 ||
	    a->argc != b->argc)
		return false;
	for (i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return false;
	return true;
}

/* ---- spawning ------------------------------------------------------------ */

/* fd, moved above the descriptors a child gets (see spawn_child()). */
static int
fd_above_service_fds(int fd)
{
	int nfd;

	if (fd >= SERVICE_FIRST_FREE_FD)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, SERVICE_FIRST_FREE_FD)) == -1)
		fatal("fcntl F_DUPFD_CLOEXEC");
	close(fd);
	return nfd;
}

/*
 * The child is started with posix_spawn(): glibc runs it on the master's
 * memory (clone with CLONE_VM and CLONE_VFORK) until the exec, so no page
 * table of the master is copied, which fork() would do for every smtpd.
 * Everything the child needs before the exec is a file or signal action:
 * 0, 1 and 2 on /dev/null, the listening socket on 3, the status pipe on
 * 4 and, for a template (tpl_fd not -1), its socket on 5 (the master keeps
 * all of them above 5, so that no dup2 can overwrite a source still to be
 * copied), the master's signals back to their defaults and an empty
 * signal mask.
 */
static int
spawn_child(struct master *m, struct msvc *svc, int tpl_fd, pid_t *pid)
{
	const struct master_config *mc = &m->cfg;
	char path[1100], *argv[SERVICES_ARGS_MAX + 16];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t def, none;
	size_t k;
	int i = 0, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", mc->daemon_dir,
	    svc->def.command) >= sizeof(path))
		return ENAMETOOLONG;
	argv[i++] = svc->def.command;
	argv[i++] = "-c";
	argv[i++] = (char *)mc->config_dir;
	argv[i++] = "-n";
	argv[i++] = svc->def.name;
	argv[i++] = "-t";
	argv[i++] = svc->def.type == SERVICES_INET ? "inet" : "unix";
	if (mc->tls_ok)
		argv[i++] = "-S";
	if (tpl_fd != -1)
		argv[i++] = "-T";
	if (svc->def.unpriv)
		argv[i++] = "-u";
	if (strcmp(svc->def.chroot, "y") == 0) {
		argv[i++] = "-r";
		argv[i++] = (char *)mc->queue_dir;
	} else if (svc->def.chroot[0] != '\0') {
		argv[i++] = "-r";
		argv[i++] = svc->def.chroot;
	}
	argv[i++] = "--";
	for (k = 0; k < svc->def.argc; k++)
		argv[i++] = svc->def.argv[k];
	argv[i] = NULL;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGCHLD);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&sa)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDWR, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, 0, 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, 0, 2)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, svc->listen_fd,
	    SERVICE_LISTEN_FD)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, svc->status_wr,
	    SERVICE_STATUS_FD)) == 0 &&
	    (tpl_fd == -1 || (rc = posix_spawn_file_actions_adddup2(&fa,
	    tpl_fd, SERVICE_TEMPLATE_FD)) == 0) &&
	    (rc = posix_spawnattr_setsigdefault(&sa, &def)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&sa, &none)) == 0 &&
	    (rc = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK)) == 0)
		rc = posix_spawn(pid, path, &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static void	throttle(struct master *, struct msvc *);

/* ---- templates (one_client_fork) ----------------------------------------- */

/*
 * one_client_fork for this service: its "-o" override, else tern.conf.
 * Only for services that drop to mail_owner: a process that keeps root
 * (local) is always executed, so that no root process ever shares its
 * layout with another.
 */
static bool
use_template(const struct master *m, const struct msvc *svc)
{
	static const char name[] = "one_client_fork=";
	const char *err;
	size_t i;
	bool on;

	if (!svc->def.unpriv)
		return false;
	for (i = 0; i + 1 < svc->def.argc &&
	    strcmp(svc->def.argv[i], "-o") == 0; i += 2)
		if (strncmp(svc->def.argv[i + 1], name, sizeof(name) - 1) == 0 &&
		    conf_parse_bool(svc->def.argv[i + 1] + sizeof(name) - 1,
		    &on, &err) == 0)
			return on;
	return conf_bool(m->cfg.conf, "one_client_fork");
}

/* Let the template go: it exits on SIGTERM (the reaper ignores it). */
static void
tpl_stop(struct msvc *svc)
{
	if (svc->tpl_pid == 0)
		return;
	if (kill(svc->tpl_pid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("kill %ld", (long)svc->tpl_pid);
	close(svc->tpl_fd);
	svc->tpl_pid = 0;
	svc->tpl_fd = -1;
	svc->tpl_forks = 0;
}

static int
tpl_start(struct master *m, struct msvc *svc)
{
	int sp[2], rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("service %s: socketpair", svc->def.name);
		return -1;
	}
	sp[0] = fd_above_service_fds(sp[0]);
	sp[1] = fd_above_service_fds(sp[1]);
	rc = spawn_child(m, svc, sp[1], &pid);
	close(sp[1]);
	if (rc != 0) {
		errno = rc;
		log_warn("service %s: cannot execute %s/%s", svc->def.name,
		    m->cfg.daemon_dir, svc->def.command);
		close(sp[0]);
		return -1;
	}
	svc->tpl_pid = pid;
	svc->tpl_fd = sp[0];
	svc->tpl_forks = 0;
	log_info("service %s: template process %ld started", svc->def.name,
	    (long)pid);
	return 0;
}

/*
 * Ask the template for a process.  The answer is awaited here, before
 * the event loop can reap anything, so that a process that ends at once
 * is known when its exit is seen.  The pid is believed only if the
 * kernel says it is our child.
 */
static int
tpl_fork(struct master *m, struct msvc *svc, pid_t *pid_r)
{
	struct pollfd pfd;
	siginfo_t si;
	int32_t pid;
	ssize_t n;
	int timeout;

	if (svc->tpl_pid == 0 && tpl_start(m, svc) == -1)
		return -1;
	if (send(svc->tpl_fd, "F", 1, MSG_NOSIGNAL) != 1)
		goto fail;
	/* A new template first reads its configuration. */
	timeout = (int)conf_time(m->cfg.conf, "ipc_timeout") * 1000;
	pfd.fd = svc->tpl_fd;
	pfd.events = POLLIN;
	do {
		n = poll(&pfd, 1, timeout);
	} while (n == -1 && errno == EINTR);
	if (n != 1)
		goto fail;
	do {
		n = recv(svc->tpl_fd, &pid, sizeof(pid), MSG_WAITALL);
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(pid) && pid == 0) {
		log_info("service %s: one_client_fork applies only to "
		    "one-client services; processes are executed",
		    svc->def.name);
		tpl_stop(svc);
		svc->tpl_off = true;
		return -1;
	}
	memset(&si, 0, sizeof(si));
	if (n != (ssize_t)sizeof(pid) || pid <= 0 ||
	    waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		goto fail;
	svc->tpl_failures = 0;
	*pid_r = (pid_t)pid;
	if (++svc->tpl_forks >= (unsigned)conf_int(m->cfg.conf,
	    "one_client_fork_limit"))
		tpl_stop(svc);
	return 0;
fail:
	log_warnx("service %s: template process %ld did not answer; "
	    "starting one process by exec", svc->def.name,
	    (long)svc->tpl_pid);
	tpl_stop(svc);
	if (++svc->tpl_failures >= 3) {
		log_warnx("service %s: no template until the next reload",
		    svc->def.name);
		svc->tpl_off = true;
	}
	return -1;
}

static void
spawn(struct master *m, struct msvc *svc)
{
	struct mchild *c;
	bool from_tpl = false;
	pid_t pid;
	int rc;

	if (!svc->tpl_off && use_template(m, svc) &&
	    tpl_fork(m, svc, &pid) == 0)
		from_tpl = true;
	else if ((rc = spawn_child(m, svc, -1, &pid)) != 0) {
		errno = rc;
		log_warn("service %s: cannot execute %s/%s", svc->def.name,
		    m->cfg.daemon_dir, svc->def.command);
		/* As a process that died before serving anyone. */
		throttle(m, svc);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->pid = pid;
	c->svc = svc;
	c->avail = true;	/* it will accept what is waiting */
	c->from_tpl = from_tpl;
	c->started = time(NULL);
	LIST_INSERT_HEAD(&m->children, c, entry);
	svc->nproc++;
	svc->navail++;
	log_debug("service %s: started process %ld%s", svc->def.name,
	    (long)pid, from_tpl ? " from the template" : "");
}

static void
set_listening(struct msvc *svc, bool on)
{
	if (on == svc->listening)
		return;
	if (on)
		event_add(svc->ev_listen, NULL);
	else
		event_del(svc->ev_listen);
	svc->listening = on;
}

/* Bring a service to where it should be: its pool full, lazy when idle. */
static void
adjust(struct master *m, struct msvc *svc)
{
	if (m->stopping || svc->removed || svc->throttled) {
		set_listening(svc, false);
		return;
	}
	while (!svc->throttled && svc->navail < svc->def.prefork &&
	    svc->nproc < svc->maxproc)
		spawn(m, svc);
	set_listening(svc, svc->navail == 0 && svc->nproc < svc->maxproc);
}

static void
on_listen(evutil_socket_t fd, short what, void *arg)
{
	struct msvc *svc = arg;
	struct master *m = svc->m;

	/* A client waits and no process is free: start one. */
	if (svc->navail == 0 && svc->nproc < svc->maxproc)
		spawn(m, svc);
	adjust(m, svc);
}

static struct mchild *
find_child(struct master *m, pid_t pid)
{
	struct mchild *c;

	LIST_FOREACH(c, &m->children, entry)
		if (c->pid == pid)
			return c;
	return NULL;
}

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct msvc *svc = arg;
	struct master *m = svc->m;
	struct service_status st;
	struct mchild *c;
	ssize_t n;

	while ((n = read(fd, &st, sizeof(st))) == (ssize_t)sizeof(st)) {
		c = find_child(m, (pid_t)st.pid);
		if (c == NULL || c->svc != svc || c->signalled)
			continue;
		if (st.status == SERVICE_BUSY ||
		    st.status == SERVICE_SERVING) {
			c->served = true;
			svc->failures = 0;
		}
		if (st.status == SERVICE_AVAIL && !c->avail) {
			c->avail = true;
			svc->navail++;
		} else if (st.status == SERVICE_BUSY && c->avail) {
			c->avail = false;
			svc->navail--;
		}
	}
	adjust(m, svc);
}

static void
on_throttle_end(evutil_socket_t fd, short what, void *arg)
{
	struct msvc *svc = arg;

	svc->throttled = false;
	log_info("service %s: throttle lifted", svc->def.name);
	adjust(svc->m, svc);
}

static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct msvc *svc = arg;
	struct sockaddr_un sun;
	int s;

	if (svc->removed || svc->throttled)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (master_unix_path(&svc->m->cfg, svc->def.listen, sun.sun_path,
	    sizeof(sun.sun_path)) == -1)
		return;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s == -1)
		return;
	/* A full backlog means the service is awake anyway. */
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		(void)send(s, "W\n", 2, MSG_NOSIGNAL);
	close(s);
}

void
master_service_add(struct master *m, const struct service_def *def, int fd)
{
	struct msvc *svc;
	int p[2];

	svc = xcalloc(1, sizeof(*svc));
	svc->m = m;
	master_def_copy(&svc->def, def);
	svc->listen_fd = fd_above_service_fds(fd);
	svc->tpl_fd = -1;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe");
	svc->status_rd = p[0];
	svc->status_wr = fd_above_service_fds(p[1]);
	svc->ev_listen = event_new(m->base, svc->listen_fd,
	    EV_READ | EV_PERSIST, on_listen, svc);
	svc->ev_status = event_new(m->base, svc->status_rd,
	    EV_READ | EV_PERSIST, on_status, svc);
	svc->ev_throttle = evtimer_new(m->base, on_throttle_end, svc);
	if (svc->ev_listen == NULL || svc->ev_status == NULL ||
	    svc->ev_throttle == NULL)
		fatalx("cannot create events");
	event_add(svc->ev_status, NULL);
	TAILQ_INSERT_TAIL(&m->services, svc, entry);
	master_service_update(m, svc);
}

/* (Re)arm the wake-up timer from the definition; reload may change it. */
static void
set_wakeup(struct master *m, struct msvc *svc)
{
	struct timeval tv = { svc->def.wakeup, 0 };

	if (svc->ev_wakeup != NULL) {
		event_free(svc->ev_wakeup);
		svc->ev_wakeup = NULL;
	}
	if (svc->def.wakeup == 0)
		return;
	if (svc->def.type != SERVICES_UNIX) {
		log_warnx("service %s: wakeup only works for unix services; "
		    "ignored", svc->def.name);
		return;
	}
	svc->ev_wakeup = event_new(m->base, -1, EV_PERSIST, on_wakeup, svc);
	if (svc->ev_wakeup == NULL)
		fatalx("cannot create events");
	event_add(svc->ev_wakeup, &tv);
}

void
master_service_update(struct master *m, struct msvc *svc)
{
	set_wakeup(m, svc);
	/* A reload gives templates another chance. */
	svc->tpl_off = false;
	svc->tpl_failures = 0;
	svc->maxproc = svc->def.maxproc ? svc->def.maxproc :
	    (unsigned)conf_int(m->cfg.conf, "default_process_limit");
	adjust(m, svc);
}

static void
service_free(struct master *m, struct msvc *svc)
{
	tpl_stop(svc);
	TAILQ_REMOVE(&m->services, svc, entry);
	event_free(svc->ev_listen);
	event_free(svc->ev_status);
	event_free(svc->ev_throttle);
	if (svc->ev_wakeup != NULL)
		event_free(svc->ev_wakeup);
	if (svc->listen_fd != -1)
		close(svc->listen_fd);
	close(svc->status_rd);
	close(svc->status_wr);
	master_def_free(&svc->def);
	free(svc);
}

void
master_service_remove(struct master *m, struct msvc *svc)
{
	char path[1100];

	svc->removed = true;
	set_listening(svc, false);
	if (svc->ev_wakeup != NULL)
		event_del(svc->ev_wakeup);
	event_del(svc->ev_throttle);
	close(svc->listen_fd);
	svc->listen_fd = -1;
	if (svc->def.type == SERVICES_UNIX &&
	    master_unix_path(&m->cfg, svc->def.listen, path,
	    sizeof(path)) == 0)
		(void)unlink(path);
	master_signal_children(m, svc, SIGHUP);
	if (svc->nproc == 0)
		service_free(m, svc);
}

void
master_signal_children(struct master *m, struct msvc *svc, int sig)
{
	struct mchild *c;
	struct msvc *s;

	/* Reload or stop: a template holds the old configuration. */
	TAILQ_FOREACH(s, &m->services, entry)
		if (svc == NULL || s == svc)
			tpl_stop(s);
	LIST_FOREACH(c, &m->children, entry) {
		if (svc != NULL && c->svc != svc)
			continue;
		if (kill(c->pid, sig) == -1 && errno != ESRCH)
			log_warn("kill %ld", (long)c->pid);
		c->signalled = true;
		/* A draining process takes no new client: do not count it. */
		if (c->avail) {
			c->avail = false;
			c->svc->navail--;
		}
	}
}

/* ---- reaping ------------------------------------------------------------- */

static void
throttle(struct master *m, struct msvc *svc)
{
	unsigned cap, delay;
	struct timeval tv;

	svc->failures++;
	cap = (unsigned)conf_time(m->cfg.conf, "service_throttle_time");
	delay = master_throttle_delay(svc->failures, cap);
	log_warnx("service %s: throttling for %us after %u failed start%s "
	    "in a row", svc->def.name, delay, svc->failures,
	    svc->failures == 1 ? "" : "s");
	svc->throttled = true;
	tv.tv_sec = delay;
	tv.tv_usec = 0;
	evtimer_add(svc->ev_throttle, &tv);
}

static void
child_gone(struct master *m, struct mchild *c, int status)
{
	struct msvc *svc = c->svc;
	bool normal;

	LIST_REMOVE(c, entry);
	svc->nproc--;
	if (c->avail)
		svc->navail--;
	normal = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
	    (c->signalled && WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGHUP ||
	    WTERMSIG(status) == SIGKILL));
	if (!normal) {
		if (WIFSIGNALED(status))
			log_warnx("service %s: process %ld killed by signal %d",
			    svc->def.name, (long)c->pid, WTERMSIG(status));
		else
			log_warnx("service %s: process %ld exited with "
			    "status %d", svc->def.name, (long)c->pid,
			    WEXITSTATUS(status));
		/*
		 * Only a process that died before serving anyone throttles
		 * the service: a client that crashes its own process must
		 * not be able to stop the service for everyone.
		 */
		if (!c->served && !svc->removed && !m->stopping)
			throttle(m, svc);
		/*
		 * Its siblings share its address-space layout and stack
		 * canary: a crash may be someone probing them.  The
		 * template goes, and so do the idle siblings (SIGHUP: one
		 * that serves a client finishes first), so that the next
		 * client meets a new layout, as with an exec per process.
		 */
		if (c->from_tpl && !svc->removed && !m->stopping) {
			log_info("service %s: new template after the failed "
			    "process; idle processes replaced", svc->def.name);
			master_signal_children(m, svc, SIGHUP);
		}
	} else if (WIFEXITED(status))
		svc->failures = 0;
	free(c);
	if (svc->removed && svc->nproc == 0)
		service_free(m, svc);
	else
		adjust(m, svc);
}

/* A template that ended by itself: forget it, the next spawn starts one. */
static void
tpl_gone(struct master *m, pid_t pid)
{
	struct msvc *svc;

	TAILQ_FOREACH(svc, &m->services, entry) {
		if (svc->tpl_pid != pid)
			continue;
		close(svc->tpl_fd);
		svc->tpl_pid = 0;
		svc->tpl_fd = -1;
		svc->tpl_forks = 0;
	}
}

void
master_reap(struct master *m)
{
	struct mchild *c;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = find_child(m, pid)) == NULL) {
			tpl_gone(m, pid);
			continue;
		}
		child_gone(m, c, status);
	}
}
