/*
 * SPDX-License-Identifier: ISC
 *
 * conf.c -- tern.conf: parsing, $name expansion and typed access.
 *
 * Process:  master and ternctl read the file; every service reads the
 *           same file the same way.
 * Input:    the administrator's text: trusted, but parsed as if hostile
 *           (pure, bounded) so that a stray byte gets one clear message.
 * Failure:  every problem goes to the caller's diag function; only misuse
 *           of the getters (unknown name, wrong type) is a bug().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "xmem.h"

/*
 * Bytes of all set values together after expansion: each value is capped at
 * CONF_VALUE_MAX, but a short file of "xN = $big" lines would otherwise
 * expand to gigabytes.
 */
#define CONF_EXPAND_TOTAL	(16 * 1024 * 1024)
#define MSG_MAX			1024	/* one diagnostic */
#define QUOTE_MAX		100	/* a value quoted in a diagnostic */
#define DEFAULT_FN_MAX		1024	/* the buffer given to def_fn */

enum state {
	ST_NEW,		/* not expanded by this conf_finish yet */
	ST_BUSY,	/* being expanded: meeting it again is a loop */
	ST_DONE,	/* value, num and words are final */
};

struct entry {
	char		*name;
	const struct conf_param *param;	/* NULL: not in the table */
	char		*raw;		/* as set, or NULL: the default */
	const char	*file;		/* of raw: in conf->files, or NULL */
	unsigned	 line;
	bool		 infile;	/* raw came from conf_parse */
	char		*defval;	/* def_fn's answer, asked once */
	bool		 defval_asked;
	/* Filled by conf_finish. */
	enum state	 state;
	unsigned	 level;		/* nested $name levels in value */
	char		*value;
	int64_t		 num;		/* int, bool, time, size */
	char		*wordbuf;	/* list: the words, NUL-separated */
	char		**words;	/* list: NULL-terminated */
	size_t		 nwords;
};

struct conf {
	struct entry	*ents;		/* the table's first, in its order */
	size_t		 nents, entcap;
	size_t		*slots;		/* hash: entry index + 1, 0 = free */
	size_t		 nslots;	/* a power of two */
	char		**files;	/* names given to conf_parse */
	size_t		 nfiles;
	conf_diag_fn	 diag;
	void		*arg;
	bool		 finished;
};

/* State of one conf_parse. */
struct parse {
	struct conf	*conf;
	const char	*file;
	int		 errors;
	bool		 open;		/* a logical line is being collected */
	bool		 bad;		/* ... and already had an error */
	unsigned	 first;		/* its first physical line */
};

/* Where the text being expanded came from, for diagnostics. */
struct src {
	const char	*text;
	const char	*file;
	unsigned	 line;
	enum conf_sev	 sev;		/* of a bad value */
	const char	*what;		/* "" or "default " */
	bool		 literal;	/* no $name expansion */
	bool		 set;		/* from the file or conf_set */
	bool		 quiet;		/* last resort: report nothing */
};

struct frame {
	struct entry	*e;
	const struct src *src;
};

/* State of one conf_finish. */
struct finish {
	struct conf	*conf;
	struct frame	 stack[CONF_EXPAND_DEPTH + 1];
	size_t		 depth;
	bool		 unwinding;	/* a loop: abort frames above ... */
	size_t		 unwind_to;	/* ... this one */
	size_t		 total;		/* bytes of set values expanded */
	bool		 total_hit;
	int		 errors;
};

static void	report(const struct conf *, enum conf_sev, const char *,
		    unsigned, const char *, const char *, ...)
		    __attribute__((format(printf, 6, 7)));
static void	freport(struct finish *, const struct entry *,
		    const struct src *, enum conf_sev, const char *, ...)
		    __attribute__((format(printf, 5, 6)));
static int	resolve(struct finish *, struct entry *);

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static bool
is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static void
report(const struct conf *conf, enum conf_sev sev, const char *file,
    unsigned line, const char *param, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	if (conf->diag == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf->diag(conf->arg, sev, file, line, param, msg);
}

/* Untrusted text for a message: escaped and cut to QUOTE_MAX. */
static const char *
quote(char *buf, size_t sz, const char *s, size_t n)
{
	return log_safe(buf, sz, s, n);
}

/*
 * Entries: an array in definition order plus an open-addressing hash, so
 * that a file of many unknown names stays linear.
 */
static uint64_t
hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct entry *
lookup(const struct conf *conf, const char *name)
{
	size_t i, k, mask = conf->nslots - 1;

	for (i = hash(name) & mask; (k = conf->slots[i]) != 0;
	    i = (i + 1) & mask)
		if (strcmp(conf->ents[k - 1].name, name) == 0)
			return &conf->ents[k - 1];
	return NULL;
}

static void
slot_put(struct conf *conf, size_t idx)
{
	size_t i, mask = conf->nslots - 1;

	for (i = hash(conf->ents[idx].name) & mask; conf->slots[i] != 0;
	    i = (i + 1) & mask)
		;
	conf->slots[i] = idx + 1;
}

static void
rehash(struct conf *conf, size_t nslots)
{
	size_t i;

	free(conf->slots);
	conf->slots = xcalloc(nslots, sizeof(*conf->slots));
	conf->nslots = nslots;
	for (i = 0; i < conf->nents; i++)
		slot_put(conf, i);
}

static struct entry *
add_entry(struct conf *conf, const char *name, const struct conf_param *p)
{
	struct entry *e;

	if (conf->nents == conf->entcap) {
		conf->entcap = conf->entcap == 0 ? 64 : conf->entcap * 2;
		conf->ents = xreallocarray(conf->ents, conf->entcap,
		    sizeof(*conf->ents));
	}
	e = &conf->ents[conf->nents++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	e->param = p;
	/* Keep the load at most one half. */
	if (conf->nents * 2 > conf->nslots)
		rehash(conf, conf->nslots * 2);
	else
		slot_put(conf, conf->nents - 1);
	return e;
}

static void
clear_values(struct entry *e)
{
	free(e->value);
	free(e->wordbuf);
	free(e->words);
	e->value = NULL;
	e->wordbuf = NULL;
	e->words = NULL;
	e->nwords = 0;
	e->num = 0;
	e->level = 0;
	e->state = ST_NEW;
}

struct conf *
conf_new(conf_diag_fn diag, void *arg)
{
	const struct conf_param *p;
	struct conf *conf;

	conf = xcalloc(1, sizeof(*conf));
	conf->diag = diag;
	conf->arg = arg;
	conf->nslots = 128;
	conf->slots = xcalloc(conf->nslots, sizeof(*conf->slots));
	for (p = conf_params; p->name != NULL; p++) {
		if (lookup(conf, p->name) != NULL)
			bug("conf: %s twice in conf_params", p->name);
		add_entry(conf, p->name, p);
	}
	return conf;
}

void
conf_free(struct conf **confp)
{
	struct conf *conf = *confp;
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nents; i++) {
		clear_values(&conf->ents[i]);
		free(conf->ents[i].name);
		free(conf->ents[i].raw);
		free(conf->ents[i].defval);
	}
	for (i = 0; i < conf->nfiles; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->ents);
	free(conf->slots);
	free(conf);
	*confp = NULL;
}

/*
 * Parsing.
 */

static const char *
keep_file(struct conf *conf, const char *fname)
{
	if (fname == NULL)
		return NULL;
	conf->files = xreallocarray(conf->files, conf->nfiles + 1,
	    sizeof(*conf->files));
	conf->files[conf->nfiles] = xstrdup(fname);
	return conf->files[conf->nfiles++];
}

static void
warn_unknown(const struct conf *conf, const char *file, unsigned line,
    const char *name)
{
	const char *near;

	if ((near = conf_nearest(name)) != NULL)
		report(conf, CONF_WARNING, file, line, name,
		    "unknown parameter %s (did you mean %s?)", name, near);
	else
		report(conf, CONF_WARNING, file, line, name,
		    "unknown parameter %s", name);
}

static void
warn_duplicate(const struct conf *conf, const struct entry *e,
    const char *file, unsigned line)
{
	if (e->file != NULL && (file == NULL || strcmp(e->file, file) != 0))
		report(conf, CONF_WARNING, file, line, e->name,
		    "duplicate definition of %s, the one in %s, line %u is "
		    "ignored", e->name, e->file, e->line);
	else
		report(conf, CONF_WARNING, file, line, e->name,
		    "duplicate definition of %s, the one at line %u is ignored",
		    e->name, e->line);
}

/* Set name (already checked) to n bytes of value; the last setting wins. */
static void
store(struct conf *conf, const char *name, const char *value, size_t n,
    const char *file, unsigned line, bool infile)
{
	struct entry *e;

	if ((e = lookup(conf, name)) == NULL) {
		e = add_entry(conf, name, NULL);
		warn_unknown(conf, file, line, name);
	} else if (infile && e->infile)
		warn_duplicate(conf, e, file, line);
	free(e->raw);
	e->raw = xstrndup(value, n);
	e->file = file;
	e->line = line;
	e->infile = infile;
}

/* Returns NULL, or why n bytes at name are not a parameter name. */
static const char *
name_error(const char *name, size_t n)
{
	size_t i;

	if (n == 0)
		return "empty parameter name";
	if (n > CONF_NAME_MAX)
		return "parameter name too long";
	for (i = 0; i < n; i++)
		if (!is_name_char((unsigned char)name[i]))
			return "bad character in parameter name";
	return NULL;
}

/* One logical line: "name = value", both ends already trimmed. */
static void
logical(struct parse *ps, const char *s, size_t len)
{
	char q[QUOTE_MAX], name[CONF_NAME_MAX + 1];
	const char *p = s, *end = s + len, *err;
	size_t n;

	while (p < end && !is_space((unsigned char)*p) && *p != '=')
		p++;
	n = (size_t)(p - s);
	while (p < end && is_space((unsigned char)*p))
		p++;
	if (n == 0) {			/* the line starts with '=' */
		report(ps->conf, CONF_ERROR, ps->file, ps->first, NULL,
		    "empty parameter name");
		ps->errors++;
		return;
	}
	if (p == end || *p != '=') {
		report(ps->conf, CONF_ERROR, ps->file, ps->first, NULL,
		    "missing \"=\" after \"%s\"", quote(q, sizeof(q), s, n));
		ps->errors++;
		return;
	}
	if ((err = name_error(s, n)) != NULL) {
		report(ps->conf, CONF_ERROR, ps->file, ps->first, NULL,
		    "%s \"%s\"", err, quote(q, sizeof(q), s, n));
		ps->errors++;
		return;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	for (p++; p < end && is_space((unsigned char)*p); p++)
		;
	if ((size_t)(end - p) > CONF_VALUE_MAX) {
		report(ps->conf, CONF_ERROR, ps->file, ps->first, name,
		    "value of %s too long (more than %d bytes)", name,
		    CONF_VALUE_MAX);
		ps->errors++;
		return;
	}
	store(ps->conf, name, p, (size_t)(end - p), ps->file, ps->first,
	    true);
}

static void
flush(struct parse *ps, struct buf *lb)
{
	if (ps->open && !ps->bad)
		logical(ps, buf_cstr(lb), lb->len);
	ps->open = false;
	ps->bad = false;
	buf_reset(lb);
}

static void
begin(struct parse *ps, struct buf *lb, unsigned lineno)
{
	flush(ps, lb);
	ps->open = true;
	ps->first = lineno;
}

/*
 * One physical line of n bytes (no newline).  Blank and comment lines are
 * skipped, even inside a continued line, as in Postfix's main.cf.
 */
static void
physical(struct parse *ps, struct buf *lb, const char *p, size_t n,
    unsigned lineno)
{
	size_t i, j;

	if (memchr(p, '\0', n) != NULL) {
		report(ps->conf, CONF_ERROR, ps->file, lineno, NULL,
		    "NUL byte in line");
		ps->errors++;
		if (!is_space((unsigned char)p[0]) || !ps->open)
			begin(ps, lb, lineno);
		ps->bad = true;		/* drop its continuation lines too */
		return;
	}
	for (i = 0; i < n && is_space((unsigned char)p[i]); i++)
		;
	if (i == n || p[i] == '#')
		return;
	for (j = n; j > i && is_space((unsigned char)p[j - 1]); j--)
		;
	if (i == 0)
		begin(ps, lb, lineno);
	else if (!ps->open) {
		report(ps->conf, CONF_ERROR, ps->file, lineno, NULL,
		    "continuation line without a parameter to continue");
		ps->errors++;
		begin(ps, lb, lineno);
		ps->bad = true;
		return;
	}
	if (ps->bad)
		return;
	if ((i > 0 && buf_add(lb, " ", 1) == -1) ||
	    buf_add(lb, p + i, j - i) == -1) {
		report(ps->conf, CONF_ERROR, ps->file, ps->first, NULL,
		    "line too long (more than %d bytes)", CONF_LINE_MAX);
		ps->errors++;
		ps->bad = true;
	}
}

int
conf_parse(struct conf *conf, const char *fname, const char *text,
    size_t len)
{
	struct parse ps;
	struct buf lb;
	const char *cur, *end, *nl;
	unsigned lineno;
	size_t n;

	memset(&ps, 0, sizeof(ps));
	ps.conf = conf;
	ps.file = keep_file(conf, fname);
	if (len > CONF_FILE_MAX) {
		report(conf, CONF_ERROR, ps.file, 0, NULL,
		    "file too large (%zu bytes, at most %d)", len,
		    CONF_FILE_MAX);
		return 1;
	}
	if (len == 0)
		return 0;
	buf_init(&lb, CONF_LINE_MAX);
	for (cur = text, end = text + len, lineno = 1; cur < end; lineno++) {
		nl = memchr(cur, '\n', (size_t)(end - cur));
		n = nl != NULL ? (size_t)(nl - cur) : (size_t)(end - cur);
		physical(&ps, &lb, cur, n, lineno);
		cur += n + (nl != NULL);
	}
	flush(&ps, &lb);
	buf_clear(&lb);
	return ps.errors;
}

int
conf_load(struct conf *conf, const char *path)
{
	size_t len = 0;
	ssize_t n;
	char *text;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		report(conf, CONF_ERROR, path, 0, NULL, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	/* One byte more than allowed, so that conf_parse sees it is too big. */
	text = xmalloc(CONF_FILE_MAX + 1);
	while (len <= CONF_FILE_MAX) {
		n = read(fd, text + len, CONF_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			report(conf, CONF_ERROR, path, 0, NULL,
			    "cannot read: %s", strerror(errno));
			close(fd);
			free(text);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = conf_parse(conf, path, text, len);
	free(text);
	return r;
}

int
conf_set(struct conf *conf, const char *name, const char *value)
{
	char q[QUOTE_MAX];
	const char *err;
	size_t n;

	if ((err = name_error(name, strlen(name))) != NULL) {
		report(conf, CONF_ERROR, NULL, 0, NULL, "%s \"%s\"", err,
		    quote(q, sizeof(q), name, strlen(name)));
		return -1;
	}
	if ((n = strlen(value)) > CONF_VALUE_MAX) {
		report(conf, CONF_ERROR, NULL, 0, name,
		    "value of %s too long (more than %d bytes)", name,
		    CONF_VALUE_MAX);
		return -1;
	}
	store(conf, name, value, n, NULL, 0, false);
	return 0;
}

/*
 * Expansion and checks (conf_finish).
 *
 * Each entry is resolved once, depth first: its candidate texts are tried
 * in order (the set value, def_fn's answer, the table default, "") and the
 * first that expands and passes the checks is its value.  So a $name
 * always expands to a checked value, and the getters never see a bad one.
 */

static void
freport(struct finish *f, const struct entry *e, const struct src *s,
    enum conf_sev sev, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	if (s->quiet)
		return;
	if (sev == CONF_ERROR)
		f->errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(f->conf, sev, s->file, s->line, e->name, "%s", msg);
}

/*
 * A loop: e refers to ref, which is being expanded further down the stack.
 * Blame the outermost value in the loop that was set (defaults do not loop
 * by themselves), report there, and unwind the stack up to it.
 */
static void
loop(struct finish *f, struct entry *ref)
{
	char msg[MSG_MAX];
	size_t i, k, target;

	for (k = 0; f->stack[k].e != ref; k++)
		;
	for (target = k; target < f->depth; target++)
		if (f->stack[target].src->set)
			break;
	if (target == f->depth)
		target = k;
	strlcpy(msg, "", sizeof(msg));
	for (i = k; i < f->depth; i++) {
		strlcat(msg, f->stack[i].e->name, sizeof(msg));
		strlcat(msg, " -> ", sizeof(msg));
	}
	strlcat(msg, ref->name, sizeof(msg));
	freport(f, f->stack[target].e, f->stack[target].src, CONF_ERROR,
	    "expansion loop: %s", msg);
	f->unwinding = true;
	f->unwind_to = target;
}

/* Resolve ref for a $name in e's text s. */
static int
enter(struct finish *f, struct entry *e, const struct src *s,
    struct entry *ref)
{
	if (ref->state == ST_DONE)
		return 0;
	if (ref->state == ST_BUSY) {
		loop(f, ref);
		return -1;
	}
	if (f->depth > CONF_EXPAND_DEPTH) {
		freport(f, e, s, CONF_ERROR,
		    "more than %d nested $name levels", CONF_EXPAND_DEPTH);
		return -1;
	}
	return resolve(f, ref);
}

/*
 * After a '$' that is not "$$": "name" or "{name}" into name (size sz).
 * Returns the end of the reference, or NULL with *err_r set.
 */
static const char *
ref_name(const char *p, char *name, size_t sz, const char **err_r)
{
	bool brace = *p == '{';
	size_t n;

	p += brace;
	for (n = 0; is_name_char((unsigned char)p[n]); n++)
		;
	if (n == 0 && brace) {
		*err_r = "bad parameter name after \"${\"";
		return NULL;
	}
	if (n == 0) {
		*err_r = "\"$\" without a name (use \"$$\" for \"$\")";
		return NULL;
	}
	if (n >= sz) {
		*err_r = "parameter name after \"$\" too long";
		return NULL;
	}
	if (brace && p[n] != '}') {
		*err_r = "missing \"}\" after \"${name\"";
		return NULL;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	return p + n + brace;
}

static int
too_long(struct finish *f, const struct entry *e, const struct src *s)
{
	freport(f, e, s, s->sev, "%svalue of %s too long after expansion "
	    "(more than %d bytes)", s->what, e->name, CONF_VALUE_MAX);
	return -1;
}

/* Expand s->text into b; *level_r gets the deepest nesting. */
static int
expand(struct finish *f, struct entry *e, const struct src *s,
    struct buf *b, unsigned *level_r)
{
	char name[CONF_NAME_MAX + 1];
	const char *p = s->text, *err;
	struct entry *ref;
	size_t n;

	*level_r = 0;
	for (;;) {
		n = strcspn(p, "$");
		if (buf_add(b, p, n) == -1)
			return too_long(f, e, s);
		if (p[n] == '\0')
			return 0;
		p += n + 1;
		if (*p == '$') {
			if (buf_add(b, "$", 1) == -1)
				return too_long(f, e, s);
			p++;
			continue;
		}
		if ((p = ref_name(p, name, sizeof(name), &err)) == NULL) {
			freport(f, e, s, s->sev, "bad %svalue of %s: %s",
			    s->what, e->name, err);
			return -1;
		}
		if ((ref = lookup(f->conf, name)) == NULL) {
			freport(f, e, s, CONF_WARNING, "undefined parameter "
			    "$%s expands to an empty string", name);
			continue;
		}
		if (enter(f, e, s, ref) == -1)
			return -1;
		if (ref->level + 1 > *level_r)
			*level_r = ref->level + 1;
		if (*level_r > CONF_EXPAND_DEPTH) {
			freport(f, e, s, CONF_ERROR, "more than %d nested "
			    "$name levels", CONF_EXPAND_DEPTH);
			return -1;
		}
		if (buf_addstr(b, ref->value) == -1)
			return too_long(f, e, s);
	}
}

static int
check_path(const char *v, const char **err_r)
{
	if (v[0] != '/') {
		*err_r = "not an absolute path";
		return -1;
	}
	if (strlen(v) >= PATH_MAX) {
		*err_r = "path too long";
		return -1;
	}
	return 0;
}

/* The type's own check; numbers go to *num_r. */
static int
check_type(enum conf_type type, const char *v, int64_t *num_r,
    const char **err_r)
{
	bool flag;

	switch (type) {
	case CONF_STR:
	case CONF_LIST:
		return 0;
	case CONF_PATH:
		return check_path(v, err_r);
	case CONF_BOOL:
		if (conf_parse_bool(v, &flag, err_r) == -1)
			return -1;
		*num_r = flag;
		return 0;
	case CONF_INT:
		return conf_parse_int(v, num_r, err_r);
	case CONF_TIME:
		return conf_parse_time(v, num_r, err_r);
	case CONF_SIZE:
		return conf_parse_size(v, num_r, err_r);
	}
	*err_r = "unknown type";
	return -1;
}

/* min and max: both 0 means no bounds; max 0 alone means no upper one. */
static bool
in_bounds(const struct conf_param *p, int64_t v)
{
	if (p->type != CONF_INT && p->type != CONF_TIME &&
	    p->type != CONF_SIZE)
		return true;
	if (p->min == 0 && p->max == 0)
		return true;
	if (v < p->min)
		return false;
	if (p->max != 0 && v > p->max)
		return false;
	return true;
}

static int
check_value(struct finish *f, const struct entry *e, const struct src *s,
    const char *v, int64_t *num_r)
{
	const struct conf_param *p = e->param;
	char q[QUOTE_MAX];
	const char *err;

	*num_r = 0;
	if (p == NULL)
		return 0;
	quote(q, sizeof(q), v, strlen(v));
	if (check_type(p->type, v, num_r, &err) == -1) {
		freport(f, e, s, s->sev, "bad %s%s value \"%s\" for %s: %s",
		    s->what, conf_type_name(p->type), q, e->name, err);
		return -1;
	}
	if (!in_bounds(p, *num_r) && p->max == 0) {
		freport(f, e, s, s->sev, "bad %s%s value \"%s\" for %s: "
		    "less than %" PRId64, s->what, conf_type_name(p->type), q,
		    e->name, p->min);
		return -1;
	}
	if (!in_bounds(p, *num_r)) {
		freport(f, e, s, s->sev, "bad %s%s value \"%s\" for %s: "
		    "out of range %" PRId64 "..%" PRId64, s->what,
		    conf_type_name(p->type), q, e->name, p->min, p->max);
		return -1;
	}
	if (p->check != NULL && p->check(v, &err) == -1) {
		freport(f, e, s, s->sev, "bad %s%s value \"%s\" for %s: %s",
		    s->what, conf_type_name(p->type), q, e->name, err);
		return -1;
	}
	return 0;
}

static bool
is_list_sep(int c)
{
	return c == ',' || is_space(c);
}

/*
 * e->value into words: separated by commas and/or white space, except
 * inside braces, so that "inline:{ a=b, c=d }" stays one word.  An
 * unbalanced "{" runs to the end of the value (map_open then says why).
 */
static void
split_words(struct entry *e)
{
	char *w;
	size_t i, n = 0, len = strlen(e->value), depth = 0;
	bool in_word = false;

	e->wordbuf = w = xstrdup(e->value);
	/* Pass 1: cut; a separator outside braces becomes NUL. */
	for (i = 0; i < len; i++) {
		if (w[i] == '{')
			depth++;
		else if (w[i] == '}' && depth > 0)
			depth--;
		else if (depth == 0 && is_list_sep((unsigned char)w[i]))
			w[i] = '\0';
	}
	for (i = 0; i < len; i++) {
		if (w[i] != '\0' && !in_word)
			n++;
		in_word = w[i] != '\0';
	}
	e->words = xreallocarray(NULL, n + 1, sizeof(*e->words));
	for (i = 0, n = 0; i < len; i++)
		if (w[i] != '\0' && (i == 0 || w[i - 1] == '\0'))
			e->words[n++] = &w[i];
	e->words[n] = NULL;
	e->nwords = n;
}

/* Try one candidate text for e: expand, check, keep. */
static bool
attempt(struct finish *f, struct entry *e, const struct src *s)
{
	unsigned level = 0;
	struct buf b;
	int64_t num;
	bool ok = true;

	buf_init(&b, CONF_VALUE_MAX);
	if (s->literal) {
		if (buf_addstr(&b, s->text) == -1)
			ok = too_long(f, e, s) == 0;
	} else
		ok = expand(f, e, s, &b, &level) == 0;
	if (ok && s->set && b.len > CONF_EXPAND_TOTAL - f->total) {
		if (!f->total_hit)
			freport(f, e, s, CONF_ERROR, "values too long after "
			    "expansion (more than %d bytes together)",
			    CONF_EXPAND_TOTAL);
		f->total_hit = true;
		ok = false;
	}
	if (ok && check_value(f, e, s, buf_cstr(&b), &num) == -1)
		ok = false;
	if (ok) {
		if (s->set)
			f->total += b.len;
		e->value = xstrdup(buf_cstr(&b));
		e->num = num;
		e->level = level;
		if (e->param != NULL && e->param->type == CONF_LIST)
			split_words(e);
	}
	buf_clear(&b);
	return ok;
}

/* Candidate i for e's value into *s; false when there is none. */
static bool
candidate(struct entry *e, int i, struct src *s)
{
	char buf[DEFAULT_FN_MAX];

	memset(s, 0, sizeof(*s));
	s->sev = CONF_ERROR;
	s->what = "default ";
	switch (i) {
	case 0:
		s->text = e->raw;
		s->file = e->file;
		s->line = e->line;
		s->what = "";
		s->set = true;
		return e->raw != NULL;
	case 1:
		if (e->param == NULL || e->param->def_fn == NULL)
			return false;
		if (!e->defval_asked) {
			e->defval_asked = true;
			if (e->param->def_fn(buf, sizeof(buf)) == 0 &&
			    memchr(buf, '\0', sizeof(buf)) != NULL)
				e->defval = xstrdup(buf);
		}
		/* The machine's answer may be odd: warn, use the static one. */
		s->text = e->defval;
		s->sev = CONF_WARNING;
		s->literal = true;
		return e->defval != NULL;
	case 2:
		s->text = e->param != NULL ? e->param->def : NULL;
		return s->text != NULL;
	case 3:
		s->text = "";
		s->literal = true;
		s->quiet = true;
		return true;
	}
	return false;
}

static int
resolve(struct finish *f, struct entry *e)
{
	struct src s;
	size_t me;
	int i;

	if (e->state == ST_DONE)
		return 0;
	e->state = ST_BUSY;
	me = f->depth++;
	f->stack[me].e = e;
	for (i = 0; i < 4; i++) {
		if (!candidate(e, i, &s))
			continue;
		f->stack[me].src = &s;
		if (attempt(f, e, &s))
			break;
		if (f->unwinding && f->unwind_to < me) {
			/* In a loop blamed on a frame below: redo later. */
			f->depth--;
			e->state = ST_NEW;
			return -1;
		}
		f->unwinding = false;
	}
	if (i == 4)
		bug("conf: no valid value for %s", e->name);
	f->depth--;
	e->state = ST_DONE;
	return 0;
}

int
conf_finish(struct conf *conf)
{
	struct finish f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.conf = conf;
	for (i = 0; i < conf->nents; i++)
		clear_values(&conf->ents[i]);
	for (i = 0; i < conf->nents; i++)
		if (resolve(&f, &conf->ents[i]) == -1)
			bug("conf: %s: unwound past the top",
			    conf->ents[i].name);
	conf->finished = true;
	return f.errors;
}

/*
 * Access.
 */

static const struct entry *
get(const struct conf *conf, const char *name, enum conf_type t1,
    enum conf_type t2)
{
	const struct conf_param *p;

	if ((p = conf_param_find(name)) == NULL)
		bug("conf: no parameter named %s", name);
	if (p->type != t1 && p->type != t2)
		bug("conf: %s is of type %s, not %s", name,
		    conf_type_name(p->type), conf_type_name(t1));
	if (!conf->finished)
		bug("conf: %s read before conf_finish", name);
	return &conf->ents[p - conf_params];
}

const char *
conf_str(const struct conf *conf, const char *name)
{
	return get(conf, name, CONF_STR, CONF_PATH)->value;
}

int64_t
conf_int(const struct conf *conf, const char *name)
{
	return get(conf, name, CONF_INT, CONF_INT)->num;
}

bool
conf_bool(const struct conf *conf, const char *name)
{
	return get(conf, name, CONF_BOOL, CONF_BOOL)->num != 0;
}

int64_t
conf_time(const struct conf *conf, const char *name)
{
	return get(conf, name, CONF_TIME, CONF_TIME)->num;
}

int64_t
conf_size(const struct conf *conf, const char *name)
{
	return get(conf, name, CONF_SIZE, CONF_SIZE)->num;
}

const char *const *
conf_list(const struct conf *conf, const char *name, size_t *n_r)
{
	const struct entry *e;

	e = get(conf, name, CONF_LIST, CONF_LIST);
	if (n_r != NULL)
		*n_r = e->nwords;
	return (const char *const *)e->words;
}

const char *
conf_get(const struct conf *conf, const char *name)
{
	const struct entry *e;

	if ((e = lookup(conf, name)) == NULL)
		return NULL;
	return e->value;
}

bool
conf_is_default(const struct conf *conf, const char *name)
{
	const struct entry *e;

	if ((e = lookup(conf, name)) == NULL)
		return true;
	return e->raw == NULL;
}

const struct conf_param *
conf_param_find(const char *name)
{
	const struct conf_param *p;

	for (p = conf_params; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Levenshtein distance of a (la bytes) and b (lb bytes), both short. */
static size_t
distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[2][CONF_NAME_MAX + 1], i, j, cost, best;
	size_t *prev = row[0], *cur = row[1], *t;

	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			best = prev[j - 1] + cost;		/* substitute */
			if (prev[j] + 1 < best)
				best = prev[j] + 1;		/* delete */
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;		/* insert */
			cur[j] = best;
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *
conf_nearest(const char *name)
{
	const struct conf_param *p;
	const char *best = NULL;
	size_t len, plen, limit, d, bestd;

	len = strlen(name);
	if (len == 0 || len > CONF_NAME_MAX)
		return NULL;
	limit = len < 5 ? 1 : len < 12 ? 2 : 3;
	bestd = limit + 1;
	for (p = conf_params; p->name != NULL; p++) {
		plen = strlen(p->name);
		/* The distance is at least the difference in length. */
		if (plen > CONF_NAME_MAX ||
		    (plen > len ? plen - len : len - plen) > limit)
			continue;
		if ((d = distance(name, len, p->name, plen)) < bestd) {
			bestd = d;
			best = p->name;
		}
	}
	return best;
}

const char *
conf_type_name(enum conf_type type)
{
	switch (type) {
	case CONF_STR:
		return "string";
	case CONF_INT:
		return "integer";
	case CONF_BOOL:
		return "boolean";
	case CONF_TIME:
		return "time";
	case CONF_SIZE:
		return "size";
	case CONF_LIST:
		return "list";
	case CONF_PATH:
		return "path";
	}
	return "unknown";
}

/*
 * Editing (conf_edit): the physical lines of the text, grouped into the
 * definitions conf_parse would see, so that a definition is replaced
 * with all of its continuation lines and nothing else.
 */

#define EDIT_NONE	SIZE_MAX

struct edit_line {
	size_t		 off, n;	/* bytes, without the newline */
	bool		 nl, crlf;	/* ends in "\n" (after "\r") */
	size_t		 owner;		/* first line of its definition */
	size_t		 namelen;	/* first line: its name's length */
};

/* Split text into lines and say which definition each belongs to. */
static size_t
edit_lines(const char *text, size_t len, struct edit_line **lines_r)
{
	struct edit_line *lines = NULL, *l;
	const char *p, *nl;
	size_t nlines = 0, cap = 0, off, cur = EDIT_NONE, i;

	for (off = 0; off < len; off += l->n + l->nl) {
		if (nlines == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			lines = xreallocarray(lines, cap, sizeof(*lines));
		}
		l = &lines[nlines];
		p = text + off;
		nl = memchr(p, '\n', len - off);
		l->off = off;
		l->n = nl != NULL ? (size_t)(nl - p) : len - off;
		l->nl = nl != NULL;
		l->crlf = l->nl && l->n > 0 && p[l->n - 1] == '\r';
		l->owner = EDIT_NONE;
		l->namelen = 0;
		for (i = 0; i < l->n && is_space((unsigned char)p[i]); i++)
			;
		if (memchr(p, '\0', l->n) == NULL && (i == l->n || p[i] == '#')) {
			nlines++;		/* blank or comment: no one's */
			continue;
		}
		if (i > 0 && cur != EDIT_NONE) {
			l->owner = cur;		/* a continuation line */
			nlines++;
			continue;
		}
		/* A new definition (or a bad line conf_parse starts anew). */
		cur = l->owner = nlines;
		if (i == 0)
			while (l->namelen < l->n &&
			    !is_space((unsigned char)p[l->namelen]) &&
			    p[l->namelen] != '=' && p[l->namelen] != '\0')
				l->namelen++;
		nlines++;
	}
	*lines_r = lines;
	return nlines;
}

/* The first line of the last definition of name, or EDIT_NONE. */
static size_t
edit_find(const char *text, const struct edit_line *lines, size_t nlines,
    const char *name)
{
	size_t i, n = strlen(name), found = EDIT_NONE;

	for (i = 0; i < nlines; i++)
		if (lines[i].owner == i && lines[i].namelen == n && n > 0 &&
		    memcmp(text + lines[i].off, name, n) == 0)
			found = i;
	return found;
}

static int
edit_def(struct buf *out, const char *name, const char *value,
    const char *eol)
{
	return buf_addf(out, "%s =%s%s%s", name, value[0] != '\0' ? " " : "",
	    value, eol);
}

int
conf_edit(const char *text, size_t len, const char *const *names,
    const char *const *values, size_t n, struct buf *out)
{
	struct edit_line *lines, *l;
	size_t nlines, i, j, *def;
	int r = 0;

	buf_reset(out);
	nlines = edit_lines(text, len, &lines);
	def = xreallocarray(NULL, n + 1, sizeof(*def));
	for (j = 0; j < n; j++)
		def[j] = edit_find(text, lines, nlines, names[j]);
	for (i = 0; i < nlines && r == 0; i++) {
		l = &lines[i];
		for (j = 0; j < n && (l->owner == EDIT_NONE ||
		    def[j] != l->owner); j++)
			;
		if (j == n)
			r = buf_add(out, text + l->off, l->n + l->nl);
		else if (l->owner == i)
			r = edit_def(out, names[j], values[j],
			    l->crlf ? "\r\n" : l->nl ? "\n" : "");
		/* else: a continuation line of a replaced definition */
	}
	for (j = 0; j < n && r == 0; j++) {
		if (def[j] != EDIT_NONE)
			continue;
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			r = buf_add(out, "\n", 1);
		if (r == 0)
			r = edit_def(out, names[j], values[j], "\n");
	}
	free(def);
	free(lines);
	return r;
}

/*
 * Value parsers.
 */

int
conf_parse_bool(const char *s, bool *out, const char **err_r)
{
	static const struct {
		const char	*word;
		bool		 value;
	} words[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "on", true }, { "off", false },
		{ "1", true }, { "0", false },
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(s, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	*err_r = "not yes or no";
	return -1;
}

/* Decimal digits at *sp into *out (at most limit); *sp moves past them. */
static int
digits(const char **sp, uint64_t limit, uint64_t *out, const char **err_r)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9') {
		*err_r = "not a number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (limit - (uint64_t)(*s - '0')) / 10) {
			*err_r = "number too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*sp = s;
	*out = v;
	return 0;
}

int
conf_parse_int(const char *s, int64_t *out, const char **err_r)
{
	bool neg = *s == '-';
	uint64_t v;

	s += neg;
	if (digits(&s, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v,
	    err_r) == -1)
		return -1;
	if (*s != '\0') {
		*err_r = "not a number";
		return -1;
	}
	/* -(INT64_MAX + 1) without overflowing on the way. */
	*out = neg ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return 0;
}

struct unit {
	char		 c;
	int64_t		 mult;
};

/* A non-negative number with an optional one-letter unit (any case). */
static int
with_unit(const char *s, const struct unit *units, int64_t *out,
    const char **err_r)
{
	int64_t mult = 1;
	uint64_t v;

	if (*s == '-') {
		*err_r = "negative value";
		return -1;
	}
	if (digits(&s, INT64_MAX, &v, err_r) == -1)
		return -1;
	if (*s != '\0') {
		for (; units->c != '\0'; units++)
			if (ascii_tolower((unsigned char)*s) == units->c)
				break;
		if (units->c == '\0' || s[1] != '\0') {
			*err_r = "bad unit";
			return -1;
		}
		mult = units->mult;
	}
	if (__builtin_mul_overflow((int64_t)v, mult, out)) {
		*err_r = "number too large";
		return -1;
	}
	return 0;
}

int
conf_parse_time(const char *s, int64_t *out, const char **err_r)
{
	static const struct unit units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 }, { '\0', 0 },
	};

	return with_unit(s, units, out, err_r);
}

int
conf_parse_size(const char *s, int64_t *out, const char **err_r)
{
	static const struct unit units[] = {
		{ 'k', 1024 }, { 'm', 1024 * 1024 },
		{ 'g', 1024 * 1024 * 1024 }, { '\0', 0 },
	};

	return with_unit(s, units, out, err_r);
}
