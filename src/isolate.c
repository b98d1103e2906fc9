/*
 * isolate.c - page isolation, contiguous ranges and memory offline/online:
 * Linux 6.1's mm/page_isolation.c, alloc_contig_range() and its neighbours
 * in mm/page_alloc.c and mm/compaction.c, and the allocator side of
 * mm/memory_hotplug.c.  The public calls are in zpa/contig.h.
 *
 * Isolation
 *   A pageblock set to MIGRATE_ISOLATE has its free blocks moved to the
 *   isolate free lists (set_migratetype_isolate).  No allocation path takes
 *   from those lists (__rmqueue, the fallbacks and the high-atomic paths
 *   only name the PCP types, CMA and HIGHATOMIC), and a page freed into an
 *   isolated pageblock goes to them too: the free paths read the pageblock's
 *   type under the zone lock when the zone has isolated pageblocks, and the
 *   per-CPU lists send MIGRATE_ISOLATE frees straight to the buddy lists.
 *   Pages on the isolate lists are not counted in NR_FREE_PAGES.
 *   A range is isolated pageblock by pageblock: first the pageblock holding
 *   its first page, then the one holding its last, splitting any free block
 *   that crosses the outer edge of either (isolate_single_pageblock), then
 *   those in between.  A pageblock that is already isolated or holds a page
 *   that cannot move (has_unmovable_pages) stops it, and what was done is
 *   undone.
 *
 * Contiguous ranges
 *   alloc_contig_range() isolates, drains the per-CPU lists, then under one
 *   hold of the zone lock checks that every page from the start of the free
 *   block holding `start` up to `end` is free and takes those blocks off the
 *   isolate lists (isolate_freepages_range), splits them into order-0 pages
 *   with refcount 1, and frees the pages outside [start, end) back into the
 *   still-isolated pageblocks; undoing the isolation then returns them to
 *   the ordinary lists.  Before that check the movable pages in use are
 *   migrated out of the range (migrate_range_out() in migrate.c, Linux's
 *   __alloc_contig_migrate_range()); a page that stays makes the call fail
 *   with ZPA_EBUSY.
 *
 * Offline/online
 *   offline_pages() isolates, migrates the movable pages out (one round of
 *   migrate_range_out(); Linux retries until a signal), needs every page
 *   free then, removes the free blocks from the isolate lists
 *   (__offline_isolated_pages) and turns the pages into holes marked
 *   PG_offline.  online_pages() frees them back into isolated pageblocks
 *   and undoes the isolation, as Linux does.
 *
 * Invariants kept here (zpa_check() audits them): a free block's list type
 * decides the counters (NR_FREE_PAGES for every list but ISOLATE's,
 * NR_FREE_CMA_PAGES for CMA's); zone->nr_isolate_pageblock is the number of
 * isolated pageblocks of the zone that are online; an offline page is
 * PG_offline | PG_hole | PG_reserved with refcount 0 and keeps its zone
 * index.
 *
 * Locking: the zone lock around every free-list and pageblock change;
 * m->hotplug_lock serialises offline/online and is taken before anything
 * else.  Nothing here holds a zone lock while draining per-CPU lists.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#define NO_PFN (~0ul)

/* ---- small helpers ---- */

static inline unsigned long pageblock_start_pfn(const struct zpa_machine *m, unsigned long pfn)
{
	return pfn & ~(m->pageblock_nr_pages - 1);
}

static inline unsigned long pageblock_align(const struct zpa_machine *m, unsigned long pfn)
{
	return (pfn + m->pageblock_nr_pages - 1) & ~(m->pageblock_nr_pages - 1);
}

static inline unsigned long zone_end_pfn(const struct zone *z)
{
	return z->zone_start_pfn + z->spanned_pages;
}

static inline struct zpa_page *zpfn_page(const struct zone *z, unsigned long pfn)
{
	return pfn_to_page_nid(z->zone_pgdat, pfn);
}

/* The free list a free block sits on. */
static inline int buddy_list_type(const struct zpa_page *p)
{
	return (int)((p->flags & PG_MT_MASK) >> PG_MT_SHIFT);
}

/* The pageblock type of pfn's pageblock, read at a pfn of the zone. */
static inline int pageblock_mt(const struct zone *z, unsigned long pb)
{
	return get_pageblock_migratetype(z, pb < z->zone_start_pfn ? z->zone_start_pfn : pb);
}

/* __mod_zone_freepage_state(): blocks on the isolate lists are not free pages. */
static void mod_freepage_state(struct zone *z, long nr, int mt)
{
	if (mt == ZPA_MIGRATE_ISOLATE)
		return;
	__mod_zone_page_state(z, NR_FREE_PAGES, nr);
	if (mt == ZPA_MIGRATE_CMA)
		__mod_zone_page_state(z, NR_FREE_CMA_PAGES, nr);
}

/* A free block changes list (to the tail, like move_to_free_list()); the counters follow both lists.  Zone lock held. */
static void move_free_block(struct zone *z, struct zpa_page *page, unsigned order, int mt)
{
	int from = buddy_list_type(page);
	del_page_from_free_list(z, page, order);
	add_to_free_list(z, page, order, mt, true);
	mod_freepage_state(z, -(1l << order), from);
	mod_freepage_state(z, 1l << order, mt);
}

/* Take a free block off its list for good, uncounting it.  Zone lock held. */
static void take_free_block(struct zone *z, struct zpa_page *page, unsigned order)
{
	mod_freepage_state(z, -(1l << order), buddy_list_type(page));
	del_page_from_free_list(z, page, order);
}

/*
 * The part of pageblock pb inside the zone: [*s, *e).  Linux's
 * move_freepages_block() leaves a pageblock that sticks out of the zone's
 * end alone; zpa works on the part inside, so no free page of an isolated
 * pageblock stays on an allocatable list.
 */
static void pageblock_in_zone(const struct zpa_machine *m, const struct zone *z, unsigned long pb, unsigned long *s,
			      unsigned long *e)
{
	*s = pb < z->zone_start_pfn ? z->zone_start_pfn : pb;
	*e = pb + m->pageblock_nr_pages;
	if (*e > zone_end_pfn(z))
		*e = zone_end_pfn(z);
}

/*
 * move_freepages_block() with exact counters: every free block whose first
 * page lies in pageblock pb moves to mt's lists, and the free-page counters
 * follow each block's own list (a pageblock may hold blocks of several list
 * types after a single-page fallback).  Returns the pages moved.  Zone lock held.
 */
static unsigned long move_pageblock_free_pages(struct zpa_machine *m, struct zone *z, unsigned long pb, int mt)
{
	unsigned long s, e, moved = 0;
	assert_zone_locked(m, z);
	pageblock_in_zone(m, z, pb, &s, &e);
	for (unsigned long pfn = s; pfn < e;) {
		struct zpa_page *page = zpfn_page(z, pfn);
		if (!(READ_ONCE(page->flags) & PG_buddy)) {
			pfn++;
			continue;
		}
		unsigned order = page_order(page);
		move_free_block(z, page, order, mt);
		moved += 1ul << order;
		pfn += 1ul << order;
	}
	return moved;
}

/*
 * __first_valid_page() for a pageblock: does it hold a page of the zone that
 * exists (not a hole, not offline)?  zpa has no memory sections, so a
 * pageblock made only of holes plays the part of Linux's absent section.
 */
static bool pageblock_has_valid_page(const struct zpa_machine *m, const struct zone *z, unsigned long pb)
{
	unsigned long s, e;
	pageblock_in_zone(m, z, pb, &s, &e);
	for (unsigned long pfn = s; pfn < e; pfn++)
		if (!(READ_ONCE(zpfn_page(z, pfn)->flags) & PG_hole))
			return true;
	return false;
}

/*
 * The free block that holds pfn (is_free_buddy_page()): true with its first
 * pfn and order, or false.  Zone lock held.
 */
static bool find_free_block(const struct zpa_machine *m, const struct zone *z, unsigned long pfn, unsigned long *head,
			    unsigned *order)
{
	for (unsigned o = 0; o < m->max_order; o++) {
		unsigned long h = pfn & ~((1ul << o) - 1);
		if (!zone_spans_pfn(z, h))
			break;
		const struct zpa_page *p = zpfn_page(z, h);
		if ((READ_ONCE(p->flags) & PG_buddy) && page_order(p) >= o) {
			*head = h;
			*order = page_order(p);
			return true;
		}
	}
	return false;
}

/*
 * The zone that holds [start, end), or NULL: both ends must lie in the span
 * of one zone of one node.  Pages in between may be holes.
 */
static struct zone *range_zone(const struct zpa_machine *m, unsigned long start, unsigned long end)
{
	if (start >= end)
		return NULL;
	pg_data_t *pgdat = pfn_to_pgdat(m, start);
	if (!pgdat || end - 1 - pgdat->node_start_pfn >= pgdat->node_spanned_pages)
		return NULL;
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (z->spanned_pages && zone_spans_pfn(z, start) && zone_spans_pfn(z, end - 1))
			return z;
	}
	return NULL;
}

/* ---- isolating pageblocks (mm/page_isolation.c) ---- */

/*
 * has_unmovable_pages(): the first page of [start, end) (one pageblock) that
 * could not be moved out of the way, or NO_PFN.  Reserved pages and holes
 * never move.  In ZONE_MOVABLE every other page counts as movable.  An
 * allocated page counts as movable when it was allocated for a movable user
 * (PG_lru) or belongs to a page owner (on an LRU list or marked movable:
 * Linux's PageLRU/__PageMovable), compound pages by their head.  Free pages, per-CPU pages and the inner pages of a block
 * (refcount 0) are fine.  A CMA pageblock is movable only for CMA's own
 * isolation.  Zone lock held.
 */
static unsigned long has_unmovable_pages(const struct zpa_machine *m, struct zone *z, unsigned long start,
					 unsigned long end, int migratetype)
{
	if (start >= end)
		return NO_PFN;
	if (get_pageblock_migratetype(z, start) == ZPA_MIGRATE_CMA)
		return migratetype == ZPA_MIGRATE_CMA ? NO_PFN : start;
	for (unsigned long pfn = start; pfn < end; pfn++) {
		struct zpa_page *page = zpfn_page(z, pfn);
		uint32_t f = READ_ONCE(page->flags);
		if (f & (PG_reserved | PG_hole))
			return pfn;
		if (z->type == ZPA_ZONE_MOVABLE)
			continue;
		if (f & (PG_head | PG_tail)) {
			unsigned long head = (f & PG_tail) ? z->node_start_pfn + page->next : pfn;
			const struct zpa_page *hp = zpfn_page(z, head);
			uint32_t hf = READ_ONCE(hp->flags);
			if (!(hf & (PG_lru | PG_OWNER_MASK)))
				return pfn;
			unsigned long nr = 1ul << (hf & PG_ORDER_MASK);
			pfn = head + nr - 1;
			continue;
		}
		if (!__atomic_load_n(&page->refcount, __ATOMIC_RELAXED)) {
			if (f & PG_buddy)
				pfn += (1ul << (f & PG_ORDER_MASK)) - 1;
			continue;
		}
		if (f & (PG_lru | PG_OWNER_MASK))
			continue;
		return pfn;
	}
	return NO_PFN;
}

/* Report the page that stopped an isolation (dump_page() with REPORT_FAILURE). */
static void report_unmovable(struct zpa_machine *m, struct zone *z, unsigned long pfn, unsigned flags)
{
	if (!(flags & ZPA_ISOLATE_REPORT_FAILURE))
		return;
	const struct zpa_page *p = zpfn_page(z, pfn);
	zpa_log(m, ZPA_LOG_WARN, "page:pfn %#lx refcount:%d flags:%#x: unmovable page, cannot isolate", pfn,
		__atomic_load_n(&p->refcount, __ATOMIC_RELAXED), READ_ONCE(p->flags));
}

/*
 * set_migratetype_isolate(): isolate pageblock pb unless it is already
 * isolated or the part of [start, end) inside it has an unmovable page.
 * Its free pages move to the isolate lists and stop counting as free.
 * Returns 0 or ZPA_EBUSY.
 */
static int set_migratetype_isolate(struct zpa_machine *m, struct zone *z, unsigned long pb, int migratetype,
				   unsigned flags, unsigned long start, unsigned long end)
{
	unsigned long s, e, bad;
	pageblock_in_zone(m, z, pb, &s, &e);
	if (s < start)
		s = start;
	if (e > end)
		e = end;
	zpa_spin_lock(&z->lock);
	if (pageblock_mt(z, pb) == ZPA_MIGRATE_ISOLATE) {
		zpa_spin_unlock(&z->lock);
		return ZPA_EBUSY;
	}
	bad = has_unmovable_pages(m, z, s, e, migratetype);
	if (bad == NO_PFN) {
		set_pageblock_migratetype(z, pb < z->zone_start_pfn ? z->zone_start_pfn : pb, ZPA_MIGRATE_ISOLATE);
		z->nr_isolate_pageblock++;
		move_pageblock_free_pages(m, z, pb, ZPA_MIGRATE_ISOLATE);
		zpa_spin_unlock(&z->lock);
		return 0;
	}
	zpa_spin_unlock(&z->lock);
	report_unmovable(m, z, bad, flags);
	return ZPA_EBUSY;
}

/*
 * unset_migratetype_isolate(): pageblock pb becomes migratetype again and
 * its free pages return to that type's lists (counted free again).  A free
 * block of pageblock order or more at its start whose buddy is free and not
 * isolated is freed again instead, so the two merge (move_freepages_block
 * never merges).
 */
static void unset_migratetype_isolate(struct zpa_machine *m, struct zone *z, unsigned long pb, int migratetype)
{
	unsigned long first = pb < z->zone_start_pfn ? z->zone_start_pfn : pb;
	bool isolated_page = false;
	unsigned order = 0;

	zpa_spin_lock(&z->lock);
	if (get_pageblock_migratetype(z, first) != ZPA_MIGRATE_ISOLATE)
		goto out;
	struct zpa_page *page = zpfn_page(z, first);
	if (READ_ONCE(page->flags) & PG_buddy) {
		order = page_order(page);
		if (order >= m->pageblock_order && order < m->max_order - 1) {
			unsigned long bpfn = first ^ (1ul << order);
			if (zone_spans_pfn(z, bpfn)) {
				const struct zpa_page *buddy = zpfn_page(z, bpfn);
				if ((READ_ONCE(buddy->flags) & PG_buddy) && page_order(buddy) == order &&
				    get_pageblock_migratetype(z, bpfn) != ZPA_MIGRATE_ISOLATE) {
					take_free_block(z, page, order);
					isolated_page = true;
				}
			}
		}
	}
	if (!isolated_page)
		move_pageblock_free_pages(m, z, pb, migratetype);
	set_pageblock_migratetype(z, first, migratetype);
	if (isolated_page)
		__free_one_page(m, z, first, order, migratetype, true);
	z->nr_isolate_pageblock--;
out:
	zpa_spin_unlock(&z->lock);
}

/*
 * split_free_page(): cut the free block at free_pfn (of this order) at
 * free_pfn + split_offset and free both parts again in the largest aligned
 * pieces, each to its own pageblock's type: used where the two sides have
 * different types, so the pieces on either side do not merge back.
 * Returns 0, or ZPA_EBUSY when the block is no longer what the caller saw.
 * Zone lock held.
 */
static int split_free_page(struct zpa_machine *m, struct zone *z, unsigned long free_pfn, unsigned order,
			   unsigned long split_offset)
{
	struct zpa_page *page = zpfn_page(z, free_pfn);
	assert_zone_locked(m, z);
	if (!split_offset)
		return 0;
	if (!(READ_ONCE(page->flags) & PG_buddy) || page_order(page) != order)
		return ZPA_EBUSY;
	take_free_block(z, page, order);
	unsigned long end = free_pfn + (1ul << order);
	for (unsigned long pfn = free_pfn; pfn < end;) {
		unsigned piece = pfn ? (unsigned)__builtin_ctzl(pfn) : order;
		unsigned limit = 63u - (unsigned)__builtin_clzl(split_offset); /* __fls() */
		if (piece > limit)
			piece = limit;
		__free_one_page(m, z, pfn, piece, get_pageblock_migratetype(z, pfn), false);
		pfn += 1ul << piece;
		split_offset -= 1ul << piece;
		if (!split_offset)
			split_offset = end - pfn; /* first part done: now the rest */
	}
	return 0;
}

/*
 * isolate_single_pageblock(): isolate the pageblock on one side of the
 * pageblock boundary `boundary` (before it when isolate_before, else at it;
 * with skip_isolation it is isolated already) and make sure no free block
 * crosses the boundary: one that does is split there.  A block in use that
 * crosses it would have to be migrated; zpa cannot, so that is ZPA_EBUSY
 * (and the pageblock is restored).  Linux passes over a plain (non-compound)
 * block there, which, freed later as one block on its head's list, would
 * put part of the isolated pageblock back within reach of allocations; zpa
 * refuses it too, so no allocation ever lands in an isolated pageblock.
 */
static int isolate_single_pageblock(struct zpa_machine *m, struct zone *z, unsigned long boundary, unsigned flags,
				    bool isolate_before, bool skip_isolation, int migratetype)
{
	unsigned long pb = isolate_before ? boundary - m->pageblock_nr_pages : boundary;
	unsigned long max_order_pages = 1ul << (m->max_order - 1);
	unsigned long start = boundary - m->pageblock_nr_pages;
	int ret;

	if (!isolate_before)
		start = boundary;
	start &= ~(max_order_pages - 1);
	if (start < z->zone_start_pfn)
		start = z->zone_start_pfn;

	if (!skip_isolation) {
		ret = set_migratetype_isolate(m, z, pb, migratetype, flags, pb, pb + m->pageblock_nr_pages);
		if (ret)
			return ret;
	}
	/* Nothing can cross the boundary unless pages on both sides exist. */
	unsigned long outside = isolate_before ? boundary : boundary - 1;
	if (!zone_spans_pfn(z, outside) || (READ_ONCE(zpfn_page(z, outside)->flags) & PG_hole))
		return 0;

	zpa_spin_lock(&z->lock);
	for (unsigned long pfn = start; pfn < boundary;) {
		struct zpa_page *page = zpfn_page(z, pfn);
		uint32_t f = READ_ONCE(page->flags);
		if (f & PG_buddy) {
			unsigned order = page_order(page);
			if (pfn + (1ul << order) > boundary) {
				split_free_page(m, z, pfn, order, boundary - pfn);
				continue; /* look at the first piece again */
			}
			pfn += 1ul << order;
			continue;
		}
		if (f & (PG_alloc | PG_pcp)) {
			unsigned long nr = 1ul << (f & PG_ORDER_MASK);
			if (pfn + nr <= boundary) {
				pfn += nr;
				continue;
			}
			zpa_spin_unlock(&z->lock);
			if (flags & ZPA_ISOLATE_REPORT_FAILURE)
				zpa_log(m, ZPA_LOG_WARN, "page block in use at pfn %#lx crosses pfn %#lx and cannot be migrated",
					pfn, boundary);
			if (!skip_isolation)
				unset_migratetype_isolate(m, z, pb, migratetype);
			return ZPA_EBUSY;
		}
		pfn++;
	}
	zpa_spin_unlock(&z->lock);
	return 0;
}

static void undo_isolate_page_range(struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end,
				    int migratetype);

/*
 * start_isolate_page_range(): isolate every pageblock that [start, end)
 * touches (one zone): the first and last pageblocks with
 * isolate_single_pageblock(), then those between.  On failure everything it
 * isolated is restored to migratetype.  Returns 0 or ZPA_EBUSY.
 */
static int start_isolate_page_range(struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end,
				    int migratetype, unsigned flags)
{
	unsigned long pbnr = m->pageblock_nr_pages;
	unsigned long isolate_start = pageblock_start_pfn(m, start), isolate_end = pageblock_align(m, end);
	int ret = isolate_single_pageblock(m, z, isolate_start, flags, false, false, migratetype);
	if (ret)
		return ret;
	bool skip = isolate_start == isolate_end - pbnr;
	ret = isolate_single_pageblock(m, z, isolate_end, flags, true, skip, migratetype);
	if (ret) {
		unset_migratetype_isolate(m, z, isolate_start, migratetype);
		return ret;
	}
	for (unsigned long pfn = isolate_start + pbnr; pfn < isolate_end - pbnr; pfn += pbnr) {
		if (pageblock_has_valid_page(m, z, pfn) &&
		    set_migratetype_isolate(m, z, pfn, migratetype, flags, start, end)) {
			undo_isolate_page_range(m, z, isolate_start, pfn, migratetype);
			unset_migratetype_isolate(m, z, isolate_end - pbnr, migratetype);
			return ZPA_EBUSY;
		}
	}
	return 0;
}

/* undo_isolate_page_range(): every isolated pageblock [start, end) touches becomes migratetype again. */
static void undo_isolate_page_range(struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end,
				    int migratetype)
{
	for (unsigned long pb = pageblock_start_pfn(m, start); pb < pageblock_align(m, end);
	     pb += m->pageblock_nr_pages) {
		if (!pageblock_has_valid_page(m, z, pb) || pageblock_mt(z, pb) != ZPA_MIGRATE_ISOLATE)
			continue;
		unset_migratetype_isolate(m, z, pb, migratetype);
	}
}

/*
 * Are all pageblocks that [start, end) touches isolated (those with pages),
 * and is there at least one page?  Linux steps from `start` by a pageblock
 * and may skip the last pageblock of an unaligned range; zpa checks them all.
 */
static bool range_pageblocks_isolated(const struct zpa_machine *m, const struct zone *z, unsigned long start,
				      unsigned long end)
{
	bool any = false;
	for (unsigned long pb = pageblock_start_pfn(m, start); pb < end; pb += m->pageblock_nr_pages) {
		if (!pageblock_has_valid_page(m, z, pb))
			continue;
		any = true;
		if (pageblock_mt(z, pb) != ZPA_MIGRATE_ISOLATE)
			return false;
	}
	return any;
}

/*
 * __test_page_isolated_in_pageblock(): walk [pfn, end) over free blocks;
 * returns the first pfn that is not free (end when all are).  Zone lock held.
 */
static unsigned long test_free_range(const struct zone *z, unsigned long pfn, unsigned long end)
{
	while (pfn < end) {
		const struct zpa_page *page = zpfn_page(z, pfn);
		if (!(READ_ONCE(page->flags) & PG_buddy))
			break;
		pfn += 1ul << page_order(page);
	}
	return pfn;
}

/* ---- contiguous ranges (mm/page_alloc.c, mm/compaction.c) ---- */

/*
 * isolate_freepages_range() for a range already tested free: take every
 * free block of [start, end) off the isolate lists and make each of its
 * pages an allocated order-0 page with refcount 1 (split_map_pages()).
 * Returns the pfn after the last block taken, which may pass end.  Zone lock held.
 */
static unsigned long isolate_freepages_range(struct zpa_machine *m, struct zone *z, unsigned long start,
					     unsigned long end)
{
	unsigned long pfn = start;
	assert_zone_locked(m, z);
	while (pfn < end) {
		struct zpa_page *page = zpfn_page(z, pfn);
		unsigned order = page_order(page);
		take_free_block(z, page, order);
		for (unsigned long i = 0; i < (1ul << order); i++) {
			struct zpa_page *p = page + i;
			WRITE_ONCE(p->flags, (p->flags & PG_ZONE_MASK) | PG_alloc);
			p->next = p->prev = ZPA_NIL;
			__atomic_store_n(&p->refcount, 1, __ATOMIC_RELAXED);
		}
		pfn += 1ul << order;
	}
	return pfn;
}

/*
 * Give back pages [start, end) that isolate_freepages_range() took but the
 * caller does not want: each is freed on its own, as free_contig_range()
 * frees them in Linux, into its (isolated) pageblock's lists.  Zone lock held.
 */
static void free_taken_pages(struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end)
{
	for (unsigned long pfn = start; pfn < end; pfn++) {
		struct zpa_page *p = zpfn_page(z, pfn);
		WRITE_ONCE(p->flags, p->flags & PG_ZONE_MASK);
		__atomic_store_n(&p->refcount, 0, __ATOMIC_RELAXED);
		__free_one_page(m, z, pfn, 0, get_pageblock_migratetype(z, pfn), false);
	}
}

static bool valid_contig_type(int migratetype)
{
	return migratetype == ZPA_MIGRATE_MOVABLE || migratetype == ZPA_MIGRATE_CMA;
}

/*
 * alloc_contig_range(): see zpa/contig.h.  Unlike Linux 6.1, a failed
 * isolation is not followed by an undo over the whole range, which would
 * release pageblocks that another caller had isolated.
 */
int alloc_contig_range(struct zpa_machine *m, unsigned long start, unsigned long end, int migratetype,
		       zpa_gfp_t gfp)
{
	struct zone *z = range_zone(m, start, end);
	unsigned long outer_start, outer_end, busy;
	int ret;

	if (!z || !valid_contig_type(migratetype))
		return ZPA_EINVAL;
	ret = start_isolate_page_range(m, z, start, end, migratetype, 0);
	if (ret)
		return ret;
	zpa_drain_all_pages(m);

	/*
	 * __alloc_contig_migrate_range(): move the movable pages in use out of
	 * the range (migrate.c).  Busy pages are found by the test below.
	 */
	ret = migrate_range_out(m, start, end);
	if (ret && ret != ZPA_EBUSY) {
		undo_isolate_page_range(m, z, start, end, migratetype);
		return ret;
	}
	zpa_drain_all_pages(m);

	zpa_spin_lock(&z->lock);
	outer_start = start;
	unsigned long head;
	unsigned order;
	if (find_free_block(m, z, start, &head, &order))
		outer_start = head;
	busy = NO_PFN;
	if (!range_pageblocks_isolated(m, z, outer_start, end))
		busy = outer_start;
	else if ((busy = test_free_range(z, outer_start, end)) >= end)
		busy = NO_PFN;
	if (busy != NO_PFN) {
		zpa_spin_unlock(&z->lock);
		if (!(gfp & ZPA___GFP_NOWARN))
			zpa_log(m, ZPA_LOG_DEBUG,
				"alloc_contig_range: [%#lx, %#lx) busy at pfn %#lx (in use and not movable)",
				start, end, busy);
		undo_isolate_page_range(m, z, start, end, migratetype);
		return ZPA_EBUSY;
	}
	outer_end = isolate_freepages_range(m, z, outer_start, end);
	free_taken_pages(m, z, outer_start, start);
	free_taken_pages(m, z, end, outer_end);
	zpa_spin_unlock(&z->lock);

	undo_isolate_page_range(m, z, start, end, migratetype);
	return 0;
}

int zpa_alloc_contig_range(struct zpa_machine *m, zpa_pfn_t start, zpa_pfn_t end, int migratetype, zpa_gfp_t gfp)
{
	if (!m || start > ~0ul || end > ~0ul)
		return ZPA_EINVAL;
	return alloc_contig_range(m, (unsigned long)start, (unsigned long)end, migratetype, gfp);
}

/*
 * pfn_range_valid_contig(): every page of the candidate exists, belongs to
 * z and is not reserved.  Zone lock held.
 */
static bool pfn_range_valid_contig(const struct zone *z, unsigned long start, unsigned long nr)
{
	for (unsigned long pfn = start; pfn < start + nr; pfn++) {
		uint32_t f = READ_ONCE(zpfn_page(z, pfn)->flags);
		if ((f & (PG_hole | PG_reserved)) || (f & PG_ZONE_MASK) >> PG_ZONE_SHIFT != (unsigned)z->idx)
			return false;
	}
	return true;
}

zpa_pfn_t zpa_alloc_contig_pages(struct zpa_machine *m, unsigned long nr_pages, zpa_gfp_t gfp, int nid,
				 const zpa_nodemask_t *nodemask)
{
	struct alloc_context ac;
	struct zpa_task *task = zpa_task_current();

	if (!m || !nr_pages || gfp_zone(m, gfp) < 0)
		return ZPA_PFN_NONE;
	if (!prepare_alloc_context(m, task, gfp, nid, nodemask, &ac))
		return ZPA_PFN_NONE;
	for (struct zoneref *zr = ac.zonelist->zonerefs; zr->zone; zr++) {
		struct zone *z = zr->zone;
		if (zr->zone_idx > ac.highest_zoneidx || !zpa_node_isset(nodemask, z->zone_pgdat->node_id))
			continue;
		zpa_spin_lock(&z->lock);
		/* Linux's ALIGN(): a power-of-two mask, odd for other sizes, kept as it is. */
		unsigned long pfn = (z->zone_start_pfn + nr_pages - 1) & ~(nr_pages - 1);
		while (pfn + nr_pages > pfn && zone_spans_pfn(z, pfn + nr_pages - 1) && pfn >= z->zone_start_pfn) {
			if (pfn_range_valid_contig(z, pfn, nr_pages)) {
				/* alloc_contig_range() takes the lock itself. */
				zpa_spin_unlock(&z->lock);
				if (!alloc_contig_range(m, pfn, pfn + nr_pages, ZPA_MIGRATE_MOVABLE, gfp | ZPA___GFP_NOWARN))
					return pfn;
				zpa_spin_lock(&z->lock);
			}
			pfn += nr_pages;
		}
		zpa_spin_unlock(&z->lock);
	}
	return ZPA_PFN_NONE;
}

int zpa_free_contig_range(struct zpa_machine *m, zpa_pfn_t pfn, unsigned long nr_pages)
{
	unsigned long still_used = 0;
	int first = 0;
	if (!m)
		return ZPA_EINVAL;
	for (; nr_pages--; pfn++) {
		pg_data_t *pgdat = pfn <= ~0ul ? pfn_to_pgdat(m, (unsigned long)pfn) : NULL;
		if (pgdat &&
		    __atomic_load_n(&pfn_to_page_nid(pgdat, (unsigned long)pfn)->refcount, __ATOMIC_RELAXED) != 1)
			still_used++;
		int err = zpa_free_pages(m, pfn, 0);
		if (err && !first)
			first = err;
	}
	if (still_used)
		zpa_warn(m, __func__, "%lu pages are still in use!", still_used);
	return first;
}

/* ---- public isolation calls ---- */

/* Check a public range: one zone, migratetype MOVABLE or CMA. */
static struct zone *public_range(struct zpa_machine *m, zpa_pfn_t start, zpa_pfn_t end, int migratetype)
{
	if (!m || start > ~0ul || end > ~0ul || !valid_contig_type(migratetype))
		return NULL;
	return range_zone(m, (unsigned long)start, (unsigned long)end);
}

int zpa_start_isolate_page_range(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn, int migratetype,
				 unsigned flags)
{
	struct zone *z = public_range(m, start_pfn, end_pfn, migratetype);
	if (!z || (flags & ~(ZPA_ISOLATE_MEMORY_OFFLINE | ZPA_ISOLATE_REPORT_FAILURE)))
		return ZPA_EINVAL;
	return start_isolate_page_range(m, z, (unsigned long)start_pfn, (unsigned long)end_pfn, migratetype, flags);
}

int zpa_undo_isolate_page_range(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn, int migratetype)
{
	struct zone *z = public_range(m, start_pfn, end_pfn, migratetype);
	if (!z)
		return ZPA_EINVAL;
	undo_isolate_page_range(m, z, (unsigned long)start_pfn, (unsigned long)end_pfn, migratetype);
	return 0;
}

int zpa_test_pages_isolated(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn, unsigned flags)
{
	struct zone *z = public_range(m, start_pfn, end_pfn, ZPA_MIGRATE_MOVABLE);
	if (!z || (flags & ~(ZPA_ISOLATE_MEMORY_OFFLINE | ZPA_ISOLATE_REPORT_FAILURE)))
		return ZPA_EINVAL;
	unsigned long start = (unsigned long)start_pfn, end = (unsigned long)end_pfn, head;
	unsigned order;
	int ret = ZPA_EBUSY;
	zpa_spin_lock(&z->lock);
	if (range_pageblocks_isolated(m, z, start, end)) {
		/* Start at the free block holding start: it may begin before it. */
		if (find_free_block(m, z, start, &head, &order))
			start = head;
		if (test_free_range(z, start, end) >= end)
			ret = 0;
	}
	zpa_spin_unlock(&z->lock);
	return ret;
}

/* ---- memory offline/online (mm/memory_hotplug.c) ---- */

/* A pageblock of the zone with a page that is present (neither hole nor offline). */
static bool pageblock_online(const struct zpa_machine *m, const struct zone *z, unsigned long pb)
{
	return pageblock_has_valid_page(m, z, pb);
}

/*
 * shrink_zone_span(): after [start, end) went offline, a zone that began or
 * ended with it now begins or ends at the nearest pageblock that still has
 * present pages (Linux looks for the nearest online subsection: 2 MiB, a
 * pageblock on x86-64); a zone with none left spans nothing.  The node span
 * stays: it indexes the memory map.  The pageblock map keeps its origin
 * (zone->pb_base).  Zone lock held.
 */
static void shrink_zone_span(const struct zpa_machine *m, struct zone *z, unsigned long start, unsigned long end)
{
	unsigned long zend = zone_end_pfn(z), pbnr = m->pageblock_nr_pages;
	if (z->zone_start_pfn == start) {
		for (unsigned long pb = pageblock_start_pfn(m, end); pb < zend; pb += pbnr)
			if (pageblock_online(m, z, pb)) {
				unsigned long first = pb < end ? end : pb;
				WRITE_ONCE(z->spanned_pages, zend - first);
				WRITE_ONCE(z->zone_start_pfn, first);
				return;
			}
		WRITE_ONCE(z->zone_start_pfn, 0);
		WRITE_ONCE(z->spanned_pages, 0);
	} else if (zend == end) {
		for (unsigned long pb = pageblock_start_pfn(m, start - 1);; pb -= pbnr) {
			if (pageblock_online(m, z, pb)) {
				unsigned long last = pb + pbnr - 1;
				if (last >= start)
					last = start - 1;
				WRITE_ONCE(z->spanned_pages, last - z->zone_start_pfn + 1);
				return;
			}
			if (pb <= z->zone_start_pfn)
				break;
		}
		WRITE_ONCE(z->zone_start_pfn, 0);
		WRITE_ONCE(z->spanned_pages, 0);
	}
}

/* resize_zone_range(): the zone grows to span [start, start + nr) again.  Zone lock held. */
static void resize_zone_range(struct zone *z, unsigned long start, unsigned long nr)
{
	unsigned long old_end = zone_end_pfn(z);
	if (!z->spanned_pages || start < z->zone_start_pfn) {
		if (!z->spanned_pages)
			old_end = 0;
		WRITE_ONCE(z->zone_start_pfn, start);
	}
	unsigned long end = start + nr > old_end ? start + nr : old_end;
	WRITE_ONCE(z->spanned_pages, end - z->zone_start_pfn);
}

/* A hotplug range: pageblock aligned, non-empty, no overflow. */
static bool hotplug_range_ok(const struct zpa_machine *m, zpa_pfn_t start, unsigned long nr)
{
	unsigned long mask = m->pageblock_nr_pages - 1;
	return nr && start <= ~0ul && !(start & mask) && !(nr & mask) && (unsigned long)start + nr > start;
}

int zpa_offline_pages(struct zpa_machine *m, zpa_pfn_t start_pfn, unsigned long nr_pages)
{
	if (!m || !hotplug_range_ok(m, start_pfn, nr_pages))
		return ZPA_EINVAL;
	unsigned long start = (unsigned long)start_pfn, end = start + nr_pages, busy;
	const char *reason = NULL;
	int ret = ZPA_EINVAL;

	zpa_spin_lock(&m->hotplug_lock);
	struct zone *z = range_zone(m, start, end);
	if (!z) {
		reason = "multizone range";
		goto out;
	}
	/* Memory with holes (or already offline) is never offlined (walk_system_ram_range). */
	for (unsigned long pfn = start; pfn < end; pfn++)
		if (READ_ONCE(zpfn_page(z, pfn)->flags) & PG_hole) {
			reason = "memory holes";
			goto out;
		}
	ret = start_isolate_page_range(m, z, start, end, ZPA_MIGRATE_MOVABLE,
				       ZPA_ISOLATE_MEMORY_OFFLINE | ZPA_ISOLATE_REPORT_FAILURE);
	if (ret) {
		reason = "failure to isolate range";
		goto out;
	}
	zpa_drain_all_pages(m);

	/* do_migrate_range(): move the movable pages out, once; then every page must be free. */
	if (migrate_range_out(m, start, end) != ZPA_ENOMEM)
		zpa_drain_all_pages(m);
	zpa_spin_lock(&z->lock);
	busy = test_free_range(z, start, end);
	if (busy < end || !range_pageblocks_isolated(m, z, start, end)) {
		zpa_spin_unlock(&z->lock);
		zpa_log(m, ZPA_LOG_INFO, "pfn %#lx is in use and could not be migrated", busy);
		undo_isolate_page_range(m, z, start, end, ZPA_MIGRATE_MOVABLE);
		reason = "unmovable page";
		ret = ZPA_EBUSY;
		goto out;
	}
	/* __offline_isolated_pages(): the free blocks leave the buddy lists; the pages become holes. */
	for (unsigned long pfn = start; pfn < end;) {
		struct zpa_page *page = zpfn_page(z, pfn);
		unsigned order = page_order(page);
		take_free_block(z, page, order);
		for (unsigned long i = 0; i < (1ul << order); i++) {
			struct zpa_page *p = page + i;
			WRITE_ONCE(p->flags, (p->flags & PG_ZONE_MASK) | PG_reserved | PG_hole | PG_offline);
			p->next = p->prev = ZPA_NIL;
		}
		pfn += 1ul << order;
	}
	/* The pageblocks stay MIGRATE_ISOLATE, stale, as in Linux; only online ones are counted. */
	z->nr_isolate_pageblock -= nr_pages / m->pageblock_nr_pages;
	WRITE_ONCE(z->managed_pages, z->managed_pages - nr_pages);
	WRITE_ONCE(z->present_pages, z->present_pages - nr_pages);
	WRITE_ONCE(z->zone_pgdat->node_present_pages, z->zone_pgdat->node_present_pages - nr_pages);
	shrink_zone_span(m, z, start, end);
	zpa_spin_unlock(&z->lock);

	/* Reinitialise the watermarks and per-CPU list sizes (init_per_zone_wmark_min()). */
	init_per_zone_wmark_min(m);
	if (!populated_zone(z))
		build_all_zonelists(m);
	ret = 0;
out:
	zpa_spin_unlock(&m->hotplug_lock);
	if (ret)
		zpa_log(m, ZPA_LOG_DEBUG, "memory offlining [pfn %#lx-%#lx] failed due to %s", start, end - 1, reason);
	return ret;
}

int zpa_online_pages(struct zpa_machine *m, zpa_pfn_t start_pfn, unsigned long nr_pages)
{
	if (!m || !hotplug_range_ok(m, start_pfn, nr_pages))
		return ZPA_EINVAL;
	unsigned long start = (unsigned long)start_pfn, end = start + nr_pages;
	int ret = ZPA_EINVAL;

	zpa_spin_lock(&m->hotplug_lock);
	pg_data_t *pgdat = pfn_to_pgdat(m, start);
	if (!pgdat || end - 1 - pgdat->node_start_pfn >= pgdat->node_spanned_pages)
		goto out;
	/* Only offlined memory comes back, into the zone it left. */
	uint32_t zflags = pfn_to_page_nid(pgdat, start)->flags & PG_ZONE_MASK;
	for (unsigned long pfn = start; pfn < end; pfn++) {
		uint32_t f = READ_ONCE(pfn_to_page_nid(pgdat, pfn)->flags);
		if (!(f & PG_offline) || (f & PG_ZONE_MASK) != zflags)
			goto out;
	}
	struct zone *z = &pgdat->node_zones[zflags >> PG_ZONE_SHIFT];

	zpa_spin_lock(&z->lock);
	bool was_populated = populated_zone(z);
	/* move_pfn_range_to_zone(.., MIGRATE_ISOLATE): span, reserved pages, isolated pageblocks. */
	resize_zone_range(z, start, nr_pages);
	for (unsigned long pb = start; pb < end; pb += m->pageblock_nr_pages)
		set_pageblock_migratetype(z, pb, ZPA_MIGRATE_ISOLATE);
	z->nr_isolate_pageblock += nr_pages / m->pageblock_nr_pages;
	for (unsigned long pfn = start; pfn < end; pfn++) {
		struct zpa_page *p = zpfn_page(z, pfn);
		WRITE_ONCE(p->flags, (p->flags & PG_ZONE_MASK) | PG_reserved);
	}
	/* online_pages_range(): free in naturally aligned chunks, to the tail, into the isolate lists. */
	for (unsigned long pfn = start; pfn < end;) {
		unsigned order = m->max_order - 1;
		if (pfn && (unsigned)__builtin_ctzl(pfn) < order)
			order = (unsigned)__builtin_ctzl(pfn);
		while (pfn + (1ul << order) > end)
			order--;
		for (unsigned long i = 0; i < (1ul << order); i++) {
			struct zpa_page *p = zpfn_page(z, pfn + i);
			WRITE_ONCE(p->flags, p->flags & ~PG_reserved);
		}
		WRITE_ONCE(z->managed_pages, z->managed_pages + (1ul << order));
		__free_one_page(m, z, pfn, order, ZPA_MIGRATE_ISOLATE, true);
		pfn += 1ul << order;
	}
	WRITE_ONCE(z->present_pages, z->present_pages + nr_pages);
	WRITE_ONCE(pgdat->node_present_pages, pgdat->node_present_pages + nr_pages);
	zpa_spin_unlock(&z->lock);

	if (!was_populated)
		build_all_zonelists(m);
	/* Basic onlining is complete: allow allocation from the new pages. */
	undo_isolate_page_range(m, z, start, end, ZPA_MIGRATE_MOVABLE);
	/* (Linux shuffles the zone here when page_alloc.shuffle is on.) */
	init_per_zone_wmark_min(m);
	ret = 0;
out:
	zpa_spin_unlock(&m->hotplug_lock);
	return ret;
}
