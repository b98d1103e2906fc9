/*
 * pcp.c - per-CPU page lists (Linux 6.1's per_cpu_pages): the allocation
 * fast path, batched refill and drain, pcp high/batch sizing, per-CPU
 * statistic deltas, bulk allocation, and the hosted per-thread variant.
 *
 * How it works
 *   Order 0..PAGE_ALLOC_COSTLY_ORDER and pageblock-order requests are served
 *   from a list per (order, migratetype) of the caller's pageset.  An empty
 *   list is refilled with `batch` blocks (batch >> order, at least 2) taken
 *   from the buddy lists in one zone-lock section (rmqueue_bulk).  Frees go
 *   to the head of the list; when the pageset holds `high` pages or more, a
 *   batch (scaled up by free_factor while frees keep coming) goes back to the
 *   buddy lists round-robin across lists, oldest first (free_pcppages_bulk).
 *   Pages on a pcp list are not free in NR_FREE_PAGES terms (as in Linux).
 *
 * Pagesets
 *   A task with a CPU set uses that CPU's pageset, locked with its spinlock
 *   (trylock on the allocation path; on failure the request goes straight to
 *   the buddy lists, as Linux does).  A thread's default task (CPU -1) uses a
 *   pageset of its own: the hosted fast path.  Its owner enters and leaves it
 *   with two plain stores; anyone else (drain_all_pages, zpa_check, thread
 *   exit) raises remote_req, runs a process-wide membarrier() and waits for
 *   the owner to leave.  Without membarrier (or under TSan) the owner takes
 *   the spinlock instead.  Thread pagesets follow the same high/batch rules
 *   as CPU ones; they are returned when the thread exits or the machine dies.
 *
 * Invariants: a page on a pcp list has PG_pcp, its order and the list's
 * migratetype in its flags, refcount 0; pcp->count is the pages on its lists.
 * Lock order: pageset, then zone.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"
#include "pcp.h"

static inline unsigned pindex_to_order(const struct zpa_machine *m, unsigned pindex)
{
	return pindex >= NR_LOWORDER_PCP_LISTS ? m->pageblock_order : pindex / ZPA_MIGRATE_PCPTYPES;
}

/* ---------------------------------------------------------------- sizing */

static unsigned rounddown_pow_of_two(unsigned long n)
{
	unsigned long p = 1;
	while (p * 2 <= n)
		p *= 2;
	return (unsigned)p;
}

/* zone_batchsize(): about a quarter of a thousandth of the zone, at most 1 MiB / 4, 2^n - 1. */
static int zone_batchsize(const struct zpa_machine *m, const struct zone *z)
{
	unsigned long cap = (1ul << 20) >> m->page_shift;
	long batch = (long)((z->managed_pages >> 10) < cap ? (z->managed_pages >> 10) : cap);
	batch /= 4;
	if (batch < 1)
		batch = 1;
	return (int)rounddown_pow_of_two((unsigned long)(batch + batch / 2)) - 1;
}

static int cpus_on_node(const struct zpa_machine *m, int nid)
{
	int n = 0;
	for (unsigned c = 0; c < m->cfg.nr_cpus; c++)
		n += m->cfg.cpu_node[c] == nid;
	return n;
}

/* zone_highsize(): the zone's low watermark (or managed / fraction) split over the node's CPUs. */
static int zone_highsize(const struct zpa_machine *m, const struct zone *z, int batch, int cpu_online)
{
	unsigned long total_pages;
	if (!m->t.percpu_pagelist_high_fraction)
		total_pages = low_wmark_pages(z);
	else
		total_pages = z->managed_pages / (unsigned long)m->t.percpu_pagelist_high_fraction;
	int nr_split_cpus = cpus_on_node(m, z->zone_pgdat->node_id) + cpu_online;
	if (!nr_split_cpus)
		nr_split_cpus = (int)(m->cfg.nr_cpus ? m->cfg.nr_cpus : 1);
	int high = (int)(total_pages / (unsigned long)nr_split_cpus);
	return high > batch << 2 ? high : batch << 2;
}

/* calculate_normal_threshold(): vmstat's per-CPU drift allowance for a zone. */
static int calculate_normal_threshold(const struct zpa_machine *m, const struct zone *z)
{
	unsigned long mem = z->managed_pages >> (27 - m->page_shift);
	int cpus = (int)(m->cfg.nr_cpus ? m->cfg.nr_cpus : 1);
	int fls_cpus = 32 - __builtin_clz((unsigned)cpus);
	int fls_mem = mem ? 64 - __builtin_clzl(mem) : 0;
	int t = 2 * fls_cpus * (1 + fls_mem);
	return t < 125 ? t : 125;
}

static void pageset_apply(const struct zpa_machine *m, struct pageset *ps)
{
	for (unsigned g = 0; g < m->nr_gzones; g++) {
		const struct zone *z = &m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types];
		ps->z[g].pcp.high = z->pageset_high;
		ps->z[g].pcp.batch = z->pageset_batch;
		ps->z[g].stat_threshold = z->stat_threshold;
	}
}

static void thread_ps_remote_lock(struct pageset *ps);
static void thread_ps_remote_unlock(struct pageset *ps);

/*
 * zone_pcp_update() for every zone: recompute pcp high and batch from the
 * current watermarks and managed counts and apply them to every pageset, and
 * refresh the vmstat thresholds.  Called after watermarks change.
 */
void zone_pcp_update_all(struct zpa_machine *m)
{
	for (unsigned g = 0; g < m->nr_gzones; g++) {
		struct zone *z = &m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types];
		int batch = zone_batchsize(m, z);
		if (batch < 1)
			batch = 1;
		if (m->cfg.no_pcp) {
			z->pageset_high = 0; /* Linux's boot pageset: pass-through */
			z->pageset_batch = 1;
		} else {
			z->pageset_batch = batch;
			z->pageset_high = zone_highsize(m, z, batch, 0);
		}
		z->stat_threshold = m->cfg.exact_vmstat ? 0 : calculate_normal_threshold(m, z);
	}
	atomic_fetch_add(&m->fast_gen, 1);
	if (!m->cpu_pagesets)
		return;
	for (unsigned c = 0; c < m->cfg.nr_cpus; c++) {
		struct pageset *ps = m->cpu_pagesets[c];
		zpa_spin_lock(&ps->lock);
		pageset_apply(m, ps);
		zpa_spin_unlock(&ps->lock);
	}
	zpa_spin_lock(&m->thread_ps_lock);
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread) {
		thread_ps_remote_lock(ps);
		pageset_apply(m, ps);
		thread_ps_remote_unlock(ps);
	}
	zpa_spin_unlock(&m->thread_ps_lock);
}

static struct pageset *pageset_alloc(struct zpa_machine *m, int cpu, int nid, bool is_thread)
{
	struct pageset *ps = zpa_port_zalloc(sizeof(*ps) + m->nr_gzones * sizeof(struct per_cpu_zone));
	if (!ps)
		return NULL;
	zpa_spin_lock_init(&ps->lock);
	ps->cpu = cpu;
	ps->nid = nid;
	ps->is_thread = is_thread;
	ps->m = m;
	/* Without membarrier the owner must lock too: a standing remote request
	 * sends it down the locked path every time. */
	if (is_thread && !zpa_asym_ok)
		atomic_store(&ps->remote_req, 1);
	for (unsigned g = 0; g < m->nr_gzones; g++) {
		const struct zone *z = &m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types];
		for (unsigned i = 0; i < NR_PCP_LISTS; i++)
			ps->z[g].pcp.lists[i].head = ps->z[g].pcp.lists[i].tail = ZPA_NIL;
		ps->z[g].pb_flags = z->pageblock_flags;
		ps->z[g].pb_base = z->pb_base;
		ps->z[g].pb_shift = z->pageblock_shift;
	}
	pageset_apply(m, ps);
	return ps;
}

/* ------------------------------------------------------- locking a pageset */

int zpa_asym_ok; /* membarrier works: thread pagesets use the asymmetric lock */

/* A remote user is in or waiting: step aside and queue on the spinlock. */
void thread_ps_enter_slow(struct pageset *ps)
{
	atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
	zpa_spin_lock(&ps->lock);
	/* 2 = "inside, holding the spinlock"; remote users cannot be inside now. */
	atomic_store_explicit(&ps->owner_active, 2, memory_order_relaxed);
}

static void thread_ps_remote_lock(struct pageset *ps)
{
	zpa_spin_lock(&ps->lock);
	if (!zpa_asym_ok)
		return;
	atomic_store_explicit(&ps->remote_req, 1, memory_order_seq_cst);
	zpa_port_membarrier();
	while (atomic_load_explicit(&ps->owner_active, memory_order_acquire) == 1)
		zpa_port_cpu_relax();
}

static void thread_ps_remote_unlock(struct pageset *ps)
{
	if (zpa_asym_ok)
		atomic_store_explicit(&ps->remote_req, 0, memory_order_release);
	zpa_spin_unlock(&ps->lock);
}

/* Lock any pageset for the calling context; false if a CPU pageset is busy (trylock). */
static inline bool pageset_trylock(struct pageset *ps)
{
	if (ps->is_thread) {
		thread_ps_enter(ps);
		return true;
	}
	return zpa_spin_trylock(&ps->lock);
}

static inline void pageset_lock(struct pageset *ps)
{
	if (ps->is_thread)
		thread_ps_enter(ps);
	else
		zpa_spin_lock(&ps->lock);
}

static inline void pageset_unlock(struct pageset *ps)
{
	if (ps->is_thread)
		thread_ps_exit(ps);
	else
		zpa_spin_unlock(&ps->lock);
}

/* Lock somebody else's pageset (drains, audits). */
static void pageset_lock_remote(struct pageset *ps)
{
	if (ps->is_thread)
		thread_ps_remote_lock(ps);
	else
		zpa_spin_lock(&ps->lock);
}

static void pageset_unlock_remote(struct pageset *ps)
{
	if (ps->is_thread)
		thread_ps_remote_unlock(ps);
	else
		zpa_spin_unlock(&ps->lock);
}

/* Take the zone lock on behalf of a pageset: stat changes go to its diffs. */
static inline void zone_lock_for(struct zone *z, struct per_cpu_zone *pz)
{
	zpa_spin_lock(&z->lock);
	z->cur_stat_diff = pz->vm_stat_diff;
	z->cur_stat_threshold = pz->stat_threshold;
}

static inline void zone_unlock_for(struct zone *z)
{
	z->cur_stat_diff = NULL;
	zpa_spin_unlock(&z->lock);
}

/* ------------------------------------------------------- thread pagesets */

/*
 * The calling thread's pagesets, one per machine it used recently, found by
 * the machine's unique id (a machine freed and another created at the same
 * address never matches).  Entries of machines that are gone are dropped
 * without being touched: the machine freed their memory.
 */
__thread struct thread_slots tslots __attribute__((tls_model("initial-exec")));

/* Registry of live machines, by uid (process-wide, under the port's registry lock). */
struct live_machine {
	uint64_t uid;
	struct zpa_machine *m;
	struct live_machine *next;
};
static struct live_machine *live_machines;
static uint64_t next_uid = 1;

static struct zpa_machine *registry_find(uint64_t uid)
{
	for (struct live_machine *l = live_machines; l; l = l->next)
		if (l->uid == uid)
			return l->m;
	return NULL;
}

static void drain_pageset_locked(struct zpa_machine *m, struct pageset *ps);
static void pageset_lock_remote(struct pageset *ps);
static void pageset_unlock_remote(struct pageset *ps);

/* Return a thread pageset to its machine and free it.  Registry lock held; machine alive. */
static void thread_pageset_release(struct zpa_machine *m, struct pageset *ps)
{
	zpa_spin_lock(&m->thread_ps_lock);
	struct pageset **pp = &m->thread_pagesets;
	while (*pp && *pp != ps)
		pp = &(*pp)->next_thread;
	if (*pp)
		*pp = ps->next_thread;
	zpa_spin_unlock(&m->thread_ps_lock);
	pageset_lock_remote(ps);
	drain_pageset_locked(m, ps);
	atomic_fetch_add_explicit(&m->dead_pgfree, ps->pgfree, memory_order_relaxed);
	for (unsigned g = 0; g < m->nr_gzones; g++) {
		struct zone *z = &m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types];
		unsigned long fa = ps->z[g].fast_allocs;
		atomic_fetch_add_explicit(&z->pgalloc, ps->z[g].pgalloc + fa, memory_order_relaxed);
		for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
			atomic_fetch_add_explicit(&z->vm_numa_event[i], (long)ps->z[g].numa_event[i],
						  memory_order_relaxed);
		atomic_fetch_add_explicit(&z->vm_numa_event[NUMA_HIT], (long)fa, memory_order_relaxed);
		atomic_fetch_add_explicit(&z->vm_numa_event[z->zone_pgdat->node_id == ps->nid ? NUMA_LOCAL : NUMA_OTHER],
					  (long)fa, memory_order_relaxed);
		zpa_spin_lock(&z->lock);
		/* Atomic adds: the LRU counters change without the zone lock (swap.c). */
		for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
			if (ps->z[g].vm_stat_diff[i])
				__atomic_add_fetch(&z->vm_stat[i], ps->z[g].vm_stat_diff[i], __ATOMIC_RELAXED);
		zpa_spin_unlock(&z->lock);
	}
	pageset_unlock_remote(ps);
	zpa_port_free(ps);
}

static void thread_exit(void *arg)
{
	struct thread_slots *ts = arg;
	zpa_port_registry_lock();
	for (int i = 0; i < THREAD_SLOTS; i++) {
		if (!ts->ps[i])
			continue;
		struct zpa_machine *m = registry_find(ts->uid[i]);
		if (m)
			thread_pageset_release(m, ts->ps[i]);
		ts->ps[i] = NULL;
		ts->uid[i] = 0;
	}
	ts->fast_uid = 0;
	zpa_port_registry_unlock();
}

/* The calling thread's pageset for m, created on first use. */
static struct pageset *thread_pageset_slow(struct zpa_machine *m)
{
	struct thread_slots *ts = &tslots;
	int slot = -1;
	zpa_port_registry_lock();
	for (int i = 0; i < THREAD_SLOTS; i++) {
		if (ts->ps[i] && !registry_find(ts->uid[i])) {
			ts->ps[i] = NULL; /* its machine is gone, and so is its memory */
			ts->uid[i] = 0;
			ts->fast_uid = 0;
		}
		if (!ts->ps[i] && slot < 0)
			slot = i;
	}
	if (slot < 0) {
		/* Evict the last slot: give its pages back to its machine. */
		slot = THREAD_SLOTS - 1;
		thread_pageset_release(registry_find(ts->uid[slot]), ts->ps[slot]);
		ts->ps[slot] = NULL;
		ts->uid[slot] = 0;
	}
	int cpu = zpa_port_cpu_id();
	int nid = m->cfg.nr_cpus ? m->cfg.cpu_node[cpu % (int)m->cfg.nr_cpus] : 0;
	struct pageset *ps = pageset_alloc(m, -1, nid, true);
	if (ps) {
		zpa_spin_lock(&m->thread_ps_lock);
		pageset_apply(m, ps); /* under the list lock: zone_pcp_update_all sees it or it sees the update */
		ps->next_thread = m->thread_pagesets;
		m->thread_pagesets = ps;
		zpa_spin_unlock(&m->thread_ps_lock);
		ts->uid[slot] = m->uid;
		ts->ps[slot] = ps;
		if (slot == 0)
			thread_slots_refresh();
		if (!ts->hooked)
			ts->hooked = zpa_port_thread_exit_hook(thread_exit, ts) == 0;
	}
	zpa_port_registry_unlock();
	return ps;
}

/*
 * Keep fast_uid true to its definition after slot 0, the thread's CPU, or its
 * task's memory policy or cpuset changes: the fast paths serve a thread whose
 * task has no CPU set, and the allocation fast path's decision (first zone of
 * the home node) is also the policy's only for the default policy without a
 * cpuset.  A thread with a policy or cpuset frees the long way too.
 */
void thread_slots_refresh(void)
{
	const struct zpa_task *t = zpa_task_current();
	tslots.fast_uid = zpa_task_cpu(t) < 0 && !t->mempolicy && !t->cpuset_active ? tslots.uid[0] : 0;
}

static inline struct pageset *thread_pageset(struct zpa_machine *m)
{
	struct thread_slots *ts = &tslots;
	if (likely(ts->uid[0] == m->uid))
		return ts->ps[0];
	for (int i = 1; i < THREAD_SLOTS; i++)
		if (ts->uid[i] == m->uid) {
			/* move to the front */
			uint64_t u = ts->uid[i];
			struct pageset *p = ts->ps[i];
			ts->uid[i] = ts->uid[0];
			ts->ps[i] = ts->ps[0];
			ts->uid[0] = u;
			ts->ps[0] = p;
			thread_slots_refresh();
			return p;
		}
	struct pageset *ps = thread_pageset_slow(m);
	if (ps && ts->uid[0] != m->uid)
		return thread_pageset(m);
	return ps;
}

/* The pageset a task uses on machine m (NULL if none could be made). */
struct pageset *task_pageset(struct zpa_machine *m, const struct zpa_task *t)
{
	if (t->cpu >= 0 && m->cfg.nr_cpus)
		return m->cpu_pagesets[t->cpu % (int)m->cfg.nr_cpus];
	return thread_pageset(m);
}

/* ------------------------------------------------------------ setup */

int pcp_init(struct zpa_machine *m)
{
	m->nr_gzones = m->nr_nodes * m->nr_zone_types;
	for (unsigned g = 0; g < m->nr_gzones; g++)
		m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types].gzi = (int)g;
	zpa_spin_lock_init(&m->thread_ps_lock);
	zpa_asym_ok = zpa_port_membarrier_init() == 0;
	zone_pcp_update_all(m);
	unsigned ncpu = m->cfg.nr_cpus ? m->cfg.nr_cpus : 1;
	m->cpu_pagesets = zpa_port_zalloc(ncpu * sizeof(*m->cpu_pagesets));
	if (!m->cpu_pagesets)
		return ZPA_ENOMEM;
	for (unsigned c = 0; c < ncpu; c++) {
		int nid = m->cfg.nr_cpus ? m->cfg.cpu_node[c] : 0;
		m->cpu_pagesets[c] = pageset_alloc(m, (int)c, nid, false);
		if (!m->cpu_pagesets[c])
			return ZPA_ENOMEM;
	}
	zpa_port_registry_lock();
	struct live_machine *l = zpa_port_zalloc(sizeof(*l));
	if (l) {
		m->uid = next_uid++;
		l->uid = m->uid;
		l->m = m;
		l->next = live_machines;
		live_machines = l;
	}
	zpa_port_registry_unlock();
	return l ? 0 : ZPA_ENOMEM;
}

/* Forget the machine: its thread pagesets die with it (threads drop stale slots). */
void pcp_destroy(struct zpa_machine *m)
{
	zpa_port_registry_lock();
	for (struct live_machine **pp = &live_machines; *pp; pp = &(*pp)->next)
		if ((*pp)->m == m && (*pp)->uid == m->uid) {
			struct live_machine *l = *pp;
			*pp = l->next;
			zpa_port_free(l);
			break;
		}
	struct thread_slots *ts = &tslots; /* the calling thread's slot, if any, goes now */
	for (int i = 0; i < THREAD_SLOTS; i++)
		if (ts->uid[i] == m->uid) {
			ts->uid[i] = 0;
			ts->ps[i] = NULL;
		}
	thread_slots_refresh();
	zpa_port_registry_unlock();
	struct pageset *ps = m->thread_pagesets;
	while (ps) {
		struct pageset *next = ps->next_thread;
		zpa_port_free(ps);
		ps = next;
	}
	m->thread_pagesets = NULL;
	if (m->cpu_pagesets)
		for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++)
			zpa_port_free(m->cpu_pagesets[c]);
	zpa_port_free(m->cpu_pagesets);
	m->cpu_pagesets = NULL;
}

/* ------------------------------------------------------------ lists */

static inline void pcp_list_add(struct zone *z, struct free_list *fl, struct zpa_page *page, bool tail)
{
	uint32_t idx = page_index(z, page);
	if (fl->head == ZPA_NIL) {
		page->next = page->prev = ZPA_NIL;
		fl->head = fl->tail = idx;
	} else if (tail) {
		page->prev = fl->tail;
		page->next = ZPA_NIL;
		z->mem_map[fl->tail].next = idx;
		fl->tail = idx;
	} else {
		page->next = fl->head;
		page->prev = ZPA_NIL;
		z->mem_map[fl->head].prev = idx;
		fl->head = idx;
	}
}

static inline void pcp_list_del(struct zone *z, struct free_list *fl, struct zpa_page *page)
{
	if (page->prev == ZPA_NIL)
		fl->head = page->next;
	else
		z->mem_map[page->prev].next = page->next;
	if (page->next == ZPA_NIL)
		fl->tail = page->prev;
	else
		z->mem_map[page->next].prev = page->prev;
}

static inline void mark_pcp(struct zpa_page *page, unsigned order, int mt)
{
	WRITE_ONCE(page->flags, (page->flags & PG_ZONE_MASK) | PG_pcp | order | ((uint32_t)mt << PG_MT_SHIFT));
}

static inline int pcp_page_mt(const struct zpa_page *page)
{
	return (int)((page->flags & PG_MT_MASK) >> PG_MT_SHIFT);
}

/*
 * rmqueue_bulk(): move up to count blocks of this order and migratetype from
 * the buddy lists to a pcp list, under one hold of the zone lock.  Returns
 * the number of blocks moved.
 */
static int rmqueue_bulk(struct zpa_machine *m, struct zone *z, struct per_cpu_zone *pz, unsigned order,
			int count, struct free_list *list, int mt, unsigned alloc_flags)
{
	int i = 0, allocated = 0;
	struct zpa_page *got[64];
	zone_lock_for(z, pz);
	/* The common case, blocks of the wanted type, in one pass (same result as
	 * one __rmqueue_smallest per block); fallback, block by block, after. */
	while (i < count && !(m->has_cma && rmqueue_cma_first(z, alloc_flags))) {
		int want = count - i < 64 ? count - i : 64;
		int n = __rmqueue_smallest_bulk(z, order, mt, want, got);
		for (int k = 0; k < n; k++) {
			mark_pcp(got[k], order, mt);
			pcp_list_add(z, list, got[k], true);
		}
		i += n;
		allocated += n;
		if (n < want)
			break;
	}
	for (; i < count; i++) {
		struct zpa_page *page = __rmqueue(m, z, order, mt, alloc_flags);
		if (unlikely(!page))
			break;
		int from_mt = pcp_page_mt(page); /* the list it came from */
		mark_pcp(page, order, from_mt);
		pcp_list_add(z, list, page, true);
		allocated++;
		if (unlikely(from_mt == ZPA_MIGRATE_CMA))
			__mod_zone_page_state(z, NR_FREE_CMA_PAGES, -(1l << order));
	}
	/* One update for the batch, as Linux does (isolated pageblocks never
	 * reach a pcp list: __rmqueue does not take from MIGRATE_ISOLATE). */
	__mod_zone_page_state(z, NR_FREE_PAGES, -((long)i << order));
	zone_unlock_for(z);
	return allocated;
}

/*
 * free_pcppages_bulk(): give count pages back to the buddy lists, taking the
 * oldest (tail) blocks of each list in turn starting after pindex.
 * Pageset locked.
 */
static void free_pcppages_bulk(struct zpa_machine *m, struct zone *z, struct per_cpu_zone *pz, int count,
			       int pindex)
{
	struct per_cpu_pages *pcp = &pz->pcp;
	int min_pindex = 0, max_pindex = NR_PCP_LISTS - 1;
	if (count > pcp->count)
		count = pcp->count;
	pindex--;
	zone_lock_for(z, pz);
	bool isolated = z->nr_isolate_pageblock != 0; /* has_isolate_pageblock() */
	while (count > 0) {
		struct free_list *list;
		for (;;) {
			if (++pindex > max_pindex)
				pindex = min_pindex;
			list = &pcp->lists[pindex];
			if (list->head != ZPA_NIL)
				break;
			if (pindex == max_pindex)
				max_pindex--;
			if (pindex == min_pindex)
				min_pindex++;
		}
		unsigned order = pindex_to_order(m, (unsigned)pindex);
		int nr_pages = 1 << order;
		do {
			struct zpa_page *page = &z->mem_map[list->tail];
			int mt = pcp_page_mt(page);
			pcp_list_del(z, list, page);
			count -= nr_pages;
			pcp->count -= nr_pages;
			unsigned long pfn = page_to_pfn(z, page);
			WRITE_ONCE(page->flags, page->flags & PG_ZONE_MASK);
			if (unlikely(mt >= ZPA_MIGRATE_PCPTYPES || (isolated && get_pageblock_migratetype(z, pfn) == ZPA_MIGRATE_ISOLATE)))
				mt = get_pageblock_migratetype(z, pfn);
			__free_one_page(m, z, pfn, order, mt, false);
		} while (count > 0 && list->head != ZPA_NIL);
	}
	zone_unlock_for(z);
}

/* --------------------------------------------------------- allocation */

static inline bool pcp_allowed_order(const struct zpa_machine *m, unsigned order)
{
	return order <= PAGE_ALLOC_COSTLY_ORDER || order == m->pageblock_order;
}

/* __rmqueue_pcplist(): a block from the list, refilling it in a batch if empty. */
static struct zpa_page *__rmqueue_pcplist(struct zpa_machine *m, struct zone *z, struct per_cpu_zone *pz,
					  unsigned order, int mt, unsigned alloc_flags, struct free_list *list)
{
	struct per_cpu_pages *pcp = &pz->pcp;
	if (list->head == ZPA_NIL) {
		int batch = pcp->batch;
		if (batch > 1) {
			batch >>= order;
			if (batch < 2)
				batch = 2;
		}
		int alloced = rmqueue_bulk(m, z, pz, order, batch, list, mt, alloc_flags);
		pcp->count += alloced << order;
		if (unlikely(list->head == ZPA_NIL))
			return NULL;
	}
	struct zpa_page *page = &z->mem_map[list->head];
	pcp_list_del(z, list, page);
	pcp->count -= 1 << order;
	return page;
}

/*
 * rmqueue_pcplist(): allocate from the task's pageset.  NULL if the pageset is
 * busy (a CPU pageset in use by another thread) or the zone has no pages of a
 * usable type; the caller then tries the buddy lists directly.
 * The returned page keeps the migratetype of its list in its flags.
 */
struct zpa_page *rmqueue_pcplist(struct zpa_machine *m, struct pageset *ps, struct zone *preferred,
				 struct zone *z, unsigned order, int mt, unsigned alloc_flags)
{
	if (!pcp_allowed_order(m, order))
		return NULL;
	if (!pageset_trylock(ps))
		return NULL;
	struct per_cpu_zone *pz = &ps->z[z->gzi];
	pz->pcp.free_factor >>= 1;
	struct free_list *list = &pz->pcp.lists[order_to_pindex(m, mt, order)];
	struct zpa_page *page = __rmqueue_pcplist(m, z, pz, order, mt, alloc_flags, list);
	if (page) {
		pz->pgalloc += 1ul << order;
		pcp_zone_statistics(ps, preferred, z, 1);
	}
	pageset_unlock(ps);
	return page;
}

/*
 * zone_statistics() for a pageset: numa_hit or numa_miss (+ numa_foreign on
 * the preferred zone), and numa_local or numa_other by the pageset's node.
 * Pageset locked.
 */
void pcp_zone_statistics(struct pageset *ps, struct zone *preferred, struct zone *z, long nr)
{
	int nid = z->zone_pgdat->node_id;
	struct per_cpu_zone *pz = &ps->z[z->gzi];
	if (likely(nid == preferred->zone_pgdat->node_id)) {
		pz->numa_event[NUMA_HIT] += (unsigned long)nr;
	} else {
		pz->numa_event[NUMA_MISS] += (unsigned long)nr;
		ps->z[preferred->gzi].numa_event[NUMA_FOREIGN] += (unsigned long)nr;
	}
	pz->numa_event[nid == ps->nid ? NUMA_LOCAL : NUMA_OTHER] += (unsigned long)nr;
}

/* The same for allocations that bypass the pagesets (counted in the zone). */
void zone_count_alloc(struct zpa_machine *m, struct pageset *ps, struct zone *preferred, struct zone *z,
		      unsigned order)
{
	if (ps && pageset_trylock(ps)) {
		ps->z[z->gzi].pgalloc += 1ul << order;
		pcp_zone_statistics(ps, preferred, z, 1);
		pageset_unlock(ps);
		return;
	}
	atomic_fetch_add_explicit(&z->pgalloc, 1ul << order, memory_order_relaxed);
	int nid = z->zone_pgdat->node_id;
	if (nid == preferred->zone_pgdat->node_id) {
		atomic_fetch_add_explicit(&z->vm_numa_event[NUMA_HIT], 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&z->vm_numa_event[NUMA_MISS], 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&preferred->vm_numa_event[NUMA_FOREIGN], 1, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&z->vm_numa_event[ps && nid == ps->nid ? NUMA_LOCAL : NUMA_OTHER], 1,
				  memory_order_relaxed);
}

/* --------------------------------------------------------------- free */

/* nr_pcp_free(): how many pages to give back; grows while frees keep coming. */
static int nr_pcp_free(struct per_cpu_pages *pcp, int high, int batch, bool free_high)
{
	if (unlikely(free_high))
		return pcp->count;
	if (unlikely(high < batch))
		return 1;
	int min_nr_free = batch, max_nr_free = high - batch;
	batch <<= pcp->free_factor;
	if (batch < max_nr_free && pcp->free_factor < 5) /* CONFIG_PCP_BATCH_SCALE_MAX */
		pcp->free_factor++;
	return batch < min_nr_free ? min_nr_free : batch > max_nr_free ? max_nr_free : batch;
}

/*
 * free_unref_page(): put a block whose last reference is gone on the task's
 * pcp list (or straight to the buddy lists if the pageset is busy or the
 * block's pageblock is isolated), draining a batch past `high`.
 * page->refcount is already 0; mt is its pageblock's migratetype.
 */
void free_unref_page(struct zpa_machine *m, struct pageset *ps, struct zone *z, struct zpa_page *page,
		     unsigned long pfn, unsigned order, int mt)
{
	int pcpmt = mt;
	if (unlikely(mt >= ZPA_MIGRATE_PCPTYPES)) {
		if (mt == ZPA_MIGRATE_ISOLATE || !ps)
			goto direct;
		pcpmt = ZPA_MIGRATE_MOVABLE;
	}
	if (!ps || !pageset_trylock(ps))
		goto direct;
	struct per_cpu_zone *pz = &ps->z[z->gzi];
	struct per_cpu_pages *pcp = &pz->pcp;
	unsigned pindex = order_to_pindex(m, pcpmt, order);
	ps->pgfree += 1ul << order;
	mark_pcp(page, order, mt);
	pcp_list_add(z, &pcp->lists[pindex], page, false);
	pcp->count += 1 << order;
	bool free_high = pcp->free_factor && order && order <= PAGE_ALLOC_COSTLY_ORDER;
	int high = (free_high || !pcp->high) ? 0 : pcp->high;
	if (pcp->count >= high)
		free_pcppages_bulk(m, z, pz, nr_pcp_free(pcp, high, pcp->batch, free_high), (int)pindex);
	pageset_unlock(ps);
	return;
direct:
	WRITE_ONCE(page->flags, page->flags & PG_ZONE_MASK);
	zpa_spin_lock(&z->lock);
	__free_one_page(m, z, pfn, order, get_pageblock_migratetype(z, pfn), false);
	zpa_spin_unlock(&z->lock);
	count_vm_event(m, PGFREE, 1ul << order);
}

/* --------------------------------------------------------------- drains */

static void drain_pages_zone(struct zpa_machine *m, struct pageset *ps, struct zone *z)
{
	struct per_cpu_zone *pz = &ps->z[z->gzi];
	while (pz->pcp.count) {
		int to_drain = pz->pcp.count;
		int cap = pz->pcp.batch << 5;
		if (to_drain > cap)
			to_drain = cap;
		free_pcppages_bulk(m, z, pz, to_drain, 0);
	}
}

/* Drain every zone of a pageset that the caller has locked (or owns exclusively). */
static void drain_pageset_locked(struct zpa_machine *m, struct pageset *ps)
{
	for (unsigned g = 0; g < m->nr_gzones; g++)
		drain_pages_zone(m, ps, &m->nodes[g / m->nr_zone_types]->node_zones[g % m->nr_zone_types]);
}

static void drain_pageset(struct zpa_machine *m, struct pageset *ps)
{
	pageset_lock_remote(ps);
	drain_pageset_locked(m, ps);
	pageset_unlock_remote(ps);
}

void zpa_drain_local_pages(struct zpa_machine *m, struct zpa_task *task)
{
	if (!task)
		task = zpa_task_current();
	struct pageset *ps = task_pageset(m, task);
	if (!ps)
		return;
	pageset_lock(ps);
	drain_pageset_locked(m, ps);
	pageset_unlock(ps);
}

void zpa_drain_all_pages(struct zpa_machine *m)
{
	for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++)
		drain_pageset(m, m->cpu_pagesets[c]);
	zpa_spin_lock(&m->thread_ps_lock);
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread)
		drain_pageset(m, ps);
	zpa_spin_unlock(&m->thread_ps_lock);
}

/* ------------------------------------------------------ audit support */

/* Call fn on every pageset with it locked (for zpa_check and the views). */
void for_each_pageset_locked(struct zpa_machine *m, void (*fn)(struct zpa_machine *, struct pageset *, void *),
			     void *arg)
{
	for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++) {
		pageset_lock_remote(m->cpu_pagesets[c]);
		fn(m, m->cpu_pagesets[c], arg);
		pageset_unlock_remote(m->cpu_pagesets[c]);
	}
	zpa_spin_lock(&m->thread_ps_lock);
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread) {
		pageset_lock_remote(ps);
		fn(m, ps, arg);
		pageset_unlock_remote(ps);
	}
	zpa_spin_unlock(&m->thread_ps_lock);
}

void pagesets_lock_all(struct zpa_machine *m)
{
	for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++)
		zpa_spin_lock(&m->cpu_pagesets[c]->lock);
	zpa_spin_lock(&m->thread_ps_lock);
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread)
		thread_ps_remote_lock(ps);
}

void pagesets_unlock_all(struct zpa_machine *m)
{
	for (struct pageset *ps = m->thread_pagesets; ps; ps = ps->next_thread)
		thread_ps_remote_unlock(ps);
	zpa_spin_unlock(&m->thread_ps_lock);
	for (unsigned c = 0; c < (m->cfg.nr_cpus ? m->cfg.nr_cpus : 1); c++)
		zpa_spin_unlock(&m->cpu_pagesets[c]->lock);
}

/* ------------------------------------------------------ statistics reads */

struct stat_sum {
	int gzi;
	int cpu_count[ZPA_MAX_CPUS];
	long stat[NR_VM_ZONE_STAT_ITEMS];
	unsigned long pgalloc, pcp_pages;
	unsigned long numa[NR_VM_NUMA_EVENT_ITEMS];
	unsigned long pgfree;
};

static void sum_one(struct zpa_machine *m, struct pageset *ps, void *arg)
{
	struct stat_sum *s = arg;
	s->pgfree += ps->pgfree;
	if (s->gzi < 0)
		return;
	const struct per_cpu_zone *pz = &ps->z[s->gzi];
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		s->stat[i] += pz->vm_stat_diff[i];
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		s->numa[i] += pz->numa_event[i];
	s->pgalloc += pz->pgalloc + pz->fast_allocs;
	s->numa[NUMA_HIT] += pz->fast_allocs;
	s->numa[(int)(s->gzi / (int)m->nr_zone_types) == ps->nid ? NUMA_LOCAL : NUMA_OTHER] += pz->fast_allocs;
	s->pcp_pages += (unsigned long)pz->pcp.count;
	if (!ps->is_thread && ps->cpu >= 0 && ps->cpu < ZPA_MAX_CPUS)
		s->cpu_count[ps->cpu] = pz->pcp.count;
}

/*
 * Exact statistics of one zone: folded values plus every pageset's deltas
 * (zone_page_state_snapshot and the event sums).  Takes every pageset lock
 * in turn, then the zone lock.
 */
void zone_stats_snapshot(struct zpa_machine *m, struct zone *z, struct zone_stats *out)
{
	struct stat_sum s;
	memset(&s, 0, sizeof s);
	s.gzi = z->gzi;
	for_each_pageset_locked(m, sum_one, &s);
	zpa_spin_lock(&z->lock);
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++) {
		long v = READ_ONCE(z->vm_stat[i]) + s.stat[i];
		out->stat[i] = v < 0 ? 0 : (unsigned long)v;
	}
	zpa_spin_unlock(&z->lock);
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		out->numa[i] = s.numa[i] + (unsigned long)atomic_load(&z->vm_numa_event[i]);
	out->pgalloc = s.pgalloc + atomic_load(&z->pgalloc);
	out->pcp_pages = s.pcp_pages;
	memcpy(out->cpu_count, s.cpu_count, sizeof out->cpu_count);
}

unsigned long machine_pgfree(struct zpa_machine *m)
{
	struct stat_sum s;
	memset(&s, 0, sizeof s);
	s.gzi = -1;
	for_each_pageset_locked(m, sum_one, &s);
	return s.pgfree + atomic_load(&m->dead_pgfree) + atomic_load(&m->vm_events[PGFREE]);
}

/* ------------------------------------------------------------ bulk */

/*
 * __alloc_pages_bulk(): fill array slots (or extend list) with order-0 pages
 * from one zone's pcp list under one pageset hold; on any obstacle fall back
 * to a single zpa__alloc_pages() for one page.  Returns the populated count.
 */
static unsigned long alloc_pages_bulk(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
				      int preferred_nid, const zpa_nodemask_t *nodemask, unsigned long nr_pages,
				      zpa_pfn_t *array, struct zpa_page_list *list)
{
	unsigned long nr_populated = 0, nr_account = 0;
	if (!task)
		task = zpa_task_current();
	if (array)
		while (nr_populated < nr_pages && array[nr_populated] != ZPA_PFN_NONE)
			nr_populated++;
	else
		nr_populated = list->nr;
	if (nr_populated >= nr_pages)
		return nr_populated;
	if (nr_pages - nr_populated == 1 || gfp_check(gfp, 0, m->max_order, NULL) != 0)
		goto failed;
	/* Like Linux's, the bulk path does not charge: __GFP_ACCOUNT goes one page at a time. */
	if ((gfp & ZPA___GFP_ACCOUNT) && memcg_kmem_enabled(m))
		goto failed;

	struct alloc_context ac;
	struct zone *zone = NULL;
	if (!prepare_alloc_context(m, task, gfp & m->gfp_allowed_mask, preferred_nid, nodemask, &ac))
		goto failed;
	gfp = current_gfp_context(task, gfp & m->gfp_allowed_mask);
	/* Fault injection asks once per bulk call, as Linux's prepare_alloc_pages(). */
	if (should_fail_alloc_page(m, gfp, 0, &ac))
		return nr_populated;
	unsigned alloc_flags = ALLOC_WMARK_LOW;
	if (ac.migratetype == ZPA_MIGRATE_MOVABLE)
		alloc_flags |= ALLOC_CMA;
	for (struct zoneref *zr = ac.preferred_zoneref; zr->zone; zr++) {
		if (zr->zone_idx > ac.highest_zoneidx || !zpa_node_isset(ac.nodemask, zr->zone->zone_pgdat->node_id))
			continue;
		if (m->nr_nodes > 1 && zr->zone != ac.preferred_zoneref->zone &&
		    zr->zone->zone_pgdat->node_id != ac.preferred_zoneref->zone->zone_pgdat->node_id)
			goto failed;
		unsigned long mark = wmark_pages(zr->zone, ALLOC_WMARK_LOW) + nr_pages;
		if (zone_watermark_fast(m, zr->zone, 0, mark, ac.preferred_zoneref->zone_idx, alloc_flags, gfp)) {
			zone = zr->zone;
			break;
		}
	}
	if (!zone)
		goto failed;
	struct pageset *ps = task_pageset(m, task);
	if (!ps || !pageset_trylock(ps))
		goto failed;
	struct per_cpu_zone *pz = &ps->z[zone->gzi];
	struct free_list *pl = &pz->pcp.lists[order_to_pindex(m, ac.migratetype, 0)];
	/* A page handed out here needs only its flags word and count, unless
	 * it must be zeroed (backed memory): then prep_new_page() does it. */
	bool simple = !((gfp & ZPA___GFP_ZERO) && m->cfg.mem_mode == ZPA_MEM_BACKED);
	uint64_t word = (1ull << 32) | ((uint32_t)zone->idx << PG_ZONE_SHIFT) | PG_alloc |
			(ac.migratetype == ZPA_MIGRATE_MOVABLE ? PG_lru : 0);
	while (nr_populated < nr_pages) {
		if (array && array[nr_populated] != ZPA_PFN_NONE) {
			nr_populated++;
			continue;
		}
		struct zpa_page *page;
		uint32_t idx = pl->head;
		if (likely(idx != ZPA_NIL)) {
			/* pop the head of the list without the refill check */
			page = &zone->mem_map[idx];
			uint32_t next = page->next;
			pl->head = next;
			if (next != ZPA_NIL)
				zone->mem_map[next].prev = ZPA_NIL;
			else
				pl->tail = ZPA_NIL;
			pz->pcp.count--;
		} else {
			page = __rmqueue_pcplist(m, zone, pz, 0, ac.migratetype, alloc_flags, pl);
			if (unlikely(!page)) {
				if (!nr_account) {
					pageset_unlock(ps);
					goto failed;
				}
				break;
			}
			idx = page_index(zone, page);
		}
		nr_account++;
		if (likely(simple))
			__atomic_store_n((uint64_t *)&page->flags, word, __ATOMIC_RELAXED);
		else
			prep_new_page(m, zone, page, 0, gfp, ac.migratetype);
		zpa_pfn_t pfn = zone->node_start_pfn + idx;
		if (array)
			array[nr_populated] = pfn;
		else
			page_list_push(m, list, pfn);
		nr_populated++;
	}
	pz->pgalloc += nr_account;
	pcp_zone_statistics(ps, ac.preferred_zoneref->zone, zone, (long)nr_account);
	pageset_unlock(ps);
	return nr_populated;

failed:;
	zpa_pfn_t pfn = zpa__alloc_pages(m, task, gfp, 0, preferred_nid, nodemask);
	if (pfn != ZPA_PFN_NONE) {
		if (array)
			array[nr_populated] = pfn;
		else
			page_list_push(m, list, pfn);
		nr_populated++;
	}
	return nr_populated;
}

unsigned long zpa_alloc_pages_bulk_array(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					 int preferred_nid, const zpa_nodemask_t *nodemask, unsigned long nr_pages,
					 zpa_pfn_t *array)
{
	if (!array)
		return 0;
	return alloc_pages_bulk(m, task, gfp, preferred_nid, nodemask, nr_pages, array, NULL);
}

unsigned long zpa_alloc_pages_bulk_list(struct zpa_machine *m, struct zpa_task *task, zpa_gfp_t gfp,
					int preferred_nid, const zpa_nodemask_t *nodemask, unsigned long nr_pages,
					struct zpa_page_list *list)
{
	if (!list)
		return 0;
	return alloc_pages_bulk(m, task, gfp, preferred_nid, nodemask, nr_pages, NULL, list);
}

/*
 * Free n order-0 pages (release_pages()-like).  Each goes through the
 * calling thread's fast path when it can; errors are reported per page and
 * the first is returned, the rest still freed.
 */
int zpa_free_pages_bulk(struct zpa_machine *m, const zpa_pfn_t *pfns, unsigned long n)
{
	int first = 0;
	unsigned long i = 0;
	struct thread_slots *ts = &tslots;
	pg_data_t *pgdat = m->nodes[0];
	if (ts->fast_uid == m->uid) {
		/*
		 * The thread's own pageset, entered once for the run: each plain
		 * order-0 page with one reference on node 0 goes on its list as the
		 * single-page fast path would put it; the first page that needs
		 * more (or a list reaching `high`) ends the run.
		 */
		struct pageset *ps = ts->ps[0];
		atomic_store_explicit(&ps->owner_active, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		if (!atomic_load_explicit(&ps->remote_req, memory_order_relaxed)) {
			for (; i < n; i++) {
				unsigned long off = (unsigned long)pfns[i] - pgdat->node_start_pfn;
				if (off >= pgdat->node_spanned_pages)
					break;
				struct zpa_page *page = &pgdat->node_mem_map[off];
				uint64_t word = __atomic_load_n((uint64_t *)&page->flags, __ATOMIC_RELAXED);
				if ((word & ~(uint64_t)(PG_ZONE_MASK | PG_lru)) != ((1ull << 32) | PG_alloc))
					break;
				struct per_cpu_zone *pz = &ps->z[((uint32_t)word & PG_ZONE_MASK) >> PG_ZONE_SHIFT];
				unsigned mt = READ_ONCE(pz->pb_flags[((unsigned long)pfns[i] >> pz->pb_shift) - pz->pb_base]);
				if (mt >= ZPA_MIGRATE_PCPTYPES || pz->pcp.count + 1 >= pz->pcp.high)
					break;
				struct free_list *fl = &pz->pcp.lists[mt];
				uint32_t idx = (uint32_t)off, head = fl->head;
				__atomic_store_n((uint64_t *)&page->flags,
						 ((uint32_t)word & PG_ZONE_MASK) | PG_pcp | (mt << PG_MT_SHIFT), __ATOMIC_RELAXED);
				page->prev = ZPA_NIL;
				page->next = head;
				if (head != ZPA_NIL)
					pgdat->node_mem_map[head].prev = idx;
				else
					fl->tail = idx;
				fl->head = idx;
				pz->pcp.count++;
				ps->pgfree++;
			}
		}
		atomic_signal_fence(memory_order_seq_cst);
		atomic_store_explicit(&ps->owner_active, 0, memory_order_release);
	}
	for (; i < n; i++) {
		int err = zpa_free_pages(m, pfns[i], 0);
		if (err && !first)
			first = err;
	}
	return first;
}
