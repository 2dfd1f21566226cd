/*
 * SPDX-License-Identifier: ISC
 *
 * map.h -- lookup tables for alias_maps, virtual_mailbox_maps,
 * transport_maps and the like (mail layer: may use base modules, never
 * the reverse).
 *
 * A table is named as in tern.conf:
 *
 *   lmdb:/etc/tern/virtual   the file /etc/tern/virtual.lmdb, which
 *                            "ternctl map build /etc/tern/virtual" makes
 *                            from the text file /etc/tern/virtual
 *   inline:{ k1=v1, k2=v2 }  a small table written in place; elements are
 *                            separated by commas and/or white space, and
 *                            an element in braces may hold both:
 *                            inline:{ { k = a, b }, k2=v2 }
 *   static:value             every key finds value; static:{ a b } may
 *                            hold white space
 *
 * Keys are case-folded: ASCII letters are stored and looked up in lower
 * case, every other byte as it is (no locale), as Postfix does for its
 * fixed-string tables.  Values are kept as written.
 *
 * Text sources, compiled by map_build():
 *
 *   MAP_TABLE    postmap(1) style: "key value" (white space between).
 *   MAP_ALIASES  aliases(5) style: "name: value, value, ...".  The value is
 *                the text after the colon, trimmed; it is not split here.
 *                An unquoted name may not hold "@" (aliases are local
 *                names: quote a name that really holds one).
 *
 * In both: a line whose first non-blank byte is "#" is a comment, and so
 * is a blank line, also in the middle of a continued entry; a line that
 * starts with white space continues the entry above (joined with one
 * space); "#" elsewhere is an ordinary byte.  A key or name may be quoted,
 * "like this", to hold white space, ":" or "#"; inside the quotes a
 * backslash makes the next byte literal (\" and \\).  The key stored is
 * the text inside the quotes.  Control bytes (other than tab, and a CR
 * before the newline) and NUL are errors; 8-bit bytes are kept.  A key
 * given twice is an error naming both lines.  Every problem is reported
 * with file and line, and a source with any error builds nothing.
 *
 * The .lmdb file is a single-file LMDB environment (MDB_NOSUBDIR) that is
 * never written after it is renamed into place: readers open it without
 * the LMDB lock file (MDB_NOLOCK), so they need no write access to its
 * directory.  It holds one record of its own, under a key that starts
 * with a NUL byte (no real key can), naming the format, so that a
 * Postfix-built .lmdb file (different key encoding) is refused instead of
 * silently finding nothing.
 *
 * A struct map is not shared across fork(): open it in the process that
 * uses it.
 */
#ifndef TERN_MAP_H
#define TERN_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define MAP_FILE_MAX	(64 * 1024 * 1024)	/* bytes of a source file */
#define MAP_LINE_MAX	(64 * 1024)	/* bytes of an entry, continued */
#define MAP_KEY_MAX	256	/* bytes of a key (a mail path is <= 256) */
#define MAP_VALUE_MAX	(32 * 1024)	/* bytes of a value */
#define MAP_ENTRIES_MAX	1000000	/* entries in one table */
#define MAP_NAME_MAX	(64 * 1024)	/* bytes of a map name (inline:) */
#define MAP_DIAG_MAX	100	/* problems reported before giving up */
#define MAP_ERR_MAX	512	/* a good size for error buffers */

enum map_format {
	MAP_TABLE,		/* postmap(1) style */
	MAP_ALIASES,		/* aliases(5) style */
};

enum map_result {
	MAP_FOUND,		/* the value was copied out */
	MAP_NOTFOUND,		/* no such key: a definite answer */
	MAP_TEMPFAIL,		/* no answer now (I/O, bad file, value too
				 * big for the buffer): defer, try later */
};

struct map_entry {
	char		*key;		/* folded, NUL-terminated */
	char		*value;
	size_t		 klen, vlen;
	unsigned	 line;		/* where it starts; 0 for inline: */
};

/* Parsed entries: sorted by key (strcmp order) after a good parse. */
struct map_source {
	struct map_entry *ents;
	size_t		 n, cap;
};

/*
 * A problem in a source: file and line (line 0: the file as a whole).
 * msg quotes source text only through log_safe().
 */
typedef void	(*map_diag_fn)(void *arg, const char *file, unsigned line,
		    const char *msg);

struct map;

void	map_source_init(struct map_source *);
void	map_source_clear(struct map_source *);

/*
 * map_parse -- parse len bytes of source text named fname into src (which
 * must be empty) and sort it.  Pure: never logs or exits, allocates
 * (xmem).  Reports each problem through diag (may be NULL), at most
 * MAP_DIAG_MAX, then one "too many errors" and stops.  Returns the number
 * of errors (0 = ok); after errors src holds what was read.
 */
int	map_parse(struct map_source *src, enum map_format, const char *fname,
	    const char *text, size_t len, map_diag_fn diag, void *arg);

/*
 * map_parse_inline -- the part of an inline: map name after "inline:",
 * such as "{ a=1, b=2 }", into src (empty), sorted.  Returns 0, or -1
 * with the first problem in err (size errsz).  Pure, as map_parse.
 */
int	map_parse_inline(struct map_source *src, const char *text,
	    char *err, size_t errsz);

/* map_fold -- fold the ASCII letters of the n bytes at s to lower case. */
void	map_fold(char *s, size_t n);

/*
 * map_build -- compile the text file source (MAP_FILE_MAX bytes at most)
 * into source.lmdb.  The source is parsed in full first; on any error
 * nothing is written.  Then source.lmdb.tmp is written (a fresh LMDB
 * environment sized from the data), fsync'd, renamed over source.lmdb and
 * the directory fsync'd: a reader opens the old table or the new one,
 * never a part of one.  Two builds of one source run one after the other
 * (flock on the source).  The table gets mode 0600 plus the source's
 * group and other read bits, as with postmap(1); run as root, it also
 * gets the source's owner and group (otherwise the group when the caller
 * may give it).  Problems go to diag (may be NULL); *entries_r (may be
 * NULL) gets the number of entries written.  Returns the number of
 * errors: 0 = built.  Never exits, except on memory exhaustion.
 */
int	map_build(const char *source, enum map_format, map_diag_fn diag,
	    void *arg, size_t *entries_r);

/*
 * map_open -- open the table named name (lmdb:, inline:, static:).
 * Returns 0 with *map_r set, or -1 with the reason in err (size errsz),
 * such as a missing file, an unknown type or an inline: syntax error.
 * Never logs or exits.
 */
int	map_open(const char *name, struct map **map_r, char *err,
	    size_t errsz);

/*
 * map_lookup -- look key up (folded, see above) and copy its value, NUL
 * terminated, to value (size sz).  A key longer than MAP_KEY_MAX or empty
 * is not found.  MAP_TEMPFAIL: map_error() says why; the caller should
 * defer, never bounce.  An lmdb: table notices when its file was replaced
 * (a rebuild) and opens the new one; while that fails it keeps answering
 * from the old one.  Never logs or exits.
 */
enum map_result map_lookup(struct map *, const char *key, char *value,
	    size_t sz);

/* map_error -- why the last map_lookup said MAP_TEMPFAIL. */
const char *map_error(const struct map *);

/* map_name -- the name given to map_open. */
const char *map_name(const struct map *);

/* map_close -- free the map and NULL *mapp; NULL is fine. */
void	map_close(struct map **mapp);

#endif
