/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl.h -- the administrator's control command.
 *
 * Process:  ternctl, run by root or mail_owner (or the user who runs an
 *           unprivileged instance).
 */
#ifndef TERN_TERNCTL_H
#define TERN_TERNCTL_H

#include <stdbool.h>

struct master_config;

/* ternctl_check.c: returns the exit status (0: no problem found). */
int	ternctl_check(const char *dir);

/* ternctl_config.c: "ternctl config [-d|-n|-m] [name ...]". */
int	ternctl_config(const char *dir, int argc, char *argv[]);

/* ternctl_map.c: "ternctl map build|query ..."; returns the exit status. */
int	ternctl_map(int argc, char *argv[]);

/*
 * ternctl_queue.c: "ternctl queue list|show|flush|delete|hold|release|
 * requeue ..." (argv[0] is "queue"); returns the exit status.  Needs
 * SIGPIPE ignored.  Prints on stdout and stderr; logs changes (it calls
 * log_init itself).
 */
int	ternctl_queue(const char *dir, int argc, char *argv[]);

/* Print a problem the way every ternctl command does. */
void	ternctl_report(void *arg, bool error, const char *msg);

#endif
