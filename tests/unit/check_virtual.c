/*
 * SPDX-License-Identifier: ISC
 *
 * check_virtual.c -- unit tests for the virtual agent's logic
 * (daemons/virtual, libvirtual.a): splitting virtual_mailbox_maps with
 * inline:{} tables, the lookup keys of an address (extension, catch-all),
 * mailbox paths (no way out of virtual_mailbox_base), virtual_uid and
 * virtual_gid (numbers, names, 0 refused), and the per-recipient handler
 * on requests built in memory: delivery, every bounce and deferral, the
 * order of the checks, and a file size limit that defers (4.2.2).
 *
 * Process:  test runner (Check); mailboxes in a scratch directory.
 * Input:    built here.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "log.h"
#include "virtual.h"
#include "xmem.h"

/* ---- virtual_maps_split ---------------------------------------------- */

static const struct {
	const char *in;
	int n;			/* -1: an error */
	const char *names[4];
} split_cases[] = {
	{ "", 0, { NULL } },
	{ " , ,\t", 0, { NULL } },
	{ "lmdb:/etc/tern/virtual", 1, { "lmdb:/etc/tern/virtual" } },
	{ "lmdb:/a lmdb:/b,,lmdb:/c", 3, { "lmdb:/a", "lmdb:/b", "lmdb:/c" } },
	{ "inline:{ a=b, c=d }, lmdb:/x", 2,
	  { "inline:{ a=b, c=d }", "lmdb:/x" } },
	{ "inline:{ { k = a, b }, k2=v2 } static:x", 2,
	  { "inline:{ { k = a, b }, k2=v2 }", "static:x" } },
	{ "static:{ a b }", 1, { "static:{ a b }" } },
	{ "inline:{ a=b", -1, { NULL } },
	{ "inline:{ {a=b }", -1, { NULL } },
	{ "lmdb:/x}", -1, { NULL } },
	{ "}", -1, { NULL } },
	{ "inline:{}} x", -1, { NULL } },
};

START_TEST(test_split)
{
	char **names;
	const char *err = NULL;
	size_t n, i;
	int rc;

	rc = virtual_maps_split(split_cases[_i].in, &names, &n, &err);
	if (split_cases[_i].n == -1) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(err, "unbalanced braces");
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, (size_t)split_cases[_i].n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(names[i], split_cases[_i].names[i]);
	virtual_maps_free(names, n);
}
END_TEST

START_TEST(test_split_limit)
{
	char buf[VIRTUAL_MAPS_MAX * 10 + 10], **names;
	const char *err;
	size_t n, i, len = 0;

	for (i = 0; i < VIRTUAL_MAPS_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "static:%zu ", i % 10);
	ck_assert_int_eq(virtual_maps_split(buf, &names, &n, &err), 0);
	ck_assert_uint_eq(n, VIRTUAL_MAPS_MAX);
	virtual_maps_free(names, n);
	strlcat(buf, "static:x", sizeof(buf));
	ck_assert_int_eq(virtual_maps_split(buf, &names, &n, &err), -1);
	ck_assert_str_eq(err, "too many tables");
}
END_TEST

/* ---- virtual_path ---------------------------------------------------- */

static const struct {
	const char *base, *value, *path;	/* path NULL: refused */
	bool maildir;
} path_cases[] = {
	{ "/var/vmail", "example.com/u/", "/var/vmail/example.com/u/", true },
	{ "/var/vmail/", "example.com/u", "/var/vmail/example.com/u", false },
	{ "/var/vmail", "//u/", "/var/vmail/u/", true },
	{ "/v", "..a/b..", "/v/..a/b..", false },
	{ "/v", "a/./b/", "/v/a/./b/", true },
	{ "/v", "", NULL, false },
	{ "/v", "///", NULL, false },
	{ "/v", "..", NULL, false },
	{ "/v", "../x/", NULL, false },
	{ "/v", "a/../../x", NULL, false },
	{ "/v", "a/..", NULL, false },
	{ "/v", "a/../", NULL, false },
	{ "/v", "a\nb", NULL, false },
	{ "/v", "a\x7f", NULL, false },
};

START_TEST(test_path)
{
	char out[VIRTUAL_PATH_MAX];
	const char *err = NULL;
	bool md = !path_cases[_i].maildir;
	int rc;

	rc = virtual_path(path_cases[_i].base, path_cases[_i].value, out,
	    sizeof(out), &md, &err);
	if (path_cases[_i].path == NULL) {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(err);
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, path_cases[_i].path);
	ck_assert_int_eq(md, path_cases[_i].maildir);
}
END_TEST

START_TEST(test_path_long)
{
	char value[VIRTUAL_PATH_MAX], out[VIRTUAL_PATH_MAX * 2];
	const char *err;
	bool md;

	memset(value, 'a', sizeof(value));
	value[sizeof(value) - 10] = '\0';
	ck_assert_int_eq(virtual_path("/v", value, out, sizeof(out), &md,
	    &err), 0);
	value[sizeof(value) - 10] = 'a';
	value[sizeof(value) - 1] = '\0';
	ck_assert_int_eq(virtual_path("/v", value, out, sizeof(out), &md,
	    &err), -1);
	ck_assert_str_eq(err, "mailbox path too long");
}
END_TEST

/* ---- virtual_ids ----------------------------------------------------- */

START_TEST(test_ids)
{
	struct priv_user u;
	struct passwd *pw;
	const char *err;

	ck_assert_int_eq(virtual_ids("5000", "5001", &u, &err), 0);
	ck_assert_uint_eq(u.uid, 5000);
	ck_assert_uint_eq(u.gid, 5001);
	ck_assert_str_eq(u.name, "5000");
	ck_assert_int_eq(virtual_ids("0", "5001", &u, &err), -1);
	ck_assert_str_eq(err, "virtual_uid is 0 (root)");
	ck_assert_int_eq(virtual_ids("5000", "0", &u, &err), -1);
	ck_assert_str_eq(err, "virtual_gid is 0");
	ck_assert_int_eq(virtual_ids("root", "5001", &u, &err), -1);
	ck_assert_str_eq(err, "virtual_uid is 0 (root)");
	ck_assert_int_eq(virtual_ids("5000", "root", &u, &err), -1);
	ck_assert_str_eq(err, "virtual_gid is 0");
	ck_assert_int_eq(virtual_ids("no-such-user-here", "5001", &u, &err),
	    -1);
	ck_assert_str_eq(err, "virtual_uid: no such user");
	ck_assert_int_eq(virtual_ids("5000", "no-such-group-here", &u, &err),
	    -1);
	ck_assert_str_eq(err, "virtual_gid: no such group");
	ck_assert_int_eq(virtual_ids("4294967295", "5001", &u, &err), -1);
	ck_assert_int_eq(virtual_ids("5000", "99999999999", &u, &err), -1);
	ck_assert_int_eq(virtual_ids("", "5001", &u, &err), -1);
	ck_assert_int_eq(virtual_ids("-5", "5001", &u, &err), -1);
	/* A user name: its uid; as the gid, its login group if no group
	 * has that name. */
	if ((pw = getpwnam("nobody")) != NULL && pw->pw_uid != 0 &&
	    pw->pw_gid != 0) {
		uid_t uid = pw->pw_uid;
		gid_t gid = pw->pw_gid;
		struct group *gr = getgrnam("nobody");

		ck_assert_int_eq(virtual_ids("nobody", "nobody", &u, &err), 0);
		ck_assert_uint_eq(u.uid, uid);
		ck_assert_uint_eq(u.gid, gr != NULL ? gr->gr_gid : gid);
	}
}
END_TEST

/* ---- the handler ----------------------------------------------------- */

#define QID	"000000000000001111111111"

static char	topdir[64];
static struct virtual_cfg cfg;
static const char *domains[] = { "example.com", "example.net" };

static void
remove_tree(int at, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		(void)unlinkat(at, name, 0);
		return;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			remove_tree(dirfd(d), de->d_name);
	closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

static void
cfg_setup(const char *maps)
{
	const char *err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.base = topdir;
	cfg.domains = domains;
	cfg.ndomains = 2;
	cfg.delim = "+";
	cfg.hopcount_limit = 3;
	ck_assert_int_eq(virtual_maps_split(maps, &cfg.map_names, &cfg.nmaps,
	    &err), 0);
}

static void
setup(void)
{
	strlcpy(topdir, "/tmp/check_virtual.XXXXXX", sizeof(topdir));
	ck_assert_ptr_nonnull(mkdtemp(topdir));
	cfg_setup("inline:{ a@example.com=a/, m@example.com=m.mbox, "
	    "bad@example.com=../x/, big@example.com=big/, "
	    "@example.net=net/ }");
}

static void
teardown(void)
{
	virtual_cfg_clear(&cfg);
	remove_tree(AT_FDCWD, topdir);
}

/* One request over content for the recipients; results into r[]. */
static void
run(const char *content, const char *const *addrs, size_t n,
    struct deliver_rcpt *r)
{
	struct qfile_range rg[1];
	struct deliver_req req;
	size_t i;

	memset(&req, 0, sizeof(req));
	req.fd = -1;
	strlcpy(req.queue_id, QID, sizeof(req.queue_id));
	strlcpy(req.sender, "s@example.org", sizeof(req.sender));
	rg[0].off = 0;
	rg[0].len = strlen(content);
	req.q.base = (const uint8_t *)content;
	req.q.content = rg;
	req.q.ncontent = rg[0].len > 0;
	req.q.content_size = rg[0].len;
	req.q.arrival_sec = time(NULL);
	memset(r, 0, n * sizeof(*r));
	for (i = 0; i < n; i++) {
		r[i].index = (uint32_t)i;
		r[i].addr = (char *)addrs[i];
		r[i].orcpt = (char *)"";
		r[i].orcpt_type = (char *)"";
	}
	req.rcpts = r;
	req.nrcpt = n;
	virtual_deliver_req(&req, &cfg);
	free(req.hdr);
}

static void
expect(const struct deliver_rcpt *r, enum deliver_result res,
    const char *dsn, const char *text)
{
	ck_assert_int_eq(r->result, res);
	ck_assert_str_eq(r->dsn, dsn);
	ck_assert_str_eq(r->relay, "virtual");
	ck_assert_msg(strstr(r->text, text) != NULL, "text \"%s\" lacks "
	    "\"%s\"", r->text, text);
}

/* The one message in topdir/rel/new, NUL-terminated. */
static char *
only_message(const char *rel)
{
	char dir[256], path[512];
	struct dirent *de;
	char *buf = NULL;
	int n = 0, fd;
	ssize_t got;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/new", topdir, rel);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
		buf = xmalloc(8192);
		got = read(fd, buf, 8191);
		ck_assert_int_ge(got, 0);
		buf[got] = '\0';
		close(fd);
	}
	closedir(d);
	ck_assert_int_eq(n, 1);
	return buf;
}

START_TEST(test_deliver_maildir)
{
	static const char *const to[] = { "a+x@Example.COM", "z@example.net" };
	struct deliver_rcpt r[2];
	char *m;

	run("Subject: s\r\n\r\nbody\r\n", to, 2, r);
	expect(&r[0], DELIVER_SENT, "2.0.0", "delivered to maildir");
	expect(&r[1], DELIVER_SENT, "2.0.0", "delivered to maildir");
	m = only_message("a");
	ck_assert_str_eq(m, "Delivered-To: a+x@Example.COM\nSubject: s\n\n"
	    "body\n");
	free(m);
	m = only_message("net");
	ck_assert_str_eq(m, "Delivered-To: z@example.net\nSubject: s\n\n"
	    "body\n");
	free(m);
}
END_TEST

START_TEST(test_deliver_mbox)
{
	static const char *const to[] = { "m@example.com" };
	struct deliver_rcpt r[1];
	char path[256], buf[512];
	ssize_t n;
	int fd;

	run("Subject: s\n\nFrom here\n", to, 1, r);
	expect(&r[0], DELIVER_SENT, "2.0.0", "delivered to mailbox");
	snprintf(path, sizeof(path), "%s/m.mbox", topdir);
	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(strncmp(buf, "From s@example.org ", 19), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\nDelivered-To: m@example.com\n"
	    "Subject: s\n\n>From here\n\n"));
}
END_TEST

/* Each refusal, in the order the checks run. */
START_TEST(test_refusals)
{
	static const char *const to[] = {
		"nobody@example.com", "a@example.org", "a@Example.com\n",
		"bad@example.com", "noat",
	};
	struct deliver_rcpt r[5];
	struct dirent *de;
	DIR *d;

	run("Delivered-To: someone@else\r\n\r\n", to, 5, r);
	expect(&r[0], DELIVER_BOUNCED, "5.1.1",
	    "unknown user: \"nobody@example.com\"");
	expect(&r[1], DELIVER_DEFERRED, "4.3.5",
	    "domain example.org is not in virtual_mailbox_domains");
	expect(&r[2], DELIVER_BOUNCED, "5.1.3", "bad recipient address");
	expect(&r[3], DELIVER_DEFERRED, "4.3.5", "\"..\" in the mailbox path");
	expect(&r[4], DELIVER_DEFERRED, "4.3.5", "domain (none) is not");
	/* Nothing was written. */
	ck_assert_ptr_nonnull(d = opendir(topdir));
	while ((de = readdir(d)) != NULL)
		ck_assert_msg(de->d_name[0] == '.', "%s", de->d_name);
	closedir(d);
}
END_TEST

START_TEST(test_loops)
{
	static const char *const to[] = { "a@example.com", "z@example.net" };
	struct deliver_rcpt r[2];

	/* The loop checks come before the domain and the table. */
	run("Delivered-To: <A@example.com>\r\n\r\n", to, 2, r);
	expect(&r[0], DELIVER_BOUNCED, "5.4.6",
	    "mail forwarding loop for a@example.com");
	expect(&r[1], DELIVER_SENT, "2.0.0", "delivered");
	run("Received: 1\r\nReceived: 2\r\nReceived: 3\r\nReceived: 4\r\n\r\n",
	    to, 2, r);
	expect(&r[0], DELIVER_BOUNCED, "5.4.6", "too many hops (4 Received");
	expect(&r[1], DELIVER_BOUNCED, "5.4.6", "too many hops");
	run("Received: 1\r\nReceived: 2\r\nReceived: 3\r\n\r\n", to, 1, r);
	expect(&r[0], DELIVER_SENT, "2.0.0", "delivered");
}
END_TEST

START_TEST(test_config_errors)
{
	static const char *const to[] = { "a@example.com" };
	struct deliver_rcpt r[1];

	cfg.base = "relative/dir";
	run("\r\n", to, 1, r);
	expect(&r[0], DELIVER_DEFERRED, "4.3.5",
	    "virtual_mailbox_base must be an absolute directory");
	cfg.base = "";
	run("\r\n", to, 1, r);
	expect(&r[0], DELIVER_DEFERRED, "4.3.5", "virtual_mailbox_base");
	virtual_cfg_clear(&cfg);
	cfg_setup("");
	run("\r\n", to, 1, r);
	expect(&r[0], DELIVER_DEFERRED, "4.3.0",
	    "virtual_mailbox_maps is empty");
	virtual_cfg_clear(&cfg);
	cfg_setup("inline:{ a@example.com=a/ } lmdb:/nonexistent/table");
	run("\r\n", to, 1, r);
	expect(&r[0], DELIVER_DEFERRED, "4.3.0",
	    "virtual_mailbox_maps: cannot open /nonexistent/table.lmdb");
	virtual_cfg_clear(&cfg);
	cfg_setup("static:shared/ inline:{ a@example.com=a/ }");
	/* Each key in every table first: static: answers everything. */
	run("\r\n", to, 1, r);
	expect(&r[0], DELIVER_SENT, "2.0.0", "delivered");
	free(only_message("shared"));
}
END_TEST

/*
 * A file size limit: deferred 4.2.2, nothing left in tmp/.  In a child,
 * so that the limit cannot touch Check's own files (CK_FORK=no).
 */
START_TEST(test_file_too_big)
{
	static const char *const to[] = { "big@example.com" };
	struct rlimit rl;
	struct deliver_rcpt r[1];
	char body[4096], dir[256];
	int status;
	pid_t pid;
	DIR *d;

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (getrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		rl.rlim_cur = 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			_exit(2);
		run(body, to, 1, r);
		_exit(r[0].result == DELIVER_DEFERRED &&
		    strcmp(r[0].dsn, "4.2.2") == 0 &&
		    strstr(r[0].text, "File too large") != NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	snprintf(dir, sizeof(dir), "%s/big/tmp", topdir);
	ck_assert_ptr_nonnull(d = opendir(dir));
	closedir(d);
	ck_assert_int_eq(rmdir(dir), 0);	/* empty */
}
END_TEST

static Suite *
virtual_suite(void)
{
	Suite *s = suite_create("virtual");
	TCase *tc;

	tc = tcase_create("conf");
	tcase_add_loop_test(tc, test_split, 0,
	    (int)(sizeof(split_cases) / sizeof(split_cases[0])));
	tcase_add_test(tc, test_split_limit);
	tcase_add_loop_test(tc, test_path, 0,
	    (int)(sizeof(path_cases) / sizeof(path_cases[0])));
	tcase_add_test(tc, test_path_long);
	tcase_add_test(tc, test_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("deliver");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_deliver_maildir);
	tcase_add_test(tc, test_deliver_mbox);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_loops);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_file_too_big);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check_virtual", 0);
	sr = srunner_create(virtual_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
