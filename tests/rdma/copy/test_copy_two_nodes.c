/* SPDX-License-Identifier: BSD-3-Clause */
/* test_copy_two_nodes.c -- rdmacpy cp across a real wire: node 1 to node 2 and back */

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/rdma/harness/harness.h"

/*
 * Runs on node 1 (scripts/test-two-nodes); rdmacpyd runs on node 2 at RDMACPY_PEER_IP, port
 * RDMACPY_TWO_NODE_PORT, key RDMACPY_TWO_NODE_KEY, serving the 16 MiB region "anon". This test
 * starts a daemon of its own on node 1 with the same key, so each daemon can write into the
 * other.
 */

#define COPY_LEN ((12ull << 20) + 777)
#define PEER_OFF (1ull << 20)

static struct th_daemon local;
static const char *peer_ip;
static const char *peer_key;
static unsigned peer_port;
static char cli[512];
static char out[16384];

/* start -- the node-1 daemon, or skip outside a two-node run */
static void start(void)
{
	static const char *const regions[] = {
		"--region", "src:anon:16M:rw", "--region", "back:anon:16M:rw", NULL,
	};
	const char *p = getenv("RDMACPY_TWO_NODE_PORT");
	int rc;

	peer_ip = getenv("RDMACPY_PEER_IP");
	peer_key = getenv("RDMACPY_TWO_NODE_KEY");
	if (!th_ip() || !peer_ip || !peer_key || !p)
		cr_skip_test("needs two nodes: run scripts/test-two-nodes");
	peer_port = (unsigned)strtoul(p, NULL, 10);
	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	rc = th_daemon_start_key(&local, peer_key, regions);
	cr_assert_eq(rc, 0, "rdmacpyd on node 1 did not start (%d)", rc);
}

/* stop -- the node-1 daemon exits cleanly */
static void stop(void)
{
	if (local.pid > 0)
		cr_expect_eq(th_daemon_stop(&local), 0, "rdmacpyd on node 1 did not exit 0");
	if (local.dir[0])
		th_run(NULL, 0, "rm -rf %s", local.dir);
}

TestSuite(copy2, .init = start, .fini = stop, .timeout = 500);

/* rdmacpy -- run the command against a daemon port with the shared key */
static int rdmacpy(unsigned port, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rdmacpy(unsigned port, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s %s", port, peer_key,
		      cli, args);
}

/* json_u64 -- the number after "key": in text, or UINT64_MAX when absent */
static uint64_t json_u64(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* check_cp -- the JSON summary of a verified copy that moved nothing through the client */
static void check_cp(const char *what)
{
	cr_assert_eq(json_u64(out, "bytes"), COPY_LEN, "%s: %s", what, out);
	cr_assert_eq(json_u64(out, "client_bytes_read"), 0, "%s: %s", what, out);
	cr_assert_eq(json_u64(out, "client_bytes_written"), 0, "%s: %s", what, out);
	cr_assert(strstr(out, "\"verified\":true"), "%s: %s", what, out);
	fprintf(stderr, "rdma2_copy %s: %s", what, out);
}

Test(copy2, cp__node1_to_node2_and_back)
{
	char in[400];
	char got[400];
	int rc;

	snprintf(in, sizeof(in), "%s/in", local.dir);
	snprintf(got, sizeof(got), "%s/got", local.dir);
	cr_assert_eq(th_random_file(in, COPY_LEN, 2), 0);
	rc = rdmacpy(local.port, "put -q %s %s:src", in, th_ip());
	cr_assert_eq(rc, 0, "put: %s", out);

	/* node 1's daemon writes into node 2 */
	rc = rdmacpy(local.port, "cp --verify --json --dst-port %u %s:src+%llu %s:anon@%llu",
		     peer_port, th_ip(), COPY_LEN, peer_ip, PEER_OFF);
	cr_assert_eq(rc, 0, "cp to node 2: %s", out);
	check_cp("node1->node2");
	rc = rdmacpy(peer_port, "get -q %s:anon@%llu+%llu %s", peer_ip, PEER_OFF, COPY_LEN, got);
	cr_assert_eq(rc, 0, "get from node 2: %s", out);
	cr_assert(th_files_equal(in, got), "node 2's range differs from the source");

	/* node 2's daemon writes back into node 1, asked from node 1 */
	rc = rdmacpy(peer_port, "cp --verify --json --dst-port %u %s:anon@%llu+%llu %s:back",
		     local.port, peer_ip, PEER_OFF, COPY_LEN, th_ip());
	cr_assert_eq(rc, 0, "cp to node 1: %s", out);
	check_cp("node2->node1");
	rc = rdmacpy(local.port, "get -q %s:back+%llu %s", th_ip(), COPY_LEN, got);
	cr_assert_eq(rc, 0, "get from node 1: %s", out);
	cr_assert(th_files_equal(in, got), "node 1's copy back differs from the source");
}
