/*
 * test_reclaim_stress.c (ThreadSanitizer) - LRU reclaim racing its page
 * owners: owner threads add pages to the LRU (file and anon, some charged to
 * a memcg), touch, dirty and free them, and complete the writebacks reclaim
 * started, while reclaimer threads run direct, kswapd-style, memcg and
 * drop_caches reclaim, and another thread registers and unregisters
 * shrinkers.  Pages are freed by whoever wins an atomic claim: the owner
 * (zpa_free_pages() while the page may be isolated) or evict().  At the end
 * every page is released: the lists must be empty, nothing isolated, and
 * zpa_check() clean.
 *
 * Owners take a page off the LRU (zpa_lru_del(), which fails while reclaim
 * has it isolated) before freeing it.  With STRESS_FREE_ISOLATED they free
 * it directly, even while isolated, as zpa/reclaim.h allows; that needs the
 * free path to read page flags atomically (page_alloc.c's free_pages_slow()
 * and free_pages_check() do plain reads, which ThreadSanitizer reports
 * against reclaim's atomic updates of the LRU bits).
 *
 * Worker threads exit together once all work is done: a thread's exit folds
 * its per-thread counters into every zone counter with a plain
 * read-modify-write (pcp.c's thread_pageset_release()), which would lose
 * concurrent updates of the LRU zone counters.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"
#include "internal.h"

#define OWNERS 3
#define RECLAIMERS 2
#define OPS 12000
#define LIVE_MAX 600
#define SPAN 0x44000ul
#define QCAP 4096

/*
 * Page state: LIVE (the owner holds it), WB (writeback started, not yet
 * ended by the owner), BUSY (the owner is using the page: its page lock,
 * which evict() and writepage() only try, as folio_trylock()).
 */
#define ST_LIVE 0x1u
#define ST_WB   0x2u
#define ST_BUSY 0x4u
#define ST_OWNER_SHIFT 8        /* bits 8-15: owner thread */
#define ST_GEN_SHIFT 16          /* bits 16-31: allocation generation (stale entries) */
#define ST_ID_MASK 0xffffff00u
#ifndef STRESS_FREE_ISOLATED
#define STRESS_FREE_ISOLATED 0
#endif

static struct zpa_machine *m;
static unsigned long base;
static _Atomic uint32_t st[SPAN];
static atomic_int stop;
static int owner_id;
static struct zpa_memcg *group;
static atomic_int owners_done;
static pthread_barrier_t exit_barrier;

struct wbq {
	zpa_spinlock_t lock;
	zpa_pfn_t pfn[QCAP];
	unsigned n;
};
static struct wbq queues[OWNERS];

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static _Atomic uint32_t *state(zpa_pfn_t pfn)
{
	if (pfn < base || pfn >= base + SPAN)
		abort();
	return &st[pfn - base];
}

/* ---- owner callbacks (run in reclaimer threads) ---- */

static int cb_referenced(void *arg, zpa_pfn_t pfn, unsigned order)
{
	(void)arg; (void)order;
	uint64_t h = pfn * 0x9e3779b97f4a7c15ull;
	return (int)((h >> 60) % 3);
}

static int cb_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)ctx;
	_Atomic uint32_t *s = state(pfn);
	uint32_t v = atomic_load(s);
	if ((pfn >> 3) % 5 == 0)
		return ZPA_EVICT_CLEAN;  /* written synchronously */
	do {
		if (!(v & ST_LIVE) || (v & (ST_WB | ST_BUSY)))
			return ZPA_EVICT_KEEP;   /* let go meanwhile, or in use */
	} while (!atomic_compare_exchange_weak(s, &v, v | ST_WB));
	struct wbq *q = &queues[(v >> ST_OWNER_SHIFT) & 0xff];
	zpa_spin_lock(&q->lock);
	bool ok = q->n < QCAP;
	if (ok)
		q->pfn[q->n++] = pfn;
	zpa_spin_unlock(&q->lock);
	if (!ok) {
		atomic_fetch_and(s, ~ST_WB);
		return ZPA_EVICT_KEEP;
	}
	(void)order;
	return ZPA_EVICT_WRITEBACK;
}

static int cb_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)ctx;
	_Atomic uint32_t *s = state(pfn);
	uint32_t v = atomic_load(s);
	do {
		if (!(v & ST_LIVE) || (v & (ST_WB | ST_BUSY)))
			return ZPA_EVICT_KEEP;
	} while (!atomic_compare_exchange_weak(s, &v, v & ST_ID_MASK));
	if (zpa_free_pages(m, pfn, order))
		abort();
	return ZPA_EVICT_FREED;
}

static const struct zpa_page_owner_ops ops = {
	.name = "stress", .referenced = cb_referenced, .writepage = cb_writepage, .evict = cb_evict,
};

/* ---- shrinkers ---- */

struct fshrink {
	_Atomic unsigned long objects;
	_Atomic int in_call;
};

static unsigned long sh_count(void *arg, struct zpa_shrink_control *sc)
{
	struct fshrink *s = arg;
	(void)sc;
	atomic_fetch_add(&s->in_call, 1);
	unsigned long n = atomic_load(&s->objects);
	atomic_fetch_sub(&s->in_call, 1);
	return n;
}

static unsigned long sh_scan(void *arg, struct zpa_shrink_control *sc)
{
	struct fshrink *s = arg;
	atomic_fetch_add(&s->in_call, 1);
	unsigned long have = atomic_load(&s->objects), n = sc->nr_to_scan < have ? sc->nr_to_scan : have;
	atomic_fetch_sub(&s->objects, n);
	sc->nr_freed_pages += n / 8;
	atomic_fetch_sub(&s->in_call, 1);
	return n;
}

static const struct zpa_shrinker_ops shops = {
	.name = "stress", .count_objects = sh_count, .scan_objects = sh_scan, .seeks = 2,
};
static const struct zpa_shrinker_ops shops_numa = {
	.name = "stress-numa", .count_objects = sh_count, .scan_objects = sh_scan, .seeks = 0,
	.flags = ZPA_SHRINKER_NUMA_AWARE | ZPA_SHRINKER_MEMCG_AWARE,
};

static void *shrinker_churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct fshrink s[2];
		struct zpa_shrinker *h[2];
		for (int k = 0; k < 2; k++) {
			atomic_init(&s[k].objects, 5000);
			atomic_init(&s[k].in_call, 0);
			if (zpa_shrinker_register(m, k ? &shops_numa : &shops, &s[k], &h[k]))
				abort();
		}
		for (int spin = 0; spin < 2000 && !atomic_load(&stop); spin++)
			zpa_port_cpu_relax();
		for (int k = 0; k < 2; k++) {
			zpa_shrinker_unregister(m, h[k]);
			if (atomic_load(&s[k].in_call))
				abort();   /* unregister returned while a call was running */
		}
	}
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

/* ---- owners ---- */

static void end_writebacks(int me)
{
	struct wbq *q = &queues[me];
	for (;;) {
		zpa_spin_lock(&q->lock);
		zpa_pfn_t pfn = q->n ? q->pfn[--q->n] : ZPA_PFN_NONE;
		zpa_spin_unlock(&q->lock);
		if (pfn == ZPA_PFN_NONE)
			return;
		if (zpa_page_end_writeback(m, pfn))
			abort();
		atomic_fetch_and(state(pfn), ~ST_WB);
	}
}

/* Lock a page the owner still holds (false if reclaim took it). */
static bool page_trylock(zpa_pfn_t pfn, uint32_t id)
{
	uint32_t v = atomic_load(state(pfn));
	do {
		if ((v & ST_ID_MASK) != id || !(v & ST_LIVE) || (v & ST_BUSY))
			return false;
	} while (!atomic_compare_exchange_weak(state(pfn), &v, v | ST_BUSY));
	return true;
}

static void page_unlock(zpa_pfn_t pfn)
{
	atomic_fetch_and(state(pfn), ~ST_BUSY);
}

struct owner_thread {
	int me;
	uint64_t rng;
	zpa_pfn_t live[LIVE_MAX];
	unsigned order[LIVE_MAX];
	uint32_t id[LIVE_MAX];    /* owner and generation the entry was made with */
	int n;
};

static void forget(struct owner_thread *o, int i)
{
	o->n--;
	o->live[i] = o->live[o->n];
	o->order[i] = o->order[o->n];
	o->id[i] = o->id[o->n];
}

/* Let go of live[i] if the owner still holds it and no writeback runs; false to retry later. */
static bool owner_free(struct owner_thread *o, int i)
{
	zpa_pfn_t pfn = o->live[i];
	uint32_t v = atomic_load(state(pfn));
	if ((v & ST_ID_MASK) != o->id[i] || !(v & ST_LIVE)) {
		forget(o, i);   /* reclaim evicted it (and maybe someone reused the pfn) */
		return true;
	}
	if ((v & (ST_WB | ST_BUSY)) || !atomic_compare_exchange_strong(state(pfn), &v, v & ST_ID_MASK))
		return false;
	/* Claimed: reclaim's evict() and writepage() now leave it alone. */
	if (!STRESS_FREE_ISOLATED) {
		int err = zpa_lru_del(m, pfn);
		if (err == ZPA_EBUSY) {
			atomic_store(state(pfn), v);   /* isolated: try again later */
			return false;
		}
		if (err)
			abort();
	}
	if (zpa_free_pages(m, pfn, o->order[i]))
		abort();
	forget(o, i);
	return true;
}

static void *owner(void *arg)
{
	struct owner_thread *o = arg;
	for (int op = 0; op < OPS; op++) {
		end_writebacks(o->me);
		unsigned r = (unsigned)(next(&o->rng) % 100);
		if (r < 45 && o->n < LIVE_MAX) {
			unsigned order = next(&o->rng) % 8 == 0 ? 2 : 0;
			zpa_gfp_t gfp = ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP | ZPA___GFP_NOWARN;
			zpa_pfn_t pfn = zpa__alloc_pages(m, NULL, gfp, order, (int)(next(&o->rng) % 2), NULL);
			if (pfn == ZPA_PFN_NONE)
				continue;
			uint32_t gen = ((atomic_load(state(pfn)) >> ST_GEN_SHIFT) + 1) & 0xffff;
			uint32_t id = (gen << ST_GEN_SHIFT) | ((uint32_t)o->me << ST_OWNER_SHIFT);
			atomic_store(state(pfn), ST_LIVE | id);
			unsigned flags = (unsigned)(next(&o->rng) % 8);
			if (o->me == 0 && order == 0 && next(&o->rng) % 2)
				zpa_memcg_charge_page(m, group, pfn, 0, 0);
			if (zpa_lru_add(m, pfn, owner_id, flags))
				abort();
			o->live[o->n] = pfn;
			o->id[o->n] = id;
			o->order[o->n++] = order;
		} else if (r < 75 && o->n) {
			unsigned i = (unsigned)(next(&o->rng) % (unsigned)o->n);
			zpa_pfn_t pfn = o->live[i];
			if (page_trylock(pfn, o->id[i])) {
				if (r < 65 ? zpa_mark_page_accessed(m, pfn) : zpa_page_set_dirty(m, pfn))
					abort();
				page_unlock(pfn);
			}
		} else if (o->n) {
			owner_free(o, (int)(next(&o->rng) % (unsigned)o->n));
		}
	}
	/* Wind down: end every writeback, then let every page go. */
	while (o->n) {
		end_writebacks(o->me);
		for (int i = o->n - 1; i >= 0; i--)
			owner_free(o, i);
	}
	atomic_fetch_add(&owners_done, 1);
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

/* ---- reclaimers ---- */

struct reclaimer_thread {
	int me;
	uint64_t rng;
	unsigned long reclaimed;
};

static void *reclaimer(void *arg)
{
	struct reclaimer_thread *r = arg;
	struct zpa_task *task = zpa_task_create();
	zpa_task_set_cpu(task, r->me);
	while (!atomic_load(&stop)) {
		unsigned what = (unsigned)(next(&r->rng) % 10);
		if (what < 5) {
			static const zpa_gfp_t gfps[] = {
				ZPA_GFP_KERNEL, ZPA_GFP_NOIO, ZPA_GFP_NOFS, ZPA_GFP_HIGHUSER_MOVABLE,
			};
			zpa_gfp_t gfp = gfps[next(&r->rng) % 4];
			struct alloc_context ac;
			unsigned alloc_flags = 0;
			if (!prepare_alloc_pages(m, task, gfp, (int)(next(&r->rng) % 2), NULL, &ac, &gfp, &alloc_flags))
				abort();
			task->flags |= ZPA_PF_MEMALLOC;
			unsigned saved = zpa_task_flags_save(zpa_task_current(), ZPA_PF_MEMALLOC);
			r->reclaimed += try_to_free_pages(m, &ac, (unsigned)(next(&r->rng) % 3), gfp);
			zpa_task_flags_restore(zpa_task_current(), saved, ZPA_PF_MEMALLOC);
			task->flags &= ~ZPA_PF_MEMALLOC;
		} else if (what < 8) {
			struct scan_control sc = {
				.nr_to_reclaim = 64, .gfp_mask = ZPA_GFP_KERNEL, .priority = (int)(next(&r->rng) % 13),
				.reclaim_idx = (int)m->nr_zone_types - 1, .kswapd = true, .may_writepage = true,
				.may_unmap = true, .may_swap = true, .task = task,
			};
			pg_data_t *pgdat = m->nodes[next(&r->rng) % 2];
			task->flags |= ZPA_PF_MEMALLOC;
			unsigned saved = zpa_task_flags_save(zpa_task_current(), ZPA_PF_MEMALLOC);
			shrink_node(m, pgdat, &sc);
			kswapd_age_node(m, pgdat, &sc);
			zpa_task_flags_restore(zpa_task_current(), saved, ZPA_PF_MEMALLOC);
			task->flags &= ~ZPA_PF_MEMALLOC;
			r->reclaimed += sc.nr_reclaimed;
			if (next(&r->rng) % 4 == 0)
				clear_pgdat_flag(pgdat, PGDAT_DIRTY | PGDAT_WRITEBACK | PGDAT_CONGESTED);
		} else if (what < 9) {
			r->reclaimed += try_to_free_mem_cgroup_pages(m, group, 16, ZPA_GFP_KERNEL, next(&r->rng) % 2);
		} else {
			r->reclaimed += zpa_drop_caches(m, 1 + (int)(next(&r->rng) % 3));
		}
	}
	zpa_task_destroy(task);
	pthread_barrier_wait(&exit_barrier);
	return NULL;
}

int main(void)
{
	m = zt_numa_machine(2, 64, false);
	base = m->nodes[0]->node_start_pfn;
	zpa_swap_set(m, 1ul << 20, 1ul << 20);
	owner_id = zpa_page_owner_register(m, &ops, NULL);
	if (owner_id < 1 || zpa_memcg_create(m, NULL, "stress", &group))
		abort();
	for (int i = 0; i < OWNERS; i++)
		zpa_spin_lock_init(&queues[i].lock);
	pthread_barrier_init(&exit_barrier, NULL, OWNERS + RECLAIMERS + 1);

	pthread_t ot[OWNERS], rt[RECLAIMERS], sht;
	static struct owner_thread owners[OWNERS];
	static struct reclaimer_thread reclaimers[RECLAIMERS];
	for (int i = 0; i < RECLAIMERS; i++) {
		reclaimers[i] = (struct reclaimer_thread){ .me = i, .rng = 1000u + (unsigned)i };
		pthread_create(&rt[i], NULL, reclaimer, &reclaimers[i]);
	}
	pthread_create(&sht, NULL, shrinker_churn, NULL);
	for (int i = 0; i < OWNERS; i++) {
		owners[i] = (struct owner_thread){ .me = i, .rng = 7u + (unsigned)i };
		pthread_create(&ot[i], NULL, owner, &owners[i]);
	}
	while (atomic_load(&owners_done) < OWNERS)
		sched_yield();
	atomic_store(&stop, 1);
	for (int i = 0; i < OWNERS; i++)
		pthread_join(ot[i], NULL);
	for (int i = 0; i < RECLAIMERS; i++)
		pthread_join(rt[i], NULL);
	pthread_join(sht, NULL);
	pthread_barrier_destroy(&exit_barrier);

	unsigned long reclaimed = 0;
	for (int i = 0; i < RECLAIMERS; i++)
		reclaimed += reclaimers[i].reclaimed;
	int bad = 0;
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		uint64_t s[ZPA_NR_LRU_LISTS];
		zpa_lru_sizes(m, (int)n, s);
		for (int l = 0; l < ZPA_NR_LRU_LISTS; l++)
			bad |= s[l] != 0;
		bad |= node_page_state(m->nodes[n], NR_ISOLATED_ANON) || node_page_state(m->nodes[n], NR_ISOLATED_FILE);
		bad |= node_page_state(m->nodes[n], NR_WRITEBACK) || node_page_state(m->nodes[n], NR_FILE_DIRTY);
	}
	char report[4096];
	int rc = zpa_check(m, report, sizeof report);
	printf("reclaimed %lu pages, pgscan_direct %llu, pgsteal_kswapd %llu, slabs_scanned %llu\n", reclaimed,
	       (unsigned long long)zpa_vmstat(m, "pgscan_direct", NULL),
	       (unsigned long long)zpa_vmstat(m, "pgsteal_kswapd", NULL),
	       (unsigned long long)zpa_vmstat(m, "slabs_scanned", NULL));
	if (rc)
		fprintf(stderr, "zpa_check: %s\n", report);
	if (bad)
		fprintf(stderr, "LRU state left behind\n");
	if (zpa_vmstat(m, "zpa_warn", NULL)) {
		fprintf(stderr, "zpa_warn counted: an honest owner was warned about\n");
		bad = 1;
	}
	zpa_machine_destroy(m);
	return rc || bad || !reclaimed;
}
