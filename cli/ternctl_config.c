/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_config.c -- "ternctl config": show and change tern.conf
 * parameters through the one parameter table, and write the tern.conf(5)
 * parameter list.
 *
 *   ternctl config [list]          every parameter with its value in effect
 *   ternctl config --non-default   only those set in tern.conf (-n)
 *   ternctl config --defaults      every parameter's default (-d)
 *   ternctl config [get] name ...  the named ones (with -d: their defaults)
 *   ternctl config set name=value ...
 *                                  change tern.conf, all or nothing
 *   ternctl config -m              the PARAMETERS section of tern.conf(5)
 *
 * Process:  ternctl, with the caller's privilege (set needs the right to
 *           replace tern.conf: root, or the owner of an instance that
 *           runs without root).
 * Failure:  "ternctl: <thing>: <what is wrong>" on stderr; exit 0 ok,
 *           1 failure, 2 usage.  set writes nothing unless every value
 *           and the whole new file pass the checks the master makes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "buf.h"
#include "conf.h"
#include "lineio.h"
#include "master.h"
#include "priv.h"
#include "ternctl.h"
#include "xmem.h"

#define SET_MAX		100	/* name=value pairs in one call */

static const char usage_text[] =
    "usage: ternctl [-c config_dir] config [list]\n"
    "       ternctl [-c config_dir] config --non-default | -n\n"
    "       ternctl [-c config_dir] config --defaults | -d [name ...]\n"
    "       ternctl [-c config_dir] config [get] [-d] name ...\n"
    "       ternctl [-c config_dir] config set name=value ...\n"
    "       ternctl config -m\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* roff needs a backslash doubled and a leading dot or quote escaped. */
static void
roff(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static int
print_man(void)
{
	const struct conf_param *p;

	for (p = conf_params; p->name != NULL; p++) {
		printf(".It Cm %s Pq %s\n", p->name, conf_type_name(p->type));
		roff(p->desc);
		printf("\n.br\nDefault:\n.Ql ");
		if (p->def_fn != NULL)
			fputs("(computed at start-up)", stdout);
		else
			roff(p->def[0] != '\0' ? p->def : "(empty)");
		putchar('\n');
	}
	return 0;
}

static void
unknown(const char *name)
{
	const char *near = conf_nearest(name);

	if (near != NULL)
		fprintf(stderr, "ternctl: %s: unknown parameter (did you mean "
		    "%s?)\n", name, near);
	else
		fprintf(stderr, "ternctl: %s: unknown parameter\n", name);
}

struct assign {
	const char	*names[SET_MAX];
	const char	*values[SET_MAX];
	char		*copies[SET_MAX];
	size_t		 n;
};

/* "file:line: param: msg", as the master words it. */
static void
diag_print(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	char text[2300];

	if (file != NULL)
		snprintf(text, sizeof(text), "%s:%u: %s%s%s", file, line,
		    param ? param : "", param ? ": " : "", msg);
	else
		snprintf(text, sizeof(text), "%s%s%s", param ? param : "",
		    param ? ": " : "", msg);
	ternctl_report(arg, sev == CONF_ERROR, text);
}

/*
 * tern.conf read as every program reads it: the file, config_directory
 * set to the directory in use, expanded and checked.  Problems are
 * printed; *errors_r gets their number.
 */
static struct conf *
load(const char *dir, conf_diag_fn diag, void *arg, const struct assign *a,
    int *errors_r, bool *dir_in_file_r)
{
	char path[PATH_MAX + 16], abs[PATH_MAX];
	struct conf *c;
	size_t i;
	int r;

	c = conf_new(diag, arg);
	snprintf(path, sizeof(path), "%s/tern.conf", dir);
	r = conf_load(c, path);
	if (dir_in_file_r != NULL)
		*dir_in_file_r = !conf_is_default(c, "config_directory");
	if (realpath(dir, abs) != NULL)
		conf_set(c, "config_directory", abs);
	for (i = 0; a != NULL && i < a->n; i++)
		conf_set(c, a->names[i], a->values[i]);
	*errors_r = (r == -1 ? 1 : r) + conf_finish(c);
	return c;
}

static int
show(const struct conf *c, const char *name, bool defaults)
{
	const struct conf_param *p;
	const char *v;

	if ((p = conf_param_find(name)) == NULL) {
		unknown(name);
		return 1;
	}
	if (defaults && p->def_fn != NULL)
		v = "(computed at start-up)";
	else
		v = defaults ? p->def : conf_get(c, name);
	printf("%s = %s\n", name, v != NULL ? v : "");
	return 0;
}

static int
list_or_get(const char *dir, int argc, char *argv[], bool defaults,
    bool nondefault)
{
	const struct conf_param *p;
	struct conf *c = NULL;
	int errors = 0, r = 0;
	bool dir_in_file = false;

	/* Defaults are the table's: no tern.conf is needed to show them. */
	if (!defaults)
		c = load(dir, diag_print, NULL, NULL, &errors, &dir_in_file);
	if (argc > 0) {
		for (; argc > 0; argc--, argv++)
			r |= show(c, argv[0], defaults);
	} else {
		for (p = conf_params; p->name != NULL; p++) {
			/* config_directory is always set: to the one in use. */
			if (nondefault && (conf_is_default(c, p->name) ||
			    (strcmp(p->name, "config_directory") == 0 &&
			    !dir_in_file)))
				continue;
			show(c, p->name, defaults);
		}
	}
	conf_free(&c);
	return r != 0 || errors > 0 ? 1 : 0;
}

/*
 * ternctl config set.
 */


static void
assign_free(struct assign *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->copies[i]);
	a->n = 0;
}

static bool
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* "name=value" into a; returns 0, 1 (error printed) or 2 (usage). */
static int
assign_add(struct assign *a, const char *arg)
{
	const char *eq = strchr(arg, '='), *v;
	char *name;
	size_t i, n;

	if (eq == NULL || eq == arg) {
		fprintf(stderr, "ternctl: %s: expected name=value\n", arg);
		return 2;
	}
	if (a->n == SET_MAX) {
		fprintf(stderr, "ternctl: more than %d parameters at once\n",
		    SET_MAX);
		return 1;
	}
	/* White space around the name and value, as in tern.conf. */
	for (n = (size_t)(eq - arg); n > 0 && is_blank(arg[n - 1]); n--)
		;
	name = a->copies[a->n] = xstrndup(arg, n);
	a->names[a->n] = name;
	for (v = eq + 1; is_blank(*v); v++)
		;
	a->values[a->n] = v;
	a->n++;
	if (conf_param_find(name) == NULL) {
		unknown(name);
		return 1;
	}
	for (i = 0; i + 1 < a->n; i++) {
		if (strcmp(a->names[i], name) == 0) {
			fprintf(stderr, "ternctl: %s: given twice\n", name);
			return 1;
		}
	}
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < 0x20 && *v != '\t') {
			fprintf(stderr, "ternctl: %s: control character or line "
			    "break in the value\n", name);
			return 1;
		}
	}
	return 0;
}

/* Only problems of the values being set: file NULL (from conf_set). */
static void
diag_set(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	if (file == NULL && param != NULL)
		diag_print(arg, sev, file, line, param, msg);
}

/*
 * Each value checked with its type, bounds and validator, in the context
 * of the file as it is (so that $name finds what the file defines).
 */
static int
check_values(const char *dir, const struct assign *a)
{
	struct conf *c;
	int errors = 0, dummy;

	c = load(dir, diag_set, &errors, a, &dummy, NULL);
	conf_free(&c);
	return errors;
}

/*
 * What master_config_load says about a file, each message twice: as
 * shown (the temporary file's name replaced by the real one) and as a
 * key without line numbers in that file, so that the problems of the new
 * file can be told from those the old one had already.  Numbers in a
 * message about tern.conf are left out of its key: lines move.
 */
struct msgs {
	const char	*from, *to;	/* a file name to replace */
	char		**shown, **keys;
	bool		*error;
	size_t		 n;
};

/* A message about the file without its numbers (lines move). */
static char *
msg_key(const char *file, const char *rest)
{
	struct buf b;
	char *key;

	buf_init(&b, SIZE_MAX);
	buf_addstr(&b, file);
	buf_add(&b, ":", 1);
	for (; *rest != '\0'; rest++) {
		if (*rest < '0' || *rest > '9')
			buf_add(&b, rest, 1);
		else if (rest[1] < '0' || rest[1] > '9')
			buf_add(&b, "#", 1);
	}
	key = xstrdup(buf_cstr(&b));
	buf_clear(&b);
	return key;
}

static void
msgs_add(void *arg, bool error, const char *msg)
{
	struct msgs *m = arg;
	size_t flen = strlen(m->from);
	char *shown, *key;

	if (strncmp(msg, m->from, flen) == 0 && msg[flen] == ':') {
		shown = xasprintf("%s:%s", m->to, msg + flen + 1);
		key = msg_key(m->to, msg + flen + 1);
	} else {
		shown = xstrdup(msg);
		key = xstrdup(msg);
	}
	m->shown = xreallocarray(m->shown, m->n + 1, sizeof(*m->shown));
	m->keys = xreallocarray(m->keys, m->n + 1, sizeof(*m->keys));
	m->error = xreallocarray(m->error, m->n + 1, sizeof(*m->error));
	m->shown[m->n] = shown;
	m->keys[m->n] = key;
	m->error[m->n] = error;
	m->n++;
}

static void
msgs_free(struct msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->shown[i]);
		free(m->keys[i]);
	}
	free(m->shown);
	free(m->keys);
	free(m->error);
	memset(m, 0, sizeof(*m));
}

static bool
msgs_has(const struct msgs *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return true;
	return false;
}

static void
load_msgs(const char *dir, const char *file, const char *real,
    struct msgs *m)
{
	struct master_config mc;

	memset(m, 0, sizeof(*m));
	m->from = file;
	m->to = real;
	master_config_load_file(dir, file, priv_is_root(), &mc, msgs_add, m);
	master_config_free(&mc);
}

/*
 * The new file as the master would load it: every problem it has that
 * the old file did not have is printed; returns how many errors those
 * are.  A problem the file had already does not stop the change (a set
 * may be the first of several fixes), but is shown as a warning.
 */
static int
check_file(const char *dir, const char *real, const char *tmp)
{
	struct msgs old, new;
	size_t i;
	int errors = 0;

	load_msgs(dir, real, real, &old);
	load_msgs(dir, tmp, real, &new);
	for (i = 0; i < new.n; i++) {
		if (msgs_has(&old, new.keys[i])) {
			if (new.error[i])
				fprintf(stderr, "ternctl: warning: (already "
				    "so before) %s\n", new.shown[i]);
			continue;
		}
		ternctl_report(&errors, new.error[i], new.shown[i]);
	}
	msgs_free(&old);
	msgs_free(&new);
	return errors;
}

/* The file's bytes into b; 0, or -1 with errno. */
static int
read_all(int fd, struct buf *b)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (buf_add(b, chunk, (size_t)n) == -1) {
			errno = EFBIG;
			return -1;
		}
	}
}

/* The state of one set: the real file, its directory, the new text. */
struct edit {
	char		 real[PATH_MAX];	/* tern.conf, links followed */
	char		 dirname[PATH_MAX];
	char		 tmp[PATH_MAX + 32];
	int		 dfd;
	struct stat	 st;
	struct buf	 old, new;
};

/* The caller must be able to replace the file: a clear word if not. */
static int
may_write(const struct edit *e)
{
	if (access(e->real, W_OK) == -1) {
		fprintf(stderr, "ternctl: %s: %s (run as root or as the "
		    "file's owner)\n", e->real, errno == EACCES ?
		    "permission denied" : strerror(errno));
		return -1;
	}
	if (access(e->dirname, W_OK) == -1) {
		fprintf(stderr, "ternctl: %s: %s: a new tern.conf cannot be "
		    "written there (run as root or as the directory's "
		    "owner)\n", e->dirname, errno == EACCES ?
		    "permission denied" : strerror(errno));
		return -1;
	}
	return 0;
}

/* Find and lock the file, read it. */
static int
edit_open(struct edit *e, const char *dir)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/tern.conf", dir);
	if (realpath(path, e->real) == NULL) {
		fprintf(stderr, "ternctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	strlcpy(tmp, e->real, sizeof(tmp));
	strlcpy(e->dirname, dirname(tmp), sizeof(e->dirname));
	if (may_write(e) == -1)
		return -1;
	/* One set at a time: the directory's lock spans read to rename. */
	if ((e->dfd = open(e->dirname, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || flock(e->dfd, LOCK_EX) == -1) {
		fprintf(stderr, "ternctl: %s: %s\n", e->dirname,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(e->real, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &e->st) == -1 || read_all(fd, &e->old) == -1) {
		fprintf(stderr, "ternctl: %s: cannot read: %s\n", e->real,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The new text into a temporary file beside the real one, on disk. */
static int
write_tmp(struct edit *e)
{
	int fd;

	snprintf(e->tmp, sizeof(e->tmp), "%s/.tern.conf.XXXXXX", e->dirname);
	if ((fd = mkostemp(e->tmp, O_CLOEXEC)) == -1) {
		fprintf(stderr, "ternctl: %s: cannot create a temporary file: "
		    "%s\n", e->dirname, strerror(errno));
		e->tmp[0] = '\0';
		return -1;
	}
	if ((e->st.st_uid != geteuid() || e->st.st_gid != getegid()) &&
	    fchown(fd, e->st.st_uid, e->st.st_gid) == -1) {
		fprintf(stderr, "ternctl: %s: cannot give the new file owner "
		    "%lu:%lu: %s\n", e->real, (unsigned long)e->st.st_uid,
		    (unsigned long)e->st.st_gid, strerror(errno));
		close(fd);
		return -1;
	}
	if (fchmod(fd, e->st.st_mode & 07777) == -1 ||
	    lineio_write_all(fd, e->new.data, e->new.len) == -1 ||
	    fsync(fd) == -1) {
		fprintf(stderr, "ternctl: %s: cannot write: %s\n", e->tmp,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "ternctl: %s: cannot write: %s\n", e->tmp,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Rename the checked file into place, unless someone changed the old. */
static int
commit(struct edit *e)
{
	struct stat now;

	if (stat(e->real, &now) == -1 || now.st_ino != e->st.st_ino ||
	    now.st_dev != e->st.st_dev || now.st_size != e->st.st_size ||
	    now.st_mtim.tv_sec != e->st.st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != e->st.st_mtim.tv_nsec) {
		fprintf(stderr, "ternctl: %s: changed by someone else "
		    "meanwhile; try again\n", e->real);
		return -1;
	}
	if (rename(e->tmp, e->real) == -1) {
		fprintf(stderr, "ternctl: %s: cannot rename %s over it: %s\n",
		    e->real, e->tmp, strerror(errno));
		return -1;
	}
	e->tmp[0] = '\0';
	if (fsync(e->dfd) == -1) {
		fprintf(stderr, "ternctl: %s: written, but fsync of %s "
		    "failed: %s\n", e->real, e->dirname, strerror(errno));
		return -1;
	}
	return 0;
}

static int
set_params(const char *dir, int argc, char *argv[])
{
	struct assign a;
	struct edit e;
	int r = 1, i, u;

	memset(&a, 0, sizeof(a));
	memset(&e, 0, sizeof(e));
	e.dfd = -1;
	buf_init(&e.old, CONF_FILE_MAX);
	buf_init(&e.new, CONF_FILE_MAX);
	if (argc < 1) {
		r = usage();
		goto out;
	}
	for (i = 0; i < argc; i++) {
		if ((u = assign_add(&a, argv[i])) != 0) {
			r = u == 2 ? usage() : 1;
			goto out;
		}
	}
	if (check_values(dir, &a) > 0 || edit_open(&e, dir) == -1)
		goto out;
	if (conf_edit((const char *)e.old.data, e.old.len, a.names, a.values,
	    a.n, &e.new) == -1) {
		fprintf(stderr, "ternctl: %s: would grow past %d bytes\n",
		    e.real, CONF_FILE_MAX);
		goto out;
	}
	if (e.new.len == e.old.len &&
	    memcmp(e.new.data, e.old.data, e.old.len) == 0) {
		printf("%s: unchanged\n", e.real);
		r = 0;
		goto out;
	}
	if (write_tmp(&e) == -1)
		goto out;
	if (check_file(dir, e.real, e.tmp) > 0) {
		fprintf(stderr, "ternctl: %s: not changed\n", e.real);
		goto out;
	}
	if (commit(&e) == -1)
		goto out;
	for (i = 0; (size_t)i < a.n; i++)
		printf("%s: %s = %s\n", e.real, a.names[i], a.values[i]);
	printf("run \"ternctl reload\" for a running master to use it\n");
	r = 0;
out:
	if (e.tmp[0] != '\0')
		unlink(e.tmp);
	if (e.dfd != -1)
		close(e.dfd);
	buf_clear(&e.old);
	buf_clear(&e.new);
	assign_free(&a);
	return r;
}

int
ternctl_config(const char *dir, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "defaults", no_argument, NULL, 'd' },
		{ "non-default", no_argument, NULL, 'n' },
		{ "man", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool defaults = false, nondefault = false, man = false;
	const char *sub = "list";
	int ch;

	optind = 0;		/* GNU getopt: start afresh, after main's */
	while ((ch = getopt_long(argc, argv, "dmnh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			defaults = true;
			break;
		case 'm':
			man = true;
			break;
		case 'n':
			nondefault = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (man)
		return argc == 0 && !defaults && !nondefault ? print_man() :
		    usage();
	if (defaults && nondefault)
		return usage();
	if (argc > 0 && (strcmp(argv[0], "list") == 0 ||
	    strcmp(argv[0], "get") == 0 || strcmp(argv[0], "set") == 0)) {
		sub = argv[0];
		argc--;
		argv++;
	} else if (argc > 0)
		sub = "get";
	if (strcmp(sub, "set") == 0)
		return defaults || nondefault ? usage() :
		    set_params(dir, argc, argv);
	if (strcmp(sub, "get") == 0 && (argc == 0 || nondefault))
		return usage();
	if (strcmp(sub, "list") == 0 && argc > 0)
		return usage();
	return list_or_get(dir, argc, argv, defaults, nondefault);
}
