/* SPDX-License-Identifier: BSD-3-Clause */
/* test_link.c -- two nodes: the link cut under a client fails its work, a new connection works */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"
#include "rel.h"
#include "tests/rdma/daemon/tclient.h"

/*
 * Runs on node 1 (scripts/test-two-nodes); rdmacpyd runs on node 2 at RDMACPY_PEER_IP, port
 * RDMACPY_TWO_NODE_PORT, key RDMACPY_TWO_NODE_KEY, with a 16 MiB region "anon". The wire is
 * cut on node 2: while the file RDMACPY_TWO_NODE_CUT exists, node 2's eth0 is down. Cutting it
 * there, not here, is what a failed switch or peer looks like: this node's packets still leave
 * and no acknowledgement comes back (taking the local link down fails a post at once instead).
 */

#define MiB	(1ull << 20)
#define KiB	1024ull
#define WAIT_MS 20000

static bool link_cut;

/* set_link -- ask node 2 to take its wire down (create the file) or up (remove it) */
static int set_link(bool up)
{
	const char *cut = getenv("RDMACPY_TWO_NODE_CUT");
	FILE *f;

	if (!cut)
		return -EINVAL;
	link_cut = !up;
	if (up)
		return unlink(cut) && errno != ENOENT ? -errno : 0;
	f = fopen(cut, "w");
	if (!f)
		return -errno;
	fclose(f);
	/* node 2 polls for the file every 200 ms */
	rel_sleep_ms(1500);
	return 0;
}

/* teardown -- never leave the wire down for the next test */
static void teardown(void)
{
	if (link_cut)
		set_link(true);
}

/* peer -- the daemon's address, port and key, or skip */
static void peer(const char **ip, uint16_t *port, struct rcp_auth_key *key)
{
	const char *p = getenv("RDMACPY_TWO_NODE_PORT");
	const char *k = getenv("RDMACPY_TWO_NODE_KEY");

	*ip = getenv("RDMACPY_PEER_IP");
	if (!*ip || !p || !k || !getenv("RDMACPY_TWO_NODE_CUT"))
		cr_skip_test("needs two nodes: run scripts/test-two-nodes");
	*port = (uint16_t)strtoul(p, NULL, 10);
	cr_assert_eq(rcp_auth_key_load(k, key), 0, "key %s", k);
}

/* connect_retry -- connect and authenticate, retrying while the peer boots or the link heals */
static int connect_retry(struct tc *c, const char *ip, uint16_t port,
			 const struct rcp_auth_key *key, int timeout_ms, size_t data_len)
{
	uint64_t deadline = rel_now_ms() + (uint64_t)timeout_ms;
	int ret;

	do {
		ret = tc_connect(c, ip, port, 0, data_len);
		if (!ret) {
			ret = tc_auth(c, key, NULL);
			if (!ret)
				return 0;
		}
		tc_close(c);
		rel_sleep_ms(500);
	} while (rel_now_ms() < deadline);
	return ret;
}

/* open_rw -- a read-write grant that must be given */
static struct rcp_msg_open_reply open_rw(struct tc *c, uint64_t off, uint64_t len)
{
	struct rcp_msg m;
	struct rcp_msg r;

	rcp_msg_init(&m, RCP_MSG_OPEN, 0);
	rcp_strfield_set(m.u.open.name, sizeof(m.u.open.name), "anon");
	m.u.open.offset = off;
	m.u.open.length = len;
	m.u.open.rights = RCP_RIGHTS_RW;
	cr_assert_eq(tc_call(c, &m, &r, WAIT_MS), 0);
	cr_assert_eq(r.hdr.type, RCP_MSG_OPEN_REPLY, "got %s", rcp_msg_type_name(r.hdr.type));
	return r.u.open_reply;
}

/* verified_transfer -- write a pattern, read it back, compare */
static void verified_transfer(struct tc *c, const struct rcp_msg_open_reply *g, size_t len,
			      uint64_t seed)
{
	pattern_fill(c->data, len, seed, 0);
	memset(c->data + len, 0, len);
	cr_assert_eq(tc_rdma(c, IBV_WR_RDMA_WRITE, 0, g->addr, g->rkey, len), IBV_WC_SUCCESS);
	cr_assert_eq(tc_rdma(c, IBV_WR_RDMA_READ, len, g->addr, g->rkey, len), IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(c->data, c->data + len, len), 0, "read back differs");
}

TestSuite(link, .fini = teardown, .timeout = 400);

Test(link, cut_for_seconds__ops_fail_with_timeout_or_retry_exceeded_then_reconnect_works)
{
	struct rcp_auth_key key;
	struct rcp_msg_open_reply g;
	struct rcp_msg m;
	struct rcp_msg r;
	enum ibv_wc_status st;
	const char *ip;
	uint64_t t_cut;
	uint64_t t_fail;
	uint16_t port;
	struct tc a;
	struct tc b;
	int ret;

	peer(&ip, &port, &key);
	/* node 2 boots alongside this one: its daemon may need a while to listen */
	ret = connect_retry(&a, ip, port, &key, 120000, 2 * MiB);
	cr_assert_eq(ret, 0, "no daemon at %s:%u: %s", ip, port, strerror(-ret));
	g = open_rw(&a, 0, 4 * MiB);
	verified_transfer(&a, &g, MiB, 1);

	cr_assert_eq(set_link(false), 0, "cannot ask node 2 to cut the link");
	t_cut = rel_now_ms();
	/*
	 * One packet's worth: every retry resends the whole unacknowledged window, and rxe in the
	 * guest's kernel (6.1, emulated CPU) was seen to spin in softirq for minutes
	 * retransmitting a 1 MiB window (soft lockup) before any retry count ran out.
	 */
	pattern_fill(a.data, 4 * KiB, 2, 0);
	st = tc_rdma(&a, IBV_WR_RDMA_WRITE, 0, g.addr, g.rkey, 4 * KiB);
	t_fail = rel_now_ms();
	fprintf(stderr, "link: RDMA WRITE with the link down ended after %" PRIu64 " ms: %s\n",
		t_fail - t_cut, ibv_wc_status_str(st));
	cr_assert(st == IBV_WC_RETRY_EXC_ERR || st == IBV_WC_RESP_TIMEOUT_ERR,
		  "want retry exceeded or a timeout, got %s", ibv_wc_status_str(st));
	/* the control channel of the same connection is gone too: no hang, an error */
	rcp_msg_init(&m, RCP_MSG_STAT, 0);
	ret = tc_call(&a, &m, &r, 5000);
	cr_assert(ret == -ETIMEDOUT || ret == -ENOTCONN || ret == -EIO,
		  "STAT on the broken connection: %d", ret);
	/* a new connection while the wire is down fails within its bound */
	ret = tc_connect(&b, ip, port, 0, 4096);
	cr_assert_neq(ret, 0, "connected with the link down");
	tc_close(&b);
	cr_assert_eq(set_link(true), 0, "cannot ask node 2 to restore the link");
	fprintf(stderr, "link: down for %" PRIu64 " ms\n", rel_now_ms() - t_cut);
	tc_close(&a);

	ret = connect_retry(&b, ip, port, &key, 60000, 2 * MiB);
	cr_assert_eq(ret, 0, "no new connection after the link came back: %s", strerror(-ret));
	g = open_rw(&b, 4 * MiB, 4 * MiB);
	verified_transfer(&b, &g, MiB, 3);
	fprintf(stderr, "link: reconnected %" PRIu64 " ms after the link came back\n",
		rel_now_ms() - t_cut);
	tc_close(&b);
}
