/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_dest.c -- where an SMTP next hop leads: the next hop's syntax,
 * and the list of addresses to try, from the MX records of the domain
 * (RFC 5321 5.1) or the addresses of a host in brackets.
 *
 * Process:  smtp (mail_owner, no keys).
 * Input:    next hops from qmgr (trusted: transport_maps, relayhost or
 *           the recipient's domain); DNS answers (untrusted, checked by
 *           lib/dns: every host name handed back is a valid one).
 * Failure:  a bad next hop is -1 for the caller to defer; lookups end in
 *           a list of addresses or one result for every recipient.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dns.h"
#include "log.h"
#include "smtp.h"
#include "xmem.h"

#define SMTP_PORT	25

/* "port" at s: 1..65535, digits only. */
static int
parse_port(const char *s, unsigned *port_r)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 5)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port_r = (unsigned)v;
	return 0;
}

/* The host between brackets: an address, or a host name. */
static int
parse_bracketed(const char *h, size_t n, struct smtp_dest *d,
    const char **err_r)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (n > 5 && strncasecmp(h, "ipv6:", 5) == 0) {
		h += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof(d->host)) {
		*err_r = "empty or too long host in brackets";
		return -1;
	}
	memcpy(d->host, h, n);
	d->host[n] = '\0';
	if (inet_pton(AF_INET, d->host, &a4) == 1 ||
	    inet_pton(AF_INET6, d->host, &a6) == 1) {
		d->literal = true;
		return 0;
	}
	if (!dns_host_ok(d->host)) {
		*err_r = "not a host name or an address";
		return -1;
	}
	return 0;
}

int
smtp_dest_parse(const char *nexthop, struct smtp_dest *d, const char **err_r)
{
	const char *end, *colon;
	size_t n;

	memset(d, 0, sizeof(*d));
	d->port = SMTP_PORT;
	if (nexthop[0] == '[') {
		if ((end = strchr(nexthop, ']')) == NULL) {
			*err_r = "no \"]\" after \"[\"";
			return -1;
		}
		if (parse_bracketed(nexthop + 1, (size_t)(end - nexthop - 1),
		    d, err_r) == -1)
			return -1;
		if (end[1] == '\0')
			return 0;
		if (end[1] != ':' || parse_port(end + 2, &d->port) == -1) {
			*err_r = "expected \":port\" (1 to 65535) after \"]\"";
			return -1;
		}
		return 0;
	}
	d->mx = true;
	colon = strchr(nexthop, ':');
	n = colon != NULL ? (size_t)(colon - nexthop) : strlen(nexthop);
	if (n == 0 || n >= sizeof(d->host)) {
		*err_r = "empty or too long domain";
		return -1;
	}
	memcpy(d->host, nexthop, n);
	d->host[n] = '\0';
	if (!dns_host_ok(d->host)) {
		*err_r = "not a domain name";
		return -1;
	}
	if (colon != NULL && parse_port(colon + 1, &d->port) == -1) {
		*err_r = "expected \":port\" (1 to 65535) after the domain";
		return -1;
	}
	return 0;
}

/* ---- the lookups -------------------------------------------------------------- */

static void
fail_set(struct smtp_dest_fail *f, enum deliver_result res, const char *dsn,
    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
fail_set(struct smtp_dest_fail *f, enum deliver_result res, const char *dsn,
    const char *fmt, ...)
{
	va_list ap;

	f->res = res;
	strlcpy(f->dsn, dsn, sizeof(f->dsn));
	va_start(ap, fmt);
	(void)vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static void
cand_fill(struct smtp_cand *c, const char *host, int family,
    const void *addr, unsigned port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(c, 0, sizeof(*c));
	strlcpy(c->host, host, sizeof(c->host));
	c->family = family;
	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		memcpy(&sin.sin_addr, addr, sizeof(sin.sin_addr));
		memcpy(c->sa, &sin, sizeof(sin));
		c->salen = sizeof(sin);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		memcpy(&sin6.sin6_addr, addr, sizeof(sin6.sin6_addr));
		memcpy(c->sa, &sin6, sizeof(sin6));
		c->salen = sizeof(sin6);
	}
	if (inet_ntop(family, addr, c->addr, sizeof(c->addr)) == NULL)
		strlcpy(c->addr, "?", sizeof(c->addr));
}

/* The resolver, opened at the first lookup of this process. */
static struct dns *
resolver(struct smtp_agent *a, struct smtp_dest_fail *fail)
{
	char err[DNS_WHY_MAX];

	if (a->dns == NULL &&
	    (a->dns = dns_open(a->dns_config, a->dnssec, err,
	    sizeof(err))) == NULL) {
		log_warnx("cannot start the DNS resolver: %s", err);
		fail_set(fail, DELIVER_DEFERRED, "4.4.3", "cannot start the "
		    "DNS resolver: %s", err);
	}
	return a->dns;
}

/* An address literal in brackets: one candidate, if its family is on. */
static size_t
literal(struct smtp_agent *a, const struct smtp_dest *d,
    struct smtp_cand *cands, struct smtp_dest_fail *fail)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, d->host, &a4) == 1 &&
	    (a->families & DNS_INET4)) {
		cand_fill(&cands[0], d->host, AF_INET, &a4, d->port);
		return 1;
	}
	if (inet_pton(AF_INET6, d->host, &a6) == 1 &&
	    (a->families & DNS_INET6)) {
		cand_fill(&cands[0], d->host, AF_INET6, &a6, d->port);
		return 1;
	}
	fail_set(fail, DELIVER_DEFERRED, "4.4.4", "address %s is of a "
	    "family that inet_protocols leaves out", d->host);
	return 0;
}

/*
 * Append host's addresses to cands (n so far, max).  Returns the new
 * count; *res_r the lookup's result.  why is kept for the failure text.
 */
static size_t
add_host(struct smtp_agent *a, const char *queue_id, const char *host,
    bool mx_secure, unsigned port, struct smtp_cand *cands, size_t n,
    size_t max, enum dns_result *res_r, char *why, size_t whysz)
{
	struct dns_addr_list *al;
	size_t i;

	al = xmalloc(sizeof(*al));
	*res_r = dns_addr(a->dns, host, a->families, al);
	if (*res_r != DNS_OK) {
		snprintf(why, whysz, "%s: %s", host, al->info.why[0] != '\0' ?
		    al->info.why : dns_result_str(*res_r));
		log_info("%s: no address for %s: %s", queue_id, host, why);
	}
	for (i = 0; *res_r == DNS_OK && i < al->n && n < max; i++) {
		cand_fill(&cands[n], host, al->addr[i].family,
		    &al->addr[i].u, port);
		cands[n].dnssec = mx_secure && al->info.secure;
		strlcpy(cands[n].canon, al->info.canon,
		    sizeof(cands[n].canon));
		n++;
	}
	free(al);
	return n;
}

/* Whether MX host name h is this host (myhostname; a final dot aside). */
static bool
is_me(const struct smtp_agent *a, const char *h)
{
	size_t n = strlen(a->myhostname);

	if (a->myhostname[0] == '\0' || strncasecmp(h, a->myhostname, n) != 0)
		return false;
	return h[n] == '\0' || (h[n] == '.' && h[n + 1] == '\0');
}

/*
 * RFC 5321 5.1: when this host is one of the MX hosts, it and every MX
 * host as preferred or less are dropped; the number of MX records left.
 */
static size_t
mx_before_me(const struct smtp_agent *a, const struct dns_mx_list *ml)
{
	size_t i, k;

	for (k = 0; k < ml->n; k++)
		if (is_me(a, ml->mx[k].host))
			break;
	if (k == ml->n)
		return ml->n;
	for (i = 0; i < k; i++)
		if (ml->mx[i].pref >= ml->mx[k].pref)
			break;
	return i;
}

/* The first of cands[from..to) that is this host's SMTP server, or NULL. */
static const struct smtp_cand *
self_cand(const struct smtp_agent *a, const struct smtp_cand *cands,
    size_t from, size_t to)
{
	for (; from < to; from++)
		if (smtp_self_is(&a->self,
		    (const struct sockaddr *)cands[from].sa))
			return &cands[from];
	return NULL;
}

/* The MX hosts of d in order, or the domain itself without MX. */
static size_t
mx_hosts(struct smtp_agent *a, const char *queue_id,
    const struct smtp_dest *d, struct smtp_cand *cands, size_t max,
    struct smtp_dest_fail *fail)
{
	const struct smtp_cand *me = NULL;
	struct dns_mx_list *ml;
	enum dns_result r, ar;
	char why[DNS_WHY_MAX + SMTP_NAME_MAX];
	size_t i, n = 0, nmx = 0, before, pref_start = 0;
	bool temp = false;

	ml = xmalloc(sizeof(*ml));
	r = dns_mx(a->dns, d->host, ml);
	why[0] = '\0';
	switch (r) {
	case DNS_NULLMX:
		fail_set(fail, DELIVER_BOUNCED, "5.1.10", "domain %s does not "
		    "accept mail (null MX, RFC 7505)", d->host);
		break;
	case DNS_NXDOMAIN:
		fail_set(fail, DELIVER_BOUNCED, "5.1.2", "Host or domain name "
		    "not found. Name service error for name=%s type=MX: %s",
		    d->host, ml->info.why[0] ? ml->info.why : "Host not found");
		break;
	case DNS_TEMPFAIL:
		fail_set(fail, DELIVER_DEFERRED, "4.4.3", "Host or domain name "
		    "not found. Name service error for name=%s type=MX: %s",
		    d->host, ml->info.why[0] ? ml->info.why :
		    "temporary failure");
		break;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain is its own mail host. */
		n = add_host(a, queue_id, d->host, ml->info.secure, d->port,
		    cands, 0, max, &ar, why, sizeof(why));
		temp = ar == DNS_TEMPFAIL;
		if ((me = self_cand(a, cands, 0, n)) != NULL) {
			fail_set(fail, DELIVER_BOUNCED, "5.4.6", "mail for %s "
			    "loops back to myself (it has no MX and %s is "
			    "this host's SMTP server)", d->host, me->addr);
			free(ml);
			return 0;
		}
		break;
	case DNS_OK:
		if (ml->n > 0 && (nmx = mx_before_me(a, ml)) == 0) {
			fail_set(fail, DELIVER_BOUNCED, "5.4.6", "mail for %s "
			    "loops back to myself (%s is its best MX host)",
			    d->host, a->myhostname);
			free(ml);
			return 0;
		}
		for (i = 0; i < nmx && i < ml->n && n < max; i++) {
			if (i == 0 || ml->mx[i].pref != ml->mx[i - 1].pref)
				pref_start = n;
			before = n;
			n = add_host(a, queue_id, ml->mx[i].host,
			    ml->info.secure, d->port, cands, n, max, &ar, why,
			    sizeof(why));
			temp = temp || ar == DNS_TEMPFAIL;
			/*
			 * An MX host at one of this host's SMTP addresses is
			 * this host under another name: as for myhostname,
			 * it and the MX hosts as preferred or less go.
			 */
			if ((me = self_cand(a, cands, before, n)) != NULL) {
				log_info("%s: MX host %s[%s] of %s is this "
				    "host: MX hosts of preference %u and "
				    "above are not used", queue_id,
				    ml->mx[i].host, me->addr, d->host,
				    ml->mx[i].pref);
				n = pref_start;
				break;
			}
		}
		if (me != NULL && n == 0) {
			fail_set(fail, DELIVER_BOUNCED, "5.4.6", "mail for %s "
			    "loops back to myself (its best MX host %s is this "
			    "host)", d->host, ml->mx[i].host);
			free(ml);
			return 0;
		}
		break;
	}
	if (n == 0 && (r == DNS_OK || r == DNS_NODATA))
		fail_set(fail, temp ? DELIVER_DEFERRED : DELIVER_BOUNCED,
		    temp ? "4.4.3" : "5.4.4", "Host or domain name not found. "
		    "Name service error for name=%s", why);
	free(ml);
	return n;
}

size_t
smtp_dest_lookup(struct smtp_agent *a, const char *queue_id,
    const struct smtp_dest *d, struct smtp_cand *cands, size_t max,
    struct smtp_dest_fail *fail)
{
	enum dns_result r;
	char why[DNS_WHY_MAX + SMTP_NAME_MAX];
	size_t n;

	if (max > a->mx_address_limit)
		max = a->mx_address_limit;
	if (d->literal)
		return literal(a, d, cands, fail);
	if (resolver(a, fail) == NULL)
		return 0;
	if (d->mx)
		return mx_hosts(a, queue_id, d, cands, max, fail);
	n = add_host(a, queue_id, d->host, true, d->port, cands, 0, max, &r,
	    why, sizeof(why));
	if (n == 0)
		fail_set(fail, r == DNS_TEMPFAIL ? DELIVER_DEFERRED :
		    DELIVER_BOUNCED, r == DNS_TEMPFAIL ? "4.4.3" : "5.4.4",
		    "Host or domain name not found. Name service error for "
		    "name=%s", why);
	return n;
}
