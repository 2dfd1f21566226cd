/*
 * SPDX-License-Identifier: ISC
 *
 * qid.h -- queue IDs (mail layer).
 *
 * A queue ID names one message: its queue file, and every log line about
 * it.  It is QID_LEN characters of Crockford's base 32 alphabet
 *
 *	0123456789ABCDEFGHJKMNPQRSTVWXYZ
 *
 * (digits, then upper-case letters without I, L, O and U).  The alphabet
 * is in ASCII order, so plain byte order (strcmp, ls, sort) of two IDs is
 * the numeric order of their fields.  There is no lower case, so no two
 * IDs can collide on a case-insensitive file system, and no letter can be
 * misread as a digit when an operator copies an ID from a log.
 *
 * Fields, most significant first, each a fixed number of base 32 digits:
 *
 *	8  seconds since the epoch (40 bits: good until the year 36812)
 *	4  microseconds, 0..999999 (20 bits)
 *	2  sequence within that microsecond in this process (10 bits)
 *	6  process ID (30 bits: above every pid_max in use)
 *	4  random (20 bits), a guard against a clock set back across a
 *	   restart, or two PID namespaces sharing one queue
 *
 * So IDs sort by creation time to the microsecond, and the IDs of one
 * process are strictly increasing even within one microsecond, or if the
 * clock steps back (the process then keeps using its last time).
 */
#ifndef TERN_QID_H
#define TERN_QID_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define QID_LEN		24

/*
 * qid_new -- write a new NUL-terminated ID into buf.  Returns 0, or -1
 * with errno set when the clock cannot be read or is outside 1970..36812.
 * Not thread-safe (Tern's processes have one thread).  Never logs.
 */
int	qid_new(char buf[QID_LEN + 1]);

/*
 * qid_valid -- are the len bytes at s a well-formed queue ID?  Pure.
 * Safe as a file name when true.
 */
bool	qid_valid(const char *s, size_t len);

/*
 * qid_time -- the creation time of the NUL-terminated ID id (tv_nsec a
 * whole number of microseconds).  Returns 0, or -1 with errno EINVAL when
 * id is not a valid ID.
 */
int	qid_time(const char *id, struct timespec *out);

#endif
