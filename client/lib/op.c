/* SPDX-License-Identifier: BSD-3-Clause */
/* op.c -- operations: lists, failure, finishing, callbacks, and the public op calls */
#include "client/lib/op.h"

#include <errno.h>
#include <stdlib.h>

#include "client/lib/conn.h"

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

/* rcp_op_new -- an operation with no arrays */
struct rdmacpy_op *rcp_op_new(struct rdmacpy_conn *c, enum rcp_op_kind kind, enum rcp_err_ctx ctx,
			      rdmacpy_done_fn cb, void *ctx_user)
{
	struct rdmacpy_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->conn = c;
	op->kind = kind;
	op->ctx = ctx;
	op->state = RCP_OP_NEW;
	op->status = RDMACPY_E_INPROGRESS;
	op->cb = cb;
	op->ctx_user = ctx_user;
	return op;
}

/* rcp_op_activate -- on the active list, the caller given the handle or not */
void rcp_op_activate(struct rdmacpy_op *op, struct rdmacpy_op **out)
{
	struct rdmacpy_conn *c = op->conn;

	op->state = RCP_OP_ACTIVE;
	op->detached = !out;
	list_append(&c->active_head, &c->active_tail, op);
	if (out)
		*out = op;
}

/* rcp_op_release_regs -- give back the registrations the op holds */
void rcp_op_release_regs(struct rdmacpy_op *op)
{
	unsigned int d;
	size_t i;

	if (!op->regs)
		return;
	/* device d's registrations are at d * local_cap; an application registration is none */
	for (d = 0; d < op->ndev; d++)
		for (i = 0; i < op->nlocal; i++)
			if (op->regs[d * op->local_cap + i])
				rcp_rcache_put(&op->conn->dev[d].cache,
					       &op->regs[d * op->local_cap + i]);
	op->nregs = 0;
}

/* rcp_op_destroy -- unlink and free an operation */
void rcp_op_destroy(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;
	unsigned int i;

	if (op->state == RCP_OP_ACTIVE)
		list_remove(&c->active_head, &c->active_tail, op);
	else if (op->state == RCP_OP_DONE)
		list_remove(&c->done_head, &c->done_tail, op);
	else if (op->state == RCP_OP_FINISHED)
		list_remove(&c->held_head, &c->held_tail, op);
	if (op->kind == RCP_OP_REQUEST) {
		for (i = 0; i < c->nqp; i++)
			rcp_ctrl_cancel_owner(&c->qp[i], op);
		/* an OPEN that never ended: its grant was never handed out */
		free(op->req.grant);
	}
	rcp_op_release_regs(op);
	free(op->redo);
	free(op);
}

/* rcp_op_fail -- the first failure of an operation decides its status */
void rcp_op_fail(struct rdmacpy_op *op, int err)
{
	if (!op->err)
		op->err = err ? err : -EIO;
}

/* to_done -- an active op is over: its public status is decided here, once */
static void to_done(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;

	list_remove(&c->active_head, &c->active_tail, op);
	op->state = RCP_OP_DONE;
	op->status = rcp_err_public(op->err, op->ctx);
	list_append(&c->done_head, &c->done_tail, op);
}

/* rcp_op_finish -- a request or connect op is over */
void rcp_op_finish(struct rdmacpy_op *op)
{
	if (op->state == RCP_OP_ACTIVE)
		to_done(op);
}

/* rcp_op_check_finish -- move a transfer whose WRs are all back to the done list */
void rcp_op_check_finish(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;

	/* an interrupted transfer waits for the resume that runs it again */
	if (op->state != RCP_OP_ACTIVE || op->retired != op->posted || op->rerun)
		return;
	if (!op->err && !rcp_xfer_planned(op))
		return;
	if (!op->err) {
		c->access_resumes = 0;
		if (op->dir == RCP_SGL_READ)
			c->ctr.bytes_read += op->bytes;
		else
			c->ctr.bytes_written += op->bytes;
	}
	/* the device is done with the buffers: registrations can go now */
	rcp_op_release_regs(op);
	to_done(op);
}

/* rcp_op_wr_lost -- a WR failed: a resume runs the whole transfer again (a READ or WRITE of
 * the same bytes to the same place may run twice), else the transfer fails */
void rcp_op_wr_lost(struct rdmacpy_op *op, int err)
{
	if (op->conn->resuming && !op->err)
		op->rerun = true;
	else
		rcp_op_fail(op, err);
}

/* rcp_op_wr_retired -- one WR back */
void rcp_op_wr_retired(struct rdmacpy_op *op, int err)
{
	op->retired++;
	if (err)
		rcp_op_wr_lost(op, err);
	rcp_op_check_finish(op);
}

/* rcp_op_finished -- wait predicate */
bool rcp_op_finished(void *arg)
{
	const struct rdmacpy_op *op = arg;

	return op->state != RCP_OP_ACTIVE && op->state != RCP_OP_NEW;
}

/* rcp_ops_run_callbacks -- deliver finished operations; returns how many */
int rcp_ops_run_callbacks(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op;
	int n = 0;

	while ((op = c->done_head)) {
		list_remove(&c->done_head, &c->done_tail, op);
		op->state = RCP_OP_FINISHED;
		list_append(&c->held_head, &c->held_tail, op);
		if (!op->internal)
			n++;
		if (op->cb) {
			op->in_cb = true;
			op->cb(op, op->status, op->ctx_user);
			op->in_cb = false;
		}
		if (op->detached || op->free_req)
			rcp_op_destroy(op);
	}
	return n;
}

/* rcp_ops_abort -- finish every active op with err; what the application holds dies with the
 * connection (documented) */
void rcp_ops_abort(struct rdmacpy_conn *c, int err)
{
	struct rdmacpy_op *op;

	while ((op = c->active_head)) {
		rcp_op_fail(op, err);
		rcp_op_release_regs(op);
		to_done(op);
	}
	rcp_ops_run_callbacks(c);
	while ((op = c->held_head))
		rcp_op_destroy(op);
}

/* rdmacpy_op_status -- 0 or RDMACPY_E_* when finished, RDMACPY_E_INPROGRESS before */
int rdmacpy_op_status(const struct rdmacpy_op *op)
{
	if (!op)
		return RDMACPY_E_INVAL;
	return rcp_op_finished((void *)op) ? op->status : RDMACPY_E_INPROGRESS;
}

/* rdmacpy_op_wait -- progress until op finishes */
int rdmacpy_op_wait(struct rdmacpy_op *op, int timeout_ms)
{
	struct rdmacpy_conn *c;
	int ret;

	if (!op)
		return RDMACPY_E_INVAL;
	c = op->conn;
	ret = rcp_engine_wait(c, rcp_op_finished, op,
			      timeout_ms < 0 ? c->opts.timeout_ms : timeout_ms);
	rcp_engine_leave(c);
	if (ret)
		return RDMACPY_E_TIMEOUT;
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
	else if (op->state == RCP_OP_ACTIVE || op->state == RCP_OP_NEW || op->state == RCP_OP_DONE)
		/* still running, or its callback not yet run: it goes once that has run */
		op->detached = true;
	else
		rcp_op_destroy(op);
}
