/*
 * compaction.c - memory compaction and kcompactd, after Linux 6.1's
 * mm/compaction.c: direct compaction for high-order allocations, the
 * per-node kcompactd daemon with proactive compaction, and the
 * compact_memory / compact_node entry points.
 *
 * Algorithm.  Compacting a zone moves movable pages from its low end to
 * free pages at its high end, so that free pages gather into large blocks
 * at the low end.  Two scanners walk towards each other a pageblock at a
 * time:
 *   - the migrate scanner (isolate_migratepages) goes up from the zone's
 *     start, isolating movable pages: LRU pages of owners with a migrate()
 *     callback (isolate_lru_page) and non-LRU movable pages
 *     (isolate_movable_page), COMPACT_CLUSTER_MAX at a time.  Free blocks
 *     are stepped over by their order; compound pages are left alone (they
 *     move only for alloc_contig_range).
 *   - the free scanner (isolate_freepages) goes down from the zone's end,
 *     taking free blocks below pageblock order out of MOVABLE and CMA
 *     pageblocks (any type at the highest priority), as long as the zone
 *     stays above its min watermark plus the block (__isolate_free_page).
 *     Each block is split into order-0 targets at once, as Linux's
 *     split_map_pages() does, and handed out by compaction_alloc() in
 *     address order; compaction_free() takes back an unused one.
 * migrate_pages() (migrate.c) moves each source into a target through its
 * owner.  The run ends when the scanners meet (COMPACT_COMPLETE, or
 * COMPACT_PARTIAL_SKIPPED when it did not start at the zone's ends), when a
 * block of the requested order is free in a list the request may use or
 * steal from (COMPACT_SUCCESS, checked only at pageblock boundaries), or,
 * for proactive runs, when the zone's fragmentation score falls to the low
 * mark.  Unused targets go back to the free lists and the free scanner's
 * cached position moves back over them.
 *
 * Hints that persist between runs, per zone (racy reads and writes, as in
 * Linux; READ_ONCE/WRITE_ONCE keep them defined):
 *   - compact_cached_migrate_pfn[async, sync] and compact_cached_free_pfn:
 *     where the scanners resume; reset when they meet;
 *   - pageblock_skip: a byte per pageblock set when a scan of it isolated
 *     nothing, honoured unless the priority ignores hints, and cleared by
 *     __reset_isolation_suitable() (kswapd going to sleep after a direct
 *     compaction ran a zone fully, or a deferred compaction restarting);
 *   - deferral: a failed sync compaction for order N skips the next
 *     1 << compact_defer_shift attempts at orders >= compact_order_failed,
 *     the shift growing to COMPACT_MAX_DEFER_SHIFT (64 attempts).
 *
 * Direct compaction (try_to_compact_pages) runs each zone of the request's
 * zonelist at a priority: ASYNC (async migration, skip hints, only
 * pageblocks of the request's migratetype for non-movable requests, skip
 * the rest of an order-aligned block after a failure), SYNC_LIGHT, and
 * SYNC_FULL (whole zone, hints ignored, targets in any pageblock).  A block
 * of the requested order that the compactor's own frees produce in the zone
 * is captured for it (capture_control): migrated-away sources and unused
 * targets are freed by free_isolated_block(), which merges the block up to
 * the request's order and hands it over instead of freeing it.  Linux also
 * captures frees that go through the per-CPU lists of the compacting CPU;
 * zpa frees sources straight to the buddy lists, which also makes Linux's
 * drain of the local lists when the migrate scanner leaves an order-aligned
 * block rarely matter (it is kept).
 *
 * kcompactd (one per node): woken by wakeup_kcompactd() for a high order
 * when some zone is suitable; kcompactd_do_work() compacts each zone at
 * MIGRATE_SYNC_LIGHT with the same deferral rules as sync direct
 * compaction.  Every HPAGE_FRAG_CHECK_INTERVAL_MSEC (500 ms, HZ/2) it
 * checks the node's fragmentation score (extfrag for the pageblock order,
 * weighted by zone size); above the high mark (110 - proactiveness, at
 * least 15) proactive_compact_node() compacts every zone until the score
 * is at the low mark, and a round that did not lower the score stretches
 * the next sleep 64 times (COMPACT_MAX_DEFER_SHIFT).  Writing a nonzero
 * compaction_proactiveness starts a round at once.  How the daemon runs
 * follows the machine's daemon mode (zpa/reclaim.h):
 *   INLINE  wakeups do the work at once in the waking thread, one runner
 *           per node, no nesting in a thread; no timer, so no proactive
 *           compaction except a pending sysctl trigger, served at the next
 *           wakeup.
 *   MANUAL  wakeups are recorded with the simulated time;
 *           kcompactd_step(now) replays the daemon's sleep/wake/timeout
 *           events up to now in time order, deterministically.
 *   THREAD  a thread per node (the port's threads; not with
 *           ZPA_NO_THREADS) sleeping on an event with the proactive timeout.
 * kswapd_is_running() is always false here: zpa does not expose kswapd's
 * state, so proactive compaction never backs off for it.
 *
 * Left out: fast_isolate_freepages() and fast_find_migrateblock() (the
 * free-list searches that pick scanner positions; both scanners are linear
 * here), hugetlb pages, unevictable-page and pinned-page filters (zpa has
 * neither), and the too_many_isolated() throttle of sync compaction (zpa
 * does not sleep: sync isolation goes on; async still gives up).
 *
 * Locking.  A zone's lock is taken only to take free blocks off its lists
 * and to free blocks back; the node's lru_lock only to isolate LRU and
 * movable pages.  Neither is held across owner callbacks or allocations.
 * Order: zone lock -> lru_lock (never the reverse).  Async compaction takes
 * both with trylock first and marks itself contended when they are busy.
 * struct kcompactd's spinlock protects the daemon's request
 * (pgdat->kcompactd_max_order/_highest_zoneidx, proactive_compact_trigger)
 * and its simulated clock; it is a leaf lock.  In THREAD mode a port event
 * (mutex and condition variable) carries the sleeps; the spinlock may be
 * taken under the event's lock, never the other way round.
 *
 * SPDX-License-Identifier: MIT
 */
#include "compaction.h"

/* ---- small helpers ---- */

static inline unsigned long zone_end_pfn(const struct zone *z)
{
	return READ_ONCE(z->zone_start_pfn) + READ_ONCE(z->spanned_pages);
}

static inline unsigned long pageblock_start_pfn(const struct zpa_machine *m, unsigned long pfn)
{
	return pfn & ~(m->pageblock_nr_pages - 1);
}

static inline unsigned long pageblock_end_pfn(const struct zpa_machine *m, unsigned long pfn)
{
	return pageblock_start_pfn(m, pfn) + m->pageblock_nr_pages;
}

static inline bool pageblock_aligned(const struct zpa_machine *m, unsigned long pfn)
{
	return !(pfn & (m->pageblock_nr_pages - 1));
}

/* The order-aligned block around pfn: its first pfn, and the pfn after it. */
static inline unsigned long block_start_pfn(unsigned long pfn, int order)
{
	return pfn & ~((1ul << order) - 1);
}

static inline unsigned long block_end_pfn(unsigned long pfn, int order)
{
	return block_start_pfn(pfn, order) + (1ul << order);
}

static inline struct zpa_page *zone_pfn_page(const struct zone *z, unsigned long pfn)
{
	return pfn_to_page_nid(z->zone_pgdat, pfn);
}

/* The order Linux computes extfrag for (COMPACTION_HPAGE_ORDER: a PMD page, the pageblock order). */
static inline unsigned compaction_hpage_order(const struct zpa_machine *m)
{
	return m->pageblock_order < m->max_order ? m->pageblock_order : m->max_order - 1;
}

static inline bool is_via_compact_memory(int order) { return order == -1; }

/* compact_gap(): room for the pages being migrated and their targets. */
static inline unsigned long compact_gap(int order) { return 2ul << order; }

/* zpa does not expose kswapd's state (see the header comment). */
static inline bool kswapd_is_running(pg_data_t *pgdat)
{
	(void)pgdat;
	return false;
}

/* ---- deferral ---- */

void defer_compaction(struct zone *z, int order)
{
	WRITE_ONCE(z->compact_considered, 0);
	unsigned shift = READ_ONCE(z->compact_defer_shift) + 1;
	if (order < READ_ONCE(z->compact_order_failed))
		WRITE_ONCE(z->compact_order_failed, order);
	WRITE_ONCE(z->compact_defer_shift, shift > COMPACT_MAX_DEFER_SHIFT ? COMPACT_MAX_DEFER_SHIFT : shift);
}

bool compaction_deferred(struct zone *z, int order)
{
	unsigned long limit = 1ul << READ_ONCE(z->compact_defer_shift);
	if (order < READ_ONCE(z->compact_order_failed))
		return false;
	unsigned considered = READ_ONCE(z->compact_considered) + 1;
	if (considered >= limit) {
		WRITE_ONCE(z->compact_considered, (unsigned)limit);
		return false;
	}
	WRITE_ONCE(z->compact_considered, considered);
	return true;
}

void compaction_defer_reset(struct zone *z, int order, bool alloc_success)
{
	if (alloc_success) {
		WRITE_ONCE(z->compact_considered, 0);
		WRITE_ONCE(z->compact_defer_shift, 0);
	}
	if (order >= READ_ONCE(z->compact_order_failed))
		WRITE_ONCE(z->compact_order_failed, order + 1);
}

/* compaction_restarting(): the deferral ran out after repeated failures. */
static bool compaction_restarting(struct zone *z, int order)
{
	if (order < READ_ONCE(z->compact_order_failed))
		return false;
	return READ_ONCE(z->compact_defer_shift) == COMPACT_MAX_DEFER_SHIFT &&
	       READ_ONCE(z->compact_considered) >= 1u << COMPACT_MAX_DEFER_SHIFT;
}

/* ---- pageblock skip hints ---- */

static inline uint8_t *skip_byte(const struct zone *z, unsigned long pfn)
{
	return &z->pageblock_skip[(pfn >> z->pageblock_shift) - z->pb_base];
}

static inline bool get_pageblock_skip(const struct zone *z, unsigned long pfn)
{
	return READ_ONCE(*skip_byte(z, pfn));
}

static inline void set_pageblock_skip(const struct zone *z, unsigned long pfn)
{
	WRITE_ONCE(*skip_byte(z, pfn), 1);
}

static inline void clear_pageblock_skip(const struct zone *z, unsigned long pfn)
{
	WRITE_ONCE(*skip_byte(z, pfn), 0);
}

/* isolation_suitable(): should the pageblock at pfn be scanned? */
static inline bool isolation_suitable(const struct compact_control *cc, unsigned long pfn)
{
	return cc->ignore_skip_hint || !get_pageblock_skip(cc->zone, pfn);
}

static void reset_cached_positions(const struct zpa_machine *m, struct zone *z)
{
	WRITE_ONCE(z->compact_cached_migrate_pfn[0], z->zone_start_pfn);
	WRITE_ONCE(z->compact_cached_migrate_pfn[1], z->zone_start_pfn);
	WRITE_ONCE(z->compact_cached_free_pfn, pageblock_start_pfn(m, zone_end_pfn(z) - 1));
}

/* The first page of the compound page at page, or NULL (racy reads: the page may change). */
static const struct zpa_page *compound_head_of(const struct zone *z, const struct zpa_page *page)
{
	uint32_t f = READ_ONCE(page->flags);
	if (f & PG_head)
		return page;
	if (!(f & PG_tail))
		return NULL;
	uint32_t idx = READ_ONCE(page->next);
	if (idx >= z->zone_pgdat->node_spanned_pages)
		return NULL;
	return &z->mem_map[idx];
}

/*
 * pageblock_skip_persistent(): a compound page of at least pageblock order
 * fills its pageblocks: never worth scanning while it lives.
 */
static bool pageblock_skip_persistent(const struct zpa_machine *m, const struct zone *z, const struct zpa_page *page)
{
	const struct zpa_page *head = compound_head_of(z, page);
	if (!head)
		return false;
	uint32_t f = READ_ONCE(head->flags);
	return (f & PG_head) && (f & PG_ORDER_MASK) >= m->pageblock_order;
}

/* The zone index in a flag word read once (page_zidx() for pages that may change under us). */
static inline bool flags_in_zone(uint32_t f, const struct zone *z)
{
	return (f & PG_ZONE_MASK) >> PG_ZONE_SHIFT == (unsigned)z->idx;
}

static inline bool pfn_present(const struct zone *z, unsigned long pfn)
{
	uint32_t f = READ_ONCE(zone_pfn_page(z, pfn)->flags);
	return !(f & PG_hole) && flags_in_zone(f, z);
}

/*
 * __reset_isolation_pfn(): clear the skip hint of pfn's pageblock if a
 * sample of it (every 8th page) finds an LRU page (a source, check_source)
 * or a free page (a target, check_target).  True when the pageblock is a
 * good restart point.
 */
static bool __reset_isolation_pfn(const struct zpa_machine *m, struct zone *z, unsigned long pfn, bool check_source,
				  bool check_target)
{
	if (!pfn_present(z, pfn))
		return false;
	if (pageblock_skip_persistent(m, z, zone_pfn_page(z, pfn)))
		return false;
	if (check_source && check_target && !get_pageblock_skip(z, pfn))
		return true;
	if (!check_source && check_target && get_pageblock_migratetype(z, pfn) != ZPA_MIGRATE_MOVABLE)
		return false;
	unsigned long block = pageblock_start_pfn(m, pfn);
	if (block < z->zone_start_pfn)
		block = z->zone_start_pfn;
	if (pfn_present(z, block))
		pfn = block;
	unsigned long last = pageblock_end_pfn(m, pfn) - 1;
	if (last > zone_end_pfn(z) - 1)
		last = zone_end_pfn(z) - 1;
	if (!pfn_present(z, last))
		return false;
	for (; pfn <= last; pfn += 1ul << PAGE_ALLOC_COSTLY_ORDER) {
		uint32_t f = READ_ONCE(zone_pfn_page(z, pfn)->flags);
		if ((check_source && (f & PG_onlru)) || (check_target && (f & PG_buddy))) {
			clear_pageblock_skip(z, pfn);
			return true;
		}
	}
	return false;
}

/*
 * __reset_isolation_suitable(): after a full direct compaction of the zone,
 * walk it from both ends clearing skip hints, and restart the scanners at
 * the outermost pageblocks that look useful.
 */
static void __reset_isolation_suitable(const struct zpa_machine *m, struct zone *z)
{
	unsigned long migrate_pfn = z->zone_start_pfn, free_pfn = zone_end_pfn(z) - 1;
	unsigned long reset_migrate = free_pfn, reset_free = migrate_pfn;
	bool source_set = false, free_set = false;

	if (!READ_ONCE(z->compact_blockskip_flush))
		return;
	WRITE_ONCE(z->compact_blockskip_flush, false);
	for (; migrate_pfn < free_pfn; migrate_pfn += m->pageblock_nr_pages, free_pfn -= m->pageblock_nr_pages) {
		if (__reset_isolation_pfn(m, z, migrate_pfn, true, source_set) && migrate_pfn < reset_migrate) {
			source_set = true;
			reset_migrate = migrate_pfn;
			WRITE_ONCE(z->compact_init_migrate_pfn, reset_migrate);
			WRITE_ONCE(z->compact_cached_migrate_pfn[0], reset_migrate);
			WRITE_ONCE(z->compact_cached_migrate_pfn[1], reset_migrate);
		}
		if (__reset_isolation_pfn(m, z, free_pfn, free_set, true) && free_pfn > reset_free) {
			free_set = true;
			reset_free = free_pfn;
			WRITE_ONCE(z->compact_init_free_pfn, reset_free);
			WRITE_ONCE(z->compact_cached_free_pfn, reset_free);
		}
		if (free_pfn < m->pageblock_nr_pages)
			break;
	}
	/* Nothing worth restarting at: leave the scanners met. */
	if (reset_migrate >= reset_free) {
		WRITE_ONCE(z->compact_cached_migrate_pfn[0], migrate_pfn);
		WRITE_ONCE(z->compact_cached_migrate_pfn[1], migrate_pfn);
		WRITE_ONCE(z->compact_cached_free_pfn, free_pfn);
	}
}

void reset_isolation_suitable(struct zpa_machine *m, pg_data_t *pgdat)
{
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (populated_zone(z) && READ_ONCE(z->compact_blockskip_flush))
			__reset_isolation_suitable(m, z);
	}
}

/*
 * test_and_set_skip(): mark the pageblock at pfn (pageblock aligned only)
 * so other compactors pass it by; true if it was marked already.
 */
static bool test_and_set_skip(struct compact_control *cc, unsigned long pfn)
{
	if (cc->ignore_skip_hint || !pageblock_aligned(cc->m, pfn))
		return false;
	bool skip = get_pageblock_skip(cc->zone, pfn);
	if (!skip && !cc->no_set_skip_hint)
		set_pageblock_skip(cc->zone, pfn);
	return skip;
}

/* update_cached_migrate(): the migrate scanner finished the pageblock at pfn. */
static void update_cached_migrate(struct compact_control *cc, unsigned long pfn)
{
	struct zone *z = cc->zone;
	pfn = pageblock_end_pfn(cc->m, pfn);
	if (cc->no_set_skip_hint)
		return;
	if (pfn > READ_ONCE(z->compact_cached_migrate_pfn[0]))
		WRITE_ONCE(z->compact_cached_migrate_pfn[0], pfn);
	if (cc->mode != MIGRATE_ASYNC && pfn > READ_ONCE(z->compact_cached_migrate_pfn[1]))
		WRITE_ONCE(z->compact_cached_migrate_pfn[1], pfn);
}

/* update_pageblock_skip(): the free scanner found nothing in the pageblock at pfn. */
static void update_pageblock_skip(struct compact_control *cc, unsigned long pfn)
{
	struct zone *z = cc->zone;
	if (cc->no_set_skip_hint)
		return;
	set_pageblock_skip(z, pfn);
	if (pfn < READ_ONCE(z->compact_cached_free_pfn))
		WRITE_ONCE(z->compact_cached_free_pfn, pfn);
}

/* compact_lock_irqsave(): async compaction notes a busy lock (and then waits for it anyway). */
static void compact_lock(struct compact_control *cc, zpa_spinlock_t *lock)
{
	if (cc->mode == MIGRATE_ASYNC && !cc->contended) {
		if (zpa_spin_trylock(lock))
			return;
		cc->contended = true;
	}
	zpa_spin_lock(lock);
}

/*
 * pageblock_pfn_to_page(): the first page of [start, end) if the range
 * lies in the zone with both ends present, else NULL.
 */
static struct zpa_page *pageblock_pfn_to_page(const struct zone *z, unsigned long start, unsigned long end)
{
	if (start < z->zone_start_pfn || end > zone_end_pfn(z) || start >= end)
		return NULL;
	if (!pfn_present(z, start) || !pfn_present(z, end - 1))
		return NULL;
	return zone_pfn_page(z, start);
}

/* ---- the free scanner ---- */

static inline int buddy_list_type(const struct zpa_page *p)
{
	return (int)((READ_ONCE(p->flags) & PG_MT_MASK) >> PG_MT_SHIFT);
}

/*
 * __isolate_free_page(): take the free block at page off its list if the
 * zone stays above its min watermark plus the block (order 0, with CMA, as
 * if allocating it).  A block of at least half a pageblock turns its
 * pageblocks movable.  Returns the pages taken, 0 if refused.  Zone lock held.
 */
static unsigned long __isolate_free_page(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned order)
{
	unsigned long pfn = page_to_pfn(z, page);
	int list_mt = buddy_list_type(page);
	assert_zone_locked(m, z);
	if (get_pageblock_migratetype(z, pfn) != ZPA_MIGRATE_ISOLATE) {
		unsigned long mark = READ_ONCE(z->_watermark[WMARK_MIN]) + (1ul << order);
		if (!zone_watermark_ok(m, z, 0, mark, 0, ALLOC_CMA))
			return 0;
	}
	if (list_mt != ZPA_MIGRATE_ISOLATE) {
		__mod_zone_page_state(z, NR_FREE_PAGES, -(1l << order));
		if (list_mt == ZPA_MIGRATE_CMA)
			__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -(1l << order));
	}
	del_page_from_free_list(z, page, order);
	if (order + 1 >= m->pageblock_order) {
		for (unsigned long p = pfn; p < pfn + (1ul << order); p += m->pageblock_nr_pages)
			if (get_pageblock_migratetype(z, p) < ZPA_MIGRATE_PCPTYPES)
				set_pageblock_migratetype(z, p, ZPA_MIGRATE_MOVABLE);
	}
	return 1ul << order;
}

/* split_map_pages(): a taken block becomes 2^order allocated order-0 targets on cc->freepages. */
static void split_map_pages(struct compact_control *cc, struct zpa_page *page, unsigned order)
{
	for (unsigned long i = 0; i < (1ul << order); i++) {
		struct zpa_page *p = page + i;
		WRITE_ONCE(p->flags, (p->flags & PG_ZONE_MASK) | PG_alloc);
		p->prev = ZPA_NIL;
		__atomic_store_n(&p->refcount, 1, __ATOMIC_RELAXED);
		page_queue_add_tail(&cc->freepages, p);
	}
}

/*
 * isolate_freepages_block(): take free blocks from [*start_pfn, end_pfn),
 * looking at every stride-th page, until there are targets for every
 * isolated source.  *start_pfn gets where the scan stopped.  Returns the
 * pages taken.
 */
static unsigned long isolate_freepages_block(struct compact_control *cc, unsigned long *start_pfn,
					     unsigned long end_pfn, unsigned stride)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long nr_scanned = 0, total_isolated = 0, blockpfn = *start_pfn;
	bool locked = false;

	for (; blockpfn < end_pfn; blockpfn += stride) {
		/* Let others at the lock now and then. */
		if (!(blockpfn % COMPACT_CLUSTER_MAX) && locked) {
			zpa_spin_unlock(&z->lock);
			locked = false;
		}
		nr_scanned++;
		struct zpa_page *page = zone_pfn_page(z, blockpfn);
		uint32_t f = READ_ONCE(page->flags);
		if (f & PG_head) {
			unsigned order = f & PG_ORDER_MASK;
			if (order < m->max_order)
				blockpfn += (1ul << order) - 1;
			continue;
		}
		if (!(f & PG_buddy) || !flags_in_zone(f, z))
			continue;
		if (!locked) {
			compact_lock(cc, &z->lock);
			locked = true;
			if (!(READ_ONCE(page->flags) & PG_buddy))
				continue;
		}
		unsigned order = page_order(page);
		unsigned long isolated = __isolate_free_page(m, z, page, order);
		if (!isolated)
			break;
		split_map_pages(cc, page, order);
		nr_scanned += isolated - 1;
		total_isolated += isolated;
		cc->nr_freepages += isolated;
		if (cc->nr_migratepages <= cc->nr_freepages) {
			blockpfn += isolated;
			break;
		}
		blockpfn += isolated - 1;
	}
	if (locked)
		zpa_spin_unlock(&z->lock);
	if (blockpfn > end_pfn)
		blockpfn = end_pfn;
	*start_pfn = blockpfn;
	cc->total_free_scanned += nr_scanned;
	if (total_isolated)
		count_vm_event(m, COMPACTISOLATED, total_isolated);
	return total_isolated;
}

/*
 * suitable_migration_target(): may targets come from the pageblock at pfn?
 * Not from a free block of pageblock order or more (that is what
 * compaction builds), and only from MOVABLE or CMA pageblocks unless the
 * priority allows any type.  zpa never takes targets from an isolated
 * pageblock: isolate.c promises no allocation lands there.
 */
static bool suitable_migration_target(struct compact_control *cc, unsigned long pfn)
{
	struct zone *z = cc->zone;
	const struct zpa_page *page = zone_pfn_page(z, pfn);
	uint32_t f = READ_ONCE(page->flags);
	if ((f & PG_buddy) && (f & PG_ORDER_MASK) >= cc->m->pageblock_order)
		return false;
	int mt = get_pageblock_migratetype(z, pfn);
	if (mt == ZPA_MIGRATE_ISOLATE)
		return false;
	if (cc->ignore_block_suitable)
		return true;
	return mt == ZPA_MIGRATE_MOVABLE || mt == ZPA_MIGRATE_CMA;
}

/* compact_scanners_met(): the free scanner is at or below the migrate scanner's pageblock. */
static inline bool compact_scanners_met(const struct compact_control *cc)
{
	return (cc->free_pfn >> cc->m->pageblock_order) <= (cc->migrate_pfn >> cc->m->pageblock_order);
}

/*
 * isolate_freepages(): walk pageblocks down from cc->free_pfn to the one
 * above the migrate scanner's, taking targets, until there are enough;
 * record where to resume.
 */
static void isolate_freepages(struct compact_control *cc)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long pb = m->pageblock_nr_pages;
	unsigned long isolate_start_pfn = cc->free_pfn;
	unsigned long block_start = pageblock_start_pfn(m, isolate_start_pfn);
	unsigned long block_end = block_start + pb < zone_end_pfn(z) ? block_start + pb : zone_end_pfn(z);
	unsigned long low_pfn = pageblock_end_pfn(m, cc->migrate_pfn);
	unsigned stride = cc->mode == MIGRATE_ASYNC ? COMPACT_CLUSTER_MAX : 1;

	for (; block_start >= low_pfn; block_end = block_start, block_start -= pb, isolate_start_pfn = block_start) {
		if (!pageblock_pfn_to_page(z, block_start, block_end))
			continue;
		if (!suitable_migration_target(cc, block_start))
			continue;
		if (!isolation_suitable(cc, block_start))
			continue;
		unsigned long nr_isolated = isolate_freepages_block(cc, &isolate_start_pfn, block_end, stride);
		/* The whole pageblock was scanned: remember it as done. */
		if (isolate_start_pfn == block_end)
			update_pageblock_skip(cc, block_start);
		if (cc->nr_freepages >= cc->nr_migratepages) {
			/* Resume in the pageblock below when this one is used up. */
			if (isolate_start_pfn >= block_end)
				isolate_start_pfn = block_start - pb;
			break;
		} else if (isolate_start_pfn < block_end) {
			/* Stopped early (watermark): no point going on. */
			break;
		}
		if (nr_isolated) {
			stride = 1;
			continue;
		}
		stride = stride << 1 < COMPACT_CLUSTER_MAX ? stride << 1 : COMPACT_CLUSTER_MAX;
	}
	cc->free_pfn = isolate_start_pfn;
}

/* compaction_alloc(): the next target for a source (new_page_t). */
static struct zpa_page *compaction_alloc(struct zpa_machine *m, struct zpa_page *src, void *data, struct zone **zone)
{
	struct compact_control *cc = data;
	(void)m;
	if (page_order(src))
		return NULL; /* compaction moves order-0 pages only (compound pages are skipped) */
	if (page_queue_empty(&cc->freepages)) {
		isolate_freepages(cc);
		if (page_queue_empty(&cc->freepages))
			return NULL;
	}
	struct zpa_page *page = page_queue_pop(&cc->freepages);
	cc->nr_freepages--;
	*zone = cc->zone;
	return page;
}

/* compaction_free(): an unused target goes back to the front (free_page_t). */
static void compaction_free(struct zpa_machine *m, struct zone *z, struct zpa_page *page, void *data)
{
	struct compact_control *cc = data;
	(void)m;
	(void)z;
	page_queue_add_head(&cc->freepages, page);
	cc->nr_freepages++;
}

/* release_freepages(): every unused target back to the free lists; returns the highest pfn. */
static unsigned long release_freepages(struct compact_control *cc)
{
	unsigned long high = 0;
	struct zpa_page *page;
	while ((page = page_queue_pop(&cc->freepages))) {
		unsigned long pfn = page_to_pfn(cc->zone, page);
		WRITE_ONCE(page->flags, page->flags & PG_ZONE_MASK);
		__atomic_store_n(&page->refcount, 0, __ATOMIC_RELAXED);
		free_isolated_block(cc->m, cc->zone, page, pfn, 0);
		if (pfn > high)
			high = pfn;
	}
	cc->nr_freepages = 0;
	return high;
}

/* ---- capture and the free of compaction's blocks ---- */

/* The direct compactor's claim of the calling thread (Linux's current->capture_control). */
static __thread struct capture_control *current_capc;

static inline bool migratetype_is_mergeable(int mt) { return mt < ZPA_MIGRATE_PCPTYPES; }

/* task_capc(): the thread's claim, if it is for zone z and still open. */
static inline struct capture_control *task_capc(struct zone *z)
{
	struct capture_control *capc = current_capc;
	return capc && !capc->page && capc->cc->zone == z ? capc : NULL;
}

/*
 * compaction_capture(): the block of `order` at pfn is being freed into a
 * pageblock of type mt.  If it would merge up to the compactor's order, take
 * that merged block for it (its buddies leave the free lists) and return
 * true; otherwise change nothing.  Not from CMA or isolated pageblocks, nor
 * a block below pageblock order from a movable pageblock (that would let a
 * small unmovable request pollute it).  Zone lock held.
 */
static bool compaction_capture(struct zpa_machine *m, struct zone *z, struct capture_control *capc,
			       unsigned long pfn, unsigned order, int mt)
{
	int want = capc->cc->order;
	if (want < 0 || (unsigned)want + 1 >= m->max_order || order > (unsigned)want)
		return false;
	if (mt == ZPA_MIGRATE_CMA || mt == ZPA_MIGRATE_ISOLATE)
		return false;
	if ((unsigned)want < m->pageblock_order && mt == ZPA_MIGRATE_MOVABLE)
		return false;
	/* Would __free_one_page() merge it that far? */
	unsigned long p = pfn;
	for (unsigned o = order; o < (unsigned)want; o++) {
		unsigned long b = p ^ (1ul << o);
		if (!zone_spans_pfn(z, b))
			return false;
		uint32_t f = READ_ONCE(zone_pfn_page(z, b)->flags);
		if (!(f & PG_buddy) || (f & PG_ORDER_MASK) != o)
			return false;
		if (o >= m->pageblock_order) {
			int bmt = get_pageblock_migratetype(z, b);
			if (mt != bmt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(bmt)))
				return false;
		}
		p &= b;
	}
	/* Yes: take the buddies off their lists and hand the merged block over. */
	p = pfn;
	for (unsigned o = order; o < (unsigned)want; o++) {
		unsigned long b = p ^ (1ul << o);
		struct zpa_page *buddy = zone_pfn_page(z, b);
		int bl = buddy_list_type(buddy);
		if (bl != ZPA_MIGRATE_ISOLATE) {
			__mod_zone_page_state(z, NR_FREE_PAGES, -(1l << o));
			if (bl == ZPA_MIGRATE_CMA)
				__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -(1l << o));
		}
		del_page_from_free_list(z, buddy, o);
		p &= b;
	}
	capc->page = zone_pfn_page(z, p);
	return true;
}

void free_isolated_block(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned long pfn,
			 unsigned order)
{
	struct capture_control *capc = task_capc(z);
	(void)page;
	zpa_spin_lock(&z->lock);
	int mt = get_pageblock_migratetype(z, pfn);
	if (!capc || !compaction_capture(m, z, capc, pfn, order, mt))
		__free_one_page(m, z, pfn, order, mt, false);
	zpa_spin_unlock(&z->lock);
	count_vm_event(m, PGFREE, 1ul << order);
}

/* ---- the migrate scanner ---- */

/* too_many_isolated(): over half the node's LRU pages are isolated already. */
static bool too_many_isolated(pg_data_t *pgdat)
{
	long inactive = node_page_state(pgdat, NR_INACTIVE_FILE) + node_page_state(pgdat, NR_INACTIVE_ANON);
	long active = node_page_state(pgdat, NR_ACTIVE_FILE) + node_page_state(pgdat, NR_ACTIVE_ANON);
	long isolated = node_page_state(pgdat, NR_ISOLATED_FILE) + node_page_state(pgdat, NR_ISOLATED_ANON);
	return isolated > (inactive + active) / 2;
}

/*
 * isolate_migratepages_block(): isolate the movable pages of [low_pfn,
 * end_pfn) (one pageblock) onto cc->migratepages, stopping at
 * COMPACT_CLUSTER_MAX pages unless rescanning or contended.  Async direct
 * compaction gives up an order-aligned block at its first failure (its
 * pages could not all move).  async_migrate: leave pages under writeback
 * (Linux's ISOLATE_ASYNC_MIGRATE).  cc->migrate_pfn gets where the scan
 * stopped.  Returns 0 or ZPA_EAGAIN (too many pages isolated already).
 */
static int isolate_migratepages_block(struct compact_control *cc, unsigned long low_pfn, unsigned long end_pfn,
				      bool async_migrate)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	pg_data_t *pgdat = z->zone_pgdat;
	unsigned long nr_scanned = 0, nr_isolated = 0, next_skip_pfn = 0, valid_pfn = 0;
	bool skip_on_failure = false, skip_updated = false, valid = false;

	cc->migrate_pfn = low_pfn;
	/* Linux throttles sync compaction here until reclaim settles; zpa cannot wait (see above). */
	if (too_many_isolated(pgdat) && (cc->nr_migratepages || cc->mode == MIGRATE_ASYNC))
		return ZPA_EAGAIN;
	if (cc->direct_compaction && cc->mode == MIGRATE_ASYNC) {
		skip_on_failure = true;
		next_skip_pfn = block_end_pfn(low_pfn, cc->order);
	}

	for (; low_pfn < end_pfn; low_pfn++) {
		if (skip_on_failure && low_pfn >= next_skip_pfn) {
			/* The previous order-aligned block isolated whole: migrate it now. */
			if (nr_isolated)
				break;
			next_skip_pfn = block_end_pfn(low_pfn, cc->order);
		}
		nr_scanned++;
		struct zpa_page *page = zone_pfn_page(z, low_pfn);

		/* The pageblock's hint is read once, at its first pfn. */
		if (!valid && pageblock_aligned(m, low_pfn)) {
			if (!isolation_suitable(cc, low_pfn)) {
				low_pfn = end_pfn;
				goto isolate_abort;
			}
			valid = true;
			valid_pfn = low_pfn;
		}
		uint32_t f = READ_ONCE(page->flags);
		if ((f & (PG_hole | PG_reserved)) || !flags_in_zone(f, z))
			goto isolate_fail;
		/* Free: step over the block (a racy order; only sane values are used). */
		if (f & PG_buddy) {
			unsigned order = f & PG_ORDER_MASK;
			if (order > 0 && order < m->max_order)
				low_pfn += (1ul << order) - 1;
			continue;
		}
		/* Compound pages stay, unless a contiguous range needs them out. */
		if ((f & (PG_head | PG_tail)) && !cc->alloc_contig) {
			if (f & PG_head) {
				unsigned order = f & PG_ORDER_MASK;
				if (order < m->max_order)
					low_pfn += (1ul << order) - 1;
			}
			goto isolate_fail;
		}
		if (!(f & PG_onlru)) {
			/* A non-LRU movable page (zpa_page_set_movable)? */
			if ((f & PG_OWNER_MASK) && !(f & PG_isolated) && (f & PG_alloc) &&
			    isolate_movable_page(m, pgdat, page))
				goto isolate_success;
			goto isolate_fail;
		}
		/* An LRU page: movable if its owner can migrate it. */
		const struct zpa_page_owner_ops *ops = page_owner_ops(m, (int)((f & PG_OWNER_MASK) >> PG_OWNER_SHIFT));
		if (!ops || !ops->migrate)
			goto isolate_fail;
		/* Without __GFP_FS only anonymous pages move (file pages need the filesystem). */
		if (!(cc->gfp_mask & ZPA___GFP_FS) && !(f & PG_swapbacked))
			goto isolate_fail;
		if (async_migrate && (f & PG_writeback))
			goto isolate_fail;
		compact_lock(cc, &pgdat->lruvec.lru_lock);
		if (!skip_updated) {
			skip_updated = true;
			if (test_and_set_skip(cc, low_pfn)) {
				zpa_spin_unlock(&pgdat->lruvec.lru_lock);
				goto isolate_abort;
			}
		}
		f = READ_ONCE(page->flags);
		if ((f & (PG_head | PG_tail)) && !cc->alloc_contig) {
			zpa_spin_unlock(&pgdat->lruvec.lru_lock);
			goto isolate_fail;
		}
		bool ok = __isolate_lru_page(pgdat, page);
		zpa_spin_unlock(&pgdat->lruvec.lru_lock);
		if (!ok)
			goto isolate_fail;

isolate_success:;
		unsigned long nr = 1ul << page_order(page);
		low_pfn += nr - 1;
		page_queue_add_tail(&cc->migratepages, page);
		cc->nr_migratepages += nr;
		nr_isolated += nr;
		nr_scanned += nr - 1;
		/* Enough for one round, unless rescanning a pageblock or contended. */
		if (cc->nr_migratepages >= COMPACT_CLUSTER_MAX && !cc->rescan && !cc->contended) {
			++low_pfn;
			break;
		}
		continue;

isolate_fail:
		if (!skip_on_failure)
			continue;
		/* This order-aligned block cannot be emptied: release what it gave and skip its rest. */
		if (nr_isolated) {
			putback_movable_pages(m, &cc->migratepages);
			cc->nr_migratepages = 0;
			nr_isolated = 0;
		}
		if (low_pfn < next_skip_pfn) {
			low_pfn = next_skip_pfn - 1;
			next_skip_pfn += 1ul << cc->order;
		}
	}
	if (low_pfn > end_pfn)
		low_pfn = end_pfn;

isolate_abort:
	/* A pageblock scanned to its end that gave nothing (or twice in a row) is passed by next time. */
	if (low_pfn == end_pfn && (!nr_isolated || cc->rescan)) {
		if (valid && !skip_updated)
			set_pageblock_skip(z, valid_pfn);
		update_cached_migrate(cc, low_pfn);
	}
	cc->total_migrate_scanned += nr_scanned;
	if (nr_isolated)
		count_vm_event(m, COMPACTISOLATED, nr_isolated);
	cc->migrate_pfn = low_pfn;
	return 0;
}

int isolate_migratepages_range(struct compact_control *cc, unsigned long start_pfn, unsigned long end_pfn)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long pfn = start_pfn;
	unsigned long block_start = pageblock_start_pfn(m, pfn), block_end = pageblock_end_pfn(m, pfn);
	int ret = 0;

	if (block_start < z->zone_start_pfn)
		block_start = z->zone_start_pfn;
	for (; pfn < end_pfn; pfn = block_end, block_start = block_end, block_end += m->pageblock_nr_pages) {
		if (block_end > end_pfn)
			block_end = end_pfn;
		if (!pageblock_pfn_to_page(z, block_start, block_end))
			continue;
		ret = isolate_migratepages_block(cc, pfn, block_end, false);
		if (ret || cc->nr_migratepages >= COMPACT_CLUSTER_MAX)
			return ret;
	}
	/* Ran to the end (pageblocks with holes are passed without a scan). */
	cc->migrate_pfn = end_pfn;
	return ret;
}

/*
 * suitable_migration_source(): may the pageblock at pfn give sources?  Not
 * one filled by a huge compound page.  Async direct compaction takes only
 * pageblocks of the request's type (MOVABLE or CMA for movable requests).
 */
static bool suitable_migration_source(struct compact_control *cc, unsigned long pfn)
{
	struct zone *z = cc->zone;
	if (pageblock_skip_persistent(cc->m, z, zone_pfn_page(z, pfn)))
		return false;
	if (cc->mode != MIGRATE_ASYNC || !cc->direct_compaction)
		return true;
	int mt = get_pageblock_migratetype(z, pfn);
	if (cc->migratetype == ZPA_MIGRATE_MOVABLE)
		return mt == ZPA_MIGRATE_MOVABLE || mt == ZPA_MIGRATE_CMA;
	return mt == cc->migratetype;
}

typedef enum {
	ISOLATE_ABORT,   /* stop compacting now */
	ISOLATE_NONE,    /* nothing isolated: scan on */
	ISOLATE_SUCCESS, /* pages isolated: migrate them */
} isolate_migrate_t;

/* isolate_migratepages(): sources from the first suitable pageblock at or after cc->migrate_pfn. */
static isolate_migrate_t isolate_migratepages(struct compact_control *cc)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long low_pfn = cc->migrate_pfn;
	unsigned long block_start = pageblock_start_pfn(m, low_pfn);
	unsigned long block_end = pageblock_end_pfn(m, low_pfn);
	bool async_migrate = cc->mode != MIGRATE_SYNC;

	if (block_start < z->zone_start_pfn)
		block_start = z->zone_start_pfn;
	for (; block_end <= cc->free_pfn;
	     cc->migrate_pfn = low_pfn = block_end, block_start = block_end, block_end += m->pageblock_nr_pages) {
		if (!pageblock_pfn_to_page(z, block_start, block_end))
			continue;
		/* The hint is checked once per pageblock (a resumed scan is mid-block). */
		if (pageblock_aligned(m, low_pfn) && !isolation_suitable(cc, low_pfn))
			continue;
		if (!suitable_migration_source(cc, block_start)) {
			update_cached_migrate(cc, block_end);
			continue;
		}
		if (isolate_migratepages_block(cc, low_pfn, block_end, async_migrate))
			return ISOLATE_ABORT;
		break;
	}
	return cc->nr_migratepages ? ISOLATE_SUCCESS : ISOLATE_NONE;
}

/* ---- fragmentation score (proactive compaction) ---- */

/* fragmentation_score_zone(): extfrag for the huge page order, percent. */
static unsigned fragmentation_score_zone(const struct zpa_machine *m, const struct zone *z)
{
	struct contig_page_info info;
	unsigned order = compaction_hpage_order(m);
	fill_contig_page_info(z, order, &info);
	if (!info.free_pages)
		return 0;
	return (unsigned)((unsigned long long)(info.free_pages - (info.free_blocks_suitable << order)) * 100ull /
			  info.free_pages);
}

/* fragmentation_score_zone_weighted(): scaled by the zone's share of the node, so small zones barely count. */
static unsigned fragmentation_score_zone_weighted(const struct zpa_machine *m, const struct zone *z)
{
	unsigned long long score = (unsigned long long)READ_ONCE(z->present_pages) * fragmentation_score_zone(m, z);
	return (unsigned)(score / (READ_ONCE(z->zone_pgdat->node_present_pages) + 1));
}

unsigned fragmentation_score_node(struct zpa_machine *m, pg_data_t *pgdat)
{
	unsigned score = 0;
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++)
		score += fragmentation_score_zone_weighted(m, &pgdat->node_zones[zi]);
	return score;
}

/* The score proactive compaction stops at (low) and starts above (high). */
static unsigned fragmentation_score_wmark(const struct zpa_machine *m, bool low)
{
	long p = READ_ONCE(m->t.compaction_proactiveness);
	unsigned wmark_low = 100 - (unsigned)p > 5 ? 100 - (unsigned)p : 5;
	return low ? wmark_low : (wmark_low + 10 < 100 ? wmark_low + 10 : 100);
}

static bool should_proactive_compact_node(struct zpa_machine *m, pg_data_t *pgdat)
{
	if (!READ_ONCE(m->t.compaction_proactiveness) || kswapd_is_running(pgdat))
		return false;
	return fragmentation_score_node(m, pgdat) > fragmentation_score_wmark(m, false);
}

/* ---- when to stop ---- */

/* Which types each type may borrow from (buddy.c's table, Linux's fallbacks[]). */
static const int fallbacks[ZPA_MIGRATE_PCPTYPES][2] = {
	[ZPA_MIGRATE_UNMOVABLE] = { ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_MOVABLE },
	[ZPA_MIGRATE_MOVABLE] = { ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_UNMOVABLE },
	[ZPA_MIGRATE_RECLAIMABLE] = { ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE },
};

static inline bool free_area_empty(const struct free_area *area, int mt)
{
	return READ_ONCE(area->free_list[mt].head) == ZPA_NIL;
}

/* can_steal_fallback(): would taking a block of this order claim its whole pageblock? */
static bool can_steal_fallback(const struct zpa_machine *m, unsigned order, int start_mt)
{
	return order >= m->pageblock_order || order >= m->pageblock_order / 2 || start_mt == ZPA_MIGRATE_RECLAIMABLE ||
	       start_mt == ZPA_MIGRATE_UNMOVABLE || m->t.page_group_by_mobility_disabled;
}

/* find_suitable_fallback(..., only_stealable = true): a type mt could steal a pageblock from at this order. */
static bool stealable_fallback_exists(const struct zpa_machine *m, const struct free_area *area, unsigned order, int mt)
{
	if (!READ_ONCE(area->nr_free) || mt >= ZPA_MIGRATE_PCPTYPES)
		return false;
	for (int i = 0; i < 2; i++)
		if (!free_area_empty(area, fallbacks[mt][i]) && can_steal_fallback(m, order, mt))
			return true;
	return false;
}

static enum compact_result __compact_finished(struct compact_control *cc)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	enum compact_result ret;

	if (compact_scanners_met(cc)) {
		/* The next run starts afresh; a direct run asks kswapd to clear the hints. */
		reset_cached_positions(m, z);
		if (cc->direct_compaction)
			WRITE_ONCE(z->compact_blockskip_flush, true);
		return cc->whole_zone ? COMPACT_COMPLETE : COMPACT_PARTIAL_SKIPPED;
	}
	if (cc->proactive_compaction) {
		if (kswapd_is_running(z->zone_pgdat))
			return COMPACT_PARTIAL_SKIPPED;
		ret = fragmentation_score_zone(m, z) > fragmentation_score_wmark(m, true) ? COMPACT_CONTINUE
											  : COMPACT_SUCCESS;
		goto out;
	}
	if (is_via_compact_memory(cc->order))
		return COMPACT_CONTINUE;
	/* Finish the pageblock being emptied: fewer fallbacks later. */
	if (!pageblock_aligned(m, cc->migrate_pfn))
		return COMPACT_CONTINUE;
	ret = COMPACT_NO_SUITABLE_PAGE;
	for (unsigned order = (unsigned)cc->order; order < m->max_order; order++) {
		const struct free_area *area = &z->free_area[order];
		if (!free_area_empty(area, cc->migratetype))
			return COMPACT_SUCCESS;
		if (cc->migratetype == ZPA_MIGRATE_MOVABLE && !free_area_empty(area, ZPA_MIGRATE_CMA))
			return COMPACT_SUCCESS;
		if (stealable_fallback_exists(m, area, order, cc->migratetype))
			return COMPACT_SUCCESS;
	}
out:
	if (cc->contended)
		ret = COMPACT_CONTENDED;
	return ret;
}

static enum compact_result compact_finished(struct compact_control *cc)
{
	enum compact_result ret = __compact_finished(cc);
	return ret == COMPACT_NO_SUITABLE_PAGE ? COMPACT_CONTINUE : ret;
}

/*
 * __compaction_suitable(): COMPACT_SUCCESS when the request's watermark
 * already holds at its order, COMPACT_SKIPPED when order-0 free pages
 * (wmark_target) are below min (low for costly orders) + compact_gap,
 * else COMPACT_CONTINUE.
 */
static enum compact_result __compaction_suitable(struct zpa_machine *m, struct zone *z, int order,
						 unsigned alloc_flags, int highest_zoneidx, unsigned long wmark_target)
{
	if (is_via_compact_memory(order))
		return COMPACT_CONTINUE;
	unsigned long mark = wmark_pages(z, alloc_flags & ALLOC_WMARK_MASK);
	if (zone_watermark_ok(m, z, (unsigned)order, mark, highest_zoneidx, alloc_flags))
		return COMPACT_SUCCESS;
	mark = order > PAGE_ALLOC_COSTLY_ORDER ? low_wmark_pages(z) : min_wmark_pages(z);
	mark += compact_gap(order);
	if (!__zone_watermark_ok(m, z, 0, mark, highest_zoneidx, ALLOC_CMA, (long)wmark_target))
		return COMPACT_SKIPPED;
	return COMPACT_CONTINUE;
}

enum compact_result compaction_suitable(struct zpa_machine *m, struct zone *z, int order, unsigned alloc_flags,
					int highest_zoneidx)
{
	enum compact_result ret = __compaction_suitable(m, z, order, alloc_flags, highest_zoneidx,
							zone_page_state(z, NR_FREE_PAGES));
	/*
	 * Costly orders: compact only when failing would be for fragmentation,
	 * not for lack of memory (an index in [0, extfrag_threshold] says the
	 * latter).  Smaller orders always try: the alternative is OOM.
	 */
	if (ret == COMPACT_CONTINUE && order > PAGE_ALLOC_COSTLY_ORDER) {
		struct contig_page_info info;
		fill_contig_page_info(z, (unsigned)order, &info);
		int fragindex = __fragmentation_index((unsigned)order, &info);
		if (fragindex >= 0 && fragindex <= READ_ONCE(m->t.extfrag_threshold))
			ret = COMPACT_NOT_SUITABLE_ZONE;
	}
	return ret == COMPACT_NOT_SUITABLE_ZONE ? COMPACT_SKIPPED : ret;
}

/* ---- one zone ---- */

enum compact_result compact_zone(struct compact_control *cc, struct capture_control *capc)
{
	struct zpa_machine *m = cc->m;
	struct zone *z = cc->zone;
	unsigned long start_pfn = z->zone_start_pfn, end_pfn = zone_end_pfn(z);
	const bool sync = cc->mode != MIGRATE_ASYNC;
	unsigned long last_migrated_pfn = 0;
	enum compact_result ret;
	bool update_cached;

	cc->total_migrate_scanned = 0;
	cc->total_free_scanned = 0;
	cc->nr_migratepages = 0;
	cc->nr_freepages = 0;
	page_queue_init(&cc->freepages, z->zone_pgdat);
	page_queue_init(&cc->migratepages, z->zone_pgdat);
	cc->migratetype = gfp_migratetype(m, cc->gfp_mask);
	if (!cc->task)
		cc->task = zpa_task_current();
	if (!populated_zone(z) || end_pfn <= start_pfn)
		return COMPACT_SKIPPED;

	ret = compaction_suitable(m, z, cc->order, cc->alloc_flags, cc->highest_zoneidx);
	if (ret == COMPACT_SUCCESS || ret == COMPACT_SKIPPED)
		return ret;
	/* Deferred long enough after failures: forget the skip hints. */
	if (compaction_restarting(z, cc->order))
		__reset_isolation_suitable(m, z);

	/* Scanner positions: the zone's ends, or where the last run left them (if sane). */
	if (cc->whole_zone) {
		cc->migrate_pfn = start_pfn;
		cc->free_pfn = pageblock_start_pfn(m, end_pfn - 1);
	} else {
		cc->migrate_pfn = READ_ONCE(z->compact_cached_migrate_pfn[sync]);
		cc->free_pfn = READ_ONCE(z->compact_cached_free_pfn);
		if (cc->free_pfn < start_pfn || cc->free_pfn >= end_pfn) {
			cc->free_pfn = pageblock_start_pfn(m, end_pfn - 1);
			WRITE_ONCE(z->compact_cached_free_pfn, cc->free_pfn);
		}
		if (cc->migrate_pfn < start_pfn || cc->migrate_pfn >= end_pfn) {
			cc->migrate_pfn = start_pfn;
			WRITE_ONCE(z->compact_cached_migrate_pfn[0], start_pfn);
			WRITE_ONCE(z->compact_cached_migrate_pfn[1], start_pfn);
		}
		if (cc->migrate_pfn <= READ_ONCE(z->compact_init_migrate_pfn))
			cc->whole_zone = true;
	}
	/* Until an async run finds sources, its cached pfn drags the sync one along. */
	update_cached = !sync && READ_ONCE(z->compact_cached_migrate_pfn[0]) ==
					  READ_ONCE(z->compact_cached_migrate_pfn[1]);

	while ((ret = compact_finished(cc)) == COMPACT_CONTINUE) {
		unsigned long iteration_start_pfn = cc->migrate_pfn;
		unsigned long nr_succeeded = 0;
		int err;

		/* Back in the pageblock migrated from last time: take all of it this time. */
		cc->rescan = pageblock_start_pfn(m, last_migrated_pfn) == pageblock_start_pfn(m, iteration_start_pfn);

		switch (isolate_migratepages(cc)) {
		case ISOLATE_ABORT:
			ret = COMPACT_CONTENDED;
			putback_movable_pages(m, &cc->migratepages);
			cc->nr_migratepages = 0;
			goto out;
		case ISOLATE_NONE:
			if (update_cached)
				WRITE_ONCE(z->compact_cached_migrate_pfn[1], READ_ONCE(z->compact_cached_migrate_pfn[0]));
			goto check_drain;
		case ISOLATE_SUCCESS:
			update_cached = false;
			last_migrated_pfn = iteration_start_pfn;
			break;
		}

		err = migrate_pages(m, &cc->migratepages, compaction_alloc, compaction_free, cc, cc->mode,
				    &nr_succeeded);
		cc->nr_migrated += nr_succeeded;
		cc->nr_migratepages = 0;
		if (err) {
			putback_movable_pages(m, &cc->migratepages);
			/* Out of targets before the scanners met: give up this run. */
			if (err == ZPA_ENOMEM && !compact_scanners_met(cc)) {
				ret = COMPACT_CONTENDED;
				goto out;
			}
			/* A page of this order-aligned block stays: async direct runs skip the rest of it. */
			if (cc->direct_compaction && cc->mode == MIGRATE_ASYNC) {
				cc->migrate_pfn = block_end_pfn(cc->migrate_pfn - 1, cc->order);
				last_migrated_pfn = 0;
			}
		}
check_drain:
		/*
		 * Left the order-aligned block migrated from: flush the local
		 * per-CPU lists so what was freed there can merge and be seen.
		 */
		if (cc->order > 0 && last_migrated_pfn &&
		    last_migrated_pfn < block_start_pfn(cc->migrate_pfn, cc->order)) {
			zpa_drain_local_pages(m, cc->task);
			last_migrated_pfn = 0;
		}
		if (capc && capc->page) {
			ret = COMPACT_SUCCESS;
			break;
		}
	}

out:
	/* Unused targets go back; the free scanner resumes above them next time. */
	if (cc->nr_freepages || !page_queue_empty(&cc->freepages)) {
		unsigned long free_pfn = pageblock_start_pfn(m, release_freepages(cc));
		if (free_pfn > READ_ONCE(z->compact_cached_free_pfn))
			WRITE_ONCE(z->compact_cached_free_pfn, free_pfn);
	}
	count_vm_event(m, COMPACTMIGRATE_SCANNED, cc->total_migrate_scanned);
	count_vm_event(m, COMPACTFREE_SCANNED, cc->total_free_scanned);
	return ret;
}

/* ---- direct compaction ---- */

static enum compact_result compact_zone_order(struct zpa_machine *m, struct zone *z, int order, zpa_gfp_t gfp,
					      enum compact_priority prio, unsigned alloc_flags, int highest_zoneidx,
					      struct zpa_task *task, struct zpa_page **capture)
{
	struct compact_control cc = {
		.m = m,
		.zone = z,
		.task = task,
		.order = order,
		.gfp_mask = gfp,
		.mode = prio == COMPACT_PRIO_ASYNC ? MIGRATE_ASYNC : MIGRATE_SYNC_LIGHT,
		.alloc_flags = alloc_flags,
		.highest_zoneidx = highest_zoneidx,
		.direct_compaction = true,
		.whole_zone = prio == MIN_COMPACT_PRIORITY,
		.ignore_skip_hint = prio == MIN_COMPACT_PRIORITY,
		.ignore_block_suitable = prio == MIN_COMPACT_PRIORITY,
	};
	struct capture_control capc = { .cc = &cc, .page = NULL };
	/* Claims nest: a migrate() callback may allocate and compact in turn. */
	struct capture_control *outer = current_capc;

	current_capc = &capc;
	enum compact_result ret = compact_zone(&cc, &capc);
	current_capc = outer;
	*capture = capc.page;
	if (*capture)
		ret = COMPACT_SUCCESS;
	return ret;
}

enum compact_result try_to_compact_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order, unsigned alloc_flags,
					 const struct alloc_context *ac, enum compact_priority prio,
					 struct zpa_page **capture, struct zone **capture_zone)
{
	enum compact_result rc = COMPACT_SKIPPED;

	*capture = NULL;
	if (capture_zone)
		*capture_zone = NULL;
	/* gfp_compaction_allowed(): migration may need I/O. */
	if (!(gfp & ZPA___GFP_IO))
		return COMPACT_SKIPPED;
	for (struct zoneref *zr = ac->zonelist->zonerefs; zr->zone; zr++) {
		struct zone *z = zr->zone;
		if (zr->zone_idx > ac->highest_zoneidx || !zpa_node_isset(ac->nodemask, z->zone_pgdat->node_id))
			continue;
		if (prio > MIN_COMPACT_PRIORITY && compaction_deferred(z, (int)order)) {
			if (rc < COMPACT_DEFERRED)
				rc = COMPACT_DEFERRED;
			continue;
		}
		enum compact_result status = compact_zone_order(m, z, (int)order, gfp, prio, alloc_flags,
								ac->highest_zoneidx, ac->task, capture);
		if (status > rc)
			rc = status;
		if (status == COMPACT_SUCCESS) {
			/* Probably; the caller confirms with alloc_success = true once it has the page. */
			compaction_defer_reset(z, (int)order, false);
			if (*capture && capture_zone)
				*capture_zone = z;
			break;
		}
		/* A sync run that found nothing: the zone is deferred (undone if the allocation succeeds). */
		if (prio != COMPACT_PRIO_ASYNC && (status == COMPACT_COMPLETE || status == COMPACT_PARTIAL_SKIPPED))
			defer_compaction(z, (int)order);
	}
	return rc;
}

bool compaction_zonelist_suitable(struct zpa_machine *m, const struct alloc_context *ac, unsigned order,
				  unsigned alloc_flags)
{
	for (struct zoneref *zr = ac->zonelist->zonerefs; zr->zone; zr++) {
		struct zone *z = zr->zone;
		if (zr->zone_idx > ac->highest_zoneidx || !zpa_node_isset(ac->nodemask, z->zone_pgdat->node_id))
			continue;
		/* Count a share of what reclaim could free, not all of it, for one high-order request. */
		unsigned long available = zone_reclaimable_pages(m, z) / (order ? order : 1);
		available += zone_page_state(z, NR_FREE_PAGES);
		if (__compaction_suitable(m, z, (int)order, alloc_flags, ac->highest_zoneidx, available) ==
		    COMPACT_CONTINUE)
			return true;
	}
	return false;
}

/* ---- whole nodes: compact_memory, compact_node, proactive compaction ---- */

/*
 * Compact every populated zone of the node whole, skip hints ignored, in
 * mode; proactive runs stop each zone at its low score mark.
 */
static unsigned long compact_node_zones(struct zpa_machine *m, pg_data_t *pgdat, int mode, bool proactive)
{
	struct compact_control cc = {
		.m = m,
		.order = -1,
		.mode = mode,
		.ignore_skip_hint = true,
		.whole_zone = true,
		.gfp_mask = ZPA_GFP_KERNEL,
		.proactive_compaction = proactive,
	};
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (!populated_zone(z))
			continue;
		cc.zone = z;
		compact_zone(&cc, NULL);
	}
	return cc.nr_migrated;
}

/* compact_node(): every populated zone of the node fully, at sync, hints ignored. */
static unsigned long compact_node(struct zpa_machine *m, pg_data_t *pgdat)
{
	return compact_node_zones(m, pgdat, MIGRATE_SYNC, false);
}

uint64_t zpa_compact_memory(struct zpa_machine *m)
{
	uint64_t pages = 0;
	if (!m)
		return 0;
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n])
			pages += compact_node(m, m->nodes[n]);
	return pages;
}

int64_t zpa_compact_node(struct zpa_machine *m, int nid)
{
	if (!m || nid < 0 || (unsigned)nid >= m->nr_nodes || !m->nodes[nid])
		return ZPA_ENOENT;
	return (int64_t)compact_node(m, m->nodes[nid]);
}

int zpa_fragmentation_score(struct zpa_machine *m, int nid)
{
	if (!m || nid < 0 || (unsigned)nid >= m->nr_nodes || !m->nodes[nid])
		return ZPA_ENOENT;
	return (int)fragmentation_score_node(m, m->nodes[nid]);
}

/* proactive_compact_node(): every zone until its score is at the low mark. */
static unsigned long proactive_compact_node(struct zpa_machine *m, pg_data_t *pgdat)
{
	return compact_node_zones(m, pgdat, MIGRATE_SYNC_LIGHT, true);
}

/* ---- kcompactd ---- */

struct kcompactd {
	struct zpa_machine *m;
	pg_data_t *pgdat;
	zpa_spinlock_t lock;        /* the request in pgdat and everything below */
	bool running;               /* INLINE: a thread runs this node's work */
	/* MANUAL: the daemon's sleep on the simulated clock */
	bool woken;                 /* a wakeup arrived at wake_ms */
	uint64_t wake_ms;
	uint64_t deadline_ms;       /* the sleep times out then; UINT64_MAX: never */
#ifndef ZPA_NO_THREADS
	/* THREAD */
	struct zpa_port_thread *thread;
	struct zpa_port_event *event; /* the daemon's wait queue */
	_Atomic bool stop;          /* kthread_should_stop() */
#endif
};

struct compact_state {
	int mode;                   /* the daemon mode kcompactd runs in now */
};

#define KCOMPACTD_NO_DEADLINE UINT64_MAX

/* The mode kcompactd runs in (it follows m->daemon_mode through kcompactd_mode_changed()). */
static inline int kcompactd_mode(const struct zpa_machine *m)
{
	return m->compact ? READ_ONCE(m->compact->mode) : ZPA_DAEMON_INLINE;
}

/* kcompactd_work_requested() minus the stop request.  kc->lock held. */
static inline bool kcompactd_work_requested(const pg_data_t *pgdat)
{
	return pgdat->kcompactd_max_order > 0 || pgdat->proactive_compact_trigger;
}

static inline int node_last_zone(const pg_data_t *pgdat)
{
	return (int)pgdat->nr_zones - 1;
}

/* kcompactd_node_suitable(): some zone up to the requested index could use compaction for the order. */
static bool kcompactd_node_suitable(struct zpa_machine *m, pg_data_t *pgdat)
{
	struct kcompactd *kc = pgdat->kcompactd;
	zpa_spin_lock(&kc->lock);
	int order = pgdat->kcompactd_max_order, highest = pgdat->kcompactd_highest_zoneidx;
	zpa_spin_unlock(&kc->lock);
	for (int zi = 0; zi <= highest && zi < (int)m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (populated_zone(z) && compaction_suitable(m, z, order, 0, highest) == COMPACT_CONTINUE)
			return true;
	}
	return false;
}

static bool kcompactd_should_stop(struct kcompactd *kc)
{
#ifndef ZPA_NO_THREADS
	return atomic_load_explicit(&kc->stop, memory_order_relaxed);
#else
	(void)kc;
	return false;
#endif
}

/* kcompactd_do_work(): compact each suitable zone for the requested order.  Returns pages migrated. */
static unsigned long kcompactd_do_work(struct zpa_machine *m, pg_data_t *pgdat)
{
	struct kcompactd *kc = pgdat->kcompactd;
	zpa_spin_lock(&kc->lock);
	struct compact_control cc = {
		.m = m,
		.order = pgdat->kcompactd_max_order,
		.highest_zoneidx = pgdat->kcompactd_highest_zoneidx,
		.mode = MIGRATE_SYNC_LIGHT,
		.gfp_mask = ZPA_GFP_KERNEL,
	};
	zpa_spin_unlock(&kc->lock);
	count_vm_event(m, KCOMPACTD_WAKE, 1);

	for (int zi = 0; zi <= cc.highest_zoneidx && zi < (int)m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (!populated_zone(z))
			continue;
		if (compaction_deferred(z, cc.order))
			continue;
		if (compaction_suitable(m, z, cc.order, 0, zi) != COMPACT_CONTINUE)
			continue;
		if (kcompactd_should_stop(kc))
			return cc.nr_migrated;
		cc.zone = z;
		enum compact_result status = compact_zone(&cc, NULL);
		if (status == COMPACT_SUCCESS) {
			compaction_defer_reset(z, cc.order, false);
		} else if (status == COMPACT_PARTIAL_SKIPPED || status == COMPACT_COMPLETE) {
			/* Free pages stranded on per-CPU lists may complete a block: give them back. */
			zpa_drain_all_pages(m);
			/* A sync run failed: defer like sync direct compaction. */
			defer_compaction(z, cc.order);
		}
		count_vm_event(m, KCOMPACTD_MIGRATE_SCANNED, cc.total_migrate_scanned);
		count_vm_event(m, KCOMPACTD_FREE_SCANNED, cc.total_free_scanned);
	}
	/* Done until woken again, but keep a request that came in meanwhile for more. */
	zpa_spin_lock(&kc->lock);
	if (pgdat->kcompactd_max_order <= cc.order)
		pgdat->kcompactd_max_order = 0;
	if (pgdat->kcompactd_highest_zoneidx >= cc.highest_zoneidx)
		pgdat->kcompactd_highest_zoneidx = node_last_zone(pgdat);
	zpa_spin_unlock(&kc->lock);
	return cc.nr_migrated;
}

/*
 * The proactive half of one kcompactd round (its timeout expired, or the
 * sysctl trigger): compact the node if its score is above the high mark.
 * Returns pages migrated; *timeout_ms gets the next sleep.
 */
static unsigned long kcompactd_proactive_round(struct zpa_machine *m, pg_data_t *pgdat, uint64_t *timeout_ms)
{
	struct kcompactd *kc = pgdat->kcompactd;
	unsigned long pages = 0;
	*timeout_ms = HPAGE_FRAG_CHECK_INTERVAL_MSEC;
	if (should_proactive_compact_node(m, pgdat)) {
		unsigned prev_score = fragmentation_score_node(m, pgdat);
		pages = proactive_compact_node(m, pgdat);
		/* No progress: back off for 64 intervals. */
		if (fragmentation_score_node(m, pgdat) >= prev_score)
			*timeout_ms = HPAGE_FRAG_CHECK_INTERVAL_MSEC << COMPACT_MAX_DEFER_SHIFT;
	}
	zpa_spin_lock(&kc->lock);
	pgdat->proactive_compact_trigger = false;
	zpa_spin_unlock(&kc->lock);
	return pages;
}

/* The length of the next sleep: none while proactive compaction is off. */
static inline uint64_t kcompactd_sleep_len(const struct zpa_machine *m, uint64_t timeout_ms)
{
	return READ_ONCE(m->t.compaction_proactiveness) ? timeout_ms : KCOMPACTD_NO_DEADLINE;
}

/* ---- INLINE mode ---- */

/* Set while this thread runs some node's inline kcompactd work: no nesting. */
static __thread bool in_inline_kcompactd;

static void kcompactd_run_inline(struct zpa_machine *m, pg_data_t *pgdat)
{
	struct kcompactd *kc = pgdat->kcompactd;
	if (in_inline_kcompactd)
		return;
	zpa_spin_lock(&kc->lock);
	if (kc->running) {
		zpa_spin_unlock(&kc->lock);
		return; /* the runner picks our request up before it stops */
	}
	kc->running = true;
	in_inline_kcompactd = true;
	for (;;) {
		bool requested = kcompactd_work_requested(pgdat), trigger = pgdat->proactive_compact_trigger;
		if (!requested) {
			kc->running = false;
			zpa_spin_unlock(&kc->lock);
			break;
		}
		zpa_spin_unlock(&kc->lock);
		if (trigger) {
			uint64_t timeout;
			kcompactd_proactive_round(m, pgdat, &timeout);
		} else {
			kcompactd_do_work(m, pgdat);
		}
		zpa_spin_lock(&kc->lock);
	}
	in_inline_kcompactd = false;
}

/* ---- THREAD mode ---- */

#ifndef ZPA_NO_THREADS
static void kcompactd_thread(void *arg)
{
	struct kcompactd *kc = arg;
	struct zpa_machine *m = kc->m;
	pg_data_t *pgdat = kc->pgdat;
	uint64_t timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC;

	for (;;) {
		uint64_t len = kcompactd_sleep_len(m, timeout);
		uint64_t deadline = len == KCOMPACTD_NO_DEADLINE ? KCOMPACTD_NO_DEADLINE : machine_now_ms(m) + len;
		bool requested, trigger;
		/* wait_event_timeout(kcompactd_work_requested()): a request ends the sleep, or its timeout. */
		zpa_port_event_lock(kc->event);
		for (;;) {
			zpa_spin_lock(&kc->lock);
			requested = kcompactd_work_requested(pgdat);
			trigger = pgdat->proactive_compact_trigger;
			zpa_spin_unlock(&kc->lock);
			if (requested || atomic_load(&kc->stop))
				break;
			if (deadline == KCOMPACTD_NO_DEADLINE) {
				zpa_port_event_wait(kc->event, -1);
				continue;
			}
			uint64_t now = machine_now_ms(m);
			if (now >= deadline)
				break;
			zpa_port_event_wait(kc->event, (long)(deadline - now));
		}
		zpa_port_event_unlock(kc->event);
		if (atomic_load(&kc->stop))
			break;
		if (requested && !trigger) {
			kcompactd_do_work(m, pgdat);
			timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC;
			continue;
		}
		kcompactd_proactive_round(m, pgdat, &timeout);
	}
}

static void kcompactd_kick_thread(struct kcompactd *kc)
{
	zpa_port_event_lock(kc->event);
	zpa_port_event_signal(kc->event);
	zpa_port_event_unlock(kc->event);
}

static void kcompactd_stop_threads(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kcompactd *kc = m->nodes[n] ? m->nodes[n]->kcompactd : NULL;
		if (!kc || !kc->thread)
			continue;
		atomic_store(&kc->stop, true);
		kcompactd_kick_thread(kc);
	}
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kcompactd *kc = m->nodes[n] ? m->nodes[n]->kcompactd : NULL;
		if (!kc || !kc->thread)
			continue;
		zpa_port_thread_join(kc->thread);
		kc->thread = NULL;
		atomic_store(&kc->stop, false);
	}
}

static int kcompactd_start_threads(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		struct kcompactd *kc = m->nodes[n] ? m->nodes[n]->kcompactd : NULL;
		if (!kc || kc->thread)
			continue;
		if (zpa_port_thread_create(&kc->thread, kcompactd_thread, kc)) {
			kc->thread = NULL;
			kcompactd_stop_threads(m);
			return ZPA_ENOMEM;
		}
	}
	return 0;
}
#else
static inline void kcompactd_kick_thread(struct kcompactd *kc) { (void)kc; }
static inline void kcompactd_stop_threads(struct zpa_machine *m) { (void)m; }
static inline int kcompactd_start_threads(struct zpa_machine *m)
{
	(void)m;
	return ZPA_EINVAL;
}
#endif

/* ---- MANUAL mode ---- */

/* Start a sleep at time t (kc->lock held): a pending request wakes it at once. */
static void kcompactd_manual_sleep(struct zpa_machine *m, struct kcompactd *kc, uint64_t t, uint64_t timeout_ms)
{
	uint64_t len = kcompactd_sleep_len(m, timeout_ms);
	kc->deadline_ms = len == KCOMPACTD_NO_DEADLINE ? KCOMPACTD_NO_DEADLINE : t + len;
	if (kcompactd_work_requested(kc->pgdat) && !kc->woken) {
		kc->woken = true;
		kc->wake_ms = t;
	}
}

/* A wakeup in MANUAL mode: noted with the simulated time, served by kcompactd_step(). */
static void kcompactd_manual_wake(struct zpa_machine *m, struct kcompactd *kc)
{
	uint64_t now = machine_now_ms(m);
	zpa_spin_lock(&kc->lock);
	if (!kc->woken || now < kc->wake_ms) {
		kc->woken = true;
		kc->wake_ms = now;
	}
	zpa_spin_unlock(&kc->lock);
}

uint64_t kcompactd_step(struct zpa_machine *m, pg_data_t *pgdat, uint64_t now_ms)
{
	struct kcompactd *kc = pgdat ? pgdat->kcompactd : NULL;
	uint64_t pages = 0;
	if (!kc)
		return 0;
	for (;;) {
		uint64_t t, timeout = HPAGE_FRAG_CHECK_INTERVAL_MSEC;
		bool timed_out;
		zpa_spin_lock(&kc->lock);
		/* The earliest event due: a wakeup, or the end of the sleep. */
		if (kc->woken && kc->wake_ms <= now_ms &&
		    (kc->deadline_ms == KCOMPACTD_NO_DEADLINE || kc->wake_ms <= kc->deadline_ms)) {
			t = kc->wake_ms;
			kc->woken = false;
			timed_out = false;
		} else if (kc->deadline_ms != KCOMPACTD_NO_DEADLINE && kc->deadline_ms <= now_ms) {
			t = kc->deadline_ms;
			timed_out = true;
		} else {
			zpa_spin_unlock(&kc->lock);
			break;
		}
		bool requested = kcompactd_work_requested(pgdat), trigger = pgdat->proactive_compact_trigger;
		zpa_spin_unlock(&kc->lock);
		/* A wakeup without work leaves the sleep as it was. */
		if (!timed_out && !requested)
			continue;
		if (requested && !trigger) {
			pages += kcompactd_do_work(m, pgdat);
		} else if (!trigger && !should_proactive_compact_node(m, pgdat)) {
			/*
			 * An idle timeout: nothing changes until the next event, so
			 * the ticks up to now_ms would all find the same; take them
			 * at once.
			 */
			zpa_spin_lock(&kc->lock);
			uint64_t len = kcompactd_sleep_len(m, timeout);
			if (len == KCOMPACTD_NO_DEADLINE) {
				kcompactd_manual_sleep(m, kc, t, timeout);
			} else {
				uint64_t ticks = (now_ms - t) / len + 1;
				uint64_t next = t + ticks * len;
				/* ...but not past a pending wakeup, which must see its own tick order. */
				if (kc->woken && kc->wake_ms < next)
					next = t + ((kc->wake_ms - t) / len + 1) * len;
				kc->deadline_ms = next;
			}
			zpa_spin_unlock(&kc->lock);
			continue;
		} else {
			pages += kcompactd_proactive_round(m, pgdat, &timeout);
		}
		zpa_spin_lock(&kc->lock);
		kcompactd_manual_sleep(m, kc, t, timeout);
		zpa_spin_unlock(&kc->lock);
	}
	return pages;
}

/* ---- wakeups, mode changes, setup ---- */

void wakeup_kcompactd(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	struct kcompactd *kc = pgdat ? pgdat->kcompactd : NULL;
	if (!order || !kc)
		return;
	zpa_spin_lock(&kc->lock);
	if (pgdat->kcompactd_max_order < order)
		pgdat->kcompactd_max_order = order;
	if (pgdat->kcompactd_highest_zoneidx > highest_zoneidx)
		pgdat->kcompactd_highest_zoneidx = highest_zoneidx;
	zpa_spin_unlock(&kc->lock);
	/* Only a node where compaction could help is woken; the request waits otherwise. */
	if (!kcompactd_node_suitable(m, pgdat))
		return;
	switch (kcompactd_mode(m)) {
	case ZPA_DAEMON_THREAD:
		kcompactd_kick_thread(kc);
		break;
	case ZPA_DAEMON_MANUAL:
		kcompactd_manual_wake(m, kc);
		break;
	default:
		kcompactd_run_inline(m, pgdat);
		break;
	}
}

void kcompactd_proactive_trigger(struct zpa_machine *m)
{
	if (!m->compact || !READ_ONCE(m->t.compaction_proactiveness))
		return;
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		struct kcompactd *kc = pgdat ? pgdat->kcompactd : NULL;
		if (!kc)
			continue;
		zpa_spin_lock(&kc->lock);
		bool already = pgdat->proactive_compact_trigger;
		pgdat->proactive_compact_trigger = true;
		zpa_spin_unlock(&kc->lock);
		if (already)
			continue;
		if (kcompactd_mode(m) == ZPA_DAEMON_THREAD)
			kcompactd_kick_thread(kc);
		else if (kcompactd_mode(m) == ZPA_DAEMON_MANUAL)
			kcompactd_manual_wake(m, kc);
	}
}

int kcompactd_mode_changed(struct zpa_machine *m)
{
	struct compact_state *cs = m->compact;
	if (!cs)
		return 0;
	int mode = READ_ONCE(m->daemon_mode), old = cs->mode;
	if (mode == old)
		return 0;
	if (old == ZPA_DAEMON_THREAD)
		kcompactd_stop_threads(m);
	if (mode == ZPA_DAEMON_MANUAL) {
		/* The daemons fall asleep now on the simulated clock. */
		uint64_t now = machine_now_ms(m);
		for (unsigned n = 0; n < m->nr_nodes; n++) {
			struct kcompactd *kc = m->nodes[n] ? m->nodes[n]->kcompactd : NULL;
			if (!kc)
				continue;
			zpa_spin_lock(&kc->lock);
			kc->woken = false;
			kcompactd_manual_sleep(m, kc, now, HPAGE_FRAG_CHECK_INTERVAL_MSEC);
			zpa_spin_unlock(&kc->lock);
		}
	}
	WRITE_ONCE(cs->mode, mode);
	if (mode == ZPA_DAEMON_THREAD) {
		int err = kcompactd_start_threads(m);
		if (err) {
			WRITE_ONCE(cs->mode, ZPA_DAEMON_INLINE);
			return err;
		}
	}
	return 0;
}

int compaction_init(struct zpa_machine *m)
{
	struct compact_state *cs = zpa_port_zalloc(sizeof(*cs));
	if (!cs)
		return ZPA_ENOMEM;
	cs->mode = ZPA_DAEMON_INLINE;
	m->compact = cs;
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		/* Scanners start at the zone ends; nothing deferred. */
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			if (!z->spanned_pages)
				continue;
			z->compact_init_migrate_pfn = z->zone_start_pfn;
			z->compact_init_free_pfn = pageblock_start_pfn(m, zone_end_pfn(z) - 1);
			reset_cached_positions(m, z);
			z->compact_considered = 0;
			z->compact_defer_shift = 0;
			z->compact_order_failed = 0;
		}
		struct kcompactd *kc = zpa_port_zalloc(sizeof(*kc));
		if (!kc)
			return ZPA_ENOMEM;
		kc->m = m;
		kc->pgdat = pgdat;
		zpa_spin_lock_init(&kc->lock);
		kc->deadline_ms = KCOMPACTD_NO_DEADLINE;
		pgdat->kcompactd = kc;
#ifndef ZPA_NO_THREADS
		kc->event = zpa_port_event_create();
		if (!kc->event)
			return ZPA_ENOMEM;
#endif
		pgdat->kcompactd_max_order = 0;
		pgdat->kcompactd_highest_zoneidx = node_last_zone(pgdat);
		pgdat->proactive_compact_trigger = false;
	}
	return kcompactd_mode_changed(m);
}

void compaction_destroy(struct zpa_machine *m)
{
	if (!m->compact)
		return;
	kcompactd_stop_threads(m);
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat || !pgdat->kcompactd)
			continue;
#ifndef ZPA_NO_THREADS
		if (pgdat->kcompactd->event)
			zpa_port_event_destroy(pgdat->kcompactd->event);
#endif
		zpa_port_free(pgdat->kcompactd);
		pgdat->kcompactd = NULL;
	}
	zpa_port_free(m->compact);
	m->compact = NULL;
}
