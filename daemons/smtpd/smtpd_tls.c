/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_tls.c -- STARTTLS (RFC 3207) and implicit TLS (RFC 8314) by
 * handing the client's socket to tlsproxy (docs/ipc.md): smtpd never
 * holds a key and never sees a ciphertext byte.
 *
 * Process:  smtpd.
 * Input:    tlsproxy's answers (a trusted service, still parsed with
 *           attr.h's limits); the client's pipelined bytes, which are
 *           discarded unread.
 * Failure:  tlsproxy not ready -> -1 before anything was said to the
 *           client (the caller answers 454 and goes on in plaintext);
 *           a failed handshake after 220 ends the session.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "attr.h"
#include "conf.h"
#include "fdpass.h"
#include "log.h"
#include "smtpd.h"

#define DRAIN_MAX	(1024 * 1024)	/* pipelined bytes we read to drop */

/* Step 1 of docs/ipc.md: the request, with the two descriptors. */
static int
send_request(const struct smtpd_session *s, int ctl, int plain)
{
	struct buf out;
	int fds[2] = { s->fd, plain }, r;

	attr_out_init(&out);
	if (attr_put_str(&out, "request", "server") == -1 ||
	    attr_put_str(&out, "proto", "tlsproxy/1") == -1 ||
	    attr_put_str(&out, "client_name", s->name) == -1 ||
	    attr_put_str(&out, "client_addr", s->addr) == -1 ||
	    attr_put_str(&out, "client_port", s->port) == -1 ||
	    attr_put_str(&out, "service", s->service) == -1) {
		buf_clear(&out);
		errno = EMSGSIZE;
		return -1;
	}
	r = fdpass_send(ctl, fds, 2, out.data, out.len);
	buf_clear(&out);
	return r;
}

/* Read one answer; 0 when its status is want, else -1 with why set. */
static int
expect(struct smtpd_session *s, int ctl, const char *want,
    struct attr_msg *m, char *why, size_t whysz)
{
	return attr_expect(ctl, m, s->tls_timeout_ms, want, "tlsproxy", why,
	    whysz);
}

/*
 * CVE-2011-0411: what the client sent after STARTTLS was sent before
 * TLS, so an attacker in the path may have added it.  Drop what lineio
 * holds and what the kernel has queued; the client may not send its
 * ClientHello before our 220, so nothing of the handshake is lost.
 */
static void
discard_pipelined(struct smtpd_session *s)
{
	char tmp[4096];
	size_t total;
	ssize_t n;

	total = lineio_discard(&s->in);
	while (total < DRAIN_MAX &&
	    (n = recv(s->fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
	if (total > 0)
		log_warnx("%s: discarded %zu bytes of plaintext pipelined "
		    "after STARTTLS", s->ident, total);
}

/* Step 4: what tlsproxy says about the handshake. */
static int
outcome(struct smtpd_session *s, int ctl)
{
	struct attr_msg m;
	char why[256], sni[256], fp[80];
	int64_t resumed = 0;
	int r = -1;

	attr_msg_init(&m);
	if (expect(s, ctl, "ok", &m, why, sizeof(why)) == -1) {
		log_info("TLS handshake failed from %s: %s", s->ident, why);
		goto done;
	}
	if (attr_get_str(&m, "tls_proto", s->tls_proto,
	    sizeof(s->tls_proto)) == -1 || attr_get_str(&m, "tls_cipher",
	    s->tls_cipher, sizeof(s->tls_cipher)) == -1 ||
	    s->tls_proto[0] == '\0' || s->tls_cipher[0] == '\0') {
		log_warnx("TLS from %s: tlsproxy sent no protocol or cipher",
		    s->ident);
		goto done;
	}
	if (attr_get_str(&m, "sni", sni, sizeof(sni)) == -1)
		sni[0] = '\0';
	if (attr_get_str(&m, "peer_fp", fp, sizeof(fp)) == -1)
		fp[0] = '\0';
	(void)attr_get_int(&m, "resumed", &resumed);
	log_info("TLS connection established from %s: %s with cipher %s%s%s"
	    "%s%s%s", s->ident, s->tls_proto, s->tls_cipher,
	    sni[0] ? " sni=" : "", sni,
	    fp[0] ? " client certificate sha256=" : "", fp,
	    resumed ? " (resumed)" : "");
	r = 0;
done:
	attr_msg_clear(&m);
	return r;
}

/* RFC 3207 4.2: forget everything the client said before TLS. */
static void
forget_session(struct smtpd_session *s)
{
	smtpd_txn_reset(s);
	smtpd_auth_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->ext = 0;
	s->tls = true;
}

int
smtpd_tls_start(struct smtpd_session *s, bool wrapper)
{
	struct attr_msg m;
	struct buf out;
	char why[256];
	const char *err;
	int sp[2] = { -1, -1 }, ctl = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: TLS: socketpair", s->ident);
		return -1;
	}
	if ((ctl = smtpd_dial(s, "tlsproxy")) == -1) {
		log_warn("%s: TLS: cannot reach tlsproxy", s->ident);
		goto fail;
	}
	if (send_request(s, ctl, sp[1]) == -1) {
		log_warn("%s: TLS: request to tlsproxy", s->ident);
		goto fail;
	}
	close(sp[1]);
	sp[1] = -1;
	attr_msg_init(&m);
	if (expect(s, ctl, "ready", &m, why, sizeof(why)) == -1) {
		attr_msg_clear(&m);
		log_warnx("%s: TLS not available: %s", s->ident, why);
		goto fail;
	}
	attr_msg_clear(&m);

	/* Ready: from here on there is no way back to plaintext. */
	if (!wrapper) {
		discard_pipelined(s);
		smtpd_reply(s, 220, "2.0.0", "Ready to start TLS");
		if (smtpd_flush(s) == -1) {
			log_info("lost connection after STARTTLS from %s",
			    s->ident);
			goto dead;
		}
	}
	close(s->fd);
	s->fd = sp[0];
	sp[0] = -1;
	lineio_set_fd(&s->in, s->fd);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "start") == -1 ||
	    attr_write(ctl, &out, s->ipc_timeout_ms, &err) == -1) {
		buf_clear(&out);
		log_warnx("%s: TLS: tlsproxy went away", s->ident);
		goto dead;
	}
	buf_clear(&out);
	if (outcome(s, ctl) == -1)
		goto dead;
	close(ctl);
	forget_session(s);
	return 0;

dead:
	/* The client was told 220 (or expects TLS): nothing more to say. */
	if (ctl != -1)
		close(ctl);
	if (sp[0] != -1)
		close(sp[0]);
	s->quit = true;
	s->dead = true;
	return 1;
fail:
	if (ctl != -1)
		close(ctl);
	close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	return -1;
}
