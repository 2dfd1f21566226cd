/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup_conn.c -- one smtpd connection: envelope, content, commit;
 * and the service's start: incoming/ and its sweep of stale temporary
 * files.
 *
 * Process:  cleanup (user mail_owner, event loop).
 * Input:    attr.h messages from smtpd, checked field by field.
 * Failure:  a protocol error closes this connection and removes its
 *           temporary file; write errors fail the message with a reply.
 */
#include "config.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "attr.h"
#include "cleanup.h"
#include "conf.h"
#include "log.h"
#include "service.h"
#include "xmem.h"

#define CLEANUP_RECEIVED_MAX	2048
#define CLEANUP_ADDED_MAX	4096	/* a local submission's fields */
#define CLEANUP_TLS_PROTO_MAX	64
#define CLEANUP_TLS_CIPHER_MAX	128
#define CLEANUP_FROM_MAX	(QFILE_ADDR_MAX + 1024)

enum cstate { C_BEGIN, C_RCPT, C_DATA, C_DONE };

struct conn {
	struct service_ctx *ctx;
	struct bufferevent *bev;
	enum cstate	 state;
	char		 qid[QID_LEN + 1];
	char		 tmpname[QID_LEN + 3];
	struct qfile_writer w;
	bool		 writing;
	struct qfile_client client;
	char		 tls_proto[CLEANUP_TLS_PROTO_MAX + 1];
	char		 tls_cipher[CLEANUP_TLS_CIPHER_MAX + 1];
	bool		 local;		/* origin=local: no client */
	bool		 internal;	/* origin=internal: no client, no uid */
	int64_t		 uid;		/* local: the submitting user */
	char		 from[CLEANUP_FROM_MAX];	/* local: for From: */
	int64_t		 arrival;
	struct buf	 head;		/* local: the header section so far */
	struct cleanup_hscan hscan;	/* local: the scan of head */
	bool		 head_done;	/* local: written to the file */
	int64_t		 nrcpt, got;
	char		 first_rcpt[QFILE_ADDR_MAX + 1];
	bool		 received_done;
	struct cleanup_headers hdr;
	uint64_t	 size;
	int		 fail_code;	/* a failed message: the reply */
	const char	*fail_enh, *fail_text;
};

static int	incoming_fd = -1;

/* ---- replies ------------------------------------------------------------- */

static void
send_reply(struct conn *c, struct buf *out)
{
	bufferevent_write(c->bev, out->data, out->len);
	buf_clear(out);
}

static void
reply_ok(struct conn *c)
{
	struct buf out;

	attr_out_init(&out);
	attr_put_str(&out, "status", "ok");
	attr_put_str(&out, "queue_id", c->qid);
	send_reply(c, &out);
}

static void
reply_err(struct conn *c, int code, const char *enh, const char *text)
{
	struct buf out;

	attr_out_init(&out);
	attr_put_str(&out, "status", "error");
	attr_put_int(&out, "code", code);
	attr_put_str(&out, "enh", enh);
	attr_put_str(&out, "text", text);
	send_reply(c, &out);
}

/* The reply for a failed write: a full disk is a temporary problem too. */
static void
fail_write(struct conn *c, int err)
{
	if (c->fail_code != 0)
		return;
	if (err == ENOSPC || err == EDQUOT) {
		log_warnx("%s: queue file write: %s", c->qid, strerror(err));
		c->fail_code = 452;
		c->fail_enh = "4.3.1";
		c->fail_text = "Insufficient system storage";
	} else if (err == EFBIG) {
		log_info("%s: reject: message file too big", c->qid);
		c->fail_code = 552;
		c->fail_enh = "5.3.4";
		c->fail_text = "Error: message file too big";
	} else {
		log_warnx("%s: queue file write: %s", c->qid, strerror(err));
		c->fail_code = 451;
		c->fail_enh = "4.3.0";
		c->fail_text = "Error: queue file write error";
	}
}

static void
conn_free(struct conn *c)
{
	if (c->writing)
		qfile_writer_abort(&c->w);
	buf_clear(&c->head);
	bufferevent_free(c->bev);
	service_client_done(c->ctx);
	free(c);
}

/* ---- requests ------------------------------------------------------------ */

/* Text from smtpd that ends up in a header: printable ASCII only. */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* A sender of ours: no control character (8-bit is SMTPUTF8's). */
static bool
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* An attribute that may be missing: then "". */
static int
get_opt_str(const struct attr_msg *m, const char *name, char *buf, size_t sz)
{
	if (attr_find(m, name) == NULL) {
		buf[0] = '\0';
		return 0;
	}
	return attr_get_str(m, name, buf, sz);
}

/*
 * origin: "smtp" (or none), "local" (names its uid) or "internal" (mail
 * Tern makes itself: bounce notices; it names nothing).
 */
static int
get_origin(struct conn *c, const struct attr_msg *m)
{
	char origin[16];

	if (get_opt_str(m, "origin", origin, sizeof(origin)) == -1)
		return -1;
	if (origin[0] == '\0' || strcmp(origin, "smtp") == 0)
		return 0;
	if (strcmp(origin, "internal") == 0) {
		c->internal = true;
		return 0;
	}
	if (strcmp(origin, "local") != 0)
		return -1;
	c->local = true;
	/* (uid_t)-1 is no user: setresuid(2) takes it for "unchanged". */
	if (attr_get_int(m, "uid", &c->uid) == -1 || c->uid < 0 ||
	    c->uid >= UINT32_MAX)
		return -1;
	return 0;
}

/* The TLS session of an SMTP client: both named, or neither. */
static int
get_tls(struct conn *c, const struct attr_msg *m)
{
	if (get_opt_str(m, "tls_proto", c->tls_proto,
	    sizeof(c->tls_proto)) == -1 ||
	    get_opt_str(m, "tls_cipher", c->tls_cipher,
	    sizeof(c->tls_cipher)) == -1)
		return -1;
	if (!printable(c->tls_proto) || !printable(c->tls_cipher))
		return -1;
	if ((c->tls_proto[0] == '\0') != (c->tls_cipher[0] == '\0'))
		return -1;
	return 0;
}

static int
get_client(const struct attr_msg *m, struct qfile_client *cl)
{
	char port[16];

	memset(cl, 0, sizeof(*cl));
	if (attr_get_str(m, "client_name", cl->name, sizeof(cl->name)) == -1 ||
	    attr_get_str(m, "client_addr", cl->addr, sizeof(cl->addr)) == -1 ||
	    attr_get_str(m, "client_port", port, sizeof(port)) == -1 ||
	    attr_get_str(m, "helo", cl->helo, sizeof(cl->helo)) == -1 ||
	    attr_get_str(m, "protocol", cl->proto, sizeof(cl->proto)) == -1)
		return -1;
	if (!printable(cl->name) || !printable(cl->addr) ||
	    !printable(cl->helo) || !printable(cl->proto))
		return -1;
	cl->port = (uint16_t)strtoul(port, NULL, 10);
	return 0;
}

static int
get_sender(const struct attr_msg *m, struct qfile_sender *s)
{
	char body[16], ret[8];
	int64_t utf8, size;

	memset(s, 0, sizeof(*s));
	if (attr_get_str(m, "sender", s->addr, sizeof(s->addr)) == -1 ||
	    attr_get_str(m, "body", body, sizeof(body)) == -1 ||
	    attr_get_str(m, "ret", ret, sizeof(ret)) == -1 ||
	    attr_get_str(m, "envid", s->envid, sizeof(s->envid)) == -1 ||
	    attr_get_int(m, "smtputf8", &utf8) == -1 ||
	    attr_get_int(m, "size", &size) == -1 || size < 0)
		return -1;
	if (utf8)
		s->flags |= QFILE_SMTPUTF8;
	if (strcmp(body, "8BITMIME") == 0)
		s->flags |= QFILE_8BITMIME;
	else if (strcmp(body, "BINARYMIME") == 0)
		s->flags |= QFILE_BINARYMIME;
	if (strcmp(ret, "FULL") == 0)
		s->ret = QFILE_RET_FULL;
	else if (strcmp(ret, "HDRS") == 0)
		s->ret = QFILE_RET_HDRS;
	s->size = (uint64_t)size;
	return 0;
}

/* From: for a local submission: the sender, with its full name if any. */
static int
local_from(struct conn *c, const struct attr_msg *m, const char *sender,
    const char *myorigin)
{
	char name[CLEANUP_NAME_MAX + 1], spec[QFILE_ADDR_MAX + 300];

	if (get_opt_str(m, "fullname", name, sizeof(name)) == -1 ||
	    cleanup_from(spec, sizeof(spec), sender, myorigin) == -1 ||
	    cleanup_from_name(c->from, sizeof(c->from), name, spec) == -1)
		return -1;
	return 0;
}

static int
do_begin(struct conn *c, const struct attr_msg *m)
{
	const struct conf *conf = c->ctx->conf;
	struct qfile_sender snd;
	struct timespec now;
	uint64_t limit, room;
	char proto[32];

	if (attr_get_str(m, "proto", proto, sizeof(proto)) == -1 ||
	    strcmp(proto, "cleanup/1") != 0 || get_origin(c, m) == -1 ||
	    get_sender(m, &snd) == -1 ||
	    attr_get_int(m, "nrcpt", &c->nrcpt) == -1 || c->nrcpt < 1 ||
	    c->nrcpt > QFILE_RCPT_MAX)
		return -1;
	/* A local submission has no client, and no TLS; nor has ours. */
	if (!c->local && !c->internal &&
	    (get_client(m, &c->client) == -1 || get_tls(c, m) == -1))
		return -1;
	if (c->internal && !no_controls(snd.addr))
		return -1;
	if (c->local && local_from(c, m, snd.addr,
	    conf_str(conf, "myorigin")) == -1)
		return -1;
	if (qid_new(c->qid) == -1)
		fatal("cannot make a queue ID");
	snprintf(c->tmpname, sizeof(c->tmpname), "t.%s", c->qid);
	if (qfile_writer_open(&c->w, incoming_fd, c->tmpname) == -1) {
		fail_write(c, errno);
		return 0;
	}
	c->writing = true;
	/*
	 * Locked until commit or abort: cleanup_sweep leaves a locked
	 * temporary file alone.  Another cleanup's sweep may hold the lock
	 * for an instant (it finds the file too young), so wait for it.
	 */
	if (flock(c->w.fd, LOCK_EX) == -1) {
		fail_write(c, errno);
		return 0;
	}
	/*
	 * Room for what we add beside the client's content; 0: no limit.
	 * Mail we make ourselves is bounded by its maker (bounce by
	 * bounce_size_limit), and a notice about a message close to
	 * message_size_limit must not fail for ever on that limit.
	 */
	limit = (uint64_t)conf_size(conf, "message_size_limit");
	room = CLEANUP_RECEIVED_MAX + (c->local ? CLEANUP_ADDED_MAX : 0);
	qfile_writer_limits(&c->w, QFILE_RCPT_MAX, limit == 0 || c->internal ?
	    UINT64_MAX : limit + room);
	clock_gettime(CLOCK_REALTIME, &now);
	c->arrival = now.tv_sec;
	if (qfile_put_arrival(&c->w, now.tv_sec,
	    (uint32_t)(now.tv_nsec / 1000)) == -1 ||
	    (!c->local && !c->internal &&
	    qfile_put_client(&c->w, &c->client) == -1) ||
	    qfile_put_sender(&c->w, &snd) == -1)
		fail_write(c, errno);
	return 0;
}

static int
do_rcpt(struct conn *c, const struct attr_msg *m)
{
	char addr[QFILE_ADDR_MAX + 1], otype[QFILE_ORCPT_TYPE_MAX + 1];
	char orcpt[QFILE_ADDR_MAX + 1];
	struct qfile_rcpt r;
	int64_t notify;

	if (attr_get_str(m, "addr", addr, sizeof(addr)) == -1 ||
	    attr_get_str(m, "orcpt_type", otype, sizeof(otype)) == -1 ||
	    attr_get_str(m, "orcpt", orcpt, sizeof(orcpt)) == -1 ||
	    attr_get_int(m, "notify", &notify) == -1 || notify < 0 ||
	    notify > 0x0f || addr[0] == '\0')
		return -1;
	if (c->got == 0 && printable(addr))
		strlcpy(c->first_rcpt, addr, sizeof(c->first_rcpt));
	memset(&r, 0, sizeof(r));
	r.addr = addr;
	r.orcpt_type = otype[0] ? otype : NULL;
	r.orcpt = otype[0] ? orcpt : NULL;
	/* smtpcmd's NOTIFY bits, in the queue file's own. */
	r.notify = (uint8_t)(((notify & 0x01) ? QFILE_NOTIFY_NEVER : 0) |
	    ((notify & 0x02) ? QFILE_NOTIFY_SUCCESS : 0) |
	    ((notify & 0x04) ? QFILE_NOTIFY_FAILURE : 0) |
	    ((notify & 0x08) ? QFILE_NOTIFY_DELAY : 0));
	if (c->writing && c->fail_code == 0 && qfile_put_rcpt(&c->w, &r) == -1)
		fail_write(c, errno);
	c->got++;
	return 0;
}

static void
put_content(struct conn *c, const void *p, size_t n)
{
	if (n > 0 && c->fail_code == 0 && qfile_put_content(&c->w, p, n) == -1)
		fail_write(c, errno);
}

/* Our Received: goes first, before any of the client's content. */
static int
add_received(struct conn *c, bool crlf)
{
	char rec[CLEANUP_RECEIVED_MAX];
	struct cleanup_rcvd r;
	size_t n;

	if (c->received_done)
		return 0;
	c->received_done = true;
	memset(&r, 0, sizeof(r));
	r.client = c->local || c->internal ? NULL : &c->client;
	r.internal = c->internal;
	r.tls_proto = c->tls_proto;
	r.tls_cipher = c->tls_cipher;
	r.uid = c->uid;
	r.myhostname = conf_str(c->ctx->conf, "myhostname");
	r.qid = c->qid;
	r.rcpt = c->nrcpt == 1 && c->first_rcpt[0] ? c->first_rcpt : NULL;
	r.when = time(NULL);
	r.crlf = crlf;
	if ((n = cleanup_received(rec, sizeof(rec), &r)) == 0)
		return -1;
	put_content(c, rec, n);
	return 0;
}

static void
fail_with(struct conn *c, int code, const char *enh, const char *text)
{
	c->fail_code = code;
	c->fail_enh = enh;
	c->fail_text = text;
	log_info("%s: reject: %s", c->qid, text);
}

/* The Message-ID:, Date: and From: a local submission lacks. */
static int
local_fields(struct conn *c, const struct cleanup_hscan *s, char *buf,
    size_t sz, size_t *len_r)
{
	char msgid[QID_LEN + 300], date[64];
	struct cleanup_fields f;

	snprintf(msgid, sizeof(msgid), "%s@%s", c->qid,
	    conf_str(c->ctx->conf, "myhostname"));
	cleanup_date(date, sizeof(date), c->arrival);
	f.msgid = msgid;
	f.date = date;
	f.from = c->from;
	if ((*len_r = cleanup_hadd(buf, sz, s, &f)) == (size_t)-1)
		return -1;
	return 0;
}

/*
 * A local submission: keep its header section until it ends (or the
 * content does), then write our Received:, the section, the fields it
 * lacks, and what came after it.  Bounded: a section that grows past
 * header_size_limit fails the message, and MORE means that at most one
 * line of CLEANUP_LINE_MAX bytes beyond it is held.
 */
static int
local_head(struct conn *c, const uint8_t *p, size_t n, bool eof)
{
	const struct conf *conf = c->ctx->conf;
	uint64_t limit = (uint64_t)conf_size(conf, "header_size_limit");
	struct cleanup_hscan *s = &c->hscan;
	char added[CLEANUP_ADDED_MAX];
	const uint8_t *head;
	const char *enh, *text;
	size_t alen;
	int code;

	if (n > 0 && buf_add(&c->head, p, n) == -1) {
		fail_with(c, 552, "5.3.4",
		    "Error: message header section too large");
		return 0;
	}
	head = c->head.len > 0 ? c->head.data : (const uint8_t *)"";
	if (cleanup_hscan(head, c->head.len, eof, s) == CLEANUP_SCAN_MORE) {
		if (s->end > limit)
			fail_with(c, 552, "5.3.4",
			    "Error: message header section too large");
		return 0;
	}
	c->head_done = true;
	/* Hops and size: in the section as the scan found it. */
	if (cleanup_headers_feed(&c->hdr, head, s->end, limit,
	    (unsigned)conf_int(conf, "hopcount_limit"), &code, &enh,
	    &text) == -1) {
		fail_with(c, code, enh, text);
		return 0;
	}
	c->hdr.done = true;
	if (local_fields(c, s, added, sizeof(added), &alen) == -1) {
		log_warnx("%s: header fields do not fit", c->qid);
		fail_with(c, 451, "4.3.0", "Error: cannot add header fields");
		return 0;
	}
	if (add_received(c, s->crlf) == -1)
		return -1;
	put_content(c, head, s->end);
	put_content(c, added, alen);
	put_content(c, head + s->end, c->head.len - s->end);
	buf_clear(&c->head);
	return 0;
}

static int
do_data(struct conn *c, const struct attr_msg *m)
{
	const struct conf *conf = c->ctx->conf;
	const struct attr *a;
	const char *enh, *text;
	int code;

	if ((a = attr_find(m, "bytes")) == NULL || a->type != ATTR_T_DATA)
		return -1;
	c->size += a->len;
	if (c->fail_code != 0)
		return 0;
	if (c->local && !c->head_done)
		return local_head(c, a->val, a->len, false);
	if (add_received(c, true) == -1)
		return -1;
	if (cleanup_headers_feed(&c->hdr, a->val, a->len,
	    (uint64_t)conf_size(conf, "header_size_limit"),
	    (unsigned)conf_int(conf, "hopcount_limit"), &code, &enh,
	    &text) == -1) {
		fail_with(c, code, enh, text);
		return 0;
	}
	put_content(c, a->val, a->len);
	return 0;
}

static int
do_end(struct conn *c, const struct attr_msg *m)
{
	int64_t size;

	if (attr_get_int(m, "size", &size) == -1 || size < 0 ||
	    (uint64_t)size != c->size)
		return -1;
	if (c->fail_code == 0 && c->local && !c->head_done &&
	    local_head(c, NULL, 0, true) == -1)
		return -1;
	if (c->fail_code == 0 && add_received(c, true) == -1)
		return -1;
	if (c->fail_code == 0 &&
	    qfile_writer_commit(&c->w, incoming_fd, c->qid) == -1)
		fail_write(c, errno);
	if (c->fail_code != 0) {
		qfile_writer_abort(&c->w);
		c->writing = false;
		reply_err(c, c->fail_code, c->fail_enh, c->fail_text);
		return 0;
	}
	c->writing = false;
	if (c->local)
		log_info("%s: queued, size=%llu, nrcpt=%lld, uid=%lld", c->qid,
		    (unsigned long long)c->size, (long long)c->nrcpt,
		    (long long)c->uid);
	else if (c->internal)
		log_info("%s: queued, size=%llu, nrcpt=%lld, origin=internal",
		    c->qid, (unsigned long long)c->size, (long long)c->nrcpt);
	else
		log_info("%s: queued, size=%llu, nrcpt=%lld", c->qid,
		    (unsigned long long)c->size, (long long)c->nrcpt);
	reply_ok(c);
	cleanup_wake_qmgr();
	return 0;
}

/* One request; -1 is a protocol error that ends the connection. */
static int
handle(struct conn *c, const struct attr_msg *m)
{
	char req[16];

	if (attr_get_str(m, "request", req, sizeof(req)) == -1)
		return -1;
	switch (c->state) {
	case C_BEGIN:
		if (strcmp(req, "begin") != 0 || do_begin(c, m) == -1)
			return -1;
		c->state = C_RCPT;
		return 0;
	case C_RCPT:
		if (strcmp(req, "rcpt") != 0 || do_rcpt(c, m) == -1)
			return -1;
		if (c->got < c->nrcpt)
			return 0;
		if (c->fail_code != 0)
			reply_err(c, c->fail_code, c->fail_enh, c->fail_text);
		else
			reply_ok(c);
		c->state = C_DATA;
		return 0;
	case C_DATA:
		if (strcmp(req, "data") == 0)
			return do_data(c, m);
		if (strcmp(req, "end") != 0 || do_end(c, m) == -1)
			return -1;
		c->state = C_DONE;
		return 0;
	case C_DONE:
		return -1;
	}
	return -1;
}

/* ---- the connection ------------------------------------------------------ */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct attr_msg m;
	const char *err;
	uint8_t *p;
	size_t have, total;

	for (;;) {
		have = evbuffer_get_length(in);
		p = evbuffer_pullup(in, -1);
		switch (attr_frame(p, have, &total, &err)) {
		case ATTR_ERR:
			goto bad;
		case ATTR_MORE:
			return;
		case ATTR_OK:
			break;
		}
		attr_msg_init(&m);
		if (attr_decode(p + 4, total - 4, &m, &err) != ATTR_OK) {
			attr_msg_clear(&m);
			goto bad;
		}
		evbuffer_drain(in, total);
		err = "unexpected request";
		if (handle(c, &m) == -1) {
			attr_msg_clear(&m);
			goto bad;
		}
		attr_msg_clear(&m);
	}
bad:
	log_warnx("%s: bad request from smtpd: %s; connection closed",
	    c->qid[0] ? c->qid : "NOQUEUE", err);
	conn_free(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		if (c->writing)
			log_info("%s: smtpd went away; message dropped",
			    c->qid);
		conn_free(c);
	}
}

static void
on_written(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	/* The final answer is out: this connection is done. */
	if (c->state == C_DONE)
		conn_free(c);
}

void
cleanup_client(struct service_ctx *ctx, int fd)
{
	struct timeval tv;
	struct conn *c;

	c = xcalloc(1, sizeof(*c));
	c->ctx = ctx;
	cleanup_headers_init(&c->hdr);
	cleanup_hscan_init(&c->hscan);
	/* Past the limit by at most a line, plus one data request. */
	buf_init(&c->head, (size_t)conf_size(ctx->conf, "header_size_limit") +
	    CLEANUP_LINE_MAX + 2 + ATTR_MSG_MAX);
	evutil_make_socket_nonblocking(fd);
	c->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("cannot create a bufferevent");
	bufferevent_setcb(c->bev, on_read, on_written, on_event, c);
	/* Bounded input: one whole message plus its prefix at most. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, ATTR_MSG_MAX + 4);
	tv.tv_sec = conf_time(ctx->conf, "ipc_timeout");
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)cleanup_sweep(incoming_fd, "incoming", time(NULL),
	    CLEANUP_SWEEP_AGE);
}

void
cleanup_start(struct service_ctx *ctx)
{
	static struct event *ev;
	struct timeval tv = { .tv_sec = CLEANUP_SWEEP_EVERY };
	char path[1100];

	snprintf(path, sizeof(path), "%s/incoming",
	    conf_str(ctx->conf, "queue_directory"));
	if ((incoming_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		fatal("%s", path);
	cleanup_wake_init(conf_str(ctx->conf, "queue_directory"));
	/* What a crashed cleanup left behind: now, then every hour. */
	sweep(-1, 0, NULL);
	if ((ev = event_new(ctx->base, -1, EV_PERSIST, sweep, NULL)) == NULL ||
	    event_add(ev, &tv) == -1)
		fatalx("cannot create the sweep timer");
}
