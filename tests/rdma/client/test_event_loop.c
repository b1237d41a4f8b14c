/* SPDX-License-Identifier: BSD-3-Clause */
/* test_event_loop.c -- one libevent loop drives two connections to two daemons through their
 * whole life: connect, open, write, flush, read back, checksum, close. Nothing in the loop may
 * block: the loop's largest gap between iterations and the longest library call are reported;
 * the assertions are the bytes and that every callback ran. */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

#define NPEERS	2
#define LEN	(4u << 20)
#define NCHUNK	4
#define CHUNK	(LEN / NCHUNK)
#define REGION	"disk"
#define LIMIT_S 120

enum phase {
	CONNECTING,
	OPENING,
	WRITING,
	FLUSHING,
	READING,
	CHECKSUMMING,
	CLOSING,
	FINISHED,
};

struct peer {
	struct loop *loop;
	int idx;
	struct th_daemon d;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	struct event *fd_ev;
	struct event *timer;
	enum phase phase;
	int pending; /* operations of the phase still out */
	uint8_t *src;
	uint8_t *dst;
	uint8_t digest[RDMACPY_CHECKSUM_LEN];
	int callbacks; /* every operation's callback, counted */
	int expected;  /* how many callbacks the run should bring */
	int failed;    /* first failing status */
	const char *failed_at;
	int fd_events;
};

struct loop {
	struct event_base *base;
	struct event *ticker;
	struct peer p[NPEERS];
	int finished;
	double last_tick;
	double max_gap;	 /* longest time between two loop iterations */
	double max_call; /* longest single library call made from the loop */
	const char *max_call_name;
	unsigned long ticks;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* took -- a library call made from the loop, started at t0, has returned */
static void took(struct loop *l, const char *name, double t0)
{
	double d = now_s() - t0;

	if (d > l->max_call) {
		l->max_call = d;
		l->max_call_name = name;
	}
}

static void advance(struct peer *p);

/* fail -- a peer's run stops here */
static void fail(struct peer *p, const char *where, int status)
{
	if (!p->failed) {
		p->failed = status ? status : -1;
		p->failed_at = where;
	}
	if (p->phase != FINISHED) {
		p->phase = FINISHED;
		if (++p->loop->finished == NPEERS)
			event_base_loopexit(p->loop->base, NULL);
	}
}

/* done -- every operation's callback: the phase moves on when its last one is in */
static void done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct peer *p = ctx;

	(void)op;
	p->callbacks++;
	if (status) {
		fail(p, "callback", status);
		return;
	}
	if (--p->pending == 0 && p->phase != FINISHED) {
		p->phase++;
		advance(p);
	}
}

/* advance -- start the phase the peer has reached */
static void advance(struct peer *p)
{
	struct loop *l = p->loop;
	double t0 = now_s();
	const char *what = "";
	int i;
	int r = 0;

	switch (p->phase) {
	case OPENING:
		p->pending = 1;
		what = "grant_open_async";
		r = rdmacpy_grant_open_async(p->c, REGION, 0, LEN, RDMACPY_RIGHTS_RW, &p->g, done,
					     p, NULL);
		break;
	case WRITING:
		p->pending = NCHUNK;
		what = "write_async";
		for (i = 0; i < NCHUNK && !r; i++)
			r = rdmacpy_write_async(p->c, p->g, (uint64_t)i * CHUNK,
						p->src + (size_t)i * CHUNK, CHUNK, done, p, NULL);
		break;
	case FLUSHING:
		p->pending = 1;
		what = "grant_flush_async";
		r = rdmacpy_grant_flush_async(p->g, 0, LEN, done, p, NULL);
		break;
	case READING:
		p->pending = NCHUNK;
		what = "read_async";
		for (i = 0; i < NCHUNK && !r; i++)
			r = rdmacpy_read_async(p->c, p->g, (uint64_t)i * CHUNK,
					       p->dst + (size_t)i * CHUNK, CHUNK, done, p, NULL);
		break;
	case CHECKSUMMING:
		p->pending = 1;
		what = "region_checksum_async";
		r = rdmacpy_region_checksum_async(p->c, REGION, 0, LEN, p->digest, done, p, NULL);
		break;
	case CLOSING:
		p->pending = 1;
		what = "grant_close_async";
		r = rdmacpy_grant_close_async(&p->g, done, p, NULL);
		break;
	case FINISHED:
		if (++l->finished == NPEERS)
			event_base_loopexit(l->base, NULL);
		return;
	default:
		break;
	}
	took(l, what, t0);
	if (r)
		fail(p, what, r);
}

/* rearm -- the library's own deadline, if it has one, as a timer */
static void rearm(struct peer *p)
{
	int t = rdmacpy_conn_next_timeout(p->c);
	struct timeval tv;

	if (t < 0) {
		evtimer_del(p->timer);
		return;
	}
	tv.tv_sec = t / 1000;
	tv.tv_usec = (t % 1000) * 1000;
	evtimer_add(p->timer, &tv);
}

/* on_ready -- a peer's fd or timer */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	double t0 = now_s();
	int r;

	(void)fd;
	if (what & EV_READ)
		p->fd_events++;
	r = rdmacpy_conn_progress(p->c, 0);
	took(p->loop, "conn_progress", t0);
	if (r < 0)
		fail(p, "progress", r);
	rearm(p);
}

/* on_tick -- the loop's heartbeat: how long since the last iteration */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	double now = now_s();

	(void)fd;
	(void)what;
	if (l->last_tick > 0 && now - l->last_tick > l->max_gap)
		l->max_gap = now - l->last_tick;
	l->last_tick = now;
	l->ticks++;
}

Test(rdma_event_loop, two_daemons__one_loop_never_blocked, .timeout = 300)
{
	static const char *const extra[] = {"--region", "disk:file:%D/disk.dat:8M:rw", NULL};
	struct timeval limit = {.tv_sec = LIMIT_S};
	struct timeval tick = {.tv_sec = 0, .tv_usec = 1000};
	struct rdmacpy_conn_opts o;
	struct loop l = {0};
	uint8_t want[RDMACPY_CHECKSUM_LEN];
	double t0;
	int i;
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	cr_assert_eq(sodium_init() < 0, 0);
	cr_assert_eq(th_daemon_start(&l.p[0].d, extra), 0, "daemon 0");
	cr_assert_eq(th_daemon_start_key(&l.p[1].d, l.p[0].d.key, extra), 0, "daemon 1");
	l.base = event_base_new();
	l.ticker = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
	cr_assert(l.base && l.ticker);
	event_add(l.ticker, &tick);
	rdmacpy_conn_opts_init(&o);
	o.key_file = l.p[0].d.key;
	o.nqp = 2;
	o.timeout_ms = 30000;
	for (i = 0; i < NPEERS; i++) {
		struct peer *p = &l.p[i];

		p->loop = &l;
		p->idx = i;
		p->src = malloc(LEN);
		p->dst = calloc(1, LEN);
		cr_assert(p->src && p->dst);
		randombytes_buf(p->src, LEN);
		/* connect, open, 4 writes, flush, 4 reads, checksum, close */
		p->expected = 1 + 1 + NCHUNK + 1 + NCHUNK + 1 + 1;
		p->phase = CONNECTING;
		p->pending = 1;
		t0 = now_s();
		ret = rdmacpy_conn_open_async(th_ip(), p->d.port, &o, done, p, &p->c, NULL);
		took(&l, "conn_open_async", t0);
		cr_assert_eq(ret, 0, "connect %d: %s", i, rdmacpy_strerror(ret));
		p->fd_ev =
			event_new(l.base, rdmacpy_conn_fd(p->c), EV_READ | EV_PERSIST, on_ready, p);
		p->timer = evtimer_new(l.base, on_ready, p);
		cr_assert(p->fd_ev && p->timer);
		event_add(p->fd_ev, NULL);
		rearm(p);
	}
	event_base_loopexit(l.base, &limit);
	event_base_dispatch(l.base);

	fprintf(stderr,
		"event loop: %lu iterations, largest gap between two %.1f ms, longest library "
		"call %.1f ms (%s); fd wake-ups %d and %d\n",
		l.ticks, l.max_gap * 1e3, l.max_call * 1e3, l.max_call_name ? l.max_call_name : "-",
		l.p[0].fd_events, l.p[1].fd_events);
	for (i = 0; i < NPEERS; i++) {
		struct peer *p = &l.p[i];

		cr_assert_eq(p->failed, 0, "peer %d failed at %s: %s (%s)", i, p->failed_at,
			     rdmacpy_strerror(p->failed), rdmacpy_conn_last_error(p->c));
		cr_assert_eq(p->phase, FINISHED, "peer %d stopped in phase %d", i, p->phase);
		cr_assert_eq(p->callbacks, p->expected, "peer %d: %d of %d callbacks", i,
			     p->callbacks, p->expected);
		cr_assert(memcmp(p->src, p->dst, LEN) == 0, "peer %d: bytes read back differ", i);
		crypto_generichash(want, sizeof(want), p->src, LEN, NULL, 0);
		cr_assert(memcmp(want, p->digest, sizeof(want)) == 0,
			  "peer %d: the daemon's checksum differs", i);
		cr_assert_gt(p->fd_events, 0, "peer %d: its fd never woke the loop", i);
		cr_assert_null(p->g);
		event_free(p->fd_ev);
		event_free(p->timer);
		rdmacpy_conn_close(&p->c);
		free(p->src);
		free(p->dst);
		cr_expect_eq(th_daemon_stop(&p->d), 0);
	}
	/* the two daemons' bytes are not the same: each got its own */
	cr_assert(memcmp(l.p[0].digest, l.p[1].digest, RDMACPY_CHECKSUM_LEN) != 0);
	event_free(l.ticker);
	event_base_free(l.base);
}
