/* SPDX-License-Identifier: BSD-3-Clause */
/* test_resume.c -- reconnect_ms on the verbs mock: an interrupted transfer runs again, whole,
 * on the reopened grant's keys, its callback once; a recreated region stops it; the pause
 * between attempts stays within its bounds */
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"
#include "tests/unit/client/helpers.h"

#define NWR   8
#define CHUNK 4096u
#define MOVED 0x10000000ull /* how far a restarted daemon maps the region from before */

static uint8_t *buf;

static void setup_buf(void)
{
	buf = aligned_alloc(4096, NWR * CHUNK);
	cr_assert_not_null(buf);
	memset(buf, 0x3c, NWR * CHUNK);
}

static void teardown_buf(void)
{
	free(buf);
	buf = NULL;
}

TestSuite(client_resume, .init = setup_buf, .fini = teardown_buf);

/* data_wrs -- RDMA WRITEs captured from mark on; rkeys of the first and the last */
static size_t data_wrs(size_t mark, uint32_t *first_rkey, uint32_t *last_rkey)
{
	size_t n = 0;

	for (size_t k = mark; k < rcp_mock_sent_count(); k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode != IBV_WR_RDMA_WRITE || !w->num_sge)
			continue;
		if (!n)
			*first_rkey = w->rkey;
		*last_rkey = w->rkey;
		n++;
	}
	return n;
}

/* data_wr -- the i-th RDMA WRITE from mark on */
static const struct rcp_mock_wr *data_wr(size_t mark, size_t i)
{
	for (size_t k = mark; k < rcp_mock_sent_count(); k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode == IBV_WR_RDMA_WRITE && w->num_sge && i-- == 0)
			return w;
	}
	return NULL;
}

/* break_write -- a write of NWR WRs whose third fails with retry-exceeded (the first two
 * completed): the daemon went away mid-transfer */
static struct rdmacpy_conn *break_write(struct op_seen *seen, struct rdmacpy_grant **g,
					struct rdmacpy_op **op, size_t *mark)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;

	test_opts(&o);
	o.moderation = RDMACPY_MOD_EVENT;
	o.chunk_size = CHUNK;
	o.reconnect_ms = 3000;
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, g), 0);
	rcp_mock_auto_complete(false);
	*mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, *g, 0, buf, NWR * CHUNK, op_seen_cb, seen, op), 0);
	cr_assert_not_null(data_wr(*mark, NWR - 1));
	struct ibv_cq *cq = data_wr(*mark, 0)->qp->send_cq;

	rcp_mock_push_wc_ok(cq, data_wr(*mark, 0)->wr_id, IBV_WC_RDMA_WRITE, CHUNK);
	rcp_mock_push_wc_ok(cq, data_wr(*mark, 1)->wr_id, IBV_WC_RDMA_WRITE, CHUNK);
	rcp_mock_push_wc_err(cq, data_wr(*mark, 2)->wr_id, IBV_WC_RETRY_EXC_ERR);
	rcp_mock_auto_complete(true);
	return c;
}

Test(client_resume, interrupted_write__runs_again_whole_on_new_keys__one_callback)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct op_seen seen = {0};
	struct op_seen later = {0};
	struct op_seen flushed = {0};
	struct rdmacpy_op *op2 = NULL;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	uint32_t first = 0;
	uint32_t last = 0;
	struct rdmacpy_conn *c;
	size_t mark;

	c = break_write(&seen, &g, &op, &mark);
	/* the daemon comes back with the region mapped elsewhere; meanwhile the application
	 * queues another write and a flush of the grant */
	peer_set_addr_base(PEER_GRANT_ADDR + MOVED);
	rdmacpy_conn_progress(c, 0);
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_INPROGRESS, "not resuming after the break");
	cr_assert_eq(seen.calls, 0, "the interrupted write finished during the break");
	cr_assert_eq(rdmacpy_write_async(c, g, CHUNK, buf, CHUNK, op_seen_cb, &later, &op2), 0);
	cr_assert_eq(rdmacpy_grant_flush_async(g, 0, CHUNK, op_seen_cb, &flushed, NULL), 0);
	for (int i = 0; i < 300 && (!seen.calls || !later.calls || !flushed.calls); i++)
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
	cr_assert_eq(seen.calls, 1, "the callback ran %d times", seen.calls);
	cr_assert_eq(later.calls, 1);
	cr_assert_eq(later.status, 0, "%s", rdmacpy_strerror(later.status));
	cr_assert_eq(flushed.calls, 1);
	cr_assert_eq(flushed.status, 0, "%s", rdmacpy_strerror(flushed.status));
	cr_assert_eq(seen.status, 0, "%s", rdmacpy_strerror(seen.status));
	cr_assert_eq(rdmacpy_op_status(op), 0);
	/* the first attempt's NWR WRs, then the whole transfer again (not only the lost part) */
	cr_assert_eq(data_wrs(mark, &first, &last), 2 * NWR + 1);
	cr_assert_neq(first, last, "the re-run used the old key 0x%x", last);
	/* every WR after the resume on the new address: the re-run from its start, the write
	 * queued meanwhile where its offset says */
	for (size_t k = NWR; k < 2 * NWR + 1; k++) {
		const struct rcp_mock_wr *w = data_wr(mark, k);

		cr_assert_eq(w->rkey, last);
		cr_assert_geq(w->remote_addr, PEER_GRANT_ADDR + MOVED);
		cr_assert_lt(w->remote_addr, PEER_GRANT_ADDR + MOVED + NWR * CHUNK);
	}
	cr_assert_eq(data_wr(mark, NWR)->remote_addr, data_wr(mark, 0)->remote_addr + MOVED);
	cr_assert_eq(peer_requests(RCP_MSG_OPEN), 2, "the grant was not opened again");
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.reconnects, 1);
	cr_assert_eq(ctr.reruns, 1);
	cr_assert_eq(rdmacpy_conn_status(c), 0);
	/* and the connection carries on */
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, CHUNK), 0);
	rdmacpy_op_free(&op);
	rdmacpy_op_free(&op2);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_resume, recreated_region__stale__nothing_written_again)
{
	struct op_seen seen = {0};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	uint32_t first = 0;
	uint32_t last = 0;
	struct rdmacpy_conn *c;
	size_t mark;

	c = break_write(&seen, &g, &op, &mark);
	/* the daemon comes back with the region made anew */
	peer_set_instance(PEER_INSTANCE + 1);
	for (int i = 0; i < 300 && !seen.calls; i++)
		rdmacpy_conn_progress(c, 10);
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.status, RDMACPY_E_STALE, "%s", rdmacpy_strerror(seen.status));
	cr_assert_eq(data_wrs(mark, &first, &last), NWR, "bytes were written into the new region");
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_STALE);
	cr_assert(strstr(rdmacpy_conn_last_error(c), "recreated"), "%s",
		  rdmacpy_conn_last_error(c));
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, CHUNK), RDMACPY_E_STALE);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_resume, remote_access_error__without_reconnect__fails_at_once)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct rdmacpy_conn *c;
	size_t mark;

	test_opts(&o);
	o.moderation = RDMACPY_MOD_EVENT;
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, CHUNK, NULL, NULL, &op), 0);
	rcp_mock_push_wc_err(data_wr(mark, 0)->qp->send_cq, data_wr(mark, 0)->wr_id,
			     IBV_WC_RETRY_EXC_ERR);
	cr_assert_eq(rdmacpy_op_wait(op, 1000), RDMACPY_E_RETRY_EXCEEDED);
	cr_assert_eq(peer_requests(RCP_MSG_OPEN), 1);
	rcp_mock_auto_complete(true);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_resume, backoff__bounded_exponential_jittered)
{
	unsigned int step = 0;
	unsigned int prev = 10;

	for (int i = 0; i < 200; i++) {
		unsigned int before = step < 10 ? 10 : step;
		unsigned int pause = rcp_backoff_pause(&step, 10, 500);

		cr_assert_geq(pause, before / 2, "pause %u below half of %u", pause, before);
		cr_assert_lt(pause, before / 2 + before, "pause %u above 1.5 x %u", pause, before);
		cr_assert_leq(step, 500, "the step grew past its bound: %u", step);
		cr_assert_geq(step, prev, "the step shrank: %u after %u", step, prev);
		if (i >= 6)
			cr_assert_eq(step, 500, "not at the bound after %d attempts", i + 1);
		prev = step;
	}
}

/* idle_conn -- a connection that moved a few bytes (so its CQ is known) and then sits idle */
static struct rdmacpy_conn *idle_conn(uint32_t reconnect_ms, struct ibv_cq **cq)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c;
	size_t mark;

	test_opts(&o);
	o.moderation = RDMACPY_MOD_EVENT;
	o.reconnect_ms = reconnect_ms;
	c = connect_ok(&o);
	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, CHUNK), 0);
	*cq = data_wr(mark, 0)->qp->send_cq;
	return c;
}

Test(client_resume, idle_connection__receive_flushed__resumes_and_serves)
{
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct ibv_cq *cq;
	struct rdmacpy_conn *c = idle_conn(3000, &cq);

	/* the daemon died while nothing was being sent: only a control receive says so */
	rcp_mock_push_wc_err(cq, RCP_CLI_RECV_TAG | 0, IBV_WC_WR_FLUSH_ERR);
	rdmacpy_conn_progress(c, 0);
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_INPROGRESS, "the break went unnoticed");
	/* a request meanwhile waits for the resume and is answered on the new session */
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	cr_assert_eq(rdmacpy_conn_status(c), 0);
	cr_assert_eq(peer_requests(RCP_MSG_OPEN), 2, "the grant was not opened again");
	close_clean(&c);
}

Test(client_resume, idle_connection__receive_flushed__without_reconnect__broken_at_once)
{
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct ibv_cq *cq;
	struct rdmacpy_conn *c = idle_conn(0, &cq);

	rcp_mock_push_wc_err(cq, RCP_CLI_RECV_TAG | 0, IBV_WC_WR_FLUSH_ERR);
	rdmacpy_conn_progress(c, 0);
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_BROKEN);
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), RDMACPY_E_BROKEN);
	close_clean(&c);
}
