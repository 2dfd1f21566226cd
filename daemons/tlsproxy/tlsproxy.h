/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy.h -- tlsproxy: holds the TLS keys and does TLS for smtpd, so
 * that the process that parses SMTP never sees a key or a ciphertext
 * byte (docs/ipc.md, "smtpd -> tlsproxy"); and, in the client role, TLS
 * for the outbound smtp client, resuming sessions across its connections
 * ("smtp client -> tlsproxy").
 *
 * Process:  tlsproxy (loads its keys as root in pre_jail, then runs as
 *           mail_owner; a libevent loop serving up to TLSPROXY_MAX_SESSIONS
 *           sessions at once).
 * Input:    attribute messages with descriptors from smtpd or the smtp
 *           client (less trusted processes: each request is checked, a
 *           bad one closes that connection only); TLS records from the
 *           network (untrusted).
 * Failure:  keys that do not load leave the process running, answering
 *           every server request with status=error (client requests need
 *           no key and are still served); a bad request, a failed
 *           handshake or an I/O error ends that session only.
 */
#ifndef TERN_TLSPROXY_H
#define TERN_TLSPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "attr.h"
#include "tls.h"

struct event;
struct service_ctx;

#define TLSPROXY_MAX_SESSIONS	100	/* per process; then BUSY */
#define TLSPROXY_BUF		(16 * 1024)	/* plaintext, each way */
#define TLSPROXY_REQ_MAX	(24 * 1024)	/* one request (TLSA data in hex) */
#define TLSPROXY_PROTO		"tlsproxy/1"

#define TLSPROXY_CACHE_MAX	1000		/* client sessions kept */
#define TLSPROXY_KEY_MAX	1500		/* room for a cache key */

/* DANE (RFC 7672): bounds of the TLSA records of one client request. */
#define TLSPROXY_TLSA_MAX	16	/* records (lib/dns.h DNS_TLSA_MAX) */
#define TLSPROXY_TLSA_DATA_MAX	2048	/* bytes of one record's data */
#define TLSPROXY_TLSA_POOL	8192	/* bytes of the data of all of them */
#define TLSPROXY_DANE_NAMES_MAX	4	/* names a DANE-TA chain may match */
#define TLSPROXY_CHAIN_MAX	16	/* certificates of a server's chain */
#define TLSPROXY_DANE_MATCH_MAX	8	/* "3 1 1" and its NUL */
#define TLSPROXY_CA_NAMES_MAX	8	/* ca_names (lib/tls_policy.h's match=) */

enum tlsproxy_role {
	TLSPROXY_SERVER,	/* request=server, from smtpd */
	TLSPROXY_CLIENT,	/* request=client, from the smtp client */
};

enum tlsproxy_verify {
	TLSPROXY_VERIFY_NONE,	/* verify=none: encryption only */
	TLSPROXY_VERIFY_CA,	/* verify=ca: PKIX to ca_file, server_name */
	TLSPROXY_VERIFY_DANE,	/* verify=dane: the TLSA records */
};

/* One usable TLSA record (RFC 7672 3.1): its data is in the pool. */
struct tlsproxy_tlsa {
	uint8_t		 usage;		/* 2 DANE-TA, 3 DANE-EE */
	uint8_t		 selector;	/* 0 certificate, 1 SubjectPublicKeyInfo */
	uint8_t		 mtype;		/* 0 exact, 1 SHA2-256, 2 SHA2-512 */
	size_t		 off, len;	/* in tlsproxy_dane.pool */
};

/* The TLSA records and reference names of a verify=dane request. */
struct tlsproxy_dane {
	size_t		 ntlsa;
	struct tlsproxy_tlsa tlsa[TLSPROXY_TLSA_MAX];
	size_t		 pool_len;
	uint8_t		 pool[TLSPROXY_TLSA_POOL];
	size_t		 nnames;
	char		 names[TLSPROXY_DANE_NAMES_MAX][256];
};

/* A checked request=server from smtpd, or request=client. */
struct tlsproxy_req {
	enum tlsproxy_role role;
	/* request=server */
	char		 client_name[256];	/* a host name, or "unknown" */
	char		 client_addr[64];
	char		 client_port[8];
	/* request=client */
	char		 server_name[256];	/* SNI; the name verified */
	char		 server_addr[64];
	char		 server_port[8];
	enum tlsproxy_verify verify;
	char		 ca_file[1024];		/* "": the system store */
	/*
	 * verify=ca with ca_names: the names the leaf may cover instead of
	 * server_name (then SNI only); ".domain" is any name below domain.
	 */
	size_t		 nca_names;
	char		 ca_names[TLSPROXY_CA_NAMES_MAX][256];
	struct tlsproxy_dane dane;		/* verify=dane */
	/* both */
	char		 service[64];
	char		 ident[340];		/* "name[addr]" for logs */
};

/*
 * tlsproxy_req_parse -- check a step 1 message.  request=server: exactly
 * the attributes request, proto, client_name, client_addr, client_port and
 * service.  request=client: exactly request, proto, server_name,
 * server_addr, server_port, service, verify ("none", "ca" or "dane") and
 * ca_file (empty, or an absolute path; empty with dane), and with
 * verify=dane also tlsa_count, tlsa_0 .. tlsa_<count-1> and dane_names
 * (tlsproxy_dane_parse).  All strings, printable ASCII without spaces
 * (ca_file may be empty; a TLSA record has its three single spaces),
 * proto TLSPROXY_PROTO, the port a decimal number 1..65535 without a
 * leading zero (tlsproxy_number_parse).  Returns 0
 * with *req filled (role set, ident "name[addr]" of the peer), or -1 with
 * *err_r set to a static string.  Pure.
 */
int	tlsproxy_req_parse(const struct attr_msg *, struct tlsproxy_req *req,
	    const char **err_r);

/*
 * tlsproxy_number_parse -- s is a decimal number 1..max: digits only, no
 * sign, no leading zero, not empty (a port, a record count).  Returns 0
 * with *n_r set, or -1.  Pure.
 */
int	tlsproxy_number_parse(const char *s, size_t max, size_t *n_r);

/*
 * tlsproxy_req_is_start -- is this exactly request=start (step 3)?  Pure.
 */
bool	tlsproxy_req_is_start(const struct attr_msg *);

/* A bounded plaintext buffer, filled at the end and drained from the front. */
struct tlsproxy_buf {
	uint8_t		 data[TLSPROXY_BUF];
	size_t		 len;
};

/* Bytes free at the end. */
size_t	tlsproxy_buf_room(const struct tlsproxy_buf *);
/* tlsproxy_buf_consume -- drop the first n bytes (n <= len, else bug()). */
void	tlsproxy_buf_consume(struct tlsproxy_buf *, size_t n);

/* ---- tlsproxy_dane.c: DANE (RFC 7672) ------------------------------- */

/*
 * tlsproxy_dane_parse_record -- append the record s, "usage selector
 * mtype hexdata" (single spaces, decimal fields, hex digits of either
 * case), to d.  Only records an SMTP client uses are accepted: usage 2
 * or 3, selector 0 or 1, mtype 0 (1..TLSPROXY_TLSA_DATA_MAX bytes), 1
 * (exactly 32 bytes) or 2 (exactly 64).  At most TLSPROXY_TLSA_MAX
 * records and TLSPROXY_TLSA_POOL bytes of data in all.  Returns 0, or -1
 * with *err_r set (d unchanged).  Pure.
 */
int	tlsproxy_dane_parse_record(const char *s, struct tlsproxy_dane *d,
	    const char **err_r);

/*
 * tlsproxy_dane_parse_names -- the ":"-separated reference names s (1 to
 * TLSPROXY_DANE_NAMES_MAX host names by hostname_ok() with
 * HOSTNAME_UNDERSCORE, lib/hostname.h: a certificate may carry "_") into d.
 * Returns 0, or -1 with *err_r set.  Pure.
 */
int	tlsproxy_dane_parse_names(const char *s, struct tlsproxy_dane *d,
	    const char **err_r);

/*
 * tlsproxy_dane_parse -- the DANE attributes of a verify=dane request:
 * tlsa_count (tlsproxy_number_parse, 1..TLSPROXY_TLSA_MAX), that many records
 * tlsa_0, tlsa_1, ... and dane_names.  Fills d (zeroed first) and
 * *nattrs_r (how many attributes that was), or returns -1 with *err_r
 * set.  Pure.
 */
int	tlsproxy_dane_parse(const struct attr_msg *, struct tlsproxy_dane *d,
	    size_t *nattrs_r, const char **err_r);

/*
 * tlsproxy_dane_digest -- lower-case hex SHA-256 (TLS_FP_LEN + 1 bytes)
 * of the records and names of d, in their order: the cache key's part
 * that keeps a session from being resumed under another TLSA set.
 */
void	tlsproxy_dane_digest(const struct tlsproxy_dane *d, char *hex,
	    size_t sz);

/*
 * tlsproxy_dane_verify -- does the chain the server sent (DER, leaf
 * first, n certificates) satisfy one of the records of d?  In their
 * order, the first that does wins:
 *   DANE-EE(3): the leaf matches; no name, date or chain check
 *     (RFC 7672 3.1.1);
 *   DANE-TA(2): a certificate of the chain matches, the chain from the
 *     leaf up to it verifies with it as the trust anchor (dates
 *     included), and the leaf matches one of d's names (RFC 6125 rules,
 *     RFC 7672 3.2.2 and 3.2.3).
 * Returns 0 with "usage selector mtype" of that record in match, or -1
 * with why none did in err ("DANE: no TLSA record matches ...").  Never
 * logs.
 */
int	tlsproxy_dane_verify(const struct tlsproxy_dane *d,
	    const gnutls_datum_t *chain, size_t n, char *match, size_t matchsz,
	    char *err, size_t errsz);

/* ---- tlsproxy_tls.c: the TLS contexts ---------------------------- */

/*
 * tlsproxy_pre_jail -- (root) load the certificates and keys, the
 * priority string and a random session ticket key.  Failures are logged
 * (naming the file and the reason) and remembered; they never exit.
 */
void	tlsproxy_pre_jail(struct service_ctx *);

/*
 * tlsproxy_tls_ready -- can sessions be made?  When not, *why_r says why
 * (for status=error).
 */
bool	tlsproxy_tls_ready(const char **why_r);

/*
 * tlsproxy_tls_session -- a new non-blocking server session on fd with
 * the process's credentials, priorities, tickets and certificate request.
 * Returns 0 with *s_r set, or -1 with *err_r set (a GnuTLS error string).
 */
/* tlsproxy_tls_send_ticket -- server, TLS 1.3: the ticket, after Finished. */
void	tlsproxy_tls_send_ticket(gnutls_session_t);
int	tlsproxy_tls_session(int fd, gnutls_session_t *s_r,
	    const char **err_r);

/*
 * tlsproxy_tls_client_ready -- can client sessions be made (the
 * smtp_tls_priority string parsed)?  When not, *why_r says why.
 */
bool	tlsproxy_tls_client_ready(const char **why_r);

/*
 * What the GnuTLS callbacks of one client session need (its
 * gnutls_session_get_ptr): the request, the cache key, and with
 * verify=dane the outcome of the check.
 */
struct tlsproxy_client_state {
	const struct tlsproxy_req *req;
	char		 key[TLSPROXY_KEY_MAX];	/* cache key */
	char		 dane_match[TLSPROXY_DANE_MATCH_MAX];	/* "3 1 1" */
	/* Why verification failed: no TLSA record matched, or ca_names. */
	char		 dane_err[TLS_ERR_MAX];
};

/*
 * tlsproxy_tls_client_creds -- the credentials for a client request:
 * verify=none: shared ones that trust nothing; verify=dane: shared ones
 * that trust nothing but check the TLSA records; verify=ca with ca_file "":
 * the system trust store (loaded in pre_jail); verify=ca with a ca_file:
 * that file, loaded now into *own_r (free it after the session).  Returns
 * 0 with *creds_r set, or -1 with *err_r set (why, for status=error).
 */
int	tlsproxy_tls_client_creds(const struct tlsproxy_req *,
	    gnutls_certificate_credentials_t *creds_r,
	    gnutls_certificate_credentials_t *own_r, char *err, size_t errsz);

/*
 * tlsproxy_tls_client_session -- a new non-blocking client session on fd:
 * smtp_tls_priority, SNI (unless server_name is an address), with
 * verify=ca the certificate checked against creds and server_name during
 * the handshake, with verify=dane against the TLSA records (either
 * failure fails the handshake; DANE says why in st->dane_err), a cached
 * session offered for resumption, and new session data or tickets cached
 * under st->key.  st (req and key set) must live as long as the session.
 * Returns 0 with *s_r set, or -1 with *err_r set.
 */
int	tlsproxy_tls_client_session(int fd, struct tlsproxy_client_state *st,
	    gnutls_certificate_credentials_t creds, gnutls_session_t *s_r,
	    const char **err_r);

/*
 * tlsproxy_tls_client_done -- after a client handshake: cache the session
 * (TLS 1.2; TLS 1.3 tickets are cached as they arrive), and describe the
 * verification: *verified_r, and why not into err ("" when verified or
 * not asked).  With verify=dane a resumed session, whose certificates
 * were not sent again, is checked against the records now (the cache key
 * holds the TLSA set, so this only fails when a DANE-TA chain expired
 * meanwhile): -1 then, with st->dane_err set; else 0, and
 * st->dane_match says which record matched.  *trusted_r: with
 * verify=none, whether the server's chain verifies (name not checked)
 * to the request's ca_file, or to the system trust store when that is
 * empty -- reported for the log ("Trusted"), never enforced; with ca or
 * dane it equals *verified_r.
 */
int	tlsproxy_tls_client_done(gnutls_session_t,
	    struct tlsproxy_client_state *st, bool *verified_r,
	    bool *trusted_r, char *err, size_t errsz);

/*
 * tlsproxy_tls_verify_error -- after a failed client handshake: the
 * verification status as text into err, or "" when it was not that.
 */
void	tlsproxy_tls_verify_error(gnutls_session_t, char *err, size_t errsz);

/* ---- tlsproxy_cache.c: client sessions, per server ---------------------- */

/*
 * tlsproxy_cache_key -- the key of a client request's sessions:
 * "server_name[server_addr]:port", then " ca=<ca_file>" with verify=ca, or
 * " dane=<tlsproxy_dane_digest>" with verify=dane, so that a session made
 * under one verification never resumes under another (nor DANE under
 * another TLSA set).  Pure.
 */
void	tlsproxy_cache_key(const struct tlsproxy_req *, char *key, size_t sz);

/*
 * tlsproxy_cache_put -- remember data under key at time now (replacing
 * what the key had); when TLSPROXY_CACHE_MAX keys are held, the oldest
 * entry goes.  Data larger than 64 KiB is not kept.
 */
void	tlsproxy_cache_put(const char *key, const void *data, size_t len,
	    time_t now);

/*
 * tlsproxy_cache_get -- the data under key if it was stored less than
 * ttl seconds before now (else the entry is dropped): 0 with *data_r and
 * *len_r pointing into the cache (valid until the next put), or -1.
 */
int	tlsproxy_cache_get(const char *key, time_t now, time_t ttl,
	    const void **data_r, size_t *len_r);

/* tlsproxy_cache_count -- entries held (for tests). */
size_t	tlsproxy_cache_count(void);

/* tlsproxy_cache_clear -- forget every entry, wiping the data. */
void	tlsproxy_cache_clear(void);

/* ---- tlsproxy_conn.c: one connection from smtpd ----------------------- */

enum tlsproxy_state {
	TP_REQUEST,		/* waiting for request=server and the fds */
	TP_START,		/* said ready, waiting for request=start */
	TP_HANDSHAKE,		/* TLS handshake on the client socket */
	TP_RELAY,		/* plaintext <-> TLS */
};

/* One session, from the connection of smtpd to the end of the relay. */
struct tlsproxy_sess {
	struct service_ctx *ctx;
	enum tlsproxy_state state;
	int		 ctl;		/* smtpd's connection; -1 once closed */
	int		 fds[2];	/* received: client socket, plaintext */
	size_t		 nfds;
	uint8_t		 in[TLSPROXY_REQ_MAX];	/* control input */
	size_t		 inlen;
	struct tlsproxy_req req;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t creds;	/* client role */
	gnutls_certificate_credentials_t own_creds;	/* from ca_file */
	struct tlsproxy_client_state cst;	/* client role */

	struct event	*ev_ctl;	/* ctl readable */
	struct event	*ev_crd, *ev_cwr;	/* client readable, writable */
	struct event	*ev_prd, *ev_pwr;	/* plaintext end, the same */
	struct event	*ev_timer;
	struct event	*ev_again;	/* relay: run again after others */
	int64_t		 idle;		/* relay idle timeout, seconds */

	/* The relay (tlsproxy_relay.c). */
	struct tlsproxy_buf to_plain;	/* decrypted, for smtpd */
	struct tlsproxy_buf to_client;	/* from smtpd, to encrypt */
	size_t		 send_pending;	/* gnutls_record_send to repeat */
	int		 recv_dir, send_dir;	/* waiting: 0 read, 1 write */
	bool		 client_eof;	/* close_notify or TCP end seen */
	bool		 plain_shut;	/* shutdown(SHUT_WR) passed it on */
	bool		 plain_eof;	/* smtpd closed its end */
	bool		 bye_done;	/* close_notify sent, or failed */
};

/* tlsproxy_client -- the service's client hook: a connection from smtpd. */
void	tlsproxy_client(struct service_ctx *, int fd);

/* tlsproxy_sess_free -- close everything, service_client_done(). */
void	tlsproxy_sess_free(struct tlsproxy_sess *);

/* ---- tlsproxy_relay.c ---------------------------------------------------- */

/*
 * tlsproxy_relay_start -- after the handshake and the reply to smtpd:
 * relay until both directions are done, then free the session.
 */
void	tlsproxy_relay_start(struct tlsproxy_sess *);

/*
 * tlsproxy_relay_run -- move what can be moved without blocking, then
 * wait for what is needed next; frees the session when it is over.
 */
void	tlsproxy_relay_run(struct tlsproxy_sess *);

#endif
