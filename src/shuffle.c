/*
 * shuffle.c - free-list randomisation (Linux's page_alloc.shuffle=1,
 * mm/shuffle.c), as an option of the machine config.
 *
 * At setup, each zone's free blocks of the largest order are permuted: for
 * every such block in address order a random partner block of the same
 * order and pageblock type is picked (up to 10 tries) and the two swap places
 * in their free list.  Afterwards frees that end at the largest order go to
 * the head or the tail of their list by a random bit (shuffle_pick_tail),
 * instead of the merge heuristic.  The random source is a seeded splitmix64
 * (cfg.shuffle_seed), so a run is reproducible.  Zone lock held or setup.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

static uint64_t shuffle_rand(struct zpa_machine *m)
{
	uint64_t z = (m->shuffle_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* shuffle_pick_tail(): one random bit per call, 64 per draw as Linux caches them. */
bool shuffle_pick_tail(struct zpa_machine *m)
{
	if (!m->shuffle_bits_left) {
		m->shuffle_bits = shuffle_rand(m);
		m->shuffle_bits_left = 64;
	}
	bool tail = m->shuffle_bits & 1;
	m->shuffle_bits >>= 1;
	m->shuffle_bits_left--;
	return tail;
}

/* A free block of exactly `order` starting at pfn in zone z, or NULL. */
static struct zpa_page *shuffle_valid_page(struct zone *z, unsigned long pfn, unsigned order)
{
	if (!zone_spans_pfn(z, pfn))
		return NULL;
	struct zpa_page *p = pfn_to_page_nid(z->zone_pgdat, pfn);
	if ((p->flags & (PG_hole | PG_reserved)) || !(p->flags & PG_buddy) || page_order(p) != order)
		return NULL;
	return p;
}

/* Swap two entries of the same free list (list_swap). */
static void list_swap_entries(struct zone *z, struct free_list *fl, uint32_t a, uint32_t b)
{
	if (a == b)
		return;
	struct zpa_page *mm = z->mem_map;
	/* Rebuild the neighbourhood through an explicit order of the four links. */
	uint32_t ap = mm[a].prev, an = mm[a].next, bp = mm[b].prev, bn = mm[b].next;
	if (an == b) { /* a directly before b */
		mm[a].prev = b; mm[a].next = bn; mm[b].prev = ap; mm[b].next = a;
		if (ap != ZPA_NIL) mm[ap].next = b; else fl->head = b;
		if (bn != ZPA_NIL) mm[bn].prev = a; else fl->tail = a;
		return;
	}
	if (bn == a) {
		list_swap_entries(z, fl, b, a);
		return;
	}
	mm[a].prev = bp; mm[a].next = bn; mm[b].prev = ap; mm[b].next = an;
	if (ap != ZPA_NIL) mm[ap].next = b; else fl->head = b;
	if (an != ZPA_NIL) mm[an].prev = b; else fl->tail = b;
	if (bp != ZPA_NIL) mm[bp].next = a; else fl->head = a;
	if (bn != ZPA_NIL) mm[bn].prev = a; else fl->tail = a;
}

/* __shuffle_zone(): permute the largest-order free blocks of z. */
static void shuffle_zone(struct zpa_machine *m, struct zone *z)
{
	const unsigned order = m->max_order - 1;
	const unsigned long order_pages = 1ul << order;
	if (!z->spanned_pages)
		return;
	unsigned long start = z->zone_start_pfn, end = start + z->spanned_pages;
	for (unsigned long i = start; i < end; i += order_pages) {
		struct zpa_page *pi = shuffle_valid_page(z, i, order), *pj = NULL;
		if (!pi)
			continue;
		int retry;
		for (retry = 0; retry < 10; retry++) {
			unsigned long j = z->zone_start_pfn + ((shuffle_rand(m) % z->spanned_pages) & ~(order_pages - 1));
			pj = shuffle_valid_page(z, j, order);
			if (pj && pj != pi)
				break;
		}
		if (retry >= 10)
			continue;
		int mt = get_pageblock_migratetype(z, page_to_pfn(z, pi));
		if (get_pageblock_migratetype(z, page_to_pfn(z, pj)) != mt)
			continue;
		int list_mt = (int)((pi->flags & PG_MT_MASK) >> PG_MT_SHIFT);
		if (list_mt != (int)((pj->flags & PG_MT_MASK) >> PG_MT_SHIFT))
			continue;
		list_swap_entries(z, &z->free_area[order].free_list[list_mt], page_index(z, pi), page_index(z, pj));
	}
}

void shuffle_free_memory(struct zpa_machine *m)
{
	m->shuffle_state = m->cfg.shuffle_seed;
	for (unsigned n = 0; n < m->nr_nodes; n++)
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &m->nodes[n]->node_zones[zi];
			zpa_spin_lock(&z->lock);
			shuffle_zone(m, z);
			zpa_spin_unlock(&z->lock);
		}
}
