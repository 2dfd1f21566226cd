/*
 * SPDX-License-Identifier: ISC
 *
 * master.h -- the master process: reads the configuration, owns every
 * listening socket, spawns and supervises the services, serves ternctl.
 *
 * Process:  master (root, or the invoking user with no privilege changes).
 * Input:    tern.conf and services.conf (administrator's), the status
 *           pipes of its children, the control socket (root and
 *           mail_owner only).  No network input is ever read here.
 */
#ifndef TERN_MASTER_H
#define TERN_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include "services.h"

struct conf;
struct event;
struct event_base;

/* Directories under queue_directory and who owns them. */
enum master_owner { OWN_ROOT, OWN_MAIL, OWN_MAIL_SETGID };
struct master_dir {
	const char	*name;
	enum master_owner owner;
	mode_t		 mode;
};
extern const struct master_dir master_dirs[];

/* Everything read from the two configuration files, checked. */
struct master_config {
	struct conf	*conf;
	struct services	 services;
	char		 config_dir[1024];
	char		 queue_dir[1024];
	char		 daemon_dir[1024];
	uid_t		 mail_uid;	/* -1 when not running as root */
	gid_t		 mail_gid;
	gid_t		 setgid_gid;	/* -1 when setgid_group is missing */
	/*
	 * The SMTP server's TLS set-up (tls_server_check): usable, or why
	 * not.  A problem is an error only with smtpd_tls_security_level =
	 * encrypt; otherwise STARTTLS is just not offered, and the caller
	 * logs tls_error.
	 */
	bool		 tls_ok;
	char		 tls_error[512];
};

/*
 * master_config_load -- read and check tern.conf and services.conf under
 * dir.  Every problem is passed to report (with "file:line: " in front
 * where known) and counted.  as_root: also look up mail_owner and
 * setgid_group.  Returns the number of problems; *mc is usable only when
 * it is 0.  Never exits.
 */
typedef void	(*master_report_fn)(void *arg, bool error, const char *msg);
int	master_config_load(const char *dir, bool as_root,
	    struct master_config *mc, master_report_fn report, void *arg);
/*
 * master_config_load_file -- the same, with tern.conf read from conf_path
 * (ternctl config set checks its new file this way before it renames it
 * into dir).
 */
int	master_config_load_file(const char *dir, const char *conf_path,
	    bool as_root, struct master_config *mc, master_report_fn report,
	    void *arg);
void	master_config_free(struct master_config *);

/* A service as the master runs it. */
struct mchild;
struct master;
struct msvc {
	TAILQ_ENTRY(msvc) entry;
	struct master	*m;
	struct service_def def;		/* argv copied, owned */
	int		 listen_fd;
	int		 status_rd, status_wr;
	struct event	*ev_listen, *ev_status, *ev_throttle, *ev_wakeup;
	unsigned	 maxproc;
	unsigned	 nproc, navail;
	unsigned	 failures;	/* abnormal exits in a row */
	/* one_client_fork: the template process, or 0 (master_spawn.c). */
	pid_t		 tpl_pid;
	int		 tpl_fd;	/* our end of its SERVICE_TEMPLATE_FD */
	unsigned	 tpl_forks;	/* processes it made */
	unsigned	 tpl_failures;	/* failed requests in a row */
	bool		 tpl_off;	/* do not use one until the next reload */
	bool		 throttled;
	bool		 removed;	/* gone from services.conf: drain */
	bool		 listening;
};
TAILQ_HEAD(msvc_list, msvc);

struct mchild {
	LIST_ENTRY(mchild) entry;
	pid_t		 pid;
	struct msvc	*svc;
	bool		 avail;
	bool		 signalled;	/* we sent SIGTERM/SIGHUP */
	bool		 served;	/* it took a client (said BUSY) */
	bool		 from_tpl;	/* made by the service's template */
	time_t		 started;
};
LIST_HEAD(mchild_list, mchild);

struct master {
	struct event_base *base;
	struct master_config cfg;
	struct msvc_list services;
	struct mchild_list children;
	int		 ctl_fd;
	struct event	*ev_ctl;
	struct event	*ev_sigchld, *ev_sighup, *ev_sigterm, *ev_sigint;
	time_t		 started;
	bool		 stopping;
	struct event	*ev_stop_timer;
	int		 ready_fd;	/* ternctl start waits on it; -1 after */
};

/* master_dirs.c */
/*
 * master_dirs_make -- create queue_directory and its subdirectories when
 * missing and give them their owners and modes.  Returns 0, or -1 after
 * logging what failed.
 */
int	master_dirs_make(const struct master_config *);
/*
 * master_dirs_check -- report every directory that is missing or has the
 * wrong owner or mode.  Returns the number of problems.
 */
int	master_dirs_check(const struct master_config *, master_report_fn,
	    void *arg);

/* master_listen.c */
/*
 * master_listen -- open the listening socket of def: inet sockets bound
 * with SO_REUSEADDR, unix sockets created under queue_directory (an old
 * socket file is replaced) and given to mail_owner.  Non-blocking,
 * close-on-exec.  Returns the descriptor, or -1 with *err_r set to a
 * static string and errno.
 */
int	master_listen(const struct master_config *, const struct service_def *,
	    const char **err_r);
/* master_unix_path -- queue_dir/rel into buf; -1 when too long. */
int	master_unix_path(const struct master_config *, const char *rel,
	    char *buf, size_t sz);

/* master_spawn.c */
void	master_service_add(struct master *, const struct service_def *, int fd);
void	master_service_update(struct master *, struct msvc *);
void	master_service_remove(struct master *, struct msvc *);
void	master_reap(struct master *);
void	master_signal_children(struct master *, struct msvc *, int sig);
unsigned master_throttle_delay(unsigned failures, unsigned cap);
bool	master_def_same_listener(const struct service_def *,
	    const struct service_def *);
bool	master_def_equal(const struct service_def *, const struct service_def *);
void	master_def_copy(struct service_def *dst, const struct service_def *src);
void	master_def_free(struct service_def *);

/* master_ctl.c */
int	master_ctl_open(struct master *);
void	master_ctl_close(struct master *);

/* main.c: actions shared by signals and the control socket */
/*
 * master_reload -- re-read both files and apply them (see main.c).
 * Returns 0, or -1 with *why_r set to a static string when the running
 * configuration was kept.
 */
int	master_reload(struct master *, const char **why_r);
void	master_stop(struct master *);

#endif
