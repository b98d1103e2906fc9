/*
 * cmd_stress.c - `zpa run stress-highalloc`: how many huge pages (order 9,
 * one pageblock) a machine can still hand out after a long mixed workload,
 * with grouping by mobility and without it, in the style of mmtests'
 * stress-highalloc benchmark.  See docs/FRAGMENTATION.md.
 *
 * One run, on a fresh machine:
 *   1. Build-up, in PHASES phases.  Kernel memory grows during a build, so
 *      the unmovable and reclaimable targets grow linearly from a start share
 *      to an end share of managed pages; movable memory fills the rest, up to
 *      the machine's total target: managed pages minus the zones' summed high
 *      watermarks, where kswapd would keep a loaded machine.  Each phase
 *      after the first frees a random share of every class (slab pages one
 *      by one, movable memory object by object), then allocates back to the
 *      phase's targets in one interleaved stream: each request's class is
 *      drawn in proportion to the pages each class still lacks.
 *        unmovable    GFP_KERNEL order 0, GFP_KERNEL|__GFP_COMP orders 1-3
 *                     (slab caches: kmalloc, task_struct, SLUB's order-1..3 slabs)
 *        reclaimable  GFP_KERNEL|__GFP_RECLAIMABLE order 0, |__GFP_COMP order 1
 *                     (dentry and inode caches)
 *        movable      objects: one file's page cache or one process's
 *                     anonymous memory, log-uniform 1..1024 pages, allocated
 *                     in a burst on one CPU and freed whole: GFP_HIGHUSER_MOVABLE
 *                     order 0, and for processes GFP_TRANSHUGE_LIGHT order 9
 *                     for some whole 512-page stretches (a failed THP falls
 *                     back to base pages for its stretch, as a fault does)
 *      A request that fails (the zone at its watermark) is answered as
 *      reclaim would: evict the oldest movable objects (the LRU's tail) up to
 *      RECLAIM_BATCH pages and retry once.
 *   2. At rest: free every movable object (reclaim of all page cache and the
 *      exit of every process), keep the kernel's memory, drain every per-CPU
 *      list (drain_all_pages), record the fragmentation metrics.
 *   3. Allocate order-9 blocks with GFP_KERNEL|__GFP_NOWARN on CPU 0 until one
 *      fails.  The allocated count over the ideal count is the success rate.
 *
 * The ideal count.  A perfectly defragmented machine could satisfy this very
 * request floor((free - min - lowmem_reserve) / 512) times in each zone a
 * GFP_KERNEL request may use (free: the zone's free pages at rest; min: its
 * min watermark plus any boost, which the slow path's ALLOC_WMARK_MIN check
 * keeps; lowmem_reserve: its protection against a GFP_KERNEL request).  That
 * is the denominator: it charges the allocator only for fragmentation, not
 * for the reserves it must keep by design.  Also reported: free pages / 512
 * (ignoring the reserves) and the free naturally aligned pageblocks at rest
 * (what is really there to take).
 *
 * By default the same seed runs twice, grouping by mobility on and then off
 * (Linux's page_group_by_mobility_disabled, which makes every request
 * MIGRATE_UNMOVABLE), and the two are printed side by side; --no-mobility
 * runs only the second.  Everything is deterministic for a seed and machine:
 * one thread drives one task per CPU, each operation on a CPU drawn from the
 * random stream (xoshiro256** seeded through splitmix64).
 *
 * Default machine (when no machine option is given): one node, 2 GiB, two
 * CPUs, the PC layout of machine.c (zones DMA and DMA32).  A run takes well
 * under a second there in a release build.
 *
 * Exit status: 0 when zpa_check() is clean after every run, 1 otherwise or
 * when the library fails, 2 for a bad command line.
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rng.h"

int cmd_stress(int argc, char **argv);

#define DEFAULT_SEED        42
#define DEFAULT_NODES       1
#define DEFAULT_MEM         (2ULL << 30)
#define DEFAULT_CPUS        2
#define LOG_SHOWN           3
#define CHECK_REPORT        4096

#define PHASES              10
#define UNMOV_START         0.03    /* unmovable share of managed pages, first phase */
#define UNMOV_END           0.07    /* ... last phase */
#define RECL_START          0.02    /* reclaimable share, first phase */
#define RECL_END            0.07
#define FREE_UNMOV          0.15    /* share of blocks freed at each phase start */
#define FREE_RECL           0.20
#define FREE_MOV            0.30
#define MAX_GROUP_SHIFT     10      /* movable objects: 1 .. 2^10 pages, log-uniform */
#define ANON_SHARE          0.40    /* share of movable objects that are process memory */
#define THP_PROB            0.50    /* a process's 512-page stretch asked as a THP */
#define RECLAIM_BATCH       1024    /* pages freed per reclaim (a few SWAP_CLUSTER_MAX) */
#define MAX_PHASE_RECLAIMS  64      /* reclaims after which a phase stops filling */
#define HUGE_ORDER          9

enum { C_UNMOV, C_RECL, C_MOV, NR_CLASSES };
static const char *const class_names[NR_CLASSES] = { "unmovable", "reclaimable", "movable" };

/* Random numbers: cli/rng.h (xoshiro256** seeded by splitmix64). */

/* ----- one run ----- */

struct block {
	zpa_pfn_t pfn;
	unsigned order;
};

/* Kernel pages of one class: blocks freed one by one, at random. */
struct block_set {
	struct block *v;
	size_t n, cap;
	uint64_t pages;
};

/*
 * A movable object: one file's page cache or one process's anonymous memory.
 * Its pages are allocated in one burst on one CPU and freed together (when
 * the file is evicted or the process exits).  pages == 0: freed.
 */
struct group {
	struct block *v;
	uint32_t n, cap;
	uint64_t pages;
};

/* The vmstat counters a run reports (their change over the run). */
static const char *const counter_names[] = {
	"zpa_extfrag",
	"zpa_extfrag_fragmenting",
	"zpa_extfrag_change_ownership",
	"zpa_extfrag_mixed",
	"zpa_extfrag_fragmenting_unmovable",
	"zpa_extfrag_unmovable_in_movable",
	"zpa_extfrag_fragmenting_reclaimable",
	"zpa_extfrag_reclaimable_in_movable",
	"zpa_extfrag_fragmenting_movable",
	"zpa_kswapd_wake",
};
#define NR_COUNTERS (sizeof(counter_names) / sizeof(counter_names[0]))

struct run_result {
	bool mobility;
	uint64_t managed, target_pages;
	uint64_t requests[NR_CLASSES], failures[NR_CLASSES];
	uint64_t groups;                   /* movable objects created */
	uint64_t thp_requests, thp_fallbacks;
	uint64_t reclaims, reclaimed_pages;
	uint64_t free_errors;
	uint64_t peak_pages[NR_CLASSES];   /* pages held at the end of the build-up */
	uint64_t held_at_rest[NR_CLASSES];
	uint64_t kernel_at_rest;           /* unmovable + reclaimable */
	uint64_t free_at_rest;             /* buddy free pages after the drain */
	uint64_t boost_at_rest;            /* summed watermark boosts at rest */
	uint64_t free_pageblocks_at_rest;  /* free order-9 blocks (aligned) at rest */
	uint64_t order9_ideal;             /* see the file comment */
	uint64_t order9_ideal_free;        /* free pages / 512 */
	uint64_t order9_allocated;
	double order9_success_fraction;
	uint64_t pageblocks;               /* pageblocks of the zones GFP_KERNEL may use */
	uint64_t polluted_pageblocks;      /* holding kernel pages at rest */
	uint64_t mixed_pageblocks;         /* ... some of another type than the pageblock's */
	int unusable_index9, extfrag_index9; /* largest zone's, at rest, thousandths */
	uint64_t counters[NR_COUNTERS];
	int check_rc;
	char check_report[CHECK_REPORT];
	double seconds;
};

struct stress {
	struct zpa_machine *m;
	struct rng rng;
	struct zpa_task **tasks;
	unsigned nr_tasks;
	struct block_set set[C_MOV];       /* C_UNMOV, C_RECL */
	struct group *groups;              /* movable objects, oldest first */
	size_t nr_groups, cap_groups, live_groups, lru_head;
	uint64_t mov_pages;
	struct run_result *r;
	int error;                         /* ZPA_ENOMEM when the CLI ran out of memory */
};

static uint64_t class_pages(const struct stress *st, int c)
{
	return c == C_MOV ? st->mov_pages : st->set[c].pages;
}

static struct zpa_task *random_task(struct stress *st)
{
	return st->tasks[rng_below(&st->rng, st->nr_tasks)];
}

static int push_block(struct block **v, size_t *n, size_t *cap, zpa_pfn_t pfn, unsigned order)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct block *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return ZPA_ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = (struct block){ pfn, order };
	return 0;
}

static void free_block(struct stress *st, struct zpa_task *task, struct block b)
{
	if (zpa__free_pages(st->m, task, b.pfn, b.order) != 0)
		st->r->free_errors++;
}

/* Free the kernel block at index i of class c (swap-remove) on a random CPU. */
static void free_kernel_index(struct stress *st, int c, size_t i)
{
	struct block_set *s = &st->set[c];
	struct block b = s->v[i];

	s->v[i] = s->v[--s->n];
	s->pages -= 1ULL << b.order;
	free_block(st, random_task(st), b);
}

/* Free every page of group g (a file evicted, a process exiting) on one CPU. */
static uint64_t free_group(struct stress *st, struct group *g)
{
	struct zpa_task *task = random_task(st);
	uint64_t pages = g->pages;

	for (uint32_t i = 0; i < g->n; i++)
		free_block(st, task, g->v[i]);
	free(g->v);
	g->v = NULL;
	g->n = g->cap = 0;
	g->pages = 0;
	st->mov_pages -= pages;
	st->live_groups--;
	return pages;
}

/* Drop freed groups from the list, keeping the age order. */
static void compact_groups(struct stress *st)
{
	size_t k = 0;

	for (size_t i = 0; i < st->nr_groups; i++)
		if (st->groups[i].pages)
			st->groups[k++] = st->groups[i];
	st->nr_groups = k;
	st->lru_head = 0;
}

/* Free random kernel blocks of class c until `pages` pages are freed. */
static uint64_t free_random_kernel(struct stress *st, int c, uint64_t pages)
{
	uint64_t freed = 0;

	while (freed < pages && st->set[c].n) {
		size_t i = (size_t)rng_below(&st->rng, st->set[c].n);

		freed += 1ULL << st->set[c].v[i].order;
		free_kernel_index(st, c, i);
	}
	return freed;
}

/* Free random movable objects until `pages` pages are freed. */
static uint64_t free_random_groups(struct stress *st, uint64_t pages)
{
	uint64_t freed = 0;

	compact_groups(st);
	while (freed < pages && st->live_groups) {
		struct group *g = &st->groups[rng_below(&st->rng, st->nr_groups)];

		if (g->pages)
			freed += free_group(st, g);
	}
	return freed;
}

/*
 * Reclaim, as kswapd or direct reclaim would: evict the oldest movable
 * objects (the LRU's tail) until RECLAIM_BATCH pages are freed.
 */
static void reclaim(struct stress *st)
{
	uint64_t freed = 0;

	st->r->reclaims++;
	while (freed < RECLAIM_BATCH && st->lru_head < st->nr_groups) {
		struct group *g = &st->groups[st->lru_head++];

		if (g->pages)
			freed += free_group(st, g);
	}
	st->r->reclaimed_pages += freed;
	if (st->lru_head > st->nr_groups / 2)
		compact_groups(st);
}

/*
 * One allocation; a failure is answered by reclaim and one retry.  Returns
 * the pfn or ZPA_PFN_NONE.
 */
static zpa_pfn_t alloc_with_reclaim(struct stress *st, struct zpa_task *task, zpa_gfp_t gfp, unsigned order)
{
	zpa_pfn_t pfn = zpa__alloc_pages(st->m, task, gfp, order, -1, NULL);

	if (pfn == ZPA_PFN_NONE) {
		reclaim(st);
		pfn = zpa__alloc_pages(st->m, task, gfp, order, -1, NULL);
	}
	return pfn;
}

/* One slab page (or compound slab) of kernel class c. */
static void kernel_request(struct stress *st, int c)
{
	struct run_result *r = st->r;
	double x = rng_unit(&st->rng);
	unsigned order;
	zpa_gfp_t gfp;
	struct block_set *s = &st->set[c];
	zpa_pfn_t pfn;

	if (c == C_UNMOV) {
		/* By requests: 70% order 0, 14% order 1, 10% order 2, 6% order 3. */
		order = x < 0.70 ? 0 : x < 0.84 ? 1 : x < 0.94 ? 2 : 3;
		gfp = order ? ZPA_GFP_KERNEL | ZPA___GFP_COMP : ZPA_GFP_KERNEL;
	} else {
		order = x < 0.75 ? 0 : 1;
		gfp = ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE | (order ? ZPA___GFP_COMP : 0);
	}
	r->requests[c]++;
	pfn = alloc_with_reclaim(st, random_task(st), gfp, order);
	if (pfn == ZPA_PFN_NONE) {
		r->failures[c]++;
		return;
	}
	if (push_block(&s->v, &s->n, &s->cap, pfn, order) != 0) {
		zpa__free_pages(st->m, NULL, pfn, order);
		st->error = ZPA_ENOMEM;
		return;
	}
	s->pages += 1ULL << order;
}

/*
 * One movable object of at most `limit` pages, allocated in a burst on one
 * CPU: its size is log-uniform from 1 to MAX_GROUP pages; a process's memory
 * (ANON_SHARE of the objects) asks each whole 512-page stretch as a THP with
 * probability THP_PROB, falling back to base pages as a fault does.  A
 * request that fails even after reclaim ends the object early.
 */
static void movable_request(struct stress *st, uint64_t limit)
{
	struct run_result *r = st->r;
	struct zpa_task *task = random_task(st);
	uint64_t size = (uint64_t)exp2(rng_unit(&st->rng) * MAX_GROUP_SHIFT);
	bool anon = rng_unit(&st->rng) < ANON_SHARE;
	struct group g = { 0 };
	size_t n = 0, cap = 0;
	uint64_t base_left = 0;            /* base pages left of a stretch whose THP failed */

	if (size > limit)
		size = limit;
	if (!size)
		return;
	r->groups++;
	while (g.pages < size && !st->error) {
		unsigned order = 0;
		zpa_gfp_t gfp = ZPA_GFP_HIGHUSER_MOVABLE;
		zpa_pfn_t pfn;

		pfn = ZPA_PFN_NONE;
		if (base_left) {
			base_left--;
		} else if (anon && size - g.pages >= (1ULL << HUGE_ORDER) && rng_unit(&st->rng) < THP_PROB) {
			r->thp_requests++;
			r->requests[C_MOV]++;
			pfn = zpa__alloc_pages(st->m, task, ZPA_GFP_TRANSHUGE_LIGHT, HUGE_ORDER, -1, NULL);
			if (pfn != ZPA_PFN_NONE) {
				order = HUGE_ORDER;
			} else {
				/* The stretch gets a page table: base pages from now on. */
				r->thp_fallbacks++;
				base_left = (1ULL << HUGE_ORDER) - 1;
			}
		}
		if (pfn == ZPA_PFN_NONE) {
			r->requests[C_MOV]++;
			pfn = alloc_with_reclaim(st, task, gfp, 0);
		}
		if (pfn == ZPA_PFN_NONE) {
			r->failures[C_MOV]++;
			break;
		}
		if (push_block(&g.v, &n, &cap, pfn, order) != 0) {
			zpa__free_pages(st->m, task, pfn, order);
			st->error = ZPA_ENOMEM;
			break;
		}
		g.pages += 1ULL << order;
	}
	g.n = (uint32_t)n;
	g.cap = (uint32_t)cap;
	if (!g.pages) {
		free(g.v);
		return;
	}
	if (st->nr_groups == st->cap_groups) {
		size_t ncap = st->cap_groups ? st->cap_groups * 2 : 1024;
		struct group *ng = realloc(st->groups, ncap * sizeof(*ng));

		if (!ng) {
			st->live_groups++;
			st->mov_pages += g.pages;
			free_group(st, &g);
			st->error = ZPA_ENOMEM;
			return;
		}
		st->groups = ng;
		st->cap_groups = ncap;
	}
	st->groups[st->nr_groups++] = g;
	st->live_groups++;
	st->mov_pages += g.pages;
}

/* Summed high watermarks of the machine's zones. */
static uint64_t summed_high(struct zpa_machine *m)
{
	uint64_t high = 0;

	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info z;

			if (zpa_zone_info(m, (int)nid, t, &z) == 0)
				high += z.high;
		}
	return high;
}

/* Phase p's target (pages) for class c; movable gets what the others leave. */
static uint64_t phase_target(const struct run_result *r, int c, unsigned p)
{
	double x = PHASES > 1 ? (double)p / (PHASES - 1) : 1.0;
	double managed = (double)r->managed;
	uint64_t unmov = (uint64_t)((UNMOV_START + (UNMOV_END - UNMOV_START) * x) * managed);
	uint64_t recl = (uint64_t)((RECL_START + (RECL_END - RECL_START) * x) * managed);

	if (c == C_UNMOV)
		return unmov;
	if (c == C_RECL)
		return recl;
	return r->target_pages > unmov + recl ? r->target_pages - unmov - recl : 0;
}

/*
 * Allocate until every class reaches its target for phase p: each request's
 * class is drawn in proportion to the pages it still lacks.  A class whose
 * requests keep failing even after reclaim is given up on for the phase.
 */
static void fill_to_targets(struct stress *st, unsigned p)
{
	uint64_t target[NR_CLASSES];
	uint64_t give_up[NR_CLASSES] = { 0 };
	uint64_t reclaims = st->r->reclaims;

	for (int c = 0; c < NR_CLASSES; c++)
		target[c] = phase_target(st->r, c, p);
	/* Ends when the targets are met, or when reclaim keeps running without
	 * getting there (per-CPU lists and lowmem reserves can hold more than the
	 * high watermarks leave): the phase's memory is then as full as it gets. */
	while (!st->error && st->r->reclaims - reclaims <= MAX_PHASE_RECLAIMS) {
		uint64_t need[NR_CLASSES], total = 0, x, failed;
		int c;

		for (c = 0; c < NR_CLASSES; c++) {
			uint64_t have = class_pages(st, c);

			need[c] = give_up[c] > 64 || have >= target[c] ? 0 : target[c] - have;
			total += need[c];
		}
		if (!total)
			break;
		x = rng_below(&st->rng, total);
		for (c = 0; c + 1 < NR_CLASSES && x >= need[c]; c++)
			x -= need[c];
		failed = st->r->failures[c];
		if (c == C_MOV)
			movable_request(st, need[c]);
		else
			kernel_request(st, c);
		if (st->r->failures[c] != failed)
			give_up[c]++;
	}
}

/* Zones a GFP_KERNEL request may use: every node's DMA, DMA32 and Normal. */
static bool kernel_zone(int t)
{
	return t == ZPA_ZONE_DMA || t == ZPA_ZONE_DMA32 || t == ZPA_ZONE_NORMAL;
}

/* The zone index a GFP_KERNEL request's lowmem_reserve is looked up at. */
static int kernel_highest_zoneidx(struct zpa_machine *m)
{
	int idx = -1, normal_idx = -1, n = 0;

	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		struct zpa_zone_info z;

		if (zpa_zone_info(m, 0, t, &z) != 0)
			continue;
		if (t <= ZPA_ZONE_NORMAL)
			idx = n;
		if (t == ZPA_ZONE_NORMAL)
			normal_idx = n;
		n++;
	}
	return normal_idx >= 0 ? normal_idx : idx;
}

/* A kernel page at rest: its pageblock and whether its type differs from it. */
struct pb_page {
	zpa_pfn_t pb;
	bool mixed;
};

static int pb_page_cmp(const void *a, const void *b)
{
	zpa_pfn_t x = ((const struct pb_page *)a)->pb, y = ((const struct pb_page *)b)->pb;

	return x < y ? -1 : x > y;
}

/*
 * At rest: what the free memory could ideally give, how much is really
 * there, the fragmentation indexes, and which pageblocks hold kernel pages.
 */
static void measure_rest(struct stress *st)
{
	struct zpa_machine *m = st->m;
	struct run_result *r = st->r;
	int hz = kernel_highest_zoneidx(m);
	uint64_t biggest = 0;
	unsigned pb_shift = HUGE_ORDER;

	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++) {
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info z;
			struct zpa_frag_indexes fi;
			uint64_t keep;

			if (!kernel_zone(t) || zpa_zone_info(m, (int)nid, t, &z) != 0 || !z.present)
				continue;
			keep = z.min + z.boost + (hz >= 0 && (unsigned)hz < z.nr_protection ? z.protection[hz] : 0);
			r->free_at_rest += z.free;
			r->boost_at_rest += z.boost;
			r->order9_ideal_free += z.free >> HUGE_ORDER;
			if (z.free > keep)
				r->order9_ideal += (z.free - keep) >> HUGE_ORDER;
			r->pageblocks += (z.spanned + (1ULL << pb_shift) - 1) >> pb_shift;
			if (zpa_zone_frag_indexes(m, (int)nid, t, &fi) == 0 && HUGE_ORDER < fi.nr_orders) {
				r->free_pageblocks_at_rest += fi.info[HUGE_ORDER].free_blocks_suitable;
				if (z.managed > biggest) {
					biggest = z.managed;
					r->unusable_index9 = fi.unusable_index[HUGE_ORDER];
					r->extfrag_index9 = fi.extfrag_index[HUGE_ORDER];
				}
			}
		}
	}

	/* Pageblocks holding kernel pages, and those holding a page whose type
	 * differs from the pageblock's: sort the pages by pageblock, count runs. */
	size_t n = st->set[C_UNMOV].n + st->set[C_RECL].n, k = 0;
	struct pb_page *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v) {
		st->error = ZPA_ENOMEM;
		return;
	}
	for (int c = C_UNMOV; c <= C_RECL; c++) {
		int want = c == C_UNMOV ? ZPA_MIGRATE_UNMOVABLE : ZPA_MIGRATE_RECLAIMABLE;

		for (size_t i = 0; i < st->set[c].n; i++) {
			struct zpa_page_info info;
			zpa_pfn_t pfn = st->set[c].v[i].pfn;

			v[k].pb = pfn >> pb_shift;
			/* Without grouping every request is unmovable: none is "mixed". */
			v[k].mixed = r->mobility && zpa_page_info(m, pfn, &info) == 0 &&
				     info.pageblock_migratetype != want;
			k++;
		}
	}
	qsort(v, k, sizeof(*v), pb_page_cmp);
	for (size_t i = 0; i < k;) {
		size_t j = i;
		bool mixed = false;

		for (; j < k && v[j].pb == v[i].pb; j++)
			mixed |= v[j].mixed;
		r->polluted_pageblocks++;
		r->mixed_pageblocks += mixed;
		i = j;
	}
	free(v);
}

/* ----- the allocator's messages: the first few on stderr, the rest counted ----- */

struct log_counter {
	uint64_t messages;
};

static void counting_log(void *arg, int level, const char *msg)
{
	struct log_counter *lc = arg;

	if (lc->messages++ < LOG_SHOWN)
		fprintf(stderr, "zpa: allocator %s: %s%s", level <= ZPA_LOG_ERR ? "error" :
			level <= ZPA_LOG_WARN ? "warning" : "note", msg,
			msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t counter(struct zpa_machine *m, const char *name)
{
	bool ok;
	uint64_t v = zpa_vmstat(m, name, &ok);

	return ok ? v : 0;
}

/* Views printed at rest with --verbose. */
static const char *const rest_views[] = { "buddyinfo", "pagetypeinfo", "extfrag_index", "unusable_index" };

struct stress_opts {
	struct cli_machine_opts machine;
	uint64_t seed;
	const char *json;
	bool no_mobility;
	bool verbose;
};

/*
 * One run on a machine created from cfg (grouping by mobility as `mobility`
 * says).  Returns 0, or an exit status after printing why.
 */
static int run_one(const struct stress_opts *o, struct zpa_machine_config *cfg, bool mobility,
		   struct run_result *r, FILE *verbose_out)
{
	struct stress st = { .r = r };
	struct zpa_machine *m = NULL;
	uint64_t base[NR_COUNTERS];
	int status = CLI_EXIT_OK;
	double t0 = now_seconds();

	memset(r, 0, sizeof(*r));
	r->mobility = mobility;
	cfg->page_group_by_mobility_disabled = !mobility;
	status = cli_machine_create(&o->machine, cfg, &m);
	if (status)
		return status;
	st.m = m;
	rng_seed(&st.rng, o->seed);
	r->managed = zpa_total_managed(m);
	{
		uint64_t high = summed_high(m);

		r->target_pages = r->managed > high ? r->managed - high : 0;
	}
	for (unsigned i = 0; i < NR_COUNTERS; i++)
		base[i] = counter(m, counter_names[i]);

	st.nr_tasks = zpa_nr_cpus(m) ? zpa_nr_cpus(m) : 1;
	st.tasks = calloc(st.nr_tasks, sizeof(*st.tasks));
	if (!st.tasks) {
		status = cli_error("out of memory");
		goto out;
	}
	for (unsigned c = 0; c < st.nr_tasks; c++) {
		st.tasks[c] = zpa_task_create();
		if (!st.tasks[c]) {
			status = cli_error("out of memory");
			goto out;
		}
		zpa_task_set_cpu(st.tasks[c], (int)c);
	}

	/* 1. Build-up in phases. */
	for (unsigned p = 0; p < PHASES && !st.error; p++) {
		if (p) {
			static const double share[NR_CLASSES] = { FREE_UNMOV, FREE_RECL, FREE_MOV };

			for (int c = 0; c < C_MOV; c++)
				free_random_kernel(&st, c, (uint64_t)(share[c] * (double)st.set[c].pages));
			free_random_groups(&st, (uint64_t)(share[C_MOV] * (double)st.mov_pages));
		}
		fill_to_targets(&st, p);
	}
	for (int c = 0; c < NR_CLASSES; c++)
		r->peak_pages[c] = class_pages(&st, c);

	/* 2. At rest: movable memory reclaimed, per-CPU lists drained. */
	for (size_t i = 0; i < st.nr_groups; i++)
		if (st.groups[i].pages)
			free_group(&st, &st.groups[i]);
	zpa_drain_all_pages(m);
	for (int c = 0; c < NR_CLASSES; c++)
		r->held_at_rest[c] = class_pages(&st, c);
	r->kernel_at_rest = r->held_at_rest[C_UNMOV] + r->held_at_rest[C_RECL];
	measure_rest(&st);
	if (st.error) {
		status = cli_error("out of memory");
		goto out;
	}
	if (verbose_out) {
		cli_heading(verbose_out, "At rest, grouping by mobility %s", mobility ? "on" : "off");
		for (size_t v = 0; v < sizeof(rest_views) / sizeof(rest_views[0]); v++) {
			fprintf(verbose_out, "%s:\n", rest_views[v]);
			cli_print_view(verbose_out, m, rest_views[v]);
			fputc('\n', verbose_out);
		}
	}

	/* 3. Order-9 blocks on CPU 0 until one fails. */
	while (zpa__alloc_pages(m, st.tasks[0], ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, HUGE_ORDER, -1, NULL) !=
	       ZPA_PFN_NONE)
		r->order9_allocated++;
	r->order9_success_fraction = r->order9_ideal ? (double)r->order9_allocated / (double)r->order9_ideal : 0.0;

	for (unsigned i = 0; i < NR_COUNTERS; i++)
		r->counters[i] = counter(m, counter_names[i]) - base[i];
	r->check_rc = zpa_check(m, r->check_report, sizeof(r->check_report));
	r->seconds = now_seconds() - t0;
	if (r->check_rc)
		fprintf(stderr, "zpa: zpa_check after the %s run: %s\n%s\n", mobility ? "mobility" : "no-mobility",
			zpa_strerror(r->check_rc), r->check_report);
out:
	if (st.tasks) {
		for (unsigned c = 0; c < st.nr_tasks; c++)
			if (st.tasks[c])
				zpa_task_destroy(st.tasks[c]);
		free(st.tasks);
	}
	for (int c = 0; c < C_MOV; c++)
		free(st.set[c].v);
	for (size_t i = 0; i < st.nr_groups; i++)
		free(st.groups[i].v);
	free(st.groups);
	zpa_machine_destroy(m);
	return status;
}

/* ----- output ----- */

/* One table row: a label and one value per run. */
static void row_u64(FILE *f, const char *label, const struct run_result *r, unsigned n, size_t off)
{
	fprintf(f, "  %-44s", label);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, " %14llu", (unsigned long long)*(const uint64_t *)((const char *)&r[i] + off));
	fputc('\n', f);
}

#define ROW(f, label, r, n, field) row_u64(f, label, r, n, offsetof(struct run_result, field))

static void print_results(FILE *f, const struct run_result *r, unsigned n)
{
	char label[96];

	fprintf(f, "  %-44s", "");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, " %14s", r[i].mobility ? "mobility on" : "mobility off");
	fputc('\n', f);
	ROW(f, "managed pages", r, n, managed);
	ROW(f, "build-up target (managed - high watermarks)", r, n, target_pages);
	for (int c = 0; c < NR_CLASSES; c++) {
		snprintf(label, sizeof(label), "%s pages at the end of the build-up", class_names[c]);
		row_u64(f, label, r, n, offsetof(struct run_result, peak_pages) + (size_t)c * sizeof(uint64_t));
	}
	for (int c = 0; c < NR_CLASSES; c++) {
		snprintf(label, sizeof(label), "%s requests", class_names[c]);
		row_u64(f, label, r, n, offsetof(struct run_result, requests) + (size_t)c * sizeof(uint64_t));
	}
	ROW(f, "movable objects (files, processes)", r, n, groups);
	ROW(f, "THP requests", r, n, thp_requests);
	ROW(f, "THP fallbacks to base pages", r, n, thp_fallbacks);
	ROW(f, "reclaims after a failed request", r, n, reclaims);
	for (int c = 0; c < NR_CLASSES; c++) {
		snprintf(label, sizeof(label), "%s requests failed after reclaim", class_names[c]);
		row_u64(f, label, r, n, offsetof(struct run_result, failures) + (size_t)c * sizeof(uint64_t));
	}
	fprintf(f, "\n  At rest (movable memory freed, per-CPU lists drained):\n");
	ROW(f, "kernel pages held (unmovable + reclaimable)", r, n, kernel_at_rest);
	ROW(f, "  of which reclaimable", r, n, held_at_rest[C_RECL]);
	ROW(f, "free pages", r, n, free_at_rest);
	ROW(f, "watermark boost", r, n, boost_at_rest);
	ROW(f, "pageblocks in GFP_KERNEL's zones", r, n, pageblocks);
	ROW(f, "pageblocks holding kernel pages", r, n, polluted_pageblocks);
	ROW(f, "  holding a page of another type than theirs", r, n, mixed_pageblocks);
	ROW(f, "free pageblocks (aligned order-9 free blocks)", r, n, free_pageblocks_at_rest);
	fprintf(f, "  %-44s", "unusable_index / extfrag_index at order 9");
	for (unsigned i = 0; i < n; i++) {
		char v[32];

		snprintf(v, sizeof(v), "%d.%03d / %d.%03d", r[i].unusable_index9 / 1000, r[i].unusable_index9 % 1000,
			 r[i].extfrag_index9 / 1000, abs(r[i].extfrag_index9 % 1000));
		fprintf(f, " %14s", v);
	}
	fputc('\n', f);
	fprintf(f, "\n  Order-9 GFP_KERNEL|__GFP_NOWARN allocations at rest:\n");
	ROW(f, "ideal (free - min - lowmem_reserve) / 512", r, n, order9_ideal);
	ROW(f, "free pages / 512", r, n, order9_ideal_free);
	ROW(f, "allocated", r, n, order9_allocated);
	fprintf(f, "  %-44s", "success rate (allocated / ideal)");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, " %13.1f%%", 100.0 * r[i].order9_success_fraction);
	fputc('\n', f);
	fprintf(f, "\n  Fallbacks (mm_page_alloc_extfrag events over the run):\n");
	for (unsigned k = 0; k < NR_COUNTERS; k++)
		row_u64(f, counter_names[k], r, n, offsetof(struct run_result, counters) + k * sizeof(uint64_t));
	fprintf(f, "\n  %-44s", "zpa_check");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, " %14s", r[i].check_rc ? "FAILED" : "ok");
	fputc('\n', f);
	if (n == 2 && r[1].order9_allocated)
		fprintf(f, "\nGrouping by mobility on gets %.1fx the order-9 blocks it gets off.\n",
			(double)r[0].order9_allocated / (double)r[1].order9_allocated);
}

static void json_run(FILE *f, const struct run_result *r)
{
	fprintf(f, "    {\n");
	fprintf(f, "      \"mobility\": %s,\n", r->mobility ? "true" : "false");
	fprintf(f, "      \"managed\": %llu,\n", (unsigned long long)r->managed);
	fprintf(f, "      \"target_pages\": %llu,\n", (unsigned long long)r->target_pages);
	for (int c = 0; c < NR_CLASSES; c++) {
		fprintf(f, "      \"%s\": { \"requests\": %llu, \"failures\": %llu, \"pages_at_end_of_build_up\": %llu, "
			   "\"pages_at_rest\": %llu },\n", class_names[c], (unsigned long long)r->requests[c],
			(unsigned long long)r->failures[c], (unsigned long long)r->peak_pages[c],
			(unsigned long long)r->held_at_rest[c]);
	}
	fprintf(f, "      \"movable_objects\": %llu,\n", (unsigned long long)r->groups);
	fprintf(f, "      \"thp_requests\": %llu,\n", (unsigned long long)r->thp_requests);
	fprintf(f, "      \"thp_fallbacks\": %llu,\n", (unsigned long long)r->thp_fallbacks);
	fprintf(f, "      \"reclaims\": %llu,\n", (unsigned long long)r->reclaims);
	fprintf(f, "      \"reclaimed_pages\": %llu,\n", (unsigned long long)r->reclaimed_pages);
	fprintf(f, "      \"free_errors\": %llu,\n", (unsigned long long)r->free_errors);
	fprintf(f, "      \"free_pages_at_rest\": %llu,\n", (unsigned long long)r->free_at_rest);
	fprintf(f, "      \"watermark_boost_at_rest\": %llu,\n", (unsigned long long)r->boost_at_rest);
	fprintf(f, "      \"pageblocks\": %llu,\n", (unsigned long long)r->pageblocks);
	fprintf(f, "      \"polluted_pageblocks\": %llu,\n", (unsigned long long)r->polluted_pageblocks);
	fprintf(f, "      \"mixed_pageblocks\": %llu,\n", (unsigned long long)r->mixed_pageblocks);
	fprintf(f, "      \"free_pageblocks_at_rest\": %llu,\n", (unsigned long long)r->free_pageblocks_at_rest);
	fprintf(f, "      \"unusable_index_order9\": %d,\n", r->unusable_index9);
	fprintf(f, "      \"extfrag_index_order9\": %d,\n", r->extfrag_index9);
	fprintf(f, "      \"order9_ideal\": %llu,\n", (unsigned long long)r->order9_ideal);
	fprintf(f, "      \"order9_ideal_free_pages\": %llu,\n", (unsigned long long)r->order9_ideal_free);
	fprintf(f, "      \"order9_allocated\": %llu,\n", (unsigned long long)r->order9_allocated);
	fprintf(f, "      \"order9_success_fraction\": %.6f,\n", r->order9_success_fraction);
	fprintf(f, "      \"fallbacks\": {");
	for (unsigned k = 0; k < NR_COUNTERS; k++)
		fprintf(f, "%s\n        \"%s\": %llu", k ? "," : "", counter_names[k],
			(unsigned long long)r->counters[k]);
	fprintf(f, "\n      },\n");
	fprintf(f, "      \"check\": \"%s\"\n", r->check_rc ? "failed" : "ok");
	fprintf(f, "    }");
}

static int write_json(FILE *f, const struct stress_opts *o, const struct run_result *r, unsigned n)
{
	fprintf(f, "{\n  \"workload\": \"stress-highalloc\",\n  \"seed\": %llu,\n  \"phases\": %d,\n  \"runs\": [\n",
		(unsigned long long)o->seed, PHASES);
	for (unsigned i = 0; i < n; i++) {
		json_run(f, &r[i]);
		fprintf(f, "%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return ferror(f) ? -1 : 0;
}

static const char stress_help[] =
	"Usage: zpa run stress-highalloc [MACHINE] [--seed N] [--json FILE]\n"
	"                                [--no-mobility] [--verbose]\n"
	"\n"
	"The stress-highalloc workload (after mmtests): fill the machine with a mix\n"
	"of kernel and user allocations in ten phases of random frees and refills,\n"
	"the kernel share growing from 5% to 14% of memory: unmovable slab pages\n"
	"(GFP_KERNEL order 0, GFP_KERNEL|__GFP_COMP orders 1-3), reclaimable slab\n"
	"pages (GFP_KERNEL|__GFP_RECLAIMABLE orders 0-1) and movable pages\n"
	"(GFP_HIGHUSER_MOVABLE order 0, THP GFP_TRANSHUGE_LIGHT order 9) up to the\n"
	"high watermarks.  Then free all movable memory, drain the per-CPU lists and\n"
	"allocate order-9 blocks with GFP_KERNEL|__GFP_NOWARN until one fails.\n"
	"Reports the count against the ideal, (free - min - lowmem_reserve) / 512\n"
	"over the zones GFP_KERNEL may use, with the fragmentation indexes and the\n"
	"fallback counters (mm_page_alloc_extfrag).  Runs twice, grouping pages by\n"
	"mobility on and off (page_group_by_mobility_disabled), side by side.\n"
	"\n"
	"Options:\n"
	"  --seed N        seed of the workload's random numbers (default 42)\n"
	"  --no-mobility   only the run with grouping by mobility off\n"
	"  --json FILE     also write the results as JSON to FILE ('-': only JSON, to stdout)\n"
	"  --verbose       also print buddyinfo, pagetypeinfo, extfrag_index and\n"
	"                  unusable_index at rest\n"
	"\n"
	"The machine options are those of every command; without any, the machine\n"
	"is one node of 2 GiB with 2 CPUs (zones DMA and DMA32).\n"
	"\n"
	"Exit status: 0 when zpa_check() passes after every run, 1 otherwise.\n"
	"\n";

static int stress_main(struct stress_opts *o)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct run_result *r = calloc(2, sizeof(*r));
	struct log_counter lc = { 0 };
	bool text = !(o->json && strcmp(o->json, "-") == 0);
	FILE *out = stdout;
	unsigned n = 0;
	int status;

	if (!cfg || !r) {
		status = cli_error("out of memory");
		goto done;
	}
	if (!o->machine.snapshot && !o->machine.machine_file) {
		if (!o->machine.nodes)
			o->machine.nodes = DEFAULT_NODES;
		if (!o->machine.mem)
			o->machine.mem = DEFAULT_MEM;
		if (!o->machine.cpus)
			o->machine.cpus = o->machine.nodes < DEFAULT_CPUS ? DEFAULT_CPUS : o->machine.nodes;
	}
	status = cli_machine_config("run stress-highalloc", &o->machine, cfg);
	if (status)
		goto done;
	cfg->log = counting_log;
	cfg->log_arg = &lc;
	if (text) {
		struct zpa_machine *m = NULL;

		status = cli_machine_create(&o->machine, cfg, &m);
		if (status)
			goto done;
		cli_heading(out, "Machine");
		cli_describe_machine(out, m, cfg);
		zpa_machine_destroy(m);
		cli_heading(out, "stress-highalloc");
		fprintf(out, "Seed %llu, %d phases; %s.\n", (unsigned long long)o->seed, PHASES,
			o->no_mobility ? "grouping by mobility off only" : "grouping by mobility on, then off");
		fflush(out);
	}
	if (!o->no_mobility) {
		status = run_one(o, cfg, true, &r[n++], text && o->verbose ? out : NULL);
		if (status)
			goto done;
	}
	status = run_one(o, cfg, false, &r[n++], text && o->verbose ? out : NULL);
	if (status)
		goto done;
	if (lc.messages > LOG_SHOWN)
		fprintf(stderr, "zpa: %llu more allocator messages not shown\n",
			(unsigned long long)(lc.messages - LOG_SHOWN));
	if (text) {
		cli_heading(out, "Results");
		print_results(out, r, n);
		for (unsigned i = 0; i < n; i++)
			fprintf(out, "%s run: %.2f s\n", r[i].mobility ? "Mobility on" : "Mobility off", r[i].seconds);
		fflush(out);
	}
	if (o->json) {
		FILE *jf = text ? fopen(o->json, "w") : stdout;

		if (!jf || write_json(jf, o, r, n) != 0 || (jf != stdout && fclose(jf) != 0)) {
			status = cli_error("cannot write %s", o->json);
			goto done;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (r[i].check_rc || r[i].free_errors)
			status = CLI_EXIT_ERROR;
done:
	free(cfg);
	free(r);
	return status;
}

/* argv[0] is "stress-highalloc" (after "run"). */
int cmd_stress(int argc, char **argv)
{
	struct stress_opts o = { .seed = DEFAULT_SEED };
	struct cli_args a = { argc, argv, 1 };
	const char *cmd = "run stress-highalloc";

	while (a.i < argc) {
		const char *v = NULL;
		bool bad = false;
		int mrc;

		if (strcmp(argv[a.i], "--help") == 0 || strcmp(argv[a.i], "-h") == 0) {
			fputs(stress_help, stdout);
			fputs(cli_machine_help, stdout);
			return CLI_EXIT_OK;
		}
		mrc = cli_machine_option(&a, cmd, &o.machine);
		if (mrc < 0)
			return CLI_EXIT_USAGE;
		if (mrc > 0)
			continue;
		if (cli_take_option(&a, "--seed", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			if (!cli_parse_u64(v, UINT64_MAX, &o.seed))
				return cli_usage_error(cmd, "--seed: '%s' is not a number", v);
		} else if (cli_take_option(&a, "--json", true, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.json = v;
		} else if (cli_take_option(&a, "--no-mobility", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.no_mobility = true;
		} else if (cli_take_option(&a, "--verbose", false, &v, &bad)) {
			if (bad)
				return CLI_EXIT_USAGE;
			o.verbose = true;
		} else {
			return cli_usage_error(cmd, "unknown option '%s'", argv[a.i]);
		}
	}
	return stress_main(&o);
}
