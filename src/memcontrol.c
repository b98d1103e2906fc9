/*
 * memcontrol.c - memory control groups (zpa/memcg.h): hierarchical charge
 * counters with max/high/low limits, the page -> group side table, and the
 * allocator's hooks (Linux's mm/memcontrol.c, kmem part, and
 * mm/page_counter.c).
 *
 * Algorithm.  Each group keeps its hierarchical usage (pages charged to it
 * and its descendants), as Linux's page_counter.  A charge of nr pages to g
 * walks g's ancestors: if one of them would exceed its max, that group is
 * the one "over limit": its max event and failcnt count, group-local reclaim
 * (try_to_free_mem_cgroup_pages, a seam that reclaims nothing yet) gets a
 * chance when the request may reclaim, and the charge fails (an oom event)
 * unless __GFP_NOFAIL forces it through.  A charge that succeeds adds nr to
 * every ancestor, updates their peaks and counts a high event on each that
 * is now above its high.  Uncharge subtracts nr along the same path.
 *
 * The page struct has no room for a group pointer (16 bytes), so a charged
 * block's first page carries PG_memcg and the group lives in a side table:
 * an open-addressing hash map (linear probing, backward-shift deletion)
 * keyed by the block's first pfn, holding the group and the order charged.
 * PG_memcg makes the block fail the flag-word comparison of every free fast
 * path, so charged blocks are freed by free_pages_slow(), which uncharges.
 *
 * Invariants, all under the machine's memcg lock (memcg_state.lock, a leaf
 * lock: it may be taken with a zone lock held, never the other way round):
 *   - a pfn is in the table iff its page has PG_memcg;
 *   - for every group, local == sum of its table entries' sizes, and
 *     usage == local + sum of its children's usage;
 *   - peak >= usage.
 * The state (lock, table, group list) is made when the machine's first
 * group is created; creating it sets memcg_kmem_on and then bumps fast_gen
 * so that no thread's hosted fast path keeps serving __GFP_ACCOUNT requests
 * without charging (Linux's memcg_kmem_enabled() static key).
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
	uint64_t ev_low, ev_high, ev_max, ev_oom, failcnt;
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

int zpa_memcg_set_limit(struct zpa_memcg *g, enum zpa_memcg_limit which, uint64_t pages)
{
	if (!g || (which != ZPA_MEMCG_LIMIT_MAX && which != ZPA_MEMCG_LIMIT_HIGH && which != ZPA_MEMCG_LIMIT_LOW))
		return ZPA_EINVAL;
	struct memcg_state *s = memcg_state(g->m);
	zpa_spin_lock(&s->lock);
	uint64_t usage = g->usage;
	if (which == ZPA_MEMCG_LIMIT_HIGH)
		g->high = pages;
	else if (which == ZPA_MEMCG_LIMIT_LOW)
		g->low = pages;
	else
		g->max = pages;
	zpa_spin_unlock(&s->lock);
	if (which == ZPA_MEMCG_LIMIT_MAX && usage > pages) {
		/* Linux's memory_max_write(): reclaim, then OOM if that fails. */
		try_to_free_mem_cgroup_pages(g->m, g, (unsigned long)(usage - pages), ZPA_GFP_KERNEL, true);
		zpa_spin_lock(&s->lock);
		if (g->usage > g->max)
			g->ev_oom++;
		zpa_spin_unlock(&s->lock);
	}
	return 0;
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
		.events_low = g->ev_low, .events_high = g->ev_high, .events_max = g->ev_max,
		.events_oom = g->ev_oom, .failcnt = g->failcnt,
		.nr_children = g->nr_children, .nr_tasks = g->nr_tasks,
	};
	zpa_spin_unlock(&s->lock);
	return 0;
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
	task->memcg = g;
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

/*
 * Charge nr pages of the block at pfn to g: the limit walk, then the table
 * entry.  Lock not held; page is the block's first page, owned by the
 * caller and not charged.  Returns 0 or ZPA_ENOMEM.
 */
static int try_charge(struct memcg_state *s, struct zpa_memcg *g, struct zpa_page *page, unsigned long pfn,
		      unsigned order, zpa_gfp_t gfp)
{
	uint64_t nr = 1ull << order;
	bool reclaimed = false;
	zpa_spin_lock(&s->lock);
	for (;;) {
		struct zpa_memcg *over = NULL;
		for (struct zpa_memcg *c = g; c; c = c->parent)
			if (c->usage + nr > c->max) {
				over = c;
				break;
			}
		if (!over || (gfp & ZPA___GFP_NOFAIL))
			break;
		if (!reclaimed) {
			over->ev_max++;
			over->failcnt++;
		}
		if (!reclaimed && (gfp & ZPA___GFP_DIRECT_RECLAIM)) {
			reclaimed = true;
			zpa_spin_unlock(&s->lock);
			unsigned long got = try_to_free_mem_cgroup_pages(over->m, over, (unsigned long)nr, gfp, true);
			zpa_spin_lock(&s->lock);
			if (got)
				continue;
		}
		over->ev_oom++;
		zpa_spin_unlock(&s->lock);
		return ZPA_ENOMEM;
	}
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
		if (c->usage > c->high)
			c->ev_high++;
	}
	zpa_spin_unlock(&s->lock);
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

int __memcg_kmem_charge_page(struct zpa_machine *m, struct zpa_memcg *g, struct zpa_page *page, unsigned long pfn,
			     unsigned order, zpa_gfp_t gfp)
{
	if (g->m != m) /* a group of another machine: the root's rules here */
		return 0;
	return try_charge(memcg_state(m), g, page, pfn, order, gfp);
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
	return try_charge(memcg_state(m), g, page, (unsigned long)pfn, order, gfp);
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
