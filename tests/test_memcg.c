/*
 * test_memcg.c - memory control groups (zpa/memcg.h): limits enforced
 * through the hierarchy (a child's charge counts against every ancestor, a
 * parent's max caps its children), __GFP_ACCOUNT charging at the end of an
 * allocation with a refused charge losing no page, uncharge on every free
 * path (slow, per-thread fast path, bulk, partial free of a shared block),
 * the explicit charge API, statistics, and bad input.  Every test ends with
 * the full audit.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define NONE ZPA_PFN_NONE
#define ACCT ZPA_GFP_KERNEL_ACCOUNT
/*
 * Attempts of a GFP_KERNEL charge that fails with no reclaim progress, as
 * Linux 6.1's try_charge_memcg() makes them: the first, the stock-drain
 * retry, then MAX_RECLAIM_RETRIES (16) retries; each counts failcnt and a
 * max event on the group at its limit.
 */
#define PASSES 18

static struct zpa_machine *machine(void)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, NULL);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_memcg *group(struct zpa_machine *m, struct zpa_memcg *parent, const char *name)
{
	struct zpa_memcg *g = NULL;
	assert_int_equal(zpa_memcg_create(m, parent, name, &g), 0);
	assert_non_null(g);
	return g;
}

static struct zpa_memcg_stat st(struct zpa_memcg *g)
{
	struct zpa_memcg_stat s;
	assert_int_equal(zpa_memcg_stat(g, &s), 0);
	return s;
}

/* Pages not allocated to a caller: buddy lists plus per-CPU/per-thread lists. */
static uint64_t free_pages(struct zpa_machine *m)
{
	return zpa_total_free(m);
}

static void test_hierarchy_limits(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *p = group(m, NULL, "parent");
	struct zpa_memcg *a = group(m, p, "a");
	struct zpa_memcg *b = group(m, p, "b");
	struct zpa_task *ta = zpa_task_create(), *tb = zpa_task_create(), *tr = zpa_task_create();
	zpa_task_set_memcg(ta, a);
	zpa_task_set_memcg(tb, b);
	assert_ptr_equal(zpa_task_memcg(ta), a);
	assert_null(zpa_task_memcg(tr));
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_MAX, 8), 0);

	zpa_pfn_t pa[8], pb;
	for (int i = 0; i < 6; i++)
		assert_true((pa[i] = zpa__alloc_pages(m, ta, ACCT, 0, -1, NULL)) != NONE);
	pb = zpa__alloc_pages(m, tb, ACCT, 1, -1, NULL); /* 2 pages: parent at 8 */
	assert_true(pb != NONE);
	assert_ptr_equal(zpa_page_memcg(m, pb), b);
	assert_int_equal(st(a).usage, 6);
	assert_int_equal(st(b).usage, 2);
	assert_int_equal(st(p).usage, 8);
	assert_int_equal(st(p).local, 0);
	/* The parent's max caps both children, though theirs are unlimited. */
	assert_true(zpa__alloc_pages(m, ta, ACCT, 0, -1, NULL) == NONE);
	assert_true(zpa__alloc_pages(m, tb, ACCT, 0, -1, NULL) == NONE);
	struct zpa_memcg_stat sp = st(p), sa = st(a);
	assert_int_equal(sp.failcnt, 2 * PASSES);
	assert_int_equal(sp.events_max, 2 * PASSES);
	assert_int_equal(sp.events_oom, 2); /* the OOM killer was asked (and found no one) */
	assert_int_equal(sa.failcnt, 0);
	assert_int_equal(sa.usage, 6);
	/* Not charged: no __GFP_ACCOUNT, or a task in the root. */
	zpa_pfn_t x = zpa__alloc_pages(m, ta, ZPA_GFP_KERNEL, 0, -1, NULL);
	zpa_pfn_t y = zpa__alloc_pages(m, tr, ACCT, 0, -1, NULL);
	assert_true(x != NONE && y != NONE);
	assert_null(zpa_page_memcg(m, x));
	assert_null(zpa_page_memcg(m, y));
	assert_int_equal(st(p).usage, 8);

	/* A child's own max: a may hold at most 7 once the parent frees room. */
	assert_int_equal(zpa_memcg_set_limit(a, ZPA_MEMCG_LIMIT_MAX, 7), 0);
	assert_int_equal(zpa__free_pages(m, tb, pb, 1), 0);
	assert_int_equal(st(b).usage, 0);
	assert_int_equal(st(p).usage, 6);
	assert_true((pa[6] = zpa__alloc_pages(m, ta, ACCT, 0, -1, NULL)) != NONE);
	assert_true(zpa__alloc_pages(m, ta, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(st(a).failcnt, PASSES);
	assert_int_equal(st(p).failcnt, 2 * PASSES);
	/* memory.events counts a's events on p too; memory.events.local does not */
	assert_int_equal(st(a).events_max, PASSES);
	assert_int_equal(st(p).events_max, 3 * PASSES);
	assert_int_equal(st(p).events_local_max, 2 * PASSES);
	assert_int_equal(st(p).events_oom, 3);
	assert_int_equal(st(p).events_local_oom, 2);
	/* b still fits under the parent. */
	assert_true((pb = zpa__alloc_pages(m, tb, ACCT, 0, -1, NULL)) != NONE);
	assert_int_equal(st(p).usage, 8);
	assert_int_equal(st(p).peak, 8);

	for (int i = 0; i < 7; i++)
		assert_int_equal(zpa__free_pages(m, ta, pa[i], 0), 0);
	assert_int_equal(zpa__free_pages(m, tb, pb, 0), 0);
	assert_int_equal(zpa__free_pages(m, ta, x, 0), 0);
	assert_int_equal(zpa__free_pages(m, tr, y, 0), 0);
	assert_int_equal(st(p).usage, 0);
	assert_int_equal(st(a).usage, 0);
	assert_int_equal(st(p).peak, 8);
	zt_assert_clean(m);
	zpa_task_destroy(ta);
	zpa_task_destroy(tb);
	zpa_task_destroy(tr);
	assert_int_equal(st(a).nr_tasks, 0);
	zpa_machine_destroy(m);
}

static void test_failed_charge_loses_nothing(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *g = group(m, NULL, "g");
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, g);
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 3), 0);
	uint64_t f0 = free_pages(m);
	/* order 2 (4 pages) > 3: refused after the page was taken, so it is freed */
	for (unsigned order = 2; order < 5; order++) {
		assert_true(zpa__alloc_pages(m, t, ACCT | ZPA___GFP_COMP, order, -1, NULL) == NONE);
		assert_true(zpa__alloc_pages(m, t, ACCT, order, -1, NULL) == NONE);
	}
	assert_int_equal(free_pages(m), f0);
	assert_int_equal(st(g).usage, 0);
	assert_int_equal(st(g).failcnt, 6 * PASSES);
	assert_int_equal(st(g).events_oom, 4); /* order 4 is costly: no OOM */
	zt_assert_clean(m);
	/* __GFP_NOFAIL forces the charge through (Linux's force path). */
	zpa_pfn_t q = zpa__alloc_pages(m, t, ACCT, 1, -1, NULL);
	assert_true(q != NONE);
	assert_true(zpa__alloc_pages(m, t, ACCT, 1, -1, NULL) == NONE);
	zpa_pfn_t p = zpa__alloc_pages(m, t, ACCT | ZPA___GFP_NOFAIL, 1, -1, NULL);
	assert_true(p != NONE);
	assert_int_equal(st(g).usage, 4);
	assert_int_equal(st(g).peak, 4);
	assert_int_equal(zpa__free_pages(m, t, p, 1), 0);
	assert_int_equal(zpa__free_pages(m, t, q, 1), 0);
	assert_int_equal(st(g).usage, 0);
	assert_int_equal(free_pages(m), f0);
	zt_assert_clean(m);
	zpa_task_destroy(t);
	zpa_machine_destroy(m);
}

/* The calling thread's fast paths: charged pages neither skip the charge nor the uncharge. */
static void test_fast_paths(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	enum { N = 64 };
	zpa_pfn_t p[N];
	/* Warm the thread's fast path with the accounted GFP word before any group exists. */
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < N; i++)
			assert_true((p[i] = zpa_alloc_pages(m, ACCT, 0)) != NONE);
		for (int i = 0; i < N; i++)
			assert_int_equal(zpa_free_pages(m, p[i], 0), 0);
	}
	uint64_t f0 = free_pages(m);
	struct zpa_memcg *g = group(m, NULL, "fast");
	zpa_task_set_memcg(NULL, g);
	assert_int_equal(st(g).nr_tasks, 1);
	for (int i = 0; i < N; i++)
		assert_true((p[i] = zpa_alloc_pages(m, ACCT, 0)) != NONE);
	assert_int_equal(st(g).usage, N);
	/* the single-page fast free */
	for (int i = 0; i < N / 2; i++)
		assert_int_equal(zpa_free_pages(m, p[i], 0), 0);
	assert_int_equal(st(g).usage, N / 2);
	/* bulk free */
	assert_int_equal(zpa_free_pages_bulk(m, p + N / 2, N / 2), 0);
	assert_int_equal(st(g).usage, 0);
	for (int i = 0; i < N; i++)
		p[i] = NONE;
	/* bulk allocation with __GFP_ACCOUNT: one page per call (as Linux), each charged */
	unsigned long have = 0;
	for (int calls = 1; calls <= N; calls++) {
		unsigned long now = zpa_alloc_pages_bulk_array(m, NULL, ACCT, -1, NULL, N, p);
		assert_int_equal(now, have + 1);
		have = now;
	}
	assert_int_equal(st(g).usage, N);
	assert_int_equal(zpa_free_pages_bulk(m, p, N), 0);
	assert_int_equal(st(g).usage, 0);
	/* without __GFP_ACCOUNT nothing is charged */
	for (int i = 0; i < N; i++)
		assert_true((p[i] = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0)) != NONE);
	assert_int_equal(st(g).usage, 0);
	assert_int_equal(zpa_free_pages_bulk(m, p, N), 0);
	/* a max makes the fast path fail too */
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 5), 0);
	int got = 0;
	for (int i = 0; i < N; i++)
		if ((p[got] = zpa_alloc_pages(m, ACCT, 0)) != NONE)
			got++;
	assert_int_equal(got, 5);
	assert_int_equal(zpa_free_pages_bulk(m, p, (unsigned long)got), 0);
	assert_int_equal(st(g).usage, 0);
	zpa_task_set_memcg(NULL, NULL);
	assert_int_equal(st(g).nr_tasks, 0);
	assert_int_equal(free_pages(m), f0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_explicit_charge(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *g = group(m, NULL, "owner");
	zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 3);
	zpa_pfn_t c = zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_COMP, 2);
	assert_true(p != NONE && c != NONE);
	assert_int_equal(zpa_memcg_charge_page(m, g, p, 2, 0), ZPA_EORDER);
	assert_int_equal(zpa_memcg_charge_page(m, g, c + 1, 0, 0), ZPA_EBADPAGE); /* a tail */
	assert_int_equal(zpa_memcg_charge_page(m, g, p, 3, 0), 0);
	assert_ptr_equal(zpa_page_memcg(m, p), g);
	assert_int_equal(zpa_memcg_charge_page(m, g, p, 3, 0), ZPA_EBADPAGE);     /* charged twice */
	assert_int_equal(zpa_memcg_charge_page(m, g, c, 2, 0), 0);
	assert_int_equal(st(g).usage, 12);
	assert_int_equal(st(g).local, 12);
	/* explicit uncharge, then a double uncharge */
	assert_int_equal(zpa_memcg_uncharge_page(m, c), 0);
	assert_null(zpa_page_memcg(m, c));
	assert_int_equal(zpa_memcg_uncharge_page(m, c), ZPA_EINVAL);
	assert_int_equal(st(g).usage, 8);
	/* freeing uncharges; an uncharge after the free finds nothing */
	assert_int_equal(zpa_free_pages(m, p, 3), 0);
	assert_int_equal(st(g).usage, 0);
	assert_int_equal(zpa_memcg_uncharge_page(m, p), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_charge_page(m, g, p, 3, 0), ZPA_EBADPAGE);    /* free now */
	/* the max applies to explicit charges as well */
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 3), 0);
	assert_int_equal(zpa_memcg_charge_page(m, g, c, 2, ZPA_GFP_KERNEL), ZPA_ENOMEM);
	assert_null(zpa_page_memcg(m, c));
	assert_int_equal(zpa_memcg_charge_page(m, g, c, 2, ZPA___GFP_NOFAIL), 0);
	assert_int_equal(st(g).usage, 4);
	assert_int_equal(zpa_free_pages(m, c, 2), 0);
	assert_int_equal(st(g).usage, 0);

	/* A block shared by a second reference: the charge goes with the first page. */
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, ZPA_MEMCG_MAX), 0);
	p = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 2);
	assert_int_equal(zpa_memcg_charge_page(m, g, p, 2, 0), 0);
	assert_int_equal(zpa_get_page(m, p), 0);
	assert_int_equal(zpa_free_pages(m, p, 2), 0); /* frees pages 1..3, keeps page 0 */
	assert_int_equal(st(g).usage, 4);
	assert_int_equal(zpa_free_pages(m, p, 0), 0);
	assert_int_equal(st(g).usage, 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_statistics(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *p = group(m, NULL, "p"), *c = group(m, p, "c");
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, c);
	assert_string_equal(zpa_memcg_name(c), "c");
	struct zpa_memcg_stat s = st(c);
	assert_true(s.max == ZPA_MEMCG_MAX && s.high == ZPA_MEMCG_MAX && s.low == 0);
	assert_int_equal(st(p).nr_children, 1);
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_HIGH, 4), 0);
	assert_int_equal(zpa_memcg_set_limit(c, ZPA_MEMCG_LIMIT_HIGH, 5), 0);
	assert_int_equal(zpa_memcg_set_limit(c, ZPA_MEMCG_LIMIT_LOW, 2), 0);
	zpa_pfn_t pg[7];
	for (int i = 0; i < 7; i++)
		assert_true((pg[i] = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL)) != NONE);
	/*
	 * above high: charges succeed, each counts an event on every group it
	 * leaves above its high (reclaim finds nothing to take back here);
	 * memory.events adds the child's events to the parent's.
	 */
	assert_int_equal(st(p).events_local_high, 3); /* charges 5, 6, 7 */
	assert_int_equal(st(c).events_high, 2);       /* charges 6, 7 */
	assert_int_equal(st(c).events_local_high, 2);
	assert_int_equal(st(p).events_high, 5);
	assert_int_equal(st(c).events_max, 0);
	assert_int_equal(st(c).low, 2);
	assert_int_equal(st(c).events_low, 0);  /* no reclaim yet */
	for (int i = 0; i < 4; i++)
		assert_int_equal(zpa__free_pages(m, t, pg[i], 0), 0);
	s = st(c);
	assert_int_equal(s.usage, 3);
	assert_int_equal(s.peak, 7);
	/* a max below usage is accepted; it counts an oom event and blocks charges */
	assert_int_equal(zpa_memcg_set_limit(c, ZPA_MEMCG_LIMIT_MAX, 1), 0);
	s = st(c);
	assert_int_equal(s.max, 1);
	assert_int_equal(s.events_oom, 1);
	assert_int_equal(s.usage, 3);
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(st(c).events_oom, 2);
	for (int i = 4; i < 7; i++)
		assert_int_equal(zpa__free_pages(m, t, pg[i], 0), 0);
	assert_true((pg[0] = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL)) != NONE);
	assert_int_equal(zpa__free_pages(m, t, pg[0], 0), 0);
	assert_int_equal(zpa_memcg_set_limit(c, (enum zpa_memcg_limit)7, 1), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_set_limit(NULL, ZPA_MEMCG_LIMIT_MAX, 1), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_stat(NULL, &s), ZPA_EINVAL);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static void test_bad_input_and_destroy(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(), *m2 = machine();
	struct zpa_memcg *p = group(m, NULL, NULL), *c = group(m, p, "c"), *other = group(m2, NULL, "other"), *g;
	assert_string_equal(zpa_memcg_name(p), "");
	assert_int_equal(zpa_memcg_create(m, other, "x", &g), ZPA_EINVAL); /* parent of another machine */
	assert_int_equal(zpa_memcg_create(NULL, NULL, "x", &g), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_destroy(NULL), ZPA_EINVAL);
	zpa_pfn_t pfn = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(zpa_memcg_charge_page(m, other, pfn, 0, 0), ZPA_EINVAL); /* unknown group here */
	assert_int_equal(zpa_memcg_charge_page(m, NULL, pfn, 0, 0), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_charge_page(m, c, 1ull << 40, 0, 0), ZPA_EBADPFN);
	assert_int_equal(zpa_memcg_uncharge_page(m, 1ull << 40), ZPA_EBADPFN);
	assert_int_equal(zpa_memcg_uncharge_page(m, pfn), ZPA_EINVAL); /* never charged */
	/* busy: children, then charges, then tasks */
	assert_int_equal(zpa_memcg_destroy(p), ZPA_EBUSY);
	assert_int_equal(zpa_memcg_charge_page(m, c, pfn, 0, 0), 0);
	assert_int_equal(zpa_memcg_destroy(c), ZPA_EBUSY);
	assert_int_equal(zpa_free_pages(m, pfn, 0), 0);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, c);
	assert_int_equal(zpa_memcg_destroy(c), ZPA_EBUSY);
	zpa_task_set_memcg(t, NULL);
	assert_int_equal(zpa_memcg_destroy(c), 0);
	assert_int_equal(st(p).nr_children, 0);
	assert_int_equal(zpa_memcg_destroy(p), 0);
	/* A task in a group of another machine is not charged here. */
	zpa_task_set_memcg(t, other);
	pfn = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL);
	assert_true(pfn != NONE);
	assert_null(zpa_page_memcg(m, pfn));
	assert_int_equal(st(other).usage, 0);
	assert_int_equal(zpa__free_pages(m, t, pfn, 0), 0);
	zpa_task_destroy(t);
	/* groups left at teardown are freed with the machine (ASan would tell) */
	group(m, NULL, "left");
	zt_assert_clean(m);
	zt_assert_clean(m2);
	zpa_machine_destroy(m);
	zpa_machine_destroy(m2);
}

/* Many threads in sibling groups under one capped parent. */
struct worker {
	struct zpa_machine *m;
	struct zpa_memcg *g;
	unsigned long fails;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	zpa_pfn_t held[32];
	zpa_task_set_memcg(NULL, w->g);
	for (int r = 0; r < 300; r++) {
		int n = 0;
		for (int i = 0; i < 32; i++) {
			zpa_pfn_t p = zpa_alloc_pages(w->m, ACCT, (unsigned)(i & 1));
			if (p == NONE)
				w->fails++;
			else
				held[n++] = p | ((zpa_pfn_t)(i & 1) << 60);
		}
		for (int i = 0; i < n; i++)
			zpa_free_pages(w->m, held[i] & ((1ull << 60) - 1), (unsigned)(held[i] >> 60));
	}
	zpa_task_set_memcg(NULL, NULL);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *p = group(m, NULL, "p");
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_MAX, 100), 0);
	enum { T = 4 };
	pthread_t th[T];
	struct worker w[T];
	for (int i = 0; i < T; i++) {
		w[i] = (struct worker){ m, group(m, p, "w"), 0 };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	unsigned long fails = 0;
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].fails;
		assert_int_equal(st(w[i].g).usage, 0);
	}
	struct zpa_memcg_stat s = st(p);
	assert_int_equal(s.usage, 0);
	assert_true(s.peak <= 100);
	assert_true(s.failcnt >= fails * PASSES); /* more when a retry found room again */
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hierarchy_limits),
		cmocka_unit_test(test_failed_charge_loses_nothing),
		cmocka_unit_test(test_fast_paths),
		cmocka_unit_test(test_explicit_charge),
		cmocka_unit_test(test_statistics),
		cmocka_unit_test(test_bad_input_and_destroy),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
