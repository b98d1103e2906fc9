/*
 * test_compaction.c - memory compaction, kcompactd and page migration
 * (compaction.c, migrate.c): a page owner whose pages are movable records
 * every move; a zone is fragmented (filled with its pages, then every other
 * page freed, so no pageblock-order block is free) and compacted through
 * the public calls, direct compaction (try_to_compact_pages with a
 * hand-built alloc_context), kcompactd in each daemon mode, and
 * alloc_contig_range()/offlining, which now migrate.  Every test ends with
 * zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/zt.h"
#include "compaction.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PB 512ul /* pageblock pages (order 9) */
#define BASE (GiB >> 12)

/* ---- the machine ---- */

/* One node, Normal only, [1 GiB, 1 GiB + mib MiB), exact counters, small reserves. */
static struct zpa_machine *machine(unsigned mib)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, GiB, GiB + (uint64_t)mib * MiB, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.exact_vmstat = true;
	cfg.thp_enabled = 0;
	cfg.min_free_kbytes = 256;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_zone_info zinfo(struct zpa_machine *m)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	return zi;
}

static struct zone *normal_zone(struct zpa_machine *m)
{
	return &m->nodes[0]->node_zones[m->zone_idx_of[ZPA_ZONE_NORMAL]];
}

static uint64_t vmstat(struct zpa_machine *m, const char *name)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, name, &ok);
	assert_true(ok);
	return v;
}

static uint64_t free_at_least(struct zpa_machine *m, unsigned order)
{
	struct zpa_zone_info zi = zinfo(m);
	uint64_t n = 0;
	for (unsigned o = order; o < zpa_max_order(m); o++)
		n += zi.nr_free[o];
	return n;
}

/* ---- the page owner ---- */

#define MAX_OBJS 65536
#define NO_OBJ (-1)

/*
 * A user of pages: object i lives at pfn[i]; obj_of[] maps back.  migrate()
 * checks the target is a fresh allocated block nobody uses, that it runs
 * without zpa locks (it takes zone locks itself through zpa_page_info) and
 * with ZPA_PF_MEMALLOC, then moves the object unless it is marked busy.
 */
struct towner {
	struct zpa_machine *m;
	int id;
	bool lru;                   /* pages on the LRU (else zpa_page_set_movable) */
	int nobj;
	zpa_pfn_t pfn[MAX_OBJS];
	unsigned order[MAX_OBJS];
	bool busy[MAX_OBJS];
	int *obj_of;                /* by pfn - BASE */
	unsigned long span;
	_Atomic long moves, busy_calls;
	bool fresh_ok, memalloc_ok;
};

static int t_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	struct towner *o = arg;
	struct zpa_page_info pi;
	(void)mode;
	int obj = o->obj_of[src - BASE];
	if (obj == NO_OBJ || o->order[obj] != order)
		return ZPA_EBUSY;
	if (zpa_page_info(o->m, dst, &pi) || !pi.allocated || pi.order != (int)order || pi.refcount < 1 ||
	    o->obj_of[dst - BASE] != NO_OBJ || (order && !pi.head))
		o->fresh_ok = false;
	if (!(zpa_task_flags(zpa_task_current()) & ZPA_PF_MEMALLOC))
		o->memalloc_ok = false;
	if (o->busy[obj]) {
		o->busy_calls++;
		return ZPA_EBUSY;
	}
	o->obj_of[src - BASE] = NO_OBJ;
	o->obj_of[dst - BASE] = obj;
	o->pfn[obj] = dst;
	o->moves += 1l << order;
	return 0;
}

static int t_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)pfn; (void)order; (void)ctx;
	return ZPA_EVICT_KEEP;
}

static const struct zpa_page_owner_ops towner_ops = {
	.name = "test", .evict = t_evict, .migrate = t_migrate,
};

static struct towner *towner_new(struct zpa_machine *m, bool lru)
{
	struct towner *o = calloc(1, sizeof(*o));
	assert_non_null(o);
	o->m = m;
	o->lru = lru;
	o->span = m->nodes[0]->node_spanned_pages;
	o->obj_of = malloc(o->span * sizeof(int));
	for (unsigned long i = 0; i < o->span; i++)
		o->obj_of[i] = NO_OBJ;
	o->fresh_ok = o->memalloc_ok = true;
	o->id = zpa_page_owner_register(m, &towner_ops, o);
	assert_true(o->id > 0);
	return o;
}

/* Give the block at pfn to the owner as a new object. */
static int towner_adopt(struct towner *o, zpa_pfn_t pfn, unsigned order)
{
	assert_true(o->nobj < MAX_OBJS);
	int obj = o->nobj++;
	o->pfn[obj] = pfn;
	o->order[obj] = order;
	o->obj_of[pfn - BASE] = obj;
	if (o->lru)
		assert_int_equal(zpa_lru_add(o->m, pfn, o->id, 0), 0);
	else
		assert_int_equal(zpa_page_set_movable(o->m, pfn, o->id), 0);
	return obj;
}

/* The owner lets object obj go (its page is freed). */
static void towner_drop(struct towner *o, int obj)
{
	zpa_pfn_t pfn = o->pfn[obj];
	if (pfn == ZPA_PFN_NONE)
		return;
	o->obj_of[pfn - BASE] = NO_OBJ;
	o->pfn[obj] = ZPA_PFN_NONE;
	assert_int_equal(zpa_free_pages(o->m, pfn, o->order[obj]), 0);
}

/* Every object is where the owner thinks, on an allocated block of its order. */
static void towner_verify(struct towner *o)
{
	for (int i = 0; i < o->nobj; i++) {
		struct zpa_page_info pi;
		if (o->pfn[i] == ZPA_PFN_NONE)
			continue;
		assert_int_equal(zpa_page_info(o->m, o->pfn[i], &pi), 0);
		assert_true(pi.allocated);
		assert_int_equal(pi.order, (int)o->order[i]);
		assert_int_equal(o->obj_of[o->pfn[i] - BASE], i);
	}
	assert_true(o->fresh_ok);
	assert_true(o->memalloc_ok);
}

static void towner_free(struct towner *o)
{
	for (int i = 0; i < o->nobj; i++)
		towner_drop(o, i);
	free(o->obj_of);
	free(o);
}

/* ---- fragmenting a zone ---- */

#define FILL_GFP (ZPA___GFP_MOVABLE | ZPA___GFP_NOWARN)

/*
 * Fill the machine with the owner's order-0 pages, then free those at even
 * pfns: every pageblock is half free in single pages, and (the unfilled
 * rest is below the min watermark, under a pageblock) no pageblock-order
 * block is free.
 */
static void fragment(struct towner *o)
{
	struct zpa_machine *m = o->m;
	zpa_pfn_t pfn;
	while ((pfn = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL)) != ZPA_PFN_NONE)
		towner_adopt(o, pfn, 0);
	assert_true(o->nobj > 1000);
	for (int i = 0; i < o->nobj; i++)
		if (!(o->pfn[i] & 1))
			towner_drop(o, i);
	zpa_drain_all_pages(m);
	assert_int_equal(free_at_least(m, m->pageblock_order), 0);
	zt_assert_clean(m);
}

/* ---- compaction through the public calls ---- */

static void compact_memory_with(bool lru)
{
	struct zpa_machine *m = machine(64);
	struct towner *o = towner_new(m, lru);
	fragment(o);
	uint64_t free_before = zinfo(m).free;
	uint64_t lru_before[ZPA_NR_LRU_LISTS], lru_after[ZPA_NR_LRU_LISTS];
	assert_int_equal(zpa_lru_sizes(m, 0, lru_before), 0);

	uint64_t moved = zpa_compact_memory(m);

	assert_true(moved > 0);
	assert_int_equal(moved, (uint64_t)o->moves);
	assert_int_equal(vmstat(m, "pgmigrate_success"), (uint64_t)o->moves);
	/* Only the last batch may fail, for want of targets once the scanners met (ZPA_ENOMEM). */
	assert_true(vmstat(m, "pgmigrate_fail") <= COMPACT_CLUSTER_MAX);
	assert_true(vmstat(m, "compact_migrate_scanned") > 0);
	assert_true(vmstat(m, "compact_free_scanned") > 0);
	assert_true(vmstat(m, "compact_isolated") >= 2 * moved);
	assert_int_equal(vmstat(m, "nr_isolated_file") + vmstat(m, "nr_isolated_anon"), 0);
	/* Many pageblock-order blocks now; the same pages are free. */
	assert_true(free_at_least(m, m->pageblock_order) >= 8);
	assert_int_equal(zinfo(m).free, free_before);
	/* The LRU lists hold the same number of pages (each moved page is back on one). */
	assert_int_equal(zpa_lru_sizes(m, 0, lru_after), 0);
	assert_memory_equal(lru_before, lru_after, sizeof lru_before);
	towner_verify(o);
	zt_assert_clean(m);
	/* The moved pages belong to the owner: its frees work. */
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_compact_memory_lru(void **state)
{
	(void)state;
	compact_memory_with(true);
}

static void test_compact_memory_movable(void **state)
{
	(void)state;
	compact_memory_with(false);
}

static void test_compact_node_and_errors(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	assert_int_equal(zpa_compact_node(m, 1), ZPA_ENOENT);
	assert_int_equal(zpa_compact_node(m, -1), ZPA_ENOENT);
	assert_int_equal(zpa_fragmentation_score(m, 3), ZPA_ENOENT);
	fragment(o);
	int64_t moved = zpa_compact_node(m, 0);
	assert_true(moved > 0);
	assert_int_equal(moved, o->moves);
	/* Compacting a compacted zone again moves (almost) nothing new to the top. */
	assert_true(free_at_least(m, m->pageblock_order) > 0);
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Busy pages stay where they are and count as failed migrations. */
static void test_busy_pages_stay(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	zpa_pfn_t was[MAX_OBJS];
	int nbusy = 0;
	for (int i = 0; i < o->nobj; i++) {
		was[i] = o->pfn[i];
		if (o->pfn[i] != ZPA_PFN_NONE && i % 7 == 0) {
			o->busy[i] = true;
			nbusy++;
		}
	}
	assert_true(nbusy > 10);
	zpa_compact_memory(m);
	assert_true(o->busy_calls > 0);
	assert_true(vmstat(m, "pgmigrate_fail") >= (uint64_t)o->busy_calls);
	assert_true(vmstat(m, "pgmigrate_fail") <= (uint64_t)o->busy_calls + COMPACT_CLUSTER_MAX);
	assert_int_equal(vmstat(m, "pgmigrate_success"), (uint64_t)o->moves);
	for (int i = 0; i < o->nobj; i++)
		if (o->busy[i])
			assert_int_equal(o->pfn[i], was[i]);
	assert_int_equal(vmstat(m, "nr_isolated_file"), 0);
	/* Busy pages were put back on the LRU: the owner can take them off. */
	for (int i = 0; i < o->nobj; i++)
		if (o->busy[i]) {
			struct zpa_page_info pi;
			assert_int_equal(zpa_page_info(m, o->pfn[i], &pi), 0);
			assert_int_equal(pi.refcount, 1);
		}
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* An unmovable page in each pageblock keeps every pageblock from freeing. */
static void test_unmovable_pages_block(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	zpa_pfn_t pfn;
	zpa_pfn_t pinned[256];
	int npinned = 0;
	while ((pfn = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL)) != ZPA_PFN_NONE) {
		/* The last page of each pageblock stays with nobody: not movable. */
		if ((pfn & (PB - 1)) == PB - 1 && npinned < 256) {
			pinned[npinned++] = pfn;
			continue;
		}
		towner_adopt(o, pfn, 0);
	}
	for (int i = 0; i < o->nobj; i++)
		if (!(o->pfn[i] & 1))
			towner_drop(o, i);
	zpa_drain_all_pages(m);
	assert_int_equal(free_at_least(m, m->pageblock_order), 0);
	zpa_compact_memory(m);
	/* Pages moved (order-8 halves formed) but no pageblock became free. */
	assert_true(o->moves > 0);
	assert_int_equal(free_at_least(m, m->pageblock_order), 0);
	assert_true(zinfo(m).nr_free[m->pageblock_order - 1] > 0);
	towner_verify(o);
	for (int i = 0; i < npinned; i++)
		assert_int_equal(zpa_free_pages(m, pinned[i], 0), 0);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- direct compaction ---- */

#define THP_GFP (ZPA_GFP_TRANSHUGE | ZPA___GFP_NOWARN)

static void direct_compact(struct zpa_machine *m, enum compact_priority prio, enum compact_result *rc,
			   struct zpa_page **capture, struct zone **czone)
{
	struct alloc_context ac;
	struct zpa_task *task = zpa_task_current();
	assert_true(prepare_alloc_context(m, task, THP_GFP, 0, NULL, &ac));
	unsigned alloc_flags = gfp_to_alloc_flags(THP_GFP, m->pageblock_order) | ALLOC_CMA;
	*rc = try_to_compact_pages(m, THP_GFP, m->pageblock_order, alloc_flags, &ac, prio, capture, czone);
}

/* Give a captured block to the caller the way the allocator would, then free it. */
static void take_and_free_capture(struct zpa_machine *m, struct zpa_page *page, struct zone *z)
{
	zpa_spin_lock(&z->lock);
	prep_new_page(m, z, page, m->pageblock_order, THP_GFP, ZPA_MIGRATE_MOVABLE);
	zpa_spin_unlock(&z->lock);
	zpa_pfn_t pfn = page_to_pfn(z, page);
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	assert_true(pi.allocated && pi.head);
	assert_int_equal(pi.order, (int)m->pageblock_order);
	assert_int_equal(zpa_free_pages(m, pfn, m->pageblock_order), 0);
}

static void test_direct_compaction_captures(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	struct zone *z = normal_zone(m);
	uint64_t free_before = zinfo(m).free;
	/* Not possible without compaction. */
	assert_false(zone_watermark_ok(m, z, m->pageblock_order, low_wmark_pages(z), z->idx, 0));

	enum compact_result rc;
	struct zpa_page *capture = (struct zpa_page *)1;
	struct zone *czone = NULL;
	direct_compact(m, COMPACT_PRIO_SYNC_LIGHT, &rc, &capture, &czone);
	assert_int_equal(rc, COMPACT_SUCCESS);
	/* The sources' frees merged into a pageblock-order block, captured for us. */
	assert_non_null(capture);
	assert_ptr_equal(czone, z);
	assert_int_equal(zinfo(m).free, free_before - PB);
	/* compaction_defer_reset(false) raised compact_order_failed past the order. */
	assert_int_equal(z->compact_order_failed, (int)m->pageblock_order + 1);
	assert_int_equal(vmstat(m, "pgmigrate_success"), (uint64_t)o->moves);
	take_and_free_capture(m, capture, czone);
	towner_verify(o);
	zt_assert_clean(m);

	/* Without __GFP_IO compaction is not allowed. */
	struct alloc_context ac;
	assert_true(prepare_alloc_context(m, zpa_task_current(), ZPA___GFP_MOVABLE, 0, NULL, &ac));
	assert_int_equal(try_to_compact_pages(m, ZPA___GFP_MOVABLE, 9, 0, &ac, COMPACT_PRIO_SYNC_FULL, &capture, &czone),
			 COMPACT_SKIPPED);
	assert_null(capture);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_direct_compaction_async_and_full(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	enum compact_result rc;
	struct zpa_page *capture;
	struct zone *czone;
	/* Async first, as the allocator does; then sync full until a block is had. */
	direct_compact(m, COMPACT_PRIO_ASYNC, &rc, &capture, &czone);
	assert_true(rc == COMPACT_SUCCESS || rc == COMPACT_PARTIAL_SKIPPED || rc == COMPACT_COMPLETE ||
		    rc == COMPACT_CONTENDED);
	if (capture)
		take_and_free_capture(m, capture, czone);
	direct_compact(m, COMPACT_PRIO_SYNC_FULL, &rc, &capture, &czone);
	assert_true(rc == COMPACT_SUCCESS);
	if (capture)
		take_and_free_capture(m, capture, czone);
	else
		assert_true(free_at_least(m, m->pageblock_order) > 0);
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* The allocator's slow path (page_alloc.c) compacts for a huge page and gets it. */
static void test_slow_path_compacts(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	zpa_pfn_t huge = zpa__alloc_pages(m, NULL, THP_GFP, m->pageblock_order, 0, NULL);
	assert_true(huge != ZPA_PFN_NONE);
	assert_int_equal(zpa_compound_order(m, huge), (int)m->pageblock_order);
	assert_true(vmstat(m, "compact_stall") >= 1);
	assert_true(vmstat(m, "compact_success") >= 1);
	assert_true(o->moves >= (long)PB / 2);
	assert_int_equal(zpa_free_pages(m, huge, m->pageblock_order), 0);
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* compaction_zonelist_suitable(): true when fragmented, false when memory is short. */
static void test_zonelist_suitable(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	struct alloc_context ac;
	assert_true(prepare_alloc_context(m, zpa_task_current(), THP_GFP, 0, NULL, &ac));
	fragment(o);
	assert_true(compaction_zonelist_suitable(m, &ac, m->pageblock_order, ALLOC_WMARK_MIN));
	towner_free(o);
	/* Nearly full with pages reclaim cannot free (no LRU): not suitable. */
	zpa_pfn_t pfn, pages[16384];
	int n = 0;
	while ((pfn = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL)) != ZPA_PFN_NONE && n < 16384)
		pages[n++] = pfn;
	assert_false(compaction_zonelist_suitable(m, &ac, m->pageblock_order, ALLOC_WMARK_MIN));
	for (int i = 0; i < n; i++)
		zpa_free_pages(m, pages[i], 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- compaction_suitable and deferral ---- */

static void test_compaction_suitable(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct zone *z = normal_zone(m);
	int order = (int)m->pageblock_order;
	/* Fresh: the block is free already. */
	assert_int_equal(compaction_suitable(m, z, order, ALLOC_WMARK_LOW, z->idx), COMPACT_SUCCESS);
	assert_int_equal(compaction_suitable(m, z, -1, ALLOC_WMARK_LOW, z->idx), COMPACT_CONTINUE);

	/* Fragmented with plenty free: compact. */
	struct towner *o = towner_new(m, true);
	fragment(o);
	assert_int_equal(compaction_suitable(m, z, order, ALLOC_WMARK_LOW, z->idx), COMPACT_CONTINUE);
	/* Take the unfilled rest (a block below the min watermark's size): only single pages are free. */
	struct zpa_zone_info zi = zinfo(m);
	zpa_pfn_t rest[ZPA_MAX_ORDER_LIMIT];
	unsigned nrest = 0;
	for (unsigned k = 1; k < zpa_max_order(m); k++)
		for (uint64_t i = 0; i < zi.nr_free[k]; i++) {
			rest[nrest] = zpa__alloc_pages(m, NULL, FILL_GFP | ZPA___GFP_HIGH | ZPA___GFP_COMP, k, 0, NULL);
			assert_true(rest[nrest] != ZPA_PFN_NONE);
			towner_adopt(o, rest[nrest], k);
			nrest++;
		}
	assert_int_equal(free_at_least(m, 1), 0);
	assert_int_equal(compaction_suitable(m, z, 2, ALLOC_WMARK_LOW, z->idx), COMPACT_CONTINUE);
	assert_int_equal(compaction_suitable(m, z, 4, ALLOC_WMARK_LOW, z->idx), COMPACT_CONTINUE);
	/* A fragmentation index at or under the threshold says "lack of memory": skip. */
	assert_int_equal(zpa_sysctl_set(m, "extfrag_threshold", "1000"), 0);
	assert_int_equal(compaction_suitable(m, z, order, ALLOC_WMARK_LOW, z->idx), COMPACT_SKIPPED);
	assert_int_equal(compaction_suitable(m, z, 4, ALLOC_WMARK_LOW, z->idx), COMPACT_SKIPPED);
	/* ... which only costly orders heed. */
	assert_int_equal(compaction_suitable(m, z, 3, ALLOC_WMARK_LOW, z->idx), COMPACT_CONTINUE);
	assert_int_equal(zpa_sysctl_set(m, "extfrag_threshold", "500"), 0);
	towner_free(o);

	/* Nearly everything allocated: too few free pages to compact with. */
	zpa_pfn_t pfn, *pages = malloc(sizeof(zpa_pfn_t) * 16384);
	int n = 0;
	while ((pfn = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL)) != ZPA_PFN_NONE)
		pages[n++] = pfn;
	assert_int_equal(compaction_suitable(m, z, order, ALLOC_WMARK_LOW, z->idx), COMPACT_SKIPPED);
	assert_int_equal(compaction_suitable(m, z, 1, ALLOC_WMARK_LOW, z->idx), COMPACT_SKIPPED);
	for (int i = 0; i < n; i++)
		zpa_free_pages(m, pages[i], 0);
	free(pages);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_deferral(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(16);
	struct zone *z = normal_zone(m);
	assert_int_equal(z->compact_defer_shift, 0);
	assert_int_equal(z->compact_order_failed, 0);
	assert_false(compaction_deferred(z, 5));
	for (unsigned i = 1; i <= 8; i++) {
		defer_compaction(z, 5);
		assert_int_equal(z->compact_defer_shift, i < COMPACT_MAX_DEFER_SHIFT ? i : COMPACT_MAX_DEFER_SHIFT);
		assert_int_equal(z->compact_considered, 0);
	}
	/* Nothing ever succeeded: order_failed stays 0 and every order is deferred. */
	assert_int_equal(z->compact_order_failed, 0);
	/* Shift 6: 63 attempts skipped, the 64th goes ahead, and so do the ones after. */
	for (int i = 0; i < 63; i++)
		assert_true(compaction_deferred(z, i & 1 ? 7 : 1));
	assert_false(compaction_deferred(z, 5));
	assert_false(compaction_deferred(z, 5));
	assert_int_equal(z->compact_considered, 64);

	/* An allocation succeeded after compaction for order 5: reset, and orders <= 5 count as fine. */
	compaction_defer_reset(z, 5, true);
	assert_int_equal(z->compact_defer_shift, 0);
	assert_int_equal(z->compact_considered, 0);
	assert_int_equal(z->compact_order_failed, 6);
	/* Shift 2 skips 3 attempts at orders >= 6, none below. */
	defer_compaction(z, 6);
	defer_compaction(z, 6);
	assert_int_equal(z->compact_order_failed, 6);
	assert_false(compaction_deferred(z, 5));
	assert_true(compaction_deferred(z, 6));
	assert_true(compaction_deferred(z, 9));
	assert_true(compaction_deferred(z, 6));
	assert_false(compaction_deferred(z, 6));
	/* A failure at a lower order lowers the bar. */
	defer_compaction(z, 4);
	assert_int_equal(z->compact_order_failed, 4);
	assert_int_equal(z->compact_defer_shift, 3);
	/* A success that is only expected keeps the shift but raises the bar. */
	compaction_defer_reset(z, 8, false);
	assert_int_equal(z->compact_defer_shift, 3);
	assert_int_equal(z->compact_order_failed, 9);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A sync direct compaction that fails defers the zone. */
static void test_failed_compaction_defers(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	for (int i = 0; i < o->nobj; i++)
		o->busy[i] = true;
	struct zone *z = normal_zone(m);
	enum compact_result rc;
	struct zpa_page *capture;
	struct zone *czone;
	direct_compact(m, COMPACT_PRIO_SYNC_LIGHT, &rc, &capture, &czone);
	assert_null(capture);
	assert_true(rc == COMPACT_COMPLETE || rc == COMPACT_PARTIAL_SKIPPED);
	assert_int_equal(z->compact_defer_shift, 1);
	assert_int_equal(z->compact_order_failed, 0);
	assert_true(z->compact_blockskip_flush);
	/* The next sync-light attempt is deferred. */
	direct_compact(m, COMPACT_PRIO_SYNC_LIGHT, &rc, &capture, &czone);
	assert_int_equal(rc, COMPACT_DEFERRED);
	/* kswapd going to sleep clears the skip hints. */
	reset_isolation_suitable(m, m->nodes[0]);
	assert_false(z->compact_blockskip_flush);
	for (int i = 0; i < o->nobj; i++)
		o->busy[i] = false;
	/* Sync full ignores deferral and hints, and succeeds. */
	direct_compact(m, COMPACT_PRIO_SYNC_FULL, &rc, &capture, &czone);
	assert_int_equal(rc, COMPACT_SUCCESS);
	if (capture)
		take_and_free_capture(m, capture, czone);
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- kcompactd ---- */

/* zpa_set_daemon_mode(), then kcompactd's hook (a no-op once zpa_set_daemon_mode calls it). */
static void set_mode(struct zpa_machine *m, int mode)
{
	assert_int_equal(zpa_set_daemon_mode(m, mode), 0);
	assert_int_equal(kcompactd_mode_changed(m), 0);
}

static void test_fragmentation_score_and_proactive(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	assert_int_equal(zpa_fragmentation_score(m, 0), 0);
	struct towner *o = towner_new(m, true);
	fragment(o);
	/* Nothing free at order 9: extfrag 100%, weighted by present/(node present + 1). */
	int score = zpa_fragmentation_score(m, 0);
	assert_true(score >= 99 && score <= 100);

	atomic_store(&m->sim_now_ms, 1000);
	set_mode(m, ZPA_DAEMON_MANUAL);
	/* The proactive timer fires 500 ms after kcompactd fell asleep. */
	assert_int_equal(kcompactd_step(m, pgdat, 1499), 0);
	assert_int_equal(o->moves, 0);
	uint64_t pages = kcompactd_step(m, pgdat, 1500);
	assert_true(pages > 0);
	assert_int_equal(pages, (uint64_t)o->moves);
	/* Compacted down to the low mark (100 - proactiveness = 80), no lower by much. */
	score = zpa_fragmentation_score(m, 0);
	assert_true(score <= 80);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 0);
	/* Under the high mark now: later ticks do nothing. */
	long moves = o->moves;
	assert_int_equal(kcompactd_step(m, pgdat, 100000), 0);
	assert_int_equal(o->moves, moves);

	/* proactiveness 0: no timer at all. */
	towner_free(o);
	o = towner_new(m, true);
	fragment(o);
	assert_int_equal(zpa_sysctl_set(m, "compaction_proactiveness", "0"), 0);
	assert_int_equal(kcompactd_step(m, pgdat, 200000), 0);
	assert_int_equal(o->moves, 0);
	/* Writing a nonzero value triggers a round at once (at the current simulated time). */
	atomic_store(&m->sim_now_ms, 300000);
	assert_int_equal(zpa_sysctl_set(m, "compaction_proactiveness", "50"), 0);
	assert_true(kcompactd_step(m, pgdat, 300000) > 0);
	assert_true(zpa_fragmentation_score(m, 0) <= 50);
	towner_verify(o);
	set_mode(m, ZPA_DAEMON_INLINE);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A proactive round that cannot lower the score backs off 64 intervals. */
static void test_proactive_backoff(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	pg_data_t *pgdat = m->nodes[0];
	struct towner *o = towner_new(m, true);
	fragment(o);
	for (int i = 0; i < o->nobj; i++)
		o->busy[i] = true;
	atomic_store(&m->sim_now_ms, 0);
	set_mode(m, ZPA_DAEMON_MANUAL);
	kcompactd_step(m, pgdat, 500);
	long calls = o->busy_calls;
	assert_true(calls > 0);
	/* Next try at 500 + 32000 ms. */
	kcompactd_step(m, pgdat, 32499);
	assert_int_equal(o->busy_calls, calls);
	kcompactd_step(m, pgdat, 32500);
	assert_true(o->busy_calls > calls);
	set_mode(m, ZPA_DAEMON_INLINE);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_kcompactd_manual_wakeup(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	struct towner *o = towner_new(m, true);
	assert_int_equal(zpa_sysctl_set(m, "compaction_proactiveness", "0"), 0);
	fragment(o);
	atomic_store(&m->sim_now_ms, 10);
	set_mode(m, ZPA_DAEMON_MANUAL);
	wakeup_kcompactd(m, pgdat, 0, z->idx); /* order 0: ignored */
	assert_int_equal(pgdat->kcompactd_max_order, 0);
	wakeup_kcompactd(m, pgdat, (int)m->pageblock_order, z->idx);
	assert_int_equal(pgdat->kcompactd_max_order, (int)m->pageblock_order);
	/* Recorded only, until the daemon runs. */
	assert_int_equal(o->moves, 0);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 0);
	assert_int_equal(kcompactd_step(m, pgdat, 9), 0);
	uint64_t pages = kcompactd_step(m, pgdat, 10);
	assert_true(pages > 0);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 1);
	assert_true(vmstat(m, "compact_daemon_migrate_scanned") > 0);
	assert_true(vmstat(m, "compact_daemon_free_scanned") > 0);
	assert_true(free_at_least(m, m->pageblock_order) > 0);
	/* The request is done: max order cleared. */
	assert_int_equal(pgdat->kcompactd_max_order, 0);
	assert_int_equal(kcompactd_step(m, pgdat, 1000000), 0);
	towner_verify(o);
	set_mode(m, ZPA_DAEMON_INLINE);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_kcompactd_inline(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	struct towner *o = towner_new(m, false);
	/* Unsuitable (blocks are free already): no work. */
	wakeup_kcompactd(m, pgdat, (int)m->pageblock_order, z->idx);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 0);
	fragment(o);
	/* INLINE: the wakeup compacts before it returns. */
	wakeup_kcompactd(m, pgdat, (int)m->pageblock_order, z->idx);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 1);
	assert_true(o->moves > 0);
	assert_true(free_at_least(m, m->pageblock_order) > 0);
	towner_verify(o);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_kcompactd_thread(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	struct towner *o = towner_new(m, true);
	assert_int_equal(zpa_sysctl_set(m, "compaction_proactiveness", "0"), 0);
	fragment(o);
	set_mode(m, ZPA_DAEMON_THREAD);
	wakeup_kcompactd(m, pgdat, (int)m->pageblock_order, z->idx);
	/* The thread runs it: wait (up to 10 s) for its wake to be counted and its work to end. */
	for (int i = 0; i < 10000 && vmstat(m, "compact_daemon_wake") == 0; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_int_equal(vmstat(m, "compact_daemon_wake"), 1);
	/* Leaving THREAD mode joins the thread (it finishes its work first). */
	set_mode(m, ZPA_DAEMON_INLINE);
	assert_true(o->moves > 0);
	assert_true(free_at_least(m, m->pageblock_order) > 0);
	towner_verify(o);
	/* Again, and destroy the machine with the thread running. */
	set_mode(m, ZPA_DAEMON_THREAD);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- migration for contiguous ranges ---- */

static void assert_range_taken(struct towner *o, zpa_pfn_t start, zpa_pfn_t end)
{
	for (zpa_pfn_t p = start; p < end; p++) {
		struct zpa_page_info pi;
		assert_int_equal(zpa_page_info(o->m, p, &pi), 0);
		assert_true(pi.allocated);
		assert_int_equal(pi.order, 0);
		assert_int_equal(pi.refcount, 1);
		assert_int_equal(o->obj_of[p - BASE], NO_OBJ);
	}
}

static void test_alloc_contig_range_migrates(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);

	/* Two fragmented pageblocks: every other page is the owner's. */
	zpa_pfn_t start = BASE + 8 * PB, end = start + 2 * PB;
	uint64_t success_before = vmstat(m, "pgmigrate_success");
	assert_int_equal(zpa_alloc_contig_range(m, start, end, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL), 0);
	assert_int_equal(vmstat(m, "pgmigrate_success") - success_before, PB);
	assert_range_taken(o, start, end);
	towner_verify(o);
	assert_int_equal(vmstat(m, "nr_isolated_file"), 0);
	assert_int_equal(zpa_free_contig_range(m, start, end - start), 0);
	zt_assert_clean(m);

	/* A compound movable page in the range moves whole, to a compound block. */
	zpa_pfn_t comp = zpa__alloc_pages(m, NULL, FILL_GFP | ZPA___GFP_COMP, 2, 0, NULL);
	assert_true(comp != ZPA_PFN_NONE);
	int big = towner_adopt(o, comp, 2);
	start = comp & ~(zpa_pfn_t)(PB - 1);
	end = start + PB;
	assert_int_equal(zpa_alloc_contig_range(m, start, end, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL), 0);
	assert_true(o->pfn[big] < start || o->pfn[big] >= end);
	assert_int_equal(zpa_compound_order(m, o->pfn[big]), 2);
	assert_range_taken(o, start, end);
	towner_verify(o);
	assert_int_equal(zpa_free_contig_range(m, start, end - start), 0);
	zt_assert_clean(m);

	/* A busy page in the range: ZPA_EBUSY, the isolation undone, no page lost. */
	start = BASE + 4 * PB;
	end = start + PB;
	for (int i = 0; i < o->nobj; i++)
		if (o->pfn[i] != ZPA_PFN_NONE && o->pfn[i] >= start && o->pfn[i] < end && i % 5 == 0)
			o->busy[i] = true;
	assert_int_equal(zpa_alloc_contig_range(m, start, end, ZPA_MIGRATE_MOVABLE, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN),
			 ZPA_EBUSY);
	assert_int_equal(vmstat(m, "nr_isolated_file"), 0);
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, start, &pi), 0);
	assert_int_not_equal(pi.pageblock_migratetype, ZPA_MIGRATE_ISOLATE);
	for (int i = 0; i < o->nobj; i++)
		if (o->busy[i])
			assert_true(o->pfn[i] >= start && o->pfn[i] < end);
	towner_verify(o);
	zt_assert_clean(m);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* alloc_contig_pages finds a range now that pages in use can move. */
static void test_alloc_contig_pages_migrates(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, false);
	fragment(o);
	zpa_pfn_t pfn = zpa_alloc_contig_pages(m, 1024, ZPA_GFP_KERNEL, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_true(o->moves >= 512);
	towner_verify(o);
	assert_int_equal(zpa_free_contig_range(m, pfn, 1024), 0);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A CMA area full of movable pages in use: cma_alloc migrates them out. */
static void test_cma_alloc_migrates(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, GiB, GiB + 32 * MiB, ZPA_RANGE_USABLE, 0);
	assert_int_equal(zpa_config_add_cma(&cfg, GiB + 8 * MiB, 4 * MiB, "cma"), 0);
	cfg.nr_cpus = 1;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.exact_vmstat = true;
	cfg.thp_enabled = 0;
	cfg.min_free_kbytes = 256;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_cma *cma = zpa_cma_find(m, "cma");
	assert_non_null(cma);
	struct towner *o = towner_new(m, true);
	fragment(o);
	zpa_pfn_t cma_start = BASE + (8 * MiB >> 12), cma_end = cma_start + (4 * MiB >> 12);
	long in_cma = 0;
	for (int i = 0; i < o->nobj; i++)
		if (o->pfn[i] != ZPA_PFN_NONE && o->pfn[i] >= cma_start && o->pfn[i] < cma_end)
			in_cma++;
	assert_true(in_cma > 0);
	zpa_pfn_t pfn = zpa_cma_alloc(cma, 4 * MiB >> 12, 0, false);
	assert_int_equal(pfn, cma_start);
	assert_true(o->moves >= in_cma);
	for (int i = 0; i < o->nobj; i++)
		if (o->pfn[i] != ZPA_PFN_NONE)
			assert_false(o->pfn[i] >= cma_start && o->pfn[i] < cma_end);
	towner_verify(o);
	zt_assert_clean(m);
	assert_int_equal(zpa_cma_release(cma, pfn, 4 * MiB >> 12), 0);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_offline_migrates(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	fragment(o);
	zpa_pfn_t start = BASE + 2 * PB;
	long moves = o->moves;
	assert_int_equal(zpa_offline_pages(m, start, 2 * PB), 0);
	assert_true(o->moves - moves >= (long)PB);
	for (int i = 0; i < o->nobj; i++)
		if (o->pfn[i] != ZPA_PFN_NONE)
			assert_false(o->pfn[i] >= start && o->pfn[i] < start + 2 * PB);
	towner_verify(o);
	zt_assert_clean(m);
	assert_int_equal(zpa_online_pages(m, start, 2 * PB), 0);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- migrate_page_to and memcg ---- */

static void test_migrate_page_to_counts(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(16);
	struct towner *o = towner_new(m, true);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	zpa_pfn_t a = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL);
	int obj = towner_adopt(o, a, 0);
	assert_int_equal(zpa_mark_page_accessed(m, a), 0);
	assert_int_equal(zpa_mark_page_accessed(m, a), 0); /* now active */
	assert_int_equal(zpa_page_set_dirty(m, a), 0);
	struct zpa_page *src = pfn_to_page_nid(pgdat, a);
	assert_true(isolate_lru_page(m, pgdat, src));

	/* Busy: nothing changes, one failure counted. */
	zpa_pfn_t d = zpa__alloc_pages(m, NULL, FILL_GFP, 0, 0, NULL);
	struct zpa_page *dst = pfn_to_page_nid(pgdat, d);
	o->busy[obj] = true;
	assert_int_equal(migrate_page_to(m, z, src, z, dst, ZPA_MIGRATE_SYNC), ZPA_EBUSY);
	assert_int_equal(vmstat(m, "pgmigrate_fail"), 1);
	assert_int_equal(o->pfn[obj], a);
	assert_int_equal(dst->refcount, 1);
	o->busy[obj] = false;
	uint64_t dirty = vmstat(m, "nr_dirty");
	assert_int_equal(migrate_page_to(m, z, src, z, dst, ZPA_MIGRATE_SYNC), 0);
	assert_int_equal(vmstat(m, "pgmigrate_success"), 1);
	assert_int_equal(o->pfn[obj], d);
	/* The state followed: active, dirty, on the LRU, the owner's; src is free. */
	assert_true(dst->flags & PG_onlru);
	assert_true(dst->flags & PG_active);
	assert_true(dst->flags & PG_dirty);
	assert_false(dst->flags & PG_isolated);
	assert_int_equal(page_owner_id(dst), o->id);
	assert_int_equal(dst->refcount, 1);
	assert_int_equal(vmstat(m, "nr_dirty"), dirty);
	assert_int_equal(vmstat(m, "nr_isolated_file"), 0);
	assert_int_equal(vmstat(m, "nr_active_file"), 1);
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, a, &pi), 0);
	assert_false(pi.allocated);
	/* Writeback pages do not move (async: busy; sync: again). */
	assert_int_equal(zpa_lru_del(m, d), 0);
	zt_assert_clean(m);
	towner_free(o);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_memcg_charge_moves(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(32);
	struct towner *o = towner_new(m, true);
	struct zpa_memcg *g;
	struct zpa_memcg_stat st0, st1;
	assert_int_equal(zpa_memcg_create(m, NULL, "c", &g), 0);
	struct zpa_task *task = zpa_task_create();
	zpa_task_set_memcg(task, g);
	zpa_pfn_t pfn;
	while ((pfn = zpa__alloc_pages(m, task, FILL_GFP | ZPA___GFP_ACCOUNT, 0, 0, NULL)) != ZPA_PFN_NONE)
		towner_adopt(o, pfn, 0);
	for (int i = 0; i < o->nobj; i++)
		if (!(o->pfn[i] & 1))
			towner_drop(o, i);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_memcg_stat(g, &st0), 0);
	zpa_pfn_t was[MAX_OBJS];
	for (int i = 0; i < o->nobj; i++)
		was[i] = o->pfn[i];
	zpa_compact_memory(m);
	assert_true(o->moves > 0);
	assert_int_equal(zpa_memcg_stat(g, &st1), 0);
	assert_int_equal(st1.usage, st0.usage);
	for (int i = 0; i < o->nobj; i++) {
		if (o->pfn[i] == ZPA_PFN_NONE)
			continue;
		assert_ptr_equal(zpa_page_memcg(m, o->pfn[i]), g);
		if (was[i] != o->pfn[i])
			assert_null(zpa_page_memcg(m, was[i]));
	}
	towner_verify(o);
	towner_free(o);
	assert_int_equal(zpa_memcg_stat(g, &st1), 0);
	assert_int_equal(st1.usage, 0);
	zpa_task_destroy(task);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_memory_lru),
		cmocka_unit_test(test_compact_memory_movable),
		cmocka_unit_test(test_compact_node_and_errors),
		cmocka_unit_test(test_busy_pages_stay),
		cmocka_unit_test(test_unmovable_pages_block),
		cmocka_unit_test(test_direct_compaction_captures),
		cmocka_unit_test(test_direct_compaction_async_and_full),
		cmocka_unit_test(test_slow_path_compacts),
		cmocka_unit_test(test_zonelist_suitable),
		cmocka_unit_test(test_compaction_suitable),
		cmocka_unit_test(test_deferral),
		cmocka_unit_test(test_failed_compaction_defers),
		cmocka_unit_test(test_fragmentation_score_and_proactive),
		cmocka_unit_test(test_proactive_backoff),
		cmocka_unit_test(test_kcompactd_manual_wakeup),
		cmocka_unit_test(test_kcompactd_inline),
		cmocka_unit_test(test_kcompactd_thread),
		cmocka_unit_test(test_alloc_contig_range_migrates),
		cmocka_unit_test(test_alloc_contig_pages_migrates),
		cmocka_unit_test(test_cma_alloc_migrates),
		cmocka_unit_test(test_offline_migrates),
		cmocka_unit_test(test_migrate_page_to_counts),
		cmocka_unit_test(test_memcg_charge_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
