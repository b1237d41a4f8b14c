/* SPDX-License-Identifier: BSD-3-Clause */
/* test_xfer.c -- the data path on the verbs mock: WR chains, batching, the send queue bound,
 * selective signaling, flush WRs, wake-ups per mode, completion errors, async completion,
 * timeouts */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/lib/conn.h"
#include "tests/unit/client/helpers.h"

#define BUF_LEN (1u << 20)

static uint8_t *buf;

/* setup_buf -- a zeroed test buffer */
static void setup_buf(void)
{
	buf = aligned_alloc(4096, BUF_LEN);
	cr_assert_not_null(buf);
	memset(buf, 0x5a, BUF_LEN);
}

/* teardown_buf -- free it */
static void teardown_buf(void)
{
	free(buf);
	buf = NULL;
}

/* is_flush -- a zero-length WR the engine posts behind an unsignaled run */
static bool is_flush(const struct rcp_mock_wr *w)
{
	return (w->opcode == IBV_WR_RDMA_WRITE || w->opcode == IBV_WR_RDMA_READ) && w->num_sge == 0;
}

/* flush_count -- flush WRs captured from mark on */
static size_t flush_count(size_t mark)
{
	size_t n = 0;
	size_t k;

	for (k = mark; k < rcp_mock_sent_count(); k++)
		n += is_flush(rcp_mock_sent(k));
	return n;
}

/* data_wr -- the i-th RDMA WR with data captured from index mark on; NULL past the end */
static const struct rcp_mock_wr *data_wr(size_t mark, size_t i)
{
	size_t n = rcp_mock_sent_count();
	size_t k;

	for (k = mark; k < n; k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode != IBV_WR_RDMA_WRITE && w->opcode != IBV_WR_RDMA_READ)
			continue;
		if (is_flush(w))
			continue;
		if (i-- == 0)
			return w;
	}
	return NULL;
}

/* data_count -- RDMA WRs captured from mark on */
static size_t data_count(size_t mark)
{
	size_t n = 0;

	while (data_wr(mark, n))
		n++;
	return n;
}

/* cq_of -- the CQ the data WRs from mark on complete on (so its channel wakes) */
static struct ibv_cq *cq_of(size_t mark)
{
	return data_wr(mark, 0)->qp->send_cq;
}

/* open_grant -- a RW grant on reg0 starting at offset 4096 */
static struct rdmacpy_grant *open_grant(struct rdmacpy_conn *c, uint64_t len)
{
	struct rdmacpy_grant *g = NULL;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 4096, len, RDMACPY_RIGHTS_RW, &g), 0);
	return g;
}

TestSuite(client_xfer, .init = setup_buf, .fini = teardown_buf);

Test(client_xfer, writev__wr_chain_sges_addresses_rkey)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_mem *m = NULL;
	struct iovec iov[3] = {{buf, 1000}, {buf + 1000, 3000}, {buf + 8192, 4096}};
	struct rdmacpy_range r[2] = {{0, 2000}, {10000, 6096}};
	const struct rcp_mock_wr *w;
	size_t mark;

	test_opts(&o);
	c = connect_ok(&o);
	g = open_grant(c, 65536);
	cr_assert_eq(rdmacpy_mem_reg(c, buf, BUF_LEN, &m), 0);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_writev(c, g, iov, 3, r, 2), 0);
	cr_assert_eq(data_count(mark), 2);

	w = data_wr(mark, 0);
	cr_assert_eq(w->opcode, IBV_WR_RDMA_WRITE);
	cr_assert_eq(w->rkey, PEER_RKEY_BASE);
	cr_assert_eq(w->remote_addr, PEER_GRANT_ADDR + 4096);
	cr_assert_eq(w->num_sge, 1, "contiguous iovecs merge into one SGE");
	cr_assert_eq(w->sg_list[0].addr, (uintptr_t)buf);
	cr_assert_eq(w->sg_list[0].length, 2000);

	w = data_wr(mark, 1);
	cr_assert_eq(w->remote_addr, PEER_GRANT_ADDR + 4096 + 10000);
	cr_assert_eq(w->num_sge, 2);
	cr_assert_eq(w->sg_list[0].addr, (uintptr_t)buf + 2000);
	cr_assert_eq(w->sg_list[0].length, 2000);
	cr_assert_eq(w->sg_list[1].addr, (uintptr_t)buf + 8192);
	cr_assert_eq(w->sg_list[1].length, 4096);
	cr_assert_eq(w->sg_list[0].lkey, w->sg_list[1].lkey);
	cr_assert(w->send_flags & IBV_SEND_SIGNALED, "the op's last WR is signaled");
	cr_assert_eq(data_wr(mark, 0)->call, w->call, "one post_send for the chain");

	/* a range past the grant is refused before anything is posted */
	r[1].offset = 65536 - 100;
	cr_assert_eq(rdmacpy_writev(c, g, iov, 3, r, 2), RDMACPY_E_RANGE);
	r[1].offset = 0;
	r[1].length = 1;
	cr_assert_eq(rdmacpy_writev(c, g, iov, 3, r, 2), RDMACPY_E_INVAL, "size mismatch");
	cr_assert_eq(data_count(mark), 2);
	rdmacpy_mem_dereg(&m);
	cr_assert_null(m);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* memory that cannot be pinned for writing (a file mapped read-only) is registered for reading:
 * writes from it use that registration, a read into it goes to the cache */
Test(client_xfer, mem_reg__read_only_memory_serves_as_a_source_only)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_mem *m = NULL;
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	size_t mark;

	test_opts(&o);
	c = connect_ok(&o);
	g = open_grant(c, 65536);
	rcp_mock_fail_after(RCP_MOCK_REG_MR, 0, EFAULT, 1);
	cr_assert_eq(rdmacpy_mem_reg(c, buf, BUF_LEN, &m), 0);
	cr_assert_not_null(m);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 4096), 0);
	cr_assert_eq(data_wr(mark, 0)->opcode, IBV_WR_RDMA_WRITE);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.cache_misses, 0, "the write used the read-only registration");
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 4096), 0);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.cache_misses, 1, "the read registered its buffer for writing itself");
	rdmacpy_mem_dereg(&m);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, readv__split_at_max_sge_rd)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct iovec iov[10];
	struct rdmacpy_range r = {0, 1000};
	struct rdmacpy_counters ctr;
	size_t mark;
	int i;

	for (i = 0; i < 10; i++) {
		iov[i].iov_base = buf + i * 200;
		iov[i].iov_len = 100;
	}
	test_opts(&o);
	peer_start(NULL);
	rcp_mock_device_attr()->max_sge_rd = 4;
	c = connect_started(&o);
	g = open_grant(c, 65536);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_readv(c, g, iov, 10, &r, 1), 0);
	cr_assert_eq(data_count(mark), 3);
	for (i = 0; i < 3; i++) {
		const struct rcp_mock_wr *w = data_wr(mark, (size_t)i);

		cr_assert_eq(w->opcode, IBV_WR_RDMA_READ);
		cr_assert_eq(w->num_sge, i < 2 ? 4 : 2);
		cr_assert_eq(w->remote_addr, PEER_GRANT_ADDR + 4096 + (uint64_t)i * 400);
	}
	/* unregistered buffers went through the cache, one registration per iovec */
	ctr.size = sizeof(ctr);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.cache_misses, 10);
	cr_assert_eq(ctr.bytes_read, 1000);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_MR), 1, "per-op registrations are dropped");
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, write__one_post_send_per_batch)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	unsigned int calls;
	size_t mark;
	size_t i;

	test_opts(&o);
	o.chunk_size = 4096;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	mark = rcp_mock_sent_count();
	calls = rcp_mock_calls(RCP_MOCK_POST_SEND);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 100 * 4096), 0);
	cr_assert_eq(data_count(mark), 100);
	cr_assert_eq(rcp_mock_calls(RCP_MOCK_POST_SEND) - calls, 4, "32 + 32 + 32 + 4");
	for (i = 0; i < 100; i++) {
		const struct rcp_mock_wr *w = data_wr(mark, i);

		cr_assert_eq(w->call, data_wr(mark, 0)->call + i / 32);
		cr_assert_eq(w->remote_addr, PEER_GRANT_ADDR + 4096 + i * 4096);
		cr_assert_eq(w->sg_list[0].length, 4096);
	}
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* drive -- act as the device: complete the signaled WRs captured so far, checking that no
 * more than depth WRs are ever outstanding, until op finishes */
static void drive(struct rdmacpy_conn *c, struct rdmacpy_op *op, size_t mark, size_t depth)
{
	size_t retired = mark;
	int spins = 0;

	while (rdmacpy_op_status(op) == RDMACPY_E_INPROGRESS) {
		size_t n = rcp_mock_sent_count();
		size_t k;

		cr_assert_leq(n - retired, depth, "%zu WRs outstanding on a %zu-deep SQ",
			      n - retired, depth);
		for (k = retired; k < n; k++) {
			const struct rcp_mock_wr *w = rcp_mock_sent(k);

			if (w->send_flags & IBV_SEND_SIGNALED) {
				rcp_mock_push_wc_ok(w->qp->send_cq, w->wr_id, IBV_WC_RDMA_WRITE, 0);
				retired = k + 1;
			}
		}
		rdmacpy_conn_progress(c, 1);
		cr_assert_lt(++spins, 20000, "no progress");
	}
}

Test(client_xfer, write__send_queue_never_overflows)
{
	enum rdmacpy_moderation modes[] = {RDMACPY_MOD_POLL, RDMACPY_MOD_EVENT,
					   RDMACPY_MOD_MODERATED, RDMACPY_MOD_ADAPTIVE};
	size_t mi;

	for (mi = 0; mi < 4; mi++) {
		struct rdmacpy_conn_opts o;
		struct rdmacpy_conn *c;
		struct rdmacpy_grant *g;
		struct rdmacpy_op *op = NULL;
		size_t mark;

		test_opts(&o);
		o.chunk_size = 4096;
		o.queue_depth = 16;
		o.moderation = modes[mi];
		o.mod_count = 64; /* more than the SQ: the policy must still signal in time */
		c = connect_ok(&o);
		g = open_grant(c, BUF_LEN);
		rcp_mock_auto_complete(false);
		mark = rcp_mock_sent_count();
		cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 100 * 4096, NULL, NULL, &op), 0);
		drive(c, op, mark, 16);
		cr_assert_eq(rdmacpy_op_status(op), 0);
		cr_assert_eq(data_count(mark), 100);
		rdmacpy_op_free(&op);
		rcp_mock_auto_complete(true);
		rdmacpy_grant_close(&g);
		close_clean(&c);
	}
}

/* signaled_in_write -- signaled WRs among the 64 of one write in a mode */
static size_t signaled_in_write(enum rdmacpy_moderation mode, uint32_t count)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_counters ctr;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	size_t mark;
	size_t sig = 0;
	size_t i;

	test_opts(&o);
	o.chunk_size = 4096;
	o.moderation = mode;
	o.mod_count = count;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 64 * 4096), 0);
	cr_assert_eq(data_count(mark), 64);
	for (i = 0; i < 64; i++)
		sig += (data_wr(mark, i)->send_flags & IBV_SEND_SIGNALED) != 0;
	cr_assert(data_wr(mark, 63)->send_flags & IBV_SEND_SIGNALED, "last WR signaled");
	ctr.size = sizeof(ctr);
	rdmacpy_conn_counters(c, &ctr);
	cr_assert_eq(ctr.bytes_written, 64 * 4096);
	cr_assert_not(ctr.hw_moderation);
	rdmacpy_grant_close(&g);
	close_clean(&c);
	return sig;
}

Test(client_xfer, signaling__per_mode)
{
	cr_assert_eq(signaled_in_write(RDMACPY_MOD_EVENT, 8), 64);
	cr_assert_eq(signaled_in_write(RDMACPY_MOD_MODERATED, 8), 8);
	cr_assert_eq(signaled_in_write(RDMACPY_MOD_POLL, 4), 16);
	cr_assert_lt(signaled_in_write(RDMACPY_MOD_ADAPTIVE, 16), 64);
}

Test(client_xfer, moderation__hardware_used_where_the_device_has_it)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_counters ctr;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;

	test_opts(&o);
	peer_start(NULL);
	rcp_mock_set_cq_moderation(true);
	c = connect_started(&o);
	g = open_grant(c, BUF_LEN);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 65536), 0);
	ctr.size = sizeof(ctr);
	rdmacpy_conn_counters(c, &ctr);
	cr_assert(ctr.hw_moderation);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* count_cb -- completion callback: count and remember the status */
static void count_cb(struct rdmacpy_op *op, int status, void *ctx)
{
	int *n = ctx;

	(void)op;
	cr_assert_eq(status, 0);
	(*n)++;
}

Test(client_xfer, async__callbacks_fd_and_detached_ops)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_op *op[3] = {NULL};
	int done = 0;
	int i;

	test_opts(&o);
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	cr_assert_geq(rdmacpy_conn_fd(c), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(rdmacpy_read_async(c, g, (uint64_t)i * 4096, buf + i * 4096, 4096,
						count_cb, &done, &op[i]),
			     0);
	/* a handle nobody keeps frees itself after its callback */
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 100, count_cb, &done, NULL), 0);
	for (i = 0; i < 100 && done < 4; i++)
		cr_assert_geq(rdmacpy_conn_progress(c, 100), 0);
	cr_assert_eq(done, 4);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(rdmacpy_op_status(op[i]), 0);
		cr_assert_eq(rdmacpy_op_wait(op[i], 0), 0);
		rdmacpy_op_free(&op[i]);
		cr_assert_null(op[i]);
	}
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, completion_error__fails_only_its_operation)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_op *a = NULL;
	struct rdmacpy_op *b = NULL;
	struct rdmacpy_op *d = NULL;
	size_t mark;
	int i;

	test_opts(&o);
	o.moderation = RDMACPY_MOD_EVENT;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 4096, NULL, NULL, &a), 0);
	cr_assert_eq(rdmacpy_write_async(c, g, 8192, buf, 4096, NULL, NULL, &b), 0);
	cr_assert_eq(data_count(mark), 2);
	rcp_mock_push_wc_err(cq_of(mark), data_wr(mark, 0)->wr_id, IBV_WC_REM_ACCESS_ERR);
	rcp_mock_push_wc_ok(cq_of(mark), data_wr(mark, 1)->wr_id, IBV_WC_RDMA_WRITE, 4096);
	for (i = 0; i < 100 && rdmacpy_op_status(b) == RDMACPY_E_INPROGRESS; i++)
		rdmacpy_conn_progress(c, 10);
	cr_assert_eq(rdmacpy_op_status(a), RDMACPY_E_REMOTE_ACCESS);
	cr_assert_eq(rdmacpy_op_status(b), 0);
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 1, NULL, NULL, &d), RDMACPY_E_BROKEN);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 1), RDMACPY_E_BROKEN);
	rdmacpy_op_free(&a);
	rdmacpy_op_free(&b);
	rcp_mock_auto_complete(true);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, completion_error__later_ops_flushed_and_nothing_hangs)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_op *a = NULL;
	struct rdmacpy_op *b = NULL;
	size_t mark;

	test_opts(&o);
	o.chunk_size = 4096;
	o.mod_count = 4;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_read_async(c, g, 0, buf, 8 * 4096, NULL, NULL, &a), 0);
	cr_assert_eq(rdmacpy_read_async(c, g, 0, buf + 65536, 8 * 4096, NULL, NULL, &b), 0);
	cr_assert_eq(data_count(mark), 16);
	/* the third WR of a fails (unsignaled WRs fail with a completion too), the rest flush */
	rcp_mock_push_wc_err(cq_of(mark), data_wr(mark, 2)->wr_id, IBV_WC_RETRY_EXC_ERR);
	for (size_t k = 3; k < 16; k++)
		rcp_mock_push_wc_err(cq_of(mark), data_wr(mark, k)->wr_id, IBV_WC_WR_FLUSH_ERR);
	cr_assert_eq(rdmacpy_op_wait(a, 1000), RDMACPY_E_RETRY_EXCEEDED);
	cr_assert_eq(rdmacpy_op_wait(b, 1000), RDMACPY_E_FLUSHED);
	rdmacpy_op_free(&a);
	rdmacpy_op_free(&b);
	rcp_mock_auto_complete(true);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, sync__times_out_when_no_completion_comes)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;

	test_opts(&o);
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	rcp_mock_auto_complete(false);
	c->opts.timeout_ms = 200;
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 4096), RDMACPY_E_TIMEOUT);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 4096), RDMACPY_E_BROKEN);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, post_failure__fails_the_op_and_breaks_the_connection)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;

	test_opts(&o);
	o.chunk_size = 4096;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	rcp_mock_post_send_fail_at(5, -ENOMEM);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 16 * 4096), RDMACPY_E_NOMEM);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 1), RDMACPY_E_BROKEN);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, stripe__four_qps_each_with_its_own_rkey)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct ibv_qp *qps[4] = {NULL};
	uint64_t covered = 0;
	size_t mark;
	size_t i;
	size_t nq = 0;

	test_opts(&o);
	o.nqp = 4;
	o.chunk_size = 65536;
	c = connect_ok(&o);
	g = open_grant(c, BUF_LEN);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, BUF_LEN), 0);
	cr_assert_eq(data_count(mark), 16);
	for (i = 0; i < 16; i++) {
		const struct rcp_mock_wr *w = data_wr(mark, i);
		size_t k;

		for (k = 0; k < nq && qps[k] != w->qp; k++)
			;
		if (k == nq)
			qps[nq++] = w->qp;
		cr_assert_eq(w->rkey,
			     PEER_RKEY_BASE + (uint32_t)(w->remote_addr - PEER_GRANT_ADDR - 4096) /
						      (BUF_LEN / 4),
			     "WR to %llx carries rkey %x", (unsigned long long)w->remote_addr,
			     w->rkey);
		covered += w->sg_list[0].length;
	}
	cr_assert_eq(nq, 4);
	cr_assert_eq(covered, BUF_LEN);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* mod_conn -- a connection in mode with count and period on a healthy mock daemon */
static struct rdmacpy_conn *mod_conn(enum rdmacpy_moderation mode, uint32_t count,
				     uint32_t period_us)
{
	struct rdmacpy_conn_opts o;

	test_opts(&o);
	o.chunk_size = 4096;
	o.moderation = mode;
	o.mod_count = count;
	o.mod_period_us = period_us;
	return connect_ok(&o);
}

/* run_ops -- submit n one-WR writes back to back, then progress until all are done; the
 * wake-ups that took */
static uint64_t run_ops(struct rdmacpy_conn *c, struct rdmacpy_grant *g, int n)
{
	struct rdmacpy_counters c0;
	struct rdmacpy_counters c1;
	int done = 0;
	int i;

	c0.size = sizeof(c0);
	rdmacpy_conn_counters(c, &c0);
	for (i = 0; i < n; i++)
		cr_assert_eq(rdmacpy_write_async(c, g, (uint64_t)i * 4096, buf + i * 4096, 4096,
						 count_cb, &done, NULL),
			     0);
	for (i = 0; i < 1000 && done < n; i++)
		cr_assert_geq(rdmacpy_conn_progress(c, 100), 0);
	cr_assert_eq(done, n);
	c1.size = sizeof(c1);
	rdmacpy_conn_counters(c, &c1);
	return c1.wakeups - c0.wakeups;
}

Test(client_xfer, moderated__async_op_ends_unsignaled_and_a_flush_wr_follows_the_period)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_MODERATED, 16, 20000);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);
	struct rdmacpy_op *op = NULL;
	const struct rcp_mock_wr *f = NULL;
	size_t mark = rcp_mock_sent_count();
	size_t k;
	int i;

	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 4 * 4096, NULL, NULL, &op), 0);
	cr_assert_eq(data_count(mark), 4);
	for (k = 0; k < 4; k++)
		cr_assert_not(data_wr(mark, k)->send_flags & IBV_SEND_SIGNALED, "WR %zu", k);
	/* within the period nothing is flushed and the op cannot have completed */
	cr_assert_eq(rdmacpy_conn_progress(c, 0), 0);
	cr_assert_eq(flush_count(mark), 0);
	cr_assert_eq(rdmacpy_op_status(op), RDMACPY_E_INPROGRESS);
	/* once the period is over, a zero-length signaled WR to the same grant retires it */
	for (i = 0; i < 200 && rdmacpy_op_status(op) == RDMACPY_E_INPROGRESS; i++) {
		usleep(1000);
		rdmacpy_conn_progress(c, 0);
	}
	cr_assert_eq(rdmacpy_op_status(op), 0);
	cr_assert_eq(flush_count(mark), 1);
	for (k = mark; k < rcp_mock_sent_count(); k++)
		if (is_flush(rcp_mock_sent(k)))
			f = rcp_mock_sent(k);
	cr_assert_eq(f->opcode, IBV_WR_RDMA_WRITE);
	cr_assert(f->send_flags & IBV_SEND_SIGNALED);
	cr_assert_eq(f->rkey, data_wr(mark, 3)->rkey);
	cr_assert_eq(f->remote_addr, data_wr(mark, 3)->remote_addr);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, moderated__waiting_on_an_op_flushes_at_once)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_MODERATED, 16, 1000000);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);
	struct rdmacpy_op *op = NULL;
	size_t mark = rcp_mock_sent_count();

	cr_assert_eq(rdmacpy_read_async(c, g, 0, buf, 4096, NULL, NULL, &op), 0);
	cr_assert_not(data_wr(mark, 0)->send_flags & IBV_SEND_SIGNALED);
	/* a period of a second, but the application waits: no reason to hold the run */
	cr_assert_eq(rdmacpy_op_wait(op, 500), 0);
	cr_assert_eq(flush_count(mark), 1);
	/* behind reads the flush is a read: a read-only grant refuses even empty writes */
	cr_assert_eq(rcp_mock_sent(rcp_mock_sent_count() - 1)->opcode, IBV_WR_RDMA_READ);
	rdmacpy_op_free(&op);
	/* a synchronous call signals its own last WR instead */
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 4096), 0);
	cr_assert(data_wr(mark, 0)->send_flags & IBV_SEND_SIGNALED);
	cr_assert_eq(flush_count(mark), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, wakeups__event_one_per_completion)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_EVENT, 16, 200);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);
	size_t mark = rcp_mock_sent_count();
	size_t k;

	cr_assert_geq(run_ops(c, g, 16), 16);
	for (k = 0; k < 16; k++)
		cr_assert(data_wr(mark, k)->send_flags & IBV_SEND_SIGNALED);
	cr_assert_eq(flush_count(mark), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, wakeups__moderated_takes_a_busy_batch_without_waking)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_MODERATED, 16, 200);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);
	struct rdmacpy_counters c0;
	struct rdmacpy_counters c1;
	size_t mark = rcp_mock_sent_count();

	c0.size = sizeof(c0);
	rdmacpy_conn_counters(c, &c0);
	/* 16 ops, the 16th WR signaled: its completion retires all of them */
	cr_assert_eq(run_ops(c, g, 16), 0);
	c1.size = sizeof(c1);
	rdmacpy_conn_counters(c, &c1);
	cr_assert_eq(c1.wrs_signaled - c0.wrs_signaled, 1);
	cr_assert_eq(flush_count(mark), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, wakeups__poll_none_while_busy)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_POLL, 4, 200);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);

	cr_assert_eq(run_ops(c, g, 16), 0);
	cr_assert_eq(run_ops(c, g, 3), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_xfer, completion_error__unsignaled_wr_fails_only_its_op)
{
	struct rdmacpy_conn *c = mod_conn(RDMACPY_MOD_MODERATED, 16, 1000000);
	struct rdmacpy_grant *g = open_grant(c, BUF_LEN);
	struct rdmacpy_op *op[3] = {NULL};
	size_t mark;
	size_t k;
	int i;

	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	for (i = 0; i < 3; i++)
		cr_assert_eq(rdmacpy_write_async(c, g, (uint64_t)i * 8192, buf, 8192, NULL, NULL,
						 &op[i]),
			     0);
	cr_assert_eq(data_count(mark), 6);
	for (k = 0; k < 6; k++)
		cr_assert_not(data_wr(mark, k)->send_flags & IBV_SEND_SIGNALED);
	/* the device reports the failing WR itself (b's first), then flushes the rest; its
	 * error completion also says that a's WRs before it went through */
	rcp_mock_push_wc_err(cq_of(mark), data_wr(mark, 2)->wr_id, IBV_WC_REM_ACCESS_ERR);
	for (k = 3; k < 6; k++)
		rcp_mock_push_wc_err(cq_of(mark), data_wr(mark, k)->wr_id, IBV_WC_WR_FLUSH_ERR);
	cr_assert_eq(rdmacpy_op_wait(op[2], 1000), RDMACPY_E_FLUSHED);
	cr_assert_eq(rdmacpy_op_status(op[0]), 0);
	cr_assert_eq(rdmacpy_op_status(op[1]), RDMACPY_E_REMOTE_ACCESS);
	cr_assert_eq(flush_count(mark), 0, "no flush WR into a failed QP");
	for (i = 0; i < 3; i++)
		rdmacpy_op_free(&op[i]);
	rcp_mock_auto_complete(true);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}
