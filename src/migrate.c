/*
 * migrate.c - page migration, the part of Linux 6.1's mm/migrate.c (and of
 * __alloc_contig_migrate_range() in mm/page_alloc.c) that zpa needs:
 * isolating non-LRU movable pages, moving one isolated block into a fresh
 * one through its owner, the migrate_pages() driver with its retry passes,
 * and emptying a range for alloc_contig_range() and memory offlining.
 *
 * Moving a block.  zpa does not own the users of a page, so the copy and
 * the switch of every mapping to the new block are the owner's migrate()
 * callback (zpa/reclaim.h): zpa's part is the page state around it.  The
 * source is isolated (PG_isolated plus a reference of the migrator's: an
 * LRU page taken off its list by isolate_lru_page(), a non-LRU movable page
 * marked by isolate_movable_page()); the target is a block of the same
 * order that the migrator took from the allocator or the free lists and
 * prepared as allocated (reference count 1, compound when the source is).
 * __migrate_page_to() then:
 *   1. refuses pages under writeback (full sync mode would wait for it;
 *      zpa cannot, so it says "again" there and "busy" otherwise);
 *   2. lends the target the owner's references (the source's count minus
 *      the migrator's), because as soon as the callback has switched the
 *      users they may drop references on the target;
 *   3. calls migrate(src, dst) with no lock held and ZPA_PF_MEMALLOC set on
 *      the calling task;
 *   4. on success moves the owner bits, active/referenced/swapbacked/dirty
 *      and PG_lru to the target, the memcg charge with mem_cgroup_migrate(),
 *      puts the target on its node's LRU list (LRU pages) and drops the
 *      migrator's reference to it; the source loses everything and is freed
 *      straight to the buddy lists (free_isolated_block(), where a direct
 *      compactor may capture it).  On failure the loan is taken back and
 *      nothing else changes.
 * Linux's page lock, unmapping and migration entries belong to the owner
 * here; the first and the writeback wait are the only reasons zpa itself
 * says "again".
 *
 * Driver.  migrate_pages() runs the list up to 10 passes while pages answer
 * ZPA_EAGAIN (Linux's NR_MAX_MIGRATE_PAGES_RETRY); "busy" pages fail at
 * once, a missing target (ZPA_ENOMEM) stops everything.  A page whose owner
 * freed it while it was isolated (the migrator's reference is the last) is
 * released and counted as migrated, as Linux does.  pgmigrate_success and
 * pgmigrate_fail count pages once per call, with Linux's rules for pages
 * still retrying at the end (failed).
 *
 * Ranges.  migrate_range_out() is __alloc_contig_migrate_range(): isolate
 * up to COMPACT_CLUSTER_MAX movable pages of the range at a time
 * (isolate_migratepages_range() in compaction.c, compound pages included),
 * migrate them to targets from the allocator (alloc_migration_target():
 * GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL on the range's node,
 * GFP_TRANSHUGE without reclaim for compound pages), and give up with
 * ZPA_EBUSY after 5 rounds that left pages behind.  The range is
 * MIGRATE_ISOLATE by then, so no target can come from it.  Linux first
 * reclaims clean file pages of the list (reclaim_clean_pages_from_list());
 * zpa migrates them like the rest.
 *
 * Locking.  The node's lru_lock around every change of PG_LRU_BITS (never a
 * zone lock under it); owner callbacks run with no lock held; the source's
 * free takes its zone lock.  A source node and a target node are never
 * locked together.
 *
 * SPDX-License-Identifier: MIT
 */
#include "compaction.h"

static inline bool page_isolated_nonlru(const struct zpa_page *page)
{
	return page->prev == PAGE_NONLRU_ISOLATED;
}

static inline unsigned long block_pfn(pg_data_t *pgdat, const struct zpa_page *page)
{
	return pgdat->node_start_pfn + (unsigned long)(page - pgdat->node_mem_map);
}

/* ---- isolation and putback ---- */

bool isolate_movable_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	bool ok = false;
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	uint32_t f = READ_ONCE(page->flags);
	const struct zpa_page_owner_ops *ops = page_owner_ops(m, (int)((f & PG_OWNER_MASK) >> PG_OWNER_SHIFT));
	if (ops && ops->migrate && (f & PG_alloc) && !(f & (PG_onlru | PG_isolated | PG_tail | PG_listed)) &&
	    page_ref_get_unless_zero(page)) {
		page_flags_set(page, PG_isolated);
		page->prev = PAGE_NONLRU_ISOLATED;
		ok = true;
	}
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return ok;
}

/* putback_movable_page(): a non-LRU movable page is movable again; our reference goes. */
static void putback_movable_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	page->prev = ZPA_NIL;
	page_flags_clear(page, PG_isolated);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	put_page(m, pgdat, page);
}

static void putback_one(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	if (page_isolated_nonlru(page))
		putback_movable_page(m, pgdat, page);
	else
		putback_lru_page(m, pgdat, page);
}

void putback_movable_pages(struct zpa_machine *m, struct page_queue *q)
{
	struct zpa_page *page;
	while ((page = page_queue_pop(q)))
		putback_one(m, q->pgdat, page);
}

/* ---- moving one block ---- */

/* The source after a successful move: nothing of it is left; back to the buddy lists. */
static void release_migrated_source(struct zpa_machine *m, struct zone *z, struct zpa_page *src, unsigned long pfn,
				    unsigned order)
{
	/* mem_cgroup_migrate() could not move the charge (no table memory): drop it. */
	if (unlikely(READ_ONCE(src->flags) & PG_memcg))
		__memcg_kmem_uncharge_page(m, src, pfn);
	src->prev = ZPA_NIL;
	if (READ_ONCE(src->flags) & PG_head)
		for (unsigned long i = 1; i < (1ul << order); i++) {
			WRITE_ONCE(src[i].flags, src[i].flags & PG_ZONE_MASK);
			src[i].next = ZPA_NIL;
		}
	WRITE_ONCE(src->flags, src->flags & PG_ZONE_MASK);
	free_isolated_block(m, z, src, pfn, order);
}

int __migrate_page_to(struct zpa_machine *m, struct zone *src_zone, struct zpa_page *src, struct zone *dst_zone,
		      struct zpa_page *dst, int mode)
{
	pg_data_t *spg = src_zone->zone_pgdat, *dpg = dst_zone->zone_pgdat;
	uint32_t f = READ_ONCE(src->flags);
	bool nonlru = page_isolated_nonlru(src);
	unsigned order = page_order(src);
	int owner = page_owner_id(src);
	const struct zpa_page_owner_ops *ops = page_owner_ops(m, owner);
	unsigned long src_pfn = page_to_pfn(src_zone, src), dst_pfn = page_to_pfn(dst_zone, dst);

	ZPA_ASSERT(m, f & PG_isolated);
	ZPA_ASSERT(m, (READ_ONCE(dst->flags) & PG_alloc) && page_order(dst) == order);
	ZPA_ASSERT(m, !(READ_ONCE(dst->flags) & (PG_LRU_BITS | PG_memcg)));
	ZPA_ASSERT(m, !(f & PG_head) == !(READ_ONCE(dst->flags) & PG_head));
	if (!ops || !ops->migrate)
		return ZPA_EBUSY;
	if (f & PG_writeback)
		return mode == MIGRATE_SYNC ? ZPA_EAGAIN : ZPA_EBUSY;
	int refs = __atomic_load_n(&src->refcount, __ATOMIC_ACQUIRE);
	if (refs < 2)
		return ZPA_EAGAIN; /* the owner let go meanwhile: migrate_pages() releases it */

	/* The owner's references, lent to dst before its users can see it. */
	__atomic_add_fetch(&dst->refcount, refs - 1, __ATOMIC_ACQ_REL);
	struct zpa_task *task = zpa_task_current();
	unsigned saved = zpa_task_flags_save(task, ZPA_PF_MEMALLOC);
	int rc = ops->migrate(m->owner_arg[owner], src_pfn, dst_pfn, order, mode);
	zpa_task_flags_restore(task, saved, ZPA_PF_MEMALLOC);
	if (rc) {
		__atomic_sub_fetch(&dst->refcount, refs - 1, __ATOMIC_ACQ_REL);
		return rc == ZPA_EAGAIN ? ZPA_EAGAIN : ZPA_EBUSY;
	}

	/* The owner's state leaves src under its node's lock... */
	unsigned long nr = 1ul << order;
	zpa_spin_lock(&spg->lruvec.lru_lock);
	f = READ_ONCE(src->flags);
	uint32_t bits = f & (PG_LRU_BITS & ~(PG_onlru | PG_isolated));
	page_flags_clear(src, PG_LRU_BITS);
	zpa_spin_unlock(&spg->lruvec.lru_lock);
	if (!nonlru)
		mod_node_state(spg, f & PG_swapbacked ? NR_ISOLATED_ANON : NR_ISOLATED_FILE, -(long)nr);
	if (spg != dpg && (f & PG_dirty) && !(f & PG_swapbacked)) {
		mod_node_state(spg, NR_FILE_DIRTY, -(long)nr);
		mod_node_state(dpg, NR_FILE_DIRTY, (long)nr);
	}
	__atomic_store_n(&src->refcount, 0, __ATOMIC_RELEASE);
	mem_cgroup_migrate(m, src, src_pfn, dst, dst_pfn);

	/* ... and reaches dst under its node's lock; an LRU page joins its list (folio_add_lru). */
	if (f & PG_lru)
		page_flags_set(dst, PG_lru);
	else
		page_flags_clear(dst, PG_lru);
	zpa_spin_lock(&dpg->lruvec.lru_lock);
	page_flags_set(dst, bits);
	if (!nonlru)
		lru_list_add(dpg, dst, page_lru_of(bits), false);
	zpa_spin_unlock(&dpg->lruvec.lru_lock);
	/* The migrator's reference to dst (frees it if its owner already did). */
	put_page(m, dpg, dst);

	release_migrated_source(m, src_zone, src, src_pfn, order);
	return 0;
}

int migrate_page_to(struct zpa_machine *m, struct zone *src_zone, struct zpa_page *src, struct zone *dst_zone,
		    struct zpa_page *dst, int mode)
{
	unsigned long nr = 1ul << page_order(src);
	int rc = __migrate_page_to(m, src_zone, src, dst_zone, dst, mode);
	count_vm_event(m, rc ? PGMIGRATE_FAIL : PGMIGRATE_SUCCESS, nr);
	return rc;
}

/* ---- the driver ---- */

/* A source whose owner freed it while isolated: drop the isolation, which frees it. */
static void migrate_page_done_freed(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page)
{
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	page_flags_clear(page, PG_active);
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	putback_one(m, pgdat, page);
}

int migrate_pages(struct zpa_machine *m, struct page_queue *from, new_page_t get_new_page, free_page_t put_new_page,
		  void *private, int mode, unsigned long *nr_succeeded)
{
	pg_data_t *pgdat = from->pgdat;
	struct page_queue failed;
	unsigned long succeeded = 0, failed_pages = 0, retry_pages = 0;
	int retry = 1, nr_failed = 0, rc;

	page_queue_init(&failed, pgdat);
	for (int pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++) {
		retry = 0;
		retry_pages = 0;
		/* One walk of the list: pages to retry go to its tail, behind the walk. */
		for (unsigned long n = from->nr; n; n--) {
			struct zpa_page *src = page_queue_pop(from);
			unsigned long nr = 1ul << page_order(src);
			struct zone *src_zone = page_zone(pgdat, src), *dst_zone = NULL;
			struct zpa_page *dst;

			if (__atomic_load_n(&src->refcount, __ATOMIC_ACQUIRE) == 1) {
				migrate_page_done_freed(m, pgdat, src);
				succeeded += nr;
				continue;
			}
			dst = get_new_page(m, src, private, &dst_zone);
			if (!dst) {
				page_queue_add_head(from, src);
				failed_pages += nr + retry_pages;
				rc = ZPA_ENOMEM;
				goto out;
			}
			rc = __migrate_page_to(m, src_zone, src, dst_zone, dst, mode);
			if (rc) {
				if (put_new_page)
					put_new_page(m, dst_zone, dst, private);
				else
					zpa__free_pages(m, NULL, page_to_pfn(dst_zone, dst), page_order(dst));
			}
			switch (rc) {
			case 0:
				succeeded += nr;
				break;
			case ZPA_EAGAIN:
				retry++;
				retry_pages += nr;
				page_queue_add_tail(from, src);
				break;
			default:
				nr_failed++;
				failed_pages += nr;
				page_queue_add_tail(&failed, src);
				break;
			}
		}
	}
	nr_failed += retry;
	failed_pages += retry_pages;
	rc = nr_failed;
out:
	page_queue_splice_tail(from, &failed);
	if (page_queue_empty(from))
		rc = 0;
	count_vm_event(m, PGMIGRATE_SUCCESS, succeeded);
	count_vm_event(m, PGMIGRATE_FAIL, failed_pages);
	if (nr_succeeded)
		*nr_succeeded = succeeded;
	return rc;
}

/* ---- emptying a range (alloc_contig_range, offlining) ---- */

struct migration_target_control {
	int nid;
	zpa_gfp_t gfp_mask;
	struct zpa_task *task;
};

/* alloc_migration_target(): a block like src from the allocator, preferably on the range's node. */
static struct zpa_page *alloc_migration_target(struct zpa_machine *m, struct zpa_page *src, void *private,
					       struct zone **zone_out)
{
	struct migration_target_control *mtc = private;
	zpa_gfp_t gfp = mtc->gfp_mask;
	unsigned order = 0;
	if (READ_ONCE(src->flags) & PG_head) {
		/* Large blocks: no reclaim for them, and compound like the source. */
		gfp &= ~ZPA___GFP_RECLAIM;
		gfp |= ZPA_GFP_TRANSHUGE;
		order = page_order(src);
	}
	unsigned zidx = (READ_ONCE(src->flags) & PG_ZONE_MASK) >> PG_ZONE_SHIFT;
	if (is_highmem_idx(m, (int)zidx) || m->zone_type_of[zidx] == ZPA_ZONE_MOVABLE)
		gfp |= ZPA___GFP_HIGHMEM;
	zpa_pfn_t pfn = __alloc_pages(m, mtc->task, gfp, order, mtc->nid, NULL, zone_out);
	if (pfn == ZPA_PFN_NONE)
		return NULL;
	return pfn_to_page_nid((*zone_out)->zone_pgdat, (unsigned long)pfn);
}

int migrate_range_out(struct zpa_machine *m, unsigned long start, unsigned long end)
{
	pg_data_t *pgdat = pfn_to_pgdat(m, start);
	if (!pgdat || start >= end)
		return ZPA_EINVAL;
	struct zpa_task *task = zpa_task_current();
	struct compact_control cc = {
		.m = m,
		.zone = page_zone(pgdat, pfn_to_page_nid(pgdat, start)),
		.task = task,
		.order = -1,
		.mode = MIGRATE_SYNC,
		.ignore_skip_hint = true,
		.no_set_skip_hint = true,
		.gfp_mask = current_gfp_context(task, ZPA_GFP_KERNEL),
		.alloc_contig = true,
	};
	struct migration_target_control mtc = {
		.nid = pgdat->node_id,
		.gfp_mask = ZPA_GFP_USER | ZPA___GFP_MOVABLE | ZPA___GFP_RETRY_MAYFAIL,
		.task = task,
	};
	unsigned long pfn = start;
	unsigned tries = 0;
	int ret = 0;

	page_queue_init(&cc.migratepages, pgdat);
	page_queue_init(&cc.freepages, pgdat);
	while (pfn < end || !page_queue_empty(&cc.migratepages)) {
		if (page_queue_empty(&cc.migratepages)) {
			cc.nr_migratepages = 0;
			ret = isolate_migratepages_range(&cc, pfn, end);
			if (ret && ret != ZPA_EAGAIN)
				break;
			pfn = cc.migrate_pfn;
			tries = 0;
		} else if (++tries == 5) {
			ret = ZPA_EBUSY;
			break;
		}
		ret = migrate_pages(m, &cc.migratepages, alloc_migration_target, NULL, &mtc, cc.mode, NULL);
		if (ret == ZPA_ENOMEM)
			break;
	}
	if (ret < 0) {
		putback_movable_pages(m, &cc.migratepages);
		return ret == ZPA_ENOMEM ? ZPA_ENOMEM : ZPA_EBUSY;
	}
	return 0;
}
