/*
 * SPDX-License-Identifier: ISC
 *
 * local_forward.c -- remote targets of an alias: a new message through
 * cleanup (docs/ipc.md, "smtpd -> cleanup", origin=internal).
 *
 * Process:  local (parent).  It speaks to private/cleanup as pickup and
 *           smtpd do; the new message has the original envelope sender,
 *           the remote targets as recipients (NOTIFY and ORCPT carried
 *           over from the original recipient), and the original content
 *           behind a Delivered-To: line naming the recipient, which is
 *           what stops forwarding loops between hosts.
 * Input:    the queue file content; cleanup's replies.
 * Failure:  anything short of cleanup's "ok" with a queue ID defers.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "conf.h"
#include "local.h"
#include "log.h"
#include "qid.h"

#define CHUNK	(64 * 1024)	/* the most one data request carries */

static int
cleanup_connect(struct local_ctx *ctx)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/cleanup", ctx->queue_dir) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_begin(int fd, struct local_rcpt *rc, size_t n, struct buf *out,
    const char **err)
{
	const struct qfile_sender *s = &rc->req->q.sender;
	const char *body = "", *ret = "";

	if (s->flags & QFILE_8BITMIME)
		body = "8BITMIME";
	else if (s->flags & QFILE_BINARYMIME)
		body = "BINARYMIME";
	if (s->ret == QFILE_RET_FULL)
		ret = "FULL";
	else if (s->ret == QFILE_RET_HDRS)
		ret = "HDRS";
	attr_out_reset(out);
	if (attr_put_str(out, "request", "begin") == -1 ||
	    attr_put_str(out, "proto", "cleanup/1") == -1 ||
	    attr_put_str(out, "origin", "internal") == -1 ||
	    attr_put_str(out, "sender", rc->req->sender) == -1 ||
	    attr_put_int(out, "smtputf8", (s->flags & QFILE_SMTPUTF8) != 0) ==
	    -1 ||
	    attr_put_str(out, "body", body) == -1 ||
	    attr_put_str(out, "ret", ret) == -1 ||
	    attr_put_str(out, "envid", s->envid) == -1 ||
	    attr_put_int(out, "size", 0) == -1 ||
	    attr_put_int(out, "nrcpt", (int64_t)n) == -1) {
		*err = "request too large";
		return -1;
	}
	return attr_write(fd, out, LOCAL_IO_TIMEOUT_MS, err);
}

static int
send_rcpts(int fd, struct local_rcpt *rc, char *const *addrs, size_t n,
    struct buf *out, const char **err)
{
	struct deliver_rcpt *r = rc->r;
	const char *otype = r->orcpt_type, *orcpt = r->orcpt;
	size_t i;

	/* The original recipient, as RFC 3461 wants it kept. */
	if (orcpt[0] == '\0') {
		otype = "rfc822";
		orcpt = r->addr;
	}
	for (i = 0; i < n; i++) {
		attr_out_reset(out);
		if (attr_put_str(out, "request", "rcpt") == -1 ||
		    attr_put_str(out, "addr", addrs[i]) == -1 ||
		    attr_put_int(out, "notify", r->notify) == -1 ||
		    attr_put_str(out, "orcpt_type", otype) == -1 ||
		    attr_put_str(out, "orcpt", orcpt) == -1) {
			*err = "request too large";
			return -1;
		}
		if (attr_write(fd, out, LOCAL_IO_TIMEOUT_MS, err) == -1)
			return -1;
	}
	return 0;
}

static int
send_content(int fd, struct local_rcpt *rc, struct buf *out, uint64_t *size,
    const char **err)
{
	static char chunk[CHUNK];
	struct mailbox_src src;
	size_t len;
	ssize_t n;

	deliver_src(rc->req, &src, NULL, 0);
	memcpy(chunk, rc->fwd_prefix, rc->fwd_prefix_len);
	len = rc->fwd_prefix_len;
	*size = 0;
	for (;;) {
		n = src.read(src.arg, chunk + len, sizeof(chunk) - len);
		if (n < 0) {
			*err = "cannot read the message";
			return -1;
		}
		len += (size_t)n;
		if (len == sizeof(chunk) || (n == 0 && len > 0)) {
			attr_out_reset(out);
			if (attr_put_str(out, "request", "data") == -1 ||
			    attr_put_data(out, "bytes", chunk, len) == -1) {
				*err = "request too large";
				return -1;
			}
			if (attr_write(fd, out, LOCAL_IO_TIMEOUT_MS, err) == -1)
				return -1;
			*size += len;
			len = 0;
		}
		if (n == 0)
			break;
	}
	attr_out_reset(out);
	if (attr_put_str(out, "request", "end") == -1 ||
	    attr_put_int(out, "size", (int64_t)*size) == -1) {
		*err = "request too large";
		return -1;
	}
	return attr_write(fd, out, LOCAL_IO_TIMEOUT_MS, err);
}

/* cleanup's answer: 0 with its queue ID, or -1 with a reason. */
static int
read_status(int fd, char *qid, size_t sz, char *why, size_t whysz)
{
	struct attr_msg m;
	const char *err;
	char status[16], text[256];
	int rc = -1;

	attr_msg_init(&m);
	if (attr_read(fd, &m, LOCAL_IO_TIMEOUT_MS, &err) == -1) {
		snprintf(why, whysz, "cleanup: %s", err);
		goto out;
	}
	if (attr_get_str(&m, "status", status, sizeof(status)) == -1) {
		snprintf(why, whysz, "cleanup: bad reply");
		goto out;
	}
	if (strcmp(status, "ok") != 0) {
		if (attr_get_str(&m, "text", text, sizeof(text)) == -1)
			strlcpy(text, "error", sizeof(text));
		snprintf(why, whysz, "cleanup: %s", text);
		goto out;
	}
	if (qid != NULL && (attr_get_str(&m, "queue_id", qid, sz) == -1 ||
	    !qid_valid(qid, strlen(qid)))) {
		snprintf(why, whysz, "cleanup: bad queue_id");
		goto out;
	}
	rc = 0;
out:
	attr_msg_clear(&m);
	return rc;
}

void
local_forward(struct local_ctx *ctx, struct local_rcpt *rc,
    char *const *addrs, size_t n, struct local_report *rep)
{
	char qid[QID_LEN + 1], why[400];
	const char *err = "";
	struct buf out;
	uint64_t size;
	int fd;

	if ((fd = cleanup_connect(ctx)) == -1) {
		local_report_set(rep, DELIVER_DEFERRED, "4.3.0",
		    "cannot forward: cannot connect to cleanup: %s",
		    strerror(errno));
		return;
	}
	buf_init(&out, ATTR_MSG_MAX);
	if (send_begin(fd, rc, n, &out, &err) == -1 ||
	    send_rcpts(fd, rc, addrs, n, &out, &err) == -1) {
		snprintf(why, sizeof(why), "cleanup: %s", err);
		goto fail;
	}
	if (read_status(fd, NULL, 0, why, sizeof(why)) == -1)
		goto fail;
	if (send_content(fd, rc, &out, &size, &err) == -1) {
		snprintf(why, sizeof(why), "cleanup: %s", err);
		goto fail;
	}
	if (read_status(fd, qid, sizeof(qid), why, sizeof(why)) == -1)
		goto fail;
	buf_clear(&out);
	close(fd);
	log_info("%s: forwarded for <%s> as %s", rc->req->queue_id,
	    rc->r->addr, qid);
	local_report_set(rep, DELIVER_SENT, "2.0.0", "forwarded as %s", qid);
	return;
fail:
	buf_clear(&out);
	close(fd);
	local_report_set(rep, DELIVER_DEFERRED, "4.3.0", "cannot forward: %s",
	    why);
}
