/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_check.c -- "ternctl check": find every problem in a Tern
 * set-up before it bites: configuration, users, directories, programs,
 * lookup tables, TLS files.
 *
 * Process:  ternctl.
 * Failure:  each problem is one line on stderr naming the file or the
 *           parameter and what to do; exit 1 when any is found.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "conf.h"
#include "map.h"
#include "master.h"
#include "priv.h"
#include "ternctl.h"
#include "tls.h"

static int	problem(bool error, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Print one problem; returns 1 for an error (to be counted), else 0. */
static int
problem(bool error, const char *fmt, ...)
{
	char msg[PATH_MAX * 3];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ternctl_report(NULL, error, msg);
	return error ? 1 : 0;
}

/*
 * May uid (with only its primary group gid, as after priv_drop) do what
 * the permission bits of st say for want (R_OK or X_OK)?
 */
static bool
allowed(const struct stat *st, uid_t uid, gid_t gid, int want)
{
	mode_t u = want == R_OK ? S_IRUSR : S_IXUSR;
	mode_t g = want == R_OK ? S_IRGRP : S_IXGRP;
	mode_t o = want == R_OK ? S_IROTH : S_IXOTH;

	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return (st->st_mode & u) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & g) != 0;
	return (st->st_mode & o) != 0;
}

/* Can uid:gid read path, every directory on the way included? */
static bool
readable_by(const char *path, uid_t uid, gid_t gid)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(path, &st) == -1 || !allowed(&st, uid, gid, R_OK))
		return false;
	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return false;
	while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == -1 || !allowed(&st, uid, gid, X_OK))
			return false;
	}
	return true;
}

static int
check_program(const struct master_config *mc, const char *name)
{
	char path[1100], msg[2300];

	snprintf(path, sizeof(path), "%s/%s", mc->daemon_dir, name);
	if (access(path, X_OK) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s: not an executable program "
	    "(daemon_directory = %s)", path, mc->daemon_dir);
	ternctl_report(NULL, true, msg);
	return 1;
}

/* alias_maps sources are in aliases(5) form: say -a unless named so. */
static const char *
build_flag(const char *param, const char *source)
{
	const char *base = strrchr(source, '/');

	base = base != NULL ? base + 1 : source;
	if (strcmp(param, "alias_maps") == 0 && strcmp(base, "aliases") != 0)
		return "-a ";
	return "";
}

/* An lmdb: table that opened: is it older than its source?  Readable? */
static int
check_lmdb(const struct master_config *mc, const char *param,
    const char *source)
{
	char table[PATH_MAX + 8];
	struct stat src, tab;
	int n = 0;

	snprintf(table, sizeof(table), "%s.lmdb", source);
	if (stat(table, &tab) == -1)
		return 0;
	if (stat(source, &src) == 0 &&
	    (src.st_mtim.tv_sec > tab.st_mtim.tv_sec ||
	    (src.st_mtim.tv_sec == tab.st_mtim.tv_sec &&
	    src.st_mtim.tv_nsec > tab.st_mtim.tv_nsec)))
		n += problem(true, "%s: %s is newer than %s; run ternctl map "
		    "build %s%s", param, source, table,
		    build_flag(param, source), source);
	/* smtpd, qmgr and the agents look tables up as mail_owner. */
	if (mc->mail_uid != (uid_t)-1 &&
	    !readable_by(table, mc->mail_uid, mc->mail_gid))
		n += problem(true, "%s: %s cannot be read by mail_owner %s "
		    "(mode %04o, owner %lu:%lu); make %s and its directories "
		    "readable by it and run ternctl map build %s%s", param,
		    table, conf_str(mc->conf, "mail_owner"),
		    (unsigned)(tab.st_mode & 07777), (unsigned long)tab.st_uid,
		    (unsigned long)tab.st_gid, source, build_flag(param, source),
		    source);
	return n;
}

/* An lmdb: table that did not open: say what to do. */
static int
lmdb_missing(const struct master_config *mc, const char *param,
    const char *source, const char *err)
{
	char table[PATH_MAX + 8];
	struct stat st;
	bool have_src = stat(source, &st) == 0;

	snprintf(table, sizeof(table), "%s.lmdb", source);
	if (have_src)
		return problem(true, "%s: %s; run ternctl map build %s%s",
		    param, err, build_flag(param, source), source);
	if (stat(table, &st) == 0)
		return problem(true, "%s: %s", param, err);
	/* Neither file: an empty table (a default one may well be so). */
	if (conf_is_default(mc->conf, param))
		return 0;
	return problem(true, "%s: neither %s nor %s exists; write %s and run "
	    "ternctl map build %s%s", param, source, table, source,
	    build_flag(param, source), source);
}

/* Every table that a *_maps parameter names. */
static int
check_maps(const struct master_config *mc)
{
	const struct conf_param *p;
	const char *const *names;
	char err[MAP_ERR_MAX];
	struct map *m;
	size_t n, i, len;
	int problems = 0;

	for (p = conf_params; p->name != NULL; p++) {
		len = strlen(p->name);
		if (p->type != CONF_LIST || len < 5 ||
		    strcmp(p->name + len - 5, "_maps") != 0)
			continue;
		names = conf_list(mc->conf, p->name, &n);
		for (i = 0; i < n; i++) {
			bool lmdb = strncmp(names[i], "lmdb:", 5) == 0;

			if (map_open(names[i], &m, err, sizeof(err)) == -1) {
				problems += lmdb ? lmdb_missing(mc, p->name,
				    names[i] + 5, err) : problem(true,
				    "%s: %s: %s", p->name, names[i], err);
				continue;
			}
			map_close(&m);
			if (lmdb)
				problems += check_lmdb(mc, p->name,
				    names[i] + 5);
		}
	}
	return problems;
}

/*
 * A certificate or key file: tlsproxy reads it before it drops
 * privilege, as the user the master runs as (the caller, here).  A
 * private key readable by every user is an error.
 */
static int
check_tls_file(const char *param, const char *path, bool key)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return problem(true, "%s: %s: %s", param, path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return problem(true, "%s: %s: not a regular file", param, path);
	if (access(path, R_OK) == -1)
		return problem(true, "%s: %s: cannot be read by uid %lu: %s; "
		    "tlsproxy reads it as the user the master runs as", param,
		    path, (unsigned long)geteuid(), strerror(errno));
	if (key && (st.st_mode & (S_IROTH | S_IWOTH)) != 0)
		return problem(true, "%s: %s: private key readable by every "
		    "user (mode %04o); run chmod o-rwx %s", param, path,
		    (unsigned)(st.st_mode & 07777), path);
	return 0;
}

static int
check_tls_files(const struct master_config *mc)
{
	static const char *const pairs[][2] = {
		{ "smtpd_tls_cert_file", "smtpd_tls_key_file" },
		{ "smtpd_tls_eccert_file", "smtpd_tls_eckey_file" },
	};
	const char *cert, *key;
	size_t i;
	int problems = 0;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		cert = conf_str(mc->conf, pairs[i][0]);
		key = conf_str(mc->conf, pairs[i][1]);
		if (cert[0] == '\0')
			continue;
		/* One file may hold both: it is then a key file. */
		if (strcmp(cert, key) != 0)
			problems += check_tls_file(pairs[i][0], cert, false);
		if (key[0] != '\0')
			problems += check_tls_file(pairs[i][1], key, true);
	}
	return problems;
}

/*
 * sendmail hands mail to $command_directory/terndrop, which must be
 * setgid setgid_group to write into maildrop/.  Without root (an instance
 * of one user) it needs no privilege.  Missing, it is only a warning: a
 * host may take no local submissions.
 */
static int
check_terndrop(const struct master_config *mc)
{
	const char *group = conf_str(mc->conf, "setgid_group");
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/terndrop",
	    conf_str(mc->conf, "command_directory"));
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return problem(false, "%s: %s; sendmail cannot submit mail "
		    "(command_directory = %s)", path, stat(path, &st) == -1 ?
		    strerror(errno) : "not a regular file",
		    conf_str(mc->conf, "command_directory"));
	if ((st.st_mode & 0111) == 0)
		return problem(true, "%s: not executable; run chmod 2755 %s",
		    path, path);
	if (!priv_is_root() || mc->setgid_gid == (gid_t)-1)
		return 0;
	if (st.st_gid != mc->setgid_gid || (st.st_mode & S_ISGID) == 0 ||
	    st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return problem(true, "%s: owner %lu:%lu mode %04o, should be "
		    "root:%s, setgid, not writable by others (setgid_group); "
		    "run chown root:%s %s && "
		    "chmod 2755 %s", path, (unsigned long)st.st_uid,
		    (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777),
		    group, group, path, path);
	return 0;
}

int
ternctl_check(const char *dir)
{
	struct master_config mc;
	int problems = 0;
	size_t i;

	problems = master_config_load(dir, priv_is_root(), &mc,
	    ternctl_report, NULL);
	if (mc.conf != NULL) {
		problems += check_program(&mc, "master");
		for (i = 0; i < mc.services.n; i++)
			problems += check_program(&mc,
			    mc.services.defs[i].command);
		if (mc.queue_dir[0] != '\0')
			problems += master_dirs_check(&mc, ternctl_report,
			    NULL);
		problems += check_maps(&mc);
		problems += check_tls_files(&mc);
		problems += check_terndrop(&mc);
		/* An error for "encrypt" was counted by master_config_load. */
		if (mc.tls_error[0] != '\0' && !mc.tls_ok &&
		    strcmp(tls_server_level(mc.conf), "encrypt") != 0) {
			char msg[700];

			snprintf(msg, sizeof(msg), "TLS: %s; STARTTLS would "
			    "not be offered", mc.tls_error);
			ternctl_report(NULL, true, msg);
			problems++;
		}
	}
	master_config_free(&mc);
	if (problems > 0) {
		fprintf(stderr, "ternctl: %d problem%s found\n", problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	printf("ternctl: %s: no problems found\n", dir);
	return 0;
}
