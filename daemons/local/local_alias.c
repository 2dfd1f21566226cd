/*
 * SPDX-License-Identifier: ISC
 *
 * local_alias.c -- what alias expansion (lib/alias.h) asks of the agent:
 * lookups in alias_maps with each table's owner, :include: files read as
 * their reader's user in a child, and which domains are ours.
 *
 * Process:  local.  The tables are read by the parent (as Postfix's local
 *           does: the administrator's files); an :include: file is opened
 *           and read only by a child with the ids of the table's (or the
 *           including file's) owner, and handed back through a shared
 *           anonymous mapping, at most ALIAS_INCLUDE_MAX bytes.
 * Input:    table values and :include: files: untrusted text, parsed by
 *           lib/alias.
 * Failure:  a table that cannot be opened or read, an :include: file that
 *           cannot be read: ALIAS_L_TEMPFAIL / -1, so the mail waits.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "local.h"
#include "map.h"
#include "match.h"
#include "xmem.h"

bool
local_domain_ok(struct local_ctx *ctx, const char *domain)
{
	return match_domain(ctx->mydest, ctx->nmydest, domain, false);
}

static bool
cb_local_domain(void *arg, const char *domain)
{
	return local_domain_ok(arg, domain);
}

/* The owner of the file behind table i; ALIAS_OWNER_DEFAULT if none. */
static int64_t
table_owner(struct local_ctx *ctx, size_t i)
{
	struct stat st;

	if (ctx->map_files[i] == NULL || stat(ctx->map_files[i], &st) == -1)
		return ALIAS_OWNER_DEFAULT;
	return (int64_t)st.st_uid;
}

static enum alias_lookup
cb_lookup(void *arg, const char *name, char *value, size_t sz,
    int64_t *owner_r, char *err)
{
	struct local_ctx *ctx = arg;
	char why[MAP_ERR_MAX];
	size_t i;

	for (i = 0; i < ctx->nmaps; i++) {
		if (ctx->maps[i] == NULL && map_open(ctx->map_names[i],
		    &ctx->maps[i], why, sizeof(why)) == -1) {
			snprintf(err, ALIAS_ERR_MAX, "alias_maps: %.200s", why);
			return ALIAS_L_TEMPFAIL;
		}
		switch (map_lookup(ctx->maps[i], name, value, sz)) {
		case MAP_FOUND:
			*owner_r = table_owner(ctx, i);
			return ALIAS_L_FOUND;
		case MAP_NOTFOUND:
			break;
		case MAP_TEMPFAIL:
			snprintf(err, ALIAS_ERR_MAX, "alias_maps %.100s: %.100s",
			    map_name(ctx->maps[i]), map_error(ctx->maps[i]));
			return ALIAS_L_TEMPFAIL;
		}
	}
	return ALIAS_L_NOTFOUND;
}

/* What the reading child leaves in the shared mapping. */
struct inc_shared {
	int64_t		owner;
	size_t		len;
	char		data[];
};

struct inc_job {
	const char	*path;
	struct inc_shared *sh;
};

static void
inc_job(void *arg, struct local_report *rep)
{
	struct inc_job *j = arg;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	if ((fd = open(j->path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "cannot open: %s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "not a regular file");
		return;
	}
	while (got <= ALIAS_INCLUDE_MAX) {
		n = read(fd, j->sh->data + got, ALIAS_INCLUDE_MAX + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
			    "cannot read: %s", strerror(errno));
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > ALIAS_INCLUDE_MAX) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "file larger than %d bytes", ALIAS_INCLUDE_MAX);
		return;
	}
	j->sh->owner = (int64_t)st.st_uid;
	j->sh->len = got;
	local_report_set(rep, DELIVER_SENT, "2.0.0", "read");
}

/* The user whose rights an owner value stands for. */
int
local_owner_user(struct local_ctx *ctx, int64_t owner, struct local_user *u,
    char *err, size_t errsz)
{
	if (!ctx->root) {
		/* No ids to switch to: everything runs as ourselves. */
		if (local_user_byuid(getuid(), u) == -1) {
			snprintf(err, errsz, "cannot look up uid %lu",
			    (unsigned long)getuid());
			return -1;
		}
		return 0;
	}
	if (owner == ALIAS_OWNER_DEFAULT || owner == 0) {
		if (local_user_byname(ctx->default_privs, u) != 0) {
			snprintf(err, errsz, "default_privs: no user %s",
			    ctx->default_privs);
			return -1;
		}
		return 0;
	}
	if (local_user_byuid((uid_t)owner, u) == -1) {
		snprintf(err, errsz, "no user has uid %lld", (long long)owner);
		return -1;
	}
	return 0;
}

static int
cb_include(void *arg, const char *path, int64_t owner, char **text_r,
    size_t *len_r, int64_t *owner_r, char *err)
{
	struct local_ctx *ctx = arg;
	struct local_report rep;
	struct local_user u;
	struct inc_job j;
	size_t maplen = sizeof(struct inc_shared) + ALIAS_INCLUDE_MAX + 1;
	void *p;

	if (local_owner_user(ctx, owner, &u, err, ALIAS_ERR_MAX) == -1)
		return -1;
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, ALIAS_ERR_MAX, "mmap: %s", strerror(errno));
		return -1;
	}
	j.path = path;
	j.sh = p;
	j.sh->len = 0;
	j.sh->owner = 0;
	local_run_as(ctx, &u, (gid_t)-1, LOCAL_INCLUDE_TIMEOUT, inc_job, &j,
	    &rep);
	if (rep.result != DELIVER_SENT) {
		snprintf(err, ALIAS_ERR_MAX, "%.150s (as %.64s)", rep.text,
		    u.name);
		munmap(p, maplen);
		return -1;
	}
	/* The child is not trusted with the length. */
	if (j.sh->len > ALIAS_INCLUDE_MAX) {
		snprintf(err, ALIAS_ERR_MAX, "bad length from the reader");
		munmap(p, maplen);
		return -1;
	}
	*text_r = xmalloc(j.sh->len + 1);
	memcpy(*text_r, j.sh->data, j.sh->len);
	(*text_r)[j.sh->len] = '\0';
	*len_r = j.sh->len;
	*owner_r = j.sh->owner;
	munmap(p, maplen);
	return 0;
}

void
local_alias_ops(struct local_ctx *ctx, struct alias_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->lookup = cb_lookup;
	ops->include = cb_include;
	ops->local_domain = cb_local_domain;
	ops->arg = ctx;
	ops->delim = ctx->delim;
}

size_t
local_split_maps(const char *s, char **words, size_t max, bool *more_r)
{
	size_t i = 0, start, n = 0;
	int depth;

	*more_r = false;
	for (;;) {
		while (s[i] == ',' || s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\n')
			i++;
		if (s[i] == '\0')
			return n;
		start = i;
		for (depth = 0; s[i] != '\0'; i++) {
			if (s[i] == '{')
				depth++;
			else if (s[i] == '}' && depth > 0)
				depth--;
			else if (depth == 0 && (s[i] == ',' || s[i] == ' ' ||
			    s[i] == '\t' || s[i] == '\n'))
				break;
		}
		if (n == max) {
			*more_r = true;
			return n;
		}
		words[n++] = xstrndup(s + start, i - start);
	}
}
