/*
 * test_numastat.c - the NUMA event views: "node/N/numastat" (Linux's
 * /sys/devices/system/node/nodeN/numastat) and "numastat" (numastat(8)'s
 * default table).
 *
 * What is checked:
 *   - Counting.  On a two-node machine (node 0: DMA and DMA32, node 1:
 *     Normal; CPU 0 on node 0, CPU 1 on node 1), tasks pinned to a CPU
 *     allocate on chosen nodes, and for every allocation the test predicts
 *     the events from Linux 6.1's zone_statistics(): the page's node gets
 *     numa_hit when it is the preferred zone's node, else numa_miss and the
 *     preferred zone's node numa_foreign; and local_node when it is the
 *     allocating CPU's node, else other_node.  One event per request,
 *     whatever its order; a bulk request counts one per page.  The
 *     preferred zone is the first zone of the preferred node's zonelist the
 *     request may use, so a GFP_DMA request from node 1 prefers node 0's DMA
 *     zone and counts a hit there.  The predicted deltas must equal the
 *     deltas of each node's numastat view; the numastat table must show the
 *     same numbers; and both must equal the per-zone sums: the zones'
 *     exact statistics (zone_stats_snapshot()) and the numa_* lines of
 *     zoneinfo, and /proc/vmstat's machine-wide numa_* counters.
 *   - Interleaving: under an interleave policy every page lands on the node
 *     the policy chose and counts interleave_hit there as well as numa_hit.
 *   - Layout: every real per-node numastat file of the oracle has the keys of
 *     zpa's, in the same order, as "name value" lines; and numastat(8)'s real
 *     output (recorded below) has zpa's header byte for byte, its row names,
 *     and its values right-aligned in the same 16-column cells.
 * Every machine ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"
#include "internal.h"

#define NEV 6   /* numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node */
enum { HIT, MISS, FOREIGN, IL_HIT, LOCAL, OTHER };

static const char *const sysfs_keys[NEV] = {
	"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node",
};
/* The same events under their /proc/vmstat and zoneinfo names. */
static const char *const vmstat_keys[NEV] = {
	"numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other",
};

/*
 * numastat(8) as numactl 2.0.16 (Debian 12) prints it without arguments to
 * a pipe, run with /sys/devices/system/node bind-mounted from the oracle's
 * recomputed dumps named here.  Real output of the real tool.
 */
static const struct {
	const char *config;
	const char *text;
} real_numastat[] = {
	{ "r-n1-2g-2cpu",
	  "                           node0\n"
	  "numa_hit                   23300\n"
	  "numa_miss                      0\n"
	  "numa_foreign                   0\n"
	  "interleave_hit               643\n"
	  "local_node                 23300\n"
	  "other_node                     0\n" },
	{ "r-n2-4g-2cpu",
	  "                           node0           node1\n"
	  "numa_hit                   10194           16254\n"
	  "numa_miss                      0               0\n"
	  "numa_foreign                   0               0\n"
	  "interleave_hit               326             330\n"
	  "local_node                  9212           15636\n"
	  "other_node                   982             618\n" },
	{ "r-n4-8g-2cpu-cpuless",
	  "                           node0           node1           node2           node3\n"
	  "numa_hit                   12865           13953            1250            1238\n"
	  "numa_miss                      0               0               0               0\n"
	  "numa_foreign                   0               0               0               0\n"
	  "interleave_hit               178             164             178             167\n"
	  "local_node                 12772           12619               0               0\n"
	  "other_node                    93            1334            1250            1238\n" },
};

/* ------------------------------------------------------------ helpers */

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg, (void)level, (void)msg;
}

static char *show(struct zpa_machine *m, const char *view)
{
	long n = zpa_show(m, view, NULL, 0);
	char *buf;

	assert_true(n > 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(zpa_show(m, view, buf, (size_t)n + 1), n);
	return buf;
}

/*
 * Parse a per-node numastat text: exactly the six "key value" lines in
 * sysfs order, nothing else.  Fails the test otherwise.
 */
static void parse_node_file(const char *text, uint64_t ev[NEV], const char *what)
{
	const char *p = text;

	for (int i = 0; i < NEV; i++) {
		size_t n = strlen(sysfs_keys[i]);
		char *end;

		if (strncmp(p, sysfs_keys[i], n) != 0 || p[n] != ' ' || !isdigit((unsigned char)p[n + 1]))
			fail_msg("%s: line %d is not \"%s N\": %.40s", what, i + 1, sysfs_keys[i], p);
		ev[i] = strtoull(p + n + 1, &end, 10);
		if (*end != '\n')
			fail_msg("%s: line %d has more than one value", what, i + 1);
		p = end + 1;
	}
	if (*p)
		fail_msg("%s: text after the six lines: %.40s", what, p);
}

/* Node nid's events through the "node/N/numastat" view. */
static void read_node(struct zpa_machine *m, int nid, uint64_t ev[NEV])
{
	char view[32], *text;

	snprintf(view, sizeof(view), "node/%d/numastat", nid);
	text = show(m, view);
	parse_node_file(text, ev, view);
	free(text);
}

/*
 * Split a numastat(8)-style table into 16-column cells: the header's node
 * names and each row's label and values.  Checks the cell discipline: the
 * header starts with 16 blanks, every line is 16 * (nodes + 1) long, labels
 * are left-aligned and values right-aligned (blanks then digits).
 */
struct table {
	unsigned nodes;
	char names[ZPA_MAX_NODES][17];
	uint64_t v[NEV][ZPA_MAX_NODES];
};

static void parse_table(const char *text, struct table *t, const char *what)
{
	const char *line = text;
	size_t len = strcspn(line, "\n");

	memset(t, 0, sizeof(*t));
	if (len < 32 || len % 16 != 0 || strspn(line, " ") < 16)
		fail_msg("%s: header '%.*s' is not 16 blanks and 16-column node names", what, (int)len, line);
	t->nodes = (unsigned)(len / 16 - 1);
	for (unsigned k = 0; k < t->nodes; k++) {
		const char *cell = line + 16 * (k + 1);
		size_t blanks = strspn(cell, " ");

		if (blanks == 0 || blanks >= 16)
			fail_msg("%s: header cell %u is not right-aligned", what, k);
		memcpy(t->names[k], cell + blanks, 16 - blanks);
	}
	line += len + 1;
	for (int i = 0; i < NEV; i++) {
		len = strcspn(line, "\n");
		if (len != 16 * (t->nodes + 1) || line[len] != '\n')
			fail_msg("%s: row %d is %zu characters, not %u", what, i, len, 16 * (t->nodes + 1));
		if (strncmp(line, sysfs_keys[i], strlen(sysfs_keys[i])) != 0)
			fail_msg("%s: row %d does not start with %s", what, i, sysfs_keys[i]);
		for (size_t c = strlen(sysfs_keys[i]); c < 16; c++)
			if (line[c] != ' ')
				fail_msg("%s: row %d's label is not left-aligned in 16 columns", what, i);
		for (unsigned k = 0; k < t->nodes; k++) {
			const char *cell = line + 16 * (k + 1);
			size_t blanks = strspn(cell, " ");

			if (blanks == 0 || blanks >= 16)
				fail_msg("%s: row %d cell %u is not right-aligned", what, i, k);
			for (size_t c = blanks; c < 16; c++)
				if (!isdigit((unsigned char)cell[c]))
					fail_msg("%s: row %d cell %u is not a number", what, i, k);
			t->v[i][k] = strtoull(cell + blanks, NULL, 10);
		}
		line += len + 1;
	}
	if (*line)
		fail_msg("%s: text after the table: %.40s", what, line);
}

/* ------------------------------------------------------- the machine */

/* Node 0: RAM [1 MiB, 64 MiB) = DMA + DMA32; node 1: [4 GiB, +64 MiB) = Normal. */
static struct zpa_machine *two_node_machine(void)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	const uint64_t M = 1ull << 20, G = 1ull << 30;

	assert_non_null(cfg);
	zpa_machine_config_init(cfg);
	cfg->log = quiet_log;
	assert_int_equal(zpa_config_add_range(cfg, 1 * M, 64 * M, ZPA_RANGE_USABLE, 0), 0);
	assert_int_equal(zpa_config_add_range(cfg, 4 * G, 4 * G + 64 * M, ZPA_RANGE_USABLE, 1), 0);
	cfg->nr_nodes = 2;
	cfg->nr_cpus = 2;
	cfg->cpu_node[0] = 0;
	cfg->cpu_node[1] = 1;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	return m;
}

/* What the test predicts, per node. */
struct expect {
	uint64_t ev[2][NEV];
};

/*
 * Account one successful request as zone_statistics() does: pref is the
 * preferred zone's node, cpu_nid the allocating CPU's node, nr the events
 * (1 per request, the page count for a bulk request).  Returns the page's node.
 */
static int account(struct zpa_machine *m, struct expect *e, zpa_pfn_t pfn, int pref, int cpu_nid, unsigned nr)
{
	struct zpa_page_info info;

	assert_true(pfn != ZPA_PFN_NONE);
	assert_int_equal(zpa_page_info(m, pfn, &info), 0);
	if (info.nid == pref) {
		e->ev[info.nid][HIT] += nr;
	} else {
		e->ev[info.nid][MISS] += nr;
		e->ev[pref][FOREIGN] += nr;
	}
	e->ev[info.nid][info.nid == cpu_nid ? LOCAL : OTHER] += nr;
	return info.nid;
}

/* A growing list of allocated blocks, freed at the end. */
struct held {
	zpa_pfn_t pfn[40000];
	unsigned char order[40000];
	unsigned n;
};

static void hold(struct held *h, zpa_pfn_t pfn, unsigned order)
{
	assert_true(h->n < sizeof(h->pfn) / sizeof(h->pfn[0]));
	h->pfn[h->n] = pfn;
	h->order[h->n++] = (unsigned char)order;
}

/*
 * The views against the prediction and against every other sum of the same
 * counters: node files (deltas from base), the numastat table, the zones'
 * exact statistics, zoneinfo's per-zone lines and /proc/vmstat.
 */
static void check_views(struct zpa_machine *m, const uint64_t base[2][NEV], const struct expect *e)
{
	uint64_t now[2][NEV], zsum[2][NEV] = { { 0 } }, zi_sum[2][NEV] = { { 0 } };
	struct pp_zoneinfo zi;
	struct table t;
	char err[256], *text;

	for (int nid = 0; nid < 2; nid++) {
		read_node(m, nid, now[nid]);
		for (int i = 0; i < NEV; i++)
			if (now[nid][i] - base[nid][i] != e->ev[nid][i])
				fail_msg("node %d %s: view moved by %llu, expected %llu", nid, sysfs_keys[i],
					 (unsigned long long)(now[nid][i] - base[nid][i]),
					 (unsigned long long)e->ev[nid][i]);
	}

	text = show(m, "numastat");
	parse_table(text, &t, "numastat");
	free(text);
	assert_int_equal(t.nodes, 2);
	assert_string_equal(t.names[0], "node0");
	assert_string_equal(t.names[1], "node1");
	for (int nid = 0; nid < 2; nid++)
		for (int i = 0; i < NEV; i++)
			assert_int_equal(t.v[i][nid], now[nid][i]);

	/* Exact per-zone statistics, summed over each node's zones (all of them). */
	for (int nid = 0; nid < 2; nid++) {
		for (unsigned zid = 0; zid < m->nr_zone_types; zid++) {
			struct zone_stats st;

			zone_stats_snapshot(m, &m->nodes[nid]->node_zones[zid], &st);
			for (int i = 0; i < NEV; i++)
				zsum[nid][i] += st.numa[i];
		}
		for (int i = 0; i < NEV; i++)
			assert_int_equal(zsum[nid][i], now[nid][i]);
	}

	/* zoneinfo's numa_* lines (populated zones print them). */
	text = show(m, "zoneinfo");
	if (pp_parse_zoneinfo(text, &zi, err, sizeof(err)) != 0)
		fail_msg("zoneinfo: %s", err);
	free(text);
	for (unsigned k = 0; k < zi.nr_zones; k++) {
		const struct pp_zone *z = &zi.zones[k];

		assert_true(z->nid >= 0 && z->nid < 2);
		for (int i = 0; i < NEV; i++) {
			uint64_t v = 0;

			if (pp_zone_stat(z, vmstat_keys[i], &v))
				zi_sum[z->nid][i] += v;
		}
	}
	pp_zoneinfo_free(&zi);
	for (int nid = 0; nid < 2; nid++)
		for (int i = 0; i < NEV; i++)
			assert_int_equal(zi_sum[nid][i], now[nid][i]);

	/* /proc/vmstat: the machine-wide sums. */
	for (int i = 0; i < NEV; i++) {
		bool ok = false;

		assert_int_equal(zpa_vmstat(m, vmstat_keys[i], &ok), now[0][i] + now[1][i]);
		assert_true(ok);
	}
}

/* ----------------------------------------------------------- counting */

static void test_counting(void **state)
{
	struct zpa_machine *m = two_node_machine();
	struct zpa_task *t0 = zpa_task_create(), *t1 = zpa_task_create();
	struct held *h = calloc(1, sizeof(*h));
	struct expect e = { { { 0 } } };
	uint64_t base[2][NEV];
	const zpa_gfp_t thisnode = ZPA_GFP_KERNEL | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN;
	zpa_pfn_t pfn, bulk[64];
	unsigned long got;
	unsigned misses = 0;
	(void)state;

	assert_non_null(t0);
	assert_non_null(t1);
	assert_non_null(h);
	zpa_task_set_cpu(t0, 0);
	zpa_task_set_cpu(t1, 1);
	read_node(m, 0, base[0]);
	read_node(m, 1, base[1]);

	/* 1. CPU 0 on its own node: hit + local on node 0 (DMA32, preferred). */
	for (int i = 0; i < 100; i++) {
		pfn = zpa__alloc_pages(m, t0, ZPA_GFP_KERNEL, 0, -1, NULL);
		assert_int_equal(account(m, &e, pfn, 0, 0, 1), 0);
		hold(h, pfn, 0);
	}
	check_views(m, (const uint64_t (*)[NEV])base, &e);

	/* 2. CPU 0 asks for node 1, order 2: one hit per request on node 1, other_node. */
	for (int i = 0; i < 50; i++) {
		pfn = zpa__alloc_pages(m, t0, ZPA_GFP_KERNEL, 2, 1, NULL);
		assert_int_equal(account(m, &e, pfn, 1, 0, 1), 1);
		hold(h, pfn, 2);
	}
	check_views(m, (const uint64_t (*)[NEV])base, &e);

	/*
	 * 3. GFP_DMA from CPU 1: node 1's zonelist is Normal(1) DMA32(0) DMA(0),
	 * so the preferred zone is node 0's DMA: a hit on node 0, other_node.
	 */
	for (int i = 0; i < 30; i++) {
		pfn = zpa__alloc_pages(m, t1, ZPA_GFP_KERNEL | ZPA_GFP_DMA, 0, -1, NULL);
		assert_int_equal(account(m, &e, pfn, 0, 1, 1), 0);
		hold(h, pfn, 0);
	}
	check_views(m, (const uint64_t (*)[NEV])base, &e);

	/* 4. A bulk request on CPU 0: one event per page. */
	for (int i = 0; i < 64; i++)
		bulk[i] = ZPA_PFN_NONE;
	got = zpa_alloc_pages_bulk_array(m, t0, ZPA_GFP_KERNEL, -1, NULL, 64, bulk);
	assert_int_equal(got, 64);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(account(m, &e, bulk[i], 0, 0, 1), 0);
		hold(h, bulk[i], 0);
	}
	check_views(m, (const uint64_t (*)[NEV])base, &e);

	/*
	 * 5. Exhaust node 1 from CPU 1 with __GFP_THISNODE (hits, local), then
	 * plain requests from CPU 1 fall back to node 0: numa_miss and
	 * other_node on node 0, numa_foreign on node 1.
	 */
	for (int order = 10; order >= 0; order--) {
		while ((pfn = zpa__alloc_pages(m, t1, thisnode, (unsigned)order, -1, NULL)) != ZPA_PFN_NONE) {
			assert_int_equal(account(m, &e, pfn, 1, 1, 1), 1);
			hold(h, pfn, (unsigned)order);
		}
	}
	for (int i = 0; i < 40; i++) {
		pfn = zpa__alloc_pages(m, t1, ZPA_GFP_KERNEL, 0, -1, NULL);
		misses += account(m, &e, pfn, 1, 1, 1) == 0;
		hold(h, pfn, 0);
	}
	assert_int_equal(misses, 40);
	assert_int_equal(e.ev[0][MISS], 40);
	assert_int_equal(e.ev[1][FOREIGN], 40);
	check_views(m, (const uint64_t (*)[NEV])base, &e);

	/* Frees move no NUMA event. */
	for (unsigned i = 0; i < h->n; i++)
		assert_int_equal(zpa__free_pages(m, i % 2 ? t0 : t1, h->pfn[i], h->order[i]), 0);
	check_views(m, (const uint64_t (*)[NEV])base, &e);
	zpa_drain_all_pages(m);
	zt_assert_clean(m);
	zpa_task_destroy(t0);
	zpa_task_destroy(t1);
	zpa_machine_destroy(m);
	free(h);
}

/*
 * Interleave over both nodes from CPU 0: Linux's alloc_page_interleave()
 * allocates on the policy's node (the preferred node) and counts
 * interleave_hit on the page's zone when the page is on that node.  With
 * memory to spare every page is: hit and interleave_hit on its node, local
 * on node 0 and other on node 1, and the nodes alternate.
 */
static void test_interleave_hit(void **state)
{
	struct zpa_machine *m = two_node_machine();
	struct zpa_task *t0 = zpa_task_create();
	struct expect e = { { { 0 } } };
	uint64_t base[2][NEV];
	zpa_nodemask_t both;
	zpa_pfn_t pfn[200];
	unsigned per_node[2] = { 0, 0 };
	(void)state;

	assert_non_null(t0);
	zpa_task_set_cpu(t0, 0);
	zpa_nodemask_clear(&both);
	zpa_nodemask_set(&both, 0);
	zpa_nodemask_set(&both, 1);
	assert_int_equal(zpa_set_mempolicy(m, t0, ZPA_MPOL_INTERLEAVE, &both), 0);
	read_node(m, 0, base[0]);
	read_node(m, 1, base[1]);
	for (int i = 0; i < 200; i++) {
		struct zpa_page_info info;

		pfn[i] = zpa_alloc_pages_mpol(m, t0, ZPA_GFP_KERNEL, 0, NULL);
		assert_true(pfn[i] != ZPA_PFN_NONE);
		assert_int_equal(zpa_page_info(m, pfn[i], &info), 0);
		/* Round robin: consecutive pages on different nodes. */
		if (i > 0) {
			struct zpa_page_info prev;

			assert_int_equal(zpa_page_info(m, pfn[i - 1], &prev), 0);
			assert_int_not_equal(prev.nid, info.nid);
		}
		per_node[info.nid]++;
		account(m, &e, pfn[i], info.nid, 0, 1);
		e.ev[info.nid][IL_HIT]++;
	}
	assert_int_equal(per_node[0], 100);
	assert_int_equal(per_node[1], 100);
	check_views(m, (const uint64_t (*)[NEV])base, &e);
	for (int i = 0; i < 200; i++)
		assert_int_equal(zpa__free_pages(m, t0, pfn[i], 0), 0);
	assert_int_equal(zpa_set_mempolicy(m, t0, ZPA_MPOL_DEFAULT, NULL), 0);
	zpa_drain_all_pages(m);
	zt_assert_clean(m);
	zpa_task_destroy(t0);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------- layout */

/* The view of a node the machine lacks, and malformed names, are unknown views. */
static void test_view_names(void **state)
{
	struct zpa_machine *m = two_node_machine();
	char buf[256];
	const char *bad[] = { "node/2/numastat", "node/64/numastat", "node/99999999999/numastat",
			      "node/01/numastat", "node//numastat", "node/0/numastatx", "node/0",
			      "node/-1/numastat", "node0/numastat", "numastat/" };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (zpa_show(m, bad[i], buf, sizeof(buf)) != ZPA_ENOENT)
			fail_msg("zpa_show(\"%s\") is not ZPA_ENOENT", bad[i]);
	assert_true(zpa_show(m, "node/1/numastat", buf, sizeof(buf)) > 0);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* Every real nodeN/numastat file has zpa's keys in zpa's order. */
static void test_node_file_layout(void **state)
{
	const char *configs[] = { "n1-2g-2cpu", "n2-4g-2cpu", "r-n1-2g-2cpu", "r-n1-2g-2cpu-wsf",
				  "r-n2-4g-2cpu", "r-n2-4g-2cpu-movable", "r-n4-8g-2cpu-cpuless" };
	const char *dumps[] = { "boot", "recomputed", "before-workload", "after-workload" };
	struct zpa_machine *m = two_node_machine();
	unsigned files = 0;
	char *mine = show(m, "node/0/numastat");
	uint64_t ev[NEV];
	(void)state;

	parse_node_file(mine, ev, "zpa node/0/numastat");
	for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		for (size_t d = 0; d < sizeof(dumps) / sizeof(dumps[0]); d++) {
			for (int nid = 0; nid < 8; nid++) {
				char path[1024], *real;

				snprintf(path, sizeof(path), "%s/%s/%s/sys/devices/system/node/node%d/numastat",
					 ZPA_ORACLE_DIR, configs[c], dumps[d], nid);
				real = pp_read_file(path, NULL);
				if (!real)
					continue;
				parse_node_file(real, ev, path);
				free(real);
				files++;
			}
		}
	}
	print_message("  %u real numastat files have zpa's layout\n", files);
	assert_true(files >= 20);
	free(mine);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * numastat(8)'s table: the recorded real output must match the oracle
 * files it was made from (so the cells are understood), and zpa's table
 * for the machine of the same snapshot has the same header, labels and
 * cell layout.
 */
static void test_numastat_table_layout(void **state)
{
	(void)state;

	for (size_t c = 0; c < sizeof(real_numastat) / sizeof(real_numastat[0]); c++) {
		char dir[1024], err[256] = "", *mine;
		struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
		struct zpa_machine *m = NULL;
		struct zpa_task *t = zpa_task_create();
		struct table real, ours;
		size_t real_header, our_header;

		assert_non_null(cfg);
		assert_non_null(t);
		parse_table(real_numastat[c].text, &real, real_numastat[c].config);
		for (unsigned nid = 0; nid < real.nodes; nid++) {
			char path[1200], name[16], *file;
			uint64_t ev[NEV];

			snprintf(name, sizeof(name), "node%u", nid);
			assert_string_equal(real.names[nid], name);
			snprintf(path, sizeof(path), "%s/%s/recomputed/sys/devices/system/node/node%u/numastat",
				 ZPA_ORACLE_DIR, real_numastat[c].config, nid);
			file = pp_read_file(path, NULL);
			assert_non_null(file);
			parse_node_file(file, ev, path);
			free(file);
			for (int i = 0; i < NEV; i++)
				assert_int_equal(real.v[i][nid], ev[i]);
		}

		snprintf(dir, sizeof(dir), "%s/%s/recomputed", ZPA_ORACLE_DIR, real_numastat[c].config);
		if (zpa_config_from_snapshot(dir, cfg, err, sizeof(err)) != 0)
			fail_msg("%s: %s", dir, err);
		cfg->log = quiet_log;
		assert_int_equal(zpa_machine_create(cfg, &m), 0);
		free(cfg);
		/* Some events, so the values have several widths. */
		zpa_task_set_cpu(t, 0);
		for (unsigned i = 0; i < 1234; i++)
			assert_int_equal(zpa__free_pages(m, t, zpa__alloc_pages(m, t, ZPA_GFP_KERNEL, 0, -1, NULL), 0), 0);

		mine = show(m, "numastat");
		parse_table(mine, &ours, "zpa numastat");
		assert_int_equal(ours.nodes, real.nodes);
		real_header = strcspn(real_numastat[c].text, "\n") + 1;
		our_header = strcspn(mine, "\n") + 1;
		assert_int_equal(our_header, real_header);
		assert_memory_equal(mine, real_numastat[c].text, real_header);
		assert_int_equal(ours.v[HIT][0], 1234);
		assert_int_equal(ours.v[LOCAL][0], 1234);
		free(mine);
		zpa_drain_all_pages(m);
		zt_assert_clean(m);
		zpa_task_destroy(t);
		zpa_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counting),
		cmocka_unit_test(test_interleave_hit),
		cmocka_unit_test(test_view_names),
		cmocka_unit_test(test_node_file_layout),
		cmocka_unit_test(test_numastat_table_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
