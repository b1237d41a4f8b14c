/* SPDX-License-Identifier: BSD-3-Clause */
/* test_directory_two_nodes.c -- the cluster directory end to end on two nodes (label rdma2):
 * etcd on node 1, a daemon on each node publishing itself; regions by name with put, get and
 * cp; a daemon's entries gone at SIGTERM and after SIGKILL; etcd stopped while transfers go on */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/rdma/harness/harness.h"
#include "tests/unit/directory/etcd_run.h"

#define TTL_S 3

static struct etcd_run etcd;
static struct th_daemon n1; /* this node's daemon */
static char n2_pid[32];	    /* node 2's daemon, started through the agent */
static char cli[512];
static char out[1 << 16];
static const char *key;

/* start_n2 -- node 2's daemon, publishing as n2; its pid in n2_pid */
static void start_n2(void)
{
	char daemon[512];
	char log[512];
	int rc;

	th_build("server/rdmacpyd", daemon, sizeof(daemon));
	/* node 2 sees the build folder, not this node's /tmp */
	th_build("two-nodes/node2-directory.log", log, sizeof(log));
	rc = th_node2_run(out, sizeof(out),
			  "setsid %s --listen $RDMACPY_TEST_IP --port 18620 --key-file %s "
			  "--directory %s --node n2 --directory-ttl %ds --region b:anon:16M "
			  "--region shared:anon:4M >> %s 2>&1 & echo $!",
			  daemon, key, etcd.url, TTL_S, log);
	cr_assert_eq(rc, 0, "node 2: %s", out);
	snprintf(n2_pid, sizeof(n2_pid), "%.31s", out);
	n2_pid[strcspn(n2_pid, "\n")] = '\0';
}

/* rdmacpy -- the CLI with the directory and the shared key */
static int rdmacpy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int rdmacpy(const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return th_run(out, sizeof(out), "RDMACPY_DIRECTORY=%s RDMACPY_KEY_FILE=%s %s %s", etcd.url,
		      key, cli, args);
}

/* listed -- whether `rdmacpy ls` shows node (as a line of its own) */
static bool listed(const char *node)
{
	char line[80];

	if (rdmacpy("ls"))
		return false;
	snprintf(line, sizeof(line), "\n%s ", node);
	return strstr(out, line) != NULL;
}

/* wait_listed -- until node is listed (want) or not, at most ms; whether it came to be */
static bool wait_listed(const char *node, bool want, int ms)
{
	int waited;

	for (waited = 0; waited <= ms; waited += 200) {
		if (listed(node) == want)
			return true;
		usleep(200000);
	}
	return false;
}

static void start(void)
{
	static char url_arg[300];
	static char ttl_arg[16];
	const char *extra[] = {"--directory",	  url_arg,	    "--node",	"n1",
			       "--directory-ttl", ttl_arg,	    "--region", "a:anon:16M",
			       "--region",	  "shared:anon:4M", NULL};

	if (!th_ip() || !getenv("RDMACPY_TWO_NODE_AGENT"))
		cr_skip_test("needs two nodes: run under scripts/test-two-nodes");
	key = getenv("RDMACPY_TWO_NODE_KEY");
	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	/* etcd on this node's wire address, so node 2 reaches it too */
	cr_assert_eq(etcd_run_start(&etcd, 1, th_ip()), 0, "etcd did not start (%s)", etcd.dir);
	snprintf(url_arg, sizeof(url_arg), "%s", etcd.url);
	snprintf(ttl_arg, sizeof(ttl_arg), "%ds", TTL_S);
	cr_assert_eq(th_daemon_start_key(&n1, key, extra), 0, "node 1's daemon");
	start_n2();
	cr_assert(wait_listed("n1", true, 20000), "n1 not in the directory: %s", out);
	cr_assert(wait_listed("n2", true, 20000), "n2 not in the directory: %s", out);
}

static void stop(void)
{
	if (n2_pid[0])
		th_node2_run(NULL, 0, "kill -TERM %s; sleep 1", n2_pid);
	if (n1.pid > 0)
		cr_expect_eq(th_daemon_stop(&n1), 0);
	etcd_run_stop(&etcd);
}

TestSuite(directory2, .init = start, .fini = stop, .timeout = 300);

Test(directory2, names__put_get_cp_across_nodes)
{
	char in[400];
	char back[400];

	snprintf(in, sizeof(in), "%s/in", n1.dir);
	snprintf(back, sizeof(back), "%s/back", n1.dir);
	cr_assert_eq(th_random_file(in, 3u << 20, 11), 0);
	/* the cluster as the directory tells it */
	cr_assert_eq(rdmacpy("ls"), 0, "%s", out);
	cr_assert(strstr(out, "\nn1 ") && strstr(out, "\nn2 ") && strstr(out, "198.18.0.2"), "%s",
		  out);
	/* by name alone, on the node that has it */
	cr_assert_eq(rdmacpy("put -q --verify %s b@4096", in), 0, "%s", out);
	cr_assert_eq(rdmacpy("get -q --verify b@4096+3M %s", back), 0, "%s", out);
	cr_assert(th_files_equal(in, back));
	/* a copy by names, node 2 to node 1, daemon to daemon */
	cr_assert_eq(rdmacpy("cp --verify b@4096+3M a@1M"), 0, "%s", out);
	cr_assert_eq(rdmacpy("get -q a@1M+3M %s", back), 0, "%s", out);
	cr_assert(th_files_equal(in, back), "the copy by names did not arrive");
	/* a name two nodes serve needs its node */
	cr_assert_eq(rdmacpy("get shared+4096 /dev/null"), 2, "%s", out);
	cr_assert(strstr(out, "n1") && strstr(out, "n2"), "%s", out);
	cr_assert_eq(rdmacpy("get n2/shared+4096 /dev/null"), 0, "%s", out);
	cr_assert_eq(rdmacpy("get nosuchregion /dev/null"), 5, "%s", out);
}

Test(directory2, sigterm__gone_at_once__sigkill__gone_within_ttl)
{
	struct timespec t0;
	struct timespec t1;
	double gone_s;

	/* SIGTERM revokes the lease: the entries are gone when the daemon has exited */
	cr_assert_eq(
		th_node2_run(out, sizeof(out),
			     "kill -TERM %s; while kill -0 %s 2>/dev/null; do sleep 0.05; done",
			     n2_pid, n2_pid),
		0, "%s", out);
	cr_assert_not(listed("n2"), "n2 still listed after SIGTERM: %s", out);
	cr_assert_eq(rdmacpy("get b+4096 /dev/null"), 5, "%s", out);
	/* back, then SIGKILL: nothing revokes, the lease runs out */
	start_n2();
	cr_assert(wait_listed("n2", true, 20000), "n2 did not come back: %s", out);
	cr_assert_eq(th_node2_run(out, sizeof(out), "kill -KILL %s", n2_pid), 0, "%s", out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert(wait_listed("n2", false, (TTL_S + 2) * 1000),
		  "n2 still listed %d s after SIGKILL: %s", TTL_S + 2, out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	gone_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "directory2: n2 left the directory %.1f s after SIGKILL (TTL %d s)\n",
		gone_s, TTL_S);
	/* node 1 is untouched */
	cr_assert(listed("n1"));
	start_n2();
	cr_assert(wait_listed("n2", true, 20000));
}

Test(directory2, etcd_stopped__transfers_go_on__node_published_again)
{
	char in[400];
	char back[400];
	char host[300];
	time_t paused_at;
	int i;

	snprintf(in, sizeof(in), "%s/in2", n1.dir);
	snprintf(back, sizeof(back), "%s/back2", n1.dir);
	cr_assert_eq(th_random_file(in, 1u << 20, 12), 0);
	snprintf(host, sizeof(host), "%s", th_ip());
	/* etcd freezes; a client that knows the address goes on moving bytes. The outage lasts
	 * until the daemon has said etcd is away and for longer than two TTLs (so the leases
	 * have run out), with at least three round trips in it; 20 at most */
	etcd_run_pause(&etcd, 0, true);
	paused_at = time(NULL);
	for (i = 0; i < 20; i++) {
		if (i >= 3 && time(NULL) - paused_at > 2 * TTL_S &&
		    th_wait_log(n1.log, "directory: etcd unreachable", 0))
			break;
		cr_assert_eq(th_run(out, sizeof(out),
				    "RDMACPY_KEY_FILE=%s RDMACPY_PORT=%u %s put -q %s %s:a@%d", key,
				    n1.port, cli, in, host, (i % 8) << 20),
			     0, "put %d during the etcd outage: %s", i, out);
		cr_assert_eq(th_run(out, sizeof(out),
				    "RDMACPY_KEY_FILE=%s RDMACPY_PORT=%u %s get -q %s:a@%d+1M %s",
				    key, n1.port, cli, host, (i % 8) << 20, back),
			     0, "get %d during the etcd outage: %s", i, out);
		cr_assert(th_files_equal(in, back));
	}
	/* the daemons said so, and keep serving */
	cr_assert(th_wait_log(n1.log, "directory: etcd unreachable", 1000), "no log of it");
	etcd_run_pause(&etcd, 0, false);
	/* back: both nodes publish again (under new leases if theirs ran out) */
	cr_assert(wait_listed("n1", true, 30000), "n1 not published again: %s", out);
	cr_assert(wait_listed("n2", true, 30000), "n2 not published again: %s", out);
	cr_assert(th_wait_log(n1.log, "directory: etcd reachable again", 10000) ||
			  th_wait_log(n1.log, "publishing again", 1000),
		  "no log of the return");
	cr_assert_eq(rdmacpy("get -q a+1M %s", back), 0, "%s", out);
}
