/* SPDX-License-Identifier: BSD-3-Clause */
/* cli.c -- what the rdmacpy subcommands share: connecting, opening grants, explaining errors */

#include "client/cli/cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* cli_error -- "rdmacpy: <message>" on stderr */
void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("rdmacpy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* cli_exit_for -- the documented exit code for a library error */
enum cli_exit cli_exit_for(int err)
{
	switch (err) {
	case RDMACPY_OK:
		return CLI_EXIT_OK;
	case RDMACPY_E_INVAL:
		return CLI_EXIT_USAGE;
	case RDMACPY_E_NODEV:
	case RDMACPY_E_CONNECT:
	case RDMACPY_E_PROTO:
		return CLI_EXIT_CONNECT;
	case RDMACPY_E_AUTH:
	case RDMACPY_E_KEY:
		return CLI_EXIT_AUTH;
	case RDMACPY_E_NOENT:
	case RDMACPY_E_ACCESS:
	case RDMACPY_E_RANGE:
	case RDMACPY_E_LIMIT:
	case RDMACPY_E_BUSY:
	case RDMACPY_E_NOTSUP:
	case RDMACPY_E_EXIST:
	case RDMACPY_E_SHUTDOWN:
	case RDMACPY_E_REMOTE_ACCESS:
		return CLI_EXIT_REMOTE;
	case RDMACPY_E_TIMEOUT:
	case RDMACPY_E_BROKEN:
	case RDMACPY_E_RETRY_EXCEEDED:
	case RDMACPY_E_RNR_RETRY_EXCEEDED:
	case RDMACPY_E_FLUSHED:
	case RDMACPY_E_REMOTE_OP:
	case RDMACPY_E_NO_RAIL:
		return CLI_EXIT_TRANSFER;
	case RDMACPY_E_STALE:
		return CLI_EXIT_STALE;
	default:
		return CLI_EXIT_FAILURE;
	}
}

/* cli_hint -- what the user can do about a library error */
const char *cli_hint(int err)
{
	switch (err) {
	case RDMACPY_E_NODEV:
		return "no RDMA device serves a route to that host; check `ibv_devices` and the "
		       "address";
	case RDMACPY_E_CONNECT:
		return "is rdmacpyd running there on that port (--port, RDMACPY_PORT)?";
	case RDMACPY_E_PROTO:
		return "the daemon speaks another protocol version; upgrade one side";
	case RDMACPY_E_AUTH:
		return "the key differs from the daemon's; check --key-file / RDMACPY_KEY_FILE";
	case RDMACPY_E_KEY:
		return "the key file must be a regular file of mode 0600 holding at least 16 bytes";
	case RDMACPY_E_ACCESS:
		return "the region is read-only for clients";
	case RDMACPY_E_RANGE:
		return "the range runs past the end of the region; `rdmacpy ls HOST` shows sizes";
	case RDMACPY_E_LIMIT:
		return "a daemon limit was reached; retry later or raise it on the daemon";
	case RDMACPY_E_TIMEOUT:
	case RDMACPY_E_RETRY_EXCEEDED:
		return "the peer stopped answering; check the link and the daemon";
	case RDMACPY_E_REMOTE_ACCESS:
		return "the daemon refused the access (grant closed, rights or range)";
	default:
		return "";
	}
}

/* cli_fail -- explain a library failure of what on host and return its exit code */
int cli_fail(struct rdmacpy_conn *conn, const char *host, int err, const char *what)
{
	const char *detail = conn ? rdmacpy_conn_last_error(conn) : "";
	const char *hint = cli_hint(err);

	cli_error("%s on %s: %s%s%s%s", what, host, rdmacpy_strerror(err), detail[0] ? " (" : "",
		  detail, detail[0] ? ")" : "");
	if (hint[0])
		fprintf(stderr, "rdmacpy: hint: %s\n", hint);
	return cli_exit_for(err);
}

static int connect_port(const struct cli_opts *o, const char *host, uint16_t port,
			struct rdmacpy_conn **conn);

/* cli_connect -- connect to host with the options */
int cli_connect(const struct cli_opts *o, const char *host, struct rdmacpy_conn **conn)
{
	return connect_port(o, host, o->port, conn);
}

/* cli_connect_spec -- connect where a spec points */
int cli_connect_spec(const struct cli_opts *o, const struct cli_spec *spec,
		     struct rdmacpy_conn **conn)
{
	return connect_port(o, spec->host, spec->port ? spec->port : o->port, conn);
}

/* log_resume -- the library's warnings (a connection lost and resumed, a rail that failed or
 * was skipped) on stderr */
static void log_resume(void *ctx, int level, const char *msg)
{
	(void)ctx;
	(void)level;
	fprintf(stderr, "rdmacpy: %s\n", msg);
}

/* connect_port -- connect to host:port with the options */
static int connect_port(const struct cli_opts *o, const char *host, uint16_t port,
			struct rdmacpy_conn **conn)
{
	struct rdmacpy_conn_opts co;
	struct rdmacpy_op *op = NULL;
	int rc;

	*conn = NULL;
	rdmacpy_conn_opts_init(&co);
	co.key_file = o->key_file;
	if (o->timeout_ms > 0)
		co.timeout_ms = o->timeout_ms;
	if (o->queue_depth)
		co.queue_depth = o->queue_depth;
	if (o->nqp)
		co.nqp = o->nqp;
	co.moderation = o->moderation;
	if (o->mod_count)
		co.mod_count = o->mod_count;
	if (o->mod_period_us)
		co.mod_period_us = o->mod_period_us;
	if (o->chunk)
		co.chunk_size = (uint32_t)o->chunk;
	co.device = o->device;
	co.device_port = o->device_port;
	co.reconnect_ms = o->reconnect_ms;
	co.rails = o->rails;
	if ((o->reconnect_ms || o->rails > 1) && !o->quiet) {
		/* a resume or a failover is news: the user sees the break and the recovery */
		co.log_fn = log_resume;
		co.log_level = RDMACPY_LOG_WARN;
	}
	/* the asynchronous form, waited for: on failure the connection's own explanation is
	 * still there to print */
	rc = rdmacpy_conn_open_async(host, port, &co, NULL, NULL, conn, &op);
	if (!rc) {
		rc = rdmacpy_op_wait(op, -1);
		rdmacpy_op_free(&op);
	}
	if (rc) {
		int code = cli_fail(*conn, host, rc, "cannot connect");

		rdmacpy_conn_close(conn);
		/* Whatever went wrong while connecting (even a timeout) is a connection failure. */
		return code == CLI_EXIT_AUTH ? code : CLI_EXIT_CONNECT;
	}
	return 0;
}

/* cli_list -- every region of the daemon, in an array to free; the count or RDMACPY_E_* */
int cli_list(struct rdmacpy_conn *conn, struct rdmacpy_region_info **out)
{
	struct rdmacpy_region_info *r = NULL;
	size_t total = 64;
	size_t cap = 0;
	int n = 0;

	/* ask for as many as the daemon said it has, until the answer fits (it may grow) */
	while (total > cap) {
		free(r);
		cap = total + 16;
		r = calloc(cap, sizeof(*r));
		if (!r)
			return RDMACPY_E_NOMEM;
		n = rdmacpy_region_list(conn, r, sizeof(*r), cap, &total);
		if (n < 0) {
			free(r);
			return n;
		}
	}
	*out = r;
	return n;
}

/* list_names -- "a, b, c" of the daemon's regions, for a not-found message */
static void list_names(const struct rdmacpy_region_info *r, int n, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", r[i].name);
	if (n == 0)
		snprintf(buf, cap, "no regions");
}

/* open_found -- the checks and the grant, once the region is known */
static int open_found(struct rdmacpy_conn *conn, const struct cli_spec *spec,
		      const struct rdmacpy_region_info *r, uint64_t want_len,
		      enum rdmacpy_rights rights, struct rdmacpy_grant **grant,
		      uint64_t *region_size, const char *unchanged)
{
	uint64_t len;
	int rc;

	if (rights == RDMACPY_RIGHTS_RW && r->rights != RDMACPY_RIGHTS_RW) {
		cli_error("region '%s' on %s is read-only; cannot write into it%s", spec->region,
			  spec->host, unchanged);
		return CLI_EXIT_REMOTE;
	}
	*region_size = r->size;
	if (spec->offset > r->size) {
		cli_error("offset %llu is past the end of region '%s' (%llu bytes) on %s%s",
			  (unsigned long long)spec->offset, spec->region,
			  (unsigned long long)r->size, spec->host, unchanged);
		return CLI_EXIT_REMOTE;
	}
	len = spec->has_length ? spec->length : want_len ? want_len : r->size - spec->offset;
	if (len > r->size - spec->offset) {
		cli_error("%llu bytes at offset %llu run past the end of region '%s' (%llu bytes) "
			  "on %s%s",
			  (unsigned long long)len, (unsigned long long)spec->offset, spec->region,
			  (unsigned long long)r->size, spec->host, unchanged);
		return CLI_EXIT_REMOTE;
	}
	if (len == 0) {
		*grant = NULL;
		return 0;
	}
	rc = rdmacpy_grant_open(conn, spec->region, spec->offset, len, rights, grant);
	if (rc)
		return cli_fail(conn, spec->host, rc, "cannot open the region");
	return 0;
}

/* cli_open -- a grant on spec's region */
int cli_open(const struct cli_opts *o, struct rdmacpy_conn *conn, const struct cli_spec *spec,
	     uint64_t want_len, enum rdmacpy_rights rights, struct rdmacpy_grant **grant,
	     uint64_t *region_size)
{
	struct rdmacpy_region_info *regions = NULL;
	const struct rdmacpy_region_info *r = NULL;
	const char *unchanged = rights == RDMACPY_RIGHTS_RW ? "; nothing was written" : "";
	char names[1024];
	int n;
	int rc;

	(void)o;
	n = cli_list(conn, &regions);
	if (n < 0)
		return cli_fail(conn, spec->host, n, "cannot list regions");
	for (int i = 0; i < n; i++)
		if (strcmp(regions[i].name, spec->region) == 0)
			r = &regions[i];
	if (!r) {
		list_names(regions, n, names, sizeof(names));
		cli_error("region '%s' not found on %s; it has: %s", spec->region, spec->host,
			  names);
		free(regions);
		return CLI_EXIT_REMOTE;
	}
	rc = open_found(conn, spec, r, want_len, rights, grant, region_size, unchanged);
	free(regions);
	return rc;
}

/* cli_hex -- lowercase hex of n bytes into out (2n+1 bytes) */
void cli_hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* cli_json_fixed -- a JSON number (a double) written with decimals digits after the point */
json_object *cli_json_fixed(double v, int decimals)
{
	char text[64];
	int n;

	/* the precision the summaries always had: json-c alone writes up to 17 digits */
	n = snprintf(text, sizeof(text), "%.*f", decimals, v);
	if (n < 0 || (size_t)n >= sizeof(text))
		return json_object_new_double(v);
	return json_object_new_double_s(v, text);
}

/* cli_json_rails -- the connection's rails into a JSON object: "rails", "rails_up", "failovers",
 * "wrs_reissued", "rejoins" */
void cli_json_rails(json_object *j, const struct rdmacpy_counters *c)
{
	json_object_object_add(j, "rails", json_object_new_int64(c->rails));
	json_object_object_add(j, "rails_up", json_object_new_int64(c->rails_up));
	json_object_object_add(j, "failovers", json_object_new_int64((int64_t)c->failovers));
	json_object_object_add(j, "wrs_reissued", json_object_new_int64((int64_t)c->wrs_reissued));
	json_object_object_add(j, "rejoins", json_object_new_int64((int64_t)c->rejoins));
}

/* cli_json_print -- --json's document on one line of stdout, then released */
int cli_json_print(json_object *obj)
{
	const char *text = NULL;

	/* no "\/" for '/': the text stays what simple searches of it expect */
	if (obj)
		text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text) {
		printf("%s\n", text);
		fflush(stdout);
	}
	json_object_put(obj);
	if (!text) {
		cli_error("out of memory writing the JSON result");
		return CLI_EXIT_FAILURE;
	}
	return 0;
}
