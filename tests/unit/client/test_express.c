/* SPDX-License-Identifier: BSD-3-Clause */
/* test_express.c -- the short path for small synchronous POLL-mode transfers: when it takes a
 * transfer, what it posts, and that errors, timeouts and ordering behave as on the long path */
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"
#include "tests/unit/client/helpers.h"

#define BUF_LEN (64u * 1024u)

static uint8_t *buf;

/* setup_buf -- a test buffer */
static void setup_buf(void)
{
	buf = aligned_alloc(4096, BUF_LEN);
	cr_assert_not_null(buf);
	memset(buf, 0x3c, BUF_LEN);
}

/* teardown_buf -- free it */
static void teardown_buf(void)
{
	free(buf);
	buf = NULL;
}

TestSuite(client_express, .init = setup_buf, .fini = teardown_buf);

/* poll_conn -- a connection in mode (POLL for the express path) with nqp QPs, 4 KiB chunks */
static struct rdmacpy_conn *poll_conn(unsigned int nqp, enum rdmacpy_moderation mode)
{
	struct rdmacpy_conn_opts o;

	test_opts(&o);
	o.moderation = mode;
	o.nqp = nqp;
	o.chunk_size = 4096;
	return connect_ok(&o);
}

/* grant -- a RW grant on reg0 at offset 4096 */
static struct rdmacpy_grant *grant(struct rdmacpy_conn *c)
{
	struct rdmacpy_grant *g = NULL;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 4096, BUF_LEN, RDMACPY_RIGHTS_RW, &g), 0);
	return g;
}

/* rdma_sent -- RDMA WRs captured from mark on */
static size_t rdma_sent(size_t mark, const struct rcp_mock_wr **last)
{
	size_t n = 0;

	for (size_t k = mark; k < rcp_mock_sent_count(); k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode == IBV_WR_RDMA_READ || w->opcode == IBV_WR_RDMA_WRITE) {
			n++;
			*last = w;
		}
	}
	return n;
}

Test(client_express, small_read__one_signaled_wr_and_counted)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);
	const struct rcp_mock_wr *w = NULL;
	struct rdmacpy_counters before;
	struct rdmacpy_counters after;
	size_t mark = rcp_mock_sent_count();

	before.size = sizeof(before);
	rdmacpy_conn_counters(c, &before);
	cr_assert_eq(rcp_express(c, g, RCP_SGL_READ, 128, buf, 64), 0);
	after.size = sizeof(after);
	rdmacpy_conn_counters(c, &after);
	cr_assert_eq(rdma_sent(mark, &w), 1);
	cr_assert_eq(w->opcode, IBV_WR_RDMA_READ);
	cr_assert(w->send_flags & IBV_SEND_SIGNALED);
	cr_assert_eq(w->num_sge, 1);
	cr_assert_eq(w->sg_list[0].addr, (uintptr_t)buf);
	cr_assert_eq(w->sg_list[0].length, 64);
	cr_assert_eq(w->remote_addr, g->q[0].addr + 128);
	cr_assert_eq(w->rkey, g->q[0].rkey);
	cr_assert_eq(after.wrs_posted - before.wrs_posted, 1);
	cr_assert_eq(after.wrs_signaled - before.wrs_signaled, 1);
	cr_assert_eq(after.post_calls - before.post_calls, 1);
	cr_assert_eq(after.bytes_read - before.bytes_read, 64);
	cr_assert_eq(c->qp[0].sq_head, c->qp[0].sq_tail, "the slot was not retired");
	/* the public call takes the same path and the connection stays usable after it */
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 100), 0);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 3 * 4096), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* engine_only -- a connection the express path leaves alone still reads */
static void engine_only(unsigned int nqp, enum rdmacpy_moderation mode)
{
	struct rdmacpy_conn *c = poll_conn(nqp, mode);
	struct rdmacpy_grant *g = grant(c);

	cr_assert_eq(rcp_express(c, g, RCP_SGL_READ, 0, buf, 64), RCP_EXPRESS_DECLINED);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 64), 0);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_express, declines__what_the_engine_must_take)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);
	struct rdmacpy_op *op = NULL;

	/* over a chunk, past the grant, empty, no buffer */
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, 0, buf, 4097), RCP_EXPRESS_DECLINED);
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, BUF_LEN - 8, buf, 16), RCP_EXPRESS_DECLINED);
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, 0, buf, 0), RCP_EXPRESS_DECLINED);
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, 0, NULL, 8), RCP_EXPRESS_DECLINED);
	/* the long path still answers those as before */
	cr_assert_eq(rdmacpy_write(c, g, BUF_LEN - 8, buf, 16), RDMACPY_E_RANGE);
	/* an operation in flight: the express WR would overtake it */
	rcp_mock_auto_complete(false);
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, 64, NULL, NULL, &op), 0);
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, 0, buf, 64), RCP_EXPRESS_DECLINED);
	rcp_mock_auto_complete(true);
	/* posted behind op through the engine, its completion retires both in order */
	cr_assert_eq(rdmacpy_write(c, g, 4096, buf, 64), 0);
	cr_assert_eq(rdmacpy_op_wait(op, 1000), 0);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);

	/* several QPs stripe; other modes moderate: both belong to the engine */
	engine_only(4, RDMACPY_MOD_POLL);
	engine_only(1, RDMACPY_MOD_MODERATED);
	engine_only(1, RDMACPY_MOD_EVENT);
}

Test(client_express, chunk_limit__default_and_unset)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	const struct rcp_mock_wr *w = NULL;
	size_t mark;

	/* the default cut is 1 MiB per WR */
	rdmacpy_conn_opts_init(&o);
	cr_assert_eq(o.chunk_size, 1024u * 1024u);
	test_opts(&o);
	o.moderation = RDMACPY_MOD_POLL;
	o.chunk_size = 0; /* no cut below the device's limit: still the short path */
	c = connect_ok(&o);
	g = grant(c);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rcp_express(c, g, RCP_SGL_WRITE, 0, buf, BUF_LEN), 0);
	cr_assert_eq(rdma_sent(mark, &w), 1);
	cr_assert_eq(w->sg_list[0].length, BUF_LEN);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_express, completion_error__named_and_connection_broken)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);
	struct ibv_cq *cq = c->qp[0].cq;
	uint64_t seq = c->qp[0].sq_head;

	rcp_mock_auto_complete(false);
	/* the error is already queued when the express path polls */
	rcp_mock_push_wc_err(cq, seq, IBV_WC_REM_ACCESS_ERR);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 64), RDMACPY_E_REMOTE_ACCESS);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 64), RDMACPY_E_BROKEN);
	cr_assert_neq(strstr(rdmacpy_conn_last_error(c), "remote access"), NULL, "%s",
		      rdmacpy_conn_last_error(c));
	rcp_mock_auto_complete(true);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_express, timeout__breaks_the_connection_and_returns)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);

	rcp_mock_auto_complete(false);
	c->opts.timeout_ms = 100;
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 64), RDMACPY_E_TIMEOUT);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 64), RDMACPY_E_BROKEN);
	rcp_mock_auto_complete(true);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_express, post_failure__error_and_slot_given_back)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);

	rcp_mock_post_send_fail_at(0, -ENOMEM);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 64), RDMACPY_E_NOMEM);
	cr_assert_eq(c->qp[0].sq_head, c->qp[0].sq_tail);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, 64), RDMACPY_E_BROKEN);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_express, unregistered_buffer__through_the_cache)
{
	struct rdmacpy_conn *c = poll_conn(1, RDMACPY_MOD_POLL);
	struct rdmacpy_grant *g = grant(c);
	struct rdmacpy_counters k;
	struct rdmacpy_mem *m = NULL;

	cr_assert_eq(rdmacpy_read(c, g, 0, buf, 64), 0);
	k.size = sizeof(k);
	rdmacpy_conn_counters(c, &k);
	cr_assert_eq(k.cache_misses, 1);
	/* per-op cache mode: released after the call, nothing held */
	cr_assert_eq(c->dev[0].cache.n, 0);
	/* an explicit registration is used as it is */
	cr_assert_eq(rdmacpy_mem_reg(c, buf, BUF_LEN, &m), 0);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf + 512, 64), 0);
	k.size = sizeof(k);
	rdmacpy_conn_counters(c, &k);
	cr_assert_eq(k.cache_misses, 1);
	rdmacpy_mem_dereg(&m);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}
