/* SPDX-License-Identifier: BSD-3-Clause */
/* grant.c -- OPEN/CLOSE: type-2 memory windows bound to exactly the granted range and rights */
#include "server/grant.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/check.h"
#include "server/region.h"

/* grant_free -- deallocate the window (invalidating it if still bound) and forget the grant */
static void grant_free(struct rcp_session *s, struct rcp_grant *g)
{
	struct rcp_server *srv = s->srv;
	int ret;

	if (g->mw) {
		ret = rcp_vb_dealloc_mw(&g->mw);
		if (ret)
			rcp_err(&srv->log, "client %s: grant %u: freeing its window: %s", s->peer,
				g->id, strerror(-ret));
	}
	/* a window that would not go stays bound to the MR, which then cannot go either */
	if (g->mr && !g->mw) {
		ret = rcp_vb_dereg_mr(&g->mr);
		if (ret)
			rcp_err(&srv->log, "client %s: grant %u: deregistering its range: %s",
				s->peer, g->id, strerror(-ret));
	}
	if (g->bound)
		srv->cnt.mw_active--;
	TAILQ_REMOVE(&s->grants, g, link);
	s->ngrants--;
	g->region->ngrants--;
	srv->cnt.grants_active--;
	free(g);
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
	s->srv->cnt.grants_total++;
	rcp_dbg(&s->srv->log, "client %s: grant %u on %s [%llu, +%llu) %s rkey 0x%x%s", s->peer,
		g->id, g->region->name, (unsigned long long)g->offset,
		(unsigned long long)g->length, rcp_rights_str(g->rights), g->rkey,
		g->mw ? "" : " (MR fallback)");
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

/* rcp_grant_open -- refuse what the rules forbid, else bind a window on this client's QP */
void rcp_grant_open(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_open *o = &m->u.open;
	struct rcp_server *srv = s->srv;
	struct ibv_send_wr wr;
	struct rcp_region *r;
	struct rcp_grant *g;
	int ret;

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
	if (!srv->use_mw) {
		/* no windows on this device: the MR's rkey reaches the whole region from any
		 * QP; the operator was warned at startup, the client learns it from the flag */
		g->rkey = r->mr->rkey;
		g->state = RCP_GRANT_ACTIVE;
		reply_open(s, g);
		return;
	}
	/*
	 * The window is bound on an MR of exactly the granted range: some devices (rxe in Linux
	 * 6.1) check a window access against the bounds of the MR under it, not the window's.
	 */
	ret = rcp_vb_reg_mr(srv->pd, r->addr + o->offset, o->length, rcp_mr_access(o->rights, true),
			    &g->mr);
	if (ret) {
		grant_free(s, g);
		rcp_session_refuse(s, m->hdr.req_id, rcp_err_from_errno(ret),
				   "OPEN %s: registering the range: %s", o->name, strerror(-ret));
		return;
	}
	ret = rcp_vb_alloc_mw(srv->pd, &g->mw);
	if (ret) {
		grant_free(s, g);
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM,
				   "OPEN %s: allocating a memory window: %s", o->name,
				   strerror(-ret));
		return;
	}
	g->rkey = rcp_vb_wr_bind_mw(&wr, RCP_WR_ID(RCP_WR_BIND, g->id), g->mw, g->mr,
				    (uint64_t)(uintptr_t)r->addr + o->offset, o->length,
				    rcp_grant_mw_access(o->rights));
	ret = rcp_vb_post_send(s->id->qp, &wr, NULL);
	if (ret) {
		grant_free(s, g);
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_INTERNAL,
				   "OPEN %s: posting the window bind: %s", o->name, strerror(-ret));
		return;
	}
	g->state = RCP_GRANT_BINDING;
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
		grant_free(s, g);
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
	grant_free(s, g);
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
	grant_free(s, g);
	rcp_msg_init(&reply, RCP_MSG_CLOSE_REPLY, req_id);
	rcp_session_reply(s, &reply);
}

/* rcp_grant_release_all -- disconnect or shutdown: every window of the session goes */
void rcp_grant_release_all(struct rcp_session *s)
{
	struct rcp_grant *g;
	uint32_t n = s->ngrants;

	while ((g = TAILQ_FIRST(&s->grants)))
		grant_free(s, g);
	if (n)
		rcp_info(&s->srv->log, "client %s: %u grant%s revoked", s->peer, n,
			 n == 1 ? "" : "s");
}
