/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_map.c -- "ternctl map": build and query lookup tables.
 *
 *   ternctl map build [-a] file ...   file -> file.lmdb (-a, or a file
 *                                     named "aliases": aliases(5) format)
 *   ternctl map query map key         print key's value
 *
 * Process:  ternctl, with the caller's privilege; the configuration is
 *           not read.
 * Failure:  problems on stderr, naming the file and line or the map.
 *           build: exit 0, 1 (errors), 2 (usage).  query: exit 0 found,
 *           1 not found, 2 usage, 3 the table cannot answer.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "ternctl.h"

#define EXIT_MAP_ERROR	3

static int
usage(void)
{
	fprintf(stderr, "usage: ternctl map build [-a] file ...\n"
	    "       ternctl map query map key\n");
	return 2;
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

static int
query(int argc, char *argv[])
{
	char err[MAP_ERR_MAX], value[MAP_VALUE_MAX + 1];
	struct map *m;
	int r;

	if (argc != 3)
		return usage();
	if (map_open(argv[1], &m, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternctl: %s: %s\n", argv[1], err);
		return EXIT_MAP_ERROR;
	}
	switch (map_lookup(m, argv[2], value, sizeof(value))) {
	case MAP_FOUND:
		printf("%s\n", value);
		r = 0;
		break;
	case MAP_NOTFOUND:
		r = 1;
		break;
	default:
		fprintf(stderr, "ternctl: %s: %s\n", argv[1], map_error(m));
		r = EXIT_MAP_ERROR;
		break;
	}
	map_close(&m);
	return r;
}

int
ternctl_map(int argc, char *argv[])
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "build") == 0)
		return build(argc - 1, argv + 1);
	if (strcmp(argv[1], "query") == 0)
		return query(argc - 1, argv + 1);
	return usage();
}
