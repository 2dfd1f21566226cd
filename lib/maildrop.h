/*
 * SPDX-License-Identifier: ISC
 *
 * maildrop.h -- maildrop files: what sendmail(1) hands to terndrop and
 * terndrop leaves in queue_directory/maildrop/ for pickup; and the
 * recipients of "sendmail -t", taken from a message's header section
 * (mail layer: uses addr; base modules, never the reverse).
 *
 * Format (docs/queue-file.md, "Maildrop files"):
 *
 *   TERNDROP1 LF
 *   S sender LF            exactly one; "S" alone is the null sender <>
 *   N full name LF         at most one (sendmail -F)
 *   R recipient LF         1..MAILDROP_RCPT_MAX
 *   L content-length LF    exactly one, last: decimal, no leading zero
 *   content                exactly content-length bytes, then the end
 *
 * The letter and the value are separated by one space ("S " for <>).
 * Values hold no control character (below 0x20, or 0x7f); addresses are
 * an RFC 5321 mailbox without angle brackets (UTF-8 allowed) or a bare
 * local part, checked by maildrop_addr_ok().  Lines come in the order
 * above, nothing else is accepted.  Who submitted a file is never in it:
 * it is the file's owner.
 *
 * Everything here is pure: never logs, never exits; it allocates only
 * through xmem (recipient lists).  Both parsers read only the bytes they
 * are given and stop at their limits; each has tests/fuzz/fuzz_maildrop.c.
 */
#ifndef TERN_MAILDROP_H
#define TERN_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

#define MAILDROP_MAGIC		"TERNDROP1"
#define MAILDROP_ADDR_MAX	512	/* as QFILE_ADDR_MAX */
#define MAILDROP_NAME_MAX	100	/* sendmail -F full name, bytes */
#define MAILDROP_RCPT_MAX	10000	/* recipients of one submission */
/* Every byte a file may hold besides its content. */
#define MAILDROP_ENVELOPE_MAX	(16 + (MAILDROP_ADDR_MAX + 3) + \
	(MAILDROP_NAME_MAX + 3) + (size_t)MAILDROP_RCPT_MAX * \
	(MAILDROP_ADDR_MAX + 3) + 24)
/* The content when message_size_limit is 0 (no limit): still bounded. */
#define MAILDROP_CONTENT_HARD_MAX	((uint64_t)1 << 30)

/* A list of addresses (xmem strings). */
struct maildrop_list {
	char	**v;
	size_t	 n, cap;
};

void	maildrop_list_init(struct maildrop_list *);
void	maildrop_list_clear(struct maildrop_list *);
/*
 * maildrop_list_add -- append a copy of s[0..len) unless the list holds
 * it already (exact bytes).  Returns 0, or -1 past MAILDROP_RCPT_MAX.
 */
int	maildrop_list_add(struct maildrop_list *, const char *s, size_t len);

/* A parsed file.  Pointers point into the parsed bytes. */
struct maildrop {
	char		 sender[MAILDROP_ADDR_MAX + 1];	/* "" for <> */
	char		 fullname[MAILDROP_NAME_MAX + 1];	/* "" if none */
	struct maildrop_list rcpts;
	const uint8_t	*content;
	size_t		 content_len;
};

/*
 * maildrop_addr_ok -- whether s[0..len) may be a sender (sender: empty
 * allowed) or recipient in a maildrop file: a mailbox "local@domain" as
 * RFC 5321 paths have it (UTF-8 allowed, no angle brackets), or a local
 * part alone (then of this host), at most MAILDROP_ADDR_MAX bytes.
 */
bool	maildrop_addr_ok(const char *s, size_t len, bool sender);

/*
 * maildrop_size_max -- the largest file for content_limit (a
 * message_size_limit, 0: none, then MAILDROP_CONTENT_HARD_MAX).
 */
uint64_t maildrop_size_max(uint64_t content_limit);

/*
 * maildrop_parse -- parse a whole file p[0..len).  content_limit: the
 * largest content (0: MAILDROP_CONTENT_HARD_MAX).  Returns 0 with *md
 * filled (free it with maildrop_clear), or -1 with *err_r set to a
 * static reason ("bad magic", "recipient: bad address", ...) and *md
 * empty.
 */
int	maildrop_parse(const uint8_t *p, size_t len, uint64_t content_limit,
	    struct maildrop *md, const char **err_r);
void	maildrop_clear(struct maildrop *);

/*
 * maildrop_write -- append a file to out (whose max bounds it): sender
 * ("" for <>), fullname (NULL or "" for none), the recipients, the
 * content.  Returns 0, or -1 with *err_r set when a value would not
 * parse back (bad address, control character, no recipient, too many)
 * or out is full.  What it writes, maildrop_parse() accepts.
 */
int	maildrop_write(struct buf *out, const char *sender,
	    const char *fullname, const struct maildrop_list *rcpts,
	    const void *content, size_t content_len, const char **err_r);

/*
 * maildrop_parse_alist -- add the addresses of the RFC 5322 address list
 * v[0..n) (a field's value; CR and LF are skipped, as unfolding would)
 * to *rcpts: "a@x, Bee <b@y>, team: c@z;".  Each must pass
 * maildrop_addr_ok().  Returns 0, or -1 with *err_r set.
 */
int	maildrop_parse_alist(const char *v, size_t n,
	    struct maildrop_list *rcpts, const char **err_r);

/*
 * maildrop_extract -- "sendmail -t": add to *rcpts the addresses of the
 * To:, Cc: and Bcc: fields in the header section of msg[0..len) (the
 * lines up to the first empty line, or up to the first line that is not
 * a header field), and append to out the message without its Bcc:
 * fields (continuation lines included), the rest byte for byte.  The
 * header section may hold at most hdr_max bytes.  Address lists follow
 * RFC 5322 3.4: display names, comments (nested at most 16 deep), quoted
 * strings, groups ("team: a@x, b@y;") and angle addresses; an empty
 * group is no address.  Returns 0, or -1 with *err_r set ("header
 * section too long", "bad address in a To: field", "too many
 * recipients", "message too long"): *rcpts may then hold some addresses.
 */
int	maildrop_extract(const uint8_t *msg, size_t len, size_t hdr_max,
	    struct maildrop_list *rcpts, struct buf *out, const char **err_r);

#endif
