/* SPDX-License-Identifier: BSD-3-Clause */
/* conn.c -- connections: options, rdma_cm connect, the authentication handshake, control
 * request plumbing and teardown */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "client/lib/internal.h"

#define CLOSE_GRACE_MS 1000 /* how long close waits for in-flight WRs and DISCONNECTED */

/* rcp_now_ns -- monotonic clock in nanoseconds */
uint64_t rcp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ms_left -- milliseconds until deadline_ns, 0 if past */
static int ms_left(uint64_t deadline_ns)
{
	uint64_t now = rcp_now_ns();
	uint64_t ms;

	if (now >= deadline_ns)
		return 0;
	ms = (deadline_ns - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* rdmacpy_conn_opts_init -- fill o with defaults (and o->size) */
void rdmacpy_conn_opts_init(struct rdmacpy_conn_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->queue_depth = RCP_CLI_DEF_DEPTH;
	o->nqp = 1;
	o->moderation = RDMACPY_MOD_MODERATED;
	o->mod_count = RCP_CLI_DEF_COUNT;
	o->mod_period_us = RCP_CLI_DEF_PERIOD_US;
	o->timeout_ms = RCP_CLI_DEF_TIMEOUT;
	o->chunk_size = RCP_CLI_DEF_CHUNK;
	o->log_level = RDMACPY_LOG_WARN;
	o->cache_mode = RDMACPY_CACHE_PER_OP;
	o->cache_max_bytes = RCP_CLI_DEF_CACHE;
}

/* take_opts -- copy the caller's options (as much of them as it knows) and check them */
static int take_opts(struct rdmacpy_conn *c, const struct rdmacpy_conn_opts *o)
{
	rdmacpy_conn_opts_init(&c->opts);
	if (o) {
		/* an older caller's struct is shorter: its missing fields keep the defaults */
		if (o->size < offsetof(struct rdmacpy_conn_opts, queue_depth))
			return RDMACPY_E_INVAL;
		memcpy(&c->opts, o, o->size < sizeof(*o) ? o->size : sizeof(*o));
		c->opts.size = sizeof(c->opts);
	}
	if (!c->opts.queue_depth || c->opts.queue_depth > 32768 || !c->opts.nqp ||
	    c->opts.nqp > RDMACPY_MAX_QP || c->opts.timeout_ms <= 0 ||
	    (unsigned int)c->opts.moderation > RDMACPY_MOD_ADAPTIVE ||
	    (unsigned int)c->opts.cache_mode > RDMACPY_CACHE_KEEP)
		return RDMACPY_E_INVAL;
	if (c->opts.moderation != RDMACPY_MOD_EVENT && !c->opts.mod_count)
		return RDMACPY_E_INVAL;
	if (c->opts.mod_period_us == 0 || c->opts.mod_period_us > RCP_MOD_MAX_PERIOD_US)
		return RDMACPY_E_INVAL;
	c->log.fn = c->opts.log_fn;
	c->log.ctx = c->opts.log_ctx;
	c->log.min_level = c->opts.log_level;
	/* the caller's pointers are not kept: key_file and key are consumed here */
	return 0;
}

/* load_key -- read the key from the file or bytes in the options */
static int load_key(struct rdmacpy_conn *c)
{
	int ret = 0;

	if (c->opts.key_file)
		ret = rcp_auth_key_load(c->opts.key_file, &c->key);
	else if (c->opts.key)
		ret = rcp_auth_key_set(&c->key, c->opts.key, c->opts.key_len);
	else
		return 0;
	c->opts.key_file = NULL;
	c->opts.key = NULL;
	c->opts.key_len = 0;
	if (ret) {
		rcp_conn_set_error(c, "cannot load the key: %s", strerror(-ret));
		return RDMACPY_E_KEY;
	}
	c->have_key = true;
	return 0;
}

/* rcp_conn_set_error -- remember a text for rdmacpy_conn_last_error */
void rcp_conn_set_error(struct rdmacpy_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	rcp_dbg(&c->log, "%s", c->last_error);
}

/* rdmacpy_conn_last_error -- the daemon's text of the last ERROR, or a local explanation */
const char *rdmacpy_conn_last_error(const struct rdmacpy_conn *c)
{
	return c ? c->last_error : "";
}

/* rcp_conn_fail -- the connection is broken: QPs to the error state, queued work flushed */
void rcp_conn_fail(struct rdmacpy_conn *c, int err, const char *why)
{
	unsigned int i;

	if (!c->broken) {
		c->broken = true;
		c->broken_err = err;
		rcp_conn_set_error(c, "connection failed: %s", why);
		rcp_log(&c->log, c->closing ? RCP_LOG_DEBUG : RCP_LOG_WARN,
			"connection failed: %s (%s)", why, rdmacpy_strerror(err));
	}
	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		q->broken = true;
		if (!q->broken_err)
			q->broken_err = err;
		/* disconnecting moves the QP to the error state: everything posted comes back
		 * (flushed), so no operation waits for a completion that never comes */
		if (q->established) {
			q->established = false;
			rcp_vb_disconnect(q->id);
		}
	}
}

/* cm_event_other -- an event for a connection other than the one being waited for */
static void cm_event_other(struct rdmacpy_conn *c, const struct rdma_cm_event *ev)
{
	struct rcp_cli_qp *q = ev->id ? ev->id->context : NULL;

	if (!q)
		return;
	switch (ev->event) {
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		if (q->established) {
			q->established = false;
			rcp_conn_fail(c, RDMACPY_E_BROKEN, "the daemon disconnected");
		}
		break;
	default:
		rcp_dbg(&c->log, "qp %u: ignoring %s", q->idx, rcp_vb_cm_event_str(ev->event));
		break;
	}
}

/* rcp_conn_cm_events -- take every pending rdma_cm event without waiting */
void rcp_conn_cm_events(struct rdmacpy_conn *c)
{
	struct rdma_cm_event *ev;

	while (c->ch && rcp_vb_get_cm_event(c->ch, &ev) == 0) {
		cm_event_other(c, ev);
		rcp_vb_ack_cm_event(ev);
	}
}

/* cm_reject_err -- why the daemon refused, from the reject's private data; a refusal a new
 * attempt may get past marks q for retry */
static int cm_reject_err(struct rdmacpy_conn *c, struct rcp_cli_qp *q,
			 const struct rdma_cm_event *ev)
{
	struct rcp_cm_reject rej;

	if (ev->param.conn.private_data && ev->param.conn.private_data_len &&
	    !rcp_cm_reject_decode(ev->param.conn.private_data, ev->param.conn.private_data_len,
				  &rej)) {
		rcp_conn_set_error(c, "the daemon refused the connection: %s (its version %u)",
				   rcp_reject_name(rej.reason), rej.version);
		if (rej.reason == RCP_REJECT_BUSY) {
			q->retry = true;
		} else if (rej.reason == RCP_REJECT_BAD_VERSION && rej.version < q->version &&
			   rcp_version_ok(rej.version)) {
			/* an older daemon: speak its version */
			q->version = rej.version;
			q->retry = true;
		}
		return rcp_cli_err_reject(rej.reason);
	}
	rcp_conn_set_error(c, "connection rejected (status %d): no daemon listening?", ev->status);
	return RDMACPY_E_CONNECT;
}

/* cm_wait -- wait for event `want` on q's id; other outcomes become RDMACPY_E_* codes */
static int cm_wait(struct rdmacpy_conn *c, struct rcp_cli_qp *q, enum rdma_cm_event_type want,
		   uint64_t deadline_ns)
{
	struct rdma_cm_event *ev;
	enum rdma_cm_event_type type;
	struct pollfd pfd;
	int ret;

	for (;;) {
		ret = rcp_vb_get_cm_event(c->ch, &ev);
		if (ret == -EAGAIN) {
			pfd.fd = c->ch->fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (ms_left(deadline_ns) == 0) {
				/* no answer while setting up: the daemon cannot be reached */
				rcp_conn_set_error(c, "timed out waiting for %s",
						   rcp_vb_cm_event_str(want));
				return RDMACPY_E_CONNECT;
			}
			if (poll(&pfd, 1, ms_left(deadline_ns)) < 0 && errno != EINTR)
				return rcp_cli_err(-errno);
			continue;
		}
		if (ret)
			return rcp_cli_err(ret);
		if (ev->id != q->id) {
			cm_event_other(c, ev);
			rcp_vb_ack_cm_event(ev);
			continue;
		}
		type = ev->event;
		if (type == want) {
			rcp_vb_ack_cm_event(ev);
			return 0;
		}
		if (type == RDMA_CM_EVENT_REJECTED)
			ret = cm_reject_err(c, q, ev);
		else
			ret = type == RDMA_CM_EVENT_ADDR_ERROR ? RDMACPY_E_NODEV
							       : RDMACPY_E_CONNECT;
		if (type != RDMA_CM_EVENT_REJECTED)
			rcp_conn_set_error(c, "%s (status %d) while waiting for %s",
					   rcp_vb_cm_event_str(type), ev->status,
					   rcp_vb_cm_event_str(want));
		rcp_vb_ack_cm_event(ev);
		return ret;
	}
}

/* post_recv_slot -- (re)post control receive buffer i of q */
static int post_recv_slot(struct rcp_cli_qp *q, unsigned int i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(q->recv_buf + (size_t)i * RCP_MSG_MAX),
		.length = RCP_MSG_MAX,
		.lkey = q->conn->ctrl_mr->lkey,
	};
	struct ibv_recv_wr wr = {.wr_id = RCP_CLI_RECV_TAG | i, .sg_list = &sge, .num_sge = 1};
	struct ibv_recv_wr *bad;

	return rcp_vb_post_recv(q->id->qp, &wr, &bad);
}

/* rcp_ctrl_handle_recv -- a control message arrived on q: keep it if someone waits for it */
void rcp_ctrl_handle_recv(struct rcp_cli_qp *q, const struct ibv_wc *wc)
{
	unsigned int i = (unsigned int)(wc->wr_id & ~RCP_CLI_RECV_TAG);
	struct rcp_msg m;
	bool want;
	int ret;

	if (wc->status != IBV_WC_SUCCESS || i >= RCP_CLI_RECV_N) {
		q->broken = true;
		return;
	}
	ret = rcp_msg_decode(q->recv_buf + (size_t)i * RCP_MSG_MAX, wc->byte_len, &m);
	if (ret) {
		rcp_warn(&q->conn->log, "qp %u: undecodable control message (%d)", q->idx, ret);
	} else {
		want = (q->want_challenge && m.hdr.type == RCP_MSG_CHALLENGE) ||
		       (q->want_req_id && m.hdr.req_id == q->want_req_id) ||
		       (m.hdr.req_id == 0 && m.hdr.type == RCP_MSG_ERROR);
		/* progress is cumulative: a later message of the same request supersedes it */
		if (want && (!q->have_reply || q->reply.hdr.type == RCP_MSG_COPY_PROGRESS)) {
			q->reply = m;
			q->have_reply = true;
		} else {
			rcp_dbg(&q->conn->log, "qp %u: dropping unexpected %s (request %u)", q->idx,
				rcp_msg_type_name(m.hdr.type), m.hdr.req_id);
		}
	}
	if (!q->broken && post_recv_slot(q, i))
		rcp_conn_fail(q->conn, RDMACPY_E_BROKEN, "cannot repost a control receive");
}

/* reply_ready -- wait predicate: the reply arrived or the QP failed */
static bool reply_ready(void *arg)
{
	const struct rcp_cli_qp *q = arg;

	return q->have_reply || q->broken;
}

/* sq_slot_ready -- wait predicate: a send queue slot is free or the QP failed */
static bool sq_slot_ready(void *arg)
{
	const struct rcp_cli_qp *q = arg;

	return rcp_xfer_sq_free(q) > 0 || q->broken;
}

/* qp_err -- the code for a failed QP */
static int qp_err(const struct rcp_cli_qp *q)
{
	return q->broken_err ? q->broken_err : RDMACPY_E_BROKEN;
}

/* wait_reply -- wait for the message q waits for; ERROR replies are mapped. A message of type
 * interim (0: none) is returned as is and leaves the request waiting for more. */
static int wait_reply(struct rcp_cli_qp *q, enum rcp_msg_type reply_type, enum rcp_msg_type interim,
		      struct rcp_msg *reply, int timeout_ms)
{
	struct rdmacpy_conn *c = q->conn;
	uint32_t req_id = q->want_req_id;
	int ret;

	ret = rcp_xfer_wait(c, reply_ready, q, timeout_ms);
	q->want_req_id = 0;
	q->want_challenge = false;
	if (!q->have_reply) {
		if (ret == RDMACPY_E_TIMEOUT) {
			/* a daemon that does not answer is gone or stuck: do not reuse the QP */
			rcp_conn_fail(c, RDMACPY_E_TIMEOUT, "no reply from the daemon");
			return RDMACPY_E_TIMEOUT;
		}
		return ret ? ret : qp_err(q);
	}
	q->have_reply = false;
	*reply = q->reply;
	if (interim && reply->hdr.type == interim) {
		q->want_req_id = req_id;
		return 0;
	}
	if (reply->hdr.type == RCP_MSG_ERROR) {
		snprintf(c->last_error, sizeof(c->last_error), "%s", reply->u.error.text);
		rcp_dbg(&c->log, "daemon error %s: %s", rcp_err_name(reply->u.error.code),
			reply->u.error.text);
		return rcp_cli_err_proto(reply->u.error.code);
	}
	if (reply->hdr.type != reply_type) {
		rcp_conn_set_error(c, "expected %s, got %s", rcp_msg_type_name(reply_type),
				   rcp_msg_type_name(reply->hdr.type));
		return RDMACPY_E_PROTO;
	}
	return 0;
}

/* rcp_ctrl_call -- send a control request on q and wait for its reply */
int rcp_ctrl_call(struct rcp_cli_qp *q, struct rcp_msg *req, enum rcp_msg_type reply_type,
		  struct rcp_msg *reply)
{
	return rcp_ctrl_call_tmo(q, req, reply_type, reply, q->conn->opts.timeout_ms);
}

/* rcp_ctrl_call_tmo -- rcp_ctrl_call waiting up to timeout_ms for the reply */
int rcp_ctrl_call_tmo(struct rcp_cli_qp *q, struct rcp_msg *req, enum rcp_msg_type reply_type,
		      struct rcp_msg *reply, int timeout_ms)
{
	int ret = rcp_ctrl_start(q, req);

	if (ret)
		return ret;
	return wait_reply(q, reply_type, 0, reply, timeout_ms);
}

/* rcp_ctrl_next -- the next message answering the request rcp_ctrl_start sent */
int rcp_ctrl_next(struct rcp_cli_qp *q, enum rcp_msg_type reply_type, enum rcp_msg_type interim,
		  struct rcp_msg *reply, int timeout_ms)
{
	if (!q->want_req_id)
		return RDMACPY_E_INVAL;
	return wait_reply(q, reply_type, interim, reply, timeout_ms);
}

/* rcp_ctrl_start -- send a control request on q; its answers are awaited separately */
int rcp_ctrl_start(struct rcp_cli_qp *q, struct rcp_msg *req)
{
	struct rdmacpy_conn *c = q->conn;
	size_t len;
	int ret;

	if (c->broken || q->broken)
		return RDMACPY_E_BROKEN;
	if (++q->next_req_id == 0)
		q->next_req_id = 1;
	req->hdr.req_id = q->next_req_id;
	ret = rcp_msg_encode_version(req, q->version, q->send_buf, RCP_MSG_MAX, &len);
	if (ret)
		return rcp_cli_err(ret);
	ret = rcp_xfer_wait(c, sq_slot_ready, q, c->opts.timeout_ms);
	if (ret)
		return ret;
	if (q->broken)
		return qp_err(q);
	q->want_req_id = req->hdr.req_id;
	q->have_reply = false;
	ret = rcp_xfer_post_ctrl(q, len);
	if (ret)
		q->want_req_id = 0;
	return ret;
}

/* handshake -- CHALLENGE -> AUTH -> AUTH_OK on q, checking the daemon's MAC */
static int handshake(struct rcp_cli_qp *q, const uint8_t nonce[RCP_NONCE_LEN])
{
	struct rdmacpy_conn *c = q->conn;
	uint8_t server_nonce[RCP_NONCE_LEN];
	uint8_t expect[RCP_MAC_LEN];
	struct rcp_msg m;
	bool no_auth;
	int ret;

	q->want_challenge = true;
	ret = wait_reply(q, RCP_MSG_CHALLENGE, 0, &m, c->opts.timeout_ms);
	if (ret == RDMACPY_E_BROKEN)
		q->retry = true; /* closed before a word: evicted from a full pool, try again */
	if (ret)
		return ret;
	memcpy(server_nonce, m.u.challenge.nonce, sizeof(server_nonce));
	q->caps = m.u.challenge.caps;
	no_auth = q->caps & RCP_CAP_NO_AUTH;
	if (!no_auth && !c->have_key) {
		rcp_conn_set_error(c, "the daemon requires a key and none was given");
		return RDMACPY_E_AUTH;
	}
	rcp_msg_init(&m, RCP_MSG_AUTH, 0);
	if (!no_auth)
		rcp_auth_client_mac(&c->key, server_nonce, nonce, m.u.auth.mac);
	ret = rcp_ctrl_call(q, &m, RCP_MSG_AUTH_OK, &m);
	if (ret == RDMACPY_E_BROKEN)
		q->retry = true; /* closed without an ERROR: not refused, evicted */
	if (ret)
		return ret;
	if (no_auth) {
		if (c->have_key)
			rcp_warn(&c->log, "the daemon runs without authentication: it is not "
					  "verified");
		return 0;
	}
	rcp_auth_server_mac(&c->key, server_nonce, nonce, expect);
	if (!rcp_auth_verify(expect, m.u.auth_ok.mac)) {
		rcp_conn_set_error(c, "the daemon's MAC is wrong: it does not hold the key");
		return RDMACPY_E_AUTH;
	}
	return 0;
}

/* resolve_host -- host:port into a socket address */
static int resolve_host(struct rdmacpy_conn *c, const char *host, uint16_t port,
			struct sockaddr_storage *ss)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res;
	char serv[8];
	int ret;

	snprintf(serv, sizeof(serv), "%u", port);
	ret = getaddrinfo(host, serv, &hints, &res);
	if (ret) {
		rcp_conn_set_error(c, "cannot resolve %s: %s", host, gai_strerror(ret));
		return RDMACPY_E_NODEV;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* device_setup -- once the first id is bound to a device: caps, PD, channel, buffers */
static int device_setup(struct rdmacpy_conn *c, struct rdma_cm_id *id)
{
	size_t per_qp = (size_t)(RCP_CLI_RECV_N + 1) * RCP_MSG_MAX;
	int ret;

	ret = rcp_vb_query_caps(id->verbs, id->port_num ? id->port_num : 1, &c->caps);
	if (ret)
		goto err;
	ret = rcp_vb_alloc_pd(id->verbs, &c->pd);
	if (ret)
		goto err;
	ret = rcp_vb_create_comp_channel(id->verbs, &c->cc);
	if (ret)
		goto err;
	ret = rcp_vb_comp_channel_set_nonblock(c->cc);
	if (ret)
		goto err;
	c->ctrl_len = per_qp * c->nqp;
	c->ctrl_mem = aligned_alloc(4096, c->ctrl_len);
	if (!c->ctrl_mem) {
		ret = -ENOMEM;
		goto err;
	}
	memset(c->ctrl_mem, 0, c->ctrl_len);
	ret = rcp_vb_reg_mr(c->pd, c->ctrl_mem, c->ctrl_len, IBV_ACCESS_LOCAL_WRITE, &c->ctrl_mr);
	if (ret)
		goto err;
	rcp_rcache_init(&c->cache, c->pd, c->opts.cache_mode, c->opts.cache_max_bytes);
	return 0;

	/* the pieces made so far are released by the caller's teardown */
err:
	rcp_conn_set_error(c, "device setup failed: %s", strerror(-ret));
	return rcp_cli_err(ret);
}

/* rcp_qp_init_moderation -- set up q's moderation policy from the connection options */
int rcp_qp_init_moderation(struct rcp_cli_qp *q)
{
	static const enum rcp_mod_mode modes[] = {
		[RDMACPY_MOD_POLL] = RCP_MOD_POLL,
		[RDMACPY_MOD_EVENT] = RCP_MOD_EVENT,
		[RDMACPY_MOD_MODERATED] = RCP_MOD_MODERATED,
		[RDMACPY_MOD_ADAPTIVE] = RCP_MOD_ADAPTIVE,
	};
	const struct rdmacpy_conn_opts *o = &q->conn->opts;
	struct rcp_mod_config cfg = {
		.mode = modes[o->moderation],
		.count = o->mod_count ? o->mod_count : 1,
		.period_us = o->mod_period_us,
		.sq_depth = q->sq_depth,
	};

	return rcp_mod_init(&q->mod, &cfg);
}

/* qp_setup -- CQ, QP, send ring, receives and moderation of one connection */
static int qp_setup(struct rdmacpy_conn *c, struct rcp_cli_qp *q)
{
	struct ibv_qp_init_attr attr;
	size_t per_qp = (size_t)(RCP_CLI_RECV_N + 1) * RCP_MSG_MAX;
	enum rdmacpy_moderation mode = c->opts.moderation;
	unsigned int i;
	int ret;

	q->sq_depth = c->opts.queue_depth;
	if (q->sq_depth > c->caps.max_qp_wr)
		q->sq_depth = c->caps.max_qp_wr;
	ret = rcp_vb_create_cq(q->id->verbs, (int)(q->sq_depth + RCP_CLI_RECV_N + 1), q, c->cc, 0,
			       &q->cq);
	if (ret)
		return rcp_cli_err(ret);
	/* hardware moderation where the device has it (not rxe); software otherwise */
	if (mode == RDMACPY_MOD_MODERATED || mode == RDMACPY_MOD_ADAPTIVE) {
		uint32_t cnt = c->opts.mod_count > UINT16_MAX ? UINT16_MAX : c->opts.mod_count;
		uint32_t per =
			c->opts.mod_period_us > UINT16_MAX ? UINT16_MAX : c->opts.mod_period_us;

		ret = rcp_vb_probe_cq_moderation(q->cq, (uint16_t)cnt, (uint16_t)per);
		if (q->idx == 0)
			c->hw_mod = ret == 0;
		else if (c->hw_mod && ret)
			c->hw_mod = false;
	}
	memset(&attr, 0, sizeof(attr));
	attr.qp_context = q;
	attr.send_cq = q->cq;
	attr.recv_cq = q->cq;
	attr.qp_type = IBV_QPT_RC;
	attr.cap.max_send_wr = q->sq_depth;
	attr.cap.max_recv_wr = RCP_CLI_RECV_N;
	q->max_send_sge = c->caps.max_sge < RCP_SGL_MAX_SGE ? c->caps.max_sge : RCP_SGL_MAX_SGE;
	if (c->caps.max_sge_rd > q->max_send_sge && c->caps.max_sge_rd <= RCP_SGL_MAX_SGE &&
	    c->caps.max_sge_rd <= c->caps.max_sge)
		q->max_send_sge = c->caps.max_sge_rd;
	attr.cap.max_send_sge = q->max_send_sge;
	attr.cap.max_recv_sge = 1;
	ret = rcp_vb_create_qp(q->id, c->pd, &attr);
	if (ret)
		return rcp_cli_err(ret);
	q->ring = calloc(q->sq_depth, sizeof(*q->ring));
	if (!q->ring)
		return RDMACPY_E_NOMEM;
	ret = rcp_qp_init_moderation(q);
	if (ret)
		return rcp_cli_err(ret);
	q->recv_buf = c->ctrl_mem + per_qp * q->idx;
	q->send_buf = q->recv_buf + (size_t)RCP_CLI_RECV_N * RCP_MSG_MAX;
	for (i = 0; i < RCP_CLI_RECV_N; i++) {
		ret = post_recv_slot(q, i);
		if (ret)
			return rcp_cli_err(ret);
	}
	return 0;
}

/* qp_connect -- resolve, set up and connect QP q, then authenticate on it */
static int qp_connect(struct rdmacpy_conn *c, struct rcp_cli_qp *q, const struct sockaddr *dst,
		      uint64_t deadline_ns)
{
	struct rcp_cm_private priv = {0};
	uint8_t pdata[RCP_CM_PRIVATE_LEN];
	int step_ms = ms_left(deadline_ns);
	size_t plen;
	int ret;

	if (step_ms > 5000)
		step_ms = 5000;
	ret = rcp_vb_create_id(c->ch, q, &q->id);
	if (ret)
		return rcp_cli_err(ret);
	ret = rcp_vb_resolve_addr(q->id, NULL, dst, step_ms);
	if (ret)
		return rcp_cli_err(ret) == RDMACPY_E_DEVICE ? RDMACPY_E_NODEV : rcp_cli_err(ret);
	ret = cm_wait(c, q, RDMA_CM_EVENT_ADDR_RESOLVED, deadline_ns);
	if (ret)
		return ret;
	ret = rcp_vb_resolve_route(q->id, step_ms);
	if (ret)
		return rcp_cli_err(ret);
	ret = cm_wait(c, q, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline_ns);
	if (ret)
		return ret;
	if (!c->pd) {
		ret = device_setup(c, q->id);
		if (ret)
			return ret;
	} else if (q->id->verbs != c->qp[0].id->verbs) {
		rcp_conn_set_error(c, "queue pairs resolved to different devices");
		return RDMACPY_E_NODEV;
	}
	ret = qp_setup(c, q);
	if (ret)
		return ret;
	rcp_auth_nonce(priv.nonce);
	priv.version = q->version;
	priv.flags = c->have_key ? 0 : RCP_CM_F_NO_KEY;
	ret = rcp_cm_private_encode(&priv, pdata, sizeof(pdata), &plen);
	if (ret)
		return rcp_cli_err(ret);
	ret = rcp_vb_connect(q->id, NULL, pdata, plen);
	if (ret)
		return rcp_cli_err(ret) == RDMACPY_E_DEVICE ? RDMACPY_E_CONNECT : rcp_cli_err(ret);
	ret = cm_wait(c, q, RDMA_CM_EVENT_ESTABLISHED, deadline_ns);
	if (ret)
		return ret;
	q->established = true;
	return handshake(q, priv.nonce);
}

static void qp_teardown(struct rcp_cli_qp *q);

/* qp_reset -- back to before qp_connect, for another attempt: nothing else is in flight while
 * connecting, so the failure that attempt recorded is forgotten with it */
static void qp_reset(struct rdmacpy_conn *c, struct rcp_cli_qp *q)
{
	uint16_t version = q->version;
	unsigned int idx = q->idx;

	if (q->established)
		rcp_vb_disconnect(q->id);
	q->established = false;
	if (q->notify_pending)
		c->notify_pending--;
	qp_teardown(q);
	memset(q, 0, sizeof(*q));
	q->conn = c;
	q->idx = idx;
	q->version = version;
	c->broken = false;
	c->broken_err = 0;
}

/* qp_connect_retry -- qp_connect, again after a short, growing, jittered pause while the
 * failure is one another attempt may get past and the deadline allows */
static int qp_connect_retry(struct rdmacpy_conn *c, struct rcp_cli_qp *q,
			    const struct sockaddr *dst, uint64_t deadline_ns)
{
	unsigned int pause_ms = 10;
	unsigned int attempt;
	int ret;

	for (attempt = 1;; attempt++) {
		ret = qp_connect(c, q, dst, deadline_ns);
		if (!ret || !q->retry || ms_left(deadline_ns) == 0)
			return ret;
		rcp_dbg(&c->log, "qp %u: attempt %u: %s; trying again", q->idx, attempt,
			c->last_error);
		qp_reset(c, q);
		/* spread the retries of many clients refused at once */
		poll(NULL, 0, (int)(pause_ms / 2 + randombytes_uniform(pause_ms)));
		if (pause_ms < 500)
			pause_ms *= 2;
	}
}

/* rdmacpy_connect -- connect to the daemon at host:port and authenticate */
int rdmacpy_connect(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
		    struct rdmacpy_conn **out)
{
	struct sockaddr_storage dst;
	struct rdmacpy_conn *c;
	uint64_t deadline;
	unsigned int i;
	int ret;

	if (!host || !port || !out)
		return RDMACPY_E_INVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return RDMACPY_E_NOMEM;
	ret = take_opts(c, o);
	if (ret)
		goto err_free;
	ret = load_key(c);
	if (ret)
		goto err_free;
	deadline = rcp_now_ns() + (uint64_t)c->opts.timeout_ms * 1000000ull;
	ret = resolve_host(c, host, port, &dst);
	if (ret)
		goto err_free;
	c->nqp = c->opts.nqp;
	c->qp = calloc(c->nqp, sizeof(*c->qp));
	if (!c->qp) {
		ret = RDMACPY_E_NOMEM;
		goto err_free;
	}
	for (i = 0; i < c->nqp; i++) {
		c->qp[i].conn = c;
		c->qp[i].idx = i;
		c->qp[i].version = RCP_PROTO_VERSION;
	}
	ret = rcp_vb_create_event_channel(&c->ch);
	if (ret) {
		ret = rcp_cli_err(ret);
		goto err_close;
	}
	ret = rcp_vb_event_channel_set_nonblock(c->ch);
	if (ret) {
		ret = rcp_cli_err(ret);
		goto err_close;
	}
	/* one rdma_cm connection per QP: each is its own authenticated session */
	for (i = 0; i < c->nqp; i++) {
		ret = qp_connect_retry(c, &c->qp[i], (const struct sockaddr *)&dst, deadline);
		if (ret)
			goto err_close;
	}
	rcp_info(&c->log, "connected to %s:%u with %u QP(s), %s moderation", host, port, c->nqp,
		 c->hw_mod ? "hardware" : "software");
	*out = c;
	return 0;

err_close:
	rcp_warn(&c->log, "connect to %s:%u failed: %s (%s)", host, port, rdmacpy_strerror(ret),
		 c->last_error);
	rdmacpy_close(&c);
	return ret;
err_free:
	rcp_auth_key_wipe(&c->key);
	free(c);
	return ret;
}

/* close_wait_disconnected -- give the daemon a moment to confirm the disconnects */
static void close_wait_disconnected(struct rdmacpy_conn *c, bool *pending)
{
	uint64_t deadline = rcp_now_ns() + (uint64_t)CLOSE_GRACE_MS * 1000000ull;
	struct rdma_cm_event *ev;
	struct pollfd pfd;
	unsigned int left = 0;
	unsigned int i;

	for (i = 0; i < c->nqp; i++)
		left += pending[i];
	while (left && ms_left(deadline) > 0) {
		if (rcp_vb_get_cm_event(c->ch, &ev)) {
			pfd.fd = c->ch->fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			poll(&pfd, 1, ms_left(deadline));
			continue;
		}
		for (i = 0; i < c->nqp; i++) {
			if (ev->id == c->qp[i].id && pending[i] &&
			    ev->event == RDMA_CM_EVENT_DISCONNECTED) {
				pending[i] = false;
				left--;
			}
		}
		rcp_vb_ack_cm_event(ev);
	}
}

/* all_retired -- wait predicate: no send WR of any QP is outstanding */
static bool all_retired(void *arg)
{
	const struct rdmacpy_conn *c = arg;
	unsigned int i;

	for (i = 0; i < c->nqp; i++)
		if (c->qp[i].cq && c->qp[i].sq_head != c->qp[i].sq_tail)
			return false;
	return true;
}

/* qp_teardown -- destroy q's QP, CQ (acking its events) and id */
static void qp_teardown(struct rcp_cli_qp *q)
{
	if (q->id)
		rcp_vb_destroy_qp(q->id);
	if (q->cq) {
		if (q->unacked_events)
			rcp_vb_ack_cq_events(q->cq, q->unacked_events);
		q->unacked_events = 0;
		rcp_vb_destroy_cq(&q->cq);
	}
	rcp_vb_destroy_id(&q->id);
	free(q->ring);
	q->ring = NULL;
}

/* rdmacpy_close -- disconnect and free everything the connection owns */
void rdmacpy_close(struct rdmacpy_conn **cp)
{
	struct rdmacpy_conn *c;
	bool pending[RDMACPY_MAX_QP] = {false};
	unsigned int i;

	if (!cp || !*cp)
		return;
	c = *cp;
	for (i = 0; i < c->nqp; i++)
		pending[i] = c->qp[i].established;
	if (c->qp) {
		c->closing = true;
		rcp_conn_fail(c, RDMACPY_E_BROKEN, "closed");
		/* let flushed completions retire what was in flight, so no buffer is in use */
		if (c->cc)
			rcp_xfer_wait(c, all_retired, c, CLOSE_GRACE_MS);
		rcp_xfer_abort_all(c, RDMACPY_E_BROKEN);
		if (c->ch)
			close_wait_disconnected(c, pending);
	}
	while (c->grants) {
		struct rdmacpy_grant *g = c->grants;

		c->grants = g->next;
		free(g);
	}
	while (c->mems) {
		struct rdmacpy_mem *m = c->mems;

		rdmacpy_mem_dereg(&m);
	}
	if (c->pd && rcp_rcache_fini(&c->cache))
		rcp_warn(&c->log, "registrations still held at close");
	for (i = 0; i < c->nqp; i++)
		qp_teardown(&c->qp[i]);
	rcp_vb_dereg_mr(&c->ctrl_mr);
	free(c->ctrl_mem);
	rcp_vb_dealloc_pd(&c->pd);
	rcp_vb_destroy_comp_channel(&c->cc);
	rcp_vb_destroy_event_channel(&c->ch);
	rcp_auth_key_wipe(&c->key);
	free(c->qp);
	free(c);
	*cp = NULL;
}
