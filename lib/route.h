/*
 * SPDX-License-Identifier: ISC
 *
 * route.h -- where a recipient goes: transport and next hop.
 *
 * In this order: transport_maps (the whole address, then the domain,
 * then each parent domain as ".parent"); the domain in mydestination (or
 * no domain at all) -> local_transport; in virtual_mailbox_domains ->
 * virtual_transport; otherwise default_transport, to relayhost when one
 * is set, else to the domain.
 *
 * A transport_maps value is "transport:nexthop", "transport:" (the
 * transport with the usual next hop), ":nexthop" (the usual transport to
 * another next hop) or "transport" alone.  "error:text" and "discard:text"
 * are answered by the queue manager itself.
 */
#ifndef TERN_ROUTE_H
#define TERN_ROUTE_H

#include <stddef.h>

#define ROUTE_TRANSPORT_MAX	32	/* a services.conf service name */
#define ROUTE_NEXTHOP_MAX	512

struct conf;
struct route_ctx;

struct route {
	char	transport[ROUTE_TRANSPORT_MAX + 1];
	char	nexthop[ROUTE_NEXTHOP_MAX + 1];
};

/* route_open -- read the parameters and open transport_maps. */
int	route_open(const struct conf *, struct route_ctx **ctx_r, char *err,
	    size_t errsz);
void	route_close(struct route_ctx **);

/*
 * route_resolve -- the route of addr (the envelope recipient).  Returns 0,
 * or -1 when a table cannot answer now (defer; err says why) or its value
 * is unusable (err says why; also a deferral: an administrator fixes the
 * table and the mail goes).
 */
int	route_resolve(struct route_ctx *, const char *addr, struct route *r,
	    char *err, size_t errsz);

/* route_valid_transport -- a transport name: [a-z0-9_-]{1,32}. */
int	route_valid_transport(const char *name, size_t len);

#endif
