/*
 * SPDX-License-Identifier: ISC
 *
 * ternctl_config.c -- "ternctl config": show tern.conf parameters from
 * the one parameter table, and write the tern.conf(5) parameter list.
 *
 *   ternctl config            every parameter with its value in effect
 *   ternctl config -n         only those set in tern.conf
 *   ternctl config -d         every parameter's default
 *   ternctl config name ...   the named ones, in effect
 *   ternctl config -m         the PARAMETERS section of tern.conf(5), roff
 *
 * Process:  ternctl.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "master.h"
#include "ternctl.h"

/* roff needs a backslash doubled and a leading dot or quote escaped. */
static void
roff(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static int
print_man(void)
{
	const struct conf_param *p;

	for (p = conf_params; p->name != NULL; p++) {
		printf(".It Cm %s Pq %s\n", p->name, conf_type_name(p->type));
		roff(p->desc);
		printf("\n.br\nDefault:\n.Ql ");
		if (p->def_fn != NULL)
			fputs("(computed at start-up)", stdout);
		else
			roff(p->def[0] != '\0' ? p->def : "(empty)");
		putchar('\n');
	}
	return 0;
}

static int
show(const struct conf *c, const char *name, bool defaults)
{
	const struct conf_param *p;
	const char *v;

	if ((p = conf_param_find(name)) == NULL) {
		fprintf(stderr, "ternctl: unknown parameter %s\n", name);
		return 1;
	}
	if (defaults && p->def_fn != NULL)
		v = "(computed at start-up)";
	else
		v = defaults ? p->def : conf_get(c, name);
	printf("%s = %s\n", name, v != NULL ? v : "");
	return 0;
}

int
ternctl_config(const char *dir, int argc, char *argv[])
{
	struct master_config mc;
	const struct conf_param *p;
	bool defaults = false, nondefault = false;
	int ch, r = 0, errors = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "dmn")) != -1) {
		switch (ch) {
		case 'd':
			defaults = true;
			break;
		case 'm':
			return print_man();
		case 'n':
			nondefault = true;
			break;
		default:
			fprintf(stderr, "usage: ternctl config [-d | -n | -m] "
			    "[name ...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (master_config_load(dir, false, &mc, ternctl_report, &errors) != 0)
		r = 1;
	if (argc > 0) {
		for (; argc > 0; argc--, argv++)
			r |= show(mc.conf, argv[0], defaults);
	} else {
		for (p = conf_params; p->name != NULL; p++) {
			if (nondefault && conf_is_default(mc.conf, p->name))
				continue;
			show(mc.conf, p->name, defaults);
		}
	}
	master_config_free(&mc);
	return r;
}
