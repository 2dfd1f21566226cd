/*
 * SPDX-License-Identifier: ISC
 *
 * conf.h -- tern.conf: the parameter table, parsing and typed access
 * (base layer).
 *
 * Syntax: "name = value" lines; '#' starts a comment line; a line that
 * starts with white space continues the previous one; $name and ${name}
 * expand to another parameter's value (loops are an error; an undefined
 * name expands to nothing, with a warning; "$$" is a literal "$"); lists
 * are separated by commas and/or white space.  The table conf_params[] is
 * the single source of names, types, defaults, checks and the one-line
 * descriptions that ternctl config and tern.conf(5) print.
 */
#ifndef TERN_CONF_H
#define TERN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_FILE_MAX	(1024 * 1024)	/* bytes in tern.conf */
#define CONF_LINE_MAX	(64 * 1024)	/* bytes in one logical line */
#define CONF_NAME_MAX	64		/* bytes in a parameter name */
#define CONF_VALUE_MAX	(64 * 1024)	/* bytes in a value, expanded */
#define CONF_EXPAND_DEPTH 16		/* nested $name levels */

enum conf_type {
	CONF_STR,	/* any text */
	CONF_INT,	/* decimal integer, int64 */
	CONF_BOOL,	/* yes/no (also true/false, on/off, 1/0) */
	CONF_TIME,	/* integer with optional unit s, m, h, d, w; seconds */
	CONF_SIZE,	/* integer with optional unit k, m, g (x1024); bytes */
	CONF_LIST,	/* comma and/or white space separated words */
	CONF_PATH,	/* absolute path name */
};

struct buf;
struct conf;

/*
 * A validator checks an expanded value the type check accepted.  It returns
 * 0, or -1 with *err_r set to a static string explaining why.
 */
typedef int	(*conf_check_fn)(const char *value, const char **err_r);

/*
 * A dynamic default: for defaults that depend on the machine (myhostname).
 * Writes into buf (size sz); returns 0 or -1 (then the static default).
 */
typedef int	(*conf_default_fn)(char *buf, size_t sz);

struct conf_param {
	const char	*name;
	enum conf_type	 type;
	const char	*def;		/* default, may use $name */
	conf_default_fn	 def_fn;	/* or NULL */
	int64_t		 min, max;	/* numeric types: bounds (0,0: none) */
	conf_check_fn	 check;		/* or NULL */
	const char	*desc;		/* one line for docs and ternctl */
};

/* The table, ended by an entry with a NULL name. */
extern const struct conf_param conf_params[];

enum conf_sev { CONF_WARNING, CONF_ERROR };

/*
 * Diagnostics go to a caller-supplied function so that ternctl check can
 * print every problem and daemons can log them.  file may be NULL for
 * values not from a file (defaults, -o overrides); line is 0 then.
 * param may be NULL for syntax errors outside a parameter.
 */
typedef void	(*conf_diag_fn)(void *arg, enum conf_sev, const char *file,
		    unsigned line, const char *param, const char *msg);

/*
 * conf_new -- a configuration holding every parameter at its default.
 * diag may be NULL (diagnostics are then dropped).
 */
struct conf *conf_new(conf_diag_fn diag, void *arg);
void	conf_free(struct conf **);

/*
 * conf_parse -- parse len bytes of tern.conf text named fname.  Pure
 * (never logs or exits): reports through diag.  Unknown parameter:
 * warning naming the nearest known one (kept, usable via conf_get so
 * that $name can refer to it).  Returns the number of errors (0 = ok).
 */
int	conf_parse(struct conf *, const char *fname, const char *text,
	    size_t len);

/*
 * conf_load -- read path (at most CONF_FILE_MAX bytes) and conf_parse()
 * it.  A missing file is an error.  Returns the number of errors, or -1
 * when the file could not be read (reported through diag).
 */
int	conf_load(struct conf *, const char *path);

/*
 * conf_set -- set a value as if from "name = value" (for -o overrides).
 * Returns 0, or -1 after reporting through diag.
 */
int	conf_set(struct conf *, const char *name, const char *value);

/*
 * conf_finish -- expand every value and check it against its type and
 * validator, reporting each problem through diag (with file and line of
 * the definition).  Returns the number of errors.  Call once after the
 * last conf_parse/conf_set; the getters below need it.  A value that fails
 * (bad syntax, loop, too long, type or validator) is replaced by its
 * default, and a $name expands to that replacement: even when errors were
 * reported, every getter returns a value that passes its checks.  Calling
 * it again recomputes everything; strings returned before are then freed.
 */
int	conf_finish(struct conf *);

/*
 * Getters: the expanded, checked value.  A name not in conf_params[] or a
 * type mismatch is a programming error: bug(), and so is a call before
 * conf_finish.  The strings belong to conf.  conf_str serves CONF_STR and
 * CONF_PATH parameters.
 */
const char *conf_str(const struct conf *, const char *name);
int64_t	conf_int(const struct conf *, const char *name);
bool	conf_bool(const struct conf *, const char *name);
int64_t	conf_time(const struct conf *, const char *name);	/* seconds */
int64_t	conf_size(const struct conf *, const char *name);	/* bytes */
/* conf_list -- the words of a list value; *n_r gets their number. */
const char *const *conf_list(const struct conf *, const char *name,
	    size_t *n_r);

/*
 * conf_get -- the expanded value of any parameter, also unknown ones
 * defined in the file, or NULL when not defined (or before conf_finish).
 * Does not bug().
 */
const char *conf_get(const struct conf *, const char *name);

/* conf_is_default -- true when name was not set by the file or conf_set. */
bool	conf_is_default(const struct conf *, const char *name);

/*
 * conf_edit -- tern.conf text (len bytes) with names[i] set to values[i]
 * for each i < n, into out (reset first; out's max bounds the result).
 * The definition of a name that is in effect (the last one) is replaced
 * in place, with its continuation lines, by one line "name = value"
 * ("name =" when the value is empty); a name not defined is appended at
 * the end, in the order given, after a newline if the text lacks its
 * last one.  Every other byte is kept: comments, blank lines, earlier
 * definitions of the same name, and lines that do not parse.  Lines are
 * grouped as conf_parse groups them.  The names must be distinct and the
 * values hold no line break; neither is checked.  Returns 0, or -1 when
 * the result does not fit out.  Pure: never logs or exits.
 */
int	conf_edit(const char *text, size_t len, const char *const *names,
	    const char *const *values, size_t n, struct buf *out);

/* conf_param_find -- the table entry for name, or NULL. */
const struct conf_param *conf_param_find(const char *name);

/*
 * conf_nearest -- the known name closest to name (edit distance), or NULL
 * when none is within 1 (names under 5 bytes), 2 (under 12) or 3 edits.
 */
const char *conf_nearest(const char *name);

/* conf_type_name -- "string", "integer", ... for documentation. */
const char *conf_type_name(enum conf_type);

/*
 * Pure value parsers used by conf_finish, exported for other parsers.
 * Each returns 0 and fills *out, or -1 with *err_r set to a static string.
 */
int	conf_parse_bool(const char *s, bool *out, const char **err_r);
int	conf_parse_int(const char *s, int64_t *out, const char **err_r);
int	conf_parse_time(const char *s, int64_t *out, const char **err_r);
int	conf_parse_size(const char *s, int64_t *out, const char **err_r);

#endif
