/* SPDX-License-Identifier: BSD-3-Clause */
/* grant.c -- grants: opened on every queue pair at once, closed on every one, and what the
 * application may ask of one */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/request.h"

/* rcp_grant_close_orphan -- CLOSE a grant id whose grant will not exist (an OPEN that failed on
 * another QP, or answered after its grant was closed): nobody waits for the answer */
void rcp_grant_close_orphan(struct rcp_cli_qp *q, uint32_t id)
{
	struct rcp_creq *r;
	struct rcp_msg m;
	int err = 0;

	rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
	m.u.close.grant_id = id;
	r = rcp_creq_new(q, &m, RCP_MSG_CLOSE_REPLY, 0, q->conn->opts.timeout_ms, NULL, NULL, 0,
			 &err);
	if (r)
		rcp_ctrl_submit(r);
}

/* open_reply -- one QP's grant: its key and address */
static int open_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_open_reply *r = &m->u.open_reply;
	struct rdmacpy_grant *g = op->req.grant;

	g->q[part].id = r->grant_id;
	g->q[part].rkey = r->rkey;
	g->q[part].addr = r->addr;
	if (r->length < g->length) {
		rcp_conn_set_error(op->conn, "the daemon granted %llu of %llu bytes",
				   (unsigned long long)r->length, (unsigned long long)g->length);
		return -EPROTO;
	}
	/* the QPs share one session's settings: their grants must agree */
	if (!g->rights) {
		g->rights = r->rights;
		g->mw = !(r->flags & RCP_GRANT_F_MR_FALLBACK);
		g->instance = r->instance;
	} else if (g->rights != r->rights || g->mw != !(r->flags & RCP_GRANT_F_MR_FALLBACK)) {
		rcp_conn_set_error(op->conn, "the daemon's grants on the queue pairs differ");
		return -EPROTO;
	}
	return 0;
}

/* open_end -- every QP answered: the grant is the application's, or every part is closed */
static void open_end(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;
	struct rdmacpy_grant *g = op->req.grant;
	unsigned int i;

	op->req.grant = NULL;
	/* every part lost with its rail: nothing was granted */
	if (!op->err && !g->rights)
		rcp_op_fail(op, -ENETDOWN);
	if (op->err) {
		for (i = 0; i < c->nqp; i++)
			if (g->q[i].id && !c->broken)
				rcp_grant_close_orphan(&c->qp[i], g->q[i].id);
		free(g);
		return;
	}
	g->next = c->grants;
	c->grants = g;
	*op->req.grant_out = g;
}

/* rcp_grant_open_msg -- the OPEN of g, for a queue pair that has no window of it yet */
void rcp_grant_open_msg(const struct rdmacpy_grant *g, struct rcp_msg *m)
{
	rcp_msg_init(m, RCP_MSG_OPEN, 0);
	snprintf(m->u.open.name, sizeof(m->u.open.name), "%s", g->region);
	m->u.open.offset = g->offset;
	m->u.open.length = g->length;
	m->u.open.rights = g->rights;
}

static const struct rcp_req_ops open_ops = {
	.reply_type = RCP_MSG_OPEN_REPLY,
	.reply = open_reply,
	.end = open_end,
	.per_rail = true,
};

/* rdmacpy_grant_open_async -- OPEN on every QP; *g is set when all of them granted */
int rdmacpy_grant_open_async(struct rdmacpy_conn *c, const char *region, uint64_t offset,
			     uint64_t length, enum rdmacpy_rights rights, struct rdmacpy_grant **gp,
			     rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **opp)
{
	struct rdmacpy_grant *g;
	struct rdmacpy_op *op;
	struct rcp_msg m;
	unsigned int i;
	int ret = rcp_rq_check(c, opp);

	if (opp)
		*opp = NULL;
	if (ret)
		return ret;
	rcp_msg_init(&m, RCP_MSG_OPEN, 0);
	if (!length || !gp || (rights != RDMACPY_RIGHTS_RO && rights != RDMACPY_RIGHTS_RW) ||
	    rcp_rq_name(m.u.open.name, region) || offset > UINT64_MAX - length)
		return RDMACPY_E_INVAL;
	*gp = NULL;
	m.u.open.offset = offset;
	m.u.open.length = length;
	m.u.open.rights = (enum rcp_rights)rights;
	g = calloc(1, sizeof(*g) + c->nqp * sizeof(g->q[0]));
	op = rcp_rq_new(c, &open_ops, cb, ctx);
	if (!g || !op) {
		free(g);
		free(op);
		return RDMACPY_E_NOMEM;
	}
	g->conn = c;
	g->length = length;
	g->offset = offset;
	g->serial = ++c->grant_serial;
	snprintf(g->region, sizeof(g->region), "%s", region);
	op->req.grant = g;
	op->req.grant_out = gp;
	/* a memory window answers only on the QP it is bound to: one grant per QP. A rail that
	 * is down gets its windows when it rejoins */
	for (i = 0; i < c->nqp; i++) {
		if (c->nrails > 1 && !rcp_rail_usable(c, c->qp[i].rail))
			continue;
		ret = rcp_rq_send(op, &c->qp[i], &m, c->opts.timeout_ms, i);
		if (ret) {
			/* nothing is sent before rcp_rq_go: the queued parts and the grant go
			 * with the op */
			rcp_op_destroy(op);
			return rcp_err_public(ret, RCP_CTX_LOCAL);
		}
	}
	if (!op->req.parts) {
		rcp_op_destroy(op);
		return RDMACPY_E_NO_RAIL;
	}
	return rcp_rq_go(op, opp);
}

/* rdmacpy_grant_open -- synchronous */
int rdmacpy_grant_open(struct rdmacpy_conn *c, const char *region, uint64_t offset, uint64_t length,
		       enum rdmacpy_rights rights, struct rdmacpy_grant **g)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_grant_open_async(c, region, offset, length, rights, g, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

static const struct rcp_req_ops close_ops = {
	.reply_type = RCP_MSG_CLOSE_REPLY,
	.per_rail = true,
};

/* grant_unlink -- take g off its connection's list */
static void grant_unlink(struct rdmacpy_grant *g)
{
	struct rdmacpy_grant **pp;

	for (pp = &g->conn->grants; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			return;
		}
	}
}

/* rdmacpy_grant_close_async -- CLOSE on every QP; the handle is gone at once */
int rdmacpy_grant_close_async(struct rdmacpy_grant **gp, rdmacpy_done_fn cb, void *ctx,
			      struct rdmacpy_op **opp)
{
	struct rdmacpy_grant *g;
	struct rdmacpy_conn *c;
	struct rdmacpy_op *op;
	struct rcp_msg m;
	unsigned int i;
	int ret;

	if (opp)
		*opp = NULL;
	if (!gp || !*gp)
		return RDMACPY_E_INVAL;
	g = *gp;
	c = g->conn;
	*gp = NULL;
	grant_unlink(g);
	ret = rcp_rq_check(c, opp);
	op = ret ? NULL : rcp_rq_new(c, &close_ops, cb, ctx);
	if (!op) {
		/* a broken connection's grants died with its sessions */
		free(g);
		return ret ? ret : RDMACPY_E_NOMEM;
	}
	if (c->resuming) {
		/* its session broke: the grant ended there, and the resume will not open it */
		free(g);
		rcp_op_activate(op, opp);
		rcp_op_finish(op);
		return 0;
	}
	for (i = 0; i < c->nqp; i++) {
		/* a rail that is down has no window of it (its session ended); one rejoining may
		 * have it already */
		if (c->nrails > 1 &&
		    (!g->q[i].id || c->qp[i].state != RCP_QP_READY || c->qp[i].broken))
			continue;
		rcp_msg_init(&m, RCP_MSG_CLOSE, 0);
		m.u.close.grant_id = g->q[i].id;
		ret = rcp_rq_send(op, &c->qp[i], &m, c->opts.timeout_ms, i);
		if (ret)
			rcp_op_fail(op, ret);
	}
	free(g);
	if (!op->req.parts) {
		if (op->err) {
			rcp_op_destroy(op);
			return RDMACPY_E_NOMEM;
		}
		/* no rail is up to close it on: it ended with their sessions */
		rcp_op_activate(op, opp);
		rcp_op_finish(op);
		return 0;
	}
	return rcp_rq_go(op, opp);
}

/* rdmacpy_grant_close -- synchronous; the grant is freed in any case */
int rdmacpy_grant_close(struct rdmacpy_grant **g)
{
	struct rdmacpy_op *op = NULL;
	int ret;

	if (!g || !*g)
		return 0;
	ret = rdmacpy_grant_close_async(g, NULL, NULL, &op);
	return rcp_rq_sync(ret, op);
}

/* rdmacpy_grant_length -- bytes the grant covers */
uint64_t rdmacpy_grant_length(const struct rdmacpy_grant *g)
{
	return g ? g->length : 0;
}

/* rdmacpy_grant_rights -- RDMACPY_RIGHTS_RO or RDMACPY_RIGHTS_RW */
int rdmacpy_grant_rights(const struct rdmacpy_grant *g)
{
	return g ? (int)g->rights : RDMACPY_E_INVAL;
}

/* rdmacpy_grant_is_memory_window -- whether the grant is a QP-bound memory window */
bool rdmacpy_grant_is_memory_window(const struct rdmacpy_grant *g)
{
	return g && g->mw;
}
