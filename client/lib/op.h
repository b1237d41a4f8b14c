/* SPDX-License-Identifier: BSD-3-Clause */
/* op.h -- operations: what an asynchronous call started, from queued to its callback */
#ifndef RDMACPY_CLIENT_OP_H
#define RDMACPY_CLIENT_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "client/include/rdmacpy.h"
#include "client/lib/error.h"
#include "common/sgl.h"

struct rcp_rcache_ent;
struct rcp_creq;

enum rcp_op_kind {
	RCP_OP_XFER,	/* RDMA READ/WRITE: WRs on the queue pairs (xfer.c) */
	RCP_OP_REQUEST, /* requests to the daemon, one per queue pair at most (request.c) */
	RCP_OP_CONNECT, /* connecting the connection (connect.c) */
};

/* A byte range of a transfer's stream [off, off + len). */
struct rcp_xfer_range {
	uint64_t off;
	uint64_t len;
};

/* The life of an operation. */
enum rcp_op_state {
	/* being built, on no list */
	RCP_OP_NEW,
	/* WRs left to post or not yet retired, or requests not yet answered */
	RCP_OP_ACTIVE,
	/* finished, callback not yet run */
	RCP_OP_DONE,
	/* callback run (or none): status final; on the held list until its handle is freed */
	RCP_OP_FINISHED,
};

/* What each kind of request does with its answers (request.c). */
struct rcp_req_ops;

/* A request operation's state: its parts (one per queue pair it went to) and its results. */
struct rcp_op_req {
	const struct rcp_req_ops *ops;
	unsigned int parts;   /* requests sent */
	unsigned int pending; /* of which not answered yet */
	void *out;	      /* where the result goes (the caller's memory) */
	/* LIST: the caller's array and counts; the next index asked for */
	size_t elem_size;
	size_t cap;
	size_t *count;
	size_t *total;
	uint32_t start;
	/* OPEN, CLOSE: the grant; OPEN: where its handle goes */
	struct rdmacpy_grant *grant;
	struct rdmacpy_grant **grant_out;
	/* COPY */
	uint64_t length;
	uint64_t *copied;
	rdmacpy_progress_fn progress;
	void *pctx;
	char peer[300]; /* host:port, for the message of a failed copy */
};

struct rdmacpy_op {
	struct rdmacpy_conn *conn;
	enum rcp_op_kind kind;
	enum rcp_op_state state;
	int err;	      /* the first failure, -errno (error.h), or 0 */
	enum rcp_err_ctx ctx; /* what err means */
	int status;	      /* RDMACPY_E_INPROGRESS until finished, then the public code */
	bool awaited;	      /* a synchronous call waits for it at once (its last WR signaled) */
	bool detached;	      /* nobody holds a handle: free once finished */
	bool in_cb;	      /* the callback is running */
	bool free_req;	      /* rdmacpy_op_free during the callback */
	bool internal;	      /* the library's own (a resume's OPENs): not counted as finished */
	bool rerun;	      /* interrupted by a break: runs again, whole, once resumed */
	rdmacpy_done_fn cb;
	void *ctx_user;
	struct rdmacpy_op *next; /* active, done or held list */
	struct rdmacpy_op *prev;
	/* RCP_OP_XFER */
	const struct rdmacpy_grant *grant;
	enum rcp_sgl_op dir;
	uint64_t bytes;
	uint64_t posted;	     /* WRs posted */
	uint64_t retired;	     /* of which retired by a completion */
	unsigned int ndev;	     /* devices planned for: conn->ndev when built */
	struct rcp_sgl_local *local; /* ndev x local_cap: device d's lkeys at d * local_cap */
	size_t nlocal;
	size_t local_cap;
	struct rcp_sgl_remote *remote;
	size_t nremote;
	struct rcp_rcache_ent **regs; /* ndev x local_cap */
	size_t nregs;
	struct rcp_sgl_cursor *plan; /* per device: the whole transfer */
	struct rcp_sgl_cursor *cur;  /* per QP (conn->qp_cap): its stripe, or a part to redo */
	int64_t *delta;		     /* per QP: remote address offset from QP 0's grant */
	uint32_t *rkey;		     /* per QP rkey */
	/* bytes of the transfer's stream to plan again: WRs a failed rail did not finish and
	 * the rest of its stripes, taken up by the queue pairs of the rails left (xfer.c) */
	struct rcp_xfer_range *redo;
	size_t nredo;
	size_t redo_cap;
	/* RCP_OP_REQUEST */
	struct rcp_op_req req;
};

/* rcp_op_new -- an operation of a kind with no arrays (requests, connect); NULL: no memory */
struct rdmacpy_op *rcp_op_new(struct rdmacpy_conn *c, enum rcp_op_kind kind, enum rcp_err_ctx ctx,
			      rdmacpy_done_fn cb, void *ctx_user);

/* rcp_op_activate -- on the active list; out (may be NULL) gets the handle, none detaches it */
void rcp_op_activate(struct rdmacpy_op *op, struct rdmacpy_op **out);

/* rcp_op_fail -- the first failure decides the status */
void rcp_op_fail(struct rdmacpy_op *op, int err);

/* rcp_op_finish -- a request or connect op is over: to the done list (callback pending) */
void rcp_op_finish(struct rdmacpy_op *op);

/* rcp_op_check_finish -- a transfer op whose WRs are all back and that has nothing left to
 * post (or failed) moves to the done list */
void rcp_op_check_finish(struct rdmacpy_op *op);

/* rcp_op_wr_retired -- one of op's WRs retired; err (-errno) when it was this WR that failed */
void rcp_op_wr_retired(struct rdmacpy_op *op, int err);

/* rcp_op_wr_lost -- one of op's WRs failed with err: while resuming the op runs again later,
 * otherwise it fails */
void rcp_op_wr_lost(struct rdmacpy_op *op, int err);

/* rcp_op_destroy -- unlink and free (a transfer's WRs must all be retired) */
void rcp_op_destroy(struct rdmacpy_op *op);

/* rcp_op_finished -- wait predicate: the op is no longer active */
bool rcp_op_finished(void *arg);

/* rcp_ops_run_callbacks -- deliver finished operations; how many */
int rcp_ops_run_callbacks(struct rdmacpy_conn *c);

/* rcp_ops_abort -- finish every active op with err (close); runs callbacks, then frees the
 * handles the application still holds (they die with the connection, as documented) */
void rcp_ops_abort(struct rdmacpy_conn *c, int err);

/* rcp_op_release_regs -- give back the registrations a transfer holds */
void rcp_op_release_regs(struct rdmacpy_op *op);

#endif /* RDMACPY_CLIENT_OP_H */
