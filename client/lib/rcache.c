/* SPDX-License-Identifier: BSD-3-Clause */
/* rcache.c -- the registration cache for buffers the application did not register */
#include <errno.h>
#include <stdlib.h>

#include "client/lib/rcache.h"

#include "common/verbs.h"

/*
 * Why the cache is safe.
 *
 * A registration pins the physical pages behind a virtual range at the time it is made. If the
 * application frees that memory and the allocator unmaps it (glibc does for large blocks), a
 * later allocation may get the same virtual address backed by NEW pages, while a cached
 * registration for that address still points at the OLD ones: a transfer through it would
 * silently read or write memory the application no longer sees. Nothing in user space tells us
 * reliably that this happened (without on-demand paging or hooking munmap).
 *
 * So the default mode, RDMACPY_CACHE_PER_OP, only ever shares a registration between
 * operations that are in flight at the same time: an entry lives while at least one operation
 * holds it and is deregistered when the last one finishes. While an operation is in flight the
 * API forbids freeing its buffers, so every holder sees the same pages. Pipelined operations
 * on the same buffer still register once.
 *
 * RDMACPY_CACHE_KEEP keeps idle entries (bounded by max_bytes of pinned memory, least
 * recently used evicted first) and so only works under a contract: the application calls
 * rdmacpy_mem_forget() before it frees, unmaps or remaps memory it gave to a transfer. This
 * is the same contract MPI libraries ask for with their "leave pinned" option.
 *
 * Lookups accept an entry that covers the requested range with at least the access wanted.
 */

/* lru_unlink -- take e out of the LRU list */
static void lru_unlink(struct rcp_rcache *c, struct rcp_rcache_ent *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = NULL;
	e->next = NULL;
}

/* lru_push_front -- make e the most recently used */
static void lru_push_front(struct rcp_rcache *c, struct rcp_rcache_ent *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

/* ent_destroy -- deregister and free an entry that is out of the list */
static void ent_destroy(struct rcp_rcache *c, struct rcp_rcache_ent *e)
{
	c->pinned -= e->len;
	c->n--;
	rcp_vb_dereg_mr(&e->mr);
	free(e);
}

/* evict -- drop idle entries, least recently used first, until pinned bytes fit */
static void evict(struct rcp_rcache *c)
{
	struct rcp_rcache_ent *e = c->tail;

	while (e && c->pinned > c->max_bytes) {
		struct rcp_rcache_ent *prev = e->prev;

		if (!e->refs) {
			lru_unlink(c, e);
			ent_destroy(c, e);
			c->evictions++;
		}
		e = prev;
	}
}

/* rcp_rcache_init -- an empty cache registering on pd */
void rcp_rcache_init(struct rcp_rcache *c, struct ibv_pd *pd, enum rdmacpy_cache_mode mode,
		     size_t max_bytes)
{
	*c = (struct rcp_rcache){.pd = pd, .mode = mode, .max_bytes = max_bytes};
}

/* rcp_rcache_get -- a registration covering [addr, addr + len) with at least access */
int rcp_rcache_get(struct rcp_rcache *c, uint64_t addr, uint64_t len, int access,
		   struct rcp_rcache_ent **out)
{
	struct rcp_rcache_ent *e;
	int ret;

	if (!c || !out || !len || addr + len < addr)
		return -EINVAL;
	for (e = c->head; e; e = e->next) {
		if (e->stale || addr < e->addr || addr + len > e->addr + e->len ||
		    (e->access & access) != access)
			continue;
		e->refs++;
		lru_unlink(c, e);
		lru_push_front(c, e);
		c->hits++;
		*out = e;
		return 0;
	}
	c->misses++;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ret = rcp_vb_reg_mr(c->pd, (void *)(uintptr_t)addr, len, access, &e->mr);
	if (ret) {
		free(e);
		return ret;
	}
	e->addr = addr;
	e->len = len;
	e->access = access;
	e->refs = 1;
	c->pinned += len;
	c->n++;
	lru_push_front(c, e);
	/* make room for the new entry among the idle ones now, not at the next release */
	if (c->mode == RDMACPY_CACHE_KEEP)
		evict(c);
	*out = e;
	return 0;
}

/* rcp_rcache_put -- release a registration taken with rcp_rcache_get; clears *e */
void rcp_rcache_put(struct rcp_rcache *c, struct rcp_rcache_ent **ep)
{
	struct rcp_rcache_ent *e;

	if (!c || !ep || !*ep)
		return;
	e = *ep;
	*ep = NULL;
	if (e->refs)
		e->refs--;
	if (e->refs)
		return;
	if (c->mode == RDMACPY_CACHE_PER_OP || e->stale) {
		lru_unlink(c, e);
		ent_destroy(c, e);
		return;
	}
	evict(c);
}

/* rcp_rcache_forget -- drop entries overlapping [addr, addr + len) (in-use ones on release) */
void rcp_rcache_forget(struct rcp_rcache *c, uint64_t addr, uint64_t len)
{
	struct rcp_rcache_ent *e;

	if (!c)
		return;
	e = c->head;
	while (e) {
		struct rcp_rcache_ent *next = e->next;

		if (addr < e->addr + e->len && e->addr < addr + len) {
			if (e->refs) {
				e->stale = true;
			} else {
				lru_unlink(c, e);
				ent_destroy(c, e);
			}
		}
		e = next;
	}
}

/* rcp_rcache_fini -- deregister everything idle; returns how many entries are still held */
unsigned int rcp_rcache_fini(struct rcp_rcache *c)
{
	struct rcp_rcache_ent *e;

	if (!c)
		return 0;
	e = c->head;
	while (e) {
		struct rcp_rcache_ent *next = e->next;

		if (!e->refs) {
			lru_unlink(c, e);
			ent_destroy(c, e);
		}
		e = next;
	}
	return c->n;
}
