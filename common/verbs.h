/* SPDX-License-Identifier: BSD-3-Clause */
/* verbs.h -- the thin verbs/rdma_cm layer: every device call goes through here */
#ifndef RDMACPY_COMMON_VERBS_H
#define RDMACPY_COMMON_VERBS_H

/*
 * Why this layer exists:
 * - rdma-core reports errors two ways: constructors return NULL and set errno, ibv_post_*
 *   and friends return a positive errno. Every function here returns 0 (or a count) or a
 *   NEGATIVE errno, and this is the only place that converts.
 * - It is the one seam unit tests replace: tests/unit/mocks/verbs_mock.c defines every
 *   function that common/verbs.c defines. Helpers that never touch a device live in
 *   common/verbs_util.c and are shared by both.
 *
 * Conventions:
 * - Constructors take an out-pointer, which is written only on success.
 * - Destructors accept a NULL pointer or a pointer to NULL (and return 0). They clear the
 *   caller's pointer once the object is gone; when the device refuses (-EBUSY: something
 *   still uses it) the pointer is kept so the caller can retry after releasing the user.
 *
 * rxe (soft-RoCE) notes that shape this API:
 * - ibv_modify_cq is not implemented: rcp_vb_modify_cq_moderation returns -EOPNOTSUPP.
 * - Only the classic ibv_create_cq/ibv_poll_cq path is used (the extended CQ path has
 *   rxe bugs in rdma-core 44).
 * - Type-2 memory windows work; see rcp_vb_wr_bind_mw for the rkey rules.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

/* What the transfer engine and the daemon need to know about a device and one port. */
struct rcp_vb_caps {
	uint32_t max_sge;	      /* SGEs per send WR (WRITE, SEND) */
	uint32_t max_sge_rd;	      /* SGEs per RDMA READ WR */
	uint32_t max_qp_wr;	      /* outstanding WRs per queue */
	uint32_t max_cqe;	      /* entries per CQ */
	uint64_t max_mr_size;	      /* largest registration */
	uint32_t max_mw;	      /* memory windows per device */
	uint32_t max_qp_rd_atom;      /* RDMA READs a QP answers at once (responder) */
	uint32_t max_qp_init_rd_atom; /* RDMA READs a QP issues at once (initiator) */
	uint32_t max_msg_sz;	      /* bytes per message (per WR) on the port */
	enum ibv_mtu active_mtu;      /* path MTU in force on the port */
	bool mw_type2;		      /* type-2 (QP-bound) memory windows can be bound */
	uint32_t rate_mbps;	      /* the port's active rate, speed x width; 0 unknown */
};

/*
 * Connection parameters for rcp_vb_connect/rcp_vb_accept. NULL means: as many outstanding
 * RDMA READs as the device allows (RDMA_MAX_RESP_RES / RDMA_MAX_INIT_DEPTH, which librdmacm
 * replaces by the device maximum), 7 transport retries and 7 RNR retries (7 = forever).
 */
/*
 * Transport ACK timeout of every connection: 4.096 us * 2^16 = 268 ms per try, so with 7
 * retries a dead peer fails the work with retry-exceeded in about 2 s, while an emulated,
 * loaded soft-RoCE host never trips it spuriously.
 */
#define RCP_VB_ACK_TIMEOUT 16

struct rcp_vb_conn_opts {
	uint8_t responder_resources;
	uint8_t initiator_depth;
	uint8_t retry_count;
	uint8_t rnr_retry_count;
};

/* ---- rdma_cm ---- */

/* rcp_vb_create_event_channel -- open an rdma_cm event channel */
int rcp_vb_create_event_channel(struct rdma_event_channel **chp);

/* rcp_vb_destroy_event_channel -- close an event channel (all its ids destroyed first) */
void rcp_vb_destroy_event_channel(struct rdma_event_channel **chp);

/* rcp_vb_event_channel_set_nonblock -- make rcp_vb_get_cm_event return -EAGAIN, not block */
int rcp_vb_event_channel_set_nonblock(struct rdma_event_channel *ch);

/* rcp_vb_create_id -- new RDMA_PS_TCP (reliable connected) id reporting to ch */
int rcp_vb_create_id(struct rdma_event_channel *ch, void *context, struct rdma_cm_id **idp);

/* rcp_vb_destroy_id -- destroy an id; its QP must be gone and its events acked */
int rcp_vb_destroy_id(struct rdma_cm_id **idp);

/* rcp_vb_resolve_addr -- start address resolution (ADDR_RESOLVED/ADDR_ERROR follows); src may
 * be NULL */
int rcp_vb_resolve_addr(struct rdma_cm_id *id, const struct sockaddr *src,
			const struct sockaddr *dst, int timeout_ms);

/* rcp_vb_resolve_route -- start route resolution (ROUTE_RESOLVED/ROUTE_ERROR follows) */
int rcp_vb_resolve_route(struct rdma_cm_id *id, int timeout_ms);

/* rcp_vb_listen -- bind id to addr and listen; CONNECT_REQUEST events follow */
int rcp_vb_listen(struct rdma_cm_id *id, const struct sockaddr *addr, int backlog);

/* rcp_vb_connect -- connect with private data (at most 56 bytes on RC); opts may be NULL */
int rcp_vb_connect(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		   size_t pdata_len);

/* rcp_vb_accept -- accept a connect request with private data; opts may be NULL */
int rcp_vb_accept(struct rdma_cm_id *id, const struct rcp_vb_conn_opts *opts, const void *pdata,
		  size_t pdata_len);

/* rcp_vb_reject -- refuse a connect request, telling the peer why in the private data */
int rcp_vb_reject(struct rdma_cm_id *id, const void *pdata, size_t pdata_len);

/* rcp_vb_disconnect -- start tearing a connection down (DISCONNECTED follows) */
int rcp_vb_disconnect(struct rdma_cm_id *id);

/* rcp_vb_get_cm_event -- next event; -EAGAIN on a non-blocking channel with none pending */
int rcp_vb_get_cm_event(struct rdma_event_channel *ch, struct rdma_cm_event **evp);

/* rcp_vb_ack_cm_event -- release an event (its private data goes with it); NULL is a no-op */
int rcp_vb_ack_cm_event(struct rdma_cm_event *ev);

/* rcp_vb_create_qp -- create id->qp on pd; attr->cap is updated with what was granted */
int rcp_vb_create_qp(struct rdma_cm_id *id, struct ibv_pd *pd, struct ibv_qp_init_attr *attr);

/* rcp_vb_destroy_qp -- destroy id->qp and clear it; NULL id or no QP is a no-op */
void rcp_vb_destroy_qp(struct rdma_cm_id *id);

/* rcp_vb_cm_event_str -- name of an rdma_cm event type, for logs */
const char *rcp_vb_cm_event_str(enum rdma_cm_event_type type);

/* ---- device and port ---- */

/* rcp_vb_query_device -- classic ibv_query_device */
int rcp_vb_query_device(struct ibv_context *ctx, struct ibv_device_attr *attr);

/* rcp_vb_query_port -- ibv_query_port for port (1-based) */
int rcp_vb_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr);

/* rcp_vb_query_caps -- query device and port and fill caps */
int rcp_vb_query_caps(struct ibv_context *ctx, uint8_t port, struct rcp_vb_caps *caps);

/* rcp_vb_port_rate_mbps -- a port's active data rate in Mb/s (lane speed x lanes), what the
 * rails are weighted by; 0 for a speed or width this code does not know */
uint32_t rcp_vb_port_rate_mbps(uint8_t active_speed, uint8_t active_width);

/* rcp_vb_caps_from_attr -- fill caps from already-queried device and port attributes */
void rcp_vb_caps_from_attr(const struct ibv_device_attr *dev, const struct ibv_port_attr *port,
			   struct rcp_vb_caps *caps);

/* ---- protection domains, memory regions, memory windows ---- */

/* rcp_vb_alloc_pd -- allocate a protection domain */
int rcp_vb_alloc_pd(struct ibv_context *ctx, struct ibv_pd **pdp);

/* rcp_vb_dealloc_pd -- free a protection domain; -EBUSY while MRs, MWs or QPs use it */
int rcp_vb_dealloc_pd(struct ibv_pd **pdp);

/* rcp_vb_reg_mr -- register [addr, addr+len) with IBV_ACCESS_* flags (add
 * IBV_ACCESS_MW_BIND to bind windows onto it) */
int rcp_vb_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, struct ibv_mr **mrp);

/* rcp_vb_dereg_mr -- deregister; fails (-EINVAL on rxe) while a window is bound to it */
int rcp_vb_dereg_mr(struct ibv_mr **mrp);

/* rcp_vb_alloc_mw -- allocate a type-2 memory window (bound later with rcp_vb_wr_bind_mw) */
int rcp_vb_alloc_mw(struct ibv_pd *pd, struct ibv_mw **mwp);

/* rcp_vb_dealloc_mw -- free a memory window (a bound window is invalidated by this) */
int rcp_vb_dealloc_mw(struct ibv_mw **mwp);

/*
 * rcp_vb_wr_bind_mw -- fill *wr (zeroed first) as a signaled IBV_WR_BIND_MW of mw onto
 * [addr, addr+length) of mr with access (IBV_ACCESS_REMOTE_READ/_WRITE), and return the rkey
 * the window will have once bound: mw->rkey with its 8-bit tag advanced (ibv_inc_rkey).
 *
 * The bind is signaled because the rkey must not be handed out before its completion says
 * the bind worked. After that success call rcp_vb_mw_commit_rkey: rxe checks that the rkey
 * userspace holds in mw->rkey matches the window's current one on the next bind, and the
 * local invalidate of this binding must name the new rkey. A type-2 window has to be
 * invalidated before it can be bound again.
 */
uint32_t rcp_vb_wr_bind_mw(struct ibv_send_wr *wr, uint64_t wr_id, struct ibv_mw *mw,
			   struct ibv_mr *mr, uint64_t addr, uint64_t length, unsigned int access);

/* rcp_vb_mw_commit_rkey -- record in mw the rkey a bind completed with */
void rcp_vb_mw_commit_rkey(struct ibv_mw *mw, uint32_t rkey);

/* rcp_vb_wr_local_inv -- fill *wr (zeroed first) as a signaled IBV_WR_LOCAL_INV of rkey */
void rcp_vb_wr_local_inv(struct ibv_send_wr *wr, uint64_t wr_id, uint32_t rkey);

/* ---- completion channels and queues ---- */

/* rcp_vb_create_comp_channel -- completion channel: an fd that wakes on CQ events */
int rcp_vb_create_comp_channel(struct ibv_context *ctx, struct ibv_comp_channel **ccp);

/* rcp_vb_destroy_comp_channel -- close it; -EBUSY while a CQ still uses it */
int rcp_vb_destroy_comp_channel(struct ibv_comp_channel **ccp);

/* rcp_vb_comp_channel_set_nonblock -- make rcp_vb_get_cq_event return -EAGAIN, not block */
int rcp_vb_comp_channel_set_nonblock(struct ibv_comp_channel *cc);

/* rcp_vb_create_cq -- classic CQ of at least cqe entries; cc may be NULL (polling only) */
int rcp_vb_create_cq(struct ibv_context *ctx, int cqe, void *cq_context,
		     struct ibv_comp_channel *cc, int comp_vector, struct ibv_cq **cqp);

/* rcp_vb_destroy_cq -- destroy; -EBUSY while a QP uses it; unacked events must be acked */
int rcp_vb_destroy_cq(struct ibv_cq **cqp);

/* rcp_vb_modify_cq_moderation -- hardware moderation: an event after count completions or
 * period_us microseconds; -EOPNOTSUPP where the device has none (rxe) */
int rcp_vb_modify_cq_moderation(struct ibv_cq *cq, uint16_t count, uint16_t period_us);

/* rcp_vb_probe_cq_moderation -- try hardware moderation: 0 if applied, -EOPNOTSUPP if the
 * caller has to moderate in software (whatever the device's reason) */
int rcp_vb_probe_cq_moderation(struct ibv_cq *cq, uint16_t count, uint16_t period_us);

/* rcp_vb_req_notify_cq -- arm cq for one event on the next (solicited) completion */
int rcp_vb_req_notify_cq(struct ibv_cq *cq, bool solicited_only);

/* rcp_vb_async_set_nonblock -- make rcp_vb_get_async_event on ctx return -EAGAIN, not block */
int rcp_vb_async_set_nonblock(struct ibv_context *ctx);

/* rcp_vb_get_async_event -- take one of ctx's asynchronous events (a port going down);
 * -EAGAIN if non-blocking and none. Ack it with rcp_vb_ack_async_event */
int rcp_vb_get_async_event(struct ibv_context *ctx, struct ibv_async_event *ev);

/* rcp_vb_ack_async_event -- ack an event taken with rcp_vb_get_async_event */
void rcp_vb_ack_async_event(struct ibv_async_event *ev);

/* rcp_vb_get_cq_event -- take one CQ event from cc; -EAGAIN if non-blocking and none */
int rcp_vb_get_cq_event(struct ibv_comp_channel *cc, struct ibv_cq **cqp, void **cq_contextp);

/* rcp_vb_ack_cq_events -- ack events taken with rcp_vb_get_cq_event (batch them: it locks) */
void rcp_vb_ack_cq_events(struct ibv_cq *cq, unsigned int nevents);

/* rcp_vb_poll_cq -- up to nwc completions into wc: the count (>= 0) or -errno */
int rcp_vb_poll_cq(struct ibv_cq *cq, int nwc, struct ibv_wc *wc);

/* ---- posting ---- */

/* rcp_vb_post_send -- post a chain; on error *bad_wr (if bad_wr) is the first WR not posted,
 * the ones before it were posted */
int rcp_vb_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad_wr);

/* rcp_vb_post_recv -- post a chain of receives; bad_wr as for rcp_vb_post_send */
int rcp_vb_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad_wr);

/* ---- completion status ---- */

/* rcp_vb_wc_status_str -- short name of a completion status, for logs */
const char *rcp_vb_wc_status_str(enum ibv_wc_status status);

/*
 * rcp_vb_wc_errno -- completion status to 0 or a negative errno:
 *   SUCCESS 0                    LOC_LEN_ERR -EMSGSIZE       LOC_QP_OP_ERR -EINVAL
 *   LOC_PROT_ERR -EFAULT         LOC_ACCESS_ERR -EFAULT      WR_FLUSH_ERR -ECANCELED
 *   MW_BIND_ERR -EPERM           BAD_RESP_ERR -EPROTO        REM_INV_REQ_ERR -EREMOTEIO
 *   REM_ACCESS_ERR -EACCES       REM_OP_ERR -EREMOTEIO       RETRY_EXC_ERR -ETIMEDOUT
 *   RNR_RETRY_EXC_ERR -ENOBUFS   REM_INV_RD_REQ_ERR -EREMOTEIO  REM_ABORT_ERR -ECONNABORTED
 *   RESP_TIMEOUT_ERR -ETIMEDOUT  anything else -EIO
 * All but SUCCESS leave the QP in the error state: none of these mean "try the same WR
 * again on this QP". RNR (the peer had no receive posted) is -ENOBUFS rather than -EAGAIN
 * for exactly that reason.
 */
int rcp_vb_wc_errno(enum ibv_wc_status status);

#endif /* RDMACPY_COMMON_VERBS_H */
