/*
 * startstate.c - put a freshly created machine into the state the kernel
 * was in when the trace began, as closely as the snapshot and the trace
 * allow, and say how closely.
 *
 * What is known.  The snapshot taken at the start gives, per zone, the free
 * blocks per order and migratetype (pagetypeinfo), the pageblocks per
 * migratetype and the pages on each CPU's lists (zoneinfo).  It does not say
 * where.  The trace adds positions (rp_facts_build):
 *   - a block whose first event is a free was in use at the start
 *     ("pretrace" blocks: the replay frees them, so zpa must hold exactly
 *     them, at the same pfn and order);
 *   - a block whose first event is an allocation was free at the start
 *     ("known free": in a free block, or on a per-CPU list);
 *   - allocations and drains vote for the migratetype of their pageblock.
 *
 * The construction, per zone (sim.h's protocol):
 *   1. Hold every page (zpa_sim_hold_all).
 *   2. Pageblock types: blocks without managed pages are Movable (as Linux
 *      leaves them); blocks the trace voted for get the winning type while
 *      the snapshot's count for it lasts; the remaining counts go to the
 *      remaining blocks in address order, the non-movable types first (Linux
 *      hands boot memory out from low pfns first, so early kernel
 *      allocations, which turn pageblocks Unmovable, sit low).
 *   3. Pretrace blocks are reserved for zpa_sim_make_block().
 *   4. Free blocks, from the highest order down, each type's count: first at
 *      positions that cover known-free pages (earliest use first), then in
 *      address order.  A position is valid when all its pages are held and
 *      unclaimed, its pageblocks have the type, and its buddy is not a free
 *      block of the same order already chosen (the two would merge).
 *   5. Apply: types, pretrace blocks (with an identity entry in the pfn map),
 *      free blocks given back in reverse order of choice, so the first
 *      chosen ends at the head of its list, where the kernel's next
 *      allocation looks.
 *   6. Per-CPU lists: each CPU's count of order-0 pages freed through that
 *      CPU's task, known-free pages that CPU allocated first (reverse order
 *      of use: the first used ends on top), then other held pages.
 *   7. Measure: free blocks per order and type against the snapshot (L1 in
 *      blocks and in pages), pageblock counts, per-CPU pages placed.
 * Pages left held stand for memory in use whose owner the trace never
 * shows; they are never freed.
 *
 * Zones the snapshot has no numbers for get all their pages back (the boot
 * state).  Everything is deterministic: no randomness, address-order ties.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

/* Linux's x86-64 PAGES_PER_SECTION (128 MiB of 4 KiB pages): deferred init starts after one. */
#define SECTION_PAGES 32768ull

/* Page marks of the construction (st[] per page of the zone). */
enum {
	ST_NONE = ZPA_SIM_PAGE_NONE,
	ST_HELD = ZPA_SIM_PAGE_HELD,
	ST_PRE = 10,            /* reserved for a pretrace block */
	ST_CHOSEN = 11,         /* inside a chosen free block */
	ST_PCP = 12,            /* picked for a per-CPU list */
	ST_CHOSEN_HEAD = 32,    /* + order: first page of a chosen free block */
};

/* ------------------------------------------------------------ facts */

static inline bool bit_test(const uint64_t *b, uint64_t i) { return (b[i >> 6] >> (i & 63)) & 1; }
static inline void bit_set(uint64_t *b, uint64_t i) { b[i >> 6] |= 1ull << (i & 63); }

/* 0: no page of the range seen, 2: every page seen, 1: some. */
static int range_seen(const uint64_t *b, uint64_t pfn, uint64_t n)
{
	uint64_t seen = 0;
	for (uint64_t i = 0; i < n; i++)
		seen += bit_test(b, pfn + i);
	return seen == 0 ? 0 : seen == n ? 2 : 1;
}

static void range_mark(uint64_t *b, uint64_t pfn, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		bit_set(b, pfn + i);
}

int rp_facts_build(const struct rp_trace *t, uint64_t max_pfn, unsigned pageblock_order, unsigned max_order,
		   struct rp_facts *f)
{
	size_t cap_pre = 1024, cap_kf = 1024;
	uint64_t *seen, *refilled;

	memset(f, 0, sizeof(*f));
	f->max_pfn = max_pfn;
	f->pageblock_order = pageblock_order;
	f->nr_pageblocks = (max_pfn >> pageblock_order) + 1;
	seen = calloc((max_pfn + 64) / 64, sizeof(uint64_t));
	refilled = calloc((max_pfn + 64) / 64, sizeof(uint64_t));
	f->has_zone_locked = t->count[RP_EV_ZONE_LOCKED] > 0;
	f->votes = calloc(f->nr_pageblocks, sizeof(*f->votes));
	f->pretrace = malloc(cap_pre * sizeof(*f->pretrace));
	f->known_free = malloc(cap_kf * sizeof(*f->known_free));
	if (!seen || !refilled || !f->votes || !f->pretrace || !f->known_free) {
		free(seen);
		free(refilled);
		rp_facts_free(f);
		return ZPA_ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct rp_event *e = &t->ev[i];
		if (e->pfn == RP_NO_PFN)
			continue;
		if (e->type != RP_EV_ALLOC && e->type != RP_EV_FREE && e->type != RP_EV_PCPU_DRAIN &&
		    e->type != RP_EV_ZONE_LOCKED)
			continue;
		uint64_t n = 1ull << e->order;
		if (e->order >= max_order || e->pfn >= max_pfn || e->pfn + n > max_pfn) {
			f->outside++;
			continue;
		}
		if (e->type == RP_EV_ZONE_LOCKED) {
			range_mark(refilled, e->pfn, n);
			continue;
		}
		if (e->type == RP_EV_PCPU_DRAIN) {
			if (e->mt >= 0 && e->mt < ZPA_MIGRATE_PCPTYPES)
				f->votes[e->pfn >> pageblock_order][e->mt]++;
			continue;
		}
		int s = range_seen(seen, e->pfn, n);
		if (e->type == RP_EV_ALLOC) {
			int mt = e->mt >= 0 && e->mt < ZPA_MIGRATE_PCPTYPES ? e->mt
				 : (int)((e->gfp & (ZPA___GFP_RECLAIMABLE | ZPA___GFP_MOVABLE)) >> 3);
			if (mt < ZPA_MIGRATE_PCPTYPES)
				for (uint64_t pb = e->pfn >> pageblock_order; pb <= (e->pfn + n - 1) >> pageblock_order; pb++)
					f->votes[pb][mt]++;
			if (s == 0) {
				if (f->nr_known_free == cap_kf) {
					void *nk = realloc(f->known_free, cap_kf * 2 * sizeof(*f->known_free));
					if (!nk)
						goto nomem;
					f->known_free = nk;
					cap_kf *= 2;
				}
				struct rp_known *k = &f->known_free[f->nr_known_free++];
				k->pfn = e->pfn;
				k->order = e->order;
				k->cpu = e->cpu;
				k->seq = (uint32_t)i;
				k->from_pcp = f->has_zone_locked && !bit_test(refilled, e->pfn) &&
					      (e->order <= 3 || e->order == pageblock_order);
			}
		} else if (s == 0) {
			if (f->nr_pretrace == cap_pre) {
				void *np = realloc(f->pretrace, cap_pre * 2 * sizeof(*f->pretrace));
				if (!np)
					goto nomem;
				f->pretrace = np;
				cap_pre *= 2;
			}
			f->pretrace[f->nr_pretrace].pfn = e->pfn;
			f->pretrace[f->nr_pretrace].order = e->order;
			f->nr_pretrace++;
		} else if (s == 1) {
			f->inconsistent++;
		}
		if (s != 2)
			range_mark(seen, e->pfn, n);
	}
	free(seen);
	free(refilled);
	return 0;
nomem:
	free(seen);
	free(refilled);
	rp_facts_free(f);
	return ZPA_ENOMEM;
}

void rp_facts_free(struct rp_facts *f)
{
	free(f->pretrace);
	free(f->known_free);
	free(f->votes);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------ one zone */

struct zone_build {
	struct zpa_machine *m;
	const struct rp_snap_zone *sz;
	const struct rp_facts *f;
	uint64_t zs, ze;           /* zone span [zs, ze) */
	unsigned pb, max_order;
	uint8_t *st;               /* per page of the span */
	uint64_t pb_first, nr_pb;  /* pageblocks touched: pfn >> pb from pb_first */
	uint64_t deferred_from;    /* first pfn of deferred struct page init (0: none in this zone) */
	int8_t *pbt;               /* chosen type per pageblock, -1 while open */
	uint8_t *counted;          /* per pageblock: counted in the snapshot's "Number of blocks" */
	int64_t remaining[ZPA_MIGRATE_PCPTYPES + 1]; /* pageblocks of each type still to hand out; -1: no count */
	uint64_t (*tgt)[ZPA_MIGRATE_TYPES];
	struct rp_block *chosen;
	size_t nr_chosen, cap_chosen;
	/* pages for the per-CPU lists, per snapshot pageset entry */
	uint64_t *pcp_pages[ZPA_MAX_CPUS];
	uint64_t pcp_got[ZPA_MAX_CPUS];
};

static inline uint8_t *stp(struct zone_build *b, uint64_t pfn) { return &b->st[pfn - b->zs]; }
static inline int8_t *pbtp(struct zone_build *b, uint64_t pfn) { return &b->pbt[(pfn >> b->pb) - b->pb_first]; }

/* Are [pfn, pfn+n) all held and unclaimed? */
static bool all_held(struct zone_build *b, uint64_t pfn, uint64_t n)
{
	const uint8_t *s = stp(b, pfn);
	for (uint64_t i = 0; i < n; i++)
		if (s[i] != ST_HELD)
			return false;
	return true;
}

/*
 * Can a free block of order o and type mt start at p?  Open pageblocks may
 * take the type while its count lasts (for blocks of a pageblock or more).
 */
static bool valid_free_pos(struct zone_build *b, uint64_t p, unsigned o, int mt)
{
	uint64_t n = 1ull << o;
	int64_t open = 0;
	if (p < b->zs || p + n > b->ze || (p & (n - 1)))
		return false;
	for (uint64_t q = p >> b->pb; q <= (p + n - 1) >> b->pb; q++) {
		int t = b->pbt[q - b->pb_first];
		if (t == mt)
			continue;
		if (t >= 0 || o < b->pb)
			return false;
		open++;
	}
	if (open && b->remaining[mt] >= 0 && b->remaining[mt] < open)
		return false;
	if (!all_held(b, p, n))
		return false;
	if (o + 1 < b->max_order) {
		uint64_t bud = p ^ n;
		if (bud >= b->zs && bud < b->ze && *stp(b, bud) == ST_CHOSEN_HEAD + o)
			return false;
	}
	return true;
}

static int choose(struct zone_build *b, uint64_t p, unsigned o, int mt)
{
	uint64_t n = 1ull << o;
	if (b->nr_chosen == b->cap_chosen) {
		size_t cap = b->cap_chosen ? b->cap_chosen * 2 : 256;
		void *nc = realloc(b->chosen, cap * sizeof(*b->chosen));
		if (!nc)
			return ZPA_ENOMEM;
		b->chosen = nc;
		b->cap_chosen = cap;
	}
	b->chosen[b->nr_chosen].pfn = p;
	b->chosen[b->nr_chosen].order = (uint8_t)o;
	b->nr_chosen++;
	for (uint64_t q = p >> b->pb; q <= (p + n - 1) >> b->pb; q++)
		if (b->pbt[q - b->pb_first] < 0) {
			b->pbt[q - b->pb_first] = (int8_t)mt;
			if (b->remaining[mt] > 0)
				b->remaining[mt]--;
		}
	memset(stp(b, p), ST_CHOSEN, n);
	*stp(b, p) = (uint8_t)(ST_CHOSEN_HEAD + o);
	return 0;
}

/* Step 2a: pageblocks without managed pages, and the trace's votes. */
static void assign_fixed_types(struct zone_build *b)
{
	const struct rp_snap_zone *sz = b->sz;

	uint64_t counted = 0;
	for (int mt = 0; mt <= ZPA_MIGRATE_HIGHATOMIC; mt++)
		b->remaining[mt] = sz->has_blocks ? (int64_t)sz->blocks[mt] : -1;
	for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
		counted += sz->has_blocks ? sz->blocks[mt] : 0;
	/*
	 * Linux counts only pageblocks whose struct pages are initialised: a
	 * kernel with lazy deferred init (newer than 6.1) leaves memory it has
	 * not reached yet out of "Number of blocks type".  The shortfall is
	 * taken from the pageblocks without managed pages, highest first (zpa
	 * reserves a zone's unmanaged pages at its top), and costs no count.
	 */
	uint64_t uncounted = sz->has_blocks && counted < b->nr_pb ? b->nr_pb - counted : 0;
	for (uint64_t i = 0; i < b->nr_pb; i++) {
		b->pbt[i] = -1;
		b->counted[i] = 1;
	}
	/*
	 * Blocks without a managed page: memmap_init() makes every pageblock it
	 * initialises Movable, but with deferred struct page init (Debian's
	 * kernels) only the first section of a node's highest zone is
	 * initialised early; later, only pageblocks with free pages are set
	 * Movable, so wholly reserved ones there keep type 0, Unmovable.
	 */
	for (uint64_t i = b->nr_pb; i-- > 0;) {
		uint64_t s = (b->pb_first + i) << b->pb, e = s + (1ull << b->pb);
		if (s < b->zs)
			s = b->zs;
		if (e > b->ze)
			e = b->ze;
		bool any = false;
		for (uint64_t p = s; p < e && !any; p++)
			any = *stp(b, p) != ST_NONE;
		if (!any && uncounted) {
			uncounted--;
			b->counted[i] = 0;
			b->pbt[i] = ZPA_MIGRATE_MOVABLE;
		} else if (!any) {
			int mt = b->deferred_from && s >= b->deferred_from && b->remaining[ZPA_MIGRATE_UNMOVABLE] != 0
					 ? ZPA_MIGRATE_UNMOVABLE : ZPA_MIGRATE_MOVABLE;
			b->pbt[i] = (int8_t)mt;
			if (b->remaining[mt] > 0)
				b->remaining[mt]--;
		}
	}
	/* Voted blocks: the winner while its count lasts (no counts: always). */
	for (uint64_t i = 0; i < b->nr_pb; i++) {
		uint64_t pbi = b->pb_first + i;
		if (b->pbt[i] >= 0 || pbi >= b->f->nr_pageblocks)
			continue;
		const uint32_t *v = b->f->votes[pbi];
		int best = -1;
		for (int mt = 0; mt < ZPA_MIGRATE_PCPTYPES; mt++)
			if (v[mt] && (best < 0 || v[mt] > v[best]))
				best = mt;
		if (best >= 0 && b->remaining[best] != 0) {
			b->pbt[i] = (int8_t)best;
			if (b->remaining[best] > 0)
				b->remaining[best]--;
		}
	}
}

/* Step 2b: the open pageblocks in address order, non-movable types first, then Movable. */
static void assign_rest_types(struct zone_build *b)
{
	static const int order_of_types[] = { ZPA_MIGRATE_UNMOVABLE, ZPA_MIGRATE_RECLAIMABLE, ZPA_MIGRATE_HIGHATOMIC };
	unsigned ti = 0;
	for (uint64_t i = 0; i < b->nr_pb; i++) {
		if (b->pbt[i] >= 0)
			continue;
		while (ti < 3 && b->remaining[order_of_types[ti]] <= 0)
			ti++;
		if (ti < 3) {
			b->pbt[i] = (int8_t)order_of_types[ti];
			b->remaining[order_of_types[ti]]--;
		} else {
			b->pbt[i] = ZPA_MIGRATE_MOVABLE;
		}
	}
}

/* Step 4: choose the free blocks of orders [lo, hi).  Returns 0 or ZPA_ENOMEM. */
static int choose_free_blocks(struct zone_build *b, unsigned lo, unsigned hi)
{
	const struct rp_facts *f = b->f;
	for (int o = (int)hi - 1; o >= (int)lo; o--) {
		uint64_t n = 1ull << o;
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
			uint64_t need = b->tgt[o][mt];
			if (!need || mt == ZPA_MIGRATE_ISOLATE || mt == ZPA_MIGRATE_CMA)
				continue;
			/* Pass 1: where the kernel later took pages from the buddy lists (earliest first). */
			for (size_t k = 0; k < f->nr_known_free && need; k++) {
				if (f->known_free[k].from_pcp)
					continue;
				uint64_t p = f->known_free[k].pfn & ~(n - 1);
				if (p < b->zs || p >= b->ze || !valid_free_pos(b, p, (unsigned)o, mt))
					continue;
				if (choose(b, p, (unsigned)o, mt))
					return ZPA_ENOMEM;
				need--;
			}
			/* Pass 2: address order, pageblocks of the type first, then open ones. */
			for (int pass = 0; pass < 2 && need; pass++)
				for (uint64_t p = (b->zs + n - 1) & ~(n - 1); p + n <= b->ze && need; p += n) {
					if (pass == 0 && *pbtp(b, p) != mt)
						continue;
					if (!valid_free_pos(b, p, (unsigned)o, mt))
						continue;
					if (choose(b, p, (unsigned)o, mt))
						return ZPA_ENOMEM;
					need--;
				}
		}
	}
	return 0;
}

/* Give every held page of the zone back, in maximal aligned blocks (the boot state). */
static void give_back_all(struct zone_build *b)
{
	uint64_t p = b->zs;
	while (p < b->ze) {
		if (*stp(b, p) != ST_HELD) {
			p++;
			continue;
		}
		unsigned o = 0;
		while (o + 1 < b->max_order && !(p & ((2ull << o) - 1)) && p + (2ull << o) <= b->ze &&
		       all_held(b, p, 2ull << o))
			o++;
		zpa_sim_give_block(b->m, p, o, true);
		memset(stp(b, p), ST_CHOSEN, 1ull << o);
		p += 1ull << o;
	}
}

/* Step 3b: the known per-CPU pages (allocated in the trace without a refill first). */
static int mark_known_pcp(struct zone_build *b, unsigned nr_tasks)
{
	const struct rp_snap_zone *sz = b->sz;
	const struct rp_facts *f = b->f;

	for (unsigned k = 0; k < sz->nr_pcp && k < ZPA_MAX_CPUS; k++) {
		uint64_t want = (uint64_t)(sz->pcp_count[k] > 0 ? sz->pcp_count[k] : 0);
		int cpu = sz->pcp_cpu[k];
		if (!want || cpu < 0 || (unsigned)cpu >= nr_tasks)
			continue;
		b->pcp_pages[k] = malloc(want * sizeof(uint64_t));
		if (!b->pcp_pages[k])
			return ZPA_ENOMEM;
		for (size_t i = 0; i < f->nr_known_free && b->pcp_got[k] < want; i++) {
			const struct rp_known *kf = &f->known_free[i];
			if (!kf->from_pcp || kf->cpu != cpu || kf->order != 0 || kf->pfn < b->zs || kf->pfn >= b->ze ||
			    *stp(b, kf->pfn) != ST_HELD)
				continue;
			*stp(b, kf->pfn) = ST_PCP;
			b->pcp_pages[k][b->pcp_got[k]++] = kf->pfn;
		}
	}
	return 0;
}

/* Step 6: fill the per-CPU lists up to the snapshot's counts and free them through each CPU. */
static void fill_pcp(struct zone_build *b, struct zpa_task **tasks, unsigned nr_tasks, struct rp_start_zone *rz)
{
	const struct rp_snap_zone *sz = b->sz;
	uint64_t scan = b->ze;           /* other held pages come from the top, Movable first */
	int scan_pass = 0;

	for (unsigned k = 0; k < sz->nr_pcp && k < ZPA_MAX_CPUS; k++) {
		uint64_t want = (uint64_t)(sz->pcp_count[k] > 0 ? sz->pcp_count[k] : 0);
		int cpu = sz->pcp_cpu[k];
		rz->pcp_target += want;
		if (!b->pcp_pages[k])
			continue;
		while (b->pcp_got[k] < want && scan_pass < 2) {
			if (scan == b->zs) {
				scan = b->ze;
				scan_pass++;
				continue;
			}
			uint64_t p = --scan;
			int t = *pbtp(b, p);
			if (*stp(b, p) != ST_HELD || (scan_pass == 0 ? t != ZPA_MIGRATE_MOVABLE : t >= ZPA_MIGRATE_PCPTYPES))
				continue;
			*stp(b, p) = ST_PCP;
			b->pcp_pages[k][b->pcp_got[k]++] = p;
		}
		/* Reverse order of use: the page the CPU takes first goes on top last. */
		for (uint64_t i = b->pcp_got[k]; i-- > 0;)
			zpa__free_pages(b->m, tasks[cpu], b->pcp_pages[k][i], 0);
	}
	/* What stayed on the lists: beyond zpa's `high` a free drains a batch to the buddy lists. */
	struct zpa_zone_info zi;
	if (zpa_zone_info(b->m, rz->nid, rz->zone_type, &zi) == 0)
		rz->pcp_placed = zi.pcp;
	(void)nr_tasks;
}

static int build_zone(struct zone_build *b, struct zpa_task **tasks, unsigned nr_tasks, struct rp_pfnmap *map,
		      struct rp_start_zone *rz)
{
	struct zpa_machine *m = b->m;
	const struct rp_snap_zone *sz = b->sz;
	const struct rp_facts *f = b->f;
	uint64_t tgt[ZPA_MAX_ORDER_LIMIT][ZPA_MIGRATE_TYPES];
	int rc = 0;

	b->tgt = tgt;
	memset(tgt, 0, sizeof(tgt));
	if (sz && sz->has_free_types) {
		memcpy(tgt, sz->free, sizeof(tgt));
	} else if (sz && sz->has_buddy) {
		for (unsigned o = 0; o < ZPA_MAX_ORDER_LIMIT; o++)
			tgt[o][ZPA_MIGRATE_MOVABLE] = sz->buddy[o];
	}
	for (unsigned o = b->max_order; o < ZPA_MAX_ORDER_LIMIT; o++)
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
			tgt[o][mt] = 0;

	b->st = malloc(b->ze - b->zs);
	b->nr_pb = ((b->ze - 1) >> b->pb) - (b->zs >> b->pb) + 1;
	b->pb_first = b->zs >> b->pb;
	b->pbt = malloc(b->nr_pb);
	b->counted = malloc(b->nr_pb);
	if (!b->st || !b->pbt || !b->counted)
		return ZPA_ENOMEM;
	memset(b->counted, 1, b->nr_pb);
	zpa_sim_page_states(m, b->zs, b->ze - b->zs, b->st);

	if (!sz || (!sz->has_free_types && !sz->has_buddy)) {
		give_back_all(b);
		return 0;
	}

	assign_fixed_types(b);

	/* Step 3: pretrace blocks of this zone, then the known per-CPU pages. */
	for (size_t i = 0; i < f->nr_pretrace; i++) {
		uint64_t p = f->pretrace[i].pfn, n = 1ull << f->pretrace[i].order;
		if (p < b->zs || p >= b->ze)
			continue;
		rz->pretrace_blocks++;
		if (p + n > b->ze || !all_held(b, p, n)) {
			rz->pretrace_unplaced++;
			continue;
		}
		memset(stp(b, p), ST_PRE, n);
	}
	rc = mark_known_pcp(b, nr_tasks);
	if (rc)
		return rc;

	/* Step 4: free blocks of a pageblock or more (they may claim open pageblocks), the rest of
	 * the types, then the smaller free blocks. */
	rc = choose_free_blocks(b, b->pb < b->max_order ? b->pb : b->max_order, b->max_order);
	if (rc)
		return rc;
	assign_rest_types(b);
	rc = choose_free_blocks(b, 0, b->pb < b->max_order ? b->pb : b->max_order);
	if (rc)
		return rc;

	/* Step 5: apply. */
	for (uint64_t i = 0; i < b->nr_pb; i++) {
		uint64_t p = (b->pb_first + i) << b->pb;
		if (p < b->zs)
			p = b->zs;
		if (zpa_sim_pageblock_migratetype(m, p) != b->pbt[i])
			zpa_sim_set_pageblock_migratetype(m, p, b->pbt[i]);
	}
	for (size_t i = 0; i < f->nr_pretrace; i++) {
		uint64_t p = f->pretrace[i].pfn;
		if (p < b->zs || p >= b->ze || *stp(b, p) != ST_PRE)
			continue;
		int mt = *pbtp(b, p);
		zpa_gfp_t gfp = mt == ZPA_MIGRATE_MOVABLE ? ZPA_GFP_HIGHUSER_MOVABLE : ZPA_GFP_KERNEL;
		if (zpa_sim_make_block(m, p, f->pretrace[i].order, gfp) == 0) {
			if (rp_pfnmap_put(map, p, p, f->pretrace[i].order, RP_MAP_PRETRACE))
				return ZPA_ENOMEM;
		} else {
			rz->pretrace_unplaced++;
		}
	}
	for (size_t i = b->nr_chosen; i-- > 0;)
		zpa_sim_give_block(m, b->chosen[i].pfn, b->chosen[i].order, false);

	/* Step 6: per-CPU lists. */
	fill_pcp(b, tasks, nr_tasks, rz);
	return 0;
}

/* Step 7: how far zpa's zone is from the snapshot's. */
static void measure_zone(struct zpa_machine *m, const struct rp_snap_zone *sz, unsigned max_order, unsigned pb,
			 uint64_t zs, uint64_t ze, const uint8_t *counted_pb, struct rp_start_zone *rz)
{
	uint64_t have[ZPA_MAX_ORDER_LIMIT * ZPA_MIGRATE_TYPES];
	struct zpa_zone_info zi;

	if (zpa_sim_free_blocks(m, rz->nid, rz->zone_type, have) != 0)
		return;
	if (zpa_zone_info(m, rz->nid, rz->zone_type, &zi) == 0)
		rz->zpa_free_pages = zi.free;
	if (!sz)
		return;
	for (unsigned o = 0; o < max_order; o++)
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
			uint64_t want = sz->has_free_types ? sz->free[o][mt]
					: mt == ZPA_MIGRATE_MOVABLE ? sz->buddy[o] : 0;
			uint64_t got = have[o * ZPA_MIGRATE_TYPES + mt];
			if (!sz->has_free_types) {
				/* Only buddyinfo: compare per order across types. */
				if (mt != ZPA_MIGRATE_MOVABLE)
					continue;
				got = 0;
				for (int t = 0; t < ZPA_MIGRATE_TYPES; t++)
					got += have[o * ZPA_MIGRATE_TYPES + t];
			}
			uint64_t d = want > got ? want - got : got - want;
			rz->l1_blocks += d;
			rz->l1_pages += d << o;
			rz->target_free_pages += want << o;
		}
	if (sz->has_blocks) {
		uint64_t count[ZPA_MIGRATE_TYPES] = { 0 };
		/* Linux counts the pageblocks from zone_start_pfn in pageblock steps. */
		for (uint64_t p = zs; p < ze; p += 1ull << pb) {
			if (counted_pb && !counted_pb[(p >> pb) - (zs >> pb)])
				continue;
			int mt = zpa_sim_pageblock_migratetype(m, p);
			if (mt >= 0 && mt < ZPA_MIGRATE_TYPES)
				count[mt]++;
		}
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
			rz->l1_pageblocks += count[mt] > sz->blocks[mt] ? count[mt] - sz->blocks[mt]
									  : sz->blocks[mt] - count[mt];
	}
}

int rp_build_start_state(struct zpa_machine *m, const struct rp_snapshot *s, const struct rp_facts *f,
			 struct zpa_task **tasks, unsigned nr_tasks, struct rp_pfnmap *map,
			 struct rp_start_state *st)
{
	double t0 = rp_now();
	unsigned max_order = zpa_max_order(m);
	unsigned pb = f->pageblock_order;
	int rc = 0;

	zpa_sim_hold_all(m);
	st->nr_zones = 0;
	for (unsigned nid = 0; nid < zpa_nr_nodes(m) && !rc; nid++) {
		for (int type = 0; type < ZPA_NR_ZONE_TYPES && !rc; type++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(m, (int)nid, type, &zi) != 0 || !zi.managed || !zi.spanned)
				continue;
			const struct rp_snap_zone *sz = NULL;
			for (unsigned i = 0; i < s->nr_zones; i++)
				if (s->zones[i].nid == (int)nid && s->zones[i].zone_type == type)
					sz = &s->zones[i];
			if (st->nr_zones >= RP_MAX_ZONES)
				break;
			struct rp_start_zone *rz = &st->zones[st->nr_zones++];
			memset(rz, 0, sizeof(*rz));
			rz->nid = (int)nid;
			rz->zone_type = type;
			struct zone_build b = {
				.m = m, .sz = sz, .f = f, .zs = zi.start_pfn, .ze = zi.start_pfn + zi.spanned,
				.pb = pb, .max_order = max_order,
			};
			/* The node's highest zone with memory defers its struct pages after one section. */
			bool highest = true;
			for (int t2 = type + 1; t2 < ZPA_NR_ZONE_TYPES; t2++) {
				struct zpa_zone_info z2;
				if (zpa_zone_info(m, (int)nid, t2, &z2) == 0 && z2.spanned)
					highest = false;
			}
			if (highest)
				b.deferred_from = ((b.zs + SECTION_PAGES) + SECTION_PAGES - 1) & ~(SECTION_PAGES - 1);
			rc = build_zone(&b, tasks, nr_tasks, map, rz);
			if (!rc)
				measure_zone(m, sz, max_order, pb, b.zs, b.ze, b.counted, rz);
			free(b.st);
			free(b.pbt);
			free(b.counted);
			free(b.chosen);
			for (unsigned k = 0; k < ZPA_MAX_CPUS; k++)
				free(b.pcp_pages[k]);
		}
	}
	for (unsigned i = 0; i < st->nr_zones; i++) {
		st->target_free_pages += st->zones[i].target_free_pages;
		st->zpa_free_pages += st->zones[i].zpa_free_pages;
		st->l1_pages += st->zones[i].l1_pages;
		st->l1_blocks += st->zones[i].l1_blocks;
		st->l1_pageblocks += st->zones[i].l1_pageblocks;
	}
	st->built = rc == 0;
	st->seconds = rp_now() - t0;
	return rc;
}
