/* SPDX-License-Identifier: BSD-3-Clause */
/* ctrl.c -- the control channel of a queue pair: requests queued, sent within the protocol's
 * bound, answers matched by request id, timeouts */
#include "client/lib/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"

/* rcp_creq_new -- a request of m, checked to encode; the request id is set when it is sent */
struct rcp_creq *rcp_creq_new(struct rcp_cli_qp *q, struct rcp_msg *m, enum rcp_msg_type reply_type,
			      enum rcp_msg_type interim, int timeout_ms, rcp_creq_fn done,
			      void *owner, unsigned int part, int *err)
{
	uint8_t wire[RCP_MSG_MAX];
	struct rcp_creq *r;
	size_t len;
	int ret;

	/* a message that does not encode is the caller's mistake: say so now, not when sent */
	m->hdr.req_id = 1;
	ret = rcp_msg_encode_version(m, q->version, wire, sizeof(wire), &len);
	if (ret) {
		*err = ret;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->msg = *m;
	r->q = q;
	r->done = done;
	r->owner = owner;
	r->part = part;
	r->reply_type = reply_type;
	r->interim_type = interim;
	r->timeout_ms = timeout_ms;
	return r;
}

/* rcp_ctrl_submit -- to the back of the queue */
void rcp_ctrl_submit(struct rcp_creq *r)
{
	struct rcp_ctrl *ch = &r->q->ctrl;

	r->next = NULL;
	if (ch->tail)
		ch->tail->next = r;
	else
		ch->head = r;
	ch->tail = r;
}

/* rcp_ctrl_submit_early -- queue r first: a resume's own request */
void rcp_ctrl_submit_early(struct rcp_creq *r)
{
	struct rcp_ctrl *ch = &r->q->ctrl;

	r->early = true;
	r->next = ch->head;
	ch->head = r;
	if (!ch->tail)
		ch->tail = r;
}

/* free_slot -- an in-flight slot, or -1 */
static int free_slot(const struct rcp_ctrl *ch)
{
	int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++)
		if (!ch->inflight[i])
			return i;
	return -1;
}

/* send_one -- the oldest queued request out; 1 sent, 0 no room now, -errno the QP failed */
static int send_one(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_ctrl *ch = &q->ctrl;
	struct rcp_creq *r = ch->head;
	int slot = free_slot(ch);
	size_t len;
	int buf;
	int ret;

	if (!r || slot < 0 || !rcp_qp_sq_free(q))
		return 0;
	/* while authenticating only AUTH (the QP's own request) may go; while resuming only
	 * the resume's own (the rest may name grants whose ids are not known yet) */
	if (q->state != RCP_QP_READY && r->owner != q)
		return 0;
	if (c->resuming && !r->early && r->owner != q)
		return 0;
	buf = rcp_qp_take_send_buf(q);
	if (buf < 0)
		return 0;
	/* request ids are per session, never 0 (messages the daemon starts carry 0) */
	if (++ch->next_req_id == 0)
		ch->next_req_id = 1;
	r->req_id = ch->next_req_id;
	r->msg.hdr.req_id = r->req_id;
	ch->head = r->next;
	if (!ch->head)
		ch->tail = NULL;
	r->next = NULL;
	ret = rcp_msg_encode_version(&r->msg, q->version, rcp_qp_send_buf(q, (unsigned int)buf),
				     RCP_MSG_MAX, &len);
	if (ret) {
		/* the version connecting settled on cannot say it: this request fails alone */
		q->send_free |= 1u << buf;
		rcp_conn_set_error(c, "%s is not in protocol version %u",
				   rcp_msg_type_name(r->msg.hdr.type), q->version);
		if (r->done)
			r->done(r, NULL, -EOPNOTSUPP);
		free(r);
		return 1;
	}
	ret = rcp_qp_post_ctrl(q, (unsigned int)buf, len);
	if (ret) {
		r->next = ch->head;
		ch->head = r;
		if (!ch->tail)
			ch->tail = r;
		q->send_free |= 1u << buf;
		rcp_conn_fail(c, ret, "posting a control message failed");
		return ret;
	}
	r->deadline_ns = rcp_now_ns() + (uint64_t)r->timeout_ms * 1000000ull;
	ch->inflight[slot] = r;
	ch->ninflight++;
	c->ctr.requests++;
	return 1;
}

/* rcp_ctrl_pump -- send while the QP is ready and there is room */
int rcp_ctrl_pump(struct rcp_cli_qp *q)
{
	int ret;

	/* AUTH goes out while authenticating; everything else waits until the QP is ready */
	if (q->broken || !q->established ||
	    (q->state != RCP_QP_READY && q->state != RCP_QP_AUTHENTICATING))
		return 0;
	do
		ret = send_one(q);
	while (ret > 0);
	return ret < 0 ? ret : 0;
}

/* finish -- a request ends: out of flight, its owner told, freed */
static void finish(struct rcp_cli_qp *q, unsigned int slot, const struct rcp_msg *m, int err)
{
	struct rcp_creq *r = q->ctrl.inflight[slot];

	q->ctrl.inflight[slot] = NULL;
	q->ctrl.ninflight--;
	if (r->done)
		r->done(r, m, err);
	free(r);
}

/* rcp_ctrl_recv -- decode, then the connect step's message or an answer by request id */
void rcp_ctrl_recv(struct rcp_cli_qp *q, const void *buf, size_t len)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_ctrl *ch = &q->ctrl;
	struct rcp_msg m;
	struct rcp_creq *r;
	int ret;
	int i;

	ret = rcp_msg_decode(buf, len, &m);
	if (ret) {
		rcp_warn(&c->log, "qp %u: undecodable control message (%d)", q->idx, ret);
		return;
	}
	if (m.hdr.type == RCP_MSG_CHALLENGE || (m.hdr.req_id == 0 && q->state != RCP_QP_READY)) {
		rcp_connect_ctrl_msg(q, &m);
		return;
	}
	if (m.hdr.req_id == 0 && m.hdr.type == RCP_MSG_ERROR) {
		/* the daemon ends the session: its reason, then the disconnect */
		rcp_conn_set_error(c, "%s", m.u.error.text);
		return;
	}
	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		r = ch->inflight[i];
		if (!r || r->req_id != m.hdr.req_id)
			continue;
		if (m.hdr.type == RCP_MSG_ERROR) {
			snprintf(c->last_error, sizeof(c->last_error), "%s", m.u.error.text);
			rcp_dbg(&c->log, "daemon error %s: %s", rcp_err_name(m.u.error.code),
				m.u.error.text);
			finish(q, (unsigned int)i, &m, rcp_err_errno(m.u.error.code));
			return;
		}
		if (r->interim_type && m.hdr.type == r->interim_type) {
			/* progress: the request is alive, its time starts over */
			r->deadline_ns = rcp_now_ns() + (uint64_t)r->timeout_ms * 1000000ull;
			if (r->done && r->done(r, &m, 0)) {
				ch->inflight[i] = NULL;
				ch->ninflight--;
				free(r);
			}
			return;
		}
		if (m.hdr.type != r->reply_type) {
			rcp_conn_set_error(c, "expected %s, got %s",
					   rcp_msg_type_name(r->reply_type),
					   rcp_msg_type_name(m.hdr.type));
			finish(q, (unsigned int)i, NULL, -EPROTO);
			return;
		}
		finish(q, (unsigned int)i, &m, 0);
		return;
	}
	rcp_dbg(&c->log, "qp %u: dropping unexpected %s (request %u)", q->idx,
		rcp_msg_type_name(m.hdr.type), m.hdr.req_id);
}

/* rcp_ctrl_expire -- a request without an answer in its time: the daemon is gone or stuck,
 * and its late answer could not be told from another's, so the QP is not used again */
bool rcp_ctrl_expire(struct rcp_cli_qp *q, uint64_t now_ns)
{
	struct rcp_ctrl *ch = &q->ctrl;
	bool any = false;
	int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		struct rcp_creq *r = ch->inflight[i];

		if (!r || now_ns < r->deadline_ns)
			continue;
		rcp_conn_set_error(q->conn, "no answer to a request in %d ms", r->timeout_ms);
		finish(q, (unsigned int)i, NULL, -ETIMEDOUT);
		any = true;
	}
	/* with rails, a path that stopped answering is that rail failing, as a failed receive is;
	 * the last one breaks the connection, its transfers saying no rail is left */
	if (any && !rcp_rail_fail(q, -ETIMEDOUT, "no reply from the daemon"))
		rcp_conn_fail(q->conn, -ETIMEDOUT, "no reply from the daemon");
	return any;
}

/* rcp_ctrl_deadline -- the earliest deadline in flight */
uint64_t rcp_ctrl_deadline(const struct rcp_cli_qp *q)
{
	uint64_t d = UINT64_MAX;
	int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++)
		if (q->ctrl.inflight[i] && q->ctrl.inflight[i]->deadline_ns < d)
			d = q->ctrl.inflight[i]->deadline_ns;
	return d;
}

/* rcp_ctrl_fail_all -- queued and in-flight requests end with err */
void rcp_ctrl_fail_all(struct rcp_cli_qp *q, int err)
{
	struct rcp_ctrl *ch = &q->ctrl;
	struct rcp_creq *r;
	int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++)
		if (ch->inflight[i])
			finish(q, (unsigned int)i, NULL, err);
	while ((r = ch->head)) {
		ch->head = r->next;
		if (!ch->head)
			ch->tail = NULL;
		if (r->done)
			r->done(r, NULL, err);
		free(r);
	}
}

/* run_twice_ok -- whether a request may be sent again after a break that may have run it */
static bool run_twice_ok(enum rcp_msg_type t)
{
	return t != RCP_MSG_CREATE && t != RCP_MSG_DESTROY && t != RCP_MSG_COPY;
}

/* rcp_ctrl_requeue -- requests in flight back to the front of the queue, oldest first */
void rcp_ctrl_requeue(struct rcp_cli_qp *q, int err)
{
	struct rcp_ctrl *ch = &q->ctrl;

	while (ch->ninflight) {
		struct rcp_creq *r = NULL;
		int newest = -1;
		int i;

		/* the newest goes to the front first, so the oldest ends up first */
		for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
			struct rcp_creq *x = ch->inflight[i];

			if (x && (!r || (int32_t)(x->req_id - r->req_id) > 0)) {
				r = x;
				newest = i;
			}
		}
		if (r->msg.hdr.type == RCP_MSG_CLOSE) {
			/* the grant ended with the session that broke */
			finish(q, (unsigned int)newest, NULL, 0);
			continue;
		}
		if (!run_twice_ok(r->msg.hdr.type) || r->early || r->owner == q || !r->done) {
			finish(q, (unsigned int)newest, NULL, err);
			continue;
		}
		ch->inflight[newest] = NULL;
		ch->ninflight--;
		r->next = ch->head;
		ch->head = r;
		if (!ch->tail)
			ch->tail = r;
	}
}

/* rcp_ctrl_cancel_owner -- queued requests of owner go; in-flight ones lose their owner, so
 * their answers are dropped */
void rcp_ctrl_cancel_owner(struct rcp_cli_qp *q, const void *owner)
{
	struct rcp_ctrl *ch = &q->ctrl;
	struct rcp_creq **pp;
	struct rcp_creq *r;
	int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		if (ch->inflight[i] && ch->inflight[i]->owner == owner) {
			ch->inflight[i]->owner = NULL;
			ch->inflight[i]->done = NULL;
		}
	}
	for (pp = &ch->head; (r = *pp);) {
		if (r->owner != owner) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		free(r);
	}
	ch->tail = NULL;
	for (r = ch->head; r; r = r->next)
		ch->tail = r;
}
