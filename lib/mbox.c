/*
 * SPDX-License-Identifier: ISC
 *
 * mbox.c -- append one message to an mbox: dotlock, fcntl lock, From
 * line, quoted content, fsync, or truncate back on any failure.
 *
 * Process:  local delivery agent (planned), as the recipient's uid.
 * Input:    the mbox path, the envelope sender and the message (untrusted:
 *           the sender is made safe for the From line, the content goes
 *           through lib/mailbox's quoting).
 * Failure:  -1 with errno and a static reason; the file keeps the size it
 *           had when it was locked, the locks are released.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"
#include "mbox.h"

#define LOCK_STEP_MS	100		/* between two lock attempts */
#define DOTLOCK_SUFFIX	".lock"
#define FROM_LINE_MAX	(MBOX_SENDER_MAX + 64)

struct lock {
	char		 dotlock[PATH_MAX];
	bool		 dotlock_held;
	struct timespec	 deadline;	/* CLOCK_MONOTONIC */
};

static int
fail_errno(int e, const char *why, const char **err_r)
{
	errno = e;
	return mailbox_fail(why, err_r);
}

static void
set_deadline(struct lock *lk, unsigned ms)
{
	(void)clock_gettime(CLOCK_MONOTONIC, &lk->deadline);
	lk->deadline.tv_sec += ms / 1000;
	lk->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (lk->deadline.tv_nsec >= 1000000000L) {
		lk->deadline.tv_sec++;
		lk->deadline.tv_nsec -= 1000000000L;
	}
}

/* Sleep one step, never past the deadline; false once it has passed. */
static bool
wait_step(const struct lock *lk)
{
	struct timespec now, d;
	long long left_ms;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	left_ms = (long long)(lk->deadline.tv_sec - now.tv_sec) * 1000 +
	    (lk->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (left_ms <= 0)
		return false;
	if (left_ms > LOCK_STEP_MS)
		left_ms = LOCK_STEP_MS;
	d.tv_sec = 0;
	d.tv_nsec = (long)left_ms * 1000000L;
	while (nanosleep(&d, &d) == -1 && errno == EINTR)
		continue;
	return true;
}

/* FILE.lock is there: remove it when it is older than stale seconds. */
static void
remove_if_stale(const char *name, unsigned stale)
{
	struct stat st;

	if (lstat(name, &st) == -1)
		return;
	if (time(NULL) - st.st_mtime <= (time_t)stale)
		return;
	/*
	 * Between the lstat and the unlink another deliverer may have
	 * removed the stale lock and made its own; every dotlock user shares
	 * this window, and the fcntl lock still guards the content.
	 */
	(void)unlink(name);
}

static int
dotlock_take(struct lock *lk, const struct mbox_params *p, unsigned stale,
    const char **err_r)
{
	char pid[32];
	int fd, n;

	n = snprintf(lk->dotlock, sizeof(lk->dotlock), "%s%s", p->path,
	    DOTLOCK_SUFFIX);
	if (n < 0 || (size_t)n >= sizeof(lk->dotlock))
		return fail_errno(ENAMETOOLONG, "mailbox path too long", err_r);
	for (;;) {
		fd = open(lk->dotlock, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if ((errno == EACCES || errno == EPERM || errno == EROFS) &&
		    (p->flags & MBOX_DOTLOCK_OPTIONAL))
			return 0;
		if (errno != EEXIST)
			return mailbox_fail("cannot create the dotlock file",
			    err_r);
		remove_if_stale(lk->dotlock, stale);
		if (!wait_step(lk))
			return fail_errno(EAGAIN, "mailbox is locked (dotlock)",
			    err_r);
	}
	lk->dotlock_held = true;
	/* For people looking at the lock; its existence is what counts. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (n > 0 && write(fd, pid, (size_t)n) == -1)
		n = 0;
	(void)close(fd);
	return 0;
}

static void
dotlock_drop(struct lock *lk)
{
	int saved = errno;

	if (lk->dotlock_held)
		(void)unlink(lk->dotlock);
	lk->dotlock_held = false;
	errno = saved;
}

/* What a mailbox file must be, each time it is looked at. */
static int
check_file(int fd, struct stat *st, const char **err_r)
{
	if (fstat(fd, st) == -1)
		return mailbox_fail("cannot stat the mailbox", err_r);
	if (!S_ISREG(st->st_mode))
		return fail_errno(EINVAL, "mailbox is not a regular file",
		    err_r);
	if (st->st_nlink != 1)
		return fail_errno(EMLINK, "mailbox has more than one hard link",
		    err_r);
	return 0;
}

/*
 * Open for appending, never following a symbolic link; O_NONBLOCK so a
 * FIFO without a reader cannot stop us (ENXIO).  With create, make a
 * missing file with O_EXCL: then it is surely ours.
 */
static int
open_mbox(const struct mbox_params *p, const char **err_r)
{
	struct stat st;
	int fd, saved, flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY;

	fd = open(p->path, flags);
	if (fd == -1 && errno == ENOENT && (p->flags & MBOX_CREATE)) {
		fd = open(p->path, flags | O_CREAT | O_EXCL, 0600);
		if (fd == -1 && errno == EEXIST)
			fd = open(p->path, flags);
	}
	if (fd == -1 && errno == ELOOP)
		return mailbox_fail("mailbox is a symbolic link", err_r);
	if (fd == -1 && errno == ENXIO)
		return mailbox_fail("mailbox is not a regular file", err_r);
	if (fd == -1)
		return mailbox_fail("cannot open the mailbox", err_r);
	if (check_file(fd, &st, err_r) == -1)
		goto bad;
	/* A regular file: blocking or not is all the same, but be plain. */
	if (fcntl(fd, F_SETFL, O_APPEND) == -1) {
		(void)mailbox_fail("cannot open the mailbox", err_r);
		goto bad;
	}
	return fd;
bad:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

static int
fcntl_lock(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * The fcntl lock, then: is the path still this file, with one link?  (It
 * may have been renamed, replaced or linked while we waited.)  Returns
 * the size to truncate back to, or -1.
 */
static off_t
lock_file(struct lock *lk, const struct mbox_params *p, int fd,
    const char **err_r)
{
	struct stat st, pst;

	while (fcntl_lock(fd, F_WRLCK) == -1) {
		if (errno != EAGAIN && errno != EACCES)
			return mailbox_fail("cannot lock the mailbox", err_r);
		if (!wait_step(lk))
			return fail_errno(EAGAIN, "mailbox is locked (fcntl)",
			    err_r);
	}
	if (check_file(fd, &st, err_r) == -1)
		return -1;
	if (lstat(p->path, &pst) == -1 || pst.st_dev != st.st_dev ||
	    pst.st_ino != st.st_ino)
		return fail_errno(EAGAIN, "mailbox was replaced while locking",
		    err_r);
	return st.st_size;
}

/* "From SENDER Www Mmm dd hh:mm:ss yyyy\n", C locale whatever is set. */
static int
from_line(char *buf, size_t sz, const char *sender, time_t when)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char safe[MBOX_SENDER_MAX + 1];
	struct tm tm;
	size_t i, len;
	int n;

	if (sender == NULL || sender[0] == '\0')
		sender = "MAILER-DAEMON";
	if ((len = strnlen(sender, MBOX_SENDER_MAX + 1)) > MBOX_SENDER_MAX) {
		errno = E2BIG;
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)sender[i];

		safe[i] = c <= ' ' || c == 0x7f ? '_' : (char)c;
	}
	safe[len] = '\0';
	if (localtime_r(&when, &tm) == NULL) {
		errno = EOVERFLOW;
		return -1;
	}
	n = snprintf(buf, sz, "From %s %s %s %2d %02d:%02d:%02d %d\n", safe,
	    days[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sz) {
		errno = E2BIG;
		return -1;
	}
	return n;
}

/* From line, content, line end, blank line, fsync. */
static int
append(int fd, const struct mbox_params *p, const struct mailbox_src *src,
    uint64_t *size_r, const char **err_r)
{
	static const char write_err[] = "cannot write the message";
	struct mailbox_conv conv;
	char line[FROM_LINE_MAX];
	int n;

	if ((n = from_line(line, sizeof(line), p->sender, p->when)) == -1)
		return mailbox_fail(errno == E2BIG ? "sender address too long" :
		    "cannot format the From line", err_r);
	mailbox_conv_init(&conv, true, mailbox_flush_fd, &fd);
	errno = 0;
	if (mailbox_conv_raw(&conv, line, (size_t)n) == -1)
		return mailbox_fail(write_err, err_r);
	if (mailbox_copy(&conv, src, err_r) == -1)
		return -1;
	errno = 0;
	if (conv.last != '\n' && mailbox_conv_raw(&conv, "\n", 1) == -1)
		return mailbox_fail(write_err, err_r);
	if (mailbox_conv_raw(&conv, "\n", 1) == -1 ||
	    mailbox_conv_end(&conv) == -1)
		return mailbox_fail(write_err, err_r);
	if (fsync(fd) == -1)
		return mailbox_fail("cannot fsync the mailbox", err_r);
	*size_r = conv.size;
	return 0;
}

int
mbox_deliver(const struct mbox_params *p, const struct mailbox_src *src,
    uint64_t *size_r, const char **err_r)
{
	struct lock lk;
	off_t size;
	int fd = -1, saved, r = -1;

	*size_r = 0;
	*err_r = NULL;
	memset(&lk, 0, sizeof(lk));
	set_deadline(&lk, p->lock_wait_ms != 0 ? p->lock_wait_ms :
	    MBOX_LOCK_WAIT_MS);
	if (!(p->flags & MBOX_NO_DOTLOCK) && dotlock_take(&lk, p,
	    p->stale_sec != 0 ? p->stale_sec : MBOX_DOTLOCK_STALE,
	    err_r) == -1)
		return -1;
	if ((fd = open_mbox(p, err_r)) == -1)
		goto out;
	if ((size = lock_file(&lk, p, fd, err_r)) == -1)
		goto out;
	if (append(fd, p, src, size_r, err_r) == -1) {
		saved = errno;
		/* Leave no partial message: back to the size we locked. */
		if (ftruncate(fd, size) == 0)
			(void)fsync(fd);
		errno = saved;
		*size_r = 0;
		goto out;
	}
	r = 0;
out:
	saved = errno;
	if (fd != -1) {
		(void)fcntl_lock(fd, F_UNLCK);
		(void)close(fd);
	}
	dotlock_drop(&lk);
	errno = saved;
	return r;
}
