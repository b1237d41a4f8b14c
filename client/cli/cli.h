/* SPDX-License-Identifier: BSD-3-Clause */
/* cli.h -- what the rdmacpy subcommands share: options, connecting, errors, output */
#ifndef RDMACPY_CLI_CLI_H
#define RDMACPY_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client/cli/exitcode.h"
#include "client/cli/spec.h"
#include "rdmacpy.h"

#define CLI_DEFAULT_PORT 18515

/* Everything the command line said, parsed once. */
struct cli_opts {
	uint16_t port;
	uint16_t dst_port; /* cp: the destination daemon's port; 0 means port */
	const char *key_file;
	const char *directory; /* etcd://... of the cluster directory, or NULL */
	const char *cluster;   /* its cluster name, NULL: "default" */
	const char *device;    /* the local RDMA device to connect from, NULL: the route's */
	uint8_t device_port;
	bool read_only; /* mk: the region's rights */
	bool quiet;
	bool json;
	bool verify;
	bool verbose;
	int timeout_ms;
	uint32_t reconnect_ms; /* a broken connection connects again within this (0: never) */
	uint32_t rails;	       /* rails to the daemon (0: one; RDMACPY_RAILS_ALL: every address) */
	/* transfer tuning */
	uint32_t queue_depth;
	uint32_t nqp;
	enum rdmacpy_moderation moderation;
	uint32_t mod_count;
	uint32_t mod_period_us;
	uint64_t chunk;
	int cpu; /* put/get: the transfer thread's CPU, the file I/O off it; -1: anywhere */
	/* bench */
	bool bench_read;
	uint64_t sizes[16];
	unsigned nsizes;
	uint64_t iters;
	double duration_s;
	bool latency;
	uint32_t sges; /* bench: local iovecs per operation, not contiguous (0: one buffer) */
	bool separate; /* bench --sges: the same pieces as separate operations */
	uint64_t span; /* bench: bytes the operations cycle over, locally and remotely (0: qd) */
};

/* cli_error -- "rdmacpy: <message>" on stderr */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_exit_for -- the documented exit code for a library error */
enum cli_exit cli_exit_for(int err);

/* cli_hint -- what the user can do about a library error (may be "") */
const char *cli_hint(int err);

/* cli_connect -- connect to host with the options; on failure explains and returns an exit
 * code (>0), else 0 */
int cli_connect(const struct cli_opts *o, const char *host, struct rdmacpy_conn **conn);

/* cli_spec_resolve -- HOST:REGION[@OFFSET][+LENGTH], or with --directory REGION or NODE/REGION
 * (with the same suffixes) found through the cluster directory; an exit code after
 * explaining, else 0 */
int cli_spec_resolve(const struct cli_opts *o, const char *text, struct cli_spec *spec);

/* cli_connect_spec -- cli_connect to spec's host, at the port the directory gave (or --port) */
int cli_connect_spec(const struct cli_opts *o, const struct cli_spec *spec,
		     struct rdmacpy_conn **conn);

/* cli_node_resolve -- with --directory: spec->node's address and port into spec; an exit code
 * after explaining, else 0 */
int cli_node_resolve(const struct cli_opts *o, struct cli_spec *spec);

/* cli_cmd_ls_cluster -- rdmacpy ls without a host: the cluster directory's listing */
int cli_cmd_ls_cluster(const struct cli_opts *o);

/*
 * cli_open -- a grant on spec's region: length defaults to the rest of the region (or
 * want_len when not 0); "region 'x' not found on HOST; it has: a, b" when missing. Returns
 * an exit code (>0) after explaining, else 0; *region_size gets the region's size.
 */
int cli_open(const struct cli_opts *o, struct rdmacpy_conn *conn, const struct cli_spec *spec,
	     uint64_t want_len, enum rdmacpy_rights rights, struct rdmacpy_grant **grant,
	     uint64_t *region_size);

/* cli_list -- every region of the daemon in *out (free it); the count, or RDMACPY_E_* */
int cli_list(struct rdmacpy_conn *conn, struct rdmacpy_region_info **out);

/* cli_fail -- explain a library failure of what on host and return its exit code */
int cli_fail(struct rdmacpy_conn *conn, const char *host, int err, const char *what);

/* cli_print_checksum -- hex digest */
void cli_hex(const uint8_t *d, size_t n, char *out);

/* cli_json_rails -- the connection's rail counters into j ("rails", "rails_up", "failovers",
 * "wrs_reissued", "rejoins") */
void cli_json_rails(json_object *j, const struct rdmacpy_counters *c);

/* cli_json_fixed -- a JSON number (a double) written with decimals digits after the point */
json_object *cli_json_fixed(double v, int decimals);

/* cli_json_print -- --json's document on one line of stdout, then released (obj may be NULL:
 * out of memory); CLI_EXIT_FAILURE after explaining when it could not be written, else 0 */
int cli_json_print(json_object *obj);

/* subcommands: each returns an exit code */
int cli_cmd_put(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_get(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_cp(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_ls(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_stat(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_mk(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_rm(const struct cli_opts *o, int argc, char **argv);
int cli_cmd_bench(const struct cli_opts *o, int argc, char **argv);

#endif
