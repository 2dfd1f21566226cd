/*
 * SPDX-License-Identifier: ISC
 *
 * virtual.c -- the virtual agent's service hooks: the switch to
 * virtual_uid/virtual_gid before any client, then one qmgr connection
 * served through lib/deliver.
 *
 * Process:  virtual.  Run by the master with privilege (services.conf
 *           unpriv n), it drops for good here, in post_jail, to
 *           virtual_uid and virtual_gid through priv_drop(), which
 *           verifies the drop; uid or gid 0 is refused.  Without root
 *           (an instance run by an ordinary user) it cannot change ids
 *           and delivers as itself, and says so at start.
 * Input:    tern.conf (trusted); qmgr's connection (lib/deliver checks it).
 * Failure:  configuration and privilege problems are fatal at start (the
 *           master throttles the service; qmgr defers); a broken
 *           connection ends this process.
 */
#include "config.h"

#include <signal.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "log.h"
#include "priv.h"
#include "service.h"
#include "virtual.h"

static struct virtual_cfg cfg;

/* Become virtual_uid/virtual_gid for good, or say why we cannot. */
static void
become(const struct conf *c)
{
	const char *uid = conf_str(c, "virtual_uid");
	const char *gid = conf_str(c, "virtual_gid");
	struct priv_user u;
	const char *err;

	if (virtual_ids(uid, gid, &u, &err) == -1) {
		if (priv_is_root())
			fatalx("%s (virtual_uid %s, virtual_gid %s): will not "
			    "deliver", err, uid, gid);
		log_warnx("not root: delivering as uid %lu gid %lu (%s)",
		    (unsigned long)geteuid(), (unsigned long)getegid(), err);
		return;
	}
	if (priv_is_root()) {
		priv_drop(&u, NULL);
		log_debug("delivering as uid %lu gid %lu", (unsigned long)u.uid,
		    (unsigned long)u.gid);
		return;
	}
	if (geteuid() != u.uid || getegid() != u.gid)
		log_warnx("not root: mailboxes get uid %lu gid %lu, not "
		    "virtual_uid %lu virtual_gid %lu (as root, give virtual "
		    "unpriv n in services.conf)", (unsigned long)geteuid(),
		    (unsigned long)getegid(), (unsigned long)u.uid,
		    (unsigned long)u.gid);
}

void
virtual_start(struct service_ctx *ctx)
{
	const char *err;

	/* RLIMIT_FSIZE must show as EFBIG, not kill us (lib/maildir.h). */
	signal(SIGXFSZ, SIG_IGN);
	become(ctx->conf);
	if (geteuid() == 0)
		fatalx("still root: will not deliver");
	if (virtual_cfg_load(&cfg, ctx->conf, &err) == -1)
		fatalx("virtual_mailbox_maps: %s", err);
	if (cfg.base[0] != '/')
		log_warnx("virtual_mailbox_base is %s: deliveries are "
		    "deferred until it names an absolute directory",
		    cfg.base[0] == '\0' ? "empty" : "not absolute");
	/* Opened as the user that reads them; retried at each request. */
	if (virtual_maps_open(&cfg) == -1)
		log_warnx("%s; deliveries are deferred until it opens",
		    cfg.map_err);
	ctx->arg = &cfg;
}

void
virtual_client(struct service_ctx *ctx, int fd)
{
	struct virtual_cfg *c = ctx->arg;

	(void)deliver_serve(fd, virtual_deliver_req, c, c->timeout_ms,
	    c->max_size);
	close(fd);
	virtual_cfg_clear(c);
}
