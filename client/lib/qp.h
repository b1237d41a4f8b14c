/* SPDX-License-Identifier: BSD-3-Clause */
/* qp.h -- one queue pair of a connection: its CQ, send ring, moderation and control buffers */
#ifndef RDMACPY_CLIENT_QP_H
#define RDMACPY_CLIENT_QP_H

#include <stdbool.h>
#include <stdint.h>

#include "client/lib/ctrl.h"
#include "common/moderation.h"
#include "common/sgl.h"
#include "common/verbs.h"

#define RCP_CLI_BATCH 32 /* WRs per post_send chain and WCs per poll */
/* control receives kept posted: every request a client may have in flight can be answered, and
 * COPY_PROGRESS messages besides, without the daemon meeting receiver-not-ready */
#define RCP_CLI_RECV_N (RCP_MAX_OUTSTANDING + 4)
#define RCP_CLI_SEND_N 4 /* control send buffers: a SEND is done with its buffer quickly */

/* wr_id of a receive: the top bit tells it from a send's sequence number */
#define RCP_CLI_RECV_TAG (1ull << 63)

struct rdmacpy_conn;
struct rdmacpy_op;
struct rcp_cli_dev;

/* What occupies one send queue slot. */
struct rcp_cli_slot {
	struct rdmacpy_op *op; /* a transfer's WR; NULL for a control SEND, flush or express WR */
	uint64_t off;	       /* a transfer's WR: where its bytes are in the transfer's stream */
	uint32_t len;
	bool signaled;
	int8_t send_buf; /* a control SEND's buffer, given back when it retires; -1 none */
};

/* Connecting a queue pair, step by step (connect.c); each step waits for one event. */
enum rcp_qp_state {
	/* nothing started yet, or taken down for another attempt */
	RCP_QP_IDLE,
	/* rdma_resolve_addr posted: ADDR_RESOLVED (or an error event) comes next */
	RCP_QP_RESOLVING_ADDR,
	/* rdma_resolve_route posted: ROUTE_RESOLVED comes next */
	RCP_QP_RESOLVING_ROUTE,
	/* QP created and rdma_connect sent: ESTABLISHED or REJECTED comes next */
	RCP_QP_CONNECTING,
	/* connected: the daemon's CHALLENGE comes next */
	RCP_QP_CHALLENGED,
	/* AUTH sent: AUTH_OK (or ERROR) comes next */
	RCP_QP_AUTHENTICATING,
	/* authenticated: requests and transfers go */
	RCP_QP_READY,
	/* refused in a way another attempt may get past: waiting out a pause to try again */
	RCP_QP_BACKOFF,
	/* gave up, or broken after being ready */
	RCP_QP_FAILED,
};

struct rcp_cli_qp {
	struct rdmacpy_conn *conn;
	unsigned int idx;
	unsigned int rail;	 /* the rail it belongs to (conn->rails) */
	struct rcp_cli_dev *dev; /* once its address resolved */
	enum rcp_qp_state state;
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	struct rcp_mod_policy mod;
	/* completion handling */
	bool armed;	     /* req_notify done, an event will come */
	bool notify_pending; /* armed since the last event read: one may be on the channel */
	bool waiting;	     /* moderation timer running until deadline_ns */
	bool arm_due; /* waiting only to arm: at deadline_ns, or once the engine would sleep */
	uint64_t deadline_ns;
	unsigned int wake_total;
	unsigned int unacked_events;
	int bare_status; /* completion of the newest op-less slot (control SEND, express WR) */
	/* send queue: slots [tail, head) are in flight, ring indexed by seq % sq_depth */
	uint32_t sq_depth;
	uint64_t sq_head;
	uint64_t sq_tail;
	struct rcp_cli_slot *ring;
	unsigned int unsig_run;
	unsigned int sig_outstanding;
	/* the newest unsignaled run: when it began, and a target for a zero-length flush WR */
	uint64_t tail_since_ns;
	uint64_t tail_raddr;
	uint32_t tail_rkey;
	enum ibv_wr_opcode tail_opcode;
	uint64_t flush_wrs; /* zero-length flush WRs posted */
	/* with rails: its last completion, or when its first signaled WR went out (the stall
	 * watch) */
	uint64_t progress_ns;
	uint32_t max_send_sge;
	/* control messages */
	uint8_t *recv_buf; /* RCP_CLI_RECV_N x RCP_MSG_MAX */
	uint8_t *send_buf; /* RCP_CLI_SEND_N x RCP_MSG_MAX */
	uint32_t ctrl_lkey;
	unsigned int send_free; /* bit i set: send buffer i is free */
	struct rcp_ctrl ctrl;
	/* connecting (connect.c) */
	uint16_t version; /* the protocol version this QP's session speaks */
	uint32_t caps;
	uint8_t nonce[RCP_NONCE_LEN];
	uint8_t server_nonce[RCP_NONCE_LEN];
	bool established;
	bool broken;
	int broken_err; /* -errno */
	bool retry;	/* the last attempt failed in a way another may get past */
	unsigned int attempts;
	unsigned int pause_ms;
	uint64_t retry_at_ns; /* RCP_QP_BACKOFF: when to try again */
	/* planning scratch for one batch */
	struct rcp_sgl_wr plan[RCP_CLI_BATCH];
	struct ibv_send_wr wr[RCP_CLI_BATCH];
};

/* rcp_qp_setup -- CQ, QP, send ring, control receives and moderation of q, once its id is
 * bound to the connection's device. 0 or -errno */
int rcp_qp_setup(struct rcp_cli_qp *q);

/* rcp_qp_teardown -- destroy q's QP, CQ (acking its events) and id; the connection-level
 * bookkeeping (pending notifies) follows. Back to RCP_QP_IDLE. */
void rcp_qp_teardown(struct rcp_cli_qp *q);

/* rcp_qp_sq_free -- free send queue slots of q */
static inline uint32_t rcp_qp_sq_free(const struct rcp_cli_qp *q)
{
	return q->sq_depth - (uint32_t)(q->sq_head - q->sq_tail);
}

/* rcp_qp_usable -- q takes new work */
static inline bool rcp_qp_usable(const struct rcp_cli_qp *q)
{
	return q->state == RCP_QP_READY && !q->broken && q->established;
}

/* rcp_qp_going_busy -- a WR (signaled or not) is about to go on q: with rails, the first
 * signaled one out starts the stall watch's clock (rails.c) */
void rcp_qp_going_busy(struct rcp_cli_qp *q, bool signaled);

/* rcp_qp_post_ctrl -- post a signaled SEND of the len bytes in send buffer buf. 0 or -errno
 * (-EBUSY with no free slot) */
int rcp_qp_post_ctrl(struct rcp_cli_qp *q, unsigned int buf, size_t len);

/* rcp_qp_take_send_buf -- a free control send buffer's index, or -1 */
int rcp_qp_take_send_buf(struct rcp_cli_qp *q);

/* rcp_qp_send_buf -- the memory of control send buffer i */
static inline uint8_t *rcp_qp_send_buf(struct rcp_cli_qp *q, unsigned int i)
{
	return q->send_buf + (size_t)i * RCP_MSG_MAX;
}

/* rcp_qp_post_flush -- a signaled zero-length WR behind q's unsignaled run, which its
 * completion retires (RC send queues complete in order). 1 posted, 0 not needed, -errno */
int rcp_qp_post_flush(struct rcp_cli_qp *q);

/* rcp_qp_post_recv -- (re)post control receive buffer i. 0 or -errno */
int rcp_qp_post_recv(struct rcp_cli_qp *q, unsigned int i);

/* rcp_qp_poll -- one ibv_poll_cq of at most max entries, each completion dispatched; the
 * count or -errno */
int rcp_qp_poll(struct rcp_cli_qp *q, int max);

/* rcp_qp_arm -- request an event for the next completion, then poll (up to max) what raced
 * with it; the count polled or -errno */
int rcp_qp_arm(struct rcp_cli_qp *q, int max);

/* rcp_qp_service -- drain q if it is due, under the moderation policy */
void rcp_qp_service(struct rcp_cli_qp *q, uint64_t now);

/* rcp_qp_reap_broken -- retire the slots of a failed q that no completion will retire */
void rcp_qp_reap_broken(struct rcp_cli_qp *q);

/* rcp_qp_reap_all -- retire every slot of q still out: q is being destroyed */
void rcp_qp_reap_all(struct rcp_cli_qp *q);

/* rcp_qp_deadline -- when q must be looked at even without an event; UINT64_MAX: never */
uint64_t rcp_qp_deadline(const struct rcp_cli_qp *q);

/* rcp_qp_spinning -- q needs polling without sleeping (busy, or POLL mode with WRs out) */
bool rcp_qp_spinning(const struct rcp_cli_qp *q);

/* rcp_qp_prepare_sleep -- the engine is about to sleep: flush q's unsignaled run and arm q
 * if arming was deferred. False if that found or made work (do not sleep) */
bool rcp_qp_prepare_sleep(struct rcp_cli_qp *q);

/* rcp_qp_events -- a completion event named q: it is due now (counts a wake-up if armed) */
void rcp_qp_event(struct rcp_cli_qp *q);

/* rcp_qp_fail -- q is broken with err (-errno): no new work, and the QP is moved to the error
 * state (rdma_disconnect) so that everything in flight comes back flushed */
void rcp_qp_fail(struct rcp_cli_qp *q, int err);

/* rcp_qp_init_moderation -- q's moderation policy from the connection options */
int rcp_qp_init_moderation(struct rcp_cli_qp *q);

/* rcp_qp_state_str -- for logs */
const char *rcp_qp_state_str(enum rcp_qp_state s);

#endif /* RDMACPY_CLIENT_QP_H */
