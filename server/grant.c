/* SPDX-License-Identifier: BSD-3-Clause */
/* grant.c -- OPEN/CLOSE: type-2 memory windows bound to exactly the granted range and rights */
#include "server/grant.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/check.h"
#include "server/jobs.h"
#include "server/region.h"
#include "server/worker.h"

/*
 * Where a grant's window sits.
 *
 * Where the device enforces a window's own bounds (mw_probe.c), the window is bound straight
 * onto the region's MR: an OPEN costs a bind whatever its size. Elsewhere the window sits on an
 * MR of exactly the granted range, which a worker registers (pinning takes time that grows
 * with the range) and a worker deregisters when the grant ends; the loop only binds and
 * invalidates.
 */

/* release_work -- unpin the range */
static void release_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;

	q->result = rcp_vb_dereg_mr(&q->u.reg.mr);
}

/* release_done -- the region is free of it: answer the CLOSE that waited for that, if any; at
 * shutdown, work the pool no longer runs is done here (the loop serves nobody then) */
static void release_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_region *r = q->region;
	struct rcp_session *s;
	struct rcp_msg reply;

	s = rcp_req_finish(q);
	if (!job->ran)
		q->result = rcp_vb_dereg_mr(&q->u.reg.mr);
	if (q->result)
		rcp_err(&q->srv->log, "region %s: deregistering a grant's range: %s", r->name,
			strerror(-q->result));
	if (s && q->req_id) {
		rcp_msg_init(&reply, RCP_MSG_CLOSE_REPLY, q->req_id);
		rcp_session_reply(s, &reply);
	}
	free(q);
}

/* release_mr -- deregister a grant's own MR off the loop, and answer the CLOSE req_id of s
 * (0: none) once it is gone; inline if the pool does not take it (shutting down). Returns true
 * when the answer is deferred to the release. */
static bool release_mr(struct rcp_server *srv, struct rcp_session *s, uint32_t req_id,
		       struct rcp_region *r, struct ibv_mr **mrp)
{
	struct rcp_req *q = calloc(1, sizeof(*q));
	int ret;

	if (q) {
		q->srv = srv;
		q->s = req_id ? s : NULL;
		q->req_id = req_id;
		q->type = RCP_MSG_CLOSE;
		q->region = r;
		q->u.reg.mr = *mrp;
		*mrp = NULL;
		if (rcp_req_start(q, release_work, release_done, false))
			return req_id != 0;
		*mrp = q->u.reg.mr;
	}
	ret = rcp_vb_dereg_mr(mrp);
	if (ret)
		rcp_err(&srv->log, "region %s: deregistering a grant's range: %s", r->name,
			strerror(-ret));
	return false;
}

/* grant_free -- deallocate the window (invalidating it if still bound) and forget the grant;
 * with reply_to (a CLOSE's request id, 0: none) the answer waits until the grant's own MR is
 * deregistered, so that a client that saw CLOSE_REPLY finds the region free of it. Returns
 * true when that answer is deferred (sent by the release), false when the caller answers. */
static bool grant_free(struct rcp_session *s, struct rcp_grant *g, uint32_t reply_to)
{
	struct rcp_server *srv = s->srv;
	bool deferred = false;
	int ret;

	if (g->mw) {
		ret = rcp_vb_dealloc_mw(&g->mw);
		if (ret)
			rcp_err(&srv->log, "client %s: grant %u: freeing its window: %s", s->peer,
				g->id, strerror(-ret));
	}
	/* a window that would not go stays bound to the MR, which then cannot go either */
	if (g->mr && !g->mw)
		deferred = release_mr(srv, s, reply_to, g->region, &g->mr);
	if (g->bound)
		srv->cnt.mw_active--;
	TAILQ_REMOVE(&s->grants, g, link);
	s->ngrants--;
	g->region->ngrants--;
	rcp_region_unused(s->srv, g->region);
	srv->cnt.grants_active--;
	free(g);
	return deferred;
}

/* rcp_grant_find -- linear: a client holds few grants */
struct rcp_grant *rcp_grant_find(struct rcp_session *s, uint32_t grant_id)
{
	struct rcp_grant *g;

	TAILQ_FOREACH(g, &s->grants, link)
	if (g->id == grant_id)
		return g;
	return NULL;
}

/* reply_open -- OPEN_REPLY for a grant whose rkey works now */
static void reply_open(struct rcp_session *s, struct rcp_grant *g)
{
	struct rcp_msg m;

	rcp_msg_init(&m, RCP_MSG_OPEN_REPLY, g->req_id);
	m.u.open_reply.grant_id = g->id;
	m.u.open_reply.flags = g->mw ? 0 : RCP_GRANT_F_MR_FALLBACK;
	m.u.open_reply.addr = (uint64_t)(uintptr_t)g->region->addr + g->offset;
	m.u.open_reply.length = g->length;
	m.u.open_reply.rkey = g->rkey;
	m.u.open_reply.rights = g->rights;
	m.u.open_reply.instance = g->region->instance;
	s->srv->cnt.grants_total++;
	rcp_dbg(&s->srv->log, "client %s: grant %u on %s [%llu, +%llu) %s rkey 0x%x%s", s->peer,
		g->id, g->region->name, (unsigned long long)g->offset,
		(unsigned long long)g->length, rcp_rights_str(g->rights), g->rkey,
		g->mw ? (g->mr ? " (window on its own MR)" : " (window on the region MR)")
		      : " (MR fallback)");
	rcp_session_reply(s, &m);
}

/* next_id -- a grant id unused in this session and never 0 */
static uint32_t next_id(struct rcp_session *s)
{
	do {
		s->next_grant_id++;
	} while (s->next_grant_id == 0 || rcp_grant_find(s, s->next_grant_id));
	return s->next_grant_id;
}

/* bind_window -- post the window's bind on the client's QP, onto the grant's own MR or the
 * region's; OPEN is answered when it completes */
static void bind_window(struct rcp_session *s, struct rcp_grant *g)
{
	struct rcp_region *r = g->region;
	struct ibv_send_wr wr;
	uint32_t req_id = g->req_id;
	int ret;

	ret = rcp_vb_alloc_mw(s->dev->pd, &g->mw);
	if (ret) {
		grant_free(s, g, 0);
		rcp_session_refuse(s, req_id, RCP_ERR_NOMEM,
				   "OPEN %s: allocating a memory window: %s", r->name,
				   strerror(-ret));
		return;
	}
	g->rkey = rcp_vb_wr_bind_mw(&wr, RCP_WR_ID(RCP_WR_BIND, g->id), g->mw,
				    g->mr ? g->mr : r->mr[s->dev->index],
				    (uint64_t)(uintptr_t)r->addr + g->offset, g->length,
				    rcp_grant_mw_access(g->rights));
	ret = rcp_vb_post_send(s->id->qp, &wr, NULL);
	if (ret) {
		grant_free(s, g, 0);
		rcp_session_refuse(s, req_id, RCP_ERR_INTERNAL,
				   "OPEN %s: posting the window bind: %s", r->name, strerror(-ret));
		return;
	}
	g->state = RCP_GRANT_BINDING;
}

/* register_work -- pin exactly the granted range */
static void register_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_region *r = q->region;

	q->result = rcp_vb_reg_mr(q->u.reg.pd, r->addr + q->offset, q->length, q->u.reg.access,
				  &q->u.reg.mr);
}

/* register_done -- bind onto the new MR, or give it back if the grant is gone */
static void register_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_region *r = q->region;
	struct rcp_session *s = rcp_req_finish(q);
	struct rcp_grant *g = s ? rcp_grant_find(s, q->u.reg.grant_id) : NULL;

	if (!job->ran)
		q->u.reg.mr = NULL; /* cancelled before it registered anything */

	if (!g || g->state != RCP_GRANT_REGISTERING) {
		if (q->u.reg.mr)
			release_mr(q->srv, NULL, 0, r, &q->u.reg.mr);
	} else if (q->result) {
		grant_free(s, g, 0);
		rcp_session_refuse(s, q->req_id, rcp_err_from_errno(q->result),
				   "OPEN %s: registering the range: %s", r->name,
				   strerror(-q->result));
	} else {
		g->mr = q->u.reg.mr;
		bind_window(s, g);
	}
	free(q);
}

/* register_range -- start the registration of g's own MR on a worker */
static void register_range(struct rcp_session *s, struct rcp_grant *g, const struct rcp_msg *m)
{
	struct rcp_req *q = rcp_req_new(s, m);

	if (!q) {
		grant_free(s, g, 0);
		return;
	}
	q->region = g->region;
	q->offset = g->offset;
	q->length = g->length;
	q->u.reg.grant_id = g->id;
	q->u.reg.access = rcp_mr_access(g->rights, true);
	q->u.reg.pd = s->dev->pd;
	g->state = RCP_GRANT_REGISTERING;
	/* not counted against --max-jobs-per-client: --max-grants-per-client bounds it */
	if (!rcp_req_start(q, register_work, register_done, false))
		grant_free(s, g, 0);
}

/* rcp_grant_open -- refuse what the rules forbid, else bind a window on this client's QP */
void rcp_grant_open(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_open *o = &m->u.open;
	struct rcp_server *srv = s->srv;
	struct rcp_region *r;
	struct rcp_grant *g;

	if (srv->shutting_down) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_SHUTDOWN, "OPEN %s: shutting down",
				   o->name);
		return;
	}
	r = rcp_region_find(srv, o->name);
	if (!r) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "OPEN: no region %s", o->name);
		return;
	}
	if (rcp_check_rights(r->rights, o->rights)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_ACCESS, "OPEN %s %s: the region is %s",
				   o->name, rcp_rights_str(o->rights), rcp_rights_str(r->rights));
		return;
	}
	if (rcp_check_range(r->size, o->offset, o->length)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_RANGE,
				   "OPEN %s [%llu, +%llu): the region has %llu bytes", o->name,
				   (unsigned long long)o->offset, (unsigned long long)o->length,
				   (unsigned long long)r->size);
		return;
	}
	if (s->ngrants >= srv->cfg.max_grants_per_client) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_LIMIT,
				   "OPEN %s: %u grants open, the limit per client", o->name,
				   s->ngrants);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM, "OPEN %s: out of memory",
				   o->name);
		return;
	}
	g->id = next_id(s);
	g->region = r;
	g->offset = o->offset;
	g->length = o->length;
	g->rights = o->rights;
	g->req_id = m->hdr.req_id;
	TAILQ_INSERT_TAIL(&s->grants, g, link);
	s->ngrants++;
	r->ngrants++;
	srv->cnt.grants_active++;
	/* the staged copy of a file region is written back at exit where a grant could write */
	if (g->rights == RCP_RIGHTS_RW)
		rcp_region_mark_dirty(r, g->offset, g->length);
	if (!s->dev->use_mw) {
		/* no windows on this device: the MR's rkey reaches the whole region from any
		 * QP; the operator was warned at startup, the client learns it from the flag */
		g->rkey = r->mr[s->dev->index]->rkey;
		g->state = RCP_GRANT_ACTIVE;
		reply_open(s, g);
		return;
	}
	if (s->dev->mr_per_grant)
		register_range(s, g, m);
	else
		bind_window(s, g);
}

/* rcp_grant_bind_done -- hand out the rkey only now that the bind is known to have worked */
void rcp_grant_bind_done(struct rcp_session *s, uint32_t grant_id, int status)
{
	struct rcp_grant *g = rcp_grant_find(s, grant_id);
	uint32_t req_id;

	if (!g || g->state != RCP_GRANT_BINDING)
		return;
	if (status) {
		req_id = g->req_id;
		grant_free(s, g, 0);
		rcp_session_fail(s, req_id, RCP_ERR_INTERNAL, "OPEN: binding the window failed: %s",
				 strerror(-status));
		return;
	}
	rcp_vb_mw_commit_rkey(g->mw, g->rkey);
	g->bound = true;
	s->srv->cnt.mw_active++;
	g->state = RCP_GRANT_ACTIVE;
	reply_open(s, g);
}

/* rcp_grant_close -- invalidate first: the rkey must be dead before CLOSE_REPLY leaves */
void rcp_grant_close(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_grant *g = rcp_grant_find(s, m->u.close.grant_id);
	struct ibv_send_wr wr;
	struct rcp_msg reply;
	int ret;

	if (!g || g->state != RCP_GRANT_ACTIVE) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "CLOSE: no grant %u",
				   m->u.close.grant_id);
		return;
	}
	g->req_id = m->hdr.req_id;
	if (g->mw) {
		rcp_vb_wr_local_inv(&wr, RCP_WR_ID(RCP_WR_INV, g->id), g->rkey);
		ret = rcp_vb_post_send(s->id->qp, &wr, NULL);
		if (!ret) {
			g->state = RCP_GRANT_INVALIDATING;
			return;
		}
		/* deallocating invalidates too, just not through the QP: good enough */
		rcp_warn(&s->srv->log, "client %s: grant %u: posting the invalidate: %s", s->peer,
			 g->id, strerror(-ret));
	}
	if (grant_free(s, g, m->hdr.req_id))
		return;
	rcp_msg_init(&reply, RCP_MSG_CLOSE_REPLY, m->hdr.req_id);
	rcp_session_reply(s, &reply);
}

/* rcp_grant_inv_done -- the window no longer answers its rkey: free it and reply */
void rcp_grant_inv_done(struct rcp_session *s, uint32_t grant_id, int status)
{
	struct rcp_grant *g = rcp_grant_find(s, grant_id);
	struct rcp_msg reply;
	uint32_t req_id;

	if (!g || g->state != RCP_GRANT_INVALIDATING)
		return;
	req_id = g->req_id;
	if (status)
		rcp_warn(&s->srv->log,
			 "client %s: grant %u: invalidate failed (%s); freeing the "
			 "window instead",
			 s->peer, g->id, strerror(-status));
	rcp_dbg(&s->srv->log, "client %s: grant %u closed", s->peer, g->id);
	if (grant_free(s, g, req_id))
		return;
	rcp_msg_init(&reply, RCP_MSG_CLOSE_REPLY, req_id);
	rcp_session_reply(s, &reply);
}

/* rcp_grant_release_all -- disconnect or shutdown: every window of the session goes */
void rcp_grant_release_all(struct rcp_session *s)
{
	struct rcp_grant *g;
	uint32_t n = s->ngrants;

	while ((g = TAILQ_FIRST(&s->grants)))
		grant_free(s, g, 0);
	if (n)
		rcp_info(&s->srv->log, "client %s: %u grant%s revoked", s->peer, n,
			 n == 1 ? "" : "s");
}
