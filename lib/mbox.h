/*
 * SPDX-License-Identifier: ISC
 *
 * mbox.h -- append one message to an mbox file (mail layer).
 *
 * Format (mbox(5), the mboxrd variant): a separator line
 *
 *	From SENDER Www Mmm dd hh:mm:ss yyyy
 *
 * (the envelope sender, MAILER-DAEMON for <>, bytes <= ' ' and DEL shown
 * as '_'; the date asctime(3)-style in the C locale, local time), the
 * prefix and the message with CRLF turned into LF and "From " lines
 * quoted (lib/mailbox.h: any line matching ">*From " gets one more '>'),
 * a line end if the message lacked one, and one blank line.
 *
 * Locking: the dotlock FILE.lock first (created O_EXCL; one older than
 * the stale time is removed and the attempt repeated), then an fcntl(2)
 * write lock on the whole file, both retried every 100 ms at most until
 * the lock wait runs out.  Then the file must still be the one the path
 * names, a regular file with exactly one link.  If anything fails after
 * the first byte is written, the file is truncated back to the size it had
 * when it was locked, so a reader never sees half a message.
 *
 * Process:  the planned local delivery agent.  It switches to the
 *           recipient's uid before calling (and decides, e.g. by group
 *           mail, whether FILE.lock can be made in the spool directory);
 *           this module takes no privilege decisions.
 * Input:    the mbox path (configuration: mail_spool_directory or a
 *           home-relative name), the envelope sender and the message, the
 *           last two untrusted.  The path's last component must not be a
 *           symbolic link.
 * Failure:  -1 with errno kept and *err_r set to a static one-line reason;
 *           the mailbox is as it was.  Never logs, never exits.  The caller
 *           must ignore SIGXFSZ so that RLIMIT_FSIZE shows as EFBIG.
 */
#ifndef TERN_MBOX_H
#define TERN_MBOX_H

#include <stdint.h>
#include <time.h>

#include "mailbox.h"

#define MBOX_CREATE		0x01	/* create the file, mode 0600 */
#define MBOX_NO_DOTLOCK		0x02	/* fcntl lock only */
#define MBOX_DOTLOCK_OPTIONAL	0x04	/* no permission for FILE.lock:
					   go on with the fcntl lock */

#define MBOX_LOCK_WAIT_MS	10000	/* default wait for both locks */
#define MBOX_DOTLOCK_STALE	300	/* default: a dotlock this many
					   seconds old is removed */
#define MBOX_SENDER_MAX		1000	/* bytes of sender on the From line */

struct mbox_params {
	const char	*path;
	const char	*sender;	/* envelope sender, "" for <> */
	time_t		 when;		/* date of the From line */
	int		 flags;		/* MBOX_* */
	unsigned	 lock_wait_ms;	/* 0: MBOX_LOCK_WAIT_MS */
	unsigned	 stale_sec;	/* 0: MBOX_DOTLOCK_STALE */
};

/*
 * mbox_deliver -- append src to the mbox p->path as described above and
 * fsync it.  Returns 0 with *size_r the bytes appended, or -1 with errno
 * and *err_r, for example:
 *   EAGAIN   "mailbox is locked (dotlock)", "mailbox is locked (fcntl)",
 *            "mailbox was replaced while locking": try again later;
 *   ENOENT   the file is missing and MBOX_CREATE was not given;
 *   ELOOP    "mailbox is a symbolic link";
 *   EINVAL   "mailbox is not a regular file" (a FIFO without a reader:
 *            ENXIO; a directory: EISDIR, "cannot open the mailbox");
 *   EMLINK   "mailbox has more than one hard link";
 *   E2BIG    "sender address too long";
 *   others   from the read callback ("cannot read the message"), from
 *            write, fsync ("cannot write the message", ...).
 */
int	mbox_deliver(const struct mbox_params *p,
	    const struct mailbox_src *src, uint64_t *size_r,
	    const char **err_r);

#endif
