/*
 * test_kswapd_threads.c (ThreadSanitizer) - kswapd's THREAD mode under load:
 * with most of memory held as ballast, four threads allocate and free
 * (movable, mostly order 0, on both nodes) wanting more than is left, so
 * free memory keeps crossing the low watermark and the nodes' kswapd
 * threads are woken again and again; a fifth thread keeps a page cache on
 * the LRU through a page owner whose evict() frees the page (reclaim, when
 * shrink_node() reclaims, runs it in the kswapd threads, or in the workers
 * in INLINE mode).  Meanwhile the main thread switches the daemon mode
 * around (THREAD -> INLINE -> THREAD -> MANUAL with steps -> THREAD), which
 * stops and joins the threads under load, and resets kswapd_failures now
 * and then as reclaim progress would.  Then everything is freed and
 * zpa_check() must be clean.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers/zt.h"
#include "internal.h"

#define WORKERS 4
#define OPS_PER_WORKER 20000
#define LIVE 3000
#define CACHE_TARGET 1500
#define NODE_PAGES 8192u   /* 32 MiB a node */
#define BALLAST_FREE 4000  /* pages left to the workers and the cache */

static struct zpa_machine *m;
static atomic_int running, cache_running;

/* ---- the page cache: a page is ours while its slot holds 1 ---- */

static unsigned long base_pfn[2];
static _Atomic unsigned char cached[2 * NODE_PAGES];
static atomic_long nr_cached;
static atomic_long nr_evicted;

static long slot_of(zpa_pfn_t pfn)
{
	for (int n = 0; n < 2; n++)
		if (pfn >= base_pfn[n] && pfn < base_pfn[n] + NODE_PAGES)
			return (long)(n * NODE_PAGES + (pfn - base_pfn[n]));
	return -1;
}

static int cache_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	long s = slot_of(pfn);
	if (s < 0 || atomic_exchange(&cached[s], 0) != 1)
		return ZPA_EVICT_KEEP;
	if (zpa_free_pages(m, pfn, order) != 0)
		abort();
	atomic_fetch_sub(&nr_cached, 1);
	atomic_fetch_add(&nr_evicted, 1);
	return ZPA_EVICT_FREED;
}

static const struct zpa_page_owner_ops cache_ops = { .name = "tsan-cache", .evict = cache_evict };
static int cache_owner;

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	nanosleep(&ts, NULL);
}

static void *cache_thread(void *p)
{
	(void)p;
	while (atomic_load(&cache_running)) {
		if (atomic_load(&nr_cached) >= CACHE_TARGET) {
			sleep_us(200);
			continue;
		}
		zpa_pfn_t pfn = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN, 0);
		if (pfn == ZPA_PFN_NONE) {
			sleep_us(100);
			continue;
		}
		long s = slot_of(pfn);
		if (s < 0)
			abort();
		atomic_store(&cached[s], 1);
		atomic_fetch_add(&nr_cached, 1);
		if (zpa_lru_add(m, pfn, cache_owner, 0) != 0)
			abort();
	}
	return NULL;
}

/* ---- allocating workers ---- */

struct worker {
	int id;
	uint64_t rng;
	unsigned long allocs, fails;
};

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *worker(void *p)
{
	struct worker *w = p;
	static _Thread_local struct { zpa_pfn_t pfn; unsigned order; } live[LIVE];
	int nlive = 0;
	struct zpa_task *task = NULL;
	if (w->id % 2 == 0) {
		task = zpa_task_create();
		zpa_task_set_cpu(task, w->id / 2 % 2);
	}
	for (int op = 0; op < OPS_PER_WORKER; op++) {
		if (nlive < LIVE && (nlive == 0 || next(&w->rng) % 100 < 60)) {
			unsigned r = (unsigned)(next(&w->rng) % 100);
			unsigned order = r < 80 ? 0 : 1 + (unsigned)(next(&w->rng) % 3);
			int nid = (int)(next(&w->rng) % 3) - 1;
			zpa_gfp_t gfp = ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN;
			zpa_pfn_t pfn = zpa__alloc_pages(m, task, gfp, order, nid, NULL);
			if (pfn == ZPA_PFN_NONE) {
				w->fails++;
				continue;
			}
			w->allocs++;
			live[nlive].pfn = pfn;
			live[nlive].order = order;
			nlive++;
		} else {
			int i = (int)(next(&w->rng) % (uint64_t)nlive);
			if (zpa__free_pages(m, task, live[i].pfn, live[i].order) != 0)
				abort();
			live[i] = live[--nlive];
		}
	}
	while (nlive) {
		nlive--;
		if (zpa__free_pages(m, task, live[nlive].pfn, live[nlive].order) != 0)
			abort();
	}
	zpa_task_destroy(task);
	return NULL;
}

static void test_kswapd_threads(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	zpa_machine_config_init(&cfg);
	for (int n = 0; n < 2; n++) {
		uint64_t start = (4ull << 30) + (uint64_t)n * (1ull << 30);
		zpa_config_add_range(&cfg, start, start + (uint64_t)NODE_PAGES * 4096, ZPA_RANGE_USABLE, n);
		base_pfn[n] = (unsigned long)(start >> 12);
		cfg.cpu_node[n] = n;
	}
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.nr_cpus = 2;
	cfg.log_level = ZPA_LOG_ERR;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	uint64_t managed = zpa_total_managed(m);
	cache_owner = zpa_page_owner_register(m, &cache_ops, NULL);
	assert_true(cache_owner > 0);
	/* Ballast: leave BALLAST_FREE pages, less than the workers will want. */
	static zpa_pfn_t ballast[2 * NODE_PAGES / 4];
	size_t nballast = 0;
	while (zpa_total_free(m) > BALLAST_FREE + 4) {
		zpa_pfn_t pfn = zpa_alloc_pages(m, (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_KSWAPD_RECLAIM) | ZPA___GFP_NOWARN, 2);
		assert_true(pfn != ZPA_PFN_NONE);
		ballast[nballast++] = pfn;
	}
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_THREAD), 0);

	pthread_t th[WORKERS], ct;
	struct worker w[WORKERS];
	atomic_store(&running, 1);
	atomic_store(&cache_running, 1);
	assert_int_equal(pthread_create(&ct, NULL, cache_thread, NULL), 0);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ .id = i, .rng = 0x9876543ull * (uint64_t)(i + 1) };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}

	/* Mode switches and failure resets while the workers run. */
	static const int modes[] = { ZPA_DAEMON_INLINE, ZPA_DAEMON_THREAD, ZPA_DAEMON_MANUAL, ZPA_DAEMON_THREAD };
	uint64_t sim = 0;
	for (int round = 0; round < 8; round++) {
		sleep_us(30000);
		for (unsigned n = 0; n < m->nr_nodes; n++)
			WRITE_ONCE(m->nodes[n]->kswapd_failures, 0);
		int mode = modes[round % 4];
		assert_int_equal(zpa_set_daemon_mode(m, mode), 0);
		if (mode == ZPA_DAEMON_MANUAL)
			for (int s = 0; s < 20; s++)
				zpa_daemon_step(m, sim += 40);
	}

	unsigned long allocs = 0;
	for (int i = 0; i < WORKERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		allocs += w[i].allocs;
	}
	atomic_store(&running, 0);
	atomic_store(&cache_running, 0);
	assert_int_equal(pthread_join(ct, NULL), 0);

	bool ok;
	printf("kswapd threads: %lu allocations, kswapd woken %llu times, %llu runs, %ld pages evicted\n", allocs,
	       (unsigned long long)zpa_vmstat(m, "zpa_kswapd_wake", &ok),
	       (unsigned long long)zpa_vmstat(m, "pageoutrun", &ok), atomic_load(&nr_evicted));
	assert_true(zpa_vmstat(m, "zpa_kswapd_wake", &ok) > 0);
	assert_true(zpa_vmstat(m, "pageoutrun", &ok) > 0);

	/* Stop the daemons, then take the cache back. */
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	for (long s = 0; s < (long)(2 * NODE_PAGES); s++) {
		if (atomic_exchange(&cached[s], 0) != 1)
			continue;
		int n = s >= (long)NODE_PAGES;
		zpa_pfn_t pfn = base_pfn[n] + (zpa_pfn_t)(s - n * (long)NODE_PAGES);
		assert_int_equal(zpa_lru_del(m, pfn), 0);
		assert_int_equal(zpa_free_pages(m, pfn, 0), 0);
	}
	while (nballast)
		assert_int_equal(zpa_free_pages(m, ballast[--nballast], 2), 0);
	zt_assert_clean(m);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_total_free(m), managed);
	zt_assert_clean(m);
	/* Destroyed with kswapd threads running (asleep). */
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_THREAD), 0);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kswapd_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
