/* SPDX-License-Identifier: BSD-3-Clause */
/* test_failover.c -- two nodes, two wires: a connection with two rails carries a 256 MiB write
 * and read through one wire cut mid-transfer, the bytes verify, the rail rejoins once the wire
 * is back; with both wires cut the work fails saying no rail is left, and nothing hangs */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdmacpy.h>

#include "tests/rdma/reliability/pattern.h"
#include "tests/rdma/reliability/rel.h"

/*
 * Runs on node 1 (scripts/test-two-nodes --links 2): rdmacpyd on node 2 listens on both of its
 * addresses (RDMACPY_PEER_IP on wire 1, RDMACPY_PEER_IP2 on wire 2) with a 256 MiB region
 * "rails". A wire is cut on node 2: while the file RDMACPY_TWO_NODE_CUT (wire 1) or
 * RDMACPY_TWO_NODE_CUT2 (wire 2) exists, node 2 drops every frame on it, and says so with the
 * file's ".on" twin. The cut is asked for while the transfer runs and the test keeps driving
 * the connection meanwhile; half the work waits for the cut to be in force (move), so the
 * cut rail surely has work when its wire is gone.
 */

#define MiB    (1ull << 20)
#define TOTAL  (256 * MiB)
#define PIECE  MiB
#define NPIECE ((uint64_t)(TOTAL / PIECE))
/* A rail counts as stalled after half of it, every rail after three quarters. The whole wire's
 * rail went 6 s without a completion while node 2's one emulated CPU was putting the other
 * wire's cut in force (11 s after the ask, the host busy): with 8 s the connection failed as if
 * both wires were cut. */
#define TIMEOUT_MS 12000

static bool cut_asked[2];
static uint8_t *src;
static uint8_t *dst;

/* cut_file -- wire w's cut file (w 0 or 1) */
static const char *cut_file(int w)
{
	return getenv(w ? "RDMACPY_TWO_NODE_CUT2" : "RDMACPY_TWO_NODE_CUT");
}

/* ask_wire -- ask node 2 to cut wire w (create its file) or restore it (remove the file) */
static void ask_wire(int w, bool up)
{
	const char *cut = cut_file(w);
	FILE *f;

	cut_asked[w] = !up;
	if (up) {
		cr_assert(unlink(cut) == 0 || errno == ENOENT);
		return;
	}
	f = fopen(cut, "w");
	cr_assert_not_null(f);
	fclose(f);
}

/* wire_state_is -- node 2 reports wire w cut (or whole) */
static bool wire_state_is(int w, bool up)
{
	char on[512];

	snprintf(on, sizeof(on), "%s.on", cut_file(w));
	return (access(on, F_OK) == 0) == !up;
}

/* wait_wire -- until node 2 says wire w is as asked (bounded by the suite's timeout) */
static void wait_wire(int w, bool up)
{
	while (!wire_state_is(w, up))
		rel_sleep_ms(50);
}

static void teardown(void)
{
	for (int w = 0; w < 2; w++)
		if (cut_asked[w]) {
			ask_wire(w, true);
			wait_wire(w, true);
		}
	free(src);
	free(dst);
	src = dst = NULL;
}

static void setup(void)
{
	src = aligned_alloc(4096, TOTAL);
	dst = aligned_alloc(4096, TOTAL);
	cr_assert(src && dst);
}

TestSuite(rails, .init = setup, .fini = teardown, .timeout = 500);

/* lib_log -- the library's word on rails failing and rejoining, in the test's output */
static void lib_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "rails: [lib %d] %s\n", level, msg);
}

/* connect_rails -- two rails to node 2, retrying while it boots; skips without two wires */
static struct rdmacpy_conn *connect_rails(void)
{
	const char *ip = getenv("RDMACPY_PEER_IP");
	const char *port = getenv("RDMACPY_TWO_NODE_PORT");
	const char *key = getenv("RDMACPY_TWO_NODE_KEY");
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	uint64_t deadline = rel_now_ms() + 120000;
	int ret;

	if (!ip || !port || !key || !cut_file(0) || !cut_file(1) || !getenv("RDMACPY_PEER_IP2"))
		cr_skip_test("needs two nodes and two wires: run scripts/test-two-nodes");
	rdmacpy_conn_opts_init(&o);
	o.key_file = key;
	o.timeout_ms = TIMEOUT_MS;
	o.rails = RDMACPY_RAILS_ALL;
	o.log_fn = lib_log;
	o.log_level = RDMACPY_LOG_INFO;
	do {
		ret = rdmacpy_conn_open(ip, (uint16_t)strtoul(port, NULL, 10), &o, &c);
		if (!ret) {
			cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
			if (ctr.rails_up == 2)
				return c;
			/* the second address did not answer yet (node 2 still starting) */
			rdmacpy_conn_close(&c);
		}
		rel_sleep_ms(500);
	} while (rel_now_ms() < deadline);
	cr_assert_fail("no two-rail connection to %s: %s (rails up %u)", ip, rdmacpy_strerror(ret),
		       ctr.rails_up);
	return NULL;
}

struct run {
	unsigned int done;
	unsigned int failed;
	int first_err;
};

static void piece_done(struct rdmacpy_op *op, int status, void *ctx)
{
	struct run *r = ctx;

	(void)op;
	r->done++;
	if (status) {
		r->failed++;
		if (!r->first_err)
			r->first_err = status;
	}
}

/* counters -- the connection's counters, printed */
static struct rdmacpy_counters counters(struct rdmacpy_conn *c, const char *when)
{
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};

	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	fprintf(stderr,
		"rails: %s: %u of %u rails up, %" PRIu64 " failover(s), %" PRIu64
		" WR(s) reissued, %" PRIu64 " rejoin(s)\n",
		when, ctr.rails_up, ctr.rails, ctr.failovers, ctr.wrs_reissued, ctr.rejoins);
	return ctr;
}

/* queue -- pieces [from, to) of the region, as asynchronous operations; one the connection
 * refuses (it failed already) counts as a piece that failed so */
static void queue(struct rdmacpy_conn *c, struct rdmacpy_grant *g, bool write, uint64_t from,
		  uint64_t to, struct run *r)
{
	for (uint64_t i = from; i < to; i++) {
		int ret = write ? rdmacpy_write_async(c, g, i * PIECE, src + i * PIECE, PIECE,
						      piece_done, r, NULL)
				: rdmacpy_read_async(c, g, i * PIECE, dst + i * PIECE, PIECE,
						     piece_done, r, NULL);

		if (ret)
			piece_done(NULL, ret, r);
	}
}

/* names_wire -- cut_w (a wire, 2: both, -1: none) includes wire w */
static bool names_wire(int cut_w, int w)
{
	return cut_w == w || cut_w == 2;
}

/* cut_in_force -- node 2 drops every frame on the wires cut_w names */
static bool cut_in_force(int cut_w)
{
	for (int w = 0; w < 2; w++)
		if (names_wire(cut_w, w) && !wire_state_is(w, false))
			return false;
	return true;
}

/*
 * move -- the whole region in PIECE-sized operations; wire cut_w (-1: none, 2: both) is cut
 * once a quarter of them finished. The operations' outcome.
 *
 * Node 2 takes its time to put a cut in force: seconds, when both guests are busy moving
 * bytes (measured: 3 to 9 s from the ask to the ".on" file). Had every piece been queued at
 * once, the transfer could end before the wire was cut, and nothing would have failed over.
 * So half the pieces are queued at first and the other half only once node 2 says the cut
 * is in force: they are striped over every rail the connection still counts as up, the cut
 * one included, which must then fail over for them to finish.
 */
static struct run move(struct rdmacpy_conn *c, struct rdmacpy_grant *g, bool write, int cut_w)
{
	struct run r = {0};
	bool cut = cut_w < 0;
	bool rest_queued = cut_w < 0;
	uint64_t t_cut = 0;

	queue(c, g, write, 0, rest_queued ? NPIECE : NPIECE / 2, &r);
	uint64_t last_done_ms = rel_now_ms();
	unsigned int last_done = 0;

	while (r.done < NPIECE) {
		cr_assert_geq(rdmacpy_conn_progress(c, 100), 0);
		/* the first half is done and node 2 has not cut yet: nothing to drive */
		if (!rest_queued && r.done == NPIECE / 2)
			rel_sleep_ms(50);
		if (r.done != last_done) {
			last_done = r.done;
			last_done_ms = rel_now_ms();
		}
		/* a stall says where it stands instead of waiting out the suite */
		if (rel_now_ms() - last_done_ms > 120000) {
			const char *wire = "not asked yet";

			if (cut_w < 0)
				wire = "none";
			else if (cut)
				wire = cut_in_force(cut_w) ? "in force" : "asked, not in force";
			counters(c, "stalled");
			cr_assert_fail("no piece finished for 120 s: %u of %" PRIu64
				       " done, wire cut: %s (%s)",
				       r.done, NPIECE, wire, rdmacpy_conn_last_error(c));
		}
		if (!cut && r.done >= NPIECE / 4) {
			for (int w = 0; w < 2; w++)
				if (names_wire(cut_w, w))
					ask_wire(w, false);
			cut = true;
			t_cut = rel_now_ms();
			fprintf(stderr, "rails: wire cut asked after %u of %" PRIu64 " pieces\n",
				r.done, NPIECE);
		}
		if (cut && !rest_queued && cut_in_force(cut_w)) {
			fprintf(stderr,
				"rails: the cut in force %" PRIu64
				" ms after it was asked, %u of %" PRIu64
				" pieces done: the other half queued\n",
				rel_now_ms() - t_cut, r.done, NPIECE);
			queue(c, g, write, NPIECE / 2, NPIECE, &r);
			rest_queued = true;
			/* the rest counts from now: waiting for node 2 finished nothing */
			last_done_ms = rel_now_ms();
		}
	}
	if (t_cut)
		fprintf(stderr,
			"rails: the last piece ended %" PRIu64 " ms after the cut was asked\n",
			rel_now_ms() - t_cut);
	return r;
}

/* wait_rejoin -- the wire is back: the rail rejoins (bounded by the suite's timeout) */
static void wait_rejoin(struct rdmacpy_conn *c, uint64_t rejoins)
{
	struct rdmacpy_counters ctr;
	uint64_t t0 = rel_now_ms();

	do {
		cr_assert_geq(rdmacpy_conn_progress(c, 100), 0);
		rel_sleep_ms(100);
		ctr = counters(c, "waiting for the rail");
	} while (ctr.rejoins == rejoins || ctr.rails_up != 2);
	fprintf(stderr, "rails: rejoined %" PRIu64 " ms after the wire came back\n",
		rel_now_ms() - t0);
}

Test(rails, one_wire_cut_mid_write_and_mid_read__bytes_verify__the_rail_rejoins)
{
	struct rdmacpy_conn *c = connect_rails();
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_counters ctr;
	struct run r;
	int ret;

	ret = rdmacpy_grant_open(c, "rails", 0, TOTAL, RDMACPY_RIGHTS_RW, &g);
	cr_assert_eq(ret, 0, "%s: %s", rdmacpy_strerror(ret), rdmacpy_conn_last_error(c));
	pattern_fill(src, TOTAL, 17, 0);

	/* the write, wire 2 cut a quarter of the way in */
	r = move(c, g, true, 1);
	wait_wire(1, false);
	cr_assert_eq(r.failed, 0, "%u pieces failed: %s (%s)", r.failed,
		     rdmacpy_strerror(r.first_err), rdmacpy_conn_last_error(c));
	ctr = counters(c, "after the write");
	cr_assert_geq(ctr.failovers, 1, "the cut wire's rail never failed over");
	cr_assert_eq(ctr.rails_up, 1);
	/* what the daemon holds is what was sent: read back over the wire left */
	memset(dst, 0, TOTAL);
	r = move(c, g, false, -1);
	cr_assert_eq(r.failed, 0, "%s", rdmacpy_strerror(r.first_err));
	cr_assert_eq(memcmp(src, dst, TOTAL), 0, "the bytes read back differ from those written");

	/* the wire comes back: so does the rail */
	ask_wire(1, true);
	wait_wire(1, true);
	wait_rejoin(c, ctr.rejoins);

	/* the read, wire 1 cut this time (the rail the connection was opened on) */
	memset(dst, 0, TOTAL);
	r = move(c, g, false, 0);
	wait_wire(0, false);
	cr_assert_eq(r.failed, 0, "%u pieces failed: %s (%s)", r.failed,
		     rdmacpy_strerror(r.first_err), rdmacpy_conn_last_error(c));
	cr_assert_eq(memcmp(src, dst, TOTAL), 0, "the bytes read differ from those written");
	ctr = counters(c, "after the read");
	cr_assert_geq(ctr.failovers, 2);
	ask_wire(0, true);
	wait_wire(0, true);
	wait_rejoin(c, ctr.rejoins);
	/* both rails carry work again, and requests still go */
	cr_assert_eq(rdmacpy_write(c, g, 0, src, 8 * MiB), 0);
	cr_assert_eq(rdmacpy_read(c, g, 0, dst, 8 * MiB), 0);
	cr_assert_eq(memcmp(src, dst, 8 * MiB), 0);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
}

Test(rails, both_wires_cut__the_work_fails_saying_no_rail_is_left)
{
	struct rdmacpy_conn *c = connect_rails();
	struct rdmacpy_grant *g = NULL;
	struct run r;
	int ret;

	ret = rdmacpy_grant_open(c, "rails", 0, TOTAL, RDMACPY_RIGHTS_RW, &g);
	cr_assert_eq(ret, 0, "%s: %s", rdmacpy_strerror(ret), rdmacpy_conn_last_error(c));
	pattern_fill(src, TOTAL, 23, 0);
	r = move(c, g, true, 2);
	counters(c, "both wires cut");
	fprintf(stderr, "rails: %u of %u pieces failed, the first with %s (%s)\n", r.failed, r.done,
		rdmacpy_strerror(r.first_err), rdmacpy_conn_last_error(c));
	cr_assert_gt(r.failed, 0, "every piece succeeded through two cut wires");
	cr_assert_eq(r.first_err, RDMACPY_E_NO_RAIL, "%s", rdmacpy_strerror(r.first_err));
	cr_assert_eq(rdmacpy_conn_status(c), RDMACPY_E_BROKEN);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
}
