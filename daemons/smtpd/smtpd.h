/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd.h -- the SMTP server: one process per client connection.
 *
 * Process:  smtpd (user mail_owner, one client, no keys, no queue write
 *           access: the message goes to cleanup over private/cleanup).
 * Input:    untrusted SMTP from the network, read through lineio with
 *           line_length_limit and smtpd_timeout.
 * Failure:  bad client input -> an SMTP reply (and, past the error
 *           limits, 421 and disconnect); a lost cleanup -> 451 for that
 *           message; nothing here exits on client input.
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "buf.h"
#include "lineio.h"
#include "sasl.h"
#include "smtpcmd.h"

struct conf;
struct match_nets;

#define SMTPD_OUT_MAX		(1024 * 1024)	/* replies waiting to be sent */
#define SMTPD_CHUNK_MAX		(64 * 1024)	/* content bytes per IPC message */

struct smtpd_rcpt {
	struct addr	 addr;
	unsigned	 notify;
	char		 orcpt_type[SMTPCMD_ORCPT_TYPE_MAX + 1];
	char		 orcpt[SMTPCMD_ORCPT_MAX + 1];
};

/* Commands counted for the disconnect log line, in this order. */
enum smtpd_count {
	CNT_HELO, CNT_EHLO, CNT_MAIL, CNT_RCPT, CNT_DATA, CNT_BDAT, CNT_RSET,
	CNT_NOOP, CNT_QUIT, CNT_HELP, CNT_VRFY, CNT_EXPN, CNT_STARTTLS,
	CNT_AUTH, CNT_UNKNOWN, CNT_MAX
};

struct smtpd_session {
	const struct conf *conf;
	int		 fd;
	struct lineio	 in;
	struct buf	 out;
	int		 timeout_ms;

	/* The client. */
	struct sockaddr_storage peer;
	char		 addr[64];		/* "192.0.2.1" */
	char		 port[8];
	char		 name[256];		/* "host.example" or "unknown" */
	char		 ident[340];		/* "name[addr]" for logs */
	bool		 trusted;		/* in mynetworks */
	char		 helo[SMTPCMD_HELO_MAX + 1];
	bool		 esmtp;
	unsigned	 ext;			/* SMTPCMD_F_* advertised */

	/* TLS (smtpd_tls.c). */
	const char	*service;		/* services.conf name */
	bool		 tls_offer;		/* STARTTLS may be advertised */
	bool		 tls_required;		/* level encrypt */
	bool		 tls;			/* the session is inside TLS */
	bool		 dead;			/* client gone mid hand-off */
	int		 tls_timeout_ms;
	char		 tls_proto[32];		/* "TLSv1.3" */
	char		 tls_cipher[128];

	/* The transaction. */
	bool		 in_mail;
	struct addr	 sender;
	bool		 smtputf8;
	enum smtpcmd_body body;
	enum smtpcmd_ret ret;
	char		 envid[SMTPCMD_ENVID_MAX + 1];
	uint64_t	 declared_size;
	struct smtpd_rcpt *rcpts;
	size_t		 nrcpt, rcpt_cap;
	bool		 bdat;			/* a BDAT transaction is open */
	int		 cleanup;		/* IPC to cleanup, or -1 */
	struct buf	 chunk;			/* content not yet sent to it */
	int		 ipc_timeout_ms;
	char		 qid[64];
	uint64_t	 size;			/* content bytes so far */

	/* Limits and counters. */
	uint64_t	 size_limit;
	size_t		 rcpt_limit;
	unsigned	 errors, soft_limit, hard_limit;
	int64_t		 error_sleep;
	bool		 reject_bare_newline;
	bool		 quit;
	unsigned	 counts[CNT_MAX][2];	/* [ok, bad] per command */

	struct match_nets *mynetworks;

	/* SMTP AUTH (smtpd_auth.c). */
	bool		 auth_enable;		/* smtpd_sasl_auth_enable */
	bool		 auth_tls_only;		/* smtpd_tls_auth_only */
	int		 auth_fd;		/* Dovecot's auth socket, or -1 */
	struct lineio	 auth_in;		/* its lines, when auth_fd != -1 */
	unsigned long	 auth_id;		/* last AUTH request ID */
	char		 auth_lip[64];		/* our address, for lip= */
	char		 auth_mechs[SASL_MECHS_MAX][SASL_MECH_MAX + 1];
	size_t		 nauth_mechs;
	char		 sasl_method[SASL_MECH_MAX + 1];	/* "PLAIN" */
	char		 sasl_user[4 * SASL_USER_MAX + 1];	/* "" before AUTH */
};

/* smtpd_io.c */
void	smtpd_reply(struct smtpd_session *, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	smtpd_reply_more(struct smtpd_session *, int code, const char *enh,
	    const char *text);
/* smtpd_reply_line -- "code text" of any length (a 334 challenge). */
void	smtpd_reply_line(struct smtpd_session *, int code, const char *text,
	    size_t len);
int	smtpd_flush(struct smtpd_session *);
void	smtpd_error_delay(struct smtpd_session *);
/* smtpd_dial -- connect to queue_directory/private/<service>; fd or -1. */
int	smtpd_dial(const struct smtpd_session *, const char *service);

/* smtpd_session.c */
struct service_ctx;
void	smtpd_session_run(const struct service_ctx *, int fd);
/*
 * smtpd_warm_up -- in a template (one_client_fork) only: one name lookup
 * of the loopback address, so that the resolver's configuration
 * (nsswitch.conf, resolv.conf) is read once, not once per client.
 */
void	smtpd_warm_up(struct service_ctx *);
void	smtpd_txn_reset(struct smtpd_session *);
const char *smtpd_proto(const struct smtpd_session *);

/* smtpd_need_tls -- encrypt level before TLS: answers 530, true. */
bool	smtpd_need_tls(struct smtpd_session *);

/* smtpd_check.c */
/*
 * smtpd_check_rcpt -- may this client send to a?  Returns 0, or -1 after
 * setting the reply (code, enh, text with the address) in the out args.
 */
int	smtpd_check_rcpt(struct smtpd_session *, const struct addr *a,
	    int *code_r, const char **enh_r, const char **why_r);
bool	smtpd_domain_is_local(const struct smtpd_session *, const char *dom);

/* smtpd_data.c */
void	smtpd_cmd_data(struct smtpd_session *);
void	smtpd_cmd_bdat(struct smtpd_session *, const struct smtpcmd *);

/* smtpd_tls.c */
/*
 * smtpd_tls_start -- hand the client to tlsproxy (docs/ipc.md).  For
 * STARTTLS (wrapper false) it discards pipelined input and answers 220
 * once tlsproxy is ready; for implicit TLS it says nothing.  Returns 0
 * inside TLS with the session forgotten (RFC 3207 4.2); -1 when tlsproxy
 * was not ready (nothing was sent: the caller answers 454 and goes on in
 * plaintext); 1 when the session is over (handshake failed, client gone;
 * s->quit and s->dead are set).
 */
int	smtpd_tls_start(struct smtpd_session *, bool wrapper);

/* smtpd_auth.c */
/* smtpd_auth_init -- read the AUTH parameters; before any TLS hand-off. */
void	smtpd_auth_init(struct smtpd_session *);
/*
 * smtpd_auth_ehlo -- the "250-AUTH mechs" line of EHLO, when AUTH is
 * enabled, allowed here (TLS or not smtpd_tls_auth_only) and the auth
 * server answers with at least one mechanism; else nothing.
 */
void	smtpd_auth_ehlo(struct smtpd_session *);
void	smtpd_cmd_auth(struct smtpd_session *, const struct smtpcmd *);
/* smtpd_auth_reset -- forget a successful AUTH (after STARTTLS). */
void	smtpd_auth_reset(struct smtpd_session *);
void	smtpd_auth_free(struct smtpd_session *);

/* smtpd_cleanup.c */
int	smtpd_cleanup_begin(struct smtpd_session *, int *code_r, char *enh,
	    size_t enhsz, char *text, size_t textsz);
int	smtpd_cleanup_write(struct smtpd_session *, const void *, size_t);
int	smtpd_cleanup_end(struct smtpd_session *, int *code_r, char *enh,
	    size_t enhsz, char *text, size_t textsz);
void	smtpd_cleanup_abort(struct smtpd_session *);

#endif
