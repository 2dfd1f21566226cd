/*
 * SPDX-License-Identifier: ISC
 *
 * local_rcpt.c -- one request from qmgr: each recipient through the loop
 * checks and alias expansion to its deliveries, and back to one result.
 *
 * Process:  local (parent).  It decides; the children (local_child.c)
 *           write.
 * Input:    recipients checked by lib/deliver against the queue file.
 * Failure:  every recipient gets exactly one result.  With alias fan-out
 *           the recipient is deferred if any target deferred (the retry
 *           delivers again to the targets that succeeded), else bounced
 *           if any target bounced, else sent.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "conf.h"
#include "local.h"
#include "log.h"
#include "map.h"
#include "xmem.h"

void
local_report_set(struct local_report *rep, enum deliver_result res,
    const char *dsn, const char *fmt, ...)
{
	va_list ap;

	memset(rep, 0, sizeof(*rep));
	rep->result = res;
	strlcpy(rep->dsn, dsn, sizeof(rep->dsn));
	va_start(ap, fmt);
	vsnprintf(rep->text, sizeof(rep->text), fmt, ap);
	va_end(ap);
}

static bool
in_list(struct conf *conf, const char *param, const char *word)
{
	const char *const *w;
	size_t i, n;

	w = conf_list(conf, param, &n);
	for (i = 0; i < n; i++)
		if (strcasecmp(w[i], word) == 0)
			return true;
	return false;
}

void
local_init(struct local_ctx *ctx, struct conf *conf)
{
	struct passwd *pw;
	const char *maps;
	bool more;
	size_t i;
	char err[MAP_ERR_MAX];

	memset(ctx, 0, sizeof(*ctx));
	ctx->conf = conf;
	ctx->client_fd = -1;
	ctx->root = geteuid() == 0;
	ctx->mail_owner_uid = 0;
	if (ctx->root && (pw = getpwnam(conf_str(conf, "mail_owner"))) != NULL)
		ctx->mail_owner_uid = pw->pw_uid;
	ctx->mydest = conf_list(conf, "mydestination", &ctx->nmydest);
	ctx->delim = conf_str(conf, "recipient_delimiter");
	ctx->home_mailbox = conf_str(conf, "home_mailbox");
	ctx->spool_dir = conf_str(conf, "mail_spool_directory");
	ctx->default_privs = conf_str(conf, "default_privs");
	ctx->queue_dir = conf_str(conf, "queue_directory");
	ctx->cmd_alias = in_list(conf, "allow_mail_to_commands", "alias");
	ctx->cmd_include = in_list(conf, "allow_mail_to_commands", "include");
	ctx->file_alias = in_list(conf, "allow_mail_to_files", "alias");
	ctx->file_include = in_list(conf, "allow_mail_to_files", "include");
	ctx->command_time = conf_time(conf, "command_time_limit");
	ctx->hopcount_limit = conf_int(conf, "hopcount_limit");
	if (!ctx->root)
		log_warnx("not running as root: every delivery runs as uid %lu",
		    (unsigned long)getuid());
	if ((maps = conf_get(conf, "alias_maps")) == NULL)
		maps = "";
	ctx->nmaps = local_split_maps(maps, ctx->map_names, LOCAL_MAPS_MAX,
	    &more);
	if (more)
		log_warnx("alias_maps: only the first %d tables are used",
		    LOCAL_MAPS_MAX);
	for (i = 0; i < ctx->nmaps; i++) {
		if (strncmp(ctx->map_names[i], "lmdb:", 5) == 0)
			ctx->map_files[i] = xasprintf("%s.lmdb",
			    ctx->map_names[i] + 5);
		/* One that fails now is opened again at each use. */
		if (map_open(ctx->map_names[i], &ctx->maps[i], err,
		    sizeof(err)) == -1)
			log_warnx("alias_maps: %s", err);
	}
}

/* ---- one recipient ------------------------------------------------------ */

/* The outcome of a recipient's targets, so far. */
struct tally {
	size_t		 n, sent, deferred, bounced;
	struct local_report first_deferred, first_bounced, last_sent;
};

static void
log_result(struct local_rcpt *rc, const char *to, bool expanded,
    const struct local_report *rep)
{
	char sto[600], sorig[600], stext[1100];
	static const char *names[] = { "deferred", "sent", "deferred",
	    "bounced" };

	log_safe(sto, sizeof(sto), to, strlen(to));
	log_safe(sorig, sizeof(sorig), rc->r->addr, strlen(rc->r->addr));
	log_safe(stext, sizeof(stext), rep->text, strlen(rep->text));
	log_info("%s: to=<%s>%s%s%s, relay=local, delay=%.2f, dsn=%s, "
	    "status=%s (%s)", rc->req->queue_id, sto,
	    expanded ? ", orig_to=<" : "", expanded ? sorig : "",
	    expanded ? ">" : "", deliver_delay(rc->req), rep->dsn,
	    names[rep->result & 3], stext);
}

static void
tally_add(struct tally *t, const struct local_report *rep)
{
	t->n++;
	switch (rep->result) {
	case DELIVER_SENT:
		t->sent++;
		t->last_sent = *rep;
		break;
	case DELIVER_BOUNCED:
		if (t->bounced++ == 0)
			t->first_bounced = *rep;
		break;
	default:
		if (t->deferred++ == 0)
			t->first_deferred = *rep;
		break;
	}
}

static void
set_result(struct deliver_rcpt *r, const struct local_report *rep)
{
	deliver_set(r, (enum deliver_result)rep->result, rep->dsn, "local",
	    "%s", rep->text);
}

/* Deferred if any target deferred, else bounced if any bounced. */
static void
tally_result(struct deliver_rcpt *r, const struct tally *t)
{
	struct local_report rep;

	if (t->deferred > 0) {
		rep = t->first_deferred;
		if (t->n > 1)
			snprintf(rep.text, sizeof(rep.text), "%zu of %zu "
			    "alias targets deferred: %.900s", t->deferred, t->n,
			    t->first_deferred.text);
	} else if (t->bounced > 0) {
		rep = t->first_bounced;
		if (t->n > 1)
			snprintf(rep.text, sizeof(rep.text), "%zu of %zu "
			    "alias targets failed: %.900s", t->bounced, t->n,
			    t->first_bounced.text);
	} else {
		rep = t->last_sent;
		if (t->n > 1)
			snprintf(rep.text, sizeof(rep.text), "delivered to "
			    "%zu alias targets", t->n);
	}
	set_result(r, &rep);
}

/* A |command or /file target: allowed here?  As whom? */
static void
run_target(struct local_ctx *ctx, struct local_rcpt *rc,
    const struct alias_target *t, struct local_report *rep)
{
	bool cmd = t->type == ALIAS_T_COMMAND;
	bool ok = cmd ? (t->include ? ctx->cmd_include : ctx->cmd_alias) :
	    (t->include ? ctx->file_include : ctx->file_alias);
	struct local_user u;
	char err[256];

	if (!ok) {
		local_report_set(rep, DELIVER_BOUNCED, "5.7.1",
		    "mail to %s is restricted (%s in %s)", cmd ? "command" :
		    "file", t->include ? "include" : "alias",
		    cmd ? "allow_mail_to_commands" : "allow_mail_to_files");
		return;
	}
	if (local_owner_user(ctx, t->owner, &u, err, sizeof(err)) == -1) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.5", "%s", err);
		return;
	}
	if (cmd)
		local_command(ctx, rc, &u, t->text, rep);
	else
		local_file(ctx, rc, &u, t->text, rep);
}

static void
expanded(struct local_ctx *ctx, struct local_rcpt *rc,
    const struct alias_expansion *x)
{
	struct local_report rep;
	struct tally t;
	char **remote, to[ALIAS_TARGET_MAX + 300];
	size_t i, nremote = 0;

	memset(&t, 0, sizeof(t));
	remote = xcalloc(x->n, sizeof(*remote));
	for (i = 0; i < x->n; i++) {
		const struct alias_target *tg = &x->v[i];

		switch (tg->type) {
		case ALIAS_T_ADDR:
			remote[nremote++] = tg->text;
			continue;
		case ALIAS_T_MAILBOX:
			local_mailbox(ctx, rc, tg->text, &rep);
			snprintf(to, sizeof(to), "%s%s%s", tg->text,
			    rc->domain[0] != '\0' ? "@" : "", rc->domain);
			break;
		case ALIAS_T_COMMAND:
			run_target(ctx, rc, tg, &rep);
			snprintf(to, sizeof(to), "|%s", tg->text);
			break;
		default:
			run_target(ctx, rc, tg, &rep);
			strlcpy(to, tg->text, sizeof(to));
			break;
		}
		log_result(rc, to, true, &rep);
		tally_add(&t, &rep);
	}
	if (nremote > 0) {
		local_forward(ctx, rc, remote, nremote, &rep);
		for (i = 0; i < nremote; i++)
			log_result(rc, remote[i], true, &rep);
		tally_add(&t, &rep);
	}
	free(remote);
	tally_result(rc->r, &t);
}

/* The local part without the quotes of a quoted-string. */
static void
unquote_local(const char *s, size_t n, char *out, size_t sz)
{
	size_t i, k = 0;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		for (i = 1; i + 1 < n && k + 1 < sz; i++) {
			if (s[i] == '\\' && i + 2 < n)
				i++;
			out[k++] = s[i];
		}
		out[k] = '\0';
		return;
	}
	if (n >= sz)
		n = sz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* Loop checks; true when the recipient got its result here. */
static bool
looping(struct local_ctx *ctx, struct local_rcpt *rc)
{
	struct local_report rep;
	size_t hops;

	if (deliver_header_count(rc->req, "Delivered-To", rc->r->addr) > 0) {
		local_report_set(&rep, DELIVER_BOUNCED, "5.4.6",
		    "mail forwarding loop for %s", rc->r->addr);
	} else if ((hops = deliver_header_count(rc->req, "Received",
	    NULL)) > (size_t)ctx->hopcount_limit) {
		local_report_set(&rep, DELIVER_BOUNCED, "5.4.6",
		    "too many hops: %zu Received: fields (hopcount_limit %lld)",
		    hops, (long long)ctx->hopcount_limit);
	} else
		return false;
	log_result(rc, rc->r->addr, false, &rep);
	set_result(rc->r, &rep);
	return true;
}

static void
one_rcpt(struct local_ctx *ctx, struct deliver_req *req,
    struct deliver_rcpt *r)
{
	char local[QFILE_ADDR_MAX + 1], base[ALIAS_NAME_MAX + 1];
	const char *at = strrchr(r->addr, '@'), *crlf = deliver_crlf(req);
	struct alias_expansion x;
	struct local_report rep;
	struct alias_ops ops;
	struct local_rcpt rc;
	size_t extoff = 0;

	memset(&rc, 0, sizeof(rc));
	rc.req = req;
	rc.r = r;
	rc.domain = at != NULL ? at + 1 : "";
	unquote_local(r->addr, at != NULL ? (size_t)(at - r->addr) :
	    strlen(r->addr), local, sizeof(local));
	rc.local = local;
	if (rc.domain[0] != '\0' && !local_domain_ok(ctx, rc.domain)) {
		local_report_set(&rep, DELIVER_DEFERRED, "4.3.5",
		    "domain %s is not in mydestination", rc.domain);
		log_result(&rc, r->addr, false, &rep);
		set_result(r, &rep);
		return;
	}
	if (alias_base(local, ctx->delim, base, sizeof(base), &extoff) == -1) {
		local_report_set(&rep, DELIVER_BOUNCED, "5.1.1",
		    "unknown user: local part too long");
		log_result(&rc, r->addr, false, &rep);
		set_result(r, &rep);
		return;
	}
	rc.ext = extoff > 0 ? local + extoff : "";
	if (looping(ctx, &rc))
		return;
	rc.prefix = xasprintf("Return-Path: <%s>%sDelivered-To: %s%s",
	    req->sender, crlf, r->addr, crlf);
	rc.prefix_len = strlen(rc.prefix);
	rc.fwd_prefix = xasprintf("Delivered-To: %s%s", r->addr, crlf);
	rc.fwd_prefix_len = strlen(rc.fwd_prefix);

	local_alias_ops(ctx, &ops);
	alias_expansion_init(&x);
	switch (alias_expand(&ops, local, &x)) {
	case ALIAS_NOTFOUND:
		local_mailbox(ctx, &rc, base, &rep);
		log_result(&rc, r->addr, false, &rep);
		set_result(r, &rep);
		break;
	case ALIAS_TEMPFAIL:
		local_report_set(&rep, DELIVER_DEFERRED, "4.3.0", "%s", x.err);
		log_result(&rc, r->addr, false, &rep);
		set_result(r, &rep);
		break;
	case ALIAS_FAIL:
		local_report_set(&rep, DELIVER_BOUNCED, x.loop ? "5.4.6" :
		    "5.3.0", "%s", x.err);
		log_result(&rc, r->addr, false, &rep);
		set_result(r, &rep);
		break;
	case ALIAS_OK:
		expanded(ctx, &rc, &x);
		break;
	}
	alias_expansion_clear(&x);
	free(rc.prefix);
	free(rc.fwd_prefix);
}

void
local_handle(struct deliver_req *req, void *arg)
{
	struct local_ctx *ctx = arg;
	size_t i;

	for (i = 0; i < req->nrcpt; i++)
		one_rcpt(ctx, req, &req->rcpts[i]);
}
