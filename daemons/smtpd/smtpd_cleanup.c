/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_cleanup.c -- hand a message to cleanup (docs/ipc.md): envelope
 * first, then the content in chunks, then wait for the queue ID.
 *
 * Process:  smtpd.
 * Input:    replies from cleanup (trusted service, still parsed with
 *           attr.h's limits).
 * Failure:  any IPC problem fails this message only (451 4.3.0).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "attr.h"
#include "conf.h"
#include "log.h"
#include "smtpd.h"

static const char *const bodies[] = { "", "7BIT", "8BITMIME", "BINARYMIME" };
static const char *const rets[] = { "", "FULL", "HDRS" };

static int
send_msg(struct smtpd_session *s, struct buf *out, const char **err_r)
{
	int r;

	r = attr_write(s->cleanup, out, s->ipc_timeout_ms, err_r);
	buf_clear(out);
	return r;
}

static int
put_envelope(struct smtpd_session *s, struct buf *out)
{
	char sender[ADDR_PATH_MAX + 1];

	addr_format(&s->sender, sender, sizeof(sender));
	attr_out_init(out);
	if (attr_put_str(out, "request", "begin") == -1 ||
	    attr_put_str(out, "proto", "cleanup/1") == -1 ||
	    attr_put_str(out, "client_name", strcmp(s->name, "unknown") == 0 ?
	    "" : s->name) == -1 ||
	    attr_put_str(out, "client_addr", s->addr) == -1 ||
	    attr_put_str(out, "client_port", s->port) == -1 ||
	    attr_put_str(out, "helo", s->helo) == -1 ||
	    attr_put_str(out, "protocol", smtpd_proto(s)) == -1 ||
	    attr_put_str(out, "sender", sender) == -1 ||
	    attr_put_int(out, "smtputf8", s->smtputf8) == -1 ||
	    attr_put_str(out, "body", bodies[s->body]) == -1 ||
	    attr_put_str(out, "ret", rets[s->ret]) == -1 ||
	    attr_put_str(out, "envid", s->envid) == -1 ||
	    attr_put_int(out, "size", (int64_t)s->declared_size) == -1 ||
	    attr_put_int(out, "nrcpt", (int64_t)s->nrcpt) == -1 ||
	    attr_put_str(out, "tls_proto", s->tls ? s->tls_proto : "") == -1 ||
	    attr_put_str(out, "tls_cipher", s->tls ? s->tls_cipher : "") == -1)
		return -1;
	return 0;
}

static int
put_rcpt(const struct smtpd_rcpt *r, struct buf *out)
{
	char addr[ADDR_PATH_MAX + 1];

	addr_format(&r->addr, addr, sizeof(addr));
	attr_out_init(out);
	if (attr_put_str(out, "request", "rcpt") == -1 ||
	    attr_put_str(out, "addr", addr) == -1 ||
	    attr_put_int(out, "notify", r->notify) == -1 ||
	    attr_put_str(out, "orcpt_type", r->orcpt_type) == -1 ||
	    attr_put_str(out, "orcpt", r->orcpt) == -1)
		return -1;
	return 0;
}

/* Read cleanup's answer: 0 with the queue ID, or -1 with a reply. */
static int
answer(struct smtpd_session *s, int *code_r, char *enh, size_t enhsz,
    char *text, size_t textsz)
{
	struct attr_msg msg;
	char status[16];
	const char *err;
	int64_t code = 451;
	int r = -1;

	*code_r = 451;
	strlcpy(enh, "4.3.0", enhsz);
	strlcpy(text, "Error: queue file write error", textsz);
	attr_msg_init(&msg);
	if (attr_read(s->cleanup, &msg, s->ipc_timeout_ms, &err) == -1) {
		log_warnx("cleanup: %s", err);
		goto done;
	}
	if (attr_get_str(&msg, "status", status, sizeof(status)) == -1)
		goto done;
	if (strcmp(status, "ok") == 0) {
		if (attr_get_str(&msg, "queue_id", s->qid, sizeof(s->qid)) == 0)
			r = 0;
		goto done;
	}
	/* cleanup chose the reply: pass it on if it is a sane one. */
	if (attr_get_int(&msg, "code", &code) == 0 && code >= 400 &&
	    code < 600 && attr_get_str(&msg, "enh", enh, enhsz) == 0 &&
	    attr_get_str(&msg, "text", text, textsz) == 0)
		*code_r = (int)code;
	else {
		strlcpy(enh, "4.3.0", enhsz);
		strlcpy(text, "Error: queue file write error", textsz);
	}
done:
	attr_msg_clear(&msg);
	return r;
}

int
smtpd_cleanup_begin(struct smtpd_session *s, int *code_r, char *enh,
    size_t enhsz, char *text, size_t textsz)
{
	const char *why = NULL;
	struct buf out;
	size_t i;

	*code_r = 451;
	strlcpy(enh, "4.3.0", enhsz);
	strlcpy(text, "Error: queue file write error", textsz);
	s->ipc_timeout_ms = (int)(conf_time(s->conf, "ipc_timeout") * 1000);
	if ((s->cleanup = smtpd_dial(s, "cleanup")) == -1) {
		log_warnx("cannot hand a message from %s to cleanup: %s",
		    s->ident, strerror(errno));
		return -1;
	}
	if (put_envelope(s, &out) == -1) {
		why = "envelope too large";
		buf_clear(&out);
		goto fail;
	}
	if (send_msg(s, &out, &why) == -1)
		goto fail;
	for (i = 0; i < s->nrcpt; i++) {
		if (put_rcpt(&s->rcpts[i], &out) == -1) {
			why = "recipient too large";
			buf_clear(&out);
			goto fail;
		}
		if (send_msg(s, &out, &why) == -1)
			goto fail;
	}
	/* cleanup's refusal (a full disk: 452 4.3.1) goes to the client. */
	if (answer(s, code_r, enh, enhsz, text, textsz) == -1) {
		smtpd_cleanup_abort(s);
		return -1;
	}
	buf_init(&s->chunk, SMTPD_CHUNK_MAX);
	if (s->sasl_user[0] != '\0')
		log_info("%s: client=%s, sasl_method=%s, sasl_username=%s",
		    s->qid, s->ident, s->sasl_method, s->sasl_user);
	else
		log_info("%s: client=%s", s->qid, s->ident);
	return 0;
fail:
	log_warnx("cannot hand a message from %s to cleanup: %s", s->ident,
	    why ? why : "error");
	smtpd_cleanup_abort(s);
	return -1;
}

static int
send_chunk(struct smtpd_session *s)
{
	const char *err;
	struct buf out;

	if (s->chunk.len == 0)
		return 0;
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "data") == -1 ||
	    attr_put_data(&out, "bytes", s->chunk.data, s->chunk.len) == -1) {
		buf_clear(&out);
		return -1;
	}
	buf_reset(&s->chunk);
	if (send_msg(s, &out, &err) == -1) {
		log_warnx("%s: cleanup: %s", s->qid, err);
		return -1;
	}
	return 0;
}

int
smtpd_cleanup_write(struct smtpd_session *s, const void *p, size_t n)
{
	const char *c = p;
	size_t room;

	if (s->cleanup == -1)
		return -1;
	while (n > 0) {
		room = SMTPD_CHUNK_MAX - s->chunk.len;
		if (room == 0) {
			if (send_chunk(s) == -1)
				return -1;
			continue;
		}
		if (room > n)
			room = n;
		if (buf_add(&s->chunk, c, room) == -1)
			bug("smtpd: chunk buffer");
		c += room;
		n -= room;
	}
	return 0;
}

int
smtpd_cleanup_end(struct smtpd_session *s, int *code_r, char *enh,
    size_t enhsz, char *text, size_t textsz)
{
	const char *err;
	struct buf out;
	int r;

	*code_r = 451;
	strlcpy(enh, "4.3.0", enhsz);
	strlcpy(text, "Error: queue file write error", textsz);
	if (s->cleanup == -1 || send_chunk(s) == -1)
		goto fail;
	attr_out_init(&out);
	if (attr_put_str(&out, "request", "end") == -1 ||
	    attr_put_int(&out, "size", (int64_t)s->size) == -1) {
		buf_clear(&out);
		goto fail;
	}
	if (send_msg(s, &out, &err) == -1) {
		log_warnx("%s: cleanup: %s", s->qid, err);
		goto fail;
	}
	r = answer(s, code_r, enh, enhsz, text, textsz);
	close(s->cleanup);
	s->cleanup = -1;
	buf_clear(&s->chunk);
	return r;
fail:
	smtpd_cleanup_abort(s);
	return -1;
}

void
smtpd_cleanup_abort(struct smtpd_session *s)
{
	/* Closing before "end" tells cleanup to drop the message. */
	if (s->cleanup != -1) {
		close(s->cleanup);
		s->cleanup = -1;
	}
	buf_clear(&s->chunk);
}
