/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- smtp: the SMTP/LMTP client delivery agent, one queue manager
 * connection per process ("--lmtp" in services.conf: LMTP; no
 * argument: SMTP to the Internet).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "service.h"
#include "smtp.h"

#define QMGR_TIMEOUT_MS		(100 * 1000)	/* each read/write to qmgr */
#define ENVELOPE_ROOM		((int64_t)128 * 1024 * 1024)

static void
client(struct service_ctx *ctx, int fd)
{
	struct smtp_agent agent;
	const char *err;
	int64_t limit;
	size_t max;
	bool lmtp;

	if (smtp_agent_args(ctx->argc, ctx->argv, &lmtp, &err) == -1)
		fatalx("%s: %s", ctx->service_name, err);
	smtp_agent_init(&agent, ctx->conf, lmtp, ctx->service_name);
	/* The queue file: the message plus room for its envelope. */
	limit = conf_size(ctx->conf, "message_size_limit");
	max = limit <= 0 || limit > INT64_MAX - ENVELOPE_ROOM ? 0 :
	    (size_t)(limit + ENVELOPE_ROOM);
	(void)deliver_serve_idle(fd, smtp_handle, smtp_idle, &agent,
	    QMGR_TIMEOUT_MS, max);
	smtp_agent_clear(&agent);
}

static void
post_jail(struct service_ctx *ctx)
{
	const char *err;
	bool lmtp;

	/* A bad services.conf line should fail before any client. */
	if (smtp_agent_args(ctx->argc, ctx->argv, &lmtp, &err) == -1)
		fatalx("%s: %s", ctx->service_name, err);
}

int
main(int argc, char *argv[])
{
	static const struct service smtp = {
		.name = "smtp",
		.mode = SERVICE_ONE_CLIENT,
		.post_jail = post_jail,
		.client = client,
	};

	service_main(argc, argv, &smtp);
}
