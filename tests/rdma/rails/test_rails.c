/* SPDX-License-Identifier: BSD-3-Clause */
/* test_rails.c -- rdmacpyd serving on two RDMA devices at once: each address takes clients,
 * a region is one memory behind both, and a client learns every address (protocol 3 INFO) */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdmacpy.h>

#include "tests/rdma/harness/harness.h"

/*
 * The guest has one RDMA device, rxe0 on dummy0 (th_ip). This suite adds a second: rxe on a
 * dummy interface of its own with an address of its own, as a node with two NICs has. A
 * connection to an address of a device stays on that device (rxe loops it back there).
 */
#define RAIL_NETDEV "rcprail1"
#define RAIL_DEV    "rxerail1"
#define RAIL_IP	    "198.19.7.1"
#define MiB	    (1u << 20)

static struct th_daemon d;
static char out[16384];

/*
 * add_rail -- the second device, unless an earlier test of this run made it; false (with the
 * reason in out) when the guest cannot. It stays until ctest's rdma_rails_cleanup step:
 * deleting an rxe device waits until every process that opened it has exited (librdmacm keeps
 * each device open for the life of the process), which this one has not.
 */
static bool add_rail(void)
{
	return th_run(out, sizeof(out),
		      "test -e /sys/class/infiniband/" RAIL_DEV " && exit 0; "
		      "ip link add " RAIL_NETDEV " type dummy && ip link set " RAIL_NETDEV
		      " mtu 9000 up && ip addr add " RAIL_IP "/24 dev " RAIL_NETDEV
		      " && rdma link add " RAIL_DEV " type rxe netdev " RAIL_NETDEV
		      " && for i in $(seq 100); do grep -q ACTIVE "
		      "/sys/class/infiniband/" RAIL_DEV "/ports/1/state && exit 0; sleep 0.05; "
		      "done; exit 1") == 0;
}

static void setup(void)
{
	static const char *const extra[] = {"-v",	"--listen",	  RAIL_IP,
					    "--region", "data:anon:8MiB", NULL};

	if (!th_ip())
		cr_skip_test("no RDMA fabric: run under scripts/softroce");
	cr_assert(add_rail(), "cannot add a second rxe device: %s", out);
	cr_assert_eq(th_daemon_start(&d, extra), 0, "rdmacpyd on two devices did not start");
}

static void teardown(void)
{
	if (d.pid > 0)
		th_daemon_stop(&d);
}

TestSuite(rails, .init = setup, .fini = teardown, .timeout = 240);

/* conn -- a connection to one of the daemon's addresses */
static struct rdmacpy_conn *conn(const char *ip)
{
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	ret = rdmacpy_conn_open(ip, d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect to %s: %s", ip, rdmacpy_strerror(ret));
	return c;
}

/* fill -- a pattern that differs by seed and by position */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131u + seed * 7u + (i >> 12));
}

Test(rails, every_address_serves_and_a_region_is_one_memory_behind_both)
{
	static uint8_t a[4 * MiB], b[4 * MiB];
	struct rdmacpy_conn *c0 = conn(th_ip());
	struct rdmacpy_conn *c1 = conn(RAIL_IP);
	struct rdmacpy_grant *g0 = NULL;
	struct rdmacpy_grant *g1 = NULL;
	struct rdmacpy_stats st = {.size = sizeof(st)};
	char line[256];

	/* both devices were found and each got its own verdict on windows */
	cr_assert(th_log_after(d.log, "listening on " RAIL_IP, line, sizeof(line)),
		  "log: no "
		  "listen line for " RAIL_IP);
	cr_assert(strstr(line, "device " RAIL_DEV), "listen line: %s", line);
	cr_assert(th_log_after(d.log, "grants on " RAIL_DEV, line, sizeof(line)),
		  "no grant mode decided for " RAIL_DEV);

	fprintf(stderr, "rails: connected through both devices\n");
	cr_assert_eq(rdmacpy_grant_open(c0, "data", 0, 8 * MiB, RDMACPY_RIGHTS_RW, &g0), 0);
	cr_assert_eq(rdmacpy_grant_open(c1, "data", 0, 8 * MiB, RDMACPY_RIGHTS_RW, &g1), 0);
	fprintf(stderr, "rails: a grant through each\n");
	/* written through one device, read through the other: the same bytes */
	fill(a, sizeof(a), 1);
	cr_assert_eq(rdmacpy_write(c0, g0, 0, a, sizeof(a)), 0, "%s", rdmacpy_conn_last_error(c0));
	memset(b, 0, sizeof(b));
	cr_assert_eq(rdmacpy_read(c1, g1, 0, b, sizeof(b)), 0, "%s", rdmacpy_conn_last_error(c1));
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "rail 1 reads other bytes than rail 0 wrote");
	fprintf(stderr, "rails: written through %s, read through %s\n", th_ip(), RAIL_IP);
	fill(a, sizeof(a), 2);
	cr_assert_eq(rdmacpy_write(c1, g1, 4 * MiB, a, sizeof(a)), 0, "%s",
		     rdmacpy_conn_last_error(c1));
	memset(b, 0, sizeof(b));
	cr_assert_eq(rdmacpy_read(c0, g0, 4 * MiB, b, sizeof(b)), 0, "%s",
		     rdmacpy_conn_last_error(c0));
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "rail 0 reads other bytes than rail 1 wrote");
	fprintf(stderr, "rails: written through %s, read through %s\n", RAIL_IP, th_ip());
	cr_assert_eq(rdmacpy_daemon_stat(c0, &st), 0);
	cr_assert_eq(st.clients_connected, 2);
	cr_assert_eq(st.grants_active, 2);
	cr_assert_eq(rdmacpy_grant_close(&g1), 0);
	cr_assert_eq(rdmacpy_grant_close(&g0), 0);
	rdmacpy_conn_close(&c1);
	rdmacpy_conn_close(&c0);
}

Test(rails, info_lists_every_address_with_its_device)
{
	struct rdmacpy_daemon_addr a[4];
	struct rdmacpy_conn *c = conn(RAIL_IP);
	size_t n = 0;

	for (size_t i = 0; i < 4; i++)
		a[i].size = sizeof(a[i]);
	cr_assert_eq(rdmacpy_daemon_addrs(c, a, 4, &n), 0, "%s", rdmacpy_conn_last_error(c));
	cr_assert_eq(n, 2);
	/* the first --listen first, whichever address the client came in on */
	cr_assert_str_eq(a[0].addr, th_ip());
	cr_assert_str_eq(a[1].addr, RAIL_IP);
	cr_assert_str_eq(a[0].device, "rxe0");
	cr_assert_str_eq(a[1].device, RAIL_DEV);
	cr_assert_eq(a[0].port, d.port);
	cr_assert_eq(a[1].port, d.port);
	cr_assert_eq(a[1].port_num, 1);
	/* room for one: the count still says two */
	n = 0;
	cr_assert_eq(rdmacpy_daemon_addrs(c, a, 1, &n), 0);
	cr_assert_eq(n, 2);
	/* bad input changes nothing and says so */
	cr_assert_eq(rdmacpy_daemon_addrs(c, a, 4, NULL), RDMACPY_E_INVAL);
	a[0].size = 3;
	cr_assert_eq(rdmacpy_daemon_addrs(c, a, 4, &n), RDMACPY_E_INVAL);
	rdmacpy_conn_close(&c);
}

Test(rails, cli_stat_shows_the_addresses)
{
	char cli[512];
	json_object *j;
	json_object *arr;

	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	cr_assert_eq(th_run(out, sizeof(out),
			    "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s stat --json %s 2>/dev/null",
			    d.port, d.key, cli, th_ip()),
		     0, "%s", out);
	j = json_tokener_parse(out);
	cr_assert_not_null(j, "not JSON: %s", out);
	cr_assert(json_object_object_get_ex(j, "addresses", &arr), "%s", out);
	cr_assert_eq(json_object_array_length(arr), 2, "%s", out);
	cr_assert_str_eq(json_object_get_string(
				 json_object_object_get(json_object_array_get_idx(arr, 1), "addr")),
			 RAIL_IP);
	json_object_put(j);
	cr_assert_eq(th_run(out, sizeof(out), "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s stat %s",
			    d.port, d.key, cli, RAIL_IP),
		     0, "%s", out);
	cr_assert(strstr(out, RAIL_IP ":"), "%s", out);
	cr_assert(strstr(out, "(" RAIL_DEV " port 1"), "%s", out);
}

Test(rails, an_address_without_a_device_is_refused_at_start)
{
	static const char *const extra[] = {"--listen", "198.19.99.1", "--region", "x:anon:1MiB",
					    NULL};
	struct th_daemon bad;

	memset(&bad, 0, sizeof(bad));
	cr_assert_neq(th_daemon_start(&bad, extra), 0, "a daemon started on 198.19.99.1");
	cr_assert(th_wait_log(bad.log, "198.19.99.1", 1000), "the log does not name the address");
	if (bad.pid > 0)
		th_daemon_stop(&bad);
}

Test(rails, client_with_every_rail__a_qp_on_each_device__bytes_verify)
{
	static uint8_t a[8 * MiB], b[8 * MiB];
	struct rdmacpy_counters ctr = {.size = sizeof(ctr)};
	struct rdmacpy_conn_opts o;
	struct rdmacpy_conn *c = NULL;
	struct rdmacpy_grant *g = NULL;
	int ret;

	rdmacpy_conn_opts_init(&o);
	o.key_file = d.key;
	o.rails = RDMACPY_RAILS_ALL;
	ret = rdmacpy_conn_open(th_ip(), d.port, &o, &c);
	cr_assert_eq(ret, 0, "connect with rails: %s", rdmacpy_strerror(ret));
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.rails, 2, "rails %u", ctr.rails);
	cr_assert_eq(ctr.rails_up, 2);
	cr_assert_eq(rdmacpy_grant_open(c, "data", 0, 8 * MiB, RDMACPY_RIGHTS_RW, &g), 0);
	/* striped over both devices (each with its own registration of a and b) */
	fill(a, sizeof(a), 3);
	cr_assert_eq(rdmacpy_write(c, g, 0, a, sizeof(a)), 0, "%s", rdmacpy_conn_last_error(c));
	memset(b, 0, sizeof(b));
	cr_assert_eq(rdmacpy_read(c, g, 0, b, sizeof(b)), 0, "%s", rdmacpy_conn_last_error(c));
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0, "the bytes read differ from those written");
	/* and small ones, each whole on one rail in turn */
	for (unsigned int i = 0; i < 8; i++) {
		memset(b, 0, 4096);
		cr_assert_eq(rdmacpy_read(c, g, (uint64_t)i * 4096, b, 4096), 0);
		cr_assert_eq(memcmp(a + (size_t)i * 4096, b, 4096), 0);
	}
	cr_assert_eq(rdmacpy_conn_counters(c, &ctr), 0);
	cr_assert_eq(ctr.failovers, 0);
	cr_assert_eq(rdmacpy_grant_close(&g), 0);
	rdmacpy_conn_close(&c);
}

Test(rails, cli_put_get_and_stat_with_rails)
{
	char cli[512];
	json_object *j;

	th_build("client/cli/rdmacpy", cli, sizeof(cli));
	cr_assert_eq(
		th_run(out, sizeof(out),
		       "head -c 6291456 /dev/urandom > /tmp/rails.in && "
		       "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s put --rails all --verify --json "
		       "/tmp/rails.in %s:data",
		       d.port, d.key, cli, th_ip()),
		0, "%s", out);
	j = json_tokener_parse(strstr(out, "{") ? strstr(out, "{") : out);
	cr_assert_not_null(j, "not JSON: %s", out);
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "rails")), 2, "%s", out);
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "rails_up")), 2, "%s", out);
	cr_assert(json_object_get_boolean(json_object_object_get(j, "verified")), "%s", out);
	json_object_put(j);
	cr_assert_eq(th_run(out, sizeof(out),
			    "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s get --rails 2 %s:data+6M "
			    "/tmp/rails.out && cmp /tmp/rails.in /tmp/rails.out",
			    d.port, d.key, cli, RAIL_IP),
		     0, "%s", out);
	cr_assert(strstr(out, "2 of 2 rails up"), "%s", out);
	cr_assert_eq(th_run(out, sizeof(out),
			    "RDMACPY_PORT=%u RDMACPY_KEY_FILE=%s %s stat --rails all --json %s",
			    d.port, d.key, cli, th_ip()),
		     0, "%s", out);
	j = json_tokener_parse(out);
	cr_assert_not_null(j, "not JSON: %s", out);
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "rails")), 2, "%s", out);
	json_object_put(j);
	/* bad input: a clear error, nothing done */
	cr_assert_eq(
		th_run(out, sizeof(out), "%s get --rails 0 %s:data /tmp/rails.bad", cli, th_ip()),
		2, "%s", out);
	cr_assert(strstr(out, "rails"), "%s", out);
}
