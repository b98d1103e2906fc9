/*
 * test_cpuset.c - cpusets as Linux 6.1's allocator applies them: a task's
 * mems_allowed confines __GFP_HARDWALL requests; other requests may use the
 * nearest hardwalled ancestor's nodes (softwall) once in the slow path;
 * GFP_ATOMIC ignores the cpuset there; changes rebind the task's policy and,
 * made "mid-allocation" (through the internal test hook), make the slow path
 * start again with the new nodes; a Movable-only cpuset is "insane"; the
 * validation of zpa_task_set_mems_allowed(); and the bulk allocator.
 *
 * Machines: n nodes of Normal memory (one CPU each, distance 10 + 10|i-j|);
 * no_pcp so "node full" means what the buddy lists say.  Fills use movable
 * requests, which never steal pageblocks, so no watermark boost moves the
 * marks the tests check.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>
#include <stdlib.h>

#include "helpers/zt.h"
#include "internal.h" /* the test hook, and the task's sequence count */

#define G (1ull << 30)
#define M (1ull << 20)
#define MOVABLE_SOFT (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_HARDWALL) /* movable, not hardwall */

/* Placement machines and node masks: tests/helpers/zt.h. */
#define numa_machine(nodes, mib) zt_numa_machine(nodes, mib, true)
#define MASK ZT_MASK

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

static struct zpa_zone_info zone_of(struct zpa_machine *m, int nid, int type)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, nid, type, &zi), 0);
	return zi;
}

static struct zpa_zone_info normal(struct zpa_machine *m, int nid)
{
	return zone_of(m, nid, ZPA_ZONE_NORMAL);
}

struct held {
	zpa_pfn_t *pfn;
	size_t n, cap;
};

static void hold(struct held *h, zpa_pfn_t pfn)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 1024;
		h->pfn = realloc(h->pfn, h->cap * sizeof *h->pfn);
		assert_non_null(h->pfn);
	}
	h->pfn[h->n++] = pfn;
}

static void release(struct zpa_machine *m, struct held *h)
{
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(zpa__free_pages(m, NULL, h->pfn[i], 0), 0);
	free(h->pfn);
	memset(h, 0, sizeof *h);
}

/* Allocate order-0 pages with gfp (task t, its policy) until one fails; all must land on nid. */
static size_t drain_to_failure(struct zpa_machine *m, struct zpa_task *t, zpa_gfp_t gfp, int nid, struct held *h)
{
	size_t n = 0;
	zpa_pfn_t pfn;
	while ((pfn = zpa_alloc_pages_mpol(m, t, gfp | ZPA___GFP_NOWARN, 0, NULL)) != ZPA_PFN_NONE) {
		if (page_nid(m, pfn) != nid)
			fail_msg("page %zu on node %d, expected node %d", n, page_nid(m, pfn), nid);
		hold(h, pfn);
		n++;
	}
	return n;
}

/* ---------------------------------------------------- hardwall, softwall */

static void test_hardwall_softwall(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t mems = MASK(0), soft = MASK(0, 1);
	uint64_t free2 = normal(m, 2).free, free3 = normal(m, 3).free;

	assert_int_equal(zpa_task_set_mems_allowed(m, t, &mems, &soft), 0);
	assert_true(t->cpuset_active);
	/*
	 * A softwall request: node 0 to its low mark in the fast path (the mask
	 * there is mems_allowed), on to its min in the slow path (node 0 comes
	 * first in its zonelist), and only then node 1, the ancestor's.
	 */
	size_t n0 = 0;
	zpa_pfn_t pfn;
	while (page_nid(m, pfn = zpa_alloc_pages_mpol(m, t, MOVABLE_SOFT, 0, NULL)) == 0) {
		hold(&h, pfn);
		n0++;
	}
	hold(&h, pfn);
	assert_int_equal(page_nid(m, pfn), 1);
	struct zpa_zone_info z0 = normal(m, 0);
	assert_int_equal(z0.free, z0.min);
	assert_int_equal(n0, z0.managed - z0.min);
	/* A hardwall request now fails: it never leaves mems_allowed. */
	for (int i = 0; i < 3; i++)
		assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0, NULL) ==
			    ZPA_PFN_NONE);
	/* The softwall request fills node 1 to its min and fails; nodes 2 and 3 stay untouched. */
	drain_to_failure(m, t, MOVABLE_SOFT, 1, &h);
	struct zpa_zone_info z1 = normal(m, 1);
	assert_int_equal(z1.free, z1.min);
	assert_int_equal(normal(m, 2).free, free2);
	assert_int_equal(normal(m, 3).free, free3);
	/*
	 * GFP_ATOMIC (non-blocking __GFP_HIGH) ignores the cpuset in the slow path:
	 * the atomic reserves of nodes 0 and 1, then node 2, the next in node 0's
	 * fallback order.
	 */
	int last = 0;
	for (;;) {
		pfn = zpa_alloc_pages_mpol(m, t, ZPA_GFP_ATOMIC, 0, NULL);
		int nid = page_nid(m, pfn);
		hold(&h, pfn);
		assert_true(nid >= last); /* 0s, then 1s, then 2 */
		last = nid;
		if (nid == 2)
			break;
	}
	assert_true(normal(m, 0).free < z0.min && normal(m, 1).free < z1.min);
	assert_int_equal(normal(m, 3).free, free3);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * With a caller's nodemask the cpuset is checked zone by zone (ALLOC_CPUSET),
 * and the first pass does so as if the request were __GFP_HARDWALL: node 1
 * (softwall only) is used once node 0 is at min, not already at low.
 */
static void test_first_pass_is_hardwall(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t mems = MASK(0), soft = MASK(0, 1), both = MASK(0, 1);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &mems, &soft), 0);
	zpa_pfn_t pfn;
	while (page_nid(m, pfn = zpa__alloc_pages(m, t, MOVABLE_SOFT, 0, -1, &both)) == 0)
		hold(&h, pfn);
	hold(&h, pfn);
	struct zpa_zone_info z0 = normal(m, 0);
	assert_int_equal(z0.free, z0.min);
	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* -------------------------------------------- a cpuset and the policies */

static void test_cpuset_and_policies(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t mems = MASK(1, 2), n3 = MASK(3), got;
	zpa_pfn_t p;
	int mode;

	/* PREFERRED {3} made while every node is allowed keeps node 3 across the change. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_PREFERRED, &n3), 0);
	unsigned seq = atomic_load(&t->mems_allowed_seq);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &mems, NULL), 0);
	assert_int_equal(atomic_load(&t->mems_allowed_seq), seq + 2); /* one write section */
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_PREFERRED);
	assert_memory_equal(&got, &n3, sizeof got);
	/* ... so the search starts at node 3 and takes the nearest allowed node: 2. */
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 2);
	hold(&h, p);
	/* The same with STATIC: its user mask shares storage with the recorded mems,
	 * so get_mempolicy now reports the new mems (Linux's union `w`). */
	struct zpa_task *ts = task_on(0);
	assert_int_equal(zpa_set_mempolicy(m, ts, ZPA_MPOL_PREFERRED | ZPA_MPOL_F_STATIC_NODES, &n3), 0);
	assert_int_equal(zpa_task_set_mems_allowed(m, ts, &mems, NULL), 0);
	assert_int_equal(zpa_get_mempolicy(m, ts, &mode, &got), 0);
	assert_int_equal(mode, ZPA_MPOL_PREFERRED | ZPA_MPOL_F_STATIC_NODES);
	assert_memory_equal(&got, &mems, sizeof got);
	zpa_task_destroy(ts);

	/* No policy: CPU 0's node is not allowed; the nearest allowed node, 1. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_DEFAULT, NULL), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	hold(&h, p);
	/* alloc_pages_node(3) also stays inside: node 2. */
	p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, 3, NULL);
	assert_int_equal(page_nid(m, p), 2);
	hold(&h, p);
	/*
	 * __GFP_THISNODE on node 3: its own list has nothing allowed, so the fast
	 * path finds nothing; the slow path checks the cpuset zone by zone, and a
	 * softwall request may use node 3 (no hardwalled ancestor: every node) -
	 * a hardwall one may not.
	 */
	p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL | ZPA___GFP_THISNODE, 0, 3, NULL);
	assert_int_equal(page_nid(m, p), 3);
	hold(&h, p);
	assert_true(zpa__alloc_pages(m, t, ZPA_GFP_USER | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN, 0, 3, NULL) ==
		    ZPA_PFN_NONE);
	/* A policy must meet the cpuset. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &n3), ZPA_EINVAL);
	zpa_nodemask_t n23 = MASK(2, 3);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &n23), 0);
	for (int i = 0; i < 3; i++) {
		p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
		assert_int_equal(page_nid(m, p), 2);
		hold(&h, p);
	}
	/* Back to the root cpuset: everything allowed again, the cpuset is off. */
	assert_int_equal(zpa_task_set_mems_allowed(m, t, NULL, NULL), 0);
	assert_false(t->cpuset_active);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_DEFAULT, NULL), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_USER, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	hold(&h, p);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------- changes mid-allocation */

struct hook_state {
	int site;                 /* the site to act at */
	int calls;                /* calls at that site */
	int change_on;            /* act on this call (1-based); 0: never */
	zpa_nodemask_t new_mems;
	struct zpa_task *task;
};

static void hook(struct zpa_machine *m, struct zpa_task *task, int site, void *arg)
{
	struct hook_state *hs = arg;
	if (site != hs->site || task != hs->task)
		return;
	if (++hs->calls == hs->change_on)
		assert_int_equal(zpa_task_set_mems_allowed(m, task, &hs->new_mems, NULL), 0);
}

static void test_change_before_slowpath(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t n0 = MASK(0);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n0, NULL), 0);
	drain_to_failure(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, &h);

	/* The fast path fails on node 0; the cpuset moves to node 1 before the slow path, which uses it. */
	struct hook_state hs = { ALLOC_HOOK_BEFORE_SLOWPATH, 0, 1, MASK(1), t };
	zpa_set_alloc_test_hook(m, hook, &hs);
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(hs.calls, 1);
	assert_int_equal(page_nid(m, p), 1);
	hold(&h, p);
	zpa_set_alloc_test_hook(m, NULL, NULL);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * The slow path took its cookie, failed on node 0, and just before giving up
 * the cpuset changed: check_retry_cpuset() sees the sequence move and starts
 * again, with the new nodes.
 */
static void test_retry_after_change(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(2, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t n0 = MASK(0);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n0, NULL), 0);
	drain_to_failure(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, &h);

	/* No change: one trip to the give-up point, then failure. */
	struct hook_state hs = { ALLOC_HOOK_NOPAGE, 0, 0, MASK(1), t };
	zpa_set_alloc_test_hook(m, hook, &hs);
	assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0, NULL) == ZPA_PFN_NONE);
	assert_int_equal(hs.calls, 1);
	/* A change to the same nodes still moves the sequence: one restart, then failure. */
	hs = (struct hook_state){ ALLOC_HOOK_NOPAGE, 0, 1, MASK(0), t };
	assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0, NULL) == ZPA_PFN_NONE);
	assert_int_equal(hs.calls, 2);
	/* A change to node 1: the restart succeeds there. */
	hs = (struct hook_state){ ALLOC_HOOK_NOPAGE, 0, 1, MASK(1), t };
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(hs.calls, 1);
	assert_int_equal(page_nid(m, p), 1);
	hold(&h, p);
	zpa_set_alloc_test_hook(m, NULL, NULL);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * The two other ways a change reaches a running allocation: a BIND policy is
 * rebound (its live nodes are the allocation's mask), and a caller's mask
 * that no longer meets mems_allowed is dropped.
 */
static void test_retry_nodemask(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64);
	struct zpa_task *t = task_on(0);
	struct held h = { 0 };
	zpa_nodemask_t n01 = MASK(0, 1), n0 = MASK(0), got;
	int mode;

	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n01, NULL), 0);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &n0), 0);
	drain_to_failure(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, &h);
	/* mems {0,1} -> {1}: BIND {0} is remapped by position to {1}; the restart uses it. */
	struct hook_state hs = { ALLOC_HOOK_NOPAGE, 0, 1, MASK(1), t };
	zpa_set_alloc_test_hook(m, hook, &hs);
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(hs.calls, 1);
	assert_int_equal(page_nid(m, p), 1);
	hold(&h, p);
	assert_int_equal(zpa_get_mempolicy(m, t, &mode, &got), 0);
	zpa_nodemask_t n1 = MASK(1);
	assert_memory_equal(&got, &n1, sizeof got);

	/* A caller's nodemask {0} (alloc with a mask, no policy) under mems {0,1}, node 0 full. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_DEFAULT, NULL), 0);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n01, NULL), 0);
	zpa_set_alloc_test_hook(m, NULL, NULL);
	assert_true(zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0, -1, &n0) == ZPA_PFN_NONE);
	/* mems -> {2}: the mask {0} no longer meets them, so the restart goes without it (node 2). */
	hs = (struct hook_state){ ALLOC_HOOK_NOPAGE, 0, 1, MASK(2), t };
	zpa_set_alloc_test_hook(m, hook, &hs);
	p = zpa__alloc_pages(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, -1, &n0);
	assert_int_equal(hs.calls, 1);
	assert_int_equal(page_nid(m, p), 2);
	hold(&h, p);
	zpa_set_alloc_test_hook(m, NULL, NULL);

	release(m, &h);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------- validation */

static void test_mems_einval(void **state)
{
	(void)state;
	/* Nodes 0 and 2 have memory, node 1 (with CPU 1) has none. */
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	zpa_config_add_range(&cfg, 4 * G, 4 * G + 64 * M, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 5 * G, 5 * G + 64 * M, ZPA_RANGE_USABLE, 2);
	cfg.nr_cpus = 3;
	cfg.cpu_node[1] = 1;
	cfg.cpu_node[2] = 2;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_task *t = task_on(1);
	zpa_nodemask_t empty, got, n0 = MASK(0), n1 = MASK(1), n01 = MASK(0, 1), n02 = MASK(0, 2), n5 = MASK(5);
	zpa_nodemask_clear(&empty);

	/* A task on a memoryless node allocates from the nearest node with memory. */
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 2);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);

	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n02, &n02), 0);
	assert_false(t->cpuset_active); /* every node with memory */
	unsigned seq = atomic_load(&t->mems_allowed_seq);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &empty, NULL), ZPA_EINVAL);
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n1, NULL), ZPA_EINVAL);  /* no memory */
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n01, NULL), ZPA_EINVAL); /* part without */
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n5, NULL), ZPA_EINVAL);  /* no such node */
	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n02, &n0), ZPA_EINVAL);  /* softwall not above */
	assert_int_equal(zpa_task_set_mems_allowed(NULL, t, &n0, NULL), ZPA_EINVAL);
	assert_int_equal(atomic_load(&t->mems_allowed_seq), seq);
	zpa_task_get_mems_allowed(t, &got);
	assert_memory_equal(&got, &n02, sizeof got);
	/* Policies on the memoryless node are refused too. */
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_BIND, &n1), ZPA_EINVAL);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_PREFERRED, &n1), ZPA_EINVAL);
	assert_int_equal(zpa_set_mempolicy(m, t, ZPA_MPOL_INTERLEAVE, &n01), 0); /* node 0 remains */

	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------------ bulk */

static void test_bulk_in_cpuset(void **state)
{
	(void)state;
	struct zpa_machine *m = numa_machine(4, 64);
	struct zpa_task *t = task_on(0);
	zpa_nodemask_t n1 = MASK(1), n01 = MASK(0, 1);
	zpa_pfn_t arr[64];

	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n1, NULL), 0);
	for (int i = 0; i < 64; i++)
		arr[i] = ZPA_PFN_NONE;
	unsigned long got = zpa_alloc_pages_bulk_array(m, t, ZPA_GFP_KERNEL, -1, NULL, 64, arr);
	assert_true(got >= 1);
	for (unsigned long i = 0; i < got; i++)
		assert_int_equal(page_nid(m, arr[i]), 1);
	assert_int_equal(zpa_free_pages_bulk(m, arr, got), 0);
	/* With a caller's mask the cpuset still holds (page by page). */
	for (int i = 0; i < 64; i++)
		arr[i] = ZPA_PFN_NONE;
	got = 0;
	for (int round = 0; round < 64 && got < 64; round++)
		got = zpa_alloc_pages_bulk_array(m, t, ZPA_GFP_USER, -1, &n01, 64, arr);
	assert_int_equal(got, 64);
	for (unsigned long i = 0; i < got; i++)
		assert_int_equal(page_nid(m, arr[i]), 1);
	assert_int_equal(zpa_free_pages_bulk(m, arr, got), 0);

	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---------------------------------------------------- Movable-only cpuset */

/*
 * Node 0: DMA32; node 1: Movable only.  A cpuset of node 1 is "insane": a
 * hardwall request that no zone of the cpuset can meet fails at once, even
 * with PF_MEMALLOC, whose reserves would otherwise take it anywhere.
 */
static void test_movable_only_cpuset(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 16 * M, 1 * G, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 4 * G, 4 * G + 256 * M, ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[1] = 1;
	cfg.kernelcore = 4096;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	assert_int_equal(zone_of(m, 1, ZPA_ZONE_MOVABLE).present, 65536);
	struct zpa_task *t = task_on(1);
	zpa_nodemask_t n1 = MASK(1);

	/* A cpuset of node 0 (DMA32 is kernel memory) is sane. */
	struct zpa_task *u = task_on(1);
	zpa_nodemask_t n0 = MASK(0);
	assert_int_equal(zpa_task_set_mems_allowed(m, u, &n0, NULL), 0);
	assert_false(atomic_load(&m->cpusets_insane));

	assert_int_equal(zpa_task_set_mems_allowed(m, t, &n1, NULL), 0);
	assert_true(atomic_load(&m->cpusets_insane));
	zpa_pfn_t p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_HIGHUSER_MOVABLE, 0, NULL);
	assert_int_equal(page_nid(m, p), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	/* Softwall kernel requests go to node 0 (the root is every node). */
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_KERNEL, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	/* Hardwall kernel requests fail, PF_MEMALLOC or not. */
	assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_USER | ZPA___GFP_NOWARN, 0, NULL) == ZPA_PFN_NONE);
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	assert_true(zpa_alloc_pages_mpol(m, t, ZPA_GFP_USER | ZPA___GFP_NOWARN, 0, NULL) == ZPA_PFN_NONE);
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	/* Out of the cpuset, the same request succeeds. */
	assert_int_equal(zpa_task_set_mems_allowed(m, t, NULL, NULL), 0);
	p = zpa_alloc_pages_mpol(m, t, ZPA_GFP_USER, 0, NULL);
	assert_int_equal(page_nid(m, p), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);

	zpa_task_destroy(t);
	zpa_task_destroy(u);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardwall_softwall),
		cmocka_unit_test(test_first_pass_is_hardwall),
		cmocka_unit_test(test_cpuset_and_policies),
		cmocka_unit_test(test_change_before_slowpath),
		cmocka_unit_test(test_retry_after_change),
		cmocka_unit_test(test_retry_nodemask),
		cmocka_unit_test(test_mems_einval),
		cmocka_unit_test(test_bulk_in_cpuset),
		cmocka_unit_test(test_movable_only_cpuset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
