/*
 * test_reclaim.c - LRU reclaim and shrinkers (vmscan.c): the page aging
 * state machine, the order reclaim takes pages in and Linux 6.1's reference
 * rules, deactivation when the inactive list is low, the anon/file balance
 * (swappiness, no swap, __GFP_IO), dirty and writeback pages, the shrinker
 * formula with its deferred work, direct and memcg reclaim, drop_caches,
 * owners that free pages under reclaim, and the recursion guard.
 *
 * A fake owner stands for a page cache and an anonymous memory manager with
 * swap: it allocates pages, puts them on the LRU, answers referenced(),
 * writepage() and evict() from per-page settings, and frees pages with
 * zpa_free_pages() when evicting.  Counts are exact wherever the algorithm
 * determines them; the derivations are in the comments.  Every test ends
 * with an LRU audit (lists, counters, no page left isolated) and zpa_check.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"
#include "internal.h"

#define NONE ZPA_PFN_NONE
#define PFN0 0x100000ul   /* zt_numa_machine: node n at 4 GiB + n GiB */
#define SPAN 0x80000ul    /* two 64 MiB nodes, or one of 2 GiB */
#define GFP_PAGE (ZPA_GFP_HIGHUSER_MOVABLE | ZPA___GFP_COMP)

/* ---- the fake owner ---- */

struct fpage {
	uint8_t live;         /* the owner holds its reference */
	int8_t refs;          /* referenced() answer, cleared once read (a negative one stays) */
	uint8_t evict;        /* evict() answer: ZPA_EVICT_* (0 = FREED) */
	uint8_t wp;           /* writepage() answer: 0 = WRITEBACK, or ZPA_EVICT_* */
	uint8_t self_free;    /* evict(): the owner frees the page on its own, then answers `evict` */
	uint8_t in_swap;      /* anon: the swap copy is current (writepage answers CLEAN) */
	uint8_t anon;
	uint16_t n_evict, n_wp, n_ref;
};

struct owner {
	struct zpa_machine *m;
	int id;
	unsigned long base;       /* the machine's first pfn: pg[] index 0 */
	struct fpage *pg;
	unsigned evicts, writepages, refcalls, no_memalloc;
	struct zpa_reclaim_ctx last_ctx;
	void (*evict_hook)(struct owner *o, zpa_pfn_t pfn);
	long hook_result[4];
};

static struct fpage *fp(struct owner *o, zpa_pfn_t pfn)
{
	assert_true(pfn >= o->base && pfn < o->base + SPAN);
	return &o->pg[pfn - o->base];
}

static void check_memalloc(struct owner *o)
{
	if (!(zpa_task_flags(zpa_task_current()) & ZPA_PF_MEMALLOC))
		o->no_memalloc++;
}

static int o_referenced(void *arg, zpa_pfn_t pfn, unsigned order)
{
	struct owner *o = arg;
	struct fpage *p = fp(o, pfn);
	(void)order;
	o->refcalls++;
	p->n_ref++;
	check_memalloc(o);
	int r = p->refs;
	if (r > 0)
		p->refs = 0;
	return r;
}

static int o_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct owner *o = arg;
	struct fpage *p = fp(o, pfn);
	o->writepages++;
	p->n_wp++;
	o->last_ctx = *ctx;
	check_memalloc(o);
	if (p->anon && p->in_swap)
		return ZPA_EVICT_CLEAN;
	int r = p->wp ? p->wp : ZPA_EVICT_WRITEBACK;
	if (p->anon && (r == ZPA_EVICT_WRITEBACK || r == ZPA_EVICT_CLEAN)) {
		zpa_swap_account(o->m, -(1l << order));
		p->in_swap = 1;
	}
	return r;
}

static int o_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct owner *o = arg;
	struct fpage *p = fp(o, pfn);
	o->evicts++;
	p->n_evict++;
	o->last_ctx = *ctx;
	check_memalloc(o);
	if (o->evict_hook)
		o->evict_hook(o, pfn);
	if (p->self_free || p->evict == ZPA_EVICT_FREED) {
		assert_true(p->live);
		p->live = 0;
		assert_int_equal(zpa_free_pages(o->m, pfn, order), 0);
	}
	return p->evict;
}

static const struct zpa_page_owner_ops owner_ops = {
	.name = "fake",
	.referenced = o_referenced,
	.writepage = o_writepage,
	.evict = o_evict,
};

static struct owner *owner_new(struct zpa_machine *m)
{
	struct owner *o = calloc(1, sizeof(*o));
	assert_non_null(o);
	o->pg = calloc(SPAN, sizeof(*o->pg));
	assert_non_null(o->pg);
	o->m = m;
	o->base = m->nodes[0]->node_start_pfn;
	o->id = zpa_page_owner_register(m, &owner_ops, o);
	assert_true(o->id >= 1);
	return o;
}

/* Put an allocated page on the LRU for the owner with flags (ZPA_LRU_*). */
static void adopt(struct owner *o, zpa_pfn_t pfn, unsigned flags)
{
	struct fpage *p = fp(o, pfn);
	memset(p, 0, sizeof(*p));
	p->live = 1;
	p->anon = !!(flags & ZPA_LRU_ANON);
	assert_int_equal(zpa_lru_add(o->m, pfn, o->id, flags), 0);
}

/* Allocate a page on node nid and put it on the LRU with flags (ZPA_LRU_*). */
static zpa_pfn_t add(struct owner *o, int nid, unsigned flags)
{
	zpa_pfn_t pfn = zpa__alloc_pages(o->m, NULL, GFP_PAGE | ZPA___GFP_THISNODE, 0, nid, NULL);
	assert_true(pfn != NONE);
	adopt(o, pfn, flags);
	return pfn;
}

/* The owner frees one of its pages (it leaves the LRU with its last reference). */
static void drop(struct owner *o, zpa_pfn_t pfn)
{
	assert_true(fp(o, pfn)->live);
	fp(o, pfn)->live = 0;
	assert_int_equal(zpa_free_pages(o->m, pfn, 0), 0);
}

static void add_n(struct owner *o, int nid, unsigned flags, zpa_pfn_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = add(o, nid, flags);
}

/* The owner lets every page it still holds go (end of a test). */
static void owner_free_all(struct owner *o)
{
	for (unsigned long i = 0; i < SPAN; i++)
		if (o->pg[i].live) {
			o->pg[i].live = 0;
			assert_int_equal(zpa_free_pages(o->m, o->base + i, 0), 0);
		}
}

static void owner_destroy(struct owner *o)
{
	free(o->pg);
	free(o);
}

/* ---- machine and inspection helpers ---- */

static struct zpa_machine *machine(unsigned nodes)
{
	return zt_numa_machine(nodes, 64, true);
}

static uint64_t ev(struct zpa_machine *m, const char *name)
{
	bool ok = false;
	uint64_t v = zpa_vmstat(m, name, &ok);
	if (!ok)
		fprintf(stderr, "no vmstat item %s\n", name);
	assert_true(ok);
	return v;
}

static uint32_t pflags(struct zpa_machine *m, zpa_pfn_t pfn)
{
	pg_data_t *pgdat;
	struct zpa_page *page;
	assert_true(pfn_to_node_page(m, pfn, &pgdat, &page));
	return READ_ONCE(page->flags);
}

static uint64_t lru_size(struct zpa_machine *m, int nid, int lru)
{
	uint64_t s[ZPA_NR_LRU_LISTS];
	assert_int_equal(zpa_lru_sizes(m, nid, s), 0);
	return s[lru];
}

/* The pfn at the tail (oldest) or head (newest) of a list; NONE if empty. */
static zpa_pfn_t lru_end(struct zpa_machine *m, int nid, int lru, bool tail)
{
	pg_data_t *pgdat = m->nodes[nid];
	zpa_spin_lock(&pgdat->lruvec.lru_lock);
	uint32_t idx = tail ? pgdat->lruvec.lists[lru].tail : pgdat->lruvec.lists[lru].head;
	zpa_spin_unlock(&pgdat->lruvec.lru_lock);
	return idx == ZPA_NIL ? NONE : pgdat->node_start_pfn + idx;
}

/*
 * Walk every list of every node: links, flags and the counters agree, no
 * page is left isolated, and the writeback and dirty counters match the
 * pages carrying those bits.
 */
static void lru_audit(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++) {
		pg_data_t *pgdat = m->nodes[n];
		if (!pgdat)
			continue;
		unsigned long per[NR_LRU_LISTS] = { 0 }, wb = 0, dirty = 0, zsum[NR_LRU_LISTS] = { 0 };
		zpa_spin_lock(&pgdat->lruvec.lru_lock);
		for (int lru = 0; lru < NR_LRU_LISTS; lru++) {
			uint32_t prev = ZPA_NIL;
			struct zpa_page *map = pgdat->node_mem_map;
			for (uint32_t idx = pgdat->lruvec.lists[lru].head; idx != ZPA_NIL; idx = map[idx].next) {
				struct zpa_page *p = &map[idx];
				uint32_t f = READ_ONCE(p->flags);
				assert_true(f & PG_onlru);
				assert_false(f & PG_isolated);
				assert_true(f & PG_alloc);
				assert_int_equal(page_lru_of(f), lru);
				assert_int_equal(p->prev, prev);
				assert_true(p->refcount >= 1);
				unsigned long nr = 1ul << page_order(p);
				per[lru] += nr;
				if (f & PG_writeback)
					wb += nr;
				if ((f & PG_dirty) && !(f & PG_swapbacked))
					dirty += nr;
				prev = idx;
			}
			assert_int_equal(pgdat->lruvec.lists[lru].tail, prev);
			assert_int_equal(per[lru], pgdat->lruvec.nr_pages[lru]);
			enum node_stat_item item = (enum node_stat_item)(NR_INACTIVE_ANON + lru);
			assert_int_equal(per[lru], node_page_state(pgdat, item));
		}
		zpa_spin_unlock(&pgdat->lruvec.lru_lock);
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++)
			for (int lru = 0; lru < NR_LRU_LISTS; lru++)
				zsum[lru] += zone_page_state(&pgdat->node_zones[zi],
							     (enum zone_stat_item)(NR_ZONE_INACTIVE_ANON + lru));
		for (int lru = 0; lru < NR_LRU_LISTS; lru++)
			assert_int_equal(zsum[lru], per[lru]);
		assert_int_equal(node_page_state(pgdat, NR_ISOLATED_ANON), 0);
		assert_int_equal(node_page_state(pgdat, NR_ISOLATED_FILE), 0);
		assert_int_equal(node_page_state(pgdat, NR_WRITEBACK), wb);
		assert_int_equal(node_page_state(pgdat, NR_FILE_DIRTY), dirty);
	}
}

static void finish(struct zpa_machine *m, struct owner *o)
{
	lru_audit(m);
	zt_assert_clean(m);
	if (o) {
		owner_free_all(o);
		for (unsigned n = 0; n < m->nr_nodes; n++)
			for (int lru = 0; lru < ZPA_NR_LRU_LISTS; lru++)
				assert_int_equal(lru_size(m, (int)n, lru), 0);
		lru_audit(m);
		zt_assert_clean(m);
		assert_int_equal(o->no_memalloc, 0);
		owner_destroy(o);
	}
	zpa_machine_destroy(m);
}

/* A reclaim pass as a caller of shrink_node() sets one up. */
static struct scan_control scan(struct zpa_machine *m, zpa_gfp_t gfp, int priority, bool kswapd)
{
	return (struct scan_control){
		.nr_to_reclaim = kswapd ? ~0ul : SWAP_CLUSTER_MAX,
		.gfp_mask = gfp,
		.priority = priority,
		.reclaim_idx = (int)m->nr_zone_types - 1,
		.kswapd = kswapd,
		.may_writepage = true,
		.may_unmap = true,
		.may_swap = true,
		.task = zpa_task_current(),
	};
}

/* shrink_node() as its callers run it: the reclaiming task has PF_MEMALLOC. */
static void run_node(struct zpa_machine *m, int nid, struct scan_control *sc)
{
	unsigned saved = zpa_task_flags_save(sc->task, ZPA_PF_MEMALLOC);
	shrink_node(m, m->nodes[nid], sc);
	zpa_task_flags_restore(sc->task, saved, ZPA_PF_MEMALLOC);
}

static bool has(uint32_t flags, uint32_t bits) { return (flags & bits) == bits; }

/* ---- tests ---- */

/* mark_page_accessed(): inactive, referenced, active (pgactivate), active+referenced. */
static void test_mark_page_accessed(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_pfn_t f = add(o, 0, 0), a = add(o, 0, ZPA_LRU_ANON);

	assert_false(pflags(m, f) & (PG_referenced | PG_active));
	assert_int_equal(zpa_mark_page_accessed(m, f), 0);
	assert_true(pflags(m, f) & PG_referenced);
	assert_false(pflags(m, f) & PG_active);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 1);
	assert_int_equal(ev(m, "pgactivate"), 0);

	assert_int_equal(zpa_mark_page_accessed(m, f), 0);
	assert_true(pflags(m, f) & PG_active);
	assert_false(pflags(m, f) & PG_referenced);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 0);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 1);
	assert_int_equal(ev(m, "pgactivate"), 1);

	assert_int_equal(zpa_mark_page_accessed(m, f), 0);
	assert_true(has(pflags(m, f), PG_active | PG_referenced));
	assert_int_equal(zpa_mark_page_accessed(m, f), 0);
	assert_true(has(pflags(m, f), PG_active | PG_referenced));
	assert_int_equal(ev(m, "pgactivate"), 1);

	/* The same for an anonymous page, on the anon lists. */
	assert_int_equal(zpa_mark_page_accessed(m, a), 0);
	assert_int_equal(zpa_mark_page_accessed(m, a), 0);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_ANON), 1);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_ANON), 0);
	assert_int_equal(ev(m, "pgactivate"), 2);
	finish(m, o);
}

/*
 * Reclaim takes the inactive tail first and applies 6.1's reference rules:
 * used through a mapping once -> kept (and marked); marked and used again,
 * or used through two mappings -> activated; only marked (file, clean) ->
 * reclaimed; the owner could not look (-1) -> kept.
 */
static void test_inactive_tail_and_references(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_pfn_t p[64];
	add_n(o, 0, 0, p, 64);           /* p[0] is the oldest: the tail */
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), p[0]);
	fp(o, p[0])->refs = 1;            /* KEEP */
	fp(o, p[1])->refs = 1;            /* with PG_referenced: ACTIVATE */
	assert_int_equal(zpa_mark_page_accessed(m, p[1]), 0);
	fp(o, p[2])->refs = 2;            /* two mappings: ACTIVATE */
	assert_int_equal(zpa_mark_page_accessed(m, p[3]), 0); /* RECLAIM_CLEAN: clean, so reclaimed */
	fp(o, p[4])->refs = -1;           /* rmap contention: KEEP */

	/*
	 * Priority 1, no swap: SCAN_FILE; 64 inactive file >> 1 = 32 pages,
	 * one batch: p[0..31].  Four are spared, 28 reclaimed.
	 */
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 1, false);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 28);
	assert_int_equal(sc.nr_scanned, 32);
	assert_int_equal(ev(m, "pgscan_direct"), 32);
	assert_int_equal(ev(m, "pgscan_file"), 32);
	assert_int_equal(ev(m, "pgsteal_direct"), 28);
	assert_int_equal(ev(m, "pgsteal_file"), 28);
	assert_int_equal(ev(m, "pgscan_kswapd"), 0);
	assert_int_equal(ev(m, "pgactivate"), 2);
	for (int i = 5; i < 32; i++)
		assert_false(fp(o, p[i])->live);
	assert_false(fp(o, p[3])->live);
	for (int i = 32; i < 64; i++)
		assert_true(fp(o, p[i])->live);
	assert_true(has(pflags(m, p[0]), PG_onlru | PG_referenced));
	assert_false(pflags(m, p[0]) & PG_active);
	assert_true(has(pflags(m, p[1]), PG_onlru | PG_active | PG_referenced));
	assert_true(has(pflags(m, p[2]), PG_onlru | PG_active | PG_referenced));
	assert_false(pflags(m, p[4]) & (PG_active | PG_referenced));
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 2);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 34);
	/* Kept pages went back to the head, in order: p[4] newest, then p[0]; the tail is p[32]. */
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, false), p[4]);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), p[32]);
	assert_int_equal(o->refcalls, 32);
	assert_int_equal(o->writepages, 0);
	assert_false(o->last_ctx.kswapd);
	assert_int_equal(o->last_ctx.priority, 1);
	assert_null(o->last_ctx.memcg);

	/* Next pass: 34 >> 1 = 17 from the tail: p[32..48]. */
	sc = scan(m, ZPA_GFP_KERNEL, 1, false);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 17);
	for (int i = 32; i < 49; i++)
		assert_false(fp(o, p[i])->live);

	/*
	 * Drain the rest of the untouched pages, then p[0] (marked by its
	 * earlier use, no new one: RECLAIM_CLEAN) goes, while p[4] stays.
	 */
	for (int pass = 0; pass < 8 && fp(o, p[0])->live; pass++) {
		sc = scan(m, ZPA_GFP_KERNEL, 0, false);
		sc.nr_to_reclaim = ~0ul;
		run_node(m, 0, &sc);
	}
	assert_false(fp(o, p[0])->live);
	assert_true(fp(o, p[4])->live);
	assert_int_equal(fp(o, p[4])->n_evict, 0);
	finish(m, o);
}

/*
 * shrink_active_list(): with the inactive list low, a batch moves from the
 * active tail to the inactive head; referenced pages are deactivated too
 * (6.1 spares only executable file pages).  With the inactive list big
 * enough the active list is left alone.
 */
static void test_deactivation(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_pfn_t a[64];
	add_n(o, 0, ZPA_LRU_ACTIVE, a, 64);
	fp(o, a[3])->refs = 3;
	/* inactive 0 * 1 < active 64: low.  64 >> 1 = 32 deactivated, a[0..31]. */
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 1, false);
	run_node(m, 0, &sc);
	assert_true(sc.may_deactivate_file);
	assert_int_equal(sc.nr_reclaimed, 0);
	assert_int_equal(ev(m, "pgrefill"), 32);
	assert_int_equal(ev(m, "pgdeactivate"), 32);
	assert_int_equal(ev(m, "pgscan_direct"), 0);
	assert_int_equal(o->refcalls, 32);   /* accessed bits read (and cleared) on each */
	assert_int_equal(fp(o, a[3])->refs, 0);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 32);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 32);
	for (int i = 0; i < 32; i++)
		assert_false(pflags(m, a[i]) & PG_active);
	for (int i = 32; i < 64; i++)
		assert_true(pflags(m, a[i]) & PG_active);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), a[0]);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, false), a[31]);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_ACTIVE_FILE, true), a[32]);

	/*
	 * 32 inactive, 32 active: not low.  cache_trim_mode, SCAN_FILE: 16 of
	 * each list; the active 16 are skipped (skipped_deactivate), the
	 * inactive 16 reclaimed.
	 */
	sc = scan(m, ZPA_GFP_KERNEL, 1, false);
	run_node(m, 0, &sc);
	assert_false(sc.may_deactivate_file);
	assert_true(sc.cache_trim_mode);
	assert_true(sc.skipped_deactivate);
	assert_int_equal(sc.nr_reclaimed, 16);
	assert_int_equal(ev(m, "pgrefill"), 32);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 32);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 16);
	finish(m, o);
}

/* Swap available; 64 inactive anon, 16 inactive file, 64 active file. */
static struct owner *balance_setup(struct zpa_machine *m, zpa_pfn_t *anon)
{
	struct owner *o = owner_new(m);
	zpa_swap_set(m, 1000, 1000);
	zpa_pfn_t tmp[64];
	add_n(o, 0, ZPA_LRU_ANON | ZPA_LRU_DIRTY, anon, 64);
	add_n(o, 0, 0, tmp, 16);
	add_n(o, 0, ZPA_LRU_ACTIVE, tmp, 64);
	return o;
}

/*
 * swappiness 0, priority 0: the file lists are not tiny and the inactive
 * file list is low (no cache_trim_mode), so SCAN_FRACT with anon's share
 * swappiness * ... = 0: no anon page is even scanned.  The same state with
 * swappiness 60 is SCAN_EQUAL at priority 0 and swaps all 64.
 */
static void test_swappiness_zero(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	zpa_pfn_t anon[64];
	struct owner *o = balance_setup(m, anon);
	assert_int_equal(zpa_sysctl_set(m, "swappiness", "0"), 0);
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_false(sc.cache_trim_mode);
	assert_false(sc.file_is_tiny);
	assert_int_equal(ev(m, "pgscan_anon"), 0);
	assert_int_equal(o->writepages, 0);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_ANON), 64);
	assert_int_equal(ev(m, "pgscan_file"), 16);
	assert_int_equal(ev(m, "pgsteal_file"), 16);
	assert_int_equal(ev(m, "pgdeactivate"), 64);
	assert_int_equal(sc.nr_reclaimed, 16);
	finish(m, o);

	m = machine(1);
	o = balance_setup(m, anon);
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(ev(m, "pgscan_anon"), 64);
	assert_int_equal(o->writepages, 64);
	assert_true(o->last_ctx.may_swap);
	assert_int_equal(ev(m, "pswpout"), 64);
	assert_int_equal(ev(m, "nr_vmscan_write"), 64);
	assert_int_equal(ev(m, "nr_writeback"), 64);
	assert_int_equal(zpa_swap_free(m), 1000 - 64);
	assert_int_equal(ev(m, "pgsteal_anon"), 0);   /* under writeback: kept */
	for (int i = 0; i < 64; i++)
		assert_true(has(pflags(m, anon[i]), PG_writeback | PG_onlru));
	/*
	 * lru_note_cost(anon, 32) twice: 32 after the first batch (lists: 144
	 * pages), then 64 > 128 / 4 after the second, halved to 32.  File
	 * pageouts: none.
	 */
	assert_int_equal(m->nodes[0]->lruvec.anon_cost, 32);
	assert_int_equal(m->nodes[0]->lruvec.file_cost, 0);
	for (int i = 0; i < 64; i++)
		assert_int_equal(zpa_page_end_writeback(m, anon[i]), 0);
	finish(m, o);
}

/* No free swap: anon lists are never scanned, whatever the priority. */
static void test_no_swap_no_anon_scan(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		struct zpa_machine *m = machine(1);
		struct owner *o = owner_new(m);
		zpa_swap_set(m, round ? 100 : 0, 0);  /* none at all; a full device */
		zpa_pfn_t tmp[64];
		add_n(o, 0, ZPA_LRU_ANON | ZPA_LRU_DIRTY, tmp, 64);
		add_n(o, 0, ZPA_LRU_ANON | ZPA_LRU_ACTIVE, tmp, 64);
		struct alloc_context ac;
		zpa_gfp_t gfp = ZPA_GFP_KERNEL;
		unsigned alloc_flags = 0;
		assert_true(prepare_alloc_pages(m, zpa_task_current(), gfp, 0, NULL, &ac, &gfp, &alloc_flags));
		unsigned saved = zpa_task_flags_save(ac.task, ZPA_PF_MEMALLOC);
		assert_int_equal(try_to_free_pages(m, &ac, 0, gfp), 0);
		zpa_task_flags_restore(ac.task, saved, ZPA_PF_MEMALLOC);
		assert_int_equal(ev(m, "pgscan_anon"), 0);
		assert_int_equal(ev(m, "pgrefill"), 0);
		assert_int_equal(o->writepages, 0);
		assert_int_equal(o->refcalls, 0);
		assert_int_equal(ev(m, "allocstall_normal"), 1);
		assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_ANON), 64);
		assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_ANON), 64);
		finish(m, o);
	}
}

/*
 * Swap-out needs __GFP_IO: GFP_NOIO reclaim scans anon (SCAN_EQUAL at
 * priority 0) but keeps it, and frees only the clean file pages.  With
 * GFP_KERNEL the anon pages are written; once their writeback ends they
 * are rotated to the tail and the next pass evicts them.
 */
static void test_swap_needs_io(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_swap_set(m, 1000, 1000);
	zpa_pfn_t anon[32], file[32];
	add_n(o, 0, ZPA_LRU_ANON | ZPA_LRU_DIRTY, anon, 32);
	add_n(o, 0, 0, file, 32);

	struct scan_control sc = scan(m, ZPA_GFP_NOIO, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 32);
	assert_int_equal(o->writepages, 0);
	assert_int_equal(ev(m, "pgscan_anon"), 32);
	assert_int_equal(ev(m, "pgsteal_anon"), 0);
	assert_int_equal(ev(m, "pgsteal_file"), 32);
	for (int i = 0; i < 32; i++) {
		assert_true(fp(o, anon[i])->live);
		assert_false(fp(o, file[i])->live);
	}
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_ANON), 32);
	assert_false(o->last_ctx.may_swap);

	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 0);
	assert_int_equal(o->writepages, 32);
	assert_int_equal(ev(m, "nr_writeback"), 32);
	assert_int_equal(ev(m, "nr_vmscan_write"), 32);
	assert_int_equal(zpa_swap_free(m), 1000 - 32);
	lru_audit(m);

	for (int i = 0; i < 32; i++)
		assert_int_equal(zpa_page_end_writeback(m, anon[i]), 0);
	assert_int_equal(ev(m, "pgrotated"), 32);
	assert_int_equal(ev(m, "nr_writeback"), 0);
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 32);   /* swap copy current: writepage CLEAN, then evicted */
	assert_int_equal(ev(m, "pgsteal_anon"), 32);
	assert_int_equal(o->writepages, 64);
	for (int i = 0; i < 32; i++)
		assert_false(fp(o, anon[i])->live);
	finish(m, o);
}

/*
 * Dirty file pages: direct reclaim never writes them (activated, counted
 * as nr_vmscan_immediate_reclaim).  kswapd writes them only once a pass
 * found the file pages it took all dirty and unqueued (PGDAT_DIRTY).
 */
static void test_dirty_file_pages(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	pg_data_t *pgdat = m->nodes[0];
	zpa_pfn_t d[32];
	add_n(o, 0, ZPA_LRU_DIRTY, d, 32);
	assert_int_equal(ev(m, "nr_dirty"), 32);

	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 0);
	assert_int_equal(o->writepages, 0);
	assert_int_equal(ev(m, "nr_vmscan_immediate_reclaim"), 32);
	assert_int_equal(ev(m, "pgactivate"), 32);
	assert_int_equal(sc.nr.dirty, 32);
	assert_int_equal(sc.nr.unqueued_dirty, 32);
	assert_false(test_pgdat_flag(pgdat, PGDAT_DIRTY));   /* only kswapd sets it */
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 32);

	/* kswapd pass 1: only deactivation (no file page taken: 0 == 0 unqueued, PGDAT_DIRTY set). */
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(ev(m, "pgdeactivate"), 32);
	assert_int_equal(o->writepages, 0);
	assert_true(test_pgdat_flag(pgdat, PGDAT_DIRTY));

	/* kswapd pass 2: the dirty inactive pages are written. */
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(o->writepages, 32);
	assert_true(o->last_ctx.kswapd);
	assert_int_equal(ev(m, "pgscan_kswapd"), 32);
	assert_int_equal(ev(m, "pgscan_direct"), 32);
	assert_int_equal(ev(m, "nr_vmscan_write"), 32);
	assert_int_equal(ev(m, "nr_writeback"), 32);
	assert_int_equal(ev(m, "nr_dirty"), 0);
	assert_int_equal(sc.nr.unqueued_dirty, 32);
	assert_int_equal(sc.nr.file_taken, 32);
	assert_int_equal(m->nodes[0]->lruvec.file_cost, 16);  /* 32 > 32 pages / 4: halved */
	for (int i = 0; i < 32; i++) {
		assert_true(has(pflags(m, d[i]), PG_writeback | PG_onlru));
		assert_false(pflags(m, d[i]) & (PG_dirty | PG_active));
		assert_int_equal(zpa_page_end_writeback(m, d[i]), 0);
	}
	/* Written pages are clean now: the next direct pass frees them. */
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 32);

	/* A file page needs __GFP_FS to be written, even by kswapd. */
	zpa_pfn_t x = add(o, 0, ZPA_LRU_DIRTY);
	sc = scan(m, ZPA_GFP_NOFS, 0, true);
	run_node(m, 0, &sc);
	assert_true(fp(o, x)->live);
	assert_int_equal(fp(o, x)->n_wp, 0);
	assert_true(pflags(m, x) & PG_dirty);
	finish(m, o);
}

/*
 * Writeback: a page met under writeback is activated (nr.writeback);
 * zpa_page_end_writeback() moves it to the inactive tail, deactivated;
 * the next pass frees it.  A kswapd pass whose pages were all under
 * writeback marks the node PGDAT_WRITEBACK, and the next one counts them
 * as immediate.  writepage() answers KEEP / ACTIVATE restore the dirty bit.
 */
static void test_writeback(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	pg_data_t *pgdat = m->nodes[0];
	zpa_pfn_t d[8];
	add_n(o, 0, ZPA_LRU_DIRTY, d, 8);
	fp(o, d[6])->wp = ZPA_EVICT_KEEP;
	fp(o, d[7])->wp = ZPA_EVICT_ACTIVATE;
	set_pgdat_flag(pgdat, PGDAT_DIRTY);
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(o->writepages, 8);
	assert_int_equal(ev(m, "nr_writeback"), 6);
	assert_int_equal(ev(m, "nr_vmscan_write"), 6);
	assert_int_equal(ev(m, "nr_dirty"), 2);
	assert_true(has(pflags(m, d[6]), PG_dirty | PG_onlru));
	assert_false(pflags(m, d[6]) & (PG_active | PG_writeback));
	assert_true(has(pflags(m, d[7]), PG_dirty | PG_active));
	assert_int_equal(ev(m, "pgactivate"), 1);
	lru_audit(m);

	/* Direct reclaim meets the writeback pages: activated, not waited for. */
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 0);
	assert_int_equal(sc.nr.writeback, 6);
	assert_int_equal(sc.nr.congested, 6);
	for (int i = 0; i < 6; i++)
		assert_true(has(pflags(m, d[i]), PG_writeback | PG_active));

	/* End of writeback: back to the inactive tail, deactivated. */
	for (int i = 0; i < 6; i++)
		assert_int_equal(zpa_page_end_writeback(m, d[i]), 0);
	assert_int_equal(ev(m, "pgrotated"), 6);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), d[5]);
	assert_int_equal(zpa_page_end_writeback(m, d[0]), ZPA_EINVAL);
	uint64_t steal = ev(m, "pgsteal_direct");
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	for (int i = 0; i < 6; i++)
		assert_false(fp(o, d[i])->live);
	assert_int_equal(ev(m, "pgsteal_direct") - steal, 6);

	drop(o, d[6]);
	drop(o, d[7]);
	assert_int_equal(ev(m, "nr_dirty"), 0);

	/*
	 * PGDAT_WRITEBACK.  kswapd pass 1 writes 4 dirty pages; pass 2 takes
	 * them again, all under writeback (4 == taken): the node is marked;
	 * pass 3 deactivates them (inactive list empty); pass 4 meets them on
	 * the inactive list on a marked node: immediate.
	 */
	zpa_pfn_t w[4];
	add_n(o, 0, ZPA_LRU_DIRTY, w, 4);
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(ev(m, "nr_writeback"), 4);
	assert_false(test_pgdat_flag(pgdat, PGDAT_WRITEBACK));
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr.writeback, 4);
	assert_int_equal(sc.nr.taken, 4);
	assert_true(test_pgdat_flag(pgdat, PGDAT_WRITEBACK));
	assert_true(test_pgdat_flag(pgdat, PGDAT_CONGESTED));  /* dirty == congested: all queued */
	assert_int_equal(lru_size(m, 0, ZPA_LRU_ACTIVE_FILE), 4);
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 4);
	sc = scan(m, ZPA_GFP_KERNEL, 0, true);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr.immediate, 4);
	assert_int_equal(sc.nr.writeback, 0);
	assert_int_equal(o->writepages, 12);
	for (int i = 0; i < 4; i++)
		assert_int_equal(zpa_page_end_writeback(m, w[i]), 0);
	finish(m, o);
}

/* ---- shrinkers ---- */

struct fshrink {
	unsigned long objects;
	bool free_objects;        /* scanning frees objects (else they are all busy) */
	bool stop;                /* scan answers SHRINK_STOP */
	bool self_unregister;
	struct zpa_machine *m;
	struct zpa_shrinker *me;
	unsigned long counts, scans, scanned, last_nr_to_scan;
	int last_nid, nids_seen;  /* bit per nid */
	_Atomic int in_call;
	_Atomic unsigned long calls;
};

static unsigned long fs_count(void *arg, struct zpa_shrink_control *sc)
{
	struct fshrink *s = arg;
	atomic_fetch_add(&s->in_call, 1);
	atomic_fetch_add(&s->calls, 1);
	s->counts++;
	s->last_nid = sc->nid;
	s->nids_seen |= 1 << sc->nid;
	unsigned long n = s->objects;
	atomic_fetch_sub(&s->in_call, 1);
	return n;
}

static unsigned long fs_scan(void *arg, struct zpa_shrink_control *sc)
{
	struct fshrink *s = arg;
	atomic_fetch_add(&s->in_call, 1);
	s->scans++;
	s->last_nr_to_scan = sc->nr_to_scan;
	s->scanned += sc->nr_to_scan;
	if (s->self_unregister && s->me) {
		zpa_shrinker_unregister(s->m, s->me);
		s->me = NULL;
	}
	unsigned long ret;
	if (s->stop) {
		ret = ZPA_SHRINK_STOP;
	} else if (s->free_objects) {
		ret = sc->nr_to_scan < s->objects ? sc->nr_to_scan : s->objects;
		s->objects -= ret;
		sc->nr_freed_pages += ret;   /* one page per object */
	} else {
		ret = 0;
	}
	atomic_fetch_sub(&s->in_call, 1);
	return ret;
}

static struct zpa_shrinker_ops fs_ops(int seeks, long batch, unsigned flags)
{
	return (struct zpa_shrinker_ops){ .name = "fake", .count_objects = fs_count, .scan_objects = fs_scan,
					  .seeks = seeks, .batch = batch, .flags = flags };
}

static unsigned long slab(struct zpa_machine *m, int nid, int priority)
{
	return shrink_slab(m, ZPA_GFP_KERNEL, nid, NULL, priority);
}

/*
 * do_shrink_slab()'s formula: delta = (count >> priority) * 4 / seeks;
 * total = (deferred >> priority) + delta, capped at 2 * count; batches of
 * 128 while total >= 128 (or >= count); deferred = deferred + delta -
 * scanned, capped at 2 * count.
 */
static void test_shrinker_formula(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(2);
	struct fshrink s = { .objects = 1000 };
	struct zpa_shrinker_ops ops = fs_ops(ZPA_DEFAULT_SEEKS, 0, 0);
	struct zpa_shrinker *h;
	assert_int_equal(zpa_shrinker_register(m, &ops, &s, &h), 0);

	/* Priority 12: delta (1000 >> 12) * 4 / 2 = 0: counted, nothing scanned, nothing deferred. */
	assert_int_equal(slab(m, 0, 12), 0);
	assert_int_equal(s.counts, 1);
	assert_int_equal(s.scans, 0);
	assert_int_equal(ev(m, "slabs_scanned"), 0);

	/* Priority 2: delta 250 * 4 / 2 = 500: 3 batches (384), 116 deferred. */
	slab(m, 0, 2);
	assert_int_equal(s.scans, 3);
	assert_int_equal(s.last_nr_to_scan, 128);
	assert_int_equal(ev(m, "slabs_scanned"), 384);
	/* Again: 116 >> 2 + 500 = 529: 4 batches (512); deferred 116 + 500 - 512 = 104. */
	slab(m, 0, 2);
	assert_int_equal(s.scans, 7);
	assert_int_equal(ev(m, "slabs_scanned"), 896);
	/* 104 >> 2 + 500 = 526: 4 batches; deferred 92. */
	slab(m, 0, 2);
	assert_int_equal(s.scans, 11);
	/* Not NUMA-aware: node 1's call is node 0's (nid 0, the same deferred work): 92 >> 2 + 500 = 523 -> 4. */
	slab(m, 1, 2);
	assert_int_equal(s.scans, 15);
	assert_int_equal(s.last_nid, 0);
	assert_int_equal(s.nids_seen, 1);
	zpa_shrinker_unregister(m, h);
	slab(m, 0, 2);
	assert_int_equal(s.scans, 15);   /* gone */

	/* A large cache at priority 12: work too small to scan is carried over, 48 per call. */
	struct fshrink big = { .objects = 100000 };
	assert_int_equal(zpa_shrinker_register(m, &ops, &big, &h), 0);
	for (int i = 0; i < 3; i++)
		slab(m, 0, 12);
	assert_int_equal(big.scans, 0);
	/* Deferred 144 now: at priority 0, 144 + 200000 capped to 200000 = 1562 batches + 64 left. */
	slab(m, 0, 0);
	assert_int_equal(big.scans, 1562);
	zpa_shrinker_unregister(m, h);

	/* NUMA-aware: separate deferred work per node, and the real nid. */
	struct fshrink na = { .objects = 1000 };
	struct zpa_shrinker_ops nops = fs_ops(ZPA_DEFAULT_SEEKS, 0, ZPA_SHRINKER_NUMA_AWARE);
	assert_int_equal(zpa_shrinker_register(m, &nops, &na, &h), 0);
	slab(m, 0, 2);
	assert_int_equal(na.scans, 3);
	slab(m, 1, 2);
	assert_int_equal(na.scans, 6);     /* node 1 had nothing deferred: 3 batches */
	assert_int_equal(na.last_nid, 1);
	slab(m, 0, 2);
	assert_int_equal(na.scans, 10);    /* node 0's 116 */
	zpa_shrinker_unregister(m, h);

	/* seeks 0: delta = count / 2 at any priority: 500 -> 3 batches. */
	struct fshrink z = { .objects = 1000 };
	struct zpa_shrinker_ops zops = fs_ops(0, 0, 0);
	assert_int_equal(zpa_shrinker_register(m, &zops, &z, &h), 0);
	slab(m, 0, 12);
	assert_int_equal(z.scans, 3);
	zpa_shrinker_unregister(m, h);

	/* A cache smaller than a batch: scanned only when the target reaches it (priority 0: 200 >= 100). */
	struct fshrink small = { .objects = 100 };
	assert_int_equal(zpa_shrinker_register(m, &ops, &small, &h), 0);
	slab(m, 0, 1);                     /* delta 100: total 100 >= 100: one call of 100 */
	assert_int_equal(small.scans, 1);
	assert_int_equal(small.last_nr_to_scan, 100);
	zpa_shrinker_unregister(m, h);

	/* A custom batch; freed objects and the pages reported. */
	struct fshrink fr = { .objects = 1000, .free_objects = true };
	struct zpa_shrinker_ops bops = fs_ops(ZPA_DEFAULT_SEEKS, 50, 0);
	assert_int_equal(zpa_shrinker_register(m, &bops, &fr, &h), 0);
	assert_int_equal(slab(m, 0, 2), 500);  /* 500 to scan: 10 batches of 50, each freeing 50 pages */
	assert_int_equal(fr.scans, 10);
	assert_int_equal(fr.last_nr_to_scan, 50);
	assert_int_equal(fr.objects, 500);
	zpa_shrinker_unregister(m, h);

	/* Nothing to count: never scanned. */
	struct fshrink empty = { .objects = 0 };
	assert_int_equal(zpa_shrinker_register(m, &ops, &empty, &h), 0);
	slab(m, 0, 0);
	assert_int_equal(empty.counts, 1);
	assert_int_equal(empty.scans, 0);
	zpa_shrinker_unregister(m, h);

	/* Bad registrations. */
	struct zpa_shrinker_ops bad = fs_ops(-1, 0, 0);
	assert_int_equal(zpa_shrinker_register(m, &bad, &s, &h), ZPA_EINVAL);
	bad = fs_ops(2, 0, 0);
	bad.scan_objects = NULL;
	assert_int_equal(zpa_shrinker_register(m, &bad, &s, &h), ZPA_EINVAL);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * SHRINK_STOP ends the call with nothing scanned; the whole delta is then
 * deferred and the next call does it on top of its own.
 */
static void test_shrinker_stop(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct fshrink s = { .objects = 1000, .stop = true };
	struct zpa_shrinker_ops ops = fs_ops(ZPA_DEFAULT_SEEKS, 0, 0);
	struct zpa_shrinker *h;
	assert_int_equal(zpa_shrinker_register(m, &ops, &s, &h), 0);
	slab(m, 0, 2);
	assert_int_equal(s.scans, 1);
	assert_int_equal(ev(m, "slabs_scanned"), 0);
	s.stop = false;
	/* 500 deferred: 500 >> 2 + 500 = 625 -> 4 batches (3 without the deferral). */
	slab(m, 0, 2);
	assert_int_equal(s.scans, 5);
	assert_int_equal(ev(m, "slabs_scanned"), 512);
	zpa_shrinker_unregister(m, h);
	zpa_machine_destroy(m);
}

struct churn {
	struct zpa_machine *m;
	_Atomic bool stop;
	_Atomic unsigned long rounds;
};

static void *churn_reclaim(void *arg)
{
	struct churn *c = arg;
	while (!atomic_load(&c->stop)) {
		slab(c->m, 0, 0);
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

/*
 * Registration against concurrent reclaim: once unregister returns, the
 * shrinker is not running and is never called again; a shrinker may
 * unregister itself from its own callback.
 */
static void test_shrinker_registry(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct churn c = { .m = m };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_reclaim, &c), 0);
	struct zpa_shrinker_ops ops = fs_ops(ZPA_DEFAULT_SEEKS, 0, 0);
	for (int i = 0; i < 200; i++) {
		struct fshrink s[3] = { { .objects = 1000 }, { .objects = 10 }, { .objects = 500 } };
		struct zpa_shrinker *h[3];
		for (int k = 0; k < 3; k++)
			assert_int_equal(zpa_shrinker_register(m, &ops, &s[k], &h[k]), 0);
		unsigned long r = atomic_load(&c.rounds);
		while (atomic_load(&c.rounds) < r + 2)
			;
		for (int k = 0; k < 3; k++) {
			zpa_shrinker_unregister(m, h[k]);
			assert_int_equal(atomic_load(&s[k].in_call), 0);
			unsigned long calls = atomic_load(&s[k].calls);
			assert_true(calls > 0);
			r = atomic_load(&c.rounds);
			while (atomic_load(&c.rounds) < r + 1)
				;
			assert_int_equal(atomic_load(&s[k].calls), calls);
		}
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);

	/* Self-unregistration from scan_objects(): released after the call. */
	struct fshrink self = { .objects = 1000, .self_unregister = true, .m = m };
	assert_int_equal(zpa_shrinker_register(m, &ops, &self, &self.me), 0);
	slab(m, 0, 0);
	assert_null(self.me);
	assert_int_equal(self.scans, 1);   /* no batch after the unregistration */
	slab(m, 0, 0);
	assert_int_equal(self.scans, 1);
	/* Left registered at teardown: freed with the machine. */
	struct fshrink left = { .objects = 10 };
	assert_int_equal(zpa_shrinker_register(m, &ops, &left, NULL), 0);
	zpa_machine_destroy(m);
}

/*
 * try_to_free_pages(): 4096 clean inactive file pages, no swap.  Each
 * priority scans (pages left) >> priority: 1, 1, 3, 7, 15 (27 pages by
 * priority 8), then 31 at priority 7: 58 >= 32, done.  allocstall counts
 * once, on the zone index of the request.
 */
static void test_try_to_free_pages(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_pfn_t *p = calloc(4096, sizeof(*p));
	assert_non_null(p);
	add_n(o, 0, 0, p, 4096);
	struct alloc_context ac;
	zpa_gfp_t gfp = ZPA_GFP_HIGHUSER_MOVABLE;
	unsigned alloc_flags = 0;
	assert_true(prepare_alloc_pages(m, zpa_task_current(), gfp, 0, NULL, &ac, &gfp, &alloc_flags));
	m->nodes[0]->kswapd_failures = 5;
	unsigned saved = zpa_task_flags_save(ac.task, ZPA_PF_MEMALLOC);
	assert_int_equal(try_to_free_pages(m, &ac, 0, gfp), 58);
	zpa_task_flags_restore(ac.task, saved, ZPA_PF_MEMALLOC);
	/* __GFP_MOVABLE: the request's highest zone is Movable (empty here), as on x86-64 Linux. */
	assert_int_equal(ev(m, "allocstall_movable"), 1);
	assert_int_equal(ev(m, "allocstall_normal"), 0);
	assert_int_equal(ev(m, "pgscan_direct"), 58);
	assert_int_equal(ev(m, "pgsteal_direct"), 58);
	assert_int_equal(ev(m, "pgscan_kswapd"), 0);
	assert_int_equal(ev(m, "pgsteal_kswapd"), 0);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 4096 - 58);
	for (int i = 0; i < 58; i++)
		assert_false(fp(o, p[i])->live);   /* the oldest */
	assert_true(fp(o, p[58])->live);
	assert_false(o->last_ctx.kswapd);
	assert_true(o->last_ctx.may_writepage);
	assert_int_equal(o->last_ctx.priority, 7);
	assert_int_equal(m->nodes[0]->kswapd_failures, 0);

	/* A nodemask without the node: nothing scanned, the stall still counted. */
	zpa_nodemask_t none;
	zpa_nodemask_clear(&none);
	ac.nodemask = &none;
	assert_int_equal(try_to_free_pages(m, &ac, 0, gfp), 0);
	assert_int_equal(ev(m, "allocstall_movable"), 2);
	assert_int_equal(ev(m, "pgscan_direct"), 58);
	free(p);
	finish(m, o);
}

/* A cpuset that excludes a node keeps direct reclaim off it. */
static void test_cpuset_nodes(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(2);
	struct owner *o = owner_new(m);
	zpa_pfn_t n0[64], n1[64];
	add_n(o, 0, 0, n0, 64);
	add_n(o, 1, 0, n1, 64);
	struct zpa_task *task = zpa_task_create();
	zpa_nodemask_t only1 = ZT_MASK(1);
	assert_int_equal(zpa_task_set_mems_allowed(m, task, &only1, &only1), 0);
	struct alloc_context ac;
	zpa_gfp_t gfp = ZPA_GFP_KERNEL;
	unsigned alloc_flags = 0;
	assert_true(prepare_alloc_pages(m, task, gfp, 0, NULL, &ac, &gfp, &alloc_flags));
	ac.nodemask = NULL;   /* the zonelist of node 0 covers both nodes; the cpuset decides */
	/* The thread reclaims for the task: both carry PF_MEMALLOC, as page_alloc.c sets it. */
	task->flags |= ZPA_PF_MEMALLOC;
	unsigned saved = zpa_task_flags_save(zpa_task_current(), ZPA_PF_MEMALLOC);
	unsigned long got = try_to_free_pages(m, &ac, 0, gfp);
	zpa_task_flags_restore(zpa_task_current(), saved, ZPA_PF_MEMALLOC);
	task->flags &= ~ZPA_PF_MEMALLOC;
	/* Node 1's 64 pages: priorities 6..1 scan 1, 1, 3, 7, 13, 19 = 44 >= 32. */
	assert_int_equal(got, 44);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 64);
	assert_int_equal(lru_size(m, 1, ZPA_LRU_INACTIVE_FILE), 64 - got);
	zpa_task_destroy(task);
	finish(m, o);
}

/*
 * memcg reclaim frees only pages charged in the target's subtree; others
 * are passed over and not counted.  Subtree: 32 pages, so priorities 5..0
 * scan 1, 1, 3, 6, 10, 11: all 32.  Not global reclaim: no pgscan_direct,
 * no allocstall.
 */
static void test_memcg_reclaim(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	struct zpa_memcg *p, *c, *x;
	assert_int_equal(zpa_memcg_create(m, NULL, "p", &p), 0);
	assert_int_equal(zpa_memcg_create(m, p, "c", &c), 0);
	assert_int_equal(zpa_memcg_create(m, NULL, "x", &x), 0);
	zpa_pfn_t pc[32], px[32], pu[32];
	for (int i = 0; i < 32; i++) {
		pc[i] = add(o, 0, 0);
		px[i] = add(o, 0, 0);
		pu[i] = add(o, 0, 0);
		assert_int_equal(zpa_memcg_charge_page(m, c, pc[i], 0, 0), 0);
		assert_int_equal(zpa_memcg_charge_page(m, x, px[i], 0, 0), 0);
	}
	assert_int_equal(try_to_free_mem_cgroup_pages(m, p, 32, ZPA_GFP_KERNEL, true), 32);
	for (int i = 0; i < 32; i++) {
		assert_false(fp(o, pc[i])->live);
		assert_true(fp(o, px[i])->live);
		assert_true(fp(o, pu[i])->live);
	}
	struct zpa_memcg_stat st;
	assert_int_equal(zpa_memcg_stat(c, &st), 0);
	assert_int_equal(st.usage, 0);
	assert_int_equal(zpa_memcg_stat(x, &st), 0);
	assert_int_equal(st.usage, 32);
	assert_int_equal(ev(m, "pgscan_file"), 32);
	assert_int_equal(ev(m, "pgsteal_file"), 32);
	assert_int_equal(ev(m, "pgscan_direct"), 0);
	assert_int_equal(ev(m, "pgsteal_direct"), 0);
	assert_int_equal(ev(m, "allocstall_normal"), 0);
	assert_ptr_equal(o->last_ctx.memcg, p);
	assert_int_equal(o->evicts, 32);
	/* PF_MEMALLOC was set for the callbacks and is gone again. */
	assert_int_equal(o->no_memalloc, 0);
	assert_false(zpa_task_flags(zpa_task_current()) & ZPA_PF_MEMALLOC);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 64);

	/* A charge over max reclaims within the group, then succeeds. */
	zpa_pfn_t y[8];
	for (int i = 0; i < 8; i++) {
		y[i] = add(o, 0, 0);
		assert_int_equal(zpa_memcg_charge_page(m, x, y[i], 0, 0), 0);
	}
	assert_int_equal(zpa_memcg_set_limit(x, ZPA_MEMCG_LIMIT_MAX, 40), 0);
	zpa_pfn_t extra = add(o, 0, 0);
	assert_int_equal(zpa_memcg_charge_page(m, x, extra, 0, ZPA_GFP_KERNEL), 0);
	assert_int_equal(zpa_memcg_stat(x, &st), 0);
	assert_true(st.usage <= 40);
	assert_true(st.usage >= 1);
	for (int i = 0; i < 32; i++)
		assert_true(fp(o, pu[i])->live);

	/* Lowering max below usage reclaims down to it. */
	assert_int_equal(zpa_memcg_set_limit(x, ZPA_MEMCG_LIMIT_MAX, 0), 0);
	assert_int_equal(zpa_memcg_stat(x, &st), 0);
	assert_int_equal(st.usage, 0);
	assert_int_equal(st.events_oom, 0);
	finish(m, o);
}

/*
 * drop_caches: 1 evicts the clean file pages of both lists and leaves dirty
 * and anonymous pages, in place; 2 runs the shrinkers (drop_slab_node's
 * rounds: 1000 objects freed, then a round that frees none); 3 both.
 */
static void test_drop_caches(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	zpa_pfn_t clean[16], act[8], dirty[4], anon[4];
	add_n(o, 0, 0, clean, 8);
	add_n(o, 0, ZPA_LRU_DIRTY, dirty, 4);
	add_n(o, 0, 0, clean + 8, 8);
	add_n(o, 0, ZPA_LRU_ACTIVE, act, 8);
	add_n(o, 0, ZPA_LRU_ANON, anon, 4);
	fp(o, clean[5])->evict = ZPA_EVICT_KEEP;   /* busy: stays */

	assert_int_equal(zpa_drop_caches(m, 1), 23);
	assert_int_equal(ev(m, "drop_pagecache"), 1);
	assert_int_equal(ev(m, "drop_slab"), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(fp(o, clean[i])->live, i == 5);
	for (int i = 0; i < 8; i++)
		assert_false(fp(o, act[i])->live);
	for (int i = 0; i < 4; i++) {
		assert_true(fp(o, dirty[i])->live);
		assert_true(fp(o, anon[i])->live);
	}
	assert_int_equal(o->writepages, 0);
	assert_int_equal(o->refcalls, 0);
	/* Passed-over pages keep their place; the kept one went back to the head. */
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), dirty[0]);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, false), clean[5]);
	assert_false(zpa_task_flags(zpa_task_current()) & ZPA_PF_MEMALLOC);

	struct fshrink s = { .objects = 1000, .free_objects = true };
	struct zpa_shrinker_ops ops = fs_ops(ZPA_DEFAULT_SEEKS, 0, 0);
	struct zpa_shrinker *h;
	assert_int_equal(zpa_shrinker_register(m, &ops, &s, &h), 0);
	assert_int_equal(zpa_drop_caches(m, 2), 1000);
	assert_int_equal(s.objects, 0);
	assert_int_equal(s.counts, 2);
	assert_int_equal(ev(m, "drop_slab"), 1);

	s.objects = 300;
	zpa_pfn_t more[5];
	add_n(o, 0, 0, more, 5);
	fp(o, clean[5])->evict = ZPA_EVICT_FREED;
	assert_int_equal(zpa_drop_caches(m, 3), 306);
	assert_int_equal(ev(m, "drop_pagecache"), 2);
	assert_int_equal(ev(m, "drop_slab"), 2);
	assert_int_equal(zpa_drop_caches(m, 0), 0);
	assert_int_equal(zpa_drop_caches(m, 4), 0);
	zpa_shrinker_unregister(m, h);
	finish(m, o);
}

/*
 * Owners freeing pages under reclaim: an evict() that frees the page itself
 * and answers KEEP leaves reclaim's reference last, so the page is freed
 * (not lost, not counted as reclaimed); an evict() that claims FREED but
 * keeps its reference is warned about and the page stays a consistent LRU
 * page.
 */
static void test_owner_frees_under_reclaim(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	uint64_t free0 = zpa_total_free(m);
	zpa_pfn_t p[4];
	add_n(o, 0, 0, p, 4);
	fp(o, p[0])->self_free = 1;
	fp(o, p[0])->evict = ZPA_EVICT_KEEP;
	fp(o, p[1])->evict = ZPA_EVICT_FREED;
	fp(o, p[2])->evict = ZPA_EVICT_KEEP;
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_false(fp(o, p[0])->live);
	assert_int_equal(sc.nr_reclaimed, 2);   /* p[1], p[3]; p[0] freed but not counted */
	assert_int_equal(ev(m, "pgsteal_direct"), 2);
	assert_true(fp(o, p[2])->live);
	assert_int_equal(zpa_total_free(m), free0 - 1);
	lru_audit(m);
	zt_assert_clean(m);
	finish(m, o);
}

static int liar_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	(void)arg; (void)pfn; (void)order; (void)ctx;
	return ZPA_EVICT_FREED;   /* but the page is not freed */
}

static const struct zpa_page_owner_ops liar_ops = { .name = "liar", .evict = liar_evict };

static void test_owner_lies_about_free(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	int id = zpa_page_owner_register(m, &liar_ops, NULL);
	assert_true(id >= 1);
	zpa_pfn_t pfn = zpa__alloc_pages(m, NULL, GFP_PAGE, 0, 0, NULL);
	assert_true(pfn != NONE);
	assert_int_equal(zpa_lru_add(m, pfn, id, 0), 0);
	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 0);
	assert_int_equal(ev(m, "zpa_warn"), 1);
	assert_true(has(pflags(m, pfn), PG_onlru | PG_alloc));
	assert_false(pflags(m, pfn) & PG_isolated);
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 1);
	lru_audit(m);
	zt_assert_clean(m);
	assert_int_equal(zpa_drop_caches(m, 1), 0);
	assert_int_equal(ev(m, "zpa_warn"), 2);
	assert_int_equal(zpa_free_pages(m, pfn, 0), 0);   /* leaves the LRU with its last reference */
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 0);
	lru_audit(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Reclaim entered from a callback returns at once (task->in_reclaim). */
static struct zpa_memcg *hook_group;
static void recursing_hook(struct owner *o, zpa_pfn_t pfn)
{
	(void)pfn;
	o->hook_result[0] += (long)zpa_drop_caches(o->m, 3);
	o->hook_result[1] += (long)try_to_free_mem_cgroup_pages(o->m, hook_group, 32, ZPA_GFP_KERNEL, true);
	o->hook_result[2]++;
}

static void test_recursion_guard(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	assert_int_equal(zpa_memcg_create(m, NULL, "g", &hook_group), 0);
	zpa_pfn_t p[8];
	add_n(o, 0, 0, p, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(zpa_memcg_charge_page(m, hook_group, p[i], 0, 0), 0);
	o->evict_hook = recursing_hook;
	assert_int_equal(zpa_drop_caches(m, 1), 8);
	assert_int_equal(o->hook_result[2], 8);
	assert_int_equal(o->hook_result[0], 0);
	assert_int_equal(o->hook_result[1], 0);
	assert_int_equal(zpa_task_current()->in_reclaim, 0);
	assert_int_equal(ev(m, "drop_pagecache"), 1);
	finish(m, o);
}

/*
 * inactive_is_low() at 1 GiB of file pages: ratio int_sqrt(10 * 1) = 3, so
 * the inactive list is low below a quarter.  Pages are 2 MiB compound
 * blocks (order 9): 127 inactive, 385 active is low (127 * 3 < 385);
 * 128 / 384 is not.  Reclaim takes and frees whole blocks.
 */
static void test_inactive_ratio(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		struct zpa_machine *m = zt_numa_machine(1, 2048, true);
		struct owner *o = owner_new(m);
		int inactive = round ? 128 : 127;
		zpa_pfn_t first = NONE;
		for (int i = 0; i < 512; i++) {
			zpa_pfn_t pfn = zpa__alloc_pages(m, NULL, GFP_PAGE, 9, 0, NULL);
			assert_true(pfn != NONE);
			adopt(o, pfn, i < inactive ? 0 : ZPA_LRU_ACTIVE);
			if (!i)
				first = pfn;
		}
		assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), (uint64_t)inactive * 512);
		/* Priority 12: 127 * 512 >> 12 = 15 pages: one block is scanned, and freed. */
		struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 12, true);
		run_node(m, 0, &sc);
		assert_int_equal(sc.may_deactivate_file, round == 0);
		assert_int_equal(sc.nr_scanned, 512);
		assert_int_equal(sc.nr_reclaimed, 512);
		assert_false(fp(o, first)->live);
		assert_int_equal(ev(m, "pgsteal_kswapd"), 512);
		/*
		 * Deactivation: 385 * 512 >> 12 = 48 pages, in batches of 32 and
		 * 16; each batch takes one whole 512-page block.
		 */
		assert_int_equal(ev(m, "pgdeactivate"), round == 0 ? 1024 : 0);
		assert_int_equal(ev(m, "pgrefill"), round == 0 ? 1024 : 0);
		for (unsigned long i = 0; i < SPAN; i++)
			if (o->pg[i].live) {
				o->pg[i].live = 0;
				assert_int_equal(zpa_free_pages(m, o->base + i, 9), 0);
			}
		lru_audit(m);
		zt_assert_clean(m);
		owner_destroy(o);
		zpa_machine_destroy(m);
	}
}

/* zone_reclaimable_pages(): file, plus anon with swap; free pages when both are empty. */
static void test_zone_reclaimable_pages(void **state)
{
	(void)state;
	struct zpa_machine *m = machine(1);
	struct owner *o = owner_new(m);
	struct zone *z = &m->nodes[0]->node_zones[0];
	assert_int_equal(zone_reclaimable_pages(m, z), zone_page_state(z, NR_FREE_PAGES));
	zpa_pfn_t tmp[16];
	add_n(o, 0, 0, tmp, 10);
	add_n(o, 0, ZPA_LRU_ANON, tmp, 5);
	assert_int_equal(zone_reclaimable_pages(m, z), 10);
	zpa_swap_set(m, 100, 100);
	assert_int_equal(zone_reclaimable_pages(m, z), 15);
	finish(m, o);
}

/*
 * Pages of zones above reclaim_idx are passed over and go back to the head
 * of the list: counted in the scan total but not against the target.
 */
static void test_reclaim_idx_skips_zones(void **state)
{
	(void)state;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zt_config_simple(&cfg, 256, NULL);   /* DMA below 16 MiB, DMA32 above */
	cfg.no_pcp = true;
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct owner *o = owner_new(m);
	zpa_pfn_t hi[8], lo[8];
	for (int i = 0; i < 8; i++) {
		hi[i] = zpa__alloc_pages(m, NULL, GFP_PAGE, 0, 0, NULL);
		lo[i] = zpa__alloc_pages(m, NULL, ZPA_GFP_DMA | ZPA___GFP_COMP, 0, 0, NULL);
		assert_true(hi[i] != NONE && lo[i] != NONE);
	}
	pg_data_t *pgdat;
	struct zpa_page *page;
	assert_true(pfn_to_node_page(m, hi[0], &pgdat, &page));
	int top = (int)page_zidx(page);
	assert_true(pfn_to_node_page(m, lo[0], &pgdat, &page));
	assert_true((int)page_zidx(page) < top);
	for (int i = 0; i < 8; i++)   /* the top-zone pages are the oldest: the tail */
		adopt(o, hi[i], 0);
	for (int i = 0; i < 8; i++)
		adopt(o, lo[i], ZPA_LRU_DIRTY);

	struct scan_control sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.reclaim_idx = top - 1;
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	/* Eligible: the 8 low pages only (dirty: activated); the list is 16 >> 0 but only 8 are eligible. */
	assert_int_equal(ev(m, "nr_vmscan_immediate_reclaim"), 8);
	assert_int_equal(ev(m, "pgscan_direct"), 16);  /* the 8 skipped count in the scan total */
	assert_int_equal(sc.nr_scanned, 8);
	assert_int_equal(sc.nr_reclaimed, 0);
	for (int i = 0; i < 8; i++) {
		assert_true(fp(o, hi[i])->live);
		assert_int_equal(fp(o, hi[i])->n_ref, 0);
		assert_true(pflags(m, lo[i]) & PG_active);
	}
	assert_int_equal(lru_size(m, 0, ZPA_LRU_INACTIVE_FILE), 8);
	/* Back at the head in their order: hi[0] (scanned first) nearest the old head. */
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, false), hi[7]);
	assert_int_equal(lru_end(m, 0, ZPA_LRU_INACTIVE_FILE, true), hi[0]);

	/* With every zone eligible they go. */
	sc = scan(m, ZPA_GFP_KERNEL, 0, false);
	sc.nr_to_reclaim = ~0ul;
	run_node(m, 0, &sc);
	assert_int_equal(sc.nr_reclaimed, 8);
	finish(m, o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_page_accessed),
		cmocka_unit_test(test_inactive_tail_and_references),
		cmocka_unit_test(test_deactivation),
		cmocka_unit_test(test_swappiness_zero),
		cmocka_unit_test(test_no_swap_no_anon_scan),
		cmocka_unit_test(test_swap_needs_io),
		cmocka_unit_test(test_dirty_file_pages),
		cmocka_unit_test(test_writeback),
		cmocka_unit_test(test_shrinker_formula),
		cmocka_unit_test(test_shrinker_stop),
		cmocka_unit_test(test_shrinker_registry),
		cmocka_unit_test(test_try_to_free_pages),
		cmocka_unit_test(test_cpuset_nodes),
		cmocka_unit_test(test_memcg_reclaim),
		cmocka_unit_test(test_drop_caches),
		cmocka_unit_test(test_owner_frees_under_reclaim),
		cmocka_unit_test(test_owner_lies_about_free),
		cmocka_unit_test(test_recursion_guard),
		cmocka_unit_test(test_inactive_ratio),
		cmocka_unit_test(test_zone_reclaimable_pages),
		cmocka_unit_test(test_reclaim_idx_skips_zones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
