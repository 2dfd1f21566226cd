/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_services.c -- libFuzzer harness for services_parse().
 *
 * Input:    arbitrary bytes as the text of services.conf.
 * Checks:   no crash or leak, and what the parser keeps obeys the grammar:
 *           fields NUL-terminated, limits held, every name findable.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "services.h"

struct count {
	size_t	 n;
};

static void
diag(void *arg, const char *file, unsigned line, const char *service,
    const char *msg)
{
	struct count *c = arg;

	if (file == NULL || msg == NULL || msg[0] == '\0')
		abort();
	if (service != NULL && strlen(service) > SERVICES_NAME_MAX)
		abort();
	(void)line;
	c->n++;
}

static void
check_def(const struct services *s, const struct service_def *d)
{
	size_t i;

	if (strnlen(d->name, sizeof(d->name)) == sizeof(d->name) ||
	    d->name[0] == '\0' ||
	    strnlen(d->listen, sizeof(d->listen)) == sizeof(d->listen) ||
	    strnlen(d->host, sizeof(d->host)) == sizeof(d->host) ||
	    strnlen(d->port, sizeof(d->port)) == sizeof(d->port) ||
	    strnlen(d->chroot, sizeof(d->chroot)) == sizeof(d->chroot) ||
	    strnlen(d->command, sizeof(d->command)) == sizeof(d->command) ||
	    d->command[0] == '\0' || strchr(d->command, '/') != NULL)
		abort();
	if (d->maxproc > SERVICES_MAXPROC || d->wakeup > 86400 ||
	    (d->maxproc != 0 && d->prefork > d->maxproc) ||
	    d->argc > SERVICES_ARGS_MAX || d->argv[d->argc] != NULL ||
	    d->line == 0)
		abort();
	if (d->type == SERVICES_INET && d->port[0] == '\0')
		abort();
	if (d->type == SERVICES_UNIX &&
	    strncmp(d->listen, "private/", 8) != 0 &&
	    strncmp(d->listen, "public/", 7) != 0)
		abort();
	for (i = 0; i < d->argc; i++) {
		if (d->argv[i] == NULL || d->argv[i][0] == '\0' ||
		    strlen(d->argv[i]) > SERVICES_ARG_MAX)
			abort();
	}
	if (services_find(s, d->name) != d)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct services s;
	struct count c = { 0 };
	size_t i;
	int errors;

	errors = services_parse("fuzz.conf", (const char *)data, size, &s,
	    diag, &c);
	if (errors < 0 || (size_t)errors != c.n || s.n > SERVICES_MAX ||
	    (s.n > 0 && s.defs == NULL))
		abort();
	for (i = 0; i < s.n; i++)
		check_def(&s, &s.defs[i]);
	services_free(&s);
	if (s.defs != NULL || s.n != 0)
		abort();
	return 0;
}
