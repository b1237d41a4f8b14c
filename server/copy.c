/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.c -- third-party COPY: the daemon is a librdmacpy client of the destination daemon,
 * driven by the daemon's own event loop through the library's fd; the source bytes go out
 * under the region's own registration */
#include "server/copy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/lib/conn.h"
#include "server/check.h"
#include "server/jobs.h"
#include "server/region.h"

/*
 * A copy is a chain of asynchronous steps, each started from the previous one's callback:
 * connect (resolve, route, connect, authenticate: the library's state machine), open the
 * destination range, write it in chunks (COPY_DEPTH in flight), flush it, close the grant.
 * Nothing waits: the loop watches the connection's fd and, for the library's deadlines, a
 * timer. Connecting uses the daemon's own protection domain, so the region's MR is adopted
 * as the source of the writes instead of being registered a second time.
 *
 * A copy ends (done, failed, or cancelled because its requester left or the daemon stops) on
 * a zero-time event of its own, never inside a library callback: closing a connection from
 * within its own callback would free what the library is still walking.
 */

#define COPY_CHUNK	(4u << 20) /* bytes per RDMA WRITE request */
#define COPY_DEPTH	4	   /* writes in flight: keeps the link busy between completions */
#define COPY_REPORT_MS	100	   /* COPY_PROGRESS at most ten times a second */
#define COPY_BEAT_MS	1000	   /* and at least once a second, bytes moving or not */
#define COPY_TIMEOUT_MS 10000	   /* each of the destination's requests and waits */

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
	LIST_ENTRY(rcp_copy) link;
	struct rcp_server *srv;
	struct rcp_session *s; /* the requester; NULL once it is gone (no answer then) */
	uint32_t req_id;
	char peer[64];
	struct rcp_region *region; /* held: ncopies keeps DESTROY away */
	uint64_t src_off;
	uint64_t length;
	char dst_host[RCP_HOST_MAX];
	uint16_t dst_port;
	char dst[RCP_NAME_MAX];
	uint64_t dst_off;
	uint64_t start_ms;

	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct rdmacpy_mem *src; /* the region's MR, adopted */
	struct event *fd_ev;	 /* the connection's fd */
	struct event *timer;	 /* the library's next deadline */
	struct event *end_ev;	 /* the end, run from the loop */
	struct event *beat;	 /* COPY_PROGRESS while nothing moves (connecting, flushing) */
	enum copy_step step;
	struct copy_slot slots[COPY_DEPTH];
	uint64_t next;	       /* next byte to write */
	uint64_t done;	       /* bytes written and completed */
	unsigned int inflight; /* writes out */
	bool cancelled;
	int result; /* RDMACPY_E_* */
	char err[RCP_LOG_MSG_MAX / 2];
	uint64_t reported;
	uint64_t report_ms;
};

/* rcp_copy_setup -- pick the key copies present to other daemons */
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
	return 0;
}

/* lib_log -- librdmacpy's messages into the daemon's log, naming the copy */
static void lib_log(void *ctx, int level, const char *msg)
{
	const struct rcp_copy *cp = ctx;

	rcp_log(&cp->srv->log, level, "client %s: copy to %s:%u: %s", cp->peer, cp->dst_host,
		cp->dst_port, msg);
}

/* end_soon -- the copy is over (result already set): finish it from the loop */
static void end_soon(struct rcp_copy *cp)
{
	static const struct timeval now = {0, 0};

	if (cp->step == COPY_ENDED)
		return;
	cp->step = COPY_ENDED;
	evtimer_add(cp->end_ev, &now);
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

/* report -- COPY_PROGRESS to the requester: it restarts the request's timeout there */
static void report(struct rcp_copy *cp, uint64_t now)
{
	struct rcp_msg m;

	cp->reported = cp->done;
	cp->report_ms = now;
	rcp_msg_init(&m, RCP_MSG_COPY_PROGRESS, cp->req_id);
	m.u.copy_progress.done = cp->done;
	m.u.copy_progress.length = cp->length;
	rcp_session_send(cp->s, &m);
}

/* progress -- bytes moved: tell the requester, at most every COPY_REPORT_MS */
static void progress(struct rcp_copy *cp)
{
	uint64_t now = rcp_now_ms();

	if (!cp->s || cp->done == cp->reported || cp->done >= cp->length ||
	    now - cp->report_ms < COPY_REPORT_MS)
		return;
	report(cp, now);
}

/* copy_beat -- nothing reported for a second (connecting, opening, flushing): say it lives,
 * so that a long step is not taken for a dead copy by the requester's timeout */
static void copy_beat(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	uint64_t now = rcp_now_ms();

	(void)fd;
	(void)what;
	if (cp->s && cp->step != COPY_ENDED && now - cp->report_ms >= COPY_BEAT_MS)
		report(cp, now);
}

static void on_closed(struct rdmacpy_op *op, int status, void *ctx);
static void on_flushed(struct rdmacpy_op *op, int status, void *ctx);
static void pump(struct rcp_copy *cp);

/* on_written -- one chunk is on the destination */
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
	progress(cp);
	if (cp->cancelled) {
		fail(cp, "cancelled while writing to", RDMACPY_E_SHUTDOWN);
		return;
	}
	if (cp->next < cp->length) {
		pump(cp);
		return;
	}
	if (cp->inflight)
		return;
	cp->step = COPY_FLUSHING;
	ret = rdmacpy_grant_flush_async(cp->g, 0, cp->length, on_flushed, cp, NULL);
	if (ret)
		fail(cp, "flushing the destination on", ret);
}

/* pump -- chunks out until COPY_DEPTH are in flight or none is left */
static void pump(struct rcp_copy *cp)
{
	uint8_t *base = cp->region->addr + cp->src_off;
	int ret;

	while (cp->inflight < COPY_DEPTH && cp->next < cp->length) {
		uint64_t len =
			cp->length - cp->next < COPY_CHUNK ? cp->length - cp->next : COPY_CHUNK;
		struct copy_slot *slot = NULL;
		unsigned int i;

		for (i = 0; i < COPY_DEPTH && !slot; i++)
			if (!cp->slots[i].busy)
				slot = &cp->slots[i];
		*slot = (struct copy_slot){.cp = cp, .len = len, .busy = true};
		ret = rdmacpy_write_async(cp->c, cp->g, cp->next, base + cp->next, (size_t)len,
					  on_written, slot, NULL);
		if (ret) {
			slot->busy = false;
			fail(cp, "writing to", ret);
			return;
		}
		cp->inflight++;
		cp->next += len;
	}
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
	pump(cp);
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

/* copy_free -- release what rcp_copy_start built */
static void copy_free(struct rcp_copy *cp)
{
	if (cp->fd_ev)
		event_free(cp->fd_ev);
	if (cp->timer)
		event_free(cp->timer);
	if (cp->end_ev)
		event_free(cp->end_ev);
	if (cp->beat)
		event_free(cp->beat);
	free(cp);
}

/* copy_finish -- the copy is over: close the connection, count, answer, release */
static void copy_finish(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	struct rcp_msg m;

	if (cp->fd_ev)
		event_del(cp->fd_ev);
	/* the adopted MR stays the region's; close fails what is still out and waits (bounded)
	 * for the device to give the source back */
	rdmacpy_mem_dereg(&cp->src);
	rdmacpy_conn_close(&cp->c);
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

/* copy_end -- the end event */
static void copy_end(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	copy_finish(arg);
}

/* copy_connect -- start connecting to the destination, on the first device's PD: the source
 * region's MR there is reused (a route through another device is refused by the library) */
static int copy_connect(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	struct rcp_conn_ext ext = {.pd = srv->devs[0].pd};
	struct timeval beat = {.tv_sec = COPY_BEAT_MS / 1000,
			       .tv_usec = COPY_BEAT_MS % 1000 * 1000};
	struct rdmacpy_conn_opts o;
	int fd;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.timeout_ms = COPY_TIMEOUT_MS;
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
	fd = rdmacpy_conn_fd(cp->c);
	cp->fd_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, copy_ready, cp);
	cp->timer = evtimer_new(srv->base, copy_ready, cp);
	cp->end_ev = evtimer_new(srv->base, copy_end, cp);
	cp->beat = event_new(srv->base, -1, EV_PERSIST, copy_beat, cp);
	if (!cp->fd_ev || !cp->timer || !cp->end_ev || !cp->beat || event_add(cp->fd_ev, NULL) ||
	    event_add(cp->beat, &beat))
		return -ENOMEM;
	/* a numeric address may have failed already: the callback ran at the next progress */
	rearm(cp);
	return 0;
}

/* rcp_copy_start -- validate, then start the copy's first step */
void rcp_copy_start(struct rcp_session *s, const struct rcp_msg *m)
{
	const struct rcp_msg_copy *req = &m->u.copy;
	struct rcp_server *srv = s->srv;
	struct rcp_region *r;
	struct rcp_copy *cp;
	int ret;

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
	if (!cp) {
		rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_NOMEM, "COPY: out of memory");
		return;
	}
	cp->srv = srv;
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
	ret = copy_connect(cp);
	if (ret) {
		/* answered as any failed copy is: COPY_REPLY with the status */
		cp->result =
			ret == -ENODEV ? RDMACPY_E_CONNECT : rcp_err_public(ret, RCP_CTX_LOCAL);
		snprintf(cp->err, sizeof(cp->err), "cannot start connecting to %s:%u: %s",
			 cp->dst_host, cp->dst_port, strerror(-ret));
		if (cp->end_ev)
			end_soon(cp);
		else
			copy_finish(cp);
	}
}

/* cancel -- stop a copy: it ends at its next step, or at once while its writes drain */
static void cancel(struct rcp_copy *cp)
{
	cp->cancelled = true;
	if (cp->step == COPY_ENDED)
		return;
	if (cp->step == COPY_WRITING && !cp->inflight)
		fail(cp, "cancelled while writing to", RDMACPY_E_SHUTDOWN);
	else if (cp->step != COPY_WRITING)
		/* a request in flight to the destination: closing the connection ends it */
		fail(cp, "cancelled while talking to", RDMACPY_E_SHUTDOWN);
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

/* rcp_copy_stop_all -- end every copy now (the loop is no longer running) */
void rcp_copy_stop_all(struct rcp_server *srv)
{
	struct rcp_copy *cp;

	while ((cp = LIST_FIRST(&srv->copies))) {
		if (cp->step != COPY_ENDED) {
			cp->result = RDMACPY_E_SHUTDOWN;
			snprintf(cp->err, sizeof(cp->err), "the daemon stopped");
		}
		copy_finish(cp);
	}
}
