/* SPDX-License-Identifier: BSD-3-Clause */
/* test_sgl.c -- unit tests of the scatter/gather planner (common/sgl.c) */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/sgl.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

static const struct rcp_sgl_limits rxe_limits = {
	.max_sge = 32,
	.max_wr_bytes = 1u << 31,
	.chunk_bytes = 0,
};

/* init_ok -- rcp_sgl_init that must succeed */
static void init_ok(struct rcp_sgl_cursor *c, const struct rcp_sgl_local *l, size_t nl,
		    const struct rcp_sgl_remote *r, size_t nr, const struct rcp_sgl_limits *lim)
{
	int ret = rcp_sgl_init(c, RCP_SGL_WRITE, l, nl, r, nr, 0x1234, lim);

	cr_assert_eq(ret, 0, "rcp_sgl_init: %d", ret);
}

/* next_ok -- rcp_sgl_next that must produce a WR */
static void next_ok(struct rcp_sgl_cursor *c, struct rcp_sgl_wr *wr)
{
	int ret = rcp_sgl_next(c, wr);

	cr_assert_eq(ret, 1, "rcp_sgl_next: %d", ret);
}

/* count_wrs -- WRs left in a plan, asserted to agree between rcp_sgl_count and iteration */
static uint64_t count_wrs(struct rcp_sgl_cursor *c)
{
	struct rcp_sgl_wr wr;
	uint64_t counted;
	uint64_t n = 0;
	int ret;

	cr_assert_eq(rcp_sgl_count(c, &counted), 0);
	while ((ret = rcp_sgl_next(c, &wr)) == 1)
		n++;
	cr_assert_eq(ret, 0);
	cr_assert_eq(n, counted, "iterated %llu WRs, counted %llu", (unsigned long long)n,
		     (unsigned long long)counted);
	return n;
}

/*
 * The checker: walks the inputs in step with the plan's WRs and asserts every property the
 * header promises. It is streaming, so plans of any size can be checked.
 */
struct walker {
	const struct rcp_sgl_local *l;
	const struct rcp_sgl_remote *r;
	size_t nl;
	size_t nr;
	size_t li;
	size_t ri;
	uint64_t loff;
	uint64_t roff;
	uint32_t max_sge; /* clamped */
	uint32_t wr_bytes;
	uint64_t bytes;
	uint64_t wrs;
};

/* walker_init -- a checker at the start of a transfer */
static void walker_init(struct walker *w, const struct rcp_sgl_local *l, size_t nl,
			const struct rcp_sgl_remote *r, size_t nr, const struct rcp_sgl_limits *lim)
{
	memset(w, 0, sizeof(*w));
	w->l = l;
	w->r = r;
	w->nl = nl;
	w->nr = nr;
	w->max_sge = lim->max_sge < RCP_SGL_MAX_SGE ? lim->max_sge : RCP_SGL_MAX_SGE;
	w->wr_bytes = lim->max_wr_bytes;
	if (lim->chunk_bytes && lim->chunk_bytes < w->wr_bytes)
		w->wr_bytes = lim->chunk_bytes;
}

/* skip_empty -- move both walkers past zero-length entries */
static void skip_empty(struct walker *w)
{
	while (w->li < w->nl && w->l[w->li].length == 0)
		w->li++;
	while (w->ri < w->nr && w->r[w->ri].length == 0)
		w->ri++;
}

/* eat_local -- the SGE must be the next len bytes of the local stream, in one lkey */
static void eat_local(struct walker *w, const struct rcp_sgl_sge *sge)
{
	uint64_t pos = 0;

	while (pos < sge->length) {
		const struct rcp_sgl_local *e;
		uint64_t take;

		skip_empty(w);
		cr_assert_lt(w->li, w->nl, "SGE runs past the local segments");
		e = &w->l[w->li];
		cr_assert_eq(e->addr + w->loff, sge->addr + pos, "SGE does not follow the stream");
		cr_assert_eq(e->lkey, sge->lkey, "SGE spans two lkeys");
		take = e->length - w->loff;
		if (take > sge->length - pos)
			take = sge->length - pos;
		w->loff += take;
		pos += take;
		if (w->loff == e->length) {
			w->li++;
			w->loff = 0;
		}
	}
}

/* eat_remote -- the WR must cover the next len bytes of the remote ranges, contiguously */
static void eat_remote(struct walker *w, uint64_t addr, uint64_t len)
{
	uint64_t pos = 0;

	while (pos < len) {
		const struct rcp_sgl_remote *e;
		uint64_t take;

		skip_empty(w);
		cr_assert_lt(w->ri, w->nr, "WR runs past the remote ranges");
		e = &w->r[w->ri];
		cr_assert_eq(e->addr + w->roff, addr + pos, "WR crosses a remote boundary");
		take = e->length - w->roff;
		if (take > len - pos)
			take = len - pos;
		w->roff += take;
		pos += take;
		if (w->roff == e->length) {
			w->ri++;
			w->roff = 0;
		}
	}
}

/* at_remote_boundary -- whether the remote walker sits where a merged range ends */
static bool at_remote_boundary(struct walker *w, uint64_t end)
{
	if (w->roff != 0)
		return false;
	skip_empty(w);
	return w->ri == w->nr || w->r[w->ri].addr != end;
}

/* check_wr -- one WR against every promise of the header; end: where its cursor stops */
static void check_wr(struct walker *w, const struct rcp_sgl_wr *wr, uint64_t end)
{
	uint64_t sum = 0;
	uint32_t k;

	cr_assert_geq(wr->num_sge, 1);
	cr_assert_leq(wr->num_sge, w->max_sge);
	cr_assert_gt(wr->length, 0);
	cr_assert_leq(wr->length, w->wr_bytes);
	for (k = 0; k < wr->num_sge; k++) {
		cr_assert_gt(wr->sge[k].length, 0, "empty SGE");
		sum += wr->sge[k].length;
		if (k + 1 < wr->num_sge)
			cr_assert(wr->sge[k].addr + wr->sge[k].length != wr->sge[k + 1].addr ||
					  wr->sge[k].lkey != wr->sge[k + 1].lkey,
				  "two mergeable SGEs in one WR");
		eat_local(w, &wr->sge[k]);
	}
	cr_assert_eq(sum, wr->length, "WR length is not the sum of its SGEs");
	eat_remote(w, wr->remote_addr, wr->length);
	w->bytes += wr->length;
	w->wrs++;
	/* A WR is short only at a remote boundary, with a full SGE list, or at the end. */
	if (wr->length < w->wr_bytes && wr->num_sge < w->max_sge && w->bytes < end)
		cr_assert(at_remote_boundary(w, wr->remote_addr + wr->length),
			  "WR split for no reason");
}

/* check_done -- both sides consumed exactly */
static void check_done(struct walker *w, uint64_t total)
{
	skip_empty(w);
	cr_assert_eq(w->bytes, total);
	cr_assert_eq(w->li, w->nl, "local bytes left unplanned");
	cr_assert_eq(w->ri, w->nr, "remote bytes left unplanned");
	cr_assert_eq(w->loff, 0);
	cr_assert_eq(w->roff, 0);
}

/* check_cursor -- run a cursor to its end through the checker; returns its WR count */
static uint64_t check_cursor(struct walker *w, struct rcp_sgl_cursor *c, uint64_t total)
{
	struct rcp_sgl_wr wr;
	uint64_t counted;
	uint64_t before = w->wrs;
	uint64_t end = w->bytes + c->left; /* a stripe ends before the transfer does */
	int ret;

	cr_assert_leq(end, total);
	cr_assert_eq(rcp_sgl_count(c, &counted), 0);
	while ((ret = rcp_sgl_next(c, &wr)) == 1)
		check_wr(w, &wr, end);
	cr_assert_eq(w->bytes, end, "cursor planned other than its bytes");
	cr_assert_eq(ret, 0, "rcp_sgl_next: %d", ret);
	cr_assert_eq(w->wrs - before, counted, "rcp_sgl_count disagrees with the plan");
	return counted;
}

/* xorshift64s -- small deterministic generator so failures reproduce */
static uint64_t xorshift64s(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* rnd -- uniform-ish value in [0, n) */
static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return xorshift64s(s) % n;
}

#define RND_MAX_SEGS 150

struct rnd_case {
	struct rcp_sgl_local l[RND_MAX_SEGS];
	struct rcp_sgl_remote r[RND_MAX_SEGS * 4];
	size_t nl;
	size_t nr;
	uint64_t total;
	struct rcp_sgl_limits lim;
};

/* rnd_case_make -- random local segments, remote ranges and limits of equal totals */
static void rnd_case_make(struct rnd_case *t, uint64_t *s)
{
	uint64_t left;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->nl = rnd(s, RND_MAX_SEGS + 1);
	for (i = 0; i < t->nl; i++) {
		struct rcp_sgl_local *e = &t->l[i];
		uint64_t kind = rnd(s, 10);

		e->length = kind == 0 ? 0 : kind < 8 ? 1 + rnd(s, 5000) : 1 + rnd(s, 300000);
		if (i > 0 && rnd(s, 2)) {
			/* contiguous with the previous entry: a merge, or not when lkeys differ */
			e->addr = t->l[i - 1].addr + t->l[i - 1].length;
			e->lkey = rnd(s, 4) ? t->l[i - 1].lkey : t->l[i - 1].lkey + 1;
		} else {
			e->addr = rnd(s, 1ULL << 40);
			e->lkey = (uint32_t)rnd(s, 3);
		}
		t->total += e->length;
	}
	left = t->total;
	while (left > 0 || rnd(s, 4) == 0) {
		struct rcp_sgl_remote *e = &t->r[t->nr];
		uint64_t cap = rnd(s, 3) ? 20000 : 400000;

		if (t->nr + 1 == sizeof(t->r) / sizeof(t->r[0]))
			e->length = left;
		else
			e->length = rnd(s, 8) == 0 ? 0 : 1 + rnd(s, cap);
		if (e->length > left)
			e->length = left;
		if (t->nr > 0 && rnd(s, 2))
			e->addr = t->r[t->nr - 1].addr + t->r[t->nr - 1].length;
		else
			e->addr = rnd(s, 1ULL << 40);
		left -= e->length;
		t->nr++;
		if (t->nr == sizeof(t->r) / sizeof(t->r[0]))
			break;
	}
	t->lim.max_sge = 1 + (uint32_t)rnd(s, 40);
	switch (rnd(s, 4)) {
	case 0:
		t->lim.max_wr_bytes = 1u << 31;
		break;
	case 1:
		t->lim.max_wr_bytes = 4096;
		break;
	case 2:
		t->lim.max_wr_bytes = 512 + (uint32_t)rnd(s, 100000);
		break;
	default:
		/* tiny WRs only when the plan stays small enough to walk quickly */
		t->lim.max_wr_bytes = t->total < 20000 ? 1 + (uint32_t)rnd(s, 64) : 65536;
		break;
	}
	t->lim.chunk_bytes = rnd(s, 2) ? 0 : 256 + (uint32_t)rnd(s, 300000);
}

Test(sgl_plan, splits_at_max_sge)
{
	struct rcp_sgl_local l[100];
	struct rcp_sgl_remote r = {.addr = 0x900000, .length = 400};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	uint32_t want[] = {32, 32, 32, 4};
	unsigned int i;

	/* gaps between the 4-byte segments, so none merge */
	for (i = 0; i < 100; i++)
		l[i] = (struct rcp_sgl_local){.addr = 0x1000 + 16 * i, .length = 4, .lkey = 7};
	init_ok(&c, l, 100, &r, 1, &rxe_limits);
	for (i = 0; i < 4; i++) {
		next_ok(&c, &wr);
		cr_assert_eq(wr.num_sge, want[i]);
		cr_assert_eq(wr.length, 4 * want[i]);
		cr_assert_eq(wr.remote_addr, 0x900000 + 128 * i);
		cr_assert_eq(wr.sge[0].addr, 0x1000 + 16 * 32 * i);
	}
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, max_sge_one_gives_one_wr_per_segment)
{
	struct rcp_sgl_limits lim = {.max_sge = 1, .max_wr_bytes = 1u << 31};
	struct rcp_sgl_local l[100];
	struct rcp_sgl_remote r = {.addr = 0x900000, .length = 400};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	unsigned int i;

	for (i = 0; i < 100; i++)
		l[i] = (struct rcp_sgl_local){.addr = 0x1000 + 16 * i, .length = 4, .lkey = 7};
	init_ok(&c, l, 100, &r, 1, &lim);
	for (i = 0; i < 100; i++) {
		next_ok(&c, &wr);
		cr_assert_eq(wr.num_sge, 1);
		cr_assert_eq(wr.length, 4);
		cr_assert_eq(wr.sge[0].addr, 0x1000 + 16 * i);
		cr_assert_eq(wr.remote_addr, 0x900000 + 4 * i);
	}
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, max_sge_above_ceiling_is_clamped)
{
	struct rcp_sgl_limits lim = {.max_sge = 1000, .max_wr_bytes = 1u << 31};
	struct rcp_sgl_local l[40];
	struct rcp_sgl_remote r = {.addr = 0, .length = 40};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	unsigned int i;

	for (i = 0; i < 40; i++)
		l[i] = (struct rcp_sgl_local){.addr = 0x1000 + 2 * i, .length = 1, .lkey = 1};
	init_ok(&c, l, 40, &r, 1, &lim);
	next_ok(&c, &wr);
	cr_assert_eq(wr.num_sge, RCP_SGL_MAX_SGE);
	next_ok(&c, &wr);
	cr_assert_eq(wr.num_sge, 40 - RCP_SGL_MAX_SGE);
}

Test(sgl_plan, merges_contiguous_local_segments)
{
	struct rcp_sgl_local l[10];
	struct rcp_sgl_remote r = {.addr = 0x900000, .length = 10 * 4096};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	unsigned int i;

	for (i = 0; i < 10; i++)
		l[i] = (struct rcp_sgl_local){
			.addr = 0x10000 + 4096 * i, .length = 4096, .lkey = 3};
	init_ok(&c, l, 10, &r, 1, &rxe_limits);
	next_ok(&c, &wr);
	cr_assert_eq(wr.num_sge, 1);
	cr_assert_eq(wr.sge[0].addr, 0x10000);
	cr_assert_eq(wr.sge[0].length, 10 * 4096);
	cr_assert_eq(wr.sge[0].lkey, 3);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, contiguous_segments_with_different_lkeys_stay_apart)
{
	struct rcp_sgl_local l[2] = {
		{.addr = 0x10000, .length = 4096, .lkey = 3},
		{.addr = 0x11000, .length = 4096, .lkey = 4},
	};
	struct rcp_sgl_remote r = {.addr = 0x900000, .length = 8192};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, l, 2, &r, 1, &rxe_limits);
	next_ok(&c, &wr);
	cr_assert_eq(wr.num_sge, 2);
	cr_assert_eq(wr.sge[0].lkey, 3);
	cr_assert_eq(wr.sge[1].lkey, 4);
	cr_assert_eq(wr.sge[1].addr, 0x11000);
}

Test(sgl_plan, merges_contiguous_remote_ranges)
{
	struct rcp_sgl_local l = {.addr = 0x10000, .length = 10 * 4096, .lkey = 3};
	struct rcp_sgl_remote r[10];
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	unsigned int i;

	for (i = 0; i < 10; i++)
		r[i] = (struct rcp_sgl_remote){.addr = 0x900000 + 4096 * i, .length = 4096};
	init_ok(&c, &l, 1, r, 10, &rxe_limits);
	next_ok(&c, &wr);
	cr_assert_eq(wr.remote_addr, 0x900000);
	cr_assert_eq(wr.length, 10 * 4096);
	cr_assert_eq(wr.num_sge, 1);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, chunks_64mib_segment_by_chunk_size)
{
	struct rcp_sgl_limits lim = {.max_sge = 32, .max_wr_bytes = 1u << 31, .chunk_bytes = MIB};
	struct rcp_sgl_local l = {.addr = 0x7f0000000000, .length = 64 * MIB, .lkey = 9};
	struct rcp_sgl_remote r = {.addr = 0x200000000, .length = 64 * MIB};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	uint64_t n;
	unsigned int i;

	init_ok(&c, &l, 1, &r, 1, &lim);
	cr_assert_eq(rcp_sgl_count(&c, &n), 0);
	cr_assert_eq(n, 64);
	for (i = 0; i < 64; i++) {
		next_ok(&c, &wr);
		cr_assert_eq(wr.length, MIB);
		cr_assert_eq(wr.num_sge, 1);
		cr_assert_eq(wr.sge[0].addr, l.addr + (uint64_t)i * MIB);
		cr_assert_eq(wr.remote_addr, r.addr + (uint64_t)i * MIB);
	}
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, max_wr_bytes_caps_when_chunk_is_larger)
{
	struct rcp_sgl_limits lim = {.max_sge = 32, .max_wr_bytes = 4096, .chunk_bytes = MIB};
	struct rcp_sgl_local l = {.addr = 0x10000, .length = 10000, .lkey = 9};
	struct rcp_sgl_remote r = {.addr = 0x20000, .length = 10000};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, &l, 1, &r, 1, &lim);
	next_ok(&c, &wr);
	cr_assert_eq(wr.length, 4096);
	next_ok(&c, &wr);
	cr_assert_eq(wr.length, 4096);
	next_ok(&c, &wr);
	cr_assert_eq(wr.length, 10000 - 8192);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, local_segment_crossing_remote_boundary_is_split)
{
	struct rcp_sgl_local l[2] = {
		{.addr = 0x10000, .length = 6000, .lkey = 1},
		{.addr = 0x50000, .length = 2192, .lkey = 1},
	};
	struct rcp_sgl_remote r[2] = {
		{.addr = 0x900000, .length = 4096},
		{.addr = 0xa00000, .length = 4096},
	};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, l, 2, r, 2, &rxe_limits);
	next_ok(&c, &wr);
	cr_assert_eq(wr.remote_addr, 0x900000);
	cr_assert_eq(wr.length, 4096);
	cr_assert_eq(wr.num_sge, 1);
	cr_assert_eq(wr.sge[0].addr, 0x10000);
	cr_assert_eq(wr.sge[0].length, 4096);
	next_ok(&c, &wr);
	cr_assert_eq(wr.remote_addr, 0xa00000);
	cr_assert_eq(wr.length, 4096);
	cr_assert_eq(wr.num_sge, 2);
	cr_assert_eq(wr.sge[0].addr, 0x10000 + 4096);
	cr_assert_eq(wr.sge[0].length, 6000 - 4096);
	cr_assert_eq(wr.sge[1].addr, 0x50000);
	cr_assert_eq(wr.sge[1].length, 2192);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, many_small_remote_ranges_one_local_buffer)
{
	static struct rcp_sgl_remote r[1000];
	struct rcp_sgl_local l = {.addr = 0x10000000, .length = 1000 * 512, .lkey = 5};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	unsigned int i;

	/* every other 512-byte block: none contiguous */
	for (i = 0; i < 1000; i++)
		r[i] = (struct rcp_sgl_remote){.addr = 0x400000 + 1024 * i, .length = 512};
	init_ok(&c, &l, 1, r, 1000, &rxe_limits);
	for (i = 0; i < 1000; i++) {
		next_ok(&c, &wr);
		cr_assert_eq(wr.remote_addr, r[i].addr);
		cr_assert_eq(wr.length, 512);
		cr_assert_eq(wr.num_sge, 1);
		cr_assert_eq(wr.sge[0].addr, l.addr + 512 * i);
	}
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, zero_total_gives_empty_plan)
{
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	uint64_t n = 99;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_READ, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_count(&c, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, only_zero_length_entries_give_empty_plan)
{
	struct rcp_sgl_local l[3] = {{.addr = 1}, {.addr = 2}, {.addr = 3}};
	struct rcp_sgl_remote r[2] = {{.addr = 9}, {.addr = 10}};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, l, 3, r, 2, &rxe_limits);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0, "a finished plan stays finished");
}

Test(sgl_plan, zero_length_entries_are_skipped_and_do_not_stop_merges)
{
	struct rcp_sgl_local l[5] = {
		{.addr = 0x5000, .length = 0, .lkey = 1},
		{.addr = 0x1000, .length = 100, .lkey = 1},
		{.addr = 0x7777, .length = 0, .lkey = 2},
		{.addr = 0x1064, .length = 100, .lkey = 1},
		{.addr = 0x9999, .length = 0, .lkey = 1},
	};
	struct rcp_sgl_remote r[4] = {
		{.addr = 0x20000, .length = 0},
		{.addr = 0x30000, .length = 50},
		{.addr = 0x1, .length = 0},
		{.addr = 0x30032, .length = 150},
	};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, l, 5, r, 4, &rxe_limits);
	next_ok(&c, &wr);
	cr_assert_eq(wr.remote_addr, 0x30000);
	cr_assert_eq(wr.length, 200);
	cr_assert_eq(wr.num_sge, 1);
	cr_assert_eq(wr.sge[0].addr, 0x1000);
	cr_assert_eq(wr.sge[0].length, 200);
	cr_assert_eq(rcp_sgl_next(&c, &wr), 0);
}

Test(sgl_plan, wr_carries_rkey_and_op)
{
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 10, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x2000, .length = 10};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_READ, &l, 1, &r, 1, 0xabcd, &rxe_limits), 0);
	next_ok(&c, &wr);
	cr_assert_eq(wr.rkey, 0xabcd);
	cr_assert_eq(wr.op, RCP_SGL_READ);
}

Test(sgl_plan, segment_ending_at_top_of_address_space_is_accepted)
{
	struct rcp_sgl_local l = {.addr = UINT64_MAX - 4096, .length = 4096, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = UINT64_MAX - 4096, .length = 4096};
	struct rcp_sgl_cursor c;

	init_ok(&c, &l, 1, &r, 1, &rxe_limits);
	cr_assert_eq(count_wrs(&c), 1);
}

Test(sgl_plan, randomized_plans_keep_every_promise)
{
	static struct rnd_case t;
	uint64_t seed = 0x5eed5eed12345678ULL;
	unsigned int iter;

	for (iter = 0; iter < 3000; iter++) {
		struct rcp_sgl_cursor c;
		struct walker w;

		rnd_case_make(&t, &seed);
		init_ok(&c, t.l, t.nl, t.r, t.nr, &t.lim);
		walker_init(&w, t.l, t.nl, t.r, t.nr, &t.lim);
		check_cursor(&w, &c, t.total);
		check_done(&w, t.total);
	}
}

Test(sgl_count, counts_from_cursor_position_without_moving_it)
{
	struct rcp_sgl_limits lim = {.max_sge = 4, .max_wr_bytes = 4096, .chunk_bytes = 0};
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 40960, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x900000, .length = 40960};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;
	uint64_t n;

	init_ok(&c, &l, 1, &r, 1, &lim);
	cr_assert_eq(rcp_sgl_count(&c, &n), 0);
	cr_assert_eq(n, 10);
	next_ok(&c, &wr);
	next_ok(&c, &wr);
	cr_assert_eq(rcp_sgl_count(&c, &n), 0);
	cr_assert_eq(n, 8);
	next_ok(&c, &wr);
	cr_assert_eq(wr.sge[0].addr, 0x1000 + 2 * 4096, "count moved the cursor");
}

Test(sgl_count, null_arguments)
{
	struct rcp_sgl_cursor c;
	uint64_t n;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_count(NULL, &n), -EINVAL);
	cr_assert_eq(rcp_sgl_count(&c, NULL), -EINVAL);
}

Test(sgl_init, mismatched_totals)
{
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 100, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x2000, .length = 99};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, &l, 1, &r, 1, 1, &rxe_limits), -EINVAL);
}

Test(sgl_init, local_addr_plus_length_overflows)
{
	struct rcp_sgl_local l = {.addr = UINT64_MAX - 10, .length = 11, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x2000, .length = 11};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, &l, 1, &r, 1, 1, &rxe_limits), -EOVERFLOW);
}

Test(sgl_init, remote_addr_plus_length_overflows)
{
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 11, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = UINT64_MAX - 10, .length = 11};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_READ, &l, 1, &r, 1, 1, &rxe_limits), -EOVERFLOW);
}

Test(sgl_init, local_total_overflows)
{
	struct rcp_sgl_local l[2] = {
		{.addr = 0, .length = UINT64_MAX / 2 + 1, .lkey = 1},
		{.addr = 0, .length = UINT64_MAX / 2 + 1, .lkey = 1},
	};
	struct rcp_sgl_remote r = {.addr = 0, .length = 1};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, l, 2, &r, 1, 1, &rxe_limits), -EOVERFLOW);
}

Test(sgl_init, remote_total_overflows)
{
	struct rcp_sgl_local l = {.addr = 0, .length = 1, .lkey = 1};
	struct rcp_sgl_remote r[2] = {
		{.addr = 0, .length = UINT64_MAX / 2 + 1},
		{.addr = 0, .length = UINT64_MAX / 2 + 1},
	};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, &l, 1, r, 2, 1, &rxe_limits), -EOVERFLOW);
}

Test(sgl_init, zero_max_sge)
{
	struct rcp_sgl_limits lim = {.max_sge = 0, .max_wr_bytes = 4096};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &lim), -EINVAL);
}

Test(sgl_init, zero_max_wr_bytes)
{
	struct rcp_sgl_limits lim = {.max_sge = 32, .max_wr_bytes = 0};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &lim), -EINVAL);
}

Test(sgl_init, too_many_local_segments)
{
	static struct rcp_sgl_local l[RCP_SGL_MAX_SEGS + 1];
	struct rcp_sgl_remote r = {.addr = 0, .length = 0};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, l, RCP_SGL_MAX_SEGS, &r, 1, 1, &rxe_limits),
		     0);
	cr_assert_eq(
		rcp_sgl_init(&c, RCP_SGL_WRITE, l, RCP_SGL_MAX_SEGS + 1, &r, 1, 1, &rxe_limits),
		-E2BIG);
}

Test(sgl_init, too_many_remote_ranges)
{
	static struct rcp_sgl_remote r[RCP_SGL_MAX_SEGS + 1];
	struct rcp_sgl_local l = {.addr = 0, .length = 0};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_READ, &l, 1, r, RCP_SGL_MAX_SEGS + 1, 1, &rxe_limits),
		     -E2BIG);
}

Test(sgl_init, null_cursor_or_limits)
{
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(NULL, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), -EINVAL);
	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, NULL), -EINVAL);
}

Test(sgl_init, null_array_with_entries)
{
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 8, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x2000, .length = 8};
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 1, &r, 1, 1, &rxe_limits), -EINVAL);
	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, &l, 1, NULL, 1, 1, &rxe_limits), -EINVAL);
}

Test(sgl_init, unknown_op)
{
	struct rcp_sgl_cursor c;

	cr_assert_eq(rcp_sgl_init(&c, (enum rcp_sgl_op)7, NULL, 0, NULL, 0, 1, &rxe_limits),
		     -EINVAL);
}

Test(sgl_next, null_arguments)
{
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	cr_assert_eq(rcp_sgl_init(&c, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_next(NULL, &wr), -EINVAL);
	cr_assert_eq(rcp_sgl_next(&c, NULL), -EINVAL);
}

Test(sgl_next, arrays_changed_under_the_cursor)
{
	struct rcp_sgl_local l[2] = {
		{.addr = 0x1000, .length = 8, .lkey = 1},
		{.addr = 0x9000, .length = 8, .lkey = 1},
	};
	struct rcp_sgl_remote r[2] = {{.addr = 0x2000, .length = 8}, {.addr = 0x8000, .length = 8}};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, l, 2, r, 2, &rxe_limits);
	next_ok(&c, &wr);
	l[1].length = 0;
	cr_assert_eq(rcp_sgl_next(&c, &wr), -EINVAL);
}

Test(sgl_stripe, four_qps_cover_everything_exactly_once)
{
	struct rcp_sgl_limits lim = {
		.max_sge = 32, .max_wr_bytes = 1u << 31, .chunk_bytes = 64 * KIB};
	struct rcp_sgl_local l[3] = {
		{.addr = 0x100000, .length = 300 * KIB + 17, .lkey = 1},
		{.addr = 0x900000, .length = 3, .lkey = 1},
		{.addr = 0x700000, .length = 700 * KIB, .lkey = 2},
	};
	struct rcp_sgl_remote r[2] = {
		{.addr = 0x40000000, .length = 512 * KIB},
		{.addr = 0x50000000, .length = 488 * KIB + 20},
	};
	struct rcp_sgl_cursor plan;
	struct rcp_sgl_cursor part;
	struct walker w;
	uint64_t total = 1000 * KIB + 20;
	uint64_t sizes[4];
	unsigned int i;

	init_ok(&plan, l, 3, r, 2, &lim);
	walker_init(&w, l, 3, r, 2, &lim);
	/* parts are consecutive byte ranges, so their WRs in part order walk the stream once */
	for (i = 0; i < 4; i++) {
		cr_assert_eq(rcp_sgl_stripe(&plan, 4, i, &part), 0);
		sizes[i] = part.left;
		cr_assert_gt(check_cursor(&w, &part, total), 0);
	}
	check_done(&w, total);
	/* 16 units of 64 KiB: 4 + 4 + 4 + 4, the last partial */
	cr_assert_eq(sizes[0], 256 * KIB);
	cr_assert_eq(sizes[1], 256 * KIB);
	cr_assert_eq(sizes[2], 256 * KIB);
	cr_assert_eq(sizes[3], total - 768 * KIB);
}

Test(sgl_stripe, more_parts_than_units_gives_empty_parts)
{
	struct rcp_sgl_limits lim = {.max_sge = 32, .max_wr_bytes = 4096};
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 5000, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x9000, .length = 5000};
	struct rcp_sgl_cursor plan;
	struct rcp_sgl_cursor part;
	struct walker w;
	unsigned int i;

	init_ok(&plan, &l, 1, &r, 1, &lim);
	walker_init(&w, &l, 1, &r, 1, &lim);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(rcp_sgl_stripe(&plan, 4, i, &part), 0);
		cr_assert_eq(check_cursor(&w, &part, 5000), i < 2 ? 1u : 0u);
	}
	check_done(&w, 5000);
}

Test(sgl_stripe, ignores_plan_position_and_may_alias)
{
	struct rcp_sgl_limits lim = {.max_sge = 32, .max_wr_bytes = 4096};
	struct rcp_sgl_local l = {.addr = 0x1000, .length = 4 * 4096, .lkey = 1};
	struct rcp_sgl_remote r = {.addr = 0x90000, .length = 4 * 4096};
	struct rcp_sgl_cursor c;
	struct rcp_sgl_wr wr;

	init_ok(&c, &l, 1, &r, 1, &lim);
	next_ok(&c, &wr);
	next_ok(&c, &wr);
	next_ok(&c, &wr);
	cr_assert_eq(rcp_sgl_stripe(&c, 2, 0, &c), 0);
	cr_assert_eq(c.left, 2 * 4096);
	next_ok(&c, &wr);
	cr_assert_eq(wr.sge[0].addr, 0x1000);
	cr_assert_eq(wr.remote_addr, 0x90000);
}

Test(sgl_stripe, zero_parts)
{
	struct rcp_sgl_cursor plan;
	struct rcp_sgl_cursor part;

	cr_assert_eq(rcp_sgl_init(&plan, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_stripe(&plan, 0, 0, &part), -EINVAL);
}

Test(sgl_stripe, part_out_of_range)
{
	struct rcp_sgl_cursor plan;
	struct rcp_sgl_cursor part;

	cr_assert_eq(rcp_sgl_init(&plan, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_stripe(&plan, 4, 4, &part), -EINVAL);
}

Test(sgl_stripe, null_arguments)
{
	struct rcp_sgl_cursor plan;
	struct rcp_sgl_cursor part;

	cr_assert_eq(rcp_sgl_init(&plan, RCP_SGL_WRITE, NULL, 0, NULL, 0, 1, &rxe_limits), 0);
	cr_assert_eq(rcp_sgl_stripe(NULL, 4, 0, &part), -EINVAL);
	cr_assert_eq(rcp_sgl_stripe(&plan, 4, 0, NULL), -EINVAL);
}

Test(sgl_stripe, randomized_stripes_cover_everything_exactly_once)
{
	static struct rnd_case t;
	uint64_t seed = 0xfeedface0badf00dULL;
	unsigned int iter;

	for (iter = 0; iter < 1000; iter++) {
		struct rcp_sgl_cursor plan;
		struct rcp_sgl_cursor part;
		struct walker w;
		unsigned int nparts = 1 + (unsigned int)rnd(&seed, 8);
		uint64_t min = UINT64_MAX;
		uint64_t max = 0;
		unsigned int i;

		rnd_case_make(&t, &seed);
		init_ok(&plan, t.l, t.nl, t.r, t.nr, &t.lim);
		walker_init(&w, t.l, t.nl, t.r, t.nr, &t.lim);
		for (i = 0; i < nparts; i++) {
			cr_assert_eq(rcp_sgl_stripe(&plan, nparts, i, &part), 0);
			if (part.left < min)
				min = part.left;
			if (part.left > max)
				max = part.left;
			check_cursor(&w, &part, t.total);
		}
		check_done(&w, t.total);
		/* whole units differ by one at most; the last part may also end in a partial one */
		cr_assert_lt(max - min, 2 * (uint64_t)w.wr_bytes, "stripes unbalanced");
	}
}
