/* SPDX-License-Identifier: BSD-3-Clause */
/* directory.h -- the cluster directory's layout in etcd: keys, and the JSON of its entries,
 * shared by the daemon that publishes and the clients that read (docs/DESIGN.md has it too) */
#ifndef RDMACPY_COMMON_DIRECTORY_H
#define RDMACPY_COMMON_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/*
 * Keys, under one lease per daemon:
 *   /rdmacpy/v1/CLUSTER/nodes/NODE              the daemon
 *   /rdmacpy/v1/CLUSTER/regions/REGION/NODE     a region it serves
 * Values are JSON objects:
 *   node:   {"node": "n1", "addresses": ["198.18.0.1"], "port": 18515, "protocol": 2,
 *            "started": "2026-11-29T12:00:00Z"}
 *   region: {"region": "scratch", "node": "n1", "size": 1073741824, "rights": "rw",
 *            "kind": "anon", "dynamic": false}
 * "v1" is the layout's version: a reader ignores what it does not know in an object, and a
 * layout that must break readers moves to v2.
 */
#define RCP_DIR_ROOT	     "/rdmacpy/v1/"
#define RCP_DIR_NAME_MAX     64 /* cluster and node names, with the NUL */
#define RCP_DIR_MAX_ADDRS    8
#define RCP_DIR_ADDR_MAX     64
#define RCP_DIR_KEY_MAX	     (sizeof(RCP_DIR_ROOT) + 2 * RCP_DIR_NAME_MAX + RCP_NAME_MAX + 16)
#define RCP_DIR_DEFAULT_TTL  10
#define RCP_DIR_DEFAULT_NAME "default"

struct rcp_dir_node {
	char node[RCP_DIR_NAME_MAX];
	char addrs[RCP_DIR_MAX_ADDRS][RCP_DIR_ADDR_MAX];
	unsigned int naddrs;
	uint16_t port;
	unsigned int protocol;
	char started[32]; /* ISO 8601, UTC */
	int64_t lease;	  /* from etcd, not the JSON */
};

struct rcp_dir_region {
	char region[RCP_NAME_MAX];
	char node[RCP_DIR_NAME_MAX];
	uint64_t size;
	enum rcp_rights rights;
	enum rcp_region_kind kind;
	bool dynamic;
};

/* rcp_dir_name_ok -- a cluster or node name: 1..63 of [A-Za-z0-9._-], not starting with '.' */
bool rcp_dir_name_ok(const char *s);

/* rcp_dir_region_name_ok -- a region name the layout can carry (no ':' or '/') */
bool rcp_dir_region_name_ok(const char *s);

/* rcp_dir_nodes_prefix, rcp_dir_regions_prefix, rcp_dir_region_prefix -- key prefixes */
void rcp_dir_nodes_prefix(char *out, size_t cap, const char *cluster);
void rcp_dir_regions_prefix(char *out, size_t cap, const char *cluster);
void rcp_dir_region_prefix(char *out, size_t cap, const char *cluster, const char *region);

/* rcp_dir_node_key, rcp_dir_region_key -- one entry's key */
void rcp_dir_node_key(char *out, size_t cap, const char *cluster, const char *node);
void rcp_dir_region_key(char *out, size_t cap, const char *cluster, const char *region,
			const char *node);

/* rcp_dir_node_json, rcp_dir_region_json -- an entry's value (malloc'd; NULL: no memory) */
char *rcp_dir_node_json(const struct rcp_dir_node *n);
char *rcp_dir_region_json(const struct rcp_dir_region *r);

/* rcp_dir_node_parse, rcp_dir_region_parse -- an entry read back, checked against its key and
 * against what the fields may hold; -EINVAL with the reason in why for anything malformed */
int rcp_dir_node_parse(const char *cluster, const char *key, const char *json,
		       struct rcp_dir_node *out, char *why, size_t cap);
int rcp_dir_region_parse(const char *cluster, const char *key, const char *json,
			 struct rcp_dir_region *out, char *why, size_t cap);

#endif /* RDMACPY_COMMON_DIRECTORY_H */
