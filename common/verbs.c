/* SPDX-License-Identifier: BSD-3-Clause */
/* verbs.c -- the thin verbs/rdma_cm layer over libibverbs and librdmacm, -errno everywhere */
#include "common/verbs.h"

#include <errno.h>
#include <string.h>

/*
 * The one place rdma-core's error styles are converted. Constructors return NULL and (mostly)
 * set errno; we clear errno first so a provider that forgets to set it cannot hand us a stale
 * value, and fall back to a plausible code. Everything else returns either a positive errno
 * (libibverbs), or -1 with errno set (librdmacm, some providers), or occasionally a negative
 * errno: status_to_errno takes all three.
 */

/* errno_or -- the current errno negated, or fallback if nobody set it */
static int errno_or(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

/* status_to_errno -- 0, positive errno, or -1 with errno, or -errno, into 0 or -errno */
static int status_to_errno(int ret)
{
	if (ret == 0)
		return 0;
	if (ret > 0)
		return -ret;
	if (ret == -1)
		return errno_or(-EIO);
	return ret;
}

/* fill_conn_param -- rdma_conn_param from our options and private data */
static int fill_conn_param(struct rdma_conn_param *param, const struct rcp_vb_conn_opts *opts,
			   const void *pdata, size_t pdata_len)
{
	if (pdata_len > UINT8_MAX || (!pdata && pdata_len))
		return -EINVAL;
	memset(param, 0, sizeof(*param));
	param->private_data = pdata;
	param->private_data_len = (uint8_t)pdata_len;
	param->flow_control = 1;
	if (opts) {
		param->responder_resources = opts->responder_resources;
		param->initiator_depth = opts->initiator_depth;
		param->retry_count = opts->retry_count;
		param->rnr_retry_count = opts->rnr_retry_count;
	} else {
		param->responder_resources = RDMA_MAX_RESP_RES;
		param->initiator_depth = RDMA_MAX_INIT_DEPTH;
		param->retry_count = 7;
		param->rnr_retry_count = 7;
	}
	return 0;
}

/* rcp_vb_create_event_channel -- open an rdma_cm event channel */
int rcp_vb_create_event_channel(struct rdma_event_channel **chp)
{
	struct rdma_event_channel *ch;

	if (!chp)
		return -EINVAL;
	errno = 0;
	ch = rdma_create_event_channel();
	if (!ch)
		return errno_or(-ENODEV);
	*chp = ch;
	return 0;
}

/* rcp_vb_destroy_event_channel -- close an event channel (all its ids destroyed first) */
void rcp_vb_destroy_event_channel(struct rdma_event_channel **chp)
{
	if (!chp || !*chp)
		return;
	rdma_destroy_event_channel(*chp);
	*chp = NULL;
}

/* rcp_vb_create_id -- new RDMA_PS_TCP (reliable connected) id reporting to ch */
int rcp_vb_create_id(struct rdma_event_channel *ch, void *context, struct rdma_cm_id **idp)
{
	struct rdma_cm_id *id = NULL;

	if (!ch || !idp)
		return -EINVAL;
	if (rdma_create_id(ch, &id, context, RDMA_PS_TCP))
		return errno_or(-ENOMEM);
	*idp = id;
	return 0;
}

/* rcp_vb_destroy_id -- destroy an id; its QP must be gone and its events acked */
int rcp_vb_destroy_id(struct rdma_cm_id **idp)
{
	int ret;

	if (!idp || !*idp)
		return 0;
	ret = status_to_errno(rdma_destroy_id(*idp));
	if (!ret)
		*idp = NULL;
	return ret;
}

/* rcp_vb_resolve_addr -- start address resolution (ADDR_RESOLVED/ADDR_ERROR follows) */
int rcp_vb_resolve_addr(struct rdma_cm_id *id, const struct sockaddr *src,
			const struct sockaddr *dst, int timeout_ms)
{
	if (!id || !dst)
		return -EINVAL;
	/* librdmacm does not modify the addresses; its prototype just lacks the const */
	return status_to_errno(
		rdma_resolve_addr(id, (struct sockaddr *)src, (struct sockaddr *)dst, timeout_ms));
}

/* rcp_vb_resolve_route -- start route resolution (ROUTE_RESOLVED/ROUTE_ERROR follows) */
int rcp_vb_resolve_route(struct rdma_cm_id *id, int timeout_ms)
{
	if (!id)
		return -EINVAL;
	return status_to_errno(rdma_resolve_route(id, timeout_ms));
}

/* rcp_vb_listen -- bind id to addr and listen; CONNECT_REQUEST events follow */
int rcp_vb_listen(struct rdma_cm_id *id, const struct sockaddr *addr, int backlog)
{
	int ret;

	if (!id || !addr)
		return -EINVAL;
	ret = status_to_errno(rdma_bind_addr(id, (struct sockaddr *)addr));
	if (ret)
		return ret;
	return status_to_errno(rdma_listen(id, backlog));
}

/*
 * set_ack_timeout -- give the QP a transport ACK timeout before it reaches RTS. Without one
 * rdma_cm leaves rxe's QPs at 0 ("wait forever"): a lost packet is never retransmitted and a
 * cut link hangs the work instead of failing it with retry-exceeded. A kernel that lacks the
 * option keeps its default; that is not worth refusing the connection for.
 */
static void set_ack_timeout(struct rdma_cm_id *id)
{
	uint8_t timeout = RCP_VB_ACK_TIMEOUT;

	(void)rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &timeout,
			      sizeof(timeout));
}

/* rcp_vb_connect -- connect with private data (at most 56 bytes on RC); opts may be NULL */
int rcp_vb_connect(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		   size_t pdata_len)
{
	struct rdma_conn_param param;
	int ret;

	if (!id)
		return -EINVAL;
	ret = fill_conn_param(&param, opts, pdata, pdata_len);
	if (ret)
		return ret;
	set_ack_timeout(id);
	return status_to_errno(rdma_connect(id, &param));
}

/* rcp_vb_accept -- accept a connect request with private data; opts may be NULL */
int rcp_vb_accept(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		  size_t pdata_len)
{
	struct rdma_conn_param param;
	int ret;

	if (!id)
		return -EINVAL;
	ret = fill_conn_param(&param, opts, pdata, pdata_len);
	if (ret)
		return ret;
	set_ack_timeout(id);
	return status_to_errno(rdma_accept(id, &param));
}

/* rcp_vb_reject -- refuse a connect request, telling the peer why in the private data */
int rcp_vb_reject(struct rdma_cm_id *id, const void *pdata, size_t pdata_len)
{
	if (!id || pdata_len > UINT8_MAX || (!pdata && pdata_len))
		return -EINVAL;
	return status_to_errno(rdma_reject(id, pdata, (uint8_t)pdata_len));
}

/* rcp_vb_disconnect -- start tearing a connection down (DISCONNECTED follows) */
int rcp_vb_disconnect(struct rdma_cm_id *id)
{
	if (!id)
		return -EINVAL;
	return status_to_errno(rdma_disconnect(id));
}

/* rcp_vb_get_cm_event -- next event; -EAGAIN on a non-blocking channel with none pending */
int rcp_vb_get_cm_event(struct rdma_event_channel *ch, struct rdma_cm_event **evp)
{
	struct rdma_cm_event *ev = NULL;
	int ret;

	if (!ch || !evp)
		return -EINVAL;
	ret = status_to_errno(rdma_get_cm_event(ch, &ev));
	if (ret)
		return ret;
	*evp = ev;
	return 0;
}

/* rcp_vb_ack_cm_event -- release an event (its private data goes with it); NULL is a no-op */
int rcp_vb_ack_cm_event(struct rdma_cm_event *ev)
{
	if (!ev)
		return 0;
	return status_to_errno(rdma_ack_cm_event(ev));
}

/* rcp_vb_create_qp -- create id->qp on pd; attr->cap is updated with what was granted */
int rcp_vb_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	if (!id || !pd || !attr)
		return -EINVAL;
	errno = 0;
	return status_to_errno(rdma_create_qp(id, pd, attr));
}

/* rcp_vb_destroy_qp -- destroy id->qp and clear it; NULL id or no QP is a no-op */
void rcp_vb_destroy_qp(struct rdma_cm_id *id)
{
	if (!id || !id->qp)
		return;
	rdma_destroy_qp(id);
	id->qp = NULL;
}

/* rcp_vb_query_device -- classic ibv_query_device */
int rcp_vb_query_device(struct ibv_context *ctx, struct ibv_device_attr *attr)
{
	if (!ctx || !attr)
		return -EINVAL;
	return status_to_errno(ibv_query_device(ctx, attr));
}

/* rcp_vb_query_port -- ibv_query_port for port (1-based) */
int rcp_vb_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr)
{
	if (!ctx || !attr || port == 0)
		return -EINVAL;
	return status_to_errno(ibv_query_port(ctx, port, attr));
}

/* rcp_vb_alloc_pd -- allocate a protection domain */
int rcp_vb_alloc_pd(struct ibv_context *ctx, struct ibv_pd **pdp)
{
	struct ibv_pd *pd;

	if (!ctx || !pdp)
		return -EINVAL;
	errno = 0;
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		return errno_or(-ENOMEM);
	*pdp = pd;
	return 0;
}

/* rcp_vb_dealloc_pd -- free a protection domain; -EBUSY while MRs, MWs or QPs use it */
int rcp_vb_dealloc_pd(struct ibv_pd **pdp)
{
	int ret;

	if (!pdp || !*pdp)
		return 0;
	ret = status_to_errno(ibv_dealloc_pd(*pdp));
	if (!ret)
		*pdp = NULL;
	return ret;
}

/* rcp_vb_reg_mr -- register [addr, addr+len) with IBV_ACCESS_* flags */
int rcp_vb_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, struct ibv_mr **mrp)
{
	struct ibv_mr *mr;

	if (!pd || !mrp || (!addr && len))
		return -EINVAL;
	errno = 0;
	mr = ibv_reg_mr(pd, addr, len, access);
	if (!mr)
		return errno_or(-ENOMEM);
	*mrp = mr;
	return 0;
}

/* rcp_vb_dereg_mr -- deregister; fails (-EINVAL on rxe) while a window is bound to it */
int rcp_vb_dereg_mr(struct ibv_mr **mrp)
{
	int ret;

	if (!mrp || !*mrp)
		return 0;
	ret = status_to_errno(ibv_dereg_mr(*mrp));
	if (!ret)
		*mrp = NULL;
	return ret;
}

/* rcp_vb_alloc_mw -- allocate a type-2 memory window */
int rcp_vb_alloc_mw(struct ibv_pd *pd, struct ibv_mw **mwp)
{
	struct ibv_mw *mw;

	if (!pd || !mwp)
		return -EINVAL;
	errno = 0;
	mw = ibv_alloc_mw(pd, IBV_MW_TYPE_2);
	if (!mw)
		return errno_or(-EOPNOTSUPP);
	*mwp = mw;
	return 0;
}

/* rcp_vb_dealloc_mw -- free a memory window (a bound window is invalidated by this) */
int rcp_vb_dealloc_mw(struct ibv_mw **mwp)
{
	int ret;

	if (!mwp || !*mwp)
		return 0;
	ret = status_to_errno(ibv_dealloc_mw(*mwp));
	if (!ret)
		*mwp = NULL;
	return ret;
}

/* rcp_vb_create_comp_channel -- completion channel: an fd that wakes on CQ events */
int rcp_vb_create_comp_channel(struct ibv_context *ctx, struct ibv_comp_channel **ccp)
{
	struct ibv_comp_channel *cc;

	if (!ctx || !ccp)
		return -EINVAL;
	errno = 0;
	cc = ibv_create_comp_channel(ctx);
	if (!cc)
		return errno_or(-ENOMEM);
	*ccp = cc;
	return 0;
}

/* rcp_vb_destroy_comp_channel -- close it; -EBUSY while a CQ still uses it */
int rcp_vb_destroy_comp_channel(struct ibv_comp_channel **ccp)
{
	int ret;

	if (!ccp || !*ccp)
		return 0;
	ret = status_to_errno(ibv_destroy_comp_channel(*ccp));
	if (!ret)
		*ccp = NULL;
	return ret;
}

/* rcp_vb_create_cq -- classic CQ of at least cqe entries; cc may be NULL (polling only) */
int rcp_vb_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
		     struct ibv_comp_channel *cc, int comp_vector, struct ibv_cq **cqp)
{
	struct ibv_cq *cq;

	if (!ctx || !cqp || cqe <= 0)
		return -EINVAL;
	errno = 0;
	cq = ibv_create_cq(ctx, cqe, cq_context, cc, comp_vector);
	if (!cq)
		return errno_or(-ENOMEM);
	*cqp = cq;
	return 0;
}

/* rcp_vb_destroy_cq -- destroy; -EBUSY while a QP uses it */
int rcp_vb_destroy_cq(struct ibv_cq **cqp)
{
	int ret;

	if (!cqp || !*cqp)
		return 0;
	ret = status_to_errno(ibv_destroy_cq(*cqp));
	if (!ret)
		*cqp = NULL;
	return ret;
}

/* rcp_vb_modify_cq_moderation -- hardware moderation; -EOPNOTSUPP where the device has none */
int rcp_vb_modify_cq_moderation(struct ibv_cq *cq, uint16_t count, uint16_t period_us)
{
	struct ibv_modify_cq_attr attr;

	if (!cq)
		return -EINVAL;
	memset(&attr, 0, sizeof(attr));
	attr.attr_mask = IBV_CQ_ATTR_MODERATE;
	attr.moderate.cq_count = count;
	attr.moderate.cq_period = period_us;
	return status_to_errno(ibv_modify_cq(cq, &attr));
}

/* rcp_vb_req_notify_cq -- arm cq for one event on the next (solicited) completion */
int rcp_vb_req_notify_cq(struct ibv_cq *cq, bool solicited_only)
{
	if (!cq)
		return -EINVAL;
	return status_to_errno(ibv_req_notify_cq(cq, solicited_only ? 1 : 0));
}

/* rcp_vb_get_async_event -- one asynchronous event of ctx; -EAGAIN if non-blocking and none */
int rcp_vb_get_async_event(struct ibv_context *ctx, struct ibv_async_event *ev)
{
	if (!ctx || !ev)
		return -EINVAL;
	if (ibv_get_async_event(ctx, ev))
		return errno_or(-EIO);
	return 0;
}

/* rcp_vb_ack_async_event -- ack an asynchronous event */
void rcp_vb_ack_async_event(struct ibv_async_event *ev)
{
	if (ev)
		ibv_ack_async_event(ev);
}

/* rcp_vb_get_cq_event -- take one CQ event from cc; -EAGAIN if non-blocking and none */
int rcp_vb_get_cq_event(struct ibv_comp_channel *cc, struct ibv_cq **cqp, void **cq_contextp)
{
	struct ibv_cq *cq = NULL;
	void *cq_context = NULL;

	if (!cc || !cqp)
		return -EINVAL;
	if (ibv_get_cq_event(cc, &cq, &cq_context))
		return errno_or(-EIO);
	*cqp = cq;
	if (cq_contextp)
		*cq_contextp = cq_context;
	return 0;
}

/* rcp_vb_ack_cq_events -- ack events taken with rcp_vb_get_cq_event */
void rcp_vb_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	if (!cq || nevents == 0)
		return;
	ibv_ack_cq_events(cq, nevents);
}

/* rcp_vb_poll_cq -- up to nwc completions into wc: the count (>= 0) or -errno */
int rcp_vb_poll_cq(struct ibv_cq *cq, int nwc, struct ibv_wc *wc)
{
	int n;

	if (!cq || !wc || nwc < 0)
		return -EINVAL;
	n = ibv_poll_cq(cq, nwc, wc);
	/* providers report a broken CQ with their own negative codes, not errnos */
	return n < 0 ? -EIO : n;
}

/* rcp_vb_post_send -- post a chain; on error *bad_wr is the first WR not posted */
int rcp_vb_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr)
{
	struct ibv_send_wr *bad = NULL;
	int ret;

	if (!qp || !wr)
		return -EINVAL;
	ret = status_to_errno(ibv_post_send(qp, wr, &bad));
	if (bad_wr)
		*bad_wr = ret ? bad : NULL;
	return ret;
}

/* rcp_vb_post_recv -- post a chain of receives; bad_wr as for rcp_vb_post_send */
int rcp_vb_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr)
{
	struct ibv_recv_wr *bad = NULL;
	int ret;

	if (!qp || !wr)
		return -EINVAL;
	ret = status_to_errno(ibv_post_recv(qp, wr, &bad));
	if (bad_wr)
		*bad_wr = ret ? bad : NULL;
	return ret;
}
