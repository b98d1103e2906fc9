/*
 * test_replay.c - trace replay (replay/) and the simulation API it builds
 * the starting state with (zpa/sim.h).
 *
 * What is checked:
 *   - The pfn map against a plain array under a million random puts, gets
 *     and deletes (backward-shift deletion must keep every key findable).
 *   - zpa/sim.h: holding every page leaves nothing free and the audit
 *     clean; giving blocks back puts them on their pageblock type's list and
 *     merges buddies as a free does; a made block frees with its order
 *     (compound tails and all); a split block frees page by page; retyping
 *     a pageblock moves its free blocks; every misuse is refused with the
 *     documented error and changes nothing; page states are reported.
 *   - A hand-written trace on a real snapshot's machine: frees of pages in
 *     use before the trace are counted as such (not errors), a free of part
 *     of a block splits it first, the kernel's failed allocation is counted
 *     (and zpa's success freed again), a pfn the kernel reuses without a
 *     traced free, an unmatched free, events on a CPU the machine lacks;
 *     every free reaches zpa (free pages come back) and the audit is clean.
 *   - Every trace in the oracle replays end to end from its snapshot: no
 *     allocation fails in zpa that the kernel served (none of them had
 *     reclaim), the start state is within 1% (L1, pages) of the snapshot's
 *     pagetypeinfo, node placement agrees on >= 95% of the two-node trace's
 *     allocations, and zpa_check() is clean at the end.
 *   - Determinism: two replays give identical numbers and time series.
 *   - What-if: a replay under watermark_scale_factor=1000 runs on a machine
 *     whose low watermarks are higher in every zone and comes out
 *     differently from the default one; the default run is unchanged by
 *     being the second of a pair; a tunable the library refuses is named.
 *   - Speed: the 1.48-million-event host trace replays in under 2 s
 *     (optimised builds only; skipped under the sanitizers).
 *   - The CLI: `zpa replay --json` writes the required keys with the
 *     library's numbers; --vs prints both runs; bad command lines exit 2,
 *     unreadable traces 1 with the file named; malformed lines are reported
 *     and the replay goes on, --strict stops.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/zt.h"
#include "replay.h"
#include "rp_int.h"
#include "zpa/sim.h"

#define ORACLE ZPA_ORACLE_DIR

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zpa-test-replay-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__OPTIMIZE__)
	return true;
#else
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#endif
#endif
	return false;
#endif
}

/* ------------------------------------------------------------ pfn map */

static void test_pfnmap_random(void **state)
{
	enum { KEYS = 1 << 16 };
	static uint64_t ref[KEYS];      /* 0: absent, else value + 1 */
	struct rp_pfnmap m;
	uint64_t x = 88172645463325252ull;
	(void)state;

	memset(ref, 0, sizeof(ref));
	assert_int_equal(rp_pfnmap_init(&m, 16), 0);
	for (int i = 0; i < 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* clustered keys, as a trace's pfns are */
		uint64_t k = (x >> 8) % KEYS;
		uint64_t tpfn = 0x100000 + k;
		struct rp_pfnmap_entry *e = rp_pfnmap_get(&m, tpfn);
		if (ref[k])
			assert_true(e && e->zpfn == ref[k] - 1);
		else
			assert_null(e);
		switch (x & 3) {
		case 0:
		case 1:
			assert_int_equal(rp_pfnmap_put(&m, tpfn, x & 0xffffffff, (unsigned)(x >> 60), 0), 0);
			ref[k] = (x & 0xffffffff) + 1;
			break;
		default:
			if (e)
				rp_pfnmap_del(&m, e);
			ref[k] = 0;
		}
	}
	size_t live = 0;
	for (unsigned k = 0; k < KEYS; k++) {
		struct rp_pfnmap_entry *e = rp_pfnmap_get(&m, 0x100000 + k);
		live += ref[k] != 0;
		if (ref[k])
			assert_true(e && e->zpfn == ref[k] - 1);
		else
			assert_null(e);
	}
	assert_int_equal(m.used, live);
	rp_pfnmap_destroy(&m);
}

/* ------------------------------------------------------------ sim.h */

static uint64_t free_blocks(struct zpa_machine *m, unsigned order, int mt)
{
	uint64_t c[ZPA_MAX_ORDER_LIMIT * ZPA_MIGRATE_TYPES];
	assert_int_equal(zpa_sim_free_blocks(m, 0, ZPA_ZONE_DMA32, c), 0);
	return c[order * ZPA_MIGRATE_TYPES + mt];
}

static void test_sim_api(void **state)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	struct zt_log log = { 0 };
	(void)state;

	zt_config_simple(&cfg, 64, &log);
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	/* some pages on a per-CPU list first: hold_all must take them too */
	zpa_pfn_t a = zpa_alloc_pages(m, ZPA_GFP_KERNEL, 0);
	assert_int_equal(zpa_free_pages(m, a, 0), 0);
	uint64_t free0 = zpa_total_free(m);
	uint64_t held = zpa_sim_hold_all(m);
	assert_int_equal(held, free0);
	assert_int_equal(zpa_total_free(m), 0);
	zt_assert_clean(m);
	assert_int_equal(zpa_alloc_pages(m, ZPA_GFP_KERNEL | ZPA___GFP_NOWARN, 0), ZPA_PFN_NONE);

	/* page states: DMA32 here is pfns 4096..16639, all held now */
	uint8_t st[512];
	assert_int_equal(zpa_sim_page_states(m, 0x2000, 512, st), 0);
	for (int i = 0; i < 512; i++)
		assert_int_equal(st[i], ZPA_SIM_PAGE_HELD);

	/* retype, then give back: the block lands on its pageblock's list */
	assert_int_equal(zpa_sim_set_pageblock_migratetype(m, 0x2000, ZPA_MIGRATE_UNMOVABLE), 0);
	assert_int_equal(zpa_sim_pageblock_migratetype(m, 0x2000), ZPA_MIGRATE_UNMOVABLE);
	assert_int_equal(zpa_sim_give_block(m, 0x2000, 9, false), 0);
	assert_int_equal(zpa_total_free(m), 512);
	assert_int_equal(free_blocks(m, 9, ZPA_MIGRATE_UNMOVABLE), 1);
	zt_assert_clean(m);
	assert_int_equal(zpa_sim_page_states(m, 0x2000, 512, st), 0);
	assert_int_equal(st[0], ZPA_SIM_PAGE_FREE);
	assert_int_equal(st[511], ZPA_SIM_PAGE_FREE);

	/* misuse changes nothing */
	assert_int_equal(zpa_sim_give_block(m, 0x2000, 9, false), ZPA_EBUSY);
	assert_int_equal(zpa_sim_give_block(m, 0x2201, 1, false), ZPA_EALIGN);
	assert_int_equal(zpa_sim_give_block(m, 0x2200, 30, false), ZPA_EORDER);
	assert_int_equal(zpa_sim_give_block(m, 0x7fffffff, 0, false), ZPA_EBADPFN);
	assert_int_equal(zpa_sim_make_block(m, 0x2000, 0, ZPA_GFP_KERNEL), ZPA_EBUSY);
	assert_int_equal(zpa_sim_split_page(m, 0x2001), ZPA_EINVAL);
	assert_int_equal(zpa_sim_set_pageblock_migratetype(m, 0x2000, ZPA_MIGRATE_ISOLATE), ZPA_EINVAL);
	assert_int_equal(zpa_sim_set_pageblock_migratetype(m, 0x7fffffff, 0), ZPA_EBADPFN);
	assert_int_equal(zpa_total_free(m), 512);
	zt_assert_clean(m);

	/* two buddies given one after the other merge */
	assert_int_equal(zpa_sim_give_block(m, 0x2400, 3, false), 0);
	assert_int_equal(free_blocks(m, 3, ZPA_MIGRATE_MOVABLE), 1);
	assert_int_equal(zpa_sim_give_block(m, 0x2408, 3, true), 0);
	assert_int_equal(free_blocks(m, 3, ZPA_MIGRATE_MOVABLE), 0);
	assert_int_equal(free_blocks(m, 4, ZPA_MIGRATE_MOVABLE), 1);
	zt_assert_clean(m);

	/* retyping a pageblock moves its free blocks */
	assert_int_equal(zpa_sim_set_pageblock_migratetype(m, 0x2400, ZPA_MIGRATE_RECLAIMABLE), 0);
	assert_int_equal(free_blocks(m, 4, ZPA_MIGRATE_MOVABLE), 0);
	assert_int_equal(free_blocks(m, 4, ZPA_MIGRATE_RECLAIMABLE), 1);
	zt_assert_clean(m);

	/* a made compound block frees with its order */
	assert_int_equal(zpa_sim_make_block(m, 0x2800, 2, ZPA_GFP_KERNEL | ZPA___GFP_COMP), 0);
	assert_int_equal(zpa_compound_head(m, 0x2803), 0x2800);
	assert_int_equal(zpa_compound_order(m, 0x2801), 2);
	zt_assert_clean(m);
	uint64_t before = zpa_total_free(m);
	assert_int_equal(zpa_free_pages(m, 0x2800, 2), 0);
	assert_int_equal(zpa_total_free(m), before + 4);

	/* a made plain block, split, frees page by page */
	assert_int_equal(zpa_sim_make_block(m, 0x2808, 3, ZPA_GFP_KERNEL), 0);
	assert_int_equal(zpa_free_pages(m, 0x2808, 0), ZPA_EORDER); /* refused: wrong order */
	assert_int_equal(zpa_sim_split_page(m, 0x2808), 0);
	zt_assert_clean(m);
	before = zpa_total_free(m);
	for (int i = 7; i >= 0; i--)
		assert_int_equal(zpa_free_pages(m, 0x2808 + i, 0), 0);
	assert_int_equal(zpa_total_free(m), before + 8);
	/* a held page frees like any order-0 page */
	assert_int_equal(zpa_free_pages(m, 0x3000, 0), 0);
	assert_int_equal(zpa_total_free(m), before + 9);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------ replays */

static void replay_file(const char *trace, const struct rp_config *c, const struct rp_options *o,
			struct rp_trace *t, struct rp_result *r)
{
	char err[RP_ERRLEN];
	int rc = rp_trace_load(trace, NULL, t, err, sizeof(err));
	if (rc)
		fail_msg("load %s: %s", trace, err);
	rc = rp_replay(t, c, o, r, err, sizeof(err));
	if (rc)
		fail_msg("replay %s: %s", trace, err);
}

static void test_synthetic_trace(void **state)
{
	static const char lines[] =
		/* in use before the trace: freed first */
		"  a-1 [000] ..... 1.000001: mm_page_free: page=0000000012345678 pfn=0x20000 order=0\n"
		/* an order-2 block freed page by page: split first */
		"  a-1 [000] ..... 1.000002: mm_page_alloc: page=0000000012345678 pfn=0x30000 order=2 migratetype=0 gfp_flags=GFP_KERNEL\n"
		"  a-1 [000] ..... 1.000003: mm_page_free: page=0000000012345678 pfn=0x30001 order=0\n"
		"  a-1 [001] ..... 1.000004: mm_page_free: page=0000000012345678 pfn=0x30000 order=0\n"
		"  a-1 [000] ..... 1.000005: mm_page_free: page=0000000012345678 pfn=0x30002 order=0\n"
		"  a-1 [000] ..... 1.000006: mm_page_free: page=0000000012345678 pfn=0x30003 order=0\n"
		/* the kernel failed this one */
		"  a-1 [000] ..... 1.000007: mm_page_alloc: page=0000000000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_KERNEL\n"
		/* freed twice: the second is unmatched */
		"  a-1 [000] ..... 1.000008: mm_page_alloc: page=0000000012345678 pfn=0x40000 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n"
		"  a-1 [000] ..... 1.000009: mm_page_free: page=0000000012345678 pfn=0x40000 order=0\n"
		"  a-1 [000] ..... 1.000010: mm_page_free: page=0000000012345678 pfn=0x40000 order=0\n"
		/* handed out again without a traced free */
		"  a-1 [001] ..... 1.000011: mm_page_alloc: page=0000000012345678 pfn=0x50000 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n"
		"  a-1 [001] ..... 1.000012: mm_page_alloc: page=0000000012345678 pfn=0x50000 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n"
		"  a-1 [001] ..... 1.000013: mm_page_free: page=0000000012345678 pfn=0x50000 order=0\n"
		/* a CPU the machine does not have */
		"  a-1 [005] ..... 1.000014: mm_page_alloc: page=0000000012345678 pfn=0x60000 order=1 migratetype=0 gfp_flags=GFP_KERNEL\n"
		"  a-1 [005] ..... 1.000015: mm_page_free: page=0000000012345678 pfn=0x60000 order=1\n";
	char path[400];
	struct rp_config c = { .snapshot = ORACLE "/n1-2g-2cpu" };
	struct rp_options o = { .keep_map = true };
	struct rp_trace t;
	struct rp_result r;
	(void)state;

	snprintf(path, sizeof(path), "%s/synthetic.txt", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(lines, f);
	fclose(f);
	replay_file(path, &c, &o, &t, &r);

	assert_true(r.start.built);
	assert_int_equal(r.allocs, 6);
	assert_int_equal(r.frees, 9);
	assert_int_equal(r.frees_pretrace, 1);
	assert_int_equal(r.frees_split, 1);
	assert_int_equal(r.kernel_failures, 1);
	assert_int_equal(r.zpa_only_successes, 1);
	assert_int_equal(r.zpa_only_failures, 0);
	assert_int_equal(r.frees_unmatched, 1);
	assert_int_equal(r.realloc_live, 1);
	assert_int_equal(r.frees_refused, 0);
	assert_true(r.cpu_folded >= 2);
	assert_int_equal(r.placed, 5);
	assert_int_equal(r.same_node, 5);
	assert_int_equal(r.same_zone, 5);
	assert_int_equal(r.check_rc, 0);
	/* every block went back: one more free page than at the start (the pre-trace page) */
	uint64_t start_free = r.start.zpa_free_pages;
	uint64_t pcp = 0;
	for (unsigned i = 0; i < r.start.nr_zones; i++)
		pcp += r.start.zones[i].pcp_placed;
	assert_int_equal(r.end_free_pages, start_free + pcp + 1);
	/* pageblock maps were kept for both ends */
	assert_true(r.map_start.nr_zones >= 1 && r.map_end.nr_zones == r.map_start.nr_zones);
	rp_result_free(&r);
	rp_trace_free(&t);
}

struct oracle_run {
	const char *config;
	double node, zone;
	uint64_t events, allocs, failures, zpa_only;
	double l1_pct, seconds;
};

static void test_oracle_replays(void **state)
{
	static const char *const configs[] = { "n1-2g-2cpu", "n2-4g-2cpu", "host/a-build" };
	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		char dir[512], trace[600];
		struct rp_config c = { 0 };
		struct rp_trace t;
		struct rp_result r;
		snprintf(dir, sizeof(dir), "%s/%s", ORACLE, configs[i]);
		snprintf(trace, sizeof(trace), "%s/trace.txt.zst", dir);
		c.snapshot = dir;
		replay_file(trace, &c, NULL, &t, &r);
		double l1 = 100.0 * (double)r.start.l1_pages / (double)(r.start.target_free_pages ? r.start.target_free_pages : 1);
		print_message("%-14s events %llu allocs %llu kernel failures %llu zpa-only failures %llu node %.4f zone %.4f "
			      "start L1 %.3f%% extfrag zpa %llu trace %llu replay %.2f s\n",
			      configs[i], (unsigned long long)r.events, (unsigned long long)r.allocs,
			      (unsigned long long)r.kernel_failures, (unsigned long long)r.zpa_only_failures, r.node_agreement,
			      r.zone_agreement, l1, (unsigned long long)r.extfrag_zpa, (unsigned long long)r.extfrag_trace,
			      r.seconds);
		assert_true(r.start.built);
		assert_true(l1 <= 1.0);
		assert_int_equal(r.zpa_only_failures, 0);
		assert_int_equal(r.check_rc, 0);
		assert_int_equal(r.frees_refused, 0);
		assert_int_equal(r.allocs, t.count[RP_EV_ALLOC]);
		assert_int_equal(r.frees, t.count[RP_EV_FREE]);
		assert_true(r.placed + r.kernel_failures == r.allocs);
		if (strcmp(configs[i], "n2-4g-2cpu") == 0)
			assert_true(r.node_agreement >= 0.95);
		rp_result_free(&r);
		rp_trace_free(&t);
	}
}

static void assert_results_equal(const struct rp_result *a, const struct rp_result *b)
{
	assert_int_equal(a->events, b->events);
	assert_int_equal(a->zpa_failures, b->zpa_failures);
	assert_int_equal(a->same_node, b->same_node);
	assert_int_equal(a->same_zone, b->same_zone);
	assert_int_equal(a->extfrag_zpa, b->extfrag_zpa);
	assert_int_equal(a->end_free_pages, b->end_free_pages);
	assert_memory_equal(a->zone_pages_zpa, b->zone_pages_zpa, sizeof(a->zone_pages_zpa));
	assert_int_equal(a->series.nr_samples, b->series.nr_samples);
	size_t n = (size_t)a->series.nr_samples * a->series.nr_zones * a->series.nr_orders;
	assert_memory_equal(a->series.nr_free, b->series.nr_free, n * sizeof(*a->series.nr_free));
	assert_memory_equal(a->series.unusable, b->series.unusable, n * sizeof(*a->series.unusable));
	assert_int_equal(a->start.l1_pages, b->start.l1_pages);
}

static void test_deterministic_and_what_if(void **state)
{
	char err[RP_ERRLEN];
	struct rp_config base = { .snapshot = ORACLE "/n2-4g-2cpu" };
	struct rp_config high = { .snapshot = ORACLE "/n2-4g-2cpu", .nr_sets = 1,
				  .sets = { "watermark_scale_factor=1000" } };
	struct rp_trace t;
	struct rp_result r1, r2, rh;
	(void)state;

	replay_file(ORACLE "/n2-4g-2cpu/trace.txt.zst", &base, NULL, &t, &r1);
	assert_int_equal(rp_replay(&t, &high, NULL, &rh, err, sizeof(err)), 0);
	assert_int_equal(rp_replay(&t, &base, NULL, &r2, err, sizeof(err)), 0);
	assert_results_equal(&r1, &r2);

	/*
	 * The tunable reached run A's machine (every populated zone's low
	 * watermark is higher), and the replay came out differently: higher
	 * watermarks change which requests fail or where they are served.
	 */
	for (unsigned z = 0; z < r1.series.nr_zones; z++)
		if (r1.wmark[z][2])
			assert_true(rh.wmark[z][1] > r1.wmark[z][1]);
	bool differs = rh.zpa_failures != r1.zpa_failures || rh.same_node != r1.same_node ||
		       memcmp(rh.zone_pages_zpa, r1.zone_pages_zpa, sizeof(r1.zone_pages_zpa)) != 0;
	size_t nf = (size_t)r1.series.nr_samples * r1.series.nr_zones * r1.series.nr_orders;
	differs |= memcmp(rh.series.nr_free, r1.series.nr_free, nf * sizeof(*r1.series.nr_free)) != 0;
	assert_true(differs);
	assert_int_equal(rh.check_rc, 0);
	print_message("what-if wsf=1000: zpa failures %llu vs %llu, same node %llu vs %llu\n",
		      (unsigned long long)rh.zpa_failures, (unsigned long long)r1.zpa_failures,
		      (unsigned long long)rh.same_node, (unsigned long long)r1.same_node);
	/* A bad tunable is refused with its name. */
	struct rp_config bad = { .snapshot = ORACLE "/n2-4g-2cpu", .nr_sets = 1, .sets = { "watermark_scale_factor=0" } };
	struct rp_result rb;
	assert_int_not_equal(rp_replay(&t, &bad, NULL, &rb, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "watermark_scale_factor"));
	rp_result_free(&r1);
	rp_result_free(&r2);
	rp_result_free(&rh);
	rp_trace_free(&t);
}

static void test_speed(void **state)
{
	struct rp_config c = { .snapshot = ORACLE "/host/a-build" };
	struct rp_trace t;
	struct rp_result r;
	(void)state;
	if (sanitized()) {
		print_message("skipped: speed is measured in optimised builds without sanitizers "
			      "(cmake -DCMAKE_BUILD_TYPE=Release)\n");
		skip();
	}
	double t0 = rp_now_seconds();
	replay_file(ORACLE "/host/a-build/trace.txt.zst", &c, NULL, &t, &r);
	double total = rp_now_seconds() - t0;
	print_message("host trace: %zu events, read %.2f s, replay %.2f s, all %.2f s\n", t.n, t.seconds, r.seconds,
		      total);
	assert_true(t.n >= 1000000);
	assert_true(r.seconds < 2.0);
	rp_result_free(&r);
	rp_trace_free(&t);
}

/* ------------------------------------------------------------ CLI */

struct cli_out {
	int status;
	char *out, *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

static struct cli_out zpa(const char *args)
{
	char cmd[4096], o[400], e[400];
	struct cli_out r;
	snprintf(o, sizeof(o), "%s/out.txt", tmpdir);
	snprintf(e, sizeof(e), "%s/err.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "%s %s > '%s' 2> '%s'", ZPA_CLI, args, o, e);
	int st = system(cmd);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(o);
	r.err = slurp(e);
	return r;
}

static void cli_free(struct cli_out *r)
{
	free(r->out);
	free(r->err);
}

/* The number after "key": at the JSON's top level (the first occurrence). */
static double json_number(const char *json, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\":", key);
	const char *p = strstr(json, k);
	if (!p)
		fail_msg("key %s missing", key);
	return strtod(p + strlen(k), NULL);
}

static void test_cli(void **state)
{
	char args[2048], json[400];
	struct cli_out r;
	struct rp_config c = { .snapshot = ORACLE "/n1-2g-2cpu" };
	struct rp_trace t;
	struct rp_result lib;
	(void)state;

	snprintf(json, sizeof(json), "%s/run.json", tmpdir);
	snprintf(args, sizeof(args), "replay --snapshot %s/n1-2g-2cpu --json %s", ORACLE, json);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "zpa-only failures"));
	assert_non_null(strstr(r.out, "node agreement"));
	cli_free(&r);
	char *js = slurp(json);
	replay_file(ORACLE "/n1-2g-2cpu/trace.txt.zst", &c, NULL, &t, &lib);
	static const char *const keys[] = { "events", "allocs", "frees", "zpa_only_failures", "node_agreement",
					    "zone_agreement", "extfrag_zpa", "extfrag_trace", "seconds" };
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_number(js, keys[i]);
	assert_true(json_number(js, "events") == (double)lib.events);
	assert_true(json_number(js, "allocs") == (double)lib.allocs);
	assert_true(json_number(js, "frees") == (double)lib.frees);
	assert_true(json_number(js, "zpa_only_failures") == (double)lib.zpa_only_failures);
	assert_true(json_number(js, "extfrag_trace") == (double)lib.extfrag_trace);
	double na = json_number(js, "node_agreement");
	assert_true(na > lib.node_agreement - 1e-6 && na < lib.node_agreement + 1e-6);
	assert_non_null(strstr(js, "\"series\":"));
	assert_non_null(strstr(js, "\"pageblocks\":"));
	free(js);
	rp_result_free(&lib);
	rp_trace_free(&t);

	/* what-if: both runs, side by side, and "vs" in the JSON */
	snprintf(args, sizeof(args),
		 "replay --snapshot %s/n1-2g-2cpu --set watermark_scale_factor=500 --vs --json %s --samples 20", ORACLE,
		 json);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Run A:    watermark_scale_factor=500"));
	assert_non_null(strstr(r.out, "Run B:    defaults"));
	assert_non_null(strstr(r.out, "B - A"));
	cli_free(&r);
	js = slurp(json);
	assert_non_null(strstr(js, "\"vs\":{\"label\":\"defaults\""));
	free(js);

	/* usage errors: exit 2, nothing on stdout */
	const char *bad[] = { "replay", "replay --snapshot", "replay --snapshot x --bogus", "replay --machine a --snapshot b",
			      "replay --snapshot x --set nonsense", "replay --snapshot x --vs --vs",
			      "replay --snapshot x --samples 1" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = zpa(bad[i]);
		if (r.status != 2)
			fail_msg("'%s' exited %d", bad[i], r.status);
		assert_string_equal(r.out, "");
		assert_true(strlen(r.err) > 0);
		cli_free(&r);
	}
	/* a missing trace: exit 1 naming it */
	snprintf(args, sizeof(args), "replay --snapshot %s/n1-2g-2cpu %s/none.txt", ORACLE, tmpdir);
	r = zpa(args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "none.txt"));
	cli_free(&r);

	/* malformed lines: reported, replay goes on; --strict stops */
	char tr[400];
	snprintf(tr, sizeof(tr), "%s/bad.txt", tmpdir);
	FILE *f = fopen(tr, "w");
	fputs("  a-1 [000] ..... 1.000001: mm_page_alloc: page=0000000012345678 pfn=0x30000 order=0 migratetype=0 "
	      "gfp_flags=GFP_KERNEL\n"
	      "  a-1 [000] ..... 1.000002: mm_page_free: page=0000000012345678 pfn=zz order=0\n"
	      "  a-1 [000] ..... 1.000003: mm_page_free: page=0000000012345678 pfn=0x30000 order=0\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "replay --snapshot %s/n1-2g-2cpu %s", ORACLE, tr);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "1 malformed line"));
	assert_non_null(strstr(r.err, "line 2"));
	assert_non_null(strstr(r.out, "line 2: mm_page_free: missing or bad pfn="));
	cli_free(&r);
	snprintf(args, sizeof(args), "replay --snapshot %s/n1-2g-2cpu --strict %s", ORACLE, tr);
	r = zpa(args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "line 2"));
	assert_string_equal(r.out, "");
	cli_free(&r);
}

/* ------------------------------------------------------------ synthetic workloads */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void load_workload(const char *text, struct rp_workload *w, unsigned cpus, struct rp_trace *t)
{
	char path[400], err[RP_ERRLEN];
	snprintf(path, sizeof(path), "%s/w.wl", tmpdir);
	write_text(path, text);
	if (rp_workload_read(path, w, err, sizeof(err)))
		fail_msg("%s", err);
	if (rp_workload_generate(w, cpus, t, err, sizeof(err)))
		fail_msg("%s", err);
}

static void test_workloads(void **state)
{
	static const char base[] =
		"seed 7\nops 19000\ncpus 0\ninterrupt-cpus 1\n"
		"class slab gfp=GFP_KERNEL order=0-3 weight=30 life=3000\n"
		"class anon gfp=GFP_HIGHUSER_MOVABLE order=0 weight=70 life=500 seed=11\n"
		"burst irq gfp=GFP_ATOMIC order=0-1 every=5000 size=50 life=20\n";
	static const char other_seed[] =
		"seed 7\nops 19000\ncpus 0\ninterrupt-cpus 1\n"
		"class slab gfp=GFP_KERNEL order=0-3 weight=30 life=3000\n"
		"class anon gfp=GFP_HIGHUSER_MOVABLE order=0 weight=70 life=500 seed=12\n"
		"burst irq gfp=GFP_ATOMIC order=0-1 every=5000 size=50 life=20\n";
	struct rp_workload *w = malloc(sizeof(*w));
	struct rp_trace a, b, c;
	char err[RP_ERRLEN], path[400];
	(void)state;

	load_workload(base, w, 2, &a);
	load_workload(base, w, 2, &b);
	assert_true(a.synthetic);
	assert_int_equal(a.count[RP_EV_ALLOC], 19000);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.ev, b.ev, a.n * sizeof(*a.ev));  /* deterministic */

	/* Every free follows its allocation, with its order and CPU; bursts run on CPU 1 every 5000 ticks. */
	uint64_t slab = 0, anon = 0, irq = 0, irq_runs = 0;
	bool in_run = false;
	for (size_t i = 0; i < a.n; i++) {
		const struct rp_event *e = &a.ev[i];
		if (e->type == RP_EV_FREE) {
			size_t j = i;
			while (j-- > 0 && !(a.ev[j].type == RP_EV_ALLOC && a.ev[j].pfn == e->pfn))
				;
			assert_true(j < i);
			assert_int_equal(a.ev[j].order, e->order);
			assert_int_equal(a.ev[j].cpu, e->cpu);
			continue;
		}
		if (e->type != RP_EV_ALLOC)
			continue;
		if (e->gfp == ZPA_GFP_ATOMIC) {
			irq++;
			assert_int_equal(e->cpu, 1);
			assert_true(e->order <= 1);
			if (!in_run)
				irq_runs++;
			in_run = true;
			continue;
		}
		in_run = false;
		assert_int_equal(e->cpu, 0);
		if (e->gfp == ZPA_GFP_KERNEL) {
			slab++;
			assert_true(e->order <= 3);
		} else {
			assert_int_equal(e->gfp, ZPA_GFP_HIGHUSER_MOVABLE);
			assert_int_equal(e->mt, ZPA_MIGRATE_MOVABLE);
			anon++;
		}
	}
	assert_int_equal(irq, 3 * 50);     /* bursts at ticks 5000, 10000, 15000 */
	assert_int_equal(irq_runs, 3);
	assert_true(slab > 4000 && slab < 7500 && anon > 12000);

	/* Another seed for one class changes that class only. */
	load_workload(other_seed, w, 2, &c);
	bool anon_differs = false;
	size_t ia = 0, ic = 0;
	for (;;) {
		while (ia < a.n && !(a.ev[ia].type == RP_EV_ALLOC && a.ev[ia].gfp == ZPA_GFP_KERNEL))
			ia++;
		while (ic < c.n && !(c.ev[ic].type == RP_EV_ALLOC && c.ev[ic].gfp == ZPA_GFP_KERNEL))
			ic++;
		if (ia == a.n || ic == c.n)
			break;
		assert_int_equal(a.ev[ia].order, c.ev[ic].order);  /* the slab class's draws are its own */
		ia++;
		ic++;
	}
	assert_true(ia == a.n && ic == c.n);
	for (size_t i = 0; i < a.n && i < c.n && !anon_differs; i++)
		anon_differs = a.ev[i].type != c.ev[i].type || a.ev[i].pfn != c.ev[i].pfn;
	assert_true(anon_differs);

	/* Written as ftrace text, it reads back to the same events. */
	snprintf(path, sizeof(path), "%s/w.txt", tmpdir);
	FILE *f = fopen(path, "w");
	assert_int_equal(rp_trace_write_text(f, &a), 0);
	fclose(f);
	struct rp_trace x;
	assert_int_equal(rp_trace_load(path, NULL, &x, err, sizeof(err)), 0);
	assert_int_equal(x.n, a.n);
	assert_int_equal(x.malformed, 0);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(x.ev[i].type, a.ev[i].type);
		assert_int_equal(x.ev[i].pfn, a.ev[i].pfn);
		assert_int_equal(x.ev[i].order, a.ev[i].order);
		assert_int_equal(x.ev[i].cpu, a.ev[i].cpu);
		assert_int_equal(x.ev[i].gfp, a.ev[i].gfp);
	}
	rp_trace_free(&x);

	/* It replays: every request and free reaches zpa, the audit is clean. */
	struct rp_config cfg = { 0 };
	struct rp_result r;
	assert_int_equal(rp_replay(&a, &cfg, NULL, &r, err, sizeof(err)), 0);
	assert_int_equal(r.allocs, 19000);
	assert_int_equal(r.frees, a.count[RP_EV_FREE]);
	assert_int_equal(r.frees_unmatched, 0);
	assert_int_equal(r.frees_refused, 0);
	assert_int_equal(r.placed, 0);
	assert_int_equal(r.check_rc, 0);
	uint64_t pages = 0;
	for (unsigned z = 0; z < r.series.nr_zones; z++)
		pages += r.zone_pages_zpa[z];
	assert_true(pages >= 19000 - r.zpa_failures);
	rp_result_free(&r);
	rp_trace_free(&a);
	rp_trace_free(&b);
	rp_trace_free(&c);

	/* Errors name the file and line. */
	static const struct { const char *text, *want; } bad[] = {
		{ "seed 1\nclas x gfp=GFP_KERNEL order=0 weight=1 life=1\n", ":2: unknown keyword 'clas'" },
		{ "class x gfp=GFP_NONSENSE order=0 weight=1 life=1\n", ":1: unknown GFP flags" },
		{ "class x gfp=GFP_KERNEL order=0 weight=1\n", ":1: class x needs gfp=, order= and life=" },
		{ "class x gfp=GFP_KERNEL order=3-1 weight=1 life=5\n", ":1: bad order" },
		{ "class x gfp=GFP_KERNEL order=0 weight=1 life=5\nburst y gfp=GFP_ATOMIC order=0 life=5\n",
		  ":2: burst y needs every= and size=" },
		{ "burst y gfp=GFP_ATOMIC order=0 life=5 every=10 size=2\n", "no class line" },
		{ "ops 0\nclass x gfp=GFP_KERNEL order=0 weight=1 life=5\n", ":1: ops needs a number" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/bad.wl", tmpdir);
		write_text(path, bad[i].text);
		assert_int_equal(rp_workload_read(path, w, err, sizeof(err)), ZPA_EPARSE);
		if (!strstr(err, bad[i].want))
			fail_msg("'%s' not in '%s'", bad[i].want, err);
	}
	free(w);

	/* The example workload runs through the CLI, with a what-if. */
	char args[1500];
	snprintf(args, sizeof(args), "replay --workload %s/replay/workloads/kernel-mix.wl --set min_free_kbytes=200000 "
		 "--vs --samples 20", ZPA_SOURCE_DIR);
	struct cli_out o = zpa(args);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.out, "Workload: "));
	assert_non_null(strstr(o.out, "Run A:    min_free_kbytes=200000"));
	cli_free(&o);
}

/* ------------------------------------------------------------ zpa record */

/* Can this process trace?  (tracefs mounted with the kmem events, instances writable.) */
static char tracefs_dir[512];

static bool tracing_possible(char *why, size_t len)
{
	FILE *m = fopen("/proc/mounts", "r");
	char line[1024], *dir = tracefs_dir;
	dir[0] = '\0';
	while (m && fgets(line, sizeof(line), m)) {
		char dev[256], mnt[400], type[64];
		if (sscanf(line, "%255s %399s %63s", dev, mnt, type) != 3)
			continue;
		if (strcmp(type, "tracefs") == 0) {
			snprintf(dir, sizeof(tracefs_dir), "%s", mnt);
			break;
		}
		/* debugfs mounts tracefs under tracing/ on first use, as zpa record finds it */
		char ev[500];
		snprintf(ev, sizeof(ev), "%s/tracing/events", mnt);
		if (strcmp(type, "debugfs") == 0 && !dir[0] && access(ev, F_OK) == 0)
			snprintf(dir, sizeof(tracefs_dir), "%s/tracing", mnt);
	}
	if (m)
		fclose(m);
	if (!dir[0]) {
		snprintf(why, len, "tracefs is not mounted");
		return false;
	}
	char p[700];
	snprintf(p, sizeof(p), "%s/events/kmem/mm_page_alloc", dir);
	if (access(p, F_OK) != 0) {
		snprintf(why, len, "the kernel has no kmem tracepoints");
		return false;
	}
	snprintf(p, sizeof(p), "%s/instances", dir);
	if (access(p, W_OK) != 0) {
		snprintf(why, len, "tracing is not permitted (not root)");
		return false;
	}
	return true;
}

static void test_record(void **state)
{
	char args[2048], dir[400], why[200], p[600];
	struct cli_out r;
	(void)state;

	/* bad command lines */
	const char *bad[] = { "record", "record --duration 1 -- true", "record --duration x", "record --bogus -- true",
			      "record --buffer-kb 1 -- true" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = zpa(bad[i]);
		if (r.status != 2)
			fail_msg("'%s' exited %d", bad[i], r.status);
		cli_free(&r);
	}
	/* not a tracefs */
	snprintf(dir, sizeof(dir), "%s/rec-bad", tmpdir);
	snprintf(args, sizeof(args), "record -o %s --tracefs %s -- true", dir, tmpdir);
	r = zpa(args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not a tracefs"));
	cli_free(&r);

	snprintf(dir, sizeof(dir), "%s/rec", tmpdir);
	snprintf(args, sizeof(args), "record -o %s -- true", dir);
	if (!tracing_possible(why, sizeof(why))) {
		/* Where tracing is impossible, the command says why, clearly. */
		r = zpa(args);
		assert_int_equal(r.status, 1);
		assert_true(strstr(r.err, "not mounted") || strstr(r.err, "not permitted") || strstr(r.err, "without libtracefs") ||
			    strstr(r.err, "kmem"));
		cli_free(&r);
		print_message("skipped `zpa record -- true`: %s\n", why);
		skip();
	}
	r = zpa(args);
	if (r.status != 0)
		fail_msg("zpa record -- true: exit %d: %s", r.status, r.err);
	if (strstr(r.err, "without libtracefs")) {
		cli_free(&r);
		print_message("skipped: built without libtracefs\n");
		skip();
	}
	cli_free(&r);
	static const char *const files[] = { "proc/zoneinfo", "proc/buddyinfo", "proc/pagetypeinfo", "vm-sysctls.txt",
					     "trace.txt.zst", "end/proc/zoneinfo", "meta.txt",
					     "sys/devices/system/node/node0/cpulist",
					     "sys/devices/system/node/node0/distance" };
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		if (access(p, R_OK) != 0)
			fail_msg("%s missing", p);
	}
	/* the private instance is gone */
	snprintf(p, sizeof(p), "%s/instances", tracefs_dir);
	DIR *d = opendir(p);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));)
		assert_true(strncmp(de->d_name, "zpa-record-", 11) != 0);
	closedir(d);
	/* the machine loader and replay accept it */
	snprintf(args, sizeof(args), "info --snapshot %s zoneinfo", dir);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Node 0, zone"));
	cli_free(&r);
	char json[500];
	snprintf(json, sizeof(json), "%s/rec.json", tmpdir);
	snprintf(args, sizeof(args), "replay --snapshot %s --json %s", dir, json);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "Start:    rebuilt from the snapshot"));
	cli_free(&r);
	char *js = slurp(json);
	assert_non_null(strstr(js, "\"text\":\"ZPA_RECORD start\""));
	assert_non_null(strstr(js, "\"text\":\"ZPA_RECORD end\""));
	assert_true(json_number(js, "zpa_only_failures") == 0);
	free(js);
	/* the directory is not reused */
	snprintf(args, sizeof(args), "record -o %s -- true", dir);
	r = zpa(args);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not empty"));
	cli_free(&r);
	/* --duration, and the command's failure is the exit status */
	snprintf(args, sizeof(args), "record -o %s/rec2 --duration 0.2 --quiet", tmpdir);
	r = zpa(args);
	assert_int_equal(r.status, 0);
	cli_free(&r);
	snprintf(args, sizeof(args), "record -o %s/rec3 --quiet -- sh -c 'exit 3'", tmpdir);
	r = zpa(args);
	assert_int_equal(r.status, 3);
	cli_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pfnmap_random),
		cmocka_unit_test(test_sim_api),
		cmocka_unit_test(test_synthetic_trace),
		cmocka_unit_test(test_oracle_replays),
		cmocka_unit_test(test_deterministic_and_what_if),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_record),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
