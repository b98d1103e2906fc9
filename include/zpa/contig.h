/*
 * zpa/contig.h - contiguous physical ranges: page isolation, alloc_contig_range,
 * CMA areas and memory offline/online (hot-remove/hot-add).  Included by
 * zpa.h; the design and where zpa differs from Linux are in docs/CONTIG.md.
 *
 * Isolation (Linux's mm/page_isolation.c).  A pageblock marked
 * MIGRATE_ISOLATE keeps its free pages on the isolate free lists, where no
 * allocation ever looks; pages freed into it join them.  Those pages are not
 * counted in NR_FREE_PAGES (nor in the watermark checks), and the zone's
 * nr_isolate_pageblock counts the isolated pageblocks.  Isolation works on
 * whole pageblocks and refuses (ZPA_EBUSY) a pageblock that is already
 * isolated or holds a page that could not be moved away: a reserved page or
 * hole, an allocated page not marked movable (outside ZONE_MOVABLE), or any
 * page of a CMA pageblock unless the caller isolates for CMA.
 *
 * Contiguous ranges (alloc_contig_range() and friends in mm/page_alloc.c).
 * The range is isolated, the per-CPU lists are drained, the movable pages in
 * use (zpa/reclaim.h: LRU pages of owners with migrate(), pages marked with
 * zpa_page_set_movable) are migrated out, and every page in it must then be
 * free: a page that stays in use makes the call fail with ZPA_EBUSY after
 * undoing the isolation.  On success each page of the range is an
 * allocated order-0 page with reference count 1, freed page by page or with
 * zpa_free_contig_range().
 *
 * CMA (mm/cma.c).  Areas are declared in the machine config
 * (zpa_config_add_cma()); at creation their pageblocks become MIGRATE_CMA
 * and their pages are freed to the CMA free lists.  Only movable requests
 * (ALLOC_CMA) take CMA pages: first when free CMA pages are more than half
 * of the zone's free pages, else when the movable lists are empty.
 * zpa_cma_alloc() carves ranges out of an area with alloc_contig_range().
 *
 * Offline/online (mm/memory_hotplug.c).  Offlining isolates a range, needs
 * every page free, and takes it out of the zone: present and managed pages
 * drop, the pages become holes, the zone span shrinks at its ends, and the
 * watermarks, protection and per-CPU list sizes are recomputed (and the
 * zonelists rebuilt when the zone empties).  Onlining reverses it.  Only
 * memory that was offlined can be onlined: the memory map never grows.
 *
 * Every call here takes the zone locks it needs itself; none may be called
 * with a zone lock held.  The range calls also drain every per-CPU list.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_CONTIG_H
#define ZPA_CONTIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The range is busy: a page in it is in use (and zpa cannot migrate it
 * yet), a pageblock in it is already isolated, or it holds reserved pages
 * (Linux's -EBUSY).  Continues enum zpa_error.
 */

/* ----- isolation (mm/page_isolation.c) ----- */

#define ZPA_ISOLATE_MEMORY_OFFLINE 0x1u /* MEMORY_OFFLINE: isolating for an offline */
#define ZPA_ISOLATE_REPORT_FAILURE 0x2u /* REPORT_FAILURE: log the page that stops it */

/*
 * start_isolate_page_range(): mark every pageblock that [start_pfn, end_pfn)
 * touches MIGRATE_ISOLATE and move their free pages to the isolate lists.
 * The range must lie in one zone.  Free blocks that cross the first or the
 * last pageblock's outer edge are split there first.  migratetype
 * (ZPA_MIGRATE_MOVABLE or ZPA_MIGRATE_CMA) is what the pageblocks become
 * again on failure or undo; ZPA_MIGRATE_CMA also allows CMA pageblocks.
 * Returns 0, ZPA_EINVAL (bad range or type) or ZPA_EBUSY (nothing changed).
 * Per-CPU lists are not drained: call zpa_drain_all_pages() next, as Linux's
 * callers do.
 */
int zpa_start_isolate_page_range(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn,
				 int migratetype, unsigned flags);

/*
 * undo_isolate_page_range(): every isolated pageblock that the range touches
 * becomes migratetype again and its free pages return to that type's lists
 * (counted free again).  Returns 0 or ZPA_EINVAL.
 */
int zpa_undo_isolate_page_range(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn,
				int migratetype);

/*
 * test_pages_isolated(): 0 when every pageblock of the range is isolated and
 * every page in it is free (in the buddy lists), else ZPA_EBUSY; ZPA_EINVAL
 * for a bad range.  flags: ZPA_ISOLATE_MEMORY_OFFLINE accepted, no effect.
 */
int zpa_test_pages_isolated(struct zpa_machine *m, zpa_pfn_t start_pfn, zpa_pfn_t end_pfn, unsigned flags);

/* ----- contiguous ranges (mm/page_alloc.c) ----- */

/*
 * alloc_contig_range(): allocate exactly the pages [start, end) (any
 * alignment, one zone) as order-0 pages with reference count 1.  migratetype
 * is ZPA_MIGRATE_MOVABLE or ZPA_MIGRATE_CMA: the type of the pageblocks, as
 * Linux requires.  gfp: __GFP_NOWARN silences the busy report (migration
 * targets are GFP_USER | __GFP_MOVABLE, as Linux's).  Returns 0; ZPA_EINVAL
 * for a bad range or type; ZPA_EBUSY when isolation fails or a page in the
 * range stays in use, ZPA_ENOMEM when migration found no target memory —
 * then the isolation is undone (pages already migrated stay moved).
 */
int zpa_alloc_contig_range(struct zpa_machine *m, zpa_pfn_t start, zpa_pfn_t end, int migratetype,
			   zpa_gfp_t gfp);

/*
 * alloc_contig_pages(): find and allocate nr_pages contiguous pages in the
 * zones of nid's zonelist (nid -1: the calling thread's node) that gfp
 * allows, within nodemask (NULL: all).  Candidates are tried in each zone
 * from its start at steps of nr_pages, aligned as Linux's ALIGN() aligns
 * them (to nr_pages when it is a power of two); a candidate must be present,
 * unreserved memory of the one zone.  Returns the first pfn or ZPA_PFN_NONE.
 */
zpa_pfn_t zpa_alloc_contig_pages(struct zpa_machine *m, unsigned long nr_pages, zpa_gfp_t gfp, int nid,
				 const zpa_nodemask_t *nodemask);

/*
 * free_contig_range(): drop one reference on each page [pfn, pfn + nr_pages)
 * (zpa_free_pages(.., 0) each).  Returns 0, or the first error of a page
 * that could not be freed (the others are still freed); pages still
 * referenced afterwards are reported with a warning, as Linux does.
 */
int zpa_free_contig_range(struct zpa_machine *m, zpa_pfn_t pfn, unsigned long nr_pages);

/* ----- CMA (mm/cma.c) ----- */

struct zpa_cma;

/*
 * Declare a CMA area in a machine config: [base, base + size) in bytes, both
 * multiples of the pageblock size, RAM of one zone of one node, outside
 * every reserved range and every other area.  name may be NULL ("cma<N>").
 * Checked at zpa_machine_create() (ZPA_EINVAL there).  Returns 0,
 * ZPA_EINVAL (empty size) or ZPA_ENOMEM (ZPA_MAX_CMA_AREAS reached).
 */
int zpa_config_add_cma(struct zpa_machine_config *cfg, uint64_t base, uint64_t size, const char *name);

/* The machine's CMA areas, in declaration order; NULL past the last. */
unsigned zpa_cma_count(const struct zpa_machine *m);
struct zpa_cma *zpa_cma_area(struct zpa_machine *m, unsigned idx);
/* The area of that name, or NULL. */
struct zpa_cma *zpa_cma_find(struct zpa_machine *m, const char *name);

/*
 * cma_alloc(): count pages from the area, the first pfn aligned to
 * 2^align pages: the lowest free run of the area's bitmap that fits is
 * tried with alloc_contig_range(.., ZPA_MIGRATE_CMA); a busy run (pages in
 * use by movable allocations) moves the search on.  Returns the first pfn
 * or ZPA_PFN_NONE (logged unless no_warn).
 */
zpa_pfn_t zpa_cma_alloc(struct zpa_cma *cma, unsigned long count, unsigned align, bool no_warn);

/*
 * cma_release(): give back count pages at pfn allocated by zpa_cma_alloc().
 * Returns 0, ZPA_EINVAL when the pages are not all inside the area (nothing
 * is freed), or the first error of zpa_free_contig_range().
 */
int zpa_cma_release(struct zpa_cma *cma, zpa_pfn_t pfn, unsigned long count);

struct zpa_cma_info {
	const char *name;
	zpa_pfn_t base_pfn;
	uint64_t count;                  /* pages */
	uint64_t used;                   /* pages taken by zpa_cma_alloc() */
	uint64_t alloc_pages_success;    /* sysfs cma/<name>/alloc_pages_success */
	uint64_t alloc_pages_fail;       /* sysfs cma/<name>/alloc_pages_fail */
	int nid, zone_type;
};
int zpa_cma_info(struct zpa_cma *cma, struct zpa_cma_info *out);

/* ----- memory offline/online (mm/memory_hotplug.c) ----- */

/*
 * offline_pages(): take [start_pfn, start_pfn + nr_pages) out of its zone.
 * The range must be pageblock aligned at both ends, present RAM without
 * holes, of one zone.  It is isolated and every page in it must be free
 * (ZPA_EBUSY otherwise, nothing changed).  Then its free pages leave the
 * buddy lists; the pages become holes (zpa_page_info(): reserved); zone and
 * node present and managed counts drop; the zone span shrinks if the range
 * was at one end; watermarks, protection and pcp sizes are recomputed, and
 * the zonelists rebuilt when the zone has no present pages left.
 * Returns 0, ZPA_EINVAL or ZPA_EBUSY.
 */
int zpa_offline_pages(struct zpa_machine *m, zpa_pfn_t start_pfn, unsigned long nr_pages);

/*
 * online_pages(): bring back offlined memory, into the zone it left.  Every
 * page of the range (pageblock aligned) must be offline.  The pages are
 * freed into the buddy lists as movable pageblocks, the counts and span
 * grow back, the zonelists are rebuilt when the zone was empty, and the
 * watermarks are recomputed.  Returns 0 or ZPA_EINVAL.
 */
int zpa_online_pages(struct zpa_machine *m, zpa_pfn_t start_pfn, unsigned long nr_pages);

#ifdef __cplusplus
}
#endif

#endif /* ZPA_CONTIG_H */
