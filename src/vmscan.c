/*
 * vmscan.c - LRU reclaim and shrinkers (Linux 6.1's mm/vmscan.c with the
 * classic two-list LRU; MGLRU is off in Debian's 6.1 build and is not
 * modelled): shrink_node() and what it calls, direct reclaim
 * (try_to_free_pages), memcg reclaim, the shrinker registry and
 * drop_caches.
 *
 * Algorithm, per node pass (shrink_node):
 *   1. prepare_scan_count() reads the node's anon/file reclaim costs and
 *      decides whether each active list may be deactivated (inactive_is_low:
 *      inactive * int_sqrt(10 * GiB of the type) < active), whether the page
 *      cache alone can be trimmed (cache_trim_mode) and whether the file
 *      lists are so small that anon must be scanned (file_is_tiny).
 *   2. get_scan_count() turns list sizes (zones <= reclaim_idx) into scan
 *      targets: size >> priority, split between anon and file by swappiness
 *      and the costs (SCAN_FRACT), or one type only (SCAN_FILE, SCAN_ANON),
 *      or both in full at priority 0 (SCAN_EQUAL).
 *   3. shrink_lruvec() works the targets down in batches of SWAP_CLUSTER_MAX
 *      pages per list; once enough is reclaimed (except direct reclaim at
 *      DEF_PRIORITY) it stops the smaller type and trims the other to the
 *      same fraction of its target.  Afterwards it deactivates a batch of
 *      active anon pages if swap exists and the inactive anon list is low.
 *   4. Inactive batches: isolate_lru_folios() takes blocks from the list
 *      tail (rotating those in zones above reclaim_idx, or not in the target
 *      memcg, to the head); shrink_folio_list() asks each page's owner about
 *      references, writes dirty pages (pageout) and evicts clean ones.
 *      Active batches: shrink_active_list() moves pages to the inactive
 *      list (6.1 keeps referenced pages active only when they are executable
 *      file pages; zpa cannot tell, so every page is deactivated, but the
 *      owner's accessed bits are still read and cleared).
 *   5. The shrinkers run with the pass's priority; the pages they report
 *      count as reclaimed (Linux's reclaim_state->reclaimed_slab).
 * Direct and memcg reclaim repeat node passes from DEF_PRIORITY down to 0
 * over the zonelist's nodes until SWAP_CLUSTER_MAX (or the memcg's target)
 * pages are reclaimed (do_try_to_free_pages).
 *
 * Modelling decisions (zpa has no page tables, page cache or swap cache):
 *   - "Referenced" is the owner's referenced() answer (page table accessed
 *     bits) plus PG_referenced (mark_page_accessed).  Refaults and shadow
 *     entries do not exist, so only pageouts feed the anon/file costs.
 *   - An anonymous page is always written (swapped out) through writepage()
 *     before it is evicted: zpa has no swap-cache state, so the owner answers
 *     ZPA_EVICT_CLEAN when its swap copy is already current.  Swapping needs
 *     __GFP_IO, sc->may_swap and free swap space (add_to_swap()).
 *   - Only reclaim starts writeback, so every PG_writeback page carries
 *     Linux's PG_reclaim: reclaim activates it when it meets it again, and
 *     zpa_page_end_writeback() rotates it to the inactive tail.
 *   - Dirty file pages are written only by kswapd, and only while the node
 *     has PGDAT_DIRTY (set when a kswapd pass found nothing but unqueued
 *     dirty pages among the file pages it took).  6.1 also requires the
 *     page to carry PG_reclaim from an earlier encounter; zpa has no bit for
 *     it, and PGDAT_DIRTY already implies that the dirty tail was seen
 *     before.  Direct and memcg reclaim activate dirty file pages and count
 *     nr_vmscan_immediate_reclaim, as 6.1 does.  There are no flusher
 *     threads and no throttling (reclaim_throttle, too_many_isolated): zpa
 *     never sleeps.
 *   - One lruvec per node: memcg reclaim scans the node's lists for pages
 *     charged in the target's subtree (other pages are rotated, not counted)
 *     and sizes its targets by counting those pages.  memory.low/min
 *     protection is not applied.
 *
 * Locking.  The node's lru_lock is held while lists are walked or a page's
 * PG_LRU_BITS change (isolated pages included); it is never held across an
 * owner or shrinker callback, nor across a free (put_page takes the zone
 * lock, which nests outside lru_lock).  The memcg lock (a leaf) may be taken
 * under lru_lock by the subtree filter.  An isolated page is pinned by
 * reclaim's reference: the owner may free it concurrently (its reference
 * goes; reclaim's put_page then frees the block).  The shrinker registry has
 * its own spinlock protecting the list and each shrinker's pin count; a
 * shrinker is called with no zpa lock held and stays pinned during the call,
 * so unregistering waits only for calls already running.
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>

#include "internal.h"

#define SHRINK_BATCH 128

/* ---- shrinker registry ---- */

struct zpa_shrinker {
	const struct zpa_shrinker_ops *ops;
	void *arg;
	struct zpa_shrinker *next;     /* registration order */
	int active;                    /* walkers holding it (registry lock) */
	bool dying;                    /* being unregistered: no new call or batch (set under the lock) */
	bool free_on_release;          /* unregistered from its own callback: the last walker frees it */
	unsigned nr_slots;             /* nr_deferred[] entries: nodes (NUMA-aware) or 1 */
	_Atomic long nr_deferred[];    /* scan work carried to the next call, per node */
};

struct reclaim_state {
	zpa_spinlock_t lock;           /* shrinker list, active, dying, free_on_release */
	struct zpa_shrinker *shrinkers;
};

/* The shrinker this thread is calling right now (self-unregistration). */
static __thread struct zpa_shrinker *shrinker_running;

int vmscan_init(struct zpa_machine *m)
{
	struct reclaim_state *rs = zpa_port_zalloc(sizeof(*rs));
	if (!rs)
		return ZPA_ENOMEM;
	zpa_spin_lock_init(&rs->lock);
	m->reclaim = rs;
	/* Every node's lruvec starts empty (lruvec_init()). */
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		struct lruvec *lv = &pgdat->lruvec;
		zpa_spin_lock_init(&lv->lru_lock);
		for (int lru = 0; lru < NR_LRU_LISTS; lru++) {
			lv->lists[lru].head = lv->lists[lru].tail = ZPA_NIL;
			lv->nr_pages[lru] = 0;
		}
		lv->anon_cost = lv->file_cost = 0;
	}
	return 0;
}

void vmscan_destroy(struct zpa_machine *m)
{
	struct reclaim_state *rs = m->reclaim;
	if (!rs)
		return;
	for (struct zpa_shrinker *s = rs->shrinkers, *n; s; s = n) {
		n = s->next;
		zpa_port_free(s);
	}
	zpa_port_free(rs);
	m->reclaim = NULL;
}

int zpa_shrinker_register(struct zpa_machine *m, const struct zpa_shrinker_ops *ops, void *arg,
			  struct zpa_shrinker **out)
{
	if (!m || !m->reclaim || !ops || !ops->count_objects || !ops->scan_objects || ops->seeks < 0 || ops->batch < 0)
		return ZPA_EINVAL;
	unsigned slots = (ops->flags & ZPA_SHRINKER_NUMA_AWARE) && m->nr_nodes ? m->nr_nodes : 1;
	struct zpa_shrinker *s = zpa_port_zalloc(sizeof(*s) + slots * sizeof(s->nr_deferred[0]));
	if (!s)
		return ZPA_ENOMEM;
	s->ops = ops;
	s->arg = arg;
	s->nr_slots = slots;
	struct reclaim_state *rs = m->reclaim;
	zpa_spin_lock(&rs->lock);
	struct zpa_shrinker **pp = &rs->shrinkers;
	while (*pp)
		pp = &(*pp)->next;
	*pp = s;
	zpa_spin_unlock(&rs->lock);
	if (out)
		*out = s;
	return 0;
}

/* Take s off the list.  Registry lock held; nobody holds it pinned. */
static void shrinker_unlink(struct reclaim_state *rs, struct zpa_shrinker *s)
{
	for (struct zpa_shrinker **pp = &rs->shrinkers; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

void zpa_shrinker_unregister(struct zpa_machine *m, struct zpa_shrinker *s)
{
	if (!m || !m->reclaim || !s)
		return;
	struct reclaim_state *rs = m->reclaim;
	zpa_spin_lock(&rs->lock);
	__atomic_store_n(&s->dying, true, __ATOMIC_RELAXED);
	if (shrinker_running == s) {
		/* Our own walker holds a pin: it frees s once the callback returns. */
		s->free_on_release = true;
		zpa_spin_unlock(&rs->lock);
		return;
	}
	/* Walkers skip dying shrinkers, so only calls already running hold pins. */
	while (s->active) {
		zpa_spin_unlock(&rs->lock);
		zpa_port_cpu_relax();
		zpa_spin_lock(&rs->lock);
	}
	shrinker_unlink(rs, s);
	zpa_spin_unlock(&rs->lock);
	zpa_port_free(s);
}

/* The first live shrinker from s on, pinned, or NULL.  Registry lock held. */
static struct zpa_shrinker *shrinker_pin_from(struct zpa_shrinker *s)
{
	while (s && __atomic_load_n(&s->dying, __ATOMIC_RELAXED))
		s = s->next;
	if (s)
		s->active++;
	return s;
}

/*
 * do_shrink_slab(): one shrinker at one priority (6.1's formula).  The
 * pressure is the object count scaled by priority and seeks, plus the work
 * deferred by earlier calls; it is applied in batches, and what was not done
 * is deferred again, capped at twice the object count.  Returns objects
 * freed (or what count_objects() said when it found nothing); *pages gains
 * the pages scan_objects() reported.  No lock held.
 */
static unsigned long do_shrink_slab(struct zpa_machine *m, struct zpa_shrinker *s, struct zpa_shrink_control *ctl,
				    int priority, unsigned long *pages)
{
	const struct zpa_shrinker_ops *ops = s->ops;
	long batch = ops->batch ? ops->batch : SHRINK_BATCH;
	unsigned long freed = 0;

	unsigned long count = ops->count_objects(s->arg, ctl);
	if (count == 0 || count == ZPA_SHRINK_EMPTY)
		return count;
	/*
	 * vm.vfs_cache_pressure scales the count, as Linux's dentry and inode
	 * shrinkers do in their count (vfs_pressure_ratio); zpa's shrinkers
	 * stand for such caches.  The default, 100, changes nothing.
	 */
	unsigned long pressure = (unsigned long)READ_ONCE(m->t.vfs_cache_pressure);
	if (pressure != 100) {
		unsigned long whole;
		if (__builtin_mul_overflow(count / 100, pressure, &whole))
			whole = LONG_MAX / 8;
		count = whole + count % 100 * pressure / 100;
		if (!count)
			return 0;
	}
	long freeable = count > LONG_MAX / 8 ? LONG_MAX / 8 : (long)count;

	/* Claim the deferred work, so concurrent calls do not repeat it. */
	unsigned slot = 0;
	if ((ops->flags & ZPA_SHRINKER_NUMA_AWARE) && (unsigned)ctl->nid < s->nr_slots)
		slot = (unsigned)ctl->nid;
	long nr = atomic_exchange_explicit(&s->nr_deferred[slot], 0, memory_order_relaxed);
	if (nr > LONG_MAX / 8)
		nr = LONG_MAX / 8;

	long delta;
	if (ops->seeks)
		delta = (long)(((unsigned long long)(freeable >> priority) * 4) / (unsigned)ops->seeks);
	else
		delta = freeable / 2;  /* objects that cost no I/O to rebuild: trim hard */

	long total_scan = (nr >> priority) + delta;
	if (total_scan > 2 * freeable)
		total_scan = 2 * freeable;

	/*
	 * Scan in batches; below a batch, scan only when the target reaches the
	 * whole cache (high pressure on a cache smaller than a batch).
	 */
	long scanned = 0;
	ctl->nr_freed_pages = 0;
	while (total_scan >= batch || total_scan >= freeable) {
		unsigned long nr_to_scan = (unsigned long)(total_scan < batch ? total_scan : batch);
		ctl->nr_to_scan = nr_to_scan;
		ctl->nr_scanned = nr_to_scan;
		unsigned long ret = ops->scan_objects(s->arg, ctl);
		if (ret == ZPA_SHRINK_STOP)
			break;
		freed += ret;
		count_vm_event(m, SLABS_SCANNED, ctl->nr_scanned);
		long done = ctl->nr_scanned > (unsigned long)LONG_MAX / 8 ? LONG_MAX / 8 : (long)ctl->nr_scanned;
		total_scan -= done;
		scanned += done;
		if (!done)
			break; /* a shrinker that scans nothing would loop forever (Linux spins here) */
		if (__atomic_load_n(&s->dying, __ATOMIC_RELAXED))
			break; /* unregistered meanwhile: no further batch */
	}

	long next_deferred = nr + delta - scanned;
	if (next_deferred < 0)
		next_deferred = 0;
	if (next_deferred > 2 * freeable)
		next_deferred = 2 * freeable;
	atomic_fetch_add_explicit(&s->nr_deferred[slot], next_deferred, memory_order_relaxed);
	*pages += ctl->nr_freed_pages;
	return freed;
}

/*
 * Every registered shrinker for node nid (nid 0 for those not NUMA-aware);
 * with a memcg, only the memcg-aware ones (shrink_slab_memcg()).  Returns
 * objects freed; *pages gains the pages they reported.  No lock held.
 */
static unsigned long shrink_slab_objects(struct zpa_machine *m, zpa_gfp_t gfp, int nid, struct zpa_memcg *memcg,
					 int priority, unsigned long *pages)
{
	struct reclaim_state *rs = m->reclaim;
	unsigned long freed = 0;
	if (!rs)
		return 0;
	zpa_spin_lock(&rs->lock);
	struct zpa_shrinker *s = shrinker_pin_from(rs->shrinkers);
	zpa_spin_unlock(&rs->lock);
	while (s) {
		if (!memcg || (s->ops->flags & ZPA_SHRINKER_MEMCG_AWARE)) {
			struct zpa_shrink_control ctl = {
				.gfp = gfp,
				.nid = (s->ops->flags & ZPA_SHRINKER_NUMA_AWARE) ? nid : 0,
				.memcg = memcg,
			};
			struct zpa_shrinker *outer = shrinker_running;
			shrinker_running = s;
			unsigned long ret = do_shrink_slab(m, s, &ctl, priority, pages);
			shrinker_running = outer;
			if (ret != ZPA_SHRINK_EMPTY)
				freed += ret;
		}
		zpa_spin_lock(&rs->lock);
		struct zpa_shrinker *next = shrinker_pin_from(s->next), *dead = NULL;
		if (!--s->active && s->free_on_release) {
			shrinker_unlink(rs, s);
			dead = s;
		}
		zpa_spin_unlock(&rs->lock);
		zpa_port_free(dead);
		s = next;
	}
	return freed;
}

unsigned long shrink_slab(struct zpa_machine *m, zpa_gfp_t gfp, int nid, struct zpa_memcg *memcg, int priority)
{
	unsigned long pages = 0;
	shrink_slab_objects(m, gfp, nid, memcg, priority, &pages);
	return pages;
}

/* ---- small helpers ---- */

static inline unsigned long nr_pages_of(const struct zpa_page *p) { return 1ul << page_order(p); }
static inline unsigned long pfn_of(const pg_data_t *pgdat, const struct zpa_page *p)
{
	return pgdat->node_start_pfn + (unsigned long)(p - pgdat->node_mem_map);
}
static inline bool cgroup_reclaim(const struct scan_control *sc) { return sc->target_mem_cgroup != NULL; }
static inline unsigned long min_ul(unsigned long a, unsigned long b) { return a < b ? a : b; }
static inline struct zpa_task *sc_task(const struct scan_control *sc)
{
	return sc->task ? sc->task : zpa_task_current();
}
static inline unsigned long lru_node_state(pg_data_t *pgdat, int lru)
{
	return (unsigned long)node_page_state(pgdat, (enum node_stat_item)(NR_INACTIVE_ANON + lru));
}
static inline unsigned long lru_zone_state(const struct zone *z, int lru)
{
	return zone_page_state(z, (enum zone_stat_item)(NR_ZONE_INACTIVE_ANON + lru));
}

/* int_sqrt(): the largest r with r * r <= x. */
static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, bit = 1ul << (sizeof(long) * 8 - 2);
	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

static void reclaim_ctx_of(struct zpa_machine *m, const pg_data_t *pgdat, const struct scan_control *sc,
			   struct zpa_reclaim_ctx *ctx)
{
	*ctx = (struct zpa_reclaim_ctx){
		.gfp = sc->gfp_mask,
		.nid = pgdat->node_id,
		.priority = sc->priority,
		.kswapd = sc->kswapd,
		.may_writepage = sc->may_writepage,
		.may_swap = sc->may_swap && nr_swap_pages(m) > 0 && (sc->gfp_mask & ZPA___GFP_IO),
		.may_unmap = sc->may_unmap,
		.memcg = sc->target_mem_cgroup,
	};
}

/*
 * move_folios_to_lru() for one page: the isolated page goes back on the list
 * its flags name (after clearing `clear` and setting `set`), and reclaim's
 * reference is dropped.  Returns false when the owner freed the page
 * meanwhile: it goes to the free lists instead.  No lock held.
 */
static bool putback_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t clear, uint32_t set)
{
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	page_flags_clear(page, clear);
	page_flags_set(page, set);
	bool listed = __atomic_load_n(&page->refcount, __ATOMIC_ACQUIRE) > 1;
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	putback_lru_page(m, pgdat, page);
	return listed;
}

/* ---- LRU sizes ---- */

struct lru_sizes {
	unsigned long node[NR_LRU_LISTS];      /* the whole lists (lruvec_page_state) */
	unsigned long eligible[NR_LRU_LISTS];  /* zones <= reclaim_idx (lruvec_lru_size) */
};

/*
 * The sizes reclaim balances on: the node's lists, or for memcg reclaim the
 * pages of the target's subtree on them (counted: zpa keeps no per-group
 * lists).  `lists` is a mask of the lists wanted.
 */
static void lru_sizes(struct zpa_machine *m, pg_data_t *pgdat, const struct scan_control *sc, unsigned lists,
		      struct lru_sizes *out)
{
	memset(out, 0, sizeof(*out));
	if (!cgroup_reclaim(sc)) {
		for (int lru = 0; lru < LRU_UNEVICTABLE; lru++)
			if (lists & (1u << lru))
				out->node[lru] = lru_node_state(pgdat, lru);
		for (int zi = 0; zi <= sc->reclaim_idx && zi < (int)m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			if (!managed_zone(z))
				continue;
			for (int lru = 0; lru < LRU_UNEVICTABLE; lru++)
				if (lists & (1u << lru))
					out->eligible[lru] += lru_zone_state(z, lru);
		}
		return;
	}
	struct lruvec *lv = &pgdat->lruvec;
	zpa_spin_lock(&lv->lru_lock);
	for (int lru = 0; lru < LRU_UNEVICTABLE; lru++) {
		if (!(lists & (1u << lru)))
			continue;
		for (uint32_t idx = lv->lists[lru].head; idx != ZPA_NIL; idx = pgdat->node_mem_map[idx].next) {
			struct zpa_page *page = &pgdat->node_mem_map[idx];
			if (!page_memcg_in_subtree(m, page, pfn_of(pgdat, page), sc->target_mem_cgroup))
				continue;
			out->node[lru] += nr_pages_of(page);
			if ((int)page_zidx(page) <= sc->reclaim_idx)
				out->eligible[lru] += nr_pages_of(page);
		}
	}
	zpa_spin_unlock(&lv->lru_lock);
}

#define ANON_LISTS ((1u << LRU_INACTIVE_ANON) | (1u << LRU_ACTIVE_ANON))
#define ALL_LISTS  (ANON_LISTS | (1u << LRU_INACTIVE_FILE) | (1u << LRU_ACTIVE_FILE))

/*
 * inactive_is_low(): the inactive list of a type should hold at least
 * 1/(ratio + 1) of the type's pages, with ratio = int_sqrt(10 * size in GiB)
 * (1 under a GiB): 3 at 1 GiB, 10 at 10 GiB, 31 at 100 GiB.
 */
static bool inactive_is_low(const struct zpa_machine *m, const unsigned long node[NR_LRU_LISTS], int inactive_lru)
{
	unsigned long inactive = node[inactive_lru], active = node[inactive_lru + LRU_ACTIVE];
	unsigned long gb = (inactive + active) >> (30 - m->page_shift);
	unsigned long ratio = gb ? int_sqrt(10 * gb) : 1;
	return inactive * ratio < active;
}

/*
 * lru_note_cost(): pages written out by reclaim make that type more costly
 * to reclaim; both costs halve once their sum passes a quarter of the
 * node's LRU pages (a decaying average).
 */
static void lru_note_cost(pg_data_t *pgdat, bool file, unsigned long nr_pages)
{
	struct lruvec *lv = &pgdat->lruvec;
	zpa_spin_lock(&lv->lru_lock);
	if (file)
		lv->file_cost += nr_pages;
	else
		lv->anon_cost += nr_pages;
	unsigned long lrusize = lv->nr_pages[LRU_INACTIVE_ANON] + lv->nr_pages[LRU_ACTIVE_ANON] +
				lv->nr_pages[LRU_INACTIVE_FILE] + lv->nr_pages[LRU_ACTIVE_FILE];
	if (lv->file_cost + lv->anon_cost > lrusize / 4) {
		lv->file_cost /= 2;
		lv->anon_cost /= 2;
	}
	zpa_spin_unlock(&lv->lru_lock);
}

/* ---- isolation ---- */

/*
 * isolate_lru_folios(): lru_lock held.  Take blocks from the tail of list
 * lru until nr_to_scan pages were scanned: each eligible block gets
 * reclaim's reference and PG_isolated (into dst[], at most
 * SWAP_CLUSTER_MAX); a block being freed is rotated to the head.  Blocks in
 * zones above sc->reclaim_idx count as scanned in *nr_scanned but not
 * against nr_to_scan, and blocks outside the memcg target are not counted
 * at all; both are set aside and go back to the head of the list, in their
 * order, once the scan ends.  Returns the blocks taken; *nr_taken their
 * pages.
 */
static unsigned isolate_lru_folios(struct zpa_machine *m, pg_data_t *pgdat, unsigned long nr_to_scan, int lru,
				   const struct scan_control *sc, struct zpa_page **dst, unsigned long *nr_taken,
				   unsigned long *nr_scanned)
{
	struct free_list *list = &pgdat->lruvec.lists[lru];
	struct zpa_page *map = pgdat->node_mem_map;
	uint32_t skip_first = ZPA_NIL, skip_last = ZPA_NIL;
	unsigned long scan = 0, total = 0, taken = 0;
	unsigned n = 0;

	while (scan < nr_to_scan && n < SWAP_CLUSTER_MAX && list->tail != ZPA_NIL) {
		uint32_t idx = list->tail;
		struct zpa_page *page = &map[idx];
		unsigned long nr = nr_pages_of(page);
		bool skip = false;
		if ((int)page_zidx(page) > sc->reclaim_idx) {
			total += nr;
			skip = true;
		} else if (cgroup_reclaim(sc)) {
			skip = !page_memcg_in_subtree(m, page, pfn_of(pgdat, page), sc->target_mem_cgroup);
		}
		if (skip) {
			/* Set aside on a private chain (through next) until the scan ends. */
			lru_list_del(pgdat, page, lru);
			if (skip_last == ZPA_NIL)
				skip_first = idx;
			else
				map[skip_last].next = idx;
			skip_last = idx;
			continue;
		}
		scan += nr;
		total += nr;
		if (__isolate_lru_page(pgdat, page)) {
			dst[n++] = page;
			taken += nr;
		} else {
			lru_list_del(pgdat, page, lru);
			lru_list_add(pgdat, page, lru, false);
		}
	}
	/* Back to the head; adding them in scan order leaves the last skipped nearest the head. */
	for (uint32_t idx = skip_first; idx != ZPA_NIL;) {
		uint32_t next = idx == skip_last ? ZPA_NIL : map[idx].next;
		lru_list_add(pgdat, &map[idx], lru, false);
		idx = next;
	}
	*nr_taken = taken;
	*nr_scanned = total;
	return n;
}

/* ---- shrink_folio_list ---- */

struct reclaim_stat {
	unsigned long nr_dirty, nr_unqueued_dirty, nr_congested, nr_writeback, nr_immediate, nr_pageout;
	unsigned long nr_activate[2], nr_ref_keep;
};

enum folio_references { FOLIOREF_RECLAIM, FOLIOREF_RECLAIM_CLEAN, FOLIOREF_KEEP, FOLIOREF_ACTIVATE };

/*
 * folio_check_references(): a page whose mappings were used since the last
 * look is spared once (PG_referenced set: KEEP) and activated when it is
 * seen used again, or used through several mappings.  A page only marked
 * by mark_page_accessed() is reclaimed, but a file page in that state only
 * if it is clean.  A negative referenced() answer (the owner could not
 * look) keeps the page.
 */
static enum folio_references folio_check_references(pg_data_t *pgdat, struct zpa_page *page,
						    const struct zpa_page_owner_ops *ops, void *arg)
{
	int ptes = ops->referenced ? ops->referenced(arg, pfn_of(pgdat, page), page_order(page)) : 0;
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	uint32_t f = READ_ONCE(page->flags);
	bool referenced_folio = f & PG_referenced;
	page_flags_clear(page, PG_referenced);
	if (ptes > 0)
		page_flags_set(page, PG_referenced);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);

	if (ptes < 0)
		return FOLIOREF_KEEP;
	if (ptes > 0)
		return referenced_folio || ptes > 1 ? FOLIOREF_ACTIVATE : FOLIOREF_KEEP;
	if (referenced_folio && !(f & PG_swapbacked))
		return FOLIOREF_RECLAIM_CLEAN;
	return FOLIOREF_RECLAIM;
}

enum pageout_result {
	PAGEOUT_KEEP,      /* not written: back on the inactive list */
	PAGEOUT_ACTIVATE,  /* not written and should not be tried soon */
	PAGEOUT_QUEUED,    /* writeback started (or dirtied again): back on the list */
	PAGEOUT_WRITTEN,   /* written synchronously and clean: evict it now */
};

/*
 * pageout(): write a dirty page (or swap an anonymous one) through the
 * owner.  The dirty bit is cleared and PG_writeback set before the call
 * (folio_clear_dirty_for_io() and the I/O submission), so that a writeback
 * completion racing from another thread finds the page in writeback.
 * Counts nr_vmscan_write, pswpout and the pageout for lru_note_cost().
 */
static enum pageout_result pageout(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page,
				   const struct zpa_page_owner_ops *ops, void *arg, const struct zpa_reclaim_ctx *ctx,
				   struct reclaim_stat *stat)
{
	if (!ops->writepage)
		return PAGEOUT_ACTIVATE;  /* a mapping without ->writepage */
	unsigned long nr = nr_pages_of(page);
	struct lruvec *lv = &pgdat->lruvec;

	zpa_spin_lock(&lv->lru_lock);
	uint32_t f = READ_ONCE(page->flags);
	bool file = !(f & PG_swapbacked), was_dirty = f & PG_dirty;
	if (was_dirty) {
		page_flags_clear(page, PG_dirty);
		if (file)
			mod_node_state(pgdat, NR_FILE_DIRTY, -(long)nr);
	}
	page_flags_set(page, PG_writeback);
	mod_node_state(pgdat, NR_WRITEBACK, (long)nr);
	zpa_spin_unlock(&lv->lru_lock);

	int ret = ops->writepage(arg, pfn_of(pgdat, page), page_order(page), ctx);

	if (ret == ZPA_EVICT_WRITEBACK || ret == ZPA_EVICT_CLEAN) {
		mod_node_state(pgdat, NR_VMSCAN_WRITE, (long)nr);
		if (!file)
			count_vm_event(m, PSWPOUT, nr);
		stat->nr_pageout += nr;
		if (ret == ZPA_EVICT_WRITEBACK)
			return PAGEOUT_QUEUED;
	} else if (ret != ZPA_EVICT_KEEP && ret != ZPA_EVICT_ACTIVATE) {
		zpa_warn(m, __func__, "owner %s: writepage() of pfn %#lx returned %d", ops->name ? ops->name : "?",
			 pfn_of(pgdat, page), ret);
		ret = ZPA_EVICT_KEEP;
	}
	/* Not in writeback after all: undo the flag (and the dirty bit if not written). */
	zpa_spin_lock(&lv->lru_lock);
	f = READ_ONCE(page->flags);
	if (f & PG_writeback) {
		page_flags_clear(page, PG_writeback);
		mod_node_state(pgdat, NR_WRITEBACK, -(long)nr);
	}
	if (ret != ZPA_EVICT_CLEAN && was_dirty && !(f & PG_dirty)) {
		page_flags_set(page, PG_dirty);
		if (file)
			mod_node_state(pgdat, NR_FILE_DIRTY, (long)nr);
		f |= PG_dirty;
	}
	zpa_spin_unlock(&lv->lru_lock);
	if (ret == ZPA_EVICT_KEEP)
		return PAGEOUT_KEEP;
	if (ret == ZPA_EVICT_ACTIVATE)
		return PAGEOUT_ACTIVATE;
	return f & PG_dirty ? PAGEOUT_QUEUED : PAGEOUT_WRITTEN;  /* dirtied again during the write: keep */
}

/*
 * shrink_folio_list(): decide the fate of each isolated page, in isolation
 * order: activate it, keep it on the inactive list, write it, or evict it.
 * Owner callbacks run with no lock held.  Returns pages reclaimed; every
 * page in pages[] is either freed or back on a list when it returns.
 */
static unsigned long shrink_folio_list(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page **pages, unsigned n,
				       struct scan_control *sc, struct reclaim_stat *stat)
{
	unsigned long nr_reclaimed = 0, pgactivate = 0;
	struct zpa_reclaim_ctx ctx;
	reclaim_ctx_of(m, pgdat, sc, &ctx);

	for (unsigned i = 0; i < n; i++) {
		struct zpa_page *page = pages[i];
		unsigned long nr = nr_pages_of(page), pfn = pfn_of(pgdat, page);
		uint32_t f = READ_ONCE(page->flags);
		bool anon = f & PG_swapbacked;
		int id = page_owner_id(page);
		const struct zpa_page_owner_ops *ops = page_owner_ops(m, id);
		void *arg = m->owner_arg[id];
		enum folio_references refs;

		sc->nr_scanned += nr;
		if (!ops || !ops->evict)
			goto keep;

		/* folio_check_dirty_writeback(): anonymous pages never stall reclaim. */
		if (!anon) {
			bool dirty = f & PG_dirty, writeback = f & PG_writeback;
			if (dirty || writeback)
				stat->nr_dirty += nr;
			if (dirty && !writeback)
				stat->nr_unqueued_dirty += nr;
			if (writeback)
				stat->nr_congested += nr;  /* written by reclaim: Linux's PG_reclaim case */
		}
		/*
		 * Under writeback: out of the way onto the active list; it comes
		 * back to the inactive tail when the write completes.  kswapd on a
		 * node already marked PGDAT_WRITEBACK counts it as immediate.
		 */
		if (f & PG_writeback) {
			if (sc->kswapd && test_pgdat_flag(pgdat, PGDAT_WRITEBACK))
				stat->nr_immediate += nr;
			else
				stat->nr_writeback += nr;
			goto activate;
		}

		refs = folio_check_references(pgdat, page, ops, arg);
		if (refs == FOLIOREF_ACTIVATE)
			goto activate;
		if (refs == FOLIOREF_KEEP) {
			stat->nr_ref_keep += nr;
			goto keep;
		}

		/* add_to_swap(): a swap slot needs __GFP_IO and free space. */
		if (anon) {
			if (!(sc->gfp_mask & ZPA___GFP_IO) || !sc->may_swap)
				goto keep;
			if (nr_swap_pages(m) <= 0)
				goto activate;
		}

		f = READ_ONCE(page->flags);
		if (anon || (f & PG_dirty)) {
			/* Only kswapd writes file pages, once the dirty tail was seen. */
			if (!anon && (!sc->kswapd || !test_pgdat_flag(pgdat, PGDAT_DIRTY))) {
				mod_node_state(pgdat, NR_VMSCAN_IMMEDIATE, (long)nr);
				goto activate;
			}
			if (refs == FOLIOREF_RECLAIM_CLEAN)
				goto keep;
			/* may_enter_fs(): __GFP_FS for files; swap needs only __GFP_IO (checked). */
			if (!anon && !(sc->gfp_mask & ZPA___GFP_FS))
				goto keep;
			if (!sc->may_writepage)
				goto keep;
			switch (pageout(m, pgdat, page, ops, arg, &ctx, stat)) {
			case PAGEOUT_KEEP:
			case PAGEOUT_QUEUED:
				goto keep;
			case PAGEOUT_ACTIVATE:
				goto activate;
			case PAGEOUT_WRITTEN:
				break;
			}
		}

		/* __remove_mapping(): the owner drops the clean page. */
		int ret = ops->evict(arg, pfn, page_order(page), &ctx);
		if (ret == ZPA_EVICT_FREED) {
			if (__atomic_load_n(&page->refcount, __ATOMIC_ACQUIRE) == 1) {
				put_page(m, pgdat, page);  /* ours was the last reference */
				nr_reclaimed += nr;
				continue;
			}
			zpa_warn(m, __func__, "owner %s: evict() of pfn %#lx said freed, but %d references remain",
				 ops->name ? ops->name : "?", pfn,
				 __atomic_load_n(&page->refcount, __ATOMIC_RELAXED) - 1);
			goto keep;
		}
		if (ret == ZPA_EVICT_ACTIVATE)
			goto activate;
		if (ret != ZPA_EVICT_KEEP)
			zpa_warn(m, __func__, "owner %s: evict() of pfn %#lx returned %d", ops->name ? ops->name : "?",
				 pfn, ret);
		goto keep;

activate:
		if (!(READ_ONCE(page->flags) & PG_active)) {
			stat->nr_activate[!anon] += nr;
			pgactivate += nr;
		}
		putback_page(m, pgdat, page, 0, PG_active);
		continue;
keep:
		putback_page(m, pgdat, page, 0, 0);
	}
	if (pgactivate)
		count_vm_event(m, PGACTIVATE, pgactivate);
	return nr_reclaimed;
}

/* ---- list shrinking ---- */

static unsigned long shrink_inactive_list(struct zpa_machine *m, pg_data_t *pgdat, unsigned long nr_to_scan,
					  struct scan_control *sc, int lru)
{
	struct zpa_page *pages[SWAP_CLUSTER_MAX];
	unsigned long nr_taken, nr_scanned;
	bool file = is_file_lru(lru);

	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	unsigned n = isolate_lru_folios(m, pgdat, nr_to_scan, lru, sc, pages, &nr_taken, &nr_scanned);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	if (nr_scanned) {
		if (!cgroup_reclaim(sc))
			count_vm_event(m, sc->kswapd ? PGSCAN_KSWAPD : PGSCAN_DIRECT, nr_scanned);
		count_vm_event(m, file ? PGSCAN_FILE : PGSCAN_ANON, nr_scanned);
	}
	if (!n)
		return 0;

	struct reclaim_stat stat = { 0 };
	unsigned long nr_reclaimed = shrink_folio_list(m, pgdat, pages, n, sc, &stat);
	if (nr_reclaimed) {
		if (!cgroup_reclaim(sc))
			count_vm_event(m, sc->kswapd ? PGSTEAL_KSWAPD : PGSTEAL_DIRECT, nr_reclaimed);
		count_vm_event(m, file ? PGSTEAL_FILE : PGSTEAL_ANON, nr_reclaimed);
	}
	lru_note_cost(pgdat, file, stat.nr_pageout);
	/* memory.stat's pgscan/pgsteal of the group reclaimed (every page scanned here is in its subtree). */
	if (cgroup_reclaim(sc) && (nr_scanned || nr_reclaimed))
		memcg_count_reclaim(m, sc->target_mem_cgroup, nr_scanned, nr_reclaimed);

	sc->nr.dirty += stat.nr_dirty;
	sc->nr.congested += stat.nr_congested;
	sc->nr.unqueued_dirty += stat.nr_unqueued_dirty;
	sc->nr.writeback += stat.nr_writeback;
	sc->nr.immediate += stat.nr_immediate;
	sc->nr.taken += nr_taken;
	if (file)
		sc->nr.file_taken += nr_taken;
	return nr_reclaimed;
}

/*
 * shrink_active_list(): move a batch from the active list to the head of
 * the inactive list.  The owner's accessed bits are read (and so cleared)
 * as folio_referenced() does, but a referenced page is deactivated too:
 * 6.1 keeps only executable file pages active, and zpa has no such pages.
 * PG_referenced is left as it is.  Counts pgrefill (global reclaim) and
 * pgdeactivate.
 */
static void shrink_active_list(struct zpa_machine *m, pg_data_t *pgdat, unsigned long nr_to_scan,
			       struct scan_control *sc, int lru)
{
	struct zpa_page *pages[SWAP_CLUSTER_MAX];
	unsigned long nr_taken, nr_scanned, nr_deactivate = 0;

	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	unsigned n = isolate_lru_folios(m, pgdat, nr_to_scan, lru, sc, pages, &nr_taken, &nr_scanned);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	if (nr_scanned && !cgroup_reclaim(sc))
		count_vm_event(m, PGREFILL, nr_scanned);

	for (unsigned i = 0; i < n; i++) {
		struct zpa_page *page = pages[i];
		const struct zpa_page_owner_ops *ops = page_owner_ops(m, page_owner_id(page));
		if (ops && ops->referenced)
			(void)ops->referenced(m->owner_arg[page_owner_id(page)], pfn_of(pgdat, page), page_order(page));
		unsigned long nr = nr_pages_of(page);
		if (putback_page(m, pgdat, page, PG_active, 0))
			nr_deactivate += nr;
	}
	if (nr_deactivate)
		count_vm_event(m, PGDEACTIVATE, nr_deactivate);
}

static unsigned long shrink_list(struct zpa_machine *m, pg_data_t *pgdat, int lru, unsigned long nr_to_scan,
				 struct scan_control *sc)
{
	if (is_active_lru(lru)) {
		if (is_file_lru(lru) ? sc->may_deactivate_file : sc->may_deactivate_anon)
			shrink_active_list(m, pgdat, nr_to_scan, sc, lru);
		else
			sc->skipped_deactivate = true;
		return 0;
	}
	return shrink_inactive_list(m, pgdat, nr_to_scan, sc, lru);
}

/* ---- scan balance ---- */

enum scan_balance { SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE };

static void prepare_scan_count(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc,
			       struct lru_sizes *sizes)
{
	struct lruvec *lv = &pgdat->lruvec;
	zpa_spin_lock(&lv->lru_lock);
	sc->anon_cost = lv->anon_cost;
	sc->file_cost = lv->file_cost;
	zpa_spin_unlock(&lv->lru_lock);

	lru_sizes(m, pgdat, sc, ALL_LISTS, sizes);

	/* The inactive:active targets (no refaults in zpa: only the ratio decides). */
	if (!sc->force_deactivate) {
		sc->may_deactivate_anon = inactive_is_low(m, sizes->node, LRU_INACTIVE_ANON);
		sc->may_deactivate_file = inactive_is_low(m, sizes->node, LRU_INACTIVE_FILE);
	} else {
		sc->may_deactivate_anon = sc->may_deactivate_file = true;
	}

	/* Plenty of inactive cache that is not thrashing: reclaim it first. */
	sc->cache_trim_mode = (sizes->node[LRU_INACTIVE_FILE] >> sc->priority) && !sc->may_deactivate_file;

	/*
	 * The cache trap: with the file lists about as small as the high
	 * watermarks, every cache fault tips the balance further towards
	 * file; force anon scanning then, unless anon is low too.
	 */
	if (!cgroup_reclaim(sc)) {
		unsigned long free = 0, total_high_wmark = 0;
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			free += zone_page_state(z, NR_FREE_PAGES);
			if (managed_zone(z))
				total_high_wmark += high_wmark_pages(z);
		}
		unsigned long file = (unsigned long)node_page_state(pgdat, NR_ACTIVE_FILE) +
				     (unsigned long)node_page_state(pgdat, NR_INACTIVE_FILE);
		unsigned long anon = (unsigned long)node_page_state(pgdat, NR_INACTIVE_ANON);
		sc->file_is_tiny = file + free <= total_high_wmark && !sc->may_deactivate_anon &&
				   (anon >> sc->priority);
	}
}

/*
 * get_scan_count(): nr[lru] pages to scan on each evictable list.  With
 * SCAN_FRACT, anon gets swappiness and file 200 - swappiness shares, each
 * divided by its type's cost (weighted so that neither type gets under a
 * third of the pressure before swappiness).
 */
static void get_scan_count(struct zpa_machine *m, const struct scan_control *sc, const struct lru_sizes *sizes,
			   unsigned long nr[NR_LRU_LISTS])
{
	unsigned long swappiness = (unsigned long)READ_ONCE(m->t.swappiness);
	uint64_t fraction[2] = { 0, 0 }, denominator = 1;
	enum scan_balance balance;

	if (!sc->may_swap || nr_swap_pages(m) <= 0) {
		balance = SCAN_FILE;  /* no swap space: anon cannot be reclaimed */
	} else if (cgroup_reclaim(sc) && !swappiness) {
		balance = SCAN_FILE;  /* a group's swappiness 0 disables its swapping */
	} else if (!sc->priority && swappiness) {
		balance = SCAN_EQUAL; /* near OOM: both types, in full */
	} else if (sc->file_is_tiny) {
		balance = SCAN_ANON;
	} else if (sc->cache_trim_mode) {
		balance = SCAN_FILE;
	} else {
		balance = SCAN_FRACT;
		uint64_t total_cost = (uint64_t)sc->anon_cost + sc->file_cost;
		uint64_t anon_cost = total_cost + sc->anon_cost;
		uint64_t file_cost = total_cost + sc->file_cost;
		total_cost = anon_cost + file_cost;
		uint64_t ap = swappiness * (total_cost + 1) / (anon_cost + 1);
		uint64_t fp = (200 - swappiness) * (total_cost + 1) / (file_cost + 1);
		fraction[0] = ap;
		fraction[1] = fp;
		denominator = ap + fp ? ap + fp : 1;
	}

	for (int lru = 0; lru < LRU_UNEVICTABLE; lru++) {
		int file = is_file_lru(lru);
		uint64_t scan = sizes->eligible[lru] >> sc->priority;
		switch (balance) {
		case SCAN_EQUAL:
			break;
		case SCAN_FRACT:
			scan = scan * fraction[file] / denominator;
			break;
		case SCAN_FILE:
		case SCAN_ANON:
			if ((balance == SCAN_FILE) != file)
				scan = 0;
			break;
		}
		nr[lru] = (unsigned long)scan;
	}
	nr[LRU_UNEVICTABLE] = 0;
}

/* can_age_anon_pages(): aging anon is worth it only with a swap device. */
static bool can_age_anon_pages(struct zpa_machine *m)
{
	return atomic_load_explicit(&m->total_swap_pages, memory_order_relaxed) > 0;
}

static void shrink_lruvec(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc,
			  const struct lru_sizes *sizes)
{
	unsigned long nr[NR_LRU_LISTS], targets[NR_LRU_LISTS];
	unsigned long nr_reclaimed = 0, nr_to_reclaim = sc->nr_to_reclaim;

	get_scan_count(m, sc, sizes, nr);
	memcpy(targets, nr, sizeof(nr));

	/*
	 * Direct reclaim at DEF_PRIORITY scans its whole target even once it
	 * has enough (kswapd is behind: do a batch of work at once).
	 */
	bool proportional_reclaim = !cgroup_reclaim(sc) && !sc->kswapd && sc->priority == DEF_PRIORITY;

	while (nr[LRU_INACTIVE_ANON] || nr[LRU_ACTIVE_FILE] || nr[LRU_INACTIVE_FILE]) {
		for (int lru = 0; lru < LRU_UNEVICTABLE; lru++) {
			if (!nr[lru])
				continue;
			unsigned long nr_to_scan = min_ul(nr[lru], SWAP_CLUSTER_MAX);
			nr[lru] -= nr_to_scan;
			nr_reclaimed += shrink_list(m, pgdat, lru, nr_to_scan, sc);
		}
		if (nr_reclaimed < nr_to_reclaim || proportional_reclaim)
			continue;

		/*
		 * Enough reclaimed: stop the type with less left to scan, and
		 * cut the other one's remaining target to the share of its
		 * original target that the stopped type had left undone.
		 */
		unsigned long nr_file = nr[LRU_INACTIVE_FILE] + nr[LRU_ACTIVE_FILE];
		unsigned long nr_anon = nr[LRU_INACTIVE_ANON] + nr[LRU_ACTIVE_ANON];
		if (!nr_file || !nr_anon)
			break;
		int lru;
		unsigned long percentage;
		if (nr_file > nr_anon) {
			lru = LRU_INACTIVE_ANON;
			percentage = nr_anon * 100 / (targets[LRU_INACTIVE_ANON] + targets[LRU_ACTIVE_ANON] + 1);
		} else {
			lru = LRU_INACTIVE_FILE;
			percentage = nr_file * 100 / (targets[LRU_INACTIVE_FILE] + targets[LRU_ACTIVE_FILE] + 1);
		}
		nr[lru] = 0;
		nr[lru + LRU_ACTIVE] = 0;
		lru = lru == LRU_INACTIVE_FILE ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
		for (int k = 0; k < 2; k++, lru += LRU_ACTIVE) {
			unsigned long scanned = targets[lru] - nr[lru];
			nr[lru] = targets[lru] * (100 - percentage) / 100;
			nr[lru] -= min_ul(nr[lru], scanned);
		}
	}
	sc->nr_reclaimed += nr_reclaimed;

	/* Keep the anon inactive:active balance even when anon was not scanned. */
	if (can_age_anon_pages(m)) {
		struct lru_sizes now;
		lru_sizes(m, pgdat, sc, ANON_LISTS, &now);
		if (inactive_is_low(m, now.node, LRU_INACTIVE_ANON))
			shrink_active_list(m, pgdat, SWAP_CLUSTER_MAX, sc, LRU_ACTIVE_ANON);
	}
}

void kswapd_age_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc)
{
	if (!can_age_anon_pages(m))
		return;
	struct lru_sizes now;
	lru_sizes(m, pgdat, sc, ANON_LISTS, &now);
	if (inactive_is_low(m, now.node, LRU_INACTIVE_ANON))
		shrink_active_list(m, pgdat, SWAP_CLUSTER_MAX, sc, LRU_ACTIVE_ANON);
}

/* ---- shrink_node ---- */

static inline unsigned long compact_gap(int order) { return 2ul << order; }

/*
 * compaction_suitable() as reclaim asks it (alloc_flags 0): SUCCESS when the
 * zone meets its min watermark at this order already, SKIPPED when it lacks
 * the order-0 pages compaction needs (min, or low for costly orders, plus
 * compact_gap), or for costly orders when the fragmentation index says the
 * failure is one of memory, not of fragmentation; else CONTINUE.  A local
 * copy of compaction.c's rule, which internal.h does not export.
 */
static enum compact_result reclaim_compaction_suitable(struct zpa_machine *m, struct zone *z, int order,
						       int highest_zoneidx)
{
	if (zone_watermark_ok(m, z, (unsigned)order, min_wmark_pages(z), highest_zoneidx, 0))
		return COMPACT_SUCCESS;
	unsigned long mark = (order > PAGE_ALLOC_COSTLY_ORDER ? low_wmark_pages(z) : min_wmark_pages(z)) +
			     compact_gap(order);
	if (!__zone_watermark_ok(m, z, 0, mark, highest_zoneidx, ALLOC_CMA, (long)zone_page_state(z, NR_FREE_PAGES)))
		return COMPACT_SKIPPED;
	if (order > PAGE_ALLOC_COSTLY_ORDER) {
		struct contig_page_info info;
		zpa_spin_lock(&z->lock);
		fill_contig_page_info(z, (unsigned)order, &info);
		zpa_spin_unlock(&z->lock);
		int fragindex = __fragmentation_index((unsigned)order, &info);
		if (fragindex >= 0 && fragindex <= READ_ONCE(m->t.extfrag_threshold))
			return COMPACT_SKIPPED;
	}
	return COMPACT_CONTINUE;
}

/* gfp_compaction_allowed(): compaction needs __GFP_IO. */
static inline bool gfp_compaction_allowed(zpa_gfp_t gfp) { return gfp & ZPA___GFP_IO; }

/*
 * should_continue_reclaim(): for a high-order request in reclaim/compaction
 * mode, go on reclaiming on this node while the last pass made progress, no
 * eligible zone is ready for compaction yet and the inactive lists still
 * hold more than compaction's gap.
 */
static bool should_continue_reclaim(struct zpa_machine *m, pg_data_t *pgdat, unsigned long nr_reclaimed,
				    const struct scan_control *sc)
{
	if (!gfp_compaction_allowed(sc->gfp_mask) || !sc->order ||
	    (sc->order <= PAGE_ALLOC_COSTLY_ORDER && sc->priority >= DEF_PRIORITY - 2))
		return false;
	if (!nr_reclaimed)
		return false;
	for (int zi = 0; zi <= sc->reclaim_idx && zi < (int)m->nr_zone_types; zi++) {
		struct zone *z = &pgdat->node_zones[zi];
		if (!managed_zone(z))
			continue;
		enum compact_result r = reclaim_compaction_suitable(m, z, sc->order, sc->reclaim_idx);
		if (r == COMPACT_SUCCESS || r == COMPACT_CONTINUE)
			return false;
	}
	unsigned long inactive = (unsigned long)node_page_state(pgdat, NR_INACTIVE_FILE);
	if (nr_swap_pages(m) > 0)
		inactive += (unsigned long)node_page_state(pgdat, NR_INACTIVE_ANON);
	return inactive > compact_gap(sc->order);
}

void shrink_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc)
{
	bool reclaimable = false;
	struct lru_sizes sizes;
again:
	memset(&sc->nr, 0, sizeof(sc->nr));
	unsigned long nr_reclaimed = sc->nr_reclaimed;

	prepare_scan_count(m, pgdat, sc, &sizes);
	/* shrink_node_memcgs(): zpa has one lruvec per node; memcg reclaim filters it. */
	shrink_lruvec(m, pgdat, sc, &sizes);
	sc->nr_reclaimed += shrink_slab(m, sc->gfp_mask, pgdat->node_id, sc->target_mem_cgroup, sc->priority);

	if (sc->nr_reclaimed - nr_reclaimed)
		reclaimable = true;

	if (sc->kswapd) {
		/* Pages cycle through the LRU faster than their writeback completes. */
		if (sc->nr.writeback && sc->nr.writeback == sc->nr.taken)
			set_pgdat_flag(pgdat, PGDAT_WRITEBACK);
		/* Flushers are not keeping up (there are none here): kswapd may write. */
		if (sc->nr.unqueued_dirty == sc->nr.file_taken)
			set_pgdat_flag(pgdat, PGDAT_DIRTY);
		/* Every dirty page met was already queued for writeback. */
		if (sc->nr.dirty && sc->nr.dirty == sc->nr.congested)
			set_pgdat_flag(pgdat, PGDAT_CONGESTED);
	}

	if (should_continue_reclaim(m, pgdat, sc->nr_reclaimed - nr_reclaimed, sc))
		goto again;

	/* Progress revives a kswapd that gave up on this node. */
	if (reclaimable)
		WRITE_ONCE(pgdat->kswapd_failures, 0);
}

/* ---- direct and memcg reclaim ---- */

/*
 * compaction_ready(): a costly-order request whose zone can already be
 * compacted (with a buffer of free pages above the high watermark) needs
 * no more reclaim there.
 */
static bool compaction_ready(struct zpa_machine *m, struct zone *z, const struct scan_control *sc)
{
	if (!gfp_compaction_allowed(sc->gfp_mask))
		return false;
	enum compact_result r = reclaim_compaction_suitable(m, z, sc->order, sc->reclaim_idx);
	if (r == COMPACT_SUCCESS)
		return true;
	if (r == COMPACT_SKIPPED)
		return false;
	return zone_watermark_ok(m, z, 0, high_wmark_pages(z) + compact_gap(sc->order), sc->reclaim_idx, 0);
}

/*
 * shrink_zones(): one node pass for each node of the zonelist that has an
 * eligible zone (index <= reclaim_idx, node in the nodemask).  Global
 * reclaim skips nodes the task's cpuset forbids (cpuset_zone_allowed() with
 * GFP_KERNEL | __GFP_HARDWALL; an OOM victim may go anywhere) and, for
 * costly orders, zones ready for compaction.
 */
static void shrink_zones(struct zpa_machine *m, struct zonelist *zl, struct scan_control *sc)
{
	struct zpa_task *task = sc_task(sc);
	pg_data_t *last_pgdat = NULL;
	for (struct zoneref *zr = zl->zonerefs; zr->zone; zr++) {
		struct zone *z = zr->zone;
		pg_data_t *pgdat = z->zone_pgdat;
		if (zr->zone_idx > sc->reclaim_idx || !zpa_node_isset(sc->nodemask, pgdat->node_id))
			continue;
		if (!cgroup_reclaim(sc)) {
			if (task->cpuset_active && !tsk_is_oom_victim(task) &&
			    !__cpuset_node_allowed(task, pgdat->node_id, ZPA_GFP_KERNEL | ZPA___GFP_HARDWALL))
				continue;
			if (sc->order > PAGE_ALLOC_COSTLY_ORDER && compaction_ready(m, z, sc)) {
				sc->compaction_ready = true;
				continue;
			}
		}
		if (pgdat == last_pgdat)
			continue;
		last_pgdat = pgdat;
		shrink_node(m, pgdat, sc);
	}
}

/*
 * do_try_to_free_pages(): node passes at falling priority until the target
 * is met.  If nothing was reclaimed and an active list was left alone
 * because its inactive list looked big enough, everything is retried with
 * forced deactivation (zpa never skips memcg-protected memory, so 6.1's
 * memory.low retry does not arise).
 */
static unsigned long do_try_to_free_pages(struct zpa_machine *m, struct zonelist *zl, struct scan_control *sc)
{
	int initial_priority = sc->priority;
retry:
	if (!cgroup_reclaim(sc))
		atomic_fetch_add_explicit(&m->allocstall[sc->reclaim_idx], 1, memory_order_relaxed);
	do {
		sc->nr_scanned = 0;
		shrink_zones(m, zl, sc);
		if (sc->nr_reclaimed >= sc->nr_to_reclaim)
			break;
		if (sc->compaction_ready)
			break;
		/* Trouble reclaiming: write pages even in laptop mode. */
		if (sc->priority < DEF_PRIORITY - 2)
			sc->may_writepage = true;
	} while (--sc->priority >= 0);

	if (sc->nr_reclaimed)
		return sc->nr_reclaimed;
	if (sc->compaction_ready)
		return 1;  /* stopped for compaction: not an OOM */
	if (sc->skipped_deactivate) {
		sc->priority = initial_priority;
		sc->force_deactivate = true;
		sc->skipped_deactivate = false;
		goto retry;
	}
	return 0;
}

unsigned long try_to_free_pages(struct zpa_machine *m, const struct alloc_context *ac, unsigned order, zpa_gfp_t gfp)
{
	struct zpa_task *task = ac->task ? ac->task : zpa_task_current();
	if (task->in_reclaim)
		return 0;  /* an allocation made by a reclaim callback */
	struct scan_control sc = {
		.nr_to_reclaim = SWAP_CLUSTER_MAX,
		.gfp_mask = current_gfp_context(task, gfp),
		.reclaim_idx = ac->highest_zoneidx,
		.order = (int)order,
		.nodemask = ac->nodemask,
		.priority = DEF_PRIORITY,
		.may_writepage = true,  /* laptop_mode is 0 */
		.may_unmap = true,
		.may_swap = true,
		.task = task,
	};
	task->in_reclaim++;
	unsigned long nr = do_try_to_free_pages(m, ac->zonelist, &sc);
	task->in_reclaim--;
	return nr;
}

/* numa_node_id() of the task, else (a node without memory) the first node that has some. */
static pg_data_t *current_pgdat(struct zpa_machine *m, const struct zpa_task *task)
{
	int nid = task_node(m, task);
	if (nid >= 0 && (unsigned)nid < m->nr_nodes && m->nodes[nid])
		return m->nodes[nid];
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n])
			return m->nodes[n];
	return NULL;
}

/* GFP_RECLAIM_MASK: the bits of a request that say how reclaim may work. */
#define GFP_RECLAIM_MASK (ZPA___GFP_RECLAIM | ZPA___GFP_HIGH | ZPA___GFP_IO | ZPA___GFP_FS | ZPA___GFP_NOWARN | \
			  ZPA___GFP_RETRY_MAYFAIL | ZPA___GFP_NOFAIL | ZPA___GFP_NORETRY | ZPA___GFP_MEMALLOC | \
			  ZPA___GFP_NOMEMALLOC | ZPA___GFP_ATOMIC | ZPA___GFP_NOLOCKDEP)

unsigned long try_to_free_mem_cgroup_pages(struct zpa_machine *m, struct zpa_memcg *g, unsigned long nr_pages,
					   zpa_gfp_t gfp, bool may_swap)
{
	struct zpa_task *task = zpa_task_current();
	if (!m || !g || task->in_reclaim)
		return 0;
	pg_data_t *home = current_pgdat(m, task);
	if (!home)
		return 0;
	struct scan_control sc = {
		.nr_to_reclaim = nr_pages > SWAP_CLUSTER_MAX ? nr_pages : SWAP_CLUSTER_MAX,
		.gfp_mask = (current_gfp_context(task, gfp) & GFP_RECLAIM_MASK) |
			    (ZPA_GFP_HIGHUSER_MOVABLE & ~GFP_RECLAIM_MASK),
		.reclaim_idx = (int)m->nr_zone_types - 1,
		.target_mem_cgroup = g,
		.priority = DEF_PRIORITY,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = may_swap,
		.task = task,
	};
	/* The home node's fallback zonelist: equal pressure on every node. */
	task->in_reclaim++;
	unsigned saved = zpa_task_flags_save(task, ZPA_PF_MEMALLOC);
	unsigned long nr = do_try_to_free_pages(m, &home->node_zonelists[ZONELIST_FALLBACK], &sc);
	zpa_task_flags_restore(task, saved, ZPA_PF_MEMALLOC);
	task->in_reclaim--;
	return nr;
}

unsigned long zone_reclaimable_pages(struct zpa_machine *m, struct zone *z)
{
	unsigned long nr = zone_page_state(z, NR_ZONE_INACTIVE_FILE) + zone_page_state(z, NR_ZONE_ACTIVE_FILE);
	if (nr_swap_pages(m) > 0)
		nr += zone_page_state(z, NR_ZONE_INACTIVE_ANON) + zone_page_state(z, NR_ZONE_ACTIVE_ANON);
	/* Nothing on the lists: count the free pages, so the zone is not written off. */
	if (!nr)
		nr = zone_page_state(z, NR_FREE_PAGES);
	return nr;
}

/* ---- drop_caches ---- */

/*
 * Evict every clean file page of one list of the node (drop_pagecache_sb()
 * through invalidate_mapping_pages(), which leaves dirty and writeback pages
 * alone).  Pages it passes over keep their place: a cursor walks from the
 * tail, isolating batches, and restarts from the tail if the page it
 * stopped at moved meanwhile; pages the owner keeps go back to the head, as
 * after any isolation.  At most the list's size in pages is visited.
 */
static unsigned long drop_pagecache_list(struct zpa_machine *m, pg_data_t *pgdat, int lru)
{
	struct lruvec *lv = &pgdat->lruvec;
	struct zpa_page *map = pgdat->node_mem_map;
	struct zpa_page *batch[SWAP_CLUSTER_MAX];
	struct zpa_reclaim_ctx ctx = {
		.gfp = ZPA_GFP_KERNEL, .nid = pgdat->node_id, .priority = 0, .may_unmap = true,
	};
	unsigned long freed = 0;

	zpa_spin_lock(&lv->lru_lock);
	unsigned long budget = lv->nr_pages[lru];
	uint32_t cursor = lv->lists[lru].tail;
	while (budget && cursor != ZPA_NIL) {
		unsigned n = 0;
		while (cursor != ZPA_NIL && budget && n < SWAP_CLUSTER_MAX) {
			struct zpa_page *page = &map[cursor];
			uint32_t f = READ_ONCE(page->flags);
			cursor = page->prev;
			budget -= min_ul(budget, nr_pages_of(page));
			if (!(f & (PG_dirty | PG_writeback)) && __isolate_lru_page(pgdat, page))
				batch[n++] = page;
		}
		zpa_spin_unlock(&lv->lru_lock);
		for (unsigned i = 0; i < n; i++) {
			struct zpa_page *page = batch[i];
			int id = page_owner_id(page);
			const struct zpa_page_owner_ops *ops = page_owner_ops(m, id);
			int ret = ZPA_EVICT_KEEP;
			if (ops && ops->evict)
				ret = ops->evict(m->owner_arg[id], pfn_of(pgdat, page), page_order(page), &ctx);
			if (ret == ZPA_EVICT_FREED && __atomic_load_n(&page->refcount, __ATOMIC_ACQUIRE) == 1) {
				freed += nr_pages_of(page);
				put_page(m, pgdat, page);
			} else {
				if (ret == ZPA_EVICT_FREED)
					zpa_warn(m, __func__, "owner %s: evict() of pfn %#lx said freed, but "
						 "references remain", ops->name ? ops->name : "?",
						 pfn_of(pgdat, page));
				putback_lru_page(m, pgdat, page);
			}
		}
		zpa_spin_lock(&lv->lru_lock);
		if (cursor != ZPA_NIL) {
			uint32_t f = READ_ONCE(map[cursor].flags);
			if (!(f & PG_onlru) || page_lru_of(f) != lru)
				cursor = lv->lists[lru].tail;
		}
	}
	zpa_spin_unlock(&lv->lru_lock);
	return freed;
}

uint64_t zpa_drop_caches(struct zpa_machine *m, int what)
{
	if (!m || what < 1 || what > 3)
		return 0;
	struct zpa_task *task = zpa_task_current();
	if (task->in_reclaim)
		return 0;
	task->in_reclaim++;
	unsigned saved = zpa_task_flags_save(task, ZPA_PF_MEMALLOC);
	uint64_t freed = 0;
	if (what & 1) {
		for (unsigned n = 0; n < m->nr_nodes; n++) {
			pg_data_t *pgdat = m->nodes[n];
			if (!pgdat)
				continue;
			freed += drop_pagecache_list(m, pgdat, LRU_INACTIVE_FILE);
			freed += drop_pagecache_list(m, pgdat, LRU_ACTIVE_FILE);
		}
		count_vm_event(m, DROP_PAGECACHE, 1);
	}
	if (what & 2) {
		/* drop_slab_node(): rounds go on while they free enough objects. */
		for (unsigned n = 0; n < m->nr_nodes; n++) {
			if (!m->nodes[n])
				continue;
			unsigned long objects, pages = 0;
			int shift = 0;
			do {
				objects = shrink_slab_objects(m, ZPA_GFP_KERNEL, (int)n, NULL, 0, &pages);
			} while ((objects >> shift++) > 1 && shift < (int)(sizeof(long) * 8));
			freed += pages;
		}
		count_vm_event(m, DROP_SLAB, 1);
	}
	zpa_task_flags_restore(task, saved, ZPA_PF_MEMALLOC);
	task->in_reclaim--;
	return freed;
}
