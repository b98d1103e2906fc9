/*
 * test_slowpath.c - the slow path's flag semantics (Linux 6.1's
 * __alloc_pages_slowpath): __GFP_NORETRY fails early, __GFP_RETRY_MAYFAIL
 * does not invoke the OOM killer, __GFP_NOFAIL does not fail while something
 * can be reclaimed, __GFP_MEMALLOC / PF_MEMALLOC dip below min, GFP_ATOMIC
 * never reclaims, OOM victims use ALLOC_OOM, GFP_NOIO does not swap, and
 * warn_alloc's rate limit.
 *
 * Every test builds a one-node machine with exact counters and no per-CPU
 * lists, puts the daemons in MANUAL mode (so nothing reclaims behind the
 * test's back), fills memory with a test page cache (LRU file pages whose
 * owner evicts on request, or refuses) and pinned pages, then watches what
 * one request does.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/zt.h"
#include "types.h"

/* ---- a test page owner: a cache of LRU pages ---- */

struct cache {
	struct zpa_machine *m;
	int owner;
	zpa_pfn_t base;            /* first pfn of the node */
	uint8_t *owned;            /* by pfn - base: page belongs to the cache */
	unsigned long nr;          /* pages owned */
	bool refuse;               /* evict() keeps every page */
	bool anon;                 /* pages are anonymous: writepage() is swap-out */
	unsigned long evict_calls, evicted, writepages;
	struct zpa_task *reclaim_task_seen; /* not used: reclaim may run in any context */
};

static int cache_evict(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct cache *c = arg;
	(void)ctx;
	c->evict_calls++;
	if (c->refuse)
		return ZPA_EVICT_KEEP;
	assert_true(c->owned[pfn - c->base]);
	c->owned[pfn - c->base] = 0;
	c->nr--;
	c->evicted++;
	assert_int_equal(zpa_free_pages(c->m, pfn, order), 0);
	return ZPA_EVICT_FREED;
}

static int cache_writepage(void *arg, zpa_pfn_t pfn, unsigned order, const struct zpa_reclaim_ctx *ctx)
{
	struct cache *c = arg;
	(void)pfn;
	(void)order;
	(void)ctx;
	c->writepages++;
	if (c->refuse)
		return ZPA_EVICT_ACTIVATE;
	zpa_swap_account(c->m, -1);
	return ZPA_EVICT_CLEAN; /* a synchronous swap device */
}

static const struct zpa_page_owner_ops cache_ops = {
	.name = "test-cache",
	.evict = cache_evict,
	.writepage = cache_writepage,
};

/* A pinned (unreclaimable) allocation list. */
struct pins {
	zpa_pfn_t *pfn;
	size_t n, cap;
};

static void pin(struct pins *p, zpa_pfn_t pfn)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->pfn = realloc(p->pfn, p->cap * sizeof(*p->pfn));
		assert_non_null(p->pfn);
	}
	p->pfn[p->n++] = pfn;
}

struct setup {
	struct zpa_machine *m;
	struct cache cache;
	struct pins pins;
	struct zt_log log;
	struct zpa_zone_info zi;
};

/* zt_numa_machine's shape with a log sink: `nodes` nodes of 64 MiB of Normal. */
static struct zpa_machine *machine_nodes_log(unsigned nodes, zpa_log_fn fn, void *arg)
{
	struct zpa_machine_config cfg;
	zpa_machine_config_init(&cfg);
	cfg.nr_nodes = nodes;
	cfg.nr_cpus = nodes;
	for (unsigned n = 0; n < nodes; n++) {
		cfg.cpu_node[n] = (int)n;
		uint64_t base = (4ull << 30) + ((uint64_t)n << 30);
		assert_int_equal(zpa_config_add_range(&cfg, base, base + (64ull << 20), ZPA_RANGE_USABLE, (int)n), 0);
	}
	cfg.exact_vmstat = true;
	cfg.no_pcp = true;
	cfg.log = fn;
	cfg.log_arg = arg;
	cfg.log_level = ZPA_LOG_DEBUG;
	struct zpa_machine *m;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

static struct zpa_machine *machine_with_log(struct zt_log *log)
{
	return machine_nodes_log(1, zt_log_fn, log);
}

/*
 * Fill every free page: `cached` of them go to the cache's LRU (anonymous
 * if anon), the rest are pinned.  Then free pinned pages until `free_left`
 * pages are free.
 */
static void fill(struct setup *s, unsigned long cached, bool anon, unsigned long free_left)
{
	struct zpa_machine *m = s->m;
	zpa_gfp_t gfp = (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_RECLAIM) | ZPA___GFP_MEMALLOC | ZPA___GFP_NOWARN;
	zpa_pfn_t pfn;
	while ((pfn = zpa__alloc_pages(m, NULL, gfp, 0, 0, NULL)) != ZPA_PFN_NONE) {
		if (s->cache.nr < cached) {
			assert_int_equal(zpa_lru_add(m, pfn, s->cache.owner, anon ? ZPA_LRU_ANON : 0), 0);
			s->cache.owned[pfn - s->cache.base] = 1;
			s->cache.nr++;
		} else {
			pin(&s->pins, pfn);
		}
	}
	assert_int_equal(zpa_total_free(m), 0);
	while (zpa_total_free(m) < free_left && s->pins.n)
		assert_int_equal(zpa_free_pages(m, s->pins.pfn[--s->pins.n], 0), 0);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_NORMAL, &s->zi), 0);
}

static struct setup *setup_new(void)
{
	struct setup *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->m = machine_with_log(&s->log);
	assert_int_equal(zpa_set_daemon_mode(s->m, ZPA_DAEMON_MANUAL), 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(s->m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	s->cache.m = s->m;
	s->cache.base = zi.start_pfn;
	s->cache.owned = calloc(zi.spanned, 1);
	s->cache.owner = zpa_page_owner_register(s->m, &cache_ops, &s->cache);
	assert_true(s->cache.owner > 0);
	return s;
}

static void setup_free(struct setup *s)
{
	zt_assert_clean(s->m);
	zpa_machine_destroy(s->m);
	free(s->cache.owned);
	free(s->pins.pfn);
	free(s);
}

static uint64_t vm(struct zpa_machine *m, const char *name)
{
	bool ok;
	uint64_t v = zpa_vmstat(m, name, &ok);
	assert_true(ok);
	return v;
}

/* ---- a test OOM candidate: owns pinned pages, frees them when killed ---- */

struct victim {
	struct zpa_machine *m;
	struct pins pages;
	int kills;
};

static void victim_footprint(void *arg, struct zpa_oom_footprint *out)
{
	struct victim *v = arg;
	memset(out, 0, sizeof(*out));
	out->rss_anon = v->pages.n;
}

static void victim_kill(void *arg)
{
	struct victim *v = arg;
	v->kills++;
	while (v->pages.n)
		assert_int_equal(zpa_free_pages(v->m, v->pages.pfn[--v->pages.n], 0), 0);
}

static uint64_t victim_reap(void *arg)
{
	(void)arg;
	return 0;
}

static const struct zpa_oom_task_ops victim_ops = { victim_footprint, victim_kill, victim_reap };

/* Move n pinned pages to the victim's footprint and register it. */
static struct zpa_task *add_victim(struct setup *s, struct victim *v, unsigned long n)
{
	v->m = s->m;
	while (n-- && s->pins.n)
		pin(&v->pages, s->pins.pfn[--s->pins.n]);
	struct zpa_task *t = zpa_task_create();
	assert_non_null(t);
	struct zpa_oom_task_info info = { .pid = 4242, .comm = "victim", .oom_score_adj = 0, .ops = &victim_ops, .arg = v };
	assert_int_equal(zpa_oom_task_add(s->m, t, &info), 0);
	return t;
}

/* ---- tests ---- */

/*
 * Nothing reclaimable (the cache refuses every page): __GFP_NORETRY gives up
 * after one round of direct reclaim, with no OOM kill; a plain GFP_KERNEL
 * request loops MAX_RECLAIM_RETRIES times first and then kills.
 */
static void test_noretry_fails_early(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 2000, false, 0);
	s->cache.refuse = true;
	struct victim v = { 0 };
	struct zpa_task *vt = add_victim(s, &v, 500);

	zpa_pfn_t pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn == ZPA_PFN_NONE);
	assert_int_equal(vm(s->m, "allocstall_normal"), 1);
	assert_int_equal(vm(s->m, "oom_kill"), 0);
	assert_int_equal(v.kills, 0);

	pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	/* one round that found nothing, then MAX_RECLAIM_RETRIES more, then the OOM killer */
	assert_true(vm(s->m, "allocstall_normal") >= 1 + 16);
	assert_int_equal(vm(s->m, "oom_kill"), 1);
	assert_int_equal(v.kills, 1);
	assert_true(zpa_task_is_oom_victim(vt));
	assert_int_equal(zpa_free_pages(s->m, pfn, 0), 0);
	zpa_oom_task_remove(s->m, vt);
	zpa_task_destroy(vt);
	s->cache.refuse = false;
	setup_free(s);
	free(v.pages.pfn);
}

/* __GFP_RETRY_MAYFAIL retries reclaim but never invokes the OOM killer. */
static void test_retry_mayfail_does_not_oom(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 2000, false, 0);
	s->cache.refuse = true;
	struct victim v = { 0 };
	struct zpa_task *vt = add_victim(s, &v, 500);

	zpa_pfn_t pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_RETRY_MAYFAIL | ZPA___GFP_NOWARN, 0, 0,
					 NULL);
	assert_true(pfn == ZPA_PFN_NONE);
	assert_true(vm(s->m, "allocstall_normal") > 1); /* it did retry */
	assert_int_equal(vm(s->m, "oom_kill"), 0);
	assert_int_equal(v.kills, 0);
	assert_false(zpa_task_is_oom_victim(vt));
	zpa_oom_task_remove(s->m, vt);
	zpa_task_destroy(vt);
	while (v.pages.n)
		assert_int_equal(zpa_free_pages(s->m, v.pages.pfn[--v.pages.n], 0), 0);
	s->cache.refuse = false;
	setup_free(s);
	free(v.pages.pfn);
}

/* __GFP_NOFAIL keeps going while reclaim can free something: every request succeeds. */
static void test_nofail_succeeds_while_reclaimable(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 3000, false, 0);
	unsigned long before = s->cache.nr;
	zpa_pfn_t got[600];
	for (int i = 0; i < 600; i++) {
		got[i] = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NOFAIL, 0, 0, NULL);
		assert_true(got[i] != ZPA_PFN_NONE);
	}
	assert_true(s->cache.nr < before);       /* the cache paid for them */
	assert_true(vm(s->m, "pgsteal_direct") >= 600 - 0ul);
	assert_int_equal(vm(s->m, "oom_kill"), 0);
	for (int i = 0; i < 600; i++)
		assert_int_equal(zpa_free_pages(s->m, got[i], 0), 0);
	setup_free(s);
}

/*
 * Nothing reclaimable and nobody to kill: Linux would loop forever; zpa
 * fails with a warning after NOFAIL_MAX_STALLS rounds (documented), and the
 * machine is intact.
 */
static void test_nofail_without_any_hope_fails_loudly(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 0, false, 0);
	uint64_t warns = vm(s->m, "zpa_warn");
	zpa_pfn_t pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NOFAIL, 0, 0, NULL);
	/* min reserve and no-watermark tries may still find nothing: memory is 100% pinned */
	assert_true(pfn == ZPA_PFN_NONE);
	assert_true(vm(s->m, "zpa_warn") > warns);
	assert_true(vm(s->m, "zpa_nofail_retry") > 0);
	setup_free(s);
}

/* __GFP_MEMALLOC and PF_MEMALLOC allocate below the min watermark; __GFP_NOMEMALLOC forbids it. */
static void test_memalloc_dips_below_min(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 0, false, 0);
	/* free exactly min pages: a normal request cannot have one (free must stay above min) */
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(s->m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	while (zpa_total_free(s->m) < zi.min)
		assert_int_equal(zpa_free_pages(s->m, s->pins.pfn[--s->pins.n], 0), 0);

	zpa_gfp_t nowait = ZPA_GFP_NOWAIT | ZPA___GFP_NOWARN;
	assert_true(zpa__alloc_pages(s->m, NULL, nowait, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_true(zpa__alloc_pages(s->m, NULL, nowait | ZPA___GFP_MEMALLOC | ZPA___GFP_NOMEMALLOC, 0, 0, NULL) ==
		    ZPA_PFN_NONE);
	zpa_pfn_t a = zpa__alloc_pages(s->m, NULL, nowait | ZPA___GFP_MEMALLOC, 0, 0, NULL);
	assert_true(a != ZPA_PFN_NONE);
	assert_true(zpa_total_free(s->m) < zi.min);

	struct zpa_task *t = zpa_task_create();
	unsigned saved = zpa_task_flags_save(t, ZPA_PF_MEMALLOC);
	zpa_pfn_t b = zpa__alloc_pages(s->m, t, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(b != ZPA_PFN_NONE);
	zpa_task_flags_restore(t, saved, ZPA_PF_MEMALLOC);
	/* neither ran direct reclaim */
	assert_int_equal(vm(s->m, "allocstall_normal"), 0);
	zpa_task_destroy(t);
	assert_int_equal(zpa_free_pages(s->m, a, 0), 0);
	assert_int_equal(zpa_free_pages(s->m, b, 0), 0);
	setup_free(s);
}

/* GFP_ATOMIC never reclaims: no evict call, no direct reclaim, even with a full cache. */
static void test_atomic_never_reclaims(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 4000, false, 0);
	zpa_pfn_t pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_ATOMIC | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn == ZPA_PFN_NONE);
	assert_int_equal(s->cache.evict_calls, 0);
	assert_int_equal(vm(s->m, "allocstall_normal"), 0);
	assert_int_equal(vm(s->m, "pgscan_direct"), 0);
	/* It woke kswapd, which reclaims in its own context when it runs (here: the next step). */
	assert_int_equal(vm(s->m, "pgscan_kswapd"), 0);
	zpa_daemon_step(s->m, 100);
	assert_true(vm(s->m, "pgscan_kswapd") > 0);
	assert_true(s->cache.evicted > 0);
	unsigned long evict_calls = s->cache.evict_calls;
	/* refill what kswapd freed, so memory is exhausted again */
	zpa_gfp_t fillgfp = (ZPA_GFP_HIGHUSER_MOVABLE & ~ZPA___GFP_RECLAIM) | ZPA___GFP_MEMALLOC | ZPA___GFP_NOWARN;
	zpa_pfn_t p;
	while ((p = zpa__alloc_pages(s->m, NULL, fillgfp, 0, 0, NULL)) != ZPA_PFN_NONE)
		pin(&s->pins, p);
	/* GFP_ATOMIC may use part of the min reserve that GFP_NOWAIT may not */
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(s->m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	while (zpa_total_free(s->m) < zi.min - zi.min / 4)
		assert_int_equal(zpa_free_pages(s->m, s->pins.pfn[--s->pins.n], 0), 0);
	assert_true(zpa__alloc_pages(s->m, NULL, ZPA_GFP_NOWAIT | ZPA___GFP_NOWARN, 0, 0, NULL) == ZPA_PFN_NONE);
	pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_ATOMIC | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_int_equal(s->cache.evict_calls, evict_calls);
	assert_int_equal(zpa_free_pages(s->m, pfn, 0), 0);
	setup_free(s);
}

/* An OOM victim may use ALLOC_OOM reserves (below min) where others fail. */
static void test_oom_victim_uses_reserves(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 0, false, 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(s->m, 0, ZPA_ZONE_NORMAL, &zi), 0);
	while (zpa_total_free(s->m) < zi.min)
		assert_int_equal(zpa_free_pages(s->m, s->pins.pfn[--s->pins.n], 0), 0);
	struct victim v = { 0 };
	struct zpa_task *vt = add_victim(s, &v, 0);
	zpa_gfp_t gfp = ZPA_GFP_NOWAIT | ZPA___GFP_NOWARN;
	assert_true(zpa__alloc_pages(s->m, vt, gfp, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_true(zpa_oom_kill(s->m));
	assert_true(zpa_task_is_oom_victim(vt));
	zpa_pfn_t pfn = zpa__alloc_pages(s->m, vt, gfp, 0, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_true(zpa__alloc_pages(s->m, vt, gfp | ZPA___GFP_NOMEMALLOC, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_int_equal(zpa_free_pages(s->m, pfn, 0), 0);
	zpa_oom_task_remove(s->m, vt);
	zpa_task_destroy(vt);
	setup_free(s);
	free(v.pages.pfn);
}

/* GFP_NOIO direct reclaim never swaps anonymous pages out; GFP_KERNEL does. */
static void test_noio_does_not_swap(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	zpa_swap_set(s->m, 100000, 100000);
	fill(s, 3000, true, 0);
	zpa_pfn_t pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_NOIO | ZPA___GFP_NORETRY | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn == ZPA_PFN_NONE);
	assert_int_equal(s->cache.writepages, 0);
	assert_int_equal(s->cache.evicted, 0);
	pfn = zpa__alloc_pages(s->m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_true(s->cache.writepages > 0);
	assert_true(s->cache.evicted > 0);
	assert_true(vm(s->m, "pgsteal_anon") > 0);
	assert_int_equal(zpa_free_pages(s->m, pfn, 0), 0);
	setup_free(s);
}

/* warn_alloc: one report per 10 s of the machine clock; __GFP_NOWARN never reports. */
static void test_warn_alloc_rate_limit(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 0, false, 0);
	zpa_gfp_t gfp = ZPA_GFP_NOWAIT;
	assert_int_equal(zpa_daemon_step(s->m, 1000), 0);
	int logs = s->log.count;
	assert_true(zpa__alloc_pages(s->m, NULL, gfp, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_true(s->log.count > logs);
	assert_int_equal(vm(s->m, "zpa_alloc_warn"), 1);
	assert_true(zpa__alloc_pages(s->m, NULL, gfp, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_true(zpa__alloc_pages(s->m, NULL, gfp | ZPA___GFP_NOWARN, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_int_equal(vm(s->m, "zpa_alloc_warn"), 1);
	assert_int_equal(vm(s->m, "zpa_alloc_warn_suppressed"), 1);
	zpa_daemon_step(s->m, 11000);
	assert_true(zpa__alloc_pages(s->m, NULL, gfp, 0, 0, NULL) == ZPA_PFN_NONE);
	assert_int_equal(vm(s->m, "zpa_alloc_warn"), 2);
	setup_free(s);
}

/* The report itself: Linux's first line, then the Mem-Info lines of show_mem. */
static void test_warn_alloc_report_format(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 0, false, 0);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_comm(t, "kworker/0:1");
	char buf[8192];
	assert_true(zpa_show(s->m, "show_mem", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Mem-Info:\nactive_anon:0 inactive_anon:0 isolated_anon:0\n"));
	assert_non_null(strstr(buf, "Node 0 Normal free:0kB boost:0kB min:"));
	assert_non_null(strstr(buf, "Node 0 Normal: 0*4kB 0*8kB"));
	assert_non_null(strstr(buf, "= 0kB\n"));
	int before = s->log.count;
	assert_true(zpa__alloc_pages(s->m, t, ZPA_GFP_NOWAIT, 2, 0, NULL) == ZPA_PFN_NONE);
	assert_true(s->log.count > before + 3);
	zpa_task_destroy(t);
	setup_free(s);
}

/* The first report line, checked on its own through a capturing log. */
struct first_line {
	char line[512];
	int n;
};
static void capture_first(void *arg, int level, const char *msg)
{
	struct first_line *f = arg;
	(void)level;
	if (f->n++ == 0)
		snprintf(f->line, sizeof(f->line), "%s", msg);
}

static void test_warn_alloc_first_line(void **state)
{
	(void)state;
	struct first_line f = { 0 };
	struct zpa_machine *m = machine_nodes_log(2, capture_first, &f);
	assert_int_equal(zpa_set_daemon_mode(m, ZPA_DAEMON_MANUAL), 0);
	struct pins p = { 0 };
	zpa_pfn_t pfn;
	while ((pfn = zpa__alloc_pages(m, NULL, ZPA_GFP_KERNEL | ZPA___GFP_MEMALLOC | ZPA___GFP_NOWARN, 0, -1, NULL)) !=
	       ZPA_PFN_NONE)
		pin(&p, pfn);
	struct zpa_task *t = zpa_task_create();
	zpa_task_set_comm(t, "stress");
	zpa_nodemask_t one = ZT_MASK(1);
	f.n = 0;
	assert_true(zpa__alloc_pages(m, t, ZPA_GFP_NOWAIT, 3, 1, &one) == ZPA_PFN_NONE);
	char gfpname[128], want[512];
	zpa_gfp_format(ZPA_GFP_NOWAIT, gfpname, sizeof(gfpname));
	snprintf(want, sizeof(want), "stress: page allocation failure: order:3, mode:%#x(%s), nodemask=1,cpuset=/,mems_allowed=0-1",
		 ZPA_GFP_NOWAIT, gfpname);
	assert_string_equal(f.line, want);
	bool ok;
	assert_int_equal(zpa_vmstat(m, "zpa_alloc_warn", &ok), 1);
	zpa_task_destroy(t);
	while (p.n)
		assert_int_equal(zpa_free_pages(m, p.pfn[--p.n], 0), 0);
	free(p.pfn);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* zpa_check audits the LRU lists: a count that disagrees with the list is reported, and nothing else. */
static void test_check_audits_lru(void **state)
{
	(void)state;
	struct setup *s = setup_new();
	fill(s, 100, false, 1000);
	char report[1024];
	assert_int_equal(zpa_check(s->m, report, sizeof(report)), 0);
	struct lruvec *lv = &s->m->nodes[0]->lruvec;
	assert_int_equal(lv->nr_pages[ZPA_LRU_INACTIVE_FILE], 100);
	lv->nr_pages[ZPA_LRU_INACTIVE_FILE]--;
	assert_int_equal(zpa_check(s->m, report, sizeof(report)), ZPA_ECORRUPT);
	assert_non_null(strstr(report, "LRU list 2 holds 100 pages, its count says 99"));
	lv->nr_pages[ZPA_LRU_INACTIVE_FILE]++;
	/* a page whose flags name another list */
	uint32_t idx = lv->lists[ZPA_LRU_INACTIVE_FILE].head;
	struct zpa_page *p = &s->m->nodes[0]->node_mem_map[idx];
	__atomic_fetch_or(&p->flags, PG_active, __ATOMIC_RELAXED);
	assert_int_equal(zpa_check(s->m, report, sizeof(report)), ZPA_ECORRUPT);
	assert_non_null(strstr(report, "LRU list 2: pfn"));
	__atomic_fetch_and(&p->flags, ~PG_active, __ATOMIC_RELAXED);
	setup_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noretry_fails_early),
		cmocka_unit_test(test_retry_mayfail_does_not_oom),
		cmocka_unit_test(test_nofail_succeeds_while_reclaimable),
		cmocka_unit_test(test_nofail_without_any_hope_fails_loudly),
		cmocka_unit_test(test_memalloc_dips_below_min),
		cmocka_unit_test(test_atomic_never_reclaims),
		cmocka_unit_test(test_oom_victim_uses_reserves),
		cmocka_unit_test(test_noio_does_not_swap),
		cmocka_unit_test(test_warn_alloc_rate_limit),
		cmocka_unit_test(test_warn_alloc_report_format),
		cmocka_unit_test(test_warn_alloc_first_line),
		cmocka_unit_test(test_check_audits_lru),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
