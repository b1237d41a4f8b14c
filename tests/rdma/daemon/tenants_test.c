/* SPDX-License-Identifier: BSD-3-Clause */
/* tenants_test.c -- rdmacpyd shared by many clients on soft-RoCE: long requests do not hold
 * the others up, connections that never authenticate cannot lock anyone out, a client's work
 * ends with it, huge pages */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/auth.h"
#include "common/checksum.h"
#include "rdmacpy.h"
#include "tclient.h"
#include "tests/rdma/harness/harness.h"

#define MiB	(1ull << 20)
#define BIG	(128 * MiB) /* a CHECKSUM of it takes seconds on soft-RoCE under TCG */
#define WAIT_MS 20000
#define WANT_ZERO_DIGEST                                                                          \
	0xeb, 0x08, 0xe5, 0x72, 0x66, 0xc5, 0x96, 0xf3, 0xc8, 0x99, 0x95, 0x8d, 0x2e, 0x41, 0x87, \
		0xcd, 0x01, 0x11, 0xab, 0xd6, 0xc0, 0x72, 0x6e, 0xc3, 0x53, 0xac, 0x4e, 0xa2,     \
		0xa4, 0x05, 0x9d, 0x3b

static struct th_daemon d;
static struct rcp_auth_key key;

/* stop -- the daemon must exit 0 on SIGTERM whatever the test left behind */
static void stop(void)
{
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0, "rdmacpyd exit status (log %s)", d.log);
}

TestSuite(tenants, .fini = stop, .timeout = 300);

/* start -- rdmacpyd with a big anonymous region and the extra arguments */
static void start(const char *const *extra)
{
	const char *args[24] = {"--region", "big:anon:128MiB", "--region", "small:anon:4MiB"};
	int n = 4;
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	for (int i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	ret = th_daemon_start(&d, args);
	cr_assert_eq(ret, 0, "rdmacpyd did not start (%d), log %s", ret, d.log);
	cr_assert_eq(rcp_auth_key_load(d.key, &key), 0);
}

/* lib_connect -- a librdmacpy client of the daemon */
static struct rdmacpy_conn *lib_connect(void)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	o.timeout_ms = WAIT_MS;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s (%s)", rdmacpy_strerror(ret), rdmacpy_conn_last_error(c));
	return c;
}

/* stats -- the daemon's counters through c */
static struct rdmacpy_stats stats(struct rdmacpy_conn *c)
{
	struct rdmacpy_stats st = {.size = sizeof(st)};

	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	return st;
}

/* nap_ms -- between two looks at a counter */
static void nap_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* wait_running -- poll STAT until n long requests run (bounded by the suite's timeout) */
static void wait_running(struct rdmacpy_conn *c, uint64_t n)
{
	while (stats(c).jobs_running != n)
		nap_ms(20);
}

/* A CHECKSUM of the big region on a connection of its own, in a thread. */
struct checksummer {
	pthread_t thread;
	struct rdmacpy_conn *c;
	uint8_t digest[RDMACPY_CHECKSUM_LEN];
	int ret;
	atomic_bool done;
};

/* checksum_main -- the long request; done is set the moment its answer is in */
static void *checksum_main(void *arg)
{
	struct checksummer *k = arg;

	k->ret = rdmacpy_region_checksum(k->c, "big", 0, BIG, k->digest);
	atomic_store(&k->done, true);
	return NULL;
}

/* served_beside_checksum -- a CHECKSUM runs on a worker while another client's LIST, OPEN,
 * 1 MiB READ and CLOSE all finish before it does (the order is asserted, not a time) */
static void served_beside_checksum(const char *const *extra)
{
	struct checksummer k = {0};
	struct rdmacpy_region_info info[4];
	struct rdmacpy_conn *c;
	struct rdmacpy_grant *g = NULL;
	/* BLAKE2b-256 of 128 MiB of zeros (b2sum -l 256 of /dev/zero), so the test does not
	 * spend seconds computing it */
	static const uint8_t want[RCP_CHECKSUM_LEN] = {WANT_ZERO_DIGEST};
	static uint8_t buf[MiB];
	int steps = 0;

	start(extra);
	k.c = lib_connect();
	c = lib_connect();
	cr_assert_eq(pthread_create(&k.thread, NULL, checksum_main, &k), 0);
	wait_running(c, 1);
	/* the checksum is on a worker now: everything else must get through meanwhile */
	cr_assert_eq(rdmacpy_region_list(c, info, sizeof(info[0]), 4, NULL), 2);
	steps += !atomic_load(&k.done);
	cr_assert_eq(rdmacpy_grant_open(c, "big", 0, MiB, RDMACPY_RIGHTS_RW, &g), 0);
	steps += !atomic_load(&k.done);
	cr_assert_eq(rdmacpy_read(c, g, 0, buf, MiB), 0);
	steps += !atomic_load(&k.done);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	steps += !atomic_load(&k.done);
	cr_assert_eq(stats(c).jobs_running, 1, "the checksum ended before the others were served");
	cr_assert_eq(steps, 4, "only %d of LIST, OPEN, READ, CLOSE finished before the checksum",
		     steps);
	pthread_join(k.thread, NULL);
	cr_assert_eq(k.ret, 0, "checksum: %s", rdmacpy_strerror(k.ret));
	cr_assert_arr_eq(k.digest, want, RCP_CHECKSUM_LEN, "the digest of 128 MiB of zeros");
	rdmacpy_conn_close(&k.c);
	rdmacpy_conn_close(&c);
}

Test(tenants, checksum_runs_beside__other_client_served_before_it_ends)
{
	served_beside_checksum(NULL);
}

/* With the only worker busy, an OPEN that registers its grant's range (rxe: an MR per grant)
 * still goes through: grants' registrations have threads of their own. */
Test(tenants, every_worker_busy__other_client_still_opens_and_closes)
{
	static const char *const extra[] = {"--workers", "1", NULL};

	served_beside_checksum(extra);
}

Test(tenants, client_gone_mid_checksum__its_work_cancelled)
{
	struct rdmacpy_conn *c;
	struct rdmacpy_stats st;
	struct rcp_msg m;
	struct tc raw;

	start(NULL);
	c = lib_connect();
	cr_assert_eq(tc_connect(&raw, th_ip(), d.port, 0, 4096), 0);
	cr_assert_eq(tc_auth(&raw, &key, NULL), 0);
	rcp_msg_init(&m, RCP_MSG_CHECKSUM, 0);
	rcp_strfield_set(m.u.checksum.name, sizeof(m.u.checksum.name), "big");
	m.u.checksum.length = BIG;
	cr_assert_gt(tc_send(&raw, &m), 0);
	wait_running(c, 1);
	tc_close(&raw);
	/* the daemon notices the disconnect and cancels: nothing may keep running */
	do {
		nap_ms(20);
		st = stats(c);
	} while (st.jobs_running || st.jobs_queued || st.clients_connected != 1);
	cr_assert_eq(st.jobs_total, 1);
	cr_assert_eq(st.jobs_cancelled, 1, "the checksum was not cancelled but ran to its end");
	rdmacpy_conn_close(&c);
}

Test(tenants, long_requests_over_the_bound__busy)
{
	struct rcp_msg m;
	struct rcp_msg r;
	struct tc raw;
	const char *extra[] = {"--max-jobs-per-client", "2", NULL};
	int busy = 0;
	int sums = 0;

	start(extra);
	cr_assert_eq(tc_connect(&raw, th_ip(), d.port, 0, 4096), 0);
	cr_assert_eq(tc_auth(&raw, &key, NULL), 0);
	for (int i = 0; i < 3; i++) {
		rcp_msg_init(&m, RCP_MSG_CHECKSUM, 0);
		rcp_strfield_set(m.u.checksum.name, sizeof(m.u.checksum.name), "big");
		m.u.checksum.length = BIG / 8;
		cr_assert_gt(tc_send(&raw, &m), 0);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(tc_wait_msg(&raw, &r, 60000), 0);
		if (r.hdr.type == RCP_MSG_ERROR) {
			cr_assert_eq(r.u.error.code, RCP_ERR_BUSY, "ERROR %s: %s",
				     rcp_err_name(r.u.error.code), r.u.error.text);
			cr_assert_eq(sums, 0, "BUSY came after a checksum had ended");
			busy++;
		} else {
			cr_assert_eq(r.hdr.type, RCP_MSG_CHECKSUM_REPLY);
			sums++;
		}
	}
	cr_assert_eq(busy, 1);
	cr_assert_eq(sums, 2);
	rcp_msg_init(&m, RCP_MSG_STAT, 0);
	cr_assert_eq(tc_call(&raw, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.u.stat_reply.jobs_refused, 1);
	tc_close(&raw);
}

/* flood -- n raw connections from src that never authenticate; returns how many the daemon
 * accepted (the rest must have been refused BUSY) */
static int flood(struct tc *raw, int n, const char *src)
{
	int accepted = 0;

	for (int i = 0; i < n; i++) {
		int ret = tc_connect_from(&raw[i], src, th_ip(), d.port, 0, 4096);

		if (ret == 0) {
			accepted++;
			continue;
		}
		cr_assert_eq(ret, -ECONNREFUSED, "connection %d: %s", i, strerror(-ret));
		cr_assert_eq(raw[i].reject_reason, RCP_REJECT_BUSY, "connection %d refused %s", i,
			     rcp_reject_name((unsigned int)raw[i].reject_reason));
		tc_close(&raw[i]);
	}
	return accepted;
}

Test(tenants, auth_flood_from_one_address__client_from_another_served_at_once)
{
	const char *extra[] = {"--auth-timeout", "4s", NULL};
	const char *alt = getenv("RDMACPY_TEST_IP_ALT");
	struct rdmacpy_stats st;
	struct rdmacpy_conn *c;
	struct tc raw[32];
	int accepted;

	if (!alt)
		cr_skip_test("no second address on this node (RDMACPY_TEST_IP_ALT)");
	start(extra);
	accepted = flood(raw, 32, alt);
	cr_assert_geq(accepted, 8, "the flood got only %d connections in", accepted);
	c = lib_connect();
	st = stats(c);
	/* one address holds at most its share of the pending pool, and a client from
	 * elsewhere gets in at the first try: every refusal so far was the flood's */
	cr_assert_leq(st.clients_pending, 8, "%llu pending",
		      (unsigned long long)st.clients_pending);
	cr_assert_eq(st.refusals, (uint64_t)(32 - accepted),
		     "the legitimate client was refused before it got in");
	/* the idle ones go at the deadline, and are seen going */
	for (int i = 0; i < 32; i++)
		if (raw[i].id)
			cr_assert(tc_wait_disconnected(&raw[i], WAIT_MS),
				  "connection %d outlived the deadline", i);
	do {
		nap_ms(50);
		st = stats(c);
	} while (st.clients_pending);
	cr_assert_eq(st.auth_timeouts + st.pending_evicted, (uint64_t)accepted);
	cr_assert_geq(st.auth_timeouts, 1);
	cr_assert_eq(st.clients_connected, 1);
	for (int i = 0; i < 32; i++)
		tc_close(&raw[i]);
	rdmacpy_conn_close(&c);
}

Test(tenants, auth_flood_from_the_same_address__client_gets_in_by_eviction)
{
	const char *extra[] = {"--auth-timeout",
			       "30s",
			       "--max-pending",
			       "8",
			       "--max-pending-per-source",
			       "8",
			       NULL};
	struct rdmacpy_stats st;
	struct rdmacpy_conn *c;
	struct tc raw[32];
	int accepted;

	start(extra);
	accepted = flood(raw, 32, NULL);
	cr_assert_geq(accepted, 8);
	/* the pool is full of connections that will never authenticate, all from this
	 * address: the library is refused BUSY, retries, and one of them makes room */
	c = lib_connect();
	st = stats(c);
	cr_assert_geq(st.pending_evicted, (uint64_t)accepted - 8 + 1, "%llu evicted of %d accepted",
		      (unsigned long long)st.pending_evicted, accepted);
	cr_assert_leq(st.clients_pending, 8);
	cr_assert_eq(st.auth_timeouts, 0, "30 s have not passed");
	for (int i = 0; i < 32; i++)
		tc_close(&raw[i]);
	rdmacpy_conn_close(&c);
}

/* huge_pages -- /proc/sys/vm/nr_hugepages, or -1 */
static long huge_pages(void)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* set_huge_pages -- write nr_hugepages; false if not allowed */
static bool set_huge_pages(long n)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", n) > 0;
	return fclose(f) == 0 && ok;
}

Test(tenants, huge_page_region__written_and_read_back)
{
	const char *args[] = {"--region", "huge:huge:32MiB", NULL};
	struct rdmacpy_region_info info[2];
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_grant *g = NULL;
	uint8_t *out = malloc(8 * MiB);
	uint8_t *in = malloc(8 * MiB);
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	if (huge_pages() < 16)
		cr_skip_test("fewer than 16 huge pages reserved (scripts/softroce reserves 64)");
	cr_assert_eq(th_daemon_start(&d, args), 0, "rdmacpyd did not start, log %s", d.log);
	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
	cr_assert_eq(rdmacpy_region_list(c, info, sizeof(info[0]), 2, NULL), 1);
	cr_assert_eq(info[0].kind, RDMACPY_KIND_HUGE);
	cr_assert_eq(rdmacpy_grant_open(c, "huge", 0, 32 * MiB, RDMACPY_RIGHTS_RW, &g), 0);
	for (size_t i = 0; i < 8 * MiB; i++)
		out[i] = (uint8_t)(i * 131 + (i >> 20));
	cr_assert_eq(rdmacpy_write(c, g, 20 * MiB, out, 8 * MiB), 0);
	memset(in, 0, 8 * MiB);
	cr_assert_eq(rdmacpy_read(c, g, 20 * MiB, in, 8 * MiB), 0);
	cr_assert_arr_eq(in, out, 8 * MiB, "huge-page region read back differs");
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
	free(out);
	free(in);
}

Test(tenants, huge_page_region__none_reserved_clear_error)
{
	const char *args[] = {"--region", "huge:huge:32MiB", NULL};
	long saved = huge_pages();
	char out[4096];
	bool refused;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	if (saved < 0 || !set_huge_pages(0))
		cr_skip_test("cannot change nr_hugepages here (not root?)");
	refused = th_daemon_start(&d, args) != 0;
	set_huge_pages(saved);
	cr_assert(refused, "rdmacpyd started without huge pages");
	th_run(out, sizeof(out), "cat %s", d.log);
	cr_assert_not_null(strstr(out, "no huge pages available: set /proc/sys/vm/nr_hugepages"),
			   "log: %s", out);
	cr_assert_eq(huge_pages(), saved, "nr_hugepages not restored");
}
