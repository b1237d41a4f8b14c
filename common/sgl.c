/* SPDX-License-Identifier: BSD-3-Clause */
/* sgl.c -- scatter/gather planner: local segments x remote ranges -> RDMA work requests */
#include <errno.h>
#include <string.h>

#include "common/sgl.h"

/* min_u64 -- the smaller of two sizes */
static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* check_locals -- validate local entries and sum their lengths into *total */
static int check_locals(const struct rcp_sgl_local *seg, size_t n, uint64_t *total)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (seg[i].length > UINT64_MAX - seg[i].addr)
			return -EOVERFLOW;
		if (seg[i].length > UINT64_MAX - sum)
			return -EOVERFLOW;
		sum += seg[i].length;
	}
	*total = sum;
	return 0;
}

/* check_remotes -- validate remote entries and sum their lengths into *total */
static int check_remotes(const struct rcp_sgl_remote *rng, size_t n, uint64_t *total)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (rng[i].length > UINT64_MAX - rng[i].addr)
			return -EOVERFLOW;
		if (rng[i].length > UINT64_MAX - sum)
			return -EOVERFLOW;
		sum += rng[i].length;
	}
	*total = sum;
	return 0;
}

/*
 * load_local -- make the next non-empty local entry, merged with the contiguous same-lkey
 * entries after it, the current local segment
 *
 * Merging here rather than in a pre-pass keeps the cursor allocation-free; each entry is looked
 * at once over the whole plan. Validation in rcp_sgl_init() guarantees the merged end fits in
 * 64 bits, and that data remains whenever the cursor still has bytes to plan.
 */
static int load_local(struct rcp_sgl_cursor *c)
{
	const struct rcp_sgl_local *s;

	while (c->li < c->n_local && c->local[c->li].length == 0)
		c->li++;
	if (c->li == c->n_local)
		return -EINVAL;
	s = &c->local[c->li++];
	c->l_addr = s->addr;
	c->l_left = s->length;
	c->l_lkey = s->lkey;
	while (c->li < c->n_local) {
		s = &c->local[c->li];
		if (s->length != 0 && (s->addr != c->l_addr + c->l_left || s->lkey != c->l_lkey))
			break;
		c->l_left += s->length;
		c->li++;
	}
	return 0;
}

/* load_remote -- make the next non-empty remote entry, merged with its contiguous successors,
 * the current remote range (same reasoning as load_local) */
static int load_remote(struct rcp_sgl_cursor *c)
{
	const struct rcp_sgl_remote *r;

	while (c->ri < c->n_remote && c->remote[c->ri].length == 0)
		c->ri++;
	if (c->ri == c->n_remote)
		return -EINVAL;
	r = &c->remote[c->ri++];
	c->r_addr = r->addr;
	c->r_left = r->length;
	while (c->ri < c->n_remote) {
		r = &c->remote[c->ri];
		if (r->length != 0 && r->addr != c->r_addr + c->r_left)
			break;
		c->r_left += r->length;
		c->ri++;
	}
	return 0;
}

/* rewind_cursor -- put a cursor back at byte 0 of its transfer */
static void rewind_cursor(struct rcp_sgl_cursor *c)
{
	c->li = 0;
	c->ri = 0;
	c->l_addr = 0;
	c->l_left = 0;
	c->r_addr = 0;
	c->r_left = 0;
	c->left = c->total;
	c->pos = 0;
}

/* skip -- advance both sides of a cursor by off bytes without planning them */
static int skip(struct rcp_sgl_cursor *c, uint64_t off)
{
	uint64_t todo;
	uint64_t take;

	for (todo = off; todo > 0; todo -= take) {
		if (c->l_left == 0 && load_local(c) < 0)
			return -EINVAL;
		take = min_u64(todo, c->l_left);
		c->l_addr += take;
		c->l_left -= take;
	}
	for (todo = off; todo > 0; todo -= take) {
		if (c->r_left == 0 && load_remote(c) < 0)
			return -EINVAL;
		take = min_u64(todo, c->r_left);
		c->r_addr += take;
		c->r_left -= take;
	}
	c->left -= off;
	c->pos += off;
	return 0;
}

/* rcp_sgl_init -- validate a transfer and position a cursor at the start of its plan */
int rcp_sgl_init(struct rcp_sgl_cursor *c, enum rcp_sgl_op op, const struct rcp_sgl_local *local,
		 size_t n_local, const struct rcp_sgl_remote *remote, size_t n_remote,
		 uint32_t rkey, const struct rcp_sgl_limits *lim)
{
	uint64_t l_total;
	uint64_t r_total;
	int ret;

	if (!c || !lim)
		return -EINVAL;
	if (op != RCP_SGL_READ && op != RCP_SGL_WRITE)
		return -EINVAL;
	if ((n_local && !local) || (n_remote && !remote))
		return -EINVAL;
	if (lim->max_sge == 0 || lim->max_wr_bytes == 0)
		return -EINVAL;
	if (n_local > RCP_SGL_MAX_SEGS || n_remote > RCP_SGL_MAX_SEGS)
		return -E2BIG;
	ret = check_locals(local, n_local, &l_total);
	if (ret)
		return ret;
	ret = check_remotes(remote, n_remote, &r_total);
	if (ret)
		return ret;
	if (l_total != r_total)
		return -EINVAL;

	memset(c, 0, sizeof(*c));
	c->local = local;
	c->remote = remote;
	c->n_local = (uint32_t)n_local;
	c->n_remote = (uint32_t)n_remote;
	c->total = l_total;
	c->rkey = rkey;
	c->op = op;
	c->max_sge = lim->max_sge < RCP_SGL_MAX_SGE ? lim->max_sge : RCP_SGL_MAX_SGE;
	c->wr_bytes = lim->max_wr_bytes;
	if (lim->chunk_bytes && lim->chunk_bytes < c->wr_bytes)
		c->wr_bytes = lim->chunk_bytes;
	rewind_cursor(c);
	return 0;
}

/* rcp_sgl_next -- produce the next WR of the plan into *out */
int rcp_sgl_next(struct rcp_sgl_cursor *c, struct rcp_sgl_wr *out)
{
	struct rcp_sgl_sge *sge;
	uint64_t limit;
	uint64_t take;
	uint32_t len = 0;
	uint32_t n = 0;

	if (!c || !out)
		return -EINVAL;
	if (c->left == 0)
		return 0;
	if (c->r_left == 0 && load_remote(c) < 0)
		return -EINVAL;

	/* One remote address per WR: the WR stops at the end of the current remote range. */
	limit = min_u64(min_u64(c->wr_bytes, c->r_left), c->left);
	sge = out->sge;
	do {
		if (c->l_left == 0 && load_local(c) < 0)
			return -EINVAL;
		take = min_u64(c->l_left, limit - len);
		sge[n].addr = c->l_addr;
		sge[n].length = (uint32_t)take;
		sge[n].lkey = c->l_lkey;
		n++;
		c->l_addr += take;
		c->l_left -= take;
		len += (uint32_t)take;
	} while (len < limit && n < c->max_sge);

	out->remote_addr = c->r_addr;
	out->rkey = c->rkey;
	out->length = len;
	out->op = c->op;
	out->num_sge = n;
	c->r_addr += len;
	c->r_left -= len;
	c->left -= len;
	c->pos += len;
	return 1;
}

/* rcp_sgl_count -- number of WRs the rest of the plan takes, without moving the cursor */
int rcp_sgl_count(const struct rcp_sgl_cursor *c, uint64_t *nwr)
{
	struct rcp_sgl_cursor t;
	struct rcp_sgl_wr scratch;
	uint64_t span;
	uint64_t whole;
	uint64_t n = 0;
	int ret;

	if (!c || !nwr)
		return -EINVAL;
	t = *c;
	while (t.left > 0) {
		if (t.l_left == 0 && load_local(&t) < 0)
			return -EINVAL;
		if (t.r_left == 0 && load_remote(&t) < 0)
			return -EINVAL;
		/*
		 * While both current segments hold whole WRs, each WR is exactly wr_bytes in one
		 * SGE, as rcp_sgl_next() would make it: count them without walking them, so that
		 * counting a huge single-buffer transfer stays cheap.
		 */
		span = min_u64(min_u64(t.l_left, t.r_left), t.left);
		if (span >= t.wr_bytes) {
			whole = span / t.wr_bytes;
			span = whole * t.wr_bytes;
			t.l_addr += span;
			t.l_left -= span;
			t.r_addr += span;
			t.r_left -= span;
			t.left -= span;
			n += whole;
			continue;
		}
		ret = rcp_sgl_next(&t, &scratch);
		if (ret < 0)
			return ret;
		n++;
	}
	*nwr = n;
	return 0;
}

/* rcp_sgl_stripe -- a cursor over part `part` of `nparts` of plan's transfer */
int rcp_sgl_stripe(const struct rcp_sgl_cursor *plan, unsigned int nparts, unsigned int part,
		   struct rcp_sgl_cursor *out)
{
	struct rcp_sgl_cursor t;
	uint64_t units;
	uint64_t base;
	uint64_t extra;
	uint64_t first;
	uint64_t count;
	uint64_t start;
	uint64_t end;
	int ret;

	if (!plan || !out || nparts == 0 || part >= nparts)
		return -EINVAL;
	t = *plan;
	rewind_cursor(&t);

	/*
	 * Cut in whole WR units so each part's WRs are full-sized like the unstriped plan's.
	 * units * unit may exceed 64 bits (the last unit is partial), so byte offsets are only
	 * formed for unit indexes below units, where they are below total.
	 */
	units = t.total / t.wr_bytes + (t.total % t.wr_bytes != 0);
	base = units / nparts;
	extra = units % nparts;
	first = (uint64_t)part * base + min_u64(part, extra);
	count = base + (part < extra);
	start = first < units ? first * t.wr_bytes : t.total;
	end = first + count < units ? (first + count) * t.wr_bytes : t.total;

	ret = skip(&t, start);
	if (ret)
		return ret;
	t.left = end - start;
	*out = t;
	return 0;
}

/* rcp_sgl_range -- a cursor over bytes [start, start + len) of plan's transfer */
int rcp_sgl_range(const struct rcp_sgl_cursor *plan, uint64_t start, uint64_t len,
		  struct rcp_sgl_cursor *out)
{
	struct rcp_sgl_cursor t;
	int ret;

	if (!plan || !out || start > plan->total || len > plan->total - start)
		return -EINVAL;
	t = *plan;
	rewind_cursor(&t);
	ret = skip(&t, start);
	if (ret)
		return ret;
	t.left = len;
	*out = t;
	return 0;
}
