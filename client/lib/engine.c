/* SPDX-License-Identifier: BSD-3-Clause */
/* engine.c -- what drives a connection: the events behind its fd, the queue pairs, queued
 * work, deadlines and callbacks; waiting inside the library; the fd's timer */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "client/lib/conn.h"

/* A copy of an rdma_cm event: acked before it is handled, so that a handler may destroy the
 * id it names (librdmacm refuses that while one of the id's events is held). */
struct cm_copy {
	struct rdma_cm_event ev;
	uint8_t pdata[256];
};

/* take_cm_events -- every pending rdma_cm event, to the connect step or the failure path */
static void take_cm_events(struct rdmacpy_conn *c)
{
	struct rdma_cm_event *ev;
	struct cm_copy cp;

	while (c->ch && rcp_vb_get_cm_event(c->ch, &ev) == 0) {
		cp.ev = *ev;
		if (ev->param.conn.private_data && ev->param.conn.private_data_len) {
			size_t n = ev->param.conn.private_data_len;

			if (n > sizeof(cp.pdata))
				n = sizeof(cp.pdata);
			memcpy(cp.pdata, ev->param.conn.private_data, n);
			cp.ev.param.conn.private_data = cp.pdata;
			cp.ev.param.conn.private_data_len = (uint8_t)n;
		} else {
			cp.ev.param.conn.private_data = NULL;
			cp.ev.param.conn.private_data_len = 0;
		}
		rcp_vb_ack_cm_event(ev);
		rcp_connect_cm_event(c, &cp.ev);
	}
}

/* take_cq_events -- read every pending completion event; the QPs they name become due */
static void take_cq_events(struct rdmacpy_conn *c)
{
	struct ibv_cq *cq;
	void *ctx;
	unsigned int i;

	for (i = 0; i < c->ndev; i++)
		while (rcp_vb_get_cq_event(c->dev[i].cc, &cq, &ctx) == 0)
			rcp_qp_event(ctx);
	/* acking takes a lock in libibverbs: once per wake-up, not per event */
	for (i = 0; i < c->nqp; i++) {
		if (c->qp[i].unacked_events && c->qp[i].cq) {
			rcp_vb_ack_cq_events(c->qp[i].cq, c->qp[i].unacked_events);
			c->qp[i].unacked_events = 0;
		}
	}
}

/* take_timer -- the fd's timer fired: read it so the fd quiets down */
static void take_timer(struct rdmacpy_conn *c)
{
	uint64_t n;

	if (c->timerfd >= 0 && read(c->timerfd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		c->timer_at_ns = 0;
}

/* rcp_engine_enter -- deadlines that passed while the application was outside the library
 * were timer wake-ups (it slept on its loop or in the engine's own wait) */
void rcp_engine_enter(struct rdmacpy_conn *c, uint64_t now)
{
	unsigned int i;

	if (c->outside_since_ns == UINT64_MAX)
		return;
	for (i = 0; i < c->nqp; i++) {
		uint64_t d = rcp_qp_deadline(&c->qp[i]);

		if (d >= c->outside_since_ns && d <= now)
			c->ctr.wakeups++;
	}
	c->outside_since_ns = UINT64_MAX;
}

/* next_deadline -- the earliest time the connection needs a look; 0: at once */
static uint64_t next_deadline(const struct rdmacpy_conn *c)
{
	uint64_t best = rcp_connect_deadline(c);
	uint64_t rails = rcp_rails_deadline(c);
	unsigned int i;

	if (rails < best)
		best = rails;
	/* an operation that finished inside a call (an empty transfer, connecting that failed
	 * at once) has a callback waiting: the fd must wake the application for it */
	if (c->done_head)
		return 0;
	/* a resume's next step (the old QPs go) waits for no event */
	if (rcp_resume_due(c))
		return 0;

	for (i = 0; i < c->nqp; i++) {
		const struct rcp_cli_qp *q = &c->qp[i];
		uint64_t d;

		if (rcp_qp_spinning(q))
			return 0;
		d = rcp_qp_deadline(q);
		if (d < best)
			best = d;
		d = rcp_ctrl_deadline(q);
		if (d < best)
			best = d;
	}
	return best;
}

/* rcp_engine_next_timeout -- ms until a deadline: 0 when spinning, -1 with none */
int rcp_engine_next_timeout(const struct rdmacpy_conn *c)
{
	uint64_t best = next_deadline(c);
	uint64_t now;

	if (best == UINT64_MAX)
		return -1;
	now = rcp_now_ns();
	if (best <= now)
		return 0;
	return rcp_ms_left(best);
}

/* rcp_engine_leave -- the application gets control back: the fd's timer follows the next
 * deadline, so a loop that sleeps on the fd alone still comes back in time */
void rcp_engine_leave(struct rdmacpy_conn *c)
{
	uint64_t d = next_deadline(c);
	struct itimerspec its = {0};

	c->outside_since_ns = rcp_now_ns();
	if (c->timerfd < 0 || d == c->timer_at_ns)
		return;
	if (d != UINT64_MAX) {
		/* absolute on CLOCK_MONOTONIC; 0 would disarm, so "at once" is 1 ns */
		if (d == 0)
			d = 1;
		its.it_value.tv_sec = (time_t)(d / 1000000000ull);
		its.it_value.tv_nsec = (long)(d % 1000000000ull);
	}
	if (timerfd_settime(c->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		c->timer_at_ns = d == UINT64_MAX ? 0 : d;
}

/* rcp_engine_service -- everything due, without sleeping */
int rcp_engine_service(struct rdmacpy_conn *c)
{
	uint64_t now = rcp_now_ns();
	unsigned int i;

	rcp_engine_enter(c, now);
	take_timer(c);
	take_cm_events(c);
	/* an event needs an arm: without one the read would only cost a system call, and POLL
	 * mode spins through here */
	if (c->ndev && c->notify_pending)
		take_cq_events(c);
	rcp_connect_service(c, now);
	rcp_rails_service(c, now);
	rcp_resume_service(c);
	for (i = 0; i < c->nqp; i++) {
		struct rcp_cli_qp *q = &c->qp[i];

		if (!q->cq)
			continue;
		rcp_qp_service(q, now);
		rcp_qp_reap_broken(q);
		rcp_ctrl_expire(q, now);
		rcp_ctrl_pump(q);
	}
	rcp_rails_watch(c, now);
	rcp_xfer_pump(c);
	return rcp_ops_run_callbacks(c);
}

/* engine_block -- sleep on the connection's fd for at most timeout_ms */
static void engine_block(struct rdmacpy_conn *c, int timeout_ms)
{
	struct pollfd pfd = {.fd = c->epfd, .events = POLLIN};
	bool sleep = true;
	unsigned int i;
	int t = rcp_engine_next_timeout(c);

	if (t == 0 || timeout_ms == 0)
		return;
	/* flush unsignaled runs (nothing more is coming to signal them) and arm the CQs whose
	 * arming was deferred; if that found or made work, service again instead */
	for (i = 0; i < c->nqp; i++)
		if (!rcp_qp_prepare_sleep(&c->qp[i]))
			sleep = false;
	if (!sleep)
		return;
	t = rcp_engine_next_timeout(c);
	if (t == 0)
		return;
	if (t < 0 || t > timeout_ms)
		t = timeout_ms;
	poll(&pfd, 1, t);
}

/* rcp_engine_wait -- service until done(arg) or the timeout */
int rcp_engine_wait(struct rdmacpy_conn *c, bool (*done)(void *arg), void *arg, int timeout_ms)
{
	uint64_t deadline = rcp_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;

	for (;;) {
		uint64_t now;

		rcp_engine_service(c);
		if (done(arg))
			return 0;
		now = rcp_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		engine_block(c, rcp_ms_left(deadline));
	}
}

/* rdmacpy_conn_next_timeout -- when rdmacpy_conn_progress must run even without fd activity */
int rdmacpy_conn_next_timeout(const struct rdmacpy_conn *c)
{
	return c ? rcp_engine_next_timeout(c) : RDMACPY_E_INVAL;
}

/* rdmacpy_conn_progress -- service; wait up to timeout_ms for an operation to finish */
int rdmacpy_conn_progress(struct rdmacpy_conn *c, int timeout_ms)
{
	uint64_t deadline;
	int n = 0;

	if (!c)
		return RDMACPY_E_INVAL;
	if (timeout_ms < 0)
		timeout_ms = c->opts.timeout_ms;
	deadline = rcp_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		uint64_t now;

		n += rcp_engine_service(c);
		now = rcp_now_ns();
		/* something finished, time is up, or nothing is in flight to wait for */
		if (n > 0 || now >= deadline || (!c->active_head && !c->done_head))
			break;
		engine_block(c, rcp_ms_left(deadline));
	}
	rcp_engine_leave(c);
	return n;
}
