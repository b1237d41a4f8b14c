/* SPDX-License-Identifier: BSD-3-Clause */
/* conn.c -- connections: options, the object and its one fd, failure, closing */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "client/lib/conn.h"

#define CLOSE_GRACE_MS 1000 /* how long close waits for in-flight WRs and DISCONNECTED */

/* rcp_now_ns -- monotonic clock in nanoseconds */
uint64_t rcp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* rcp_ms_left -- milliseconds until deadline_ns, 0 if past */
int rcp_ms_left(uint64_t deadline_ns)
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
			return -EINVAL;
		memcpy(&c->opts, o, o->size < sizeof(*o) ? o->size : sizeof(*o));
		c->opts.size = sizeof(c->opts);
	}
	if (!c->opts.queue_depth || c->opts.queue_depth > 32768 || !c->opts.nqp ||
	    c->opts.nqp > RDMACPY_MAX_QP || c->opts.timeout_ms <= 0 ||
	    (unsigned int)c->opts.moderation > RDMACPY_MOD_ADAPTIVE ||
	    (unsigned int)c->opts.cache_mode > RDMACPY_CACHE_KEEP)
		return -EINVAL;
	if (c->opts.moderation != RDMACPY_MOD_EVENT && !c->opts.mod_count)
		return -EINVAL;
	if (c->opts.mod_period_us == 0 || c->opts.mod_period_us > RCP_MOD_MAX_PERIOD_US)
		return -EINVAL;
	if (c->opts.device) {
		if (!c->opts.device[0] || strlen(c->opts.device) >= sizeof(c->device))
			return -EINVAL;
		snprintf(c->device, sizeof(c->device), "%s", c->opts.device);
	}
	/* the caller's pointers are not kept: device was copied, the key is read next */
	c->opts.device = NULL;
	c->log.fn = c->opts.log_fn;
	c->log.ctx = c->opts.log_ctx;
	c->log.min_level = c->opts.log_level;
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
		return -ENOKEY;
	}
	c->have_key = true;
	return 0;
}

/* rcp_conn_set_error -- remember a text for rdmacpy_conn_last_error */
void rcp_conn_set_error(struct rdmacpy_conn *c, const char *fmt, ...)
{
	char text[sizeof(c->last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(c->last_error, text, sizeof(text));
	rcp_dbg(&c->log, "%s", c->last_error);
}

/* rdmacpy_conn_last_error -- the daemon's text of the last ERROR, or a local explanation */
const char *rdmacpy_conn_last_error(const struct rdmacpy_conn *c)
{
	return c ? c->last_error : "";
}

/* rcp_conn_fail -- the connection is broken: QPs to the error state, requests failed */
void rcp_conn_fail(struct rdmacpy_conn *c, int err, const char *why)
{
	unsigned int i;

	/* with a reconnect bound, a break on the wire is a resume, not a failure */
	if (rcp_resume_begin(c, err, why))
		return;
	if (!c->broken) {
		c->broken = true;
		c->broken_err = err;
		if (why && why != c->last_error)
			rcp_conn_set_error(c, "connection failed: %s", why);
		rcp_log(&c->log, c->closing ? RCP_LOG_DEBUG : RCP_LOG_WARN,
			"connection failed: %s (%s)", why ? why : "",
			rdmacpy_strerror(rcp_err_public(err, RCP_CTX_CONNECT)));
	}
	for (i = 0; i < c->nqp; i++) {
		rcp_qp_fail(&c->qp[i], err);
		rcp_ctrl_fail_all(&c->qp[i], err);
	}
	if (c->connect_op) {
		rcp_op_fail(c->connect_op, err);
		rcp_op_finish(c->connect_op);
		c->connect_op = NULL;
	}
}

/* rcp_conn_watch -- one more fd behind the connection's fd */
int rcp_conn_watch(struct rdmacpy_conn *c, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/* conn_new -- the object, its options and key, and the fds; nothing connects yet */
static int conn_new(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
		    struct rdmacpy_conn **out)
{
	struct rdmacpy_conn *c;
	unsigned int i;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->epfd = -1;
	c->timerfd = -1;
	c->outside_since_ns = UINT64_MAX;
	*out = c;
	if (strlen(host) >= sizeof(c->host))
		return -EINVAL;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	ret = take_opts(c, o);
	if (ret)
		return ret;
	ret = load_key(c);
	if (ret)
		return ret;
	c->nqp = c->opts.nqp;
	rcp_rails_init(c);
	c->qp = calloc(c->qp_cap, sizeof(*c->qp));
	if (!c->qp)
		return -ENOMEM;
	for (i = 0; i < c->qp_cap; i++) {
		c->qp[i].conn = c;
		c->qp[i].idx = i;
		c->qp[i].version = RCP_PROTO_VERSION;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timerfd < 0)
		return -errno;
	ret = rcp_conn_watch(c, c->timerfd);
	if (ret)
		return ret;
	ret = rcp_vb_create_event_channel(&c->ch);
	if (!ret)
		ret = rcp_vb_event_channel_set_nonblock(c->ch);
	if (!ret)
		ret = rcp_conn_watch(c, c->ch->fd);
	return ret;
}

/* rcp_conn_open_ext -- start connecting, with what an internal user may add */
int rcp_conn_open_ext(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
		      const struct rcp_conn_ext *ext, rdmacpy_done_fn cb, void *ctx,
		      struct rdmacpy_conn **out, struct rdmacpy_op **op)
{
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_op *cop;
	int ret;

	if (op)
		*op = NULL;
	if (out)
		*out = NULL;
	if (!host || !port || !out)
		return -EINVAL;
	ret = conn_new(host, port, o, &c);
	if (ret)
		goto err_close;
	if (ext && ext->pd)
		c->ext_pd = ext->pd;
	cop = rcp_op_new(c, RCP_OP_CONNECT, RCP_CTX_CONNECT, cb, ctx);
	if (!cop) {
		ret = -ENOMEM;
		goto err_close;
	}
	rcp_op_activate(cop, op);
	c->connect_op = cop;
	ret = rcp_connect_start(c);
	if (ret)
		goto err_close;
	rcp_engine_leave(c);
	*out = c;
	return 0;

err_close:
	if (c && c->have_key)
		rcp_auth_key_wipe(&c->key);
	if (op)
		*op = NULL;
	rdmacpy_conn_close(&c);
	return ret;
}

/* rdmacpy_conn_open_async -- start connecting; the op says when it is done */
int rdmacpy_conn_open_async(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
			    rdmacpy_done_fn cb, void *ctx, struct rdmacpy_conn **c,
			    struct rdmacpy_op **op)
{
	int ret = rcp_conn_open_ext(host, port, o, NULL, cb, ctx, c, op);

	return ret == -ENOKEY ? RDMACPY_E_KEY : rcp_err_public(ret, RCP_CTX_LOCAL);
}

/* rdmacpy_conn_open -- connect and authenticate, waiting at most the connection's timeout */
int rdmacpy_conn_open(const char *host, uint16_t port, const struct rdmacpy_conn_opts *o,
		      struct rdmacpy_conn **out)
{
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_op *op = NULL;
	int ret;

	if (!out)
		return RDMACPY_E_INVAL;
	*out = NULL;
	ret = rdmacpy_conn_open_async(host, port, o, NULL, NULL, &c, &op);
	if (ret)
		return ret;
	/* the connect op bounds itself with the timeout; the wait only adds slack */
	ret = rcp_engine_wait(c, rcp_op_finished, op, c->opts.timeout_ms + 1000);
	ret = ret ? RDMACPY_E_TIMEOUT : op->status;
	rdmacpy_op_free(&op);
	if (ret) {
		rcp_warn(&c->log, "connect to %s:%u failed: %s (%s)", host, port,
			 rdmacpy_strerror(ret), c->last_error);
		rdmacpy_conn_close(&c);
		return ret;
	}
	rcp_engine_leave(c);
	*out = c;
	return 0;
}

/* rdmacpy_conn_status -- connected, connecting, or why not */
int rdmacpy_conn_status(const struct rdmacpy_conn *c)
{
	if (!c)
		return RDMACPY_E_INVAL;
	if (c->broken)
		return c->connected ? RDMACPY_E_BROKEN
				    : rcp_err_public(c->broken_err, RCP_CTX_CONNECT);
	return c->connected && !c->resuming ? 0 : RDMACPY_E_INPROGRESS;
}

/* rdmacpy_conn_fd -- the epoll fd behind which everything the connection waits on is */
int rdmacpy_conn_fd(const struct rdmacpy_conn *c)
{
	return c && c->epfd >= 0 ? c->epfd : RDMACPY_E_INVAL;
}

/* rdmacpy_conn_counters -- as much of the counters as the caller's struct holds */
int rdmacpy_conn_counters(const struct rdmacpy_conn *c, struct rdmacpy_counters *out)
{
	struct rdmacpy_counters all;
	unsigned int i;
	size_t size;

	if (!c || !out || out->size < offsetof(struct rdmacpy_counters, wrs_posted))
		return RDMACPY_E_INVAL;
	size = out->size < sizeof(all) ? out->size : sizeof(all);
	all = c->ctr;
	all.size = out->size;
	all.cache_hits = 0;
	all.cache_misses = 0;
	all.cache_evictions = 0;
	for (i = 0; i < c->ndev; i++) {
		all.cache_hits += c->dev[i].cache.hits;
		all.cache_misses += c->dev[i].cache.misses;
		all.cache_evictions += c->dev[i].cache.evictions;
	}
	all.hw_moderation = c->ndev && c->dev[0].hw_mod;
	rcp_rails_counters(c, &all);
	memcpy(out, &all, size);
	return 0;
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
	while (left && rcp_ms_left(deadline) > 0) {
		if (rcp_vb_get_cm_event(c->ch, &ev)) {
			pfd.fd = c->ch->fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			poll(&pfd, 1, rcp_ms_left(deadline));
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

/* cancel_active -- what the application closes under them ends CANCELED, whatever the
 * flushes that follow say */
static void cancel_active(struct rdmacpy_conn *c)
{
	struct rdmacpy_op *op;

	for (op = c->active_head; op; op = op->next)
		rcp_op_fail(op, op->kind == RCP_OP_XFER ? -ESHUTDOWN : -ECANCELED);
}

/* rdmacpy_conn_close -- disconnect and free everything the connection owns */
void rdmacpy_conn_close(struct rdmacpy_conn **cp)
{
	struct rdmacpy_conn *c;
	bool pending[RDMACPY_MAX_QP] = {false};
	unsigned int i;

	if (!cp || !*cp)
		return;
	c = *cp;
	c->closing = true;
	rcp_connect_closing(c);
	for (i = 0; i < c->nqp; i++)
		pending[i] = c->qp[i].established;
	cancel_active(c);
	rcp_conn_fail(c, -ECANCELED, "closed");
	/* let flushed completions retire what was in flight, so no buffer is in use */
	if (c->ndev)
		rcp_engine_wait(c, all_retired, c, CLOSE_GRACE_MS);
	rcp_ops_abort(c, -ECANCELED);
	if (c->ch)
		close_wait_disconnected(c, pending);
	while (c->grants) {
		struct rdmacpy_grant *g = c->grants;

		c->grants = g->next;
		free(g);
	}
	while (c->mems) {
		struct rdmacpy_mem *m = c->mems;

		rdmacpy_mem_dereg(&m);
	}
	if (c->express_held)
		rcp_rcache_put(&c->dev[0].cache, &c->express_held);
	for (i = 0; i < c->nqp; i++) {
		rcp_ctrl_fail_all(&c->qp[i], -ECANCELED);
		rcp_qp_teardown(&c->qp[i]);
	}
	for (i = 0; i < c->ndev; i++) {
		struct rcp_cli_dev *d = &c->dev[i];

		if (d->cache.pd && rcp_rcache_fini(&d->cache))
			rcp_warn(&c->log, "registrations still held at close");
		rcp_vb_dereg_mr(&d->ctrl_mr);
		if (d->own_pd)
			rcp_vb_dealloc_pd(&d->pd);
		rcp_vb_destroy_comp_channel(&d->cc);
	}
	free(c->ctrl_mem);
	rcp_vb_destroy_event_channel(&c->ch);
	if (c->timerfd >= 0)
		close(c->timerfd);
	if (c->epfd >= 0)
		close(c->epfd);
	rcp_auth_key_wipe(&c->key);
	free(c->qp);
	free(c);
	*cp = NULL;
}
