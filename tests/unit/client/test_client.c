/* SPDX-License-Identifier: BSD-3-Clause */
/* test_client.c -- errors, options, the handshake and control requests against a mock daemon */
#include <stdio.h>
#include <string.h>

#include "client/lib/conn.h"
#include "tests/unit/client/helpers.h"

Test(client_opts, init__defaults_and_size)
{
	struct rdmacpy_conn_opts o;

	rdmacpy_conn_opts_init(&o);
	cr_assert_eq(o.size, sizeof(o));
	cr_assert_eq(o.nqp, 1);
	cr_assert_gt(o.queue_depth, 0);
	cr_assert_gt(o.timeout_ms, 0);
	cr_assert_eq(o.moderation, RDMACPY_MOD_MODERATED);
}

Test(client_opts, connect__bad_options_refused)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;

	rcp_mock_reset();
	test_opts(&o);
	o.nqp = RDMACPY_MAX_QP + 1;
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 1, &o, &c), RDMACPY_E_INVAL);
	test_opts(&o);
	o.size = 2;
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 1, &o, &c), RDMACPY_E_INVAL);
	test_opts(&o);
	o.key_len = 3;
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 1, &o, &c), RDMACPY_E_KEY);
	test_opts(&o);
	o.key = NULL;
	o.key_file = "/nonexistent/key";
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 1, &o, &c), RDMACPY_E_KEY);
	cr_assert_eq(rdmacpy_conn_open(NULL, 1, &o, &c), RDMACPY_E_INVAL);
	cr_assert_null(c);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(client_connect, handshake__ok_with_private_data_and_macs)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rcp_mock_cm_call call;
	struct rcp_cm_private priv;

	test_opts(&o);
	c = connect_ok(&o);
	cr_assert(rcp_mock_last_cm_call(RCP_MOCK_CONNECT, &call));
	cr_assert_eq(call.pdata_len, RCP_CM_PRIVATE_LEN);
	cr_assert_eq(rcp_cm_private_decode(call.pdata, call.pdata_len, &priv), 0);
	cr_assert_eq(priv.version, RCP_PROTO_VERSION);
	cr_assert_eq(priv.flags, 0);
	cr_assert_eq(peer_requests(RCP_MSG_AUTH), 1);
	cr_assert(peer_client_mac_ok(), "the client's MAC was wrong");
	close_clean(&c);
}

Test(client_connect, handshake__four_qps_each_authenticated)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;

	test_opts(&o);
	o.nqp = 4;
	c = connect_ok(&o);
	cr_assert_eq(peer_requests(RCP_MSG_AUTH), 4);
	cr_assert(peer_client_mac_ok());
	close_clean(&c);
}

Test(client_connect, handshake__bad_server_mac_is_auth_error)
{
	struct peer_cfg cfg = {.bad_server_mac = true};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;

	test_opts(&o);
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), RDMACPY_E_AUTH);
	cr_assert_null(c);
	peer_stop();
	cr_assert_eq(rcp_mock_live_total(), 0, "leaked %u", rcp_mock_live_total());
}

Test(client_connect, handshake__server_refuses_auth)
{
	struct peer_cfg cfg = {.auth_err = RCP_ERR_AUTH};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;

	test_opts(&o);
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), RDMACPY_E_AUTH);
	peer_stop();
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(client_connect, handshake__no_key_needs_no_auth_daemon)
{
	struct peer_cfg cfg = {.no_auth = true};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct rcp_mock_cm_call call;
	struct rcp_cm_private priv;

	rdmacpy_conn_opts_init(&o);
	o.timeout_ms = 3000;
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), 0);
	cr_assert(rcp_mock_last_cm_call(RCP_MOCK_CONNECT, &call));
	cr_assert_eq(rcp_cm_private_decode(call.pdata, call.pdata_len, &priv), 0);
	cr_assert_eq(priv.flags, RCP_CM_F_NO_KEY);
	close_clean(&c);

	/* and a daemon that wants a key gets none: refused locally, no MAC sent */
	peer_start(NULL);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), RDMACPY_E_AUTH);
	peer_stop();
}

Test(client_connect, handshake__silent_daemon_times_out)
{
	struct peer_cfg cfg = {.no_challenge = true};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;

	test_opts(&o);
	o.timeout_ms = 200;
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), RDMACPY_E_TIMEOUT);
	peer_stop();
	cr_assert_eq(rcp_mock_live_total(), 0);
}

Test(client_connect, connect__device_failure_cleans_up)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	enum rcp_mock_fn fns[] = {RCP_MOCK_ALLOC_PD, RCP_MOCK_CREATE_CQ, RCP_MOCK_CREATE_QP,
				  RCP_MOCK_REG_MR,   RCP_MOCK_POST_RECV, RCP_MOCK_CONNECT};
	size_t i;

	test_opts(&o);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		peer_start(NULL);
		rcp_mock_fail(fns[i], -ENOMEM);
		cr_assert_lt(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), 0, "fn %d", fns[i]);
		cr_assert_null(c);
		peer_stop();
		cr_assert_eq(rcp_mock_live_total(), 0, "fn %d leaked %u", fns[i],
			     rcp_mock_live_total());
	}
}

Test(client_ctrl, list_open_stat_checksum_flush)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_region_info r[4];
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c;
	uint8_t sum[RDMACPY_CHECKSUM_LEN];
	size_t total = 0;

	test_opts(&o);
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_region_list(c, r, sizeof(r[0]), 4, &total), 2);
	cr_assert_eq(total, 2);
	cr_assert_str_eq(r[0].name, "reg0");
	cr_assert_eq(r[1].kind, RDMACPY_KIND_FILE);
	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 4096, 8192, RDMACPY_RIGHTS_RW, &g), 0);
	cr_assert_eq(rdmacpy_grant_length(g), 8192);
	cr_assert_eq(rdmacpy_grant_rights(g), RDMACPY_RIGHTS_RW);
	cr_assert(rdmacpy_grant_is_memory_window(g));
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	cr_assert_eq(st.uptime_ms, 4242);
	cr_assert_eq(rdmacpy_region_checksum(c, "reg0", 0, 100, sum), 0);
	cr_assert_eq(sum[0], 0xab);
	cr_assert_eq(rdmacpy_grant_flush(g, 0, 8192), 0);
	cr_assert_eq(rdmacpy_grant_flush(g, 1, 8192), RDMACPY_E_RANGE);
	cr_assert_eq(rdmacpy_region_flush(c, "reg1", 0, 10), 0);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	cr_assert_null(g);
	cr_assert_eq(peer_requests(RCP_MSG_CLOSE), 1);
	close_clean(&c);
}

/* open_err -- what rdmacpy_open returns when the daemon answers OPEN with code */
static int open_err(enum rcp_err code, char *text, size_t cap)
{
	struct peer_cfg cfg = {.open_err = code};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c = NULL;
	int ret;

	test_opts(&o);
	peer_start(&cfg);
	cr_assert_eq(rdmacpy_conn_open("127.0.0.1", 7471, &o, &c), 0);
	ret = rdmacpy_grant_open(c, "reg0", 0, 10, RDMACPY_RIGHTS_RO, &g);
	cr_assert_null(g);
	snprintf(text, cap, "%s", rdmacpy_conn_last_error(c));
	/* an ERROR reply does not break the connection */
	cr_assert_eq(rdmacpy_region_list(c, NULL, 0, 0, NULL), 0);
	close_clean(&c);
	return ret;
}

Test(client_ctrl, open__server_errors_map_to_distinct_codes)
{
	char text[256];

	cr_assert_eq(open_err(RCP_ERR_NOENT, text, sizeof(text)), RDMACPY_E_NOENT);
	cr_assert_str_eq(text, "no you don't");
	cr_assert_eq(open_err(RCP_ERR_ACCESS, text, sizeof(text)), RDMACPY_E_ACCESS);
	cr_assert_eq(open_err(RCP_ERR_RANGE, text, sizeof(text)), RDMACPY_E_RANGE);
	cr_assert_eq(open_err(RCP_ERR_LIMIT, text, sizeof(text)), RDMACPY_E_LIMIT);
}

Test(client_ctrl, open__four_qps_one_grant_each)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c;

	test_opts(&o);
	o.nqp = 4;
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, 1 << 20, RDMACPY_RIGHTS_RW, &g), 0);
	cr_assert_eq(peer_requests(RCP_MSG_OPEN), 4);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	cr_assert_eq(peer_requests(RCP_MSG_CLOSE), 4);
	close_clean(&c);
}

Test(client_ctrl, bad_arguments__inval)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c;
	uint8_t sum[32];

	test_opts(&o);
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_grant_open(c, NULL, 0, 1, RDMACPY_RIGHTS_RO, &g), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_grant_open(c, "r", 0, 0, RDMACPY_RIGHTS_RO, &g), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_grant_open(c, "r", 0, 1, (enum rdmacpy_rights)7, &g), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_grant_open(c, "has space", 0, 1, RDMACPY_RIGHTS_RO, &g),
		     RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_checksum(c, "r", 0, 0, sum), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_region_flush(c, NULL, 0, 1), RDMACPY_E_INVAL);
	rdmacpy_grant_close(NULL);
	rdmacpy_conn_close(NULL);
	close_clean(&c);
}
