/*
 * SPDX-License-Identifier: ISC
 *
 * attr.h -- typed, length-prefixed attribute messages for IPC between Tern
 * processes (base layer).
 *
 * Wire format of one message (all integers big-endian):
 *
 *   u32 body length (<= ATTR_MSG_MAX), then the body: attributes, each
 *     u8  type (ATTR_T_STR, ATTR_T_INT, ATTR_T_DATA)
 *     u8  name length (1..ATTR_NAME_MAX), name bytes [a-z0-9_]
 *     u32 value length, value bytes
 *         STR:  0..ATTR_STR_MAX bytes, no NUL byte
 *         INT:  exactly 8 bytes, two's complement int64
 *         DATA: 0..ATTR_MSG_MAX bytes, any
 *
 * At most ATTR_MAX_ATTRS attributes; a name appears at most once.  The
 * decoder is pure and bounded and has a fuzz harness.  File descriptors
 * travel beside a message with fdpass.h.
 */
#ifndef TERN_ATTR_H
#define TERN_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define ATTR_MSG_MAX	(256 * 1024)	/* body bytes */
#define ATTR_NAME_MAX	32
#define ATTR_STR_MAX	(64 * 1024)
#define ATTR_MAX_ATTRS	64

enum attr_type { ATTR_T_END = 0, ATTR_T_STR = 1, ATTR_T_INT = 2, ATTR_T_DATA = 3 };

struct attr {
	enum attr_type	 type;
	char		 name[ATTR_NAME_MAX + 1];
	const uint8_t	*val;		/* points into the decoded body */
	size_t		 len;		/* STR and DATA */
	int64_t		 num;		/* INT */
};

/* A decoded message; attrs point into body, which it owns. */
struct attr_msg {
	struct attr	 attrs[ATTR_MAX_ATTRS];
	size_t		 n;
	struct buf	 body;
};

enum attr_result { ATTR_OK = 0, ATTR_MORE = 1, ATTR_ERR = -1 };

/*
 * attr_decode -- decode one body (without its u32 length prefix) into
 * *msg, which must have been attr_msg_init()ed.  Copies the body.  Pure.
 * Returns ATTR_OK, or ATTR_ERR with *err_r set to a static string.
 */
enum attr_result attr_decode(const uint8_t *body, size_t len,
	    struct attr_msg *msg, const char **err_r);

/*
 * attr_frame -- given the first len bytes received, is a whole message
 * there?  ATTR_OK with *total_r = prefix + body length, ATTR_MORE when
 * more bytes are needed, ATTR_ERR (*err_r) when the prefix is over
 * ATTR_MSG_MAX.  Pure.
 */
enum attr_result attr_frame(const uint8_t *in, size_t len, size_t *total_r,
	    const char **err_r);

void	attr_msg_init(struct attr_msg *);
void	attr_msg_clear(struct attr_msg *);

/*
 * Building a message: attr_put_* append to out (a whole message, length
 * prefix included, kept up to date).  -1 when a limit would be passed
 * (name syntax, value size, count, ATTR_MSG_MAX); out is unchanged then.
 */
void	attr_out_init(struct buf *out);
/* attr_out_reset -- start the next message in a buffer attr_out_init
 * made (keeps its memory; attr_out_init would leak it). */
void	attr_out_reset(struct buf *out);
int	attr_put_str(struct buf *out, const char *name, const char *val);
int	attr_put_int(struct buf *out, const char *name, int64_t val);
int	attr_put_data(struct buf *out, const char *name, const void *val,
	    size_t len);

/*
 * Lookups in a decoded message.  attr_get_str copies the value into buf
 * (size sz, NUL-terminated): -1 when missing, of another type or too long.
 */
const struct attr *attr_find(const struct attr_msg *, const char *name);
int	attr_get_str(const struct attr_msg *, const char *name, char *buf,
	    size_t sz);
int	attr_get_int(const struct attr_msg *, const char *name, int64_t *out);

/*
 * Blocking I/O on a stream socket with a timeout in milliseconds (<0: none).
 * attr_write writes the whole message built with attr_put_*.
 * attr_read reads exactly one message and decodes it.
 * Both return 0, or -1 with *err_r set ("timeout", "connection closed",
 * "message too large", a decode error, or strerror(errno)).
 */
int	attr_write(int fd, const struct buf *out, int timeout_ms,
	    const char **err_r);
int	attr_read(int fd, struct attr_msg *msg, int timeout_ms,
	    const char **err_r);

/*
 * attr_expect -- attr_read one answer into msg and check its "status":
 * 0 when it is want; else -1 with why (whysz bytes) set to the answer's
 * "text", or "PEER: status S", "PEER: answer without status", "PEER:
 * " and attr_read's error.  Services answer this way (tlsproxy).
 */
int	attr_expect(int fd, struct attr_msg *msg, int timeout_ms,
	    const char *want, const char *peer, char *why, size_t whysz);

#endif
