/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- cleanup: writes new messages into the queue.
 */
#include "config.h"

#include "cleanup.h"
#include "service.h"

int
main(int argc, char *argv[])
{
	static const struct service cleanup = {
		.name = "cleanup",
		.mode = SERVICE_MULTI,
		.max_clients = 16,
		.post_jail = cleanup_start,
		.client = cleanup_client,
	};

	service_main(argc, argv, &cleanup);
}
