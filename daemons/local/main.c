/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- local: delivers mail for the domains in mydestination.
 */
#include "config.h"

#include "local.h"
#include "service.h"

static struct local_ctx local_ctx;

static void
local_start(struct service_ctx *sctx)
{
	local_init(&local_ctx, sctx->conf);
}

static void
local_client(struct service_ctx *sctx, int fd)
{
	(void)sctx;
	local_ctx.client_fd = fd;
	(void)deliver_serve(fd, local_handle, &local_ctx, LOCAL_IO_TIMEOUT_MS,
	    0);
}

int
main(int argc, char *argv[])
{
	static const struct service local = {
		.name = "local",
		.mode = SERVICE_ONE_CLIENT,
		.post_jail = local_start,
		.client = local_client,
	};

	service_main(argc, argv, &local);
}
