/*
 * page_alloc.c - the heart of zpa: __alloc_pages(), get_page_from_freelist(),
 * rmqueue(), prep_new_page() and the free path, following Linux 6.1.
 *
 * Allocation:
 *   alloc_pages (zpa_alloc_pages, zpa_alloc_pages_mpol; mempolicy.c)
 *     -> the task's memory policy picks the preferred node and nodemask
 *   __alloc_pages
 *     -> order and GFP checks, gfp_allowed_mask, the task's NOIO/NOFS scope
 *     -> prepare_alloc_pages: highest zone index, zonelist, migratetype; with
 *          a cpuset, __GFP_HARDWALL for the first pass and either the cpuset's
 *          nodes as the nodemask or ALLOC_CPUSET
 *     -> should_fail_alloc_page: fault injection (fail_page_alloc.c) may
 *          fail the request here, before any zone is looked at
 *     -> get_page_from_freelist at the LOW watermark (+ ALLOC_NOFRAGMENT)
 *          walks the zonelist (nodemask, cpuset); __zone_watermark_ok with
 *          lowmem_reserve; rmqueue -> __rmqueue (buddy.c) -> prep_new_page
 *     -> __alloc_pages_slowpath, with the caller's gfp and nodemask, under a
 *          mems_allowed cookie: gfp_to_alloc_flags (MIN watermark with the
 *          ALLOC_MIN_RESERVE / ALLOC_NON_BLOCK / ALLOC_HIGHATOMIC reserves,
 *          ALLOC_CPUSET unless non-blocking __GFP_HIGH), then the
 *          PF_MEMALLOC/__GFP_MEMALLOC no-watermark attempt; a cpuset change
 *          seen before giving up (check_retry_cpuset) starts it again.
 * Free:
 *   __free_pages -> reference drop -> free_pages_prepare checks (bad_page)
 *     -> __free_one_page (buddy.c) under the zone lock.
 *
 * Locking: the zone lock covers the free lists, the zone counters, page flags
 * and reference counts of the zone's pages.  No call holds two zone locks.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"
#include "pcp.h"

/* ---- tasks ---- */

static __thread struct zpa_task thread_task __attribute__((tls_model("initial-exec"))) = {
	.cpu = -1, .flags = 0, .is_thread_default = true,
	.mems_allowed = NODE_MASK_ALL, .mems_softwall = NODE_MASK_ALL,
};

struct zpa_task *zpa_task_current(void)
{
	return &thread_task;
}

struct zpa_task *zpa_task_create(void)
{
	static const zpa_nodemask_t all = NODE_MASK_ALL;
	struct zpa_task *t = zpa_port_zalloc(sizeof(*t));
	if (t) {
		t->cpu = -1;
		t->mems_allowed = all;
		t->mems_softwall = all;
	}
	return t;
}

void zpa_task_destroy(struct zpa_task *t)
{
	if (t && !t->is_thread_default) {
		if (t->oom)
			oom_task_exit(t);
		if (t->memcg)
			memcg_task_exit(t);
		zpa_port_free(t);
	}
}

void zpa_task_set_cpu(struct zpa_task *t, int cpu)
{
	t->cpu = cpu < 0 ? -1 : cpu;
	if (t == &thread_task)
		thread_slots_refresh();
}
int zpa_task_cpu(const struct zpa_task *t) { return t->cpu; }

void zpa_task_set_comm(struct zpa_task *t, const char *comm)
{
	size_t i = 0;
	for (; comm && comm[i] && i < sizeof(t->comm) - 1; i++)
		t->comm[i] = comm[i];
	t->comm[i] = 0;
}
unsigned zpa_task_flags(const struct zpa_task *t) { return t->flags; }

unsigned zpa_task_flags_save(struct zpa_task *t, unsigned flags)
{
	unsigned old = t->flags & flags;
	t->flags |= flags;
	return old;
}

void zpa_task_flags_restore(struct zpa_task *t, unsigned saved, unsigned flags)
{
	t->flags = (t->flags & ~flags) | (saved & flags);
}

/* A thread's default task allocates for the node its page lists belong to. */
static inline int thread_home_node(struct zpa_machine *m, const struct zpa_task *t)
{
	struct pageset *ps = task_pageset(m, t);
	return ps ? ps->nid : task_node(m, t);
}

/* ---- counters ---- */

void count_vm_event(struct zpa_machine *m, enum vm_event_item item, unsigned long n)
{
	atomic_fetch_add_explicit(&m->vm_events[item], n, memory_order_relaxed);
}

/* ---- watermarks ---- */

/*
 * __zone_watermark_unusable_free(): free pages this request may not count:
 * the part of a block it cannot use, the high-atomic reserve unless it may
 * use reserves, and free CMA pages unless it may use CMA.
 */
static inline long zone_watermark_unusable_free(struct zone *z, unsigned order, unsigned alloc_flags)
{
	long unusable = (1l << order) - 1;
	if (likely(!(alloc_flags & ALLOC_RESERVES)))
		unusable += (long)READ_ONCE(z->nr_reserved_highatomic);
	if (!(alloc_flags & ALLOC_CMA))
		unusable += (long)zone_page_state(z, NR_FREE_CMA_PAGES);
	return unusable;
}

/*
 * __zone_watermark_ok(): may a request of this order take pages from z with
 * free_pages free?  The mark is lowered for the reserves alloc_flags grant;
 * free pages must stay above mark + lowmem_reserve[highest_zoneidx]; a
 * high-order request also needs a free block of at least its order in a type
 * it may use.  Zone lock not needed (a racy read, as in Linux).
 */
bool __zone_watermark_ok(const struct zpa_machine *m, struct zone *z, unsigned order, unsigned long mark,
			 int highest_zoneidx, unsigned alloc_flags, long free_pages)
{
	long min = (long)mark;

	free_pages -= zone_watermark_unusable_free(z, order, alloc_flags);
	if (unlikely(alloc_flags & ALLOC_RESERVES)) {
		if (alloc_flags & ALLOC_MIN_RESERVE) {
			min -= min / 2;
			if (alloc_flags & ALLOC_NON_BLOCK)
				min -= min / 4;
		}
		if (alloc_flags & ALLOC_OOM)
			min -= min / 2;
	}
	if (free_pages <= min + READ_ONCE(z->lowmem_reserve[highest_zoneidx]))
		return false;
	if (!order)
		return true;
	for (unsigned o = order; o < m->max_order; o++) {
		const struct free_area *area = &z->free_area[o];
		if (!READ_ONCE(area->nr_free))
			continue;
		for (int mt = 0; mt < ZPA_MIGRATE_PCPTYPES; mt++)
			if (READ_ONCE(area->free_list[mt].head) != ZPA_NIL)
				return true;
		if ((alloc_flags & ALLOC_CMA) && READ_ONCE(area->free_list[ZPA_MIGRATE_CMA].head) != ZPA_NIL)
			return true;
		if ((alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) &&
		    READ_ONCE(area->free_list[ZPA_MIGRATE_HIGHATOMIC].head) != ZPA_NIL)
			return true;
	}
	return false;
}

bool zone_watermark_ok(const struct zpa_machine *m, struct zone *z, unsigned order, unsigned long mark,
		       int highest_zoneidx, unsigned alloc_flags)
{
	return __zone_watermark_ok(m, z, order, mark, highest_zoneidx, alloc_flags,
				   (long)zone_page_state(z, NR_FREE_PAGES));
}

/*
 * zone_watermark_fast(): the order-0 shortcut, then the full test, then (for
 * __GFP_ATOMIC order-0 requests at the min mark) the test without the boost.
 */
bool zone_watermark_fast(const struct zpa_machine *m, struct zone *z, unsigned order, unsigned long mark,
			 int highest_zoneidx, unsigned alloc_flags, zpa_gfp_t gfp)
{
	long free_pages = (long)zone_page_state(z, NR_FREE_PAGES);

	if (!order) {
		long usable = free_pages;
		long reserved = zone_watermark_unusable_free(z, 0, alloc_flags);
		usable -= usable < reserved ? usable : reserved;
		if (usable > (long)mark + READ_ONCE(z->lowmem_reserve[highest_zoneidx]))
			return true;
	}
	if (__zone_watermark_ok(m, z, order, mark, highest_zoneidx, alloc_flags, free_pages))
		return true;
	if (unlikely(!order && (gfp & ZPA___GFP_ATOMIC) && READ_ONCE(z->watermark_boost) &&
		     (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN))
		return __zone_watermark_ok(m, z, order, READ_ONCE(z->_watermark[WMARK_MIN]), highest_zoneidx, alloc_flags,
					   free_pages);
	return false;
}

/* ---- zonelist walking ---- */

/* next_zones_zonelist(): the first entry at or after z with index <= highest and node in mask. */
static inline struct zoneref *next_zones_zonelist(struct zoneref *z, int highest_zoneidx,
						   const zpa_nodemask_t *nodes)
{
	while (z->zone && (z->zone_idx > highest_zoneidx || !zpa_node_isset(nodes, z->zone->zone_pgdat->node_id)))
		z++;
	return z;
}

static inline struct zoneref *first_zones_zonelist(struct zonelist *zl, int highest_zoneidx,
						    const zpa_nodemask_t *nodes)
{
	return next_zones_zonelist(zl->zonerefs, highest_zoneidx, nodes);
}

/* ---- taking pages ---- */

/*
 * prep_new_page(): make the block usable: reference count 1, the allocation
 * order on the first page (so a free with another order is caught), zeroed
 * memory for __GFP_ZERO, and head/tail marks for __GFP_COMP.  Zone lock held.
 */
void prep_new_page(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned order, zpa_gfp_t gfp,
		   int migratetype)
{
	uint32_t keep = page->flags & (PG_ZONE_MASK);
	bool comp = (gfp & ZPA___GFP_COMP) && order;
	__atomic_store_n(&page->refcount, 1, __ATOMIC_RELAXED);
	WRITE_ONCE(page->flags, keep | PG_alloc | order | (migratetype == ZPA_MIGRATE_MOVABLE ? PG_lru : 0) |
					(comp ? PG_head : 0));
	page->next = page->prev = ZPA_NIL;
	if (comp) {
		uint32_t head = page_index(z, page);
		for (unsigned long i = 1; i < (1ul << order); i++) {
			WRITE_ONCE(page[i].flags, (page[i].flags & PG_ZONE_MASK) | PG_tail);
			WRITE_ONCE(page[i].next, head); /* read unlocked by compaction's scanner */
		}
	}
	if ((gfp & ZPA___GFP_ZERO) && m->cfg.mem_mode == ZPA_MEM_BACKED) {
		void *addr = zpa_page_address(m, page_to_pfn(z, page));
		if (addr)
			memset(addr, 0, (size_t)1 << (m->page_shift + order));
	}
}

/*
 * rmqueue_buddy(): take 2^order pages from zone z's buddy lists under its
 * lock: high-atomic reserves first when allowed, then the normal types with
 * fallback, then the high-atomic reserve as a last resort for non-blocking
 * and OOM requests.
 */
static struct zpa_page *rmqueue_buddy(struct zpa_machine *m, struct pageset *ps, struct zone *z, unsigned order,
				      int mt, unsigned alloc_flags)
{
	struct zpa_page *page = NULL;

	/* Counter changes here fold at once: the pageset (whose diffs need its
	 * lock) is not held on this path. */
	zpa_spin_lock(&z->lock);
	(void)ps;
	if (alloc_flags & ALLOC_HIGHATOMIC)
		page = __rmqueue_smallest(z, order, ZPA_MIGRATE_HIGHATOMIC);
	if (!page) {
		page = __rmqueue(m, z, order, mt, alloc_flags);
		if (!page && (alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK)))
			page = __rmqueue_smallest(z, order, ZPA_MIGRATE_HIGHATOMIC);
	}
	if (page) {
		/* The list the block came from decides which free counter drops. */
		int from_mt = (int)((page->flags & PG_MT_MASK) >> PG_MT_SHIFT);
		if (from_mt != ZPA_MIGRATE_ISOLATE) {
			__mod_zone_page_state(z, NR_FREE_PAGES, -(1l << order));
			if (from_mt == ZPA_MIGRATE_CMA)
				__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -(1l << order));
		}
	}
	zpa_spin_unlock(&z->lock);
	return page;
}

/*
 * rmqueue(): the per-CPU lists for small orders and the pageblock order,
 * else (or if the pageset is busy) the buddy lists.  The block is prepared
 * for the caller.
 */
static struct zpa_page *rmqueue(struct zpa_machine *m, const struct alloc_context *ac, struct zone *z,
				unsigned order, zpa_gfp_t gfp, unsigned alloc_flags)
{
	struct pageset *ps = task_pageset(m, ac->task);
	struct zone *preferred = ac->preferred_zoneref->zone;
	struct zpa_page *page = NULL;

	if (ps)
		page = rmqueue_pcplist(m, ps, preferred, z, order, ac->migratetype, alloc_flags);
	if (!page) {
		page = rmqueue_buddy(m, ps, z, order, ac->migratetype, alloc_flags);
		if (!page)
			return NULL;
		zone_count_alloc(m, ps, preferred, z, order);
	}
	prep_new_page(m, z, page, order, gfp, ac->migratetype);
	/* A fragmenting fallback boosted the watermark: let kswapd work on it. */
	if (unlikely(READ_ONCE(z->flags) & ZONE_BOOSTED_WATERMARK)) {
		/* Test, then clear (once per boost), then wake. */
		zpa_spin_lock(&z->lock);
		WRITE_ONCE(z->flags, z->flags & ~ZONE_BOOSTED_WATERMARK);
		zpa_spin_unlock(&z->lock);
		wakeup_kswapd(m, z, 0, 0, z->idx);
	}
	return page;
}

/*
 * alloc_flags_nofragment(): on the first pass, a request whose preferred zone
 * is Normal avoids fallbacks that would mix pageblock types, as long as the
 * node's DMA32 zone could serve instead (Linux assumes so on one node).
 */
static unsigned alloc_flags_nofragment(const struct zpa_machine *m, struct zone *zone, zpa_gfp_t gfp)
{
	unsigned alloc_flags = gfp & ZPA___GFP_KSWAPD_RECLAIM; /* == ALLOC_KSWAPD */
	if (!zone || m->zone_idx_of[ZPA_ZONE_DMA32] < 0)
		return alloc_flags;
	if (zone->type != ZPA_ZONE_NORMAL)
		return alloc_flags;
	if (m->nr_nodes > 1 && !populated_zone(&zone->zone_pgdat->node_zones[m->zone_idx_of[ZPA_ZONE_DMA32]]))
		return alloc_flags;
	return alloc_flags | ALLOC_NOFRAGMENT;
}

/*
 * get_page_from_freelist(): walk the zonelist from the preferred zone and take
 * pages from the first zone whose watermark allows it.  Zones outside the
 * nodemask are skipped, and with ALLOC_CPUSET those the task's cpuset does not
 * allow for gfp (__cpuset_node_allowed).  With ALLOC_NOFRAGMENT the walk stops
 * at the first remote node (fragmenting locally is better than going remote)
 * and, failing everywhere, repeats without the flag.
 */
static struct zpa_page *get_page_from_freelist(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					       unsigned alloc_flags, const struct alloc_context *ac,
					       struct zone **zone_out)
{
	bool no_fallback;
retry:
	no_fallback = alloc_flags & ALLOC_NOFRAGMENT;
	for (struct zoneref *zr = next_zones_zonelist(ac->preferred_zoneref, ac->highest_zoneidx, ac->nodemask);
	     zr->zone; zr = next_zones_zonelist(zr + 1, ac->highest_zoneidx, ac->nodemask)) {
		struct zone *z = zr->zone;
		if (unlikely(ac->task->cpuset_active && (alloc_flags & ALLOC_CPUSET)) &&
		    !__cpuset_node_allowed(ac->task, z->zone_pgdat->node_id, gfp))
			continue;
		if (no_fallback && m->nr_nodes > 1 && z != ac->preferred_zoneref->zone) {
			if (z->zone_pgdat->node_id != ac->preferred_zoneref->zone->zone_pgdat->node_id) {
				alloc_flags &= ~ALLOC_NOFRAGMENT;
				goto retry;
			}
		}
		unsigned long mark = wmark_pages(z, alloc_flags & ALLOC_WMARK_MASK);
		if (!zone_watermark_fast(m, z, order, mark, ac->highest_zoneidx, alloc_flags, gfp)) {
			if (!(alloc_flags & ALLOC_NO_WATERMARKS))
				continue; /* node_reclaim is off by default (node_reclaim_mode 0) */
		}
		struct zpa_page *page = rmqueue(m, ac, z, order, gfp, alloc_flags);
		if (page) {
			/* A high-order atomic request keeps its pageblock for the next one. */
			if (unlikely(alloc_flags & ALLOC_HIGHATOMIC))
				reserve_highatomic_pageblock(m, z, page_to_pfn(z, page));
			*zone_out = z;
			return page;
		}
	}
	if (no_fallback) {
		alloc_flags &= ~ALLOC_NOFRAGMENT;
		goto retry;
	}
	return NULL;
}

/*
 * __gfp_pfmemalloc_flags(): emergency reserves.  Memory-freeing contexts
 * (PF_MEMALLOC, __GFP_MEMALLOC) may ignore the watermarks; an OOM victim
 * may dig into part of the reserve (ALLOC_OOM) so that it can exit.
 */
static unsigned gfp_pfmemalloc_flags(zpa_gfp_t gfp, const struct zpa_task *task)
{
	if (unlikely(gfp & ZPA___GFP_NOMEMALLOC))
		return 0;
	if (gfp & ZPA___GFP_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	if (task->flags & ZPA_PF_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	if (tsk_is_oom_victim(task))
		return ALLOC_OOM;
	return 0;
}

/* The test hook (internal.h): tests only. */
void zpa_set_alloc_test_hook(struct zpa_machine *m, zpa_alloc_test_hook_fn fn, void *arg)
{
	m->alloc_test_hook_arg = arg;
	m->alloc_test_hook = fn;
}

static inline void alloc_test_hook(struct zpa_machine *m, struct zpa_task *task, int site)
{
	if (unlikely(m->alloc_test_hook))
		m->alloc_test_hook(m, task, site, m->alloc_test_hook_arg);
}

/*
 * check_retry_cpuset(): should a failing slow path start again?  Yes when a
 * cpuset change left the nodemask (a BIND policy's nodes) outside
 * mems_allowed - then without the nodemask - or when mems_allowed changed
 * since the cookie was read.
 */
static bool check_retry_cpuset(unsigned cookie, struct alloc_context *ac)
{
	if (ac->task->cpuset_active && ac->nodemask && !cpuset_nodemask_valid_mems_allowed(ac->task, ac->nodemask)) {
		ac->nodemask = NULL;
		return true;
	}
	return read_mems_allowed_retry(ac->task, cookie);
}

/* check_retry_zonelist(): memory hotplug rebuilt the zonelists meanwhile. */
static bool check_retry_zonelist(struct zpa_machine *m, unsigned seq)
{
	return atomic_load_explicit(&m->zonelist_update_seq, memory_order_acquire) != seq;
}

/* wake_all_kswapds(): wake the kswapd of every node the request may use, once each. */
static void wake_all_kswapds(struct zpa_machine *m, unsigned order, zpa_gfp_t gfp, const struct alloc_context *ac)
{
	pg_data_t *last = NULL;
	for (struct zoneref *zr = ac->zonelist->zonerefs; zr->zone; zr++) {
		if (zr->zone_idx > ac->highest_zoneidx || !zpa_node_isset(ac->nodemask, zr->zone->zone_pgdat->node_id))
			continue;
		if (!managed_zone(zr->zone))
			continue;
		if (zr->zone->zone_pgdat != last) {
			last = zr->zone->zone_pgdat;
			wakeup_kswapd(m, zr->zone, gfp, order, ac->highest_zoneidx);
		}
	}
}

/* gfp_compaction_allowed(): compaction needs __GFP_IO (6.1.192). */
static inline bool gfp_compaction_allowed(zpa_gfp_t gfp)
{
	return gfp & ZPA___GFP_IO;
}

/* memalloc_noreclaim_save()/restore(): no recursion into reclaim from reclaim. */
static inline unsigned memalloc_noreclaim_save(struct zpa_task *t)
{
	return zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
}
static inline void memalloc_noreclaim_restore(struct zpa_task *t, unsigned saved)
{
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
}

/*
 * __alloc_pages_direct_compact(): compact the eligible zones at prio, then
 * take the block compaction captured or try the free lists.  Counts
 * compact_stall whenever some zone was compacted, then compact_success or
 * compact_fail.
 */
static struct zpa_page *__alloc_pages_direct_compact(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
						     unsigned alloc_flags, const struct alloc_context *ac,
						     enum compact_priority prio, enum compact_result *result,
						     struct zone **zone_out)
{
	struct zpa_page *page = NULL;
	struct zone *zone = NULL;

	if (!order)
		return NULL;
	unsigned saved = memalloc_noreclaim_save(ac->task);
	*result = try_to_compact_pages(m, gfp, order, alloc_flags, ac, prio, &page, &zone);
	memalloc_noreclaim_restore(ac->task, saved);
	if (*result == COMPACT_SKIPPED)
		return NULL;
	count_vm_event(m, COMPACTSTALL, 1);
	if (page) {
		zpa_spin_lock(&zone->lock);
		prep_new_page(m, zone, page, order, gfp, ac->migratetype);
		zpa_spin_unlock(&zone->lock);
	} else {
		page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, &zone);
	}
	if (page) {
		WRITE_ONCE(zone->compact_blockskip_flush, false);
		compaction_defer_reset(zone, (int)order, true);
		count_vm_event(m, COMPACTSUCCESS, 1);
		*zone_out = zone;
		return page;
	}
	count_vm_event(m, COMPACTFAIL, 1);
	return NULL;
}

/*
 * should_compact_retry(): after reclaim made progress, is another round of
 * compaction worth it?  Counts successful compactions against
 * MAX_COMPACT_RETRIES (a quarter of it for costly orders); a compaction
 * that failed outright or withdrew raises the priority instead, down to the
 * lowest allowed (SYNC_LIGHT for costly orders, SYNC_FULL otherwise); one
 * skipped for lack of order-0 pages retries if reclaim could help.
 */
static bool should_compact_retry(struct zpa_machine *m, const struct alloc_context *ac, unsigned order,
				 unsigned alloc_flags, enum compact_result result, enum compact_priority *prio,
				 int *retries)
{
	int max_retries = MAX_COMPACT_RETRIES;

	if (!order)
		return false;
	if (compaction_made_progress(result))
		(*retries)++;
	if (compaction_failed(result))
		goto check_priority;
	/* compaction_needs_reclaim(): skipped for want of free base pages */
	if (result == COMPACT_SKIPPED)
		return compaction_zonelist_suitable(m, ac, order, alloc_flags);
	if (compaction_withdrawn(result))
		goto check_priority;
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		max_retries /= 4;
	if (*retries <= max_retries)
		return true;
check_priority:;
	enum compact_priority min_prio = order > PAGE_ALLOC_COSTLY_ORDER ? MIN_COMPACT_COSTLY_PRIORITY
									 : MIN_COMPACT_PRIORITY;
	if (*prio > min_prio) {
		(*prio)--;
		*retries = 0;
		return true;
	}
	return false;
}

/*
 * __alloc_pages_direct_reclaim(): reclaim in the caller's context
 * (__perform_reclaim with PF_MEMALLOC set, so nothing the reclaim
 * callbacks allocate recurses into reclaim), then try the free lists.  A
 * failure right after progress may be pages stuck on per-CPU lists or in
 * the high-atomic reserve: release one reserve block, drain every list and
 * try once more.
 */
static struct zpa_page *__alloc_pages_direct_reclaim(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
						     unsigned alloc_flags, const struct alloc_context *ac,
						     unsigned long *progress, struct zone **zone_out)
{
	struct zpa_page *page;
	bool drained = false;

	unsigned saved = memalloc_noreclaim_save(ac->task);
	*progress = try_to_free_pages(m, ac, order, gfp);
	memalloc_noreclaim_restore(ac->task, saved);
	if (!*progress)
		return NULL;
retry:
	page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (!page && !drained) {
		unreserve_highatomic_pageblock(m, ac, false);
		zpa_drain_all_pages(m);
		drained = true;
		goto retry;
	}
	return page;
}

/*
 * should_reclaim_retry(): keep reclaiming while some eligible zone would
 * pass its min watermark if every reclaimable page were reclaimed, and
 * fewer than MAX_RECLAIM_RETRIES loops in a row made no progress (costly
 * orders never count as progress).  Before giving up, release the
 * high-atomic reserves: a retry is worth it if that freed something.
 */
static bool should_reclaim_retry(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
				 const struct alloc_context *ac, unsigned alloc_flags, bool progress,
				 int *no_progress_loops)
{
	bool ret = false;
	(void)gfp;

	if (progress && order <= PAGE_ALLOC_COSTLY_ORDER)
		*no_progress_loops = 0;
	else
		(*no_progress_loops)++;
	if (*no_progress_loops <= MAX_RECLAIM_RETRIES) {
		for (struct zoneref *zr = next_zones_zonelist(ac->zonelist->zonerefs, ac->highest_zoneidx, ac->nodemask);
		     zr->zone; zr = next_zones_zonelist(zr + 1, ac->highest_zoneidx, ac->nodemask)) {
			struct zone *z = zr->zone;
			/* Linux reads zone_page_state_snapshot() here; zpa reads the folded
			 * count (exact with exact_vmstat), as summing every pageset under
			 * its lock on each round would cost more than the round itself. */
			long available = (long)zone_reclaimable_pages(m, z) + (long)zone_page_state(z, NR_FREE_PAGES);
			if (__zone_watermark_ok(m, z, order, min_wmark_pages(z), ac->highest_zoneidx, alloc_flags,
						available)) {
				ret = true;
				break;
			}
		}
	}
	if (!ret)
		return unreserve_highatomic_pageblock(m, ac, true);
	return ret;
}

/* Free pages of the machine as the folded zone counters say (cheap; no pageset locks). */
static unsigned long free_pages_folded(const struct zpa_machine *m)
{
	unsigned long n = 0;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zi = 0; m->nodes[nid] && zi < m->nr_zone_types; zi++)
			n += zone_page_state(&m->nodes[nid]->node_zones[zi], NR_FREE_PAGES);
	return n;
}

/*
 * __alloc_pages_cpuset_fallback(): the __GFP_NOFAIL and OOM helpers' last
 * tries: within the cpuset first, then outside it.
 */
static struct zpa_page *__alloc_pages_cpuset_fallback(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
						      unsigned alloc_flags, const struct alloc_context *ac,
						      struct zone **zone_out)
{
	struct zpa_page *page = get_page_from_freelist(m, gfp, order, alloc_flags | ALLOC_CPUSET, ac, zone_out);
	if (!page)
		page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	return page;
}

/*
 * __alloc_pages_may_oom(): reclaim has failed; under the OOM lock (a
 * failed trylock means someone else is killing for us: progress), try the
 * high watermark once more to catch a kill that just finished, then ask the
 * OOM killer - except for costly orders, __GFP_RETRY_MAYFAIL and
 * __GFP_THISNODE requests, and requests for zones below Normal.  A
 * __GFP_NOFAIL request is then given the reserves.
 */
static struct zpa_page *__alloc_pages_may_oom(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					      const struct alloc_context *ac, unsigned long *progress,
					      struct zone **zone_out)
{
	struct zpa_page *page = NULL;
	struct zpa_oom_control oc = {
		.gfp = gfp,
		.order = (int)order,
		.nodemask = ac->nodemask,
		.task = ac->task,
	};

	*progress = 0;
	if (!oom_trylock(m)) {
		*progress = 1;
		return NULL;
	}
	page = get_page_from_freelist(m, (gfp | ZPA___GFP_HARDWALL) & ~ZPA___GFP_DIRECT_RECLAIM, order,
				      ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac, zone_out);
	if (page)
		goto out;
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		goto out;
	if (gfp & (ZPA___GFP_RETRY_MAYFAIL | ZPA___GFP_THISNODE))
		goto out;
	/* No killing for lowmem: the request's highest zone is below Normal. */
	if (m->zone_type_of[ac->highest_zoneidx] < ZPA_ZONE_NORMAL)
		goto out;
	bool killed = out_of_memory(m, &oc);
	if (!killed && (gfp & ZPA___GFP_NOFAIL))
		zpa_warn(m, __func__, "__GFP_NOFAIL order-%u request and the OOM killer found nothing", order);
	if (killed || (gfp & ZPA___GFP_NOFAIL)) {
		*progress = 1;
		if (gfp & ZPA___GFP_NOFAIL)
			page = __alloc_pages_cpuset_fallback(m, gfp, order, ALLOC_NO_WATERMARKS, ac, zone_out);
	}
out:
	oom_unlock(m);
	/*
	 * The OOM reaper and the victim's exit run while the allocator waits.
	 * With the simulated clock (MANUAL daemons) nothing else runs, so the
	 * reaper's work happens here, where Linux's allocator would sleep.
	 */
	if (!page && *progress && m->daemon_mode == ZPA_DAEMON_MANUAL)
		zpa_oom_reap(m);
	return page;
}

/* current->comm */
static const char *task_comm(const struct zpa_task *t)
{
	return t->comm[0] ? t->comm : "zpa";
}

/*
 * warn_alloc(): the "page allocation failure" report, at most one per 10 s
 * of the machine clock (Linux's nopage_rs: interval 10*HZ, burst 1), never
 * for __GFP_NOWARN.  Counts zpa_alloc_warn / zpa_alloc_warn_suppressed.
 */
static void warn_alloc(struct zpa_machine *m, const struct zpa_task *task, zpa_gfp_t gfp,
		       const zpa_nodemask_t *nodemask, unsigned order)
{
	if (gfp & ZPA___GFP_NOWARN)
		return;
	uint64_t now = machine_now_ms(m);
	bool print;
	zpa_spin_lock(&m->warn_lock);
	if (!m->warn_printed || now - m->warn_begin_ms >= 10000) {
		m->warn_begin_ms = now;
		m->warn_printed = 0;
	}
	print = m->warn_printed < 1;
	if (print)
		m->warn_printed++;
	zpa_spin_unlock(&m->warn_lock);
	if (!print) {
		count_vm_event(m, ALLOC_WARN_SUPPRESSED, 1);
		return;
	}
	count_vm_event(m, ALLOC_WARN, 1);
	char gfpbuf[256], nodes[128], mems[128];
	zpa_gfp_format(gfp, gfpbuf, sizeof(gfpbuf));
	nodelist_format(m, nodemask, nodes, sizeof(nodes));
	nodelist_format(m, &task->mems_allowed, mems, sizeof(mems));
	zpa_log(m, ZPA_LOG_WARN, "%s: page allocation failure: order:%u, mode:%#x(%s), nodemask=%s,cpuset=/,mems_allowed=%s",
		task_comm(task), order, gfp, gfpbuf, nodemask ? nodes : "(null)", mems);
	show_mem_log(m, m->zone_idx_of[ZPA_ZONE_NORMAL] >= 0 ? gfp_zone(m, gfp) : (int)m->nr_zone_types - 1);
}

/*
 * __alloc_pages_slowpath(): what zpa does when the low watermark stops the
 * fast path, in Linux 6.1's order:
 *   restart: read the cpuset and zonelist cookies; recompute alloc_flags
 *     (min watermark, the __GFP_HIGH/atomic reserves, ALLOC_CPUSET); wake
 *     kswapd on every eligible node; try the free lists again;
 *   costly orders (and non-movable high orders) that may reclaim try async
 *     compaction first; a costly __GFP_NORETRY request whose compaction was
 *     skipped or deferred (or that is __GFP_THISNODE) gives up here;
 *   retry: restart if the cpuset or zonelists changed; wake kswapd again;
 *     the PF_MEMALLOC/__GFP_MEMALLOC (no watermarks) and OOM-victim
 *     (ALLOC_OOM) reserves, ignoring the policy's nodes; a request that may
 *     not reclaim, or a reclaiming context (no recursion), gives up;
 *     direct reclaim, then direct compaction;
 *   __GFP_NORETRY gives up; costly orders give up unless __GFP_RETRY_MAYFAIL
 *     and compaction is possible; should_reclaim_retry(), then (after
 *     progress) should_compact_retry() loop back to retry;
 *   restart if the cpuset or zonelists changed; the OOM killer; an OOM
 *     victim already on the OOM reserve gives up; progress loops back;
 *   nopage: restart if the cpuset or zonelists changed; __GFP_NOFAIL loops
 *     back to retry after a try with the min reserve (it never fails,
 *     except that zpa will not spin forever: see NOFAIL_MAX_STALLS);
 *     otherwise warn_alloc() and fail.
 */
/*
 * A library must not hang its caller: a __GFP_NOFAIL request that has gone
 * this many rounds with no reclaim progress, no OOM kill and no change in
 * free memory fails with a warning (Linux would loop forever).
 */
#define NOFAIL_MAX_STALLS 1000

static struct zpa_page *__alloc_pages_slowpath(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					       struct alloc_context *ac, struct zone **zone_out)
{
	bool can_direct_reclaim = gfp & ZPA___GFP_DIRECT_RECLAIM;
	bool can_compact = gfp_compaction_allowed(gfp);
	const bool costly_order = order > PAGE_ALLOC_COSTLY_ORDER;
	struct zpa_page *page = NULL;
	unsigned alloc_flags, cookie, zl_seq, reserve_flags;
	unsigned long progress = 0;
	enum compact_priority compact_priority;
	enum compact_result compact_result;
	int compaction_retries, no_progress_loops, stalls = 0;

	/* An atomic request that may sleep is not atomic: Linux warns (done by
	 * gfp_check() on entry) and drops __GFP_ATOMIC here. */
	if ((gfp & (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM)) == (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM))
		gfp &= ~ZPA___GFP_ATOMIC;
restart:
	compaction_retries = 0;
	no_progress_loops = 0;
	compact_result = COMPACT_SKIPPED;
	compact_priority = DEF_COMPACT_PRIORITY;
	cookie = read_mems_allowed_begin(ac->task);
	zl_seq = atomic_load_explicit(&m->zonelist_update_seq, memory_order_acquire);
	alloc_flags = gfp_to_alloc_flags(gfp, order);
	if (gfp_migratetype(m, gfp) != ZPA_MIGRATE_MOVABLE)
		alloc_flags &= ~ALLOC_CMA; /* grouping by mobility is off */

	ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
	if (!ac->preferred_zoneref->zone)
		goto nopage;
	/* A cpuset with Movable-only nodes: a hardwall request with no zone there fails now. */
	if (unlikely(atomic_load_explicit(&m->cpusets_insane, memory_order_relaxed)) && (gfp & ZPA___GFP_HARDWALL) &&
	    !first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, &ac->task->mems_allowed)->zone)
		goto nopage;
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, gfp, ac);
	page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (page)
		return page;

	/* Costly and non-movable high orders: compaction before reclaim. */
	if (can_direct_reclaim && can_compact && (costly_order || (order > 0 && ac->migratetype != ZPA_MIGRATE_MOVABLE)) &&
	    !gfp_pfmemalloc_flags(gfp, ac->task)) {
		page = __alloc_pages_direct_compact(m, gfp, order, alloc_flags, ac, INIT_COMPACT_PRIORITY,
						    &compact_result, zone_out);
		if (page)
			return page;
		if (costly_order && (gfp & ZPA___GFP_NORETRY)) {
			if (compact_result == COMPACT_SKIPPED || compact_result == COMPACT_DEFERRED)
				goto nopage;
			if (gfp & ZPA___GFP_THISNODE)
				goto nopage;
			compact_priority = INIT_COMPACT_PRIORITY;
		}
	}

retry:
	if (check_retry_cpuset(cookie, ac) || check_retry_zonelist(m, zl_seq))
		goto restart;
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, gfp, ac);
	reserve_flags = gfp_pfmemalloc_flags(gfp, ac->task);
	if (reserve_flags)
		/* gfp_to_alloc_flags_cma(): Debian's 6.1 has no CMA; keep ALLOC_CMA for movable. */
		alloc_flags = reserve_flags | (alloc_flags & (ALLOC_KSWAPD | ALLOC_CMA));
	/* High-priority requests that may ignore the cpuset ignore the policy's nodes too. */
	if (!(alloc_flags & ALLOC_CPUSET) || reserve_flags) {
		ac->nodemask = NULL;
		ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, NULL);
	}
	page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (page)
		return page;
	if (!can_direct_reclaim)
		goto nopage;
	if (ac->task->flags & ZPA_PF_MEMALLOC)
		goto nopage; /* no recursion into reclaim */

	unsigned long free_before = free_pages_folded(m);
	page = __alloc_pages_direct_reclaim(m, gfp, order, alloc_flags, ac, &progress, zone_out);
	if (page)
		return page;
	page = __alloc_pages_direct_compact(m, gfp, order, alloc_flags, ac, compact_priority, &compact_result,
					    zone_out);
	if (page)
		return page;
	if (gfp & ZPA___GFP_NORETRY)
		goto nopage;
	if (costly_order && (!can_compact || !(gfp & ZPA___GFP_RETRY_MAYFAIL)))
		goto nopage;
	if (should_reclaim_retry(m, gfp, order, ac, alloc_flags, progress > 0, &no_progress_loops))
		goto retry;
	if (progress > 0 && can_compact &&
	    should_compact_retry(m, ac, order, alloc_flags, compact_result, &compact_priority, &compaction_retries))
		goto retry;
	if (check_retry_cpuset(cookie, ac) || check_retry_zonelist(m, zl_seq))
		goto restart;

	page = __alloc_pages_may_oom(m, gfp, order, ac, &progress, zone_out);
	if (page)
		return page;
	/* An OOM victim already using the OOM reserve must not loop on it. */
	if (tsk_is_oom_victim(ac->task) && ((alloc_flags & ALLOC_OOM) || (gfp & ZPA___GFP_NOMEMALLOC)))
		goto nopage;
	if (progress) {
		no_progress_loops = 0;
		/* zpa's guard against a livelock Linux leaves to time passing: OOM
		 * "progress" that frees nothing, round after round. */
		if (free_pages_folded(m) > free_before)
			stalls = 0;
		else if (++stalls > NOFAIL_MAX_STALLS)
			goto nopage;
		goto retry;
	}

nopage:
	alloc_test_hook(m, ac->task, ALLOC_HOOK_NOPAGE);
	if (check_retry_cpuset(cookie, ac) || check_retry_zonelist(m, zl_seq))
		goto restart;
	if (gfp & ZPA___GFP_NOFAIL) {
		if (!can_direct_reclaim) {
			zpa_warn(m, __func__, "__GFP_NOFAIL without __GFP_DIRECT_RECLAIM (gfp %#x)", gfp);
			goto fail;
		}
		if (ac->task->flags & ZPA_PF_MEMALLOC)
			zpa_warn(m, __func__, "__GFP_NOFAIL from a PF_MEMALLOC context");
		if (costly_order)
			zpa_warn(m, __func__, "__GFP_NOFAIL for costly order %u", order);
		page = __alloc_pages_cpuset_fallback(m, gfp, order, ALLOC_MIN_RESERVE, ac, zone_out);
		if (page)
			return page;
		count_vm_event(m, NOFAIL_RETRY, 1);
		if (++stalls <= NOFAIL_MAX_STALLS)
			goto retry;
		zpa_warn(m, __func__, "__GFP_NOFAIL order-%u request made no progress in %d rounds: failing rather than "
			 "hanging", order, NOFAIL_MAX_STALLS);
	}
fail:
	count_vm_event(m, ALLOCSTALL_ANY, 1);
	warn_alloc(m, ac->task, gfp, ac->nodemask, order);
	return NULL;
}

/*
 * prepare_alloc_pages(): fill the alloc_context of a request: highest zone
 * index, the preferred node's zonelist (NOFALLBACK for __GFP_THISNODE), the
 * migratetype, the cpuset (see internal.h) and the first eligible zone.
 * preferred_nid -1 is the task's node (numa_node_id()).  False for a node
 * that does not exist.
 */
bool prepare_alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, int preferred_nid,
			 const zpa_nodemask_t *nodemask, struct alloc_context *ac, zpa_gfp_t *alloc_gfp,
			 unsigned *alloc_flags)
{
	if (preferred_nid < 0)
		preferred_nid = task->cpu < 0 ? thread_home_node(m, task) : task_node(m, task);
	if (preferred_nid >= (int)m->nr_nodes) {
		zpa_warn(m, __func__, "node %d does not exist", preferred_nid);
		return false;
	}
	ac->highest_zoneidx = gfp_zone(m, gfp);
	ac->zonelist = &m->nodes[preferred_nid]->node_zonelists[(gfp & ZPA___GFP_THISNODE) ? ZONELIST_NOFALLBACK
												: ZONELIST_FALLBACK];
	ac->nodemask = nodemask;
	ac->migratetype = gfp_migratetype(m, gfp);
	ac->task = task;
	if (unlikely(task->cpuset_active)) {
		*alloc_gfp |= ZPA___GFP_HARDWALL;
		if (!ac->nodemask)
			ac->nodemask = &task->mems_allowed;
		else
			*alloc_flags |= ALLOC_CPUSET;
	}
	if (ac->migratetype == ZPA_MIGRATE_MOVABLE)
		*alloc_flags |= ALLOC_CMA;
	ac->spread_dirty_pages = gfp & ZPA___GFP_WRITE;
	ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
	return true;
}

/*
 * prepare_alloc_context(): prepare_alloc_pages() for callers that do not
 * check the cpuset per zone (the bulk allocator): false also when the
 * request would need ALLOC_CPUSET (a cpuset and a caller's nodemask), so
 * they fall back to __alloc_pages(), which does.
 */
bool prepare_alloc_context(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, int preferred_nid,
			   const zpa_nodemask_t *nodemask, struct alloc_context *ac)
{
	zpa_gfp_t alloc_gfp = gfp;
	unsigned alloc_flags = 0;
	if (!prepare_alloc_pages(m, task, gfp, preferred_nid, nodemask, ac, &alloc_gfp, &alloc_flags))
		return false;
	return !(alloc_flags & ALLOC_CPUSET);
}

/* GFP bits that keep a request off the fast path (it needs checks or work). */
#define FAST_GFP_SLOW (ZPA___GFP_THISNODE | ZPA___GFP_NOFAIL | ZPA___GFP_ZERO | ZPA___GFP_COMP | \
		       ~ZPA___GFP_BITS_MASK)

/*
 * Remember how gfp decodes for the thread pageset ps, when the request is one
 * the fast path may serve: no checks to make, no scope to apply, and a first
 * zone that is the preferred zone of the thread's home node.  The decision
 * assumes no policy and no cpuset; the fast path's gate (tslots.fast_uid,
 * see thread_slots_refresh) checks those.
 */
static void fast_gfp_update(struct zpa_machine *m, struct pageset *ps, const struct zpa_task *task, zpa_gfp_t gfp)
{
	struct fast_gfp *fg = &ps->fg;
	unsigned gen = atomic_load_explicit(&m->fast_gen, memory_order_acquire);
	fg->gfp = ~0u; /* invalid until filled: */
	fg->gen = 0;   /* fast_gen is never 0, so not even gfp ~0u matches */
	if ((gfp & FAST_GFP_SLOW) || gfp_check(gfp, 0, m->max_order, NULL) || task->flags)
		return;
	/* Fault injection must see every request: no fast path while it is on. */
	if (unlikely(fail_page_alloc_active(m)))
		return;
	/* __GFP_ACCOUNT requests must be charged: no fast path once groups exist. */
	if (unlikely((gfp & ZPA___GFP_ACCOUNT) && memcg_kmem_enabled(m)))
		return;
	/* Unmovable requests must not count free CMA pages: leave them to the long path. */
	if (m->has_cma && gfp_migratetype(m, gfp) != ZPA_MIGRATE_MOVABLE)
		return;
	int hz = gfp_zone(m, gfp);
	struct zoneref *zr = first_zones_zonelist(&m->nodes[ps->nid]->node_zonelists[ZONELIST_FALLBACK], hz, NULL);
	if (!zr->zone)
		return;
	struct zone *z = zr->zone;
	fg->hz = hz;
	fg->mt = gfp_migratetype(m, gfp);
	fg->zone = z;
	fg->mark = READ_ONCE(z->_watermark[WMARK_LOW]) + (unsigned long)READ_ONCE(z->lowmem_reserve[hz]);
	fg->pz = &ps->z[z->gzi];
	fg->list0 = &fg->pz->pcp.lists[order_to_pindex(m, fg->mt, 0)];
	fg->mem_map = z->mem_map;
	fg->node_start_pfn = z->node_start_pfn;
	uint32_t flags = ((uint32_t)z->idx << PG_ZONE_SHIFT) | PG_alloc | (fg->mt == ZPA_MIGRATE_MOVABLE ? PG_lru : 0);
	fg->page_word = flags | (1ull << 32);
	fg->gen = gen;
	fg->gfp = gfp;
}

zpa_pfn_t __alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			int preferred_nid, const zpa_nodemask_t *nodemask, struct zone **zone_out)
{
	struct alloc_context ac;
	struct zone *zone = NULL;
	struct zpa_page *page;
	const char *why;
	int chk;

	chk = gfp_check(gfp, order, m->max_order, &why);
	if (unlikely(chk)) {
		if (chk < 0) {
			if (order >= m->max_order && !(gfp & ZPA___GFP_NOWARN))
				zpa_warn(m, __func__, "order %u >= MAX_ORDER %u", order, m->max_order);
			else if (order < m->max_order)
				zpa_warn(m, __func__, "rejected gfp %#x: %s", gfp, why);
			return ZPA_PFN_NONE;
		}
		zpa_warn(m, __func__, "gfp %#x order %u: %s", gfp, order, why);
	}
	gfp &= m->gfp_allowed_mask;
	gfp = current_gfp_context(task, gfp);

	zpa_gfp_t alloc_gfp = gfp;
	unsigned alloc_flags = ALLOC_WMARK_LOW;
	if (!prepare_alloc_pages(m, task, gfp, preferred_nid, nodemask, &ac, &alloc_gfp, &alloc_flags))
		return ZPA_PFN_NONE;
	/* Fault injection (fail_page_alloc.c), where Linux's prepare_alloc_pages() asks. */
	if (should_fail_alloc_page(m, gfp, order, &ac))
		return ZPA_PFN_NONE;
	alloc_flags |= alloc_flags_nofragment(m, ac.preferred_zoneref->zone, gfp);

	page = NULL;
	if (ac.preferred_zoneref->zone)
		page = get_page_from_freelist(m, alloc_gfp, order, alloc_flags, &ac, &zone);
	if (unlikely(!page)) {
		alloc_test_hook(m, task, ALLOC_HOOK_BEFORE_SLOWPATH);
		/* The slow path takes the caller's gfp and nodemask (the cpuset's
		 * mask only sped up the first pass). */
		ac.spread_dirty_pages = false;
		ac.nodemask = nodemask;
		page = __alloc_pages_slowpath(m, gfp, order, &ac, &zone);
	}
	if (!page)
		return ZPA_PFN_NONE;
	/*
	 * memcg (memcontrol.c): charge __GFP_ACCOUNT pages of a task in a group,
	 * as Linux's __memcg_kmem_charge_page(); a refused charge frees the page
	 * and fails the allocation.
	 */
	if (unlikely((gfp & ZPA___GFP_ACCOUNT) && task->memcg) &&
	    unlikely(memcg_kmem_charge_page_task(m, task, task->memcg, page, page_to_pfn(zone, page), order, gfp))) {
		zpa__free_pages(m, task, page_to_pfn(zone, page), order);
		return ZPA_PFN_NONE;
	}
	if (task->cpu < 0 && preferred_nid < 0 && !nodemask) {
		struct pageset *ps = task_pageset(m, task);
		if (ps && ps->fg.gfp != gfp)
			fast_gfp_update(m, ps, task, gfp);
		else if (ps && ps->fg.gen != atomic_load_explicit(&m->fast_gen, memory_order_relaxed))
			fast_gfp_update(m, ps, task, gfp);
	}
	/* The mm_page_alloc tracepoint comes later. */
	if (zone_out)
		*zone_out = zone;
	return page_to_pfn(zone, page);
}

zpa_pfn_t zpa__alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			   int preferred_nid, const zpa_nodemask_t *nodemask)
{
	return __alloc_pages(m, task ? task : zpa_task_current(), gfp, order, preferred_nid, nodemask, NULL);
}

/*
 * The long way for the calling thread: its memory policy, then
 * __alloc_pages().  Out of line, so that the fast path below stays a leaf
 * that jumps here with its arguments unchanged.
 */
static __attribute__((noinline)) zpa_pfn_t alloc_pages_current(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order)
{
	return alloc_pages_policy(m, &thread_task, gfp, order, NULL);
}

/*
 * alloc_pages() for the calling thread: the hosted fast path.  When the
 * thread's task has no CPU set, no memory policy and no cpuset (all folded
 * into tslots.fast_uid), the GFP word is the one decoded last, the first
 * zone's order-0 watermark holds and the thread's list for (order,
 * migratetype) has a block, this is a pop from that list with no atomic
 * operation; otherwise the thread's policy picks the node and
 * __alloc_pages() does it all (and refills the list).  Same decisions
 * either way.
 */
zpa_pfn_t zpa_alloc_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order)
{
	struct thread_slots *ts = &tslots;
	if (likely(order == 0 && ts->fast_uid == m->uid)) {
		struct pageset *ps = ts->ps[0];
		const struct fast_gfp *fg = &ps->fg;
		if (likely(fg->gfp == gfp && fg->gen == atomic_load_explicit(&m->fast_gen, memory_order_relaxed))) {
			const struct zone *z = fg->zone;
			long free = (long)READ_ONCE(z->vm_stat[NR_FREE_PAGES]) - (long)READ_ONCE(z->nr_reserved_highatomic);
			struct free_list *list = fg->list0;
			/* Enter the pageset; a waiting remote user sends us the long way. */
			atomic_store_explicit(&ps->owner_active, 1, memory_order_relaxed);
			atomic_signal_fence(memory_order_seq_cst);
			uint32_t idx;
			if (likely(free > (long)(fg->mark + READ_ONCE(z->watermark_boost)) &&
				   !atomic_load_explicit(&ps->remote_req, memory_order_relaxed) &&
				   (idx = list->head) != ZPA_NIL)) {
				struct zpa_page *page = &fg->mem_map[idx];
				uint32_t next = page->next;
				list->head = next;
				if (next != ZPA_NIL)
					fg->mem_map[next].prev = ZPA_NIL;
				else
					list->tail = ZPA_NIL;
				struct per_cpu_zone *pz = fg->pz;
				pz->pcp.count--;
				pz->pcp.free_factor >>= 1;
				pz->fast_allocs++;
				atomic_signal_fence(memory_order_seq_cst);
				atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
				/* flags and refcount are adjacent: one store sets both */
				__atomic_store_n((uint64_t *)&page->flags, fg->page_word, __ATOMIC_RELAXED);
				return fg->node_start_pfn + idx;
			}
			atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
		}
	}
	return alloc_pages_current(m, gfp, order);
}

zpa_pfn_t zpa_alloc_pages_node(struct zpa_machine *m, int nid, zpa_gfp_t gfp, unsigned order)
{
	return zpa__alloc_pages(m, NULL, gfp, order, nid, NULL);
}

/* ---- free path ---- */

/*
 * Find what a page belongs to for a free: its node, zone and struct.  Returns
 * 0, or ZPA_EBADPFN for pfns outside every node or in holes/reserved ranges.
 */
static int lookup_page(const struct zpa_machine *m, zpa_pfn_t pfn, pg_data_t **pgdat_out, struct zone **zone_out,
		       struct zpa_page **page_out)
{
	if (pfn > ~0ul)
		return ZPA_EBADPFN;
	pg_data_t *pgdat = pfn_to_pgdat(m, (unsigned long)pfn);
	if (!pgdat)
		return ZPA_EBADPFN;
	struct zpa_page *page = pfn_to_page_nid(pgdat, (unsigned long)pfn);
	*pgdat_out = pgdat;
	*zone_out = page_zone(pgdat, page);
	*page_out = page;
	return 0;
}

/* Is pfn inside a free buddy block (so freeing it again is a double free)? */
static bool pfn_in_free_block(const struct zpa_machine *m, struct zone *z, unsigned long pfn)
{
	for (unsigned o = 0; o < m->max_order; o++) {
		unsigned long start = pfn & ~((1ul << o) - 1);
		if (!zone_spans_pfn(z, start))
			break;
		const struct zpa_page *p = pfn_to_page_nid(z->zone_pgdat, start);
		if ((p->flags & (PG_buddy | PG_pcp)) && page_order(p) >= o)
			return true;
	}
	return false;
}

/*
 * free_pages_prepare() checks, done before anything changes: the page must be
 * the first page of an allocated block of exactly this order, still
 * referenced, and (for compound pages) with intact tails.  Zone lock held.
 */
static int free_pages_check(struct zpa_machine *m, struct zone *z, unsigned long pfn, struct zpa_page *page,
			    unsigned order)
{
	const char *reason = NULL;
	int err = 0;
	/* Read once: an isolating reclaimer or compactor may change the LRU bits and the count beside us. */
	uint32_t f = READ_ONCE(page->flags);
	int ref = __atomic_load_n(&page->refcount, __ATOMIC_RELAXED);

	if (f & (PG_hole | PG_reserved)) {
		reason = f & PG_hole ? "pfn in a memory hole" : "PG_reserved set (page not managed)";
		err = ZPA_EBADPFN;
	} else if (f & PG_tail) {
		reason = "tail page of a compound page";
		err = ZPA_ETAIL;
	} else if (pfn & ((1ul << order) - 1)) {
		reason = "pfn not aligned to the order freed";
		err = ZPA_EALIGN;
	} else if ((f & (PG_buddy | PG_pcp)) || (!(f & PG_alloc) && pfn_in_free_block(m, z, pfn))) {
		reason = "page already free (double free)";
		err = ZPA_EDOUBLEFREE;
	} else if (!(f & PG_alloc)) {
		reason = "not the first page of an allocated block";
		err = ZPA_EBADPAGE;
	} else if ((f & PG_ORDER_MASK) != order) {
		reason = "freed with a different order than allocated";
		err = ZPA_EORDER;
	} else if (f & PG_listed) {
		reason = "page is on a zpa_page_list (pop it first)";
		err = ZPA_EBADPAGE;
	} else if (ref <= 0) {
		reason = "nonzero _refcount expected";
		err = ZPA_EBADPAGE;
	} else if (pfn + (1ul << order) > z->zone_start_pfn + z->spanned_pages) {
		reason = "block extends past its zone";
		err = ZPA_EBADPAGE;
	}
	if (!err && (f & PG_head)) {
		uint32_t head = page_index(z, page);
		for (unsigned long i = 1; i < (1ul << order); i++)
			if (!(page[i].flags & PG_tail) || page[i].next != head) {
				reason = "corrupted compound tail page";
				err = ZPA_EBADPAGE;
				break;
			}
	}
	if (err)
		bad_page(m, pfn, page, reason);
	return err;
}

/* A block whose last reference is gone loses its allocation marks.  Caller owns it. */
static inline void clear_alloc_marks(struct zpa_page *page, unsigned order)
{
	if (page->flags & PG_head)
		for (unsigned long i = 1; i < (1ul << order); i++) {
			WRITE_ONCE(page[i].flags, page[i].flags & PG_ZONE_MASK);
			WRITE_ONCE(page[i].next, ZPA_NIL); /* compaction's scanner reads tails unlocked */
		}
	WRITE_ONCE(page->flags, page->flags & PG_ZONE_MASK);
}

/*
 * free_the_page(): a block nobody references goes to the task's per-CPU list
 * when its order has one, else straight to the buddy lists.
 */
static void free_the_page(struct zpa_machine *m, struct pageset *ps, struct zone *z, struct zpa_page *page,
			  unsigned long pfn, unsigned order)
{
	int mt = get_pageblock_migratetype(z, pfn);
	if (ps && (order <= PAGE_ALLOC_COSTLY_ORDER || order == m->pageblock_order)) {
		free_unref_page(m, ps, z, page, pfn, order, mt);
		return;
	}
	WRITE_ONCE(page->flags, page->flags & PG_ZONE_MASK);
	zpa_spin_lock(&z->lock);
	/* free_one_page(): isolation may have changed the type meanwhile. */
	if (unlikely(z->nr_isolate_pageblock || mt == ZPA_MIGRATE_ISOLATE))
		mt = get_pageblock_migratetype(z, pfn);
	__free_one_page(m, z, pfn, order, mt, false);
	zpa_spin_unlock(&z->lock);
	count_vm_event(m, PGFREE, 1ul << order);
}

/*
 * The general free path: checks under the zone lock (so a bad free changes
 * nothing), the reference drop, then the free proper outside the zone lock.
 */
static int free_pages_slow(struct zpa_machine *m, struct zpa_task *task, pg_data_t *pgdat, struct zone *z,
			   struct zpa_page *page, unsigned long pfn, unsigned order)
{
	zpa_spin_lock(&z->lock);
	int err = free_pages_check(m, z, pfn, page, order);
	if (err) {
		zpa_spin_unlock(&z->lock);
		return err;
	}
	bool head = READ_ONCE(page->flags) & PG_head;
	int ref = __atomic_sub_fetch(&page->refcount, 1, __ATOMIC_ACQ_REL);
	if (ref == 0) {
		/* A charged block (PG_memcg keeps it off the fast paths) is uncharged. */
		if (unlikely(READ_ONCE(page->flags) & PG_memcg))
			__memcg_kmem_uncharge_page(m, page, pfn);
		/* folio_put() of an LRU page: off its list first (swap.c). */
		if (unlikely(READ_ONCE(page->flags) & PG_LRU_BITS))
			lru_release_page(m, pgdat, page);
		clear_alloc_marks(page, order);
		zpa_spin_unlock(&z->lock);
		free_the_page(m, task_pageset(m, task), z, page, pfn, order);
		return 0;
	}
	if (!head && order) {
		/*
		 * Someone else still holds the first page: Linux's __free_pages()
		 * then frees the rest of a non-compound block, keeping page 0.
		 */
		__atomic_fetch_and(&page->flags, ~PG_ORDER_MASK, __ATOMIC_RELAXED);
		zpa_spin_unlock(&z->lock);
		struct pageset *ps = task_pageset(m, task);
		while (order-- > 0)
			free_the_page(m, ps, z, page + (1ul << order), pfn + (1ul << order), order);
		return 0;
	}
	zpa_spin_unlock(&z->lock);
	return 0;
}

int zpa__free_pages(struct zpa_machine *m, struct zpa_task *task, zpa_pfn_t pfn, unsigned order)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;

	if (unlikely(order >= m->max_order)) {
		bad_page(m, (unsigned long)pfn, NULL, "order >= MAX_ORDER");
		return ZPA_EORDER;
	}
	if (unlikely(lookup_page(m, pfn, &pgdat, &z, &page))) {
		bad_page(m, (unsigned long)pfn, NULL, "pfn not managed by this machine");
		return ZPA_EBADPFN;
	}
	if (!task)
		task = zpa_task_current();
	unsigned long p = (unsigned long)pfn;
	/*
	 * Fast path: the first page of a plain (non-compound) block of this
	 * order, aligned, with one reference, which the caller holds: nobody
	 * else may touch it, so no lock is needed to retire it.
	 */
	uint32_t f = READ_ONCE(page->flags);
	if (likely((f & ~(PG_ZONE_MASK | PG_lru)) == (PG_alloc | order) && !(p & ((1ul << order) - 1)) &&
		   __atomic_load_n(&page->refcount, __ATOMIC_RELAXED) == 1)) {
		__atomic_store_n(&page->refcount, 0, __ATOMIC_RELAXED);
		WRITE_ONCE(page->flags, f & PG_ZONE_MASK);
		free_the_page(m, task_pageset(m, task), z, page, p, order);
		return 0;
	}
	return free_pages_slow(m, task, pgdat, z, page, p, order);
}

/*
 * __free_pages() for the calling thread: the hosted fast path.  The first page
 * of a plain block of a pcp order, with one reference, whose pageblock is of
 * a PCP type, goes on the head of the thread's list with no atomic operation
 * while the list stays under `high`; everything else takes zpa__free_pages().
 */
int zpa_free_pages(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order)
{
	struct thread_slots *ts = &tslots;
	pg_data_t *pgdat = m->nodes[0];
	unsigned long off = (unsigned long)pfn - pgdat->node_start_pfn;
	if (likely(order == 0 && ts->fast_uid == m->uid && off < pgdat->node_spanned_pages)) {
		struct zpa_page *page = &pgdat->node_mem_map[off];
		uint64_t word = __atomic_load_n((uint64_t *)&page->flags, __ATOMIC_RELAXED);
		/* first page of a plain order-0 block with one reference */
		if (likely((word & ~(uint64_t)(PG_ZONE_MASK | PG_lru)) == ((1ull << 32) | PG_alloc))) {
			struct pageset *ps = ts->ps[0];
			/* node 0: the zone index is the pageset's zone slot */
			struct per_cpu_zone *pz = &ps->z[((uint32_t)word & PG_ZONE_MASK) >> PG_ZONE_SHIFT];
			unsigned mt = READ_ONCE(pz->pb_flags[((unsigned long)pfn >> pz->pb_shift) - pz->pb_base]);
			atomic_store_explicit(&ps->owner_active, 1, memory_order_relaxed);
			atomic_signal_fence(memory_order_seq_cst);
			if (likely(mt < ZPA_MIGRATE_PCPTYPES && !atomic_load_explicit(&ps->remote_req, memory_order_relaxed) &&
				   pz->pcp.count + 1 < pz->pcp.high)) {
				struct free_list *list = &pz->pcp.lists[mt];
				uint32_t idx = (uint32_t)off, head = list->head;
				__atomic_store_n((uint64_t *)&page->flags,
						 ((uint32_t)word & PG_ZONE_MASK) | PG_pcp | (mt << PG_MT_SHIFT),
						 __ATOMIC_RELAXED);
				page->prev = ZPA_NIL;
				page->next = head;
				if (head != ZPA_NIL)
					pgdat->node_mem_map[head].prev = idx;
				else
					list->tail = idx;
				list->head = idx;
				pz->pcp.count++;
				ps->pgfree++;
				atomic_signal_fence(memory_order_seq_cst);
				atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
				return 0;
			}
			atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
		}
	}
	return zpa__free_pages(m, NULL, pfn, order);
}

/* ---- page lists (the list form of bulk allocation) ---- */

/* The next pfn of a listed page lives in its two link words. */
static inline zpa_pfn_t listed_next(const struct zpa_page *page)
{
	return ((zpa_pfn_t)page->prev << 32) | page->next;
}

void page_list_push(struct zpa_machine *m, struct zpa_page_list *list, zpa_pfn_t pfn)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;
	if (lookup_page(m, pfn, &pgdat, &z, &page))
		return;
	page->next = (uint32_t)list->head;
	page->prev = (uint32_t)(list->head >> 32);
	page->flags |= PG_listed;
	list->head = pfn;
	list->nr++;
}

zpa_pfn_t zpa_page_list_pop(struct zpa_machine *m, struct zpa_page_list *list)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;
	zpa_pfn_t pfn = list->head;
	if (pfn == ZPA_PFN_NONE || lookup_page(m, pfn, &pgdat, &z, &page) || !(page->flags & PG_listed))
		return ZPA_PFN_NONE;
	list->head = listed_next(page);
	list->nr--;
	page->flags &= ~PG_listed;
	page->next = page->prev = ZPA_NIL;
	return pfn;
}

int zpa_free_page_list(struct zpa_machine *m, struct zpa_page_list *list)
{
	int first = 0;
	zpa_pfn_t pfn;
	while ((pfn = zpa_page_list_pop(m, list)) != ZPA_PFN_NONE) {
		int err = zpa__free_pages(m, NULL, pfn, 0);
		if (err && !first)
			first = err;
	}
	return first;
}

int zpa_get_page(struct zpa_machine *m, zpa_pfn_t pfn)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;
	int err = lookup_page(m, pfn, &pgdat, &z, &page);
	if (err)
		return err;
	zpa_spin_lock(&z->lock);
	if (!(page->flags & PG_alloc) || __atomic_load_n(&page->refcount, __ATOMIC_RELAXED) <= 0) {
		zpa_spin_unlock(&z->lock);
		zpa_warn(m, __func__, "get_page on pfn %#llx, which is not an allocated block", (unsigned long long)pfn);
		return ZPA_EBADPAGE;
	}
	__atomic_add_fetch(&page->refcount, 1, __ATOMIC_RELAXED);
	zpa_spin_unlock(&z->lock);
	return 0;
}

/* ---- page queries ---- */

void *zpa_page_address(const struct zpa_machine *m, zpa_pfn_t pfn)
{
	if (m->cfg.mem_mode != ZPA_MEM_BACKED)
		return NULL;
	uint64_t phys = (uint64_t)pfn << m->page_shift;
	if (phys < m->cfg.backing_phys || phys - m->cfg.backing_phys >= m->cfg.backing_size)
		return NULL;
	return (char *)m->cfg.backing + (phys - m->cfg.backing_phys);
}

int zpa_page_info(const struct zpa_machine *m, zpa_pfn_t pfn, struct zpa_page_info *out)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;
	int err = lookup_page(m, pfn, &pgdat, &z, &page);
	if (err)
		return err;
	zpa_spin_lock(&z->lock);
	uint32_t f = page->flags;
	memset(out, 0, sizeof(*out));
	out->nid = pgdat->node_id;
	out->zone_type = z->type;
	out->refcount = page->refcount;
	out->buddy = f & PG_buddy;
	out->reserved = f & (PG_reserved | PG_hole);
	out->head = f & PG_head;
	out->tail = f & PG_tail;
	out->allocated = f & PG_alloc;
	out->order = (f & (PG_buddy | PG_alloc)) ? (int)(f & PG_ORDER_MASK) : -1;
	out->pageblock_migratetype = get_pageblock_migratetype(z, (unsigned long)pfn);
	out->head_pfn = (f & PG_tail) ? pgdat->node_start_pfn + page->next : pfn;
	zpa_spin_unlock(&z->lock);
	return 0;
}

zpa_pfn_t zpa_compound_head(const struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info info;
	if (zpa_page_info(m, pfn, &info))
		return ZPA_PFN_NONE;
	return info.head_pfn;
}

int zpa_compound_order(const struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info info;
	zpa_pfn_t head = zpa_compound_head(m, pfn);
	if (head == ZPA_PFN_NONE || zpa_page_info(m, head, &info))
		return ZPA_EBADPFN;
	return info.head ? info.order : 0;
}
