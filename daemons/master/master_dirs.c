/*
 * SPDX-License-Identifier: ISC
 *
 * master_dirs.c -- the queue directory tree, its owners and modes.
 *
 * Process:  master (start-up: create and repair), ternctl check (report).
 * Failure:  a directory that cannot be made right stops the master.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "master.h"

/*
 * "" is queue_directory itself.  Mail lives in directories only
 * mail_owner can enter; maildrop/ and public/ let members of
 * setgid_group (the setgid terndrop) in, no one else.  maildrop/ is
 * sticky: a process with the group can create files there, but never
 * rename or remove another user's (pickup, the owner, can).
 */
const struct master_dir master_dirs[] = {
	{ "",		OWN_ROOT,	 0755 },
	{ "pid",	OWN_ROOT,	 0755 },
	{ "incoming",	OWN_MAIL,	 0700 },
	{ "active",	OWN_MAIL,	 0700 },
	{ "deferred",	OWN_MAIL,	 0700 },
	{ "hold",	OWN_MAIL,	 0700 },
	{ "corrupt",	OWN_MAIL,	 0700 },
	{ "bounce",	OWN_MAIL,	 0700 },
	{ "defer",	OWN_MAIL,	 0700 },
	{ "private",	OWN_MAIL,	 0700 },
	{ "maildrop",	OWN_MAIL_SETGID, 01730 },
	{ "public",	OWN_MAIL_SETGID, 0710 },
	{ NULL,		0,		 0 }
};

/* Who should own d: without root, whoever runs us owns everything. */
static void
want_owner(const struct master_config *mc, const struct master_dir *d,
    uid_t *uid, gid_t *gid)
{
	*uid = geteuid();
	*gid = getegid();
	if (mc->mail_uid == (uid_t)-1)
		return;
	switch (d->owner) {
	case OWN_ROOT:
		*uid = 0;
		*gid = 0;
		break;
	case OWN_MAIL:
		*uid = mc->mail_uid;
		*gid = mc->mail_gid;
		break;
	case OWN_MAIL_SETGID:
		*uid = mc->mail_uid;
		*gid = mc->setgid_gid != (gid_t)-1 ? mc->setgid_gid :
		    mc->mail_gid;
		break;
	}
}

static int
dir_path(const struct master_config *mc, const struct master_dir *d,
    char *buf, size_t sz)
{
	int n;

	n = snprintf(buf, sz, "%s%s%s", mc->queue_dir, d->name[0] ? "/" : "",
	    d->name);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

int
master_dirs_make(const struct master_config *mc)
{
	const struct master_dir *d;
	char path[1100];
	struct stat st;
	uid_t uid;
	gid_t gid;

	for (d = master_dirs; d->name != NULL; d++) {
		if (dir_path(mc, d, path, sizeof(path)) == -1) {
			log_error("queue directory name too long");
			return -1;
		}
		want_owner(mc, d, &uid, &gid);
		if (mkdir(path, d->mode) == -1 && errno != EEXIST) {
			log_error("cannot create %s: %s", path, strerror(errno));
			return -1;
		}
		if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
			log_error("%s is not a directory", path);
			return -1;
		}
		if ((st.st_uid != uid || st.st_gid != gid) &&
		    chown(path, uid, gid) == -1) {
			log_error("cannot chown %s: %s", path, strerror(errno));
			return -1;
		}
		if ((st.st_mode & 07777) != d->mode &&
		    chmod(path, d->mode) == -1) {
			log_error("cannot chmod %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
master_dirs_check(const struct master_config *mc, master_report_fn report,
    void *arg)
{
	const struct master_dir *d;
	char path[1100], msg[2600], missing[256] = "";
	struct stat st;
	/* Without root we cannot tell a root instance from our own. */
	bool owners_known = geteuid() == 0;
	int problems = 0;
	uid_t uid;
	gid_t gid;

	for (d = master_dirs; d->name != NULL; d++) {
		if (dir_path(mc, d, path, sizeof(path)) == -1)
			continue;
		want_owner(mc, d, &uid, &gid);
		msg[0] = '\0';
		if (lstat(path, &st) == -1) {
			/* Not a problem: the master creates what is missing. */
			strlcat(missing, " ", sizeof(missing));
			strlcat(missing, d->name[0] ? d->name : ".", sizeof(missing));
			continue;
		} else if (!S_ISDIR(st.st_mode))
			snprintf(msg, sizeof(msg), "%s: not a directory", path);
		else if (owners_known && (st.st_uid != uid || st.st_gid != gid))
			snprintf(msg, sizeof(msg), "%s: owned by %lu:%lu, "
			    "should be %lu:%lu; run chown %lu:%lu %s (or "
			    "restart: the master repairs it)", path,
			    (unsigned long)st.st_uid, (unsigned long)st.st_gid,
			    (unsigned long)uid, (unsigned long)gid,
			    (unsigned long)uid, (unsigned long)gid, path);
		else if ((st.st_mode & 07777) != d->mode)
			snprintf(msg, sizeof(msg), "%s: mode %04o, should be "
			    "%04o; run chmod %04o %s (or restart: the master "
			    "repairs it)", path, (unsigned)(st.st_mode & 07777),
			    (unsigned)d->mode, (unsigned)d->mode, path);
		if (msg[0] != '\0') {
			problems++;
			report(arg, true, msg);
		}
	}
	if (missing[0] != '\0') {
		snprintf(msg, sizeof(msg), "%s: missing, the master creates them "
		    "at start:%s", mc->queue_dir, missing);
		report(arg, false, msg);
	}
	return problems;
}
