/*
 * buddy.c - the binary buddy system of one zone: free lists, splitting
 * (__rmqueue_smallest + expand), merging (__free_one_page), and falling back
 * to other migratetypes (__rmqueue_fallback) as Linux 6.1 does.
 *
 * Invariants (checked by zpa_check()):
 *   - A free block of order k starts at a 2^k-aligned pfn inside one zone; its
 *     first page has PG_buddy, order k and the migratetype of the list it is
 *     on; its other pages have no PG_buddy.  Its buddy is pfn ^ (1 << k).
 *   - Two free buddies of the same order are always merged, unless the order
 *     is at or above pageblock_order and one side's pageblock type may not mix
 *     (isolate, CMA, highatomic): migratetype_is_mergeable().
 *   - NR_FREE_PAGES counts the pages on every list except MIGRATE_ISOLATE's.
 *   - Lists are doubly linked through node-local page indexes; head/tail in the
 *     free_list hold the ends.
 *
 * Every function here runs with the zone lock held (or during setup, before
 * the machine is visible to other threads).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

/* ---- pageblock migratetype bits: a nibble per pageblock ---- */

void set_pageblock_migratetype(struct zone *z, unsigned long pfn, int mt)
{
	WRITE_ONCE(z->pageblock_flags[(pfn >> z->pageblock_shift) - z->pb_base], (uint8_t)mt);
}

/* ---- free lists ---- */

static inline struct zpa_page *idx_page(const struct zone *z, uint32_t idx)
{
	return &z->mem_map[idx];
}

static inline void set_buddy_order(struct zpa_page *p, unsigned order, int mt)
{
	WRITE_ONCE(p->flags, (p->flags & ~(PG_ORDER_MASK | PG_MT_MASK)) | PG_buddy | order | ((uint32_t)mt << PG_MT_SHIFT));
}

static inline int buddy_list_mt(const struct zpa_page *p)
{
	return (int)((p->flags & PG_MT_MASK) >> PG_MT_SHIFT);
}

/* Put a free block on free_area[order].free_list[mt] (head or tail). */
void add_to_free_list(struct zone *z, struct zpa_page *page, unsigned order, int mt, bool tail)
{
	struct free_area *area = &z->free_area[order];
	struct free_list *fl = &area->free_list[mt];
	uint32_t idx = page_index(z, page);

	set_buddy_order(page, order, mt);
	if (fl->head == ZPA_NIL) {
		page->next = page->prev = ZPA_NIL;
		WRITE_ONCE(fl->head, idx);
		fl->tail = idx;
	} else if (tail) {
		page->prev = fl->tail;
		page->next = ZPA_NIL;
		idx_page(z, fl->tail)->next = idx;
		fl->tail = idx;
	} else {
		page->next = fl->head;
		page->prev = ZPA_NIL;
		idx_page(z, fl->head)->prev = idx;
		WRITE_ONCE(fl->head, idx);
	}
	WRITE_ONCE(area->nr_free, area->nr_free + 1);
}

static void unlink_from_list(struct zone *z, struct free_list *fl, struct zpa_page *page)
{
	if (page->prev == ZPA_NIL)
		WRITE_ONCE(fl->head, page->next);
	else
		idx_page(z, page->prev)->next = page->next;
	if (page->next == ZPA_NIL)
		fl->tail = page->prev;
	else
		idx_page(z, page->next)->prev = page->prev;
	page->next = page->prev = ZPA_NIL;
}

/* Take a free block off its list and clear its buddy marking. */
void del_page_from_free_list(struct zone *z, struct zpa_page *page, unsigned order)
{
	struct free_area *area = &z->free_area[order];
	unlink_from_list(z, &area->free_list[buddy_list_mt(page)], page);
	WRITE_ONCE(page->flags, page->flags & ~(PG_buddy | PG_ORDER_MASK | PG_MT_MASK));
	WRITE_ONCE(area->nr_free, area->nr_free - 1);
}

/* move_to_free_list(): a free block changes list; Linux moves it to the tail. */
static void move_to_free_list(struct zone *z, struct zpa_page *page, unsigned order, int mt)
{
	struct free_area *area = &z->free_area[order];
	unlink_from_list(z, &area->free_list[buddy_list_mt(page)], page);
	WRITE_ONCE(area->nr_free, area->nr_free - 1);
	add_to_free_list(z, page, order, mt, true);
}

static inline struct zpa_page *get_page_from_free_area(struct zone *z, struct free_area *area, int mt)
{
	uint32_t h = area->free_list[mt].head;
	return h == ZPA_NIL ? NULL : idx_page(z, h);
}

static inline bool free_area_empty(const struct free_area *area, int mt)
{
	return READ_ONCE(area->free_list[mt].head) == ZPA_NIL;
}

static inline bool is_migrate_isolate(int mt) { return mt == ZPA_MIGRATE_ISOLATE; }
static inline bool is_migrate_cma(int mt) { return mt == ZPA_MIGRATE_CMA; }

/* __mod_zone_freepage_state(): isolated pages are not counted as free. */
static inline void mod_zone_freepage_state(struct zone *z, long nr, int mt)
{
	if (is_migrate_isolate(mt))
		return;
	__mod_zone_page_state(z, NR_FREE_PAGES, nr);
	if (is_migrate_cma(mt))
		__mod_zone_page_state(z, NR_FREE_CMA_PAGES, nr);
}

/* The PCP types merge freely; isolate, CMA and highatomic blocks keep apart. */
static inline bool migratetype_is_mergeable(int mt) { return mt < ZPA_MIGRATE_PCPTYPES; }

/*
 * The free buddy of the block at pfn/order, or NULL.  A buddy qualifies when
 * it lies in the same zone, is the first page of a free block (PG_buddy) and
 * has the same order (Linux's page_is_buddy()).
 */
static inline struct zpa_page *find_buddy_page_pfn(struct zone *z, unsigned long pfn, unsigned order,
						   unsigned long *buddy_pfn)
{
	unsigned long bpfn = pfn ^ (1ul << order);
	if (buddy_pfn)
		*buddy_pfn = bpfn;
	if (!zone_spans_pfn(z, bpfn))
		return NULL;
	struct zpa_page *buddy = pfn_to_page_nid(z->zone_pgdat, bpfn);
	uint32_t f = READ_ONCE(buddy->flags); /* may be a page in use, changing */
	if (!(f & PG_buddy) || (f & PG_ORDER_MASK) != order)
		return NULL;
	return buddy;
}

/*
 * buddy_merge_likely(): if the block's would-be parent has a free buddy, the
 * block will probably merge soon, so Linux queues it at the tail of its list
 * to give it time (and allocates from the head).
 */
static bool buddy_merge_likely(struct zpa_machine *m, struct zone *z, unsigned long pfn,
			       unsigned long buddy_pfn, unsigned order)
{
	if (order >= m->max_order - 2)
		return false;
	unsigned long higher = buddy_pfn & pfn;
	return find_buddy_page_pfn(z, higher, order + 1, NULL) != NULL;
}

/*
 * __free_one_page(): put 2^order pages at pfn back, merging with free buddies
 * as far as possible.  Zone lock held.  to_tail queues the merged block at the
 * tail of its list (FPI_TO_TAIL); otherwise the merge heuristic decides.
 */
void __free_one_page(struct zpa_machine *m, struct zone *z, unsigned long pfn, unsigned order, int mt,
		     bool to_tail)
{
	unsigned long buddy_pfn = 0;

	assert_zone_locked(m, z);
	ZPA_ASSERT(m, !(pfn & ((1ul << order) - 1)));
	ZPA_ASSERT(m, zone_spans_pfn(z, pfn));
	mod_zone_freepage_state(z, 1l << order, mt);

	while (order < m->max_order - 1) {
		struct zpa_page *buddy = find_buddy_page_pfn(z, pfn, order, &buddy_pfn);
		if (!buddy)
			break;
		if (unlikely(order >= m->pageblock_order)) {
			/* Keep isolated/CMA/highatomic pageblocks from mixing with others. */
			int buddy_mt = get_pageblock_migratetype(z, buddy_pfn);
			if (mt != buddy_mt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddy_mt)))
				break;
		}
		del_page_from_free_list(z, buddy, order);
		pfn &= buddy_pfn;
		order++;
	}

	struct zpa_page *page = pfn_to_page_nid(z->zone_pgdat, pfn);
	bool tail;
	if (to_tail)
		tail = true;
	else if (unlikely(m->cfg.shuffle) && order >= m->max_order - 1)
		tail = shuffle_pick_tail(m);
	else
		tail = !m->cfg.no_merge_to_tail && buddy_merge_likely(m, z, pfn, buddy_pfn, order);
	add_to_free_list(z, page, order, mt, tail);
}

/*
 * expand(): split a block of order high, keeping the first 2^low pages for the
 * caller and giving each upper half back to the free lists of type mt.
 */
static inline void expand(struct zone *z, struct zpa_page *page, unsigned low, unsigned high, int mt)
{
	unsigned long size = 1ul << high;
	while (high > low) {
		high--;
		size >>= 1;
		add_to_free_list(z, &page[size], high, mt, false);
	}
}

/*
 * __rmqueue_smallest(): the smallest free block of type mt that fits order,
 * split down to order.  Returns its first page (no longer PG_buddy) or NULL.
 * The page's PG_MT bits record mt, the list it came from (Linux's
 * set_pcppage_migratetype), for the free-page accounting of the caller.
 */
struct zpa_page *__rmqueue_smallest(struct zone *z, unsigned order, int mt)
{
	for (unsigned current_order = order; current_order < z->max_order; ++current_order) {
		struct free_area *area = &z->free_area[current_order];
		struct zpa_page *page = get_page_from_free_area(z, area, mt);
		if (!page)
			continue;
		del_page_from_free_list(z, page, current_order);
		expand(z, page, order, current_order, mt);
		WRITE_ONCE(page->flags, (page->flags & ~PG_MT_MASK) | ((uint32_t)mt << PG_MT_SHIFT));
		return page;
	}
	return NULL;
}

/*
 * __rmqueue_smallest_bulk(): up to `count` blocks of `order` and type mt, as
 * `count` successive __rmqueue_smallest() calls would hand them out, stored
 * in out[].  When __rmqueue_smallest takes a block of order k, every list of
 * type mt below k is empty, so the calls that follow keep splitting that same
 * block from its low end: they return its first blocks in address order and
 * leave the rest as the aligned blocks of its binary decomposition, each
 * alone on its list.  This does that directly, with the same final state.
 * Returns the number of blocks taken (fewer when mt runs out).  Zone lock held.
 */
int __rmqueue_smallest_bulk(struct zone *z, unsigned order, int mt, int count, struct zpa_page **out)
{
	int got = 0;
	while (got < count) {
		unsigned k;
		struct zpa_page *block = NULL;
		for (k = order; k < z->max_order; k++) {
			block = get_page_from_free_area(z, &z->free_area[k], mt);
			if (block)
				break;
		}
		if (!block)
			break;
		del_page_from_free_list(z, block, k);
		unsigned long per = 1ul << order, size = 1ul << k;
		unsigned long take = (unsigned long)(count - got);
		if (take > size / per)
			take = size / per;
		for (unsigned long i = 0; i < take; i++) {
			struct zpa_page *p = block + i * per;
			WRITE_ONCE(p->flags, (p->flags & ~PG_MT_MASK) | ((uint32_t)mt << PG_MT_SHIFT));
			out[got++] = p;
		}
		/* What is left, [take * per, size), as aligned blocks of rising order. */
		unsigned long off = take * per;
		for (unsigned j = order; off < size && j < k; j++) {
			if (off & (1ul << j)) {
				add_to_free_list(z, block + off, j, mt, false);
				off += 1ul << j;
			}
		}
	}
	return got;
}

/* ---- fallback to other migratetypes (Linux 6.1's __rmqueue_fallback) ---- */

/* Which types each type may borrow from, in order of preference. */
static const int fallbacks[ZPA_MIGRATE_PCPTYPES][2] = {
	[ZPA_MIGRATE_UNMOVABLE] = { ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_MOVABLE },
	[ZPA_MIGRATE_MOVABLE] = { ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_UNMOVABLE },
	[ZPA_MIGRATE_RECLAIMABLE] = { ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_MOVABLE },
};

/*
 * can_steal_fallback(): whether taking a block of this order for start_mt
 * should also claim the rest of its pageblock.  Large requests always do;
 * unmovable and reclaimable ones do too, since leaving their pages scattered
 * through movable pageblocks is what fragments memory.
 */
static bool can_steal_fallback(const struct zpa_machine *m, unsigned order, int start_mt)
{
	if (order >= m->pageblock_order)
		return true;
	return order >= m->pageblock_order / 2 || start_mt == ZPA_MIGRATE_RECLAIMABLE ||
	       start_mt == ZPA_MIGRATE_UNMOVABLE || m->t.page_group_by_mobility_disabled;
}

/* find_suitable_fallback(): the first fallback type with a free block at this order. */
static int find_suitable_fallback(const struct zpa_machine *m, const struct free_area *area, unsigned order,
				  int mt, bool only_stealable, bool *can_steal)
{
	if (area->nr_free == 0 || mt >= ZPA_MIGRATE_PCPTYPES)
		return -1;
	*can_steal = false;
	for (int i = 0; i < 2; i++) {
		int fmt = fallbacks[mt][i];
		if (free_area_empty(area, fmt))
			continue;
		if (can_steal_fallback(m, order, mt))
			*can_steal = true;
		if (!only_stealable || *can_steal)
			return fmt;
	}
	return -1;
}

/*
 * move_freepages_block(): move every free block of the pageblock holding pfn
 * to type mt's lists; count the allocated pages that look movable.  Returns
 * the free pages moved, 0 if the pageblock sticks out of the zone.
 */
int move_freepages_block(struct zone *z, unsigned long pfn, unsigned long pageblock_nr_pages, int mt,
				int *num_movable)
{
	unsigned long start = pfn & ~(pageblock_nr_pages - 1);
	unsigned long end = start + pageblock_nr_pages - 1;
	int moved = 0;

	*num_movable = 0;
	if (!zone_spans_pfn(z, start))
		start = pfn;
	if (!zone_spans_pfn(z, end))
		return 0;
	for (unsigned long p = start; p <= end;) {
		struct zpa_page *page = pfn_to_page_nid(z->zone_pgdat, p);
		uint32_t f = READ_ONCE(page->flags); /* pages in use change under us */
		if (!(f & PG_buddy)) {
			if (f & PG_lru)
				(*num_movable)++;
			p++;
			continue;
		}
		unsigned order = page_order(page);
		move_to_free_list(z, page, order, mt);
		p += 1ul << order;
		moved += 1 << order;
	}
	return moved;
}

/*
 * boost_watermark(): a fragmenting fallback raises the zone's watermarks by
 * a pageblock, up to watermark_boost_factor/10000 of the high watermark (at
 * least one pageblock), so that kswapd reclaims and compacts before more
 * mixing happens.  Not for zones smaller than four pageblocks.  Zone lock held.
 */
bool boost_watermark(struct zpa_machine *m, struct zone *z)
{
	if (!m->t.watermark_boost_factor)
		return false;
	if (m->pageblock_nr_pages * 4 > z->managed_pages)
		return false;
	unsigned long max_boost = (unsigned long)((uint64_t)READ_ONCE(z->_watermark[WMARK_HIGH]) *
						   (uint64_t)m->t.watermark_boost_factor / 10000);
	if (!max_boost)
		return false;
	if (max_boost < m->pageblock_nr_pages)
		max_boost = m->pageblock_nr_pages;
	unsigned long boost = READ_ONCE(z->watermark_boost) + m->pageblock_nr_pages;
	WRITE_ONCE(z->watermark_boost, boost < max_boost ? boost : max_boost);
	return true;
}

/*
 * reserve_highatomic_pageblock(): after a high-order atomic allocation, keep
 * its pageblock for such requests (MIGRATE_HIGHATOMIC), up to about 1% of
 * the zone plus one pageblock.  Only pageblocks of a mergeable type qualify.
 */
void reserve_highatomic_pageblock(struct zpa_machine *m, struct zone *z, unsigned long pfn)
{
	unsigned long max_managed = z->managed_pages / 100 + m->pageblock_nr_pages;
	int moved;
	if (READ_ONCE(z->nr_reserved_highatomic) >= max_managed)
		return;
	zpa_spin_lock(&z->lock);
	if (z->nr_reserved_highatomic < max_managed) {
		int mt = get_pageblock_migratetype(z, pfn);
		if (migratetype_is_mergeable(mt)) {
			WRITE_ONCE(z->nr_reserved_highatomic, z->nr_reserved_highatomic + m->pageblock_nr_pages);
			set_pageblock_migratetype(z, pfn, ZPA_MIGRATE_HIGHATOMIC);
			move_freepages_block(z, pfn, m->pageblock_nr_pages, ZPA_MIGRATE_HIGHATOMIC, &moved);
		}
	}
	zpa_spin_unlock(&z->lock);
}

/*
 * unreserve_highatomic_pageblock(): under memory pressure give one reserved
 * pageblock back to the requester's type (always, when force; else only
 * zones holding more than one reserved pageblock).  True if free pages moved.
 */
bool unreserve_highatomic_pageblock(struct zpa_machine *m, const struct alloc_context *ac, bool force)
{
	for (struct zoneref *zr = ac->zonelist->zonerefs; zr->zone; zr++) {
		struct zone *z = zr->zone;
		if (zr->zone_idx > ac->highest_zoneidx || !zpa_node_isset(ac->nodemask, z->zone_pgdat->node_id))
			continue;
		if (!force && READ_ONCE(z->nr_reserved_highatomic) <= m->pageblock_nr_pages)
			continue;
		zpa_spin_lock(&z->lock);
		for (unsigned order = 0; order < m->max_order; order++) {
			struct zpa_page *page = get_page_from_free_area(z, &z->free_area[order], ZPA_MIGRATE_HIGHATOMIC);
			if (!page)
				continue;
			unsigned long pfn = page_to_pfn(z, page);
			/* A block taken from the reserve for another type may still sit
			 * on the list; only a reserved pageblock lowers the count. */
			if (get_pageblock_migratetype(z, pfn) == ZPA_MIGRATE_HIGHATOMIC) {
				unsigned long n = z->nr_reserved_highatomic;
				WRITE_ONCE(z->nr_reserved_highatomic, n - (n < m->pageblock_nr_pages ? n : m->pageblock_nr_pages));
			}
			set_pageblock_migratetype(z, pfn, ac->migratetype);
			int movable;
			int moved = move_freepages_block(z, pfn, m->pageblock_nr_pages, ac->migratetype, &movable);
			if (moved) {
				zpa_spin_unlock(&z->lock);
				return true;
			}
		}
		zpa_spin_unlock(&z->lock);
	}
	return false;
}

/*
 * steal_suitable_fallback(): having picked a free block of another type,
 * decide whether its whole pageblock changes owner: it does when at least
 * half of the pageblock is free or already used by compatible pages.
 */
static void steal_suitable_fallback(struct zpa_machine *m, struct zone *z, struct zpa_page *page,
				    unsigned alloc_flags, int start_type, bool whole_block)
{
	unsigned current_order = page_order(page);
	unsigned long pfn = page_to_pfn(z, page);
	int old_block_type = get_pageblock_migratetype(z, pfn);
	int free_pages, movable_pages, alike_pages;

	if (old_block_type == ZPA_MIGRATE_HIGHATOMIC)
		goto single_page;
	if (current_order >= m->pageblock_order) {
		/* change_pageblock_range(): the block covers whole pageblocks. */
		for (unsigned long i = 0; i < (1ul << (current_order - m->pageblock_order)); i++)
			set_pageblock_migratetype(z, pfn + i * m->pageblock_nr_pages, start_type);
		goto single_page;
	}
	/* A fallback that will mix pageblock types: ask kswapd (via the boost)
	 * to free memory so the next request need not fragment. */
	if (boost_watermark(m, z) && (alloc_flags & ALLOC_KSWAPD))
		WRITE_ONCE(z->flags, z->flags | ZONE_BOOSTED_WATERMARK);
	if (!whole_block)
		goto single_page;

	free_pages = move_freepages_block(z, pfn, m->pageblock_nr_pages, start_type, &movable_pages);
	if (start_type == ZPA_MIGRATE_MOVABLE)
		alike_pages = movable_pages;
	else if (old_block_type == ZPA_MIGRATE_MOVABLE)
		alike_pages = (int)m->pageblock_nr_pages - (free_pages + movable_pages);
	else
		alike_pages = 0;
	if (!free_pages)
		goto single_page;
	if (free_pages + alike_pages >= (1 << (m->pageblock_order - 1)) || m->t.page_group_by_mobility_disabled)
		set_pageblock_migratetype(z, pfn, start_type);
	return;

single_page:
	move_to_free_list(z, page, current_order, start_type);
}

/*
 * __rmqueue_fallback(): no block of the wanted type is free; borrow one of
 * another type.  Unless told to avoid fragmentation (ALLOC_NOFRAGMENT, which
 * only takes whole pageblocks), the largest free block is taken first so the
 * borrowed pageblock can be claimed whole; a movable request that may not
 * claim it takes the smallest instead.  Returns true when a block was moved
 * to start_mt's lists (the caller retries __rmqueue_smallest).
 */
static bool __rmqueue_fallback(struct zpa_machine *m, struct zone *z, unsigned order, int start_mt,
			       unsigned alloc_flags)
{
	int current_order, min_order = (int)order, fallback_mt = -1;
	bool can_steal = false;
	struct free_area *area = NULL;

	if (order < m->pageblock_order && (alloc_flags & ALLOC_NOFRAGMENT))
		min_order = (int)m->pageblock_order;

	for (current_order = (int)m->max_order - 1; current_order >= min_order; --current_order) {
		area = &z->free_area[current_order];
		fallback_mt = find_suitable_fallback(m, area, (unsigned)current_order, start_mt, false, &can_steal);
		if (fallback_mt == -1)
			continue;
		if (!can_steal && start_mt == ZPA_MIGRATE_MOVABLE && current_order > (int)order)
			goto find_smallest;
		goto do_steal;
	}
	return false;

find_smallest:
	for (current_order = (int)order; current_order < (int)m->max_order; current_order++) {
		area = &z->free_area[current_order];
		fallback_mt = find_suitable_fallback(m, area, (unsigned)current_order, start_mt, false, &can_steal);
		if (fallback_mt != -1)
			break;
	}
	if (fallback_mt == -1)
		return false;

do_steal:;
	struct zpa_page *page = get_page_from_free_area(z, area, fallback_mt);
	steal_suitable_fallback(m, z, page, alloc_flags, start_mt, can_steal);
	unsigned long pfn = page_to_pfn(z, page);
	trace_mm_page_alloc_extfrag(m, z, pfn, order, (unsigned)current_order, start_mt, fallback_mt,
				    get_pageblock_migratetype(z, pfn) == start_mt);
	z->nr_fallback++;
	return true;
}

/*
 * __rmqueue(): a block of the wanted type, borrowing from other types when
 * none is free.  A request allowed CMA (ALLOC_CMA) takes CMA blocks first
 * while free CMA pages are over half the zone's free pages, and before
 * borrowing from other types (Linux 6.1; see cma.c).  Zone lock held.
 */
struct zpa_page *__rmqueue(struct zpa_machine *m, struct zone *z, unsigned order, int mt, unsigned alloc_flags)
{
	struct zpa_page *page;
	assert_zone_locked(m, z);
	/* CMA (cma.c): balance movable requests between CMA and the rest. */
	if (unlikely(m->has_cma) && rmqueue_cma_first(z, alloc_flags)) {
		page = __rmqueue_cma_fallback(z, order);
		if (page)
			return page;
	}
	for (;;) {
		page = __rmqueue_smallest(z, order, mt);
		if (likely(page))
			return page;
		if (unlikely(m->has_cma) && (alloc_flags & ALLOC_CMA) && (page = __rmqueue_cma_fallback(z, order)))
			return page;
		if (!__rmqueue_fallback(m, z, order, mt, alloc_flags))
			return NULL;
	}
}
