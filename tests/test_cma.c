/*
 * test_cma.c - CMA areas (zpa/contig.h): activation at machine creation,
 * the counters and views, the rule that only movable requests take CMA
 * pages (and when they take them first), cma_alloc()/cma_release(), and
 * the isolation rules for CMA pageblocks.  Each test ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PB 512ul

static const uint64_t BASE = 1 * GiB;          /* RAM [1 GiB, 1 GiB + 128 MiB), Normal only */
#define BASE_PFN ((zpa_pfn_t)(BASE >> 12))

/* The machine of every test: 128 MiB of Normal memory, an optional CMA area, exact counters. */
static struct zpa_machine *cma_machine(uint64_t cma_off, uint64_t cma_size, struct zt_log *log)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, BASE, BASE + 128 * MiB, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.exact_vmstat = true;
	if (log) {
		cfg.log = zt_log_fn;
		cfg.log_arg = log;
	}
	if (cma_size)
		assert_int_equal(zpa_config_add_cma(&cfg, BASE + cma_off, cma_size, "test"), 0);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static uint64_t vm(struct zpa_machine *m, const char *name)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, name, &ok);
	assert_true(ok);
	return v;
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

static bool in_area(const struct zpa_cma_info *ci, zpa_pfn_t p)
{
	return p >= ci->base_pfn && p < ci->base_pfn + ci->count;
}

/* A task that ignores watermarks (PF_MEMALLOC), on CPU 0. */
static struct zpa_task *memalloc_task(void)
{
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	return t;
}

/* Area set up at creation: counts, pageblock types, views, watermarks as without CMA. */
static void test_cma_activation(void **state)
{
	(void)state;
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, NULL);
	struct zpa_machine *plain = cma_machine(0, 0, NULL);

	assert_int_equal(zpa_cma_count(m), 1);
	assert_int_equal(zpa_cma_count(plain), 0);
	struct zpa_cma *cma = zpa_cma_find(m, "test");
	assert_non_null(cma);
	assert_ptr_equal(zpa_cma_area(m, 0), cma);
	assert_null(zpa_cma_area(m, 1));
	assert_null(zpa_cma_find(m, "other"));
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_string_equal(ci.name, "test");
	assert_int_equal(ci.base_pfn, BASE_PFN + 8192);
	assert_int_equal(ci.count, 16384);
	assert_int_equal(ci.used, 0);
	assert_int_equal(ci.nid, 0);
	assert_int_equal(ci.zone_type, ZPA_ZONE_NORMAL);

	struct zpa_zone_info z, zp;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z), 0);
	assert_int_equal(zpa_zone_info(plain, 0, ZPA_ZONE_NORMAL, &zp), 0);
	/* CMA pages are managed and free like the rest, so the watermarks do not change. */
	assert_int_equal(z.managed, 32768);
	assert_int_equal(z.present, 32768);
	assert_int_equal(z.free, 32768);
	assert_int_equal(z.min, zp.min);
	assert_int_equal(z.low, zp.low);
	assert_int_equal(z.high, zp.high);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(vm(plain, "nr_free_cma"), 0);
	assert_int_equal(pinfo(m, ci.base_pfn).pageblock_migratetype, ZPA_MIGRATE_CMA);
	assert_int_equal(pinfo(m, ci.base_pfn + ci.count - 1).pageblock_migratetype, ZPA_MIGRATE_CMA);
	assert_int_equal(pinfo(m, ci.base_pfn - 1).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);
	assert_int_equal(pinfo(m, ci.base_pfn + ci.count).pageblock_migratetype, ZPA_MIGRATE_MOVABLE);

	/* zoneinfo's cma line; pagetypeinfo gets a CMA row and column only with CMA. */
	char *zi = view(m, "zoneinfo");
	char *at = strstr(strstr(zi, "Node 0, zone   Normal"), "        cma ");
	assert_non_null(at);
	assert_int_equal(strtoull(at + strlen("        cma "), NULL, 10), 16384);
	free(zi);
	char *pt = view(m, "pagetypeinfo"), *ptp = view(plain, "pagetypeinfo");
	assert_non_null(strstr(pt, "type          CMA "));
	assert_null(strstr(ptp, "CMA"));
	char *blocks = strstr(pt, "Number of blocks type");
	assert_non_null(blocks);
	assert_non_null(strstr(blocks, "         CMA"));
	char *line = strstr(blocks, "Node 0, zone   Normal");
	assert_non_null(line);
	line += strlen("Node 0, zone   Normal");
	unsigned long n[6];
	for (int i = 0; i < 6; i++)
		n[i] = strtoul(line, &line, 10);
	/* Unmovable Movable Reclaimable HighAtomic CMA Isolate */
	assert_int_equal(n[1], 32);
	assert_int_equal(n[4], 32);
	assert_int_equal(n[0] + n[2] + n[3] + n[5], 0);
	free(pt);
	free(ptp);
	zt_assert_clean(m);
	zt_assert_clean(plain);
	zpa_machine_destroy(m);
	zpa_machine_destroy(plain);
}

/*
 * Unmovable, reclaimable and atomic requests never get a CMA page, not even
 * when CMA memory is all that is left and watermarks are ignored; movable
 * requests then still succeed, from CMA.
 */
static void test_cma_only_for_movable(void **state)
{
	(void)state;
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, NULL);
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(zpa_cma_find(m, "test"), &ci), 0);
	struct zpa_task *t = memalloc_task();
	static zpa_pfn_t got[40000];
	static unsigned order_of[40000];
	size_t n = 0;
	struct { zpa_gfp_t gfp; unsigned order; } runs[] = {
		/* (no atomic order > 0: that would reserve high-atomic pageblocks) */
		{ ZPA_GFP_KERNEL, 4 }, { ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE, 3 }, { ZPA_GFP_ATOMIC, 0 },
		{ ZPA_GFP_KERNEL, 0 }, { ZPA_GFP_NOWAIT, 0 },
	};
	for (unsigned r = 0; r < 5; r++)
		for (;;) {
			zpa_pfn_t p = zpa__alloc_pages(m, t, runs[r].gfp | ZPA___GFP_NOWARN, runs[r].order, -1, NULL);
			if (p == ZPA_PFN_NONE)
				break;
			assert_false(in_area(&ci, p));
			assert_false(in_area(&ci, p + (1ul << runs[r].order) - 1));
			order_of[n] = runs[r].order;
			got[n++] = p;
		}
	zpa_drain_local_pages(m, t);
	/* All that is free now is the CMA area. */
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(vm(m, "nr_free_pages"), 16384);
	assert_int_equal(zpa__alloc_pages(m, t, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, -1, NULL), ZPA_PFN_NONE);
	zt_assert_clean(m);

	/* Movable requests, per-CPU (order 0) and buddy (order 5), from CMA. */
	zpa_pfn_t mv0 = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, -1, NULL);
	zpa_pfn_t mv5 = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 5, -1, NULL);
	assert_true(in_area(&ci, mv0));
	assert_true(in_area(&ci, mv5));
	/* A movable page on CMA stays a movable page: no pageblock changed type. */
	assert_int_equal(pinfo(m, mv5).pageblock_migratetype, ZPA_MIGRATE_CMA);
	zt_assert_clean(m);
	assert_int_equal(zpa__free_pages(m, t, mv0, 0), 0);
	assert_int_equal(zpa__free_pages(m, t, mv5, 5), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zpa__free_pages(m, t, got[i], order_of[i]), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(vm(m, "nr_free_pages"), 32768);
	assert_int_equal(pinfo(m, ci.base_pfn).pageblock_migratetype, ZPA_MIGRATE_CMA);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * __rmqueue's balance (Linux 6.1): a movable request takes CMA pages first
 * while free CMA pages are more than half of the zone's free pages, else
 * from its own lists, and from CMA once those are empty.  Order-5 requests
 * go straight to the buddy lists, so each one shows the rule.
 */
static void test_cma_balance(void **state)
{
	(void)state;
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, NULL);
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(zpa_cma_find(m, "test"), &ci), 0);
	struct zpa_task *t = memalloc_task();
	static zpa_pfn_t got[1100];
	size_t n = 0, from_cma = 0, cma_while_other_free = 0, other = 0;
	for (;;) {
		uint64_t cma = vm(m, "nr_free_cma"), free = vm(m, "nr_free_pages");
		zpa_pfn_t p = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 5, -1, NULL);
		if (p == ZPA_PFN_NONE)
			break;
		got[n++] = p;
		bool c = in_area(&ci, p);
		from_cma += c;
		if (cma > free / 2) {
			assert_true(c);
			cma_while_other_free += free - cma >= 32;
		} else {
			/* The movable lists hold order-5 blocks (every allocation here is one). */
			assert_true(free - cma >= 32);
			assert_false(c);
			other++;
		}
	}
	assert_int_equal(n, 1024); /* everything, in order-5 blocks */
	assert_int_equal(from_cma, 512);
	/* The two kinds interleave: CMA was taken while other memory was still free. */
	assert_true(cma_while_other_free > 100);
	assert_true(other > 100);
	zt_assert_clean(m);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zpa__free_pages(m, t, got[i], 5), 0);
	zpa_task_destroy(t);
	zpa_drain_all_pages(m);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * With the movable lists empty, a movable request takes CMA pages before it
 * borrows from another type's lists (__rmqueue_cma_fallback before
 * __rmqueue_fallback), even when CMA is not over half of the free pages.
 */
static void test_cma_fallback_before_stealing(void **state)
{
	(void)state;
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, NULL);
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(zpa_cma_find(m, "test"), &ci), 0);
	struct zpa_task *t = memalloc_task();
	static zpa_pfn_t got[20000];
	size_t n = 0;
	zpa_pfn_t p;
	/* Unmovable pages take over every other pageblock; freed, they stay on unmovable lists. */
	while ((p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, -1, NULL)) != ZPA_PFN_NONE)
		got[n++] = p;
	assert_int_equal(n, 16384);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zpa__free_pages(m, t, got[i], 0), 0);
	zpa_drain_all_pages(m);
	char *pt = view(m, "pagetypeinfo");
	char *line = strstr(strstr(pt, "Number of blocks type"), "Node 0, zone   Normal") + strlen("Node 0, zone   Normal");
	unsigned long unmovable = strtoul(line, &line, 10), movable = strtoul(line, &line, 10);
	free(pt);
	assert_int_equal(unmovable, 32);
	assert_int_equal(movable, 0);
	assert_int_equal(vm(m, "nr_free_cma"), vm(m, "nr_free_pages") / 2); /* not over half */

	for (unsigned order = 0; order <= 5; order += 5) {
		p = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE, order, -1, NULL);
		assert_true(in_area(&ci, p));
		assert_int_equal(zpa__free_pages(m, t, p, order), 0);
	}
	zpa_drain_all_pages(m);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* cma_alloc(): lowest fitting aligned run, bitmap bookkeeping, release, statistics. */
static void test_cma_alloc_release(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, &log);
	struct zpa_cma *cma = zpa_cma_find(m, "test");
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	const zpa_pfn_t b = ci.base_pfn;
	char *buddy0 = view(m, "buddyinfo");

	zpa_pfn_t a = zpa_cma_alloc(cma, 1000, 0, false);
	assert_int_equal(a, b);
	for (zpa_pfn_t p = a; p < a + 1000; p++) {
		struct zpa_page_info pi = pinfo(m, p);
		assert_true(pi.allocated);
		assert_int_equal(pi.refcount, 1);
		assert_int_equal(pi.order, 0);
	}
	assert_int_equal(vm(m, "nr_free_cma"), 16384 - 1000);
	assert_int_equal(pinfo(m, b).pageblock_migratetype, ZPA_MIGRATE_CMA);
	/* 2^9 alignment: the first 512-aligned free run is at index 1024. */
	zpa_pfn_t c = zpa_cma_alloc(cma, 512, 9, false);
	assert_int_equal(c, b + 1024);
	/* 2^4: index 1008 would overlap 1024; the search goes on after the set bit to 1536. */
	zpa_pfn_t d = zpa_cma_alloc(cma, 100, 4, false);
	assert_int_equal(d, b + 1536);
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_int_equal(ci.used, 1612);
	assert_int_equal(vm(m, "nr_free_cma"), 16384 - 1612);
	zt_assert_clean(m);

	/* Too big: nothing, counted, logged unless no_warn. */
	int logged = log.count;
	assert_int_equal(zpa_cma_alloc(cma, 16384, 0, true), ZPA_PFN_NONE);
	assert_int_equal(log.count, logged);
	assert_int_equal(zpa_cma_alloc(cma, 16000, 0, false), ZPA_PFN_NONE);
	assert_int_equal(log.count, logged + 1);
	assert_non_null(strstr(log.last, "alloc failed"));
	assert_int_equal(zpa_cma_alloc(cma, 16385, 0, false), ZPA_PFN_NONE); /* larger than the area */
	assert_int_equal(zpa_cma_alloc(cma, 0, 0, true), ZPA_PFN_NONE);
	assert_int_equal(zpa_cma_alloc(NULL, 10, 0, true), ZPA_PFN_NONE);

	/* Release: outside the area or past its end is refused and frees nothing. */
	assert_int_equal(zpa_cma_release(cma, b - 1, 1), ZPA_EINVAL);
	assert_int_equal(zpa_cma_release(cma, b + 16383, 2), ZPA_EINVAL);
	assert_int_equal(zpa_cma_release(NULL, b, 1), ZPA_EINVAL);
	assert_true(pinfo(m, b + 16383).buddy || !pinfo(m, b + 16383).allocated);
	assert_int_equal(zpa_cma_release(cma, a, 1000), 0);
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_int_equal(ci.used, 612);
	assert_int_equal(zpa_cma_alloc(cma, 1000, 0, false), b);
	assert_int_equal(zpa_cma_release(cma, b, 1000), 0);
	assert_int_equal(zpa_cma_release(cma, c, 512), 0);
	assert_int_equal(zpa_cma_release(cma, d, 100), 0);
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_int_equal(ci.used, 0);
	assert_int_equal(ci.alloc_pages_success, 1000 + 512 + 100 + 1000);
	assert_int_equal(ci.alloc_pages_fail, 16384 + 16000 + 16385);
	zpa_drain_all_pages(m);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	char *buddy1 = view(m, "buddyinfo");
	assert_string_equal(buddy1, buddy0);
	free(buddy0);
	free(buddy1);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A run with a page in use is busy: cma_alloc() moves on past it, or fails cleanly. */
static void test_cma_alloc_busy(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, &log);
	struct zpa_cma *cma = zpa_cma_find(m, "test");
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	const zpa_pfn_t b = ci.base_pfn;

	/* A page in use inside the area that the area's bitmap does not know of. */
	assert_int_equal(zpa_alloc_contig_range(m, b + 100, b + 101, ZPA_MIGRATE_CMA, 0), 0);
	zpa_pfn_t r = zpa_cma_alloc(cma, 128, 7, false);
	assert_int_equal(r, b + 128); /* [b, b + 128) was busy */
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_int_equal(ci.used, 128);
	assert_int_equal(ci.alloc_pages_fail, 0);
	assert_true(pinfo(m, b + 100).allocated);
	assert_int_equal(pinfo(m, b).pageblock_migratetype, ZPA_MIGRATE_CMA);
	zt_assert_clean(m);
	assert_int_equal(zpa_cma_release(cma, r, 128), 0);
	assert_int_equal(zpa_free_pages(m, b + 100, 0), 0);

	/* A movable page that landed on CMA (everything else is taken): the whole area is busy. */
	struct zpa_task *t = memalloc_task();
	static zpa_pfn_t got[20000];
	size_t n = 0;
	zpa_pfn_t p;
	while ((p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, -1, NULL)) != ZPA_PFN_NONE)
		got[n++] = p;
	zpa_pfn_t mv = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP, 3, -1, NULL);
	assert_true(in_area(&ci, mv));
	zpa_drain_all_pages(m);
	uint64_t cma_free = vm(m, "nr_free_cma");
	char *bi = view(m, "buddyinfo"), *pt = view(m, "pagetypeinfo");
	assert_int_equal(zpa_cma_alloc(cma, 16384, 0, true), ZPA_PFN_NONE);
	assert_int_equal(vm(m, "nr_free_cma"), cma_free);
	char *bi1 = view(m, "buddyinfo"), *pt1 = view(m, "pagetypeinfo");
	assert_string_equal(bi1, bi);
	assert_string_equal(pt1, pt);
	assert_true(pinfo(m, mv).allocated);
	assert_int_equal(zpa_cma_info(cma, &ci), 0);
	assert_int_equal(ci.used, 0);
	zt_assert_clean(m);
	free(bi);
	free(pt);
	free(bi1);
	free(pt1);
	assert_int_equal(zpa__free_pages(m, t, mv, 3), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(zpa__free_pages(m, t, got[i], 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* CMA pageblocks are isolated only for CMA, and CMA memory cannot be offlined. */
static void test_cma_isolation_rules(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = cma_machine(32 * MiB, 64 * MiB, &log);
	struct zpa_cma_info ci;
	assert_int_equal(zpa_cma_info(zpa_cma_find(m, "test"), &ci), 0);
	const zpa_pfn_t b = ci.base_pfn;

	assert_int_equal(zpa_start_isolate_page_range(m, b + PB, b + 3 * PB, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(zpa_start_isolate_page_range(m, b + PB, b + 3 * PB, ZPA_MIGRATE_CMA, 0), 0);
	assert_int_equal(vm(m, "nr_free_cma"), 16384 - 2 * PB);
	assert_int_equal(vm(m, "nr_free_pages"), 32768 - 2 * PB);
	assert_int_equal(pinfo(m, b + PB).pageblock_migratetype, ZPA_MIGRATE_ISOLATE);
	zt_assert_clean(m);
	assert_int_equal(zpa_undo_isolate_page_range(m, b + PB, b + 3 * PB, ZPA_MIGRATE_CMA), 0);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(pinfo(m, b + PB).pageblock_migratetype, ZPA_MIGRATE_CMA);

	assert_int_equal(zpa_alloc_contig_range(m, b + 10, b + 20, ZPA_MIGRATE_MOVABLE, 0), ZPA_EBUSY);
	assert_int_equal(zpa_alloc_contig_range(m, b + 10, b + 20, ZPA_MIGRATE_CMA, 0), 0);
	assert_int_equal(vm(m, "nr_free_cma"), 16384 - 10);
	assert_int_equal(zpa_free_contig_range(m, b + 10, 10), 0);
	zpa_drain_all_pages(m);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);

	assert_int_equal(zpa_offline_pages(m, b, 4 * PB), ZPA_EBUSY);
	struct zpa_zone_info z;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z), 0);
	assert_int_equal(z.managed, 32768);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	/* The memory below the area can go, and come back. */
	assert_int_equal(zpa_offline_pages(m, BASE_PFN, 16 * PB), 0);
	assert_int_equal(vm(m, "nr_free_cma"), 16384);
	assert_int_equal(zpa_online_pages(m, BASE_PFN, 16 * PB), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Areas that cannot be activated make zpa_machine_create() fail with a message. */
static void test_cma_bad_config(void **state)
{
	(void)state;
	struct { uint64_t base, size; bool reserved_overlap; } bad[] = {
		{ BASE + 1 * MiB, 4 * MiB, false },         /* base not pageblock aligned */
		{ BASE + 2 * MiB, 3 * MiB, false },         /* size not a pageblock multiple */
		{ BASE + 120 * MiB, 16 * MiB, false },      /* runs past the RAM */
		{ BASE + 32 * MiB, 8 * MiB, true },         /* over a reserved range */
		{ BASE - 4 * MiB, 8 * MiB, false },         /* starts outside the node */
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct zt_log log = { 0 };
		struct zpa_machine_config cfg;
		struct zpa_machine *m = NULL;
		zpa_machine_config_init(&cfg);
		zpa_config_add_range(&cfg, BASE, BASE + 128 * MiB, ZPA_RANGE_USABLE, 0);
		if (bad[i].reserved_overlap)
			zpa_config_add_range(&cfg, BASE + 36 * MiB, BASE + 37 * MiB, ZPA_RANGE_RESERVED, 0);
		cfg.nr_cpus = 1;
		cfg.dma_limit = 0;
		cfg.dma32_limit = 0;
		cfg.log = zt_log_fn;
		cfg.log_arg = &log;
		assert_int_equal(zpa_config_add_cma(&cfg, bad[i].base, bad[i].size, NULL), 0);
		assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL);
		assert_null(m);
		assert_non_null(strstr(log.last, "CMA area cma0 could not be activated"));
	}

	/* Two overlapping areas; one across the DMA32/Normal boundary; a hole. */
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m = NULL;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 4 * GiB - 64 * MiB, 4 * GiB + 64 * MiB, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.log = zt_log_fn;
	cfg.log_arg = &log;
	struct zpa_machine_config two = cfg, across = cfg;
	assert_int_equal(zpa_config_add_cma(&two, 4 * GiB, 8 * MiB, "a"), 0);
	assert_int_equal(zpa_config_add_cma(&two, 4 * GiB + 4 * MiB, 8 * MiB, "b"), 0);
	assert_int_equal(zpa_machine_create(&two, &m), ZPA_EINVAL);
	assert_non_null(strstr(log.last, "overlaps another CMA area"));
	assert_int_equal(zpa_config_add_cma(&across, 4 * GiB - 4 * MiB, 8 * MiB, "x"), 0);
	assert_int_equal(zpa_machine_create(&across, &m), ZPA_EINVAL);
	assert_non_null(strstr(log.last, "one zone"));
	struct zpa_machine_config holed = cfg;
	zpa_config_add_range(&holed, 4 * GiB + 128 * MiB, 4 * GiB + 192 * MiB, ZPA_RANGE_USABLE, 0);
	assert_int_equal(zpa_config_add_cma(&holed, 4 * GiB + 32 * MiB, 128 * MiB, NULL), 0);
	assert_int_equal(zpa_machine_create(&holed, &m), ZPA_EINVAL);
	assert_non_null(strstr(log.last, "hole"));

	/* The table fills up; a zero size is refused at once. */
	struct zpa_machine_config full = cfg;
	for (unsigned i = 0; i < ZPA_MAX_CMA_AREAS; i++)
		assert_int_equal(zpa_config_add_cma(&full, 4 * GiB + i * 4 * MiB, 4 * MiB, NULL), 0);
	assert_int_equal(zpa_config_add_cma(&full, 4 * GiB + 60 * MiB, 4 * MiB, NULL), ZPA_ENOMEM);
	assert_int_equal(zpa_config_add_cma(&full, 4 * GiB, 0, NULL), ZPA_EINVAL);
	assert_string_equal(full.cma_areas[3].name, "cma3");

	/* And several good areas work together, each on its own. */
	assert_int_equal(zpa_machine_create(&full, &m), 0);
	assert_int_equal(zpa_cma_count(m), ZPA_MAX_CMA_AREAS);
	assert_int_equal(vm(m, "nr_free_cma"), ZPA_MAX_CMA_AREAS * 1024);
	struct zpa_cma *c3 = zpa_cma_find(m, "cma3");
	assert_non_null(c3);
	zpa_pfn_t p = zpa_cma_alloc(c3, 1024, 0, false);
	assert_int_equal(p, ((4 * GiB) >> 12) + 3 * 1024);
	assert_int_equal(zpa_cma_alloc(c3, 1, 0, true), ZPA_PFN_NONE);
	assert_true(zpa_cma_alloc(zpa_cma_find(m, "cma4"), 1, 0, false) != ZPA_PFN_NONE);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cma_activation),
		cmocka_unit_test(test_cma_only_for_movable),
		cmocka_unit_test(test_cma_balance),
		cmocka_unit_test(test_cma_fallback_before_stealing),
		cmocka_unit_test(test_cma_alloc_release),
		cmocka_unit_test(test_cma_alloc_busy),
		cmocka_unit_test(test_cma_isolation_rules),
		cmocka_unit_test(test_cma_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
