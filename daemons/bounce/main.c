/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- bounce: delivery status notifications for the queue manager.
 *
 * One client per process (SERVICE_ONE_CLIENT), like smtpd: a notice is
 * one short conversation of blocking steps (qmgr's request, the queue
 * file, cleanup's two answers), each bounded by ipc_timeout, and notices
 * are rare next to deliveries, so an event loop would buy nothing.  A
 * process per notice also means that whatever one queue file's content
 * does to the composer stays with that notice.  The master keeps the
 * cost down (lazy start, prefork when asked for).
 */
#include "config.h"

#include "bounce.h"
#include "service.h"

int
main(int argc, char *argv[])
{
	static const struct service bounce = {
		.name = "bounce",
		.mode = SERVICE_ONE_CLIENT,
		.client = bounce_client,
	};

	service_main(argc, argv, &bounce);
}
