/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_conn.c -- one connection from smtpd (server role) or from the
 * smtp client (client role): the request with its two descriptors,
 * "ready", "start", the TLS handshake and its outcome (docs/ipc.md,
 * "smtpd -> tlsproxy" and "smtp client -> tlsproxy"); the relay follows
 * in tlsproxy_relay.c.  "smtpd" below is whichever process asked.
 *
 * Process:  tlsproxy (mail_owner, event loop).
 * Input:    attribute messages and descriptors from smtpd or the smtp
 *           client, checked before use; the peer's TLS handshake
 *           (untrusted).
 * Failure:  a bad request, a timeout or a failed handshake logs one line
 *           and ends this session only: every descriptor it received is
 *           closed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>

#include "attr.h"
#include "conf.h"
#include "fdpass.h"
#include "log.h"
#include "service.h"
#include "tlsproxy.h"
#include "xmem.h"

#define HANDSHAKE_TRIES	16	/* gnutls_handshake calls per wake-up */

static void	on_ctl(evutil_socket_t, short, void *);
static void	on_io(evutil_socket_t, short, void *);
static void	on_timer(evutil_socket_t, short, void *);

static void
timer_set(struct tlsproxy_sess *s, const char *param)
{
	struct timeval tv;

	tv.tv_sec = conf_time(s->ctx->conf, param);
	tv.tv_usec = 0;
	evtimer_add(s->ev_timer, &tv);
}

static const char *
ident(const struct tlsproxy_sess *s)
{
	return s->req.ident[0] != '\0' ? s->req.ident : "smtpd";
}

static bool
is_client(const struct tlsproxy_sess *s)
{
	return s->req.role == TLSPROXY_CLIENT;
}

/* ---- replies to smtpd ---------------------------------------------------- */

/*
 * A reply is a few hundred bytes on a socket whose buffer is empty (smtpd
 * reads each before it writes again), so a non-blocking send takes it
 * whole or smtpd is gone.
 */
static int
reply(struct tlsproxy_sess *s, struct buf *out, bool built)
{
	ssize_t n;
	int r = -1;

	if (built && s->ctl != -1) {
		do {
			n = send(s->ctl, out->data, out->len, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == (ssize_t)out->len)
			r = 0;
	}
	buf_clear(out);
	return r;
}

static int
reply_status(struct tlsproxy_sess *s, const char *status)
{
	struct buf out;

	attr_out_init(&out);
	return reply(s, &out, attr_put_str(&out, "status", status) == 0);
}

static void
reply_error(struct tlsproxy_sess *s, const char *text)
{
	struct buf out;

	attr_out_init(&out);
	(void)reply(s, &out, attr_put_str(&out, "status", "error") == 0 &&
	    attr_put_str(&out, "text", text) == 0);
}

/* ---- the end of a session ------------------------------------------------ */

static void
event_drop(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

void
tlsproxy_sess_free(struct tlsproxy_sess *s)
{
	struct service_ctx *ctx = s->ctx;
	size_t i;

	event_drop(&s->ev_ctl);
	event_drop(&s->ev_crd);
	event_drop(&s->ev_cwr);
	event_drop(&s->ev_prd);
	event_drop(&s->ev_pwr);
	event_drop(&s->ev_timer);
	event_drop(&s->ev_again);
	if (s->tls != NULL)
		gnutls_deinit(s->tls);
	if (s->own_creds != NULL)
		gnutls_certificate_free_credentials(s->own_creds);
	if (s->ctl != -1)
		close(s->ctl);
	for (i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	/* The plaintext may hold AUTH credentials. */
	explicit_bzero(s, sizeof(*s));
	free(s);
	service_client_done(ctx);
}

/* ---- the handshake ------------------------------------------------------- */

static void
handshake_failed(struct tlsproxy_sess *s, const char *why)
{
	char text[TLS_ERR_MAX + 32], verr[TLS_ERR_MAX];

	verr[0] = '\0';
	if (is_client(s) && s->tls != NULL)
		tlsproxy_tls_verify_error(s->tls, verr, sizeof(verr));
	if (verr[0] != '\0')
		why = verr;
	/* DANE's own reason beats GnuTLS's "Error in the certificate". */
	if (is_client(s) && s->cst.dane_err[0] != '\0')
		why = s->cst.dane_err;
	log_info("TLS handshake failed %s %s: %s", is_client(s) ? "with" :
	    "from", s->req.ident, why);
	snprintf(text, sizeof(text), "handshake failed: %s", why);
	reply_error(s, text);
	tlsproxy_sess_free(s);
}

static void
handshake_done(struct tlsproxy_sess *s)
{
	char proto[TLS_DESC_MAX], cipher[TLS_DESC_MAX], sni[256];
	char fp[TLS_FP_LEN + 1], verr[TLS_ERR_MAX];
	struct buf out;
	bool built, verified = false, trusted = false;

	tls_session_describe(s->tls, proto, sizeof(proto), cipher,
	    sizeof(cipher), sni, sizeof(sni), fp, sizeof(fp));
	if (is_client(s) && tlsproxy_tls_client_done(s->tls, &s->cst,
	    &verified, &trusted, verr, sizeof(verr)) == -1) {
		handshake_failed(s, s->cst.dane_err);
		return;
	}
	attr_out_init(&out);
	built = attr_put_str(&out, "status", "ok") == 0 &&
	    attr_put_str(&out, "tls_proto", proto) == 0 &&
	    attr_put_str(&out, "tls_cipher", cipher) == 0 &&
	    (is_client(s) || attr_put_str(&out, "sni", sni) == 0) &&
	    attr_put_str(&out, "peer_fp", fp) == 0 &&
	    (!is_client(s) || (attr_put_int(&out, "verified",
	    verified ? 1 : 0) == 0 &&
	    attr_put_int(&out, "trusted", trusted ? 1 : 0) == 0 &&
	    attr_put_str(&out, "verify_error", verr) == 0)) &&
	    (s->req.verify != TLSPROXY_VERIFY_DANE ||
	    attr_put_str(&out, "dane_match", s->cst.dane_match) == 0) &&
	    attr_put_int(&out, "resumed",
	    gnutls_session_is_resumed(s->tls) ? 1 : 0) == 0;
	if (reply(s, &out, built) == -1) {
		log_info("TLS %s %s: %s went away during the handshake",
		    is_client(s) ? "with" : "from", s->req.ident,
		    is_client(s) ? "the smtp client" : "smtpd");
		tlsproxy_sess_free(s);
		return;
	}
	log_debug("TLS %s %s: %s %s%s%s%s%s", is_client(s) ? "with" : "from",
	    s->req.ident, proto, cipher, verified ? " (verified)" : "",
	    s->cst.dane_match[0] != '\0' ? " DANE TLSA " : "",
	    s->cst.dane_match,
	    gnutls_session_is_resumed(s->tls) ? " (resumed)" : "");
	event_drop(&s->ev_ctl);
	close(s->ctl);
	s->ctl = -1;
	tlsproxy_relay_start(s);
}

/* Wait for the client socket in the direction GnuTLS asked for. */
static void
wait_client(struct tlsproxy_sess *s, int dir)
{
	event_del(dir ? s->ev_crd : s->ev_cwr);
	event_add(dir ? s->ev_cwr : s->ev_crd, NULL);
}

static void
handshake_step(struct tlsproxy_sess *s)
{
	int r = GNUTLS_E_AGAIN, i;

	/* A warning alert is not fatal: go on, a bounded number of times. */
	for (i = 0; i < HANDSHAKE_TRIES; i++) {
		r = gnutls_handshake(s->tls);
		if (r == GNUTLS_E_SUCCESS) {
			if (!is_client(s))
				tlsproxy_tls_send_ticket(s->tls);
			handshake_done(s);
			return;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			wait_client(s, gnutls_record_get_direction(s->tls));
			return;
		}
		if (gnutls_error_is_fatal(r))
			break;
	}
	/* Best effort: tell the client why, if its socket takes it now. */
	(void)gnutls_alert_send_appropriate(s->tls, r);
	handshake_failed(s, gnutls_strerror(r));
}

static void
new_events(struct tlsproxy_sess *s)
{
	struct event_base *base = s->ctx->base;

	s->ev_crd = event_new(base, s->fds[0], EV_READ | EV_PERSIST, on_io, s);
	s->ev_cwr = event_new(base, s->fds[0], EV_WRITE | EV_PERSIST, on_io,
	    s);
	s->ev_prd = event_new(base, s->fds[1], EV_READ | EV_PERSIST, on_io, s);
	s->ev_pwr = event_new(base, s->fds[1], EV_WRITE | EV_PERSIST, on_io,
	    s);
	if (s->ev_crd == NULL || s->ev_cwr == NULL || s->ev_prd == NULL ||
	    s->ev_pwr == NULL)
		fatalx("cannot create events");
}

static void
handshake_begin(struct tlsproxy_sess *s)
{
	const char *err;

	event_del(s->ev_ctl);
	if (evutil_make_socket_nonblocking(s->fds[0]) == -1 ||
	    evutil_make_socket_nonblocking(s->fds[1]) == -1 ||
	    (is_client(s) ? tlsproxy_tls_client_session(s->fds[0], &s->cst,
	    s->creds, &s->tls, &err) :
	    tlsproxy_tls_session(s->fds[0], &s->tls, &err)) == -1) {
		log_warnx("TLS with %s: cannot start a session", s->req.ident);
		reply_error(s, "cannot start a TLS session");
		tlsproxy_sess_free(s);
		return;
	}
	new_events(s);
	s->state = TP_HANDSHAKE;
	timer_set(s, is_client(s) ? "smtp_starttls_timeout" :
	    "smtpd_starttls_timeout");
	handshake_step(s);
}

/* ---- requests ------------------------------------------------------------ */

static bool
stream_socket(int fd)
{
	struct stat st;
	socklen_t len = sizeof(int);
	int type = 0;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
	    type == SOCK_STREAM;
}

/*
 * Can the role of the request be served?  Server: the keys loaded.
 * Client: the priority string parsed, and the trust it asks for loads.
 * Returns 0, or -1 after refusing (status=error) and freeing s.
 */
static int
role_ready(struct tlsproxy_sess *s)
{
	char why[TLS_ERR_MAX], text[TLS_ERR_MAX + 64];
	const char *cwhy;

	if (!is_client(s)) {
		if (tlsproxy_tls_ready(&cwhy))
			return 0;
		log_info("STARTTLS from %s refused: TLS is not available: %s",
		    s->req.ident, cwhy);
		reply_error(s, "TLS is not available: no usable key");
		tlsproxy_sess_free(s);
		return -1;
	}
	if (!tlsproxy_tls_client_ready(&cwhy))
		strlcpy(why, cwhy, sizeof(why));
	else if (tlsproxy_tls_client_creds(&s->req, &s->creds, &s->own_creds,
	    why, sizeof(why)) == 0) {
		s->cst.req = &s->req;
		tlsproxy_cache_key(&s->req, s->cst.key, sizeof(s->cst.key));
		return 0;
	}
	log_info("TLS with %s refused: %s", s->req.ident, why);
	snprintf(text, sizeof(text), "TLS is not available: %s", why);
	reply_error(s, text);
	tlsproxy_sess_free(s);
	return -1;
}

/* request=server or client: check it and its descriptors, say ready. */
static int
do_request(struct tlsproxy_sess *s, const struct attr_msg *m,
    const char **err_r)
{
	int one = 1;

	if (tlsproxy_req_parse(m, &s->req, err_r) == -1)
		return -1;
	if (s->nfds != 2) {
		*err_r = "not sent with exactly two descriptors";
		return -1;
	}
	if (!stream_socket(s->fds[0]) || !stream_socket(s->fds[1])) {
		*err_r = "the descriptors are not stream sockets";
		return -1;
	}
	/*
	 * TLS writes a flight as several small records: without this,
	 * Nagle's algorithm holds the last one back until the peer's
	 * delayed ACK (40 ms) on every handshake.  Not TCP: no matter.
	 */
	(void)setsockopt(s->fds[0], IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	if (role_ready(s) == -1)
		return 1;
	if (reply_status(s, "ready") == -1) {
		log_info("TLS for %s: %s went away", s->req.ident,
		    is_client(s) ? "the smtp client" : "smtpd");
		tlsproxy_sess_free(s);
		return 1;
	}
	s->state = TP_START;
	timer_set(s, "ipc_timeout");
	return 0;
}

/*
 * One request.  Returns 0 to go on reading, 1 when the session moved on
 * (or is gone: do not touch it), -1 with *err_r for a protocol error.
 */
static int
handle(struct tlsproxy_sess *s, const struct attr_msg *m, const char **err_r)
{
	switch (s->state) {
	case TP_REQUEST:
		return do_request(s, m, err_r);
	case TP_START:
		if (!tlsproxy_req_is_start(m)) {
			*err_r = "expected request=start";
			return -1;
		}
		if (s->inlen != 0) {
			*err_r = "data after request=start";
			return -1;
		}
		handshake_begin(s);
		return 1;
	default:
		bug("tlsproxy: request in state %d", (int)s->state);
	}
}

/*
 * Read from smtpd: 0, or -1 at end of file (*err_r NULL) or on an error.
 * Descriptors are taken only until there are two; more fail the read
 * (fdpass_recv closes them).
 */
static int
ctl_read(struct tlsproxy_sess *s, const char **err_r)
{
	size_t got = 0;
	ssize_t n;

	*err_r = NULL;
	n = fdpass_recv(s->ctl, s->fds + s->nfds, 2 - s->nfds, &got,
	    s->in + s->inlen, sizeof(s->in) - s->inlen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		*err_r = errno == EBADMSG ? "unexpected descriptors" :
		    strerror(errno);
		return -1;
	}
	s->nfds += got;
	if (n == 0)
		return -1;
	s->inlen += (size_t)n;
	return 0;
}

/* Is a whole message in?  1 with *total_r, 0 not yet, -1 too large. */
static int
ctl_frame(struct tlsproxy_sess *s, size_t *total_r, const char **err_r)
{
	uint32_t len;

	if (s->inlen < 4)
		return 0;
	len = (uint32_t)s->in[0] << 24 | (uint32_t)s->in[1] << 16 |
	    (uint32_t)s->in[2] << 8 | s->in[3];
	if (len > sizeof(s->in) - 4) {
		*err_r = "request too large";
		return -1;
	}
	if (attr_frame(s->in, s->inlen, total_r, err_r) == ATTR_OK)
		return 1;
	return 0;
}

static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct tlsproxy_sess *s = arg;
	struct attr_msg m;
	const char *err;
	size_t total;
	int r;

	if (ctl_read(s, &err) == -1) {
		if (err != NULL)
			goto bad;
		/* smtpd closed before "start": no TLS after all. */
		log_debug("%s: smtpd closed before TLS started", ident(s));
		tlsproxy_sess_free(s);
		return;
	}
	while ((r = ctl_frame(s, &total, &err)) == 1) {
		attr_msg_init(&m);
		if (attr_decode(s->in + 4, total - 4, &m, &err) != ATTR_OK) {
			attr_msg_clear(&m);
			goto bad;
		}
		s->inlen -= total;
		memmove(s->in, s->in + total, s->inlen);
		r = handle(s, &m, &err);
		attr_msg_clear(&m);
		if (r == -1)
			goto bad;
		if (r == 1)
			return;
	}
	if (r == 0)
		return;
bad:
	log_warnx("bad request from %s: %s; connection closed", ident(s), err);
	reply_error(s, "bad request");
	tlsproxy_sess_free(s);
}

/* ---- events -------------------------------------------------------------- */

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct tlsproxy_sess *s = arg;

	if (s->state == TP_HANDSHAKE)
		handshake_step(s);
	else
		tlsproxy_relay_run(s);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tlsproxy_sess *s = arg;

	switch (s->state) {
	case TP_REQUEST:
	case TP_START:
		log_info("%s: timeout waiting for smtpd's %s", ident(s),
		    s->state == TP_REQUEST ? "request" : "start");
		reply_error(s, "timeout");
		break;
	case TP_HANDSHAKE:
		handshake_failed(s, "timed out");
		return;
	case TP_RELAY:
		log_info("TLS session with %s: idle for %llds, closed",
		    s->req.ident, (long long)s->idle);
		break;
	}
	tlsproxy_sess_free(s);
}

void
tlsproxy_client(struct service_ctx *ctx, int fd)
{
	struct tlsproxy_sess *s;

	s = xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	s->ctl = fd;
	s->fds[0] = s->fds[1] = -1;
	s->state = TP_REQUEST;
	s->send_dir = 1;
	s->ev_ctl = event_new(ctx->base, fd, EV_READ | EV_PERSIST, on_ctl, s);
	s->ev_timer = evtimer_new(ctx->base, on_timer, s);
	if (s->ev_ctl == NULL || s->ev_timer == NULL)
		fatalx("cannot create events");
	if (evutil_make_socket_nonblocking(fd) == -1) {
		log_warn("tlsproxy: fcntl");
		tlsproxy_sess_free(s);
		return;
	}
	event_add(s->ev_ctl, NULL);
	timer_set(s, "ipc_timeout");
}
