/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_io.c -- replies: buffered for pipelining, sent when the client
 * has nothing more for us to read (RFC 2920).
 *
 * Process:  smtpd.
 * Failure:  a client that stops reading for smtpd_timeout loses its
 *           connection; smtpd_flush() says so with -1.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "conf.h"
#include "log.h"
#include "smtpd.h"

/*
 * Buffer one reply line.  Replies wait while the client has pipelined
 * more commands, so that it can keep writing without reading: neither
 * side then blocks on the other.
 */
static void
put(struct smtpd_session *s, int code, char sep, const char *enh,
    const char *text)
{
	if (s->out.len > SMTPD_OUT_MAX / 2)
		(void)smtpd_flush(s);
	if (buf_addf(&s->out, "%03d%c%s%s%s\r\n", code, sep, enh,
	    enh[0] != '\0' ? " " : "", text) == -1) {
		/* Past SMTPD_OUT_MAX even after a flush: the client is gone. */
		s->quit = true;
	}
}

void
smtpd_reply(struct smtpd_session *s, int code, const char *enh,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (code >= 400 && code != 421) {
		s->errors++;
		smtpd_error_delay(s);
	}
	put(s, code, ' ', enh, text);
}

void
smtpd_reply_more(struct smtpd_session *s, int code, const char *enh,
    const char *text)
{
	put(s, code, '-', enh, text);
}

void
smtpd_reply_line(struct smtpd_session *s, int code, const char *text,
    size_t len)
{
	if (s->out.len > SMTPD_OUT_MAX / 2)
		(void)smtpd_flush(s);
	if (buf_addf(&s->out, "%03d %.*s\r\n", code, (int)len, text) == -1)
		s->quit = true;
}

/* Past the soft limit every error reply waits, to slow down a prober. */
void
smtpd_error_delay(struct smtpd_session *s)
{
	struct timespec ts;

	if (s->errors <= s->soft_limit || s->error_sleep <= 0)
		return;
	(void)smtpd_flush(s);
	ts.tv_sec = (time_t)s->error_sleep;
	ts.tv_nsec = 0;
	nanosleep(&ts, NULL);
}

int
smtpd_flush(struct smtpd_session *s)
{
	struct pollfd pfd;
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < s->out.len) {
		pfd.fd = s->fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, s->timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_info("timeout sending to %s", s->ident);
			goto fail;
		}
		n = send(s->fd, s->out.data + off, s->out.len - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	buf_reset(&s->out);
	return 0;
fail:
	buf_reset(&s->out);
	s->quit = true;
	return -1;
}

int
smtpd_dial(const struct smtpd_session *s, const char *service)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
	    "%s/private/%s", conf_str(s->conf, "queue_directory"), service) >=
	    sizeof(sun.sun_path)) {
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
