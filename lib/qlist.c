/*
 * SPDX-License-Identifier: ISC
 *
 * qlist.c -- the queue listing (mailq, "ternctl queue list", showq) and
 * the client side of the showq protocol.
 *
 * Process:  ternctl, showq (mail_owner), terndrop (client side only).
 * Input:    queue files through lib/qfile (bounded by QLIST_ENVELOPE_MAX),
 *           defer/ID (bounded by QLIST_REASONS_MAX); showq's status line
 *           (bounded by QLIST_STATUS_MAX).  Untrusted text is escaped.
 * Failure:  a file that cannot be read is reported and skipped; the
 *           listing goes on.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "qfile.h"
#include "qid.h"
#include "qlist.h"
#include "xmem.h"

const char *const qlist_names[QLIST_NQUEUES] = {
	"incoming", "active", "deferred", "hold", "corrupt"
};
/* As mailq marks them: '*' active, '!' held; '#' corrupt. */
static const char qmarks[QLIST_NQUEUES] = { ' ', '*', ' ', '!', '#' };

struct lister {
	const struct qlist_dirs *d;
	FILE		*out, *err;
	const char	*prog;
	bool		 json;
	bool		 header_done;
	uint64_t	 bytes;
	uint64_t	 count;
	int		 rc;
	struct qfile	 q;
	struct qlist_reasons r;
};

/* ---- output of untrusted text ---------------------------------------- */

/* The length of the well-formed UTF-8 sequence at s (n > 0), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	return addr_utf8_char((const char *)s, n);
}

/* A C1 control character (U+0080..U+009F) in UTF-8. */
static bool
is_c1(const unsigned char *s, size_t len)
{
	return len == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/*
 * For a terminal: printable ASCII and well-formed UTF-8 as they are;
 * a backslash, control characters and bytes that are not UTF-8 as \xHH.
 */
void
qlist_put_text(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len, i;

	while (n > 0) {
		len = utf8_len(s, n);
		if (len == 1 && s[0] >= 0x20 && s[0] < 0x7f && s[0] != '\\')
			putc(s[0], f);
		else if (len > 1 && !is_c1(s, len))
			fwrite(s, 1, len, f);
		else {
			if (len == 0)
				len = 1;
			for (i = 0; i < len; i++)
				fprintf(f, "\\x%02x", s[i]);
		}
		s += len;
		n -= len;
	}
}

/*
 * A JSON string (RFC 8259): quotes, backslashes and control characters
 * escaped; well-formed UTF-8 kept; a byte that is not UTF-8 becomes
 * U+FFFD, so that the output is always valid JSON.
 */
void
qlist_put_json(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), len;

	putc('"', f);
	while (n > 0) {
		len = utf8_len(s, n);
		if (len == 0) {
			fputs("\\ufffd", f);
			len = 1;
		} else if (s[0] == '"' || s[0] == '\\')
			fprintf(f, "\\%c", s[0]);
		else if (s[0] == '\n')
			fputs("\\n", f);
		else if (s[0] == '\r')
			fputs("\\r", f);
		else if (s[0] == '\t')
			fputs("\\t", f);
		else if (len == 1 && (s[0] < 0x20 || s[0] == 0x7f))
			fprintf(f, "\\u%04x", s[0]);
		else if (is_c1(s, len))
			fprintf(f, "\\u%04x", s[1]);
		else
			fwrite(s, 1, len, f);
		s += len;
		n -= len;
	}
	putc('"', f);
}

void
qlist_fmt_time(char *buf, size_t sz, int64_t sec, bool year)
{
	struct tm tm;
	time_t t = (time_t)sec;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, year ? "%a %b %e %H:%M:%S %Y %z" :
	    "%a %b %e %H:%M:%S", &tm) == 0)
		snprintf(buf, sz, "%lld", (long long)sec);
}

/* ---- the listing ----------------------------------------------------- */

static void __attribute__((format(printf, 2, 3)))
warn(struct lister *l, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->err != NULL)
		fprintf(l->err, "%s: %s\n", l->prog, msg);
	else
		log_warnx("%s", msg);
	l->rc = 1;
}

static void
parse_reason_line(char *line, struct qlist_reason *rs, size_t n)
{
	char *f[5], *end;
	unsigned long idx;
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = line;
		if (i < 4) {
			if ((line = strchr(line, '\t')) == NULL)
				return;
			*line++ = '\0';
		}
	}
	errno = 0;
	idx = strtoul(f[0], &end, 10);
	if (errno != 0 || end == f[0] || *end != '\0' || idx >= n ||
	    strcmp(f[1], "delayed") != 0)
		return;
	/* The last line for a recipient wins: qmgr appends. */
	rs[idx].dsn = f[2];
	rs[idx].relay = f[3];
	rs[idx].text = f[4];
}

/*
 * The last deferral reason of each recipient, from defer/ID ("index TAB
 * delayed TAB dsn TAB relay TAB text" lines, qmgr_queue.c).
 */
void
qlist_reasons_read(struct qlist_reasons *r, int defer_fd, const char *id,
    size_t nrcpt)
{
	struct stat st;
	char *p, *nl;
	size_t len = 0, cap;
	ssize_t n;
	int fd;

	if (nrcpt > r->cap) {
		r->rs = xreallocarray(r->rs, nrcpt, sizeof(*r->rs));
		r->cap = nrcpt;
	}
	if (nrcpt > 0)
		memset(r->rs, 0, nrcpt * sizeof(*r->rs));
	free(r->data);
	r->data = NULL;
	fd = openat(defer_fd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		close(fd);
		return;
	}
	cap = st.st_size > QLIST_REASONS_MAX ? QLIST_REASONS_MAX :
	    (size_t)st.st_size;
	r->data = xmalloc(cap + 1);
	while (len < cap && (n = read(fd, r->data + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	r->data[len] = '\0';
	for (p = r->data; (nl = memchr(p, '\n', len - (size_t)(p -
	    r->data))) != NULL; p = nl + 1) {
		*nl = '\0';
		parse_reason_line(p, r->rs, nrcpt);
	}
}

void
qlist_reasons_free(struct qlist_reasons *r)
{
	free(r->data);
	free(r->rs);
	memset(r, 0, sizeof(*r));
}

static void
list_header(struct lister *l)
{
	if (l->header_done || l->json)
		return;
	fprintf(l->out, "%-25s %8s %-19s  %s\n", "-Queue ID-", "--Size--",
	    "---Arrival Time----", "-Sender/Recipient-------");
	l->header_done = true;
}

#define RCPT_COL	56	/* where the sender and recipients start */

static void
list_text(struct lister *l, enum qlist_queue qi, const char *id)
{
	const struct qfile *q = &l->q;
	const char *last = NULL, *why;
	char when[64];
	size_t i;

	list_header(l);
	qlist_fmt_time(when, sizeof(when), q->arrival_sec, false);
	fprintf(l->out, "%-24s%c %8llu %-19s  ", id, qmarks[qi],
	    (unsigned long long)q->content_size, when);
	if (q->sender.addr[0] == '\0')
		fputs("MAILER-DAEMON", l->out);
	else
		qlist_put_text(l->out, q->sender.addr);
	putc('\n', l->out);
	for (i = 0; i < q->nrcpt; i++) {
		if (q->rcpts[i].status != QFILE_RS_PENDING)
			continue;
		why = l->r.data != NULL ? l->r.rs[i].text : NULL;
		if (why != NULL && (last == NULL || strcmp(why, last) != 0)) {
			putc('(', l->out);
			qlist_put_text(l->out, why);
			fputs(")\n", l->out);
			last = why;
		}
		fprintf(l->out, "%*s", RCPT_COL, "");
		qlist_put_text(l->out, q->rcpts[i].addr);
		putc('\n', l->out);
	}
	putc('\n', l->out);
}

static void
list_json(struct lister *l, enum qlist_queue qi, const char *id)
{
	const struct qfile *q = &l->q;
	const char *why;
	size_t i, n = 0;

	fprintf(l->out, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", "
	    "\"arrival_time\": %lld, \"message_size\": %llu, \"sender\": ",
	    qlist_names[qi], id, (long long)q->arrival_sec,
	    (unsigned long long)q->content_size);
	qlist_put_json(l->out, q->sender.addr);
	fputs(", \"recipients\": [", l->out);
	for (i = 0; i < q->nrcpt; i++) {
		if (q->rcpts[i].status != QFILE_RS_PENDING)
			continue;
		fputs(n++ > 0 ? ", {\"address\": " : "{\"address\": ", l->out);
		qlist_put_json(l->out, q->rcpts[i].addr);
		why = l->r.data != NULL ? l->r.rs[i].text : NULL;
		if (why != NULL) {
			fputs(", \"delay_reason\": ", l->out);
			qlist_put_json(l->out, why);
		}
		putc('}', l->out);
	}
	fputs("]}\n", l->out);
}

/* A file that does not parse: listed as such, never skipped. */
static void
list_corrupt(struct lister *l, enum qlist_queue qi, const char *id,
    const struct stat *st, const char *why)
{
	struct timespec ts;
	char when[64];

	if (qid_time(id, &ts) == -1)
		ts.tv_sec = st->st_mtime;
	l->count++;
	l->bytes += (uint64_t)st->st_size;
	if (l->json) {
		fprintf(l->out, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", "
		    "\"arrival_time\": %lld, \"message_size\": %lld, "
		    "\"sender\": \"\", \"recipients\": [], \"corrupt\": true, "
		    "\"reason\": ", qlist_names[qi], id, (long long)ts.tv_sec,
		    (long long)st->st_size);
		qlist_put_json(l->out, why);
		fputs("}\n", l->out);
		return;
	}
	list_header(l);
	qlist_fmt_time(when, sizeof(when), ts.tv_sec, false);
	fprintf(l->out, "%-24s%c %8lld %-19s  (corrupt queue file: %s)\n\n", id, '#',
	    (long long)st->st_size, when, why);
}

/* One file; vanished ones are skipped without a word. */
static void
list_one(struct lister *l, enum qlist_queue qi, const char *id)
{
	struct stat st;
	const char *err;
	int fd;

	fd = openat(l->d->dirs[qi], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno != ENOENT) {
			warn(l, "%s/%s/%s: %s", l->d->qdir,
			    qlist_names[qi], id, strerror(errno));
			l->rc = 1;
		}
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (qfile_read_envelope(fd, QLIST_ENVELOPE_MAX, &l->q, &err) == -1) {
		close(fd);
		if (errno == EBADMSG || errno == EFBIG)
			list_corrupt(l, qi, id, &st, err);
		else {
			warn(l, "%s/%s/%s: %s", l->d->qdir,
			    qlist_names[qi], id, err);
			l->rc = 1;
		}
		return;
	}
	close(fd);
	if (qi == QLIST_CORRUPT) {
		list_corrupt(l, qi, id, &st, "moved to corrupt/");
		return;
	}
	free(l->r.data);
	l->r.data = NULL;
	if (qi == QLIST_DEFERRED || qi == QLIST_HOLD)
		qlist_reasons_read(&l->r, l->d->defer_fd, id, l->q.nrcpt);
	l->count++;
	l->bytes += l->q.content_size;
	if (l->json)
		list_json(l, qi, id);
	else
		list_text(l, qi, id);
}

/* Every queue file of one queue, as readdir gives them. */
static void
list_queue(struct lister *l, enum qlist_queue qi)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = openat(l->d->dirs[qi], ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		warn(l, "%s/%s: %s", l->d->qdir,
		    qlist_names[qi], strerror(errno));
		if (fd != -1)
			close(fd);
		l->rc = 1;
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (qid_valid(de->d_name, strlen(de->d_name)))
			list_one(l, qi, de->d_name);
	closedir(d);
}

int
qlist_write(const struct qlist_dirs *d, bool json, FILE *out, FILE *err,
    const char *prog)
{
	struct lister l;
	int i;

	memset(&l, 0, sizeof(l));
	l.d = d;
	l.json = json;
	l.out = out;
	l.err = err;
	l.prog = prog;
	qfile_init(&l.q);
	for (i = 0; i < QLIST_NQUEUES; i++)
		list_queue(&l, (enum qlist_queue)i);
	qfile_clear(&l.q);
	qlist_reasons_free(&l.r);
	if (!json) {
		if (l.count == 0)
			fprintf(out, "Mail queue is empty\n");
		else
			fprintf(out, "-- %llu Kbytes in %llu Request%s.\n",
			    (unsigned long long)((l.bytes + 1023) / 1024),
			    (unsigned long long)l.count,
			    l.count == 1 ? "" : "s");
	}
	if (fflush(out) == EOF || ferror(out))
		return -1;
	return l.rc;
}

/* ---- the showq protocol ---------------------------------------------- */

int
qlist_request(const char *buf, size_t len)
{
	if (len == strlen(QLIST_REQ_JSON) &&
	    memcmp(buf, QLIST_REQ_JSON, len) == 0)
		return 1;
	if (len == strlen(QLIST_REQ_TEXT) &&
	    memcmp(buf, QLIST_REQ_TEXT, len) == 0)
		return 0;
	return -1;
}

/* Up to sz bytes, waiting at most QLIST_TIMEOUT_MS; as read(2). */
static ssize_t
read_wait(int fd, void *buf, size_t sz)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	for (;;) {
		r = poll(&pfd, 1, QLIST_TIMEOUT_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = read(fd, buf, sz);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return n;
	}
}

/* The status line, byte by byte (nothing after it is read here). */
static int
read_status(int fd, char *line, size_t sz)
{
	size_t len = 0;
	ssize_t n;
	char c;

	while (len + 1 < sz) {
		if ((n = read_wait(fd, &c, 1)) <= 0)
			return n == 0 ? 0 : -1;
		if (c == '\n') {
			line[len] = '\0';
			return 1;
		}
		line[len++] = c;
	}
	errno = EMSGSIZE;
	return -1;
}

int
qlist_ask(int fd, bool json, FILE *out, char *errbuf, size_t errsz,
    const char **err_r)
{
	const char *req = json ? QLIST_REQ_JSON : QLIST_REQ_TEXT;
	char line[QLIST_STATUS_MAX], buf[8192];
	ssize_t n;
	int r;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		snprintf(errbuf, errsz, "cannot send the request to showq: "
		    "%s", strerror(errno));
		*err_r = errbuf;
		return -1;
	}
	if ((r = read_status(fd, line, sizeof(line))) <= 0) {
		snprintf(errbuf, errsz, "no answer from showq: %s",
		    r == 0 ? "connection closed" : strerror(errno));
		*err_r = errbuf;
		return -1;
	}
	if (strncmp(line, "error ", 6) == 0) {
		/* showq's own words; escaped all the same. */
		snprintf(errbuf, errsz, "%s", line + 6);
		for (char *p = errbuf; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		*err_r = errbuf;
		return -1;
	}
	if (strcmp(line, "ok") != 0) {
		*err_r = "showq answered something that is not its protocol";
		return -1;
	}
	while ((n = read_wait(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			break;
	if (n == -1) {
		snprintf(errbuf, errsz, "reading from showq: %s",
		    strerror(errno));
		*err_r = errbuf;
		return -1;
	}
	if (fflush(out) == EOF || ferror(out)) {
		snprintf(errbuf, errsz, "standard output: %s",
		    strerror(errno));
		*err_r = errbuf;
		return -1;
	}
	return 0;
}
