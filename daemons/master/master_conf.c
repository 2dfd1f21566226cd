/*
 * SPDX-License-Identifier: ISC
 *
 * master_conf.c -- load and check tern.conf and services.conf together.
 *
 * Process:  master (start-up and reload), ternctl check.
 * Input:    the administrator's files; every problem is reported, with
 *           file, line and parameter or service.
 * Failure:  returns a count; the caller decides (start-up: exit; reload:
 *           keep the running configuration).
 */
#include "config.h"

#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "match.h"
#include "log.h"
#include "master.h"
#include "priv.h"
#include "tls.h"

struct report_ctx {
	master_report_fn report;
	void		*arg;
	int		 errors;
};

static void
say(struct report_ctx *rc, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct report_ctx *rc, bool error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		rc->errors++;
	if (rc->report != NULL)
		rc->report(rc->arg, error, msg);
}

static void
conf_diag(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	struct report_ctx *rc = arg;
	char where[1100];

	if (file != NULL)
		snprintf(where, sizeof(where), "%s:%u: ", file, line);
	else
		where[0] = '\0';
	say(rc, sev == CONF_ERROR, "%s%s%s%s", where, param ? param : "",
	    param ? ": " : "", msg);
}

static void
services_diag(void *arg, const char *file, unsigned line,
    const char *service, const char *msg)
{
	struct report_ctx *rc = arg;

	say(rc, true, "%s:%u: %s%s%s%s", file, line,
	    service ? "service " : "", service ? service : "",
	    service ? ": " : "", msg);
}

static int
copy_path(struct report_ctx *rc, const struct conf *c, const char *name,
    char *dst, size_t sz)
{
	if (strlcpy(dst, conf_str(c, name), sz) >= sz) {
		say(rc, true, "%s: path too long", name);
		return -1;
	}
	return 0;
}

static void
lookup_users(struct report_ctx *rc, struct master_config *mc)
{
	const char *owner, *group, *err;
	struct priv_user u;
	struct group *gr;

	owner = conf_str(mc->conf, "mail_owner");
	if (priv_lookup(owner, &u, &err) == -1)
		say(rc, true, "mail_owner %s: %s; create it with: useradd "
		    "--system --user-group --home-dir /nonexistent "
		    "--no-create-home --shell /usr/sbin/nologin %s", owner,
		    err, owner);
	else {
		mc->mail_uid = u.uid;
		mc->mail_gid = u.gid;
	}
	group = conf_str(mc->conf, "setgid_group");
	if ((gr = getgrnam(group)) == NULL)
		say(rc, false, "setgid_group %s does not exist: public/ stays "
		    "closed to local users; create it with: groupadd --system "
		    "%s", group, group);
	else if (gr->gr_gid == 0)
		say(rc, true, "setgid_group %s has gid 0", group);
	else
		mc->setgid_gid = gr->gr_gid;
}

/* smtpd parses mynetworks per connection: a typo must show up here. */
static void
check_networks(struct report_ctx *rc, const struct conf *c)
{
	const char *const *words, *err;
	struct match_nets nets;
	size_t n, bad;

	words = conf_list(c, "mynetworks", &n);
	if (match_nets_parse(words, n, &nets, &bad, &err) == -1) {
		say(rc, true, "mynetworks: %s: %s", bad < n ? words[bad] : "",
		    err);
		return;
	}
	match_nets_free(&nets);
}

/*
 * The SMTP server's certificates and keys: STARTTLS is offered only when
 * a handshake can really succeed.
 */
static void
check_tls(struct report_ctx *rc, struct master_config *mc)
{
	const char *level = tls_server_level(mc->conf);
	int r;

	if (!tls_server_configured(mc->conf)) {
		/* Plain SMTP by choice, unless TLS is required. */
		if (strcmp(level, "encrypt") == 0) {
			snprintf(mc->tls_error, sizeof(mc->tls_error), "no "
			    "certificate configured (smtpd_tls_cert_file)");
			say(rc, true, "smtpd_tls_security_level = encrypt, but "
			    "%s", mc->tls_error);
		}
		return;
	}
	tls_init();
	r = tls_server_check(mc->conf, time(NULL), mc->tls_error,
	    sizeof(mc->tls_error));
	if (r == 0) {
		mc->tls_ok = true;
		return;
	}
	if (strcmp(level, "encrypt") == 0)
		say(rc, true, "smtpd_tls_security_level = encrypt, but TLS is "
		    "not usable: %s", mc->tls_error);
}

/*
 * "-o name=value" pairs that lead a service's arguments override
 * tern.conf for that service: each must name a parameter and pass its
 * checks.
 */
static void
check_overrides(struct report_ctx *rc, const char *path,
    const struct service_def *d)
{
	struct conf *c;
	char name[128];
	const char *eq;
	size_t i;

	for (i = 0; i + 1 < d->argc && strcmp(d->argv[i], "-o") == 0; i += 2) {
		eq = strchr(d->argv[i + 1], '=');
		if (eq == NULL || eq == d->argv[i + 1] ||
		    (size_t)(eq - d->argv[i + 1]) >= sizeof(name)) {
			say(rc, true, "%s:%u: service %s: -o %s: expected "
			    "name=value", path, d->line, d->name,
			    d->argv[i + 1]);
			continue;
		}
		memcpy(name, d->argv[i + 1], (size_t)(eq - d->argv[i + 1]));
		name[eq - d->argv[i + 1]] = '\0';
		if (conf_param_find(name) == NULL) {
			say(rc, true, "%s:%u: service %s: -o %s: unknown "
			    "parameter", path, d->line, d->name, name);
			continue;
		}
		/* The value's own checks (type, range, validator). */
		c = conf_new(NULL, NULL);
		if (conf_set(c, name, eq + 1) == -1 || conf_finish(c) != 0)
			say(rc, true, "%s:%u: service %s: -o %s: bad value",
			    path, d->line, d->name, d->argv[i + 1]);
		conf_free(&c);
	}
}

int
master_config_load(const char *dir, bool as_root, struct master_config *mc,
    master_report_fn report, void *arg)
{
	char path[1100];

	snprintf(path, sizeof(path), "%s/tern.conf", dir);
	return master_config_load_file(dir, path, as_root, mc, report, arg);
}

int
master_config_load_file(const char *dir, const char *conf_path,
    bool as_root, struct master_config *mc, master_report_fn report,
    void *arg)
{
	struct report_ctx rc = { report, arg, 0 };
	char path[1100], abs[PATH_MAX];
	size_t i;

	memset(mc, 0, sizeof(*mc));
	mc->mail_uid = (uid_t)-1;
	mc->mail_gid = (gid_t)-1;
	mc->setgid_gid = (gid_t)-1;
	if (strlcpy(mc->config_dir, dir, sizeof(mc->config_dir)) >=
	    sizeof(mc->config_dir)) {
		say(&rc, true, "config directory name too long");
		return rc.errors;
	}

	mc->conf = conf_new(conf_diag, &rc);
	/*
	 * Go on after errors: conf_finish() leaves defaults in place of bad
	 * values, so that services.conf is checked too and every problem is
	 * reported at once.
	 */
	if (conf_load(mc->conf, conf_path) == -1 && rc.errors == 0)
		rc.errors++;
	/* The directory in use, whatever the file says. */
	if (realpath(dir, abs) != NULL &&
	    conf_set(mc->conf, "config_directory", abs) == -1 &&
	    rc.errors == 0)
		rc.errors++;
	conf_finish(mc->conf);
	check_networks(&rc, mc->conf);
	copy_path(&rc, mc->conf, "queue_directory", mc->queue_dir,
	    sizeof(mc->queue_dir));
	copy_path(&rc, mc->conf, "daemon_directory", mc->daemon_dir,
	    sizeof(mc->daemon_dir));

	snprintf(path, sizeof(path), "%s/services.conf", dir);
	services_load(path, &mc->services, services_diag, &rc);

	for (i = 0; i < mc->services.n; i++) {
		const struct service_def *d = &mc->services.defs[i];
		unsigned limit = d->maxproc ? d->maxproc :
		    (unsigned)conf_int(mc->conf, "default_process_limit");

		if (d->prefork > limit)
			say(&rc, true, "%s:%u: service %s: prefork %u is above "
			    "the process limit %u", path, d->line, d->name,
			    d->prefork, limit);
		check_overrides(&rc, path, d);
	}
	check_tls(&rc, mc);
	if (as_root)
		lookup_users(&rc, mc);
	return rc.errors;
}

void
master_config_free(struct master_config *mc)
{
	if (mc->conf != NULL)
		conf_free(&mc->conf);
	services_free(&mc->services);
}
