/*
 * test_model.c - the built-in memory models of zpa/model.h on their own,
 * with their callbacks called directly (as reclaim, compaction and the OOM
 * killer would call them), so nothing here depends on the slow path:
 *   - page cache: a miss allocates one page onto the inactive file LRU,
 *     hits go through mark_page_accessed (referenced, then active), mapped
 *     accesses through the accessed bit referenced() tests and clears;
 *     evict() frees exactly that page, also under an isolating reference
 *     (the page goes when that reference goes), and a later read is a
 *     refault; writes dirty the page (nr_dirty), writepage() starts a
 *     writeback that ends on the model's clock, the flusher writes the
 *     oldest pages above dirty_background and all pages older than
 *     dirty_expire, a flushed page is clean to writepage(); migrate() moves
 *     the page in the file's index; delete and punch free what they drop,
 *     add_page adopts a caller's page;
 *   - anonymous memory: faults allocate the page and a page table page,
 *     writepage() takes swap slots (zpa_swap_free follows), evict() turns
 *     the entry into a swap entry, a touch swaps it back in and frees the
 *     slot, a full device answers ACTIVATE, a write drops the stale swap
 *     copy, a THP is one block and swaps out whole; migrate() remaps;
 *   - OOM callbacks: footprints (rss, swap entries, page tables), kill()
 *     records every task's footprint and stops the victim, reap() frees its
 *     anonymous memory and slots, the tick completes the exit;
 *   - slab: objects pack N to a page, count_objects() counts them,
 *     scan_objects() frees oldest first, spares referenced objects once,
 *     frees emptied pages and reports them in nr_freed_pages;
 *   - threads: reads and writes racing with evict/writepage/migrate calls
 *     and ticks never lose or double-free a page.
 * Every test ends with the models destroyed, every page back (free count
 * as at the start) and zpa_check() clean.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"
#include "zpa/model.h"

#define NONE ZPA_PFN_NONE

static struct zpa_machine *machine(unsigned mib)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;

	zt_config_simple(&cfg, mib, NULL);
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static uint64_t lru(struct zpa_machine *m, int list)
{
	uint64_t s[ZPA_NR_LRU_LISTS];

	assert_int_equal(zpa_lru_sizes(m, 0, s), 0);
	return s[list];
}

static uint64_t vmstat(struct zpa_machine *m, const char *name)
{
	bool ok;
	uint64_t v = zpa_vmstat(m, name, &ok);

	assert_true(ok);
	return v;
}

static bool allocated(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;

	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi.allocated;
}

static const struct zpa_reclaim_ctx ctx = { .gfp = ZPA_GFP_KERNEL, .priority = 12, .may_writepage = true,
					    .may_swap = true, .may_unmap = true };

/* ---------------------------------------------------------------- LRU lists */

static int keep_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *c)
{
	(void)arg; (void)pfn; (void)order; (void)c;
	return ZPA_EVICT_KEEP;
}

/* The node's LRU lists start empty: pages added and freed in any order leave the free lists sound. */
static void test_lru_lists_start_empty(void **state)
{
	(void)state;
	static const struct zpa_page_owner_ops ops = { .name = "keep", .evict = keep_evict };
	/* One Normal zone from the node's first page: the first pages handed out have node index 0, 1, ... */
	struct zpa_machine *m = zt_numa_machine(1, 64, false);
	int owner = zpa_page_owner_register(m, &ops, NULL);
	uint64_t free0 = zpa_total_free(m);
	zpa_pfn_t v[64];

	assert_true(owner >= 1);
	for (int i = 0; i < 64; i++) {
		v[i] = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
		assert_int_equal(zpa_lru_add(m, v[i], owner, i & 1 ? ZPA_LRU_ANON : 0), 0);
	}
	for (int i = 0; i < 64; i += 2)        /* oldest first */
		assert_int_equal(zpa_free_pages(m, v[i], 0), 0);
	for (int i = 63; i > 0; i -= 2)        /* newest first */
		assert_int_equal(zpa_free_pages(m, v[i], 0), 0);
	assert_int_equal(lru(m, ZPA_LRU_INACTIVE_FILE) + lru(m, ZPA_LRU_INACTIVE_ANON), 0);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---------------------------------------------------------------- page cache */

static struct zpa_model_pagecache *pagecache(struct zpa_machine *m, const struct zpa_page_owner_ops **ops,
					     void **arg)
{
	struct zpa_model_pagecache *pc = NULL;
	struct zpa_model_pagecache_config cfg;

	zpa_model_pagecache_config_init(&cfg);
	cfg.dirty_background = 4;
	cfg.writeback_ms = 20;
	assert_int_equal(zpa_model_pagecache_create(m, &cfg, &pc), 0);
	assert_true(zpa_model_pagecache_owner(pc, ops, arg) >= 1);
	return pc;
}

static struct zpa_model_pagecache_stats pcs(struct zpa_model_pagecache *pc)
{
	struct zpa_model_pagecache_stats s;

	zpa_model_pagecache_stats(pc, &s);
	return s;
}

static void test_pagecache_read_evict_refault(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	const struct zpa_page_owner_ops *ops;
	void *arg;
	struct zpa_model_pagecache *pc = pagecache(m, &ops, &arg);
	uint64_t free0 = zpa_total_free(m);
	int f = zpa_model_file_create(pc, 100);
	zpa_pfn_t pfn, other;

	assert_true(f >= 0);
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, 0), ZPA_MODEL_MISS);
	assert_int_equal(zpa_model_file_read(pc, f, 1, NULL, 0), ZPA_MODEL_MISS);
	assert_int_equal(zpa_total_free(m), free0 - 2);
	assert_int_equal(lru(m, ZPA_LRU_INACTIVE_FILE), 2);
	pfn = zpa_model_file_page(pc, f, 0);
	other = zpa_model_file_page(pc, f, 1);
	assert_true(pfn != NONE && other != NONE && pfn != other);
	assert_true(allocated(m, pfn));

	/* Hits: referenced, then activated (mark_page_accessed). */
	uint64_t act0 = vmstat(m, "pgactivate");
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, 0), ZPA_MODEL_HIT);
	assert_int_equal(lru(m, ZPA_LRU_ACTIVE_FILE), 0);
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, 0), ZPA_MODEL_HIT);
	assert_int_equal(lru(m, ZPA_LRU_ACTIVE_FILE), 1);
	assert_int_equal(vmstat(m, "pgactivate"), act0 + 1);
	/* read() accesses do not set the mapping's accessed bit; a mapped access does, once. */
	assert_int_equal(ops->referenced(arg, other, 0), 0);
	assert_int_equal(zpa_model_file_read(pc, f, 1, NULL, ZPA_MODEL_MAPPED), ZPA_MODEL_HIT);
	assert_int_equal(ops->referenced(arg, other, 0), 1);
	assert_int_equal(ops->referenced(arg, other, 0), 0);

	/* evict() frees exactly that page and leaves a shadow. */
	assert_int_equal(ops->evict(arg, pfn, 0, &ctx), ZPA_EVICT_FREED);
	assert_false(allocated(m, pfn));
	assert_true(allocated(m, other));
	assert_int_equal(zpa_model_file_page(pc, f, 0), NONE);
	assert_int_equal(zpa_model_file_cached(pc, f), 1);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	assert_int_equal(lru(m, ZPA_LRU_ACTIVE_FILE) + lru(m, ZPA_LRU_INACTIVE_FILE), 1);
	/* Unknown pages are kept; a second evict of the same pfn finds nothing. */
	assert_int_equal(ops->evict(arg, pfn, 0, &ctx), ZPA_EVICT_KEEP);
	assert_int_equal(ops->migrate(arg, pfn, other, 0, ZPA_MIGRATE_ASYNC), ZPA_EBUSY);

	/* Evict under an isolating reference: the page goes when that reference goes. */
	assert_int_equal(zpa_get_page(m, other), 0);
	assert_int_equal(ops->evict(arg, other, 0, &ctx), ZPA_EVICT_FREED);
	assert_true(allocated(m, other));
	assert_int_equal(zpa_free_pages(m, other, 0), 0);
	assert_false(allocated(m, other));
	assert_int_equal(zpa_total_free(m), free0);

	/* Reading an evicted page again is a refault; a never-read page a miss. */
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, 0), ZPA_MODEL_REFAULT);
	assert_int_equal(zpa_model_file_read(pc, f, 2, NULL, 0), ZPA_MODEL_MISS);
	struct zpa_model_pagecache_stats s = pcs(pc);
	assert_int_equal(s.refaults, 1);
	assert_int_equal(s.misses, 3);
	assert_int_equal(s.hits, 3);
	assert_int_equal(s.evicted, 2);
	assert_int_equal(s.pages, 2);

	/* Bad arguments. */
	assert_int_equal(zpa_model_file_read(pc, f, 100, NULL, 0), ZPA_EINVAL);
	assert_int_equal(zpa_model_file_read(pc, 99, 0, NULL, 0), ZPA_ENOENT);
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, 0x80), ZPA_EINVAL);

	zpa_model_pagecache_destroy(pc);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_pagecache_dirty_writeback_flusher(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	const struct zpa_page_owner_ops *ops;
	void *arg;
	struct zpa_model_pagecache *pc = pagecache(m, &ops, &arg);
	uint64_t free0 = zpa_total_free(m);
	int f = zpa_model_file_create(pc, 64);
	zpa_pfn_t p0;

	zpa_model_pagecache_tick(pc, 1000);
	/* A write to an uncached page: allocated dirty. */
	assert_int_equal(zpa_model_file_read(pc, f, 0, NULL, ZPA_MODEL_WRITE), ZPA_MODEL_MISS);
	assert_int_equal(vmstat(m, "nr_dirty"), 1);
	assert_int_equal(pcs(pc).dirty, 1);
	p0 = zpa_model_file_page(pc, f, 0);
	/* A dirty page is not evicted; writepage starts a writeback that ends 20 ms later. */
	assert_int_equal(ops->evict(arg, p0, 0, &ctx), ZPA_EVICT_KEEP);
	assert_int_equal(ops->writepage(arg, p0, 0, &ctx), ZPA_EVICT_WRITEBACK);
	assert_int_equal(pcs(pc).writeback, 1);
	assert_int_equal(pcs(pc).dirty, 0);
	assert_int_equal(ops->writepage(arg, p0, 0, &ctx), ZPA_EVICT_KEEP);
	assert_int_equal(ops->evict(arg, p0, 0, &ctx), ZPA_EVICT_KEEP);
	assert_int_equal(ops->migrate(arg, p0, p0 + 1, 0, ZPA_MIGRATE_SYNC), ZPA_EBUSY);
	zpa_model_pagecache_tick(pc, 1019);
	assert_int_equal(pcs(pc).writeback, 1);
	zpa_model_pagecache_tick(pc, 1020);
	assert_int_equal(pcs(pc).writeback, 0);
	assert_int_equal(pcs(pc).written, 1);
	assert_int_equal(ops->evict(arg, p0, 0, &ctx), ZPA_EVICT_FREED);

	/* The flusher: 10 dirty pages, background threshold 4: the 6 oldest are written. */
	for (uint64_t i = 1; i <= 10; i++)
		assert_int_equal(zpa_model_file_read(pc, f, i, NULL, ZPA_MODEL_WRITE), ZPA_MODEL_MISS);
	zpa_model_pagecache_tick(pc, 2000);
	struct zpa_model_pagecache_stats s = pcs(pc);
	assert_int_equal(s.flushed, 6);
	assert_int_equal(s.dirty, 4);
	assert_int_equal(s.writeback, 6);
	/* Under the flusher's writeback: kept; once written: clean to writepage(). */
	assert_int_equal(ops->writepage(arg, zpa_model_file_page(pc, f, 1), 0, &ctx), ZPA_EVICT_KEEP);
	zpa_model_pagecache_tick(pc, 2020);
	assert_int_equal(pcs(pc).writeback, 0);
	assert_int_equal(ops->writepage(arg, zpa_model_file_page(pc, f, 1), 0, &ctx), ZPA_EVICT_CLEAN);
	assert_int_equal(ops->writepage(arg, zpa_model_file_page(pc, f, 10), 0, &ctx), ZPA_EVICT_WRITEBACK);
	/* dirty_expire: the rest are written once 30 s old (dirtied at 1020, the clock then). */
	zpa_model_pagecache_tick(pc, 1020 + 29999);
	assert_int_equal(pcs(pc).dirty, 3);
	zpa_model_pagecache_tick(pc, 1020 + 30000);
	assert_int_equal(pcs(pc).dirty, 0);
	assert_int_equal(pcs(pc).flushed, 9);
	/* A redirty during writeback keeps the page dirty after it. */
	assert_int_equal(zpa_model_file_read(pc, f, 7, NULL, ZPA_MODEL_WRITE), ZPA_MODEL_HIT);
	zpa_model_pagecache_tick(pc, 1020 + 30020);
	assert_int_equal(pcs(pc).writeback, 0);
	assert_int_equal(pcs(pc).dirty, 1);

	/* Deleting a file with a page under writeback: that page goes when the writeback ends. */
	assert_int_equal(ops->writepage(arg, zpa_model_file_page(pc, f, 7), 0, &ctx), ZPA_EVICT_WRITEBACK);
	assert_int_equal(zpa_model_file_delete(pc, f), 0);
	assert_int_equal(zpa_model_file_delete(pc, f), ZPA_ENOENT);
	assert_int_equal(pcs(pc).pages, 0);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	zpa_model_pagecache_tick(pc, 1020 + 30039);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	zpa_model_pagecache_tick(pc, 1020 + 30040);
	assert_int_equal(zpa_total_free(m), free0);

	zpa_model_pagecache_destroy(pc);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_pagecache_migrate_punch_adopt(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	const struct zpa_page_owner_ops *ops;
	void *arg;
	struct zpa_model_pagecache *pc = pagecache(m, &ops, &arg);
	uint64_t free0 = zpa_total_free(m);
	int f = zpa_model_file_create(pc, 8);
	zpa_pfn_t src, dst, mine;

	assert_int_equal(zpa_model_file_read(pc, f, 3, NULL, ZPA_MODEL_MAPPED), ZPA_MODEL_MISS);
	src = zpa_model_file_page(pc, f, 3);
	dst = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_true(dst != NONE);
	/* migrate(): the owner's reference moves to dst; zpa (here: the test) frees src. */
	assert_int_equal(ops->migrate(arg, src, dst, 0, ZPA_MIGRATE_ASYNC), 0);
	assert_int_equal(zpa_model_file_page(pc, f, 3), dst);
	assert_int_equal(ops->referenced(arg, dst, 0), 1);   /* state moved with it */
	assert_int_equal(ops->evict(arg, src, 0, &ctx), ZPA_EVICT_KEEP);
	assert_int_equal(zpa_free_pages(m, src, 0), 0);
	assert_int_equal(pcs(pc).migrated, 1);
	assert_int_equal(zpa_total_free(m), free0 - 1);

	/* punch: the page goes, no shadow (a read is a miss). */
	assert_int_equal(zpa_model_file_punch(pc, f, 3), 0);
	assert_int_equal(zpa_total_free(m), free0);
	assert_int_equal(zpa_model_file_read(pc, f, 3, NULL, 0), ZPA_MODEL_MISS);
	assert_int_equal(zpa_model_file_punch(pc, f, 4), 0);
	assert_int_equal(zpa_model_file_punch(pc, f, 8), ZPA_EINVAL);

	/* add_page: a caller's page joins the file (and the LRU); a taken slot is refused. */
	mine = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_int_equal(zpa_model_file_add_page(pc, f, 3, mine), ZPA_EINVAL);
	assert_int_equal(zpa_model_file_add_page(pc, f, 5, mine), 0);
	assert_int_equal(zpa_model_file_page(pc, f, 5), mine);
	assert_int_equal(lru(m, ZPA_LRU_INACTIVE_FILE), 2);
	assert_int_equal(zpa_model_file_read(pc, f, 5, NULL, 0), ZPA_MODEL_HIT);
	assert_int_equal(zpa_model_file_cached(pc, f), 2);

	zpa_model_pagecache_destroy(pc);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---------------------------------------------------------------- anonymous memory */

static struct zpa_model_anon_stats ans(struct zpa_model_anon *a)
{
	struct zpa_model_anon_stats s;

	zpa_model_anon_stats(a, &s);
	return s;
}

static struct zpa_model_task *task(struct zpa_model_anon *a, const char *comm, int pid, short adj, uint64_t pages)
{
	struct zpa_model_task *t = NULL;
	struct zpa_model_task_config tc = { .comm = comm, .pid = pid, .oom_score_adj = adj, .max_pages = pages,
					    .cpu = 0 };

	assert_int_equal(zpa_model_task_create(a, &tc, &t), 0);
	return t;
}

static void test_anon_swap(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zpa_model_anon *a = NULL;
	struct zpa_model_anon_config cfg = { .swap_pages = 8 };
	const struct zpa_page_owner_ops *ops;
	void *arg;
	uint64_t free0 = zpa_total_free(m);

	assert_int_equal(zpa_model_anon_create(m, &cfg, &a), 0);
	zpa_model_anon_owner(a, &ops, &arg);
	assert_int_equal(zpa_swap_free(m), 8);
	struct zpa_model_task *t = task(a, "app", 100, 0, 4096);
	struct zpa_oom_footprint fp;

	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(zpa_model_task_touch(t, i, ZPA_MODEL_WRITE), ZPA_MODEL_MISS);
	assert_int_equal(zpa_model_task_touch(t, 3, 0), ZPA_MODEL_HIT);
	/* 16 pages and one page table page. */
	assert_int_equal(zpa_total_free(m), free0 - 17);
	assert_int_equal(lru(m, ZPA_LRU_INACTIVE_ANON), 16);
	zpa_model_task_footprint(t, &fp);
	assert_int_equal(fp.rss_anon, 16);
	assert_int_equal(fp.swapents, 0);
	assert_int_equal(fp.pgtables, 1);
	assert_int_equal(zpa_model_task_touch(t, 700, 0), ZPA_MODEL_MISS); /* a second page table page */
	zpa_model_task_footprint(t, &fp);
	assert_int_equal(fp.pgtables, 2);

	/* Swap-out: writepage takes a slot, evict leaves a swap entry and frees the page. */
	zpa_pfn_t p0 = zpa_model_task_page(t, 0);
	assert_int_equal(ops->referenced(arg, p0, 0), 1);   /* the fault's access */
	assert_int_equal(ops->referenced(arg, p0, 0), 0);
	assert_int_equal(ops->writepage(arg, p0, 0, &ctx), ZPA_EVICT_CLEAN);
	assert_int_equal(zpa_swap_free(m), 7);
	assert_int_equal(ops->writepage(arg, p0, 0, &ctx), ZPA_EVICT_CLEAN);  /* in swap cache already */
	assert_int_equal(zpa_swap_free(m), 7);
	assert_int_equal(ops->evict(arg, p0, 0, &ctx), ZPA_EVICT_FREED);
	assert_false(allocated(m, p0));
	assert_int_equal(zpa_model_task_page(t, 0), NONE);
	zpa_model_task_footprint(t, &fp);
	assert_int_equal(fp.rss_anon, 16);
	assert_int_equal(fp.swapents, 1);
	assert_int_equal(zpa_swap_free(m), 7);
	/* Swap-in: a new page, the slot freed. */
	assert_int_equal(zpa_model_task_touch(t, 0, 0), ZPA_MODEL_REFAULT);
	assert_int_equal(zpa_swap_free(m), 8);
	assert_int_equal(ans(a).swapins, 1);
	assert_int_equal(ans(a).swapouts, 1);

	/* A full device: writepage answers ACTIVATE, and so does an evict that would need a slot. */
	for (uint64_t i = 1; i <= 8; i++)
		assert_int_equal(ops->writepage(arg, zpa_model_task_page(t, i), 0, &ctx), ZPA_EVICT_CLEAN);
	assert_int_equal(zpa_swap_free(m), 0);
	assert_int_equal(ops->writepage(arg, zpa_model_task_page(t, 9), 0, &ctx), ZPA_EVICT_ACTIVATE);
	assert_int_equal(ops->evict(arg, zpa_model_task_page(t, 9), 0, &ctx), ZPA_EVICT_ACTIVATE);
	assert_int_equal(ans(a).swap_full, 2);
	/* A write makes the swap copy stale: its slot is freed and the page dirty again. */
	assert_int_equal(zpa_model_task_touch(t, 1, ZPA_MODEL_WRITE), ZPA_MODEL_HIT);
	assert_int_equal(zpa_swap_free(m), 1);
	for (uint64_t i = 2; i <= 8; i++)
		assert_int_equal(ops->evict(arg, zpa_model_task_page(t, i), 0, &ctx), ZPA_EVICT_FREED);
	assert_int_equal(ans(a).swap_used, 7);
	assert_int_equal(ans(a).swapents, 7);
	/* Unmapping swap entries and pages gives both back. */
	assert_int_equal(zpa_model_task_unmap(t, 0, 6), 0);
	zpa_model_task_footprint(t, &fp);
	assert_int_equal(fp.swapents, 3);
	assert_int_equal(fp.rss_anon, 16 + 1 - 7 - 2);
	assert_int_equal(zpa_swap_free(m), 5);

	/* migrate(): the entry follows. */
	zpa_pfn_t src = zpa_model_task_page(t, 10), dst = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0);
	assert_int_equal(ops->migrate(arg, src, dst, 0, ZPA_MIGRATE_SYNC), 0);
	assert_int_equal(zpa_model_task_page(t, 10), dst);
	assert_int_equal(zpa_free_pages(m, src, 0), 0);

	zpa_model_task_exit(t);
	assert_int_equal(zpa_model_task_touch(t, 0, 0), ZPA_EBUSY);
	assert_int_equal(zpa_swap_free(m), 8);
	assert_int_equal(zpa_total_free(m), free0);
	assert_int_equal(ans(a).tasks, 0);
	zpa_model_anon_destroy(a);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_anon_thp(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zpa_model_anon *a = NULL;
	struct zpa_model_anon_config cfg = { .swap_pages = 1024 };
	const struct zpa_page_owner_ops *ops;
	void *arg;
	uint64_t free0 = zpa_total_free(m);

	assert_int_equal(zpa_model_anon_create(m, &cfg, &a), 0);
	zpa_model_anon_owner(a, &ops, &arg);
	struct zpa_model_task *t = task(a, "thp", 7, 0, 2048);

	assert_int_equal(zpa_model_task_touch(t, 3, 0), ZPA_MODEL_MISS);
	assert_int_equal(zpa_model_task_touch_huge(t, 0, ZPA_GFP_TRANSHUGE_LIGHT), ZPA_EINVAL); /* range in use */
	assert_int_equal(zpa_model_task_touch_huge(t, 700, ZPA_GFP_TRANSHUGE_LIGHT), 0);
	zpa_pfn_t head = zpa_model_task_page(t, 512);
	assert_true(head != NONE);
	assert_int_equal(zpa_model_task_page(t, 1023), head);
	assert_int_equal(zpa_compound_order(m, head), 9);
	assert_int_equal(lru(m, ZPA_LRU_INACTIVE_ANON), 513);
	assert_int_equal(ans(a).rss, 513);
	assert_int_equal(ans(a).thp, 1);
	/* Partly unmapped, it stays one block until its last entry goes. */
	assert_int_equal(zpa_model_task_unmap(t, 512, 12), 0);
	assert_true(allocated(m, head));
	/* Swapped out whole: a slot per mapped entry. */
	assert_int_equal(ops->writepage(arg, head, 9, &ctx), ZPA_EVICT_CLEAN);
	assert_int_equal(zpa_swap_free(m), 1024 - 500);
	assert_int_equal(ops->evict(arg, head, 9, &ctx), ZPA_EVICT_FREED);
	assert_false(allocated(m, head));
	assert_int_equal(ans(a).swapents, 500);
	assert_int_equal(ans(a).rss, 1);
	/* ... and swapped in page by page. */
	assert_int_equal(zpa_model_task_touch(t, 600, 0), ZPA_MODEL_REFAULT);
	assert_int_equal(zpa_model_task_touch(t, 520, 0), ZPA_MODEL_MISS);  /* unmapped before */
	assert_int_equal(zpa_swap_free(m), 1024 - 499);

	zpa_model_anon_destroy(a);
	assert_int_equal(zpa_swap_free(m), 1024);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_oom_callbacks(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zpa_model_anon *a = NULL;
	struct zpa_model_anon_config cfg = { .swap_pages = 64 };
	const struct zpa_page_owner_ops *ops;
	const struct zpa_oom_task_ops *tops;
	void *arg, *targ;
	struct zpa_oom_footprint fp;
	struct zpa_model_kill k;
	uint64_t free0 = zpa_total_free(m);

	assert_int_equal(zpa_model_anon_create(m, &cfg, &a), 0);
	zpa_model_anon_owner(a, &ops, &arg);
	struct zpa_model_task *big = task(a, "big", 10, 0, 8192);
	struct zpa_model_task *small = task(a, "small-with-a-long-name", 11, 500, 8192);
	struct zpa_model_task *excluded = NULL;
	struct zpa_model_task_config nc = { .comm = "kthread", .pid = 2, .max_pages = 16, .cpu = 0, .no_oom = true };

	assert_int_equal(zpa_model_task_create(a, &nc, &excluded), 0);
	for (uint64_t i = 0; i < 1100; i++)
		assert_true(zpa_model_task_touch(big, i, ZPA_MODEL_WRITE) >= 0);
	for (uint64_t i = 0; i < 100; i++)
		assert_true(zpa_model_task_touch(small, i * 8, ZPA_MODEL_WRITE) >= 0);
	/* Swap out 10 of small's pages. */
	for (uint64_t i = 0; i < 10; i++) {
		zpa_pfn_t p = zpa_model_task_page(small, i * 8);

		assert_int_equal(ops->writepage(arg, p, 0, &ctx), ZPA_EVICT_CLEAN);
		assert_int_equal(ops->evict(arg, p, 0, &ctx), ZPA_EVICT_FREED);
	}
	zpa_model_task_oom_ops(small, &tops, &targ);
	tops->footprint(targ, &fp);
	assert_int_equal(fp.rss_anon, 90);
	assert_int_equal(fp.swapents, 10);
	assert_int_equal(fp.pgtables, 2);
	assert_int_equal(fp.rss_file + fp.rss_shmem, 0);
	zpa_model_task_footprint(big, &fp);
	assert_int_equal(fp.rss_anon, 1100);
	assert_int_equal(fp.pgtables, 3);

	/* kill(): a snapshot of every candidate, the victim stops allocating. */
	assert_int_equal(zpa_model_anon_last_kill(a, &k), 0);
	zpa_model_anon_tick(a, 500);
	tops->kill(targ);
	tops->kill(targ);  /* a second kill of the same task changes nothing */
	assert_int_equal(zpa_model_anon_last_kill(a, &k), 1);
	assert_int_equal(k.victim_pid, 11);
	assert_string_equal(k.victim_comm, "small-with-a-lo");
	assert_int_equal(k.at_ms, 500);
	assert_int_equal(k.nr_tasks, 2);
	assert_int_equal(k.tasks[0].pid, 10);
	assert_int_equal(k.tasks[0].fp.rss_anon, 1100);
	assert_int_equal(k.tasks[1].oom_score_adj, 500);
	assert_int_equal(k.tasks[1].fp.swapents, 10);
	assert_false(k.tasks[1].killed);
	assert_true(zpa_model_task_killed(small));
	assert_int_equal(zpa_model_task_touch(small, 1, 0), ZPA_EBUSY);
	assert_int_equal(zpa_model_task_touch_huge(small, 1024, ZPA_GFP_TRANSHUGE_LIGHT), ZPA_EBUSY);

	/* reap(): anonymous pages and slots now; page tables stay until the exit. */
	assert_int_equal(tops->reap(targ), 90);
	tops->footprint(targ, &fp);
	assert_int_equal(fp.rss_anon, 0);
	assert_int_equal(fp.swapents, 0);
	assert_int_equal(fp.pgtables, 2);
	assert_int_equal(zpa_swap_free(m), 64);
	assert_false(zpa_model_task_exited(small));
	zpa_model_anon_tick(a, 510);
	assert_true(zpa_model_task_exited(small));
	tops->footprint(targ, &fp);
	assert_int_equal(fp.pgtables, 0);
	assert_int_equal(ans(a).reaped, 90);
	assert_int_equal(ans(a).exits, 1);
	assert_int_equal(ans(a).kills, 1);
	assert_int_equal(ans(a).tasks, 2);
	assert_int_equal(zpa_total_free(m), free0 - 1100 - 3);

	zpa_model_anon_destroy(a);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---------------------------------------------------------------- slab */

static void test_slab_shrinker(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zpa_model_slab *s = NULL;
	struct zpa_model_slab_config cfg;
	const struct zpa_shrinker_ops *ops;
	void *arg;
	uint64_t id[10], free0 = zpa_total_free(m);
	struct zpa_model_slab_stats st;

	zpa_model_slab_config_init(&cfg);
	cfg.objs_per_page = 4;
	cfg.name = "dentry";
	assert_int_equal(zpa_model_slab_create(m, &cfg, &s), 0);
	zpa_model_slab_shrinker(s, &ops, &arg);
	assert_string_equal(ops->name, "dentry");
	assert_int_equal(ops->seeks, ZPA_DEFAULT_SEEKS);

	struct zpa_shrink_control sc = { .gfp = ZPA_GFP_KERNEL };
	assert_true(ops->count_objects(arg, &sc) == ZPA_SHRINK_EMPTY);
	for (int i = 0; i < 10; i++)
		assert_int_equal(zpa_model_slab_alloc(s, NULL, &id[i]), 0);
	assert_int_equal(zpa_total_free(m), free0 - 3);
	zpa_model_slab_stats(s, &st);
	assert_int_equal(st.objects, 10);
	assert_int_equal(st.pages, 3);
	assert_int_equal(ops->count_objects(arg, &sc), 10);

	/* The two oldest were used: spared once; the eight others freed, emptying two pages. */
	assert_int_equal(zpa_model_slab_touch(s, id[0]), 0);
	assert_int_equal(zpa_model_slab_touch(s, id[1]), 0);
	sc.nr_to_scan = 10;
	assert_int_equal(ops->scan_objects(arg, &sc), 8);
	assert_int_equal(sc.nr_scanned, 10);
	assert_int_equal(sc.nr_freed_pages, 2);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	assert_int_equal(ops->count_objects(arg, &sc), 2);
	assert_int_equal(zpa_model_slab_touch(s, id[5]), ZPA_ENOENT);
	assert_int_equal(zpa_model_slab_free(s, id[5]), ZPA_ENOENT);
	/* A new object fills the partial page: no new page. */
	uint64_t again;
	assert_int_equal(zpa_model_slab_alloc(s, NULL, &again), 0);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	assert_true(again != id[9] && (uint32_t)again == (uint32_t)id[9]);   /* a reused slot, a new id */
	/* Their bits spent, the rest go; the page with them. */
	sc.nr_freed_pages = 0;
	sc.nr_to_scan = 128;
	assert_int_equal(ops->scan_objects(arg, &sc), 3);
	assert_int_equal(sc.nr_freed_pages, 1);
	assert_int_equal(zpa_total_free(m), free0);
	zpa_model_slab_stats(s, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.pages_freed, 3);
	assert_int_equal(st.shrunk, 11);
	assert_int_equal(st.lookup_misses, 1);
	/* Explicit frees. */
	assert_int_equal(zpa_model_slab_alloc(s, NULL, &again), 0);
	assert_int_equal(zpa_model_slab_free(s, again), 0);
	assert_int_equal(zpa_total_free(m), free0);

	cfg.objs_per_page = 65;
	struct zpa_model_slab *bad = NULL;
	assert_int_equal(zpa_model_slab_create(m, &cfg, &bad), ZPA_EINVAL);
	zpa_model_slab_destroy(s);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---------------------------------------------------------------- threads */

struct racer {
	struct zpa_machine *m;
	struct zpa_model_pagecache *pc;
	int file;
	uint64_t pages;
	_Atomic int *stop;
	unsigned seed;
};

static void *reader(void *p)
{
	struct racer *r = p;
	struct zpa_task *t = zpa_task_create();

	zpa_task_set_cpu(t, 0);
	for (int i = 0; i < 40000; i++) {
		unsigned x = (unsigned)rand_r(&r->seed);
		int rc = zpa_model_file_read(r->pc, r->file, x % r->pages, t,
					     (x & 0x100 ? ZPA_MODEL_WRITE : 0) | (x & 0x200 ? ZPA_MODEL_MAPPED : 0));

		assert_true(rc >= 0 || rc == ZPA_ENOMEM);
		if ((x & 0xfff) == 7)
			zpa_model_file_punch(r->pc, r->file, (x >> 12) % r->pages);
	}
	atomic_store(r->stop, 1);
	zpa_task_destroy(t);
	return NULL;
}

static void *reclaimer(void *p)
{
	struct racer *r = p;
	const struct zpa_page_owner_ops *ops;
	void *arg;
	uint64_t now = 0;

	zpa_model_pagecache_owner(r->pc, &ops, &arg);
	while (!atomic_load(r->stop)) {
		unsigned x = (unsigned)rand_r(&r->seed);
		zpa_pfn_t pfn = zpa_model_file_page(r->pc, r->file, x % r->pages);

		if (pfn == NONE)
			continue;
		switch (x >> 28) {
		case 0: case 1: case 2: case 3: {
			int w = ops->writepage(arg, pfn, 0, &ctx);

			if (w == ZPA_EVICT_CLEAN || (x & 1))
				ops->evict(arg, pfn, 0, &ctx);
			break;
		}
		case 4: {
			zpa_pfn_t dst = zpa_alloc_pages(r->m, ZPA_GFP_HIGHUSER_MOVABLE, 0);

			/*
			 * Once migrate() succeeds the model has forgotten src, so
			 * nobody else can free it: drop the owner's reference as
			 * zpa would.  (No zpa call on a page we do not own.)
			 */
			if (dst == NONE)
				break;
			if (ops->migrate(arg, pfn, dst, 0, ZPA_MIGRATE_ASYNC) == 0)
				zpa_free_pages(r->m, pfn, 0);
			else
				zpa_free_pages(r->m, dst, 0);
			break;
		}
		default:
			ops->referenced(arg, pfn, 0);
			zpa_model_pagecache_tick(r->pc, now += 5);
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zpa_model_pagecache *pc = NULL;
	uint64_t free0 = zpa_total_free(m);
	_Atomic int stop = 0;

	assert_int_equal(zpa_model_pagecache_create(m, NULL, &pc), 0);
	int f = zpa_model_file_create(pc, 4096);
	struct racer rr = { m, pc, f, 4096, &stop, 1 }, rc = { m, pc, f, 4096, &stop, 2 };
	pthread_t a, b;

	assert_int_equal(pthread_create(&a, NULL, reader, &rr), 0);
	assert_int_equal(pthread_create(&b, NULL, reclaimer, &rc), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	/* The racer's migrations kept zpa's view: every cached page still allocated. */
	struct zpa_model_pagecache_stats s = pcs(pc);
	uint64_t cached = 0;
	for (uint64_t i = 0; i < 4096; i++) {
		zpa_pfn_t pfn = zpa_model_file_page(pc, f, i);

		if (pfn != NONE) {
			assert_true(allocated(m, pfn));
			cached++;
		}
	}
	assert_int_equal(cached, s.pages);
	zpa_model_pagecache_tick(pc, UINT64_MAX / 2);
	assert_int_equal(zpa_model_file_delete(pc, f), 0);
	zpa_model_pagecache_destroy(pc);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru_lists_start_empty),
		cmocka_unit_test(test_pagecache_read_evict_refault),
		cmocka_unit_test(test_pagecache_dirty_writeback_flusher),
		cmocka_unit_test(test_pagecache_migrate_punch_adopt),
		cmocka_unit_test(test_anon_swap),
		cmocka_unit_test(test_anon_thp),
		cmocka_unit_test(test_oom_callbacks),
		cmocka_unit_test(test_slab_shrinker),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
