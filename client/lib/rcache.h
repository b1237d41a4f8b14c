/* SPDX-License-Identifier: BSD-3-Clause */
/* rcache.h -- the registration cache for buffers the application did not register */
#ifndef RDMACPY_CLIENT_RCACHE_H
#define RDMACPY_CLIENT_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "client/include/rdmacpy.h"

struct rcp_rcache_ent {
	uint64_t addr;
	uint64_t len;
	int access;
	unsigned int refs;
	bool stale; /* forgotten while in use: deregistered when the last user lets go */
	struct ibv_mr *mr;
	struct rcp_rcache_ent *prev; /* LRU list, most recently used first */
	struct rcp_rcache_ent *next;
};

struct rcp_rcache {
	struct ibv_pd *pd;
	enum rdmacpy_cache_mode mode;
	size_t max_bytes;
	size_t pinned; /* bytes under all entries */
	struct rcp_rcache_ent *head;
	struct rcp_rcache_ent *tail;
	unsigned int n;
	uint64_t hits;
	uint64_t misses;
	uint64_t evictions;
};

/* rcp_rcache_init -- an empty cache registering on pd */
void rcp_rcache_init(struct rcp_rcache *c, struct ibv_pd *pd, enum rdmacpy_cache_mode mode,
		     size_t max_bytes);

/* rcp_rcache_get -- a registration covering [addr, addr + len) with at least access; held
 * until rcp_rcache_put. -errno of the registration on failure */
int rcp_rcache_get(struct rcp_rcache *c, uint64_t addr, uint64_t len, int access,
		   struct rcp_rcache_ent **out);

/* rcp_rcache_put -- release a registration taken with rcp_rcache_get; clears *e */
void rcp_rcache_put(struct rcp_rcache *c, struct rcp_rcache_ent **e);

/* rcp_rcache_forget -- drop entries overlapping [addr, addr + len) (in-use ones on release) */
void rcp_rcache_forget(struct rcp_rcache *c, uint64_t addr, uint64_t len);

/* rcp_rcache_fini -- deregister everything idle; returns how many entries are still held */
unsigned int rcp_rcache_fini(struct rcp_rcache *c);

#endif /* RDMACPY_CLIENT_RCACHE_H */
