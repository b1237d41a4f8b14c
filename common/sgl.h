/* SPDX-License-Identifier: BSD-3-Clause */
/* sgl.h -- scatter/gather planner: local segments x remote ranges -> RDMA work requests */
#ifndef RDMACPY_COMMON_SGL_H
#define RDMACPY_COMMON_SGL_H

#include <stddef.h>
#include <stdint.h>

/*
 * The planner turns one transfer (a list of local segments, each with its lkey, and a list of
 * remote ranges under one rkey) into RDMA READ/WRITE work requests that respect the device's
 * limits. It is pure: no verbs calls, no I/O, no allocation.
 *
 * The plan is produced by a cursor, one WR per rcp_sgl_next() call, so a transfer of any size
 * costs a fixed amount of memory. The cursor borrows the caller's two arrays: they must stay
 * alive and unchanged until the cursor (and any stripe made from it) is no longer used.
 *
 * Rules of the plan:
 * - Adjacent local segments that are contiguous in memory and share an lkey are merged, so
 *   they cost one SGE; adjacent remote ranges that are contiguous are merged as well.
 * - Zero-length entries (on either side) are skipped: they are legal and take no SGE. They do
 *   not stop a merge of the entries around them.
 * - A WR targets one contiguous (merged) remote range: it never crosses a remote boundary,
 *   because an RDMA WR carries a single remote address.
 * - A WR carries at most max_sge SGEs and at most max_wr_bytes bytes (further capped by
 *   chunk_bytes when set). Within those limits WRs are as long as possible: a WR ends short
 *   only at the end of a remote range, when its SGE list is full, or at the end of the plan.
 * - Bytes go in order: concatenating the SGEs of all WRs gives the local byte stream, and the
 *   WRs' remote spans, in order, cover the remote ranges exactly.
 */

/* Compile-time ceiling of SGEs per WR; the runtime max_sge is clamped to it (rxe: 32). */
#define RCP_SGL_MAX_SGE 32

/* Largest number of entries accepted on each side (local segments, remote ranges). */
#define RCP_SGL_MAX_SEGS 65536

enum rcp_sgl_op {
	RCP_SGL_READ,  /* remote -> local: RDMA READ; use the device's max_sge_rd */
	RCP_SGL_WRITE, /* local -> remote: RDMA WRITE; use the device's max_sge */
};

/* One local segment: registered memory [addr, addr + length) under lkey. */
struct rcp_sgl_local {
	uint64_t addr;
	uint64_t length;
	uint32_t lkey;
};

/* One remote range [addr, addr + length) of the grant the plan targets. */
struct rcp_sgl_remote {
	uint64_t addr;
	uint64_t length;
};

/*
 * One scatter/gather element. Same field order, types and size as struct ibv_sge, so the
 * verbs layer can point a send WR's sg_list at rcp_sgl_wr.sge without copying (it asserts the
 * layout where it includes both headers).
 */
struct rcp_sgl_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

/* One planned work request. */
struct rcp_sgl_wr {
	uint64_t remote_addr; /* where the WR's bytes start in the remote range */
	uint32_t rkey;	      /* the plan's rkey, repeated for the caller's convenience */
	uint32_t length;      /* sum of sge[].length; never 0 */
	enum rcp_sgl_op op;   /* the plan's operation */
	uint32_t num_sge;     /* 1 .. max_sge */
	struct rcp_sgl_sge sge[RCP_SGL_MAX_SGE];
};

/* Device and tuning limits of a plan. */
struct rcp_sgl_limits {
	uint32_t max_sge;      /* SGEs per WR: max_sge_rd for READ, max_sge for WRITE; not 0 */
	uint32_t max_wr_bytes; /* bytes per WR: the port's max_msg_sz; not 0 */
	uint32_t chunk_bytes;  /* 0, or a smaller per-WR size so a big transfer pipelines */
};

/*
 * The plan's iteration state. Fields are private to sgl.c, except that `left` (bytes this
 * cursor has not yet planned) and `pos` (where in the transfer's byte stream its next WR
 * starts) may be read.
 */
struct rcp_sgl_cursor {
	const struct rcp_sgl_local *local;
	const struct rcp_sgl_remote *remote;
	uint64_t total; /* bytes in the whole transfer */
	uint64_t left;	/* bytes this cursor still has to plan */
	uint64_t pos;	/* offset of the next planned byte in the transfer's stream */
	uint64_t l_addr;
	uint64_t l_left; /* bytes left in the current merged local segment */
	uint64_t r_addr;
	uint64_t r_left; /* bytes left in the current merged remote range */
	uint32_t n_local;
	uint32_t n_remote;
	uint32_t li; /* next local entry not yet merged into the current segment */
	uint32_t ri; /* next remote entry not yet merged into the current range */
	uint32_t l_lkey;
	uint32_t rkey;
	uint32_t max_sge;
	uint32_t wr_bytes; /* effective bytes per WR: min(max_wr_bytes, chunk_bytes) */
	enum rcp_sgl_op op;
};

/*
 * rcp_sgl_init -- validate a transfer and position a cursor at the start of its plan
 *
 * ASSUMPTIONS
 * - local[0 .. n_local) and remote[0 .. n_remote) outlive the cursor and do not change.
 * - lim->max_sge above RCP_SGL_MAX_SGE is clamped to it (not an error).
 *
 * ERRORS
 * -EINVAL	c, lim NULL; an array NULL with a non-zero count; op neither READ nor WRITE;
 *		lim->max_sge or lim->max_wr_bytes 0; the two sides' totals differ
 * -E2BIG	more than RCP_SGL_MAX_SEGS entries on a side
 * -EOVERFLOW	an entry's addr + length exceeds UINT64_MAX, or a side's total does
 *
 * A transfer of zero bytes (no entries, or only zero-length ones) is valid: its plan is empty.
 */
int rcp_sgl_init(struct rcp_sgl_cursor *c, enum rcp_sgl_op op, const struct rcp_sgl_local *local,
		 size_t n_local, const struct rcp_sgl_remote *remote, size_t n_remote,
		 uint32_t rkey, const struct rcp_sgl_limits *lim);

/*
 * rcp_sgl_next -- produce the next WR of the plan into *out
 *
 * Returns 1 when a WR was written, 0 when the plan is done (and on every later call).
 *
 * ERRORS
 * -EINVAL	c or out NULL; the borrowed arrays changed under the cursor
 */
int rcp_sgl_next(struct rcp_sgl_cursor *c, struct rcp_sgl_wr *out);

/*
 * rcp_sgl_count -- number of WRs the rest of the plan takes, counted from the cursor's
 * position without moving it; runs of whole WRs inside one segment are counted in one step
 *
 * ERRORS
 * -EINVAL	c or nwr NULL; the borrowed arrays changed under the cursor
 */
int rcp_sgl_count(const struct rcp_sgl_cursor *c, uint64_t *nwr);

/*
 * rcp_sgl_stripe -- a cursor over part `part` of `nparts` of plan's transfer, for spreading one
 * transfer over nparts queue pairs
 *
 * The transfer's byte stream is cut into nparts consecutive byte ranges at multiples of the
 * per-WR byte size (min(max_wr_bytes, chunk_bytes)): counted in such units, part sizes differ
 * by one at most, the first parts being the larger, and the last non-empty part may end in a
 * partial unit. Part i is the i-th range, planned by the same
 * rules as the whole (a WR still never crosses a remote boundary). Over all parts every byte
 * is planned exactly once, and part i's WRs come before part i + 1's in stream order. A part
 * may be empty when the transfer has fewer units than parts. Each part is an independent
 * cursor, so the caller may drive the parts from different queue pairs or threads.
 *
 * plan must come from rcp_sgl_init(); its current position is ignored. *out may alias plan.
 *
 * ERRORS
 * -EINVAL	plan or out NULL; nparts 0; part >= nparts; the arrays changed under plan
 */
int rcp_sgl_stripe(const struct rcp_sgl_cursor *plan, unsigned int nparts, unsigned int part,
		   struct rcp_sgl_cursor *out);

/*
 * rcp_sgl_range -- a cursor over bytes [start, start + len) of plan's transfer: the part of a
 * transfer that has to be planned again (work requests a failed queue pair did not finish go
 * out again on another). WRs are cut as in the whole plan, from start on.
 *
 * ERRORS
 * -EINVAL	plan or out NULL; the range is not inside the transfer; the arrays changed
 */
int rcp_sgl_range(const struct rcp_sgl_cursor *plan, uint64_t start, uint64_t len,
		  struct rcp_sgl_cursor *out);

#endif /* RDMACPY_COMMON_SGL_H */
