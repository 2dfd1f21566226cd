/*
 * SPDX-License-Identifier: ISC
 *
 * smtpd_check.c -- relay control and recipient checks at RCPT time.
 *
 * Process:  smtpd.
 * Policy:   not an open relay: mail for mydestination (local accounts),
 *           virtual_mailbox_domains and relay_domains is accepted from
 *           anyone; mail for anywhere else only from mynetworks.
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <string.h>

#include "conf.h"
#include "match.h"
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

/*
 * A local recipient is a system account or postmaster; the local part is
 * compared in lower case, as local delivery will.
 */
static bool
local_user_exists(const struct addr *a)
{
	char user[ADDR_LOCAL_MAX + 1];
	size_t i;

	if (addr_local_unquoted(a, user, sizeof(user)) >= sizeof(user))
		return false;
	for (i = 0; user[i] != '\0'; i++)
		user[i] = (char)tolower((unsigned char)user[i]);
	if (strcmp(user, "postmaster") == 0)
		return true;
	return getpwnam(user) != NULL;
}

int
smtpd_check_rcpt(struct smtpd_session *s, const struct addr *a,
    int *code_r, const char **enh_r, const char **why_r)
{
	/* "<postmaster>" with no domain is always ours (RFC 5321 4.5.1). */
	if (a->domain[0] == '\0')
		return 0;
	if (smtpd_domain_is_local(s, a->domain)) {
		if (local_user_exists(a))
			return 0;
		*code_r = 550;
		*enh_r = "5.1.1";
		*why_r = "Recipient address rejected: User unknown in local "
		    "recipient table";
		return -1;
	}
	if (in_list(s, "virtual_mailbox_domains", a->domain, false) ||
	    in_list(s, "relay_domains", a->domain, true) || s->trusted)
		return 0;
	*code_r = 554;
	*enh_r = "5.7.1";
	*why_r = "Relay access denied";
	return -1;
}
