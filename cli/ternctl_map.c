/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_map.c -- "ternctl map": build and query lookup tables.
 *
 *   ternctl map build [-a] file ...   file -> file.lmdb (-a, or a file
 *                                     named "aliases": aliases(5) format)
 *   ternctl map query map key         print key's value
 *   ternctl map query map -           look up each line of stdin, print
 *                                     "key<TAB>value" for those found
 *
 * A map name without a type that starts with "/" is an lmdb: table.
 *
 * Process:  ternctl, with the caller's privilege; the configuration is
 *           not read.
 * Failure:  problems on stderr, naming the file and line or the map.
 *           build: exit 0, 1 (errors), 2 (usage).  query: exit 0 found
 *           (with "-": at least one), 1 not found, 2 usage, 3 the table
 *           cannot answer.  "--help": usage on stdout, exit 0.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "ternctl.h"
#include "xmem.h"

#define EXIT_MAP_ERROR	3

static const char usage_text[] =
    "usage: ternctl map build [-a] file ...\n"
    "       ternctl map query map key | -\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static bool
want_help(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

static void
diag(void *arg, const char *file, unsigned line, const char *msg)
{
	char buf[2048];

	if (line > 0)
		snprintf(buf, sizeof(buf), "%s:%u: %s", file, line, msg);
	else
		snprintf(buf, sizeof(buf), "%s: %s", file, msg);
	ternctl_report(arg, true, buf);
}

/* A file whose last component is "aliases" is in aliases(5) format. */
static bool
is_aliases(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strcmp(slash != NULL ? slash + 1 : path, "aliases") == 0;
}

static int
build(int argc, char *argv[])
{
	enum map_format fmt;
	bool aliases = false;
	size_t n;
	int ch, r = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "a")) != -1) {
		switch (ch) {
		case 'a':
			aliases = true;
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage();
	for (; argc > 0; argc--, argv++) {
		fmt = aliases || is_aliases(argv[0]) ? MAP_ALIASES : MAP_TABLE;
		if (map_build(argv[0], fmt, diag, NULL, &n) != 0) {
			fprintf(stderr, "ternctl: %s: not built\n", argv[0]);
			r = 1;
			continue;
		}
		printf("%s.lmdb: %zu %s\n", argv[0], n,
		    n == 1 ? "entry" : "entries");
	}
	return r;
}

/* Look up one key; an error is printed here. */
static enum map_result
lookup(struct map *m, const char *key, char *value, size_t sz)
{
	enum map_result r;

	if ((r = map_lookup(m, key, value, sz)) == MAP_TEMPFAIL)
		fprintf(stderr, "ternctl: %s: %s\n", map_name(m), map_error(m));
	return r;
}

/*
 * "-": one key per line of standard input, answered at once (a program
 * can keep the table open and ask again and again).  A line too long to
 * be a key is not found.
 */
static int
query_stdin(struct map *m, char *value, size_t sz)
{
	char line[MAP_KEY_MAX + 2];
	size_t n;
	bool found = false, whole;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		n = strcspn(line, "\n");
		whole = line[n] == '\n' || feof(stdin);
		line[n] = '\0';
		if (!whole) {
			int c;

			while ((c = getchar()) != EOF && c != '\n')
				;
			continue;
		}
		switch (lookup(m, line, value, sz)) {
		case MAP_FOUND:
			printf("%s\t%s\n", line, value);
			fflush(stdout);
			found = true;
			break;
		case MAP_NOTFOUND:
			break;
		default:
			return EXIT_MAP_ERROR;
		}
	}
	return found ? 0 : 1;
}

static int
query(int argc, char *argv[])
{
	char err[MAP_ERR_MAX], value[MAP_VALUE_MAX + 1], *name;
	struct map *m;
	int r;

	if (argc != 3)
		return usage();
	/* A path alone names the table ternctl map build made from it. */
	if (argv[1][0] == '/')
		name = xasprintf("lmdb:%s", argv[1]);
	else
		name = xstrdup(argv[1]);
	if (map_open(name, &m, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternctl: %s: %s\n", name, err);
		free(name);
		return EXIT_MAP_ERROR;
	}
	free(name);
	if (strcmp(argv[2], "-") == 0)
		r = query_stdin(m, value, sizeof(value));
	else {
		switch (lookup(m, argv[2], value, sizeof(value))) {
		case MAP_FOUND:
			printf("%s\n", value);
			r = 0;
			break;
		case MAP_NOTFOUND:
			r = 1;
			break;
		default:
			r = EXIT_MAP_ERROR;
			break;
		}
	}
	map_close(&m);
	return r;
}

int
ternctl_map(int argc, char *argv[])
{
	if (want_help(argc, argv)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "build") == 0)
		return build(argc - 1, argv + 1);
	if (strcmp(argv[1], "query") == 0)
		return query(argc - 1, argv + 1);
	return usage();
}
