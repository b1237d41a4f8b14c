/* SPDX-License-Identifier: BSD-3-Clause */
/* region.h -- named, registered memory the daemon serves: anonymous, huge-page or file-backed */
#ifndef RDMACPY_SERVER_REGION_H
#define RDMACPY_SERVER_REGION_H

#include <stdbool.h>
#include <stdint.h>

#include "server/server.h"

struct rcp_region {
	char name[RCP_NAME_MAX];
	enum rcp_region_kind kind;
	enum rcp_rights rights; /* the most a grant on it may have */
	bool dynamic;		/* made by CREATE: DESTROY may remove it */
	bool shared_file;	/* MAP_SHARED file mapping: FLUSH msyncs it */
	uint8_t *addr;
	uint64_t size;	   /* bytes served */
	uint64_t map_size; /* bytes mapped (size rounded up to the page or huge page) */
	int fd;		   /* file regions, else -1 */
	struct ibv_mr *mr;
	uint32_t ngrants; /* grants of all sessions on this region */
	uint32_t ncopies; /* third-party copies reading it */
};

/* rcp_region_new -- map and register a region as spec says. Errors are logged with the cause
 * (e.g. no huge pages). Returns 0 or -errno. */
int rcp_region_new(struct rcp_server *srv, const struct rcp_region_spec *spec, bool dynamic,
		   struct rcp_region **rp);

/* rcp_region_delete -- msync a file region, deregister, unmap; NULL fine; clears *rp. Windows
 * bound to it must be gone (dereg fails otherwise, and the region is then leaked, logged). */
void rcp_region_delete(struct rcp_server *srv, struct rcp_region **rp);

/* rcp_region_find -- region by name, or NULL */
struct rcp_region *rcp_region_find(struct rcp_server *srv, const char *name);

/* rcp_region_add -- append to the server's list; -ENOMEM */
int rcp_region_add(struct rcp_server *srv, struct rcp_region *r);

/* rcp_region_remove -- take r out of the server's list (not freed) */
void rcp_region_remove(struct rcp_server *srv, struct rcp_region *r);

/* rcp_region_flush -- msync(MS_SYNC) the pages under [off, off+len) of a shared file region;
 * other regions have nothing to make durable. Returns 0 or -errno. */
int rcp_region_flush(struct rcp_region *r, uint64_t off, uint64_t len);

#endif /* RDMACPY_SERVER_REGION_H */
