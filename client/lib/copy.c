/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.c -- third-party copy: ask a daemon to write one of its ranges into another daemon */
#include <stdio.h>
#include <string.h>

#include "client/lib/internal.h"

/* copy_request -- the COPY message; RDMACPY_E_INVAL for names or a host that do not fit */
static int copy_request(struct rcp_msg *req, const char *src_region, uint64_t src_off,
			uint64_t length, const char *dst_host, uint16_t dst_port,
			const char *dst_region, uint64_t dst_off)
{
	struct rcp_msg_copy *m = &req->u.copy;

	rcp_msg_init(req, RCP_MSG_COPY, 0);
	if (rcp_strfield_set(m->src, RCP_NAME_MAX, src_region) ||
	    rcp_strfield_set(m->dst, RCP_NAME_MAX, dst_region) ||
	    rcp_strfield_set(m->dst_host, RCP_HOST_MAX, dst_host))
		return RDMACPY_E_INVAL;
	m->src_offset = src_off;
	m->length = length;
	m->dst_port = dst_port;
	m->dst_offset = dst_off;
	return 0;
}

/* rdmacpy_copy -- the daemon of c copies src_region[src_off, +length) into dst_region at
 * dst_off on the daemon at dst_host:dst_port; the bytes never pass through this process */
int rdmacpy_copy(struct rdmacpy_conn *c, const char *src_region, uint64_t src_off, uint64_t length,
		 const char *dst_host, uint16_t dst_port, const char *dst_region, uint64_t dst_off,
		 rdmacpy_copy_progress_fn progress, void *ctx, uint64_t *bytes_copied)
{
	const struct rcp_msg_copy_reply *r;
	struct rcp_msg req;
	struct rcp_msg rep;
	int ret;

	if (bytes_copied)
		*bytes_copied = 0;
	if (!c || !src_region || !dst_host || !dst_region || !length || !dst_port ||
	    src_off > UINT64_MAX - length || dst_off > UINT64_MAX - length)
		return RDMACPY_E_INVAL;
	ret = copy_request(&req, src_region, src_off, length, dst_host, dst_port, dst_region,
			   dst_off);
	if (ret)
		return ret;
	ret = rcp_ctrl_start(&c->qp[0], &req);
	if (ret)
		return ret;
	/* each COPY_PROGRESS restarts the wait: only a copy that stops advancing times out */
	for (;;) {
		ret = rcp_ctrl_next(&c->qp[0], RCP_MSG_COPY_REPLY, RCP_MSG_COPY_PROGRESS, &rep,
				    c->opts.timeout_ms);
		if (ret)
			return ret;
		if (rep.hdr.type != RCP_MSG_COPY_PROGRESS)
			break;
		/* if the connection fails now, this is the last word on how far it got */
		if (bytes_copied)
			*bytes_copied = rep.u.copy_progress.done;
		if (progress)
			progress(ctx, rep.u.copy_progress.done, length);
	}
	r = &rep.u.copy_reply;
	if (bytes_copied)
		*bytes_copied = r->bytes;
	ret = rcp_cli_err_proto(r->status);
	if (ret) {
		rcp_conn_set_error(c, "the copy to %s:%u stopped after %llu of %llu bytes: %s (%s)",
				   dst_host, dst_port, (unsigned long long)r->bytes,
				   (unsigned long long)length, rcp_err_name(r->status),
				   "the source daemon's log says more");
		return ret;
	}
	if (progress)
		progress(ctx, r->bytes, length);
	if (r->bytes != length) {
		rcp_conn_set_error(c, "the daemon reports %llu of %llu bytes copied",
				   (unsigned long long)r->bytes, (unsigned long long)length);
		return RDMACPY_E_PROTO;
	}
	return 0;
}
