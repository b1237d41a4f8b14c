/* SPDX-License-Identifier: BSD-3-Clause */
/* region.h -- named, registered memory the daemon serves: anonymous, huge-page or file-backed */
#ifndef RDMACPY_SERVER_REGION_H
#define RDMACPY_SERVER_REGION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/server.h"

/*
 * Where a region's bytes live, and so what FLUSH has to do.
 *
 * A NIC writes into registered memory by DMA, which the kernel does not see. Page-cache pages
 * of a file on a filesystem with writeback (ext4, xfs, ...) that the NIC writes into are not
 * dirtied by it: once writeback has cleaned such a page, later RDMA writes leave it clean, and
 * msync writes nothing. So a file on such a filesystem is never registered: it is staged. The
 * NIC writes into anonymous memory loaded from the file at startup, and FLUSH copies the asked
 * range into the file with pwrite and fdatasync before it answers (docs/DESIGN.md, Durability).
 */
enum rcp_backing {
	/* anonymous or huge-page memory: nothing outlives the daemon */
	RCP_BACK_ANON,
	/* a file on tmpfs, hugetlbfs or ramfs, mapped MAP_SHARED: these have no writeback, so the
	 * page cache is the file and the NIC's writes are in it */
	RCP_BACK_SHARED,
	/* a file anywhere else: served from anonymous memory, written back by FLUSH and at exit */
	RCP_BACK_STAGED,
};

/* Granularity of the write-back map: what an rw grant may have changed since startup. */
#define RCP_REGION_DIRTY_CHUNK (2ull << 20)

struct rcp_region {
	char name[RCP_NAME_MAX];
	enum rcp_region_kind kind;
	enum rcp_rights rights; /* the most a grant on it may have */
	bool dynamic;		/* made by CREATE: DESTROY may remove it */
	enum rcp_backing backing;
	bool writeback;	     /* STAGED and the file is writable: FLUSH and exit write to it */
	char fstype[16];     /* file regions: the filesystem, for logs */
	char path[PATH_MAX]; /* file regions: the file */
	/* which incarnation of the region this is (OPEN_REPLY carries it): random for memory
	 * regions, so a restart that recreates one is told from the one a client had; a file
	 * region's is kept with the file (region_file.c) */
	uint64_t instance;
	uint8_t *addr;
	uint64_t size;	   /* bytes served */
	uint64_t map_size; /* bytes mapped (size rounded up to the page or huge page) */
	int fd;		   /* file regions, else -1 */
	struct ibv_mr *mr[RCP_MAX_DEVS]; /* registered on every device served, by rcp_dev.index */
	uint8_t *dirty;	  /* STAGED with writeback: one bit per RCP_REGION_DIRTY_CHUNK granted rw */
	uint32_t ngrants; /* grants of all sessions on this region */
	uint32_t ncopies; /* third-party copies reading it */
	uint32_t njobs;	  /* long requests (FLUSH, CHECKSUM, ...) using it */
	/* removed by a reload: out of the list, no new grants or requests; freed once the
	 * grants, copies and requests above are gone (reload.c) */
	bool retiring;
	LIST_ENTRY(rcp_region) retire_link;
};

/* rcp_region_new -- map (or stage) and register a region as spec says. Errors are logged with
 * the cause (e.g. no huge pages). May take time that grows with the size: not for the loop.
 * Returns 0 or -errno. */
int rcp_region_new(struct rcp_server *srv, const struct rcp_region_spec *spec, bool dynamic,
		   struct rcp_region **rp);

/* rcp_region_delete -- write a file region back, deregister, unmap; NULL fine; clears *rp.
 * Windows bound to it must be gone (dereg fails otherwise, and the region is then leaked,
 * logged). Takes time that grows with the size. */
void rcp_region_delete(struct rcp_server *srv, struct rcp_region **rp);

/* rcp_region_unused -- a grant, copy or request of r ended: a retiring region nobody uses any
 * more goes now (its memory on a worker) */
void rcp_region_unused(struct rcp_server *srv, struct rcp_region *r);

/* rcp_region_name_taken -- name is a region's, or a retiring region's, or being created */
bool rcp_region_name_taken(struct rcp_server *srv, const char *name);

/* rcp_region_find -- region by name, or NULL */
struct rcp_region *rcp_region_find(struct rcp_server *srv, const char *name);

/* rcp_region_add -- append to the server's list; -ENOMEM */
int rcp_region_add(struct rcp_server *srv, struct rcp_region *r);

/* rcp_region_remove -- take r out of the server's list (not freed) */
void rcp_region_remove(struct rcp_server *srv, struct rcp_region *r);

/* rcp_region_busy -- whether grants, copies or long requests still use r */
static inline bool rcp_region_busy(const struct rcp_region *r)
{
	return r->ngrants || r->ncopies || r->njobs;
}

/* ---- file backing (region_file.c) ---- */

/* rcp_region_map_file -- open the spec's file (creating or extending it to the asked size) and
 * either map it MAP_SHARED (no-writeback filesystems) or stage it in anonymous memory. Sets
 * fd, size, map_size, addr, backing, writeback, fstype. Errors are logged. 0 or -errno. */
int rcp_region_map_file(struct rcp_server *srv, const struct rcp_region_spec *spec,
			struct rcp_region *r);

/* rcp_region_mark_dirty -- an rw grant covers [off, off+len): exit must write it back */
void rcp_region_mark_dirty(struct rcp_region *r, uint64_t off, uint64_t len);

/*
 * rcp_region_flush -- make [off, off+len) durable: write a staged range to its file and
 * fdatasync it, or msync a shared mapping; nothing for other regions. Safe on a worker while
 * the loop runs (it reads only the region's memory and descriptor). Stops early, with
 * -ECANCELED, when *cancel becomes true (cancel may be NULL). *written (may be NULL) gets the
 * bytes written to the file. Returns 0 or -errno.
 */
int rcp_region_flush(struct rcp_region *r, uint64_t off, uint64_t len, atomic_bool *cancel,
		     uint64_t *written);

/* rcp_region_write_back -- at exit: write every chunk an rw grant covered, then fdatasync.
 * Errors are logged. Returns 0 or -errno. */
int rcp_region_write_back(struct rcp_server *srv, struct rcp_region *r);

/* rcp_backing_str -- "anonymous", "shared mapping", "staged" */
const char *rcp_backing_str(enum rcp_backing b);

#endif /* RDMACPY_SERVER_REGION_H */
