/*
 * SPDX-License-Identifier: ISC
 *
 * smtpcmd.c -- SMTP command lines: verb, arguments, ESMTP parameters.
 *
 * Process:  smtpd (user tern, one client, no keys); the fuzzer feeds it
 *           arbitrary bytes.
 * Input:    one untrusted command line without its CRLF, already capped
 *           in length by smtpd's line reader.
 * Failure:  -1 and the exact SMTP reply to send; nothing here logs,
 *           allocates or exits.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "addr.h"
#include "smtpcmd.h"

#define FROM_PREFIX	"FROM:"
#define TO_PREFIX	"TO:"
#define LAST_MARKER	"LAST"
#define UTF8_TYPE	"utf-8"		/* RFC 6533 ORCPT addr-type */

struct reply {
	int		 code;
	const char	*enh;
	const char	*text;
};

/* Every reply this file can ask for; smtpcmd.h has them as a table. */
static const struct reply
    R_UNKNOWN =		{ 500, "5.5.2", "Command not recognized" },
    R_BADCHAR =		{ 500, "5.5.2", "Syntax error (invalid character)" },
    R_NOPARAMS =	{ 501, "5.5.4",
			    "Syntax error (no parameters allowed)" },
    R_HELO =		{ 501, "5.5.4", "Syntax: HELO hostname" },
    R_EHLO =		{ 501, "5.5.4", "Syntax: EHLO hostname" },
    R_HOSTLONG =	{ 501, "5.5.4", "Hostname too long" },
    R_HOSTCHAR =	{ 501, "5.5.4",
			    "Syntax error (invalid character in hostname)" },
    R_ARGREQ =		{ 501, "5.5.4", "Syntax error (argument required)" },
    R_MAIL =		{ 501, "5.5.4", "Syntax: MAIL FROM:<address>" },
    R_RCPT =		{ 501, "5.5.4", "Syntax: RCPT TO:<address>" },
    R_BDAT =		{ 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]" },
    R_S_SYNTAX =	{ 501, "5.1.7", "Bad sender address syntax" },
    R_R_SYNTAX =	{ 501, "5.1.3", "Bad recipient address syntax" },
    R_S_BADUTF8 =	{ 501, "5.1.7", "Malformed UTF-8 in address" },
    R_R_BADUTF8 =	{ 501, "5.1.3", "Malformed UTF-8 in address" },
    R_S_LOCAL =		{ 553, "5.1.7", "Local part too long" },
    R_R_LOCAL =		{ 553, "5.1.3", "Local part too long" },
    R_S_DOMAIN =	{ 553, "5.1.7", "Domain too long" },
    R_R_DOMAIN =	{ 553, "5.1.3", "Domain too long" },
    R_PATHLONG =	{ 501, "5.5.4", "Path too long" },
    R_NULLRCPT =	{ 501, "5.1.3", "Null recipient not allowed" },
    R_NEEDUTF8 =	{ 553, "5.6.7", "Non-ASCII address requires SMTPUTF8" },
    R_PARAMS =		{ 501, "5.5.4", "Syntax error in parameters" },
    R_TOOMANY =		{ 501, "5.5.4", "Too many parameters" },
    R_DUP =		{ 501, "5.5.4", "Duplicate parameter" },
    R_UNSUPPORTED =	{ 555, "5.5.4", "Unsupported option" },
    R_SIZE =		{ 501, "5.5.4", "Bad SIZE value" },
    R_BODY =		{ 501, "5.5.4", "Bad BODY value" },
    R_SMTPUTF8 =	{ 501, "5.5.4", "Bad SMTPUTF8 value" },
    R_RET =		{ 501, "5.5.4", "Bad RET value" },
    R_ENVID =		{ 501, "5.5.4", "Bad ENVID value" },
    R_AUTH =		{ 501, "5.5.4", "Bad AUTH value" },
    R_NOTIFY =		{ 501, "5.5.4", "Bad NOTIFY value" },
    R_ORCPT =		{ 501, "5.5.4", "Bad ORCPT value" };

/* One command line while it is being parsed. */
struct cmd {
	unsigned	 flags;
	struct smtpcmd	*out;
	struct smtpcmd_err *err;
	bool		 sender;	/* MAIL rather than RCPT */
	unsigned	 seen;		/* parameter bits already given */
	const char	*tok;		/* the parameter being parsed */
	size_t		 toklen;
	const char	*utf8_tok;	/* first parameter with UTF-8 */
	size_t		 utf8_toklen;
};

struct verb {
	const char	*name;
	enum smtpcmd_verb verb;
	int		(*parse)(struct cmd *);
};

struct param {
	const char	*name;
	enum smtpcmd_verb verb;		/* MAIL or RCPT */
	unsigned	 ext;		/* any of these must be advertised */
	unsigned	 bit;
	int		(*parse)(struct cmd *, const char *, size_t);
};

static int
fail(struct cmd *c, const struct reply *r)
{
	c->err->code = r->code;
	c->err->enh = r->enh;
	c->err->text = r->text;
	return -1;
}

/* A parameter error: the reply names the parameter for the log. */
static int
pfail(struct cmd *c, const struct reply *r)
{
	c->err->param = c->tok;
	c->err->param_len = c->toklen;
	return fail(c, r);
}

/* s[0..n) is word, in any case. */
static bool
word_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* [p, e) starts with prefix, in any case. */
static bool
has_prefix(const char *p, const char *e, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(e - p) >= n && strncasecmp(p, prefix, n) == 0;
}

/*
 * Step over spaces where RFC 5321 allows none (after "FROM:", or after
 * the one SP that separates parameters): any at all is extra.
 */
static const char *
skip_spaces(struct cmd *c, const char *p, const char *e)
{
	const char *start = p;

	while (p < e && *p == ' ')
		p++;
	if (p != start)
		c->out->extra_space = true;
	return p;
}

/* ---- ESMTP parameters ------------------------------------------------- */

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool
keyword_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !ascii_isalnum((unsigned char)s[0]))
		return false;
	for (i = 1; i < n; i++) {
		if (!ascii_isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 adds UTF8-non-ascii. */
static int
value_check(struct cmd *c, const char *v, size_t n)
{
	unsigned char ch;
	size_t i = 0, k;

	if (n == 0)
		return pfail(c, &R_PARAMS);
	while (i < n) {
		ch = (unsigned char)v[i];
		if (ch >= 33 && ch <= 126 && ch != '=') {
			i++;
			continue;
		}
		if (ch < 0x80 || (c->flags & SMTPCMD_F_SMTPUTF8) == 0 ||
		    (k = addr_utf8_char(v + i, n - i)) == 0)
			return pfail(c, &R_PARAMS);
		if (c->utf8_tok == NULL) {
			c->utf8_tok = c->tok;
			c->utf8_toklen = c->toklen;
		}
		i += k;
	}
	return 0;
}

static int
hex_digit(int c)
{
	if (ascii_isdigit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;				/* lower case is not xtext */
}

/*
 * RFC 3461 4 xtext into dst (max bytes and a NUL): printable ASCII after
 * decoding, plus raw UTF-8 when utf8_ok.  False when bad, empty or long.
 */
static bool
xtext_decode(const char *s, size_t n, char *dst, size_t max, bool utf8_ok)
{
	size_t i = 0, o = 0, k;
	unsigned char ch;
	int hi, lo;

	while (i < n) {
		ch = (unsigned char)s[i];
		k = 1;
		if (ch == '+') {
			if (n - i < 3 || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0)
				return false;
			ch = (unsigned char)(hi * 16 + lo);
			if (ch < 32 || ch > 126)
				return false;
			i += 3;
		} else if (ch >= 33 && ch <= 126 && ch != '=')
			i++;
		else if (ch >= 0x80 && utf8_ok &&
		    (k = addr_utf8_char(s + i, n - i)) > 0)
			i += k;
		else
			return false;
		if (k > max - o)
			return false;
		if (k == 1)
			dst[o] = (char)ch;
		else
			memcpy(dst + o, s + i - k, k);
		o += k;
	}
	dst[o] = '\0';
	return o > 0;
}

/* RFC 1870: size-value = 1*20DIGIT, and it must fit in 64 bits. */
static int
p_size(struct cmd *c, const char *v, size_t n)
{
	uint64_t size = 0;
	size_t i;

	if (v == NULL || n > SMTPCMD_SIZE_DIGITS)
		return pfail(c, &R_SIZE);
	for (i = 0; i < n; i++) {
		if (!ascii_isdigit((unsigned char)v[i]) ||
		    __builtin_mul_overflow(size, 10, &size) ||
		    __builtin_add_overflow(size, (uint64_t)(v[i] - '0'), &size))
			return pfail(c, &R_SIZE);
	}
	c->out->size_set = true;
	c->out->size = size;
	return 0;
}

/* RFC 6152 7BIT / 8BITMIME; RFC 3030 BINARYMIME only with CHUNKING. */
static int
p_body(struct cmd *c, const char *v, size_t n)
{
	if (v == NULL)
		return pfail(c, &R_BODY);
	if (word_is(v, n, "BINARYMIME")) {
		if ((c->flags & SMTPCMD_F_CHUNKING) == 0)
			return pfail(c, &R_UNSUPPORTED);
		c->out->body = SMTPCMD_BODY_BINARYMIME;
		return 0;
	}
	if (word_is(v, n, "7BIT"))
		c->out->body = SMTPCMD_BODY_7BIT;
	else if (word_is(v, n, "8BITMIME"))
		c->out->body = SMTPCMD_BODY_8BITMIME;
	else
		return pfail(c, &R_BODY);
	if ((c->flags & SMTPCMD_F_8BITMIME) == 0)
		return pfail(c, &R_UNSUPPORTED);
	return 0;
}

static int
p_smtputf8(struct cmd *c, const char *v, size_t n)
{
	if (v != NULL)
		return pfail(c, &R_SMTPUTF8);
	c->out->smtputf8 = true;
	return 0;
}

static int
p_ret(struct cmd *c, const char *v, size_t n)
{
	if (v != NULL && word_is(v, n, "FULL"))
		c->out->ret = SMTPCMD_RET_FULL;
	else if (v != NULL && word_is(v, n, "HDRS"))
		c->out->ret = SMTPCMD_RET_HDRS;
	else
		return pfail(c, &R_RET);
	return 0;
}

static int
p_envid(struct cmd *c, const char *v, size_t n)
{
	if (v == NULL || !xtext_decode(v, n, c->out->envid,
	    SMTPCMD_ENVID_MAX, false)) {
		c->out->envid[0] = '\0';
		return pfail(c, &R_ENVID);
	}
	c->out->envid_set = true;
	return 0;
}

/* RFC 4954 5: kept raw for the AUTH code to judge. */
static int
p_auth(struct cmd *c, const char *v, size_t n)
{
	if (v == NULL || n > SMTPCMD_AUTH_MAX)
		return pfail(c, &R_AUTH);
	c->out->auth = v;
	c->out->auth_len = n;
	return 0;
}

static unsigned
notify_word(const char *s, size_t n)
{
	if (word_is(s, n, "NEVER"))
		return SMTPCMD_NOTIFY_NEVER;
	if (word_is(s, n, "SUCCESS"))
		return SMTPCMD_NOTIFY_SUCCESS;
	if (word_is(s, n, "FAILURE"))
		return SMTPCMD_NOTIFY_FAILURE;
	if (word_is(s, n, "DELAY"))
		return SMTPCMD_NOTIFY_DELAY;
	return 0;
}

/* RFC 3461 4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
static int
p_notify(struct cmd *c, const char *v, size_t n)
{
	const char *p, *e, *comma;
	unsigned bits = 0, b;

	if (v == NULL)
		return pfail(c, &R_NOTIFY);
	for (p = v, e = v + n;; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(e - p))) == NULL)
			comma = e;
		b = notify_word(p, (size_t)(comma - p));
		if (b == 0 || (bits & b) != 0)
			return pfail(c, &R_NOTIFY);
		bits |= b;
		if (comma == e)
			break;
	}
	if ((bits & SMTPCMD_NOTIFY_NEVER) && bits != SMTPCMD_NOTIFY_NEVER)
		return pfail(c, &R_NOTIFY);
	c->out->notify = bits;
	return 0;
}

/* addr-type = atom: RFC 5322 atext, ASCII. */
static bool
atom_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (!ascii_isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-/=?^_`{|}~", s[i]) == NULL)
			return false;
	}
	return true;
}

/*
 * RFC 3461 4.2: addr-type ";" xtext.  Raw UTF-8 only with addr-type
 * "utf-8" (RFC 6533 utf-8-addr-unitext), and only under SMTPUTF8, which
 * value_check() has seen to.
 */
static int
p_orcpt(struct cmd *c, const char *v, size_t n)
{
	const char *semi;
	size_t tlen;
	bool utf8;

	if (v == NULL || (semi = memchr(v, ';', n)) == NULL)
		return pfail(c, &R_ORCPT);
	tlen = (size_t)(semi - v);
	if (tlen > SMTPCMD_ORCPT_TYPE_MAX || !atom_ok(v, tlen))
		return pfail(c, &R_ORCPT);
	utf8 = word_is(v, tlen, UTF8_TYPE);
	if (!xtext_decode(semi + 1, n - tlen - 1, c->out->orcpt,
	    SMTPCMD_ORCPT_MAX, utf8)) {
		c->out->orcpt[0] = '\0';
		return pfail(c, &R_ORCPT);
	}
	memcpy(c->out->orcpt_type, v, tlen);
	c->out->orcpt_type[tlen] = '\0';
	c->out->orcpt_set = true;
	return 0;
}

#define P_SIZE		0x01
#define P_BODY		0x02
#define P_SMTPUTF8	0x04
#define P_RET		0x08
#define P_ENVID		0x10
#define P_AUTH		0x20
#define P_NOTIFY	0x40
#define P_ORCPT		0x80

static const struct param params[] = {
	{ "SIZE", SMTPCMD_MAIL, SMTPCMD_F_SIZE, P_SIZE, p_size },
	{ "BODY", SMTPCMD_MAIL, SMTPCMD_F_8BITMIME | SMTPCMD_F_CHUNKING,
	    P_BODY, p_body },
	{ "SMTPUTF8", SMTPCMD_MAIL, SMTPCMD_F_SMTPUTF8, P_SMTPUTF8,
	    p_smtputf8 },
	{ "RET", SMTPCMD_MAIL, SMTPCMD_F_DSN, P_RET, p_ret },
	{ "ENVID", SMTPCMD_MAIL, SMTPCMD_F_DSN, P_ENVID, p_envid },
	{ "AUTH", SMTPCMD_MAIL, SMTPCMD_F_AUTH, P_AUTH, p_auth },
	{ "NOTIFY", SMTPCMD_RCPT, SMTPCMD_F_DSN, P_NOTIFY, p_notify },
	{ "ORCPT", SMTPCMD_RCPT, SMTPCMD_F_DSN, P_ORCPT, p_orcpt },
};

static const struct param *
param_find(const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (word_is(key, n, params[i].name))
			return &params[i];
	}
	return NULL;
}

/* One "keyword[=value]" token. */
static int
param(struct cmd *c, const char *tok, size_t n)
{
	const struct param *pd;
	const char *eq, *v = NULL;
	size_t klen = n, vlen = 0;

	c->tok = tok;
	c->toklen = n;
	c->out->nparams++;
	if ((eq = memchr(tok, '=', n)) != NULL) {
		klen = (size_t)(eq - tok);
		v = eq + 1;
		vlen = n - klen - 1;
	}
	if (!keyword_ok(tok, klen))
		return pfail(c, &R_PARAMS);
	pd = param_find(tok, klen);
	if (pd == NULL || pd->verb != c->out->verb ||
	    (c->flags & pd->ext) == 0)
		return pfail(c, &R_UNSUPPORTED);
	if (c->seen & pd->bit)
		return pfail(c, &R_DUP);
	c->seen |= pd->bit;
	if (v != NULL && value_check(c, v, vlen) == -1)
		return -1;
	return pd->parse(c, v, vlen);
}

/* Space-separated words in [p, e). */
static size_t
count_words(const char *p, const char *e)
{
	size_t n = 0;

	for (; p < e; p++) {
		if (*p != ' ' && (p + 1 == e || p[1] == ' '))
			n++;
	}
	return n;
}

/*
 * *(SP esmtp-param) from p, right after the path, to e, which has no
 * trailing spaces.  The count is checked before any parameter is looked
 * at, so a flood of parameters gets one clear answer.
 */
static int
param_list(struct cmd *c, const char *p, const char *e)
{
	const char *tok_end;

	if (p < e && *p != ' ') {		/* junk stuck to the path */
		if ((tok_end = memchr(p, ' ', (size_t)(e - p))) == NULL)
			tok_end = e;
		c->tok = p;
		c->toklen = (size_t)(tok_end - p);
		return pfail(c, &R_PARAMS);
	}
	if (count_words(p, e) > SMTPCMD_PARAMS_MAX)
		return fail(c, &R_TOOMANY);
	while (p < e) {
		p = skip_spaces(c, p + 1, e);	/* p was at an SP */
		if ((tok_end = memchr(p, ' ', (size_t)(e - p))) == NULL)
			tok_end = e;
		if (param(c, p, (size_t)(tok_end - p)) == -1)
			return -1;
		p = tok_end;
	}
	return 0;
}

/* ---- MAIL and RCPT ---------------------------------------------------- */

static int
path_fail(struct cmd *c, enum addr_err e)
{
	c->err->addr_err = e;
	switch (e) {
	case ADDR_E_LOCAL_TOOLONG:
		return fail(c, c->sender ? &R_S_LOCAL : &R_R_LOCAL);
	case ADDR_E_DOMAIN_TOOLONG:
		return fail(c, c->sender ? &R_S_DOMAIN : &R_R_DOMAIN);
	case ADDR_E_PATH_TOOLONG:
		return fail(c, &R_PATHLONG);
	case ADDR_E_UTF8_NEEDS_SMTPUTF8:
		return fail(c, &R_NEEDUTF8);
	case ADDR_E_BAD_UTF8:
		return fail(c, c->sender ? &R_S_BADUTF8 : &R_R_BADUTF8);
	case ADDR_E_NULL_NOT_ALLOWED:
		return fail(c, &R_NULLRCPT);
	case ADDR_E_NONE:
	case ADDR_E_SYNTAX:
		break;
	}
	return fail(c, c->sender ? &R_S_SYNTAX : &R_R_SYNTAX);
}

/* [spaces] path *(SP param), then whether SMTPUTF8 covers any UTF-8. */
static int
path_and_params(struct cmd *c, const char *p, unsigned aflags)
{
	const char *e = c->out->arg + c->out->arg_len;
	enum addr_err ae;
	size_t used;
	bool utf8_ok;

	p = skip_spaces(c, p, e);
	if (c->flags & SMTPCMD_F_SMTPUTF8)
		aflags |= ADDR_F_SMTPUTF8;
	if (c->flags & SMTPCMD_F_NOBRACKETS_OK)
		aflags |= ADDR_F_NOBRACKETS_OK;
	if (addr_parse_path(p, (size_t)(e - p), aflags, &c->out->addr, &used,
	    &ae) == -1)
		return path_fail(c, ae);
	if (param_list(c, p + used, e) == -1)
		return -1;
	if (c->sender)
		utf8_ok = c->out->smtputf8;
	else
		utf8_ok = (c->flags & SMTPCMD_F_TXN_SMTPUTF8) != 0;
	if (c->out->addr.utf8 && !utf8_ok) {
		c->err->addr_err = ADDR_E_UTF8_NEEDS_SMTPUTF8;
		return fail(c, &R_NEEDUTF8);
	}
	if (c->utf8_tok != NULL && !utf8_ok) {
		c->tok = c->utf8_tok;
		c->toklen = c->utf8_toklen;
		return pfail(c, &R_PARAMS);
	}
	return 0;
}

static int
cmd_mail(struct cmd *c)
{
	const char *p = c->out->arg, *e = p + c->out->arg_len;

	if (!has_prefix(p, e, FROM_PREFIX))
		return fail(c, &R_MAIL);
	c->sender = true;
	return path_and_params(c, p + strlen(FROM_PREFIX), ADDR_F_SENDER);
}

static int
cmd_rcpt(struct cmd *c)
{
	const char *p = c->out->arg, *e = p + c->out->arg_len;

	if (!has_prefix(p, e, TO_PREFIX))
		return fail(c, &R_RCPT);
	return path_and_params(c, p + strlen(TO_PREFIX), ADDR_F_RCPT);
}

/* ---- the other verbs -------------------------------------------------- */

static int
helo_common(struct cmd *c, const struct reply *usage)
{
	const char *a = c->out->arg;
	size_t n = c->out->arg_len, i;
	enum addr_err ae;

	if (n == 0)
		return fail(c, usage);
	if (n > SMTPCMD_HELO_MAX)
		return fail(c, &R_HOSTLONG);
	for (i = 0; i < n; i++) {
		if ((unsigned char)a[i] < 32 || (unsigned char)a[i] > 126)
			return fail(c, &R_HOSTCHAR);
	}
	/* Junk is common after HELO: say so, and let policy decide. */
	c->out->helo_valid = addr_domain_check(a, n, 0, NULL, &ae) == 0;
	return 0;
}

static int
cmd_helo(struct cmd *c)
{
	return helo_common(c, &R_HELO);
}

static int
cmd_ehlo(struct cmd *c)
{
	return helo_common(c, &R_EHLO);
}

/* RFC 3030: "BDAT" SP chunk-size [ SP end-marker ] */
static int
cmd_bdat(struct cmd *c)
{
	const char *p = c->out->arg, *e = p + c->out->arg_len;
	uint64_t size = 0;
	size_t digits = 0;

	for (; p < e && ascii_isdigit((unsigned char)*p); p++) {
		if (++digits > SMTPCMD_BDAT_DIGITS)
			return fail(c, &R_BDAT);
		size = size * 10 + (uint64_t)(*p - '0');
	}
	if (digits == 0)
		return fail(c, &R_BDAT);
	if (p < e) {
		if (*p != ' ')
			return fail(c, &R_BDAT);
		p = skip_spaces(c, p + 1, e);
		if (!word_is(p, (size_t)(e - p), LAST_MARKER))
			return fail(c, &R_BDAT);
		c->out->last = true;
	}
	c->out->chunk_size = size;
	return 0;
}

static int
cmd_noarg(struct cmd *c)
{
	if (c->out->arg_len != 0)
		return fail(c, &R_NOPARAMS);
	return 0;
}

static int
cmd_optarg(struct cmd *c)
{
	return 0;
}

static int
cmd_needarg(struct cmd *c)
{
	if (c->out->arg_len == 0)
		return fail(c, &R_ARGREQ);
	return 0;
}

static const struct verb verbs[] = {
	{ "HELO", SMTPCMD_HELO, cmd_helo },
	{ "EHLO", SMTPCMD_EHLO, cmd_ehlo },
	{ "MAIL", SMTPCMD_MAIL, cmd_mail },
	{ "RCPT", SMTPCMD_RCPT, cmd_rcpt },
	{ "DATA", SMTPCMD_DATA, cmd_noarg },
	{ "BDAT", SMTPCMD_BDAT, cmd_bdat },
	{ "RSET", SMTPCMD_RSET, cmd_noarg },
	{ "NOOP", SMTPCMD_NOOP, cmd_optarg },
	{ "QUIT", SMTPCMD_QUIT, cmd_noarg },
	{ "HELP", SMTPCMD_HELP, cmd_optarg },
	{ "VRFY", SMTPCMD_VRFY, cmd_needarg },
	{ "EXPN", SMTPCMD_EXPN, cmd_needarg },
	{ "STARTTLS", SMTPCMD_STARTTLS, cmd_noarg },
	{ "AUTH", SMTPCMD_AUTH, cmd_needarg },
};

static const struct verb *
verb_find(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (word_is(s, n, verbs[i].name))
			return &verbs[i];
	}
	return NULL;
}

/* The argument: after the verb's spaces, without trailing spaces. */
static void
split_arg(struct cmd *c, const char *p, const char *e)
{
	const char *start = p;

	while (p < e && *p == ' ')
		p++;
	if (p - start > 1 || (p == e && p != start))
		c->out->extra_space = true;	/* "NOOP  x", "DATA " */
	while (e > p && e[-1] == ' ') {
		e--;
		c->out->extra_space = true;
	}
	c->out->arg = p;
	c->out->arg_len = (size_t)(e - p);
}

int
smtpcmd_parse(const char *line, size_t len, unsigned flags,
    struct smtpcmd *out, struct smtpcmd_err *err)
{
	const struct verb *v;
	const char *sp;
	struct cmd c;
	size_t vlen;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	memset(&c, 0, sizeof(c));
	c.flags = flags;
	c.out = out;
	c.err = err;
	out->verb = SMTPCMD_UNKNOWN;
	if (len == 0)
		return fail(&c, &R_UNKNOWN);
	vlen = (sp = memchr(line, ' ', len)) == NULL ? len :
	    (size_t)(sp - line);
	if ((v = verb_find(line, vlen)) == NULL)
		return fail(&c, &R_UNKNOWN);
	out->verb = v->verb;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) !=
	    NULL || memchr(line, '\n', len) != NULL)
		return fail(&c, &R_BADCHAR);
	split_arg(&c, line + vlen, line + len);
	return v->parse(&c);
}

const char *
smtpcmd_verb_str(enum smtpcmd_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (verbs[i].verb == verb)
			return verbs[i].name;
	}
	return "UNKNOWN";
}
