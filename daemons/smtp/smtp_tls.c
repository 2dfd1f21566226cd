/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_tls.c -- the SMTP client's TLS: the policy of a destination
 * (level, and the name a certificate must cover), and STARTTLS through
 * tlsproxy's client role (docs/ipc.md, "smtp client -> tlsproxy"): the
 * agent never holds a key, never parses a ciphertext byte, and never
 * speaks plaintext on a connection after the server agreed to TLS.
 *
 * Process:  smtp (mail_owner, no keys).
 * Input:    tern.conf (trusted); tlsproxy's answers (a trusted service,
 *           parsed with attr.h's limits).
 * Failure:  a handshake that fails closes the connection and returns -1
 *           with a reason; the caller decides what the level allows.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "conf.h"
#include "fdpass.h"
#include "log.h"
#include "smtp.h"

static const struct {
	const char	   *name;
	enum smtp_tls_level level;
} levels[] = {
	{ "none", SMTP_TLS_NONE },
	{ "may", SMTP_TLS_MAY },
	{ "encrypt", SMTP_TLS_ENCRYPT },
	{ "verify", SMTP_TLS_VERIFY },
	{ "secure", SMTP_TLS_SECURE },
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

int
smtp_tls_policy(const struct smtp_agent *a, const struct smtp_dest *d,
    struct smtp_tls_policy *p, char *err, size_t errsz)
{
	const char *v = conf_str(a->conf, "smtp_tls_security_level");
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(v, levels[i].name) == 0)
			break;
	if (i == sizeof(levels) / sizeof(levels[0])) {
		snprintf(err, errsz, "unknown smtp_tls_security_level \"%s\"",
		    v);
		return -1;
	}
	p->level = levels[i].level;
	/* secure: the domain the mail is for, which DNS cannot change. */
	if (p->level == SMTP_TLS_SECURE)
		strlcpy(p->match, d->host, sizeof(p->match));
	return 0;
}

/* ---- the hand-off to tlsproxy --------------------------------------------- */

/* Step 1: the request, with the server socket and our socketpair end. */
static int
send_request(struct smtp_agent *a, int ctl, int server, int plain,
    const struct smtp_tls_policy *p, const struct smtp_cand *c,
    unsigned port)
{
	struct buf out;
	char portstr[8];
	int fds[2] = { server, plain }, r;
	bool ca = p->level >= SMTP_TLS_VERIFY;

	snprintf(portstr, sizeof(portstr), "%u", port);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "client") == -1 ||
	    attr_put_str(&out, "proto", "tlsproxy/1") == -1 ||
	    attr_put_str(&out, "server_name", p->match[0] != '\0' ?
	    p->match : c->host) == -1 ||
	    attr_put_str(&out, "server_addr", c->addr) == -1 ||
	    attr_put_str(&out, "server_port", portstr) == -1 ||
	    attr_put_str(&out, "service", a->service) == -1 ||
	    attr_put_str(&out, "verify", ca ? "ca" : "none") == -1 ||
	    attr_put_str(&out, "ca_file", ca ?
	    conf_str(a->conf, "smtp_tls_CAfile") : "") == -1) {
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
	char proto[64], cipher[128], fp[80];
	int64_t verified = 0, resumed = 0;
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
	(void)attr_get_int(m, "resumed", &resumed);
	/*
	 * Verified: the chain and the name checked.  Untrusted: a
	 * certificate, not checked (verify=none).  Anonymous: none sent.
	 */
	trust = verified ? "Verified" : fp[0] != '\0' ? "Untrusted" :
	    "Anonymous";
	log_info("%s: %s TLS connection established to %s: %s with cipher "
	    "%s%s%s%s", queue_id, trust, a->sess.relay, proto, cipher,
	    fp[0] != '\0' ? " server certificate sha256=" : "", fp,
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
