/*
 * SPDX-License-Identifier: ISC
 *
 * qid.c -- queue IDs: time-ordered, unique, file-name-safe.
 *
 * Process:  cleanup, pickup (create); qmgr, ternctl (check, decode).
 * Input:    qid_valid and qid_time take IDs from file names and from the
 *           command line: untrusted, checked byte by byte.
 * Failure:  -1 with errno; never logs, never exits.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qid.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#define SEC_DIGITS	8
#define USEC_DIGITS	4
#define SEQ_DIGITS	2
#define PID_DIGITS	6
#define RND_DIGITS	4

#define SEC_MAX		((INT64_C(1) << (5 * SEC_DIGITS)) - 1)
#define SEQ_MAX		((1U << (5 * SEQ_DIGITS)) - 1)
#define PID_MASK	((UINT64_C(1) << (5 * PID_DIGITS)) - 1)
#define RND_MASK	((UINT32_C(1) << (5 * RND_DIGITS)) - 1)
#define USEC_PER_SEC	1000000

_Static_assert(sizeof(alphabet) == 32 + 1, "base 32");
_Static_assert(SEC_DIGITS + USEC_DIGITS + SEQ_DIGITS + PID_DIGITS +
    RND_DIGITS == QID_LEN, "field widths add up to QID_LEN");

/* The last ID this process made: the next one must sort after it. */
static struct {
	int64_t		sec;
	uint32_t	usec;
	uint32_t	seq;
} last = { -1, 0, 0 };

/* Write v as exactly n base 32 digits, most significant first. */
static void
encode(char *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = alphabet[v & 31];
		v >>= 5;
	}
}

/* The value of one digit, or -1. */
static int
digit(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	if ((p = memchr(alphabet, c, 32)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

/* Decode n digits known to be valid. */
static uint64_t
decode(const char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 5 | (uint64_t)digit(p[i]);
	return v;
}

/*
 * Choose (sec, usec, seq) strictly after the last ID: a later microsecond
 * starts a new sequence; the same one, or an earlier one (the clock was
 * set back), continues the last, carrying into the next microsecond when
 * the sequence runs out.
 */
static void
next_stamp(int64_t sec, uint32_t usec)
{
	if (sec > last.sec || (sec == last.sec && usec > last.usec)) {
		last.sec = sec;
		last.usec = usec;
		last.seq = 0;
		return;
	}
	if (last.seq < SEQ_MAX) {
		last.seq++;
		return;
	}
	last.seq = 0;
	if (++last.usec == USEC_PER_SEC) {
		last.usec = 0;
		last.sec++;
	}
}

int
qid_new(char buf[QID_LEN + 1])
{
	struct timespec ts;
	uint64_t pid;
	char *p = buf;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return -1;
	if (ts.tv_sec < 0 || ts.tv_sec >= SEC_MAX) {
		errno = ERANGE;
		return -1;
	}
	next_stamp(ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000));
	pid = (uint64_t)getpid() & PID_MASK;

	encode(p, (uint64_t)last.sec, SEC_DIGITS);
	p += SEC_DIGITS;
	encode(p, last.usec, USEC_DIGITS);
	p += USEC_DIGITS;
	encode(p, last.seq, SEQ_DIGITS);
	p += SEQ_DIGITS;
	encode(p, pid, PID_DIGITS);
	p += PID_DIGITS;
	encode(p, arc4random() & RND_MASK, RND_DIGITS);
	p += RND_DIGITS;
	*p = '\0';
	return 0;
}

bool
qid_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len != QID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (digit(s[i]) == -1)
			return false;
	if (decode(s + SEC_DIGITS, USEC_DIGITS) >= USEC_PER_SEC)
		return false;
	return true;
}

int
qid_time(const char *id, struct timespec *out)
{
	if (id == NULL || !qid_valid(id, strnlen(id, QID_LEN + 1))) {
		errno = EINVAL;
		return -1;
	}
	out->tv_sec = (time_t)decode(id, SEC_DIGITS);
	out->tv_nsec = (long)decode(id + SEC_DIGITS, USEC_DIGITS) * 1000;
	return 0;
}
