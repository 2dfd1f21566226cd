/*
 * SPDX-License-Identifier: ISC
 *
 * buf.h -- growable byte buffer with a hard maximum (base layer).
 *
 * Nothing is ever silently truncated: an append that would pass max fails
 * and leaves the buffer as it was.  The data is always followed by a NUL
 * byte that len does not count, so text can be used as a C string.
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 len;		/* bytes in use */
	size_t	 cap;		/* bytes allocated, NUL included */
	size_t	 max;		/* hard cap on len */
};

/* buf_init -- an empty buffer that may hold at most max bytes. */
void	buf_init(struct buf *, size_t max);
/* buf_add -- append n bytes: 0, or -1 (buffer unchanged) past max. */
int	buf_add(struct buf *, const void *, size_t n);
/* buf_addstr -- append a C string: as buf_add. */
int	buf_addstr(struct buf *, const char *);
/* buf_addf -- append formatted text: as buf_add. */
int	buf_addf(struct buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vaddf(struct buf *, const char *fmt, va_list)
	    __attribute__((format(printf, 2, 0)));
/* buf_consume -- drop the first n bytes (n <= len, else bug()). */
void	buf_consume(struct buf *, size_t n);
/* buf_truncate -- keep the first n bytes (n <= len, else bug()). */
void	buf_truncate(struct buf *, size_t n);
/* buf_cstr -- the contents as a C string ("" when empty); NUL not counted. */
const char *buf_cstr(struct buf *);
/* buf_reset -- empty the buffer, keeping its memory. */
void	buf_reset(struct buf *);
/* buf_clear -- wipe (explicit_bzero) and free; the buffer is empty after. */
void	buf_clear(struct buf *);

#endif
