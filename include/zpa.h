/*
 * zpa.h - the zoned page allocator: Linux 6.1's buddy page allocator as an
 * embeddable C library.
 *
 * A machine (struct zpa_machine) is one simulated or real physical memory:
 * NUMA nodes, each with zones (DMA, DMA32, Normal, HighMem, Movable, Device),
 * each zone with buddy free lists per order and migratetype, watermarks and
 * lowmem protection computed with Linux 6.1's formulas.  Pages are named by
 * their page frame number (PFN): physical address >> page_shift.
 *
 * Several machines can live in one process; nothing is global.  Every call
 * that takes a machine is safe to call from many threads at once unless its
 * comment says otherwise: allocation and free take the zone lock of the zone
 * they touch, setup and tunable changes take every zone lock.
 *
 * Errors are negative ZPA_E* codes; zpa_strerror() names them.  Bad frees and
 * other misuse are also reported through the machine's log callback in the
 * style of Linux's bad_page()/WARN and counted in /proc/vmstat-style counters
 * (zpa_bad_page, zpa_warn); they never corrupt the allocator's state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_H
#define ZPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zpa/gfp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZPA_VERSION_MAJOR 0
#define ZPA_VERSION_MINOR 1

typedef uint64_t zpa_pfn_t;
#define ZPA_PFN_NONE ((zpa_pfn_t)-1)

/* Limits of one machine. */
#define ZPA_MAX_NODES     64
#define ZPA_MAX_CPUS      256
#define ZPA_MAX_RANGES    512
#define ZPA_MAX_ORDER_LIMIT 20  /* max_order may be 1..ZPA_MAX_ORDER_LIMIT */

/* Error codes (negative return values). */
enum zpa_error {
	ZPA_OK = 0,
	ZPA_EINVAL = -1,      /* invalid argument or configuration */
	ZPA_ENOMEM = -2,      /* no memory for metadata, or allocation failed */
	ZPA_ERANGE = -3,      /* value out of the tunable's range */
	ZPA_ENOENT = -4,      /* no such tunable, node, zone or file */
	ZPA_EBADPFN = -5,     /* PFN not managed by this machine (foreign page) */
	ZPA_EALIGN = -6,      /* PFN not aligned to the order freed */
	ZPA_EORDER = -7,      /* order >= MAX_ORDER, or not the order allocated */
	ZPA_EDOUBLEFREE = -8, /* page is already free */
	ZPA_ETAIL = -9,       /* a tail page of a compound page was freed */
	ZPA_EBADPAGE = -10,   /* page state forbids freeing (reserved, bad count) */
	ZPA_EBADGFP = -11,    /* GFP combination Linux rejects */
	ZPA_EPARSE = -12,     /* malformed input file or text */
	ZPA_EIO = -13,        /* file could not be read */
	ZPA_ECORRUPT = -14,   /* zpa_check() found an inconsistency */
	ZPA_EBUSY = -15,      /* pages in use (would need migration), or range busy */
	ZPA_EAGAIN = -16,     /* try again: a transient state (e.g. a page owner's migrate()) */
};
const char *zpa_strerror(int err);

/* Zone types, in Linux's order.  Which exist is part of the machine config. */
enum zpa_zone_type {
	ZPA_ZONE_DMA,
	ZPA_ZONE_DMA32,
	ZPA_ZONE_NORMAL,
	ZPA_ZONE_HIGHMEM,
	ZPA_ZONE_MOVABLE,
	ZPA_ZONE_DEVICE,
	ZPA_NR_ZONE_TYPES
};
const char *zpa_zone_type_name(enum zpa_zone_type type); /* "DMA32" ... */

/* A range of physical memory, in bytes: [start, end). */
enum zpa_range_type {
	ZPA_RANGE_USABLE = 1,   /* RAM the allocator manages (e820 "usable") */
	ZPA_RANGE_RESERVED = 2, /* RAM present but held back (memblock_reserve) */
};
struct zpa_range {
	uint64_t start, end;
	int type;       /* enum zpa_range_type */
	int nid;        /* node it belongs to; ignored for RESERVED ranges */
};

/* Memory modes. */
enum zpa_mem_mode {
	ZPA_MEM_UNBACKED = 0, /* metadata only: simulation, device memory by offset */
	ZPA_MEM_BACKED = 1,   /* caller hands real memory; zeroing touches it */
};

/* Log levels for the log callback. */
enum zpa_log_level { ZPA_LOG_ERR = 3, ZPA_LOG_WARN = 4, ZPA_LOG_INFO = 6, ZPA_LOG_DEBUG = 7 };
typedef void (*zpa_log_fn)(void *arg, int level, const char *msg);

/* A CMA area of the config (zpa/contig.h: zpa_config_add_cma()). */
#define ZPA_MAX_CMA_AREAS 8
#define ZPA_CMA_NAME_MAX 32
struct zpa_cma_config {
	uint64_t base, size;       /* bytes, multiples of the pageblock size */
	char name[ZPA_CMA_NAME_MAX];
};

/*
 * Everything that describes a machine.  Fill it with
 * zpa_machine_config_init() (an empty machine with Linux's x86-64 defaults),
 * add ranges, nodes and CPUs, then call zpa_machine_create().
 */
struct zpa_machine_config {
	unsigned page_shift;       /* 12: 4 KiB pages */
	unsigned max_order;        /* 11: orders 0..10 */
	unsigned pageblock_order;  /* 9 */

	unsigned nr_ranges;
	struct zpa_range ranges[ZPA_MAX_RANGES];

	unsigned nr_nodes;                         /* nodes 0..nr_nodes-1 */
	uint8_t distance[ZPA_MAX_NODES][ZPA_MAX_NODES]; /* 0: 10 local / 20 remote */
	unsigned nr_cpus;
	int cpu_node[ZPA_MAX_CPUS];                /* node of each CPU */

	/* Zone limits (bytes; 0 disables the zone), x86-64 by default. */
	uint64_t dma_limit;        /* 16 MiB: DMA below it */
	uint64_t dma32_limit;      /* 4 GiB: DMA32 below it */
	uint64_t highmem_start;    /* 0: no HighMem (64-bit); else lowmem ends here */
	bool zone_device;          /* list the (always empty) Device zone, as x86-64 does */
	/* kernelcore=/movablecore= semantics for ZONE_MOVABLE (bytes or percent). */
	uint64_t kernelcore, movablecore;
	unsigned kernelcore_percent, movablecore_percent;

	int mem_mode;              /* enum zpa_mem_mode */
	void *backing;             /* BACKED: address of physical address backing_phys */
	uint64_t backing_phys;
	uint64_t backing_size;     /* bytes of backing; must cover every usable range */

	/* Initial tunables; -1 keeps Linux's default (see zpa_sysctl_set()). */
	long min_free_kbytes;
	long watermark_scale_factor;
	long watermark_boost_factor;
	long lowmem_reserve_ratio[ZPA_NR_ZONE_TYPES]; /* indexed by zone type */
	long percpu_pagelist_high_fraction;
	int thp_enabled;           /* 1 (default): THP raises min_free_kbytes like khugepaged */

	zpa_log_fn log;            /* NULL: messages go to stderr */
	void *log_arg;
	int log_level;             /* messages above it are dropped; default ZPA_LOG_WARN */
	bool debug_panic;          /* abort() on a bad page instead of reporting */
	bool no_pcp;               /* per-CPU lists pass through (high 0, batch 1: Linux's boot pageset) */
	bool exact_vmstat;         /* fold every counter change at once (no per-CPU drift) */
	bool shuffle;              /* page_alloc.shuffle=1: randomise free lists (seeded) */
	uint64_t shuffle_seed;
	bool no_merge_to_tail;     /* turn off 6.1's to-tail placement of blocks likely to merge */
	/*
	 * Linux builds the boot zonelists before any CPU is in its node's
	 * cpumask (x86-64: build_all_zonelists() runs before numa_add_cpu()), so
	 * find_next_best_node()'s penalty for nodes with CPUs does not apply at
	 * boot; it does in later rebuilds (memory hotplug).  zpa does the same;
	 * set this to build the first zonelists as a later rebuild would.
	 */
	bool zonelists_with_cpus;
	bool page_group_by_mobility_disabled; /* Linux's page_group_by_mobility_disabled: every request is
					      * MIGRATE_UNMOVABLE (no grouping of pageblocks by mobility) */
	/* CMA areas (cma=size@base), activated at creation (isolate.c/cma.c). */
	unsigned nr_cma_areas;
	struct zpa_cma_config cma_areas[ZPA_MAX_CMA_AREAS];
};

/* An empty config with Linux x86-64 defaults (no ranges, no nodes). */
void zpa_machine_config_init(struct zpa_machine_config *cfg);

/*
 * The built-in default machine: 2 nodes of 4 GiB each (8 GiB), 2 CPUs (one
 * per node), distance 10/20, a PC-like e820 map (low 640 KiB, the legacy hole,
 * RAM up to 3 GiB, the PCI hole, RAM above 4 GiB), giving zones DMA, DMA32 and
 * Normal on node 0 and Normal on node 1.  Unbacked.
 */
void zpa_machine_config_default(struct zpa_machine_config *cfg);

/* Append a range; returns 0 or ZPA_EINVAL (bad range) / ZPA_ENOMEM (table full). */
int zpa_config_add_range(struct zpa_machine_config *cfg, uint64_t start, uint64_t end,
			 int type, int nid);

/*
 * Build a machine from a Linux snapshot directory (see README: proc/zoneinfo,
 * proc/sys/vm/ or vm-sysctls.txt, optional node distance/cpulist files and
 * dmesg.txt).  Fills cfg and sets reserved ranges so that managed page counts
 * equal the snapshot's.  On error returns ZPA_E* and writes a message to err.
 */
int zpa_config_from_snapshot(const char *dir, struct zpa_machine_config *cfg,
			     char *err, size_t errlen);

/*
 * Parse a machine file (documented in docs/MACHINE.md) into cfg.  On error
 * returns ZPA_EPARSE/ZPA_EIO with "file:line: reason" in err.
 */
int zpa_config_from_file(const char *path, struct zpa_machine_config *cfg,
			 char *err, size_t errlen);

struct zpa_machine;

/*
 * Create a machine: lay out nodes and zones, allocate the mem_map (16 bytes a
 * page), free every managed page into the buddy lists the way memblock hands
 * memory to Linux, and compute watermarks and protection.  Returns 0 and
 * *out, or ZPA_EINVAL with a message through cfg->log.
 */
int zpa_machine_create(const struct zpa_machine_config *cfg, struct zpa_machine **out);
void zpa_machine_destroy(struct zpa_machine *m);

/* ----- tasks: the allocating context (Linux's `current`) ----- */

/*
 * A task holds what the allocator reads from `current`: the CPU it runs on,
 * its flags (PF_MEMALLOC and the NOIO/NOFS scopes), its memory policy and its
 * cpuset's nodes.  zpa_task_current() is the calling thread's own task
 * (created on first use, CPU -1 = ask the platform).  A task is used by one
 * thread at a time, as `current` is; a task's policy and cpuset name nodes of
 * the machine they were set for.  A new task has no policy, every node
 * allowed, and il_prev 0 (Linux copies il_prev at fork; init_task's is 0).
 */
struct zpa_task;
struct zpa_task *zpa_task_current(void);
struct zpa_task *zpa_task_create(void);
void zpa_task_destroy(struct zpa_task *t);
void zpa_task_set_cpu(struct zpa_task *t, int cpu); /* -1: ask the platform */
int zpa_task_cpu(const struct zpa_task *t);
/* The task's name in reports (Linux's comm, 15 characters kept). */
void zpa_task_set_comm(struct zpa_task *t, const char *comm);

#define ZPA_PF_MEMALLOC        0x0800u   /* may use all reserves (reclaim context) */
#define ZPA_PF_MEMALLOC_NOFS   0x40000u  /* scope: GFP_NOFS for all requests */
#define ZPA_PF_MEMALLOC_NOIO   0x80000u  /* scope: GFP_NOIO for all requests */
unsigned zpa_task_flags(const struct zpa_task *t);
/* Set flags and return the previous value of those bits (memalloc_noio_save-like). */
unsigned zpa_task_flags_save(struct zpa_task *t, unsigned flags);
void zpa_task_flags_restore(struct zpa_task *t, unsigned saved, unsigned flags);

/* A set of nodes. */
typedef struct { uint64_t bits[(ZPA_MAX_NODES + 63) / 64]; } zpa_nodemask_t;

/* Node mask helpers. */
static inline void zpa_nodemask_clear(zpa_nodemask_t *m)
{
	for (unsigned i = 0; i < sizeof m->bits / sizeof m->bits[0]; i++)
		m->bits[i] = 0;
}
static inline void zpa_nodemask_set(zpa_nodemask_t *m, int nid) { m->bits[nid >> 6] |= 1ull << (nid & 63); }
static inline bool zpa_nodemask_test(const zpa_nodemask_t *m, int nid) { return (m->bits[nid >> 6] >> (nid & 63)) & 1; }

/* ----- memory policies (Linux's mempolicy: set_mempolicy(2), mbind(2)) ----- */

enum zpa_mpol_mode {
	ZPA_MPOL_DEFAULT,
	ZPA_MPOL_PREFERRED,
	ZPA_MPOL_BIND,
	ZPA_MPOL_INTERLEAVE,
	ZPA_MPOL_LOCAL,
	ZPA_MPOL_PREFERRED_MANY,
	ZPA_MPOL_MAX
};
#define ZPA_MPOL_F_STATIC_NODES   (1 << 15) /* keep the nodes as given across cpuset changes */
#define ZPA_MPOL_F_RELATIVE_NODES (1 << 14) /* nodes are positions within the allowed nodes */
#define ZPA_MPOL_F_NUMA_BALANCING (1 << 13) /* BIND only; accepted and reported, no effect here */

/*
 * Policies choose where an allocation starts and which nodes it may use:
 *   DEFAULT         no policy: the task's (for a task: "preferred local").
 *   LOCAL           the allocating CPU's node first, then its fallback list.
 *   PREFERRED       the first node of the mask first, then its fallback list
 *                   (an empty mask means LOCAL).
 *   BIND            only the mask's nodes, nearest to the CPU first; applied
 *                   to requests whose zone is at least the policy zone (the
 *                   highest zone type with memory, Movable aside: Normal on
 *                   x86-64), so GFP_DMA32 requests are not bound there.
 *   INTERLEAVE      one allocation per node of the mask in turn, continuing
 *                   after the task's last interleave node (il_prev).
 *   PREFERRED_MANY  the mask's nodes first (no warning, no reclaim), then any.
 * Each task has its own interleave position: zpa_set_mempolicy() with
 * INTERLEAVE restarts it (the next node is the mask's first); an explicit
 * policy object interleaves from the allocating task's position.
 *
 * Validation is Linux's (mpol_new, sanitize_mpol_flags, mpol_set_nodemask):
 * ZPA_EINVAL for an unknown mode or flag bit, STATIC with RELATIVE,
 * NUMA_BALANCING without BIND, a mask given to DEFAULT or LOCAL, a node flag
 * on LOCAL or on PREFERRED with an empty mask, an empty mask for BIND,
 * INTERLEAVE and PREFERRED_MANY, or a mask that keeps no node once limited
 * to the task's allowed nodes that have memory (RELATIVE masks are mapped
 * onto those nodes by position instead).  nodes NULL is the empty mask.
 */
/*
 * A memory policy object, as a VMA carries one (mbind(2)): made with
 * zpa_mpol_new() against the calling thread's allowed nodes and passed per
 * allocation to zpa_alloc_pages_mpol().  mode may carry ZPA_MPOL_F_* flags.
 * Returns 0, ZPA_EINVAL (see above) or ZPA_ENOMEM.  DEFAULT makes no object:
 * *out is NULL, which zpa_alloc_pages_mpol() reads as "the task's policy", as
 * a VMA without a policy does.  Objects are read-only once made (any number
 * of threads may use one) and are not rebound when a cpuset changes.
 */
struct zpa_mempolicy;
int zpa_mpol_new(struct zpa_machine *m, int mode, const zpa_nodemask_t *nodes, struct zpa_mempolicy **out);
void zpa_mpol_free(struct zpa_mempolicy *pol);

/*
 * set_mempolicy(2) for a task (NULL: the calling thread's own; another
 * thread's own task is refused with ZPA_EINVAL, as set_mempolicy only changes
 * `current`).  The task keeps its own copy; on error its policy is unchanged.
 * get_mempolicy(2) without flags: *mode gets the mode with its ZPA_MPOL_F_*
 * flags (DEFAULT when the task has none), *nodes the mask as given for a
 * flagged policy, else the policy's nodes (empty for DEFAULT and LOCAL).
 * Either output may be NULL.
 */
int zpa_set_mempolicy(struct zpa_machine *m, struct zpa_task *task, int mode, const zpa_nodemask_t *nodes);
int zpa_get_mempolicy(struct zpa_machine *m, struct zpa_task *task, int *mode, zpa_nodemask_t *nodes);

/*
 * Allocate 2^order pages under a policy (task NULL: the calling thread's).
 * pol NULL: alloc_pages(), the task's policy, skipped for __GFP_THISNODE
 * requests (they go to the local node).  pol given: the decisions Linux's
 * vma_alloc_folio() makes for a VMA with that policy (no address, so
 * INTERLEAVE goes by the task's il_prev; __GFP_THISNODE does not skip it,
 * and warns once with BIND), without adding __GFP_COMP.  Returns the first
 * PFN or ZPA_PFN_NONE.
 */
zpa_pfn_t zpa_alloc_pages_mpol(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
			       const struct zpa_mempolicy *pol);

/*
 * cpusets: cpuset_change_task_nodemask() for a task (NULL: the calling
 * thread's; another thread's own task: ZPA_EINVAL).  mems: the nodes the
 * task may allocate from, a non-empty subset of the nodes with memory
 * (NULL: the root cpuset, every node, as in a new task).  softwall: the nodes
 * of the nearest hardwalled ancestor cpuset, a superset of mems (NULL: every
 * node).  __GFP_HARDWALL requests (GFP_USER and friends) stay in mems;
 * others may use softwall once mems fall below their watermarks; GFP_ATOMIC
 * ones ignore the cpuset in the slow path.  The change rebinds the task's
 * policy (STATIC: given nodes within the new mems; RELATIVE: given nodes
 * mapped onto them; plain BIND/INTERLEAVE: old mems mapped onto new by
 * position; PREFERRED/PREFERRED_MANY keep their nodes) and moves the task's
 * mems_allowed sequence count, so an allocation that was running retries.
 * Returns 0 or ZPA_EINVAL (nothing changed).
 */
int zpa_task_set_mems_allowed(struct zpa_machine *m, struct zpa_task *task, const zpa_nodemask_t *mems,
			      const zpa_nodemask_t *softwall);
/* The task's mems_allowed (every bit set while never changed).  task NULL: the calling thread's. */
void zpa_task_get_mems_allowed(const struct zpa_task *task, zpa_nodemask_t *mems);

/* ----- allocation and free ----- */

/*
 * Allocate 2^order contiguous pages: Linux's __alloc_pages().  The fast path
 * walks the preferred node's zonelist at the low watermark, then the slow path
 * retries at the min watermark with the reserves the GFP flags grant.
 * preferred_nid -1 means the task's CPU's node; nodemask NULL allows every
 * node; task NULL means zpa_task_current().  Returns the first PFN or
 * ZPA_PFN_NONE.  order >= max_order fails (with a warning unless
 * __GFP_NOWARN), as do GFP zone combinations Linux rejects.
 * Takes the lock of each zone it allocates from.
 */
zpa_pfn_t zpa__alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
			   unsigned order, int preferred_nid, const zpa_nodemask_t *nodemask);
/* alloc_pages(): policy-driven (the current task's memory policy and node). */
zpa_pfn_t zpa_alloc_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order);
/* alloc_pages_node(): prefer node nid (-1: the current node). */
zpa_pfn_t zpa_alloc_pages_node(struct zpa_machine *m, int nid, zpa_gfp_t gfp, unsigned order);

/*
 * __free_pages(): drop a reference to the block at pfn allocated with this
 * order; the last reference frees it into the buddy lists, merging with free
 * buddies.  For a non-compound block still referenced elsewhere, the pages
 * beyond the first are freed (Linux 6.1's behaviour).  Returns 0, or a
 * negative ZPA_E* after a bad_page-style report when the free is invalid
 * (double free, wrong order, tail page, foreign or unaligned PFN, reserved
 * page); an invalid free changes nothing.  Takes the zone lock.
 */
int zpa_free_pages(struct zpa_machine *m, zpa_pfn_t pfn, unsigned order);
/* The same on behalf of a task (its CPU's page lists); task NULL = current thread. */
int zpa__free_pages(struct zpa_machine *m, struct zpa_task *task, zpa_pfn_t pfn, unsigned order);

/*
 * alloc_pages_bulk_array(): fill the empty slots (ZPA_PFN_NONE) of
 * array[0..nr_pages) with order-0 pages, as Linux's __alloc_pages_bulk()
 * does: from the per-CPU list of the first zone that passes its watermark,
 * falling back to one zpa__alloc_pages() for the first page when none does.
 * Returns the number of filled slots (including those filled before the call).
 * task NULL: the current thread's task.
 */
unsigned long zpa_alloc_pages_bulk_array(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					 int preferred_nid, const zpa_nodemask_t *nodemask,
					 unsigned long nr_pages, zpa_pfn_t *array);

/*
 * A list of allocated order-0 pages linked through zpa's own metadata (Linux's
 * page->lru list form of alloc_pages_bulk): no memory of the caller's is used.
 * Initialise with ZPA_PAGE_LIST_INIT; pages on it must not be freed singly.
 */
struct zpa_page_list {
	zpa_pfn_t head;
	unsigned long nr;
};
#define ZPA_PAGE_LIST_INIT { ZPA_PFN_NONE, 0 }
/* alloc_pages_bulk_list(): add up to nr_pages - list->nr pages; returns list->nr. */
unsigned long zpa_alloc_pages_bulk_list(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					int preferred_nid, const zpa_nodemask_t *nodemask,
					unsigned long nr_pages, struct zpa_page_list *list);
/* Take the first page off a list (ZPA_PFN_NONE when empty); it is then an ordinary order-0 page. */
zpa_pfn_t zpa_page_list_pop(struct zpa_machine *m, struct zpa_page_list *list);
/* free_unref_page_list(): free every page on the list (order 0); returns 0 or the first error. */
int zpa_free_page_list(struct zpa_machine *m, struct zpa_page_list *list);
/* Free n order-0 pages (release_pages()-like); returns 0 or the first error (others still freed). */
int zpa_free_pages_bulk(struct zpa_machine *m, const zpa_pfn_t *pfns, unsigned long n);

/*
 * Per-CPU page lists.  Order-0..3 and pageblock-order allocations go through
 * per-CPU lists refilled and drained in batches under the zone lock, as in
 * Linux 6.1.  A task with a CPU set (zpa_task_set_cpu) uses that CPU's lists;
 * a thread's default task uses lists of its own with the same batch/high rules
 * (see docs/DESIGN.md: the hosted fast path).
 * drain_local_pages(): return the calling task's lists (and its CPU's) to the buddy lists.
 * drain_all_pages(): the same for every CPU and thread.  Both: zone argument -1 = all zones.
 */
void zpa_drain_local_pages(struct zpa_machine *m, struct zpa_task *task);
void zpa_drain_all_pages(struct zpa_machine *m);

/* get_page(): take another reference on an allocated block (its head PFN). */
int zpa_get_page(struct zpa_machine *m, zpa_pfn_t pfn);

/* page_address(): the memory of pfn in BACKED mode, NULL when unbacked. */
void *zpa_page_address(const struct zpa_machine *m, zpa_pfn_t pfn);

/* What zpa knows of one page. */
struct zpa_page_info {
	int nid;
	int zone_type;         /* enum zpa_zone_type */
	int refcount;
	int order;             /* buddy order if free, allocation order if a head, else -1 */
	int pageblock_migratetype;
	bool buddy, reserved, head, tail, allocated;
	zpa_pfn_t head_pfn;    /* compound head for tails; pfn otherwise */
};
int zpa_page_info(const struct zpa_machine *m, zpa_pfn_t pfn, struct zpa_page_info *out);

/* compound_head()/compound_order() for any page of a __GFP_COMP block. */
zpa_pfn_t zpa_compound_head(const struct zpa_machine *m, zpa_pfn_t pfn);
int zpa_compound_order(const struct zpa_machine *m, zpa_pfn_t pfn);

/* ----- tunables (sysctl-like) ----- */

/*
 * Set a vm tunable by its /proc/sys/vm name: min_free_kbytes,
 * watermark_scale_factor, watermark_boost_factor, lowmem_reserve_ratio
 * ("256 256 32 0 0", one per zone type present), percpu_pagelist_high_fraction.
 * Values are range-checked as Linux's handlers do (ZPA_ERANGE/ZPA_EINVAL, state
 * unchanged), then watermarks, protection and totalreserve_pages are
 * recomputed.  Takes every zone lock.
 */
int zpa_sysctl_set(struct zpa_machine *m, const char *name, const char *value);
/* Read a tunable as /proc/sys/vm prints it; returns the length like snprintf or ZPA_ENOENT. */
int zpa_sysctl_get(const struct zpa_machine *m, const char *name, char *buf, size_t size);
/* Names of all tunables, NULL-terminated. */
const char *const *zpa_sysctl_names(void);

/* ----- introspection ----- */

/* Machine shape. */
unsigned zpa_nr_nodes(const struct zpa_machine *m);
unsigned zpa_nr_cpus(const struct zpa_machine *m);
unsigned zpa_max_order(const struct zpa_machine *m);

struct zpa_zone_info {
	int nid, zone_type;
	const char *name;
	zpa_pfn_t start_pfn;
	uint64_t spanned, present, managed;
	uint64_t free;             /* NR_FREE_PAGES (buddy lists; exact, all per-CPU deltas folded) */
	uint64_t pcp;              /* pages held on per-CPU/per-thread lists (not in free) */
	uint64_t min, low, high, boost;
	uint64_t protection[ZPA_NR_ZONE_TYPES]; /* lowmem_reserve, per zone index */
	unsigned nr_protection;    /* number of zone indexes this machine has */
	uint64_t nr_free[ZPA_MAX_ORDER_LIMIT]; /* free blocks per order */
};
/* Info for the zone of type zone_type on node nid; ZPA_ENOENT if it does not exist. */
int zpa_zone_info(struct zpa_machine *m, int nid, int zone_type, struct zpa_zone_info *out);

/* Page counters across the machine.  zpa_total_free() counts every page not
 * allocated to a caller: buddy lists plus per-CPU lists. */
uint64_t zpa_total_managed(const struct zpa_machine *m);
uint64_t zpa_total_free(struct zpa_machine *m);
uint64_t zpa_totalreserve_pages(const struct zpa_machine *m);

/*
 * Print a view in Linux 6.1's layout: "zoneinfo", "buddyinfo",
 * "pagetypeinfo", "vmstat" (/proc), "zonelists" (the boot log's "Fallback
 * order for Node N" lines, then each node's zonelists), "numastat"
 * (numastat(8)) and "node/N/numastat" (sysfs), "extfrag_index" and
 * "unusable_index" (debugfs).  Writes at most size bytes (NUL-terminated)
 * and returns the full length like snprintf; ZPA_ENOENT for an unknown view,
 * ZPA_EINVAL for NULL arguments (buf may be NULL when size is 0).  Takes the
 * pageset locks, then each zone lock in turn (a consistent view per zone).
 */
long zpa_show(struct zpa_machine *m, const char *view, char *buf, size_t size);

/* One /proc/vmstat counter by name; ZPA_ENOENT through *ok = false. */
uint64_t zpa_vmstat(struct zpa_machine *m, const char *name, bool *ok);

/*
 * Full audit: free lists <-> page flags <-> counters <-> pageblock bits, and
 * free + allocated = managed.  Returns 0 when consistent, else ZPA_ECORRUPT
 * after writing the first problems to report (may be NULL).  Takes every zone
 * lock; O(pages).
 */
int zpa_check(struct zpa_machine *m, char *report, size_t size);

#ifdef __cplusplus
}
#endif

/* Anti-fragmentation: contiguous ranges, isolation, CMA, memory hotplug. */
#include "zpa/contig.h"
/* Fragmentation metrics and events. */
#include "zpa/frag.h"
/* Fault injection (fail_page_alloc) and failure schedules. */
#include "zpa/fault.h"
/* Memory control groups: hierarchical charging and limits. */
#include "zpa/memcg.h"
/* Reclaim: page owners, LRU lists, shrinkers, swap, kswapd/kcompactd, compaction. */
#include "zpa/reclaim.h"
/* The OOM killer: host handler and the built-in killer. */
#include "zpa/oom.h"

#endif /* ZPA_H */
