/*
 * SPDX-License-Identifier: ISC
 *
 * service.c -- the skeleton of every service the master spawns: argument
 * parsing, configuration, logging, privilege drop, then either "one
 * client, then exit" or "many clients on an event loop".
 *
 * Process:  every service, started by the master (as root or not).
 * Input:    argv and descriptors from the master (trusted); clients'
 *           connections are handed to the service untouched.
 * Failure:  configuration or environment problems are fatal (exit 1):
 *           the master notices and throttles the service.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "priv.h"
#include "service.h"

static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
}

int
service_status_write(int fd, int status)
{
	struct service_status st;
	ssize_t n;

	memset(&st, 0, sizeof(st));
	st.pid = (int32_t)getpid();
	st.status = status;
	do {
		n = write(fd, &st, sizeof(st));
	} while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(st) ? 0 : -1;
}

static void
conf_diag(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	int *errors = arg;

	if (sev == CONF_ERROR)
		(*errors)++;
	if (sev == CONF_ERROR)
		log_error("%s:%u: %s%s%s", file ? file : "(override)", line,
		    param ? param : "", param ? ": " : "", msg);
	else
		log_warnx("%s:%u: %s%s%s", file ? file : "(override)", line,
		    param ? param : "", param ? ": " : "", msg);
}

static void
usage(const char *prog)
{
	fatalx("usage: %s -c config_dir -n service -t inet|unix [-S] [-T] "
	    "[-u] [-r chroot] [-v] [-- args]", prog);
}

/*
 * Read tern.conf, then apply the "-o name=value" overrides that lead the
 * service's arguments (services.conf); the rest stay in ctx->argv.  The
 * master checked both already, so errors are fatal.
 */
static struct conf *
load_conf(struct service_ctx *ctx)
{
	static int errors;
	struct conf *c;
	char path[4096], name[128];
	const char *eq;

	c = conf_new(conf_diag, &errors);
	if ((size_t)snprintf(path, sizeof(path), "%s/tern.conf",
	    ctx->config_dir) >= sizeof(path))
		fatalx("config directory name too long");
	if (conf_load(c, path) != 0)
		fatalx("%s: configuration errors, see above", path);
	/*
	 * $config_directory (alias_maps' default, for one) is the directory
	 * in use, as in the master, whatever the file says.
	 */
	if (conf_set(c, "config_directory", ctx->config_dir) != 0)
		fatalx("config directory %s: bad value", ctx->config_dir);
	while (ctx->argc >= 2 && strcmp(ctx->argv[0], "-o") == 0) {
		if ((eq = strchr(ctx->argv[1], '=')) == NULL ||
		    (size_t)(eq - ctx->argv[1]) >= sizeof(name))
			fatalx("-o %s: expected name=value", ctx->argv[1]);
		memcpy(name, ctx->argv[1], (size_t)(eq - ctx->argv[1]));
		name[eq - ctx->argv[1]] = '\0';
		if (conf_set(c, name, eq + 1) != 0)
			fatalx("-o %s: bad override", ctx->argv[1]);
		ctx->argc -= 2;
		ctx->argv += 2;
	}
	if (conf_finish(c) != 0 || errors != 0)
		fatalx("%s: configuration errors, see above", path);
	return c;
}

static void
setup_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked except while waiting: epoll_pwait(), ppoll(), libevent. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Accept one connection, or -1 when another process took it first. */
static int
accept_one(void)
{
	int fd;

	fd = accept4(SERVICE_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			return -1;
		fatal("accept");
	}
	/* Clients are served with blocking I/O and explicit timeouts. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1)
		fatal("fcntl");
	return fd;
}

/*
 * The idle processes of a pool all wait on the same listening socket.
 * With poll() every one of them would wake for each connection and all
 * but one would find nothing to accept; an EPOLLEXCLUSIVE entry wakes
 * one (or a few).  The wait is epoll_pwait() with an empty mask, so that
 * SIGTERM and SIGHUP, blocked otherwise, end it as ppoll() would.
 */
static int
listen_epoll(void)
{
	struct epoll_event ev;
	int ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, SERVICE_LISTEN_FD, &ev) == -1)
		fatal("epoll_ctl");
	return ep;
}

static _Noreturn void
run_one_client(struct service_ctx *ctx)
{
	struct epoll_event ev;
	sigset_t none;
	int64_t idle;
	int ep, fd, n;

	idle = conf_time(ctx->conf, "max_idle");
	sigemptyset(&none);
	ep = listen_epoll();
	if (service_status_write(SERVICE_STATUS_FD, SERVICE_AVAIL) == -1)
		exit(0);
	for (;;) {
		n = epoll_pwait(ep, &ev, 1, idle > INT32_MAX / 1000 ?
		    INT32_MAX : (int)(idle * 1000), &none);
		if (got_term || got_hup)
			exit(0);
		if (n == 0) {
			log_debug("idle for %llds, exiting", (long long)idle);
			exit(0);
		}
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_pwait");
		}
		if ((fd = accept_one()) == -1)
			continue;
		close(ep);
		(void)service_status_write(SERVICE_STATUS_FD, SERVICE_BUSY);
		/*
		 * Let go of the listener: once the master closes it (reload,
		 * stop), no new client may queue on a socket we still hold.
		 */
		close(SERVICE_LISTEN_FD);
		/* A reload lets this client finish; a stop ends it. */
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		ctx->svc->client(ctx, fd);
		exit(0);
	}
}

/* ---- template (one_client_fork) ---------------------------------------- */

/*
 * A copy of this process whose parent is the master.  glibc has no fork
 * with clone flags, so this is the raw system call; what fork() would do
 * on top is not needed here: the process has one thread and no fork
 * handlers, getpid() asks the kernel, and raise()/abort() send to the
 * calling thread's real id (glibc >= 2.34), so even a stack-protector
 * abort hits the new process, not the template.
 */
static pid_t
clone_for_master(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL,
	    NULL, NULL);
}

static _Noreturn void
run_template(struct service_ctx *ctx)
{
	struct pollfd pfd;
	sigset_t none;
	int32_t reply;
	pid_t pid;
	ssize_t n;
	char req;

	if (ctx->svc->mode != SERVICE_ONE_CLIENT) {
		/* Only one-client processes are made this way. */
		reply = 0;
		(void)write(SERVICE_TEMPLATE_FD, &reply, sizeof(reply));
		exit(0);
	}
	sigemptyset(&none);
	for (;;) {
		pfd.fd = SERVICE_TEMPLATE_FD;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, NULL, &none) == -1 && errno != EINTR)
			fatal("ppoll");
		if (got_term || got_hup)
			exit(0);
		n = read(SERVICE_TEMPLATE_FD, &req, 1);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != 1 || req != 'F')
			exit(0);	/* the master let go of us */
		if ((pid = clone_for_master()) == -1) {
			log_warn("clone");
			reply = 0;
		} else if (pid == 0) {
			close(SERVICE_TEMPLATE_FD);
			run_one_client(ctx);
		} else
			reply = (int32_t)pid;
		if (write(SERVICE_TEMPLATE_FD, &reply, sizeof(reply)) !=
		    (ssize_t)sizeof(reply))
			exit(0);
	}
}

/* ---- multi-client shape ---------------------------------------------- */

struct multi {
	struct service_ctx *ctx;
	struct event	*ev_listen, *ev_idle, *ev_term, *ev_hup;
	size_t		 max;
	bool		 listening, busy, serving;
	int64_t		 used, max_use;
	struct timeval	 idle;
};

static struct multi multi;

static void
multi_update(void)
{
	struct service_ctx *ctx = multi.ctx;
	bool want = !ctx->draining && ctx->nclients < multi.max;

	if (want && !multi.listening)
		event_add(multi.ev_listen, NULL);
	else if (!want && multi.listening)
		event_del(multi.ev_listen);
	multi.listening = want;

	if (!ctx->draining && want == multi.busy) {
		multi.busy = !want;
		if (service_status_write(SERVICE_STATUS_FD,
		    want ? SERVICE_AVAIL : SERVICE_BUSY) == -1)
			event_base_loopexit(ctx->base, NULL);
	}
	if (ctx->draining && ctx->svc->drain != NULL)
		return;		/* the service leaves when it is ready */
	if (ctx->nclients == 0) {
		if (ctx->draining)
			event_base_loopexit(ctx->base, NULL);
		else if (!ctx->svc->resident)
			event_add(multi.ev_idle, &multi.idle);
	} else
		event_del(multi.ev_idle);
}

/* Accept no more clients; exit once the current ones are done. */
static void
drain(struct service_ctx *ctx)
{
	if (ctx->draining)
		return;
	ctx->draining = true;
	event_del(multi.ev_listen);
	multi.listening = false;
	close(SERVICE_LISTEN_FD);
	/* The master must not count on us for new clients any more. */
	(void)service_status_write(SERVICE_STATUS_FD, SERVICE_BUSY);
	if (ctx->svc->drain != NULL)
		ctx->svc->drain(ctx);
	else
		multi_update();
}

static void
multi_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct service_ctx *ctx = arg;
	int fd;

	if ((fd = accept_one()) == -1)
		return;
	if (!multi.serving) {
		multi.serving = true;
		(void)service_status_write(SERVICE_STATUS_FD, SERVICE_SERVING);
	}
	ctx->nclients++;
	/* Used enough: take no more, exit when these are done. */
	if (++multi.used >= multi.max_use && !ctx->svc->resident)
		drain(ctx);
	else
		multi_update();
	ctx->svc->client(ctx, fd);
}

void
service_client_done(struct service_ctx *ctx)
{
	if (ctx->nclients == 0)
		bug("service_client_done: no clients");
	ctx->nclients--;
	if (ctx->svc->mode == SERVICE_MULTI)
		multi_update();
}

static void
multi_idle(evutil_socket_t fd, short what, void *arg)
{
	struct service_ctx *ctx = arg;

	log_debug("idle, exiting");
	event_base_loopexit(ctx->base, NULL);
}

static void
multi_signal(evutil_socket_t sig, short what, void *arg)
{
	struct service_ctx *ctx = arg;

	if (sig == SIGTERM) {
		event_base_loopbreak(ctx->base);
		return;
	}
	/* SIGHUP: the master reloaded; finish current clients, then exit. */
	drain(ctx);
}

static _Noreturn void
run_multi(struct service_ctx *ctx)
{
	sigset_t none;

	multi.ctx = ctx;
	multi.max = ctx->svc->max_clients ? ctx->svc->max_clients : 1000;
	multi.idle.tv_sec = conf_time(ctx->conf, "max_idle");
	multi.max_use = conf_int(ctx->conf, "max_use");
	multi.ev_listen = event_new(ctx->base, SERVICE_LISTEN_FD,
	    EV_READ | EV_PERSIST, multi_accept, ctx);
	multi.ev_idle = evtimer_new(ctx->base, multi_idle, ctx);
	multi.ev_term = evsignal_new(ctx->base, SIGTERM, multi_signal, ctx);
	multi.ev_hup = evsignal_new(ctx->base, SIGHUP, multi_signal, ctx);
	if (multi.ev_listen == NULL || multi.ev_idle == NULL ||
	    multi.ev_term == NULL || multi.ev_hup == NULL)
		fatalx("cannot create events");
	event_add(multi.ev_term, NULL);
	event_add(multi.ev_hup, NULL);
	/* libevent catches the signals now; let them through. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (got_term)
		exit(0);
	if (got_hup)
		multi_signal(SIGHUP, 0, ctx);
	multi.busy = true;		/* so that the first update says AVAIL */
	multi_update();
	event_base_dispatch(ctx->base);
	exit(0);
}

/* ---- start-up -------------------------------------------------------- */

static void
check_fds(bool template)
{
	if (fcntl(SERVICE_LISTEN_FD, F_GETFD) == -1 ||
	    fcntl(SERVICE_STATUS_FD, F_GETFD) == -1)
		fatalx("not started by the master: descriptors %d and %d "
		    "must be the listen socket and the status pipe",
		    SERVICE_LISTEN_FD, SERVICE_STATUS_FD);
	if (template && fcntl(SERVICE_TEMPLATE_FD, F_GETFD) == -1)
		fatalx("-T: descriptor %d must be the master's socket",
		    SERVICE_TEMPLATE_FD);
	if (fcntl(SERVICE_STATUS_FD, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(SERVICE_LISTEN_FD, F_SETFD, FD_CLOEXEC) == -1 ||
	    (template &&
	    fcntl(SERVICE_TEMPLATE_FD, F_SETFD, FD_CLOEXEC) == -1))
		fatal("fcntl");
}

/* The service's extra_group, as a gid; false when there is none. */
static bool
extra_gid(struct service_ctx *ctx, gid_t *gid)
{
	const char *name;
	struct group *gr;

	if (ctx->svc->extra_group == NULL)
		return false;
	name = conf_str(ctx->conf, ctx->svc->extra_group);
	if ((gr = getgrnam(name)) == NULL) {
		log_warnx("%s %s: no such group: not kept",
		    ctx->svc->extra_group, name);
		return false;
	}
	*gid = gr->gr_gid;
	return true;
}

static void
drop(struct service_ctx *ctx, bool unpriv, const char *chroot_dir)
{
	struct priv_user u;
	const char *owner, *err;
	gid_t extra;

	if (!priv_is_root()) {
		if (chroot_dir != NULL)
			log_warnx("not root: chroot %s skipped", chroot_dir);
	} else if (!unpriv) {
		/* Kept root: the program drops privilege itself (local). */
		if (chroot_dir != NULL && (chroot(chroot_dir) == -1 ||
		    chdir("/") == -1))
			fatal("chroot %s", chroot_dir);
	} else {
		owner = conf_str(ctx->conf, "mail_owner");
		if (priv_lookup(owner, &u, &err) == -1)
			fatalx("mail_owner %s: %s", owner, err);
		if (extra_gid(ctx, &extra))
			priv_drop_groups(&u, &extra, 1, chroot_dir);
		else
			priv_drop(&u, chroot_dir);
		return;
	}
	/* No exec of a setuid program can ever give privilege back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
}

void
service_main(int argc, char *argv[], const struct service *svc)
{
	static struct service_ctx ctx;
	const char *type = NULL, *chroot_dir = NULL, *maillog;
	bool unpriv = false, verbose = false;
	int ch;

	/* SERVICE_TEMPLATE_FD is closed below unless -T says it is used. */
	closefrom(SERVICE_FIRST_FREE_FD);
	log_init(svc->name, LOG_TO_STDERR);
	ctx.svc = svc;
	while ((ch = getopt(argc, argv, "c:n:STt:ur:v")) != -1) {
		switch (ch) {
		case 'c':
			ctx.config_dir = optarg;
			break;
		case 'n':
			ctx.service_name = optarg;
			break;
		case 'S':
			ctx.tls_server_ok = true;
			break;
		case 'T':
			ctx.template = true;
			break;
		case 't':
			type = optarg;
			break;
		case 'u':
			unpriv = true;
			break;
		case 'r':
			chroot_dir = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (ctx.config_dir == NULL || ctx.service_name == NULL || type == NULL)
		usage(argv[0]);
	if (strcmp(type, "inet") != 0 && strcmp(type, "unix") != 0)
		usage(argv[0]);
	ctx.inet = strcmp(type, "inet") == 0;
	ctx.argc = argc - optind;
	ctx.argv = argv + optind;
	if (!ctx.template)
		close(SERVICE_TEMPLATE_FD);
	check_fds(ctx.template);

	ctx.conf = load_conf(&ctx);
	maillog = conf_str(ctx.conf, "maillog_file");
	if (maillog[0] != '\0') {
		if (log_file(maillog) == -1)
			fatal("maillog_file %s", maillog);
		log_init(svc->name, LOG_TO_FILE);
	} else
		log_init(svc->name, LOG_TO_SYSLOG);
	log_verbose(verbose);
	setup_signals();

	if (svc->mode == SERVICE_MULTI &&
	    (ctx.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	if (svc->pre_jail != NULL)
		svc->pre_jail(&ctx);
	drop(&ctx, unpriv, chroot_dir);
	if (svc->post_jail != NULL)
		svc->post_jail(&ctx);

	if (ctx.template)
		run_template(&ctx);
	if (svc->mode == SERVICE_ONE_CLIENT)
		run_one_client(&ctx);
	run_multi(&ctx);
}
