/*
 * test_kswapd.c - kswapd (src/kswapd.c): pgdat_balanced() against watermarks
 * read back from the zone, wakeups and what they record, the boost given
 * back at the end of balance_pgdat(), kswapd_failures and the hopeless node,
 * the sleep logic and its counters (pageoutrun, kswapd_low/high_wmark_hit_
 * quickly, zpa_kswapd_wake) stepped through MANUAL mode's simulated clock,
 * INLINE mode's recursion guard, the modes and their switches, THREAD mode's
 * threads (started, woken, stopped, destroyed while waiting), and the clock.
 *
 * In this tree shrink_node() may reclaim nothing, so every test here but one
 * plays reclaim itself: it frees its own pages where kswapd would have, and
 * checks decisions, not reclaimed counts.  The one that needs real LRU
 * reclaim (free pages back above the high watermark after a step) is built
 * with ZPA_TEST_NEEDS_RECLAIM.
 *
 * Machines: one node of Normal memory, no per-CPU lists, exact counters, so
 * the free count is what zpa_zone_info() says.  Movable order-0 requests
 * neither steal pageblocks nor boost; without __GFP_KSWAPD_RECLAIM they go
 * down to the min watermark without waking anybody, and with it a request
 * at or below the low watermark wakes kswapd once (the slow path's
 * wake_all_kswapds()).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/zt.h"
#include "internal.h"

#define MOVABLE        ZPA_GFP_HIGHUSER_MOVABLE
#define MOVABLE_NOWAKE (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_KSWAPD_RECLAIM)

static struct zpa_machine *machine_log(unsigned mib, struct zt_log *log)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	if (log) {
		cfg.log = zt_log_fn;
		cfg.log_arg = log;
	}
	zpa_config_add_range(&cfg, 4ull << 30, (4ull << 30) + ((uint64_t)mib << 20), ZPA_RANGE_USABLE, 0);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.nr_cpus = 1;
	cfg.no_pcp = true;
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_machine *machine(unsigned mib)
{
	return machine_log(mib, NULL);
}

static struct zpa_zone_info zinfo(struct zpa_machine *m)
{
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	return zi;
}

static struct zone *normal_zone(struct zpa_machine *m)
{
	return &m->nodes[0]->node_zones[m->zone_idx_of[ZPA_ZONE_NORMAL]];
}

static uint64_t ev(struct zpa_machine *m, const char *name)
{
	bool ok;
	uint64_t v = zpa_vmstat(m, name, &ok);
	assert_true(ok);
	return v;
}

/* Counters a test checks, as deltas from a snapshot. */
struct counts {
	uint64_t wake, pageoutrun, low_quick, high_quick, warn;
};

static struct counts counts(struct zpa_machine *m)
{
	struct counts c = {
		.wake = ev(m, "zpa_kswapd_wake"),
		.pageoutrun = ev(m, "pageoutrun"),
		.low_quick = ev(m, "kswapd_low_wmark_hit_quickly"),
		.high_quick = ev(m, "kswapd_high_wmark_hit_quickly"),
		.warn = ev(m, "zpa_warn"),
	};
	return c;
}

static void assert_counts(struct zpa_machine *m, const struct counts *base, uint64_t wake, uint64_t pageoutrun,
			  uint64_t low_quick, uint64_t high_quick)
{
	struct counts c = counts(m);
	assert_int_equal(c.wake - base->wake, wake);
	assert_int_equal(c.pageoutrun - base->pageoutrun, pageoutrun);
	assert_int_equal(c.low_quick - base->low_quick, low_quick);
	assert_int_equal(c.high_quick - base->high_quick, high_quick);
}

static int failures(struct zpa_machine *m)
{
	return READ_ONCE(m->nodes[0]->kswapd_failures);
}

/* ---- a pool of order-0 pages the test holds ---- */

struct pool {
	zpa_pfn_t *pfn;
	size_t n, cap;
};

static void pool_add(struct pool *p, zpa_pfn_t pfn)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->pfn = realloc(p->pfn, p->cap * sizeof *p->pfn);
		assert_non_null(p->pfn);
	}
	p->pfn[p->n++] = pfn;
}

static void pool_alloc(struct zpa_machine *m, struct pool *p, zpa_gfp_t gfp)
{
	zpa_pfn_t pfn = zpa_alloc_pages(m, gfp, 0);
	assert_true(pfn != ZPA_PFN_NONE);
	pool_add(p, pfn);
}

/* Allocate without waking kswapd until the zone has exactly `free` free pages. */
static void pool_fill_to(struct zpa_machine *m, struct pool *p, uint64_t free)
{
	uint64_t now = zinfo(m).free;
	assert_true(now >= free);
	for (; now > free; now--)
		pool_alloc(m, p, MOVABLE_NOWAKE);
	assert_int_equal(zinfo(m).free, free);
}

/* Give pages back (what reclaim would have done) until `free` are free. */
static void pool_free_to(struct zpa_machine *m, struct pool *p, uint64_t free)
{
	while (zinfo(m).free < free) {
		assert_true(p->n > 0);
		assert_int_equal(zpa_free_pages(m, p->pfn[--p->n], 0), 0);
	}
}

static void pool_release(struct zpa_machine *m, struct pool *p)
{
	while (p->n)
		assert_int_equal(zpa_free_pages(m, p->pfn[--p->n], 0), 0);
	free(p->pfn);
	p->pfn = NULL;
	p->cap = 0;
}

/* One movable request at or below the low watermark: the slow path wakes kswapd. */
static void alloc_waking(struct zpa_machine *m, struct pool *p)
{
	assert_true(zinfo(m).free <= zinfo(m).low);
	pool_alloc(m, p, MOVABLE);
}

/* ---- pgdat_balanced ---- */

/*
 * Balanced means some eligible managed zone has free > high (+ boost) and,
 * for order > 0, a free block of at least that order (and 2^order - 1 more
 * free pages, which __zone_watermark_ok() discounts); a node whose zones up
 * to highest_zoneidx are all unmanaged is balanced by definition.
 */
static void test_pgdat_balanced(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	int hz = z->idx;
	struct pool p = { 0 };
	struct zpa_zone_info zi = zinfo(m);

	assert_true(zi.min < zi.low && zi.low < zi.high);
	assert_int_equal(zi.high, high_wmark_pages(z));
	pool_fill_to(m, &p, zi.high + 1);
	assert_true(pgdat_balanced(m, pgdat, 0, hz));
	pool_fill_to(m, &p, zi.high);
	assert_false(pgdat_balanced(m, pgdat, 0, hz));
	pool_free_to(m, &p, zi.high + 1);

	/* The boost counts: high + boost must be exceeded. */
	zpa_spin_lock(&z->lock);
	WRITE_ONCE(z->watermark_boost, 10);
	zpa_spin_unlock(&z->lock);
	assert_false(pgdat_balanced(m, pgdat, 0, hz));
	pool_free_to(m, &p, zi.high + 10);
	assert_false(pgdat_balanced(m, pgdat, 0, hz));
	pool_free_to(m, &p, zi.high + 11);
	assert_true(pgdat_balanced(m, pgdat, 0, hz));
	zpa_spin_lock(&z->lock);
	WRITE_ONCE(z->watermark_boost, 0);
	zpa_spin_unlock(&z->lock);

	/* Higher orders: enough free pages and a block of the order. */
	zi = zinfo(m);
	for (unsigned o = 1; o < m->max_order; o++) {
		bool block = false;
		for (unsigned k = o; k < m->max_order; k++)
			block |= zi.nr_free[k] != 0;
		/* __zone_watermark_ok() does not count the 2^o - 1 pages a block may lack. */
		bool enough = (int64_t)zi.free - ((1 << o) - 1) > (int64_t)zi.high;
		assert_int_equal(pgdat_balanced(m, pgdat, (int)o, hz), block && enough);
	}
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	/* Node 1 of the all-zones machine has no DMA/DMA32 memory: balanced for them. */
	struct zpa_machine_config cfg;
	zt_config_all_zones(&cfg, NULL);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	int dma32 = m->zone_idx_of[ZPA_ZONE_DMA32];
	assert_true(dma32 >= 0);
	assert_false(managed_zone(&m->nodes[1]->node_zones[dma32]));
	assert_true(pgdat_balanced(m, m->nodes[1], 0, dma32));
	assert_true(pgdat_balanced(m, m->nodes[1], (int)m->max_order - 1, dma32));
	zpa_machine_destroy(m);
}

/* ---- INLINE mode ---- */

/*
 * A boost on a balanced node wakes kswapd; boosted reclaim finds nothing,
 * the run counts a failure, and the boost (and its zone flag) are given
 * back.  Without a boost the same wakeup does not wake kswapd.
 */
static void test_inline_boost_given_back(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct zone *z = normal_zone(m);
	struct counts base = counts(m);

	assert_int_equal(zpa_daemon_mode(m), ZPA_DAEMON_INLINE);
	zpa_spin_lock(&z->lock);
	WRITE_ONCE(z->watermark_boost, 100);
	WRITE_ONCE(z->flags, z->flags | ZONE_BOOSTED_WATERMARK);
	zpa_spin_unlock(&z->lock);
	wakeup_kswapd(m, z, 0, 0, z->idx);
	assert_counts(m, &base, 1, 1, 0, 0);
	assert_int_equal(zinfo(m).boost, 0);
	assert_int_equal(z->flags & ZONE_BOOSTED_WATERMARK, 0);
	assert_int_equal(failures(m), 1);
	/* Back asleep; balanced and unboosted: kcompactd's business, not kswapd's. */
	wakeup_kswapd(m, z, 0, 0, z->idx);
	wakeup_kswapd(m, z, 0, 3, z->idx);
	assert_counts(m, &base, 1, 1, 0, 0);

	/* An unbalanced node ignores the boost while reclaiming, but gives it back too. */
	struct pool p = { 0 };
	pool_fill_to(m, &p, zinfo(m).low);
	zpa_spin_lock(&z->lock);
	WRITE_ONCE(z->watermark_boost, 50);
	zpa_spin_unlock(&z->lock);
	wakeup_kswapd(m, z, 0, 0, z->idx);
	assert_counts(m, &base, 2, 2, 0, 1);
	assert_int_equal(zinfo(m).boost, 0);
	assert_int_equal(failures(m), 2);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Nothing reclaimable: each wakeup runs balance_pgdat() once (pageoutrun)
 * and fails; the node stays unbalanced, so kswapd stays awake (high
 * watermark hit quickly) until the 16th failure makes it hopeless and it
 * sleeps.  Wakeups then leave it alone until the failures are reset (as
 * shrink_node() does on progress).
 */
static void test_inline_hopeless(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct pool p = { 0 };
	struct zpa_zone_info zi = zinfo(m);
	struct counts base = counts(m);

	assert_true(zi.low - zi.min > MAX_RECLAIM_RETRIES + 4);
	pool_fill_to(m, &p, zi.low);
	for (int i = 1; i <= MAX_RECLAIM_RETRIES; i++) {
		alloc_waking(m, &p);
		assert_int_equal(failures(m), i);
		assert_counts(m, &base, (uint64_t)i, (uint64_t)i, 0, (uint64_t)(i < MAX_RECLAIM_RETRIES ? i : i - 1));
	}
	/* Hopeless: recorded, not woken. */
	alloc_waking(m, &p);
	alloc_waking(m, &p);
	assert_counts(m, &base, MAX_RECLAIM_RETRIES, MAX_RECLAIM_RETRIES, 0, MAX_RECLAIM_RETRIES - 1);
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), gfp_zone(m, MOVABLE));
	WRITE_ONCE(pgdat->kswapd_failures, 0);
	alloc_waking(m, &p);
	assert_counts(m, &base, MAX_RECLAIM_RETRIES + 1, MAX_RECLAIM_RETRIES + 1, 0, MAX_RECLAIM_RETRIES);
	assert_int_equal(failures(m), 1);
	/* The run took the request: nothing pending. */
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), (int)m->nr_zone_types);
	assert_int_equal(READ_ONCE(pgdat->kswapd_order), 0);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A wakeup from a reclaim context (PF_MEMALLOC) does not run kswapd inside
 * it: the request is recorded and the next plain wakeup serves it.
 */
static void test_inline_no_recursion(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	struct pool p = { 0 };
	struct counts base = counts(m);

	pool_fill_to(m, &p, zinfo(m).low);
	struct zpa_task *t = zpa_task_current();
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	wakeup_kswapd(m, z, 0, 2, z->idx);
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	assert_counts(m, &base, 0, 0, 0, 0);
	assert_int_equal(READ_ONCE(pgdat->kswapd_order), 2);
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), z->idx);

	wakeup_kswapd(m, z, 0, 0, z->idx);
	assert_counts(m, &base, 1, 1, 0, 1);
	assert_int_equal(READ_ONCE(pgdat->kswapd_order), 0);
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), (int)m->nr_zone_types);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- MANUAL mode ---- */

/*
 * Wakeups record; a step runs kswapd.  An unbalanced node: one
 * balance_pgdat() per step, kswapd stays awake (high watermark hit quickly)
 * and, awake, is not woken again (nothing counted).
 */
static void test_manual_wake_and_step(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct pool p = { 0 };
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	assert_int_equal(zpa_daemon_mode(m), ZPA_DAEMON_MANUAL);
	struct counts base = counts(m);

	pool_fill_to(m, &p, zinfo(m).low);
	alloc_waking(m, &p);
	assert_counts(m, &base, 1, 0, 0, 0);
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), gfp_zone(m, MOVABLE));
	assert_int_equal(zpa_daemon_step(m, 10), 0);
	assert_counts(m, &base, 1, 1, 0, 1);
	assert_int_equal(failures(m), 1);
	assert_int_equal(READ_ONCE(pgdat->kswapd_highest_zoneidx), (int)m->nr_zone_types);
	alloc_waking(m, &p);   /* kswapd is awake: recorded only */
	assert_counts(m, &base, 1, 1, 0, 1);
	assert_int_equal(zpa_daemon_step(m, 20), 0);
	assert_counts(m, &base, 1, 2, 0, 2);
	assert_int_equal(failures(m), 2);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * After balancing, kswapd naps for 100 ms.  A wakeup during the nap: low
 * watermark hit quickly, and kswapd balances again in that step.
 */
static void test_manual_low_wmark_hit_quickly(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct pool p = { 0 };
	struct zpa_zone_info zi = zinfo(m);
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	struct counts base = counts(m);

	pool_fill_to(m, &p, zi.low);
	alloc_waking(m, &p);
	pool_free_to(m, &p, zi.high + 1);         /* "reclaimed" before kswapd ran */
	assert_int_equal(zpa_daemon_step(m, 1), 0);
	assert_counts(m, &base, 1, 1, 0, 0);      /* balanced at once: no failure */
	assert_int_equal(failures(m), 0);
	pool_fill_to(m, &p, zi.low);
	alloc_waking(m, &p);                      /* napping kswapd is woken */
	assert_counts(m, &base, 2, 1, 0, 0);
	assert_int_equal(zpa_daemon_step(m, 50), 0);
	assert_counts(m, &base, 2, 2, 1, 1);
	assert_int_equal(failures(m), 1);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * A quiet nap: if the node is still balanced when it ends, kswapd sleeps
 * for good (until woken); if not, the high watermark was hit quickly and it
 * balances again in the same step.
 */
static void test_manual_nap_end(void **state)
{
	(void)state;
	for (int unbalanced = 0; unbalanced < 2; unbalanced++) {
		struct zpa_machine *m = machine(64);
		struct pool p = { 0 };
		struct zpa_zone_info zi = zinfo(m);
		assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
		struct counts base = counts(m);

		pool_fill_to(m, &p, zi.low);
		alloc_waking(m, &p);
		pool_free_to(m, &p, zi.high + 1);
		assert_int_equal(zpa_daemon_step(m, 1), 0);
		assert_counts(m, &base, 1, 1, 0, 0);
		if (unbalanced)
			pool_fill_to(m, &p, zi.high); /* above low: nobody wakes kswapd */
		assert_int_equal(zpa_daemon_step(m, 100), 0); /* the nap lasts until 101 */
		assert_counts(m, &base, 1, 1, 0, 0);
		assert_int_equal(zpa_daemon_step(m, 101), 0);
		if (unbalanced) {
			assert_counts(m, &base, 1, 2, 0, 2);
		} else {
			assert_counts(m, &base, 1, 1, 0, 0);
			/* Asleep: an unbalanced node without a wakeup stays so. */
			pool_fill_to(m, &p, zi.low + 1);
			assert_int_equal(zpa_daemon_step(m, 1000), 0);
			assert_counts(m, &base, 1, 1, 0, 0);
			pool_fill_to(m, &p, zi.low);
			alloc_waking(m, &p);
			assert_counts(m, &base, 2, 1, 0, 0);
			assert_int_equal(zpa_daemon_step(m, 1001), 0);
			assert_counts(m, &base, 2, 2, 0, 1);
		}
		pool_release(m, &p);
		zt_assert_clean(m);
		zpa_machine_destroy(m);
	}
}

/*
 * The hopeless node in MANUAL mode: one failure per step; the 16th lets
 * kswapd sleep; wakeups are then ignored (even during the nap) until the
 * failures are reset.  A boost set meanwhile stays: nobody gives it back.
 */
static void test_manual_hopeless(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct zone *z = normal_zone(m);
	struct pool p = { 0 };
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	struct counts base = counts(m);

	pool_fill_to(m, &p, zinfo(m).low);
	alloc_waking(m, &p);
	for (uint64_t t = 1; t <= MAX_RECLAIM_RETRIES; t++) {
		assert_int_equal(zpa_daemon_step(m, t), 0);
		assert_int_equal(failures(m), (int)t);
	}
	assert_counts(m, &base, 1, MAX_RECLAIM_RETRIES, 0, MAX_RECLAIM_RETRIES - 1);
	alloc_waking(m, &p);                            /* napping, but hopeless */
	assert_int_equal(zpa_daemon_step(m, MAX_RECLAIM_RETRIES + 100), 0);
	alloc_waking(m, &p);                            /* asleep, hopeless */
	zpa_spin_lock(&z->lock);
	WRITE_ONCE(z->watermark_boost, 20);
	zpa_spin_unlock(&z->lock);
	wakeup_kswapd(m, z, 0, 0, z->idx);
	assert_int_equal(zpa_daemon_step(m, 500), 0);
	assert_counts(m, &base, 1, MAX_RECLAIM_RETRIES, 0, MAX_RECLAIM_RETRIES - 1);
	assert_int_equal(zinfo(m).boost, 20);

	WRITE_ONCE(pgdat->kswapd_failures, 0);
	alloc_waking(m, &p);
	assert_counts(m, &base, 2, MAX_RECLAIM_RETRIES, 0, MAX_RECLAIM_RETRIES - 1);
	assert_int_equal(zpa_daemon_step(m, 501), 0);
	assert_counts(m, &base, 2, MAX_RECLAIM_RETRIES + 1, 0, MAX_RECLAIM_RETRIES);
	assert_int_equal(zinfo(m).boost, 0);            /* balance_pgdat gave it back */
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* The simulated clock only moves forward; steps outside MANUAL mode are refused. */
static void test_manual_clock(void **state)
{
	(void)state;
	struct zt_log log = { 0 };
	struct zpa_machine *m = machine_log(64, &log);
	struct counts base = counts(m);

	/* INLINE: the monotonic clock, and no steps. */
	uint64_t t0 = zpa_clock_ms(m);
	assert_true(zpa_clock_ms(m) >= t0);
	assert_int_equal(zpa_daemon_step(m, 5), 0);
	assert_int_equal(counts(m).warn - base.warn, 1);
	assert_non_null(strstr(log.last, "zpa_daemon_step"));
	assert_non_null(strstr(log.last, "MANUAL"));

	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	assert_int_equal(zpa_clock_ms(m), 0);
	assert_int_equal(zpa_daemon_step(m, 100), 0);
	assert_int_equal(zpa_clock_ms(m), 100);
	assert_int_equal(zpa_daemon_step(m, 100), 0);    /* same time: fine */
	assert_int_equal(counts(m).warn - base.warn, 1);
	assert_int_equal(zpa_daemon_step(m, 50), 0);     /* backwards: refused */
	assert_int_equal(counts(m).warn - base.warn, 2);
	assert_non_null(strstr(log.last, "backwards"));
	assert_int_equal(zpa_clock_ms(m), 100);
	assert_int_equal(zpa_daemon_step(m, 150), 0);
	assert_int_equal(zpa_clock_ms(m), 150);
	assert_int_equal(counts(m).warn - base.warn, 2);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ---- modes and THREAD mode ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait (up to 10 s) until the counter reaches at least want. */
static bool wait_for(struct zpa_machine *m, const char *name, uint64_t want)
{
	for (int i = 0; i < 1000; i++) {
		if (ev(m, name) >= want)
			return true;
		sleep_ms(10);
	}
	return false;
}

static void test_modes(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	assert_int_equal(zpa_daemon_mode(m), ZPA_DAEMON_INLINE);
	assert_int_equal(zpa_set_daemon_mode(m, -1), ZPA_EINVAL);
	assert_int_equal(zpa_set_daemon_mode(m, 3), ZPA_EINVAL);
	assert_int_equal(zpa_daemon_mode(m), ZPA_DAEMON_INLINE);
	static const int seq[] = { ZPA_DAEMON_MANUAL, ZPA_DAEMON_THREAD, ZPA_DAEMON_THREAD, ZPA_DAEMON_INLINE,
				   ZPA_DAEMON_THREAD, ZPA_DAEMON_MANUAL, ZPA_DAEMON_INLINE, ZPA_DAEMON_THREAD };
	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		assert_int_equal(zpa_set_daemon_mode(m, seq[i]), 0);
		assert_int_equal(zpa_daemon_mode(m), seq[i]);
	}
	/* Destroyed with its threads asleep. */
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * THREAD mode: a wakeup below the low watermark starts the node's thread,
 * which (nothing reclaimable) balances until the node is hopeless, then
 * naps and sleeps.  Reset, it is woken again.  Switching to MANUAL stops
 * it; switching back starts a new one, destroyed with the machine.
 */
static void test_thread_mode(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	pg_data_t *pgdat = m->nodes[0];
	struct pool p = { 0 };
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_THREAD), 0);
	struct counts base = counts(m);

	pool_fill_to(m, &p, zinfo(m).low);
	alloc_waking(m, &p);
	assert_int_equal(counts(m).wake - base.wake, 1);
	assert_true(wait_for(m, "pageoutrun", base.pageoutrun + MAX_RECLAIM_RETRIES));
	for (int i = 0; i < 1000 && failures(m) < MAX_RECLAIM_RETRIES; i++)
		sleep_ms(10);
	assert_int_equal(failures(m), MAX_RECLAIM_RETRIES);
	sleep_ms(250); /* past the nap: in the long sleep */
	assert_counts(m, &base, 1, MAX_RECLAIM_RETRIES, 0, MAX_RECLAIM_RETRIES - 1);

	WRITE_ONCE(pgdat->kswapd_failures, 0);
	alloc_waking(m, &p);
	assert_int_equal(counts(m).wake - base.wake, 2);
	assert_true(wait_for(m, "pageoutrun", base.pageoutrun + MAX_RECLAIM_RETRIES + 1));

	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	uint64_t runs = ev(m, "pageoutrun");
	sleep_ms(50);
	assert_int_equal(ev(m, "pageoutrun"), runs);   /* no thread left */
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_THREAD), 0);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

#ifdef ZPA_TEST_NEEDS_RECLAIM
/* ---- needs vmscan.c's shrink_node() ---- */

struct cache {
	struct zpa_machine *m;
	zpa_pfn_t *pfn;
	bool *gone;
	size_t n;
	unsigned long evicted;
};

static int cache_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct cache *c = arg;
	assert_true(ctx->kswapd);
	for (size_t i = 0; i < c->n; i++) {
		if (c->pfn[i] != pfn)
			continue;
		assert_false(c->gone[i]);
		c->gone[i] = true;
		c->evicted++;
		assert_int_equal(zpa_free_pages(c->m, pfn, order), 0);
		return ZPA_EVICT_FREED;
	}
	fail_msg("evict of a page the cache does not own");
	return ZPA_EVICT_KEEP;
}

static const struct zpa_page_owner_ops cache_ops = { .name = "test-cache", .evict = cache_evict };

/*
 * kswapd reclaims clean file pages until the node is balanced: with twice
 * the pages needed on the inactive file list, one MANUAL step brings the
 * free count above the high watermark.
 */
static void test_manual_reclaims_to_high(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(64);
	struct pool p = { 0 };
	struct zpa_zone_info zi = zinfo(m);
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	struct cache c = { .m = m };
	int owner = zpa_page_owner_register(m, &cache_ops, &c);
	assert_true(owner > 0);

	/* Free will end at low - 1: high - (low - 1) + 1 pages are needed. */
	uint64_t needed = zi.high - zi.low + 2;
	c.n = 2 * needed;
	c.pfn = calloc(c.n, sizeof *c.pfn);
	c.gone = calloc(c.n, sizeof *c.gone);
	for (size_t i = 0; i < c.n; i++) {
		c.pfn[i] = zpa_alloc_pages(m, MOVABLE_NOWAKE, 0);
		assert_true(c.pfn[i] != ZPA_PFN_NONE);
		assert_int_equal(zpa_lru_add(m, c.pfn[i], owner, 0), 0);
	}
	pool_fill_to(m, &p, zi.low);
	alloc_waking(m, &p);
	assert_int_equal(zinfo(m).free, zi.low - 1);
	uint64_t steal = ev(m, "pgsteal_kswapd");
	uint64_t got = zpa_daemon_step(m, 10);
	assert_true(got >= needed);
	assert_true(zinfo(m).free > zi.high);
	assert_true(ev(m, "pgsteal_kswapd") - steal >= needed);
	assert_int_equal(c.evicted, got);
	assert_int_equal(failures(m), 0);

	for (size_t i = 0; i < c.n; i++) {
		if (c.gone[i])
			continue;
		assert_int_equal(zpa_lru_del(m, c.pfn[i]), 0);
		assert_int_equal(zpa_free_pages(m, c.pfn[i], 0), 0);
	}
	free(c.pfn);
	free(c.gone);
	pool_release(m, &p);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgdat_balanced),
		cmocka_unit_test(test_inline_boost_given_back),
		cmocka_unit_test(test_inline_hopeless),
		cmocka_unit_test(test_inline_no_recursion),
		cmocka_unit_test(test_manual_wake_and_step),
		cmocka_unit_test(test_manual_low_wmark_hit_quickly),
		cmocka_unit_test(test_manual_nap_end),
		cmocka_unit_test(test_manual_hopeless),
		cmocka_unit_test(test_manual_clock),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_thread_mode),
#ifdef ZPA_TEST_NEEDS_RECLAIM
		cmocka_unit_test(test_manual_reclaims_to_high),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
