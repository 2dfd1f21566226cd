/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_auth.c -- SMTP AUTH (RFC 4954) with Dovecot's auth server as the
 * back end: the client side of its "auth client" protocol over the unix
 * socket smtpd_sasl_path.  smtpd never sees a password database; it
 * checks the syntax of what the client sends and passes the base64 on.
 *
 * Process:  smtpd (user mail_owner, one client).
 * Input:    untrusted AUTH lines from the client (line_length_limit);
 *           the auth server's lines (SASL_LINE_MAX, parsed by lib/sasl).
 * Failure:  client errors -> SMTP replies that count for the error
 *           limits; an auth server that is down, slow or talks nonsense
 *           -> 454 4.7.0 and the connection to it is dropped.
 *           Responses (which carry passwords) are never logged.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "sasl.h"
#include "smtpd.h"

#define HANDSHAKE_LINES_MAX	(SASL_MECHS_MAX * 4 + 16)
#define AUTH_ROUNDS_MAX		8	/* 334 challenges in one AUTH */
#define AUTH_OUT_MAX		(SASL_LINE_MAX + 1024)

void
smtpd_auth_init(struct smtpd_session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	s->auth_fd = -1;
	s->auth_enable = conf_bool(s->conf, "smtpd_sasl_auth_enable");
	s->auth_tls_only = conf_bool(s->conf, "smtpd_tls_auth_only");
	/* Before a TLS hand-off: later s->fd is the pipe to tlsproxy. */
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, s->auth_lip,
	    sizeof(s->auth_lip), NULL, 0, NI_NUMERICHOST) != 0)
		s->auth_lip[0] = '\0';
}

static void
backend_close(struct smtpd_session *s)
{
	if (s->auth_fd == -1)
		return;
	lineio_free(&s->auth_in);
	close(s->auth_fd);
	s->auth_fd = -1;
	s->nauth_mechs = 0;
}

void
smtpd_auth_free(struct smtpd_session *s)
{
	backend_close(s);
}

void
smtpd_auth_reset(struct smtpd_session *s)
{
	s->sasl_user[0] = '\0';
	s->sasl_method[0] = '\0';
}

/* Write all of out to the auth server, within ipc_timeout. */
static int
backend_write(struct smtpd_session *s, const struct buf *out)
{
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < out->len) {
		pfd.fd = s->auth_fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, s->ipc_timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n = send(s->auth_fd, out->data + off, out->len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* One parsed line from the auth server; -1 (logged) when there is none. */
static int
backend_read(struct smtpd_session *s, struct sasl_reply *r)
{
	const char *line, *err;
	size_t len;

	switch (lineio_read(&s->auth_in, &line, &len, NULL)) {
	case LINEIO_OK:
		break;
	case LINEIO_TIMEOUT:
		log_warnx("%s: SASL: timeout reading from the auth server",
		    s->ident);
		return -1;
	case LINEIO_TOOLONG:
		log_warnx("%s: SASL: line too long from the auth server",
		    s->ident);
		return -1;
	default:
		log_warnx("%s: SASL: the auth server closed the connection",
		    s->ident);
		return -1;
	}
	if (sasl_parse_reply(line, len, r, &err) == -1) {
		log_warnx("%s: SASL: bad line from the auth server: %s",
		    s->ident, err);
		return -1;
	}
	return 0;
}

static int
backend_dial(struct smtpd_session *s)
{
	const char *path = conf_str(s->conf, "smtpd_sasl_path");
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s%s%s",
	    path[0] == '/' ? "" : conf_str(s->conf, "queue_directory"),
	    path[0] == '/' ? "" : "/", path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: SASL: smtpd_sasl_path too long", s->ident);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("%s: SASL: cannot connect to %s", s->ident,
		    sun.sun_path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void
add_mech(struct smtpd_session *s, const struct sasl_reply *r)
{
	size_t i;

	if (r->private || s->nauth_mechs == SASL_MECHS_MAX)
		return;
	for (i = 0; i < s->nauth_mechs; i++)
		if (strcmp(s->auth_mechs[i], r->mech) == 0)
			return;
	strlcpy(s->auth_mechs[s->nauth_mechs++], r->mech,
	    sizeof(s->auth_mechs[0]));
}

/* Connect and read the server's handshake up to DONE: 0, or -1 logged. */
static int
backend_open(struct smtpd_session *s)
{
	struct sasl_reply r;
	struct buf out;
	bool version = false;
	int i, rc;

	if (s->auth_fd != -1)
		return 0;
	if ((s->auth_fd = backend_dial(s)) == -1)
		return -1;
	lineio_init(&s->auth_in, s->auth_fd, SASL_LINE_MAX,
	    s->ipc_timeout_ms);
	s->nauth_mechs = 0;
	buf_init(&out, 128);
	rc = buf_addf(&out, "VERSION\t1\t2\nCPID\t%ld\n", (long)getpid());
	if (rc == -1 || backend_write(s, &out) == -1) {
		buf_clear(&out);
		log_warnx("%s: SASL: cannot write to the auth server",
		    s->ident);
		goto fail;
	}
	buf_clear(&out);
	for (i = 0; i < HANDSHAKE_LINES_MAX; i++) {
		if (backend_read(s, &r) == -1)
			goto fail;
		if (r.type == SASL_R_VERSION) {
			if (r.major != 1) {
				log_warnx("%s: SASL: auth server protocol "
				    "version %lu, not 1", s->ident, r.major);
				goto fail;
			}
			version = true;
		} else if (r.type == SASL_R_MECH)
			add_mech(s, &r);
		else if (r.type == SASL_R_DONE)
			break;
	}
	if (i == HANDSHAKE_LINES_MAX || !version || s->nauth_mechs == 0) {
		log_warnx("%s: SASL: incomplete handshake from the auth server",
		    s->ident);
		goto fail;
	}
	return 0;
fail:
	backend_close(s);
	return -1;
}

/* Inside TLS, or allowed without it. */
static bool
tls_ok(const struct smtpd_session *s)
{
	return s->tls || !s->auth_tls_only;
}

void
smtpd_auth_ehlo(struct smtpd_session *s)
{
	char line[8 + SASL_MECHS_MAX * (SASL_MECH_MAX + 1)];
	size_t i;

	if (!s->auth_enable || !tls_ok(s) || backend_open(s) == -1)
		return;
	strlcpy(line, "AUTH", sizeof(line));
	for (i = 0; i < s->nauth_mechs; i++) {
		strlcat(line, " ", sizeof(line));
		strlcat(line, s->auth_mechs[i], sizeof(line));
	}
	smtpd_reply_more(s, 250, "", line);
	s->ext |= SMTPCMD_F_AUTH;
}

static bool
offered(const struct smtpd_session *s, const char *mech)
{
	size_t i;

	for (i = 0; i < s->nauth_mechs; i++)
		if (strcmp(s->auth_mechs[i], mech) == 0)
			return true;
	return false;
}

/* The checks before any exchange; true when a reply was given. */
static bool
refuse(struct smtpd_session *s)
{
	if (!s->auth_enable) {
		smtpd_reply(s, 503, "5.5.1", "Error: authentication not "
		    "enabled");
		return true;
	}
	if (!s->esmtp) {
		smtpd_reply(s, 503, "5.5.1", "Error: send EHLO first");
		return true;
	}
	if (!tls_ok(s)) {
		if (s->tls_offer)
			smtpd_reply(s, 538, "5.7.11", "Encryption required "
			    "for requested authentication mechanism");
		else
			smtpd_reply(s, 503, "5.5.1", "Error: authentication "
			    "not enabled");
		return true;
	}
	if (smtpd_need_tls(s))
		return true;
	if (s->sasl_user[0] != '\0') {
		smtpd_reply(s, 503, "5.5.1", "Error: already authenticated");
		return true;
	}
	if (s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: MAIL transaction in "
		    "progress");
		return true;
	}
	return false;
}

static void
temp_failure(struct smtpd_session *s)
{
	backend_close(s);
	smtpd_reply(s, 454, "4.7.0", "Temporary authentication failure");
}

/* "AUTH id mech service=smtp ...": the request, without the password. */
static int
send_auth(struct smtpd_session *s, const struct sasl_auth_arg *a)
{
	struct buf out;
	int r;

	buf_init(&out, AUTH_OUT_MAX);
	s->auth_id++;
	r = buf_addf(&out, "AUTH\t%lu\t%s\tservice=smtp\tnologin%s",
	    s->auth_id, a->mech, s->tls ? "\tsecured" : "");
	if (r == 0 && s->auth_lip[0] != '\0')
		r = buf_addf(&out, "\tlip=%s", s->auth_lip);
	if (r == 0)
		r = buf_addf(&out, "\trip=%s\trport=%s", s->addr, s->port);
	if (r == 0 && a->has_resp)
		r = buf_addf(&out, "\tresp=%.*s", (int)a->resp_len, a->resp);
	if (r == 0)
		r = buf_add(&out, "\n", 1);
	if (r == 0)
		r = backend_write(s, &out);
	buf_clear(&out);
	return r;
}

static int
send_cont(struct smtpd_session *s, const char *resp, size_t len)
{
	struct buf out;
	int r;

	buf_init(&out, AUTH_OUT_MAX);
	r = buf_addf(&out, "CONT\t%lu\t%.*s\n", s->auth_id, (int)len, resp);
	if (r == 0)
		r = backend_write(s, &out);
	buf_clear(&out);
	return r;
}

static void
succeeded(struct smtpd_session *s, const char *mech,
    const struct sasl_reply *r)
{
	char safe[4 * SASL_USER_MAX + 1];

	log_safe(safe, sizeof(safe), r->user, strlen(r->user));
	strlcpy(s->sasl_user, r->user[0] ? safe : "unknown",
	    sizeof(s->sasl_user));
	strlcpy(s->sasl_method, mech, sizeof(s->sasl_method));
	log_info("auth from %s: sasl_method=%s, sasl_username=%s", s->ident,
	    s->sasl_method, s->sasl_user);
	smtpd_reply(s, 235, "2.7.0", "Authentication successful");
}

static void
failed(struct smtpd_session *s, const char *mech, const struct sasl_reply *r)
{
	char su[4 * SASL_USER_MAX + 1], sr[4 * SASL_REASON_MAX + 1];

	log_safe(su, sizeof(su), r->user, strlen(r->user));
	log_safe(sr, sizeof(sr), r->reason, strlen(r->reason));
	log_warnx("%s: SASL %s authentication failed: %s%s%s", s->ident,
	    mech, sr[0] ? sr : "authentication failure",
	    su[0] ? ", sasl_username=" : "", su);
	if (r->temp) {
		smtpd_reply(s, 454, "4.7.0", "Temporary authentication "
		    "failure");
		return;
	}
	smtpd_reply(s, 535, "5.7.8", "Error: authentication failed");
}

/*
 * One 334 round: the challenge out, the client's line in.  0 with the
 * response passed on to the auth server; -1 when the exchange is over
 * (the reply was given, or the client is gone).
 */
static int
challenge(struct smtpd_session *s, const struct sasl_reply *r)
{
	const char *line;
	size_t len;

	smtpd_reply_line(s, 334, r->data, r->data_len);
	if (smtpd_flush(s) == -1)
		return -1;
	switch (lineio_read(&s->in, &line, &len, NULL)) {
	case LINEIO_OK:
		break;
	case LINEIO_TOOLONG:
		backend_close(s);
		smtpd_reply(s, 500, "5.5.6", "Authentication Exchange line is "
		    "too long");
		return -1;
	case LINEIO_TIMEOUT:
		log_info("timeout after AUTH from %s", s->ident);
		smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    conf_str(s->conf, "myhostname"));
		s->quit = true;
		return -1;
	default:
		log_info("lost connection after AUTH from %s", s->ident);
		s->quit = true;
		return -1;
	}
	switch (sasl_parse_response(line, len)) {
	case SASL_RESP_CANCEL:
		backend_close(s);
		smtpd_reply(s, 501, "5.0.0", "Authentication aborted");
		return -1;
	case SASL_RESP_BAD:
		backend_close(s);
		smtpd_reply(s, 501, "5.5.2", "Error: invalid base64 data");
		return -1;
	default:
		break;
	}
	if (len > SASL_LINE_MAX - 64) {
		backend_close(s);
		smtpd_reply(s, 500, "5.5.6", "Authentication Exchange line is "
		    "too long");
		return -1;
	}
	if (send_cont(s, line, len) == -1) {
		log_warnx("%s: SASL: cannot write to the auth server",
		    s->ident);
		temp_failure(s);
		return -1;
	}
	return 0;
}

static void
exchange(struct smtpd_session *s, const struct sasl_auth_arg *a)
{
	struct sasl_reply r;
	int round;

	if (send_auth(s, a) == -1) {
		log_warnx("%s: SASL: cannot write to the auth server",
		    s->ident);
		temp_failure(s);
		return;
	}
	for (round = 0; ; round++) {
		if (backend_read(s, &r) == -1) {
			temp_failure(s);
			return;
		}
		if ((r.type != SASL_R_OK && r.type != SASL_R_CONT &&
		    r.type != SASL_R_FAIL) || r.id != s->auth_id) {
			log_warnx("%s: SASL: unexpected line from the auth "
			    "server", s->ident);
			temp_failure(s);
			return;
		}
		if (r.type == SASL_R_OK) {
			succeeded(s, a->mech, &r);
			return;
		}
		if (r.type == SASL_R_FAIL) {
			failed(s, a->mech, &r);
			return;
		}
		if (round == AUTH_ROUNDS_MAX) {
			log_warnx("%s: SASL %s: more than %d rounds",
			    s->ident, a->mech, AUTH_ROUNDS_MAX);
			backend_close(s);
			smtpd_reply(s, 535, "5.7.8", "Error: authentication "
			    "failed");
			return;
		}
		if (challenge(s, &r) == -1)
			return;
	}
}

void
smtpd_cmd_auth(struct smtpd_session *s, const struct smtpcmd *c)
{
	struct sasl_auth_arg a;
	const char *enh, *text;
	int code;

	if (refuse(s))
		return;
	if (sasl_parse_auth(c->arg, c->arg_len, &a, &code, &enh, &text) ==
	    -1) {
		smtpd_reply(s, code, enh, "%s", text);
		return;
	}
	if (a.resp_len > SASL_LINE_MAX - 512) {
		smtpd_reply(s, 500, "5.5.6", "Authentication Exchange line is "
		    "too long");
		return;
	}
	if (backend_open(s) == -1) {
		temp_failure(s);
		return;
	}
	if (!offered(s, a.mech)) {
		smtpd_reply(s, 504, "5.5.4", "Error: unsupported "
		    "authentication mechanism");
		return;
	}
	exchange(s, &a);
}
