/*
 * sim.c - state surgery for simulators (zpa/sim.h): hold every free page,
 * retype pageblocks, then hand chosen blocks back to the free lists or bind
 * held pages into allocated blocks.  Trace replay builds the state a kernel
 * was in when its trace began this way.
 *
 * Representation.  A held page is an ordinary allocated order-0 page
 * (PG_alloc, order 0, reference count 1), so every audit, view and free path
 * treats it as allocated memory.  The calls convert between three shapes of
 * the same pages: held singles, one allocated block (prep_new_page()'s
 * shape: head with the order, clean inner pages or compound tails), and one
 * free block (__free_one_page(), which also merges).  Counters move with the
 * pages: NR_FREE_PAGES (and NR_FREE_CMA_PAGES) drop when free pages become
 * held and rise when held pages are given back; no allocation or free event
 * is counted, since nothing was allocated or freed.
 *
 * Invariants: each call checks everything it needs under the zone lock
 * before it changes anything, so an error leaves the machine as it was, and
 * zpa_check() holds between calls.  The only lock taken is the zone lock of
 * the one zone the range lies in (zpa_sim_hold_all() drains the per-CPU
 * lists first, then takes each zone lock in turn).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"
#include "zpa/sim.h"

/* The zone whose span holds pfn (and its page), or NULL. */
static struct zone *sim_zone(struct zpa_machine *m, zpa_pfn_t pfn, struct zpa_page **pagep)
{
	if (pfn > ~0ul)
		return NULL;
	pg_data_t *pgdat = pfn_to_pgdat(m, (unsigned long)pfn);
	if (!pgdat)
		return NULL;
	struct zpa_page *page = pfn_to_page_nid(pgdat, (unsigned long)pfn);
	struct zone *z = page_zone(pgdat, page);
	if (!zone_spans_pfn(z, (unsigned long)pfn))
		return NULL;
	if (pagep)
		*pagep = page;
	return z;
}

/* Is this a held page: a plain allocated order-0 page with one reference? */
static inline bool page_is_held(const struct zpa_page *p)
{
	return (p->flags & ~(PG_ZONE_MASK | PG_lru)) == PG_alloc && p->refcount == 1;
}

/* Mark one page held (caller owns it and holds the zone lock). */
static inline void set_held(struct zpa_page *p)
{
	WRITE_ONCE(p->flags, (p->flags & PG_ZONE_MASK) | PG_alloc);
	p->refcount = 1;
	p->next = p->prev = ZPA_NIL;
}

/* Common checks of make/give: aligned, inside one zone, every page held. */
static int check_held_range(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order, struct zone **zp,
			    struct zpa_page **pagep)
{
	struct zpa_page *page;
	struct zone *z;

	if (order >= m->max_order)
		return ZPA_EORDER;
	z = sim_zone(m, pfn, &page);
	if (!z)
		return ZPA_EBADPFN;
	if (pfn & ((1ull << order) - 1))
		return ZPA_EALIGN;
	if (!zone_spans_pfn(z, (unsigned long)pfn + (1ul << order) - 1))
		return ZPA_EBADPFN;
	for (unsigned long i = 0; i < (1ul << order); i++)
		if (!page_is_held(&page[i]))
			return ZPA_EBUSY;
	*zp = z;
	*pagep = page;
	return 0;
}

uint64_t zpa_sim_hold_all(struct zpa_machine *m)
{
	uint64_t held = 0;

	zpa_drain_all_pages(m);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat)
			continue;
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			if (!managed_zone(z))
				continue;
			zpa_spin_lock(&z->lock);
			for (unsigned o = 0; o < m->max_order; o++) {
				struct free_area *area = &z->free_area[o];
				for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
					if (mt == ZPA_MIGRATE_ISOLATE)
						continue; /* isolated pages stay where isolation put them */
					struct free_list *fl = &area->free_list[mt];
					uint32_t idx = fl->head;
					long pages = 0;
					while (idx != ZPA_NIL) {
						struct zpa_page *p = &z->mem_map[idx];
						uint32_t next = p->next;
						for (unsigned long i = 0; i < (1ul << o); i++)
							set_held(&p[i]);
						area->nr_free--;
						pages += 1l << o;
						idx = next;
					}
					fl->head = fl->tail = ZPA_NIL;
					__mod_zone_page_state(z, NR_FREE_PAGES, -pages);
					if (mt == ZPA_MIGRATE_CMA)
						__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -pages);
					held += (uint64_t)pages;
				}
			}
			zpa_spin_unlock(&z->lock);
		}
	}
	return held;
}

int zpa_sim_set_pageblock_migratetype(struct zpa_machine *m, zpa_pfn_t pfn, int migratetype)
{
	struct zone *z = sim_zone(m, pfn, NULL);
	int moved;

	if (!z)
		return ZPA_EBADPFN;
	if (migratetype < 0 || migratetype > ZPA_MIGRATE_HIGHATOMIC)
		return ZPA_EINVAL;
	zpa_spin_lock(&z->lock);
	int old = get_pageblock_migratetype(z, (unsigned long)pfn);
	if (old == ZPA_MIGRATE_ISOLATE || old == ZPA_MIGRATE_CMA) {
		zpa_spin_unlock(&z->lock);
		return ZPA_EINVAL;
	}
	if (old != migratetype) {
		if (old == ZPA_MIGRATE_HIGHATOMIC)
			WRITE_ONCE(z->nr_reserved_highatomic, z->nr_reserved_highatomic - m->pageblock_nr_pages);
		if (migratetype == ZPA_MIGRATE_HIGHATOMIC)
			WRITE_ONCE(z->nr_reserved_highatomic, z->nr_reserved_highatomic + m->pageblock_nr_pages);
		set_pageblock_migratetype(z, (unsigned long)pfn, migratetype);
		move_freepages_block(z, (unsigned long)pfn, m->pageblock_nr_pages, migratetype, &moved);
	}
	zpa_spin_unlock(&z->lock);
	return 0;
}

int zpa_sim_pageblock_migratetype(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zone *z = sim_zone(m, pfn, NULL);
	return z ? get_pageblock_migratetype(z, (unsigned long)pfn) : ZPA_EBADPFN;
}

/* Strip a held block's pages back to "just its zone": no marks, no references, no links. */
static void clear_block(struct zpa_page *page, unsigned order)
{
	for (unsigned long i = 0; i < (1ul << order); i++) {
		page[i].flags &= PG_ZONE_MASK;
		page[i].refcount = 0;
		page[i].next = page[i].prev = ZPA_NIL;
	}
}

int zpa_sim_make_block(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order, zpa_gfp_t gfp)
{
	struct zpa_page *page;
	struct zone *z;
	int err;

	if (order >= m->max_order)
		return ZPA_EORDER;
	z = sim_zone(m, pfn, NULL);
	if (!z)
		return ZPA_EBADPFN;
	zpa_spin_lock(&z->lock);
	err = check_held_range(m, pfn, order, &z, &page);
	if (!err) {
		/* prep_new_page() expects the pages of a block fresh from the free lists. */
		clear_block(page, order);
		prep_new_page(m, z, page, order, gfp, gfp_migratetype(m, gfp));
	}
	zpa_spin_unlock(&z->lock);
	return err;
}

int zpa_sim_give_block(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order, bool to_tail)
{
	struct zpa_page *page;
	struct zone *z;
	int err;

	if (order >= m->max_order)
		return ZPA_EORDER;
	z = sim_zone(m, pfn, NULL);
	if (!z)
		return ZPA_EBADPFN;
	zpa_spin_lock(&z->lock);
	err = check_held_range(m, pfn, order, &z, &page);
	if (!err) {
		clear_block(page, order);
		__free_one_page(m, z, (unsigned long)pfn, order, get_pageblock_migratetype(z, (unsigned long)pfn),
				to_tail);
	}
	zpa_spin_unlock(&z->lock);
	return err;
}

int zpa_sim_split_page(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page *page;
	struct zone *z = sim_zone(m, pfn, &page);

	if (!z)
		return ZPA_EBADPFN;
	zpa_spin_lock(&z->lock);
	uint32_t f = page->flags;
	if (!(f & PG_alloc) || (f & (PG_tail | PG_buddy | PG_pcp | PG_listed)) || page->refcount < 1) {
		zpa_spin_unlock(&z->lock);
		return ZPA_EINVAL;
	}
	unsigned order = f & PG_ORDER_MASK;
	uint32_t lru = f & PG_lru;
	for (unsigned long i = 1; i < (1ul << order); i++) {
		page[i].flags = (page[i].flags & PG_ZONE_MASK) | PG_alloc | lru;
		page[i].refcount = 1;
		page[i].next = page[i].prev = ZPA_NIL;
	}
	page->flags = f & ~(PG_ORDER_MASK | PG_head);
	zpa_spin_unlock(&z->lock);
	return 0;
}

int zpa_sim_page_states(struct zpa_machine *m, zpa_pfn_t pfn, size_t n, uint8_t *out)
{
	struct zpa_page *page;
	struct zone *z = sim_zone(m, pfn, &page);

	if (!z)
		return ZPA_EBADPFN;
	if (n == 0)
		return 0;
	if (!zone_spans_pfn(z, (unsigned long)pfn + n - 1))
		return ZPA_EINVAL;
	zpa_spin_lock(&z->lock);
	/*
	 * Walk block by block from the start of the block holding pfn: find it
	 * by looking for a free or allocated head at each alignment below pfn.
	 */
	unsigned long p = (unsigned long)pfn, end = p + n;
	unsigned long at = p;
	for (unsigned o = 1; o < m->max_order; o++) {
		unsigned long h = p & ~((1ul << o) - 1);
		if (!zone_spans_pfn(z, h))
			break;
		const struct zpa_page *hp = pfn_to_page_nid(z->zone_pgdat, h);
		if ((hp->flags & (PG_buddy | PG_pcp | PG_alloc)) && page_order(hp) >= o) {
			at = h;
			break;
		}
	}
	while (at < end) {
		const struct zpa_page *q = pfn_to_page_nid(z->zone_pgdat, at);
		uint32_t f = q->flags;
		unsigned long len = 1;
		uint8_t state;
		if (f & (PG_hole | PG_reserved)) {
			state = ZPA_SIM_PAGE_NONE;
		} else if (f & (PG_buddy | PG_pcp)) {
			state = ZPA_SIM_PAGE_FREE;
			len = 1ul << page_order(q);
		} else if (f & PG_alloc) {
			state = page_is_held(q) ? ZPA_SIM_PAGE_HELD : ZPA_SIM_PAGE_ALLOC;
			len = 1ul << page_order(q);
		} else {
			state = ZPA_SIM_PAGE_ALLOC; /* an inner or tail page reached on its own */
		}
		for (unsigned long i = 0; i < len; i++, at++)
			if (at >= p && at < end)
				out[at - p] = state;
	}
	zpa_spin_unlock(&z->lock);
	return 0;
}

int zpa_sim_free_blocks(struct zpa_machine *m, int nid, int zone_type,
			uint64_t out[ZPA_MAX_ORDER_LIMIT * ZPA_MIGRATE_TYPES])
{
	if (nid < 0 || (unsigned)nid >= m->nr_nodes || !m->nodes[nid] || zone_type < 0 ||
	    zone_type >= ZPA_NR_ZONE_TYPES || m->zone_idx_of[zone_type] < 0)
		return ZPA_ENOENT;
	struct zone *z = &m->nodes[nid]->node_zones[m->zone_idx_of[zone_type]];

	memset(out, 0, sizeof(uint64_t) * ZPA_MAX_ORDER_LIMIT * ZPA_MIGRATE_TYPES);
	zpa_spin_lock(&z->lock);
	for (unsigned o = 0; o < m->max_order; o++)
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
			uint64_t n = 0;
			for (uint32_t idx = z->free_area[o].free_list[mt].head; idx != ZPA_NIL; idx = z->mem_map[idx].next)
				n++;
			out[o * ZPA_MIGRATE_TYPES + mt] = n;
		}
	zpa_spin_unlock(&z->lock);
	return 0;
}
