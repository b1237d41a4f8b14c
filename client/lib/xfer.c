/* SPDX-License-Identifier: BSD-3-Clause */
/* xfer.c -- transfers: operations planned into WR chains and posted within the send queues,
 * and the public read/write calls */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"

/*
 * How a transfer moves.
 *
 * Its local segments and remote ranges are planned by the sgl cursor; with several QPs the
 * plan is cut into one stripe per QP, each under that QP's own key of the grant. The pump walks
 * the active operations in order and turns their stripes into WRs, one chain (one post_send)
 * per QP per batch, never taking more send queue slots than are free. qp.c retires the slots
 * as completions come; an operation finishes when every WR it posted is retired and it has
 * nothing left to post (or failed): only then are its buffers free, so only then does its
 * callback run.
 */

/* The planner's SGE is handed to the device as an ibv_sge without copying. */
_Static_assert(sizeof(struct rcp_sgl_sge) == sizeof(struct ibv_sge), "sge size");
_Static_assert(offsetof(struct rcp_sgl_sge, addr) == offsetof(struct ibv_sge, addr), "addr");
_Static_assert(offsetof(struct rcp_sgl_sge, length) == offsetof(struct ibv_sge, length), "len");
_Static_assert(offsetof(struct rcp_sgl_sge, lkey) == offsetof(struct ibv_sge, lkey), "lkey");

/* How long a timed-out synchronous transfer waits for the flush that frees its buffers. */
#define FLUSH_GRACE_MS 2000

/* post_rollback -- the post failed at WR k of n: unposted slots go back, their ops fail */
static void post_rollback(struct rcp_cli_qp *q, unsigned int k, unsigned int n, int err)
{
	while (n > k) {
		struct rcp_cli_slot *s;

		n--;
		q->sq_head--;
		s = &q->ring[q->sq_head % q->sq_depth];
		if (s->signaled)
			q->sig_outstanding--;
		if (s->op) {
			s->op->posted--;
			rcp_op_wr_lost(s->op, err);
		}
		s->op = NULL;
	}
}

/* plan_wr -- the next WR of op's stripe on q into slot n of the batch; false: op failed */
static bool plan_wr(struct rcp_cli_qp *q, struct rdmacpy_op *op, unsigned int n,
		    uint32_t free_slots, uint64_t now, unsigned int *sig)
{
	struct rcp_sgl_cursor *cur = &op->cur[q->idx];
	struct rcp_sgl_wr *p = &q->plan[n];
	struct ibv_send_wr *wr = &q->wr[n];
	uint64_t off = cur->pos;
	unsigned int flags;
	bool signaled;

	if (rcp_sgl_next(cur, p) <= 0) {
		rcp_op_fail(op, -EINVAL);
		return false;
	}
	flags = cur->left == 0 ? RCP_MOD_WR_LAST : 0;
	if (cur->left == 0 && op->awaited)
		flags |= RCP_MOD_WR_AWAITED;
	signaled = rcp_mod_should_signal(&q->mod, q->unsig_run, flags, free_slots);
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = q->sq_head;
	wr->opcode = op->dir == RCP_SGL_READ ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
	wr->sg_list = (struct ibv_sge *)p->sge;
	wr->num_sge = (int)p->num_sge;
	wr->send_flags = signaled ? IBV_SEND_SIGNALED : 0;
	wr->wr.rdma.remote_addr = p->remote_addr + (uint64_t)op->delta[q->idx];
	wr->wr.rdma.rkey = op->rkey[q->idx];
	if (n)
		q->wr[n - 1].next = wr;
	rcp_qp_going_busy(q, signaled);
	q->ring[q->sq_head % q->sq_depth] = (struct rcp_cli_slot){
		.op = op, .off = off, .len = p->length, .signaled = signaled, .send_buf = -1};
	q->sq_head++;
	op->posted++;
	if (q->conn->nrails > 1)
		rcp_rail_posted(q, now);
	if (signaled) {
		q->unsig_run = 0;
		q->sig_outstanding++;
		(*sig)++;
	} else {
		if (!q->unsig_run)
			q->tail_since_ns = now;
		q->unsig_run++;
		q->tail_raddr = wr->wr.rdma.remote_addr;
		q->tail_rkey = wr->wr.rdma.rkey;
		q->tail_opcode = wr->opcode;
	}
	return true;
}

/* REDO_TAKE_WRS -- WRs' worth of a range to redo one QP takes at a time: the rails left share it */
#define REDO_TAKE_WRS 16

/* take_redo -- q takes the next range of op to plan again, at most REDO_TAKE_WRS WRs of it */
static void take_redo(struct rcp_cli_qp *q, struct rdmacpy_op *op)
{
	unsigned int d = (unsigned int)(q->dev - q->conn->dev);
	struct rcp_xfer_range *r = &op->redo[0];
	uint64_t len;
	int ret;

	/* a device the transfer was not registered for (it came later) */
	if (d >= op->ndev)
		return;
	len = (uint64_t)op->plan[d].wr_bytes * REDO_TAKE_WRS;
	if (len > r->len)
		len = r->len;
	ret = rcp_sgl_range(&op->plan[d], r->off, len, &op->cur[q->idx]);
	if (ret) {
		rcp_op_fail(op, ret);
		return;
	}
	r->off += len;
	r->len -= len;
	if (!r->len) {
		op->nredo--;
		memmove(op->redo, op->redo + 1, op->nredo * sizeof(*op->redo));
	}
}

/* rcp_xfer_redo -- a range of op to plan again, after the ones already queued */
int rcp_xfer_redo(struct rdmacpy_op *op, uint64_t off, uint64_t len)
{
	struct rcp_xfer_range *last = op->nredo ? &op->redo[op->nredo - 1] : NULL;

	if (!len)
		return 0;
	if (last && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (op->nredo == op->redo_cap) {
		size_t cap = op->redo_cap ? op->redo_cap * 2 : 8;
		struct rcp_xfer_range *n = realloc(op->redo, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		op->redo = n;
		op->redo_cap = cap;
	}
	op->redo[op->nredo++] = (struct rcp_xfer_range){.off = off, .len = len};
	return 0;
}

/* pump_qp -- post one batch of queued transfer work on q; WRs posted, or -errno */
static int pump_qp(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	uint32_t free_slots = rcp_qp_sq_free(q);
	struct ibv_send_wr *bad = NULL;
	uint64_t now = rcp_now_ns();
	struct rdmacpy_op *op;
	unsigned int n = 0;
	unsigned int sig = 0;
	int ret;

	for (op = c->active_head; op && n < RCP_CLI_BATCH && free_slots; op = op->next) {
		if (op->kind != RCP_OP_XFER || op->err)
			continue;
		if (!op->cur[q->idx].left && op->nredo)
			take_redo(q, op);
		while (n < RCP_CLI_BATCH && free_slots && op->cur[q->idx].left) {
			if (!plan_wr(q, op, n, free_slots, now, &sig))
				break;
			free_slots--;
			n++;
		}
	}
	if (!n)
		return 0;
	ret = rcp_vb_post_send(q->id->qp, q->wr, &bad);
	c->ctr.post_calls++;
	if (ret) {
		unsigned int k = bad ? (unsigned int)(bad - q->wr) : 0;

		if (k > n)
			k = 0;
		/* first the break (a resume may take it), then the WRs that did not go */
		rcp_conn_fail(c, ret, "post_send failed");
		post_rollback(q, k, n, ret);
		c->ctr.wrs_posted += k;
		return ret;
	}
	c->ctr.wrs_posted += n;
	c->ctr.wrs_signaled += sig;
	/* POLL mode armed the CQ only because nothing was in flight: spin again now. The
	 * pending arm may still raise one event, which the engine absorbs uncounted */
	if (q->mod.mode == RCP_MOD_POLL && !q->dev->hw_mod) {
		q->armed = false;
		q->waiting = false;
	}
	return (int)n;
}

/* rcp_xfer_planned -- nothing is left to post on any stripe, nor to plan again */
bool rcp_xfer_planned(const struct rdmacpy_op *op)
{
	unsigned int i;

	if (op->nredo)
		return false;
	for (i = 0; i < op->conn->nqp; i++)
		if (op->cur[i].left)
			return false;
	return true;
}

/* rcp_xfer_pump -- post queued transfer work on every ready QP while slots are free */
void rcp_xfer_pump(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op;
	struct rdmacpy_op *next;
	unsigned int i;

	if (c->broken) {
		/* nothing new goes out on a broken connection */
		for (op = c->active_head; op; op = next) {
			next = op->next;
			if (op->kind != RCP_OP_XFER)
				continue;
			if (!rcp_xfer_planned(op))
				rcp_op_fail(op, c->closing ? -ESHUTDOWN : -ENOTCONN);
			rcp_op_check_finish(op);
		}
		return;
	}
	/* nothing goes out until a resume has the grants' new keys */
	if (c->resuming)
		return;
	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		/* a rail rejoining has no windows yet */
		if (!rcp_qp_usable(q) || (c->nrails > 1 && !rcp_rail_usable(c, q->rail)))
			continue;
		while (rcp_qp_sq_free(q) && pump_qp(q) > 0)
			;
		if (c->broken)
			break;
	}
	/* operations that failed while posting may be complete already */
	for (op = c->active_head; op; op = next) {
		next = op->next;
		if (op->kind == RCP_OP_XFER)
			rcp_op_check_finish(op);
	}
}

/* ---- building transfers ---- */

/* xfer_local -- the local segments of a transfer, each with an lkey on every device (device
 * d's copy of the list at d * local_cap) */
static int xfer_local(struct rdmacpy_op *op, const struct iovec *iov, int iovcnt)
{
	struct rdmacpy_conn *c = op->conn;
	unsigned int d;
	int i;

	for (i = 0; i < iovcnt; i++) {
		uint64_t addr = (uintptr_t)iov[i].iov_base;
		uint64_t len = iov[i].iov_len;
		size_t k = op->nlocal;

		if (!len)
			continue;
		if (!iov[i].iov_base || addr + len < addr)
			return -EINVAL;
		op->nlocal++;
		op->bytes += len;
		for (d = 0; d < op->ndev; d++) {
			struct rcp_sgl_local *l = &op->local[d * op->local_cap + k];
			int ret;

			l->addr = addr;
			l->length = len;
			ret = rcp_mem_lkey(c, d, addr, len, op->dir == RCP_SGL_READ, &l->lkey,
					   &op->regs[d * op->local_cap + k]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* xfer_remote -- the remote ranges of a transfer, checked against the grant */
static int xfer_remote(struct rdmacpy_op *op, const struct rdmacpy_grant *g,
		       const struct rdmacpy_range *ranges, int nranges, uint64_t *total)
{
	int i;

	*total = 0;
	for (i = 0; i < nranges; i++) {
		uint64_t off = ranges[i].offset;
		uint64_t len = ranges[i].length;

		if (off > g->length || len > g->length - off) {
			rcp_conn_set_error(op->conn,
					   "range %llu+%llu is outside the grant (%llu bytes)",
					   (unsigned long long)off, (unsigned long long)len,
					   (unsigned long long)g->length);
			return -ERANGE;
		}
		if (!len)
			continue;
		op->remote[op->nremote].addr = g->q[0].addr + off;
		op->remote[op->nremote].length = len;
		op->nremote++;
		*total += len;
	}
	return 0;
}

/* dev_max_sge -- SGEs per WR of the plan on device d: its limit for the operation, and its
 * queue pairs' */
static uint32_t dev_max_sge(const struct rdmacpy_conn *c, unsigned int d, enum rcp_sgl_op dir)
{
	const struct rcp_cli_dev *dev = &c->dev[d];
	uint32_t sge = dir == RCP_SGL_READ ? dev->caps.max_sge_rd : dev->caps.max_sge;
	unsigned int i;

	for (i = 0; i < c->nqp; i++) {
		if (c->qp[i].dev == dev && c->qp[i].max_send_sge) {
			if (c->qp[i].max_send_sge < sge)
				sge = c->qp[i].max_send_sge;
			break;
		}
	}
	return sge ? sge : 1;
}

/* qp_range -- QP i gets bytes [start, start + len) of the transfer (on its device's plan) */
static int qp_range(struct rdmacpy_op *op, unsigned int i, uint64_t start, uint64_t len)
{
	const struct rcp_cli_qp *q = &op->conn->qp[i];
	unsigned int d = q->dev ? (unsigned int)(q->dev - op->conn->dev) : 0;

	if (!len)
		return 0;
	return rcp_sgl_range(&op->plan[d], start, len, &op->cur[i]);
}

/* stripe_rails -- the transfer over the rails that are up: a small one whole to one rail (in
 * turn), a large one in proportion to the rails' weights; within a rail, evenly over its QPs.
 * Cut in whole WRs, as rcp_sgl_stripe cuts */
static int stripe_rails(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;
	uint64_t unit = op->plan[0].wr_bytes;
	uint64_t total = op->plan[0].total;
	uint64_t units = total / unit + (total % unit != 0);
	uint64_t per_rail[RDMACPY_MAX_RAILS] = {0};
	double w[RDMACPY_MAX_RAILS];
	uint64_t first = 0;
	unsigned int r;
	unsigned int i;
	int ret;

	if (total < rcp_rails_stripe_min() || units < 2) {
		per_rail[rcp_rail_pick(c)] = units;
	} else {
		rcp_rails_weights(c, w);
		rcp_stripe_split(units, w, c->nrails, per_rail);
	}
	for (r = 0; r < c->nrails; r++) {
		const struct rcp_rail *rl = &c->rails[r];
		uint64_t base = rl->n ? per_rail[r] / rl->n : 0;
		uint64_t extra = rl->n ? per_rail[r] % rl->n : 0;

		for (i = 0; i < rl->n && per_rail[r]; i++) {
			uint64_t count = base + (i < extra);
			uint64_t start = first * unit;
			uint64_t end = first + count >= units ? total : (first + count) * unit;

			ret = qp_range(op, rl->first + i, start, end - start);
			if (ret)
				return ret;
			first += count;
		}
	}
	return 0;
}

/* xfer_plan -- plan the transfer on each device, and cut it into one stripe per QP */
static int xfer_plan(struct rdmacpy_op *op, const struct rdmacpy_grant *g)
{
	struct rdmacpy_conn *c = op->conn;
	struct rcp_sgl_limits lim = {0};
	unsigned int d;
	unsigned int i;
	int ret;

	for (d = 0; d < op->ndev; d++) {
		const struct rcp_cli_dev *dev = &c->dev[d];

		lim.max_sge = dev_max_sge(c, d, op->dir);
		lim.max_wr_bytes = dev->caps.max_msg_sz ? dev->caps.max_msg_sz : (1u << 30);
		lim.chunk_bytes = c->opts.chunk_size;
		ret = rcp_sgl_init(&op->plan[d], op->dir, op->local + d * op->local_cap, op->nlocal,
				   op->remote, op->nremote, g->q[0].rkey, &lim);
		if (ret)
			return ret;
	}
	memset(op->cur, 0, c->qp_cap * sizeof(op->cur[0]));
	op->nredo = 0;
	for (i = 0; i < c->nqp; i++) {
		/* each QP has its own grant: same bytes, its own key (windows are QP-bound) */
		op->delta[i] = (int64_t)(g->q[i].addr - g->q[0].addr);
		op->rkey[i] = g->q[i].rkey;
	}
	if (c->nrails > 1)
		return stripe_rails(op);
	for (i = 0; i < c->nqp; i++) {
		const struct rcp_cli_qp *q = &c->qp[i];

		d = q->dev ? (unsigned int)(q->dev - c->dev) : 0;
		if (c->nqp == 1) {
			op->cur[i] = op->plan[d];
			continue;
		}
		ret = rcp_sgl_stripe(&op->plan[d], c->nqp, i, &op->cur[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* rcp_xfer_replan -- the whole transfer again, on its grant's keys and addresses of now */
int rcp_xfer_replan(struct rdmacpy_op *op)
{
	const struct rdmacpy_grant *g = op->grant;
	size_t i;

	for (i = 0; i < op->nremote; i++)
		op->remote[i].addr = op->remote[i].addr - g->prev_addr + g->q[0].addr;
	op->posted = 0;
	op->retired = 0;
	op->rerun = false;
	return xfer_plan(op, g);
}

/* xfer_alloc -- a transfer and all its arrays in one block: a small synchronous transfer is
 * latency-bound, and one allocation instead of eight is measurable there */
static struct rdmacpy_op *xfer_alloc(const struct rdmacpy_conn *c, int iovcnt, int nranges)
{
	size_t ndev = c->ndev ? c->ndev : 1;
	size_t nl = iovcnt ? (size_t)iovcnt : 1;
	size_t nr = nranges ? (size_t)nranges : 1;
	size_t off_cur = sizeof(struct rdmacpy_op);
	size_t off_plan = off_cur + c->qp_cap * sizeof(struct rcp_sgl_cursor);
	size_t off_local = off_plan + ndev * sizeof(struct rcp_sgl_cursor);
	size_t off_remote = off_local + ndev * nl * sizeof(struct rcp_sgl_local);
	size_t off_delta = off_remote + nr * sizeof(struct rcp_sgl_remote);
	size_t off_regs = off_delta + c->qp_cap * sizeof(int64_t);
	size_t off_rkey = off_regs + ndev * nl * sizeof(struct rcp_rcache_ent *);
	struct rdmacpy_op *op;
	char *block;

	/* every piece is a multiple of 8 bytes long except the rkeys, which come last */
	_Static_assert(sizeof(struct rdmacpy_op) % 8 == 0, "op size");
	_Static_assert(sizeof(struct rcp_sgl_cursor) % 8 == 0, "cursor size");
	_Static_assert(sizeof(struct rcp_sgl_local) % 8 == 0, "local size");
	_Static_assert(sizeof(struct rcp_sgl_remote) % 8 == 0, "remote size");
	block = calloc(1, off_rkey + c->qp_cap * sizeof(uint32_t));
	if (!block)
		return NULL;
	op = (struct rdmacpy_op *)block;
	op->ndev = (unsigned int)ndev;
	op->local_cap = nl;
	op->cur = (struct rcp_sgl_cursor *)(block + off_cur);
	op->plan = (struct rcp_sgl_cursor *)(block + off_plan);
	op->local = (struct rcp_sgl_local *)(block + off_local);
	op->remote = (struct rcp_sgl_remote *)(block + off_remote);
	op->delta = (int64_t *)(block + off_delta);
	op->regs = (struct rcp_rcache_ent **)(block + off_regs);
	op->rkey = (uint32_t *)(block + off_rkey);
	return op;
}

/* xfer_build -- validate, register and plan one transfer (not yet queued); -errno */
static int xfer_build(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		      const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
		      int nranges, struct rdmacpy_op *op)
{
	uint64_t rbytes;
	int ret;

	op->conn = c;
	op->kind = RCP_OP_XFER;
	op->ctx = RCP_CTX_TRANSFER;
	op->dir = dir;
	op->status = RDMACPY_E_INPROGRESS;
	op->state = RCP_OP_NEW;
	op->grant = g;
	ret = xfer_remote(op, g, ranges, nranges, &rbytes);
	if (ret)
		return ret;
	ret = xfer_local(op, iov, iovcnt);
	if (ret)
		return ret;
	if (rbytes != op->bytes) {
		rcp_conn_set_error(c, "local and remote sizes differ (%llu vs %llu bytes)",
				   (unsigned long long)op->bytes, (unsigned long long)rbytes);
		return -EINVAL;
	}
	return xfer_plan(op, g);
}

/* xfer_submit -- build and queue one transfer; RDMACPY_E_* */
static int xfer_submit(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		       const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
		       int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **out,
		       bool awaited)
{
	struct rdmacpy_op *op;
	int ret;

	if (out)
		*out = NULL;
	if (!c || !g || g->conn != c || iovcnt < 0 || nranges < 0 || iovcnt > RCP_SGL_MAX_SEGS ||
	    nranges > RCP_SGL_MAX_SEGS || (iovcnt && !iov) || (nranges && !ranges))
		return RDMACPY_E_INVAL;
	if (c->broken)
		return c->connected ? RDMACPY_E_BROKEN
				    : rcp_err_public(c->broken_err, RCP_CTX_CONNECT);
	op = xfer_alloc(c, iovcnt, nranges);
	if (!op)
		return RDMACPY_E_NOMEM;
	ret = xfer_build(c, g, dir, iov, iovcnt, ranges, nranges, op);
	if (ret) {
		rcp_op_destroy(op);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	op->cb = cb;
	op->ctx_user = ctx;
	op->awaited = awaited;
	rcp_op_activate(op, out);
	rcp_engine_enter(c, rcp_now_ns());
	rcp_xfer_pump(c);
	/* an empty transfer is finished as soon as it is queued */
	rcp_op_check_finish(op);
	/* a detached op may have finished already: its callback runs at the next progress */
	rcp_engine_leave(c);
	return 0;
}

/* run_sync -- submit and wait within the connection's timeout */
static int run_sync(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		    const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
		    int nranges)
{
	struct rdmacpy_op *op = NULL;
	uint64_t resumes = c ? c->ctr.reconnects : 0;
	int ret;

	ret = xfer_submit(c, g, dir, iov, iovcnt, ranges, nranges, NULL, NULL, &op, true);
	if (ret)
		return ret;
	/* a resume (bounded by reconnect_ms) gives the transfer another round */
	do
		ret = rcp_engine_wait(c, rcp_op_finished, op, c->opts.timeout_ms);
	while (ret == -ETIMEDOUT && rcp_resume_wait_more(c, &resumes));
	if (ret == -ETIMEDOUT) {
		/* break the connection so the device gives the buffers back (flush), and do
		 * not return while it may still write into them if it does so in time */
		rcp_conn_set_error(c, "a transfer did not finish in %d ms", c->opts.timeout_ms);
		rcp_conn_fail(c, -ETIMEDOUT, "transfer timed out");
		rcp_engine_wait(c, rcp_op_finished, op, FLUSH_GRACE_MS);
		rcp_engine_leave(c);
		rdmacpy_op_free(&op);
		return RDMACPY_E_TIMEOUT;
	}
	rcp_engine_leave(c);
	ret = op->status;
	rdmacpy_op_free(&op);
	return ret;
}

/* rdmacpy_read -- grant[remote_off, + len) -> buf */
int rdmacpy_read(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
		 void *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};
	int ret = c ? rcp_express(c, g, RCP_SGL_READ, remote_off, buf, len) : RCP_EXPRESS_DECLINED;

	if (ret != RCP_EXPRESS_DECLINED)
		return ret;
	return run_sync(c, g, RCP_SGL_READ, &iov, 1, &r, 1);
}

/* rdmacpy_write -- buf -> grant[remote_off, + len) */
int rdmacpy_write(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
		  const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};
	int ret = c ? rcp_express(c, g, RCP_SGL_WRITE, remote_off, (void *)buf, len)
		    : RCP_EXPRESS_DECLINED;

	if (ret != RCP_EXPRESS_DECLINED)
		return ret;
	return run_sync(c, g, RCP_SGL_WRITE, &iov, 1, &r, 1);
}

/* rdmacpy_readv -- the grant's ranges into the iovecs */
int rdmacpy_readv(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, const struct iovec *iov,
		  int iovcnt, const struct rdmacpy_range *ranges, int nranges)
{
	return run_sync(c, g, RCP_SGL_READ, iov, iovcnt, ranges, nranges);
}

/* rdmacpy_writev -- the iovecs into the grant's ranges */
int rdmacpy_writev(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, const struct iovec *iov,
		   int iovcnt, const struct rdmacpy_range *ranges, int nranges)
{
	return run_sync(c, g, RCP_SGL_WRITE, iov, iovcnt, ranges, nranges);
}

/* rdmacpy_read_async -- asynchronous rdmacpy_read */
int rdmacpy_read_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
		       void *buf, size_t len, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};

	return xfer_submit(c, g, RCP_SGL_READ, &iov, 1, &r, 1, cb, ctx, op, false);
}

/* rdmacpy_write_async -- asynchronous rdmacpy_write */
int rdmacpy_write_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
			const void *buf, size_t len, rdmacpy_done_fn cb, void *ctx,
			struct rdmacpy_op **op)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};

	return xfer_submit(c, g, RCP_SGL_WRITE, &iov, 1, &r, 1, cb, ctx, op, false);
}

/* rdmacpy_readv_async -- asynchronous rdmacpy_readv */
int rdmacpy_readv_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
			const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
			int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	return xfer_submit(c, g, RCP_SGL_READ, iov, iovcnt, ranges, nranges, cb, ctx, op, false);
}

/* rdmacpy_writev_async -- asynchronous rdmacpy_writev */
int rdmacpy_writev_async(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
			 const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
			 int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	return xfer_submit(c, g, RCP_SGL_WRITE, iov, iovcnt, ranges, nranges, cb, ctx, op, false);
}
