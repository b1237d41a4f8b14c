/* SPDX-License-Identifier: BSD-3-Clause */
/* express.c -- the short path for one small synchronous transfer in POLL mode */
#include <errno.h>
#include <string.h>

#include "client/lib/conn.h"

/*
 * Why a second path.
 *
 * A small synchronous read or write in POLL mode is pure latency: one WR, one completion, and
 * the application waiting on it. The engine's general path allocates an operation, plans it
 * through the sgl cursor, queues it, pumps and services every QP under the moderation policy;
 * at 64 B that bookkeeping, not the wire, was most of the time (about 2,500 instructions per
 * call, against a few hundred for a bare post and poll). The express path posts the one WR
 * from the stack and polls its CQ until that WR's slot retires.
 *
 * It keeps the engine's invariants: the WR takes a send queue slot with its sequence number as
 * wr_id, so the ordinary completion dispatch retires it, counts it, hands any control message
 * that arrives meanwhile to its owner and marks the QP broken on an error. It runs only when
 * the engine has nothing of its own in flight, so no operation can be starved or reordered.
 */

/* Empty polls between two looks at the clock: a clock read costs more than a poll. */
#define SPINS_PER_CLOCK 64

/* eligible -- the express path may take this transfer; anything else goes the long way */
static bool eligible(const struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
		     uint64_t remote_off, const void *buf, size_t len)
{
	const struct rcp_cli_qp *q = &c->qp[0];

	if (!g || g->conn != c || !buf || !len || c->broken || c->nqp != 1)
		return false;
	/* an express WR has no operation a resume could run again */
	if (c->opts.reconnect_ms || c->resuming)
		return false;
	if (q->mod.mode != RCP_MOD_POLL || !q->cq || !rcp_qp_usable(q))
		return false;
	/* the engine's own work first: an express WR must not overtake an operation */
	if (c->active_head || c->done_head || q->sq_head != q->sq_tail)
		return false;
	if (remote_off > g->length || len > g->length - remote_off)
		return false;
	if (c->opts.chunk_size && len > c->opts.chunk_size)
		return false;
	return !q->dev->caps.max_msg_sz || len <= q->dev->caps.max_msg_sz;
}

/* spin -- poll until the slot seq retires or deadline passes; 0 or -errno */
static int spin(struct rcp_cli_qp *q, uint64_t seq, uint64_t deadline)
{
	unsigned int empty = 0;
	int n;

	while (q->sq_tail <= seq) {
		n = rcp_qp_poll(q, RCP_CLI_BATCH);
		if (n < 0)
			return n;
		if (n > 0 || ++empty % SPINS_PER_CLOCK)
			continue;
		if (rcp_now_ns() >= deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

/* rcp_express -- see conn.h */
int rcp_express(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		uint64_t remote_off, void *buf, size_t len)
{
	struct rcp_cli_qp *q = &c->qp[0];
	struct rcp_rcache_ent *held = NULL;
	struct ibv_send_wr *bad = NULL;
	struct ibv_send_wr wr;
	struct ibv_sge sge;
	uint64_t now;
	uint64_t seq;
	int ret;

	if (!eligible(c, g, remote_off, buf, len))
		return RCP_EXPRESS_DECLINED;
	now = rcp_now_ns();
	rcp_engine_enter(c, now);
	ret = rcp_mem_lkey(c, 0, (uintptr_t)buf, len, dir == RCP_SGL_READ, &sge.lkey, &held);
	if (ret) {
		rcp_engine_leave(c);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	sge.addr = (uintptr_t)buf;
	sge.length = (uint32_t)len;
	seq = q->sq_head;
	memset(&wr, 0, sizeof(wr));
	wr.wr_id = seq;
	wr.opcode = dir == RCP_SGL_READ ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = g->q[0].addr + remote_off;
	wr.wr.rdma.rkey = g->q[0].rkey;
	q->ring[seq % q->sq_depth] =
		(struct rcp_cli_slot){.op = NULL, .signaled = true, .send_buf = -1};
	q->sq_head++;
	q->sig_outstanding++;
	q->bare_status = -EINPROGRESS;
	ret = rcp_vb_post_send(q->id->qp, &wr, &bad);
	c->ctr.post_calls++;
	if (ret) {
		q->sq_head--;
		q->sig_outstanding--;
		rcp_conn_fail(c, ret, "post_send failed");
		goto out;
	}
	c->ctr.wrs_posted++;
	c->ctr.wrs_signaled++;
	c->ctr.express++;
	/* as the engine does in POLL mode: spin now, whatever arm was pending */
	if (!q->dev->hw_mod) {
		q->armed = false;
		q->waiting = false;
	}
	ret = spin(q, seq, now + (uint64_t)c->opts.timeout_ms * 1000000u);
	if (ret == -ETIMEDOUT) {
		/* break the connection so the device gives the buffer back (a flush), and do
		 * not return while it may still write into it if that comes in time */
		rcp_conn_fail(c, -ETIMEDOUT, "transfer timed out");
		if (spin(q, seq, rcp_now_ns() + 2000000000ull) != 0 && held) {
			/* still the device's: keep it registered until close */
			if (c->express_held)
				rcp_rcache_put(&c->dev[0].cache, &c->express_held);
			c->express_held = held;
			held = NULL;
		}
		ret = RDMACPY_E_TIMEOUT;
		goto out_public;
	}
	if (ret)
		goto out;
	ret = q->bare_status;
	if (!ret) {
		if (dir == RCP_SGL_READ)
			c->ctr.bytes_read += len;
		else
			c->ctr.bytes_written += len;
	}
out:
	ret = rcp_err_public(ret, RCP_CTX_TRANSFER);
out_public:
	if (held)
		rcp_rcache_put(&c->dev[0].cache, &held);
	rcp_engine_leave(c);
	return ret;
}
