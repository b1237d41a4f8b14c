/* SPDX-License-Identifier: BSD-3-Clause */
/* ctrl.h -- the control channel of a queue pair: requests sent, replies matched by request id */
#ifndef RDMACPY_CLIENT_CTRL_H
#define RDMACPY_CLIENT_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/proto.h"

struct rcp_cli_qp;
struct rcp_creq;

/*
 * rcp_creq_fn -- a request's answer: msg is a reply or an interim message when err is 0; err
 * (-errno) when it failed without one: -ETIMEDOUT, the connection's error, or the daemon's
 * ERROR code as rcp_err_errno records it (msg is the ERROR then). Returns true when the
 * request is over (it is then freed), false to keep waiting (after an interim message).
 */
typedef bool (*rcp_creq_fn)(struct rcp_creq *r, const struct rcp_msg *msg, int err);

/* One request on one queue pair, from queued to answered. */
struct rcp_creq {
	struct rcp_creq *next; /* the channel's queue */
	struct rcp_cli_qp *q;
	rcp_creq_fn done;
	void *owner;	   /* whose request it is (an operation, or the connect step) */
	unsigned int part; /* which part of the owner's work (one per queue pair) */
	uint64_t tag;	   /* the owner's own mark (a rail's reopen: the grant's serial) */
	bool early;	   /* goes out while resuming: the resume's own OPENs */
	uint32_t req_id;
	enum rcp_msg_type reply_type;
	enum rcp_msg_type interim_type; /* 0: none */
	int timeout_ms;			/* from sending, restarted by each interim message */
	uint64_t deadline_ns;
	/* encoded when it is sent, in the version the QP speaks then: a request queued while
	 * connecting goes out in the version connecting settled on */
	struct rcp_msg msg;
};

/* A queue pair's requests: at most RCP_MAX_OUTSTANDING in flight, the rest queued. */
struct rcp_ctrl {
	struct rcp_creq *inflight[RCP_MAX_OUTSTANDING];
	unsigned int ninflight;
	struct rcp_creq *head; /* queued, oldest first */
	struct rcp_creq *tail;
	uint32_t next_req_id;
};

/* rcp_creq_new -- a request of m on q (req_id is filled in when it is sent), answered by done
 * with reply_type (interim: a message that keeps it open, 0 none). NULL: out of memory, or m
 * does not encode (*err says which) */
struct rcp_creq *rcp_creq_new(struct rcp_cli_qp *q, struct rcp_msg *m, enum rcp_msg_type reply_type,
			      enum rcp_msg_type interim, int timeout_ms, rcp_creq_fn done,
			      void *owner, unsigned int part, int *err);

/* rcp_ctrl_submit -- queue r; it goes out as soon as the QP is ready and has room */
void rcp_ctrl_submit(struct rcp_creq *r);

/* rcp_ctrl_pump -- send what is queued on q while there is room. 0 or -errno (the QP failed) */
int rcp_ctrl_pump(struct rcp_cli_qp *q);

/* rcp_ctrl_recv -- a control message arrived on q: the connect step's, or a request's answer */
void rcp_ctrl_recv(struct rcp_cli_qp *q, const void *buf, size_t len);

/* rcp_ctrl_expire -- fail q's requests whose time is up; true if any was */
bool rcp_ctrl_expire(struct rcp_cli_qp *q, uint64_t now_ns);

/* rcp_ctrl_deadline -- the earliest deadline of q's requests in flight; UINT64_MAX none */
uint64_t rcp_ctrl_deadline(const struct rcp_cli_qp *q);

/* rcp_ctrl_fail_all -- every request of q, queued or in flight, ends with err */
void rcp_ctrl_fail_all(struct rcp_cli_qp *q, int err);

/* rcp_ctrl_cancel_owner -- drop owner's requests without calling them (the owner is going) */
void rcp_ctrl_cancel_owner(struct rcp_cli_qp *q, const void *owner);

/* rcp_ctrl_requeue -- the session broke with err and another comes: requests in flight go back
 * to the front of the queue, in order, to be sent again, except those not safe to run twice
 * (CREATE, DESTROY, COPY), which end with err, and CLOSE, which the broken session did */
void rcp_ctrl_requeue(struct rcp_cli_qp *q, int err);

/* rcp_ctrl_submit_early -- queue r at the front, to go out while a resume holds the rest */
void rcp_ctrl_submit_early(struct rcp_creq *r);

/* rcp_ctrl_busy -- requests queued or in flight on q */
static inline bool rcp_ctrl_busy(const struct rcp_ctrl *ch)
{
	return ch->ninflight || ch->head;
}

#endif /* RDMACPY_CLIENT_CTRL_H */
