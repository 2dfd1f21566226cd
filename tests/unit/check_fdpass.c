/*
 * SPDX-License-Identifier: ISC
 *
 * check_fdpass.c -- unit tests for lib/fdpass.c: descriptors that arrive
 * work and are close-on-exec, and every unexpected one is closed.
 *
 * Process:  test runner (Check), no privilege; Linux (/proc/self/fd is
 *           counted to prove that no descriptor leaks).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

/* Open descriptors of this process, the one opendir() uses excluded. */
static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static void
make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
}

static void
make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* Bytes written to wfd come out of rfd. */
static void
assert_connected(int wfd, int rfd)
{
	char buf[8];

	ck_assert_int_eq(write(wfd, "ping", 4), 4);
	ck_assert_int_eq(read(rfd, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "ping", 4);
}

static void
assert_cloexec(int fd)
{
	int flags;

	flags = fcntl(fd, F_GETFD);
	ck_assert_int_ne(flags, -1);
	ck_assert_msg(flags & FD_CLOEXEC, "fd %d lacks FD_CLOEXEC", fd);
}

/* Send and receive. */

START_TEST(test_one_fd)
{
	int sv[2], p[2], fds[FDPASS_MAX] = { -1, -1, -1, -1 };
	size_t nfds = 99;
	char c = 0;

	make_pair(sv);
	make_pipe(p);
	ck_assert_int_eq(fdpass_send(sv[0], &p[1], 1, "x", 1), 0);
	close(p[1]);
	ck_assert_int_eq(fdpass_recv(sv[1], fds, FDPASS_MAX, &nfds, &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	ck_assert_uint_eq(nfds, 1);
	ck_assert_int_ge(fds[0], 0);
	ck_assert_int_eq(fds[1], -1);
	assert_cloexec(fds[0]);
	assert_connected(fds[0], p[0]);
	close(fds[0]);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_two_fds)
{
	int sv[2], p[2], q[2], send_fds[2], fds[2] = { -1, -1 };
	size_t nfds = 0;
	char data[16];
	ssize_t n;

	make_pair(sv);
	make_pipe(p);
	make_pipe(q);
	send_fds[0] = p[1];		/* the write end of p */
	send_fds[1] = q[0];		/* the read end of q */
	ck_assert_int_eq(fdpass_send(sv[0], send_fds, 2, "two", 3), 0);
	close(p[1]);
	close(q[0]);
	n = fdpass_recv(sv[1], fds, 2, &nfds, data, sizeof(data));
	ck_assert_int_eq(n, 3);
	ck_assert_mem_eq(data, "two", 3);
	ck_assert_uint_eq(nfds, 2);
	assert_cloexec(fds[0]);
	assert_cloexec(fds[1]);
	assert_connected(fds[0], p[0]);
	assert_connected(q[1], fds[1]);
	close(fds[0]);
	close(fds[1]);
	close(p[0]);
	close(q[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_max_fds)
{
	int sv[2], p[2], send_fds[FDPASS_MAX], fds[FDPASS_MAX];
	size_t nfds = 0, i;
	char c;

	make_pair(sv);
	make_pipe(p);
	for (i = 0; i < FDPASS_MAX; i++)
		send_fds[i] = p[1];
	ck_assert_int_eq(fdpass_send(sv[0], send_fds, FDPASS_MAX, "m", 1), 0);
	ck_assert_int_eq(fdpass_recv(sv[1], fds, FDPASS_MAX, &nfds, &c, 1), 1);
	ck_assert_uint_eq(nfds, FDPASS_MAX);
	for (i = 0; i < FDPASS_MAX; i++) {
		assert_connected(fds[i], p[0]);
		close(fds[i]);
	}
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_data_only)
{
	int sv[2], fds[1] = { -1 };
	size_t nfds = 99;
	char data[16];

	make_pair(sv);
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 0, "hello", 5), 0);
	ck_assert_int_eq(fdpass_recv(sv[1], fds, 1, &nfds, data, sizeof(data)),
	    5);
	ck_assert_mem_eq(data, "hello", 5);
	ck_assert_uint_eq(nfds, 0);
	ck_assert_int_eq(fds[0], -1);
	/* maxfds 0 and no array is fine when nothing comes. */
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 0, "x", 1), 0);
	ck_assert_int_eq(fdpass_recv(sv[1], NULL, 0, &nfds, data, 1), 1);
	ck_assert_uint_eq(nfds, 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_eof)
{
	int sv[2], fds[1];
	size_t nfds = 99;
	char c;

	make_pair(sv);
	close(sv[0]);
	ck_assert_int_eq(fdpass_recv(sv[1], fds, 1, &nfds, &c, 1), 0);
	ck_assert_uint_eq(nfds, 0);
	close(sv[1]);
}
END_TEST

/* Refusals: each leaves no received descriptor open. */

START_TEST(test_too_many)
{
	int sv[2], p[2], q[2], send_fds[2], fds[2] = { -1, -1 };
	size_t nfds = 99;
	int before;
	char c;

	make_pair(sv);
	make_pipe(p);
	make_pipe(q);
	send_fds[0] = p[1];
	send_fds[1] = q[1];
	ck_assert_int_eq(fdpass_send(sv[0], send_fds, 2, "x", 1), 0);
	before = count_fds();
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, 1, &nfds, &c, 1), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), before);
	ck_assert_uint_eq(nfds, 0);

	/* maxfds 0: one descriptor is already one too many. */
	ck_assert_int_eq(fdpass_send(sv[0], send_fds, 1, "y", 1), 0);
	before = count_fds();
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], NULL, 0, &nfds, &c, 1), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), before);

	/* The write ends we kept are the only ones: closing them is EOF. */
	close(p[1]);
	close(q[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 0);
	ck_assert_int_eq(read(q[0], &c, 1), 0);
	close(p[0]);
	close(q[0]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* More than FDPASS_MAX, sent by hand: the control buffer truncates. */
START_TEST(test_ctrunc)
{
	union {
		struct cmsghdr	hdr;
		unsigned char	buf[CMSG_SPACE((FDPASS_MAX + 3) *
		    sizeof(int))];
	} cbuf;
	int sv[2], p[2], send_fds[FDPASS_MAX + 3], fds[FDPASS_MAX];
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	size_t nfds = 99, i;
	int before;
	char c = 'z';

	make_pair(sv);
	make_pipe(p);
	for (i = 0; i < FDPASS_MAX + 3; i++)
		send_fds[i] = p[1];
	memset(&msg, 0, sizeof(msg));
	memset(&cbuf, 0, sizeof(cbuf));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(send_fds));
	memcpy(CMSG_DATA(cmsg), send_fds, sizeof(send_fds));
	ck_assert_int_eq(sendmsg(sv[0], &msg, 0), 1);

	before = count_fds();
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, FDPASS_MAX, &nfds, &c, 1),
	    -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), before);
	ck_assert_uint_eq(nfds, 0);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* With SO_PASSCRED, SCM_CREDENTIALS arrives: not what we asked for. */
START_TEST(test_credentials)
{
	int sv[2], p[2], fds[FDPASS_MAX], on = 1, before;
	size_t nfds = 99;
	char c;

	make_pair(sv);
	make_pipe(p);
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on,
	    sizeof(on)), 0);
	ck_assert_int_eq(fdpass_send(sv[0], &p[1], 1, "c", 1), 0);
	before = count_fds();
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, FDPASS_MAX, &nfds, &c, 1),
	    -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(count_fds(), before);
	ck_assert_uint_eq(nfds, 0);

	/* Credentials alone, no descriptor: refused all the same. */
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 0, "d", 1), 0);
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, FDPASS_MAX, &nfds, &c, 1),
	    -1);
	ck_assert_int_eq(errno, EBADMSG);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Argument checks and errors of the socket. */

START_TEST(test_send_einval)
{
	int sv[2], fds[FDPASS_MAX + 1] = { 0, 0, 0, 0, 0 };

	make_pair(sv);
	errno = 0;
	ck_assert_int_eq(fdpass_send(sv[0], fds, 1, "", 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fdpass_send(sv[0], fds, 1, NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fdpass_send(sv[0], fds, FDPASS_MAX + 1, "x", 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 1, "x", 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	fds[0] = -1;
	ck_assert_int_eq(fdpass_send(sv[0], fds, 1, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_recv_einval)
{
	int sv[2], fds[1];
	size_t nfds;
	char c;

	make_pair(sv);
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, 1, &nfds, &c, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], NULL, 1, &nfds, &c, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fdpass_recv(sv[1], fds, 1, NULL, &c, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A closed peer is EPIPE, not a SIGPIPE that kills this process. */
START_TEST(test_send_closed)
{
	int sv[2];

	make_pair(sv);
	close(sv[1]);
	errno = 0;
	ck_assert_int_eq(fdpass_send(sv[0], NULL, 0, "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
}
END_TEST

START_TEST(test_not_socket)
{
	int p[2], fds[1];
	size_t nfds;
	char c;

	make_pipe(p);
	errno = 0;
	ck_assert_int_eq(fdpass_send(p[1], NULL, 0, "x", 1), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	errno = 0;
	ck_assert_int_eq(fdpass_recv(p[0], fds, 1, &nfds, &c, 1), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *
fdpass_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("fdpass");

	tc = tcase_create("pass");
	tcase_add_test(tc, test_one_fd);
	tcase_add_test(tc, test_two_fds);
	tcase_add_test(tc, test_max_fds);
	tcase_add_test(tc, test_data_only);
	tcase_add_test(tc, test_eof);
	suite_add_tcase(s, tc);

	tc = tcase_create("refuse");
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_ctrunc);
	tcase_add_test(tc, test_credentials);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_send_einval);
	tcase_add_test(tc, test_recv_einval);
	tcase_add_test(tc, test_send_closed);
	tcase_add_test(tc, test_not_socket);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(fdpass_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
