/*
 * SPDX-License-Identifier: ISC
 *
 * recipient.c -- is an address one of ours?  (recipient tables at RCPT)
 *
 * Process:  smtpd (and the virtual agent for its keys).
 * Input:    envelope recipients parsed by lib/addr; table values are not
 *           interpreted, only found or not.
 * Failure:  a table that cannot answer is a temporary failure, never a
 *           rejection.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "map.h"
#include "recipient.h"
#include "xmem.h"

#define TABLES_MAX	16

struct table_set {
	const char	*param;
	struct map	*maps[TABLES_MAX];
	bool		 missing[TABLES_MAX];	/* absent with its source */
	size_t		 n;
	bool		 opened;
};

struct recipient_tables {
	const struct conf	*conf;
	struct table_set	 virt, alias;
};

static size_t
add_key(char keys[3][RECIPIENT_KEY_MAX], size_t k, const char *head,
    size_t n, const char *tail)
{
	if (n + strlen(tail) >= RECIPIENT_KEY_MAX)
		return k;
	memcpy(keys[k], head, n);
	strlcpy(keys[k] + n, tail, RECIPIENT_KEY_MAX - n);
	return k + 1;
}

size_t
recipient_keys(const char *addr, const char *delim,
    char keys[3][RECIPIENT_KEY_MAX])
{
	const char *at = strrchr(addr, '@');
	size_t k, local_len, ext;

	k = add_key(keys, 0, addr, strlen(addr), "");
	if (at == NULL)
		return k;
	local_len = (size_t)(at - addr);
	if (delim[0] != '\0' && local_len > 1) {
		ext = strcspn(addr + 1, delim) + 1;
		if (ext < local_len)
			k = add_key(keys, k, addr, ext, at);
	}
	return add_key(keys, k, at, 0, at);
}

struct recipient_tables *
recipient_tables_new(const struct conf *conf)
{
	struct recipient_tables *t = xcalloc(1, sizeof(*t));

	t->conf = conf;
	t->virt.param = "virtual_mailbox_maps";
	t->alias.param = "alias_maps";
	return t;
}

static void
set_close(struct table_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		map_close(&s->maps[i]);
	s->n = 0;
	s->opened = false;
}

void
recipient_tables_free(struct recipient_tables **tp)
{
	if (*tp == NULL)
		return;
	set_close(&(*tp)->virt);
	set_close(&(*tp)->alias);
	free(*tp);
	*tp = NULL;
}

/* "lmdb:PATH" with neither PATH.lmdb nor PATH there: no table at all. */
static bool
absent(const char *name)
{
	char path[4200];
	struct stat st;

	if (strncmp(name, "lmdb:", 5) != 0)
		return false;
	snprintf(path, sizeof(path), "%s.lmdb", name + 5);
	return stat(path, &st) == -1 && stat(name + 5, &st) == -1;
}

/* Open what can be; -1 (err set) when a table that exists cannot be. */
static int
set_open(struct recipient_tables *t, struct table_set *s, char *err,
    size_t errsz)
{
	const char *const *names;
	char why[512];
	size_t n, i;

	if (s->opened)
		return 0;
	names = conf_list(t->conf, s->param, &n);
	if (n > TABLES_MAX)
		n = TABLES_MAX;
	for (i = 0; i < n; i++) {
		s->missing[i] = false;
		if (map_open(names[i], &s->maps[i], why, sizeof(why)) == -1) {
			s->maps[i] = NULL;
			if (absent(names[i])) {
				s->missing[i] = true;
				continue;
			}
			s->n = i;
			set_close(s);
			snprintf(err, errsz, "%s: %s", s->param, why);
			return -1;
		}
	}
	s->n = n;
	s->opened = true;
	return 0;
}

/* Look key up in every table of s. */
static enum recipient_known
set_lookup(struct table_set *s, const char *key, char *err, size_t errsz)
{
	char *val;
	size_t i;
	enum recipient_known r = RECIPIENT_UNKNOWN;

	val = xmalloc(MAP_VALUE_MAX + 1);
	for (i = 0; i < s->n && r == RECIPIENT_UNKNOWN; i++) {
		if (s->maps[i] == NULL)
			continue;
		switch (map_lookup(s->maps[i], key, val, MAP_VALUE_MAX + 1)) {
		case MAP_FOUND:
			r = RECIPIENT_KNOWN;
			break;
		case MAP_NOTFOUND:
			break;
		default:
			snprintf(err, errsz, "%s: %s", map_name(s->maps[i]),
			    map_error(s->maps[i]));
			r = RECIPIENT_TEMPFAIL;
		}
	}
	free(val);
	return r;
}

enum recipient_known
recipient_virtual(struct recipient_tables *t, const char *addr, char *err,
    size_t errsz)
{
	char keys[3][RECIPIENT_KEY_MAX];
	enum recipient_known r = RECIPIENT_UNKNOWN;
	size_t n, i;

	conf_list(t->conf, "virtual_mailbox_maps", &n);
	if (n == 0)
		return RECIPIENT_KNOWN;
	if (set_open(t, &t->virt, err, errsz) == -1)
		return RECIPIENT_TEMPFAIL;
	n = recipient_keys(addr, conf_str(t->conf, "recipient_delimiter"),
	    keys);
	for (i = 0; i < n && r == RECIPIENT_UNKNOWN; i++)
		r = set_lookup(&t->virt, keys[i], err, errsz);
	return r;
}

enum recipient_known
recipient_local(struct recipient_tables *t, const char *local, char *err,
    size_t errsz)
{
	char name[RECIPIENT_KEY_MAX];
	const char *delim = conf_str(t->conf, "recipient_delimiter");
	enum recipient_known r;
	size_t i, len, ext = 0, tries = 1;
	bool tables_ok;

	if (strlen(local) >= sizeof(name))
		return RECIPIENT_UNKNOWN;
	for (i = 0; local[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)local[i]);
	name[i] = '\0';
	len = i;
	if (strcmp(name, "postmaster") == 0)
		return RECIPIENT_KNOWN;
	tables_ok = set_open(t, &t->alias, err, errsz) == 0;
	/* The name, then without its extension ("user+ext" -> "user"). */
	if (delim[0] != '\0' && len > 1 &&
	    (ext = strcspn(name + 1, delim) + 1) < len)
		tries = 2;
	for (i = 0; i < tries; i++) {
		if (i == 1)
			name[ext] = '\0';
		if (getpwnam(name) != NULL)
			return RECIPIENT_KNOWN;
		if (tables_ok) {
			r = set_lookup(&t->alias, name, err, errsz);
			if (r != RECIPIENT_UNKNOWN)
				return r;
		}
	}
	return tables_ok ? RECIPIENT_UNKNOWN : RECIPIENT_TEMPFAIL;
}
