/*
 * SPDX-License-Identifier: ISC
 *
 * maildir.h -- deliver one message into a Maildir (mail layer).
 *
 * The Maildir protocol (cr.yp.to/proto/maildir.html): write the message
 * under a unique name in tmp/, make sure it is on disk, then give it its
 * name in new/.  Here the last step is link(2), never rename(2), so an
 * existing message can never be replaced, and new/ is fsync'd before
 * success is reported.
 *
 * Unique names: "SEC.MusecPpidQnRrandom.HOST" in tmp/, where n counts this
 * process's deliveries, random is 64 random bits in hex and HOST is
 * gethostname() with '/', ':' and ',' written as "\057", "\072" and
 * "\054".  In new/ the name gets ",S=SIZE" appended: the size of the file
 * in bytes (LF line ends), which IMAP servers such as Dovecot use to
 * avoid a stat() for quota.  The message content has CRLF turned into LF
 * (mailbox.h); a last line without a line end stays without one.
 *
 * Process:  the planned local and virtual delivery agents.  They switch to
 *           the recipient's (or the virtual) uid before calling; this
 *           module takes no privilege decisions and runs with whatever
 *           rights the caller has.
 * Input:    a Maildir path from the configuration or a lookup table, and
 *           the message from a struct mailbox_src.  The parent directories
 *           of the Maildir are followed as they are (a home directory may
 *           be a symbolic link); the Maildir itself and its tmp/, new/
 *           and cur/ must not be symbolic links, and every file is
 *           created relative to a directory descriptor.
 * Failure:  -1 with errno kept from the failing call and *err_r set to a
 *           static one-line reason; everything written for this delivery
 *           is removed first.  Never logs, never exits.  The caller must
 *           ignore SIGXFSZ so that RLIMIT_FSIZE shows as EFBIG.
 */
#ifndef TERN_MAILDIR_H
#define TERN_MAILDIR_H

#include <stdint.h>

#include "mailbox.h"

#define MAILDIR_CREATE		0x01	/* mkdir missing parts, mode 0700 */

#define MAILDIR_HOST_MAX	255	/* HOST part, after escaping */
#define MAILDIR_NAME_MAX	(128 + MAILDIR_HOST_MAX)	/* with ,S= */

struct maildir_result {
	char		name[MAILDIR_NAME_MAX + 1];	/* in new/ */
	uint64_t	size;				/* bytes written */
};

/*
 * maildir_deliver -- deliver src into the Maildir at path (a trailing '/'
 * is allowed, as in Postfix's home_mailbox = Maildir/).  With
 * MAILDIR_CREATE, missing directories on the way, the Maildir and its
 * tmp/, new/ and cur/ are created with mode 0700; without it they must
 * exist (ENOENT).  Fills *res.  Returns 0 only when the message is in
 * new/ and new/ has been fsync'd; else -1, errno and *err_r as above, for
 * example "Maildir is a symbolic link" (ELOOP), "cannot read the message"
 * (the errno of src->read), "cannot fsync the message file" (EIO).
 */
int	maildir_deliver(const char *path, int flags,
	    const struct mailbox_src *src, struct maildir_result *res,
	    const char **err_r);

#endif
