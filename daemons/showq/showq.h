/*
 * SPDX-License-Identifier: ISC
 *
 * showq.h -- showq: lists the queue for a client on public/showq, in
 * the protocol of lib/qlist.h (docs/ipc.md, "showq").
 *
 * Process:  showq (mail_owner, no chroot, one client per process).
 * Input:    one request line from any local user in setgid_group (in
 *           practice terndrop -q, run by anyone): at most QLIST_REQ_MAX
 *           bytes, compared with fixed strings; the client's uid from
 *           SO_PEERCRED, which the client cannot forge.
 * Output:   "ok" and the listing (lib/qlist, the same as ternctl queue
 *           list), or "error TEXT".
 * Failure:  a refused or malformed request gets an error line and is
 *           logged; a client that stops reading is dropped after
 *           SHOWQ_TIMEOUT_SEC.
 */
#ifndef TERN_SHOWQ_H
#define TERN_SHOWQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct conf;
struct service_ctx;

#define SHOWQ_TIMEOUT_SEC	60	/* per read or write of the client */
#define SHOWQ_DRAIN_SEC		2	/* after an error line: ... */
#define SHOWQ_DRAIN_MAX		65536	/* ... input read before closing */

void	showq_start(struct service_ctx *);
void	showq_client(struct service_ctx *, int fd);

/*
 * showq_allowed -- may uid (whose name is name, NULL if it has none)
 * list the queue?  root, mail_owner (mail_uid) and the process's own
 * uid always; others when authorized_mailq_users is "anyone" or names
 * them.  Pure.
 */
bool	showq_allowed(const struct conf *, uid_t uid, const char *name,
	    uid_t mail_uid);

#endif
