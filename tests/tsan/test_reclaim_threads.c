/*
 * test_reclaim_threads.c (ThreadSanitizer) - kswapd and kcompactd threads
 * (ZPA_DAEMON_THREAD) and direct reclaim in several allocating threads, all
 * working on the same LRU lists: the threads fill a small machine with
 * page-cache-like LRU pages (some anonymous, with swap), touch and free
 * them at random, and ask for a few high-order blocks, so that reclaim,
 * eviction, putback, frees of isolated pages and compaction race with each
 * other.  Afterwards every page is accounted for and zpa_check() is clean.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"

#define THREADS 4
#define OPS_PER_THREAD 20000
#define LIVE 3000

static struct zpa_machine *m;
static zpa_pfn_t base;
static uint64_t span;
/* owner[pfn - base]: 0 = not the cache's, else the worker id + 1 (under cache_lock) */
static uint8_t *owner;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong evictions, refused, migrations;

static int cache_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg;
	(void)ctx;
	pthread_mutex_lock(&cache_lock);
	if (!owner[pfn - base]) {
		/* its worker freed it meanwhile: reclaim's reference is the last */
		pthread_mutex_unlock(&cache_lock);
		atomic_fetch_add(&refused, 1);
		return ZPA_EVICT_KEEP;
	}
	owner[pfn - base] = 0;
	pthread_mutex_unlock(&cache_lock);
	if (zpa_free_pages(m, pfn, order) != 0)
		abort();
	atomic_fetch_add(&evictions, 1);
	return ZPA_EVICT_FREED;
}

static int cache_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg;
	(void)pfn;
	(void)order;
	(void)ctx;
	if (zpa_swap_free(m) == 0)
		return ZPA_EVICT_ACTIVATE;
	zpa_swap_account(m, -1);
	return ZPA_EVICT_CLEAN;
}

static int cache_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	(void)arg;
	(void)order;
	(void)mode;
	pthread_mutex_lock(&cache_lock);
	if (!owner[src - base]) {
		pthread_mutex_unlock(&cache_lock);
		return ZPA_EBUSY;
	}
	owner[dst - base] = owner[src - base];
	owner[src - base] = 0;
	pthread_mutex_unlock(&cache_lock);
	atomic_fetch_add(&migrations, 1);
	return 0;
}

static const struct zpa_page_owner_ops ops = {
	.name = "tsan-cache",
	.evict = cache_evict,
	.writepage = cache_writepage,
	.migrate = cache_migrate,
};
static int owner_id;

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct worker {
	int id;
	uint64_t rng;
	unsigned long allocs, fails, high;
};

static void *worker(void *p)
{
	struct worker *w = p;
	zpa_pfn_t *live = calloc(LIVE, sizeof(*live));
	int nlive = 0;
	uint8_t me = (uint8_t)(w->id + 1);
	for (int op = 0; op < OPS_PER_THREAD; op++) {
		unsigned r = (unsigned)(next(&w->rng) % 100);
		if (r < 3) {
			/* a high-order request: compaction and reclaim for order 3 */
			zpa_pfn_t pfn = zpa__alloc_pages(m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN | ZPA___GFP_NORETRY, 3,
							 -1, NULL);
			if (pfn != ZPA_PFN_NONE) {
				w->high++;
				zpa_free_pages(m, pfn, 3);
			}
		} else if (r < 60 || nlive == 0) {
			if (nlive == LIVE)
				continue;
			zpa_gfp_t gfp = ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_NOWARN;
			zpa_pfn_t pfn = zpa__alloc_pages(m, NULL, gfp, 0, -1, NULL);
			if (pfn == ZPA_PFN_NONE) {
				w->fails++;
				continue;
			}
			w->allocs++;
			pthread_mutex_lock(&cache_lock);
			owner[pfn - base] = me;
			pthread_mutex_unlock(&cache_lock);
			if (zpa_lru_add(m, pfn, owner_id, (r & 1) ? ZPA_LRU_ANON : 0) != 0)
				abort();
			live[nlive++] = pfn;
		} else if (r < 80) {
			zpa_mark_page_accessed(m, live[next(&w->rng) % (unsigned)nlive]);
		} else {
			int i = (int)(next(&w->rng) % (unsigned)nlive);
			zpa_pfn_t pfn = live[i];
			live[i] = live[--nlive];
			pthread_mutex_lock(&cache_lock);
			bool mine = owner[pfn - base] == me;
			if (mine)
				owner[pfn - base] = 0;
			pthread_mutex_unlock(&cache_lock);
			if (mine && zpa_free_pages(m, pfn, 0) != 0)
				abort();
		}
	}
	/* Pages that were migrated moved to other pfns: find and free what is still ours. */
	free(live);
	return NULL;
}

static void test_kswapd_and_direct_reclaim_race(void **state)
{
	(void)state;
	m = zt_numa_machine(1, 32, false);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	base = zi.start_pfn;
	span = zi.spanned;
	owner = calloc(span, 1);
	owner_id = zpa_page_owner_register(m, &ops, NULL);
	assert_true(owner_id > 0);
	zpa_swap_set(m, 2048, 2048);
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_THREAD), 0);

	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i, .rng = 0x1234u + (uint64_t)i * 7919 };
		assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);

	unsigned long allocs = 0;
	for (int i = 0; i < THREADS; i++)
		allocs += w[i].allocs;
	fprintf(stderr, "allocs %lu evictions %lu refused %lu migrations %lu\n", allocs, atomic_load(&evictions),
		atomic_load(&refused), atomic_load(&migrations));
	bool ok;
	assert_true(zpa_vmstat(m, "pgscan_kswapd", &ok) + zpa_vmstat(m, "pgscan_direct", &ok) > 0);
	assert_true(atomic_load(&evictions) > 0);

	/* Free every page the cache still holds; then nothing may be missing. */
	for (uint64_t i = 0; i < span; i++)
		if (owner[i]) {
			owner[i] = 0;
			assert_int_equal(zpa_free_pages(m, base + i, 0), 0);
		}
	zpa_drain_all_pages(m);
	zt_assert_clean(m);
	assert_int_equal(zpa_total_free(m), zpa_total_managed(m));
	uint64_t lru[ZPA_NR_LRU_LISTS];
	assert_int_equal(zpa_lru_sizes(m, 0, lru), 0);
	for (int i = 0; i < ZPA_NR_LRU_LISTS; i++)
		assert_int_equal(lru[i], 0);
	zpa_machine_destroy(m);
	free(owner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kswapd_and_direct_reclaim_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
