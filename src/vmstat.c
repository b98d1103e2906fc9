/*
 * vmstat.c - counter names and the /proc text views of a machine:
 * zoneinfo, buddyinfo, pagetypeinfo and vmstat, in Linux 6.1's layout
 * (mm/vmstat.c), plus zpa_vmstat() to read one vmstat line by name; and
 * the NUMA views (see docs/NUMA.md):
 *   zonelists        the boot log's "Fallback order for Node N: " lines, then
 *                    (zpa's own, after a blank line) every node's zonelists;
 *   numastat         numastat(8)'s default table: one column per node;
 *   node/N/numastat  /sys/devices/system/node/nodeN/numastat.
 * and the fragmentation views (debugfs extfrag/, formulas in fragmentation.c
 * and zpa/frag.h): extfrag_index and unusable_index.
 *
 * Every view is printed into a caller buffer through struct zpa_buf, which
 * behaves like one long snprintf: it writes what fits, keeps the buffer
 * NUL-terminated and counts the full length, so a caller can size a buffer
 * from a first call with size 0.
 *
 * Fidelity rules (what is printed and why):
 *   - Field names, order, printf widths and spacing are Linux 6.1's, so a
 *     tool that parses the kernel's files parses zpa's.
 *   - Only state zpa models is printed.  zoneinfo leaves out the
 *     "  per-node stats" block (zpa has no node counters: LRU, slab,
 *     workingset ... are not modelled).  The "  pagesets" block is not
 *     printed per CPU as Linux does (count/high/batch and the vmstat
 *     threshold); per-thread lists of the hosted fast path are not CPUs and
 *     are not listed (their pages are in zpa_zone_info().pcp).
 *     "node_unreclaimable" is kswapd_failures >= MAX_RECLAIM_RETRIES.
 *   - The per-zone counter lists (zone_stat_item, numa_stat_item) are printed
 *     whole: they are zpa's own counters, even those that stay 0 because the
 *     pages they count (LRU, mlock, zsmalloc) do not exist in zpa.
 *   - Counter values are read the way Linux reads them: zone counters
 *     (nr_free_pages ...) are the folded values, which lag behind by the
 *     per-CPU diffs not yet past their threshold (zone_page_state(); a
 *     machine created with exact_vmstat has no lag); NUMA events, pgalloc and
 *     pgfree are summed over every pageset first (Linux folds or sums them
 *     before printing), so they are exact.
 *   - Migratetype columns are those of the target kernel, Debian's 6.1,
 *     which is built without CONFIG_CMA: Unmovable, Movable, Reclaimable,
 *     HighAtomic, Isolate.  The CMA column appears only on a machine that
 *     has CMA pageblocks (m->has_cma), as a CONFIG_CMA kernel prints it.
 *   - vmstat prints, in Linux's order: the zone counters summed over zones,
 *     the NUMA events summed over zones, pgalloc_<zone> for each zone type
 *     the machine has, then the machine events Linux has (pgfree), and last
 *     zpa's own events (names beginning "zpa_").  Node counters, writeback
 *     thresholds and events zpa does not model are left out.
 *
 * Locking: each zone's lock is held while that zone is printed (free lists,
 * counters and pageblock bits are then consistent per zone), as Linux's
 * walk_zones_in_node() does.  The pageset sums (zone_stats_snapshot(),
 * machine_pgfree()) take the pageset locks and then the zone lock, so they
 * are gathered before the zone lock is taken, never under it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"

/* ---------------------------------------------------------------- names */

#define ZPA_NAME_ITEM(e, s) s,
static const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {
	ZPA_ZONE_STAT_ITEMS(ZPA_NAME_ITEM)
};
static const char *const numa_stat_names[NR_VM_NUMA_EVENT_ITEMS] = {
	ZPA_NUMA_STAT_ITEMS(ZPA_NAME_ITEM)
};
static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	ZPA_VM_EVENT_ITEMS(ZPA_NAME_ITEM)
};

/* The /proc/vmstat name of a zone counter ("nr_free_pages"), NULL if out of range. */
const char *zone_stat_name(enum zone_stat_item i)
{
	return (unsigned)i < NR_VM_ZONE_STAT_ITEMS ? zone_stat_names[i] : NULL;
}

/* The /proc/vmstat name of a NUMA event ("numa_hit"), NULL if out of range. */
const char *numa_stat_name(enum numa_stat_item i)
{
	return (unsigned)i < NR_VM_NUMA_EVENT_ITEMS ? numa_stat_names[i] : NULL;
}

/* The /proc/vmstat name of a machine event ("pgfree"), NULL if out of range. */
const char *vm_event_name(enum vm_event_item i)
{
	return (unsigned)i < NR_VM_EVENT_ITEMS ? vm_event_names[i] : NULL;
}

/*
 * pgalloc_<zone> by zone type.  Linux builds these from TEXTS_FOR_ZONES,
 * whose suffixes are lower case and differ from zone->name for HighMem
 * ("_high").
 */
static const char *const pgalloc_names[ZPA_NR_ZONE_TYPES] = {
	[ZPA_ZONE_DMA] = "pgalloc_dma",
	[ZPA_ZONE_DMA32] = "pgalloc_dma32",
	[ZPA_ZONE_NORMAL] = "pgalloc_normal",
	[ZPA_ZONE_HIGHMEM] = "pgalloc_high",
	[ZPA_ZONE_MOVABLE] = "pgalloc_movable",
	[ZPA_ZONE_DEVICE] = "pgalloc_device",
};

static const char *const allocstall_names[ZPA_NR_ZONE_TYPES] = {
	[ZPA_ZONE_DMA] = "allocstall_dma",
	[ZPA_ZONE_DMA32] = "allocstall_dma32",
	[ZPA_ZONE_NORMAL] = "allocstall_normal",
	[ZPA_ZONE_HIGHMEM] = "allocstall_high",
	[ZPA_ZONE_MOVABLE] = "allocstall_movable",
	[ZPA_ZONE_DEVICE] = "allocstall_device",
};
static const char *const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {
	ZPA_NODE_STAT_ITEMS(ZPA_NAME_ITEM)
};

/* Events named "zpa_..." are zpa's own and are printed after Linux's. */
static bool zpa_only_event(const char *name)
{
	return strncmp(name, "zpa_", 4) == 0;
}

/* -------------------------------------------------------------- buffer */

/*
 * Append formatted text to b with snprintf semantics: b->len grows by the
 * full length of the text even when it does not fit, and when b->size > 0
 * the buffer always holds a NUL-terminated prefix of everything appended.
 * b->len may already exceed b->size (nothing more is then written).
 */
void zpa_bprintf(struct zpa_buf *b, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (b->p && b->len < b->size) {
		dst = b->p + b->len;
		room = b->size - b->len;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

static void buf_init(struct zpa_buf *b, char *p, size_t size)
{
	b->p = p;
	b->size = size;
	b->len = 0;
	if (p && size)
		p[0] = '\0';
}

/* ------------------------------------------------------------ helpers */

/* N_MEMORY: the node has at least one populated zone. */
static bool node_has_memory(const struct zpa_machine *m, const pg_data_t *pgdat)
{
	for (unsigned zid = 0; zid < m->nr_zone_types; zid++)
		if (populated_zone(&pgdat->node_zones[zid]))
			return true;
	return false;
}

/*
 * What a view's per-zone printer gets besides the zone: whether the CMA
 * migratetype has a column (a CONFIG_CMA kernel's layout, used only when the
 * machine has CMA pageblocks), and the zone's pageset sums when asked for.
 */
struct view_ctx {
	bool cma;
	bool want_stats;          /* fill st before each populated zone */
	struct zone_stats st;
};

static bool migratetype_shown(int mt, const struct view_ctx *ctx)
{
	return mt != ZPA_MIGRATE_CMA || ctx->cma;
}

/*
 * Call print() for each zone of pgdat in zone-index order with the zone's
 * lock held; only populated zones when populated_only.  With
 * ctx->want_stats, ctx->st holds the zone's pageset sums, gathered just
 * before the lock is taken (populated zones only).  Linux's
 * walk_zones_in_node().
 */
typedef void (*zone_print_fn)(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
			      struct zone *zone, const struct view_ctx *ctx);

static void walk_zones_in_node(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
			       bool populated_only, struct view_ctx *ctx, zone_print_fn print)
{
	for (unsigned zid = 0; zid < m->nr_zone_types; zid++) {
		struct zone *zone = &pgdat->node_zones[zid];

		if (populated_only && !populated_zone(zone))
			continue;
		if (ctx->want_stats && populated_zone(zone))
			zone_stats_snapshot(m, zone, &ctx->st);
		zpa_spin_lock(&zone->lock);
		print(b, m, pgdat, zone, ctx);
		zpa_spin_unlock(&zone->lock);
	}
}

/* ------------------------------------------------------------ zoneinfo */

/*
 * The "  pagesets" block of a populated zone: for each CPU its pcp count,
 * high and batch, and its vm stats threshold.  Zone lock held; the counts
 * were gathered into ctx before it was taken (lock order pageset -> zone).
 */
static void zoneinfo_show_pagesets(struct zpa_buf *b, struct zpa_machine *m, struct zone *zone,
				   const struct view_ctx *ctx)
{
	zpa_bprintf(b, "\n  pagesets");
	for (unsigned cpu = 0; cpu < m->cfg.nr_cpus; cpu++) {
		zpa_bprintf(b, "\n    cpu: %u\n              count: %d\n              high:  %d\n              batch: %d",
			    cpu, ctx->st.cpu_count[cpu], zone->pageset_high, zone->pageset_batch);
		zpa_bprintf(b, "\n  vm stats threshold: %d", zone->stat_threshold);
	}
}

/* One zone of /proc/zoneinfo.  Zone lock held. */
static void zoneinfo_show_print(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
				struct zone *zone, const struct view_ctx *ctx)
{
	assert_zone_locked(m, zone);

	zpa_bprintf(b, "Node %d, zone %8s", pgdat->node_id, zone->name);
	/* No "  per-node stats" block: zpa has no node counters (see top). */
	zpa_bprintf(b, "\n  pages free     %lu", zone_page_state(zone, NR_FREE_PAGES));
	zpa_bprintf(b, "\n        boost    %lu", zone->watermark_boost);
	zpa_bprintf(b, "\n        min      %lu", min_wmark_pages(zone));
	zpa_bprintf(b, "\n        low      %lu", low_wmark_pages(zone));
	zpa_bprintf(b, "\n        high     %lu", high_wmark_pages(zone));
	zpa_bprintf(b, "\n        spanned  %lu", zone->spanned_pages);
	zpa_bprintf(b, "\n        present  %lu", zone->present_pages);
	zpa_bprintf(b, "\n        managed  %lu", zone->managed_pages);
	zpa_bprintf(b, "\n        cma      %lu", zone->cma_pages);

	/* One entry per zone index of the machine, even absent zones. */
	zpa_bprintf(b, "\n        protection: (");
	for (unsigned i = 0; i < m->nr_zone_types; i++)
		zpa_bprintf(b, "%s%ld", i ? ", " : "", zone->lowmem_reserve[i]);
	zpa_bprintf(b, ")");

	/* An empty zone ends here. */
	if (!populated_zone(zone)) {
		zpa_bprintf(b, "\n");
		return;
	}

	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		zpa_bprintf(b, "\n      %-12s %lu", zone_stat_names[i],
			    zone_page_state(zone, (enum zone_stat_item)i));
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		zpa_bprintf(b, "\n      %-12s %lu", numa_stat_names[i], ctx->st.numa[i]);

	zoneinfo_show_pagesets(b, m, zone, ctx);

	zpa_bprintf(b, "\n  node_unreclaimable:  %u", READ_ONCE(pgdat->kswapd_failures) >= MAX_RECLAIM_RETRIES ? 1u : 0u);
	zpa_bprintf(b, "\n  start_pfn:           %lu", zone->zone_start_pfn);
	zpa_bprintf(b, "\n");
}

/* /proc/zoneinfo: every zone index of every node, empty zones included. */
static void show_zoneinfo(struct zpa_buf *b, struct zpa_machine *m)
{
	struct view_ctx ctx = { .cma = m->has_cma, .want_stats = true };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (m->nodes[nid])
			walk_zones_in_node(b, m, m->nodes[nid], false, &ctx, zoneinfo_show_print);
}

/* ----------------------------------------------------------- buddyinfo */

/* One line of /proc/buddyinfo: free blocks per order.  Zone lock held. */
static void frag_show_print(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
			    struct zone *zone, const struct view_ctx *ctx)
{
	(void)ctx;
	assert_zone_locked(m, zone);

	zpa_bprintf(b, "Node %d, zone %8s ", pgdat->node_id, zone->name);
	for (unsigned order = 0; order < m->max_order; order++)
		zpa_bprintf(b, "%6lu ", zone->free_area[order].nr_free);
	zpa_bprintf(b, "\n");
}

/* /proc/buddyinfo: populated zones only. */
static void show_buddyinfo(struct zpa_buf *b, struct zpa_machine *m)
{
	struct view_ctx ctx = { .cma = m->has_cma };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (m->nodes[nid])
			walk_zones_in_node(b, m, m->nodes[nid], true, &ctx, frag_show_print);
}

/* -------------------------------------------------------- pagetypeinfo */

/*
 * Linux stops counting one free list at this many entries (it walks the list
 * under the zone lock) and prints the count with a leading '>'.
 */
#define FREE_LIST_COUNT_CAP 100000ul

/*
 * Entries of one free list, capped at FREE_LIST_COUNT_CAP (*overflow set when
 * the cap is reached).  Zone lock held.
 */
static unsigned long count_free_list(const struct zone *zone, const struct free_list *list,
				     bool *overflow)
{
	unsigned long limit = zone->zone_pgdat ? zone->zone_pgdat->node_spanned_pages : 0;
	unsigned long count = 0;

	*overflow = false;
	for (uint32_t idx = list->head; idx != ZPA_NIL; idx = zone->mem_map[idx].next) {
		if (zone->zone_pgdat && idx >= limit)
			break; /* a corrupt link: zpa_check() reports it */
		if (++count >= FREE_LIST_COUNT_CAP) {
			*overflow = true;
			break;
		}
	}
	return count;
}

/* Free blocks per migratetype and order of one zone.  Zone lock held. */
static void pagetypeinfo_showfree_print(struct zpa_buf *b, struct zpa_machine *m,
					pg_data_t *pgdat, struct zone *zone, const struct view_ctx *ctx)
{
	assert_zone_locked(m, zone);

	for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
		if (!migratetype_shown(mt, ctx))
			continue;
		zpa_bprintf(b, "Node %4d, zone %8s, type %12s ", pgdat->node_id, zone->name,
			    zpa_migratetype_name(mt));
		for (unsigned order = 0; order < m->max_order; order++) {
			bool overflow;
			unsigned long n = count_free_list(zone,
							  &zone->free_area[order].free_list[mt],
							  &overflow);
			zpa_bprintf(b, "%s%6lu ", overflow ? ">" : "", n);
		}
		zpa_bprintf(b, "\n");
	}
}

/*
 * Pageblocks per migratetype of one zone.  Like Linux, step from the zone's
 * first pfn (not necessarily pageblock aligned) by pageblock_nr_pages and
 * count the block of each step whose page exists (PG_hole stands for
 * !pfn_valid) and belongs to this zone.  Zone lock held.
 */
static void pagetypeinfo_showblockcount_print(struct zpa_buf *b, struct zpa_machine *m,
					      pg_data_t *pgdat, struct zone *zone,
					      const struct view_ctx *ctx)
{
	unsigned long count[ZPA_MIGRATE_TYPES] = { 0 };
	unsigned long end_pfn = zone->zone_start_pfn + zone->spanned_pages;

	assert_zone_locked(m, zone);

	for (unsigned long pfn = zone->zone_start_pfn; pfn < end_pfn;
	     pfn += m->pageblock_nr_pages) {
		/* An allocated page's flags change without the zone lock; the hole
		 * and zone bits read here are fixed at setup. */
		uint32_t flags = READ_ONCE(zone->mem_map[pfn - zone->node_start_pfn].flags);
		int mt;

		if (flags & PG_hole)
			continue;
		if ((flags & PG_ZONE_MASK) >> PG_ZONE_SHIFT != (unsigned)zone->idx)
			continue;
		mt = get_pageblock_migratetype(zone, pfn);
		if (mt >= 0 && mt < ZPA_MIGRATE_TYPES)
			count[mt]++;
	}

	zpa_bprintf(b, "Node %d, zone %8s ", pgdat->node_id, zone->name);
	for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
		if (migratetype_shown(mt, ctx))
			zpa_bprintf(b, "%12lu ", count[mt]);
	zpa_bprintf(b, "\n");
}

/*
 * /proc/pagetypeinfo: for each node with memory, the pageblock size, the
 * free-list table and the pageblock table.  (Linux's third table, mixed
 * blocks, needs page_owner and is absent from the target kernel's output.)
 */
static void show_pagetypeinfo(struct zpa_buf *b, struct zpa_machine *m)
{
	struct view_ctx ctx = { .cma = m->has_cma };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];

		if (!pgdat || !node_has_memory(m, pgdat))
			continue;
		zpa_bprintf(b, "Page block order: %u\n", m->pageblock_order);
		zpa_bprintf(b, "Pages per block:  %lu\n", m->pageblock_nr_pages);
		zpa_bprintf(b, "\n");

		zpa_bprintf(b, "%-43s ", "Free pages count per migrate type at order");
		for (unsigned order = 0; order < m->max_order; order++)
			zpa_bprintf(b, "%6u ", order);
		zpa_bprintf(b, "\n");
		walk_zones_in_node(b, m, pgdat, true, &ctx, pagetypeinfo_showfree_print);

		zpa_bprintf(b, "\n%-23s", "Number of blocks type ");
		for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++)
			if (migratetype_shown(mt, &ctx))
				zpa_bprintf(b, "%12s ", zpa_migratetype_name(mt));
		zpa_bprintf(b, "\n");
		walk_zones_in_node(b, m, pgdat, true, &ctx, pagetypeinfo_showblockcount_print);
	}
}

/* -------------------------------------------------------------- vmstat */

#define VMSTAT_MAX_ITEMS (NR_VM_ZONE_STAT_ITEMS + NR_VM_NUMA_EVENT_ITEMS + NR_VM_NODE_STAT_ITEMS + ZPA_NR_ZONE_TYPES + \
			  ZPA_NR_ZONE_TYPES + NR_VM_EVENT_ITEMS)

struct vmstat_item {
	const char *name;
	uint64_t value;
};

/*
 * Fill items[] (VMSTAT_MAX_ITEMS entries) with every line of the vmstat view,
 * in print order, and return how many.  Takes the pageset locks and each
 * zone lock in turn (never two zone locks at once).
 */
static unsigned vmstat_collect(struct zpa_machine *m, struct vmstat_item *items)
{
	long zone_sum[NR_VM_ZONE_STAT_ITEMS] = { 0 };
	uint64_t numa_sum[NR_VM_NUMA_EVENT_ITEMS] = { 0 };
	uint64_t pgalloc[ZPA_NR_ZONE_TYPES] = { 0 };
	unsigned n = 0;

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat)
			continue;
		for (unsigned zid = 0; zid < m->nr_zone_types; zid++) {
			struct zone *zone = &pgdat->node_zones[zid];
			struct zone_stats st;

			/* Events: exact sums over the pagesets. */
			zone_stats_snapshot(m, zone, &st);
			for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
				numa_sum[i] += st.numa[i];
			pgalloc[zid] += st.pgalloc;
			/* Zone counters: the folded values, as global_zone_page_state(). */
			zpa_spin_lock(&zone->lock);
			for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
				zone_sum[i] += READ_ONCE(zone->vm_stat[i]);
			zpa_spin_unlock(&zone->lock);
		}
	}

	/* Like global_zone_page_state(), a transiently negative sum reads 0. */
	for (int i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		items[n++] = (struct vmstat_item){ zone_stat_names[i],
						   zone_sum[i] < 0 ? 0 : (uint64_t)zone_sum[i] };
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		items[n++] = (struct vmstat_item){ numa_stat_names[i], numa_sum[i] };
	/* Node counters summed over nodes (global_node_page_state()). */
	for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
		uint64_t v = 0;
		for (unsigned nid = 0; nid < m->nr_nodes; nid++)
			if (m->nodes[nid])
				v += (uint64_t)node_page_state(m->nodes[nid], (enum node_stat_item)i);
		items[n++] = (struct vmstat_item){ node_stat_names[i], v };
	}
	/* Events: pgpgin..pswpout, pgalloc_*, allocstall_*, then the rest of
	 * Linux's in its order, then zpa's own. */
	for (int i = 0; i < PGFREE; i++)
		items[n++] = (struct vmstat_item){ vm_event_names[i],
						   atomic_load_explicit(&m->vm_events[i], memory_order_relaxed) };
	for (unsigned zid = 0; zid < m->nr_zone_types; zid++)
		items[n++] = (struct vmstat_item){ pgalloc_names[m->zone_type_of[zid]], pgalloc[zid] };
	for (unsigned zid = 0; zid < m->nr_zone_types; zid++)
		items[n++] = (struct vmstat_item){ allocstall_names[m->zone_type_of[zid]],
						   atomic_load_explicit(&m->allocstall[zid], memory_order_relaxed) };
	for (int pass = 0; pass < 2; pass++)
		for (int i = PGFREE; i < NR_VM_EVENT_ITEMS; i++) {
			if (zpa_only_event(vm_event_names[i]) != (pass == 1))
				continue;
			items[n++] = (struct vmstat_item){
				vm_event_names[i],
				i == PGFREE ? machine_pgfree(m)
					    : atomic_load_explicit(&m->vm_events[i], memory_order_relaxed) };
		}
	return n;
}

/* /proc/vmstat: "name value" lines. */
static void show_vmstat(struct zpa_buf *b, struct zpa_machine *m)
{
	struct vmstat_item items[VMSTAT_MAX_ITEMS];
	unsigned n = vmstat_collect(m, items);

	for (unsigned i = 0; i < n; i++)
		zpa_bprintf(b, "%s %llu\n", items[i].name, (unsigned long long)items[i].value);
}

uint64_t zpa_vmstat(struct zpa_machine *m, const char *name, bool *ok)
{
	struct vmstat_item items[VMSTAT_MAX_ITEMS];
	unsigned n;

	if (ok)
		*ok = false;
	if (!m || !name)
		return 0;
	n = vmstat_collect(m, items);
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(items[i].name, name) == 0) {
			if (ok)
				*ok = true;
			return items[i].value;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- zonelists */

/* One zonelist as " Name(nid)" entries, in walk order. */
static void print_zonelist(struct zpa_buf *b, const struct zonelist *zl)
{
	for (const struct zoneref *zr = zl->zonerefs; zr && zr->zone; zr++)
		zpa_bprintf(b, " %s(%d)", zr->zone->name, zr->zone->zone_pgdat->node_id);
}

/*
 * "zonelists": first, for every node, the line Linux's build_zonelists()
 * prints at boot, byte for byte: "Fallback order for Node N: " and each node
 * of the fallback order followed by one space.  Then, after a blank line,
 * zpa's own lines: each node's fallback zonelist (the zones an allocation
 * preferring that node walks, highest zone first within a node) and its
 * NOFALLBACK zonelist (the node's own zones, for __GFP_THISNODE), each
 * zone as "Name(nid)".  The zonelists are built once, when the machine is
 * created, and never change afterwards, so no lock is needed.
 */
static void show_zonelists(struct zpa_buf *b, struct zpa_machine *m)
{
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const pg_data_t *pgdat = m->nodes[nid];

		if (!pgdat)
			continue;
		zpa_bprintf(b, "Fallback order for Node %d: ", pgdat->node_id);
		for (unsigned i = 0; i < pgdat->nr_fallback; i++)
			zpa_bprintf(b, "%d ", pgdat->fallback_order[i]);
		zpa_bprintf(b, "\n");
	}
	zpa_bprintf(b, "\n");
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		const pg_data_t *pgdat = m->nodes[nid];

		if (!pgdat)
			continue;
		zpa_bprintf(b, "Node %d zonelist:", pgdat->node_id);
		print_zonelist(b, &pgdat->node_zonelists[ZONELIST_FALLBACK]);
		zpa_bprintf(b, "\nNode %d nofallback:", pgdat->node_id);
		print_zonelist(b, &pgdat->node_zonelists[ZONELIST_NOFALLBACK]);
		zpa_bprintf(b, "\n");
	}
}

/* ----------------------------------------------------------- numastat */

/*
 * The sysfs names of the NUMA events, by enum numa_stat_item: the per-node
 * numastat file names three of them differently from /proc/vmstat
 * (interleave_hit, local_node, other_node).
 */
static const char *const node_numastat_names[NR_VM_NUMA_EVENT_ITEMS] = {
	[NUMA_HIT] = "numa_hit",
	[NUMA_MISS] = "numa_miss",
	[NUMA_FOREIGN] = "numa_foreign",
	[NUMA_INTERLEAVE_HIT] = "interleave_hit",
	[NUMA_LOCAL] = "local_node",
	[NUMA_OTHER] = "other_node",
};

/*
 * A node's NUMA events: the exact sums (every pageset's share included)
 * over all its zones, as Linux's sum_zone_numa_event_state() after
 * fold_vm_numa_events().  Takes the pageset locks and each zone lock in
 * turn, never two zone locks at once.
 */
static void node_numa_events(struct zpa_machine *m, pg_data_t *pgdat, uint64_t ev[NR_VM_NUMA_EVENT_ITEMS])
{
	struct zone_stats st;

	memset(ev, 0, NR_VM_NUMA_EVENT_ITEMS * sizeof(ev[0]));
	for (unsigned zid = 0; zid < m->nr_zone_types; zid++) {
		zone_stats_snapshot(m, &pgdat->node_zones[zid], &st);
		for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
			ev[i] += st.numa[i];
	}
}

/*
 * "node/N/numastat": /sys/devices/system/node/nodeN/numastat, one
 * "name value" line per event in Linux 6.1's order.
 */
static void show_node_numastat(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat)
{
	uint64_t ev[NR_VM_NUMA_EVENT_ITEMS];

	node_numa_events(m, pgdat, ev);
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
		zpa_bprintf(b, "%s %llu\n", node_numastat_names[i], (unsigned long long)ev[i]);
}

/*
 * "numastat": what numastat(8) prints when run without arguments and its
 * output is not a terminal (the layout of the original perl script it stays
 * compatible with): a header of 16 spaces and "nodeN" right-aligned in 16
 * columns per node, then one row per event, its sysfs name left-aligned in
 * 16 columns and each node's value right-aligned in 16.  On a terminal
 * numastat folds the columns to the screen width; zpa never folds.  All
 * nodes are gathered before anything is printed.
 */
static void show_numastat(struct zpa_buf *b, struct zpa_machine *m)
{
	uint64_t ev[ZPA_MAX_NODES][NR_VM_NUMA_EVENT_ITEMS];

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (m->nodes[nid])
			node_numa_events(m, m->nodes[nid], ev[nid]);

	zpa_bprintf(b, "%16s", "");
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		char name[24];

		if (!m->nodes[nid])
			continue;
		snprintf(name, sizeof(name), "node%u", nid);
		zpa_bprintf(b, "%16s", name);
	}
	zpa_bprintf(b, "\n");
	for (int i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++) {
		zpa_bprintf(b, "%-16s", node_numastat_names[i]);
		for (unsigned nid = 0; nid < m->nr_nodes; nid++)
			if (m->nodes[nid])
				zpa_bprintf(b, "%16llu", (unsigned long long)ev[nid][i]);
		zpa_bprintf(b, "\n");
	}
}

/*
 * The node of a "node/N/numastat" view name, or -1 when name has another
 * shape.  N is decimal without sign or leading zeros (as sysfs's nodeN).
 */
static int node_view_nid(const char *name, const char *suffix)
{
	const char *p = name + 5;
	long nid = 0;

	if (strncmp(name, "node/", 5) != 0 || *p < '0' || *p > '9' || (*p == '0' && p[1] != '/'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		nid = nid * 10 + (*p - '0');
		if (nid >= ZPA_MAX_NODES)
			return ZPA_MAX_NODES; /* a node no machine has */
	}
	if (*p != '/' || strcmp(p + 1, suffix) != 0)
		return -1;
	return (int)nid;
}

/* ------------------------------------------- extfrag_index, unusable_index */

/*
 * One line of a debugfs extfrag view: an index of each order (fragmentation.c)
 * printed from its thousandths as Linux does, quotient and remainder, so
 * -1000 reads "-1.000" and the rare small negative values like " 0.-500".
 * extfrag_index pads the quotient to 2 columns, unusable_index does not.
 * Zone lock held.
 */
static void index_show_print(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat, struct zone *zone,
			     int (*index_fn)(unsigned, const struct contig_page_info *), const char *fmt)
{
	struct contig_page_info info;

	assert_zone_locked(m, zone);
	zpa_bprintf(b, "Node %d, zone %8s ", pgdat->node_id, zone->name);
	for (unsigned order = 0; order < m->max_order; order++) {
		fill_contig_page_info(zone, order, &info);
		int index = index_fn(order, &info);
		zpa_bprintf(b, fmt, index / 1000, index % 1000);
	}
	zpa_bprintf(b, "\n");
}

static void extfrag_show_print(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
			       struct zone *zone, const struct view_ctx *ctx)
{
	(void)ctx;
	index_show_print(b, m, pgdat, zone, __fragmentation_index, "%2d.%03d ");
}

static void unusable_show_print(struct zpa_buf *b, struct zpa_machine *m, pg_data_t *pgdat,
				struct zone *zone, const struct view_ctx *ctx)
{
	(void)ctx;
	index_show_print(b, m, pgdat, zone, unusable_free_index, "%d.%03d ");
}

/* debugfs extfrag/extfrag_index: populated zones of every node. */
static void show_extfrag_index(struct zpa_buf *b, struct zpa_machine *m)
{
	struct view_ctx ctx = { .cma = m->has_cma };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (m->nodes[nid])
			walk_zones_in_node(b, m, m->nodes[nid], true, &ctx, extfrag_show_print);
}

/* debugfs extfrag/unusable_index: populated zones of nodes with memory. */
static void show_unusable_index(struct zpa_buf *b, struct zpa_machine *m)
{
	struct view_ctx ctx = { .cma = m->has_cma };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		if (m->nodes[nid] && node_has_memory(m, m->nodes[nid]))
			walk_zones_in_node(b, m, m->nodes[nid], true, &ctx, unusable_show_print);
}

/* ------------------------------------------------------------ show_mem */

#define KB(m, pages) ((unsigned long)(pages) << ((m)->page_shift - 10))

/*
 * Linux's __show_free_areas() (the report warn_alloc() and the OOM killer
 * print), for zones up to max_zone_idx: the machine-wide counters, one line
 * per node, one line plus lowmem_reserve[] per populated zone, then the free
 * blocks per order with the migratetypes that have some (U M E H C I).
 * Counters zpa does not keep (slab, mapped, shmem, page tables...) read 0.
 */
static void show_free_areas(struct zpa_buf *b, struct zpa_machine *m, int max_zone_idx)
{
	unsigned long free = 0, free_pcp = 0, free_cma = 0;
	long node_sum[NR_VM_NODE_STAT_ITEMS] = { 0 };

	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat)
			continue;
		for (int i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
			node_sum[i] += node_page_state(pgdat, (enum node_stat_item)i);
		for (int zi = 0; zi <= max_zone_idx && zi < (int)m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			struct zone_stats st;
			if (!populated_zone(z))
				continue;
			zone_stats_snapshot(m, z, &st);
			free_pcp += st.pcp_pages;
			free += zone_page_state(z, NR_FREE_PAGES);
			free_cma += zone_page_state(z, NR_FREE_CMA_PAGES);
		}
	}
	zpa_bprintf(b, "Mem-Info:\n");
	zpa_bprintf(b, "active_anon:%ld inactive_anon:%ld isolated_anon:%ld\n"
		    " active_file:%ld inactive_file:%ld isolated_file:%ld\n"
		    " unevictable:%ld dirty:%ld writeback:%ld\n"
		    " slab_reclaimable:0 slab_unreclaimable:0\n"
		    " mapped:0 shmem:0 pagetables:0\n"
		    " sec_pagetables:0 bounce:0\n"
		    " kernel_misc_reclaimable:0\n"
		    " free:%lu free_pcp:%lu free_cma:%lu\n",
		    node_sum[NR_ACTIVE_ANON], node_sum[NR_INACTIVE_ANON], node_sum[NR_ISOLATED_ANON],
		    node_sum[NR_ACTIVE_FILE], node_sum[NR_INACTIVE_FILE], node_sum[NR_ISOLATED_FILE],
		    node_sum[NR_UNEVICTABLE], node_sum[NR_FILE_DIRTY], node_sum[NR_WRITEBACK], free, free_pcp, free_cma);
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		if (!pgdat || !node_has_memory(m, pgdat))
			continue;
		zpa_bprintf(b, "Node %u active_anon:%lukB inactive_anon:%lukB active_file:%lukB inactive_file:%lukB "
			    "unevictable:%lukB isolated(anon):%lukB isolated(file):%lukB mapped:0kB dirty:%lukB "
			    "writeback:%lukB shmem:0kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: 0kB "
			    "writeback_tmp:0kB kernel_stack:0kB pagetables:0kB sec_pagetables:0kB "
			    "all_unreclaimable? %s\n",
			    nid, KB(m, node_page_state(pgdat, NR_ACTIVE_ANON)), KB(m, node_page_state(pgdat, NR_INACTIVE_ANON)),
			    KB(m, node_page_state(pgdat, NR_ACTIVE_FILE)), KB(m, node_page_state(pgdat, NR_INACTIVE_FILE)),
			    KB(m, node_page_state(pgdat, NR_UNEVICTABLE)), KB(m, node_page_state(pgdat, NR_ISOLATED_ANON)),
			    KB(m, node_page_state(pgdat, NR_ISOLATED_FILE)), KB(m, node_page_state(pgdat, NR_FILE_DIRTY)),
			    KB(m, node_page_state(pgdat, NR_WRITEBACK)),
			    READ_ONCE(pgdat->kswapd_failures) >= MAX_RECLAIM_RETRIES ? "yes" : "no");
	}
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		for (int zi = 0; pgdat && zi <= max_zone_idx && zi < (int)m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			struct zone_stats st;
			if (!populated_zone(z))
				continue;
			zone_stats_snapshot(m, z, &st);
			zpa_bprintf(b, "Node %u %s free:%lukB boost:%lukB min:%lukB low:%lukB high:%lukB "
				    "reserved_highatomic:%luKB active_anon:%lukB inactive_anon:%lukB active_file:%lukB "
				    "inactive_file:%lukB unevictable:%lukB writepending:%lukB present:%lukB managed:%lukB "
				    "mlocked:0kB bounce:0kB free_pcp:%lukB local_pcp:0kB free_cma:%lukB\n",
				    nid, z->name, KB(m, zone_page_state(z, NR_FREE_PAGES)), KB(m, READ_ONCE(z->watermark_boost)),
				    KB(m, min_wmark_pages(z)), KB(m, low_wmark_pages(z)), KB(m, high_wmark_pages(z)),
				    KB(m, READ_ONCE(z->nr_reserved_highatomic)), KB(m, zone_page_state(z, NR_ZONE_ACTIVE_ANON)),
				    KB(m, zone_page_state(z, NR_ZONE_INACTIVE_ANON)),
				    KB(m, zone_page_state(z, NR_ZONE_ACTIVE_FILE)),
				    KB(m, zone_page_state(z, NR_ZONE_INACTIVE_FILE)),
				    KB(m, zone_page_state(z, NR_ZONE_UNEVICTABLE)),
				    KB(m, zone_page_state(z, NR_ZONE_WRITE_PENDING)), KB(m, z->present_pages),
				    KB(m, z->managed_pages), KB(m, st.pcp_pages), KB(m, zone_page_state(z, NR_FREE_CMA_PAGES)));
			zpa_bprintf(b, "lowmem_reserve[]:");
			for (unsigned i = 0; i < m->nr_zone_types; i++)
				zpa_bprintf(b, " %ld", READ_ONCE(z->lowmem_reserve[i]));
			zpa_bprintf(b, "\n");
		}
	}
	static const char type_letter[ZPA_MIGRATE_TYPES] = {
		[ZPA_MIGRATE_UNMOVABLE] = 'U', [ZPA_MIGRATE_MOVABLE] = 'M', [ZPA_MIGRATE_RECLAIMABLE] = 'E',
		[ZPA_MIGRATE_HIGHATOMIC] = 'H', [ZPA_MIGRATE_CMA] = 'C', [ZPA_MIGRATE_ISOLATE] = 'I',
	};
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		pg_data_t *pgdat = m->nodes[nid];
		for (int zi = 0; pgdat && zi <= max_zone_idx && zi < (int)m->nr_zone_types; zi++) {
			struct zone *z = &pgdat->node_zones[zi];
			unsigned long nr[ZPA_MAX_ORDER_LIMIT], total = 0;
			unsigned types[ZPA_MAX_ORDER_LIMIT];
			if (!populated_zone(z))
				continue;
			zpa_spin_lock(&z->lock);
			for (unsigned o = 0; o < m->max_order; o++) {
				nr[o] = z->free_area[o].nr_free;
				total += nr[o] << o;
				types[o] = 0;
				for (int t = 0; t < ZPA_MIGRATE_TYPES; t++)
					if (z->free_area[o].free_list[t].head != ZPA_NIL)
						types[o] |= 1u << t;
			}
			zpa_spin_unlock(&z->lock);
			zpa_bprintf(b, "Node %u %s: ", nid, z->name);
			for (unsigned o = 0; o < m->max_order; o++) {
				zpa_bprintf(b, "%lu*%lukB ", nr[o], KB(m, 1ul) << o);
				if (nr[o]) {
					char letters[ZPA_MIGRATE_TYPES + 1];
					int n = 0;
					for (int t = 0; t < ZPA_MIGRATE_TYPES; t++)
						if ((types[o] >> t) & 1)
							letters[n++] = type_letter[t];
					letters[n] = 0;
					zpa_bprintf(b, "(%s) ", letters);
				}
			}
			zpa_bprintf(b, "= %lukB\n", KB(m, total));
		}
	}
	uint64_t swap_free = zpa_swap_free(m), swap_total = (uint64_t)atomic_load(&m->total_swap_pages);
	zpa_bprintf(b, "Free swap  = %llukB\nTotal swap = %llukB\n", (unsigned long long)KB(m, swap_free),
		    (unsigned long long)KB(m, swap_total));
}

static void show_mem_view(struct zpa_buf *b, struct zpa_machine *m)
{
	show_free_areas(b, m, (int)m->nr_zone_types - 1);
}

void show_mem_log(struct zpa_machine *m, int max_zone_idx)
{
	struct zpa_buf b;
	buf_init(&b, NULL, 0);
	show_free_areas(&b, m, max_zone_idx);
	size_t size = b.len + 1;
	char *text = zpa_port_zalloc(size);
	if (!text)
		return;
	buf_init(&b, text, size);
	show_free_areas(&b, m, max_zone_idx);
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		zpa_log(m, ZPA_LOG_WARN, "%s", line);
	}
	zpa_port_free(text);
}

/* ------------------------------------------------------------ dispatch */

static const struct {
	const char *name;
	void (*show)(struct zpa_buf *b, struct zpa_machine *m);
} views[] = {
	{ "zoneinfo", show_zoneinfo },
	{ "buddyinfo", show_buddyinfo },
	{ "pagetypeinfo", show_pagetypeinfo },
	{ "vmstat", show_vmstat },
	{ "extfrag_index", show_extfrag_index },
	{ "unusable_index", show_unusable_index },
	{ "zonelists", show_zonelists },
	{ "numastat", show_numastat },
	{ "show_mem", show_mem_view },
};

long zpa_show(struct zpa_machine *m, const char *view, char *buf, size_t size)
{
	struct zpa_buf b;

	if (!m || !view || (!buf && size))
		return ZPA_EINVAL;
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		if (strcmp(views[i].name, view) != 0)
			continue;
		buf_init(&b, buf, size);
		views[i].show(&b, m);
		return (long)b.len;
	}
	/* Per-node sysfs files: "node/N/numastat". */
	int nid = node_view_nid(view, "numastat");
	if (nid >= 0) {
		if ((unsigned)nid >= m->nr_nodes || !m->nodes[nid])
			return ZPA_ENOENT;
		buf_init(&b, buf, size);
		show_node_numastat(&b, m, m->nodes[nid]);
		return (long)b.len;
	}
	return ZPA_ENOENT;
}
