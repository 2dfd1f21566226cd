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
#define TLSPROXY_REQ_MAX	4096		/* one request from smtpd */
#define TLSPROXY_PROTO		"tlsproxy/1"

#define TLSPROXY_CACHE_MAX	1000		/* client sessions kept */

enum tlsproxy_role {
	TLSPROXY_SERVER,	/* request=server, from smtpd */
	TLSPROXY_CLIENT,	/* request=client, from the smtp client */
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
	bool		 verify;		/* verify=ca */
	char		 ca_file[1024];		/* "": the system store */
	/* both */
	char		 service[64];
	char		 ident[340];		/* "name[addr]" for logs */
};

/*
 * tlsproxy_req_parse -- check a step 1 message.  request=server: exactly
 * the attributes request, proto, client_name, client_addr, client_port and
 * service.  request=client: exactly request, proto, server_name,
 * server_addr, server_port, service, verify ("none" or "ca") and ca_file
 * (empty, or an absolute path).  All strings, printable ASCII without
 * spaces (ca_file may be empty), proto TLSPROXY_PROTO, the port a decimal
 * number 1..65535.  Returns 0 with *req filled (role set, ident
 * "name[addr]" of the peer), or -1 with *err_r set to a static string.
 * Pure.
 */
int	tlsproxy_req_parse(const struct attr_msg *, struct tlsproxy_req *req,
	    const char **err_r);

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
 * tlsproxy_tls_client_creds -- the credentials for a client request:
 * verify=none: shared ones that trust nothing; verify=ca with ca_file "":
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
 * the handshake (a failure fails the handshake), a cached session offered
 * for resumption, and new session data or tickets cached under key (which
 * must live as long as the session).  Returns 0 with *s_r set, or -1 with
 * *err_r set.
 */
int	tlsproxy_tls_client_session(int fd, const struct tlsproxy_req *,
	    gnutls_certificate_credentials_t creds, const char *key,
	    gnutls_session_t *s_r, const char **err_r);

/*
 * tlsproxy_tls_client_done -- after a client handshake: cache the session
 * (TLS 1.2; TLS 1.3 tickets are cached as they arrive), and describe the
 * verification: *verified_r, and why not into err ("" when verified or
 * not asked).
 */
void	tlsproxy_tls_client_done(gnutls_session_t, const struct tlsproxy_req *,
	    const char *key, bool *verified_r, char *err, size_t errsz);

/*
 * tlsproxy_tls_verify_error -- after a failed client handshake: the
 * verification status as text into err, or "" when it was not that.
 */
void	tlsproxy_tls_verify_error(gnutls_session_t, char *err, size_t errsz);

/* ---- tlsproxy_cache.c: client sessions, per server ---------------------- */

#define TLSPROXY_KEY_MAX	1400	/* room for a cache key */

/*
 * tlsproxy_cache_key -- the key of a client request's sessions:
 * "server_name[server_addr]:port", then " ca=<ca_file>" with verify=ca, so
 * that a session made without verification never resumes one that asks
 * for it.  Pure.
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
	char		 key[TLSPROXY_KEY_MAX];	/* client role: cache key */

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
