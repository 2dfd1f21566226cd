/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- the master: start-up, daemonizing, reload and stop.
 *
 * Process:  master (root, or the invoking user).
 * Input:    command line and the configuration files (trusted).
 * Failure:  any start-up problem is printed and exits 1 before the
 *           master detaches, so ternctl start reports it; after that,
 *           problems are logged and the master goes on.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "master.h"
#include "priv.h"
#include "xmem.h"

static struct pidfh *pidfh;

static void
report(void *arg, bool error, const char *msg)
{
	if (error)
		log_error("%s", msg);
	else
		log_warnx("%s", msg);
}

/* A broken TLS set-up is loud, but plain SMTP goes on (not "encrypt"). */
static void
log_tls(const struct master_config *mc)
{
	if (mc->tls_error[0] != '\0')
		log_error("TLS: %s; STARTTLS is not offered", mc->tls_error);
}

static void
usage(void)
{
	fprintf(stderr, "usage: master [-fv] [-c config_dir]\n");
	exit(2);
}

static void
open_listeners(struct master *m)
{
	const struct services *s = &m->cfg.services;
	const char *err;
	size_t i;
	int fd;

	for (i = 0; i < s->n; i++) {
		if ((fd = master_listen(&m->cfg, &s->defs[i], &err)) == -1)
			fatalx("service %s: %s %s%s%s", s->defs[i].name, err,
			    s->defs[i].listen, errno ? ": " : "",
			    errno ? strerror(errno) : "");
		master_service_add(m, &s->defs[i], fd);
	}
}

/* Where the log goes; on reload this also reopens a rotated maillog. */
static int
log_setup(const struct master_config *mc)
{
	const char *maillog = conf_str(mc->conf, "maillog_file");

	if (maillog[0] == '\0')
		return LOG_TO_SYSLOG;
	if (log_file(maillog) == -1)
		fatal("maillog_file %s", maillog);
	return LOG_TO_FILE;
}

static void
reopen_log(const struct master_config *mc)
{
	const char *maillog = conf_str(mc->conf, "maillog_file");

	if (maillog[0] == '\0') {
		log_init("master", LOG_TO_SYSLOG);
		return;
	}
	if (log_file(maillog) == -1) {
		log_warn("reload: maillog_file %s; logging stays where it was",
		    maillog);
		return;
	}
	log_init("master", LOG_TO_FILE);
}

static struct msvc *
find_service(struct master *m, const char *name)
{
	struct msvc *svc;

	TAILQ_FOREACH(svc, &m->services, entry)
		if (!svc->removed && strcmp(svc->def.name, name) == 0)
			return svc;
	return NULL;
}

int
master_reload(struct master *m, const char **why_r)
{
	struct master_config nc;
	struct msvc *svc, *next;
	const struct service_def *d;
	const char *err;
	size_t i;
	int fd;

	if (m->stopping) {
		*why_r = "the master is stopping";
		return -1;
	}
	if (master_config_load(m->cfg.config_dir, priv_is_root(), &nc,
	    report, NULL) != 0) {
		*why_r = "configuration errors (see the log or ternctl check); "
		    "keeping the running configuration";
		log_error("reload: %s", *why_r);
		master_config_free(&nc);
		return -1;
	}
	if (strcmp(nc.queue_dir, m->cfg.queue_dir) != 0) {
		*why_r = "queue_directory changed; that needs a restart "
		    "(ternctl stop; ternctl start)";
		log_error("reload: %s", *why_r);
		master_config_free(&nc);
		return -1;
	}
	reopen_log(&nc);
	log_tls(&nc);

	/* Services gone, or moved to another address: close and drain. */
	TAILQ_FOREACH_SAFE(svc, &m->services, entry, next) {
		if (svc->removed)
			continue;
		d = services_find(&nc.services, svc->def.name);
		if (d == NULL || !master_def_same_listener(d, &svc->def)) {
			log_info("reload: service %s %s closed", svc->def.name,
			    svc->def.listen);
			master_service_remove(m, svc);
		}
	}
	/* Every process finishes what it does and is replaced. */
	master_signal_children(m, NULL, SIGHUP);

	master_config_free(&m->cfg);
	m->cfg = nc;
	for (i = 0; i < nc.services.n; i++) {
		d = &nc.services.defs[i];
		if ((svc = find_service(m, d->name)) != NULL) {
			if (!master_def_equal(d, &svc->def))
				log_info("reload: service %s changed", d->name);
			master_def_free(&svc->def);
			master_def_copy(&svc->def, d);
			master_service_update(m, svc);
			continue;
		}
		if ((fd = master_listen(&m->cfg, d, &err)) == -1) {
			log_error("reload: service %s: %s %s%s%s", d->name,
			    err, d->listen, errno ? ": " : "",
			    errno ? strerror(errno) : "");
			continue;
		}
		log_info("reload: service %s %s opened", d->name, d->listen);
		master_service_add(m, d, fd);
	}
	log_info("reload: done");
	return 0;
}

static void
finish(struct master *m)
{
	struct msvc *svc, *next;

	TAILQ_FOREACH_SAFE(svc, &m->services, entry, next)
		if (!svc->removed)
			master_service_remove(m, svc);
	master_ctl_close(m);
	if (pidfh != NULL)
		pidfile_remove(pidfh);
	log_info("stopped");
	event_base_loopbreak(m->base);
}

static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	log_warnx("stop: processes still running after shutdown_timeout; "
	    "killing them");
	master_signal_children(m, NULL, SIGKILL);
}

void
master_stop(struct master *m)
{
	struct timeval tv;
	struct msvc *svc;

	if (m->stopping)
		return;
	m->stopping = true;
	log_info("stopping");
	TAILQ_FOREACH(svc, &m->services, entry) {
		event_del(svc->ev_listen);
		svc->listening = false;
	}
	master_signal_children(m, NULL, SIGTERM);
	if (LIST_EMPTY(&m->children)) {
		finish(m);
		return;
	}
	tv.tv_sec = conf_time(m->cfg.conf, "shutdown_timeout");
	tv.tv_usec = 0;
	m->ev_stop_timer = evtimer_new(m->base, on_stop_timer, m);
	evtimer_add(m->ev_stop_timer, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;

	switch (sig) {
	case SIGCHLD:
		master_reap(m);
		if (m->stopping && LIST_EMPTY(&m->children))
			finish(m);
		break;
	case SIGHUP: {
		const char *why;

		log_info("reload requested by SIGHUP");
		(void)master_reload(m, &why);
		break;
	}
	default:
		master_stop(m);
		break;
	}
}

static struct event *
add_signal(struct master *m, int sig)
{
	struct event *ev;

	if ((ev = evsignal_new(m->base, sig, on_signal, m)) == NULL ||
	    event_add(ev, NULL) == -1)
		fatalx("cannot watch signal %d", sig);
	return ev;
}

static void
lock_queue(struct master *m)
{
	char path[1100];
	pid_t other;

	if (master_unix_path(&m->cfg, CTL_PIDFILE_PATH, path,
	    sizeof(path)) == -1)
		fatalx("queue_directory name too long");
	if ((pidfh = pidfile_open(path, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			fatalx("the Tern master is already running (pid %ld) "
			    "for queue_directory %s", (long)other,
			    m->cfg.queue_dir);
		fatal("cannot lock %s", path);
	}
	/* The services must not inherit the lock. */
	if (fcntl(pidfile_fileno(pidfh), F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
}

/*
 * Detach; the parent waits until the child says it is ready, so that the
 * caller (ternctl start) learns of any failure from our exit status.
 */
static int
daemonize(int64_t timeout)
{
	struct pollfd pfd;
	int p[2], n;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		pfd.fd = p[0];
		pfd.events = POLLIN;
		do {
			n = poll(&pfd, 1, (int)(timeout * 1000));
		} while (n == -1 && errno == EINTR);
		if (n == 1 && read(p[0], &c, 1) == 1 && c == 'R')
			_exit(0);
		if (n == 0) {
			/* Not ready in time: it must not come up behind us. */
			kill(pid, SIGKILL);
			fprintf(stderr, "master: not ready after "
			    "master_start_timeout (%llds); stopped it\n",
			    (long long)timeout);
		} else
			fprintf(stderr, "master: did not start; see above and "
			    "the log\n");
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	return p[1];
}

static void
detach_stdio(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

int
main(int argc, char *argv[])
{
	static struct master m;
	const char *dir = TERN_CONFIG_DIR;
	char absdir[PATH_MAX];
	bool foreground = false;
	int ch, logdest;

	log_init("master", LOG_TO_STDERR);
	while ((ch = getopt(argc, argv, "c:fv")) != -1) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			log_verbose(true);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Children and reloads must find it after chdir("/"). */
	if (realpath(dir, absdir) == NULL)
		fatal("config directory %s", dir);
	dir = absdir;
	umask(022);
	signal(SIGPIPE, SIG_IGN);

	if (master_config_load(dir, priv_is_root(), &m.cfg, report, NULL) != 0)
		fatalx("%s: configuration errors, see above; not started", dir);
	logdest = LOG_TO_STDERR | log_setup(&m.cfg);
	log_init("master", logdest);
	if (!priv_is_root())
		log_info("not running as root: no privilege changes");
	log_tls(&m.cfg);

	if (master_dirs_make(&m.cfg) == -1)
		fatalx("queue directory %s: cannot set up; not started",
		    m.cfg.queue_dir);
	lock_queue(&m);

	m.ready_fd = -1;
	m.ctl_fd = -1;
	TAILQ_INIT(&m.services);
	LIST_INIT(&m.children);
	if (!foreground)
		m.ready_fd = daemonize(conf_time(m.cfg.conf,
		    "master_start_timeout"));
	if (pidfile_write(pidfh) == -1)
		fatal("cannot write the pid file");

	if ((m.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	m.ev_sigchld = add_signal(&m, SIGCHLD);
	m.ev_sighup = add_signal(&m, SIGHUP);
	m.ev_sigterm = add_signal(&m, SIGTERM);
	m.ev_sigint = add_signal(&m, SIGINT);
	if (master_ctl_open(&m) == -1)
		fatalx("not started");
	open_listeners(&m);
	m.started = time(NULL);
	log_info("started, version %s, %zu services, config %s",
	    TERN_VERSION, m.cfg.services.n, dir);

	if (m.ready_fd != -1) {
		log_init("master", logdest & ~LOG_TO_STDERR);
		detach_stdio();
		(void)write(m.ready_fd, "R", 1);
		close(m.ready_fd);
		m.ready_fd = -1;
	}
	event_base_dispatch(m.base);
	master_config_free(&m.cfg);
	return 0;
}
