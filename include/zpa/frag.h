/*
 * zpa/frag.h - external fragmentation: Linux's fragmentation metrics and the
 * mm_page_alloc_extfrag trace event.  Included by zpa.h; see
 * docs/FRAGMENTATION.md.
 *
 * Metrics.  Linux 6.1's mm/vmstat.c measures a zone's free lists with three
 * numbers per request order (fill_contig_page_info()): the free pages, the
 * free blocks of every order, and how many blocks of the requested order the
 * free blocks could hand out without merging anything.  From them:
 *
 *   fragmentation index (debugfs extfrag/extfrag_index, fragmentation_index())
 *       0 when nothing is free; -1000 when a block of the order is free (the
 *       request would not fail); else
 *         1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks_total
 *       with integer divisions: near 0 the request fails for lack of memory,
 *       near 1000 it fails because the free memory is in pieces too small.
 *   unusable free space index (debugfs extfrag/unusable_index)
 *       1000 when nothing is free; else the share of free pages that lie in
 *       blocks smaller than the order:
 *         (free_pages - suitable_blocks * 2^order) * 1000 / free_pages
 *   extfrag_for_order() (kcompactd's proactive compaction): the same share
 *       in percent, 0 when nothing is free.
 *
 * Values are Linux's integers: thousandths for the two indexes (divide by
 * 1000.0, or use zpa_frag_index_value(), for the 0..1 fraction Linux prints)
 * and percent for extfrag_for_order.  As in Linux, a zone whose only free
 * blocks are one small block can give a fragmentation index below 0 other
 * than -1000 (one free page, order 1: 1000 - 1500 = -500); zpa keeps it.
 * Counts come from the buddy lists only (free_area[].nr_free): pages on
 * per-CPU lists are not free blocks, as in Linux.
 *
 * The views: zpa_show(m, "extfrag_index") and zpa_show(m, "unusable_index")
 * print Linux's debugfs files byte for byte ("Node 0, zone   Normal" then
 * one "%2d.%03d " or "%d.%03d " field per order).
 *
 * Events.  When an allocation borrows a free block of another migratetype
 * (__rmqueue_fallback), Linux fires the mm_page_alloc_extfrag tracepoint;
 * zpa delivers the same fields to a hook set with zpa_set_trace_hook() and
 * counts them in zpa's own /proc/vmstat lines (named after the statistics
 * mmtests derives from the tracepoint):
 *   zpa_extfrag                          every event
 *   zpa_extfrag_fragmenting              fallback_order < pageblock_order
 *   zpa_extfrag_change_ownership         the pageblock now belongs to the
 *                                        allocating type
 *   zpa_extfrag_mixed                    fragmenting and not changing owner:
 *                                        pages of one type left in a
 *                                        pageblock of another
 *   zpa_extfrag_fragmenting_unmovable    fragmenting, for an unmovable request
 *   zpa_extfrag_unmovable_in_movable     ... taken from a movable free list
 *   zpa_extfrag_fragmenting_reclaimable  fragmenting, for a reclaimable request
 *   zpa_extfrag_reclaimable_in_movable   ... taken from a movable free list
 *   zpa_extfrag_fragmenting_movable      fragmenting, for a movable request
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_FRAG_H
#define ZPA_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----- metrics (Linux's mm/vmstat.c) ----- */

/* fill_contig_page_info(): one zone's free blocks seen from one order. */
struct zpa_contig_page_info {
	uint64_t free_pages;           /* pages in free blocks (buddy lists) */
	uint64_t free_blocks_total;    /* free blocks, all orders */
	uint64_t free_blocks_suitable; /* blocks of the order they could give: sum of nr_free[k] << (k - order), k >= order */
};

/*
 * The contig info of the zone of type zone_type on node nid for `order`.
 * Returns 0, ZPA_ENOENT when the machine has no such node or zone type,
 * ZPA_EINVAL when order >= max_order or out is NULL.  Takes the zone lock.
 */
int zpa_contig_page_info(struct zpa_machine *m, int nid, int zone_type, unsigned order,
			 struct zpa_contig_page_info *out);

/*
 * fragmentation_index(): *index gets the fragmentation index in thousandths
 * (-1000, or 0..1000, or the small-negative quirk above).  Errors and
 * locking as zpa_contig_page_info().
 */
int zpa_fragmentation_index(struct zpa_machine *m, int nid, int zone_type, unsigned order, int *index);

/* unusable_free_index(): *index gets thousandths, 0..1000.  As above. */
int zpa_unusable_free_index(struct zpa_machine *m, int nid, int zone_type, unsigned order, int *index);

/* extfrag_for_order(): *percent gets 0..100.  As above. */
int zpa_extfrag_for_order(struct zpa_machine *m, int nid, int zone_type, unsigned order,
			  unsigned *percent);

/* Every order of one zone from one look at its free lists (one lock hold). */
struct zpa_frag_indexes {
	unsigned nr_orders;                    /* the machine's max_order */
	struct zpa_contig_page_info info[ZPA_MAX_ORDER_LIMIT]; /* per order */
	int extfrag_index[ZPA_MAX_ORDER_LIMIT];  /* thousandths, as extfrag_index prints */
	int unusable_index[ZPA_MAX_ORDER_LIMIT]; /* thousandths, as unusable_index prints */
};
/* Fill out for the zone; errors and locking as zpa_contig_page_info(). */
int zpa_zone_frag_indexes(struct zpa_machine *m, int nid, int zone_type, struct zpa_frag_indexes *out);

/* A thousandths index as the fraction Linux prints it as (-1000 -> -1.0). */
static inline double zpa_frag_index_value(int thousandths)
{
	return (double)thousandths / 1000.0;
}

/* ----- trace events ----- */

enum zpa_trace_event_type {
	ZPA_TRACE_MM_PAGE_ALLOC_EXTFRAG = 1,
};

/* kmem:mm_page_alloc_extfrag's fields, plus the zone it happened in. */
struct zpa_trace_extfrag {
	zpa_pfn_t pfn;             /* first page of the borrowed free block */
	int alloc_order;           /* order requested */
	int fallback_order;        /* order of the block borrowed */
	int pageblock_order;       /* the machine's, as the event prints it */
	int alloc_migratetype;     /* type requested (ZPA_MIGRATE_*) */
	int fallback_migratetype;  /* free list it was taken from */
	bool fragmenting;          /* fallback_order < pageblock_order */
	bool change_ownership;     /* after the steal, the pageblock's type is alloc_migratetype */
};

struct zpa_trace_event {
	int type;                  /* enum zpa_trace_event_type */
	const char *name;          /* "mm_page_alloc_extfrag" */
	int nid;                   /* node and zone type of the zone it happened in */
	int zone_type;
	union {
		struct zpa_trace_extfrag extfrag;
	} u;
};

/*
 * Called for each event, synchronously, from inside the allocator with the
 * zone lock held (like a tracepoint probe): it must return quickly and must
 * not call back into the machine (no allocation, free, view, check or
 * zpa_set_trace_hook on m).  It may be called from any thread that
 * allocates from m.
 */
typedef void (*zpa_trace_fn)(void *arg, const struct zpa_trace_event *ev);

/*
 * Set (fn != NULL) or remove (fn == NULL) the machine's trace hook, replacing
 * any previous one.  When this returns, no call of the previous hook is in
 * progress and none will start.  Counters run whether a hook is set or not.
 * Takes every zone lock; must not be called from a hook.
 */
void zpa_set_trace_hook(struct zpa_machine *m, zpa_trace_fn fn, void *arg);

/*
 * Format ev like the kernel's trace buffer prints the event's fields
 * (TP_printk), without the "page=%p " pointer zpa has no equivalent for:
 * "pfn=0x1a200 alloc_order=0 fallback_order=9 pageblock_order=9
 * alloc_migratetype=0 fallback_migratetype=1 fragmenting=0
 * change_ownership=1".  snprintf semantics; ZPA_EINVAL for an unknown type.
 */
int zpa_trace_event_format(const struct zpa_trace_event *ev, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_FRAG_H */
