/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_region.c -- rdmacpy mk and rm: regions made and removed at run time */

#include <string.h>

#include "client/cli/cli.h"
#include "common/size.h"

/* host_region -- "HOST:NAME" with no offset or length, or with --directory NODE/NAME (mk: the
 * node to create it on) or NAME (rm: wherever it is); explains and returns an exit code */
static int host_region(const struct cli_opts *o, const char *cmd, const char *arg,
		       struct cli_spec *spec)
{
	char err[256];
	int rc;

	if (strpbrk(arg, "@+")) {
		cli_error("%s takes HOST:NAME, without @OFFSET or +LENGTH", cmd);
		return CLI_EXIT_USAGE;
	}
	if (o->directory && !cli_spec_is_remote(arg) && !strcmp(cmd, "mk")) {
		/* nothing serves the name yet: the node says where */
		if (cli_spec_parse_name(arg, spec, err, sizeof(err)) || !spec->node[0]) {
			cli_error("mk with --directory takes NODE/NAME");
			return CLI_EXIT_USAGE;
		}
		return cli_node_resolve(o, spec);
	}
	rc = cli_spec_resolve(o, arg, spec);
	return rc;
}

/* created_json -- mk --json: {"region", "size", "rights"}, or NULL */
static json_object *created_json(const char *region, uint64_t size, enum rdmacpy_rights rights)
{
	json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_object_object_add(j, "region", json_object_new_string(region));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(j, "rights",
			       json_object_new_string(rights == RDMACPY_RIGHTS_RW ? "rw" : "ro"));
	return j;
}

/* cli_cmd_mk -- rdmacpy mk HOST:NAME SIZE */
int cli_cmd_mk(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_conn *conn = NULL;
	enum rdmacpy_rights rights = o->read_only ? RDMACPY_RIGHTS_RO : RDMACPY_RIGHTS_RW;
	struct cli_spec spec;
	uint64_t size;
	uint64_t got = 0;
	char pretty[32];
	int rc;

	if (argc != 2) {
		cli_error("mk needs HOST:NAME and SIZE (see rdmacpy mk --help)");
		return CLI_EXIT_USAGE;
	}
	rc = host_region(o, "mk", argv[0], &spec);
	if (rc)
		return rc;
	if (rcp_size_parse(argv[1], &size) || size == 0) {
		cli_error("SIZE '%s': a size > 0 (K, M, G, T: powers of 1024)", argv[1]);
		return CLI_EXIT_USAGE;
	}
	rc = cli_connect_spec(o, &spec, &conn);
	if (rc)
		return rc;
	rc = rdmacpy_region_create(conn, spec.region, size, rights, &got);
	if (rc) {
		rc = cli_fail(conn, spec.host, rc, "cannot create the region");
		goto out;
	}
	if (o->json) {
		rc = cli_json_print(created_json(spec.region, got, rights));
	} else if (!o->quiet) {
		rcp_size_format(got, pretty, sizeof(pretty));
		fprintf(stderr, "created %s:%s, %s (%llu bytes)\n", spec.host, spec.region, pretty,
			(unsigned long long)got);
	}
out:
	rdmacpy_conn_close(&conn);
	return rc;
}

/* cli_cmd_rm -- rdmacpy rm HOST:NAME */
int cli_cmd_rm(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_conn *conn = NULL;
	struct cli_spec spec;
	int rc;

	if (argc != 1) {
		cli_error("rm needs HOST:NAME (see rdmacpy rm --help)");
		return CLI_EXIT_USAGE;
	}
	rc = host_region(o, "rm", argv[0], &spec);
	if (rc)
		return rc;
	rc = cli_connect_spec(o, &spec, &conn);
	if (rc)
		return rc;
	rc = rdmacpy_region_destroy(conn, spec.region);
	if (rc)
		rc = cli_fail(conn, spec.host, rc, "cannot remove the region");
	else if (!o->quiet && !o->json)
		fprintf(stderr, "removed %s:%s\n", spec.host, spec.region);
	rdmacpy_conn_close(&conn);
	return rc;
}
