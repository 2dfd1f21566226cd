/*
 * SPDX-License-Identifier: ISC
 *
 * maildir.c -- one message into a Maildir: tmp/, fsync, link into new/,
 * fsync new/.
 *
 * Process:  local and virtual delivery agents (planned), already running
 *           as the recipient's or the virtual uid.
 * Input:    the Maildir path (configuration or lookup result) and the
 *           message (untrusted bytes, converted by lib/mailbox).
 * Failure:  -1 with errno and a static reason; whatever this delivery
 *           created under tmp/ or new/ is removed first.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"
#include "maildir.h"

#define NAME_TRIES	3	/* fresh names to try when tmp/NAME exists */
#define SIZE_FIELD_MAX	23	/* ",S=" and 20 digits */
#define TMPNAME_MAX	(MAILDIR_NAME_MAX - SIZE_FIELD_MAX)

/* One directory of the Maildir and what to say when it is not right. */
struct sub {
	const char	*name;
	const char	*open_err;
	const char	*link_err;	/* a symbolic link */
	const char	*notdir_err;
};

static const struct sub sub_maildir = { NULL, "cannot open the Maildir",
	"Maildir is a symbolic link", "Maildir is not a directory" };
static const struct sub sub_tmp = { "tmp", "cannot open Maildir tmp/",
	"Maildir tmp/ is a symbolic link", "Maildir tmp/ is not a directory" };
static const struct sub sub_new = { "new", "cannot open Maildir new/",
	"Maildir new/ is a symbolic link", "Maildir new/ is not a directory" };
static const struct sub sub_cur = { "cur", "cannot create Maildir cur/",
	"Maildir cur/ is a symbolic link", "Maildir cur/ is not a directory" };

static unsigned long deliveries;	/* by this process: the Q part */

static void
close_keep_errno(int fd)
{
	int saved = errno;

	if (fd != -1)
		(void)close(fd);
	errno = saved;
}

/*
 * mkdir name in at, mode 0700, and make the new entry durable.  An
 * existing name is fine: what it is gets checked when it is opened.
 */
static int
make_dir(int at, const char *name)
{
	if (mkdirat(at, name, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	return fsync(at);
}

/*
 * Open the directory name in at; with nofollow it must not be a symbolic
 * link.  With create, make it first when it is missing.
 */
static int
open_dir(int at, const char *name, bool nofollow, bool create,
    const struct sub *s, const char **err_r)
{
	struct stat st;
	int fd, flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

	if (nofollow)
		flags |= O_NOFOLLOW;
	fd = openat(at, name, flags);
	if (fd == -1 && errno == ENOENT && create) {
		if (make_dir(at, name) == -1)
			return mailbox_fail(s->open_err, err_r);
		fd = openat(at, name, flags);
	}
	if (fd != -1)
		return fd;
	if (errno != ENOTDIR && errno != ELOOP)
		return mailbox_fail(s->open_err, err_r);
	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return mailbox_fail(s->link_err, err_r);
	}
	errno = ENOTDIR;
	return mailbox_fail(s->notdir_err, err_r);
}

/*
 * Walk path one component at a time, creating the missing ones when
 * create; parents are followed, the last one (the Maildir) must not be a
 * symbolic link.  Returns the Maildir's descriptor or -1.
 */
static int
open_maildir(const char *path, bool create, const char **err_r)
{
	char buf[PATH_MAX], *comp, *next;
	size_t len;
	int at, fd;

	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(buf)) {
		errno = len == 0 ? EINVAL : ENAMETOOLONG;
		return mailbox_fail(sub_maildir.open_err, err_r);
	}
	memcpy(buf, path, len);
	buf[len] = '\0';
	at = open(buf[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (at == -1)
		return mailbox_fail(sub_maildir.open_err, err_r);
	if (strcmp(buf, "/") == 0) {
		errno = EINVAL;
		close_keep_errno(at);
		return mailbox_fail(sub_maildir.open_err, err_r);
	}
	for (comp = buf; *comp == '/'; comp++)
		continue;
	for (;;) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		fd = open_dir(at, comp, next == NULL, create, &sub_maildir,
		    err_r);
		close_keep_errno(at);
		if (fd == -1 || next == NULL)
			return fd;
		at = fd;
		for (comp = next; *comp == '/'; comp++)
			continue;
	}
}

/*
 * gethostname() as the spec wants it in a name: '/' and ':' (and ',',
 * which starts our ",S=" field) as octal escapes.
 */
static void
host_part(char *out, size_t sz)
{
	char host[HOST_NAME_MAX + 1];
	const char *esc;
	size_t i, o = 0, elen;

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++) {
		esc = host[i] == '/' ? "\\057" : host[i] == ':' ? "\\072" :
		    host[i] == ',' ? "\\054" : NULL;
		elen = esc != NULL ? 4 : 1;
		if (o + elen >= sz)
			break;
		if (esc != NULL)
			memcpy(out + o, esc, elen);
		else
			out[o] = host[i];
		o += elen;
	}
	out[o] = '\0';
}

/* A fresh unique name: time, microseconds, pid, counter, random, host. */
static void
unique_name(char *out, size_t sz)
{
	char host[MAILDIR_HOST_MAX + 1];
	struct timeval tv;
	uint64_t rnd;

	(void)gettimeofday(&tv, NULL);
	arc4random_buf(&rnd, sizeof(rnd));
	host_part(host, sizeof(host));
	(void)snprintf(out, sz, "%lld.M%06ldP%ldQ%luR%016llx.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++deliveries, (unsigned long long)rnd, host);
}

/* Create tmp/NAME under a fresh name; EEXIST gets another name. */
static int
create_tmp(int tmpfd, char *name, size_t sz, const char **err_r)
{
	int fd, i;

	for (i = 0; i < NAME_TRIES; i++) {
		unique_name(name, sz);
		fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			break;
	}
	return mailbox_fail("cannot create a file in Maildir tmp/", err_r);
}

/* Write, fsync and close the message file; fd is closed either way. */
static int
write_message(int fd, const struct mailbox_src *src, uint64_t *size_r,
    const char **err_r)
{
	struct mailbox_conv conv;
	int r;

	mailbox_conv_init(&conv, false, mailbox_flush_fd, &fd);
	if (mailbox_copy(&conv, src, err_r) == -1) {
		close_keep_errno(fd);
		return -1;
	}
	*size_r = conv.size;
	errno = 0;
	if (fsync(fd) == -1) {
		close_keep_errno(fd);
		return mailbox_fail("cannot fsync the message file", err_r);
	}
	/* A network file system may report a lost write only here. */
	r = close(fd);
	if (r == -1 && errno != EINTR)
		return mailbox_fail("cannot close the message file", err_r);
	return 0;
}

/* tmp/NAME is on disk: give it its name in new/ and make that durable. */
static int
publish(int tmpfd, int newfd, const char *name, struct maildir_result *res,
    const char **err_r)
{
	int n, saved;

	n = snprintf(res->name, sizeof(res->name), "%s,S=%llu", name,
	    (unsigned long long)res->size);
	if (n < 0 || (size_t)n >= sizeof(res->name)) {
		errno = ENAMETOOLONG;
		return mailbox_fail("Maildir file name too long", err_r);
	}
	if (linkat(tmpfd, name, newfd, res->name, 0) == -1)
		return mailbox_fail("cannot link the message into Maildir new/",
		    err_r);
	/* Delivered once the link is durable; a tmp/ leftover is harmless. */
	(void)unlinkat(tmpfd, name, 0);
	if (fsync(newfd) == -1) {
		saved = errno;
		(void)unlinkat(newfd, res->name, 0);
		errno = saved;
		return mailbox_fail("cannot fsync Maildir new/", err_r);
	}
	return 0;
}

/* The Maildir's tmp/ and new/ (and cur/ when creating). */
static int
open_subdirs(int mdfd, bool create, int *tmpfd, int *newfd,
    const char **err_r)
{
	int fd;

	if ((*tmpfd = open_dir(mdfd, sub_tmp.name, true, create, &sub_tmp,
	    err_r)) == -1)
		return -1;
	if ((*newfd = open_dir(mdfd, sub_new.name, true, create, &sub_new,
	    err_r)) == -1)
		return -1;
	if (!create)
		return 0;
	if ((fd = open_dir(mdfd, sub_cur.name, true, true, &sub_cur,
	    err_r)) == -1)
		return -1;
	(void)close(fd);
	return 0;
}

int
maildir_deliver(const char *path, int flags, const struct mailbox_src *src,
    struct maildir_result *res, const char **err_r)
{
	char name[TMPNAME_MAX + 1];
	bool create = (flags & MAILDIR_CREATE) != 0;
	int mdfd, tmpfd = -1, newfd = -1, fd, saved, r = -1;

	memset(res, 0, sizeof(*res));
	if ((mdfd = open_maildir(path, create, err_r)) == -1)
		return -1;
	if (open_subdirs(mdfd, create, &tmpfd, &newfd, err_r) == -1)
		goto out;
	if ((fd = create_tmp(tmpfd, name, sizeof(name), err_r)) == -1)
		goto out;
	if (write_message(fd, src, &res->size, err_r) == -1 ||
	    publish(tmpfd, newfd, name, res, err_r) == -1) {
		saved = errno;
		(void)unlinkat(tmpfd, name, 0);
		errno = saved;
		res->name[0] = '\0';
		goto out;
	}
	r = 0;
out:
	close_keep_errno(tmpfd);
	close_keep_errno(newfd);
	close_keep_errno(mdfd);
	return r;
}
