/*
 * SPDX-License-Identifier: ISC
 *
 * match.h -- relay control: is a client address in mynetworks, is a domain
 * in mydestination, relay_domains or virtual_mailbox_domains (mail layer:
 * may use base modules, never the reverse).
 *
 * Network entries (mynetworks), one word each:
 *
 *   IPv4   "192.0.2.1" (a host, /32) or "192.0.2.0/24": a dotted quad of
 *          four decimal parts 0..255 without leading zeros ("1.2.3",
 *          "010.0.0.1" and "256.0.0.1" are refused).
 *   IPv6   "::1", "2001:db8::/32", "[::1]", "[::1]/128" (Postfix's form),
 *          or "[2001:db8::/32]": what inet_pton(AF_INET6) accepts, with or
 *          without brackets; the prefix may follow the closing bracket or
 *          sit inside it, but not both.  No zone ("fe80::1%eth0").
 *   prefix 0..32 (IPv4) or 0..128 (IPv6), decimal, no sign and no leading
 *          zero ("/08" is refused: some tools read it as octal).
 *
 * Brackets hold IPv6 only ("[192.0.2.1]" is refused).  Bits of the address
 * beyond the prefix must be zero: "127.0.0.1/8" is refused ("non-null host
 * bits") where Postfix warns and masks, because the administrator meant
 * either the host or the network and we cannot tell which.  Host names,
 * files and lookup tables are not supported.  An IPv4-mapped IPv6 entry
 * with a prefix of 96 or more ("::ffff:192.0.2.0/120") is stored as the
 * IPv4 network it names (192.0.2.0/24).
 *
 * Clients: an IPv4-mapped IPv6 client (::ffff:127.0.0.1, as an AF_INET6
 * listener reports IPv4 peers) is matched as the IPv4 address it carries;
 * IPv4 clients never match IPv6 entries, so "::/0" means every IPv6
 * client, not every client.
 *
 * Domain entries (mydestination, relay_domains, virtual_mailbox_domains):
 *
 *   "example.com"   that domain; with subdomains also "a.b.example.com",
 *                   never "badexample.com"
 *   ".example.com"  only its subdomains ("a.example.com"), whatever the
 *                   subdomains flag says
 *   "[192.0.2.1]", "[IPv6:2001:db8::1]"
 *                   that address literal, compared as text (case aside)
 *
 * Comparison is ASCII case-insensitive (no locale); one trailing dot on a
 * domain or an entry is ignored.  Names are ASCII: IDNs as A-labels.
 *
 * Everything here is pure: never logs, never exits; only match_nets_parse
 * allocates (xmem: exits on memory exhaustion, like every Tern allocation).
 */
#ifndef TERN_MATCH_H
#define TERN_MATCH_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MATCH_NET_MAX		64	/* longest network entry, in bytes */
#define MATCH_NETS_MAX		10000	/* entries in one list */
#define MATCH_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define MATCH_LABEL_MAX		63	/* RFC 1035 2.3.4 */

/* One network: family AF_INET (addr[0..3], the rest zero) or AF_INET6. */
struct match_net {
	int		 family;
	uint8_t		 addr[16];	/* network byte order */
	unsigned	 prefix;	/* 0..32 or 0..128 */
};

struct match_nets {
	struct match_net *v;
	size_t		 n;
};

/*
 * match_net_parse_one -- parse one network entry of len bytes (no NUL
 * needed; a NUL byte is junk) into *out.
 * Returns 0, or -1 with *err_r set to a static string ("bad prefix
 * length", "non-null host bits", ...) and *out unspecified.
 * Pure: never logs, never allocates, never exits.
 */
int	match_net_parse_one(const char *s, size_t len, struct match_net *out,
	    const char **err_r);

/*
 * match_nets_parse -- parse the n words of a list (conf_list()) into *out,
 * which this call initialises.  words may be NULL when n is 0.
 * Returns 0; or -1 with *bad_r the index of the first bad word (n itself
 * when there are more than MATCH_NETS_MAX), *err_r a static string, and
 * *out empty.  bad_r and err_r may be NULL.
 * Never logs; allocates out->v (release with match_nets_free).
 */
int	match_nets_parse(const char *const *words, size_t n,
	    struct match_nets *out, size_t *bad_r, const char **err_r);

/* match_nets_free -- release out->v and empty the list; NULL is fine. */
void	match_nets_free(struct match_nets *);

/*
 * match_nets_contains -- true when sa (AF_INET or AF_INET6; any other
 * family, or NULL, is false) is in one of the networks.  Pure.
 */
bool	match_nets_contains(const struct match_nets *,
	    const struct sockaddr *sa);

/*
 * match_domain -- true when domain is one of the n entries of list (see
 * above for the rules; subdomains: "example.com" also matches its
 * subdomains).  An empty list, an empty domain, a domain with an empty
 * label or longer than MATCH_DOMAIN_MAX match nothing; so do empty
 * entries.  Pure.
 */
bool	match_domain(const char *const *list, size_t n, const char *domain,
	    bool subdomains);

/*
 * match_domain_ok -- true when s is a valid domain entry: an address
 * literal, or an optional leading dot, then labels of [A-Za-z0-9-]
 * (1..MATCH_LABEL_MAX, no hyphen first or last, the last label not all
 * digits), with an optional trailing dot; at most MATCH_DOMAIN_MAX bytes,
 * the trailing dot not counted.
 * Pure.
 */
bool	match_domain_ok(const char *s);

#endif
