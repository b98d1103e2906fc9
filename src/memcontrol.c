/*
 * memcontrol.c - memory control groups (zpa/memcg.h): hierarchical charge
 * counters with max/high/low limits, the page -> group side table, the
 * allocator's hooks, group-local reclaim and OOM on the charge path, and
 * the per-group statistics (Linux 6.1's mm/memcontrol.c, kmem part, and
 * mm/page_counter.c).
 *
 * Algorithm.  Each group keeps its hierarchical usage (pages charged to it
 * and its descendants), as Linux's page_counter.  A charge of nr pages to g
 * walks g's ancestors; if one of them would exceed its max, that group is
 * "over limit" and try_charge() follows 6.1's try_charge_memcg():
 *   - each failed attempt counts failcnt on it;
 *   - PF_MEMALLOC tasks (reclaim itself) force the charge; requests that
 *     may not reclaim (no __GFP_DIRECT_RECLAIM) go to "nomem";
 *   - otherwise a "max" event and group-local reclaim
 *     (try_to_free_mem_cgroup_pages, vmscan.c) of nr pages from the group
 *     over limit; retry while it has room again; one free extra pass (Linux
 *     drains the per-CPU charge stocks there; zpa has none); __GFP_NORETRY
 *     stops after that; a pass that reclaimed something retries for
 *     non-costly sizes without using up a retry; then MAX_RECLAIM_RETRIES
 *     more passes;
 *   - __GFP_RETRY_MAYFAIL stops there; costly orders (> 3) never OOM;
 *     otherwise an "oom" event and the OOM killer on the group's subtree
 *     (mem_cgroup_out_of_memory, oom_kill.c).  Progress (a kill, or room
 *     again) restarts the whole loop with fresh retries.  An OOM victim
 *     gets no second OOM on its behalf (task_is_dying()), and - zpa's own
 *     bound, since it cannot sleep until a victim exits - neither does a
 *     charge whose last OOM round killed nobody (a victim not yet reaped);
 *   - "nomem": fail, unless __GFP_NOFAIL or __GFP_HIGH (GFP_ATOMIC) force
 *     the charge over the max (with a max event if none was counted).
 * A charge that succeeds adds nr to every ancestor and updates their peaks;
 * each group it leaves above its high counts a "high" event and, when the
 * request may reclaim (and is not PF_MEMALLOC), is reclaimed back down to
 * its high at once (Linux defers this to the return to user space and then
 * also throttles the task; zpa has neither).  Uncharge subtracts nr along
 * the same path.
 *
 * Events are counted as Linux's memcg_memory_event(): on the group itself
 * (memory.events.local) and on it and every ancestor (memory.events).
 *
 * The page struct has no room for a group pointer (16 bytes), so a charged
 * block's first page carries PG_memcg and the group lives in a side table:
 * an open-addressing hash map (linear probing, backward-shift deletion)
 * keyed by the block's first pfn, holding the group and the order charged.
 * PG_memcg makes the block fail the flag-word comparison of every free fast
 * path, so charged blocks are freed by free_pages_slow(), which uncharges.
 *
 * Invariants, all under the machine's memcg lock (memcg_state.lock, a leaf
 * lock: it may be taken with a zone lock or the OOM killer's registry lock
 * held, and nothing is taken while it is held):
 *   - a pfn is in the table iff its page has PG_memcg;
 *   - for every group, local == sum of its table entries' sizes, and
 *     usage == local + sum of its children's usage;
 *   - peak >= usage.
 * Reclaim and the OOM killer always run with the lock dropped.  The state
 * (lock, table, group list) is made when the machine's first group is
 * created; creating it sets memcg_kmem_on and then bumps fast_gen so that
 * no thread's hosted fast path keeps serving __GFP_ACCOUNT requests without
 * charging (Linux's memcg_kmem_enabled() static key).
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "internal.h"

struct zpa_memcg {
	struct zpa_machine *m;
	struct zpa_memcg *parent;
	struct zpa_memcg *next;          /* machine's list of groups */
	char name[64];
	uint64_t usage, peak, local;
	uint64_t max, high, low;
	uint64_t events[MEMCG_NR_MEMORY_EVENTS];       /* memory.events: the group and its subtree */
	uint64_t events_local[MEMCG_NR_MEMORY_EVENTS]; /* memory.events.local */
	uint64_t failcnt;
	uint64_t pgscan, pgsteal;                      /* memory.stat: reclaim in the subtree */
	unsigned nr_children, nr_tasks;
};

/* One side-table slot: the charge of the block starting at pfn. */
struct charge_slot {
	unsigned long pfn;               /* SLOT_EMPTY when free */
	struct zpa_memcg *g;
	unsigned order;
};
#define SLOT_EMPTY (~0ul)

struct memcg_state {
	zpa_spinlock_t lock;
	struct zpa_memcg *groups;
	struct charge_slot *tab;
	unsigned long cap, used;         /* cap: a power of two, or 0 before the first charge */
};

/* ---- the side table (lock held) ---- */

static inline unsigned long slot_hash(unsigned long pfn, unsigned long cap)
{
	return (unsigned long)(((uint64_t)pfn * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static struct charge_slot *table_find(struct memcg_state *s, unsigned long pfn)
{
	if (!s->cap)
		return NULL;
	for (unsigned long i = slot_hash(pfn, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->tab[i].pfn == pfn)
			return &s->tab[i];
		if (s->tab[i].pfn == SLOT_EMPTY)
			return NULL;
	}
}

static void table_put(struct charge_slot *tab, unsigned long cap, unsigned long pfn, struct zpa_memcg *g,
		      unsigned order)
{
	unsigned long i = slot_hash(pfn, cap);
	while (tab[i].pfn != SLOT_EMPTY)
		i = (i + 1) & (cap - 1);
	tab[i] = (struct charge_slot){ pfn, g, order };
}

/* Make room for one more entry (load kept at most 1/2).  0 or ZPA_ENOMEM. */
static int table_reserve(struct memcg_state *s)
{
	if ((s->used + 1) * 2 <= s->cap)
		return 0;
	unsigned long cap = s->cap ? s->cap * 2 : 256;
	struct charge_slot *tab = zpa_port_zalloc(cap * sizeof(*tab));
	if (!tab)
		return ZPA_ENOMEM;
	for (unsigned long i = 0; i < cap; i++)
		tab[i].pfn = SLOT_EMPTY;
	for (unsigned long i = 0; i < s->cap; i++)
		if (s->tab[i].pfn != SLOT_EMPTY)
			table_put(tab, cap, s->tab[i].pfn, s->tab[i].g, s->tab[i].order);
	zpa_port_free(s->tab);
	s->tab = tab;
	s->cap = cap;
	return 0;
}

/* Remove slot e, shifting back the entries of its probe run. */
static void table_del(struct memcg_state *s, struct charge_slot *e)
{
	unsigned long mask = s->cap - 1, hole = (unsigned long)(e - s->tab);
	for (unsigned long i = (hole + 1) & mask; s->tab[i].pfn != SLOT_EMPTY; i = (i + 1) & mask) {
		unsigned long home = slot_hash(s->tab[i].pfn, s->cap);
		/* the entry at i may fill the hole unless its home lies in (hole, i] */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			s->tab[hole] = s->tab[i];
			hole = i;
		}
	}
	s->tab[hole].pfn = SLOT_EMPTY;
	s->used--;
}

/* ---- state ---- */

static struct memcg_state *memcg_state(struct zpa_machine *m)
{
	return atomic_load_explicit(&m->memcg, memory_order_acquire);
}

/* The machine's memcg state, made on first use (and the fast path told). */
static struct memcg_state *memcg_state_get(struct zpa_machine *m)
{
	struct memcg_state *s = memcg_state(m);
	if (s)
		return s;
	zpa_spin_lock(&m->setup_lock);
	s = atomic_load_explicit(&m->memcg, memory_order_relaxed);
	if (!s) {
		s = zpa_port_zalloc(sizeof(*s));
		if (s) {
			zpa_spin_lock_init(&s->lock);
			atomic_store_explicit(&m->memcg, s, memory_order_release);
			atomic_store_explicit(&m->memcg_kmem_on, 1, memory_order_seq_cst);
			atomic_fetch_add_explicit(&m->fast_gen, 1, memory_order_seq_cst);
		}
	}
	zpa_spin_unlock(&m->setup_lock);
	return s;
}

void memcg_destroy_all(struct zpa_machine *m)
{
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return;
	for (struct zpa_memcg *g = s->groups, *n; g; g = n) {
		n = g->next;
		zpa_port_free(g);
	}
	zpa_port_free(s->tab);
	zpa_port_free(s);
	atomic_store_explicit(&m->memcg, NULL, memory_order_relaxed);
}

/* ---- groups ---- */

int zpa_memcg_create(struct zpa_machine *m, struct zpa_memcg *parent, const char *name, struct zpa_memcg **out)
{
	if (!m || !out || (parent && parent->m != m))
		return ZPA_EINVAL;
	struct memcg_state *s = memcg_state_get(m);
	struct zpa_memcg *g = s ? zpa_port_zalloc(sizeof(*g)) : NULL;
	if (!g)
		return ZPA_ENOMEM;
	g->m = m;
	g->parent = parent;
	g->max = g->high = ZPA_MEMCG_MAX;
	if (name) {
		strncpy(g->name, name, sizeof g->name - 1);
		g->name[sizeof g->name - 1] = '\0';
	}
	zpa_spin_lock(&s->lock);
	g->next = s->groups;
	s->groups = g;
	if (parent)
		parent->nr_children++;
	zpa_spin_unlock(&s->lock);
	*out = g;
	return 0;
}

int zpa_memcg_destroy(struct zpa_memcg *g)
{
	if (!g)
		return ZPA_EINVAL;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	if (g->nr_children || g->usage || g->nr_tasks) {
		zpa_spin_unlock(&s->lock);
		return ZPA_EBUSY;
	}
	for (struct zpa_memcg **pp = &s->groups; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	if (g->parent)
		g->parent->nr_children--;
	zpa_spin_unlock(&s->lock);
	zpa_port_free(g);
	return 0;
}

const char *zpa_memcg_name(const struct zpa_memcg *g)
{
	return g ? g->name : NULL;
}

/* memcg_memory_event() with the lock held. */
static void memory_event_locked(struct zpa_memcg *g, enum memcg_memory_event ev)
{
	g->events_local[ev]++;
	for (struct zpa_memcg *c = g; c; c = c->parent)
		c->events[ev]++;
}

void memcg_memory_event(struct zpa_memcg *g, enum memcg_memory_event ev)
{
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	memory_event_locked(g, ev);
	zpa_spin_unlock(&s->lock);
}

static uint64_t usage_of(struct memcg_state *s, struct zpa_memcg *g)
{
	zpa_spin_lock(&s->lock);
	uint64_t usage = g->usage;
	zpa_spin_unlock(&s->lock);
	return usage;
}

/*
 * memory_max_write(): reclaim toward the new max (MAX_RECLAIM_RETRIES passes
 * without progress), then OOM kills in the subtree until usage fits, the
 * killer finds nobody, or - zpa cannot wait for a victim to exit - it only
 * finds a victim still exiting.  The writer stops early if it is itself
 * killed (Linux's signal_pending()).
 */
static void memory_max_write(struct memcg_state *s, struct zpa_memcg *g, uint64_t max)
{
	struct zpa_task *cur = zpa_task_current();
	unsigned nr_reclaims = MAX_RECLAIM_RETRIES;
	bool drained = false;
	for (;;) {
		zpa_spin_lock(&s->lock);
		uint64_t usage = g->usage, now = g->max;
		zpa_spin_unlock(&s->lock);
		if (now != max || usage <= max || tsk_is_oom_victim(cur))
			break;
		if (!drained) { /* Linux drains the per-CPU charge stocks: nothing to drain here */
			drained = true;
			continue;
		}
		if (nr_reclaims) {
			if (!try_to_free_mem_cgroup_pages(g->m, g, (unsigned long)(usage - max), ZPA_GFP_KERNEL, true))
				nr_reclaims--;
			continue;
		}
		memcg_memory_event(g, MEMCG_OOM);
		if (mem_cgroup_out_of_memory(g->m, cur, g, ZPA_GFP_KERNEL, 0) != OOM_FREED)
			break;
	}
}

/* memory_high_write(): reclaim toward the new high; no OOM. */
static void memory_high_write(struct memcg_state *s, struct zpa_memcg *g, uint64_t high)
{
	struct zpa_task *cur = zpa_task_current();
	unsigned nr_retries = MAX_RECLAIM_RETRIES;
	bool drained = false;
	for (;;) {
		uint64_t usage = usage_of(s, g);
		if (usage <= high || tsk_is_oom_victim(cur))
			break;
		if (!drained) {
			drained = true;
			continue;
		}
		unsigned long got = try_to_free_mem_cgroup_pages(g->m, g, (unsigned long)(usage - high),
								 ZPA_GFP_KERNEL, true);
		if (!got && !nr_retries--)
			break;
	}
}

int zpa_memcg_set_limit(struct zpa_memcg *g, enum zpa_memcg_limit which, uint64_t pages)
{
	if (!g || (which != ZPA_MEMCG_LIMIT_MAX && which != ZPA_MEMCG_LIMIT_HIGH && which != ZPA_MEMCG_LIMIT_LOW))
		return ZPA_EINVAL;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	if (which == ZPA_MEMCG_LIMIT_HIGH)
		g->high = pages;
	else if (which == ZPA_MEMCG_LIMIT_LOW)
		g->low = pages;
	else
		g->max = pages;
	zpa_spin_unlock(&s->lock);
	if (which == ZPA_MEMCG_LIMIT_MAX)
		memory_max_write(s, g, pages);
	else if (which == ZPA_MEMCG_LIMIT_HIGH)
		memory_high_write(s, g, pages);
	return 0;
}

/* The first pfn's page of a charged block, or NULL outside the machine. */
static struct zpa_page *table_page(struct zpa_machine *m, unsigned long pfn)
{
	pg_data_t *pgdat = pfn_to_pgdat(m, pfn);
	return pgdat ? pfn_to_page_nid(pgdat, pfn) : NULL;
}

/*
 * The memory.stat sizes of g's subtree from the side table (lock held):
 * each charged block counts as anon or file by the LRU list its owner keeps
 * it on (PG_onlru, or isolated by reclaim), else as kernel memory.
 */
static void stat_pages_locked(struct memcg_state *s, struct zpa_memcg *g, struct zpa_memcg_stat *out)
{
	for (unsigned long i = 0; i < s->cap; i++) {
		const struct charge_slot *e = &s->tab[i];
		if (e->pfn == SLOT_EMPTY || !mem_cgroup_is_descendant(e->g, g))
			continue;
		uint64_t nr = 1ull << e->order;
		struct zpa_page *page = table_page(g->m, e->pfn);
		uint32_t f = page ? READ_ONCE(page->flags) : 0;
		if (!(f & (PG_onlru | PG_isolated))) {
			out->kernel += nr;
			continue;
		}
		switch (page_lru_of(f)) {
		case LRU_INACTIVE_ANON: out->inactive_anon += nr; out->anon += nr; break;
		case LRU_ACTIVE_ANON: out->active_anon += nr; out->anon += nr; break;
		case LRU_INACTIVE_FILE: out->inactive_file += nr; out->file += nr; break;
		default: out->active_file += nr; out->file += nr; break;
		}
	}
}

int zpa_memcg_stat(struct zpa_memcg *g, struct zpa_memcg_stat *out)
{
	if (!g || !out)
		return ZPA_EINVAL;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	*out = (struct zpa_memcg_stat){
		.usage = g->usage, .peak = g->peak, .local = g->local,
		.max = g->max, .high = g->high, .low = g->low,
		.events_low = g->events[MEMCG_LOW], .events_high = g->events[MEMCG_HIGH],
		.events_max = g->events[MEMCG_MAX], .events_oom = g->events[MEMCG_OOM],
		.failcnt = g->failcnt,
		.nr_children = g->nr_children, .nr_tasks = g->nr_tasks,
		.events_oom_kill = g->events[MEMCG_OOM_KILL],
		.events_local_low = g->events_local[MEMCG_LOW], .events_local_high = g->events_local[MEMCG_HIGH],
		.events_local_max = g->events_local[MEMCG_MAX], .events_local_oom = g->events_local[MEMCG_OOM],
		.events_local_oom_kill = g->events_local[MEMCG_OOM_KILL],
		.pgscan = g->pgscan, .pgsteal = g->pgsteal,
	};
	stat_pages_locked(s, g, out);
	zpa_spin_unlock(&s->lock);
	return 0;
}

/* memory.stat lines (sizes in bytes, as Linux prints them). */
static void memory_stat_format(const struct zpa_memcg *g, const struct zpa_memcg_stat *st, struct zpa_buf *b)
{
	unsigned shift = g->m->page_shift;
	zpa_bprintf(b, "anon %llu\nfile %llu\nkernel %llu\n", (unsigned long long)(st->anon << shift),
		    (unsigned long long)(st->file << shift), (unsigned long long)(st->kernel << shift));
	zpa_bprintf(b, "inactive_anon %llu\nactive_anon %llu\ninactive_file %llu\nactive_file %llu\n",
		    (unsigned long long)(st->inactive_anon << shift), (unsigned long long)(st->active_anon << shift),
		    (unsigned long long)(st->inactive_file << shift), (unsigned long long)(st->active_file << shift));
	zpa_bprintf(b, "pgscan %llu\npgsteal %llu\n", (unsigned long long)st->pgscan,
		    (unsigned long long)st->pgsteal);
}

long zpa_memcg_show(struct zpa_memcg *g, char *buf, size_t size)
{
	struct zpa_memcg_stat st;
	if (!g || (!buf && size) || zpa_memcg_stat(g, &st))
		return ZPA_EINVAL;
	struct zpa_buf b = { buf, size, 0 };
	/* memory.events */
	zpa_bprintf(&b, "low %llu\nhigh %llu\nmax %llu\noom %llu\noom_kill %llu\noom_group_kill 0\n",
		    (unsigned long long)st.events_low, (unsigned long long)st.events_high,
		    (unsigned long long)st.events_max, (unsigned long long)st.events_oom,
		    (unsigned long long)st.events_oom_kill);
	memory_stat_format(g, &st, &b);
	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return (long)b.len;
}

void memcg_count_reclaim(struct zpa_machine *m, struct zpa_memcg *g, unsigned long scanned, unsigned long stolen)
{
	if (!g || g->m != m)
		return;
	struct memcg_state *s = memcg_state(m);
	zpa_spin_lock(&s->lock);
	for (struct zpa_memcg *c = g; c; c = c->parent) {
		c->pgscan += scanned;
		c->pgsteal += stolen;
	}
	zpa_spin_unlock(&s->lock);
}

/* ---- tasks ---- */

void zpa_task_set_memcg(struct zpa_task *task, struct zpa_memcg *g)
{
	if (!task)
		task = zpa_task_current();
	struct zpa_memcg *old = task->memcg;
	if (old == g)
		return;
	if (g) {
		struct memcg_state *s = memcg_state(g->m);
		zpa_spin_lock(&s->lock);
		g->nr_tasks++;
		zpa_spin_unlock(&s->lock);
	}
	WRITE_ONCE(task->memcg, g); /* the OOM killer reads it under the lock, from other threads */
	if (old) {
		struct memcg_state *s = memcg_state(old->m);
		zpa_spin_lock(&s->lock);
		old->nr_tasks--;
		zpa_spin_unlock(&s->lock);
	}
}

struct zpa_memcg *zpa_task_memcg(const struct zpa_task *task)
{
	return (task ? task : zpa_task_current())->memcg;
}

void memcg_task_exit(struct zpa_task *task)
{
	zpa_task_set_memcg(task, NULL);
}

/* ---- charging ---- */

/* The first group from g up that has no room for nr more pages, or NULL.  Lock held. */
static struct zpa_memcg *charge_blocker(struct zpa_memcg *g, uint64_t nr)
{
	for (struct zpa_memcg *c = g; c; c = c->parent)
		if (c->usage + nr > c->max)
			return c;
	return NULL;
}

static uint64_t margin_locked(const struct zpa_memcg *g)
{
	return g->usage < g->max ? g->max - g->usage : 0;
}

/* mem_cgroup_oom(): the memcg OOM killer for a charge; costly orders never. */
static enum oom_result mem_cgroup_oom(struct zpa_machine *m, struct zpa_task *task, struct zpa_memcg *over,
				      zpa_gfp_t gfp, unsigned order)
{
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return OOM_NONE;
	memcg_memory_event(over, MEMCG_OOM);
	return mem_cgroup_out_of_memory(m, task, over, gfp, (int)order);
}

/*
 * reclaim_high(): after a charge left g or an ancestor above its high,
 * count a high event on each such group and, if the request may reclaim,
 * reclaim it back down to its high.  Lock not held.
 */
static void reclaim_high(struct zpa_machine *m, struct memcg_state *s, const struct zpa_task *task,
			 struct zpa_memcg *g, zpa_gfp_t gfp)
{
	bool may_reclaim = (gfp & ZPA___GFP_DIRECT_RECLAIM) && !(task->flags & ZPA_PF_MEMALLOC);
	for (struct zpa_memcg *c = g; c; c = c->parent) {
		zpa_spin_lock(&s->lock);
		uint64_t usage = c->usage, high = c->high;
		if (usage > high)
			memory_event_locked(c, MEMCG_HIGH);
		zpa_spin_unlock(&s->lock);
		if (usage > high && may_reclaim)
			try_to_free_mem_cgroup_pages(m, c, (unsigned long)(usage - high), gfp, true);
	}
}

/*
 * try_charge(): charge nr pages of the block at pfn to g, with reclaim and
 * OOM as the header describes, then record the table entry.  Lock not
 * held; page is the block's first page, owned by the caller and not
 * charged; task is the charging task.  Returns 0 or ZPA_ENOMEM.
 */
static int try_charge(struct zpa_machine *m, struct zpa_task *task, struct zpa_memcg *g, struct zpa_page *page,
		      unsigned long pfn, unsigned order, zpa_gfp_t gfp)
{
	struct memcg_state *s = memcg_state(m);
	uint64_t nr = 1ull << order;
	int nr_retries = MAX_RECLAIM_RETRIES;
	bool passed_oom = false, oom_killed_nobody = false, drained = false, raised_max_event = false;
	bool over_high = false;
	struct zpa_memcg *over;
	unsigned long reclaimed;
	enum oom_result oom;

	zpa_spin_lock(&s->lock);
retry:
	over = charge_blocker(g, nr);
	if (!over)
		goto commit;
	over->failcnt++;
	/* Reclaim's own allocations go through rather than recurse. */
	if (task->flags & ZPA_PF_MEMALLOC)
		goto force;
	if (!(gfp & ZPA___GFP_DIRECT_RECLAIM))
		goto nomem;
	memory_event_locked(over, MEMCG_MAX);
	raised_max_event = true;
	zpa_spin_unlock(&s->lock);
	reclaimed = try_to_free_mem_cgroup_pages(m, over, (unsigned long)nr, gfp, true);
	zpa_spin_lock(&s->lock);
	if (margin_locked(over) >= nr)
		goto retry;
	if (!drained) { /* Linux drains the per-CPU charge stocks and retries */
		drained = true;
		goto retry;
	}
	if (gfp & ZPA___GFP_NORETRY)
		goto nomem;
	/* Progress, but not enough: retry small charges before the OOM killer. */
	if (reclaimed && nr <= (1u << PAGE_ALLOC_COSTLY_ORDER))
		goto retry;
	if (nr_retries--)
		goto retry;
	if (gfp & ZPA___GFP_RETRY_MAYFAIL)
		goto nomem;
	if (passed_oom && (tsk_is_oom_victim(task) || oom_killed_nobody))
		goto nomem;
	zpa_spin_unlock(&s->lock);
	oom = mem_cgroup_oom(m, task, over, gfp, order);
	zpa_spin_lock(&s->lock);
	if (oom != OOM_NONE) {
		passed_oom = true;
		oom_killed_nobody = oom == OOM_WAIT;
		nr_retries = MAX_RECLAIM_RETRIES;
		goto retry;
	}
nomem:
	/* No memcg reserve for atomic requests: high-priority ones go over the max. */
	if (!(gfp & (ZPA___GFP_NOFAIL | ZPA___GFP_HIGH))) {
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOMEM;
	}
force:
	if (!raised_max_event)
		memory_event_locked(over, MEMCG_MAX);
commit:
	if (table_reserve(s)) {
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOMEM;
	}
	table_put(s->tab, s->cap, pfn, g, order);
	s->used++;
	__atomic_fetch_or(&page->flags, PG_memcg, __ATOMIC_RELAXED);
	g->local += nr;
	for (struct zpa_memcg *c = g; c; c = c->parent) {
		c->usage += nr;
		if (c->usage > c->peak)
			c->peak = c->usage;
		over_high |= c->usage > c->high;
	}
	zpa_spin_unlock(&s->lock);
	if (over_high)
		reclaim_high(m, s, task, g, gfp);
	return 0;
}

/* Remove the charge of the block at pfn.  Lock held.  false if it had none. */
static bool uncharge_locked(struct memcg_state *s, struct zpa_page *page, unsigned long pfn)
{
	struct charge_slot *e = table_find(s, pfn);
	if (!e)
		return false;
	struct zpa_memcg *g = e->g;
	uint64_t nr = 1ull << e->order;
	table_del(s, e);
	__atomic_fetch_and(&page->flags, ~PG_memcg, __ATOMIC_RELAXED);
	g->local -= nr;
	for (struct zpa_memcg *c = g; c; c = c->parent)
		c->usage -= nr;
	return true;
}

int memcg_kmem_charge_page_task(struct zpa_machine *m, struct zpa_task *task, struct zpa_memcg *g,
				struct zpa_page *page, unsigned long pfn, unsigned order, zpa_gfp_t gfp)
{
	if (g->m != m) /* a group of another machine: the root's rules here */
		return 0;
	return try_charge(m, task ? task : zpa_task_current(), g, page, pfn, order, gfp);
}

void __memcg_kmem_uncharge_page(struct zpa_machine *m, struct zpa_page *page, unsigned long pfn)
{
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return;
	zpa_spin_lock(&s->lock);
	if (!uncharge_locked(s, page, pfn))
		__atomic_fetch_and(&page->flags, ~PG_memcg, __ATOMIC_RELAXED);
	zpa_spin_unlock(&s->lock);
}

/* The first page of the block at pfn; 0 or ZPA_EBADPFN. */
static int memcg_lookup(struct zpa_machine *m, zpa_pfn_t pfn, struct zpa_page **out)
{
	if (pfn > ~0ul)
		return ZPA_EBADPFN;
	pg_data_t *pgdat = pfn_to_pgdat(m, (unsigned long)pfn);
	if (!pgdat)
		return ZPA_EBADPFN;
	struct zpa_page *page = pfn_to_page_nid(pgdat, (unsigned long)pfn);
	if (READ_ONCE(page->flags) & (PG_hole | PG_reserved))
		return ZPA_EBADPFN;
	*out = page;
	return 0;
}

int zpa_memcg_charge_page(struct zpa_machine *m, struct zpa_memcg *g, zpa_pfn_t pfn, unsigned order, zpa_gfp_t gfp)
{
	struct zpa_page *page;
	if (!m || !g || g->m != m)
		return ZPA_EINVAL;
	int err = memcg_lookup(m, pfn, &page);
	if (err)
		return err;
	uint32_t f = READ_ONCE(page->flags);
	if (!(f & PG_alloc) || (f & (PG_tail | PG_memcg)) || __atomic_load_n(&page->refcount, __ATOMIC_RELAXED) <= 0)
		return ZPA_EBADPAGE;
	if ((f & PG_ORDER_MASK) != order)
		return ZPA_EORDER;
	return try_charge(m, zpa_task_current(), g, page, (unsigned long)pfn, order, gfp);
}

int zpa_memcg_uncharge_page(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page *page;
	if (!m)
		return ZPA_EINVAL;
	int err = memcg_lookup(m, pfn, &page);
	if (err)
		return err;
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return ZPA_EINVAL;
	zpa_spin_lock(&s->lock);
	bool had = (READ_ONCE(page->flags) & PG_memcg) && uncharge_locked(s, page, (unsigned long)pfn);
	zpa_spin_unlock(&s->lock);
	return had ? 0 : ZPA_EINVAL;
}

struct zpa_memcg *zpa_page_memcg(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page *page;
	if (!m || memcg_lookup(m, pfn, &page))
		return NULL;
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return NULL;
	zpa_spin_lock(&s->lock);
	struct charge_slot *e = table_find(s, (unsigned long)pfn);
	struct zpa_memcg *g = e ? e->g : NULL;
	zpa_spin_unlock(&s->lock);
	return g;
}

/* ---- for reclaim and migration (internal.h) ---- */

bool mem_cgroup_is_descendant(const struct zpa_memcg *g, const struct zpa_memcg *root)
{
	for (; g; g = g->parent)
		if (g == root)
			return true;
	return false;
}

bool page_memcg_in_subtree(struct zpa_machine *m, struct zpa_page *page, unsigned long pfn, const struct zpa_memcg *root)
{
	if (!(READ_ONCE(page->flags) & PG_memcg))
		return false;
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return false;
	zpa_spin_lock(&s->lock);
	struct charge_slot *e = table_find(s, pfn);
	bool in = e && mem_cgroup_is_descendant(e->g, root);
	zpa_spin_unlock(&s->lock);
	return in;
}

void mem_cgroup_migrate(struct zpa_machine *m, struct zpa_page *old, unsigned long old_pfn, struct zpa_page *new,
			unsigned long new_pfn)
{
	if (!(READ_ONCE(old->flags) & PG_memcg))
		return;
	struct memcg_state *s = memcg_state(m);
	zpa_spin_lock(&s->lock);
	struct charge_slot *e = table_find(s, old_pfn);
	if (e && table_reserve(s) == 0) {
		e = table_find(s, old_pfn); /* the table may have grown */
		struct zpa_memcg *g = e->g;
		unsigned order = e->order;
		table_del(s, e);
		table_put(s->tab, s->cap, new_pfn, g, order);
		s->used++;
		__atomic_fetch_and(&old->flags, ~PG_memcg, __ATOMIC_RELAXED);
		__atomic_fetch_or(&new->flags, PG_memcg, __ATOMIC_RELAXED);
	}
	zpa_spin_unlock(&s->lock);
}

/* ---- for the OOM killer and reclaim (internal.h) ---- */

uint64_t mem_cgroup_margin(struct zpa_memcg *g)
{
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	uint64_t margin = margin_locked(g);
	zpa_spin_unlock(&s->lock);
	return margin;
}

uint64_t mem_cgroup_get_max(struct zpa_machine *m, struct zpa_memcg *g)
{
	struct memcg_state *s = memcg_state(m);
	zpa_spin_lock(&s->lock);
	uint64_t max = g->max;
	zpa_spin_unlock(&s->lock);
	/* No per-group swap limit: the group may swap out as much as the machine has, if it swaps at all. */
	long swap = atomic_load_explicit(&m->total_swap_pages, memory_order_relaxed);
	if (READ_ONCE(m->t.swappiness) && swap > 0)
		max = max + (uint64_t)swap < max ? UINT64_MAX : max + (uint64_t)swap;
	return max;
}

bool mem_cgroup_task_in_subtree(struct zpa_machine *m, const struct zpa_task *task, const struct zpa_memcg *root)
{
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return false;
	zpa_spin_lock(&s->lock);
	const struct zpa_memcg *g = READ_ONCE(task->memcg);
	bool in = g && mem_cgroup_is_descendant(g, root);
	zpa_spin_unlock(&s->lock);
	return in;
}

void memcg_task_memory_event(struct zpa_machine *m, const struct zpa_task *task, enum memcg_memory_event ev)
{
	struct memcg_state *s = memcg_state(m);
	if (!s)
		return;
	zpa_spin_lock(&s->lock);
	struct zpa_memcg *g = READ_ONCE(task->memcg);
	if (g && g->m == m)
		memory_event_locked(g, ev);
	zpa_spin_unlock(&s->lock);
}

static void path_of(const struct zpa_memcg *g, struct zpa_buf *b)
{
	if (g->parent)
		path_of(g->parent, b);
	zpa_bprintf(b, "/%s", g->name);
}

void mem_cgroup_path(const struct zpa_memcg *g, char *buf, size_t size)
{
	struct zpa_buf b = { buf, size, 0 };
	if (!size)
		return;
	buf[0] = '\0';
	if (g)
		path_of(g, &b);
	else
		zpa_bprintf(&b, "/");
}

void mem_cgroup_task_path(struct zpa_machine *m, const struct zpa_task *task, char *buf, size_t size)
{
	struct memcg_state *s = memcg_state(m);
	if (!s || !task) {
		mem_cgroup_path(NULL, buf, size);
		return;
	}
	zpa_spin_lock(&s->lock);
	struct zpa_memcg *g = READ_ONCE(task->memcg);
	mem_cgroup_path(g && g->m == m ? g : NULL, buf, size);
	zpa_spin_unlock(&s->lock);
}

void mem_cgroup_print_oom_meminfo(struct zpa_machine *m, struct zpa_memcg *g)
{
	if (m->cfg.log_level < ZPA_LOG_INFO)
		return;
	struct zpa_memcg_stat st;
	zpa_memcg_stat(g, &st);
	unsigned shift = m->page_shift;
	/* "max" prints as Linux's PAGE_COUNTER_MAX */
	unsigned long long counter_max = (unsigned long long)(INT64_MAX >> shift) << (shift - 10);
	unsigned long long limit = st.max == ZPA_MEMCG_MAX || st.max > (uint64_t)(INT64_MAX >> shift)
		? counter_max : (unsigned long long)(st.max << (shift - 10));
	zpa_log(m, ZPA_LOG_INFO, "memory: usage %llukB, limit %llukB, failcnt %llu",
		(unsigned long long)(st.usage << (shift - 10)), limit, (unsigned long long)st.failcnt);
	zpa_log(m, ZPA_LOG_INFO, "swap: usage 0kB, limit %llukB, failcnt 0", counter_max);
	char path[256], text[512];
	mem_cgroup_path(g, path, sizeof path);
	zpa_log(m, ZPA_LOG_INFO, "Memory cgroup stats for %s:", path);
	struct zpa_buf b = { text, sizeof text, 0 };
	memory_stat_format(g, &st, &b);
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		zpa_log(m, ZPA_LOG_INFO, "%s", line);
	}
}

/*
 * effective_protection() of Linux 6.1 without memory_recursiveprot: the
 * group's claim min(usage, low), scaled down when its siblings together
 * claim more than the parent's effective protection.
 */
static uint64_t effective_protection(uint64_t usage, uint64_t setting, uint64_t parent_effective,
				     uint64_t siblings_protected)
{
	if (!usage)
		return 0;
	uint64_t protected = usage < setting ? usage : setting;
	if (siblings_protected > parent_effective)
		return (uint64_t)((unsigned __int128)protected * parent_effective / siblings_protected);
	return protected;
}

/* g's effective low under root (lock held; g in root's subtree, g != root). */
static uint64_t elow_locked(struct memcg_state *s, const struct zpa_memcg *root, const struct zpa_memcg *g)
{
	if (g == root || !g->usage)
		return 0;
	const struct zpa_memcg *parent = g->parent;
	if (parent == root)
		return g->low;
	/* The parent's children_low_usage: what its children claim. */
	uint64_t siblings = 0;
	for (const struct zpa_memcg *c = s->groups; c; c = c->next)
		if (c->parent == parent)
			siblings += c->usage < c->low ? c->usage : c->low;
	return effective_protection(g->usage, g->low, elow_locked(s, root, parent), siblings);
}

uint64_t mem_cgroup_protection(struct zpa_memcg *root, struct zpa_memcg *g)
{
	if (!g || (root && (root->m != g->m || !mem_cgroup_is_descendant(g, root))))
		return 0;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	uint64_t elow = elow_locked(s, root, g);
	zpa_spin_unlock(&s->lock);
	return elow;
}

bool mem_cgroup_below_low(struct zpa_memcg *root, struct zpa_memcg *g)
{
	if (!g || (root && (root->m != g->m || !mem_cgroup_is_descendant(g, root))))
		return false;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	bool below = g->usage && elow_locked(s, root, g) >= g->usage;
	zpa_spin_unlock(&s->lock);
	return below;
}
