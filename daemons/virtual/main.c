/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- virtual: delivers to virtual mailbox domains.
 */
#include "config.h"

#include "service.h"
#include "virtual.h"

int
main(int argc, char *argv[])
{
	static const struct service virtual = {
		.name = "virtual",
		.mode = SERVICE_ONE_CLIENT,
		.post_jail = virtual_start,
		.client = virtual_client,
	};

	service_main(argc, argv, &virtual);
}
