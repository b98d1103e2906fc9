/*
 * check.c - zpa_check(): one full audit of a machine, the way mimalloc's
 * mi_segment_valid() or TLSF's tlsf_check() audit theirs.
 *
 * For every zone, under its lock:
 *   1. every free list is well linked (prev/next agree, ends match head/tail),
 *      and each entry is a PG_buddy page of the list's order and migratetype,
 *      2^order-aligned, inside the zone, on RAM, with no other page of the
 *      block marked;
 *   2. free_area[order].nr_free equals the blocks found on its lists;
 *   3. NR_FREE_PAGES equals the free pages on every list but MIGRATE_ISOLATE's;
 *   4. a walk over every pfn of the zone accounts each managed page exactly
 *      once, as part of a free block or of an allocated block (PG_alloc head
 *      with refcount >= 1; compound tails point to their head), and
 *      free + allocated == managed_pages;
 *   5. no two free buddies of the same order are left unmerged where the
 *      merge rules would have merged them;
 *   6. every pageblock has a valid migratetype;
 *   7. every per-CPU/per-thread list holds PG_pcp blocks of its order in its
 *      zone, and pcp->count equals the pages on its lists; these pages count
 *      as neither free (NR_FREE_PAGES) nor allocated.
 * Then for every node, under its lru_lock:
 *   8. every LRU list is well linked and holds allocated, referenced head
 *      pages marked PG_onlru (not isolated) whose flags name that list, and
 *      its page count equals the lruvec's count, the node counter
 *      (nr_inactive_anon ...) and the sum of the zones' counters
 *      (nr_zone_inactive_anon ...).
 * Every pageset is locked first, then each zone in turn (pageset -> zone),
 * then each node's lru_lock.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"

struct audit {
	struct zpa_buf out;
	int problems;
};

static void problem(struct audit *a, const struct zone *z, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct audit *a, const struct zone *z, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (a->problems++ < 20)
		zpa_bprintf(&a->out, "node %d zone %s: %s\n", z->zone_pgdat->node_id, z->name, msg);
}

/* Walk one pageset's lists of zone z: returns pages found; reports problems. */
static unsigned long check_pcp_lists(const struct zpa_machine *m, struct zone *z, struct pageset *ps,
				     struct audit *a, long *diff_sum)
{
	struct per_cpu_zone *pz = &ps->z[z->gzi];
	unsigned long pages = 0;
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		diff_sum[i] += pz->vm_stat_diff[i];
	for (unsigned li = 0; li < NR_PCP_LISTS; li++) {
		unsigned order = li >= NR_LOWORDER_PCP_LISTS ? m->pageblock_order : li / ZPA_MIGRATE_PCPTYPES;
		uint32_t prev = ZPA_NIL, idx = pz->pcp.lists[li].head;
		unsigned long guard = z->spanned_pages + 1;
		while (idx != ZPA_NIL) {
			unsigned long pfn = z->node_start_pfn + idx;
			if (!guard-- || !zone_spans_pfn(z, pfn)) {
				problem(a, z, "pcp list %u of %s %d is broken at pfn %#lx", li,
					ps->is_thread ? "thread" : "cpu", ps->cpu, pfn);
				break;
			}
			const struct zpa_page *p = &z->mem_map[idx];
			if (!(p->flags & PG_pcp) || page_order(p) != order || p->prev != prev || p->refcount)
				problem(a, z, "pfn %#lx on pcp list %u: flags %#x refcount %d", pfn, li, p->flags,
					p->refcount);
			pages += 1ul << order;
			prev = idx;
			idx = p->next;
		}
		if (pz->pcp.lists[li].tail != prev)
			problem(a, z, "pcp list %u: tail mismatch", li);
	}
	if (pages != (unsigned long)pz->pcp.count)
		problem(a, z, "pcp count %d, lists hold %lu pages", pz->pcp.count, pages);
	return pages;
}

static void check_zone(struct zpa_machine *m, struct zone *z, struct audit *a)
{
	unsigned long start = z->zone_start_pfn, end = start + z->spanned_pages;
	unsigned long free_counted = 0, free_all = 0, alloc_pages = 0, managed_seen = 0;
	unsigned long pcp_lists = 0, pcp_walk = 0;
	long diff_sum[NR_VM_ZONE_STAT_ITEMS] = { 0 };

	for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++)
		pcp_lists += check_pcp_lists(m, z, m->cpu_pagesets[c], a, diff_sum);
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread)
		pcp_lists += check_pcp_lists(m, z, ps, a, diff_sum);

	/* 1-3: the lists. */
	for (unsigned o = 0; o < m->max_order; o++) {
		unsigned long blocks = 0;
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
			const struct free_list *fl = &z->free_area[o].free_list[mt];
			uint32_t prev = ZPA_NIL, idx = fl->head;
			unsigned long guard = z->spanned_pages + 1;
			while (idx != ZPA_NIL) {
				if (!guard--) {
					problem(a, z, "order %u type %d list loops", o, mt);
					break;
				}
				unsigned long pfn = z->node_start_pfn + idx;
				if (!zone_spans_pfn(z, pfn)) {
					problem(a, z, "order %u type %d list holds pfn %#lx outside the zone", o, mt, pfn);
					break;
				}
				const struct zpa_page *p = &z->mem_map[idx];
				if (p->prev != prev)
					problem(a, z, "pfn %#lx: prev link %u, expected %u", pfn, p->prev, prev);
				if (!(p->flags & PG_buddy))
					problem(a, z, "pfn %#lx on a free list without PG_buddy", pfn);
				if (page_order(p) != o)
					problem(a, z, "pfn %#lx on order-%u list has order %u", pfn, o, page_order(p));
				if ((int)((p->flags & PG_MT_MASK) >> PG_MT_SHIFT) != mt)
					problem(a, z, "pfn %#lx on type-%d list marked type %u", pfn, mt,
						(p->flags & PG_MT_MASK) >> PG_MT_SHIFT);
				if (pfn & ((1ul << o) - 1))
					problem(a, z, "free block pfn %#lx not aligned to order %u", pfn, o);
				if (pfn + (1ul << o) > end)
					problem(a, z, "free block pfn %#lx order %u runs past the zone", pfn, o);
				blocks++;
				free_all += 1ul << o;
				if (mt != ZPA_MIGRATE_ISOLATE)
					free_counted += 1ul << o;
				prev = idx;
				idx = p->next;
			}
			if (fl->tail != prev)
				problem(a, z, "order %u type %d: tail %u, last entry %u", o, mt, fl->tail, prev);
		}
		if (blocks != z->free_area[o].nr_free)
			problem(a, z, "order %u: nr_free %lu, lists hold %lu", o, z->free_area[o].nr_free, blocks);
	}
	if ((long)free_counted != z->vm_stat[NR_FREE_PAGES] + diff_sum[NR_FREE_PAGES])
		problem(a, z, "NR_FREE_PAGES %ld (+%ld unfolded), lists hold %lu", z->vm_stat[NR_FREE_PAGES],
			diff_sum[NR_FREE_PAGES], free_counted);

	/* 4-5: the page walk. */
	unsigned long walk_free = 0;
	for (unsigned long pfn = start; pfn < end;) {
		const struct zpa_page *p = pfn_to_page_nid(z->zone_pgdat, pfn);
		if (page_zidx(p) != (unsigned)z->idx) {
			problem(a, z, "pfn %#lx tagged with zone index %u", pfn, page_zidx(p));
			pfn++;
			continue;
		}
		if (p->flags & (PG_hole | PG_reserved)) {
			if (p->flags & (PG_buddy | PG_alloc))
				problem(a, z, "reserved pfn %#lx is marked free or allocated", pfn);
			pfn++;
			continue;
		}
		unsigned long n;
		if (p->flags & PG_buddy) {
			unsigned o = page_order(p);
			n = 1ul << o;
			walk_free += n;
			if (p->refcount)
				problem(a, z, "free pfn %#lx has refcount %d", pfn, p->refcount);
			unsigned long bpfn = pfn ^ n;
			if (o < m->max_order - 1 && zone_spans_pfn(z, bpfn) && bpfn > pfn) {
				const struct zpa_page *b = pfn_to_page_nid(z->zone_pgdat, bpfn);
				int pmt = get_pageblock_migratetype(z, pfn), bmt = get_pageblock_migratetype(z, bpfn);
				bool mergeable = o < m->pageblock_order || pmt == bmt ||
						 (pmt < ZPA_MIGRATE_PCPTYPES && bmt < ZPA_MIGRATE_PCPTYPES);
				if ((b->flags & PG_buddy) && page_order(b) == o && mergeable)
					problem(a, z, "free buddies %#lx and %#lx of order %u not merged", pfn, bpfn, o);
			}
		} else if (p->flags & PG_pcp) {
			n = 1ul << page_order(p);
			pcp_walk += n;
		} else if (p->flags & PG_alloc) {
			unsigned o = page_order(p);
			n = 1ul << o;
			alloc_pages += n;
			if (p->refcount < 1)
				problem(a, z, "allocated pfn %#lx has refcount %d", pfn, p->refcount);
			if (pfn & (n - 1))
				problem(a, z, "allocated block pfn %#lx not aligned to order %u", pfn, o);
			for (unsigned long i = 1; i < n && pfn + i < end; i++) {
				const struct zpa_page *t = p + i;
				bool want_tail = p->flags & PG_head;
				if ((t->flags & (PG_buddy | PG_alloc | PG_hole | PG_reserved)) ||
				    want_tail != !!(t->flags & PG_tail) ||
				    (want_tail && t->next != (uint32_t)(pfn - z->node_start_pfn))) {
					problem(a, z, "page %#lx inside allocated block %#lx is inconsistent", pfn + i, pfn);
					break;
				}
			}
		} else {
			problem(a, z, "managed pfn %#lx is neither free nor allocated (lost page)", pfn);
			n = 1;
		}
		if (n > 1) {
			for (unsigned long i = 1; i < n && pfn + i < end && (p->flags & PG_buddy); i++) {
				const struct zpa_page *t = p + i;
				if (t->flags & (PG_buddy | PG_alloc | PG_tail | PG_hole | PG_reserved) || t->refcount) {
					problem(a, z, "page %#lx inside free block %#lx is marked", pfn + i, pfn);
					break;
				}
			}
		}
		managed_seen += n;
		pfn += n;
	}
	if (walk_free != free_all)
		problem(a, z, "walk finds %lu free pages, lists hold %lu", walk_free, free_all);
	if (pcp_walk != pcp_lists)
		problem(a, z, "walk finds %lu pages marked pcp, pcp lists hold %lu", pcp_walk, pcp_lists);
	if (managed_seen != z->managed_pages)
		problem(a, z, "free %lu + pcp %lu + allocated %lu = %lu, managed %lu", walk_free, pcp_walk, alloc_pages,
			managed_seen, z->managed_pages);

	/* 6: pageblock types. */
	if (z->spanned_pages)
		for (unsigned long pfn = start & ~(m->pageblock_nr_pages - 1); pfn < end; pfn += m->pageblock_nr_pages) {
			unsigned long at = pfn < start ? start : pfn;
			int mt = get_pageblock_migratetype(z, at);
			if (mt < 0 || mt >= ZPA_MIGRATE_TYPES)
				problem(a, z, "pageblock at %#lx has migratetype %d", pfn, mt);
		}
}

/* Audit 8: a node's LRU lists against page flags and counters.  lru_lock held. */
static void check_lruvec(const struct zpa_machine *m, pg_data_t *pgdat, struct audit *a)
{
	struct lruvec *lv = &pgdat->lruvec;
	struct zone *z0 = &pgdat->node_zones[0];
	for (int lru = 0; lru < NR_LRU_LISTS; lru++) {
		unsigned long pages = 0, zone_pages[ZPA_NR_ZONE_TYPES] = { 0 };
		unsigned long guard = pgdat->node_spanned_pages + 1;
		uint32_t prev = ZPA_NIL;
		for (uint32_t idx = lv->lists[lru].head; idx != ZPA_NIL; idx = pgdat->node_mem_map[idx].next) {
			const struct zpa_page *p = &pgdat->node_mem_map[idx];
			uint32_t f = READ_ONCE(p->flags);
			unsigned long pfn = pgdat->node_start_pfn + idx;
			if (!guard-- || idx >= pgdat->node_spanned_pages) {
				problem(a, z0, "LRU list %d is cyclic or leaves the node", lru);
				break;
			}
			if (p->prev != prev)
				problem(a, z0, "LRU list %d: pfn %#lx has prev %u, expected %u", lru, pfn, p->prev, prev);
			if (!(f & PG_alloc) || (f & (PG_tail | PG_buddy | PG_pcp | PG_isolated)) || !(f & PG_onlru) ||
			    page_lru_of(f) != lru || p->refcount < 1)
				problem(a, z0, "LRU list %d: pfn %#lx has flags %#x refcount %d", lru, pfn, f, p->refcount);
			unsigned long nr = 1ul << (f & PG_ORDER_MASK);
			pages += nr;
			zone_pages[page_zidx(p)] += nr;
			prev = idx;
		}
		if (lv->lists[lru].tail != prev)
			problem(a, z0, "LRU list %d: tail %u, last entry %u", lru, lv->lists[lru].tail, prev);
		if (pages != lv->nr_pages[lru])
			problem(a, z0, "LRU list %d holds %lu pages, its count says %lu", lru, pages, lv->nr_pages[lru]);
		if ((long)pages != node_page_state(pgdat, (enum node_stat_item)(NR_INACTIVE_ANON + lru)))
			problem(a, z0, "LRU list %d holds %lu pages, the node counter says %ld", lru, pages,
				node_page_state(pgdat, (enum node_stat_item)(NR_INACTIVE_ANON + lru)));
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			long counted = READ_ONCE(z->vm_stat[NR_ZONE_INACTIVE_ANON + lru]);
			if (counted != (long)zone_pages[zi])
				problem(a, z, "LRU list %d holds %lu of the zone's pages, the zone counter says %ld", lru,
					zone_pages[zi], counted);
		}
	}
}

int zpa_check(struct zpa_machine *m, char *report, size_t size)
{
	struct audit a = { { report, size, 0 }, 0 };
	if (report && size)
		report[0] = 0;
	pagesets_lock_all(m);
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &m->nodes[n]->node_zones[zi];
			zpa_spin_lock(&z->lock);
			check_zone(m, z, &a);
			zpa_spin_unlock(&z->lock);
		}
	}
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		zpa_spin_lock(&pgdat->lruvec.lru_lock);
		check_lruvec(m, pgdat, &a);
		zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	}
	pagesets_unlock_all(m);
	if (a.problems > 20)
		zpa_bprintf(&a.out, "... %d problems in all\n", a.problems);
	return a.problems ? ZPA_ECORRUPT : 0;
}
