/*
 * compaction.h - what compaction.c and migrate.c share and nobody else needs
 * (Linux keeps these in mm/internal.h and include/linux/migrate.h): the
 * compact_control of one compaction run, lists of isolated pages, the
 * migrate_pages() driver and the free of a migrated-away block that may be
 * captured for a direct compactor.  Tests include it to drive the pieces.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_COMPACTION_H
#define ZPA_COMPACTION_H

#include "internal.h"

#define COMPACT_CLUSTER_MAX SWAP_CLUSTER_MAX
#define COMPACT_MAX_DEFER_SHIFT 6
#define HPAGE_FRAG_CHECK_INTERVAL_MSEC 500ull   /* kcompactd's proactive timer (HZ/2) */
#define NR_MAX_MIGRATE_PAGES_RETRY 10           /* migrate_pages(): passes while pages say "again" */

/* Migration modes (Linux's enum migrate_mode) are zpa/reclaim.h's. */
#define MIGRATE_ASYNC      ZPA_MIGRATE_ASYNC
#define MIGRATE_SYNC_LIGHT ZPA_MIGRATE_SYNC_LIGHT
#define MIGRATE_SYNC       ZPA_MIGRATE_SYNC

/*
 * A list of isolated pages of one node, linked through page->next as
 * node-local indexes (Linux links them through page->lru).  Pages on it are
 * either isolated movable blocks (the migration sources; page->prev tells
 * LRU from non-LRU, see below) or order-0 pages taken off the free lists by
 * the compaction free scanner (the migration targets).  FIFO: pages are
 * handed out in the order they were added.
 */
struct page_queue {
	pg_data_t *pgdat;
	uint32_t head, tail;
	unsigned long nr;          /* entries (blocks, not pages) */
};

/*
 * An isolated non-LRU movable page (zpa_page_set_movable) carries this in
 * page->prev while isolated; an isolated LRU page has ZPA_NIL there (lru
 * deletion leaves it so).  Both have PG_isolated and no PG_onlru, so the
 * flags alone cannot tell them apart.
 */
#define PAGE_NONLRU_ISOLATED 0xfffffffeu

static inline void page_queue_init(struct page_queue *q, pg_data_t *pgdat)
{
	q->pgdat = pgdat;
	q->head = q->tail = ZPA_NIL;
	q->nr = 0;
}

static inline bool page_queue_empty(const struct page_queue *q) { return q->head == ZPA_NIL; }

static inline void page_queue_add_tail(struct page_queue *q, struct zpa_page *page)
{
	uint32_t idx = (uint32_t)(page - q->pgdat->node_mem_map);
	page->next = ZPA_NIL;
	if (q->tail == ZPA_NIL)
		q->head = idx;
	else
		q->pgdat->node_mem_map[q->tail].next = idx;
	q->tail = idx;
	q->nr++;
}

static inline void page_queue_add_head(struct page_queue *q, struct zpa_page *page)
{
	uint32_t idx = (uint32_t)(page - q->pgdat->node_mem_map);
	page->next = q->head;
	q->head = idx;
	if (q->tail == ZPA_NIL)
		q->tail = idx;
	q->nr++;
}

static inline struct zpa_page *page_queue_pop(struct page_queue *q)
{
	if (q->head == ZPA_NIL)
		return NULL;
	struct zpa_page *page = &q->pgdat->node_mem_map[q->head];
	q->head = page->next;
	if (q->head == ZPA_NIL)
		q->tail = ZPA_NIL;
	page->next = ZPA_NIL;
	q->nr--;
	return page;
}

/* Move every entry of from to the tail of to. */
static inline void page_queue_splice_tail(struct page_queue *to, struct page_queue *from)
{
	struct zpa_page *page;
	while ((page = page_queue_pop(from)))
		page_queue_add_tail(to, page);
}

/*
 * struct compact_control - one compaction of one zone (Linux's, in the parts
 * zpa models).  Lives on the caller's stack.
 */
struct compact_control {
	struct zpa_machine *m;
	struct zone *zone;
	struct zpa_task *task;          /* the compacting context (drains its pageset) */
	struct page_queue freepages;    /* order-0 targets taken by the free scanner */
	struct page_queue migratepages; /* isolated sources */
	unsigned long nr_freepages;     /* pages on freepages */
	unsigned long nr_migratepages;  /* pages on migratepages */
	unsigned long free_pfn;         /* the free scanner: next pageblock to scan, going down */
	unsigned long migrate_pfn;      /* the migrate scanner: next pfn to scan, going up */
	unsigned long total_migrate_scanned;
	unsigned long total_free_scanned;
	unsigned long nr_migrated;      /* pages migrated by this run */
	zpa_gfp_t gfp_mask;
	int order;                      /* the request's order; -1: compact everything */
	int migratetype;                /* the request's (gfp_migratetype) */
	unsigned alloc_flags;
	int highest_zoneidx;
	int mode;                       /* MIGRATE_ASYNC / _SYNC_LIGHT / _SYNC */
	bool ignore_skip_hint;          /* scan pageblocks marked skip */
	bool no_set_skip_hint;          /* do not mark pageblocks (alloc_contig) */
	bool ignore_block_suitable;     /* take targets from any pageblock type */
	bool direct_compaction;         /* an allocation waits for this run */
	bool proactive_compaction;      /* kcompactd's score-driven run */
	bool whole_zone;                /* the scanners started at the zone's ends */
	bool contended;                 /* async run found a lock busy: give up soon */
	bool rescan;                    /* the migrate scanner is in the pageblock it last migrated from */
	bool alloc_contig;              /* alloc_contig_range: compound pages move too */
};

/*
 * struct capture_control - a direct compactor's claim on the first block of
 * its order that its own frees in its zone produce (Linux's, hung off
 * current; here a thread-local pointer set by compact_zone_order()).
 */
struct capture_control {
	struct compact_control *cc;
	struct zpa_page *page;          /* the captured block, off the free lists */
};

/* ---- compaction.c ---- */
ZPA_HIDDEN enum compact_result compaction_suitable(struct zpa_machine *m, struct zone *z, int order,
						   unsigned alloc_flags, int highest_zoneidx);
ZPA_HIDDEN bool compaction_deferred(struct zone *z, int order);
ZPA_HIDDEN void defer_compaction(struct zone *z, int order);
ZPA_HIDDEN enum compact_result compact_zone(struct compact_control *cc, struct capture_control *capc);
ZPA_HIDDEN unsigned fragmentation_score_node(struct zpa_machine *m, pg_data_t *pgdat);
/* Isolate the movable pages of [start, end) onto cc->migratepages (alloc_contig); 0 or ZPA_EAGAIN. */
ZPA_HIDDEN int isolate_migratepages_range(struct compact_control *cc, unsigned long start_pfn, unsigned long end_pfn);
/*
 * A block nobody references any more (no marks but its zone bits, refcount
 * 0) goes back to the buddy lists of zone z: the free of a migrated-away
 * source or of an unused target.  If the calling thread compacts z for an
 * allocation and the block merges up to that allocation's order, the block
 * is captured for it instead (Linux's compaction_capture()).  Takes the zone
 * lock; counts pgfree.
 */
ZPA_HIDDEN void free_isolated_block(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned long pfn,
				    unsigned order);

/* ---- migrate.c ---- */
/* Migration targets: get_new_page returns a fresh block of src's order (and *zone), put_new_page takes one back. */
typedef struct zpa_page *(*new_page_t)(struct zpa_machine *m, struct zpa_page *src, void *private, struct zone **zone);
typedef void (*free_page_t)(struct zpa_machine *m, struct zone *z, struct zpa_page *page, void *private);
/*
 * isolate_movable_page(): isolate a non-LRU movable page (owner bits, no
 * PG_onlru): PG_isolated and a reference, under the node's lru_lock.  False
 * if it is not movable now (being freed, isolated already, not an owner's
 * page with migrate()).
 */
ZPA_HIDDEN bool isolate_movable_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page);
/* putback_movable_pages(): every isolated page on q back where it was (LRU or movable), dropping the isolation references. */
ZPA_HIDDEN void putback_movable_pages(struct zpa_machine *m, struct page_queue *q);
/*
 * migrate_pages(): migrate every page on from, with targets from
 * get_new_page (given back with put_new_page, or freed when it is NULL), in
 * up to NR_MAX_MIGRATE_PAGES_RETRY passes while pages answer ZPA_EAGAIN, as
 * Linux 6.1.  Pages that could not be migrated stay on from (the caller puts
 * them back).  Returns the number of pages (blocks) that failed, 0 when all
 * moved, or ZPA_ENOMEM when a target could not be had.  Counts
 * pgmigrate_success and pgmigrate_fail in pages; *nr_succeeded gets the
 * pages migrated.  No lock held.
 */
ZPA_HIDDEN int migrate_pages(struct zpa_machine *m, struct page_queue *from, new_page_t get_new_page,
			     free_page_t put_new_page, void *private, int mode, unsigned long *nr_succeeded);
/* migrate_page_to() without the pgmigrate_* counts (migrate_pages() counts per request). */
ZPA_HIDDEN int __migrate_page_to(struct zpa_machine *m, struct zone *src_zone, struct zpa_page *src,
				 struct zone *dst_zone, struct zpa_page *dst, int mode);

#endif /* ZPA_COMPACTION_H */
