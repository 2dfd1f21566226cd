/*
 * SPDX-License-Identifier: ISC
 *
 * log.c -- logging for every Tern program.
 *
 * Process:  all.
 * Failure:  a log line that cannot be written is dropped; logging never
 *           fails its caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
/* The NetBSD strnvis() argument order; we use only strnvisx(). */
#define LIBBSD_NETBSD_VIS 1
#include <vis.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static char	procname[64] = "tern";
static int	dest = LOG_TO_STDERR;
static int	filefd = -1;
static bool	verbose;

void
log_init(const char *name, int flags)
{
	snprintf(procname, sizeof(procname), "%s", name);
	dest = flags;
	if (dest & LOG_TO_SYSLOG) {
		char ident[80];
		static char saved[80];

		snprintf(ident, sizeof(ident), "tern/%s", procname);
		/* openlog keeps the pointer: it must outlive this call. */
		memcpy(saved, ident, sizeof(saved));
		openlog(saved, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

int
log_file(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	if (filefd != -1)
		close(filefd);
	filefd = fd;
	dest |= LOG_TO_FILE;
	return 0;
}

int
log_fd(void)
{
	return filefd;
}

void
log_verbose(bool on)
{
	verbose = on;
}

const char *
log_procname(void)
{
	return procname;
}

/* Write the n bytes snprintf() wanted; a line cut short still ends in \n. */
static void
put(int fd, char *line, size_t sz, int n)
{
	if (n <= 0)
		return;
	if ((size_t)n >= sz) {
		n = (int)sz - 1;
		line[n - 1] = '\n';
	}
	(void)write(fd, line, (size_t)n);
}

static void	emit(int, const char *, const char *, va_list, int)
		    __attribute__((format(printf, 3, 0)));

/* One write(2) per line, so that lines of several processes never mix. */
static void
emit(int pri, const char *level, const char *fmt, va_list ap, int err)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s",
		    strerror(err));

	if (dest & LOG_TO_SYSLOG)
		syslog(pri, "%s%s", level, msg);
	if (dest & LOG_TO_STDERR) {
		n = snprintf(line, sizeof(line), "tern/%s[%ld]: %s%s\n",
		    procname, (long)getpid(), level, msg);
		put(STDERR_FILENO, line, sizeof(line), n);
	}
	if ((dest & LOG_TO_FILE) && filefd != -1) {
		char stamp[32], host[64];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		n = snprintf(line, sizeof(line), "%s.%06ld %s tern/%s[%ld]: %s%s\n",
		    stamp, (long)(ts.tv_nsec / 1000), host, procname,
		    (long)getpid(), level, msg);
		put(filefd, line, sizeof(line), n);
	}
}

#define LOG_BODY(pri, level, err) do {		\
	int saved_errno = errno;		\
	va_list ap;				\
	va_start(ap, fmt);			\
	emit(pri, level, fmt, ap, err);		\
	va_end(ap);				\
	errno = saved_errno;			\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ", errno);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, "warning: ", 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, "error: ", 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, "", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!verbose)
		return;
	LOG_BODY(LOG_DEBUG, "debug: ", 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ", errno);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "fatal: ", 0);
	exit(1);
}

void
bug(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, "panic: ", 0);
	abort();
}

const char *
log_safe(char *buf, size_t sz, const char *s, size_t n)
{
	size_t room;
	char one[2];

	if (sz == 0)
		return buf;
	buf[0] = '\0';
	if (sz < 8)
		return buf;
	/* Given n == 1, strnvisx() reads s[1] too, as its look-ahead byte. */
	if (n == 1) {
		one[0] = s[0];
		one[1] = '\0';
		s = one;
	}
	/* strnvisx() needs up to 4 bytes per input byte, plus the NUL. */
	room = (sz - 4) / 4;
	if (n <= room) {
		strnvisx(buf, sz, s, n, VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL);
		return buf;
	}
	strnvisx(buf, sz - 3, s, room, VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL);
	strlcat(buf, "...", sz);
	return buf;
}
