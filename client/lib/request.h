/* SPDX-License-Identifier: BSD-3-Clause */
/* request.h -- requests to the daemon as operations: what each kind does with its answers, and
 * the steps every kind shares (request.c); the kinds live in request.c, grant.c and copy.c */
#ifndef RDMACPY_CLIENT_REQUEST_H
#define RDMACPY_CLIENT_REQUEST_H

#include "client/lib/conn.h"

/*
 * A request operation sends one request on one queue pair (LIST, CHECKSUM, FLUSH, CREATE,
 * DESTROY, STAT, COPY) or one per queue pair (OPEN and CLOSE of a grant: a memory window works
 * only on its own QP). Each answer goes through the kind's reply function; the operation ends
 * when every request it sent is answered, and its first failure is its status. LIST sends the
 * next page from its reply function, so it ends when the last page is in.
 */
struct rcp_req_ops {
	enum rcp_msg_type reply_type;
	enum rcp_msg_type interim_type; /* 0: none */
	/* one answer (part: which request); 0 or -errno */
	int (*reply)(struct rdmacpy_op *op, unsigned int part, const struct rcp_msg *m);
	/* an interim message (COPY_PROGRESS) */
	void (*interim)(struct rdmacpy_op *op, const struct rcp_msg *m);
	/* every part answered: results out (op->err says whether it failed) */
	void (*end)(struct rdmacpy_op *op);
	/* one part per queue pair (OPEN, CLOSE of a grant): a part lost because its rail failed
	 * over (-ENETDOWN) is no failure, the rail opens its windows again when it rejoins */
	bool per_rail;
};

/* rcp_rq_check -- the connection takes requests: 0, or the RDMACPY_E_* why not; clears *op
 * (op may be NULL) */
int rcp_rq_check(const struct rdmacpy_conn *c, struct rdmacpy_op **op);

/* rcp_rq_new -- a request operation of a kind; NULL: out of memory */
struct rdmacpy_op *rcp_rq_new(struct rdmacpy_conn *c, const struct rcp_req_ops *k,
			      rdmacpy_done_fn cb, void *ctx);

/* rcp_rq_send -- queue one request of op on q as part `part`; 0 or -errno */
int rcp_rq_send(struct rdmacpy_op *op, struct rcp_cli_qp *q, struct rcp_msg *m, int timeout_ms,
		unsigned int part);

/* rcp_rq_part_done -- the answer (or failure) of one request of an operation: folded in by its
 * kind; the operation ends with its last part (an rcp_creq_fn) */
bool rcp_rq_part_done(struct rcp_creq *r, const struct rcp_msg *m, int err);

/* rcp_rq_go -- hand a built operation (its requests queued) to the engine; 0 */
int rcp_rq_go(struct rdmacpy_op *op, struct rdmacpy_op **out);

/* rcp_rq_one -- an operation of one request on QP 0 whose result goes to out; RDMACPY_E_* */
int rcp_rq_one(struct rdmacpy_conn *c, const struct rcp_req_ops *k, struct rcp_msg *m,
	       int timeout_ms, void *out, rdmacpy_done_fn cb, void *ctx, struct rdmacpy_op **opp);

/* rcp_rq_sync -- the synchronous form of an _async call that returned started (with op): its
 * failure to start, or the wait for op and its status */
int rcp_rq_sync(int started, struct rdmacpy_op *op);

/* rcp_rq_name -- a region name into a request field; -EINVAL if there is none or it does not
 * fit */
int rcp_rq_name(char *dst, const char *name);

/* rcp_rq_qp -- the queue pair a single request goes to: the first of a rail that is up (QP 0
 * while nothing is) */
struct rcp_cli_qp *rcp_rq_qp(struct rdmacpy_conn *c);

/* ---- grant.c ---- */

/* rcp_grant_open_msg -- the OPEN that opens g (again) on one queue pair */
void rcp_grant_open_msg(const struct rdmacpy_grant *g, struct rcp_msg *m);

/* rcp_grant_close_orphan -- CLOSE grant id on q; nobody waits for the answer */
void rcp_grant_close_orphan(struct rcp_cli_qp *q, uint32_t id);

#endif /* RDMACPY_CLIENT_REQUEST_H */
