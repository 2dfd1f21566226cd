/*
 * SPDX-License-Identifier: ISC
 *
 * service.h -- the skeleton every Tern service's main() calls, and the
 * contract between the master and the processes it spawns (base layer).
 *
 * The master execs a service as
 *
 *   <daemon_directory>/<command> -c <config_dir> -n <service> -t inet|unix
 *       [-S] [-T] [-u] [-r <chroot>] [-v] [-- <arguments from services.conf>]
 *
 * with exactly these descriptors open:
 *   0, 1, 2               /dev/null
 *   SERVICE_LISTEN_FD     the service's listening socket (non-blocking)
 *   SERVICE_STATUS_FD     write end of the service's status pipe
 *
 * -u asks the skeleton to drop to mail_owner (only meaningful when started
 * as root), -r to chroot first.  -S says the master checked the SMTP
 * server's TLS certificates and keys (tls_server_check) and found them
 * usable: only then may smtpd offer STARTTLS.  Arguments from
 * services.conf that start with "-o name=value" pairs override tern.conf
 * for this service (smtpd_tls_wrappermode=yes on a submissions port);
 * the skeleton applies them and leaves the rest in argc/argv.  Over the status pipe a process tells the
 * master whether it can take another client (struct service_status, one
 * atomic write each): AVAIL when it waits for clients, BUSY when it cannot
 * take more, and (multi only) SERVING once when it accepts its first
 * client.  The master spawns a new process only when none is AVAIL, and
 * throttles a service only for processes that died before serving.
 *
 * -T makes the process a template (one_client_fork = yes, one-client
 * services only; docs/architecture.md): it initialises as usual, then
 * serves no client but waits on SERVICE_TEMPLATE_FD, a socket to the
 * master.  For each byte 'F' the master writes, it creates a process
 * with clone(CLONE_PARENT), so that the master is its parent, and
 * answers with the new pid (int32, host order).  That process closes
 * SERVICE_TEMPLATE_FD and goes on as a freshly started one-client
 * process: AVAIL, one client, exit.  A template of a multi-client
 * service answers 0 and exits.  The template exits on SIGTERM, SIGHUP
 * and end-of-file.
 *
 * Two shapes of service:
 *   SERVICE_ONE_CLIENT  accept one connection, serve it, exit (smtpd).
 *   SERVICE_MULTI       a libevent loop serving many connections (tlsproxy,
 *                       cleanup, qmgr); exits after max_idle with none.
 *
 * Signals: SIGTERM ends the process at once.  SIGHUP (sent by the master
 * on reload) means "finish what you are doing, accept nothing new, exit":
 * running connections are never cut by a reload.
 */
#ifndef TERN_SERVICE_H
#define TERN_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVICE_LISTEN_FD	3
#define SERVICE_STATUS_FD	4
#define SERVICE_TEMPLATE_FD	5	/* -T only: the master's fork requests */
#define SERVICE_FIRST_FREE_FD	6

#define SERVICE_AVAIL		1
#define SERVICE_BUSY		0
#define SERVICE_SERVING		2	/* multi: took its first client */

struct service_status {
	int32_t	pid;
	int32_t	status;		/* SERVICE_AVAIL, _BUSY or _SERVING */
};

struct conf;
struct event_base;
struct service_ctx;

struct service {
	const char	*name;		/* program name for logs: "smtpd" */
	enum { SERVICE_ONE_CLIENT, SERVICE_MULTI } mode;
	/* Multi: most clients at once before the process says BUSY (0: 1000). */
	size_t		 max_clients;
	/* Before the privilege drop: read keys, open files.  May be NULL. */
	void		(*pre_jail)(struct service_ctx *);
	/*
	 * After the drop, before the first client.  May be NULL.  In a
	 * one-client service with one_client_fork, pre_jail and post_jail
	 * run once, in the template, and every process made from it starts
	 * with their state: open nothing there that must not be shared
	 * across fork (an LMDB environment, a connection, a PRNG state).
	 */
	void		(*post_jail)(struct service_ctx *);
	/*
	 * A new client on fd, which the service owns.  One-client: serve it
	 * and return (the process then exits).  Multi: register it with
	 * ctx->base, return at once, and call service_client_done() when the
	 * connection is over.
	 */
	void		(*client)(struct service_ctx *, int fd);
	/*
	 * Multi only.  resident: no max_idle, no max_use; the process runs
	 * until stopped (qmgr).  drain, if set, replaces the default reaction
	 * to a reload (finish the clients, then exit): the listener is
	 * closed, then drain is called, and the service leaves the event
	 * loop (event_base_loopexit) when it is ready.
	 */
	bool		 resident;
	void		(*drain)(struct service_ctx *);
	/*
	 * A tern.conf parameter naming a group the process keeps as a
	 * supplementary group when it drops to mail_owner (pickup:
	 * "setgid_group", to read maildrop files).  NULL: none.  A group
	 * that does not exist is logged and left out.
	 */
	const char	*extra_group;
};

struct service_ctx {
	const struct service *svc;
	struct conf	*conf;
	const char	*config_dir;
	const char	*service_name;	/* from services.conf, "-n" */
	bool		 inet;		/* "-t inet" */
	int		 argc;		/* arguments after "--" */
	char		**argv;
	struct event_base *base;	/* multi only */
	size_t		 nclients;	/* multi only */
	bool		 draining;	/* SIGHUP seen: accept no more */
	bool		 tls_server_ok;	/* "-S": STARTTLS may be offered */
	/*
	 * "-T": a template (one_client_fork).  post_jail may do work here
	 * that every process it makes would otherwise repeat.
	 */
	bool		 template;
	void		*arg;		/* for the service */
};

/*
 * service_main -- parse the master's arguments, read tern.conf, set up
 * logging, run pre_jail, drop privilege (priv_drop) when asked, run
 * post_jail, then serve clients in the chosen shape.  Never returns;
 * exits 0 on a normal end, non-zero on a fatal error.
 */
_Noreturn void service_main(int argc, char *argv[], const struct service *);

/* service_client_done -- multi: a connection the service owned is over. */
void	service_client_done(struct service_ctx *);

/*
 * service_status_write -- tell the master AVAIL or BUSY.  Returns 0 or -1
 * (the master is gone: the caller should exit).  Exposed for tests.
 */
int	service_status_write(int fd, int status);

#endif
