/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.c -- third-party COPY: the daemon is a librdmacpy client of the destination daemon,
 * driven by the daemon's own event loop through the library's fd; the source bytes go out
 * under the region's own registration */
#include "server/copy.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "client/lib/conn.h"
#include "server/check.h"
#include "server/jobs.h"
#include "server/region.h"

/*
 * A copy is a chain of asynchronous steps, each started from the previous one's callback:
 * connect (resolve, route, connect, authenticate: the library's state machine), open the
 * destination range, write it, flush it, close the grant. Connecting uses the daemon's own
 * protection domain, so the region's MR is adopted as the source of the writes instead of
 * being registered a second time.
 *
 * The steps run on one thread shared by every copy, with an event loop of its own (the copy
 * loop), never on the daemon's loop: soft-RoCE on Linux 6.1 runs the protocol inside the
 * poster's ibv_post_send (to a destination on the same node, the whole transfer), so a write
 * posted from the daemon's loop would hold every other client's request for as long as the
 * bytes take. The writes go out one slice per pass of the copy loop, so copies share it
 * fairly and a cancellation is seen between slices.
 *
 * The two threads meet in a few places only, each an event of the other's loop (libevent
 * with its pthreads locking):
 *   the daemon's loop -> the copy loop: start, cancel;
 *   the copy loop -> the daemon's loop: the end, after the copy loop has closed the
 *   connection; progress is read from an atomic counter by a timer of the daemon's loop.
 * Everything a client sees (COPY_PROGRESS, COPY_REPLY), counters and the region's use count
 * belong to the daemon's loop; the library's objects belong to the copy loop.
 */

#define COPY_SLICE	(128u << 10) /* bytes per RDMA WRITE: what one pass of the copy loop posts */
#define COPY_DEPTH	16	     /* slices in flight: keeps the link busy between passes */
#define COPY_REPORT_MS	100	     /* COPY_PROGRESS at most ten times a second */
#define COPY_BEAT_MS	1000	     /* and at least once a second, bytes moving or not */
#define COPY_TIMEOUT_MS 10000	     /* each of the destination's requests and waits */

/* One write in flight. */
struct copy_slot {
	struct rcp_copy *cp;
	uint64_t len;
	bool busy;
};

enum copy_step {
	COPY_CONNECTING,
	COPY_OPENING,
	COPY_WRITING,
	COPY_FLUSHING,
	COPY_CLOSING,
	COPY_ENDED,
};

struct rcp_copy {
	/* the daemon's loop only */
	LIST_ENTRY(rcp_copy) link;
	struct rcp_session *s; /* the requester; NULL once it is gone (no answer then) */
	uint32_t req_id;
	uint64_t reported;
	uint64_t report_ms;
	struct event *report_ev; /* COPY_PROGRESS: bytes moved, or at least a heartbeat */
	struct event *finish_ev; /* the copy loop is done with the copy */
	bool cancel_sent;

	/* set before the copy loop starts the copy, read-only after */
	struct rcp_server *srv;
	char peer[64];
	struct rcp_region *region; /* held: ncopies keeps DESTROY away */
	uint64_t src_off;
	uint64_t length;
	char dst_host[RCP_HOST_MAX];
	uint16_t dst_port;
	char dst[RCP_NAME_MAX];
	uint64_t dst_off;
	uint64_t start_ms;

	/* the copy loop only (and the daemon's loop once finish_ev has run) */
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_mem *src; /* the region's MR, adopted */
	struct event *start_ev;	 /* the first step */
	struct event *cancel_ev; /* the daemon's loop asks the copy to stop */
	struct event *fd_ev;	 /* the connection's fd */
	struct event *timer;	 /* the library's next deadline */
	struct event *post_ev;	 /* posts the next slice */
	struct event *end_ev;	 /* the end, run from the copy loop */
	enum copy_step step;
	struct copy_slot slots[COPY_DEPTH];
	uint64_t next;	       /* next byte to write */
	uint64_t done;	       /* bytes written and completed */
	unsigned int inflight; /* writes out */
	bool cancelled;
	int result; /* RDMACPY_E_* */
	char err[RCP_LOG_MSG_MAX / 2];

	_Atomic uint64_t moved; /* done, for the daemon's loop to report */
};

/* copy_loop_main -- the copy loop's thread: runs until rcp_copy_stop_all breaks it */
static void *copy_loop_main(void *arg)
{
	struct rcp_server *srv = arg;

	event_base_loop(srv->copy_base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* copy_loop_start -- the copy loop and its thread, signals blocked (they stay with the
 * daemon's loop) */
static int copy_loop_start(struct rcp_server *srv)
{
	sigset_t all;
	sigset_t old;
	int ret;

	srv->copy_base = event_base_new();
	if (!srv->copy_base)
		return -ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&srv->copy_thread, NULL, copy_loop_main, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		event_base_free(srv->copy_base);
		srv->copy_base = NULL;
		return ret;
	}
	srv->copy_thread_running = true;
	return 0;
}

/* rcp_copy_setup -- pick the key copies present to other daemons; start the copy loop. Called
 * before any event base exists: both loops activate each other's events, which needs
 * libevent's locking in every base. */
int rcp_copy_setup(struct rcp_server *srv)
{
	int ret;

	if (srv->cfg.cluster_key_file[0]) {
		ret = rcp_auth_key_load(srv->cfg.cluster_key_file, &srv->cluster_key);
		if (ret) {
			rcp_err(&srv->log, "cluster key file %s: %s%s", srv->cfg.cluster_key_file,
				strerror(-ret),
				ret == -EPERM ? " (must be a regular file of mode 0600 or 0400)"
					      : "");
			return ret;
		}
		srv->have_cluster_key = true;
	} else if (!srv->cfg.no_auth) {
		srv->cluster_key = srv->key;
		srv->have_cluster_key = true;
	}
	if (evthread_use_pthreads()) {
		rcp_err(&srv->log, "libevent: no thread support");
		return -ENOSYS;
	}
	ret = copy_loop_start(srv);
	if (ret)
		rcp_err(&srv->log, "starting the copy thread: %s", strerror(-ret));
	return ret;
}

/* ---- the copy loop's side ---- */

/* lib_log -- librdmacpy's messages into the daemon's log, naming the copy */
static void lib_log(void *ctx, int level, const char *msg)
{
	const struct rcp_copy *cp = ctx;

	rcp_log(&cp->srv->log, level, "client %s: copy to %s:%u: %s", cp->peer, cp->dst_host,
		cp->dst_port, msg);
}

/* end_soon -- the copy is over (result already set): finish it from the copy loop */
static void end_soon(struct rcp_copy *cp)
{
	if (cp->step == COPY_ENDED)
		return;
	cp->step = COPY_ENDED;
	event_active(cp->end_ev, EV_TIMEOUT, 0);
}

/* fail -- a step failed with err: say what it was doing, then end */
static void fail(struct rcp_copy *cp, const char *what, int err)
{
	const char *detail = cp->c ? rdmacpy_conn_last_error(cp->c) : "";

	if (cp->step == COPY_ENDED)
		return;
	cp->result = err;
	snprintf(cp->err, sizeof(cp->err), "%s %s:%u: %s%s%s%s", what, cp->dst_host, cp->dst_port,
		 rdmacpy_strerror(err), detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	end_soon(cp);
}

static void on_closed(struct rdmacpy_op *op, int status, void *ctx);
static void on_flushed(struct rdmacpy_op *op, int status, void *ctx);

/* on_written -- one slice is on the destination */
static void on_written(struct rdmacpy_op *op, int status, void *ctx)
{
	struct copy_slot *slot = ctx;
	struct rcp_copy *cp = slot->cp;
	int ret;

	(void)op;
	slot->busy = false;
	cp->inflight--;
	if (cp->step != COPY_WRITING)
		return;
	if (status) {
		fail(cp, "writing to", status);
		return;
	}
	cp->done += slot->len;
	atomic_store_explicit(&cp->moved, cp->done, memory_order_relaxed);
	if (cp->cancelled) {
		fail(cp, "cancelled while writing to", RDMACPY_E_SHUTDOWN);
		return;
	}
	if (cp->next < cp->length) {
		event_active(cp->post_ev, EV_TIMEOUT, 0);
		return;
	}
	if (cp->inflight)
		return;
	cp->step = COPY_FLUSHING;
	ret = rdmacpy_grant_flush_async(cp->g, 0, cp->length, on_flushed, cp, NULL);
	if (ret)
		fail(cp, "flushing the destination on", ret);
}

/* post_slice -- one slice out, if a slot is free and bytes are left; the next one waits for
 * the next pass of the copy loop */
static void post_slice(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	uint8_t *base = cp->region->addr + cp->src_off;
	uint64_t len = cp->length - cp->next < COPY_SLICE ? cp->length - cp->next : COPY_SLICE;
	struct copy_slot *slot = NULL;
	unsigned int i;
	int ret;

	(void)fd;
	(void)what;
	if (cp->step != COPY_WRITING || cp->cancelled || cp->inflight >= COPY_DEPTH ||
	    cp->next >= cp->length)
		return;
	for (i = 0; i < COPY_DEPTH && !slot; i++)
		if (!cp->slots[i].busy)
			slot = &cp->slots[i];
	*slot = (struct copy_slot){.cp = cp, .len = len, .busy = true};
	ret = rdmacpy_write_async(cp->c, cp->g, cp->next, base + cp->next, (size_t)len, on_written,
				  slot, NULL);
	if (ret) {
		slot->busy = false;
		fail(cp, "writing to", ret);
		return;
	}
	cp->inflight++;
	cp->next += len;
	if (cp->inflight < COPY_DEPTH && cp->next < cp->length)
		event_active(cp->post_ev, EV_TIMEOUT, 0);
}

/* on_opened -- the destination range is granted: write */
static void on_opened(struct rdmacpy_op *op, int status, void *ctx)
{
	struct rcp_copy *cp = ctx;

	(void)op;
	if (status) {
		fail(cp, "opening the destination region on", status);
		return;
	}
	if (cp->cancelled) {
		fail(cp, "cancelled while opening on", RDMACPY_E_SHUTDOWN);
		return;
	}
	cp->step = COPY_WRITING;
	event_active(cp->post_ev, EV_TIMEOUT, 0);
}

/* on_connected -- connected and authenticated to the destination: open its range */
static void on_connected(struct rdmacpy_op *op, int status, void *ctx)
{
	struct rcp_copy *cp = ctx;
	int ret;

	(void)op;
	if (status) {
		/* whatever else failed while connecting, the destination cannot be reached */
		if (status != RDMACPY_E_AUTH && status != RDMACPY_E_KEY &&
		    status != RDMACPY_E_PROTO)
			status = RDMACPY_E_CONNECT;
		fail(cp, "connecting to", status);
		return;
	}
	if (cp->cancelled) {
		fail(cp, "cancelled while connecting to", RDMACPY_E_SHUTDOWN);
		return;
	}
	cp->step = COPY_OPENING;
	ret = rdmacpy_grant_open_async(cp->c, cp->dst, cp->dst_off, cp->length, RDMACPY_RIGHTS_RW,
				       &cp->g, on_opened, cp, NULL);
	if (ret)
		fail(cp, "opening the destination region on", ret);
}

/* on_flushed -- the bytes are durable on the destination: close the grant */
static void on_flushed(struct rdmacpy_op *op, int status, void *ctx)
{
	struct rcp_copy *cp = ctx;
	int ret;

	(void)op;
	if (status) {
		fail(cp, "flushing the destination on", status);
		return;
	}
	cp->step = COPY_CLOSING;
	ret = rdmacpy_grant_close_async(&cp->g, on_closed, cp, NULL);
	if (ret)
		fail(cp, "closing the grant on", ret);
}

/* on_closed -- done */
static void on_closed(struct rdmacpy_op *op, int status, void *ctx)
{
	struct rcp_copy *cp = ctx;

	(void)op;
	if (status) {
		fail(cp, "closing the grant on", status);
		return;
	}
	cp->result = 0;
	end_soon(cp);
}

/* rearm -- the library's next deadline as the copy's timer */
static void rearm(struct rcp_copy *cp)
{
	int t;
	struct timeval tv;

	if (cp->step == COPY_ENDED || !cp->c)
		return;
	t = rdmacpy_conn_next_timeout(cp->c);
	if (t < 0) {
		evtimer_del(cp->timer);
		return;
	}
	tv.tv_sec = t / 1000;
	tv.tv_usec = (t % 1000) * 1000;
	evtimer_add(cp->timer, &tv);
}

/* copy_ready -- the connection's fd or timer: let the library run its callbacks */
static void copy_ready(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	int ret;

	(void)fd;
	(void)what;
	if (cp->step == COPY_ENDED)
		return;
	ret = rdmacpy_conn_progress(cp->c, 0);
	if (ret < 0)
		fail(cp, "talking to", ret);
	rearm(cp);
}

/* copy_close -- the library's side of a copy is over: stop its events, close the connection.
 * On the copy loop, or on the daemon's thread once the copy loop has stopped. */
static void copy_close(struct rcp_copy *cp)
{
	if (cp->fd_ev)
		event_del(cp->fd_ev);
	if (cp->timer)
		event_del(cp->timer);
	if (cp->post_ev)
		event_del(cp->post_ev);
	/* the adopted MR stays the region's; close fails what is still out and waits (bounded)
	 * for the device to give the source back */
	rdmacpy_mem_dereg(&cp->src);
	rdmacpy_conn_close(&cp->c);
}

/* copy_end -- the end event: close, then hand the copy back to the daemon's loop */
static void copy_end(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;

	(void)fd;
	(void)what;
	copy_close(cp);
	event_active(cp->finish_ev, EV_TIMEOUT, 0);
}

/* copy_connect -- start connecting to the destination, on the first device's PD: the source
 * region's MR there is reused (a route through another device is refused by the library) */
static int copy_connect(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	struct rcp_conn_ext ext = {.pd = srv->devs[0].pd};
	struct rdmacpy_conn_opts o;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.timeout_ms = COPY_TIMEOUT_MS;
	o.queue_depth = COPY_DEPTH;
	o.chunk_size = COPY_SLICE; /* a slice is one work request */
	if (srv->have_cluster_key) {
		o.key = srv->cluster_key.bytes;
		o.key_len = srv->cluster_key.len;
	}
	o.log_fn = lib_log;
	o.log_ctx = cp;
	o.log_level = srv->log.min_level; /* the library's levels are the daemon's */
	ret = rcp_conn_open_ext(cp->dst_host, cp->dst_port, &o, &ext, on_connected, cp, &cp->c,
				NULL);
	if (ret)
		return ret;
	ret = rcp_mem_adopt(cp->c, cp->region->mr[0], &cp->src);
	if (ret)
		return ret;
	cp->fd_ev = event_new(srv->copy_base, rdmacpy_conn_fd(cp->c), EV_READ | EV_PERSIST,
			      copy_ready, cp);
	if (!cp->fd_ev || event_add(cp->fd_ev, NULL))
		return -ENOMEM;
	/* a numeric address may have failed already: the callback ran at the next progress */
	rearm(cp);
	return 0;
}

/* copy_begin -- the start event: the first step */
static void copy_begin(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	int ret;

	(void)fd;
	(void)what;
	if (cp->cancelled) {
		cp->result = RDMACPY_E_SHUTDOWN;
		snprintf(cp->err, sizeof(cp->err), "cancelled before it started");
		end_soon(cp);
		return;
	}
	ret = copy_connect(cp);
	if (ret) {
		/* answered as any failed copy is: COPY_REPLY with the status */
		cp->result =
			ret == -ENODEV ? RDMACPY_E_CONNECT : rcp_err_public(ret, RCP_CTX_LOCAL);
		snprintf(cp->err, sizeof(cp->err), "cannot start connecting to %s:%u: %s",
			 cp->dst_host, cp->dst_port, strerror(-ret));
		end_soon(cp);
	}
}

/* copy_cancel -- the cancel event: stop at the next step, or at once while no write is out */
static void copy_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;

	(void)fd;
	(void)what;
	cp->cancelled = true;
	if (cp->step == COPY_ENDED || !cp->c)
		return; /* ended, or not started: copy_begin sees the flag */
	if (cp->step == COPY_WRITING && !cp->inflight)
		fail(cp, "cancelled while writing to", RDMACPY_E_SHUTDOWN);
	else if (cp->step != COPY_WRITING)
		/* a request in flight to the destination: closing the connection ends it */
		fail(cp, "cancelled while talking to", RDMACPY_E_SHUTDOWN);
}

/* ---- the daemon's loop's side ---- */

/* report -- COPY_PROGRESS to the requester: it restarts the request's timeout there */
static void report(struct rcp_copy *cp, uint64_t done, uint64_t now)
{
	struct rcp_msg m;

	cp->reported = done;
	cp->report_ms = now;
	rcp_msg_init(&m, RCP_MSG_COPY_PROGRESS, cp->req_id);
	m.u.copy_progress.done = done;
	m.u.copy_progress.length = cp->length;
	rcp_session_send(cp->s, &m);
}

/* copy_tick -- bytes moved since the last report, or a second without one (connecting,
 * opening, flushing): tell the requester, so a long step is not taken for a dead copy */
static void copy_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	uint64_t done = atomic_load_explicit(&cp->moved, memory_order_relaxed);
	uint64_t now = rcp_now_ms();

	(void)fd;
	(void)what;
	if (!cp->s)
		return;
	if (done != cp->reported || now - cp->report_ms >= COPY_BEAT_MS)
		report(cp, done, now);
}

/* copy_free -- release what rcp_copy_start built. The copy loop's events are freed from here:
 * libevent waits for one of their callbacks that is running there. */
static void copy_free(struct rcp_copy *cp)
{
	struct event *evs[] = {cp->report_ev, cp->finish_ev, cp->start_ev, cp->cancel_ev,
			       cp->fd_ev,     cp->timer,     cp->post_ev,  cp->end_ev};
	size_t i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	free(cp);
}

/* copy_finish -- the copy loop is done with the copy: count, answer, release */
static void copy_finish(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	struct rcp_msg m;

	LIST_REMOVE(cp, link);
	srv->ncopies--;
	cp->region->ncopies--;
	rcp_region_unused(srv, cp->region);
	srv->cnt.bytes_copied += cp->done;
	if (cp->result)
		rcp_warn(&srv->log,
			 "client %s: copy of %s to %s:%s failed after %llu of %llu bytes: %s",
			 cp->peer, cp->region->name, cp->dst_host, cp->dst,
			 (unsigned long long)cp->done, (unsigned long long)cp->length, cp->err);
	else
		rcp_info(&srv->log, "client %s: copied %llu bytes of %s to %s:%u %s in %llu ms",
			 cp->peer, (unsigned long long)cp->done, cp->region->name, cp->dst_host,
			 cp->dst_port, cp->dst, (unsigned long long)(rcp_now_ms() - cp->start_ms));
	if (cp->s) {
		cp->s->nlong--;
		rcp_msg_init(&m, RCP_MSG_COPY_REPLY, cp->req_id);
		m.u.copy_reply.bytes = cp->done;
		m.u.copy_reply.status = rcp_err_proto(cp->result);
		rcp_session_reply(cp->s, &m);
	}
	copy_free(cp);
}

/* copy_finished -- the finish event */
static void copy_finished(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	copy_finish(arg);
}

/* copy_events -- every event a copy needs, on both loops; the copy loop's fd event comes with
 * the connection */
static int copy_events(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	struct timeval tick = {.tv_sec = 0, .tv_usec = COPY_REPORT_MS * 1000};

	cp->report_ev = event_new(srv->base, -1, EV_PERSIST, copy_tick, cp);
	cp->finish_ev = evtimer_new(srv->base, copy_finished, cp);
	cp->start_ev = evtimer_new(srv->copy_base, copy_begin, cp);
	cp->cancel_ev = evtimer_new(srv->copy_base, copy_cancel, cp);
	cp->timer = evtimer_new(srv->copy_base, copy_ready, cp);
	cp->post_ev = evtimer_new(srv->copy_base, post_slice, cp);
	cp->end_ev = evtimer_new(srv->copy_base, copy_end, cp);
	if (!cp->report_ev || !cp->finish_ev || !cp->start_ev || !cp->cancel_ev || !cp->timer ||
	    !cp->post_ev || !cp->end_ev || event_add(cp->report_ev, &tick))
		return -ENOMEM;
	return 0;
}

/* rcp_copy_start -- validate, then hand the copy to the copy loop */
void rcp_copy_start(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_copy *req = &m->u.copy;
	struct rcp_server *srv = s->srv;
	struct rcp_region *r;
	struct rcp_copy *cp;

	if (srv->shutting_down) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_SHUTDOWN, "COPY: shutting down");
		return;
	}
	r = rcp_region_find(srv, req->src);
	if (!r) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOENT, "COPY: no region %s", req->src);
		return;
	}
	if (rcp_check_range(r->size, req->src_offset, req->length)) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_RANGE,
				   "COPY %s [%llu, +%llu): the region has %llu bytes", req->src,
				   (unsigned long long)req->src_offset,
				   (unsigned long long)req->length, (unsigned long long)r->size);
		return;
	}
	if (srv->ncopies >= RCP_COPY_MAX) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_LIMIT,
				   "COPY: %u copies running already (at most %d)", srv->ncopies,
				   RCP_COPY_MAX);
		return;
	}
	if (!rcp_req_admit(s, m->hdr.req_id, "COPY"))
		return;
	cp = calloc(1, sizeof(*cp));
	if (cp) {
		cp->srv = srv;
		if (copy_events(cp)) {
			copy_free(cp);
			cp = NULL;
		}
	}
	if (!cp) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM, "COPY: out of memory");
		return;
	}
	cp->s = s;
	cp->req_id = m->hdr.req_id;
	snprintf(cp->peer, sizeof(cp->peer), "%s", s->peer);
	cp->region = r;
	cp->src_off = req->src_offset;
	cp->length = req->length;
	snprintf(cp->dst_host, sizeof(cp->dst_host), "%s", req->dst_host);
	cp->dst_port = req->dst_port;
	snprintf(cp->dst, sizeof(cp->dst), "%s", req->dst);
	cp->dst_off = req->dst_offset;
	cp->start_ms = rcp_now_ms();
	cp->report_ms = cp->start_ms;
	cp->step = COPY_CONNECTING;
	LIST_INSERT_HEAD(&srv->copies, cp, link);
	s->nlong++;
	srv->ncopies++;
	srv->cnt.copies_total++;
	r->ncopies++;
	rcp_info(&srv->log, "client %s: copying %s [%llu, +%llu) to %s:%u %s @%llu", s->peer,
		 r->name, (unsigned long long)req->src_offset, (unsigned long long)req->length,
		 req->dst_host, req->dst_port, req->dst, (unsigned long long)req->dst_offset);
	/* from here on the copy is the copy loop's until it hands it back */
	event_active(cp->start_ev, EV_TIMEOUT, 0);
}

/* cancel -- ask the copy loop to stop a copy; it answers through the finish event */
static void cancel(struct rcp_copy *cp)
{
	if (cp->cancel_sent)
		return;
	cp->cancel_sent = true;
	event_active(cp->cancel_ev, EV_TIMEOUT, 0);
}

/* rcp_copy_session_gone -- nobody to answer: stop the requester's copies */
void rcp_copy_session_gone(struct rcp_session *s)
{
	struct rcp_copy *cp;

	for (cp = LIST_FIRST(&s->srv->copies); cp; cp = LIST_NEXT(cp, link)) {
		if (cp->s != s)
			continue;
		cp->s = NULL;
		rcp_info(&s->srv->log, "client %s: gone, cancelling its copy to %s:%u", s->peer,
			 cp->dst_host, cp->dst_port);
		cancel(cp);
	}
}

/* rcp_copy_cancel_all -- shutdown: every copy stops and answers SHUTDOWN */
void rcp_copy_cancel_all(struct rcp_server *srv)
{
	struct rcp_copy *cp;

	for (cp = LIST_FIRST(&srv->copies); cp; cp = LIST_NEXT(cp, link))
		cancel(cp);
}

/* rcp_copy_stop_all -- the daemon's loop has ended: stop the copy loop, then end every copy
 * here (nothing runs on the copy loop any more) */
void rcp_copy_stop_all(struct rcp_server *srv)
{
	struct rcp_copy *cp;

	if (srv->copy_thread_running) {
		event_base_loopbreak(srv->copy_base);
		pthread_join(srv->copy_thread, NULL);
		srv->copy_thread_running = false;
	}
	while ((cp = LIST_FIRST(&srv->copies))) {
		if (cp->c || cp->step != COPY_ENDED) {
			if (cp->step != COPY_ENDED) {
				cp->result = RDMACPY_E_SHUTDOWN;
				snprintf(cp->err, sizeof(cp->err), "the daemon stopped");
			}
			copy_close(cp);
		}
		copy_finish(cp);
	}
	if (srv->copy_base)
		event_base_free(srv->copy_base);
	srv->copy_base = NULL;
}
