/* SPDX-License-Identifier: BSD-3-Clause */
/* test_link.c -- two nodes: the link cut under a librdmacpy client fails its work within the
 * connection's timeout; once the link is back a new connection works */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdmacpy.h>

#include "pattern.h"
#include "rel.h"

/*
 * Runs on node 1 (scripts/test-two-nodes); rdmacpyd runs on node 2 at RDMACPY_PEER_IP, port
 * RDMACPY_TWO_NODE_PORT, key RDMACPY_TWO_NODE_KEY, with a 16 MiB region "anon". The wire is
 * cut on node 2: while the file RDMACPY_TWO_NODE_CUT exists, node 2 drops every frame. Cutting it
 * there, not here, is what a failed switch or peer looks like: this node's packets still leave
 * and no acknowledgement comes back (taking the local link down fails a post at once instead).
 */

#define MiB	   (1ull << 20)
#define KiB	   1024ull
#define TIMEOUT_MS 8000 /* the connection's timeout during the cut */
/* node 2's keepalive finds a session that died with the wire within about 30 s (10 s quiet, a
 * probe's 10 s, then the close grace): four times that before calling it a leak */
#define RELEASE_MS 120000

static bool link_cut;

/* set_link -- ask node 2 to take its wire down (create the file) or up (remove it), and wait
 * until it says it did (the file's ".on" twin appears or goes); bounded by the suite's timeout */
static int set_link(bool up)
{
	const char *cut = getenv("RDMACPY_TWO_NODE_CUT");
	char on[512];
	FILE *f;

	if (!cut)
		return -EINVAL;
	snprintf(on, sizeof(on), "%s.on", cut);
	link_cut = !up;
	if (up) {
		if (unlink(cut) && errno != ENOENT)
			return -errno;
	} else {
		f = fopen(cut, "w");
		if (!f)
			return -errno;
		fclose(f);
	}
	while ((access(on, F_OK) == 0) != !up)
		rel_sleep_ms(50);
	return 0;
}

/* teardown -- never leave the wire down for the next test */
static void teardown(void)
{
	if (link_cut)
		set_link(true);
}

/* peer -- the daemon's address, port and key file, or skip */
static void peer(const char **ip, uint16_t *port, const char **key)
{
	const char *p = getenv("RDMACPY_TWO_NODE_PORT");

	*ip = getenv("RDMACPY_PEER_IP");
	*key = getenv("RDMACPY_TWO_NODE_KEY");
	if (!*ip || !p || !*key || !getenv("RDMACPY_TWO_NODE_CUT"))
		cr_skip_test("needs two nodes: run scripts/test-two-nodes");
	*port = (uint16_t)strtoul(p, NULL, 10);
}

/* wait_holds -- poll node 2's STAT until it holds what want counts (clients, grants,
 * windows); false after RELEASE_MS, st then holding its last answer */
static bool wait_holds(struct rdmacpy_conn *c, const struct rdmacpy_stats *want,
		       struct rdmacpy_stats *st)
{
	uint64_t deadline = rel_now_ms() + RELEASE_MS;

	for (;;) {
		cr_assert_eq(rdmacpy_daemon_stat(c, st), 0, "%s", rdmacpy_conn_last_error(c));
		if (st->clients_connected == want->clients_connected &&
		    st->grants_active == want->grants_active && st->mw_active == want->mw_active)
			return true;
		if (rel_now_ms() >= deadline)
			return false;
		rel_sleep_ms(200);
	}
}

/* connect_within -- connect, retrying while the peer boots or the link heals; 0 or the last
 * RDMACPY_E_* */
static int connect_within(const char *ip, uint16_t port, const char *key, int timeout_ms,
			  int within_ms, struct rdmacpy_conn **c)
{
	uint64_t deadline = rel_now_ms() + (uint64_t)within_ms;
	struct rdmacpy_conn_opts o;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = key;
	o.timeout_ms = timeout_ms;
	do {
		ret = rdmacpy_conn_open(ip, port, &o, c);
		if (!ret)
			return 0;
		rel_sleep_ms(500);
	} while (rel_now_ms() < deadline);
	return ret;
}

/* verified_transfer -- write a pattern at off, read it back, compare */
static void verified_transfer(struct rdmacpy_conn *c, struct rdmacpy_grant *g, uint8_t *buf,
			      size_t len, uint64_t seed)
{
	pattern_fill(buf, len, seed, 0);
	memset(buf + len, 0, len);
	cr_assert_eq(rdmacpy_write(c, g, 0, buf, len), 0, "%s", rdmacpy_conn_last_error(c));
	cr_assert_eq(rdmacpy_read(c, g, 0, buf + len, len), 0, "%s", rdmacpy_conn_last_error(c));
	cr_assert_eq(memcmp(buf, buf + len, len), 0, "read back differs");
}

TestSuite(link, .fini = teardown, .timeout = 400);

Test(link, cut__ops_fail_within_the_timeout_then_a_new_connection_works)
{
	static uint8_t buf[2 * MiB];
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_stats base = {.size = sizeof(base)};
	const char *ip;
	const char *key;
	uint64_t t_cut;
	uint64_t t_fail;
	uint64_t t0;
	uint16_t port;
	int ret;

	peer(&ip, &port, &key);
	/* node 2 boots alongside this one: its daemon may need a while to listen */
	ret = connect_within(ip, port, key, TIMEOUT_MS, 120000, &c);
	cr_assert_eq(ret, 0, "no daemon at %s:%u: %s", ip, port, rdmacpy_strerror(ret));
	cr_assert_eq(rdmacpy_grant_open(c, "anon", 0, 4 * MiB, RDMACPY_RIGHTS_RW, &g), 0);
	verified_transfer(c, g, buf, MiB, 1);
	/* What node 2 holds for one client with one grant is the state to come back to. A test
	 * before this one may have left sessions on a cut wire that node 2 has yet to find dead:
	 * counted in the base, they would go later and the count never come back to it. So the
	 * base is taken once this connection is node 2's only client. */
	t0 = rel_now_ms();
	for (;;) {
		cr_assert_eq(rdmacpy_daemon_stat(c, &base), 0);
		if (base.clients_connected == 1)
			break;
		cr_assert_lt(rel_now_ms() - t0, RELEASE_MS,
			     "node 2 still holds %" PRIu64 " clients", base.clients_connected);
		rel_sleep_ms(200);
	}
	if (rel_now_ms() - t0 > 1000)
		fprintf(stderr, "link: node 2 let go of earlier sessions after %" PRIu64 " ms\n",
			rel_now_ms() - t0);

	cr_assert_eq(set_link(false), 0, "cannot ask node 2 to cut the link");
	t_cut = rel_now_ms();
	pattern_fill(buf, MiB, 2, 0);
	ret = rdmacpy_write(c, g, 0, buf, MiB);
	t_fail = rel_now_ms();
	fprintf(stderr,
		"link: 1 MiB write with the link down ended after %" PRIu64 " ms: %s (%s)\n",
		t_fail - t_cut, rdmacpy_strerror(ret), rdmacpy_conn_last_error(c));
	cr_assert(ret == RDMACPY_E_TIMEOUT || ret == RDMACPY_E_RETRY_EXCEEDED,
		  "want a timeout or retry exceeded, got %s", rdmacpy_strerror(ret));
	/* the connection is broken for good: a control request fails, it does not wait */
	ret = rdmacpy_daemon_stat(c, &st);
	cr_assert_eq(ret, RDMACPY_E_BROKEN, "STAT on a broken connection: %s",
		     rdmacpy_strerror(ret));
	rdmacpy_grant_close(&g);
	t0 = rel_now_ms();
	rdmacpy_conn_close(&c);
	fprintf(stderr, "link: close took %" PRIu64 " ms\n", rel_now_ms() - t0);
	/* a new connection while the wire is down fails within its bound */
	t0 = rel_now_ms();
	ret = connect_within(ip, port, key, 5000, 0, &c);
	fprintf(stderr, "link: connecting with the link down: %s after %" PRIu64 " ms\n",
		rdmacpy_strerror(ret), rel_now_ms() - t0);
	cr_assert_neq(ret, 0, "connected with the link down");
	cr_assert_eq(set_link(true), 0, "cannot ask node 2 to restore the link");
	fprintf(stderr, "link: down for %" PRIu64 " ms\n", rel_now_ms() - t_cut);

	ret = connect_within(ip, port, key, TIMEOUT_MS, 60000, &c);
	cr_assert_eq(ret, 0, "no new connection after the link came back: %s",
		     rdmacpy_strerror(ret));
	cr_assert_eq(rdmacpy_grant_open(c, "anon", 4 * MiB, 4 * MiB, RDMACPY_RIGHTS_RW, &g), 0);
	verified_transfer(c, g, buf, MiB, 3);
	fprintf(stderr, "link: reconnected and verified %" PRIu64 " ms after the cut\n",
		rel_now_ms() - t_cut);
	/* node 2 must let go of the session that died with the wire (its keepalive finds it):
	 * back to one client, one grant, one window */
	cr_assert(wait_holds(c, &base, &st),
		  "node 2 holds %" PRIu64 " clients, %" PRIu64 " grants, %" PRIu64
		  " windows %" PRIu64 " ms after the cut, not %" PRIu64 ", %" PRIu64 ", %" PRIu64,
		  st.clients_connected, st.grants_active, st.mw_active, rel_now_ms() - t_cut,
		  base.clients_connected, base.grants_active, base.mw_active);
	fprintf(stderr, "link: node 2 released the dead session %" PRIu64 " ms after the cut\n",
		rel_now_ms() - t_cut);
	rdmacpy_grant_close(&g);
	rdmacpy_conn_close(&c);
}
