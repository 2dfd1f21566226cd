/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_tls.c -- the SMTP client's TLS: the policy of a destination
 * (lib/tls_policy: smtp_tls_policy_maps, else smtp_tls_security_level;
 * the level and the names a certificate must cover), DANE per MX host
 * (RFC 7672: the TLSA records, and what their absence means), and
 * STARTTLS through tlsproxy's client role (docs/ipc.md, "smtp client ->
 * tlsproxy"): the agent never holds a key, never parses a ciphertext
 * byte, and never speaks plaintext on a connection after the server
 * agreed to TLS.
 *
 * Process:  smtp (mail_owner, no keys).
 * Input:    tern.conf and smtp_tls_policy_maps (trusted, parsed by
 *           lib/tls_policy); TLSA answers (untrusted, parsed by lib/dns);
 *           tlsproxy's answers (a trusted service, parsed with attr.h's
 *           limits).
 * Failure:  a handshake that fails closes the connection and returns -1
 *           with a reason; the caller decides what the level allows.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attr.h"
#include "conf.h"
#include "dns.h"
#include "fdpass.h"
#include "log.h"
#include "smtp.h"
#include "tls_policy.h"
#include "xmem.h"

static const struct {
	const char	   *name;
	enum smtp_tls_level level;
	enum tls_policy_level lib;
} levels[] = {
	{ "none", SMTP_TLS_NONE, TLS_POLICY_NONE },
	{ "may", SMTP_TLS_MAY, TLS_POLICY_MAY },
	{ "encrypt", SMTP_TLS_ENCRYPT, TLS_POLICY_ENCRYPT },
	{ "dane", SMTP_TLS_DANE, TLS_POLICY_DANE },
	{ "verify", SMTP_TLS_VERIFY, TLS_POLICY_VERIFY },
	{ "secure", SMTP_TLS_SECURE, TLS_POLICY_SECURE },
};

const char *
smtp_tls_level_name(enum smtp_tls_level l)
{
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == l)
			return levels[i].name;
	return "?";
}

/*
 * The names a certificate may cover, from the policy's match names
 * (lib/tls_policy resolved nexthop and dot-nexthop; "hostname" is
 * match_hostname).  One exact name (the default of verify: the host
 * connected to; "match=nexthop"; a host name) goes as tlsproxy's
 * server_name, checked by GnuTLS alone.  Anything else (secure's default
 * "nexthop:dot-nexthop", any list, a ".domain") goes whole as ca_names:
 * tlsproxy checks the chain, then that the leaf covers one of the names,
 * ".domain" meaning a dNSName below domain.
 */
static void
match_names(const struct tls_policy *tp, struct smtp_tls_policy *p)
{
	size_t i, exact = tp->match_hostname ? 1 : 0;
	bool dot = false;

	p->match[0] = '\0';
	for (i = 0; i < tp->nmatch; i++) {
		if (tp->match[i][0] == '.')
			dot = true;
		else if (exact++ == 0)
			strlcpy(p->match, tp->match[i], sizeof(p->match));
	}
	if (exact == 1 && !dot)
		return;
	/* SNI: the first exact name, else the host connected to (""). */
	if (tp->match_hostname)
		p->match[0] = '\0';
	p->match_hostname = tp->match_hostname;
	p->nnames = tp->nmatch;
	memcpy(p->names, tp->match, sizeof(p->names));
}

int
smtp_tls_policy(struct smtp_agent *a, const char *nexthop,
    const struct smtp_dest *d, struct smtp_tls_policy *p, char *err,
    size_t errsz)
{
	struct tls_policy *tp;
	size_t i;
	int r = -1;

	memset(p, 0, sizeof(*p));
	if (a->tls_policy == NULL &&
	    tls_policy_open(a->conf, &a->tls_policy, err, errsz) == -1)
		return -1;
	tp = xmalloc(sizeof(*tp));
	if (tls_policy_lookup(a->tls_policy, nexthop, d->host, tp, err,
	    errsz) == -1)
		goto out;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].lib == tp->level)
			break;
	if (i == sizeof(levels) / sizeof(levels[0])) {
		snprintf(err, errsz, "unknown TLS policy level");
		goto out;
	}
	p->level = levels[i].level;
	strlcpy(p->key, tp->key, sizeof(p->key));
	if (p->level == SMTP_TLS_VERIFY || p->level == SMTP_TLS_SECURE)
		match_names(tp, p);
	r = 0;
out:
	free(tp);
	return r;
}

/* ---- DANE: one host's TLSA records (RFC 7672 2.2) -------------------------- */

/* hp falls back to level l, for the reason fmt says (logged). */
static void
dane_fallback(struct smtp_tls_policy *hp, enum smtp_tls_level l,
    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
dane_fallback(struct smtp_tls_policy *hp, enum smtp_tls_level l,
    const char *fmt, ...)
{
	va_list ap;

	hp->level = l;
	hp->tlsa = NULL;
	va_start(ap, fmt);
	(void)vsnprintf(hp->dane_why, sizeof(hp->dane_why), fmt, ap);
	va_end(ap);
}

/* Keep the usable records of tl, in their order; the count. */
static size_t
keep_usable(struct dns_tlsa_list *tl)
{
	size_t i, n = 0;

	for (i = 0; i < tl->n; i++)
		if (dns_tlsa_usable(&tl->tlsa[i]))
			tl->tlsa[n++] = tl->tlsa[i];
	tl->n = n;
	return n;
}

int
smtp_tls_dane(struct smtp_agent *a, const struct smtp_dest *d, const struct smtp_cand *c,
    const struct smtp_tls_policy *p, struct smtp_tls_policy *hp,
    struct dns_tlsa_list *tl, char *why, size_t whysz)
{
	const char *names[2], *base;
	enum dns_result r = DNS_NODATA;
	size_t i, n = 0, found;

	*hp = *p;
	if (!c->dnssec) {
		dane_fallback(hp, SMTP_TLS_MAY, "the MX or address records "
		    "of %s are not DNSSEC-validated", c->host);
		return 0;
	}
	if (a->dns == NULL) {
		snprintf(why, whysz, "no resolver for the TLSA lookup");
		return -1;
	}
	/* RFC 7672 2.2.2: the name after CNAMEs first, then the host's. */
	if (c->canon[0] != '\0' && strcasecmp(c->canon, c->host) != 0)
		names[n++] = c->canon;
	names[n++] = c->host;
	for (i = 0; i < n; i++) {
		base = names[i];
		r = dns_tlsa(a->dns, base, d->port, tl);
		if (r == DNS_TEMPFAIL) {
			snprintf(why, whysz, "TLSA lookup of _%u._tcp.%s %s: "
			    "%s", d->port, base, tl->info.bogus ?
			    "failed DNSSEC validation" : "failed",
			    tl->info.why[0] != '\0' ? tl->info.why :
			    dns_result_str(r));
			return -1;
		}
		if (r == DNS_OK && !tl->info.secure) {
			dane_fallback(hp, SMTP_TLS_MAY, "the TLSA records of "
			    "_%u._tcp.%s are not DNSSEC-validated", d->port,
			    base);
			return 0;
		}
		if (r == DNS_OK)
			break;
		if (!tl->info.secure) {
			dane_fallback(hp, SMTP_TLS_MAY, "the absence of TLSA "
			    "records at _%u._tcp.%s is not DNSSEC-validated",
			    d->port, base);
			return 0;
		}
	}
	if (r != DNS_OK) {
		dane_fallback(hp, SMTP_TLS_MAY, "no TLSA records for "
		    "_%u._tcp.%s", d->port, c->host);
		return 0;
	}
	found = tl->n + tl->info.nskipped;
	if (keep_usable(tl) == 0) {
		dane_fallback(hp, SMTP_TLS_ENCRYPT, "%zu TLSA record%s at "
		    "_%u._tcp.%s, none usable", found, found == 1 ? "" : "s",
		    d->port, base);
		return 0;
	}
	hp->level = SMTP_TLS_DANE;
	hp->tlsa = tl;
	strlcpy(hp->dane_base, base, sizeof(hp->dane_base));
	/* RFC 7672 3.2.2: the TLSA base domain, and the next-hop domain. */
	if (d->literal || strcasecmp(base, d->host) == 0)
		strlcpy(hp->dane_names, base, sizeof(hp->dane_names));
	else
		snprintf(hp->dane_names, sizeof(hp->dane_names), "%s:%s",
		    base, d->host);
	snprintf(hp->dane_why, sizeof(hp->dane_why), "%zu usable TLSA "
	    "record%s at _%u._tcp.%s", tl->n, tl->n == 1 ? "" : "s",
	    d->port, base);
	return 0;
}

/* ---- the hand-off to tlsproxy --------------------------------------------- */

/* With verify=dane: tlsa_count, tlsa_N "u s m hex", dane_names. */
static int
put_dane(struct buf *out, const struct smtp_tls_policy *p)
{
	static const char digits[] = "0123456789abcdef";
	const struct dns_tlsa_list *tl = p->tlsa;
	char name[32], *v;
	size_t i, j, o;
	int r = 0;

	snprintf(name, sizeof(name), "%zu", tl->n);
	if (attr_put_str(out, "tlsa_count", name) == -1)
		return -1;
	v = xmalloc(16 + 2 * DNS_TLSA_DATA_MAX + 1);
	for (i = 0; i < tl->n && r == 0; i++) {
		const struct dns_tlsa *t = &tl->tlsa[i];

		o = (size_t)snprintf(v, 16, "%u %u %u ", t->usage,
		    t->selector, t->mtype);
		for (j = 0; j < t->len; j++) {
			v[o++] = digits[t->data[j] >> 4];
			v[o++] = digits[t->data[j] & 0xf];
		}
		v[o] = '\0';
		snprintf(name, sizeof(name), "tlsa_%zu", i);
		r = attr_put_str(out, name, v);
	}
	free(v);
	if (r == 0)
		r = attr_put_str(out, "dane_names", p->dane_names);
	return r;
}

/* With several names: ca_names, "hostname" being the host connected to. */
static int
put_ca_names(struct buf *out, const struct smtp_tls_policy *p,
    const struct smtp_cand *c)
{
	char names[(TLS_POLICY_MATCH_MAX + 1) * (TLS_POLICY_NAME_MAX + 1)];
	size_t i;

	if (p->nnames == 0 && !p->match_hostname)
		return 0;
	names[0] = '\0';
	if (p->match_hostname)
		strlcpy(names, c->host, sizeof(names));
	for (i = 0; i < p->nnames; i++) {
		if (names[0] != '\0')
			strlcat(names, ":", sizeof(names));
		strlcat(names, p->names[i], sizeof(names));
	}
	return attr_put_str(out, "ca_names", names);
}

/* Step 1: the request, with the server socket and our socketpair end. */
static int
send_request(struct smtp_agent *a, int ctl, int server, int plain,
    const struct smtp_tls_policy *p, const struct smtp_cand *c,
    unsigned port)
{
	struct buf out;
	char portstr[8];
	int fds[2] = { server, plain }, r;
	bool ca = p->level == SMTP_TLS_VERIFY || p->level == SMTP_TLS_SECURE;
	bool dane = p->level == SMTP_TLS_DANE && p->tlsa != NULL;
	const char *name = dane ? p->dane_base : p->match[0] != '\0' ?
	    p->match : c->host;

	snprintf(portstr, sizeof(portstr), "%u", port);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "client") == -1 ||
	    attr_put_str(&out, "proto", "tlsproxy/1") == -1 ||
	    attr_put_str(&out, "server_name", name) == -1 ||
	    attr_put_str(&out, "server_addr", c->addr) == -1 ||
	    attr_put_str(&out, "server_port", portstr) == -1 ||
	    attr_put_str(&out, "service", a->service) == -1 ||
	    attr_put_str(&out, "verify", dane ? "dane" : ca ? "ca" :
	    "none") == -1 ||
	    attr_put_str(&out, "ca_file", dane ? "" :
	    conf_str(a->conf, "smtp_tls_CAfile")) == -1 ||
	    (dane && put_dane(&out, p) == -1) ||
	    (ca && put_ca_names(&out, p, c) == -1)) {
		buf_clear(&out);
		errno = EMSGSIZE;
		return -1;
	}
	r = fdpass_send(ctl, fds, 2, out.data, out.len);
	buf_clear(&out);
	return r;
}

/* Step 4 said ok: the log line RFC 7435 readers look for. */
static int
established(struct smtp_agent *a, const char *queue_id, struct attr_msg *m,
    char *why, size_t whysz)
{
	char proto[64], cipher[128], fp[80], match[32], dane[48];
	int64_t verified = 0, trusted = 0, resumed = 0;
	const char *trust;

	if (attr_get_str(m, "tls_proto", proto, sizeof(proto)) == -1 ||
	    attr_get_str(m, "tls_cipher", cipher, sizeof(cipher)) == -1 ||
	    proto[0] == '\0' || cipher[0] == '\0') {
		snprintf(why, whysz, "tlsproxy sent no protocol or cipher");
		return -1;
	}
	if (attr_get_str(m, "peer_fp", fp, sizeof(fp)) == -1)
		fp[0] = '\0';
	(void)attr_get_int(m, "verified", &verified);
	(void)attr_get_int(m, "trusted", &trusted);
	(void)attr_get_int(m, "resumed", &resumed);
	dane[0] = '\0';
	if (attr_get_str(m, "dane_match", match, sizeof(match)) == 0 &&
	    match[0] != '\0')
		snprintf(dane, sizeof(dane), " (DANE TLSA %s)", match);
	/*
	 * Verified: the chain and the name checked (and required).
	 * Trusted: the chain verifies to smtp_tls_CAfile or the system
	 * store, the name unchecked (may, encrypt).  Untrusted: it does
	 * not.  Anonymous: no certificate sent.
	 */
	trust = verified ? "Verified" : trusted ? "Trusted" :
	    fp[0] != '\0' ? "Untrusted" : "Anonymous";
	log_info("%s: %s TLS connection established to %s: %s with cipher "
	    "%s%s%s%s%s", queue_id, trust, a->sess.relay, proto, cipher,
	    fp[0] != '\0' ? " server certificate sha256=" : "", fp, dane,
	    resumed ? " (resumed)" : "");
	return 0;
}

/* Steps 2 to 4 on ctl; 0 when TLS is up. */
static int
handshake(struct smtp_agent *a, const char *queue_id, int ctl, char *why,
    size_t whysz)
{
	struct attr_msg m;
	struct buf out;
	const char *err;
	int r = -1;

	attr_msg_init(&m);
	if (attr_expect(ctl, &m, a->starttls_ms, "ready", "tlsproxy", why,
	    whysz) == -1)
		goto done;
	attr_msg_clear(&m);
	attr_msg_init(&m);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "start") == -1 ||
	    attr_write(ctl, &out, a->starttls_ms, &err) == -1) {
		buf_clear(&out);
		snprintf(why, whysz, "tlsproxy went away");
		goto done;
	}
	buf_clear(&out);
	if (attr_expect(ctl, &m, a->starttls_ms, "ok", "tlsproxy", why,
	    whysz) == -1)
		goto done;
	r = established(a, queue_id, &m, why, whysz);
done:
	attr_msg_clear(&m);
	return r;
}

int
smtp_tls_start(struct smtp_agent *a, const char *queue_id,
    const struct smtp_tls_policy *p, const struct smtp_cand *c,
    unsigned port, char *why, size_t whysz)
{
	struct smtp_sess *s = &a->sess;
	struct smtpc_nexthop nh;
	struct smtpc ctl;
	char path[DELIVER_RELAY_MAX + 1];
	bool resolve;
	int sp[2], r = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		snprintf(why, whysz, "socketpair: %s", strerror(errno));
		smtp_sess_close(s);
		return -1;
	}
	memset(&nh, 0, sizeof(nh));
	nh.kind = SMTPC_NH_UNIX;
	if ((size_t)snprintf(nh.path, sizeof(nh.path), "%s/private/tlsproxy",
	    a->queue_dir) >= sizeof(nh.path) ||
	    smtpc_connect(&ctl, &nh, a->starttls_ms, path, sizeof(path),
	    &resolve) == -1) {
		snprintf(why, whysz, "cannot reach tlsproxy");
		goto out;
	}
	if (send_request(a, ctl.fd, s->c.fd, sp[1], p, c, port) == -1) {
		snprintf(why, whysz, "request to tlsproxy: %s",
		    strerror(errno));
		smtpc_close(&ctl);
		goto out;
	}
	/* Only tlsproxy holds the server socket and sp[1] from here on. */
	close(sp[1]);
	sp[1] = -1;
	smtpc_close(&s->c);
	r = handshake(a, queue_id, ctl.fd, why, whysz);
	smtpc_close(&ctl);
	if (r == 0) {
		smtpc_open(&s->c, sp[0]);
		sp[0] = -1;
		s->tls = true;
	}
out:
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	if (r == -1)
		smtp_sess_close(s);
	return r;
}
