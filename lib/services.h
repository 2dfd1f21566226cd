/*
 * SPDX-License-Identifier: ISC
 *
 * services.h -- services.conf: which programs the master runs, where they
 * listen and with what privilege (base layer).
 *
 * One service per logical line (a line starting with white space continues
 * the previous one; '#' starts a comment line), nine columns then the
 * program's arguments:
 *
 *   name  type  listen  unpriv  chroot  maxproc  prefork  wakeup  command [args]
 *
 *   name     [a-z0-9_.-]{1,32}, unique.
 *   type     inet | unix
 *   listen   inet: "host:port", "[ipv6]:port", "*:port" or "port";
 *            unix: a relative path under queue_directory whose first
 *            component is "private" or "public" (private/cleanup).
 *   unpriv   y (run as mail_owner) | n (keep root: only for programs that
 *            drop privilege themselves) | - (y)
 *   chroot   n | - (none) | y (queue_directory) | an absolute path
 *   maxproc  process limit, 1..SERVICES_MAXPROC, or - (default_process_limit)
 *   prefork  processes kept ready, 0..maxproc, or - (0); 0 means lazy: no
 *            process exists until a client first connects
 *   wakeup   - (none) or seconds 1..86400: the master connects to the
 *            service's socket at that interval and writes "W\n"
 *   command  a program name in daemon_directory ([a-z0-9_.-]+, no '/'),
 *            then at most SERVICES_ARGS_MAX arguments
 */
#ifndef TERN_SERVICES_H
#define TERN_SERVICES_H

#include <stdbool.h>
#include <stddef.h>

#define SERVICES_FILE_MAX	(256 * 1024)
#define SERVICES_LINE_MAX	4096
#define SERVICES_NAME_MAX	32
#define SERVICES_LISTEN_MAX	256
#define SERVICES_MAXPROC	10000
#define SERVICES_ARGS_MAX	32
#define SERVICES_ARG_MAX	1024
#define SERVICES_MAX		256	/* services in one file */

enum services_type { SERVICES_INET, SERVICES_UNIX };

struct service_def {
	char		 name[SERVICES_NAME_MAX + 1];
	enum services_type type;
	char		 listen[SERVICES_LISTEN_MAX + 1];	/* as written */
	/* inet: host part ("" for any address) and port, parsed. */
	char		 host[SERVICES_LISTEN_MAX + 1];
	char		 port[32];
	bool		 unpriv;
	char		 chroot[SERVICES_LISTEN_MAX + 1];	/* "" none, "y" queue dir, or a path */
	unsigned	 maxproc;	/* 0: default_process_limit */
	unsigned	 prefork;
	unsigned	 wakeup;	/* seconds, 0 none */
	char		 command[SERVICES_NAME_MAX + 1];
	char		*argv[SERVICES_ARGS_MAX + 1];	/* arguments after command, NULL-ended */
	size_t		 argc;
	unsigned	 line;		/* where it was defined */
};

struct services {
	struct service_def *defs;
	size_t		 n;
};

/*
 * Diagnostics: file, line and service name (NULL when not known yet).
 * Every problem in the file is reported, not just the first.
 */
typedef void	(*services_diag_fn)(void *arg, const char *file, unsigned line,
		    const char *service, const char *msg);

/*
 * services_parse -- parse len bytes of services.conf text named fname
 * into *out (initialised by this call).  Pure: never logs or exits.
 * Returns the number of errors; on errors *out holds only the good lines,
 * and the caller should not use it.
 */
int	services_parse(const char *fname, const char *text, size_t len,
	    struct services *out, services_diag_fn diag, void *arg);

/*
 * services_load -- read path (at most SERVICES_FILE_MAX bytes) and parse
 * it.  Returns the number of errors, or -1 when the file cannot be read
 * (reported through diag with line 0).
 */
int	services_load(const char *path, struct services *out,
	    services_diag_fn diag, void *arg);

/* services_free -- release what services_parse allocated. */
void	services_free(struct services *);

/* services_find -- the service called name, or NULL. */
const struct service_def *services_find(const struct services *,
	    const char *name);

#endif
