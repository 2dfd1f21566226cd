/*
 * SPDX-License-Identifier: ISC
 *
 * virtual_deliver.c -- one request: for each recipient, the checks, the
 * table lookup, the delivery into a Maildir or an mbox file, the result
 * for qmgr and the log line.
 *
 * Process:  virtual, as virtual_uid/virtual_gid (never root).
 * Input:    a request checked by lib/deliver (addresses match the queue
 *           file), the message content (untrusted: only scanned for
 *           Delivered-To: and Received: and copied), table values.
 * Failure:  per recipient.  Bounced: an address with control bytes
 *           (5.1.3), a mail loop (5.4.6), an unknown user (5.1.1).
 *           Deferred: a domain that is not in virtual_mailbox_domains
 *           and a bad virtual_mailbox_base or table value (4.3.5), a
 *           table that cannot be opened or read (4.3.0), and every
 *           delivery error (4.3.1 full disk, 4.2.2 quota or file size,
 *           4.2.0 mailbox locked, else 4.3.0), with the reason.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver.h"
#include "log.h"
#include "maildir.h"
#include "map.h"
#include "match.h"
#include "mbox.h"
#include "virtual.h"

#define RELAY		"virtual"

/* What is the same for every recipient of a request. */
struct vreq {
	struct deliver_req	*req;
	struct virtual_cfg	*cfg;
	size_t			 received;	/* Received: fields */
	const char		*crlf;
};

/* The delivery record: one line per recipient, whatever the outcome. */
static void
log_result(const struct deliver_req *req, const struct deliver_rcpt *r)
{
	char to[LOG_SAFE_MAX], orig[LOG_SAFE_MAX], text[LOG_SAFE_MAX];
	const char *status;

	status = r->result == DELIVER_SENT ? "sent" :
	    r->result == DELIVER_BOUNCED ? "bounced" : "deferred";
	log_safe(to, sizeof(to), r->addr, strlen(r->addr));
	log_safe(orig, sizeof(orig), r->orcpt, strlen(r->orcpt));
	log_safe(text, sizeof(text), r->text, strlen(r->text));
	log_info("%s: to=<%s>, %s%s%srelay=%s, delay=%.2f, dsn=%s, "
	    "status=%s (%s)", req->queue_id, to,
	    r->orcpt[0] != '\0' ? "orig_to=<" : "", r->orcpt[0] != '\0' ?
	    orig : "", r->orcpt[0] != '\0' ? ">, " : "", RELAY,
	    deliver_delay(req), r->dsn, status, text);
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* 0 with the table's value, or the result already set on r. */
static int
lookup(struct vreq *v, struct deliver_rcpt *r, char *value, size_t sz)
{
	struct virtual_cfg *cfg = v->cfg;
	char keys[3][VIRTUAL_KEY_MAX];
	size_t nkeys, k, m;

	if (virtual_maps_open(cfg) == -1) {
		deliver_set(r, DELIVER_DEFERRED, "4.3.0", RELAY, "%s",
		    cfg->map_err);
		return -1;
	}
	/* Each key in every table before the next key, as Postfix does. */
	nkeys = recipient_keys(r->addr, cfg->delim, keys);
	for (k = 0; k < nkeys; k++) {
		for (m = 0; m < cfg->nmaps; m++) {
			switch (map_lookup(cfg->maps[m], keys[k], value, sz)) {
			case MAP_FOUND:
				return 0;
			case MAP_TEMPFAIL:
				deliver_set(r, DELIVER_DEFERRED, "4.3.0",
				    RELAY, "virtual_mailbox_maps lookup "
				    "failed: %s: %s", map_name(cfg->maps[m]),
				    map_error(cfg->maps[m]));
				return -1;
			case MAP_NOTFOUND:
				break;
			}
		}
	}
	deliver_set(r, DELIVER_BOUNCED, "5.1.1", RELAY, "unknown user: \"%s\"",
	    r->addr);
	return -1;
}

/* Before the table: loops, and whether this is ours to deliver. */
static int
check_rcpt(struct vreq *v, struct deliver_rcpt *r)
{
	struct virtual_cfg *cfg = v->cfg;
	char quoted[QFILE_ADDR_MAX + 3];
	const char *at;

	if (has_control(r->addr)) {
		deliver_set(r, DELIVER_BOUNCED, "5.1.3", RELAY,
		    "bad recipient address syntax");
		return -1;
	}
	if (v->received > (size_t)cfg->hopcount_limit) {
		deliver_set(r, DELIVER_BOUNCED, "5.4.6", RELAY,
		    "mail forwarding loop: too many hops (%zu Received: "
		    "headers)", v->received);
		return -1;
	}
	snprintf(quoted, sizeof(quoted), "<%s>", r->addr);
	if (deliver_header_count(v->req, "Delivered-To", r->addr) > 0 ||
	    deliver_header_count(v->req, "Delivered-To", quoted) > 0) {
		deliver_set(r, DELIVER_BOUNCED, "5.4.6", RELAY,
		    "mail forwarding loop for %s", r->addr);
		return -1;
	}
	if (cfg->base[0] != '/') {
		deliver_set(r, DELIVER_DEFERRED, "4.3.5", RELAY,
		    "mail system configuration error: virtual_mailbox_base "
		    "must be an absolute directory");
		return -1;
	}
	at = strrchr(r->addr, '@');
	if (at == NULL || !match_domain(cfg->domains, cfg->ndomains, at + 1,
	    false)) {
		deliver_set(r, DELIVER_DEFERRED, "4.3.5", RELAY,
		    "mail system configuration error: domain %s is not in "
		    "virtual_mailbox_domains", at != NULL ? at + 1 : "(none)");
		return -1;
	}
	return 0;
}

static void
set_failed(struct deliver_rcpt *r, const char *what, const char *path,
    const char *err, int saved)
{
	const char *dsn;

	switch (saved) {
	case ENOSPC:
		dsn = "4.3.1";
		break;
	case EDQUOT:
	case EFBIG:
		dsn = "4.2.2";
		break;
	case EAGAIN:
		dsn = "4.2.0";
		break;
	default:
		dsn = "4.3.0";
		break;
	}
	deliver_set(r, DELIVER_DEFERRED, dsn, RELAY, "%s delivery failed: "
	    "%s: %s: %s", what, path, err, strerror(saved));
}

static void
deliver_to(struct vreq *v, struct deliver_rcpt *r, const char *path,
    bool maildir)
{
	char prefix[QFILE_ADDR_MAX + 32];
	struct maildir_result mres;
	struct mbox_params mp;
	struct mailbox_src src;
	const char *err = "";
	uint64_t size;
	int rc, len;

	len = snprintf(prefix, sizeof(prefix), "Delivered-To: %s%s", r->addr,
	    v->crlf);
	if (len < 0 || (size_t)len >= sizeof(prefix))
		bug("virtual: Delivered-To: line too long");
	deliver_src(v->req, &src, prefix, (size_t)len);
	errno = 0;
	if (maildir)
		rc = maildir_deliver(path, MAILDIR_CREATE, &src, &mres, &err);
	else {
		memset(&mp, 0, sizeof(mp));
		mp.path = path;
		mp.sender = v->req->sender;
		mp.when = time(NULL);
		mp.flags = MBOX_CREATE | MBOX_DOTLOCK_OPTIONAL;
		rc = mbox_deliver(&mp, &src, &size, &err);
	}
	if (rc == -1)
		set_failed(r, maildir ? "maildir" : "mailbox", path, err,
		    errno != 0 ? errno : EIO);
	else
		deliver_set(r, DELIVER_SENT, "2.0.0", RELAY, "delivered to %s",
		    maildir ? "maildir" : "mailbox");
}

static void
deliver_rcpt(struct vreq *v, struct deliver_rcpt *r)
{
	char value[VIRTUAL_PATH_MAX], path[VIRTUAL_PATH_MAX];
	const char *err;
	bool maildir;

	if (check_rcpt(v, r) == -1 || lookup(v, r, value, sizeof(value)) == -1)
		return;
	if (virtual_path(v->cfg->base, value, path, sizeof(path), &maildir,
	    &err) == -1) {
		deliver_set(r, DELIVER_DEFERRED, "4.3.5", RELAY,
		    "mail system configuration error: virtual_mailbox_maps "
		    "entry for %s: %s", r->addr, err);
		return;
	}
	deliver_to(v, r, path, maildir);
}

void
virtual_deliver_req(struct deliver_req *req, void *arg)
{
	struct vreq v;
	size_t i;

	v.req = req;
	v.cfg = arg;
	v.received = deliver_header_count(req, "Received", NULL);
	v.crlf = deliver_crlf(req);
	for (i = 0; i < req->nrcpt; i++) {
		deliver_rcpt(&v, &req->rcpts[i]);
		log_result(req, &req->rcpts[i]);
	}
}
