/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- qmgr: the queue manager.
 */
#include "config.h"

#include "qmgr.h"
#include "service.h"

int
main(int argc, char *argv[])
{
	static const struct service qmgr_service = {
		.name = "qmgr",
		.mode = SERVICE_MULTI,
		.max_clients = 1000,	/* cleanup processes' wake-ups */
		.resident = true,
		.pre_jail = qmgr_pre_jail,
		.post_jail = qmgr_start,
		.client = qmgr_wake_client,
		.drain = qmgr_drain,
	};

	service_main(argc, argv, &qmgr_service);
}
