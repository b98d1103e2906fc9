/*
 * test_stress.c (ThreadSanitizer) - several threads allocating and freeing
 * random orders and GFP classes across nodes, some with their own thread
 * lists and some acting as fixed CPUs, while another thread drains every
 * list again and again; then the full consistency check.  Built with
 * -fsanitize=thread together with the library (see CMakeLists.txt).
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers/zt.h"

#define THREADS 4
#define OPS_PER_THREAD 60000
#define LIVE 2000

static struct zpa_machine *m;
static atomic_int running;

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

static const zpa_gfp_t classes[] = {
	ZPA_GFP_KERNEL, ZPA_GFP_ATOMIC, ZPA_GFP_HIGHUSER_MOVABLE, ZPA_GFP_KERNEL | ZPA___GFP_COMP,
	ZPA_GFP_DMA32 | ZPA_GFP_KERNEL, ZPA_GFP_NOWAIT, ZPA_GFP_KERNEL | ZPA___GFP_RECLAIMABLE,
};

static void *worker(void *p)
{
	struct worker *w = p;
	struct { zpa_pfn_t pfn; unsigned order; } live[LIVE];
	int nlive = 0;
	/* Even workers act as fixed CPUs (shared per-CPU lists), odd ones use their own. */
	struct zpa_task *task = NULL;
	if (w->id % 2 == 0) {
		task = zpa_task_create();
		zpa_task_set_cpu(task, w->id / 2 % 2);
	}
	for (int op = 0; op < OPS_PER_THREAD; op++) {
		if (nlive < LIVE && (nlive == 0 || next(&w->rng) % 100 < 55)) {
			unsigned r = (unsigned)(next(&w->rng) % 100);
			unsigned order = r < 80 ? 0 : r < 95 ? 1 + (unsigned)(next(&w->rng) % 3) : 4 + (unsigned)(next(&w->rng) % 6);
			zpa_gfp_t gfp = classes[next(&w->rng) % (sizeof classes / sizeof classes[0])] | ZPA___GFP_NOWARN;
			int nid = (int)(next(&w->rng) % 3) - 1; /* -1, 0 or 1 */
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
		if (op % 5000 == 0)
			zpa_drain_local_pages(m, task);
	}
	while (nlive) {
		nlive--;
		if (zpa__free_pages(m, task, live[nlive].pfn, live[nlive].order) != 0)
			abort();
	}
	zpa_task_destroy(task);
	return NULL;
}

static void *drainer(void *p)
{
	(void)p;
	unsigned long n = 0;
	while (atomic_load(&running)) {
		zpa_drain_all_pages(m);
		if (++n % 16 == 0) {
			struct zpa_zone_info zi;
			zpa_zone_info(m, 1, ZPA_ZONE_NORMAL, &zi);
		}
	}
	return NULL;
}

static void test_stress(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	zpa_machine_config_init(&cfg);
	zpa_config_add_range(&cfg, 1ull << 20, 256ull << 20, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(&cfg, 4ull << 30, (4ull << 30) + (128ull << 20), ZPA_RANGE_USABLE, 1);
	cfg.nr_cpus = 2;
	cfg.cpu_node[0] = 0;
	cfg.cpu_node[1] = 1;
	cfg.log_level = ZPA_LOG_ERR;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	uint64_t managed = zpa_total_managed(m);

	pthread_t th[THREADS], dr;
	struct worker w[THREADS];
	atomic_store(&running, 1);
	assert_int_equal(pthread_create(&dr, NULL, drainer, NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i, .rng = 0x1234567ull * (uint64_t)(i + 1) };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	unsigned long allocs = 0;
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		allocs += w[i].allocs;
	}
	atomic_store(&running, 0);
	assert_int_equal(pthread_join(dr, NULL), 0);
	printf("stress: %d threads, %lu allocations\n", THREADS, allocs);
	assert_true(allocs > THREADS * OPS_PER_THREAD / 3);
	zt_assert_clean(m);
	assert_int_equal(zpa_total_free(m), managed);
	zpa_drain_all_pages(m);
	zt_assert_clean(m);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA32, &zi), 0);
	assert_int_equal(zi.pcp, 0);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
