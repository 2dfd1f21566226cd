/*
 * SPDX-License-Identifier: ISC
 *
 * tls_policy.c -- the SMTP client's TLS policy: smtp_tls_security_level
 * and smtp_tls_policy_maps (the format and lookup order are in
 * tls_policy.h).
 *
 * Process:  smtp (mail_owner), before each connection's TLS decision.
 * Input:    tern.conf and the policy tables (administrator's, but a value
 *           is parsed strictly and bounded: a typo must give a clear
 *           error, never a weaker policy); next hops from the queue
 *           manager (lib/route).
 * Failure:  -1 with a reason; the caller defers the delivery.
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hostname.h"
#include "map.h"
#include "tls_policy.h"
#include "xmem.h"

struct tls_policy_ctx {
	enum tls_policy_level level;	/* smtp_tls_security_level */
	struct map	*maps[TLS_POLICY_MAPS_MAX];
	size_t		 nmaps;
};

static const char *const level_names[] = {
	[TLS_POLICY_NONE] = "none",
	[TLS_POLICY_MAY] = "may",
	[TLS_POLICY_ENCRYPT] = "encrypt",
	[TLS_POLICY_DANE] = "dane",
	[TLS_POLICY_VERIFY] = "verify",
	[TLS_POLICY_SECURE] = "secure",
};

int
tls_policy_level_parse(const char *name, enum tls_policy_level *level_r)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0) {
			*level_r = (enum tls_policy_level)i;
			return 0;
		}
	return -1;
}

const char *
tls_policy_level_name(enum tls_policy_level level)
{
	if ((size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

/* ---- parsing a table value ----------------------------------------------- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* n bytes at s are an IPv4 address in dotted-quad form. */
static bool
ipv4_ok(const char *s, size_t n)
{
	char tmp[INET_ADDRSTRLEN];
	struct in_addr a4;

	if (n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a4) == 1;
}

/*
 * One match= name: a keyword, a host name or an IPv4 address (tlsproxy
 * checks that against the certificate's IP addresses), or ".domain".
 * Names may carry "_" (lib/hostname.h).
 */
static bool
match_name_ok(const char *s, size_t n)
{
	if ((n == 8 && memcmp(s, "hostname", 8) == 0) ||
	    (n == 7 && memcmp(s, "nexthop", 7) == 0) ||
	    (n == 11 && memcmp(s, "dot-nexthop", 11) == 0))
		return true;
	if (n > 0 && s[0] == '.')
		return hostname_ok(s + 1, n - 1, HOSTNAME_UNDERSCORE);
	return hostname_ok(s, n, HOSTNAME_UNDERSCORE) || ipv4_ok(s, n);
}

/* "a:b:c" (the part after "match=", n bytes) into p->match. */
static int
parse_match(const char *s, size_t n, struct tls_policy *p,
    const char **err_r)
{
	const char *end = s + n, *colon;
	size_t len;

	if (p->nmatch > 0) {
		*err_r = "match= given twice";
		return -1;
	}
	for (;;) {
		colon = memchr(s, ':', (size_t)(end - s));
		len = (size_t)((colon != NULL ? colon : end) - s);
		if (!match_name_ok(s, len)) {
			*err_r = "match=: not a host name, .domain, hostname, "
			    "nexthop or dot-nexthop";
			return -1;
		}
		if (p->nmatch == TLS_POLICY_MATCH_MAX) {
			*err_r = "match=: too many names";
			return -1;
		}
		memcpy(p->match[p->nmatch], s, len);
		p->match[p->nmatch][len] = '\0';
		p->nmatch++;
		if (colon == NULL)
			return 0;
		s = colon + 1;
	}
}

/* One word after the level. */
static int
parse_attr(const char *w, size_t n, struct tls_policy *p,
    const char **err_r)
{
	if (n > 6 && memcmp(w, "match=", 6) == 0)
		return parse_match(w + 6, n - 6, p, err_r);
	if (memchr(w, '=', n) == NULL)
		*err_r = "expected name=value after the level";
	else
		*err_r = "unsupported attribute (only match= is)";
	return -1;
}

static int
parse_words(const char *value, struct tls_policy *p, const char **err_r)
{
	const char *s = value, *w;
	char level[16];
	size_t n;
	bool first = true;

	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0')
			break;
		for (w = s; *s != '\0' && !is_space(*s); s++)
			if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
				*err_r = "control or 8-bit byte in the policy";
				return -1;
			}
		n = (size_t)(s - w);
		if (!first) {
			if (parse_attr(w, n, p, err_r) == -1)
				return -1;
			continue;
		}
		first = false;
		if (n >= sizeof(level)) {
			*err_r = "unknown level";
			return -1;
		}
		memcpy(level, w, n);
		level[n] = '\0';
		if (tls_policy_level_parse(level, &p->level) == -1) {
			*err_r = "unknown level (none, may, encrypt, dane, "
			    "verify or secure)";
			return -1;
		}
	}
	if (first) {
		*err_r = "empty policy";
		return -1;
	}
	return 0;
}

int
tls_policy_parse(const char *value, struct tls_policy *p,
    const char **err_r)
{
	memset(p, 0, sizeof(*p));
	if (strnlen(value, TLS_POLICY_VALUE_MAX + 1) > TLS_POLICY_VALUE_MAX) {
		*err_r = "policy too long";
		goto bad;
	}
	if (parse_words(value, p, err_r) == -1)
		goto bad;
	if (p->nmatch > 0 && p->level != TLS_POLICY_VERIFY &&
	    p->level != TLS_POLICY_SECURE) {
		*err_r = "match= is only for verify and secure";
		goto bad;
	}
	return 0;
bad:
	memset(p, 0, sizeof(*p));
	return -1;
}

/* ---- next hops ----------------------------------------------------------- */

static bool
port_ok(const char *s)
{
	size_t i;
	unsigned long v = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return i > 0 && v >= 1 && v <= 65535;
}

static int
copy_out(const char *s, size_t n, char *out, size_t outsz)
{
	if (n == 0 || n >= outsz || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int
tls_policy_nexthop(const char *nexthop, const char *domain, char *out,
    size_t outsz, bool *bare_r)
{
	const char *close, *colon;

	*bare_r = false;
	if (nexthop[0] == '\0') {
		*bare_r = true;
		return copy_out(domain, strlen(domain), out, outsz);
	}
	if (nexthop[0] == '[') {
		if ((close = strchr(nexthop, ']')) == NULL)
			return -1;
		if (close[1] != '\0' && (close[1] != ':' ||
		    !port_ok(close + 2)))
			return -1;
		return copy_out(nexthop + 1, (size_t)(close - nexthop - 1),
		    out, outsz);
	}
	if ((colon = strchr(nexthop, ':')) != NULL) {
		if (!port_ok(colon + 1))
			return -1;
		return copy_out(nexthop, (size_t)(colon - nexthop), out,
		    outsz);
	}
	*bare_r = true;
	return copy_out(nexthop, strlen(nexthop), out, outsz);
}

/* ---- the tables ---------------------------------------------------------- */

int
tls_policy_open(const struct conf *conf, struct tls_policy_ctx **ctx_r,
    char *err, size_t errsz)
{
	struct tls_policy_ctx *ctx;
	const char *const *names;
	const char *level;
	size_t n, i;

	*ctx_r = NULL;
	ctx = xcalloc(1, sizeof(*ctx));
	/* Defined with the smtp client's parameters; "may" until then. */
	level = conf_get(conf, "smtp_tls_security_level");
	if (level == NULL || level[0] == '\0')
		level = "may";
	if (tls_policy_level_parse(level, &ctx->level) == -1) {
		snprintf(err, errsz, "smtp_tls_security_level: unknown level "
		    "\"%.32s\"", level);
		free(ctx);
		return -1;
	}
	names = conf_list(conf, "smtp_tls_policy_maps", &n);
	if (n > TLS_POLICY_MAPS_MAX) {
		snprintf(err, errsz, "smtp_tls_policy_maps: more than %d "
		    "tables", TLS_POLICY_MAPS_MAX);
		free(ctx);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (map_open(names[i], &ctx->maps[i], err, errsz) == -1) {
			ctx->nmaps = i;
			tls_policy_close(&ctx);
			return -1;
		}
	}
	ctx->nmaps = n;
	*ctx_r = ctx;
	return 0;
}

void
tls_policy_close(struct tls_policy_ctx **ctxp)
{
	size_t i;

	if (*ctxp == NULL)
		return;
	for (i = 0; i < (*ctxp)->nmaps; i++)
		map_close(&(*ctxp)->maps[i]);
	free(*ctxp);
	*ctxp = NULL;
}

/* One key in every table: 1 found (value set), 0 not found, -1 error. */
static int
find(struct tls_policy_ctx *ctx, const char *key, char *value, size_t sz,
    const char **map_r, char *err, size_t errsz)
{
	size_t i;

	for (i = 0; i < ctx->nmaps; i++) {
		*map_r = map_name(ctx->maps[i]);
		switch (map_lookup(ctx->maps[i], key, value, sz)) {
		case MAP_FOUND:
			return 1;
		case MAP_NOTFOUND:
			break;
		case MAP_TEMPFAIL:
			snprintf(err, errsz, "smtp_tls_policy_maps %s: %s",
			    *map_r, map_error(ctx->maps[i]));
			return -1;
		}
	}
	return 0;
}

/*
 * Look key up, then with a bare domain each ".parent": 1 with *found_r
 * the key that answered (key itself or a tail of it), 0 or -1.
 */
static int
find_policy(struct tls_policy_ctx *ctx, const char *key, bool bare,
    const char **found_r, char *value, size_t sz, const char **map_r,
    char *err, size_t errsz)
{
	const char *dot;
	int r;

	if (strlen(key) > TLS_POLICY_KEY_MAX)
		return 0;		/* no table key is that long */
	*found_r = key;
	if ((r = find(ctx, key, value, sz, map_r, err, errsz)) != 0)
		return r;
	for (dot = strchr(key, '.'); bare && dot != NULL;
	    dot = strchr(dot + 1, '.')) {
		*found_r = dot;
		if ((r = find(ctx, dot, value, sz, map_r, err, errsz)) != 0)
			return r;
	}
	return 0;
}

/* Resolve the keywords of p->match for the next-hop domain nh. */
static int
resolve(struct tls_policy *p, const char *nh, char *err, size_t errsz)
{
	char names[TLS_POLICY_MATCH_MAX][TLS_POLICY_NAME_MAX + 1];
	size_t n = p->nmatch, i, dot;

	if (n == 0 && p->level == TLS_POLICY_VERIFY)
		p->match_hostname = true;
	if (n == 0 && p->level == TLS_POLICY_SECURE) {
		strlcpy(names[n++], "nexthop", sizeof(names[0]));
		strlcpy(names[n++], "dot-nexthop", sizeof(names[0]));
	} else
		memcpy(names, p->match, sizeof(names));
	p->nmatch = 0;
	for (i = 0; i < n; i++) {
		if (strcmp(names[i], "hostname") == 0) {
			p->match_hostname = true;
			continue;
		}
		dot = strcmp(names[i], "dot-nexthop") == 0;
		/* Nothing is below an address: dot-nexthop names nothing. */
		if (dot && ipv4_ok(nh, strlen(nh)))
			continue;
		if (dot || strcmp(names[i], "nexthop") == 0) {
			/* A longer one is no host name: refused below. */
			p->match[p->nmatch][0] = '.';
			strlcpy(p->match[p->nmatch] + dot, nh,
			    sizeof(p->match[0]) - dot);
		} else
			strlcpy(p->match[p->nmatch], names[i],
			    sizeof(p->match[0]));
		if (strlen(nh) > 253 || !match_name_ok(p->match[p->nmatch],
		    strlen(p->match[p->nmatch]))) {
			snprintf(err, errsz, "the next-hop domain \"%.64s\" "
			    "is not a host name to match", nh);
			return -1;
		}
		p->nmatch++;
	}
	return 0;
}

int
tls_policy_lookup(struct tls_policy_ctx *ctx, const char *nexthop,
    const char *domain, struct tls_policy *out, char *err, size_t errsz)
{
	char nh[TLS_POLICY_KEY_MAX + 1], value[TLS_POLICY_VALUE_MAX + 1];
	const char *key, *found = "", *map = "", *why;
	bool bare;
	int r;

	memset(out, 0, sizeof(*out));
	if (tls_policy_nexthop(nexthop, domain, nh, sizeof(nh), &bare) ==
	    -1) {
		snprintf(err, errsz, "bad next hop \"%.64s\"", nexthop);
		return -1;
	}
	key = nexthop[0] != '\0' ? nexthop : nh;
	r = find_policy(ctx, key, bare, &found, value, sizeof(value), &map,
	    err, errsz);
	if (r == -1)
		return -1;
	if (r == 0)
		out->level = ctx->level;
	else if (tls_policy_parse(value, out, &why) == -1) {
		snprintf(err, errsz, "smtp_tls_policy_maps: bad policy for "
		    "\"%.64s\": %s (in %.200s)", found, why, map);
		return -1;
	} else
		strlcpy(out->key, found, sizeof(out->key));
	return resolve(out, nh, err, errsz);
}
