/* SPDX-License-Identifier: BSD-3-Clause */
/* jobs.c -- long requests: CHECKSUM, FLUSH, CREATE and DESTROY on the worker pool. The loop
 * checks the request and answers it; only the part whose time grows with the size runs on a
 * worker, which touches nothing but the request and its region's memory. */
#include "server/jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checksum.h"
#include "server/check.h"
#include "server/grant.h"
#include "server/region.h"

/* Bytes digested between two looks at the cancel flag. */
#define CHECKSUM_CHUNK (4u << 20)

/* rcp_req_new -- a request of s; NULL (refused with NOMEM) when out of memory */
struct rcp_req *rcp_req_new(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_req *q = calloc(1, sizeof(*q));

	if (!q) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM, "%s: out of memory",
				   rcp_msg_type_name(m->hdr.type));
		return NULL;
	}
	q->srv = s->srv;
	q->s = s;
	q->req_id = m->hdr.req_id;
	q->type = m->hdr.type;
	return q;
}

/* rcp_req_start -- onto the pool, holding the region; on failure the request is refused and
 * freed (the caller has taken nothing it must give back) */
bool rcp_req_start(struct rcp_req *q, rcp_job_fn work, rcp_job_fn done, bool counted)
{
	struct rcp_session *s = q->s;
	int ret;

	rcp_job_init(&q->job, rcp_msg_type_name(q->type), s, work, done);
	/*
	 * Uncounted jobs are a grant's own registration and deregistration: short, bounded by the
	 * grant's size, and on the way of an OPEN or CLOSE. They have a pool of their own, so an
	 * idle client's OPEN never queues behind other clients' CHECKSUMs (measured with one pool:
	 * OPEN p99 82.8 s beside four 1 GiB CHECKSUMs on rxe, where every grant registers).
	 */
	ret = rcp_workers_submit(counted ? q->srv->workers : q->srv->grant_workers, &q->job);
	if (ret) {
		if (s)
			rcp_session_refuse(s, q->req_id, RCP_ERR_SHUTDOWN, "%s: shutting down",
					   q->job.what);
		free(q);
		return false;
	}
	if (s) {
		LIST_INSERT_HEAD(&s->reqs, q, link);
		q->counted = counted;
		if (counted)
			s->nlong++;
	}
	if (q->region)
		q->region->njobs++;
	return true;
}

/* rcp_req_finish -- off the session, its slot and its region given back; work that never ran
 * (cancelled in the queue) failed */
struct rcp_session *rcp_req_finish(struct rcp_req *q)
{
	struct rcp_session *s = q->s;

	if (!q->job.ran && !q->result)
		q->result = -ECANCELED;
	if (s) {
		LIST_REMOVE(q, link);
		if (q->counted)
			s->nlong--;
	}
	if (q->region) {
		q->region->njobs--;
		rcp_region_unused(q->srv, q->region);
	}
	return s;
}

/* refuse_result -- answer a failed request with the error its work met */
static void refuse_result(struct rcp_session *s, struct rcp_req *q, const char *what)
{
	rcp_session_refuse(s, q->req_id,
			   q->result == -ECANCELED ? RCP_ERR_SHUTDOWN
						   : rcp_err_from_errno(q->result),
			   "%s %s: %s", q->job.what, what, strerror(-q->result));
}

/* rcp_req_admit -- the per-client bound on long requests */
bool rcp_req_admit(struct rcp_session *s, uint32_t req_id, const char *what)
{
	struct rcp_server *srv = s->srv;

	if (srv->shutting_down) {
		rcp_session_refuse(s, req_id, RCP_ERR_SHUTDOWN, "%s: shutting down", what);
		return false;
	}
	if (s->nlong < srv->cfg.max_jobs_per_client)
		return true;
	srv->cnt.jobs_refused++;
	rcp_session_refuse(s, req_id, RCP_ERR_BUSY,
			   "%s: %u long requests running, the limit per client "
			   "(--max-jobs-per-client); wait for one to finish",
			   what, s->nlong);
	return false;
}

/* ---- CHECKSUM ---- */

/* checksum_work -- digest the range in chunks, stopping when cancelled */
static void checksum_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_checksum_state st;
	const uint8_t *p = q->region->addr + q->offset;
	uint64_t left = q->length;

	q->result = rcp_checksum_init(&st);
	while (!q->result && left) {
		size_t n = left < CHECKSUM_CHUNK ? (size_t)left : CHECKSUM_CHUNK;

		if (rcp_job_cancelled(job)) {
			q->result = -ECANCELED;
			break;
		}
		q->result = rcp_checksum_update(&st, p, n);
		p += n;
		left -= n;
	}
	if (!q->result)
		q->result = rcp_checksum_final(&st, q->u.digest);
	else
		rcp_checksum_final(&st, q->u.digest);
}

/* checksum_done -- the digest, to whoever still asks */
static void checksum_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_session *s = rcp_req_finish(q);
	struct rcp_msg reply;

	if (s && q->result) {
		refuse_result(s, q, q->region->name);
	} else if (s) {
		rcp_msg_init(&reply, RCP_MSG_CHECKSUM_REPLY, q->req_id);
		memcpy(reply.u.checksum_reply.digest, q->u.digest, RCP_CHECKSUM_LEN);
		rcp_session_reply(s, &reply);
	}
	free(q);
}

/* rcp_req_checksum -- check the range, hold the region, hand the digest to a worker */
void rcp_req_checksum(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_checksum *c = &m->u.checksum;
	struct rcp_region *r;
	struct rcp_req *q;

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
	if (!rcp_req_admit(s, m->hdr.req_id, "CHECKSUM"))
		return;
	q = rcp_req_new(s, m);
	if (!q)
		return;
	q->offset = c->offset;
	q->length = c->length;
	q->region = r;
	rcp_req_start(q, checksum_work, checksum_done, true);
}

/* ---- FLUSH ---- */

/* flush_work -- the range on stable storage */
static void flush_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;

	q->result = rcp_region_flush(q->region, q->offset, q->length, &job->cancel, &q->done_bytes);
}

/* flush_done -- count, log and answer */
static void flush_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_server *srv = q->srv;
	struct rcp_region *r = q->region;
	struct rcp_session *s = rcp_req_finish(q);
	struct rcp_msg reply;

	srv->cnt.bytes_flushed += q->done_bytes;
	if (!q->result)
		srv->cnt.flushes++;
	rcp_dbg(&srv->log, "client %s: FLUSH %s [%llu, +%llu): %s, %llu bytes written in %llu ms",
		s ? s->peer : "(gone)", r->name, (unsigned long long)q->offset,
		(unsigned long long)q->length, q->result ? strerror(-q->result) : "durable",
		(unsigned long long)q->done_bytes,
		(unsigned long long)(rcp_now_ms() - q->job.queued_ms));
	if (s && q->result) {
		refuse_result(s, q, r->name);
	} else if (s) {
		rcp_msg_init(&reply, RCP_MSG_FLUSH_REPLY, q->req_id);
		rcp_session_reply(s, &reply);
	}
	free(q);
}

/* rcp_req_flush -- by grant (offsets relative to it) or by region name */
void rcp_req_flush(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_flush *f = &m->u.flush;
	struct rcp_region *r;
	struct rcp_grant *g;
	struct rcp_req *q;
	uint64_t base = 0;
	uint64_t limit;

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
	if (!rcp_req_admit(s, m->hdr.req_id, "FLUSH"))
		return;
	q = rcp_req_new(s, m);
	if (!q)
		return;
	q->offset = base + f->offset;
	q->length = f->length;
	q->region = r;
	rcp_req_start(q, flush_work, flush_done, true);
}

/* ---- CREATE ---- */

/* rcp_req_name_reserved -- a running CREATE holds its name */
bool rcp_req_name_reserved(const struct rcp_server *srv, const char *name)
{
	const struct rcp_req *q;

	LIST_FOREACH(q, &srv->creates, link)
	if (!strcmp(q->u.spec->name, name))
		return true;
	return false;
}

/* create_work -- map and register: the pinning is what takes time */
static void create_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;

	q->result = rcp_region_new(q->srv, q->u.spec, true, &q->region);
}

/* create_done -- serve the new region (also when its requester left: the name was taken for
 * it, and it may DESTROY it), then answer */
static void create_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_server *srv = q->srv;
	struct rcp_session *s = q->s;
	struct rcp_region *r = q->region;
	struct rcp_msg reply;

	LIST_REMOVE(q, link);
	if (s && q->counted)
		s->nlong--;
	if (!job->ran)
		q->result = -ECANCELED;
	if (!q->result) {
		q->result = rcp_region_add(srv, r);
		if (q->result)
			rcp_region_delete(srv, &r);
	}
	if (q->result) {
		srv->bytes_dynamic -= q->u.spec->size;
		if (s)
			rcp_session_refuse(s, q->req_id, rcp_err_from_errno(q->result),
					   "CREATE %s: %s", q->u.spec->name, strerror(-q->result));
	} else {
		rcp_info(&srv->log, "client %s: created region %s (%llu bytes, %s)",
			 s ? s->peer : "(gone)", r->name, (unsigned long long)r->size,
			 rcp_rights_str(r->rights));
		if (s) {
			rcp_msg_init(&reply, RCP_MSG_CREATE_REPLY, q->req_id);
			reply.u.create_reply.size = r->size;
			rcp_session_reply(s, &reply);
		}
	}
	free(q->u.spec);
	free(q);
}

/* rcp_req_create -- check the name and the dynamic budget, reserve both, create on a worker */
void rcp_req_create(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_create *c = &m->u.create;
	struct rcp_server *srv = s->srv;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct rcp_region_spec *spec;
	struct rcp_req *q;
	uint64_t size;

	if (!srv->cfg.allow_create) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOTSUP,
				   "CREATE %s: not enabled (--allow-create)", c->name);
		return;
	}
	if (rcp_region_name_taken(srv, c->name)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_EXIST, "CREATE %s: name taken",
				   c->name);
		return;
	}
	size = rcp_round_up(c->size, page);
	if (!size || size > srv->cfg.max_dynamic ||
	    srv->bytes_dynamic > srv->cfg.max_dynamic - size) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_LIMIT,
				   "CREATE %s of %llu bytes: %llu of %llu dynamic bytes in use",
				   c->name, (unsigned long long)c->size,
				   (unsigned long long)srv->bytes_dynamic,
				   (unsigned long long)srv->cfg.max_dynamic);
		return;
	}
	if (!rcp_req_admit(s, m->hdr.req_id, "CREATE"))
		return;
	q = rcp_req_new(s, m);
	if (!q)
		return;
	spec = calloc(1, sizeof(*spec));
	if (!spec) {
		free(q);
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM, "CREATE: out of memory");
		return;
	}
	snprintf(spec->name, sizeof(spec->name), "%s", c->name);
	spec->kind = RCP_KIND_ANON;
	spec->rights = c->rights;
	spec->size = size;
	q->u.spec = spec;
	rcp_job_init(&q->job, "CREATE", s, create_work, create_done);
	if (rcp_workers_submit(srv->workers, &q->job)) {
		rcp_session_refuse(s, q->req_id, RCP_ERR_SHUTDOWN, "CREATE: shutting down");
		free(spec);
		free(q);
		return;
	}
	/* the name and the bytes are taken now, so a second CREATE cannot race this one */
	LIST_INSERT_HEAD(&srv->creates, q, link);
	q->counted = true;
	s->nlong++;
	srv->bytes_dynamic += size;
}

/* ---- DESTROY ---- */

/* destroy_work -- deregister and unmap */
static void destroy_work(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;

	rcp_region_delete(q->srv, &q->u.doomed);
}

/* destroy_done -- the bytes go back to the budget; answer */
static void destroy_done(struct rcp_job *job)
{
	struct rcp_req *q = (struct rcp_req *)job;
	struct rcp_session *s = rcp_req_finish(q);
	struct rcp_msg reply;

	/* at shutdown the pool may not have run it: the loop is not serving anyone any more */
	if (!job->ran)
		rcp_region_delete(q->srv, &q->u.doomed);
	q->srv->bytes_dynamic -= q->length;
	if (s) {
		rcp_msg_init(&reply, RCP_MSG_DESTROY_REPLY, q->req_id);
		rcp_session_reply(s, &reply);
	}
	free(q);
}

/* rcp_req_destroy -- a CREATEd region nobody uses leaves the list now, its memory on a worker */
void rcp_req_destroy(struct rcp_session *s, const struct rcp_msg *m)
{
	const char *name = m->u.destroy.name;
	struct rcp_server *srv = s->srv;
	struct rcp_region *r;
	struct rcp_req *q;

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
	if (rcp_region_busy(r)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_BUSY,
				   "DESTROY %s: in use (%u grants, %u copies, %u requests)", name,
				   r->ngrants, r->ncopies, r->njobs);
		return;
	}
	if (!rcp_req_admit(s, m->hdr.req_id, "DESTROY"))
		return;
	q = rcp_req_new(s, m);
	if (!q)
		return;
	q->length = r->size;
	q->u.doomed = r;
	/* out of the list first: nothing new can find it while its memory goes */
	rcp_region_remove(srv, r);
	if (!rcp_req_start(q, destroy_work, destroy_done, true)) {
		rcp_region_add(srv, r);
		return;
	}
	rcp_info(&srv->log, "client %s: destroying region %s", s->peer, name);
}

/* rcp_reqs_session_gone -- nobody to answer: cancel the session's requests */
void rcp_reqs_session_gone(struct rcp_session *s)
{
	struct rcp_req *q;
	struct rcp_req *next;

	for (q = LIST_FIRST(&s->reqs); q; q = next) {
		next = LIST_NEXT(q, link);
		LIST_REMOVE(q, link);
		q->s = NULL;
	}
	LIST_FOREACH(q, &s->srv->creates, link)
	if (q->s == s)
		q->s = NULL;
	s->nlong = 0;
	if (s->srv->workers && rcp_workers_cancel_owner(s->srv->workers, s))
		rcp_info(&s->srv->log, "client %s: gone, its long requests cancelled", s->peer);
}
