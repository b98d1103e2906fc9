/*
 * test_models.c (ThreadSanitizer) - the built-in models of zpa/model.h used
 * from several threads at once, the way a machine in ZPA_DAEMON_THREAD mode
 * would use them: readers and writers of the page cache, tasks faulting,
 * writing and unmapping anonymous memory, slab allocations and lookups,
 * while a "reclaimer" thread calls the owners' callbacks (referenced,
 * writepage, evict, migrate), the shrinker's scan, the OOM callbacks
 * (footprint, then kill and reap of one task) and the models' ticks.  Then
 * every model is destroyed, every page is back and zpa_check() is clean.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers/zt.h"
#include "zpa/model.h"

#define OPS 30000
#define FILE_PAGES 4096
#define TASK_PAGES 4096

static struct zpa_machine *m;
static struct zpa_model_pagecache *pc;
static struct zpa_model_anon *anon;
static struct zpa_model_slab *slab;
static struct zpa_model_task *tasks[2];
static int file;
static atomic_int running;

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const struct zpa_reclaim_ctx ctx = { .gfp = ZPA_GFP_KERNEL, .priority = 12, .may_writepage = true,
					    .may_swap = true, .may_unmap = true };

static void *page_cache_user(void *arg)
{
	uint64_t rng = (uintptr_t)arg;
	struct zpa_task *t = zpa_task_create();

	zpa_task_set_cpu(t, (int)((uintptr_t)arg % 2));
	for (int i = 0; i < OPS; i++) {
		uint64_t x = next(&rng);

		zpa_model_file_read(pc, file, x % FILE_PAGES, t, (x >> 20) & 3);
		if ((x & 0xfff) == 1)
			zpa_model_file_punch(pc, file, (x >> 32) % FILE_PAGES);
	}
	zpa_task_destroy(t);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

/* One thread per task: a task's faults come from one thread at a time. */
static void *anon_user(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint64_t rng = id + 100;

	for (int i = 0; i < OPS; i++) {
		uint64_t x = next(&rng);

		if ((x & 0x3ff) == 3)
			zpa_model_task_unmap(tasks[id], (x >> 16) % TASK_PAGES, 64);
		else if ((x & 0x3ff) == 5)
			zpa_model_task_touch_huge(tasks[id], (x >> 16) % TASK_PAGES, ZPA_GFP_TRANSHUGE_LIGHT);
		else
			zpa_model_task_touch(tasks[id], (x >> 16) % TASK_PAGES, x & 1);
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static void *slab_user(void *arg)
{
	uint64_t rng = 7, ids[256] = { 0 };

	(void)arg;
	for (int i = 0; i < OPS; i++) {
		uint64_t x = next(&rng), id;

		if (x & 1)
			zpa_model_slab_touch(slab, ids[(x >> 8) & 255]);
		else if (zpa_model_slab_alloc(slab, NULL, &id) == 0)
			ids[(x >> 8) & 255] = id;
		if ((x & 0xff) == 2)
			zpa_model_slab_free(slab, ids[(x >> 16) & 255]);
	}
	atomic_fetch_sub(&running, 1);
	return NULL;
}

static void *reclaimer(void *arg)
{
	const struct zpa_page_owner_ops *pops, *aops;
	const struct zpa_shrinker_ops *sops;
	const struct zpa_oom_task_ops *tops;
	void *parg, *aarg, *sarg, *targ;
	uint64_t rng = 99, now = 0, n = 0;

	(void)arg;
	zpa_model_pagecache_owner(pc, &pops, &parg);
	zpa_model_anon_owner(anon, &aops, &aarg);
	zpa_model_slab_shrinker(slab, &sops, &sarg);
	zpa_model_task_oom_ops(tasks[1], &tops, &targ);
	while (atomic_load(&running) > 0) {
		uint64_t x = next(&rng);
		struct zpa_oom_footprint fp;
		zpa_pfn_t pfn, dst;

		n++;
		if (x & 1) {
			pfn = zpa_model_file_page(pc, file, (x >> 8) % FILE_PAGES);
			if (pfn == ZPA_PFN_NONE)
				continue;
			pops->referenced(parg, pfn, 0);
			if (pops->writepage(parg, pfn, 0, &ctx) == ZPA_EVICT_CLEAN || (x & 2))
				pops->evict(parg, pfn, 0, &ctx);
			if ((x & 0x1c) == 0 && (dst = zpa_alloc_pages(m, ZPA_GFP_HIGHUSER_MOVABLE, 0)) != ZPA_PFN_NONE) {
				if ((pfn = zpa_model_file_page(pc, file, (x >> 40) % FILE_PAGES)) != ZPA_PFN_NONE &&
				    pops->migrate(parg, pfn, dst, 0, ZPA_MIGRATE_ASYNC) == 0)
					zpa_free_pages(m, pfn, 0);
				else
					zpa_free_pages(m, dst, 0);
			}
		} else {
			/* Either order: a THP's head asked as order 0 (or a page as 9) is kept, not torn. */
			unsigned order = (x >> 2) & 1 ? 9 : 0;

			pfn = zpa_model_task_page(tasks[(x >> 1) & 1], (x >> 8) % TASK_PAGES);
			if (pfn != ZPA_PFN_NONE) {
				aops->referenced(aarg, pfn, order);
				if (aops->writepage(aarg, pfn, order, &ctx) == ZPA_EVICT_CLEAN)
					aops->evict(aarg, pfn, order, &ctx);
			}
		}
		if ((n & 63) == 0) {
			struct zpa_shrink_control sc = { .gfp = ZPA_GFP_KERNEL, .nr_to_scan = 128 };

			if (sops->count_objects(sarg, &sc) != ZPA_SHRINK_EMPTY)
				sops->scan_objects(sarg, &sc);
			zpa_model_pagecache_tick(pc, now += 10);
			zpa_model_anon_tick(anon, now);
			tops->footprint(targ, &fp);
		}
		if (n == 20000) {          /* the OOM killer picks task 1 */
			tops->kill(targ);
			tops->reap(targ);
		}
	}
	return NULL;
}

static void test_models(void **state)
{
	(void)state;
	struct zpa_model_anon_config ac = { .swap_pages = 2048 };
	pthread_t th[6];
	uint64_t free0;

	m = zt_numa_machine(1, 128, false);
	free0 = zpa_total_free(m);
	assert_int_equal(zpa_model_pagecache_create(m, NULL, &pc), 0);
	assert_int_equal(zpa_model_anon_create(m, &ac, &anon), 0);
	assert_int_equal(zpa_model_slab_create(m, NULL, &slab), 0);
	file = zpa_model_file_create(pc, FILE_PAGES);
	assert_true(file >= 0);
	for (int i = 0; i < 2; i++) {
		struct zpa_model_task_config tc = { .comm = i ? "victim" : "survivor", .pid = 10 + i,
						    .max_pages = TASK_PAGES, .cpu = i };

		assert_int_equal(zpa_model_task_create(anon, &tc, &tasks[i]), 0);
	}
	atomic_store(&running, 5);
	assert_int_equal(pthread_create(&th[0], NULL, page_cache_user, (void *)1), 0);
	assert_int_equal(pthread_create(&th[1], NULL, page_cache_user, (void *)2), 0);
	assert_int_equal(pthread_create(&th[2], NULL, anon_user, (void *)0), 0);
	assert_int_equal(pthread_create(&th[3], NULL, anon_user, (void *)1), 0);
	assert_int_equal(pthread_create(&th[4], NULL, slab_user, NULL), 0);
	assert_int_equal(pthread_create(&th[5], NULL, reclaimer, NULL), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	zpa_model_pagecache_tick(pc, UINT64_MAX / 2);
	zpa_model_anon_tick(anon, UINT64_MAX / 2);
	zpa_model_slab_destroy(slab);
	zpa_model_anon_destroy(anon);
	zpa_model_pagecache_destroy(pc);
	zpa_drain_all_pages(m);
	assert_int_equal(zpa_swap_free(m), 2048);
	assert_int_equal(zpa_total_free(m), free0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
