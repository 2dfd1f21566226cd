/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_relay.c -- after the handshake: the client's TLS records <->
 * smtpd's plaintext socketpair, with a bounded buffer each way.
 *
 * Process:  tlsproxy (mail_owner, event loop).
 * Input:    TLS records from the client (untrusted, decrypted by GnuTLS);
 *           plaintext from smtpd, passed on as it is.
 * Failure:  an error on either side ends the session: both sockets are
 *           closed, and each peer sees its end of file.
 *
 * Back-pressure: a side is read only while the buffer toward the other
 * side has room, so a slow reader slows the writer down and memory stays
 * at TLSPROXY_BUF each way.  End of file is passed on: the client's
 * close_notify (or TCP end) becomes shutdown(SHUT_WR) on smtpd's end once
 * everything before it was delivered; smtpd's end of file becomes a
 * close_notify once everything smtpd wrote was sent, and ends the session.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "service.h"
#include "tlsproxy.h"

/* Rounds per wake-up, so that one busy session cannot starve the rest. */
#define RELAY_ROUNDS	16

/* Each step: 1 when it moved something, 0 when it must wait, -1 when over. */

/* Client -> to_plain: decrypt what the client sent. */
static int
from_client(struct tlsproxy_sess *s)
{
	struct tlsproxy_buf *b = &s->to_plain;
	ssize_t n;

	if (s->client_eof || tlsproxy_buf_room(b) == 0)
		return 0;
	n = gnutls_record_recv(s->tls, b->data + b->len, tlsproxy_buf_room(b));
	if (n > 0) {
		b->len += (size_t)n;
		return 1;
	}
	switch (n) {
	case 0:				/* close_notify */
		s->client_eof = true;
		return 1;
	case GNUTLS_E_AGAIN:
	case GNUTLS_E_INTERRUPTED:
		s->recv_dir = gnutls_record_get_direction(s->tls);
		return 0;
	case GNUTLS_E_PREMATURE_TERMINATION:
		/* TCP end without close_notify: common, and still an end. */
		s->client_eof = true;
		return 1;
	case GNUTLS_E_REHANDSHAKE:
		/* SMTP clients have no reason to renegotiate (TLS 1.2). */
		log_info("TLS session with %s: renegotiation refused, closed",
		    s->req.ident);
		return -1;
	}
	if (!gnutls_error_is_fatal((int)n))
		return 1;		/* a warning alert: read on */
	log_info("TLS read from %s: %s", s->req.ident,
	    gnutls_strerror((int)n));
	return -1;
}

/* to_plain -> smtpd; after the client's end, pass the end on. */
static int
to_plain(struct tlsproxy_sess *s)
{
	struct tlsproxy_buf *b = &s->to_plain;
	ssize_t n;

	if (b->len == 0) {
		if (!s->client_eof || s->plain_shut)
			return 0;
		(void)shutdown(s->fds[1], SHUT_WR);
		s->plain_shut = true;
		return 1;
	}
	n = send(s->fds[1], b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		tlsproxy_buf_consume(b, (size_t)n);
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == -1 && errno == EINTR)
		return 1;
	/*
	 * smtpd is gone: what the client still sends has no reader.  Drop
	 * it and stop reading the client, but still send what smtpd wrote
	 * before it went (its last reply) and a close_notify.
	 */
	log_debug("TLS session with %s: smtpd closed its end", s->req.ident);
	b->len = 0;
	s->client_eof = s->plain_shut = s->plain_eof = true;
	return 1;
}

/* smtpd -> to_client. */
static int
from_plain(struct tlsproxy_sess *s)
{
	struct tlsproxy_buf *b = &s->to_client;
	ssize_t n;

	if (s->plain_eof || tlsproxy_buf_room(b) == 0)
		return 0;
	n = read(s->fds[1], b->data + b->len, tlsproxy_buf_room(b));
	if (n > 0) {
		b->len += (size_t)n;
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == -1 && errno == EINTR)
		return 1;
	/* 0, or ECONNRESET: smtpd closed with bytes of ours unread. */
	if (n == -1 && errno != ECONNRESET) {
		log_warn("TLS session with %s: read from smtpd", s->req.ident);
		return -1;
	}
	s->plain_eof = true;
	return 1;
}

/* to_client -> the client, encrypted; after smtpd's end, close_notify. */
static int
to_client(struct tlsproxy_sess *s)
{
	struct tlsproxy_buf *b = &s->to_client;
	size_t len;
	ssize_t n;
	int r;

	if (s->send_pending == 0 && b->len == 0) {
		if (!s->plain_eof || s->bye_done)
			return 0;
		r = gnutls_bye(s->tls, GNUTLS_SHUT_WR);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			s->send_dir = gnutls_record_get_direction(s->tls);
			return 0;
		}
		/* Sent, or the client is gone already: the end either way. */
		s->bye_done = true;
		return 1;
	}
	/* After GNUTLS_E_AGAIN the same call again, as GnuTLS requires. */
	len = s->send_pending != 0 ? s->send_pending : b->len;
	n = gnutls_record_send(s->tls, b->data, len);
	if (n > 0) {
		s->send_pending = 0;
		tlsproxy_buf_consume(b, (size_t)n);
		return 1;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		s->send_pending = len;
		s->send_dir = gnutls_record_get_direction(s->tls);
		return 0;
	}
	log_info("TLS write to %s: %s", s->req.ident,
	    n == 0 ? "nothing sent" : gnutls_strerror((int)n));
	return -1;
}

static void
want(struct event *ev, bool on)
{
	if (on && !event_pending(ev, EV_READ | EV_WRITE, NULL))
		event_add(ev, NULL);
	else if (!on)
		event_del(ev);
}

/* Wait for exactly what the blocked steps need. */
static void
relay_arm(struct tlsproxy_sess *s)
{
	bool recv, send;

	recv = !s->client_eof && tlsproxy_buf_room(&s->to_plain) > 0;
	send = s->send_pending != 0 || s->to_client.len > 0 ||
	    (s->plain_eof && !s->bye_done);
	want(s->ev_crd, (recv && s->recv_dir == 0) ||
	    (send && s->send_dir == 0));
	want(s->ev_cwr, (recv && s->recv_dir == 1) ||
	    (send && s->send_dir == 1));
	want(s->ev_prd, !s->plain_eof && tlsproxy_buf_room(&s->to_client) > 0);
	want(s->ev_pwr, s->to_plain.len > 0);
}

void
tlsproxy_relay_run(struct tlsproxy_sess *s)
{
	static int (*const steps[])(struct tlsproxy_sess *) = {
		from_client, to_plain, from_plain, to_client,
	};
	struct timeval tv;
	bool moved = false;
	size_t i;
	int round, r, any;

	for (round = 0; round < RELAY_ROUNDS; round++) {
		any = 0;
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			if ((r = steps[i](s)) == -1) {
				tlsproxy_sess_free(s);
				return;
			}
			any |= r;
		}
		if (s->bye_done) {
			log_debug("TLS session with %s: closed", s->req.ident);
			tlsproxy_sess_free(s);
			return;
		}
		if (!any)
			break;
		moved = true;
	}
	/* Still busy: come back after the other sessions had their turn. */
	if (round == RELAY_ROUNDS)
		event_active(s->ev_again, EV_TIMEOUT, 0);
	if (moved) {
		tv.tv_sec = s->idle;
		tv.tv_usec = 0;
		evtimer_add(s->ev_timer, &tv);
	}
	relay_arm(s);
}

static void
on_again(evutil_socket_t fd, short what, void *arg)
{
	tlsproxy_relay_run(arg);
}

void
tlsproxy_relay_start(struct tlsproxy_sess *s)
{
	struct timeval tv;

	s->ev_again = event_new(s->ctx->base, -1, 0, on_again, s);
	if (s->ev_again == NULL)
		fatalx("cannot create events");
	s->state = TP_RELAY;
	s->idle = conf_time(s->ctx->conf,
	    s->req.role == TLSPROXY_CLIENT ? "smtp_tls_idle_timeout" :
	    "smtpd_timeout");
	tv.tv_sec = s->idle;
	tv.tv_usec = 0;
	evtimer_add(s->ev_timer, &tv);
	event_del(s->ev_crd);
	event_del(s->ev_cwr);
	tlsproxy_relay_run(s);
}
