/*
 * test_mempolicy.c - NUMA memory policies as Linux 6.1 applies them: where
 * pages land under each mode (local, preferred with fallback, bind without
 * spilling, bind below the policy zone, interleave's exact round robin,
 * preferred-many's two passes), __GFP_THISNODE skipping the task policy,
 * rebinding when a cpuset changes (plain, STATIC, RELATIVE), every EINVAL of
 * set_mempolicy, the calling thread's fast path giving way to a policy, and
 * NUMA counters that add up over thousands of mixed allocations.
 *
 * Machines: n nodes of Normal memory only (one CPU each, distance
 * 10 + 10 * |i - j|, so node i's fallback order is by distance), plus two
 * layouts for the policy zone rules.  no_pcp where a "node full" test must not
 * see pages parked on per-CPU lists; exact_vmstat for exact counters.  Tests
 * that check where a watermark stopped a node use movable requests: they
 * never steal a pageblock, so no watermark boost moves the mark.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"

#define G (1ull << 30)
#define M (1ull << 20)

/* Placement machines and node masks: tests/helpers/zt.h. */
#define numa_machine zt_numa_machine
#define MASK ZT_MASK

static zpa_nodemask_t no_nodes(void)
{
	zpa_nodemask_t mk;
	zpa_nodemask_clear(&mk);
	return mk;
}

static struct zpa_task *task_on(int cpu)
{
	struct zpa_task *t = zpa_task_create();
	assert_non_null(t);
	zpa_task_set_cpu(t, cpu);
	return t;
}

static int page_nid(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info info;
	assert_true(pfn != ZPA_PFN_NONE);
	assert_int_equal(zpa_page_info(m, pfn, &info), 0);
	return info.nid;
}

static uint64_t node_free(struct zpa_machine *m, int nid)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, nid, ZPA_ZONE_NORMAL, &zi), 0);
	return zi.free;
}

static struct zpa_zone_info normal_zone(struct zpa_machine *m, int nid)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, nid, ZPA_ZONE_NORMAL, &zi), 0);
	return zi;
}

/* Pages a test holds, freed at its end. */
struct held {
	zpa_pfn_t *pfn;
	unsigned *order;
	size_t n, cap;
};

static void hold(struct held *h, zpa_pfn_t pfn, unsigned order)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->pfn = realloc(h->pfn, h->cap * sizeof *h->pfn);
		h->order = realloc(h->order, h->cap * sizeof *h->order);
		assert_non_null(h->pfn);
		assert_non_null(h->order);
	}
	h->pfn[h->n] = pfn;
	h->order[h->n++] = order;
}

static void release(struct zpa_machine *m, struct held *h)
{
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(zpa__free_pages(m, NULL, h->pfn[i], h->order[i]), 0);
	free(h->pfn);
	free(h->order);
	memset(h, 0, sizeof *h);
}

/* Allocate order-0 pages on nid alone (__GFP_THISNODE) until it refuses; returns how many. */
static size_t fill_node(struct zpa_machine *m, struct zpa_task *t, int nid, zpa_gfp_t gfp, struct held *h)
{
	size_t n = 0;
	zpa_pfn_t pfn;
	while ((pfn = zpa__alloc_pages(m, t, gfp | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN, 0, nid, NULL)) != ZPA_PFN_NONE) {
		assert_int_equal(page_nid(m, pfn), nid);
		hold(h, pfn, 0);
		n++;
	}
	return n;
}

/* NUMA events per node (summed over its zones) from the zoneinfo view. */
enum { EV_HIT, EV_MISS, EV_FOREIGN, EV_INTERLEAVE, EV_LOCAL, EV_OTHER, NR_EV };
static const char *const ev_names[NR_EV] = { "numa_hit", "numa_miss", "numa_foreign",
					     "numa_interleave", "numa_local", "numa_other" };

static void numa_events(struct zpa_machine *m, uint64_t ev[][NR_EV], unsigned nodes)
{
	size_t size = 1 << 20;
	char *buf = malloc(size), err[200];
	assert_non_null(buf);
	long len = zpa_show(m, "zoneinfo", buf, size);
	assert_true(len > 0 && (size_t)len < size);
	struct pp_zoneinfo zi;
	if (pp_parse_zoneinfo(buf, &zi, err, sizeof err))
		fail_msg("zoneinfo: %s", err);
	memset(ev, 0, nodes * sizeof ev[0]);
	for (unsigned i = 0; i < zi.nr_zones; i++) {
		const struct pp_zone *z = &zi.zones[i];
		assert_true(z->nid >= 0 && (unsigned)z->nid < nodes);
		for (int e = 0; e < NR_EV; e++) {
			uint64_t v;
			if (pp_zone_stat(z, ev_names[e], &v))
				ev[z->nid][e] += v;
		}
	}
	pp_zoneinfo_free(&zi);
	free(buf);
}

/* ------------------------------------------------------------------ local */

static void test_local_and_default(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, false);
	struct zpa_task *t0 = task_on(0), *t1 = task_on(1);
	int mode;
	zpa_nodemask_t nodes = MASK(0);

	/* No policy: get_mempolicy says DEFAULT with no nodes; pages are local. */
	assert_int_equal(zpa_get_mempolicy(m, t0, &mode, &nodes), 0);
	assert_int_equal(mode, ZPA_MPOL_DEFAULT);
	assert_memory_equal(&nodes, &(zpa_nodemask_t){ { 0 } }, sizeof nodes);
	for (int i = 0; i < 20; i++) {
		zpa_pfn_t a = zpa_alloc_pages_mpol(m, t0, ZPA_GFP_KERNEL, (unsigned)(i % 3), NULL);
		zpa_pfn_t b = zpa_alloc_pages_mpol(m, t1, ZPA_GFP_HIGHUSER_MOVABLE, (unsigned)(i % 3), NULL);
		assert_int_equal(page_nid(m, a), 0);
		assert_int_equal(page_nid(m, b), 1);
		assert_int_equal(zpa__free_pages(m, t0, a, (unsigned)(i % 3)), 0);
		assert_int_equal(zpa__free_pages(m, t1, b, (unsigned)(i % 3)), 0);
	}

	/* LOCAL, and PREFERRED with no nodes (which becomes LOCAL). */
	assert_int_equal(zpa_set_mempolicy(m, t1, ZPA_MPOL_LOCAL, NULL), 0);
	assert_int_equal(zpa_get_mempolicy(m, t1, &mode, &nodes), 0);
	assert_int_equal(mode, ZPA_MPOL_LOCAL);
	assert_memory_equal(&nodes, &(zpa_nodemask_t){ { 0 } }, sizeof nodes);
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t1, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t1, p, 0), 0);
	zpa_nodemask_t empty = no_nodes();
	assert_int_equal(zpa_set_mempolicy(m, t0, ZPA_MPOL_PREFERRED, &empty), 0);
	assert_int_equal(zpa_get_mempolicy(m, t0, &mode, NULL), 0);
	assert_int_equal(mode, ZPA_MPOL_LOCAL);

	/* DEFAULT drops the policy again. */
	assert_int_equal(zpa_set_mempolicy(m, t0, ZPA_MPOL_DEFAULT, NULL), 0);
	assert_int_equal(zpa_get_mempolicy(m, t0, &mode, NULL), 0);
	assert_int_equal(mode, ZPA_MPOL_DEFAULT);

	zpa_task_destroy(t0);
	zpa_task_destroy(t1);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* -------------------------------------------------------------- preferred */

/* PREFERRED {1} from CPU 0: node 1 until it is below its low watermark, then node 0. */
static void test_preferred_fallback(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, true);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t one = MASK(1);
	uint64_t ev[2][NR_EV];
	int mode;
	zpa_nodemask_t got;

	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_PREFERRED, &one), 0);
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_PREFERRED);
	assert_memory_equal(&got, &one, sizeof got);

	uint64_t free0 = node_free(m, 0);
	size_t on1 = 0, on0 = 0;
	for (;;) {
		zpa_pfn_t pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
		hold(&h, pfn, 0);
		if (page_nid(m, pfn) == 0) {
			on0++;
			break;
		}
		on1++;
	}
	/* It left node 1 exactly when node 1 could no longer pass its low watermark. */
	struct zpa_zone_info z1 = normal_zone(m, 1);
	assert_int_equal(z1.boost, 0);
	assert_int_equal(z1.free, z1.low);
	assert_int_equal(on1, z1.managed - z1.free);
	/* From now on everything goes to node 0 (node 1 stays below low). */
	for (int i = 0; i < 100; i++) {
		zpa_pfn_t pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
		assert_int_equal(page_nid(m, pfn), 0);
		hold(&h, pfn, 0);
		on0++;
	}
	assert_int_equal(node_free(m, 0), free0 - on0);

	/* Preferred node 1, CPU 0: node-1 pages are hits but other; node-0 pages are
	 * misses (node 1's foreign) but local. */
	numa_events(m, ev, 2);
	assert_int_equal(ev[1][EV_HIT], on1);
	assert_int_equal(ev[1][EV_OTHER], on1);
	assert_int_equal(ev[0][EV_MISS], on0);
	assert_int_equal(ev[1][EV_FOREIGN], on0);
	assert_int_equal(ev[0][EV_LOCAL], on0);
	assert_int_equal(ev[0][EV_HIT] + ev[1][EV_MISS] + ev[0][EV_FOREIGN], 0);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------------- bind */

/* BIND {1} from CPU 0: never node 0; fails rather than spill once node 1 is at min. */
static void test_bind_no_spill(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, true);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t one = MASK(1);
	uint64_t ev[2][NR_EV];

	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &one), 0);
	uint64_t free0 = node_free(m, 0);
	size_t n = 0;
	zpa_pfn_t pfn;
	while ((pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0, NULL)) !=
	       ZPA_PFN_NONE) {
		assert_int_equal(page_nid(m, pfn), 1);
		hold(&h, pfn, 0);
		n++;
	}
	struct zpa_zone_info z1 = normal_zone(m, 1);
	assert_int_equal(z1.boost, 0);
	assert_int_equal(z1.free, z1.min);  /* down to the min watermark and no further */
	assert_int_equal(node_free(m, 0), free0); /* and never touched node 0 */
	for (int i = 0; i < 3; i++) {
		assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, NULL) == ZPA_PFN_NONE);
		assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 1, NULL) ==
			    ZPA_PFN_NONE);
	}
	/* The preferred zone is the first of node 0's list inside the mask: node 1's. */
	numa_events(m, ev, 2);
	assert_int_equal(ev[1][EV_HIT], n);
	assert_int_equal(ev[1][EV_MISS] + ev[0][EV_FOREIGN] + ev[0][EV_HIT], 0);
	assert_int_equal(ev[1][EV_OTHER], n);

	/*
	 * GFP_ATOMIC is the exception Linux makes: its slow path first uses the
	 * atomic reserves of node 1, then (non-blocking __GFP_HIGH ignores
	 * cpusets and with them the policy's nodes) goes to node 0.
	 */
	size_t atomic1 = 0;
	while ((pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_ATOMIC, 0, NULL)) != ZPA_PFN_NONE && page_nid(m, pfn) == 1) {
		hold(&h, pfn, 0);
		atomic1++;
	}
	assert_true(atomic1 > 0);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_int_equal(page_nid(m, pfn), 0);
	hold(&h, pfn, 0);
	assert_true(normal_zone(m, 1).free < z1.min);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * policy_zone: BIND restricts only requests whose zone type is at least the
 * highest populated zone type (Movable aside).
 */
static void test_bind_policy_zone(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	struct zpa_task *t;
	zpa_pfn_t p;

	/* Node 0: DMA32 only; node 1: Normal.  policy_zone = Normal. */
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 16 * M, 1 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 4 * G, 4 * G + 256 * M, ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[1] = 1;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	t = task_on(1);
	zpa_nodemask_t one = MASK(1), zero = MASK(0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &one), 0);
	/* Node 1 has no DMA32: a bound DMA32 request would fail; it is not bound. */
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA_GFP_DMA32, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	/* BIND {0} with a Normal request from node 1: bound, so node 0's DMA32. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &zero), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	/* Both nodes below 4 GiB: policy_zone = DMA32, so DMA32 requests are bound, DMA ones not. */
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1 * M, 1 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 1 * G, 2 * G, ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[1] = 1;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	t = task_on(0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &one), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA_GFP_DMA32, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA___GFP_DMA, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	/*
	 * Node 1 all Movable (kernelcore of one page leaves the highest zone,
	 * Normal, to ZONE_MOVABLE): a BIND to it applies only to Movable requests.
	 */
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 16 * M, 1 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 4 * G, 4 * G + 256 * M, ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[1] = 1;
	cfg.kernelcore = 4096;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 1, ZPA_ZONE_MOVABLE, &zi), 0);
	assert_int_equal(zi.present, 65536);
	assert_int_equal(zpa_zone_info(m, 1, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.present, 0);
	t = task_on(0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &one), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	/* Not movable: the policy does not apply (node 1 could not serve it anyway). */
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	/* BIND {0} (DMA32 memory, policy_zone DMA32): a Movable request is bound to node 0. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &zero), 0);
	zpa_task_set_cpu(t, 1);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_DEFAULT, NULL), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------- interleave */

static void expect_sequence(struct zpa_machine *m, struct zpa_task *t, const struct zpa_mempolicy *pol,
			    const int *seq, int n, struct held *h)
{
	for (int i = 0; i < n; i++) {
		zpa_pfn_t pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, pol);
		int nid = page_nid(m, pfn);
		if (nid != seq[i])
			fail_msg("interleave step %d: node %d, expected %d", i, nid, seq[i]);
		hold(h, pfn, 0);
	}
}
#define SEQ(...) (const int[]){ __VA_ARGS__ }, (int)(sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

static void test_interleave_round_robin(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64, false);
	struct zpa_task *t = task_on(2);
	struct held h = { 0 };
	uint64_t ev[4][NR_EV];
	zpa_nodemask_t mk = MASK(0, 1, 3);
	int mode;
	zpa_nodemask_t got;

	/* set_mempolicy restarts at the mask's first node. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &mk), 0);
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_INTERLEAVE);
	assert_memory_equal(&got, &mk, sizeof got);
	expect_sequence(m, t, NULL, SEQ(0, 1, 3, 0, 1, 3, 0), &h);
	/* Each page landed where it was sent: interleave hits, by node. */
	numa_events(m, ev, 4);
	assert_int_equal(ev[0][EV_INTERLEAVE], 3);
	assert_int_equal(ev[1][EV_INTERLEAVE], 2);
	assert_int_equal(ev[3][EV_INTERLEAVE], 2);
	assert_int_equal(ev[2][EV_INTERLEAVE], 0);
	assert_int_equal(ev[0][EV_HIT], 3);
	assert_int_equal(ev[2][EV_LOCAL] + ev[0][EV_LOCAL] + ev[1][EV_LOCAL] + ev[3][EV_LOCAL], 0);
	assert_int_equal(ev[0][EV_OTHER] + ev[1][EV_OTHER] + ev[3][EV_OTHER], 7);

	/* Setting it again (node 1 gone) restarts at the first node, wherever il_prev was. */
	expect_sequence(m, t, NULL, SEQ(1), &h);     /* il_prev 0 -> 1 */
	mk = MASK(0, 3);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &mk), 0);
	expect_sequence(m, t, NULL, SEQ(0, 3, 0, 3), &h);

	/* A policy object interleaves from the task's own position (il_prev 3 now). */
	struct zpa_mempolicy *obj;
	zpa_nodemask_t mk12 = MASK(1, 2);
	assert_int_equal(zpa_mpol_new(m, ZPA_MPOL_INTERLEAVE, &mk12, &obj), 0);
	expect_sequence(m, t, obj, SEQ(1, 2, 1), &h);
	/* ... and the task policy continues after the last node the object used (1). */
	expect_sequence(m, t, NULL, SEQ(3, 0), &h);
	/* A new task's il_prev is 0, as Linux's init task's: the object starts after node 0. */
	struct zpa_task *fresh = task_on(0);
	expect_sequence(m, fresh, obj, SEQ(1, 2, 1, 2), &h);
	zpa_task_destroy(fresh);
	fresh = task_on(0);
	zpa_nodemask_t mk02 = MASK(0, 2);
	struct zpa_mempolicy *obj02;
	assert_int_equal(zpa_mpol_new(m, ZPA_MPOL_INTERLEAVE, &mk02, &obj02), 0);
	expect_sequence(m, fresh, obj02, SEQ(2, 0, 2), &h);
	zpa_task_destroy(fresh);
	zpa_mpol_free(obj);
	zpa_mpol_free(obj02);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Interleave to a full node: the allocation falls back, counts no interleave hit, il_prev still moves. */
static void test_interleave_full_node(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, true);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	uint64_t before[2][NR_EV], after[2][NR_EV];
	zpa_nodemask_t both = MASK(0, 1);

	fill_node(m, t, 1, ZPA_GFP_KERNEL, &h);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &both), 0);
	numa_events(m, before, 2);
	expect_sequence(m, t, NULL, SEQ(0, 0, 0, 0), &h); /* 0, then 1 falling back to 0, ... */
	numa_events(m, after, 2);
	assert_int_equal(after[0][EV_INTERLEAVE] - before[0][EV_INTERLEAVE], 2);
	assert_int_equal(after[1][EV_INTERLEAVE] - before[1][EV_INTERLEAVE], 0);
	assert_int_equal(after[0][EV_MISS] - before[0][EV_MISS], 2);   /* sent to 1, served by 0 */
	assert_int_equal(after[1][EV_FOREIGN] - before[1][EV_FOREIGN], 2);
	assert_int_equal(after[0][EV_HIT] - before[0][EV_HIT], 2);
	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Rebinding on a cpuset change.  Policy nodes {2,3} made while every node is
 * allowed, then mems {1,2}, then {0,1,2,3}:
 *   plain     {2,3} -> remap by position onto {1,2}: {1,2} -> onto all: {0,1}
 *   STATIC    {2,3} & {1,2} = {2}                  -> {2,3}
 *   RELATIVE  fold {2,3} by 2 = {0,1} onto {1,2}   -> {2,3} onto all: {2,3}
 */
static void test_interleave_rebind(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64, false);
	struct held h = { 0 };
	zpa_nodemask_t user = MASK(2, 3), mems12 = MASK(1, 2), all = MASK(0, 1, 2, 3), got;
	int mode;
	struct {
		int flags;
		int seq1[4], seq2[4];
	} cases[] = {
		{ 0, { 1, 2, 1, 2 }, { 0, 1, 0, 1 } },
		{ ZPA_MPOL_F_STATIC_NODES, { 2, 2, 2, 2 }, { 3, 2, 3, 2 } },
		{ ZPA_MPOL_F_RELATIVE_NODES, { 1, 2, 1, 2 }, { 3, 2, 3, 2 } },
	};
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct zpa_task *t = task_on(0);
		assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE | cases[c].flags, &user), 0);
		expect_sequence(m, t, NULL, SEQ(2), &h); /* il_prev = 2 */
		assert_int_equal(zpa_task_set_mems_allowed(m, t, &mems12, NULL), 0);
		expect_sequence(m, t, NULL, cases[c].seq1, 4, &h);
		assert_int_equal(zpa_task_set_mems_allowed(m, t, &all, NULL), 0);
		expect_sequence(m, t, NULL, cases[c].seq2, 4, &h);
		/* get_mempolicy: a flagged policy reports its mask as given. */
		assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
		assert_int_equal(mode, ZPA_MPOL_INTERLEAVE | cases[c].flags);
		zpa_nodemask_t m01 = MASK(0, 1);
		assert_memory_equal(&got, cases[c].flags ? &user : &m01, sizeof got);
		zpa_task_destroy(t);
	}
	/* RELATIVE maps the given positions onto whatever is allowed when made. */
	struct zpa_task *t = task_on(3);
	zpa_nodemask_t m23 = MASK(2, 3), pos01 = MASK(0, 1);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &m23, NULL), 0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE | ZPA_MPOL_F_RELATIVE_NODES, &pos01), 0);
	expect_sequence(m, t, NULL, SEQ(2, 3, 2), &h);
	/* ... where a plain or STATIC {0,1} keeps no allowed node. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &pos01), ZPA_EINVAL);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE | ZPA_MPOL_F_STATIC_NODES, &pos01), ZPA_EINVAL);
	zpa_task_destroy(t);

	release(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* --------------------------------------------------------- preferred many */

static void test_preferred_many(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64, true);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t mk = MASK(1, 2);

	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_PREFERRED_MANY, &mk), 0);
	/*
	 * First pass (mask {1,2}, no direct reclaim): the fast path takes node 1,
	 * the nearest of the set to CPU 0, down to its low watermark, then node 2
	 * to its low; the slow path then takes node 1 and node 2 down to min.
	 * Only then the second pass, without the mask: node 0, the local node.
	 */
	int runs[8], nruns = 0;
	uint64_t free1_at_switch = 0;
	for (;;) {
		zpa_pfn_t pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
		int nid = page_nid(m, pfn);
		hold(&h, pfn, 0);
		if (!nruns || runs[nruns - 1] != nid) {
			assert_true(nruns < 8);
			if (nruns == 1)
				free1_at_switch = node_free(m, 1);
			runs[nruns++] = nid;
		}
		if (nid == 0 || nid == 3)
			break;
	}
	assert_int_equal(nruns, 5);
	assert_int_equal(runs[0], 1);
	assert_int_equal(runs[1], 2);
	assert_int_equal(runs[2], 1);
	assert_int_equal(runs[3], 2);
	assert_int_equal(runs[4], 0);
	struct zpa_zone_info z1 = normal_zone(m, 1), z2 = normal_zone(m, 2);
	assert_int_equal(free1_at_switch, z1.low);
	assert_int_equal(z1.free, z1.min);
	assert_int_equal(z2.free, z2.min);
	assert_int_equal(node_free(m, 3), normal_zone(m, 3).managed);
	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* -------------------------------------------------------------- THISNODE */

static void test_thisnode(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, true);
	struct zpa_task *t = task_on(1);
	struct held h = { 0 };
	zpa_nodemask_t both = MASK(0, 1), zero = MASK(0);
	bool ok;

	/* __GFP_THISNODE skips the task policy: local node, and il_prev does not move. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &both), 0);
	expect_sequence(m, t, NULL, SEQ(0), &h);
	for (int i = 0; i < 5; i++) {
		zpa_pfn_t pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE, 0, NULL);
		assert_int_equal(page_nid(m, pfn), 1);
		hold(&h, pfn, 0);
	}
	expect_sequence(m, t, NULL, SEQ(1, 0), &h);
	/* It never falls back: with node 1 full it fails while node 0 has room. */
	size_t n = 0;
	zpa_pfn_t pfn;
	while ((pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN, 0,
					   NULL)) != ZPA_PFN_NONE) {
		assert_int_equal(page_nid(m, pfn), 1);
		hold(&h, pfn, 0);
		n++;
	}
	assert_true(n > 1000);
	struct zpa_zone_info z1 = normal_zone(m, 1);
	/* Stopped by min, plus the boost pageblock steals caused (the GFP_KERNEL pages above). */
	assert_true(z1.free <= z1.min + z1.boost);
	assert_true(node_free(m, 0) > normal_zone(m, 0).high);

	/* An explicit BIND object is not skipped; with THISNODE it warns, once. */
	struct zpa_mempolicy *bind0;
	assert_int_equal(zpa_mpol_new(m, ZPA_MPOL_BIND, &zero, &bind0), 0);
	uint64_t warns = zpa_vmstat(m, "zpa_warn", &ok);
	assert_true(ok);
	for (int i = 0; i < 2; i++) {
		zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN, 0, bind0);
		assert_true(p == ZPA_PFN_NONE); /* node 1's own list, bound to node 0: nothing */
	}
	assert_int_equal(zpa_vmstat(m, "zpa_warn", &ok), warns + 1);
	zpa_mpol_free(bind0);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ----------------------------------------------------------------- EINVAL */

static char not_null;

static void expect_einval_ctx(struct zpa_machine *m, struct zpa_task *t, int mode, const zpa_nodemask_t *nodes,
			      bool objects_too)
{
	int before, after;
	zpa_nodemask_t nb, na;
	struct zpa_mempolicy *obj = (struct zpa_mempolicy *)&not_null;
	assert_int_equal(zpa_get_mempolicy(m, t, &before, &nb), 0);
	if (zpa_set_mempolicy(m, t, mode, nodes) != ZPA_EINVAL)
		fail_msg("set_mempolicy(%#x) was accepted", mode);
	assert_int_equal(zpa_get_mempolicy(m, t, &after, &na), 0);
	assert_int_equal(before, after);
	assert_memory_equal(&nb, &na, sizeof na);
	/* mbind's object constructor refuses the same (in the calling thread's context). */
	if (objects_too) {
		assert_int_equal(zpa_mpol_new(m, mode, nodes, &obj), ZPA_EINVAL);
		assert_null(obj);
	}
}

static void expect_einval(struct zpa_machine *m, struct zpa_task *t, int mode, const zpa_nodemask_t *nodes)
{
	expect_einval_ctx(m, t, mode, nodes, true);
}

static void test_set_mempolicy_einval(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 32, false);
	struct zpa_task *t = task_on(0);
	zpa_nodemask_t empty = no_nodes(), n1 = MASK(1), n13 = MASK(1, 3), n5 = MASK(5), n63 = MASK(63);

	/* A policy to keep across the failures. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND | ZPA_MPOL_F_STATIC_NODES, &n13), 0);

	/* sanitize_mpol_flags: unknown mode, unknown flag bit, both node flags, NUMA_BALANCING off BIND. */
	expect_einval(m, t, ZPA_MPOL_MAX, &n1);
	expect_einval(m, t, 100, &n1);
	expect_einval(m, t, -1, &n1);
	expect_einval(m, t, ZPA_MPOL_BIND | (1 << 12), &n1);
	expect_einval(m, t, ZPA_MPOL_BIND | (1 << 16), &n1);
	expect_einval(m, t, ZPA_MPOL_BIND | ZPA_MPOL_F_STATIC_NODES | ZPA_MPOL_F_RELATIVE_NODES, &n1);
	expect_einval(m, t, ZPA_MPOL_INTERLEAVE | ZPA_MPOL_F_NUMA_BALANCING, &n1);
	expect_einval(m, t, ZPA_MPOL_PREFERRED | ZPA_MPOL_F_NUMA_BALANCING, &n1);
	/* mpol_new: DEFAULT and LOCAL take no nodes; LOCAL takes no node flag;
	 * PREFERRED's empty mask (LOCAL) takes no node flag; the others need nodes. */
	expect_einval(m, t, ZPA_MPOL_DEFAULT, &n1);
	expect_einval(m, t, ZPA_MPOL_LOCAL, &n1);
	expect_einval(m, t, ZPA_MPOL_LOCAL | ZPA_MPOL_F_STATIC_NODES, NULL);
	expect_einval(m, t, ZPA_MPOL_LOCAL | ZPA_MPOL_F_RELATIVE_NODES, &empty);
	expect_einval(m, t, ZPA_MPOL_PREFERRED | ZPA_MPOL_F_STATIC_NODES, &empty);
	expect_einval(m, t, ZPA_MPOL_PREFERRED | ZPA_MPOL_F_RELATIVE_NODES, NULL);
	expect_einval(m, t, ZPA_MPOL_BIND, &empty);
	expect_einval(m, t, ZPA_MPOL_INTERLEAVE, NULL);
	expect_einval(m, t, ZPA_MPOL_PREFERRED_MANY, &empty);
	/* mpol_set_nodemask: nothing left among the allowed nodes with memory. */
	expect_einval(m, t, ZPA_MPOL_BIND, &n5);
	expect_einval(m, t, ZPA_MPOL_PREFERRED, &n63);
	expect_einval(m, t, ZPA_MPOL_INTERLEAVE | ZPA_MPOL_F_STATIC_NODES, &n5);
	zpa_nodemask_t mems02 = MASK(0, 2);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &mems02, NULL), 0);
	expect_einval_ctx(m, t, ZPA_MPOL_PREFERRED_MANY, &n13, false); /* 1 and 3 not allowed to t */
	assert_int_equal(zpa_set_mempolicy(m, NULL, ZPA_MPOL_BIND, &n13), 0); /* the thread's own: all allowed */
	assert_int_equal(zpa_set_mempolicy(m, NULL, ZPA_MPOL_DEFAULT, NULL), 0);

	/* Accepted despite appearances, as in Linux. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_DEFAULT | ZPA_MPOL_F_STATIC_NODES, NULL), 0);
	int mode;
	zpa_nodemask_t got;
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_DEFAULT);
	zpa_nodemask_t n123 = MASK(1, 2, 3); /* 1 and 3 are not allowed; 2 is */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &n123), 0);
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	zpa_nodemask_t just2 = MASK(2);
	assert_memory_equal(&got, &just2, sizeof got);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND | ZPA_MPOL_F_NUMA_BALANCING, &n123), 0);
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_BIND | ZPA_MPOL_F_NUMA_BALANCING);
	assert_memory_equal(&got, &n123, sizeof got); /* a flagged policy: as given */
	/* RELATIVE positions beyond the allowed count fold back: {1,3} onto {0,2} is {2}. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND | ZPA_MPOL_F_RELATIVE_NODES, &n13), 0);
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 2);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);

	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Policy objects: DEFAULT makes none; an object is used per allocation. */
static void test_mpol_objects(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, false);
	struct zpa_task *t = task_on(0);
	struct zpa_mempolicy *pol = (struct zpa_mempolicy *)&not_null;
	zpa_nodemask_t one = MASK(1);
	assert_int_equal(zpa_mpol_new(m, ZPA_MPOL_DEFAULT, NULL, &pol), 0);
	assert_null(pol); /* no object: allocations follow the task's policy */
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, pol);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	assert_int_equal(zpa_mpol_new(m, ZPA_MPOL_PREFERRED, &one, &pol), 0);
	assert_non_null(pol);
	for (int i = 0; i < 10; i++) {
		p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 2, pol);
		assert_int_equal(page_nid(m, p), 1);
		assert_int_equal(zpa__free_pages(m, t, p, 2), 0);
	}
	/* The object does not change the task's policy. */
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	zpa_mpol_free(pol);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------ the calling thread's task */

struct other_thread {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct zpa_task *task;
	bool done;
};

static void *other_main(void *arg)
{
	struct other_thread *o = arg;
	pthread_mutex_lock(&o->lock);
	o->task = zpa_task_current();
	pthread_cond_broadcast(&o->cond);
	while (!o->done)
		pthread_cond_wait(&o->cond, &o->lock);
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

/*
 * zpa_alloc_pages() for the calling thread: its fast path serves the default
 * policy only; with a policy or a cpuset the same calls follow them, and
 * without them it goes back to the home node.
 */
static void test_thread_policy(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64, false);
	struct held h = { 0 };

	/* Warm the fast path: the thread's list and decoded GFP word. */
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	int home = page_nid(m, p), away = !home;
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	for (int i = 0; i < 8; i++) {
		p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_int_equal(page_nid(m, p), home);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
	}
	struct zpa_zone_info zi = normal_zone(m, home);
	assert_true(zi.pcp > 0); /* the next allocation could be a pop from the list */

	zpa_nodemask_t both = MASK(0, 1), there = MASK(0);
	there = away ? MASK(1) : MASK(0);
	assert_int_equal(zpa_set_mempolicy(m, NULL, ZPA_MPOL_INTERLEAVE, &both), 0);
	for (int i = 0; i < 6; i++) {
		p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_int_equal(page_nid(m, p), i % 2);
		hold(&h, p, 0);
	}
	assert_int_equal(zpa_set_mempolicy(m, NULL, ZPA_MPOL_PREFERRED, &there), 0);
	p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(page_nid(m, p), away);
	hold(&h, p, 0);
	assert_int_equal(zpa_set_mempolicy(m, NULL, ZPA_MPOL_DEFAULT, NULL), 0);
	p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(page_nid(m, p), home);
	hold(&h, p, 0);

	/* A cpuset on the thread's own task. */
	assert_int_equal(zpa_task_set_mems_allowed(m, NULL, &there, NULL), 0);
	for (int i = 0; i < 4; i++) {
		p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_int_equal(page_nid(m, p), away);
		hold(&h, p, 0);
	}
	zpa_nodemask_t mems;
	zpa_task_get_mems_allowed(NULL, &mems);
	assert_memory_equal(&mems, &there, sizeof mems);
	assert_int_equal(zpa_task_set_mems_allowed(m, NULL, NULL, NULL), 0); /* back to the root cpuset */
	zpa_task_get_mems_allowed(NULL, &mems);
	for (int n = 0; n < ZPA_MAX_NODES; n++)
		assert_true(zpa_nodemask_test(&mems, n));
	p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(page_nid(m, p), home);
	hold(&h, p, 0);

	/* Another thread's own task cannot be changed from here. */
	struct other_thread o = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_main, &o), 0);
	pthread_mutex_lock(&o.lock);
	while (!o.task)
		pthread_cond_wait(&o.cond, &o.lock);
	assert_int_equal(zpa_set_mempolicy(m, o.task, ZPA_MPOL_INTERLEAVE, &both), ZPA_EINVAL);
	assert_int_equal(zpa_task_set_mems_allowed(m, o.task, &there, NULL), ZPA_EINVAL);
	o.done = true;
	pthread_cond_broadcast(&o.cond);
	pthread_mutex_unlock(&o.lock);
	pthread_join(th, NULL);

	release(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------- counters add up */

/* The model's view of one task. */
struct mtask {
	struct zpa_task *t;
	int cpu_node;
	int il_prev;                     /* the model's copy of the task's interleave position */
	const struct zpa_mempolicy *own; /* what its task policy is (described below) */
	int own_mode;
	zpa_nodemask_t own_nodes;
	struct zpa_mempolicy *obj[4];    /* PREFERRED remote, BIND incl. own node, INTERLEAVE, PREFERRED_MANY incl. own */
	int obj_mode[4];
	zpa_nodemask_t obj_nodes[4];
};

static unsigned long long lcg(unsigned long long *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

static int next_in(int prev, const zpa_nodemask_t *mk)
{
	for (int i = prev + 1; i < ZPA_MAX_NODES; i++)
		if (zpa_nodemask_test(mk, i))
			return i;
	for (int i = 0; i < ZPA_MAX_NODES; i++)
		if (zpa_nodemask_test(mk, i))
			return i;
	return -1;
}

/* The node a policy allocation prefers (the model keeps masks holding the CPU's node). */
static int preferred_of(struct mtask *mt, int mode, const zpa_nodemask_t *nodes, bool *interleave)
{
	*interleave = false;
	switch (mode) {
	case ZPA_MPOL_PREFERRED:
		for (int i = 0; i < ZPA_MAX_NODES; i++)
			if (zpa_nodemask_test(nodes, i))
				return i;
		return -1;
	case ZPA_MPOL_INTERLEAVE:
		*interleave = true;
		mt->il_prev = next_in(mt->il_prev, nodes);
		return mt->il_prev;
	default: /* DEFAULT, LOCAL, BIND and PREFERRED_MANY with the CPU's node in the mask */
		return mt->cpu_node;
	}
}

static void counters_add_up(unsigned nodes)
{
	struct zpa_machine *m = numa_machine(nodes, 16, false);
	uint64_t ev[4][NR_EV], want[4][NR_EV];
	struct mtask mt[4];
	struct held h = { 0 };
	unsigned long long seed = 12345 + nodes;
	unsigned long allocs = 0, fails = 0;
	memset(want, 0, sizeof want);

	for (unsigned i = 0; i < nodes; i++) {
		struct mtask *x = &mt[i];
		memset(x, 0, sizeof *x);
		x->t = task_on((int)i);
		x->cpu_node = (int)i;
		int other = (int)((i + 1) % nodes), far = (int)((i + nodes - 1) % nodes);
		x->obj_mode[0] = ZPA_MPOL_PREFERRED;
		x->obj_nodes[0] = MASK(other);
		x->obj_mode[1] = ZPA_MPOL_BIND;
		x->obj_nodes[1] = MASK((int)i, far);
		x->obj_mode[2] = ZPA_MPOL_INTERLEAVE;
		zpa_nodemask_clear(&x->obj_nodes[2]);
		for (unsigned n = 0; n < nodes; n++)
			zpa_nodemask_set(&x->obj_nodes[2], (int)n);
		x->obj_mode[3] = ZPA_MPOL_PREFERRED_MANY;
		x->obj_nodes[3] = MASK((int)i, other);
		for (int k = 0; k < 4; k++)
			assert_int_equal(zpa_mpol_new(m, x->obj_mode[k], &x->obj_nodes[k], &x->obj[k]), 0);
		/* Task policies: default, interleave over all, preferred node 0, bind {own, 0}. */
		static const int own_modes[4] = { ZPA_MPOL_DEFAULT, ZPA_MPOL_INTERLEAVE, ZPA_MPOL_PREFERRED, ZPA_MPOL_BIND };
		x->own_mode = own_modes[i % 4];
		x->own_nodes = x->own_mode == ZPA_MPOL_INTERLEAVE ? x->obj_nodes[2]
			       : x->own_mode == ZPA_MPOL_PREFERRED ? MASK(0)
			       : x->own_mode == ZPA_MPOL_BIND ? MASK((int)i, 0)
							      : no_nodes();
		assert_int_equal(zpa_set_mempolicy(m, x->t, x->own_mode, &x->own_nodes), 0);
		if (x->own_mode == ZPA_MPOL_INTERLEAVE)
			x->il_prev = ZPA_MAX_NODES - 1;
	}
	/* The thread's own task (default policy, its fast path) on its home node. */
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	int home = page_nid(m, p);
	want[home][EV_HIT]++;
	want[home][EV_LOCAL]++;
	allocs++;
	hold(&h, p, 0);

	static const zpa_gfp_t gfps[] = { ZPA_GFP_KERNEL, ZPA_GFP_HIGHUSER_MOVABLE, ZPA_GFP_USER, ZPA_GFP_ATOMIC,
					  ZPA_GFP_KERNEL | ZPA___GFP_COMP };
	uint64_t managed = 0;
	for (unsigned n = 0; n < nodes; n++)
		managed += normal_zone(m, (int)n).managed;
	uint64_t live = 1;
	/* Fill to 88% (these count too), then 6000 mixed operations. */
	for (int op = 0; op < 6000 || live < managed * 88 / 100; op += live >= managed * 88 / 100) {
		/* Keep between 88% and 95% of memory allocated once filled, so nodes
		 * reach their watermarks; requests lean to node 0. */
		if (live > managed * 95 / 100 || (live > managed * 88 / 100 && lcg(&seed) % 2)) {
			size_t k = lcg(&seed) % h.n;
			assert_int_equal(zpa__free_pages(m, NULL, h.pfn[k], h.order[k]), 0);
			live -= 1ull << h.order[k];
			h.pfn[k] = h.pfn[h.n - 1];
			h.order[k] = h.order[h.n - 1];
			h.n--;
			continue;
		}
		struct mtask *x = &mt[lcg(&seed) % nodes];
		zpa_gfp_t gfp = gfps[lcg(&seed) % (sizeof gfps / sizeof gfps[0])] | ZPA___GFP_NOWARN;
		unsigned order = lcg(&seed) % 4 == 0 ? (unsigned)(lcg(&seed) % 3) : 0;
		unsigned kind = (unsigned)(lcg(&seed) % 8);
		int pref;
		bool il = false;
		int cpu_node = x->cpu_node;
		switch (kind) {
		case 0: case 1: /* the task's policy */
			pref = preferred_of(x, x->own_mode, &x->own_nodes, &il);
			p = zpa_alloc_pages_mpol(m, x->t, gfp, order, NULL);
			break;
		case 2: case 3: case 4: case 5: { /* a policy object */
			int k = (int)(kind - 2);
			pref = preferred_of(x, x->obj_mode[k], &x->obj_nodes[k], &il);
			p = zpa_alloc_pages_mpol(m, x->t, gfp, order, x->obj[k]);
			break;
		}
		case 6: /* alloc_pages_node(), often node 0 */
			pref = lcg(&seed) % 2 ? 0 : (int)(lcg(&seed) % nodes);
			p = zpa__alloc_pages(m, x->t, gfp, order, pref, NULL);
			break;
		default: /* __GFP_THISNODE through the policy path: local, no policy */
			pref = x->cpu_node;
			p = zpa_alloc_pages_mpol(m, x->t, gfp | ZPA___GFP_THISNODE, order, NULL);
			break;
		}
		if (p == ZPA_PFN_NONE) {
			fails++;
			continue;
		}
		int nid = page_nid(m, p);
		allocs++;
		want[nid][nid == pref ? EV_HIT : EV_MISS]++;
		if (nid != pref)
			want[pref][EV_FOREIGN]++;
		want[nid][nid == cpu_node ? EV_LOCAL : EV_OTHER]++;
		if (il && nid == pref)
			want[nid][EV_INTERLEAVE]++;
		hold(&h, p, order);
		live += 1ull << order;
	}
	numa_events(m, ev, nodes);
	uint64_t hits = 0, misses = 0, foreign = 0, local = 0, other = 0;
	for (unsigned n = 0; n < nodes; n++) {
		for (int e = 0; e < NR_EV; e++)
			if (ev[n][e] != want[n][e])
				fail_msg("node %u %s: %llu, expected %llu", n, ev_names[e], (unsigned long long)ev[n][e],
					 (unsigned long long)want[n][e]);
		hits += ev[n][EV_HIT];
		misses += ev[n][EV_MISS];
		foreign += ev[n][EV_FOREIGN];
		local += ev[n][EV_LOCAL];
		other += ev[n][EV_OTHER];
	}
	assert_int_equal(hits + misses, allocs);
	assert_int_equal(foreign, misses);
	assert_int_equal(local + other, allocs);
	assert_true(misses > 100);     /* the workload did push allocations off their node */
	assert_true(fails > 0);        /* and some failed (no counter for those) */
	bool ok;
	assert_int_equal(zpa_vmstat(m, "numa_hit", &ok), hits);
	assert_int_equal(zpa_vmstat(m, "numa_foreign", &ok), misses);

	release(m, &h);
	for (unsigned i = 0; i < nodes; i++) {
		for (int k = 0; k < 4; k++)
			zpa_mpol_free(mt[i].obj[k]);
		zpa_task_destroy(mt[i].t);
	}
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_counters_2_nodes(void **state)
{
	(void)state;
	counters_add_up(2);
}

static void test_counters_4_nodes(void **state)
{
	(void)state;
	counters_add_up(4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_and_default),
		cmocka_unit_test(test_preferred_fallback),
		cmocka_unit_test(test_bind_no_spill),
		cmocka_unit_test(test_bind_policy_zone),
		cmocka_unit_test(test_interleave_round_robin),
		cmocka_unit_test(test_interleave_full_node),
		cmocka_unit_test(test_interleave_rebind),
		cmocka_unit_test(test_preferred_many),
		cmocka_unit_test(test_thisnode),
		cmocka_unit_test(test_set_mempolicy_einval),
		cmocka_unit_test(test_mpol_objects),
		cmocka_unit_test(test_thread_policy),
		cmocka_unit_test(test_counters_2_nodes),
		cmocka_unit_test(test_counters_4_nodes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
