/*
 * SPDX-License-Identifier: ISC
 *
 * mailbox_test.h -- what check_maildir and check_mbox share: a message
 * source that cuts its content where a test says (and can fail part way),
 * a plain reference of the CRLF-to-LF conversion and mboxrd quoting, and
 * small file helpers.
 */
#ifndef TERN_MAILBOX_TEST_H
#define TERN_MAILBOX_TEST_H

#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"
#include "xmem.h"

/*
 * Gives len bytes: first `first` bytes (0: step), then `step` at a time;
 * with fail, -1 with errno fail_errno once fail_at bytes have gone.
 */
struct tsrc {
	const uint8_t	*p;
	size_t		 len, pos, first, step;
	bool		 fail;
	size_t		 fail_at;
	int		 fail_errno;
	unsigned	 calls;
};

static inline ssize_t
tsrc_read(void *arg, void *buf, size_t len)
{
	struct tsrc *t = arg;
	size_t n;

	n = t->calls++ == 0 && t->first != 0 ? t->first : t->step;
	if (t->fail && t->pos >= t->fail_at) {
		errno = t->fail_errno;
		return -1;
	}
	if (t->fail && n > t->fail_at - t->pos)
		n = t->fail_at - t->pos;
	if (n > t->len - t->pos)
		n = t->len - t->pos;
	if (n > len)
		n = len;
	memcpy(buf, t->p + t->pos, n);
	t->pos += n;
	return (ssize_t)n;
}

static inline struct mailbox_src
tsrc_init(struct tsrc *t, const void *p, size_t len, size_t first,
    size_t step)
{
	struct mailbox_src src = { tsrc_read, t, NULL, 0 };

	memset(t, 0, sizeof(*t));
	t->p = p;
	t->len = len;
	t->first = first;
	t->step = step != 0 ? step : len + 1;
	return src;
}

/* Does the line at p (n bytes) match ">*From "? */
static inline bool
ref_is_from(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return n - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

/*
 * The obvious two passes over the whole message: CRLF to LF, then a '>'
 * before each line matching ">*From " when quote.  out needs 2 * len + 1.
 */
static inline size_t
ref_convert(const uint8_t *in, size_t len, bool quote, uint8_t *out)
{
	uint8_t *lf = xmalloc(len + 1);
	size_t i, n = 0, o = 0, start, end;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			continue;
		lf[n++] = in[i];
	}
	for (start = 0; start < n; start = end) {
		for (end = start; end < n && lf[end] != '\n'; end++)
			continue;
		if (end < n)
			end++;
		if (quote && ref_is_from(lf + start, end - start))
			out[o++] = '>';
		memcpy(out + o, lf + start, end - start);
		o += end - start;
	}
	free(lf);
	return o;
}

/* The whole file name in dirfd, NUL-terminated; its size in *len_r. */
static inline char *
slurp_at(int dirfd, const char *name, size_t *len_r)
{
	struct stat st;
	char *p;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = xmalloc((size_t)st.st_size + 1);
	n = pread(fd, p, (size_t)st.st_size, 0);
	ck_assert_int_eq(n, st.st_size);
	p[n] = '\0';
	close(fd);
	*len_r = (size_t)n;
	return p;
}

/* How many entries (not . and ..) dirfd has; the last name into name_r. */
static inline size_t
count_at(int dirfd, char *name_r, size_t sz)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = dup(dirfd);
	ck_assert_int_ne(fd, -1);
	d = fdopendir(fd);
	ck_assert_ptr_nonnull(d);
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (name_r != NULL)
			strlcpy(name_r, de->d_name, sz);
		n++;
	}
	closedir(d);
	return n;
}

/* A fresh scratch directory under /tmp; its path into dir. */
static inline int
scratch_dir(const char *prefix, char *dir, size_t sz)
{
	int fd;

	ck_assert_int_lt(snprintf(dir, sz, "/tmp/%s.XXXXXX", prefix),
	    (int)sz);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	return fd;
}

/* rm -r of a scratch directory, best effort. */
static inline void
scratch_remove(int at, const char *name)
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
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			scratch_remove(dirfd(d), de->d_name);
	}
	closedir(d);
	(void)unlinkat(at, name, AT_REMOVEDIR);
}

#endif
