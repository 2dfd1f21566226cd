/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_smtpcmd.c -- libFuzzer harness for smtpcmd_parse().
 *
 * Input:    one byte of SMTPCMD_F_* flags, then a command line.
 * Checks:   no crash, no read past the line; a success obeys each verb's
 *           rules (limits held, pointers inside the line, parameters only
 *           where allowed and advertised); a failure carries a complete
 *           reply whose parameter, if any, lies inside the line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtpcmd.h"

#define BDAT_LIMIT	1000000000000000000ULL	/* 10^18: 18 digits */

struct span {
	const char	*start;
	const char	*end;
};

static void
inside(const struct span *l, const char *p, size_t n)
{
	if (p == NULL || p < l->start || p > l->end ||
	    n > (size_t)(l->end - p))
		abort();
}

static bool
printable(const char *s, size_t n, bool utf8)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] == 127)
			return false;
		if ((unsigned char)s[i] > 127 && !utf8)
			return false;
	}
	return true;
}

static void
check_addr(const struct smtpcmd *c, unsigned flags)
{
	const struct addr *a = &c->addr;

	if (strnlen(a->local, sizeof(a->local)) > ADDR_LOCAL_MAX ||
	    strnlen(a->domain, sizeof(a->domain)) > ADDR_DOMAIN_MAX)
		abort();
	if (a->utf8 && (flags & SMTPCMD_F_SMTPUTF8) == 0)
		abort();
	if (c->nparams > SMTPCMD_PARAMS_MAX)
		abort();
}

static void
check_mail(const struct smtpcmd *c, unsigned flags, const struct span *l)
{
	if (c->notify != 0 || c->orcpt_set || c->orcpt[0] != '\0')
		abort();
	if ((c->size_set && (flags & SMTPCMD_F_SIZE) == 0) ||
	    (!c->size_set && c->size != 0))
		abort();
	if ((c->body == SMTPCMD_BODY_7BIT || c->body == SMTPCMD_BODY_8BITMIME)
	    && (flags & SMTPCMD_F_8BITMIME) == 0)
		abort();
	if (c->body == SMTPCMD_BODY_BINARYMIME &&
	    (flags & SMTPCMD_F_CHUNKING) == 0)
		abort();
	if (c->smtputf8 && (flags & SMTPCMD_F_SMTPUTF8) == 0)
		abort();
	if (c->addr.utf8 && !c->smtputf8)
		abort();
	if ((c->ret != SMTPCMD_RET_NONE || c->envid_set) &&
	    (flags & SMTPCMD_F_DSN) == 0)
		abort();
	if (strnlen(c->envid, sizeof(c->envid)) > SMTPCMD_ENVID_MAX ||
	    !printable(c->envid, strlen(c->envid), false) ||
	    c->envid_set != (c->envid[0] != '\0'))
		abort();
	if (c->auth != NULL) {
		if ((flags & SMTPCMD_F_AUTH) == 0 || c->auth_len == 0 ||
		    c->auth_len > SMTPCMD_AUTH_MAX)
			abort();
		inside(l, c->auth, c->auth_len);
	} else if (c->auth_len != 0)
		abort();
}

static void
check_rcpt(const struct smtpcmd *c, unsigned flags)
{
	if (c->size_set || c->body != SMTPCMD_BODY_NONE || c->smtputf8 ||
	    c->ret != SMTPCMD_RET_NONE || c->envid_set || c->auth != NULL)
		abort();
	if (c->addr.local[0] == '\0' && c->addr.domain[0] == '\0')
		abort();
	if (c->addr.utf8 && (flags & SMTPCMD_F_TXN_SMTPUTF8) == 0)
		abort();
	if (c->notify != 0 && (flags & SMTPCMD_F_DSN) == 0)
		abort();
	if ((c->notify & ~0x0fU) != 0 ||
	    ((c->notify & SMTPCMD_NOTIFY_NEVER) &&
	    c->notify != SMTPCMD_NOTIFY_NEVER))
		abort();
	if (c->orcpt_set != (c->orcpt[0] != '\0') ||
	    c->orcpt_set != (c->orcpt_type[0] != '\0') ||
	    (c->orcpt_set && (flags & SMTPCMD_F_DSN) == 0))
		abort();
	if (strnlen(c->orcpt, sizeof(c->orcpt)) > SMTPCMD_ORCPT_MAX ||
	    strnlen(c->orcpt_type, sizeof(c->orcpt_type)) >
	    SMTPCMD_ORCPT_TYPE_MAX ||
	    !printable(c->orcpt, strlen(c->orcpt), true))
		abort();
}

static void
check_ok(const struct smtpcmd *c, const struct smtpcmd_err *e,
    unsigned flags, const struct span *l)
{
	size_t n = c->arg_len;

	if (e->code != 0 || e->text != NULL || c->verb >= SMTPCMD_UNKNOWN)
		abort();
	if (memchr(l->start, '\0', (size_t)(l->end - l->start)) != NULL ||
	    memchr(l->start, '\r', (size_t)(l->end - l->start)) != NULL ||
	    memchr(l->start, '\n', (size_t)(l->end - l->start)) != NULL)
		abort();
	inside(l, c->arg, n);
	if (n > 0 && (c->arg[0] == ' ' || c->arg[n - 1] == ' '))
		abort();
	switch (c->verb) {
	case SMTPCMD_HELO:
	case SMTPCMD_EHLO:
		if (n == 0 || n > SMTPCMD_HELO_MAX ||
		    !printable(c->arg, n, false))
			abort();
		break;
	case SMTPCMD_DATA:
	case SMTPCMD_RSET:
	case SMTPCMD_QUIT:
	case SMTPCMD_STARTTLS:
		if (n != 0)
			abort();
		break;
	case SMTPCMD_VRFY:
	case SMTPCMD_EXPN:
	case SMTPCMD_AUTH:
		if (n == 0)
			abort();
		break;
	case SMTPCMD_BDAT:
		if (c->chunk_size >= BDAT_LIMIT)
			abort();
		break;
	case SMTPCMD_MAIL:
		check_addr(c, flags);
		check_mail(c, flags, l);
		break;
	case SMTPCMD_RCPT:
		check_addr(c, flags);
		check_rcpt(c, flags);
		break;
	default:
		break;
	}
}

static void
check_err(const struct smtpcmd *c, const struct smtpcmd_err *e,
    const struct span *l)
{
	if (e->code != 500 && e->code != 501 && e->code != 553 &&
	    e->code != 555)
		abort();
	if (e->enh == NULL || strlen(e->enh) != 5 || e->enh[0] != '5' ||
	    e->text == NULL || e->text[0] == '\0' ||
	    strpbrk(e->text, "\r\n") != NULL)
		abort();
	if (e->param != NULL)
		inside(l, e->param, e->param_len);
	else if (e->param_len != 0)
		abort();
	if (c->verb > SMTPCMD_UNKNOWN)
		abort();
	if (c->verb == SMTPCMD_UNKNOWN && e->code != 500)
		abort();
	if (e->addr_err != ADDR_E_NONE && c->verb != SMTPCMD_MAIL &&
	    c->verb != SMTPCMD_RCPT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpcmd c;
	struct smtpcmd_err e;
	struct span l;
	unsigned flags;
	size_t n;
	char *line;
	int rc;

	if (size == 0)
		return 0;
	flags = data[0];
	n = size - 1;
	/* An exact copy: a read past n is a sanitizer report. */
	if ((line = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(line, data + 1, n);
	l.start = line;
	l.end = line + n;

	rc = smtpcmd_parse(line, n, flags, &c, &e);
	if (rc == 0)
		check_ok(&c, &e, flags, &l);
	else if (rc == -1)
		check_err(&c, &e, &l);
	else
		abort();
	if (smtpcmd_verb_str(c.verb) == NULL)
		abort();
	free(line);
	return 0;
}
