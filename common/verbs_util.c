/* SPDX-License-Identifier: BSD-3-Clause */
/* verbs_util.c -- verbs-layer helpers that touch no device, shared by verbs.c and the mock */
#include "common/verbs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* set_nonblock -- add O_NONBLOCK to fd */
static int set_nonblock(int fd)
{
	int flags;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -errno;
	if (flags & O_NONBLOCK)
		return 0;
	if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* rcp_vb_event_channel_set_nonblock -- make rcp_vb_get_cm_event return -EAGAIN, not block */
int rcp_vb_event_channel_set_nonblock(struct rdma_event_channel *ch)
{
	if (!ch)
		return -EINVAL;
	return set_nonblock(ch->fd);
}

/* rcp_vb_comp_channel_set_nonblock -- make rcp_vb_get_cq_event return -EAGAIN, not block */
int rcp_vb_comp_channel_set_nonblock(struct ibv_comp_channel *cc)
{
	if (!cc)
		return -EINVAL;
	return set_nonblock(cc->fd);
}

/* rcp_vb_async_set_nonblock -- make rcp_vb_get_async_event return -EAGAIN, not block */
int rcp_vb_async_set_nonblock(struct ibv_context *ctx)
{
	if (!ctx)
		return -EINVAL;
	/* a context without an async fd (the unit tests' mock) has nothing to block on */
	return ctx->async_fd < 0 ? 0 : set_nonblock(ctx->async_fd);
}

/* rcp_vb_cm_event_str -- name of an rdma_cm event type, for logs */
const char *rcp_vb_cm_event_str(enum rdma_cm_event_type type)
{
	/* our own table: rdma_event_str would pull librdmacm into mock-linked tests */
	switch (type) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		return "ADDR_RESOLVED";
	case RDMA_CM_EVENT_ADDR_ERROR:
		return "ADDR_ERROR";
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		return "ROUTE_RESOLVED";
	case RDMA_CM_EVENT_ROUTE_ERROR:
		return "ROUTE_ERROR";
	case RDMA_CM_EVENT_CONNECT_REQUEST:
		return "CONNECT_REQUEST";
	case RDMA_CM_EVENT_CONNECT_RESPONSE:
		return "CONNECT_RESPONSE";
	case RDMA_CM_EVENT_CONNECT_ERROR:
		return "CONNECT_ERROR";
	case RDMA_CM_EVENT_UNREACHABLE:
		return "UNREACHABLE";
	case RDMA_CM_EVENT_REJECTED:
		return "REJECTED";
	case RDMA_CM_EVENT_ESTABLISHED:
		return "ESTABLISHED";
	case RDMA_CM_EVENT_DISCONNECTED:
		return "DISCONNECTED";
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		return "DEVICE_REMOVAL";
	case RDMA_CM_EVENT_MULTICAST_JOIN:
		return "MULTICAST_JOIN";
	case RDMA_CM_EVENT_MULTICAST_ERROR:
		return "MULTICAST_ERROR";
	case RDMA_CM_EVENT_ADDR_CHANGE:
		return "ADDR_CHANGE";
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		return "TIMEWAIT_EXIT";
	}
	return "UNKNOWN_EVENT";
}

/* clamp_u32 -- a device attribute (int) as an unsigned count, negatives as 0 */
static uint32_t clamp_u32(int v)
{
	return v < 0 ? 0 : (uint32_t)v;
}

/* rcp_vb_port_rate_mbps -- IBTA lane rates (the data rate after encoding) times the lanes */
uint32_t rcp_vb_port_rate_mbps(uint8_t active_speed, uint8_t active_width)
{
	uint32_t lane;
	uint32_t lanes;

	switch (active_speed) {
	case 1:
		lane = 2000;
		break; /* SDR: 2.5 Gb/s, 8b/10b */
	case 2:
		lane = 4000;
		break; /* DDR */
	case 4:
		lane = 8000;
		break; /* QDR */
	case 8:
		lane = 10000;
		break; /* FDR10 */
	case 16:
		lane = 13640;
		break; /* FDR, 64b/66b */
	case 32:
		lane = 25000;
		break; /* EDR */
	case 64:
		lane = 50000;
		break; /* HDR */
	case 128:
		lane = 100000;
		break; /* NDR */
	default:
		return 0;
	}
	switch (active_width) {
	case 1:
		lanes = 1;
		break;
	case 2:
		lanes = 4;
		break;
	case 4:
		lanes = 8;
		break;
	case 8:
		lanes = 12;
		break;
	case 16:
		lanes = 2;
		break;
	default:
		return 0;
	}
	return lane * lanes;
}

/* rcp_vb_caps_from_attr -- fill caps from already-queried device and port attributes */
void rcp_vb_caps_from_attr(const struct ibv_device_attr *dev, const struct ibv_port_attr *port,
			   struct rcp_vb_caps *caps)
{
	const unsigned int type2 = IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B;

	memset(caps, 0, sizeof(*caps));
	caps->max_sge = clamp_u32(dev->max_sge);
	/* some providers leave max_sge_rd at 0, meaning "same as max_sge" */
	caps->max_sge_rd = dev->max_sge_rd > 0 ? clamp_u32(dev->max_sge_rd) : caps->max_sge;
	caps->max_qp_wr = clamp_u32(dev->max_qp_wr);
	caps->max_cqe = clamp_u32(dev->max_cqe);
	caps->max_mr_size = dev->max_mr_size;
	caps->max_mw = clamp_u32(dev->max_mw);
	caps->max_qp_rd_atom = clamp_u32(dev->max_qp_rd_atom);
	caps->max_qp_init_rd_atom = clamp_u32(dev->max_qp_init_rd_atom);
	/*
	 * The capability flag says which window types the device binds; max_mw says it can
	 * allocate any at all. rxe sets MEM_WINDOW_TYPE_2B and reports max_mw 524287.
	 */
	caps->mw_type2 = (dev->device_cap_flags & type2) != 0 && dev->max_mw > 0;
	caps->max_msg_sz = port->max_msg_sz;
	caps->active_mtu = port->active_mtu;
	caps->rate_mbps = rcp_vb_port_rate_mbps(port->active_speed, port->active_width);
}

/* rcp_vb_query_caps -- query device and port and fill caps */
int rcp_vb_query_caps(struct ibv_context *ctx, uint8_t port, struct rcp_vb_caps *caps)
{
	struct ibv_device_attr dev;
	struct ibv_port_attr pattr;
	int ret;

	if (!ctx || !caps)
		return -EINVAL;
	ret = rcp_vb_query_device(ctx, &dev);
	if (ret)
		return ret;
	ret = rcp_vb_query_port(ctx, port, &pattr);
	if (ret)
		return ret;
	rcp_vb_caps_from_attr(&dev, &pattr, caps);
	return 0;
}

/* rcp_vb_probe_cq_moderation -- try hardware moderation: 0 if applied, else -EOPNOTSUPP */
int rcp_vb_probe_cq_moderation(struct ibv_cq *cq, uint16_t count, uint16_t period_us)
{
	/*
	 * Whatever the reason the device refuses (no support, values out of its range), the
	 * answer for the caller is the same: moderate in software.
	 */
	if (rcp_vb_modify_cq_moderation(cq, count, period_us) != 0)
		return -EOPNOTSUPP;
	return 0;
}

/* rcp_vb_wr_bind_mw -- fill *wr as a signaled type-2 bind and return the rkey it will give */
uint32_t rcp_vb_wr_bind_mw(struct ibv_send_wr *wr, uint64_t wr_id, struct ibv_mw *mw,
			   struct ibv_mr *mr, uint64_t addr, uint64_t length, unsigned int access)
{
	uint32_t rkey = ibv_inc_rkey(mw->rkey);

	memset(wr, 0, sizeof(*wr));
	wr->wr_id = wr_id;
	wr->opcode = IBV_WR_BIND_MW;
	wr->send_flags = IBV_SEND_SIGNALED;
	wr->bind_mw.mw = mw;
	wr->bind_mw.rkey = rkey;
	wr->bind_mw.bind_info.mr = mr;
	wr->bind_mw.bind_info.addr = addr;
	wr->bind_mw.bind_info.length = length;
	wr->bind_mw.bind_info.mw_access_flags = access;
	return rkey;
}

/* rcp_vb_mw_commit_rkey -- record in mw the rkey a bind completed with */
void rcp_vb_mw_commit_rkey(struct ibv_mw *mw, uint32_t rkey)
{
	mw->rkey = rkey;
}

/* rcp_vb_wr_local_inv -- fill *wr (zeroed first) as a signaled IBV_WR_LOCAL_INV of rkey */
void rcp_vb_wr_local_inv(struct ibv_send_wr *wr, uint64_t wr_id, uint32_t rkey)
{
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = wr_id;
	wr->opcode = IBV_WR_LOCAL_INV;
	/* signaled: a grant counts as revoked only when the invalidate has completed */
	wr->send_flags = IBV_SEND_SIGNALED;
	wr->invalidate_rkey = rkey;
}

/* rcp_vb_wc_status_str -- short name of a completion status, for logs */
const char *rcp_vb_wc_status_str(enum ibv_wc_status status)
{
	/* our own table: ibv_wc_status_str would pull libibverbs into mock-linked tests */
	switch (status) {
	case IBV_WC_SUCCESS:
		return "success";
	case IBV_WC_LOC_LEN_ERR:
		return "local length error";
	case IBV_WC_LOC_QP_OP_ERR:
		return "local QP operation error";
	case IBV_WC_LOC_EEC_OP_ERR:
		return "local EE context operation error";
	case IBV_WC_LOC_PROT_ERR:
		return "local protection error";
	case IBV_WC_WR_FLUSH_ERR:
		return "work request flushed";
	case IBV_WC_MW_BIND_ERR:
		return "memory window bind error";
	case IBV_WC_BAD_RESP_ERR:
		return "bad response error";
	case IBV_WC_LOC_ACCESS_ERR:
		return "local access error";
	case IBV_WC_REM_INV_REQ_ERR:
		return "remote invalid request error";
	case IBV_WC_REM_ACCESS_ERR:
		return "remote access error";
	case IBV_WC_REM_OP_ERR:
		return "remote operation error";
	case IBV_WC_RETRY_EXC_ERR:
		return "transport retry counter exceeded";
	case IBV_WC_RNR_RETRY_EXC_ERR:
		return "RNR retry counter exceeded";
	case IBV_WC_LOC_RDD_VIOL_ERR:
		return "local RDD violation error";
	case IBV_WC_REM_INV_RD_REQ_ERR:
		return "remote invalid RD request";
	case IBV_WC_REM_ABORT_ERR:
		return "remote aborted error";
	case IBV_WC_INV_EECN_ERR:
		return "invalid EE context number";
	case IBV_WC_INV_EEC_STATE_ERR:
		return "invalid EE context state";
	case IBV_WC_FATAL_ERR:
		return "fatal error";
	case IBV_WC_RESP_TIMEOUT_ERR:
		return "response timeout error";
	case IBV_WC_GENERAL_ERR:
		return "general error";
	case IBV_WC_TM_ERR:
		return "tag matching error";
	case IBV_WC_TM_RNDV_INCOMPLETE:
		return "tag matching rendezvous incomplete";
	}
	return "unknown status";
}

/* rcp_vb_wc_errno -- completion status to 0 or a negative errno (table in verbs.h) */
int rcp_vb_wc_errno(enum ibv_wc_status status)
{
	switch (status) {
	case IBV_WC_SUCCESS:
		return 0;
	case IBV_WC_LOC_LEN_ERR:
		/* a receive buffer too small for the incoming message */
		return -EMSGSIZE;
	case IBV_WC_LOC_QP_OP_ERR:
		/* the WR itself was malformed for this QP (too many SGEs, bad opcode) */
		return -EINVAL;
	case IBV_WC_LOC_PROT_ERR:
	case IBV_WC_LOC_ACCESS_ERR:
		/* our own lkey/MR did not cover the buffer or lacked the right access */
		return -EFAULT;
	case IBV_WC_WR_FLUSH_ERR:
		/* never executed: the QP went to error because of an earlier failure */
		return -ECANCELED;
	case IBV_WC_MW_BIND_ERR:
		/* window bind refused: MR without MW_BIND access, range or rights outside it */
		return -EPERM;
	case IBV_WC_BAD_RESP_ERR:
		return -EPROTO;
	case IBV_WC_REM_ACCESS_ERR:
		/* the peer's rkey does not grant this range or this right (or was revoked) */
		return -EACCES;
	case IBV_WC_REM_INV_REQ_ERR:
	case IBV_WC_REM_OP_ERR:
	case IBV_WC_REM_INV_RD_REQ_ERR:
		return -EREMOTEIO;
	case IBV_WC_RETRY_EXC_ERR:
	case IBV_WC_RESP_TIMEOUT_ERR:
		/* the peer stopped answering */
		return -ETIMEDOUT;
	case IBV_WC_RNR_RETRY_EXC_ERR:
		/* the peer had no receive posted, for longer than the RNR retries allow */
		return -ENOBUFS;
	case IBV_WC_REM_ABORT_ERR:
		return -ECONNABORTED;
	default:
		return -EIO;
	}
}
