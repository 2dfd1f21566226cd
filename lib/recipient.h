/*
 * SPDX-License-Identifier: ISC
 *
 * recipient.h -- is an address one of ours?  The recipient tables that
 * smtpd consults at RCPT time, so that mail for a user who does not exist
 * is refused at once (550 5.1.1) instead of accepted and bounced later
 * (backscatter).  The keys are the ones the delivery agents use.
 */
#ifndef TERN_RECIPIENT_H
#define TERN_RECIPIENT_H

#include <stddef.h>

#include "qfile.h"

#define RECIPIENT_KEY_MAX	(QFILE_ADDR_MAX + 1)
#define RECIPIENT_ERR_MAX	256

struct conf;
struct recipient_tables;

enum recipient_known {
	RECIPIENT_KNOWN,
	RECIPIENT_UNKNOWN,
	RECIPIENT_TEMPFAIL	/* a table cannot answer now: 451 */
};

/*
 * recipient_keys -- the keys a virtual mailbox address is looked up
 * under, in order: the address; with recipient_delimiter set and the
 * local part holding one of its characters (not first), the address
 * without the extension ("user+ext@domain" -> "user@domain"); then the
 * catch-all "@domain".  Keys of RECIPIENT_KEY_MAX bytes or more are left
 * out.  Returns the number of keys (0..3).  Pure.
 */
size_t	recipient_keys(const char *addr, const char *delim,
	    char keys[3][RECIPIENT_KEY_MAX]);

/* recipient_tables_new -- tables are opened when first needed. */
struct recipient_tables *recipient_tables_new(const struct conf *);
void	recipient_tables_free(struct recipient_tables **);

/*
 * recipient_virtual -- addr (in a virtual_mailbox_domains domain) in
 * virtual_mailbox_maps?  With no table configured every address is
 * KNOWN (the table is not known, so nothing can be refused).
 */
enum recipient_known recipient_virtual(struct recipient_tables *,
	    const char *addr, char *err, size_t errsz);

/*
 * recipient_local -- a local part (unquoted, any case) of a
 * mydestination domain: postmaster, a system account (getpwnam, in lower
 * case), or a name in alias_maps; with recipient_delimiter, the name
 * without its extension too.  An alias table that cannot be opened is a
 * TEMPFAIL for names that are not accounts, unless neither the table
 * nor its source file exists (no aliases at all).
 */
enum recipient_known recipient_local(struct recipient_tables *,
	    const char *local, char *err, size_t errsz);

#endif
