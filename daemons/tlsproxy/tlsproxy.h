/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy.h -- tlsproxy: holds the TLS keys and does TLS for smtpd, so
 * that the process that parses SMTP never sees a key or a ciphertext
 * byte (docs/ipc.md, "smtpd -> tlsproxy").
 *
 * Process:  tlsproxy (loads its keys as root in pre_jail, then runs as
 *           mail_owner; a libevent loop serving up to TLSPROXY_MAX_SESSIONS
 *           sessions at once).
 * Input:    attribute messages with descriptors from smtpd (a less trusted
 *           process: each request is checked, a bad one closes that
 *           connection only); TLS records from the network (untrusted).
 * Failure:  keys that do not load leave the process running, answering
 *           every request with status=error; a bad request, a failed
 *           handshake or an I/O error ends that session only.
 */
#ifndef TERN_TLSPROXY_H
#define TERN_TLSPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "attr.h"
#include "tls.h"

struct event;
struct service_ctx;

#define TLSPROXY_MAX_SESSIONS	100	/* per process; then BUSY */
#define TLSPROXY_BUF		(16 * 1024)	/* plaintext, each way */
#define TLSPROXY_REQ_MAX	4096		/* one request from smtpd */
#define TLSPROXY_PROTO		"tlsproxy/1"

/* A checked request=server from smtpd. */
struct tlsproxy_req {
	char		 client_name[256];	/* a host name, or "unknown" */
	char		 client_addr[64];
	char		 client_port[8];
	char		 service[64];
	char		 ident[340];		/* "name[addr]" for logs */
};

/*
 * tlsproxy_req_parse -- check a request=server message (step 1): exactly
 * the attributes request, proto, client_name, client_addr, client_port and
 * service, all strings, printable ASCII without spaces, proto
 * TLSPROXY_PROTO, the port a decimal number 1..65535.  Returns 0 with *req
 * filled, or -1 with *err_r set to a static string.  Pure.
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

/* ---- tlsproxy_tls.c: the server's TLS context ---------------------------- */

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
int	tlsproxy_tls_session(int fd, gnutls_session_t *s_r,
	    const char **err_r);

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
