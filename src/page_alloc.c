/*
 * page_alloc.c - the heart of zpa: __alloc_pages(), get_page_from_freelist(),
 * rmqueue(), prep_new_page() and the free path, following Linux 6.1.
 *
 * Allocation:
 *   __alloc_pages
 *     -> order and GFP checks, gfp_allowed_mask, the task's NOIO/NOFS scope
 *     -> prepare_alloc_pages: highest zone index, zonelist, migratetype
 *     -> get_page_from_freelist at the LOW watermark (+ ALLOC_NOFRAGMENT)
 *          walks the zonelist; __zone_watermark_ok with lowmem_reserve;
 *          rmqueue -> __rmqueue (buddy.c) -> prep_new_page
 *     -> __alloc_pages_slowpath: gfp_to_alloc_flags (MIN watermark with the
 *          ALLOC_MIN_RESERVE / ALLOC_NON_BLOCK / ALLOC_HIGHATOMIC reserves),
 *          then the PF_MEMALLOC/__GFP_MEMALLOC no-watermark attempt.
 * Free:
 *   __free_pages -> reference drop -> free_pages_prepare checks (bad_page)
 *     -> __free_one_page (buddy.c) under the zone lock.
 *
 * Locking: the zone lock covers the free lists, the zone counters, page flags
 * and reference counts of the zone's pages.  No call holds two zone locks.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

/* ---- tasks ---- */

static _Thread_local struct zpa_task thread_task = { .cpu = -1, .flags = 0, .is_thread_default = true };

struct zpa_task *zpa_task_current(void)
{
	return &thread_task;
}

struct zpa_task *zpa_task_create(void)
{
	struct zpa_task *t = zpa_port_zalloc(sizeof(*t));
	if (t)
		t->cpu = -1;
	return t;
}

void zpa_task_destroy(struct zpa_task *t)
{
	if (t && !t->is_thread_default)
		zpa_port_free(t);
}

void zpa_task_set_cpu(struct zpa_task *t, int cpu) { t->cpu = cpu < 0 ? -1 : cpu; }
int zpa_task_cpu(const struct zpa_task *t) { return t->cpu; }
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

/* The machine CPU the task runs on, and its node (numa_node_id()). */
static inline int task_cpu(const struct zpa_machine *m, const struct zpa_task *t)
{
	int cpu = t->cpu >= 0 ? t->cpu : zpa_port_cpu_id();
	return m->cfg.nr_cpus ? cpu % (int)m->cfg.nr_cpus : 0;
}

static inline int task_node(const struct zpa_machine *m, const struct zpa_task *t)
{
	return m->cfg.nr_cpus ? m->cfg.cpu_node[task_cpu(m, t)] : 0;
}

/* ---- counters ---- */

void count_vm_event(struct zpa_machine *m, enum vm_event_item item, unsigned long n)
{
	atomic_fetch_add_explicit(&m->vm_events[item], n, memory_order_relaxed);
}

static inline void count_numa_event(struct zone *z, enum numa_stat_item i, long n)
{
	atomic_fetch_add_explicit(&z->vm_numa_event[i], n, memory_order_relaxed);
}

/*
 * zone_statistics(): a hit when the page comes from the preferred zone's node,
 * else a miss there and a foreign on the preferred zone; local or other by
 * the allocating CPU's node.
 */
static void zone_statistics(const struct zpa_machine *m, const struct zpa_task *task, struct zone *preferred,
			    struct zone *z, long nr)
{
	int nid = z->zone_pgdat->node_id;
	if (nid == preferred->zone_pgdat->node_id) {
		count_numa_event(z, NUMA_HIT, nr);
	} else {
		count_numa_event(z, NUMA_MISS, nr);
		count_numa_event(preferred, NUMA_FOREIGN, nr);
	}
	count_numa_event(z, nid == task_node(m, task) ? NUMA_LOCAL : NUMA_OTHER, nr);
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
		unusable += (long)z->nr_reserved_highatomic;
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
	if (free_pages <= min + z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	for (unsigned o = order; o < m->max_order; o++) {
		const struct free_area *area = &z->free_area[o];
		if (!area->nr_free)
			continue;
		for (int mt = 0; mt < ZPA_MIGRATE_PCPTYPES; mt++)
			if (area->free_list[mt].head != ZPA_NIL)
				return true;
		if ((alloc_flags & ALLOC_CMA) && area->free_list[ZPA_MIGRATE_CMA].head != ZPA_NIL)
			return true;
		if ((alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_OOM)) &&
		    area->free_list[ZPA_MIGRATE_HIGHATOMIC].head != ZPA_NIL)
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
static inline bool zone_watermark_fast(const struct zpa_machine *m, struct zone *z, unsigned order,
				       unsigned long mark, int highest_zoneidx, unsigned alloc_flags,
				       zpa_gfp_t gfp)
{
	long free_pages = (long)zone_page_state(z, NR_FREE_PAGES);

	if (!order) {
		long usable = free_pages;
		long reserved = zone_watermark_unusable_free(z, 0, alloc_flags);
		usable -= usable < reserved ? usable : reserved;
		if (usable > (long)mark + z->lowmem_reserve[highest_zoneidx])
			return true;
	}
	if (__zone_watermark_ok(m, z, order, mark, highest_zoneidx, alloc_flags, free_pages))
		return true;
	if (unlikely(!order && (gfp & ZPA___GFP_ATOMIC) && z->watermark_boost &&
		     (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN))
		return __zone_watermark_ok(m, z, order, z->_watermark[WMARK_MIN], highest_zoneidx, alloc_flags,
					   free_pages);
	return false;
}

/* ---- zonelist walking ---- */

static inline bool node_in_mask(const zpa_nodemask_t *mask, int nid)
{
	return !mask || (mask->bits[nid >> 6] >> (nid & 63)) & 1;
}

/* next_zones_zonelist(): the first entry at or after z with index <= highest and node in mask. */
static inline struct zoneref *next_zones_zonelist(struct zoneref *z, int highest_zoneidx,
						   const zpa_nodemask_t *nodes)
{
	while (z->zone && (z->zone_idx > highest_zoneidx || !node_in_mask(nodes, z->zone->zone_pgdat->node_id)))
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
static void prep_new_page(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned order,
			  zpa_gfp_t gfp, int migratetype)
{
	uint32_t keep = page->flags & (PG_ZONE_MASK);
	page->refcount = 1;
	page->flags = keep | PG_alloc | order | (migratetype == ZPA_MIGRATE_MOVABLE ? PG_lru : 0);
	page->next = page->prev = ZPA_NIL;
	if ((gfp & ZPA___GFP_COMP) && order) {
		uint32_t head = page_index(z, page);
		page->flags |= PG_head;
		for (unsigned long i = 1; i < (1ul << order); i++) {
			page[i].flags = (page[i].flags & PG_ZONE_MASK) | PG_tail;
			page[i].next = head;
		}
	}
	if ((gfp & ZPA___GFP_ZERO) && m->cfg.mem_mode == ZPA_MEM_BACKED) {
		void *addr = zpa_page_address(m, page_to_pfn(z, page));
		if (addr)
			memset(addr, 0, (size_t)1 << (m->page_shift + order));
	}
}

/*
 * rmqueue(): take 2^order pages from zone z under its lock: high-atomic
 * reserves first when allowed, then the normal types with fallback, then the
 * high-atomic reserve as a last resort for non-blocking and OOM requests.
 */
static struct zpa_page *rmqueue(struct zpa_machine *m, const struct alloc_context *ac, struct zone *z,
				unsigned order, zpa_gfp_t gfp, unsigned alloc_flags)
{
	struct zpa_page *page = NULL;

	zpa_spin_lock(&z->lock);
	if (alloc_flags & ALLOC_HIGHATOMIC)
		page = __rmqueue_smallest(z, order, ZPA_MIGRATE_HIGHATOMIC);
	if (!page) {
		page = __rmqueue(m, z, order, ac->migratetype, alloc_flags);
		if (!page && (alloc_flags & (ALLOC_OOM | ALLOC_NON_BLOCK)))
			page = __rmqueue_smallest(z, order, ZPA_MIGRATE_HIGHATOMIC);
		if (!page) {
			zpa_spin_unlock(&z->lock);
			return NULL;
		}
	}
	/* The list the block came from decides what free-page counter drops. */
	int from_mt = (int)((page->flags & PG_MT_MASK) >> PG_MT_SHIFT);
	if (from_mt != ZPA_MIGRATE_ISOLATE) {
		__mod_zone_page_state(z, NR_FREE_PAGES, -(1l << order));
		if (from_mt == ZPA_MIGRATE_CMA)
			__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -(1l << order));
	}
	prep_new_page(m, z, page, order, gfp, ac->migratetype);
	zpa_spin_unlock(&z->lock);

	atomic_fetch_add_explicit(&z->pgalloc, 1ul << order, memory_order_relaxed);
	zone_statistics(m, ac->task, ac->preferred_zoneref->zone, z, 1);
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
 * pages from the first zone whose watermark allows it.  With ALLOC_NOFRAGMENT
 * the walk stops at the first remote node (fragmenting locally is better than
 * going remote) and, failing everywhere, repeats without the flag.
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
		/* cpuset checks arrive with the NUMA policies (ALLOC_CPUSET). */
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
			/* reserve_highatomic_pageblock() arrives with anti-fragmentation. */
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

/* __gfp_pfmemalloc_flags(): emergency reserves for memory-freeing contexts. */
static unsigned gfp_pfmemalloc_flags(zpa_gfp_t gfp, const struct zpa_task *task)
{
	if (unlikely(gfp & ZPA___GFP_NOMEMALLOC))
		return 0;
	if (gfp & ZPA___GFP_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	if (task->flags & ZPA_PF_MEMALLOC)
		return ALLOC_NO_WATERMARKS;
	return 0;
}

/*
 * __alloc_pages_slowpath(): what zpa does when the low watermark stops the
 * fast path.  Implemented so far, in Linux's order: recompute alloc_flags with
 * gfp_to_alloc_flags() (min watermark, __GFP_HIGH/atomic reserves), retry
 * from the first eligible zone; then, for PF_MEMALLOC tasks and
 * __GFP_MEMALLOC, retry ignoring watermarks.  Not yet: waking kswapd, direct
 * compaction and reclaim, the retry heuristics, OOM and the __GFP_NOFAIL loop
 * (a __GFP_NOFAIL request that cannot be met fails with a warning).
 */
static struct zpa_page *__alloc_pages_slowpath(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					       struct alloc_context *ac, struct zone **zone_out)
{
	struct zpa_page *page;

	/* An atomic request that may sleep is not atomic: Linux warns (done by
	 * gfp_check() on entry) and drops __GFP_ATOMIC here. */
	if ((gfp & (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM)) == (ZPA___GFP_ATOMIC | ZPA___GFP_DIRECT_RECLAIM))
		gfp &= ~ZPA___GFP_ATOMIC;
	unsigned alloc_flags = gfp_to_alloc_flags(gfp, order);

	if (gfp_migratetype(m, gfp) != ZPA_MIGRATE_MOVABLE)
		alloc_flags &= ~ALLOC_CMA; /* grouping by mobility is off */

	ac->preferred_zoneref = first_zones_zonelist(ac->zonelist, ac->highest_zoneidx, ac->nodemask);
	if (!ac->preferred_zoneref->zone)
		goto nopage;
	page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
	if (page)
		return page;

	unsigned reserve_flags = gfp_pfmemalloc_flags(gfp, ac->task);
	if (reserve_flags) {
		/* gfp_to_alloc_flags_cma(): Debian's 6.1 has no CMA; keep ALLOC_CMA for movable. */
		alloc_flags = reserve_flags | (alloc_flags & (ALLOC_KSWAPD | ALLOC_CMA));
		page = get_page_from_freelist(m, gfp, order, alloc_flags, ac, zone_out);
		if (page)
			return page;
	}
nopage:
	count_vm_event(m, ALLOCSTALL_ANY, 1);
	if (gfp & ZPA___GFP_NOFAIL)
		zpa_warn(m, __func__, "__GFP_NOFAIL order-%u request failed: reclaim is not available yet", order);
	else if (!(gfp & ZPA___GFP_NOWARN))
		zpa_log(m, ZPA_LOG_DEBUG, "page allocation failure: order:%u, mode:%#x", order, gfp);
	return NULL;
}

zpa_pfn_t zpa__alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			   int preferred_nid, const zpa_nodemask_t *nodemask)
{
	struct alloc_context ac;
	struct zone *zone = NULL;
	struct zpa_page *page;
	const char *why;
	int chk;

	if (!task)
		task = zpa_task_current();
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

	if (preferred_nid < 0)
		preferred_nid = task_node(m, task);
	if (preferred_nid >= (int)m->nr_nodes) {
		zpa_warn(m, __func__, "node %d does not exist", preferred_nid);
		return ZPA_PFN_NONE;
	}

	/* prepare_alloc_pages() */
	ac.highest_zoneidx = gfp_zone(m, gfp);
	ac.zonelist = &m->nodes[preferred_nid]->node_zonelists[(gfp & ZPA___GFP_THISNODE) ? ZONELIST_NOFALLBACK
											   : ZONELIST_FALLBACK];
	ac.nodemask = nodemask;
	ac.migratetype = gfp_migratetype(m, gfp);
	ac.spread_dirty_pages = gfp & ZPA___GFP_WRITE;
	ac.task = task;
	ac.preferred_zoneref = first_zones_zonelist(ac.zonelist, ac.highest_zoneidx, ac.nodemask);

	unsigned alloc_flags = ALLOC_WMARK_LOW;
	if (ac.migratetype == ZPA_MIGRATE_MOVABLE)
		alloc_flags |= ALLOC_CMA;
	alloc_flags |= alloc_flags_nofragment(m, ac.preferred_zoneref->zone, gfp);

	page = NULL;
	if (ac.preferred_zoneref->zone)
		page = get_page_from_freelist(m, gfp, order, alloc_flags, &ac, &zone);
	if (unlikely(!page)) {
		ac.spread_dirty_pages = false;
		ac.nodemask = nodemask;
		page = __alloc_pages_slowpath(m, gfp, order, &ac, &zone);
	}
	if (!page)
		return ZPA_PFN_NONE;
	/* memcg charging (__GFP_ACCOUNT) and the mm_page_alloc tracepoint come later. */
	return page_to_pfn(zone, page);
}

zpa_pfn_t zpa_alloc_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order)
{
	return zpa__alloc_pages(m, NULL, gfp, order, -1, NULL);
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
		if ((p->flags & PG_buddy) && page_order(p) >= o)
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

	if (page->flags & (PG_hole | PG_reserved)) {
		reason = page->flags & PG_hole ? "pfn in a memory hole" : "PG_reserved set (page not managed)";
		err = ZPA_EBADPFN;
	} else if (page->flags & PG_tail) {
		reason = "tail page of a compound page";
		err = ZPA_ETAIL;
	} else if (pfn & ((1ul << order) - 1)) {
		reason = "pfn not aligned to the order freed";
		err = ZPA_EALIGN;
	} else if ((page->flags & PG_buddy) || (!(page->flags & PG_alloc) && pfn_in_free_block(m, z, pfn))) {
		reason = "page already free (double free)";
		err = ZPA_EDOUBLEFREE;
	} else if (!(page->flags & PG_alloc)) {
		reason = "not the first page of an allocated block";
		err = ZPA_EBADPAGE;
	} else if (page_order(page) != order) {
		reason = "freed with a different order than allocated";
		err = ZPA_EORDER;
	} else if (page->refcount <= 0) {
		reason = "nonzero _refcount expected";
		err = ZPA_EBADPAGE;
	} else if (pfn + (1ul << order) > z->zone_start_pfn + z->spanned_pages) {
		reason = "block extends past its zone";
		err = ZPA_EBADPAGE;
	}
	if (!err && (page->flags & PG_head)) {
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

/* Return a block whose last reference is gone to the buddy lists.  Zone lock held. */
static void free_one_block_locked(struct zpa_machine *m, struct zone *z, unsigned long pfn, struct zpa_page *page,
				  unsigned order)
{
	if (page->flags & PG_head)
		for (unsigned long i = 1; i < (1ul << order); i++) {
			page[i].flags &= PG_ZONE_MASK;
			page[i].next = ZPA_NIL;
		}
	page->flags &= PG_ZONE_MASK;
	page->refcount = 0;
	__free_one_page(m, z, pfn, order, get_pageblock_migratetype(z, pfn), false);
}

int zpa_free_pages(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order)
{
	pg_data_t *pgdat;
	struct zone *z;
	struct zpa_page *page;
	int err;

	if (order >= m->max_order) {
		bad_page(m, (unsigned long)pfn, NULL, "order >= MAX_ORDER");
		return ZPA_EORDER;
	}
	err = lookup_page(m, pfn, &pgdat, &z, &page);
	if (err) {
		bad_page(m, (unsigned long)pfn, NULL, "pfn not managed by this machine");
		return err;
	}
	unsigned long p = (unsigned long)pfn;
	unsigned long freed = 0;

	zpa_spin_lock(&z->lock);
	err = free_pages_check(m, z, p, page, order);
	if (err) {
		zpa_spin_unlock(&z->lock);
		return err;
	}
	bool head = page->flags & PG_head;
	if (--page->refcount == 0) {
		free_one_block_locked(m, z, p, page, order);
		freed = 1ul << order;
	} else if (!head && order) {
		/*
		 * Someone else still holds the first page: Linux's __free_pages()
		 * then frees the rest of a non-compound block, keeping page 0.
		 */
		page->flags = (page->flags & ~PG_ORDER_MASK) | 0;
		while (order-- > 0) {
			struct zpa_page *sub = page + (1ul << order);
			free_one_block_locked(m, z, p + (1ul << order), sub, order);
			freed += 1ul << order;
		}
	}
	zpa_spin_unlock(&z->lock);
	if (freed)
		count_vm_event(m, PGFREE, freed);
	return 0;
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
	if (!(page->flags & PG_alloc) || page->refcount <= 0) {
		zpa_spin_unlock(&z->lock);
		zpa_warn(m, __func__, "get_page on pfn %#llx, which is not an allocated block", (unsigned long long)pfn);
		return ZPA_EBADPAGE;
	}
	page->refcount++;
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
