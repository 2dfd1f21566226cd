/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_check.c -- relay control and recipient checks at RCPT time.
 *
 * Process:  smtpd.
 * Policy:   not an open relay: mail for mydestination (local accounts),
 *           virtual_mailbox_domains and relay_domains is accepted from
 *           anyone; mail for anywhere else only from mynetworks or
 *           from a client that authenticated (SMTP AUTH).
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "match.h"
#include "recipient.h"
#include "smtpd.h"

bool
smtpd_domain_is_local(const struct smtpd_session *s, const char *dom)
{
	const char *const *list;
	size_t n;

	list = conf_list(s->conf, "mydestination", &n);
	return match_domain(list, n, dom, false);
}

static bool
in_list(const struct smtpd_session *s, const char *param, const char *dom,
    bool subdomains)
{
	const char *const *list;
	size_t n;

	list = conf_list(s->conf, param, &n);
	return match_domain(list, n, dom, subdomains);
}

static struct recipient_tables *tables;	/* opened when first needed */

/* A table that cannot answer: 451, and the reason in the log. */
static int
tempfail(const char *err, int *code_r, const char **enh_r,
    const char **why_r)
{
	log_warnx("recipient lookup failed: %s", err);
	*code_r = 451;
	*enh_r = "4.3.0";
	*why_r = "Temporary lookup failure";
	return -1;
}

int
smtpd_check_rcpt(struct smtpd_session *s, const struct addr *a,
    int *code_r, const char **enh_r, const char **why_r)
{
	/* "<postmaster>" with no domain is always ours (RFC 5321 4.5.1). */
	if (a->domain[0] == '\0')
		return 0;
	char local[ADDR_LOCAL_MAX + 1], full[ADDR_PATH_MAX + 1];
	char err[RECIPIENT_ERR_MAX] = "";

	if (tables == NULL)
		tables = recipient_tables_new(s->conf);
	if (smtpd_domain_is_local(s, a->domain)) {
		/* In lower case, as local delivery will look it up. */
		if (addr_local_unquoted(a, local, sizeof(local)) >=
		    sizeof(local))
			goto unknown_local;
		switch (recipient_local(tables, local, err, sizeof(err))) {
		case RECIPIENT_KNOWN:
			return 0;
		case RECIPIENT_TEMPFAIL:
			return tempfail(err, code_r, enh_r, why_r);
		default:
			break;
		}
 unknown_local:
		*code_r = 550;
		*enh_r = "5.1.1";
		*why_r = "Recipient address rejected: User unknown in local "
		    "recipient table";
		return -1;
	}
	if (in_list(s, "virtual_mailbox_domains", a->domain, false)) {
		addr_format(a, full, sizeof(full));
		switch (recipient_virtual(tables, full, err, sizeof(err))) {
		case RECIPIENT_KNOWN:
			return 0;
		case RECIPIENT_TEMPFAIL:
			return tempfail(err, code_r, enh_r, why_r);
		default:
			*code_r = 550;
			*enh_r = "5.1.1";
			*why_r = "Recipient address rejected: User unknown in "
			    "virtual mailbox table";
			return -1;
		}
	}
	if (in_list(s, "relay_domains", a->domain, true) || s->trusted ||
	    s->sasl_user[0] != '\0')
		return 0;
	*code_r = 554;
	*enh_r = "5.7.1";
	*why_r = "Relay access denied";
	return -1;
}
