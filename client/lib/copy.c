/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.c -- third-party copy: ask a daemon to write one of its ranges into another daemon */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client/lib/request.h"

/* copy_progress -- the daemon's report: the request is alive, and this far along */
static void copy_progress(struct rdmacpy_op *op, const struct rcp_msg *m)
{
	struct rcp_op_req *rq = &op->req;

	/* if the connection fails now, this is the last word on how far it got */
	if (rq->copied)
		*rq->copied = m->u.copy_progress.done;
	if (rq->progress)
		rq->progress(rq->pctx, m->u.copy_progress.done, rq->length);
}

/* copy_reply -- the end: bytes written, and the copy's own status */
static int copy_reply(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m)
{
	const struct rcp_msg_copy_reply *r = &m->u.copy_reply;
	struct rcp_op_req *rq = &op->req;

	(void)part;
	if (rq->copied)
		*rq->copied = r->bytes;
	if (r->status != RCP_ERR_NONE) {
		rcp_conn_set_error(
			op->conn,
			"the copy to %s stopped after %llu of %llu bytes: %s (the source "
			"daemon's log says more)",
			rq->peer, (unsigned long long)r->bytes, (unsigned long long)rq->length,
			rcp_err_name(r->status));
		return rcp_err_errno(r->status);
	}
	if (r->bytes != rq->length) {
		rcp_conn_set_error(op->conn, "the daemon reports %llu of %llu bytes copied",
				   (unsigned long long)r->bytes, (unsigned long long)rq->length);
		return -EPROTO;
	}
	if (rq->progress)
		rq->progress(rq->pctx, r->bytes, rq->length);
	return 0;
}

static const struct rcp_req_ops copy_ops = {
	.reply_type = RCP_MSG_COPY_REPLY,
	.interim_type = RCP_MSG_COPY_PROGRESS,
	.reply = copy_reply,
	.interim = copy_progress,
};

/* copy_request -- the COPY message; -EINVAL for names or a host that do not fit */
static int copy_request(struct rcp_msg *req, const char *src_region, uint64_t src_off,
			uint64_t length, const char *dst_host, uint16_t dst_port,
			const char *dst_region, uint64_t dst_off)
{
	struct rcp_msg_copy *m = &req->u.copy;

	rcp_msg_init(req, RCP_MSG_COPY, 0);
	if (rcp_rq_name(m->src, src_region) || rcp_rq_name(m->dst, dst_region) || !dst_host ||
	    rcp_strfield_set(m->dst_host, RCP_HOST_MAX, dst_host))
		return -EINVAL;
	m->src_offset = src_off;
	m->length = length;
	m->dst_port = dst_port;
	m->dst_offset = dst_off;
	return 0;
}

/* rdmacpy_region_copy_async -- the daemon of c copies src_region[src_off, +length) into
 * dst_region at dst_off on the daemon at dst_host:dst_port */
int rdmacpy_region_copy_async(struct rdmacpy_conn *c, const char *src_region, uint64_t src_off,
			      uint64_t length, const char *dst_host, uint16_t dst_port,
			      const char *dst_region, uint64_t dst_off,
			      rdmacpy_progress_fn progress, void *pctx, uint64_t *copied,
			      rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **opp)
{
	struct rdmacpy_op *op;
	struct rcp_msg m;
	int ret = rcp_rq_check(c, opp);

	if (opp)
		*opp = NULL;
	if (copied)
		*copied = 0;
	if (ret)
		return ret;
	if (!length || !dst_port || src_off > UINT64_MAX - length ||
	    dst_off > UINT64_MAX - length ||
	    copy_request(&m, src_region, src_off, length, dst_host, dst_port, dst_region, dst_off))
		return RDMACPY_E_INVAL;
	op = rcp_rq_new(c, &copy_ops, cb, ctx);
	if (!op)
		return RDMACPY_E_NOMEM;
	op->req.length = length;
	op->req.copied = copied;
	op->req.progress = progress;
	op->req.pctx = pctx;
	snprintf(op->req.peer, sizeof(op->req.peer), "%s:%u", dst_host, dst_port);
	/* each COPY_PROGRESS restarts the request's time: only a copy that stops advancing
	 * times out */
	ret = rcp_rq_send(op, rcp_rq_qp(c), &m, c->opts.timeout_ms, 0);
	if (ret) {
		rcp_op_destroy(op);
		return rcp_err_public(ret, RCP_CTX_LOCAL);
	}
	return rcp_rq_go(op, opp);
}

/* rdmacpy_region_copy -- synchronous */
int rdmacpy_region_copy(struct rdmacpy_conn *c, const char *src_region, uint64_t src_off,
			uint64_t length, const char *dst_host, uint16_t dst_port,
			const char *dst_region, uint64_t dst_off, rdmacpy_progress_fn progress,
			void *pctx, uint64_t *copied)
{
	struct rdmacpy_op *op = NULL;
	int ret = rdmacpy_region_copy_async(c, src_region, src_off, length, dst_host, dst_port,
					    dst_region, dst_off, progress, pctx, copied, NULL, NULL,
					    &op);

	return rcp_rq_sync(ret, op);
}
