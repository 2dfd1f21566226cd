/*
 * SPDX-License-Identifier: ISC
 *
 * qfile.h -- the queue file: format, writer (cleanup) and reader (qmgr,
 * ternctl) (mail layer).
 *
 * A queue file is a sequence of records, each
 *
 *	u8  type, u32 big-endian payload length (<= QFILE_REC_MAX), payload
 *
 * in this order (docs/queue-file.md has every byte):
 *
 *	M magic "TERNQ1"   T arrival time    [C client]    S sender
 *	(R recipient, D its status) x 1..QFILE_RCPT_MAX    B begin content
 *	X content x 0..n   E end (content size, recipient count)
 *
 * Content records hold the message exactly as received after
 * dot-unstuffing, CRLF line ends and all, cut into pieces of at most
 * QFILE_REC_MAX bytes at arbitrary places: any byte sequence, a last line
 * without CRLF (BDAT) included, comes back byte for byte.
 *
 * A file is complete only with its end record; it is written under a
 * temporary name, fsync'd and renamed into place, so a reader never sees
 * an incomplete file unless the disk lost data.  The reader rejects one.
 */
#ifndef TERN_QFILE_H
#define TERN_QFILE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define QFILE_MAGIC		"TERNQ1"
#define QFILE_REC_HDR		5		/* u8 type, u32 length */
#define QFILE_REC_MAX		(64 * 1024)	/* payload bytes */

/* Record types: printable, so that a hex dump reads. */
#define QFILE_T_MAGIC		'M'
#define QFILE_T_ARRIVAL		'T'
#define QFILE_T_CLIENT		'C'
#define QFILE_T_SENDER		'S'
#define QFILE_T_RCPT		'R'
#define QFILE_T_STATUS		'D'
#define QFILE_T_BEGIN		'B'
#define QFILE_T_CONTENT		'X'
#define QFILE_T_END		'E'

/* Field limits, in bytes, NUL not counted.  Strings never contain NUL. */
#define QFILE_ADDR_MAX		512	/* sender, recipient, ORCPT address */
#define QFILE_ORCPT_TYPE_MAX	32	/* RFC 3461 addr-type, "rfc822" */
#define QFILE_ENVID_MAX		100	/* RFC 3461 section 4.4 */
#define QFILE_HOST_MAX		255	/* client name, HELO argument */
#define QFILE_CLIENT_ADDR_MAX	64	/* textual IPv4/IPv6 address */
#define QFILE_PROTO_MAX		16	/* "ESMTPSA", "UTF8SMTPS" */
#define QFILE_RCPT_MAX		100000	/* recipients in one file */
#define QFILE_TMPNAME_MAX	255	/* a writer's temporary file name */

/* Sender flags. */
#define QFILE_SMTPUTF8		0x01	/* MAIL FROM ... SMTPUTF8 */
#define QFILE_8BITMIME		0x02	/* BODY=8BITMIME */
#define QFILE_BINARYMIME	0x04	/* BODY=BINARYMIME, not with 8BITMIME */

/* RET= */
#define QFILE_RET_NONE		0
#define QFILE_RET_FULL		1
#define QFILE_RET_HDRS		2

/* NOTIFY=, a mask; 0 when absent.  NEVER excludes the others. */
#define QFILE_NOTIFY_SUCCESS	0x01
#define QFILE_NOTIFY_FAILURE	0x02
#define QFILE_NOTIFY_DELAY	0x04
#define QFILE_NOTIFY_NEVER	0x08

/* Recipient status, rewritten in place by qmgr. */
#define QFILE_RS_PENDING	0
#define QFILE_RS_DELIVERED	1
#define QFILE_RS_FAILED		2
#define QFILE_RS_DONE		3	/* final, and every notice asked
					   for (NOTIFY) was sent */

struct qfile_client {
	char		name[QFILE_HOST_MAX + 1];	/* reverse DNS, or "" */
	char		addr[QFILE_CLIENT_ADDR_MAX + 1];
	uint16_t	port;
	char		helo[QFILE_HOST_MAX + 1];
	char		proto[QFILE_PROTO_MAX + 1];	/* "ESMTPS" */
};

struct qfile_sender {
	char		addr[QFILE_ADDR_MAX + 1];	/* "" for <> */
	uint8_t		flags;				/* QFILE_SMTPUTF8 ... */
	uint8_t		ret;				/* QFILE_RET_* */
	char		envid[QFILE_ENVID_MAX + 1];	/* xtext-decoded */
	uint64_t	size;				/* SIZE=, 0 if none */
};

/*
 * A recipient.  From the reader, the strings are owned by the struct qfile
 * (never NULL; "" when absent).  For the writer, the caller's; orcpt_type
 * and orcpt may be NULL for "no ORCPT", and status_off is ignored.
 */
struct qfile_rcpt {
	const char	*addr;		/* the reader's is one allocation */
	const char	*orcpt_type;	/* "rfc822", "utf-8", or "" */
	const char	*orcpt;		/* xtext-decoded address, or "" */
	uint8_t		 notify;	/* QFILE_NOTIFY_* */
	uint8_t		 status;	/* QFILE_RS_* */
	off_t		 status_off;	/* file offset of the status byte */
};

/* content[i] is base[off .. off + len). */
struct qfile_range {
	size_t		off;
	size_t		len;
};

/* A parsed queue file. */
struct qfile {
	int64_t			 arrival_sec;
	uint32_t		 arrival_usec;
	bool			 has_client;
	struct qfile_client	 client;
	struct qfile_sender	 sender;
	struct qfile_rcpt	*rcpts;
	size_t			 nrcpt;
	struct qfile_range	*content;
	size_t			 ncontent;
	uint64_t		 content_size;	/* sum of the ranges */
	const uint8_t		*base;		/* the bytes parsed */
	size_t			 base_len;
	struct buf		 raw;		/* qfile_read's copy of them */
	size_t			 rcpt_cap, content_cap;
};

/*
 * Reading.  qfile_init once, then qfile_parse or qfile_read any number of
 * times (each replaces what the struct held), then qfile_clear.
 */
void	qfile_init(struct qfile *);
void	qfile_clear(struct qfile *);

/*
 * qfile_parse -- decode the len bytes at data.  Bounded (every field has
 * its limit, every count is checked) and pure: never logs, never exits;
 * allocates only the recipient and range arrays and recipient strings.
 * Content ranges point into data, which must outlive their use.
 * Returns 0, or -1 with *err_r set to a static string and *q empty.
 */
int	qfile_parse(const uint8_t *data, size_t len, struct qfile *q,
	    const char **err_r);

/*
 * qfile_read -- read the whole file open on fd (from offset 0, with
 * pread) into q's own buffer, at most max_size bytes, and parse it.
 * Returns 0, or -1 with *err_r set and errno: EFBIG when the file is
 * larger than max_size, EBADMSG when it is malformed (a corrupt file:
 * move it aside), else the error of pread (retry later).
 */
int	qfile_read(int fd, size_t max_size, struct qfile *q,
	    const char **err_r);

/*
 * qfile_content_write -- write the message content, exactly the bytes
 * that were received (after dot-unstuffing), to fd.  Returns 0, or -1
 * with errno set.
 */
/*
 * qfile_read_envelope -- like qfile_read, but only up to the begin
 * record: the envelope, checked as strictly, with no content ranges.
 * The end record is read too and must count the same recipients; its
 * content size is in content_size.  For the queue manager, which holds
 * many envelopes and never the content.  max_size bounds the envelope.
 */
int	qfile_read_envelope(int fd, size_t max_size, struct qfile *q,
	    const char **err_r);

int	qfile_content_write(const struct qfile *, int fd);

/*
 * qfile_rcpt_set_status -- set the status byte at status_off (a
 * struct qfile_rcpt's) of the file open read-write on fd, with pwrite,
 * then fsync.  Checks first that a status record is there.  Returns 0, or
 * -1 with errno (EINVAL: bad status value, or no status record there).
 */
int	qfile_rcpt_set_status(int fd, off_t status_off, uint8_t status);

/*
 * qfile_rcpt_write_status -- the same without the fsync: the byte is in
 * the page cache, not yet on disk.  For a caller that syncs once for
 * many updates, or not at all because the file is about to be removed.
 */
int	qfile_rcpt_write_status(int fd, off_t status_off, uint8_t status);

/*
 * Writing.  A writer is open from qfile_writer_open (or _fdopen) until a
 * successful commit (or finish), or until qfile_writer_abort; abort is
 * always allowed and also cleans up after a failed open or commit.
 *
 * Records go in the order of the format: qfile_put_arrival, optionally
 * qfile_put_client, qfile_put_sender, qfile_put_rcpt one or more times,
 * qfile_put_content any number of times, then commit.  Another order is
 * a bug() in the caller.
 *
 * The put functions return 0, or -1 with errno:
 *   EINVAL  a field is out of its limits or inconsistent,
 *   E2BIG   one recipient more than max_rcpt,
 *   EFBIG   content past max_content, or past RLIMIT_FSIZE,
 *   ENOSPC, EDQUOT, EIO ...  from write(2).
 * The first three change nothing: the writer can go on.  A write error
 * is sticky: every later call fails with the same errno, and the caller
 * must abort.  Writes are buffered, so a write error may show only in a
 * later call or in commit.
 */
struct qfile_writer {
	int		 fd;		/* -1 once closed */
	bool		 own_fd;	/* opened here: close and unlink */
	int		 dirfd;		/* where tmpname is */
	char		 tmpname[QFILE_TMPNAME_MAX + 1];
	bool		 tmp_exists;	/* ours to unlink */
	int		 state;
	int		 err;		/* sticky errno */
	size_t		 nrcpt, max_rcpt;
	uint64_t	 content_size, max_content;
	struct buf	 out;		/* records not yet written */
	struct buf	 chunk;		/* the next content record */
};

/*
 * qfile_writer_open -- create tmpname (one path component) in the
 * directory dirfd, O_CREAT|O_EXCL, mode 0600 whatever the umask, and
 * write the magic record.  dirfd must stay open until commit or abort.
 * Limits: max_rcpt QFILE_RCPT_MAX, max_content none.  Returns 0, or -1
 * with errno (EEXIST: tmpname exists, and is left alone).
 */
int	qfile_writer_open(struct qfile_writer *, int dirfd,
	    const char *tmpname);

/*
 * qfile_writer_fdopen -- write to fd, which stays the caller's: no
 * temporary name, no fsync; end with qfile_writer_finish.  For tools and
 * tests (a memfd, a pipe, /dev/full).  Returns 0.
 */
int	qfile_writer_fdopen(struct qfile_writer *, int fd);

/*
 * qfile_writer_limits -- at most max_rcpt recipients (never more than
 * QFILE_RCPT_MAX) and max_content bytes of content.
 */
void	qfile_writer_limits(struct qfile_writer *, size_t max_rcpt,
	    uint64_t max_content);

int	qfile_put_arrival(struct qfile_writer *, int64_t sec, uint32_t usec);
int	qfile_put_client(struct qfile_writer *, const struct qfile_client *);
int	qfile_put_sender(struct qfile_writer *, const struct qfile_sender *);
int	qfile_put_rcpt(struct qfile_writer *, const struct qfile_rcpt *);
int	qfile_put_content(struct qfile_writer *, const void *, size_t);

/*
 * qfile_writer_commit -- write the end record, flush, fsync and close the
 * file, rename it to qid (a valid queue ID) in destdirfd (on the same file
 * system; never replacing a file), and fsync destdirfd (opened O_RDONLY).
 * Returns 0 only when all that succeeded: the message is safe, the writer
 * is empty.  Else -1 with errno, no file named qid is left behind (if the
 * final fsync fails, the renamed file is unlinked again), and the caller
 * calls qfile_writer_abort, which removes the temporary file.
 */
int	qfile_writer_commit(struct qfile_writer *, int destdirfd,
	    const char *qid);

/*
 * qfile_writer_finish -- write the end record and flush, for a writer
 * from qfile_writer_fdopen.  Returns 0 (the writer is empty), or -1 with
 * errno (abort then).
 */
int	qfile_writer_finish(struct qfile_writer *);

/*
 * qfile_writer_abort -- give up: close the file and unlink the temporary
 * name if this writer created it and has not renamed it.  Never fails.
 */
void	qfile_writer_abort(struct qfile_writer *);

#endif
