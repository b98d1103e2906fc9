/*
 * internal.h - declarations shared between zpa's source files, grouped by the
 * file that defines them (Linux's mm/internal.h).  Names here are internal:
 * they have no zpa_ prefix unless they are also public, and the shared
 * library does not export them.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_INTERNAL_H
#define ZPA_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "types.h"

#define ZPA_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Assertion tiers: ZPA_DEBUG 0 (none), 1 (cheap internal checks), 2 (+ expensive walks). */
#ifndef ZPA_DEBUG
#define ZPA_DEBUG 0
#endif
#if ZPA_DEBUG >= 1
#define ZPA_ASSERT(m, cond) \
	do { if (unlikely(!(cond))) zpa_assert_fail(m, __func__, #cond); } while (0)
#else
#define ZPA_ASSERT(m, cond) do { (void)sizeof(cond); } while (0)
#endif
/* Lock contract of a function: "zone lock held". */
#define assert_zone_locked(m, z) ZPA_ASSERT(m, zpa_spin_is_locked(&(z)->lock))

/* ---- alloc_flags (mm/internal.h of Linux 6.1.192) ---- */
#define ALLOC_WMARK_MIN      WMARK_MIN
#define ALLOC_WMARK_LOW      WMARK_LOW
#define ALLOC_WMARK_HIGH     WMARK_HIGH
#define ALLOC_NO_WATERMARKS  0x04   /* don't check watermarks at all */
#define ALLOC_WMARK_MASK     (ALLOC_NO_WATERMARKS - 1)
#define ALLOC_OOM            0x08   /* OOM victim: half the remaining reserve */
#define ALLOC_NON_BLOCK      0x10   /* caller cannot block: a quarter more */
#define ALLOC_MIN_RESERVE    0x20   /* __GFP_HIGH: half of the min reserve */
#define ALLOC_CPUSET         0x40   /* check the cpuset */
#define ALLOC_CMA            0x80   /* may use CMA pageblocks */
#define ALLOC_NOFRAGMENT     0x100  /* avoid mixing pageblock types */
#define ALLOC_HIGHATOMIC     0x200  /* may use MIGRATE_HIGHATOMIC */
#define ALLOC_KSWAPD         0x800  /* may wake kswapd (== __GFP_KSWAPD_RECLAIM) */
#define ALLOC_RESERVES       (ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM)


/* ---- error.c: reports, strerror ---- */
ZPA_HIDDEN void zpa_log(const struct zpa_machine *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* WARN(): log with the call site, count zpa_warn; once per site when once != 0. */
ZPA_HIDDEN void zpa_warn(struct zpa_machine *m, const char *func, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* bad_page(): report a page whose state forbids the operation; counts zpa_bad_page. */
ZPA_HIDDEN void bad_page(struct zpa_machine *m, unsigned long pfn, const struct zpa_page *page,
			 const char *reason);
ZPA_HIDDEN void zpa_assert_fail(const struct zpa_machine *m, const char *func, const char *cond);

/* ---- gfp.c: GFP decoding ---- */
/*
 * gfp_zone_type(): the zone type Linux's GFP_ZONE_TABLE gives for the zone
 * modifiers of gfp (ZPA_ZONE_NORMAL, _DMA, _DMA32, _HIGHMEM or _MOVABLE,
 * before mapping absent zones), or -1 for a combination GFP_ZONE_BAD marks.
 */
ZPA_HIDDEN int gfp_zone_type(zpa_gfp_t gfp);
/* gfp_zone(): highest zone index the request may use on machine m, or -1 if bad. */
static inline int gfp_zone(const struct zpa_machine *m, zpa_gfp_t gfp)
{
	int t = gfp_zone_type(gfp);
	return t < 0 ? -1 : m->gfp_zone_idx[t];
}
/* gfp_migratetype(): MIGRATE_UNMOVABLE/MOVABLE/RECLAIMABLE from the mobility bits. */
static inline int gfp_migratetype(const struct zpa_machine *m, zpa_gfp_t gfp)
{
	if (unlikely(m->t.page_group_by_mobility_disabled))
		return ZPA_MIGRATE_UNMOVABLE;
	return (int)((gfp & (ZPA___GFP_RECLAIMABLE | ZPA___GFP_MOVABLE)) >> 3);
}
/* gfp_to_alloc_flags(): the slow path's alloc_flags (Linux 6.1.192). */
ZPA_HIDDEN unsigned gfp_to_alloc_flags(zpa_gfp_t gfp, unsigned order);
/*
 * gfp_check(): 0 if Linux accepts the request silently, 1 if it would WARN
 * but go on, -1 if it must fail (GFP_ZONE_BAD combination, unknown bits,
 * order >= max_order).  *why gets a static reason (NULL for 0).
 */
ZPA_HIDDEN int gfp_check(zpa_gfp_t gfp, unsigned order, unsigned max_order, const char **why);
/* current_gfp_context(): apply the task's NOIO/NOFS scopes. */
ZPA_HIDDEN zpa_gfp_t current_gfp_context(const struct zpa_task *task, zpa_gfp_t gfp);

/* ---- mm_init.c: machine layout ---- */
/* Node and page of pfn, or NULL if the pfn lies outside every node's span. */
static inline pg_data_t *pfn_to_pgdat(const struct zpa_machine *m, unsigned long pfn)
{
	for (unsigned i = 0; i < m->nr_nodes; i++) {
		pg_data_t *pgdat = m->nodes[i];
		if (pgdat && pfn - pgdat->node_start_pfn < pgdat->node_spanned_pages)
			return pgdat;
	}
	return NULL;
}
static inline struct zpa_page *pfn_to_page_nid(pg_data_t *pgdat, unsigned long pfn)
{
	return &pgdat->node_mem_map[pfn - pgdat->node_start_pfn];
}
static inline struct zone *page_zone(pg_data_t *pgdat, const struct zpa_page *page)
{
	return &pgdat->node_zones[page_zidx(page)];
}
static inline bool zone_spans_pfn(const struct zone *z, unsigned long pfn)
{
	return pfn - z->zone_start_pfn < z->spanned_pages;
}
static inline bool populated_zone(const struct zone *z) { return z->present_pages != 0; }
static inline bool managed_zone(const struct zone *z) { return z->managed_pages != 0; }
static inline bool is_highmem_idx(const struct zpa_machine *m, int idx)
{
	return m->zone_type_of[idx] == ZPA_ZONE_HIGHMEM;
}
ZPA_HIDDEN void build_all_zonelists(struct zpa_machine *m);

/* ---- zone.c: watermarks, protection, tunables ---- */
ZPA_HIDDEN void init_per_zone_wmark_min(struct zpa_machine *m);  /* boot: default min_free_kbytes */
ZPA_HIDDEN void setup_per_zone_wmarks(struct zpa_machine *m);
ZPA_HIDDEN void setup_per_zone_lowmem_reserve(struct zpa_machine *m);
ZPA_HIDDEN void calculate_totalreserve_pages(struct zpa_machine *m);
ZPA_HIDDEN unsigned long nr_free_buffer_pages(const struct zpa_machine *m);
static inline unsigned long wmark_pages(const struct zone *z, int i)
{
	return READ_ONCE(z->_watermark[i]) + READ_ONCE(z->watermark_boost);
}
static inline unsigned long min_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_MIN); }
static inline unsigned long low_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_LOW); }
static inline unsigned long high_wmark_pages(const struct zone *z) { return wmark_pages(z, WMARK_HIGH); }

/* ---- buddy.c: free lists and the buddy algorithm (zone lock held) ---- */
/*
 * The migratetype of pfn's pageblock (read without the lock).  zpa keeps one
 * byte per pageblock where Linux packs 4 bits: 1 byte per 2 MiB of memory,
 * and the free fast path saves the nibble arithmetic.
 */
static inline int get_pageblock_migratetype(const struct zone *z, unsigned long pfn)
{
	return READ_ONCE(z->pageblock_flags[(pfn >> z->pageblock_shift) - z->pb_base]);
}
ZPA_HIDDEN void set_pageblock_migratetype(struct zone *z, unsigned long pfn, int mt);
ZPA_HIDDEN void add_to_free_list(struct zone *z, struct zpa_page *page, unsigned order, int mt, bool tail);
ZPA_HIDDEN void del_page_from_free_list(struct zone *z, struct zpa_page *page, unsigned order);
ZPA_HIDDEN struct zpa_page *__rmqueue_smallest(struct zone *z, unsigned order, int mt);
ZPA_HIDDEN struct zpa_page *__rmqueue(struct zpa_machine *m, struct zone *z, unsigned order, int mt,
				      unsigned alloc_flags);
ZPA_HIDDEN int __rmqueue_smallest_bulk(struct zone *z, unsigned order, int mt, int count, struct zpa_page **out);
/* move_freepages_block(): every free block of pfn's pageblock to type mt; returns pages moved. */
ZPA_HIDDEN int move_freepages_block(struct zone *z, unsigned long pfn, unsigned long pageblock_nr_pages, int mt,
				    int *num_movable);
ZPA_HIDDEN bool boost_watermark(struct zpa_machine *m, struct zone *z);
ZPA_HIDDEN void reserve_highatomic_pageblock(struct zpa_machine *m, struct zone *z, unsigned long pfn);
ZPA_HIDDEN bool unreserve_highatomic_pageblock(struct zpa_machine *m, const struct alloc_context *ac, bool force);
ZPA_HIDDEN void __free_one_page(struct zpa_machine *m, struct zone *z, unsigned long pfn,
				unsigned order, int mt, bool to_tail);
static inline uint32_t page_index(const struct zone *z, const struct zpa_page *p)
{
	return (uint32_t)(p - z->mem_map);
}
static inline unsigned long page_to_pfn(const struct zone *z, const struct zpa_page *p)
{
	return z->node_start_pfn + (unsigned long)(p - z->mem_map);
}
/*
 * __mod_zone_page_state(): zone lock held.  Like Linux, a change first goes to
 * the lock holder's per-CPU diff and reaches zone->vm_stat only when the diff
 * passes the stat threshold (z->cur_stat_diff is set by whoever took the lock
 * on behalf of a pageset; NULL means fold directly).
 */
static inline void __mod_zone_page_state(struct zone *z, enum zone_stat_item i, long delta)
{
	int *diff = z->cur_stat_diff;
	if (!diff) {
		WRITE_ONCE(z->vm_stat[i], z->vm_stat[i] + delta);
		return;
	}
	long x = diff[i] + delta;
	if (unlikely(x > z->cur_stat_threshold || x < -z->cur_stat_threshold)) {
		WRITE_ONCE(z->vm_stat[i], z->vm_stat[i] + x);
		x = 0;
	}
	WRITE_ONCE(diff[i], (int)x);
}
/* zone_page_state(): the folded value, possibly behind by the unfolded diffs (as Linux). */
static inline unsigned long zone_page_state(const struct zone *z, enum zone_stat_item i)
{
	long v = READ_ONCE(z->vm_stat[i]);
	return v < 0 ? 0 : (unsigned long)v;
}

/* ---- pcp.c: per-CPU (and per-thread) page lists ---- */
struct zone_stats {
	unsigned long stat[NR_VM_ZONE_STAT_ITEMS]; /* exact: folded + every pageset's diff */
	unsigned long numa[NR_VM_NUMA_EVENT_ITEMS];
	unsigned long pgalloc;
	unsigned long pcp_pages;                   /* pages on pcp lists of this zone */
	int cpu_count[ZPA_MAX_CPUS];               /* pcp->count of each CPU pageset */
};
ZPA_HIDDEN int pcp_init(struct zpa_machine *m);
ZPA_HIDDEN void pcp_destroy(struct zpa_machine *m);
ZPA_HIDDEN void zone_pcp_update_all(struct zpa_machine *m);
ZPA_HIDDEN struct pageset *task_pageset(struct zpa_machine *m, const struct zpa_task *t);
ZPA_HIDDEN struct zpa_page *rmqueue_pcplist(struct zpa_machine *m, struct pageset *ps, struct zone *preferred,
					    struct zone *z, unsigned order, int mt, unsigned alloc_flags);
ZPA_HIDDEN void pcp_zone_statistics(struct pageset *ps, struct zone *preferred, struct zone *z, long nr);
ZPA_HIDDEN void zone_count_alloc(struct zpa_machine *m, struct pageset *ps, struct zone *preferred,
				 struct zone *z, unsigned order);
ZPA_HIDDEN void free_unref_page(struct zpa_machine *m, struct pageset *ps, struct zone *z, struct zpa_page *page,
				unsigned long pfn, unsigned order, int mt);
ZPA_HIDDEN void zone_stats_snapshot(struct zpa_machine *m, struct zone *z, struct zone_stats *out);
ZPA_HIDDEN unsigned long machine_pgfree(struct zpa_machine *m);
/* Lock every pageset (CPU and thread) for an audit; pageset -> zone lock order. */
ZPA_HIDDEN void pagesets_lock_all(struct zpa_machine *m);
ZPA_HIDDEN void pagesets_unlock_all(struct zpa_machine *m);

/* ---- page_alloc.c: allocation and free ---- */
/* The machine CPU the task runs on, and its node (numa_node_id()). */
static inline int task_cpu(const struct zpa_machine *m, const struct zpa_task *t)
{
	int cpu = t->cpu >= 0 ? t->cpu : zpa_port_cpu_id();
	return m->cfg.nr_cpus ? cpu % (int)m->cfg.nr_cpus : 0;
}
static inline int task_node(const struct zpa_machine *m, const struct zpa_task *t)
{
	return m->cfg.nr_cpus ? m->cfg.cpu_node[task_cpu(m, t)] : 0;
}
static inline bool zpa_node_isset(const zpa_nodemask_t *mask, int nid)
{
	return !mask || (mask->bits[nid >> 6] >> (nid & 63)) & 1;
}
ZPA_HIDDEN bool prepare_alloc_context(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
				      int preferred_nid, const zpa_nodemask_t *nodemask, struct alloc_context *ac);
ZPA_HIDDEN bool zone_watermark_fast(const struct zpa_machine *m, struct zone *z, unsigned order,
				    unsigned long mark, int highest_zoneidx, unsigned alloc_flags, zpa_gfp_t gfp);
ZPA_HIDDEN void prep_new_page(struct zpa_machine *m, struct zone *z, struct zpa_page *page, unsigned order,
			      zpa_gfp_t gfp, int migratetype);
ZPA_HIDDEN void page_list_push(struct zpa_machine *m, struct zpa_page_list *list, zpa_pfn_t pfn);
ZPA_HIDDEN bool zone_watermark_ok(const struct zpa_machine *m, struct zone *z, unsigned order,
				  unsigned long mark, int highest_zoneidx, unsigned alloc_flags);
ZPA_HIDDEN bool __zone_watermark_ok(const struct zpa_machine *m, struct zone *z, unsigned order,
				    unsigned long mark, int highest_zoneidx, unsigned alloc_flags,
				    long free_pages);
ZPA_HIDDEN void count_vm_event(struct zpa_machine *m, enum vm_event_item item, unsigned long n);

/* ---- mempolicy.c: memory policies and cpusets (with their page_alloc.c side) ---- */
/* Every node: a new task's mems_allowed (Linux's init task: nodes_setall). */
#define NODE_MASK_ALL { .bits = { [0 ... (ZPA_MAX_NODES + 63) / 64 - 1] = ~0ull } }
/* Mode flags a caller may pass (Linux's MPOL_MODE_FLAGS), and internal ones. */
#define MPOL_MODE_FLAGS (ZPA_MPOL_F_STATIC_NODES | ZPA_MPOL_F_RELATIVE_NODES | ZPA_MPOL_F_NUMA_BALANCING)
#define MPOL_F_MOF   (1 << 3)  /* migrate on fault (set with NUMA_BALANCING; no effect here) */
#define MPOL_F_MORON (1 << 4)  /* migrate on protnone reference (likewise) */

static inline bool nodes_intersects(const zpa_nodemask_t *a, const zpa_nodemask_t *b)
{
	for (unsigned i = 0; i < sizeof a->bits / sizeof a->bits[0]; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

/* "%*pbl" of a node mask over the machine's nodes ("0-1,3"); NULL: every node. */
ZPA_HIDDEN void nodelist_format(const struct zpa_machine *m, const zpa_nodemask_t *mask, char *buf, size_t size);

/*
 * alloc_pages(): a policy-driven allocation for task (Linux's alloc_pages()
 * when pol is NULL: the task's policy unless __GFP_THISNODE; with pol, the
 * decisions vma_alloc_folio() makes for a VMA carrying pol).
 */
ZPA_HIDDEN zpa_pfn_t alloc_pages_policy(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					unsigned order, const struct zpa_mempolicy *pol);

/*
 * cpusets (include/linux/cpuset.h, kernel/cgroup/cpuset.c).  t->cpuset_active
 * plays cpusets_enabled(): the allocator looks at mems_allowed only when it
 * lacks a node with memory.  Nodes are < ZPA_MAX_NODES.
 */
/* __cpuset_node_allowed(): in mems_allowed, or (no __GFP_HARDWALL) in the softwall ancestor's nodes. */
static inline bool __cpuset_node_allowed(const struct zpa_task *t, int nid, zpa_gfp_t gfp)
{
	if (zpa_nodemask_test(&t->mems_allowed, nid))
		return true;
	if (gfp & ZPA___GFP_HARDWALL)
		return false;
	return zpa_nodemask_test(&t->mems_softwall, nid);
}
/* cpuset_nodemask_valid_mems_allowed(): does nodes meet mems_allowed? */
static inline bool cpuset_nodemask_valid_mems_allowed(const struct zpa_task *t, const zpa_nodemask_t *nodes)
{
	return nodes_intersects(nodes, &t->mems_allowed);
}
/* read_mems_allowed_begin(): a cookie (waits out a change in progress). */
static inline unsigned read_mems_allowed_begin(struct zpa_task *t)
{
	unsigned seq;
	while ((seq = atomic_load_explicit(&t->mems_allowed_seq, memory_order_acquire)) & 1)
		zpa_port_cpu_relax();
	return seq;
}
/*
 * read_mems_allowed_retry(): did mems_allowed change since the cookie was
 * taken?  (An RMW of +0, so that the reads before it stay before it; no
 * fence, which ThreadSanitizer cannot follow.  Slow path only.)
 */
static inline bool read_mems_allowed_retry(struct zpa_task *t, unsigned seq)
{
	return atomic_fetch_add_explicit(&t->mems_allowed_seq, 0, memory_order_acq_rel) != seq;
}

/* Defined in page_alloc.c for mempolicy.c: */
/*
 * __alloc_pages(): zpa__alloc_pages() (task already resolved) that also tells
 * which zone served the request (*zone_out, may be NULL; untouched on failure).
 */
ZPA_HIDDEN zpa_pfn_t __alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, unsigned order,
				   int preferred_nid, const zpa_nodemask_t *nodemask, struct zone **zone_out);
/*
 * prepare_alloc_pages(): fill ac for a request and apply the task's cpuset:
 * *alloc_gfp gains __GFP_HARDWALL, and ac->nodemask becomes mems_allowed
 * when the caller gave none, else *alloc_flags gains ALLOC_CPUSET.
 * *alloc_flags also gains ALLOC_CMA for movable requests.
 */
ZPA_HIDDEN bool prepare_alloc_pages(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp, int preferred_nid,
				    const zpa_nodemask_t *nodemask, struct alloc_context *ac, zpa_gfp_t *alloc_gfp,
				    unsigned *alloc_flags);

/*
 * Test hook: fn(m, task, site, arg) runs at these points of every allocation
 * that gets there (fn NULL: none).  Tests use it to change a task's cpuset
 * "mid-allocation" deterministically.  Not thread-safe to change while the
 * machine allocates.
 */
enum alloc_test_site {
	ALLOC_HOOK_BEFORE_SLOWPATH, /* the fast path failed; the slow path is next */
	ALLOC_HOOK_NOPAGE,          /* the slow path is about to give up (before its cpuset retry check) */
};
typedef void (*zpa_alloc_test_hook_fn)(struct zpa_machine *m, struct zpa_task *task, int site, void *arg);
ZPA_HIDDEN void zpa_set_alloc_test_hook(struct zpa_machine *m, zpa_alloc_test_hook_fn fn, void *arg);

/* ---- fail_page_alloc.c: fault injection (zpa/fault.h) ---- */
/*
 * should_fail_alloc_page(): should fault injection fail this request?  Asked
 * once per __alloc_pages() right after prepare_alloc_pages(), with the gfp
 * the request runs under (after gfp_allowed_mask and the task's scope).  One
 * relaxed load while injection is off; no lock held.
 */
ZPA_HIDDEN bool __should_fail_alloc_page(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					 const struct alloc_context *ac);
static inline bool should_fail_alloc_page(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
					  const struct alloc_context *ac)
{
	if (likely(!atomic_load_explicit(&m->fail_page_alloc_on, memory_order_relaxed)))
		return false;
	return __should_fail_alloc_page(m, gfp, order, ac);
}
/*
 * Injection is on: the hosted fast path must not cache a GFP decoding (it
 * would serve requests without asking).  Read after loading fast_gen: turning
 * injection on sets the flag, then bumps fast_gen.
 */
static inline bool fail_page_alloc_active(struct zpa_machine *m)
{
	return atomic_load_explicit(&m->fail_page_alloc_on, memory_order_acquire);
}
/* Free the injection state (machine teardown). */
ZPA_HIDDEN void fail_page_alloc_destroy(struct zpa_machine *m);

/* ---- memcontrol.c: memory control groups (zpa/memcg.h) ---- */
/* memcg_kmem_enabled(): the machine has groups (Linux's static key). */
static inline bool memcg_kmem_enabled(struct zpa_machine *m)
{
	return atomic_load_explicit(&m->memcg_kmem_on, memory_order_acquire);
}
/* __memcg_kmem_uncharge_page(): the block at pfn (page has PG_memcg) is being freed. */
ZPA_HIDDEN void __memcg_kmem_uncharge_page(struct zpa_machine *m, struct zpa_page *page, unsigned long pfn);
/* A task goes away: it leaves its group. */
ZPA_HIDDEN void memcg_task_exit(struct zpa_task *task);
/* Free every group and the side table (machine teardown). */
ZPA_HIDDEN void memcg_destroy_all(struct zpa_machine *m);
/* g is root or below it. */
ZPA_HIDDEN bool mem_cgroup_is_descendant(const struct zpa_memcg *g, const struct zpa_memcg *root);
/* The block at pfn (first page page) is charged to root or a descendant (memcg reclaim's filter). */
ZPA_HIDDEN bool page_memcg_in_subtree(struct zpa_machine *m, struct zpa_page *page, unsigned long pfn,
				      const struct zpa_memcg *root);
/* Migration: the charge of old moves to new (PG_memcg with it).  No zone lock needed. */
ZPA_HIDDEN void mem_cgroup_migrate(struct zpa_machine *m, struct zpa_page *old, unsigned long old_pfn,
				   struct zpa_page *new, unsigned long new_pfn);
/*
 * Linux's __memcg_kmem_charge_page(): charge the block just allocated at pfn
 * (first page page, owned by the caller) to g with the limit rules of
 * zpa/memcg.h, for the allocating task (NULL: the calling thread's): its
 * PF_MEMALLOC forces the charge, an OOM victim gets no second kill, and a
 * memcg OOM reports it as the one who invoked the killer.  0, or
 * ZPA_ENOMEM: the caller frees the block and fails the allocation.
 */
ZPA_HIDDEN int memcg_kmem_charge_page_task(struct zpa_machine *m, struct zpa_task *task, struct zpa_memcg *g,
					   struct zpa_page *page, unsigned long pfn, unsigned order, zpa_gfp_t gfp);
/* memory.events items (Linux's enum memcg_memory_event, in its order). */
enum memcg_memory_event { MEMCG_LOW, MEMCG_HIGH, MEMCG_MAX, MEMCG_OOM, MEMCG_OOM_KILL, MEMCG_NR_MEMORY_EVENTS };
/* memcg_memory_event(): count ev on g (memory.events.local) and on g and its ancestors (memory.events). */
ZPA_HIDDEN void memcg_memory_event(struct zpa_memcg *g, enum memcg_memory_event ev);
/*
 * memcg_count_reclaim(): reclaim scanned and reclaimed (stole) pages charged
 * to g (or below it); added to g's and its ancestors' pgscan/pgsteal
 * (memory.stat).  vmscan.c calls it; g NULL does nothing.
 */
ZPA_HIDDEN void memcg_count_reclaim(struct zpa_machine *m, struct zpa_memcg *g, unsigned long scanned,
				    unsigned long stolen);
/*
 * mem_cgroup_protection(): g's effective memory.low when reclaim works on
 * root's subtree (root NULL: global reclaim), as Linux 6.1's
 * mem_cgroup_calculate_protection() distributes it (no recursive_prot):
 * 0 for root itself; a child of root gets its low; deeper groups get
 * min(usage, low), scaled down when the siblings claim more than the
 * parent's own effective low.  mem_cgroup_below_low(): that protection
 * covers g's usage (reclaim should skip g's pages, or count a MEMCG_LOW
 * event on g when it reclaims them anyway).
 */
ZPA_HIDDEN uint64_t mem_cgroup_protection(struct zpa_memcg *root, struct zpa_memcg *g);
ZPA_HIDDEN bool mem_cgroup_below_low(struct zpa_memcg *root, struct zpa_memcg *g);
/* Free pages under g's max (0 at or over it), Linux's mem_cgroup_margin(). */
ZPA_HIDDEN uint64_t mem_cgroup_margin(struct zpa_memcg *g);
/* mem_cgroup_get_max(): g's max plus the machine's swap (saturating), in pages. */
ZPA_HIDDEN uint64_t mem_cgroup_get_max(struct zpa_machine *m, struct zpa_memcg *g);
/* task's group (read under the memcg lock) is root or below it; false for no group. */
ZPA_HIDDEN bool mem_cgroup_task_in_subtree(struct zpa_machine *m, const struct zpa_task *task,
					   const struct zpa_memcg *root);
/* memcg_memory_event() on task's group, if it has one on machine m. */
ZPA_HIDDEN void memcg_task_memory_event(struct zpa_machine *m, const struct zpa_task *task,
					enum memcg_memory_event ev);
/* The cgroup path of g ("/a/b"; "/" for NULL, the root), or of task's group (NULL task: "/"). */
ZPA_HIDDEN void mem_cgroup_path(const struct zpa_memcg *g, char *buf, size_t size);
ZPA_HIDDEN void mem_cgroup_task_path(struct zpa_machine *m, const struct zpa_task *task, char *buf, size_t size);
/* mem_cgroup_print_oom_meminfo(): g's usage, limit and statistics to the log (ZPA_LOG_INFO). */
ZPA_HIDDEN void mem_cgroup_print_oom_meminfo(struct zpa_machine *m, struct zpa_memcg *g);

/* ---- machine_file.c: text helpers shared with snapshot.c ---- */
/* A size: decimal or 0x hex with an optional K/M/G/T suffix; 0 or ZPA_EPARSE. */
ZPA_HIDDEN int zpa_parse_size(const char *s, const char **endp, uint64_t *out);
/* A CPU list as sysfs prints it ("0-3,5"): sets bits; 0 or ZPA_EPARSE. */
ZPA_HIDDEN int zpa_parse_cpulist(const char *s, uint64_t *bits, unsigned nbits);

/* ---- shuffle.c: free-list randomisation (page_alloc.shuffle) ---- */
ZPA_HIDDEN void shuffle_free_memory(struct zpa_machine *m);
ZPA_HIDDEN bool shuffle_pick_tail(struct zpa_machine *m);

/* ---- swap.c: LRU lists, page owners, swap space (zpa/reclaim.h) ---- */
/*
 * Locking: the node's lruvec.lru_lock protects its lists, counts and the
 * PG_LRU_BITS of its pages; it may be taken under a zone lock, and no zone
 * lock may be taken while it is held.  PG_LRU_BITS change with atomic RMWs.
 */
#define MAX_RECLAIM_RETRIES 16
#define SWAP_CLUSTER_MAX 32ul
#define DEF_PRIORITY 12
static inline struct lruvec *node_lruvec(pg_data_t *pgdat) { return &pgdat->lruvec; }
/* The list a page with these flags belongs on. */
static inline int page_lru_of(uint32_t flags)
{
	return (flags & PG_swapbacked ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE) + !!(flags & PG_active);
}
static inline bool is_file_lru(int lru) { return lru == LRU_INACTIVE_FILE || lru == LRU_ACTIVE_FILE; }
static inline bool is_active_lru(int lru) { return lru == LRU_ACTIVE_ANON || lru == LRU_ACTIVE_FILE; }
static inline int page_owner_id(const struct zpa_page *p) { return (int)((READ_ONCE(p->flags) & PG_OWNER_MASK) >> PG_OWNER_SHIFT); }
static inline void page_flags_set(struct zpa_page *p, uint32_t bits) { __atomic_fetch_or(&p->flags, bits, __ATOMIC_RELAXED); }
static inline void page_flags_clear(struct zpa_page *p, uint32_t bits) { __atomic_fetch_and(&p->flags, ~bits, __ATOMIC_RELAXED); }
static inline void mod_node_state(pg_data_t *pgdat, enum node_stat_item i, long delta)
{
	atomic_fetch_add_explicit(&pgdat->node_stat[i], delta, memory_order_relaxed);
}
static inline long node_page_state(pg_data_t *pgdat, enum node_stat_item i)
{
	long v = atomic_load_explicit(&pgdat->node_stat[i], memory_order_relaxed);
	return v < 0 ? 0 : v;
}
/* get_page_unless_zero(): a reference on a block whose count is not 0 (atomic). */
static inline bool page_ref_get_unless_zero(struct zpa_page *p)
{
	int v = __atomic_load_n(&p->refcount, __ATOMIC_RELAXED);
	while (v > 0)
		if (__atomic_compare_exchange_n(&p->refcount, &v, v + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return true;
	return false;
}
/* Block list operations on an LRU list (lru_lock held): add at head (or tail), delete. */
ZPA_HIDDEN void lru_list_add(pg_data_t *pgdat, struct zpa_page *page, int lru, bool tail);
ZPA_HIDDEN void lru_list_del(pg_data_t *pgdat, struct zpa_page *page, int lru);
/*
 * __isolate_lru_page(): lru_lock held.  Take the page at the given list
 * position off its list with a reference of the caller's (PG_onlru ->
 * PG_isolated; NR_ISOLATED_* counts it).  False when its last reference is
 * going (being freed): the page stays where it is.
 */
ZPA_HIDDEN bool __isolate_lru_page(pg_data_t *pgdat, struct zpa_page *page);
/* isolate_lru_page() for compaction/migration: takes the lock; false if not on an LRU or being freed. */
ZPA_HIDDEN bool isolate_lru_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page);
/*
 * putback_lru_page(): an isolated page back on the list its flags name (no
 * lock held), then drop the isolating reference (which may free the page,
 * if its owner freed it meanwhile).
 */
ZPA_HIDDEN void putback_lru_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page);
/* Drop one reference to the block whose first page is page (free it if last).  No lock held. */
ZPA_HIDDEN void put_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page);
/* The free path's part: a page whose last reference went is taken off its LRU.  Zone lock held. */
ZPA_HIDDEN void lru_release_page(struct zpa_machine *m, pg_data_t *pgdat, struct zpa_page *page);
/* The owner ops of id (1..7) or NULL. */
static inline const struct zpa_page_owner_ops *page_owner_ops(const struct zpa_machine *m, int id)
{
	return id > 0 && id <= ZPA_MAX_PAGE_OWNERS ? m->owner_ops[id] : NULL;
}
static inline long nr_swap_pages(const struct zpa_machine *m)
{
	return atomic_load_explicit(&m->nr_swap_pages, memory_order_relaxed);
}
/* Node and page of a managed pfn, or false. */
ZPA_HIDDEN bool pfn_to_node_page(const struct zpa_machine *m, zpa_pfn_t pfn, pg_data_t **pgdat, struct zpa_page **page);

/* ---- vmscan.c: LRU reclaim and shrinkers (zpa/reclaim.h) ---- */
/*
 * struct scan_control: one reclaim pass (Linux's, in the parts zpa models).
 * Filled by the caller (direct reclaim, kswapd, memcg reclaim), read and
 * updated by shrink_node() and what it calls.
 */
struct scan_control {
	unsigned long nr_to_reclaim;     /* stop once this many pages are reclaimed */
	const zpa_nodemask_t *nodemask;  /* nodes direct reclaim may scan; NULL: all */
	struct zpa_memcg *target_mem_cgroup; /* memcg reclaim: only pages charged under it */
	zpa_gfp_t gfp_mask;
	int order;                       /* the allocation's order */
	int priority;                    /* scan lists >> priority */
	int reclaim_idx;                 /* highest zone index whose pages may be reclaimed */
	bool kswapd;                     /* current_is_kswapd() */
	bool may_writepage, may_unmap, may_swap;
	bool may_deactivate_anon, may_deactivate_file, force_deactivate, skipped_deactivate;
	bool cache_trim_mode, file_is_tiny;
	bool memcg_low_reclaim, memcg_low_skipped;
	unsigned long anon_cost, file_cost; /* the node's costs when the pass began */
	bool compaction_ready;           /* costly order: a zone can compact already, reclaim stopped */
	unsigned long nr_scanned;        /* pages scanned (inactive lists) */
	unsigned long nr_reclaimed;      /* pages reclaimed (LRU and shrinkers) */
	struct {                         /* shrink_folio_list() findings, for throttling decisions */
		unsigned long dirty, unqueued_dirty, congested, writeback, immediate, file_taken, taken;
	} nr;
	struct zpa_task *task;           /* the reclaiming context (its PF_MEMALLOC is set) */
};
/*
 * pgdat->flags (Linux's enum pgdat_flags, as bits).  vmscan.c sets them from
 * what kswapd's shrink_node() passes find; kswapd.c clears them when the node
 * is balanced again (clear_pgdat_congested()).  Atomic bit operations.
 */
#define PGDAT_DIRTY      0x1ul  /* the inactive file tail was all dirty, unqueued: kswapd may write pages */
#define PGDAT_WRITEBACK  0x2ul  /* every page kswapd isolated was under writeback */
#define PGDAT_CONGESTED  0x4ul  /* every dirty page kswapd met was under writeback (6.1's LRUVEC_CONGESTED) */
static inline void set_pgdat_flag(pg_data_t *pgdat, unsigned long bit)
{
	__atomic_fetch_or(&pgdat->flags, bit, __ATOMIC_RELAXED);
}
static inline void clear_pgdat_flag(pg_data_t *pgdat, unsigned long bit)
{
	__atomic_fetch_and(&pgdat->flags, ~bit, __ATOMIC_RELAXED);
}
static inline bool test_pgdat_flag(pg_data_t *pgdat, unsigned long bit)
{
	return __atomic_load_n(&pgdat->flags, __ATOMIC_RELAXED) & bit;
}
ZPA_HIDDEN int vmscan_init(struct zpa_machine *m);      /* machine creation: shrinker registry */
ZPA_HIDDEN void vmscan_destroy(struct zpa_machine *m);
/* shrink_node(): one pass over the node's LRU lists and shrinkers at sc->priority.  No lock held. */
ZPA_HIDDEN void shrink_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc);
/* shrink_slab(): the shrinkers for node nid at priority; returns pages they freed. */
ZPA_HIDDEN unsigned long shrink_slab(struct zpa_machine *m, zpa_gfp_t gfp, int nid, struct zpa_memcg *memcg,
				     int priority);
/*
 * try_to_free_pages(): direct reclaim for a request (Linux's
 * do_try_to_free_pages with sc.nr_to_reclaim = SWAP_CLUSTER_MAX): the
 * priority loop over the zonelist's nodes; counts allocstall_<zone of
 * highest_zoneidx>, pgscan_direct, pgsteal_direct.  Returns pages
 * reclaimed.  The caller (page_alloc.c) has set PF_MEMALLOC on ac->task.
 */
ZPA_HIDDEN unsigned long try_to_free_pages(struct zpa_machine *m, const struct alloc_context *ac, unsigned order,
					   zpa_gfp_t gfp);
/* try_to_free_mem_cgroup_pages(): reclaim pages charged to g or its descendants; returns pages freed. */
ZPA_HIDDEN unsigned long try_to_free_mem_cgroup_pages(struct zpa_machine *m, struct zpa_memcg *g,
						      unsigned long nr_pages, zpa_gfp_t gfp, bool may_swap);
/*
 * zone_reclaimable_pages(): file LRU pages, plus anon ones while swap space
 * is left; a zone with neither counts its free pages (6.1.192).
 */
ZPA_HIDDEN unsigned long zone_reclaimable_pages(struct zpa_machine *m, struct zone *z);
/*
 * kswapd_age_node(): balance_pgdat()'s aging of the anonymous lists: while
 * swap exists and the inactive anon list is low, deactivate a batch
 * (SWAP_CLUSTER_MAX) of active anon pages.  No lock held.
 */
ZPA_HIDDEN void kswapd_age_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc);

/* ---- kswapd.c: kswapd per node, daemon modes, the machine clock ---- */
ZPA_HIDDEN int kswapd_init(struct zpa_machine *m);      /* machine creation */
ZPA_HIDDEN void kswapd_destroy(struct zpa_machine *m);  /* teardown: stops threads first */
/*
 * wakeup_kswapd(): zone z's node needs background reclaim for a request of
 * order up to highest_zoneidx (from rmqueue() after a boost, and from
 * wake_all_kswapds() in the slow path).  In INLINE mode kswapd's work runs
 * before this returns.  No lock held.
 */
ZPA_HIDDEN void wakeup_kswapd(struct zpa_machine *m, struct zone *z, zpa_gfp_t gfp, unsigned order,
			      int highest_zoneidx);
/* pgdat_balanced(): some eligible zone meets its high watermark for order. */
ZPA_HIDDEN bool pgdat_balanced(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx);
/* The machine clock in ms (simulated in MANUAL mode, monotonic otherwise). */
ZPA_HIDDEN uint64_t machine_now_ms(const struct zpa_machine *m);

/* ---- compaction.c + migrate.c: compaction, kcompactd, migration ---- */
enum compact_priority {
	COMPACT_PRIO_SYNC_FULL,
	MIN_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_FULL,
	COMPACT_PRIO_SYNC_LIGHT,
	MIN_COMPACT_COSTLY_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
	DEF_COMPACT_PRIORITY = COMPACT_PRIO_SYNC_LIGHT,
	COMPACT_PRIO_ASYNC,
	INIT_COMPACT_PRIORITY = COMPACT_PRIO_ASYNC
};
/* Linux 6.1's enum compact_result, in its order. */
enum compact_result {
	COMPACT_NOT_SUITABLE_ZONE,
	COMPACT_SKIPPED,
	COMPACT_DEFERRED,
	COMPACT_NO_SUITABLE_PAGE,
	COMPACT_CONTINUE,
	COMPACT_COMPLETE,
	COMPACT_PARTIAL_SKIPPED,
	COMPACT_CONTENDED,
	COMPACT_SUCCESS,
};
#define MAX_COMPACT_RETRIES 16
static inline bool compaction_made_progress(enum compact_result r) { return r == COMPACT_SUCCESS; }
static inline bool compaction_failed(enum compact_result r) { return r == COMPACT_COMPLETE; }
static inline bool compaction_withdrawn(enum compact_result r)
{
	return r == COMPACT_SKIPPED || r == COMPACT_DEFERRED || r == COMPACT_CONTENDED ||
	       r == COMPACT_PARTIAL_SKIPPED;
}
ZPA_HIDDEN int compaction_init(struct zpa_machine *m);      /* machine creation (after zones exist) */
ZPA_HIDDEN void compaction_destroy(struct zpa_machine *m);  /* teardown: stops threads first */
/*
 * try_to_compact_pages(): direct compaction for a request, each eligible
 * zone of the zonelist at prio, as Linux 6.1.  *capture: a block of the
 * order captured for the caller (already off the free lists; the caller
 * runs prep_new_page), or NULL.  *capture_zone its zone.  No lock held.
 */
ZPA_HIDDEN enum compact_result try_to_compact_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order,
						    unsigned alloc_flags, const struct alloc_context *ac,
						    enum compact_priority prio, struct zpa_page **capture,
						    struct zone **capture_zone);
ZPA_HIDDEN bool compaction_zonelist_suitable(struct zpa_machine *m, const struct alloc_context *ac, unsigned order,
					     unsigned alloc_flags);
ZPA_HIDDEN void compaction_defer_reset(struct zone *z, int order, bool alloc_success);
ZPA_HIDDEN void wakeup_kcompactd(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx);
/* kswapd going to sleep: forget the skip hints (reset_isolation_suitable). */
ZPA_HIDDEN void reset_isolation_suitable(struct zpa_machine *m, pg_data_t *pgdat);
/* One step of kcompactd for MANUAL mode (compaction.c); returns pages migrated. */
ZPA_HIDDEN uint64_t kcompactd_step(struct zpa_machine *m, pg_data_t *pgdat, uint64_t now_ms);
/*
 * migrate.c: migrate the isolated movable block at page (LRU or non-LRU
 * movable; the caller holds the isolating reference) into dst, a block of
 * the same order the caller took off the free lists and owns.  On success the
 * owner's state (LRU bits, memcg charge) moves to dst, which is put back on
 * its LRU, and src is freed: returns 0.  Else ZPA_EBUSY/ZPA_EAGAIN and
 * nothing changed (dst still the caller's, src still isolated).
 */
ZPA_HIDDEN int migrate_page_to(struct zpa_machine *m, struct zone *src_zone, struct zpa_page *src,
			       struct zone *dst_zone, struct zpa_page *dst, int mode);
/*
 * isolate.c's alloc_contig_range() and offlining: move the movable pages in
 * use out of [start, end) (one zone, pageblocks isolated); 0, ZPA_EBUSY
 * (some stayed) or ZPA_ENOMEM (no target memory).
 */
ZPA_HIDDEN int migrate_range_out(struct zpa_machine *m, unsigned long start, unsigned long end);
/*
 * zpa_set_daemon_mode() has stored a new m->daemon_mode: kcompactd follows
 * it (THREAD threads started or stopped and joined, MANUAL sleeps armed on
 * the simulated clock).  Mode changes are serialised by the caller.  0, or
 * ZPA_ENOMEM / ZPA_EINVAL (ZPA_NO_THREADS) when threads cannot start; then
 * kcompactd runs INLINE.
 */
ZPA_HIDDEN int kcompactd_mode_changed(struct zpa_machine *m);
/* vm.compaction_proactiveness written (nonzero): every node's kcompactd runs a proactive round. */
ZPA_HIDDEN void kcompactd_proactive_trigger(struct zpa_machine *m);

/* ---- oom_kill.c: the OOM killer (zpa/oom.h) ---- */
ZPA_HIDDEN int oom_init(struct zpa_machine *m);
ZPA_HIDDEN void oom_destroy(struct zpa_machine *m);
/* mutex_trylock(&oom_lock) / unlock.  The trylock fails in the thread that holds it. */
ZPA_HIDDEN bool oom_trylock(struct zpa_machine *m);
ZPA_HIDDEN void oom_unlock(struct zpa_machine *m);
/* mutex_lock(&oom_lock): waits; false (not taken) if the calling thread already holds it. */
ZPA_HIDDEN bool oom_lock(struct zpa_machine *m);
/*
 * out_of_memory(): oom lock held.  The host handler or the built-in killer;
 * true when the caller should retry (a victim was killed, one is still
 * exiting, or a NOFS request that may not kill).
 */
ZPA_HIDDEN bool out_of_memory(struct zpa_machine *m, struct zpa_oom_control *oc);
/*
 * What out_of_memory() did: OOM_NONE nothing (false); OOM_FREED a victim was
 * killed, memory came back, or the host's handler said true; OOM_WAIT true
 * without a new kill (a victim is still exiting, or a NOFS request).
 */
enum oom_result { OOM_NONE, OOM_FREED, OOM_WAIT };
ZPA_HIDDEN enum oom_result __out_of_memory(struct zpa_machine *m, struct zpa_oom_control *oc);
/*
 * mem_cgroup_out_of_memory(): takes the oom lock (waits), then a kill among
 * the tasks of g's subtree unless g has room for the order again or task
 * (NULL: the calling thread's) is itself dying (OOM_WAIT).  OOM_WAIT too if
 * the lock is already this thread's.  memcontrol.c's charge and max paths.
 */
ZPA_HIDDEN enum oom_result mem_cgroup_out_of_memory(struct zpa_machine *m, struct zpa_task *task,
						    struct zpa_memcg *g, zpa_gfp_t gfp, int order);
/*
 * A task goes away (zpa_task_destroy): it leaves the OOM killer's registry
 * of the machine it was registered with, if any.
 */
ZPA_HIDDEN void oom_task_exit(struct zpa_task *task);
static inline bool tsk_is_oom_victim(const struct zpa_task *t)
{
	return atomic_load_explicit(&t->oom_victim, memory_order_relaxed);
}

/* ---- fragmentation.c: fragmentation metrics and the extfrag event ---- */
/* Linux's struct contig_page_info: see zpa/frag.h. */
struct contig_page_info {
	unsigned long free_pages;
	unsigned long free_blocks_total;
	unsigned long free_blocks_suitable;
};
/* fill_contig_page_info(): count z's free blocks for suitable_order.  Zone lock held. */
ZPA_HIDDEN void fill_contig_page_info(const struct zone *z, unsigned suitable_order, struct contig_page_info *info);
/* __fragmentation_index(): thousandths (see zpa/frag.h); order < max_order. */
ZPA_HIDDEN int __fragmentation_index(unsigned order, const struct contig_page_info *info);
/* unusable_free_index(): thousandths, 0..1000. */
ZPA_HIDDEN int unusable_free_index(unsigned order, const struct contig_page_info *info);
/*
 * trace_mm_page_alloc_extfrag(): __rmqueue_fallback() took the free block
 * at pfn, of order fallback_order, from fallback_mt's list for a request of
 * alloc_order and alloc_mt.  Call it after steal_suitable_fallback(), with
 * change_ownership = (alloc_mt == the pageblock's migratetype now), as
 * Linux's tracepoint reads it.  Counts the zpa_extfrag* events and calls the
 * trace hook.  Zone lock held.
 */
ZPA_HIDDEN void trace_mm_page_alloc_extfrag(struct zpa_machine *m, struct zone *z, unsigned long pfn,
					    unsigned alloc_order, unsigned fallback_order, int alloc_mt,
					    int fallback_mt, bool change_ownership);

/* ---- isolate.c/cma.c: isolation, contiguous ranges, CMA, memory hotplug ---- */
/*
 * Called by zpa_machine_create() once the boot memory is in the buddy lists
 * and before the watermarks are computed (Linux's core_initcall
 * cma_init_reserved_areas()): checks the config's CMA areas and frees their
 * pages as MIGRATE_CMA pageblocks.  Returns 0 or ZPA_EINVAL/ZPA_ENOMEM.
 */
ZPA_HIDDEN int cma_init_reserved_areas(struct zpa_machine *m);
/* Free what cma_init_reserved_areas() allocated (machine teardown). */
ZPA_HIDDEN void cma_free_areas(struct zpa_machine *m);
/* Whether pfn lies in a CMA area of the config: boot leaves it reserved (memblock_reserve). */
ZPA_HIDDEN bool cma_area_pfn(const struct zpa_machine *m, unsigned long pfn);
/* __rmqueue_cma_fallback(): the smallest free CMA block for a request allowed CMA.  Zone lock held. */
ZPA_HIDDEN struct zpa_page *__rmqueue_cma_fallback(struct zone *z, unsigned order);
/*
 * __rmqueue()'s balance rule (Linux 6.1): a request that may use CMA takes
 * CMA pages first while free CMA pages are more than half the zone's.
 */
static inline bool rmqueue_cma_first(const struct zone *z, unsigned alloc_flags)
{
	return (alloc_flags & ALLOC_CMA) &&
	       zone_page_state(z, NR_FREE_CMA_PAGES) > zone_page_state(z, NR_FREE_PAGES) / 2;
}
/* alloc_contig_range() for cma.c: the caller holds no zone lock. */
ZPA_HIDDEN int alloc_contig_range(struct zpa_machine *m, unsigned long start, unsigned long end, int migratetype,
				  zpa_gfp_t gfp);

/* ---- vmstat.c: /proc views ---- */
ZPA_HIDDEN const char *zone_stat_name(enum zone_stat_item i);
ZPA_HIDDEN const char *numa_stat_name(enum numa_stat_item i);
ZPA_HIDDEN const char *vm_event_name(enum vm_event_item i);

/*
 * show_mem_log(): Linux's __show_free_areas() report (Mem-Info, per-node and
 * per-zone lines, free blocks per order with their types) for zones up to
 * max_zone_idx, through the machine's log at ZPA_LOG_WARN, a line a call.
 */
ZPA_HIDDEN void show_mem_log(struct zpa_machine *m, int max_zone_idx);

/* ---- tiny buffer printer used by the views (vmstat.c) ---- */
struct zpa_buf {
	char *p;
	size_t size, len;  /* len may exceed size: the length needed */
};
ZPA_HIDDEN void zpa_bprintf(struct zpa_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* ZPA_INTERNAL_H */
