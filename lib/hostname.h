/*
 * SPDX-License-Identifier: ISC
 *
 * hostname.h -- the one syntax check of a host name (base layer: libc
 * only, knows nothing about mail).
 *
 * The rule, from RFC 952 as RFC 1123 2.1 amended it, within the limits
 * of RFC 1035 2.3.4, and RFC 6125 6.4 for the names a certificate is
 * checked against:
 *   - 1 to 253 bytes in all (the 255 octets of a name in wire form less
 *     its first length octet and the root), not counting one final "."
 *     where HOSTNAME_FINAL_DOT allows it;
 *   - labels joined by single dots: no empty label, so no leading dot,
 *     no "..", and no final dot without HOSTNAME_FINAL_DOT;
 *   - each label 1 to 63 letters (either case), digits and "-" (RFC
 *     1123: a label may begin with a digit), never beginning or ending
 *     with "-";
 *   - "_" only with HOSTNAME_UNDERSCORE: not in host names (RFC 952),
 *     but in owner names of service records (RFC 8552: "_25._tcp.mx"),
 *     the CNAMEs that lead to them, and the names of TLS policies and
 *     certificates, which the administrator or a remote peer writes and
 *     which are only ever compared, never looked up;
 *   - the last label is not all digits: RFC 1123 2.1 says the highest
 *     label is alphabetic, so "192.0.2.1" is an address, never a name;
 *   - every other byte, NUL and bytes >= 0x80 (an IDN goes in A-label
 *     form, "xn--..."), refuses the name.
 * No wildcard ("*") is ever a host name; callers that take "*." or a
 * ".domain" form strip it first.
 */
#ifndef TERN_HOSTNAME_H
#define TERN_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTNAME_MAX		253	/* bytes, without a final dot */
#define HOSTNAME_LABEL_MAX	63

#define HOSTNAME_UNDERSCORE	0x01	/* "_" may appear in a label */
#define HOSTNAME_FINAL_DOT	0x02	/* one final "." may end it */

/*
 * hostname_ok -- are the n bytes at s (no terminating NUL needed; a NUL
 * among them refuses) a host name by the rule above, with the latitude
 * flags gives?  Pure.
 */
bool	hostname_ok(const char *s, size_t n, unsigned flags);

#endif
