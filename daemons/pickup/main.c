/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- pickup: takes the files local users left in maildrop/ (via
 * sendmail and terndrop) to cleanup.
 */
#include "config.h"

#include "pickup.h"
#include "service.h"

int
main(int argc, char *argv[])
{
	static const struct service pickup_service = {
		.name = "pickup",
		.mode = SERVICE_MULTI,
		.max_clients = 100,	/* terndrop's wake-ups */
		.resident = true,
		.extra_group = "setgid_group",
		.post_jail = pickup_start,
		.client = pickup_wake_client,
	};

	service_main(argc, argv, &pickup_service);
}
