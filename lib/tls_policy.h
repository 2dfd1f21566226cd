/*
 * SPDX-License-Identifier: ISC
 *
 * tls_policy.h -- the SMTP client's TLS policy for a next hop (mail
 * layer): smtp_tls_security_level, overridden per destination by
 * smtp_tls_policy_maps, in Postfix's format.
 *
 * Levels, weakest first:
 *   none     no TLS
 *   may      TLS when the server offers STARTTLS, no check; else plaintext
 *   encrypt  TLS required, no certificate check
 *   dane     RFC 7672: TLSA records (DNSSEC-validated) enforced; without
 *            usable records, as "may"
 *   verify   TLS required, the chain to the CA store, the name checked
 *            (by default against the MX host name: "hostname")
 *   secure   as verify, by default against the next-hop domain and its
 *            subdomains ("nexthop:dot-nexthop"), never the MX host name
 *
 * A table value is "level [match=name:name...]", words separated by white
 * space.  match= is for verify and secure only; a name is "hostname"
 * (the MX host's name, known when connecting), "nexthop" (the next-hop
 * domain), "dot-nexthop" (its subdomains), a host name ("_" allowed,
 * lib/hostname.h), an IPv4 address (checked against the certificate's
 * IP addresses), or ".domain" (the subdomains of domain).  Any other
 * attribute is refused: a policy that says more than Tern would enforce
 * must not be silently weakened.
 *
 * Lookup keys, as Postfix's TLS_README says: the next hop verbatim
 * ("[host]", "[host]:port", "host:port", "domain"; an empty next hop is
 * the recipient domain); only a bare domain then tries its parent
 * domains, ".parent", from the nearest up ("a.example.org",
 * ".example.org", ".org").  For each key the tables are asked in their
 * order; the first answer wins.
 */
#ifndef TERN_TLS_POLICY_H
#define TERN_TLS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_POLICY_VALUE_MAX	1024	/* bytes of a table value */
#define TLS_POLICY_MATCH_MAX	8	/* names in match= */
#define TLS_POLICY_NAME_MAX	254	/* ".": 1 + a 253-byte host name */
#define TLS_POLICY_KEY_MAX	512	/* bytes of a lookup key */
#define TLS_POLICY_MAPS_MAX	16	/* tables in smtp_tls_policy_maps */

struct conf;
struct tls_policy_ctx;

enum tls_policy_level {
	TLS_POLICY_NONE,
	TLS_POLICY_MAY,
	TLS_POLICY_ENCRYPT,
	TLS_POLICY_DANE,
	TLS_POLICY_VERIFY,
	TLS_POLICY_SECURE,
};

struct tls_policy {
	enum tls_policy_level level;
	/* verify, secure: the names a certificate may match. */
	bool		 match_hostname;	/* the MX host's own name */
	size_t		 nmatch;
	/* Host names; ".domain" stands for any name below domain. */
	char		 match[TLS_POLICY_MATCH_MAX][TLS_POLICY_NAME_MAX + 1];
	/* The table key that matched, "" for smtp_tls_security_level. */
	char		 key[TLS_POLICY_KEY_MAX + 1];
};

/*
 * tls_policy_level_parse -- "none" .. "secure" into *level_r: 0, or -1.
 * tls_policy_level_name -- the name of a level.  Both pure.
 */
int	tls_policy_level_parse(const char *name,
	    enum tls_policy_level *level_r);
const char *tls_policy_level_name(enum tls_policy_level);

/*
 * tls_policy_parse -- a table value (at most TLS_POLICY_VALUE_MAX
 * bytes) into *p, the match names as written: the keywords "hostname",
 * "nexthop" and "dot-nexthop" are kept as they are (tls_policy_lookup
 * resolves them).  Returns 0, or -1 with *err_r set to a static string
 * (*p is then cleared).  Pure: never logs, allocates or exits.
 */
int	tls_policy_parse(const char *value, struct tls_policy *p,
	    const char **err_r);

/*
 * tls_policy_nexthop -- the next-hop domain of a next hop ("[host]:port"
 * -> "host", "host:port" -> "host", "domain" -> "domain", "" -> domain)
 * into out, and *bare_r: whether the next hop is a bare domain (parent
 * domains are then looked up).  Returns 0, or -1 when it is malformed or
 * does not fit (an empty "[]", an unclosed "[", a bad port).  Pure.
 */
int	tls_policy_nexthop(const char *nexthop, const char *domain, char *out,
	    size_t outsz, bool *bare_r);

/*
 * tls_policy_open -- read smtp_tls_security_level (the default; "may"
 * when the parameter is not known) and open the tables of
 * smtp_tls_policy_maps.  Returns 0 with *ctx_r set, or -1 with err set.
 * Never logs or exits.
 */
int	tls_policy_open(const struct conf *, struct tls_policy_ctx **ctx_r,
	    char *err, size_t errsz);
void	tls_policy_close(struct tls_policy_ctx **);

/*
 * tls_policy_lookup -- the policy for a delivery to nexthop (route.h's
 * next hop; "" for the recipient domain) for recipients in domain: the
 * first table entry found (see above), else the default level.  The match
 * names are resolved: "nexthop" and "dot-nexthop" become the next-hop
 * domain and "." + it (nothing when the next hop is an IPv4 address:
 * no name is below one), "hostname" sets match_hostname; verify without
 * match= gets "hostname", secure "nexthop:dot-nexthop".  Returns 0, or -1
 * with err set when a table cannot answer now or its value is not a valid
 * policy (the caller defers: a broken policy must not send mail with less
 * protection than meant).  Never logs.
 */
int	tls_policy_lookup(struct tls_policy_ctx *, const char *nexthop,
	    const char *domain, struct tls_policy *out, char *err,
	    size_t errsz);

#endif
