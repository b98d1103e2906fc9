/*
 * zpa/oom.h - the out-of-memory killer: an interface for hosts that pick and
 * free a victim themselves, and a built-in killer that scores registered
 * tasks as Linux 6.1's oom_badness() does.
 *
 * When the slow path has no more reclaim or compaction progress to hope for,
 * __alloc_pages_may_oom() (under the machine's oom lock, taken with trylock)
 * tries the high watermark once more, then calls out_of_memory() unless the
 * request is exempt: costly orders, __GFP_RETRY_MAYFAIL, __GFP_THISNODE,
 * requests below ZONE_NORMAL, and (without __GFP_FS) no kill but "progress".
 *
 * out_of_memory() calls the host's handler if one is set
 * (zpa_set_oom_handler); otherwise the built-in killer selects among the
 * tasks registered with zpa_oom_task_add(): a victim still exiting aborts
 * the selection (progress without a kill); a task with oom_score_adj -1000
 * is never chosen; badness = rss + swap entries + page tables (pages) +
 * oom_score_adj * totalpages / 1000.  The victim is marked (its allocations
 * may use ALLOC_OOM reserves), its kill() callback runs, and the OOM reaper
 * (zpa_oom_reap, run by zpa_daemon_step and right after the kill in the
 * other daemon modes) calls its reap() callback once.
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
	uint64_t totalpages;              /* RAM (or the group's max) + swap, in pages */
	int constraint;                   /* enum zpa_oom_constraint */
};
enum zpa_oom_constraint { ZPA_CONSTRAINT_NONE, ZPA_CONSTRAINT_CPUSET, ZPA_CONSTRAINT_MEMORY_POLICY,
			  ZPA_CONSTRAINT_MEMCG };

/*
 * A host OOM handler: pick a victim and free (or start freeing) its memory.
 * Return true when something was or will be freed (the allocation retries),
 * false when nothing can be done (the allocation fails, or loops if
 * __GFP_NOFAIL).  NULL restores the built-in killer.
 */
typedef bool (*zpa_oom_fn)(void *arg, const struct zpa_oom_control *oc);
void zpa_set_oom_handler(struct zpa_machine *m, zpa_oom_fn fn, void *arg);

/* A task's memory footprint, in pages, as oom_badness() reads it. */
struct zpa_oom_footprint {
	uint64_t rss_anon, rss_file, rss_shmem;
	uint64_t swapents;
	uint64_t pgtables;
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
/* Make task a candidate for the built-in killer.  ZPA_EINVAL for a bad adj or missing ops. */
int zpa_oom_task_add(struct zpa_machine *m, struct zpa_task *task, const struct zpa_oom_task_info *info);
/* The task exited: no longer a candidate, and no longer a victim. */
int zpa_oom_task_remove(struct zpa_machine *m, struct zpa_task *task);
int zpa_oom_task_set_adj(struct zpa_machine *m, struct zpa_task *task, short oom_score_adj);
/* tsk_is_oom_victim() */
bool zpa_task_is_oom_victim(const struct zpa_task *task);
/* oom_badness() of a registered task (LONG_MIN-like INT64_MIN when unkillable or unknown). */
int64_t zpa_oom_badness(struct zpa_machine *m, struct zpa_task *task, uint64_t totalpages);
/* The OOM reaper: reap each victim not yet reaped; returns pages freed. */
uint64_t zpa_oom_reap(struct zpa_machine *m);
/* Force an OOM kill now (sysrq-f: order -1); true when a victim was chosen. */
bool zpa_oom_kill(struct zpa_machine *m);

#ifdef __cplusplus
}
#endif
#endif /* ZPA_OOM_H */
