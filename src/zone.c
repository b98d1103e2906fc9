/*
 * zone.c - per-zone watermarks, lowmem protection, reserve totals and the vm
 * tunables that drive them (Linux 6.1's min_free_kbytes family in
 * mm/page_alloc.c, plus khugepaged's min_free_kbytes recommendation).
 *
 * Formulas (all divisions truncate; products are 64-bit):
 *   pages_min     = min_free_kbytes converted to pages.
 *   lowmem_pages  = managed pages of every zone that is not highmem.  Highmem
 *                   is the HighMem zone, and the Movable zone when Movable
 *                   is carved out of HighMem (Linux's is_highmem_idx()).
 *   share         = pages_min * managed / lowmem_pages        (per zone)
 *   min           = share, or for highmem clamp(managed / 1024, 32, 128)
 *   gap           = max(share / 4, managed * watermark_scale_factor / 10000)
 *   low = min + gap, high = low + gap, boost = 0.
 *   lowmem_reserve[j] of zone i, j > i, same node
 *                 = (managed of zones i+1..j) / lowmem_reserve_ratio[i],
 *                   0 when the ratio is 0 or zone i manages no page.
 *   zone reserve  = min(managed, high + max_j lowmem_reserve[j]);
 *                   pgdat->totalreserve_pages and m->totalreserve_pages sum it.
 *
 * Boot (init_per_zone_wmark_min) replays Linux's initcall order: the square
 * root default from every lowmem page (watermarks still zero), watermarks,
 * protection; then hugepage_init(): machines with 512 MiB or more run
 * khugepaged's recommendation (THP on) or a second square-root pass that
 * now sees the first pass's high watermarks (THP off), and recompute the
 * watermarks.  Smaller machines get THP switched off, as Linux does.
 *
 * Every vm tunable this file owns lives in one table (ZONE_TUNABLES) with its
 * default, range, unit and handler; zpa_sysctl_set() parses strictly, checks
 * every value before storing any, and runs the handler under m->setup_lock
 * and every zone lock (taken in node, then zone index order).  When the
 * watermarks or percpu_pagelist_high_fraction changed, the per-CPU lists'
 * high and batch are recomputed (zone_pcp_update_all) after the zone locks
 * are dropped, still under m->setup_lock: pageset locks come before zone
 * locks.
 *
 * Invariants after any recompute, for every zone:
 *   min <= low <= high; watermark_boost == 0;
 *   lowmem_reserve[j] == 0 for j <= idx and never decreases as j grows;
 *   m->totalreserve_pages == sum of pgdat->totalreserve_pages.
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>

#include "internal.h"

#define MIN_PERCPU_PAGELIST_HIGH_FRACTION 8
#define MIN_FREE_KBYTES_FLOOR             128L     /* boot default's clamp, KiB */
#define MIN_FREE_KBYTES_CEILING           262144L
#define THP_MIN_TOTALRAM_BYTES            (512ULL << 20) /* hugepage_init()'s cut-off */

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

static unsigned long kbytes_to_pages(const struct zpa_machine *m, unsigned long kb)
{
	return m->page_shift >= 10 ? kb >> (m->page_shift - 10) : kb << (10 - m->page_shift);
}

static unsigned long pages_to_kbytes(const struct zpa_machine *m, unsigned long pages)
{
	return m->page_shift >= 10 ? pages << (m->page_shift - 10) : pages >> (10 - m->page_shift);
}

/* The zone at index zi of node nid, or NULL for a node that does not exist. */
static struct zone *node_zone(const struct zpa_machine *m, unsigned nid, unsigned zi)
{
	pg_data_t *pgdat = m->nodes[nid];
	return pgdat ? &pgdat->node_zones[zi] : NULL;
}

/* Iterate every zone of the machine (populated or not) in node, zone order. */
#define for_each_machine_zone(m, nid, zi, zone)                                  \
	for ((nid) = 0; (nid) < (m)->nr_nodes; (nid)++)                          \
		for ((zi) = 0; (zi) < (m)->nr_zone_types; (zi)++)                \
			if (((zone) = node_zone((m), (nid), (zi))) == NULL) {    \
			} else

static void lock_all_zones(struct zpa_machine *m)
{
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone)
		zpa_spin_lock(&zone->lock);
}

static void unlock_all_zones(struct zpa_machine *m)
{
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone)
		zpa_spin_unlock(&zone->lock);
}

static void assert_all_zones_locked(struct zpa_machine *m)
{
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone)
		assert_zone_locked(m, zone);
}

/* floor(sqrt(x)), bit by bit (the digit-by-digit method in base 4). */
static uint64_t int_sqrt64(uint64_t x)
{
	uint64_t root = 0, bit = 1ULL << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= root + bit) {
			x -= root + bit;
			root = (root >> 1) + bit;
		} else {
			root >>= 1;
		}
		bit >>= 2;
	}
	return root;
}

/* x * n / d without overflowing x * n when x is large (Linux's mult_frac). */
static uint64_t mult_frac_u64(uint64_t x, uint64_t n, uint64_t d)
{
	return (x / d) * n + (x % d) * n / d;
}

/*
 * True when ZONE_MOVABLE is taken from ZONE_HIGHMEM, which is when the
 * machine has a HighMem zone type and memory above highmem_start: Linux's
 * movable_zone is then ZONE_HIGHMEM and is_highmem_idx(ZONE_MOVABLE) holds.
 */
static bool movable_is_highmem(const struct zpa_machine *m)
{
	unsigned long max_pfn = 0, low_end;

	if (m->zone_idx_of[ZPA_ZONE_HIGHMEM] < 0 || !m->cfg.highmem_start)
		return false;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const pg_data_t *pgdat = m->nodes[nid];
		if (pgdat && pgdat->node_spanned_pages &&
		    pgdat->node_start_pfn + pgdat->node_spanned_pages > max_pfn)
			max_pfn = pgdat->node_start_pfn + pgdat->node_spanned_pages;
	}
	low_end = (unsigned long)(m->cfg.highmem_start >> m->page_shift);
	return max_pfn > low_end;
}

/* Linux's is_highmem(): zone index zi holds pages the kernel cannot map. */
static bool zone_idx_is_highmem(const struct zpa_machine *m, unsigned zi, bool movable_highmem)
{
	int type = m->zone_type_of[zi];
	return type == ZPA_ZONE_HIGHMEM || (type == ZPA_ZONE_MOVABLE && movable_highmem);
}

static unsigned long total_managed_pages(const struct zpa_machine *m)
{
	unsigned long sum = 0;
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone)
		sum += zone->managed_pages;
	return sum;
}

/* ---------------------------------------------------------------------- */
/* Watermarks, protection, totals                                          */

/*
 * nr_free_buffer_pages(): pages above the high watermark in every zone a
 * GFP_USER request may use (zone index <= gfp_zone(GFP_USER)), over all
 * nodes, each zone counted once: sum of managed - high where positive.
 * Reads the watermarks as they stand; the caller serialises with setup.
 */
unsigned long nr_free_buffer_pages(const struct zpa_machine *m)
{
	int highest = gfp_zone(m, ZPA_GFP_USER);
	unsigned long sum = 0;
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone) {
		unsigned long high = high_wmark_pages(zone);
		if ((int)zi > highest)
			continue;
		if (zone->managed_pages > high)
			sum += zone->managed_pages - high;
	}
	return sum;
}

/*
 * calculate_totalreserve_pages(): each zone's reserve is its largest
 * lowmem_reserve entry plus its high watermark, at most its managed pages;
 * store the sums per node and for the machine.  Every zone lock held.
 */
void calculate_totalreserve_pages(struct zpa_machine *m)
{
	unsigned long total = 0;

	assert_all_zones_locked(m);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat)
			continue;
		pgdat->totalreserve_pages = 0;
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *zone = &pgdat->node_zones[zi];
			unsigned long reserve;
			long largest = 0;

			for (unsigned j = zi; j < m->nr_zone_types; j++)
				if (zone->lowmem_reserve[j] > largest)
					largest = zone->lowmem_reserve[j];
			reserve = (unsigned long)largest + high_wmark_pages(zone);
			if (reserve > zone->managed_pages)
				reserve = zone->managed_pages;
			pgdat->totalreserve_pages += reserve;
			total += reserve;
		}
	}
	m->totalreserve_pages = total;
}

/*
 * setup_per_zone_lowmem_reserve(): for every node and every zone index i but
 * the last, lowmem_reserve[j] (j > i) becomes the managed pages of the zones
 * i+1..j of that node divided by lowmem_reserve_ratio[i], or 0 when that
 * ratio is 0 or zone i manages nothing.  Entries j <= i are left as they are
 * (zero).  Ends with calculate_totalreserve_pages().  Every zone lock held.
 */
void setup_per_zone_lowmem_reserve(struct zpa_machine *m)
{
	assert_all_zones_locked(m);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat)
			continue;
		for (unsigned i = 0; i + 1 < m->nr_zone_types; i++) {
			struct zone *zone = &pgdat->node_zones[i];
			long ratio = m->t.lowmem_reserve_ratio[i];
			bool clear = ratio <= 0 || !managed_zone(zone);
			unsigned long above = 0;

			for (unsigned j = i + 1; j < m->nr_zone_types; j++) {
				above += pgdat->node_zones[j].managed_pages;
				WRITE_ONCE(zone->lowmem_reserve[j], clear ? 0 : (long)(above / (unsigned long)ratio));
			}
		}
	}
	calculate_totalreserve_pages(m);
}

/*
 * setup_per_zone_wmarks(): min/low/high of every zone from min_free_kbytes
 * and watermark_scale_factor (formulas at the top); resets every boost.  Ends
 * with calculate_totalreserve_pages().  Every zone lock held.  The per-CPU
 * lists derive high from the low watermark: the caller runs
 * zone_pcp_update_all() once it has dropped the zone locks (Linux's
 * setup_per_zone_wmarks() does the same after its locked part).
 */
void setup_per_zone_wmarks(struct zpa_machine *m)
{
	uint64_t pages_min = kbytes_to_pages(m, (unsigned long)m->t.min_free_kbytes);
	uint64_t scale = (uint64_t)m->t.watermark_scale_factor;
	bool movable_highmem = movable_is_highmem(m);
	unsigned long lowmem_pages = 0;
	unsigned nid, zi;
	struct zone *zone;

	assert_all_zones_locked(m);
	for_each_machine_zone(m, nid, zi, zone)
		if (!zone_idx_is_highmem(m, zi, movable_highmem))
			lowmem_pages += zone->managed_pages;

	for_each_machine_zone(m, nid, zi, zone) {
		uint64_t managed = zone->managed_pages;
		uint64_t share = lowmem_pages ? pages_min * managed / lowmem_pages : 0;
		uint64_t gap, by_scale;

		if (zone_idx_is_highmem(m, zi, movable_highmem)) {
			/* Few callers may dip into highmem reserves: keep its min small. */
			uint64_t small = managed / 1024;
			if (small < SWAP_CLUSTER_MAX)
				small = SWAP_CLUSTER_MAX;
			if (small > 128)
				small = 128;
			WRITE_ONCE(zone->_watermark[WMARK_MIN], (unsigned long)small);
		} else {
			WRITE_ONCE(zone->_watermark[WMARK_MIN], (unsigned long)share);
		}

		by_scale = mult_frac_u64(managed, scale, 10000);
		gap = share >> 2 > by_scale ? share >> 2 : by_scale;
		/* (read without the lock by the allocation paths) */
		WRITE_ONCE(zone->watermark_boost, 0);
		WRITE_ONCE(zone->_watermark[WMARK_LOW], zone->_watermark[WMARK_MIN] + (unsigned long)gap);
		WRITE_ONCE(zone->_watermark[WMARK_HIGH], zone->_watermark[WMARK_LOW] + (unsigned long)gap);
	}
	calculate_totalreserve_pages(m);
}

/*
 * calculate_min_free_kbytes(): the square-root default, 4 * sqrt(lowmem KiB)
 * clamped to [128, 262144] KiB, from the pages above the current high
 * watermarks.  A user value that is at least as large is kept.
 */
static void calculate_min_free_kbytes(struct zpa_machine *m)
{
	uint64_t lowmem_kbytes = pages_to_kbytes(m, nr_free_buffer_pages(m));
	long computed = (long)int_sqrt64(lowmem_kbytes * 16);

	if (computed > m->t.user_min_free_kbytes) {
		if (computed < MIN_FREE_KBYTES_FLOOR)
			computed = MIN_FREE_KBYTES_FLOOR;
		if (computed > MIN_FREE_KBYTES_CEILING)
			computed = MIN_FREE_KBYTES_CEILING;
		m->t.min_free_kbytes = computed;
	} else {
		zpa_log(m, ZPA_LOG_WARN, "min_free_kbytes: keeping the user's %ld kB over the computed %ld kB",
			m->t.user_min_free_kbytes, computed);
	}
}

/*
 * set_recommended_min_free_kbytes() (khugepaged, THP on): two free
 * pageblocks per zone a GFP_USER request may use, plus MIGRATE_PCPTYPES^2
 * pageblocks per such zone so that each mobility type has one to fall back
 * to, counting populated zones of every node; at most 5% of
 * nr_free_buffer_pages().  Raises min_free_kbytes, never lowers it.
 */
static void set_recommended_min_free_kbytes(struct zpa_machine *m)
{
	int highest = gfp_zone(m, ZPA_GFP_USER);
	unsigned long nr_zones = 0, recommended;
	unsigned nid, zi;
	struct zone *zone;

	for_each_machine_zone(m, nid, zi, zone)
		if (populated_zone(zone) && (int)zi <= highest)
			nr_zones++;

	recommended = m->pageblock_nr_pages * nr_zones * 2 +
		      m->pageblock_nr_pages * nr_zones * ZPA_MIGRATE_PCPTYPES * ZPA_MIGRATE_PCPTYPES;
	if (recommended > nr_free_buffer_pages(m) / 20)
		recommended = nr_free_buffer_pages(m) / 20;
	recommended = pages_to_kbytes(m, recommended);

	if ((long)recommended > m->t.min_free_kbytes) {
		if (m->t.user_min_free_kbytes >= 0)
			zpa_log(m, ZPA_LOG_INFO, "min_free_kbytes raised from %ld to %lu kB for huge pages",
				m->t.min_free_kbytes, recommended);
		m->t.min_free_kbytes = (long)recommended;
	}
}

/*
 * init_per_zone_wmark_min(): the boot-time setup of a new machine (Linux's
 * init_per_zone_wmark_min() postcore initcall followed by hugepage_init()).
 *   1. min_free_kbytes: the square-root default (all watermarks still 0);
 *   2. watermarks, then lowmem protection, each ending with the totals;
 *   3. hugepage_init(): below 512 MiB of managed memory THP is switched off
 *      and nothing more happens; otherwise, with THP on, khugepaged's
 *      recommendation may raise min_free_kbytes, and with THP off the
 *      square-root default is recomputed against the new high watermarks;
 *      either way the watermarks are computed again.
 * A min_free_kbytes set in the config (user_min_free_kbytes >= 0) acts as a
 * write of the sysctl after boot: it replaces steps 1 and 3's value.
 * Finally the per-CPU lists follow the new watermarks (a no-op before
 * pcp_init()).  Takes m->setup_lock and every zone lock; call with none held.
 */
void init_per_zone_wmark_min(struct zpa_machine *m)
{
	bool user_set = m->t.user_min_free_kbytes >= 0;
	bool thp_runs;

	zpa_spin_lock(&m->setup_lock);
	lock_all_zones(m);

	thp_runs = pages_to_kbytes(m, total_managed_pages(m)) >= (THP_MIN_TOTALRAM_BYTES >> 10);
	if (!thp_runs)
		m->t.thp_enabled = 0;

	if (user_set)
		m->t.min_free_kbytes = m->t.user_min_free_kbytes;
	else
		calculate_min_free_kbytes(m);
	setup_per_zone_wmarks(m);
	setup_per_zone_lowmem_reserve(m);

	if (thp_runs && !user_set) {
		if (m->t.thp_enabled)
			set_recommended_min_free_kbytes(m);
		else
			calculate_min_free_kbytes(m);
		setup_per_zone_wmarks(m);
	}

	unlock_all_zones(m);
	zone_pcp_update_all(m); /* nothing to update before pcp_init() */
	zpa_spin_unlock(&m->setup_lock);
}

/* ---------------------------------------------------------------------- */
/* Tunables                                                                */

/*
 * A handler runs with m->setup_lock and every zone lock held, after the
 * values passed the table's range check.  It may refuse them (returning a
 * ZPA_E* code before changing anything), else stores them, recomputes, and
 * returns 0 or UPDATE_PCP when the per-CPU lists must follow.
 */
#define UPDATE_PCP 1
typedef int (*tunable_handler_fn)(struct zpa_machine *m, const long *vals, unsigned n);

static int min_free_kbytes_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n);
static int watermark_scale_factor_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n);
static int watermark_boost_factor_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n);
static int lowmem_reserve_ratio_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n);
static int percpu_pagelist_high_fraction_sysctl_handler(struct zpa_machine *m, const long *vals,
							 unsigned n);
/* Tunables read where they are used: storing them is all there is to do. */
#define STORE_ONLY_HANDLER(name)                                                                 \
	static int name##_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n)   \
	{                                                                                        \
		(void)n;                                                                         \
		WRITE_ONCE(m->t.name, vals[0]);                                                  \
		return 0;                                                                        \
	}
/* A nonzero value also starts a proactive compaction round on every node (compaction.c). */
static int compaction_proactiveness_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n)
{
	(void)n;
	WRITE_ONCE(m->t.compaction_proactiveness, vals[0]);
	kcompactd_proactive_trigger(m);
	return 0;
}
STORE_ONLY_HANDLER(extfrag_threshold)
STORE_ONLY_HANDLER(oom_kill_allocating_task)
STORE_ONLY_HANDLER(swappiness)
STORE_ONLY_HANDLER(vfs_cache_pressure)

#define TUNABLE_DEFAULT_COMPUTED (-1L) /* computed at boot / per zone type */

/*
 * Every tunable: X(name, default, min, max, per_zone, unit).  The name is
 * the /proc/sys/vm file and the struct zpa_tunables field; the handler is
 * name##_sysctl_handler.  Sorted by name, as /proc/sys/vm lists them.
 * lowmem_reserve_ratio's default is per zone type: DMA 256, DMA32 256,
 * Normal 32, HighMem/Movable/Device 0 (Linux 6.1's defaults).  Its range is
 * any int: Linux turns values below 1 into 0.
 */
#define ZONE_TUNABLES(X)                                                                       \
	X(compaction_proactiveness, 20, 0, 100, false,                                          \
	  "proactive compaction's aggressiveness (fragmentation score target 100 - n)")       \
	X(extfrag_threshold, 500, 0, 1000, false,                                               \
	  "compaction is skipped below this fragmentation index (thousandths)")                \
	X(lowmem_reserve_ratio, TUNABLE_DEFAULT_COMPUTED, INT_MIN, INT_MAX, true,               \
	  "1/n of the managed pages of the zones above kept back in each zone")                \
	X(min_free_kbytes, TUNABLE_DEFAULT_COMPUTED, 0, INT_MAX, false,                         \
	  "KiB kept free machine-wide, shared by lowmem zones by size")                        \
	X(oom_kill_allocating_task, 0, 0, 1, false,                                             \
	  "1: the OOM killer kills the task that failed to allocate")                          \
	X(percpu_pagelist_high_fraction, 0, 0, INT_MAX, false,                                  \
	  "per-CPU list high = managed / n (0: Linux's automatic high; else >= 8)")             \
	X(swappiness, 60, 0, 200, false,                                                        \
	  "relative cost of swapping anonymous pages vs dropping file pages (0..200)")         \
	X(vfs_cache_pressure, 100, 0, INT_MAX, false,                                           \
	  "shrinker pressure, percent of the default")                                         \
	X(watermark_boost_factor, 15000, 0, INT_MAX, false,                                     \
	  "boost after fragmentation, in 1/10000 of the high watermark")                       \
	X(watermark_scale_factor, 10, 1, 3000, false,                                           \
	  "low-min and high-low gaps, in 1/10000 of the zone's managed pages")

struct zone_tunable {
	const char *name;
	long def;
	long min, max;
	bool per_zone;          /* one value per zone index of the machine */
	const char *unit;
	size_t offset;          /* of the long (or long array) in struct zpa_tunables */
	tunable_handler_fn handler;
};

#define TUNABLE_ENTRY(n, d, lo, hi, pz, u) \
	{ #n, d, lo, hi, pz, u, offsetof(struct zpa_tunables, n), n##_sysctl_handler },
#define TUNABLE_NAME(n, d, lo, hi, pz, u) #n,

static const struct zone_tunable zone_tunables[] = { ZONE_TUNABLES(TUNABLE_ENTRY) };
static const char *const zone_tunable_names[] = { ZONE_TUNABLES(TUNABLE_NAME) NULL };

#define NR_ZONE_TUNABLES (sizeof(zone_tunables) / sizeof(zone_tunables[0]))

static int min_free_kbytes_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n)
{
	(void)n;
	m->t.min_free_kbytes = vals[0];
	m->t.user_min_free_kbytes = vals[0];
	setup_per_zone_wmarks(m);
	return UPDATE_PCP;
}

static int watermark_scale_factor_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n)
{
	(void)n;
	m->t.watermark_scale_factor = vals[0];
	setup_per_zone_wmarks(m);
	return UPDATE_PCP;
}

/* Read when a fallback steals a pageblock; nothing to recompute now. */
STORE_ONLY_HANDLER(watermark_boost_factor)

/* The first n ratios are replaced (fewer than one per zone is allowed, as in
 * Linux); any ratio below 1 is stored as 0; protection is recomputed. */
static int lowmem_reserve_ratio_sysctl_handler(struct zpa_machine *m, const long *vals, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		m->t.lowmem_reserve_ratio[i] = vals[i];
	for (unsigned i = 0; i < m->nr_zone_types; i++)
		if (m->t.lowmem_reserve_ratio[i] < 1)
			m->t.lowmem_reserve_ratio[i] = 0;
	setup_per_zone_lowmem_reserve(m);
	return 0;
}

/* 0 or at least 8; per-CPU high becomes managed / fraction (0: from the low
 * watermark).  An unchanged value leaves the lists alone, as in Linux. */
static int percpu_pagelist_high_fraction_sysctl_handler(struct zpa_machine *m, const long *vals,
							 unsigned n)
{
	(void)n;
	if (vals[0] && vals[0] < MIN_PERCPU_PAGELIST_HIGH_FRACTION)
		return ZPA_ERANGE;
	if (vals[0] == m->t.percpu_pagelist_high_fraction)
		return 0;
	m->t.percpu_pagelist_high_fraction = vals[0];
	return UPDATE_PCP;
}

static const struct zone_tunable *find_tunable(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NR_ZONE_TUNABLES; i++)
		if (!strcmp(zone_tunables[i].name, name))
			return &zone_tunables[i];
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Parse whitespace-separated decimal integers ("-"? digits) into vals[0..max).
 * Returns the count, ZPA_EINVAL for malformed text, no value or more than
 * max values, or ZPA_ERANGE for a number outside int's range.
 */
static int parse_values(const char *s, long *vals, unsigned max)
{
	unsigned n = 0;
	bool out_of_range = false;

	for (;;) {
		bool neg = false;
		unsigned long long mag = 0;

		while (is_space(*s))
			s++;
		if (!*s)
			break;
		if (*s == '-') {
			neg = true;
			s++;
		}
		if (*s < '0' || *s > '9')
			return ZPA_EINVAL;
		while (*s >= '0' && *s <= '9') {
			if (mag <= (unsigned long long)INT_MAX + 1)
				mag = mag * 10 + (unsigned long long)(*s - '0');
			s++;
		}
		if (*s && !is_space(*s))
			return ZPA_EINVAL;
		if (n == max)
			return ZPA_EINVAL;
		if (neg ? mag > (unsigned long long)INT_MAX + 1 : mag > (unsigned long long)INT_MAX) {
			out_of_range = true;
			mag = 0;
		}
		vals[n++] = neg ? -(long long)mag : (long long)mag;
	}
	if (!n)
		return ZPA_EINVAL;
	return out_of_range ? ZPA_ERANGE : (int)n;
}

int zpa_sysctl_set(struct zpa_machine *m, const char *name, const char *value)
{
	const struct zone_tunable *tn;
	long vals[ZPA_NR_ZONE_TYPES];
	int n, err;

	if (!m || !value)
		return ZPA_EINVAL;
	tn = find_tunable(name);
	if (!tn)
		return ZPA_ENOENT;
	n = parse_values(value, vals, tn->per_zone ? m->nr_zone_types : 1);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (vals[i] < tn->min || vals[i] > tn->max)
			return ZPA_ERANGE;

	zpa_spin_lock(&m->setup_lock);
	lock_all_zones(m);
	err = tn->handler(m, vals, (unsigned)n);
	unlock_all_zones(m);
	if (err == UPDATE_PCP)
		zone_pcp_update_all(m);
	zpa_spin_unlock(&m->setup_lock);
	return err < 0 ? err : 0;
}

/*
 * Prints like /proc/sys/vm: "value\n", or for per-zone tunables one value per
 * zone index separated by tabs (proc_dointvec's layout).
 */
int zpa_sysctl_get(const struct zpa_machine *m, const char *name, char *buf, size_t size)
{
	const struct zone_tunable *tn = find_tunable(name);
	struct zpa_machine *mm = (struct zpa_machine *)m; /* setup_lock only */
	struct zpa_buf b = { buf, size, 0 };
	const long *field;

	if (!m)
		return ZPA_EINVAL;
	if (!tn)
		return ZPA_ENOENT;
	if (buf && size)
		buf[0] = '\0';
	field = (const long *)(const void *)((const char *)&m->t + tn->offset);

	zpa_spin_lock(&mm->setup_lock);
	if (tn->per_zone) {
		for (unsigned i = 0; i < m->nr_zone_types; i++)
			zpa_bprintf(&b, "%s%ld", i ? "\t" : "", field[i]);
		zpa_bprintf(&b, "\n");
	} else {
		zpa_bprintf(&b, "%ld\n", field[0]);
	}
	zpa_spin_unlock(&mm->setup_lock);
	return b.len > INT_MAX ? INT_MAX : (int)b.len;
}

const char *const *zpa_sysctl_names(void)
{
	return zone_tunable_names;
}
