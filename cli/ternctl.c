/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl.c -- start, stop, reload and inspect a Tern instance.
 *
 * Process:  ternctl (the caller's privilege; never setuid).
 * Input:    command line, configuration files, replies from the master's
 *           control socket (trusted peer, still parsed with limits).
 * Failure:  messages on stderr; exit 0 ok, 1 failure, 2 usage (usage
 *           text on stderr; "--help" prints it on stdout, exit 0),
 *           3 not running (status).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "attr.h"
#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "master.h"
#include "priv.h"
#include "ternctl.h"

#define EXIT_NOT_RUNNING	3

void
ternctl_report(void *arg, bool error, const char *msg)
{
	int *errors = arg;

	if (error && errors != NULL)
		(*errors)++;
	fprintf(stderr, "ternctl: %s: %s\n", error ? "error" : "warning", msg);
}

static const char usage_text[] =
    "usage: ternctl [-c config_dir] start | stop | reload | status | check\n"
    "       ternctl [-c config_dir] config [list | get name ... |\n"
    "               set name=value ... | --defaults | --non-default | -m]\n"
    "       ternctl map build [-a] file ...\n"
    "       ternctl map query map key | -\n"
    "       ternctl [-c config_dir] queue list | show | flush | delete | hold |\n"
    "               release | requeue ... (ternctl queue --help)\n"
    "       ternctl [verb] --help\n";

static _Noreturn void
usage(FILE *fp, int status)
{
	fputs(usage_text, fp);
	exit(status);
}

/*
 * Read the configuration.  Only start needs it flawless; stop, reload and
 * status need just queue_directory, so that a broken edit never keeps
 * the administrator from stopping or inspecting a running instance.
 */
static void
load(const char *dir, struct master_config *mc, bool strict)
{
	int errors = 0;

	if (master_config_load(dir, priv_is_root(), mc, ternctl_report,
	    &errors) == 0)
		return;
	if (strict || mc->queue_dir[0] == '\0') {
		fprintf(stderr, "ternctl: %s: configuration errors; run "
		    "ternctl check\n", dir);
		exit(1);
	}
	fprintf(stderr, "ternctl: %s: configuration errors (run ternctl "
	    "check); going on with queue_directory %s\n", dir, mc->queue_dir);
}

/*
 * Send one request to the master; 0 with *reply filled, or -1 with errno
 * ENOENT/ECONNREFUSED meaning no master runs.
 */
static int
request(const struct master_config *mc, const char *req,
    struct attr_msg *reply)
{
	struct sockaddr_un sun;
	struct buf out;
	const char *err;
	int fd, r = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (master_unix_path(mc, CTL_SOCKET_PATH, sun.sun_path,
	    sizeof(sun.sun_path)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES)
			fprintf(stderr, "ternctl: %s: permission denied (run "
			    "as root or mail_owner)\n", sun.sun_path);
		close(fd);
		return -1;
	}
	attr_out_init(&out);
	attr_put_str(&out, "request", req);
	if (attr_write(fd, &out, CTL_TIMEOUT_MS, &err) == -1 ||
	    attr_read(fd, reply, CTL_TIMEOUT_MS, &err) == -1) {
		fprintf(stderr, "ternctl: master did not answer %s: %s\n", req,
		    err);
		errno = EPROTO;
	} else
		r = 0;
	buf_clear(&out);
	close(fd);
	return r;
}

static bool
not_running(int e)
{
	return e == ENOENT || e == ECONNREFUSED;
}

static int
cmd_start(const char *dir)
{
	struct master_config mc;
	struct attr_msg reply;
	char path[1100];
	int status;
	int64_t pid = 0;
	pid_t child;

	load(dir, &mc, true);
	attr_msg_init(&reply);
	if (request(&mc, CTL_REQ_STATUS, &reply) == 0) {
		attr_get_int(&reply, "pid", &pid);
		fprintf(stderr, "ternctl: tern is already running (pid %lld)\n",
		    (long long)pid);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/master", mc.daemon_dir);
	if ((child = fork()) == -1) {
		perror("ternctl: fork");
		return 1;
	}
	if (child == 0) {
		execl(path, "master", "-c", dir, (char *)NULL);
		fprintf(stderr, "ternctl: cannot execute %s: %s\n", path,
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "ternctl: tern did not start\n");
		return 1;
	}
	if (request(&mc, CTL_REQ_STATUS, &reply) == 0)
		attr_get_int(&reply, "pid", &pid);
	printf("tern started (master pid %lld)\n", (long long)pid);
	attr_msg_clear(&reply);
	master_config_free(&mc);
	return 0;
}

/* mail_owner may not signal a root master, but may see that it runs. */
static bool
alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static int
cmd_stop(const char *dir)
{
	struct master_config mc;
	struct attr_msg reply;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int64_t pid = 0, limit, i;

	load(dir, &mc, false);
	attr_msg_init(&reply);
	if (request(&mc, CTL_REQ_STOP, &reply) == -1) {
		if (not_running(errno)) {
			printf("tern is not running\n");
			return 0;
		}
		return 1;
	}
	attr_get_int(&reply, "pid", &pid);
	/* The master kills what is left after shutdown_timeout. */
	limit = (conf_time(mc.conf, "shutdown_timeout") + 5) * 20;
	for (i = 0; i < limit && pid > 0 && alive((pid_t)pid); i++)
		nanosleep(&ts, NULL);
	if (pid > 0 && alive((pid_t)pid)) {
		fprintf(stderr, "ternctl: master pid %lld still running\n",
		    (long long)pid);
		return 1;
	}
	printf("tern stopped\n");
	attr_msg_clear(&reply);
	master_config_free(&mc);
	return 0;
}

static int
cmd_reload(const char *dir)
{
	struct master_config mc;
	struct attr_msg reply;
	char status[16], reason[512];

	load(dir, &mc, false);
	attr_msg_init(&reply);
	if (request(&mc, CTL_REQ_RELOAD, &reply) == -1) {
		if (not_running(errno))
			fprintf(stderr, "ternctl: tern is not running\n");
		return 1;
	}
	if (attr_get_str(&reply, "status", status, sizeof(status)) == -1 ||
	    strcmp(status, "ok") != 0) {
		if (attr_get_str(&reply, "reason", reason, sizeof(reason)) == -1)
			strlcpy(reason, "no reason given", sizeof(reason));
		fprintf(stderr, "ternctl: reload failed: %s\n", reason);
		return 1;
	}
	printf("tern reloaded\n");
	attr_msg_clear(&reply);
	master_config_free(&mc);
	return 0;
}

static int
cmd_status(const char *dir)
{
	struct master_config mc;
	struct attr_msg reply;
	const struct attr *a;
	int64_t pid = 0, started = 0;

	load(dir, &mc, false);
	attr_msg_init(&reply);
	if (request(&mc, CTL_REQ_STATUS, &reply) == -1) {
		if (not_running(errno)) {
			printf("tern is not running\n");
			return EXIT_NOT_RUNNING;
		}
		return 1;
	}
	attr_get_int(&reply, "pid", &pid);
	attr_get_int(&reply, "started", &started);
	printf("tern is running: master pid %lld, up %llds\n",
	    (long long)pid, (long long)(time(NULL) - started));
	printf("%-16s %-4s %-28s %5s %5s %7s %7s %s\n", "SERVICE", "TYPE",
	    "LISTEN", "PROCS", "IDLE", "MAXPROC", "PREFORK", "STATE");
	if ((a = attr_find(&reply, "services")) != NULL &&
	    a->type == ATTR_T_DATA) {
		char line[1024], name[64], type[8], listen[300], state[16];
		unsigned procs, avail, maxproc, prefork;
		const char *p = (const char *)a->val, *end = p + a->len, *nl;

		for (; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
			    (size_t)(nl - p) >= sizeof(line))
				break;
			memcpy(line, p, (size_t)(nl - p));
			line[nl - p] = '\0';
			if (sscanf(line, "%63s %7s %299s %u %u %u %u %15s", name,
			    type, listen, &procs, &avail, &maxproc, &prefork,
			    state) != 8)
				continue;
			printf("%-16s %-4s %-28s %5u %5u %7u %7u %s\n", name,
			    type, listen, procs, avail, maxproc, prefork, state);
		}
	}
	attr_msg_clear(&reply);
	master_config_free(&mc);
	return 0;
}

/* The verbs that take no operand. */
static const struct verb {
	const char	*name;
	int		(*fn)(const char *dir);
	const char	*what;
} verbs[] = {
	{ "start", cmd_start, "start the master and the services" },
	{ "stop", cmd_stop, "stop the master and every service" },
	{ "reload", cmd_reload, "make the master read the configuration "
	    "again" },
	{ "status", cmd_status, "show whether the master runs, and its "
	    "services (exit 3: not running)" },
	{ "check", ternctl_check, "look for every problem in the set-up "
	    "(exit 1: some found)" },
	{ NULL, NULL, NULL }
};

static int
run_verb(const char *dir, int argc, char *argv[])
{
	const struct verb *v;

	for (v = verbs; v->name != NULL; v++)
		if (strcmp(v->name, argv[0]) == 0)
			break;
	if (v->name == NULL)
		usage(stderr, 2);
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: ternctl [-c config_dir] %s\n  %s\n", v->name,
		    v->what);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: ternctl [-c config_dir] %s\n",
		    v->name);
		return 2;
	}
	return v->fn(dir);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = TERN_CONFIG_DIR, *cmd;
	int ch;

	log_init("ternctl", LOG_TO_STDERR);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TERN_CONFIG_DIR") != NULL)
		dir = getenv("TERN_CONFIG_DIR");
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			dir = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(stderr, 2);
	cmd = argv[0];
	if (strcmp(cmd, "config") == 0)
		return ternctl_config(dir, argc, argv);
	if (strcmp(cmd, "map") == 0)
		return ternctl_map(argc, argv);
	if (strcmp(cmd, "queue") == 0)
		return ternctl_queue(dir, argc, argv);
	return run_verb(dir, argc, argv);
}
