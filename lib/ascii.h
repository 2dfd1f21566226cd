/*
 * SPDX-License-Identifier: ISC
 *
 * ascii.h -- character classes and byte order for parsers of untrusted
 * input (base layer).  ASCII only, whatever the locale: <ctype.h> would
 * follow it, and a wire format must not.  Header only.
 */
#ifndef TERN_ASCII_H
#define TERN_ASCII_H

#include <stdbool.h>
#include <stdint.h>

static inline bool
ascii_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ascii_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
ascii_isalnum(int c)
{
	return ascii_isdigit(c) || ascii_isalpha(c);
}

static inline int
ascii_tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Big-endian integers, as every Tern wire and file format uses. */
static inline uint16_t
ascii_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
ascii_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t
ascii_get_be64(const uint8_t *p)
{
	return (uint64_t)ascii_get_be32(p) << 32 | ascii_get_be32(p + 4);
}

static inline void
ascii_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
