/* SPDX-License-Identifier: BSD-3-Clause */
/* session.c -- one client connection: receives, the reply queue, authentication, teardown */
#include "server/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "server/admission.h"
#include "server/copy.h"
#include "server/grant.h"
#include "server/handlers.h"
#include "server/jobs.h"

#define SEND_F_BUSY   0x1u /* the buffer holds a message the device has not finished with */
#define SEND_F_ANSWER 0x2u /* the message answers a request: it ends that request's flight */
#define SEND_F_CLOSE  0x4u /* disconnect once it has left */

#define POLL_BATCH 16
/* How long a closing session waits for rdma_cm's DISCONNECTED: a peer that is gone never
 * answers the disconnect request, and the CM's own retries can take much longer */
#define CLOSE_GRACE_S 3

/* recv_buf -- receive buffer i */
static uint8_t *recv_buf(struct rcp_session *s, unsigned int i)
{
	return s->bufs + (size_t)i * RCP_MSG_MAX;
}

/* send_buf -- send buffer i (they follow the receive buffers) */
static uint8_t *send_buf(struct rcp_session *s, unsigned int i)
{
	return s->bufs + (size_t)(RCP_SESSION_NRECV + i) * RCP_MSG_MAX;
}

/* post_recv -- give receive buffer i back to the QP */
static int post_recv(struct rcp_session *s, unsigned int i)
{
	struct ibv_sge sge = {
		.addr = (uint64_t)(uintptr_t)recv_buf(s, i),
		.length = RCP_MSG_MAX,
		.lkey = s->buf_mr->lkey,
	};
	struct ibv_recv_wr wr;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = RCP_WR_ID(RCP_WR_RECV, i);
	wr.sg_list = &sge;
	wr.num_sge = 1;
	return rcp_vb_post_recv(s->id->qp, &wr, NULL);
}

/* post_send_slot -- SEND the len bytes already in send buffer i */
static int post_send_slot(struct rcp_session *s, unsigned int i, size_t len, unsigned int flags)
{
	struct ibv_sge sge = {
		.addr = (uint64_t)(uintptr_t)send_buf(s, i),
		.length = (uint32_t)len,
		.lkey = s->buf_mr->lkey,
	};
	struct ibv_send_wr wr;
	int ret;

	memset(&wr, 0, sizeof(wr));
	wr.wr_id = RCP_WR_ID(RCP_WR_SEND, i);
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	/* signaled: the buffer, and the request's slot in flight, are free only once it is sent */
	wr.send_flags = IBV_SEND_SIGNALED;
	ret = rcp_vb_post_send(s->id->qp, &wr, NULL);
	if (!ret)
		s->send_flags[i] = flags | SEND_F_BUSY;
	return ret;
}

/* free_slot -- an idle send buffer, or -1 */
static int free_slot(struct rcp_session *s)
{
	int i;

	for (i = 0; i < RCP_SESSION_NSEND; i++)
		if (!s->send_flags[i])
			return i;
	return -1;
}

/* track_start -- a request arrived: remember when, for its latency */
static void track_start(struct rcp_session *s, const struct rcp_msg *m)
{
	unsigned int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		if (!s->track[i].type) {
			s->track[i].req_id = m->hdr.req_id;
			s->track[i].type = m->hdr.type;
			s->track[i].t0_ns = rcp_mono_ns();
			return;
		}
	}
	/* more than the protocol allows in flight: the request is refused anyway */
}

/* track_end -- an answer leaves: the request's latency and outcome go to the metrics */
static void track_end(struct rcp_session *s, const struct rcp_msg *m)
{
	unsigned int i;

	for (i = 0; i < RCP_MAX_OUTSTANDING; i++) {
		if (s->track[i].type && s->track[i].req_id == m->hdr.req_id) {
			rcp_reqstats_observe(&s->srv->reqstats, s->track[i].type,
					     (double)(rcp_mono_ns() - s->track[i].t0_ns) / 1e9,
					     m->hdr.type != RCP_MSG_ERROR);
			s->track[i].type = 0;
			return;
		}
	}
}

/* send_msg -- encode and SEND m now, or queue it behind the replies in flight */
static int send_msg(struct rcp_session *s, const struct rcp_msg *m, unsigned int flags)
{
	struct rcp_backlog *b;
	size_t len;
	int slot;
	int ret;

	if (s->state == RCP_SESSION_CLOSED || !s->id->qp)
		return -ENOTCONN;
	if (flags & SEND_F_ANSWER)
		track_end(s, m);
	slot = free_slot(s);
	if (slot < 0) {
		b = malloc(sizeof(*b));
		if (!b)
			return -ENOMEM;
		ret = rcp_msg_encode_version(m, s->version, b->buf, sizeof(b->buf), &b->len);
		if (ret) {
			free(b);
			goto err_encode;
		}
		b->flags = flags;
		STAILQ_INSERT_TAIL(&s->backlog, b, link);
		return 0;
	}
	ret = rcp_msg_encode_version(m, s->version, send_buf(s, (unsigned int)slot), RCP_MSG_MAX,
				     &len);
	if (ret)
		goto err_encode;
	return post_send_slot(s, (unsigned int)slot, len, flags);

err_encode:
	rcp_err(&s->srv->log, "client %s: cannot encode %s: %s", s->peer,
		rcp_msg_type_name(m->hdr.type), strerror(-ret));
	return ret;
}

/* send_done -- a SEND finished: free its buffer and start the next queued reply */
static void send_done(struct rcp_session *s, unsigned int slot, int status)
{
	unsigned int flags;
	struct rcp_backlog *b;

	if (slot >= RCP_SESSION_NSEND)
		return;
	flags = s->send_flags[slot];
	s->send_flags[slot] = 0;
	if ((flags & SEND_F_ANSWER) && s->inflight > 0)
		s->inflight--;
	if (status)
		return;
	if (flags & SEND_F_CLOSE) {
		rcp_session_close(s, "error reply delivered");
		return;
	}
	b = STAILQ_FIRST(&s->backlog);
	if (!b || s->disconnecting)
		return;
	STAILQ_REMOVE_HEAD(&s->backlog, link);
	memcpy(send_buf(s, slot), b->buf, b->len);
	if (post_send_slot(s, slot, b->len, b->flags))
		rcp_session_close(s, "cannot post a queued reply");
	free(b);
}

/* rcp_session_reply -- an answer to a request; a session that cannot answer is closed */
int rcp_session_reply(struct rcp_session *s, const struct rcp_msg *m)
{
	int ret = send_msg(s, m, SEND_F_ANSWER);

	if (ret)
		rcp_session_close(s, "cannot send a reply");
	return ret;
}

/* rcp_session_send -- a message that leaves the request it belongs to in flight */
int rcp_session_send(struct rcp_session *s, const struct rcp_msg *m)
{
	int ret = send_msg(s, m, 0);

	if (ret)
		rcp_session_close(s, "cannot send a progress message");
	return ret;
}

/* send_error -- log a refusal and answer ERROR; flags say whether the session then ends */
static void send_error(struct rcp_session *s, uint32_t req_id, enum rcp_err code,
		       unsigned int flags, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void send_error(struct rcp_session *s, uint32_t req_id, enum rcp_err code,
		       unsigned int flags, const char *fmt, va_list ap)
{
	char text[RCP_ERR_TEXT_MAX];
	struct rcp_msg m;
	int ret;

	vsnprintf(text, sizeof(text), fmt, ap);
	rcp_warn(&s->srv->log, "client %s: refused, %s: %s%s", s->peer, rcp_err_name(code), text,
		 (flags & SEND_F_CLOSE) ? " (disconnecting)" : "");
	rcp_msg_init_error(&m, req_id, code, text);
	ret = send_msg(s, &m, SEND_F_ANSWER | flags);
	if (ret)
		rcp_session_close(s, "cannot send an error reply");
}

/* rcp_session_refuse -- ERROR, and the session carries on */
void rcp_session_refuse(struct rcp_session *s, uint32_t req_id, enum rcp_err code, const char *fmt,
			...)
{
	va_list ap;

	va_start(ap, fmt);
	send_error(s, req_id, code, 0, fmt, ap);
	va_end(ap);
}

/* rcp_session_fail -- ERROR, serve nothing more, disconnect once it has been delivered */
void rcp_session_fail(struct rcp_session *s, uint32_t req_id, enum rcp_err code, const char *fmt,
		      ...)
{
	va_list ap;

	if (s->state == RCP_SESSION_DRAINING || s->state == RCP_SESSION_CLOSED)
		return;
	s->state = RCP_SESSION_DRAINING;
	va_start(ap, fmt);
	send_error(s, req_id, code, SEND_F_CLOSE, fmt, ap);
	va_end(ap);
}

/* close_overdue -- DISCONNECTED did not come in time: free the session anyway */
static void close_overdue(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_session *s = arg;

	(void)fd;
	(void)what;
	rcp_info(&s->srv->log, "client %s: no answer to the disconnect in %d s: released", s->peer,
		 CLOSE_GRACE_S);
	rcp_session_delete(&s);
}

/* rcp_session_close -- start the disconnect; rdma_cm's DISCONNECTED frees the session, or the
 * close timer does */
void rcp_session_close(struct rcp_session *s, const char *why)
{
	struct timeval grace = {.tv_sec = CLOSE_GRACE_S};
	int ret;

	if (s->disconnecting || s->state == RCP_SESSION_CLOSED)
		return;
	s->disconnecting = true;
	s->state = RCP_SESSION_DRAINING;
	rcp_info(&s->srv->log, "client %s: disconnecting: %s", s->peer, why);
	ret = rcp_vb_disconnect(s->id);
	if (ret)
		rcp_dbg(&s->srv->log, "client %s: rdma_disconnect: %s", s->peer, strerror(-ret));
	s->close_timer = evtimer_new(s->srv->base, close_overdue, s);
	if (s->close_timer)
		evtimer_add(s->close_timer, &grace);
}

/* rcp_session_established -- the daemon speaks first: CHALLENGE with a fresh nonce */
void rcp_session_established(struct rcp_session *s)
{
	struct rcp_server *srv = s->srv;
	struct rcp_msg m;

	if (s->state != RCP_SESSION_CONNECTING)
		return;
	rcp_auth_nonce(s->server_nonce);
	rcp_msg_init(&m, RCP_MSG_CHALLENGE, 0);
	memcpy(m.u.challenge.nonce, s->server_nonce, RCP_NONCE_LEN);
	m.u.challenge.caps = (s->dev->use_mw ? RCP_CAP_MW : 0) |
			     (srv->cfg.no_auth ? RCP_CAP_NO_AUTH : 0) | RCP_CAP_COPY |
			     (srv->cfg.allow_create ? RCP_CAP_CREATE : 0);
	s->state = RCP_SESSION_AUTHENTICATING;
	rcp_info(&srv->log, "client %s: connected (session %llu, protocol %u, %u authenticating)",
		 s->peer, (unsigned long long)s->serial, s->version, srv->npending);
	if (send_msg(s, &m, 0))
		rcp_session_close(s, "cannot send CHALLENGE");
}

/* do_auth -- check the client's MAC over both nonces, prove ours, and start serving */
static void do_auth(struct rcp_session *s, const struct rcp_msg *m)
{
	struct rcp_server *srv = s->srv;
	uint8_t expect[RCP_MAC_LEN];
	struct rcp_msg reply;

	rcp_msg_init(&reply, RCP_MSG_AUTH_OK, m->hdr.req_id);
	if (!srv->cfg.no_auth) {
		rcp_auth_client_mac(&srv->key, s->server_nonce, s->client_nonce, expect);
		if (!rcp_auth_verify(expect, m->u.auth.mac)) {
			srv->cnt.auth_failures++;
			srv->reqstats.auth_failed[RCP_AUTH_FAIL_WRONG_KEY]++;
			rcp_session_fail(s, m->hdr.req_id, RCP_ERR_AUTH,
					 "authentication failed: wrong key");
			return;
		}
		rcp_auth_server_mac(&srv->key, s->server_nonce, s->client_nonce,
				    reply.u.auth_ok.mac);
	}
	if (rcp_admission_authenticated(s)) {
		rcp_session_fail(s, m->hdr.req_id, RCP_ERR_LIMIT,
				 "%u clients connected, the limit (--max-clients)",
				 srv->nsessions - srv->npending);
		return;
	}
	s->state = RCP_SESSION_READY;
	rcp_info(&srv->log, "client %s: authenticated%s (%u of %u clients)", s->peer,
		 srv->cfg.no_auth ? " (no-auth mode)" : "", srv->nsessions - srv->npending,
		 srv->cfg.max_clients);
	rcp_session_reply(s, &reply);
}

/* on_message -- one received control message: bound, validate, then act by state */
static void on_message(struct rcp_session *s, const uint8_t *buf, size_t len)
{
	struct rcp_hdr_info h;
	struct rcp_msg m;
	int ret;

	if (s->state == RCP_SESSION_DRAINING || s->state == RCP_SESSION_CLOSED)
		return;
	s->inflight++;
	if (s->inflight > RCP_MAX_OUTSTANDING) {
		if (rcp_hdr_decode(buf, len, &h))
			h.req_id = 0;
		rcp_session_fail(s, h.req_id, RCP_ERR_BUSY, "more than %d requests in flight",
				 RCP_MAX_OUTSTANDING);
		return;
	}
	ret = rcp_msg_decode(buf, len, &m);
	if (ret) {
		if (rcp_hdr_decode(buf, len, &h))
			memset(&h, 0, sizeof(h));
		rcp_session_fail(s, h.req_id, RCP_ERR_PROTO,
				 "malformed message (%zu bytes, type %s): %s", len,
				 rcp_msg_type_name(h.type), strerror(-ret));
		return;
	}
	if (s->state != RCP_SESSION_READY) {
		if (s->state == RCP_SESSION_AUTHENTICATING && m.hdr.type == RCP_MSG_AUTH)
			do_auth(s, &m);
		else
			rcp_session_fail(s, m.hdr.req_id, RCP_ERR_AUTH, "%s before authentication",
					 rcp_msg_type_name(m.hdr.type));
		return;
	}
	s->srv->cnt.requests++;
	track_start(s, &m);
	rcp_handle_request(s, &m);
}

/* handle_wc -- dispatch one completion by the kind its work request id names */
static void handle_wc(struct rcp_session *s, const struct ibv_wc *wc)
{
	enum rcp_wr_kind kind = (enum rcp_wr_kind)(wc->wr_id >> 32);
	uint32_t v = (uint32_t)wc->wr_id;
	int status = rcp_vb_wc_errno(wc->status);

	if (status && !s->disconnecting)
		rcp_info(&s->srv->log, "client %s: connection failed: %s completion %s", s->peer,
			 kind == RCP_WR_RECV	? "receive"
			 : kind == RCP_WR_PROBE ? "keepalive probe"
						: "send",
			 rcp_vb_wc_status_str(wc->status));
	switch (kind) {
	case RCP_WR_RECV:
		if (status || v >= RCP_SESSION_NRECV)
			break;
		on_message(s, recv_buf(s, v), wc->byte_len);
		if (!s->disconnecting && post_recv(s, v))
			rcp_session_close(s, "cannot repost a receive");
		break;
	case RCP_WR_SEND:
		send_done(s, v, status);
		break;
	case RCP_WR_BIND:
		rcp_grant_bind_done(s, v, status);
		break;
	case RCP_WR_INV:
		rcp_grant_inv_done(s, v, status);
		break;
	case RCP_WR_PROBE:
		s->probing = false;
		break;
	}
	if (!status)
		s->heard_ms = rcp_now_ms();
	/* any failed completion means the QP is in the error state: nothing more will work */
	if (status)
		rcp_session_close(s, "queue pair in error");
}

/* cq_cb -- the completion channel fired: take events, re-arm, then drain the CQ */
static void cq_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_session *s = arg;
	struct ibv_wc wc[POLL_BATCH];
	struct ibv_cq *cq;
	unsigned int nev = 0;
	int n;
	int i;

	(void)fd;
	(void)what;
	while (rcp_vb_get_cq_event(s->cc, &cq, NULL) == 0)
		nev++;
	rcp_vb_ack_cq_events(s->cq, nev);
	/* arm before polling: a completion landing after the last poll still wakes us */
	if (rcp_vb_req_notify_cq(s->cq, false))
		rcp_session_close(s, "cannot arm the completion queue");
	do {
		n = rcp_vb_poll_cq(s->cq, POLL_BATCH, wc);
		for (i = 0; i < n; i++)
			handle_wc(s, &wc[i]);
	} while (n == POLL_BATCH);
	if (n < 0)
		rcp_session_close(s, "completion queue broken");
}

/* rcp_session_new -- everything a connection needs before it is accepted */
int rcp_session_new(struct rcp_server *srv, struct rdma_cm_id *id, const struct rcp_session_peer *p,
		    struct rcp_session **sp)
{
	const size_t buf_len = (size_t)(RCP_SESSION_NRECV + RCP_SESSION_NSEND) * RCP_MSG_MAX;
	struct ibv_qp_init_attr attr;
	struct rcp_session *s;
	unsigned int i;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->srv = srv;
	s->id = id;
	s->dev = p->dev;
	s->state = RCP_SESSION_CONNECTING;
	s->serial = ++srv->next_serial;
	s->heard_ms = rcp_now_ms();
	s->version = p->version;
	snprintf(s->peer, sizeof(s->peer), "%s", p->peer);
	snprintf(s->src, sizeof(s->src), "%s", p->src);
	memcpy(s->client_nonce, p->nonce, RCP_NONCE_LEN);
	TAILQ_INIT(&s->grants);
	STAILQ_INIT(&s->backlog);
	LIST_INIT(&s->reqs);

	ret = rcp_vb_create_comp_channel(s->dev->ctx, &s->cc);
	if (ret)
		goto err_free;
	ret = rcp_vb_comp_channel_set_nonblock(s->cc);
	if (ret)
		goto err_destroy_cc;
	ret = rcp_vb_create_cq(s->dev->ctx, RCP_SESSION_NRECV + RCP_SESSION_SQ_DEPTH, s, s->cc, 0,
			       &s->cq);
	if (ret)
		goto err_destroy_cc;
	ret = rcp_vb_req_notify_cq(s->cq, false);
	if (ret)
		goto err_destroy_cq;
	s->bufs = aligned_alloc(4096, buf_len);
	if (!s->bufs) {
		ret = -ENOMEM;
		goto err_destroy_cq;
	}
	memset(s->bufs, 0, buf_len);
	ret = rcp_vb_reg_mr(s->dev->pd, s->bufs, buf_len, IBV_ACCESS_LOCAL_WRITE, &s->buf_mr);
	if (ret)
		goto err_free_bufs;

	memset(&attr, 0, sizeof(attr));
	attr.qp_type = IBV_QPT_RC;
	attr.send_cq = s->cq;
	attr.recv_cq = s->cq;
	attr.cap.max_send_wr = RCP_SESSION_SQ_DEPTH;
	attr.cap.max_recv_wr = RCP_SESSION_NRECV;
	attr.cap.max_send_sge = 1;
	attr.cap.max_recv_sge = 1;
	ret = rcp_vb_create_qp(id, s->dev->pd, &attr);
	if (ret)
		goto err_dereg_mr;
	for (i = 0; i < RCP_SESSION_NRECV; i++) {
		ret = post_recv(s, i);
		if (ret)
			goto err_destroy_qp;
	}
	s->cq_event = event_new(srv->base, s->cc->fd, EV_READ | EV_PERSIST, cq_cb, s);
	if (!s->cq_event) {
		ret = -ENOMEM;
		goto err_destroy_qp;
	}
	if (event_add(s->cq_event, NULL)) {
		ret = -ENOMEM;
		goto err_free_event;
	}
	ret = rcp_admission_start(s);
	if (ret)
		goto err_stop_admission;
	id->context = s;
	LIST_INSERT_HEAD(&srv->sessions, s, link);
	srv->nsessions++;
	srv->cnt.clients_total++;
	*sp = s;
	return 0;

err_stop_admission:
	rcp_admission_stop(s);
err_free_event:
	event_free(s->cq_event);
err_destroy_qp:
	rcp_vb_destroy_qp(id);
err_dereg_mr:
	rcp_vb_dereg_mr(&s->buf_mr);
err_free_bufs:
	free(s->bufs);
err_destroy_cq:
	rcp_vb_destroy_cq(&s->cq);
err_destroy_cc:
	rcp_vb_destroy_comp_channel(&s->cc);
err_free:
	free(s);
	return ret;
}

/* rcp_session_delete -- release in reverse order of rcp_session_new, windows first */
void rcp_session_delete(struct rcp_session **sp)
{
	struct rcp_session *s;
	struct rcp_server *srv;
	struct rcp_backlog *b;
	int ret;

	if (!sp || !*sp)
		return;
	s = *sp;
	srv = s->srv;
	s->state = RCP_SESSION_CLOSED;
	if (s->close_timer)
		event_free(s->close_timer);
	rcp_admission_stop(s);
	rcp_reqs_session_gone(s);
	rcp_copy_session_gone(s);
	rcp_grant_release_all(s);
	event_free(s->cq_event);
	rcp_vb_destroy_qp(s->id);
	ret = rcp_vb_dereg_mr(&s->buf_mr);
	if (ret)
		rcp_err(&srv->log, "client %s: deregistering buffers: %s", s->peer, strerror(-ret));
	else
		free(s->bufs);
	ret = rcp_vb_destroy_cq(&s->cq);
	if (ret)
		rcp_err(&srv->log, "client %s: destroying CQ: %s", s->peer, strerror(-ret));
	rcp_vb_destroy_comp_channel(&s->cc);
	while ((b = STAILQ_FIRST(&s->backlog))) {
		STAILQ_REMOVE_HEAD(&s->backlog, link);
		free(b);
	}
	s->id->context = NULL;
	ret = rcp_vb_destroy_id(&s->id);
	if (ret)
		rcp_err(&srv->log, "client %s: destroying cm id: %s", s->peer, strerror(-ret));
	LIST_REMOVE(s, link);
	srv->nsessions--;
	rcp_info(&srv->log, "client %s: session %llu closed", s->peer,
		 (unsigned long long)s->serial);
	free(s);
	*sp = NULL;
	rcp_server_session_gone(srv);
}
