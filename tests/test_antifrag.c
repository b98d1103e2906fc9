/*
 * test_antifrag.c - migratetype fallback decisions (Linux 6.1's fallback
 * table and stealing thresholds), the to-tail merge heuristic and its
 * switch, and free-list shuffling.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

/* One node, one Normal zone of `mib` MiB at 4 GiB; exact counters, no pcp. */
static struct zpa_machine *machine(unsigned mib, void (*tweak)(struct zpa_machine_config *))
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 4ull << 30, (4ull << 30) + ((uint64_t)mib << 20), ZPA_RANGE_USABLE, 0);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.nr_cpus = 1;
	cfg.no_pcp = true;
	cfg.exact_vmstat = true;
	if (tweak)
		tweak(&cfg);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static int pageblock_type(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi.pageblock_migratetype;
}

/*
 * At boot every pageblock is movable.  An unmovable order-0 request must
 * fall back; since unmovable requests may steal (can_steal_fallback), it
 * takes the largest free block and its pageblock becomes unmovable when at
 * least half of it is free.  A movable order-0 request never falls back
 * here, and a reclaimable one steals like an unmovable one.
 */
static void test_fallback_steals_pageblock(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64, NULL);
	zpa_pfn_t mv = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_int_equal(pageblock_type(m, mv), ZPA_MIGRATE_MOVABLE);
	zpa_pfn_t un = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_true(un != ZPA_PFN_NONE);
	/* It was served from a pageblock that now belongs to unmovable. */
	assert_int_equal(pageblock_type(m, un), ZPA_MIGRATE_UNMOVABLE);
	/* The largest block was taken: the stolen pageblock is not the one
	 * the movable page came from (that one was split first). */
	assert_true((un >> 9) != (mv >> 9));
	/* The next unmovable pages come from the same pageblock, no new steal. */
	zpa_pfn_t un2 = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(un2 >> 9, un >> 9);
	zpa_pfn_t rc = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE, 0);
	assert_int_equal(pageblock_type(m, rc), ZPA_MIGRATE_RECLAIMABLE);
	assert_true((rc >> 9) != (un >> 9));
	assert_int_equal(zpa_free_pages(m, mv, 0), 0);
	assert_int_equal(zpa_free_pages(m, un, 0), 0);
	assert_int_equal(zpa_free_pages(m, un2, 0), 0);
	assert_int_equal(zpa_free_pages(m, rc, 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A movable request that cannot claim a whole pageblock (order below
 * pageblock_order / 2) and finds only small foreign blocks takes the
 * smallest suitable one (find_smallest), leaving the pageblock's owner
 * unchanged; an order-4 request (>= pageblock_order / 2) claims the block.
 */
static void test_movable_fallback_takes_smallest(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(8, NULL); /* 4 pageblocks */
	struct zpa_task *t = zpa_task_current();
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	/* Order-9 unmovable requests claim whole pageblocks: all become unmovable. */
	zpa_pfn_t blk[4];
	for (int i = 0; i < 4; i++) {
		blk[i] = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 9);
		assert_true(blk[i] != ZPA_PFN_NONE);
		assert_int_equal(pageblock_type(m, blk[i]), ZPA_MIGRATE_UNMOVABLE);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(zpa_free_pages(m, blk[i], 9), 0);
	/* Fill with unmovable order-0 pages, then keep every 8th: free blocks of
	 * orders 0..2 only, all in unmovable pageblocks. */
	zpa_pfn_t p[2048];
	unsigned long n = 0;
	while (n < 2048 && (p[n] = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0)) != ZPA_PFN_NONE)
		n++;
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	assert_int_equal(n, 2048);
	for (unsigned long i = 0; i < n; i++)
		if (p[i] & 7)
			assert_int_equal(zpa_free_pages(m, p[i], 0), 0);
	struct zpa_zone_info before, after;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &before), 0);
	assert_int_equal(before.nr_free[3], 0);
	assert_true(before.nr_free[2] > 0 && before.nr_free[0] > 0);
	zpa_pfn_t mv = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_true(mv != ZPA_PFN_NONE);
	assert_int_equal(pageblock_type(m, mv), ZPA_MIGRATE_UNMOVABLE);
	/* The smallest block was used: one order-0 block fewer, nothing split. */
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &after), 0);
	assert_int_equal(after.nr_free[0], before.nr_free[0] - 1);
	assert_int_equal(after.nr_free[1], before.nr_free[1]);
	assert_int_equal(after.nr_free[2], before.nr_free[2]);
	/* order 2 (< pageblock_order / 2 = 4): still no claim. */
	zpa_pfn_t mv2 = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 2);
	assert_true(mv2 != ZPA_PFN_NONE);
	assert_int_equal(pageblock_type(m, mv2), ZPA_MIGRATE_UNMOVABLE);
	assert_int_equal(zpa_free_pages(m, mv2, 2), 0);
	assert_int_equal(zpa_free_pages(m, mv, 0), 0);
	for (unsigned long i = 0; i < n; i++)
		if (!(p[i] & 7))
			assert_int_equal(zpa_free_pages(m, p[i], 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static zpa_gfp_t gfp_of(int mt)
{
	return mt == ZPA_MIGRATE_MOVABLE ? ZPA_GFP_HIGHUSER_MOVABLE
	       : mt == ZPA_MIGRATE_RECLAIMABLE ? (ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE)
					       : ZPA_GFP_KERNEL;
}

/*
 * Linux 6.1's fallback table, checked at one order: give types x and y one
 * free order-9 block each (pageblocks B and D of an 8 MiB machine), nothing
 * larger, then ask for type t at order 0.  The table row of t decides:
 *   UNMOVABLE   -> RECLAIMABLE, MOVABLE
 *   MOVABLE     -> RECLAIMABLE, UNMOVABLE
 *   RECLAIMABLE -> UNMOVABLE,   MOVABLE
 * The donor is a whole free pageblock (order 9 >= pageblock_order), so
 * can_steal_fallback() holds even for a movable order-0 request and every
 * request claims the pageblock (change_pageblock_range).
 */
static void test_fallback_table(void **state)
{
	(void)state;
	static const struct { int t, x, y, want; } cases[] = {
		{ ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE, ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_RECLAIMABLE },
		{ ZPA_MIGRATE_MOVABLE, ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_RECLAIMABLE },
		{ ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_MOVABLE, ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_UNMOVABLE },
	};
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct zpa_machine *m = machine(8, NULL);
		struct zpa_task *t = zpa_task_current();
		unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
		zpa_pfn_t a = zpa_alloc_pages(m, gfp_of(cases[c].x), 9);
		zpa_pfn_t b = zpa_alloc_pages(m, gfp_of(cases[c].y), 9);
		zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
		assert_true(a != ZPA_PFN_NONE && b != ZPA_PFN_NONE);
		/* Each left its order-10 block's other half free, typed like itself. */
		assert_int_equal(pageblock_type(m, a ^ 512), cases[c].x);
		assert_int_equal(pageblock_type(m, b ^ 512), cases[c].y);
		struct zpa_zone_info zi;
		assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
		assert_int_equal(zi.nr_free[9], 2);
		assert_int_equal(zi.nr_free[10], 0);
		zpa_pfn_t p = zpa_alloc_pages(m, gfp_of(cases[c].t), 0);
		assert_true(p != ZPA_PFN_NONE);
		zpa_pfn_t donor = (p >> 9) == ((a ^ 512) >> 9) ? (a ^ 512) : (b ^ 512);
		assert_true((p >> 9) == (donor >> 9));
		int donor_type = donor == (a ^ 512) ? cases[c].x : cases[c].y;
		if (donor_type != cases[c].want)
			fail_msg("case %u: type %d took from type %d, table says %d", c, cases[c].t, donor_type,
				 cases[c].want);
		/* The donor block is a whole pageblock (order 9): every type claims it. */
		assert_int_equal(pageblock_type(m, p), cases[c].t);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
		assert_int_equal(zpa_free_pages(m, a, 9), 0);
		assert_int_equal(zpa_free_pages(m, b, 9), 0);
		zt_assert_clean(m);
		zpa_machine_destroy(m);
	}
}

static void merge_off(struct zpa_machine_config *cfg) { cfg->no_merge_to_tail = true; }

/*
 * 6.1 queues a freed block at the tail of its list when its parent's buddy
 * is free (it will probably merge soon), so the next allocation of that order
 * takes another block first.  With the switch off it goes to the head.
 */
static void test_merge_to_tail(void **state)
{
	(void)state;
	for (int off = 0; off < 2; off++) {
		struct zpa_machine *m = machine(16, off ? merge_off : NULL);
		/* Split an order-10 block down: pages 0.. of a fresh block. */
		zpa_pfn_t a = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		zpa_pfn_t b = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		assert_int_equal(b, a + 1);
		/* Another order-0 free block elsewhere on the order-0 list. */
		zpa_pfn_t big = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 10);
		zpa_pfn_t c = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		zpa_pfn_t d = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		zpa_pfn_t e = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		(void)d;
		/* c = a+2, d = a+3 (an order-1 split), e = a+4 (leaving a+5 free at
		 * order 0).  Free c and d: they merge into the order-1 block a+2. */
		assert_int_equal(c, a + 2);
		assert_int_equal(e, a + 4);
		assert_int_equal(zpa_free_pages(m, c, 0), 0);
		assert_int_equal(zpa_free_pages(m, d, 0), 0);
		/* Free b: its buddy a is in use, but the parent's buddy (a+2 at
		 * order 1) is free: merge likely -> tail (unless switched off). */
		assert_int_equal(zpa_free_pages(m, b, 0), 0);
		zpa_pfn_t next = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		assert_int_equal(next, off ? b : a + 5);
		assert_int_equal(zpa_free_pages(m, next, 0), 0);
		assert_int_equal(zpa_free_pages(m, a, 0), 0);
		assert_int_equal(zpa_free_pages(m, e, 0), 0);
		assert_int_equal(zpa_free_pages(m, big, 10), 0);
		zt_assert_clean(m);
		zpa_machine_destroy(m);
	}
}

static uint64_t shuffle_seed;
static void shuffle_on(struct zpa_machine_config *cfg)
{
	cfg->shuffle = true;
	cfg->shuffle_seed = shuffle_seed;
}

/* The order in which a fresh machine hands out its order-10 blocks. */
static void block_order(struct zpa_machine *m, zpa_pfn_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 10);
}

static void test_shuffle(void **state)
{
	(void)state;
	enum { N = 32 };
	zpa_pfn_t plain[N], s1[N], s1b[N], s2[N];
	struct zpa_machine *m = machine(256, NULL);
	block_order(m, plain, N);
	zpa_machine_destroy(m);
	shuffle_seed = 1;
	m = machine(256, shuffle_on);
	zt_assert_clean(m);
	block_order(m, s1, N);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
	m = machine(256, shuffle_on);
	block_order(m, s1b, N);
	zpa_machine_destroy(m);
	shuffle_seed = 2;
	m = machine(256, shuffle_on);
	block_order(m, s2, N);
	zpa_machine_destroy(m);
	/* Without shuffling, blocks come in address order (boot frees to the tail). */
	for (int i = 1; i < N; i++)
		assert_int_equal(plain[i], plain[i - 1] + 1024);
	/* Same seed, same order; another seed, another order; not address order. */
	assert_memory_equal(s1, s1b, sizeof s1);
	assert_memory_not_equal(s1, s2, sizeof s1);
	assert_memory_not_equal(s1, plain, sizeof s1);
	/* Still a permutation of valid, distinct, aligned blocks. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(s1[i] & 1023, 0);
		for (int j = i + 1; j < N; j++)
			assert_true(s1[i] != s1[j]);
	}
}

static void min8m(struct zpa_machine_config *cfg) { cfg->min_free_kbytes = 8192; }

/*
 * High-atomic reserve: a high-order GFP_ATOMIC request served below the low
 * watermark (the slow path's ALLOC_HIGHATOMIC) claims its pageblock as
 * MIGRATE_HIGHATOMIC, up to ~1% of the zone plus a pageblock; the reserve is
 * kept from ordinary requests (the watermark test leaves it out), and is
 * given back (unreserve_highatomic_pageblock, forced) by a blocking request
 * that would otherwise fail, after the reclaim retries.
 * 64 MiB: min = 2048 pages (min_free_kbytes 8192), low = 2560; an atomic
 * order-9 request needs free - 511 > min - min/2 - (min/2)/4 = 768.
 */
static void test_highatomic_reserve(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64, min8m);
	struct zpa_task *t = zpa_task_current();
	zpa_pfn_t blk[32];
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	for (int i = 0; i < 32; i++)
		assert_true((blk[i] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 9)) != ZPA_PFN_NONE);
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	/* Five free pageblocks, none another's buddy (freed reserved blocks must
	 * not merge with each other): 2560 pages, not above low, above the
	 * atomic mark. */
	for (int i = 0; i < 10; i += 2)
		assert_int_equal(zpa_free_pages(m, blk[i], 9), 0);
	zpa_pfn_t a = zpa_alloc_pages(m, ZPA_GFP_ATOMIC, 9);
	assert_true(a != ZPA_PFN_NONE);
	assert_int_equal(pageblock_type(m, a), ZPA_MIGRATE_HIGHATOMIC);
	zpa_pfn_t b = zpa_alloc_pages(m, ZPA_GFP_ATOMIC, 9);
	assert_true(b != ZPA_PFN_NONE && (b >> 9) != (a >> 9));
	assert_int_equal(pageblock_type(m, b), ZPA_MIGRATE_HIGHATOMIC);
	/* The cap (~1% + a pageblock = 675 pages here) stops a third reservation. */
	zpa_pfn_t c = zpa_alloc_pages(m, ZPA_GFP_ATOMIC, 9);
	assert_true(c != ZPA_PFN_NONE);
	assert_true(pageblock_type(m, c) != ZPA_MIGRATE_HIGHATOMIC);
	assert_int_equal(zpa_free_pages(m, c, 9), 0);
	/* Freed reserved blocks stay reserved: 1024 of the 2560 free pages. */
	assert_int_equal(zpa_free_pages(m, a, 9), 0);
	assert_int_equal(zpa_free_pages(m, b, 9), 0);
	assert_int_equal(pageblock_type(m, a), ZPA_MIGRATE_HIGHATOMIC);
	/* __GFP_NORETRY gives up before the reserves are touched: 2560 - 1024
	 * reserved is not above min. */
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN, 0), ZPA_PFN_NONE);
	assert_int_equal(pageblock_type(m, a), ZPA_MIGRATE_HIGHATOMIC);
	assert_int_equal(pageblock_type(m, b), ZPA_MIGRATE_HIGHATOMIC);
	/* A blocking order-0 request that may retry: after the no-progress
	 * reclaim loops, should_reclaim_retry() releases reserved pageblocks one
	 * at a time (to the requester's type) and retries: with one released,
	 * 2560 - 512 is still not above min; with both, it succeeds. */
	zpa_pfn_t k = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_true(k != ZPA_PFN_NONE);
	assert_int_equal(pageblock_type(m, a), ZPA_MIGRATE_UNMOVABLE);
	assert_int_equal(pageblock_type(m, b), ZPA_MIGRATE_UNMOVABLE);
	assert_int_equal(zpa_free_pages(m, k, 0), 0);
	for (int i = 1; i < 32; i++)
		if (i >= 10 || (i & 1))
			assert_int_equal(zpa_free_pages(m, blk[i], 9), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Watermark boosting: a fallback that mixes pageblocks boosts the watermark
 * (by a pageblock, capped at watermark_boost_factor/10000 of high) and wakes
 * kswapd, whose balance_pgdat() resets the boost when done (zpa's kswapd has
 * nothing to reclaim, so it is done at once).  With the factor at 0: no boost.
 */
static void test_watermark_boost(void **state)
{
	(void)state;
	for (int off = 0; off < 2; off++) {
		struct zpa_machine *m = machine(256, NULL);
		if (off)
			assert_int_equal(zpa_sysctl_set(m, "watermark_boost_factor", "0"), 0);
		/* Fill with movable order-8 blocks, free every other one: only
		 * order-8 blocks are free, half of each movable pageblock.  (A steal
		 * of a whole pageblock or more does not boost, as in Linux.) */
		struct zpa_task *t = zpa_task_current();
		zpa_pfn_t *blk = calloc(256, sizeof *blk);
		unsigned nb = 0, saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
		while (nb < 256 && (blk[nb] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 8)) != ZPA_PFN_NONE)
			nb++;
		zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
		assert_int_equal(nb, 256);
		for (unsigned i = 0; i < nb; i += 2)
			assert_int_equal(zpa_free_pages(m, blk[i], 8), 0);
		bool ok;
		uint64_t wakes = zpa_vmstat(m, "zpa_kswapd_wake", &ok);
		assert_true(ok);
		/* An unmovable order-0 request (served by the fast path: half of
		 * memory is free) steals an order-8 block: a fragmenting fallback. */
		zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_HIGH, 0);
		assert_true(p != ZPA_PFN_NONE);
		assert_int_equal(zpa_vmstat(m, "zpa_kswapd_wake", &ok), wakes + (off ? 0 : 1));
		struct zpa_zone_info zi;
		assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
		assert_int_equal(zi.boost, 0); /* kswapd took the boost back */
		/* A request that may not wake kswapd keeps the boost: GFP_NOWAIT
		 * minus __GFP_KSWAPD_RECLAIM, reclaimable, steals again. */
		p = zpa_alloc_pages(m, ZPA___GFP_RECLAIMABLE | ZPA___GFP_HIGH, 0);
		assert_true(p != ZPA_PFN_NONE);
		assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
		assert_int_equal(zi.boost, off ? 0 : 512);
		free(blk);
		zpa_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_steals_pageblock),
		cmocka_unit_test(test_movable_fallback_takes_smallest),
		cmocka_unit_test(test_fallback_table),
		cmocka_unit_test(test_merge_to_tail),
		cmocka_unit_test(test_shuffle),
		cmocka_unit_test(test_highatomic_reserve),
		cmocka_unit_test(test_watermark_boost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
