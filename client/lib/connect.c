/* SPDX-License-Identifier: BSD-3-Clause */
/* connect.c -- connecting as a state machine: each queue pair resolves, connects and
 * authenticates step by step, driven only by events on the connection's fd */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client/lib/conn.h"
#include "client/lib/resolve.h"

/*
 * Every queue pair walks the states of enum rcp_qp_state (qp.h) on its own: an rdma_cm event
 * or a control message moves it one step, and nothing here ever waits. The connection is
 * connected when every queue pair is ready; it fails when one fails for good.
 *
 * Some refusals are worth another attempt, after a short pause that grows and is jittered so
 * that clients refused together do not come back together: the daemon's BUSY (its pool of
 * connections still authenticating is full), a connection closed before authentication
 * without a word (evicted from that pool), and BAD_VERSION naming an older version this side
 * also speaks (the attempt after speaks that). All within the connection's timeout.
 */

#define STEP_MS	     5000 /* rdma_cm's own bound on one resolve step */
#define PAUSE_MIN_MS 10
#define PAUSE_MAX_MS 500

/* connecting -- the connect steps run: the first connect (its op) or a resume's */
static bool connecting(const struct rdmacpy_conn *c)
{
	return c->connect_op || c->reconnecting;
}

/* connect_op_done -- the connect operation ends (0 or err); a resume's goes back to it */
static void connect_op_done(struct rdmacpy_conn *c, int err)
{
	struct rdmacpy_op *op = c->connect_op;

	if (c->reconnecting) {
		c->reconnecting = false;
		rcp_resume_connected(c, err);
		return;
	}
	if (!op)
		return;
	c->connect_op = NULL;
	if (err)
		rcp_op_fail(op, err);
	rcp_op_finish(op);
}

/* connect_fail -- connecting is over, unsuccessfully: the whole connection fails */
static void connect_fail(struct rdmacpy_conn *c, int err, const char *why)
{
	if (c->connected || !connecting(c))
		return;
	if (why)
		rcp_conn_set_error(c, "%s", why);
	rcp_warn(&c->log, "connect to %s:%u failed: %s", c->host, c->port, c->last_error);
	connect_op_done(c, err);
	rcp_conn_fail(c, err, c->last_error);
}

/* rcp_connect_check_ready -- connected once the first rail's queue pairs are authenticated and
 * every other rail is ready or skipped (the rails are learned first when more are wanted) */
void rcp_connect_check_ready(struct rdmacpy_conn *c)
{
	unsigned int i;

	if (c->connected || !connecting(c))
		return;
	for (i = 0; i < c->nqp; i++) {
		const struct rcp_cli_qp *q = &c->qp[i];

		if (q->rail == 0 && q->state != RCP_QP_READY)
			return;
		/* a resume connects the first rail; the others rejoin by themselves */
		if (q->rail != 0 && !c->reconnecting && !rcp_rail_settled(c, q->rail))
			return;
	}
	if (!c->reconnecting && !rcp_rails_known(c))
		return;
	c->connected = true;
	rcp_info(&c->log, "%s %s:%u with %u QP(s) on %u rail(s) up, protocol %u, %s moderation",
		 c->reconnecting ? "connected again to" : "connected to", c->host, c->port, c->nqp,
		 rcp_rails_up(c), c->qp[0].version, c->dev[0].hw_mod ? "hardware" : "software");
	connect_op_done(c, 0);
}

/* rcp_connect_qp_reset -- take q down for another attempt: only its own requests (AUTH) go;
 * requests the application queued meanwhile stay queued for the next attempt */
void rcp_connect_qp_reset(struct rcp_cli_qp *q)
{
	if (q->established)
		rcp_vb_disconnect(q->id);
	q->established = false;
	rcp_ctrl_cancel_owner(q, q);
	rcp_qp_teardown(q);
	q->broken = false;
	q->broken_err = 0;
	q->retry = false;
	q->armed = false;
	q->waiting = false;
	q->arm_due = false;
	q->sq_head = 0;
	q->sq_tail = 0;
	q->unsig_run = 0;
	q->sig_outstanding = 0;
	q->ctrl.ninflight = 0;
	memset(q->ctrl.inflight, 0, sizeof(q->ctrl.inflight));
}

/* rcp_backoff_pause -- exponential, bounded, and jittered so that clients refused together (or
 * reconnecting to the same restarted daemon) do not come back together */
unsigned int rcp_backoff_pause(unsigned int *step, unsigned int min_ms, unsigned int max_ms)
{
	unsigned int pause;

	if (*step < min_ms)
		*step = min_ms;
	if (*step > max_ms)
		*step = max_ms;
	pause = *step / 2 + randombytes_uniform(*step);
	*step = *step > max_ms / 2 ? max_ms : *step * 2;
	return pause;
}

/* qp_failed -- this attempt of q failed with err: try again after a pause when retry and time
 * allow, else connecting fails */
static void qp_failed(struct rcp_cli_qp *q, int err, bool retry, const char *why)
{
	struct rdmacpy_conn *c = q->conn;
	uint64_t now = rcp_now_ns();
	unsigned int pause;

	if (q->state == RCP_QP_FAILED || q->state == RCP_QP_BACKOFF)
		return;
	/* a rail other than the first is skipped or tried again later, not the connection */
	if ((q->rail != 0 || c->rails[q->rail].rejoining) && !c->reconnecting &&
	    rcp_rail_attempt_failed(q, err, why ? why : c->last_error))
		return;
	if (c->connected)
		return;
	if (why)
		rcp_conn_set_error(c, "%s", why);
	/* a resume waits for the daemon to come back: any refusal may be the restart's */
	if (c->reconnecting)
		retry = true;
	if (!retry || now >= c->connect_deadline_ns) {
		q->state = RCP_QP_FAILED;
		connect_fail(c, err, NULL);
		return;
	}
	rcp_dbg(&c->log, "qp %u: attempt %u: %s; trying again", q->idx, q->attempts, c->last_error);
	rcp_connect_qp_reset(q);
	pause = rcp_backoff_pause(&q->pause_ms, PAUSE_MIN_MS, PAUSE_MAX_MS);
	q->retry_at_ns = now + (uint64_t)pause * 1000000ull;
	q->state = RCP_QP_BACKOFF;
	q->broken_err = err;
}

/* device_add -- a device the connection did not use yet: caps, PD, channel, buffers */
static int device_add(struct rdmacpy_conn *c, struct rdma_cm_id *id, struct rcp_cli_dev *d)
{
	int ret;

	d->verbs = id->verbs;
	ret = rcp_vb_query_caps(id->verbs, id->port_num ? id->port_num : 1, &d->caps);
	if (ret)
		return ret;
	if (c->ext_pd && c->ext_pd->context == id->verbs) {
		d->pd = c->ext_pd;
	} else if (c->ext_pd) {
		return -ENODEV;
	} else {
		ret = rcp_vb_alloc_pd(id->verbs, &d->pd);
		if (ret)
			return ret;
		d->own_pd = true;
	}
	ret = rcp_vb_create_comp_channel(id->verbs, &d->cc);
	if (ret)
		return ret;
	ret = rcp_vb_comp_channel_set_nonblock(d->cc);
	if (ret)
		return ret;
	ret = rcp_conn_watch(c, d->cc->fd);
	if (ret)
		return ret;
	/* with rails a port that goes down takes its rails out at once (rails.c reads them);
	 * a connection that would not read them must not wake on them */
	if (c->want_rails > 1 && id->verbs->async_fd >= 0) {
		ret = rcp_vb_async_set_nonblock(id->verbs);
		if (!ret)
			ret = rcp_conn_watch(c, id->verbs->async_fd);
		if (ret)
			return ret;
	}
	if (!c->ctrl_mem) {
		/* every QP the connection may have gets its control buffers here, once */
		c->ctrl_len = (size_t)(RCP_CLI_RECV_N + RCP_CLI_SEND_N) * RCP_MSG_MAX * c->qp_cap;
		c->ctrl_mem = aligned_alloc(4096, c->ctrl_len);
		if (!c->ctrl_mem)
			return -ENOMEM;
		memset(c->ctrl_mem, 0, c->ctrl_len);
	}
	ret = rcp_vb_reg_mr(d->pd, c->ctrl_mem, c->ctrl_len, IBV_ACCESS_LOCAL_WRITE, &d->ctrl_mr);
	if (ret)
		return ret;
	rcp_rcache_init(&d->cache, d->pd, c->opts.cache_mode, c->opts.cache_max_bytes);
	return 0;
}

/* device_of -- the connection's device for id (added the first time); NULL with *err set */
static struct rcp_cli_dev *device_of(struct rdmacpy_conn *c, struct rdma_cm_id *id, int *err)
{
	unsigned int i;

	for (i = 0; i < c->ndev; i++)
		if (c->dev[i].verbs == id->verbs)
			return &c->dev[i];
	/* memory registered before this device came (an adopted MR) would have no lkey here */
	if (c->ndev == RCP_DEVS_MAX || (c->ndev && c->mems)) {
		*err = -ENODEV;
		return NULL;
	}
	*err = device_add(c, id, &c->dev[c->ndev]);
	c->ndev++;
	return *err ? NULL : &c->dev[c->ndev - 1];
}

/* on_addr_resolved -- the id knows its device: set the device up once, then the route */
static void on_addr_resolved(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	int ret;

	if (c->device[0] && q->rail == 0 &&
	    (strcmp(q->id->verbs->device->name, c->device) ||
	     (c->opts.device_port && q->id->port_num != c->opts.device_port))) {
		rcp_conn_set_error(c, "the route to %s leaves through %s port %u, not %s port %u",
				   c->host, q->id->verbs->device->name, q->id->port_num, c->device,
				   c->opts.device_port);
		qp_failed(q, -ENODEV, false, NULL);
		return;
	}
	q->dev = device_of(c, q->id, &ret);
	if (!q->dev) {
		rcp_conn_set_error(c, "device setup failed: %s", strerror(-ret));
		qp_failed(q, ret, false, NULL);
		return;
	}
	rcp_rail_resolved(q);
	ret = rcp_vb_resolve_route(q->id, STEP_MS);
	if (ret) {
		qp_failed(q, ret, false, "resolving the route failed");
		return;
	}
	q->state = RCP_QP_RESOLVING_ROUTE;
}

/* on_route_resolved -- the QP itself, then connect with our private data */
static void on_route_resolved(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_cm_private priv = {0};
	uint8_t pdata[RCP_CM_PRIVATE_LEN];
	size_t plen;
	int ret;

	ret = rcp_qp_setup(q);
	if (ret) {
		rcp_conn_set_error(c, "setting up the queue pair failed: %s", strerror(-ret));
		qp_failed(q, ret, false, NULL);
		return;
	}
	rcp_auth_nonce(q->nonce);
	memcpy(priv.nonce, q->nonce, RCP_NONCE_LEN);
	priv.version = q->version;
	priv.flags = c->have_key ? 0 : RCP_CM_F_NO_KEY;
	ret = rcp_cm_private_encode(&priv, pdata, sizeof(pdata), &plen);
	if (!ret)
		ret = rcp_vb_connect(q->id, NULL, pdata, plen);
	if (ret) {
		qp_failed(q, ret == -EIO ? -ECONNREFUSED : ret, false, "rdma_connect failed");
		return;
	}
	q->state = RCP_QP_CONNECTING;
}

/* on_rejected -- why the daemon refused, from the reject's private data; some refusals are
 * worth another attempt */
static void on_rejected(struct rcp_cli_qp *q, const struct rdma_cm_event *ev)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_cm_reject rej;
	bool retry = false;

	if (!ev->param.conn.private_data || !ev->param.conn.private_data_len ||
	    rcp_cm_reject_decode(ev->param.conn.private_data, ev->param.conn.private_data_len,
				 &rej)) {
		rcp_conn_set_error(c, "connection rejected (status %d): no daemon listening?",
				   ev->status);
		qp_failed(q, -ECONNREFUSED, false, NULL);
		return;
	}
	rcp_conn_set_error(c, "the daemon refused the connection: %s (its version %u)",
			   rcp_reject_name(rej.reason), rej.version);
	if (rej.reason == RCP_REJECT_BUSY) {
		retry = true;
	} else if (rej.reason == RCP_REJECT_BAD_VERSION && rej.version < q->version &&
		   rcp_version_ok(rej.version)) {
		/* an older daemon: speak its version */
		q->version = rej.version;
		retry = true;
	}
	qp_failed(q, rcp_reject_errno(rej.reason), retry, NULL);
}

/* rcp_connect_cm_event -- one rdma_cm event, by the state of the QP it names */
void rcp_connect_cm_event(struct rdmacpy_conn *c, const struct rdma_cm_event *ev)
{
	struct rcp_cli_qp *q = ev->id ? ev->id->context : NULL;
	enum rdma_cm_event_type t = ev->event;

	if (!q || q->conn != c)
		return;
	if (q->state == RCP_QP_READY || q->state == RCP_QP_FAILED) {
		/* the QP is still moved to the error state (rcp_qp_fail disconnects it), so that
		 * what is in flight comes back flushed instead of waiting for its timeout */
		if ((t == RDMA_CM_EVENT_DISCONNECTED || t == RDMA_CM_EVENT_DEVICE_REMOVAL) &&
		    q->established && !rcp_rail_fail(q, -ENOTCONN, "the daemon disconnected"))
			rcp_conn_fail(c, -ENOTCONN, "the daemon disconnected");
		return;
	}
	switch (t) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		if (q->state == RCP_QP_RESOLVING_ADDR)
			on_addr_resolved(q);
		return;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		if (q->state == RCP_QP_RESOLVING_ROUTE)
			on_route_resolved(q);
		return;
	case RDMA_CM_EVENT_ESTABLISHED:
		if (q->state == RCP_QP_CONNECTING) {
			q->established = true;
			q->state = RCP_QP_CHALLENGED;
		}
		return;
	case RDMA_CM_EVENT_REJECTED:
		on_rejected(q, ev);
		return;
	case RDMA_CM_EVENT_ADDR_ERROR:
		rcp_conn_set_error(c, "no route to %s: %s (status %d)", c->host,
				   rcp_vb_cm_event_str(t), ev->status);
		qp_failed(q, -ENODEV, false, NULL);
		return;
	case RDMA_CM_EVENT_DISCONNECTED:
		/* closed before it authenticated, without a word: evicted, try again */
		q->established = false;
		qp_failed(q, -ECONNRESET, true,
			  "the daemon closed the connection before "
			  "authentication");
		return;
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		rcp_conn_set_error(c, "%s (status %d) while %s", rcp_vb_cm_event_str(t), ev->status,
				   rcp_qp_state_str(q->state));
		qp_failed(q, -ECONNREFUSED, false, NULL);
		return;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		qp_failed(q, -ENODEV, false, "the RDMA device went away");
		return;
	default:
		rcp_dbg(&c->log, "qp %u: ignoring %s", q->idx, rcp_vb_cm_event_str(t));
		return;
	}
}

/* auth_done -- AUTH_OK (check the daemon's proof) or a refusal */
static bool auth_done(struct rcp_creq *r, const struct rcp_msg *m, int err)
{
	struct rcp_cli_qp *q = r->owner;
	struct rdmacpy_conn *c = q->conn;
	uint8_t expect[RCP_MAC_LEN];

	if (err) {
		/* closed or flushed without an ERROR: evicted, not refused */
		qp_failed(q, err, err == -ENOTCONN, NULL);
		return true;
	}
	if (!(q->caps & RCP_CAP_NO_AUTH)) {
		rcp_auth_server_mac(&c->key, q->server_nonce, q->nonce, expect);
		if (!rcp_auth_verify(expect, m->u.auth_ok.mac)) {
			qp_failed(q, -EKEYREJECTED, false,
				  "the daemon's MAC is wrong: it does not hold the key");
			return true;
		}
	} else if (c->have_key) {
		rcp_warn(&c->log, "the daemon runs without authentication: it is not verified");
	}
	q->state = RCP_QP_READY;
	q->pause_ms = 0;
	if (c->connected)
		rcp_rail_qp_ready(q);
	else
		rcp_connect_check_ready(c);
	return true;
}

/* rcp_connect_ctrl_msg -- CHALLENGE (answer it with AUTH), or the daemon's closing word */
void rcp_connect_ctrl_msg(struct rcp_cli_qp *q, const struct rcp_msg *m)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_creq *r;
	struct rcp_msg auth;
	int err = 0;

	if (m->hdr.type == RCP_MSG_ERROR) {
		rcp_conn_set_error(c, "%s", m->u.error.text);
		qp_failed(q, rcp_err_errno(m->u.error.code), false, NULL);
		return;
	}
	if (m->hdr.type != RCP_MSG_CHALLENGE || q->state != RCP_QP_CHALLENGED) {
		rcp_dbg(&c->log, "qp %u: unexpected %s while %s", q->idx,
			rcp_msg_type_name(m->hdr.type), rcp_qp_state_str(q->state));
		return;
	}
	memcpy(q->server_nonce, m->u.challenge.nonce, RCP_NONCE_LEN);
	q->caps = m->u.challenge.caps;
	if (!(q->caps & RCP_CAP_NO_AUTH) && !c->have_key) {
		qp_failed(q, -EKEYREJECTED, false, "the daemon requires a key and none was given");
		return;
	}
	rcp_msg_init(&auth, RCP_MSG_AUTH, 0);
	if (!(q->caps & RCP_CAP_NO_AUTH))
		rcp_auth_client_mac(&c->key, q->server_nonce, q->nonce, auth.u.auth.mac);
	r = rcp_creq_new(q, &auth, RCP_MSG_AUTH_OK, 0, rcp_ms_left(c->connect_deadline_ns) + 1,
			 auth_done, q, q->idx, &err);
	if (!r) {
		qp_failed(q, err, false, "cannot build AUTH");
		return;
	}
	/* AUTH goes before anything the application queued meanwhile */
	r->next = q->ctrl.head;
	q->ctrl.head = r;
	if (!q->ctrl.tail)
		q->ctrl.tail = r;
	q->state = RCP_QP_AUTHENTICATING;
	rcp_ctrl_pump(q);
}

/* rcp_connect_qp_start -- an attempt: a fresh id, resolving its rail's address (the first
 * rail's from the device asked for, if one was) */
void rcp_connect_qp_start(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;
	const struct sockaddr_storage *dst = q->rail ? &c->rails[q->rail].dst : &c->dst;
	bool src = c->have_src && q->rail == 0;
	int ret;

	q->attempts++;
	c->ctr.connect_attempts++;
	ret = rcp_vb_create_id(c->ch, q, &q->id);
	if (!ret)
		ret = rcp_vb_resolve_addr(q->id, src ? (struct sockaddr *)&c->src : NULL,
					  (const struct sockaddr *)dst, STEP_MS);
	if (ret) {
		rcp_conn_set_error(c, "resolving %s failed: %s", c->host, strerror(-ret));
		q->state = RCP_QP_RESOLVING_ADDR;
		qp_failed(q, ret == -EIO ? -ENODEV : ret, false, NULL);
		return;
	}
	q->state = RCP_QP_RESOLVING_ADDR;
}

/* address_known -- the daemon's address is in: the device's own one, then every QP starts */
static void address_known(struct rdmacpy_conn *c)
{
	char why[256];
	unsigned int i;
	int ret;

	if (c->device[0]) {
		ret = rcp_device_addr(c->device, c->opts.device_port, c->dst.ss_family, &c->src,
				      why, sizeof(why));
		if (ret) {
			connect_fail(c, ret, why);
			return;
		}
		c->have_src = true;
	}
	c->rails[0].dst = c->dst;
	for (i = 0; i < c->nqp && !c->broken; i++)
		rcp_connect_qp_start(&c->qp[i]);
}

/* rcp_connect_start -- look the host up, then start every QP */
int rcp_connect_start(struct rdmacpy_conn *c)
{
	char why[256] = "";
	int fd = -1;
	int ret;

	c->connect_deadline_ns = rcp_now_ns() + (uint64_t)c->opts.timeout_ms * 1000000ull;
	ret = rcp_resolve_start(c->host, c->port, &c->dst, &c->resolve, &fd, why, sizeof(why));
	if (ret) {
		connect_fail(c, ret == -ENOENT ? -ENODEV : ret, why[0] ? why : "cannot resolve");
		return 0;
	}
	if (c->resolve) {
		ret = rcp_conn_watch(c, fd);
		if (ret)
			return ret;
		return 0;
	}
	address_known(c);
	return 0;
}

/* rcp_connect_service -- the lookup's answer, pauses that ended, the deadline */
void rcp_connect_service(struct rdmacpy_conn *c, uint64_t now)
{
	char why[256] = "";
	unsigned int i;
	int ret;

	if (c->connected || !connecting(c))
		return;
	if (c->resolve) {
		ret = rcp_resolve_poll(c->resolve, &c->dst, why, sizeof(why));
		if (ret == -EINPROGRESS && now < c->connect_deadline_ns)
			return;
		rcp_resolve_abandon(&c->resolve);
		if (ret) {
			connect_fail(c, ret == -EINPROGRESS ? -ETIMEDOUT : -ENODEV,
				     ret == -EINPROGRESS ? "timed out resolving the host" : why);
			return;
		}
		address_known(c);
		return;
	}
	for (i = 0; i < c->nqp && connecting(c); i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		if (q->state == RCP_QP_BACKOFF && now >= q->retry_at_ns) {
			if (now >= c->connect_deadline_ns) {
				q->state = RCP_QP_FAILED;
				connect_fail(c, q->broken_err ? q->broken_err : -ETIMEDOUT, NULL);
				return;
			}
			rcp_connect_qp_start(q);
		}
	}
	if (connecting(c) && now >= c->connect_deadline_ns) {
		const struct rcp_cli_qp *late = NULL;

		for (i = 0; i < c->nqp; i++)
			if (c->qp[i].rail == 0 && c->qp[i].state != RCP_QP_READY && !late)
				late = &c->qp[i];
		if (!late && c->nrails > 1) {
			/* the first rail is up: the others that did not make it are skipped */
			rcp_rails_service(c, now);
			rcp_connect_check_ready(c);
			if (!connecting(c) || c->connected)
				return;
		}
		/* no answer from the network is "cannot reach"; no answer from the daemon once
		 * connected is a timeout */
		rcp_conn_set_error(c, "timed out while %s",
				   late ? rcp_qp_state_str(late->state) : "connecting");
		connect_fail(c,
			     late && late->state >= RCP_QP_CHALLENGED ? -ETIMEDOUT : -EHOSTUNREACH,
			     NULL);
	}
}

/* rcp_connect_deadline -- the next look connecting needs without an event */
uint64_t rcp_connect_deadline(const struct rdmacpy_conn *c)
{
	uint64_t d;
	unsigned int i;

	if (c->connected || !connecting(c))
		return UINT64_MAX;
	d = c->connect_deadline_ns;
	for (i = 0; i < c->nqp; i++)
		if (c->qp[i].state == RCP_QP_BACKOFF && c->qp[i].retry_at_ns < d)
			d = c->qp[i].retry_at_ns;
	return d;
}

/* rcp_connect_closing -- stop: the lookup is abandoned, the connect op cancelled */
void rcp_connect_closing(struct rdmacpy_conn *c)
{
	rcp_resolve_abandon(&c->resolve);
	connect_op_done(c, -ECANCELED);
}

/* rcp_connect_again -- every queue pair down (what it still held is retired: the transfers run
 * again later), then each connects afresh to the address resolved the first time */
void rcp_connect_again(struct rdmacpy_conn *c)
{
	unsigned int i;

	c->reconnecting = true;
	c->connected = false;
	c->connect_deadline_ns = c->resume_deadline_ns;
	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		rcp_qp_reap_all(q);
		rcp_connect_qp_reset(q);
		q->attempts = 0;
		q->pause_ms = 0;
	}
	rcp_rails_resumed(c);
	for (i = 0; i < c->rails[0].n && c->reconnecting; i++)
		rcp_connect_qp_start(&c->qp[i]);
}
