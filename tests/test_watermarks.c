/*
 * test_watermarks.c - zone setup formulas (src/zone.c): watermarks, lowmem
 * protection, totalreserve_pages, the boot-time min_free_kbytes, and the vm
 * tunables (zpa_sysctl_set/get/names).
 *
 * Each machine is built through the public API with ranges chosen so that
 * every zone's managed page count is known in advance (managed = RAM pages
 * of the zone minus reserved pages); the first assertions of a test check
 * that layout, the rest check numbers worked out by hand in the comments
 * from Linux 6.1's formulas:
 *   pages_min = min_free_kbytes / 4 (4 KiB pages)
 *   share     = pages_min * managed / lowmem_pages   (lowmem: all zones but
 *               HighMem, and Movable when Movable is carved from HighMem)
 *   min       = share (highmem: clamp(managed / 1024, 32, 128))
 *   gap       = max(share / 4, managed * watermark_scale_factor / 10000)
 *   low = min + gap, high = low + gap
 *   protection[j] of zone i (j > i) = managed(i+1..j) / ratio[i]
 *   zone reserve = min(managed, high + max protection)
 *   boot default = clamp(isqrt(16 * KiB above high in GFP_USER zones), 128,
 *               262144), then on machines of 512 MiB or more either the THP
 *               recommendation (11 pageblocks * zones <= Normal, at most 5%
 *               of the pages above high) or, THP off, a second square root.
 * The oracle test compares with real kernels; this one pins the formulas,
 * the order of the boot steps, and the tunables' error handling.  Every test
 * ends with zpa_check().
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* ------------------------------------------------------------ helpers */

static void quiet_log(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static struct zpa_machine_config *new_config(void)
{
	struct zpa_machine_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	zpa_machine_config_init(cfg);
	cfg->log = quiet_log;
	cfg->nr_cpus = 1;
	return cfg;
}

static void add(struct zpa_machine_config *cfg, uint64_t start, uint64_t end, int type, int nid)
{
	assert_int_equal(zpa_config_add_range(cfg, start, end, type, nid), 0);
}

static struct zpa_machine *create(struct zpa_machine_config *cfg)
{
	struct zpa_machine *m = NULL;

	assert_int_equal(zpa_machine_create(cfg, &m), 0);
	assert_non_null(m);
	free(cfg);
	return m;
}

/*
 * The 2 GiB one-node q35 guest of the oracle: RAM at pfn 1..158 and
 * 256..524251; the low 158 pages and 25575 pages at the top are reserved.
 * Zones: DMA (idx 0) managed 3840, DMA32 (1) managed 494581, Normal (2),
 * Movable (3), Device (4) empty.
 */
static struct zpa_machine_config *config_2g(void)
{
	struct zpa_machine_config *cfg = new_config();

	add(cfg, 0x1000, 0x9f000, ZPA_RANGE_USABLE, 0);
	add(cfg, 0x100000, 0x7ffdc000, ZPA_RANGE_USABLE, 0);
	add(cfg, 0x1000, 0x9f000, ZPA_RANGE_RESERVED, 0);
	add(cfg, 0x7ffdc000 - 25575ull * 4096, 0x7ffdc000, ZPA_RANGE_RESERVED, 0);
	return cfg;
}

/* A one-node machine with RAM [1 MiB, end): DMA managed 3840, DMA32 the rest. */
static struct zpa_machine_config *config_flat(uint64_t end)
{
	struct zpa_machine_config *cfg = new_config();

	add(cfg, 1 * MiB, end, ZPA_RANGE_USABLE, 0);
	return cfg;
}

static struct zone *zone_of(struct zpa_machine *m, int nid, int type)
{
	int zi = m->zone_idx_of[type];

	assert_true(zi >= 0);
	assert_non_null(m->nodes[nid]);
	return &m->nodes[nid]->node_zones[zi];
}

static void expect_zone(struct zpa_machine *m, int nid, int type, unsigned long managed,
			unsigned long min, unsigned long low, unsigned long high)
{
	struct zone *z = zone_of(m, nid, type);

	assert_int_equal(z->managed_pages, managed);
	assert_int_equal(z->_watermark[WMARK_MIN], min);
	assert_int_equal(z->_watermark[WMARK_LOW], low);
	assert_int_equal(z->_watermark[WMARK_HIGH], high);
	assert_int_equal(z->watermark_boost, 0);
}

/* Protection of a zone for every zone index of the machine. */
static void expect_protection(struct zpa_machine *m, int nid, int type, const long *want)
{
	struct zone *z = zone_of(m, nid, type);

	for (unsigned j = 0; j < m->nr_zone_types; j++) {
		if (z->lowmem_reserve[j] != want[j])
			print_message("node %d %s protection[%u] = %ld, expected %ld\n", nid, z->name, j,
				      z->lowmem_reserve[j], want[j]);
		assert_int_equal(z->lowmem_reserve[j], want[j]);
	}
}

static void expect_sysctl(struct zpa_machine *m, const char *name, const char *want)
{
	char buf[128];
	int n = zpa_sysctl_get(m, name, buf, sizeof(buf));

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

/* No lock is left held by a setup path. */
static void expect_unlocked(struct zpa_machine *m)
{
	assert_false(zpa_spin_is_locked(&m->setup_lock));
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++)
			assert_false(zpa_spin_is_locked(&m->nodes[nid]->node_zones[zi].lock));
}

static void audit_and_destroy(struct zpa_machine *m)
{
	char report[1024] = "";
	int rc = zpa_check(m, report, sizeof(report));

	if (rc)
		print_message("zpa_check: %s\n", report);
	assert_int_equal(rc, 0);
	expect_unlocked(m);
	zpa_machine_destroy(m);
}

/* ------------------------------------------------------------ boot */

/*
 * 2 GiB, THP on.  lowmem = 3840 + 494581 = 498421 pages = 1993684 KiB.
 * Pass 1 (watermarks 0): isqrt(16 * 1993684) = isqrt(31898944) = 5647 KiB,
 * pages_min 1411: DMA share 1411*3840/498421 = 10, gap max(2, 3) = 3 ->
 * 10/13/16; DMA32 share 1400, gap max(350, 494) -> 1400/1894/2388.
 * THP: zones <= Normal populated: DMA, DMA32 -> 2; 512 * 2 * (2 + 9) = 11264
 * pages; cap (3824 + 492193) / 20 = 24800 -> 11264 pages = 45056 KiB.
 * Final, pages_min 11264: DMA share 11264*3840/498421 = 86, gap max(21, 3)
 * -> 86/107/128; DMA32 share 11177, gap max(2794, 494) -> 11177/13971/16765.
 * Protection: DMA 494581 / 256 = 1931 for every j > 0; DMA32 has nothing
 * above it: 0.  Reserve: DMA min(3840, 1931 + 128) = 2059, DMA32 16765;
 * total 18824.
 */
static void test_boot_2g_thp(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_2g());
	static const long dma_prot[5] = { 0, 1931, 1931, 1931, 1931 };
	static const long none[5] = { 0, 0, 0, 0, 0 };

	assert_int_equal(m->nr_zone_types, 5);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 86, 107, 128);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 11177, 13971, 16765);
	expect_zone(m, 0, ZPA_ZONE_NORMAL, 0, 0, 0, 0);
	expect_zone(m, 0, ZPA_ZONE_MOVABLE, 0, 0, 0, 0);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_prot);
	expect_protection(m, 0, ZPA_ZONE_DMA32, none);
	expect_protection(m, 0, ZPA_ZONE_NORMAL, none);
	assert_int_equal(m->t.min_free_kbytes, 45056);
	assert_int_equal(m->t.user_min_free_kbytes, -1);
	assert_int_equal(m->t.thp_enabled, 1);
	assert_int_equal(m->nodes[0]->totalreserve_pages, 18824);
	assert_int_equal(m->totalreserve_pages, 18824);
	expect_sysctl(m, "min_free_kbytes", "45056\n");
	expect_sysctl(m, "lowmem_reserve_ratio", "256\t256\t32\t0\t0\n");
	/* Pages above high in DMA and DMA32: (3840 - 128) + (494581 - 16765). */
	assert_int_equal(nr_free_buffer_pages(m), 3712 + 477816);
	audit_and_destroy(m);
}

/*
 * 2 GiB, THP off: hugepage_init() still runs (>= 512 MiB) and recomputes the
 * square root against pass 1's high watermarks (16 and 2388):
 * (3840 - 16) + (494581 - 2388) = 496017 pages = 1984068 KiB;
 * isqrt(31745088) = 5634 (5634^2 = 31741956, 5635^2 = 31753225).
 * pages_min 1408: DMA share 10, gap 3 -> 10/13/16; DMA32 share
 * 1408*494581/498421 = 1397, gap max(349, 494) -> 1397/1891/2385.
 * Reserve: DMA min(3840, 1931 + 16) = 1947, DMA32 2385; total 4332.
 */
static void test_boot_2g_thp_off_two_square_roots(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = config_2g();
	cfg->thp_enabled = 0;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->t.min_free_kbytes, 5634);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 10, 13, 16);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 1397, 1891, 2385);
	assert_int_equal(m->totalreserve_pages, 4332);
	assert_int_equal(m->t.thp_enabled, 0);
	audit_and_destroy(m);
}

/*
 * [1 MiB, 600 MiB): DMA 3840, DMA32 153600 - 4096 = 149504; 153344 pages
 * (599 MiB >= 512 MiB, THP runs).  Pass 1: isqrt(16 * 613376) = 3132,
 * pages_min 783: DMA 783*3840/153344 = 19, gap max(4, 3) -> 19/23/27; DMA32
 * 763, gap max(190, 149) -> 763/953/1143.  THP wants 11264 pages but 5% of
 * (3813 + 148361) = 7608 caps it: 30432 KiB.  pages_min 7608: DMA 190, gap
 * max(47, 3) -> 190/237/284; DMA32 7417, gap max(1854, 149) -> 7417/9271/11125.
 */
static void test_boot_thp_capped_at_5_percent(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_flat(600 * MiB));

	assert_int_equal(m->t.min_free_kbytes, 30432);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 190, 237, 284);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 149504, 7417, 9271, 11125);
	audit_and_destroy(m);
}

/*
 * [1 MiB, 256 MiB): DMA 3840, DMA32 61440; 65280 pages < 512 MiB, so
 * hugepage_init() turns THP off and stops: one square root only.
 * isqrt(16 * 261120) = isqrt(4177920) = 2043 (2044^2 = 4177936).
 * pages_min 510: DMA 510*3840/65280 = 30, gap max(7, 3) -> 30/37/44;
 * DMA32 480, gap max(120, 61) -> 480/600/720.
 */
static void test_boot_small_machine_has_no_thp(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_flat(256 * MiB));

	assert_int_equal(m->t.min_free_kbytes, 2043);
	assert_int_equal(m->t.thp_enabled, 0);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 30, 37, 44);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 61440, 480, 600, 720);
	audit_and_destroy(m);
}

/*
 * The square root is clamped to [128, 262144] KiB.
 * Floor: [1 MiB, 1.5 MiB) is 128 DMA pages = 512 KiB, isqrt(8192) = 90 -> 128;
 * pages_min 32 = share, gap max(8, 0) -> 32/40/48.
 * Ceiling: with DMA32 pretending to manage 2^31 pages, isqrt(16 * 2^33 KiB +
 * ...) > 2^19 -> 262144, and the THP recommendation (45056) does not raise
 * it.  Restoring the real count and rerunning the boot setup gives 45056.
 */
static void test_boot_square_root_clamps(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_flat(1 * MiB + 512 * KiB));

	assert_int_equal(m->t.min_free_kbytes, 128);
	expect_zone(m, 0, ZPA_ZONE_DMA, 128, 32, 40, 48);
	audit_and_destroy(m);

	m = create(config_2g());
	struct zone *dma32 = zone_of(m, 0, ZPA_ZONE_DMA32);
	unsigned long real = dma32->managed_pages;
	dma32->managed_pages = 1ul << 31;
	init_per_zone_wmark_min(m);
	assert_int_equal(m->t.min_free_kbytes, 262144);
	dma32->managed_pages = real;
	init_per_zone_wmark_min(m);
	assert_int_equal(m->t.min_free_kbytes, 45056);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 11177, 13971, 16765);
	audit_and_destroy(m);
}

/*
 * min_free_kbytes in the config is the user's: no square root, no THP raise.
 * pages_min 256: DMA 256*3840/498421 = 1, gap max(0, 3) -> 1/4/7; DMA32
 * 254, gap max(63, 494) -> 254/748/1242.
 */
static void test_boot_user_min_free_kbytes(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = config_2g();
	cfg->min_free_kbytes = 1024;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->t.min_free_kbytes, 1024);
	assert_int_equal(m->t.user_min_free_kbytes, 1024);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 1, 4, 7);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 254, 748, 1242);
	expect_sysctl(m, "min_free_kbytes", "1024\n");
	audit_and_destroy(m);
}

/*
 * A 32-bit style machine: RAM [0, 2 GiB), the first 1 MiB reserved, no DMA32,
 * lowmem ends at 896 MiB, movablecore=256M, no Device zone.
 * Zones: DMA (0) 4096 - 256 = 3840; Normal (1) pfn 4096..229375 = 225280;
 * HighMem (2) pfn 229376..458751 = 229376; Movable (3), carved from HighMem,
 * pfn 458752..524287 = 65536.  Movable counts as highmem.
 * lowmem = 3840 + 225280 = 229120 pages; GFP_USER reaches Normal.
 * Pass 1: isqrt(16 * 916480) = 3829, pages_min 957: highs DMA 24, Normal
 * 1410.  THP: 2 zones -> 11264 pages, cap (3816 + 223870) / 20 = 11384 ->
 * 45056 KiB, pages_min 11264:
 *   DMA     share 188,   gap max(47, 3)     -> 188/235/282
 *   Normal  share 11075, gap max(2768, 225) -> 11075/13843/16611
 *   HighMem share 11276, min clamp(224, 32, 128) = 128,
 *           gap max(2819, 229)               -> 128/2947/5766
 *   Movable share 3221,  min clamp(64, 32, 128) = 64,
 *           gap max(805, 65)                 -> 64/869/1674
 * Protection (ratios 256, 32, 0, 0):
 *   DMA     (0, 225280/256 = 880, 454656/256 = 1776, 520192/256 = 2032)
 *   Normal  (0, 0, 229376/32 = 7168, 294912/32 = 9216)
 * Reserve: min(3840, 2032 + 282) = 2314, 9216 + 16611 = 25827, 5766, 1674;
 * total 35581.
 */
static void test_highmem_and_movable_from_highmem(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = new_config();
	static const long dma_prot[4] = { 0, 880, 1776, 2032 };
	static const long normal_prot[4] = { 0, 0, 7168, 9216 };
	static const long none[4] = { 0, 0, 0, 0 };

	add(cfg, 0, 2 * GiB, ZPA_RANGE_USABLE, 0);
	add(cfg, 0, 1 * MiB, ZPA_RANGE_RESERVED, 0);
	cfg->dma32_limit = 0;
	cfg->highmem_start = 896 * MiB;
	cfg->zone_device = false;
	cfg->movablecore = 256 * MiB;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->nr_zone_types, 4);
	assert_int_equal(m->t.min_free_kbytes, 45056);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 188, 235, 282);
	expect_zone(m, 0, ZPA_ZONE_NORMAL, 225280, 11075, 13843, 16611);
	expect_zone(m, 0, ZPA_ZONE_HIGHMEM, 229376, 128, 2947, 5766);
	expect_zone(m, 0, ZPA_ZONE_MOVABLE, 65536, 64, 869, 1674);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_prot);
	expect_protection(m, 0, ZPA_ZONE_NORMAL, normal_prot);
	expect_protection(m, 0, ZPA_ZONE_HIGHMEM, none);
	expect_protection(m, 0, ZPA_ZONE_MOVABLE, none);
	assert_int_equal(m->totalreserve_pages, 35581);
	/* Above high in DMA and Normal only: (3840 - 282) + (225280 - 16611). */
	assert_int_equal(nr_free_buffer_pages(m), 3558 + 208669);
	expect_sysctl(m, "lowmem_reserve_ratio", "256\t32\t0\t0\n");
	audit_and_destroy(m);
}

/*
 * A small HighMem zone: RAM [0, 960 MiB), first 1 MiB reserved, no DMA32,
 * lowmem ends at 896 MiB.  DMA 3840, Normal 225280, HighMem 16384, Movable
 * empty.  lowmem and GFP_USER zones are as in the test above, so
 * min_free_kbytes is again 45056 and DMA/Normal get 188/235/282 and
 * 11075/13843/16611.  HighMem: min = clamp(16384/1024 = 16, 32, 128) = 32;
 * share 11264*16384/229120 = 805, gap max(201, 16) -> 32/233/434.
 * Protection: DMA (0, 880, 241664/256 = 944, 944); Normal (0, 0,
 * 16384/32 = 512, 512); HighMem's ratio is 0.
 * The empty Movable zone is highmem too (carved from HighMem), so Linux
 * gives it min = clamp(0, 32, 128) = 32 and gaps of 0: 32/32/32; its
 * reserve is capped at its 0 managed pages.
 * Reserve: min(3840, 944 + 282) = 1226, 512 + 16611 = 17123, 434; 18783.
 */
static void test_highmem_min_floor(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = new_config();
	add(cfg, 0, 960 * MiB, ZPA_RANGE_USABLE, 0);
	add(cfg, 0, 1 * MiB, ZPA_RANGE_RESERVED, 0);
	cfg->dma32_limit = 0;
	cfg->highmem_start = 896 * MiB;
	cfg->zone_device = false;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->nr_zone_types, 4); /* DMA, Normal, HighMem, Movable (empty) */
	assert_int_equal(m->t.min_free_kbytes, 45056);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 188, 235, 282);
	expect_zone(m, 0, ZPA_ZONE_NORMAL, 225280, 11075, 13843, 16611);
	expect_zone(m, 0, ZPA_ZONE_HIGHMEM, 16384, 32, 233, 434);
	expect_zone(m, 0, ZPA_ZONE_MOVABLE, 0, 32, 32, 32);
	expect_protection(m, 0, ZPA_ZONE_DMA, (const long[]){ 0, 880, 944, 944 });
	expect_protection(m, 0, ZPA_ZONE_NORMAL, (const long[]){ 0, 0, 512, 512 });
	expect_protection(m, 0, ZPA_ZONE_HIGHMEM, (const long[]){ 0, 0, 0, 0 });
	assert_int_equal(m->totalreserve_pages, 18783);
	audit_and_destroy(m);
}

/*
 * x86-64, RAM [1 MiB, 2 GiB), movablecore=512M: Movable is carved from
 * DMA32 and, without HighMem, counts as lowmem.
 * Zones: DMA 3840; DMA32 pfn 4096..393215 = 389120; Normal 0; Movable pfn
 * 393216..524287 = 131072.  lowmem = 524032.  GFP_USER zones: DMA, DMA32.
 * Pass 1: isqrt(16 * 4 * 392960) = 5014; highs DMA 15, DMA32 1708.
 * THP: 2 zones -> 11264 pages (cap 391237 / 20 = 19561) = 45056 KiB:
 *   DMA     share 11264*3840/524032 = 82,     gap max(20, 3)    -> 82/102/122
 *   DMA32   share 8364,                       gap max(2091, 389) -> 8364/10455/12546
 *   Movable share 11264*131072/524032 = 2817, gap max(704, 131) -> 2817/3521/4225
 * Protection: DMA (0, 389120/256 = 1520, 1520, 520192/256 = 2032, 2032);
 * DMA32 (0, 0, 0, 131072/256 = 512, 512); Normal manages nothing: 0.
 * Reserve: min(3840, 2032 + 122) = 2154, 512 + 12546 = 13058, 4225; 19437.
 */
static void test_movable_is_lowmem_without_highmem(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = config_flat(2 * GiB);
	static const long dma_prot[5] = { 0, 1520, 1520, 2032, 2032 };
	static const long dma32_prot[5] = { 0, 0, 0, 512, 512 };
	static const long none[5] = { 0, 0, 0, 0, 0 };

	cfg->movablecore = 512 * MiB;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->t.min_free_kbytes, 45056);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 82, 102, 122);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 389120, 8364, 10455, 12546);
	expect_zone(m, 0, ZPA_ZONE_NORMAL, 0, 0, 0, 0);
	expect_zone(m, 0, ZPA_ZONE_MOVABLE, 131072, 2817, 3521, 4225);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_prot);
	expect_protection(m, 0, ZPA_ZONE_DMA32, dma32_prot);
	expect_protection(m, 0, ZPA_ZONE_NORMAL, none);
	assert_int_equal(m->totalreserve_pages, 19437);
	/* Movable is lowmem but beyond GFP_USER: (3840 - 122) + (389120 - 12546). */
	assert_int_equal(nr_free_buffer_pages(m), 3718 + 376574);
	audit_and_destroy(m);
}

/*
 * Two nodes: node 0 RAM [1 MiB, 2 GiB) (DMA 3840, DMA32 520192), node 1
 * [4 GiB, 5 GiB) (Normal 262144).  All three zones count for GFP_USER and
 * for THP: 3 * 5632 = 16896 pages = 67584 KiB (the cap, ~39000, is far).
 * lowmem = 786176:
 *   DMA    share 16896*3840/786176 = 82,    gap max(20, 3)     -> 82/102/122
 *   DMA32  share 11179,                     gap max(2794, 520) -> 11179/13973/16767
 *   Normal share 5633,                      gap max(1408, 262) -> 5633/7041/8449
 * Protection is per node: node 0 DMA 520192/256 = 2032 for j > 0; node 1's
 * DMA and DMA32 manage nothing; its Normal has nothing above.
 * Reserves: node 0 min(3840, 2032 + 122) + 16767 = 18921; node 1 8449;
 * machine 27370.  nr_free_buffer_pages = 3718 + 503425 + 253695 = 760838.
 */
static void test_two_nodes(void **state)
{
	(void)state;
	struct zpa_machine_config *cfg = config_flat(2 * GiB);
	static const long dma_prot[5] = { 0, 2032, 2032, 2032, 2032 };
	static const long none[5] = { 0, 0, 0, 0, 0 };

	add(cfg, 4 * GiB, 5 * GiB, ZPA_RANGE_USABLE, 1);
	cfg->nr_cpus = 2;
	cfg->cpu_node[1] = 1;
	struct zpa_machine *m = create(cfg);

	assert_int_equal(m->t.min_free_kbytes, 67584);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 82, 102, 122);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 520192, 11179, 13973, 16767);
	expect_zone(m, 1, ZPA_ZONE_NORMAL, 262144, 5633, 7041, 8449);
	expect_zone(m, 1, ZPA_ZONE_DMA, 0, 0, 0, 0);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_prot);
	expect_protection(m, 0, ZPA_ZONE_DMA32, none);
	expect_protection(m, 1, ZPA_ZONE_DMA, none);
	expect_protection(m, 1, ZPA_ZONE_DMA32, none);
	expect_protection(m, 1, ZPA_ZONE_NORMAL, none);
	assert_int_equal(m->nodes[0]->totalreserve_pages, 18921);
	assert_int_equal(m->nodes[1]->totalreserve_pages, 8449);
	assert_int_equal(m->totalreserve_pages, 27370);
	assert_int_equal(nr_free_buffer_pages(m), 760838);
	audit_and_destroy(m);
}

/* ------------------------------------------------------------ tunables */

/*
 * The oracle's r-n1-2g-2cpu-wsf writes, in its order, on the 2 GiB machine.
 * min_free_kbytes=131072, pages_min 32768: DMA share 32768*3840/498421 =
 * 252, gap max(63, 3) -> 252/315/378; DMA32 32515, gap max(8128, 494) ->
 * 32515/40643/48771.  Protection unchanged (1931): reserve
 * min(3840, 1931 + 378) + 48771 = 51080.
 * watermark_scale_factor=250: DMA gap max(63, 3840*250/10000 = 96) ->
 * 252/348/444; DMA32 gap max(8128, 49*250 + 4581*250/10000 = 12364) ->
 * 32515/44879/57243; reserve 2375 + 57243 = 59618.
 * lowmem_reserve_ratio=128 128 16 0 0: DMA 494581/128 = 3863; watermarks
 * unchanged; reserve min(3840, 3863 + 444) = 3840, + 57243 = 61083.
 */
static void test_sysctl_writes_recompute(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_2g());
	static const long dma_1931[5] = { 0, 1931, 1931, 1931, 1931 };
	static const long dma_3863[5] = { 0, 3863, 3863, 3863, 3863 };

	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "131072"), 0);
	expect_unlocked(m);
	assert_int_equal(m->t.user_min_free_kbytes, 131072);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 252, 315, 378);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 32515, 40643, 48771);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_1931);
	assert_int_equal(m->totalreserve_pages, 51080);

	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "250"), 0);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 252, 348, 444);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 32515, 44879, 57243);
	assert_int_equal(m->totalreserve_pages, 59618);

	assert_int_equal(zpa_sysctl_set(m, "lowmem_reserve_ratio", "128 128 16 0 0"), 0);
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_3863);
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 252, 348, 444);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 32515, 44879, 57243);
	assert_int_equal(m->totalreserve_pages, 61083);
	assert_int_equal(m->nodes[0]->totalreserve_pages, 61083);

	expect_sysctl(m, "min_free_kbytes", "131072\n");
	expect_sysctl(m, "watermark_scale_factor", "250\n");
	expect_sysctl(m, "lowmem_reserve_ratio", "128\t128\t16\t0\t0\n");
	expect_unlocked(m);
	audit_and_destroy(m);
}

/*
 * lowmem_reserve_ratio: fewer values than zones change only the first ones;
 * values below 1 are stored as 0 (clearing that zone's protection).
 * "64": DMA 494581/64 = 7727.  "-5 300": DMA ratio 0 -> no protection,
 * DMA32 ratio 300 but nothing above it.  Reserve is then just the highs:
 * 128 + 16765 = 16893.
 */
static void test_sysctl_lowmem_reserve_ratio(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_2g());
	static const long dma_7727[5] = { 0, 7727, 7727, 7727, 7727 };
	static const long none[5] = { 0, 0, 0, 0, 0 };

	assert_int_equal(zpa_sysctl_set(m, "lowmem_reserve_ratio", "64"), 0);
	expect_sysctl(m, "lowmem_reserve_ratio", "64\t256\t32\t0\t0\n");
	expect_protection(m, 0, ZPA_ZONE_DMA, dma_7727);
	assert_int_equal(m->totalreserve_pages, 3840 + 16765); /* min(3840, 7727 + 128) */

	assert_int_equal(zpa_sysctl_set(m, "lowmem_reserve_ratio", " -5\t300\n"), 0);
	expect_sysctl(m, "lowmem_reserve_ratio", "0\t300\t32\t0\t0\n");
	expect_protection(m, 0, ZPA_ZONE_DMA, none);
	expect_protection(m, 0, ZPA_ZONE_DMA32, none);
	assert_int_equal(m->totalreserve_pages, 16893);
	/* Watermarks never move with the ratio. */
	expect_zone(m, 0, ZPA_ZONE_DMA, 3840, 86, 107, 128);
	audit_and_destroy(m);
}

/*
 * The per-CPU lists follow every watermark change.  With one CPU on the node
 * and percpu_pagelist_high_fraction 0, Linux's pcp high is the zone's low
 * watermark (split over 1 CPU); with a fraction f it is managed / f.
 * DMA32 of the 2 GiB machine: low 13971; min_free_kbytes=131072 -> 40643;
 * watermark_scale_factor=250 -> 44879; lowmem_reserve_ratio leaves it;
 * fraction 8 -> 494581 / 8 = 61822; fraction 0 -> the low watermark again.
 */
static void test_watermark_changes_reach_pcp(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_2g());
	struct zone *dma32 = zone_of(m, 0, ZPA_ZONE_DMA32);

	assert_int_equal(dma32->pageset_high, 13971);
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "131072"), 0);
	assert_int_equal(dma32->pageset_high, 40643);
	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "250"), 0);
	assert_int_equal(dma32->pageset_high, 44879);
	assert_int_equal(zpa_sysctl_set(m, "lowmem_reserve_ratio", "1 1"), 0);
	assert_int_equal(dma32->pageset_high, 44879);
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "8"), 0);
	assert_int_equal(dma32->pageset_high, 61822);
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "0"), 0);
	assert_int_equal(dma32->pageset_high, 44879);
	audit_and_destroy(m);
}

/* Everything a failed write must leave alone. */
struct snapshot {
	struct zpa_tunables t;
	unsigned long totalreserve, node_reserve;
	unsigned long wmark[ZPA_NR_ZONE_TYPES][NR_WMARK], boost[ZPA_NR_ZONE_TYPES];
	long prot[ZPA_NR_ZONE_TYPES][ZPA_NR_ZONE_TYPES];
	int pcp_high[ZPA_NR_ZONE_TYPES], pcp_batch[ZPA_NR_ZONE_TYPES];
};

static void take_snapshot(struct zpa_machine *m, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->t = m->t;
	s->totalreserve = m->totalreserve_pages;
	s->node_reserve = m->nodes[0]->totalreserve_pages;
	for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
		struct zone *z = &m->nodes[0]->node_zones[zi];
		memcpy(s->wmark[zi], z->_watermark, sizeof(s->wmark[zi]));
		s->boost[zi] = z->watermark_boost;
		memcpy(s->prot[zi], z->lowmem_reserve, sizeof(s->prot[zi]));
		s->pcp_high[zi] = z->pageset_high;
		s->pcp_batch[zi] = z->pageset_batch;
	}
}

/*
 * Bad writes return ZPA_EINVAL (malformed) or ZPA_ERANGE (outside the
 * tunable's range) and change nothing.  The watermarks are first moved away
 * from their boot values (min_free_kbytes 8192) so a failed write that
 * recomputed from defaults would also show.
 */
static void test_sysctl_bad_values_change_nothing(void **state)
{
	(void)state;
	static const struct {
		const char *name, *value;
		int err;
	} bad[] = {
		{ "min_free_kbytes", "-1", ZPA_ERANGE },
		{ "min_free_kbytes", "2147483648", ZPA_ERANGE },
		{ "min_free_kbytes", "99999999999999999999999", ZPA_ERANGE },
		{ "min_free_kbytes", "", ZPA_EINVAL },
		{ "min_free_kbytes", " \n", ZPA_EINVAL },
		{ "min_free_kbytes", "12k", ZPA_EINVAL },
		{ "min_free_kbytes", "0x100", ZPA_EINVAL },
		{ "min_free_kbytes", "+5", ZPA_EINVAL },
		{ "min_free_kbytes", "1 2", ZPA_EINVAL },
		{ "min_free_kbytes", "--1", ZPA_EINVAL },
		{ "watermark_scale_factor", "0", ZPA_ERANGE },
		{ "watermark_scale_factor", "3001", ZPA_ERANGE },
		{ "watermark_scale_factor", "1.5", ZPA_EINVAL },
		{ "watermark_boost_factor", "-1", ZPA_ERANGE },
		{ "percpu_pagelist_high_fraction", "7", ZPA_ERANGE },
		{ "percpu_pagelist_high_fraction", "1", ZPA_ERANGE },
		{ "percpu_pagelist_high_fraction", "-8", ZPA_ERANGE },
		{ "lowmem_reserve_ratio", "1 2 3 4 5 6", ZPA_EINVAL },
		{ "lowmem_reserve_ratio", "1 2 x", ZPA_EINVAL },
		{ "lowmem_reserve_ratio", "1 4294967296", ZPA_ERANGE },
		{ "lowmem_reserve_ratio", "", ZPA_EINVAL },
	};
	struct zpa_machine *m = create(config_2g());
	struct snapshot before, after;

	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "8192"), 0);
	take_snapshot(m, &before);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = zpa_sysctl_set(m, bad[i].name, bad[i].value);
		if (rc != bad[i].err)
			print_message("%s=\"%s\": %d, expected %d\n", bad[i].name, bad[i].value, rc, bad[i].err);
		assert_int_equal(rc, bad[i].err);
		take_snapshot(m, &after);
		assert_memory_equal(&before, &after, sizeof(before));
		expect_unlocked(m);
	}
	assert_int_equal(zpa_sysctl_set(m, "no_such_tunable", "1"), ZPA_ENOENT);
	assert_int_equal(zpa_sysctl_set(m, NULL, "1"), ZPA_ENOENT);
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", NULL), ZPA_EINVAL);
	take_snapshot(m, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* The edges themselves are accepted. */
	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "3000"), 0);
	assert_int_equal(zpa_sysctl_set(m, "watermark_scale_factor", "1"), 0);
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "8"), 0);
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "0"), 0);
	assert_int_equal(zpa_sysctl_set(m, "watermark_boost_factor", "0"), 0);
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "0"), 0);
	/* min_free_kbytes 0: every lowmem min is 0, the gaps come from the scale. */
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 0, 49, 98); /* 494581 * 1 / 10000 */
	audit_and_destroy(m);
}

/*
 * get -> set -> get returns the same text for every tunable; set normalises
 * whitespace and leading zeros; get has snprintf semantics.
 */
static void test_sysctl_round_trip_and_get(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_2g());
	const char *const *names = zpa_sysctl_names();
	char a[128], b[128];
	size_t count = 0;

	for (; names[count]; count++) {
		int n = zpa_sysctl_get(m, names[count], a, sizeof(a));
		assert_true(n > 0);
		assert_int_equal(a[n - 1], '\n');
		assert_int_equal(zpa_sysctl_set(m, names[count], a), 0);
		assert_int_equal(zpa_sysctl_get(m, names[count], b, sizeof(b)), n);
		assert_string_equal(a, b);
	}
	assert_int_equal(count, 10);
	/* Sorted like ls /proc/sys/vm, and exactly Linux's names. */
	static const char *const want[] = { "compaction_proactiveness", "extfrag_threshold", "lowmem_reserve_ratio",
					    "min_free_kbytes", "oom_kill_allocating_task",
					    "percpu_pagelist_high_fraction", "swappiness", "vfs_cache_pressure",
					    "watermark_boost_factor", "watermark_scale_factor" };
	for (size_t i = 0; i < count; i++)
		assert_string_equal(names[i], want[i]);
	expect_sysctl(m, "swappiness", "60\n");
	expect_sysctl(m, "compaction_proactiveness", "20\n");
	expect_sysctl(m, "extfrag_threshold", "500\n");
	assert_int_equal(zpa_sysctl_set(m, "swappiness", "201"), ZPA_ERANGE);
	assert_int_equal(zpa_sysctl_set(m, "compaction_proactiveness", "101"), ZPA_ERANGE);
	expect_sysctl(m, "swappiness", "60\n");

	/* Boot defaults. */
	expect_sysctl(m, "watermark_scale_factor", "10\n");
	expect_sysctl(m, "watermark_boost_factor", "15000\n");
	expect_sysctl(m, "percpu_pagelist_high_fraction", "0\n");

	/* Round trip of written values, normalised. */
	assert_int_equal(zpa_sysctl_set(m, "watermark_boost_factor", "  0012000\n"), 0);
	expect_sysctl(m, "watermark_boost_factor", "12000\n");
	assert_int_equal(zpa_sysctl_set(m, "percpu_pagelist_high_fraction", "16"), 0);
	expect_sysctl(m, "percpu_pagelist_high_fraction", "16\n");
	assert_int_equal(m->t.percpu_pagelist_high_fraction, 16);
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "2147483647"), 0);
	expect_sysctl(m, "min_free_kbytes", "2147483647\n");
	assert_int_equal(zpa_sysctl_set(m, "min_free_kbytes", "45056"), 0);
	expect_zone(m, 0, ZPA_ZONE_DMA32, 494581, 11177, 13971, 16765);

	/* snprintf semantics and errors. */
	assert_int_equal(zpa_sysctl_get(m, "lowmem_reserve_ratio", NULL, 0), 15);
	memset(a, 'x', sizeof(a));
	assert_int_equal(zpa_sysctl_get(m, "lowmem_reserve_ratio", a, 5), 15);
	assert_string_equal(a, "256\t");
	assert_int_equal(a[5], 'x');
	assert_int_equal(zpa_sysctl_get(m, "nope", a, sizeof(a)), ZPA_ENOENT);
	assert_int_equal(zpa_sysctl_get(m, NULL, a, sizeof(a)), ZPA_ENOENT);
	audit_and_destroy(m);
}

/* Writers and readers in parallel: no deadlock, and the last write wins. */
struct race_arg {
	struct zpa_machine *m;
	int id;
};

static void *race_thread(void *p)
{
	struct race_arg *a = p;
	char buf[64];

	for (int i = 0; i < 2000; i++) {
		switch (a->id) {
		case 0:
			zpa_sysctl_set(a->m, "watermark_scale_factor", i & 1 ? "250" : "10");
			break;
		case 1:
			zpa_sysctl_set(a->m, "lowmem_reserve_ratio", i & 1 ? "128 128" : "256 256");
			break;
		case 2:
			zpa_sysctl_set(a->m, "min_free_kbytes", i & 1 ? "131072" : "45056");
			break;
		default:
			zpa_sysctl_get(a->m, "lowmem_reserve_ratio", buf, sizeof(buf));
			break;
		}
	}
	return NULL;
}

static void test_sysctl_concurrent_writers(void **state)
{
	(void)state;
	struct zpa_machine *m = create(config_flat(600 * MiB));
	pthread_t th[4];
	struct race_arg args[4];

	for (int i = 0; i < 4; i++) {
		args[i] = (struct race_arg){ m, i };
		assert_int_equal(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	expect_unlocked(m);
	/* Each thread's last iteration (i = 1999) wrote the odd value. */
	expect_sysctl(m, "watermark_scale_factor", "250\n");
	expect_sysctl(m, "min_free_kbytes", "131072\n");
	expect_sysctl(m, "lowmem_reserve_ratio", "128\t128\t32\t0\t0\n");
	/* Same state as writing those three values on a fresh machine. */
	struct zpa_machine *fresh = create(config_flat(600 * MiB));
	assert_int_equal(zpa_sysctl_set(fresh, "min_free_kbytes", "131072"), 0);
	assert_int_equal(zpa_sysctl_set(fresh, "watermark_scale_factor", "250"), 0);
	assert_int_equal(zpa_sysctl_set(fresh, "lowmem_reserve_ratio", "128 128"), 0);
	struct snapshot x, y;
	take_snapshot(m, &x);
	take_snapshot(fresh, &y);
	assert_memory_equal(&x, &y, sizeof(x));
	audit_and_destroy(fresh);
	audit_and_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_2g_thp),
		cmocka_unit_test(test_boot_2g_thp_off_two_square_roots),
		cmocka_unit_test(test_boot_thp_capped_at_5_percent),
		cmocka_unit_test(test_boot_small_machine_has_no_thp),
		cmocka_unit_test(test_boot_square_root_clamps),
		cmocka_unit_test(test_boot_user_min_free_kbytes),
		cmocka_unit_test(test_highmem_and_movable_from_highmem),
		cmocka_unit_test(test_highmem_min_floor),
		cmocka_unit_test(test_movable_is_lowmem_without_highmem),
		cmocka_unit_test(test_two_nodes),
		cmocka_unit_test(test_sysctl_writes_recompute),
		cmocka_unit_test(test_sysctl_lowmem_reserve_ratio),
		cmocka_unit_test(test_watermark_changes_reach_pcp),
		cmocka_unit_test(test_sysctl_bad_values_change_nothing),
		cmocka_unit_test(test_sysctl_round_trip_and_get),
		cmocka_unit_test(test_sysctl_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
