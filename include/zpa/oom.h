/*
 * zpa/oom.h - the out-of-memory killer: an interface for hosts that pick and
 * free a victim themselves, and a built-in killer that scores registered
 * tasks as Linux 6.1's oom_badness() does.  See docs/OOM.md.
 *
 * When the slow path has no more reclaim or compaction progress to hope for,
 * __alloc_pages_may_oom() (under the machine's oom lock, taken with trylock)
 * tries the high watermark once more, then calls out_of_memory() unless the
 * request is exempt: costly orders, __GFP_RETRY_MAYFAIL, __GFP_THISNODE,
 * requests below ZONE_NORMAL, and (without __GFP_FS) no kill but "progress".
 * A memory cgroup at its max (zpa/memcg.h) calls the same killer, limited to
 * the tasks of the group's subtree.
 *
 * out_of_memory() calls the host's handler if one is set
 * (zpa_set_oom_handler); otherwise the built-in killer selects among the
 * tasks registered with zpa_oom_task_add(): a victim still exiting aborts
 * the selection (progress without a kill); a task with oom_score_adj -1000
 * is never chosen; badness = rss + swap entries + page tables (pages) +
 * oom_score_adj * (totalpages / 1000), and among equal scores the task
 * registered last wins.  The victim is marked (its allocations may use
 * ALLOC_OOM reserves), its kill() callback runs, and the OOM reaper calls its
 * reap() callback once: at once in the INLINE and THREAD daemon modes, from
 * zpa_oom_reap() (which zpa_daemon_step runs) in MANUAL mode.  A reaped
 * victim no longer holds up the selection of the next one (MMF_OOM_SKIP).
 *
 * Reports go to the machine's log in Linux's wording: "<comm> invoked
 * oom-killer: ..." and the "oom-kill:constraint=..." summary (rate-limited
 * as Linux's dump_header, 10 per 5 s), "Out of memory: Killed process ..."
 * (always), at ZPA_LOG_ERR; the task table and the reaper's line at
 * ZPA_LOG_INFO.
 *
 * Callbacks: footprint(), kill() and reap() run with no zpa lock held except
 * the oom lock (held around the whole OOM decision, as Linux's oom_lock), so
 * they may free pages, allocate (an OOM inside them finds the lock taken and
 * reports progress instead of recursing) and call zpa_oom_task_remove() -
 * kill() typically frees the task's memory and removes it.  A task's ops and
 * arg must stay valid until zpa_oom_task_remove() (or zpa_task_destroy())
 * returns for it; removal waits for callbacks on that task running on other
 * threads.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_OOM_H
#define ZPA_OOM_H

#include <stdbool.h>
#include <stdint.h>

#include "../zpa.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zpa_memcg;

/* What the allocator knows when it runs out (Linux's struct oom_control). */
struct zpa_oom_control {
	zpa_gfp_t gfp;
	int order;                        /* -1: sysrq-like forced kill */
	const zpa_nodemask_t *nodemask;   /* NULL: every node */
	struct zpa_memcg *memcg;          /* memcg OOM: the group over its limit */
	uint64_t totalpages;              /* filled in: RAM (or the group's max) + swap, in pages */
	int constraint;                   /* filled in: enum zpa_oom_constraint */
	struct zpa_task *task;            /* the allocating task (Linux's current); NULL: the calling thread's */
};
enum zpa_oom_constraint { ZPA_CONSTRAINT_NONE, ZPA_CONSTRAINT_CPUSET, ZPA_CONSTRAINT_MEMORY_POLICY,
			  ZPA_CONSTRAINT_MEMCG };

/*
 * A host OOM handler: pick a victim and free (or start freeing) its memory.
 * Return true when something was or will be freed (the allocation retries),
 * false when nothing can be done (the allocation fails, or loops if
 * __GFP_NOFAIL).  It runs with the oom lock held; oc->constraint and
 * oc->totalpages are filled in (oc->memcg set: a memcg OOM, only that
 * group's subtree is over its limit).  NULL restores the built-in killer.
 */
typedef bool (*zpa_oom_fn)(void *arg, const struct zpa_oom_control *oc);
void zpa_set_oom_handler(struct zpa_machine *m, zpa_oom_fn fn, void *arg);

/* A task's memory footprint, in pages, as oom_badness() reads it. */
struct zpa_oom_footprint {
	uint64_t rss_anon, rss_file, rss_shmem;
	uint64_t swapents;
	uint64_t pgtables;
	uint64_t total_vm;                /* for the reports only; 0: taken as the rss */
};
struct zpa_oom_task_ops {
	void (*footprint)(void *arg, struct zpa_oom_footprint *out);
	/* SIGKILL: the task will exit and free its memory (now or later). */
	void (*kill)(void *arg);
	/* __oom_reap_task_mm(): free the victim's anonymous memory now; returns pages freed. */
	uint64_t (*reap)(void *arg);
};
struct zpa_oom_task_info {
	int pid;
	const char *comm;                 /* copied (15 characters kept, as TASK_COMM_LEN) */
	short oom_score_adj;              /* -1000..1000 */
	const struct zpa_oom_task_ops *ops;
	void *arg;
};
/*
 * Make task (NULL: the calling thread's) a candidate for the built-in
 * killer of m.  Candidates are scanned in registration order.  Returns 0;
 * ZPA_EINVAL for NULL m or info, an adj outside -1000..1000, ops without
 * footprint or kill, or a task already registered (with any machine);
 * ZPA_ENOMEM.  A thread's own task must be removed before the thread exits;
 * zpa_task_destroy() removes the tasks it destroys.
 */
int zpa_oom_task_add(struct zpa_machine *m, struct zpa_task *task, const struct zpa_oom_task_info *info);
/*
 * The task exited: no longer a candidate, and no longer a victim (Linux's
 * exit_oom_victim).  0, ZPA_EINVAL for NULL m, ZPA_ENOENT if not registered
 * with m.  May be called from the task's own kill() or reap().
 */
int zpa_oom_task_remove(struct zpa_machine *m, struct zpa_task *task);
/* /proc/pid/oom_score_adj.  0, ZPA_EINVAL for an adj outside -1000..1000, ZPA_ENOENT if not registered. */
int zpa_oom_task_set_adj(struct zpa_machine *m, struct zpa_task *task, short oom_score_adj);
/* tsk_is_oom_victim() (NULL: the calling thread's task). */
bool zpa_task_is_oom_victim(const struct zpa_task *task);
/*
 * oom_badness() of a registered task against totalpages (0: the machine's
 * RAM + swap): INT64_MIN (Linux's LONG_MIN) for an unregistered task, adj
 * -1000, or a victim already reaped.  Calls the task's footprint().
 */
int64_t zpa_oom_badness(struct zpa_machine *m, struct zpa_task *task, uint64_t totalpages);
/* The OOM reaper: reap each victim not yet reaped; returns pages freed (the reap() results). */
uint64_t zpa_oom_reap(struct zpa_machine *m);
/*
 * Force an OOM kill now (sysrq-f: order -1, gfp 0; victims still exiting do
 * not abort the scan).  Waits for the oom lock; true when a victim was
 * chosen (or the host handler reported progress).
 */
bool zpa_oom_kill(struct zpa_machine *m);


#ifdef __cplusplus
}
#endif
#endif /* ZPA_OOM_H */
