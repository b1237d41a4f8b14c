/* SPDX-License-Identifier: BSD-3-Clause */
/* fabric_test.c -- the RDMA fabric works: connect, write, read back, refuse a bad key */

/*
 * This test deliberately uses raw verbs and rdma_cm rather than the project's layers: it is
 * the baseline that says the device, the provider and the connection manager behave, so a
 * failure here points at the fabric, not at rdmacpy.
 */

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>
#include <endian.h>

#define BUF_SIZE (1u << 20)
#define POLL_TIMEOUT_MS 10000

/* What the passive side tells the active side in the accept private data. */
struct fabric_window {
	uint64_t addr;
	uint32_t rkey;
	uint32_t len;
};

struct fabric_server {
	struct rdma_cm_id *listen_id;
	struct rdma_cm_id *conn_id;
	struct ibv_mr *mr;
	uint8_t *buf;
	pthread_t thread;
	int error;
};

static struct fabric_server srv;
static struct rdma_cm_id *cli_id;
static struct ibv_mr *cli_mr;
static uint8_t *cli_buf;

/* test_ip -- the address of this node's rxe netdev, set by scripts/softroce */
static const char *test_ip(void)
{
	return getenv("RDMACPY_TEST_IP");
}

/* qp_attr -- a small reliable-connected QP with its own send and receive CQs */
static void qp_attr(struct ibv_qp_init_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->qp_type = IBV_QPT_RC;
	attr->cap.max_send_wr = 16;
	attr->cap.max_recv_wr = 4;
	attr->cap.max_send_sge = 1;
	attr->cap.max_recv_sge = 1;
	attr->sq_sig_all = 1;
}

/* server_main -- accept one connection and publish a 1 MiB remotely accessible buffer */
static void *server_main(void *arg)
{
	struct ibv_qp_init_attr attr;
	struct rdma_conn_param param;
	struct fabric_window win;

	(void)arg;
	if (rdma_get_request(srv.listen_id, &srv.conn_id)) {
		srv.error = errno;
		return NULL;
	}
	qp_attr(&attr);
	if (rdma_create_qp(srv.conn_id, NULL, &attr)) {
		srv.error = errno;
		return NULL;
	}
	srv.mr = ibv_reg_mr(srv.conn_id->pd, srv.buf, BUF_SIZE,
			    IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE);
	if (!srv.mr) {
		srv.error = errno;
		return NULL;
	}
	win.addr = (uintptr_t)srv.buf;
	win.rkey = srv.mr->rkey;
	win.len = BUF_SIZE;
	memset(&param, 0, sizeof(param));
	param.private_data = &win;
	param.private_data_len = sizeof(win);
	param.responder_resources = 4;
	param.initiator_depth = 4;
	if (rdma_accept(srv.conn_id, &param))
		srv.error = errno;
	return NULL;
}

/* test_addr -- this node's address with the given port (network order) */
static void test_addr(struct sockaddr_in *sin, uint16_t port_be)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = port_be;
	cr_assert_eq(inet_pton(AF_INET, test_ip(), &sin->sin_addr), 1, "bad RDMACPY_TEST_IP");
}

/* fabric_setup -- listen on an ephemeral port, connect to it, read the server's window */
static void fabric_setup(void)
{
	struct sockaddr_in sin;
	struct ibv_qp_init_attr attr;

	if (!test_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");

	srv.buf = aligned_alloc(4096, BUF_SIZE);
	cli_buf = aligned_alloc(4096, BUF_SIZE);
	cr_assert(srv.buf && cli_buf);
	memset(srv.buf, 0, BUF_SIZE);

	/* A NULL event channel makes the ids synchronous: each call waits for its event. */
	cr_assert_eq(rdma_create_id(NULL, &srv.listen_id, NULL, RDMA_PS_TCP), 0);
	test_addr(&sin, 0);
	cr_assert_eq(rdma_bind_addr(srv.listen_id, (struct sockaddr *)&sin), 0, "bind: %s",
		     strerror(errno));
	cr_assert_eq(rdma_listen(srv.listen_id, 1), 0, "listen: %s", strerror(errno));
	cr_assert_eq(pthread_create(&srv.thread, NULL, server_main, NULL), 0);

	cr_assert_eq(rdma_create_id(NULL, &cli_id, NULL, RDMA_PS_TCP), 0);
	test_addr(&sin, rdma_get_src_port(srv.listen_id));
	cr_assert_eq(rdma_resolve_addr(cli_id, NULL, (struct sockaddr *)&sin, 2000), 0,
		     "resolve_addr: %s", strerror(errno));
	cr_assert_eq(rdma_resolve_route(cli_id, 2000), 0, "resolve_route: %s", strerror(errno));
	qp_attr(&attr);
	cr_assert_eq(rdma_create_qp(cli_id, NULL, &attr), 0, "create_qp: %s", strerror(errno));
	cli_mr = ibv_reg_mr(cli_id->pd, cli_buf, BUF_SIZE, IBV_ACCESS_LOCAL_WRITE);
	cr_assert_not_null(cli_mr, "reg_mr: %s", strerror(errno));
	cr_assert_eq(rdma_connect(cli_id, NULL), 0, "connect: %s", strerror(errno));
	pthread_join(srv.thread, NULL);
	cr_assert_eq(srv.error, 0, "server side: %s", strerror(srv.error));
}

/* fabric_teardown -- disconnect and release everything, in reverse order */
static void fabric_teardown(void)
{
	/*
	 * No rdma_disconnect: on synchronous ids it waits for the peer's DREP, and the peer is
	 * this same thread. Destroying the ids tears the connection down in the kernel.
	 */
	if (cli_id) {
		if (cli_mr)
			ibv_dereg_mr(cli_mr);
		rdma_destroy_ep(cli_id);
	}
	if (srv.conn_id) {
		if (srv.mr)
			ibv_dereg_mr(srv.mr);
		rdma_destroy_ep(srv.conn_id);
	}
	if (srv.listen_id)
		rdma_destroy_ep(srv.listen_id);
	free(srv.buf);
	free(cli_buf);
}

/* now_ms -- monotonic milliseconds, for bounding completion waits */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* one_sided -- post one RDMA op and wait (bounded) for its completion; returns the status */
static enum ibv_wc_status one_sided(enum ibv_wr_opcode op, uint32_t rkey)
{
	struct fabric_window *win = (struct fabric_window *)cli_id->event->param.conn.private_data;
	struct ibv_sge sge = {
		.addr = (uintptr_t)cli_buf, .length = BUF_SIZE, .lkey = cli_mr->lkey};
	struct ibv_send_wr wr;
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	uint64_t deadline = now_ms() + POLL_TIMEOUT_MS;
	int n;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = 42;
	wr.opcode = op;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = win->addr;
	wr.wr.rdma.rkey = rkey;
	cr_assert_eq(ibv_post_send(cli_id->qp, &wr, &bad), 0);
	do {
		n = ibv_poll_cq(cli_id->send_cq, 1, &wc);
		cr_assert_geq(n, 0);
	} while (n == 0 && now_ms() < deadline);
	cr_assert_eq(n, 1, "no completion within %d ms", POLL_TIMEOUT_MS);
	cr_assert_eq(wc.wr_id, 42);
	return wc.status;
}

/* server_rkey -- the rkey the passive side published */
static uint32_t server_rkey(void)
{
	return ((struct fabric_window *)cli_id->event->param.conn.private_data)->rkey;
}

/* fill_random -- deterministic pseudo-random bytes (seeded per run, printed on failure) */
static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

TestSuite(fabric, .init = fabric_setup, .fini = fabric_teardown, .timeout = 60);

Test(fabric, write_then_read_1MiB__bytes_equal)
{
	unsigned seed = (unsigned)time(NULL);
	uint8_t *expect = malloc(BUF_SIZE);

	cr_assert_not_null(expect);
	fill_random(expect, BUF_SIZE, seed);
	memcpy(cli_buf, expect, BUF_SIZE);
	cr_assert_eq(one_sided(IBV_WR_RDMA_WRITE, server_rkey()), IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(srv.buf, expect, BUF_SIZE), 0, "remote memory differs (seed %u)",
		     seed);

	memset(cli_buf, 0, BUF_SIZE);
	cr_assert_eq(one_sided(IBV_WR_RDMA_READ, server_rkey()), IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(cli_buf, expect, BUF_SIZE), 0, "read back differs (seed %u)", seed);
	free(expect);
}

Test(fabric, write_with_wrong_rkey__remote_access_error)
{
	memset(cli_buf, 0xab, BUF_SIZE);
	cr_assert_eq(one_sided(IBV_WR_RDMA_WRITE, server_rkey() ^ 0x5a5a00), IBV_WC_REM_ACCESS_ERR);
	/* The refused write must not have touched the server's memory. */
	for (size_t i = 0; i < BUF_SIZE; i++)
		cr_assert_eq(srv.buf[i], 0, "byte %zu written despite the bad key", i);
}
