/*
 * test_oom.c (ThreadSanitizer) - memcg OOM under contention: worker
 * threads in sibling groups under one capped parent register themselves
 * with the OOM killer and allocate accounted pages until charges fail;
 * the killer (run by whichever thread hits the limit) frees a victim's
 * pages from its kill() on another thread, and the victim unregisters and
 * starts over.  Then every page is freed, usage is 0, every kill was
 * counted and the full consistency check passes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers/zt.h"

#define THREADS 4
#define ROUNDS 40
#define HOLD 96

static struct zpa_machine *m;

struct worker {
	int id;
	struct zpa_memcg *g;
	pthread_mutex_t lock;        /* pages[] and n: the owner and killers */
	zpa_pfn_t pages[HOLD];
	_Atomic int n;
	_Atomic int killed;
	_Atomic unsigned long kills;
	unsigned long fails;
};

static void w_footprint(void *arg, struct zpa_oom_footprint *out)
{
	struct worker *w = arg;
	out->rss_anon = (uint64_t)atomic_load(&w->n);
}

/* SIGKILL: the "process" drops all its memory now, from whatever thread kills it. */
static void w_kill(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	int n = atomic_load(&w->n);
	for (int i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, w->pages[i], 0), 0);
	atomic_store(&w->n, 0);
	atomic_store(&w->killed, 1);
	atomic_fetch_add(&w->kills, 1);
	pthread_mutex_unlock(&w->lock);
}

static const struct zpa_oom_task_ops w_ops = { w_footprint, w_kill, NULL };

static void *run(void *arg)
{
	struct worker *w = arg;
	struct zpa_oom_task_info info = { 100 + w->id, "worker", 0, &w_ops, w };
	zpa_task_set_memcg(NULL, w->g);
	assert_int_equal(zpa_oom_task_add(m, NULL, &info), 0);
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < HOLD; i++) {
			if (atomic_load(&w->killed)) {
				/* exit and start over as a new process */
				assert_int_equal(zpa_oom_task_remove(m, NULL), 0);
				assert_false(zpa_task_is_oom_victim(NULL));
				atomic_store(&w->killed, 0);
				assert_int_equal(zpa_oom_task_add(m, NULL, &info), 0);
			}
			zpa_pfn_t p = zpa_alloc_pages(m, ZPA_GFP_KERNEL_ACCOUNT, 0);
			if (p == ZPA_PFN_NONE) {
				w->fails++;
				continue;
			}
			pthread_mutex_lock(&w->lock);
			int n = atomic_load(&w->n);
			if (n < HOLD) {
				w->pages[n] = p;
				atomic_store(&w->n, n + 1);
				p = ZPA_PFN_NONE;
			}
			pthread_mutex_unlock(&w->lock);
			if (p != ZPA_PFN_NONE)
				assert_int_equal(zpa_free_pages(m, p, 0), 0);
		}
		/* give half back */
		pthread_mutex_lock(&w->lock);
		int n = atomic_load(&w->n);
		for (int i = n / 2; i < n; i++)
			assert_int_equal(zpa_free_pages(m, w->pages[i], 0), 0);
		atomic_store(&w->n, n / 2);
		pthread_mutex_unlock(&w->lock);
	}
	assert_int_equal(zpa_oom_task_remove(m, NULL), 0);
	pthread_mutex_lock(&w->lock);
	int n = atomic_load(&w->n);
	for (int i = 0; i < n; i++)
		assert_int_equal(zpa_free_pages(m, w->pages[i], 0), 0);
	atomic_store(&w->n, 0);
	pthread_mutex_unlock(&w->lock);
	zpa_task_set_memcg(NULL, NULL);
	return NULL;
}

static void test_memcg_oom_threads(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zt_log log = { 0 };
	zt_config_simple(&cfg, 256, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_memcg *p;
	assert_int_equal(zpa_memcg_create(m, NULL, "p", &p), 0);
	assert_int_equal(zpa_memcg_set_limit(p, ZPA_MEMCG_LIMIT_MAX, 200), 0);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .id = i };
		pthread_mutex_init(&w[i].lock, NULL);
		assert_int_equal(zpa_memcg_create(m, p, "w", &w[i].g), 0);
		assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
	}
	unsigned long kills = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		kills += atomic_load(&w[i].kills);
		pthread_mutex_destroy(&w[i].lock);
	}
	bool ok;
	assert_int_equal(zpa_vmstat(m, "oom_kill", &ok), kills);
	struct zpa_memcg_stat s;
	assert_int_equal(zpa_memcg_stat(p, &s), 0);
	assert_int_equal(s.usage, 0);
	assert_true(s.peak <= 200);
	assert_int_equal(s.events_oom_kill, kills);
	printf("kills %lu, oom events %llu\n", kills, (unsigned long long)s.events_oom);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memcg_oom_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
