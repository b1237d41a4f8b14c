/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_info.c -- rdmacpy ls and stat: what a daemon serves and how it is doing */

#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"
#include "common/size.h"

/* kind_name -- region kind as a word */
static const char *kind_name(enum rdmacpy_region_kind k)
{
	switch (k) {
	case RDMACPY_KIND_ANON:
		return "anon";
	case RDMACPY_KIND_HUGE:
		return "huge";
	case RDMACPY_KIND_FILE:
		return "file";
	}
	return "?";
}

/* regions_json -- ls --json: [{"name", "size", "rights", "kind", "dynamic"}...], or NULL */
static json_object *regions_json(const struct rdmacpy_region_info *r, int n)
{
	json_object *a = json_object_new_array();
	json_object *e;

	for (int i = 0; a && i < n; i++) {
		e = json_object_new_object();
		if (!e) {
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(e, "name", json_object_new_string(r[i].name));
		json_object_object_add(e, "size", json_object_new_int64((int64_t)r[i].size));
		json_object_object_add(
			e, "rights",
			json_object_new_string(r[i].rights == RDMACPY_RIGHTS_RW ? "rw" : "ro"));
		json_object_object_add(e, "kind", json_object_new_string(kind_name(r[i].kind)));
		json_object_object_add(e, "dynamic", json_object_new_boolean(r[i].dynamic));
		json_object_array_add(a, e);
	}
	return a;
}

/* print_addrs -- the addresses the daemon serves on (one per RDMA port), after the counters
 * (stat) or the regions (ls);
 * a daemon older than protocol 3 serves the one connected to and is not asked */
static int print_addrs(const struct cli_opts *o, struct rdmacpy_conn *conn, const char *host,
		       json_object *j)
{
	struct rdmacpy_daemon_addr a[16];
	json_object *arr;
	size_t n = 0;
	size_t i;
	int rc;

	for (i = 0; i < 16; i++)
		a[i].size = sizeof(a[i]);
	rc = rdmacpy_daemon_addrs(conn, a, 16, &n);
	if (rc == RDMACPY_E_NOTSUP)
		return 0;
	if (rc)
		return cli_fail(conn, host, rc, "cannot read its addresses");
	if (n > 16)
		n = 16;
	if (!o->json) {
		printf("%-22s", "addresses");
		for (i = 0; i < n; i++)
			printf("%s %s:%u (%s port %u, %u Mb/s)", i ? "," : "", a[i].addr, a[i].port,
			       a[i].device, a[i].port_num, a[i].rate_mbps);
		printf("\n");
		return 0;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "addr", json_object_new_string(a[i].addr));
		json_object_object_add(e, "port", json_object_new_int(a[i].port));
		json_object_object_add(e, "device", json_object_new_string(a[i].device));
		json_object_object_add(e, "port_num", json_object_new_int(a[i].port_num));
		json_object_object_add(e, "rate_mbps", json_object_new_int64(a[i].rate_mbps));
		json_object_array_add(arr, e);
	}
	json_object_object_add(j, "addresses", arr);
	return 0;
}

/* cli_cmd_ls -- rdmacpy ls HOST */
int cli_cmd_ls(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_region_info *regions = NULL;
	struct rdmacpy_conn *conn = NULL;
	char size[32];
	int n;
	int rc;

	if (argc == 0 && o->directory)
		return cli_cmd_ls_cluster(o);
	if (argc != 1) {
		cli_error("ls needs HOST, or --directory to list the cluster (see rdmacpy ls "
			  "--help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_connect(o, argv[0], &conn);
	if (rc)
		return rc;
	n = cli_list(conn, &regions);
	if (n < 0) {
		rc = cli_fail(conn, argv[0], n, "cannot list regions");
		goto out;
	}
	if (o->json) {
		rc = cli_json_print(regions_json(regions, n));
	} else {
		printf("%-24s %14s %6s %-5s\n", "REGION", "SIZE", "RIGHTS", "KIND");
		for (int i = 0; i < n; i++) {
			rcp_size_format(regions[i].size, size, sizeof(size));
			printf("%-24s %14s %6s %-5s%s\n", regions[i].name, size,
			       regions[i].rights == RDMACPY_RIGHTS_RW ? "rw" : "ro",
			       kind_name(regions[i].kind), regions[i].dynamic ? " dynamic" : "");
		}
		/* where else the regions are served (one address per RDMA port): the rails */
		printf("\n");
		rc = print_addrs(o, conn, argv[0], NULL);
	}
	free(regions);
out:
	rdmacpy_conn_close(&conn);
	return rc;
}

/* print_rails -- this connection's rails (--rails): how many connected, how many up, and what
 * failed over; into j with --json */
static void print_rails(const struct cli_opts *o, struct rdmacpy_conn *conn, json_object *j)
{
	struct rdmacpy_counters c = {.size = sizeof(c)};

	if (rdmacpy_conn_counters(conn, &c))
		return;
	if (j) {
		cli_json_rails(j, &c);
		return;
	}
	if (o->json)
		return;
	printf("%-22s %u\n%-22s %u\n%-22s %llu\n%-22s %llu\n%-22s %llu\n", "rails", c.rails,
	       "rails_up", c.rails_up, "failovers", (unsigned long long)c.failovers, "wrs_reissued",
	       (unsigned long long)c.wrs_reissued, "rejoins", (unsigned long long)c.rejoins);
}

/* cli_cmd_stat -- rdmacpy stat HOST */
int cli_cmd_stat(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_conn *conn = NULL;
	struct rdmacpy_stats st = {.size = sizeof(st)};
	int rc;

	if (argc != 1) {
		cli_error("stat needs HOST (see rdmacpy stat --help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_connect(o, argv[0], &conn);
	if (rc)
		return rc;
	rc = rdmacpy_daemon_stat(conn, &st);
	if (rc) {
		rc = cli_fail(conn, argv[0], rc, "cannot read statistics");
		goto out;
	}
	{
		const struct {
			const char *name;
			uint64_t v;
		} rows[] = {
			{"clients_connected", st.clients_connected},
			{"clients_total", st.clients_total},
			{"grants_active", st.grants_active},
			{"grants_total", st.grants_total},
			{"memory_windows_active", st.mw_active},
			{"regions", st.regions},
			{"bytes_registered", st.bytes_registered},
			{"bytes_dynamic", st.bytes_dynamic},
			{"refusals", st.refusals},
			{"requests", st.requests},
			{"auth_failures", st.auth_failures},
			{"copies_active", st.copies_active},
			{"copies_total", st.copies_total},
			{"bytes_copied", st.bytes_copied},
			{"mw_fallback", st.mw_fallback},
			{"uptime_ms", st.uptime_ms},
			{"clients_pending", st.clients_pending},
			{"auth_timeouts", st.auth_timeouts},
			{"pending_evicted", st.pending_evicted},
			{"jobs_queued", st.jobs_queued},
			{"jobs_running", st.jobs_running},
			{"jobs_total", st.jobs_total},
			{"jobs_refused", st.jobs_refused},
			{"jobs_cancelled", st.jobs_cancelled},
			{"grant_mr_per_grant", st.grant_mr_per_grant},
			{"flushes", st.flushes},
			{"bytes_flushed", st.bytes_flushed},
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		json_object *j = o->json ? json_object_new_object() : NULL;

		for (size_t i = 0; i < n; i++) {
			if (j)
				json_object_object_add(j, rows[i].name,
						       json_object_new_int64((int64_t)rows[i].v));
			else if (!o->json)
				printf("%-22s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
		}
		rc = print_addrs(o, conn, argv[0], j);
		print_rails(o, conn, j);
		if (o->json)
			rc = cli_json_print(j);
	}
out:
	rdmacpy_conn_close(&conn);
	return rc;
}
