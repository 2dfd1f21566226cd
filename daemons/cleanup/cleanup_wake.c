/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup_wake.c -- tell the queue manager that a message is in
 * incoming/ (docs/ipc.md, "cleanup -> qmgr"): one byte on a connection
 * to private/qmgr kept open across messages.
 *
 * Process:  cleanup.
 * Input:    none (the connection is only written).
 * Failure:  never holds up a message: a queue manager that is not
 *           running or not reading misses the byte, and finds the file
 *           at its next scan (every second).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

static struct sockaddr_un qmgr_addr;
static int qmgr_fd = -1;

void
cleanup_wake_init(const char *queue_dir)
{
	memset(&qmgr_addr, 0, sizeof(qmgr_addr));
	qmgr_addr.sun_family = AF_UNIX;
	if ((size_t)snprintf(qmgr_addr.sun_path, sizeof(qmgr_addr.sun_path),
	    "%s/private/qmgr", queue_dir) >= sizeof(qmgr_addr.sun_path)) {
		log_warnx("queue directory path too long for private/qmgr: "
		    "the queue manager finds new mail by its scans only");
		qmgr_addr.sun_path[0] = '\0';
	}
}

static int
wake_connect(void)
{
	int fd;

	if (qmgr_addr.sun_path[0] == '\0')
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&qmgr_addr,
	    sizeof(qmgr_addr)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

void
cleanup_wake_qmgr(void)
{
	int tries;
	ssize_t n;

	for (tries = 0; tries < 2; tries++) {
		if (qmgr_fd == -1 && (qmgr_fd = wake_connect()) == -1)
			return;
		n = send(qmgr_fd, "W", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == 1 || (n == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK)))
			return;		/* sent, or wake-ups are waiting */
		/* The queue manager restarted: connect again, once. */
		close(qmgr_fd);
		qmgr_fd = -1;
	}
}
