/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_req.c -- checks of the requests of smtpd (server role) and of
 * the smtp client (client role), and the plaintext buffers.
 *
 * Process:  tlsproxy (mail_owner).
 * Input:    decoded attribute messages from smtpd or the smtp client
 *           (less trusted: a compromised one must not get odd text into
 *           our logs); the TLSA records of verify=dane are parsed in
 *           tlsproxy_dane.c.
 * Failure:  -1 with a static reason; pure, never logs.
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "log.h"
#include "tlsproxy.h"

/* Printable ASCII, no space, not empty: safe in a log line as it is. */
static bool
word_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int
tlsproxy_number_parse(const char *s, size_t max, size_t *n_r)
{
	size_t n = 0, i;

	if (s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (size_t)(s[i] - '0');
		if (n > max)
			return -1;
	}
	*n_r = n;
	return 0;
}

static bool
port_ok(const char *s)
{
	size_t v;

	return tlsproxy_number_parse(s, 65535, &v) == 0;
}

static bool
str_is(const struct attr_msg *m, const char *name, const char *want)
{
	char v[32];

	return attr_get_str(m, name, v, sizeof(v)) == 0 &&
	    strcmp(v, want) == 0;
}

/* One string attribute into buf, checked by ok; -1 with *err_r = bad. */
static int
get_word(const struct attr_msg *m, const char *name, char *buf, size_t sz,
    bool (*ok)(const char *), const char *bad, const char **err_r)
{
	if (attr_get_str(m, name, buf, sz) == -1 || !ok(buf)) {
		*err_r = bad;
		return -1;
	}
	return 0;
}

/* Empty, or an absolute path that is a word. */
static bool
ca_file_ok(const char *s)
{
	return *s == '\0' || (*s == '/' && word_ok(s));
}

static void
make_ident(struct tlsproxy_req *req, const char *name, const char *addr)
{
	/* Both parts are at most 255 + 63 bytes: this always fits. */
	strlcpy(req->ident, name, sizeof(req->ident));
	strlcat(req->ident, "[", sizeof(req->ident));
	strlcat(req->ident, addr, sizeof(req->ident));
	strlcat(req->ident, "]", sizeof(req->ident));
}

static int
parse_server(const struct attr_msg *m, struct tlsproxy_req *req,
    const char **err_r)
{
	req->role = TLSPROXY_SERVER;
	if (get_word(m, "client_name", req->client_name,
	    sizeof(req->client_name), word_ok, "bad client_name", err_r) == -1 ||
	    get_word(m, "client_addr", req->client_addr,
	    sizeof(req->client_addr), word_ok, "bad client_addr", err_r) == -1 ||
	    get_word(m, "client_port", req->client_port,
	    sizeof(req->client_port), port_ok, "bad client_port", err_r) == -1)
		return -1;
	make_ident(req, req->client_name, req->client_addr);
	return 6;
}

/* n bytes at s are an IPv4 address in dotted-quad form. */
static bool
ipv4_ok(const char *s, size_t n)
{
	char tmp[INET_ADDRSTRLEN];
	struct in_addr a4;

	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a4) == 1;
}

/*
 * ca_names: 1..TLSPROXY_CA_NAMES_MAX of "host", an IPv4 address (GnuTLS
 * checks it against the certificate's IP addresses) or ".domain",
 * ":"-joined; names as a certificate may carry them, "_" included
 * (lib/hostname.h).
 */
static int
parse_ca_names(const struct attr_msg *m, struct tlsproxy_req *req,
    const char **err_r)
{
	char names[TLSPROXY_CA_NAMES_MAX * 256];
	const char *s = names, *end;
	size_t n, dot;

	if (attr_get_str(m, "ca_names", names, sizeof(names)) == -1) {
		*err_r = "bad ca_names";
		return -1;
	}
	for (;;) {
		end = strchr(s, ':');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		dot = n > 0 && s[0] == '.';
		if (!hostname_ok(s + dot, n - dot, HOSTNAME_UNDERSCORE) &&
		    (dot || !ipv4_ok(s, n))) {
			*err_r = "bad name in ca_names";
			return -1;
		}
		if (req->nca_names == TLSPROXY_CA_NAMES_MAX) {
			*err_r = "too many ca_names";
			return -1;
		}
		memcpy(req->ca_names[req->nca_names], s, n);
		req->ca_names[req->nca_names][n] = '\0';
		req->nca_names++;
		if (end == NULL)
			return 0;
		s = end + 1;
	}
}

static int
parse_client(const struct attr_msg *m, struct tlsproxy_req *req,
    const char **err_r)
{
	char verify[8];
	size_t n;

	req->role = TLSPROXY_CLIENT;
	if (get_word(m, "server_name", req->server_name,
	    sizeof(req->server_name), word_ok, "bad server_name", err_r) == -1 ||
	    get_word(m, "server_addr", req->server_addr,
	    sizeof(req->server_addr), word_ok, "bad server_addr", err_r) == -1 ||
	    get_word(m, "server_port", req->server_port,
	    sizeof(req->server_port), port_ok, "bad server_port", err_r) == -1 ||
	    get_word(m, "verify", verify, sizeof(verify), word_ok,
	    "bad verify", err_r) == -1 ||
	    get_word(m, "ca_file", req->ca_file, sizeof(req->ca_file),
	    ca_file_ok, "bad ca_file", err_r) == -1)
		return -1;
	if (strcmp(verify, "ca") == 0)
		req->verify = TLSPROXY_VERIFY_CA;
	else if (strcmp(verify, "dane") == 0)
		req->verify = TLSPROXY_VERIFY_DANE;
	else if (strcmp(verify, "none") != 0) {
		*err_r = "bad verify";
		return -1;
	}
	make_ident(req, req->server_name, req->server_addr);
	if (attr_find(m, "ca_names") != NULL) {
		if (req->verify != TLSPROXY_VERIFY_CA) {
			*err_r = "ca_names without verify=ca";
			return -1;
		}
		if (parse_ca_names(m, req, err_r) == -1)
			return -1;
		return 9;
	}
	if (req->verify != TLSPROXY_VERIFY_DANE)
		return 8;
	/* DANE trusts the TLSA records only, never a CA file. */
	if (req->ca_file[0] != '\0') {
		*err_r = "ca_file with verify=dane";
		return -1;
	}
	if (tlsproxy_dane_parse(m, &req->dane, &n, err_r) == -1)
		return -1;
	return (int)(8 + n);
}

int
tlsproxy_req_parse(const struct attr_msg *m, struct tlsproxy_req *req,
    const char **err_r)
{
	size_t n;
	int r;

	memset(req, 0, sizeof(*req));
	if (str_is(m, "request", "server"))
		r = parse_server(m, req, err_r);
	else if (str_is(m, "request", "client"))
		r = parse_client(m, req, err_r);
	else {
		*err_r = "not request=server or request=client";
		return -1;
	}
	if (r == -1)
		goto bad;
	n = (size_t)r;
	if (!str_is(m, "proto", TLSPROXY_PROTO)) {
		*err_r = "not proto=" TLSPROXY_PROTO;
		goto bad;
	}
	if (get_word(m, "service", req->service, sizeof(req->service),
	    word_ok, "bad service", err_r) == -1)
		goto bad;
	/* Those named above, each once (attr_decode refuses duplicates). */
	if (m->n != n) {
		*err_r = "unexpected attributes";
		goto bad;
	}
	return 0;
bad:
	memset(req, 0, sizeof(*req));
	return -1;
}

bool
tlsproxy_req_is_start(const struct attr_msg *m)
{
	return m->n == 1 && str_is(m, "request", "start");
}

size_t
tlsproxy_buf_room(const struct tlsproxy_buf *b)
{
	return sizeof(b->data) - b->len;
}

void
tlsproxy_buf_consume(struct tlsproxy_buf *b, size_t n)
{
	if (n > b->len)
		bug("tlsproxy_buf_consume: %zu > %zu", n, b->len);
	b->len -= n;
	if (b->len > 0)
		memmove(b->data, b->data + n, b->len);
}
