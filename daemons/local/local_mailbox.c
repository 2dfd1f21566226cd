/*
 * SPDX-License-Identifier: ISC
 *
 * local_mailbox.c -- a user's mailbox (home_mailbox: Maildir or mbox under
 * the home directory; else mail_spool_directory/USER, mbox) and /file
 * targets (mbox, or a Maildir for a path ending in '/').
 *
 * Process:  local.  The parent picks the path from the password entry;
 *           the write happens in a child with the user's (or the alias
 *           owner's) ids, through lib/maildir and lib/mbox.
 * Input:    the message content (untrusted), converted by lib/mailbox.
 * Failure:  a write that fails defers (4.2.x, 4.3.x): never a bounce.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "local.h"
#include "maildir.h"
#include "mbox.h"

struct box_job {
	struct deliver_req *req;
	const char	*prefix;
	size_t		 prefix_len;
	const char	*path;
	bool		 maildir;
	bool		 file;		/* a /file target, not a mailbox */
};

void
local_errno_report(struct local_report *rep, int err, const char *what,
    const char *why)
{
	const char *dsn = "4.2.0";

	switch (err) {
	case EDQUOT:
	case EFBIG:
		dsn = "4.2.2";
		break;
	case ENOSPC:
		dsn = "4.3.1";
		break;
	case EAGAIN:
		why = why != NULL ? why : "locked";
		break;
	}
	local_report_set(rep, DELIVER_DEFERRED, dsn, "cannot deliver to %s: "
	    "%s: %s", what, why != NULL ? why : "error", strerror(err));
}

static void
box_job(void *arg, struct local_report *rep)
{
	struct box_job *j = arg;
	struct maildir_result res;
	struct mailbox_src src;
	struct mbox_params p;
	const char *err = NULL;
	uint64_t size;
	char what[LOCAL_PATH_MAX + 16];

	/* RLIMIT_FSIZE must show as EFBIG, not kill us. */
	signal(SIGXFSZ, SIG_IGN);
	snprintf(what, sizeof(what), "%s %s", j->file ? "file" : j->maildir ?
	    "maildir" : "mailbox", j->path);
	deliver_src(j->req, &src, j->prefix, j->prefix_len);
	if (j->maildir) {
		if (maildir_deliver(j->path, MAILDIR_CREATE, &src, &res,
		    &err) == -1) {
			local_errno_report(rep, errno, what, err);
			return;
		}
	} else {
		memset(&p, 0, sizeof(p));
		p.path = j->path;
		p.sender = j->req->sender;
		p.when = time(NULL);
		p.flags = MBOX_CREATE | MBOX_DOTLOCK_OPTIONAL;
		if (mbox_deliver(&p, &src, &size, &err) == -1) {
			local_errno_report(rep, errno, what, err);
			return;
		}
	}
	if (j->file)
		local_report_set(rep, DELIVER_SENT, "2.0.0",
		    "delivered to file: %s", j->path);
	else
		local_report_set(rep, DELIVER_SENT, "2.0.0",
		    "delivered to %s", j->maildir ? "maildir" : "mailbox");
}

/*
 * The spool directory's group when a user needs it to create a mailbox
 * and its dotlock there (Debian: /var/mail is root:mail 2775); else -1.
 * Group 0 is never lent.
 */
static gid_t
spool_group(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return (gid_t)-1;
	if ((st.st_mode & S_IWGRP) == 0 || (st.st_mode & S_IWOTH) != 0 ||
	    st.st_gid == 0)
		return (gid_t)-1;
	return st.st_gid;
}

void
local_mailbox(struct local_ctx *ctx, struct local_rcpt *rc, const char *user,
    struct local_report *rep)
{
	struct local_user u;
	struct box_job j;
	char path[LOCAL_PATH_MAX];
	gid_t extra = (gid_t)-1;
	size_t n;
	int r;

	if ((r = local_user_byname(user, &u)) == -2) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "cannot look up user %s: %s", user, strerror(errno));
		return;
	}
	if (r == -1) {
		local_report_set(rep, DELIVER_BOUNCED, "5.1.1",
		    "unknown user: \"%s\"", user);
		return;
	}
	if (u.uid == 0) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.5",
		    "mail for %s (uid 0) is not delivered as root: alias %s "
		    "to a user in alias_maps", user, user);
		return;
	}
	if (ctx->home_mailbox[0] != '\0')
		n = (size_t)snprintf(path, sizeof(path), "%s/%s", u.home,
		    ctx->home_mailbox);
	else {
		n = (size_t)snprintf(path, sizeof(path), "%s/%s",
		    ctx->spool_dir, u.name);
		extra = spool_group(ctx->spool_dir);
	}
	if (n >= sizeof(path)) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "mailbox path too long for user %s", user);
		return;
	}
	memset(&j, 0, sizeof(j));
	j.req = rc->req;
	j.prefix = rc->prefix;
	j.prefix_len = rc->prefix_len;
	j.path = path;
	j.maildir = ctx->home_mailbox[0] != '\0' && path[n - 1] == '/';
	local_run_as(ctx, &u, extra, LOCAL_MAILBOX_TIMEOUT, box_job, &j, rep);
}

void
local_file(struct local_ctx *ctx, struct local_rcpt *rc,
    const struct local_user *u, const char *path, struct local_report *rep)
{
	struct box_job j;

	/* The classic way to drop mail on purpose. */
	if (strcmp(path, "/dev/null") == 0) {
		local_report_set(rep, DELIVER_SENT, "2.0.0",
		    "delivered to file: /dev/null");
		return;
	}
	memset(&j, 0, sizeof(j));
	j.req = rc->req;
	j.prefix = rc->prefix;
	j.prefix_len = rc->prefix_len;
	j.path = path;
	j.maildir = path[strlen(path) - 1] == '/';
	j.file = true;
	local_run_as(ctx, u, (gid_t)-1, LOCAL_MAILBOX_TIMEOUT, box_job, &j,
	    rep);
}
