/*
 * SPDX-License-Identifier: ISC
 *
 * master_listen.c -- open the listening sockets the services inherit.
 *
 * Process:  master (as root this is why it needs root: ports below 1024).
 * Failure:  returns -1 with a reason; start-up fails, a reload skips the
 *           service and says so.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "log.h"
#include "master.h"

int
master_unix_path(const struct master_config *mc, const char *rel, char *buf,
    size_t sz)
{
	int n;

	n = snprintf(buf, sz, "%s/%s", mc->queue_dir, rel);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

static int
listen_inet(const struct service_def *d, const char **err_r)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, on = 1, off = 0, e, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	/* The wildcard: one dual-stack IPv6 socket, else IPv4. */
	if (d->host[0] == '\0')
		hints.ai_family = AF_INET6;
	if ((e = getaddrinfo(d->host[0] ? d->host : NULL, d->port, &hints,
	    &res)) != 0 && d->host[0] == '\0') {
		hints.ai_family = AF_INET;
		e = getaddrinfo(NULL, d->port, &hints, &res);
	}
	if (e != 0) {
		*err_r = gai_strerror(e);
		errno = 0;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
			    d->host[0] == '\0' ? &off : &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = saved;
		*err_r = "cannot bind";
	}
	return fd;
}

static int
listen_unix(const struct master_config *mc, const struct service_def *d,
    const char **err_r)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (master_unix_path(mc, d->listen, sun.sun_path,
	    sizeof(sun.sun_path)) == -1) {
		*err_r = "socket path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlink(sun.sun_path) == -1 && errno != ENOENT) {
		*err_r = "cannot remove the old socket";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*err_r = "socket";
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		*err_r = "cannot bind";
		goto fail;
	}
	/* The directory (private/ 0700, public/ 0710) decides who gets in. */
	if (chmod(sun.sun_path, 0666) == -1) {
		*err_r = "chmod";
		goto fail;
	}
	if (mc->mail_uid != (uid_t)-1 &&
	    chown(sun.sun_path, mc->mail_uid, mc->mail_gid) == -1) {
		*err_r = "chown";
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
master_listen(const struct master_config *mc, const struct service_def *d,
    const char **err_r)
{
	if (d->type == SERVICES_INET)
		return listen_inet(d, err_r);
	return listen_unix(mc, d, err_r);
}
