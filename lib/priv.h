/*
 * SPDX-License-Identifier: ISC
 *
 * priv.h -- dropping privilege for good (base layer).
 *
 * Only the service skeleton (service.c) and the virtual delivery agent
 * (started with unpriv n) call priv_drop(), and only the local delivery
 * agent calls priv_become() (in a child, per delivery); no other code
 * calls set*id().
 */
#ifndef TERN_PRIV_H
#define TERN_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#define PRIV_EXTRA_GROUPS_MAX	4

struct priv_user {
	char	name[64];
	uid_t	uid;
	gid_t	gid;
};

/*
 * priv_lookup -- getpwnam() name into *out.  Returns 0, or -1 with *err_r
 * set to a static string ("no such user", "user has uid 0", "name too
 * long").  A user with uid 0 or gid 0 is refused: dropping to it would
 * keep privilege.
 */
int	priv_lookup(const char *name, struct priv_user *out, const char **err_r);

/*
 * priv_drop -- become u for good: optional chroot(dir) + chdir("/"),
 * setgroups(1, &gid), setresgid, setresuid, then verify that neither the
 * uid nor the gid can be regained (setuid(0)/setgid(0) must fail, all ids
 * must be u's), then PR_SET_NO_NEW_PRIVS.  chroot_dir may be NULL.
 * Any failure is fatal: a process that did not drop must not go on.
 */
void	priv_drop(const struct priv_user *u, const char *chroot_dir);

/*
 * priv_drop_groups -- priv_drop(), keeping also the supplementary groups
 * extra[0..nextra) (the skeleton: a service's extra_group, such as
 * pickup's setgid_group).  Group 0 among them is fatal.
 */
void	priv_drop_groups(const struct priv_user *u, const gid_t *extra,
	    size_t nextra, const char *chroot_dir);

/*
 * priv_verify -- check that the real, effective and saved ids are all u's
 * and that uid 0 cannot be regained.  Returns 0, or -1 with *err_r set.
 * priv_drop() calls it; tests call it too.
 */
int	priv_verify(const struct priv_user *u, const char **err_r);

/*
 * priv_become -- for the local delivery agent's per-delivery children:
 * become u for good with the supplementary groups groups[0..ngroups)
 * (setgroups, setresgid, setresuid), then priv_verify(), then
 * PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0 (no other process of u may
 * ptrace it while it holds a group u may not have, such as the mail
 * spool's).  uid 0, gid 0 or group 0 among groups is refused before any
 * change.  Returns 0, or -1 with *err_r set: unlike priv_drop() it does
 * not exit, so that the child can report why; a child that gets -1 must
 * not go on (its ids may be half changed).
 */
int	priv_become(const struct priv_user *u, const gid_t *groups,
	    size_t ngroups, const char **err_r);

/* priv_is_root -- true when running with effective uid 0. */
bool	priv_is_root(void);

#endif
