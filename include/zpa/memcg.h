/*
 * zpa/memcg.h - memory control groups: charge allocated pages to a
 * hierarchy of groups with cgroup v2-style limits.  Included by zpa.h; see
 * docs/MEMCG.md.
 *
 * A group belongs to one machine and has at most one parent (NULL: a child
 * of the root, which is implicit, has no limits and is never charged).
 * Usage is hierarchical, as Linux's page_counter: a charge of n pages to a
 * group adds n to the group and to every ancestor, and succeeds only if no
 * one of them would go above its max.  Limits are in pages:
 *   max   hard limit (memory.max): a charge that would cross it fails, after
 *         asking group-local reclaim, which is a seam that reclaims nothing
 *         yet.  __GFP_NOFAIL charges go through anyway (Linux's "force").
 *   high  soft limit (memory.high): a charge that leaves usage above it
 *         succeeds and counts a "high" event on that group (Linux would
 *         also throttle and reclaim the group back to high).
 *   low   protection (memory.low): kept and reported; it matters to reclaim,
 *         which zpa does not do yet, so its "low" event stays 0 for now.
 * ZPA_MEMCG_MAX (the default for max and high) means no limit; low's default
 * is 0.
 *
 * What is charged:
 *   - pages allocated with __GFP_ACCOUNT by a task attached to a group
 *     (zpa_task_set_memcg), at the end of the allocation, as Linux 6.1's
 *     __alloc_pages() calls __memcg_kmem_charge_page(): if the charge fails
 *     the page is freed again and the allocation fails.  Tasks without a
 *     group (the default) are never charged.  The bulk allocators serve
 *     such requests one page at a time, as Linux's do.
 *   - pages the owner charges explicitly (zpa_memcg_charge_page).
 * A charged block is uncharged when it is freed (every free path, the
 * hosted per-thread fast paths included: charged pages leave them), or
 * explicitly (zpa_memcg_uncharge_page).  One block carries at most one
 * charge, recorded against its first pfn for its whole size.
 *
 * Statistics per group: usage (hierarchical), peak usage (memory.peak),
 * the limits, the events (memory.events: "max" each time a charge found
 * this group at its max, "oom" each time such a charge then failed, or a
 * max was set below usage that reclaim could not meet) and failcnt (v1's
 * memory.failcnt: charges that found this group at its max).
 *
 * Thread safety: every call may run concurrently with allocations and frees
 * on any thread; the groups of a machine share one lock (a leaf lock, taken
 * with zone locks held on the free path).  A task is changed only by the
 * thread that uses it, as for its memory policy.  Nothing here costs the
 * allocator anything until the machine's first group is created; from then
 * on, __GFP_ACCOUNT requests leave the hosted alloc fast path.
 *
 * Limitations: a charged block that is split (zpa_sim_split_page) keeps
 * its charge on its first page, for the original size.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_MEMCG_H
#define ZPA_MEMCG_H

#include <stdint.h>

#include "zpa/gfp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zpa_machine;
struct zpa_task;
struct zpa_memcg;

#define ZPA_MEMCG_MAX UINT64_MAX /* "max": no limit */

/*
 * Create a group under parent (NULL: under the root) named name (copied, at
 * most 63 bytes kept; may be NULL).  The parent must belong to m.  Returns
 * 0 and *out, ZPA_EINVAL for bad arguments, ZPA_ENOMEM.
 */
int zpa_memcg_create(struct zpa_machine *m, struct zpa_memcg *parent, const char *name, struct zpa_memcg **out);

/*
 * Remove an empty group (cgroup rmdir): ZPA_EBUSY while it has children,
 * charged pages or attached tasks; ZPA_EINVAL for NULL.  The machine's
 * teardown frees every group that is left.
 */
int zpa_memcg_destroy(struct zpa_memcg *g);

enum zpa_memcg_limit {
	ZPA_MEMCG_LIMIT_MAX,
	ZPA_MEMCG_LIMIT_HIGH,
	ZPA_MEMCG_LIMIT_LOW,
};

/*
 * Set a limit in pages (ZPA_MEMCG_MAX: none).  A max below the current
 * usage is accepted, as Linux accepts it: group-local reclaim is asked to
 * bring usage down (it reclaims nothing yet), an "oom" event is counted if
 * it stays above, and no new charge in the subtree succeeds until usage
 * falls under max.  Returns 0, or ZPA_EINVAL for NULL or an unknown limit.
 */
int zpa_memcg_set_limit(struct zpa_memcg *g, enum zpa_memcg_limit which, uint64_t pages);

struct zpa_memcg_stat {
	uint64_t usage;          /* pages charged to the group and its descendants */
	uint64_t peak;           /* highest usage seen */
	uint64_t local;          /* pages charged to the group itself */
	uint64_t max, high, low; /* the limits (ZPA_MEMCG_MAX: none) */
	uint64_t events_low, events_high, events_max, events_oom;
	uint64_t failcnt;        /* charges that found this group at its max */
	unsigned nr_children, nr_tasks;
};

/* A consistent snapshot of g's counters; ZPA_EINVAL for NULL arguments. */
int zpa_memcg_stat(struct zpa_memcg *g, struct zpa_memcg_stat *out);

/* The group's name ("" when created without one); NULL for NULL. */
const char *zpa_memcg_name(const struct zpa_memcg *g);

/*
 * Attach task (NULL: the calling thread's) to g (NULL: the root, i.e. no
 * accounting).  Pages already charged stay with their group.  A task that
 * is destroyed leaves its group; a thread's own task must be moved to the
 * root before the thread exits, or its group cannot be destroyed.
 */
void zpa_task_set_memcg(struct zpa_task *task, struct zpa_memcg *g);
struct zpa_memcg *zpa_task_memcg(const struct zpa_task *task);

/*
 * Charge the allocated block at pfn (the first page of a block of this
 * order, as allocated) to g, with the limit rules above (gfp: only
 * __GFP_NOFAIL, to force, and __GFP_DIRECT_RECLAIM, to let the reclaim seam
 * run, are read).  Returns 0; ZPA_ENOMEM if a max refused it;
 * ZPA_EBADPFN for a pfn outside the machine; ZPA_EBADPAGE if pfn is not the
 * first page of an allocated block or is already charged; ZPA_EORDER for an
 * order other than the block's; ZPA_EINVAL for NULL or a group of another
 * machine.
 */
int zpa_memcg_charge_page(struct zpa_machine *m, struct zpa_memcg *g, zpa_pfn_t pfn, unsigned order,
			  zpa_gfp_t gfp);

/*
 * Remove the charge of the block at pfn (its first page).  Returns 0, or
 * ZPA_EINVAL if the block carries no charge (e.g. a second uncharge),
 * ZPA_EBADPFN for a pfn outside the machine.
 */
int zpa_memcg_uncharge_page(struct zpa_machine *m, zpa_pfn_t pfn);

/* The group the block at pfn is charged to, or NULL. */
struct zpa_memcg *zpa_page_memcg(struct zpa_machine *m, zpa_pfn_t pfn);

#ifdef __cplusplus
}
#endif

#endif /* ZPA_MEMCG_H */
