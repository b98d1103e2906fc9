/*
 * test_snapshot.c - building machine configs from Linux snapshots
 * (zpa_config_from_snapshot) and from machine files (zpa_config_from_file).
 *
 * Snapshots are written by hand into temporary directories, so each test
 * controls exactly one behaviour:
 *   - the e820 map: BIOS-e820 lines replayed with "e820: update" (retypes
 *     usable RAM) and "e820: remove" (deletes only entries of the named
 *     type), partial pages rounded inward, edits after "Zone ranges:"
 *     ignored;
 *   - SRAT lines splitting the map between nodes, and "Early memory node
 *     ranges" taking precedence over both;
 *   - kernelcore=/movablecore= from cmdline.txt or dmesg's "Command line:";
 *   - the placement of reserved pages (below 1 MiB first, then top-down,
 *     never on holes) and the managed counts the created machine ends with;
 *   - tunables from proc/sys/vm/ with vm-sysctls.txt as fallback,
 *     lowmem_reserve_ratio per zone type, THP, distances and CPU lists;
 *   - the zoneinfo-only approximation (no dmesg) keeping spans and present;
 *   - errors: missing directory, corrupt zoneinfo (message names the
 *     line), inconsistent sources; the caller's config is left untouched.
 * The oracle data is used for directory resolution (a configuration
 * directory means its recomputed/ dump, else boot/) and for a Linux 6.18
 * zoneinfo without dmesg, and to check the test parsers of
 * helpers/procparse.c against a real dump.  Machine files: every keyword, both range forms,
 * distance mirroring, lowmem_reserve_ratio against the configured zones,
 * the snapshot directive, and errors that name the file and line.
 * Every created machine ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/procparse.h"
#include "helpers/zt.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ------------------------------------------------------------ scratch files */

static char scratch[256];

static int setup_scratch(void **state)
{
	(void)state;
	snprintf(scratch, sizeof scratch, "/tmp/zpa-test-snapshot-XXXXXX");
	return mkdtemp(scratch) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown_scratch(void **state)
{
	(void)state;
	nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Write text to scratch/rel, creating directories on the way. */
static void put(const char *rel, const char *text)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", scratch, rel);
	for (char *p = path + strlen(scratch) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *sub(const char *rel)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s/%s", scratch, rel);
	return path;
}

/* ------------------------------------------------------------ zoneinfo text */

struct zspec {
	int nid;
	const char *name;
	uint64_t start, spanned, present, managed;
};

/*
 * A zoneinfo in Linux 6.1's shape for nodes 0..nr_nodes-1, each listing
 * DMA, DMA32, Normal, Movable and Device; the zones in spec get their
 * numbers, the others are empty.  Populated zones get pagesets for ncpus.
 */
static void put_zoneinfo(const char *rel, int nr_nodes, const struct zspec *spec, int nspec, int ncpus)
{
	static const char *const names[] = { "DMA", "DMA32", "Normal", "Movable", "Device" };
	char *buf = malloc(1 << 16);
	size_t len = 0;
	assert_non_null(buf);
	for (int nid = 0; nid < nr_nodes; nid++)
		for (int t = 0; t < 5; t++) {
			struct zspec z = { nid, names[t], 0, 0, 0, 0 };
			for (int i = 0; i < nspec; i++)
				if (spec[i].nid == nid && !strcmp(spec[i].name, names[t]))
					z = spec[i];
			len += (size_t)snprintf(buf + len, (1 << 16) - len,
				"Node %d, zone %8s\n  pages free     %" PRIu64 "\n        boost    0\n"
				"        min      0\n        low      0\n        high     0\n"
				"        spanned  %" PRIu64 "\n        present  %" PRIu64 "\n"
				"        managed  %" PRIu64 "\n        cma      0\n"
				"        protection: (0, 0, 0, 0, 0)\n", nid, z.name, z.managed, z.spanned,
				z.present, z.managed);
			if (!z.present)
				continue;
			len += (size_t)snprintf(buf + len, (1 << 16) - len,
				"      nr_free_pages %" PRIu64 "\n  pagesets\n", z.managed);
			for (int c = 0; c < ncpus; c++)
				len += (size_t)snprintf(buf + len, (1 << 16) - len,
					"    cpu: %d\n              count: 0\n              high:  0\n"
					"              batch: 1\n  vm stats threshold: 4\n", c);
			len += (size_t)snprintf(buf + len, (1 << 16) - len,
				"  node_unreclaimable:  0\n  start_pfn:           %" PRIu64 "\n", z.start);
		}
	put(rel, buf);
	free(buf);
}

/* ------------------------------------------------------------ config checks */

static bool has_range(const struct zpa_machine_config *c, int type, uint64_t start, uint64_t end, int nid)
{
	for (unsigned i = 0; i < c->nr_ranges; i++)
		if (c->ranges[i].type == type && c->ranges[i].start == start && c->ranges[i].end == end &&
		    (type == ZPA_RANGE_RESERVED || c->ranges[i].nid == nid))
			return true;
	return false;
}

static unsigned count_ranges(const struct zpa_machine_config *c, int type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nr_ranges; i++)
		n += c->ranges[i].type == type;
	return n;
}

static void dump_ranges(const struct zpa_machine_config *c)
{
	for (unsigned i = 0; i < c->nr_ranges; i++)
		print_message("  %s %#" PRIx64 "-%#" PRIx64 " node %d\n",
			      c->ranges[i].type == ZPA_RANGE_USABLE ? "ram" : "reserved",
			      c->ranges[i].start, c->ranges[i].end - 1, c->ranges[i].nid);
}

static void load_ok(const char *dir, struct zpa_machine_config *cfg)
{
	char err[1024];
	int r = zpa_config_from_snapshot(dir, cfg, err, sizeof err);
	if (r)
		print_error("zpa_config_from_snapshot(%s): %d %s\n", dir, r, err);
	assert_int_equal(r, 0);
}

/* Create the machine and check each spec'd zone against it. */
static void assert_machine_matches(const struct zpa_machine_config *cfg, const struct zspec *spec, int n)
{
	struct zpa_machine *m;
	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	for (int i = 0; i < n; i++) {
		struct zpa_zone_info zi;
		assert_int_equal(zpa_zone_info(m, spec[i].nid, pp_zone_type(spec[i].name), &zi), 0);
		if (zi.start_pfn != spec[i].start || zi.spanned != spec[i].spanned ||
		    zi.present != spec[i].present || zi.managed != spec[i].managed)
			print_error("node %d %s: zpa %" PRIu64 "+%" PRIu64 " present %" PRIu64 " managed %" PRIu64
				    ", want %" PRIu64 "+%" PRIu64 " present %" PRIu64 " managed %" PRIu64 "\n",
				    spec[i].nid, spec[i].name, zi.start_pfn, zi.spanned, zi.present, zi.managed,
				    spec[i].start, spec[i].spanned, spec[i].present, spec[i].managed);
		assert_int_equal(zi.start_pfn, spec[i].start);
		assert_int_equal(zi.spanned, spec[i].spanned);
		assert_int_equal(zi.present, spec[i].present);
		assert_int_equal(zi.managed, spec[i].managed);
	}
	zt_assert_clean(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------ the small machine */

/*
 * 1 GiB, one node: RAM 0-0x9fbff and 1 MiB-1 GiB, page 0 turned reserved,
 * the legacy hole removed, and a 1 MiB hole at 512 MiB made by an update.
 * A remove of *reserved* type over RAM at 768 MiB must change nothing, and
 * an update printed after "Zone ranges:" is too late to matter.
 */
static const char small_dmesg[] =
	"[    0.000000] Linux version 6.1.0-56-amd64\n"
	"[    0.000000] Command line: console=ttyS0 quiet\n"
	"[    0.000000] BIOS-provided physical RAM map:\n"
	"[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
	"[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved\n"
	"[    0.000000] BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved\n"
	"[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable\n"
	"[    0.000000] BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved\n"
	"[    0.000000] e820: update [mem 0x00000000-0x00000fff] usable ==> reserved\n"
	"[    0.000000] e820: remove [mem 0x000a0000-0x000fffff] usable\n"
	"[    0.000000] e820: update [mem 0x20000000-0x200fffff] usable ==> reserved\n"
	"[    0.000000] e820: remove [mem 0x30000000-0x300fffff] reserved\n"
	"[    0.000000] Zone ranges:\n"
	"[    0.000000]   DMA      [mem 0x0000000000001000-0x0000000000ffffff]\n"
	"[    0.000000]   DMA32    [mem 0x0000000001000000-0x000000003fffffff]\n"
	"[    0.000000]   Normal   empty\n"
	"[    0.000000]   Device   empty\n"
	"[    0.000000] e820: update [mem 0x10000000-0x10ffffff] usable ==> reserved\n"
	"[    0.000000] Freeing SMP alternatives memory: 36K\n";

/* RAM pfns: [1, 0x9f), [0x100, 0x20000), [0x20100, 0x40000). */
#define SMALL_DMA_PRESENT   (0x9eull + (4096 - 0x100))          /* 3998 */
#define SMALL_DMA32_PRESENT ((0x20000ull - 4096) + (0x40000 - 0x20100))

static void put_small(uint64_t dma_managed, uint64_t dma32_managed)
{
	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, SMALL_DMA_PRESENT, dma_managed },
		{ 0, "DMA32", 4096, 0x40000 - 4096, SMALL_DMA32_PRESENT, dma32_managed },
	};
	put_zoneinfo("small/proc/zoneinfo", 1, z, 2, 1);
	put("small/dmesg.txt", small_dmesg);
}

static void test_e820_edits(void **state)
{
	struct zpa_machine_config cfg;
	(void)state;
	put_small(SMALL_DMA_PRESENT - 158, SMALL_DMA32_PRESENT);
	load_ok(sub("small"), &cfg);

	/* Exactly the three RAM ranges; the partial page at 0x9f000 rounded away. */
	assert_int_equal(count_ranges(&cfg, ZPA_RANGE_USABLE), 3);
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x1000, 0x9f000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x100000, 0x20000000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x20100000, 0x40000000, 0));
	assert_int_equal(cfg.nr_nodes, 1);
	/* Zone ranges proved DMA ends at 16 MiB; nothing proves where DMA32 ends. */
	assert_int_equal(cfg.dma_limit, 16 * MiB);
	assert_int_equal(cfg.dma32_limit, 4 * GiB);
	assert_int_equal(cfg.movablecore, 0);

	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, SMALL_DMA_PRESENT, SMALL_DMA_PRESENT - 158 },
		{ 0, "DMA32", 4096, 0x40000 - 4096, SMALL_DMA32_PRESENT, SMALL_DMA32_PRESENT },
	};
	assert_machine_matches(&cfg, z, 2);
}

static void test_reserved_placement(void **state)
{
	struct zpa_machine_config cfg;
	(void)state;
	/* DMA: 998 held back = all 158 RAM pages below 1 MiB + 840 from the top.
	 * DMA32: everything above the 512 MiB hole plus 10 pages below it. */
	uint64_t above_hole = 0x40000 - 0x20100;
	put_small(SMALL_DMA_PRESENT - 998, SMALL_DMA32_PRESENT - above_hole - 10);
	load_ok(sub("small"), &cfg);
	if (count_ranges(&cfg, ZPA_RANGE_RESERVED) != 4)
		dump_ranges(&cfg);
	assert_int_equal(count_ranges(&cfg, ZPA_RANGE_RESERVED), 4);
	assert_true(has_range(&cfg, ZPA_RANGE_RESERVED, 0x1000, 0x9f000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_RESERVED, 16 * MiB - 840 * 4096, 16 * MiB, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_RESERVED, 0x20100000, 0x40000000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_RESERVED, 0x20000000 - 10 * 4096, 0x20000000, 0));

	/* Every reserved range lies inside one RAM range (never on a hole). */
	for (unsigned i = 0; i < cfg.nr_ranges; i++) {
		const struct zpa_range *r = &cfg.ranges[i];
		bool inside = false;
		if (r->type != ZPA_RANGE_RESERVED)
			continue;
		for (unsigned j = 0; j < cfg.nr_ranges; j++)
			inside |= cfg.ranges[j].type == ZPA_RANGE_USABLE && cfg.ranges[j].start <= r->start &&
				  r->end <= cfg.ranges[j].end;
		assert_true(inside);
	}

	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, SMALL_DMA_PRESENT, SMALL_DMA_PRESENT - 998 },
		{ 0, "DMA32", 4096, 0x40000 - 4096, SMALL_DMA32_PRESENT, SMALL_DMA32_PRESENT - above_hole - 10 },
	};
	assert_machine_matches(&cfg, z, 2);
}

/* ------------------------------------------------------------ NUMA */

static const char numa_dmesg_head[] =
	"[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
	"[    0.000000] BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved\n"
	"[    0.000000] BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable\n"
	"[    0.000000] e820: update [mem 0x00000000-0x00000fff] usable ==> reserved\n"
	"[    0.000000] e820: remove [mem 0x000a0000-0x000fffff] usable\n"
	"[    0.000000] SRAT: PXM 0 -> APIC 0x00 -> Node 0\n"
	"[    0.000000] SRAT: PXM 1 -> APIC 0x01 -> Node 1\n"
	"[    0.000000] ACPI: SRAT: Node 0 PXM 0 [mem 0x00000000-0x0009ffff]\n"
	"[    0.000000] ACPI: SRAT: Node 0 PXM 0 [mem 0x00100000-0x3fffffff]\n"
	"[    0.000000] ACPI: SRAT: Node 1 PXM 1 [mem 0x40000000-0x7fffffff] hotplug\n";

static void test_srat_split(void **state)
{
	struct zpa_machine_config cfg;
	(void)state;
	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, 3998, 3840 },
		{ 0, "DMA32", 4096, 0x40000 - 4096, 0x40000 - 4096, 250000 },
		{ 1, "DMA32", 0x40000, 0x40000, 0x40000, 260000 },
	};
	put_zoneinfo("numa/proc/zoneinfo", 2, z, 3, 2);
	put("numa/dmesg.txt", numa_dmesg_head);
	load_ok(sub("numa"), &cfg);

	assert_int_equal(cfg.nr_nodes, 2);
	assert_int_equal(count_ranges(&cfg, ZPA_RANGE_USABLE), 3);
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x1000, 0x9f000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x100000, 0x40000000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x40000000, 0x80000000, 1));
	/* No distance files: defaults (0 = 10 local / 20 remote). */
	assert_int_equal(cfg.distance[0][1], 0);
	/* No cpulist files: the 2 pageset CPUs, round-robin over the nodes. */
	assert_int_equal(cfg.nr_cpus, 2);
	assert_int_equal(cfg.cpu_node[0], 0);
	assert_int_equal(cfg.cpu_node[1], 1);
	assert_machine_matches(&cfg, z, 3);
}

static void test_early_node_ranges_win(void **state)
{
	struct zpa_machine_config cfg;
	char dmesg[4096];
	(void)state;
	/* memblock's ranges split the nodes at 768 MiB, against SRAT's 1 GiB. */
	snprintf(dmesg, sizeof dmesg, "%s%s", numa_dmesg_head,
		 "[    0.000000] Zone ranges:\n"
		 "[    0.000000]   DMA      [mem 0x0000000000001000-0x0000000000ffffff]\n"
		 "[    0.000000]   DMA32    [mem 0x0000000001000000-0x000000007fffffff]\n"
		 "[    0.000000]   Normal   empty\n"
		 "[    0.000000] Movable zone start for each node\n"
		 "[    0.000000] Early memory node ranges\n"
		 "[    0.000000]   node   0: [mem 0x0000000000001000-0x000000000009efff]\n"
		 "[    0.000000]   node   0: [mem 0x0000000000100000-0x000000002fffffff]\n"
		 "[    0.000000]   node   1: [mem 0x0000000030000000-0x000000007fffffff]\n"
		 "[    0.000000] Initmem setup node 0 [mem 0x0000000000001000-0x000000002fffffff]\n");
	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, 3998, 3840 },
		{ 0, "DMA32", 4096, 0x30000 - 4096, 0x30000 - 4096, 190000 },
		{ 1, "DMA32", 0x30000, 0x50000, 0x50000, 320000 },
	};
	put_zoneinfo("early/proc/zoneinfo", 2, z, 3, 2);
	put("early/dmesg.txt", dmesg);
	load_ok(sub("early"), &cfg);
	assert_int_equal(count_ranges(&cfg, ZPA_RANGE_USABLE), 3);
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x100000, 0x30000000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x30000000, 0x80000000, 1));
	assert_machine_matches(&cfg, z, 3);
}

/* ------------------------------------------------------------ command line */

static void test_cmdline_core(void **state)
{
	struct zpa_machine_config cfg;
	char err[1024];
	(void)state;

	/* dmesg's "Command line:" says nothing; cmdline.txt (the parent's) wins. */
	put_small(3840, SMALL_DMA32_PRESENT - 1000);
	put("small/cmdline.txt", "console=ttyS0 movablecore=256M quiet\n");
	load_ok(sub("small"), &cfg);
	assert_int_equal(cfg.movablecore, 256 * MiB);
	assert_int_equal(cfg.movablecore_percent, 0);
	assert_int_equal(cfg.kernelcore, 0);

	put("small/cmdline.txt", "kernelcore=30% movablecore=0x100000\n");
	load_ok(sub("small"), &cfg);
	assert_int_equal(cfg.kernelcore_percent, 30);
	assert_int_equal(cfg.movablecore, 1 * MiB);

	/* The last occurrence wins, as with Linux's early params. */
	put("small/cmdline.txt", "movablecore=1G movablecore=10%\n");
	load_ok(sub("small"), &cfg);
	assert_int_equal(cfg.movablecore_percent, 10);
	assert_int_equal(cfg.movablecore, 0);

	put("small/cmdline.txt", "quiet movablecore=12Q\n");
	int r = zpa_config_from_snapshot(sub("small"), &cfg, err, sizeof err);
	assert_int_equal(r, ZPA_EPARSE);
	assert_non_null(strstr(err, "cmdline.txt"));
	assert_non_null(strstr(err, "movablecore=12Q"));
	put("small/cmdline.txt", "kernelcore=101%\n");
	assert_int_equal(zpa_config_from_snapshot(sub("small"), &cfg, err, sizeof err), ZPA_EPARSE);

	/* Without cmdline.txt, dmesg's "Command line:" is read. */
	assert_int_equal(unlink(sub("small/cmdline.txt")), 0);
	char dmesg[sizeof small_dmesg + 64];
	const char *at = strstr(small_dmesg, "console=ttyS0 quiet");
	assert_non_null(at);
	snprintf(dmesg, sizeof dmesg, "%.*smovablecore=64M%s", (int)(at - small_dmesg), small_dmesg,
		 at + strlen("console=ttyS0"));
	put("small/dmesg.txt", dmesg);
	load_ok(sub("small"), &cfg);
	assert_int_equal(cfg.movablecore, 64 * MiB);
}

/* ------------------------------------------------------------ tunables, nodes, CPUs */

static void test_tunables_nodes_cpus(void **state)
{
	struct zpa_machine_config cfg;
	(void)state;
	/* No dmesg: RAM comes from the zones; the DMA32 zone has a 100-page hole. */
	struct zspec z[] = {
		{ 0, "DMA", 1, 4095, 3998, 3840 },
		{ 0, "DMA32", 4096, 0x20000 - 4096, 0x20000 - 4096 - 100, 120000 },
		{ 1, "Normal", 0x100000, 0x10000, 0x10000, 0xf000 },
	};
	put_zoneinfo("tun/dump/proc/zoneinfo", 2, z, 3, 4);
	put("tun/dump/vm-sysctls.txt",
	    "admin_reserve_kbytes=8192 \ncompact_memory=\nlowmem_reserve_ratio=100 200 30 0 0 \n"
	    "min_free_kbytes=12345 \nwatermark_scale_factor=77 \nwatermark_boost_factor=0 \n"
	    "percpu_pagelist_high_fraction=0 \n");
	put("tun/dump/proc/sys/vm/watermark_scale_factor", "55\n");
	put("tun/dump/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n");
	put("tun/dump/sys/devices/system/node/node0/distance", "10 25\n");
	put("tun/dump/sys/devices/system/node/node1/distance", "25 10\n");
	put("tun/dump/sys/devices/system/node/node0/cpulist", "0-1,3\n");
	put("tun/dump/sys/devices/system/node/node1/cpulist", "2\n");
	load_ok(sub("tun/dump"), &cfg);

	assert_int_equal(cfg.min_free_kbytes, 12345);
	assert_int_equal(cfg.watermark_scale_factor, 55);    /* the proc file beats the list */
	assert_int_equal(cfg.watermark_boost_factor, 0);
	assert_int_equal(cfg.percpu_pagelist_high_fraction, 0);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DMA], 100);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DMA32], 200);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_NORMAL], 30);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_HIGHMEM], -1);  /* no such zone */
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_MOVABLE], 0);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DEVICE], 0);
	assert_int_equal(cfg.thp_enabled, 0);
	assert_int_equal(cfg.nr_nodes, 2);
	assert_int_equal(cfg.distance[0][1], 25);
	assert_int_equal(cfg.distance[1][0], 25);
	assert_int_equal(cfg.distance[1][1], 10);
	assert_int_equal(cfg.nr_cpus, 4);
	assert_int_equal(cfg.cpu_node[0], 0);
	assert_int_equal(cfg.cpu_node[1], 0);
	assert_int_equal(cfg.cpu_node[2], 1);
	assert_int_equal(cfg.cpu_node[3], 0);

	/* The invented holes sit after each zone's first page: span and present
	 * kept (DMA's 97-page hole at pfn 2; DMA32's first page joins DMA's RAM). */
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 1ull << 12, 2ull << 12, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 99ull << 12, 4097ull << 12, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, (4097ull + 100) << 12, 0x20000ull << 12, 0));
	assert_machine_matches(&cfg, z, 3);

	/* A lowmem_reserve_ratio that does not fit the zones is an error. */
	char err[1024];
	put("tun/dump/proc/sys/vm/lowmem_reserve_ratio", "256\t256\t32\n");
	assert_int_equal(zpa_config_from_snapshot(sub("tun/dump"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "lowmem_reserve_ratio"));
	put("tun/dump/proc/sys/vm/lowmem_reserve_ratio", "256\t256\t32\t0\t0\n");
	put("tun/dump/proc/sys/vm/min_free_kbytes", "lots\n");
	assert_int_equal(zpa_config_from_snapshot(sub("tun/dump"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "min_free_kbytes"));
}

/* ------------------------------------------------------------ errors */

static void test_errors(void **state)
{
	struct zpa_machine_config cfg, before;
	char err[1024];
	(void)state;
	memset(&cfg, 0xa5, sizeof cfg);
	before = cfg;

	/* Missing directory. */
	int r = zpa_config_from_snapshot("/nonexistent/zpa-snapshot", &cfg, err, sizeof err);
	assert_int_equal(r, ZPA_EIO);
	assert_non_null(strstr(err, "/nonexistent/zpa-snapshot"));
	/* A directory without zoneinfo. */
	put("empty/README", "nothing here\n");
	assert_int_equal(zpa_config_from_snapshot(sub("empty"), &cfg, err, sizeof err), ZPA_EIO);
	assert_non_null(strstr(err, "zoneinfo"));

	/* A bad number on line 8 ("spanned"). */
	put("bad/proc/zoneinfo",
	    "Node 0, zone      DMA\n  pages free     10\n        boost    0\n        min      0\n"
	    "        low      0\n        high     0\n        spanned  40x95\n        present  3998\n");
	r = zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err);
	assert_int_equal(r, ZPA_EPARSE);
	assert_non_null(strstr(err, "zoneinfo:7:"));
	/* Text before the first zone header. */
	put("bad/proc/zoneinfo", "hello\nNode 0, zone DMA\n");
	assert_int_equal(zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "zoneinfo:1:"));
	/* An unknown zone name on line 2. */
	put("bad/proc/zoneinfo", "\nNode 0, zone   Weird\n");
	assert_int_equal(zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "zoneinfo:2:"));
	/* A zone without its managed line. */
	put("bad/proc/zoneinfo", "Node 0, zone      DMA\n        spanned  4095\n        present  3998\n");
	assert_int_equal(zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "managed"));
	/* managed above present. */
	put_zoneinfo("bad/proc/zoneinfo", 1, (struct zspec[]){ { 0, "DMA", 1, 4095, 3998, 3999 } }, 1, 1);
	assert_int_equal(zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err), ZPA_EPARSE);
	/* Binary garbage. */
	put("bad/proc/zoneinfo", "Node 0, zone DMA\n\x01\x02\x7f\n");
	assert_int_equal(zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "zoneinfo:2:"));

	/* Sources that disagree: the dmesg map gives DMA32 less RAM than it manages. */
	put_zoneinfo("bad/proc/zoneinfo", 1,
		     (struct zspec[]){ { 0, "DMA", 1, 4095, SMALL_DMA_PRESENT, 3840 },
				       { 0, "DMA32", 4096, 0x40000 - 4096, 0x40000 - 4096, 0x40000 - 4096 } }, 2, 1);
	put("bad/dmesg.txt", small_dmesg);
	r = zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err);
	assert_int_equal(r, ZPA_EPARSE);
	assert_non_null(strstr(err, "DMA32"));
	/* A malformed e820 line names dmesg.txt and its line. */
	put_small(3840, 250000);
	put("bad/dmesg.txt", "[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
			     "[    0.000000] BIOS-e820: [mem 0x0000000000100000-zzz] usable\n");
	r = zpa_config_from_snapshot(sub("bad"), &cfg, err, sizeof err);
	assert_int_equal(r, ZPA_EPARSE);
	assert_non_null(strstr(err, "dmesg.txt:2:"));

	/* None of this touched the config. */
	assert_memory_equal(&cfg, &before, sizeof cfg);
}

/* ------------------------------------------------------------ oracle directories */

static void test_config_dir_resolution(void **state)
{
	struct zpa_machine_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);

	load_ok(ZPA_ORACLE_DIR "/r-n2-4g-2cpu", a);
	load_ok(ZPA_ORACLE_DIR "/r-n2-4g-2cpu/recomputed", b);
	assert_memory_equal(a, b, sizeof *a);
	assert_int_equal(a->nr_nodes, 2);
	assert_int_equal(a->nr_cpus, 2);
	assert_int_equal(a->distance[0][1], 20);
	assert_true(a->nr_ranges > 3);

	/* No recomputed/: boot/. */
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	load_ok(ZPA_ORACLE_DIR "/n1-2g-2cpu", a);
	load_ok(ZPA_ORACLE_DIR "/n1-2g-2cpu/boot", b);
	assert_memory_equal(a, b, sizeof *a);

	/* The 4-node machine has two nodes without CPUs. */
	load_ok(ZPA_ORACLE_DIR "/r-n4-8g-2cpu-cpuless", a);
	assert_int_equal(a->nr_nodes, 4);
	assert_int_equal(a->nr_cpus, 2);
	assert_int_equal(a->distance[0][3], 40);
	assert_int_equal(a->distance[3][1], 30);
	free(a);
	free(b);
}

/* A Linux 6.18 dump without dmesg (zoneinfo at the top, extra fields). */
static void test_host_zoneinfo_only(void **state)
{
	struct zpa_machine_config cfg;
	struct pp_zoneinfo zi;
	char err[512];
	(void)state;
	const char *dir = ZPA_ORACLE_DIR "/host/a-build/before";
	assert_int_equal(pp_load_zoneinfo(ZPA_ORACLE_DIR "/host/a-build/before/zoneinfo", &zi, err, sizeof err), 0);
	load_ok(dir, &cfg);

	uint64_t ram = 0, present = 0;
	for (unsigned i = 0; i < cfg.nr_ranges; i++)
		if (cfg.ranges[i].type == ZPA_RANGE_USABLE)
			ram += (cfg.ranges[i].end - cfg.ranges[i].start) >> 12;
	for (unsigned i = 0; i < zi.nr_zones; i++)
		present += zi.zones[i].present;
	assert_int_equal(ram, present);
	assert_int_equal(cfg.nr_nodes, 1);
	assert_int_equal(cfg.nr_cpus, 2);   /* from the pagesets */
	assert_int_equal(cfg.min_free_kbytes, 67584);   /* from vm-sysctls.txt */
	assert_int_equal(cfg.watermark_boost_factor, 15000);

	struct zspec spec[8];
	int n = 0;
	for (unsigned i = 0; i < zi.nr_zones && n < 8; i++)
		if (zi.zones[i].present)
			spec[n++] = (struct zspec){ zi.zones[i].nid, zi.zones[i].name, zi.zones[i].start_pfn,
						    zi.zones[i].spanned, zi.zones[i].present, zi.zones[i].managed };
	assert_true(n >= 3);
	assert_machine_matches(&cfg, spec, n);
	pp_zoneinfo_free(&zi);
}

/* ------------------------------------------------------------ procparse helper */

/* The test parsers read a real 6.1 dump right (values as the kernel printed). */
static void test_procparse(void **state)
{
	const char *dir = ZPA_ORACLE_DIR "/r-n2-4g-2cpu-movable/recomputed/proc/";
	char path[1024], err[512];
	(void)state;

	struct pp_zoneinfo zi;
	snprintf(path, sizeof path, "%szoneinfo", dir);
	assert_int_equal(pp_load_zoneinfo(path, &zi, err, sizeof err), 0);
	assert_int_equal(zi.nr_zones, 10);
	const struct pp_zone *z = pp_zoneinfo_find(&zi, 1, "Movable");
	assert_non_null(z);
	assert_true(z->has_start_pfn);
	assert_int_equal(z->start_pfn, 1310720);
	assert_int_equal(z->managed, 248527);
	assert_int_equal(z->min, 4204);
	assert_int_equal(z->nr_protection, 5);
	assert_int_equal(z->nr_pagesets, 2);
	assert_int_equal(pp_zone_pageset(z, 1)->high, 5255);
	assert_int_equal(pp_zone_pageset(z, 1)->batch, 63);
	uint64_t v;
	assert_true(pp_zone_stat(z, "nr_free_pages", &v));
	assert_int_equal(v, z->free);
	z = pp_zoneinfo_find(&zi, 0, "DMA");
	assert_int_equal(z->protection[1], 1891);
	assert_true(z->nr_node_stats > 10);            /* the node's stats print in its first zone */
	assert_false(pp_zoneinfo_find(&zi, 0, "Normal")->has_start_pfn);
	pp_zoneinfo_free(&zi);

	struct pp_buddyinfo bi;
	snprintf(path, sizeof path, "%sbuddyinfo", dir);
	char *text = pp_read_file(path, NULL);
	assert_non_null(text);
	assert_int_equal(pp_parse_buddyinfo(text, &bi, err, sizeof err), 0);
	free(text);
	assert_int_equal(bi.nr_rows, 4);
	assert_int_equal(pp_buddyinfo_find(&bi, 0, "DMA32")->nr_orders, 11);
	assert_int_equal(pp_buddyinfo_find(&bi, 0, "DMA32")->count[10], 462);
	pp_buddyinfo_free(&bi);

	struct pp_pagetypeinfo pi;
	snprintf(path, sizeof path, "%spagetypeinfo", dir);
	text = pp_read_file(path, NULL);
	assert_non_null(text);
	assert_int_equal(pp_parse_pagetypeinfo(text, &pi, err, sizeof err), 0);
	free(text);
	assert_int_equal(pi.pageblock_order, 9);
	assert_int_equal(pi.pages_per_block, 512);
	assert_int_equal(pi.nr_block_types, 5);
	assert_string_equal(pi.block_types[4], "Isolate");
	assert_int_equal(pp_pagetypeinfo_find(&pi, 1, "Movable", "Movable")->count[10], 240);
	assert_int_equal(pp_pagetypeinfo_blocks(&pi, 1, "Normal")->count[0], 12);
	pp_pagetypeinfo_free(&pi);

	/* Lines in no shape Linux prints are refused with their number. */
	assert_int_equal(pp_parse_zoneinfo("Node 0, zone      DMA\n  pages free     3\n"
					   "        spanned  oops\n", &zi, err, sizeof err), -1);
	assert_non_null(strstr(err, "line 3"));
	assert_int_equal(pp_parse_zoneinfo("Node 0, zone      DMA\n  pagesets\n", &zi, err, sizeof err), -1);
	assert_int_equal(pp_parse_buddyinfo("Node 0, zone DMA 1 2 3\nNode 0, zone DMA32 1 2\n", &bi, err,
					    sizeof err), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(pp_parse_pagetypeinfo("Node 0, zone DMA 1 2\n", &pi, err, sizeof err), -1);
}

/* ------------------------------------------------------------ machine files */

static int load_file(const char *text, struct zpa_machine_config *cfg, char *err, size_t errlen)
{
	put("m.machine", text);
	return zpa_config_from_file(sub("m.machine"), cfg, err, errlen);
}

static void test_machine_file(void **state)
{
	struct zpa_machine_config cfg;
	char err[1024];
	(void)state;
	int r = load_file(
		"# a two-node machine\n"
		"page_size 4K\n"
		"max_order 11   # orders 0..10\n"
		"pageblock_order 9\n"
		"nodes 2\n"
		"node 0 cpus 0-1\n"
		"node 1 cpus 2,3\n"
		"ram 0x1000-0x9efff node 0\n"
		"ram 1M-0x3fffffff\n"
		"ram 0x40000000+1G node 1\n"
		"reserved 0x1000-0x9efff\n"
		"reserved 0x3ff00000+1M\n"
		"distance 0 1 21\n"
		"dma_limit 16M\n"
		"dma32_limit 4G\n"
		"zone_device off\n"
		"movablecore 25%\n"
		"sysctl min_free_kbytes=4096\n"
		"sysctl watermark_scale_factor 200\n"
		"sysctl lowmem_reserve_ratio=64 64 8 0\n"
		"thp off\n"
		"log_level err\n", &cfg, err, sizeof err);
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(cfg.page_shift, 12);
	assert_int_equal(cfg.nr_nodes, 2);
	assert_int_equal(cfg.nr_cpus, 4);
	assert_int_equal(cfg.cpu_node[1], 0);
	assert_int_equal(cfg.cpu_node[2], 1);
	assert_int_equal(cfg.cpu_node[3], 1);
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 0x1000, 0x9f000, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 1 * MiB, 1 * GiB, 0));
	assert_true(has_range(&cfg, ZPA_RANGE_USABLE, 1 * GiB, 2 * GiB, 1));
	assert_true(has_range(&cfg, ZPA_RANGE_RESERVED, 1 * GiB - 1 * MiB, 1 * GiB, 0));
	assert_int_equal(cfg.distance[0][1], 21);
	assert_int_equal(cfg.distance[1][0], 21);      /* mirrored */
	assert_false(cfg.zone_device);
	assert_int_equal(cfg.movablecore_percent, 25);
	assert_int_equal(cfg.min_free_kbytes, 4096);
	assert_int_equal(cfg.watermark_scale_factor, 200);
	/* No Device zone: four values, DMA DMA32 Normal Movable. */
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DMA], 64);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_NORMAL], 8);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_MOVABLE], 0);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DEVICE], -1);
	assert_int_equal(cfg.thp_enabled, 0);
	assert_int_equal(cfg.log_level, ZPA_LOG_ERR);

	/* The machine it describes. */
	struct zpa_machine *m;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	struct zpa_zone_info zi;
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DMA, &zi), 0);
	assert_int_equal(zi.start_pfn, 1);
	assert_int_equal(zi.present, 3998);
	assert_int_equal(zi.managed, 3998 - 158);
	assert_int_equal(zi.nr_protection, 4);
	assert_int_equal(zpa_zone_info(m, 0, ZPA_ZONE_DEVICE, &zi), ZPA_ENOENT);
	zt_assert_clean(m);
	zpa_machine_destroy(m);

	/* Asymmetric distances: both directions given. */
	r = load_file("ram 0+1G\nram 1G+1G node 1\ndistance 0 1 20\ndistance 1 0 30\n"
		      "zones dma32 normal movable\nsysctl lowmem_reserve_ratio=7 8 9\ncpus 3\n",
		      &cfg, err, sizeof err);
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(cfg.distance[0][1], 20);
	assert_int_equal(cfg.distance[1][0], 30);
	assert_int_equal(cfg.dma_limit, 0);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_DMA32], 7);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_NORMAL], 8);
	assert_int_equal(cfg.lowmem_reserve_ratio[ZPA_ZONE_MOVABLE], 9);
	assert_int_equal(cfg.nr_cpus, 3);
	assert_int_equal(cfg.cpu_node[2], 0);
	assert_int_equal(cfg.nr_nodes, 2);
}

static void test_machine_file_snapshot(void **state)
{
	struct zpa_machine_config a, b;
	char err[1024];
	(void)state;
	load_ok(ZPA_ORACLE_DIR "/r-n1-2g-2cpu/recomputed", &a);
	char text[1024];
	snprintf(text, sizeof text, "snapshot %s\nsysctl min_free_kbytes=1024\n",
		 ZPA_ORACLE_DIR "/r-n1-2g-2cpu/recomputed");
	int r = load_file(text, &b, err, sizeof err);
	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(b.min_free_kbytes, 1024);
	assert_int_equal(b.nr_ranges, a.nr_ranges);
	assert_memory_equal(b.ranges, a.ranges, a.nr_ranges * sizeof(a.ranges[0]));
	assert_int_equal(b.nr_cpus, a.nr_cpus);
	assert_int_equal(b.nr_nodes, a.nr_nodes);

	/* Not first: an error. */
	snprintf(text, sizeof text, "max_order 11\nsnapshot %s\n", ZPA_ORACLE_DIR "/r-n1-2g-2cpu");
	assert_int_equal(load_file(text, &b, err, sizeof err), ZPA_EPARSE);
	assert_non_null(strstr(err, "m.machine:2:"));
}

/* Each bad file fails with "m.machine:<line>:" and a word about why. */
static void test_machine_file_errors(void **state)
{
	static const struct { const char *text; const char *where; const char *why; } bad[] = {
		{ "ram 0+1G\nfrobnicate 3\n", ":2:", "unknown keyword" },
		{ "ram 0+1G\nmax_order eleven\n", ":2:", "max_order" },
		{ "max_order 0\nram 0+1G\n", ":1:", "out of range" },
		{ "max_order 99\n", ":1:", "out of range" },
		{ "ram 0+1G\nram 512M-2G\n", ":2:", "line 1" },
		{ "ram 1M-2G\n# comment\nram 0-1M\n", ":3:", "line 1" },   /* ends are inclusive */
		{ "ram 0+1M\nram 2M+1M\nram 0x100-0x1fff node 3\n", ":3:", "line 1" },
		{ "nodes 1\nram 0+1G\nram 1G+1G node 1\n", ":3:", "node 1" },
		{ "ram 0+1G node 64\n", ":1:", "node" },
		{ "ram 0+1G\nreserved 0x3ffff000-0x40000fff\n", ":2:", "not all RAM" },
		{ "ram 0+1G\nreserved 0-1M\nreserved 0x80000+1M\n", ":3:", "line 2" },
		{ "ram 1G-0\n", ":1:", "ends before" },
		{ "ram 0+1G oops\n", ":1:", "ram RANGE" },
		{ "ram 0+1G\ndistance 0 0 20\n", ":2:", "itself" },
		{ "ram 0+1G\npage_size 3000\n", ":2:", "power of two" },
		{ "ram 0+1G\npageblock_order 11\n", ":", "pageblock_order" },
		{ "ram 0+1G\nsysctl swappiness=60\n", ":2:", "unknown sysctl" },
		{ "ram 0+1G\nsysctl watermark_scale_factor=0\n", ":2:", "out of range" },
		{ "ram 0+1G\nsysctl percpu_pagelist_high_fraction=4\n", ":2:", "at least 8" },
		{ "ram 0+1G\nsysctl lowmem_reserve_ratio=1 2 3\n", ":2:", "zone types" },
		{ "ram 0+1G\nnode 0 cpus 0-3\nnode 1 cpus 3\n", ":3:", "CPU 3" },
		{ "ram 0+1G\nnode 0 cpus 0-7\ncpus 4\n", ":3:", "cpus 4" },
		{ "ram 0+1G\nthp maybe\n", ":2:", "on or off" },
		{ "ram 0+1G\nzones dma dma32\n", ":2:", "Normal" },
		{ "ram 0+1G\nmovablecore 120%\n", ":2:", "movablecore" },
		{ "ram 0+1G\ndma_limit 0x1234\n", ":2:", "page aligned" },
		{ "ram 0-0xffffffffffffffff\n", ":1:", "64-bit" },
		{ "# nothing\n", ":", "no ram" },
	};
	struct zpa_machine_config cfg, before;
	char err[1024];
	(void)state;
	memset(&cfg, 0x5a, sizeof cfg);
	before = cfg;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = load_file(bad[i].text, &cfg, err, sizeof err);
		char where[64];
		snprintf(where, sizeof where, "m.machine%s", bad[i].where);
		if (r != ZPA_EPARSE || !strstr(err, where) || !strstr(err, bad[i].why))
			print_error("case %zu: %d \"%s\" (want %s ... %s)\n", i, r, err, where, bad[i].why);
		assert_int_equal(r, ZPA_EPARSE);
		assert_non_null(strstr(err, where));
		assert_non_null(strstr(err, bad[i].why));
	}
	assert_memory_equal(&cfg, &before, sizeof cfg);
	assert_int_equal(zpa_config_from_file(sub("no-such.machine"), &cfg, err, sizeof err), ZPA_EIO);
	assert_non_null(strstr(err, "no-such.machine"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_edits),
		cmocka_unit_test(test_reserved_placement),
		cmocka_unit_test(test_srat_split),
		cmocka_unit_test(test_early_node_ranges_win),
		cmocka_unit_test(test_cmdline_core),
		cmocka_unit_test(test_tunables_nodes_cpus),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_config_dir_resolution),
		cmocka_unit_test(test_host_zoneinfo_only),
		cmocka_unit_test(test_procparse),
		cmocka_unit_test(test_machine_file),
		cmocka_unit_test(test_machine_file_snapshot),
		cmocka_unit_test(test_machine_file_errors),
	};
	return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
