/*
 * SPDX-License-Identifier: ISC
 *
 * smtp_self.c -- which addresses are this host's own SMTP server: an MX
 * host that resolves to one of them is this host (RFC 5321 5.1), even
 * under a name other than myhostname.
 *
 * Process:  smtp (SMTP mode), at start-up and for each MX address.
 * Input:    services.conf (written by the administrator, parsed by
 *           lib/services) and proxy_interfaces (checked by the
 *           configuration's own check); addresses from DNS answers,
 *           already parsed into socket addresses.
 * Failure:  a services.conf that cannot be read leaves only
 *           proxy_interfaces (and myhostname) to recognise this host;
 *           it is logged once.
 *
 * The listeners are the inet services whose command is smtpd.  One
 * bound to a given address matches that address and port; one bound to
 * every address ("25", "*:25") matches the port on any address of this
 * host, where "an address of this host" is one a socket can be bound to
 * (so all of 127.0.0.0/8 counts, as the kernel routes it here).  An
 * address in proxy_interfaces reaches this host through a proxy or NAT,
 * on whatever port: it matches by address alone, as in Postfix.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "services.h"
#include "smtp.h"

static void
diag(void *arg, const char *file, unsigned line, const char *service,
    const char *msg)
{
	(void)arg;
	log_warnx("%s:%u: %s%s%s", file, line, service != NULL ? service : "",
	    service != NULL ? ": " : "", msg);
}

static void
add(struct smtp_self *s, const struct sockaddr *sa, bool any_port)
{
	struct smtp_self_addr *e;

	if (s->n == SMTP_SELF_MAX)
		return;
	e = &s->addrs[s->n];
	memset(e, 0, sizeof(*e));
	e->family = sa->sa_family;
	e->any_port = any_port;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memcpy(e->addr, &in->sin_addr, 4);
		e->port = ntohs(in->sin_port);
		e->any_addr = in->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		memcpy(e->addr, &in6->sin6_addr, 16);
		e->port = ntohs(in6->sin6_port);
		e->any_addr = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
	} else
		return;
	s->n++;
}

/* The addresses one smtpd listen column stands for. */
static void
add_listener(struct smtp_self *s, const struct service_def *d)
{
	struct addrinfo hints, *res, *ai;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((e = getaddrinfo(d->host[0] != '\0' ? d->host : NULL, d->port,
	    &hints, &res)) != 0) {
		log_warnx("service %s: listen address %s: %s; mail to it is "
		    "not recognised as mail to this host", d->name, d->listen,
		    gai_strerror(e));
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		add(s, ai->ai_addr, false);
	freeaddrinfo(res);
}

void
smtp_self_load(struct smtp_self *s, const char *services_path,
    const char *const *proxy, size_t nproxy)
{
	struct services sv;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nproxy; i++) {
		memset(&sin, 0, sizeof(sin));
		memset(&sin6, 0, sizeof(sin6));
		if (inet_pton(AF_INET, proxy[i], &sin.sin_addr) == 1) {
			sin.sin_family = AF_INET;
			add(s, (struct sockaddr *)&sin, true);
		} else if (inet_pton(AF_INET6, proxy[i], &sin6.sin6_addr) == 1) {
			sin6.sin6_family = AF_INET6;
			add(s, (struct sockaddr *)&sin6, true);
		}
	}
	if (services_load(services_path, &sv, diag, NULL) != 0) {
		log_warnx("%s: cannot be used; an MX host is recognised as "
		    "this host only by name (myhostname) and proxy_interfaces",
		    services_path);
		services_free(&sv);
		return;
	}
	for (i = 0; i < sv.n; i++)
		if (sv.defs[i].type == SERVICES_INET &&
		    strcmp(sv.defs[i].command, "smtpd") == 0)
			add_listener(s, &sv.defs[i]);
	services_free(&sv);
}

/* Whether a socket can be bound to addr: whether it is this host's. */
static bool
local_addr(int family, const uint8_t *addr)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct sockaddr *sa;
	socklen_t len;
	bool ok;
	int fd;

	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, addr, 4);
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr, 16);
		sa = (struct sockaddr *)&sin6;
		len = sizeof(sin6);
	}
	if ((fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	ok = bind(fd, sa, len) == 0;
	close(fd);
	return ok;
}

bool
smtp_self_is(const struct smtp_self *s, const struct sockaddr *sa)
{
	const struct smtp_self_addr *e;
	const uint8_t *addr;
	unsigned port;
	size_t i, alen;
	int family = sa->sa_family;

	if (family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		addr = (const uint8_t *)&in->sin_addr;
		port = ntohs(in->sin_port);
		alen = 4;
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		addr = (const uint8_t *)&in6->sin6_addr;
		port = ntohs(in6->sin6_port);
		alen = 16;
	} else
		return false;
	for (i = 0; i < s->n; i++) {
		e = &s->addrs[i];
		if (!e->any_port && e->port != port)
			continue;
		if (e->family != family)
			continue;
		if (e->any_addr ? local_addr(family, addr) :
		    memcmp(e->addr, addr, alen) == 0)
			return true;
	}
	return false;
}
