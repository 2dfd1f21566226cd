/*
 * SPDX-License-Identifier: ISC
 *
 * log.h -- logging for every Tern program (base layer).
 *
 * One event per line, "tern/<procname>[<pid>]: <text>", to syslog (mail
 * facility), to a file (maillog_file) or to standard error.  Untrusted text
 * reaches a log line only through log_safe().
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define LOG_TO_SYSLOG	0x01	/* syslog(3), facility mail */
#define LOG_TO_STDERR	0x02	/* standard error */
#define LOG_TO_FILE	0x04	/* the file given to log_file() */

#define LOG_SAFE_MAX	512	/* a sensible size for log_safe() buffers */

/*
 * log_init -- name this process and choose destinations (LOG_TO_* flags).
 * May be called again, e.g. when a daemon loses its terminal.  Never fails.
 */
void	log_init(const char *procname, int flags);

/*
 * log_file -- append log lines to path as well (flag LOG_TO_FILE).  The file
 * is opened once, O_APPEND, so it stays writable after a privilege drop.
 * Returns 0, or -1 with errno set (nothing changes then).
 */
int	log_file(const char *path);

/* log_fd -- the descriptor log_file() opened, or -1: callers keep it open. */
int	log_fd(void);

/* log_verbose -- enable log_debug() output when on. */
void	log_verbose(bool on);

/* log_procname -- the name given to log_init(). */
const char *log_procname(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_error -- an error that does not stop the program ("error: ..."). */
void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fatal, fatalx -- log "fatal: ..." (+strerror(errno) for fatal), exit(1). */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* bug -- a broken invariant: log "panic: ..." and abort(). */
_Noreturn void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * log_safe -- make n bytes of untrusted text printable (strnvis(3) style:
 * control and 8-bit bytes escaped) into buf of size sz, always
 * NUL-terminated; an ellipsis "..." marks truncation.  Returns buf.
 */
const char *log_safe(char *buf, size_t sz, const char *s, size_t n);

#endif
