/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.c -- the CLI and the cluster directory: regions by name, the cluster's listing */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli/cli.h"
#include "common/size.h"

/* log_warn -- the library's warnings (malformed entries) on stderr */
static void log_warn(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "rdmacpy: warning: %s\n", msg);
}

/* dir_open -- the directory of the options; an exit code after explaining, else 0 */
static int dir_open(const struct cli_opts *o, struct rdmacpy_dir **d)
{
	struct rdmacpy_dir_opts dopts;
	int rc;

	rdmacpy_dir_opts_init(&dopts);
	if (o->cluster)
		dopts.cluster = o->cluster;
	if (o->timeout_ms > 0)
		dopts.timeout_ms = o->timeout_ms;
	dopts.ca_file = getenv("RDMACPY_DIRECTORY_CA");
	dopts.cert_file = getenv("RDMACPY_DIRECTORY_CERT");
	dopts.key_file = getenv("RDMACPY_DIRECTORY_KEY");
	dopts.user = getenv("RDMACPY_DIRECTORY_USER");
	dopts.password = getenv("RDMACPY_DIRECTORY_PASSWORD");
	dopts.log_fn = log_warn;
	rc = rdmacpy_dir_open(o->directory, &dopts, d);
	if (rc == RDMACPY_E_NOTSUP || rc == RDMACPY_E_INVAL) {
		cli_error("--directory '%s': %s (etcd://HOST:PORT[,HOST:PORT...] or etcds://...)",
			  o->directory, rc == RDMACPY_E_NOTSUP ? "unknown scheme" : "malformed");
		return CLI_EXIT_USAGE;
	}
	if (rc) {
		cli_error("directory %s: %s", o->directory, rdmacpy_strerror(rc));
		return cli_exit_for(rc);
	}
	return 0;
}

/* dir_fail -- explain a failed directory call; its exit code */
static int dir_fail(struct rdmacpy_dir *d, const struct cli_opts *o, int rc)
{
	cli_error("directory %s: %s%s%s", o->directory,
		  rc == RDMACPY_E_CONNECT ? "cannot be reached" : rdmacpy_strerror(rc),
		  rdmacpy_dir_last_error(d)[0] ? ": " : "", rdmacpy_dir_last_error(d));
	switch (rc) {
	case RDMACPY_E_AMBIGUOUS:
		/* the user must say which: like any argument that needs fixing */
		return CLI_EXIT_USAGE;
	case RDMACPY_E_NOENT:
		return CLI_EXIT_REMOTE;
	case RDMACPY_E_CONNECT:
	case RDMACPY_E_PROTO:
		return CLI_EXIT_CONNECT;
	default:
		return cli_exit_for(rc);
	}
}

/* cli_spec_resolve -- HOST:REGION as it is, or a region named through the directory */
int cli_spec_resolve(const struct cli_opts *o, const char *text, struct cli_spec *spec)
{
	struct rdmacpy_dir_entry e = {.size = sizeof(e)};
	struct rdmacpy_dir *d = NULL;
	char err[512];
	int rc;

	if (cli_spec_is_remote(text) || !o->directory) {
		if (cli_spec_parse(text, spec, err, sizeof(err))) {
			cli_error("%s%s", err,
				  o->directory ? ""
					       : " (or give --directory to name regions alone)");
			return CLI_EXIT_USAGE;
		}
		return 0;
	}
	if (cli_spec_parse_name(text, spec, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_EXIT_USAGE;
	}
	rc = dir_open(o, &d);
	if (rc)
		return rc;
	rc = rdmacpy_dir_resolve(d, spec->region, spec->node[0] ? spec->node : NULL, &e);
	if (rc) {
		rc = dir_fail(d, o, rc);
		rdmacpy_dir_close(&d);
		return rc;
	}
	snprintf(spec->host, sizeof(spec->host), "%s", e.address);
	snprintf(spec->node, sizeof(spec->node), "%s", e.node);
	spec->port = e.port;
	if (o->verbose)
		fprintf(stderr, "rdmacpy: %s is on %s (%s port %u)\n", spec->region, e.node,
			e.address, e.port);
	rdmacpy_dir_close(&d);
	return 0;
}

/* cli_node_resolve -- a node's address, for mk NODE/NAME */
int cli_node_resolve(const struct cli_opts *o, struct cli_spec *spec)
{
	struct rdmacpy_dir_node *nodes = NULL;
	struct rdmacpy_dir *d = NULL;
	size_t total = 0;
	int n;
	int rc;
	int i;

	rc = dir_open(o, &d);
	if (rc)
		return rc;
	n = rdmacpy_dir_list_nodes(d, NULL, sizeof(*nodes), 0, &total);
	if (n >= 0) {
		nodes = calloc(total + 1, sizeof(*nodes));
		n = nodes ? rdmacpy_dir_list_nodes(d, nodes, sizeof(*nodes), total, NULL)
			  : RDMACPY_E_NOMEM;
	}
	if (n < 0) {
		rc = dir_fail(d, o, n);
		goto out;
	}
	rc = CLI_EXIT_REMOTE;
	for (i = 0; i < n; i++) {
		if (strcmp(nodes[i].node, spec->node))
			continue;
		snprintf(spec->host, sizeof(spec->host), "%s", nodes[i].addresses[0]);
		spec->port = nodes[i].port;
		rc = 0;
	}
	if (rc)
		cli_error("no node %s in cluster %s", spec->node,
			  o->cluster ? o->cluster : "default");
out:
	free(nodes);
	rdmacpy_dir_close(&d);
	return rc;
}

/* node_json -- one node of ls --directory --json: {"node", "addresses", "port", "started",
 * "lease_left_s", "lease_ttl_s", "regions": [{"region", "size", "rights"}...]}, or NULL */
static json_object *node_json(const struct rdmacpy_dir_node *nd,
			      const struct rdmacpy_dir_entry *regions, int m)
{
	json_object *j = json_object_new_object();
	json_object *addrs = json_object_new_array();
	json_object *rs = json_object_new_array();
	json_object *r;
	bool rw;
	int i;

	if (!j || !addrs || !rs)
		goto fail;
	for (i = 0; i < (int)nd->naddresses; i++)
		json_object_array_add(addrs, json_object_new_string(nd->addresses[i]));
	for (i = 0; i < m; i++) {
		if (strcmp(regions[i].node, nd->node))
			continue;
		rw = regions[i].rights == RDMACPY_RIGHTS_RW;
		r = json_object_new_object();
		if (!r)
			goto fail;
		json_object_object_add(r, "region", json_object_new_string(regions[i].region));
		json_object_object_add(r, "size",
				       json_object_new_int64((int64_t)regions[i].region_size));
		json_object_object_add(r, "rights", json_object_new_string(rw ? "rw" : "ro"));
		json_object_array_add(rs, r);
	}
	json_object_object_add(j, "node", json_object_new_string(nd->node));
	json_object_object_add(j, "addresses", addrs);
	json_object_object_add(j, "port", json_object_new_int(nd->port));
	json_object_object_add(j, "started", json_object_new_string(nd->started));
	json_object_object_add(j, "lease_left_s", json_object_new_int64(nd->lease_left_s));
	json_object_object_add(j, "lease_ttl_s", json_object_new_int64(nd->lease_ttl_s));
	json_object_object_add(j, "regions", rs);
	return j;
fail:
	json_object_put(j);
	json_object_put(addrs);
	json_object_put(rs);
	return NULL;
}

/* cluster_json -- ls --directory --json: {"cluster", "nodes": [node_json...]}, or NULL */
static json_object *cluster_json(const struct cli_opts *o, const struct rdmacpy_dir_node *nodes,
				 int n, const struct rdmacpy_dir_entry *regions, int m)
{
	json_object *j = json_object_new_object();
	json_object *a = json_object_new_array();
	json_object *nd;
	int i;

	if (!j || !a)
		goto fail;
	for (i = 0; i < n; i++) {
		nd = node_json(&nodes[i], regions, m);
		if (!nd)
			goto fail;
		json_object_array_add(a, nd);
	}
	json_object_object_add(j, "cluster",
			       json_object_new_string(o->cluster ? o->cluster : "default"));
	json_object_object_add(j, "nodes", a);
	return j;
fail:
	json_object_put(j);
	json_object_put(a);
	return NULL;
}

/* cli_cmd_ls_cluster -- rdmacpy ls (no host): the directory's nodes and regions */
int cli_cmd_ls_cluster(const struct cli_opts *o)
{
	struct rdmacpy_dir_node *nodes = NULL;
	struct rdmacpy_dir_entry *regions = NULL;
	struct rdmacpy_dir *d = NULL;
	size_t nn = 0;
	size_t nr = 0;
	char size[32];
	int n;
	int m;
	int rc;
	int i;
	int j;

	rc = dir_open(o, &d);
	if (rc)
		return rc;
	n = rdmacpy_dir_list_nodes(d, NULL, sizeof(*nodes), 0, &nn);
	if (n >= 0) {
		nodes = calloc(nn + 1, sizeof(*nodes));
		n = nodes ? rdmacpy_dir_list_nodes(d, nodes, sizeof(*nodes), nn, NULL)
			  : RDMACPY_E_NOMEM;
	}
	m = n < 0 ? n : rdmacpy_dir_list_regions(d, NULL, NULL, sizeof(*regions), 0, &nr);
	if (m >= 0) {
		regions = calloc(nr + 1, sizeof(*regions));
		m = regions ? rdmacpy_dir_list_regions(d, NULL, regions, sizeof(*regions), nr, NULL)
			    : RDMACPY_E_NOMEM;
	}
	if (n < 0 || m < 0) {
		rc = dir_fail(d, o, n < 0 ? n : m);
		goto out;
	}
	if (o->json) {
		rc = cli_json_print(cluster_json(o, nodes, n, regions, m));
		goto out;
	}
	printf("%-20s %-30s %6s %-12s %s\n", "NODE", "ADDRESS", "PORT", "LEASE", "REGIONS");
	for (i = 0; i < n; i++) {
		char lease[32];
		char addrs[128] = "";

		for (j = 0; j < (int)nodes[i].naddresses; j++)
			snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s",
				 j ? "," : "", nodes[i].addresses[j]);
		if (nodes[i].lease_left_s >= 0)
			snprintf(lease, sizeof(lease), "%llds/%llds",
				 (long long)nodes[i].lease_left_s, (long long)nodes[i].lease_ttl_s);
		else
			snprintf(lease, sizeof(lease), "?");
		printf("%-20s %-30s %6u %-12s %u\n", nodes[i].node, addrs, nodes[i].port, lease,
		       nodes[i].nregions);
		for (j = 0; j < m; j++) {
			if (strcmp(regions[j].node, nodes[i].node))
				continue;
			rcp_size_format(regions[j].region_size, size, sizeof(size));
			printf("    %-24s %14s %s\n", regions[j].region, size,
			       regions[j].rights == RDMACPY_RIGHTS_RW ? "rw" : "ro");
		}
	}
	if (!n)
		printf("(no nodes in cluster %s)\n", o->cluster ? o->cluster : "default");
	rc = 0;
out:
	free(nodes);
	free(regions);
	rdmacpy_dir_close(&d);
	return rc;
}
