/* SPDX-License-Identifier: BSD-3-Clause */
/* test_directory.c -- the cluster directory against a real etcd on loopback: entries and their
 * checks, leases that expire, resolution by name, a member of a 3-member cluster killed, and the
 * bad inputs (unreachable, wrong scheme, ambiguous, unknown, garbage) */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/include/rdmacpy.h"
#include "common/directory.h"
#include "common/etcd.h"
#include "tests/unit/directory/etcd_run.h"

static struct etcd_run run;

static void start(void)
{
	if (!etcd_run_available())
		cr_skip_test("etcd is not installed (scripts/install-deps installs it)");
	cr_assert_eq(etcd_run_start(&run, 1, NULL), 0, "etcd did not start (logs in %s)", run.dir);
}

static void stop(void)
{
	etcd_run_stop(&run);
}

TestSuite(directory, .init = start, .fini = stop, .timeout = 120);

/* etcd -- a handle on the test's etcd */
static struct rcp_etcd *etcd(void)
{
	struct rcp_etcd_opts o = {.url = run.url, .timeout_ms = 3000};
	struct rcp_etcd *e = NULL;
	char err[256];

	cr_assert_eq(rcp_etcd_open(&o, &e, err, sizeof(err)), 0, "%s", err);
	return e;
}

/* publish -- what rdmacpyd's publisher puts for one node and its regions, under lease */
static void publish(struct rcp_etcd *e, const char *node, const char *addr, unsigned port,
		    const char *const *regions, int64_t lease)
{
	struct rcp_dir_node n = {0};
	char key[RCP_DIR_KEY_MAX];
	char *json;

	snprintf(n.node, sizeof(n.node), "%s", node);
	snprintf(n.addrs[0], sizeof(n.addrs[0]), "%s", addr);
	n.naddrs = 1;
	n.port = (uint16_t)port;
	n.protocol = 2;
	snprintf(n.started, sizeof(n.started), "2026-11-29T12:00:00Z");
	rcp_dir_node_key(key, sizeof(key), "default", node);
	json = rcp_dir_node_json(&n);
	cr_assert_eq(rcp_etcd_put(e, key, json, lease), 0, "%s", rcp_etcd_error(e));
	free(json);
	for (; regions && *regions; regions++) {
		struct rcp_dir_region r = {
			.size = 1 << 20, .rights = RCP_RIGHTS_RW, .kind = RCP_KIND_ANON};

		snprintf(r.region, sizeof(r.region), "%s", *regions);
		snprintf(r.node, sizeof(r.node), "%s", node);
		rcp_dir_region_key(key, sizeof(key), "default", *regions, node);
		json = rcp_dir_region_json(&r);
		cr_assert_eq(rcp_etcd_put(e, key, json, lease), 0);
		free(json);
	}
}

/* dir -- a directory handle on the test's etcd */
static struct rdmacpy_dir *dir(rdmacpy_log_fn log, void *ctx)
{
	struct rdmacpy_dir_opts o;
	struct rdmacpy_dir *d = NULL;

	rdmacpy_dir_opts_init(&o);
	o.log_fn = log;
	o.log_ctx = ctx;
	cr_assert_eq(rdmacpy_dir_open(run.url, &o, &d), 0);
	return d;
}

Test(directory, entries__round_trip_and_checks)
{
	struct rcp_dir_node n = {0};
	struct rcp_dir_node back;
	char key[RCP_DIR_KEY_MAX];
	char why[256];
	char *json;

	snprintf(n.node, sizeof(n.node), "n1");
	snprintf(n.addrs[0], sizeof(n.addrs[0]), "198.18.0.1");
	snprintf(n.addrs[1], sizeof(n.addrs[1]), "198.18.1.1");
	n.naddrs = 2;
	n.port = 18515;
	n.protocol = 2;
	rcp_dir_node_key(key, sizeof(key), "c1", "n1");
	cr_assert_str_eq(key, "/rdmacpy/v1/c1/nodes/n1");
	json = rcp_dir_node_json(&n);
	cr_assert_eq(rcp_dir_node_parse("c1", key, json, &back, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(back.naddrs, 2);
	cr_assert_str_eq(back.addrs[1], "198.18.1.1");
	cr_assert_eq(back.port, 18515);
	/* an entry under another node's key is refused */
	cr_assert_neq(
		rcp_dir_node_parse("c1", "/rdmacpy/v1/c1/nodes/n2", json, &back, why, sizeof(why)),
		0);
	free(json);
	/* malformed values: never a crash, always a reason */
	cr_assert_neq(rcp_dir_node_parse("c1", key, "garbage{", &back, why, sizeof(why)), 0);
	cr_assert_neq(rcp_dir_node_parse("c1", key, "[1,2]", &back, why, sizeof(why)), 0);
	cr_assert_neq(rcp_dir_node_parse("c1", key,
					 "{\"node\":\"n1\",\"addresses\":[\"not an ip\"],"
					 "\"port\":1}",
					 &back, why, sizeof(why)),
		      0);
	cr_assert_neq(rcp_dir_node_parse("c1", key,
					 "{\"node\":\"n1\",\"addresses\":[\"1.2.3.4\"],"
					 "\"port\":70000}",
					 &back, why, sizeof(why)),
		      0);
	cr_assert(rcp_dir_name_ok("node-1.a_b"));
	cr_assert_not(rcp_dir_name_ok("a/b"));
	cr_assert_not(rcp_dir_name_ok(".hidden"));
	cr_assert_not(rcp_dir_region_name_ok("a/b"));
}

Test(directory, lease__entries_go_when_it_expires_and_at_revoke)
{
	static const char *const regions[] = {"r1", NULL};
	struct rdmacpy_dir_entry e = {.size = sizeof(e)};
	struct rcp_etcd *h = etcd();
	struct rdmacpy_dir *d = dir(NULL, NULL);
	int64_t lease = 0;
	int64_t lease2 = 0;
	int i;
	int ret = 0;

	cr_assert_eq(rcp_etcd_lease_grant(h, 2, &lease), 0);
	publish(h, "n1", "198.18.0.1", 18515, regions, lease);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r1", NULL, &e), 0, "%s", rdmacpy_dir_last_error(d));
	cr_assert_str_eq(e.address, "198.18.0.1");
	cr_assert_eq(e.port, 18515);
	/* kept alive, it stays past its TTL */
	for (i = 0; i < 6; i++) {
		cr_assert_eq(rcp_etcd_lease_keepalive(h, lease), 0);
		usleep(500000);
	}
	cr_assert_eq(rdmacpy_dir_resolve(d, "r1", NULL, &e), 0);
	/* left alone, it expires, and the entries with it (a crashed daemon) */
	for (i = 0; i < 80; i++) {
		ret = rdmacpy_dir_resolve(d, "r1", NULL, &e);
		if (ret == RDMACPY_E_NOENT)
			break;
		usleep(100000);
	}
	cr_assert_eq(ret, RDMACPY_E_NOENT, "still there after 8 s with a 2 s lease");
	cr_assert_eq(rcp_etcd_lease_keepalive(h, lease), -ENOENT);
	/* revoked (a daemon stopping): gone at once */
	cr_assert_eq(rcp_etcd_lease_grant(h, 60, &lease2), 0);
	publish(h, "n1", "198.18.0.1", 18515, regions, lease2);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r1", NULL, &e), 0);
	cr_assert_eq(rcp_etcd_lease_revoke(h, lease2), 0);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r1", NULL, &e), RDMACPY_E_NOENT);
	rdmacpy_dir_close(&d);
	rcp_etcd_close(&h);
}

static int warnings;

static void count_warning(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)msg;
	if (level == RDMACPY_LOG_WARN)
		warnings++;
}

Test(directory, resolve__ambiguous_unknown_node_given_and_garbage_skipped)
{
	static const char *const r1[] = {"shared", "only1", NULL};
	static const char *const r2[] = {"shared", NULL};
	struct rdmacpy_dir_entry e = {.size = sizeof(e)};
	struct rdmacpy_dir_entry all[8];
	struct rdmacpy_dir_node nodes[4];
	struct rcp_etcd *h = etcd();
	struct rdmacpy_dir *d = dir(count_warning, NULL);
	size_t total = 0;

	publish(h, "n1", "198.18.0.1", 18515, r1, 0);
	publish(h, "n2", "198.18.0.2", 18516, r2, 0);
	/* somebody else's garbage under our prefix */
	cr_assert_eq(rcp_etcd_put(h, "/rdmacpy/v1/default/regions/bad/n1", "garbage{", 0), 0);
	cr_assert_eq(rcp_etcd_put(h, "/rdmacpy/v1/default/nodes/n9", "{\"node\":3}", 0), 0);

	cr_assert_eq(rdmacpy_dir_resolve(d, "shared", NULL, &e), RDMACPY_E_AMBIGUOUS);
	cr_assert(strstr(rdmacpy_dir_last_error(d), "n1, n2"), "%s", rdmacpy_dir_last_error(d));
	cr_assert_eq(rdmacpy_dir_resolve(d, "shared", "n2", &e), 0);
	cr_assert_str_eq(e.address, "198.18.0.2");
	cr_assert_eq(e.port, 18516);
	cr_assert_eq(rdmacpy_dir_resolve(d, "only1", NULL, &e), 0);
	cr_assert_str_eq(e.node, "n1");
	cr_assert_eq(rdmacpy_dir_resolve(d, "nope", NULL, &e), RDMACPY_E_NOENT);
	cr_assert_eq(rdmacpy_dir_resolve(d, "bad", NULL, &e), RDMACPY_E_NOENT);
	cr_assert_eq(rdmacpy_dir_resolve(d, "a/b", NULL, &e), RDMACPY_E_INVAL);

	warnings = 0;
	cr_assert_eq(rdmacpy_dir_list_regions(d, NULL, all, sizeof(all[0]), 8, &total), 3);
	cr_assert_eq(total, 3, "the garbage entry was counted");
	cr_assert_gt(warnings, 0, "no warning about the garbage");
	cr_assert_eq(rdmacpy_dir_list_nodes(d, nodes, sizeof(nodes[0]), 4, &total), 2);
	cr_assert_eq(total, 2);
	cr_assert_str_eq(nodes[0].node, "n1");
	cr_assert_eq(nodes[0].nregions, 2);
	cr_assert_eq(nodes[1].nregions, 1);
	rdmacpy_dir_close(&d);
	rcp_etcd_close(&h);
}

Test(directory, bad_urls__clear_codes)
{
	struct rdmacpy_dir_entry e = {.size = sizeof(e)};
	struct rdmacpy_dir *d = NULL;

	cr_assert_eq(rdmacpy_dir_open("http://127.0.0.1:2379", NULL, &d), RDMACPY_E_NOTSUP);
	cr_assert_null(d);
	cr_assert_eq(rdmacpy_dir_open("etcd://nohostport", NULL, &d), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_dir_open("etcd://h:99999", NULL, &d), RDMACPY_E_INVAL);
	cr_assert_eq(rdmacpy_dir_open("etcd://", NULL, &d), RDMACPY_E_INVAL);
	/* nothing listens on port 1: unreachable, within the timeout */
	cr_assert_eq(rdmacpy_dir_open("etcd://127.0.0.1:1", NULL, &d), 0);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r", NULL, &e), RDMACPY_E_CONNECT);
	cr_assert(strstr(rdmacpy_dir_last_error(d), "127.0.0.1:1"), "%s",
		  rdmacpy_dir_last_error(d));
	rdmacpy_dir_close(&d);
}

/* mapped -- whether a library whose file name starts with name is mapped into this process */
static bool mapped(const char *name)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "r");
	bool found = false;

	cr_assert_not_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		const char *file = strrchr(line, '/');

		found = file && !strncmp(file + 1, name, strlen(name));
	}
	fclose(f);
	return found;
}

/* A program that never names a directory never loads libcurl and the TLS, Kerberos and LDAP
 * libraries behind it; the first directory opened loads it. */
Test(directory_loading, libcurl__loaded_when_the_first_directory_is_opened)
{
	struct rdmacpy_dir *d = NULL;

	cr_assert_not(mapped("libcurl"), "libcurl was loaded before any directory was opened");
	cr_assert_eq(rdmacpy_dir_open("etcd://127.0.0.1:1", NULL, &d), 0);
	cr_assert(mapped("libcurl"), "opening a directory did not load libcurl");
	rdmacpy_dir_close(&d);
}

Test(directory_cluster, three_members__one_killed__registration_and_resolution_go_on,
     .timeout = 180)
{
	static const char *const regions[] = {"r3", NULL};
	struct rdmacpy_dir_entry e = {.size = sizeof(e)};
	struct rcp_etcd_opts o = {.timeout_ms = 3000};
	struct rdmacpy_dir *d = NULL;
	struct etcd_run three;
	struct rcp_etcd *h = NULL;
	char err[256];
	int64_t lease = 0;
	int i;

	if (!etcd_run_available())
		cr_skip_test("etcd is not installed");
	cr_assert_eq(etcd_run_start(&three, 3, NULL), 0, "the cluster did not start (%s)",
		     three.dir);
	o.url = three.url;
	cr_assert_eq(rcp_etcd_open(&o, &h, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rcp_etcd_lease_grant(h, 10, &lease), 0);
	publish(h, "n1", "198.18.0.1", 18515, regions, lease);
	/* the member the handles talk to goes away */
	etcd_run_kill(&three, 0);
	cr_assert_eq(rdmacpy_dir_open(three.url, NULL, &d), 0);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r3", NULL, &e), 0, "%s", rdmacpy_dir_last_error(d));
	for (i = 0; i < 3; i++)
		cr_assert_eq(rcp_etcd_lease_keepalive(h, lease), 0, "%s", rcp_etcd_error(h));
	publish(h, "n2", "198.18.0.2", 18515, regions, lease);
	cr_assert_eq(rdmacpy_dir_resolve(d, "r3", "n2", &e), 0, "%s", rdmacpy_dir_last_error(d));
	rdmacpy_dir_close(&d);
	rcp_etcd_close(&h);
	etcd_run_stop(&three);
}
