/*
 * SPDX-License-Identifier: ISC
 *
 * alias.h -- aliases(5) targets and their expansion, for the local
 * delivery agent (mail layer: may use base modules and map.h, never the
 * reverse).
 *
 * A target list is what follows "name:" in an aliases source (map_source
 * keeps it as one string) or the text of an :include: file.  Targets are
 * separated by commas (and, in an :include: file, by line ends; there a
 * line whose first non-blank byte is '#' is a comment).  White space
 * around a target is dropped.  A target written wholly in double quotes
 * is unquoted (inside, a backslash makes the next byte literal), so that
 * "|/usr/bin/prog -a, -b" may hold commas and spaces.  Each target is:
 *
 *   |command       ALIAS_T_COMMAND  run /bin/sh -c command, the message
 *                                   on standard input
 *   :include:/path ALIAS_T_INCLUDE  read more targets from /path
 *   /path          ALIAS_T_FILE     append to a file (a trailing '/':
 *                                   a Maildir)
 *   \name          ALIAS_T_MAILBOX  name's own mailbox, never looked up
 *                                   again (aliases(5): "user: \user, x")
 *   local@domain   ALIAS_T_ADDR     an address: local (looked up again)
 *                                   or remote (forwarded), as the
 *                                   caller's local_domain() says
 *   name           ALIAS_T_NAME     a local name, looked up again
 *
 * Expansion (alias_expand) follows names through the alias tables and
 * :include: files to a list of final targets: mailboxes, commands, files
 * and remote addresses, each with the rights it runs with (the owner of
 * the table or of the :include: file; root-owned ones give the default
 * rights, ALIAS_OWNER_DEFAULT).  Rules:
 *
 *   - Names are compared case-insensitively (ASCII), as map keys are.
 *     With a recipient_delimiter, "user+ext" is looked up first, then
 *     "user"; a mailbox target is always the name without extension.
 *   - A name that expands to itself means its own mailbox ("user: user,
 *     other").  A name met again while it is being expanded (a -> b ->
 *     a), or an :include: file that includes itself, is a loop:
 *     ALIAS_FAIL.  A name reached twice by different branches is
 *     delivered once: final targets are deduplicated.
 *   - Bounded: ALIAS_DEPTH_MAX nested names and files, ALIAS_TARGETS_MAX
 *     final targets, ALIAS_STEPS_MAX targets looked at in all.
 *   - A table that cannot answer, an :include: file that cannot be read
 *     and a target that does not parse are ALIAS_TEMPFAIL (the
 *     administrator can fix them; the mail waits); loops, limits and an
 *     expansion to nothing are ALIAS_FAIL.
 *
 * Process:  the local delivery agent (root parent).  The parser is pure
 *           and bounded (fuzzed: fuzz_alias); the expansion does no I/O of
 *           its own: tables and files are read through the caller's
 *           callbacks (the :include: one reads as the owner, in a child).
 * Input:    alias tables (administrator) and :include: files (their
 *           owners, who may be any user): untrusted text.
 * Failure:  status and a one-line reason; never logs, never exits;
 *           allocates with xmem.
 */
#ifndef TERN_ALIAS_H
#define TERN_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALIAS_TARGET_MAX	4096	/* bytes of one target */
#define ALIAS_NAME_MAX		256	/* bytes of a name (MAP_KEY_MAX) */
#define ALIAS_DEPTH_MAX		20	/* nested names and :include: files */
#define ALIAS_TARGETS_MAX	1000	/* final targets of one expansion */
#define ALIAS_STEPS_MAX		10000	/* targets looked at in one expansion */
#define ALIAS_INCLUDE_MAX	(1024 * 1024)	/* bytes of an :include: file */
#define ALIAS_ERR_MAX		256	/* reason buffers */

#define ALIAS_OWNER_DEFAULT	((int64_t)-1)	/* the default rights */

/* alias_parse flags */
#define ALIAS_P_FILE		0x01	/* an :include: file: lines, '#' */

enum alias_type {
	ALIAS_T_NAME,
	ALIAS_T_MAILBOX,
	ALIAS_T_ADDR,
	ALIAS_T_INCLUDE,
	ALIAS_T_COMMAND,
	ALIAS_T_FILE,
};

/* One parsed target: text without its marker ('|', ":include:", '\'). */
struct alias_item {
	enum alias_type	 type;
	char		*text;
};

struct alias_list {
	struct alias_item *v;
	size_t		 n, cap;
};

/*
 * A final target.  type is ALIAS_T_MAILBOX (text: a user name, folded,
 * without extension), ALIAS_T_COMMAND, ALIAS_T_FILE or ALIAS_T_ADDR (a
 * remote address).  owner is the uid whose rights a command or file
 * delivery takes, or ALIAS_OWNER_DEFAULT.  via is the alias name that
 * produced it (folded).  include: it came from an :include: file.
 */
struct alias_target {
	enum alias_type	 type;
	char		*text;
	char		*via;
	int64_t		 owner;
	bool		 include;
};

struct alias_expansion {
	struct alias_target *v;
	size_t		 n, cap;
	size_t		 steps;			/* work done so far */
	bool		 loop;			/* FAIL: a loop or too deep */
	char		 err[ALIAS_ERR_MAX];	/* with TEMPFAIL and FAIL */
};

enum alias_status {
	ALIAS_OK,		/* v[0..n) are the targets, n >= 1 */
	ALIAS_NOTFOUND,		/* the name has no alias: its mailbox */
	ALIAS_TEMPFAIL,		/* try later; err says why */
	ALIAS_FAIL,		/* permanent; err says why */
};

/* Lookups answer as map_lookup does. */
enum alias_lookup {
	ALIAS_L_FOUND,
	ALIAS_L_NOTFOUND,
	ALIAS_L_TEMPFAIL,
};

struct alias_ops {
	/*
	 * Look name (folded) up in the alias tables: FOUND copies the
	 * value (NUL-terminated, at most sz) and sets *owner_r to the
	 * table's owner uid (0 or ALIAS_OWNER_DEFAULT for none); TEMPFAIL
	 * copies the reason to err (size ALIAS_ERR_MAX).
	 */
	enum alias_lookup (*lookup)(void *arg, const char *name, char *value,
	    size_t sz, int64_t *owner_r, char *err);
	/*
	 * Read the :include: file path with the rights of owner: 0 with a
	 * malloc'd *text_r (at most ALIAS_INCLUDE_MAX bytes, *len_r) and
	 * *owner_r the file's owner uid; or -1 with err set.
	 */
	int	(*include)(void *arg, const char *path, int64_t owner,
		    char **text_r, size_t *len_r, int64_t *owner_r, char *err);
	/* true when domain is one of ours (mydestination). */
	bool	(*local_domain)(void *arg, const char *domain);
	void	*arg;
	const char *delim;	/* recipient_delimiter; "" or NULL: none */
};

void	alias_list_init(struct alias_list *);
void	alias_list_clear(struct alias_list *);

/*
 * alias_parse -- parse len bytes of text (a table value, or with
 * ALIAS_P_FILE an :include: file) into list, which it appends to.
 * Returns 0, or -1 with the first problem in err (ALIAS_ERR_MAX bytes):
 * a NUL or control byte, an unterminated quote, a target longer than
 * ALIAS_TARGET_MAX, an empty command, a relative :include: path, "\"
 * without a name.  Pure: never logs or exits; allocates.
 */
int	alias_parse(struct alias_list *, const char *text, size_t len,
	    unsigned flags, char *err);

void	alias_expansion_init(struct alias_expansion *);
void	alias_expansion_clear(struct alias_expansion *);

/*
 * alias_expand -- expand the local name (a recipient's local part, with
 * any extension) into out (empty) as described above.
 */
enum alias_status alias_expand(const struct alias_ops *, const char *name,
	    struct alias_expansion *out);

/*
 * alias_base -- copy name folded to lower case into buf (size sz), cut at
 * the first byte of delim (when delim is non-empty); *ext_r (may be NULL)
 * gets the offset in name of the extension (after the delimiter), or 0
 * when there is none.  Returns -1 when it does not fit, else 0.  Pure.
 */
int	alias_base(const char *name, const char *delim, char *buf, size_t sz,
	    size_t *ext_r);

/* alias_type_name -- "command", "file", ... for logs and tests. */
const char *alias_type_name(enum alias_type);

#endif
