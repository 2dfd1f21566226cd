/*
 * SPDX-License-Identifier: ISC
 *
 * check_service.c -- the service skeleton: status records, the
 * one-client and multi-client shapes, drain on SIGHUP, refusal to run
 * without the master's descriptors.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "service.h"

static char	tmpdir[] = "/tmp/check_service.XXXXXX";
static char	sockpath[256];

static void
setup(void)
{
	char path[512];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/tern.conf", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "maillog_file = %s/maillog\nmax_idle = 2s\n", tmpdir);
	fclose(f);
	snprintf(sockpath, sizeof(sockpath), "%s/sock", tmpdir);
}

static void
teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)system(cmd);
	strcpy(tmpdir, "/tmp/check_service.XXXXXX");
}

/* ---- status records ----------------------------------------------------- */

START_TEST(test_status_write)
{
	struct service_status st;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(service_status_write(p[1], SERVICE_AVAIL), 0);
	ck_assert_int_eq(service_status_write(p[1], SERVICE_BUSY), 0);
	ck_assert_int_eq(read(p[0], &st, sizeof(st)), sizeof(st));
	ck_assert_int_eq(st.pid, getpid());
	ck_assert_int_eq(st.status, SERVICE_AVAIL);
	ck_assert_int_eq(read(p[0], &st, sizeof(st)), sizeof(st));
	ck_assert_int_eq(st.status, SERVICE_BUSY);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	/* The master is gone: the writer learns it. */
	ck_assert_int_eq(service_status_write(p[1], SERVICE_AVAIL), -1);
	close(p[1]);
}
END_TEST

/* ---- running the skeleton in a child ------------------------------------- */

static void
one_client(struct service_ctx *ctx, int fd)
{
	char buf[64];
	int n;

	n = snprintf(buf, sizeof(buf), "hello %s %d\n", ctx->service_name,
	    ctx->argc);
	(void)write(fd, buf, (size_t)n);
	close(fd);
}

static void
multi_client(struct service_ctx *ctx, int fd)
{
	(void)write(fd, "multi\n", 6);
	close(fd);
	service_client_done(ctx);
}

static struct service one_svc = {
	.name = "check", .mode = SERVICE_ONE_CLIENT, .client = one_client,
};
static struct service multi_svc = {
	.name = "check", .mode = SERVICE_MULTI, .client = multi_client,
};

static int
listener(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

static int
dial(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* Start service_main in a child as the master would; *status_r: pipe. */
static pid_t
run(const struct service *svc, int *status_r)
{
	int lfd, p[2];
	pid_t pid;

	lfd = listener();
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		char *argv[] = { "check", "-c", tmpdir, "-n", "svcname", "-t",
		    "unix", "--", "a1", "a2", NULL };

		dup2(lfd, SERVICE_LISTEN_FD);
		dup2(p[1], SERVICE_STATUS_FD);
		service_main(10, argv, svc);
	}
	close(lfd);
	close(p[1]);
	*status_r = p[0];
	return pid;
}

static int
next_status(int fd)
{
	struct service_status st;

	ck_assert_int_eq(read(fd, &st, sizeof(st)), sizeof(st));
	return st.status;
}

static int
wait_exit(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
read_line(int fd, char *buf, size_t sz)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < sz && (r = read(fd, buf + n, 1)) == 1 &&
	    buf[n++] != '\n')
		;
	buf[n] = '\0';
}

START_TEST(test_one_client_then_exit)
{
	char line[64];
	pid_t pid;
	int st, c;

	pid = run(&one_svc, &st);
	ck_assert_int_eq(next_status(st), SERVICE_AVAIL);
	c = dial();
	read_line(c, line, sizeof(line));
	/* Service name from -n, two arguments after "--". */
	ck_assert_str_eq(line, "hello svcname 2\n");
	ck_assert_int_eq(next_status(st), SERVICE_BUSY);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(c);
	close(st);
}
END_TEST

START_TEST(test_one_client_idle_exit)
{
	pid_t pid;
	int st;

	/* max_idle = 2s with no client: a clean exit. */
	pid = run(&one_svc, &st);
	ck_assert_int_eq(next_status(st), SERVICE_AVAIL);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(st);
}
END_TEST

START_TEST(test_one_client_sighup_exits_when_idle)
{
	pid_t pid;
	int st;

	pid = run(&one_svc, &st);
	ck_assert_int_eq(next_status(st), SERVICE_AVAIL);
	kill(pid, SIGHUP);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(st);
}
END_TEST

START_TEST(test_multi_serves_several)
{
	char line[64];
	pid_t pid;
	int st, i, c;

	pid = run(&multi_svc, &st);
	ck_assert_int_eq(next_status(st), SERVICE_AVAIL);
	for (i = 0; i < 3; i++) {
		c = dial();
		read_line(c, line, sizeof(line));
		ck_assert_str_eq(line, "multi\n");
		close(c);
	}
	/* Still the same process; SIGHUP with no client: it exits. */
	ck_assert_int_eq(kill(pid, 0), 0);
	kill(pid, SIGHUP);
	ck_assert_int_eq(wait_exit(pid), 0);
	close(st);
}
END_TEST

START_TEST(test_refuses_without_master_fds)
{
	char *argv[] = { "check", "-c", tmpdir, "-n", "x", "-t", "unix", NULL };

	close(SERVICE_LISTEN_FD);
	close(SERVICE_STATUS_FD);
	service_main(7, argv, &one_svc);
}
END_TEST

START_TEST(test_refuses_bad_arguments)
{
	char *argv[] = { "check", "-c", tmpdir, "-t", "tcp", NULL };

	service_main(5, argv, &one_svc);
}
END_TEST

START_TEST(test_refuses_bad_config)
{
	char path[512], *argv[] = { "check", "-c", tmpdir, "-n", "x", "-t",
	    "unix", NULL };
	int p[2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tern.conf", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "max_idle = soon\n");
	fclose(f);
	ck_assert_int_eq(pipe(p), 0);
	dup2(p[0], SERVICE_LISTEN_FD);
	dup2(p[1], SERVICE_STATUS_FD);
	service_main(7, argv, &one_svc);
}
END_TEST

static Suite *
service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *tc;

	tc = tcase_create("status");
	tcase_add_test(tc, test_status_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("shapes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_one_client_then_exit);
	tcase_add_test(tc, test_one_client_idle_exit);
	tcase_add_test(tc, test_one_client_sighup_exits_when_idle);
	tcase_add_test(tc, test_multi_serves_several);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_exit_test(tc, test_refuses_without_master_fds, 1);
	tcase_add_exit_test(tc, test_refuses_bad_arguments, 1);
	tcase_add_exit_test(tc, test_refuses_bad_config, 1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(service_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
