/*
 * SPDX-License-Identifier: ISC
 *
 * dns.h -- DNS lookups for the SMTP client (mail layer): MX hosts, the
 * addresses of a host, and the TLSA records of a host's port for DANE,
 * through libunbound, with DNSSEC validation when a trust anchor is
 * configured.
 *
 * Two parts:
 *
 *   dns.c        the resolver (struct dns): one libunbound context, one
 *                lookup at a time, each bounded by a timeout.  The calls
 *                block (the smtp agent serves one delivery at a time);
 *                inside, each query is asynchronous (libunbound's own
 *                thread, an fd polled until a deadline), so an event-loop
 *                version can later hand the same fd to libevent.
 *   dns_rdata.c  pure, bounded parsers of the record data libunbound
 *                hands over (MX, TLSA, domain names in wire format) and
 *                the MX ordering; they never log, exit or allocate, and
 *                need no libunbound (fuzzed by tests/fuzz/fuzz_dns.c).
 *
 * Names in record data: libunbound stores every record set with its
 * domain names decompressed (the parser of the answer packet follows
 * compression pointers once, in libunbound), and ub_result.data[i] is a
 * copy of that, less the 16-bit length.  A compression pointer inside
 * record data here can therefore only come from a broken or hostile
 * source, and it is refused, as are the obsolete extended label types.
 *
 * Results (enum dns_result): DNS_OK (records), DNS_NODATA (the name
 * exists, the type does not: for MX the caller falls back to the
 * domain's own addresses, RFC 5321 5.1), DNS_NULLMX (RFC 7505: the
 * domain accepts no mail: bounce at once), DNS_NXDOMAIN (no such name),
 * DNS_TEMPFAIL (SERVFAIL or another error code, timeout, resolver error,
 * a DNSSEC-bogus answer, a malformed answer: defer).  A name that is not
 * a valid host name is never sent: DNS_NXDOMAIN, with a reason.
 *
 * DNSSEC: dnssec_validation (enum dns_dnssec) says whether the system
 * resolver setup validates; see dns_open.
 *
 * Process:  smtp (mail_owner, no keys); ternctl may use it for checks.
 * Input:    DNS answers: untrusted.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Debian's dns-root-data: the root zone's trust anchor (DS records). */
#define DNS_ROOT_KEY_FILE	"/usr/share/dns/root.key"
#define DNS_RESOLV_CONF		"/etc/resolv.conf"
#define DNS_HOSTS_FILE		"/etc/hosts"

#define DNS_NAME_MAX		253	/* a name in text, no final dot */
#define DNS_WIRE_MAX		255	/* octets of a name on the wire */
#define DNS_LABEL_MAX		63
#define DNS_TEXT_MAX		1024	/* any wire name as escaped text + NUL */
#define DNS_WHY_MAX		300	/* a reason for the log, with NUL */
#define DNS_RR_MAX		256	/* records of one answer looked at */
#define DNS_CNAME_MAX		8	/* CNAMEs followed by dns.c itself */
#define DNS_MX_MAX		32	/* MX hosts kept, lowest preferences */
#define DNS_ADDR_MAX		32	/* addresses kept */
#define DNS_TLSA_MAX		16	/* TLSA records kept */
#define DNS_TLSA_DATA_MAX	2048	/* association data of one record */
#define DNS_TLSA_POOL		8192	/* association data of all of them */
#define DNS_TIMEOUT_MS		30000	/* one lookup, CNAMEs included */
#define DNS_PROBE_TIMEOUT_MS	5000	/* the DNSSEC probe of dns_open */

/* RR types (RFC 1035, RFC 3596, RFC 6698). */
#define DNS_T_A			1
#define DNS_T_CNAME		5
#define DNS_T_MX		15
#define DNS_T_AAAA		28
#define DNS_T_DNSKEY		48
#define DNS_T_TLSA		52

/* Address families for dns_addr(), as inet_protocols names them. */
#define DNS_INET4		0x1	/* ipv4 */
#define DNS_INET6		0x2	/* ipv6 */
#define DNS_INET_ALL		(DNS_INET4 | DNS_INET6)	/* all */

enum dns_result {
	DNS_OK,
	DNS_NODATA,
	DNS_NULLMX,
	DNS_NXDOMAIN,
	DNS_TEMPFAIL
};

/* What a lookup learnt besides its records.  Every text is safe to log. */
struct dns_info {
	/*
	 * Every answer the result rests on (each CNAME step, and for
	 * dns_addr both families, less one whose lookup failed beside
	 * addresses from the other) was DNSSEC-validated.  Also for a
	 * negative result: a secure DNS_NXDOMAIN or DNS_NODATA is a
	 * proven denial.
	 */
	bool	 secure;
	bool	 bogus;			/* TEMPFAIL because validation failed */
	char	 canon[DNS_NAME_MAX + 1];	/* name after CNAMEs, or "" */
	/*
	 * Why the result is not DNS_OK; after DNS_OK from dns_addr with
	 * both families, why one of them gave nothing (or "").
	 */
	char	 why[DNS_WHY_MAX];
	size_t	 nskipped;		/* records left out ... */
	char	 skipped[DNS_WHY_MAX];	/* ... and why the first one was */
};

struct dns_mx {
	unsigned pref;
	char	 host[DNS_NAME_MAX + 1];	/* a valid host name; "" = root */
};

struct dns_mx_list {
	struct dns_info info;
	size_t	 n;
	struct dns_mx mx[DNS_MX_MAX];	/* by preference, equal ones shuffled */
};

struct dns_addr {
	int	 family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} u;
};

struct dns_addr_list {
	struct dns_info info;
	size_t	 n;
	struct dns_addr addr[DNS_ADDR_MAX];	/* IPv6 first, then IPv4 */
};

struct dns_tlsa {
	uint8_t	 usage;			/* 2 DANE-TA, 3 DANE-EE, ... */
	uint8_t	 selector;		/* 0 certificate, 1 public key */
	uint8_t	 mtype;			/* 0 full, 1 SHA2-256, 2 SHA2-512 */
	size_t	 len;			/* 1..DNS_TLSA_DATA_MAX */
	const uint8_t *data;		/* see dns_parse_tlsa_rdata, dns_tlsa */
};

struct dns_tlsa_list {
	struct dns_info info;
	size_t	 n;
	struct dns_tlsa tlsa[DNS_TLSA_MAX];
	size_t	 pool_len;
	uint8_t	 pool[DNS_TLSA_POOL];	/* the records' data points here */
};

struct dns;

/* ---- the resolver (dns.c, libunbound) ------------------------------------ */

/* dnssec_validation (tern.conf): whether answers are DNSSEC-validated. */
enum dns_dnssec {
	DNS_DNSSEC_AUTO,	/* validate unless the system resolver strips */
	DNS_DNSSEC_YES,		/* validate; the root trust anchor required */
	DNS_DNSSEC_NO		/* never: every answer is insecure, no DANE */
};

/* dns_dnssec_parse -- "auto", "yes" or "no": 0 with *out, or -1. */
int	dns_dnssec_parse(const char *s, enum dns_dnssec *out);

/*
 * dns_open -- a resolver.  config_file "" is the system's: the name
 * servers of DNS_RESOLV_CONF as forwarders, DNS_HOSTS_FILE (when it
 * exists), and DNSSEC as dnssec says:
 *   DNS_DNSSEC_NO    no trust anchor: every answer is insecure.
 *   DNS_DNSSEC_YES   the root trust anchor DNS_ROOT_KEY_FILE, which must
 *                    be readable (otherwise NULL: a start-up error).
 *   DNS_DNSSEC_AUTO  without DNS_ROOT_KEY_FILE, as no.  With it, one
 *                    probe lookup (the DNSKEY of the root, always signed)
 *                    is validated through the forwarders: secure, or no
 *                    answer at all (offline: nothing is learnt), keeps
 *                    the anchor; bogus (the forwarders strip or mangle
 *                    DNSSEC records) logs one warning with libunbound's
 *                    reason and goes on without it.  Someone who can
 *                    strip signatures at that moment turns DNSSEC (and
 *                    DANE) off: sites that rely on DANE say yes.
 * Otherwise config_file is an unbound.conf(5) file read with
 * ub_ctx_config() (local-zone/local-data, forward-zone, trust-anchor-file
 * and so on; this is how tests give answers), and it decides about
 * DNSSEC, except that DNS_DNSSEC_NO turns the validator off.  Every file
 * is read before dns_open returns (the context is finalised by a lookup
 * of "localhost.", which libunbound answers itself), so the caller may
 * chroot afterwards.  Logs one line (log_info) saying which resolver and
 * which DNSSEC setting are in effect, and the warning above; libunbound's
 * own error messages go to the log too, as "libunbound: ..." lines.
 * Returns NULL with a one-line reason in err on failure (not logged).
 * Exits only on memory exhaustion.
 */
struct dns *dns_open(const char *config_file, enum dns_dnssec dnssec,
	    char *err, size_t errsz);

/*
 * The files and the probe of the system setup (config_file ""), for
 * unit tests only: dns_open("") is dns_open_system() with DNS_RESOLV_CONF,
 * DNS_HOSTS_FILE, DNS_ROOT_KEY_FILE and the probe ".".  A test cannot put
 * a port in a resolv.conf, so forward_conf (an unbound.conf(5) with a
 * forward-zone, read instead of resolv_conf when not NULL) stands in for
 * it; everything else, the auto logic included, is the same code.
 * hosts may be NULL (none).  probe is a name under the anchor of
 * root_key whose DNSKEY is signed.
 */
struct dns_system {
	const char	*resolv_conf;
	const char	*forward_conf;
	const char	*hosts;
	const char	*root_key;
	const char	*probe;
};

struct dns *dns_open_system(const struct dns_system *sys,
	    enum dns_dnssec dnssec, char *err, size_t errsz);

/*
 * dns_validating -- whether the resolver has a trust anchor in use (the
 * outcome of dnssec_validation; with an unbound.conf file, true unless
 * DNS_DNSSEC_NO).
 */
bool	dns_validating(const struct dns *);

/* dns_close -- stop the resolver and NULL *dp; NULL is fine. */
void	dns_close(struct dns **dp);

/* dns_set_timeout -- the limit of one lookup (default DNS_TIMEOUT_MS). */
void	dns_set_timeout(struct dns *, unsigned ms);

/* dns_seed -- seed the shuffle of equal MX preferences (tests). */
void	dns_seed(struct dns *, uint64_t seed);

/*
 * dns_mx -- the MX hosts of domain (a final dot is allowed), in
 * preference order, equal preferences in random order, each host once,
 * at most DNS_MX_MAX.  A target that is not a valid host name is
 * skipped (out->info.nskipped, .skipped); when no target is left the
 * result is DNS_TEMPFAIL.  One MX whose target is the root ("."), alone,
 * is DNS_NULLMX; a root target beside others is skipped.
 */
enum dns_result dns_mx(struct dns *, const char *domain,
	    struct dns_mx_list *out);

/*
 * dns_addr -- the AAAA and/or A records of host (families: DNS_INET4,
 * DNS_INET6, or both), IPv6 first, at most DNS_ADDR_MAX (with both
 * families, at most half of that from each).  When one
 * family's lookup fails and the other's gives addresses, the result is
 * DNS_OK with those; DNS_TEMPFAIL when none gave any and one failed.
 * With DNS_OK, info.secure tells whether the lookups that answered were
 * validated (a family whose lookup failed, or was bogus, gave no
 * address and does not count: its reason is in info.why), and
 * info.bogus is false; otherwise secure needs every lookup validated,
 * and bogus is set when one failed validation.
 */
enum dns_result dns_addr(struct dns *, const char *host, int families,
	    struct dns_addr_list *out);

/*
 * dns_tlsa -- the TLSA records of _port._tcp.host (RFC 6698, RFC 7672).
 * For DANE: DNS_OK with info.secure: use them; DNS_OK without it, or
 * DNS_NODATA / DNS_NXDOMAIN: no DANE for this host; DNS_TEMPFAIL (with
 * info.bogus when validation failed): defer.  Malformed records and
 * those past the limits are skipped (info.nskipped): DNS_OK may come
 * with n == 0, records that exist but none usable, which RFC 7672 2.2
 * tells apart from no records (TLS is then still required).  Whether a
 * kept record is usable for SMTP is dns_tlsa_usable().  The data of each
 * record points into out->pool: the list must not be copied by value.
 */
enum dns_result dns_tlsa(struct dns *, const char *host, unsigned port,
	    struct dns_tlsa_list *out);

/* dns_result_str -- "ok", "no data", "null MX", "no such domain", ... */
const char *dns_result_str(enum dns_result);

/* ---- pure parsers (dns_rdata.c) ------------------------------------------ */

/*
 * dns_name_to_text -- the uncompressed wire-format name at wire[0..len)
 * as text: labels joined by ".", no final dot, the root as ".".  Bytes
 * other than letters, digits, "-" and "_" are written as \DDD (decimal),
 * so the text is printable and unambiguous.  Returns the octets the name
 * takes (1..DNS_WIRE_MAX), or 0 with *err_r set: the name runs past
 * len, is longer than DNS_WIRE_MAX octets, holds a compression pointer
 * or an extended label type, or its text does not fit in outsz (a
 * buffer of DNS_TEXT_MAX holds any name).
 */
size_t	dns_name_to_text(const uint8_t *wire, size_t len, char *out,
	    size_t outsz, const char **err_r);

/*
 * dns_host_ok -- name is a host name Tern looks up or connects to:
 * hostname_ok() with HOSTNAME_UNDERSCORE (lib/hostname.h): 1 to
 * DNS_NAME_MAX characters, no final dot, labels of 1 to 63 letters,
 * digits, "-" and "_" that neither begin nor end with "-", and a last
 * label that is not all digits (an IPv4 address is not a host name).
 * "_" is not in RFC 952's host names, but MX hosts named so exist and
 * Postfix takes them: refusing them would bounce mail for their domains.
 */
bool	dns_host_ok(const char *name);

/*
 * dns_parse_mx_rdata -- MX record data (RFC 1035 3.3.9): a 16-bit
 * preference and a name that fills the rest exactly.  Returns 0 with
 * *out filled (out->host "" for the root, the null MX target of RFC
 * 7505), or -1 with *err_r set: malformed, or the target is not a host
 * name (dns_host_ok).
 */
int	dns_parse_mx_rdata(const uint8_t *rdata, size_t len,
	    struct dns_mx *out, const char **err_r);

/*
 * dns_parse_tlsa_rdata -- TLSA record data (RFC 6698 2.1): usage,
 * selector and matching type octets, then at least one octet and at
 * most DNS_TLSA_DATA_MAX of association data; a SHA2-256 digest must
 * have 32 octets and a SHA2-512 one 64 (RFC 7671 9, an unusable record
 * otherwise).  Returns 0 with *out filled (out->data points into rdata),
 * or -1 with *err_r set.
 */
int	dns_parse_tlsa_rdata(const uint8_t *rdata, size_t len,
	    struct dns_tlsa *out, const char **err_r);

/*
 * dns_tlsa_usable -- the record is one an SMTP client uses (RFC 7672
 * 3.1): DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type 0, 1
 * or 2.  PKIX-TA(0) and PKIX-EE(1) records are unusable for SMTP.
 */
bool	dns_tlsa_usable(const struct dns_tlsa *);

/*
 * dns_mx_order -- sort mx[0..n) by preference, then shuffle each run of
 * equal preferences with the generator whose state is *rng (the same
 * state gives the same order).
 */
void	dns_mx_order(struct dns_mx *mx, size_t n, uint64_t *rng);

#endif
