/* SPDX-License-Identifier: BSD-3-Clause */
/* copy.c -- third-party COPY: a worker thread per copy, a librdmacpy client of the destination
 * daemon, so the loop never blocks on connecting or on the bytes */
#include "server/copy.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "rdmacpy.h"
#include "server/check.h"
#include "server/jobs.h"
#include "server/region.h"

#define COPY_CHUNK	(4u << 20) /* bytes per RDMA WRITE request */
#define COPY_DEPTH	4	   /* writes in flight: keeps the link busy between completions */
#define COPY_POLL_MS	100	   /* longest the worker waits before looking at its cancel flag */
#define COPY_REPORT_MS	100	   /* COPY_PROGRESS at most ten times a second */
#define COPY_TIMEOUT_MS 10000	   /* the destination's every wait; bounds a shutdown too */

/* One write in flight. */
struct copy_slot {
	struct rcp_copy *cp;
	uint64_t len;
	bool busy;
};

struct rcp_copy {
	LIST_ENTRY(rcp_copy) link;
	struct rcp_server *srv;
	struct rcp_session *s; /* the requester; NULL once it is gone (no answer then) */
	uint32_t req_id;
	char peer[64];
	struct rcp_region *region; /* held: ncopies keeps DESTROY away */
	uint8_t *src;		   /* region memory at the source offset */
	uint64_t length;
	char dst_host[RCP_HOST_MAX];
	uint16_t dst_port;
	char dst[RCP_NAME_MAX];
	uint64_t dst_off;
	uint64_t start_ms;

	/* shared by the loop and the worker */
	int efd; /* the worker writes, the loop's event reads */
	struct event *ev;
	pthread_t thread;
	atomic_bool cancel;
	atomic_uint_least64_t done; /* bytes written and completed */
	atomic_bool finished;	    /* result and err are final */

	/* the loop's */
	uint64_t reported;
	uint64_t report_ms;

	/* the worker's until finished */
	int result; /* RDMACPY_E_* */
	char err[RCP_LOG_MSG_MAX / 2];
	struct copy_slot slots[COPY_DEPTH];
	unsigned int inflight;
	int write_err;
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

/* notify -- wake the loop; a full counter still leaves it readable, so errors do not matter */
static void notify(struct rcp_copy *cp)
{
	uint64_t one = 1;
	ssize_t n = write(cp->efd, &one, sizeof(one));

	(void)n;
}

/* lib_log -- librdmacpy's messages into the daemon's log, naming the copy */
static void lib_log(void *ctx, int level, const char *msg)
{
	const struct rcp_copy *cp = ctx;

	rcp_log(&cp->srv->log, level, "client %s: copy to %s:%u: %s", cp->peer, cp->dst_host,
		cp->dst_port, msg);
}

/* write_done -- one write finished: free its slot, count its bytes, tell the loop */
static void write_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct copy_slot *slot = ctx;
	struct rcp_copy *cp = slot->cp;

	(void)op;
	slot->busy = false;
	cp->inflight--;
	if (status) {
		if (!cp->write_err)
			cp->write_err = status;
		return;
	}
	atomic_fetch_add(&cp->done, slot->len);
	notify(cp);
}

/* free_slot -- an idle slot (one exists whenever inflight < COPY_DEPTH) */
static struct copy_slot *free_slot(struct rcp_copy *cp)
{
	unsigned int i;

	for (i = 0; i < COPY_DEPTH; i++)
		if (!cp->slots[i].busy)
			return &cp->slots[i];
	return NULL;
}

/* pump -- RDMA WRITE the range in chunks, COPY_DEPTH in flight, until done, failed or
 * cancelled. On failure writes may still be in flight: only rdmacpy_close may follow. */
static int pump(struct rcp_copy *cp, struct rdmacpy_conn *c, const struct rdmacpy_grant *g)
{
	struct copy_slot *slot;
	uint64_t next = 0;
	uint64_t len;
	int ret;

	for (;;) {
		if (atomic_load(&cp->cancel))
			return RDMACPY_E_SHUTDOWN;
		if (cp->write_err)
			return cp->write_err;
		while (cp->inflight < COPY_DEPTH && next < cp->length) {
			slot = free_slot(cp);
			len = cp->length - next < COPY_CHUNK ? cp->length - next : COPY_CHUNK;
			slot->cp = cp;
			slot->len = len;
			slot->busy = true;
			ret = rdmacpy_write_async(c, g, next, cp->src + next, (size_t)len,
						   write_done, slot, NULL);
			if (ret) {
				slot->busy = false;
				return ret;
			}
			cp->inflight++;
			next += len;
		}
		if (!cp->inflight)
			return 0;
		ret = rdmacpy_conn_progress(c, COPY_POLL_MS);
		if (ret < 0)
			return ret;
	}
}

/* copy_main -- the worker: connect, open, register, write, flush, close */
static void *copy_main(void *arg)
{
	struct rcp_copy *cp = arg;
	struct rcp_server *srv = cp->srv;
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_mem *m = NULL;
	const char *what;
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

	what = "connecting to";
	ret = rdmacpy_conn_open(cp->dst_host, cp->dst_port, &o, &c);
	if (ret) {
		snprintf(cp->err, sizeof(cp->err), "%s %s:%u: %s", what, cp->dst_host, cp->dst_port,
			 rdmacpy_strerror(ret));
		/* whatever else failed while connecting, the destination cannot be reached */
		if (ret != RDMACPY_E_AUTH && ret != RDMACPY_E_KEY && ret != RDMACPY_E_PROTO)
			ret = RDMACPY_E_CONNECT;
		goto out;
	}
	what = "opening the destination region on";
	ret = rdmacpy_grant_open(c, cp->dst, cp->dst_off, cp->length, RDMACPY_RIGHTS_RW, &g);
	if (ret)
		goto err_close;
	what = "registering the source for";
	ret = rdmacpy_mem_reg(c, cp->src, (size_t)cp->length, &m);
	if (ret)
		goto err_close;
	what = "writing to";
	ret = pump(cp, c, g);
	if (ret)
		goto err_close;
	what = "flushing the destination on";
	ret = rdmacpy_grant_flush(g, 0, cp->length);
	if (ret)
		goto err_close;
	rdmacpy_mem_dereg(&m);
	what = "closing the grant on";
	ret = rdmacpy_grant_close(&g);

err_close:
	/* close frees what is left (grant, registration) once in-flight writes are flushed */
	if (ret)
		snprintf(cp->err, sizeof(cp->err), "%s %s:%u: %s%s%s%s", what, cp->dst_host,
			 cp->dst_port, rdmacpy_strerror(ret),
			 rdmacpy_conn_last_error(c)[0] ? " (" : "", rdmacpy_conn_last_error(c),
			 rdmacpy_conn_last_error(c)[0] ? ")" : "");
	rdmacpy_conn_close(&c);
out:
	cp->result = ret;
	atomic_store(&cp->finished, true);
	notify(cp);
	return NULL;
}

/* copy_status -- the protocol code a library error is reported with */
static enum rcp_err copy_status(int err)
{
	switch (err) {
	case RDMACPY_OK:
		return RCP_ERR_NONE;
	case RDMACPY_E_INVAL:
		return RCP_ERR_INVAL;
	case RDMACPY_E_NODEV:
	case RDMACPY_E_CONNECT:
		return RCP_ERR_UNREACH;
	case RDMACPY_E_AUTH:
	case RDMACPY_E_KEY:
		return RCP_ERR_AUTH;
	case RDMACPY_E_PROTO:
		return RCP_ERR_PROTO;
	case RDMACPY_E_NOENT:
		return RCP_ERR_NOENT;
	case RDMACPY_E_ACCESS:
	case RDMACPY_E_REMOTE_ACCESS:
		return RCP_ERR_ACCESS;
	case RDMACPY_E_RANGE:
		return RCP_ERR_RANGE;
	case RDMACPY_E_LIMIT:
		return RCP_ERR_LIMIT;
	case RDMACPY_E_BUSY:
		return RCP_ERR_BUSY;
	case RDMACPY_E_NOTSUP:
		return RCP_ERR_NOTSUP;
	case RDMACPY_E_SHUTDOWN:
		return RCP_ERR_SHUTDOWN;
	case RDMACPY_E_NOMEM:
	case RDMACPY_E_REGISTER:
		return RCP_ERR_NOMEM;
	case RDMACPY_E_TIMEOUT:
	case RDMACPY_E_BROKEN:
	case RDMACPY_E_IO:
	case RDMACPY_E_REMOTE_OP:
	case RDMACPY_E_RETRY_EXCEEDED:
	case RDMACPY_E_RNR_RETRY_EXCEEDED:
	case RDMACPY_E_FLUSHED:
	case RDMACPY_E_DEVICE:
		return RCP_ERR_IO;
	default:
		return RCP_ERR_INTERNAL;
	}
}

/* copy_free -- release what rcp_copy_start built; the worker is joined or never ran */
static void copy_free(struct rcp_copy *cp)
{
	if (cp->ev)
		event_free(cp->ev);
	if (cp->efd >= 0)
		close(cp->efd);
	free(cp);
}

/* copy_finish -- the worker is done: join it, count, answer the requester, release */
static void copy_finish(struct rcp_copy *cp)
{
	struct rcp_server *srv = cp->srv;
	uint64_t done;
	struct rcp_msg m;

	pthread_join(cp->thread, NULL);
	done = atomic_load(&cp->done);
	LIST_REMOVE(cp, link);
	srv->ncopies--;
	cp->region->ncopies--;
	srv->cnt.bytes_copied += done;
	if (cp->result)
		rcp_warn(&srv->log,
			 "client %s: copy of %s to %s:%s failed after %llu of %llu "
			 "bytes: %s",
			 cp->peer, cp->region->name, cp->dst_host, cp->dst,
			 (unsigned long long)done, (unsigned long long)cp->length, cp->err);
	else
		rcp_info(&srv->log, "client %s: copied %llu bytes of %s to %s:%u %s in %llu ms",
			 cp->peer, (unsigned long long)done, cp->region->name, cp->dst_host,
			 cp->dst_port, cp->dst, (unsigned long long)(rcp_now_ms() - cp->start_ms));
	if (cp->s) {
		cp->s->nlong--;
		rcp_msg_init(&m, RCP_MSG_COPY_REPLY, cp->req_id);
		m.u.copy_reply.bytes = done;
		m.u.copy_reply.status = copy_status(cp->result);
		rcp_session_reply(cp->s, &m);
	}
	copy_free(cp);
}

/* copy_event -- the worker wrote the eventfd: finish, or pass progress on (rate-limited) */
static void copy_event(evutil_socket_t fd, short what, void *arg)
{
	struct rcp_copy *cp = arg;
	uint64_t v;
	uint64_t done;
	uint64_t now;
	struct rcp_msg m;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		rcp_dbg(&cp->srv->log, "copy eventfd: %s", strerror(errno));
	if (atomic_load(&cp->finished)) {
		copy_finish(cp);
		return;
	}
	done = atomic_load(&cp->done);
	now = rcp_now_ms();
	if (!cp->s || done == cp->reported || done >= cp->length ||
	    now - cp->report_ms < COPY_REPORT_MS)
		return;
	cp->reported = done;
	cp->report_ms = now;
	rcp_msg_init(&m, RCP_MSG_COPY_PROGRESS, cp->req_id);
	m.u.copy_progress.done = done;
	m.u.copy_progress.length = cp->length;
	rcp_session_send(cp->s, &m);
}

/* copy_spawn -- the worker thread, with signals blocked so they stay with the loop */
static int copy_spawn(struct rcp_copy *cp)
{
	sigset_t all;
	sigset_t old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&cp->thread, NULL, copy_main, cp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -ret;
}

/* rcp_copy_start -- validate, then hand the copy to a worker */
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
		ret = -ENOMEM;
		goto err_refuse;
	}
	cp->srv = srv;
	cp->s = s;
	cp->req_id = m->hdr.req_id;
	snprintf(cp->peer, sizeof(cp->peer), "%s", s->peer);
	cp->region = r;
	cp->src = r->addr + req->src_offset;
	cp->length = req->length;
	snprintf(cp->dst_host, sizeof(cp->dst_host), "%s", req->dst_host);
	cp->dst_port = req->dst_port;
	snprintf(cp->dst, sizeof(cp->dst), "%s", req->dst);
	cp->dst_off = req->dst_offset;
	cp->start_ms = rcp_now_ms();
	cp->report_ms = cp->start_ms;
	atomic_init(&cp->cancel, false);
	atomic_init(&cp->done, 0);
	atomic_init(&cp->finished, false);
	cp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cp->efd < 0) {
		ret = -errno;
		goto err_free;
	}
	cp->ev = event_new(srv->base, cp->efd, EV_READ | EV_PERSIST, copy_event, cp);
	if (!cp->ev || event_add(cp->ev, NULL)) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = copy_spawn(cp);
	if (ret)
		goto err_free;
	LIST_INSERT_HEAD(&srv->copies, cp, link);
	s->nlong++;
	srv->ncopies++;
	srv->cnt.copies_total++;
	r->ncopies++;
	rcp_info(&srv->log, "client %s: copying %s [%llu, +%llu) to %s:%u %s @%llu", s->peer,
		 r->name, (unsigned long long)req->src_offset, (unsigned long long)req->length,
		 req->dst_host, req->dst_port, req->dst, (unsigned long long)req->dst_offset);
	return;

err_free:
	copy_free(cp);
err_refuse:
	rcp_session_refuse(s, m->hdr.req_id, RCP_ERR_INTERNAL, "COPY: cannot start: %s",
			   strerror(-ret));
}

/* rcp_copy_session_gone -- nobody to answer: stop the requester's copies */
void rcp_copy_session_gone(struct rcp_session *s)
{
	struct rcp_copy *cp;

	for (cp = LIST_FIRST(&s->srv->copies); cp; cp = LIST_NEXT(cp, link)) {
		if (cp->s != s)
			continue;
		cp->s = NULL;
		atomic_store(&cp->cancel, true);
		rcp_info(&s->srv->log, "client %s: gone, cancelling its copy to %s:%u", s->peer,
			 cp->dst_host, cp->dst_port);
	}
}

/* rcp_copy_cancel_all -- every worker stops at its next look at the flag */
void rcp_copy_cancel_all(struct rcp_server *srv)
{
	struct rcp_copy *cp;

	for (cp = LIST_FIRST(&srv->copies); cp; cp = LIST_NEXT(cp, link))
		atomic_store(&cp->cancel, true);
}

/* rcp_copy_stop_all -- cancel and wait for every worker (the loop is no longer running) */
void rcp_copy_stop_all(struct rcp_server *srv)
{
	struct rcp_copy *cp;

	rcp_copy_cancel_all(srv);
	while ((cp = LIST_FIRST(&srv->copies)))
		copy_finish(cp);
}
