/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_session.c -- one SMTP session: greeting, the command loop, and
 * every command but DATA and BDAT (smtpd_data.c).
 *
 * Process:  smtpd (user mail_owner, one client).
 * Input:    untrusted command lines, capped at line_length_limit.
 * Failure:  bad client input -> SMTP reply; too many errors -> 421.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "match.h"
#include "service.h"
#include "smtpd.h"
#include "tls.h"
#include "xmem.h"

typedef void	(*smtpd_cmd_fn)(struct smtpd_session *, const struct smtpcmd *);

static const char *const count_names[CNT_MAX] = {
	"helo", "ehlo", "mail", "rcpt", "data", "bdat", "rset", "noop",
	"quit", "help", "vrfy", "expn", "starttls", "auth", "unknown",
};

const char *
smtpd_proto(const struct smtpd_session *s)
{
	bool auth = s->sasl_user[0] != '\0';

	/* RFC 3848 and RFC 6531 names; "S" for TLS, "A" for AUTH. */
	if (!s->esmtp)
		return "SMTP";
	if (s->tls && auth)
		return s->smtputf8 ? "UTF8SMTPSA" : "ESMTPSA";
	if (s->tls)
		return s->smtputf8 ? "UTF8SMTPS" : "ESMTPS";
	if (auth)
		return s->smtputf8 ? "UTF8SMTPA" : "ESMTPA";
	return s->smtputf8 ? "UTF8SMTP" : "ESMTP";
}

void
smtpd_txn_reset(struct smtpd_session *s)
{
	smtpd_cleanup_abort(s);
	s->in_mail = false;
	memset(&s->sender, 0, sizeof(s->sender));
	s->smtputf8 = false;
	s->body = SMTPCMD_BODY_NONE;
	s->ret = SMTPCMD_RET_NONE;
	s->envid[0] = '\0';
	s->declared_size = 0;
	s->nrcpt = 0;
	s->bdat = false;
	s->qid[0] = '\0';
	s->size = 0;
}

/* "NOQUEUE: reject: RCPT from host[addr]: 554 5.7.1 ...; from=<> to=<>" */
static void
log_reject(struct smtpd_session *s, const char *cmd, int code,
    const char *enh, const char *text, const struct addr *to)
{
	char from[ADDR_PATH_MAX + 1], rcpt[ADDR_PATH_MAX + 1];
	char sf[4 * sizeof(from)], sr[4 * sizeof(rcpt)], st[1024];

	addr_format(&s->sender, from, sizeof(from));
	rcpt[0] = '\0';
	if (to != NULL)
		addr_format(to, rcpt, sizeof(rcpt));
	log_info("%s: reject: %s from %s: %d %s %s; from=<%s>%s%s%s proto=%s "
	    "helo=<%s>", s->qid[0] ? s->qid : "NOQUEUE", cmd, s->ident, code,
	    enh, log_safe(st, sizeof(st), text, strlen(text)),
	    log_safe(sf, sizeof(sf), from, strlen(from)),
	    to ? " to=<" : "", to ? log_safe(sr, sizeof(sr), rcpt,
	    strlen(rcpt)) : "", to ? ">" : "", smtpd_proto(s), s->helo);
}

/* ---- HELO, EHLO ---------------------------------------------------------- */

static void
set_helo(struct smtpd_session *s, const struct smtpcmd *c)
{
	char safe[4 * sizeof(s->helo)];

	log_safe(safe, sizeof(safe), c->arg, c->arg_len);
	strlcpy(s->helo, safe, sizeof(s->helo));
	smtpd_txn_reset(s);
}

static void
cmd_helo(struct smtpd_session *s, const struct smtpcmd *c)
{
	set_helo(s, c);
	s->esmtp = false;
	s->ext = 0;
	smtpd_reply(s, 250, "", "%s", conf_str(s->conf, "myhostname"));
}

static void
cmd_ehlo(struct smtpd_session *s, const struct smtpcmd *c)
{
	char size[64];

	set_helo(s, c);
	s->esmtp = true;
	s->ext = SMTPCMD_F_8BITMIME | SMTPCMD_F_SMTPUTF8 | SMTPCMD_F_DSN |
	    SMTPCMD_F_SIZE | SMTPCMD_F_CHUNKING;
	smtpd_reply_more(s, 250, "", conf_str(s->conf, "myhostname"));
	smtpd_reply_more(s, 250, "", "PIPELINING");
	snprintf(size, sizeof(size), "SIZE %llu",
	    (unsigned long long)s->size_limit);
	smtpd_reply_more(s, 250, "", s->size_limit ? size : "SIZE");
	smtpd_reply_more(s, 250, "", "ENHANCEDSTATUSCODES");
	smtpd_reply_more(s, 250, "", "8BITMIME");
	smtpd_reply_more(s, 250, "", "DSN");
	if (s->tls_offer && !s->tls)
		smtpd_reply_more(s, 250, "", "STARTTLS");
	smtpd_auth_ehlo(s);
	smtpd_reply_more(s, 250, "", "SMTPUTF8");
	smtpd_reply(s, 250, "", "CHUNKING");
}

/* ---- MAIL, RCPT ---------------------------------------------------------- */

static void
cmd_mail(struct smtpd_session *s, const struct smtpcmd *c)
{
	if (s->helo[0] == '\0') {
		smtpd_reply(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (smtpd_need_tls(s))
		return;
	if (c->size_set && s->size_limit > 0 && c->size > s->size_limit) {
		log_reject(s, "MAIL", 552, "5.3.4", "Message size exceeds "
		    "fixed limit", NULL);
		smtpd_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	s->in_mail = true;
	s->sender = c->addr;
	s->smtputf8 = c->smtputf8;
	s->body = c->body;
	s->ret = c->ret;
	strlcpy(s->envid, c->envid_set ? c->envid : "", sizeof(s->envid));
	s->declared_size = c->size_set ? c->size : 0;
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

static void
cmd_rcpt(struct smtpd_session *s, const struct smtpcmd *c)
{
	char to[ADDR_PATH_MAX + 1], text[ADDR_PATH_MAX + 128];
	struct smtpd_rcpt *r;
	const char *enh, *why;
	int code;

	if (smtpd_need_tls(s))
		return;
	if (!s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->bdat) {
		smtpd_reply(s, 503, "5.5.1", "Error: RCPT after BDAT");
		return;
	}
	if (s->nrcpt >= s->rcpt_limit) {
		smtpd_reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	if (smtpd_check_rcpt(s, &c->addr, &code, &enh, &why) == -1) {
		addr_format(&c->addr, to, sizeof(to));
		snprintf(text, sizeof(text), "<%s>: %s", to, why);
		log_reject(s, "RCPT", code, enh, text, &c->addr);
		smtpd_reply(s, code, enh, "%s", text);
		return;
	}
	if (s->nrcpt == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
		s->rcpts = xreallocarray(s->rcpts, s->rcpt_cap,
		    sizeof(*s->rcpts));
	}
	r = &s->rcpts[s->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = c->addr;
	r->notify = c->notify;
	if (c->orcpt_set) {
		strlcpy(r->orcpt_type, c->orcpt_type, sizeof(r->orcpt_type));
		strlcpy(r->orcpt, c->orcpt, sizeof(r->orcpt));
	}
	smtpd_reply(s, 250, "2.1.5", "Ok");
}

/* ---- the rest ------------------------------------------------------------ */

static void
cmd_data(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_cmd_data(s);
}

static void
cmd_bdat(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_cmd_bdat(s, c);
}

static void
cmd_rset(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_txn_reset(s);
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_reply(s, 221, "2.0.0", "Bye");
	s->quit = true;
}

static void
cmd_help(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT "
	    "RSET NOOP QUIT HELP VRFY");
}

/* VRFY when enabled: the recipient check of RCPT, without relaying. */
static void
vrfy_check(struct smtpd_session *s, const struct smtpcmd *c)
{
	char to[ADDR_PATH_MAX + 1];
	const char *enh, *why;
	enum addr_err aerr;
	struct addr a;
	size_t used;
	int code;

	if (addr_parse_path(c->arg, c->arg_len, ADDR_F_RCPT |
	    ADDR_F_NOBRACKETS_OK | (s->ext & SMTPCMD_F_SMTPUTF8 ?
	    ADDR_F_SMTPUTF8 : 0), &a, &used, &aerr) == -1 ||
	    used != c->arg_len) {
		smtpd_reply(s, 501, "5.1.3", "Bad recipient address syntax");
		return;
	}
	addr_format(&a, to, sizeof(to));
	if (a.domain[0] != '\0' && !smtpd_domain_is_local(s, a.domain)) {
		smtpd_reply(s, 252, "2.1.5", "<%s>: not local; will accept "
		    "message and attempt delivery", to);
		return;
	}
	if (smtpd_check_rcpt(s, &a, &code, &enh, &why) == -1) {
		smtpd_reply(s, code, enh, "<%s>: %s", to, why);
		return;
	}
	smtpd_reply(s, 250, "2.1.5", "<%s>", to);
}

static void
cmd_vrfy(struct smtpd_session *s, const struct smtpcmd *c)
{
	if (!conf_bool(s->conf, "disable_vrfy_command")) {
		vrfy_check(s, c);
		return;
	}
	smtpd_reply(s, 252, "2.1.5", "Cannot VRFY user, but will accept "
	    "message and attempt delivery");
}

/* Known commands of extensions this server does not advertise. */
static void
cmd_expn(struct smtpd_session *s, const struct smtpcmd *c)
{
	smtpd_reply(s, 502, "5.5.1", "Error: EXPN is not supported");
}

/* smtpd_tls_security_level = encrypt: nothing before STARTTLS. */
bool
smtpd_need_tls(struct smtpd_session *s)
{
	if (!s->tls_required || s->tls)
		return false;
	smtpd_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
	return true;
}

static void
cmd_starttls(struct smtpd_session *s, const struct smtpcmd *c)
{
	/* Never 250.  smtpcmd answered an argument with 501 5.5.4. */
	if (s->tls) {
		smtpd_reply(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (!s->tls_offer) {
		smtpd_reply(s, 502, "5.5.1", "Error: TLS is not configured");
		return;
	}
	if (smtpd_tls_start(s, false) == -1)
		smtpd_reply(s, 454, "4.7.0", "TLS not available due to "
		    "temporary reason");
}

static const struct {
	enum smtpcmd_verb verb;
	enum smtpd_count count;
	smtpd_cmd_fn	 fn;
} commands[] = {
	{ SMTPCMD_HELO,		CNT_HELO,	cmd_helo },
	{ SMTPCMD_EHLO,		CNT_EHLO,	cmd_ehlo },
	{ SMTPCMD_MAIL,		CNT_MAIL,	cmd_mail },
	{ SMTPCMD_RCPT,		CNT_RCPT,	cmd_rcpt },
	{ SMTPCMD_DATA,		CNT_DATA,	cmd_data },
	{ SMTPCMD_BDAT,		CNT_BDAT,	cmd_bdat },
	{ SMTPCMD_RSET,		CNT_RSET,	cmd_rset },
	{ SMTPCMD_NOOP,		CNT_NOOP,	cmd_noop },
	{ SMTPCMD_QUIT,		CNT_QUIT,	cmd_quit },
	{ SMTPCMD_HELP,		CNT_HELP,	cmd_help },
	{ SMTPCMD_VRFY,		CNT_VRFY,	cmd_vrfy },
	{ SMTPCMD_EXPN,		CNT_EXPN,	cmd_expn },
	{ SMTPCMD_STARTTLS,	CNT_STARTTLS,	cmd_starttls },
	{ SMTPCMD_AUTH,		CNT_AUTH,	smtpd_cmd_auth },
};

static void
dispatch(struct smtpd_session *s, const char *line, size_t len)
{
	struct smtpcmd c;
	struct smtpcmd_err err;
	unsigned flags = s->ext, before = s->errors;
	enum smtpd_count cnt = CNT_UNKNOWN;
	size_t i;

	if (s->smtputf8)
		flags |= SMTPCMD_F_TXN_SMTPUTF8;
	if (smtpcmd_parse(line, len, flags, &c, &err) == -1) {
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (commands[i].verb == c.verb)
				cnt = commands[i].count;
		s->counts[cnt][1]++;
		if (c.verb == SMTPCMD_MAIL || c.verb == SMTPCMD_RCPT)
			log_reject(s, smtpcmd_verb_str(c.verb), err.code,
			    err.enh, err.text, NULL);
		smtpd_reply(s, err.code, err.enh, "%s", err.text);
		return;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].verb != c.verb)
			continue;
		commands[i].fn(s, &c);
		s->counts[commands[i].count][s->errors > before ? 1 : 0]++;
		return;
	}
	s->counts[CNT_UNKNOWN][1]++;
	smtpd_reply(s, 500, "5.5.2", "Error: command not recognized");
}

/* ---- the session ------------------------------------------------------- */

/* The client's name, only when its address maps back to it. */
static void
peer_name(struct smtpd_session *s, socklen_t len)
{
	struct addrinfo hints, *res, *ai;
	char host[NI_MAXHOST], a[64];

	strlcpy(s->name, "unknown", sizeof(s->name));
	if (!conf_bool(s->conf, "smtpd_peername_lookup") ||
	    getnameinfo((struct sockaddr *)&s->peer, len, host, sizeof(host),
	    NULL, 0, NI_NAMEREQD) != 0)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = s->peer.ss_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a),
		    NULL, 0, NI_NUMERICHOST) == 0 && strcmp(a, s->addr) == 0) {
			strlcpy(s->name, host, sizeof(s->name));
			break;
		}
	}
	freeaddrinfo(res);
}

void
smtpd_warm_up(struct service_ctx *ctx)
{
	struct sockaddr_in sin;
	struct addrinfo hints, *res;
	char host[NI_MAXHOST];

	if (!ctx->template || !conf_bool(ctx->conf, "smtpd_peername_lookup"))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* The answers do not matter, only what the lookups load. */
	if (getnameinfo((struct sockaddr *)&sin, sizeof(sin), host,
	    sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) == 0)
		freeaddrinfo(res);
}

static int
session_init(struct smtpd_session *s, const struct service_ctx *ctx, int fd)
{
	const struct conf *conf = ctx->conf;
	socklen_t len = sizeof(s->peer);
	const char *const *nets;
	const char *err;
	size_t n, bad;

	memset(s, 0, sizeof(*s));
	s->auth_fd = -1;
	s->conf = conf;
	s->fd = fd;
	s->cleanup = -1;
	s->timeout_ms = (int)(conf_time(conf, "smtpd_timeout") * 1000);
	s->size_limit = (uint64_t)conf_size(conf, "message_size_limit");
	s->rcpt_limit = (size_t)conf_int(conf, "smtpd_recipient_limit");
	s->soft_limit = (unsigned)conf_int(conf, "smtpd_soft_error_limit");
	s->hard_limit = (unsigned)conf_int(conf, "smtpd_hard_error_limit");
	s->error_sleep = conf_time(conf, "smtpd_error_sleep_time");
	s->reject_bare_newline = strcmp(conf_str(conf,
	    "smtpd_forbid_bare_newline"), "reject") == 0;
	s->service = ctx->service_name;
	/* The master offers TLS only when it checked the keys (-S). */
	s->tls_offer = ctx->tls_server_ok &&
	    strcmp(tls_server_level(conf), "none") != 0;
	s->tls_required = strcmp(tls_server_level(conf), "encrypt") == 0;
	s->tls_timeout_ms = (int)(conf_time(conf, "smtpd_starttls_timeout") *
	    1000);
	s->ipc_timeout_ms = (int)(conf_time(conf, "ipc_timeout") * 1000);
	buf_init(&s->out, SMTPD_OUT_MAX);
	lineio_init(&s->in, fd, (size_t)conf_size(conf, "line_length_limit"),
	    s->timeout_ms);
	if (getpeername(fd, (struct sockaddr *)&s->peer, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&s->peer, len, s->addr,
	    sizeof(s->addr), s->port, sizeof(s->port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		log_warn("getpeername");
		return -1;
	}
	peer_name(s, len);
	snprintf(s->ident, sizeof(s->ident), "%s[%s]", s->name, s->addr);

	s->mynetworks = xcalloc(1, sizeof(*s->mynetworks));
	nets = conf_list(conf, "mynetworks", &n);
	if (match_nets_parse(nets, n, s->mynetworks, &bad, &err) == -1) {
		log_error("mynetworks: %s: %s", nets[bad], err);
		return -1;
	}
	s->trusted = match_nets_contains(s->mynetworks,
	    (struct sockaddr *)&s->peer);
	smtpd_auth_init(s);
	return 0;
}

static void
session_free(struct smtpd_session *s)
{
	smtpd_cleanup_abort(s);
	smtpd_auth_free(s);
	if (s->mynetworks != NULL) {
		match_nets_free(s->mynetworks);
		free(s->mynetworks);
	}
	free(s->rcpts);
	buf_clear(&s->out);
	lineio_free(&s->in);
}

static void
log_disconnect(struct smtpd_session *s)
{
	char line[1024];
	unsigned total = 0, i;
	size_t off;

	off = (size_t)snprintf(line, sizeof(line), "disconnect from %s",
	    s->ident);
	for (i = 0; i < CNT_MAX && off < sizeof(line); i++) {
		unsigned all = s->counts[i][0] + s->counts[i][1];

		if (all == 0)
			continue;
		total += all;
		if (s->counts[i][1] == 0)
			off += (size_t)snprintf(line + off, sizeof(line) - off,
			    " %s=%u", count_names[i], all);
		else
			off += (size_t)snprintf(line + off, sizeof(line) - off,
			    " %s=%u/%u", count_names[i], s->counts[i][0], all);
	}
	if (off < sizeof(line))
		snprintf(line + off, sizeof(line) - off, " commands=%u", total);
	log_info("%s", line);
}

/* One command line; false when the session is over. */
static bool
one_command(struct smtpd_session *s)
{
	const char *line;
	size_t len;

	switch (lineio_read(&s->in, &line, &len, NULL)) {
	case LINEIO_OK:
		dispatch(s, line, len);
		break;
	case LINEIO_TOOLONG:
		s->counts[CNT_UNKNOWN][1]++;
		smtpd_reply(s, 500, "5.5.0", "Error: line too long");
		break;
	case LINEIO_TIMEOUT:
		log_info("timeout after command from %s", s->ident);
		smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    conf_str(s->conf, "myhostname"));
		return false;
	case LINEIO_EOF:
	case LINEIO_ERR:
		log_info("lost connection from %s", s->ident);
		return false;
	}
	if (s->errors >= s->hard_limit) {
		log_info("too many errors from %s", s->ident);
		smtpd_reply(s, 421, "4.7.0", "%s Error: too many errors",
		    conf_str(s->conf, "myhostname"));
		return false;
	}
	return !s->quit;
}

static void
flush_hook(void *arg)
{
	(void)smtpd_flush(arg);
}

void
smtpd_session_run(const struct service_ctx *ctx, int fd)
{
	const struct conf *conf = ctx->conf;
	struct smtpd_session s;

	if (session_init(&s, ctx, fd) == -1) {
		session_free(&s);
		close(fd);
		return;
	}
	log_info("connect from %s", s.ident);
	if (conf_bool(conf, "smtpd_tls_wrappermode")) {
		/* RFC 8314 implicit TLS: the hand-off comes first. */
		if (!s.tls_offer) {
			log_error("%s: implicit TLS service %s, but TLS is not "
			    "usable (see the master's TLS error); connection "
			    "from %s closed", s.service, s.service, s.ident);
			goto out;
		}
		if (smtpd_tls_start(&s, true) != 0) {
			log_info("lost connection from %s during TLS "
			    "start-up", s.ident);
			goto out;
		}
	}
	smtpd_reply(&s, 220, "", "%s", conf_str(conf, "smtpd_banner"));
	/* Replies go out whenever reading would wait (RFC 2920). */
	lineio_set_wait_hook(&s.in, flush_hook, &s);
	while (!s.quit && one_command(&s))
		;
	if (!s.dead)
		(void)smtpd_flush(&s);
out:
	log_disconnect(&s);
	session_free(&s);
	close(s.fd);
}
