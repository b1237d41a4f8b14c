/* SPDX-License-Identifier: BSD-3-Clause */
/* test_reload.c -- SIGHUP applies a changed configuration to a running daemon: a region added,
 * a region removed under a client's grant (which keeps working until it is closed), a broken
 * configuration refused while everything goes on */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmacpy.h"
#include "tests/rdma/harness/harness.h"

static struct th_daemon d;
static char conf[400];
static struct rdmacpy_conn *c; /* connected before every reload, checked after */

/* write_conf -- the config file's regions */
static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void start(void)
{
	const char *extra[] = {"--config", conf, NULL};
	struct rdmacpy_conn_opts o;
	char dir[] = "/tmp/rdmacpy-reload.XXXXXX";
	int ret;

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	/* the config lives outside the daemon's directory, which th_daemon_start makes */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/rdmacpyd.conf", dir);
	write_conf("region a anon 1M rw\nregion b anon 2M rw\n");
	cr_assert_eq(th_daemon_start(&d, extra), 0);
	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	o.timeout_ms = 30000;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect: %s", rdmacpy_strerror(ret));
}

static void stop(void)
{
	rdmacpy_conn_close(&c);
	if (d.pid > 0)
		cr_expect_eq(th_daemon_stop(&d), 0);
	th_run(NULL, 0, "rm -rf %s", d.dir);
}

TestSuite(reload, .init = start, .fini = stop, .timeout = 300);

/* names -- the regions LIST shows, "a,b," */
static const char *names(void)
{
	static char s[256];
	struct rdmacpy_region_info r[8];
	int n = rdmacpy_region_list(c, r, sizeof(r[0]), 8, NULL);
	int i;

	cr_assert_geq(n, 0, "list: %s", rdmacpy_strerror(n));
	s[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(s, r[i].name);
		strcat(s, ",");
	}
	return s;
}

/* roundtrip -- write a pattern through g at off and read it back */
static void roundtrip(struct rdmacpy_grant *g, uint64_t off, uint8_t seed)
{
	uint8_t in[4096];
	uint8_t back[4096];
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + seed);
	cr_assert_eq(rdmacpy_write(c, g, off, in, sizeof(in)), 0);
	cr_assert_eq(rdmacpy_read(c, g, off, back, sizeof(back)), 0);
	cr_assert(memcmp(in, back, sizeof(in)) == 0);
}

/* reload -- SIGHUP, then wait for the log to say how it went */
static void reload(const char *expect)
{
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	cr_assert(th_wait_log(d.log, expect, 20000), "no \"%s\" in %s", expect, d.log);
}

Test(reload, add_a_region)
{
	struct rdmacpy_grant *g = NULL;

	cr_assert_str_eq(names(), "a,b,");
	write_conf("region a anon 1M rw\nregion b anon 2M rw\nregion c anon 3M rw\n");
	reload("reload: region c added");
	cr_assert_str_eq(names(), "a,b,c,");
	cr_assert_eq(rdmacpy_grant_open(c, "c", 3 << 20 >> 1, 1 << 20, RDMACPY_RIGHTS_RW, &g), 0);
	roundtrip(g, 0, 1);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
}

Test(reload, remove_a_region_under_a_grant)
{
	struct rdmacpy_grant *g = NULL;
	struct rdmacpy_grant *g2 = NULL;

	cr_assert_eq(rdmacpy_grant_open(c, "b", 0, 2 << 20, RDMACPY_RIGHTS_RW, &g), 0);
	roundtrip(g, 0, 2);
	write_conf("region a anon 1M rw\n");
	reload("reload: applied");
	/* gone from the list and for new grants ... */
	cr_assert_str_eq(names(), "a,");
	cr_assert_eq(rdmacpy_grant_open(c, "b", 0, 4096, RDMACPY_RIGHTS_RW, &g2), RDMACPY_E_NOENT);
	/* ... but the grant held goes on until it is closed */
	roundtrip(g, 1 << 20, 3);
	cr_assert(!th_wait_log(d.log, "region b: removed", 200), "removed under a grant");
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	cr_assert(th_wait_log(d.log, "region b: removed", 20000), "not removed once unused");
	/* and the name is free again: added back by the next reload */
	write_conf("region a anon 1M rw\nregion b anon 1M rw\n");
	reload("reload: region b added");
	cr_assert_str_eq(names(), "a,b,");
}

Test(reload, broken_config__refused_and_nothing_changes)
{
	struct rdmacpy_stats st = {.size = sizeof(st)};
	struct rdmacpy_grant *g = NULL;

	cr_assert_eq(rdmacpy_grant_open(c, "a", 0, 1 << 20, RDMACPY_RIGHTS_RW, &g), 0);
	write_conf("region a anon 1M rw\nregion d anon 1M rw\nthis is not a setting\n");
	reload("reload: refused, nothing changed");
	cr_assert_str_eq(names(), "a,b,");
	roundtrip(g, 0, 4);
	/* a change only a restart can make is refused as a whole too */
	write_conf("region a anon 4M rw\nregion b anon 2M rw\nregion e anon 1M rw\n");
	cr_assert_eq(kill(d.pid, SIGHUP), 0);
	cr_assert(th_wait_log(d.log, "region a: its kind, size or file changed", 20000));
	cr_assert_str_eq(names(), "a,b,");
	roundtrip(g, 4096, 5);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	/* the client connected before the reloads is still the only one, still served */
	cr_assert_eq(rdmacpy_daemon_stat(c, &st), 0);
	cr_assert_eq(st.clients_connected, 1);
}

Test(reload, limits_apply_to_new_requests)
{
	struct rdmacpy_grant *g[3] = {NULL, NULL, NULL};

	cr_assert_eq(rdmacpy_grant_open(c, "a", 0, 4096, RDMACPY_RIGHTS_RW, &g[0]), 0);
	cr_assert_eq(rdmacpy_grant_open(c, "a", 4096, 4096, RDMACPY_RIGHTS_RW, &g[1]), 0);
	write_conf("region a anon 1M rw\nregion b anon 2M rw\nmax-grants-per-client = 2\n");
	reload("reload: applied");
	/* the two held stay; a third is over the new limit */
	cr_assert_eq(rdmacpy_grant_open(c, "a", 8192, 4096, RDMACPY_RIGHTS_RW, &g[2]),
		     RDMACPY_E_LIMIT);
	roundtrip(g[0], 0, 6);
	rdmacpy_grant_close(&g[0]);
	rdmacpy_grant_close(&g[1]);
}
