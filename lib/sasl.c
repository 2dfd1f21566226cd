/*
 * SPDX-License-Identifier: ISC
 *
 * sasl.c -- SMTP AUTH arguments and responses (RFC 4954, RFC 4422 3.1
 * mechanism names, RFC 4648 base64) and the replies of Dovecot's auth
 * server (its "auth client" protocol, major version 1).
 *
 * Process:  smtpd (and the fuzz and unit tests).
 * Input:    untrusted lines, walked with cur < end and explicit limits.
 * Failure:  -1 or a reply code; never logs, allocates or exits.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

#define FIELDS_MAX	64	/* parameters of one server line we look at */

/* ---- base64 and mechanism names ---------------------------------------- */

static bool
b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool
sasl_b64_ok(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n % 4 != 0)
		return false;
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!b64_char((unsigned char)s[i]))
			return false;
	return true;
}

/* RFC 4422 3.1: 1 to 20 of [A-Z0-9-_]; SMTP clients may use lower case. */
static bool
mech_name(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i;
	unsigned char c;

	if (n == 0 || n > SASL_MECH_MAX || n >= outsz)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return false;
		out[i] = (char)c;
	}
	out[n] = '\0';
	return true;
}

/* ---- the SMTP side ------------------------------------------------------ */

static int
auth_fail(int code, const char *enh, const char *text, int *code_r,
    const char **enh_r, const char **text_r)
{
	*code_r = code;
	*enh_r = enh;
	*text_r = text;
	return -1;
}

int
sasl_parse_auth(const char *arg, size_t len, struct sasl_auth_arg *out,
    int *code_r, const char **enh_r, const char **text_r)
{
	const char *end = arg + len, *sp;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return auth_fail(501, "5.5.4", "Syntax: AUTH mechanism",
		    code_r, enh_r, text_r);
	if ((sp = memchr(arg, ' ', len)) == NULL)
		sp = end;
	if (!mech_name(arg, (size_t)(sp - arg), out->mech, sizeof(out->mech)))
		return auth_fail(504, "5.5.4", "Error: unsupported "
		    "authentication mechanism", code_r, enh_r, text_r);
	if (sp == end)
		return 0;
	out->resp = sp + 1;
	out->resp_len = (size_t)(end - out->resp);
	if (out->resp_len == 0 || memchr(out->resp, ' ', out->resp_len))
		return auth_fail(501, "5.5.4", "Syntax: AUTH mechanism "
		    "[initial-response]", code_r, enh_r, text_r);
	out->has_resp = true;
	if (out->resp_len == 1 && out->resp[0] == '=') {
		/* RFC 4954 4: "=" is an empty initial response. */
		out->resp_len = 0;
		return 0;
	}
	if (!sasl_b64_ok(out->resp, out->resp_len))
		return auth_fail(501, "5.5.2", "Error: invalid base64 data "
		    "in initial response", code_r, enh_r, text_r);
	return 0;
}

enum sasl_resp
sasl_parse_response(const char *line, size_t len)
{
	if (len == 1 && line[0] == '*')
		return SASL_RESP_CANCEL;
	if (!sasl_b64_ok(line, len))
		return SASL_RESP_BAD;
	return SASL_RESP_OK;
}

/* ---- the Dovecot side --------------------------------------------------- */

struct field {
	const char	*p;
	size_t		 n;
};

/* Split at TAB; -1 when there are more than max fields. */
static int
split(const char *line, size_t len, struct field *f, size_t max,
    size_t *n_r)
{
	const char *cur = line, *end = line + len, *tab;
	size_t n = 0;

	for (;;) {
		if (n == max)
			return -1;
		if ((tab = memchr(cur, '\t', (size_t)(end - cur))) == NULL)
			tab = end;
		f[n].p = cur;
		f[n].n = (size_t)(tab - cur);
		n++;
		if (tab == end)
			break;
		cur = tab + 1;
	}
	*n_r = n;
	return 0;
}

static bool
is(const struct field *f, const char *word)
{
	size_t n = strlen(word);

	return f->n == n && memcmp(f->p, word, n) == 0;
}

/* "name=value": the value when the name matches, else NULL. */
static const char *
opt(const struct field *f, const char *name, size_t *len_r)
{
	size_t n = strlen(name);

	if (f->n <= n || memcmp(f->p, name, n) != 0 || f->p[n] != '=')
		return NULL;
	*len_r = f->n - n - 1;
	return f->p + n + 1;
}

/* A decimal number of at most 10 digits, no sign, within max. */
static int
number(const struct field *f, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (f->n == 0 || f->n > 10)
		return -1;
	for (i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Dovecot's tab-escaping: \001 then '0' NUL, '1' \001, 't' TAB, 'r' CR,
 * 'n' or 'l' LF, anything else itself.  The result must be printable
 * (no C0 control, no DEL) and fit: it goes into logs.
 */
static int
unescape(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\001') {
			if (++i == n)
				return -1;
			switch (s[i]) {
			case '0': c = '\0'; break;
			case '1': c = '\001'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'n':
			case 'l': c = '\n'; break;
			default: c = (unsigned char)s[i]; break;
			}
		}
		if (c < 32 || c == 127)
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int
reply_err(const char *why, const char **err_r)
{
	*err_r = why;
	return -1;
}

static int
parse_version(const struct field *f, size_t n, struct sasl_reply *r,
    const char **err_r)
{
	if (n < 3 || number(&f[1], 1000000, &r->major) == -1 ||
	    number(&f[2], 1000000, &r->minor) == -1)
		return reply_err("malformed VERSION", err_r);
	return 0;
}

static int
parse_mech(const struct field *f, size_t n, struct sasl_reply *r,
    const char **err_r)
{
	size_t i;

	if (n < 2 || !mech_name(f[1].p, f[1].n, r->mech, sizeof(r->mech)))
		return reply_err("malformed MECH", err_r);
	for (i = 2; i < n; i++)
		if (is(&f[i], "private"))
			r->private = true;
	return 0;
}

/* OK, CONT, FAIL: "<cmd> TAB <id> [TAB ...]". */
static int
parse_result(const struct field *f, size_t n, struct sasl_reply *r,
    const char **err_r)
{
	const char *v;
	size_t i, vn;

	if (n < 2 || number(&f[1], SASL_ID_MAX, &r->id) == -1)
		return reply_err("malformed request ID", err_r);
	if (r->type == SASL_R_CONT) {
		/* The challenge is a required parameter: "" when absent. */
		r->data = n >= 3 ? f[2].p : f[1].p + f[1].n;
		r->data_len = n >= 3 ? f[2].n : 0;
		if (!sasl_b64_ok(r->data, r->data_len))
			return reply_err("CONT data is not base64", err_r);
		return 0;
	}
	for (i = 2; i < n; i++) {
		if ((v = opt(&f[i], "user", &vn)) != NULL) {
			if (unescape(v, vn, r->user, sizeof(r->user)) == -1)
				return reply_err("bad user=", err_r);
		} else if ((v = opt(&f[i], "reason", &vn)) != NULL) {
			if (unescape(v, vn, r->reason, sizeof(r->reason)) == -1)
				return reply_err("bad reason=", err_r);
		} else if (is(&f[i], "temp"))
			r->temp = true;
		else if ((v = opt(&f[i], "code", &vn)) != NULL &&
		    vn == strlen("temp_fail") && memcmp(v, "temp_fail", vn) == 0)
			r->temp = true;
	}
	return 0;
}

int
sasl_parse_reply(const char *line, size_t len, struct sasl_reply *r,
    const char **err_r)
{
	static const struct {
		const char *word;
		enum sasl_reply_type type;
	} cmds[] = {
		{ "VERSION", SASL_R_VERSION }, { "MECH", SASL_R_MECH },
		{ "SPID", SASL_R_SPID }, { "CUID", SASL_R_CUID },
		{ "COOKIE", SASL_R_COOKIE }, { "DONE", SASL_R_DONE },
		{ "OK", SASL_R_OK }, { "CONT", SASL_R_CONT },
		{ "FAIL", SASL_R_FAIL },
	};
	struct field f[FIELDS_MAX];
	size_t n, i;

	memset(r, 0, sizeof(*r));
	r->type = SASL_R_OTHER;
	if (len > SASL_LINE_MAX)
		return reply_err("line too long", err_r);
	if (memchr(line, '\n', len) != NULL || memchr(line, '\0', len) != NULL)
		return reply_err("LF or NUL inside a line", err_r);
	if (split(line, len, f, FIELDS_MAX, &n) == -1)
		return reply_err("too many parameters", err_r);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (is(&f[0], cmds[i].word))
			r->type = cmds[i].type;
	switch (r->type) {
	case SASL_R_VERSION:
		return parse_version(f, n, r, err_r);
	case SASL_R_MECH:
		return parse_mech(f, n, r, err_r);
	case SASL_R_OK:
	case SASL_R_CONT:
	case SASL_R_FAIL:
		return parse_result(f, n, r, err_r);
	default:
		return 0;
	}
}
