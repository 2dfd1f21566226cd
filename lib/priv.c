/*
 * SPDX-License-Identifier: ISC
 *
 * priv.c -- dropping privilege for good.
 *
 * Process:  every service, before it touches untrusted input.
 * Failure:  any step that fails is fatal: the process must not go on
 *           with the privilege it meant to give up.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include "log.h"
#include "priv.h"

int
priv_lookup(const char *name, struct priv_user *out, const char **err_r)
{
	struct passwd *pw;

	if (strlcpy(out->name, name, sizeof(out->name)) >= sizeof(out->name)) {
		*err_r = "user name too long";
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		*err_r = "no such user";
		return -1;
	}
	if (pw->pw_uid == 0) {
		*err_r = "user has uid 0";
		return -1;
	}
	if (pw->pw_gid == 0) {
		*err_r = "user has gid 0";
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 0;
}

bool
priv_is_root(void)
{
	return geteuid() == 0;
}

int
priv_verify(const struct priv_user *u, const char **err_r)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) == -1 ||
	    getresgid(&rgid, &egid, &sgid) == -1) {
		*err_r = "cannot read process ids";
		return -1;
	}
	if (ruid != u->uid || euid != u->uid || suid != u->uid) {
		*err_r = "user ids not all dropped";
		return -1;
	}
	if (rgid != u->gid || egid != u->gid || sgid != u->gid) {
		*err_r = "group ids not all dropped";
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		*err_r = "uid 0 could be regained";
		return -1;
	}
	if (setgid(0) != -1 || setegid(0) != -1) {
		*err_r = "gid 0 could be regained";
		return -1;
	}
	if (getegid() == 0 || geteuid() == 0) {
		*err_r = "still privileged";
		return -1;
	}
	return 0;
}

int
priv_become(const struct priv_user *u, const gid_t *groups, size_t ngroups,
    const char **err_r)
{
	size_t i;

	if (u->uid == 0 || u->gid == 0) {
		*err_r = "refusing to become uid 0 or gid 0";
		return -1;
	}
	for (i = 0; i < ngroups; i++)
		if (groups[i] == 0) {
			*err_r = "refusing supplementary group 0";
			return -1;
		}
	if (setgroups(ngroups, groups) == -1) {
		*err_r = "setgroups failed";
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) == -1) {
		*err_r = "setresgid failed";
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) == -1) {
		*err_r = "setresuid failed";
		return -1;
	}
	if (priv_verify(u, err_r) == -1)
		return -1;
#ifdef PR_SET_NO_NEW_PRIVS
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*err_r = "prctl PR_SET_NO_NEW_PRIVS failed";
		return -1;
	}
#endif
#ifdef PR_SET_DUMPABLE
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		*err_r = "prctl PR_SET_DUMPABLE failed";
		return -1;
	}
#endif
	return 0;
}

void
priv_drop(const struct priv_user *u, const char *chroot_dir)
{
	priv_drop_groups(u, NULL, 0, chroot_dir);
}

void
priv_drop_groups(const struct priv_user *u, const gid_t *extra,
    size_t nextra, const char *chroot_dir)
{
	gid_t groups[1 + PRIV_EXTRA_GROUPS_MAX];
	const char *err;
	size_t i;

	if (nextra > PRIV_EXTRA_GROUPS_MAX)
		fatalx("privilege drop: too many supplementary groups");
	groups[0] = u->gid;
	for (i = 0; i < nextra; i++) {
		if (extra[i] == 0)
			fatalx("privilege drop: refusing supplementary group 0");
		groups[1 + i] = extra[i];
	}

	if (chroot_dir != NULL && chroot_dir[0] != '\0') {
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("chdir / in chroot %s", chroot_dir);
	}
	if (setgroups(1 + nextra, groups) == -1)
		fatal("setgroups %lu", (unsigned long)u->gid);
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("setresgid %lu", (unsigned long)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("setresuid %lu", (unsigned long)u->uid);
	if (priv_verify(u, &err) == -1)
		fatalx("privilege drop to %s failed: %s", u->name, err);
#ifdef PR_SET_NO_NEW_PRIVS
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
#endif
}
