/*
 * SPDX-License-Identifier: ISC
 *
 * ctl.h -- the master's control socket protocol, used by ternctl
 * (base layer).  Requests and replies are attr.h messages.
 *
 * The socket is queue_directory/CTL_SOCKET_PATH; the master accepts only
 * peers (SO_PEERCRED) with uid 0, mail_owner's uid or its own uid.
 *
 *   request:  "request" = "status" | "reload" | "stop"
 *   reply:    "status" = "ok" | "error", "reason" (on error),
 *             "pid" (int), and for status: "started" (int, epoch
 *             seconds), "services" (data: one line per service,
 *             "name type listen procs avail maxproc prefork state\n",
 *             state being "running", "throttled" or "draining")
 */
#ifndef TERN_CTL_H
#define TERN_CTL_H

#define CTL_SOCKET_PATH		"private/control"
#define CTL_PIDFILE_PATH	"pid/master.pid"
#define CTL_TIMEOUT_MS		10000

#define CTL_REQ_STATUS		"status"
#define CTL_REQ_RELOAD		"reload"
#define CTL_REQ_STOP		"stop"

#endif
