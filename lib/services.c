/*
 * SPDX-License-Identifier: ISC
 *
 * services.c -- services.conf: which programs the master runs, where they
 * listen and with what privilege.
 *
 * Process:  master (root), ternctl; the fuzzer feeds it arbitrary bytes.
 * Input:    the text of services.conf, at most SERVICES_FILE_MAX bytes.
 * Failure:  every problem goes to the caller's diag callback with file,
 *           line and service name; parsing never logs or exits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ascii.h"
#include "hostname.h"
#include "log.h"
#include "services.h"
#include "xmem.h"

#define COLUMNS		9	/* name .. command */
#define TOKENS_MAX	(COLUMNS + SERVICES_ARGS_MAX)
#define UNIX_PATH_MAX	100	/* well under sun_path's 108 bytes */
#define WAKEUP_MAX	86400
#define QUOTE_MAX	(64 * 4 + 4)	/* log_safe() room for 64 bytes */
#define MSG_MAX		768
#define CONTROL_NAME	"control"
#define CONTROL_PATH	"private/control"

enum column {
	COL_NAME, COL_TYPE, COL_LISTEN, COL_UNPRIV, COL_CHROOT,
	COL_MAXPROC, COL_PREFORK, COL_WAKEUP, COL_COMMAND
};

struct parser {
	const char	*fname;
	services_diag_fn diag;
	void		*arg;
	struct services	*out;
	int		 errors;
	bool		 full;		/* "too many services" was said */

	/* The logical line being gathered. */
	bool		 active;
	bool		 bad;		/* already reported (NUL byte) */
	bool		 toolong;
	unsigned	 lineno;	/* its first physical line */
	size_t		 len;
	char		 line[SERVICES_LINE_MAX + 1];
};

/* One service line, split into columns, while it is being checked. */
struct entry {
	struct parser	*ps;
	char		*tok[TOKENS_MAX];
	size_t		 ntok;
	bool		 toomany;
	const char	*svc;		/* name for diagnostics, or NULL */
	bool		 maxproc_set;
	struct service_def d;
};

static void	 perr(struct parser *, unsigned, const char *, const char *,
		    ...) __attribute__((format(printf, 4, 5)));

static void
perr(struct parser *ps, unsigned line, const char *svc, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	if (ps->errors < INT_MAX)
		ps->errors++;
	if (ps->diag == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->diag(ps->arg, ps->fname, line, svc, msg);
}

/* Untrusted text in a message: printable and short. */
static const char *
quote(char *buf, size_t sz, const char *s)
{
	return log_safe(buf, sz, s, strlen(s));
}

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9_.-]{1,max}: service and program names. */
static bool
name_ok(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!is_lower_digit((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '.' && s[i] != '-')
			return false;
	}
	return i >= 1 && i <= max;
}

/* Decimal digits only, no sign, value in min..max. */
static bool
uint_parse(const char *s, unsigned min, unsigned max, unsigned *v_r)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!ascii_isdigit((unsigned char)s[i]) || i >= 9)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v < min || v > max)
		return false;
	*v_r = (unsigned)v;
	return true;
}

/* ---- columns ---------------------------------------------------------- */

static void
col_name(struct entry *e)
{
	struct parser *ps = e->ps;
	const char *name = e->tok[COL_NAME];
	char q[QUOTE_MAX];
	size_t i;

	if (!name_ok(name, SERVICES_NAME_MAX)) {
		perr(ps, ps->lineno, NULL, "bad service name \"%s\": expected "
		    "1..%d of [a-z0-9_.-]", quote(q, sizeof(q), name),
		    SERVICES_NAME_MAX);
		return;
	}
	e->svc = name;
	if (strcmp(name, CONTROL_NAME) == 0) {
		perr(ps, ps->lineno, name, "service name %s is reserved "
		    "(the master's control socket is %s)", CONTROL_NAME,
		    CONTROL_PATH);
		return;
	}
	for (i = 0; i < ps->out->n; i++) {
		if (strcmp(ps->out->defs[i].name, name) == 0) {
			perr(ps, ps->lineno, name, "duplicate service name %s "
			    "(first defined on line %u)", name,
			    ps->out->defs[i].line);
			return;
		}
	}
	(void)strlcpy(e->d.name, name, sizeof(e->d.name));
}

static bool
col_type(struct entry *e)
{
	const char *t = e->tok[COL_TYPE];
	char q[QUOTE_MAX];

	if (strcmp(t, "inet") == 0)
		e->d.type = SERVICES_INET;
	else if (strcmp(t, "unix") == 0)
		e->d.type = SERVICES_UNIX;
	else {
		perr(e->ps, e->ps->lineno, e->svc, "bad type \"%s\": expected "
		    "inet or unix", quote(q, sizeof(q), t));
		return false;
	}
	return true;
}

/* A port number 1..65535 or a service name from /etc/services. */
static bool
port_ok(const char *s, size_t size)
{
	unsigned v;
	size_t i;
	bool alpha = false;

	for (i = 0; s[i] != '\0'; i++) {
		if (!is_lower_digit((unsigned char)s[i]) && s[i] != '-')
			return false;
		if (!ascii_isdigit((unsigned char)s[i]))
			alpha = true;
	}
	if (i == 0 || i >= size)
		return false;
	if (alpha)
		return s[0] != '-';
	return s[0] != '0' && uint_parse(s, 1, 65535, &v);
}

static bool
host_ok(const char *host, bool bracketed)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (bracketed)
		return inet_pton(AF_INET6, host, &a6) == 1;
	if (strcmp(host, "*") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return true;
	return hostname_ok(host, strlen(host), 0);
}

static bool
listen_inet(struct entry *e, const char *l)
{
	struct parser *ps = e->ps;
	char host[SERVICES_LISTEN_MAX + 1], q[QUOTE_MAX], q2[QUOTE_MAX];
	const char *colon, *port;
	bool bracketed = false;

	if (l[0] == '[') {
		if ((colon = strstr(l, "]:")) == NULL) {
			perr(ps, ps->lineno, e->svc, "bad listen address "
			    "\"%s\": expected [ipv6]:port",
			    quote(q, sizeof(q), l));
			return false;
		}
		bracketed = true;
		(void)strlcpy(host, l + 1, (size_t)(colon - l));
		port = colon + 2;
	} else if ((colon = strrchr(l, ':')) != NULL) {
		if (strchr(l, ':') != colon) {
			perr(ps, ps->lineno, e->svc, "bad listen address "
			    "\"%s\": an IPv6 address goes in brackets, as in "
			    "[::1]:25", quote(q, sizeof(q), l));
			return false;
		}
		(void)strlcpy(host, l, (size_t)(colon - l) + 1);
		port = colon + 1;
	} else {
		host[0] = '\0';
		port = l;
	}
	if (colon != NULL && !host_ok(host, bracketed)) {
		perr(ps, ps->lineno, e->svc, "bad host \"%s\" in listen "
		    "address: expected *, an IPv4 address, [ipv6] or a host "
		    "name", quote(q, sizeof(q), host));
		return false;
	}
	if (!port_ok(port, sizeof(e->d.port))) {
		perr(ps, ps->lineno, e->svc, "bad port \"%s\" in listen "
		    "address \"%s\": expected 1..65535 or a service name of at "
		    "most %zu of [a-z0-9-]", quote(q, sizeof(q), port),
		    quote(q2, sizeof(q2), l), sizeof(e->d.port) - 1);
		return false;
	}
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	(void)strlcpy(e->d.host, host, sizeof(e->d.host));
	(void)strlcpy(e->d.port, port, sizeof(e->d.port));
	return true;
}

/* One component of a unix listen path: [A-Za-z0-9._-]+, not . or .. */
static bool
component_ok(const char *c, size_t n)
{
	size_t i;

	if (n == 0 || (n == 1 && c[0] == '.') ||
	    (n == 2 && c[0] == '.' && c[1] == '.'))
		return false;
	for (i = 0; i < n; i++) {
		if (!ascii_isalnum((unsigned char)c[i]) && c[i] != '.' &&
		    c[i] != '_' && c[i] != '-')
			return false;
	}
	return true;
}

static bool
unix_path_ok(const char *l)
{
	const char *slash;

	for (;;) {
		if ((slash = strchr(l, '/')) == NULL)
			return component_ok(l, strlen(l));
		if (!component_ok(l, (size_t)(slash - l)))
			return false;
		l = slash + 1;
	}
}

/* private/name or public/name, under queue_directory. */
static bool
listen_unix(struct entry *e, const char *l)
{
	struct parser *ps = e->ps;
	char q[QUOTE_MAX];

	if (strncmp(l, "private/", 8) != 0 && strncmp(l, "public/", 7) != 0) {
		perr(ps, ps->lineno, e->svc, "unix listen path must start "
		    "with private/ or public/");
		return false;
	}
	if (strlen(l) > UNIX_PATH_MAX) {
		perr(ps, ps->lineno, e->svc, "unix listen path is longer than "
		    "%d bytes", UNIX_PATH_MAX);
		return false;
	}
	if (!unix_path_ok(l)) {
		perr(ps, ps->lineno, e->svc, "bad unix listen path \"%s\": "
		    "components are [A-Za-z0-9._-], not . or ..",
		    quote(q, sizeof(q), l));
		return false;
	}
	if (strcmp(l, CONTROL_PATH) == 0) {
		perr(ps, ps->lineno, e->svc, "unix listen path %s is reserved "
		    "for the master", CONTROL_PATH);
		return false;
	}
	return true;
}

static bool
same_listen(const struct service_def *a, const struct service_def *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == SERVICES_UNIX)
		return strcmp(a->listen, b->listen) == 0;
	return strcasecmp(a->host, b->host) == 0 &&
	    strcmp(a->port, b->port) == 0;
}

static void
col_listen(struct entry *e)
{
	struct parser *ps = e->ps;
	const char *l = e->tok[COL_LISTEN];
	size_t i;
	bool ok;

	if (strlen(l) > SERVICES_LISTEN_MAX) {
		perr(ps, ps->lineno, e->svc, "listen address is longer than %d "
		    "bytes", SERVICES_LISTEN_MAX);
		return;
	}
	if (e->d.type == SERVICES_INET)
		ok = listen_inet(e, l);
	else
		ok = listen_unix(e, l);
	if (!ok)
		return;
	(void)strlcpy(e->d.listen, l, sizeof(e->d.listen));
	for (i = 0; i < ps->out->n; i++) {
		if (same_listen(&ps->out->defs[i], &e->d)) {
			perr(ps, ps->lineno, e->svc, "duplicate listen address "
			    "%s (also used by %s)", l, ps->out->defs[i].name);
			return;
		}
	}
}

static void
col_unpriv(struct entry *e)
{
	const char *u = e->tok[COL_UNPRIV];
	char q[QUOTE_MAX];

	if (strcmp(u, "y") == 0 || strcmp(u, "-") == 0)
		e->d.unpriv = true;
	else if (strcmp(u, "n") == 0)
		e->d.unpriv = false;
	else
		perr(e->ps, e->ps->lineno, e->svc, "bad unpriv \"%s\": "
		    "expected y, n or -", quote(q, sizeof(q), u));
}

/* An absolute path of [A-Za-z0-9._-] components, no "." or "..". */
static bool
chroot_path_ok(const char *p)
{
	return p[0] == '/' && strlen(p) <= SERVICES_LISTEN_MAX &&
	    unix_path_ok(p + 1);
}

static void
col_chroot(struct entry *e)
{
	const char *c = e->tok[COL_CHROOT];
	char q[QUOTE_MAX];

	if (strcmp(c, "n") == 0 || strcmp(c, "-") == 0)
		e->d.chroot[0] = '\0';
	else if (strcmp(c, "y") == 0 || chroot_path_ok(c))
		(void)strlcpy(e->d.chroot, c, sizeof(e->d.chroot));
	else
		perr(e->ps, e->ps->lineno, e->svc, "bad chroot \"%s\": "
		    "expected y, n, - or an absolute path", quote(q, sizeof(q), c));
}

static void
col_numbers(struct entry *e)
{
	struct parser *ps = e->ps;
	const char *m = e->tok[COL_MAXPROC], *p = e->tok[COL_PREFORK];
	const char *w = e->tok[COL_WAKEUP];
	char q[QUOTE_MAX];

	if (strcmp(m, "-") == 0)
		e->d.maxproc = 0;
	else if (uint_parse(m, 1, SERVICES_MAXPROC, &e->d.maxproc))
		e->maxproc_set = true;
	else
		perr(ps, ps->lineno, e->svc, "bad maxproc \"%s\": expected "
		    "1..%d or -", quote(q, sizeof(q), m), SERVICES_MAXPROC);

	if (strcmp(p, "-") == 0)
		e->d.prefork = 0;
	else if (!uint_parse(p, 0, SERVICES_MAXPROC, &e->d.prefork))
		perr(ps, ps->lineno, e->svc, "bad prefork \"%s\": expected "
		    "0..%d or -", quote(q, sizeof(q), p), SERVICES_MAXPROC);
	else if (e->maxproc_set && e->d.prefork > e->d.maxproc)
		perr(ps, ps->lineno, e->svc, "prefork %u is above maxproc %u",
		    e->d.prefork, e->d.maxproc);

	if (strcmp(w, "-") == 0)
		e->d.wakeup = 0;
	else if (!uint_parse(w, 1, WAKEUP_MAX, &e->d.wakeup))
		perr(ps, ps->lineno, e->svc, "bad wakeup \"%s\": expected "
		    "1..%d or -", quote(q, sizeof(q), w), WAKEUP_MAX);
}

static void
col_command(struct entry *e)
{
	const char *c = e->tok[COL_COMMAND];
	char q[QUOTE_MAX];

	if (strchr(c, '/') != NULL)
		perr(e->ps, e->ps->lineno, e->svc, "command must be a program "
		    "name in daemon_directory, not a path");
	else if (!name_ok(c, SERVICES_NAME_MAX) || c[0] == '.' ||
	    c[0] == '-')
		perr(e->ps, e->ps->lineno, e->svc, "bad command \"%s\": "
		    "expected a program name of 1..%d of [a-z0-9_.-], not "
		    "starting with . or -",
		    quote(q, sizeof(q), c), SERVICES_NAME_MAX);
	else
		(void)strlcpy(e->d.command, c, sizeof(e->d.command));
}

static void
col_args(struct entry *e)
{
	struct parser *ps = e->ps;
	const unsigned char *a;
	size_t i;

	if (e->toomany) {
		perr(ps, ps->lineno, e->svc, "too many arguments (at most %d)",
		    SERVICES_ARGS_MAX);
		return;
	}
	for (i = COLUMNS; i < e->ntok; i++) {
		if (strlen(e->tok[i]) > SERVICES_ARG_MAX) {
			perr(ps, ps->lineno, e->svc, "argument %zu is longer "
			    "than %d bytes", i - COLUMNS + 1, SERVICES_ARG_MAX);
			continue;
		}
		for (a = (const unsigned char *)e->tok[i]; *a != '\0'; a++) {
			if (*a < 0x20 || *a == 0x7f)
				break;
		}
		if (*a != '\0')
			perr(ps, ps->lineno, e->svc, "argument %zu has a "
			    "control character", i - COLUMNS + 1);
	}
}

/* ---- lines ------------------------------------------------------------ */

/* Split the logical line in place at white space. */
static void
tokenize(struct entry *e, char *s)
{
	for (;;) {
		while (is_space((unsigned char)*s))
			s++;
		if (*s == '\0')
			return;
		if (e->ntok == TOKENS_MAX) {
			e->toomany = true;
			return;
		}
		e->tok[e->ntok++] = s;
		while (*s != '\0' && !is_space((unsigned char)*s))
			s++;
		if (*s == '\0')
			return;
		*s++ = '\0';
	}
}

static void
add_service(struct entry *e)
{
	struct parser *ps = e->ps;
	struct services *out = ps->out;
	struct service_def *d;
	size_t i;

	if (out->n == SERVICES_MAX) {
		if (!ps->full)
			perr(ps, ps->lineno, e->svc, "too many services (at "
			    "most %d)", SERVICES_MAX);
		ps->full = true;
		return;
	}
	/* Grow by doubling: at most SERVICES_MAX entries in all. */
	if ((out->n & (out->n - 1)) == 0)
		out->defs = xreallocarray(out->defs,
		    out->n == 0 ? 1 : out->n * 2, sizeof(*out->defs));
	d = &out->defs[out->n++];
	*d = e->d;
	d->line = ps->lineno;
	d->argc = e->ntok - COLUMNS;
	for (i = 0; i < d->argc; i++)
		d->argv[i] = xstrdup(e->tok[COLUMNS + i]);
	d->argv[d->argc] = NULL;
}

static void
parse_service(struct parser *ps)
{
	struct entry e;
	int before = ps->errors;

	memset(&e, 0, sizeof(e));
	e.ps = ps;
	tokenize(&e, ps->line);
	if (e.ntok < COLUMNS) {
		perr(ps, ps->lineno, e.ntok > 0 &&
		    name_ok(e.tok[0], SERVICES_NAME_MAX) ?
		    e.tok[0] : NULL, "missing columns: expected name type "
		    "listen unpriv chroot maxproc prefork wakeup command "
		    "(got %zu)", e.ntok);
		return;
	}
	col_name(&e);
	if (col_type(&e))
		col_listen(&e);
	col_unpriv(&e);
	col_chroot(&e);
	col_numbers(&e);
	col_command(&e);
	col_args(&e);
	if (ps->errors == before)
		add_service(&e);
}

static void
finish_line(struct parser *ps)
{
	if (!ps->active)
		return;
	ps->active = false;
	ps->line[ps->len] = '\0';
	if (ps->bad)
		return;
	if (ps->toolong) {
		perr(ps, ps->lineno, NULL, "line is longer than %d bytes",
		    SERVICES_LINE_MAX);
		return;
	}
	parse_service(ps);
}

/* Physical lines are joined with one space, as white space anyway. */
static void
append(struct parser *ps, const char *s, size_t n)
{
	size_t sep = ps->len > 0 ? 1 : 0;

	if (ps->toolong || ps->len + sep > SERVICES_LINE_MAX ||
	    n > SERVICES_LINE_MAX - ps->len - sep) {
		ps->toolong = true;
		return;
	}
	if (sep)
		ps->line[ps->len++] = ' ';
	memcpy(ps->line + ps->len, s, n);
	ps->len += n;
}

static void
physical_line(struct parser *ps, const char *s, size_t n, unsigned lineno)
{
	bool nul = memchr(s, '\0', n) != NULL;
	size_t i;

	if (nul)
		perr(ps, lineno, NULL, "NUL byte in line");
	for (i = 0; i < n && is_space((unsigned char)s[i]); i++)
		;
	if (i == n || s[i] == '#')
		return;			/* blank or comment */
	if (i > 0) {
		if (ps->active) {
			append(ps, s, n);
			ps->bad = ps->bad || nul;
		} else if (!nul)
			perr(ps, lineno, NULL, "continuation line without a "
			    "service line before it");
		return;
	}
	finish_line(ps);
	ps->active = true;
	ps->bad = nul;
	ps->toolong = false;
	ps->lineno = lineno;
	ps->len = 0;
	append(ps, s, n);
}

int
services_parse(const char *fname, const char *text, size_t len,
    struct services *out, services_diag_fn diag, void *arg)
{
	struct parser *ps;
	const char *p, *end, *nl;
	unsigned lineno = 0;
	int errors;

	out->defs = NULL;
	out->n = 0;
	ps = xcalloc(1, sizeof(*ps));
	ps->fname = fname != NULL ? fname : "services.conf";
	ps->diag = diag;
	ps->arg = arg;
	ps->out = out;
	if (len > SERVICES_FILE_MAX) {
		perr(ps, 0, NULL, "file is larger than %d bytes",
		    SERVICES_FILE_MAX);
		len = 0;
	}
	if (len == 0)
		text = "";		/* no arithmetic on a NULL text */
	for (p = text, end = text + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		physical_line(ps, p, (size_t)(nl - p), ++lineno);
	}
	finish_line(ps);
	errors = ps->errors;
	free(ps);
	return errors;
}

/* Read at most SERVICES_FILE_MAX bytes; one byte more means too large. */
static int
read_file(int fd, char *buf, size_t *len_r)
{
	size_t len = 0;
	ssize_t n;

	while (len <= SERVICES_FILE_MAX) {
		n = read(fd, buf + len, SERVICES_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*len_r = len;
	return 0;
}

static void
load_error(services_diag_fn diag, void *arg, const char *path,
    const char *what, const char *why)
{
	char msg[MSG_MAX];

	if (diag == NULL)
		return;
	(void)snprintf(msg, sizeof(msg), "%s: %s", what, why);
	diag(arg, path, 0, NULL, msg);
}

int
services_load(const char *path, struct services *out,
    services_diag_fn diag, void *arg)
{
	char *buf, why[64];
	size_t len;
	int fd, errors;

	out->defs = NULL;
	out->n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		load_error(diag, arg, path, "cannot open", strerror(errno));
		return -1;
	}
	buf = xmalloc(SERVICES_FILE_MAX + 1);
	if (read_file(fd, buf, &len) == -1) {
		load_error(diag, arg, path, "cannot read", strerror(errno));
		errors = -1;
	} else if (len > SERVICES_FILE_MAX) {
		(void)snprintf(why, sizeof(why), "larger than %d bytes",
		    SERVICES_FILE_MAX);
		load_error(diag, arg, path, "cannot read", why);
		errors = -1;
	} else
		errors = services_parse(path, buf, len, out, diag, arg);
	free(buf);
	(void)close(fd);
	return errors;
}

void
services_free(struct services *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->defs[i].argc; j++)
			free(s->defs[i].argv[j]);
	}
	free(s->defs);
	s->defs = NULL;
	s->n = 0;
}

const struct service_def *
services_find(const struct services *s, const char *name)
{
	size_t i;

	if (s == NULL || name == NULL)
		return NULL;
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->defs[i].name, name) == 0)
			return &s->defs[i];
	}
	return NULL;
}
