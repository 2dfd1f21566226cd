/*
 * SPDX-License-Identifier: ISC
 *
 * mailbox.h -- what Maildir and mbox delivery share: the message source
 * and the streaming conversion of queue content to mailbox content (mail
 * layer).
 *
 * The queue holds a message with CRLF line ends (qfile.h); mail stores on
 * disk use LF.  The converter turns every CR LF pair into LF, wherever the
 * read chunks are cut (a CR at the end of one chunk and the LF at the
 * start of the next count as a pair), and leaves a lone CR and a lone LF
 * alone.  For mbox it also quotes "From " lines the mboxrd way: a line
 * that starts with any number of '>' (none included) followed by "From "
 * gets one more '>' in front, so that a reader removes exactly one '>'
 * from such lines and gets the message back.
 *
 * Process:  the planned local and virtual delivery agents, through
 *           lib/maildir and lib/mbox, as the recipient's (or the virtual)
 *           uid: nothing here decides privileges.
 * Input:    message content: untrusted bytes, any length, any lines;
 *           state between chunks is a few counters, so memory is bounded.
 * Failure:  -1 with errno (from the read or write callback) and a static
 *           one-line reason; never logs, never exits, never allocates.
 */
#ifndef TERN_MAILBOX_H
#define TERN_MAILBOX_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILBOX_OUT_MAX		(16 * 1024)	/* converter's output buffer */
#define MAILBOX_READ_MAX	(16 * 1024)	/* bytes asked of src->read */

/*
 * A message to deliver: first prefix_len bytes at prefix (may be NULL:
 * lines the agent adds, such as "Delivered-To:" and "Return-Path:"), then
 * what read() gives until it returns 0.  read() returns how many bytes it
 * put into buf (at most len), 0 at the end, or -1 with errno set; -1 with
 * EINTR is called again.  The prefix goes through the same conversion as
 * the rest, so its lines may end in LF or CRLF.
 */
struct mailbox_src {
	ssize_t		(*read)(void *arg, void *buf, size_t len);
	void		 *arg;
	const void	 *prefix;
	size_t		  prefix_len;
};

/*
 * The converter.  Output gathers in out[] and goes to flush(arg, p, n),
 * which must take all n bytes or return -1 with errno.  The fields are
 * private except size (bytes produced so far, buffered ones included) and
 * last (the last byte produced, '\n' before the first).
 */
struct mailbox_conv {
	int		(*flush)(void *arg, const void *p, size_t n);
	void		 *arg;
	bool		  quote_from;
	int		  state;	/* at line start, matching, in a line */
	size_t		  ngt;		/* '>' held at the start of a line */
	size_t		  nfrom;	/* then bytes of "From " matched */
	bool		  cr;		/* a CR held: is an LF next? */
	uint8_t		  last;
	uint64_t	  size;
	size_t		  len;		/* bytes in out[] */
	uint8_t		  out[MAILBOX_OUT_MAX];
};

/*
 * mailbox_conv_init -- a converter at the start of a line that writes to
 * flush(arg, ...), quoting "From " lines when quote_from.
 */
void	mailbox_conv_init(struct mailbox_conv *, bool quote_from,
	    int (*flush)(void *, const void *, size_t), void *arg);

/*
 * mailbox_conv_put -- convert len bytes.  Bytes that may still change
 * (a CR, the start of a line that may be a "From " line) are held until
 * the next call or mailbox_conv_end.  Returns 0, or -1 with errno from
 * flush (the converter is then unusable).
 */
int	mailbox_conv_put(struct mailbox_conv *, const void *, size_t);

/*
 * mailbox_conv_raw -- output len bytes as they are, after anything held
 * is released (an mbox "From " separator line, the blank line after a
 * message).  Returns 0, or -1 with errno from flush.
 */
int	mailbox_conv_raw(struct mailbox_conv *, const void *, size_t);

/*
 * mailbox_conv_end -- release what is held and flush out[]: after it,
 * size bytes went to flush.  Returns 0, or -1 with errno from flush.
 */
int	mailbox_conv_end(struct mailbox_conv *);

/*
 * mailbox_copy -- run src (prefix, then read() to its end) through the
 * converter, then mailbox_conv_end.  Returns 0, or -1 with errno and
 * *err_r set to "cannot read the message" or "cannot write the message"
 * (errno EIO when a callback failed without setting it).
 */
int	mailbox_copy(struct mailbox_conv *, const struct mailbox_src *,
	    const char **err_r);

/*
 * mailbox_fail -- for the delivery functions' error returns: *err_r =
 * why, errno EIO if it was 0 (errno is kept otherwise).  Returns -1.
 */
int	mailbox_fail(const char *why, const char **err_r);

/*
 * mailbox_flush_fd -- a flush callback for mailbox_conv_init: arg points
 * to an int file descriptor; writes all n bytes through EINTR and short
 * writes.  Returns 0, or -1 with errno (EIO for a write of 0).
 */
int	mailbox_flush_fd(void *arg, const void *p, size_t n);

#endif
