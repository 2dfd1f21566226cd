/*
 * SPDX-License-Identifier: ISC
 *
 * replay.c -- run a fuzz harness without libFuzzer: every file of its seed
 * corpus (or the files named on the command line), then a fixed number of
 * deterministic mutations of them.  A crash or sanitizer report fails it.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "xmem.h"

#define REPLAY_FILE_MAX	(1024 * 1024)
#define REPLAY_MUTATIONS 20000
#define REPLAY_SEEDS_MAX 256

struct seed {
	uint8_t	*data;
	size_t	 len;
};

static struct seed seeds[REPLAY_SEEDS_MAX];
static size_t nseeds;

static void
add_file(const char *path)
{
	uint8_t *p;
	ssize_t n;
	int fd;

	if (nseeds == REPLAY_SEEDS_MAX)
		return;
	if ((fd = open(path, O_RDONLY)) == -1) {
		perror(path);
		exit(1);
	}
	p = xmalloc(REPLAY_FILE_MAX);
	n = read(fd, p, REPLAY_FILE_MAX);
	close(fd);
	if (n < 0) {
		perror(path);
		exit(1);
	}
	seeds[nseeds].data = p;
	seeds[nseeds].len = (size_t)n;
	nseeds++;
}

static void
add_dir(const char *dir)
{
	struct dirent *de;
	char path[4096];
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		add_file(path);
	}
	closedir(d);
}

/* xorshift: the same mutations on every run, so a failure reproduces. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t
mutate(uint8_t *out, size_t cap)
{
	const struct seed *s;
	size_t len, i, k, pos;
	static const char *tokens[] = { "\n", "\r\n", " ", "=", "$", "${",
	    "}", "#", ",", "[", "]", ":", "\0", "\xff", "a", "-", "y" };

	if (nseeds == 0) {
		len = next() % 256;
		for (i = 0; i < len; i++)
			out[i] = (uint8_t)next();
		return len;
	}
	s = &seeds[next() % nseeds];
	len = s->len < cap ? s->len : cap;
	memcpy(out, s->data, len);
	for (k = next() % 8 + 1; k > 0; k--) {
		pos = len ? next() % len : 0;
		switch (next() % 5) {
		case 0:		/* flip a byte */
			if (len)
				out[pos] = (uint8_t)next();
			break;
		case 1:		/* cut the tail */
			len = pos;
			break;
		case 2: {	/* insert a token */
			const char *t = tokens[next() % (sizeof(tokens) / sizeof(tokens[0]))];
			size_t tl = t[0] ? strlen(t) : 1;

			if (len + tl < cap) {
				memmove(out + pos + tl, out + pos, len - pos);
				memcpy(out + pos, t, tl);
				len += tl;
			}
			break;
		}
		case 3:		/* duplicate a chunk */
			if (len && len * 2 < cap) {
				memcpy(out + len, out, len);
				len *= 2;
			}
			break;
		default:	/* set a byte to an extreme */
			if (len)
				out[pos] = (next() & 1) ? 0xff : 0x00;
			break;
		}
	}
	return len;
}

int
main(int argc, char *argv[])
{
	uint8_t *buf;
	size_t i, len;
	int n;

	if (argc > 1) {
		for (n = 1; n < argc; n++)
			add_file(argv[n]);
	} else
		add_dir(FUZZ_CORPUS_ROOT "/" FUZZ_NAME);
	for (i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
	buf = xmalloc(4 * REPLAY_FILE_MAX);
	for (i = 0; i < REPLAY_MUTATIONS; i++) {
		len = mutate(buf, 4 * REPLAY_FILE_MAX);
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("replay_%s: %zu seeds, %d mutations: ok\n", FUZZ_NAME, nseeds,
	    REPLAY_MUTATIONS);
	free(buf);
	for (i = 0; i < nseeds; i++)
		free(seeds[i].data);
	return 0;
}
