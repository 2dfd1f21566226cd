/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_smtpc.c -- libFuzzer harness for lib/smtpc's parsers of what a
 * server sends, and for the dot-stuffing converter.
 *
 * Input:    one mode byte, then data.  Mode even: server replies, one line
 *           per LF (a CR before it dropped), fed to smtpc_reply_line; each
 *           complete reply is also formatted and read as an EHLO reply.
 *           Mode odd: message content through smtpc_dot_put (cut where
 *           the mode byte says), then smtpc_dot_end.  Mode 0xfe: an LMTP
 *           next hop for smtpc_nexthop_parse (from transport_maps).
 * Checks:   no crash, no read past the input; a reply keeps its limits
 *           (code 200..559, lines, bytes, no control characters, an
 *           enhanced code of its own class) and formats within its buffer;
 *           the dot-stuffed output has only CR LF line ends, no line "."
 *           before its end, and unstuffs back to the input with its line
 *           ends made CR LF; a next hop parsed is an absolute path, or
 *           an IPv4 address, a host name (lib/hostname.h, no latitude)
 *           or an IPv6 address, with a port 1..65535.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "hostname.h"
#include "smtpc.h"

#define MODE_NEXTHOP	0xfe

static struct smtpc_reply rep;

static void
check_reply(void)
{
	struct smtpc_ext ext;
	char buf[600], dsn[SMTPC_ENH_MAX + 1];
	size_t i, n;

	if (rep.code < 200 || rep.code > 559 || rep.nlines < 1 ||
	    rep.nlines > SMTPC_REPLY_LINES || rep.len > SMTPC_REPLY_MAX ||
	    strlen(rep.text) != rep.len)
		abort();
	for (i = 0; i < rep.len; i++)
		if ((unsigned char)rep.text[i] < 0x20 && rep.text[i] != '\n')
			abort();
	if (rep.enh[0] != '\0' && rep.enh[0] - '0' != rep.code / 100)
		abort();
	smtpc_reply_dsn(&rep, dsn);
	if (dsn[1] != '.' || strlen(dsn) > SMTPC_ENH_MAX)
		abort();
	n = strlen(smtpc_reply_format(&rep, buf, sizeof(buf)));
	if (n >= sizeof(buf) || memchr(buf, '\n', n) != NULL)
		abort();
	smtpc_ext_parse(&rep, &ext);
	if (ext.size != 0 && (ext.flags & SMTPC_EXT_SIZE) == 0)
		abort();
}

static void
replies(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	const char *err;
	size_t len;
	enum smtpc_parse r;

	smtpc_reply_init(&rep);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		r = smtpc_reply_line(&rep, (const char *)p, len, &err);
		if (r == SMTPC_ERR) {
			if (err == NULL || err[0] == '\0')
				abort();
			smtpc_reply_init(&rep);
		} else if (r == SMTPC_DONE) {
			check_reply();
			smtpc_reply_init(&rep);
		}
		p = nl + 1;
	}
}

struct out {
	uint8_t	*buf;
	size_t	 len, cap;
};

static int
out_flush(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	if (n > o->cap - o->len)
		abort();
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

static void
dots(const uint8_t *data, size_t size, size_t cut)
{
	struct smtpc_dot *d;
	struct out o;
	uint8_t *want;
	size_t i, w = 0, k;

	d = malloc(sizeof(*d));
	/* At worst each byte becomes three ("." at a line start, CR LF). */
	o.cap = size * 3 + 8;
	o.buf = malloc(o.cap);
	o.len = 0;
	want = malloc(size * 2 + 4);
	if (d == NULL || o.buf == NULL || want == NULL)
		abort();
	smtpc_dot_init(d, out_flush, &o);
	if (cut > size)
		cut = size;
	if (smtpc_dot_put(d, data, cut) == -1 ||
	    smtpc_dot_put(d, data + cut, size - cut) == -1 ||
	    smtpc_dot_end(d) == -1 || d->size != o.len)
		abort();
	/* What it should carry: line ends made CR LF, a last one added. */
	for (i = 0; i < size; i++) {
		if (data[i] == '\r' || data[i] == '\n') {
			want[w++] = '\r';
			want[w++] = '\n';
			if (data[i] == '\r' && i + 1 < size &&
			    data[i + 1] == '\n')
				i++;
		} else
			want[w++] = data[i];
	}
	if (w > 0 && want[w - 1] != '\n') {
		want[w++] = '\r';
		want[w++] = '\n';
	}
	/* Unstuff the output, checking each line on the way. */
	if (o.len < 3 || memcmp(o.buf + o.len - 3, ".\r\n", 3) != 0)
		abort();
	o.len -= 3;
	k = 0;
	for (i = 0; i < o.len; i++) {
		bool bol = i == 0 || o.buf[i - 1] == '\n';

		if ((o.buf[i] == '\n') != (i > 0 && o.buf[i - 1] == '\r' &&
		    o.buf[i] == '\n'))
			abort();
		if (o.buf[i] == '\r' && (i + 1 >= o.len ||
		    o.buf[i + 1] != '\n'))
			abort();
		if (bol && o.buf[i] == '.') {
			if (i + 1 >= o.len || o.buf[i + 1] != '.')
				abort();
			continue;
		}
		if (k >= w || o.buf[i] != want[k++])
			abort();
	}
	if (k != w)
		abort();
	free(want);
	free(o.buf);
	free(d);
}

static void
nexthop(const uint8_t *data, size_t size)
{
	struct smtpc_nexthop nh;
	struct in6_addr a6;
	struct in_addr a4;
	const char *err = NULL;
	char *s;
	unsigned long port;
	char *end;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (smtpc_nexthop_parse(s, "24", &nh, &err) == -1) {
		if (err == NULL || err[0] == '\0')
			abort();
		free(s);
		return;
	}
	if (nh.kind == SMTPC_NH_UNIX) {
		if (nh.path[0] != '/')
			abort();
	} else {
		if (inet_pton(AF_INET, nh.host, &a4) != 1 &&
		    inet_pton(AF_INET6, nh.host, &a6) != 1 &&
		    !hostname_ok(nh.host, strlen(nh.host), 0))
			abort();
		port = strtoul(nh.port, &end, 10);
		if (*end != '\0' || port == 0 || port > 65535)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == MODE_NEXTHOP)
		nexthop(data + 1, size - 1);
	else if (data[0] % 2 == 0)
		replies(data + 1, size - 1);
	else
		dots(data + 1, size - 1, data[0] / 2);
	return 0;
}
