/*
 * SPDX-License-Identifier: ISC
 *
 * check_tlsproxy.c -- tlsproxy's checks of smtpd's requests (every
 * attribute, hostile values) and its bounded plaintext buffers.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "attr.h"
#include "buf.h"
#include "tlsproxy.h"

/* A request built from name/value pairs; a NULL value leaves it out. */
struct kv {
	const char	*name, *val;
};

static const struct kv good[] = {
	{ "request", "server" },
	{ "proto", "tlsproxy/1" },
	{ "client_name", "client.example.test" },
	{ "client_addr", "2001:db8::1" },
	{ "client_port", "65535" },
	{ "service", "submissions" },
};
#define NGOOD	(sizeof(good) / sizeof(good[0]))

static void
decode(struct buf *out, struct attr_msg *m)
{
	const char *err = NULL;

	attr_msg_init(m);
	ck_assert_int_eq(attr_decode(out->data + 4, out->len - 4, m, &err),
	    ATTR_OK);
	buf_clear(out);
}

/* The good request with one attribute replaced (or dropped, val NULL). */
static void
build(struct attr_msg *m, const char *name, const char *val)
{
	struct buf out;
	size_t i;

	attr_out_init(&out);
	for (i = 0; i < NGOOD; i++) {
		if (name != NULL && strcmp(good[i].name, name) == 0) {
			if (val != NULL)
				ck_assert_int_eq(attr_put_str(&out, name, val),
				    0);
			continue;
		}
		ck_assert_int_eq(attr_put_str(&out, good[i].name,
		    good[i].val), 0);
	}
	decode(&out, m);
}

START_TEST(test_good_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	build(&m, NULL, NULL);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_str_eq(req.client_name, "client.example.test");
	ck_assert_str_eq(req.client_addr, "2001:db8::1");
	ck_assert_str_eq(req.client_port, "65535");
	ck_assert_str_eq(req.service, "submissions");
	ck_assert_str_eq(req.ident, "client.example.test[2001:db8::1]");
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_longest_fields_fit)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;
	char name[256], addr[64];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	build(&m, "client_name", name);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	attr_msg_clear(&m);
	build(&m, "client_addr", addr);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), 0);
	ck_assert_uint_eq(strlen(req.ident), strlen("client.example.test") +
	    63 + 2);
	attr_msg_clear(&m);
}
END_TEST

static char toolong_name[300];

static const struct kv bad[] = {
	{ "request", NULL },
	{ "request", "client" },
	{ "request", "Server" },
	{ "proto", NULL },
	{ "proto", "tlsproxy/2" },
	{ "proto", "tlsproxy/1 " },
	{ "client_name", NULL },
	{ "client_name", "" },
	{ "client_name", "two words" },
	{ "client_name", "tab\there" },
	{ "client_name", "esc\033[0m" },
	{ "client_name", "caf\xc3\xa9" },
	{ "client_name", toolong_name },
	{ "client_addr", NULL },
	{ "client_addr", "" },
	{ "client_addr", "1.2.3.4\r\n" },
	{ "client_port", NULL },
	{ "client_port", "" },
	{ "client_port", "0" },
	{ "client_port", "65536" },
	{ "client_port", "100000" },
	{ "client_port", "-1" },
	{ "client_port", "+25" },
	{ "client_port", "25 " },
	{ "client_port", "0x19" },
	{ "service", NULL },
	{ "service", "" },
	{ "service", "s\x7f" },
};

START_TEST(test_bad_request)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	const char *err = NULL;

	memset(toolong_name, 'x', sizeof(toolong_name) - 1);
	build(&m, bad[_i].name, bad[_i].val);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_ptr_nonnull(err);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_wrong_types_and_extras)
{
	struct tlsproxy_req req;
	struct attr_msg m;
	struct buf out;
	const char *err = NULL;
	size_t i;

	/* The port as an int instead of a string. */
	attr_out_init(&out);
	for (i = 0; i < NGOOD; i++)
		if (strcmp(good[i].name, "client_port") == 0)
			attr_put_int(&out, "client_port", 25);
		else
			attr_put_str(&out, good[i].name, good[i].val);
	decode(&out, &m);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);

	/* One attribute more than the contract names. */
	attr_out_init(&out);
	for (i = 0; i < NGOOD; i++)
		attr_put_str(&out, good[i].name, good[i].val);
	attr_put_str(&out, "sni", "x");
	decode(&out, &m);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	ck_assert_str_eq(err, "unexpected attributes");
	attr_msg_clear(&m);

	/* Nothing at all. */
	attr_out_init(&out);
	decode(&out, &m);
	ck_assert_int_eq(tlsproxy_req_parse(&m, &req, &err), -1);
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_is_start)
{
	struct attr_msg m;
	struct buf out;

	attr_out_init(&out);
	attr_put_str(&out, "request", "start");
	decode(&out, &m);
	ck_assert(tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_str(&out, "request", "start");
	attr_put_str(&out, "proto", "tlsproxy/1");
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_str(&out, "request", "server");
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	attr_put_data(&out, "request", "start", 5);
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);

	attr_out_init(&out);
	decode(&out, &m);
	ck_assert(!tlsproxy_req_is_start(&m));
	attr_msg_clear(&m);
}
END_TEST

START_TEST(test_buf)
{
	static struct tlsproxy_buf b;
	size_t i;

	ck_assert_uint_eq(tlsproxy_buf_room(&b), TLSPROXY_BUF);
	for (i = 0; i < TLSPROXY_BUF; i++)
		b.data[i] = (uint8_t)i;
	b.len = TLSPROXY_BUF;
	ck_assert_uint_eq(tlsproxy_buf_room(&b), 0);
	tlsproxy_buf_consume(&b, 1000);
	ck_assert_uint_eq(b.len, TLSPROXY_BUF - 1000);
	ck_assert_uint_eq(tlsproxy_buf_room(&b), 1000);
	ck_assert_uint_eq(b.data[0], (uint8_t)1000);
	ck_assert_uint_eq(b.data[b.len - 1], (uint8_t)(TLSPROXY_BUF - 1));
	tlsproxy_buf_consume(&b, 0);
	ck_assert_uint_eq(b.len, TLSPROXY_BUF - 1000);
	tlsproxy_buf_consume(&b, b.len);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(tlsproxy_buf_room(&b), TLSPROXY_BUF);
}
END_TEST

START_TEST(test_buf_consume_past_len)
{
	static struct tlsproxy_buf b;

	b.len = 10;
	tlsproxy_buf_consume(&b, 11);
}
END_TEST

static Suite *
tlsproxy_suite(bool forking)
{
	Suite *s = suite_create("tlsproxy");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_test(tc, test_good_request);
	tcase_add_test(tc, test_longest_fields_fit);
	tcase_add_loop_test(tc, test_bad_request, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_wrong_types_and_extras);
	tcase_add_test(tc, test_is_start);
	suite_add_tcase(s, tc);

	tc = tcase_create("buf");
	tcase_add_test(tc, test_buf);
	/* A signal test would end the whole runner under CK_FORK=no. */
	if (forking)
		tcase_add_test_raise_signal(tc, test_buf_consume_past_len,
		    SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	struct rlimit nocore = { 0, 0 };
	SRunner *sr;
	int failed;

	(void)setrlimit(RLIMIT_CORE, &nocore);
	sr = srunner_create(NULL);
	srunner_add_suite(sr, tlsproxy_suite(srunner_fork_status(sr) !=
	    CK_NOFORK));
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
