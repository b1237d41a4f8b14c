/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h -- rdmacpyd settings: sizes, region specs, the config file (no I/O but reading it) */
#ifndef RDMACPY_SERVER_CONFIG_H
#define RDMACPY_SERVER_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define RCP_DEFAULT_PORT		   18515
#define RCP_DEFAULT_MAX_CLIENTS		   64
#define RCP_DEFAULT_MAX_GRANTS_PER_CLIENT  64
#define RCP_DEFAULT_MAX_DYNAMIC		   (256ull << 20)
#define RCP_DEFAULT_WORKERS		   4
#define RCP_DEFAULT_MAX_JOBS_PER_CLIENT	   4
#define RCP_DEFAULT_AUTH_TIMEOUT_MS	   5000
#define RCP_DEFAULT_MAX_PENDING		   16
#define RCP_DEFAULT_MAX_PENDING_PER_SOURCE 8
#define RCP_DEFAULT_KEEPALIVE_MS	   10000
#define RCP_HOSTNAME_MAX		   256
#define RCP_MAX_LISTEN			   8 /* addresses served: one per RDMA port (rails) */

/* Where grants' windows are bound (grant.c, mw_probe.c). */
enum rcp_grant_mode {
	RCP_GRANT_MODE_AUTO,	  /* on the region MR if the startup self-test allows it */
	RCP_GRANT_MODE_PER_GRANT, /* always on an MR of exactly the grant's range */
};

/* One region the operator asked for (command line or config file). */
struct rcp_region_spec {
	char name[RCP_NAME_MAX];
	enum rcp_region_kind kind;
	enum rcp_rights rights;
	uint64_t size;	     /* bytes; 0 for a file region means "the file's current size" */
	char path[PATH_MAX]; /* file regions only */
};

/* Everything the daemon is told; filled from defaults, then flags and files in order. */
struct rcp_config {
	/* the addresses served, each picking its RDMA device and port; the first is the
	 * daemon's main address (logs, the directory's first) */
	char listen[RCP_MAX_LISTEN][RCP_HOSTNAME_MAX];
	unsigned int nlisten;
	uint16_t port;
	char key_file[PATH_MAX];
	char cluster_key_file[PATH_MAX]; /* COPY's key for other daemons; "" means key_file's */
	bool no_auth;
	struct rcp_region_spec *regions;
	size_t nregions;
	uint32_t max_clients; /* authenticated connections at once */
	uint32_t max_grants_per_client;
	uint32_t max_jobs_per_client;	 /* long requests (CHECKSUM, FLUSH, ...) at once */
	uint32_t workers;		 /* threads that run long requests */
	uint64_t auth_timeout_ms;	 /* a connection must authenticate within this */
	uint32_t max_pending;		 /* unauthenticated connections at once */
	uint32_t max_pending_per_source; /* of which from one address */
	uint32_t max_per_source;	 /* connections of any kind from one address; 0: any */
	enum rcp_grant_mode grant_mode;
	uint64_t keepalive_ms; /* probe a session quiet for this long; 0: never */
	uint64_t max_dynamic;  /* bytes all CREATEd regions may hold together */
	bool allow_create;
	int log_level; /* enum rcp_log_level */
	bool syslog;
	char pid_file[PATH_MAX];
	int ready_fd;			    /* -1: print "rdmacpyd: ready" on stderr instead */
	char metrics[RCP_HOSTNAME_MAX + 8]; /* "ADDR:PORT" or "PORT" of /metrics; "": none */
	/* the cluster directory (etcd): "" for none */
	char directory[1024];		   /* etcd://HOST:PORT[,...] or etcds://... */
	char cluster[64];		   /* default "default" */
	char node[64];			   /* default: the host name */
	uint32_t directory_ttl_s;	   /* the lease's TTL (default 10) */
	char directory_ca[PATH_MAX];	   /* etcds: CA file */
	char directory_cert[PATH_MAX];	   /* etcds: client certificate */
	char directory_key[PATH_MAX];	   /*        and its key */
	char directory_user[128];	   /* etcd authentication */
	char directory_password_file[PATH_MAX];
};

/* rcp_config_init -- defaults: port 18515, auth required, no regions, info logging */
void rcp_config_init(struct rcp_config *cfg);

/* rcp_config_fini -- free the region list; the struct may be initialised again */
void rcp_config_fini(struct rcp_config *cfg);

/* rcp_parse_u32 -- a decimal count in [min, max]; -EINVAL or -ERANGE */
int rcp_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* rcp_parse_addr_port -- "PORT" (then 127.0.0.1: loopback only) or "ADDR:PORT" ("[v6]:PORT")
 * into addr and port; -EINVAL */
int rcp_parse_addr_port(const char *spec, char *addr, size_t addr_cap, uint16_t *port);

/* rcp_parse_bool -- yes/no, true/false, on/off, 1/0; -EINVAL otherwise */
int rcp_parse_bool(const char *s, bool *out);

/* rcp_region_name_valid -- 1..RCP_NAME_MAX-1 printable characters, no spaces or ':' */
bool rcp_region_name_valid(const char *name);

/*
 * rcp_parse_region_spec -- the --region form: NAME:anon:SIZE[:ro|rw], NAME:huge:SIZE[:ro|rw],
 * NAME:file:PATH[:SIZE][:ro|rw]. The rights and size are taken from the right, so a path may
 * itself contain ':'. Rights default to rw. On error err (errlen bytes) says what is wrong.
 * Returns 0 or -EINVAL.
 */
int rcp_parse_region_spec(const char *spec, struct rcp_region_spec *out, char *err, size_t errlen);

/* rcp_config_add_region -- append a region; -EEXIST if the name is taken, -ENOMEM */
int rcp_config_add_region(struct rcp_config *cfg, const struct rcp_region_spec *spec);

/*
 * rcp_config_parse_line -- apply one config file line (see rcp_config_load for the format).
 * Blank lines and '#' comments are fine. Returns 0, -EINVAL (err says why), -EEXIST, -ENOMEM.
 */
int rcp_config_parse_line(struct rcp_config *cfg, const char *line, char *err, size_t errlen);

/*
 * rcp_config_load -- apply a config file, line by line:
 *   # comment
 *   listen = 198.18.0.1
 *   port = 18515
 *   key-file = /etc/rdmacpy/key
 *   no-auth = yes
 *   max-clients = 64
 *   max-grants-per-client = 64
 *   max-jobs-per-client = 4
 *   workers = 4
 *   auth-timeout = 5s
 *   max-pending = 16
 *   max-pending-per-source = 8
 *   max-per-source = 0
 *   grant-mode = auto|per-grant
 *   keepalive = 10s
 *   max-dynamic-memory = 1GiB
 *   allow-create = yes
 *   log-level = debug|info|warn|error
 *   syslog = yes
 *   pid-file = /run/rdmacpyd.pid
 *   region NAME anon SIZE [ro|rw]
 *   region NAME huge SIZE [ro|rw]
 *   region NAME file PATH [SIZE] [ro|rw]
 * Keys are the long option names. Returns 0 or -errno with err naming file:line.
 */
int rcp_config_load(struct rcp_config *cfg, const char *path, char *err, size_t errlen);

#endif /* RDMACPY_SERVER_CONFIG_H */
