/*
 * SPDX-License-Identifier: ISC
 *
 * lineio.h -- bounded line reader over a file descriptor, with timeouts
 * (base layer).  Used for untrusted input: a line never grows past its
 * maximum, and a silent peer never blocks a reader past its timeout.
 */
#ifndef TERN_LINEIO_H
#define TERN_LINEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lineio_result {
	LINEIO_OK,	/* a line: *line_r, *len_r (terminator not included) */
	LINEIO_EOF,	/* the peer closed; a partial last line is dropped */
	LINEIO_TOOLONG,	/* a line passed max: the rest of it was skipped */
	LINEIO_TIMEOUT,	/* nothing complete within the timeout */
	LINEIO_ERR,	/* read error, errno set */
};

struct lineio {
	int	 fd;
	size_t	 max;		/* line bytes, terminator excluded */
	int	 timeout_ms;	/* per read_line call; <0: none */
	uint8_t	*buf;
	size_t	 cap;		/* max + 2 (CRLF) */
	size_t	 start, end;	/* unread bytes are buf[start..end) */
	bool	 skipping;	/* in the tail of a too-long line */
	bool	 eof;
	void	(*wait_hook)(void *);	/* before waiting for the peer */
	void	*wait_arg;
};

/* lineio_init -- read lines of at most max bytes from fd. */
void	lineio_init(struct lineio *, int fd, size_t max, int timeout_ms);
void	lineio_free(struct lineio *);

/*
 * lineio_read -- the next line, ended by LF (a CR before it is removed
 * too; *crlf_r, when not NULL, says whether it was there).  The line is
 * valid until the next call.  Never allocates after init.
 */
enum lineio_result lineio_read(struct lineio *, const char **line_r,
	    size_t *len_r, bool *crlf_r);

enum lineio_end {
	LINEIO_END_NONE,	/* a piece of a longer line; more follows */
	LINEIO_END_LF,		/* the line ended in a bare LF */
	LINEIO_END_CRLF,	/* the line ended in CR LF */
};

/*
 * lineio_read_part -- like lineio_read, but a line longer than max is
 * returned in pieces of at most max bytes instead of being skipped: for
 * message content, where nothing may be lost.  *end_r tells how the piece
 * ended.  A CR at the end of a piece is held back, so that a CR LF is
 * never split across two pieces.  Pieces of a last line that never ends
 * may have been returned before LINEIO_EOF.  Requires max >= 2.
 */
enum lineio_result lineio_read_part(struct lineio *, const char **piece_r,
	    size_t *len_r, enum lineio_end *end_r);

/*
 * lineio_read_raw -- up to want bytes as they come (at least one, unless
 * the result is not LINEIO_OK): for counted data such as BDAT chunks.
 * Bytes already buffered are returned first.
 */
enum lineio_result lineio_read_raw(struct lineio *, size_t want,
	    const char **data_r, size_t *len_r);

/*
 * lineio_set_wait_hook -- call fn(arg) whenever the reader is about to
 * wait for the peer because nothing more has arrived: smtpd sends its
 * buffered replies there, which is exactly when a pipelining client may
 * be waiting for them (RFC 2920).  fn NULL removes the hook.
 */
void	lineio_set_wait_hook(struct lineio *, void (*fn)(void *), void *arg);

/* lineio_pending -- bytes read from fd but not yet returned as lines. */
size_t	lineio_pending(const struct lineio *);

/* lineio_discard -- forget those bytes (returns how many there were). */
size_t	lineio_discard(struct lineio *);
/*
 * lineio_set_fd -- read from another descriptor from now on (smtpd after
 * the STARTTLS hand-off).  Bytes still buffered are discarded; limits,
 * timeout and wait hook stay.
 */
void	lineio_set_fd(struct lineio *, int fd);

/*
 * lineio_write_all -- write all len bytes at p to fd, through EINTR and
 * short writes (at most 1 MiB per write).  Returns 0, or -1 with errno
 * set (EIO when write returned 0).
 */
int	lineio_write_all(int fd, const void *p, size_t len);

#endif
