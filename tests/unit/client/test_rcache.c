/* SPDX-License-Identifier: BSD-3-Clause */
/* test_rcache.c -- the registration cache: sharing, LRU eviction, the pinned bound, forget */
#include <criterion/criterion.h>

#include "client/lib/conn.h"
#include "tests/unit/mocks/verbs_mock.h"

static struct ibv_pd *pd;

/* setup -- a mock protection domain */
static void setup(void)
{
	rcp_mock_reset();
	cr_assert_eq(rcp_vb_alloc_pd(rcp_mock_context(), &pd), 0);
}

/* teardown -- nothing may be left */
static void teardown(void)
{
	cr_assert_eq(rcp_vb_dealloc_pd(&pd), 0);
	cr_assert_eq(rcp_mock_live_total(), 0);
}

TestSuite(client_rcache, .init = setup, .fini = teardown);

Test(client_rcache, per_op__shared_while_held_dropped_after)
{
	struct rcp_rcache c;
	struct rcp_rcache_ent *a = NULL;
	struct rcp_rcache_ent *b = NULL;

	rcp_rcache_init(&c, pd, RDMACPY_CACHE_PER_OP, 1 << 30);
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 8192, IBV_ACCESS_LOCAL_WRITE, &a), 0);
	cr_assert_eq(rcp_rcache_get(&c, 0x11000, 100, IBV_ACCESS_LOCAL_WRITE, &b), 0);
	cr_assert_eq(a, b, "a contained range reuses the held entry");
	cr_assert_eq(c.hits, 1);
	cr_assert_eq(c.misses, 1);
	rcp_rcache_put(&c, &a);
	cr_assert_null(a);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_MR), 1);
	rcp_rcache_put(&c, &b);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_MR), 0, "dropped when the last op lets go");
	cr_assert_eq(c.pinned, 0);
	/* the same range again is a miss: nothing survives an operation in this mode */
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 8192, IBV_ACCESS_LOCAL_WRITE, &a), 0);
	cr_assert_eq(c.misses, 2);
	rcp_rcache_put(&c, &a);
	cr_assert_eq(rcp_rcache_fini(&c), 0);
}

Test(client_rcache, keep__lru_eviction_within_the_pinned_bound)
{
	struct rcp_rcache c;
	struct rcp_rcache_ent *e = NULL;
	uint64_t base = 0x100000;
	int i;

	rcp_rcache_init(&c, pd, RDMACPY_CACHE_KEEP, 3 * 4096);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(rcp_rcache_get(&c, base + (uint64_t)i * 4096, 4096, 0, &e), 0);
		rcp_rcache_put(&c, &e);
	}
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.pinned, 3 * 4096);
	/* touch the oldest so the second becomes the least recently used */
	cr_assert_eq(rcp_rcache_get(&c, base, 4096, 0, &e), 0);
	rcp_rcache_put(&c, &e);
	cr_assert_eq(c.hits, 1);
	cr_assert_eq(rcp_rcache_get(&c, base + 3 * 4096, 4096, 0, &e), 0);
	rcp_rcache_put(&c, &e);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.evictions, 1);
	cr_assert_leq(c.pinned, 3 * 4096);
	cr_assert_eq(rcp_rcache_get(&c, base + 4096, 4096, 0, &e), 0);
	cr_assert_eq(c.misses, 5, "the evicted entry is gone");
	rcp_rcache_put(&c, &e);
	cr_assert_eq(rcp_rcache_get(&c, base, 4096, 0, &e), 0);
	cr_assert_eq(c.hits, 2, "the touched entry survived");
	rcp_rcache_put(&c, &e);
	cr_assert_eq(rcp_rcache_fini(&c), 0);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_MR), 0);
}

Test(client_rcache, keep__held_entries_exceed_the_bound_until_released)
{
	struct rcp_rcache c;
	struct rcp_rcache_ent *a = NULL;
	struct rcp_rcache_ent *b = NULL;

	rcp_rcache_init(&c, pd, RDMACPY_CACHE_KEEP, 4096);
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 4096, 0, &a), 0);
	cr_assert_eq(rcp_rcache_get(&c, 0x20000, 4096, 0, &b), 0);
	cr_assert_eq(c.pinned, 8192, "held entries are never evicted");
	rcp_rcache_put(&c, &a);
	cr_assert_eq(c.pinned, 4096);
	rcp_rcache_put(&c, &b);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(rcp_rcache_fini(&c), 0);
}

Test(client_rcache, keep__access_must_cover_and_forget_drops)
{
	struct rcp_rcache c;
	struct rcp_rcache_ent *a = NULL;
	struct rcp_rcache_ent *b = NULL;

	rcp_rcache_init(&c, pd, RDMACPY_CACHE_KEEP, 1 << 20);
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 4096, 0, &a), 0);
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 4096, IBV_ACCESS_LOCAL_WRITE, &b), 0);
	cr_assert_neq(a, b, "a read needs a registration with local write");
	rcp_rcache_put(&c, &b);
	/* forgotten while held: not handed out again, dropped on release */
	rcp_rcache_forget(&c, 0x10800, 1);
	cr_assert_eq(c.n, 1);
	cr_assert_eq(rcp_rcache_get(&c, 0x10000, 4096, 0, &b), 0);
	cr_assert_neq(a, b);
	rcp_rcache_put(&c, &a);
	rcp_rcache_put(&c, &b);
	cr_assert_eq(c.n, 1);
	rcp_rcache_forget(&c, 0, UINT64_MAX / 2);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(rcp_mock_live(RCP_MOCK_OBJ_MR), 0);
	cr_assert_eq(rcp_rcache_fini(&c), 0);
}
