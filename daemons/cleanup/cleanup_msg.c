/*
 * SPDX-License-Identifier: ISC
 *
 * cleanup_msg.c -- what cleanup does to and checks in message content:
 * the Received: header it adds, and the header section's limits.
 *
 * Process:  cleanup.
 * Input:    untrusted content, streamed in arbitrary pieces.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"

void
cleanup_headers_init(struct cleanup_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

/* A line starts: if it is "Received:", count it. */
static void
line_name_done(struct cleanup_headers *h)
{
	if (h->namelen >= 9 && strncasecmp(h->name, "Received:", 9) == 0)
		h->received++;
}

int
cleanup_headers_feed(struct cleanup_headers *h, const uint8_t *p, size_t n,
    uint64_t size_limit, unsigned hop_limit, int *code_r,
    const char **enh_r, const char **text_r)
{
	size_t i;

	for (i = 0; i < n && !h->done; i++) {
		h->bytes++;
		if (h->line_start) {
			/* "\r\n" alone on a line ends the header section. */
			if (p[i] == '\r' || p[i] == '\n') {
				if (p[i] == '\n')
					h->done = true;
				continue;
			}
			h->line_start = false;
			h->namelen = 0;
		}
		if (p[i] == '\n') {
			line_name_done(h);
			h->line_start = true;
			continue;
		}
		if (h->namelen < sizeof(h->name))
			h->name[h->namelen++] = (char)p[i];
	}
	if (h->bytes > size_limit) {
		*code_r = 552;
		*enh_r = "5.3.4";
		*text_r = "Error: message header section too large";
		return -1;
	}
	/* With the Received: cleanup adds, at most hop_limit in all. */
	if (h->received >= hop_limit) {
		*code_r = 554;
		*enh_r = "5.4.6";
		*text_r = "Error: too many hops (Received: headers)";
		return -1;
	}
	return 0;
}

size_t
cleanup_received(char *buf, size_t sz, const struct qfile_client *c,
    const char *myhostname, const char *qid, const char *rcpt, int64_t when)
{
	char date[64], forpart[600];
	time_t t = (time_t)when;
	struct tm tm;
	int n;

	localtime_r(&t, &tm);
	/* RFC 5322 3.3 date-time, in English whatever the locale. */
	{
		static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
		    "Thu", "Fri", "Sat" };
		static const char *const months[] = { "Jan", "Feb", "Mar",
		    "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
		    "Dec" };
		long off = tm.tm_gmtoff / 60;

		snprintf(date, sizeof(date), "%s, %d %s %d %02d:%02d:%02d "
		    "%c%02ld%02ld", days[tm.tm_wday], tm.tm_mday,
		    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
		    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	}
	forpart[0] = '\0';
	if (rcpt != NULL)
		snprintf(forpart, sizeof(forpart), "\r\n\tfor <%s>", rcpt);
	n = snprintf(buf, sz, "Received: from %s (%s [%s])\r\n"
	    "\tby %s (Tern) with %s id %s%s;\r\n\t%s\r\n",
	    c->helo[0] ? c->helo : "unknown",
	    c->name[0] ? c->name : "unknown", c->addr, myhostname, c->proto,
	    qid, forpart, date);
	if (n < 0 || (size_t)n >= sz)
		return 0;
	return (size_t)n;
}
