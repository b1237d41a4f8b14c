/* SPDX-License-Identifier: BSD-3-Clause */
/* handlers.c -- LIST, FLUSH, CHECKSUM, STAT, CREATE, DESTROY, COPY (OPEN/CLOSE are grant.c) */
#include "server/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/checksum.h"
#include "server/check.h"
#include "server/copy.h"
#include "server/grant.h"
#include "server/region.h"
#include "server/stats.h"

/* do_list -- one page of regions from the requested index */
static void do_list(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_server *srv = s->srv;
	struct rcp_msg reply;
	uint32_t start = m->u.list.start;
	uint32_t i;

	rcp_msg_init(&reply, RCP_MSG_LIST_REPLY, m->hdr.req_id);
	reply.u.list_reply.total = (uint32_t)srv->nregions;
	for (i = 0; start < srv->nregions && i < RCP_LIST_MAX && start + i < srv->nregions; i++) {
		const struct rcp_region *r = srv->regions[start + i];
		struct rcp_region_info *e = &reply.u.list_reply.entries[i];

		rcp_strfield_set(e->name, sizeof(e->name), r->name);
		e->size = r->size;
		e->rights = r->rights;
		e->kind = r->kind;
		e->flags = r->dynamic ? RCP_REGION_F_DYNAMIC : 0;
	}
	reply.u.list_reply.count = i;
	rcp_session_reply(s, &reply);
}

/* do_flush -- make a range of a file region durable before answering */
static void do_flush(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_flush *f = &m->u.flush;
	struct rcp_region *r;
	struct rcp_grant *g;
	struct rcp_msg reply;
	uint64_t base = 0;
	uint64_t limit;
	int ret;

	if (f->grant_id) {
		g = rcp_grant_find(s, f->grant_id);
		if (!g || g->state != RCP_GRANT_ACTIVE) {
			rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "FLUSH: no grant %u",
					   f->grant_id);
			return;
		}
		r = g->region;
		base = g->offset;
		limit = g->length;
	} else {
		r = rcp_region_find(s->srv, f->name);
		if (!r) {
			rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "FLUSH: no region %s",
					   f->name);
			return;
		}
		limit = r->size;
	}
	if (rcp_check_range(limit, f->offset, f->length)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_RANGE,
				   "FLUSH %s [%llu, +%llu): outside the %llu bytes", r->name,
				   (unsigned long long)f->offset, (unsigned long long)f->length,
				   (unsigned long long)limit);
		return;
	}
	ret = rcp_region_flush(r, base + f->offset, f->length);
	if (ret) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_IO, "FLUSH %s: msync: %s", r->name,
				   strerror(-ret));
		return;
	}
	rcp_msg_init(&reply, RCP_MSG_FLUSH_REPLY, m->hdr.req_id);
	rcp_session_reply(s, &reply);
}

/* do_checksum -- BLAKE2b-256 of a region range, computed in the loop (bounded by the region) */
static void do_checksum(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_checksum *c = &m->u.checksum;
	struct rcp_region *r;
	struct rcp_msg reply;
	int ret;

	r = rcp_region_find(s->srv, c->name);
	if (!r) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "CHECKSUM: no region %s",
				   c->name);
		return;
	}
	if (rcp_check_range(r->size, c->offset, c->length)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_RANGE,
				   "CHECKSUM %s [%llu, +%llu): the region has %llu bytes", c->name,
				   (unsigned long long)c->offset, (unsigned long long)c->length,
				   (unsigned long long)r->size);
		return;
	}
	rcp_msg_init(&reply, RCP_MSG_CHECKSUM_REPLY, m->hdr.req_id);
	ret = rcp_checksum(r->addr + c->offset, c->length, reply.u.checksum_reply.digest);
	if (ret) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_INTERNAL, "CHECKSUM %s: %s", c->name,
				   strerror(-ret));
		return;
	}
	rcp_session_reply(s, &reply);
}

/* do_stat -- the counters */
static void do_stat(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_msg reply;

	rcp_msg_init(&reply, RCP_MSG_STAT_REPLY, m->hdr.req_id);
	rcp_stats_fill(s->srv, &reply.u.stat_reply);
	rcp_session_reply(s, &reply);
}

/* do_create -- a dynamic anonymous region, within --max-dynamic-memory */
static void do_create(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_create *c = &m->u.create;
	struct rcp_server *srv = s->srv;
	struct rcp_region_spec spec;
	struct rcp_region *r = NULL;
	struct rcp_msg reply;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t size;
	int ret;

	if (!srv->cfg.allow_create) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOTSUP,
				   "CREATE %s: not enabled (--allow-create)", c->name);
		return;
	}
	if (srv->shutting_down) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_SHUTDOWN, "CREATE %s: shutting down",
				   c->name);
		return;
	}
	if (rcp_region_find(srv, c->name)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_EXIST, "CREATE %s: name taken",
				   c->name);
		return;
	}
	size = c->size > UINT64_MAX - page ? 0 : (c->size + page - 1) & ~(page - 1);
	if (!size || size > srv->cfg.max_dynamic ||
	    srv->bytes_dynamic > srv->cfg.max_dynamic - size) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_LIMIT,
				   "CREATE %s of %llu bytes: %llu of %llu dynamic bytes in use",
				   c->name, (unsigned long long)c->size,
				   (unsigned long long)srv->bytes_dynamic,
				   (unsigned long long)srv->cfg.max_dynamic);
		return;
	}
	memset(&spec, 0, sizeof(spec));
	snprintf(spec.name, sizeof(spec.name), "%s", c->name);
	spec.kind = RCP_KIND_ANON;
	spec.rights = c->rights;
	spec.size = size;
	ret = rcp_region_new(srv, &spec, true, &r);
	if (!ret) {
		ret = rcp_region_add(srv, r);
		if (ret)
			rcp_region_delete(srv, &r);
	}
	if (ret) {
		rcp_session_refuse(s, m->hdr.req_id, rcp_err_from_errno(ret), "CREATE %s: %s",
				   c->name, strerror(-ret));
		return;
	}
	srv->bytes_dynamic += size;
	rcp_info(&srv->log, "client %s: created region %s (%llu bytes, %s)", s->peer, c->name,
		 (unsigned long long)size, rcp_rights_str(c->rights));
	rcp_msg_init(&reply, RCP_MSG_CREATE_REPLY, m->hdr.req_id);
	reply.u.create_reply.size = size;
	rcp_session_reply(s, &reply);
}

/* do_destroy -- remove a CREATEd region nobody holds a grant on or copies from */
static void do_destroy(struct rcp_session *s, const struct rcp_msg *m)
{
	const char *name = m->u.destroy.name;
	struct rcp_server *srv = s->srv;
	struct rcp_region *r;
	struct rcp_msg reply;
	uint64_t size;

	if (!srv->cfg.allow_create) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOTSUP,
				   "DESTROY %s: not enabled (--allow-create)", name);
		return;
	}
	r = rcp_region_find(srv, name);
	if (!r) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "DESTROY: no region %s", name);
		return;
	}
	if (!r->dynamic) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_ACCESS,
				   "DESTROY %s: configured regions cannot be destroyed", name);
		return;
	}
	if (r->ngrants) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_BUSY, "DESTROY %s: %u grants open",
				   name, r->ngrants);
		return;
	}
	if (r->ncopies) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_BUSY, "DESTROY %s: %u copies read it",
				   name, r->ncopies);
		return;
	}
	size = r->size;
	rcp_region_remove(srv, r);
	rcp_info(&srv->log, "client %s: destroyed region %s", s->peer, name);
	rcp_region_delete(srv, &r);
	srv->bytes_dynamic -= size;
	rcp_msg_init(&reply, RCP_MSG_DESTROY_REPLY, m->hdr.req_id);
	rcp_session_reply(s, &reply);
}

/* rcp_handle_request -- dispatch by type; replies from a client are a protocol error */
void rcp_handle_request(struct rcp_session *s, const struct rcp_msg *m)
{
	switch (m->hdr.type) {
	case RCP_MSG_LIST:
		do_list(s, m);
		break;
	case RCP_MSG_OPEN:
		rcp_grant_open(s, m);
		break;
	case RCP_MSG_CLOSE:
		rcp_grant_close(s, m);
		break;
	case RCP_MSG_FLUSH:
		do_flush(s, m);
		break;
	case RCP_MSG_CHECKSUM:
		do_checksum(s, m);
		break;
	case RCP_MSG_STAT:
		do_stat(s, m);
		break;
	case RCP_MSG_CREATE:
		do_create(s, m);
		break;
	case RCP_MSG_DESTROY:
		do_destroy(s, m);
		break;
	case RCP_MSG_COPY:
		rcp_copy_start(s, m);
		break;
	default:
		rcp_session_fail(s, m->hdr.req_id, RCP_ERR_PROTO, "%s is not a request",
				 rcp_msg_type_name(m->hdr.type));
		break;
	}
}
