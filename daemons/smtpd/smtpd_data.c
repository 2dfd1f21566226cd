/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_data.c -- message content: DATA (dot-stuffed lines) and BDAT
 * (counted chunks, RFC 3030), streamed to cleanup.
 *
 * Process:  smtpd.
 * Input:    untrusted content.  Only <CRLF>.<CRLF> ends DATA: a bare LF or
 *           CR never does, so one message can never be read as two (SMTP
 *           smuggling); by default a bare LF or CR rejects the message.
 * Failure:  whatever goes wrong, the rest of the content is read and
 *           dropped, cleanup is told to forget the message, and the
 *           client gets one reply; a lost client loses only this message.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "smtpd.h"

struct content {
	bool	 bare;		/* a bare LF or CR was seen */
	bool	 too_big;
	bool	 ipc_failed;
};

/* Pass content on unless something already failed. */
static void
emit(struct smtpd_session *s, struct content *ct, const void *p, size_t n)
{
	if (ct->too_big || ct->ipc_failed || n == 0)
		return;
	if (s->size_limit > 0 && s->size + n > s->size_limit) {
		ct->too_big = true;
		return;
	}
	s->size += n;
	if (smtpd_cleanup_write(s, p, n) == -1)
		ct->ipc_failed = true;
}

/* A piece of a line, with bare CRs found (and, normalizing, replaced). */
static void
emit_piece(struct smtpd_session *s, struct content *ct, const char *p,
    size_t n)
{
	const char *cr;

	while ((cr = memchr(p, '\r', n)) != NULL) {
		ct->bare = true;
		emit(s, ct, p, (size_t)(cr - p));
		emit(s, ct, "\r\n", 2);
		n -= (size_t)(cr - p) + 1;
		p = cr + 1;
	}
	emit(s, ct, p, n);
}

/* The reply for a finished message, and the log line. */
static void
finish(struct smtpd_session *s, struct content *ct, const char *cmd)
{
	char enh[16], text[256], from[ADDR_PATH_MAX + 1], sf[1100];
	int code;

	if (ct->bare && s->reject_bare_newline) {
		smtpd_cleanup_abort(s);
		log_info("%s: reject: %s from %s: bare <CR> or <LF> in message "
		    "content", s->qid[0] ? s->qid : "NOQUEUE", cmd, s->ident);
		smtpd_reply(s, 550, "5.5.2", "Error: bare <CR> or <LF> in "
		    "message content");
	} else if (ct->too_big) {
		smtpd_cleanup_abort(s);
		log_info("%s: reject: %s from %s: message too big",
		    s->qid[0] ? s->qid : "NOQUEUE", cmd, s->ident);
		smtpd_reply(s, 552, "5.3.4", "Error: message file too big");
	} else if (ct->ipc_failed) {
		smtpd_cleanup_abort(s);
		smtpd_reply(s, 451, "4.3.0", "Error: queue file write error");
	} else if (smtpd_cleanup_end(s, &code, enh, sizeof(enh), text,
	    sizeof(text)) == -1) {
		smtpd_reply(s, code, enh, "%s", text);
	} else {
		addr_format(&s->sender, from, sizeof(from));
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu, queued", s->qid,
		    log_safe(sf, sizeof(sf), from, strlen(from)),
		    (unsigned long long)s->size, s->nrcpt);
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", s->qid);
	}
	smtpd_txn_reset(s);
}

/* DATA and BDAT share these order checks. */
static int
ready_for_content(struct smtpd_session *s, bool bdat)
{
	if (smtpd_need_tls(s))
		return -1;
	if (!s->in_mail) {
		smtpd_reply(s, 503, "5.5.1", "Error: need MAIL command");
		return -1;
	}
	if (s->nrcpt == 0) {
		smtpd_reply(s, 554, "5.5.1", "Error: no valid recipients");
		return -1;
	}
	if (!bdat && s->bdat) {
		smtpd_reply(s, 503, "5.5.1", "Error: DATA after BDAT");
		return -1;
	}
	return 0;
}

static int
begin(struct smtpd_session *s)
{
	char enh[16], text[256];
	int code;

	if (s->cleanup != -1)
		return 0;
	if (smtpd_cleanup_begin(s, &code, enh, sizeof(enh), text,
	    sizeof(text)) == -1) {
		smtpd_reply(s, code, enh, "%s", text);
		smtpd_txn_reset(s);
		return -1;
	}
	return 0;
}

/* The client went away or stalled in the middle of content. */
static void
lost(struct smtpd_session *s, enum lineio_result r, const char *cmd)
{
	smtpd_cleanup_abort(s);
	if (r == LINEIO_TIMEOUT) {
		log_info("timeout after %s from %s", cmd, s->ident);
		smtpd_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		    conf_str(s->conf, "myhostname"));
	} else
		log_info("lost connection after %s from %s", cmd, s->ident);
	s->quit = true;
}

void
smtpd_cmd_data(struct smtpd_session *s)
{
	struct content ct = { false, false, false };
	enum lineio_result r;
	enum lineio_end end;
	const char *p;
	size_t n;
	bool line_start = true, prev_crlf = true;

	if (ready_for_content(s, false) == -1 || begin(s) == -1)
		return;
	smtpd_reply(s, 354, "", "End data with <CR><LF>.<CR><LF>");
	if (smtpd_flush(s) == -1) {
		smtpd_cleanup_abort(s);
		return;
	}
	for (;;) {
		if ((r = lineio_read_part(&s->in, &p, &n, &end)) != LINEIO_OK) {
			lost(s, r, "DATA");
			return;
		}
		if (line_start && n == 1 && p[0] == '.' &&
		    end == LINEIO_END_CRLF && prev_crlf)
			break;
		/*
		 * RFC 5321 4.5.2: the first of a line's leading dots goes;
		 * not before a bare CR, which normalizing ends the line at.
		 */
		if (line_start && n > 1 && p[0] == '.' && p[1] != '\r') {
			p++;
			n--;
		}
		emit_piece(s, &ct, p, n);
		if (end == LINEIO_END_LF)
			ct.bare = true;
		if (end != LINEIO_END_NONE)
			emit(s, &ct, "\r\n", 2);
		line_start = end != LINEIO_END_NONE;
		if (line_start)
			prev_crlf = end == LINEIO_END_CRLF;
	}
	finish(s, &ct, "DATA");
}

void
smtpd_cmd_bdat(struct smtpd_session *s, const struct smtpcmd *c)
{
	struct content ct = { false, false, false };
	enum lineio_result r;
	uint64_t left = c->chunk_size;
	const char *p;
	size_t n;
	bool ok;

	/* The chunk follows whatever we answer: read it in any case. */
	ok = ready_for_content(s, true) == 0 && (s->bdat || begin(s) == 0);
	if (ok)
		s->bdat = true;
	while (left > 0) {
		r = lineio_read_raw(&s->in, left > SMTPD_CHUNK_MAX ?
		    SMTPD_CHUNK_MAX : (size_t)left, &p, &n);
		if (r != LINEIO_OK) {
			lost(s, r, "BDAT");
			return;
		}
		left -= n;
		if (ok)
			emit(s, &ct, p, n);
	}
	if (!ok)
		return;
	if (ct.too_big || ct.ipc_failed) {
		finish(s, &ct, "BDAT");
		return;
	}
	if (c->last) {
		finish(s, &ct, "BDAT");
		return;
	}
	smtpd_reply(s, 250, "2.0.0", "Ok: %llu octets received",
	    (unsigned long long)c->chunk_size);
}
