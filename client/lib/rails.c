/* SPDX-License-Identifier: BSD-3-Clause */
/* rails.c -- a connection over several rails (daemon address x the local port its route leaves
 * through): finding them, weighting the stripes, taking a failed one out, bringing it back */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/request.h"

/*
 * The life of a rail.
 *
 * Rail 0 is the address the connection was opened with. Once its queue pairs are
 * authenticated, a connection asked for more rails sends INFO on QP 0 and adds a rail for each
 * other address the daemon serves on, with nqp queue pairs of its own; rdma_cm picks the local
 * port by the route to that address, so two NICs on two subnets give two disjoint paths. A rail
 * that cannot connect then is skipped for good (the log says why); the connection is connected
 * once every rail is ready or skipped.
 *
 * A rail fails on a completion error on one of its queue pairs, a control receive that fails,
 * or an rdma_cm disconnect. While another rail is up, that is a failover, not a broken
 * connection: the rail's queue pairs go to the error state, so everything they hold comes back
 * flushed; each transfer WR that comes back so is queued again as a byte range of its
 * transfer (rcp_xfer_redo), and so is whatever the rail had not posted yet of its stripes. The
 * queue pairs of the rails left take those ranges up. An RDMA READ or WRITE of the same bytes
 * to the same place may run twice, so a WR that may or may not have run is run again. The
 * operation's callback still runs once, when every byte is moved.
 *
 * A failed rail connects again in the background: after a
 * pause from RETRY_MIN_MS doubling up to RETRY_MAX_MS (jittered), each attempt bounded by the
 * connection's timeout. Authenticated again, it opens every live grant on its queue pairs
 * (the region must be the same instance) and only then takes work again.
 *
 * A rail can also fail silently: rxe retries a cut wire's packets without ever reporting
 * retry-exceeded. A rail with work out and no completion for half the connection's timeout has
 * failed too (rcp_rails_watch), as long as another rail still completes or has nothing to do.
 * When every rail stops at once, the wires are not what failed one by one: the peer or this
 * host stalled, or every wire is cut. Failing the rails over to each other would only end the
 * connection on the first pause, so it fails as a whole, after three quarters of the timeout
 * without a completion on any rail; the work still ends within the timeout. How transfers are
 * cut over the rails is rail_weights.c's.
 */

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
/* how often the devices' asynchronous events are looked at (a watched fd that is readable
 * wakes the application at most this long for nothing) */
#define PORT_CHECK_NS 1000000ull
#define STALL_MIN_MS  500

/* What the stall watch sees at a moment (stall_scan). */
struct stall_scan {
	int rail;		     /* stalled while another rail is not: to fail over; -1 none */
	const struct rcp_cli_qp *qp; /* rail: its QP that stopped completing */
	bool all;		     /* every usable rail has stalled */
	uint64_t all_fail_ns;	     /* all: when the connection fails, unless one completes */
	uint64_t next_ns;	     /* otherwise: when to look again; UINT64_MAX never */
};

static void stall_scan(const struct rdmacpy_conn *c, uint64_t now, struct stall_scan *s);

/* rail_ready -- every QP of rail r is authenticated and unbroken */
static bool rail_ready(const struct rdmacpy_conn *c, unsigned int r)
{
	const struct rcp_rail *rl = &c->rails[r];
	unsigned int i;

	for (i = rl->first; i < rl->first + rl->n; i++)
		if (c->qp[i].state != RCP_QP_READY || c->qp[i].broken)
			return false;
	return true;
}

/* rcp_rail_usable -- rail r takes work */
bool rcp_rail_usable(const struct rdmacpy_conn *c, unsigned int r)
{
	const struct rcp_rail *rl = &c->rails[r];

	return !rl->skipped && !rl->down && !rl->rejoining && rail_ready(c, r);
}

/* rcp_rails_init -- one rail, to the address the connection opens with; room for the rest */
void rcp_rails_init(struct rdmacpy_conn *c)
{
	unsigned int want = c->opts.rails ? c->opts.rails : 1;

	if (want > RDMACPY_MAX_RAILS)
		want = RDMACPY_MAX_RAILS;
	if (want > RDMACPY_MAX_QP / c->nqp)
		want = RDMACPY_MAX_QP / c->nqp;
	if (!want)
		want = 1;
	c->want_rails = want;
	c->qp_cap = c->nqp * want;
	c->nrails = 1;
	c->rails[0].first = 0;
	c->rails[0].n = c->nqp;
	snprintf(c->rails[0].name, sizeof(c->rails[0].name), "%.63s", c->host);
}

/* rcp_rail_resolved -- q's address resolved: its rail learns its local device and port */
void rcp_rail_resolved(struct rcp_cli_qp *q)
{
	struct rcp_rail *rl = &q->conn->rails[q->rail];
	struct rcp_vb_caps caps;

	if (rl->dev == q->dev && rl->port_num == q->id->port_num)
		return;
	rl->dev = q->dev;
	rl->port_num = q->id->port_num;
	rl->rate_mbps = q->dev->caps.rate_mbps;
	if (rl->port_num && rcp_vb_query_caps(q->id->verbs, rl->port_num, &caps) == 0)
		rl->rate_mbps = caps.rate_mbps;
}

/* ---- finding the rails ---- */

/* same_addr -- two socket addresses name the same host */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return false;
}

/* rail_add -- a rail to addr:port with nqp queue pairs of its own, started; false: no room or
 * not an address */
static bool rail_add(struct rdmacpy_conn *c, const char *addr, uint16_t port, uint64_t deadline)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct rcp_rail *rl;
	char svc[8];
	unsigned int i;

	if (c->nrails >= c->want_rails || c->nqp + c->opts.nqp > c->qp_cap)
		return false;
	snprintf(svc, sizeof(svc), "%u", port);
	if (getaddrinfo(addr, svc, &hints, &res) || !res)
		return false;
	rl = &c->rails[c->nrails];
	memset(rl, 0, sizeof(*rl));
	memcpy(&rl->dst, res->ai_addr,
	       res->ai_addrlen < sizeof(rl->dst) ? res->ai_addrlen : sizeof(rl->dst));
	freeaddrinfo(res);
	for (i = 0; i < c->nrails; i++) {
		if (same_addr(&c->rails[i].dst, &rl->dst)) {
			memset(rl, 0, sizeof(*rl));
			return false;
		}
	}
	snprintf(rl->name, sizeof(rl->name), "%s", addr);
	rl->first = c->nqp;
	rl->n = c->opts.nqp;
	rl->attempt_deadline_ns = deadline;
	for (i = rl->first; i < rl->first + rl->n; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		q->rail = c->nrails;
		/* the protocol the first rail settled on: the same daemon */
		q->version = c->qp[0].version;
	}
	c->nqp += rl->n;
	c->nrails++;
	rcp_info(&c->log, "rail %u: to %s", c->nrails - 1, rl->name);
	for (i = rl->first; i < rl->first + rl->n; i++)
		rcp_connect_qp_start(&c->qp[i]);
	return true;
}

/* info_done -- the daemon's addresses: a rail to each one not yet used */
static bool info_done(struct rcp_creq *r, const struct rcp_msg *m, int err)
{
	struct rdmacpy_conn *c = r->owner;
	uint64_t deadline = c->connect_deadline_ns;
	unsigned int i;

	c->rails_known = true;
	if (err || !m) {
		rcp_warn(&c->log, "cannot learn the daemon's other addresses (%s): one rail",
			 strerror(err ? -err : EPROTO));
	} else {
		const struct rcp_msg_info_reply *info = &m->u.info_reply;

		for (i = 0; i < info->count && i < RCP_INFO_MAX; i++)
			rail_add(c, info->addrs[i].addr, info->port, deadline);
		if (c->nrails == 1)
			rcp_info(&c->log, "the daemon serves on no other address: one rail");
	}
	rcp_connect_check_ready(c);
	return true;
}

/* rcp_rails_known -- the rails are all added: asks the daemon first (INFO) when more than one is
 * wanted; false while its answer is awaited */
bool rcp_rails_known(struct rdmacpy_conn *c)
{
	struct rcp_creq *r;
	struct rcp_msg m;
	int err = 0;

	if (c->want_rails <= 1 || c->rails_known)
		return true;
	if (c->rails_asked)
		return false;
	c->rails_asked = true;
	if (c->qp[0].version < 3) {
		rcp_warn(&c->log, "the daemon speaks protocol %u, which has no INFO: one rail",
			 c->qp[0].version);
		c->rails_known = true;
		return true;
	}
	rcp_msg_init(&m, RCP_MSG_INFO, 0);
	r = rcp_creq_new(&c->qp[0], &m, RCP_MSG_INFO_REPLY, 0, c->opts.timeout_ms, info_done, c, 0,
			 &err);
	if (!r) {
		c->rails_known = true;
		return true;
	}
	rcp_ctrl_submit(r);
	rcp_ctrl_pump(&c->qp[0]);
	return false;
}

/* rcp_rail_settled -- rail r is ready, skipped or down: connecting does not wait for it */
bool rcp_rail_settled(const struct rdmacpy_conn *c, unsigned int r)
{
	const struct rcp_rail *rl = &c->rails[r];

	return rl->skipped || rl->down || rail_ready(c, r);
}

/* rail_reset -- every QP of rail r taken down and idle. What they still held is retired first
 * (on a failed rail: queued to run on another), then the QPs are destroyed, so the device is
 * done with those WRs before anything waiting on them finishes. Flushes normally retire them
 * sooner; this is for those that never come */
static void rail_reset(struct rdmacpy_conn *c, unsigned int r)
{
	struct rcp_rail *rl = &c->rails[r];
	unsigned int i;

	for (i = rl->first; i < rl->first + rl->n; i++) {
		/* its own reopens go without a word, anything else left fails (nothing of the
		 * application's is sent to a rail that is not up) */
		rcp_ctrl_cancel_owner(&c->qp[i], rl);
		rcp_ctrl_fail_all(&c->qp[i], -ENETDOWN);
		rcp_qp_reap_all(&c->qp[i]);
		rcp_connect_qp_reset(&c->qp[i]);
	}
	rl->reopening = 0;
	rl->busy_since_ns = 0;
}

/* rail_retry_later -- the next rejoin attempt of rail r after a growing pause */
static void rail_retry_later(struct rdmacpy_conn *c, unsigned int r)
{
	struct rcp_rail *rl = &c->rails[r];
	unsigned int pause = rcp_backoff_pause(&rl->pause_ms, RETRY_MIN_MS, RETRY_MAX_MS);

	rl->retry_at_ns = rcp_now_ns() + (uint64_t)pause * 1000000ull;
}

/* rcp_rail_attempt_failed -- an attempt of q (of a rail other than the first, or rejoining)
 * failed: the rail is skipped (connecting) or tried again later. false: connecting fails as
 * for a single rail */
bool rcp_rail_attempt_failed(struct rcp_cli_qp *q, int err, const char *why)
{
	struct rdmacpy_conn *c = q->conn;
	struct rcp_rail *rl = &c->rails[q->rail];

	if (rl->rejoining) {
		rcp_dbg(&c->log, "rail %u (%s): rejoin attempt failed: %s", q->rail, rl->name,
			why ? why : strerror(-err));
		/* first: the reset fails what the attempt had out, which lands here again */
		rl->rejoining = false;
		rail_reset(c, q->rail);
		rail_retry_later(c, q->rail);
		return true;
	}
	if (q->rail == 0)
		return false;
	if (!rl->down && !rl->skipped) {
		/* first: the reset fails what the attempt had out, which lands here again */
		rl->skipped = true;
		rcp_warn(&c->log, "rail %u (%s) skipped: %s", q->rail, rl->name,
			 why ? why : strerror(-err));
		rail_reset(c, q->rail);
		rcp_connect_check_ready(c);
	}
	return true;
}

/* ---- failover ---- */

/* rcp_rails_up -- rails taking work */
unsigned int rcp_rails_up(const struct rdmacpy_conn *c)
{
	unsigned int r;
	unsigned int n = 0;

	for (r = 0; r < c->nrails; r++)
		n += rcp_rail_usable(c, r);
	return n;
}

/* rail_stripes_out -- what rail r had not posted yet of each transfer goes to the rest */
static void rail_stripes_out(struct rdmacpy_conn *c, unsigned int r)
{
	const struct rcp_rail *rl = &c->rails[r];
	struct rdmacpy_op *op;
	unsigned int i;

	for (op = c->active_head; op; op = op->next) {
		if (op->kind != RCP_OP_XFER || op->err)
			continue;
		for (i = rl->first; i < rl->first + rl->n; i++) {
			struct rcp_sgl_cursor *cur = &op->cur[i];

			if (!cur->left)
				continue;
			if (rcp_xfer_redo(op, cur->pos, cur->left))
				rcp_op_fail(op, -ENOMEM);
			cur->left = 0;
		}
	}
}

/* no_rail_left -- the last rail failed (what, why): unless a reconnect bound may still save
 * the work, the transfers fail saying no rail is left; the caller then breaks the connection */
static void no_rail_left(struct rdmacpy_conn *c, const char *what, const char *why)
{
	struct rdmacpy_op *op;

	if (c->opts.reconnect_ms)
		return;
	rcp_conn_set_error(c, "every rail is down (%s: %s)", what, why ? why : "");
	for (op = c->active_head; op; op = op->next)
		if (op->kind == RCP_OP_XFER)
			rcp_op_fail(op, -ENETDOWN);
}

/* rcp_rail_fail -- q's rail failed (err, why): taken out while another rail is up (true);
 * false: the connection itself breaks (or resumes) as with one rail */
bool rcp_rail_fail(struct rcp_cli_qp *q, int err, const char *why)
{
	struct rdmacpy_conn *c = q->conn;
	unsigned int r = q->rail;
	struct rcp_rail *rl = &c->rails[r];
	unsigned int i;

	if (c->nrails <= 1 || c->closing || c->broken || c->resuming)
		return false;
	if (rl->skipped || rl->down)
		return true;
	if (!c->connected)
		return false;
	rl->down = true;
	if (!rcp_rails_up(c)) {
		char what[96];

		rl->down = false;
		snprintf(what, sizeof(what), "the last, %s", rl->name);
		no_rail_left(c, what, why);
		return false;
	}
	c->ctr.failovers++;
	rl->busy_since_ns = 0;
	rcp_warn(&c->log, "rail %u (%s) failed: %s; its work goes to the %u rail(s) left", r,
		 rl->name, why ? why : "", rcp_rails_up(c));
	for (i = rl->first; i < rl->first + rl->n; i++) {
		rcp_qp_fail(&c->qp[i], err);
		rcp_ctrl_fail_all(&c->qp[i], -ENETDOWN);
	}
	rail_stripes_out(c, r);
	rl->pause_ms = 0;
	rail_retry_later(c, r);
	return true;
}

/* rcp_rail_lost_wr -- a transfer WR of q came back failed: on a rail taken out, its bytes are
 * queued to run on another rail (true); false: it fails as usual */
bool rcp_rail_lost_wr(struct rcp_cli_qp *q, struct rdmacpy_op *op, uint64_t off, uint32_t len)
{
	struct rdmacpy_conn *c = q->conn;

	if (!c->rails[q->rail].down || c->broken || op->err || !len)
		return false;
	if (rcp_xfer_redo(op, off, len))
		return false;
	c->ctr.wrs_reissued++;
	return true;
}

/* ---- rejoining ---- */

/* rail_up -- rail r takes work again */
static void rail_up(struct rdmacpy_conn *c, unsigned int r)
{
	struct rcp_rail *rl = &c->rails[r];

	rl->down = false;
	rl->rejoining = false;
	rl->pause_ms = 0;
	rl->bytes_done = 0;
	rl->busy_ns = 0;
	rl->measured = 0;
	c->ctr.rejoins++;
	rcp_warn(&c->log, "rail %u (%s) rejoined: %u rail(s) up", r, rl->name, rcp_rails_up(c));
}

/* rail_open_done -- a live grant opened on a rejoining QP: the same region, its key there */
static bool rail_open_done(struct rcp_creq *r, const struct rcp_msg *m, int err)
{
	struct rcp_rail *rl = r->owner;
	struct rcp_cli_qp *q = r->q;
	struct rdmacpy_conn *c = q->conn;
	unsigned int ri = (unsigned int)(rl - c->rails);
	struct rdmacpy_grant *g;

	for (g = c->grants; g; g = g->next)
		if (g->serial == r->tag)
			break;
	if (!err && m && g) {
		const struct rcp_msg_open_reply *o = &m->u.open_reply;

		if (g->instance && o->instance != g->instance) {
			rcp_warn(&c->log, "rail %u (%s): region %s was recreated: it stays out", ri,
				 rl->name, g->region);
			err = -ESTALE;
		} else {
			g->q[r->part].id = o->grant_id;
			g->q[r->part].rkey = o->rkey;
			g->q[r->part].addr = o->addr;
		}
	} else if (!err && m && !g) {
		/* closed while this was out: the new window goes too */
		rcp_grant_close_orphan(q, m->u.open_reply.grant_id);
	}
	if (err) {
		rcp_rail_attempt_failed(q, err ? err : -EPROTO, "opening the grants again failed");
		return true;
	}
	if (rl->reopening && --rl->reopening == 0)
		rail_up(c, ri);
	return true;
}

/* rail_reopen -- the rail's QPs are authenticated again: every live grant on each */
static void rail_reopen(struct rdmacpy_conn *c, unsigned int r)
{
	struct rcp_rail *rl = &c->rails[r];
	struct rdmacpy_grant *g;
	unsigned int i;

	rl->reopening = 0;
	for (g = c->grants; g; g = g->next) {
		struct rcp_msg m;

		rcp_grant_open_msg(g, &m);
		for (i = rl->first; i < rl->first + rl->n; i++) {
			int err = 0;
			struct rcp_creq *cr =
				rcp_creq_new(&c->qp[i], &m, RCP_MSG_OPEN_REPLY, 0,
					     c->opts.timeout_ms, rail_open_done, rl, i, &err);

			if (!cr) {
				rcp_rail_attempt_failed(&c->qp[i], err, "cannot build OPEN");
				return;
			}
			cr->tag = g->serial;
			rl->reopening++;
			rcp_ctrl_submit(cr);
		}
	}
	if (!rl->reopening) {
		rail_up(c, r);
		return;
	}
	for (i = rl->first; i < rl->first + rl->n; i++)
		rcp_ctrl_pump(&c->qp[i]);
}

/* rcp_rail_qp_ready -- a QP of a rejoining rail authenticated */
void rcp_rail_qp_ready(struct rcp_cli_qp *q)
{
	struct rdmacpy_conn *c = q->conn;

	if (c->rails[q->rail].rejoining && rail_ready(c, q->rail))
		rail_reopen(c, q->rail);
}

/* rail_rejoin -- rail r's next attempt: its QPs connect again */
static void rail_rejoin(struct rdmacpy_conn *c, unsigned int r, uint64_t now)
{
	struct rcp_rail *rl = &c->rails[r];
	unsigned int i;

	rail_reset(c, r);
	rl->rejoining = true;
	rl->attempt_deadline_ns = now + (uint64_t)c->opts.timeout_ms * 1000000ull;
	rcp_dbg(&c->log, "rail %u (%s): connecting again", r, rl->name);
	for (i = rl->first; i < rl->first + rl->n && rl->rejoining; i++)
		rcp_connect_qp_start(&c->qp[i]);
}

/* port_down -- port of device d went down (or the whole device, port 0): its rails fail */
static void port_down(struct rdmacpy_conn *c, const struct rcp_cli_dev *d, uint8_t port,
		      const char *what)
{
	char why[96];
	unsigned int r;

	snprintf(why, sizeof(why), "%s on %s port %u", what, d->verbs->device->name, port);
	for (r = 0; r < c->nrails; r++) {
		const struct rcp_rail *rl = &c->rails[r];

		if (rl->dev == d && (!port || rl->port_num == port) && rcp_rail_usable(c, r))
			rcp_rail_fail(&c->qp[rl->first], -ENETDOWN, why);
	}
}

/* port_events -- the devices' asynchronous events: a port (or device) that went down takes
 * its rails out before their WRs time out */
static void port_events(struct rdmacpy_conn *c, uint64_t now)
{
	struct ibv_async_event ev;
	unsigned int i;

	if (now < c->port_check_ns)
		return;
	c->port_check_ns = now + PORT_CHECK_NS;
	for (i = 0; i < c->ndev; i++) {
		struct rcp_cli_dev *d = &c->dev[i];

		while (rcp_vb_get_async_event(d->verbs, &ev) == 0) {
			enum ibv_event_type t = ev.event_type;
			uint8_t port = (uint8_t)ev.element.port_num;

			rcp_vb_ack_async_event(&ev);
			if (t == IBV_EVENT_PORT_ERR)
				port_down(c, d, port, "port error");
			else if (t == IBV_EVENT_DEVICE_FATAL)
				port_down(c, d, 0, "device fatal error");
			if (c->broken)
				return;
		}
	}
}

/* rcp_rails_service -- ports that went down, rejoin attempts that are due or overdue; rails
 * that did not connect in time when the connection opened are skipped */
void rcp_rails_service(struct rdmacpy_conn *c, uint64_t now)
{
	unsigned int r;

	if (c->nrails <= 1 || c->broken || c->closing || c->resuming)
		return;
	if (c->connected)
		port_events(c, now);
	for (r = 0; r < c->nrails; r++) {
		struct rcp_rail *rl = &c->rails[r];

		if (rl->skipped)
			continue;
		if (!c->connected) {
			if (r && !rcp_rail_settled(c, r) && now >= rl->attempt_deadline_ns) {
				rl->skipped = true;
				rcp_warn(&c->log, "rail %u (%s) skipped: no answer within %d ms", r,
					 rl->name, c->opts.timeout_ms);
				rail_reset(c, r);
				rcp_connect_check_ready(c);
			}
			continue;
		}
		if (rl->rejoining && now >= rl->attempt_deadline_ns) {
			rcp_dbg(&c->log, "rail %u (%s): rejoin attempt timed out", r, rl->name);
			rl->rejoining = false;
			rail_reset(c, r);
			rail_retry_later(c, r);
		} else if (rl->down && !rl->rejoining && now >= rl->retry_at_ns) {
			rail_rejoin(c, r, now);
		}
	}
}

/* rcp_rails_deadline -- when a rail needs a look without an event; UINT64_MAX none */
uint64_t rcp_rails_deadline(const struct rdmacpy_conn *c)
{
	uint64_t d = UINT64_MAX;
	unsigned int r;

	if (c->nrails <= 1 || c->broken || c->resuming)
		return d;
	for (r = 0; r < c->nrails; r++) {
		const struct rcp_rail *rl = &c->rails[r];
		uint64_t t = UINT64_MAX;

		if (rl->skipped)
			continue;
		if (rl->rejoining || (!c->connected && r))
			t = rl->attempt_deadline_ns;
		else if (rl->down)
			t = rl->retry_at_ns;
		if (t < d)
			d = t;
	}
	if (c->connected) {
		struct stall_scan s;

		stall_scan(c, rcp_now_ns(), &s);
		if (s.rail >= 0)
			return 0;
		if (s.all && s.all_fail_ns < d)
			d = s.all_fail_ns;
		else if (!s.all && s.next_ns < d)
			d = s.next_ns;
	}
	return d;
}

/* rcp_rails_resumed -- a resume connected the first rail again: the others come back by
 * themselves, as failed rails do */
void rcp_rails_resumed(struct rdmacpy_conn *c)
{
	unsigned int r;

	c->rails[0].down = false;
	c->rails[0].rejoining = false;
	for (r = 1; r < c->nrails; r++) {
		struct rcp_rail *rl = &c->rails[r];

		if (rl->skipped)
			continue;
		rl->down = true;
		rl->rejoining = false;
		rl->pause_ms = 0;
		rl->retry_at_ns = 0;
	}
}

/* stall_ns -- how long a rail with work out may go without a completion: half the
 * connection's timeout (at least STALL_MIN_MS), far from a slow emulated link's pace (a
 * completion every few hundred ms under moderation) */
static uint64_t stall_ns(const struct rdmacpy_conn *c)
{
	uint64_t ms = (uint64_t)c->opts.timeout_ms / 2;

	return (ms < STALL_MIN_MS ? STALL_MIN_MS : ms) * 1000000ull;
}

/* all_stall_ns -- how long every rail may go without a completion before the connection
 * fails: three quarters of the timeout, so the work still ends within it */
static uint64_t all_stall_ns(const struct rdmacpy_conn *c)
{
	uint64_t ms = (uint64_t)c->opts.timeout_ms * 3 / 4;

	return (ms < STALL_MIN_MS ? STALL_MIN_MS : ms) * 1000000ull;
}

/* rail_stalled_at -- when rail r counts as stalled if nothing completes: the earliest of its
 * QPs with a signaled WR out (a transfer WR, a control SEND, a flush WR); UINT64_MAX: none, or
 * the rail is not up. *qp (may be NULL) gets that QP; *last (may be NULL) the latest completion
 * (or first signaled WR) on any of its QPs */
static uint64_t rail_stalled_at(const struct rdmacpy_conn *c, unsigned int r,
				const struct rcp_cli_qp **qp, uint64_t *last)
{
	const struct rcp_rail *rl = &c->rails[r];
	uint64_t at = UINT64_MAX;
	unsigned int i;

	if (!rcp_rail_usable(c, r))
		return UINT64_MAX;
	for (i = rl->first; i < rl->first + rl->n; i++) {
		const struct rcp_cli_qp *q = &c->qp[i];

		if (last && q->progress_ns > *last)
			*last = q->progress_ns;
		if (q->sig_outstanding && q->progress_ns + stall_ns(c) < at) {
			at = q->progress_ns + stall_ns(c);
			if (qp)
				*qp = q;
		}
	}
	return at;
}

/* stall_scan -- which rails have stalled at now, and what follows from it */
static void stall_scan(const struct rdmacpy_conn *c, uint64_t now, struct stall_scan *s)
{
	uint64_t last_ns = 0; /* the latest completion (or first signaled WR) on a stalled rail */
	unsigned int usable = 0;
	unsigned int stalled = 0;
	unsigned int r;

	memset(s, 0, sizeof(*s));
	s->rail = -1;
	s->next_ns = UINT64_MAX;
	if (c->nrails <= 1 || c->broken || c->closing || c->resuming || !c->connected)
		return;
	for (r = 0; r < c->nrails; r++) {
		const struct rcp_cli_qp *q = NULL;
		uint64_t rail_last = 0;
		uint64_t at;

		if (!rcp_rail_usable(c, r))
			continue;
		usable++;
		at = rail_stalled_at(c, r, &q, &rail_last);
		if (at > now || !q) {
			if (at < s->next_ns)
				s->next_ns = at;
			continue;
		}
		stalled++;
		if (s->rail < 0) {
			s->rail = (int)r;
			s->qp = q;
		}
		/* any of its QPs' completions counts as the path being alive */
		if (rail_last > last_ns)
			last_ns = rail_last;
	}
	if (stalled && stalled == usable) {
		s->rail = -1;
		s->all = true;
		s->all_fail_ns = last_ns + all_stall_ns(c);
	}
}

/* rcp_rails_watch -- a rail whose WRs stopped completing while another's did not has failed.
 * rxe, for one, retries a cut wire's packets without ever reporting retry-exceeded: without
 * this the work would wait forever for a rail that is gone */
void rcp_rails_watch(struct rdmacpy_conn *c, uint64_t now)
{
	struct stall_scan s;
	char why[96];
	unsigned int n;

	/* each pass takes a rail out of the usable ones */
	for (n = 0; n <= c->nrails; n++) {
		stall_scan(c, now, &s);
		if (s.rail < 0)
			break;
		snprintf(why, sizeof(why), "no completion for %llu ms with work out",
			 (unsigned long long)((now - s.qp->progress_ns) / 1000000ull));
		if (!rcp_rail_fail(&c->qp[c->rails[s.rail].first], -ETIMEDOUT, why)) {
			rcp_conn_fail(c, -ENETDOWN, why);
			return;
		}
	}
	if (s.all && now >= s.all_fail_ns) {
		snprintf(why, sizeof(why), "no completion on any rail for %llu ms with work out",
			 (unsigned long long)((now - (s.all_fail_ns - all_stall_ns(c))) /
					      1000000ull));
		no_rail_left(c, "all at once", why);
		rcp_conn_fail(c, -ENETDOWN, why);
	}
}

/* rcp_rails_counters -- the rail counts of the connection's counters */
void rcp_rails_counters(const struct rdmacpy_conn *c, struct rdmacpy_counters *all)
{
	unsigned int r;

	all->rails = 0;
	for (r = 0; r < c->nrails; r++)
		all->rails += !c->rails[r].skipped;
	all->rails_up = c->connected && !c->broken ? rcp_rails_up(c) : 0;
}
