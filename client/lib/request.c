/* SPDX-License-Identifier: BSD-3-Clause */
/* request.c -- requests to the daemon as operations: one request per queue pair it concerns,
 * answers folded into the caller's results, the synchronous forms as a wait on them */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "client/lib/request.h"

/* range_timeout_ms -- a request the daemon spends time on per byte (CHECKSUM, FLUSH): the
 * connection's timeout plus a second per 8 MiB, as the daemon's work grows with the range */
static int range_timeout_ms(const struct rdmacpy_conn *c, uint64_t length)
{
	uint64_t ms = (uint64_t)c->opts.timeout_ms + length / (8u << 20) * 1000u;

	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* rcp_rq_check -- a connection that takes requests: RDMACPY_OK, or why not; *op (may be NULL)
 * is cleared first, so no failure leaves a stale handle behind */
int rcp_rq_check(const struct rdmacpy_conn *c, struct rdmacpy_op **op)
{
	if (op)
		*op = NULL;
	if (!c)
		return RDMACPY_E_INVAL;
	if (c->broken)
		return c->connected ? RDMACPY_E_BROKEN
				    : rcp_err_public(c->broken_err, RCP_CTX_CONNECT);
	return 0;
}

/* rcp_rq_part_done -- an answer to one of op's requests (or its failure) */
bool rcp_rq_part_done(struct rcp_creq *r, const struct rcp_msg *m, int err)
{
	struct rdmacpy_op *op = r->owner;
	const struct rcp_req_ops *k = op->req.ops;
	int ret;

	if (!err && m && k->interim_type && m->hdr.type == k->interim_type) {
		if (k->interim)
			k->interim(op, m);
		return false;
	}
	if (err == -ENETDOWN && k->per_rail) {
		rcp_dbg(&op->conn->log, "part %u of a request lost with its rail", r->part);
	} else if (err) {
		rcp_op_fail(op, err);
	} else if (k->reply) {
		ret = k->reply(op, r->part, m);
		if (ret)
			rcp_op_fail(op, ret);
	}
	if (--op->req.pending == 0) {
		if (k->end)
			k->end(op);
		rcp_op_finish(op);
	}
	return true;
}

/* rcp_rq_send -- one request of op on q; 0 or -errno */
int rcp_rq_send(struct rdmacpy_op *op, struct rcp_cli_qp *q, struct rcp_msg *m, int timeout_ms,
		unsigned int part)
{
	const struct rcp_req_ops *k = op->req.ops;
	struct rcp_creq *r;
	int err = 0;

	r = rcp_creq_new(q, m, k->reply_type, k->interim_type, timeout_ms, rcp_rq_part_done, op,
			 part, &err);
	if (!r)
		return err;
	op->req.parts++;
	op->req.pending++;
	rcp_ctrl_submit(r);
	return 0;
}

/* rcp_rq_new -- a request operation of a kind */
struct rdmacpy_op *rcp_rq_new(struct rdmacpy_conn *c, const struct rcp_req_ops *k,
			      rdmacpy_done_fn cb, void *ctx)
{
	struct rdmacpy_op *op = rcp_op_new(c, RCP_OP_REQUEST, RCP_CTX_REQUEST, cb, ctx);

	if (op)
		op->req.ops = k;
	return op;
}

/* rcp_rq_go -- hand a built operation (its requests queued) to the engine; RDMACPY_OK */
int rcp_rq_go(struct rdmacpy_op *op, struct rdmacpy_op **out)
{
	struct rdmacpy_conn *c = op->conn;
	unsigned int i;

	rcp_op_activate(op, out);
	rcp_engine_enter(c, rcp_now_ns());
	for (i = 0; i < c->nqp; i++)
		rcp_ctrl_pump(&c->qp[i]);
	rcp_engine_leave(c);
	return 0;
}

/* rcp_rq_qp -- QP 0, or with rails the first QP of a rail that is up */
struct rcp_cli_qp *rcp_rq_qp(struct rdmacpy_conn *c)
{
	unsigned int r;

	for (r = 0; r < c->nrails; r++)
		if (rcp_rail_usable(c, r))
			return &c->qp[c->rails[r].first];
	return &c->qp[0];
}

/* rcp_rq_one -- build, send on a rail that is up and start an operation of a single request */
int rcp_rq_one(struct rdmacpy_conn *c, const struct rcp_req_ops *k, struct rcp_msg *m,
	       int timeout_ms, void *out, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **opp)
{
	struct rdmacpy_op *op;
	int ret;

	if (opp)
		*opp = NULL;
	op = rcp_rq_new(c, k, cb, ctx);
	if (!op)
		return RDMACPY_E_NOMEM;
	op->req.out = out;
	ret = rcp_rq_send(op, rcp_rq_qp(c), m, timeout_ms, 0);
	if (ret) {
		rcp_op_destroy(op);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	return rcp_rq_go(op, opp);
}

/* rq_wait -- the synchronous form: wait for an operation started with a handle, free it, and
 * return its status. Each request bounds itself (its deadline fails the connection), so the
 * wait ends; it waits in slices so a long COPY that keeps reporting progress is not cut. */
static int rq_wait(struct rdmacpy_op *op)
{
	struct rdmacpy_conn *c = op->conn;
	int ret;

	while (rcp_engine_wait(c, rcp_op_finished, op, c->opts.timeout_ms) == -ETIMEDOUT &&
	       !c->broken)
		;
	if (!rcp_op_finished(op))
		rcp_engine_wait(c, rcp_op_finished, op, c->opts.timeout_ms);
	rcp_engine_leave(c);
	ret = rcp_op_finished(op) ? op->status : RDMACPY_E_TIMEOUT;
	rdmacpy_op_free(&op);
	return ret;
}

/* rcp_rq_sync -- run an _async call's result synchronously */
int rcp_rq_sync(int started, struct rdmacpy_op *op)
{
	if (started)
		return started;
	return rq_wait(op);
}

/* rcp_rq_name -- a region name into a request field; -EINVAL if it does not fit */
int rcp_rq_name(char *dst, const char *name)
{
	return name && rcp_strfield_set(dst, RCP_NAME_MAX, name) == 0 ? 0 : -EINVAL;
}

/* ---- LIST ---- */

static int list_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m);

static const struct rcp_req_ops list_ops = {
	.reply_type = RCP_MSG_LIST_REPLY,
	.reply = list_reply,
};

/* list_ask -- the page starting at op->req.start */
static int list_ask(struct rdmacpy_op *op)
{
	struct rcp_msg m;

	rcp_msg_init(&m, RCP_MSG_LIST, 0);
	m.u.list.start = op->req.start;
	return rcp_rq_send(op, &op->conn->qp[0], &m, op->conn->opts.timeout_ms, 0);
}

/* list_reply -- one page into the caller's array; the next page, if the caller has room */
static int list_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_list_reply *lr = &m->u.list_reply;
	struct rcp_op_req *rq = &op->req;
	size_t copy = rq->elem_size < sizeof(struct rdmacpy_region_info)
			      ? rq->elem_size
			      : sizeof(struct rdmacpy_region_info);
	size_t *count = rq->count;
	uint32_t i;

	(void)part;
	for (i = 0; i < lr->count && *count < rq->cap; i++) {
		const struct rcp_region_info *r = &lr->entries[i];
		struct rdmacpy_region_info info;

		memset(&info, 0, sizeof(info));
		memcpy(info.name, r->name, sizeof(info.name));
		info.name[sizeof(info.name) - 1] = '\0';
		info.size = r->size;
		info.rights = (enum rdmacpy_rights)r->rights;
		info.kind = (enum rdmacpy_region_kind)r->kind;
		info.dynamic = r->flags & RCP_REGION_F_DYNAMIC;
		memcpy((char *)rq->out + *count * rq->elem_size, &info, copy);
		(*count)++;
	}
	rq->start += lr->count;
	if (rq->total)
		*rq->total = lr->total;
	/* a page of nothing ends it too, so a list that shrinks meanwhile cannot loop */
	if (*count >= rq->cap || rq->start >= lr->total || !lr->count)
		return 0;
	return list_ask(op);
}

/* rdmacpy_region_list_async -- page through the daemon's regions into out */
int rdmacpy_region_list_async(struct rdmacpy_conn *c, struct rdmacpy_region_info *out,
			      size_t elem_size, size_t cap, size_t *count, size_t *total,
			      rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **opp)
{
	struct rdmacpy_op *op;
	int ret = rcp_rq_check(c, opp);

	if (opp)
		*opp = NULL;
	if (ret)
		return ret;
	if (!count || (cap && !out) ||
	    (cap && elem_size < offsetof(struct rdmacpy_region_info, size)))
		return RDMACPY_E_INVAL;
	*count = 0;
	if (total)
		*total = 0;
	op = rcp_rq_new(c, &list_ops, cb, ctx);
	if (!op)
		return RDMACPY_E_NOMEM;
	op->req.out = out;
	op->req.count = count;
	op->req.total = total;
	op->req.elem_size = elem_size;
	op->req.cap = cap;
	ret = list_ask(op);
	if (ret) {
		rcp_op_destroy(op);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	return rcp_rq_go(op, opp);
}

/* rdmacpy_region_list -- as many regions as fit; the number filled */
int rdmacpy_region_list(struct rdmacpy_conn *c, struct rdmacpy_region_info *out, size_t elem_size,
			size_t cap, size_t *total)
{
	struct rdmacpy_op *op = NULL;
	size_t count = 0;
	int ret;

	ret = rdmacpy_region_list_async(c, out, elem_size, cap, &count, total, NULL, NULL, &op);
	ret = rcp_rq_sync(ret, op);
	return ret ? ret : (int)count;
}

/* ---- CHECKSUM ---- */

/* checksum_reply -- the digest into the caller's buffer */
static int checksum_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	(void)part;
	memcpy(op->req.out, m->u.checksum_reply.digest, RDMACPY_CHECKSUM_LEN);
	return 0;
}

static const struct rcp_req_ops checksum_ops = {
	.reply_type = RCP_MSG_CHECKSUM_REPLY,
	.reply = checksum_reply,
};

/* rdmacpy_region_checksum_async -- the daemon's digest of a range of a region */
int rdmacpy_region_checksum_async(struct rdmacpy_conn *c, const char *region, uint64_t offset,
				  uint64_t length, uint8_t out[RDMACPY_CHECKSUM_LEN],
				  rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	rcp_msg_init(&m, RCP_MSG_CHECKSUM, 0);
	if (!length || !out || rcp_rq_name(m.u.checksum.name, region))
		return RDMACPY_E_INVAL;
	m.u.checksum.offset = offset;
	m.u.checksum.length = length;
	return rcp_rq_one(c, &checksum_ops, &m, range_timeout_ms(c, length), out, cb, ctx, op);
}

/* rdmacpy_region_checksum -- synchronous */
int rdmacpy_region_checksum(struct rdmacpy_conn *c, const char *region, uint64_t offset,
			    uint64_t length, uint8_t out[RDMACPY_CHECKSUM_LEN])
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_region_checksum_async(c, region, offset, length, out, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* ---- FLUSH ---- */

static const struct rcp_req_ops flush_ops = {
	.reply_type = RCP_MSG_FLUSH_REPLY,
};

/* rdmacpy_region_flush_async -- make a range of a region durable */
int rdmacpy_region_flush_async(struct rdmacpy_conn *c, const char *region, uint64_t offset,
			       uint64_t length, rdmacpy_done_fn cb, void *ctx,
			       struct rdmacpy_op **op)
{
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	rcp_msg_init(&m, RCP_MSG_FLUSH, 0);
	if (!length || rcp_rq_name(m.u.flush.name, region))
		return RDMACPY_E_INVAL;
	m.u.flush.offset = offset;
	m.u.flush.length = length;
	return rcp_rq_one(c, &flush_ops, &m, range_timeout_ms(c, length), NULL, cb, ctx, op);
}

/* rdmacpy_region_flush -- synchronous */
int rdmacpy_region_flush(struct rdmacpy_conn *c, const char *region, uint64_t offset,
			 uint64_t length)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_region_flush_async(c, region, offset, length, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* rdmacpy_grant_flush_async -- make a range of a grant durable */
int rdmacpy_grant_flush_async(struct rdmacpy_grant *g, uint64_t offset, uint64_t length,
			      rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **op)
{
	struct rdmacpy_conn *c = g ? g->conn : NULL;
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	if (!length)
		return RDMACPY_E_INVAL;
	if (offset > g->length || length > g->length - offset)
		return RDMACPY_E_RANGE;
	rcp_msg_init(&m, RCP_MSG_FLUSH, 0);
	m.u.flush.grant_id = g->q[0].id;
	m.u.flush.offset = offset;
	m.u.flush.length = length;
	return rcp_rq_one(c, &flush_ops, &m, range_timeout_ms(c, length), NULL, cb, ctx, op);
}

/* rdmacpy_grant_flush -- synchronous */
int rdmacpy_grant_flush(struct rdmacpy_grant *g, uint64_t offset, uint64_t length)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_grant_flush_async(g, offset, length, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* ---- CREATE, DESTROY ---- */

/* create_reply -- the size the daemon allocated */
static int create_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	(void)part;
	if (op->req.out)
		*(uint64_t *)op->req.out = m->u.create_reply.size;
	return 0;
}

static const struct rcp_req_ops create_ops = {
	.reply_type = RCP_MSG_CREATE_REPLY,
	.reply = create_reply,
};

static const struct rcp_req_ops destroy_ops = {
	.reply_type = RCP_MSG_DESTROY_REPLY,
};

/* rdmacpy_region_create_async -- a new anonymous region on the daemon */
int rdmacpy_region_create_async(struct rdmacpy_conn *c, const char *region, uint64_t size,
				enum rdmacpy_rights rights, uint64_t *allocated, rdmacpy_done_fn cb,
				void *ctx, struct rdmacpy_op **op)
{
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	rcp_msg_init(&m, RCP_MSG_CREATE, 0);
	if (!size || (rights != RDMACPY_RIGHTS_RO && rights != RDMACPY_RIGHTS_RW) ||
	    rcp_rq_name(m.u.create.name, region))
		return RDMACPY_E_INVAL;
	m.u.create.size = size;
	m.u.create.rights = (enum rcp_rights)rights;
	if (allocated)
		*allocated = 0;
	/* the daemon maps and registers the new region: time that grows with its size */
	return rcp_rq_one(c, &create_ops, &m, range_timeout_ms(c, size), allocated, cb, ctx, op);
}

/* rdmacpy_region_create -- synchronous */
int rdmacpy_region_create(struct rdmacpy_conn *c, const char *region, uint64_t size,
			  enum rdmacpy_rights rights, uint64_t *allocated)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_region_create_async(c, region, size, rights, allocated, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* rdmacpy_region_destroy_async -- remove a created region */
int rdmacpy_region_destroy_async(struct rdmacpy_conn *c, const char *region, rdmacpy_done_fn cb,
				 void *ctx, struct rdmacpy_op **op)
{
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	rcp_msg_init(&m, RCP_MSG_DESTROY, 0);
	if (rcp_rq_name(m.u.destroy.name, region))
		return RDMACPY_E_INVAL;
	return rcp_rq_one(c, &destroy_ops, &m, c->opts.timeout_ms, NULL, cb, ctx, op);
}

/* rdmacpy_region_destroy -- synchronous */
int rdmacpy_region_destroy(struct rdmacpy_conn *c, const char *region)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_region_destroy_async(c, region, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* ---- INFO ---- */

/* info_reply -- as many entries as the caller has room for, each cut to its size */
static int info_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_info_reply *r = &m->u.info_reply;
	size_t esz = op->req.elem_size;
	size_t i;

	(void)part;
	*op->req.count = r->count;
	for (i = 0; i < r->count && i < op->req.cap; i++) {
		struct rdmacpy_daemon_addr all;
		/* entries are esz apart: an older caller's struct is smaller than ours */
		char *dst = (char *)op->req.out + i * esz;

		memset(&all, 0, sizeof(all));
		all.size = esz;
		snprintf(all.addr, sizeof(all.addr), "%s", r->addrs[i].addr);
		snprintf(all.device, sizeof(all.device), "%s", r->addrs[i].device);
		all.port = r->port;
		all.port_num = r->addrs[i].port_num;
		all.rate_mbps = r->addrs[i].rate_mbps;
		memcpy(dst, &all, esz < sizeof(all) ? esz : sizeof(all));
	}
	return 0;
}

static const struct rcp_req_ops info_ops = {
	.reply_type = RCP_MSG_INFO_REPLY,
	.reply = info_reply,
};

/* rdmacpy_daemon_addrs_async -- INFO, from protocol 3 */
int rdmacpy_daemon_addrs_async(struct rdmacpy_conn *c, struct rdmacpy_daemon_addr *out, size_t cap,
			       size_t *count, rdmacpy_done_fn cb, void *ctx,
			       struct rdmacpy_op **opp)
{
	struct rdmacpy_op *op;
	struct rcp_msg m;
	int ret = rcp_rq_check(c, opp);

	if (ret)
		return ret;
	if (!count || (cap && (!out || out[0].size < offsetof(struct rdmacpy_daemon_addr, addr) +
							     sizeof(out[0].addr))))
		return RDMACPY_E_INVAL;
	/* the daemon's protocol, as every QP's connection negotiated it */
	if (c->qp[0].version < 3)
		return RDMACPY_E_NOTSUP;
	op = rcp_rq_new(c, &info_ops, cb, ctx);
	if (!op)
		return RDMACPY_E_NOMEM;
	*count = 0;
	op->req.out = out;
	op->req.elem_size = cap ? out[0].size : 0;
	op->req.cap = cap;
	op->req.count = count;
	rcp_msg_init(&m, RCP_MSG_INFO, 0);
	ret = rcp_rq_send(op, rcp_rq_qp(c), &m, c->opts.timeout_ms, 0);
	if (ret) {
		rcp_op_destroy(op);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	return rcp_rq_go(op, opp);
}

/* rdmacpy_daemon_addrs -- synchronous */
int rdmacpy_daemon_addrs(struct rdmacpy_conn *c, struct rdmacpy_daemon_addr *out, size_t cap,
			 size_t *count)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_daemon_addrs_async(c, out, cap, count, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}

/* ---- STAT ---- */

/* stat_reply -- the counters, as much of them as the caller's struct holds */
static int stat_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_stat_reply *s = &m->u.stat_reply;
	struct rdmacpy_stats *out = op->req.out;
	struct rdmacpy_stats all;

	(void)part;
	/* named one by one: the public struct is an ABI, the wire's list is not */
	memset(&all, 0, sizeof(all));
#define STAT_COPY(name) all.name = s->name;
	RCP_STAT_FIELDS(STAT_COPY)
#undef STAT_COPY
	all.size = out->size;
	memcpy(out, &all, out->size < sizeof(all) ? out->size : sizeof(all));
	return 0;
}

static const struct rcp_req_ops stat_ops = {
	.reply_type = RCP_MSG_STAT_REPLY,
	.reply = stat_reply,
};

/* rdmacpy_daemon_stat_async -- the daemon's counters */
int rdmacpy_daemon_stat_async(struct rdmacpy_conn *c, struct rdmacpy_stats *out, rdmacpy_done_fn cb,
			      void *ctx, struct rdmacpy_op **op)
{
	struct rcp_msg m;
	int ret = rcp_rq_check(c, op);

	if (ret)
		return ret;
	if (!out || out->size < offsetof(struct rdmacpy_stats, clients_connected))
		return RDMACPY_E_INVAL;
	rcp_msg_init(&m, RCP_MSG_STAT, 0);
	return rcp_rq_one(c, &stat_ops, &m, c->opts.timeout_ms, out, cb, ctx, op);
}

/* rdmacpy_daemon_stat -- synchronous */
int rdmacpy_daemon_stat(struct rdmacpy_conn *c, struct rdmacpy_stats *out)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_daemon_stat_async(c, out, NULL, NULL, &op);

	return rcp_rq_sync(ret, op);
}
