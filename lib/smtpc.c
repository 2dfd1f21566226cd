/*
 * SPDX-License-Identifier: ISC
 *
 * smtpc.c -- the client side of SMTP and LMTP: replies, keywords,
 * commands, next hops, dot-stuffing, and a blocking connection.
 *
 * Process:  smtp / lmtp delivery agents (mail_owner, no keys).
 * Input:    server replies (untrusted), capped per line and per reply.
 * Failure:  parsers return an error and a static reason; the connection
 *           functions return an smtpc_io code with c->err filled in.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ascii.h"
#include "hostname.h"
#include "qfile.h"
#include "smtpc.h"

/* ---- replies ------------------------------------------------------------ */

void
smtpc_reply_init(struct smtpc_reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	r->len = 0;
	r->text[0] = '\0';
}

/* "c.s.d" of 1..3 digits each after the class, then SP or the end. */
static size_t
enh_len(const char *s, size_t n)
{
	size_t i = 0, k, part;

	if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (k = 0; i < n && ascii_isdigit(s[i]) && k < 4; i++)
			k++;
		if (k < 1 || k > 3)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

enum smtpc_parse
smtpc_reply_line(struct smtpc_reply *r, const char *line, size_t len,
    const char **err_r)
{
	const char *t;
	size_t tlen, i, e;
	int code;
	bool last;

	if (len < 3 || !ascii_isdigit(line[0]) || !ascii_isdigit(line[1]) ||
	    !ascii_isdigit(line[2])) {
		*err_r = "reply line without a three-digit code";
		return SMTPC_ERR;
	}
	if (line[0] < '2' || line[0] > '5' || line[1] > '5') {
		*err_r = "reply code out of range";
		return SMTPC_ERR;
	}
	if (len > 3 && line[3] != '-' && line[3] != ' ') {
		*err_r = "reply code not followed by a space or a hyphen";
		return SMTPC_ERR;
	}
	if (len > SMTPC_LINE_MAX) {
		*err_r = "reply line too long";
		return SMTPC_ERR;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->nlines > 0 && code != r->code) {
		*err_r = "reply lines with different codes";
		return SMTPC_ERR;
	}
	if (r->nlines >= SMTPC_REPLY_LINES) {
		*err_r = "reply with too many lines";
		return SMTPC_ERR;
	}
	last = len == 3 || line[3] == ' ';
	t = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (r->len + (r->nlines > 0) + tlen > SMTPC_REPLY_MAX) {
		*err_r = "reply too long";
		return SMTPC_ERR;
	}
	if (r->nlines == 0) {
		r->code = code;
		e = enh_len(t, tlen);
		if (e > 0 && e <= SMTPC_ENH_MAX && t[0] == line[0]) {
			memcpy(r->enh, t, e);
			r->enh[e] = '\0';
		}
	} else
		r->text[r->len++] = '\n';
	for (i = 0; i < tlen; i++) {
		unsigned char ch = (unsigned char)t[i];

		r->text[r->len++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	r->text[r->len] = '\0';
	r->nlines++;
	return last ? SMTPC_DONE : SMTPC_MORE;
}

const char *
smtpc_reply_format(const struct smtpc_reply *r, char *buf, size_t sz)
{
	const char *p = r->text, *end = r->text + r->len, *nl;
	size_t o, n, elen = strlen(r->enh);
	bool first = true;

	o = (size_t)snprintf(buf, sz, "%03d", r->code);
	if (o >= sz)
		return buf;
	while (p <= end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		n = (size_t)(nl - p);
		/* A later line repeating the enhanced code: drop it. */
		if (!first && elen > 0 && n >= elen &&
		    memcmp(p, r->enh, elen) == 0 &&
		    (n == elen || p[elen] == ' ')) {
			p += elen;
			n -= elen;
			if (n > 0) {
				p++;
				n--;
			}
		}
		if (n > 0 && o + 1 < sz) {
			buf[o++] = ' ';
			if (n > sz - 1 - o)
				n = sz - 1 - o;
			memcpy(buf + o, p, n);
			o += n;
		}
		buf[o] = '\0';
		first = false;
		p = nl + 1;
	}
	return buf;
}

const char *
smtpc_reply_dsn(const struct smtpc_reply *r, char *buf)
{
	if (r->enh[0] != '\0')
		memcpy(buf, r->enh, strlen(r->enh) + 1);
	else {
		buf[0] = r->code >= 200 && r->code < 600 ?
		    (char)('0' + r->code / 100) : '4';
		if (buf[0] == '3')
			buf[0] = '2';
		memcpy(buf + 1, ".0.0", 5);
	}
	return buf;
}

/* ---- keywords ------------------------------------------------------------ */

static const struct {
	const char	*name;
	unsigned	 flag;
} keywords[] = {
	{ "PIPELINING", SMTPC_EXT_PIPELINING },
	{ "SIZE", SMTPC_EXT_SIZE },
	{ "8BITMIME", SMTPC_EXT_8BITMIME },
	{ "SMTPUTF8", SMTPC_EXT_SMTPUTF8 },
	{ "DSN", SMTPC_EXT_DSN },
	{ "ENHANCEDSTATUSCODES", SMTPC_EXT_ENHANCEDSTATUSCODES },
	{ "CHUNKING", SMTPC_EXT_CHUNKING },
	{ "BINARYMIME", SMTPC_EXT_BINARYMIME },
	{ "STARTTLS", SMTPC_EXT_STARTTLS },
};

/* SIZE's parameter: 1..20 digits, no overflow; else 0. */
static uint64_t
size_param(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n == 0 || n > 20)
		return 0;
	for (i = 0; i < n; i++) {
		if (!ascii_isdigit(p[i]))
			return 0;
		if (v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

static void
ext_line(struct smtpc_ext *ext, const char *p, size_t n)
{
	size_t k, i;

	for (k = 0; k < n && p[k] != ' '; k++)
		;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strlen(keywords[i].name) != k ||
		    strncasecmp(keywords[i].name, p, k) != 0)
			continue;
		ext->flags |= keywords[i].flag;
		if (keywords[i].flag == SMTPC_EXT_SIZE)
			ext->size = size_param(p + k, n - k);
		return;
	}
}

void
smtpc_ext_parse(const struct smtpc_reply *r, struct smtpc_ext *ext)
{
	const char *p = r->text, *end = r->text + r->len, *nl;
	bool first = true;

	ext->flags = 0;
	ext->size = 0;
	while (p <= end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (!first)
			ext_line(ext, p, (size_t)(nl - p));
		first = false;
		p = nl + 1;
	}
}

/* ---- commands ------------------------------------------------------------ */

ssize_t
smtpc_xtext(char *buf, size_t sz, const char *s, size_t n, bool raw8)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	unsigned char ch;

	if (sz == 0)
		return -1;
	for (i = 0; i < n; i++) {
		ch = (unsigned char)s[i];
		if ((ch >= 33 && ch <= 126 && ch != '+' && ch != '=') ||
		    (raw8 && ch >= 0x80)) {
			if (o + 1 >= sz)
				goto full;
			buf[o++] = (char)ch;
			continue;
		}
		if (o + 3 >= sz)
			goto full;
		buf[o++] = '+';
		buf[o++] = hex[ch >> 4];
		buf[o++] = hex[ch & 15];
	}
	buf[o] = '\0';
	return (ssize_t)o;
full:
	buf[o] = '\0';
	return -1;
}

/* Appends to buf[*o..sz); false when it does not fit. */
static bool
put(char *buf, size_t sz, size_t *o, const char *s, size_t n)
{
	if (n >= sz - *o)
		return false;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
	return true;
}

static bool
puts_(char *buf, size_t sz, size_t *o, const char *s)
{
	return put(buf, sz, o, s, strlen(s));
}

static bool
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static bool
put_path(char *buf, size_t sz, size_t *o, const char *verb, const char *a)
{
	return puts_(buf, sz, o, verb) && puts_(buf, sz, o, "<") &&
	    puts_(buf, sz, o, a) && puts_(buf, sz, o, ">");
}

ssize_t
smtpc_fmt_mail(char *buf, size_t sz, const struct smtpc_mail *m,
    const struct smtpc_ext *ext)
{
	char num[32], x[SMTPC_CMD_MAX];
	size_t o = 0;

	if (sz == 0 || has_ctl(m->sender))
		return -1;
	buf[0] = '\0';
	if (!put_path(buf, sz, &o, "MAIL FROM:", m->sender))
		return -1;
	if (m->size > 0 && (ext->flags & SMTPC_EXT_SIZE)) {
		snprintf(num, sizeof(num), " SIZE=%llu",
		    (unsigned long long)m->size);
		if (!puts_(buf, sz, &o, num))
			return -1;
	}
	if (m->body == SMTPC_BODY_8BITMIME &&
	    (ext->flags & SMTPC_EXT_8BITMIME) &&
	    !puts_(buf, sz, &o, " BODY=8BITMIME"))
		return -1;
	if (m->body == SMTPC_BODY_BINARYMIME &&
	    (ext->flags & SMTPC_EXT_BINARYMIME) &&
	    !puts_(buf, sz, &o, " BODY=BINARYMIME"))
		return -1;
	if (m->smtputf8 && (ext->flags & SMTPC_EXT_SMTPUTF8) &&
	    !puts_(buf, sz, &o, " SMTPUTF8"))
		return -1;
	if (ext->flags & SMTPC_EXT_DSN) {
		if (m->ret == QFILE_RET_FULL &&
		    !puts_(buf, sz, &o, " RET=FULL"))
			return -1;
		if (m->ret == QFILE_RET_HDRS &&
		    !puts_(buf, sz, &o, " RET=HDRS"))
			return -1;
		if (m->envid != NULL && m->envid[0] != '\0') {
			if (smtpc_xtext(x, sizeof(x), m->envid,
			    strlen(m->envid), false) == -1 ||
			    !puts_(buf, sz, &o, " ENVID=") ||
			    !puts_(buf, sz, &o, x))
				return -1;
		}
	}
	if (!puts_(buf, sz, &o, "\r\n"))
		return -1;
	return (ssize_t)o;
}

static bool
put_notify(char *buf, size_t sz, size_t *o, uint8_t notify)
{
	static const struct {
		uint8_t		 bit;
		const char	*name;
	} n[] = {
		{ QFILE_NOTIFY_SUCCESS, "SUCCESS" },
		{ QFILE_NOTIFY_FAILURE, "FAILURE" },
		{ QFILE_NOTIFY_DELAY, "DELAY" },
	};
	size_t i;
	bool first = true;

	if (!puts_(buf, sz, o, " NOTIFY="))
		return false;
	if (notify & QFILE_NOTIFY_NEVER)
		return puts_(buf, sz, o, "NEVER");
	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		if ((notify & n[i].bit) == 0)
			continue;
		if ((!first && !puts_(buf, sz, o, ",")) ||
		    !puts_(buf, sz, o, n[i].name))
			return false;
		first = false;
	}
	return true;
}

/* An addr-type is an atom: letters, digits, "-". */
static bool
addr_type_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i] != '\0'; i++)
		if (!ascii_isalnum((unsigned char)t[i]) && t[i] != '-')
			return false;
	return i > 0;
}

ssize_t
smtpc_fmt_rcpt(char *buf, size_t sz, const struct smtpc_rcpt *rc,
    const struct smtpc_ext *ext, bool smtputf8)
{
	char x[SMTPC_CMD_MAX];
	size_t o = 0;
	bool raw8;

	if (sz == 0 || rc->addr[0] == '\0' || has_ctl(rc->addr))
		return -1;
	buf[0] = '\0';
	if (!put_path(buf, sz, &o, "RCPT TO:", rc->addr))
		return -1;
	if ((ext->flags & SMTPC_EXT_DSN) && rc->notify != 0 &&
	    !put_notify(buf, sz, &o, rc->notify))
		return -1;
	if ((ext->flags & SMTPC_EXT_DSN) && rc->orcpt_type != NULL &&
	    rc->orcpt_type[0] != '\0' && rc->orcpt != NULL &&
	    rc->orcpt[0] != '\0' && addr_type_ok(rc->orcpt_type)) {
		raw8 = smtputf8 && strcasecmp(rc->orcpt_type, "utf-8") == 0;
		if ((raw8 || !has_8bit(rc->orcpt)) &&
		    smtpc_xtext(x, sizeof(x), rc->orcpt, strlen(rc->orcpt),
		    raw8) != -1) {
			if (!puts_(buf, sz, &o, " ORCPT=") ||
			    !puts_(buf, sz, &o, rc->orcpt_type) ||
			    !puts_(buf, sz, &o, ";") || !puts_(buf, sz, &o, x))
				return -1;
		}
	}
	if (!puts_(buf, sz, &o, "\r\n"))
		return -1;
	return (ssize_t)o;
}

/* ---- next hops ----------------------------------------------------------- */

static bool
port_ok(const char *p, size_t n)
{
	size_t i;
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++) {
		if (!ascii_isdigit(p[i]))
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* A host name (lib/hostname.h, no latitude) or an IPv4 address. */
static bool
host_ok(const char *h, size_t n)
{
	char tmp[SMTPC_HOST_MAX + 1];
	struct in_addr a4;

	if (n == 0 || n > SMTPC_HOST_MAX)
		return false;
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a4) == 1 || hostname_ok(h, n, 0);
}

static int
nexthop_inet(const char *s, const char *def_port, struct smtpc_nexthop *nh,
    const char **err_r)
{
	const char *hend, *port;
	size_t hlen;
	struct in6_addr a6;
	char tmp[SMTPC_HOST_MAX + 1];

	if (s[0] == '[') {
		if ((hend = strchr(s, ']')) == NULL) {
			*err_r = "missing \"]\" after an IPv6 address";
			return -1;
		}
		hlen = (size_t)(hend - s - 1);
		if (hlen == 0 || hlen >= sizeof(tmp)) {
			*err_r = "bad IPv6 address";
			return -1;
		}
		memcpy(tmp, s + 1, hlen);
		tmp[hlen] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1) {
			*err_r = "bad IPv6 address";
			return -1;
		}
		port = hend + 1;
		if (*port != '\0' && *port++ != ':') {
			*err_r = "expected \":port\" after the address";
			return -1;
		}
		if (port[-1] == ':' && *port == '\0') {
			*err_r = "empty port";
			return -1;
		}
	} else {
		hend = strchr(s, ':');
		hlen = hend != NULL ? (size_t)(hend - s) : strlen(s);
		if (!host_ok(s, hlen)) {
			*err_r = "bad host name";
			return -1;
		}
		memcpy(tmp, s, hlen);
		tmp[hlen] = '\0';
		port = hend != NULL ? hend + 1 : "";
		if (hend != NULL && *port == '\0') {
			*err_r = "empty port";
			return -1;
		}
	}
	if (*port == '\0')
		port = def_port;
	if (!port_ok(port, strlen(port))) {
		*err_r = "bad port: expected 1..65535";
		return -1;
	}
	nh->kind = SMTPC_NH_INET;
	strlcpy(nh->host, tmp, sizeof(nh->host));
	strlcpy(nh->port, port, sizeof(nh->port));
	return 0;
}

int
smtpc_nexthop_parse(const char *s, const char *def_port,
    struct smtpc_nexthop *nh, const char **err_r)
{
	memset(nh, 0, sizeof(*nh));
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		if (s[0] != '/') {
			*err_r = "unix: needs an absolute path";
			return -1;
		}
		if (strlen(s) > SMTPC_PATH_MAX) {
			*err_r = "socket path too long";
			return -1;
		}
		if (has_ctl(s)) {
			*err_r = "control character in the socket path";
			return -1;
		}
		nh->kind = SMTPC_NH_UNIX;
		strlcpy(nh->path, s, sizeof(nh->path));
		return 0;
	}
	if (strncmp(s, "inet:", 5) == 0)
		return nexthop_inet(s + 5, def_port, nh, err_r);
	*err_r = "expected unix:/path or inet:host:port";
	return -1;
}

/* ---- dot-stuffing -------------------------------------------------------- */

void
smtpc_dot_init(struct smtpc_dot *d, int (*flush)(void *, const void *,
    size_t), void *arg)
{
	d->flush = flush;
	d->arg = arg;
	d->bol = true;
	d->cr = false;
	d->size = 0;
	d->len = 0;
}

static int
dot_out(struct smtpc_dot *d, const void *p, size_t n)
{
	if (n > sizeof(d->out) - d->len) {
		if (d->len > 0 && d->flush(d->arg, d->out, d->len) == -1)
			return -1;
		d->len = 0;
	}
	memcpy(d->out + d->len, p, n);
	d->len += n;
	d->size += n;
	return 0;
}

static int
dot_eol(struct smtpc_dot *d)
{
	d->cr = false;
	d->bol = true;
	return dot_out(d, "\r\n", 2);
}

int
smtpc_dot_put(struct smtpc_dot *d, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i, run;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n') {
			if (dot_eol(d) == -1)
				return -1;
			continue;
		}
		/* A CR not followed by LF is a line end too. */
		if (d->cr && dot_eol(d) == -1)
			return -1;
		if (s[i] == '\r') {
			d->cr = true;
			continue;
		}
		if (d->bol && s[i] == '.' && dot_out(d, ".", 1) == -1)
			return -1;
		d->bol = false;
		/* The rest of the line up to a CR or LF in one copy. */
		for (run = 1; i + run < n && s[i + run] != '\r' &&
		    s[i + run] != '\n' && run < sizeof(d->out); run++)
			;
		if (dot_out(d, s + i, run) == -1)
			return -1;
		i += run - 1;
	}
	return 0;
}

int
smtpc_dot_end(struct smtpc_dot *d)
{
	if ((d->cr || !d->bol) && dot_eol(d) == -1)
		return -1;
	if (dot_out(d, ".\r\n", 3) == -1)
		return -1;
	if (d->len > 0 && d->flush(d->arg, d->out, d->len) == -1)
		return -1;
	d->len = 0;
	return 0;
}

/* ---- the connection ------------------------------------------------------ */

/* snprintf that may cut: for messages, where a cut is fine. */
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void
smtpc_open(struct smtpc *c, int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	c->fd = fd;
	c->err[0] = '\0';
	lineio_init(&c->in, fd, SMTPC_LINE_MAX, 0);
}

void
smtpc_close(struct smtpc *c)
{
	if (c->fd == -1)
		return;
	close(c->fd);
	c->fd = -1;
	lineio_free(&c->in);
}

/* Wait for a non-blocking connect: 0, or -1 with errno. */
static int
connect_wait(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int64_t deadline = now_ms() + timeout_ms;
	int r, soerr;
	socklen_t len = sizeof(soerr);

	for (;;) {
		r = poll(&pfd, 1, left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

static int
connect_to(int family, const struct sockaddr *sa, socklen_t salen,
    int timeout_ms)
{
	int fd, save;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	if ((errno == EINPROGRESS || errno == EINTR) &&
	    connect_wait(fd, timeout_ms) == 0)
		return fd;
	save = errno;
	close(fd);
	errno = save;
	return -1;
}

static int
connect_unix(struct smtpc *c, const struct smtpc_nexthop *nh, int timeout_ms,
    char *relay, size_t rsz)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, nh->path, sizeof(sun.sun_path));
	strlcpy(relay, nh->path, rsz);
	fd = connect_to(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
	    timeout_ms);
	if (fd == -1) {
		sfmt(c->err, sizeof(c->err), "connect to %s: %s",
		    nh->path, strerror(errno));
		return -1;
	}
	smtpc_open(c, fd);
	return 0;
}

static int
connect_inet(struct smtpc *c, const struct smtpc_nexthop *nh,
    int timeout_ms, char *relay, size_t rsz, bool *resolve_r)
{
	struct addrinfo hints, *res, *ai;
	char addr[INET6_ADDRSTRLEN];
	int fd = -1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	sfmt(relay, rsz, "%s[%s]:%s", nh->host, nh->host, nh->port);
	if ((r = getaddrinfo(nh->host, nh->port, &hints, &res)) != 0) {
		*resolve_r = true;
		sfmt(c->err, sizeof(c->err), "%s: %s", nh->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			strlcpy(addr, "?", sizeof(addr));
		sfmt(relay, rsz, "%s[%s]:%s", nh->host, addr, nh->port);
		if (smtpc_connect_addr(c, ai->ai_addr, ai->ai_addrlen,
		    timeout_ms, relay) == 0)
			fd = c->fd;
	}
	freeaddrinfo(res);
	return fd == -1 ? -1 : 0;
}

int
smtpc_connect_addr(struct smtpc *c, const struct sockaddr *sa,
    socklen_t salen, int timeout_ms, const char *relay)
{
	int fd;

	c->fd = -1;
	c->err[0] = '\0';
	fd = connect_to(sa->sa_family, sa, salen, timeout_ms);
	if (fd == -1) {
		sfmt(c->err, sizeof(c->err), "connect to %s: %s", relay,
		    strerror(errno));
		return -1;
	}
	smtpc_open(c, fd);
	return 0;
}

int
smtpc_connect(struct smtpc *c, const struct smtpc_nexthop *nh,
    int timeout_ms, char *relay, size_t rsz, bool *resolve_r)
{
	c->fd = -1;
	c->err[0] = '\0';
	*resolve_r = false;
	if (nh->kind == SMTPC_NH_UNIX)
		return connect_unix(c, nh, timeout_ms, relay, rsz);
	return connect_inet(c, nh, timeout_ms, relay, rsz, resolve_r);
}

enum smtpc_io
smtpc_write(struct smtpc *c, const void *p, size_t n, int timeout_ms)
{
	const uint8_t *s = p;
	struct pollfd pfd;
	int64_t deadline = now_ms() + timeout_ms;
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			sfmt(c->err, sizeof(c->err), "%s",
			    strerror(errno));
			return errno == EPIPE || errno == ECONNRESET ?
			    SMTPC_IO_EOF : SMTPC_IO_ERR;
		}
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		r = poll(&pfd, 1, left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			sfmt(c->err, sizeof(c->err), "%s",
			    strerror(errno));
			return SMTPC_IO_ERR;
		}
		if (r == 0) {
			strlcpy(c->err, "timed out", sizeof(c->err));
			return SMTPC_IO_TIMEOUT;
		}
	}
	return SMTPC_IO_OK;
}

enum smtpc_io
smtpc_read_reply(struct smtpc *c, struct smtpc_reply *r, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	enum lineio_result lr;
	enum smtpc_parse pr;
	const char *line, *err;
	size_t len;

	smtpc_reply_init(r);
	do {
		c->in.timeout_ms = left_ms(deadline);
		lr = lineio_read(&c->in, &line, &len, NULL);
		switch (lr) {
		case LINEIO_OK:
			break;
		case LINEIO_EOF:
			strlcpy(c->err, "connection closed", sizeof(c->err));
			return SMTPC_IO_EOF;
		case LINEIO_TIMEOUT:
			strlcpy(c->err, "timed out", sizeof(c->err));
			return SMTPC_IO_TIMEOUT;
		case LINEIO_TOOLONG:
			strlcpy(c->err, "reply line too long",
			    sizeof(c->err));
			return SMTPC_IO_ERR;
		default:
			sfmt(c->err, sizeof(c->err), "%s",
			    strerror(errno));
			return errno == ECONNRESET ? SMTPC_IO_EOF :
			    SMTPC_IO_ERR;
		}
		pr = smtpc_reply_line(r, line, len, &err);
		if (pr == SMTPC_ERR) {
			sfmt(c->err, sizeof(c->err), "malformed reply: %s",
			    err);
			return SMTPC_IO_ERR;
		}
	} while (pr == SMTPC_MORE);
	return SMTPC_IO_OK;
}
