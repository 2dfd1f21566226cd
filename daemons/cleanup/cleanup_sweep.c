/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup_sweep.c -- remove the temporary files that a cleanup which
 * died mid-message left in incoming/.
 *
 * Process:  cleanup (user mail_owner), at start and then every hour.
 * Input:    the names in incoming/ (mail_owner's directory: anything in it
 *           was put there by a Tern process or by the operator).
 * Failure:  a file that cannot be checked is left alone, silently: the
 *           next sweep tries again.
 *
 * Several cleanup processes share incoming/, so a sweep must never take
 * the live temporary file of another.  Each writer holds flock(LOCK_EX)
 * on its file from just after creating it until commit or abort; a file
 * is stale only if it is both unlocked and older than CLEANUP_SWEEP_AGE,
 * the age covering the moment between a writer's open and its flock.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/*
 * Is the file fd (name in dirfd) stale?  Called with its lock held, so
 * that no writer can be between its open and its flock unseen: a writer
 * that is has a young file.
 */
static bool
stale(int dirfd, const char *name, int fd, time_t now, time_t min_age)
{
	struct stat st, named;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return false;
	if (st.st_mtime > now || now - st.st_mtime < min_age)
		return false;
	/* Still this file under this name, not removed by another sweep? */
	if (fstatat(dirfd, name, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
	    named.st_dev != st.st_dev || named.st_ino != st.st_ino)
		return false;
	return true;
}

static bool
sweep_one(int dirfd, const char *dirname, const char *name, time_t now,
    time_t min_age)
{
	char safe[LOG_SAFE_MAX];
	bool removed = false;
	int fd;

	/* No symbolic link, and no FIFO that would block the open. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return false;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 &&
	    stale(dirfd, name, fd, now, min_age)) {
		if (unlinkat(dirfd, name, 0) == 0) {
			log_info("removed stale temporary file %s/%s", dirname,
			    log_safe(safe, sizeof(safe), name, strlen(name)));
			removed = true;
		} else if (errno != ENOENT)
			log_warn("%s/%s", dirname,
			    log_safe(safe, sizeof(safe), name, strlen(name)));
	}
	(void)close(fd);	/* and with it the lock */
	return removed;
}

int
cleanup_sweep(int dirfd, const char *dirname, time_t now, time_t min_age)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	/* fdopendir takes the descriptor: give it its own. */
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("%s", dirname);
		return 0;
	}
	if ((d = fdopendir(fd)) == NULL) {
		log_warn("%s", dirname);
		(void)close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "t.", 2) != 0)
			continue;
		if (sweep_one(dirfd, dirname, de->d_name, now, min_age))
			n++;
	}
	closedir(d);
	return n;
}
