/*
 * zpa/sim.h - state surgery for simulators: put a machine into a given
 * state of free blocks, allocated blocks and pageblock migratetypes without
 * going through the allocator's decisions.
 *
 * This is not an allocator interface.  Trace replay (replay/, `zpa replay`)
 * uses it to rebuild the state a real kernel was in when a trace began:
 * which pages were free in which blocks, which pages were in use and with
 * which order, and the migratetype of every pageblock.  A kernel never does
 * any of this; an embedder has no reason to.
 *
 * The protocol:
 *   1. zpa_sim_hold_all(): every free page of the machine (buddy lists and
 *      per-CPU lists) becomes a "held" page: an allocated order-0 page with
 *      one reference, not counted as an allocation anywhere.
 *   2. zpa_sim_set_pageblock_migratetype() for the pageblocks whose type
 *      should change.
 *   3. zpa_sim_make_block() for held pages that should be one allocated
 *      block of a higher order (the pages a trace will free with that order).
 *   4. zpa_sim_give_block() for the blocks that should be free: they join
 *      the free list of their pageblock's migratetype, merging with free
 *      buddies exactly as a free does.  The order of the calls is the order
 *      of the lists (each block goes to the head unless to_tail).
 *   5. Whatever stays held is allocated memory of unknown use; it can be
 *      freed with zpa_free_pages(..., 0) like any order-0 page.
 *
 * Each call takes the zone lock of the zone it changes and checks its
 * preconditions first: on error nothing has changed.  None may be called
 * while another thread allocates from or frees to the same machine (they
 * are setup calls, like zpa_machine_create()).  zpa_check() passes between
 * any two calls.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_SIM_H
#define ZPA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../zpa.h"
#include "contig.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Drain every per-CPU list, then turn every free page of the machine into a
 * held page (allocated, order 0, reference count 1).  Free page counters
 * drop to zero.  Returns the number of pages now held.
 */
uint64_t zpa_sim_hold_all(struct zpa_machine *m);

/*
 * Set the migratetype of the pageblock holding pfn (ZPA_MIGRATE_UNMOVABLE,
 * MOVABLE, RECLAIMABLE or HIGHATOMIC) and move the free blocks that start in
 * it to that type's lists, as Linux's move_freepages_block() does.  The
 * zone's high-atomic reserve count follows a change to or from HIGHATOMIC.
 * Returns 0, ZPA_EBADPFN (no zone spans pfn) or ZPA_EINVAL (another type,
 * or the pageblock is isolated or CMA).
 */
int zpa_sim_set_pageblock_migratetype(struct zpa_machine *m, zpa_pfn_t pfn, int migratetype);

/* The migratetype of pfn's pageblock, or ZPA_EBADPFN. */
int zpa_sim_pageblock_migratetype(struct zpa_machine *m, zpa_pfn_t pfn);

/*
 * The held pages [pfn, pfn + 2^order) become one allocated block of that
 * order, as if allocated with gfp (__GFP_COMP makes it compound; a movable
 * gfp marks it movable).  Returns 0, ZPA_EBADPFN, ZPA_EALIGN, ZPA_EORDER or
 * ZPA_EBUSY (a page of the range is not a held page: free, reserved, part of
 * a bigger block, or referenced more than once).
 */
int zpa_sim_make_block(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order, zpa_gfp_t gfp);

/*
 * The held pages [pfn, pfn + 2^order) become free: one block on the free
 * list of the migratetype of pfn's pageblock, merged with free buddies as
 * __free_one_page() merges.  to_tail queues it at the tail of its list.
 * Returns 0 or an error as zpa_sim_make_block().
 */
int zpa_sim_give_block(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order, bool to_tail);

/*
 * Linux's split_page() (and what splitting a huge page leaves for the page
 * allocator): the allocated block whose first page is pfn becomes 2^order
 * allocated order-0 pages, each with one reference, compound or not.
 * Returns 0, ZPA_EBADPFN, or ZPA_EINVAL when pfn is not the first page of an
 * allocated block.
 */
int zpa_sim_split_page(struct zpa_machine *m, zpa_pfn_t pfn);

/* What zpa_sim_page_states() reports for each page. */
enum zpa_sim_page_state {
	ZPA_SIM_PAGE_NONE = 0,    /* hole or reserved: not managed */
	ZPA_SIM_PAGE_FREE = 1,    /* in a free block (buddy lists or a per-CPU list) */
	ZPA_SIM_PAGE_HELD = 2,    /* a held page (see above) */
	ZPA_SIM_PAGE_ALLOC = 3,   /* part of any other allocated block */
};

/*
 * The state of each page [pfn, pfn + n), which must lie in one zone's span,
 * into out[0..n).  Returns 0, ZPA_EBADPFN or ZPA_EINVAL (range leaves the
 * zone).  Takes the zone lock; O(n).
 */
int zpa_sim_page_states(struct zpa_machine *m, zpa_pfn_t pfn, size_t n, uint8_t *out);

/*
 * Free blocks of the zone per order and migratetype, as /proc/pagetypeinfo
 * counts them: out[order * ZPA_MIGRATE_TYPES + migratetype] for orders below
 * the machine's max_order.  Returns 0 or ZPA_ENOENT.  Takes the zone lock;
 * O(free blocks).
 */
int zpa_sim_free_blocks(struct zpa_machine *m, int nid, int zone_type,
			uint64_t out[ZPA_MAX_ORDER_LIMIT * ZPA_MIGRATE_TYPES]);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_SIM_H */
