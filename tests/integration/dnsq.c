/*
 * SPDX-License-Identifier: ISC
 *
 * dnsq.c -- one lookup of lib/dns, printed, for the integration tests
 * (test_dns_dnssec.py drives it against NSD serving signed zones,
 * dns_zone.py).
 *
 * Usage:
 *   dnsq [-t MS] [-d auto|yes|no] [-s KEY,PROBE] CONFIG mx DOMAIN
 *   dnsq [options] CONFIG addr HOST [ipv4|ipv6|all]
 *   dnsq [options] CONFIG tlsa HOST PORT
 *
 * CONFIG is an unbound.conf(5) file for dns_open() ("" for the system
 * resolver); -t the limit of the lookup in milliseconds (dns_set_timeout);
 * -d dnssec_validation (default auto).  With -s, CONFIG stands in for
 * resolv.conf in the system setup (dns_open_system: forward_conf, no
 * hosts file), KEY for the root trust anchor file and PROBE for the
 * probe name ("."), so that the auto logic runs against test zones.
 * dns_open's log lines go to standard error.
 * Output, on standard output:
 *   result=ok|nodata|nullmx|nxdomain|tempfail secure=0|1 bogus=0|1
 *       n=N nskipped=N canon=NAME|-
 *   why TEXT            (when info.why is not empty)
 *   skipped TEXT        (when a record was skipped)
 *   mx PREF HOST        (dns_mx, in the order given)
 *   addr ADDRESS        (dns_addr)
 *   tlsa U S M HEX usable=0|1   (dns_tlsa)
 * Exit status: 0 when the lookup ran (whatever its result), 1 when
 * dns_open failed (the reason on standard error), 2 for bad usage.
 */
#include "config.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"

static const char *
result_word(enum dns_result r)
{
	switch (r) {
	case DNS_OK:
		return "ok";
	case DNS_NODATA:
		return "nodata";
	case DNS_NULLMX:
		return "nullmx";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}

static void
print_info(enum dns_result r, const struct dns_info *info, size_t n)
{
	printf("result=%s secure=%d bogus=%d n=%zu nskipped=%zu canon=%s\n",
	    result_word(r), info->secure ? 1 : 0, info->bogus ? 1 : 0, n,
	    info->nskipped, info->canon[0] != '\0' ? info->canon : "-");
	if (info->why[0] != '\0')
		printf("why %s\n", info->why);
	if (info->nskipped > 0)
		printf("skipped %s\n", info->skipped);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: dnsq [-t MS] [-d auto|yes|no] [-s KEY,PROBE] "
	    "CONFIG mx DOMAIN\n"
	    "       dnsq [options] CONFIG addr HOST [ipv4|ipv6|all]\n"
	    "       dnsq [options] CONFIG tlsa HOST PORT\n");
	exit(2);
}

static unsigned
number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max)
		usage();
	return (unsigned)v;
}

static void
do_mx(struct dns *d, const char *domain)
{
	static struct dns_mx_list l;
	enum dns_result r;
	size_t i;

	r = dns_mx(d, domain, &l);
	print_info(r, &l.info, l.n);
	for (i = 0; i < l.n; i++)
		printf("mx %u %s\n", l.mx[i].pref, l.mx[i].host);
}

static void
do_addr(struct dns *d, const char *host, int families)
{
	static struct dns_addr_list l;
	char text[INET6_ADDRSTRLEN];
	enum dns_result r;
	size_t i;

	r = dns_addr(d, host, families, &l);
	print_info(r, &l.info, l.n);
	for (i = 0; i < l.n; i++) {
		if (inet_ntop(l.addr[i].family, &l.addr[i].u, text,
		    sizeof(text)) == NULL)
			snprintf(text, sizeof(text), "?");
		printf("addr %s\n", text);
	}
}

static void
do_tlsa(struct dns *d, const char *host, unsigned port)
{
	static struct dns_tlsa_list l;
	enum dns_result r;
	size_t i, j;

	r = dns_tlsa(d, host, port, &l);
	print_info(r, &l.info, l.n);
	for (i = 0; i < l.n; i++) {
		printf("tlsa %u %u %u ", l.tlsa[i].usage, l.tlsa[i].selector,
		    l.tlsa[i].mtype);
		for (j = 0; j < l.tlsa[i].len; j++)
			printf("%02x", l.tlsa[i].data[j]);
		printf(" usable=%d\n", dns_tlsa_usable(&l.tlsa[i]) ? 1 : 0);
	}
}

int
main(int argc, char **argv)
{
	struct dns_system sys = { NULL, NULL, NULL, NULL, NULL };
	enum dns_dnssec dnssec = DNS_DNSSEC_AUTO;
	struct dns *d;
	char err[512], *sysarg = NULL, *comma;
	unsigned timeout = 0;
	int c, families = DNS_INET_ALL;

	while ((c = getopt(argc, argv, "d:s:t:")) != -1) {
		switch (c) {
		case 'd':
			if (dns_dnssec_parse(optarg, &dnssec) == -1)
				usage();
			break;
		case 's':
			sysarg = optarg;
			break;
		case 't':
			timeout = number(optarg, 600000);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	if (strcmp(argv[1], "mx") == 0 && argc == 3)
		;
	else if (strcmp(argv[1], "addr") == 0 && (argc == 3 || argc == 4)) {
		if (argc == 4 && strcmp(argv[3], "ipv4") == 0)
			families = DNS_INET4;
		else if (argc == 4 && strcmp(argv[3], "ipv6") == 0)
			families = DNS_INET6;
		else if (argc == 4 && strcmp(argv[3], "all") != 0)
			usage();
	} else if (strcmp(argv[1], "tlsa") == 0 && argc == 4)
		;
	else
		usage();
	log_init("dnsq", LOG_TO_STDERR);
	if (sysarg != NULL) {
		if ((comma = strchr(sysarg, ',')) == NULL)
			usage();
		*comma = '\0';
		sys.forward_conf = argv[0];
		sys.root_key = sysarg;
		sys.probe = comma + 1;
		d = dns_open_system(&sys, dnssec, err, sizeof(err));
	} else
		d = dns_open(argv[0], dnssec, err, sizeof(err));
	if (d == NULL) {
		fprintf(stderr, "dnsq: %s\n", err);
		return 1;
	}
	if (timeout > 0)
		dns_set_timeout(d, timeout);
	if (strcmp(argv[1], "mx") == 0)
		do_mx(d, argv[2]);
	else if (strcmp(argv[1], "addr") == 0)
		do_addr(d, argv[2], families);
	else
		do_tlsa(d, argv[2], number(argv[3], 65535));
	dns_close(&d);
	return fflush(stdout) == 0 ? 0 : 1;
}
