/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- smtpd: the SMTP server, one process per client connection.
 */
#include "config.h"

#include "service.h"
#include "smtpd.h"

static void
client(struct service_ctx *ctx, int fd)
{
	smtpd_session_run(ctx, fd);
}

int
main(int argc, char *argv[])
{
	static const struct service smtpd = {
		.name = "smtpd",
		.mode = SERVICE_ONE_CLIENT,
		.post_jail = smtpd_warm_up,
		.client = client,
	};

	service_main(argc, argv, &smtpd);
}
