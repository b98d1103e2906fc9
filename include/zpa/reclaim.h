/*
 * zpa/reclaim.h - the slow path's interfaces: page owners and LRU lists,
 * shrinkers, swap space, kswapd and kcompactd, compaction and migration.
 *
 * An embedded allocator cannot own its users' page cache or page tables, so
 * reclaim and migration go through the owners of the pages:
 *
 *   - A page owner (zpa_page_owner_register) is a set of callbacks that can
 *     tell whether a page was used lately, write it back, drop it, or move
 *     its contents to another page.  Up to ZPA_MAX_PAGE_OWNERS per machine.
 *   - Pages an owner can give back go on the LRU lists of their node
 *     (zpa_lru_add): inactive and active, anonymous and file, with referenced
 *     bits, aged and scanned as Linux 6.1's vmscan.c does (swappiness,
 *     anon/file cost balance).  Reclaim calls the owner's callbacks.
 *   - Caches of objects that are not pages (a slab cache, a GPU buffer
 *     pool, a balloon) register a shrinker (count and scan objects, with the
 *     GFP context and node), called with the same proportional pressure as
 *     Linux's shrink_slab().
 *   - Movable pages (LRU pages of an owner with a migrate callback, or pages
 *     marked with zpa_page_set_movable) can be moved by compaction,
 *     alloc_contig_range() and memory offlining.
 *
 * Reference protocol.  An LRU page belongs to its owner, which holds at
 * least one reference.  Reclaim and compaction first isolate the page: they
 * take it off its list and take a reference of their own, so the page cannot
 * be freed under them.  The owner may still call zpa_free_pages() at any
 * time (that drops the owner's reference; a page freed while on a list
 * leaves the list by itself, as Linux's folio_put does).  When evict()
 * returns ZPA_EVICT_FREED the owner has dropped its references (normally by
 * calling zpa_free_pages() inside the callback); reclaim's reference is then
 * the last and the page goes back to the free lists.  When migrate() returns
 * 0 the owner's references have moved to the new page: the owner must not
 * free the old one, which zpa frees.
 *
 * Callbacks run in the context that reclaims: the allocating thread (direct
 * reclaim, with the request's GFP flags in the reclaim context) or kswapd
 * (see zpa_set_daemon_mode).  During a callback the calling task has
 * ZPA_PF_MEMALLOC, so allocations a callback makes may use the reserves and
 * never recurse into reclaim.  Callbacks must not call zpa_lru_* functions
 * on the page they were given (it is isolated), except as documented.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_RECLAIM_H
#define ZPA_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----- page owners ----- */

#define ZPA_MAX_PAGE_OWNERS 7

/* What the reclaiming context allows (Linux's struct scan_control, in part). */
struct zpa_reclaim_ctx {
	zpa_gfp_t gfp;            /* reclaim context's GFP (GFP_KERNEL for kswapd) */
	int nid;                  /* node being reclaimed */
	int priority;             /* 12 (DEF_PRIORITY) down to 0: scan 1/2^priority of the lists */
	bool kswapd;              /* kswapd (true) or direct/memcg reclaim */
	bool may_writepage;       /* may start writeback of dirty pages */
	bool may_swap;            /* may swap anonymous pages (swap space left, __GFP_IO) */
	bool may_unmap;           /* may unmap mapped pages */
	struct zpa_memcg *memcg;  /* memcg reclaim: the group reclaimed; NULL for global */
};

/* evict() and writepage() results. */
enum zpa_evict_result {
	ZPA_EVICT_FREED = 0,      /* evict: owner dropped its references; zpa frees the page */
	ZPA_EVICT_KEEP = 1,       /* cannot now (busy, locked): back on the inactive list */
	ZPA_EVICT_ACTIVATE = 2,   /* in use, or cannot ever be evicted now (e.g. swap full): activate */
	ZPA_EVICT_WRITEBACK = 3,  /* writepage: writeback started; zpa_page_end_writeback() when done */
	ZPA_EVICT_CLEAN = 4,      /* writepage: written synchronously, the page is clean now */
};

/* Migration modes passed to migrate() (Linux's enum migrate_mode). */
enum zpa_migrate_mode {
	ZPA_MIGRATE_ASYNC = 0,      /* must not block */
	ZPA_MIGRATE_SYNC_LIGHT = 1, /* may block, but not on writeback */
	ZPA_MIGRATE_SYNC = 2,       /* may block and wait for writeback */
};

struct zpa_page_owner_ops {
	const char *name;
	/*
	 * page_referenced(): test and clear the accessed bits of the page's
	 * mappings; return how many were set (0: not used since last asked).
	 * Optional: without it only zpa_mark_page_accessed() counts.
	 */
	int (*referenced)(void *arg, zpa_pfn_t pfn, unsigned order);
	/*
	 * pageout(): the page is dirty (a dirty file page, or an anonymous page
	 * that must go to swap): start writing it.  Return ZPA_EVICT_WRITEBACK
	 * (call zpa_page_end_writeback() when done), ZPA_EVICT_CLEAN (written
	 * already), ZPA_EVICT_KEEP or ZPA_EVICT_ACTIVATE (e.g. no swap space).
	 * Optional: without it dirty pages are never reclaimed.
	 */
	int (*writepage)(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx);
	/*
	 * __remove_mapping(): drop a clean page: unmap it, forget it, and drop
	 * the owner's references (zpa_free_pages()).  Return ZPA_EVICT_FREED, or
	 * ZPA_EVICT_KEEP / ZPA_EVICT_ACTIVATE to keep it.  Required for LRU pages.
	 */
	int (*evict)(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx);
	/*
	 * move_to_new_folio(): copy src to dst (same order, both allocated;
	 * dst is fresh) and switch every user of src to dst.  Return 0 (the
	 * owner's references now belong to dst) or ZPA_EBUSY / ZPA_EAGAIN.
	 * Optional: without it the owner's pages are not movable.
	 */
	int (*migrate)(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode);
};

/*
 * Register an owner; returns its id (1..ZPA_MAX_PAGE_OWNERS) or ZPA_ENOMEM
 * when the machine has no slot left, ZPA_EINVAL when ops->evict is NULL and
 * ops->migrate is NULL.  ops and arg must stay valid while the machine lives.
 */
int zpa_page_owner_register(struct zpa_machine *m, const struct zpa_page_owner_ops *ops, void *arg);

/* ----- LRU lists ----- */

#define ZPA_LRU_ANON    0x1u   /* swap-backed (anonymous, shmem); default: file */
#define ZPA_LRU_ACTIVE  0x2u   /* start on the active list (default: inactive) */
#define ZPA_LRU_DIRTY   0x4u   /* the page is dirty already */

/*
 * lru_cache_add(): put the allocated block at pfn (its first page; order > 0
 * must be __GFP_COMP) on its node's LRU for owner `owner`.  Returns 0,
 * ZPA_EBADPFN, ZPA_EINVAL (not an allocated head, not compound, already on
 * an LRU or movable, on a zpa_page_list, unknown owner).
 */
int zpa_lru_add(struct zpa_machine *m, zpa_pfn_t pfn, int owner, unsigned flags);
/* Take the page off the LRU; the owner keeps it.  ZPA_EBUSY while reclaim or compaction has it isolated. */
int zpa_lru_del(struct zpa_machine *m, zpa_pfn_t pfn);
/*
 * mark_page_accessed(): inactive+unreferenced -> referenced; inactive+
 * referenced -> active (pgactivate); active+unreferenced -> referenced.
 */
int zpa_mark_page_accessed(struct zpa_machine *m, zpa_pfn_t pfn);
/* set_page_dirty() / the end of writeback (folio_end_writeback). */
int zpa_page_set_dirty(struct zpa_machine *m, zpa_pfn_t pfn);
int zpa_page_end_writeback(struct zpa_machine *m, zpa_pfn_t pfn);
/* __SetPageMovable(): a non-LRU page of an owner with migrate() may be moved by compaction. */
int zpa_page_set_movable(struct zpa_machine *m, zpa_pfn_t pfn, int owner);
int zpa_page_clear_movable(struct zpa_machine *m, zpa_pfn_t pfn);

/* LRU sizes of a node in pages (lruvec_lru_size), indexed by enum zpa_lru_list. */
enum zpa_lru_list {
	ZPA_LRU_INACTIVE_ANON, ZPA_LRU_ACTIVE_ANON, ZPA_LRU_INACTIVE_FILE, ZPA_LRU_ACTIVE_FILE,
	ZPA_LRU_UNEVICTABLE, ZPA_NR_LRU_LISTS
};
int zpa_lru_sizes(struct zpa_machine *m, int nid, uint64_t out[ZPA_NR_LRU_LISTS]);

/* ----- swap space ----- */

/*
 * The swap device's size and free space in pages (Linux's total_swap_pages
 * and nr_swap_pages).  Anonymous pages are scanned only while free swap is
 * above 0.  The owner that swaps moves `free` with zpa_swap_account().
 */
void zpa_swap_set(struct zpa_machine *m, uint64_t total, uint64_t free);
void zpa_swap_account(struct zpa_machine *m, int64_t free_delta);
uint64_t zpa_swap_free(const struct zpa_machine *m);

/* ----- shrinkers ----- */

struct zpa_shrink_control {
	zpa_gfp_t gfp;            /* the reclaiming context */
	int nid;                  /* node (shrinkers with ZPA_SHRINKER_NUMA_AWARE; else 0) */
	unsigned long nr_to_scan; /* scan_objects(): how many objects to scan */
	unsigned long nr_scanned; /* scan_objects() may report more or fewer scanned */
	unsigned long nr_freed_pages; /* scan_objects() adds the pages it freed (reclaim_state) */
	struct zpa_memcg *memcg;  /* memcg reclaim: the group; NULL for global */
};
#define ZPA_SHRINK_STOP   (~0ul)       /* scan_objects(): cannot make progress now */
#define ZPA_SHRINK_EMPTY  (~0ul - 1)   /* count_objects(): nothing to count */
#define ZPA_SHRINKER_NUMA_AWARE 0x1u
#define ZPA_SHRINKER_MEMCG_AWARE 0x2u  /* counts per group: also called, with sc->memcg, by memcg reclaim */
#define ZPA_DEFAULT_SEEKS 2

struct zpa_shrinker_ops {
	const char *name;
	unsigned long (*count_objects)(void *arg, struct zpa_shrink_control *sc);
	unsigned long (*scan_objects)(void *arg, struct zpa_shrink_control *sc);
	int seeks;                /* cost of recreating an object (0: freeable / 2 each pass) */
	long batch;               /* 0: SHRINK_BATCH (128) */
	unsigned flags;           /* ZPA_SHRINKER_* */
};
struct zpa_shrinker;
/*
 * register_shrinker(); ops and arg must stay valid until unregistered.
 * Returns 0, ZPA_ENOMEM, or ZPA_EINVAL (a callback missing, negative seeks
 * or batch).  Reclaim may call the new shrinker at once, from any thread.
 */
int zpa_shrinker_register(struct zpa_machine *m, const struct zpa_shrinker_ops *ops, void *arg,
			  struct zpa_shrinker **out);
/*
 * unregister_shrinker(): waits for the calls other threads are making to
 * finish; none starts afterwards.  Called from the shrinker's own callback,
 * it returns at once and the shrinker is released when that call returns.
 */
void zpa_shrinker_unregister(struct zpa_machine *m, struct zpa_shrinker *s);

/*
 * drop_caches: 1 frees clean LRU file pages (evict() on every clean,
 * unmapped-or-not inactive and active file page), 2 runs every shrinker on
 * every node until a round frees little (Linux's drop_slab_node(): rounds
 * go on while objects freed >> round number > 1), 3 both.  Counts
 * drop_pagecache / drop_slab.  Returns pages freed (evicted LRU pages plus
 * the pages shrinkers reported in nr_freed_pages).
 */
uint64_t zpa_drop_caches(struct zpa_machine *m, int what);

/* ----- kswapd and kcompactd ----- */

enum zpa_daemon_mode {
	/*
	 * Default.  A wakeup runs the daemon's work at once, in the thread that
	 * woke it, as the node's kswapd (or kcompactd) context: GFP_KERNEL,
	 * PF_MEMALLOC, counted as kswapd work.  No thread; deterministic.
	 * The waker may be a GFP_ATOMIC caller: the request itself still never
	 * reclaims, but owner callbacks then run on its thread.  Hosts whose
	 * atomic contexts must not run them use THREAD (or MANUAL) mode.
	 */
	ZPA_DAEMON_INLINE = 0,
	/* One kswapd and one kcompactd thread per node (hosted builds). */
	ZPA_DAEMON_THREAD = 1,
	/*
	 * Wakeups are recorded only; zpa_daemon_step() runs what each daemon
	 * would have done by a given time of a simulated clock: kswapd's
	 * balance_pgdat() and its short (HZ/10) and long sleeps, kcompactd's
	 * compaction and its proactive HZ/2 timer.
	 */
	ZPA_DAEMON_MANUAL = 2,
};
/* Switch mode (stops threads when leaving THREAD).  ZPA_EINVAL for a bad mode or THREAD without threads. */
int zpa_set_daemon_mode(struct zpa_machine *m, int mode);
int zpa_daemon_mode(const struct zpa_machine *m);
/*
 * MANUAL mode: run every node's kswapd and then kcompactd as they would run
 * at simulated time now_ms (non-decreasing across calls).  Returns the
 * number of pages reclaimed by kswapd in this step.
 */
uint64_t zpa_daemon_step(struct zpa_machine *m, uint64_t now_ms);
/* The machine's clock as the daemons and warn_alloc's rate limit see it (ms). */
uint64_t zpa_clock_ms(const struct zpa_machine *m);

/* ----- compaction ----- */

/* compact_memory: compact every zone of every node fully (sync); returns pages migrated. */
uint64_t zpa_compact_memory(struct zpa_machine *m);
/* compact_node: one node.  ZPA_ENOENT for no such node. */
int64_t zpa_compact_node(struct zpa_machine *m, int nid);
/* The fragmentation score (0..100) of a node, as proactive compaction reads it. */
int zpa_fragmentation_score(struct zpa_machine *m, int nid);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_RECLAIM_H */
