/*
 * SPDX-License-Identifier: ISC
 *
 * testsvc.c -- a service for the master's integration tests, built on the
 * same skeleton as every real service.
 *
 * Arguments (after "--" in services.conf): "multi" for the event-loop
 * shape, "crash" to exit 1 right after start-up, "segv" to die of SIGSEGV,
 * "keyfile=PATH" to open PATH in pre_jail (as root) and report whether
 * that worked.
 *
 * To each client it writes one line:
 *   "pid=P uid=U euid=E gid=G egid=H groups=N service=S mode=M key=K
 *    max_idle=SECONDS tls=0|1 args=N\n"
 * (max_idle shows "-o max_idle=..." overrides at work, tls the master's
 * -S, args how many arguments the skeleton left after the overrides).
 * then echoes lines until the client closes or sends "quit".  A client
 * that sends "W" is the master's wake-up; it is logged.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "service.h"

static bool	multi_mode, crash, segv;
static const char *keyfile;
static int	keyfd = -1;

static int
hello(struct service_ctx *ctx, char *buf, size_t sz)
{
	return snprintf(buf, sz, "pid=%ld uid=%ld euid=%ld gid=%ld egid=%ld "
	    "groups=%d service=%s mode=%s key=%s max_idle=%lld tls=%d "
	    "args=%d\n", (long)getpid(),
	    (long)getuid(), (long)geteuid(), (long)getgid(), (long)getegid(),
	    getgroups(0, NULL), ctx->service_name, multi_mode ? "multi" : "one",
	    keyfile == NULL ? "none" : keyfd != -1 ? "open" : "denied",
	    (long long)conf_time(ctx->conf, "max_idle"),
	    ctx->tls_server_ok ? 1 : 0, ctx->argc);
}

static void
one_client(struct service_ctx *ctx, int fd)
{
	char buf[512];
	ssize_t n;
	int len;

	len = hello(ctx, buf, sizeof(buf));
	if (write(fd, buf, (size_t)len) != len)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (n >= 1 && buf[0] == 'W') {
			log_info("wakeup");
			break;
		}
		if (n >= 4 && memcmp(buf, "quit", 4) == 0)
			break;
		if (write(fd, buf, (size_t)n) != n)
			break;
	}
	close(fd);
}

static void
multi_read(struct bufferevent *bev, void *arg)
{
	struct service_ctx *ctx = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (strcmp(line, "W") == 0)
			log_info("wakeup");
		if (strcmp(line, "quit") == 0 || strcmp(line, "W") == 0) {
			free(line);
			bufferevent_free(bev);
			service_client_done(ctx);
			return;
		}
		bufferevent_write(bev, line, len);
		bufferevent_write(bev, "\n", 1);
		free(line);
	}
}

static void
multi_event(struct bufferevent *bev, short what, void *arg)
{
	struct service_ctx *ctx = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(bev);
		service_client_done(ctx);
	}
}

static void
multi_client(struct service_ctx *ctx, int fd)
{
	struct bufferevent *bev;
	char buf[512];
	int len;

	evutil_make_socket_nonblocking(fd);
	bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		service_client_done(ctx);
		return;
	}
	bufferevent_setcb(bev, multi_read, NULL, multi_event, ctx);
	len = hello(ctx, buf, sizeof(buf));
	bufferevent_write(bev, buf, (size_t)len);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
client(struct service_ctx *ctx, int fd)
{
	if (multi_mode)
		multi_client(ctx, fd);
	else
		one_client(ctx, fd);
}

static void
pre_jail(struct service_ctx *ctx)
{
	if (keyfile != NULL)
		keyfd = open(keyfile, O_RDONLY | O_CLOEXEC);
}

static void
post_jail(struct service_ctx *ctx)
{
	log_info("ready uid=%ld", (long)getuid());
	if (crash)
		fatalx("crashing on purpose");
	if (segv)
		raise(SIGSEGV);
}

int
main(int argc, char *argv[])
{
	static struct service svc = {
		.name = "testsvc",
		.mode = SERVICE_ONE_CLIENT,
		.max_clients = 2,
		.pre_jail = pre_jail,
		.post_jail = post_jail,
		.client = client,
	};
	int i;

	/* Our own arguments follow "--"; the skeleton parses the rest. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") != 0)
			continue;
		for (i++; i < argc; i++) {
			if (strcmp(argv[i], "multi") == 0)
				multi_mode = true;
			else if (strcmp(argv[i], "crash") == 0)
				crash = true;
			else if (strcmp(argv[i], "segv") == 0)
				segv = true;
			else if (strncmp(argv[i], "keyfile=", 8) == 0)
				keyfile = argv[i] + 8;
		}
		break;
	}
	if (multi_mode)
		svc.mode = SERVICE_MULTI;
	service_main(argc, argv, &svc);
}
