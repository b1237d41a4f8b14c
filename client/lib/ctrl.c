/* SPDX-License-Identifier: BSD-3-Clause */
/* ctrl.c -- control requests: list, open/close grants, flush, checksum, stat, counters */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/internal.h"

/* rcp_ctrl_range_timeout -- the reply timeout of a request whose cost grows with its range */
int rcp_ctrl_range_timeout(const struct rdmacpy_conn *c, uint64_t length)
{
	uint64_t ms = (uint64_t)c->opts.timeout_ms + length / (8u << 20) * 1000u;

	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* set_name -- copy a region name into a request field */
static int set_name(char *dst, const char *name)
{
	int ret = rcp_strfield_set(dst, RCP_NAME_MAX, name);

	return ret ? RDMACPY_E_INVAL : 0;
}

/* rdmacpy_list -- fill up to cap entries of out; the number filled */
int rdmacpy_list(struct rdmacpy_conn *c, struct rdmacpy_region_info *out, size_t cap, size_t *total)
{
	struct rcp_msg req;
	struct rcp_msg rep;
	size_t filled = 0;
	uint32_t start = 0;
	uint32_t i;
	int ret;

	if (!c || (cap && !out))
		return RDMACPY_E_INVAL;
	for (;;) {
		rcp_msg_init(&req, RCP_MSG_LIST, 0);
		req.u.list.start = start;
		ret = rcp_ctrl_call(&c->qp[0], &req, RCP_MSG_LIST_REPLY, &rep);
		if (ret)
			return ret;
		for (i = 0; i < rep.u.list_reply.count && filled < cap; i++) {
			const struct rcp_region_info *r = &rep.u.list_reply.entries[i];
			struct rdmacpy_region_info *o = &out[filled++];

			memset(o, 0, sizeof(*o));
			memcpy(o->name, r->name, sizeof(o->name));
			o->name[sizeof(o->name) - 1] = '\0';
			o->size = r->size;
			o->rights = (enum rdmacpy_rights)r->rights;
			o->kind = (enum rdmacpy_region_kind)r->kind;
			o->dynamic = r->flags & RCP_REGION_F_DYNAMIC;
		}
		start += rep.u.list_reply.count;
		if (total)
			*total = rep.u.list_reply.total;
		/* a reply of nothing ends it too, so a shrinking list cannot loop forever */
		if (filled >= cap || start >= rep.u.list_reply.total || !rep.u.list_reply.count)
			break;
	}
	return (int)filled;
}

/* close_on -- CLOSE grant id on QP q */
static int close_on(struct rcp_cli_qp *q, uint32_t id)
{
	struct rcp_msg req;
	struct rcp_msg rep;

	rcp_msg_init(&req, RCP_MSG_CLOSE, 0);
	req.u.close.grant_id = id;
	return rcp_ctrl_call(q, &req, RCP_MSG_CLOSE_REPLY, &rep);
}

/* rdmacpy_open -- a grant on region[offset, offset + length) with rights */
int rdmacpy_open(struct rdmacpy_conn *c, const char *region, uint64_t offset, uint64_t length,
		 enum rdmacpy_rights rights, struct rdmacpy_grant **out)
{
	struct rdmacpy_grant *g;
	struct rcp_msg req;
	struct rcp_msg rep;
	unsigned int i;
	int ret;

	if (!c || !region || !length || !out ||
	    (rights != RDMACPY_RIGHTS_RO && rights != RDMACPY_RIGHTS_RW))
		return RDMACPY_E_INVAL;
	if (c->broken)
		return RDMACPY_E_BROKEN;
	g = calloc(1, sizeof(*g) + c->nqp * sizeof(g->q[0]));
	if (!g)
		return RDMACPY_E_NOMEM;
	g->conn = c;
	/* one grant per QP: a memory window answers only on the QP it is bound to */
	for (i = 0; i < c->nqp; i++) {
		const struct rcp_msg_open_reply *r = &rep.u.open_reply;

		rcp_msg_init(&req, RCP_MSG_OPEN, 0);
		ret = set_name(req.u.open.name, region);
		if (ret)
			goto err_close;
		req.u.open.offset = offset;
		req.u.open.length = length;
		req.u.open.rights = (enum rcp_rights)rights;
		ret = rcp_ctrl_call(&c->qp[i], &req, RCP_MSG_OPEN_REPLY, &rep);
		if (ret)
			goto err_close;
		if (r->length < length || (i && r->rights != g->rights)) {
			rcp_conn_set_error(c, "the daemon granted less than asked");
			g->q[i].id = r->grant_id;
			i++;
			ret = RDMACPY_E_PROTO;
			goto err_close;
		}
		g->q[i].id = r->grant_id;
		g->q[i].rkey = r->rkey;
		g->q[i].addr = r->addr;
		g->length = length;
		g->rights = r->rights;
		g->mw = !(r->flags & RCP_GRANT_F_MR_FALLBACK);
	}
	g->next = c->grants;
	c->grants = g;
	*out = g;
	return 0;

err_close:
	while (i--)
		if (g->q[i].id)
			close_on(&c->qp[i], g->q[i].id);
	free(g);
	return ret;
}

/* rdmacpy_grant_close -- end a grant and free it; returns the daemon's answer */
int rdmacpy_grant_close(struct rdmacpy_grant **gp)
{
	struct rdmacpy_grant **pp;
	struct rdmacpy_grant *g;
	struct rdmacpy_conn *c;
	unsigned int i;
	int ret = 0;

	if (!gp || !*gp)
		return 0;
	g = *gp;
	c = g->conn;
	for (pp = &c->grants; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	for (i = 0; i < c->nqp; i++) {
		int r = close_on(&c->qp[i], g->q[i].id);

		if (r && !ret)
			ret = r;
	}
	free(g);
	*gp = NULL;
	return ret;
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

/* rdmacpy_flush -- make a range of a grant or a region durable */
int rdmacpy_flush(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, const char *region,
		  uint64_t offset, uint64_t length)
{
	struct rcp_msg req;
	struct rcp_msg rep;
	int ret;

	if (!c || !length || (!g && !region) || (g && region) || (g && g->conn != c))
		return RDMACPY_E_INVAL;
	rcp_msg_init(&req, RCP_MSG_FLUSH, 0);
	if (g) {
		if (offset > g->length || length > g->length - offset)
			return RDMACPY_E_RANGE;
		req.u.flush.grant_id = g->q[0].id;
	} else {
		ret = set_name(req.u.flush.name, region);
		if (ret)
			return ret;
	}
	req.u.flush.offset = offset;
	req.u.flush.length = length;
	return rcp_ctrl_call_tmo(&c->qp[0], &req, RCP_MSG_FLUSH_REPLY, &rep,
				 rcp_ctrl_range_timeout(c, length));
}

/* rdmacpy_checksum -- the daemon's BLAKE2b-256 of region[offset, offset + length) */
int rdmacpy_checksum(struct rdmacpy_conn *c, const char *region, uint64_t offset, uint64_t length,
		     uint8_t out[RDMACPY_CHECKSUM_LEN])
{
	struct rcp_msg req;
	struct rcp_msg rep;
	int ret;

	if (!c || !region || !length || !out)
		return RDMACPY_E_INVAL;
	rcp_msg_init(&req, RCP_MSG_CHECKSUM, 0);
	ret = set_name(req.u.checksum.name, region);
	if (ret)
		return ret;
	req.u.checksum.offset = offset;
	req.u.checksum.length = length;
	ret = rcp_ctrl_call_tmo(&c->qp[0], &req, RCP_MSG_CHECKSUM_REPLY, &rep,
				rcp_ctrl_range_timeout(c, length));
	if (ret)
		return ret;
	memcpy(out, rep.u.checksum_reply.digest, RDMACPY_CHECKSUM_LEN);
	return 0;
}

/* rdmacpy_stat -- the daemon's counters, as much of them as the caller's struct holds */
int rdmacpy_stat(struct rdmacpy_conn *c, struct rdmacpy_stats *out)
{
	const struct rcp_msg_stat_reply *s;
	struct rdmacpy_stats all;
	struct rcp_msg req;
	struct rcp_msg rep;
	size_t size;
	int ret;

	if (!c || !out || out->size < offsetof(struct rdmacpy_stats, clients_connected))
		return RDMACPY_E_INVAL;
	size = out->size < sizeof(all) ? out->size : sizeof(all);
	rcp_msg_init(&req, RCP_MSG_STAT, 0);
	ret = rcp_ctrl_call(&c->qp[0], &req, RCP_MSG_STAT_REPLY, &rep);
	if (ret)
		return ret;
	s = &rep.u.stat_reply;
	/* named one by one: the public struct is an ABI, the wire's list is not */
	memset(&all, 0, sizeof(all));
	all.clients_connected = s->clients_connected;
	all.clients_total = s->clients_total;
	all.grants_active = s->grants_active;
	all.grants_total = s->grants_total;
	all.mw_active = s->mw_active;
	all.regions = s->regions;
	all.bytes_registered = s->bytes_registered;
	all.bytes_dynamic = s->bytes_dynamic;
	all.refusals = s->refusals;
	all.requests = s->requests;
	all.auth_failures = s->auth_failures;
	all.copies_active = s->copies_active;
	all.copies_total = s->copies_total;
	all.bytes_copied = s->bytes_copied;
	all.mw_fallback = s->mw_fallback;
	all.uptime_ms = s->uptime_ms;
	all.clients_pending = s->clients_pending;
	all.auth_timeouts = s->auth_timeouts;
	all.pending_evicted = s->pending_evicted;
	all.jobs_queued = s->jobs_queued;
	all.jobs_running = s->jobs_running;
	all.jobs_total = s->jobs_total;
	all.jobs_refused = s->jobs_refused;
	all.jobs_cancelled = s->jobs_cancelled;
	all.grant_mr_per_grant = s->grant_mr_per_grant;
	all.flushes = s->flushes;
	all.bytes_flushed = s->bytes_flushed;
	all.size = out->size;
	memcpy(out, &all, size);
	return 0;
}

/* rdmacpy_conn_counters -- copy this connection's counters */
int rdmacpy_conn_counters(const struct rdmacpy_conn *c, struct rdmacpy_counters *out)
{
	if (!c || !out)
		return RDMACPY_E_INVAL;
	*out = c->ctr;
	out->cache_hits = c->cache.hits;
	out->cache_misses = c->cache.misses;
	out->cache_evictions = c->cache.evictions;
	out->hw_moderation = c->hw_mod;
	return 0;
}
