/* SPDX-License-Identifier: BSD-3-Clause */
/* test_client_rdma.c -- librdmacpy against a real rdmacpyd on soft-RoCE: random scatter/gather
 * transfers in every moderation mode over 1 and 4 QPs, an event-loop driven async run, a
 * completion error, and a wake-up/throughput measurement */
#include <criterion/criterion.h>
#include <event2/event.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

#define REGION_SIZE (96ull << 20)
#define MAX_TOTAL   (64u << 20)
#define MAX_SEGS    64

static struct th_daemon daemon_;
static bool daemon_up;

/* start_daemon -- one rdmacpyd per test with a 96 MiB read/write region */
static void start_daemon(void)
{
	static const char *const extra[] = {"--region", "data:anon:96M:rw", "--region",
					    "small:anon:1M:rw", NULL};
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	ret = th_daemon_start(&daemon_, extra);
	cr_assert_eq(ret, 0, "rdmacpyd did not start: %s (log %s)", strerror(-ret), daemon_.log);
	daemon_up = true;
}

/* stop_daemon -- stop it; it must exit cleanly */
static void stop_daemon(void)
{
	if (daemon_up)
		cr_expect_eq(th_daemon_stop(&daemon_), 0, "rdmacpyd exit status");
	daemon_up = false;
}

TestSuite(rdma_client, .init = start_daemon, .fini = stop_daemon, .timeout = 600);

/* now_s -- monotonic seconds */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* conn_open -- connect with the daemon's key and the given mode and QP count */
static struct rdmacpy_conn *conn_open(enum rdmacpy_moderation mode, uint32_t nqp)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = daemon_.key;
	o.moderation = mode;
	o.nqp = nqp;
	o.timeout_ms = 60000;
	ret = rdmacpy_conn_open(th_ip(), daemon_.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s (%s)", rdmacpy_strerror(ret),
		     c ? "" : "see the daemon log");
	return c;
}

/* conn_open_period -- conn_open with a moderation period */
static struct rdmacpy_conn *conn_open_period(enum rdmacpy_moderation mode, uint32_t period_us)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = daemon_.key;
	o.moderation = mode;
	o.mod_period_us = period_us;
	o.timeout_ms = 60000;
	ret = rdmacpy_conn_open(th_ip(), daemon_.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
	return c;
}

/* rnd -- a pseudo-random number in [0, n) */
static uint64_t rnd(uint64_t n)
{
	uint64_t r = ((uint64_t)(unsigned)rand() << 31) ^ (uint64_t)(unsigned)rand();

	return n ? r % n : 0;
}

/* split -- cut total into n lengths (some may be 0) */
static void split(uint64_t total, int n, uint64_t *len)
{
	uint64_t left = total;
	int i;

	for (i = 0; i < n - 1; i++) {
		len[i] = rnd(left / (uint64_t)(n - i) * 2 + 1);
		if (len[i] > left)
			len[i] = left;
		left -= len[i];
	}
	len[n - 1] = left;
}

/* make_iov -- n iovecs over buf totalling total bytes, with random gaps between them */
static int make_iov(uint8_t *buf, uint64_t cap, uint64_t total, struct iovec *iov)
{
	uint64_t len[MAX_SEGS];
	uint64_t slack = cap - total;
	uint64_t pos = 0;
	int n = 1 + (int)rnd(MAX_SEGS);
	int i;

	split(total, n, len);
	for (i = 0; i < n; i++) {
		uint64_t gap = rnd(slack / (uint64_t)n + 1);

		pos += gap;
		slack -= gap;
		iov[i].iov_base = buf + pos;
		iov[i].iov_len = len[i];
		pos += len[i];
	}
	return n;
}

/* make_ranges -- n ranges of the grant totalling total bytes, in order, with random gaps */
static int make_ranges(uint64_t total, struct rdmacpy_range *r)
{
	uint64_t len[MAX_SEGS];
	uint64_t slack = REGION_SIZE - total;
	uint64_t pos = 0;
	int n = 1 + (int)rnd(MAX_SEGS);
	int i;

	split(total, n, len);
	for (i = 0; i < n; i++) {
		uint64_t gap = rnd(slack / (uint64_t)n + 1);

		pos += gap;
		slack -= gap;
		r[i].offset = pos;
		r[i].length = len[i];
		pos += len[i];
	}
	return n;
}

/* gather -- concatenate iovecs into out */
static void gather(const struct iovec *iov, int n, uint8_t *out)
{
	int i;

	for (i = 0; i < n; i++) {
		memcpy(out, iov[i].iov_base, iov[i].iov_len);
		out += iov[i].iov_len;
	}
}

/* random_transfers -- write random layouts and read them back through other layouts */
static void random_transfers(enum rdmacpy_moderation mode, uint32_t nqp, unsigned int seed)
{
	uint64_t cap = MAX_TOTAL + (8u << 20);
	uint8_t *src = malloc(cap);
	uint8_t *dst = malloc(cap);
	uint8_t *a = malloc(MAX_TOTAL);
	uint8_t *b = malloc(MAX_TOTAL);
	struct iovec wiov[MAX_SEGS];
	struct iovec riov[MAX_SEGS];
	struct rdmacpy_range r[MAX_SEGS];
	struct rdmacpy_counters ctr;
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c;
	uint64_t moved = 0;
	double t0;
	int iter;

	cr_assert(src && dst && a && b);
	srand(seed);
	/* eight bytes per step: rand() per byte cost most of this test's time under TCG */
	for (uint64_t i = 0, x = seed * 0x9E3779B97F4A7C15ull + 1; i < cap; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(src + i, &x, cap - i < 8 ? cap - i : 8);
	}
	c = conn_open(mode, nqp);
	cr_assert_eq(rdmacpy_grant_open(c, "data", 0, REGION_SIZE, RDMACPY_RIGHTS_RW, &g), 0);
	t0 = now_s();
	for (iter = 0; iter < 4; iter++) {
		/* one big transfer, then smaller ones */
		uint64_t total = iter == 0 ? MAX_TOTAL - rnd(1u << 20) : 1 + rnd(8u << 20);
		int nw = make_iov(src, cap, total, wiov);
		int nr = make_ranges(total, r);
		int nd = make_iov(dst, cap, total, riov);
		int ret;

		memset(dst, 0, cap);
		ret = rdmacpy_writev(c, g, wiov, nw, r, nr);
		cr_assert_eq(ret, 0, "writev %llu bytes, %d iovecs, %d ranges: %s",
			     (unsigned long long)total, nw, nr, rdmacpy_strerror(ret));
		ret = rdmacpy_readv(c, g, riov, nd, r, nr);
		cr_assert_eq(ret, 0, "readv: %s", rdmacpy_strerror(ret));
		gather(wiov, nw, a);
		gather(riov, nd, b);
		cr_assert(memcmp(a, b, total) == 0, "bytes differ (mode %d, %u QPs, iter %d)", mode,
			  nqp, iter);
		moved += 2 * total;
	}
	ctr.size = sizeof(ctr);
	rdmacpy_conn_counters(c, &ctr);
	fprintf(stderr,
		"client: mode %d nqp %u: %.1f MB/s, %llu WRs (%llu signaled, %llu posts), "
		"%llu wake-ups\n",
		mode, nqp, (double)moved / 1e6 / (now_s() - t0), (unsigned long long)ctr.wrs_posted,
		(unsigned long long)ctr.wrs_signaled, (unsigned long long)ctr.post_calls,
		(unsigned long long)ctr.wakeups);
	cr_assert_eq(ctr.bytes_written + ctr.bytes_read, moved);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	rdmacpy_conn_close(&c);
	free(src);
	free(dst);
	free(a);
	free(b);
}

Test(rdma_client, random__poll_1qp)
{
	random_transfers(RDMACPY_MOD_POLL, 1, 1);
}

Test(rdma_client, random__event_1qp)
{
	random_transfers(RDMACPY_MOD_EVENT, 1, 2);
}

Test(rdma_client, random__moderated_1qp)
{
	random_transfers(RDMACPY_MOD_MODERATED, 1, 3);
}

Test(rdma_client, random__adaptive_1qp)
{
	random_transfers(RDMACPY_MOD_ADAPTIVE, 1, 4);
}

Test(rdma_client, random__poll_4qp)
{
	random_transfers(RDMACPY_MOD_POLL, 4, 5);
}

Test(rdma_client, random__event_4qp)
{
	random_transfers(RDMACPY_MOD_EVENT, 4, 6);
}

Test(rdma_client, random__moderated_4qp)
{
	random_transfers(RDMACPY_MOD_MODERATED, 4, 7);
}

Test(rdma_client, random__adaptive_4qp)
{
	random_transfers(RDMACPY_MOD_ADAPTIVE, 4, 8);
}

Test(rdma_client, control__list_stat_checksum_flush)
{
	struct rdmacpy_region_info ri[8];
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c = conn_open(RDMACPY_MOD_MODERATED, 1);
	uint8_t want[RDMACPY_CHECKSUM_LEN];
	uint8_t got[RDMACPY_CHECKSUM_LEN];
	uint8_t data[100000];
	size_t total = 0;
	int n;

	n = rdmacpy_region_list(c, ri, sizeof(ri[0]), 8, &total);
	cr_assert_eq(n, 2, "list: %d", n);
	cr_assert_eq(total, 2);
	cr_assert_eq(rdmacpy_grant_open(c, "nosuch", 0, 1, RDMACPY_RIGHTS_RO, &g), RDMACPY_E_NOENT);
	cr_assert_str_neq(rdmacpy_conn_last_error(c), "");
	cr_assert_eq(rdmacpy_grant_open(c, "small", 0, 2 << 20, RDMACPY_RIGHTS_RO, &g),
		     RDMACPY_E_RANGE);
	cr_assert_eq(rdmacpy_grant_open(c, "small", 4096, 200000, RDMACPY_RIGHTS_RW, &g), 0);
	cr_assert(rdmacpy_grant_is_memory_window(g), "rxe binds type-2 windows");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	cr_assert_eq(rdmacpy_write(c, g, 50000, data, sizeof(data)), 0);
	crypto_generichash(want, sizeof(want), data, sizeof(data), NULL, 0);
	cr_assert_eq(rdmacpy_region_checksum(c, "small", 4096 + 50000, sizeof(data), got), 0);
	cr_assert(memcmp(want, got, sizeof(want)) == 0, "checksum differs");
	/* anonymous memory has nothing to make durable, but FLUSH is answered and counted
	 * (that a FLUSH reaches the file is rdma_staged's and the power-cut test's to show) */
	cr_assert_eq(rdmacpy_grant_flush(g, 50000, sizeof(data)), 0);
	cr_assert_eq(rdmacpy_grant_flush(g, 150000, 60000), RDMACPY_E_RANGE,
		     "a FLUSH past the grant's end");
	cr_assert_eq(rdmacpy_region_flush(c, "small", 0, 4096), 0);
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	cr_assert_geq(st.grants_active, 1);
	cr_assert_eq(st.flushes, 2, "the daemon answered %llu FLUSHes",
		     (unsigned long long)st.flushes);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	rdmacpy_conn_close(&c);
}

Test(rdma_client, error__write_through_read_only_grant)
{
	struct rdmacpy_conn *c = conn_open(RDMACPY_MOD_MODERATED, 1);
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	static uint8_t data[65536];

	cr_assert_eq(rdmacpy_grant_open(c, "data", 0, 1 << 20, RDMACPY_RIGHTS_RO, &g), 0);
	cr_assert_eq(rdmacpy_read(c, g, 0, data, sizeof(data)), 0);
	cr_assert_eq(rdmacpy_write_async(c, g, 0, data, sizeof(data), NULL, NULL, &op), 0);
	cr_assert_eq(rdmacpy_op_wait(op, 20000), RDMACPY_E_REMOTE_ACCESS);
	rdmacpy_op_free(&op);
	cr_assert_eq(rdmacpy_read(c, g, 0, data, 10), RDMACPY_E_BROKEN);
	/* the connection is broken: closing the grant cannot reach the daemon, and says so */
	cr_assert_eq(rdmacpy_grant_close(&g), RDMACPY_E_BROKEN);
	cr_assert_null(g);
	rdmacpy_conn_close(&c);
	cr_assert_null(c);
}

/*
 * Small synchronous transfers in POLL mode take the express path (one WR, spun for): random
 * sizes and offsets written and read back, with asynchronous operations in flight between them
 * (which the express path must not overtake), then a write through a read-only grant.
 */
Test(rdma_client, poll_small_sync__verified_and_ordered_with_async)
{
	struct rdmacpy_conn *c = conn_open(RDMACPY_MOD_POLL, 1);
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_grant *ro = NULL;
	struct rdmacpy_counters k0;
	struct rdmacpy_counters k1;
	struct rdmacpy_op *op = NULL;
	static uint8_t out[8192];
	static uint8_t back[8192];
	static uint8_t big[1 << 20];
	unsigned int seed = (unsigned int)time(NULL);
	uint64_t read_bytes = 0;
	uint64_t written_bytes = 0;
	int i;

	srand(seed);
	cr_assert_eq(rdmacpy_grant_open(c, "small", 0, 1 << 20, RDMACPY_RIGHTS_RW, &g), 0);
	k0.size = sizeof(k0);
	rdmacpy_conn_counters(c, &k0);
	for (i = 0; i < 400; i++) {
		size_t len = 1 + (size_t)rnd(sizeof(out));
		uint64_t off = rnd((1 << 20) - len);

		for (size_t b = 0; b < len; b++)
			out[b] = (uint8_t)rand();
		if (i % 50 == 10) {
			/* an async write of another range in flight while the sync ones go */
			memset(big, i, sizeof(big) / 2);
			cr_assert_eq(
				rdmacpy_write_async(c, g, 0, big, sizeof(big) / 2, NULL, NULL, &op),
				0);
			written_bytes += sizeof(big) / 2;
		}
		cr_assert_eq(rdmacpy_write(c, g, off, out, len), 0, "seed %u", seed);
		memset(back, 0, len);
		cr_assert_eq(rdmacpy_read(c, g, off, back, len), 0, "seed %u", seed);
		read_bytes += len;
		written_bytes += len;
		cr_assert(memcmp(out, back, len) == 0, "%zu bytes at %llu differ (seed %u)", len,
			  (unsigned long long)off, seed);
		if (op) {
			cr_assert_eq(rdmacpy_op_wait(op, 20000), 0);
			rdmacpy_op_free(&op);
		}
	}
	k1.size = sizeof(k1);
	rdmacpy_conn_counters(c, &k1);
	/* the express path counts what it moves exactly as the engine does */
	cr_assert_eq(k1.bytes_read - k0.bytes_read, read_bytes);
	cr_assert_eq(k1.bytes_written - k0.bytes_written, written_bytes);
	cr_assert_eq(rdmacpy_grant_open(c, "data", 0, 4096, RDMACPY_RIGHTS_RO, &ro), 0);
	cr_assert_eq(rdmacpy_read(c, ro, 0, back, 64), 0);
	cr_assert_eq(rdmacpy_write(c, ro, 0, out, 64), RDMACPY_E_REMOTE_ACCESS);
	cr_assert_eq(rdmacpy_read(c, g, 0, back, 64), RDMACPY_E_BROKEN);
	rdmacpy_grant_close(&ro);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
}

/* ---- libevent-driven asynchronous run ---- */

struct loop {
	struct event_base *base;
	struct event *fd_ev;
	struct event *timer;
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g;
	uint8_t *src;
	uint8_t *dst;
	int writes_done;
	int reads_done;
	int errors;
	int nops;
	size_t op_len;
	int fd_events;
	int timer_events;
};

/* loop_rearm -- the library may want a call without an fd event (a moderation deadline);
 * when it says it needs none, the fd alone must wake the loop: no fallback timer */
static void loop_rearm(struct loop *l)
{
	int t = rdmacpy_conn_next_timeout(l->c);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 0};

	if (t < 0) {
		evtimer_del(l->timer);
		return;
	}
	tv.tv_sec = t / 1000;
	tv.tv_usec = (t % 1000) * 1000;
	evtimer_add(l->timer, &tv);
}

/* read_done -- a read finished */
static void read_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct loop *l = ctx;

	(void)op;
	if (status)
		l->errors++;
	if (++l->reads_done == l->nops)
		event_base_loopexit(l->base, NULL);
}

/* write_done -- a write finished: read the same slot back */
static void write_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct loop *l = ctx;
	int i = l->writes_done++;

	(void)op;
	if (status) {
		l->errors++;
		event_base_loopexit(l->base, NULL);
		return;
	}
	if (rdmacpy_read_async(l->c, l->g, (uint64_t)i * l->op_len, l->dst + (size_t)i * l->op_len,
			       l->op_len, read_done, l, NULL))
		l->errors++;
}

/* on_ready -- the completion fd or the timer fired */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	if (what & EV_READ)
		l->fd_events++;
	else
		l->timer_events++;
	if (rdmacpy_conn_progress(l->c, 0) < 0)
		l->errors++;
	loop_rearm(l);
}

Test(rdma_client, async__libevent_loop)
{
	struct loop l = {.nops = 48, .op_len = 1u << 20};
	struct timeval limit = {.tv_sec = 120};
	struct rdmacpy_counters ctr;
	int i;

	l.c = conn_open(RDMACPY_MOD_MODERATED, 2);
	cr_assert_eq(rdmacpy_grant_open(l.c, "data", 0, REGION_SIZE, RDMACPY_RIGHTS_RW, &l.g), 0);
	l.src = malloc((size_t)l.nops * l.op_len);
	l.dst = calloc((size_t)l.nops, l.op_len);
	cr_assert(l.src && l.dst);
	for (size_t k = 0; k < (size_t)l.nops * l.op_len; k++)
		l.src[k] = (uint8_t)(k * 13 + 5);
	l.base = event_base_new();
	l.fd_ev = event_new(l.base, rdmacpy_conn_fd(l.c), EV_READ | EV_PERSIST, on_ready, &l);
	l.timer = evtimer_new(l.base, on_ready, &l);
	cr_assert(l.base && l.fd_ev && l.timer);
	event_add(l.fd_ev, NULL);
	for (i = 0; i < l.nops; i++)
		cr_assert_eq(rdmacpy_write_async(l.c, l.g, (uint64_t)i * l.op_len,
						 l.src + (size_t)i * l.op_len, l.op_len, write_done,
						 &l, NULL),
			     0);
	loop_rearm(&l);
	event_base_loopexit(l.base, &limit);
	event_base_dispatch(l.base);
	cr_assert_eq(l.errors, 0);
	cr_assert_eq(l.reads_done, l.nops, "only %d of %d reads finished", l.reads_done, l.nops);
	cr_assert(memcmp(l.src, l.dst, (size_t)l.nops * l.op_len) == 0);
	ctr.size = sizeof(ctr);
	rdmacpy_conn_counters(l.c, &ctr);
	fprintf(stderr,
		"client: async loop: %llu completions, %llu wake-ups, %d fd events, %d timer "
		"events\n",
		(unsigned long long)ctr.completions, (unsigned long long)ctr.wakeups, l.fd_events,
		l.timer_events);
	cr_assert_gt(l.fd_events, 0, "the completion fd never woke the loop");
	event_free(l.fd_ev);
	event_free(l.timer);
	event_base_free(l.base);
	rdmacpy_grant_close(&l.g);
	rdmacpy_conn_close(&l.c);
	free(l.src);
	free(l.dst);
}

/* ---- wake-ups and throughput per moderation mode ---- */

/* measure -- 128 MiB written in 1 MiB operations, 8 in flight; the counters it cost */
static struct rdmacpy_counters measure(enum rdmacpy_moderation mode, uint32_t period_us,
				       const char *name, FILE *out)
{
	const size_t op_len = 1u << 20;
	const int nops = 128;
	const int inflight = 8;
	struct rdmacpy_conn *c = conn_open_period(mode, period_us);
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_mem *m = NULL;
	struct rdmacpy_op *op[8] = {NULL};
	struct rdmacpy_counters c0;
	struct rdmacpy_counters c1;
	uint8_t *buf = malloc(op_len * (size_t)inflight);
	double t0;
	double dt;
	double gib = (double)nops * (double)op_len / (double)(1u << 30);
	int i;

	cr_assert_not_null(buf);
	memset(buf, 0x33, op_len * (size_t)inflight);
	cr_assert_eq(rdmacpy_grant_open(c, "data", 0, 64u << 20, RDMACPY_RIGHTS_RW, &g), 0);
	cr_assert_eq(rdmacpy_mem_reg(c, buf, op_len * (size_t)inflight, &m), 0);
	c0.size = sizeof(c0);
	rdmacpy_conn_counters(c, &c0);
	t0 = now_s();
	for (i = 0; i < nops; i++) {
		int s = i % inflight;

		if (op[s]) {
			cr_assert_eq(rdmacpy_op_wait(op[s], -1), 0);
			rdmacpy_op_free(&op[s]);
		}
		cr_assert_eq(rdmacpy_write_async(c, g, (uint64_t)(i % 64) * op_len,
						 buf + (size_t)s * op_len, op_len, NULL, NULL,
						 &op[s]),
			     0);
	}
	for (i = 0; i < inflight; i++) {
		cr_assert_eq(rdmacpy_op_wait(op[i], -1), 0);
		rdmacpy_op_free(&op[i]);
	}
	dt = now_s() - t0;
	c1.size = sizeof(c1);
	rdmacpy_conn_counters(c, &c1);
	fprintf(out,
		"%-16s 128 MiB in 1 MiB writes: %6.1f MB/s, %6.0f wake-ups/GiB, %6.0f "
		"completions/GiB, %llu WRs\n",
		name, (double)nops * (double)op_len / 1e6 / dt,
		(double)(c1.wakeups - c0.wakeups) / gib,
		(double)(c1.completions - c0.completions) / gib,
		(unsigned long long)(c1.wrs_posted - c0.wrs_posted));
	fflush(out);
	rdmacpy_mem_dereg(&m);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
	free(buf);
	c1.wrs_posted -= c0.wrs_posted;
	c1.wrs_signaled -= c0.wrs_signaled;
	c1.wakeups -= c0.wakeups;
	c1.completions -= c0.completions;
	return c1;
}

Test(rdma_client, moderation__signaling_and_wakeup_invariants_per_mode)
{
	struct rdmacpy_counters ev;
	struct rdmacpy_counters mod;
	struct rdmacpy_counters slow;
	struct rdmacpy_counters ad;
	struct rdmacpy_counters poll;
	char path[512];
	const char *dir = getenv("RDMACPY_BUILD_DIR");
	FILE *out;

	snprintf(path, sizeof(path), "%s/test-results/client-moderation.txt", dir ? dir : "/tmp");
	out = fopen(path, "w");
	if (!out)
		out = stderr;
	ev = measure(RDMACPY_MOD_EVENT, 200, "EVENT", out);
	mod = measure(RDMACPY_MOD_MODERATED, 200, "MODERATED 200us", out);
	slow = measure(RDMACPY_MOD_MODERATED, 50000, "MODERATED 50ms", out);
	ad = measure(RDMACPY_MOD_ADAPTIVE, 200, "ADAPTIVE", out);
	poll = measure(RDMACPY_MOD_POLL, 200, "POLL", out);
	if (out != stderr)
		fclose(out);
	/* rxe has no ibv_modify_cq: every mode below is the library's software moderation */
	cr_assert(!ev.hw_moderation && !mod.hw_moderation && !ad.hw_moderation);
	cr_assert_eq(ev.wrs_signaled, ev.wrs_posted, "EVENT signals every WR");
	for (int i = 0; i < 3; i++) {
		const struct rdmacpy_counters *k = i == 0 ? &mod : i == 1 ? &slow : &ad;

		cr_assert_lt(k->wrs_signaled, k->wrs_posted, "moderated mode %d signaled every WR",
			     i);
		/* With a 200 us period, a completion that takes longer than the period to arrive
		 * (an emulated link takes about that per WR) costs a timer wake-up of its own, so
		 * that mode's count depends on the link's speed: one CI run saw 141 against
		 * EVENT's 128. The 50 ms period and the adaptive mode do not. */
		if (i == 0)
			continue;
		cr_assert_lt(k->wakeups, ev.wakeups,
			     "moderated mode %d woke %llu times, EVENT %llu, for the same work", i,
			     (unsigned long long)k->wakeups, (unsigned long long)ev.wakeups);
	}
	cr_assert_eq(poll.wakeups, 0, "POLL mode never sleeps on the channel");
}
