/*
 * SPDX-License-Identifier: ISC
 *
 * local.h -- the local delivery agent: mail for domains in mydestination,
 * through aliases to mailboxes, commands, files and remote addresses.
 *
 * Process:  local (root: unpriv "n" in services.conf), one qmgr connection
 *           carrying many requests (lib/deliver.h).  The parent looks
 *           aliases and users up and never touches a user's file: every
 *           mailbox, file and command delivery, and every :include: read,
 *           happens in a forked child that first becomes the user (or the
 *           alias owner, or default_privs) for good, and reports through
 *           a pipe.  Nothing is ever delivered, read or run as uid 0.
 *           Without root (tests, demos) every child keeps the agent's own
 *           ids: there are none to switch to.
 * Input:    queue files and requests from qmgr (trusted, checked by
 *           lib/deliver); message content, alias tables and :include:
 *           files (untrusted text).
 * Failure:  each recipient gets exactly one result: sent, deferred or
 *           bounced; a mailbox that cannot be written defers, never
 *           bounces.
 */
#ifndef TERN_LOCAL_H
#define TERN_LOCAL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver.h"

#define LOCAL_USER_MAX		64	/* bytes of a user name */
#define LOCAL_PATH_MAX		4096
#define LOCAL_GROUPS_MAX	64	/* supplementary groups kept */
#define LOCAL_MAPS_MAX		16	/* tables in alias_maps */
#define LOCAL_MAILBOX_TIMEOUT	600	/* seconds for one mailbox delivery */
#define LOCAL_INCLUDE_TIMEOUT	60	/* seconds to read an :include: file */
#define LOCAL_OUTPUT_MAX	1000	/* bytes of a command's output kept */
#define LOCAL_IO_TIMEOUT_MS	60000	/* qmgr and cleanup conversations */

struct conf;
struct map;

struct local_ctx {
	struct conf	*conf;
	int		 client_fd;	/* the qmgr connection */
	bool		 root;		/* may switch ids */
	uid_t		 mail_owner_uid;	/* never used for deliveries */
	char		*map_names[LOCAL_MAPS_MAX];	/* "lmdb:/etc/..." */
	struct map	*maps[LOCAL_MAPS_MAX];	/* NULL: open at use */
	char		*map_files[LOCAL_MAPS_MAX];	/* lmdb: file, or NULL */
	size_t		 nmaps;
	const char *const *mydest;
	size_t		 nmydest;
	const char	*delim;
	const char	*home_mailbox;
	const char	*spool_dir;
	const char	*default_privs;
	const char	*queue_dir;
	bool		 cmd_alias, cmd_include, file_alias, file_include;
	int64_t		 command_time;
	int64_t		 hopcount_limit;
};

/* A user whose rights a child takes. */
struct local_user {
	char		 name[LOCAL_USER_MAX + 1];
	uid_t		 uid;
	gid_t		 gid;
	char		 home[LOCAL_PATH_MAX];
	char		 shell[LOCAL_PATH_MAX];
};

/* What a child reports; also the outcome of one target. */
struct local_report {
	int32_t		 result;	/* enum deliver_result */
	char		 dsn[DELIVER_DSN_MAX + 1];
	char		 text[DELIVER_TEXT_MAX + 1];
};

/* What one recipient is, for the targets it expands to. */
struct local_rcpt {
	struct deliver_req *req;
	struct deliver_rcpt *r;
	const char	*local;		/* local part as in the address */
	const char	*domain;	/* "" when the address has none */
	const char	*ext;		/* extension after the delimiter, or "" */
	char		*prefix;	/* Return-Path: and Delivered-To: lines */
	size_t		 prefix_len;
	char		*fwd_prefix;	/* Delivered-To: only (forwarding) */
	size_t		 fwd_prefix_len;
};

/* local_rcpt.c */
void	local_init(struct local_ctx *, struct conf *);
void	local_handle(struct deliver_req *, void *ctx);
void	local_report_set(struct local_report *, enum deliver_result,
	    const char *dsn, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* local_alias.c: the callbacks of alias_expand (lib/alias.h). */
struct alias_ops;
void	local_alias_ops(struct local_ctx *, struct alias_ops *);
bool	local_domain_ok(struct local_ctx *, const char *domain);
/*
 * local_owner_user -- the user whose rights an alias owner stands for:
 * ALIAS_OWNER_DEFAULT (or 0) is default_privs; without root, ourselves.
 * Returns 0, or -1 with err set.
 */
int	local_owner_user(struct local_ctx *, int64_t owner,
	    struct local_user *, char *err, size_t errsz);
/*
 * local_split_maps -- split a list of table names at commas and white
 * space outside braces ("inline:{ a=b, c=d }" stays one word).  Returns
 * how many words went into words[0..max) (each malloc'd); more than max
 * are ignored and reported through *more_r.
 */
size_t	local_split_maps(const char *value, char **words, size_t max,
	    bool *more_r);

/* local_child.c */
int	local_user_byname(const char *name, struct local_user *);
int	local_user_byuid(uid_t uid, struct local_user *);
/*
 * local_run_as -- fork; the child becomes u (plus the supplementary group
 * extra_gid unless it is (gid_t)-1), changes to u's home (or "/"), runs
 * job(arg, &report) and sends the report back.  The parent waits at most
 * timeout_sec, then kills it.  *out always gets a result: a child that
 * dies or cannot drop privilege defers (4.3.0).  uid 0 is refused.
 */
void	local_run_as(struct local_ctx *, const struct local_user *u,
	    gid_t extra_gid, unsigned timeout_sec,
	    void (*job)(void *, struct local_report *), void *arg,
	    struct local_report *out);

/* local_mailbox.c */
void	local_mailbox(struct local_ctx *, struct local_rcpt *,
	    const char *user, struct local_report *);
void	local_file(struct local_ctx *, struct local_rcpt *,
	    const struct local_user *, const char *path,
	    struct local_report *);
/* local_errno_report -- a failed mailbox or file write: always deferred. */
void	local_errno_report(struct local_report *, int err, const char *what,
	    const char *why);

/* local_command.c */
void	local_command(struct local_ctx *, struct local_rcpt *,
	    const struct local_user *, const char *command,
	    struct local_report *);
/* local_exit_report -- a command's wait status and first output line. */
void	local_exit_report(struct local_report *, const char *command,
	    int status, bool timed_out, const char *output);

/* local_forward.c */
void	local_forward(struct local_ctx *, struct local_rcpt *,
	    char *const *addrs, size_t n, struct local_report *);

#endif
