/*
 * swap.c - LRU lists and page owners (Linux's mm/swap.c and the LRU side of
 * mm/vmscan.c): the public calls of zpa/reclaim.h that put pages on lists,
 * age them and take them off, plus swap space accounting.
 *
 * Representation.  Each node has one lruvec: five lists (inactive/active x
 * anon/file, unevictable) of allocated blocks, linked through the first
 * page's next/prev as node-local indexes, newest at the head.  A page's LRU
 * state is in its flags (PG_LRU_BITS): PG_onlru while on a list,
 * PG_isolated while reclaim or compaction has it (with a reference of
 * theirs), PG_active / PG_referenced / PG_swapbacked / PG_dirty /
 * PG_writeback, and the owner id.  The per-zone counts Linux prints as
 * nr_zone_{in,}active_{anon,file} and the node's nr_{in,}active_* follow
 * every list change.
 *
 * Locking.  lruvec.lru_lock protects the lists, the counts and the
 * PG_LRU_BITS, which change with atomic RMWs (the rest of the flag word is
 * not written while any of them is set: the free fast paths refuse such
 * pages and the slow free path clears them only after taking the page off
 * its list).  Order: zone lock -> lru_lock; never a zone lock under
 * lru_lock.  Reference counts are atomic; isolation takes a reference only
 * from a count above zero (get_page_unless_zero), so a page whose last
 * reference is being dropped is left to the free path, which unlinks it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

/* ---- lookups ---- */

bool pfn_to_node_page(const struct zpa_machine *m, zpa_pfn_t pfn, pg_data_t **pgdatp, struct zpa_page **pagep)
{
	if (pfn > ~0ul)
		return false;
	pg_data_t *pgdat = pfn_to_pgdat(m, (unsigned long)pfn);
	if (!pgdat)
		return false;
	struct zpa_page *page = pfn_to_page_nid(pgdat, (unsigned long)pfn);
	if (READ_ONCE(page->flags) & (PG_hole | PG_reserved)) /* other bits change under us (LRU RMWs) */
		return false;
	*pgdatp = pgdat;
	*pagep = page;
	return true;
}

static inline unsigned long page_nr(const struct zpa_page *p) { return 1ul << page_order(p); }

/* nr_dirty counts dirty file pages (NR_FILE_DIRTY); anonymous dirtiness is implied. */
static inline void dirty_count(pg_data_t *pgdat, struct zpa_page *page, uint32_t f, long sign)
{
	if (!(f & PG_swapbacked))
		mod_node_state(pgdat, NR_FILE_DIRTY, sign * (long)page_nr(page));
}

/* Forget a page's LRU state entirely (off its list already or never on one). */
static void clear_lru_state(pg_data_t *pgdat, struct zpa_page *page, uint32_t f)
{
	if (f & PG_dirty)
		dirty_count(pgdat, page, f, -1);
	if (f & PG_writeback)
		mod_node_state(pgdat, NR_WRITEBACK, -(long)page_nr(page));
	page_flags_clear(page, PG_LRU_BITS);
}

/* ---- list primitives (lru_lock held) ---- */

static inline void lru_count(pg_data_t *pgdat, struct zpa_page *page, int lru, long nr)
{
	struct zone *z = page_zone(pgdat, page);
	pgdat->lruvec.nr_pages[lru] += (unsigned long)nr;
	mod_node_state(pgdat, (enum node_stat_item)(NR_INACTIVE_ANON + lru), nr);
	/* Only LRU code changes these zone counters, atomically (see types.h). */
	__atomic_add_fetch(&z->vm_stat[NR_ZONE_INACTIVE_ANON + lru], nr, __ATOMIC_RELAXED);
}

void lru_list_add(pg_data_t *pgdat, struct zpa_page *page, int lru, bool tail)
{
	struct free_list *l = &pgdat->lruvec.lists[lru];
	struct zpa_page *map = pgdat->node_mem_map;
	uint32_t idx = (uint32_t)(page - map);
	if (tail) {
		page->next = ZPA_NIL;
		page->prev = l->tail;
		if (l->tail != ZPA_NIL)
			map[l->tail].next = idx;
		else
			l->head = idx;
		l->tail = idx;
	} else {
		page->prev = ZPA_NIL;
		page->next = l->head;
		if (l->head != ZPA_NIL)
			map[l->head].prev = idx;
		else
			l->tail = idx;
		l->head = idx;
	}
	page_flags_set(page, PG_onlru);
	lru_count(pgdat, page, lru, (long)page_nr(page));
}

void lru_list_del(pg_data_t *pgdat, struct zpa_page *page, int lru)
{
	struct free_list *l = &pgdat->lruvec.lists[lru];
	struct zpa_page *map = pgdat->node_mem_map;
	if (page->prev != ZPA_NIL)
		map[page->prev].next = page->next;
	else
		l->head = page->next;
	if (page->next != ZPA_NIL)
		map[page->next].prev = page->prev;
	else
		l->tail = page->prev;
	page->next = page->prev = ZPA_NIL;
	page_flags_clear(page, PG_onlru);
	lru_count(pgdat, page, lru, -(long)page_nr(page));
}

static inline void isolated_count(pg_data_t *pgdat, struct zpa_page *page, long sign)
{
	mod_node_state(pgdat, READ_ONCE(page->flags) & PG_swapbacked ? NR_ISOLATED_ANON : NR_ISOLATED_FILE,
		       sign * (long)page_nr(page));
}

bool __isolate_lru_page(pg_data_t *pgdat, struct zpa_page *page)
{
	uint32_t f = READ_ONCE(page->flags);
	if (!(f & PG_onlru) || !page_ref_get_unless_zero(page))
		return false;
	lru_list_del(pgdat, page, page_lru_of(f));
	page_flags_set(page, PG_isolated);
	isolated_count(pgdat, page, 1);
	return true;
}

bool isolate_lru_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	(void)m;
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	bool ok = __isolate_lru_page(pgdat, page);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return ok;
}

void put_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	/*
	 * put_page_testzero(): a reference that is not the last is just
	 * dropped (LRU blocks are order 0 or compound, so nothing else happens
	 * to them), under the zone lock like every other drop; only the last
	 * one takes the free path, whose checks read the page's flags while
	 * its owner may be changing the LRU bits.
	 */
	struct zone *z = page_zone(pgdat, page);
	zpa_spin_lock(&z->lock);
	if (__atomic_load_n(&page->refcount, __ATOMIC_RELAXED) > 1) {
		__atomic_sub_fetch(&page->refcount, 1, __ATOMIC_ACQ_REL);
		zpa_spin_unlock(&z->lock);
		return;
	}
	zpa_spin_unlock(&z->lock);
	unsigned long pfn = pgdat->node_start_pfn + (unsigned long)(page - pgdat->node_mem_map);
	zpa__free_pages(m, NULL, pfn, page_order(page));
}

void putback_lru_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	/*
	 * The isolating reference goes before the page is on a list again
	 * (under the zone lock, which orders reference drops, and lru_lock), so
	 * whoever isolates it next never counts ours.  The owner may have freed
	 * it meanwhile: then ours is the last reference and it goes to the free
	 * lists, not back on a list.
	 */
	struct zone *z = page_zone(pgdat, page);
	zpa_spin_lock(&z->lock);
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	isolated_count(pgdat, page, -1);
	page_flags_clear(page, PG_isolated);
	bool last = __atomic_load_n(&page->refcount, __ATOMIC_ACQUIRE) <= 1;
	if (!last) {
		__atomic_sub_fetch(&page->refcount, 1, __ATOMIC_ACQ_REL);
		lru_list_add(pgdat, page, page_lru_of(READ_ONCE(page->flags)), false);
	}
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	zpa_spin_unlock(&z->lock);
	if (last)
		put_page(m, pgdat, page);
}

void lru_release_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	(void)m;
	uint32_t f = READ_ONCE(page->flags);
	if (!(f & PG_LRU_BITS))
		return;
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	f = READ_ONCE(page->flags);
	if (f & PG_onlru)
		lru_list_del(pgdat, page, page_lru_of(f));
	if (f & PG_isolated)
		isolated_count(pgdat, page, -1);
	clear_lru_state(pgdat, page, f);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
}

/* ---- page owners ---- */

int zpa_page_owner_register(struct zpa_machine *m, const struct zpa_page_owner_ops *ops, void *arg)
{
	if (!m || !ops || (!ops->evict && !ops->migrate))
		return ZPA_EINVAL;
	zpa_spin_lock(&m->setup_lock);
	int id = atomic_load(&m->nr_owners) + 1;
	if (id > ZPA_MAX_PAGE_OWNERS) {
		zpa_spin_unlock(&m->setup_lock);
		return ZPA_ENOMEM;
	}
	m->owner_arg[id] = arg;
	m->owner_ops[id] = ops;
	atomic_store(&m->nr_owners, id);
	zpa_spin_unlock(&m->setup_lock);
	return id;
}

/* ---- the public LRU calls ---- */

/*
 * Look up the allocated head block at pfn and take its node's lru_lock.
 * Returns 0 with the lock held, or an error without it.
 */
static int lru_lock_page(struct zpa_machine *m, zpa_pfn_t pfn, pg_data_t **pgdatp, struct zpa_page **pagep)
{
	if (!m || !pfn_to_node_page(m, pfn, pgdatp, pagep))
		return ZPA_EBADPFN;
	struct zpa_page *page = *pagep;
	zpa_spin_lock(&(*pgdatp)->lruvec.lru_lock);
	uint32_t f = READ_ONCE(page->flags);
	if (!(f & PG_alloc) || (f & (PG_tail | PG_buddy | PG_pcp)) || __atomic_load_n(&page->refcount, __ATOMIC_RELAXED) < 1) {
		zpa_spin_unlock(&(*pgdatp)->lruvec.lru_lock);
		return ZPA_EINVAL;
	}
	return 0;
}

/*
 * One LRU call on the allocated head block at pfn: fn runs with the node's
 * lru_lock held and the page's flags read once; its result is the call's.
 */
typedef int (*lru_page_fn)(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg);
static int lru_page_call(struct zpa_machine *m, zpa_pfn_t pfn, lru_page_fn fn, int arg)
{
	pg_data_t *pgdat;
	struct zpa_page *page;
	int err = lru_lock_page(m, pfn, &pgdat, &page);
	if (err)
		return err;
	err = fn(m, pgdat, page, READ_ONCE(page->flags), arg);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return err;
}

int zpa_lru_add(struct zpa_machine *m, zpa_pfn_t pfn, int owner, unsigned flags)
{
	pg_data_t *pgdat;
	struct zpa_page *page;
	if (!m || !page_owner_ops(m, owner) || !m->owner_ops[owner]->evict || (flags & ~7u))
		return ZPA_EINVAL;
	int err = lru_lock_page(m, pfn, &pgdat, &page);
	if (err)
		return err;
	uint32_t f = READ_ONCE(page->flags);
	if ((f & (PG_LRU_BITS | PG_listed)) || (page_order(page) && !(f & PG_head))) {
		zpa_spin_unlock(&pgdat->lruvec.lru_lock);
		zpa_warn(m, __func__, "pfn %#llx: %s", (unsigned long long)pfn,
			 f & PG_LRU_BITS ? "already on an LRU or movable" :
			 f & PG_listed ? "on a zpa_page_list" : "order > 0 without __GFP_COMP");
		return ZPA_EINVAL;
	}
	uint32_t bits = (uint32_t)owner << PG_OWNER_SHIFT;
	if (flags & ZPA_LRU_ANON)
		bits |= PG_swapbacked;
	if (flags & ZPA_LRU_ACTIVE)
		bits |= PG_active;
	if (flags & ZPA_LRU_DIRTY) {
		bits |= PG_dirty;
		dirty_count(pgdat, page, bits, 1);
	}
	page_flags_set(page, bits);
	lru_list_add(pgdat, page, page_lru_of(bits), false);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return 0;
}

static int lru_del_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if (f & PG_isolated)
		err = ZPA_EBUSY;
	else if (!(f & PG_onlru))
		err = ZPA_EINVAL;
	else {
		lru_list_del(pgdat, page, page_lru_of(f));
		clear_lru_state(pgdat, page, f);
	}
	return err;
}

int zpa_lru_del(struct zpa_machine *m, zpa_pfn_t pfn)
{
	return lru_page_call(m, pfn, lru_del_locked, 0);
}

static int mark_page_accessed_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if (!(f & (PG_onlru | PG_isolated))) {
		err = ZPA_EINVAL;
	} else if (!(f & PG_referenced)) {
		page_flags_set(page, PG_referenced);
	} else if (!(f & PG_active)) {
		/* Referenced twice while inactive: promote (folio_activate). */
		if (f & PG_onlru) {
			lru_list_del(pgdat, page, page_lru_of(f));
			page_flags_set(page, PG_active);
			lru_list_add(pgdat, page, page_lru_of(f | PG_active), false);
		} else {
			page_flags_set(page, PG_active); /* isolated: goes back active */
		}
		page_flags_clear(page, PG_referenced);
		count_vm_event(m, PGACTIVATE, page_nr(page));
	}
	return err;
}

int zpa_mark_page_accessed(struct zpa_machine *m, zpa_pfn_t pfn)
{
	return lru_page_call(m, pfn, mark_page_accessed_locked, 0);
}

static int page_set_dirty_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if (!(f & (PG_onlru | PG_isolated)))
		err = ZPA_EINVAL;
	else if (!(f & PG_dirty)) {
		page_flags_set(page, PG_dirty);
		dirty_count(pgdat, page, f, 1);
	}
	return err;
}

int zpa_page_set_dirty(struct zpa_machine *m, zpa_pfn_t pfn)
{
	return lru_page_call(m, pfn, page_set_dirty_locked, 0);
}

static int page_end_writeback_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if (!(f & PG_writeback)) {
		err = ZPA_EINVAL;
	} else {
		page_flags_clear(page, PG_writeback);
		mod_node_state(pgdat, NR_WRITEBACK, -(long)page_nr(page));
		/*
		 * folio_end_writeback() -> folio_rotate_reclaimable(): only reclaim
		 * starts writeback here (zpa's PG_writeback implies Linux's
		 * PG_reclaim), so a page still on a list and not dirtied again goes
		 * to the tail of its inactive list, deactivated as lru_move_tail_fn()
		 * does (reclaim activates the writeback pages it meets), to be freed
		 * next.
		 */
		if ((f & PG_onlru) && !(f & PG_dirty)) {
			lru_list_del(pgdat, page, page_lru_of(f));
			page_flags_clear(page, PG_active);
			lru_list_add(pgdat, page, page_lru_of(f & ~PG_active), true);
			count_vm_event(m, PGROTATED, page_nr(page));
		}
	}
	return err;
}

int zpa_page_end_writeback(struct zpa_machine *m, zpa_pfn_t pfn)
{
	return lru_page_call(m, pfn, page_end_writeback_locked, 0);
}

static int page_set_movable_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if ((f & (PG_LRU_BITS | PG_listed)) || (page_order(page) && !(f & PG_head)))
		err = ZPA_EINVAL;
	else
		page_flags_set(page, (uint32_t)arg << PG_OWNER_SHIFT);
	return err;
}

int zpa_page_set_movable(struct zpa_machine *m, zpa_pfn_t pfn, int owner)
{
	if (!m || !page_owner_ops(m, owner) || !m->owner_ops[owner]->migrate)
		return ZPA_EINVAL;
	return lru_page_call(m, pfn, page_set_movable_locked, owner);
}

static int page_clear_movable_locked(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page, uint32_t f, int arg)
{
	int err = 0;
	(void)m;
	(void)arg;
	if (f & PG_isolated)
		err = ZPA_EBUSY;
	else if ((f & PG_onlru) || !(f & PG_OWNER_MASK))
		err = ZPA_EINVAL;
	else
		page_flags_clear(page, PG_OWNER_MASK);
	return err;
}

int zpa_page_clear_movable(struct zpa_machine *m, zpa_pfn_t pfn)
{
	return lru_page_call(m, pfn, page_clear_movable_locked, 0);
}

int zpa_lru_sizes(struct zpa_machine *m, int nid, uint64_t out[ZPA_NR_LRU_LISTS])
{
	if (!m || nid < 0 || (unsigned)nid >= m->nr_nodes || !m->nodes[nid])
		return ZPA_ENOENT;
	pg_data_t *pgdat = m->nodes[nid];
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	for (int i = 0; i < NR_LRU_LISTS; i++)
		out[i] = pgdat->lruvec.nr_pages[i];
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return 0;
}

/* ---- swap space ---- */

void zpa_swap_set(struct zpa_machine *m, uint64_t total, uint64_t free)
{
	atomic_store(&m->total_swap_pages, (long)total);
	atomic_store(&m->nr_swap_pages, (long)(free > total ? total : free));
}

void zpa_swap_account(struct zpa_machine *m, int64_t free_delta)
{
	atomic_fetch_add(&m->nr_swap_pages, (long)free_delta);
}

uint64_t zpa_swap_free(const struct zpa_machine *m)
{
	long v = atomic_load(&((struct zpa_machine *)m)->nr_swap_pages);
	return v < 0 ? 0 : (uint64_t)v;
}
