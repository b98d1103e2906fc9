/*
 * workload.c - the default workload of the `zpa` program: a deterministic
 * stream of kernel-like page allocations and frees.
 *
 * Requests come from seven classes (wl_classes below): slab pages, anonymous
 * and page-cache pages, compound slab pages of order 1-3, atomic pages,
 * DMA32 and DMA pages for drivers, and order-9 transparent hugepages.  Each
 * operation picks a CPU at random and runs on that CPU's task (one
 * zpa_task per CPU, pinned with zpa_task_set_cpu), so requests prefer that
 * CPU's node and every node with a CPU is used.  With p->cpu >= 0 there is
 * one task, pinned to that CPU, and every operation runs on it.  With
 * p->policy each task gets that memory policy (zpa_set_mempolicy) and
 * allocates through zpa_alloc_pages_mpol(), as alloc_pages() does for a
 * task with a policy; without, it calls zpa__alloc_pages() for the task's
 * node.  An operation is either an
 * allocation (class by weight, order uniform in the class's range, capped at
 * max_order - 1) or the free of a block chosen at random among those held,
 * on the operation's CPU too (zpa__free_pages), so the per-CPU lists fill
 * and drain as they would in Linux.
 *
 * Occupancy follows a target, as a fraction of managed pages:
 *   fill   (first 45% of the operations)  75%
 *   churn  (next 40%)                     75% rising linearly to the peak
 *                                         over a third of the phase, holding
 *                                         it a third, and falling back
 *   settle (last 15%)                     65%
 * where the peak leaves free only the zones' summed min watermarks (at most
 * 99.5%, at least 80%): deep enough that ordinary requests fail once a zone
 * reaches its min watermark (plus any boost)
 * while atomic ones may still dip into the reserves.  The
 * probability of allocating is 0.5 + 30 * (target - in_use) / managed,
 * clamped to [0.1, 0.9].  The churn phase pushes the machine into
 * fragmentation and watermark pressure.  The "anon/page cache" class is
 * reclaimable: its blocks go on the LRU lists under the workload's page
 * owner, whose evict() drops a block from the live table and frees it and
 * whose migrate() renames it, so kswapd (inline), direct reclaim and
 * compaction work on it; the other classes are not, and no task is
 * registered with the OOM killer, so requests that climb the whole slow
 * path fail, and are counted and reported (`zpa run pressure` is the
 * scenario with every kind of reclaimable memory and OOM).
 * Blocks still held at the end stay allocated.
 *
 * Randomness comes from xoshiro256** seeded through splitmix64, so a seed,
 * an operation count and a machine give the same run every time.
 *
 * Invariant: r->in_use is the sum of 2^order over the blocks in the live
 * table, each of which the machine handed out and has not been freed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rng.h"

const struct wl_class wl_classes[WL_NR_CLASSES] = {
	{ "slab",            ZPA_GFP_KERNEL,                  0, 0, 300, false },
	{ "anon/page cache", ZPA_GFP_HIGHUSER_MOVABLE,        0, 0, 440, true },
	{ "slab compound",   ZPA_GFP_KERNEL | ZPA___GFP_COMP, 1, 3, 120, false },
	{ "atomic",          ZPA_GFP_ATOMIC,                  0, 0,  60, false },
	{ "driver DMA32",    ZPA_GFP_KERNEL | ZPA_GFP_DMA32,  0, 0,  60, false },
	{ "driver DMA",      ZPA_GFP_KERNEL | ZPA_GFP_DMA,    0, 1,   5, false },
	{ "THP",             ZPA_GFP_TRANSHUGE,               9, 9,  15, false },
};

/* Phase boundaries and targets, in percent. */
#define FILL_END_PCT    45
#define CHURN_END_PCT   85
#define FILL_TARGET     0.75
#define PEAK_MIN        0.80
#define PEAK_MAX        0.995
#define PEAK_RESERVE    1.0     /* summed min watermarks left free, as a multiple */
#define SETTLE_TARGET   0.65
#define GAIN            30.0
#define P_MIN           0.1
#define P_MAX           0.9

/* Random numbers: cli/rng.h (xoshiro256** seeded by splitmix64). */

/* ----- the workload ----- */

struct live_block {
	zpa_pfn_t pfn;
	uint8_t order;
	uint8_t cls;
};

/*
 * The live table's index of an LRU class block, by pfn: open addressing with
 * linear probing and backward-shift deletion, so reclaim and compaction
 * (which name pages by pfn) find their blocks.
 */
struct pfn_index {
	zpa_pfn_t *key;          /* ZPA_PFN_NONE: empty */
	size_t *val;
	size_t cap, used;        /* cap: a power of two */
};

struct wl_state {
	struct zpa_machine *m;
	int owner;               /* the page owner of the LRU classes */
	struct pfn_index idx;
	struct rng rng;
	struct zpa_task **tasks;
	unsigned nr_tasks;
	unsigned max_order;
	bool use_policy;         /* allocate through the tasks' memory policy */
	struct live_block *live;
	size_t nr_live, cap_live;
	struct wl_result *r;
};

static size_t pfn_slot(const struct pfn_index *x, zpa_pfn_t pfn)
{
	return (size_t)((pfn * 0x9e3779b97f4a7c15ull) >> 17) & (x->cap - 1);
}

static size_t *pfn_find(struct pfn_index *x, zpa_pfn_t pfn)
{
	if (!x->cap)
		return NULL;
	for (size_t i = pfn_slot(x, pfn);; i = (i + 1) & (x->cap - 1)) {
		if (x->key[i] == pfn)
			return &x->val[i];
		if (x->key[i] == ZPA_PFN_NONE)
			return NULL;
	}
}

static int pfn_put(struct pfn_index *x, zpa_pfn_t pfn, size_t val)
{
	if ((x->used + 1) * 2 > x->cap) {
		struct pfn_index n = { .cap = x->cap ? x->cap * 2 : 65536 };
		n.key = malloc(n.cap * sizeof(*n.key));
		n.val = malloc(n.cap * sizeof(*n.val));
		if (!n.key || !n.val) {
			free(n.key);
			free(n.val);
			return ZPA_ENOMEM;
		}
		for (size_t i = 0; i < n.cap; i++)
			n.key[i] = ZPA_PFN_NONE;
		for (size_t i = 0; i < x->cap; i++)
			if (x->key[i] != ZPA_PFN_NONE)
				pfn_put(&n, x->key[i], x->val[i]);
		free(x->key);
		free(x->val);
		*x = n;
	}
	size_t i = pfn_slot(x, pfn);
	while (x->key[i] != ZPA_PFN_NONE)
		i = (i + 1) & (x->cap - 1);
	x->key[i] = pfn;
	x->val[i] = val;
	x->used++;
	return 0;
}

static void pfn_del(struct pfn_index *x, zpa_pfn_t pfn)
{
	size_t *v = pfn_find(x, pfn);
	if (!v)
		return;
	size_t mask = x->cap - 1, hole = (size_t)(v - x->val);
	for (size_t i = (hole + 1) & mask; x->key[i] != ZPA_PFN_NONE; i = (i + 1) & mask) {
		size_t home = pfn_slot(x, x->key[i]);
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			x->key[hole] = x->key[i];
			x->val[hole] = x->val[i];
			hole = i;
		}
	}
	x->key[hole] = ZPA_PFN_NONE;
	x->used--;
}

/* Take entry i out of the live table (swap with the last), keeping the index right. */
static struct live_block live_remove(struct wl_state *st, size_t i)
{
	struct live_block b = st->live[i];
	if (wl_classes[b.cls].lru)
		pfn_del(&st->idx, b.pfn);
	st->live[i] = st->live[--st->nr_live];
	if (i < st->nr_live && wl_classes[st->live[i].cls].lru)
		*pfn_find(&st->idx, st->live[i].pfn) = i;
	return b;
}

/*
 * The page owner of the LRU classes: reclaim evicts a page cache block by
 * dropping it from the live table and freeing it; compaction moves one by
 * renaming it.  Both run inside the workload's own zpa calls (direct reclaim,
 * the inline kswapd and kcompactd), never concurrently with them.
 */
static int wl_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct wl_state *st = arg;
	size_t *v = pfn_find(&st->idx, pfn);
	(void)ctx;
	if (!v)
		return ZPA_EVICT_KEEP; /* freed by the workload meanwhile */
	struct live_block b = live_remove(st, *v);
	st->r->cls[b.cls].reclaimed++;
	st->r->in_use -= 1ULL << b.order;
	zpa__free_pages(st->m, NULL, pfn, order);
	return ZPA_EVICT_FREED;
}

static int wl_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	struct wl_state *st = arg;
	size_t *v = pfn_find(&st->idx, src);
	(void)order;
	(void)mode;
	if (!v)
		return ZPA_EBUSY;
	size_t i = *v;
	pfn_del(&st->idx, src);
	if (pfn_put(&st->idx, dst, i)) {
		pfn_put(&st->idx, src, i); /* room was there a moment ago */
		return ZPA_EBUSY;
	}
	st->live[i].pfn = dst;
	st->r->cls[st->live[i].cls].migrated++;
	return 0;
}

static const struct zpa_page_owner_ops wl_owner_ops = {
	.name = "workload page cache",
	.evict = wl_evict,
	.migrate = wl_migrate,
};

/* Expected pages of one allocation request, over the class weights. */
static double mean_request_pages(unsigned max_order)
{
	double pages = 0, weight = 0;

	for (unsigned c = 0; c < WL_NR_CLASSES; c++) {
		const struct wl_class *k = &wl_classes[c];
		double sum = 0;

		for (unsigned o = k->min_order; o <= k->max_order; o++)
			sum += (double)(1ULL << (o < max_order ? o : max_order - 1));
		pages += k->weight * sum / (k->max_order - k->min_order + 1);
		weight += k->weight;
	}
	return pages / weight;
}

/* See cli.h; clamped to [100000, 5000000]. */
uint64_t wl_default_ops(struct zpa_machine *m)
{
	/* Enough operations for the fill phase to reach its target at P_MAX. */
	double target = FILL_TARGET * (double)zpa_total_managed(m);
	double per_op = (P_MAX - (1.0 - P_MAX)) * mean_request_pages(zpa_max_order(m));
	double ops = target / per_op * 100.0 / FILL_END_PCT * 1.05;

	if (ops < 100000)
		ops = 100000;
	if (ops > 5000000)
		ops = 5000000;
	return (uint64_t)ops;
}

/* See cli.h and the file comment: 1 - PEAK_RESERVE * sum(min) / managed, clamped. */
double wl_peak_fraction(struct zpa_machine *m)
{
	double managed = (double)zpa_total_managed(m), min_sum = 0, peak;

	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++) {
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info z;

			if (zpa_zone_info(m, (int)nid, t, &z) == 0)
				min_sum += (double)z.min;
		}
	}
	peak = managed > 0 ? 1.0 - PEAK_RESERVE * min_sum / managed : PEAK_MIN;
	if (peak > PEAK_MAX)
		peak = PEAK_MAX;
	if (peak < PEAK_MIN)
		peak = PEAK_MIN;
	return peak;
}

/* The occupancy target (pages) at operation i of n, peaking at `peak`. */
static double target_at(uint64_t i, uint64_t n, double managed, double peak)
{
	uint64_t fill_end = n * FILL_END_PCT / 100, churn_end = n * CHURN_END_PCT / 100;

	if (i < fill_end)
		return FILL_TARGET * managed;
	if (i < churn_end) {
		double x = (double)(i - fill_end) / (double)(churn_end - fill_end);

		double rise = x < 1.0 / 3 ? 3 * x : x < 2.0 / 3 ? 1.0 : 3 * (1 - x);

		return (FILL_TARGET + (peak - FILL_TARGET) * rise) * managed;
	}
	return SETTLE_TARGET * managed;
}

/* A class index drawn by the per-mille weights of wl_classes. */
static unsigned pick_class(struct wl_state *st)
{
	uint64_t x = rng_below(&st->rng, 1000);
	unsigned c;

	for (c = 0; c + 1 < WL_NR_CLASSES; c++) {
		if (x < wl_classes[c].weight)
			break;
		x -= wl_classes[c].weight;
	}
	return c;
}

/*
 * One allocation request on task's CPU: counts it, and on success records
 * the block in the live table.  Returns 0, or ZPA_ENOMEM when the table
 * cannot grow (the block is freed again first).
 */
static int do_alloc(struct wl_state *st, struct zpa_task *task)
{
	struct wl_result *r = st->r;
	unsigned c = pick_class(st);
	const struct wl_class *k = &wl_classes[c];
	unsigned order = k->min_order + (unsigned)rng_below(&st->rng, k->max_order - k->min_order + 1);
	struct zpa_page_info info;
	zpa_pfn_t pfn;

	if (order >= st->max_order)
		order = st->max_order - 1;
	r->allocs++;
	r->cls[c].requests++;
	r->order[order].requests++;
	if (st->use_policy)
		pfn = zpa_alloc_pages_mpol(st->m, task, k->gfp, order, NULL);
	else
		pfn = zpa__alloc_pages(st->m, task, k->gfp, order, -1, NULL);
	if (pfn == ZPA_PFN_NONE) {
		r->failures++;
		r->cls[c].failures++;
		r->order[order].failures++;
		return 0;
	}
	if (st->nr_live == st->cap_live) {
		size_t cap = st->cap_live ? st->cap_live * 2 : 65536;
		struct live_block *nl = realloc(st->live, cap * sizeof(*nl));

		if (!nl) {
			zpa__free_pages(st->m, task, pfn, order);
			return ZPA_ENOMEM;
		}
		st->live = nl;
		st->cap_live = cap;
	}
	if (k->lru) {
		/* page cache: indexed first, then on the LRU (reclaim may evict it from then on) */
		if (pfn_put(&st->idx, pfn, st->nr_live) || zpa_lru_add(st->m, pfn, st->owner, 0)) {
			pfn_del(&st->idx, pfn);
			zpa__free_pages(st->m, task, pfn, order);
			return ZPA_ENOMEM;
		}
	}
	st->live[st->nr_live++] = (struct live_block){ pfn, (uint8_t)order, (uint8_t)c };
	r->cls[c].pages += 1ULL << order;
	if (zpa_page_info(st->m, pfn, &info) == 0 && info.nid >= 0 && info.nid < ZPA_MAX_NODES) {
		r->cls[c].node_pages[info.nid] += 1ULL << order;
		if (info.zone_type >= 0 && info.zone_type < ZPA_NR_ZONE_TYPES)
			r->zone_pages[info.nid][info.zone_type] += 1ULL << order;
	}
	r->in_use += 1ULL << order;
	if (r->in_use > r->peak_in_use)
		r->peak_in_use = r->in_use;
	return 0;
}

/*
 * Free a held block chosen at random on task's CPU (its per-CPU lists);
 * st->nr_live > 0.  A refusal is counted.
 */
static void do_free(struct wl_state *st, struct zpa_task *task)
{
	struct wl_result *r = st->r;
	size_t i = (size_t)rng_below(&st->rng, st->nr_live);
	struct live_block b = live_remove(st, i);
	int rc;

	rc = zpa__free_pages(st->m, task, b.pfn, b.order);
	r->frees++;
	r->cls[b.cls].frees++;
	r->in_use -= 1ULL << b.order;
	if (rc) {
		if (!r->free_errors)
			r->first_free_error = rc;
		r->free_errors++;
	}
}

int wl_run(struct zpa_machine *m, const struct wl_params *p, struct wl_result *r)
{
	struct wl_state st = { .m = m, .r = r, .max_order = zpa_max_order(m) };
	double managed, peak;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->seed = p->seed;
	r->cpu = p->cpu;
	r->policy = p->policy ? p->policy->text : NULL;
	r->managed = zpa_total_managed(m);
	r->target_pages = (uint64_t)(FILL_TARGET * (double)r->managed);
	managed = (double)r->managed;
	peak = wl_peak_fraction(m);
	r->peak_target_pages = (uint64_t)(peak * managed);
	rng_seed(&st.rng, p->seed);

	st.nr_tasks = p->cpu >= 0 ? 1 : zpa_nr_cpus(m) ? zpa_nr_cpus(m) : 1;
	st.use_policy = p->policy != NULL;
	st.owner = zpa_page_owner_register(m, &wl_owner_ops, &st);
	if (st.owner < 0)
		return st.owner;
	st.tasks = calloc(st.nr_tasks, sizeof(*st.tasks));
	if (!st.tasks)
		return ZPA_ENOMEM;
	for (unsigned c = 0; c < st.nr_tasks; c++) {
		st.tasks[c] = zpa_task_create();
		if (!st.tasks[c]) {
			rc = ZPA_ENOMEM;
			goto out;
		}
		zpa_task_set_cpu(st.tasks[c], p->cpu >= 0 ? p->cpu : (int)c);
		if (p->policy) {
			rc = zpa_set_mempolicy(m, st.tasks[c], p->policy->mode,
					       p->policy->has_nodes ? &p->policy->nodes : NULL);
			if (rc)
				goto out;
		}
	}
	for (unsigned nid = 0; nid < zpa_nr_nodes(m) && nid < ZPA_MAX_NODES; nid++) {
		rc = cli_read_numastat(m, nid, r->numa_before[nid]);
		if (rc)
			goto out;
	}

	uint64_t n = p->ops ? p->ops : wl_default_ops(m);

	for (uint64_t i = 0; i < n && rc == 0; i++) {
		struct zpa_task *task = st.tasks[rng_below(&st.rng, st.nr_tasks)];
		double err = (target_at(i, n, managed, peak) - (double)r->in_use) / managed;
		double p_alloc = 0.5 + GAIN * err;

		if (p_alloc < P_MIN)
			p_alloc = P_MIN;
		if (p_alloc > P_MAX)
			p_alloc = P_MAX;
		r->ops++;
		if (st.nr_live == 0 || rng_unit(&st.rng) < p_alloc)
			rc = do_alloc(&st, task);
		else
			do_free(&st, task);
	}
	r->live_blocks = st.nr_live;
	for (size_t i = 0; i < st.nr_live; i++) {
		r->cls[st.live[i].cls].live++;
		/* The owner (st) goes with this call: its pages stay held, off the LRU. */
		if (wl_classes[st.live[i].cls].lru)
			zpa_lru_del(m, st.live[i].pfn);
	}
	for (unsigned nid = 0; rc == 0 && nid < zpa_nr_nodes(m) && nid < ZPA_MAX_NODES; nid++)
		rc = cli_read_numastat(m, nid, r->numa_after[nid]);
out:
	for (unsigned c = 0; c < st.nr_tasks; c++) {
		if (!st.tasks[c])
			continue;
		/* set_mempolicy(MPOL_DEFAULT) drops the task's policy before the task goes. */
		if (p->policy)
			zpa_set_mempolicy(m, st.tasks[c], ZPA_MPOL_DEFAULT, NULL);
		zpa_task_destroy(st.tasks[c]);
	}
	free(st.tasks);
	free(st.live);
	free(st.idx.key);
	free(st.idx.val);
	return rc;
}
