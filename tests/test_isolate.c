/*
 * test_isolate.c - page isolation, alloc_contig_range/alloc_contig_pages/
 * free_contig_range, and memory offline/online (zpa/contig.h).
 *
 * Each test builds its own machine, checks the state the call must leave
 * (free counters, buddyinfo, page states, zone counts, watermarks, the
 * views) and ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PB 512ul /* pageblock pages (order 9) */

/* One node, Normal only: [base, base + mib MiB), exact counters. */
static struct zpa_machine *normal_machine(uint64_t base, unsigned mib, struct zt_log *log, long min_free_kbytes)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, base, base + (uint64_t)mib * MiB, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.exact_vmstat = true;
	cfg.min_free_kbytes = min_free_kbytes;
	if (log) {
		cfg.log = zt_log_fn;
		cfg.log_arg = log;
		cfg.log_level = ZPA_LOG_DEBUG;
	}
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_zone_info zinfo(struct zpa_machine *m, int nid, int type)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, nid, type, &zi), 0);
	return zi;
}

static uint64_t normal_free(struct zpa_machine *m)
{
	return zinfo(m, 0, ZPA_ZONE_NORMAL).free;
}

static struct zpa_page_info pinfo(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi;
}

static char *view(struct zpa_machine *m, const char *name)
{
	size_t size = 1 << 17;
	char *buf = malloc(size);
	assert_non_null(buf);
	assert_true(zpa_show(m, name, buf, size) > 0);
	return buf;
}

/* A view taken before must equal the view now. */
static void assert_view_same(struct zpa_machine *m, const char *name, const char *before)
{
	char *now = view(m, name);
	if (strcmp(now, before))
		fprintf(stderr, "%s before:\n%s\nnow:\n%s\n", name, before, now);
	assert_string_equal(now, before);
	free(now);
}

/* Allocate with no watermark (PF_MEMALLOC) until nothing is left; returns the count. */
static size_t exhaust(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order, zpa_pfn_t *out, size_t max)
{
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	size_t n = 0;
	while (n < max) {
		zpa_pfn_t p = zpa__alloc_pages(m, t, gfp | ZPA___GFP_NOWARN, order, -1, NULL);
		if (p == ZPA_PFN_NONE)
			break;
		out[n++] = p;
	}
	zpa_drain_local_pages(m, t);
	zpa_task_destroy(t);
	return n;
}

static void free_all(struct zpa_machine *m, const zpa_pfn_t *p, size_t n, unsigned order)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, p[i], order), 0);
}

/*
 * A free range: isolating it takes its pages out of NR_FREE_PAGES, no
 * allocation of any kind or order lands in it even when memory runs out,
 * and undoing gives back exactly the state before.
 */
static void test_isolation_keeps_allocations_out(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	zpa_pfn_t s = base + 4 * PB, e = base + 8 * PB;
	uint64_t free0 = normal_free(m);
	char *buddy0 = view(m, "buddyinfo"), *pti0 = view(m, "pagetypeinfo");

	assert_int_equal(zpa_start_isolate_page_range(m, s, e, ZPA_MIGRATE_MOVABLE, 0), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(normal_free(m), free0 - 4 * PB);
	assert_int_equal(pinfo(m, s).pageblock_migratetype, ZPA_MIGRATE_ISOLATE);
	assert_int_equal(pinfo(m, e - 1).pageblock_migratetype, ZPA_MIGRATE_ISOLATE);
	assert_int_equal(pinfo(m, e).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_int_equal(zpa_test_pages_isolated(m, s, e, 0), 0);
	/* Isolating any part again is refused. */
	assert_int_equal(zpa_start_isolate_page_range(m, e - 1, e + PB, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
	assert_int_equal(pinfo(m, e).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	zt_assert_clean(m);

	/* Memory pressure: every class and order, down to the last page. */
	static zpa_pfn_t got[20000];
	size_t total = 0;
	struct { zpa_gfp_t gfp; unsigned order; } runs[] = {
		{ ZPA_GFP_KERNEL, 9 }, { ZPA_GFP_HIGHUSER_MOVABLE, 3 }, { ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE, 1 },
		{ ZPA_GFP_ATOMIC, 0 }, { ZPA_GFP_HIGHUSER_MOVABLE, 0 }, { ZPA_GFP_KERNEL, 0 },
	};
	size_t first[7];
	for (unsigned r = 0; r < 6; r++) {
		first[r] = total;
		total += exhaust(m, runs[r].gfp, runs[r].order, got + total, 20000 - total);
	}
	first[6] = total;
	uint64_t pages = 0;
	for (unsigned r = 0; r < 6; r++)
		for (size_t i = first[r]; i < first[r + 1]; i++) {
			zpa_pfn_t p = got[i], pe = p + (1ul << runs[r].order);
			assert_true(pe <= s || p >= e);
			pages += 1ul << runs[r].order;
		}
	/* Everything else was handed out; the isolated pages are all that is left. */
	assert_int_equal(pages, free0 - 4 * PB);
	assert_int_equal(zpa_total_free(m), 0);
	assert_int_equal(zpa_test_pages_isolated(m, s, e, 0), 0);
	zt_assert_clean(m);
	for (unsigned r = 0; r < 6; r++)
		free_all(m, got + first[r], first[r + 1] - first[r], runs[r].order);
	zpa_drain_all_pages(m);

	assert_int_equal(zpa_undo_isolate_page_range(m, s, e, ZPA_MIGRATE_MOVABLE), 0);
	assert_int_equal(normal_free(m), free0);
	assert_int_equal(pinfo(m, s).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_view_same(m, "buddyinfo", buddy0);
	/* (pageblocks may have changed type under the fallbacks; buddyinfo is what must come back) */
	free(buddy0);
	free(pti0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Isolating a pageblock that is the upper half of a free order-10 block
 * splits the block at the pageblock edge; undoing merges it again.
 */
static void test_isolation_splits_and_remerges(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	struct zpa_zone_info z0 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	char *buddy0 = view(m, "buddyinfo");
	assert_true(z0.nr_free[10] > 0 && z0.nr_free[9] == 0);

	/* [base + 5 PB + 10, base + 6 PB - 10): inside the second half of the block at base + 4 PB. */
	assert_int_equal(zpa_start_isolate_page_range(m, base + 5 * PB + 10, base + 6 * PB - 10, ZPA_MIGRATE_MOVABLE, 0),
			 0);
	struct zpa_zone_info z1 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_int_equal(z1.nr_free[10], z0.nr_free[10] - 1);
	assert_int_equal(z1.nr_free[9], 2);
	assert_int_equal(z1.free, z0.free - PB);
	assert_int_equal(pinfo(m, base + 4 * PB).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_true(pinfo(m, base + 4 * PB).buddy);
	assert_true(pinfo(m, base + 5 * PB).buddy);
	/* The lower half stays allocatable, the upper half does not. */
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 9);
	assert_true(p != ZPA_PFN_NONE && p != base + 5 * PB);
	assert_int_equal(zpa_free_pages(m, p, 9), 0);
	zpa_drain_all_pages(m);
	zt_assert_clean(m);

	assert_int_equal(zpa_undo_isolate_page_range(m, base + 5 * PB + 10, base + 6 * PB - 10, ZPA_MIGRATE_MOVABLE), 0);
	assert_view_same(m, "buddyinfo", buddy0);
	assert_int_equal(normal_free(m), z0.free);
	free(buddy0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A block in use that straddles the edge of the range would need
 * migration: isolation refuses it (plain or compound, movable or not) and
 * leaves everything as it was.
 */
static void test_isolation_refuses_straddling_block(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_gfp_t kinds[] = { ZPA_GFP_HIGHUSER_MOVABLE, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP };
	for (unsigned k = 0; k < 2; k++) {
		zpa_pfn_t x = zpa_alloc_pages(m, kinds[k], 10);
		assert_true(x != ZPA_PFN_NONE);
		zpa_drain_all_pages(m);
		char *bi = view(m, "buddyinfo"), *pt = view(m, "pagetypeinfo");
		uint64_t free0 = normal_free(m);
		/* Upper half of the block, and a range whose last pageblock is its lower half. */
		assert_int_equal(zpa_start_isolate_page_range(m, x + PB + 10, x + 2 * PB, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
		if (x >= (1 * GiB >> 12) + 2 * PB)
			assert_int_equal(zpa_start_isolate_page_range(m, x - 2 * PB, x + 5, ZPA_MIGRATE_MOVABLE, 0),
					 ZPA_EBUSY);
		assert_int_equal(zpa_alloc_contig_range(m, x + PB + 10, x + PB + 20, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
		assert_int_equal(normal_free(m), free0);
		assert_view_same(m, "buddyinfo", bi);
		assert_view_same(m, "pagetypeinfo", pt);
		/* The whole block's pageblocks together are fine: nothing crosses the edges. */
		assert_int_equal(zpa_start_isolate_page_range(m, x, x + 2 * PB, ZPA_MIGRATE_MOVABLE, 0), 0);
		assert_int_equal(zpa_free_pages(m, x, 10), 0);
		assert_int_equal(normal_free(m), free0);
		assert_int_equal(zpa_undo_isolate_page_range(m, x, x + 2 * PB, ZPA_MIGRATE_MOVABLE), 0);
		assert_int_equal(normal_free(m), free0 + 2 * PB);
		free(bi);
		free(pt);
		zt_assert_clean(m);
	}
	zpa_machine_destroy(m);
}

/*
 * Pages freed into an isolated pageblock are held aside: they join the
 * isolate lists, NR_FREE_PAGES does not move, no per-CPU list keeps them;
 * undoing counts them free.  An unmovable page stops the isolation with
 * nothing changed.
 */
static void test_frees_into_isolated_block(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = normal_machine(1 * GiB, 64, &log, -1);
	zpa_pfn_t pages[4096];
	size_t n = 0;
	/* Movable pages through the per-CPU lists (the calling thread's). */
	while (n < 1500)
		pages[n++] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	zpa_pfn_t pb = pages[0] & ~(PB - 1);
	size_t inside = 0;
	for (size_t i = 0; i < n; i++)
		inside += (pages[i] & ~(PB - 1)) == pb;
	assert_true(inside > 0);

	assert_int_equal(zpa_start_isolate_page_range(m, pb, pb + PB, ZPA_MIGRATE_MOVABLE, 0), 0);
	zpa_drain_all_pages(m);
	uint64_t free_iso = normal_free(m);
	/* Not all free: the movable pages are still allocated. */
	assert_int_equal(zpa_test_pages_isolated(m, pb, pb + PB, 0), ZPA_EBUSY);
	for (size_t i = 0; i < n; i++) {
		if ((pages[i] & ~(PB - 1)) != pb)
			continue;
		assert_int_equal(zpa_free_pages(m, pages[i], 0), 0);
		struct zpa_zone_info zi = zinfo(m, 0, ZPA_ZONE_NORMAL);
		assert_int_equal(zi.free, free_iso);
		assert_int_equal(zi.pcp, 0);
		pages[i] = ZPA_PFN_NONE;
	}
	assert_int_equal(zpa_test_pages_isolated(m, pb, pb + PB, 0), 0);
	zt_assert_clean(m);
	assert_int_equal(zpa_undo_isolate_page_range(m, pb, pb + PB, ZPA_MIGRATE_MOVABLE), 0);
	assert_int_equal(normal_free(m), free_iso + PB);
	zt_assert_clean(m);

	/* An unmovable page: isolation refused, state unchanged. */
	zpa_pfn_t k = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	zpa_drain_all_pages(m);
	char *buddy0 = view(m, "buddyinfo"), *pti0 = view(m, "pagetypeinfo");
	uint64_t free0 = normal_free(m);
	zpa_pfn_t kb = k & ~(PB - 1);
	assert_int_equal(zpa_start_isolate_page_range(m, kb, kb + PB, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
	assert_int_equal(normal_free(m), free0);
	assert_view_same(m, "buddyinfo", buddy0);
	assert_view_same(m, "pagetypeinfo", pti0);
	/* The same with the unmovable page in the middle of a longer range of movable pageblocks
	 * (a page alloc_contig_range() handed out is not movable). */
	zpa_pfn_t base = (1 * GiB) >> 12, u = base + 20 * PB + 300;
	assert_int_equal(zpa_alloc_contig_range(m, u, u + 1, ZPA_MIGRATE_MOVABLE, 0), 0);
	zpa_drain_all_pages(m);
	free(buddy0);
	free(pti0);
	buddy0 = view(m, "buddyinfo");
	pti0 = view(m, "pagetypeinfo");
	free0 = normal_free(m);
	int logged = log.count;
	assert_int_equal(zpa_start_isolate_page_range(m, base + 18 * PB + 5, base + 23 * PB, ZPA_MIGRATE_MOVABLE,
						      ZPA_ISOLATE_REPORT_FAILURE), ZPA_EBUSY);
	assert_int_equal(log.count, logged + 1);
	assert_non_null(strstr(log.last, "unmovable"));
	assert_int_equal(normal_free(m), free0);
	assert_view_same(m, "buddyinfo", buddy0);
	assert_view_same(m, "pagetypeinfo", pti0);
	assert_int_equal(zpa_free_pages(m, u, 0), 0);
	/* A bad range or type is rejected. */
	assert_int_equal(zpa_start_isolate_page_range(m, kb, kb, ZPA_MIGRATE_MOVABLE, 0), ZPA_EINVAL);
	assert_int_equal(zpa_start_isolate_page_range(m, kb, kb + PB, ZPA_MIGRATE_UNMOVABLE, 0), ZPA_EINVAL);
	assert_int_equal(zpa_start_isolate_page_range(m, 5, 9, ZPA_MIGRATE_MOVABLE, 0), ZPA_EINVAL);
	free(buddy0);
	free(pti0);
	assert_int_equal(zpa_free_pages(m, k, 0), 0);
	for (size_t i = 0; i < n; i++)
		if (pages[i] != ZPA_PFN_NONE)
			assert_int_equal(zpa_free_pages(m, pages[i], 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * alloc_contig_range() on a free, unaligned range: exactly [start, end) is
 * allocated as order-0 pages with refcount 1, the pages around it stay
 * free, and free_contig_range() brings back the original free lists.
 */
static void test_alloc_contig_range_free_range(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	zpa_pfn_t s = base + 3 * PB + 100, e = s + 1500; /* four pageblocks, both ends unaligned */
	uint64_t free0 = normal_free(m);
	char *buddy0 = view(m, "buddyinfo");

	assert_int_equal(zpa_alloc_contig_range(m, s, e, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL), 0);
	assert_int_equal(normal_free(m), free0 - 1500);
	for (zpa_pfn_t p = s; p < e; p++) {
		struct zpa_page_info pi = pinfo(m, p);
		assert_true(pi.allocated);
		assert_false(pi.head || pi.tail || pi.buddy);
		assert_int_equal(pi.order, 0);
		assert_int_equal(pi.refcount, 1);
	}
	for (zpa_pfn_t p = base + 3 * PB; p < base + 8 * PB; p += PB)
		assert_int_equal(pinfo(m, p).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_false(pinfo(m, s - 1).allocated);
	assert_false(pinfo(m, e).allocated);
	/* What is left of the pageblocks is allocatable again. */
	zpa_pfn_t q = zpa__alloc_pages(m, NULL, ZPA_GFP_KERNEL, 6, -1, NULL);
	assert_true(q != ZPA_PFN_NONE);
	assert_int_equal(zpa_free_pages(m, q, 6), 0);
	zt_assert_clean(m);

	/* Overlapping allocation of allocated pages is refused. */
	assert_int_equal(zpa_alloc_contig_range(m, e - 1, e + 10, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL), ZPA_EBUSY);
	assert_int_equal(zpa_free_contig_range(m, s, e - s), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(normal_free(m), free0);
	assert_view_same(m, "buddyinfo", buddy0);
	free(buddy0);
	zt_assert_clean(m);

	/* An aligned whole-pageblock range and a single page. */
	assert_int_equal(zpa_alloc_contig_range(m, base + 10 * PB, base + 12 * PB, ZPA_MIGRATE_MOVABLE, 0), 0);
	assert_int_equal(zpa_alloc_contig_range(m, base + 20 * PB + 7, base + 20 * PB + 8, ZPA_MIGRATE_MOVABLE, 0), 0);
	assert_int_equal(normal_free(m), free0 - 2 * PB - 1);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_contig_range(m, base + 10 * PB, 2 * PB), 0);
	assert_int_equal(zpa_free_contig_range(m, base + 20 * PB + 7, 1), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(normal_free(m), free0);
	/* Free pages held on per-CPU lists are drained into the range. */
	zpa_pfn_t lo = ~0ull, hi = 0, pages[64];
	for (unsigned i = 0; i < 64; i++) {
		pages[i] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		lo = pages[i] < lo ? pages[i] : lo;
		hi = pages[i] > hi ? pages[i] : hi;
	}
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(zpa_free_pages(m, pages[i], 0), 0);
	assert_true(zinfo(m, 0, ZPA_ZONE_NORMAL).pcp > 0);
	assert_int_equal(zpa_alloc_contig_range(m, lo, hi + 1, ZPA_MIGRATE_MOVABLE, 0), 0);
	assert_int_equal(zinfo(m, 0, ZPA_ZONE_NORMAL).pcp, 0);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_contig_range(m, lo, hi + 1 - lo), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(normal_free(m), free0);
	/* Bad arguments. */
	assert_int_equal(zpa_alloc_contig_range(m, s, s, ZPA_MIGRATE_MOVABLE, 0), ZPA_EINVAL);
	assert_int_equal(zpa_alloc_contig_range(m, s, e, ZPA_MIGRATE_UNMOVABLE, 0), ZPA_EINVAL);
	assert_int_equal(zpa_alloc_contig_range(m, base - 10, base + 10, ZPA_MIGRATE_MOVABLE, 0), ZPA_EINVAL);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A page in use inside the range (unmovable: isolation refuses; movable:
 * isolation works but the page cannot be migrated yet): ZPA_EBUSY, and the
 * free lists, pageblock types and counters are exactly as before.
 */
static void test_alloc_contig_range_busy(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = normal_machine(1 * GiB, 64, &log, -1);
	zpa_pfn_t base = (1 * GiB) >> 12, zend = base + 32 * PB;
	/* Busy pages that keep their pageblocks MOVABLE, as alloc_contig_range() requires of
	 * the range: an unmovable page (one alloc_contig_range() made), a movable page, and
	 * a movable compound page. */
	zpa_gfp_t kinds[] = { 0, ZPA_GFP_HIGHUSER_MOVABLE, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP };
	unsigned orders[] = { 0, 0, 4 };
	for (unsigned k = 0; k < 3; k++) {
		zpa_pfn_t busy = base + 9 * PB + 77;
		if (kinds[k])
			busy = zpa__alloc_pages(m, NULL, kinds[k], orders[k], -1, NULL);
		else
			assert_int_equal(zpa_alloc_contig_range(m, busy, busy + 1, ZPA_MIGRATE_MOVABLE, 0), 0);
		assert_true(busy != ZPA_PFN_NONE);
		zpa_drain_all_pages(m);
		char *buddy0 = view(m, "buddyinfo"), *pti0 = view(m, "pagetypeinfo");
		uint64_t free0 = normal_free(m);
		zpa_pfn_t s = (busy & ~(PB - 1)) >= base + PB ? (busy & ~(PB - 1)) - 700 : base + 3;
		zpa_pfn_t e = busy + 900 < zend ? busy + 900 : zend;
		assert_int_equal(zpa_alloc_contig_range(m, s, e, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL), ZPA_EBUSY);
		assert_int_equal(normal_free(m), free0);
		assert_view_same(m, "buddyinfo", buddy0);
		assert_view_same(m, "pagetypeinfo", pti0);
		struct zpa_page_info pi = pinfo(m, busy);
		assert_true(pi.allocated);
		assert_int_equal(pi.refcount, 1);
		zt_assert_clean(m);
		if (kinds[k]) {
			/* The pages next to a movable page can still be had. */
			assert_int_equal(zpa_alloc_contig_range(m, s, busy, ZPA_MIGRATE_MOVABLE, 0), 0);
			assert_int_equal(zpa_free_contig_range(m, s, busy - s), 0);
		} else {
			/* An unmovable page stops every range whose first or last pageblock holds it. */
			assert_int_equal(zpa_alloc_contig_range(m, s, busy, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
			assert_int_equal(zpa_alloc_contig_range(m, s, busy & ~(PB - 1), ZPA_MIGRATE_MOVABLE, 0), 0);
			assert_int_equal(zpa_free_contig_range(m, s, (busy & ~(PB - 1)) - s), 0);
		}
		assert_int_equal(zpa_free_pages(m, busy, orders[k]), 0);
		zpa_drain_all_pages(m);
		free(buddy0);
		free(pti0);
		zt_assert_clean(m);
	}
	zpa_machine_destroy(m);
}

/* alloc_contig_pages(): aligned search per zone, node choice, failure when nothing fits. */
static void test_alloc_contig_pages(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	/* An unmovable page in every pageblock of the first half of the zone. */
	zpa_pfn_t hold[16];
	for (unsigned i = 0; i < 16; i++) {
		zpa_pfn_t at = base + i * PB + 33;
		assert_int_equal(zpa_alloc_contig_range(m, at, at + 1, ZPA_MIGRATE_MOVABLE, 0), 0);
		hold[i] = at;
	}
	uint64_t free0 = normal_free(m);
	zpa_pfn_t p = zpa_alloc_contig_pages(m, 4096, ZPA_GFP_KERNEL, 0, NULL);
	assert_true(p != ZPA_PFN_NONE);
	/* Candidates go up from the zone's start in aligned steps: the first free one. */
	assert_int_equal(p, base + 8192);
	assert_int_equal(normal_free(m), free0 - 4096);
	for (zpa_pfn_t q = p; q < p + 4096; q++)
		assert_int_equal(pinfo(m, q).refcount, 1);
	zt_assert_clean(m);
	/* A size that is not a power of two. */
	zpa_pfn_t r = zpa_alloc_contig_pages(m, 700, ZPA_GFP_KERNEL, -1, NULL);
	assert_true(r != ZPA_PFN_NONE);
	assert_true(r >= p + 4096 && r + 700 <= base + 16384);
	/* Larger than any hole-free run that is left: nothing. */
	assert_int_equal(zpa_alloc_contig_pages(m, 8192, ZPA_GFP_KERNEL, 0, NULL), ZPA_PFN_NONE);
	assert_int_equal(zpa_alloc_contig_pages(m, 0, ZPA_GFP_KERNEL, 0, NULL), ZPA_PFN_NONE);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_contig_range(m, p, 4096), 0);
	assert_int_equal(zpa_free_contig_range(m, r, 700), 0);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(zpa_free_pages(m, hold[i], 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	/* Two nodes: the zonelist of the node asked for, and its nodemask. */
	struct zpa_machine_config cfg;
	zt_config_all_zones(&cfg, NULL);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	p = zpa_alloc_contig_pages(m, 1024, ZPA_GFP_KERNEL, 1, NULL);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(pinfo(m, p).nid, 1);
	assert_int_equal(pinfo(m, p).zone_type, ZPA_ZONE_NORMAL);
	zpa_nodemask_t only0;
	zpa_nodemask_clear(&only0);
	zpa_nodemask_set(&only0, 0);
	r = zpa_alloc_contig_pages(m, 1024, ZPA_GFP_KERNEL, 1, &only0);
	assert_true(r != ZPA_PFN_NONE);
	assert_int_equal(pinfo(m, r).nid, 0);
	zpa_pfn_t d = zpa_alloc_contig_pages(m, 256, ZPA_GFP_KERNEL | ZPA_GFP_DMA, 1, NULL);
	assert_true(d != ZPA_PFN_NONE);
	assert_int_equal(pinfo(m, d).zone_type, ZPA_ZONE_DMA);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_contig_range(m, p, 1024), 0);
	assert_int_equal(zpa_free_contig_range(m, r, 1024), 0);
	assert_int_equal(zpa_free_contig_range(m, d, 256), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* free_contig_range() on pages still referenced elsewhere warns, and a bad page reports. */
static void test_free_contig_range_errors(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = normal_machine(1 * GiB, 16, &log, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	assert_int_equal(zpa_alloc_contig_range(m, base + 10, base + 20, ZPA_MIGRATE_MOVABLE, 0), 0);
	assert_int_equal(zpa_get_page(m, base + 12), 0);
	bool ok;
	uint64_t warns = zpa_vmstat(m, "zpa_warn", &ok);
	assert_int_equal(zpa_free_contig_range(m, base + 10, 10), 0);
	assert_int_equal(zpa_vmstat(m, "zpa_warn", &ok), warns + 1);
	assert_true(pinfo(m, base + 12).allocated);
	/* The last reference, then a double free. */
	assert_int_equal(zpa_free_contig_range(m, base + 12, 1), 0);
	uint64_t bad = zpa_vmstat(m, "zpa_bad_page", &ok);
	assert_int_equal(zpa_free_contig_range(m, base + 12, 1), ZPA_EDOUBLEFREE);
	assert_int_equal(zpa_vmstat(m, "zpa_bad_page", &ok), bad + 1);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Pull "<key> <number>" out of the Normal zone's zoneinfo block of node nid. */
static uint64_t zoneinfo_field(struct zpa_machine *m, int nid, const char *key)
{
	char *zi = view(m, "zoneinfo");
	char head[64];
	snprintf(head, sizeof head, "Node %d, zone   Normal", nid);
	char *at = strstr(zi, head);
	assert_non_null(at);
	char *k = strstr(at, key);
	assert_non_null(k);
	uint64_t v = strtoull(k + strlen(key), NULL, 10);
	free(zi);
	return v;
}

/* Pages counted by /proc/buddyinfo for node 0's Normal zone. */
static uint64_t buddyinfo_pages(struct zpa_machine *m)
{
	char *bi = view(m, "buddyinfo");
	char *at = strstr(bi, "Node 0, zone   Normal");
	assert_non_null(at);
	at += strlen("Node 0, zone   Normal");
	uint64_t pages = 0;
	for (unsigned o = 0; o < zpa_max_order(m); o++)
		pages += strtoull(at, &at, 10) << o;
	free(bi);
	return pages;
}

/* The watermarks follow the managed pages: the formulas of zone.c for one lowmem zone. */
static void assert_watermarks_match(struct zpa_machine *m, long min_free_kbytes, long scale)
{
	struct zpa_zone_info z = zinfo(m, 0, ZPA_ZONE_NORMAL);
	uint64_t min = (uint64_t)min_free_kbytes / 4, gap = z.managed * (uint64_t)scale / 10000;
	if (min / 4 > gap)
		gap = min / 4;
	assert_int_equal(z.min, min);
	assert_int_equal(z.low, min + gap);
	assert_int_equal(z.high, min + 2 * gap);
	uint64_t reserve = z.high < z.managed ? z.high : z.managed;
	assert_int_equal(zpa_totalreserve_pages(m), reserve);
}

/*
 * Offline the top 32 MiB of a zone and bring it back: counts, span,
 * watermarks, the views and allocations follow; then the same in the middle
 * of the zone (the span stays).
 */
static void test_offline_online_round_trip(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = normal_machine(1 * GiB, 256, &log, 4096);
	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "1000"), 0);
	zpa_pfn_t base = (1 * GiB) >> 12;
	const unsigned long N = 8192; /* 32 MiB */
	struct zpa_zone_info z0 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	char *pti0 = view(m, "pagetypeinfo"), *buddy0 = view(m, "buddyinfo");
	assert_watermarks_match(m, 4096, 1000);
	zpa_pfn_t top = base + z0.spanned - N;

	assert_int_equal(zpa_offline_pages(m, top, N), 0);
	struct zpa_zone_info z1 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_int_equal(z1.present, z0.present - N);
	assert_int_equal(z1.managed, z0.managed - N);
	assert_int_equal(z1.spanned, z0.spanned - N);
	assert_int_equal(z1.start_pfn, z0.start_pfn);
	assert_int_equal(z1.free, z0.free - N);
	assert_int_equal(zpa_total_managed(m), z0.managed - N);
	assert_true(z1.low < z0.low);
	assert_watermarks_match(m, 4096, 1000);
	assert_int_equal(zoneinfo_field(m, 0, "present "), z1.present);
	assert_int_equal(zoneinfo_field(m, 0, "managed "), z1.managed);
	assert_int_equal(zoneinfo_field(m, 0, "spanned "), z1.spanned);
	assert_int_equal(zoneinfo_field(m, 0, "high "), z1.high);
	assert_int_equal(buddyinfo_pages(m), z1.free);
	struct zpa_page_info pi = pinfo(m, top + 5);
	assert_true(pi.reserved);
	assert_false(pi.buddy || pi.allocated);
	zt_assert_clean(m);

	/* Allocating everything never touches the offline range; a free there is refused. */
	static zpa_pfn_t got[70000];
	size_t n = exhaust(m, ZPA_GFP_HIGHUSER_MOVABLE, 0, got, 70000);
	assert_int_equal(n, z1.free);
	for (size_t i = 0; i < n; i++)
		assert_true(got[i] < top);
	free_all(m, got, n, 0);
	zpa_drain_all_pages(m);
	bool ok;
	uint64_t bad = zpa_vmstat(m, "zpa_bad_page", &ok);
	assert_true(zpa_free_pages(m, top, 0) < 0);
	assert_int_equal(zpa_vmstat(m, "zpa_bad_page", &ok), bad + 1);
	/* Offline again or a part of it: not RAM any more. */
	assert_int_equal(zpa_offline_pages(m, top, PB), ZPA_EINVAL);
	zt_assert_clean(m);

	assert_int_equal(zpa_online_pages(m, top, N), 0);
	struct zpa_zone_info z2 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_int_equal(z2.present, z0.present);
	assert_int_equal(z2.managed, z0.managed);
	assert_int_equal(z2.spanned, z0.spanned);
	assert_int_equal(z2.free, z0.free);
	assert_int_equal(z2.min, z0.min);
	assert_int_equal(z2.low, z0.low);
	assert_int_equal(z2.high, z0.high);
	assert_int_equal(pinfo(m, top).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_view_same(m, "buddyinfo", buddy0);
	assert_view_same(m, "pagetypeinfo", pti0);
	assert_int_equal(zoneinfo_field(m, 0, "managed "), z0.managed);
	/* Online memory twice: refused. */
	assert_int_equal(zpa_online_pages(m, top, N), ZPA_EINVAL);
	zt_assert_clean(m);

	/* The middle of the zone: the span stays, the counts drop. */
	zpa_pfn_t mid = base + 64 * PB;
	assert_int_equal(zpa_offline_pages(m, mid, 3 * PB), 0);
	struct zpa_zone_info z3 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_int_equal(z3.spanned, z0.spanned);
	assert_int_equal(z3.present, z0.present - 3 * PB);
	assert_int_equal(z3.managed, z0.managed - 3 * PB);
	assert_watermarks_match(m, 4096, 1000);
	zt_assert_clean(m);
	/* Part of it comes back first, then the rest. */
	assert_int_equal(zpa_online_pages(m, mid + PB, PB), 0);
	assert_int_equal(zinfo(m, 0, ZPA_ZONE_NORMAL).managed, z0.managed - 2 * PB);
	zt_assert_clean(m);
	assert_int_equal(zpa_online_pages(m, mid, PB), 0);
	assert_int_equal(zpa_online_pages(m, mid + 2 * PB, PB), 0);
	assert_view_same(m, "buddyinfo", buddy0);
	assert_view_same(m, "pagetypeinfo", pti0);
	free(pti0);
	free(buddy0);

	/* The bottom of the zone: the start moves up and back. */
	assert_int_equal(zpa_offline_pages(m, base, 4 * PB), 0);
	assert_int_equal(zinfo(m, 0, ZPA_ZONE_NORMAL).start_pfn, base + 4 * PB);
	assert_int_equal(zinfo(m, 0, ZPA_ZONE_NORMAL).spanned, z0.spanned - 4 * PB);
	assert_int_equal(zoneinfo_field(m, 0, "start_pfn:"), base + 4 * PB);
	zt_assert_clean(m);
	assert_int_equal(zpa_online_pages(m, base, 4 * PB), 0);
	assert_int_equal(zinfo(m, 0, ZPA_ZONE_NORMAL).start_pfn, base);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Watermarks follow the managed count when min_free_kbytes is computed (not set by the user). */
static void test_offline_recomputes_min_free_kbytes(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 256, NULL, -1);
	char before[32], after[32];
	assert_true(zpa_sysctl_get(m, "min_free_kbytes", before, sizeof before) > 0);
	struct zpa_zone_info z0 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_int_equal(zpa_offline_pages(m, ((1 * GiB) >> 12) + 64 * PB, 64 * PB), 0); /* half of it */
	assert_true(zpa_sysctl_get(m, "min_free_kbytes", after, sizeof after) > 0);
	assert_true(strtol(after, NULL, 10) < strtol(before, NULL, 10));
	struct zpa_zone_info z1 = zinfo(m, 0, ZPA_ZONE_NORMAL);
	assert_true(z1.min < z0.min);
	assert_int_equal(z1.min, (uint64_t)strtol(after, NULL, 10) / 4);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Offlining what cannot go: pages in use, holes, zone boundaries, misalignment. */
static void test_offline_refusals(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1 * GiB, 1 * GiB + 32 * MiB, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 1 * GiB + 36 * MiB, 1 * GiB + 64 * MiB, ZPA_RANGE_USABLE, 0); /* 4 MiB hole */
	cfg.nr_cpus = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.exact_vmstat = true;
	cfg.log = zt_log_fn;
	cfg.log_arg = &log;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	zpa_pfn_t base = (1 * GiB) >> 12;
	char *zi0 = view(m, "zoneinfo");

	assert_int_equal(zpa_offline_pages(m, base + 15 * PB, 2 * PB), ZPA_EINVAL);  /* covers the hole */
	assert_int_equal(zpa_offline_pages(m, base + 1, PB), ZPA_EINVAL);            /* misaligned */
	assert_int_equal(zpa_offline_pages(m, base, PB + 1), ZPA_EINVAL);
	assert_int_equal(zpa_offline_pages(m, base, 0), ZPA_EINVAL);
	assert_int_equal(zpa_offline_pages(m, base - PB, 2 * PB), ZPA_EINVAL);       /* outside */
	assert_int_equal(zpa_online_pages(m, base, PB), ZPA_EINVAL);                 /* not offline */

	/* Unmovable and movable pages in use: busy, state unchanged. */
	zpa_pfn_t k = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	zpa_pfn_t mv = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 2);
	zpa_drain_all_pages(m);
	char *bi = view(m, "buddyinfo"), *pt = view(m, "pagetypeinfo");
	assert_int_equal(zpa_offline_pages(m, k & ~(PB - 1), PB), ZPA_EBUSY);
	assert_int_equal(zpa_offline_pages(m, mv & ~(PB - 1), PB), ZPA_EBUSY);
	assert_view_same(m, "buddyinfo", bi);
	assert_view_same(m, "pagetypeinfo", pt);
	assert_true(log.count > 0);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_pages(m, k, 0), 0);
	assert_int_equal(zpa_free_pages(m, mv, 2), 0);
	zpa_drain_all_pages(m);
	free(bi);
	free(pt);
	free(zi0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A node's only zone goes offline: the zone is unpopulated, the zonelists
 * are rebuilt without it (allocations for that node go to the other one,
 * __GFP_THISNODE fails), and onlining brings it back.
 */
static void test_offline_whole_node(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1 * GiB, 1 * GiB + 128 * MiB, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 2 * GiB, 2 * GiB + 64 * MiB, ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[0] = 0;
	cfg.cpu_node[1] = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	zpa_pfn_t n1 = (2 * GiB) >> 12;
	struct zpa_zone_info before = zinfo(m, 1, ZPA_ZONE_NORMAL);

	zpa_pfn_t p = zpa_alloc_pages_node(m, 1, ZPA_GFP_KERNEL, 0);
	assert_int_equal(pinfo(m, p).nid, 1);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);

	assert_int_equal(zpa_offline_pages(m, n1, 16384), 0);
	struct zpa_zone_info z = zinfo(m, 1, ZPA_ZONE_NORMAL);
	assert_int_equal(z.present, 0);
	assert_int_equal(z.managed, 0);
	assert_int_equal(z.spanned, 0);
	assert_int_equal(z.free, 0);
	assert_int_equal(zoneinfo_field(m, 1, "present "), 0);
	for (int i = 0; i < 100; i++) {
		p = zpa_alloc_pages_node(m, 1, ZPA_GFP_KERNEL, 0);
		assert_true(p != ZPA_PFN_NONE);
		assert_int_equal(pinfo(m, p).nid, 0);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
	}
	assert_int_equal(zpa_alloc_pages_node(m, 1, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN, 0),
			 ZPA_PFN_NONE);
	/* The zonelists were rebuilt without the empty zone. */
	char *zl = view(m, "zonelists");
	assert_null(strstr(zl, "Normal(1)"));
	assert_non_null(strstr(zl, "Node 1 zonelist: Normal(0)\n"));
	free(zl);
	zt_assert_clean(m);

	assert_int_equal(zpa_online_pages(m, n1, 16384), 0);
	z = zinfo(m, 1, ZPA_ZONE_NORMAL);
	assert_int_equal(z.present, before.present);
	assert_int_equal(z.managed, before.managed);
	assert_int_equal(z.spanned, before.spanned);
	assert_int_equal(z.start_pfn, before.start_pfn);
	zl = view(m, "zonelists");
	assert_non_null(strstr(zl, "Node 1 zonelist: Normal(1) Normal(0)\n"));
	assert_non_null(strstr(zl, "Node 1 nofallback: Normal(1)\n"));
	free(zl);
	p = zpa_alloc_pages_node(m, 1, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE, 0);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(pinfo(m, p).nid, 1);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

struct churn {
	struct zpa_machine *m;
	atomic_int stop;
	unsigned long rounds;
};

/* Another thread allocates and frees order-0 pages through its own per-thread lists. */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	zpa_pfn_t p[64];
	while (!atomic_load(&c->stop)) {
		for (int i = 0; i < 64; i++)
			p[i] = zpa_alloc_pages(c->m, i & 1 ? ZPA_GFP_HIGHUSER_MOVABLE : ZPA_GFP_KERNEL, 0);
		for (int i = 0; i < 64; i++)
			if (p[i] != ZPA_PFN_NONE && zpa_free_pages(c->m, p[i], 0))
				abort();
		c->rounds++;
	}
	return NULL;
}

/*
 * alloc_contig_range() while another thread allocates and frees: every
 * call either gets the whole range (each page allocated once, refcount 1)
 * or fails busy, and the state stays consistent.
 */
static void test_contig_range_under_churn(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_machine(1 * GiB, 64, NULL, -1);
	zpa_pfn_t base = (1 * GiB) >> 12;
	uint64_t free0 = normal_free(m);
	struct churn c = { .m = m };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, churn_thread, &c), 0);
	unsigned ok = 0, busy = 0;
	for (unsigned i = 0; i < 200; i++) {
		zpa_pfn_t s = base + (i % 24) * PB + 17 * i % 300, e = s + 700 + (i % 5) * 300;
		int rc = zpa_alloc_contig_range(m, s, e, ZPA_MIGRATE_MOVABLE, ZPA___GFP_NOWARN);
		if (rc == ZPA_EBUSY) {
			busy++;
			continue;
		}
		assert_int_equal(rc, 0);
		ok++;
		for (zpa_pfn_t p = s; p < e; p++) {
			struct zpa_page_info pi = pinfo(m, p);
			assert_true(pi.allocated);
			assert_int_equal(pi.refcount, 1);
			assert_int_equal(pi.order, 0);
		}
		assert_int_equal(zpa_free_contig_range(m, s, e - s), 0);
	}
	atomic_store(&c.stop, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(ok > 0);
	assert_true(c.rounds > 0);
	zpa_drain_all_pages(m);
	assert_int_equal(normal_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isolation_keeps_allocations_out),
		cmocka_unit_test(test_isolation_splits_and_remerges),
		cmocka_unit_test(test_isolation_refuses_straddling_block),
		cmocka_unit_test(test_frees_into_isolated_block),
		cmocka_unit_test(test_alloc_contig_range_free_range),
		cmocka_unit_test(test_alloc_contig_range_busy),
		cmocka_unit_test(test_alloc_contig_pages),
		cmocka_unit_test(test_free_contig_range_errors),
		cmocka_unit_test(test_contig_range_under_churn),
		cmocka_unit_test(test_offline_online_round_trip),
		cmocka_unit_test(test_offline_recomputes_min_free_kbytes),
		cmocka_unit_test(test_offline_refusals),
		cmocka_unit_test(test_offline_whole_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
