/*
 * SPDX-License-Identifier: ISC
 *
 * check_qfile.c -- unit tests for lib/qfile.c: the exact bytes of the
 * format, round trips of every field through a committed file, the
 * crash-safety protocol (temporary name, rename, nothing left behind),
 * write errors (ENOSPC, EFBIG), a table of malformed files, truncation
 * and byte flips, the read size cap, and the in-place status rewrite.
 *
 * Process:  test runner (Check); a scratch queue (tmp/, incoming/) under
 *           a fresh directory in /tmp.  As root, one test mounts a small
 *           tmpfs inside a private mount namespace of a forked child.
 * Input:    files written here, with the writer or by hand from the
 *           record layout documented in docs/queue-file.md.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "qfile.h"
#include "qid.h"
#include "xmem.h"

#define P(s)		(const uint8_t *)(s), sizeof(s) - 1
#define MIB		(1024 * 1024)
#define READ_MAX	(16 * MIB)
#define TMPNAME		"t.12345.1"

static char	topdir[PATH_MAX];
static int	topfd = -1, tmpfd = -1, destfd = -1;

/* Scratch queue. */

static int
open_dir(int at, const char *name)
{
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	return fd;
}

static void
setup(void)
{
	strlcpy(topdir, "/tmp/check_qfile.XXXXXX", sizeof(topdir));
	ck_assert_ptr_nonnull(mkdtemp(topdir));
	topfd = open_dir(AT_FDCWD, topdir);
	ck_assert_int_eq(mkdirat(topfd, "tmp", 0700), 0);
	ck_assert_int_eq(mkdirat(topfd, "incoming", 0700), 0);
	ck_assert_int_eq(mkdirat(topfd, "mnt", 0700), 0);
	tmpfd = open_dir(topfd, "tmp");
	destfd = open_dir(topfd, "incoming");
}

/* Names in dirfd, not . and ..; the last one into name_r. */
static size_t
list_dir(int dirfd, char *name_r, size_t sz)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	ck_assert_ptr_nonnull(d = fdopendir(open_dir(dirfd, ".")));
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

static void
empty_dir(int dirfd)
{
	struct dirent *de;
	DIR *d;

	if ((d = fdopendir(open_dir(dirfd, "."))) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

static void
teardown(void)
{
	empty_dir(tmpfd);
	empty_dir(destfd);
	close(tmpfd);
	close(destfd);
	(void)unlinkat(topfd, "tmp", AT_REMOVEDIR);
	(void)unlinkat(topfd, "incoming", AT_REMOVEDIR);
	(void)unlinkat(topfd, "mnt", AT_REMOVEDIR);
	close(topfd);
	(void)rmdir(topdir);
}

static void	p_add(struct buf *, const void *, size_t);

/* Whole contents of fd, from offset 0. */
static void
slurp(int fd, struct buf *out)
{
	uint8_t chunk[65536];
	off_t off = 0;
	ssize_t n;

	buf_init(out, SIZE_MAX);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		p_add(out, chunk, (size_t)n);
		off += n;
	}
	ck_assert_int_eq(n, 0);
}

static int
new_memfd(void)
{
	int fd;

	fd = memfd_create("check_qfile", MFD_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	return fd;
}

/* A message to write, and to compare with what is read back. */

struct sample {
	int64_t				 sec;
	uint32_t			 usec;
	const struct qfile_client	*client;	/* NULL: none */
	const struct qfile_sender	*sender;
	const struct qfile_rcpt		*rcpts;
	size_t				 nrcpt;
	const uint8_t			*content;
	size_t				 len;
	size_t				 piece;		/* 0: one call */
};

static const struct qfile_client def_client = {
	.name = "mx.example.org", .addr = "2001:db8::25", .port = 49152,
	.helo = "mx.example.org", .proto = "ESMTPSA",
};

static const struct qfile_sender def_sender = {
	.addr = "alice@example.org", .flags = QFILE_8BITMIME,
	.ret = QFILE_RET_FULL, .envid = "QQ314159", .size = 12345,
};

static const struct qfile_rcpt def_rcpts[] = {
	{ .addr = "bob@example.net", .orcpt_type = "rfc822",
	  .orcpt = "bob@example.net",
	  .notify = QFILE_NOTIFY_SUCCESS | QFILE_NOTIFY_FAILURE },
	{ .addr = "carol@example.net" },
	{ .addr = "dave@example.com", .orcpt_type = "utf-8",
	  .orcpt = "d\xc3\xa1ve@example.com", .notify = QFILE_NOTIFY_DELAY,
	  .status = QFILE_RS_DELIVERED },
};

static const char def_content[] = "Received: from mx.example.org\r\n"
    "Subject: test\r\n\r\nHello.\r\n.leading dot, unstuffed\r\n";

static void
def_sample(struct sample *s)
{
	memset(s, 0, sizeof(*s));
	s->sec = 1700000000;
	s->usec = 123456;
	s->client = &def_client;
	s->sender = &def_sender;
	s->rcpts = def_rcpts;
	s->nrcpt = sizeof(def_rcpts) / sizeof(def_rcpts[0]);
	s->content = (const uint8_t *)def_content;
	s->len = sizeof(def_content) - 1;
}

static void
put_sample(struct qfile_writer *w, const struct sample *s)
{
	size_t i, n;

	ck_assert_int_eq(qfile_put_arrival(w, s->sec, s->usec), 0);
	if (s->client != NULL)
		ck_assert_int_eq(qfile_put_client(w, s->client), 0);
	ck_assert_int_eq(qfile_put_sender(w, s->sender), 0);
	for (i = 0; i < s->nrcpt; i++)
		ck_assert_int_eq(qfile_put_rcpt(w, &s->rcpts[i]), 0);
	if (s->piece == 0) {
		if (s->len > 0)
			ck_assert_int_eq(qfile_put_content(w, s->content,
			    s->len), 0);
		return;
	}
	for (i = 0; i < s->len; i += n) {
		n = s->len - i < s->piece ? s->len - i : s->piece;
		ck_assert_int_eq(qfile_put_content(w, s->content + i, n), 0);
	}
}

/* The bytes the writer makes for s, through a memfd. */
static void
sample_bytes(const struct sample *s, struct buf *out)
{
	struct qfile_writer w;
	int fd;

	fd = new_memfd();
	ck_assert_int_eq(qfile_writer_fdopen(&w, fd), 0);
	put_sample(&w, s);
	ck_assert_int_eq(qfile_writer_finish(&w), 0);
	slurp(fd, out);
	close(fd);
}

static const char *
nz(const char *s)
{
	return s == NULL ? "" : s;
}

/* The content, both from the ranges and through qfile_content_write. */
static void
check_content(const struct qfile *q, const uint8_t *want, size_t len)
{
	struct buf got;
	size_t i, sum = 0;
	int fd;

	ck_assert_uint_eq(q->content_size, len);
	for (i = 0; i < q->ncontent; i++) {
		if (q->content[i].len < 1 ||
		    q->content[i].len > QFILE_REC_MAX ||
		    q->content[i].off + q->content[i].len > q->base_len ||
		    sum + q->content[i].len > len ||
		    memcmp(q->base + q->content[i].off, want + sum,
		    q->content[i].len) != 0)
			ck_abort_msg("content range %zu", i);
		sum += q->content[i].len;
	}
	ck_assert_uint_eq(sum, len);
	fd = new_memfd();
	ck_assert_int_eq(qfile_content_write(q, fd), 0);
	slurp(fd, &got);
	ck_assert_uint_eq(got.len, len);
	ck_assert(len == 0 || memcmp(got.data, want, len) == 0);
	buf_clear(&got);
	close(fd);
}

static bool
same_rcpt(const struct qfile *q, const struct qfile_rcpt *r,
    const struct qfile_rcpt *w)
{
	if (strcmp(r->addr, w->addr) != 0 ||
	    strcmp(r->orcpt_type, nz(w->orcpt_type)) != 0 ||
	    strcmp(r->orcpt, nz(w->orcpt)) != 0 ||
	    r->notify != w->notify || r->status != w->status)
		return false;
	/* status_off names the value byte of a status record. */
	if (r->status_off < QFILE_REC_HDR ||
	    r->status_off >= (off_t)q->base_len)
		return false;
	return q->base[r->status_off] == w->status &&
	    memcmp(q->base + r->status_off - 5, "D\0\0\0\x01", 5) == 0;
}

static void
check_sample(const struct qfile *q, const struct sample *s)
{
	const struct qfile_rcpt *r, *w;
	size_t i;

	ck_assert_int_eq(q->arrival_sec, s->sec);
	ck_assert_uint_eq(q->arrival_usec, s->usec);
	ck_assert(q->has_client == (s->client != NULL));
	if (s->client != NULL) {
		ck_assert_str_eq(q->client.name, s->client->name);
		ck_assert_str_eq(q->client.addr, s->client->addr);
		ck_assert_uint_eq(q->client.port, s->client->port);
		ck_assert_str_eq(q->client.helo, s->client->helo);
		ck_assert_str_eq(q->client.proto, s->client->proto);
	} else
		ck_assert_str_eq(q->client.name, "");
	ck_assert_str_eq(q->sender.addr, s->sender->addr);
	ck_assert_uint_eq(q->sender.flags, s->sender->flags);
	ck_assert_uint_eq(q->sender.ret, s->sender->ret);
	ck_assert_str_eq(q->sender.envid, s->sender->envid);
	ck_assert_uint_eq(q->sender.size, s->sender->size);
	ck_assert_uint_eq(q->nrcpt, s->nrcpt);
	for (i = 0; i < s->nrcpt; i++) {
		r = &q->rcpts[i];
		w = &s->rcpts[i];
		if (!same_rcpt(q, r, w))
			ck_abort_msg("recipient %zu: %s", i, r->addr);
	}
	check_content(q, s->content, s->len);
}

/* Write s through the real writer into incoming/; its queue ID. */
static void
commit_sample(const struct sample *s, char qid[QID_LEN + 1])
{
	struct qfile_writer w;

	ck_assert_int_eq(qid_new(qid), 0);
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	put_sample(&w, s);
	if (qfile_writer_commit(&w, destfd, qid) != 0)
		ck_abort_msg("commit: %s", strerror(errno));
	qfile_writer_abort(&w);		/* a no-op after commit */
}

static void
read_committed(const char *qid, struct qfile *q)
{
	const char *err = NULL;
	int fd;

	fd = openat(destfd, qid, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	if (qfile_read(fd, READ_MAX, q, &err) != 0)
		ck_abort_msg("qfile_read: %s", err);
	close(fd);
}

/* Commit s, read it back, compare every field. */
static void
roundtrip(const struct sample *s)
{
	char qid[QID_LEN + 1];
	struct qfile q;

	commit_sample(s, qid);
	qfile_init(&q);
	read_committed(qid, &q);
	check_sample(&q, s);
	qfile_clear(&q);
}

/* The format, byte for byte. */

START_TEST(test_exact_bytes)
{
	static const uint8_t want[] =
	    "M\0\0\0\x06" "TERNQ1"
	    "T\0\0\0\x0c" "\0\0\0\0\0\0\0\x01" "\0\0\0\x02"
	    "S\0\0\0\x0e" "\0\0" "\0" "\0" "\0\0" "\0\0\0\0\0\0\0\0"
	    "R\0\0\0\x0a" "\0\x03" "a@b" "\0" "\0\0" "\0\0"
	    "D\0\0\0\x01" "\0"
	    "B\0\0\0\0"
	    "X\0\0\0\x02" "hi"
	    "E\0\0\0\x0c" "\0\0\0\0\0\0\0\x02" "\0\0\0\x01";
	static const struct qfile_sender null_sender;
	static const struct qfile_rcpt rcpt = { .addr = "a@b" };
	struct sample s = { .sec = 1, .usec = 2, .sender = &null_sender,
	    .rcpts = &rcpt, .nrcpt = 1, .content = (const uint8_t *)"hi",
	    .len = 2 };
	struct buf b;

	sample_bytes(&s, &b);
	ck_assert_uint_eq(b.len, sizeof(want) - 1);
	ck_assert_mem_eq(b.data, want, sizeof(want) - 1);
	buf_clear(&b);
}
END_TEST

START_TEST(test_exact_bytes_full)
{
	static const uint8_t want[] =
	    "M\0\0\0\x06" "TERNQ1"
	    "T\0\0\0\x0c" "\0\0\0\0\x65\x53\xf1\x00" "\0\x01\xe2\x40"
	    "C\0\0\0\x39" "\0\x0e" "mx.example.org" "\0\x0c" "2001:db8::25"
	    "\xc0\x00" "\0\x0e" "mx.example.org" "\0\x07" "ESMTPSA"
	    "S\0\0\0\x27" "\0\x11" "alice@example.org" "\x02" "\x01"
	    "\0\x08" "QQ314159" "\0\0\0\0\0\0\x30\x39";
	struct sample s;
	struct buf b;

	def_sample(&s);
	sample_bytes(&s, &b);
	ck_assert_uint_ge(b.len, sizeof(want) - 1);
	ck_assert_mem_eq(b.data, want, sizeof(want) - 1);
	ck_assert_mem_eq(b.data + sizeof(want) - 1, "R\0\0\0\x2b" "\0\x0f"
	    "bob@example.net" "\x03" "\0\x06" "rfc822" "\0\x0f"
	    "bob@example.net" "D\0\0\0\x01" "\0", 5 + 0x2b + 6);
	buf_clear(&b);
}
END_TEST

/*
 * Content records are full but for the last, however the content is
 * handed over: the output depends on what is written, not on how.
 */
START_TEST(test_chunking)
{
	static const size_t pieces[] = { 0, 1, 7, 4096, QFILE_REC_MAX - 1,
	    QFILE_REC_MAX, QFILE_REC_MAX + 1 };
	struct buf ref, b;
	struct sample s;
	struct qfile q;
	const char *err;
	uint8_t *content;
	size_t i, len = 3 * QFILE_REC_MAX + 17;

	content = xmalloc(len);
	for (i = 0; i < len; i++)
		content[i] = (uint8_t)(i * 7 + i / 251);
	def_sample(&s);
	s.content = content;
	s.len = len;
	sample_bytes(&s, &ref);
	for (i = 1; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		s.piece = pieces[i];
		sample_bytes(&s, &b);
		ck_assert_uint_eq(b.len, ref.len);
		ck_assert_msg(memcmp(b.data, ref.data, b.len) == 0,
		    "pieces of %zu", pieces[i]);
		buf_clear(&b);
	}
	qfile_init(&q);
	ck_assert_int_eq(qfile_parse(ref.data, ref.len, &q, &err), 0);
	ck_assert_uint_eq(q.ncontent, 4);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(q.content[i].len, QFILE_REC_MAX);
	ck_assert_uint_eq(q.content[3].len, 17);
	check_content(&q, content, len);
	qfile_clear(&q);
	buf_clear(&ref);
	free(content);
}
END_TEST

/* Round trips through a committed file. */

START_TEST(test_roundtrip_full)
{
	struct sample s;

	def_sample(&s);
	roundtrip(&s);
}
END_TEST

START_TEST(test_roundtrip_null_sender)
{
	static const struct qfile_sender sender = { .addr = "",
	    .flags = QFILE_SMTPUTF8 | QFILE_BINARYMIME,
	    .ret = QFILE_RET_HDRS, .envid = "" };
	static const struct qfile_rcpt rcpt = { .addr = "postmaster",
	    .notify = QFILE_NOTIFY_NEVER, .status = QFILE_RS_FAILED };
	struct sample s;

	def_sample(&s);
	s.client = NULL;
	s.sender = &sender;
	s.rcpts = &rcpt;
	s.nrcpt = 1;
	roundtrip(&s);
}
END_TEST

START_TEST(test_roundtrip_utf8)
{
	static const struct qfile_sender sender = {
	    .addr = "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@\xd0\xbf\xd1\x80\xd0"
	    "\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
	    .flags = QFILE_SMTPUTF8 | QFILE_8BITMIME };
	static const struct qfile_rcpt rcpts[] = {
	    { .addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	      "\xe5\xb9\xbf\xe5\x91\x8a", .orcpt_type = "utf-8",
	      .orcpt = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	      "\xe5\xb9\xbf\xe5\x91\x8a", .notify = QFILE_NOTIFY_FAILURE },
	    { .addr = "caf\xc3\xa9@example.org" },
	};
	static const char content[] = "Subject: =?utf-8?q?caf=C3=A9?=\r\n"
	    "\r\n\xe2\x98\x83 caf\xc3\xa9\r\n";
	struct sample s;

	def_sample(&s);
	s.sender = &sender;
	s.rcpts = rcpts;
	s.nrcpt = 2;
	s.content = (const uint8_t *)content;
	s.len = sizeof(content) - 1;
	roundtrip(&s);
}
END_TEST

/* Every field at its limit. */
START_TEST(test_roundtrip_limits)
{
	static struct qfile_client client;
	static struct qfile_sender sender;
	static char addr[QFILE_ADDR_MAX + 1], orcpt[QFILE_ADDR_MAX + 1];
	static char otype[QFILE_ORCPT_TYPE_MAX + 1];
	struct qfile_rcpt rcpt = { .addr = addr, .orcpt_type = otype,
	    .orcpt = orcpt, .notify = 7 };
	struct sample s;

	memset(client.name, 'n', QFILE_HOST_MAX);
	memset(client.addr, 'a', QFILE_CLIENT_ADDR_MAX);
	memset(client.helo, 'h', QFILE_HOST_MAX);
	memset(client.proto, 'P', QFILE_PROTO_MAX);
	client.port = 65535;
	memset(sender.addr, 's', QFILE_ADDR_MAX);
	memset(sender.envid, 'e', QFILE_ENVID_MAX);
	sender.size = UINT64_MAX;
	memset(addr, 'r', QFILE_ADDR_MAX);
	memset(otype, 't', QFILE_ORCPT_TYPE_MAX);
	memset(orcpt, 'o', QFILE_ADDR_MAX);
	def_sample(&s);
	s.client = &client;
	s.sender = &sender;
	s.rcpts = &rcpt;
	s.nrcpt = 1;
	s.sec = INT64_MAX;
	s.usec = 999999;
	roundtrip(&s);
}
END_TEST

START_TEST(test_roundtrip_1000_rcpts)
{
	struct qfile_rcpt *rcpts;
	char (*addrs)[32];
	struct sample s;
	size_t i;

	rcpts = xcalloc(1000, sizeof(*rcpts));
	addrs = xcalloc(1000, sizeof(*addrs));
	for (i = 0; i < 1000; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "rcpt%04zu@example.org",
		    i);
		rcpts[i].addr = addrs[i];
		rcpts[i].status = (uint8_t)(i % 3);
		rcpts[i].notify = (uint8_t)(i % 8);
		if (i % 5 == 0) {
			rcpts[i].orcpt_type = "rfc822";
			rcpts[i].orcpt = addrs[i];
		}
	}
	def_sample(&s);
	s.rcpts = rcpts;
	s.nrcpt = 1000;
	roundtrip(&s);
	free(addrs);
	free(rcpts);
}
END_TEST

/* NULs, bare CR and LF, and a last line without CRLF (BDAT). */
START_TEST(test_roundtrip_binary)
{
	static const uint8_t content[] = "Subject: x\r\n\r\n\0\0\r\0\n\r\r\n"
	    "\xff\xfe bare LF\n bare CR\r.\r\n..\r\nno CRLF at the end";
	struct sample s;

	def_sample(&s);
	s.content = content;
	s.len = sizeof(content) - 1;
	roundtrip(&s);
	s.piece = 1;
	roundtrip(&s);
	s.len = 1;		/* one byte, "S" */
	roundtrip(&s);
	s.len = 0;
	roundtrip(&s);
}
END_TEST

START_TEST(test_roundtrip_5mib)
{
	const size_t len = 5 * MIB;
	char qid[QID_LEN + 1];
	struct sample s;
	struct qfile q;
	uint8_t *content;
	uint32_t x = 2463534242U;
	size_t i;

	content = xmalloc(len);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		content[i] = (uint8_t)x;
	}
	def_sample(&s);
	s.content = content;
	s.len = len;
	s.piece = 4093;
	commit_sample(&s, qid);
	qfile_init(&q);
	read_committed(qid, &q);
	check_sample(&q, &s);
	ck_assert_uint_eq(q.ncontent, len / QFILE_REC_MAX);
	qfile_clear(&q);
	free(content);
}
END_TEST

/* One struct qfile, parsed again and again. */
START_TEST(test_parse_reuse)
{
	struct buf a, b;
	struct sample s;
	struct qfile q;
	const char *err = NULL;

	def_sample(&s);
	sample_bytes(&s, &a);
	s.client = NULL;
	s.nrcpt = 1;
	sample_bytes(&s, &b);
	qfile_init(&q);
	ck_assert_int_eq(qfile_parse(a.data, a.len, &q, &err), 0);
	ck_assert_uint_eq(q.nrcpt, 3);
	ck_assert_int_eq(qfile_parse(b.data, b.len, &q, &err), 0);
	check_sample(&q, &s);
	ck_assert_int_eq(qfile_parse(a.data, a.len - 1, &q, &err), -1);
	ck_assert_uint_eq(q.nrcpt, 0);
	ck_assert_uint_eq(q.ncontent, 0);
	ck_assert(!q.has_client);
	ck_assert_ptr_null(q.rcpts);
	ck_assert_int_eq(qfile_parse(a.data, a.len, &q, &err), 0);
	qfile_clear(&q);
	qfile_clear(&q);
	buf_clear(&a);
	buf_clear(&b);
}
END_TEST

/* The crash-safety protocol on disk. */

START_TEST(test_commit_files)
{
	char qid[QID_LEN + 1], name[NAME_MAX + 1];
	struct sample s;
	struct stat st;
	struct buf b;
	mode_t old;

	def_sample(&s);
	/* Whatever the umask, the file is 0600. */
	old = umask(0277);
	commit_sample(&s, qid);
	umask(old);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
	ck_assert_uint_eq(list_dir(destfd, name, sizeof(name)), 1);
	ck_assert_str_eq(name, qid);
	ck_assert_int_eq(fstatat(destfd, qid, &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_nlink, 1);
	sample_bytes(&s, &b);
	ck_assert_int_eq(st.st_size, (off_t)b.len);
	buf_clear(&b);
}
END_TEST

START_TEST(test_commit_exclusive)
{
	char qid[QID_LEN + 1];
	struct qfile_writer w;
	struct sample s;
	struct stat st;
	int fd;

	def_sample(&s);
	ck_assert_int_eq(qid_new(qid), 0);
	fd = openat(destfd, qid, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, "other", 5), 5);
	close(fd);

	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	put_sample(&w, &s);
	errno = 0;
	ck_assert_int_eq(qfile_writer_commit(&w, destfd, qid), -1);
	ck_assert_int_eq(errno, EEXIST);
	qfile_writer_abort(&w);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
	ck_assert_uint_eq(list_dir(destfd, NULL, 0), 1);
	ck_assert_int_eq(fstatat(destfd, qid, &st, 0), 0);
	ck_assert_int_eq(st.st_size, 5);
}
END_TEST

/* A bad queue ID changes nothing: the same writer commits after it. */
START_TEST(test_commit_bad_qid)
{
	static const char *bad[] = { "", "../x", "tmp",
	    "01JN7W803RJ000GGZZZZZZZ", "01jn7w803rj000ggzzzzzzzz" };
	char qid[QID_LEN + 1];
	struct qfile_writer w;
	struct sample s;
	struct qfile q;
	size_t i;

	def_sample(&s);
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	put_sample(&w, &s);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(qfile_writer_commit(&w, destfd, bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_int_eq(qfile_writer_commit(&w, destfd, NULL), -1);
	ck_assert_int_eq(qid_new(qid), 0);
	ck_assert_int_eq(qfile_writer_commit(&w, destfd, qid), 0);
	ck_assert_uint_eq(list_dir(destfd, NULL, 0), 1);
	qfile_init(&q);
	read_committed(qid, &q);
	check_sample(&q, &s);
	qfile_clear(&q);
}
END_TEST

START_TEST(test_abort)
{
	struct qfile_writer w;
	struct sample s;

	def_sample(&s);
	/* Right after open. */
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 1);
	qfile_writer_abort(&w);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
	qfile_writer_abort(&w);
	/* With content past the write buffer, so on disk. */
	s.content = xcalloc(1, MIB);
	s.len = MIB;
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	put_sample(&w, &s);
	qfile_writer_abort(&w);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
	ck_assert_uint_eq(list_dir(destfd, NULL, 0), 0);
	free((void *)s.content);
}
END_TEST

/* A failed open leaves someone else's file alone, even on abort. */
START_TEST(test_open_errors)
{
	static const char *bad[] = { "", ".", "..", "a/b", "/tmp/x" };
	char longname[QFILE_TMPNAME_MAX + 2];
	struct qfile_writer w;
	size_t i;
	int fd;

	fd = openat(tmpfd, TMPNAME, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ne(fd, -1);
	close(fd);
	errno = 0;
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), -1);
	ck_assert_int_eq(errno, EEXIST);
	qfile_writer_abort(&w);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 1);
	ck_assert_int_eq(unlinkat(tmpfd, TMPNAME, 0), 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(qfile_writer_open(&w, tmpfd, bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
		qfile_writer_abort(&w);
	}
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, NULL), -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, longname), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_writer_open(&w, -1, TMPNAME), -1);
	ck_assert_int_eq(errno, EBADF);
	qfile_writer_abort(&w);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
}
END_TEST

/* Limits and bad fields: -1, and the writer goes on as if not asked. */
START_TEST(test_put_limits)
{
	struct qfile_client client = def_client;
	struct qfile_sender sender = def_sender;
	struct qfile_rcpt r = { .addr = "ok@example.org" };
	static char big[QFILE_ADDR_MAX + 2];
	char otype[QFILE_ORCPT_TYPE_MAX + 2];
	char qid[QID_LEN + 1];
	struct qfile_writer w;
	struct qfile q;

	memset(big, 'x', QFILE_ADDR_MAX + 1);
	memset(otype, 't', QFILE_ORCPT_TYPE_MAX + 1);
	otype[QFILE_ORCPT_TYPE_MAX + 1] = '\0';
	ck_assert_int_eq(qfile_writer_open(&w, tmpfd, TMPNAME), 0);
	qfile_writer_limits(&w, 2, 10);

	ck_assert_int_eq(qfile_put_arrival(&w, -1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_put_arrival(&w, 0, 1000000), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_put_arrival(&w, 5, 6), 0);

	memset(client.helo, 'h', sizeof(client.helo));	/* no NUL */
	ck_assert_int_eq(qfile_put_client(&w, &client), -1);
	ck_assert_int_eq(errno, EINVAL);
	client = def_client;
	memset(client.proto, 'p', sizeof(client.proto));
	ck_assert_int_eq(qfile_put_client(&w, &client), -1);
	client = def_client;
	ck_assert_int_eq(qfile_put_client(&w, &client), 0);

	memset(sender.addr, 's', sizeof(sender.addr));
	ck_assert_int_eq(qfile_put_sender(&w, &sender), -1);
	ck_assert_int_eq(errno, EINVAL);
	sender = def_sender;
	sender.flags = QFILE_8BITMIME | QFILE_BINARYMIME;
	ck_assert_int_eq(qfile_put_sender(&w, &sender), -1);
	sender.flags = 0x08;
	ck_assert_int_eq(qfile_put_sender(&w, &sender), -1);
	sender = def_sender;
	sender.ret = 3;
	ck_assert_int_eq(qfile_put_sender(&w, &sender), -1);
	sender = def_sender;
	memset(sender.envid, 'e', sizeof(sender.envid));
	ck_assert_int_eq(qfile_put_sender(&w, &sender), -1);
	sender = def_sender;
	ck_assert_int_eq(qfile_put_sender(&w, &sender), 0);

	r.addr = NULL;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
	r.addr = "";
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.addr = big;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.addr = "ok@example.org";
	r.orcpt_type = "rfc822";
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);	/* no ORCPT */
	r.orcpt_type = NULL;
	r.orcpt = "ok@example.org";
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);	/* no type */
	r.orcpt_type = otype;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.orcpt_type = "rfc822";
	r.orcpt = big;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.orcpt = "ok@example.org";
	r.notify = QFILE_NOTIFY_NEVER | QFILE_NOTIFY_DELAY;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.notify = 0x10;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	r.notify = QFILE_NOTIFY_NEVER;
	r.status = 4;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	ck_assert_int_eq(errno, EINVAL);
	r.status = QFILE_RS_PENDING;
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), 0);
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), 0);
	ck_assert_int_eq(qfile_put_rcpt(&w, &r), -1);
	ck_assert_int_eq(errno, E2BIG);

	ck_assert_int_eq(qfile_put_content(&w, "123456", 6), 0);
	ck_assert_int_eq(qfile_put_content(&w, "78901", 5), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_int_eq(qfile_put_content(&w, "7890", 4), 0);
	ck_assert_int_eq(qfile_put_content(&w, "", 0), 0);
	ck_assert_int_eq(qfile_put_content(&w, "x", 1), -1);
	ck_assert_int_eq(errno, EFBIG);

	ck_assert_int_eq(qid_new(qid), 0);
	ck_assert_int_eq(qfile_writer_commit(&w, destfd, qid), 0);
	qfile_init(&q);
	read_committed(qid, &q);
	ck_assert_int_eq(q.arrival_sec, 5);
	ck_assert_uint_eq(q.nrcpt, 2);
	ck_assert_str_eq(q.rcpts[1].orcpt, "ok@example.org");
	check_content(&q, (const uint8_t *)"1234567890", 10);
	qfile_clear(&q);
}
END_TEST

/* Out-of-order calls are bugs in the caller. */

START_TEST(test_misuse_rcpt_first)
{
	static const struct qfile_rcpt r = { .addr = "a@b" };
	struct qfile_writer w;
	int fd;

	fd = new_memfd();
	qfile_writer_fdopen(&w, fd);
	qfile_put_rcpt(&w, &r);
}
END_TEST

START_TEST(test_misuse_no_rcpt)
{
	struct qfile_writer w;
	int fd;

	fd = new_memfd();
	qfile_writer_fdopen(&w, fd);
	qfile_put_arrival(&w, 0, 0);
	qfile_put_sender(&w, &def_sender);
	qfile_writer_finish(&w);
}
END_TEST

START_TEST(test_misuse_commit_fdopen)
{
	char qid[QID_LEN + 1];
	struct qfile_writer w;
	struct sample s;
	int fd;

	def_sample(&s);
	fd = new_memfd();
	qfile_writer_fdopen(&w, fd);
	put_sample(&w, &s);
	qid_new(qid);
	qfile_writer_commit(&w, fd, qid);
}
END_TEST

START_TEST(test_misuse_after_finish)
{
	struct qfile_writer w;
	struct sample s;
	int fd;

	def_sample(&s);
	fd = new_memfd();
	qfile_writer_fdopen(&w, fd);
	put_sample(&w, &s);
	ck_assert_int_eq(qfile_writer_finish(&w), 0);
	qfile_put_content(&w, "x", 1);
}
END_TEST

/* Write errors. */

/* /dev/full: ENOSPC, at the first flush, then from every call. */
START_TEST(test_enospc_dev_full)
{
	struct qfile_writer w;
	struct sample s;
	uint8_t *big;
	int fd;

	fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	ck_assert_int_ne(fd, -1);
	def_sample(&s);

	/* A small file: everything is buffered until finish. */
	ck_assert_int_eq(qfile_writer_fdopen(&w, fd), 0);
	put_sample(&w, &s);
	errno = 0;
	ck_assert_int_eq(qfile_writer_finish(&w), -1);
	ck_assert_int_eq(errno, ENOSPC);
	errno = 0;
	ck_assert_int_eq(qfile_writer_finish(&w), -1);
	ck_assert_int_eq(errno, ENOSPC);
	qfile_writer_abort(&w);

	/* A large one: put_content reports it. */
	big = xcalloc(1, MIB);
	ck_assert_int_eq(qfile_writer_fdopen(&w, fd), 0);
	s.len = 0;
	put_sample(&w, &s);
	errno = 0;
	ck_assert_int_eq(qfile_put_content(&w, big, MIB), -1);
	ck_assert_int_eq(errno, ENOSPC);
	errno = 0;
	ck_assert_int_eq(qfile_put_content(&w, "x", 1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(qfile_writer_finish(&w), -1);
	ck_assert_int_eq(errno, ENOSPC);
	qfile_writer_abort(&w);
	free(big);
	close(fd);
}
END_TEST

/*
 * In a child (the limits and the signal stay there): write up to 1 MiB
 * of content into dirfd; exit with the errno that stopped the writer, 0
 * if nothing did, or 100 + a step number if the test itself failed.
 */
static int
child_fill(int dirfd)
{
	struct qfile_writer w;
	char qid[QID_LEN + 1];
	struct sample s;
	uint8_t *big;
	size_t i;

	def_sample(&s);
	s.len = 0;
	big = calloc(1, 4096);
	if (big == NULL || qid_new(qid) == -1)
		return 101;
	if (qfile_writer_open(&w, dirfd, TMPNAME) == -1)
		return 102;
	if (qfile_put_arrival(&w, s.sec, s.usec) == -1 ||
	    qfile_put_sender(&w, s.sender) == -1 ||
	    qfile_put_rcpt(&w, &s.rcpts[0]) == -1)
		return 103;
	for (i = 0; i < 256; i++)
		if (qfile_put_content(&w, big, 4096) == -1)
			break;
	if (i == 256 && qfile_writer_commit(&w, dirfd, qid) == 0)
		return 0;
	i = (size_t)errno;
	qfile_writer_abort(&w);
	free(big);
	return (int)i;
}

/*
 * The child's answer comes through a pipe, not its exit status, which
 * valgrind would replace with its own error code for the memory the child
 * inherited and never freed.
 */
static _Noreturn void
child_answer(int fd, int r)
{
	ssize_t n;

	n = write(fd, &r, sizeof(r));
	_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
}

static int
wait_child(pid_t pid, int fd)
{
	int r = -1, status;

	ck_assert_int_eq(read(fd, &r, sizeof(r)), (ssize_t)sizeof(r));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	close(fd);
	return r;
}

/* RLIMIT_FSIZE with SIGXFSZ ignored: EFBIG. */
START_TEST(test_efbig_rlimit)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	pid_t pid;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
			child_answer(p[1], 100);
		child_answer(p[1], child_fill(tmpfd));
	}
	close(p[1]);
	ck_assert_int_eq(wait_child(pid, p[0]), EFBIG);
	ck_assert_uint_eq(list_dir(tmpfd, NULL, 0), 0);
}
END_TEST

/* A 64 KiB tmpfs (root only, in a private mount namespace): ENOSPC. */
START_TEST(test_enospc_tmpfs)
{
	pid_t pid;
	int r, mntfd, p[2];

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) == -1 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
			child_answer(p[1], 200);
		if (chdir(topdir) == -1 ||
		    mount("tern-test", "mnt", "tmpfs", MS_NOSUID | MS_NODEV,
		    "size=64k,mode=0700") == -1)
			child_answer(p[1], 200);
		if ((mntfd = open("mnt", O_RDONLY | O_DIRECTORY)) == -1)
			child_answer(p[1], 104);
		r = child_fill(mntfd);
		if (r == ENOSPC && list_dir(mntfd, NULL, 0) != 0)
			r = 105;
		child_answer(p[1], r);
	}
	close(p[1]);
	r = wait_child(pid, p[0]);
	if (r == 200)
		return;		/* no mount namespace here: nothing to test */
	ck_assert_int_eq(r, ENOSPC);
}
END_TEST

/* Reading. */

START_TEST(test_read_cap)
{
	char qid[QID_LEN + 1];
	struct sample s;
	struct qfile q;
	struct stat st;
	const char *err = NULL;
	int fd;

	def_sample(&s);
	commit_sample(&s, qid);
	fd = openat(destfd, qid, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	qfile_init(&q);
	errno = 0;
	ck_assert_int_eq(qfile_read(fd, (size_t)st.st_size - 1, &q, &err),
	    -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_str_eq(err, "queue file too large");
	ck_assert_uint_eq(q.nrcpt, 0);
	ck_assert_ptr_null(q.raw.data);
	ck_assert_int_eq(qfile_read(fd, 0, &q, &err), -1);
	ck_assert_int_eq(errno, EFBIG);
	/* At the cap exactly, and from any file position (pread). */
	ck_assert_int_eq(lseek(fd, 7, SEEK_SET), 7);
	ck_assert_int_eq(qfile_read(fd, (size_t)st.st_size, &q, &err), 0);
	close(fd);
	check_sample(&q, &s);
	qfile_clear(&q);
}
END_TEST

/* What cleanup leaves when it dies mid-write: rejected. */
START_TEST(test_read_incomplete)
{
	char qid[QID_LEN + 1];
	struct sample s;
	struct qfile q;
	struct stat st;
	struct buf whole;
	const char *err = NULL;
	int fd;

	def_sample(&s);
	commit_sample(&s, qid);
	fd = openat(destfd, qid, O_RDWR);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	slurp(fd, &whole);
	ck_assert_int_eq(ftruncate(fd, st.st_size - (QFILE_REC_HDR + 12)), 0);
	qfile_init(&q);
	errno = 0;
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_str_eq(err, "missing end record");
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, whole.data, whole.len - 1, 0),
	    (ssize_t)whole.len - 1);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), -1);
	ck_assert_str_eq(err, "truncated record");
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), -1);
	ck_assert_str_eq(err, "bad magic");
	close(fd);
	/* An I/O error keeps its errno. */
	ck_assert_int_eq(qfile_read(destfd, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(qfile_read(-1, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EBADF);
	qfile_clear(&q);
	buf_clear(&whole);
}
END_TEST

/* qmgr's reader: the envelope, no content, the end record checked. */
START_TEST(test_read_envelope)
{
	char qid[QID_LEN + 1];
	struct sample s;
	struct qfile q, full;
	struct stat st;
	struct buf whole;
	const char *err = NULL;
	uint8_t bad = 0;
	size_t i;
	int fd;

	def_sample(&s);
	commit_sample(&s, qid);
	fd = openat(destfd, qid, O_RDWR);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	qfile_init(&q);
	qfile_init(&full);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &full, &err), 0);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), 0);
	ck_assert_int_eq(q.arrival_sec, full.arrival_sec);
	ck_assert_str_eq(q.sender.addr, full.sender.addr);
	ck_assert_uint_eq(q.nrcpt, full.nrcpt);
	for (i = 0; i < q.nrcpt; i++) {
		ck_assert_str_eq(q.rcpts[i].addr, full.rcpts[i].addr);
		ck_assert_int_eq(q.rcpts[i].status_off, full.rcpts[i].status_off);
	}
	ck_assert_uint_eq(q.ncontent, 0);
	ck_assert_uint_eq(q.content_size, full.content_size);
	/* No copy of the file is kept. */
	ck_assert_uint_eq(q.raw.len, 0);
	ck_assert_ptr_null(q.base);
	/* A status rewritten in place is seen by the next read. */
	ck_assert_int_eq(qfile_rcpt_set_status(fd, q.rcpts[0].status_off,
	    QFILE_RS_DONE), 0);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), 0);
	ck_assert_int_eq(q.rcpts[0].status, QFILE_RS_DONE);
	/* The cap bounds the envelope, not the whole file. */
	ck_assert_int_eq(qfile_read_envelope(fd, 64, &q, &err), -1);
	ck_assert_int_eq(errno, EFBIG);

	/* No end record: cleanup died mid-write. */
	slurp(fd, &whole);
	ck_assert_int_eq(ftruncate(fd, st.st_size - 1), 0);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_str_eq(err, "missing end record");
	ck_assert_uint_eq(q.nrcpt, 0);
	/* An end record that counts other recipients. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(pwrite(fd, whole.data, whole.len, 0),
	    (ssize_t)whole.len);
	ck_assert_int_eq(pwrite(fd, &bad, 1, st.st_size - 1), 1);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), -1);
	ck_assert_str_eq(err, "end record recipient count differs");
	/* Cut inside the envelope, and a bad magic. */
	ck_assert_int_eq(ftruncate(fd, 40), 0);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err), -1);
	ck_assert_int_eq(errno, EBADMSG);
	close(fd);
	qfile_clear(&q);
	qfile_clear(&full);
	buf_clear(&whole);
}
END_TEST

/* Every prefix of a file, and every flipped byte: rejected or sane. */
START_TEST(test_read_envelope_hostile)
{
	struct sample s;
	struct qfile q;
	struct buf b;
	const char *err;
	size_t n;
	int fd;
	char path[] = "/tmp/check_qfile_envXXXXXX";

	def_sample(&s);
	sample_bytes(&s, &b);
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	unlink(path);
	qfile_init(&q);
	for (n = 0; n < b.len; n += 7) {
		ck_assert_int_eq(ftruncate(fd, 0), 0);
		ck_assert_int_eq(pwrite(fd, b.data, n, 0), (ssize_t)n);
		ck_assert_int_eq(qfile_read_envelope(fd, READ_MAX, &q, &err),
		    -1);
	}
	for (n = 0; n < b.len && n < 400; n++) {
		uint8_t c = b.data[n] ^ 0xff;

		ck_assert_int_eq(ftruncate(fd, 0), 0);
		ck_assert_int_eq(pwrite(fd, b.data, b.len, 0),
		    (ssize_t)b.len);
		ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)n), 1);
		if (qfile_read_envelope(fd, READ_MAX, &q, &err) == 0)
			ck_assert_uint_ge(q.nrcpt, 1);
	}
	close(fd);
	qfile_clear(&q);
	buf_clear(&b);
}
END_TEST

START_TEST(test_content_write_error)
{
	struct sample s;
	struct qfile q;
	struct buf b;
	const char *err;

	def_sample(&s);
	sample_bytes(&s, &b);
	qfile_init(&q);
	ck_assert_int_eq(qfile_parse(b.data, b.len, &q, &err), 0);
	errno = 0;
	ck_assert_int_eq(qfile_content_write(&q, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	qfile_clear(&q);
	buf_clear(&b);
}
END_TEST

/* qmgr's status rewrite, seen by a fresh read. */
START_TEST(test_set_status)
{
	char qid[QID_LEN + 1];
	struct buf before, after;
	struct sample s;
	struct qfile q;
	const char *err;
	off_t off[3];
	int fd, i;

	def_sample(&s);
	commit_sample(&s, qid);
	fd = openat(destfd, qid, O_RDWR);
	ck_assert_int_ne(fd, -1);
	qfile_init(&q);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	for (i = 0; i < 3; i++)
		off[i] = q.rcpts[i].status_off;
	ck_assert_uint_eq(q.rcpts[0].status, QFILE_RS_PENDING);
	ck_assert_uint_eq(q.rcpts[2].status, QFILE_RS_DELIVERED);

	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[0],
	    QFILE_RS_DELIVERED), 0);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[2], QFILE_RS_FAILED),
	    0);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	ck_assert_uint_eq(q.rcpts[0].status, QFILE_RS_DELIVERED);
	ck_assert_uint_eq(q.rcpts[1].status, QFILE_RS_PENDING);
	ck_assert_uint_eq(q.rcpts[2].status, QFILE_RS_FAILED);
	ck_assert_int_eq(q.rcpts[2].status_off, off[2]);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[0],
	    QFILE_RS_PENDING), 0);
	/* put: the same byte, no fsync; done (3) is a status too. */
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], QFILE_RS_DONE), 0);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	ck_assert_uint_eq(q.rcpts[1].status, QFILE_RS_DONE);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1] + 1, 0), -1);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], 9), -1);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], QFILE_RS_PENDING),
	    0);

	/* Refused: bad value, an offset that is not a status byte. */
	slurp(fd, &before);
	errno = 0;
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1], 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1], 0xff), -1);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1] - 1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1] + 1, 0), -1);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, 0, 0), -1);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, 4, 0), -1);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, -1, 0), -1);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, 1000000, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_set_status(-1, off[1], 0), -1);
	ck_assert_int_eq(errno, EBADF);
	slurp(fd, &after);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert(memcmp(before.data, after.data, before.len) == 0);
	buf_clear(&before);
	buf_clear(&after);
	close(fd);

	/* A read-only descriptor: the write fails, and says so. */
	fd = openat(destfd, qid, O_RDONLY);
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1], 1), -1);
	ck_assert_int_eq(errno, EBADF);
	close(fd);
	qfile_clear(&q);
}
END_TEST

/* The same rewrite without the fsync: the same checks, the same bytes. */
START_TEST(test_write_status)
{
	char qid[QID_LEN + 1];
	struct buf before, after;
	struct sample s;
	struct qfile q;
	const char *err;
	off_t off[3];
	int fd, i;

	def_sample(&s);
	commit_sample(&s, qid);
	fd = openat(destfd, qid, O_RDWR);
	ck_assert_int_ne(fd, -1);
	qfile_init(&q);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	for (i = 0; i < 3; i++)
		off[i] = q.rcpts[i].status_off;

	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[0], QFILE_RS_DONE),
	    0);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1],
	    QFILE_RS_FAILED), 0);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	ck_assert_uint_eq(q.rcpts[0].status, QFILE_RS_DONE);
	ck_assert_uint_eq(q.rcpts[1].status, QFILE_RS_FAILED);
	ck_assert_uint_eq(q.rcpts[2].status, QFILE_RS_DELIVERED);

	/* Mixed with the syncing one: the last write wins. */
	ck_assert_int_eq(qfile_rcpt_set_status(fd, off[1], QFILE_RS_PENDING),
	    0);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], QFILE_RS_DONE),
	    0);
	ck_assert_int_eq(qfile_read(fd, READ_MAX, &q, &err), 0);
	ck_assert_uint_eq(q.rcpts[1].status, QFILE_RS_DONE);

	/* Refused, and nothing written. */
	slurp(fd, &before);
	errno = 0;
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1] - 1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, 0, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, 1000000, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(qfile_rcpt_put_status(-1, off[1], 0), -1);
	ck_assert_int_eq(errno, EBADF);
	slurp(fd, &after);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert(memcmp(before.data, after.data, before.len) == 0);
	buf_clear(&before);
	buf_clear(&after);
	close(fd);

	fd = openat(destfd, qid, O_RDONLY);
	ck_assert_int_eq(qfile_rcpt_put_status(fd, off[1], 1), -1);
	ck_assert_int_eq(errno, EBADF);
	close(fd);
	qfile_clear(&q);
}
END_TEST

/*
 * Malformed files, built by hand from a list of records: a valid file
 * with one change each, each rejected with its own error.
 */

struct rec {
	uint8_t		 type;
	const uint8_t	*p;
	size_t		 len;
	bool		 auto_end;	/* E computed from the other records */
	bool		 raw;		/* p is bytes, not a payload */
};

static const struct rec base_recs[] = {
	{ 'M', P("TERNQ1"), false, false },
	{ 'T', P("\0\0\0\0\x65\x53\xf1\x00" "\0\x01\xe2\x40"), false, false },
	{ 'C', P("\0\x0e" "mx.example.org" "\0\x09" "192.0.2.1" "\0\x19"
	  "\0\x0e" "mx.example.org" "\0\x06" "ESMTPS"), false, false },
	{ 'S', P("\0\x11" "alice@example.org" "\x02" "\x01" "\0\x08"
	  "QQ314159" "\0\0\0\0\0\0\x04\xd2"), false, false },
	{ 'R', P("\0\x0f" "bob@example.net" "\x06" "\0\x06" "rfc822" "\0\x0f"
	  "bob@example.net"), false, false },
	{ 'D', P("\0"), false, false },
	{ 'R', P("\0\x11" "carol@example.net" "\0" "\0\0" "\0\0"), false,
	  false },
	{ 'D', P("\0"), false, false },
	{ 'B', P(""), false, false },
	{ 'X', P("Subject: hi\r\n\r\nbody\r\n"), false, false },
	{ 'E', NULL, 0, true, false },
};
#define NBASE	(sizeof(base_recs) / sizeof(base_recs[0]))
#define MAXRECS	(NBASE + 4)

/*
 * Hot loops test with "if" and ck_abort_msg: every passing ck_assert
 * costs Check a write(2) to its parent.
 */
static void
p_add(struct buf *b, const void *p, size_t len)
{
	if (buf_add(b, p, len) == -1)
		ck_abort_msg("buf_add of %zu bytes", len);
}

static void
p_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	p_add(b, x, 2);
}

static void
p_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	p_add(b, x, 4);
}

static void
p_u64(struct buf *b, uint64_t v)
{
	p_u32(b, (uint32_t)(v >> 32));
	p_u32(b, (uint32_t)v);
}

/* A string field of n copies of c. */
static void
p_fill(struct buf *b, size_t n, char c)
{
	char *p;

	p = xmalloc(n);
	memset(p, c, n);
	p_u16(b, (uint16_t)n);
	p_add(b, p, n);
	free(p);
}

static void
p_str(struct buf *b, const char *s)
{
	p_u16(b, (uint16_t)strlen(s));
	p_add(b, s, strlen(s));
}

static void
p_rec(struct buf *b, uint8_t type, const void *p, size_t len)
{
	p_add(b, &type, 1);
	p_u32(b, (uint32_t)len);
	p_add(b, p, len);
}

static void
serialise(const struct rec *recs, size_t n, struct buf *out)
{
	struct buf e;
	uint64_t size = 0;
	uint32_t nrcpt = 0;
	size_t i;

	/* An automatic end record counts the records before it. */
	for (i = 0; i < n; i++) {
		if (recs[i].type == 'R' && !recs[i].raw)
			nrcpt++;
		if (recs[i].type == 'X' && !recs[i].raw)
			size += recs[i].len;
		if (recs[i].raw) {
			p_add(out, recs[i].p, recs[i].len);
			continue;
		}
		if (!recs[i].auto_end) {
			p_rec(out, recs[i].type, recs[i].p, recs[i].len);
			continue;
		}
		buf_init(&e, 64);
		p_u64(&e, size);
		p_u32(&e, nrcpt);
		p_rec(out, 'E', e.data, e.len);
		buf_clear(&e);
	}
}

static void
mk_client_name(struct buf *b)
{
	p_fill(b, QFILE_HOST_MAX + 1, 'n');
	p_str(b, "192.0.2.1");
	p_u16(b, 25);
	p_str(b, "helo");
	p_str(b, "ESMTP");
}

static void
mk_client_addr(struct buf *b)
{
	p_str(b, "name");
	p_fill(b, QFILE_CLIENT_ADDR_MAX + 1, '1');
	p_u16(b, 25);
	p_str(b, "helo");
	p_str(b, "ESMTP");
}

static void
mk_client_helo(struct buf *b)
{
	p_str(b, "name");
	p_str(b, "192.0.2.1");
	p_u16(b, 25);
	p_fill(b, QFILE_HOST_MAX + 1, 'h');
	p_str(b, "ESMTP");
}

static void
mk_client_proto(struct buf *b)
{
	p_str(b, "name");
	p_str(b, "192.0.2.1");
	p_u16(b, 25);
	p_str(b, "helo");
	p_fill(b, QFILE_PROTO_MAX + 1, 'P');
}

static void
mk_sender_long(struct buf *b)
{
	p_fill(b, QFILE_ADDR_MAX + 1, 's');
	p_add(b, "\0\0", 2);
	p_str(b, "");
	p_u64(b, 0);
}

static void
mk_envid_long(struct buf *b)
{
	p_str(b, "a@b");
	p_add(b, "\0\0", 2);
	p_fill(b, QFILE_ENVID_MAX + 1, 'e');
	p_u64(b, 0);
}

static void
mk_rcpt_long(struct buf *b)
{
	p_fill(b, QFILE_ADDR_MAX + 1, 'r');
	p_add(b, "\0", 1);
	p_str(b, "");
	p_str(b, "");
}

static void
mk_orcpt_type_long(struct buf *b)
{
	p_str(b, "a@b");
	p_add(b, "\0", 1);
	p_fill(b, QFILE_ORCPT_TYPE_MAX + 1, 't');
	p_str(b, "a@b");
}

static void
mk_orcpt_long(struct buf *b)
{
	p_str(b, "a@b");
	p_add(b, "\0", 1);
	p_str(b, "rfc822");
	p_fill(b, QFILE_ADDR_MAX + 1, 'o');
}

static void
mk_content_long(struct buf *b)
{
	uint8_t *p;

	p = xcalloc(1, QFILE_REC_MAX + 1);
	p_add(b, p, QFILE_REC_MAX + 1);
	free(p);
}

/* A whole file with one recipient too many. */
static void
mk_too_many(struct buf *b)
{
	static const uint8_t rcpt[] = "\0\x03" "a@b" "\0" "\0\0" "\0\0";
	size_t i;

	p_rec(b, 'M', "TERNQ1", 6);
	p_rec(b, 'T', base_recs[1].p, base_recs[1].len);
	p_rec(b, 'S', base_recs[3].p, base_recs[3].len);
	for (i = 0; i <= QFILE_RCPT_MAX; i++) {
		p_rec(b, 'R', rcpt, sizeof(rcpt) - 1);
		p_rec(b, 'D', "\0", 1);
	}
	p_rec(b, 'B', "", 0);
	p_rec(b, 'E', "\0\0\0\0\0\0\0\0" "\0\x01\x86\xa1", 12);
}

/* The same with exactly QFILE_RCPT_MAX: accepted. */
static void
mk_max_rcpts(struct buf *b)
{
	static const uint8_t rcpt[] = "\0\x03" "a@b" "\0" "\0\0" "\0\0";
	size_t i;

	p_rec(b, 'M', "TERNQ1", 6);
	p_rec(b, 'T', base_recs[1].p, base_recs[1].len);
	p_rec(b, 'S', base_recs[3].p, base_recs[3].len);
	for (i = 0; i < QFILE_RCPT_MAX; i++) {
		p_rec(b, 'R', rcpt, sizeof(rcpt) - 1);
		p_rec(b, 'D', "\0", 1);
	}
	p_rec(b, 'B', "", 0);
	p_rec(b, 'E', "\0\0\0\0\0\0\0\0" "\0\x01\x86\xa0", 12);
}

enum op { OP_RAW, OP_REPLACE, OP_INSERT, OP_INSRAW, OP_DELETE, OP_CUT,
	OP_WHOLE };

struct bad_case {
	const char	*what;
	enum op		 op;
	size_t		 idx;
	size_t		 n;		/* DELETE: records; CUT: bytes kept */
	uint8_t		 type;
	const uint8_t	*p;
	size_t		 len;
	void		(*mk)(struct buf *);	/* payload, or WHOLE file */
	const char	*err;
};

#define RAW(w, bytes, e)	{ w, OP_RAW, 0, 0, 0, P(bytes), NULL, e }
#define REPL(w, i, t, bytes, e)	{ w, OP_REPLACE, i, 0, t, P(bytes), NULL, e }
#define REPLF(w, i, t, fn, e)	{ w, OP_REPLACE, i, 0, t, NULL, 0, fn, e }
#define INS(w, i, t, bytes, e)	{ w, OP_INSERT, i, 0, t, P(bytes), NULL, e }
#define INSRAW(w, i, bytes, e)	{ w, OP_INSRAW, i, 0, 0, P(bytes), NULL, e }
#define DEL(w, i, n, e)		{ w, OP_DELETE, i, n, 0, NULL, 0, NULL, e }
#define CUT(w, i, n, e)		{ w, OP_CUT, i, n, 0, NULL, 0, NULL, e }
#define WHOLE(w, fn, e)		{ w, OP_WHOLE, 0, 0, 0, NULL, 0, fn, e }

/* Record indexes in base_recs. */
enum { I_M, I_T, I_C, I_S, I_R1, I_D1, I_R2, I_D2, I_B, I_X, I_E };

static const struct bad_case bad_cases[] = {
	RAW("empty file", "", "bad magic"),
	RAW("magic cut short", "M\0\0\0\x06" "TERNQ", "bad magic"),
	RAW("another file", "From alice@example.org Mon Jan  1\n",
	    "bad magic"),
	RAW("magic with the wrong type", "X\0\0\0\x06" "TERNQ1", "bad magic"),
	RAW("magic of 7 bytes", "M\0\0\0\x07" "TERNQ1\0", "bad magic"),
	RAW("lower-case magic", "M\0\0\0\x06" "ternq1", "bad magic"),
	RAW("version 2", "M\0\0\0\x06" "TERNQ2" "T\0\0\0\0",
	    "unsupported queue file version"),
	RAW("only the magic", "M\0\0\0\x06" "TERNQ1", "missing end record"),
	INS("unknown type Z", I_T, 'Z', "", "unknown record type"),
	INS("unknown type 0", I_S, 0, "", "unknown record type"),
	INS("unknown type lower-case x", I_X, 'x', "a", "unknown record type"),
	INS("second magic", I_T, 'M', "TERNQ1", "duplicate magic record"),
	INSRAW("length 64 KiB + 1", I_X, "X\0\x01\0\x01",
	    "record too long"),
	INSRAW("length 2^32 - 1", I_T, "T\xff\xff\xff\xff",
	    "record too long"),
	REPLF("content of 64 KiB + 1", I_X, 'X', mk_content_long,
	    "record too long"),
	CUT("cut in a header", I_R1, 3, "truncated record"),
	CUT("cut after the type", I_R1, 1, "truncated record"),
	CUT("cut in a payload", I_R1, 9, "truncated record"),
	CUT("cut after the content", I_E, 0, "missing end record"),
	CUT("cut after a status", I_R2, 0, "missing end record"),
	CUT("cut in the end record", I_E, 16, "truncated record"),
	INSRAW("length past the end", I_E, "X\0\0\x01\0" "abc",
	    "truncated record"),
	DEL("no arrival", I_T, 1, "client record out of order"),
	DEL("no arrival, no client", I_T, 2, "sender record out of order"),
	INS("arrival twice", I_C, 'T', "\0\0\0\0\0\0\0\0" "\0\0\0\0",
	    "duplicate arrival record"),
	INS("client twice", I_S, 'C', "\0\0" "\0\0" "\0\0" "\0\0" "\0\0",
	    "duplicate client record"),
	INS("client after recipients", I_B, 'C', "\0\0" "\0\0" "\0\0" "\0\0"
	    "\0\0", "duplicate client record"),
	INS("sender twice", I_R1, 'S', "\0\0" "\0" "\0" "\0\0"
	    "\0\0\0\0\0\0\0\0", "duplicate sender record"),
	DEL("no sender", I_S, 1, "recipient record out of order"),
	DEL("no recipients", I_R1, 4, "no recipients"),
	DEL("recipient without status", I_D1, 1,
	    "recipient without status record"),
	DEL("last recipient without status", I_D2, 1,
	    "recipient without status record"),
	INS("status twice", I_D1, 'D', "\0", "status record out of order"),
	INS("status before any recipient", I_R1, 'D', "\0",
	    "status record out of order"),
	DEL("no begin", I_B, 1, "content record out of order"),
	DEL("no begin, no content", I_B, 2, "end record out of order"),
	INS("recipient after begin", I_X, 'R', "\0\x03" "a@b" "\0" "\0\0"
	    "\0\0", "recipient record out of order"),
	INS("begin twice", I_X, 'B', "", "duplicate begin record"),
	INS("status after begin", I_X, 'D', "\0",
	    "status record out of order"),
	DEL("no end", I_E, 1, "missing end record"),
	INS("content after end", I_E + 1, 'X', "more", "data after end record"),
	INS("end twice", I_E + 1, 'E', "\0\0\0\0\0\0\0\x15" "\0\0\0\x02",
	    "data after end record"),
	INSRAW("a stray byte after end", I_E + 1, "\0",
	    "data after end record"),
	REPL("recipient count off by one", I_E, 'E', "\0\0\0\0\0\0\0\x15"
	    "\0\0\0\x03", "recipient count mismatch"),
	REPL("recipient count zero", I_E, 'E', "\0\0\0\0\0\0\0\x15"
	    "\0\0\0\0", "recipient count mismatch"),
	REPL("content size off by one", I_E, 'E', "\0\0\0\0\0\0\0\x16"
	    "\0\0\0\x02", "content size mismatch"),
	REPL("content size 2^64 - 1", I_E, 'E',
	    "\xff\xff\xff\xff\xff\xff\xff\xff" "\0\0\0\x02",
	    "content size mismatch"),
	REPL("end of 11 bytes", I_E, 'E', "\0\0\0\0\0\0\0\x15" "\0\0\x02",
	    "malformed end record"),
	REPL("end of 13 bytes", I_E, 'E', "\0\0\0\0\0\0\0\x15" "\0\0\0\x02"
	    "\0", "malformed end record"),
	REPL("microseconds 1000000", I_T, 'T', "\0\0\0\0\0\0\0\0"
	    "\0\x0f\x42\x40", "bad arrival time"),
	REPL("seconds 2^63", I_T, 'T', "\x80\0\0\0\0\0\0\0" "\0\0\0\0",
	    "bad arrival time"),
	REPL("arrival of 11 bytes", I_T, 'T', "\0\0\0\0\0\0\0\0" "\0\0\0",
	    "malformed arrival record"),
	REPL("arrival of 13 bytes", I_T, 'T', "\0\0\0\0\0\0\0\0" "\0\0\0\0"
	    "\0", "malformed arrival record"),
	REPLF("client name 256", I_C, 'C', mk_client_name,
	    "client name too long"),
	REPLF("client address 65", I_C, 'C', mk_client_addr,
	    "client address too long"),
	REPLF("HELO 256", I_C, 'C', mk_client_helo, "HELO name too long"),
	REPLF("protocol 17", I_C, 'C', mk_client_proto,
	    "protocol name too long"),
	REPL("NUL in client name", I_C, 'C', "\0\x01" "\0" "\0\0" "\0\0"
	    "\0\0" "\0\0", "NUL byte in client name"),
	REPL("NUL in HELO", I_C, 'C', "\0\0" "\0\0" "\0\0" "\0\x03" "a\0b"
	    "\0\0", "NUL byte in HELO name"),
	REPL("client with a trailing byte", I_C, 'C', "\0\0" "\0\0" "\0\0"
	    "\0\0" "\0\0" "x", "malformed client record"),
	REPL("client without protocol", I_C, 'C', "\0\0" "\0\0" "\0\0" "\0\0",
	    "malformed client record"),
	REPL("client string past its record", I_C, 'C', "\0\x09" "abc",
	    "malformed client record"),
	REPL("empty client record", I_C, 'C', "", "malformed client record"),
	REPLF("sender 513", I_S, 'S', mk_sender_long,
	    "sender address too long"),
	REPL("NUL in sender", I_S, 'S', "\0\x03" "a\0b" "\0" "\0" "\0\0"
	    "\0\0\0\0\0\0\0\0", "NUL byte in sender address"),
	REPL("sender flag 0x80", I_S, 'S', "\0\0" "\x80" "\0" "\0\0"
	    "\0\0\0\0\0\0\0\0", "bad sender flags"),
	REPL("8BITMIME and BINARYMIME", I_S, 'S', "\0\0" "\x06" "\0" "\0\0"
	    "\0\0\0\0\0\0\0\0", "bad sender flags"),
	REPL("RET 3", I_S, 'S', "\0\0" "\0" "\x03" "\0\0" "\0\0\0\0\0\0\0\0",
	    "bad RET value"),
	REPLF("ENVID 101", I_S, 'S', mk_envid_long, "ENVID too long"),
	REPL("NUL in ENVID", I_S, 'S', "\0\0" "\0" "\0" "\0\x01" "\0"
	    "\0\0\0\0\0\0\0\0", "NUL byte in ENVID"),
	REPL("sender without size", I_S, 'S', "\0\0" "\0" "\0" "\0\0"
	    "\0\0\0\0", "malformed sender record"),
	REPL("empty recipient", I_R1, 'R', "\0\0" "\0" "\0\0" "\0\0",
	    "empty recipient address"),
	REPLF("recipient 513", I_R1, 'R', mk_rcpt_long,
	    "recipient address too long"),
	REPL("NUL in recipient", I_R2, 'R', "\0\x03" "a\0b" "\0" "\0\0"
	    "\0\0", "NUL byte in recipient address"),
	REPL("NOTIFY 0x10", I_R1, 'R', "\0\x03" "a@b" "\x10" "\0\0" "\0\0",
	    "bad NOTIFY flags"),
	REPL("NOTIFY NEVER and SUCCESS", I_R1, 'R', "\0\x03" "a@b" "\x09"
	    "\0\0" "\0\0", "bad NOTIFY flags"),
	REPL("ORCPT type without address", I_R1, 'R', "\0\x03" "a@b" "\0"
	    "\0\x06" "rfc822" "\0\0", "incomplete ORCPT"),
	REPL("ORCPT address without type", I_R1, 'R', "\0\x03" "a@b" "\0"
	    "\0\0" "\0\x03" "a@b", "incomplete ORCPT"),
	REPLF("ORCPT type 33", I_R1, 'R', mk_orcpt_type_long,
	    "ORCPT type too long"),
	REPLF("ORCPT address 513", I_R1, 'R', mk_orcpt_long,
	    "ORCPT address too long"),
	REPL("NUL in ORCPT type", I_R1, 'R', "\0\x03" "a@b" "\0" "\0\x02"
	    "r\0" "\0\x01" "a", "NUL byte in ORCPT type"),
	REPL("NUL in ORCPT", I_R1, 'R', "\0\x03" "a@b" "\0" "\0\x01" "r"
	    "\0\x01" "\0", "NUL byte in ORCPT address"),
	REPL("recipient without NOTIFY", I_R1, 'R', "\0\x03" "a@b",
	    "malformed recipient record"),
	REPL("recipient with a trailing byte", I_R1, 'R', "\0\x03" "a@b" "\0"
	    "\0\0" "\0\0" "\0", "malformed recipient record"),
	REPL("status 4", I_D1, 'D', "\x04", "bad recipient status"),
	REPL("status 0xff", I_D2, 'D', "\xff", "bad recipient status"),
	REPL("status of 0 bytes", I_D1, 'D', "", "malformed status record"),
	REPL("status of 2 bytes", I_D1, 'D', "\0\0",
	    "malformed status record"),
	REPL("begin with a payload", I_B, 'B', "\0",
	    "malformed begin record"),
	REPL("empty content record", I_X, 'X', "", "empty content record"),
	WHOLE("too many recipients", mk_too_many, "too many recipients"),
};

/* Build the file of case c into out. */
static void
build_case(const struct bad_case *c, struct buf *out)
{
	struct rec recs[MAXRECS];
	struct buf payload, tmp;
	size_t n = NBASE, keep;

	buf_init(out, SIZE_MAX);
	buf_init(&payload, SIZE_MAX);
	if (c->op == OP_RAW) {
		p_add(out, c->p, c->len);
		return;
	}
	if (c->op == OP_WHOLE) {
		c->mk(out);
		return;
	}
	memcpy(recs, base_recs, sizeof(base_recs));
	if (c->mk != NULL)
		c->mk(&payload);
	switch (c->op) {
	case OP_REPLACE:
		recs[c->idx].type = c->type;
		recs[c->idx].p = c->mk ? payload.data : c->p;
		recs[c->idx].len = c->mk ? payload.len : c->len;
		recs[c->idx].auto_end = false;
		break;
	case OP_INSERT:
	case OP_INSRAW:
		memmove(&recs[c->idx + 1], &recs[c->idx],
		    (n - c->idx) * sizeof(recs[0]));
		recs[c->idx].type = c->type;
		recs[c->idx].p = c->p;
		recs[c->idx].len = c->len;
		recs[c->idx].auto_end = false;
		recs[c->idx].raw = c->op == OP_INSRAW;
		n++;
		break;
	case OP_DELETE:
		memmove(&recs[c->idx], &recs[c->idx + c->n],
		    (n - c->idx - c->n) * sizeof(recs[0]));
		n -= c->n;
		break;
	case OP_CUT:
		serialise(recs, c->idx, out);
		keep = out->len + c->n;
		buf_init(&tmp, SIZE_MAX);
		serialise(recs, n, &tmp);
		ck_assert_uint_le(keep, tmp.len);
		buf_truncate(out, 0);
		p_add(out, tmp.data, keep);
		buf_clear(&tmp);
		buf_clear(&payload);
		return;
	default:
		break;
	}
	serialise(recs, n, out);
	buf_clear(&payload);
}

START_TEST(test_base_is_valid)
{
	static const struct bad_case none = { "base", OP_DELETE, 0, 0, 0,
	    NULL, 0, NULL, NULL };
	struct qfile q;
	struct buf b;
	const char *err = NULL;

	build_case(&none, &b);
	qfile_init(&q);
	if (qfile_parse(b.data, b.len, &q, &err) != 0)
		ck_abort_msg("base file rejected: %s", err);
	ck_assert_uint_eq(q.nrcpt, 2);
	ck_assert_str_eq(q.client.addr, "192.0.2.1");
	ck_assert_uint_eq(q.client.port, 25);
	ck_assert_str_eq(q.sender.envid, "QQ314159");
	ck_assert_uint_eq(q.sender.size, 1234);
	ck_assert_uint_eq(q.rcpts[0].notify, 6);
	ck_assert_str_eq(q.rcpts[0].orcpt_type, "rfc822");
	ck_assert_str_eq(q.rcpts[1].orcpt, "");
	ck_assert_uint_eq(q.content_size, 21);
	qfile_clear(&q);
	buf_clear(&b);
}
END_TEST

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	struct qfile q;
	struct buf b;
	const char *err = NULL;

	build_case(c, &b);
	qfile_init(&q);
	ck_assert_msg(qfile_parse(b.data, b.len, &q, &err) == -1,
	    "%s: accepted", c->what);
	ck_assert_msg(err != NULL && strcmp(err, c->err) == 0,
	    "%s: error \"%s\", want \"%s\"", c->what, err ? err : "(null)",
	    c->err);
	ck_assert_uint_eq(q.nrcpt, 0);
	ck_assert_uint_eq(q.ncontent, 0);
	ck_assert_ptr_null(q.rcpts);
	ck_assert_ptr_null(q.content);
	qfile_clear(&q);
	buf_clear(&b);
}
END_TEST

/* Legal variations of the base file. */
START_TEST(test_variants_valid)
{
	static const struct bad_case ok[] = {
		DEL("no client", I_C, 1, NULL),
		DEL("no content", I_X, 1, NULL),
		REPL("delivered", I_D1, 'D', "\x01", NULL),
		REPL("failed", I_D2, 'D', "\x02", NULL),
		INS("two content records", I_X, 'X', "\0", NULL),
		REPL("NOTIFY NEVER", I_R2, 'R', "\0\x03" "a@b" "\x08" "\0\0"
		    "\0\0", NULL),
		REPL("null sender", I_S, 'S', "\0\0" "\0" "\0" "\0\0"
		    "\0\0\0\0\0\0\0\0", NULL),
		REPL("empty client fields", I_C, 'C', "\0\0" "\0\0" "\0\0"
		    "\0\0" "\0\0", NULL),
	};
	struct buf b;
	struct qfile q;
	const char *err = NULL;
	size_t i;

	qfile_init(&q);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		build_case(&ok[i], &b);
		if (qfile_parse(b.data, b.len, &q, &err) != 0)
			ck_abort_msg("%s: %s", ok[i].what, err);
		buf_clear(&b);
	}
	build_case(&ok[0], &b);
	ck_assert_int_eq(qfile_parse(b.data, b.len, &q, &err), 0);
	ck_assert(!q.has_client);
	ck_assert_str_eq(q.client.name, "");
	buf_clear(&b);
	build_case(&ok[4], &b);
	ck_assert_int_eq(qfile_parse(b.data, b.len, &q, &err), 0);
	ck_assert_uint_eq(q.ncontent, 2);
	ck_assert_uint_eq(q.content_size, 22);
	buf_clear(&b);
	qfile_clear(&q);
}
END_TEST

START_TEST(test_max_rcpts)
{
	struct qfile q;
	struct buf b;
	const char *err = NULL;

	buf_init(&b, SIZE_MAX);
	mk_max_rcpts(&b);
	qfile_init(&q);
	if (qfile_parse(b.data, b.len, &q, &err) != 0)
		ck_abort_msg("rejected: %s", err);
	ck_assert_uint_eq(q.nrcpt, QFILE_RCPT_MAX);
	qfile_clear(&q);
	buf_clear(&b);
}
END_TEST

/* Sanity of whatever a parse accepted. */
static bool
invariants_hold(const struct qfile *q, const uint8_t *data, size_t len)
{
	const struct qfile_rcpt *r;
	uint64_t sum = 0;
	size_t i;

	if (q->base != data || q->nrcpt < 1)
		return false;
	for (i = 0; i < q->nrcpt; i++) {
		r = &q->rcpts[i];
		if (r->addr[0] == '\0' || strlen(r->addr) > QFILE_ADDR_MAX)
			return false;
		if (r->status_off < QFILE_REC_HDR ||
		    r->status_off >= (off_t)len ||
		    data[r->status_off] != r->status)
			return false;
	}
	for (i = 0; i < q->ncontent; i++) {
		if (q->content[i].off + q->content[i].len > len)
			return false;
		sum += q->content[i].len;
	}
	return sum == q->content_size;
}

/* Every proper prefix of a valid file is rejected. */
static void
truncate_all(const uint8_t *data, size_t len)
{
	struct qfile q;
	const char *err;
	uint8_t *copy;
	size_t n;

	qfile_init(&q);
	for (n = 0; n < len; n++) {
		/* An exact-size copy, so ASan sees any read past the end. */
		copy = xmalloc(n);
		memcpy(copy, data, n);
		err = NULL;
		if (qfile_parse(copy, n, &q, &err) != -1 || err == NULL)
			ck_abort_msg("prefix of %zu bytes accepted", n);
		free(copy);
	}
	ck_assert_int_eq(qfile_parse(data, len, &q, &err), 0);
	qfile_clear(&q);
}

START_TEST(test_truncate_everywhere)
{
	static const struct bad_case none = { "base", OP_DELETE, 0, 0, 0,
	    NULL, 0, NULL, NULL };
	struct sample s;
	struct buf b;

	build_case(&none, &b);
	truncate_all(b.data, b.len);
	buf_clear(&b);
	def_sample(&s);
	sample_bytes(&s, &b);
	truncate_all(b.data, b.len);
	buf_clear(&b);
}
END_TEST

/* Each byte changed, several ways: rejected or sane, never a crash. */
START_TEST(test_flip_bytes)
{
	static const uint8_t deltas[] = { 0x01, 0x80, 0xff, 0x20 };
	struct sample s;
	struct qfile q;
	struct buf b;
	const char *err;
	size_t i, k, accepted = 0;
	uint8_t *copy;

	def_sample(&s);
	sample_bytes(&s, &b);
	copy = xmalloc(b.len);
	qfile_init(&q);
	for (i = 0; i < b.len; i++) {
		for (k = 0; k < sizeof(deltas); k++) {
			memcpy(copy, b.data, b.len);
			copy[i] ^= deltas[k];
			err = NULL;
			if (qfile_parse(copy, b.len, &q, &err) == 0) {
				if (!invariants_hold(&q, copy, b.len))
					ck_abort_msg("byte %zu ^ %#x", i,
					    deltas[k]);
				accepted++;
			} else if (err == NULL)
				ck_abort_msg("byte %zu: no error", i);
		}
		for (k = 0; k < 2; k++) {
			memcpy(copy, b.data, b.len);
			copy[i] = k == 0 ? 0 : 0xff;
			if (qfile_parse(copy, b.len, &q, &err) == 0 &&
			    !invariants_hold(&q, copy, b.len))
				ck_abort_msg("byte %zu = %zu", i, k);
		}
	}
	/* Text and status bytes may change; most structure may not. */
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_lt(accepted, b.len * sizeof(deltas));
	qfile_clear(&q);
	free(copy);
	buf_clear(&b);
}
END_TEST

static Suite *
qfile_suite(bool forking)
{
	Suite *s;
	TCase *tc;

	s = suite_create("qfile");

	tc = tcase_create("format");
	tcase_add_test(tc, test_exact_bytes);
	tcase_add_test(tc, test_exact_bytes_full);
	tcase_add_test(tc, test_chunking);
	tcase_add_test(tc, test_parse_reuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip_full);
	tcase_add_test(tc, test_roundtrip_null_sender);
	tcase_add_test(tc, test_roundtrip_utf8);
	tcase_add_test(tc, test_roundtrip_limits);
	tcase_add_test(tc, test_roundtrip_1000_rcpts);
	tcase_add_test(tc, test_roundtrip_binary);
	tcase_add_test(tc, test_roundtrip_5mib);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_commit_files);
	tcase_add_test(tc, test_commit_exclusive);
	tcase_add_test(tc, test_commit_bad_qid);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_put_limits);
	tcase_add_test(tc, test_enospc_dev_full);
	tcase_add_test(tc, test_efbig_rlimit);
	tcase_add_test(tc, test_enospc_tmpfs);
	suite_add_tcase(s, tc);

	/* A signal test would end the whole runner under CK_FORK=no. */
	if (forking) {
		/* No scratch queue: teardown would not run after abort(). */
		tc = tcase_create("misuse");
		tcase_add_test_raise_signal(tc, test_misuse_rcpt_first,
		    SIGABRT);
		tcase_add_test_raise_signal(tc, test_misuse_no_rcpt, SIGABRT);
		tcase_add_test_raise_signal(tc, test_misuse_commit_fdopen,
		    SIGABRT);
		tcase_add_test_raise_signal(tc, test_misuse_after_finish,
		    SIGABRT);
		suite_add_tcase(s, tc);
	}

	tc = tcase_create("reader");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_read_cap);
	tcase_add_test(tc, test_read_incomplete);
	tcase_add_test(tc, test_read_envelope);
	tcase_add_test(tc, test_read_envelope_hostile);
	tcase_add_test(tc, test_content_write_error);
	tcase_add_test(tc, test_set_status);
	tcase_add_test(tc, test_write_status);
	tcase_add_test(tc, test_base_is_valid);
	tcase_add_loop_test(tc, test_malformed, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_variants_valid);
	tcase_add_test(tc, test_max_rcpts);
	tcase_add_test(tc, test_truncate_everywhere);
	tcase_add_test(tc, test_flip_bytes);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	struct rlimit nocore = { 0, 0 };
	SRunner *sr;
	int failed;

	/* The abort() of the misuse tests need not leave core files. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	sr = srunner_create(NULL);
	srunner_add_suite(sr, qfile_suite(srunner_fork_status(sr) !=
	    CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
