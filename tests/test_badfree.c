/*
 * test_badfree.c - every invalid free and every GFP request Linux rejects
 * gets a clear error and leaves the allocator exactly as it was.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

/* A fingerprint of the allocator state: free pages and free blocks per zone/order. */
struct state {
	uint64_t v[2][ZPA_NR_ZONE_TYPES][ZPA_MAX_ORDER_LIMIT + 1];
};

static void snap(struct zpa_machine *m, struct state *s)
{
	memset(s, 0, sizeof *s);
	for (unsigned n = 0; n < zpa_nr_nodes(m); n++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info zi;
			if (zpa_zone_info(m, (int)n, t, &zi))
				continue;
			s->v[n][t][0] = zi.free;
			for (unsigned o = 0; o < zpa_max_order(m); o++)
				s->v[n][t][o + 1] = zi.nr_free[o];
		}
}

struct fixture {
	struct zpa_machine *m;
	struct zt_log log;
	zpa_pfn_t order0, order3, comp2;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct zpa_machine_config cfg;
	zt_config_simple(&cfg, 64, &f->log);
	assert_int_equal(zpa_machine_create(&cfg, &f->m), 0);
	f->order0 = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 0);
	f->order3 = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 3);
	f->comp2 = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | ZPA___GFP_COMP, 2);
	assert_true(f->order0 != ZPA_PFN_NONE && f->order3 != ZPA_PFN_NONE && f->comp2 != ZPA_PFN_NONE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	zpa_machine_destroy(f->m);
	free(f);
	return 0;
}

/* Run a bad free and check: the error, one bad_page report, no state change. */
static void expect_bad_free(struct fixture *f, zpa_pfn_t pfn, unsigned order, int want)
{
	struct state before, after;
	bool ok;
	snap(f->m, &before);
	uint64_t bad0 = zpa_vmstat(f->m, "zpa_bad_page", &ok);
	assert_true(ok);
	int logs0 = f->log.count;
	assert_int_equal(zpa_free_pages(f->m, pfn, order), want);
	assert_int_equal(zpa_vmstat(f->m, "zpa_bad_page", &ok), bad0 + 1);
	assert_true(f->log.count > logs0);
	assert_non_null(strstr(f->log.last, "Bad page state"));
	snap(f->m, &after);
	assert_memory_equal(&before, &after, sizeof before);
	zt_assert_clean(f->m);
}

static void test_double_free(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(zpa_free_pages(f->m, f->order0, 0), 0);
	expect_bad_free(f, f->order0, 0, ZPA_EDOUBLEFREE);
	/* The pages stay free and allocatable: nothing was lost or duplicated. */
	f->order0 = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 0);
	assert_true(f->order0 != ZPA_PFN_NONE);
}

static void test_double_free_merged(void **state)
{
	struct fixture *f = *state;
	/* Freed order-3 block merges into a bigger free block: a second free of
	 * it (or of a page inside it) is still a double free. */
	assert_int_equal(zpa_free_pages(f->m, f->order3, 3), 0);
	expect_bad_free(f, f->order3, 3, ZPA_EDOUBLEFREE);
	expect_bad_free(f, f->order3 + 1, 0, ZPA_EDOUBLEFREE);
	f->order3 = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 3);
}

static void test_wrong_order(void **state)
{
	struct fixture *f = *state;
	expect_bad_free(f, f->order3, 2, ZPA_EORDER);
	expect_bad_free(f, f->order3, 4, (f->order3 & 15) ? ZPA_EALIGN : ZPA_EORDER);
	expect_bad_free(f, f->order0, 1, (f->order0 & 1) ? ZPA_EALIGN : ZPA_EORDER);
	/* The right order still works afterwards. */
	assert_int_equal(zpa_free_pages(f->m, f->order3, 3), 0);
	f->order3 = ZPA_PFN_NONE;
	zt_assert_clean(f->m);
}

static void test_tail_page(void **state)
{
	struct fixture *f = *state;
	expect_bad_free(f, f->comp2 + 1, 0, ZPA_ETAIL);
	expect_bad_free(f, f->comp2 + 3, 0, ZPA_ETAIL);
	/* Every tail knows its head and the order. */
	assert_int_equal(zpa_compound_head(f->m, f->comp2 + 3), f->comp2);
	assert_int_equal(zpa_compound_order(f->m, f->comp2 + 2), 2);
	assert_int_equal(zpa_free_pages(f->m, f->comp2, 2), 0);
	zt_assert_clean(f->m);
}

static void test_inner_page_of_plain_block(void **state)
{
	struct fixture *f = *state;
	/* Page 2 of a non-compound order-3 block was never handed out by itself. */
	expect_bad_free(f, f->order3 + 2, 0, ZPA_EBADPAGE);
}

static void test_unaligned(void **state)
{
	struct fixture *f = *state;
	expect_bad_free(f, f->order3 + 1, 3, ZPA_EALIGN);
}

static void test_foreign_pfn(void **state)
{
	struct fixture *f = *state;
	/* Far outside the machine, and a page of another machine. */
	expect_bad_free(f, 0x10000000, 0, ZPA_EBADPFN);
	struct zpa_machine_config cfg;
	struct zpa_machine *other;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1ull << 32, (1ull << 32) + (16ull << 20), ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 1;
	assert_int_equal(zpa_machine_create(&cfg, &other), 0);
	zpa_pfn_t p = zpa_alloc_pages(other, ZPA_GFP_KERNEL, 0);
	assert_true(p != ZPA_PFN_NONE);
	expect_bad_free(f, p, 0, ZPA_EBADPFN);
	assert_int_equal(zpa_free_pages(other, p, 0), 0);
	zt_assert_clean(other);
	zpa_machine_destroy(other);
}

static void test_reserved_and_hole(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1 << 20, 8 << 20, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 10 << 20, 16 << 20, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 2 << 20, 3 << 20, ZPA_RANGE_RESERVED, 0);
	cfg.nr_cpus = 1;
	cfg.log = zt_log_fn;
	cfg.log_arg = &log;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_page_info pi;
	assert_int_equal(zpa_page_info(m, (2 << 20) >> 12, &pi), 0);
	assert_true(pi.reserved);
	assert_int_equal(zpa_free_pages(m, (2 << 20) >> 12, 0), ZPA_EBADPFN);     /* reserved */
	assert_int_equal(zpa_free_pages(m, (9 << 20) >> 12, 0), ZPA_EBADPFN);     /* hole */
	assert_true(log.count >= 2);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_order_too_big(void **state)
{
	struct fixture *f = *state;
	struct state before, after;
	bool ok;
	snap(f->m, &before);
	uint64_t warns = zpa_vmstat(f->m, "zpa_warn", &ok);
	/* Allocation: order >= MAX_ORDER fails and warns unless __GFP_NOWARN. */
	assert_int_equal(zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 11), ZPA_PFN_NONE);
	assert_int_equal(zpa_vmstat(f->m, "zpa_warn", &ok), warns + 1);
	assert_int_equal(zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 11), ZPA_PFN_NONE);
	assert_int_equal(zpa_vmstat(f->m, "zpa_warn", &ok), warns + 1);
	assert_int_equal(zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 1000), ZPA_PFN_NONE);
	/* Free with an impossible order. */
	expect_bad_free(f, f->order0, 11, ZPA_EORDER);
	snap(f->m, &after);
	assert_memory_equal(&before, &after, sizeof before);
}

static void test_refcount(void **state)
{
	struct fixture *f = *state;
	/* get_page + two frees: the first only drops a reference... */
	zpa_pfn_t p = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | ZPA___GFP_COMP, 1);
	assert_int_equal(zpa_get_page(f->m, p), 0);
	uint64_t free0 = zpa_total_free(f->m);
	assert_int_equal(zpa_free_pages(f->m, p, 1), 0);
	assert_int_equal(zpa_total_free(f->m), free0);
	assert_int_equal(zpa_free_pages(f->m, p, 1), 0);
	assert_int_equal(zpa_total_free(f->m), free0 + 2);
	/* ...and a third is a double free. */
	expect_bad_free(f, p, 1, ZPA_EDOUBLEFREE);
	/* A non-compound block held twice: the first free releases pages 1..7. */
	p = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL, 3);
	assert_int_equal(zpa_get_page(f->m, p), 0);
	free0 = zpa_total_free(f->m);
	assert_int_equal(zpa_free_pages(f->m, p, 3), 0);
	assert_int_equal(zpa_total_free(f->m), free0 + 7);
	zt_assert_clean(f->m);
	/* What is left is an order-0 page. */
	expect_bad_free(f, p, 3, ZPA_EORDER);
	assert_int_equal(zpa_free_pages(f->m, p, 0), 0);
	assert_int_equal(zpa_total_free(f->m), free0 + 8);
	/* get_page on a free page is refused. */
	assert_int_equal(zpa_get_page(f->m, p), ZPA_EBADPAGE);
	zt_assert_clean(f->m);
}

/* The 8 zone-modifier combinations GFP_ZONE_BAD marks are refused with a warning. */
static void test_bad_gfp_zone_combinations(void **state)
{
	struct fixture *f = *state;
	static const zpa_gfp_t bad[] = {
		ZPA___GFP_DMA | ZPA___GFP_HIGHMEM,
		ZPA___GFP_DMA | ZPA___GFP_DMA32,
		ZPA___GFP_DMA32 | ZPA___GFP_HIGHMEM,
		ZPA___GFP_DMA | ZPA___GFP_DMA32 | ZPA___GFP_HIGHMEM,
		ZPA___GFP_MOVABLE | ZPA___GFP_HIGHMEM | ZPA___GFP_DMA,
		ZPA___GFP_MOVABLE | ZPA___GFP_DMA32 | ZPA___GFP_DMA,
		ZPA___GFP_MOVABLE | ZPA___GFP_DMA32 | ZPA___GFP_HIGHMEM,
		ZPA___GFP_MOVABLE | ZPA___GFP_DMA32 | ZPA___GFP_DMA | ZPA___GFP_HIGHMEM,
	};
	struct state before, after;
	bool ok;
	snap(f->m, &before);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t warns = zpa_vmstat(f->m, "zpa_warn", &ok);
		assert_int_equal(zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | bad[i], 0), ZPA_PFN_NONE);
		assert_int_equal(zpa_vmstat(f->m, "zpa_warn", &ok), warns + 1);
	}
	/* Bits outside the GFP mask are refused too. */
	assert_int_equal(zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | 0x40000000u, 0), ZPA_PFN_NONE);
	snap(f->m, &after);
	assert_memory_equal(&before, &after, sizeof before);
	/* The 8 good combinations work. */
	static const zpa_gfp_t good[] = { 0, ZPA___GFP_DMA, ZPA___GFP_HIGHMEM, ZPA___GFP_DMA32, ZPA___GFP_MOVABLE,
					  ZPA___GFP_MOVABLE | ZPA___GFP_DMA, ZPA___GFP_MOVABLE | ZPA___GFP_HIGHMEM,
					  ZPA___GFP_MOVABLE | ZPA___GFP_DMA32 };
	for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
		zpa_pfn_t p = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | good[i], 0);
		assert_true(p != ZPA_PFN_NONE);
		assert_int_equal(zpa_free_pages(f->m, p, 0), 0);
	}
	zt_assert_clean(f->m);
}

/* Requests Linux accepts with a WARN go on, and the warning is counted. */
static void test_warned_gfp(void **state)
{
	struct fixture *f = *state;
	bool ok;
	uint64_t warns = zpa_vmstat(f->m, "zpa_warn", &ok);
	/* MOVABLE|RECLAIMABLE makes migratetype 3, the high-atomic reserve's
	 * lists (Linux's gfp_migratetype); with none reserved it fails, warned. */
	uint64_t free0 = zpa_total_free(f->m);
	zpa_pfn_t p = zpa_alloc_pages(f->m, ZPA_GFP_KERNEL | ZPA___GFP_MOVABLE | ZPA___GFP_RECLAIMABLE, 0);
	assert_int_equal(p, ZPA_PFN_NONE);
	assert_true(zpa_vmstat(f->m, "zpa_warn", &ok) > warns);
	assert_int_equal(zpa_total_free(f->m), free0);
	warns = zpa_vmstat(f->m, "zpa_warn", &ok);
	p = zpa_alloc_pages(f->m, ZPA_GFP_ATOMIC | ZPA___GFP_NOFAIL, 0);
	assert_true(p != ZPA_PFN_NONE);
	assert_true(zpa_vmstat(f->m, "zpa_warn", &ok) > warns);
	assert_int_equal(zpa_free_pages(f->m, p, 0), 0);
	zt_assert_clean(f->m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_double_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_free_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inner_page_of_plain_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unaligned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_pfn, setup, teardown),
		cmocka_unit_test(test_reserved_and_hole),
		cmocka_unit_test_setup_teardown(test_order_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refcount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_gfp_zone_combinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warned_gfp, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
