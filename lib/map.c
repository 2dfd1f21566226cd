/*
 * SPDX-License-Identifier: ISC
 *
 * map.c -- lookup tables: opening lmdb:, inline: and static: maps, looking
 * keys up, and building .lmdb files from text sources.
 *
 * Process:  any process that consults a table; ternctl builds them.
 * Input:    map names from tern.conf, .lmdb files that ternctl wrote (an
 *           LMDB file is trusted as LMDB trusts it; values are checked
 *           for NUL bytes and size all the same), source files.
 * Failure:  map_open/map_lookup return errors, never log; map_build
 *           reports through the caller's diag function.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "map.h"
#include "xmem.h"

#define LMDB_SUFFIX	".lmdb"
#define TMP_SUFFIX	".lmdb.tmp"
#define MSG_MAX		1024
#define BUILD_TRIES	4	/* map sizes tried, each twice the last */

/* The record that marks a Tern table; no real key starts with NUL. */
static const char meta_key[] = "\0tern-map";
#define META_KEY_LEN	(sizeof(meta_key) - 1)
#define META_VALUE	"tern-map 1"

enum map_type { MAP_T_LMDB, MAP_T_INLINE, MAP_T_STATIC };

struct map {
	enum map_type	 type;
	char		*name;
	char		 err[MAP_ERR_MAX];
	/* lmdb: */
	char		*path;		/* the .lmdb file */
	MDB_env		*env;
	MDB_dbi		 dbi;
	dev_t		 dev;		/* of the file env has open */
	ino_t		 ino;
	/* inline: */
	struct map_source src;
	/* static: */
	char		*value;
};

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
}

/*
 * Reading .lmdb files.
 */

/*
 * Open path read-only without a lock file: the file is never written
 * after ternctl renamed it into place.
 */
static int
lmdb_open(const char *path, MDB_env **env_r, MDB_dbi *dbi_r,
    struct stat *st_r, char *err, size_t errsz)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, fd;

	if ((rc = mdb_env_create(&env)) != 0) {
		seterr(err, errsz, "%s: %s", path, mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY |
	    MDB_NOLOCK, 0)) != 0 ||
	    (rc = mdb_env_get_fd(env, &fd)) != 0 ||
	    (fstat(fd, st_r) == -1 && (rc = errno) != 0) ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
		seterr(err, errsz, "cannot open %s: %s", path,
		    mdb_strerror(rc));
		mdb_env_close(env);
		return -1;
	}
	k.mv_data = (void *)meta_key;
	k.mv_size = META_KEY_LEN;
	if ((rc = mdb_dbi_open(txn, NULL, 0, dbi_r)) != 0 ||
	    (rc = mdb_get(txn, *dbi_r, &k, &v)) != 0 ||
	    v.mv_size != strlen(META_VALUE) ||
	    memcmp(v.mv_data, META_VALUE, v.mv_size) != 0) {
		seterr(err, errsz, "%s: not a table built by ternctl map "
		    "build%s%s", path, rc != 0 && rc != MDB_NOTFOUND ? ": " :
		    "", rc != 0 && rc != MDB_NOTFOUND ? mdb_strerror(rc) : "");
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return -1;
	}
	/* A read-only commit keeps the handle; abort could close it. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		seterr(err, errsz, "%s: %s", path, mdb_strerror(rc));
		mdb_env_close(env);
		return -1;
	}
	*env_r = env;
	return 0;
}

static int
open_lmdb(struct map *m, const char *base, char *err, size_t errsz)
{
	struct stat st;

	if (*base == '\0') {
		seterr(err, errsz, "no file name after \"lmdb:\"");
		return -1;
	}
	if (strlen(base) + sizeof(TMP_SUFFIX) > PATH_MAX) {
		seterr(err, errsz, "file name too long");
		return -1;
	}
	m->path = xasprintf("%s%s", base, LMDB_SUFFIX);
	if (lmdb_open(m->path, &m->env, &m->dbi, &st, err, errsz) == -1)
		return -1;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

/* A rebuild renamed a new file over ours: use it if it opens. */
static void
maybe_reopen(struct map *m)
{
	char err[MAP_ERR_MAX];
	struct stat st;
	MDB_env *env;
	MDB_dbi dbi;

	if (stat(m->path, &st) == -1 ||
	    (st.st_dev == m->dev && st.st_ino == m->ino))
		return;
	if (lmdb_open(m->path, &env, &dbi, &st, err, sizeof(err)) == -1)
		return;
	mdb_env_close(m->env);
	m->env = env;
	m->dbi = dbi;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
}

/* Copy n bytes of a value out as a C string. */
static enum map_result
copy_value(struct map *m, const void *data, size_t n, char *value,
    size_t sz)
{
	if (n >= sz) {
		seterr(m->err, sizeof(m->err), "%s: value of %zu bytes does "
		    "not fit a buffer of %zu", m->name, n, sz);
		return MAP_TEMPFAIL;
	}
	if (memchr(data, '\0', n) != NULL) {
		seterr(m->err, sizeof(m->err), "%s: NUL byte in a value",
		    m->name);
		return MAP_TEMPFAIL;
	}
	memcpy(value, data, n);
	value[n] = '\0';
	return MAP_FOUND;
}

static enum map_result
lookup_lmdb(struct map *m, const char *key, size_t klen, char *value,
    size_t sz)
{
	enum map_result r;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	maybe_reopen(m);
	if ((rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &txn)) != 0) {
		seterr(m->err, sizeof(m->err), "%s: %s", m->path,
		    mdb_strerror(rc));
		return MAP_TEMPFAIL;
	}
	k.mv_data = (void *)key;
	k.mv_size = klen;
	if ((rc = mdb_get(txn, m->dbi, &k, &v)) == MDB_NOTFOUND)
		r = MAP_NOTFOUND;
	else if (rc != 0) {
		seterr(m->err, sizeof(m->err), "%s: %s", m->path,
		    mdb_strerror(rc));
		r = MAP_TEMPFAIL;
	} else
		r = copy_value(m, v.mv_data, v.mv_size, value, sz);
	mdb_txn_abort(txn);
	return r;
}

/*
 * inline: and static:
 */

static int
by_key(const void *k, const void *e)
{
	return strcmp(k, ((const struct map_entry *)e)->key);
}

static enum map_result
lookup_inline(struct map *m, const char *key, char *value, size_t sz)
{
	const struct map_entry *e;

	/* An empty inline:{} has no array: bsearch must not see NULL. */
	if (m->src.n == 0)
		return MAP_NOTFOUND;
	if ((e = bsearch(key, m->src.ents, m->src.n, sizeof(*m->src.ents),
	    by_key)) == NULL)
		return MAP_NOTFOUND;
	return copy_value(m, e->value, e->vlen, value, sz);
}

/* static:value or static:{ value }. */
static int
open_static(struct map *m, const char *v, char *err, size_t errsz)
{
	size_t n = strlen(v);

	if (n > 0 && v[0] == '{') {
		if (v[n - 1] != '}') {
			seterr(err, errsz, "missing \"}\" after \"static:{\"");
			return -1;
		}
		for (v++, n -= 2; n > 0 && (*v == ' ' || *v == '\t'); n--)
			v++;
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
	}
	if (n == 0) {
		seterr(err, errsz, "no value after \"static:\"");
		return -1;
	}
	if (n > MAP_VALUE_MAX) {
		seterr(err, errsz, "static value too long (more than %d "
		    "bytes)", MAP_VALUE_MAX);
		return -1;
	}
	m->value = xstrndup(v, n);
	return 0;
}

/*
 * The interface.
 */

int
map_open(const char *name, struct map **map_r, char *err, size_t errsz)
{
	struct map *m;
	const char *colon;
	int r;

	*map_r = NULL;
	if (strlen(name) > MAP_NAME_MAX) {
		seterr(err, errsz, "map name too long (more than %d bytes)",
		    MAP_NAME_MAX);
		return -1;
	}
	if ((colon = strchr(name, ':')) == NULL || colon == name) {
		seterr(err, errsz, "no map type (such as lmdb:/path)");
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	map_source_init(&m->src);
	if (strncmp(name, "lmdb:", 5) == 0) {
		m->type = MAP_T_LMDB;
		r = open_lmdb(m, name + 5, err, errsz);
	} else if (strncmp(name, "inline:", 7) == 0) {
		m->type = MAP_T_INLINE;
		r = map_parse_inline(&m->src, name + 7, err, errsz);
	} else if (strncmp(name, "static:", 7) == 0) {
		m->type = MAP_T_STATIC;
		r = open_static(m, name + 7, err, errsz);
	} else {
		seterr(err, errsz, "unknown map type \"%.*s\" (Tern has lmdb, "
		    "inline and static)", (int)(colon - name < 32 ?
		    colon - name : 32), name);
		r = -1;
	}
	if (r == -1) {
		map_close(&m);
		return -1;
	}
	*map_r = m;
	return 0;
}

enum map_result
map_lookup(struct map *m, const char *key, char *value, size_t sz)
{
	char folded[MAP_KEY_MAX + 1];
	size_t n = strlen(key);

	m->err[0] = '\0';
	if (n == 0 || n > MAP_KEY_MAX)
		return MAP_NOTFOUND;
	memcpy(folded, key, n + 1);
	map_fold(folded, n);
	switch (m->type) {
	case MAP_T_LMDB:
		return lookup_lmdb(m, folded, n, value, sz);
	case MAP_T_INLINE:
		return lookup_inline(m, folded, value, sz);
	case MAP_T_STATIC:
		return copy_value(m, m->value, strlen(m->value), value, sz);
	}
	seterr(m->err, sizeof(m->err), "%s: bad map type", m->name);
	return MAP_TEMPFAIL;
}

const char *
map_error(const struct map *m)
{
	return m->err;
}

const char *
map_name(const struct map *m)
{
	return m->name;
}

void
map_close(struct map **mapp)
{
	struct map *m = *mapp;

	if (m == NULL)
		return;
	if (m->env != NULL)
		mdb_env_close(m->env);
	map_source_clear(&m->src);
	free(m->path);
	free(m->value);
	free(m->name);
	free(m);
	*mapp = NULL;
}

/*
 * Building: source -> source.lmdb.tmp -> rename -> source.lmdb.
 */

struct build {
	const char	*source;
	map_diag_fn	 diag;
	void		*arg;
	int		 errors;
};

static void	berr(struct build *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* A problem with a whole file (line 0). */
static void
berr(struct build *b, const char *file, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	b->errors++;
	if (b->diag == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->diag(b->arg, file, 0, msg);
}

/*
 * The whole source into *text_r (malloc'd), under an exclusive flock held
 * through *fd_r until the caller closes it.
 */
static int
read_source(struct build *b, int *fd_r, struct stat *st, char **text_r,
    size_t *len_r)
{
	size_t len = 0;
	ssize_t n;
	char *text;
	int fd;

	if ((fd = open(b->source, O_RDONLY | O_CLOEXEC)) == -1) {
		berr(b, b->source, "cannot open: %s", strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
		;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		berr(b, b->source, "not a regular file");
		close(fd);
		return -1;
	}
	/* One byte more than allowed, so that map_parse sees it is too big. */
	text = xmalloc(MAP_FILE_MAX + 1);
	while (len <= MAP_FILE_MAX) {
		if ((n = read(fd, text + len, MAP_FILE_MAX + 1 - len)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == -1) {
			berr(b, b->source, "cannot read: %s", strerror(errno));
			free(text);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*fd_r = fd;
	*text_r = text;
	*len_r = len;
	return 0;
}

/*
 * A map size for src: LMDB keeps small records in pages, large values in
 * overflow pages of their own, and needs branch pages and free space on
 * top.  Generous is free (the file grows only as pages are written); a
 * map that is still too small is doubled by the caller.
 */
static size_t
map_size(const struct map_source *src)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096, total = 0, node, i;

	for (i = 0; i < src->n; i++) {
		node = 16 + src->ents[i].klen + src->ents[i].vlen;
		if (node > page / 4)
			total += (node / page + 2) * page;
		else
			total += 2 * node;
	}
	total += total / 2 + 64 * page + 1024 * 1024;
	return (total + page - 1) / page * page;
}

/* Give the new table the source's read bits and, when we may, owner. */
static int
set_owner(struct build *b, const char *tmp, int fd, const struct stat *st)
{
	uid_t uid = geteuid() == 0 ? st->st_uid : (uid_t)-1;

	if (fchown(fd, uid, st->st_gid) == -1 && geteuid() == 0) {
		berr(b, tmp, "cannot change owner: %s", strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600 | (st->st_mode & 0044)) == -1) {
		berr(b, tmp, "cannot change mode: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
    const void *value, size_t vlen)
{
	MDB_val k, v;

	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)value;
	v.mv_size = vlen;
	/* Sorted input: MDB_APPEND fills pages and catches disorder. */
	return mdb_put(txn, dbi, &k, &v, MDB_APPEND);
}

/* Every entry into the new, empty file tmp; returns an LMDB code. */
static int
write_entries(const char *tmp, const struct map_source *src, size_t size)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	size_t i;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	if ((rc = mdb_env_set_mapsize(env, size)) != 0 ||
	    (rc = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK,
	    0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0) {
		mdb_env_close(env);
		return rc;
	}
	if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0)
		rc = put(txn, dbi, meta_key, META_KEY_LEN, META_VALUE,
		    strlen(META_VALUE));
	for (i = 0; rc == 0 && i < src->n; i++)
		rc = put(txn, dbi, src->ents[i].key, src->ents[i].klen,
		    src->ents[i].value, src->ents[i].vlen);
	if (rc != 0)
		mdb_txn_abort(txn);
	else
		rc = mdb_txn_commit(txn);	/* writes and syncs */
	mdb_env_close(env);
	return rc;
}

/* Write tmp in full and fsync it; on failure nothing is left behind. */
static int
write_tmp(struct build *b, const char *tmp, const struct map_source *src,
    const struct stat *st)
{
	size_t size = map_size(src);
	int fd, rc = MDB_MAP_FULL, i;

	for (i = 0; i < BUILD_TRIES && rc == MDB_MAP_FULL; i++, size *= 2) {
		/* Our own empty file first, so that LMDB starts afresh. */
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1) {
			berr(b, tmp, "cannot create: %s", strerror(errno));
			return -1;
		}
		if (set_owner(b, tmp, fd, st) == -1) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		if ((rc = write_entries(tmp, src, size)) == 0 &&
		    fsync(fd) == -1)
			rc = errno;
		close(fd);
		if (rc != 0)
			unlink(tmp);
	}
	if (rc != 0) {
		berr(b, tmp, "cannot write: %s", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

/* fsync the directory of path, so that a rename in it is durable. */
static int
sync_dir(struct build *b, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, r = 0;

	if (slash == NULL)
		dir = xstrdup(".");
	else
		dir = xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		berr(b, dir, "cannot sync directory: %s", strerror(errno));
		r = -1;
	}
	if (fd != -1)
		close(fd);
	free(dir);
	return r;
}

static void
install(struct build *b, const struct map_source *src,
    const struct stat *st)
{
	char *out, *tmp;

	out = xasprintf("%s%s", b->source, LMDB_SUFFIX);
	tmp = xasprintf("%s%s", b->source, TMP_SUFFIX);
	if (strlen(tmp) >= PATH_MAX)
		berr(b, b->source, "file name too long");
	else if (write_tmp(b, tmp, src, st) == 0) {
		if (rename(tmp, out) == -1) {
			berr(b, out, "cannot rename %s: %s", tmp,
			    strerror(errno));
			unlink(tmp);
		} else
			sync_dir(b, out);
	}
	free(out);
	free(tmp);
}

int
map_build(const char *source, enum map_format fmt, map_diag_fn diag,
    void *arg, size_t *entries_r)
{
	struct map_source src;
	struct build b;
	struct stat st;
	size_t len;
	char *text;
	int fd;

	memset(&b, 0, sizeof(b));
	b.source = source;
	b.diag = diag;
	b.arg = arg;
	if (entries_r != NULL)
		*entries_r = 0;
	if (read_source(&b, &fd, &st, &text, &len) == -1)
		return b.errors;
	map_source_init(&src);
	b.errors = map_parse(&src, fmt, source, text, len, diag, arg);
	free(text);
	if (b.errors == 0)
		install(&b, &src, &st);
	if (b.errors == 0 && entries_r != NULL)
		*entries_r = src.n;
	map_source_clear(&src);
	close(fd);		/* the lock goes with it */
	return b.errors;
}
