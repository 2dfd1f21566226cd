/*
 * SPDX-License-Identifier: ISC
 *
 * check_master.c -- the master's logic that does not need processes:
 * throttle back-off, service definition comparison, configuration
 * loading with every problem reported, queue directories, listeners.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "conf.h"
#include "master.h"

static char	tmpdir[] = "/tmp/check_master.XXXXXX";
static int	nerrors, nwarnings;
static char	lastmsg[2048];

static void
report(void *arg, bool error, const char *msg)
{
	if (error)
		nerrors++;
	else
		nwarnings++;
	strlcpy(lastmsg, msg, sizeof(lastmsg));
	(void)arg;
}

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* A port on 127.0.0.1 nothing listens on now. */
static unsigned
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
setup(void)
{
	char conf[1024], svc[1024];

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(conf, sizeof(conf), "queue_directory = %s/spool\n"
	    "daemon_directory = %s\n", tmpdir, tmpdir);
	write_file("tern.conf", conf);
	snprintf(svc, sizeof(svc), "a inet 127.0.0.1:%u y n 4 2 - prog\n"
	    "b unix private/b y n - 0 60 prog arg1 arg2\n", free_port());
	write_file("services.conf", svc);
	nerrors = nwarnings = 0;
	lastmsg[0] = '\0';
}

static void
teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)system(cmd);
	strcpy(tmpdir, "/tmp/check_master.XXXXXX");
}

/* ---- throttle back-off --------------------------------------------------- */

static const struct {
	unsigned failures, cap, want;
} delays[] = {
	{ 0, 60, 0 }, { 1, 60, 1 }, { 2, 60, 2 }, { 3, 60, 4 }, { 6, 60, 32 },
	{ 7, 60, 60 }, { 40, 60, 60 }, { 1000, 3600, 3600 }, { 3, 3, 3 },
	{ UINT32_MAX, 60, 60 },
};

START_TEST(test_throttle_delay)
{
	ck_assert_uint_eq(master_throttle_delay(delays[_i].failures,
	    delays[_i].cap), delays[_i].want);
}
END_TEST

/* ---- definitions ------------------------------------------------------------ */

START_TEST(test_def_compare)
{
	struct service_def a, b, c;

	memset(&a, 0, sizeof(a));
	strlcpy(a.name, "smtp", sizeof(a.name));
	strlcpy(a.listen, "127.0.0.1:25", sizeof(a.listen));
	strlcpy(a.command, "smtpd", sizeof(a.command));
	a.argv[0] = "-v";
	a.argc = 1;
	a.prefork = 2;
	master_def_copy(&b, &a);
	ck_assert_ptr_ne(b.argv[0], a.argv[0]);
	ck_assert(master_def_equal(&a, &b));
	b.prefork = 3;
	ck_assert(!master_def_equal(&a, &b));
	ck_assert(master_def_same_listener(&a, &b));
	master_def_copy(&c, &b);
	free(c.argv[0]);
	c.argv[0] = strdup("-x");
	c.prefork = 2;
	ck_assert(!master_def_equal(&a, &c));
	strlcpy(c.listen, "127.0.0.1:26", sizeof(c.listen));
	ck_assert(!master_def_same_listener(&a, &c));
	c.type = SERVICES_UNIX;
	strlcpy(c.listen, "127.0.0.1:25", sizeof(c.listen));
	ck_assert(!master_def_same_listener(&a, &c));
	master_def_free(&b);
	master_def_free(&c);
	ck_assert_uint_eq(b.argc, 0);
}
END_TEST

/* ---- configuration ---------------------------------------------------------- */

START_TEST(test_config_load_good)
{
	struct master_config mc;

	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	ck_assert_int_eq(nerrors, 0);
	ck_assert_uint_eq(mc.services.n, 2);
	ck_assert_str_eq(mc.services.defs[1].argv[1], "arg2");
	ck_assert(strstr(mc.queue_dir, "/spool") != NULL);
	ck_assert_str_eq(mc.daemon_dir, tmpdir);
	ck_assert_int_eq(mc.mail_uid, (uid_t)-1);
	master_config_free(&mc);
}
END_TEST

START_TEST(test_config_load_reports_everything)
{
	struct master_config mc;
	int n;

	write_file("tern.conf", "max_idle = never\nmax_use = -3\n");
	write_file("services.conf",
	    "a inet 127.0.0.1:2525 y n 4 9 - prog\n"
	    "b bogus private/b y n - 0 - prog\n");
	n = master_config_load(tmpdir, false, &mc, report, NULL);
	/* Two bad parameters and two bad services: all four reported. */
	ck_assert_int_ge(n, 4);
	ck_assert_int_eq(n, nerrors);
	master_config_free(&mc);
}
END_TEST

START_TEST(test_config_prefork_over_limit)
{
	struct master_config mc;

	write_file("tern.conf", "default_process_limit = 3\n");
	write_file("services.conf", "a inet 127.0.0.1:2525 y n - 5 - prog\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert(strstr(lastmsg, "prefork 5 is above the process limit 3")
	    != NULL);
	ck_assert(strstr(lastmsg, "services.conf:1:") != NULL);
	master_config_free(&mc);
}
END_TEST

START_TEST(test_config_bad_mynetworks)
{
	struct master_config mc;

	write_file("tern.conf", "mynetworks = 127.0.0.0/8, 10.0.0.1/33\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert_ptr_nonnull(strstr(lastmsg, "mynetworks: 10.0.0.1/33"));
	master_config_free(&mc);
}
END_TEST

/* "-o name=value" overrides in services.conf are checked like tern.conf. */
START_TEST(test_config_overrides)
{
	struct master_config mc;

	write_file("services.conf", "a inet 127.0.0.1:2525 y n - - - prog "
	    "-o smtpd_tls_wrappermode=yes -o message_size_limit=1000 x\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	master_config_free(&mc);

	write_file("services.conf", "a inet 127.0.0.1:2525 y n - - - prog "
	    "-o no_such_parameter=1\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert_ptr_nonnull(strstr(lastmsg,
	    "service a: -o no_such_parameter: unknown parameter"));
	master_config_free(&mc);

	write_file("services.conf", "a inet 127.0.0.1:2525 y n - - - prog "
	    "-o smtpd_tls_wrappermode=perhaps\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert_ptr_nonnull(strstr(lastmsg, "bad value"));
	master_config_free(&mc);

	write_file("services.conf", "a inet 127.0.0.1:2525 y n - - - prog "
	    "-o novalue\n");
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert_ptr_nonnull(strstr(lastmsg, "expected name=value"));
	master_config_free(&mc);
}
END_TEST

/* No certificate: no TLS, quietly; "encrypt" without one: an error. */
START_TEST(test_config_tls)
{
	struct master_config mc;
	char conf[1024];

	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	ck_assert(!mc.tls_ok);
	ck_assert_str_eq(mc.tls_error, "");
	master_config_free(&mc);

	snprintf(conf, sizeof(conf), "queue_directory = %s/spool\n"
	    "smtpd_tls_security_level = encrypt\n", tmpdir);
	write_file("tern.conf", conf);
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    1);
	ck_assert_msg(strstr(lastmsg, "encrypt, but no certificate "
	    "configured") != NULL, "got: %s", lastmsg);
	master_config_free(&mc);

	/* A certificate that cannot be read: STARTTLS off, not an error. */
	snprintf(conf, sizeof(conf), "queue_directory = %s/spool\n"
	    "smtpd_tls_cert_file = %s/missing.pem\n", tmpdir, tmpdir);
	write_file("tern.conf", conf);
	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	ck_assert(!mc.tls_ok);
	ck_assert_ptr_nonnull(strstr(mc.tls_error, "missing.pem"));
	master_config_free(&mc);
}
END_TEST

START_TEST(test_config_missing_files)
{
	struct master_config mc;

	unlink(strcat(strcpy(lastmsg, tmpdir), "/services.conf"));
	ck_assert_int_gt(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	master_config_free(&mc);
	unlink(strcat(strcpy(lastmsg, tmpdir), "/tern.conf"));
	nerrors = 0;
	ck_assert_int_gt(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	ck_assert_int_gt(nerrors, 0);
	master_config_free(&mc);
}
END_TEST

/* ---- queue directories ------------------------------------------------------ */

START_TEST(test_dirs_make_and_check)
{
	struct master_config mc;
	const struct master_dir *d;
	char path[1200];
	struct stat st;

	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	/* Missing directories are only warnings: the master makes them. */
	ck_assert_int_eq(master_dirs_check(&mc, report, NULL), 0);
	ck_assert_int_gt(nwarnings, 0);
	ck_assert_int_eq(master_dirs_make(&mc), 0);
	for (d = master_dirs; d->name != NULL; d++) {
		snprintf(path, sizeof(path), "%s/%s", mc.queue_dir, d->name);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, d->mode);
	}
	ck_assert_int_eq(master_dirs_check(&mc, report, NULL), 0);
	snprintf(path, sizeof(path), "%s/active", mc.queue_dir);
	chmod(path, 0755);
	ck_assert_int_eq(master_dirs_check(&mc, report, NULL), 1);
	ck_assert(strstr(lastmsg, "mode 0755, should be 0700") != NULL);
	/* make repairs it. */
	ck_assert_int_eq(master_dirs_make(&mc), 0);
	ck_assert_int_eq(master_dirs_check(&mc, report, NULL), 0);
	master_config_free(&mc);
}
END_TEST

/* ---- listeners -------------------------------------------------------------- */

START_TEST(test_listen_inet_and_unix)
{
	struct master_config mc;
	const char *err = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, on = 0;

	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	ck_assert_int_eq(master_dirs_make(&mc), 0);
	fd = master_listen(&mc, &mc.services.defs[0], &err);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	len = sizeof(on);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len),
	    0);
	ck_assert_int_eq(on, 1);
	close(fd);
	fd = master_listen(&mc, &mc.services.defs[1], &err);
	ck_assert_int_ne(fd, -1);
	/* A stale socket file is replaced. */
	close(fd);
	fd = master_listen(&mc, &mc.services.defs[1], &err);
	ck_assert_int_ne(fd, -1);
	close(fd);
	master_config_free(&mc);
}
END_TEST

START_TEST(test_listen_errors)
{
	struct master_config mc;
	struct service_def d;
	const char *err = NULL;

	ck_assert_int_eq(master_config_load(tmpdir, false, &mc, report, NULL),
	    0);
	d = mc.services.defs[0];
	strlcpy(d.host, "192.0.2.1", sizeof(d.host));	/* not ours */
	ck_assert_int_eq(master_listen(&mc, &d, &err), -1);
	ck_assert_ptr_nonnull(err);
	d = mc.services.defs[1];
	memset(d.listen, 'x', 200);
	d.listen[200] = '\0';
	ck_assert_int_eq(master_listen(&mc, &d, &err), -1);
	ck_assert_str_eq(err, "socket path too long");
	master_config_free(&mc);
}
END_TEST

static Suite *
master_suite(void)
{
	Suite *s = suite_create("master");
	TCase *tc;

	tc = tcase_create("throttle");
	tcase_add_loop_test(tc, test_throttle_delay, 0,
	    sizeof(delays) / sizeof(delays[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("definitions");
	tcase_add_test(tc, test_def_compare);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_load_good);
	tcase_add_test(tc, test_config_load_reports_everything);
	tcase_add_test(tc, test_config_prefork_over_limit);
	tcase_add_test(tc, test_config_bad_mynetworks);
	tcase_add_test(tc, test_config_missing_files);
	tcase_add_test(tc, test_config_overrides);
	tcase_add_test(tc, test_config_tls);
	tcase_add_test(tc, test_dirs_make_and_check);
	tcase_add_test(tc, test_listen_inet_and_unix);
	tcase_add_test(tc, test_listen_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(master_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
