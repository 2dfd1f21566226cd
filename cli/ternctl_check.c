/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_check.c -- "ternctl check": find every problem in a Tern
 * set-up before it bites: configuration, users, directories, programs.
 *
 * Process:  ternctl.
 * Failure:  each problem is one line on stderr; exit 1 when any is found.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "master.h"
#include "priv.h"
#include "ternctl.h"
#include "tls.h"

static int
check_program(const struct master_config *mc, const char *name)
{
	char path[1100], msg[2300];

	snprintf(path, sizeof(path), "%s/%s", mc->daemon_dir, name);
	if (access(path, X_OK) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s: not an executable program "
	    "(daemon_directory = %s)", path, mc->daemon_dir);
	ternctl_report(NULL, true, msg);
	return 1;
}

int
ternctl_check(const char *dir)
{
	struct master_config mc;
	int problems = 0;
	size_t i;

	problems = master_config_load(dir, priv_is_root(), &mc,
	    ternctl_report, NULL);
	if (mc.conf != NULL) {
		problems += check_program(&mc, "master");
		for (i = 0; i < mc.services.n; i++)
			problems += check_program(&mc,
			    mc.services.defs[i].command);
		if (mc.queue_dir[0] != '\0')
			problems += master_dirs_check(&mc, ternctl_report,
			    NULL);
		/* An error for "encrypt" was counted by master_config_load. */
		if (mc.tls_error[0] != '\0' && !mc.tls_ok &&
		    strcmp(tls_server_level(mc.conf), "encrypt") != 0) {
			char msg[700];

			snprintf(msg, sizeof(msg), "TLS: %s; STARTTLS would "
			    "not be offered", mc.tls_error);
			ternctl_report(NULL, true, msg);
			problems++;
		}
	}
	master_config_free(&mc);
	if (problems > 0) {
		fprintf(stderr, "ternctl: %d problem%s found\n", problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	printf("ternctl: %s: no problems found\n", dir);
	return 0;
}
