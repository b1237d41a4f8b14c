/* SPDX-License-Identifier: BSD-3-Clause */
/* test_rails.c -- rails on the verbs mock: the striping weights, a failed rail's WRs run again
 * on the rail left (which, how often, one callback), the rejoin, no rail left */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/lib/conn.h"
#include "tests/unit/client/helpers.h"

#define NWR   8
#define CHUNK (64u * 1024u) /* NWR * CHUNK is striped (at least 256 KiB) */

static uint8_t *buf;

static void setup_buf(void)
{
	buf = aligned_alloc(4096, NWR * CHUNK);
	cr_assert_not_null(buf);
	memset(buf, 0x5a, NWR * CHUNK);
}

static void teardown_buf(void)
{
	free(buf);
	buf = NULL;
}

TestSuite(client_rails, .init = setup_buf, .fini = teardown_buf);

/* ---- weights ---- */

Test(client_rails, stripe_split__in_proportion__largest_remainders__sum_kept)
{
	uint64_t out[4];

	rcp_stripe_split(8, (const double[]){1, 1}, 2, out);
	cr_assert_eq(out[0], 4);
	cr_assert_eq(out[1], 4);
	/* a 300 Gb/s port beside a 100 Gb/s one */
	rcp_stripe_split(8, (const double[]){3, 1}, 2, out);
	cr_assert_eq(out[0], 6);
	cr_assert_eq(out[1], 2);
	/* a rail that is down gets nothing */
	rcp_stripe_split(8, (const double[]){1, 0}, 2, out);
	cr_assert_eq(out[0], 8);
	cr_assert_eq(out[1], 0);
	/* the unit left over goes to the largest remainder, the first on a tie */
	rcp_stripe_split(10, (const double[]){1, 1, 1}, 3, out);
	cr_assert_eq(out[0], 4);
	cr_assert_eq(out[1], 3);
	cr_assert_eq(out[2], 3);
	rcp_stripe_split(1, (const double[]){2, 1}, 2, out);
	cr_assert_eq(out[0], 1);
	cr_assert_eq(out[1], 0);
	rcp_stripe_split(7, (const double[]){0.2, 0.5, 0.3, 0}, 4, out);
	cr_assert_eq(out[0] + out[1] + out[2] + out[3], 7);
	cr_assert_eq(out[1], 4);
	cr_assert_eq(out[3], 0);
	rcp_stripe_split(5, (const double[]){0, -1}, 2, out);
	cr_assert_eq(out[0] + out[1], 0);
}

/* ---- failover ---- */

static void dbg_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "[%d] %s\n", level, msg);
}

/* connect_rails -- a mock daemon with two addresses, a connection with two rails and this
 * timeout */
static struct rdmacpy_conn *connect_rails(int timeout_ms)
{
	struct peer_cfg cfg = {.addrs = 2};
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c;

	test_opts(&o);
	o.moderation = RDMACPY_MOD_EVENT;
	o.chunk_size = CHUNK;
	o.rails = 2;
	o.timeout_ms = timeout_ms;
	if (getenv("RAILS_DEBUG")) {
		o.log_fn = dbg_log;
		o.log_level = RDMACPY_LOG_DEBUG;
	}
	peer_start(&cfg);
	c = connect_started(&o);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.rails, 2, "rails %u", ctr.rails);
	cr_assert_eq(ctr.rails_up, 2);
	return c;
}

/* wr_count -- RDMA WRITEs with data captured from mark on, on qp (NULL: any) */
static size_t wr_count(size_t mark, const struct ibv_qp *qp)
{
	size_t n = 0;

	for (size_t k = mark; k < rcp_mock_sent_count(); k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode == IBV_WR_RDMA_WRITE && w->num_sge && (!qp || w->qp == qp))
			n++;
	}
	return n;
}

/* nth_wr -- the i-th data WRITE from mark on, on qp (NULL: any) */
static const struct rcp_mock_wr *nth_wr(size_t mark, const struct ibv_qp *qp, size_t i)
{
	for (size_t k = mark; k < rcp_mock_sent_count(); k++) {
		const struct rcp_mock_wr *w = rcp_mock_sent(k);

		if (w->opcode == IBV_WR_RDMA_WRITE && w->num_sge && (!qp || w->qp == qp) &&
		    i-- == 0)
			return w;
	}
	return NULL;
}

Test(client_rails, failed_rail__its_wrs_run_again_on_the_other__one_callback__rejoins)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct op_seen seen = {0};
	struct rdmacpy_conn *c = connect_rails(3000);
	unsigned int opens;
	uint64_t lo = UINT64_MAX;
	uint64_t hi = 0;
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	/* a window per QP: one OPEN per rail */
	opens = peer_requests(RCP_MSG_OPEN);
	cr_assert_eq(opens, 2);
	struct ibv_qp *qp0 = c->qp[0].id->qp;
	struct ibv_qp *qp1 = c->qp[1].id->qp;

	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, NWR * CHUNK, op_seen_cb, &seen, &op), 0);
	/* equal ports: half the WRs on each rail */
	cr_assert_eq(wr_count(mark, qp0), NWR / 2);
	cr_assert_eq(wr_count(mark, qp1), NWR / 2);
	for (size_t i = 0; i < NWR / 2; i++) {
		const struct rcp_mock_wr *w = nth_wr(mark, qp1, i);

		lo = w->remote_addr < lo ? w->remote_addr : lo;
		hi = w->remote_addr + CHUNK > hi ? w->remote_addr + CHUNK : hi;
	}
	/* rail 0 finishes its half; rail 1's first WR fails: the path is gone */
	for (size_t i = 0; i < NWR / 2; i++)
		rcp_mock_push_wc_ok(qp0->send_cq, nth_wr(mark, qp0, i)->wr_id, IBV_WC_RDMA_WRITE,
				    CHUNK);
	rcp_mock_push_wc_err(qp1->send_cq, nth_wr(mark, qp1, 0)->wr_id, IBV_WC_RETRY_EXC_ERR);
	rcp_mock_auto_complete(true);
	for (int i = 0; i < 300 && !seen.calls; i++)
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
	cr_assert_eq(seen.calls, 1, "the callback ran %d times", seen.calls);
	cr_assert_eq(seen.status, 0, "%s", rdmacpy_strerror(seen.status));
	/* rail 1's four WRs (the failed one and the three flushed) ran again on rail 0, once
	 * each, over exactly rail 1's bytes */
	cr_assert_eq(wr_count(mark, qp0), NWR / 2 + NWR / 2);
	cr_assert_eq(wr_count(mark, qp1), NWR / 2, "more went to the failed rail");
	for (size_t i = NWR / 2; i < NWR; i++) {
		const struct rcp_mock_wr *w = nth_wr(mark, qp0, i);

		cr_assert_geq(w->remote_addr, lo);
		cr_assert_leq(w->remote_addr + CHUNK, hi);
		cr_assert_eq(w->remote_addr, lo + (i - NWR / 2) * CHUNK);
		cr_assert_eq(w->rkey, nth_wr(mark, qp0, 0)->rkey, "not rail 0's window");
	}
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 1);
	cr_assert_eq(ctr.wrs_reissued, NWR / 2);
	cr_assert_eq(ctr.rails_up, 1);
	cr_assert_eq(rdmacpy_conn_status(c), 0, "a failover broke the connection");
	/* the rail comes back in the background: connected, authenticated, the grant opened on
	 * it again, then it takes work */
	/* nothing is in flight: progress returns at once, so the loop sleeps itself */
	for (int i = 0; i < 3000 && ctr.rejoins == 0; i++) {
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
		usleep(1000);
		cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	}
	cr_assert_eq(ctr.rejoins, 1, "rejoins %llu failovers %llu", (unsigned long long)ctr.rejoins,
		     (unsigned long long)ctr.failovers);
	cr_assert_eq(ctr.rails_up, 2);
	cr_assert_eq(peer_requests(RCP_MSG_OPEN), opens + 1, "the grant was not reopened once");
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, NWR * CHUNK), 0);
	cr_assert_eq(wr_count(mark, c->qp[1].id->qp), NWR / 2, "the rejoined rail takes no work");
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_rails, small_transfers__whole__on_the_rails_in_turn)
{
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c = connect_rails(3000);
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	mark = rcp_mock_sent_count();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(rdmacpy_write(c, g, 0, buf, CHUNK), 0);
	cr_assert_eq(wr_count(mark, c->qp[0].id->qp), 2);
	cr_assert_eq(wr_count(mark, c->qp[1].id->qp), 2);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_rails, both_rails_fail__no_rail_left__the_transfer_says_so)
{
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct op_seen seen = {0};
	struct rdmacpy_conn *c = connect_rails(3000);
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	struct ibv_qp *qp0 = c->qp[0].id->qp;
	struct ibv_qp *qp1 = c->qp[1].id->qp;

	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, NWR * CHUNK, op_seen_cb, &seen, &op), 0);
	/* each rail's first WR fails, the device flushes the rest */
	rcp_mock_push_wc_err(qp1->send_cq, nth_wr(mark, qp1, 0)->wr_id, IBV_WC_RETRY_EXC_ERR);
	for (size_t i = 1; i < NWR / 2; i++)
		rcp_mock_push_wc_err(qp1->send_cq, nth_wr(mark, qp1, i)->wr_id,
				     IBV_WC_WR_FLUSH_ERR);
	rcp_mock_push_wc_err(qp0->send_cq, nth_wr(mark, qp0, 0)->wr_id, IBV_WC_RETRY_EXC_ERR);
	for (size_t i = 1; i < NWR / 2; i++)
		rcp_mock_push_wc_err(qp0->send_cq, nth_wr(mark, qp0, i)->wr_id,
				     IBV_WC_WR_FLUSH_ERR);
	rcp_mock_auto_complete(true);
	for (int i = 0; i < 300 && !seen.calls; i++)
		rdmacpy_conn_progress(c, 10);
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.status, RDMACPY_E_NO_RAIL, "%s", rdmacpy_strerror(seen.status));
	cr_assert(strstr(rdmacpy_conn_last_error(c), "every rail"), "%s",
		  rdmacpy_conn_last_error(c));
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

Test(client_rails, port_error_event__the_rail_on_it_fails_over_at_once__then_rejoins)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c = connect_rails(3000);

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	/* both mock rails leave through the same port: the first one it names goes, the last
	 * one up stays (its completions decide) */
	rcp_mock_push_async(IBV_EVENT_PORT_ERR, c->rails[0].port_num);
	usleep(2000);
	cr_assert_geq(rdmacpy_conn_progress(c, 0), 0);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 1);
	cr_assert_eq(ctr.rails_up, 1);
	cr_assert_eq(rdmacpy_conn_status(c), 0);
	/* work goes on over the rail left, and the rail comes back */
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, NWR * CHUNK), 0);
	for (int i = 0; i < 3000 && ctr.rejoins == 0; i++) {
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
		usleep(1000);
		cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	}
	cr_assert_eq(ctr.rejoins, 1);
	cr_assert_eq(ctr.rails_up, 2);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* rail1_fails_over -- rail 0 completes its half of the write queued since mark (on qp0) and
 * rail 1 stays silent: rail 1 fails over once, its half runs again on rail 0, and the write
 * succeeds with one callback */
static void rail1_fails_over(struct rdmacpy_conn *c, size_t mark, struct ibv_qp *qp0,
			     struct op_seen *seen)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};

	for (size_t i = 0; i < NWR / 2; i++)
		rcp_mock_push_wc_ok(qp0->send_cq, nth_wr(mark, qp0, i)->wr_id, IBV_WC_RDMA_WRITE,
				    CHUNK);
	rcp_mock_auto_complete(true);
	for (int i = 0; i < 3000 && !seen->calls; i++) {
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
		usleep(1000);
	}
	cr_assert_eq(seen->calls, 1);
	cr_assert_eq(seen->status, 0, "%s", rdmacpy_strerror(seen->status));
	cr_assert_eq(wr_count(mark, qp0), NWR, "rail 1's half did not run on rail 0");
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 1);
	cr_assert_eq(ctr.wrs_reissued, NWR / 2);
}

Test(client_rails, rail_that_stops_completing__fails_over_within_half_the_timeout)
{
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct op_seen seen = {0};
	/* a rail silent for 500 ms with work out has failed */
	struct rdmacpy_conn *c = connect_rails(1000);
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	struct ibv_qp *qp0 = c->qp[0].id->qp;
	struct ibv_qp *qp1 = c->qp[1].id->qp;

	/* rail 1's WRs never complete nor fail: a cut wire rxe keeps retrying */
	rcp_mock_auto_complete(false);
	mark = rcp_mock_sent_count();
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, NWR * CHUNK, op_seen_cb, &seen, &op), 0);
	rail1_fails_over(c, mark, qp0, &seen);
	cr_assert_eq(wr_count(mark, qp1), NWR / 2);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}

/* silence -- a write striped over both rails whose WRs neither complete nor fail, progressed for
 * ms or until the connection breaks; the rails then are as a cut wire (or a stalled peer)
 * leaves them */
static void silence(struct rdmacpy_conn *c, struct rdmacpy_grant *g, struct op_seen *seen,
		    struct rdmacpy_op **op, int ms)
{
	struct timespec t0;
	struct timespec t;

	rcp_mock_auto_complete(false);
	cr_assert_eq(rdmacpy_write_async(c, g, 0, buf, NWR * CHUNK, op_seen_cb, seen, op), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		cr_assert_geq(rdmacpy_conn_progress(c, 10), 0);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!seen->calls && rdmacpy_conn_status(c) != RDMACPY_E_BROKEN &&
		 (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* flush_all -- what a device does with the WRs out on a QP gone to the error state */
static void flush_all(size_t mark, struct ibv_qp *qp)
{
	for (size_t i = 0; nth_wr(mark, qp, i); i++)
		rcp_mock_push_wc_err(qp->send_cq, nth_wr(mark, qp, i)->wr_id, IBV_WC_WR_FLUSH_ERR);
}

/* Every rail silent at once is the peer or this host stalling, or every wire cut: no rail is
 * failed over to another just as silent; the connection fails as a whole, saying no rail is
 * left (at three quarters of the timeout, within it). */
Test(client_rails, every_rail_silent__no_failover__the_connection_fails_saying_no_rail)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct op_seen seen = {0};
	struct rdmacpy_conn *c = connect_rails(1000);
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	mark = rcp_mock_sent_count();
	silence(c, g, &seen, &op, 5000);
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_BROKEN, "the connection did not fail");
	flush_all(mark, c->qp[0].id->qp);
	flush_all(mark, c->qp[1].id->qp);
	rcp_mock_auto_complete(true);
	for (int i = 0; i < 300 && !seen.calls; i++)
		rdmacpy_conn_progress(c, 10);
	cr_assert_eq(seen.calls, 1, "the write never ended");
	cr_assert_eq(seen.status, RDMACPY_E_NO_RAIL, "%s", rdmacpy_strerror(seen.status));
	cr_assert(strstr(rdmacpy_conn_last_error(c), "no completion on any rail"), "%s",
		  rdmacpy_conn_last_error(c));
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 0, "a silent rail was failed over to another silent one");
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
}

/* Both rails silent past half the timeout, then one completes again: the one still silent is
 * the failed one, and its work runs on the other. */
Test(client_rails, both_rails_silent__one_comes_back__the_other_fails_over__the_write_succeeds)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_op *op = NULL;
	struct op_seen seen = {0};
	/* half: 2 s; every rail: 3 s */
	struct rdmacpy_conn *c = connect_rails(4000);
	size_t mark;

	cr_assert_eq(rdmacpy_grant_open(c, "reg0", 0, NWR * CHUNK, RDMACPY_RIGHTS_RW, &g), 0);
	struct ibv_qp *qp0 = c->qp[0].id->qp;

	mark = rcp_mock_sent_count();
	silence(c, g, &seen, &op, 2200);
	cr_assert_eq(seen.calls, 0);
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 0, "failed over while every rail was silent");
	rail1_fails_over(c, mark, qp0, &seen);
	rdmacpy_op_free(&op);
	rdmacpy_grant_close(&g);
	close_clean(&c);
}
