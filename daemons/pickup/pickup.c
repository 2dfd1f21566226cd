/*
 * SPDX-License-Identifier: ISC
 *
 * pickup.c -- scan maildrop/, check each file, feed it to cleanup.
 *
 * Process:  pickup (mail_owner + setgid_group, event loop, resident).
 * Input:    files in maildrop/ (untrusted: any local user wrote one
 *           through terndrop); cleanup's answers (trusted).
 * Failure:  per file: malformed -> corrupt/; cleanup not there -> the
 *           file stays, the scan stops, the next one tries again.
 *
 * Each file is opened without following links and without blocking,
 * must be a regular file with one link, at most maildrop_size_max()
 * bytes, and parse with maildrop_parse(); its owner's uid is who
 * submitted it (the file itself says nothing about that).  The file is
 * unlinked only after cleanup answered "ok" to the end of the message:
 * a crash in between submits it twice, it never loses it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "attr.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "maildrop.h"
#include "pickup.h"
#include "qid.h"
#include "service.h"
#include "xmem.h"

static struct {
	struct service_ctx *ctx;
	int		 dropfd, corruptfd;
	struct event	*ev_scan;
	char		 err[512];
} pk;

/* ---- cleanup ------------------------------------------------------------ */

static int
cl_dial(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/cleanup", conf_str(pk.ctx->conf, "queue_directory")) >=
	    sizeof(sun.sun_path)) {
		snprintf(pk.err, sizeof(pk.err), "cleanup socket path too "
		    "long");
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(pk.err, sizeof(pk.err), "cannot connect to cleanup: "
		    "%s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
cl_send(int fd, struct buf *out)
{
	const char *err;
	int rc = 0;

	if (attr_write(fd, out, PICKUP_TIMEOUT_MS, &err) == -1) {
		snprintf(pk.err, sizeof(pk.err), "cleanup: %s", err);
		rc = -1;
	}
	buf_clear(out);
	return rc;
}

/*
 * cleanup's answer: 0 with its queue ID; -1 with pk.err set and *code_r
 * its reply code (0 when there was none: a broken connection).
 */
static int
cl_answer(int fd, char qid[QID_LEN + 1], int64_t *code_r)
{
	struct attr_msg m;
	char status[16], enh[16], text[256], senh[64], stext[LOG_SAFE_MAX];
	const char *err;
	int rc = -1;

	*code_r = 0;
	attr_msg_init(&m);
	if (attr_read(fd, &m, PICKUP_TIMEOUT_MS, &err) == -1) {
		snprintf(pk.err, sizeof(pk.err), "cleanup: %s", err);
		goto out;
	}
	if (attr_get_str(&m, "status", status, sizeof(status)) == 0 &&
	    strcmp(status, "ok") == 0) {
		if (attr_get_str(&m, "queue_id", qid, QID_LEN + 1) == 0 &&
		    qid_valid(qid, strlen(qid)))
			rc = 0;
		else
			snprintf(pk.err, sizeof(pk.err), "cleanup: no queue ID");
		goto out;
	}
	if (attr_get_int(&m, "code", code_r) == 0 &&
	    attr_get_str(&m, "enh", enh, sizeof(enh)) == 0 &&
	    attr_get_str(&m, "text", text, sizeof(text)) == 0)
		snprintf(pk.err, sizeof(pk.err), "cleanup: %lld %s %s",
		    (long long)*code_r, log_safe(senh, sizeof(senh), enh,
		    strlen(enh)), log_safe(stext, sizeof(stext), text,
		    strlen(text)));
	else {
		*code_r = 0;
		snprintf(pk.err, sizeof(pk.err), "cleanup: malformed answer");
	}
out:
	attr_msg_clear(&m);
	return rc;
}

static bool
has_8bit(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] & 0x80)
			return true;
	return false;
}

static int
cl_begin(int fd, const struct maildrop *md, uid_t uid)
{
	struct buf out;
	bool utf8 = has_8bit(md->sender, strlen(md->sender));
	size_t i;

	for (i = 0; i < md->rcpts.n; i++)
		utf8 |= has_8bit(md->rcpts.v[i], strlen(md->rcpts.v[i]));
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "begin") == -1 ||
	    attr_put_str(&out, "proto", "cleanup/1") == -1 ||
	    attr_put_str(&out, "origin", "local") == -1 ||
	    attr_put_int(&out, "uid", (int64_t)uid) == -1 ||
	    attr_put_str(&out, "sender", md->sender) == -1 ||
	    attr_put_str(&out, "fullname", md->fullname) == -1 ||
	    attr_put_int(&out, "smtputf8", utf8) == -1 ||
	    attr_put_str(&out, "body", has_8bit(md->content,
	    md->content_len) ? "8BITMIME" : "") == -1 ||
	    attr_put_str(&out, "ret", "") == -1 ||
	    attr_put_str(&out, "envid", "") == -1 ||
	    attr_put_int(&out, "size", 0) == -1 ||
	    attr_put_int(&out, "nrcpt", (int64_t)md->rcpts.n) == -1)
		bug("a begin request does not fit");
	if (cl_send(fd, &out) == -1)
		return -1;
	for (i = 0; i < md->rcpts.n; i++) {
		attr_out_init(&out);
		if (attr_put_str(&out, "request", "rcpt") == -1 ||
		    attr_put_str(&out, "addr", md->rcpts.v[i]) == -1 ||
		    attr_put_int(&out, "notify", 0) == -1 ||
		    attr_put_str(&out, "orcpt_type", "") == -1 ||
		    attr_put_str(&out, "orcpt", "") == -1)
			bug("a rcpt request does not fit");
		if (cl_send(fd, &out) == -1)
			return -1;
	}
	return 0;
}

static int
cl_content(int fd, const struct maildrop *md)
{
	struct buf out;
	size_t off, n;

	for (off = 0; off < md->content_len; off += n) {
		n = md->content_len - off;
		if (n > PICKUP_CHUNK)
			n = PICKUP_CHUNK;
		attr_out_init(&out);
		if (attr_put_str(&out, "request", "data") == -1 ||
		    attr_put_data(&out, "bytes", md->content + off, n) == -1)
			bug("a data request does not fit");
		if (cl_send(fd, &out) == -1)
			return -1;
	}
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "end") == -1 ||
	    attr_put_int(&out, "size", (int64_t)md->content_len) == -1)
		bug("an end request does not fit");
	return cl_send(fd, &out);
}

/*
 * The whole exchange for one message: 0 with cleanup's queue ID, or -1
 * with pk.err and *code_r (0: cleanup is not there or broke off).
 */
static int
feed(const struct maildrop *md, uid_t uid, char qid[QID_LEN + 1],
    int64_t *code_r)
{
	int fd, rc = -1;

	*code_r = 0;
	if ((fd = cl_dial()) == -1)
		return -1;
	if (cl_begin(fd, md, uid) == 0 && cl_answer(fd, qid, code_r) == 0 &&
	    cl_content(fd, md) == 0)
		rc = cl_answer(fd, qid, code_r);
	close(fd);
	return rc;
}

/* ---- one file ------------------------------------------------------------ */

static void
to_corrupt(const char *name, uid_t uid, const char *why)
{
	char swhy[LOG_SAFE_MAX];

	log_safe(swhy, sizeof(swhy), why, strlen(why));
	if (renameat2(pk.dropfd, name, pk.corruptfd, name,
	    RENAME_NOREPLACE) == -1) {
		log_warn("%s: malformed maildrop file from uid %lu (%s): "
		    "cannot move it to corrupt/", name, (unsigned long)uid,
		    swhy);
		return;
	}
	log_warnx("%s: malformed maildrop file from uid %lu: %s: moved to "
	    "corrupt/", name, (unsigned long)uid, swhy);
}

/* Read the file at fd (st its stat) whole; NULL on a read error. */
static uint8_t *
slurp(int fd, const struct stat *st)
{
	uint8_t *p = xmalloc((size_t)st->st_size + 1);
	size_t off = 0;
	ssize_t n;

	while (off < (size_t)st->st_size) {
		n = pread(fd, p + off, (size_t)st->st_size - off, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return NULL;
		}
		off += (size_t)n;
	}
	return p;
}

/* One file; false when cleanup is not reachable (stop the scan). */
static bool
pick(const char *name)
{
	uint64_t limit = (uint64_t)conf_size(pk.ctx->conf,
	    "message_size_limit");
	struct maildrop md;
	struct stat st;
	const char *err;
	char qid[QID_LEN + 1], ssender[LOG_SAFE_MAX];
	uint8_t *data;
	int64_t code;
	int fd;

	fd = openat(pk.dropfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			log_warn("maildrop/%s: cannot open", name);
		return true;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("maildrop/%s: cannot stat", name);
		close(fd);
		return true;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		to_corrupt(name, st.st_uid, "not a regular file with one link");
		return true;
	}
	if ((uint64_t)st.st_size > maildrop_size_max(limit)) {
		close(fd);
		to_corrupt(name, st.st_uid, "file too big");
		return true;
	}
	data = slurp(fd, &st);
	close(fd);
	if (data == NULL) {
		log_warn("maildrop/%s: cannot read", name);
		return true;
	}
	if (maildrop_parse(data, (size_t)st.st_size, limit, &md, &err) == -1) {
		free(data);
		to_corrupt(name, st.st_uid, err);
		return true;
	}
	if (feed(&md, st.st_uid, qid, &code) == -1) {
		maildrop_clear(&md);
		free(data);
		if (code >= 500 && code < 600) {
			to_corrupt(name, st.st_uid, pk.err);
			return true;
		}
		log_warnx("maildrop/%s: %s: left for a later scan", name,
		    pk.err);
		return false;
	}
	if (unlinkat(pk.dropfd, name, 0) == -1)
		log_warn("%s: cannot remove maildrop/%s (it may be queued "
		    "twice)", qid, name);
	log_info("%s: uid=%lu from=<%s> maildrop=%s", qid,
	    (unsigned long)st.st_uid, log_safe(ssender, sizeof(ssender),
	    md.sender, strlen(md.sender)), name);
	maildrop_clear(&md);
	free(data);
	return true;
}

/* A "t." file terndrop left when it was killed: garbage after an hour. */
static void
old_temp(const char *name, time_t now)
{
	struct stat st;

	if (fstatat(pk.dropfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_mtime > now - PICKUP_TMP_AGE)
		return;
	if (unlinkat(pk.dropfd, name, 0) == 0)
		log_info("removed stale temporary file maildrop/%s", name);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the scan ----------------------------------------------------------- */

static void
scan(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { PICKUP_SCAN_INTERVAL, 0 };
	struct dirent *de;
	char *names[PICKUP_SCAN_MAX];
	size_t n = 0, i;
	bool more = false, reach = true;
	time_t now = time(NULL);
	DIR *d;
	int dfd;

	if ((dfd = dup(pk.dropfd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		log_warn("cannot read maildrop/");
		if (dfd != -1)
			close(dfd);
		goto again;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "t.", 2) == 0) {
			old_temp(de->d_name, now);
			continue;
		}
		if (!qid_valid(de->d_name, strlen(de->d_name)))
			continue;
		if (n == PICKUP_SCAN_MAX) {
			more = true;
			break;
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (reach && !pk.ctx->draining)
			reach = pick(names[i]);
		free(names[i]);
	}
	if (more && reach)
		tv.tv_sec = 0;
again:
	evtimer_add(pk.ev_scan, &tv);
}

static void
scan_soon(void)
{
	struct timeval now = { 0, 0 };

	evtimer_add(pk.ev_scan, &now);
}

/* ---- wake-ups ------------------------------------------------------------ */

struct waker {
	struct service_ctx *ctx;
	struct event	*ev;
	int		 fd;
};

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct waker *w = arg;
	char buf[64];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		scan_soon();
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(w->ev);
	close(w->fd);
	service_client_done(w->ctx);
	free(w);
}

void
pickup_wake_client(struct service_ctx *ctx, int fd)
{
	struct waker *w = xcalloc(1, sizeof(*w));

	w->ctx = ctx;
	w->fd = fd;
	evutil_make_socket_nonblocking(fd);
	w->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, on_wake, w);
	if (w->ev == NULL)
		fatalx("cannot create an event");
	event_add(w->ev, NULL);
}

void
pickup_start(struct service_ctx *ctx)
{
	const char *qdir = conf_str(ctx->conf, "queue_directory");
	int qfd;

	pk.ctx = ctx;
	if ((qfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("%s", qdir);
	if ((pk.dropfd = openat(qfd, "maildrop", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("%s/maildrop", qdir);
	if ((pk.corruptfd = openat(qfd, "corrupt", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		fatal("%s/corrupt", qdir);
	close(qfd);
	if ((pk.ev_scan = evtimer_new(ctx->base, scan, NULL)) == NULL)
		fatalx("cannot create an event");
	scan_soon();
}
