/*
 * test_fault.c - fault injection (zpa/fault.h): the fail_page_alloc
 * attributes with Linux's should_fail() order (probability, interval, times,
 * space, min-order, ignore-gfp-wait, ignore-gfp-highmem, __GFP_NOFAIL never
 * failed, __GFP_NOWARN quiet), the text and struct interfaces, schedules
 * failing exactly the requests they name, reproducibility from the seed,
 * the hosted fast path honouring injection, and that injected failures lose
 * no page.  Every test ends with the full audit.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define NONE ZPA_PFN_NONE

/* One node of 256 MiB (DMA, DMA32), one CPU, per-CPU lists on. */
static struct zpa_machine *machine(struct zt_log *log)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, log);
	if (log)
		cfg.log_level = ZPA_LOG_DEBUG;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static uint64_t vm(struct zpa_machine *m, const char *name)
{
	bool ok;
	uint64_t v = zpa_vmstat(m, name, &ok);
	assert_true(ok);
	return v;
}

static void set(struct zpa_machine *m, const char *name, const char *value)
{
	assert_int_equal(zpa_fault_set(m, name, value), 0);
}

static void expect_attr(struct zpa_machine *m, const char *name, const char *want)
{
	char buf[64];
	int n = zpa_fault_get(m, name, buf, sizeof buf);
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

/* Fail every request the attributes may fail: all orders, sleeping or not, no limit. */
static void inject_always(struct zpa_machine *m)
{
	set(m, "verbose", "0");
	set(m, "min-order", "0");
	set(m, "ignore-gfp-wait", "N");
	set(m, "ignore-gfp-highmem", "N");
	set(m, "times", "-1");
	set(m, "probability", "100");
}

/* Blocks the tests hold, freed at the end. */
struct held {
	zpa_pfn_t pfn[4096];
	unsigned order[4096];
	unsigned n;
};

/* Allocate for the calling thread; keep the block; true when it succeeded. */
static bool take(struct zpa_machine *m, struct held *h, zpa_gfp_t gfp, unsigned order)
{
	zpa_pfn_t pfn = zpa_alloc_pages(m, gfp, order);
	if (pfn == NONE)
		return false;
	assert_true(h->n < 4096);
	h->pfn[h->n] = pfn;
	h->order[h->n++] = order;
	return true;
}

static void release_all(struct zpa_machine *m, struct held *h)
{
	for (unsigned i = 0; i < h->n; i++)
		assert_int_equal(zpa_free_pages(m, h->pfn[i], h->order[i]), 0);
	h->n = 0;
}

/* Linux's defaults, readable as debugfs prints them; nothing fails by default. */
static void test_defaults(void **state)
{
	(void)state;
	static const char *const want[][2] = {
		{ "probability", "0\n" }, { "interval", "1\n" }, { "times", "1\n" },
		{ "space", "0\n" }, { "verbose", "2\n" }, { "ignore-gfp-wait", "Y\n" },
		{ "ignore-gfp-highmem", "Y\n" }, { "min-order", "1\n" },
	};
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
		expect_attr(m, want[i][0], want[i][1]);
	unsigned nnames = 0;
	for (const char *const *n = zpa_fault_names(); *n; n++, nnames++) {
		char buf[64];
		assert_true(zpa_fault_get(m, *n, buf, sizeof buf) > 0);
	}
	assert_int_equal(nnames, 9);

	struct zpa_fault_attr a, d;
	zpa_fault_attr_default(&d);
	assert_int_equal(zpa_fault_get_attr(m, &a), 0);
	assert_memory_equal(&a, &d, sizeof a);

	/* Defaults (probability 0) fail nothing, and nothing is examined. */
	for (int i = 0; i < 200; i++)
		assert_true(take(m, &h, i & 1 ? ZPA_GFP_ATOMIC : ZPA_GFP_KERNEL, (unsigned)i % 4));
	assert_int_equal(vm(m, "zpa_fault_checked"), 0);
	assert_int_equal(vm(m, "zpa_fault_injected"), 0);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Text interface: names, value syntax, ranges; a refused write changes nothing. */
static void test_set_and_get(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	assert_int_equal(zpa_fault_set(m, "probabilty", "1"), ZPA_ENOENT);
	assert_int_equal(zpa_fault_get(m, "nope", NULL, 0), ZPA_ENOENT);
	set(m, "probability", "10\n");
	assert_int_equal(zpa_fault_set(m, "probability", "abc"), ZPA_EINVAL);
	assert_int_equal(zpa_fault_set(m, "probability", "-1"), ZPA_EINVAL);
	assert_int_equal(zpa_fault_set(m, "probability", ""), ZPA_EINVAL);
	assert_int_equal(zpa_fault_set(m, "probability", "12x"), ZPA_EINVAL);
	expect_attr(m, "probability", "10\n");
	set(m, "fail_page_alloc/interval", "0x10");
	expect_attr(m, "interval", "16\n");
	set(m, "times", "-1");
	expect_attr(m, "times", "-1\n");
	assert_int_equal(zpa_fault_set(m, "times", "99999999999"), ZPA_ERANGE);
	assert_int_equal(zpa_fault_set(m, "space", "-99999999999"), ZPA_ERANGE);
	expect_attr(m, "times", "-1\n");
	assert_int_equal(zpa_fault_set(m, "min-order", "4294967296"), ZPA_ERANGE);
	set(m, "min-order", "4294967295");
	expect_attr(m, "min-order", "4294967295\n");
	assert_int_equal(zpa_fault_set(m, "ignore-gfp-wait", "maybe"), ZPA_EINVAL);
	expect_attr(m, "ignore-gfp-wait", "Y\n");
	set(m, "ignore-gfp-wait", " n\n");
	expect_attr(m, "ignore-gfp-wait", "N\n");
	set(m, "ignore-gfp-highmem", "off");
	expect_attr(m, "ignore-gfp-highmem", "N\n");
	set(m, "ignore-gfp-highmem", "1");
	expect_attr(m, "ignore-gfp-highmem", "Y\n");
	set(m, "seed", "18446744073709551615");
	expect_attr(m, "seed", "18446744073709551615\n");
	/* snprintf-style length with a short buffer */
	char small[2];
	assert_int_equal(zpa_fault_get(m, "seed", small, sizeof small), 21);
	assert_int_equal(small[1], '\0');

	/* The boot option form: interval, probability, space, times. */
	assert_int_equal(zpa_fault_setup(m, "3,100,5,-1"), 0);
	expect_attr(m, "interval", "3\n");
	expect_attr(m, "probability", "100\n");
	expect_attr(m, "space", "5\n");
	expect_attr(m, "times", "-1\n");
	assert_int_equal(zpa_fault_setup(m, "4,50"), ZPA_EINVAL);
	expect_attr(m, "interval", "3\n");
	expect_attr(m, "probability", "100\n");
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* probability 100 fails every eligible request and loses no page; 0 turns it off. */
static void test_probability_100_and_0(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	uint64_t free0 = zpa_total_free(m);
	inject_always(m);
	static const zpa_gfp_t gfps[] = { ZPA_GFP_KERNEL, ZPA_GFP_ATOMIC, ZPA_GFP_NOWAIT,
					  ZPA_GFP_HIGHUSER_MOVABLE, ZPA_GFP_KERNEL | ZPA___GFP_COMP };
	for (int i = 0; i < 50; i++) {
		assert_false(take(m, &h, gfps[i % 5], (unsigned)i % 6));
		assert_int_equal(zpa__alloc_pages(m, NULL, gfps[i % 5], (unsigned)i % 6, -1, NULL), NONE);
	}
	assert_int_equal(zpa_total_free(m), free0);
	assert_int_equal(vm(m, "zpa_fault_checked"), 100);
	assert_int_equal(vm(m, "zpa_fault_injected"), 100);
	assert_int_equal(vm(m, "zpa_fault_injected_attr"), 100);
	assert_int_equal(vm(m, "zpa_fault_injected_schedule"), 0);
	/* No allocation-failure path ran: nothing counted as a failed allocation. */
	assert_int_equal(vm(m, "zpa_alloc_fail"), 0);
	expect_attr(m, "times", "-1\n");

	set(m, "probability", "0");
	for (int i = 0; i < 50; i++)
		assert_true(take(m, &h, gfps[i % 5], (unsigned)i % 6));
	assert_int_equal(vm(m, "zpa_fault_checked"), 100);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* interval: only every interval-th request that passes the other tests fails. */
static void test_interval(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "interval", "3");
	for (int i = 1; i <= 12; i++)
		assert_int_equal(take(m, &h, ZPA_GFP_KERNEL, 0), i % 3 != 0);
	/* Requests below min-order never reach the interval count. */
	set(m, "min-order", "1");
	for (int i = 1; i <= 9; i++) {
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
		assert_int_equal(take(m, &h, ZPA_GFP_KERNEL, 1), i % 3 != 0);
	}
	assert_int_equal(vm(m, "zpa_fault_injected"), 4 + 3);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* times: the number of failures left; -1 is no limit. */
static void test_times(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "times", "2");
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "times", "1\n");
	assert_false(take(m, &h, ZPA_GFP_ATOMIC, 3));
	expect_attr(m, "times", "0\n");
	for (int i = 0; i < 20; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, (unsigned)i % 4));
	expect_attr(m, "times", "0\n");
	/* times 0 stops before space and interval: neither moves. */
	set(m, "space", "100");
	for (int i = 0; i < 5; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "space", "100\n");
	set(m, "space", "0");
	set(m, "times", "-1");
	for (int i = 0; i < 20; i++)
		assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "times", "-1\n");
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* space: requests are let through while space exceeds their size in pages. */
static void test_space(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "space", "8");
	for (int i = 1; i <= 7; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "space", "1\n");
	/* 1 is not greater than 1: from now on every request fails. */
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "space", "1\n");

	/* Order-1 requests take 2 pages each: 10 -> 8 -> 6 -> 4 -> 2, then fail. */
	set(m, "space", "10");
	for (int i = 1; i <= 4; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 1));
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 1));
	expect_attr(m, "space", "2\n");
	/* A bigger request than the space left is not let through either. */
	set(m, "space", "3");
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 2));
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	expect_attr(m, "space", "2\n");
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* min-order: lower orders are never failed (default 1). */
static void test_min_order(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "min-order", "1");
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 1));
	set(m, "min-order", "3");
	for (unsigned o = 0; o < 3; o++)
		assert_true(take(m, &h, ZPA_GFP_ATOMIC, o));
	for (unsigned o = 3; o < 11; o++)
		assert_false(take(m, &h, ZPA_GFP_ATOMIC, o));
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ignore-gfp-wait (default Y): requests that may sleep are not failed. */
static void test_ignore_gfp_wait(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "ignore-gfp-wait", "Y");
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 1));
	assert_true(take(m, &h, ZPA_GFP_NOIO, 1));
	assert_true(take(m, &h, ZPA___GFP_DIRECT_RECLAIM, 1));
	assert_false(take(m, &h, ZPA_GFP_ATOMIC, 1));
	assert_false(take(m, &h, ZPA_GFP_NOWAIT, 1));
	assert_false(take(m, &h, 0, 1));
	set(m, "ignore-gfp-wait", "N");
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 1));
	assert_false(take(m, &h, ZPA___GFP_DIRECT_RECLAIM, 1));
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ignore-gfp-highmem (default Y): __GFP_HIGHMEM requests are not failed. */
static void test_ignore_gfp_highmem(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	set(m, "ignore-gfp-highmem", "Y");
	assert_true(take(m, &h, ZPA_GFP_NOWAIT | ZPA___GFP_HIGHMEM, 1));
	assert_true(take(m, &h, (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_DIRECT_RECLAIM), 0));
	assert_false(take(m, &h, ZPA_GFP_NOWAIT, 1));
	assert_false(take(m, &h, ZPA_GFP_NOWAIT | ZPA___GFP_MOVABLE, 1));
	set(m, "ignore-gfp-highmem", "N");
	assert_false(take(m, &h, ZPA_GFP_NOWAIT | ZPA___GFP_HIGHMEM, 1));
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* __GFP_NOFAIL is never failed, by the attributes or by a schedule, and schedules do not count it. */
static void test_nofail_exempt(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	inject_always(m);
	/* (orders 0 and 1: Linux warns about __GFP_NOFAIL above order 1) */
	for (unsigned o = 0; o < 2; o++) {
		assert_true(take(m, &h, ZPA_GFP_KERNEL | ZPA___GFP_NOFAIL, o));
		assert_false(take(m, &h, ZPA_GFP_KERNEL, o));
	}
	set(m, "probability", "0");
	struct zpa_fault_schedule s;
	zpa_fault_schedule_init(&s);
	int id = zpa_fault_schedule_add(m, &s); /* the first request of any kind */
	assert_true(id >= 0);
	assert_true(take(m, &h, ZPA_GFP_KERNEL | ZPA___GFP_NOFAIL, 0));
	assert_true(take(m, &h, ZPA_GFP_NOIO | ZPA___GFP_NOFAIL, 1));
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, id, &st), 0);
	assert_int_equal(st.seen, 0);
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_int_equal(zpa_fault_schedule_stats(m, id, &st), 0);
	assert_int_equal(st.seen, 2);
	assert_int_equal(st.hit, 1);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Reports: verbose 0 is silent, 1 one report, 2 with the request; __GFP_NOWARN is quiet. */
static void test_verbose_and_nowarn(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = machine(&log);
	struct held h = { .n = 0 };
	inject_always(m);

	int before = log.count;
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 2));
	assert_int_equal(log.count, before);      /* verbose 0 */

	set(m, "verbose", "1");
	before = log.count;
	assert_false(take(m, &h, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 2));
	assert_int_equal(log.count, before);      /* __GFP_NOWARN */
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 2));
	assert_int_equal(log.count, before + 2);
	assert_non_null(strstr(log.last, "probability 100"));

	set(m, "verbose", "2");
	before = log.count;
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 2));
	assert_int_equal(log.count, before + 3);
	assert_non_null(strstr(log.last, "order:2"));
	assert_non_null(strstr(log.last, "GFP_KERNEL"));
	before = log.count;
	assert_false(take(m, &h, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 2));
	assert_int_equal(log.count, before);
	/* An injected failure is not an allocation failure: no warning, nothing counted. */
	assert_int_equal(vm(m, "zpa_warn"), 0);
	assert_int_equal(vm(m, "zpa_alloc_fail"), 0);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Two schedules on order-2 GFP_KERNEL requests, the 3rd and the 7th: among
 * a mix of requests that differ in order or GFP word, only those two fail.
 */
static void test_schedules_hit_exactly(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	uint64_t free0 = zpa_total_free(m);
	struct zpa_fault_schedule s3, s7;
	zpa_fault_schedule_init(&s3);
	s3.min_order = s3.max_order = 2;
	s3.gfp_mask = ~0u;
	s3.gfp_value = ZPA_GFP_KERNEL;
	s3.nth = 3;
	assert_int_equal(zpa_fault_schedule_parse("order=2 gfp=GFP_KERNEL nth=7", &s7), 0);
	assert_int_equal(s7.min_order, 2);
	assert_int_equal(s7.max_order, 2);
	assert_int_equal(s7.gfp_mask, ~0u);
	assert_int_equal(s7.gfp_value, ZPA_GFP_KERNEL);
	assert_int_equal(s7.nth, 7);
	int id3 = zpa_fault_schedule_add(m, &s3), id7 = zpa_fault_schedule_add(m, &s7);
	assert_true(id3 >= 0 && id7 >= 0 && id3 != id7);

	static const struct { zpa_gfp_t gfp; unsigned order; } noise[] = {
		{ ZPA_GFP_KERNEL, 0 }, { ZPA_GFP_ATOMIC, 2 }, { ZPA_GFP_KERNEL, 3 },
		{ ZPA_GFP_KERNEL | ZPA___GFP_ZERO, 2 }, { ZPA_GFP_KERNEL, 1 }, { ZPA_GFP_NOIO, 2 },
		{ ZPA_GFP_KERNEL | ZPA___GFP_COMP, 2 },
	};
	for (int i = 1; i <= 10; i++) {
		for (unsigned k = 0; k < sizeof noise / sizeof noise[0]; k++)
			assert_true(take(m, &h, noise[k].gfp, noise[k].order));
		assert_int_equal(take(m, &h, ZPA_GFP_KERNEL, 2), i != 3 && i != 7);
		/* Another entry point: examined (zpa_fault_checked), not matched. */
		zpa_pfn_t p = zpa_alloc_pages_node(m, 0, ZPA_GFP_KERNEL, 0);
		assert_true(p != NONE);
		assert_int_equal(zpa_free_pages(m, p, 0), 0);
	}
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, id3, &st), 0);
	assert_int_equal(st.seen, 10);
	assert_int_equal(st.hit, 1);
	assert_int_equal(zpa_fault_schedule_stats(m, id7, &st), 0);
	assert_int_equal(st.seen, 10);
	assert_int_equal(st.hit, 1);
	assert_int_equal(vm(m, "zpa_fault_injected"), 2);
	assert_int_equal(vm(m, "zpa_fault_injected_schedule"), 2);
	assert_int_equal(vm(m, "zpa_fault_injected_attr"), 0);
	assert_int_equal(vm(m, "zpa_fault_checked"), 10 * (7 + 1 + 1));

	/* The 11th and later requests pass: both schedules are spent. */
	for (int i = 0; i < 5; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 2));
	release_all(m, &h);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A repeating schedule over an order range and a GFP mask (requests that may not sleep). */
static void test_schedule_every_and_mask(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	struct zpa_fault_schedule s;
	assert_int_equal(zpa_fault_schedule_parse("order=0-1, mask=__GFP_DIRECT_RECLAIM gfp=0 nth=2 every=3", &s), 0);
	assert_int_equal(s.gfp_mask, ZPA___GFP_DIRECT_RECLAIM);
	assert_int_equal(s.gfp_value, 0);
	int id = zpa_fault_schedule_add(m, &s);
	assert_true(id >= 0);
	int n = 0;
	for (int i = 0; i < 30; i++) {
		assert_true(take(m, &h, ZPA_GFP_KERNEL, (unsigned)i % 2));   /* may sleep: not matched */
		assert_true(take(m, &h, ZPA_GFP_ATOMIC, 2));                  /* order 2: not matched */
		n++;
		bool fails = n == 2 || (n > 2 && (n - 2) % 3 == 0);
		assert_int_equal(take(m, &h, i % 3 ? ZPA_GFP_NOWAIT : ZPA_GFP_ATOMIC, (unsigned)i % 2), !fails);
	}
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, id, &st), 0);
	assert_int_equal(st.seen, 30);
	assert_int_equal(st.hit, 10); /* 2, 5, ..., 29 */
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* A schedule for one node counts only requests that prefer that node. */
static void test_schedule_node(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_all_zones(&cfg, NULL);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_fault_schedule s;
	assert_int_equal(zpa_fault_schedule_parse("node=1 nth=2", &s), 0);
	int id = zpa_fault_schedule_add(m, &s);
	assert_true(id >= 0);
	struct zpa_task *t1 = zpa_task_create();
	assert_non_null(t1);
	zpa_task_set_cpu(t1, 1); /* CPU 1 is on node 1 */

	zpa_pfn_t p[8];
	int np = 0;
	for (int i = 0; i < 3; i++) {
		p[np] = zpa_alloc_pages_node(m, 0, ZPA_GFP_KERNEL, 0);
		assert_true(p[np++] != NONE);
	}
	p[np] = zpa_alloc_pages_node(m, 1, ZPA_GFP_KERNEL, 0);
	assert_true(p[np++] != NONE);
	/* the second node-1 request, through the task's own node */
	assert_int_equal(zpa__alloc_pages(m, t1, ZPA_GFP_KERNEL, 0, -1, NULL), NONE);
	p[np] = zpa__alloc_pages(m, t1, ZPA_GFP_KERNEL, 0, -1, NULL);
	assert_true(p[np++] != NONE);
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, id, &st), 0);
	assert_int_equal(st.seen, 3);
	assert_int_equal(st.hit, 1);
	for (int i = 0; i < np; i++)
		assert_int_equal(zpa__free_pages(m, t1, p[i], 0), 0);
	zpa_task_destroy(t1);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Schedule arguments, capacity, removal; clearing the last one turns injection off. */
static void test_schedule_management(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	struct zpa_fault_schedule s, bad;
	zpa_fault_schedule_init(&s);
	s.nth = 1000000;
	bad = s; bad.min_order = 3; bad.max_order = 2;
	assert_int_equal(zpa_fault_schedule_add(m, &bad), ZPA_EINVAL);
	bad = s; bad.nth = 0;
	assert_int_equal(zpa_fault_schedule_add(m, &bad), ZPA_EINVAL);
	bad = s; bad.gfp_mask = ZPA___GFP_IO; bad.gfp_value = ZPA___GFP_FS;
	assert_int_equal(zpa_fault_schedule_add(m, &bad), ZPA_EINVAL);
	bad = s; bad.nid = 1; /* one node only */
	assert_int_equal(zpa_fault_schedule_add(m, &bad), ZPA_EINVAL);
	bad = s; bad.nid = -2;
	assert_int_equal(zpa_fault_schedule_add(m, &bad), ZPA_EINVAL);
	assert_int_equal(zpa_fault_schedule_add(m, NULL), ZPA_EINVAL);
	assert_int_equal(zpa_fault_schedule_parse("order=2 colour=red", &bad), ZPA_EPARSE);
	assert_int_equal(zpa_fault_schedule_parse("gfp=GFP_NONSENSE", &bad), ZPA_EPARSE);
	assert_int_equal(zpa_fault_schedule_parse("nth=", &bad), ZPA_EPARSE);
	assert_int_equal(zpa_fault_schedule_parse("order=1-x", &bad), ZPA_EPARSE);
	assert_int_equal(zpa_fault_schedule_parse("nth", &bad), ZPA_EPARSE);

	int ids[ZPA_FAULT_MAX_SCHEDULES];
	for (int i = 0; i < ZPA_FAULT_MAX_SCHEDULES; i++) {
		ids[i] = zpa_fault_schedule_add(m, &s);
		assert_true(ids[i] >= 0);
	}
	assert_int_equal(zpa_fault_schedule_add(m, &s), ZPA_ENOMEM);
	assert_int_equal(zpa_fault_schedule_remove(m, ids[5]), 0);
	assert_int_equal(zpa_fault_schedule_remove(m, ids[5]), ZPA_ENOENT);
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, ids[5], &st), ZPA_ENOENT);
	assert_int_equal(zpa_fault_schedule_remove(m, -1), ZPA_ENOENT);
	assert_int_equal(zpa_fault_schedule_remove(m, ZPA_FAULT_MAX_SCHEDULES), ZPA_ENOENT);
	assert_true(zpa_fault_schedule_add(m, &s) >= 0);  /* the freed slot is reused */

	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_int_equal(zpa_fault_schedule_stats(m, ids[0], &st), 0);
	assert_int_equal(st.seen, 1);
	uint64_t checked = vm(m, "zpa_fault_checked");
	zpa_fault_schedule_clear(m);
	assert_int_equal(zpa_fault_schedule_stats(m, ids[0], &st), ZPA_ENOENT);
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_int_equal(vm(m, "zpa_fault_checked"), checked); /* off: nothing examined */
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* The struct interface: configure sets everything and restarts the count; get reads the state. */
static void test_configure_struct(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	struct zpa_fault_attr a, got;
	zpa_fault_attr_default(&a);
	a.probability = 100;
	a.interval = 2;
	a.times = 3;
	a.verbose = 0;
	a.min_order = 0;
	a.ignore_gfp_wait = false;
	assert_int_equal(zpa_fault_configure(m, &a), 0);
	assert_int_equal(zpa_fault_configure(m, NULL), ZPA_EINVAL);
	expect_attr(m, "interval", "2\n");
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));   /* count 1 */
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));  /* count 2 */
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));   /* count 3 */
	assert_int_equal(zpa_fault_configure(m, &a), 0);
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));   /* count restarted: 1 */
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));  /* third failure: times now 0 */
	for (int i = 0; i < 6; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	assert_int_equal(zpa_fault_get_attr(m, &got), 0);
	assert_int_equal(got.times, 0);
	assert_int_equal(got.interval, 2);
	assert_int_equal(got.probability, 100);
	assert_false(got.ignore_gfp_wait);
	assert_true(got.ignore_gfp_highmem);
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* The outcome of 256 requests under probability 50 on a new machine with this seed. */
static void pattern(uint64_t seed, bool reseed_twice, uint8_t out[32])
{
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	char s[32];
	inject_always(m);
	set(m, "probability", "50");
	snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
	set(m, "seed", s);
	memset(out, 0, 32);
	for (int i = 0; i < 256; i++) {
		if (reseed_twice && i == 100) {
			/* Re-seeding restarts the sequence: replay the first 100, then go on. */
			set(m, "seed", s);
			for (int k = 0; k < 100; k++)
				assert_int_equal(!take(m, &h, ZPA_GFP_KERNEL, 0), (out[k / 8] >> (k % 8)) & 1);
			set(m, "seed", s);
			for (int k = 0; k < 100; k++)
				(void)take(m, &h, ZPA_GFP_KERNEL, 0);
		}
		if (!take(m, &h, i % 2 ? ZPA_GFP_ATOMIC : ZPA_GFP_KERNEL, (unsigned)i % 3))
			out[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	release_all(m, &h);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static int popcount256(const uint8_t *p)
{
	int n = 0;
	for (int i = 0; i < 32; i++)
		n += __builtin_popcount(p[i]);
	return n;
}

/* The same seed gives the same failures; another seed other ones. */
static void test_reproducible_from_seed(void **state)
{
	(void)state;
	uint8_t a[32], b[32], c[32], d[32];
	pattern(12345, false, a);
	pattern(12345, false, b);
	pattern(12345, true, d);
	pattern(54321, false, c);
	assert_memory_equal(a, b, 32);
	assert_memory_equal(a, d, 32);
	assert_memory_not_equal(a, c, 32);
	/* probability 50 fails about half (binomial(256, 1/2): far inside 80..176) */
	assert_in_range(popcount256(a), 80, 176);
	assert_in_range(popcount256(c), 80, 176);
}

/*
 * The hosted fast path of zpa_alloc_pages(): once warm, order-0 requests of
 * the same GFP word are served from the thread's list without
 * __alloc_pages().  Turning injection on must send them the long way.
 */
static void test_fast_path_honours_injection(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	struct held h = { .n = 0 };
	uint64_t free0 = zpa_total_free(m);
	/* Warm the fast path: allocate and free order-0 GFP_KERNEL pages. */
	for (int r = 0; r < 4; r++) {
		for (int i = 0; i < 32; i++)
			assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
		release_all(m, &h);
	}
	struct zpa_fault_schedule s;
	assert_int_equal(zpa_fault_schedule_parse("order=0 gfp=GFP_KERNEL nth=5", &s), 0);
	int id = zpa_fault_schedule_add(m, &s);
	assert_true(id >= 0);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(take(m, &h, ZPA_GFP_KERNEL, 0), i != 5);
	struct zpa_fault_schedule_stats st;
	assert_int_equal(zpa_fault_schedule_stats(m, id, &st), 0);
	assert_int_equal(st.seen, 10);
	zpa_fault_schedule_clear(m);

	/* Warm again with injection off, then turn the attributes on. */
	for (int i = 0; i < 32; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	release_all(m, &h);
	for (int i = 0; i < 32; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	inject_always(m);
	for (int i = 0; i < 10; i++)
		assert_false(take(m, &h, ZPA_GFP_KERNEL, 0));
	set(m, "probability", "0");
	for (int i = 0; i < 10; i++)
		assert_true(take(m, &h, ZPA_GFP_KERNEL, 0));
	release_all(m, &h);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A random mix of allocations and frees of many orders and GFP words under
 * probability 30: every failed request is an injected one, and once
 * everything is freed the machine has every page back.
 */
static void test_state_intact_after_failures(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	static struct held h;
	static const zpa_gfp_t gfps[] = { ZPA_GFP_KERNEL, ZPA_GFP_ATOMIC, ZPA_GFP_NOWAIT, ZPA_GFP_HIGHUSER_MOVABLE,
					  ZPA_GFP_KERNEL | ZPA___GFP_COMP, ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE,
					  ZPA_GFP_DMA32 | ZPA_GFP_NOWAIT };
	uint64_t free0 = zpa_total_free(m);
	uint64_t rng = 7;
	int failed = 0, tried = 0;
	h.n = 0;
	inject_always(m);
	set(m, "probability", "30");
	set(m, "seed", "99");
	for (int step = 0; step < 6000; step++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		unsigned r = (unsigned)(rng >> 33);
		if (h.n && (r % 3 == 0 || h.n > 1500)) {
			unsigned i = (r >> 2) % h.n;
			assert_int_equal(zpa_free_pages(m, h.pfn[i], h.order[i]), 0);
			h.pfn[i] = h.pfn[--h.n];
			h.order[i] = h.order[h.n];
			continue;
		}
		tried++;
		if (!take(m, &h, gfps[(r >> 2) % 7], (r >> 5) % 5))
			failed++;
		if (step % 1000 == 0)
			zt_assert_clean(m);
	}
	assert_int_equal((uint64_t)failed, vm(m, "zpa_fault_injected"));
	assert_int_equal((uint64_t)tried, vm(m, "zpa_fault_checked"));
	assert_in_range(failed, tried / 5, tried * 2 / 5);
	zt_assert_clean(m);
	release_all(m, &h);
	set(m, "probability", "0");
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* The counters are /proc/vmstat lines, after Linux's. */
static void test_vmstat_lines(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	static char buf[1 << 16];
	inject_always(m);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL, 1), NONE);
	assert_true(zpa_show(m, "vmstat", buf, sizeof buf) > 0);
	assert_non_null(strstr(buf, "\nzpa_fault_checked 1\n"));
	assert_non_null(strstr(buf, "\nzpa_fault_injected 1\n"));
	assert_non_null(strstr(buf, "\nzpa_fault_injected_attr 1\n"));
	assert_non_null(strstr(buf, "\nzpa_fault_injected_schedule 0\n"));
	assert_true(strstr(buf, "zpa_fault_checked") > strstr(buf, "pgfree"));
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Threads allocating under injection: every failure is counted, and no page is lost. */
struct thread_arg {
	struct zpa_machine *m;
	int failed;
};

static void *thread_body(void *p)
{
	struct thread_arg *ta = p;
	zpa_pfn_t held[64];
	unsigned order[64];
	for (int i = 0; i < 3000; i++) {
		unsigned o = (unsigned)i % 3;
		int slot = i % 64;
		if (i >= 64 && held[slot] != NONE)
			zpa_free_pages(ta->m, held[slot], order[slot]);
		held[slot] = zpa_alloc_pages(ta->m, i % 2 ? ZPA_GFP_KERNEL : ZPA_GFP_ATOMIC, o);
		order[slot] = o;
		if (held[slot] == NONE)
			ta->failed++;
	}
	for (int k = 0; k < 64; k++)
		if (held[k] != NONE)
			zpa_free_pages(ta->m, held[k], order[k]);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(NULL);
	uint64_t free0 = zpa_total_free(m);
	inject_always(m);
	set(m, "probability", "25");
	pthread_t th[4];
	struct thread_arg ta[4];
	for (int i = 0; i < 4; i++) {
		ta[i] = (struct thread_arg){ m, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, thread_body, &ta[i]), 0);
	}
	int failed = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		failed += ta[i].failed;
	}
	assert_int_equal((uint64_t)failed, vm(m, "zpa_fault_injected"));
	assert_int_equal(vm(m, "zpa_fault_checked"), 4 * 3000);
	assert_in_range(failed, 4 * 3000 / 8, 4 * 3000 * 3 / 8);
	set(m, "probability", "0");
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set_and_get),
		cmocka_unit_test(test_probability_100_and_0),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_min_order),
		cmocka_unit_test(test_ignore_gfp_wait),
		cmocka_unit_test(test_ignore_gfp_highmem),
		cmocka_unit_test(test_nofail_exempt),
		cmocka_unit_test(test_verbose_and_nowarn),
		cmocka_unit_test(test_schedules_hit_exactly),
		cmocka_unit_test(test_schedule_every_and_mask),
		cmocka_unit_test(test_schedule_node),
		cmocka_unit_test(test_schedule_management),
		cmocka_unit_test(test_configure_struct),
		cmocka_unit_test(test_reproducible_from_seed),
		cmocka_unit_test(test_fast_path_honours_injection),
		cmocka_unit_test(test_state_intact_after_failures),
		cmocka_unit_test(test_vmstat_lines),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
