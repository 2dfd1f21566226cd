/*
 * SPDX-License-Identifier: ISC
 *
 * fuzz_smtp_dest.c -- libFuzzer harness for the SMTP client's next-hop
 * parser, smtp_dest_parse() (daemons/smtp/smtp_dest.c): the next hop
 * comes from the queue manager, which takes it from transport_maps,
 * relayhost or a recipient's domain.
 *
 * Input:    arbitrary bytes up to 1 KiB, used whole up to the first NUL.
 * Checks:   a next hop that parses gives a host of 1..253 bytes, NUL-
 *           terminated, that occurs in the input; a port of 1..65535
 *           (25 unless the input holds ":"); mx exactly when the input
 *           does not start with "["; literal only in brackets, and then
 *           the host is an IPv4 or IPv6 address; one that does not parse
 *           gives a reason.  Any violation abort()s.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtp.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)
#define INPUT_MAX	1024

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[INPUT_MAX + 1];
	struct smtp_dest d;
	struct in6_addr a6;
	struct in_addr a4;
	const char *err = NULL;
	size_t n;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(in, data, size);
	in[size] = '\0';
	memset(&d, 0x5a, sizeof(d));
	if (smtp_dest_parse(in, &d, &err) == -1) {
		CHECK(err != NULL && err[0] != '\0');
		return 0;
	}
	n = strnlen(d.host, sizeof(d.host));
	CHECK(n >= 1 && n <= 253);
	CHECK(strstr(in, d.host) != NULL);
	CHECK(d.port >= 1 && d.port <= 65535);
	CHECK(d.port == 25 || strchr(in, ':') != NULL);
	CHECK(d.mx == (in[0] != '['));
	if (d.literal) {
		CHECK(!d.mx);
		CHECK(inet_pton(AF_INET, d.host, &a4) == 1 ||
		    inet_pton(AF_INET6, d.host, &a6) == 1);
	}
	return 0;
}
