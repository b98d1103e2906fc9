/*
 * test_pcp.c - per-CPU page lists as Linux 6.1 runs them: batch and high
 * from zone_batchsize()/zone_highsize(), batched refill, draining past
 * `high`, drain_local_pages/drain_all_pages, per-thread lists returned at
 * thread exit, bulk allocation (array and list), and double frees of pages
 * sitting on a per-CPU list.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

/* One node, one Normal zone of `mib` MiB, two CPUs; exact counters. */
static struct zpa_machine *machine(unsigned mib, unsigned ncpus)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 4ull << 30, (4ull << 30) + ((uint64_t)mib << 20), ZPA_RANGE_USABLE, 0);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.nr_cpus = ncpus;
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static unsigned rounddown_pow2(unsigned long n)
{
	unsigned p = 1;
	while (p * 2ul <= n)
		p *= 2;
	return p;
}

/* The batch and high the zone should have, worked from Linux 6.1's formulas. */
static void expected_pcp(struct zpa_machine *m, int ncpus_on_node, int *batch, int *high)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	long b = (long)(zi.managed >> 10);
	if (b > 256)
		b = 256; /* 1 MiB of 4 KiB pages */
	b /= 4;
	if (b < 1)
		b = 1;
	b = (long)rounddown_pow2((unsigned long)(b + b / 2)) - 1;
	if (b < 1)
		b = 1;
	*batch = (int)b;
	long h = (long)zi.low / ncpus_on_node;
	*high = (int)(h > 4 * b ? h : 4 * b);
}

static void test_refill_and_drain(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(512, 2);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 1);
	int batch, high;
	expected_pcp(m, 2, &batch, &high);
	assert_int_equal(batch, 31); /* 512 MiB: 131072 >> 10 = 128, /4 = 32, 48 -> 32 - 1 */

	struct zpa_zone_info z0, z1;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z0), 0);
	zpa_pfn_t p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL);
	assert_true(p != ZPA_PFN_NONE);
	/* The first allocation moved a batch from the buddy lists to CPU 1's list. */
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.free, z0.free - batch);
	assert_int_equal(z1.pcp, batch - 1);
	/* The next batch-1 allocations come from that list, without touching the zone. */
	zpa_pfn_t *pf = calloc(4096, sizeof *pf);
	for (int i = 0; i < batch - 1; i++)
		pf[i] = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.free, z0.free - batch);
	assert_int_equal(z1.pcp, 0);
	/* Freeing them fills the list; nothing goes back while count < high. */
	for (int i = 0; i < batch - 1; i++)
		assert_int_equal(zpa__free_pages(m, t, pf[i], 0), 0);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.pcp, batch);
	assert_int_equal(z1.free, z0.free - batch);
	/* Another CPU's drain does not touch CPU 1's list; drain_all does. */
	struct zpa_task *t0 = zpa_task_create();
	zpa_task_set_cpu(t0, 0);
	zpa_drain_local_pages(m, t0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.pcp, batch);
	zpa_drain_local_pages(m, t);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.pcp, 0);
	assert_int_equal(z1.free, z0.free);
	assert_memory_equal(z1.nr_free, z0.nr_free, sizeof z0.nr_free);
	free(pf);
	zpa_task_destroy(t);
	zpa_task_destroy(t0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Frees past `high` give a batch back (more as frees keep coming: free_factor). */
static void test_high_drains(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(512, 2);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	int batch, high;
	expected_pcp(m, 2, &batch, &high);
	unsigned long n = (unsigned long)high + 4 * (unsigned long)batch;
	zpa_pfn_t *pf = calloc(n, sizeof *pf);
	for (unsigned long i = 0; i < n; i++)
		assert_true((pf[i] = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL)) != ZPA_PFN_NONE);
	zpa_drain_local_pages(m, t);
	struct zpa_zone_info zi;
	/* Free high-1 pages: all stay on the list. */
	unsigned long i = 0;
	for (; i < (unsigned long)high - 1; i++)
		assert_int_equal(zpa__free_pages(m, t, pf[i], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, high - 1);
	/* The free that reaches high drains `batch` pages (free_factor 0). */
	assert_int_equal(zpa__free_pages(m, t, pf[i++], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, high - batch);
	/* Refill to high again: now 2 * batch go (free_factor 1). */
	for (int k = 0; k < batch; k++)
		assert_int_equal(zpa__free_pages(m, t, pf[i++], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, high - 2 * batch);
	while (i < n)
		assert_int_equal(zpa__free_pages(m, t, pf[i++], 0), 0);
	zt_assert_clean(m);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, 0);
	assert_int_equal(zi.free, zi.managed);
	free(pf);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* High-order pcp lists (orders 1..3 and the pageblock order) behave alike. */
static void test_pcp_orders(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(512, 1);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	int batch, high;
	expected_pcp(m, 1, &batch, &high);
	struct zpa_zone_info z0, z1;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z0), 0);
	/* order 2: batch >> 2 blocks (at least 2) move to the list. */
	zpa_pfn_t p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 2, -1, NULL);
	int nb = batch >> 2 < 2 ? 2 : batch >> 2;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.free, z0.free - 4 * nb);
	assert_int_equal(z1.pcp, 4 * (nb - 1));
	assert_int_equal(zpa__free_pages(m, t, p, 2), 0);
	/* order 5 has no pcp list: straight from and to the buddy lists. */
	zpa_drain_local_pages(m, t);
	p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 5, -1, NULL);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.free, z0.free - 32);
	assert_int_equal(z1.pcp, 0);
	assert_int_equal(zpa__free_pages(m, t, p, 5), 0);
	/* THP order (pageblock order 9): its own list; batch >> 9 -> 2 blocks. */
	p = zpa__alloc_pages(m, t, ZPA_GFP_TRANSHUGE_LIGHT, 9, -1, NULL);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.pcp, 512);
	assert_int_equal(zpa_compound_order(m, p + 100), 9);
	assert_int_equal(zpa__free_pages(m, t, p, 9), 0);
	zt_assert_clean(m);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &z1), 0);
	assert_int_equal(z1.free, z0.free);
	zpa_task_destroy(t);
	zpa_machine_destroy(m);
}

/* A page on a per-CPU list is free: freeing it again is a double free, state intact. */
static void test_pcp_double_free(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 64, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 1);
	assert_int_equal(zpa_free_pages(m, p, 1), 0);
	uint64_t free0 = zpa_total_free(m);
	assert_int_equal(zpa_free_pages(m, p, 1), ZPA_EDOUBLEFREE);
	assert_int_equal(zpa_free_pages(m, p + 1, 0), ZPA_EDOUBLEFREE);
	assert_int_equal(zpa_total_free(m), free0);
	assert_true(log.count >= 2);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Bulk allocation: array and list forms, pre-filled slots kept, no duplicates. */
static void test_bulk(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(256, 1);
	zpa_pfn_t arr[300];
	for (int i = 0; i < 300; i++)
		arr[i] = ZPA_PFN_NONE;
	zpa_pfn_t keep = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	arr[5] = keep;
	unsigned long got = zpa_alloc_pages_bulk_array(m, NULL, ZPA_GFP_KERNEL, -1, NULL, 300, arr);
	/* One pcp list hold gives at most what the list can be refilled with;
	 * call again until full, as Linux callers do. */
	while (got < 300) {
		unsigned long before = got;
		got = zpa_alloc_pages_bulk_array(m, NULL, ZPA_GFP_KERNEL, -1, NULL, 300, arr);
		assert_true(got > before);
	}
	assert_int_equal(arr[5], keep);
	for (int i = 0; i < 300; i++)
		for (int j = i + 1; j < 300; j++)
			assert_true(arr[i] != arr[j]);
	zt_assert_clean(m);
	assert_int_equal(zpa_free_pages_bulk(m, arr, 300), 0);

	struct zpa_page_list list = ZPA_PAGE_LIST_INIT;
	assert_int_equal(zpa_alloc_pages_bulk_list(m, NULL, ZPA_GFP_KERNEL, -1, NULL, 64, &list), 64);
	assert_int_equal(list.nr, 64);
	/* A listed page cannot be freed singly. */
	assert_int_equal(zpa_free_pages(m, list.head, 0), ZPA_EBADPAGE);
	zpa_pfn_t first = zpa_page_list_pop(m, &list);
	assert_true(first != ZPA_PFN_NONE);
	assert_int_equal(list.nr, 63);
	assert_int_equal(zpa_free_pages(m, first, 0), 0);
	assert_int_equal(zpa_free_page_list(m, &list), 0);
	assert_int_equal(list.nr, 0);
	assert_int_equal(list.head, ZPA_PFN_NONE);
	zpa_drain_all_pages(m);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.free, zi.managed); /* `keep` went back with the array */
	assert_int_equal(zpa_free_pages(m, keep, 0), ZPA_EDOUBLEFREE);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

struct thread_arg {
	struct zpa_machine *m;
	unsigned long held;
};

static void *thread_body(void *p)
{
	struct thread_arg *a = p;
	zpa_pfn_t pf[200];
	for (int i = 0; i < 200; i++)
		pf[i] = zpa_alloc_pages(a->m, ZPA_GFP_KERNEL, 0);
	for (int i = 0; i < 200; i++)
		zpa_free_pages(a->m, pf[i], 0);
	struct zpa_zone_info zi;
	zpa_zone_info(a->m, 0, ZPA_ZONE_NORMAL, &zi);
	a->held = zi.pcp; /* this thread's list holds pages now */
	return NULL;
}

/* A thread's own lists are returned when the thread exits. */
static void test_thread_lists_returned(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(256, 2);
	struct thread_arg a = { m, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, thread_body, &a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(a.held > 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, 0);
	assert_int_equal(zi.free, zi.managed);
	bool ok;
	assert_true(zpa_vmstat(m, "pgfree", &ok) >= 200);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Machines destroyed while threads keep lists for them are not touched again. */
static void test_machine_destroy_with_thread_lists(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		struct zpa_machine *m = machine(64, 1);
		zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
		zpa_machine_destroy(m);
	}
	struct zpa_machine *m = machine(64, 1);
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* percpu_pagelist_high_fraction changes high as Linux's handler does. */
static void test_high_fraction(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(512, 2);
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "8"), 0);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	long high = (long)(zi.managed / 8) / 2; /* managed / fraction, split over 2 CPUs */
	unsigned long n = (unsigned long)high;
	zpa_pfn_t *pf = calloc(n, sizeof *pf);
	for (unsigned long i = 0; i < n; i++)
		pf[i] = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL);
	zpa_drain_local_pages(m, t);
	for (unsigned long i = 0; i + 1 < n; i++)
		assert_int_equal(zpa__free_pages(m, t, pf[i], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.pcp, n - 1);
	assert_int_equal(zpa__free_pages(m, t, pf[n - 1], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_true(zi.pcp < n);
	free(pf);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A pcp refill takes its batch in one pass (__rmqueue_smallest_bulk); the
 * pages and the buddy lists left behind must be exactly those of `batch`
 * single __rmqueue_smallest() calls, which a no-pcp machine makes.
 */
static void test_refill_equals_single_takes(void **state)
{
	(void)state;
	struct zpa_machine *a = machine(512, 1), *b;
	struct zpa_machine_config cfg;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 4ull << 30, (4ull << 30) + (512ull << 20), ZPA_RANGE_USABLE, 0);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.nr_cpus = 1;
	cfg.exact_vmstat = true;
	cfg.no_pcp = true;
	assert_int_equal(zpa_machine_create(&cfg, &b), 0);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 0);
	/* Fragment both the same way with orders the pcp does not cache. */
	zpa_pfn_t frag[64];
	for (int i = 0; i < 64; i++) {
		frag[i] = zpa__alloc_pages(a, t, ZPA_GFP_KERNEL, 4 + i % 3, -1, NULL);
		assert_int_equal(zpa__alloc_pages(b, t, ZPA_GFP_KERNEL, 4 + i % 3, -1, NULL), frag[i]);
	}
	for (int i = 0; i < 64; i += 2) {
		assert_int_equal(zpa__free_pages(a, t, frag[i], 4 + i % 3), 0);
		assert_int_equal(zpa__free_pages(b, t, frag[i], 4 + i % 3), 0);
	}
	int batch, high;
	expected_pcp(a, 1, &batch, &high);
	for (unsigned order = 0; order <= 2; order++) {
		int n = order ? (batch >> order < 2 ? 2 : batch >> order) : batch;
		for (int i = 0; i < n; i++) {
			zpa_pfn_t pa = zpa__alloc_pages(a, t, ZPA_GFP_KERNEL, order, -1, NULL);
			zpa_pfn_t pb = zpa__alloc_pages(b, t, ZPA_GFP_KERNEL, order, -1, NULL);
			assert_int_equal(pa, pb);
		}
		struct zpa_zone_info za, zb;
		assert_int_equal(zpa_zone_info(a, 0, ZPA_ZONE_NORMAL, &za), 0);
		assert_int_equal(zpa_zone_info(b, 0, ZPA_ZONE_NORMAL, &zb), 0);
		assert_memory_equal(za.nr_free, zb.nr_free, sizeof za.nr_free);
		assert_int_equal(za.pcp, 0);
	}
	zt_assert_clean(a);
	zt_assert_clean(b);
	zpa_task_destroy(t);
	zpa_machine_destroy(a);
	zpa_machine_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refill_and_drain),
		cmocka_unit_test(test_high_drains),
		cmocka_unit_test(test_pcp_orders),
		cmocka_unit_test(test_pcp_double_free),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_thread_lists_returned),
		cmocka_unit_test(test_machine_destroy_with_thread_lists),
		cmocka_unit_test(test_high_fraction),
		cmocka_unit_test(test_refill_equals_single_takes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
