/*
 * SPDX-License-Identifier: ISC
 *
 * check_sasl.c -- unit tests for lib/sasl.c: the AUTH argument, the 334
 * responses, base64 checks and the lines of Dovecot's auth server.
 *
 * Process:  test runner (Check), no privilege.
 * Input:    lines written here, many of them hostile.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- base64 --------------------------------------------------------------- */

static const struct {
	const char	*in;
	bool		 ok;
} b64s[] = {
	{ "", true },
	{ "YQ==", true },
	{ "YWI=", true },
	{ "YWJj", true },
	{ "AGFsaWNlAHB3", true },
	{ "a+/Z", true },
	{ "YQ=", false },
	{ "YQ", false },
	{ "Y===", false },
	{ "====", false },
	{ "YQ==YQ==", false },
	{ "Y=Q=", false },
	{ "YW J", false },
	{ "YWJ*", false },
	{ "*", false },
	{ "YWJ\x80", false },
};

START_TEST(test_b64)
{
	ck_assert_int_eq(sasl_b64_ok(b64s[_i].in, strlen(b64s[_i].in)),
	    b64s[_i].ok);
}
END_TEST

/* ---- the AUTH argument ---------------------------------------------------- */

static const struct {
	const char	*arg;
	int		 code;		/* 0: accepted */
	const char	*enh;
	const char	*mech;
	bool		 has_resp;
	const char	*resp;
} args[] = {
	{ "PLAIN", 0, NULL, "PLAIN", false, NULL },
	{ "plain", 0, NULL, "PLAIN", false, NULL },
	{ "Login", 0, NULL, "LOGIN", false, NULL },
	{ "CRAM-MD5", 0, NULL, "CRAM-MD5", false, NULL },
	{ "SCRAM-SHA-256", 0, NULL, "SCRAM-SHA-256", false, NULL },
	{ "X_Y-1", 0, NULL, "X_Y-1", false, NULL },
	{ "PLAIN AGFsaWNlAHB3", 0, NULL, "PLAIN", true, "AGFsaWNlAHB3" },
	{ "PLAIN =", 0, NULL, "PLAIN", true, "" },
	{ "", 501, "5.5.4", NULL, false, NULL },
	{ "PLAIN ", 501, "5.5.4", NULL, false, NULL },
	{ "PLAIN a b", 501, "5.5.4", NULL, false, NULL },
	{ "PLAIN  YQ==", 501, "5.5.4", NULL, false, NULL },
	{ "PLAIN !!!!", 501, "5.5.2", NULL, false, NULL },
	{ "PLAIN YQ=", 501, "5.5.2", NULL, false, NULL },
	{ "PLAIN ==", 501, "5.5.2", NULL, false, NULL },
	{ "NOT/A/MECH", 504, "5.5.4", NULL, false, NULL },
	{ "ABCDEFGHIJKLMNOPQRSTU", 504, "5.5.4", NULL, false, NULL },
	{ "ABCDEFGHIJKLMNOPQRST", 0, NULL, "ABCDEFGHIJKLMNOPQRST", false,
	    NULL },
	{ "PL\xc3\x84IN", 504, "5.5.4", NULL, false, NULL },
	{ " PLAIN", 504, "5.5.4", NULL, false, NULL },
};

START_TEST(test_auth_arg)
{
	struct sasl_auth_arg a;
	const char *enh, *text;
	int code = 0, r;

	r = sasl_parse_auth(args[_i].arg, strlen(args[_i].arg), &a, &code,
	    &enh, &text);
	if (args[_i].code != 0) {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(code, args[_i].code);
		ck_assert_str_eq(enh, args[_i].enh);
		ck_assert_ptr_nonnull(text);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(a.mech, args[_i].mech);
	ck_assert_int_eq(a.has_resp, args[_i].has_resp);
	if (a.has_resp) {
		ck_assert_uint_eq(a.resp_len, strlen(args[_i].resp));
		ck_assert(memcmp(a.resp, args[_i].resp, a.resp_len) == 0);
	}
}
END_TEST

START_TEST(test_response)
{
	ck_assert_int_eq(sasl_parse_response("*", 1), SASL_RESP_CANCEL);
	ck_assert_int_eq(sasl_parse_response("", 0), SASL_RESP_OK);
	ck_assert_int_eq(sasl_parse_response("YQ==", 4), SASL_RESP_OK);
	ck_assert_int_eq(sasl_parse_response("**", 2), SASL_RESP_BAD);
	ck_assert_int_eq(sasl_parse_response("YQ== ", 5), SASL_RESP_BAD);
	ck_assert_int_eq(sasl_parse_response("not base64", 10),
	    SASL_RESP_BAD);
}
END_TEST

/* ---- the auth server's lines ---------------------------------------------- */

static int
reply(const char *line, struct sasl_reply *r)
{
	const char *err = NULL;
	int rc;

	rc = sasl_parse_reply(line, strlen(line), r, &err);
	if (rc == -1)
		ck_assert_ptr_nonnull(err);
	return rc;
}

START_TEST(test_handshake)
{
	struct sasl_reply r;

	ck_assert_int_eq(reply("VERSION\t1\t2", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_VERSION);
	ck_assert_uint_eq(r.major, 1);
	ck_assert_uint_eq(r.minor, 2);
	ck_assert_int_eq(reply("MECH\tPLAIN\tplaintext", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_MECH);
	ck_assert_str_eq(r.mech, "PLAIN");
	ck_assert(!r.private);
	ck_assert_int_eq(reply("MECH\tOTP\tprivate\tdictionary", &r), 0);
	ck_assert(r.private);
	ck_assert_int_eq(reply("SPID\t1234", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_SPID);
	ck_assert_int_eq(reply("COOKIE\tabcdef", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_COOKIE);
	ck_assert_int_eq(reply("DONE", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_DONE);
	ck_assert_int_eq(reply("NEWTHING\tx", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_OTHER);
	ck_assert_int_eq(reply("", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_OTHER);
}
END_TEST

START_TEST(test_handshake_bad)
{
	struct sasl_reply r;

	ck_assert_int_eq(reply("VERSION\t1", &r), -1);
	ck_assert_int_eq(reply("VERSION\tx\t1", &r), -1);
	ck_assert_int_eq(reply("VERSION\t-1\t1", &r), -1);
	ck_assert_int_eq(reply("VERSION\t99999999999\t1", &r), -1);
	ck_assert_int_eq(reply("MECH", &r), -1);
	ck_assert_int_eq(reply("MECH\t", &r), -1);
	ck_assert_int_eq(reply("MECH\tBAD MECH", &r), -1);
	ck_assert_int_eq(reply("MECH\tABCDEFGHIJKLMNOPQRSTU", &r), -1);
}
END_TEST

START_TEST(test_results)
{
	struct sasl_reply r;

	ck_assert_int_eq(reply("OK\t7\tuser=alice", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_OK);
	ck_assert_uint_eq(r.id, 7);
	ck_assert_str_eq(r.user, "alice");
	ck_assert_int_eq(reply("OK\t1", &r), 0);
	ck_assert_str_eq(r.user, "");
	ck_assert_int_eq(reply("CONT\t3\tVXNlcm5hbWU6", &r), 0);
	ck_assert_int_eq(r.type, SASL_R_CONT);
	ck_assert_uint_eq(r.data_len, 12);
	ck_assert(memcmp(r.data, "VXNlcm5hbWU6", 12) == 0);
	ck_assert_int_eq(reply("CONT\t3\t", &r), 0);
	ck_assert_uint_eq(r.data_len, 0);
	ck_assert_int_eq(reply("CONT\t3", &r), 0);
	ck_assert_uint_eq(r.data_len, 0);
	ck_assert_int_eq(reply("FAIL\t2\tuser=bob\treason=Bad password", &r),
	    0);
	ck_assert_int_eq(r.type, SASL_R_FAIL);
	ck_assert_str_eq(r.user, "bob");
	ck_assert_str_eq(r.reason, "Bad password");
	ck_assert(!r.temp);
	ck_assert_int_eq(reply("FAIL\t2\ttemp", &r), 0);
	ck_assert(r.temp);
	ck_assert_int_eq(reply("FAIL\t2\tcode=temp_fail\tunknown=1", &r), 0);
	ck_assert(r.temp);
	ck_assert_int_eq(reply("FAIL\t2\tcode=authz_fail", &r), 0);
	ck_assert(!r.temp);
	/* Tab-escaping: \001 then a letter. */
	ck_assert_int_eq(reply("OK\t1\tuser=a\0011b\001ec", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=a\001xb", &r), 0);
	ck_assert_str_eq(r.user, "axb");
}
END_TEST

START_TEST(test_results_bad)
{
	struct sasl_reply r;
	char big[SASL_LINE_MAX + 2];
	char user[300];

	ck_assert_int_eq(reply("OK", &r), -1);
	ck_assert_int_eq(reply("OK\t", &r), -1);
	ck_assert_int_eq(reply("OK\tx", &r), -1);
	ck_assert_int_eq(reply("OK\t4294967296", &r), -1);
	ck_assert_int_eq(reply("OK\t4294967295", &r), 0);
	ck_assert_int_eq(reply("CONT\t1\tnot base64", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=a\001tb", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=a\001nb", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=a\0010b", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=ab\001", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tuser=a\rb", &r), -1);
	ck_assert_int_eq(reply("FAIL\t1\treason=x\x7fy", &r), -1);
	ck_assert_int_eq(reply("OK\t1\tx\ny", &r), -1);
	memset(user, 'u', sizeof(user));
	memcpy(user, "OK\t1\tuser=", 10);
	user[sizeof(user) - 1] = '\0';
	ck_assert_int_eq(reply(user, &r), -1);
	memset(big, 'A', sizeof(big));
	memcpy(big, "CONT\t1\t", 7);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(reply(big, &r), -1);
}
END_TEST

START_TEST(test_too_many_fields)
{
	struct sasl_reply r;
	char line[512];
	size_t i;

	strlcpy(line, "OK\t1", sizeof(line));
	for (i = 0; i < 100; i++)
		strlcat(line, "\tx", sizeof(line));
	ck_assert_int_eq(reply(line, &r), -1);
}
END_TEST

static Suite *
sasl_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc;

	tc = tcase_create("smtp");
	tcase_add_loop_test(tc, test_b64, 0, (int)NELEM(b64s));
	tcase_add_loop_test(tc, test_auth_arg, 0, (int)NELEM(args));
	tcase_add_test(tc, test_response);
	suite_add_tcase(s, tc);

	tc = tcase_create("dovecot");
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_handshake_bad);
	tcase_add_test(tc, test_results);
	tcase_add_test(tc, test_results_bad);
	tcase_add_test(tc, test_too_many_fields);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(sasl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
