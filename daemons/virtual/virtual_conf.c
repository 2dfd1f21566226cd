/*
 * SPDX-License-Identifier: ISC
 *
 * virtual_conf.c -- what the virtual agent reads from tern.conf: its
 * tables, the lookup keys of an address, mailbox paths, and the ids it
 * delivers as.
 *
 * Process:  virtual, at start (ids, configuration) and per recipient
 *           (keys, paths).
 * Input:    tern.conf values and table values (trusted, but checked: a
 *           path may not leave virtual_mailbox_base); recipient
 *           addresses (from the queue file).
 * Failure:  -1 with a static reason; nothing here logs or exits.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "map.h"
#include "recipient.h"
#include "virtual.h"
#include "xmem.h"

static bool
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
virtual_maps_split(const char *value, char ***names_r, size_t *n_r,
    const char **err_r)
{
	char **names = xcalloc(VIRTUAL_MAPS_MAX, sizeof(*names));
	size_t n = 0, depth, start, i = 0, len = strlen(value);

	while (i < len) {
		while (i < len && is_sep(value[i]))
			i++;
		if (i == len)
			break;
		start = i;
		for (depth = 0; i < len; i++) {
			if (depth == 0 && is_sep(value[i]))
				break;
			if (value[i] == '{')
				depth++;
			else if (value[i] == '}' && depth-- == 0)
				break;		/* a '}' too many */
		}
		if (depth != 0) {
			*err_r = "unbalanced braces";
			goto fail;
		}
		if (n == VIRTUAL_MAPS_MAX) {
			*err_r = "too many tables";
			goto fail;
		}
		names[n] = xmalloc(i - start + 1);
		memcpy(names[n], value + start, i - start);
		names[n][i - start] = '\0';
		n++;
	}
	*names_r = names;
	*n_r = n;
	return 0;
fail:
	virtual_maps_free(names, n);
	return -1;
}

void
virtual_maps_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
virtual_cfg_load(struct virtual_cfg *cfg, const struct conf *c,
    const char **err_r)
{
	const char *maps;
	int64_t t;

	memset(cfg, 0, sizeof(*cfg));
	cfg->base = conf_str(c, "virtual_mailbox_base");
	cfg->domains = conf_list(c, "virtual_mailbox_domains",
	    &cfg->ndomains);
	cfg->delim = conf_str(c, "recipient_delimiter");
	cfg->hopcount_limit = conf_int(c, "hopcount_limit");
	t = conf_time(c, "ipc_timeout");
	cfg->timeout_ms = t > INT_MAX / 1000 ? INT_MAX : (int)(t * 1000);
	/* The content, plus room for up to QFILE_RCPT_MAX recipients. */
	t = conf_size(c, "message_size_limit");
	cfg->max_size = t == 0 || (uint64_t)t > SIZE_MAX / 2 ?
	    (size_t)1024 * 1024 * 1024 : (size_t)t + 128 * 1024 * 1024;
	maps = conf_get(c, "virtual_mailbox_maps");
	if (virtual_maps_split(maps != NULL ? maps : "", &cfg->map_names,
	    &cfg->nmaps, err_r) == -1)
		return -1;
	strlcpy(cfg->map_err, "not opened yet", sizeof(cfg->map_err));
	return 0;
}

static void
maps_close(struct virtual_cfg *cfg)
{
	size_t i;

	for (i = 0; i < VIRTUAL_MAPS_MAX; i++)
		map_close(&cfg->maps[i]);
}

void
virtual_cfg_clear(struct virtual_cfg *cfg)
{
	maps_close(cfg);
	virtual_maps_free(cfg->map_names, cfg->nmaps);
	cfg->map_names = NULL;
	cfg->nmaps = 0;
}

int
virtual_maps_open(struct virtual_cfg *cfg)
{
	char err[MAP_ERR_MAX];
	size_t i;

	if (cfg->nmaps > 0 && cfg->maps[0] != NULL)
		return 0;
	if (cfg->nmaps == 0) {
		strlcpy(cfg->map_err, "virtual_mailbox_maps is empty",
		    sizeof(cfg->map_err));
		return -1;
	}
	for (i = 0; i < cfg->nmaps; i++) {
		if (map_open(cfg->map_names[i], &cfg->maps[i], err,
		    sizeof(err)) == -1) {
			snprintf(cfg->map_err, sizeof(cfg->map_err),
			    "virtual_mailbox_maps: %s", err);
			maps_close(cfg);
			return -1;
		}
	}
	cfg->map_err[0] = '\0';
	return 0;
}

int
virtual_path(const char *base, const char *value, char *out, size_t sz,
    bool *maildir_r, const char **err_r)
{
	const char *p, *seg;
	size_t n;
	int w;

	while (*value == '/')
		value++;
	if (*value == '\0') {
		*err_r = "empty mailbox path";
		return -1;
	}
	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*err_r = "control character in the mailbox path";
			return -1;
		}
	for (seg = value; *seg != '\0'; seg += n + (seg[n] == '/')) {
		n = strcspn(seg, "/");
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			*err_r = "\"..\" in the mailbox path";
			return -1;
		}
	}
	w = snprintf(out, sz, "%s%s%s", base,
	    base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/", value);
	if (w < 0 || (size_t)w >= sz || (size_t)w >= VIRTUAL_PATH_MAX) {
		*err_r = "mailbox path too long";
		return -1;
	}
	*maildir_r = value[strlen(value) - 1] == '/';
	return 0;
}

/* A decimal id, 1 .. 2^32 - 2; -1 when s is not a number. */
static int64_t
number(const char *s)
{
	int64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 0xfffffffeLL)
			return -2;
	}
	return v;
}

int
virtual_ids(const char *uid, const char *gid, struct priv_user *u,
    const char **err_r)
{
	struct passwd *pw;
	struct group *gr;
	int64_t v;

	memset(u, 0, sizeof(*u));
	if (strlcpy(u->name, uid, sizeof(u->name)) >= sizeof(u->name)) {
		*err_r = "virtual_uid too long";
		return -1;
	}
	if ((v = number(uid)) >= 0)
		u->uid = (uid_t)v;
	else if (v == -2 || (pw = getpwnam(uid)) == NULL) {
		*err_r = "virtual_uid: no such user";
		return -1;
	} else
		u->uid = pw->pw_uid;
	if ((v = number(gid)) >= 0)
		u->gid = (gid_t)v;
	else if (v == -2) {
		*err_r = "virtual_gid: no such group";
		return -1;
	} else if ((gr = getgrnam(gid)) != NULL)
		u->gid = gr->gr_gid;
	else if ((pw = getpwnam(gid)) != NULL)
		u->gid = pw->pw_gid;
	else {
		*err_r = "virtual_gid: no such group";
		return -1;
	}
	if (u->uid == 0) {
		*err_r = "virtual_uid is 0 (root)";
		return -1;
	}
	if (u->gid == 0) {
		*err_r = "virtual_gid is 0";
		return -1;
	}
	return 0;
}
