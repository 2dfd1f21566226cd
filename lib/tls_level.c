/*
 * SPDX-License-Identifier: ISC
 *
 * tls_level.c -- the parts of tls.h that only read tern.conf, kept apart
 * from tls.c so that smtpd, which never calls GnuTLS, does not link it
 * (mail layer).
 *
 * Process:  smtpd, master, ternctl.
 * Input:    the checked configuration.
 * Failure:  none.
 */
#include "config.h"

#include <stdbool.h>

#include "conf.h"
#include "tls.h"

bool
tls_server_configured(const struct conf *conf)
{
	return conf_str(conf, "smtpd_tls_cert_file")[0] != '\0' ||
	    conf_str(conf, "smtpd_tls_eccert_file")[0] != '\0';
}

const char *
tls_server_level(const struct conf *conf)
{
	const char *level;

	level = conf_str(conf, "smtpd_tls_security_level");
	if (level[0] != '\0')
		return level;
	return tls_server_configured(conf) ? "may" : "none";
}
