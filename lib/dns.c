/*
 * SPDX-License-Identifier: ISC
 *
 * dns.c -- the resolver of lib/dns: MX, A/AAAA and TLSA lookups through
 * libunbound, each bounded by a timeout, their answers checked and
 * turned into bounded lists.
 *
 * Process:  smtp (mail_owner, no keys; opened before any chroot).
 * Input:    answers from the resolver: untrusted (record data is parsed
 *           by dns_rdata.c; libunbound's canonical names are checked).
 * Failure:  every lookup problem is a result code with a reason; lookups
 *           never log.  dns_open logs what it set up (one line, and one
 *           warning when auto turns DNSSEC off), and libunbound's own
 *           messages reach the log through a stdio cookie (ub_log_*).
 *           Exits only on memory exhaustion.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "dns.h"
#include "hostname.h"
#include "log.h"
#include "xmem.h"

#define CLASS_IN	1
#define RCODE_NOERROR	0
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3
#define TLSA_NAME_MAX	(DNS_NAME_MAX + 16)	/* "_65535._tcp." + host */

#define UB_LOG_LINE	400	/* a libunbound message kept for the log */
#define UB_VERBOSITY	0	/* errors and warnings only */

struct dns {
	struct ub_ctx	*ctx;
	unsigned	 timeout_ms;
	uint64_t	 rng;
	bool		 validating;
};

/* A libunbound message line being put together (see ub_log_write). */
struct ub_log {
	char		 line[UB_LOG_LINE];
	size_t		 len;
	bool		 cut;
};

/* One query in flight: filled by the callback, read by resolve(). */
struct pending {
	bool		 done;
	int		 err;
	struct ub_result *res;
};

static void
whyf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
whyf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, DNS_WHY_MAX, fmt, ap);
	va_end(ap);
}

static void
info_init(struct dns_info *info)
{
	memset(info, 0, sizeof(*info));
	info->secure = true;
}

/* Record a skipped record: the first reason is kept, all are counted. */
static void
skip(struct dns_info *info, const char *what, const char *err)
{
	if (info->nskipped++ == 0)
		whyf(info->skipped, "%s: %s", what, err);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
resolved(void *arg, int err, struct ub_result *res)
{
	struct pending *p = arg;

	p->done = true;
	p->err = err;
	p->res = res;
}

/*
 * One query, asynchronous inside: libunbound's thread resolves, its fd
 * says when an answer is ready, and a deadline bounds the wait, which a
 * blocking ub_resolve() would not (a dead forwarder holds it for many
 * seconds).  Returns 0 with *res_r, or -1 with info->why set.
 */
static int
resolve(struct dns *d, const char *name, int type, struct ub_result **res_r,
    struct dns_info *info)
{
	struct pending p = { false, 0, NULL };
	struct pollfd pfd;
	int64_t deadline, left;
	int id, err, n;

	if ((err = ub_resolve_async(d->ctx, name, type, CLASS_IN, &p, resolved,
	    &id)) != 0) {
		whyf(info->why, "resolver error: %s", ub_strerror(err));
		return -1;
	}
	pfd.fd = ub_fd(d->ctx);
	pfd.events = POLLIN;
	deadline = now_ms() + d->timeout_ms;
	err = 0;
	while (!p.done && (left = deadline - now_ms()) > 0) {
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno != EINTR) {
			whyf(info->why, "resolver error: poll: %s",
			    strerror(errno));
			err = -1;
			break;
		}
		if (n > 0 && (err = ub_process(d->ctx)) != 0) {
			whyf(info->why, "resolver error: %s",
			    ub_strerror(err));
			break;
		}
	}
	if (!p.done) {
		/* The answer may already be on its way: then take it. */
		if (ub_cancel(d->ctx, id) != 0)
			(void)ub_wait(d->ctx);
		ub_resolve_free(p.res);
		if (err == 0)
			whyf(info->why, "no answer within %u.%03u s",
			    d->timeout_ms / 1000, d->timeout_ms % 1000);
		return -1;
	}
	if (p.err != 0 || p.res == NULL) {
		whyf(info->why, "resolver error: %s", ub_strerror(p.err));
		ub_resolve_free(p.res);
		return -1;
	}
	*res_r = p.res;
	return 0;
}

/*
 * Copy a query name, without one final dot, when it is a host name
 * (hostname_ok() with flags).
 */
static bool
query_name(const char *in, char *out, size_t outsz, unsigned flags)
{
	size_t len = strlen(in);

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len >= outsz)
		return false;
	memcpy(out, in, len);
	out[len] = '\0';
	return hostname_ok(out, len, flags);
}

/*
 * The answer's canonical name, when libunbound gives one (a CNAME was
 * followed), into info->canon.  Returns false when it is not a name
 * Tern would look up.  It may hold "_": the query of a TLSA lookup is
 * "_25._tcp.host", and its CNAME target commonly is such a name too.
 */
static bool
take_canon(struct ub_result *r, struct dns_info *info)
{
	char name[DNS_NAME_MAX + 1];

	if (r->canonname == NULL)
		return true;
	if (!query_name(r->canonname, name, sizeof(name),
	    HOSTNAME_UNDERSCORE))
		return false;
	memcpy(info->canon, name, sizeof(name));
	return true;
}

/*
 * Look name up for type, following CNAMEs, and say what came of it.
 * libunbound follows CNAMEs when it recurses or forwards, but its local
 * data answers a CNAME alone, with canonname set and no records: then
 * the target is asked here, at most DNS_CNAME_MAX times.  On DNS_OK,
 * *res_r holds the records (the caller frees it).
 */
static enum dns_result
lookup(struct dns *d, const char *qname, int type, struct ub_result **res_r,
    struct dns_info *info)
{
	char name[DNS_NAME_MAX + 1];
	struct ub_result *r;
	int hop;

	*res_r = NULL;
	memcpy(name, qname, strlen(qname) + 1);
	for (hop = 0; hop <= DNS_CNAME_MAX; hop++) {
		if (resolve(d, name, type, &r, info) == -1) {
			info->secure = false;
			return DNS_TEMPFAIL;
		}
		if (!r->secure)
			info->secure = false;
		if (r->bogus) {
			info->bogus = true;
			whyf(info->why, "DNSSEC validation failed for %s: %.200s",
			    name, r->why_bogus != NULL ? r->why_bogus :
			    "no reason given");
			ub_resolve_free(r);
			return DNS_TEMPFAIL;
		}
		if (r->rcode != RCODE_NOERROR && r->rcode != RCODE_NXDOMAIN) {
			whyf(info->why, "%s: %s (rcode %d)", name,
			    r->rcode == RCODE_SERVFAIL ? "server failure" :
			    "error answer", r->rcode);
			ub_resolve_free(r);
			return DNS_TEMPFAIL;
		}
		if (!take_canon(r, info)) {
			whyf(info->why, "%s: CNAME to a name that is not a "
			    "host name", name);
			ub_resolve_free(r);
			return DNS_TEMPFAIL;
		}
		if (r->rcode == RCODE_NXDOMAIN) {
			whyf(info->why, "%s: no such domain", name);
			ub_resolve_free(r);
			return DNS_NXDOMAIN;
		}
		if (r->havedata) {
			*res_r = r;
			return DNS_OK;
		}
		if (r->canonname == NULL ||
		    strcasecmp(info->canon, name) == 0) {
			whyf(info->why, "%s: no records of type %d", name,
			    type);
			ub_resolve_free(r);
			return DNS_NODATA;
		}
		memcpy(name, info->canon, sizeof(name));
		ub_resolve_free(r);
	}
	whyf(info->why, "%s: more than %d CNAMEs", qname, DNS_CNAME_MAX);
	info->secure = false;
	return DNS_TEMPFAIL;
}

/* ---- libunbound's messages ---------------------------------------------- */

/*
 * One complete line of libunbound's to the log.  libunbound writes
 * "[time] libunbound[pid:thread] error: text"; the stamp and the name
 * are the log's business, the level chooses the log function (error:
 * log_error, warning: log_warnx, info and notice: log_info, debug:
 * log_debug).  The text may hold names from DNS answers: log_safe.
 */
static void
ub_log_flush(struct ub_log *u)
{
	static const struct {
		const char *prefix;
		void	(*fn)(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
	} level[] = {
		{ "error: ", log_error },
		{ "warning: ", log_warnx },
		{ "notice: ", log_info },
		{ "info: ", log_info },
		{ "debug: ", log_debug },
	};
	void (*fn)(const char *, ...) __attribute__((format(printf, 1, 2)));
	char safe[LOG_SAFE_MAX];
	const char *p = u->line, *q;
	size_t i, n;

	u->line[u->len] = '\0';
	if (*p == '[' && (q = strstr(p, "] ")) != NULL)
		p = q + 2;
	if (strncmp(p, "libunbound[", 11) == 0 &&
	    (q = strstr(p, "] ")) != NULL)
		p = q + 2;
	/* Anything else ("fatal error: ", "assertion failed") a warning. */
	fn = log_warnx;
	for (i = 0; i < sizeof(level) / sizeof(level[0]); i++) {
		n = strlen(level[i].prefix);
		if (strncmp(p, level[i].prefix, n) == 0) {
			fn = level[i].fn;
			p += n;
			break;
		}
	}
	if (*p != '\0' || u->cut)
		fn("libunbound: %s%s", log_safe(safe, sizeof(safe), p,
		    strlen(p)), u->cut ? "..." : "");
	u->len = 0;
	u->cut = false;
}

/*
 * fopencookie write: collect bytes up to each newline, at most
 * UB_LOG_LINE - 1 of a line (the rest is dropped, the line marked cut).
 * stdio holds the FILE's lock around this, so libunbound's thread and
 * this one never interleave inside it.
 */
static ssize_t
ub_log_write(void *cookie, const char *buf, size_t size)
{
	struct ub_log *u = cookie;
	size_t i;

	for (i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			ub_log_flush(u);
		} else if (u->len < sizeof(u->line) - 1)
			u->line[u->len++] = buf[i];
		else
			u->cut = true;
	}
	return (ssize_t)size;
}

static int
ub_log_close(void *cookie)
{
	struct ub_log *u = cookie;

	if (u->len > 0 || u->cut)
		ub_log_flush(u);
	return 0;
}

/*
 * The FILE libunbound writes to.  libunbound keeps the debug output in
 * a global, not per context, so there is one for the process, made at
 * the first dns_open and never closed: a context deleted while another
 * lives can never leave libunbound a closed FILE.
 */
static FILE *
ub_log_file(void)
{
	static struct ub_log u;
	static FILE *fp;
	static const cookie_io_functions_t io = {
		.read = NULL,
		.write = ub_log_write,
		.seek = NULL,
		.close = ub_log_close,
	};

	if (fp != NULL)
		return fp;
	if ((fp = fopencookie(&u, "w", io)) == NULL)
		return NULL;
	/* Every message is written and flushed by libunbound at once. */
	setvbuf(fp, NULL, _IOLBF, 0);
	return fp;
}

/* ---- opening ------------------------------------------------------------ */

int
dns_dnssec_parse(const char *s, enum dns_dnssec *out)
{
	if (strcmp(s, "auto") == 0)
		*out = DNS_DNSSEC_AUTO;
	else if (strcmp(s, "yes") == 0)
		*out = DNS_DNSSEC_YES;
	else if (strcmp(s, "no") == 0)
		*out = DNS_DNSSEC_NO;
	else
		return -1;
	return 0;
}

/* A new context: libunbound's thread, its messages to our log. */
static struct dns *
dns_new(char *err, size_t errsz)
{
	struct dns *d;
	FILE *fp;
	int e;

	d = xcalloc(1, sizeof(*d));
	d->timeout_ms = DNS_TIMEOUT_MS;
	d->rng = (uint64_t)arc4random() << 32 | arc4random();
	if ((d->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errsz, "cannot create a libunbound context");
		free(d);
		return NULL;
	}
	if ((fp = ub_log_file()) != NULL) {
		(void)ub_ctx_debugout(d->ctx, fp);
		(void)ub_ctx_debuglevel(d->ctx, UB_VERBOSITY);
	}
	/* A thread, not libunbound's default of a forked process. */
	if ((e = ub_ctx_async(d->ctx, 1)) != 0) {
		snprintf(err, errsz, "libunbound threads: %s", ub_strerror(e));
		dns_close(&d);
		return NULL;
	}
	return d;
}

/*
 * libunbound reads trust anchor files when the first query finalises
 * the context: make that happen now, before a chroot.
 */
static int
finalise(struct dns *d, const char *what, char *err, size_t errsz)
{
	struct dns_info info;
	struct ub_result *r;

	info_init(&info);
	if (resolve(d, "localhost.", DNS_T_A, &r, &info) == -1) {
		snprintf(err, errsz, "%s: %s", what, info.why);
		return -1;
	}
	ub_resolve_free(r);
	return 0;
}

/* The system setup, with the root trust anchor or without. */
static struct dns *
open_system(const struct dns_system *sys, bool anchor, char *err,
    size_t errsz)
{
	struct dns *d;
	const char *file;
	int e;

	if ((d = dns_new(err, errsz)) == NULL)
		return NULL;
	if (sys->forward_conf != NULL) {
		file = sys->forward_conf;
		e = ub_ctx_config(d->ctx, file);
	} else {
		file = sys->resolv_conf;
		e = ub_ctx_resolvconf(d->ctx, file);
	}
	if (e == 0 && sys->hosts != NULL && access(sys->hosts, F_OK) == 0) {
		file = sys->hosts;
		e = ub_ctx_hosts(d->ctx, file);
	}
	if (e == 0 && anchor) {
		file = sys->root_key;
		e = ub_ctx_add_ta_file(d->ctx, file);
	}
	if (e != 0) {
		snprintf(err, errsz, "%s: %s", file, ub_strerror(e));
		dns_close(&d);
		return NULL;
	}
	d->validating = anchor;
	return d;
}

/*
 * The DNSKEY of the probe name, within DNS_PROBE_TIMEOUT_MS.  Returns
 * the answer, or NULL when there was none (timeout, resolver error).
 */
static struct ub_result *
probe(struct dns *d, const struct dns_system *sys)
{
	struct dns_info info;
	struct ub_result *r;
	unsigned saved = d->timeout_ms;
	int ok;

	info_init(&info);
	d->timeout_ms = DNS_PROBE_TIMEOUT_MS;
	ok = resolve(d, sys->probe, DNS_T_DNSKEY, &r, &info);
	d->timeout_ms = saved;
	return ok == 0 ? r : NULL;
}

/*
 * dnssec_validation = auto with a root key, d the context with it
 * (finalised).  The probe validates, or got no answer at all (offline:
 * nothing learnt): d stays.  It is bogus: then the same question without
 * the anchor tells a resolver that answers DNSKEY questions (NOERROR or
 * NXDOMAIN) with broken or missing signatures or records (it strips: one
 * warning, and the context without the anchor replaces d) from one that
 * cannot answer now (SERVFAIL, REFUSED or silence, which libunbound also
 * calls bogus while building the chain of trust: d stays).  Returns the
 * context to use, or NULL with err set.
 */
static struct dns *
auto_decide(struct dns *d, const struct dns_system *sys, const char *src,
    char *err, size_t errsz)
{
	char why[DNS_WHY_MAX];
	struct ub_result *r;
	struct dns *plain;
	bool answers;

	if ((r = probe(d, sys)) == NULL || !r->bogus) {
		ub_resolve_free(r);
		log_info("DNS: system resolver (%s), DNSSEC validation on, "
		    "root trust anchor (dnssec_validation = auto)", src);
		return d;
	}
	snprintf(why, sizeof(why), "%.200s", r->why_bogus != NULL ?
	    r->why_bogus : "no reason given");
	ub_resolve_free(r);
	if ((plain = open_system(sys, false, err, errsz)) == NULL ||
	    finalise(plain, "system resolver", err, errsz) == -1) {
		dns_close(&plain);
		dns_close(&d);
		return NULL;
	}
	r = probe(plain, sys);
	/* An answer, even an empty one, is not an outage: it strips. */
	answers = r != NULL && (r->rcode == RCODE_NOERROR ||
	    r->rcode == RCODE_NXDOMAIN);
	ub_resolve_free(r);
	if (!answers) {
		dns_close(&plain);
		log_info("DNS: system resolver (%s), DNSSEC validation on, "
		    "root trust anchor (dnssec_validation = auto; the probe "
		    "got no answer: %s)", src, why);
		return d;
	}
	dns_close(&d);
	log_warnx("DNSSEC validation through the system resolver (%s) "
	    "fails (%s): it strips DNSSEC records; DNSSEC and DANE are off; "
	    "set dnssec_validation = yes to defer mail instead, or "
	    "dns_resolver_config to a resolver setup of your own", src, why);
	log_info("DNS: system resolver (%s), DNSSEC validation off "
	    "(dnssec_validation = auto, the resolver strips DNSSEC)", src);
	return plain;
}

struct dns *
dns_open_system(const struct dns_system *sys, enum dns_dnssec dnssec,
    char *err, size_t errsz)
{
	struct dns *d;
	const char *src = sys->forward_conf != NULL ? sys->forward_conf :
	    sys->resolv_conf;
	bool have_key = access(sys->root_key, R_OK) == 0;

	if (dnssec == DNS_DNSSEC_YES && !have_key) {
		snprintf(err, errsz, "dnssec_validation = yes, but the root "
		    "trust anchor %s: %s (install dns-root-data)",
		    sys->root_key, strerror(errno));
		return NULL;
	}
	if ((d = open_system(sys, have_key && dnssec != DNS_DNSSEC_NO, err,
	    errsz)) == NULL)
		return NULL;
	if (finalise(d, "system resolver", err, errsz) == -1) {
		dns_close(&d);
		return NULL;
	}
	if (dnssec == DNS_DNSSEC_AUTO && have_key)
		return auto_decide(d, sys, src, err, errsz);
	log_info("DNS: system resolver (%s), DNSSEC validation %s "
	    "(dnssec_validation = %s)", src, d->validating ?
	    "on, root trust anchor" : "off", dnssec == DNS_DNSSEC_YES ?
	    "yes" : dnssec == DNS_DNSSEC_NO ? "no" : "auto, no root trust "
	    "anchor file");
	return d;
}

/* An unbound.conf(5) of the administrator's (or a test's). */
static struct dns *
open_config(const char *config_file, enum dns_dnssec dnssec, char *err,
    size_t errsz)
{
	struct dns *d;
	int e;

	if (access(config_file, R_OK) == -1) {
		snprintf(err, errsz, "%s: %s", config_file, strerror(errno));
		return NULL;
	}
	if ((d = dns_new(err, errsz)) == NULL)
		return NULL;
	e = ub_ctx_config(d->ctx, config_file);
	/* no: whatever anchors the file names, no validator runs. */
	if (e == 0 && dnssec == DNS_DNSSEC_NO)
		e = ub_ctx_set_option(d->ctx, "module-config:", "iterator");
	if (e != 0) {
		snprintf(err, errsz, "%s: %s", config_file, ub_strerror(e));
		dns_close(&d);
		return NULL;
	}
	if (finalise(d, config_file, err, errsz) == -1) {
		dns_close(&d);
		return NULL;
	}
	d->validating = dnssec != DNS_DNSSEC_NO;
	log_info("DNS: resolver setup %s, DNSSEC validation %s", config_file,
	    d->validating ? "as the file says" : "off (dnssec_validation = "
	    "no)");
	return d;
}

struct dns *
dns_open(const char *config_file, enum dns_dnssec dnssec, char *err,
    size_t errsz)
{
	static const struct dns_system sys = {
		.resolv_conf = DNS_RESOLV_CONF,
		.forward_conf = NULL,
		.hosts = DNS_HOSTS_FILE,
		.root_key = DNS_ROOT_KEY_FILE,
		.probe = ".",
	};

	if (config_file[0] != '\0')
		return open_config(config_file, dnssec, err, errsz);
	return dns_open_system(&sys, dnssec, err, errsz);
}

bool
dns_validating(const struct dns *d)
{
	return d->validating;
}

void
dns_close(struct dns **dp)
{
	if (*dp == NULL)
		return;
	if ((*dp)->ctx != NULL)
		ub_ctx_delete((*dp)->ctx);
	free(*dp);
	*dp = NULL;
}

void
dns_set_timeout(struct dns *d, unsigned ms)
{
	d->timeout_ms = ms;
}

void
dns_seed(struct dns *d, uint64_t seed)
{
	d->rng = seed;
}

const char *
dns_result_str(enum dns_result r)
{
	switch (r) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "no data";
	case DNS_NULLMX:
		return "null MX";
	case DNS_NXDOMAIN:
		return "no such domain";
	case DNS_TEMPFAIL:
		return "temporary failure";
	}
	return "unknown";
}

static enum dns_result
bad_name(struct dns_info *info, const char *what, const char *name)
{
	char safe[DNS_TEXT_MAX];
	size_t len = strnlen(name, DNS_TEXT_MAX), i, o = 0;

	/* The name came from the caller: make it printable for the log. */
	for (i = 0; i < len && o + 5 < sizeof(safe); i++) {
		if ((unsigned char)name[i] > 0x20 &&
		    (unsigned char)name[i] < 0x7f && name[i] != '\\')
			safe[o++] = name[i];
		else
			o += (size_t)snprintf(safe + o, sizeof(safe) - o,
			    "\\%03u", (unsigned char)name[i]);
	}
	safe[o] = '\0';
	info->secure = false;
	whyf(info->why, "%s \"%.200s\" is not a valid host name", what, safe);
	return DNS_NXDOMAIN;
}

/* Keep the valid MX targets of r in a heap array; n at most DNS_RR_MAX. */
static struct dns_mx *
mx_collect(struct ub_result *r, size_t *n_r, bool *null_r,
    struct dns_info *info)
{
	char what[DNS_TEXT_MAX + 32], text[DNS_TEXT_MAX];
	struct dns_mx *mx;
	const char *err, *terr;
	size_t i, n = 0, nrr;

	for (nrr = 0; r->data[nrr] != NULL && nrr < DNS_RR_MAX; nrr++)
		;
	mx = xcalloc(nrr, sizeof(*mx));
	*null_r = false;
	for (i = 0; i < nrr; i++) {
		if (r->len[i] < 0 || dns_parse_mx_rdata(
		    (const uint8_t *)r->data[i], (size_t)r->len[i], &mx[n],
		    &err) == -1) {
			if (r->len[i] > 2 && dns_name_to_text(
			    (const uint8_t *)r->data[i] + 2,
			    (size_t)r->len[i] - 2, text, sizeof(text),
			    &terr) != 0)
				snprintf(what, sizeof(what), "MX \"%.200s\"",
				    text);
			else
				snprintf(what, sizeof(what), "MX record");
			skip(info, what, err);
			continue;
		}
		if (mx[n].host[0] == '\0') {
			*null_r = true;
			continue;
		}
		n++;
	}
	*n_r = n;
	return mx;
}

enum dns_result
dns_mx(struct dns *d, const char *domain, struct dns_mx_list *out)
{
	char name[DNS_NAME_MAX + 1];
	struct ub_result *r;
	struct dns_mx *mx;
	enum dns_result res;
	size_t i, j, n;
	bool null_mx, dup;

	memset(out, 0, sizeof(*out));
	info_init(&out->info);
	if (!query_name(domain, name, sizeof(name), 0))
		return bad_name(&out->info, "domain", domain);
	if ((res = lookup(d, name, DNS_T_MX, &r, &out->info)) != DNS_OK)
		return res;
	mx = mx_collect(r, &n, &null_mx, &out->info);
	if (null_mx && n == 0 && out->info.nskipped == 0 &&
	    r->data[1] == NULL) {
		whyf(out->info.why, "%s: null MX: the domain accepts no mail",
		    name);
		res = DNS_NULLMX;
		goto done;
	}
	if (null_mx)
		skip(&out->info, "MX \".\"", "null MX beside other MX records");
	dns_mx_order(mx, n, &d->rng);
	for (i = 0; i < n && out->n < DNS_MX_MAX; i++) {
		for (dup = false, j = 0; j < out->n && !dup; j++)
			dup = strcasecmp(out->mx[j].host, mx[i].host) == 0;
		if (!dup)
			out->mx[out->n++] = mx[i];
	}
	if (out->n == 0) {
		whyf(out->info.why, "%s: no usable MX host (%s)", name,
		    out->info.skipped);
		res = DNS_TEMPFAIL;
	}
done:
	free(mx);
	ub_resolve_free(r);
	return res;
}

/* Add the addresses of one family's answer, at most max of them. */
static void
addr_collect(struct ub_result *r, int family, size_t max,
    struct dns_addr_list *out)
{
	struct dns_addr *a;
	size_t want = family == AF_INET6 ? 16 : 4, i, added = 0;

	for (i = 0; r->data[i] != NULL && i < DNS_RR_MAX; i++) {
		if (r->len[i] < 0 || (size_t)r->len[i] != want) {
			skip(&out->info, family == AF_INET6 ? "AAAA record" :
			    "A record", "wrong length");
			continue;
		}
		if (added == max || out->n == DNS_ADDR_MAX) {
			skip(&out->info, "address", "more than the limit");
			continue;
		}
		a = &out->addr[out->n++];
		a->family = family;
		if (family == AF_INET6)
			memcpy(&a->u.v6, r->data[i], want);
		else
			memcpy(&a->u.v4, r->data[i], want);
		added++;
	}
}

enum dns_result
dns_addr(struct dns *d, const char *host, int families,
    struct dns_addr_list *out)
{
	static const struct {
		int flag, type, family;
	} fam[] = {
		{ DNS_INET6, DNS_T_AAAA, AF_INET6 },
		{ DNS_INET4, DNS_T_A, AF_INET },
	};
	char name[DNS_NAME_MAX + 1], why[DNS_WHY_MAX] = "";
	struct dns_info fi;
	struct ub_result *r;
	enum dns_result res[2] = { DNS_NODATA, DNS_NODATA };
	size_t i, max;
	bool all_secure = true, used_secure = true, bogus = false;

	memset(out, 0, sizeof(*out));
	info_init(&out->info);
	if (!query_name(host, name, sizeof(name), 0))
		return bad_name(&out->info, "host", host);
	if ((families & DNS_INET_ALL) == 0) {
		out->info.secure = false;
		whyf(out->info.why, "no address family to look up");
		return DNS_NODATA;
	}
	/* With both families, each may fill half of the list. */
	max = (families & DNS_INET_ALL) == DNS_INET_ALL ? DNS_ADDR_MAX / 2 :
	    DNS_ADDR_MAX;
	/*
	 * Each family is looked up on its own record: the addresses of one
	 * that answered are as secure as that answer (and its negative
	 * twin), whatever became of the other.  A failed or bogus AAAA
	 * lookup beside a secure A answer must not make the A addresses
	 * insecure: a forged or dropped answer for one family would then
	 * turn DANE off for the host (RFC 7672 uses TLSA records only for
	 * a host whose addresses are secure) instead of leaving it the
	 * other family's addresses, still under DANE.
	 */
	for (i = 0; i < 2; i++) {
		if ((families & fam[i].flag) == 0)
			continue;
		info_init(&fi);
		res[i] = lookup(d, name, fam[i].type, &r, &fi);
		if (out->info.canon[0] == '\0')
			memcpy(out->info.canon, fi.canon, sizeof(fi.canon));
		all_secure = all_secure && fi.secure;
		if (res[i] != DNS_TEMPFAIL)
			used_secure = used_secure && fi.secure;
		bogus = bogus || fi.bogus;
		if (res[i] == DNS_OK) {
			addr_collect(r, fam[i].family, max, out);
			ub_resolve_free(r);
		} else if (why[0] == '\0' || res[i] == DNS_TEMPFAIL)
			memcpy(why, fi.why, sizeof(why));
	}
	if (out->n > 0) {
		/* A bogus family's reason stays in why; the result is OK. */
		out->info.secure = used_secure;
		memcpy(out->info.why, why, sizeof(why));
		return DNS_OK;
	}
	out->info.secure = all_secure;
	out->info.bogus = bogus;
	if (why[0] != '\0')
		memcpy(out->info.why, why, sizeof(why));
	else
		whyf(out->info.why, "%s: no usable address", name);
	if (res[0] == DNS_TEMPFAIL || res[1] == DNS_TEMPFAIL)
		return DNS_TEMPFAIL;
	if (res[0] == DNS_OK || res[1] == DNS_OK)
		return DNS_TEMPFAIL;	/* records, none usable */
	if (res[0] == DNS_NXDOMAIN || res[1] == DNS_NXDOMAIN)
		return DNS_NXDOMAIN;
	return DNS_NODATA;
}

enum dns_result
dns_tlsa(struct dns *d, const char *host, unsigned port,
    struct dns_tlsa_list *out)
{
	char name[DNS_NAME_MAX + 1], qname[TLSA_NAME_MAX];
	struct dns_tlsa t;
	struct ub_result *r;
	enum dns_result res;
	const char *err;
	size_t i;

	memset(out, 0, sizeof(*out));
	info_init(&out->info);
	if (!query_name(host, name, sizeof(name), 0))
		return bad_name(&out->info, "host", host);
	if (port == 0 || port > 65535) {
		out->info.secure = false;
		whyf(out->info.why, "port %u out of range", port);
		return DNS_NXDOMAIN;
	}
	snprintf(qname, sizeof(qname), "_%u._tcp.%s", port, name);
	if (strlen(qname) > DNS_NAME_MAX)
		return bad_name(&out->info, "TLSA name", qname);
	if ((res = lookup(d, qname, DNS_T_TLSA, &r, &out->info)) != DNS_OK)
		return res;
	for (i = 0; r->data[i] != NULL && i < DNS_RR_MAX; i++) {
		if (r->len[i] < 0 || dns_parse_tlsa_rdata(
		    (const uint8_t *)r->data[i], (size_t)r->len[i], &t,
		    &err) == -1) {
			skip(&out->info, "TLSA record", err);
			continue;
		}
		if (out->n == DNS_TLSA_MAX ||
		    t.len > DNS_TLSA_POOL - out->pool_len) {
			skip(&out->info, "TLSA record", "more than the limit");
			continue;
		}
		memcpy(out->pool + out->pool_len, t.data, t.len);
		t.data = out->pool + out->pool_len;
		out->pool_len += t.len;
		out->tlsa[out->n++] = t;
	}
	ub_resolve_free(r);
	return DNS_OK;
}
