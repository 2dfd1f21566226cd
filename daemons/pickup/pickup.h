/*
 * SPDX-License-Identifier: ISC
 *
 * pickup.h -- pickup: one resident process (services.conf: maxproc 1,
 * prefork 1) that scans queue_directory/maildrop/ when terndrop wakes
 * it over public/pickup and every PICKUP_SCAN_INTERVAL seconds, and
 * hands each file to cleanup (origin=local, uid = the file's owner).
 *
 * Process:  pickup (mail_owner, with setgid_group as a supplementary
 *           group so that it can read the files, mode 0640).
 * Input:    maildrop files written by any local user: untrusted, parsed
 *           strictly by lib/maildrop with the size limit of
 *           message_size_limit plus the envelope; wake-up bytes from
 *           anyone in setgid_group (read and discarded).
 * Failure:  a malformed file goes to corrupt/ with a log line; cleanup
 *           unreachable or answering 4xx leaves the file for the next
 *           scan; a 5xx answer (the content breaks a limit) moves it to
 *           corrupt/ too, logged with cleanup's reason.
 */
#ifndef TERN_PICKUP_H
#define TERN_PICKUP_H

struct service_ctx;

#define PICKUP_SCAN_INTERVAL	5	/* seconds between scans */
#define PICKUP_SCAN_MAX		1000	/* files per scan; more: scan again */
#define PICKUP_TMP_AGE		3600	/* seconds before a "t." file is
					   garbage (terndrop was killed) */
#define PICKUP_TIMEOUT_MS	60000	/* one request to cleanup */
#define PICKUP_CHUNK		(64 * 1024)	/* data request bytes */

void	pickup_start(struct service_ctx *);
void	pickup_wake_client(struct service_ctx *, int fd);

#endif
