/*
 * test_compaction_threads.c (ThreadSanitizer) - compaction and migration
 * under concurrency: three threads keep a pool of movable pages (LRU pages
 * and zpa_page_set_movable pages of one owner) changing - allocating,
 * freeing any object of the pool, now and then asking for an order-4 or a
 * huge compound block (direct compaction and capture in the slow path), and
 * waking kcompactd for a huge page - while kcompactd runs in its threads, and the main
 * thread compacts the whole machine and switches the daemon mode around
 * (THREAD -> INLINE -> THREAD -> MANUAL with steps -> THREAD), which stops
 * and joins kcompactd's threads under load.  The owner's migrate() moves an
 * object under the owner's mutex; an object freed meanwhile makes it answer
 * busy.  At the end every object must be where the owner thinks, and
 * zpa_check() clean.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helpers/zt.h"
#include "compaction.h"

#define WORKERS 3
#define OPS_PER_WORKER 30000
#define NODE_PAGES 8192u   /* 32 MiB */
#define MAX_OBJS NODE_PAGES
#define TARGET_OBJS 5000

static struct zpa_machine *m;
static unsigned long base_pfn;
static atomic_int running;

/* ---- the owner: a pool of objects, each on one page ---- */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int obj_of[NODE_PAGES];        /* by pfn - base_pfn; -1: none */
static zpa_pfn_t pfn_of[MAX_OBJS];
static int free_objs[MAX_OBJS], nr_free_objs;
static int live[MAX_OBJS], nr_live;   /* ids of live objects, for picking one */
static int live_pos[MAX_OBJS];
static atomic_long moves, busy, high_ok, high_fail;
static int owner;
static int pool_cap = (int)MAX_OBJS;  /* TARGET_OBJS once the machine is fragmented */

static int pool_migrate(void *arg, zpa_pfn_t src, zpa_pfn_t dst, unsigned order, int mode)
{
	(void)arg;
	(void)mode;
	if (order)
		abort();
	pthread_mutex_lock(&pool_lock);
	int obj = obj_of[src - base_pfn];
	if (obj < 0 || obj_of[dst - base_pfn] >= 0) {
		pthread_mutex_unlock(&pool_lock);
		atomic_fetch_add(&busy, 1);
		return obj < 0 ? ZPA_EBUSY : ZPA_EAGAIN;
	}
	obj_of[src - base_pfn] = -1;
	obj_of[dst - base_pfn] = obj;
	pfn_of[obj] = dst;
	pthread_mutex_unlock(&pool_lock);
	atomic_fetch_add(&moves, 1);
	return 0;
}

static int pool_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)pfn; (void)order; (void)ctx;
	return ZPA_EVICT_KEEP;
}

static const struct zpa_page_owner_ops pool_ops = { .name = "tsan-pool", .evict = pool_evict,
						    .migrate = pool_migrate };

/* A new object on the page at pfn (already made movable); false when the pool is full. */
static bool pool_add(zpa_pfn_t pfn)
{
	pthread_mutex_lock(&pool_lock);
	if (!nr_free_objs || nr_live >= pool_cap) {
		pthread_mutex_unlock(&pool_lock);
		return false;
	}
	int obj = free_objs[--nr_free_objs];
	pfn_of[obj] = pfn;
	obj_of[pfn - base_pfn] = obj;
	live_pos[obj] = nr_live;
	live[nr_live++] = obj;
	pthread_mutex_unlock(&pool_lock);
	return true;
}

/* Take some object out of the pool: its page now (ZPA_PFN_NONE if the pool is empty). */
static zpa_pfn_t pool_take(uint64_t r)
{
	pthread_mutex_lock(&pool_lock);
	if (!nr_live) {
		pthread_mutex_unlock(&pool_lock);
		return ZPA_PFN_NONE;
	}
	int obj = live[r % (uint64_t)nr_live];
	zpa_pfn_t pfn = pfn_of[obj];
	obj_of[pfn - base_pfn] = -1;
	int last = live[--nr_live];
	live[live_pos[obj]] = last;
	live_pos[last] = live_pos[obj];
	free_objs[nr_free_objs++] = obj;
	pthread_mutex_unlock(&pool_lock);
	return pfn;
}

/* ---- workers ---- */

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define PAGE_GFP ((ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_DIRECT_RECLAIM) | ZPA___GFP_NOWARN)
#define HIGH_GFP (ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN)

static void *worker(void *p)
{
	uint64_t rng = (uint64_t)(uintptr_t)p * 7919u + 1;
	int id = (int)(uintptr_t)p;
	atomic_fetch_add(&running, 1);
	for (int op = 0; op < OPS_PER_WORKER; op++) {
		unsigned r = (unsigned)(next(&rng) % 100);
		if (r < 60) {
			zpa_pfn_t pfn = zpa_alloc_pages(m, PAGE_GFP, 0);
			if (pfn == ZPA_PFN_NONE)
				continue;
			int err = (next(&rng) & 1) ? zpa_lru_add(m, pfn, owner, 0) : zpa_page_set_movable(m, pfn, owner);
			if (err)
				abort();
			if (!pool_add(pfn) && zpa_free_pages(m, pfn, 0))
				abort();
		} else if (r < 97) {
			zpa_pfn_t pfn = pool_take(next(&rng));
			if (pfn != ZPA_PFN_NONE && zpa_free_pages(m, pfn, 0))
				abort();
		} else {
			unsigned order = (next(&rng) & 1) ? 4 : 9;
			zpa_pfn_t pfn = zpa_alloc_pages(m, HIGH_GFP, order);
			atomic_fetch_add(pfn != ZPA_PFN_NONE ? &high_ok : &high_fail, 1);
			if (pfn != ZPA_PFN_NONE && zpa_free_pages(m, pfn, order))
				abort();
		}
		if (op % 5000 == 4999)
			wakeup_kcompactd(m, m->nodes[0], (int)m->pageblock_order, (int)m->nr_zone_types - 1);
		(void)id;
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static void set_mode(int mode)
{
	assert_int_equal(zpa_set_daemon_mode(m, mode), 0);
	assert_int_equal(kcompactd_mode_changed(m), 0);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_compaction_threads(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1ull << 30, (1ull << 30) + NODE_PAGES * 4096ull, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 2;
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	cfg.thp_enabled = 0;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	base_pfn = (1ull << 30) >> 12;
	for (unsigned i = 0; i < NODE_PAGES; i++)
		obj_of[i] = -1;
	for (int i = 0; i < (int)MAX_OBJS; i++)
		free_objs[nr_free_objs++] = (int)MAX_OBJS - 1 - i;
	owner = zpa_page_owner_register(m, &pool_ops, NULL);
	assert_true(owner > 0);
	/* Fragment it: fill memory with the pool, then free objects at random down to the target. */
	zpa_pfn_t pfn;
	uint64_t rng = 42;
	while ((pfn = zpa_alloc_pages(m, PAGE_GFP, 0)) != ZPA_PFN_NONE) {
		assert_int_equal(zpa_lru_add(m, pfn, owner, 0), 0);
		assert_true(pool_add(pfn));
	}
	while (nr_live > TARGET_OBJS)
		assert_int_equal(zpa_free_pages(m, pool_take(next(&rng)), 0), 0);
	pool_cap = TARGET_OBJS;
	zpa_drain_all_pages(m);
	set_mode(ZPA_DAEMON_THREAD);

	pthread_t th[WORKERS];
	for (uintptr_t i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)(i + 1)), 0);
	sleep_ms(5);
	uint64_t now = 0;
	for (int round = 0; atomic_load(&running) > 0 || round < 4; round++) {
		if (round % 8 == 5)
			zpa_compact_memory(m);
		switch (round % 4) {
		case 0:
			set_mode(ZPA_DAEMON_INLINE);
			break;
		case 1:
			set_mode(ZPA_DAEMON_THREAD);
			break;
		case 2:
			set_mode(ZPA_DAEMON_MANUAL);
			for (int i = 0; i < 5; i++) {
				now += 600;
				zpa_daemon_step(m, now);
			}
			break;
		default:
			set_mode(ZPA_DAEMON_THREAD);
			break;
		}
		sleep_ms(2);
	}
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	set_mode(ZPA_DAEMON_INLINE);

	/* Every object is on an allocated page of the owner's, where the pool says. */
	for (int i = 0; i < nr_live; i++) {
		int obj = live[i];
		struct zpa_page_info pi;
		assert_int_equal(zpa_page_info(m, pfn_of[obj], &pi), 0);
		assert_true(pi.allocated);
		assert_int_equal(obj_of[pfn_of[obj] - base_pfn], obj);
	}
	printf("compaction threads: %ld moves, %ld busy, high-order %ld/%ld, pgmigrate_success %llu, compact_stall %llu, "
	       "compact_daemon_wake %llu\n",
	       atomic_load(&moves), atomic_load(&busy), atomic_load(&high_ok), atomic_load(&high_ok) + atomic_load(&high_fail),
	       (unsigned long long)zpa_vmstat(m, "pgmigrate_success", NULL),
	       (unsigned long long)zpa_vmstat(m, "compact_stall", NULL),
	       (unsigned long long)zpa_vmstat(m, "compact_daemon_wake", NULL));
	assert_true(atomic_load(&moves) > 0);
	zt_assert_clean(m);
	while ((pfn = pool_take(0)) != ZPA_PFN_NONE)
		assert_int_equal(zpa_free_pages(m, pfn, 0), 0);
	zt_assert_clean(m);
	assert_int_equal(zpa_total_free(m), zpa_total_managed(m));
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compaction_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
