/*
 * SPDX-License-Identifier: ISC
 *
 * xmem.h -- allocation that cannot fail (base layer).
 *
 * On exhaustion these log "fatal: out of memory" and exit(1): the master
 * restarts the service.  Sizes are multiplied with overflow checks.
 */
#ifndef TERN_XMEM_H
#define TERN_XMEM_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* xasprintf -- a newly allocated formatted string. */
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
