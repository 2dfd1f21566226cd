/*
 * SPDX-License-Identifier: ISC
 *
 * tlsproxy_cache.c -- the client role's TLS sessions, kept per server so
 * that the next connection to it resumes (docs/ipc.md, "smtp client ->
 * tlsproxy"): at most TLSPROXY_CACHE_MAX entries, the oldest evicted,
 * each dropped once older than the caller's ttl.
 *
 * Process:  tlsproxy (mail_owner), in memory only: a restart forgets it.
 * Input:    session data from GnuTLS; keys built from checked requests.
 * Failure:  none: what does not fit is not kept, and a lookup that finds
 *           nothing means a full handshake.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "tlsproxy.h"
#include "xmem.h"

#define DATA_MAX	(64 * 1024)

struct entry {
	char		*key;
	uint8_t		*data;
	size_t		 len;
	time_t		 stored;
};

static struct entry cache[TLSPROXY_CACHE_MAX];
static size_t ncache;

/* The SHA-256 of ca_names in their order, as hex. */
static void
names_digest(const struct tlsproxy_req *req, char *hex, size_t sz)
{
	static const char digits[] = "0123456789abcdef";
	uint8_t md[32];
	size_t i;
	gnutls_hash_hd_t h;

	hex[0] = '\0';
	if (sz < 2 * sizeof(md) + 1 || gnutls_hash_init(&h,
	    GNUTLS_DIG_SHA256) < 0)
		return;
	for (i = 0; i < req->nca_names; i++)
		(void)gnutls_hash(h, req->ca_names[i],
		    strlen(req->ca_names[i]) + 1);
	gnutls_hash_deinit(h, md);
	for (i = 0; i < sizeof(md); i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * sizeof(md)] = '\0';
}

void
tlsproxy_cache_key(const struct tlsproxy_req *req, char *key, size_t sz)
{
	char hex[TLS_FP_LEN + 1];

	strlcpy(key, req->ident, sz);
	strlcat(key, ":", sz);
	strlcat(key, req->server_port, sz);
	if (req->verify == TLSPROXY_VERIFY_CA) {
		strlcat(key, " ca=", sz);
		strlcat(key, req->ca_file, sz);
		if (req->nca_names > 0) {
			names_digest(req, hex, sizeof(hex));
			strlcat(key, " names=", sz);
			strlcat(key, hex, sz);
		}
	} else if (req->verify == TLSPROXY_VERIFY_DANE) {
		tlsproxy_dane_digest(&req->dane, hex, sizeof(hex));
		strlcat(key, " dane=", sz);
		strlcat(key, hex, sz);
	}
}

static struct entry *
find(const char *key)
{
	size_t i;

	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key) == 0)
			return &cache[i];
	return NULL;
}

static void
drop(struct entry *e)
{
	explicit_bzero(e->data, e->len);
	free(e->data);
	free(e->key);
	*e = cache[--ncache];
	memset(&cache[ncache], 0, sizeof(cache[ncache]));
}

void
tlsproxy_cache_put(const char *key, const void *data, size_t len,
    time_t now)
{
	struct entry *e;
	size_t i;

	if (len == 0 || len > DATA_MAX)
		return;
	if ((e = find(key)) != NULL)
		drop(e);
	if (ncache == TLSPROXY_CACHE_MAX) {
		e = &cache[0];
		for (i = 1; i < ncache; i++)
			if (cache[i].stored < e->stored)
				e = &cache[i];
		drop(e);
	}
	e = &cache[ncache++];
	e->key = xstrdup(key);
	e->data = xmalloc(len);
	memcpy(e->data, data, len);
	e->len = len;
	e->stored = now;
}

int
tlsproxy_cache_get(const char *key, time_t now, time_t ttl,
    const void **data_r, size_t *len_r)
{
	struct entry *e;

	if ((e = find(key)) == NULL)
		return -1;
	if (now - e->stored >= ttl || now < e->stored) {
		drop(e);
		return -1;
	}
	*data_r = e->data;
	*len_r = e->len;
	return 0;
}

size_t
tlsproxy_cache_count(void)
{
	return ncache;
}

void
tlsproxy_cache_clear(void)
{
	while (ncache > 0)
		drop(&cache[0]);
}
