/*
 * SPDX-License-Identifier: ISC
 *
 * route.c -- where a recipient goes: transport and next hop.
 *
 * Process:  qmgr.
 * Input:    envelope recipients (from queue files, checked by cleanup and
 *           lib/qfile) and transport_maps values (the administrator's).
 * Failure:  a table that cannot answer, or a value that makes no sense,
 *           is a temporary failure: the mail waits, it never bounces.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "map.h"
#include "match.h"
#include "route.h"
#include "xmem.h"

#define ROUTE_MAPS_MAX	16

struct route_ctx {
	const struct conf	*conf;
	struct map		*maps[ROUTE_MAPS_MAX];
	size_t			 nmaps;
};

int
route_valid_transport(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ROUTE_TRANSPORT_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
route_open(const struct conf *conf, struct route_ctx **ctx_r, char *err,
    size_t errsz)
{
	struct route_ctx *ctx;
	const char *const *names;
	size_t n, i;

	ctx = xcalloc(1, sizeof(*ctx));
	ctx->conf = conf;
	names = conf_list(conf, "transport_maps", &n);
	if (n > ROUTE_MAPS_MAX) {
		snprintf(err, errsz, "transport_maps: more than %d tables",
		    ROUTE_MAPS_MAX);
		free(ctx);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (map_open(names[i], &ctx->maps[i], err, errsz) == -1) {
			ctx->nmaps = i;
			route_close(&ctx);
			return -1;
		}
	}
	ctx->nmaps = n;
	*ctx_r = ctx;
	return 0;
}

void
route_close(struct route_ctx **ctxp)
{
	struct route_ctx *ctx = *ctxp;
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->nmaps; i++)
		map_close(&ctx->maps[i]);
	free(ctx);
	*ctxp = NULL;
}

/* 1 found, 0 not, -1 tempfail.  First table that knows the key wins. */
static int
lookup(struct route_ctx *ctx, const char *key, char *val, size_t sz,
    char *err, size_t errsz)
{
	size_t i;

	for (i = 0; i < ctx->nmaps; i++) {
		switch (map_lookup(ctx->maps[i], key, val, sz)) {
		case MAP_FOUND:
			return 1;
		case MAP_NOTFOUND:
			break;
		default:
			snprintf(err, errsz, "%s: %s", map_name(ctx->maps[i]),
			    map_error(ctx->maps[i]));
			return -1;
		}
	}
	return 0;
}

static bool
in_list(const struct conf *conf, const char *param, const char *dom)
{
	const char *const *list;
	size_t n;

	list = conf_list(conf, param, &n);
	return match_domain(list, n, dom, false);
}

static int	apply(const char *, struct route *, char *, size_t);

/* The usual route, before transport_maps. */
static int
default_route(const struct conf *conf, const char *dom, struct route *r,
    char *err, size_t errsz)
{
	const char *t, *relayhost;

	if (dom[0] == '\0' || in_list(conf, "mydestination", dom))
		t = conf_str(conf, "local_transport");
	else if (in_list(conf, "virtual_mailbox_domains", dom))
		t = conf_str(conf, "virtual_transport");
	else
		t = conf_str(conf, "default_transport");
	relayhost = conf_str(conf, "relayhost");
	if (t == conf_str(conf, "default_transport") && relayhost[0] != '\0')
		strlcpy(r->nexthop, relayhost, sizeof(r->nexthop));
	else
		strlcpy(r->nexthop, dom[0] != '\0' ? dom :
		    conf_str(conf, "myhostname"), sizeof(r->nexthop));
	/* "transport" or, as in transport_maps, "transport:nexthop". */
	r->transport[0] = '\0';
	if (apply(t, r, err, errsz) == -1 || r->transport[0] == '\0') {
		if (r->transport[0] == '\0' || strchr(t, ':') == NULL)
			snprintf(err, errsz, "bad transport name \"%.100s\"",
			    t);
		return -1;
	}
	return 0;
}

/* Apply a transport_maps value to the usual route r. */
static int
apply(const char *val, struct route *r, char *err, size_t errsz)
{
	const char *colon = strchr(val, ':');
	size_t tlen = colon != NULL ? (size_t)(colon - val) : strlen(val);
	const char *hop = colon != NULL ? colon + 1 : "";

	if (tlen > 0) {
		if (!route_valid_transport(val, tlen)) {
			snprintf(err, errsz, "transport_maps: bad transport "
			    "in \"%.100s\"", val);
			return -1;
		}
		memcpy(r->transport, val, tlen);
		r->transport[tlen] = '\0';
	}
	if (hop[0] != '\0') {
		if (strlen(hop) > ROUTE_NEXTHOP_MAX) {
			snprintf(err, errsz, "transport_maps: next hop too "
			    "long");
			return -1;
		}
		strlcpy(r->nexthop, hop, sizeof(r->nexthop));
	} else if (strcmp(r->transport, "error") == 0 ||
	    strcmp(r->transport, "discard") == 0)
		r->nexthop[0] = '\0';
	if (tlen == 0 && hop[0] == '\0') {
		snprintf(err, errsz, "transport_maps: empty value");
		return -1;
	}
	return 0;
}

int
route_resolve(struct route_ctx *ctx, const char *addr, struct route *r,
    char *err, size_t errsz)
{
	char dom[256], key[MAP_KEY_MAX + 1], *val;
	const char *at = strrchr(addr, '@'), *p;
	int found = 0;
	size_t i;

	if (at != NULL && strlen(at + 1) < sizeof(dom))
		strlcpy(dom, at + 1, sizeof(dom));
	else if (at != NULL) {
		snprintf(err, errsz, "domain too long");
		return -1;
	} else
		dom[0] = '\0';
	for (i = 0; dom[i] != '\0'; i++)
		dom[i] = (char)tolower((unsigned char)dom[i]);
	/* A domain literal [192.0.2.1] goes to that host, as is. */
	if (default_route(ctx->conf, dom, r, err, errsz) == -1)
		return -1;
	if (ctx->nmaps == 0)
		return 0;

	val = xmalloc(MAP_VALUE_MAX + 1);
	if (strlen(addr) <= MAP_KEY_MAX)
		found = lookup(ctx, addr, val, MAP_VALUE_MAX + 1, err, errsz);
	if (found == 0 && dom[0] != '\0')
		found = lookup(ctx, dom, val, MAP_VALUE_MAX + 1, err, errsz);
	/* Parent domains: ".example.com" for a.b.example.com. */
	for (p = strchr(dom, '.'); found == 0 && p != NULL;
	    p = strchr(p + 1, '.')) {
		strlcpy(key, p, sizeof(key));
		found = lookup(ctx, key, val, MAP_VALUE_MAX + 1, err, errsz);
	}
	if (found == 1 && apply(val, r, err, errsz) == -1)
		found = -1;
	free(val);
	return found == -1 ? -1 : 0;
}
