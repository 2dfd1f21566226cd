/*
 * SPDX-License-Identifier: ISC
 *
 * smtp.h -- the smtp program: the SMTP and LMTP client delivery agent.
 *
 * One process serves one queue manager connection (docs/ipc.md, "qmgr ->
 * delivery agents") with deliver_serve_idle(), and keeps its connection
 * to the server open from one request to the next while the next hop
 * stays the same.  In LMTP mode (argument --lmtp in services.conf) it
 * speaks RFC 2033 to the next hop of the request: unix:/path or
 * inet:host:port.  In SMTP mode (no argument) it sends mail to the
 * Internet: the MX hosts of the next-hop domain, or the host of a
 * "[host]:port" next hop, with STARTTLS through tlsproxy's client role.
 *
 * Parts: smtp_agent.c (settings, the request handler, the log line),
 * smtp_tx.c (the transaction both modes share: MAIL, RCPT, DATA),
 * smtp_lmtp.c (the LMTP session), smtp_dest.c (SMTP next hops and the
 * addresses to try), smtp_out.c (the SMTP session: greeting, EHLO,
 * STARTTLS, trying each address in turn), smtp_tls.c (the TLS policy of
 * a destination, and the hand-off to tlsproxy).
 *
 * Process:  smtp / lmtp (mail_owner, no keys, no queue access: the
 *           queue file arrives as a read-only descriptor).
 * Input:    requests from qmgr (trusted, checked by lib/deliver);
 *           replies from the server (untrusted, parsed by lib/smtpc);
 *           DNS answers (untrusted, parsed by lib/dns).
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver.h"
#include "dns.h"
#include "smtpc.h"
#include "tls_policy.h"

struct conf;

/* Every stage's timeout, in milliseconds. */
struct smtp_timeouts {
	int	connect;
	int	helo;		/* greeting, and the LHLO/EHLO reply */
	int	mail;		/* MAIL FROM, and RSET */
	int	rcpt;
	int	data_init;	/* the reply to DATA */
	int	data_xfer;	/* each write of the content */
	int	data_done;	/* the replies after the final dot */
	int	quit;
};

/* The connection kept open between requests. */
struct smtp_sess {
	bool		 open;
	bool		 tls;		/* through tlsproxy */
	char		 nexthop[DELIVER_NEXTHOP_MAX + 1];
	char		 relay[DELIVER_RELAY_MAX + 1];
	int64_t		 opened_ms;	/* monotonic: when it was made */
	int64_t		 used_ms;	/* and when a request last ended */
	struct smtpc	 c;
	struct smtpc_ext ext;
};

/* smtp_tls_security_level and the names a certificate must cover. */
enum smtp_tls_level {
	SMTP_TLS_NONE,		/* never STARTTLS */
	SMTP_TLS_MAY,		/* when offered; plaintext otherwise */
	SMTP_TLS_ENCRYPT,	/* required, certificate not checked */
	SMTP_TLS_DANE,		/* RFC 7672, decided per MX host */
	SMTP_TLS_VERIFY,	/* required, the MX host name verified */
	SMTP_TLS_SECURE		/* required, the next-hop domain verified */
};

#define SMTP_NAME_MAX	253

struct dns_tlsa_list;

struct smtp_tls_policy {
	enum smtp_tls_level level;
	/*
	 * With verify and secure: the name the server's certificate must
	 * cover (tlsproxy's server_name).  "" means the host name of each
	 * server connected to (the MX host, or the host in brackets).
	 */
	char		match[SMTP_NAME_MAX + 1];
	/*
	 * Or, when the policy names more than one (or a ".domain"), all of
	 * them for tlsproxy's ca_names, match_hostname standing for the
	 * host connected to; match is then only the name sent as SNI.
	 */
	bool		match_hostname;
	size_t		nnames;
	char		names[TLS_POLICY_MATCH_MAX][TLS_POLICY_NAME_MAX + 1];
	/* The smtp_tls_policy_maps key that gave it; "" for the default. */
	char		key[TLS_POLICY_KEY_MAX + 1];
	/*
	 * One host's DANE outcome (smtp_tls_dane): level SMTP_TLS_DANE
	 * with the usable records (tlsa, owned by the caller), the TLSA
	 * base domain (sent as server_name, SNI) and dane_names; or the
	 * level the host falls back to, and why in dane_why.
	 */
	const struct dns_tlsa_list *tlsa;
	char		dane_base[SMTP_NAME_MAX + 1];
	char		dane_names[2 * SMTP_NAME_MAX + 2];
	char		dane_why[160];
};
/* An SMTP next hop: "domain", "domain:port", "[host]", "[host]:port". */
struct smtp_dest {
	char		 host[SMTP_NAME_MAX + 1];	/* no brackets */
	bool		 mx;		/* no brackets: look up its MX */
	bool		 literal;	/* host is an IPv4 or IPv6 address */
	unsigned	 port;		/* 25 unless given */
};

/* One address to try: the host it belongs to, and where it is. */
struct smtp_cand {
	char		 host[SMTP_NAME_MAX + 1];
	char		 addr[64];	/* numeric */
	int		 family;
	uint8_t		 sa[28];	/* struct sockaddr_in or _in6 */
	unsigned	 salen;
	/*
	 * DANE (RFC 7672 2.2): the MX answer (or the proven absence of
	 * MX) and this host's address answer were both DNSSEC-validated;
	 * canon the host name after CNAMEs ("" when none was followed).
	 */
	bool		 dnssec;
	char		 canon[SMTP_NAME_MAX + 1];
};

#define SMTP_CAND_MAX	64

/* ---- smtp_self.c: this host's own SMTP server ----------------------------- */

#define SMTP_SELF_MAX	64

struct smtp_self_addr {
	int		 family;
	uint8_t		 addr[16];
	unsigned	 port;
	bool		 any_addr;	/* bound to every address */
	bool		 any_port;	/* proxy_interfaces: the address alone */
};

struct smtp_self {
	struct smtp_self_addr addrs[SMTP_SELF_MAX];
	size_t		 n;
};

struct sockaddr;

/*
 * smtp_self_load -- the addresses of this host's SMTP server: every inet
 * service of services_path whose command is smtpd (address and port;
 * "every address" kept as such), and the nproxy addresses of proxy
 * (proxy_interfaces, any port).  A file that cannot be used is logged
 * and leaves only proxy.
 */
void	smtp_self_load(struct smtp_self *, const char *services_path,
	    const char *const *proxy, size_t nproxy);

/*
 * smtp_self_is -- whether a connection to sa (AF_INET or AF_INET6, with
 * its port) would reach this host's own SMTP server.
 */
bool	smtp_self_is(const struct smtp_self *, const struct sockaddr *sa);

struct dns;
struct tls_policy_ctx;

struct smtp_agent {
	bool		 lmtp;		/* --lmtp */
	const char	*helo_name;	/* lmtp_lhlo_name, smtp_helo_name */
	const char	*myhostname;	/* an MX of that name is this host */
	struct smtp_timeouts t;
	struct smtp_sess sess;
	/* SMTP mode only. */
	const struct conf *conf;
	const char	*service;	/* services.conf name, for tlsproxy */
	const char	*queue_dir;
	const char	*dns_config;	/* dns_resolver_config */
	enum dns_dnssec	 dnssec;	/* dnssec_validation */
	struct dns	*dns;		/* opened at the first lookup */
	struct tls_policy_ctx *tls_policy; /* opened at the first use */
	int		 families;	/* inet_protocols: DNS_INET4|6 */
	int		 starttls_ms;	/* smtp_starttls_timeout */
	size_t		 mx_address_limit;
	size_t		 mx_session_limit;
	int64_t		 cache_ms;	/* smtp_connection_cache_time_limit */
	int64_t		 reuse_ms;	/* smtp_connection_reuse_time_limit */
	struct smtp_self self;		/* an MX at these addresses is us */
};

/*
 * smtp_agent_init -- the settings of mode (lmtp true or false) from
 * conf; service is the services.conf name.  The session starts closed.
 */
void	smtp_agent_init(struct smtp_agent *, const struct conf *, bool lmtp,
	    const char *service);

/* smtp_agent_clear -- QUIT an open session, close the resolver. */
void	smtp_agent_clear(struct smtp_agent *);

/*
 * smtp_idle -- deliver_serve_idle's hook: QUIT the session once it has
 * been idle for cache_ms or open for reuse_ms; returns the milliseconds
 * until that time, or -1 with no session open.
 */
int	smtp_idle(void *agent);

/* smtp_now_ms -- the monotonic clock in milliseconds. */
int64_t	smtp_now_ms(void);

/*
 * smtp_agent_args -- the service's arguments: "--lmtp" selects LMTP; no
 * argument, SMTP.  Returns 0, or -1 with *err_r set for anything else.
 */
int	smtp_agent_args(int argc, char **argv, bool *lmtp_r,
	    const char **err_r);

/* smtp_handle -- deliver_serve's handler: one request. */
void	smtp_handle(struct deliver_req *, void *agent);

/* smtp_sess_quit -- say QUIT (waiting at most t.quit) and close. */
void	smtp_sess_quit(struct smtp_agent *);

/*
 * smtp_lmtp_deliver -- deliver one request over LMTP: connect or reuse
 * the session, LHLO, then smtp_tx_deliver.
 */
void	smtp_lmtp_deliver(struct smtp_agent *, struct deliver_req *);

/*
 * smtp_out_deliver -- deliver one request over SMTP: reuse the session
 * or try each address of the next hop in turn (greeting, EHLO or HELO,
 * STARTTLS as the TLS policy says), then smtp_tx_deliver.  Every
 * recipient gets a result.
 */
void	smtp_out_deliver(struct smtp_agent *, struct deliver_req *);

/*
 * smtp_log -- one line per recipient, as Postfix writes it:
 * "QID: to=<a>, relay=R, delay=N, dsn=D, status=S (text)".
 */
void	smtp_log(const struct deliver_req *, const struct deliver_rcpt *);

/* ---- smtp_tx.c: what both modes share ------------------------------------ */

/*
 * smtp_tx_deliver -- on a ready session (greeting and EHLO/LHLO done):
 * the checks the server's extensions call for (SIZE 5.3.4, SMTPUTF8
 * 5.6.7, BINARYMIME 5.6.3), MAIL, RCPT and DATA or BDAT, pipelined when
 * offered, then the content and the replies after it (one per accepted
 * recipient in LMTP, one for all in SMTP).  Sets every result it can;
 * a lost session or a 421 defers the rest and closes the session.
 */
void	smtp_tx_deliver(struct smtp_agent *, struct deliver_req *);

/*
 * smtp_sess_reuse -- RSET on the open session: true when it answered
 * 2xx (the session is ready), false after closing it.
 */
bool	smtp_sess_reuse(struct smtp_agent *, struct deliver_req *,
	    struct smtpc_reply *rep);

/* smtp_sess_close -- close the connection without QUIT. */
void	smtp_sess_close(struct smtp_sess *);

/* Every recipient without a result gets this one. */
void	smtp_set_rest(struct deliver_req *, enum deliver_result,
	    const char *dsn, const char *relay, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/*
 * smtp_reply_result -- the result a reply means (2xx sent, 4xx
 * deferred, 5xx bounced), its dsn, and its text: the reply itself for
 * 2xx, else "host R said: ... (in reply to X)".
 */
enum deliver_result smtp_reply_result(const struct smtp_sess *,
	    const struct smtpc_reply *, const char *in_reply_to, char *dsn,
	    char *text, size_t tsz);

/*
 * smtp_io_why -- the text of a broken conversation: "conversation with
 * R timed out while W", "lost connection with R while W", ...
 */
void	smtp_io_why(const struct smtp_sess *, enum smtpc_io,
	    const char *what, char *text, size_t tsz);

/*
 * smtp_lost -- the conversation broke (io) while doing what: defer
 * every recipient without a result (4.4.2), and close the session.
 */
void	smtp_lost(struct smtp_sess *, struct deliver_req *, enum smtpc_io,
	    const char *what);

/*
 * smtp_command -- write line, read its reply within timeout_ms.
 * Returns SMTPC_IO_OK or the failure (the session is left as it is).
 */
enum smtpc_io smtp_command(struct smtp_sess *, struct smtpc_reply *,
	    const char *line, int timeout_ms);

/* ---- smtp_dest.c ----------------------------------------------------------- */

/*
 * smtp_dest_parse -- an SMTP next hop: "domain" or "domain:port" (MX
 * lookup, then that port), "[host]" or "[host]:port" (no MX lookup; host
 * a name, an IPv4 address or an IPv6 address, "ipv6:" prefix allowed).
 * Port 25 unless given.  Pure.  Returns 0, or -1 with *err_r set.
 */
int	smtp_dest_parse(const char *nexthop, struct smtp_dest *,
	    const char **err_r);

/* What smtp_dest_lookup found, when it found no address to try. */
struct smtp_dest_fail {
	enum deliver_result res;	/* DELIVER_BOUNCED or _DEFERRED */
	char		 dsn[DELIVER_DSN_MAX + 1];
	char		 text[DELIVER_TEXT_MAX + 1];
};

/*
 * smtp_dest_lookup -- the addresses to try for d, at most
 * mx_address_limit: the MX hosts in preference order (random among
 * equals: lib/dns), each host's addresses (IPv6 first) of the families
 * inet_protocols allows; the domain's own addresses when it has no MX
 * (NODATA); the host's addresses for "[host]".  Returns the count (> 0),
 * or 0 with *fail set: null MX bounces 5.1.10, NXDOMAIN 5.1.2, no
 * address for any host 5.4.4, a temporary failure defers 4.4.3.
 */
size_t	smtp_dest_lookup(struct smtp_agent *, const char *queue_id,
	    const struct smtp_dest *, struct smtp_cand *cands, size_t max,
	    struct smtp_dest_fail *fail);

/* ---- smtp_tls.c -------------------------------------------------------------- */

/*
 * smtp_tls_policy -- the TLS policy for next hop d (the request's next
 * hop string is nexthop): lib/tls_policy, smtp_tls_policy_maps first,
 * else smtp_tls_security_level.  For verify and secure, the names a
 * certificate may cover: one (server_name), or several (tlsproxy's
 * ca_names).  This is the one place that decides it.  Returns 0, or -1 with err set (a
 * table that cannot answer, a bad value: the recipients are then
 * deferred 4.7.5).
 */
int	smtp_tls_policy(struct smtp_agent *, const char *nexthop,
	    const struct smtp_dest *d, struct smtp_tls_policy *, char *err,
	    size_t errsz);

/*
 * smtp_tls_dane -- at level dane, what host c asks for (RFC 7672 2.2):
 * *hp is a copy of *p with the level that applies: SMTP_TLS_DANE with
 * the usable TLSA records (read into *tl) when they are secure; encrypt
 * when secure records exist but none is usable; may when there are none
 * (secure denial) or the MX or address answer, or the TLSA answer, was
 * not validated (dane_why says which).  Returns 0, or -1 with why set
 * when the TLSA lookup failed or was bogus: this host is deferred
 * (4.7.5) and the next one tried.
 */
int	smtp_tls_dane(struct smtp_agent *, const struct smtp_dest *d, const struct smtp_cand *c,
	    const struct smtp_tls_policy *p, struct smtp_tls_policy *hp,
	    struct dns_tlsa_list *tl, char *why, size_t whysz);

/* smtp_tls_level_name -- "none", "may", ... */
const char *smtp_tls_level_name(enum smtp_tls_level);

/*
 * smtp_tls_start -- after the server answered 220 to STARTTLS: hand the
 * session's socket to tlsproxy with a socketpair end (docs/ipc.md,
 * "smtp client -> tlsproxy"), verify=none at may and encrypt, verify=ca
 * with smtp_tls_CAfile (or the system store) at verify and secure, the
 * name the certificate must cover being server_name, or the names being
 * ca_names; verify=dane with the host's TLSA records at dane.  On success the session
 * speaks plaintext over the socketpair and one line is logged:
 * "QID: Verified TLS connection established to R: TLSv1.3 with cipher
 * C".  On failure the connection is closed (never plaintext after
 * asking for TLS) and why says what happened.  Returns 0 or -1.
 */
int	smtp_tls_start(struct smtp_agent *, const char *queue_id,
	    const struct smtp_tls_policy *, const struct smtp_cand *,
	    unsigned port, char *why, size_t whysz);

#endif
