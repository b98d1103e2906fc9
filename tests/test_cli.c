/*
 * test_cli.c - the `zpa` program, run as a child process (ZPA_CLI).
 *
 * What is checked:
 *   - `zpa` without arguments exits 0 within 5 s of wall clock; its output
 *     has zoneinfo and buddyinfo sections before and after the workload (in
 *     that order, each with the shape of the /proc file), the after views
 *     differ from the before views, the summary says how much the workload
 *     holds (a realistic 50-85% of managed memory), which equals what the
 *     machine counts as allocated, and zpa_check passed.
 *   - `zpa info --snapshot r-n2-4g-2cpu/recomputed zoneinfo` prints, zone by
 *     zone, the spanned, present, managed, min, low and high values of the
 *     real Linux 6.1 zoneinfo of that snapshot (both files parsed), and
 *     nothing but zoneinfo on stdout; the same for the other recomputed
 *     snapshots (one node, tuned watermarks, a Movable zone, CPU-less nodes).
 *   - A machine file loads (zones from its ranges), takes --set and runs;
 *     a malformed one exits 1 with the loader's "file:line" message.
 *   - The simulated-PC flags lay out memory as documented: page 0 and the
 *     legacy hole missing, the PCI hole skipped, nodes one after another.
 *   - --set is applied (the CLI's watermarks equal the library's after the
 *     same zpa_sysctl_set) and a bad value is a library error (exit 1).
 *   - Help: `zpa --help` equals `zpa help`, `zpa run --help` equals
 *     `zpa help run`, and each names its options and the default machine.
 *   - Bad command lines exit 2 with a message on stderr and nothing on
 *     stdout; a missing machine file or snapshot exits 1 naming the path.
 *   - `zpa run` is deterministic: the same seed gives identical JSON,
 *     another seed different JSON; --verbose adds the before views.
 *   - NUMA views: `zpa info --snapshot DIR zonelists` starts with the
 *     kernel's own "Fallback order" lines from DIR's dmesg.txt, then a blank
 *     line and the zonelists; `numastat` and `node/N/numastat` have their
 *     layouts on any machine, and a node the machine lacks is exit 1.
 *   - NUMA run options: --policy bind:1 puts every page on node 1 except
 *     those of GFP_DMA requests (Linux applies a bind mask only at
 *     policy_zone and above), and nothing falls back; a node list naming
 *     nodes without memory is accepted with them dropped; interleave:0-1
 *     spreads pages over both nodes and
 *     counts interleave_hit on both; preferred:1 puts most pages on node 1;
 *     with --cpu 0 no page on node 1 is local_node, with --cpu 1 none on
 *     node 0 is; numa_miss and numa_foreign always balance; the text
 *     report's tables equal the JSON's numbers, the pages by node and zone
 *     add up to the pages handed out, and runs are deterministic.  Bad
 *     policies and CPUs: syntax errors exit 2, a policy the library refuses
 *     (a node without memory, a node list for default) exits 1, both
 *     before anything is printed.  (These run against the library's
 *     mempolicy.c: they check Linux's semantics, not the CLI's.)
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "zpa.h"
#include "helpers/zt.h"

#define SNAPSHOT_DIR ZPA_ORACLE_DIR "/r-n2-4g-2cpu/recomputed"
#define TIMEOUT_S "120"

/* ------------------------------------------------------------ running zpa */

struct result {
	int status;        /* exit status, or -1 if killed / not run */
	char *out, *err;   /* stdout and stderr, NUL-terminated */
	double seconds;    /* wall clock */
};

#define read_file zt_read_file /* tests/helpers/zt.c */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run `zpa <args>` (args is shell text) under a timeout; capture both streams. */
static struct result run_zpa(const char *fmt, ...)
{
	char args[2048], cmd[4096], out_path[] = "/tmp/zpa-cli-out-XXXXXX",
	     err_path[] = "/tmp/zpa-cli-err-XXXXXX";
	struct result r = { .status = -1 };
	va_list ap;
	int fo, fe, st;
	double t0;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	fo = mkstemp(out_path);
	fe = mkstemp(err_path);
	assert_true(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	snprintf(cmd, sizeof(cmd), "timeout " TIMEOUT_S " '%s' %s >'%s' 2>'%s'", ZPA_CLI, args,
		 out_path, err_path);
	t0 = now();
	st = system(cmd);
	r.seconds = now() - t0;
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 124)
		r.status = WEXITSTATUS(st);
	r.out = read_file(out_path);
	r.err = read_file(err_path);
	unlink(out_path);
	unlink(err_path);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* ------------------------------------------------------------ parsing */

#define MAX_ZONES 64

struct zone_vals {
	int nid;
	char name[16];
	unsigned long long spanned, present, managed, min, low, high;
	int seen;  /* bit per field found */
};

/*
 * Parse the zoneinfo text in [text, end) (end NULL: to the NUL) into zones.
 * Only the zone-level keys are taken: "high:" of the pagesets has a colon
 * and is a different key.
 */
static int parse_zoneinfo(const char *text, const char *end, struct zone_vals *z, int max)
{
	int n = 0;
	const char *p = text;

	while (p && *p && (!end || p < end)) {
		const char *nl = strchr(p, '\n');
		char line[256], key[64];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		unsigned long long v;
		int nid;
		char name[16];

		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : NULL;
		if (sscanf(line, "Node %d, zone %15s", &nid, name) == 2) {
			if (n == max)
				break;
			memset(&z[n], 0, sizeof(z[n]));
			z[n].nid = nid;
			strcpy(z[n].name, name);
			n++;
			continue;
		}
		if (n == 0 || sscanf(line, " %63s %llu", key, &v) != 2)
			continue;
		if (strcmp(key, "pages") == 0 && sscanf(line, " pages free %llu", &v) == 1)
			continue;
		struct zone_vals *c = &z[n - 1];
		if (strcmp(key, "spanned") == 0) c->spanned = v, c->seen |= 1;
		else if (strcmp(key, "present") == 0) c->present = v, c->seen |= 2;
		else if (strcmp(key, "managed") == 0) c->managed = v, c->seen |= 4;
		else if (strcmp(key, "min") == 0) c->min = v, c->seen |= 8;
		else if (strcmp(key, "low") == 0) c->low = v, c->seen |= 16;
		else if (strcmp(key, "high") == 0) c->high = v, c->seen |= 32;
	}
	return n;
}

static const struct zone_vals *find_zone(const struct zone_vals *z, int n, int nid, const char *name)
{
	for (int i = 0; i < n; i++)
		if (z[i].nid == nid && strcmp(z[i].name, name) == 0)
			return &z[i];
	return NULL;
}

/* Where the section under heading "=== <title> ===" starts and ends (next heading). */
static const char *section(const char *text, const char *title, const char **end)
{
	char h[256];
	const char *s, *e;

	snprintf(h, sizeof(h), "=== %s ===\n", title);
	s = strstr(text, h);
	if (!s)
		return NULL;
	s += strlen(h);
	e = strstr(s, "\n=== ");
	*end = e ? e : s + strlen(s);
	return s;
}

/* Number of buddyinfo rows "Node N, zone NAME c0 c1 ..." with exactly `orders` counts. */
static int buddyinfo_rows(const char *s, const char *end, unsigned orders)
{
	int rows = 0;

	while (s && s < end) {
		const char *nl = strchr(s, '\n');
		int nid, pos = 0;
		char name[16];

		if (sscanf(s, "Node %d, zone %15s%n", &nid, name, &pos) == 2) {
			const char *q = s + pos;
			unsigned cols = 0;
			char *after;

			for (;;) {
				strtoull(q, &after, 10);
				if (after == q)
					break;
				cols++;
				q = after;
			}
			assert_int_equal(cols, orders);
			rows++;
		}
		s = nl ? nl + 1 : NULL;
	}
	return rows;
}

/* The value after `label` somewhere in text (first number following it). */
static bool number_after(const char *text, const char *label, unsigned long long *v)
{
	const char *p = strstr(text, label);

	return p && sscanf(p + strlen(label), " %llu", v) == 1;
}

/* ------------------------------------------------------------ tests */

static void test_default_run(void **state)
{
	struct result r = run_zpa("");
	const char *views[4][2] = {
		{ "/proc/zoneinfo (before the workload)", "zoneinfo" },
		{ "/proc/buddyinfo (before the workload)", "buddyinfo" },
		{ "/proc/zoneinfo (after the workload)", "zoneinfo" },
		{ "/proc/buddyinfo (after the workload)", "buddyinfo" },
	};
	const char *start[4], *end[4], *e;
	unsigned long long held, managed, allocated;
	(void)state;

	assert_int_equal(r.status, 0);
	/* About 1 s in a Release build; ASan/UBSan and -O0 cost 10-15x.  Under
	 * pressure each failing request climbs the whole slow-path ladder
	 * (16 reclaim rounds, the OOM killer) before it fails, as in Linux. */
	assert_true(r.seconds < 60.0);
	for (int i = 0; i < 4; i++) {
		start[i] = section(r.out, views[i][0], &end[i]);
		assert_non_null(start[i]);
		if (i)
			assert_true(start[i] > start[i - 1]);
	}
	/* zoneinfo sections: the default machine's four populated zones and more. */
	for (int i = 0; i < 4; i += 2) {
		struct zone_vals z[MAX_ZONES];
		int n = parse_zoneinfo(start[i], end[i], z, MAX_ZONES);

		assert_true(n >= 4);
		assert_non_null(find_zone(z, n, 0, "DMA"));
		assert_non_null(find_zone(z, n, 0, "DMA32"));
		assert_non_null(find_zone(z, n, 0, "Normal"));
		assert_non_null(find_zone(z, n, 1, "Normal"));
		assert_true(find_zone(z, n, 1, "Normal")->managed > 0);
	}
	/* buddyinfo sections: a row per populated zone, max_order columns. */
	assert_int_equal(buddyinfo_rows(start[1], end[1], 11), 4);
	assert_int_equal(buddyinfo_rows(start[3], end[3], 11), 4);
	/* The workload left pages allocated, so the free lists changed. */
	assert_false(end[1] - start[1] == end[3] - start[3] &&
		     memcmp(start[1], start[3], (size_t)(end[1] - start[1])) == 0);

	/* Summary: occupancy reached and still held, a clean check. */
	const char *sum = section(r.out, "Summary", &e);
	assert_non_null(sum);
	assert_true(sum > start[3]);
	assert_true(number_after(sum, "\n  managed", &managed));
	assert_true(number_after(sum, "held by the workload at the end", &held));
	/* The workload is the machine's only user: what it holds is what is allocated. */
	assert_true(number_after(sum, "\n  allocated", &allocated));
	assert_int_equal(allocated, held);
	assert_true(held > managed / 2);
	assert_true(held < managed * 85 / 100);
	assert_non_null(strstr(sum, "Allocation requests by GFP class:"));
	assert_non_null(strstr(sum, "GFP_TRANSHUGE"));
	assert_non_null(strstr(sum, "\nzpa_check: ok\n"));
	assert_null(strstr(r.out, "FAILED"));
	result_free(&r);
}

/* zpa info --snapshot DIR zoneinfo against DIR/proc/zoneinfo, zone by zone. */
static void check_snapshot(const char *dir)
{
	struct result r = run_zpa("info --snapshot '%s' zoneinfo", dir);
	char path[1024], *real;
	struct zone_vals zr[MAX_ZONES], zz[MAX_ZONES];
	int nr, nz;

	snprintf(path, sizeof(path), "%s/proc/zoneinfo", dir);
	real = read_file(path);
	if (r.status != 0)
		fail_msg("zpa info --snapshot %s exited %d:\n%s", dir, r.status, r.err);
	/* Nothing but zoneinfo on stdout. */
	assert_int_equal(strncmp(r.out, "Node 0, zone", 12), 0);
	nr = parse_zoneinfo(real, NULL, zr, MAX_ZONES);
	nz = parse_zoneinfo(r.out, NULL, zz, MAX_ZONES);
	assert_true(nr >= 3);
	assert_int_equal(nz, nr);
	for (int i = 0; i < nr; i++) {
		const struct zone_vals *a = &zr[i], *b = find_zone(zz, nz, zr[i].nid, zr[i].name);

		assert_int_equal(a->seen, 63);
		if (!b)
			fail_msg("%s: zpa has no zone %s on node %d", dir, a->name, a->nid);
		assert_int_equal(b->seen, 63);
		if (a->spanned != b->spanned || a->present != b->present || a->managed != b->managed ||
		    a->min != b->min || a->low != b->low || a->high != b->high)
			fail_msg("%s: node %d zone %s: real spanned %llu present %llu managed %llu "
				 "min %llu low %llu high %llu; zpa %llu %llu %llu %llu %llu %llu", dir,
				 a->nid, a->name, a->spanned, a->present, a->managed, a->min, a->low,
				 a->high, b->spanned, b->present, b->managed, b->min, b->low, b->high);
	}
	free(real);
	result_free(&r);
}

static void test_info_snapshot_matches_oracle(void **state)
{
	(void)state;
	check_snapshot(SNAPSHOT_DIR);
}

/* The other recomputed snapshots: one node, tuned watermarks, Movable, CPU-less nodes. */
static void test_info_other_snapshots(void **state)
{
	const char *names[] = { "r-n1-2g-2cpu", "r-n1-2g-2cpu-wsf", "r-n2-4g-2cpu-movable",
				"r-n4-8g-2cpu-cpuless" };
	char dir[512];
	(void)state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s/recomputed", ZPA_ORACLE_DIR, names[i]);
		check_snapshot(dir);
	}
}

/* Write text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/zpa-cli-machine-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_machine_file(void **state)
{
	char path[64];
	struct zone_vals z[MAX_ZONES];
	const struct zone_vals *dma, *dma32;
	struct result r;
	int n;
	(void)state;

	/* RAM from 1 MiB to 1 GiB on one node. */
	strcpy(path, temp_file("# one node\nnodes 1\nram 0x100000-0x3fffffff node 0\nnode 0 cpus 0-1\n"));
	r = run_zpa("info --machine '%s' zoneinfo", path);
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	dma = find_zone(z, n, 0, "DMA");
	dma32 = find_zone(z, n, 0, "DMA32");
	assert_non_null(dma);
	assert_non_null(dma32);
	assert_int_equal(dma->present, ((16ULL << 20) - (1ULL << 20)) / 4096);
	assert_int_equal(dma32->present, ((1ULL << 30) - (16ULL << 20)) / 4096);
	result_free(&r);

	/* --set works on top of a machine file, and so does run. */
	r = run_zpa("info --machine '%s' --set min_free_kbytes=8192 zoneinfo", path);
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	assert_true(n >= 2);
	/* min watermarks share min_free_kbytes (in pages) by managed pages. */
	unsigned long long min_sum = 0;
	for (int i = 0; i < n; i++)
		min_sum += z[i].min;
	assert_true(min_sum <= 8192 / 4 && min_sum + (unsigned)n >= 8192 / 4);
	result_free(&r);
	r = run_zpa("run --machine '%s' --ops 20000", path);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\nzpa_check: ok\n"));
	result_free(&r);
	unlink(path);

	/* A malformed file: exit 1 with the loader's "file:line: reason". */
	strcpy(path, temp_file("nodes 1\nfrobnicate 3\n"));
	r = run_zpa("info --machine '%s'", path);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	char where[128];
	snprintf(where, sizeof(where), "%s:2", path);
	assert_non_null(strstr(r.err, where));
	result_free(&r);
	unlink(path);
}

static void test_pc_layout(void **state)
{
	struct zone_vals z[MAX_ZONES];
	const struct zone_vals *dma, *dma32, *normal;
	struct result r;
	int n;
	(void)state;

	/* One node of 2 GiB: all below 3 GiB; page 0 and [0x9f000, 0x100000) missing. */
	r = run_zpa("info --nodes 1 --mem 2G --cpus 2 zoneinfo");
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	dma = find_zone(z, n, 0, "DMA");
	dma32 = find_zone(z, n, 0, "DMA32");
	assert_non_null(dma);
	assert_non_null(dma32);
	assert_null(find_zone(z, n, 1, "Normal"));
	assert_int_equal(dma->present + dma32->present, (2ULL << 30) / 4096 - 1 - (0x100 - 0x9f));
	assert_int_equal(dma->spanned, 4096 - 1);
	assert_true(dma->managed <= dma->present && dma32->managed <= dma32->present);
	result_free(&r);

	/* Two nodes of 4 GiB: node 0 to 3 GiB then [4 GiB, 5 GiB); node 1 [5 GiB, 9 GiB). */
	r = run_zpa("info --nodes 2 --mem 4G zoneinfo");
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	normal = find_zone(z, n, 0, "Normal");
	assert_non_null(normal);
	assert_int_equal(normal->present, (1ULL << 30) / 4096);
	dma32 = find_zone(z, n, 0, "DMA32");
	assert_non_null(dma32);
	/* DMA32 spans to 4 GiB (the node goes on above it) but is present to 3 GiB. */
	assert_int_equal(dma32->spanned, ((4ULL << 30) - (16ULL << 20)) / 4096);
	assert_int_equal(dma32->present, ((3ULL << 30) - (16ULL << 20)) / 4096);
	normal = find_zone(z, n, 1, "Normal");
	assert_non_null(normal);
	assert_int_equal(normal->present, (4ULL << 30) / 4096);
	assert_int_equal(normal->spanned, (4ULL << 30) / 4096);
	result_free(&r);

	/* A bigger page: 16 KiB pages, 1 GiB on one node. */
	r = run_zpa("info --nodes 1 --mem 1G --page-size 16K zoneinfo");
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	unsigned long long present = 0;
	for (int i = 0; i < n; i++)
		present += z[i].present;
	/* page 0 and the pages of [0x9c000, 0x100000) missing. */
	assert_int_equal(present, (1ULL << 30) / 16384 - 1 - (0x100000 - 0x9c000) / 16384);
	result_free(&r);
}

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg, (void)level, (void)msg;
}

static void test_set(void **state)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));
	struct zpa_machine *m = NULL;
	struct zone_vals z[MAX_ZONES], base[MAX_ZONES];
	struct result r;
	int n, nb;
	(void)state;

	r = run_zpa("info zoneinfo");
	assert_int_equal(r.status, 0);
	nb = parse_zoneinfo(r.out, NULL, base, MAX_ZONES);
	result_free(&r);

	r = run_zpa("info --set min_free_kbytes=131072 --set watermark_scale_factor=200 zoneinfo");
	assert_int_equal(r.status, 0);
	n = parse_zoneinfo(r.out, NULL, z, MAX_ZONES);
	assert_int_equal(n, nb);
	result_free(&r);

	assert_non_null(cfg);
	zpa_machine_config_default(cfg);
	cfg->log = quiet_log;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "131072"), 0);
	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "200"), 0);
	unsigned long long min_sum = 0, base_sum = 0;
	for (int i = 0; i < n; i++) {
		struct zpa_zone_info zi;
		int t;

		for (t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			if (strcmp(zpa_zone_type_name(t), z[i].name) == 0)
				break;
		assert_true(t < ZPA_NR_ZONE_TYPES);
		assert_int_equal(zpa_zone_info(m, z[i].nid, t, &zi), 0);
		assert_int_equal(z[i].min, zi.min);
		assert_int_equal(z[i].low, zi.low);
		assert_int_equal(z[i].high, zi.high);
		min_sum += z[i].min;
		base_sum += base[i].min;
	}
	assert_true(min_sum > base_sum);
	assert_int_equal(zpa_check(m, NULL, 0), 0);
	zpa_machine_destroy(m);
	free(cfg);

	/* A bad value is the library's refusal: exit 1 and its message. */
	r = run_zpa("info --set min_free_kbytes=abc");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "min_free_kbytes"));
	assert_true(strstr(r.err, zpa_strerror(ZPA_EINVAL)) || strstr(r.err, zpa_strerror(ZPA_ERANGE)) ||
		    strstr(r.err, zpa_strerror(ZPA_EPARSE)));
	result_free(&r);

	r = run_zpa("info --set no_such_tunable=1");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, zpa_strerror(ZPA_ENOENT)));
	result_free(&r);

	/* Not NAME=VALUE: a usage error. */
	r = run_zpa("info --set min_free_kbytes");
	assert_int_equal(r.status, 2);
	result_free(&r);
}

static void test_help(void **state)
{
	struct result top = run_zpa("--help"), help = run_zpa("help");
	struct result run = run_zpa("run --help"), help_run = run_zpa("help run");
	struct result info = run_zpa("info --help"), help_info = run_zpa("help info");
	struct result bad = run_zpa("help nosuchcommand");
	const char *opts[] = { "--snapshot", "--machine", "--nodes", "--mem", "--cpus", "--page-size",
			       "--max-order", "--pageblock-order", "--movablecore", "--no-thp", "--set" };
	(void)state;

	assert_int_equal(top.status, 0);
	assert_int_equal(help.status, 0);
	assert_string_equal(top.out, help.out);
	assert_non_null(strstr(top.out, "zpa info"));
	assert_non_null(strstr(top.out, "zpa run"));
	assert_non_null(strstr(top.out, "default machine"));
	assert_non_null(strstr(top.out, "2 nodes of 4 GiB"));

	assert_int_equal(run.status, 0);
	assert_string_equal(run.out, help_run.out);
	assert_non_null(strstr(run.out, "--seed"));
	assert_non_null(strstr(run.out, "--ops"));
	assert_non_null(strstr(run.out, "--json"));
	assert_non_null(strstr(run.out, "--verbose"));
	assert_non_null(strstr(run.out, "--policy"));
	assert_non_null(strstr(run.out, "--cpu"));
	assert_non_null(strstr(run.out, "interleave"));
	assert_non_null(strstr(info.out, "zonelists"));
	assert_non_null(strstr(info.out, "numastat"));
	assert_non_null(strstr(info.out, "node/N/numastat"));

	assert_int_equal(info.status, 0);
	assert_string_equal(info.out, help_info.out);
	for (const char *const *v = (const char *const[]){ "zoneinfo", "buddyinfo", "pagetypeinfo",
							 "vmstat", NULL }; *v; v++)
		assert_non_null(strstr(info.out, *v));
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		assert_non_null(strstr(info.out, opts[i]));
		assert_non_null(strstr(run.out, opts[i]));
	}
	assert_int_equal(bad.status, 2);
	assert_string_equal(bad.out, "");
	result_free(&top), result_free(&help), result_free(&run), result_free(&help_run);
	result_free(&info), result_free(&help_info), result_free(&bad);
}

static void test_usage_errors(void **state)
{
	const char *cases[] = {
		"--bogus", "frobnicate", "info --bogus", "run --bogus", "info notaview",
		"info --nodes", "info --nodes 0", "info --mem 12Q", "info --page-size 5000",
		"run --seed x", "run --ops 0", "info --no-thp=1",
		"info --snapshot /tmp --nodes 2", "info --snapshot /a --machine /b",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result r = run_zpa("%s", cases[i]);

		if (r.status != 2)
			fail_msg("'zpa %s' exited %d, not 2", cases[i], r.status);
		assert_string_equal(r.out, "");
		assert_true(strlen(r.err) > 0);
		result_free(&r);
	}
}

static void test_load_errors(void **state)
{
	struct result r;
	(void)state;

	r = run_zpa("info --machine /nonexistent/zpa-machine-file");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "/nonexistent/zpa-machine-file"));
	result_free(&r);

	r = run_zpa("run --machine /nonexistent/zpa-machine-file");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	result_free(&r);

	r = run_zpa("info --snapshot /nonexistent/zpa-snapshot-dir");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "/nonexistent/zpa-snapshot-dir"));
	result_free(&r);
}

static void test_run_deterministic(void **state)
{
	struct result a = run_zpa("run --nodes 2 --mem 512M --ops 30000 --seed 7 --json -");
	struct result b = run_zpa("run --nodes 2 --mem 512M --ops 30000 --seed 7 --json -");
	struct result c = run_zpa("run --nodes 2 --mem 512M --ops 30000 --seed 8 --json -");
	unsigned long long ops;
	(void)state;

	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	assert_int_equal(c.status, 0);
	assert_string_equal(a.out, b.out);
	assert_string_not_equal(a.out, c.out);
	assert_true(number_after(a.out, "\"ops\":", &ops));
	assert_int_equal(ops, 30000);
	unsigned long long managed, free_pages, held;
	assert_true(number_after(a.out, "\"managed_pages\":", &managed));
	assert_true(number_after(a.out, "\"free_pages\":", &free_pages));
	assert_true(number_after(a.out, "\"held_pages\":", &held));
	assert_int_equal(managed - free_pages, held);
	assert_non_null(strstr(a.out, "\"check\": \"ok\""));
	result_free(&a), result_free(&b), result_free(&c);
}

static void test_run_verbose(void **state)
{
	struct result quiet = run_zpa("run --nodes 1 --mem 256M --ops 5000");
	struct result loud = run_zpa("run --nodes 1 --mem 256M --ops 5000 --verbose");
	const char *e;
	(void)state;

	assert_int_equal(quiet.status, 0);
	assert_int_equal(loud.status, 0);
	assert_null(section(quiet.out, "/proc/zoneinfo (before the workload)", &e));
	assert_non_null(section(quiet.out, "/proc/zoneinfo (after the workload)", &e));
	assert_non_null(section(loud.out, "/proc/zoneinfo (before the workload)", &e));
	assert_non_null(section(loud.out, "/proc/buddyinfo (before the workload)", &e));
	assert_non_null(strstr(quiet.out, "\nzpa_check: ok\n"));
	result_free(&quiet), result_free(&loud);
}

/* ------------------------------------------------------------ NUMA */

static void test_info_zonelists(void **state)
{
	const char *dirs[] = { "r-n4-8g-2cpu-cpuless", "r-n2-4g-2cpu-movable" };
	(void)state;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[1024], want[1024] = "", *log;
		struct result r = run_zpa("info --snapshot '%s/%s/boot' zonelists", ZPA_ORACLE_DIR, dirs[i]);
		unsigned lines = 0;

		snprintf(path, sizeof(path), "%s/%s/dmesg.txt", ZPA_ORACLE_DIR, dirs[i]);
		log = read_file(path);
		for (const char *p = strstr(log, "Fallback order for Node "); p;
		     p = strstr(p + 1, "Fallback order for Node ")) {
			strncat(want, p, strcspn(p, "\n") + 1);
			lines++;
		}
		free(log);
		assert_true(lines >= 2);
		assert_int_equal(r.status, 0);
		assert_int_equal(strncmp(r.out, want, strlen(want)), 0);
		assert_int_equal(r.out[strlen(want)], '\n');
		assert_int_equal(strncmp(r.out + strlen(want) + 1, "Node 0 zonelist:", 16), 0);
		assert_non_null(strstr(r.out, "\nNode 1 nofallback:"));
		result_free(&r);
	}
}

static void test_info_numastat(void **state)
{
	struct result r = run_zpa("info --nodes 3 --cpus 2 numastat node/2/numastat zonelists");
	const char *want_header = "                           node0           node1           node2\n";
	const char *rows[] = { "numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node",
			       "other_node" };
	const char *p;
	(void)state;

	assert_int_equal(r.status, 0);
	assert_int_equal(strncmp(r.out, want_header, strlen(want_header)), 0);
	p = r.out + strlen(want_header);
	for (size_t i = 0; i < 6; i++) {
		char want[128];

		snprintf(want, sizeof(want), "%-16s%16d%16d%16d\n", rows[i], 0, 0, 0);
		assert_int_equal(strncmp(p, want, strlen(want)), 0);
		p += strlen(want);
	}
	/* Then node 2's sysfs file, then the zonelists. */
	assert_string_equal(strstr(p, "Fallback") ? "" : "missing zonelists", "");
	assert_int_equal(strncmp(p, "numa_hit 0\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\n"
				    "local_node 0\nother_node 0\nFallback order for Node 0: ", 85), 0);
	result_free(&r);

	r = run_zpa("info --nodes 2 node/2/numastat");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "node/2/numastat"));
	result_free(&r);
}

/* The numbers of a JSON array member "key": [a, b, ...] found after `after`. */
static unsigned json_array(const char *text, const char *after, const char *key, unsigned long long *v,
			   unsigned max)
{
	const char *p = after ? strstr(text, after) : text;
	char pat[128];
	unsigned n = 0;

	assert_non_null(p);
	snprintf(pat, sizeof(pat), "\"%s\": [", key);
	p = strstr(p, pat);
	assert_non_null(p);
	p += strlen(pat);
	while (*p && *p != ']' && n < max) {
		char *end;

		if (*p == '[' || *p == ',' || *p == ' ') {
			p++;
			continue;
		}
		v[n++] = strtoull(p, &end, 10);
		assert_true(end > p);
		p = end;
		if (*p == ']' && p[1] == ',' && p[2] == ' ' && p[3] == '[')
			p += 4; /* next row of a nested array */
	}
	return n;
}

/* A run's NUMA numbers from its JSON. */
struct numa_run {
	unsigned zones;
	unsigned long long pages[2][8];   /* node, zone column */
	unsigned long long ev[6][2];      /* event, node */
	unsigned long long node_pages[2]; /* summed over the zones */
	unsigned long long total_pages;   /* from the classes */
};

static const char *const numa_events[6] = { "numa_hit", "numa_miss", "numa_foreign", "interleave_hit",
					    "local_node", "other_node" };

static void parse_numa_run(const char *json, struct numa_run *nr)
{
	unsigned long long flat[16], v[2];
	const char *p;
	unsigned n;

	memset(nr, 0, sizeof(*nr));
	p = strstr(json, "\"zones\": [");
	assert_non_null(p);
	for (p += 10; *p != ']'; p++)
		nr->zones += *p == '"';
	nr->zones /= 2;
	assert_true(nr->zones >= 1 && nr->zones <= 8);
	n = json_array(json, NULL, "node_zone_pages", flat, 16);
	assert_int_equal(n, 2 * nr->zones);
	for (unsigned nid = 0; nid < 2; nid++)
		for (unsigned z = 0; z < nr->zones; z++) {
			nr->pages[nid][z] = flat[nid * nr->zones + z];
			nr->node_pages[nid] += nr->pages[nid][z];
		}
	for (int i = 0; i < 6; i++) {
		assert_int_equal(json_array(json, "\"numastat_delta\"", numa_events[i], v, 2), 2);
		nr->ev[i][0] = v[0];
		nr->ev[i][1] = v[1];
	}
	for (p = strstr(json, "\"classes\""); p && (p = strstr(p, "\"pages\": ")); p += 9)
		nr->total_pages += strtoull(p + 9, NULL, 10);
	assert_int_equal(nr->node_pages[0] + nr->node_pages[1], nr->total_pages);
	/* Every miss is some node's foreign. */
	assert_int_equal(nr->ev[1][0] + nr->ev[1][1], nr->ev[2][0] + nr->ev[2][1]);
	/* Every allocation is local or other, hit or miss. */
	assert_int_equal(nr->ev[0][0] + nr->ev[1][0], nr->ev[4][0] + nr->ev[5][0]);
	assert_int_equal(nr->ev[0][1] + nr->ev[1][1], nr->ev[4][1] + nr->ev[5][1]);
}

#define NUMA_MACHINE "--nodes 2 --mem 512M --ops 20000"

static void test_run_policies(void **state)
{
	struct numa_run nr;
	struct result r;
	(void)state;

	/*
	 * bind:1 (node 0: DMA + DMA32, node 1: DMA32).  Linux applies a bind
	 * mask only to requests that may use policy_zone (the highest populated
	 * zone, DMA32 here): GFP_DMA requests ignore it and come from node 0's
	 * DMA zone, which node 1's zonelist ends with.  Everything else is on
	 * node 1, and nothing falls back (a bound request fails instead).
	 */
	r = run_zpa("run " NUMA_MACHINE " --policy bind:1 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	assert_int_equal(nr.zones, 2);                /* DMA, DMA32 */
	assert_int_equal(nr.pages[0][1], 0);          /* nothing from node 0's DMA32 */
	assert_true(nr.pages[0][0] > 0);
	{
		unsigned long long dma[2];

		assert_int_equal(json_array(r.out, "\"name\": \"driver DMA\",", "node_pages", dma, 2), 2);
		assert_int_equal(dma[0], nr.node_pages[0]);
		assert_int_equal(dma[1], 0);
	}
	assert_true(nr.node_pages[1] > 0);
	for (int nid = 0; nid < 2; nid++)
		assert_int_equal(nr.ev[1][nid] + nr.ev[2][nid], 0);
	assert_non_null(strstr(r.out, "\"policy\": \"bind:1\""));
	result_free(&r);

	/* Nodes without memory in a list are dropped, as set_mempolicy(2) does. */
	r = run_zpa("run " NUMA_MACHINE " --policy interleave:0-5 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	assert_true(nr.node_pages[0] > 0 && nr.node_pages[1] > 0);
	result_free(&r);

	/* interleave:0-1 on CPU 0: both nodes used, interleave hits on both, nothing local on node 1. */
	r = run_zpa("run " NUMA_MACHINE " --policy interleave:0-1 --cpu 0 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	assert_true(nr.node_pages[0] > nr.total_pages * 3 / 10);
	assert_true(nr.node_pages[1] > nr.total_pages * 3 / 10);
	assert_true(nr.ev[3][0] > 0 && nr.ev[3][1] > 0);
	assert_int_equal(nr.ev[4][1], 0);
	assert_int_equal(nr.ev[5][0], 0);
	assert_non_null(strstr(r.out, "\"cpu\": 0,"));
	result_free(&r);

	/* preferred:1 (tmpfs syntax with a flag too): most pages on node 1. */
	r = run_zpa("run " NUMA_MACHINE " --policy preferred=static:1 --cpu 0 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	assert_true(nr.node_pages[1] > nr.node_pages[0]);
	result_free(&r);

	/* Default policy on CPU 1: no page on node 0 is local. */
	r = run_zpa("run " NUMA_MACHINE " --policy default --cpu 1 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	assert_int_equal(nr.ev[4][0], 0);
	assert_true(nr.ev[4][1] > 0);
	result_free(&r);

	/* The other modes and the flag after the list run too. */
	r = run_zpa("run " NUMA_MACHINE " --policy preferred_many:0,1 --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	result_free(&r);
	r = run_zpa("run " NUMA_MACHINE " --policy local --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	result_free(&r);
	r = run_zpa("run " NUMA_MACHINE " --policy bind:0-1=relative --json -");
	assert_int_equal(r.status, 0);
	parse_numa_run(r.out, &nr);
	result_free(&r);
}

/* The text report shows the JSON's numbers; a policy run is deterministic. */
static void test_run_numa_report(void **state)
{
	struct result text = run_zpa("run " NUMA_MACHINE " --policy interleave:0-1 --seed 3");
	struct result a = run_zpa("run " NUMA_MACHINE " --policy interleave:0-1 --seed 3 --json -");
	struct result b = run_zpa("run " NUMA_MACHINE " --policy interleave:0-1 --seed 3 --json -");
	struct numa_run nr;
	const char *p;
	(void)state;

	assert_int_equal(text.status, 0);
	assert_int_equal(a.status, 0);
	assert_string_equal(a.out, b.out);
	parse_numa_run(a.out, &nr);
	assert_non_null(strstr(text.out, "Memory policy interleave:0-1"));
	p = strstr(text.out, "Pages handed out by node and zone:\n");
	assert_non_null(p);
	for (unsigned nid = 0; nid < 2; nid++) {
		char row[32];
		const char *q;
		unsigned long long pages;

		snprintf(row, sizeof(row), "\n  %-4u ", nid);
		q = strstr(p, row);
		assert_non_null(q);
		assert_int_equal(sscanf(q + strlen(row), "%llu", &pages), 1);
		assert_int_equal(pages, nr.node_pages[nid]);
		/* The zone columns follow the share. */
		q = strchr(q + strlen(row), '%');
		assert_non_null(q);
		for (unsigned z = 0; z < nr.zones; z++) {
			char *end;

			pages = strtoull(q + 1, &end, 10);
			assert_int_equal(pages, nr.pages[nid][z]);
			q = end;
		}
	}
	p = strstr(text.out, "NUMA events during the run (numastat deltas):\n");
	assert_non_null(p);
	{
		char header[128];

		snprintf(header, sizeof(header), "  %16s%16s%16s\n", "", "node0", "node1");
		assert_int_equal(strncmp(strchr(p, '\n') + 1, header, strlen(header)), 0);
	}
	for (int i = 0; i < 6; i++) {
		char want[128];

		snprintf(want, sizeof(want), "\n  %-16s%16llu%16llu\n", numa_events[i], nr.ev[i][0], nr.ev[i][1]);
		assert_non_null(strstr(p, want));
	}
	result_free(&text), result_free(&a), result_free(&b);
}

static void test_run_numa_errors(void **state)
{
	const char *usage[] = {
		"run --policy", "run --policy foo", "run --policy bind:x", "run --policy bind:1-0",
		"run --policy bind=sticky:1", "run --policy interleave:0:1", "run --policy bind:64",
		"run --cpu x", "run --cpu -1", "run --cpu 2", "run --nodes 2 --cpus 4 --cpu 4",
	};
	const char *refused[] = {
		"run --policy bind:2", "run --policy preferred:3", "run --policy default:0",
		"run --policy bind=static:5", "run --policy bind=static,relative:0",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		struct result r = run_zpa("%s --ops 100", usage[i]);

		if (r.status != 2)
			fail_msg("'zpa %s' exited %d, not 2", usage[i], r.status);
		assert_string_equal(r.out, "");
		assert_true(strlen(r.err) > 0);
		result_free(&r);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct result r = run_zpa("%s --ops 100", refused[i]);

		/* bind=static,relative is not one flag: a usage error; the rest the library's. */
		int want = strstr(refused[i], ",relative") ? 2 : 1;

		if (r.status != want)
			fail_msg("'zpa %s' exited %d, not %d", refused[i], r.status, want);
		assert_string_equal(r.out, "");
		assert_non_null(strstr(r.err, "--policy"));
		result_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_run),
		cmocka_unit_test(test_info_snapshot_matches_oracle),
		cmocka_unit_test(test_info_other_snapshots),
		cmocka_unit_test(test_machine_file),
		cmocka_unit_test(test_pc_layout),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_run_deterministic),
		cmocka_unit_test(test_run_verbose),
		cmocka_unit_test(test_info_zonelists),
		cmocka_unit_test(test_info_numastat),
		cmocka_unit_test(test_run_policies),
		cmocka_unit_test(test_run_numa_report),
		cmocka_unit_test(test_run_numa_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
