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
 *   max   hard limit (memory.max): a charge that would cross it first asks
 *         group-local reclaim (try_to_free_mem_cgroup_pages) up to
 *         MAX_RECLAIM_RETRIES times, then the OOM killer on the group's
 *         subtree (zpa/oom.h), as Linux 6.1's try_charge_memcg(); it fails
 *         if neither makes room.  Requests that may not reclaim fail at
 *         once; __GFP_NORETRY gives up after one reclaim pass,
 *         __GFP_RETRY_MAYFAIL and orders above 3 never invoke the OOM
 *         killer.  __GFP_NOFAIL and __GFP_HIGH (GFP_ATOMIC) charges that
 *         would fail go through anyway (Linux's "force"), and so do the
 *         charges of a PF_MEMALLOC task.
 *   high  soft limit (memory.high): a charge that leaves a group above it
 *         succeeds, counts a "high" event there and, if the request may
 *         reclaim, reclaims the group back down to its high right away
 *         (Linux does this on the return to user space, and also throttles;
 *         zpa does not throttle).
 *   low   protection (memory.low): reclaim leaves a group alone while its
 *         effective low covers its usage, and counts a "low" event when it
 *         has to reclaim it anyway.
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
 * Statistics per group (zpa_memcg_stat, zpa_memcg_show): usage
 * (hierarchical), peak usage (memory.peak), the limits, memory.events and
 * memory.events.local, v1's memory.failcnt, and the memory.stat items zpa
 * knows.
 *
 * Thread safety: every call may run concurrently with allocations and frees
 * on any thread; the groups of a machine share one lock (a leaf lock, taken
 * with zone locks held on the free path; never held across reclaim or the
 * OOM killer).  A task is changed only by the thread that uses it, as for
 * its memory policy.  Nothing here costs the allocator anything until the
 * machine's first group is created; from then on, __GFP_ACCOUNT requests
 * leave the hosted alloc fast path.
 *
 * Limitations: a charged block that is split (zpa_sim_split_page) keeps
 * its charge on its first page, for the original size.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_MEMCG_H
#define ZPA_MEMCG_H

#include <stddef.h>
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
 * usage is accepted, as Linux's memory.max write accepts it: group-local
 * reclaim is asked to bring usage down; when it cannot, an "oom" event is
 * counted and the OOM killer kills in the subtree until usage fits or it
 * finds no one to kill (zpa also stops when the only victim is one still
 * exiting).  Until usage falls under max, no new charge in the subtree
 * succeeds without reclaim or OOM making room.  A high below usage makes
 * reclaim try to bring usage down to it (no OOM).  The caller (the calling
 * thread's task) stops waiting if it is itself killed.  Returns 0, or
 * ZPA_EINVAL for NULL or an unknown limit.
 */
int zpa_memcg_set_limit(struct zpa_memcg *g, enum zpa_memcg_limit which, uint64_t pages);

struct zpa_memcg_stat {
	uint64_t usage;          /* pages charged to the group and its descendants */
	uint64_t peak;           /* highest usage seen */
	uint64_t local;          /* pages charged to the group itself */
	uint64_t max, high, low; /* the limits (ZPA_MEMCG_MAX: none) */
	/*
	 * memory.events, counted on the group where it happened and on each
	 * ancestor: low (reclaimed though protected), high (a charge left it
	 * above high), max (each reclaim pass of a charge at its max, and each
	 * forced charge), oom (the OOM killer invoked for it: a charge, or a
	 * max below usage), oom_kill (a task of it was OOM-killed).
	 */
	uint64_t events_low, events_high, events_max, events_oom;
	uint64_t failcnt;        /* charge attempts that found this group at its max (v1's memory.failcnt) */
	unsigned nr_children, nr_tasks;
	uint64_t events_oom_kill;
	/* memory.events.local: the same, counted on this group only */
	uint64_t events_local_low, events_local_high, events_local_max, events_local_oom, events_local_oom_kill;
	/*
	 * memory.stat of the subtree, in pages: charged blocks on the anon or
	 * file LRU lists of their owner (zpa/reclaim.h; isolated ones included)
	 * and the rest ("kernel": __GFP_ACCOUNT memory); pgscan and pgsteal:
	 * pages scanned and reclaimed from it by any reclaim.
	 */
	uint64_t anon, file, kernel;
	uint64_t inactive_anon, active_anon, inactive_file, active_file;
	uint64_t pgscan, pgsteal;
};

/*
 * A consistent snapshot of g's counters; ZPA_EINVAL for NULL arguments.
 * The memory.stat sizes cost a walk over every charged block.
 */
int zpa_memcg_stat(struct zpa_memcg *g, struct zpa_memcg_stat *out);

/*
 * g's memory.events lines ("low N" ... "oom_group_kill 0", hierarchical
 * counts), then the memory.stat lines zpa keeps ("anon", "file", "kernel"
 * and the four LRU sizes in bytes, "pgscan", "pgsteal").  Writes at most
 * size bytes (NUL-terminated) and returns the full length like snprintf;
 * ZPA_EINVAL for NULL g (buf may be NULL when size is 0).
 */
long zpa_memcg_show(struct zpa_memcg *g, char *buf, size_t size);

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
 * order, as allocated) to g, with the limit rules above, for the calling
 * thread's task (gfp decides reclaim, OOM and forcing as for an
 * allocation).  Returns 0; ZPA_ENOMEM if a max refused it;
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
