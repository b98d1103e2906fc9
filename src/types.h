/*
 * types.h - zpa's internal data structures, named after Linux's.
 *
 * Glossary
 *   pfn        page frame number: physical address >> page_shift.
 *   mem_map    per-node array of struct zpa_page, indexed by pfn - node_start_pfn
 *              (Linux's pgdat->node_mem_map).  Links between pages are such
 *              32-bit node-local indexes, never pointers: 16 bytes a page.
 *   zone       a pfn interval of one node with its own free lists, watermarks
 *              and lock.  zone->idx is zone_idx(): its position in the node's
 *              zone array (the machine's configured zone types, in order).
 *   free_area  free_area[order].free_list[migratetype]: doubly linked lists of
 *              free blocks.  A free block of order k is 2^k-aligned, lies in
 *              one zone, and its first page has PG_buddy and order k; its buddy
 *              is pfn ^ (1 << k).
 *   pageblock  2^pageblock_order pages sharing one migratetype, kept in a
 *              per-zone map of one byte per pageblock (Linux's pageblock_flags
 *              packs 4 bits).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_TYPES_H
#define ZPA_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zpa.h"
#include "zpa/port.h"
#include "zpa/reclaim.h"
#include "zpa/oom.h"

#define ZPA_NIL 0xffffffffu /* end of a page-index list */

/*
 * Fields read without their lock on purpose (watermark checks, buddy probes
 * of pages that may be in use) are accessed with these, like Linux's
 * READ_ONCE/WRITE_ONCE: a single plain load or store, but a defined one.
 */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * struct zpa_page - 16 bytes of metadata for one page.
 *   next, prev: free-list links (node-local page indexes) while PG_buddy; for
 *               a compound tail, next holds the head's node-local index.
 *   flags:      PG_* bits below, the order (bits 0-4) and the free list's
 *               migratetype (bits 5-7).
 *   refcount:   Linux's _refcount: 0 when free or an inner page, >= 1 on the
 *               first page of an allocated block.
 */
struct zpa_page {
	uint32_t next;
	uint32_t prev;
	uint32_t flags;
	int32_t refcount;
};

#define PG_ORDER_MASK    0x1fu        /* order: buddy order or allocation order */
#define PG_MT_SHIFT      5
#define PG_MT_MASK       (0x7u << PG_MT_SHIFT) /* migratetype of the free list */
#define PG_buddy         (1u << 8)    /* first page of a free block */
#define PG_reserved      (1u << 9)    /* not managed: hole or reserved range */
#define PG_head          (1u << 10)   /* compound head */
#define PG_tail          (1u << 11)   /* compound tail; next = head index */
#define PG_alloc         (1u << 12)   /* first page of an allocated block, order in bits 0-4 */
#define PG_hole          (1u << 13)   /* not present (hole in the memory map) */
#define PG_pcp           (1u << 14)   /* on a per-CPU list */
#define PG_lru           (1u << 15)   /* allocated for a movable user (Linux: on an LRU) */
#define PG_listed        (1u << 19)   /* on a zpa_page_list: next/prev hold the next pfn */
#define PG_offline       (1u << 20)   /* offlined memory (isolate.c): also PG_hole | PG_reserved */
#define PG_memcg         (1u << 21)   /* first page of a block charged to a memcg (memcontrol.c's table) */
/*
 * Bits of an allocated block's first page that belong to its owner (swap.c,
 * vmscan.c, compaction.c, migrate.c; zpa/reclaim.h).  They change only under
 * the node's lru_lock, with atomic read-modify-writes (other bits of the word
 * are not written while a page carries them: the free fast paths refuse any
 * page with one of them set).  While PG_onlru, next/prev link the page on its
 * node's LRU list (node-local indexes).
 */
#define PG_onlru         (1u << 22)   /* on a node LRU list */
#define PG_active        (1u << 23)   /* on (or for) the active list */
#define PG_referenced    (1u << 24)   /* mark_page_accessed() once */
#define PG_swapbacked    (1u << 25)   /* anonymous: the anon lists; else file */
#define PG_dirty         (1u << 26)
#define PG_writeback     (1u << 27)
#define PG_isolated      (1u << 28)   /* isolated by reclaim/compaction, which holds a reference */
#define PG_OWNER_SHIFT   29           /* owner id 1..7 (zpa_page_owner_register); 0: none */
#define PG_OWNER_MASK    (0x7u << PG_OWNER_SHIFT)
#define PG_LRU_BITS      (PG_onlru | PG_active | PG_referenced | PG_swapbacked | PG_dirty | PG_writeback | \
			  PG_isolated | PG_OWNER_MASK)
#define PG_ZONE_SHIFT    16           /* zone index within the node (3 bits) */
#define PG_ZONE_MASK     (0x7u << PG_ZONE_SHIFT)

_Static_assert(sizeof(struct zpa_page) == 16, "struct zpa_page must stay 16 bytes");

static inline unsigned page_order(const struct zpa_page *p) { return READ_ONCE(p->flags) & PG_ORDER_MASK; }
/* The zone bits never change while a page is in use, but LRU bits next to them may (atomic RMWs): read once. */
static inline unsigned page_zidx(const struct zpa_page *p) { return (READ_ONCE(p->flags) & PG_ZONE_MASK) >> PG_ZONE_SHIFT; }

struct free_list {
	uint32_t head, tail;          /* node-local page indexes, ZPA_NIL if empty */
};

struct free_area {
	struct free_list free_list[ZPA_MIGRATE_TYPES];
	unsigned long nr_free;        /* free blocks of this order, all types */
};

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, NR_WMARK };

/* zone->flags */
#define ZONE_BOOSTED_WATERMARK 0x1u   /* a fallback boosted the watermark: wake kswapd */

/* Per-zone counters (Linux's zone_stat_item), defined once. */
#define ZPA_ZONE_STAT_ITEMS(X) \
	X(NR_FREE_PAGES, "nr_free_pages") \
	X(NR_ZONE_INACTIVE_ANON, "nr_zone_inactive_anon") \
	X(NR_ZONE_ACTIVE_ANON, "nr_zone_active_anon") \
	X(NR_ZONE_INACTIVE_FILE, "nr_zone_inactive_file") \
	X(NR_ZONE_ACTIVE_FILE, "nr_zone_active_file") \
	X(NR_ZONE_UNEVICTABLE, "nr_zone_unevictable") \
	X(NR_ZONE_WRITE_PENDING, "nr_zone_write_pending") \
	X(NR_MLOCK, "nr_mlock") \
	X(NR_BOUNCE, "nr_bounce") \
	X(NR_ZSPAGES, "nr_zspages") \
	X(NR_FREE_CMA_PAGES, "nr_free_cma")

#define ZPA_ENUM_ITEM(e, s) e,
enum zone_stat_item { ZPA_ZONE_STAT_ITEMS(ZPA_ENUM_ITEM) NR_VM_ZONE_STAT_ITEMS };

/* Per-zone NUMA events (Linux's numa_stat_item). */
#define ZPA_NUMA_STAT_ITEMS(X) \
	X(NUMA_HIT, "numa_hit") \
	X(NUMA_MISS, "numa_miss") \
	X(NUMA_FOREIGN, "numa_foreign") \
	X(NUMA_INTERLEAVE_HIT, "numa_interleave") \
	X(NUMA_LOCAL, "numa_local") \
	X(NUMA_OTHER, "numa_other")
enum numa_stat_item { ZPA_NUMA_STAT_ITEMS(ZPA_ENUM_ITEM) NR_VM_NUMA_EVENT_ITEMS };

/*
 * Machine-wide events (Linux's vm_event_item) that /proc/vmstat prints.
 * The pgalloc_* counters are per zone type and are generated from the zone
 * list; the rest are listed here once.  zpa_bad_page and zpa_warn are zpa's
 * own: bad frees reported, and WARN-style misuse.
 */
#define ZPA_VM_EVENT_ITEMS(X) \
	X(PGPGIN, "pgpgin") \
	X(PGPGOUT, "pgpgout") \
	X(PSWPIN, "pswpin") \
	X(PSWPOUT, "pswpout") \
	X(PGFREE, "pgfree") \
	X(PGACTIVATE, "pgactivate") \
	X(PGDEACTIVATE, "pgdeactivate") \
	X(PGREFILL, "pgrefill") \
	X(PGSTEAL_KSWAPD, "pgsteal_kswapd") \
	X(PGSTEAL_DIRECT, "pgsteal_direct") \
	X(PGSCAN_KSWAPD, "pgscan_kswapd") \
	X(PGSCAN_DIRECT, "pgscan_direct") \
	X(PGSCAN_DIRECT_THROTTLE, "pgscan_direct_throttle") \
	X(PGSCAN_ANON, "pgscan_anon") \
	X(PGSCAN_FILE, "pgscan_file") \
	X(PGSTEAL_ANON, "pgsteal_anon") \
	X(PGSTEAL_FILE, "pgsteal_file") \
	X(SLABS_SCANNED, "slabs_scanned") \
	X(KSWAPD_LOW_WMARK_HIT_QUICKLY, "kswapd_low_wmark_hit_quickly") \
	X(KSWAPD_HIGH_WMARK_HIT_QUICKLY, "kswapd_high_wmark_hit_quickly") \
	X(PAGEOUTRUN, "pageoutrun") \
	X(PGROTATED, "pgrotated") \
	X(DROP_PAGECACHE, "drop_pagecache") \
	X(DROP_SLAB, "drop_slab") \
	X(OOM_KILL, "oom_kill") \
	X(PGMIGRATE_SUCCESS, "pgmigrate_success") \
	X(PGMIGRATE_FAIL, "pgmigrate_fail") \
	X(COMPACTMIGRATE_SCANNED, "compact_migrate_scanned") \
	X(COMPACTFREE_SCANNED, "compact_free_scanned") \
	X(COMPACTISOLATED, "compact_isolated") \
	X(COMPACTSTALL, "compact_stall") \
	X(COMPACTFAIL, "compact_fail") \
	X(COMPACTSUCCESS, "compact_success") \
	X(KCOMPACTD_WAKE, "compact_daemon_wake") \
	X(KCOMPACTD_MIGRATE_SCANNED, "compact_daemon_migrate_scanned") \
	X(KCOMPACTD_FREE_SCANNED, "compact_daemon_free_scanned") \
	X(ALLOCSTALL_ANY, "zpa_alloc_fail") \
	X(KSWAPD_WAKE, "zpa_kswapd_wake") \
	X(ZPA_BAD_PAGE, "zpa_bad_page") \
	X(ZPA_WARN, "zpa_warn") \
	X(EXTFRAG_EVENT, "zpa_extfrag") \
	X(EXTFRAG_FRAGMENTING, "zpa_extfrag_fragmenting") \
	X(EXTFRAG_CHANGE_OWNERSHIP, "zpa_extfrag_change_ownership") \
	X(EXTFRAG_MIXED, "zpa_extfrag_mixed") \
	X(EXTFRAG_FRAG_UNMOVABLE, "zpa_extfrag_fragmenting_unmovable") \
	X(EXTFRAG_UNMOVABLE_IN_MOVABLE, "zpa_extfrag_unmovable_in_movable") \
	X(EXTFRAG_FRAG_RECLAIMABLE, "zpa_extfrag_fragmenting_reclaimable") \
	X(EXTFRAG_RECLAIMABLE_IN_MOVABLE, "zpa_extfrag_reclaimable_in_movable") \
	X(EXTFRAG_FRAG_MOVABLE, "zpa_extfrag_fragmenting_movable") \
	X(FAULT_CHECKED, "zpa_fault_checked") \
	X(FAULT_INJECTED, "zpa_fault_injected") \
	X(FAULT_INJECTED_ATTR, "zpa_fault_injected_attr") \
	X(FAULT_INJECTED_SCHEDULE, "zpa_fault_injected_schedule") \
	X(ALLOC_WARN, "zpa_alloc_warn") \
	X(ALLOC_WARN_SUPPRESSED, "zpa_alloc_warn_suppressed") \
	X(NOFAIL_RETRY, "zpa_nofail_retry")
enum vm_event_item { ZPA_VM_EVENT_ITEMS(ZPA_ENUM_ITEM) NR_VM_EVENT_ITEMS };

/*
 * Per-node counters (Linux's node_stat_item) that zpa keeps, in Linux's
 * /proc/vmstat order.  Atomic: updated under the lru_lock or by owners.
 */
#define ZPA_NODE_STAT_ITEMS(X) \
	X(NR_INACTIVE_ANON, "nr_inactive_anon") \
	X(NR_ACTIVE_ANON, "nr_active_anon") \
	X(NR_INACTIVE_FILE, "nr_inactive_file") \
	X(NR_ACTIVE_FILE, "nr_active_file") \
	X(NR_UNEVICTABLE, "nr_unevictable") \
	X(NR_ISOLATED_ANON, "nr_isolated_anon") \
	X(NR_ISOLATED_FILE, "nr_isolated_file") \
	X(NR_FILE_DIRTY, "nr_dirty") \
	X(NR_WRITEBACK, "nr_writeback") \
	X(NR_VMSCAN_WRITE, "nr_vmscan_write") \
	X(NR_VMSCAN_IMMEDIATE, "nr_vmscan_immediate_reclaim")
enum node_stat_item { ZPA_NODE_STAT_ITEMS(ZPA_ENUM_ITEM) NR_VM_NODE_STAT_ITEMS };

/* LRU lists (enum zpa_lru_list's order, as Linux's enum lru_list). */
#define LRU_INACTIVE_ANON ZPA_LRU_INACTIVE_ANON
#define LRU_ACTIVE_ANON   ZPA_LRU_ACTIVE_ANON
#define LRU_INACTIVE_FILE ZPA_LRU_INACTIVE_FILE
#define LRU_ACTIVE_FILE   ZPA_LRU_ACTIVE_FILE
#define LRU_UNEVICTABLE   ZPA_LRU_UNEVICTABLE
#define NR_LRU_LISTS      ZPA_NR_LRU_LISTS
#define LRU_FILE 2
#define LRU_ACTIVE 1

/*
 * A node's LRU lists (Linux's lruvec; zpa has one per node, not one per
 * memcg per node: memcg reclaim filters by the page's group).  Lists are
 * linked through the pages' next/prev (node-local indexes); new pages go to
 * the head, reclaim scans from the tail.  lru_lock protects the lists, the
 * counts and the PG_LRU_BITS of the node's pages.  Lock order: a zone lock
 * may be held when lru_lock is taken, never the other way round.
 */
struct lruvec {
	zpa_spinlock_t lru_lock;
	struct free_list lists[NR_LRU_LISTS];
	unsigned long nr_pages[NR_LRU_LISTS];  /* pages (2^order per block) */
	unsigned long anon_cost, file_cost;    /* lru_note_cost(): reclaim cost by type */
};

struct pglist_data;

/*
 * Per-CPU page lists (Linux's struct per_cpu_pages): order 0..3 lists per
 * PCP migratetype, plus two pageblock-order (THP) lists, unmovable-ish and
 * movable.  pindex = MIGRATE_PCPTYPES * order + migratetype below that.
 */
#define PAGE_ALLOC_COSTLY_ORDER 3
#define NR_LOWORDER_PCP_LISTS (ZPA_MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1))
#define NR_PCP_LISTS (NR_LOWORDER_PCP_LISTS + 2)

struct per_cpu_pages {
	int count;                 /* pages on all lists */
	int high;                  /* drain above this */
	int batch;                 /* refill/drain chunk */
	short free_factor;         /* grows with consecutive drains (batch scaling) */
	struct free_list lists[NR_PCP_LISTS];
};

/*
 * What one CPU (or one thread, in the hosted fast path) keeps per zone: the
 * page lists and its unfolded statistics (Linux's per_cpu_zonestat).
 */
struct per_cpu_zone {
	struct per_cpu_pages pcp;
	/* copies of the zone's pageblock map coordinates, for the free fast path */
	const uint8_t *pb_flags;
	unsigned long pb_base;
	unsigned pb_shift;
	int vm_stat_diff[NR_VM_ZONE_STAT_ITEMS];   /* folded into zone->vm_stat past the threshold */
	int stat_threshold;
	unsigned long pgalloc;                     /* pages allocated from this zone */
	unsigned long fast_allocs;                 /* fast-path order-0 allocations: each one is also
						    * a pgalloc, a numa_hit and a numa_local/other */
	unsigned long numa_event[NR_VM_NUMA_EVENT_ITEMS];
};

/*
 * A pageset: one CPU's (or one thread's) per-zone state for every zone of the
 * machine, indexed by nid * nr_zone_types + zone index.
 *
 * Locking ("local lock"): a CPU pageset is protected by its spinlock (Linux's
 * pcp->lock, taken with trylock on the allocation path).  A thread pageset is
 * used only by its thread, which marks itself active with plain stores; a
 * remote drainer raises remote_req, issues a process-wide memory barrier and
 * waits for the owner to leave (see pcp.c).  Lock order: pageset -> zone.
 */
/*
 * The decoded form of the last GFP word a thread pageset's owner used, so the
 * fast path needs one comparison instead of the GFP checks and the zonelist
 * walk.  Valid while gen equals the machine's fast_gen (bumped when zonelists,
 * watermarks or tunables change).
 */
struct fast_gfp {
	zpa_gfp_t gfp;
	unsigned gen;
	int hz;                    /* highest zone index */
	int mt;                    /* migratetype */
	struct zone *zone;         /* first eligible zone of the home node's zonelist */
	unsigned long mark;        /* its low watermark + lowmem_reserve[hz] */
	struct per_cpu_zone *pz;   /* this pageset's state for that zone */
	struct free_list *list0;   /* its order-0 list for mt */
	struct zpa_page *mem_map;  /* the zone's mem_map and its first pfn */
	unsigned long node_start_pfn;
	uint64_t page_word;        /* flags | refcount 1 << 32 of a page it hands out */
};

struct pageset {
	zpa_spinlock_t lock;
	_Atomic int owner_active;  /* thread pageset: owner inside a section */
	_Atomic int remote_req;    /* thread pageset: a remote user waits */
	int cpu;                   /* CPU number, or -1 for a thread pageset */
	int nid;                   /* node of that CPU (the thread's home node) */
	bool is_thread;
	struct zpa_machine *m;
	struct pageset *next_thread;             /* machine's list of thread pagesets */
	unsigned long pgfree;                    /* pages freed through this pageset */
	struct fast_gfp fg;                      /* thread pagesets: last GFP decoded */
	struct per_cpu_zone z[];                 /* nr_nodes * nr_zone_types */
};

struct zone {
	zpa_spinlock_t lock;                 /* protects free_area, counters, pageblock bits */

	/* read-mostly */
	unsigned long _watermark[NR_WMARK];
	unsigned long watermark_boost;
	unsigned long nr_reserved_highatomic;
	long lowmem_reserve[ZPA_NR_ZONE_TYPES]; /* indexed by zone index */
	struct pglist_data *zone_pgdat;
	struct zpa_page *mem_map;            /* == zone_pgdat->node_mem_map */
	unsigned long node_start_pfn;        /* == zone_pgdat->node_start_pfn */
	uint8_t *pageblock_flags;            /* migratetype, a byte per pageblock, from zone_start_pfn rounded down */

	unsigned long zone_start_pfn;
	unsigned long spanned_pages;         /* end - start, holes included */
	unsigned long present_pages;         /* RAM pages, holes excluded */
	unsigned long managed_pages;         /* present minus reserved: buddy-managed */
	unsigned long cma_pages;
	int type;                            /* enum zpa_zone_type */
	int idx;                             /* zone_idx(): index in the node's zone array */
	const char *name;
	unsigned max_order;                  /* the machine's MAX_ORDER */
	unsigned pageblock_shift;            /* the machine's pageblock_order */
	unsigned long pb_base;               /* zone_start_pfn >> pageblock_shift: bitmap origin */
	unsigned long nr_fallback;           /* __rmqueue_fallback steals (zone lock) */
	unsigned long nr_isolate_pageblock;  /* MIGRATE_ISOLATE pageblocks (zone lock) */
	unsigned flags;                      /* ZONE_* below (zone lock) */

	struct free_area free_area[ZPA_MAX_ORDER_LIMIT];

	/* compaction.c: scanner positions (racy reads, as in Linux) and deferral */
	unsigned long compact_cached_free_pfn;
	unsigned long compact_cached_migrate_pfn[2];   /* [0] async, [1] sync */
	unsigned long compact_init_migrate_pfn;
	unsigned long compact_init_free_pfn;
	unsigned compact_considered;
	unsigned compact_defer_shift;
	int compact_order_failed;
	bool compact_blockskip_flush;
	uint8_t *pageblock_skip;             /* PB_migrate_skip: a byte per pageblock, like pageblock_flags */

	long vm_stat[NR_VM_ZONE_STAT_ITEMS];   /* zone lock; per-CPU diffs not folded in */
	int *cur_stat_diff;                    /* zone lock holder's diff array, or NULL */
	int cur_stat_threshold;
	_Atomic long vm_numa_event[NR_VM_NUMA_EVENT_ITEMS]; /* folded from pagesets */
	_Atomic unsigned long pgalloc;         /* folded pgalloc_<zone> */
	int gzi;                               /* nid * nr_zone_types + idx */
	int pageset_high, pageset_batch;       /* current pcp high and batch */
	int stat_threshold;                    /* calculate_normal_threshold() */
};

/* One entry of a zonelist: a zone and its index, as Linux's zoneref. */
struct zoneref {
	struct zone *zone;
	int zone_idx;
};

enum { ZONELIST_FALLBACK, ZONELIST_NOFALLBACK, MAX_ZONELISTS };

struct zonelist {
	struct zoneref *zonerefs;   /* terminated by zone == NULL */
	unsigned nr;
};

typedef struct pglist_data {
	int node_id;
	unsigned nr_zones;                   /* index of highest populated zone + 1 */
	struct zone node_zones[ZPA_NR_ZONE_TYPES]; /* machine's zone types, in order */
	struct zonelist node_zonelists[MAX_ZONELISTS];
	unsigned long node_start_pfn;
	unsigned long node_spanned_pages;
	unsigned long node_present_pages;
	struct zpa_page *node_mem_map;       /* node_spanned_pages entries */
	unsigned long totalreserve_pages;
	int fallback_order[ZPA_MAX_NODES];   /* nodes in zonelist order (boot log's "Fallback order") */
	unsigned nr_fallback;

	/* swap.c / vmscan.c: LRU lists, node counters, kswapd */
	struct lruvec lruvec;
	_Atomic long node_stat[NR_VM_NODE_STAT_ITEMS];
	int kswapd_order;                    /* highest order kswapd was woken for (kswapd lock) */
	int kswapd_highest_zoneidx;          /* nr_zone_types: none pending */
	int kswapd_failures;                 /* balance_pgdat runs that reclaimed nothing */
	unsigned long flags;                 /* PGDAT_* (vmscan.c) */
	struct kswapd *kswapd;               /* vmscan.c's daemon state */
	/* compaction.c: kcompactd */
	int kcompactd_max_order;
	int kcompactd_highest_zoneidx;
	bool proactive_compact_trigger;
	struct kcompactd *kcompactd;         /* compaction.c's daemon state */
} pg_data_t;

struct zpa_tunables {
	long min_free_kbytes;
	long user_min_free_kbytes;          /* -1 until set by the user */
	long watermark_scale_factor;
	long watermark_boost_factor;
	long lowmem_reserve_ratio[ZPA_NR_ZONE_TYPES]; /* by zone index */
	long percpu_pagelist_high_fraction;
	long swappiness;                    /* vm.swappiness (60) */
	long compaction_proactiveness;      /* vm.compaction_proactiveness (20) */
	long extfrag_threshold;             /* vm.extfrag_threshold (500) */
	long oom_kill_allocating_task;      /* vm.oom_kill_allocating_task (0) */
	long vfs_cache_pressure;            /* vm.vfs_cache_pressure (100): shrinker pressure scale */
	int thp_enabled;
	int page_group_by_mobility_disabled;
};

struct zpa_machine {
	struct zpa_machine_config cfg;
	unsigned page_shift, max_order, pageblock_order;
	unsigned long pageblock_nr_pages;

	/* Zone types this machine has, in order: zone index -> type and back. */
	unsigned nr_zone_types;               /* Linux's MAX_NR_ZONES */
	int zone_type_of[ZPA_NR_ZONE_TYPES];  /* zone index -> enum zpa_zone_type */
	int zone_idx_of[ZPA_NR_ZONE_TYPES];   /* type -> zone index, -1 if absent */
	int gfp_zone_idx[ZPA_NR_ZONE_TYPES];  /* gfp_zone() result type -> zone index (OPT_ZONE_*) */

	unsigned nr_nodes;
	pg_data_t *nodes[ZPA_MAX_NODES];
	int node_order[ZPA_MAX_NODES];        /* nodes sorted by start pfn, for pfn lookup */

	struct zpa_tunables t;
	unsigned long totalreserve_pages;
	zpa_gfp_t gfp_allowed_mask;
	bool has_cma;
	bool zonelist_cpus_known;             /* node cpumasks populated (false for the boot build) */
	uint64_t shuffle_state, shuffle_bits;  /* shuffle.c's random source */
	unsigned shuffle_bits_left;                         /* any MIGRATE_CMA pageblocks (views print CMA only then) */

	zpa_mutex_t setup_lock;               /* serialises tunable changes */
	uint64_t uid;                         /* unique id: thread caches match machines by it */
	_Atomic unsigned fast_gen;            /* invalidates every pageset's fast_gfp */
	_Atomic unsigned zonelist_update_seq; /* bumped around each zonelist rebuild */
	unsigned nr_gzones;                   /* nr_nodes * nr_zone_types */
	struct pageset **cpu_pagesets;        /* [nr_cpus] */
	zpa_spinlock_t thread_ps_lock;        /* protects thread_pagesets */
	struct pageset *thread_pagesets;      /* thread pagesets of this machine */
	_Atomic unsigned long dead_pgfree;    /* pgfree of thread pagesets gone */
	_Atomic unsigned long dead_pgalloc[ZPA_MAX_NODES * ZPA_NR_ZONE_TYPES];
	_Atomic unsigned long vm_events[NR_VM_EVENT_ITEMS];
	_Atomic unsigned long warn_once;      /* bits of WARN_ON_ONCE sites already hit */
	/* fragmentation.c: the trace hook (zpa_set_trace_hook), read under any
	 * zone lock, changed only with every zone lock held. */
	zpa_trace_fn trace_hook;
	void *trace_hook_arg;
	/* mempolicy.c: cpusets */
	_Atomic bool cpusets_insane;          /* a cpuset had movable-only nodes (sticky, Linux's static key) */
	/* Tests only (zpa_set_alloc_test_hook in internal.h): called at fixed points of an allocation. */
	void (*alloc_test_hook)(struct zpa_machine *m, struct zpa_task *task, int site, void *arg);
	void *alloc_test_hook_arg;
	/* isolate.c/cma.c */
	zpa_mutex_t hotplug_lock;             /* serialises offline/online (mem_hotplug_lock); outermost */
	zpa_mutex_t cma_mutex;                /* serialises cma_alloc's alloc_contig_range (Linux's cma_mutex) */
	struct zpa_cma *cma_areas;            /* cma_area_count areas (cma.c) */
	unsigned cma_area_count;
	/* fail_page_alloc.c: fault injection (zpa/fault.h); state made on first use */
	struct fail_page_alloc *_Atomic fail_page_alloc;
	_Atomic int fail_page_alloc_on;       /* a request may be failed: __alloc_pages asks */
	/* memcontrol.c: memory control groups (zpa/memcg.h); state made with the first group */
	struct memcg_state *_Atomic memcg;
	_Atomic int memcg_kmem_on;            /* groups exist: __GFP_ACCOUNT leaves the fast path */
	/* swap.c: page owners (zpa/reclaim.h), swap space */
	const struct zpa_page_owner_ops *owner_ops[ZPA_MAX_PAGE_OWNERS + 1]; /* [1..7] */
	void *owner_arg[ZPA_MAX_PAGE_OWNERS + 1];
	_Atomic int nr_owners;
	_Atomic long total_swap_pages, nr_swap_pages;
	/* vmscan.c: shrinkers, daemon mode, the machine clock */
	struct reclaim_state *reclaim;        /* made at creation (vmscan_init) */
	int daemon_mode;                      /* enum zpa_daemon_mode */
	_Atomic uint64_t sim_now_ms;          /* MANUAL mode's clock */
	_Atomic unsigned long allocstall[ZPA_NR_ZONE_TYPES]; /* allocstall_<zone> by zone index */
	/* compaction.c */
	struct compact_state *compact;        /* made at creation (compaction_init) */
	/* oom_kill.c */
	struct oom_state *oom;                /* made at creation (oom_init) */
	/* page_alloc.c: warn_alloc's rate limit (5 s, burst 10) */
	zpa_spinlock_t warn_lock;
	uint64_t warn_begin_ms;
	unsigned warn_printed, warn_missed;
};

/*
 * A memory policy (Linux's struct mempolicy; see mempolicy.c).  As in Linux,
 * user_nodemask and cpuset_mems_allowed share storage (Linux's union `w`): a
 * policy with a mode flag (ZPA_MPOL_F_*) keeps the mask as given, any other
 * keeps the task's mems_allowed it was last bound against.  The sharing is
 * observable (a rebind of a flagged PREFERRED policy overwrites the user mask)
 * and zpa keeps it.
 */
struct zpa_mempolicy {
	unsigned short mode;      /* enum zpa_mpol_mode */
	unsigned short flags;     /* ZPA_MPOL_F_* (and internal MPOL_F_*) */
	zpa_nodemask_t nodes;     /* effective nodes (after cpuset contextualisation) */
	union {
		zpa_nodemask_t user_nodemask;       /* as given, for STATIC/RELATIVE rebinding */
		zpa_nodemask_t cpuset_mems_allowed; /* mems the policy was last bound against */
	};
	int home_node;            /* -1: none (Linux's set_mempolicy_home_node; no API sets it) */
};

/* The task (Linux's `current`): see zpa_task_* in zpa.h. */
struct zpa_task {
	int cpu;                 /* -1: ask the platform */
	unsigned flags;          /* ZPA_PF_* */
	char comm[16];           /* name in reports (TASK_COMM_LEN); "" reads "zpa" */
	bool is_thread_default;
	struct zpa_mempolicy *mempolicy;  /* NULL: the default policy; else &mpol */
	struct zpa_mempolicy mpol;        /* storage of the task's own policy (set_mempolicy) */
	int il_prev;             /* last interleave node; 0 in a new task (see mempolicy.c) */
	bool cpuset_active;      /* mems_allowed lacks a node with memory (cpusets_enabled()) */
	zpa_nodemask_t mems_allowed;      /* cpuset's nodes; every bit in a new task */
	zpa_nodemask_t mems_softwall;     /* nearest hardwalled ancestor's nodes */
	_Atomic unsigned mems_allowed_seq; /* odd while mems_allowed changes */
	struct zpa_memcg *memcg;          /* memcontrol.c: charged group; NULL = root, no accounting */
	/* oom_kill.c */
	struct oom_task *oom;             /* registration with the built-in killer, or NULL */
	_Atomic bool oom_victim;          /* tsk_is_oom_victim(): may use ALLOC_OOM reserves */
	/* vmscan.c: reclaim in progress in this task (no recursion) */
	int in_reclaim;
};

/*
 * struct alloc_context - one allocation request as it walks the zonelist
 * (Linux's alloc_context), passed by const pointer.
 */
struct alloc_context {
	struct zonelist *zonelist;
	const zpa_nodemask_t *nodemask;
	struct zoneref *preferred_zoneref;
	int migratetype;
	int highest_zoneidx;
	bool spread_dirty_pages;
	struct zpa_task *task;
};

#endif /* ZPA_TYPES_H */
