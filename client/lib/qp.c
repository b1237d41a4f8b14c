/* SPDX-License-Identifier: BSD-3-Clause */
/* qp.c -- one queue pair: its CQ and send ring, posting, completions under the moderation
 * policy, control buffers */
#include "client/lib/qp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"

/*
 * The send ring.
 *
 * Each send WR's wr_id is its sequence number on its QP; the ring remembers which operation
 * each slot belongs to and whether it was signaled. A successful signaled completion retires
 * its own slot and every unsignaled slot before it (RC send queues complete in order). Under
 * software moderation an operation's last WR is not signaled: it completes with the next
 * signaled WR, and a run of unsignaled WRs with none behind it gets a signaled zero-length WR
 * (a flush WR) after the moderation period, or at once when the application waits. A failed
 * completion retires the slots before it as successful and fails its own slot's operation; the
 * device then flushes everything after it, each with its own completion.
 *
 * Wake-ups. EVENT mode arms the CQ after every completion it takes, so each completion costs a
 * wake-up: the honest baseline. The other software modes look at the CQ whenever the
 * application is in the library anyway (that wakes nobody), drain it, and then either keep
 * spinning (POLL with work out), set a timer (completions arriving faster than the period),
 * or defer arming until the engine is about to sleep or a period has passed. A wake-up is a
 * completion event taken while armed, or a moderation deadline passing while the application
 * is outside the library (asleep in its loop or in the engine's own wait).
 */

#define DRAIN_PASSES_MAX 16 /* poll passes per service before yielding to other QPs */

/* rcp_qp_init_moderation -- q's moderation policy from the connection options */
int rcp_qp_init_moderation(struct rcp_cli_qp *q)
{
	static const enum rcp_mod_mode modes[] = {
		[RDMACPY_MOD_POLL] = RCP_MOD_POLL,
		[RDMACPY_MOD_EVENT] = RCP_MOD_EVENT,
		[RDMACPY_MOD_MODERATED] = RCP_MOD_MODERATED,
		[RDMACPY_MOD_ADAPTIVE] = RCP_MOD_ADAPTIVE,
	};
	const struct rdmacpy_conn_opts *o = &q->conn->opts;
	struct rcp_mod_config cfg = {
		.mode = modes[o->moderation],
		.count = o->mod_count ? o->mod_count : 1,
		.period_us = o->mod_period_us,
		.sq_depth = q->sq_depth,
	};

	return rcp_mod_init(&q->mod, &cfg);
}

/* rcp_qp_post_recv -- (re)post control receive buffer i */
int rcp_qp_post_recv(struct rcp_cli_qp *q, unsigned int i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(q->recv_buf + (size_t)i * RCP_MSG_MAX),
		.length = RCP_MSG_MAX,
		.lkey = q->ctrl_lkey,
	};
	struct ibv_recv_wr wr = {.wr_id = RCP_CLI_RECV_TAG | i, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;

	return rcp_vb_post_recv(q->id->qp, &wr, &bad);
}

/* rcp_qp_setup -- everything a QP needs once its id is bound to the device */
int rcp_qp_setup(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_cli_dev *d = q->dev;
	size_t per_qp = (size_t)(RCP_CLI_RECV_N + RCP_CLI_SEND_N) * RCP_MSG_MAX;
	enum rdmacpy_moderation mode = c->opts.moderation;
	struct ibv_qp_init_attr attr;
	unsigned int i;
	int ret;

	q->sq_depth = c->opts.queue_depth;
	if (q->sq_depth > d->caps.max_qp_wr)
		q->sq_depth = d->caps.max_qp_wr;
	ret = rcp_vb_create_cq(q->id->verbs, (int)(q->sq_depth + RCP_CLI_RECV_N + 1), q, d->cc, 0,
			       &q->cq);
	if (ret)
		return ret;
	/* hardware moderation where the device has it (not rxe); software otherwise */
	if (mode == RDMACPY_MOD_MODERATED || mode == RDMACPY_MOD_ADAPTIVE) {
		uint32_t cnt = c->opts.mod_count > UINT16_MAX ? UINT16_MAX : c->opts.mod_count;
		uint32_t per =
			c->opts.mod_period_us > UINT16_MAX ? UINT16_MAX : c->opts.mod_period_us;

		ret = rcp_vb_probe_cq_moderation(q->cq, (uint16_t)cnt, (uint16_t)per);
		if (!d->hw_mod_known)
			d->hw_mod = ret == 0;
		else if (d->hw_mod && ret)
			d->hw_mod = false;
		d->hw_mod_known = true;
	}
	memset(&attr, 0, sizeof(attr));
	attr.qp_context = q;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	attr.qp_type = IBV_QPT_RC;
	attr.cap.max_send_wr = q->sq_depth;
	attr.cap.max_recv_wr = RCP_CLI_RECV_N;
	q->max_send_sge = d->caps.max_sge < RCP_SGL_MAX_SGE ? d->caps.max_sge : RCP_SGL_MAX_SGE;
	if (d->caps.max_sge_rd > q->max_send_sge && d->caps.max_sge_rd <= RCP_SGL_MAX_SGE &&
	    d->caps.max_sge_rd <= d->caps.max_sge)
		q->max_send_sge = d->caps.max_sge_rd;
	attr.cap.max_send_sge = q->max_send_sge;
	attr.cap.max_recv_sge = 1;
	ret = rcp_vb_create_qp(q->id, d->pd, &attr);
	if (ret)
		return ret;
	q->ring = calloc(q->sq_depth, sizeof(*q->ring));
	if (!q->ring)
		return -ENOMEM;
	ret = rcp_qp_init_moderation(q);
	if (ret)
		return ret;
	q->recv_buf = c->ctrl_mem + per_qp * q->idx;
	q->send_buf = q->recv_buf + (size_t)RCP_CLI_RECV_N * RCP_MSG_MAX;
	q->ctrl_lkey = d->ctrl_mr->lkey;
	q->send_free = (1u << RCP_CLI_SEND_N) - 1;
	for (i = 0; i < RCP_CLI_RECV_N; i++) {
		ret = rcp_qp_post_recv(q, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* rcp_qp_teardown -- destroy q's QP, CQ (acking its events) and id */
void rcp_qp_teardown(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;

	if (q->notify_pending) {
		q->notify_pending = false;
		c->notify_pending--;
	}
	if (q->id)
		rcp_vb_destroy_qp(q->id);
	if (q->cq) {
		if (q->unacked_events)
			rcp_vb_ack_cq_events(q->cq, q->unacked_events);
		q->unacked_events = 0;
		rcp_vb_destroy_cq(&q->cq);
	}
	rcp_vb_destroy_id(&q->id);
	free(q->ring);
	q->ring = NULL;
	q->state = RCP_QP_IDLE;
}

/* rcp_qp_take_send_buf -- a free control send buffer, marked busy */
int rcp_qp_take_send_buf(struct rcp_cli_qp *q)
{
	unsigned int i;

	for (i = 0; i < RCP_CLI_SEND_N; i++) {
		if (q->send_free & (1u << i)) {
			q->send_free &= ~(1u << i);
			return (int)i;
		}
	}
	return -1;
}

/* rcp_qp_post_ctrl -- a signaled SEND of send buffer buf; the buffer is free again when the
 * slot retires */
int rcp_qp_post_ctrl(struct rcp_cli_qp *q, unsigned int buf, size_t len)
{
	struct rdmacpy_conn *c = q->conn;
	struct ibv_sge sge = {.addr = (uintptr_t)rcp_qp_send_buf(q, buf),
			      .length = (uint32_t)len,
			      .lkey = q->ctrl_lkey};
	struct ibv_send_wr wr = {0};
	struct ibv_send_wr *bad;
	int ret;

	if (!rcp_qp_sq_free(q))
		return -EBUSY;
	wr.wr_id = q->sq_head;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = rcp_vb_post_send(q->id->qp, &wr, &bad);
	c->ctr.post_calls++;
	if (ret)
		return ret;
	rcp_qp_going_busy(q, true);
	q->ring[q->sq_head % q->sq_depth] =
		(struct rcp_cli_slot){.op = NULL, .signaled = true, .send_buf = (int8_t)buf};
	q->sq_head++;
	q->unsig_run = 0;
	q->sig_outstanding++;
	c->ctr.wrs_posted++;
	c->ctr.wrs_signaled++;
	return 0;
}

/* rcp_qp_going_busy -- the first signaled WR out starts the stall watch's clock: only a
 * signaled WR is sure to bring a completion (an unsignaled run waits for the flush WR the
 * engine puts behind it when the application comes back) */
void rcp_qp_going_busy(struct rcp_cli_qp *q, bool signaled)
{
	if (signaled && !q->sig_outstanding && q->conn->nrails > 1)
		q->progress_ns = rcp_now_ns();
}

/* rcp_qp_post_flush -- post a signaled zero-length WR behind q's unsignaled run */
int rcp_qp_post_flush(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	struct ibv_send_wr wr = {0};
	struct ibv_send_wr *bad;
	int ret;

	/* the SQ invariant leaves a slot free behind an unsignaled run; a full SQ ends in a
	 * signaled WR that retires the run anyway */
	if (!q->unsig_run || q->broken || !q->established || !rcp_qp_sq_free(q))
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
		rcp_conn_fail(c, ret, "posting a flush WR failed");
		return ret;
	}
	rcp_qp_going_busy(q, true);
	q->ring[q->sq_head % q->sq_depth] =
		(struct rcp_cli_slot){.op = NULL, .signaled = true, .send_buf = -1};
	q->sq_head++;
	q->unsig_run = 0;
	q->sig_outstanding++;
	q->flush_wrs++;
	c->ctr.wrs_posted++;
	c->ctr.wrs_signaled++;
	return 1;
}

/* rcp_qp_fail -- q is broken: nothing new goes out, everything in flight comes back flushed */
void rcp_qp_fail(struct rcp_cli_qp *q, int err)
{
	q->broken = true;
	if (!q->broken_err)
		q->broken_err = err;
	if (q->state == RCP_QP_READY)
		q->state = RCP_QP_FAILED;
	/* disconnecting moves the QP to the error state: everything posted comes back (flushed),
	 * so no operation waits for a completion that never comes */
	if (q->established) {
		q->established = false;
		rcp_vb_disconnect(q->id);
	}
}

/* retire_slot -- one slot back: its owner learns, a control buffer is free again */
static void retire_slot(struct rcp_cli_qp *q, struct rcp_cli_slot *s, bool mine, int err)
{
	struct rdmacpy_op *op = s->op;

	if (s->signaled)
		q->sig_outstanding--;
	if (s->send_buf >= 0)
		q->send_free |= 1u << s->send_buf;
	s->op = NULL;
	s->send_buf = -1;
	if (!op) {
		/* a control SEND, flush or express WR: its owner reads the status here */
		if (mine)
			q->bare_status = err;
		return;
	}
	if (!mine || !err) {
		if (q->conn->nrails > 1)
			rcp_rail_retired(q, s->len);
		rcp_op_wr_retired(op, 0);
		return;
	}
	/* on a rail taken out, the WR's bytes go again on another rail */
	rcp_op_wr_retired(op, rcp_rail_lost_wr(q, op, s->off, s->len) ? 0 : err);
}

/*
 * wc_resumable -- a completion error that reconnecting may cure: the peer or the path went away.
 * A daemon that dies has its keys torn down before its queue pairs, so its death first shows
 * as remote access errors; a key the daemon revoked on purpose shows the same. Those are
 * resumed too (the resume opens the grants again, or finds them gone), but not again and again:
 * after RCP_ACCESS_RESUMES of them with no transfer done in between, one is a failure.
 */
#define RCP_ACCESS_RESUMES 2

static bool wc_resumable(struct rdmacpy_conn *c, enum ibv_wc_status st)
{
	if (st == IBV_WC_REM_ACCESS_ERR)
		return c->access_resumes++ < RCP_ACCESS_RESUMES;
	return st == IBV_WC_RETRY_EXC_ERR || st == IBV_WC_RESP_TIMEOUT_ERR ||
	       st == IBV_WC_WR_FLUSH_ERR || st == IBV_WC_REM_ABORT_ERR;
}

/* on_send_error -- a send completion failed: q is in the error state and the connection breaks,
 * or resumes when it may. Work in flight on the other QPs carries on until then. */
static void on_send_error(struct rcp_cli_qp *q, enum ibv_wc_status st)
{
	struct rdmacpy_conn *c = q->conn;
	char why[96];

	if (!q->broken && st != IBV_WC_WR_FLUSH_ERR)
		rcp_warn(&c->log, "qp %u: completion error %s", q->idx, rcp_vb_wc_status_str(st));
	/* a rail taken out: what comes back from it now is its flush, handled slot by slot */
	if (c->nrails > 1 && c->rails[q->rail].down)
		return;
	/* with rails, a path that failed is a failover while another rail is up; a remote access
	 * error is the daemon's word on the grant, the same on every rail */
	if (!q->broken && st != IBV_WC_REM_ACCESS_ERR && st != IBV_WC_LOC_PROT_ERR) {
		snprintf(why, sizeof(why), "completion error: %s", rcp_vb_wc_status_str(st));
		if (rcp_rail_fail(q, -ENOTCONN, why))
			return;
	}
	if (!q->broken && !c->broken && c->opts.reconnect_ms && wc_resumable(c, st)) {
		snprintf(why, sizeof(why), "completion error: %s", rcp_vb_wc_status_str(st));
		if (rcp_resume_begin(c, -ENOTCONN, why))
			return;
	}
	if (!q->broken) {
		q->broken = true;
		q->broken_err = -ENOTCONN;
		if (q->state == RCP_QP_READY)
			q->state = RCP_QP_FAILED;
	}
	if (!c->broken && !c->resuming) {
		c->broken = true;
		c->broken_err = -ENOTCONN;
		rcp_conn_set_error(c, "%scompletion error: %s",
				   c->nrails > 1 ? "every rail is down, the last with a " : "",
				   rcp_vb_wc_status_str(st));
	}
}

/* on_send_wc -- retire the slots up to a send completion's sequence number */
static void on_send_wc(struct rcp_cli_qp *q, const struct ibv_wc *wc)
{
	struct rdmacpy_conn *c = q->conn;
	uint64_t seq = wc->wr_id;
	int err = rcp_vb_wc_errno(wc->status);

	if (seq < q->sq_tail || seq >= q->sq_head) {
		/* a flush of a slot rcp_qp_reap_broken() already retired, or a bug */
		rcp_dbg(&c->log, "qp %u: completion for unknown WR %llu", q->idx,
			(unsigned long long)seq);
		return;
	}
	/* the break is decided before the slots retire: a resume makes the failed WR's
	 * transfer run again instead of failing */
	if (err)
		on_send_error(q, wc->status);
	else if (c->nrails > 1)
		q->progress_ns = rcp_now_ns();
	while (q->sq_tail <= seq) {
		struct rcp_cli_slot *s = &q->ring[q->sq_tail % q->sq_depth];
		bool mine = q->sq_tail == seq;

		q->sq_tail++;
		retire_slot(q, s, mine, err);
	}
}

/* on_recv_wc -- a control message (or its flushed buffer) */
static void on_recv_wc(struct rcp_cli_qp *q, const struct ibv_wc *wc)
{
	unsigned int i = (unsigned int)(wc->wr_id & ~RCP_CLI_RECV_TAG);

	if (wc->status != IBV_WC_SUCCESS || i >= RCP_CLI_RECV_N) {
		/* a receive fails only when the QP is in the error state. On a connected
		 * session that is the connection gone (a daemon that died while nothing was
		 * being sent shows it this way first): break it now, or resume, rather than
		 * leave the requests waiting out their timeouts. While connecting, the connect
		 * steps decide (an eviction is tried again). */
		if (q->broken)
			return;
		if (q->conn->connected && !rcp_rail_fail(q, -ENOTCONN, "a control receive failed"))
			rcp_conn_fail(q->conn, -ENOTCONN, "a control receive failed");
		else if (!q->conn->connected)
			rcp_qp_fail(q, -ENOTCONN);
		return;
	}
	rcp_ctrl_recv(q, q->recv_buf + (size_t)i * RCP_MSG_MAX, wc->byte_len);
	if (!q->broken && q->id && rcp_qp_post_recv(q, i))
		rcp_conn_fail(q->conn, -ENOTCONN, "cannot repost a control receive");
}

/* rcp_qp_poll -- one ibv_poll_cq of at most max entries on q, dispatched */
int rcp_qp_poll(struct rcp_cli_qp *q, int max)
{
	struct ibv_wc wc[RCP_CLI_BATCH];
	int n;
	int i;

	n = rcp_vb_poll_cq(q->cq, max < RCP_CLI_BATCH ? max : RCP_CLI_BATCH, wc);
	if (n < 0) {
		rcp_conn_fail(q->conn, n, "polling the completion queue failed");
		return n;
	}
	q->conn->ctr.completions += (uint64_t)n;
	for (i = 0; i < n; i++) {
		if (wc[i].wr_id & RCP_CLI_RECV_TAG)
			on_recv_wc(q, &wc[i]);
		else
			on_send_wc(q, &wc[i]);
	}
	return n;
}

/* rcp_qp_arm -- request an event for the next completion; then catch (up to max) what raced
 * with it, since a completion already queued raises no event */
int rcp_qp_arm(struct rcp_cli_qp *q, int max)
{
	int ret = rcp_vb_req_notify_cq(q->cq, false);

	if (ret) {
		rcp_conn_fail(q->conn, ret, "arming the completion queue failed");
		return ret;
	}
	q->armed = true;
	if (!q->notify_pending) {
		q->notify_pending = true;
		q->conn->notify_pending++;
	}
	q->waiting = false;
	q->arm_due = false;
	return rcp_qp_poll(q, max);
}

/* qp_lazy -- q's arming is deferred and its CQ looked at whenever the engine runs (software
 * moderation other than EVENT) */
static bool qp_lazy(const struct rcp_cli_qp *q)
{
	return !(q->dev && q->dev->hw_mod) && q->mod.mode != RCP_MOD_EVENT;
}

/* qp_period_ns -- how long an idle q may stay unarmed */
static uint64_t qp_period_ns(const struct rcp_cli_qp *q)
{
	uint32_t us = q->mod.period_us ? q->mod.period_us : q->conn->opts.mod_period_us;

	return (uint64_t)(us ? us : RCP_CLI_DEF_PERIOD_US) * 1000u;
}

/* rcp_qp_deadline -- when q must be looked at even if no event comes; UINT64_MAX: never */
uint64_t rcp_qp_deadline(const struct rcp_cli_qp *q)
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

/* service_event -- EVENT mode: take one completion, re-arm, and treat each completion that was
 * already queued at the arm as its own wake-up (a device reporting missed events would have
 * raised one), so wake-ups follow completions one for one */
static void service_event(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	unsigned int i;
	int n;

	if (q->armed)
		return;
	if (rcp_qp_poll(q, 1) < 0)
		return;
	for (i = 0; i < RCP_CLI_BATCH; i++) {
		n = rcp_qp_arm(q, 1);
		if (n <= 0)
			return;
		c->ctr.wakeups++;
	}
	/* more are queued: stay due, without sleeping, for the next service */
	q->armed = false;
}

/* settle -- drain q in batches (first: a pass already made, or -1), then follow the moderation
 * policy: keep spinning, wait on a timer, or arm once the engine would sleep */
static void settle(struct rcp_cli_qp *q, int first)
{
	enum rcp_mod_action act;
	uint64_t deadline = 0;
	unsigned int passes;
	int n;

	for (passes = 0; passes < DRAIN_PASSES_MAX; passes++) {
		struct rcp_mod_wake w;

		n = first >= 0 ? first : rcp_qp_poll(q, RCP_CLI_BATCH);
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
			n = rcp_qp_arm(q, RCP_CLI_BATCH);
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

/* service_lazy -- look at q's CQ without sleeping; settle what it finds; flush an unsignaled
 * run whose period is over */
static void service_lazy(struct rcp_cli_qp *q, uint64_t now)
{
	int n = -1;

	if (q->armed || q->waiting) {
		n = rcp_qp_poll(q, RCP_CLI_BATCH);
		if (n < 0)
			return;
		if (n == 0 && (q->armed || now < q->deadline_ns))
			goto flush;
		if (n == 0 && q->arm_due) {
			/* a period without completions: only an event is worth waiting for */
			n = rcp_qp_arm(q, RCP_CLI_BATCH);
			if (n <= 0)
				goto flush;
		}
		q->armed = false;
		q->waiting = false;
		q->arm_due = false;
	}
	settle(q, n);
flush:
	if (rcp_mod_flush_due(&q->mod, q->unsig_run, q->tail_since_ns, now))
		rcp_qp_post_flush(q);
}

/* rcp_qp_service -- drain q if it is due, under the moderation policy */
void rcp_qp_service(struct rcp_cli_qp *q, uint64_t now)
{
	int n;

	if (!q->cq)
		return;
	if (qp_lazy(q)) {
		service_lazy(q, now);
		return;
	}
	if (!q->dev->hw_mod) {
		service_event(q);
		return;
	}
	/* the device coalesces events itself: drain, then re-arm */
	if (q->armed)
		return;
	do {
		n = rcp_qp_poll(q, RCP_CLI_BATCH);
		if (n < 0)
			return;
	} while (n == RCP_CLI_BATCH);
	n = rcp_qp_arm(q, RCP_CLI_BATCH);
	/* a full batch arrived just after arming: keep draining at the next service (still
	 * armed, so at worst one spurious event follows) */
	if (n == RCP_CLI_BATCH)
		q->armed = false;
}

/* rcp_qp_spinning -- q needs polling without sleeping (busy or POLL mode with WRs out) */
bool rcp_qp_spinning(const struct rcp_cli_qp *q)
{
	return q->cq && !q->armed && !q->waiting;
}

/* rcp_qp_event -- a completion event for q was taken */
void rcp_qp_event(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;

	/* an event for a CQ the engine stopped waiting on (it found the completion by looking,
	 * or POLL mode resumed spinning) woke nobody */
	if (q->armed)
		c->ctr.wakeups++;
	q->armed = false;
	if (q->notify_pending) {
		q->notify_pending = false;
		c->notify_pending--;
	}
	q->unacked_events++;
}

/* rcp_qp_prepare_sleep -- flush an unsignaled run, arm a deferred CQ */
bool rcp_qp_prepare_sleep(struct rcp_cli_qp *q)
{
	if (!q->cq || !qp_lazy(q))
		return true;
	if (q->unsig_run && q->mod.mode != RCP_MOD_POLL && rcp_qp_post_flush(q) != 0)
		return false;
	if (q->waiting && q->arm_due && rcp_qp_arm(q, RCP_CLI_BATCH) != 0) {
		/* completions raced with the arm: drain them awake */
		q->armed = false;
		return false;
	}
	return true;
}

/* reap -- retire every slot still out, in order, as cancelled */
static void reap(struct rcp_cli_qp *q)
{
	while (q->sq_tail != q->sq_head) {
		struct rcp_cli_slot *s = &q->ring[q->sq_tail % q->sq_depth];

		q->sq_tail++;
		retire_slot(q, s, true, -ECANCELED);
	}
}

/*
 * rcp_qp_reap_broken -- retire the slots of a failed QP that no completion will ever retire.
 *
 * Unsignaled WRs are retired by a later signaled WR's completion. A post_send that fails
 * half-way, or a QP that fails before a flush WR went behind its unsignaled run, can leave
 * unsignaled WRs at the end of the queue; those completed silently or will be flushed, and
 * once the QP is in error with no signaled WR left, nothing else will come for them. Any
 * flush that still arrives is ignored.
 */
void rcp_qp_reap_broken(struct rcp_cli_qp *q)
{
	if (!q->broken)
		return;
	if (!q->sig_outstanding)
		reap(q);
	q->unsig_run = 0;
}

/* rcp_qp_reap_all -- retire every slot still out (the QP is being destroyed: no completion
 * will come for any of them) */
void rcp_qp_reap_all(struct rcp_cli_qp *q)
{
	if (q->ring)
		reap(q);
	q->sig_outstanding = 0;
	q->unsig_run = 0;
}

/* rcp_qp_state_str -- for logs */
const char *rcp_qp_state_str(enum rcp_qp_state s)
{
	static const char *const names[] = {
		[RCP_QP_IDLE] = "idle",
		[RCP_QP_RESOLVING_ADDR] = "resolving the address",
		[RCP_QP_RESOLVING_ROUTE] = "resolving the route",
		[RCP_QP_CONNECTING] = "connecting",
		[RCP_QP_CHALLENGED] = "waiting for the challenge",
		[RCP_QP_AUTHENTICATING] = "authenticating",
		[RCP_QP_READY] = "ready",
		[RCP_QP_BACKOFF] = "waiting to try again",
		[RCP_QP_FAILED] = "failed",
	};

	return (unsigned int)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
