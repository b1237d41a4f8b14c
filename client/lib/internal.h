/* SPDX-License-Identifier: BSD-3-Clause */
/* internal.h -- librdmacpy internals: connection, queue pairs, operations, registrations */
#ifndef RDMACPY_CLIENT_INTERNAL_H
#define RDMACPY_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/include/rdmacpy.h"
#include "common/auth.h"
#include "common/log.h"
#include "common/moderation.h"
#include "common/sgl.h"
#include "common/verbs.h"
#include "proto/proto.h"

/* The planner's SGE is handed to the device as an ibv_sge without copying. */
_Static_assert(sizeof(struct rcp_sgl_sge) == sizeof(struct ibv_sge), "sge size");
_Static_assert(offsetof(struct rcp_sgl_sge, addr) == offsetof(struct ibv_sge, addr), "addr");
_Static_assert(offsetof(struct rcp_sgl_sge, length) == offsetof(struct ibv_sge, length), "len");
_Static_assert(offsetof(struct rcp_sgl_sge, lkey) == offsetof(struct ibv_sge, lkey), "lkey");

#define RCP_CLI_RECV_N	      8	 /* control receives kept posted per QP */
#define RCP_CLI_BATCH	      32 /* WRs per post_send chain and WCs per poll */
#define RCP_CLI_DEF_DEPTH     128
#define RCP_CLI_DEF_COUNT     16
#define RCP_CLI_DEF_PERIOD_US 200
#define RCP_CLI_DEF_TIMEOUT   10000
/*
 * 1 MiB per WR: on soft-RoCE, where every WR costs CPU in the kernel, an 8 MiB read cut into
 * 256 KiB WRs ran at 0.94x ib_read_bw and in 1 MiB WRs at 1.01x (bench/, one boot). Eight WRs
 * per 8 MiB still keep a queue pair busy, and NICs take 1 MiB WRs at line rate.
 */
#define RCP_CLI_DEF_CHUNK     (1024u * 1024u)
#define RCP_CLI_DEF_CACHE     ((size_t)256 << 20)

/* wr_id of a receive: the top bit tells it from a send's sequence number */
#define RCP_CLI_RECV_TAG (1ull << 63)

/* ---- error mapping (error.c: the one place) ---- */

/* rcp_cli_err -- an internal -errno to an RDMACPY_E_* code */
int rcp_cli_err(int neg_errno);

/* rcp_cli_err_proto -- a daemon ERROR code to an RDMACPY_E_* code */
int rcp_cli_err_proto(enum rcp_err code);

/* rcp_cli_err_wc -- a failed completion's status to an RDMACPY_E_* code */
int rcp_cli_err_wc(enum ibv_wc_status status);

/* rcp_cli_err_reject -- the reason in a daemon's rdma_cm reject to an RDMACPY_E_* code */
int rcp_cli_err_reject(enum rcp_reject_reason reason);

/* ---- registration cache (rcache.c) ---- */

struct rcp_rcache_ent {
	uint64_t addr;
	uint64_t len;
	int access;
	unsigned int refs;
	bool stale; /* forgotten while in use: deregistered when the last user lets go */
	struct ibv_mr *mr;
	struct rcp_rcache_ent *prev; /* LRU list, most recently used first */
	struct rcp_rcache_ent *next;
};

struct rcp_rcache {
	struct ibv_pd *pd;
	enum rdmacpy_cache_mode mode;
	size_t max_bytes;
	size_t pinned; /* bytes under all entries */
	struct rcp_rcache_ent *head;
	struct rcp_rcache_ent *tail;
	unsigned int n;
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
};

/* rcp_rcache_init -- an empty cache registering on pd */
void rcp_rcache_init(struct rcp_rcache *c, struct ibv_pd *pd, enum rdmacpy_cache_mode mode,
		     size_t max_bytes);

/* rcp_rcache_get -- a registration covering [addr, addr + len) with at least access; held
 * until rcp_rcache_put. -errno of the registration on failure */
int rcp_rcache_get(struct rcp_rcache *c, uint64_t addr, uint64_t len, int access,
		   struct rcp_rcache_ent **out);

/* rcp_rcache_put -- release a registration taken with rcp_rcache_get; clears *e */
void rcp_rcache_put(struct rcp_rcache *c, struct rcp_rcache_ent **e);

/* rcp_rcache_forget -- drop entries overlapping [addr, addr + len) (in-use ones on release) */
void rcp_rcache_forget(struct rcp_rcache *c, uint64_t addr, uint64_t len);

/* rcp_rcache_fini -- deregister everything idle; returns how many entries are still held */
unsigned int rcp_rcache_fini(struct rcp_rcache *c);

/* ---- connection ---- */

/* What occupies one send queue slot. */
struct rcp_cli_slot {
	struct rdmacpy_op *op; /* NULL for a control SEND */
	bool signaled;
};

struct rcp_cli_qp {
	struct rdmacpy_conn *conn;
	unsigned int idx;
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	struct rcp_mod_policy mod;
	/* completion handling state */
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
	uint32_t max_send_sge;
	/* control */
	uint8_t *recv_buf; /* RCP_CLI_RECV_N x RCP_MSG_MAX */
	uint8_t *send_buf; /* RCP_MSG_MAX */
	uint32_t next_req_id;
	uint32_t want_req_id; /* the request waiting for its reply, 0 none */
	bool want_challenge;
	bool have_reply;
	struct rcp_msg reply;
	uint32_t caps;
	uint16_t version; /* the protocol version this QP's session speaks */
	bool established;
	bool broken;
	int broken_err; /* RDMACPY_E_* */
	/* connecting: the attempt failed in a way a new attempt may fix (the daemon was busy,
	 * closed the connection before authentication, or speaks an older version) */
	bool retry;
	/* planning scratch for one batch */
	struct rcp_sgl_wr plan[RCP_CLI_BATCH];
	struct ibv_send_wr wr[RCP_CLI_BATCH];
};

struct rdmacpy_conn {
	struct rcp_log log;
	struct rdmacpy_conn_opts opts;
	struct rcp_auth_key key;
	bool have_key;
	struct rdma_event_channel *ch;
	struct ibv_comp_channel *cc;
	struct ibv_pd *pd;
	struct ibv_mr *ctrl_mr;
	uint8_t *ctrl_mem;
	size_t ctrl_len;
	struct rcp_vb_caps caps;
	bool hw_mod;
	unsigned int nqp;
	struct rcp_cli_qp *qp;	     /* nqp entries */
	unsigned int notify_pending; /* QPs with notify_pending: 0 means no event can come */
	bool broken;
	int broken_err;
	bool closing; /* rdmacpy_close runs: the "failure" it causes is no news */
	struct rcp_rcache cache;
	/* the registration of an express transfer that timed out and never came back: the
	 * device may still use it, so it is released only at close (as a detached op's are) */
	struct rcp_rcache_ent *express_held;
	/* operations: active (posting or in flight), then done (callback pending) */
	struct rdmacpy_op *active_head;
	struct rdmacpy_op *active_tail;
	struct rdmacpy_op *done_head;
	struct rdmacpy_op *done_tail;
	struct rdmacpy_op *held_head; /* finished, handle not yet freed */
	struct rdmacpy_op *held_tail;
	struct rdmacpy_grant *grants;
	struct rdmacpy_mem *mems;
	struct rdmacpy_counters ctr;
	/* since when the application has been outside the library (UINT64_MAX: inside); a
	 * moderation deadline that passes meanwhile is a timer wake-up */
	uint64_t outside_since_ns;
	char last_error[RCP_ERR_TEXT_MAX];
};

/* One grant: opened on every QP's session, since a memory window only works on its QP. */
struct rdmacpy_grant_qp {
	uint32_t id;
	uint32_t rkey;
	uint64_t addr;
};

struct rdmacpy_grant {
	struct rdmacpy_conn *conn;
	uint64_t length;
	enum rcp_rights rights;
	bool mw;
	struct rdmacpy_grant *next;
	struct rdmacpy_grant_qp q[]; /* conn->nqp entries */
};

struct rdmacpy_mem {
	struct rdmacpy_conn *conn;
	struct ibv_mr *mr;
	uint64_t addr;
	uint64_t len;
	struct rdmacpy_mem *next;
};

/* The life of an operation. */
enum rcp_op_state {
	RCP_OP_NEW,	 /* being built, on no list */
	RCP_OP_ACTIVE,	 /* WRs left to post, or posted WRs not yet retired */
	RCP_OP_DONE,	 /* finished, callback not yet run */
	RCP_OP_FINISHED, /* callback run (or none): status final; on the held list */
};

struct rdmacpy_op {
	struct rdmacpy_conn *conn;
	enum rcp_op_state state;
	int status; /* RDMACPY_E_INPROGRESS until finished */
	enum rcp_sgl_op dir;
	uint64_t bytes;
	uint64_t posted;  /* WRs posted */
	uint64_t retired; /* of which retired by a completion */
	bool failed;
	bool awaited;  /* a synchronous call waits for it at once: its last WR is signaled */
	bool detached; /* nobody holds a handle: free once finished */
	bool in_cb;    /* the callback is running */
	bool free_req; /* rdmacpy_op_free during the callback */
	rdmacpy_done_fn cb;
	void *ctx;
	struct rdmacpy_op *next; /* active or done list */
	struct rdmacpy_op *prev;
	struct rcp_sgl_local *local;
	size_t nlocal;
	struct rcp_sgl_remote *remote;
	size_t nremote;
	struct rcp_rcache_ent **regs;
	size_t nregs;
	struct rcp_sgl_cursor *cur; /* conn->nqp stripes */
	int64_t *delta;		    /* per QP: remote address offset from QP 0's grant */
	uint32_t *rkey;		    /* per QP rkey */
};

/* rcp_now_ns -- monotonic clock in nanoseconds */
uint64_t rcp_now_ns(void);

/* rcp_conn_fail -- the connection is broken: record why (RDMACPY_E_*), fail queued work and
 * move the QPs to the error state so everything in flight comes back flushed */
void rcp_conn_fail(struct rdmacpy_conn *c, int err, const char *why);

/* rcp_conn_set_error -- remember a text for rdmacpy_conn_last_error */
void rcp_conn_set_error(struct rdmacpy_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* rcp_ctrl_call -- send a control request on qp and wait for its reply; the reply is in
 * *reply. ERROR replies give the mapped RDMACPY_E_* (text in last_error). Returns 0 or an
 * RDMACPY_E_* code. */
int rcp_ctrl_call(struct rcp_cli_qp *q, struct rcp_msg *req, enum rcp_msg_type reply_type,
		  struct rcp_msg *reply);

/* rcp_ctrl_call_tmo -- rcp_ctrl_call waiting up to timeout_ms for the reply */
int rcp_ctrl_call_tmo(struct rcp_cli_qp *q, struct rcp_msg *req, enum rcp_msg_type reply_type,
		      struct rcp_msg *reply, int timeout_ms);

/* rcp_ctrl_start -- send a control request on qp without waiting: rcp_ctrl_next collects its
 * answers. Returns 0 or an RDMACPY_E_* code. */
int rcp_ctrl_start(struct rcp_cli_qp *q, struct rcp_msg *req);

/* rcp_ctrl_next -- wait up to timeout_ms for the next answer to the request rcp_ctrl_start
 * sent: a message of type interim (progress) keeps the request open, reply_type or ERROR
 * ends it (mapped as rcp_ctrl_call does) */
int rcp_ctrl_next(struct rcp_cli_qp *q, enum rcp_msg_type reply_type, enum rcp_msg_type interim,
		  struct rcp_msg *reply, int timeout_ms);

/* rcp_ctrl_range_timeout -- the reply timeout of a request the daemon spends time on per byte
 * (CHECKSUM, FLUSH): the connection's timeout plus a second per 8 MiB */
int rcp_ctrl_range_timeout(const struct rdmacpy_conn *c, uint64_t length);

/* rcp_xfer_wait -- run the completion engine until done(arg) or the timeout (ms, >= 0);
 * 0, RDMACPY_E_TIMEOUT, or another RDMACPY_E_* if the engine failed */
int rcp_xfer_wait(struct rdmacpy_conn *c, bool (*done)(void *arg), void *arg, int timeout_ms);

/* rcp_xfer_service -- poll what is due without sleeping, post queued work, run callbacks */
int rcp_xfer_service(struct rdmacpy_conn *c);

/* rcp_conn_cm_events -- take every pending rdma_cm event without waiting */
void rcp_conn_cm_events(struct rdmacpy_conn *c);

/* rcp_ctrl_handle_recv -- a control message arrived on q (engine callback into conn.c) */
void rcp_ctrl_handle_recv(struct rcp_cli_qp *q, const struct ibv_wc *wc);

/* rcp_xfer_abort_all -- finish every operation with err (at close); runs callbacks */
void rcp_xfer_abort_all(struct rdmacpy_conn *c, int err);

/* rcp_xfer_poll_pass -- one ibv_poll_cq of at most max entries on q, each completion
 * dispatched; the count or RDMACPY_E_* */
int rcp_xfer_poll_pass(struct rcp_cli_qp *q, int max);

/* rcp_xfer_enter -- the application calls in at now: count the timer wake-ups that passed
 * while it was outside */
void rcp_xfer_enter(struct rdmacpy_conn *c, uint64_t now);

/* rcp_xfer_leave -- the application gets control back */
void rcp_xfer_leave(struct rdmacpy_conn *c);

/* rcp_mem_lkey -- the lkey for [addr, addr + len): an application registration, else the
 * registration cache (*held is then the entry to rcp_rcache_put once the device is done;
 * otherwise NULL). dest: the device writes into the buffer. 0 or RDMACPY_E_* */
int rcp_mem_lkey(struct rdmacpy_conn *c, uint64_t addr, uint64_t len, bool dest, uint32_t *lkey,
		 struct rcp_rcache_ent **held);

/* Express: rcp_express returns this when the ordinary engine must take the transfer. */
#define RCP_EXPRESS_DECLINED 1

/* rcp_express -- one small synchronous transfer in POLL mode with nothing else in flight:
 * one WR posted and its completion spun for directly, without an operation. 0, an
 * RDMACPY_E_* code, or RCP_EXPRESS_DECLINED */
int rcp_express(struct rdmacpy_conn *c, const struct rdmacpy_grant *g, enum rcp_sgl_op dir,
		uint64_t remote_off, void *buf, size_t len);

/* rcp_xfer_sq_free -- free send queue slots of q */
static inline uint32_t rcp_xfer_sq_free(const struct rcp_cli_qp *q)
{
	return q->sq_depth - (uint32_t)(q->sq_head - q->sq_tail);
}

/* rcp_xfer_post_ctrl -- post a signaled SEND of len bytes from q->send_buf */
int rcp_xfer_post_ctrl(struct rcp_cli_qp *q, size_t len);

/* rcp_qp_init_moderation -- set up q's moderation policy from the connection options */
int rcp_qp_init_moderation(struct rcp_cli_qp *q);

#endif /* RDMACPY_CLIENT_INTERNAL_H */
