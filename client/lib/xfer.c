/* SPDX-License-Identifier: BSD-3-Clause */
/* xfer.c -- the transfer engine: operations planned into WR chains, posted within the send
 * queue, completions drained under the moderation policy, callbacks, waits */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"

/*
 * How an operation moves.
 *
 * An operation's local segments and remote ranges are planned by the sgl cursor; with several
 * QPs the plan is cut into one stripe per QP. pump() walks the active operations in order and
 * turns their stripes into WRs, one chain (one post_send) per QP per batch, never taking more
 * send queue slots than are free. Each send WR's wr_id is its sequence number on its QP; the
 * ring remembers which operation each slot belongs to and whether it was signaled.
 *
 * A successful signaled completion retires its own slot and every unsignaled slot before it
 * (RC send queues complete in order). Under software moderation an operation's last WR is
 * not signaled: it completes with the next signaled WR, and a run of unsignaled WRs with none
 * behind it gets a signaled zero-length WR (a flush WR) after the moderation period, or at
 * once when the application waits. A failed completion retires the slots before it as
 * successful and fails its own slot's operation with a code naming the status; the device then
 * flushes everything after it, each with its own completion, so every operation in flight on
 * that QP finishes (FLUSHED). An operation finishes when all WRs it posted are retired and it
 * either has nothing left to post or has failed: only then are its buffers free, so only then
 * is its callback run.
 *
 * Wake-ups. EVENT mode arms the CQ after every completion it takes, so each completion costs a
 * wake-up: the honest baseline. The other software modes look at the CQ whenever the
 * application is in the library anyway (that wakes nobody), drain it, and then either keep
 * spinning (POLL with work out), set a timer (completions arriving faster than the period),
 * or defer arming until the engine is about to sleep or a period has passed. A wake-up is a
 * completion event taken while armed, or a moderation deadline passing while the application
 * is outside the library (asleep in its loop or in engine_block).
 */

/* wr_id of a send is the slot sequence number; receives carry RCP_CLI_RECV_TAG */
_Static_assert(RCP_CLI_BATCH <= RCP_SGL_MAX_SGE * 8, "batch sized for the scratch arrays");

#define DRAIN_PASSES_MAX 16 /* poll passes per service before yielding to other QPs */

/* ---- operation lists ---- */

/* list_append -- put op at the tail of a list */
static void list_append(struct rdmacpy_op **head, struct rdmacpy_op **tail, struct rdmacpy_op *op)
{
	op->next = NULL;
	op->prev = *tail;
	if (*tail)
		(*tail)->next = op;
	else
		*head = op;
	*tail = op;
}

/* list_remove -- take op out of a list */
static void list_remove(struct rdmacpy_op **head, struct rdmacpy_op **tail, struct rdmacpy_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		*head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		*tail = op->prev;
	op->next = NULL;
	op->prev = NULL;
}

/* op_release_regs -- give back the registrations the op holds */
static void op_release_regs(struct rdmacpy_op *op)
{
	size_t i;

	for (i = 0; i < op->nregs; i++)
		rcp_rcache_put(&op->conn->cache, &op->regs[i]);
	op->nregs = 0;
}

/* op_destroy -- unlink and free an operation (its WRs must all be retired) */
static void op_destroy(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;

	if (op->state == RCP_OP_ACTIVE)
		list_remove(&c->active_head, &c->active_tail, op);
	else if (op->state == RCP_OP_DONE)
		list_remove(&c->done_head, &c->done_tail, op);
	else if (op->state == RCP_OP_FINISHED)
		list_remove(&c->held_head, &c->held_tail, op);
	op_release_regs(op);
	free(op);
}

/* op_fail -- the first failure of an operation decides its status */
static void op_fail(struct rdmacpy_op *op, int err)
{
	if (!op->failed) {
		op->failed = true;
		op->status = err;
	}
}

/* op_planned -- nothing is left to post on any stripe */
static bool op_planned(const struct rdmacpy_op *op)
{
	unsigned int i;

	for (i = 0; i < op->conn->nqp; i++)
		if (op->cur[i].left)
			return false;
	return true;
}

/* op_check_finish -- move an operation whose WRs are all back to the done list */
static void op_check_finish(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;

	if (op->state != RCP_OP_ACTIVE || op->retired != op->posted)
		return;
	if (!op->failed && !op_planned(op))
		return;
	list_remove(&c->active_head, &c->active_tail, op);
	op->state = RCP_OP_DONE;
	if (!op->failed) {
		op->status = 0;
		if (op->dir == RCP_SGL_READ)
			c->ctr.bytes_read += op->bytes;
		else
			c->ctr.bytes_written += op->bytes;
	}
	/* the device is done with the buffers: registrations can go now */
	op_release_regs(op);
	list_append(&c->done_head, &c->done_tail, op);
}

/* run_callbacks -- deliver finished operations; returns how many */
static int run_callbacks(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op;
	int n = 0;

	while ((op = c->done_head)) {
		list_remove(&c->done_head, &c->done_tail, op);
		op->state = RCP_OP_FINISHED;
		list_append(&c->held_head, &c->held_tail, op);
		n++;
		if (op->cb) {
			op->in_cb = true;
			op->cb(op, op->status, op->ctx);
			op->in_cb = false;
		}
		if (op->detached || op->free_req)
			op_destroy(op);
	}
	return n;
}

/* ---- posting ---- */

/* rcp_xfer_post_ctrl -- post a signaled SEND of len bytes from q->send_buf */
int rcp_xfer_post_ctrl(struct rcp_cli_qp *q, size_t len)
{
	struct rdmacpy_conn *c = q->conn;
	struct ibv_sge sge = {
		.addr = (uintptr_t)q->send_buf, .length = (uint32_t)len, .lkey = c->ctrl_mr->lkey};
	struct ibv_send_wr wr = {0};
	struct ibv_send_wr *bad;
	int ret;

	if (!rcp_xfer_sq_free(q))
		return RDMACPY_E_BUSY;
	wr.wr_id = q->sq_head;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = rcp_vb_post_send(q->id->qp, &wr, &bad);
	c->ctr.post_calls++;
	if (ret) {
		rcp_conn_fail(c, rcp_cli_err(ret), "posting a control message failed");
		return rcp_cli_err(ret);
	}
	q->ring[q->sq_head % q->sq_depth] = (struct rcp_cli_slot){.op = NULL, .signaled = true};
	q->sq_head++;
	q->unsig_run = 0;
	q->sig_outstanding++;
	c->ctr.wrs_posted++;
	c->ctr.wrs_signaled++;
	return 0;
}

/* qp_post_flush -- post a signaled zero-length WR behind q's unsignaled run: its completion
 * retires the run, since RC send queues complete in order. 1 if posted, 0 if not needed,
 * RDMACPY_E_* if the post failed */
static int qp_post_flush(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	struct ibv_send_wr wr = {0};
	struct ibv_send_wr *bad;
	int ret;

	/* the SQ invariant leaves a slot free behind an unsignaled run; a full SQ ends in a
	 * signaled WR that retires the run anyway */
	if (!q->unsig_run || q->broken || !q->established || !rcp_xfer_sq_free(q))
		return 0;
	/* a READ behind reads: a read-only grant refuses even an empty WRITE */
	wr.wr_id = q->sq_head;
	wr.opcode = q->tail_opcode == IBV_WR_RDMA_READ ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
	wr.num_sge = 0;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.wr.rdma.remote_addr = q->tail_raddr;
	wr.wr.rdma.rkey = q->tail_rkey;
	ret = rcp_vb_post_send(q->id->qp, &wr, &bad);
	c->ctr.post_calls++;
	if (ret) {
		rcp_conn_fail(c, rcp_cli_err(ret), "posting a flush WR failed");
		return rcp_cli_err(ret);
	}
	q->ring[q->sq_head % q->sq_depth] = (struct rcp_cli_slot){.op = NULL, .signaled = true};
	q->sq_head++;
	q->unsig_run = 0;
	q->sig_outstanding++;
	q->flush_wrs++;
	c->ctr.wrs_posted++;
	c->ctr.wrs_signaled++;
	return 1;
}

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
			op_fail(s->op, err);
		}
	}
}

/* pump_qp -- post one batch of queued work on q; returns WRs posted, or RDMACPY_E_* */
static int pump_qp(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	uint32_t free_slots = rcp_xfer_sq_free(q);
	struct rdmacpy_op *op;
	struct ibv_send_wr *bad = NULL;
	uint64_t now = rcp_now_ns();
	unsigned int n = 0;
	unsigned int sig = 0;
	int ret;

	for (op = c->active_head; op && n < RCP_CLI_BATCH && free_slots; op = op->next) {
		struct rcp_sgl_cursor *cur = &op->cur[q->idx];

		if (op->failed)
			continue;
		while (n < RCP_CLI_BATCH && free_slots && cur->left) {
			struct rcp_sgl_wr *p = &q->plan[n];
			struct ibv_send_wr *wr = &q->wr[n];
			unsigned int flags;
			bool last;
			bool signaled;

			ret = rcp_sgl_next(cur, p);
			if (ret <= 0) {
				op_fail(op, RDMACPY_E_INTERNAL);
				break;
			}
			last = cur->left == 0;
			flags = last ? RCP_MOD_WR_LAST : 0;
			if (last && op->awaited)
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
			q->ring[q->sq_head % q->sq_depth] =
				(struct rcp_cli_slot){.op = op, .signaled = signaled};
			q->sq_head++;
			free_slots--;
			n++;
			op->posted++;
			if (signaled) {
				q->unsig_run = 0;
				q->sig_outstanding++;
				sig++;
			} else {
				if (!q->unsig_run)
					q->tail_since_ns = now;
				q->unsig_run++;
				q->tail_raddr = wr->wr.rdma.remote_addr;
				q->tail_rkey = wr->wr.rdma.rkey;
				q->tail_opcode = wr->opcode;
			}
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
		post_rollback(q, k, n, rcp_cli_err(ret));
		c->ctr.wrs_posted += k;
		rcp_conn_fail(c, rcp_cli_err(ret), "post_send failed");
		return rcp_cli_err(ret);
	}
	c->ctr.wrs_posted += n;
	c->ctr.wrs_signaled += sig;
	/* POLL mode armed the CQ only because nothing was in flight: spin again now. The
	 * pending arm may still raise one event, which take_cq_events() absorbs uncounted */
	if (q->mod.mode == RCP_MOD_POLL && !c->hw_mod) {
		q->armed = false;
		q->waiting = false;
	}
	return (int)n;
}

/* pump -- post queued work on every QP while slots are free */
static void pump(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op;
	struct rdmacpy_op *next;
	unsigned int i;

	if (c->broken) {
		/* nothing new goes out on a broken connection */
		for (op = c->active_head; op; op = next) {
			next = op->next;
			if (!op_planned(op))
				op_fail(op, RDMACPY_E_BROKEN);
			op_check_finish(op);
		}
		return;
	}
	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		if (q->broken || !q->established)
			continue;
		while (rcp_xfer_sq_free(q) && pump_qp(q) > 0)
			;
		if (c->broken)
			break;
	}
	/* operations that failed while posting may be complete already */
	for (op = c->active_head; op; op = next) {
		next = op->next;
		op_check_finish(op);
	}
}

/* ---- completions ---- */

/* on_send_wc -- retire the slots up to a send completion's sequence number */
static void on_send_wc(struct rcp_cli_qp *q, const struct ibv_wc *wc)
{
	struct rdmacpy_conn *c = q->conn;
	uint64_t seq = wc->wr_id;
	int err = wc->status == IBV_WC_SUCCESS ? 0 : rcp_cli_err_wc(wc->status);

	if (seq < q->sq_tail || seq >= q->sq_head) {
		/* a flush of a slot reap_broken() already retired, or a bug */
		rcp_dbg(&c->log, "qp %u: completion for unknown WR %llu", q->idx,
			(unsigned long long)seq);
		return;
	}
	while (q->sq_tail <= seq) {
		struct rcp_cli_slot *s = &q->ring[q->sq_tail % q->sq_depth];
		struct rdmacpy_op *op = s->op;
		bool mine = q->sq_tail == seq;

		q->sq_tail++;
		if (s->signaled)
			q->sig_outstanding--;
		s->op = NULL;
		if (!op) {
			/* a control SEND or an express WR: its owner reads the status here */
			if (mine)
				q->bare_status = err;
			continue;
		}
		op->retired++;
		if (mine && err)
			op_fail(op, err);
		op_check_finish(op);
	}
	if (err) {
		if (!q->broken && wc->status != IBV_WC_WR_FLUSH_ERR)
			rcp_warn(&c->log, "qp %u: completion error %s", q->idx,
				 rcp_vb_wc_status_str(wc->status));
		/* the QP is in the error state now: new work is refused, work in flight on the
		 * other QPs carries on */
		q->broken = true;
		if (!q->broken_err)
			q->broken_err = RDMACPY_E_BROKEN;
		if (!c->broken) {
			c->broken = true;
			c->broken_err = RDMACPY_E_BROKEN;
			rcp_conn_set_error(c, "completion error: %s",
					   rcp_vb_wc_status_str(wc->status));
		}
	}
}

/* rcp_xfer_poll_pass -- one ibv_poll_cq of at most max entries on q, dispatched; the count
 * or RDMACPY_E_* */
int rcp_xfer_poll_pass(struct rcp_cli_qp *q, int max)
{
	struct ibv_wc wc[RCP_CLI_BATCH];
	int n;
	int i;

	n = rcp_vb_poll_cq(q->cq, max < RCP_CLI_BATCH ? max : RCP_CLI_BATCH, wc);
	if (n < 0) {
		rcp_conn_fail(q->conn, rcp_cli_err(n), "polling the completion queue failed");
		return rcp_cli_err(n);
	}
	q->conn->ctr.completions += (uint64_t)n;
	for (i = 0; i < n; i++) {
		if (wc[i].wr_id & RCP_CLI_RECV_TAG)
			rcp_ctrl_handle_recv(q, &wc[i]);
		else
			on_send_wc(q, &wc[i]);
	}
	return n;
}

/* qp_arm -- request an event for the next completion; then catch (up to max) what raced
 * with it, since a completion already queued raises no event */
static int qp_arm(struct rcp_cli_qp *q, int max)
{
	int ret = rcp_vb_req_notify_cq(q->cq, false);

	if (ret) {
		rcp_conn_fail(q->conn, rcp_cli_err(ret), "arming the completion queue failed");
		return rcp_cli_err(ret);
	}
	q->armed = true;
	if (!q->notify_pending) {
		q->notify_pending = true;
		q->conn->notify_pending++;
	}
	q->waiting = false;
	q->arm_due = false;
	return rcp_xfer_poll_pass(q, max);
}

/* qp_lazy -- q's arming is deferred and its CQ looked at whenever the engine runs (software
 * moderation other than EVENT) */
static bool qp_lazy(const struct rcp_cli_qp *q)
{
	return !q->conn->hw_mod && q->mod.mode != RCP_MOD_EVENT;
}

/* qp_period_ns -- how long an idle q may stay unarmed; POLL has no period of its own */
static uint64_t qp_period_ns(const struct rcp_cli_qp *q)
{
	uint32_t us = q->mod.period_us ? q->mod.period_us : q->conn->opts.mod_period_us;

	return (uint64_t)(us ? us : RCP_CLI_DEF_PERIOD_US) * 1000u;
}

/* qp_deadline -- when q must be looked at even if no event comes; UINT64_MAX: never */
static uint64_t qp_deadline(const struct rcp_cli_qp *q)
{
	uint64_t d = q->waiting ? q->deadline_ns : UINT64_MAX;
	uint64_t t;

	if (qp_lazy(q) && q->unsig_run && !q->broken &&
	    (q->mod.mode == RCP_MOD_MODERATED || q->mod.mode == RCP_MOD_ADAPTIVE)) {
		t = rcp_mod_flush_deadline(&q->mod, q->tail_since_ns);
		if (t < d)
			d = t;
	}
	return d;
}

/* qp_service_event -- EVENT mode: take one completion, re-arm, and treat each completion
 * that was already queued at the arm as its own wake-up (a device reporting missed events
 * would have raised one), so wake-ups follow completions one for one */
static void qp_service_event(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	unsigned int i;
	int n;

	if (q->armed)
		return;
	if (rcp_xfer_poll_pass(q, 1) < 0)
		return;
	for (i = 0; i < RCP_CLI_BATCH; i++) {
		n = qp_arm(q, 1);
		if (n <= 0)
			return;
		c->ctr.wakeups++;
	}
	/* more are queued: stay due, without sleeping, for the next service */
	q->armed = false;
}

/* qp_settle -- drain q in batches (first: a pass already made, or -1), then follow the
 * moderation policy: keep spinning, wait on a timer, or arm once the engine would sleep */
static void qp_settle(struct rcp_cli_qp *q, int first)
{
	enum rcp_mod_action act;
	uint64_t deadline = 0;
	unsigned int passes;
	int n;

	for (passes = 0; passes < DRAIN_PASSES_MAX; passes++) {
		struct rcp_mod_wake w;

		n = first >= 0 ? first : rcp_xfer_poll_pass(q, RCP_CLI_BATCH);
		first = -1;
		if (n < 0)
			return;
		q->wake_total += (unsigned int)n;
		w.now_ns = rcp_now_ns();
		w.drained = (unsigned int)n;
		w.batch = RCP_CLI_BATCH;
		w.wake_total = q->wake_total;
		w.outstanding = q->sig_outstanding;
		act = rcp_mod_arm_decision(&q->mod, &w, &deadline);
		if (act == RCP_MOD_DRAIN) {
			/* POLL mode spins here while WRs are out: yield after a short pass so
			 * the caller can post, check its timeout and serve the other QPs */
			if (n < RCP_CLI_BATCH)
				return;
			continue;
		}
		q->wake_total = 0;
		if (q->mod.mode == RCP_MOD_POLL) {
			/* POLL has no period: idle, it arms at once, so that no timer ever
			 * wakes an event loop for it; completions that raced with the arm are
			 * drained awake */
			n = qp_arm(q, RCP_CLI_BATCH);
			if (n <= 0)
				return;
			q->armed = false;
			first = n;
			continue;
		}
		q->waiting = true;
		q->arm_due = act == RCP_MOD_ARM;
		/* an event costs a wake-up however soon the application returns: arm only
		 * when the engine is about to sleep, or a period from now for an event loop
		 * that sleeps on the fd by itself */
		q->deadline_ns = act == RCP_MOD_WAIT ? deadline : w.now_ns + qp_period_ns(q);
		return;
	}
}

/* qp_service_lazy -- look at q's CQ without sleeping; settle what it finds; flush an
 * unsignaled run whose period is over */
static void qp_service_lazy(struct rcp_cli_qp *q, uint64_t now)
{
	int n = -1;

	if (q->armed || q->waiting) {
		n = rcp_xfer_poll_pass(q, RCP_CLI_BATCH);
		if (n < 0)
			return;
		if (n == 0 && (q->armed || now < q->deadline_ns))
			goto flush;
		if (n == 0 && q->arm_due) {
			/* a period without completions: only an event is worth waiting for */
			n = qp_arm(q, RCP_CLI_BATCH);
			if (n <= 0)
				goto flush;
		}
		q->armed = false;
		q->waiting = false;
		q->arm_due = false;
	}
	qp_settle(q, n);
flush:
	if (rcp_mod_flush_due(&q->mod, q->unsig_run, q->tail_since_ns, now))
		qp_post_flush(q);
}

/* qp_service -- drain q if it is due, under the moderation policy */
static void qp_service(struct rcp_cli_qp *q, uint64_t now)
{
	int n;

	if (!q->cq)
		return;
	if (qp_lazy(q)) {
		qp_service_lazy(q, now);
		return;
	}
	if (!q->conn->hw_mod) {
		qp_service_event(q);
		return;
	}
	/* the device coalesces events itself: drain, then re-arm */
	if (q->armed)
		return;
	do {
		n = rcp_xfer_poll_pass(q, RCP_CLI_BATCH);
		if (n < 0)
			return;
	} while (n == RCP_CLI_BATCH);
	n = qp_arm(q, RCP_CLI_BATCH);
	/* a full batch arrived just after arming: keep draining at the next service (still
	 * armed, so at worst one spurious event follows) */
	if (n == RCP_CLI_BATCH)
		q->armed = false;
}

/* qp_spinning -- q needs polling without sleeping (busy or POLL mode with WRs out) */
static bool qp_spinning(const struct rcp_cli_qp *q)
{
	return q->cq && !q->armed && !q->waiting;
}

/* take_cq_events -- read every pending completion event; the QPs they name become due */
static void take_cq_events(struct rdmacpy_conn *c)
{
	struct ibv_cq *cq;
	void *ctx;
	unsigned int i;

	while (rcp_vb_get_cq_event(c->cc, &cq, &ctx) == 0) {
		struct rcp_cli_qp *q = ctx;

		/* an event for a CQ the engine stopped waiting on (it found the completion by
		 * looking, or POLL mode resumed spinning) woke nobody */
		if (q->armed)
			c->ctr.wakeups++;
		q->armed = false;
		if (q->notify_pending) {
			q->notify_pending = false;
			c->notify_pending--;
		}
		q->unacked_events++;
	}
	/* acking takes a lock in libibverbs: once per wake-up, not per event */
	for (i = 0; i < c->nqp; i++) {
		if (c->qp[i].unacked_events) {
			rcp_vb_ack_cq_events(c->qp[i].cq, c->qp[i].unacked_events);
			c->qp[i].unacked_events = 0;
		}
	}
}

/*
 * reap_broken -- retire the slots of a failed QP that no completion will ever retire.
 *
 * Unsignaled WRs are retired by a later signaled WR's completion. A post_send that fails
 * half-way, or a QP that fails before a flush WR went behind its unsignaled run, can leave
 * unsignaled WRs at the end of the queue; those completed silently or will be flushed, and
 * once the QP is in error with no signaled WR left, nothing else will come for them. Any
 * flush that still arrives is ignored.
 */
static void reap_broken(struct rcp_cli_qp *q)
{
	while (q->broken && !q->sig_outstanding && q->sq_tail != q->sq_head) {
		struct rcp_cli_slot *s = &q->ring[q->sq_tail % q->sq_depth];
		struct rdmacpy_op *op = s->op;

		q->sq_tail++;
		s->op = NULL;
		if (!op)
			continue;
		op->retired++;
		op_fail(op, RDMACPY_E_FLUSHED);
		op_check_finish(op);
	}
	if (q->broken)
		q->unsig_run = 0;
}

/* rcp_xfer_enter -- the application calls in: deadlines that passed while it was outside the
 * library were timer wake-ups (it slept on rdmacpy_conn_next_timeout or in engine_block) */
void rcp_xfer_enter(struct rdmacpy_conn *c, uint64_t now)
{
	unsigned int i;

	if (c->outside_since_ns == UINT64_MAX)
		return;
	for (i = 0; i < c->nqp; i++) {
		uint64_t d = qp_deadline(&c->qp[i]);

		if (d >= c->outside_since_ns && d <= now)
			c->ctr.wakeups++;
	}
	c->outside_since_ns = UINT64_MAX;
}

/* rcp_xfer_leave -- the application gets control back */
void rcp_xfer_leave(struct rdmacpy_conn *c)
{
	c->outside_since_ns = rcp_now_ns();
}

/* rcp_xfer_service -- poll what is due without sleeping, post queued work, run callbacks */
int rcp_xfer_service(struct rdmacpy_conn *c)
{
	uint64_t now = rcp_now_ns();
	unsigned int i;
	int n;

	rcp_xfer_enter(c, now);
	/* an event needs an arm: without one the read would only cost a system call, and
	 * POLL mode spins through here */
	if (c->cc && c->notify_pending)
		take_cq_events(c);
	for (i = 0; i < c->nqp; i++) {
		qp_service(&c->qp[i], now);
		reap_broken(&c->qp[i]);
	}
	pump(c);
	n = run_callbacks(c);
	rcp_xfer_leave(c);
	return n;
}

/* next_timeout_ms -- how long the engine may sleep: 0 when a QP spins, -1 with no timer */
static int next_timeout_ms(const struct rdmacpy_conn *c)
{
	uint64_t now = rcp_now_ns();
	uint64_t best = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < c->nqp; i++) {
		const struct rcp_cli_qp *q = &c->qp[i];
		uint64_t d;

		if (qp_spinning(q))
			return 0;
		d = qp_deadline(q);
		if (d < best)
			best = d;
	}
	if (best == UINT64_MAX)
		return -1;
	if (best <= now)
		return 0;
	return (int)((best - now + 999999) / 1000000);
}

/* engine_prepare_sleep -- the application waits: flush unsignaled runs (nothing more is
 * coming to signal them) and arm the CQs whose arming was deferred. False if that found or
 * made work, so the caller services again instead of sleeping */
static bool engine_prepare_sleep(struct rdmacpy_conn *c)
{
	bool sleep = true;
	unsigned int i;

	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		if (!q->cq || !qp_lazy(q))
			continue;
		if (q->unsig_run && q->mod.mode != RCP_MOD_POLL && qp_post_flush(q) != 0) {
			sleep = false;
			continue;
		}
		if (q->waiting && q->arm_due && qp_arm(q, RCP_CLI_BATCH) != 0) {
			/* completions raced with the arm: drain them awake */
			q->armed = false;
			sleep = false;
		}
	}
	return sleep;
}

/* engine_block -- sleep on the completion and rdma_cm channels for at most timeout_ms */
static void engine_block(struct rdmacpy_conn *c, int timeout_ms)
{
	struct pollfd pfd[2];
	int t = next_timeout_ms(c);
	int nfd = 0;

	if (t == 0 || timeout_ms == 0)
		return;
	if (!engine_prepare_sleep(c))
		return;
	t = next_timeout_ms(c);
	if (t == 0)
		return;
	if (t < 0 || t > timeout_ms)
		t = timeout_ms;
	if (c->cc) {
		pfd[nfd].fd = c->cc->fd;
		pfd[nfd].events = POLLIN;
		pfd[nfd++].revents = 0;
	}
	if (c->ch) {
		pfd[nfd].fd = c->ch->fd;
		pfd[nfd].events = POLLIN;
		pfd[nfd++].revents = 0;
	}
	if (poll(pfd, (nfds_t)nfd, t) <= 0)
		return;
	if (c->ch && (pfd[nfd - 1].revents & POLLIN))
		rcp_conn_cm_events(c);
}

/* rcp_xfer_wait -- run the completion engine until done(arg) or the timeout */
int rcp_xfer_wait(struct rdmacpy_conn *c, bool (*done)(void *arg), void *arg, int timeout_ms)
{
	uint64_t deadline = rcp_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;

	for (;;) {
		uint64_t now;
		uint64_t left;

		rcp_xfer_service(c);
		if (done(arg))
			return 0;
		now = rcp_now_ns();
		if (now >= deadline)
			return RDMACPY_E_TIMEOUT;
		left = (deadline - now + 999999) / 1000000;
		engine_block(c, left > INT32_MAX ? INT32_MAX : (int)left);
	}
}

/* rcp_xfer_abort_all -- finish every operation with err (at close); runs callbacks */
void rcp_xfer_abort_all(struct rdmacpy_conn *c, int err)
{
	struct rdmacpy_op *op;

	while ((op = c->active_head)) {
		list_remove(&c->active_head, &c->active_tail, op);
		op_fail(op, err);
		op->state = RCP_OP_DONE;
		op_release_regs(op);
		list_append(&c->done_head, &c->done_tail, op);
	}
	run_callbacks(c);
	/* what the application still holds dies with the connection (documented) */
	while ((op = c->held_head))
		op_destroy(op);
	if (c->express_held)
		rcp_rcache_put(&c->cache, &c->express_held);
}

/* ---- building operations ---- */

/* op_local -- the local segments of an operation, each with an lkey */
static int op_local(struct rdmacpy_op *op, const struct iovec *iov, int iovcnt)
{
	struct rdmacpy_conn *c = op->conn;
	int i;

	for (i = 0; i < iovcnt; i++) {
		uint64_t addr = (uintptr_t)iov[i].iov_base;
		uint64_t len = iov[i].iov_len;
		struct rcp_sgl_local *l;
		int ret;

		if (!len)
			continue;
		if (!iov[i].iov_base || addr + len < addr)
			return RDMACPY_E_INVAL;
		l = &op->local[op->nlocal++];
		l->addr = addr;
		l->length = len;
		op->bytes += len;
		ret = rcp_mem_lkey(c, addr, len, op->dir == RCP_SGL_READ, &l->lkey,
				   &op->regs[op->nregs]);
		if (ret)
			return ret;
		if (op->regs[op->nregs])
			op->nregs++;
	}
	return 0;
}

/* op_remote -- the remote ranges of an operation, checked against the grant */
static int op_remote(struct rdmacpy_op *op, const struct rdmacpy_grant *g,
		     const struct rdmacpy_range *ranges, int nranges, uint64_t *total)
{
	int i;

	*total = 0;
	for (i = 0; i < nranges; i++) {
		uint64_t off = ranges[i].offset;
		uint64_t len = ranges[i].length;

		if (off > g->length || len > g->length - off)
			return RDMACPY_E_RANGE;
		if (!len)
			continue;
		op->remote[op->nremote].addr = g->q[0].addr + off;
		op->remote[op->nremote].length = len;
		op->nremote++;
		*total += len;
	}
	return 0;
}

/* op_plan -- plan the operation and cut it into one stripe per QP */
static int op_plan(struct rdmacpy_op *op, const struct rdmacpy_grant *g)
{
	struct rdmacpy_conn *c = op->conn;
	struct rcp_sgl_limits lim = {0};
	struct rcp_sgl_cursor plan;
	uint32_t dev_sge = op->dir == RCP_SGL_READ ? c->caps.max_sge_rd : c->caps.max_sge;
	unsigned int i;
	int ret;

	lim.max_sge = dev_sge < c->qp[0].max_send_sge ? dev_sge : c->qp[0].max_send_sge;
	if (!lim.max_sge)
		lim.max_sge = 1;
	lim.max_wr_bytes = c->caps.max_msg_sz ? c->caps.max_msg_sz : (1u << 30);
	lim.chunk_bytes = c->opts.chunk_size;
	ret = rcp_sgl_init(&plan, op->dir, op->local, op->nlocal, op->remote, op->nremote,
			   g->q[0].rkey, &lim);
	if (ret)
		return rcp_cli_err(ret);
	for (i = 0; i < c->nqp; i++) {
		/* each QP has its own grant: same bytes, its own key (windows are QP-bound) */
		op->delta[i] = (int64_t)(g->q[i].addr - g->q[0].addr);
		op->rkey[i] = g->q[i].rkey;
		if (c->nqp == 1) {
			op->cur[i] = plan;
			continue;
		}
		ret = rcp_sgl_stripe(&plan, c->nqp, i, &op->cur[i]);
		if (ret)
			return rcp_cli_err(ret);
	}
	return 0;
}

/* op_alloc -- an operation and all its arrays in one block: a small synchronous transfer is
 * latency-bound, and one allocation instead of seven is measurable there */
static struct rdmacpy_op *op_alloc(const struct rdmacpy_conn *c, int iovcnt, int nranges)
{
	size_t nl = iovcnt ? (size_t)iovcnt : 1;
	size_t nr = nranges ? (size_t)nranges : 1;
	size_t off_cur = sizeof(struct rdmacpy_op);
	size_t off_local = off_cur + c->nqp * sizeof(struct rcp_sgl_cursor);
	size_t off_remote = off_local + nl * sizeof(struct rcp_sgl_local);
	size_t off_delta = off_remote + nr * sizeof(struct rcp_sgl_remote);
	size_t off_regs = off_delta + c->nqp * sizeof(int64_t);
	size_t off_rkey = off_regs + nl * sizeof(struct rcp_rcache_ent *);
	struct rdmacpy_op *op;
	char *block;

	/* every piece is a multiple of 8 bytes long except the rkeys, which come last */
	_Static_assert(sizeof(struct rdmacpy_op) % 8 == 0, "op size");
	_Static_assert(sizeof(struct rcp_sgl_cursor) % 8 == 0, "cursor size");
	_Static_assert(sizeof(struct rcp_sgl_local) % 8 == 0, "local size");
	_Static_assert(sizeof(struct rcp_sgl_remote) % 8 == 0, "remote size");
	block = calloc(1, off_rkey + c->nqp * sizeof(uint32_t));
	if (!block)
		return NULL;
	op = (struct rdmacpy_op *)block;
	op->cur = (struct rcp_sgl_cursor *)(block + off_cur);
	op->local = (struct rcp_sgl_local *)(block + off_local);
	op->remote = (struct rcp_sgl_remote *)(block + off_remote);
	op->delta = (int64_t *)(block + off_delta);
	op->regs = (struct rcp_rcache_ent **)(block + off_regs);
	op->rkey = (uint32_t *)(block + off_rkey);
	return op;
}

/* op_submit -- validate, register, plan and queue one operation */
static int op_submit(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		     const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
		     int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **out,
		     bool awaited)
{
	struct rdmacpy_op *op;
	uint64_t rbytes;
	int ret;

	if (!c || !g || g->conn != c || iovcnt < 0 || nranges < 0 || iovcnt > RCP_SGL_MAX_SEGS ||
	    nranges > RCP_SGL_MAX_SEGS || (iovcnt && !iov) || (nranges && !ranges))
		return RDMACPY_E_INVAL;
	if (c->broken)
		return RDMACPY_E_BROKEN;
	op = op_alloc(c, iovcnt, nranges);
	if (!op)
		return RDMACPY_E_NOMEM;
	op->conn = c;
	op->dir = dir;
	op->status = RDMACPY_E_INPROGRESS;
	op->cb = cb;
	op->ctx = ctx;
	op->awaited = awaited;
	op->state = RCP_OP_NEW;
	ret = op_remote(op, g, ranges, nranges, &rbytes);
	if (ret)
		goto err_destroy;
	ret = op_local(op, iov, iovcnt);
	if (ret)
		goto err_destroy;
	if (rbytes != op->bytes) {
		rcp_conn_set_error(c, "local and remote sizes differ (%llu vs %llu bytes)",
				   (unsigned long long)op->bytes, (unsigned long long)rbytes);
		ret = RDMACPY_E_INVAL;
		goto err_destroy;
	}
	ret = op_plan(op, g);
	if (ret)
		goto err_destroy;
	op->state = RCP_OP_ACTIVE;
	op->detached = !out;
	list_append(&c->active_head, &c->active_tail, op);
	if (out)
		*out = op;
	rcp_xfer_enter(c, rcp_now_ns());
	pump(c);
	/* an empty operation is finished as soon as it is queued */
	op_check_finish(op);
	rcp_xfer_leave(c);
	return 0;

err_destroy:
	op_destroy(op);
	return ret;
}

/* op_finished -- wait predicate */
static bool op_finished(void *arg)
{
	const struct rdmacpy_op *op = arg;

	return op->state != RCP_OP_ACTIVE;
}

/* run_sync -- submit and wait within the connection's timeout */
static int run_sync(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		    const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
		    int nranges)
{
	struct rdmacpy_op *op = NULL;
	int ret;

	ret = op_submit(c, g, dir, iov, iovcnt, ranges, nranges, NULL, NULL, &op, true);
	if (ret)
		return ret;
	ret = rcp_xfer_wait(c, op_finished, op, c->opts.timeout_ms);
	if (ret == RDMACPY_E_TIMEOUT) {
		/* break the connection so the device gives the buffers back (flush), and do
		 * not return while it may still write into them if it does so in time */
		rcp_conn_fail(c, RDMACPY_E_TIMEOUT, "transfer timed out");
		rcp_xfer_wait(c, op_finished, op, 2000);
		if (!op_finished(op)) {
			op->detached = true;
			return RDMACPY_E_TIMEOUT;
		}
		op_destroy(op);
		return RDMACPY_E_TIMEOUT;
	}
	ret = op->status;
	op_destroy(op);
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

/* rdmacpy_submit_read -- asynchronous rdmacpy_read */
int rdmacpy_submit_read(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
			void *buf, size_t len, rdmacpy_done_fn cb, void *ctx,
			struct rdmacpy_op **op)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};

	return op_submit(c, g, RCP_SGL_READ, &iov, 1, &r, 1, cb, ctx, op, false);
}

/* rdmacpy_submit_write -- asynchronous rdmacpy_write */
int rdmacpy_submit_write(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, uint64_t remote_off,
			 const void *buf, size_t len, rdmacpy_done_fn cb, void *ctx,
			 struct rdmacpy_op **op)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct rdmacpy_range r = {.offset = remote_off, .length = len};

	return op_submit(c, g, RCP_SGL_WRITE, &iov, 1, &r, 1, cb, ctx, op, false);
}

/* rdmacpy_submit_readv -- asynchronous rdmacpy_readv */
int rdmacpy_submit_readv(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
			 const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
			 int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	return op_submit(c, g, RCP_SGL_READ, iov, iovcnt, ranges, nranges, cb, ctx, op, false);
}

/* rdmacpy_submit_writev -- asynchronous rdmacpy_writev */
int rdmacpy_submit_writev(struct rdmacpy_conn *c, const struct rdmacpy_grant *g,
			  const struct iovec *iov, int iovcnt, const struct rdmacpy_range *ranges,
			  int nranges, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	return op_submit(c, g, RCP_SGL_WRITE, iov, iovcnt, ranges, nranges, cb, ctx, op, false);
}

/* rdmacpy_conn_fd -- the completion channel's fd */
int rdmacpy_conn_fd(const struct rdmacpy_conn *c)
{
	return c && c->cc ? c->cc->fd : RDMACPY_E_INVAL;
}

/* rdmacpy_conn_next_timeout -- when rdmacpy_progress must run even without an fd event */
int rdmacpy_conn_next_timeout(const struct rdmacpy_conn *c)
{
	return c ? next_timeout_ms(c) : RDMACPY_E_INVAL;
}

/* progress_pred -- wait predicate: an operation was delivered */
static bool progress_pred(void *arg)
{
	const int *n = arg;

	return *n > 0;
}

/* rdmacpy_progress -- drain completions, post, run callbacks; wait up to timeout_ms */
int rdmacpy_progress(struct rdmacpy_conn *c, int timeout_ms)
{
	uint64_t deadline;
	int n = 0;

	if (!c)
		return RDMACPY_E_INVAL;
	if (timeout_ms < 0)
		timeout_ms = c->opts.timeout_ms;
	deadline = rcp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now;
		uint64_t left;

		n += rcp_xfer_service(c);
		if (progress_pred(&n))
			return n;
		now = rcp_now_ns();
		/* nothing in flight: nothing to wait for */
		if (now >= deadline || (!c->active_head && !c->done_head))
			return n;
		left = (deadline - now + 999999) / 1000000;
		engine_block(c, left > INT32_MAX ? INT32_MAX : (int)left);
	}
}

/* rdmacpy_op_status -- 0 or RDMACPY_E_* when finished, RDMACPY_E_INPROGRESS before */
int rdmacpy_op_status(const struct rdmacpy_op *op)
{
	if (!op)
		return RDMACPY_E_INVAL;
	return op->state == RCP_OP_ACTIVE ? RDMACPY_E_INPROGRESS : op->status;
}

/* rdmacpy_op_wait -- progress until op finishes */
int rdmacpy_op_wait(struct rdmacpy_op *op, int timeout_ms)
{
	struct rdmacpy_conn *c;
	int ret;

	if (!op)
		return RDMACPY_E_INVAL;
	c = op->conn;
	ret = rcp_xfer_wait(c, op_finished, op, timeout_ms < 0 ? c->opts.timeout_ms : timeout_ms);
	if (ret)
		return ret;
	return op->status;
}

/* rdmacpy_op_free -- release an operation handle */
void rdmacpy_op_free(struct rdmacpy_op **opp)
{
	struct rdmacpy_op *op;

	if (!opp || !*opp)
		return;
	op = *opp;
	*opp = NULL;
	if (op->in_cb)
		op->free_req = true;
	else if (op->state == RCP_OP_ACTIVE)
		op->detached = true;
	else
		op_destroy(op);
}
