/*
 * oom_kill.c - the OOM killer (zpa/oom.h), after Linux 6.1's mm/oom_kill.c.
 *
 * Algorithm.  out_of_memory() runs when an allocation (page_alloc.c's slow
 * path) or a memory cgroup charge (memcontrol.c) cannot make progress any
 * other way.  A host handler, if set, decides alone.  Otherwise:
 *   1. an allocating task that was already killed and is not yet reaped
 *      gets marked as a victim again and the caller retries (it is about to
 *      free its memory; Linux's task_will_free_mem(current));
 *   2. a request without __GFP_FS never kills outside a memcg OOM: the
 *      caller is told "progress" (the killer does not make up for reclaim
 *      that could not do I/O);
 *   3. constrained_alloc() names the domain that ran out and its size in
 *      pages (totalpages): a memcg (its max + swap), a memory policy's
 *      nodes, a cpuset's nodes, or the whole machine (RAM + swap);
 *   4. with vm.oom_kill_allocating_task set, the allocating task itself is
 *      killed if it is a candidate (registered, adj > -1000, eligible);
 *   5. select_bad_process() scans the candidates in registration order
 *      (for a memcg OOM only the tasks whose group is in the OOM group's
 *      subtree; otherwise only tasks whose cpuset or bind policy may hold
 *      memory of the exhausted domain).  A victim not yet reaped ends the
 *      scan: nothing new is killed, the caller retries.  A task with adj
 *      -1000 or already reaped scores LONG_MIN and is skipped; the others
 *      score rss + swap entries + page tables + adj * (totalpages / 1000),
 *      and the highest score wins, a later task winning a tie;
 *   6. the victim is reported, counted (vmstat oom_kill, the memcg
 *      oom_kill event of its group), marked (tsk_is_oom_victim: ALLOC_OOM
 *      reserves) and sent its kill(); then the reaper is queued.
 *   No candidate: "Out of memory and no killable processes..." and false
 *   (Linux panics for a global OOM; zpa lets the allocation fail).
 *
 * The OOM reaper calls a victim's reap() once and then sets its "reaped"
 * bit (Linux's MMF_OOM_SKIP): a reaped victim is never chosen again and no
 * longer holds up the selection.  In the INLINE and THREAD daemon modes the
 * victim is reaped at once, right after its kill() (Linux waits 2 s first);
 * in MANUAL mode victims wait for zpa_oom_reap(), which zpa_daemon_step
 * runs.
 *
 * Locking.  oom_lock (oom_state.lock, Linux's oom_lock mutex) serialises
 * whole OOM decisions: page_alloc.c takes it with oom_trylock() (a caller
 * that fails just reports progress and retries), memcg OOM and sysrq wait
 * for it with oom_lock().  The owner is recorded so that a thread that
 * holds it and re-enters (an allocation inside kill()) fails the trylock
 * and never waits for itself.  reg_lock protects the registry, the handler
 * and every oom_task's fields; it is never held across a callback.  Lock
 * order: oom_lock -> reg_lock -> memcg lock; zone locks are never taken
 * under reg_lock.
 *
 * Lifetime.  An oom_task is reference counted (the registry holds one;
 * scans and kills hold one while they use it without reg_lock).  Removal
 * unlinks it, clears task->oom and sets "removed", after which its zpa_task
 * (maybe freed by zpa_task_destroy) is never read again.  A callback runs
 * inside a frame counted in oom_task.busy and on a per-thread list, so that
 * zpa_oom_task_remove() can wait for the callbacks running on other threads
 * (the host may free ops/arg once it returns) but not for its own thread's
 * (a kill() that removes its task).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define OOM_SCORE_ADJ_MIN   (-1000)
#define OOM_SCORE_ADJ_MAX   1000
#define TASK_COMM_LEN       16
#define OOM_RATELIMIT_MS    5000   /* DEFAULT_RATELIMIT_INTERVAL */
#define OOM_RATELIMIT_BURST 10     /* DEFAULT_RATELIMIT_BURST */

/* A task registered with the built-in killer (zpa_oom_task_add). */
struct oom_task {
	struct zpa_machine *m;          /* back pointer: oom_task_exit() finds the machine */
	struct zpa_task *task;          /* not read once removed */
	struct oom_task *next;          /* registry, in registration order */
	int pid;
	char comm[TASK_COMM_LEN];
	short oom_score_adj;
	const struct zpa_oom_task_ops *ops;
	void *arg;
	bool killed;                    /* kill() sent: exiting (SIGKILL pending) */
	bool reaped;                    /* MMF_OOM_SKIP: reaped, ignored by the killer */
	bool reaping;                   /* the reaper is in its reap() */
	bool removed;                   /* unregistered */
	int refs;                       /* the registry's + users' (reg_lock) */
	int busy;                       /* callbacks running on it (reg_lock) */
};

struct oom_state {
	zpa_spinlock_t lock;            /* oom_lock */
	const void *_Atomic owner;      /* the holder's thread token */
	zpa_spinlock_t reg_lock;
	struct oom_task *head, *tail;
	unsigned nr_tasks;
	zpa_oom_fn handler;
	void *handler_arg;
	/* dump_header()'s rate limit (oom_lock) */
	bool rs_started;
	uint64_t rs_begin;
	unsigned rs_printed, rs_missed;
};

/* Its address names the calling thread (the oom_lock owner). */
static __thread char oom_thread_token;

/* The callbacks this thread is running, innermost first. */
struct cb_frame {
	const struct oom_task *ot;
	struct cb_frame *prev;
};
static __thread struct cb_frame *cb_frames;

static const char *const oom_constraint_text[] = {
	[ZPA_CONSTRAINT_NONE] = "CONSTRAINT_NONE",
	[ZPA_CONSTRAINT_CPUSET] = "CONSTRAINT_CPUSET",
	[ZPA_CONSTRAINT_MEMORY_POLICY] = "CONSTRAINT_MEMORY_POLICY",
	[ZPA_CONSTRAINT_MEMCG] = "CONSTRAINT_MEMCG",
};

/* ---- state and locks ---- */

int oom_init(struct zpa_machine *m)
{
	struct oom_state *st = zpa_port_zalloc(sizeof(*st));
	if (!st)
		return ZPA_ENOMEM;
	zpa_spin_lock_init(&st->lock);
	zpa_spin_lock_init(&st->reg_lock);
	m->oom = st;
	return 0;
}

void oom_destroy(struct zpa_machine *m)
{
	struct oom_state *st = m->oom;
	if (!st)
		return;
	/* Tasks still registered outlive the machine: make them forget it. */
	for (struct oom_task *ot = st->head, *n; ot; ot = n) {
		n = ot->next;
		WRITE_ONCE(ot->task->oom, NULL);
		atomic_store_explicit(&ot->task->oom_victim, false, memory_order_relaxed);
		zpa_port_free(ot);
	}
	zpa_port_free(st);
	m->oom = NULL;
}

bool oom_trylock(struct zpa_machine *m)
{
	struct oom_state *st = m->oom;
	if (!zpa_spin_trylock(&st->lock))
		return false;
	atomic_store_explicit(&st->owner, &oom_thread_token, memory_order_relaxed);
	return true;
}

bool oom_lock(struct zpa_machine *m)
{
	struct oom_state *st = m->oom;
	/* Only this thread ever stores its own token: a relaxed load is exact here. */
	if (atomic_load_explicit(&st->owner, memory_order_relaxed) == &oom_thread_token)
		return false;
	zpa_spin_lock(&st->lock);
	atomic_store_explicit(&st->owner, &oom_thread_token, memory_order_relaxed);
	return true;
}

void oom_unlock(struct zpa_machine *m)
{
	struct oom_state *st = m->oom;
	atomic_store_explicit(&st->owner, NULL, memory_order_relaxed);
	zpa_spin_unlock(&st->lock);
}

/* ---- the registry (reg_lock held unless said otherwise) ---- */

static struct zpa_task *current_task(struct zpa_task *t)
{
	return t ? t : zpa_task_current();
}

/* task's registration with m, or NULL. */
static struct oom_task *task_oom(struct zpa_machine *m, const struct zpa_task *task)
{
	struct oom_task *ot = READ_ONCE(task->oom);
	return ot && ot->m == m ? ot : NULL;
}

static void ot_put(struct oom_task *ot)
{
	if (--ot->refs == 0)
		zpa_port_free(ot);
}

/* Lock not held: drop a reference. */
static void ot_put_unlocked(struct oom_state *st, struct oom_task *ot)
{
	zpa_spin_lock(&st->reg_lock);
	ot_put(ot);
	zpa_spin_unlock(&st->reg_lock);
}

/* Enter a callback of ot on this thread (frame f); false if ot is gone. */
static bool cb_enter(struct oom_task *ot, struct cb_frame *f)
{
	if (ot->removed)
		return false;
	ot->busy++;
	f->ot = ot;
	f->prev = cb_frames;
	cb_frames = f;
	return true;
}

/* Lock not held: leave the innermost callback frame (ot's). */
static void cb_leave(struct oom_state *st, struct oom_task *ot)
{
	cb_frames = cb_frames->prev;
	zpa_spin_lock(&st->reg_lock);
	ot->busy--;
	zpa_spin_unlock(&st->reg_lock);
}

/* Lock not held: ot's footprint() (zeroed first); false if ot was removed. */
static bool ot_footprint(struct oom_state *st, struct oom_task *ot, struct zpa_oom_footprint *fp)
{
	struct cb_frame f;
	zpa_spin_lock(&st->reg_lock);
	bool ok = cb_enter(ot, &f);
	const struct zpa_oom_task_ops *ops = ot->ops;
	void *arg = ot->arg;
	zpa_spin_unlock(&st->reg_lock);
	if (!ok)
		return false;
	memset(fp, 0, sizeof(*fp));
	ops->footprint(arg, fp);
	cb_leave(st, ot);
	return true;
}

int zpa_oom_task_add(struct zpa_machine *m, struct zpa_task *task, const struct zpa_oom_task_info *info)
{
	if (!m || !info || !info->ops || !info->ops->footprint || !info->ops->kill ||
	    info->oom_score_adj < OOM_SCORE_ADJ_MIN || info->oom_score_adj > OOM_SCORE_ADJ_MAX)
		return ZPA_EINVAL;
	task = current_task(task);
	struct oom_task *ot = zpa_port_zalloc(sizeof(*ot));
	if (!ot)
		return ZPA_ENOMEM;
	ot->m = m;
	ot->task = task;
	ot->pid = info->pid;
	if (info->comm)
		strncpy(ot->comm, info->comm, TASK_COMM_LEN - 1);
	ot->oom_score_adj = info->oom_score_adj;
	ot->ops = info->ops;
	ot->arg = info->arg;
	ot->refs = 1;
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	if (READ_ONCE(task->oom)) {
		zpa_spin_unlock(&st->reg_lock);
		zpa_port_free(ot);
		return ZPA_EINVAL;
	}
	if (st->tail)
		st->tail->next = ot;
	else
		st->head = ot;
	st->tail = ot;
	st->nr_tasks++;
	WRITE_ONCE(task->oom, ot);
	zpa_spin_unlock(&st->reg_lock);
	return 0;
}

int zpa_oom_task_remove(struct zpa_machine *m, struct zpa_task *task)
{
	if (!m)
		return ZPA_EINVAL;
	task = current_task(task);
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	struct oom_task *ot = task_oom(m, task);
	if (!ot) {
		zpa_spin_unlock(&st->reg_lock);
		return ZPA_ENOENT;
	}
	struct oom_task *prev = NULL;
	for (struct oom_task *p = st->head; p != ot; p = p->next)
		prev = p;
	if (prev)
		prev->next = ot->next;
	else
		st->head = ot->next;
	if (st->tail == ot)
		st->tail = prev;
	ot->next = NULL;
	st->nr_tasks--;
	ot->removed = true;
	WRITE_ONCE(task->oom, NULL);
	atomic_store_explicit(&task->oom_victim, false, memory_order_relaxed); /* exit_oom_victim() */
	/* Wait for its callbacks on other threads; those of this thread are our callers. */
	int mine = 0;
	for (const struct cb_frame *f = cb_frames; f; f = f->prev)
		mine += f->ot == ot;
	while (ot->busy > mine) {
		zpa_spin_unlock(&st->reg_lock);
		zpa_port_cpu_relax();
		zpa_spin_lock(&st->reg_lock);
	}
	ot_put(ot);
	zpa_spin_unlock(&st->reg_lock);
	return 0;
}

void oom_task_exit(struct zpa_task *task)
{
	struct oom_task *ot = READ_ONCE(task->oom);
	if (ot)
		zpa_oom_task_remove(ot->m, task);
}

int zpa_oom_task_set_adj(struct zpa_machine *m, struct zpa_task *task, short oom_score_adj)
{
	if (!m || oom_score_adj < OOM_SCORE_ADJ_MIN || oom_score_adj > OOM_SCORE_ADJ_MAX)
		return ZPA_EINVAL;
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	struct oom_task *ot = task_oom(m, current_task(task));
	if (ot)
		ot->oom_score_adj = oom_score_adj;
	zpa_spin_unlock(&st->reg_lock);
	return ot ? 0 : ZPA_ENOENT;
}

bool zpa_task_is_oom_victim(const struct zpa_task *task)
{
	return tsk_is_oom_victim(task ? task : zpa_task_current());
}

void zpa_set_oom_handler(struct zpa_machine *m, zpa_oom_fn fn, void *arg)
{
	if (!m)
		return;
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	st->handler = fn;
	st->handler_arg = fn ? arg : NULL;
	zpa_spin_unlock(&st->reg_lock);
}

/* ---- scoring ---- */

/* RAM the buddy allocator manages (Linux's totalram_pages()). */
static uint64_t totalram_pages(const struct zpa_machine *m)
{
	uint64_t sum = 0;
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		for (unsigned i = 0; i < m->nr_zone_types; i++)
			sum += READ_ONCE(pgdat->node_zones[i].managed_pages);
	}
	return sum;
}

static uint64_t total_swap(const struct zpa_machine *m)
{
	long v = atomic_load_explicit(&((struct zpa_machine *)m)->total_swap_pages, memory_order_relaxed);
	return v > 0 ? (uint64_t)v : 0;
}

/*
 * The badness formula: the footprint in pages, then adj in units of a
 * thousandth of totalpages (the integer division first, as Linux's
 * "adj *= totalpages / 1000").  Wrapping arithmetic, as Linux's longs.
 */
static int64_t badness_points(const struct zpa_oom_footprint *fp, short adj, uint64_t totalpages)
{
	uint64_t points = fp->rss_anon + fp->rss_file + fp->rss_shmem + fp->swapents + fp->pgtables;
	if (totalpages > (uint64_t)INT64_MAX) /* "max" groups: |adj| * scale stays in range */
		totalpages = (uint64_t)INT64_MAX;
	points += (uint64_t)((int64_t)adj * (int64_t)(totalpages / 1000));
	return (int64_t)points;
}

/* oom_badness() of ot (lock not held): INT64_MIN if unkillable, reaped or gone. */
static int64_t oom_badness(struct oom_state *st, struct oom_task *ot, uint64_t totalpages)
{
	zpa_spin_lock(&st->reg_lock);
	bool skip = ot->removed || ot->reaped || ot->oom_score_adj == OOM_SCORE_ADJ_MIN;
	zpa_spin_unlock(&st->reg_lock);
	struct zpa_oom_footprint fp;
	if (skip || !ot_footprint(st, ot, &fp))
		return INT64_MIN;
	zpa_spin_lock(&st->reg_lock);
	short adj = ot->oom_score_adj;
	skip = ot->reaped || adj == OOM_SCORE_ADJ_MIN;
	zpa_spin_unlock(&st->reg_lock);
	return skip ? INT64_MIN : badness_points(&fp, adj, totalpages);
}

int64_t zpa_oom_badness(struct zpa_machine *m, struct zpa_task *task, uint64_t totalpages)
{
	if (!m)
		return INT64_MIN;
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	struct oom_task *ot = task_oom(m, current_task(task));
	if (ot)
		ot->refs++;
	zpa_spin_unlock(&st->reg_lock);
	if (!ot)
		return INT64_MIN;
	if (!totalpages)
		totalpages = totalram_pages(m) + total_swap(m);
	int64_t points = oom_badness(st, ot, totalpages);
	ot_put_unlocked(st, ot);
	return points;
}

/* ---- the domain that ran out ---- */

static uint64_t node_present_pages(const struct zpa_machine *m, int nid)
{
	pg_data_t *pgdat = m->nodes[nid];
	return pgdat ? pgdat->node_present_pages : 0;
}

/*
 * constrained_alloc(): which limit the failed request ran into, and the
 * size of that domain in oc->totalpages.  "current" is the allocating task.
 */
static int constrained_alloc(struct zpa_machine *m, struct zpa_oom_control *oc, const struct zpa_task *cur)
{
	if (oc->memcg) {
		oc->totalpages = mem_cgroup_get_max(m, oc->memcg);
		if (!oc->totalpages)
			oc->totalpages = 1;
		return ZPA_CONSTRAINT_MEMCG;
	}
	uint64_t swap = total_swap(m);
	oc->totalpages = totalram_pages(m) + swap;
	/* sysrq comes without a zonelist; __GFP_THISNODE has no fallback to blame */
	if (oc->order == -1 || (oc->gfp & ZPA___GFP_THISNODE))
		return ZPA_CONSTRAINT_NONE;
	if (oc->nodemask) {
		/* A nodemask that misses a node with memory is a memory policy's. */
		bool covers = true;
		for (unsigned n = 0; n < ZPA_MAX_NODES && covers; n++)
			if (node_present_pages(m, (int)n) && !zpa_nodemask_test(oc->nodemask, (int)n))
				covers = false;
		if (!covers) {
			oc->totalpages = swap;
			for (unsigned n = 0; n < ZPA_MAX_NODES; n++)
				if (zpa_nodemask_test(oc->nodemask, (int)n))
					oc->totalpages += node_present_pages(m, (int)n);
			return ZPA_CONSTRAINT_MEMORY_POLICY;
		}
	}
	/* The cpuset's wall: a zone the request could use that the cpuset forbids. */
	bool cpuset_limited = false;
	int hz = gfp_zone(m, oc->gfp);
	if (hz < 0)
		hz = (int)m->nr_zone_types - 1;
	if (cur->cpuset_active) {
		for (unsigned n = 0; n < ZPA_MAX_NODES && !cpuset_limited; n++) {
			pg_data_t *pgdat = m->nodes[n];
			if (!pgdat || (oc->nodemask && !zpa_nodemask_test(oc->nodemask, (int)n)))
				continue;
			for (int i = 0; i <= hz && i < (int)m->nr_zone_types; i++)
				if (populated_zone(&pgdat->node_zones[i]) &&
				    !__cpuset_node_allowed(cur, (int)n, oc->gfp)) {
					cpuset_limited = true;
					break;
				}
		}
	}
	if (cpuset_limited) {
		oc->totalpages = swap;
		for (unsigned n = 0; n < ZPA_MAX_NODES; n++)
			if (zpa_nodemask_test(&cur->mems_allowed, (int)n))
				oc->totalpages += node_present_pages(m, (int)n);
		return ZPA_CONSTRAINT_CPUSET;
	}
	return ZPA_CONSTRAINT_NONE;
}

/*
 * oom_cpuset_eligible(): may killing task free memory of the domain that
 * ran out?  With a policy nodemask, only a bind policy elsewhere rules it
 * out; otherwise its cpuset must share a node with the allocating task's.
 * reg_lock held (task is alive).
 */
static bool oom_cpuset_eligible(const struct zpa_task *task, const struct zpa_oom_control *oc,
				const struct zpa_task *cur)
{
	if (oc->nodemask) {
		const struct zpa_mempolicy *pol = task->mempolicy;
		if (pol && pol->mode == ZPA_MPOL_BIND)
			return nodes_intersects(&pol->nodes, oc->nodemask);
		return true;
	}
	return nodes_intersects(&cur->mems_allowed, &task->mems_allowed);
}

/* Is ot (alive: reg_lock held) in the domain of this OOM? */
static bool oom_task_eligible(struct zpa_machine *m, const struct oom_task *ot, const struct zpa_oom_control *oc,
			      const struct zpa_task *cur)
{
	if (oc->memcg)
		return mem_cgroup_task_in_subtree(m, ot->task, oc->memcg);
	return oom_cpuset_eligible(ot->task, oc, cur);
}

/* ---- reports ---- */

/* __ratelimit(&oom_rs): oom_lock held. */
static bool oom_ratelimit(struct zpa_machine *m)
{
	struct oom_state *st = m->oom;
	uint64_t now = machine_now_ms(m);
	if (!st->rs_started || now - st->rs_begin >= OOM_RATELIMIT_MS) { /* a clock going back wraps: a new interval */
		if (st->rs_missed)
			zpa_log(m, ZPA_LOG_WARN, "oom_kill_process: %u callbacks suppressed", st->rs_missed);
		st->rs_started = true;
		st->rs_begin = now;
		st->rs_printed = 0;
		st->rs_missed = 0;
	}
	if (st->rs_printed < OOM_RATELIMIT_BURST) {
		st->rs_printed++;
		return true;
	}
	st->rs_missed++;
	return false;
}

static unsigned long to_kb(const struct zpa_machine *m, uint64_t pages)
{
	return (unsigned long)(pages << m->page_shift >> 10);
}

/* A snapshot of the registry, each entry referenced; NULL and *n = 0 when empty or out of memory. */
static struct oom_task **registry_snapshot(struct oom_state *st, unsigned *n)
{
	*n = 0;
	for (;;) {
		zpa_spin_lock(&st->reg_lock);
		unsigned want = st->nr_tasks;
		zpa_spin_unlock(&st->reg_lock);
		if (!want)
			return NULL;
		struct oom_task **v = zpa_port_zalloc(want * sizeof(*v));
		if (!v)
			return NULL;
		zpa_spin_lock(&st->reg_lock);
		if (st->nr_tasks > want) { /* grew meanwhile */
			zpa_spin_unlock(&st->reg_lock);
			zpa_port_free(v);
			continue;
		}
		for (struct oom_task *ot = st->head; ot; ot = ot->next) {
			ot->refs++;
			v[(*n)++] = ot;
		}
		zpa_spin_unlock(&st->reg_lock);
		return v;
	}
}

static void registry_release(struct oom_state *st, struct oom_task **v, unsigned n)
{
	zpa_spin_lock(&st->reg_lock);
	for (unsigned i = 0; i < n; i++)
		ot_put(v[i]);
	zpa_spin_unlock(&st->reg_lock);
	zpa_port_free(v);
}

/* dump_tasks(): the candidates of this OOM, one line each (ZPA_LOG_INFO). */
static void dump_tasks(struct zpa_machine *m, const struct zpa_oom_control *oc, const struct zpa_task *cur)
{
	struct oom_state *st = m->oom;
	if (m->cfg.log_level < ZPA_LOG_INFO)
		return; /* nobody would read it: spare the footprint() calls */
	zpa_log(m, ZPA_LOG_INFO, "Tasks state (memory values in pages):");
	zpa_log(m, ZPA_LOG_INFO,
		"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name");
	unsigned n;
	struct oom_task **v = registry_snapshot(st, &n);
	for (unsigned i = 0; i < n; i++) {
		struct oom_task *ot = v[i];
		zpa_spin_lock(&st->reg_lock);
		bool ok = !ot->removed && oom_task_eligible(m, ot, oc, cur);
		int pid = ot->pid;
		short adj = ot->oom_score_adj;
		char comm[TASK_COMM_LEN];
		memcpy(comm, ot->comm, sizeof comm);
		zpa_spin_unlock(&st->reg_lock);
		struct zpa_oom_footprint fp;
		if (!ok || !ot_footprint(st, ot, &fp))
			continue;
		uint64_t rss = fp.rss_anon + fp.rss_file + fp.rss_shmem;
		zpa_log(m, ZPA_LOG_INFO, "[%7d] %5d %5d %8lu %8lu %8ld %8lu         %5hd %s", pid, 0, pid,
			(unsigned long)(fp.total_vm ? fp.total_vm : rss), (unsigned long)rss,
			(long)(fp.pgtables << m->page_shift), (unsigned long)fp.swapents, adj, comm);
	}
	if (v)
		registry_release(st, v, n);
}

/*
 * dump_header(): who invoked the killer and with what, the memcg's state,
 * the task table, and for a kill the one-line summary.  oom_lock held; the
 * caller applies the rate limit.
 */
static void dump_header(struct zpa_machine *m, const struct zpa_oom_control *oc, struct oom_task *victim,
			const struct zpa_task *cur)
{
	struct oom_state *st = m->oom;
	char cur_comm[TASK_COMM_LEN] = "unknown";
	short cur_adj = 0;
	zpa_spin_lock(&st->reg_lock);
	struct oom_task *cot = task_oom(m, cur);
	if (cot) {
		memcpy(cur_comm, cot->comm, sizeof cur_comm);
		cur_adj = cot->oom_score_adj;
	} else if (cur && cur->comm[0]) {
		/* not a candidate, but named with zpa_task_set_comm() */
		memcpy(cur_comm, cur->comm, sizeof cur_comm);
	}
	zpa_spin_unlock(&st->reg_lock);
	char gfp[256] = "";
	if (oc->gfp)
		zpa_gfp_format(oc->gfp, gfp, sizeof gfp);
	zpa_log(m, ZPA_LOG_ERR, "%s invoked oom-killer: gfp_mask=0x%x(%s), order=%d, oom_score_adj=%hd", cur_comm,
		(unsigned)oc->gfp, gfp, oc->order, cur_adj);
	if (oc->memcg)
		mem_cgroup_print_oom_meminfo(m, oc->memcg);
	dump_tasks(m, oc, cur);
	if (!victim)
		return;
	/* dump_oom_summary() */
	char nodemask[160] = "(null)", mems[160], oom_memcg[300] = "global_oom", task_memcg[300], comm[TASK_COMM_LEN];
	if (oc->nodemask)
		nodelist_format(m, oc->nodemask, nodemask, sizeof nodemask);
	nodelist_format(m, &cur->mems_allowed, mems, sizeof mems);
	if (oc->memcg) {
		memcpy(oom_memcg, "oom_memcg=", 10);
		mem_cgroup_path(oc->memcg, oom_memcg + 10, sizeof oom_memcg - 10);
	}
	zpa_spin_lock(&st->reg_lock);
	bool gone = victim->removed;
	int pid = victim->pid;
	memcpy(comm, victim->comm, sizeof comm);
	if (gone)
		strcpy(task_memcg, "/");
	else
		mem_cgroup_task_path(m, victim->task, task_memcg, sizeof task_memcg);
	zpa_spin_unlock(&st->reg_lock);
	zpa_log(m, ZPA_LOG_ERR, "oom-kill:constraint=%s,nodemask=%s,cpuset=/,mems_allowed=%s,%s,task_memcg=%s,task=%s,pid=%d,uid=0",
		oom_constraint_text[oc->constraint], nodemask, mems, oom_memcg, task_memcg, comm, pid);
}

/* ---- the reaper ---- */

/* oom_reap_task(): reap ot once (lock not held); returns pages reap() freed. */
static uint64_t oom_reap_task(struct zpa_machine *m, struct oom_task *ot)
{
	struct oom_state *st = m->oom;
	struct cb_frame f;
	zpa_spin_lock(&st->reg_lock);
	if (!ot->killed || ot->reaped || ot->reaping || !cb_enter(ot, &f)) {
		zpa_spin_unlock(&st->reg_lock);
		return 0;
	}
	ot->reaping = true;
	const struct zpa_oom_task_ops *ops = ot->ops;
	void *arg = ot->arg;
	int pid = ot->pid;
	char comm[TASK_COMM_LEN];
	memcpy(comm, ot->comm, sizeof comm);
	zpa_spin_unlock(&st->reg_lock);

	uint64_t freed = ops->reap ? ops->reap(arg) : 0;
	cb_leave(st, ot);

	zpa_spin_lock(&st->reg_lock);
	ot->reaping = false;
	ot->reaped = true; /* MMF_OOM_SKIP */
	zpa_spin_unlock(&st->reg_lock);
	struct zpa_oom_footprint fp;
	if (m->cfg.log_level >= ZPA_LOG_INFO && ot_footprint(st, ot, &fp))
		zpa_log(m, ZPA_LOG_INFO,
			"oom_reaper: reaped process %d (%s), now anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB", pid,
			comm, to_kb(m, fp.rss_anon), to_kb(m, fp.rss_file), to_kb(m, fp.rss_shmem));
	return freed;
}

/* queue_oom_reaper(): reap now, or leave it to zpa_oom_reap() in MANUAL mode.  No lock held. */
static void queue_oom_reaper(struct zpa_machine *m, struct oom_task *ot)
{
	if (READ_ONCE(m->daemon_mode) != ZPA_DAEMON_MANUAL)
		oom_reap_task(m, ot);
}

uint64_t zpa_oom_reap(struct zpa_machine *m)
{
	if (!m)
		return 0;
	struct oom_state *st = m->oom;
	uint64_t freed = 0;
	for (;;) {
		zpa_spin_lock(&st->reg_lock);
		struct oom_task *ot = st->head;
		while (ot && !(ot->killed && !ot->reaped && !ot->reaping))
			ot = ot->next;
		if (ot)
			ot->refs++;
		zpa_spin_unlock(&st->reg_lock);
		if (!ot)
			return freed;
		freed += oom_reap_task(m, ot); /* leaves it reaped, or being reaped by another thread */
		ot_put_unlocked(st, ot);
	}
}

/* ---- killing ---- */

/*
 * __oom_kill_process(): report, count, mark and kill the victim, then queue
 * the reaper.  false if it exited before it could be killed.
 */
static bool __oom_kill_process(struct zpa_machine *m, struct oom_task *victim, const char *message)
{
	struct oom_state *st = m->oom;
	struct zpa_oom_footprint fp;
	bool ok = ot_footprint(st, victim, &fp);
	zpa_spin_lock(&st->reg_lock);
	int pid = victim->pid;
	short adj = victim->oom_score_adj;
	char comm[TASK_COMM_LEN];
	memcpy(comm, victim->comm, sizeof comm);
	if (!ok || victim->removed) {
		zpa_spin_unlock(&st->reg_lock);
		zpa_log(m, ZPA_LOG_INFO, "%s: OOM victim %d (%s) is already exiting. Skip killing the task", message,
			pid, comm);
		return false;
	}
	/* The events first, as Linux raises them before the signal; then mark_oom_victim(). */
	count_vm_event(m, OOM_KILL, 1);
	memcg_task_memory_event(m, victim->task, MEMCG_OOM_KILL);
	victim->killed = true;
	atomic_store_explicit(&victim->task->oom_victim, true, memory_order_relaxed);
	struct cb_frame f;
	bool call = cb_enter(victim, &f);
	const struct zpa_oom_task_ops *ops = victim->ops;
	void *arg = victim->arg;
	zpa_spin_unlock(&st->reg_lock);

	uint64_t rss_all = fp.rss_anon + fp.rss_file + fp.rss_shmem;
	zpa_log(m, ZPA_LOG_ERR,
		"%s: Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB, UID:%u pgtables:%lukB oom_score_adj:%hd",
		message, pid, comm, to_kb(m, fp.total_vm ? fp.total_vm : rss_all), to_kb(m, fp.rss_anon),
		to_kb(m, fp.rss_file), to_kb(m, fp.rss_shmem), 0u, to_kb(m, fp.pgtables), adj);
	if (call) {
		ops->kill(arg); /* SIGKILL */
		cb_leave(st, victim);
	}
	queue_oom_reaper(m, victim);
	return true;
}

/*
 * oom_kill_process(): a victim already on its way out is only marked and
 * handed to the reaper (no report, no second kill); otherwise report and
 * kill it.  true when a kill was sent.  oom_lock held.
 */
static bool oom_kill_process(struct zpa_machine *m, const struct zpa_oom_control *oc, struct oom_task *victim,
			     const struct zpa_task *cur, const char *message)
{
	struct oom_state *st = m->oom;
	zpa_spin_lock(&st->reg_lock);
	bool will_free = !victim->removed && victim->killed && !victim->reaped; /* task_will_free_mem() */
	if (will_free)
		atomic_store_explicit(&victim->task->oom_victim, true, memory_order_relaxed);
	zpa_spin_unlock(&st->reg_lock);
	if (will_free) {
		queue_oom_reaper(m, victim);
		return false;
	}
	if (oom_ratelimit(m))
		dump_header(m, oc, victim, cur);
	return __oom_kill_process(m, victim, message);
}

/*
 * select_bad_process() with oom_evaluate_task(): OOM_FREED and *chosen (a
 * reference the caller drops) for the highest badness, OOM_WAIT when a
 * victim not yet reaped aborts the scan, OOM_NONE for no candidate.
 */
static enum oom_result select_bad_process(struct zpa_machine *m, const struct zpa_oom_control *oc,
					  const struct zpa_task *cur, struct oom_task **chosen)
{
	struct oom_state *st = m->oom;
	bool sysrq = oc->order == -1;
	struct oom_task *best = NULL;
	int64_t best_points = INT64_MIN;
	enum oom_result res = OOM_NONE;
	unsigned n;
	struct oom_task **v = registry_snapshot(st, &n);
	for (unsigned i = 0; i < n; i++) {
		struct oom_task *ot = v[i];
		zpa_spin_lock(&st->reg_lock);
		bool ok = !ot->removed && oom_task_eligible(m, ot, oc, cur);
		bool victim = ok && tsk_is_oom_victim(ot->task);
		bool reaped = ot->reaped;
		zpa_spin_unlock(&st->reg_lock);
		if (!ok)
			continue;
		/* A victim that still holds its memory goes first: wait for it (unless sysrq). */
		if (!sysrq && victim) {
			if (reaped)
				continue;
			res = OOM_WAIT;
			best = NULL;
			break;
		}
		int64_t points = oom_badness(st, ot, oc->totalpages);
		if (points == INT64_MIN || points < best_points)
			continue; /* equal points: the later task replaces the earlier */
		best = ot;
		best_points = points;
	}
	if (best) {
		zpa_spin_lock(&st->reg_lock);
		best->refs++;
		zpa_spin_unlock(&st->reg_lock);
		*chosen = best;
		res = OOM_FREED;
	}
	if (v)
		registry_release(st, v, n);
	return res;
}

enum oom_result __out_of_memory(struct zpa_machine *m, struct zpa_oom_control *oc)
{
	struct oom_state *st = m->oom;
	struct zpa_task *cur = current_task(oc->task);
	bool memcg_oom = oc->memcg != NULL;

	zpa_spin_lock(&st->reg_lock);
	zpa_oom_fn handler = st->handler;
	void *handler_arg = st->handler_arg;
	zpa_spin_unlock(&st->reg_lock);
	if (handler) {
		oc->constraint = constrained_alloc(m, oc, cur);
		return handler(handler_arg, oc) ? OOM_FREED : OOM_NONE;
	}

	/* The allocating task was killed already: let it exit with the reserves. */
	zpa_spin_lock(&st->reg_lock);
	struct oom_task *cot = task_oom(m, cur);
	bool dying = cot && cot->killed && !cot->reaped;
	if (dying) {
		atomic_store_explicit(&cur->oom_victim, true, memory_order_relaxed);
		cot->refs++;
	}
	zpa_spin_unlock(&st->reg_lock);
	if (dying) {
		queue_oom_reaper(m, cot);
		ot_put_unlocked(st, cot);
		return OOM_WAIT;
	}

	/* No kill makes up for reclaim that could not call into the filesystem. */
	if (oc->gfp && !(oc->gfp & ZPA___GFP_FS) && !memcg_oom)
		return OOM_WAIT;

	oc->constraint = constrained_alloc(m, oc, cur);
	if (oc->constraint != ZPA_CONSTRAINT_MEMORY_POLICY)
		oc->nodemask = NULL;

	if (!memcg_oom && READ_ONCE(m->t.oom_kill_allocating_task)) {
		zpa_spin_lock(&st->reg_lock);
		cot = task_oom(m, cur);
		bool ok = cot && cot->oom_score_adj != OOM_SCORE_ADJ_MIN && oom_cpuset_eligible(cur, oc, cur);
		if (ok)
			cot->refs++;
		zpa_spin_unlock(&st->reg_lock);
		if (ok) {
			bool killed = oom_kill_process(m, oc, cot, cur, "Out of memory (oom_kill_allocating_task)");
			ot_put_unlocked(st, cot);
			return killed ? OOM_FREED : OOM_WAIT;
		}
	}

	struct oom_task *chosen = NULL;
	enum oom_result res = select_bad_process(m, oc, cur, &chosen);
	if (res == OOM_NONE) {
		if (oom_ratelimit(m)) {
			dump_header(m, oc, NULL, cur);
			zpa_log(m, ZPA_LOG_ERR, "Out of memory and no killable processes...");
		}
		return OOM_NONE;
	}
	if (res == OOM_WAIT)
		return OOM_WAIT;
	bool killed = oom_kill_process(m, oc, chosen, cur, memcg_oom ? "Memory cgroup out of memory" : "Out of memory");
	ot_put_unlocked(st, chosen);
	return killed ? OOM_FREED : OOM_WAIT;
}

bool out_of_memory(struct zpa_machine *m, struct zpa_oom_control *oc)
{
	return __out_of_memory(m, oc) != OOM_NONE;
}

enum oom_result mem_cgroup_out_of_memory(struct zpa_machine *m, struct zpa_task *task, struct zpa_memcg *g,
					 zpa_gfp_t gfp, int order)
{
	task = current_task(task);
	if (!oom_lock(m))
		return OOM_WAIT; /* this thread is inside an OOM already */
	enum oom_result res;
	if (mem_cgroup_margin(g) >= 1ull << order)
		res = OOM_FREED; /* someone made room meanwhile */
	else if (tsk_is_oom_victim(task))
		res = OOM_WAIT;  /* task_is_dying(): no second kill on its behalf */
	else {
		struct zpa_oom_control oc = { .gfp = gfp, .order = order, .memcg = g, .task = task };
		res = __out_of_memory(m, &oc);
	}
	oom_unlock(m);
	return res;
}

bool zpa_oom_kill(struct zpa_machine *m)
{
	if (!m || !oom_lock(m))
		return false;
	struct zpa_oom_control oc = { .gfp = 0, .order = -1 };
	enum oom_result res = __out_of_memory(m, &oc);
	oom_unlock(m);
	if (res == OOM_NONE)
		zpa_log(m, ZPA_LOG_INFO, "OOM request ignored. No task eligible");
	return res != OOM_NONE;
}
