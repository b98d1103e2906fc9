/*
 * test_alloc.c - the allocation path's decisions: zone choice from GFP flags,
 * zonelist fallback, watermarks and the reserves each GFP class may use,
 * lowmem protection, compound pages, zeroing in backed mode, buddy merging.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

static int zone_of(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi.zone_type;
}

static int node_of(struct zpa_machine *m, zpa_pfn_t pfn)
{
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, pfn, &pi), 0);
	return pi.nid;
}

/* The zone each GFP class lands in on a machine that has every zone type. */
static void test_zone_selection(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_all_zones(&cfg, NULL);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_cpu(t, 1); /* node 1: Normal, HighMem, Movable */
	struct { zpa_gfp_t gfp; int zone; int nid; } cases[] = {
		{ ZPA_GFP_KERNEL, ZPA_ZONE_NORMAL, 1 },
		{ ZPA_GFP_HIGHUSER, ZPA_ZONE_HIGHMEM, 1 },
		{ ZPA_GFP_HIGHUSER_MOVABLE, ZPA_ZONE_MOVABLE, 1 },
		{ ZPA_GFP_KERNEL | ZPA___GFP_MOVABLE, ZPA_ZONE_NORMAL, 1 }, /* movable alone: Normal */
		{ ZPA_GFP_DMA32 | ZPA_GFP_KERNEL, ZPA_ZONE_DMA32, 0 },
		{ ZPA_GFP_DMA | ZPA_GFP_KERNEL, ZPA_ZONE_DMA, 0 },
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		zpa_pfn_t p = zpa__alloc_pages(m, t, cases[i].gfp, 0, -1, NULL);
		assert_true(p != ZPA_PFN_NONE);
		assert_int_equal(zone_of(m, p), cases[i].zone);
		assert_int_equal(node_of(m, p), cases[i].nid);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
	}
	/* __GFP_THISNODE on node 1 cannot reach DMA32 (node 0 only). */
	assert_int_equal(zpa__alloc_pages(m, t, ZPA_GFP_DMA32 | ZPA_GFP_KERNEL | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN,
					  0, -1, NULL), ZPA_PFN_NONE);
	/* From node 0, GFP_KERNEL is served by node 0's DMA32 first (zonelist order). */
	zpa_task_set_cpu(t, 0);
	zpa_pfn_t p = zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL);
	/* Zonelists are node-ordered: node 0's DMA32 precedes node 1's Normal. */
	assert_int_equal(node_of(m, p), 0);
	assert_int_equal(zone_of(m, p), ZPA_ZONE_DMA32);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A one-zone (Normal-only) machine of mib MiB from start_mib, for exact arithmetic. */
static struct zpa_machine *normal_only_at(unsigned start_mib, unsigned mib)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, (uint64_t)start_mib << 20, (uint64_t)(start_mib + mib) << 20, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	/* Exact arithmetic: no per-CPU caching, no counter drift (test_pcp covers those). */
	cfg.no_pcp = true;
	cfg.exact_vmstat = true;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.min_free_kbytes = 4096; /* 1024 pages */
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_machine *normal_only(unsigned mib)
{
	return normal_only_at(1, mib);
}

static int cmp_pfn(const void *a, const void *b)
{
	zpa_pfn_t x = *(const zpa_pfn_t *)a, y = *(const zpa_pfn_t *)b;
	return x < y ? -1 : x > y;
}

/* Allocate order-0 pages with gfp until failure; returns how many, frees none. */
static unsigned long drain(struct zpa_machine *m, zpa_gfp_t gfp, zpa_pfn_t *out, unsigned long max)
{
	unsigned long n = 0;
	while (n < max) {
		zpa_pfn_t p = zpa_alloc_pages(m, gfp | ZPA___GFP_NOWARN, 0);
		if (p == ZPA_PFN_NONE)
			break;
		out[n++] = p;
	}
	return n;
}

static void test_watermark_reserves(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_only(64);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.min, 1024); /* single lowmem zone: min = min_free_kbytes / 4 */
	unsigned long cap = zi.managed;
	zpa_pfn_t *pfns = calloc(cap, sizeof *pfns);
	unsigned long n = 0;

	/* GFP_KERNEL stops with exactly min pages left (free must stay above min). */
	n += drain(m, ZPA_GFP_KERNEL, pfns + n, cap - n);
	assert_int_equal(zpa_total_free(m), zi.min);
	/* GFP_NOWAIT (non-blocking, but not __GFP_HIGH) gets no deeper in 6.1.192:
	 * ALLOC_NON_BLOCK only lowers the mark together with ALLOC_MIN_RESERVE. */
	assert_int_equal(drain(m, ZPA_GFP_NOWAIT, pfns + n, cap - n), 0);
	/* __GFP_HIGH alone (a blocking request) may use half of min. */
	n += drain(m, ZPA_GFP_KERNEL | ZPA___GFP_HIGH, pfns + n, cap - n);
	assert_int_equal(zpa_total_free(m), zi.min - zi.min / 2);
	/* GFP_ATOMIC (__GFP_HIGH + non-blocking): min/2, then a quarter of that off. */
	unsigned long min_at = zi.min - zi.min / 2;
	min_at -= min_at / 4;
	n += drain(m, ZPA_GFP_ATOMIC, pfns + n, cap - n);
	assert_int_equal(zpa_total_free(m), min_at);
	/* PF_MEMALLOC ignores watermarks entirely. */
	struct zpa_task *t = zpa_task_current();
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	n += drain(m, ZPA_GFP_KERNEL, pfns + n, cap - n);
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	assert_int_equal(zpa_total_free(m), 0);
	assert_int_equal(n, zi.managed);
	/* Every page was handed out once. */
	qsort(pfns, n, sizeof *pfns, cmp_pfn);
	for (unsigned long i = 1; i < n; i++)
		assert_true(pfns[i] != pfns[i - 1]);
	zt_assert_clean(m);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, pfns[i], 0), 0);
	assert_int_equal(zpa_total_free(m), zi.managed);
	/* Everything merged back: the free lists are as after boot. */
	struct zpa_zone_info after;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &after), 0);
	assert_memory_equal(after.nr_free, zi.nr_free, sizeof zi.nr_free);
	free(pfns);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* __GFP_MEMALLOC dips below min too, __GFP_NOMEMALLOC forbids it. */
static void test_memalloc_flags(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_only(16);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	zpa_pfn_t *pfns = calloc(zi.managed, sizeof *pfns);
	unsigned long n = drain(m, ZPA_GFP_KERNEL, pfns, zi.managed);
	assert_int_equal(zpa_total_free(m), zi.min);
	assert_int_equal(drain(m, ZPA_GFP_KERNEL | ZPA___GFP_MEMALLOC | ZPA___GFP_NOMEMALLOC, pfns + n,
			       zi.managed - n), 0);
	n += drain(m, ZPA_GFP_KERNEL | ZPA___GFP_MEMALLOC, pfns + n, zi.managed - n);
	assert_int_equal(zpa_total_free(m), 0);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, pfns[i], 0), 0);
	free(pfns);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* High-order requests also need a free block of their order. */
static void test_high_order_watermark(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_only(16);
	/* Take every order-10 block so only smaller blocks remain, then one order-9. */
	zpa_pfn_t big[64];
	unsigned nb = 0;
	for (zpa_pfn_t p; nb < 64 && (p = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 10)) != ZPA_PFN_NONE;)
		big[nb++] = p;
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.nr_free[10], 0);
	/* Remaining free memory is above min but holds no order-10 block. */
	assert_true(zi.free > zi.min + 1024 || zi.nr_free[10] == 0);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 10), ZPA_PFN_NONE);
	for (unsigned i = 0; i < nb; i++)
		assert_int_equal(zpa_free_pages(m, big[i], 10), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* lowmem_reserve keeps Normal allocations out of DMA's protected pages. */
static void test_lowmem_protection(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	/* DMA 15 MiB, DMA32 up to 64 MiB; no Normal. */
	zpa_config_add_range(&cfg, 1 << 20, 64 << 20, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.no_pcp = true;
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_zone_info dma, dma32;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA, &dma), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA32, &dma32), 0);
	/* protection[DMA32 index] of DMA = managed(DMA32) / ratio 256 */
	assert_int_equal(dma.protection[1], dma32.managed / 256);
	zpa_pfn_t *pfns = calloc(dma.managed + dma32.managed, sizeof *pfns);
	unsigned long n = drain(m, ZPA_GFP_DMA32 | ZPA_GFP_KERNEL, pfns, dma.managed + dma32.managed);
	/* DMA32 drained to its min; DMA served DMA32 requests only down to min + protection. */
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA, &dma), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA32, &dma32), 0);
	assert_int_equal(dma32.free, dma32.min);
	assert_int_equal(dma.free, dma.min + dma.protection[1]);
	/* A GFP_DMA request still finds pages there. */
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_DMA | ZPA_GFP_KERNEL, 0);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(zone_of(m, p), ZPA_ZONE_DMA);
	pfns[n++] = p;
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, pfns[i], 0), 0);
	free(pfns);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_compound(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_only(16);
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_COMP, 9);
	assert_true(p != ZPA_PFN_NONE);
	assert_int_equal(p & 511, 0);
	for (unsigned i = 0; i < 512; i += 37) {
		assert_int_equal(zpa_compound_head(m, p + i), p);
		assert_int_equal(zpa_compound_order(m, p + i), 9);
		struct zpa_page_info pi;
		assert_int_equal(zpa_page_info(m, p + i, &pi), 0);
		assert_int_equal(pi.head, i == 0);
		assert_int_equal(pi.tail, i != 0);
	}
	zt_assert_clean(m);
	assert_int_equal(zpa_free_pages(m, p, 9), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Backed mode: page_address() and __GFP_ZERO touch real memory. */
static void test_backed_zeroing(void **state)
{
	(void)state;
	size_t size = 8u << 20;
	unsigned char *mem = aligned_alloc(4096, size);
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1ull << 30, (1ull << 30) + size, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	cfg.mem_mode = ZPA_MEM_BACKED;
	cfg.backing = mem;
	cfg.backing_phys = 1ull << 30;
	cfg.backing_size = size;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 2);
	unsigned char *a = zpa_page_address(m, p);
	assert_ptr_equal(a, mem + ((p << 12) - (1ull << 30)));
	memset(a, 0xa5, 4 * 4096);
	assert_int_equal(zpa_free_pages(m, p, 2), 0);
	zpa_pfn_t q = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_ZERO, 2);
	assert_int_equal(q, p); /* LIFO: the same block comes back */
	for (size_t i = 0; i < 4 * 4096; i++)
		if (a[i])
			fail_msg("byte %zu not zeroed", i);
	assert_int_equal(zpa_free_pages(m, q, 2), 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
	free(mem);
	/* Unbacked machines have no addresses. */
	m = normal_only(8);
	assert_null(zpa_page_address(m, zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0)));
	zpa_machine_destroy(m);
}

/* Two machines in one process do not share anything. */
static void test_two_machines(void **state)
{
	(void)state;
	struct zpa_machine *a = normal_only(8), *b = normal_only(8);
	uint64_t fa = zpa_total_free(a), fb = zpa_total_free(b);
	zpa_pfn_t p = zpa_alloc_pages(a, ZPA_GFP_KERNEL, 3);
	assert_int_equal(zpa_total_free(a), fa - 8);
	assert_int_equal(zpa_total_free(b), fb);
	/* The same pfn is free in b: freeing it there is a double free. */
	assert_int_equal(zpa_free_pages(b, p, 3), ZPA_EDOUBLEFREE);
	assert_int_equal(zpa_free_pages(a, p, 3), 0);
	zt_assert_clean(a);
	zt_assert_clean(b);
	zpa_machine_destroy(a);
	zpa_machine_destroy(b);
}

/* Splitting hands out the lowest part of the first block; freeing merges fully. */
static void test_split_and_merge(void **state)
{
	(void)state;
	struct zpa_machine *m = normal_only_at(4, 16); /* 4 MiB-aligned: order-10 blocks only */
	struct zpa_zone_info before, mid, after;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &before), 0);
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &mid), 0);
	/* One order-10 block split into one free block of each order 0..9. */
	assert_int_equal(mid.nr_free[10], before.nr_free[10] - 1);
	for (int o = 0; o < 10; o++)
		assert_int_equal(mid.nr_free[o], before.nr_free[o] + 1);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &after), 0);
	assert_memory_equal(after.nr_free, before.nr_free, sizeof before.nr_free);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A bad machine config is refused with a message, nothing created. */
static void test_bad_config(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m = (struct zpa_machine *)&log;
	zt_config_simple(&cfg, 8, &log);
	cfg.max_order = 0;
	assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL);
	assert_null(m);
	assert_true(log.count == 1);
	zt_config_simple(&cfg, 8, &log);
	cfg.pageblock_order = 11;
	assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL);
	zt_config_simple(&cfg, 8, &log);
	assert_int_equal(zpa_config_add_range(&cfg, 4 << 20, 6 << 20, ZPA_RANGE_USABLE, 0), 0); /* overlaps */
	assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL);
	assert_non_null(strstr(log.last, "overlap"));
	zt_config_simple(&cfg, 8, &log);
	cfg.cpu_node[0] = 3;
	assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL);
	zpa_machine_config_init(&cfg);
	cfg.log = zt_log_fn;
	cfg.log_arg = &log;
	assert_int_equal(zpa_machine_create(&cfg, &m), ZPA_EINVAL); /* no memory */
	assert_int_equal(zpa_config_add_range(&cfg, 8, 4, ZPA_RANGE_USABLE, 0), ZPA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_selection),
		cmocka_unit_test(test_watermark_reserves),
		cmocka_unit_test(test_memalloc_flags),
		cmocka_unit_test(test_high_order_watermark),
		cmocka_unit_test(test_lowmem_protection),
		cmocka_unit_test(test_compound),
		cmocka_unit_test(test_backed_zeroing),
		cmocka_unit_test(test_two_machines),
		cmocka_unit_test(test_split_and_merge),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
