/*
 * zpa/model.h - built-in memory users for simulations: a page cache, anonymous
 * memory with a swap device, a slab-like cache and tasks the OOM killer can
 * choose, each filling the reclaim interfaces of zpa/reclaim.h and zpa/oom.h
 * so that the whole slow path (kswapd, direct reclaim, compaction, the OOM
 * killer) can run end to end without a kernel around the allocator.
 *
 * The models are ordinary users of the public API; nothing here is needed
 * by an embedder with real page owners.  See docs/PRESSURE.md.
 *
 *   Page cache (zpa_model_pagecache): files of fixed size.  Reading a page
 *   that is not cached allocates it (GFP_HIGHUSER_MOVABLE by default) and
 *   puts it on the inactive file LRU; reading it again calls
 *   zpa_mark_page_accessed() (or, for an access through a mapping, sets the
 *   page's accessed bit that referenced() reports).  Writing makes it dirty
 *   (zpa_page_set_dirty).  A flusher writes dirty pages back in the
 *   background (above a dirty_background threshold, or once they are older
 *   than dirty_expire); reclaim's writepage() starts a writeback that ends
 *   writeback_ms later on the model's clock (zpa_page_end_writeback).
 *   evict() drops the page from its file and frees it, leaving a shadow
 *   entry: reading the page again counts a refault.  migrate() moves the
 *   page in its file's index.
 *
 *   Anonymous memory (zpa_model_anon): tasks with a page table over a fixed
 *   virtual size.  Touching a page that is not present faults it in
 *   (GFP_HIGHUSER_MOVABLE, on the anon LRU, dirty); the page table pages
 *   themselves are allocated too (GFP_KERNEL_ACCOUNT|__GFP_ZERO, one per
 *   512 entries).  A swap device of fixed size (zpa_swap_set): writepage()
 *   takes swap slots (zpa_swap_account(m, -n)) and returns ZPA_EVICT_CLEAN,
 *   a synchronous device; evict() turns the page's entries into swap
 *   entries and frees the page.  Touching a swapped-out page swaps it in:
 *   a new page, its slot freed, counted as a swap-in.  No free slot:
 *   writepage() answers ZPA_EVICT_ACTIVATE.  Writing to a page that holds
 *   slots frees them (the swap copy is stale) and dirties the page again.
 *   Transparent huge pages: zpa_model_task_touch_huge() maps one compound
 *   block of pageblock order; it is swapped out whole and swapped in page
 *   by page.
 *
 *   OOM: every task is registered with zpa_oom_task_add(): its footprint is
 *   rss (present entries) + swap entries + page table pages; kill() marks it
 *   killed (it allocates no more; zpa_model_anon_tick() completes its exit,
 *   which frees everything); reap() frees its anonymous pages and swap
 *   slots at once.  Each kill records the footprints of every task of the
 *   model at that moment (zpa_model_anon_last_kill), from which a caller can
 *   work out the victim Linux's oom_badness() picks.
 *
 *   Slab cache (zpa_model_slab): objects packed N to a page, pages
 *   allocated with GFP_KERNEL|__GFP_RECLAIMABLE; a shrinker whose
 *   count_objects() reports every cached object and whose scan_objects()
 *   walks them oldest first, gives referenced ones a second pass, frees the
 *   others and frees the pages that become empty (sc->nr_freed_pages).
 *
 * Time.  Each model has a clock in ms that only its tick function advances
 * (a simulation passes the same time to zpa_daemon_step()).
 *
 * Determinism.  The models make no random choices; the same calls give the
 * same pages and the same statistics.
 *
 * Threads and re-entrancy.  Each model has one lock, held only around its
 * own data: never while it calls into zpa.  An allocation a model makes may
 * run direct reclaim, which calls back into the same model (evict,
 * writepage, the shrinker) on other pages; pages a model is still setting up
 * are not yet known to the callbacks (they answer "keep" or "busy"), and a
 * page the model is touching outside its lock is pinned for that time
 * (evict keeps it, migrate reports busy, a truncation frees it when the pin
 * goes).  Calls on one task (touch, unmap) come from one thread at a time,
 * as a task's faults do; everything else may be called from any thread.
 *
 * Lifetime.  A model registers a page owner (or a shrinker) on its machine;
 * destroy the model, which frees every page it holds, before the machine.
 * A machine has ZPA_MAX_PAGE_OWNERS owner slots and they are never given
 * back, so create a machine's models once.
 *
 * Return values: 0 or a positive result as documented, else a negative
 * ZPA_E* code (ZPA_EINVAL bad argument, ZPA_ENOMEM an allocation failed,
 * ZPA_ENOENT no such file or object).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_MODEL_H
#define ZPA_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPA_MODEL_COMM_LEN 16

/* Access flags of zpa_model_file_read() and zpa_model_task_touch(). */
#define ZPA_MODEL_WRITE   0x1u  /* a write: the page becomes dirty */
#define ZPA_MODEL_MAPPED  0x2u  /* file pages: an access through a mapping (accessed bit, not mark_page_accessed) */

/* What an access found (non-negative results). */
enum zpa_model_access {
	ZPA_MODEL_HIT = 0,      /* the page was present */
	ZPA_MODEL_MISS = 1,     /* not present: allocated (first use, or a file page never cached) */
	ZPA_MODEL_REFAULT = 2,  /* not present because reclaim took it: file refault or swap-in */
};

/* ======================= page cache ======================= */

struct zpa_model_pagecache;

struct zpa_model_pagecache_config {
	zpa_gfp_t gfp;              /* page allocations; 0: ZPA_GFP_HIGHUSER_MOVABLE */
	int nid;                    /* preferred node; -1: the allocating task's (a zeroed config means node 0) */
	uint64_t writeback_ms;      /* a writeback's duration; 0: 20 ms */
	uint64_t dirty_background;  /* flusher threshold in pages; 0: 10% of managed (dirty_background_ratio) */
	uint64_t dirty_expire_ms;   /* age at which the flusher writes a dirty page anyway; 0: 30000 */
	uint64_t flush_batch;       /* pages the flusher starts per tick at most; 0: 1024 */
};
/* Fill cfg with the defaults (every field 0 but nid -1); a NULL cfg means the same. */
void zpa_model_pagecache_config_init(struct zpa_model_pagecache_config *cfg);

struct zpa_model_pagecache_stats {
	uint64_t files;             /* live files */
	uint64_t pages;             /* pages cached now */
	uint64_t dirty;             /* dirty pages now (the model's view: see docs/PRESSURE.md) */
	uint64_t writeback;         /* pages under writeback now */
	uint64_t reads, hits, misses, refaults; /* accesses and what they found */
	uint64_t writes;            /* accesses with ZPA_MODEL_WRITE */
	uint64_t alloc_failures;    /* misses whose allocation failed */
	uint64_t evicted;           /* pages evict() freed */
	uint64_t pageout;           /* writebacks started by reclaim (writepage) */
	uint64_t flushed;           /* writebacks started by the flusher */
	uint64_t written;           /* writebacks completed */
	uint64_t migrated;          /* pages migrate() moved */
	uint64_t truncated;         /* pages freed by delete/punch */
};

/* Create a page cache on m and register its page owner.  cfg NULL: defaults. */
int zpa_model_pagecache_create(struct zpa_machine *m, const struct zpa_model_pagecache_config *cfg,
			       struct zpa_model_pagecache **out);
/* Free every cached page (waiting for no writeback) and the model. */
void zpa_model_pagecache_destroy(struct zpa_model_pagecache *pc);

/* A new file of nr_pages pages, none cached; returns its id (>= 0). */
int zpa_model_file_create(struct zpa_model_pagecache *pc, uint64_t nr_pages);
/* Truncate and forget a file (pages under writeback go when it ends). */
int zpa_model_file_delete(struct zpa_model_pagecache *pc, int file);
/* Drop one page of a file (a hole punch); 0 also when it was not cached. */
int zpa_model_file_punch(struct zpa_model_pagecache *pc, int file, uint64_t index);
/* Pages cached of a file, or a negative error. */
int64_t zpa_model_file_cached(struct zpa_model_pagecache *pc, int file);
/* The page cached at file/index, or ZPA_PFN_NONE. */
zpa_pfn_t zpa_model_file_page(struct zpa_model_pagecache *pc, int file, uint64_t index);

/*
 * Access page `index` of a file, allocating it on the task's behalf (NULL:
 * the calling thread's) when it is not cached.  flags: ZPA_MODEL_WRITE,
 * ZPA_MODEL_MAPPED.  Returns enum zpa_model_access, or ZPA_ENOMEM when the
 * allocation failed (nothing cached, counted), ZPA_ENOENT / ZPA_EINVAL.
 */
int zpa_model_file_read(struct zpa_model_pagecache *pc, int file, uint64_t index, struct zpa_task *task,
			unsigned flags);
/*
 * Put an allocated order-0 page the caller owns (one reference, not on any
 * list) into the file at index, as if it had been read: the reference
 * passes to the model, the page goes on the inactive file LRU.  For
 * simulations that lay out memory themselves.  ZPA_EINVAL when the slot is
 * cached already or the page cannot go on the LRU (the caller keeps it).
 */
int zpa_model_file_add_page(struct zpa_model_pagecache *pc, int file, uint64_t index, zpa_pfn_t pfn);

/* Advance the clock to now_ms: end the writebacks due, then run the flusher. */
void zpa_model_pagecache_tick(struct zpa_model_pagecache *pc, uint64_t now_ms);

void zpa_model_pagecache_stats(struct zpa_model_pagecache *pc, struct zpa_model_pagecache_stats *out);
/* The model's page owner: its id, and (each may be NULL) its callbacks and their argument. */
int zpa_model_pagecache_owner(struct zpa_model_pagecache *pc, const struct zpa_page_owner_ops **ops, void **arg);

/* ======================= anonymous memory, swap, tasks ======================= */

struct zpa_model_anon;
struct zpa_model_task;

struct zpa_model_anon_config {
	uint64_t swap_pages;        /* the swap device's size (zpa_swap_set); 0: no swap */
	zpa_gfp_t gfp;              /* base pages; 0: ZPA_GFP_HIGHUSER_MOVABLE */
	zpa_gfp_t pgtable_gfp;      /* page table pages; 0: ZPA_GFP_KERNEL_ACCOUNT|ZPA___GFP_ZERO */
};

struct zpa_model_anon_stats {
	uint64_t tasks;             /* tasks not yet exited */
	uint64_t rss;               /* present page table entries, all tasks */
	uint64_t pages;             /* blocks' pages held (a THP counts 512) */
	uint64_t swap_total, swap_used; /* slots: used = swapped entries + slots held by resident pages */
	uint64_t swapents;          /* swapped-out entries */
	uint64_t pgtables;          /* page table pages */
	uint64_t faults;            /* first-touch faults served */
	uint64_t swapins;           /* swapped-out pages faulted back (pswpin-like) */
	uint64_t swapouts;          /* pages evicted to swap (pswpout-like) */
	uint64_t fault_failures;    /* faults whose allocation failed */
	uint64_t thp, thp_failures; /* huge page faults served / failed */
	uint64_t swap_full;         /* writepage() refusals for want of slots */
	uint64_t migrated;          /* blocks migrate() moved */
	uint64_t kills;             /* kill() calls */
	uint64_t reaped;            /* pages freed by reap() */
	uint64_t exits;             /* tasks that exited */
};

/* Create the anonymous-memory model and its swap device (zpa_swap_set(m, n, n)). */
int zpa_model_anon_create(struct zpa_machine *m, const struct zpa_model_anon_config *cfg,
			  struct zpa_model_anon **out);
/* Exit every task, free every page and slot, free the model (its swap device stays set). */
void zpa_model_anon_destroy(struct zpa_model_anon *a);

struct zpa_model_task_config {
	const char *comm;           /* name (15 characters kept) */
	int pid;
	short oom_score_adj;        /* -1000..1000 */
	uint64_t max_pages;         /* virtual size: page indexes 0..max_pages-1 */
	int cpu;                    /* the zpa_task's CPU; -1: ask the platform */
	bool no_oom;                /* do not register with the OOM killer */
};
/*
 * A new task with its own zpa_task (the allocating context of its faults),
 * registered with the OOM killer.  The handle stays valid until
 * zpa_model_anon_destroy(), also after the task exits.
 */
int zpa_model_task_create(struct zpa_model_anon *a, const struct zpa_model_task_config *cfg,
			  struct zpa_model_task **out);
/*
 * Touch page `index` (flags: ZPA_MODEL_WRITE): a hit sets its accessed bit;
 * otherwise a fault (ZPA_MODEL_MISS) or a swap-in (ZPA_MODEL_REFAULT).
 * ZPA_ENOMEM when an allocation failed, ZPA_EBUSY when the task was killed
 * or has exited (it allocates no more).
 */
int zpa_model_task_touch(struct zpa_model_task *t, uint64_t index, unsigned flags);
/*
 * Fault a transparent huge page (pageblock order, __GFP_COMP added to gfp)
 * at the aligned range holding index; every entry of the range must be
 * empty.  0 when mapped, ZPA_ENOMEM when the allocation failed (nothing
 * else is tried: a caller falls back itself), ZPA_EINVAL for a range in use,
 * ZPA_EBUSY for a killed task.
 */
int zpa_model_task_touch_huge(struct zpa_model_task *t, uint64_t index, zpa_gfp_t gfp);
/* The first page of the block entry `index` maps (a THP's head), or ZPA_PFN_NONE (none, swapped). */
zpa_pfn_t zpa_model_task_page(struct zpa_model_task *t, uint64_t index);
/* munmap(): drop entries [index, index + n) (pages and swap slots). */
int zpa_model_task_unmap(struct zpa_model_task *t, uint64_t index, uint64_t n);
/* exit(): free everything, leave the OOM killer's list.  Idempotent. */
void zpa_model_task_exit(struct zpa_model_task *t);
bool zpa_model_task_killed(const struct zpa_model_task *t);
bool zpa_model_task_exited(const struct zpa_model_task *t);
/* Footprint as oom_badness() reads it. */
void zpa_model_task_footprint(struct zpa_model_task *t, struct zpa_oom_footprint *out);
/* The task's allocating context. */
struct zpa_task *zpa_model_task_ztask(struct zpa_model_task *t);
int zpa_model_task_pid(const struct zpa_model_task *t);
/* The callbacks registered with zpa_oom_task_add() for this task, and their argument. */
void zpa_model_task_oom_ops(struct zpa_model_task *t, const struct zpa_oom_task_ops **ops, void **arg);

/* Advance the clock: killed tasks finish exiting (free everything, leave the OOM list). */
void zpa_model_anon_tick(struct zpa_model_anon *a, uint64_t now_ms);

/* The footprints of the model's tasks at the moment of an OOM kill. */
#define ZPA_MODEL_KILL_TASKS 32
struct zpa_model_task_snapshot {
	int pid;
	char comm[ZPA_MODEL_COMM_LEN];
	short oom_score_adj;
	bool killed;                /* killed before this kill (not a candidate) */
	struct zpa_oom_footprint fp;
};
struct zpa_model_kill {
	int victim_pid;
	char victim_comm[ZPA_MODEL_COMM_LEN];
	uint64_t at_ms;             /* the model's clock */
	unsigned nr_tasks;          /* tasks not exited at the time (at most ZPA_MODEL_KILL_TASKS kept) */
	struct zpa_model_task_snapshot tasks[ZPA_MODEL_KILL_TASKS];
};
/* Kills so far; the latest is copied to *out when there is one (out may be NULL). */
unsigned zpa_model_anon_last_kill(struct zpa_model_anon *a, struct zpa_model_kill *out);

void zpa_model_anon_stats(struct zpa_model_anon *a, struct zpa_model_anon_stats *out);
int zpa_model_anon_owner(struct zpa_model_anon *a, const struct zpa_page_owner_ops **ops, void **arg);

/* ======================= slab-like cache ======================= */

struct zpa_model_slab;

struct zpa_model_slab_config {
	const char *name;           /* the shrinker's name; NULL: "model-slab" */
	unsigned objs_per_page;     /* 1..64; 0: 21 (192-byte objects, a dentry) */
	zpa_gfp_t gfp;              /* 0: ZPA_GFP_KERNEL|ZPA___GFP_RECLAIMABLE */
	int seeks;                  /* 0: ZPA_DEFAULT_SEEKS */
	int nid;                    /* preferred node; -1: the allocating task's (a zeroed config means node 0) */
};
/* Fill cfg with the defaults (every field 0 but nid -1); a NULL cfg means the same. */
void zpa_model_slab_config_init(struct zpa_model_slab_config *cfg);

struct zpa_model_slab_stats {
	uint64_t objects;           /* cached objects now */
	uint64_t pages;             /* slab pages now */
	uint64_t allocs, alloc_failures, frees;
	uint64_t lookups, lookup_misses; /* zpa_model_slab_touch() calls, and those that found nothing */
	uint64_t count_calls, scan_calls;
	uint64_t scanned, shrunk;   /* objects scan_objects() looked at / freed */
	uint64_t pages_freed;       /* pages freed by scan_objects() */
};

/* Create the cache and register its shrinker. */
int zpa_model_slab_create(struct zpa_machine *m, const struct zpa_model_slab_config *cfg,
			  struct zpa_model_slab **out);
/* Unregister the shrinker, free every page and the model. */
void zpa_model_slab_destroy(struct zpa_model_slab *s);
/* A new object, newest on the cache's LRU; *id names it.  ZPA_ENOMEM when a new page was needed and failed. */
int zpa_model_slab_alloc(struct zpa_model_slab *s, struct zpa_task *task, uint64_t *id);
/* Use an object (it survives the next shrinker pass).  ZPA_ENOENT when it was freed or shrunk. */
int zpa_model_slab_touch(struct zpa_model_slab *s, uint64_t id);
/* Free one object (its page too when it was the last).  ZPA_ENOENT when gone already. */
int zpa_model_slab_free(struct zpa_model_slab *s, uint64_t id);

void zpa_model_slab_stats(struct zpa_model_slab *s, struct zpa_model_slab_stats *out);
/* The shrinker's callbacks and their argument (each may be NULL). */
void zpa_model_slab_shrinker(struct zpa_model_slab *s, const struct zpa_shrinker_ops **ops, void **arg);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_MODEL_H */
