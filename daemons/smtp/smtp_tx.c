/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_tx.c -- the mail transaction SMTP and LMTP share: MAIL, RCPT
 * and DATA (or BDAT), pipelined when the server offers PIPELINING (RFC
 * 2920), then the content; after the final dot LMTP gives one reply per
 * accepted recipient (RFC 2033 4.2), SMTP one for all of them.  Also the
 * results helpers both session parts use, and RSET on a reused session.
 *
 * Process:  smtp / lmtp (mail_owner, no keys).
 * Input:    server replies (untrusted: lib/smtpc bounds and parses them).
 * Failure:  every outcome is a recipient result: a 4xx reply defers, a
 *           5xx bounces, a lost or silent connection and a 421 defer
 *           whatever has no result yet, and end the session.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qfile.h"
#include "smtp.h"
#include "xmem.h"

#define PIPE_WINDOW	100		/* commands sent ahead of replies */
#define BATCH_MAX	(16 * 1024)	/* bytes of commands per write */

enum cmd { CMD_MAIL, CMD_RCPT, CMD_DATA };

/* One request's transaction. */
struct tx {
	struct smtp_agent	*a;
	struct smtp_sess	*s;
	struct deliver_req	*req;
	size_t			*send;		/* indexes of rcpts to send */
	size_t			 nsend;
	bool			*accepted;	/* by index in send[] */
	size_t			 naccepted;
	bool			 smtputf8;	/* SMTPUTF8 on MAIL */
	bool			 bdat;		/* BINARYMIME: BDAT, not DATA */
	bool			 mail_failed;
	enum deliver_result	 mail_res;
	char			 mail_dsn[SMTPC_ENH_MAX + 1];
	char			 mail_text[DELIVER_TEXT_MAX + 1];
	bool			 data_ok;	/* 354 to DATA */
	enum smtpc_io		 wio;		/* content writes */
	struct smtpc_reply	 rep;
	size_t			 blen;
	char			 batch[BATCH_MAX];
};

/* ---- results -------------------------------------------------------------- */

/* snprintf that may cut: for diagnostics, where a cut is fine. */
static void
sfmt(char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
sfmt(char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
}

void
smtp_set_rest(struct deliver_req *req, enum deliver_result res,
    const char *dsn, const char *relay, const char *fmt, ...)
{
	char text[DELIVER_TEXT_MAX + 1];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; i < req->nrcpt; i++)
		if (req->rcpts[i].result == DELIVER_NONE)
			deliver_set(&req->rcpts[i], res, dsn, relay, "%s",
			    text);
}

enum deliver_result
smtp_reply_result(const struct smtp_sess *s, const struct smtpc_reply *rep,
    const char *in_reply_to, char *dsn, char *text, size_t tsz)
{
	char fmt[DELIVER_TEXT_MAX + 1];

	smtpc_reply_format(rep, fmt, sizeof(fmt));
	smtpc_reply_dsn(rep, dsn);
	if (rep->code / 100 == 2) {
		sfmt(text, tsz, "%s", fmt);
		return DELIVER_SENT;
	}
	sfmt(text, tsz, "host %s said: %s (in reply to %s)", s->relay,
	    fmt, in_reply_to);
	return rep->code / 100 == 5 ? DELIVER_BOUNCED : DELIVER_DEFERRED;
}

static void
set_reply(struct tx *tx, struct deliver_rcpt *r, const char *in_reply_to)
{
	char dsn[SMTPC_ENH_MAX + 1], text[DELIVER_TEXT_MAX + 1];
	enum deliver_result res;

	res = smtp_reply_result(tx->s, &tx->rep, in_reply_to, dsn, text,
	    sizeof(text));
	deliver_set(r, res, dsn, tx->s->relay, "%s", text);
}

void
smtp_sess_close(struct smtp_sess *s)
{
	smtpc_close(&s->c);
	s->open = false;
}

void
smtp_io_why(const struct smtp_sess *s, enum smtpc_io io, const char *what,
    char *text, size_t tsz)
{
	switch (io) {
	case SMTPC_IO_TIMEOUT:
		sfmt(text, tsz, "conversation with %s timed out while %s",
		    s->relay, what);
		break;
	case SMTPC_IO_EOF:
		sfmt(text, tsz, "lost connection with %s while %s", s->relay,
		    what);
		break;
	default:
		sfmt(text, tsz, "error talking to %s while %s: %s", s->relay,
		    what, s->c.err);
		break;
	}
}

void
smtp_lost(struct smtp_sess *s, struct deliver_req *req, enum smtpc_io io,
    const char *what)
{
	char text[DELIVER_TEXT_MAX + 1];

	smtp_io_why(s, io, what, text, sizeof(text));
	smtp_set_rest(req, DELIVER_DEFERRED, "4.4.2", s->relay, "%s", text);
	smtp_sess_close(s);
}

/* A 421 (service closing): defer the rest with its text, end it. */
static void
closing(struct smtp_sess *s, struct deliver_req *req,
    const struct smtpc_reply *rep, const char *in_reply_to)
{
	char dsn[SMTPC_ENH_MAX + 1], text[DELIVER_TEXT_MAX + 1];

	(void)smtp_reply_result(s, rep, in_reply_to, dsn, text, sizeof(text));
	smtp_set_rest(req, DELIVER_DEFERRED, dsn, s->relay, "%s", text);
	smtp_sess_close(s);
}

/* ---- the session ---------------------------------------------------------- */

enum smtpc_io
smtp_command(struct smtp_sess *s, struct smtpc_reply *rep, const char *line,
    int timeout_ms)
{
	enum smtpc_io io;

	if ((io = smtpc_write(&s->c, line, strlen(line), timeout_ms)) !=
	    SMTPC_IO_OK)
		return io;
	return smtpc_read_reply(&s->c, rep, timeout_ms);
}

bool
smtp_sess_reuse(struct smtp_agent *a, struct deliver_req *req,
    struct smtpc_reply *rep)
{
	struct smtp_sess *s = &a->sess;

	/* The server may have closed it while we waited. */
	if (smtp_command(s, rep, "RSET\r\n", a->t.mail) == SMTPC_IO_OK &&
	    rep->code / 100 == 2)
		return true;
	log_info("%s: connection to %s not reusable, opening a new one",
	    req->queue_id, s->relay);
	smtp_sess_close(s);
	return false;
}

/* ---- checks before MAIL ----------------------------------------------------- */

static bool
has_8bit(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return true;
	return false;
}

static bool
str_8bit(const char *s)
{
	return has_8bit((const uint8_t *)s, strlen(s));
}

/*
 * What the message needs that the server may lack: SIZE, SMTPUTF8 and
 * BINARYMIME.  Sets results for the recipients that cannot go, and fills
 * tx->send with those that can.
 */
static void
tx_check(struct tx *tx)
{
	struct deliver_req *req = tx->req;
	const struct smtpc_ext *ext = &tx->s->ext;
	const char *relay = tx->s->relay;
	const uint8_t *hdr;
	size_t hlen, i;
	bool utf8 = (ext->flags & SMTPC_EXT_SMTPUTF8) != 0;

	if (ext->size > 0 && req->q.content_size > ext->size) {
		smtp_set_rest(req, DELIVER_BOUNCED, "5.3.4", relay,
		    "message size %llu exceeds size limit %llu of server %s",
		    (unsigned long long)req->q.content_size,
		    (unsigned long long)ext->size, relay);
		return;
	}
	if ((req->q.sender.flags & QFILE_BINARYMIME) &&
	    (ext->flags & (SMTPC_EXT_BINARYMIME | SMTPC_EXT_CHUNKING)) !=
	    (SMTPC_EXT_BINARYMIME | SMTPC_EXT_CHUNKING)) {
		smtp_set_rest(req, DELIVER_BOUNCED, "5.6.3", relay,
		    "message is BINARYMIME but server %s does not offer "
		    "BINARYMIME and CHUNKING", relay);
		return;
	}
	tx->bdat = (req->q.sender.flags & QFILE_BINARYMIME) != 0;
	hdr = deliver_header(req, &hlen);
	if (!utf8 && (req->q.sender.flags & QFILE_SMTPUTF8) &&
	    (str_8bit(req->sender) || has_8bit(hdr, hlen))) {
		smtp_set_rest(req, DELIVER_BOUNCED, "5.6.7", relay,
		    "SMTPUTF8 is required, but was not offered by host %s",
		    relay);
		return;
	}
	tx->smtputf8 = utf8 && (req->q.sender.flags & QFILE_SMTPUTF8);
	for (i = 0; i < req->nrcpt; i++) {
		if (req->rcpts[i].result != DELIVER_NONE)
			continue;
		if (!utf8 && str_8bit(req->rcpts[i].addr)) {
			deliver_set(&req->rcpts[i], DELIVER_BOUNCED, "5.6.7",
			    relay, "SMTPUTF8 is required, but was not "
			    "offered by host %s", relay);
			continue;
		}
		tx->send[tx->nsend++] = i;
	}
}

/* ---- MAIL, RCPT, DATA --------------------------------------------------------- */

static const char *
cmd_name(enum cmd c)
{
	return c == CMD_MAIL ? "MAIL FROM" : c == CMD_RCPT ? "RCPT TO" :
	    "DATA";
}

/* Command k: 0 is MAIL, 1..nsend the RCPTs, nsend + 1 DATA. */
static enum cmd
cmd_of(const struct tx *tx, size_t k)
{
	return k == 0 ? CMD_MAIL : k <= tx->nsend ? CMD_RCPT : CMD_DATA;
}

/* Format command k into the batch: 0, or -1 (the line cannot be made). */
static int
cmd_add(struct tx *tx, size_t k)
{
	struct deliver_req *req = tx->req;
	struct deliver_rcpt *r;
	struct smtpc_mail m;
	struct smtpc_rcpt rc;
	char line[SMTPC_CMD_MAX];
	ssize_t n;

	switch (cmd_of(tx, k)) {
	case CMD_MAIL:
		memset(&m, 0, sizeof(m));
		m.sender = req->sender;
		m.size = req->q.content_size;
		m.body = req->q.sender.flags & QFILE_8BITMIME ?
		    SMTPC_BODY_8BITMIME : req->q.sender.flags &
		    QFILE_BINARYMIME ? SMTPC_BODY_BINARYMIME :
		    SMTPC_BODY_NONE;
		m.smtputf8 = tx->smtputf8;
		m.ret = req->q.sender.ret;
		m.envid = req->q.sender.envid;
		n = smtpc_fmt_mail(line, sizeof(line), &m, &tx->s->ext);
		break;
	case CMD_RCPT:
		r = &req->rcpts[tx->send[k - 1]];
		rc.addr = r->addr;
		rc.notify = r->notify;
		rc.orcpt_type = r->orcpt_type;
		rc.orcpt = r->orcpt;
		n = smtpc_fmt_rcpt(line, sizeof(line), &rc, &tx->s->ext,
		    tx->smtputf8);
		break;
	default:
		n = (ssize_t)strlcpy(line, "DATA\r\n", sizeof(line));
		break;
	}
	if (n < 0)
		return -1;
	if ((size_t)n > sizeof(tx->batch) - tx->blen)
		bug("smtp: command batch overflow");
	memcpy(tx->batch + tx->blen, line, (size_t)n);
	tx->blen += (size_t)n;
	return 0;
}

static int
cmd_timeout(const struct tx *tx, enum cmd c)
{
	return c == CMD_MAIL ? tx->a->t.mail : c == CMD_RCPT ?
	    tx->a->t.rcpt : tx->a->t.data_init;
}

/*
 * Every recipient without a result gets what the current reply means
 * (a 2xx where none belongs counts as a temporary failure).
 */
static void
reply_rest(struct tx *tx, const char *in_reply_to)
{
	char dsn[SMTPC_ENH_MAX + 1], text[DELIVER_TEXT_MAX + 1];
	enum deliver_result res;

	res = smtp_reply_result(tx->s, &tx->rep, in_reply_to, dsn, text,
	    sizeof(text));
	if (res == DELIVER_SENT) {
		res = DELIVER_DEFERRED;
		strlcpy(dsn, "4.5.0", sizeof(dsn));
	}
	smtp_set_rest(tx->req, res, dsn, tx->s->relay, "%s", text);
}

/* The reply to command k, in tx->rep.  Returns -1 when the session ended. */
static int
cmd_reply(struct tx *tx, size_t k)
{
	struct deliver_req *req = tx->req;
	enum cmd c = cmd_of(tx, k);
	struct deliver_rcpt *r;
	char what[64];

	if (tx->rep.code == 421) {
		if (tx->mail_failed)
			smtp_set_rest(req, tx->mail_res, tx->mail_dsn,
			    tx->s->relay, "%s", tx->mail_text);
		sfmt(what, sizeof(what), "%s command", cmd_name(c));
		closing(tx->s, req, &tx->rep, what);
		return -1;
	}
	switch (c) {
	case CMD_MAIL:
		if (tx->rep.code / 100 == 2)
			break;
		tx->mail_failed = true;
		tx->mail_res = smtp_reply_result(tx->s, &tx->rep,
		    "MAIL FROM command", tx->mail_dsn, tx->mail_text,
		    sizeof(tx->mail_text));
		if (tx->mail_res == DELIVER_SENT) {
			tx->mail_res = DELIVER_DEFERRED;
			strlcpy(tx->mail_dsn, "4.5.0", sizeof(tx->mail_dsn));
		}
		break;
	case CMD_RCPT:
		if (tx->mail_failed)
			break;
		if (tx->rep.code / 100 == 2) {
			tx->accepted[k - 1] = true;
			tx->naccepted++;
			break;
		}
		r = &req->rcpts[tx->send[k - 1]];
		set_reply(tx, r, "RCPT TO command");
		break;
	case CMD_DATA:
		if (tx->mail_failed || tx->naccepted == 0) {
			if (tx->rep.code != 354)
				break;
			/* A go-ahead with nobody to deliver to: hang up. */
			if (tx->mail_failed)
				smtp_set_rest(req, tx->mail_res, tx->mail_dsn,
				    tx->s->relay, "%s", tx->mail_text);
			smtp_sess_close(tx->s);
			return -1;
		}
		if (tx->rep.code == 354) {
			tx->data_ok = true;
			break;
		}
		reply_rest(tx, "DATA command");
		break;
	}
	return 0;
}

/* Send what the batch holds.  0, or -1 when the session ended. */
static int
batch_flush(struct tx *tx, enum cmd c)
{
	enum smtpc_io io;
	char what[64];

	if (tx->blen == 0)
		return 0;
	io = smtpc_write(&tx->s->c, tx->batch, tx->blen, cmd_timeout(tx, c));
	tx->blen = 0;
	if (io == SMTPC_IO_OK)
		return 0;
	sfmt(what, sizeof(what), "sending %s", cmd_name(c));
	smtp_lost(tx->s, tx->req, io, what);
	return -1;
}

/*
 * MAIL, the RCPTs and (unless BDAT follows) DATA, with at most
 * PIPE_WINDOW commands ahead of their replies (1 without PIPELINING).
 * Returns 0, or -1 when the session ended.
 */
static int
tx_commands(struct tx *tx)
{
	size_t ncmd = 1 + tx->nsend + (tx->bdat ? 0 : 1);
	size_t window = tx->s->ext.flags & SMTPC_EXT_PIPELINING ?
	    PIPE_WINDOW : 1;
	size_t sent = 0, got = 0;
	enum smtpc_io io;
	enum cmd last = CMD_MAIL;
	char what[64];
	bool stop = false;

	while (got < ncmd) {
		while (!stop && sent < ncmd && sent - got < window &&
		    tx->blen + SMTPC_CMD_MAX <= sizeof(tx->batch)) {
			if (cmd_of(tx, sent) == CMD_DATA && sent == got &&
			    tx->naccepted == 0) {
				stop = true;	/* nobody to send DATA for */
				break;
			}
			if (cmd_add(tx, sent) == -1) {
				if (cmd_of(tx, sent) != CMD_RCPT) {
					smtp_set_rest(tx->req, DELIVER_BOUNCED,
					    "5.1.7", tx->s->relay, "bad "
					    "sender address: cannot be sent");
					stop = true;
					break;
				}
				deliver_set(&tx->req->rcpts[tx->send[sent -
				    1]], DELIVER_BOUNCED, "5.1.3",
				    tx->s->relay, "bad recipient address: "
				    "cannot be sent");
				/* Its reply slot: skip it altogether. */
				memmove(tx->send + sent - 1, tx->send + sent,
				    (tx->nsend - sent) * sizeof(*tx->send));
				tx->nsend--;
				ncmd--;
				continue;
			}
			last = cmd_of(tx, sent++);
		}
		if (batch_flush(tx, last) == -1)
			return -1;
		if (got == sent)
			break;
		io = smtpc_read_reply(&tx->s->c, &tx->rep,
		    cmd_timeout(tx, cmd_of(tx, got)));
		if (io != SMTPC_IO_OK) {
			if (tx->mail_failed)
				smtp_set_rest(tx->req, tx->mail_res, tx->mail_dsn,
				    tx->s->relay, "%s", tx->mail_text);
			sfmt(what, sizeof(what), "sending %s",
			    cmd_name(cmd_of(tx, got)));
			smtp_lost(tx->s, tx->req, io, what);
			return -1;
		}
		if (cmd_reply(tx, got++) == -1)
			return -1;
		if (tx->mail_failed)
			stop = true;
	}
	if (tx->mail_failed)
		smtp_set_rest(tx->req, tx->mail_res, tx->mail_dsn, tx->s->relay,
		    "%s", tx->mail_text);
	return 0;
}

/* ---- the content and the replies after it ------------------------------------ */

static int
content_flush(void *arg, const void *p, size_t n)
{
	struct tx *tx = arg;

	tx->wio = smtpc_write(&tx->s->c, p, n, tx->a->t.data_xfer);
	return tx->wio == SMTPC_IO_OK ? 0 : -1;
}

/*
 * The message, dot-stuffed after DATA, or counted after BDAT.  Returns
 * 0, or -1 when the session ended (every result without one set).
 */
static int
tx_content(struct tx *tx)
{
	struct mailbox_src src;
	struct smtpc_dot *dot;
	char line[64];
	uint8_t *buf;
	ssize_t n;
	int rc = 0;

	buf = xmalloc(MAILBOX_READ_MAX);
	dot = xmalloc(sizeof(*dot));
	smtpc_dot_init(dot, content_flush, tx);
	deliver_src(tx->req, &src, NULL, 0);
	tx->wio = SMTPC_IO_OK;
	if (tx->bdat) {
		snprintf(line, sizeof(line), "BDAT %llu LAST\r\n",
		    (unsigned long long)tx->req->q.content_size);
		(void)content_flush(tx, line, strlen(line));
	}
	while (tx->wio == SMTPC_IO_OK &&
	    (n = src.read(src.arg, buf, MAILBOX_READ_MAX)) != 0) {
		if (n < 0) {
			smtp_set_rest(tx->req, DELIVER_DEFERRED, "4.3.0",
			    tx->s->relay, "cannot read the queue file");
			smtp_sess_close(tx->s);
			rc = -1;
			goto out;
		}
		if (tx->bdat)
			(void)content_flush(tx, buf, (size_t)n);
		else
			(void)smtpc_dot_put(dot, buf, (size_t)n);
	}
	if (tx->wio == SMTPC_IO_OK && !tx->bdat)
		(void)smtpc_dot_end(dot);
	if (tx->wio != SMTPC_IO_OK) {
		smtp_lost(tx->s, tx->req, tx->wio, tx->bdat ? "sending BDAT" :
		    "sending message body");
		rc = -1;
	}
out:
	free(dot);
	free(buf);
	return rc;
}

/*
 * After the final dot: in LMTP one reply per accepted recipient, in RCPT
 * order (RFC 2033 4.2); in SMTP one reply for all of them.
 */
static void
tx_replies(struct tx *tx)
{
	struct deliver_rcpt *r;
	enum smtpc_io io = SMTPC_IO_OK;
	size_t k;
	bool read = true;
	const char *what = tx->bdat ? "end of BDAT" : "end of data";

	for (k = 0; k < tx->nsend; k++) {
		if (!tx->accepted[k])
			continue;
		r = &tx->req->rcpts[tx->send[k]];
		if (read)
			io = smtpc_read_reply(&tx->s->c, &tx->rep,
			    tx->a->t.data_done);
		if (read && io != SMTPC_IO_OK) {
			smtp_lost(tx->s, tx->req, io, tx->bdat ?
			    "receiving the replies to BDAT -- message may be "
			    "sent more than once" : "receiving the replies "
			    "after the end of data -- message may be sent "
			    "more than once");
			return;
		}
		read = tx->a->lmtp;
		set_reply(tx, r, what);
		if (tx->rep.code == 421)
			break;
	}
	if (tx->rep.code == 421)
		closing(tx->s, tx->req, &tx->rep, what);
}

/* ---- one request ---------------------------------------------------------------- */

void
smtp_tx_deliver(struct smtp_agent *a, struct deliver_req *req)
{
	struct tx *tx;

	tx = xcalloc(1, sizeof(*tx));
	tx->a = a;
	tx->s = &a->sess;
	tx->req = req;
	tx->send = xcalloc(req->nrcpt, sizeof(*tx->send));
	tx->accepted = xcalloc(req->nrcpt, sizeof(*tx->accepted));
	tx_check(tx);
	if (tx->nsend == 0)
		goto done;
	if (tx_commands(tx) == -1 || tx->naccepted == 0)
		goto done;
	if (!tx->bdat && !tx->data_ok)
		goto done;
	if (tx_content(tx) == -1)
		goto done;
	tx_replies(tx);
done:
	free(tx->send);
	free(tx->accepted);
	free(tx);
}
