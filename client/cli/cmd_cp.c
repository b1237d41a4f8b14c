/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_cp.c -- rdmacpy cp: third-party copy between two daemons */

#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"
#include "client/cli/progress.h"

/* on_progress -- the daemon's progress reports feed the progress line */
static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)total;
	cli_progress_update(ctx, done);
}

/* source_length -- the bytes to copy: +LENGTH, or the rest of the source region; explains
 * and returns an exit code when the range does not fit */
static int source_length(struct rdmacpy_conn *conn, const struct cli_spec *src, uint64_t *len)
{
	struct rdmacpy_region_info *regions = NULL;
	struct rdmacpy_region_info found;
	const struct rdmacpy_region_info *r = NULL;
	int n;
	int i;

	n = cli_list(conn, &regions);
	if (n < 0)
		return cli_fail(conn, src->host, n, "cannot list regions");
	for (i = 0; i < n; i++) {
		if (strcmp(regions[i].name, src->region) == 0) {
			found = regions[i];
			r = &found;
		}
	}
	free(regions);
	if (!r) {
		cli_error("region '%s' not found on %s (`rdmacpy ls %s` lists them)", src->region,
			  src->host, src->host);
		return CLI_EXIT_REMOTE;
	}
	if (src->offset >= r->size) {
		cli_error("offset %llu is past the end of region '%s' (%llu bytes) on %s",
			  (unsigned long long)src->offset, src->region, (unsigned long long)r->size,
			  src->host);
		return CLI_EXIT_REMOTE;
	}
	*len = src->has_length ? src->length : r->size - src->offset;
	if (*len > r->size - src->offset) {
		cli_error("%llu bytes at offset %llu run past the end of region '%s' (%llu bytes) "
			  "on %s",
			  (unsigned long long)*len, (unsigned long long)src->offset, src->region,
			  (unsigned long long)r->size, src->host);
		return CLI_EXIT_REMOTE;
	}
	return 0;
}

/* copy_failed -- explain a failed copy; an unreachable destination is the source daemon's
 * view, so say so rather than blaming this machine's connection */
static int copy_failed(struct rdmacpy_conn *conn, const struct cli_spec *src,
		       const struct cli_spec *dst, uint16_t dst_port, int rc, uint64_t done)
{
	const char *detail = rdmacpy_conn_last_error(conn);
	const char *hint = cli_hint(rc);

	if (rc == RDMACPY_E_CONNECT) {
		cli_error("the daemon on %s cannot reach a daemon at %s port %u: %s", src->host,
			  dst->host, dst_port, rdmacpy_strerror(rc));
		fprintf(stderr,
			"rdmacpy: hint: is rdmacpyd running on %s at port %u (--dst-port), with "
			"the "
			"same key, and reachable from %s?\n",
			dst->host, dst_port, src->host);
		return CLI_EXIT_CONNECT;
	}
	cli_error("copy %s:%s to %s:%s failed after %llu bytes: %s%s%s%s", src->host, src->region,
		  dst->host, dst->region, (unsigned long long)done, rdmacpy_strerror(rc),
		  detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
	if (rc == RDMACPY_E_AUTH)
		fprintf(stderr, "rdmacpy: hint: the two daemons must share a key (rdmacpyd "
				"--cluster-key-file)\n");
	else if (hint[0])
		fprintf(stderr, "rdmacpy: hint: %s\n", hint);
	return cli_exit_for(rc);
}

/* verify -- the destination daemon's checksum of its range against the source daemon's */
static int verify(const struct cli_opts *o, struct rdmacpy_conn *conn, const struct cli_spec *src,
		  const struct cli_spec *dst, uint64_t len, struct rdmacpy_counters *dst_ctr)
{
	struct rdmacpy_conn *dconn = NULL;
	struct cli_opts dopts = *o;
	uint8_t a[RDMACPY_CHECKSUM_LEN];
	uint8_t b[RDMACPY_CHECKSUM_LEN];
	char ha[2 * RDMACPY_CHECKSUM_LEN + 1];
	char hb[2 * RDMACPY_CHECKSUM_LEN + 1];
	int rc;

	rc = rdmacpy_region_checksum(conn, src->region, src->offset, len, a);
	if (rc)
		return cli_fail(conn, src->host, rc, "cannot checksum the source range");
	dopts.port = dst->port ? dst->port : o->dst_port ? o->dst_port : o->port;
	rc = cli_connect(&dopts, dst->host, &dconn);
	if (rc)
		return rc;
	rc = rdmacpy_region_checksum(dconn, dst->region, dst->offset, len, b);
	if (rc) {
		rc = cli_fail(dconn, dst->host, rc, "cannot checksum the destination range");
		goto out_close;
	}
	dst_ctr->size = sizeof(*dst_ctr);
	rdmacpy_conn_counters(dconn, dst_ctr);
	if (memcmp(a, b, sizeof(a)) != 0) {
		cli_hex(a, sizeof(a), ha);
		cli_hex(b, sizeof(b), hb);
		cli_error("verification failed: %s:%s@%llu+%llu is %s, %s:%s@%llu is %s", src->host,
			  src->region, (unsigned long long)src->offset, (unsigned long long)len, ha,
			  dst->host, dst->region, (unsigned long long)dst->offset, hb);
		rc = CLI_EXIT_VERIFY;
	}
out_close:
	rdmacpy_conn_close(&dconn);
	return rc;
}

/* report_json -- cp --json: {"op", "bytes", "seconds", "mbps", "client_bytes_read",
 * "client_bytes_written", "verified"}, or NULL */
static json_object *report_json(const struct rdmacpy_counters *c, uint64_t bytes, double secs,
				double rate, bool verified)
{
	json_object *j = json_object_new_object();

	if (!j)
		return NULL;
	json_object_object_add(j, "op", json_object_new_string("cp"));
	json_object_object_add(j, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(j, "seconds", cli_json_fixed(secs, 6));
	json_object_object_add(j, "mbps", cli_json_fixed(rate / 1e6, 3));
	json_object_object_add(j, "client_bytes_read",
			       json_object_new_int64((int64_t)c->bytes_read));
	json_object_object_add(j, "client_bytes_written",
			       json_object_new_int64((int64_t)c->bytes_written));
	json_object_object_add(j, "verified", json_object_new_boolean(verified));
	return j;
}

/* report -- the summary, or the JSON object; the client_* counters show that no byte of the
 * copy went through this machine. An exit code: the JSON may fail to be written */
static int report(const struct cli_opts *o, const struct rdmacpy_counters *c, uint64_t bytes,
		  double secs, bool verified)
{
	double rate = secs > 0 ? (double)bytes / secs : 0;
	char r[32];

	if (o->json)
		return cli_json_print(report_json(c, bytes, secs, rate, verified));
	if (o->quiet)
		return 0;
	cli_format_rate(rate, r, sizeof(r));
	fprintf(stderr, "cp: %llu bytes in %.3f s, %s%s\n", (unsigned long long)bytes, secs, r,
		verified ? ", verified" : "");
	return 0;
}

/* cli_cmd_cp -- rdmacpy cp SRC_HOST:REGION[@OFFSET][+LENGTH] DST_HOST:REGION[@OFFSET] */
int cli_cmd_cp(const struct cli_opts *o, int argc, char **argv)
{
	struct rdmacpy_counters ctr = {0};
	struct rdmacpy_counters dctr = {0};
	struct rdmacpy_conn *conn = NULL;
	struct cli_progress prog;
	struct cli_spec src;
	struct cli_spec dst;
	uint16_t dst_port = o->dst_port ? o->dst_port : o->port;
	uint64_t done = 0;
	uint64_t len = 0;
	uint64_t t0;
	double secs;
	int rc;

	if (argc != 2) {
		cli_error("cp needs SRC_HOST:REGION and DST_HOST:REGION (see rdmacpy cp --help)");
		return CLI_EXIT_USAGE;
	}
	rc = cli_spec_resolve(o, argv[0], &src);
	if (!rc)
		rc = cli_spec_resolve(o, argv[1], &dst);
	if (rc)
		return rc;
	/* a destination found through the directory says its port */
	if (dst.port)
		dst_port = dst.port;
	if (dst.has_length) {
		cli_error(
			"the destination takes no +LENGTH: the source range says how much to copy");
		return CLI_EXIT_USAGE;
	}
	rc = cli_connect_spec(o, &src, &conn);
	if (rc)
		return rc;
	rc = source_length(conn, &src, &len);
	if (rc)
		goto out_close;
	cli_progress_init(&prog, stderr, o->quiet || o->json, "cp", len);
	t0 = cli_now_ns();
	rc = rdmacpy_region_copy(conn, src.region, src.offset, len, dst.host, dst_port, dst.region,
				 dst.offset, on_progress, &prog, &done);
	cli_progress_finish(&prog);
	secs = (double)(cli_now_ns() - t0) / 1e9;
	if (rc) {
		rc = copy_failed(conn, &src, &dst, dst_port, rc, done);
		goto out_close;
	}
	ctr.size = sizeof(ctr);
	rdmacpy_conn_counters(conn, &ctr);
	if (o->verify) {
		rc = verify(o, conn, &src, &dst, len, &dctr);
		if (rc)
			goto out_close;
		ctr.bytes_read += dctr.bytes_read;
		ctr.bytes_written += dctr.bytes_written;
	}
	rc = report(o, &ctr, done, secs, o->verify);
out_close:
	rdmacpy_conn_close(&conn);
	return rc;
}
