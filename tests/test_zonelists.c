/*
 * test_zonelists.c - the node fallback order and the zonelists built from
 * it (build_all_zonelists), as the "zonelists" view prints them.
 *
 * What is checked:
 *   (a) For every Linux 6.1 configuration in ZPA_ORACLE_DIR (a directory
 *       with dmesg.txt; data/host is a 6.18 machine and is skipped), the
 *       machine built from its boot/ dump prints the kernel's own
 *       "Fallback order for Node N: " lines byte for byte, trailing space
 *       included, and no others.  At least the three multi-node
 *       configurations must be found.
 *   (b) Machines of 1, 2, 4 and 8 nodes with distance tables written here:
 *       equal-distance ties, asymmetric distances, CPU-less nodes and a
 *       memoryless node (a node with no RAM range).  Each expected order was
 *       worked out by hand, in the comment above it, from Linux 6.1's
 *       find_next_best_node(): for local node L, L itself comes first (with
 *       or without memory); then among the unused nodes with memory the one
 *       with the smallest
 *           (distance[L][n] + (n < L) + (n has CPUs)) * MAX_NUMNODES + node_load[n],
 *       MAX_NUMNODES = 1024, the lowest n on a tie; a node picked at a
 *       distance other than the previous pick's gets node_load += 1 (the
 *       first of each distance group); node_load is shared by all nodes,
 *       built in node order 0, 1, ...
 *   (c) The zonelists: a node's fallback list is, node by node in fallback
 *       order, each node's populated zones from the highest zone index down;
 *       its NOFALLBACK list (__GFP_THISNODE) holds only its own populated
 *       zones.  Checked as literals on a machine with every zone type, and
 *       structurally (against zpa_zone_info) on every machine above.  An
 *       allocation that overflows the preferred node lands on the next node
 *       of its fallback order.
 * Every machine ends with zpa_check().
 *
 * The CPU rule follows the machine's configured CPUs.  Note that the real
 * x86-64 kernel builds its boot zonelists before any CPU is in a node's
 * cpumask (numa_add_cpu() runs later, from arch_cpu_finalize_init()), so
 * its boot log never shows the CPU penalty; the oracle configurations do
 * not tell the two apart (see docs/NUMA.md).
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"

#define MAX_TEST_NODES 8

/* ------------------------------------------------------------ helpers */

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg, (void)level, (void)msg;
}

/* The whole view in a malloc'd string. */
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
 * The "Fallback order" part of the zonelists view: the text before the
 * first blank line (malloc'd).  The view must have that blank line.
 */
static char *fallback_lines(struct zpa_machine *m)
{
	char *text = show(m, "zonelists");
	char *blank = strstr(text, "\n\n");

	assert_non_null(blank);
	blank[1] = '\0';
	return text;
}

/* The line of the view beginning with prefix, without its newline (malloc'd), or NULL. */
static char *view_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, n) == 0) {
			size_t len = strcspn(p, "\n");
			char *line = malloc(len + 1);

			assert_non_null(line);
			memcpy(line, p, len);
			line[len] = '\0';
			return line;
		}
	}
	return NULL;
}

/*
 * A machine of `nodes` nodes: node n gets 64 MiB of RAM at 4 GiB + n * 64 MiB
 * (all ZONE_NORMAL) unless memless[n]; dist is the distance table; CPU c is
 * on node cpu_node[c].  Unless boot_rules, the zonelists are built as a
 * rebuild after boot would build them (node cpumasks populated, so the
 * penalty for nodes with CPUs applies: zonelists_with_cpus); the worked
 * examples below use that rule, test_boot_rule the boot one.
 */
static bool boot_rules;
static struct zpa_machine *topo_machine(unsigned nodes, const uint8_t dist[][MAX_TEST_NODES],
					const int *cpu_node, unsigned nr_cpus, const bool *memless)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	const uint64_t M = 1ull << 20, G = 1ull << 30;

	assert_non_null(cfg);
	zpa_machine_config_init(cfg);
	cfg->log = quiet_log;
	cfg->nr_nodes = nodes;
	for (unsigned n = 0; n < nodes; n++) {
		for (unsigned k = 0; k < nodes; k++)
			cfg->distance[n][k] = dist[n][k];
		if (!memless || !memless[n])
			assert_int_equal(zpa_config_add_range(cfg, 4 * G + n * 64 * M, 4 * G + (n + 1) * 64 * M,
							      ZPA_RANGE_USABLE, (int)n), 0);
	}
	cfg->nr_nodes = nodes; /* a memoryless last node is not implied by a range */
	cfg->nr_cpus = nr_cpus;
	for (unsigned c = 0; c < nr_cpus; c++)
		cfg->cpu_node[c] = cpu_node[c];
	cfg->zonelists_with_cpus = !boot_rules;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	assert_non_null(m);
	return m;
}

/* Assert the "Fallback order" lines of m are exactly `expected`. */
static void assert_fallback(struct zpa_machine *m, const char *expected)
{
	char *got = fallback_lines(m);

	if (strcmp(got, expected) != 0)
		fail_msg("fallback order:\n--- expected\n%s--- zpa\n%s", expected, got);
	free(got);
}

/*
 * (c), structurally: parse the view's zonelists and compare them with the
 * fallback order and zpa_zone_info(): node by node in fallback order, each
 * node's zones with present pages from the highest type down; the
 * NOFALLBACK list is the node's own part.
 */
static void check_zonelists_structure(struct zpa_machine *m)
{
	char *text = show(m, "zonelists");
	unsigned nodes = zpa_nr_nodes(m);

	for (unsigned nid = 0; nid < nodes; nid++) {
		char prefix[64], expect[4096] = "", own[1024] = "", *line;
		int order[ZPA_MAX_NODES], nr = 0;
		const char *p;

		/* The fallback order, from the view's own first part. */
		snprintf(prefix, sizeof(prefix), "Fallback order for Node %u: ", nid);
		line = view_line(text, prefix);
		assert_non_null(line);
		p = line + strlen(prefix);
		while (*p) {
			char *end;
			long v = strtol(p, &end, 10);

			assert_true(end > p && *end == ' ');
			assert_true(v >= 0 && v < (long)nodes);
			order[nr++] = (int)v;
			p = end + 1;
		}
		free(line);
		assert_int_equal(order[0], (int)nid);  /* the local node first */

		for (int i = 0; i < nr; i++) {
			for (int t = ZPA_NR_ZONE_TYPES - 1; t >= 0; t--) {
				struct zpa_zone_info zi;
				char one[64];

				if (zpa_zone_info(m, order[i], t, &zi) != 0 || zi.present == 0)
					continue;
				snprintf(one, sizeof(one), " %s(%d)", zi.name, order[i]);
				strcat(expect, one);
				if (i == 0)
					strcat(own, one);
			}
		}
		snprintf(prefix, sizeof(prefix), "Node %u zonelist:", nid);
		line = view_line(text, prefix);
		assert_non_null(line);
		if (strcmp(line + strlen(prefix), expect) != 0)
			fail_msg("node %u: zonelist '%s', expected '%s'", nid, line + strlen(prefix), expect);
		free(line);
		snprintf(prefix, sizeof(prefix), "Node %u nofallback:", nid);
		line = view_line(text, prefix);
		assert_non_null(line);
		assert_string_equal(line + strlen(prefix), own);
		free(line);
	}
	free(text);
}

/* --------------------------------------------------- (a) real kernels */

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * The "Fallback order for Node N: ..." lines of a boot log, each from
 * "Fallback" to its newline inclusive (the timestamp dropped), in order.
 * Returns a malloc'd string and the number of lines in *count.
 */
static char *dmesg_fallback_lines(const char *path, unsigned *count)
{
	char *log = pp_read_file(path, NULL);
	char *out;
	size_t len = 0;

	assert_non_null(log);
	out = calloc(1, strlen(log) + 1);
	assert_non_null(out);
	*count = 0;
	for (char *p = log; *p;) {
		size_t linelen = strcspn(p, "\n");
		char *hit = strstr(p, "Fallback order for Node ");

		if (hit && hit < p + linelen) {
			size_t n = (size_t)(p + linelen - hit);

			memcpy(out + len, hit, n);
			len += n;
			out[len++] = '\n';
			(*count)++;
		}
		p += linelen + (p[linelen] == '\n');
	}
	out[len] = '\0';
	free(log);
	return out;
}

static void test_oracle_fallback_order(void **state)
{
	DIR *d = opendir(ZPA_ORACLE_DIR);
	struct dirent *de;
	unsigned configs = 0, multi = 0;
	(void)state;

	if (!d)
		fail_msg("cannot open %s", ZPA_ORACLE_DIR);
	while ((de = readdir(d))) {
		char path[2048], dump[2048], err[512] = "", *want, *got;
		struct zpa_machine_config *cfg;
		struct zpa_machine *m = NULL;
		unsigned lines;
		int rc;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "host") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/dmesg.txt", ZPA_ORACLE_DIR, de->d_name);
		if (!is_file(path))
			continue;
		/* Zonelists are built at boot: the boot/ dump describes that machine. */
		snprintf(dump, sizeof(dump), "%s/%s/boot", ZPA_ORACLE_DIR, de->d_name);
		if (!is_dir(dump))
			snprintf(dump, sizeof(dump), "%s/%s/recomputed", ZPA_ORACLE_DIR, de->d_name);
		want = dmesg_fallback_lines(path, &lines);
		assert_true(lines >= 1);

		cfg = calloc(1, sizeof(*cfg));
		assert_non_null(cfg);
		rc = zpa_config_from_snapshot(dump, cfg, err, sizeof(err));
		if (rc)
			fail_msg("%s: zpa_config_from_snapshot: %s %s", dump, zpa_strerror(rc), err);
		cfg->log = quiet_log;
		assert_int_equal(zpa_machine_create(cfg, &m), 0);
		free(cfg);

		got = fallback_lines(m);
		if (strcmp(got, want) != 0)
			fail_msg("%s: fallback order differs\n--- Linux\n%s--- zpa\n%s", de->d_name, want, got);
		assert_int_equal(lines, zpa_nr_nodes(m));
		print_message("  %-24s %u node%s: equal\n", de->d_name, lines, lines == 1 ? "" : "s");
		check_zonelists_structure(m);
		zt_assert_clean(m);
		zpa_machine_destroy(m);
		free(want);
		free(got);
		configs++;
		multi += lines > 1;
	}
	closedir(d);
	assert_true(configs >= 5);
	assert_true(multi >= 3);
}

/* ------------------------------------------------ (b) worked by hand */

/* One node: just itself. */
static void test_one_node(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = { { 10 } };
	static const int cpus[] = { 0, 0 };
	struct zpa_machine *m = topo_machine(1, dist, cpus, 2, NULL);
	(void)state;

	assert_fallback(m, "Fallback order for Node 0: 0 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Two nodes, 10/20, a CPU on each.
 *   L=0: 0; then node 1 alone: (20 + 0 + 1) * 1024 + 0.  Distance 20 differs
 *        from the previous pick's (0 at 10): node_load[1] = 1.   -> 0 1
 *   L=1: 1; then node 0: (20 + 1 + 1) * 1024 + 0.  node_load[0] = 1. -> 1 0
 * Two nodes, node 1 memoryless (no RAM range), both CPUs on node 0:
 *   L=0: 0; node 1 has no memory and is never a candidate.      -> 0
 *   L=1: 1 comes first although it has no memory; then node 0. -> 1 0
 */
static void test_two_nodes(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = { { 10, 20 }, { 20, 10 } };
	static const int cpus_each[] = { 0, 1 }, cpus_node0[] = { 0, 0 };
	static const bool memless[] = { false, true };
	struct zpa_machine *m = topo_machine(2, dist, cpus_each, 2, NULL);
	char *text;
	(void)state;

	assert_fallback(m, "Fallback order for Node 0: 0 1 \n"
			   "Fallback order for Node 1: 1 0 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	m = topo_machine(2, dist, cpus_node0, 2, memless);
	assert_fallback(m, "Fallback order for Node 0: 0 \n"
			   "Fallback order for Node 1: 1 0 \n");
	/* The memoryless node has no zones of its own: its lists hold node 0's only. */
	text = show(m, "zonelists");
	assert_non_null(strstr(text, "\nNode 1 zonelist: Normal(0)\n"));
	assert_non_null(strstr(text, "\nNode 1 nofallback:\n"));
	assert_non_null(strstr(text, "\nNode 0 zonelist: Normal(0)\n"));
	free(text);
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * The boot rule (the default): Linux builds the boot zonelists before any
 * CPU is in its node's cpumask, so the CPU penalty is 0 for every node.  The
 * same all-ties 4-node table as below, worked without it:
 *   L=0: 1, 2, 3 all (20+0)*1024 = 20480 -> 1 (first minimum); load[1] = 1;
 *        then 2 and 3 tie -> 2, 3 (same distance: no load).     -> 0 1 2 3
 *   L=1: 0: 21504; 2: 20480; 3: 20480 -> 2, load[2] = 1; 3; 0.  -> 1 2 3 0
 *   L=2: 0: 21504; 1: 21505; 3: 20480 -> 3, load[3] = 1; 0; 1.  -> 2 3 0 1
 *   L=3: 0: 21504; 1: 21505; 2: 21505 -> 0, load[0] = 1; 1; 2.  -> 3 0 1 2
 */
static void test_boot_rule(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = {
		{ 10, 20, 20, 20 }, { 20, 10, 20, 20 }, { 20, 20, 10, 20 }, { 20, 20, 20, 10 },
	};
	static const int cpus[] = { 0, 1 };
	(void)state;
	boot_rules = true;
	struct zpa_machine *m = topo_machine(4, dist, cpus, 2, NULL);
	boot_rules = false;
	assert_fallback(m, "Fallback order for Node 0: 0 1 2 3 \n"
			   "Fallback order for Node 1: 1 2 3 0 \n"
			   "Fallback order for Node 2: 2 3 0 1 \n"
			   "Fallback order for Node 3: 3 0 1 2 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Four nodes, every remote distance 20 (all ties), CPUs on nodes 0 and 1,
 * nodes 2 and 3 CPU-less.  val = (d + (n<L) + cpu) * 1024 + load.
 * load = [0 0 0 0]
 *   L=0: 0.  1: (20+0+1)*1024 = 21504; 2: 20480; 3: 20480 -> 2 (tie, lower);
 *        20 != 10: load[2] = 1.  3: 20480 < 1: 21504 -> 3 (same distance,
 *        no load).  Then 1.                                  -> 0 2 3 1
 *        load = [0 0 1 0]
 *   L=1: 1.  0: (20+1+1)*1024 = 22528; 2: 20480+1 = 20481; 3: 20480 -> 3
 *        (node_load breaks the tie 2 would win); load[3] = 1.  Then
 *        2: 20481 < 0: 22528 -> 2; then 0.                    -> 1 3 2 0
 *        load = [0 0 1 1]
 *   L=2: 2.  0: 22528; 1: (20+1+1)*1024 = 22528; 3: 20480+1 = 20481 -> 3;
 *        load[3] = 2.  Then 0 and 1 tie at 22528 -> 0; then 1. -> 2 3 0 1
 *        load = [0 0 1 2]
 *   L=3: 3.  0: 22528; 1: 22528; 2: (20+1+0)*1024+1 = 21505 -> 2;
 *        load[2] = 2.  Then 0 (tie with 1, lower), then 1.     -> 3 2 0 1
 * (The real boot, with empty cpumasks, would print 0 1 2 3 / 1 2 3 0 /
 * 2 3 0 1 / 3 0 1 2: see the file comment.)
 */
static void test_four_nodes_ties(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = {
		{ 10, 20, 20, 20 }, { 20, 10, 20, 20 }, { 20, 20, 10, 20 }, { 20, 20, 20, 10 },
	};
	static const int cpus[] = { 0, 1 };
	struct zpa_machine *m = topo_machine(4, dist, cpus, 2, NULL);
	(void)state;

	assert_fallback(m, "Fallback order for Node 0: 0 2 3 1 \n"
			   "Fallback order for Node 1: 1 3 2 0 \n"
			   "Fallback order for Node 2: 2 3 0 1 \n"
			   "Fallback order for Node 3: 3 2 0 1 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Four nodes, asymmetric distances (d[1][3] = 20 but d[3][1] = 40), node 2
 * memoryless, CPUs on nodes 0 and 3 (1 and 2 CPU-less):
 *          0   1   2   3
 *     0:  10  20  30  30
 *     1:  20  10  30  20
 *     2:  30  30  10  20
 *     3:  30  40  20  10
 * Candidates are nodes with memory: 0, 1, 3.  load = [0 0 0 0]
 *   L=0: 0.  1: 20*1024 = 20480; 3: (30+0+1)*1024 = 31744 -> 1; load[1] = 1.
 *        Then 3 (30 != 20): load[3] = 1.                      -> 0 1 3
 *        load = [0 1 0 1]
 *   L=1: 1.  0: (20+1+1)*1024 = 22528; 3: (20+0+1)*1024+1 = 21505 -> 3;
 *        load[3] = 2.  Then 0 (20 == 20, no load).            -> 1 3 0
 *        load = [0 1 0 2]
 *   L=2: 2 (itself, memoryless).  0: (30+1+1)*1024 = 32768; 1: (30+1+0)*1024+1
 *        = 31745; 3: (20+0+1)*1024+2 = 21506 -> 3; load[3] = 3.  Then
 *        1: 31745 < 0: 32768 -> 1 (30 != 20): load[1] = 2.  Then 0. -> 2 3 1 0
 *        load = [0 2 0 3]
 *   L=3: 3.  0: (30+1+1)*1024 = 32768; 1: (40+1+0)*1024+2 = 41986 -> 0
 *        (with d[3][1] = 20 it would have been 1); load[0] = 1.  Then 1. -> 3 0 1
 */
static void test_four_nodes_asymmetric_memoryless(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = {
		{ 10, 20, 30, 30 }, { 20, 10, 30, 20 }, { 30, 30, 10, 20 }, { 30, 40, 20, 10 },
	};
	static const int cpus[] = { 0, 3 };
	static const bool memless[] = { false, false, true, false };
	struct zpa_machine *m = topo_machine(4, dist, cpus, 2, memless);
	struct zpa_zone_info zi;
	(void)state;

	assert_int_equal(zpa_zone_info(m, 2, ZPA_ZONE_NORMAL, &zi), 0);
	assert_int_equal(zi.present, 0);
	assert_fallback(m, "Fallback order for Node 0: 0 1 3 \n"
			   "Fallback order for Node 1: 1 3 0 \n"
			   "Fallback order for Node 2: 2 3 1 0 \n"
			   "Fallback order for Node 3: 3 0 1 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Eight nodes in two groups of four (0-3, 4-7): distance 10 local, 16 in
 * the group, 32 across; CPUs on the even nodes, odd nodes CPU-less.
 * val = (d + (n<L) + cpu(n)) * 1024 + load[n].  load starts all 0.
 *   L=0: 0.  1: 16*1024 = 16384; 2: 17*1024 = 17408; 3: 16384; 4, 6: 33*1024 = 33792;
 *        5, 7: 32*1024 = 32768.  -> 1 (tie with 3, lower), load[1]=1; 3 (16384,
 *        same distance); 2; then 5 (32768, tie with 7; 32 != 16: load[5]=1);
 *        7; 4 (tie with 6); 6.                        -> 0 1 3 2 5 7 4 6
 *        load = [0 1 0 0 0 1 0 0]
 *   L=1: 1.  0: (16+1+1) = 18 -> 18432; 2: 17408; 3: 16384; 4, 6: 33792;
 *        5: 32768+1; 7: 32768.  -> 3, load[3]=1; 2; 0; 7 (32768 < 32769),
 *        load[7]=1; 5; 4; 6.                           -> 1 3 2 0 7 5 4 6
 *        load = [0 1 0 1 0 1 0 1]
 *   L=2: 2.  0: 18432; 1: (16+1)*1024+1 = 17409; 3: 16384+1 = 16385;
 *        4, 6: 33792; 5, 7: 32769.  -> 3, load[3]=2; 1; 0; 5 (tie with 7),
 *        load[5]=2; 7; 4; 6.                           -> 2 3 1 0 5 7 4 6
 *        load = [0 1 0 2 0 2 0 1]
 *   L=3: 3.  0: 18432; 1: 17409; 2: (16+1+1)*1024 = 18432; 4, 6: 33792;
 *        5: 32768+2 = 32770; 7: 32769.  -> 1, load[1]=2; 0 (tie with 2);
 *        2; 7, load[7]=2; 5; 4; 6.                     -> 3 1 0 2 7 5 4 6
 *        load = [0 2 0 2 0 2 0 2]
 *   L=4: 4.  0, 2: (32+1+1) = 34 -> 34816; 1, 3: 33*1024+2 = 33794;
 *        5: 16384+2 = 16386; 6: 17408; 7: 16386.  -> 5 (tie with 7),
 *        load[5]=3; 7; 6; 1 (tie with 3), load[1]=3; 3; 0; 2. -> 4 5 7 6 1 3 0 2
 *        load = [0 3 0 2 0 3 0 2]
 *   L=5: 5.  0, 2: 34816; 1: 33792+3 = 33795; 3: 33792+2 = 33794;
 *        4: (16+1+1) -> 18432; 6: 17408; 7: 16384+2 = 16386.  -> 7,
 *        load[7]=3; 6; 4; 3 (33794 < 33795), load[3]=3; 1; 0; 2. -> 5 7 6 4 3 1 0 2
 *        load = [0 3 0 3 0 3 0 3]
 *   L=6: 6.  0, 2: 34816; 1, 3: 33795; 4: 18432; 5: (16+1)*1024+3 = 17411;
 *        7: 16384+3 = 16387.  -> 7, load[7]=4; 5; 4; 1 (tie with 3),
 *        load[1]=4; 3; 0; 2.                            -> 6 7 5 4 1 3 0 2
 *        load = [0 4 0 3 0 3 0 4]
 *   L=7: 7.  0, 2: 34816; 1: 33792+4 = 33796; 3: 33795; 4: 18432;
 *        5: 17408+3 = 17411; 6: (16+1+1) -> 18432.  -> 5, load[5]=4; 4 (tie
 *        with 6); 6; 3 (33795 < 33796), load[3]=4; 1; 0; 2. -> 7 5 4 6 3 1 0 2
 */
static void test_eight_nodes(void **state)
{
	uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES];
	static const int cpus[] = { 0, 2, 4, 6 };
	struct zpa_machine *m;
	(void)state;

	for (int a = 0; a < 8; a++)
		for (int b = 0; b < 8; b++)
			dist[a][b] = a == b ? 10 : a / 4 == b / 4 ? 16 : 32;
	m = topo_machine(8, dist, cpus, 4, NULL);
	assert_fallback(m, "Fallback order for Node 0: 0 1 3 2 5 7 4 6 \n"
			   "Fallback order for Node 1: 1 3 2 0 7 5 4 6 \n"
			   "Fallback order for Node 2: 2 3 1 0 5 7 4 6 \n"
			   "Fallback order for Node 3: 3 1 0 2 7 5 4 6 \n"
			   "Fallback order for Node 4: 4 5 7 6 1 3 0 2 \n"
			   "Fallback order for Node 5: 5 7 6 4 3 1 0 2 \n"
			   "Fallback order for Node 6: 6 7 5 4 1 3 0 2 \n"
			   "Fallback order for Node 7: 7 5 4 6 3 1 0 2 \n");
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------ (c) zonelists */

/*
 * The machine with every zone type (zt_config_all_zones): node 0 has DMA
 * and DMA32, node 1 Normal, HighMem and Movable; the Device zone exists on
 * both nodes but is never populated, nor are node 0's upper zones or node
 * 1's lower ones.  Two nodes at 10/20: fallback 0 1 and 1 0.  So, highest
 * zone index first within each node:
 *   node 0: DMA32(0) DMA(0) | Movable(1) HighMem(1) Normal(1)
 *   node 1: Movable(1) HighMem(1) Normal(1) | DMA32(0) DMA(0)
 * and the NOFALLBACK lists stop at the bar.
 */
static void test_zonelist_contents(void **state)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	struct zpa_zone_info zi;
	char *text;
	(void)state;

	assert_non_null(cfg);
	zt_config_all_zones(cfg, NULL);
	cfg->log = quiet_log;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	free(cfg);
	/* The premises of the expected lists. */
	for (int t = ZPA_ZONE_DMA; t <= ZPA_ZONE_MOVABLE; t++) {
		int populated_on = t <= ZPA_ZONE_DMA32 ? 0 : 1;

		assert_int_equal(zpa_zone_info(m, populated_on, t, &zi), 0);
		assert_true(zi.present > 0);
		assert_int_equal(zpa_zone_info(m, 1 - populated_on, t, &zi), 0);
		assert_int_equal(zi.present, 0);
	}
	text = show(m, "zonelists");
	assert_string_equal(text, "Fallback order for Node 0: 0 1 \n"
				  "Fallback order for Node 1: 1 0 \n"
				  "\n"
				  "Node 0 zonelist: DMA32(0) DMA(0) Movable(1) HighMem(1) Normal(1)\n"
				  "Node 0 nofallback: DMA32(0) DMA(0)\n"
				  "Node 1 zonelist: Movable(1) HighMem(1) Normal(1) DMA32(0) DMA(0)\n"
				  "Node 1 nofallback: Movable(1) HighMem(1) Normal(1)\n");
	free(text);
	check_zonelists_structure(m);
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/*
 * Allocations follow the zonelist: on the four-node tie machine above
 * (node 0's order 0 2 3 1), once node 0 is exhausted with __GFP_THISNODE
 * requests (which use the NOFALLBACK list and so never leave the node), a
 * plain request preferring node 0 comes from node 2, the next in order.
 */
static void test_overflow_follows_order(void **state)
{
	static const uint8_t dist[MAX_TEST_NODES][MAX_TEST_NODES] = {
		{ 10, 20, 20, 20 }, { 20, 10, 20, 20 }, { 20, 20, 10, 20 }, { 20, 20, 20, 10 },
	};
	static const int cpus[] = { 0, 1 };
	struct zpa_machine *m = topo_machine(4, dist, cpus, 2, NULL);
	struct zpa_task *task = zpa_task_create();
	const zpa_gfp_t thisnode = ZPA_GFP_KERNEL | ZPA___GFP_THISNODE | ZPA___GFP_NOWARN;
	struct zpa_page_info info;
	unsigned long taken = 0;
	zpa_pfn_t pfn;
	(void)state;

	assert_non_null(task);
	zpa_task_set_cpu(task, 0);
	for (int order = 10; order >= 0; order--) {
		while ((pfn = zpa__alloc_pages(m, task, thisnode, (unsigned)order, 0, NULL)) != ZPA_PFN_NONE) {
			assert_int_equal(zpa_page_info(m, pfn, &info), 0);
			assert_int_equal(info.nid, 0);
			taken += 1ul << order;
		}
	}
	assert_true(taken > 0);
	pfn = zpa__alloc_pages(m, task, ZPA_GFP_KERNEL, 0, 0, NULL);
	assert_true(pfn != ZPA_PFN_NONE);
	assert_int_equal(zpa_page_info(m, pfn, &info), 0);
	assert_int_equal(info.nid, 2);
	zt_assert_clean(m);
	zpa_task_destroy(task);
	zpa_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_fallback_order),
		cmocka_unit_test(test_one_node),
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_four_nodes_ties),
		cmocka_unit_test(test_boot_rule),
		cmocka_unit_test(test_four_nodes_asymmetric_memoryless),
		cmocka_unit_test(test_eight_nodes),
		cmocka_unit_test(test_zonelist_contents),
		cmocka_unit_test(test_overflow_follows_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
