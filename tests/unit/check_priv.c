/*
 * SPDX-License-Identifier: ISC
 *
 * check_priv.c -- unit tests for lib/priv.c.
 *
 * Process:  test runner.  As root, with a user "nobody", the privilege
 *           drops run in forked children of our own, which then report
 *           through a pipe; as any other user those tests are skipped.
 * Input:    fixed tables, the password database.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

#define DROP_USER	"nobody"
#define BOGUS_ID	4000000		/* an id nobody here has */

/*
 * Check passes an exit test that expects 1 on any exit(1), a failed
 * assertion's too: a call that returns where it must exit ends the test
 * with this status instead.
 */
#define EXIT_RETURNED	2

#define NAME_63		"abcdefghijklmnopqrstuvwxyz" \
			"abcdefghijklmnopqrstuvwxyz" "abcdefghijk"
#define NAME_64		NAME_63 "l"

static const struct {
	const char	*name;
	const char	*err;
} refused[] = {
	{ "root", "user has uid 0" },
	{ "tern-no-such-user-4711", "no such user" },
	{ "", "no such user" },
	{ NAME_63, "no such user" },	/* fits: looked up, not found */
	{ NAME_64, "name too long" },
	{ NAME_64 NAME_64, "name too long" },
};

/* Set in main: "nobody" as getpwnam() sees it, if it exists. */
static bool	have_nobody;
static uid_t	nobody_uid;
static gid_t	nobody_gid;

/* The chroot test's directory, made by its fixture. */
static char	jail[64];

/*
 * Fork; the child runs fn(arg), which returns NULL on success or what went
 * wrong.  The parent gets that text in msg ("" for success) and returns the
 * child's wait status.
 */
static int
in_child(const char *(*fn)(void *), void *arg, char *msg, size_t sz)
{
	const char *err;
	ssize_t n;
	size_t got = 0;
	pid_t pid;
	int fds[2], status;

	ck_assert_int_eq(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(fds[0]);
		err = fn(arg);
		if (err != NULL)
			(void)write(fds[1], err, strlen(err));
		_exit(err == NULL ? 0 : 1);
	}
	close(fds[1]);
	while (got < sz - 1 &&
	    (n = read(fds[0], msg + got, sz - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* in_child() that must succeed. */
static void
child_ok(const char *(*fn)(void *), void *arg)
{
	char msg[512];
	int status;

	status = in_child(fn, arg, msg, sizeof(msg));
	ck_assert_msg(msg[0] == '\0', "child: %s", msg);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %#x (a fatal() exits 1)", status);
}

START_TEST(test_lookup_refused)
{
	struct priv_user u;
	const char *err = NULL;

	ck_assert_int_eq(priv_lookup(refused[_i].name, &u, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, refused[_i].err) != NULL,
	    "%s: got \"%s\", want \"%s\"", refused[_i].name, err,
	    refused[_i].err);
}
END_TEST

START_TEST(test_lookup_nobody)
{
	struct priv_user u;
	const char *err = "unset";

	ck_assert_int_eq(priv_lookup(DROP_USER, &u, &err), 0);
	ck_assert_str_eq(u.name, DROP_USER);
	ck_assert_uint_eq(u.uid, nobody_uid);
	ck_assert_uint_eq(u.gid, nobody_gid);
	ck_assert_str_eq(err, "unset");	/* untouched on success */
}
END_TEST

START_TEST(test_is_root)
{
	ck_assert_int_eq(priv_is_root(), geteuid() == 0);
}
END_TEST

START_TEST(test_verify_mismatch)
{
	struct priv_user u = { "other", 0, 0 };
	const char *err = NULL;

	u.uid = getuid() + 1;
	u.gid = getgid();
	ck_assert_int_eq(priv_verify(&u, &err), -1);
	ck_assert_str_eq(err, "user ids not all dropped");

	err = NULL;
	u.uid = getuid();
	u.gid = getgid() + 1;
	ck_assert_int_eq(priv_verify(&u, &err), -1);
	ck_assert_str_eq(err, "group ids not all dropped");
}
END_TEST

/*
 * Our own ids: fine for an ordinary user; for root, the check that uid 0
 * cannot be regained must fail (it calls setuid(0), hence the child).
 */
static const char *
verify_self(void *arg)
{
	struct priv_user u = { "self", 0, 0 };
	const char *err = NULL;
	int r;

	(void)arg;
	u.uid = getuid();
	u.gid = getgid();
	r = priv_verify(&u, &err);
	if (getuid() != 0)
		return r == 0 ? NULL : err;
	if (r != -1)
		return "priv_verify accepted root";
	if (err == NULL || strstr(err, "regained") == NULL)
		return err == NULL ? "no error for root" : err;
	return NULL;
}

START_TEST(test_verify_self)
{
	child_ok(verify_self, NULL);
}
END_TEST

/* As root: the whole drop to nobody, checked from inside. */
static const char *
drop_nobody(void *arg)
{
	static char why[128];
	struct priv_user u;
	const char *err;
	gid_t groups[64];
	int n;

	(void)arg;
	if (priv_lookup(DROP_USER, &u, &err) == -1)
		return err;
	priv_drop(&u, NULL);
	if (getuid() != nobody_uid || geteuid() != nobody_uid)
		return "uid or euid is not nobody's";
	if (getgid() != nobody_gid || getegid() != nobody_gid)
		return "gid or egid is not nobody's";
	if ((n = getgroups(64, groups)) != 1 || groups[0] != nobody_gid) {
		snprintf(why, sizeof(why), "getgroups: %d groups, first %ld",
		    n, n > 0 ? (long)groups[0] : -1L);
		return why;
	}
	if (setuid(0) != -1 || errno != EPERM)
		return "setuid(0) did not fail with EPERM";
	if (seteuid(0) != -1)
		return "seteuid(0) did not fail";
	if (setgid(0) != -1)
		return "setgid(0) did not fail";
	if (priv_verify(&u, &err) != 0)
		return err;
#ifdef PR_GET_NO_NEW_PRIVS
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return "no_new_privs is not set";
#endif
	return NULL;
}

START_TEST(test_drop)
{
	child_ok(drop_nobody, NULL);
}
END_TEST

/* As root: priv_drop_groups() keeps nobody's group and one more. */
static const char *
drop_groups_nobody(void *arg)
{
	gid_t extra = BOGUS_ID, got[8];
	struct priv_user u;
	const char *err;
	int n;

	(void)arg;
	if (priv_lookup(DROP_USER, &u, &err) == -1)
		return err;
	priv_drop_groups(&u, &extra, 1, NULL);
	if (getuid() != nobody_uid || getgid() != nobody_gid)
		return "ids are not nobody's";
	if ((n = getgroups(8, got)) != 2 || got[0] != nobody_gid ||
	    got[1] != BOGUS_ID)
		return "supplementary groups are not nobody's and the extra one";
	if (setuid(0) != -1 || setgroups(0, NULL) != -1)
		return "root regained";
	if (priv_verify(&u, &err) != 0)
		return err;
	return NULL;
}

START_TEST(test_drop_groups)
{
	child_ok(drop_groups_nobody, NULL);
}
END_TEST

/* Group 0 as an extra group is refused before anything changes. */
START_TEST(test_drop_groups_zero_exits)
{
	struct priv_user u = { "x", 4242, 4242 };
	gid_t zero = 0;

	priv_drop_groups(&u, &zero, 1, NULL);
}
END_TEST

/*
 * As root: priv_become() nobody with two supplementary groups; the ids,
 * the groups and the flags must be as asked, and nothing may bring root
 * back.
 */
static const char *
become_nobody(void *arg)
{
	gid_t groups[2] = { 0, BOGUS_ID }, got[8];
	struct priv_user u;
	const char *err;
	int n;

	(void)arg;
	if (priv_lookup(DROP_USER, &u, &err) == -1)
		return err;
	groups[0] = u.gid;
	if (priv_become(&u, groups, 2, &err) == -1)
		return err;
	if (getuid() != nobody_uid || geteuid() != nobody_uid ||
	    getgid() != nobody_gid)
		return "ids are not nobody's";
	if ((n = getgroups(8, got)) != 2 || got[0] != nobody_gid ||
	    got[1] != BOGUS_ID)
		return "supplementary groups are not the ones asked for";
	if (setuid(0) != -1 || setgroups(0, NULL) != -1)
		return "root regained";
#ifdef PR_SET_DUMPABLE
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return "still dumpable";
#endif
#ifdef PR_SET_NO_NEW_PRIVS
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return "no_new_privs is not set";
#endif
	return NULL;
}

START_TEST(test_become)
{
	child_ok(become_nobody, NULL);
}
END_TEST

/*
 * priv_become() refuses uid 0, gid 0 and group 0 before changing
 * anything, as any user; and it returns -1 (never exits) when the ids
 * cannot be changed.
 */
static const char *
become_refused(void *arg)
{
	struct priv_user u = { "x", 0, 1 };
	gid_t g0 = 0, g1 = BOGUS_ID;
	uid_t ruid = getuid();
	const char *err = NULL;

	(void)arg;
	if (priv_become(&u, NULL, 0, &err) != -1 || err == NULL)
		return "uid 0 accepted";
	u.uid = BOGUS_ID;
	u.gid = 0;
	if (priv_become(&u, NULL, 0, &err) != -1)
		return "gid 0 accepted";
	u.gid = BOGUS_ID;
	if (priv_become(&u, &g0, 1, &err) != -1 ||
	    strcmp(err, "refusing supplementary group 0") != 0)
		return "group 0 accepted";
	if (getuid() != ruid)
		return "ids changed by a refused call";
	if (ruid != 0 && priv_become(&u, &g1, 1, &err) != -1)
		return "a non-root process became another user";
	return NULL;
}

START_TEST(test_become_refused)
{
	child_ok(become_refused, NULL);
}
END_TEST

/* A fresh directory, readable by nobody, with a file and a directory. */
static void
jail_setup(void)
{
	char path[128];
	int fd;

	strlcpy(jail, "/tmp/check_priv.XXXXXX", sizeof(jail));
	ck_assert_ptr_nonnull(mkdtemp(jail));
	ck_assert_int_eq(chmod(jail, 0755), 0);
	snprintf(path, sizeof(path), "%s/marker", jail);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644),
	    -1);
	close(fd);
	snprintf(path, sizeof(path), "%s/sub", jail);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
jail_teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/marker", jail);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", jail);
	rmdir(path);
	rmdir(jail);
}

/* As root: drop into the jail; "/" must be the jail and nothing else. */
static const char *
drop_jailed(void *arg)
{
	static char why[128];
	struct priv_user u;
	struct dirent *de;
	struct stat st;
	const char *err;
	char cwd[64];
	DIR *dp;
	int seen = 0;

	if (priv_lookup(DROP_USER, &u, &err) == -1)
		return err;
	priv_drop(&u, arg);
	if (getcwd(cwd, sizeof(cwd)) == NULL || strcmp(cwd, "/") != 0)
		return "cwd is not / after the chroot";
	if ((dp = opendir("/")) == NULL)
		return "cannot read / in the jail";
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, "marker") == 0)
			seen |= 1;
		else if (strcmp(de->d_name, "sub") == 0)
			seen |= 2;
		else {
			snprintf(why, sizeof(why), "unexpected /%.64s",
			    de->d_name);
			closedir(dp);
			return why;
		}
	}
	closedir(dp);
	if (seen != 3)
		return "marker or sub missing from /";
	if (stat("/sub", &st) == -1 || !S_ISDIR(st.st_mode))
		return "/sub is not the jail's directory";
	if (stat("/etc/passwd", &st) != -1 || errno != ENOENT)
		return "/etc/passwd is visible in the jail";
	if (chroot("/sub") != -1)
		return "chroot possible after the drop";
	if (priv_verify(&u, &err) != 0)
		return err;
	return NULL;
}

START_TEST(test_drop_chroot)
{
	child_ok(drop_jailed, jail);
}
END_TEST

/*
 * Exit tests.  A non-root process cannot become a user it is not:
 * priv_drop() must exit(1), not return half done.
 */
START_TEST(test_drop_bogus_exits)
{
	struct priv_user u = { "bogus", BOGUS_ID, BOGUS_ID };

	log_init("check_priv", 0);
	/* As root, become nobody by hand first (no assertion: see above). */
	if (getuid() == 0 && (setgroups(1, &nobody_gid) == -1 ||
	    setresgid(nobody_gid, nobody_gid, nobody_gid) == -1 ||
	    setresuid(nobody_uid, nobody_uid, nobody_uid) == -1))
		_exit(EXIT_RETURNED + 1);
	priv_drop(&u, NULL);
	_exit(EXIT_RETURNED);
}
END_TEST

/* Dropping "to root" keeps uid 0, which the verify step refuses. */
START_TEST(test_drop_root_exits)
{
	struct priv_user u = { "root", 0, 0 };

	log_init("check_priv", 0);
	priv_drop(&u, NULL);
	_exit(EXIT_RETURNED);
}
END_TEST

START_TEST(test_drop_bad_chroot_exits)
{
	struct priv_user u = { "bogus", BOGUS_ID, BOGUS_ID };

	log_init("check_priv", 0);
	priv_drop(&u, "/nonexistent-check-priv-jail");
	_exit(EXIT_RETURNED);
}
END_TEST

static Suite *
priv_suite(bool forking, bool as_root)
{
	Suite *s;
	TCase *tc;

	s = suite_create("priv");

	tc = tcase_create("lookup");
	tcase_add_loop_test(tc, test_lookup_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	if (have_nobody)
		tcase_add_test(tc, test_lookup_nobody);
	else
		printf("check_priv: no user %s, lookup test skipped\n",
		    DROP_USER);
	tcase_add_test(tc, test_is_root);
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_add_test(tc, test_verify_mismatch);
	tcase_add_test(tc, test_verify_self);
	tcase_add_test(tc, test_become_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("drop");
	if (as_root) {
		tcase_add_test(tc, test_drop);
		tcase_add_test(tc, test_drop_groups);
		tcase_add_test(tc, test_become);
		suite_add_tcase(s, tc);
		tc = tcase_create("drop_chroot");
		tcase_add_checked_fixture(tc, jail_setup, jail_teardown);
		tcase_add_test(tc, test_drop_chroot);
	} else
		printf("check_priv: %s, privilege drop tests skipped\n",
		    getuid() != 0 ? "not root" : "no user " DROP_USER);
	suite_add_tcase(s, tc);

	/* Exit tests would end the whole runner under CK_FORK=no. */
	tc = tcase_create("drop_fatal");
	if (forking) {
		if (getuid() != 0 || have_nobody)
			tcase_add_exit_test(tc, test_drop_bogus_exits, 1);
		tcase_add_exit_test(tc, test_drop_root_exits, 1);
		tcase_add_exit_test(tc, test_drop_bad_chroot_exits, 1);
		tcase_add_exit_test(tc, test_drop_groups_zero_exits, 1);
	} else
		printf("check_priv: CK_FORK=no, exit tests skipped\n");
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	struct passwd *pw;
	SRunner *sr;
	int failed;

	if ((pw = getpwnam(DROP_USER)) != NULL && pw->pw_uid != 0 &&
	    pw->pw_gid != 0) {
		have_nobody = true;
		nobody_uid = pw->pw_uid;
		nobody_gid = pw->pw_gid;
	}
	sr = srunner_create(NULL);
	srunner_add_suite(sr, priv_suite(srunner_fork_status(sr) != CK_NOFORK,
	    getuid() == 0 && have_nobody));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
