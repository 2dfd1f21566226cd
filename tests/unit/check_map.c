/*
 * SPDX-License-Identifier: ISC
 *
 * check_map.c -- unit tests for lib/map.c and lib/map_source.c: the
 * source parsers, inline: and static: maps, building and reading .lmdb
 * tables, and rebuilding one while it is being read.
 *
 * Process:  test runner only.
 * Input:    literal sources; files in a temporary directory.
 * Failure:  a failed check fails the test.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lmdb.h>

#include "map.h"

#define DIAGS_MAX	256

struct diag {
	char		 file[256];
	unsigned	 line;
	char		 msg[1024];
};

static struct diag diags[DIAGS_MAX];
static size_t ndiags;
static struct map_source src;
static char dir[PATH_MAX];

static void
collect(void *arg, const char *file, unsigned line, const char *msg)
{
	struct diag *d;

	ck_assert_ptr_eq(arg, &ndiags);
	ck_assert_ptr_nonnull(msg);
	if (ndiags++ >= DIAGS_MAX)
		return;
	d = &diags[ndiags - 1];
	snprintf(d->file, sizeof(d->file), "%s", file != NULL ? file : "");
	d->line = line;
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static void
rmtree(const char *path)
{
	char sub[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	ndiags = 0;
	map_source_init(&src);
	snprintf(dir, sizeof(dir), "%s/check_map.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	map_source_clear(&src);
	rmtree(dir);
}

static int
parse(enum map_format fmt, const char *text)
{
	return map_parse(&src, fmt, "src", text, strlen(text), collect,
	    &ndiags);
}

/* The entry for key in src (sorted), or NULL. */
static const struct map_entry *
entry(const char *key)
{
	size_t i;

	for (i = 0; i < src.n; i++)
		if (strcmp(src.ents[i].key, key) == 0)
			return &src.ents[i];
	return NULL;
}

static void
expect_entry(const char *key, const char *value, unsigned line)
{
	const struct map_entry *e;

	e = entry(key);
	ck_assert_msg(e != NULL, "no entry %s", key);
	ck_assert_str_eq(e->value, value);
	ck_assert_uint_eq(e->vlen, strlen(value));
	ck_assert_uint_eq(e->klen, strlen(key));
	ck_assert_uint_eq(e->line, line);
}

/* A diagnostic containing needle, at line. */
static void
expect_diag(const char *needle, unsigned line)
{
	size_t i;

	for (i = 0; i < ndiags && i < DIAGS_MAX; i++)
		if (strstr(diags[i].msg, needle) != NULL) {
			ck_assert_uint_eq(diags[i].line, line);
			return;
		}
	ck_abort_msg("no diagnostic \"%s\" (%zu given; first: %s)", needle,
	    ndiags, ndiags > 0 ? diags[0].msg : "");
}

/* dir/name; two buffers in turn, so that rename(path(a), path(b)) works. */
static char *
path(const char *name)
{
	static char buf[2][PATH_MAX + 300];
	static int i;

	i = !i;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path(name), "w"));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path(name), mode), 0);
}

static bool
exists(const char *name)
{
	return access(path(name), F_OK) == 0;
}

static struct map *
open_map(const char *name)
{
	char err[MAP_ERR_MAX];
	struct map *m;

	err[0] = '\0';
	ck_assert_msg(map_open(name, &m, err, sizeof(err)) == 0,
	    "map_open %s: %s", name, err);
	ck_assert_str_eq(map_name(m), name);
	return m;
}

static struct map *
open_lmdb(const char *file)
{
	char name[PATH_MAX + 400];

	snprintf(name, sizeof(name), "lmdb:%s", path(file));
	return open_map(name);
}

static void
expect_lookup(struct map *m, const char *key, const char *value)
{
	char buf[MAP_VALUE_MAX + 1];
	enum map_result r;

	r = map_lookup(m, key, buf, sizeof(buf));
	if (value == NULL) {
		ck_assert_msg(r == MAP_NOTFOUND, "%s: %d", key, r);
		return;
	}
	ck_assert_msg(r == MAP_FOUND, "%s: %d %s", key, r, map_error(m));
	ck_assert_str_eq(buf, value);
}

static int
build(const char *name, enum map_format fmt, size_t *n_r)
{
	return map_build(path(name), fmt, collect, &ndiags, n_r);
}

/* Write a table source and build it, which must work. */
static void
build_table(const char *name, const char *text)
{
	write_file(name, text, 0644);
	ck_assert_int_eq(build(name, MAP_TABLE, NULL), 0);
}

/*
 * Table format.
 */

START_TEST(test_table_basic)
{
	ck_assert_int_eq(parse(MAP_TABLE,
	    "# a comment\n"
	    "\n"
	    "Example.COM\tsmtp:[mx.example.net]:25\n"
	    "   # an indented comment\n"
	    "user@example.org   other@example.net  # not a comment\n"
	    "long first\n"
	    "  second\n"
	    "\n"
	    "\t third\r\n"
	    "8bit caf\xc3\xa9 \t\r\n"
	    "last value"), 0);
	ck_assert_uint_eq(src.n, 5);
	expect_entry("example.com", "smtp:[mx.example.net]:25", 3);
	expect_entry("user@example.org", "other@example.net  # not a comment",
	    5);
	expect_entry("long", "first second third", 6);
	expect_entry("8bit", "caf\xc3\xa9", 10);
	expect_entry("last", "value", 11);
	/* Sorted, as lookups and MDB_APPEND need. */
	ck_assert_str_eq(src.ents[0].key, "8bit");
	ck_assert_str_eq(src.ents[4].key, "user@example.org");
}
END_TEST

START_TEST(test_table_quoted)
{
	ck_assert_int_eq(parse(MAP_TABLE,
	    "\"With Space\" v1\n"
	    "\"a\\\"b\\\\c\"\tv2\n"
	    "\"#hash\" v3\n"
	    "\"x y\"@Example.org v4\n"), 1);
	/* A quote must close the key: the last line is refused. */
	expect_diag("text right after a closing quote", 4);
	ck_assert_uint_eq(src.n, 3);
	expect_entry("with space", "v1", 1);
	expect_entry("a\"b\\c", "v2", 2);
	expect_entry("#hash", "v3", 3);
}
END_TEST

START_TEST(test_empty_source)
{
	ck_assert_int_eq(parse(MAP_TABLE, ""), 0);
	ck_assert_int_eq(parse(MAP_TABLE, "# nothing\n\n  \n"), 0);
	ck_assert_uint_eq(src.n, 0);
}
END_TEST

static const struct {
	enum map_format	 fmt;
	const char	*text;
	unsigned	 line;
	const char	*msg;
} bad[] = {
	{ MAP_TABLE, "a\n", 1, "no value for key \"a\"" },
	{ MAP_TABLE, "ok v\n\"a\"\n", 2, "no value for key \"a\"" },
	{ MAP_TABLE, "  b c\n", 1, "continuation line without an entry" },
	{ MAP_TABLE, "a b\nb c\na d\n", 3,
	    "duplicate key \"a\" (first at line 1)" },
	{ MAP_TABLE, "Key b\n\n# c\nkEY d\n", 4,
	    "duplicate key \"key\" (first at line 1)" },
	{ MAP_TABLE, "a\x01z c\n", 1, "control character 0x01" },
	{ MAP_TABLE, "x y\na b\x7f\n", 2, "control character 0x7f" },
	{ MAP_TABLE, "x y\nz w\rv\n", 2, "control character 0x0d" },
	{ MAP_TABLE, "\"a b\n", 1, "missing closing quote" },
	{ MAP_TABLE, "\"a\\\n", 1, "missing closing quote" },
	{ MAP_TABLE, "\"a\"b c\n", 1, "text right after a closing quote" },
	{ MAP_TABLE, "a\"b c\n", 1, "quote inside a key" },
	{ MAP_TABLE, "\"\" c\n", 1, "empty key" },
	{ MAP_TABLE, "x y\nfirst\n second\n third\n\nbad\n", 6,
	    "no value for key \"bad\"" },
	{ MAP_ALIASES, "root admin\n", 1, "missing \":\" after alias name "
	    "\"root\"" },
	{ MAP_ALIASES, "a@example.org: c\n", 1, "has a domain" },
	{ MAP_ALIASES, "x: y\nroot:\n\n", 2, "no value for key \"root\"" },
	{ MAP_ALIASES, "x: y\nroot:  \n  # c\n   \n", 2,
	    "no value for key \"root\"" },
	{ MAP_ALIASES, ": x\n", 1, "empty key" },
	{ MAP_ALIASES, "\"a b: x\n", 1, "missing closing quote" },
	{ MAP_ALIASES, "Root: a\nx: b\nroot : c\n", 3,
	    "duplicate key \"root\" (first at line 1)" },
	{ MAP_ALIASES, "  x: y\n", 1, "continuation line without" },
};

START_TEST(test_bad)
{
	ck_assert_int_eq(map_parse(&src, bad[_i].fmt, "src", bad[_i].text,
	    strlen(bad[_i].text), collect, &ndiags), 1);
	ck_assert_uint_eq(ndiags, 1);
	ck_assert_str_eq(diags[0].file, "src");
	expect_diag(bad[_i].msg, bad[_i].line);
}
END_TEST

/*
 * A bad line drops the entry it belongs to, with its continuation lines,
 * and nothing more: a NUL in a continuation line, a control character
 * in a first line.
 */
START_TEST(test_bad_line_drops_its_entry)
{
	const char text[] = "x y\nz\n  c\0d\nw v\na\x02 b\n  more\nc d\n";

	ck_assert_int_eq(map_parse(&src, MAP_TABLE, "src", text,
	    sizeof(text) - 1, collect, &ndiags), 2);
	expect_diag("control character 0x00", 3);
	expect_diag("control character 0x02", 5);
	ck_assert_uint_eq(src.n, 3);
	expect_entry("x", "y", 1);
	expect_entry("w", "v", 4);
	expect_entry("c", "d", 7);
}
END_TEST

START_TEST(test_every_error_reported)
{
	ck_assert_int_eq(parse(MAP_TABLE,
	    "a\n"
	    "b c\n"
	    "\"d\n"
	    "b e\n"
	    "f\"g h\n"), 4);
	ck_assert_uint_eq(ndiags, 4);
	expect_diag("no value for key \"a\"", 1);
	expect_diag("missing closing quote", 3);
	expect_diag("duplicate key \"b\" (first at line 2)", 4);
	expect_diag("quote inside a key", 5);
}
END_TEST

START_TEST(test_too_many_errors)
{
	char *text;
	size_t i;

	text = malloc(2 * (MAP_DIAG_MAX + 50) + 1);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < MAP_DIAG_MAX + 50; i++)
		memcpy(text + 2 * i, "a\n", 2);
	text[2 * i] = '\0';
	ck_assert_int_eq(parse(MAP_TABLE, text), MAP_DIAG_MAX + 1);
	ck_assert_uint_eq(ndiags, MAP_DIAG_MAX + 1);
	ck_assert_str_eq(diags[MAP_DIAG_MAX].msg, "too many errors, giving up");
	ck_assert_uint_eq(diags[MAP_DIAG_MAX - 1].line, MAP_DIAG_MAX);
	free(text);
}
END_TEST

/*
 * Limits.
 */

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_key_limit)
{
	char *k = repeat('K', MAP_KEY_MAX + 1), *text;

	ck_assert_int_ne(asprintf(&text, "%.*s v\n%s v\n\"%s\" v\n",
	    MAP_KEY_MAX, k, k, k), -1);
	ck_assert_int_eq(parse(MAP_TABLE, text), 2);
	expect_diag("key too long (more than 256 bytes)", 2);
	ck_assert_uint_eq(diags[1].line, 3);
	ck_assert_uint_eq(src.n, 1);
	ck_assert_uint_eq(src.ents[0].klen, MAP_KEY_MAX);
	free(k);
	free(text);
}
END_TEST

START_TEST(test_value_limit)
{
	char *v = repeat('v', MAP_VALUE_MAX + 1), *text;

	ck_assert_int_ne(asprintf(&text, "a %.*s\nb %s\n", MAP_VALUE_MAX,
	    v, v), -1);
	ck_assert_int_eq(parse(MAP_TABLE, text), 1);
	expect_diag("value of \"b\" too long (more than 32768 bytes)", 2);
	ck_assert_uint_eq(src.n, 1);
	expect_entry("a", v + 1, 1);
	free(v);
	free(text);
}
END_TEST

START_TEST(test_line_limit)
{
	char *v = repeat('v', MAP_LINE_MAX / 2), *text;

	/* Two halves and a space: one byte too long, reported at line 2. */
	ck_assert_int_ne(asprintf(&text, "x y\nk %.*s\n %s\nz w\n",
	    MAP_LINE_MAX / 2 - 2, v, v), -1);
	ck_assert_int_eq(parse(MAP_TABLE, text), 1);
	expect_diag("entry too long (more than 65536 bytes)", 2);
	ck_assert_uint_eq(src.n, 2);
	free(v);
	free(text);
}
END_TEST

START_TEST(test_file_limit)
{
	char *text = malloc(MAP_FILE_MAX + 1);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(map_parse(&src, MAP_TABLE, "src", text,
	    MAP_FILE_MAX + 1, collect, &ndiags), 1);
	expect_diag("file too large", 0);
	free(text);
}
END_TEST

START_TEST(test_entries_limit)
{
	size_t i, n = MAP_ENTRIES_MAX + 1;
	char *text, *p;

	text = p = malloc(n * 10 + 1);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%07zx v\n", i);
	ck_assert_int_eq(map_parse(&src, MAP_TABLE, "src", text,
	    (size_t)(p - text), collect, &ndiags), 1);
	expect_diag("more than 1000000 entries", MAP_ENTRIES_MAX + 1);
	free(text);
}
END_TEST

/*
 * Aliases format.
 */

START_TEST(test_aliases_basic)
{
	ck_assert_int_eq(parse(MAP_ALIASES,
	    "# /etc/aliases\n"
	    "Postmaster: root\n"
	    "root:admin@example.org, \"|/usr/bin/filter -x\",\n"
	    "   /var/log/root.mbox,\n"
	    "\n"
	    "\t:include:/etc/tern/staff\n"
	    "\"Foo Bar\" : foo\n"
	    "\"list@host\": a\n"
	    "\"a:b#c\":b\n"
	    "x-y.z:\t q,r \n"), 0);
	ck_assert_uint_eq(src.n, 6);
	expect_entry("postmaster", "root", 2);
	expect_entry("root", "admin@example.org, \"|/usr/bin/filter -x\", "
	    "/var/log/root.mbox, :include:/etc/tern/staff", 3);
	expect_entry("foo bar", "foo", 7);
	expect_entry("list@host", "a", 8);
	expect_entry("a:b#c", "b", 9);
	expect_entry("x-y.z", "q,r", 10);
}
END_TEST

/*
 * inline: and static:
 */

START_TEST(test_inline)
{
	struct map *m;

	m = open_map("inline:{ a=1, B=2 c=x=y,,{ Key Word = a b, c }, "
	    "{d==} }");
	expect_lookup(m, "a", "1");
	expect_lookup(m, "b", "2");
	expect_lookup(m, "C", "x=y");
	expect_lookup(m, "key word", "a b, c");
	expect_lookup(m, "d", "=");
	expect_lookup(m, "e", NULL);
	expect_lookup(m, "", NULL);
	map_close(&m);
	ck_assert_ptr_null(m);
	m = open_map("inline:{}");
	expect_lookup(m, "a", NULL);
	map_close(&m);
	m = open_map("inline:  {a=1}  ");
	expect_lookup(m, "A", "1");
	map_close(&m);
}
END_TEST

static const struct {
	const char	*name;
	const char	*msg;
} bad_names[] = {
	{ "inline:a=1", "inline map not in braces" },
	{ "inline:{ a=1", "inline map not in braces" },
	{ "inline:", "inline map not in braces" },
	{ "inline:}", "inline map not in braces" },
	{ "inline:{ a }", "missing \"=\" in \"a\"" },
	{ "inline:{ =1 }", "empty key in \"=1\"" },
	{ "inline:{ { = 1 } }", "empty key" },
	{ "inline:{ a= }", "no value for key \"a\"" },
	{ "inline:{ { a = } }", "no value for key \"a\"" },
	{ "inline:{ {a=1 }", "missing \"}\" after \"{\"" },
	{ "inline:{ a}b=1 }", "unexpected \"}\"" },
	{ "inline:{ a=1, A=2 }", "duplicate key \"a\"" },
	{ "inline:{ a=\x01 }", "control character 0x01 in inline map" },
	{ "static:", "no value after \"static:\"" },
	{ "static:{  }", "no value after \"static:\"" },
	{ "static:{ x", "missing \"}\" after \"static:{\"" },
	{ "nocolon", "no map type" },
	{ ":x", "no map type" },
	{ "hash:/etc/aliases", "unknown map type \"hash\"" },
	{ "lmdb:", "no file name after \"lmdb:\"" },
	{ "lmdb:/nonexistent/x", "cannot open /nonexistent/x.lmdb: "
	    "No such file or directory" },
};

START_TEST(test_bad_name)
{
	char err[MAP_ERR_MAX];
	struct map *m = (struct map *)1;

	ck_assert_int_eq(map_open(bad_names[_i].name, &m, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err, bad_names[_i].msg) != NULL, "%s: %s",
	    bad_names[_i].name, err);
}
END_TEST

START_TEST(test_inline_limits)
{
	char err[MAP_ERR_MAX], *k, *v, *name;
	struct map *m;

	k = repeat('k', MAP_KEY_MAX + 1);
	v = repeat('v', MAP_VALUE_MAX + 1);
	ck_assert_int_ne(asprintf(&name, "inline:{ %.*s=%.*s }", MAP_KEY_MAX,
	    k, MAP_VALUE_MAX, v), -1);
	m = open_map(name);
	expect_lookup(m, k + 1, v + 1);
	map_close(&m);
	free(name);
	ck_assert_int_ne(asprintf(&name, "inline:{ %s=1 }", k), -1);
	ck_assert_int_eq(map_open(name, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "key too long"));
	free(name);
	ck_assert_int_ne(asprintf(&name, "inline:{ k=%s }", v), -1);
	ck_assert_int_eq(map_open(name, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	free(name);
	ck_assert_int_ne(asprintf(&name, "{ k=%s %s }", v, v), -1);
	ck_assert_int_eq(map_parse_inline(&src, name, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "inline map too long"));
	free(name);
	ck_assert_int_ne(asprintf(&name, "inline:{ k=%s %s }", v, v), -1);
	ck_assert_int_eq(map_open(name, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "map name too long"));
	free(name);
	free(k);
	free(v);
}
END_TEST

START_TEST(test_static)
{
	char small[3];
	struct map *m;

	m = open_map("static:relay:[mx.example.net]");
	expect_lookup(m, "anything", "relay:[mx.example.net]");
	expect_lookup(m, "x", "relay:[mx.example.net]");
	map_close(&m);
	m = open_map("static:{ a b }");
	expect_lookup(m, "x", "a b");
	ck_assert_int_eq(map_lookup(m, "x", small, 3), MAP_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(map_error(m), "does not fit"));
	map_close(&m);
	map_close(&m);		/* NULL is fine */
}
END_TEST

START_TEST(test_fold)
{
	char s[] = "MiXeD@Example.ORG \xc3\x89";

	map_fold(s, strlen(s));
	ck_assert_str_eq(s, "mixed@example.org \xc3\x89");
}
END_TEST

/*
 * lmdb: build and lookup.
 */

START_TEST(test_build_table)
{
	struct map *m;
	struct stat st;
	char buf[8];
	size_t n = 99;

	write_file("transport", "Example.COM smtp:[mx.example.net]\n"
	    "\"With Space\" x y\n# c\nlong a\n  b\n", 0640);
	ck_assert_int_eq(build("transport", MAP_TABLE, &n), 0);
	ck_assert_uint_eq(ndiags, 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(exists("transport.lmdb"));
	ck_assert(!exists("transport.lmdb.tmp"));
	ck_assert(!exists("transport.lmdb-lock"));
	ck_assert_int_eq(stat(path("transport.lmdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	m = open_lmdb("transport");
	expect_lookup(m, "example.com", "smtp:[mx.example.net]");
	expect_lookup(m, "EXAMPLE.com", "smtp:[mx.example.net]");
	expect_lookup(m, "with space", "x y");
	expect_lookup(m, "long", "a b");
	expect_lookup(m, "example", NULL);
	expect_lookup(m, "", NULL);
	ck_assert_int_eq(map_lookup(m, "long", buf, 3), MAP_TEMPFAIL);
	ck_assert_ptr_nonnull(strstr(map_error(m), "does not fit"));
	ck_assert_int_eq(map_lookup(m, "long", buf, 4), MAP_FOUND);
	ck_assert_str_eq(buf, "a b");
	map_close(&m);
}
END_TEST

START_TEST(test_build_aliases)
{
	struct map *m;
	size_t n;

	write_file("aliases", "Postmaster: root\nroot: a@example.org,\n"
	    "  \"|/bin/cat\"\n\"Foo Bar\": foo\n", 0644);
	ck_assert_int_eq(build("aliases", MAP_ALIASES, &n), 0);
	ck_assert_uint_eq(n, 3);
	m = open_lmdb("aliases");
	expect_lookup(m, "POSTMASTER", "root");
	expect_lookup(m, "root", "a@example.org, \"|/bin/cat\"");
	expect_lookup(m, "foo bar", "foo");
	expect_lookup(m, "\"foo bar\"", NULL);
	map_close(&m);
}
END_TEST

static const struct {
	mode_t	src, out;
} modes[] = {
	{ 0600, 0600 }, { 0640, 0640 }, { 0644, 0644 }, { 0664, 0644 },
	{ 0400, 0600 }, { 0755, 0644 }, { 0604, 0604 },
};

START_TEST(test_build_mode)
{
	struct stat st;

	write_file("t", "a b\n", modes[_i].src);
	ck_assert_int_eq(build("t", MAP_TABLE, NULL), 0);
	ck_assert_int_eq(stat(path("t.lmdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, modes[_i].out);
}
END_TEST

START_TEST(test_build_error_writes_nothing)
{
	struct map *m;

	build_table("t", "a old\n");
	write_file("t", "a new\nb\nc x\nc y\n", 0644);
	ck_assert_int_eq(build("t", MAP_TABLE, NULL), 2);
	ck_assert_str_eq(diags[0].file, path("t"));
	expect_diag("no value for key \"b\"", 2);
	expect_diag("duplicate key \"c\" (first at line 3)", 4);
	ck_assert(!exists("t.lmdb.tmp"));
	m = open_lmdb("t");
	expect_lookup(m, "a", "old");
	map_close(&m);
	write_file("u", "nokey\n", 0644);
	ck_assert_int_eq(build("u", MAP_TABLE, NULL), 1);
	ck_assert(!exists("u.lmdb"));
	ck_assert(!exists("u.lmdb.tmp"));
}
END_TEST

START_TEST(test_build_missing)
{
	ck_assert_int_eq(build("nothing", MAP_TABLE, NULL), 1);
	expect_diag("cannot open: No such file or directory", 0);
	ck_assert_str_eq(diags[0].file, path("nothing"));
	ck_assert_int_eq(mkdir(path("d"), 0755), 0);
	ndiags = 0;
	ck_assert_int_eq(build("d", MAP_TABLE, NULL), 1);
	expect_diag("not a regular file", 0);
	rmdir(path("d"));
}
END_TEST

/* A stale .tmp from a build that died is simply replaced. */
START_TEST(test_build_stale_tmp)
{
	struct map *m;

	write_file("t.lmdb.tmp", "garbage\n", 0644);
	build_table("t", "a b\n");
	ck_assert(!exists("t.lmdb.tmp"));
	m = open_lmdb("t");
	expect_lookup(m, "a", "b");
	map_close(&m);
}
END_TEST

/* Large values go to overflow pages; the map size must allow for them. */
START_TEST(test_build_large)
{
	char *v, *text, *p, key[32], want[32];
	struct map *m;
	size_t i, n;

	v = repeat('v', MAP_VALUE_MAX);
	text = p = malloc(200 * (MAP_VALUE_MAX + 16) + 20000 * 24);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 200; i++)
		p += sprintf(p, "big%zu %s\n", i, v);
	for (i = 0; i < 20000; i++)
		p += sprintf(p, "k%zu value%zu\n", i, i);
	write_file("big", text, 0644);
	ck_assert_int_eq(build("big", MAP_TABLE, &n), 0);
	ck_assert_uint_eq(n, 20200);
	m = open_lmdb("big");
	expect_lookup(m, "big0", v);
	expect_lookup(m, "BIG199", v);
	for (i = 0; i < 20000; i += 997) {
		snprintf(key, sizeof(key), "k%zu", i);
		snprintf(want, sizeof(want), "value%zu", i);
		expect_lookup(m, key, want);
	}
	map_close(&m);
	free(text);
	free(v);
}
END_TEST

START_TEST(test_lookup_key_limit)
{
	char *k = repeat('k', MAP_KEY_MAX + 1), *text;
	struct map *m;

	ck_assert_int_ne(asprintf(&text, "%.*s v\n", MAP_KEY_MAX, k), -1);
	write_file("t", text, 0644);
	ck_assert_int_eq(build("t", MAP_TABLE, NULL), 0);
	m = open_lmdb("t");
	expect_lookup(m, k + 1, "v");
	expect_lookup(m, k, NULL);
	map_close(&m);
	free(text);
	free(k);
}
END_TEST

/* An LMDB file not built by map_build (such as Postfix's) is refused. */
START_TEST(test_foreign_lmdb)
{
	char err[MAP_ERR_MAX], name[PATH_MAX + 400];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 2, (void *)"a" }, v = { 2, (void *)"b" };
	struct map *m;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, path("f.lmdb"), MDB_NOSUBDIR |
	    MDB_NOLOCK, 0644), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	snprintf(name, sizeof(name), "lmdb:%s", path("f"));
	ck_assert_int_eq(map_open(name, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a table built by ternctl"));
	write_file("g.lmdb", "not lmdb at all\n", 0644);
	snprintf(name, sizeof(name), "lmdb:%s", path("g"));
	ck_assert_int_eq(map_open(name, &m, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
}
END_TEST

/*
 * Rebuilds.
 */

/* A reader sees the new table after a rebuild, without reopening. */
START_TEST(test_rebuild_seen)
{
	struct map *m;

	build_table("t", "a one\n");
	m = open_lmdb("t");
	expect_lookup(m, "a", "one");
	build_table("t", "a two\nb new\n");
	expect_lookup(m, "a", "two");
	expect_lookup(m, "b", "new");
	map_close(&m);
}
END_TEST

/*
 * A reader that has the old table open keeps a whole, working table: the
 * old file lives on while it is mapped, even when the new one is gone or
 * cannot be opened.
 */
START_TEST(test_rebuild_old_kept)
{
	struct map *m;

	build_table("t", "a one\n");
	m = open_lmdb("t");
	build_table("t", "a two\n");
	ck_assert_int_eq(rename(path("t.lmdb"), path("t.new")), 0);
	expect_lookup(m, "a", "one");
	write_file("t.lmdb", "garbage", 0644);
	expect_lookup(m, "a", "one");
	ck_assert_int_eq(rename(path("t.new"), path("t.lmdb")), 0);
	expect_lookup(m, "a", "two");
	map_close(&m);
}
END_TEST

#define REBUILDS	30
#define KEYS		50

static void
write_version(char c)
{
	char *text, *p, val[201];
	int i;

	memset(val, c, 200);
	val[200] = '\0';
	text = p = malloc(KEYS * 220);
	ck_assert_ptr_nonnull(text);
	for (i = 0; i < KEYS; i++)
		p += sprintf(p, "k%d %s\n", i, val);
	write_file("t", text, 0644);
	free(text);
}

/*
 * A child rebuilds the table again and again while this process opens
 * and reads it: every open works and every value is whole.
 */
START_TEST(test_rebuild_concurrent)
{
	char buf[MAP_VALUE_MAX + 1], key[16], err[MAP_ERR_MAX];
	char name[PATH_MAX + 400];
	struct map *m;
	int i, k, status, reads = 0;
	pid_t pid;

	write_version('a');
	ck_assert_int_eq(build("t", MAP_TABLE, NULL), 0);
	snprintf(name, sizeof(name), "lmdb:%s", path("t"));
	if ((pid = fork()) == 0) {
		for (i = 0; i < REBUILDS; i++) {
			write_version(i % 2 ? 'a' : 'b');
			if (map_build(path("t"), MAP_TABLE, NULL, NULL,
			    NULL) != 0)
				_exit(1);
		}
		_exit(0);
	}
	ck_assert_int_ne(pid, -1);
	do {
		ck_assert_msg(map_open(name, &m, err, sizeof(err)) == 0, "%s",
		    err);
		for (k = 0; k < KEYS; k++) {
			snprintf(key, sizeof(key), "K%d", k);
			ck_assert_int_eq(map_lookup(m, key, buf, sizeof(buf)),
			    MAP_FOUND);
			ck_assert_uint_eq(strlen(buf), 200);
			ck_assert_uint_eq(strspn(buf, buf[0] == 'a' ? "a" :
			    "b"), 200);
		}
		map_close(&m);
		reads++;
	} while (waitpid(pid, &status, WNOHANG) == 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_gt(reads, 0);
}
END_TEST

#define NITEMS(a)	((int)(sizeof(a) / sizeof((a)[0])))

static TCase *
tcase(const char *name)
{
	TCase *tc;

	tc = tcase_create(name);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	return tc;
}

static Suite *
map_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("map");

	tc = tcase("parse");
	tcase_add_test(tc, test_table_basic);
	tcase_add_test(tc, test_table_quoted);
	tcase_add_test(tc, test_empty_source);
	tcase_add_loop_test(tc, test_bad, 0, NITEMS(bad));
	tcase_add_test(tc, test_bad_line_drops_its_entry);
	tcase_add_test(tc, test_every_error_reported);
	tcase_add_test(tc, test_too_many_errors);
	tcase_add_test(tc, test_aliases_basic);
	tcase_add_test(tc, test_fold);
	suite_add_tcase(s, tc);

	tc = tcase("limits");
	tcase_add_test(tc, test_key_limit);
	tcase_add_test(tc, test_value_limit);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_file_limit);
	tcase_add_test(tc, test_entries_limit);
	tcase_add_test(tc, test_inline_limits);
	tcase_add_test(tc, test_lookup_key_limit);
	suite_add_tcase(s, tc);

	tc = tcase("names");
	tcase_add_test(tc, test_inline);
	tcase_add_test(tc, test_static);
	tcase_add_loop_test(tc, test_bad_name, 0, NITEMS(bad_names));
	suite_add_tcase(s, tc);

	tc = tcase("lmdb");
	tcase_add_test(tc, test_build_table);
	tcase_add_test(tc, test_build_aliases);
	tcase_add_loop_test(tc, test_build_mode, 0, NITEMS(modes));
	tcase_add_test(tc, test_build_error_writes_nothing);
	tcase_add_test(tc, test_build_missing);
	tcase_add_test(tc, test_build_stale_tmp);
	tcase_add_test(tc, test_build_large);
	tcase_add_test(tc, test_foreign_lmdb);
	suite_add_tcase(s, tc);

	tc = tcase("rebuild");
	tcase_add_test(tc, test_rebuild_seen);
	tcase_add_test(tc, test_rebuild_old_kept);
	tcase_add_test(tc, test_rebuild_concurrent);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(map_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
