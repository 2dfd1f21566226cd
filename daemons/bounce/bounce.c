/*
 * SPDX-License-Identifier: ISC
 *
 * bounce.c -- one notice: read qmgr's request and the queue file, decide
 * who gets the notice, compose it (lib/dsn) and hand it to cleanup with
 * origin=internal; answer qmgr only once cleanup has it on disk.
 *
 * Process:  bounce (user mail_owner, blocking I/O, one connection).
 * Input:    qmgr's request (trusted peer, still checked field by field
 *           and against the queue file), the queue file (its content is
 *           untrusted), cleanup's replies (trusted, parsed with attr.h's
 *           limits).
 * Failure:  every problem is answered status=error (qmgr tries again
 *           later) and logged; nothing is queued then.  Bounded: every
 *           read and write waits at most ipc_timeout.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "bounce.h"
#include "conf.h"
#include "fdpass.h"
#include "log.h"
#include "service.h"
#include "xmem.h"

/* A queue file is at most the content limit plus its envelope. */
#define ENVELOPE_ROOM	((size_t)QFILE_RCPT_MAX * (2 * QFILE_REC_HDR + \
	2 * QFILE_ADDR_MAX + QFILE_ORCPT_TYPE_MAX + 8) + 1024 * 1024)
#define ERR_MAX		300

/* One recipient of the request. */
struct brcpt {
	uint32_t	 index;
	char		*addr, *orcpt_type, *orcpt, *relay, *text;
	char		 action[BOUNCE_ACTION_MAX + 1];
	char		 dsn[BOUNCE_DSN_MAX + 1];
	bool		 diag_smtp;
};

struct req {
	char		 queue_id[QID_LEN + 1];
	enum dsn_kind	 kind;
	int		 fd;		/* the queue file, read-only */
	struct qfile	 q;
	struct brcpt	*r;
	size_t		 nrcpt;
	uint8_t		*seen;		/* one bit per file recipient */
	char		 err[ERR_MAX];	/* a reason made here */
};

struct bctx {
	const struct conf *conf;
	int		 timeout_ms;	/* ipc_timeout */
};

/* ---- routing (pure) ----------------------------------------------------- */

/* addr, with "@myorigin" when it has no domain, into out. */
static int
qualify(char *out, size_t sz, const char *addr, const char *myorigin)
{
	int n;

	if (strchr(addr, '@') != NULL)
		n = snprintf(out, sz, "%s", addr);
	else
		n = snprintf(out, sz, "%s@%s", addr, myorigin);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

/* A qualified address at myhostname is at myorigin (in place). */
static void
local_domain(char *addr, size_t sz, const struct bounce_conf *c)
{
	char *at = strrchr(addr, '@');

	if (at != NULL && strcasecmp(at + 1, c->myhostname) == 0)
		strlcpy(at + 1, c->myorigin, sz - (size_t)(at + 1 - addr));
}

/* Is a the address b (qualified, myhostname meaning myorigin)? */
static bool
same_addr(const struct bounce_conf *c, const char *a, const char *b)
{
	char qa[QFILE_ADDR_MAX + 300], qb[QFILE_ADDR_MAX + 300];

	if (qualify(qa, sizeof(qa), a, c->myorigin) == -1 ||
	    qualify(qb, sizeof(qb), b, c->myorigin) == -1)
		return false;
	local_domain(qa, sizeof(qa), c);
	local_domain(qb, sizeof(qb), c);
	return strcasecmp(qa, qb) == 0;
}

int
bounce_route(const struct bounce_conf *c, const char *sender,
    enum dsn_kind kind, const char *const *rcpts, size_t n,
    struct bounce_route *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->to = BOUNCE_TO_NOBODY;
	if (sender[0] != '\0' &&
	    same_addr(c, sender, c->double_bounce_sender)) {
		out->why = "message from the double-bounce sender";
		return 0;
	}
	if (sender[0] != '\0') {
		out->to = BOUNCE_TO_SENDER;
		return qualify(out->rcpt, sizeof(out->rcpt), sender,
		    c->myorigin);
	}
	if (kind != DSN_FAILURE) {
		out->why = "message from <>: no sender to notify";
		return 0;
	}
	for (i = 0; i < n; i++)
		if (!same_addr(c, rcpts[i], c->notice_rcpt))
			break;
	if (i == n) {
		out->why = "message from <> to the bounce notice recipient";
		return 0;
	}
	out->to = BOUNCE_TO_NOTICE_RCPT;
	if (qualify(out->env_sender, sizeof(out->env_sender),
	    c->double_bounce_sender, c->myorigin) == -1 ||
	    qualify(out->rcpt, sizeof(out->rcpt), c->notice_rcpt,
	    c->myorigin) == -1)
		return -1;
	return 0;
}

bool
bounce_diag_smtp(const char *t)
{
	return t[0] >= '2' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' &&
	    t[2] >= '0' && t[2] <= '9' &&
	    (t[3] == ' ' || t[3] == '-' || t[3] == '\0');
}

/* ---- the request from qmgr ---------------------------------------------- */

static void
req_clear(struct req *req)
{
	size_t i;

	for (i = 0; i < req->nrcpt; i++) {
		free(req->r[i].addr);
		free(req->r[i].orcpt_type);
		free(req->r[i].orcpt);
		free(req->r[i].relay);
		free(req->r[i].text);
	}
	free(req->r);
	free(req->seen);
	if (req->fd != -1)
		close(req->fd);
	qfile_clear(&req->q);
}

/* A string attribute of at most sz - 1 bytes. */
static int
get_str(const struct attr_msg *m, const char *name, char *buf, size_t sz)
{
	const struct attr *a = attr_find(m, name);

	if (a == NULL || a->type != ATTR_T_STR || a->len >= sz)
		return -1;
	memcpy(buf, a->val, a->len);
	buf[a->len] = '\0';
	return 0;
}

/* A string attribute, its first keep bytes at most, allocated. */
static char *
dup_str(const struct attr_msg *m, const char *name, size_t keep)
{
	const struct attr *a = attr_find(m, name);

	if (a == NULL || a->type != ATTR_T_STR)
		return NULL;
	return xstrndup((const char *)a->val, a->len < keep ? a->len : keep);
}

static bool
is_request(const struct attr_msg *m, const char *what)
{
	const struct attr *a = attr_find(m, "request");

	return a != NULL && a->type == ATTR_T_STR && a->len == strlen(what) &&
	    memcmp(a->val, what, a->len) == 0;
}

/* Step 1: one byte 'Q' with the queue file's descriptor. */
static int
read_fd(struct bctx *b, int sock, struct req *req, const char **err_r)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int fds[FDPASS_MAX];
	size_t nfds = 0, i;
	ssize_t got;
	char byte = 0;
	int n;

	if ((n = poll(&pfd, 1, b->timeout_ms)) <= 0) {
		*err_r = n == 0 ? "timeout" : strerror(errno);
		return -1;
	}
	got = fdpass_recv(sock, fds, FDPASS_MAX, &nfds, &byte, 1);
	if (got <= 0) {
		*err_r = got == 0 ? "connection closed" : strerror(errno);
		return -1;
	}
	if (nfds != 1 || byte != 'Q') {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		*err_r = "expected one queue file descriptor";
		return -1;
	}
	req->fd = fds[0];
	return 0;
}

/* Step 2: request=notify; then the queue file itself. */
static int
read_notify(struct bctx *b, int sock, struct req *req, const char **err_r)
{
	struct attr_msg m;
	char proto[32], kind[16];
	const char *qerr;
	int64_t n, lim;
	size_t max;
	int rc = -1;

	attr_msg_init(&m);
	if (attr_read(sock, &m, b->timeout_ms, err_r) == -1)
		goto out;
	*err_r = "expected request=notify";
	if (!is_request(&m, "notify"))
		goto out;
	*err_r = "missing or bad proto, queue_id or kind";
	if (get_str(&m, "proto", proto, sizeof(proto)) == -1 ||
	    get_str(&m, "queue_id", req->queue_id,
	    sizeof(req->queue_id)) == -1 ||
	    get_str(&m, "kind", kind, sizeof(kind)) == -1)
		goto out;
	*err_r = "unknown protocol version";
	if (strcmp(proto, BOUNCE_PROTO) != 0)
		goto out;
	*err_r = "bad queue_id";
	if (!qid_valid(req->queue_id, strlen(req->queue_id))) {
		req->queue_id[0] = '\0';
		goto out;
	}
	*err_r = "bad kind";
	if (dsn_kind_parse(kind, &req->kind) == -1)
		goto out;
	*err_r = "bad nrcpt";
	if (attr_get_int(&m, "nrcpt", &n) == -1 || n < 1 ||
	    n > BOUNCE_RCPT_MAX)
		goto out;
	/* The content limit, the notices' own, and the envelope. */
	lim = conf_size(b->conf, "message_size_limit");
	max = lim <= 0 ? SIZE_MAX / 2 : (size_t)lim + ENVELOPE_ROOM +
	    (size_t)conf_size(b->conf, "bounce_size_limit");
	if (qfile_read(req->fd, max, &req->q, &qerr) == -1) {
		snprintf(req->err, sizeof(req->err), "queue file: %s", qerr);
		*err_r = req->err;
		goto out;
	}
	req->r = xcalloc((size_t)n, sizeof(*req->r));
	req->nrcpt = 0;
	req->seen = xcalloc(req->q.nrcpt / 8 + 1, 1);
	rc = (int)n;
out:
	attr_msg_clear(&m);
	return rc;
}

/* The diagnostic's type: given, or guessed from its look. */
static int
diag_type(const struct attr_msg *m, struct brcpt *r)
{
	char t[16];

	if (attr_find(m, "diag_type") == NULL) {
		r->diag_smtp = r->relay[0] != '\0' && bounce_diag_smtp(r->text);
		return 0;
	}
	if (get_str(m, "diag_type", t, sizeof(t)) == -1)
		return -1;
	if (strcmp(t, "smtp") == 0)
		r->diag_smtp = true;
	else if (strcmp(t, "x-unix") == 0)
		r->diag_smtp = false;
	else
		return -1;
	return 0;
}

/* Step 3: one request=rcpt, checked against the queue file. */
static int
read_rcpt(struct bctx *b, int sock, struct req *req, const char **err_r)
{
	const struct qfile_rcpt *fr;
	struct brcpt *r = &req->r[req->nrcpt];
	struct attr_msg m;
	int64_t idx;
	int rc = -1;

	attr_msg_init(&m);
	if (attr_read(sock, &m, b->timeout_ms, err_r) == -1)
		goto out;
	*err_r = "expected request=rcpt";
	if (!is_request(&m, "rcpt"))
		goto out;
	req->nrcpt++;
	*err_r = "missing or bad rcpt attribute";
	if ((r->addr = dup_str(&m, "addr", QFILE_ADDR_MAX + 1)) == NULL ||
	    (r->orcpt_type = dup_str(&m, "orcpt_type",
	    QFILE_ORCPT_TYPE_MAX + 1)) == NULL ||
	    (r->orcpt = dup_str(&m, "orcpt", QFILE_ADDR_MAX + 1)) == NULL ||
	    (r->relay = dup_str(&m, "relay", BOUNCE_RELAY_MAX + 1)) == NULL ||
	    (r->text = dup_str(&m, "text", BOUNCE_TEXT_KEEP)) == NULL ||
	    get_str(&m, "action", r->action, sizeof(r->action)) == -1 ||
	    get_str(&m, "dsn", r->dsn, sizeof(r->dsn)) == -1 ||
	    strlen(r->relay) > BOUNCE_RELAY_MAX || diag_type(&m, r) == -1)
		goto out;
	*err_r = "bad dsn";
	if (!dsn_status_valid(r->dsn))
		goto out;
	*err_r = "index out of range, or given twice";
	if (attr_get_int(&m, "index", &idx) == -1 || idx < 0 ||
	    (uint64_t)idx >= req->q.nrcpt ||
	    (req->seen[idx / 8] & (1u << (idx % 8))) != 0)
		goto out;
	req->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
	r->index = (uint32_t)idx;
	fr = &req->q.rcpts[idx];
	*err_r = "recipient does not match the queue file";
	if (strcmp(fr->addr, r->addr) != 0 ||
	    strcmp(fr->orcpt_type, r->orcpt_type) != 0 ||
	    strcmp(fr->orcpt, r->orcpt) != 0)
		goto out;
	rc = 0;
out:
	attr_msg_clear(&m);
	return rc;
}

static int
read_request(struct bctx *b, int sock, struct req *req, const char **err_r)
{
	int i, n;

	if (read_fd(b, sock, req, err_r) == -1 ||
	    (n = read_notify(b, sock, req, err_r)) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (read_rcpt(b, sock, req, err_r) == -1)
			return -1;
	return 0;
}

/* The answer to qmgr: status, and queue_id or text. */
static void
reply(struct bctx *b, int sock, const char *status, const char *qid,
    const char *text)
{
	struct buf out;
	const char *err;

	attr_out_init(&out);
	if (attr_put_str(&out, "status", status) == -1 ||
	    (qid != NULL && attr_put_str(&out, "queue_id", qid) == -1) ||
	    (text != NULL && attr_put_str(&out, "text", text) == -1) ||
	    attr_write(sock, &out, b->timeout_ms, &err) == -1)
		log_warnx("cannot answer the queue manager");
	buf_clear(&out);
}

/* ---- cleanup ------------------------------------------------------------ */

struct cleanup {
	struct bctx	*b;
	int		 fd;
	struct buf	 chunk;		/* content not yet sent */
	uint64_t	 size;		/* content sent */
	char		 err[ERR_MAX];
};

static int
cl_dial(struct cleanup *cl)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/cleanup", conf_str(cl->b->conf, "queue_directory")) >=
	    sizeof(sun.sun_path)) {
		snprintf(cl->err, sizeof(cl->err), "cleanup socket path too "
		    "long");
		return -1;
	}
	if ((cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(cl->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(cl->err, sizeof(cl->err), "cannot connect to "
		    "cleanup: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
cl_send(struct cleanup *cl, struct buf *out)
{
	const char *err;

	if (attr_write(cl->fd, out, cl->b->timeout_ms, &err) == -1) {
		snprintf(cl->err, sizeof(cl->err), "cleanup: %s", err);
		return -1;
	}
	return 0;
}

/* cleanup's answer: 0 with its queue ID, or -1 with the reason. */
static int
cl_answer(struct cleanup *cl, char qid[QID_LEN + 1])
{
	struct attr_msg m;
	char status[16], enh[16], text[256], senh[64], stext[LOG_SAFE_MAX];
	const char *err;
	int64_t code;
	int rc = -1;

	attr_msg_init(&m);
	if (attr_read(cl->fd, &m, cl->b->timeout_ms, &err) == -1) {
		snprintf(cl->err, sizeof(cl->err), "cleanup: %s", err);
		goto out;
	}
	if (get_str(&m, "status", status, sizeof(status)) == 0 &&
	    strcmp(status, "ok") == 0) {
		if (get_str(&m, "queue_id", qid, QID_LEN + 1) == 0 &&
		    qid_valid(qid, strlen(qid)))
			rc = 0;
		else
			snprintf(cl->err, sizeof(cl->err), "cleanup: no queue "
			    "ID");
		goto out;
	}
	if (attr_get_int(&m, "code", &code) == 0 &&
	    get_str(&m, "enh", enh, sizeof(enh)) == 0 &&
	    get_str(&m, "text", text, sizeof(text)) == 0)
		snprintf(cl->err, sizeof(cl->err), "cleanup: %lld %s %s",
		    (long long)code, log_safe(senh, sizeof(senh), enh,
		    strlen(enh)), log_safe(stext, sizeof(stext), text,
		    strlen(text)));
	else
		snprintf(cl->err, sizeof(cl->err), "cleanup: malformed answer");
out:
	attr_msg_clear(&m);
	return rc;
}

static int
cl_flush(struct cleanup *cl)
{
	struct buf out;
	int rc;

	if (cl->chunk.len == 0)
		return 0;
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "data") == -1 ||
	    attr_put_data(&out, "bytes", cl->chunk.data, cl->chunk.len) == -1)
		bug("a data request does not fit");
	rc = cl_send(cl, &out);
	cl->size += cl->chunk.len;
	buf_reset(&cl->chunk);
	buf_clear(&out);
	return rc;
}

/* dsn_write's output: into data requests of BOUNCE_CHUNK bytes. */
static int
cl_data(void *arg, const void *data, size_t len)
{
	struct cleanup *cl = arg;
	const uint8_t *p = data;
	size_t n;

	while (len > 0) {
		n = BOUNCE_CHUNK - cl->chunk.len;
		if (n > len)
			n = len;
		if (buf_add(&cl->chunk, p, n) == -1)
			bug("chunk overflow");
		p += n;
		len -= n;
		if (cl->chunk.len == BOUNCE_CHUNK && cl_flush(cl) == -1)
			return -1;
	}
	return 0;
}

static int
cl_begin(struct cleanup *cl, const struct bounce_route *rt,
    const struct dsn *d)
{
	struct buf out;
	int rc = -1;

	attr_out_init(&out);
	if (attr_put_str(&out, "request", "begin") == -1 ||
	    attr_put_str(&out, "proto", "cleanup/1") == -1 ||
	    attr_put_str(&out, "origin", "internal") == -1 ||
	    attr_put_str(&out, "sender", rt->env_sender) == -1 ||
	    attr_put_int(&out, "smtputf8", d->utf8) == -1 ||
	    attr_put_str(&out, "body", d->eightbit ? "8BITMIME" : "") == -1 ||
	    attr_put_str(&out, "ret", "") == -1 ||
	    attr_put_str(&out, "envid", "") == -1 ||
	    attr_put_int(&out, "size", 0) == -1 ||
	    attr_put_int(&out, "nrcpt", 1) == -1 || cl_send(cl, &out) == -1)
		goto out;
	buf_clear(&out);
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "rcpt") == -1 ||
	    attr_put_str(&out, "addr", rt->rcpt) == -1 ||
	    attr_put_int(&out, "notify", 0) == -1 ||
	    attr_put_str(&out, "orcpt_type", "") == -1 ||
	    attr_put_str(&out, "orcpt", "") == -1 || cl_send(cl, &out) == -1)
		goto out;
	rc = 0;
out:
	buf_clear(&out);
	return rc;
}

/*
 * submit -- queue the notice: begin, the recipient, the content, end;
 * 0 once cleanup answered ok with the notice's queue ID (qid), else -1
 * with cl->err set.
 */
static int
submit(struct cleanup *cl, const struct bounce_route *rt, struct dsn *d,
    char qid[QID_LEN + 1])
{
	char msgid[QID_LEN + 300];
	struct buf out;
	int rc = -1;

	if (cl_dial(cl) == -1 || cl_begin(cl, rt, d) == -1 ||
	    cl_answer(cl, qid) == -1)
		return -1;
	snprintf(msgid, sizeof(msgid), "%s@%s", qid,
	    conf_str(cl->b->conf, "myhostname"));
	if (dsn_write(d, msgid, cl_data, cl) == -1 || cl_flush(cl) == -1) {
		if (cl->err[0] == '\0')
			snprintf(cl->err, sizeof(cl->err), "cannot write the "
			    "notice (bad myhostname?)");
		return -1;
	}
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "end") == -1 ||
	    attr_put_int(&out, "size", (int64_t)cl->size) == -1 ||
	    cl_send(cl, &out) == -1)
		goto done;
	rc = cl_answer(cl, qid);
done:
	buf_clear(&out);
	return rc;
}

/* ---- one notice --------------------------------------------------------- */

static const char *
what(enum dsn_kind k)
{
	switch (k) {
	case DSN_FAILURE:
		return "non-delivery";
	case DSN_DELAY:
		return "delay";
	case DSN_SUCCESS:
		return "delivery status";
	}
	return "";
}

/* The notice's recipients, as lib/dsn wants them. */
static struct dsn_rcpt *
dsn_rcpts(const struct req *req)
{
	struct dsn_rcpt *dr = xcalloc(req->nrcpt, sizeof(*dr));
	size_t i;

	for (i = 0; i < req->nrcpt; i++) {
		dr[i].addr = req->r[i].addr;
		dr[i].orcpt_type = req->r[i].orcpt_type;
		dr[i].orcpt = req->r[i].orcpt;
		dr[i].action = req->r[i].action;
		dr[i].status = req->r[i].dsn;
		dr[i].remote_mta = req->r[i].relay;
		dr[i].diag = req->r[i].text;
		dr[i].diag_smtp = req->r[i].diag_smtp;
	}
	return dr;
}

static int
route(struct bctx *b, const struct req *req, struct bounce_route *rt)
{
	struct bounce_conf bc;
	const char **addrs;
	size_t i;
	int rc;

	bc.myorigin = conf_str(b->conf, "myorigin");
	bc.myhostname = conf_str(b->conf, "myhostname");
	bc.double_bounce_sender = conf_str(b->conf, "double_bounce_sender");
	bc.notice_rcpt = conf_str(b->conf, "bounce_notice_recipient");
	addrs = xcalloc(req->nrcpt, sizeof(*addrs));
	for (i = 0; i < req->nrcpt; i++)
		addrs[i] = req->r[i].addr;
	rc = bounce_route(&bc, req->q.sender.addr, req->kind, addrs,
	    req->nrcpt, rt);
	free(addrs);
	return rc;
}

static void
notify(struct bctx *b, int sock, struct req *req)
{
	struct bounce_route rt;
	struct dsn_notice n;
	struct dsn_rcpt *dr;
	struct cleanup cl;
	struct dsn d;
	const char *err;
	char qid[QID_LEN + 1], from[QFILE_ADDR_MAX + 300];
	int64_t life;

	if (route(b, req, &rt) == -1) {
		log_warnx("%s: cannot send a notification: address too long",
		    req->queue_id);
		reply(b, sock, "error", NULL, "address too long");
		return;
	}
	if (qualify(from, sizeof(from), "MAILER-DAEMON",
	    conf_str(b->conf, "myorigin")) == -1) {
		log_warnx("%s: cannot send a notification: myorigin too long",
		    req->queue_id);
		reply(b, sock, "error", NULL, "myorigin too long");
		return;
	}
	if (rt.to == BOUNCE_TO_NOBODY) {
		log_info("%s: no %s notification: %s", req->queue_id,
		    what(req->kind), rt.why);
		reply(b, sock, "skipped", NULL, rt.why);
		return;
	}
	dr = dsn_rcpts(req);
	memset(&n, 0, sizeof(n));
	n.kind = req->kind;
	n.orig = &req->q;
	n.queue_id = req->queue_id;
	n.rcpts = dr;
	n.nrcpt = req->nrcpt;
	n.myhostname = conf_str(b->conf, "myhostname");
	n.from = from;
	n.to = rt.rcpt;
	n.now = time(NULL);
	life = conf_time(b->conf, "maximal_queue_lifetime");
	n.retry_until = life > 0 ? req->q.arrival_sec + life : 0;
	n.size_limit = (size_t)conf_size(b->conf, "bounce_size_limit");
	n.nonce = arc4random();
	memset(&cl, 0, sizeof(cl));
	cl.b = b;
	cl.fd = -1;
	buf_init(&cl.chunk, BOUNCE_CHUNK);
	dsn_init(&d);
	if (dsn_prepare(&d, &n, &err) == -1) {
		log_warnx("%s: bad request from the queue manager: %s",
		    req->queue_id, err);
		reply(b, sock, "error", NULL, err);
	} else if (submit(&cl, &rt, &d, qid) == -1) {
		log_warnx("%s: cannot send a %s notification: %s",
		    req->queue_id, what(req->kind), cl.err);
		reply(b, sock, "error", NULL, cl.err);
	} else {
		/* Postfix's words: "sender" or "postmaster" notification. */
		log_info("%s: %s %s notification: %s", req->queue_id,
		    rt.to == BOUNCE_TO_SENDER ? "sender" : "postmaster",
		    what(req->kind), qid);
		reply(b, sock, "ok", qid, NULL);
	}
	dsn_clear(&d);
	if (cl.fd != -1)
		close(cl.fd);
	buf_clear(&cl.chunk);
	free(dr);
}

void
bounce_client(struct service_ctx *ctx, int sock)
{
	struct bctx b;
	struct req req;
	const char *err = "";
	char text[ERR_MAX + 20];

	memset(&req, 0, sizeof(req));
	req.fd = -1;
	qfile_init(&req.q);
	b.conf = ctx->conf;
	b.timeout_ms = (int)(conf_time(ctx->conf, "ipc_timeout") * 1000);
	if (read_request(&b, sock, &req, &err) == -1) {
		log_warnx("%s: bad request from the queue manager: %s",
		    req.queue_id[0] != '\0' ? req.queue_id : "NOQUEUE", err);
		snprintf(text, sizeof(text), "bad request: %s", err);
		reply(&b, sock, "error", NULL, text);
	} else
		notify(&b, sock, &req);
	req_clear(&req);
	close(sock);
}
