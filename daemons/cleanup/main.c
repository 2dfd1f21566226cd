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
		/*
		 * Few clients per process: a process fsyncs each message
		 * (file, then directory) inside its event loop, so its
		 * clients wait for each other's fsyncs.  More processes
		 * fsync side by side and the file system commits them
		 * together: 2.7 times the messages/s of 16 on a busy disk
		 * (docs/performance.md).
		 */
		.max_clients = 4,
		.post_jail = cleanup_start,
		.client = cleanup_client,
	};

	service_main(argc, argv, &cleanup);
}
