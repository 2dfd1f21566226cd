/*
 * SPDX-License-Identifier: ISC
 *
 * main.c -- tlsproxy: TLS for smtpd, with keys no SMTP parser can reach.
 */
#include "config.h"

#include "service.h"
#include "tlsproxy.h"

int
main(int argc, char *argv[])
{
	static const struct service tlsproxy = {
		.name = "tlsproxy",
		.mode = SERVICE_MULTI,
		.max_clients = TLSPROXY_MAX_SESSIONS,
		.pre_jail = tlsproxy_pre_jail,
		.client = tlsproxy_client,
	};

	service_main(argc, argv, &tlsproxy);
}
