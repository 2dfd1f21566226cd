/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_conf.c -- libFuzzer harness for conf_parse, conf_finish and the
 * value parsers.
 *
 * Process:  fuzzer or replay test only.
 * Input:    arbitrary bytes as tern.conf text.
 * Failure:  a crash, a sanitizer report, or abort() when a getter returns
 *           a value that does not pass its own checks after conf_finish.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

#define FUZZ_WORD_MAX	80	/* bytes of input tried as a single value */

struct counts {
	size_t	warnings, errors;
};

/* A list word may hold separators only inside {...}. */
static bool
sep_outside_braces(const char *w)
{
	size_t depth = 0;

	for (; *w != '\0'; w++) {
		if (*w == '{')
			depth++;
		else if (*w == '}' && depth > 0)
			depth--;
		else if (depth == 0 && strchr(", \t\r\n", *w) != NULL)
			return true;
	}
	return false;
}

static void
count(void *arg, enum conf_sev sev, const char *file, unsigned line,
    const char *param, const char *msg)
{
	struct counts *c = arg;

	(void)file;
	(void)line;
	(void)param;
	if (msg == NULL)
		abort();
	if (sev == CONF_ERROR)
		c->errors++;
	else
		c->warnings++;
}

static void
check_bounds(const struct conf_param *p, int64_t v)
{
	if ((p->min != 0 || p->max != 0) && v < p->min)
		abort();
	if (p->max != 0 && v > p->max)
		abort();
}

/* Every getter must give a value that passes the parameter's checks. */
static void
check_param(const struct conf *conf, const struct conf_param *p)
{
	const char *const *w;
	const char *v, *err;
	size_t n, i;

	if ((v = conf_get(conf, p->name)) == NULL)
		abort();
	if (p->check != NULL && p->check(v, &err) == -1)
		abort();
	switch (p->type) {
	case CONF_STR:
		if (strcmp(conf_str(conf, p->name), v) != 0)
			abort();
		break;
	case CONF_PATH:
		if (conf_str(conf, p->name)[0] != '/')
			abort();
		break;
	case CONF_INT:
		check_bounds(p, conf_int(conf, p->name));
		break;
	case CONF_BOOL:
		(void)conf_bool(conf, p->name);
		break;
	case CONF_TIME:
		check_bounds(p, conf_time(conf, p->name));
		break;
	case CONF_SIZE:
		check_bounds(p, conf_size(conf, p->name));
		break;
	case CONF_LIST:
		w = conf_list(conf, p->name, &n);
		for (i = 0; i < n; i++)
			if (w[i] == NULL || w[i][0] == '\0' ||
			    sep_outside_braces(w[i]))
				abort();
		if (w[n] != NULL)
			abort();
		break;
	}
}

/* The start of the input as one value for the pure parsers. */
static void
parse_word(const uint8_t *data, size_t size)
{
	char word[FUZZ_WORD_MAX + 1];
	const char *err;
	int64_t v;
	bool b;

	if (size > FUZZ_WORD_MAX)
		size = FUZZ_WORD_MAX;
	memcpy(word, data, size);
	word[size] = '\0';
	if (conf_parse_bool(word, &b, &err) == -1 && err == NULL)
		abort();
	if (conf_parse_int(word, &v, &err) == -1 && err == NULL)
		abort();
	if (conf_parse_time(word, &v, &err) == 0 && v < 0)
		abort();
	if (conf_parse_size(word, &v, &err) == 0 && v < 0)
		abort();
	(void)conf_nearest(word);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct conf_param *p;
	struct counts counts = { 0, 0 };
	struct conf *conf;
	int errors;

	parse_word(data, size);
	conf = conf_new(count, &counts);
	errors = conf_parse(conf, "fuzz.conf", (const char *)data, size);
	errors += conf_finish(conf);
	if (errors < 0 || (size_t)errors != counts.errors)
		abort();
	for (p = conf_params; p->name != NULL; p++)
		check_param(conf, p);
	conf_free(&conf);
	return 0;
}
