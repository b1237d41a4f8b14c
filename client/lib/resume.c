/* SPDX-License-Identifier: BSD-3-Clause */
/* resume.c -- a connection that breaks on the wire connects again within opts.reconnect_ms,
 * opens its grants again, and runs what the break interrupted once more */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/request.h"

/*
 * The steps of a resume:
 * 1. The break (rcp_resume_begin, from the failure paths): every queue pair is moved to the
 *    error state; requests in flight go back to their queues (request ids and deadlines are
 *    per session); transfer WRs that come back flushed mark their operations to run again
 *    instead of failing them. Nothing is freed here: this runs inside a completion poll.
 * 2. rcp_resume_service: the old queue pairs are destroyed (whatever they held is retired)
 *    and the connect steps run again against the address resolved at first, each refusal
 *    retried after a bounded, jittered, growing pause, until resume_deadline_ns.
 * 3. Connected (rcp_resume_connected): every live grant is opened again on every queue pair,
 *    ahead of the application's requests, which stay held. A reply whose region instance
 *    differs from the grant's means the daemon recreated the region: nothing is written or
 *    read again, the connection fails with -ESTALE.
 * 4. All reopened (resume_done): queued requests that name a grant get its new id, every
 *    transfer is planned again on the new keys and addresses, and the held work goes.
 * A break during steps 2-4 starts again at 1 with the same deadline; the deadline passing,
 * or a refusal that another attempt cannot cure, ends the resume and fails the connection.
 */

static void give_up(struct rdmacpy_conn *c, int err, const char *why);

/* resumable -- a break that another connection may cure: the daemon or the path went away.
 * A request that timed out, a refused key or a closing connection stay failures */
static bool resumable(int err)
{
	return err == -ENOTCONN || err == -ECONNRESET || err == -ECONNABORTED;
}

/* drop_reopens -- the resume's own OPENs still out go (a new break starts over) */
static void drop_reopens(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op = c->active_head;

	while (op) {
		struct rdmacpy_op *next = op->next;

		if (op->internal)
			rcp_op_destroy(op);
		op = next;
	}
	c->reopening = 0;
}

/* rcp_resume_begin -- step 1 */
bool rcp_resume_begin(struct rdmacpy_conn *c, int err, const char *why)
{
	unsigned int i;

	if (!c->opts.reconnect_ms || c->closing || c->resume_given_up || c->broken ||
	    !(c->connected || c->resuming) || !resumable(err))
		return false;
	if (!c->resuming) {
		c->resuming = true;
		c->resume_deadline_ns = rcp_now_ns() + (uint64_t)c->opts.reconnect_ms * 1000000ull;
		rcp_warn(&c->log, "connection to %s:%u lost (%s): connecting again for up to %u ms",
			 c->host, c->port, why ? why : "", c->opts.reconnect_ms);
	} else {
		rcp_info(&c->log, "connection to %s:%u lost again while resuming (%s)", c->host,
			 c->port, why ? why : "");
	}
	c->connected = false;
	c->reconnecting = false;
	drop_reopens(c);
	for (i = 0; i < c->nqp; i++) {
		rcp_qp_fail(&c->qp[i], err);
		rcp_ctrl_requeue(&c->qp[i], err);
	}
	return true;
}

/* rcp_resume_due -- step 2 is next: resuming, neither connecting again nor reopening yet */
bool rcp_resume_due(const struct rdmacpy_conn *c)
{
	return c->resuming && !c->reconnecting && !c->connected;
}

/* rcp_resume_service -- step 2, outside any poll: the old QPs go, connecting starts again */
void rcp_resume_service(struct rdmacpy_conn *c)
{
	if (!rcp_resume_due(c))
		return;
	if (rcp_now_ns() >= c->resume_deadline_ns) {
		give_up(c, -ENOTCONN, NULL);
		return;
	}
	rcp_connect_again(c);
}

/* patch_queued -- requests queued under a grant's old id take its new one; a CLOSE of a grant
 * not opened again (closed meanwhile) is done: its session is gone */
static void patch_queued(struct rdmacpy_conn *c, struct rcp_cli_qp *q)
{
	struct rcp_creq **pp = &q->ctrl.head;
	struct rcp_creq *r;

	q->ctrl.tail = NULL;
	while ((r = *pp)) {
		uint32_t *id = NULL;
		struct rdmacpy_grant *g;

		if (r->msg.hdr.type == RCP_MSG_FLUSH && r->msg.u.flush.grant_id)
			id = &r->msg.u.flush.grant_id;
		else if (r->msg.hdr.type == RCP_MSG_CLOSE)
			id = &r->msg.u.close.grant_id;
		for (g = id ? c->grants : NULL; g; g = g->next) {
			if (g->q[q->idx].prev_id == *id) {
				*id = g->q[q->idx].id;
				break;
			}
		}
		if (id && !g && r->msg.hdr.type == RCP_MSG_CLOSE) {
			*pp = r->next;
			if (r->done)
				r->done(r, NULL, 0);
			free(r);
			continue;
		}
		q->ctrl.tail = r;
		pp = &r->next;
	}
}

/* resume_done -- step 4: the held work goes on the new session */
static void resume_done(struct rdmacpy_conn *c)
{
	struct rdmacpy_grant *g;
	struct rdmacpy_op *next;
	struct rdmacpy_op *op;
	unsigned int reruns = 0;
	unsigned int grants = 0;
	unsigned int i;
	int ret;

	c->resuming = false;
	for (g = c->grants; g; g = g->next) {
		grants++;
		g->prev_addr = g->q[0].addr;
		for (i = 0; i < c->nqp; i++) {
			bool reopened = rcp_rail_usable(c, c->qp[i].rail);

			g->q[i].prev_id = g->q[i].id;
			g->q[i].id = reopened ? g->q[i].next_id : 0;
			g->q[i].rkey = reopened ? g->q[i].next_rkey : 0;
			g->q[i].addr = reopened ? g->q[i].next_addr : 0;
		}
	}
	for (i = 0; i < c->nqp; i++)
		patch_queued(c, &c->qp[i]);
	for (op = c->active_head; op; op = next) {
		next = op->next;
		if (op->kind != RCP_OP_XFER)
			continue;
		if (op->err) {
			/* failed before the break: it ends as it is */
			op->rerun = false;
			rcp_op_check_finish(op);
			continue;
		}
		if (op->rerun)
			reruns++;
		ret = rcp_xfer_replan(op);
		if (ret)
			rcp_op_fail(op, ret);
	}
	c->ctr.reconnects++;
	c->ctr.reruns += reruns;
	rcp_warn(&c->log,
		 "connection to %s:%u resumed: %u grant(s) opened again, %u transfer(s) run "
		 "again",
		 c->host, c->port, grants, reruns);
	for (i = 0; i < c->nqp; i++)
		rcp_ctrl_pump(&c->qp[i]);
}

/* reopen_reply -- one QP's grant again: the same region (instance), its new key and address */
static int reopen_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_open_reply *r = &m->u.open_reply;
	struct rdmacpy_grant *g = (struct rdmacpy_grant *)op->grant;
	struct rdmacpy_conn *c = op->conn;

	if (!g->instance || !r->instance) {
		rcp_conn_set_error(c,
				   "the daemon does not tell whether region %s was recreated "
				   "(protocol %u): not resuming",
				   g->region, c->qp[part].version);
		return -ESTALE;
	}
	if (r->instance != g->instance) {
		rcp_conn_set_error(c,
				   "region %s was recreated by the daemon (instance %016" PRIx64
				   ", was %016" PRIx64 "): its bytes are not the ones granted",
				   g->region, r->instance, g->instance);
		return -ESTALE;
	}
	if (r->length < g->length || r->rights != g->rights) {
		rcp_conn_set_error(c, "region %s no longer grants what it did", g->region);
		return -ESTALE;
	}
	/* kept aside: transfers built meanwhile still plan on the old addresses, and all of
	 * them move to the new ones together (resume_done) */
	g->q[part].next_id = r->grant_id;
	g->q[part].next_rkey = r->rkey;
	g->q[part].next_addr = r->addr;
	return 0;
}

/* reopen_end -- one grant opened again on every QP, or a reason to give up */
static void reopen_end(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;

	if (op->err) {
		give_up(c, op->err, NULL);
		return;
	}
	if (--c->reopening == 0)
		resume_done(c);
}

static const struct rcp_req_ops reopen_ops = {
	.reply_type = RCP_MSG_OPEN_REPLY,
	.reply = reopen_reply,
	.end = reopen_end,
};

/* reopen -- OPEN g again on every QP, ahead of everything queued */
static int reopen(struct rdmacpy_conn *c, struct rdmacpy_grant *g)
{
	struct rdmacpy_op *op = rcp_rq_new(c, &reopen_ops, NULL, NULL);
	struct rcp_msg m;
	unsigned int i;
	int err = 0;

	if (!op)
		return -ENOMEM;
	op->internal = true;
	op->grant = g;
	rcp_grant_open_msg(g, &m);
	for (i = 0; i < c->nqp; i++) {
		struct rcp_creq *r;

		/* the other rails open their windows when they rejoin */
		if (!rcp_rail_usable(c, c->qp[i].rail))
			continue;
		r = rcp_creq_new(&c->qp[i], &m, RCP_MSG_OPEN_REPLY, 0, c->opts.timeout_ms,
				 rcp_rq_part_done, op, i, &err);
		if (!r) {
			rcp_op_destroy(op);
			return err;
		}
		op->req.parts++;
		op->req.pending++;
		rcp_ctrl_submit_early(r);
	}
	rcp_op_activate(op, NULL);
	return 0;
}

/* rcp_resume_connected -- step 3 */
void rcp_resume_connected(struct rdmacpy_conn *c, int err)
{
	struct rdmacpy_grant *g;
	unsigned int i;

	if (err) {
		give_up(c, err, NULL);
		return;
	}
	c->reopening = 0;
	for (g = c->grants; g; g = g->next) {
		err = reopen(c, g);
		if (err) {
			give_up(c, err, "cannot open the grants again");
			return;
		}
		c->reopening++;
	}
	if (!c->reopening) {
		resume_done(c);
		return;
	}
	for (i = 0; i < c->nqp; i++)
		rcp_ctrl_pump(&c->qp[i]);
}

/* give_up -- the resume ends unsuccessfully: what it held fails, with -ESTALE when the region
 * changed and as a broken connection otherwise */
static void give_up(struct rdmacpy_conn *c, int err, const char *why)
{
	int fail = err == -ESTALE ? -ESTALE : c->closing ? -ECANCELED : -ENOTCONN;
	struct rdmacpy_op *op;

	if (!c->resuming)
		return;
	if (why)
		rcp_conn_set_error(c, "%s", why);
	else if (err != -ESTALE)
		rcp_conn_set_error(c, "the daemon at %s:%u did not come back within %u ms (%s)",
				   c->host, c->port, c->opts.reconnect_ms,
				   rdmacpy_strerror(rcp_err_public(err, RCP_CTX_CONNECT)));
	c->resuming = false;
	c->reconnecting = false;
	c->resume_given_up = true;
	/* the status says why (RDMACPY_E_STALE, or broken), not "connected once" */
	c->connected = false;
	/* the resume's own OPENs still out fail with the connection below */
	for (op = c->active_head; op; op = op->next) {
		if (op->kind != RCP_OP_XFER)
			continue;
		op->rerun = false;
		rcp_op_fail(op, fail);
	}
	rcp_conn_fail(c, fail, c->last_error);
}

/* rcp_resume_wait_more -- a synchronous wait's timeout met a resume (or one that ended since) */
bool rcp_resume_wait_more(const struct rdmacpy_conn *c, uint64_t *seen)
{
	bool more = c->resuming || c->ctr.reconnects != *seen;

	*seen = c->ctr.reconnects;
	return more;
}
