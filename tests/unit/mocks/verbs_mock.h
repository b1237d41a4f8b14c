/* SPDX-License-Identifier: BSD-3-Clause */
/* verbs_mock.h -- control of the link-time verbs mock used by host unit tests */
#ifndef RDMACPY_TESTS_VERBS_MOCK_H
#define RDMACPY_TESTS_VERBS_MOCK_H

/*
 * Linking: list rdmacpy_verbs_mock in LIBS (it brings rdmacpy_common after itself). It
 * defines every function common/verbs.c defines, so the real verbs.o is never pulled in; if
 * rdmacpy_common comes first on a link line the linker reports duplicate rcp_vb_* symbols.
 *
 * What the mock is:
 * - Objects (channels, ids, PDs, MRs, MWs, CQs, QPs) are real structs of the rdma-core types,
 *   allocated and tracked, so code can read id->qp, qp->send_cq, mr->lkey, ch->fd and so on.
 *   They hang off one fake ibv_context (rcp_mock_context()); id->verbs is set by
 *   resolve_addr, listen and connect requests.
 * - Event channels and completion channels own a real eventfd that is readable exactly while
 *   an event is waiting, so libevent/epoll loops can drive the code under test.
 * - The device answers like rxe by default (rcp_mock_device_attr/rcp_mock_port_attr show and
 *   change it): type-2 memory windows, no CQ moderation (-EOPNOTSUPP), max_sge 32.
 * - Nothing blocks: rcp_vb_get_cm_event and rcp_vb_get_cq_event return -EAGAIN when empty.
 * - Arguments the real layer refuses itself (NULL pointers and the like) give -EINVAL before
 *   any failure rule is consulted; such calls are counted but do not use up a rule.
 * - Destroying an object something still uses fails as on a device (-EBUSY, -EINVAL for an
 *   MR with a bound window); rcp_vb_destroy_cq also refuses with unacked events, and
 *   rcp_vb_destroy_id with unacked events or a QP left, where the real calls would hang or
 *   leak. Use rcp_mock_live_total() == 0 at the end of a test to catch leaks.
 * - All state is global and guarded by one mutex; Criterion runs each test in its own
 *   process, so tests start from defaults. rcp_mock_reset() returns to them explicitly.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/verbs.h"

/* One entry per rcp_vb_* function with device behaviour; indexes the control API. */
enum rcp_mock_fn {
	RCP_MOCK_CREATE_EVENT_CHANNEL,
	RCP_MOCK_DESTROY_EVENT_CHANNEL, /* void: counted, cannot be made to fail */
	RCP_MOCK_CREATE_ID,
	RCP_MOCK_DESTROY_ID,
	RCP_MOCK_RESOLVE_ADDR,
	RCP_MOCK_RESOLVE_ROUTE,
	RCP_MOCK_LISTEN,
	RCP_MOCK_CONNECT,
	RCP_MOCK_ACCEPT,
	RCP_MOCK_REJECT,
	RCP_MOCK_DISCONNECT,
	RCP_MOCK_GET_CM_EVENT,
	RCP_MOCK_ACK_CM_EVENT,
	RCP_MOCK_CREATE_QP,
	RCP_MOCK_DESTROY_QP, /* void: counted, cannot be made to fail */
	RCP_MOCK_QUERY_DEVICE,
	RCP_MOCK_QUERY_PORT,
	RCP_MOCK_ALLOC_PD,
	RCP_MOCK_DEALLOC_PD,
	RCP_MOCK_REG_MR,
	RCP_MOCK_DEREG_MR,
	RCP_MOCK_ALLOC_MW,
	RCP_MOCK_DEALLOC_MW,
	RCP_MOCK_CREATE_COMP_CHANNEL,
	RCP_MOCK_DESTROY_COMP_CHANNEL,
	RCP_MOCK_CREATE_CQ,
	RCP_MOCK_DESTROY_CQ,
	RCP_MOCK_MODIFY_CQ_MODERATION,
	RCP_MOCK_REQ_NOTIFY_CQ,
	RCP_MOCK_GET_CQ_EVENT,
	RCP_MOCK_ACK_CQ_EVENTS, /* void: counted, cannot be made to fail */
	RCP_MOCK_POLL_CQ,
	RCP_MOCK_POST_SEND,
	RCP_MOCK_POST_RECV,
	RCP_MOCK_FN_COUNT
};

/* Kinds of live objects, for leak checks. */
enum rcp_mock_obj {
	RCP_MOCK_OBJ_EVENT_CHANNEL,
	RCP_MOCK_OBJ_CM_ID,
	RCP_MOCK_OBJ_QP,
	RCP_MOCK_OBJ_PD,
	RCP_MOCK_OBJ_MR,
	RCP_MOCK_OBJ_MW,
	RCP_MOCK_OBJ_COMP_CHANNEL,
	RCP_MOCK_OBJ_CQ,
	RCP_MOCK_OBJ_CM_EVENT, /* taken with rcp_vb_get_cm_event, not yet acked */
	RCP_MOCK_OBJ_CQ_EVENT, /* taken with rcp_vb_get_cq_event, not yet acked */
	RCP_MOCK_OBJ_COUNT
};

/* A work request as it was posted (send or receive), copied at post time. */
struct rcp_mock_wr {
	struct ibv_qp *qp;
	unsigned int call; /* which post call carried it, counting from 0 per direction */
	uint64_t wr_id;
	enum ibv_wr_opcode opcode; /* sends only */
	unsigned int send_flags;   /* sends only */
	int num_sge;
	struct ibv_sge *sg_list;	   /* num_sge entries, owned by the mock */
	uint64_t remote_addr;		   /* RDMA and atomic opcodes */
	uint32_t rkey;			   /* RDMA and atomic opcodes */
	uint32_t imm_data;		   /* *_WITH_IMM, as posted (network order) */
	uint32_t invalidate_rkey;	   /* LOCAL_INV, SEND_WITH_INV */
	struct ibv_mw *bind_mw;		   /* BIND_MW: the window */
	uint32_t bind_rkey;		   /* BIND_MW: the new rkey */
	struct ibv_mw_bind_info bind_info; /* BIND_MW: mr, addr, length, access */
	void *payload;			   /* SEND*: bytes of the SGEs, if captured */
	size_t payload_len;		   /* SEND*: bytes in payload */
};

/* The last connect, accept or reject as the mock saw it. */
struct rcp_mock_cm_call {
	struct rdma_cm_id *id;
	uint8_t pdata[256];
	size_t pdata_len;
	bool has_opts;
	struct rcp_vb_conn_opts opts;
};

/* rcp_mock_reset -- free everything, forget all rules and captures, rxe-like defaults */
void rcp_mock_reset(void);

/* ---- failure injection ---- */

/* rcp_mock_fail -- every call to fn from now on returns err (-ENOMEM or ENOMEM alike) */
void rcp_mock_fail(enum rcp_mock_fn fn, int err);

/* rcp_mock_fail_after -- let `successes` calls through, then fail `times` calls (0: all) */
void rcp_mock_fail_after(enum rcp_mock_fn fn, unsigned int successes, int err, unsigned int times);

/* rcp_mock_fail_clear -- remove the rule for fn */
void rcp_mock_fail_clear(enum rcp_mock_fn fn);

/* rcp_mock_post_send_fail_at -- the next post_send posts WRs [0, index) of its chain, then
 * fails with err and *bad_wr on WR number index (one shot; a shorter chain just succeeds) */
void rcp_mock_post_send_fail_at(unsigned int index, int err);

/* rcp_mock_calls -- how many times fn was called (failed calls included) */
unsigned int rcp_mock_calls(enum rcp_mock_fn fn);

/* ---- device ---- */

/* rcp_mock_context -- the fake device context every mock object hangs off */
struct ibv_context *rcp_mock_context(void);

/* rcp_mock_device_attr -- what rcp_vb_query_device reports; change fields in place */
struct ibv_device_attr *rcp_mock_device_attr(void);

/* rcp_mock_port_attr -- what rcp_vb_query_port reports; change fields in place */
struct ibv_port_attr *rcp_mock_port_attr(void);

/* rcp_mock_set_cq_moderation -- whether modify_cq_moderation succeeds (default: no, as rxe) */
void rcp_mock_set_cq_moderation(bool supported);

/* rcp_mock_cq_moderation -- last moderation applied to cq; false if none */
bool rcp_mock_cq_moderation(const struct ibv_cq *cq, uint16_t *count, uint16_t *period_us);

/* rcp_mock_mr_access -- the access flags mr was registered with; -1 if not a mock MR */
int rcp_mock_mr_access(const struct ibv_mr *mr);

/* rcp_mock_mw_bound -- whether mw is bound (auto-complete mode tracks binds); its rkey */
bool rcp_mock_mw_bound(const struct ibv_mw *mw, uint32_t *rkey);

/* ---- captured work requests ---- */

/* rcp_mock_sent_count -- send WRs captured since the last clear */
size_t rcp_mock_sent_count(void);

/* rcp_mock_sent -- captured send WR i (NULL past the end); valid until clear or reset */
const struct rcp_mock_wr *rcp_mock_sent(size_t i);

/* rcp_mock_recv_count -- receive WRs captured since the last clear */
size_t rcp_mock_recv_count(void);

/* rcp_mock_recv -- captured receive WR i (NULL past the end); valid until clear or reset */
const struct rcp_mock_wr *rcp_mock_recv(size_t i);

/* rcp_mock_clear_wrs -- forget captured WRs (outstanding receives stay posted) */
void rcp_mock_clear_wrs(void);

/* rcp_mock_capture_payload -- copy the bytes SEND WRs point at (off by default, since tests
 * of planners post made-up addresses) */
void rcp_mock_capture_payload(bool on);

/* ---- completions ---- */

/* rcp_mock_push_wc -- queue a completion for cq (NULL: whichever CQ polls first); raises a
 * channel event if cq is armed */
void rcp_mock_push_wc(struct ibv_cq *cq, const struct ibv_wc *wc);

/* rcp_mock_push_wc_ok -- queue a successful completion */
void rcp_mock_push_wc_ok(struct ibv_cq *cq, uint64_t wr_id, enum ibv_wc_opcode opcode,
			 uint32_t byte_len);

/* rcp_mock_push_wc_err -- queue a failed completion (opcode is undefined on errors) */
void rcp_mock_push_wc_err(struct ibv_cq *cq, uint64_t wr_id, enum ibv_wc_status status);

/* rcp_mock_push_async -- queue an asynchronous event of the device (port: its element) */
void rcp_mock_push_async(enum ibv_event_type type, uint8_t port);

/* rcp_mock_wc_pending -- completions queued for cq (NULL: all) and not yet polled */
size_t rcp_mock_wc_pending(const struct ibv_cq *cq);

/*
 * rcp_mock_auto_complete -- when on, post_send completes WRs at once, as a healthy device
 * would: signaled WRs produce a success on the QP's send CQ; binds and local invalidates of
 * mock windows are checked as rxe does (window free, mw->rkey current, MR registered with
 * MW_BIND, range inside the MR) and a failure completes with MW_BIND_ERR / LOC_QP_OP_ERR;
 * after a failure the QP is in error and everything later, and every posted receive,
 * completes with WR_FLUSH_ERR (signaled or not). rcp_vb_disconnect also flushes.
 */
void rcp_mock_auto_complete(bool on);

/* rcp_mock_mw_bounds -- in auto-complete mode, RDMA READs and WRITEs whose rkey is a bound
 * mock window's are checked against the window's rights and bounds (enforced, the default),
 * or against the bounds of the MR under the window (not enforced: what rxe in Linux 6.1 was
 * measured doing); a violation completes with REM_ACCESS_ERR */
void rcp_mock_mw_bounds(bool enforced);

/* rcp_mock_deliver_recv -- play the peer: copy msg into the oldest receive posted on qp and
 * complete it (IBV_WC_RECV) on its receive CQ. -ENOENT with no receive posted, -EMSGSIZE
 * (and a LOC_LEN_ERR completion) if msg does not fit */
int rcp_mock_deliver_recv(struct ibv_qp *qp, const void *msg, size_t len);

/* rcp_mock_recv_outstanding -- receives posted on qp and not yet consumed */
size_t rcp_mock_recv_outstanding(const struct ibv_qp *qp);

/* rcp_mock_qp_set_error -- move qp to the error state (flushes posted receives) */
void rcp_mock_qp_set_error(struct ibv_qp *qp);

/* rcp_mock_notify_calls -- how often cq was armed, and whether it is armed now */
unsigned int rcp_mock_notify_calls(const struct ibv_cq *cq, bool *armed);

/* ---- rdma_cm ---- */

/* rcp_mock_cm_event -- queue an event on ch for id (private data copied; pdata may be NULL) */
int rcp_mock_cm_event(struct rdma_event_channel *ch, enum rdma_cm_event_type type,
		      struct rdma_cm_id *id, int status, const void *pdata, size_t pdata_len);

/* rcp_mock_connect_request -- a client knocks: create a child id on listen_id's channel and
 * queue CONNECT_REQUEST (id = child, listen_id = listener) with pdata; NULL on bad input */
struct rdma_cm_id *rcp_mock_connect_request(struct rdma_cm_id *listen_id, const void *pdata,
					    size_t pdata_len);

/* rcp_mock_cm_pending -- events queued on ch (NULL: all channels) and not yet taken */
size_t rcp_mock_cm_pending(const struct rdma_event_channel *ch);

/* rcp_mock_cm_auto -- when on, the calls queue the events a healthy peer would cause:
 * resolve_addr ADDR_RESOLVED, resolve_route ROUTE_RESOLVED, connect and accept ESTABLISHED,
 * disconnect DISCONNECTED */
void rcp_mock_cm_auto(bool on);

/* rcp_mock_last_cm_call -- the last RCP_MOCK_CONNECT/ACCEPT/REJECT; false if none yet */
bool rcp_mock_last_cm_call(enum rcp_mock_fn fn, struct rcp_mock_cm_call *out);

/* rcp_mock_connect_pdata -- the private data (up to cap bytes into out, *len) of the last
 * connect of the id whose QP is qp; false if there is none */
bool rcp_mock_connect_pdata(const struct ibv_qp *qp, void *out, size_t cap, size_t *len);

/* ---- bookkeeping ---- */

/* rcp_mock_live -- objects of a kind created and not destroyed */
unsigned int rcp_mock_live(enum rcp_mock_obj kind);

/* rcp_mock_live_total -- all live objects: 0 after a clean teardown */
unsigned int rcp_mock_live_total(void);

/* rcp_mock_misuse_count -- API misuse seen (foreign pointers, over-acks, channel destroyed
 * under live ids); rcp_mock_last_misuse says what the last one was */
unsigned int rcp_mock_misuse_count(void);

/* rcp_mock_last_misuse -- description of the last misuse, "" if none */
const char *rcp_mock_last_misuse(void);

#endif /* RDMACPY_TESTS_VERBS_MOCK_H */
