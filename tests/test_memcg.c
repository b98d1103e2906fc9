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
#include "internal.h" /* memcg_count_reclaim(), the protection helpers, the daemon mode */

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

/* ---- reclaim, OOM and statistics on the charge path ---- */

/* A registered OOM candidate whose kill() frees its charged pages and exits. */
struct victim {
	struct zpa_machine *m;
	struct zpa_task *t;
	zpa_pfn_t pages[32];
	int n, kills;
	bool exit_on_kill;
};

static void v_footprint(void *arg, struct zpa_oom_footprint *out)
{
	struct victim *v = arg;
	out->rss_anon = (uint64_t)v->n;
}

static void v_kill(void *arg)
{
	struct victim *v = arg;
	v->kills++;
	if (!v->exit_on_kill)
		return;
	for (int i = 0; i < v->n; i++)
		assert_int_equal(zpa__free_pages(v->m, v->t, v->pages[i], 0), 0);
	v->n = 0;
	assert_int_equal(zpa_oom_task_remove(v->m, v->t), 0);
}

static const struct zpa_oom_task_ops victim_ops = { v_footprint, v_kill, NULL };

static void victim_start(struct zpa_machine *m, struct victim *v, struct zpa_memcg *g, int pid, int pages)
{
	memset(v, 0, sizeof(*v));
	v->m = m;
	v->t = zpa_task_create();
	v->exit_on_kill = true;
	zpa_task_set_memcg(v->t, g);
	for (int i = 0; i < pages; i++)
		assert_true((v->pages[v->n++] = zpa__alloc_pages(m, v->t, ACCT, 0, -1, NULL)) != NONE);
	struct zpa_oom_task_info info = { pid, "victim", 0, &victim_ops, v };
	assert_int_equal(zpa_oom_task_add(m, v->t, &info), 0);
}

static void victim_end(struct victim *v)
{
	for (int i = 0; i < v->n; i++)
		assert_int_equal(zpa__free_pages(v->m, v->t, v->pages[i], 0), 0);
	v->n = 0;
	oom_task_exit(v->t); /* zpa_task_destroy() will (lead's hook) */
	zpa_task_destroy(v->t);
}

static uint64_t oom_kills(struct zpa_machine *m)
{
	bool ok;
	return zpa_vmstat(m, "oom_kill", &ok);
}

/* A charge at the max with a candidate in the group: the candidate is killed, its pages go, the charge succeeds. */
static void test_charge_oom_kill(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_memcg *g = group(m, NULL, "g");
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 8), 0);
	struct victim v;
	victim_start(m, &v, g, 300, 8);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, g);
	zpa_pfn_t p = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL);
	assert_true(p != NONE);
	assert_int_equal(v.kills, 1);
	assert_int_equal(v.n, 0);
	assert_ptr_equal(zpa_page_memcg(m, p), g);
	struct zpa_memcg_stat s = st(g);
	assert_int_equal(s.usage, 1);
	assert_int_equal(s.events_max, PASSES);
	assert_int_equal(s.failcnt, PASSES);
	assert_int_equal(s.events_oom, 1);
	assert_int_equal(s.events_oom_kill, 1);
	assert_int_equal(oom_kills(m), 1);
	assert_true(log.count > 0);
	/* nobody left to kill: the next charge at the max fails */
	for (int i = 0; i < 7; i++)
		assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) != NONE);
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(st(g).events_oom, 2);
	assert_int_equal(oom_kills(m), 1);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	assert_int_equal(st(g).usage, 7);
	zpa_task_destroy(v.t);
	zpa_task_destroy(t); /* leaves 7 pages charged: freed with the machine */
	zpa_machine_destroy(m);
}

/* Which requests may reclaim, OOM, or force (Linux 6.1's try_charge_memcg()). */
static void test_charge_rules(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_memcg *g = group(m, NULL, "g");
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 4), 0);
	struct victim v;
	victim_start(m, &v, g, 300, 4);
	v.exit_on_kill = false;
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, g);
	struct zpa_memcg_stat s0 = st(g), s;
#define DELTA(field) (s.field - s0.field)
#define STEP() (s0 = s, s = st(g))
	/* no direct reclaim: fails at once, no max event */
	assert_true(zpa__alloc_pages(m, t, ZPA_GFP_NOWAIT | ZPA___GFP_ACCOUNT, 0, -1, NULL) == NONE);
	s = st(g);
	assert_int_equal(DELTA(failcnt), 1);
	assert_int_equal(DELTA(events_max), 0);
	/* __GFP_NORETRY: one reclaim pass, plus the stock-drain retry */
	assert_true(zpa__alloc_pages(m, t, ACCT | ZPA___GFP_NORETRY, 0, -1, NULL) == NONE);
	STEP();
	assert_int_equal(DELTA(failcnt), 2);
	assert_int_equal(DELTA(events_max), 2);
	assert_int_equal(DELTA(events_oom), 0);
	/* __GFP_RETRY_MAYFAIL: every retry, never the OOM killer */
	assert_true(zpa__alloc_pages(m, t, ACCT | ZPA___GFP_RETRY_MAYFAIL, 0, -1, NULL) == NONE);
	STEP();
	assert_int_equal(DELTA(events_max), PASSES);
	assert_int_equal(DELTA(events_oom), 0);
	/* a costly order: every retry, never the OOM killer */
	assert_true(zpa__alloc_pages(m, t, ACCT, 4, -1, NULL) == NONE);
	STEP();
	assert_int_equal(DELTA(events_max), PASSES);
	assert_int_equal(DELTA(events_oom), 0);
	assert_int_equal(v.kills, 0);
	/*
	 * Order 3 is not costly: the OOM killer runs and kills v.  v keeps its
	 * pages (no exit on kill) and is reaped at once (INLINE mode); the
	 * kill restarts the retries, and the second OOM finds nobody.
	 */
	assert_true(zpa__alloc_pages(m, t, ACCT, 3, -1, NULL) == NONE);
	STEP();
	assert_int_equal(DELTA(events_oom), 2);
	assert_int_equal(DELTA(events_max), 2 * PASSES - 1); /* no second drain pass */
	assert_int_equal(v.kills, 1);
	/* the next OOM finds nobody else either */
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	STEP();
	assert_int_equal(DELTA(events_oom), 1);
	assert_int_equal(v.kills, 1);
	/* GFP_ATOMIC (__GFP_HIGH) goes over the max: one max event, no reclaim */
	zpa_pfn_t a = zpa__alloc_pages(m, t, ZPA_GFP_ATOMIC | ZPA___GFP_ACCOUNT, 0, -1, NULL);
	assert_true(a != NONE);
	STEP();
	assert_int_equal(s.usage, 5);
	assert_int_equal(DELTA(failcnt), 1);
	assert_int_equal(DELTA(events_max), 1);
	/* __GFP_NOFAIL forces too (explicit charge, no reclaim flag) */
	zpa_pfn_t b = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(zpa_memcg_charge_page(m, g, b, 0, ZPA___GFP_NOFAIL), 0);
	STEP();
	assert_int_equal(s.usage, 6);
	assert_int_equal(DELTA(events_max), 1);
	/* a PF_MEMALLOC task (reclaim's own allocations) forces without reclaim or OOM */
	zpa_pfn_t c = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	unsigned saved = zpa_task_flags_save(zpa_task_current(), ZPA_PF_MEMALLOC);
	assert_int_equal(zpa_memcg_charge_page(m, g, c, 0, ZPA_GFP_KERNEL), 0);
	zpa_task_flags_restore(zpa_task_current(), saved, ZPA_PF_MEMALLOC);
	STEP();
	assert_int_equal(s.usage, 7);
	assert_int_equal(DELTA(failcnt), 1);
	assert_int_equal(DELTA(events_max), 1);
	assert_int_equal(DELTA(events_oom), 0);
	assert_int_equal(zpa_free_pages(m, a, 0), 0);
	assert_int_equal(zpa_free_pages(m, b, 0), 0);
	assert_int_equal(zpa_free_pages(m, c, 0), 0);
#undef STEP
#undef DELTA
	victim_end(&v);
	zpa_task_destroy(t);
	assert_int_equal(st(g).usage, 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* MANUAL daemon mode: a victim not yet reaped holds up further kills; a victim's own charge gets no OOM. */
static void test_charge_oom_waits_for_victim(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	m->daemon_mode = ZPA_DAEMON_MANUAL;
	struct zpa_memcg *g = group(m, NULL, "g");
	assert_int_equal(zpa_memcg_set_limit(g, ZPA_MEMCG_LIMIT_MAX, 6), 0);
	struct victim a, b;
	victim_start(m, &a, g, 301, 2);
	victim_start(m, &b, g, 302, 4);
	a.exit_on_kill = b.exit_on_kill = false; /* they exit when the test says */
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, g);
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(b.kills, 1);
	assert_int_equal(a.kills, 0);
	/* two OOM rounds for that charge: the kill, then b still exiting (no second kill) */
	assert_int_equal(st(g).events_oom, 2);
	/* again: b blocks the scan, nothing new is killed */
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(a.kills, 0);
	assert_int_equal(oom_kills(m), 1);
	/* b's own charge: it is dying, so no OOM on its behalf after the first round */
	uint64_t oom0 = st(g).events_oom;
	assert_true(zpa__alloc_pages(m, b.t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(st(g).events_oom, oom0 + 1);
	assert_int_equal(a.kills, 0);
	/* reaped: b no longer blocks, a goes next */
	assert_int_equal(zpa_oom_reap(m), 0);
	assert_true(zpa__alloc_pages(m, t, ACCT, 0, -1, NULL) == NONE);
	assert_int_equal(a.kills, 1);
	assert_int_equal(oom_kills(m), 2);
	/* b exits: its pages go, and t's charge fits */
	victim_end(&b);
	zpa_pfn_t p = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL);
	assert_true(p != NONE);
	assert_int_equal(zpa__free_pages(m, t, p, 0), 0);
	victim_end(&a);
	zpa_task_destroy(t);
	assert_int_equal(st(g).usage, 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* memory.high: events on every group left above its high, hierarchical; a high below usage never OOMs. */
static void test_high(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *p = group(m, NULL, "p"), *c = group(m, p, "c");
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, c);
	assert_int_equal(zpa_memcg_set_limit(c, ZPA_MEMCG_LIMIT_HIGH, 2), 0);
	zpa_pfn_t pg[4];
	for (int i = 0; i < 4; i++)
		assert_true((pg[i] = zpa__alloc_pages(m, t, i == 3 ? ZPA_GFP_NOWAIT | ZPA___GFP_ACCOUNT : ACCT, 0, -1,
						      NULL)) != NONE);
	/* charges 3 and 4 (reclaim or not): reclaim finds nothing here, usage stays */
	assert_int_equal(st(c).events_high, 2);
	assert_int_equal(st(c).events_local_high, 2);
	assert_int_equal(st(p).events_high, 2);
	assert_int_equal(st(p).events_local_high, 0);
	assert_int_equal(st(c).usage, 4);
	/* a high below usage: reclaim is asked, no OOM, nothing fails */
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_HIGH, 1), 0);
	assert_int_equal(st(p).events_oom, 0);
	assert_int_equal(st(p).high, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(zpa__free_pages(m, t, pg[i], 0), 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

static int owner_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)pfn; (void)order; (void)ctx;
	return ZPA_EVICT_KEEP;
}

static const struct zpa_page_owner_ops owner_ops = { .name = "test", .evict = owner_evict };

/* memory.stat sizes from the LRU the owner keeps each charged page on, reclaim counts, and zpa_memcg_show. */
static void test_stat_and_show(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	int owner = zpa_page_owner_register(m, &owner_ops, NULL);
	assert_true(owner > 0);
	struct zpa_memcg *p = group(m, NULL, "p"), *c = group(m, p, "c");
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_memcg(t, c);
	zpa_pfn_t anon = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL);
	zpa_pfn_t file = zpa__alloc_pages(m, t, ACCT | ZPA___GFP_COMP, 1, -1, NULL);
	zpa_pfn_t kern = zpa__alloc_pages(m, t, ACCT, 0, -1, NULL);
	assert_true(anon != NONE && file != NONE && kern != NONE);
	assert_int_equal(zpa_lru_add(m, anon, owner, ZPA_LRU_ANON), 0);
	assert_int_equal(zpa_lru_add(m, file, owner, ZPA_LRU_ACTIVE), 0);
	memcg_count_reclaim(m, c, 10, 4);
	memcg_count_reclaim(m, p, 1, 1);
	memcg_count_reclaim(m, NULL, 1, 1);
	struct zpa_memcg_stat s = st(p);
	assert_int_equal(s.anon, 1);
	assert_int_equal(s.file, 2);
	assert_int_equal(s.kernel, 1);
	assert_int_equal(s.inactive_anon, 1);
	assert_int_equal(s.active_file, 2);
	assert_int_equal(s.active_anon + s.inactive_file, 0);
	assert_int_equal(s.pgscan, 11);
	assert_int_equal(s.pgsteal, 5);
	assert_int_equal(st(c).pgscan, 10);
	assert_int_equal(st(c).anon + st(c).file + st(c).kernel, st(c).usage);
	/* some events for memory.events */
	assert_int_equal(zpa_memcg_set_limit(c, ZPA_MEMCG_LIMIT_MAX, 4), 0);
	assert_true(zpa__alloc_pages(m, t, ZPA_GFP_KERNEL_ACCOUNT | ZPA___GFP_NORETRY, 0, -1, NULL) == NONE);
	memcg_memory_event(c, MEMCG_LOW);
	char buf[512];
	const char *want =
		"low 1\nhigh 0\nmax 2\noom 0\noom_kill 0\noom_group_kill 0\n"
		"anon 4096\nfile 8192\nkernel 4096\n"
		"inactive_anon 4096\nactive_anon 0\ninactive_file 0\nactive_file 8192\n"
		"pgscan 10\npgsteal 4\n";
	long n = zpa_memcg_show(c, buf, sizeof buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, (long)strlen(want));
	/* the parent's memory.events include the child's */
	assert_true(zpa_memcg_show(p, buf, sizeof buf) > 0);
	assert_true(strncmp(buf, "low 1\nhigh 0\nmax 2\n", 19) == 0);
	assert_true(strstr(buf, "pgscan 11\npgsteal 5\n") != NULL);
	/* truncation and sizing, as snprintf */
	assert_int_equal(zpa_memcg_show(c, NULL, 0), n);
	assert_int_equal(zpa_memcg_show(c, buf, 8), n);
	assert_string_equal(buf, "low 1\nh");
	assert_int_equal(zpa_memcg_show(NULL, buf, sizeof buf), ZPA_EINVAL);
	assert_int_equal(zpa_memcg_show(c, NULL, 8), ZPA_EINVAL);
	assert_int_equal(zpa_free_pages(m, anon, 0), 0);
	assert_int_equal(zpa_free_pages(m, file, 1), 0);
	assert_int_equal(zpa_free_pages(m, kern, 0), 0);
	s = st(p);
	assert_int_equal(s.anon + s.file + s.kernel + s.usage, 0);
	zpa_task_destroy(t);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Charge n fresh pages to g explicitly; they go back to the caller in pfns. */
static void charge_n(struct zpa_machine *m, struct zpa_memcg *g, int n, zpa_pfn_t *pfns)
{
	for (int i = 0; i < n; i++) {
		pfns[i] = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
		assert_int_equal(zpa_memcg_charge_page(m, g, pfns[i], 0, 0), 0);
	}
}

/* memory.low's effective protection, as Linux 6.1 distributes it. */
static void test_protection(void **state)
{
	(void)state;
	struct zpa_machine *m = machine();
	struct zpa_memcg *p = group(m, NULL, "p"), *c1 = group(m, p, "c1"), *c2 = group(m, p, "c2");
	zpa_pfn_t a[30], b[30];
	charge_n(m, c1, 30, a);
	charge_n(m, c2, 30, b);
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_LOW, 50), 0);
	assert_int_equal(zpa_memcg_set_limit(c1, ZPA_MEMCG_LIMIT_LOW, 40), 0);
	assert_int_equal(zpa_memcg_set_limit(c2, ZPA_MEMCG_LIMIT_LOW, 40), 0);
	/* global reclaim: p, a child of the root, gets its low as set */
	assert_int_equal(mem_cgroup_protection(NULL, p), 50);
	assert_false(mem_cgroup_below_low(NULL, p)); /* 50 < 60 */
	/* the children claim 30 + 30 > 50: each gets 30 * 50 / 60 */
	assert_int_equal(mem_cgroup_protection(NULL, c1), 25);
	assert_false(mem_cgroup_below_low(NULL, c1));
	/* c2 claims nothing: c1 keeps its full claim, min(usage, low) */
	assert_int_equal(zpa_memcg_set_limit(c2, ZPA_MEMCG_LIMIT_LOW, 0), 0);
	assert_int_equal(mem_cgroup_protection(NULL, c1), 30);
	assert_true(mem_cgroup_below_low(NULL, c1));
	assert_false(mem_cgroup_below_low(NULL, c2));
	/* reclaim of p's subtree: p itself has none, its children their low as set */
	assert_int_equal(mem_cgroup_protection(p, p), 0);
	assert_int_equal(mem_cgroup_protection(p, c1), 40);
	assert_true(mem_cgroup_below_low(p, c1));
	/* outside the reclaim root: none */
	assert_int_equal(mem_cgroup_protection(c2, c1), 0);
	assert_false(mem_cgroup_below_low(c2, c1));
	for (int i = 0; i < 30; i++) {
		assert_int_equal(zpa_free_pages(m, a[i], 0), 0);
		assert_int_equal(zpa_free_pages(m, b[i], 0), 0);
	}
	/* nothing charged, nothing protected */
	assert_int_equal(mem_cgroup_protection(NULL, c1), 0);
	assert_false(mem_cgroup_below_low(NULL, c1));
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
		cmocka_unit_test(test_charge_oom_kill),
		cmocka_unit_test(test_charge_rules),
		cmocka_unit_test(test_charge_oom_waits_for_victim),
		cmocka_unit_test(test_high),
		cmocka_unit_test(test_stat_and_show),
		cmocka_unit_test(test_protection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
