/*
 * SPDX-License-Identifier: ISC
 *
 * virtual.h -- virtual: the delivery agent for virtual mailbox domains.
 * qmgr hands it requests (docs/ipc.md, "qmgr -> delivery agents", served
 * by lib/deliver); for each recipient it looks the address up in
 * virtual_mailbox_maps, checks for mail loops, and delivers into the
 * Maildir or mbox file the table names under virtual_mailbox_base.
 *
 * Process:  virtual (one-client service: one qmgr connection, many
 *           requests).  Started with privilege (unpriv n in
 *           services.conf), it drops for good to virtual_uid and
 *           virtual_gid before it serves anyone, and never delivers as
 *           root.
 * Input:    requests from qmgr (trusted, checked by lib/deliver), the
 *           message content (untrusted), tables (trusted configuration).
 * Failure:  a recipient gets a result each: unknown users and loops
 *           bounce; configuration, table and disk problems defer (a full
 *           disk never bounces).
 */
#ifndef TERN_VIRTUAL_H
#define TERN_VIRTUAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map.h"
#include "priv.h"
#include "qfile.h"
#include "recipient.h"

#define VIRTUAL_MAPS_MAX	32	/* tables in virtual_mailbox_maps */
#define VIRTUAL_KEY_MAX		RECIPIENT_KEY_MAX	/* a lookup key */
#define VIRTUAL_PATH_MAX	4096	/* a mailbox path, base included */

struct conf;
struct deliver_req;
struct service_ctx;

/* What the agent works with, read once at start. */
struct virtual_cfg {
	const char	*base;		/* virtual_mailbox_base */
	const char *const *domains;	/* virtual_mailbox_domains */
	size_t		 ndomains;
	char		**map_names;	/* virtual_mailbox_maps, split */
	size_t		 nmaps;
	struct map	*maps[VIRTUAL_MAPS_MAX];	/* open, or all NULL */
	char		 map_err[MAP_ERR_MAX + 32];	/* why they are not */
	const char	*delim;		/* recipient_delimiter */
	int64_t		 hopcount_limit;
	int		 timeout_ms;	/* ipc_timeout */
	size_t		 max_size;	/* queue file read limit */
};

/* virtual.c: the service's hooks. */
void	virtual_start(struct service_ctx *);
void	virtual_client(struct service_ctx *, int fd);

/*
 * virtual_cfg_load -- fill cfg from conf (no tables opened yet).
 * Returns 0, or -1 with *err_r (virtual_mailbox_maps does not split).
 */
int	virtual_cfg_load(struct virtual_cfg *, const struct conf *,
	    const char **err_r);

/* virtual_cfg_clear -- close the tables and free what load allocated. */
void	virtual_cfg_clear(struct virtual_cfg *);

/*
 * virtual_maps_open -- open every table of cfg unless they are open.
 * Returns 0, or -1 with the reason in cfg->map_err (all closed then).
 * Never logs.
 */
int	virtual_maps_open(struct virtual_cfg *);

/*
 * virtual_maps_split -- the table names of a virtual_mailbox_maps value:
 * words separated by commas and/or white space, except inside braces,
 * so that "inline:{ a=b, c=d }, lmdb:/x" is two names.  At most
 * VIRTUAL_MAPS_MAX.  Returns 0 with *names_r (each and the array from
 * xmalloc; free with virtual_maps_free) and *n_r, or -1 with *err_r
 * ("unbalanced braces", "too many tables").  Pure otherwise.
 */
int	virtual_maps_split(const char *value, char ***names_r, size_t *n_r,
	    const char **err_r);
void	virtual_maps_free(char **names, size_t n);

/*
 * virtual_path -- the mailbox for table value: base "/" value (leading
 * slashes of value dropped).  A Maildir when value ends in "/", else an
 * mbox file.  Refused: an empty value, a ".." component, control bytes,
 * a result of VIRTUAL_PATH_MAX bytes or more.  Returns 0 with out and
 * *maildir_r set, or -1 with *err_r.  Pure.
 */
int	virtual_path(const char *base, const char *value, char *out,
	    size_t sz, bool *maildir_r, const char **err_r);

/*
 * virtual_ids -- virtual_uid and virtual_gid, each a number or a name
 * (uid: a user; gid: a group, or else a user whose login group it is),
 * into *u (name: the uid text).  0 is refused for either.  Returns 0, or
 * -1 with *err_r.
 */
int	virtual_ids(const char *uid, const char *gid, struct priv_user *u,
	    const char **err_r);

/*
 * virtual_deliver_req -- deliver_serve's handler: a result for every
 * recipient of req, and one log line each.  arg is the virtual_cfg.
 */
void	virtual_deliver_req(struct deliver_req *, void *arg);

#endif
