/* SPDX-License-Identifier: BSD-3-Clause */
/* helpers.h -- shared set-up for the client unit tests */
#ifndef RDMACPY_TESTS_CLIENT_HELPERS_H
#define RDMACPY_TESTS_CLIENT_HELPERS_H

#include <criterion/criterion.h>

#include "client/include/rdmacpy.h"
#include "tests/unit/client/peer.h"
#include "tests/unit/mocks/verbs_mock.h"

/* test_opts -- options with the shared key and a short timeout */
static inline void test_opts(struct rdmacpy_conn_opts *o)
{
	rdmacpy_conn_opts_init(o);
	o->key = peer_key();
	o->key_len = PEER_KEY_LEN;
	o->timeout_ms = 3000;
}

/* connect_started -- connect to the mock daemon already started */
static inline struct rdmacpy_conn *connect_started(const struct rdmacpy_conn_opts *o)
{
	struct rdmacpy_conn *c = NULL;
	int ret;

	ret = rdmacpy_conn_open("127.0.0.1", 7471, o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
	cr_assert_not_null(c);
	return c;
}

/* connect_ok -- start a healthy mock daemon and connect to it */
static inline struct rdmacpy_conn *connect_ok(const struct rdmacpy_conn_opts *o)
{
	peer_start(NULL);
	return connect_started(o);
}

/* close_clean -- close, stop the daemon and check nothing leaked */
static inline void close_clean(struct rdmacpy_conn **c)
{
	rdmacpy_conn_close(c);
	cr_assert_null(*c);
	peer_stop();
	cr_expect_eq(rcp_mock_live_total(), 0, "leaked %u mock objects", rcp_mock_live_total());
	cr_expect_eq(rcp_mock_misuse_count(), 0, "misuse: %s", rcp_mock_last_misuse());
}

/* An operation's callback, seen: how often it ran and its last status (op_seen_cb's ctx). */
struct op_seen {
	int calls;
	int status;
};

/* op_seen_cb -- a done callback that records into the struct op_seen at ctx */
static inline void op_seen_cb(struct rdmacpy_op *op, int status, void *ctx)
{
	struct op_seen *s = ctx;

	(void)op;
	s->calls++;
	s->status = status;
}

#endif /* RDMACPY_TESTS_CLIENT_HELPERS_H */
