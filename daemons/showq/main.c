/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- showq: the queue listing for local users who cannot read
 * the queue (mailq, sendmail -bp, ternctl queue list), over public/showq.
 *
 * One client per process (SERVICE_ONE_CLIENT): a listing is one short,
 * blocking conversation (a request line, then the listing and EOF), and
 * rare; the master starts a process when a client connects (lazy).
 */
#include "config.h"

#include "service.h"
#include "showq.h"

int
main(int argc, char *argv[])
{
	static const struct service showq = {
		.name = "showq",
		.mode = SERVICE_ONE_CLIENT,
		.post_jail = showq_start,
		.client = showq_client,
	};

	service_main(argc, argv, &showq);
}
