/*
 * fragmentation.c - how fragmented a zone's free memory is, and the event
 * the allocator raises when it borrows memory of another migratetype.
 *
 * Metrics (Linux 6.1's mm/vmstat.c, formulas in zpa/frag.h): one pass over
 * free_area[0..max_order).nr_free gives, for a request order o,
 *   free_pages           = sum_k nr_free[k] << k
 *   free_blocks_total    = sum_k nr_free[k]
 *   free_blocks_suitable = sum_{k >= o} nr_free[k] << (k - o)
 * and the fragmentation index, the unusable free space index and
 * extfrag_for_order() are integer functions of those three numbers, computed
 * with Linux's exact integer divisions so that zpa's debugfs-style views
 * print what Linux would print for the same free lists.  The public calls
 * read a zone under its lock, so the counts of one call are consistent.
 *
 * Events: trace_mm_page_alloc_extfrag() is called by __rmqueue_fallback()
 * (buddy.c) under the zone lock once per borrowed block.  It bumps the
 * zpa_extfrag* machine events and hands the fields of Linux's
 * kmem:mm_page_alloc_extfrag tracepoint to the machine's trace hook.
 * Invariant: the hook (function and argument) changes only while every zone
 * lock is held, so a caller holding any one zone lock sees a consistent pair,
 * and once zpa_set_trace_hook() returns no call of the old hook is running.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "internal.h"

/* ---------------------------------------------------------------- metrics */

void fill_contig_page_info(const struct zone *z, unsigned suitable_order, struct contig_page_info *info)
{
	info->free_pages = 0;
	info->free_blocks_total = 0;
	info->free_blocks_suitable = 0;
	for (unsigned order = 0; order < z->max_order; order++) {
		/* Read without the lock by diagnostic callers, as Linux does. */
		unsigned long blocks = READ_ONCE(z->free_area[order].nr_free);

		info->free_blocks_total += blocks;
		info->free_pages += blocks << order;
		if (order >= suitable_order)
			info->free_blocks_suitable += blocks << (order - suitable_order);
	}
}

int __fragmentation_index(unsigned order, const struct contig_page_info *info)
{
	unsigned long long requested = 1ull << order;
	unsigned long long scaled;

	if (!info->free_blocks_total)
		return 0;
	/* Only a request that would fail has a meaningful index. */
	if (info->free_blocks_suitable)
		return -1000;
	/* 0: fails for lack of memory; 1000: fails because memory is in pieces. */
	scaled = (1000ull + (unsigned long long)info->free_pages * 1000ull / requested) /
		 info->free_blocks_total;
	return (int)(1000 - (long long)scaled);
}

int unusable_free_index(unsigned order, const struct contig_page_info *info)
{
	/* Nothing free counts as all of it unusable. */
	if (info->free_pages == 0)
		return 1000;
	return (int)((unsigned long long)(info->free_pages - (info->free_blocks_suitable << order)) * 1000ull /
		     info->free_pages);
}

/* extfrag_for_order(): percent of free pages in blocks below the order. */
static unsigned extfrag_for_order(unsigned order, const struct contig_page_info *info)
{
	if (info->free_pages == 0)
		return 0;
	return (unsigned)((unsigned long long)(info->free_pages - (info->free_blocks_suitable << order)) * 100ull /
			  info->free_pages);
}

/* The zone of type zone_type on node nid, or NULL when the machine has none. */
static struct zone *lookup_zone(struct zpa_machine *m, int nid, int zone_type)
{
	if (!m || nid < 0 || (unsigned)nid >= m->nr_nodes || !m->nodes[nid] || zone_type < 0 ||
	    zone_type >= ZPA_NR_ZONE_TYPES || m->zone_idx_of[zone_type] < 0)
		return NULL;
	return &m->nodes[nid]->node_zones[m->zone_idx_of[zone_type]];
}

/* Validate the arguments and fill info for one order under the zone lock. */
static int zone_contig_info(struct zpa_machine *m, int nid, int zone_type, unsigned order,
			    struct contig_page_info *info)
{
	struct zone *z = lookup_zone(m, nid, zone_type);

	if (!z)
		return ZPA_ENOENT;
	if (order >= m->max_order)
		return ZPA_EINVAL;
	zpa_spin_lock(&z->lock);
	fill_contig_page_info(z, order, info);
	zpa_spin_unlock(&z->lock);
	return 0;
}

int zpa_contig_page_info(struct zpa_machine *m, int nid, int zone_type, unsigned order,
			 struct zpa_contig_page_info *out)
{
	struct contig_page_info info;
	int rc;

	if (!out)
		return ZPA_EINVAL;
	rc = zone_contig_info(m, nid, zone_type, order, &info);
	if (rc)
		return rc;
	out->free_pages = info.free_pages;
	out->free_blocks_total = info.free_blocks_total;
	out->free_blocks_suitable = info.free_blocks_suitable;
	return 0;
}

/* One index of one zone at one order: fn applied to the zone's contig info. */
static int zone_index(struct zpa_machine *m, int nid, int zone_type, unsigned order,
		      int (*fn)(unsigned, const struct contig_page_info *), int *index)
{
	struct contig_page_info info;
	int rc;

	if (!index)
		return ZPA_EINVAL;
	rc = zone_contig_info(m, nid, zone_type, order, &info);
	if (!rc)
		*index = fn(order, &info);
	return rc;
}

static int extfrag_for_order_int(unsigned order, const struct contig_page_info *info)
{
	return (int)extfrag_for_order(order, info);
}

int zpa_fragmentation_index(struct zpa_machine *m, int nid, int zone_type, unsigned order, int *index)
{
	return zone_index(m, nid, zone_type, order, __fragmentation_index, index);
}

int zpa_unusable_free_index(struct zpa_machine *m, int nid, int zone_type, unsigned order, int *index)
{
	return zone_index(m, nid, zone_type, order, unusable_free_index, index);
}

int zpa_extfrag_for_order(struct zpa_machine *m, int nid, int zone_type, unsigned order, unsigned *percent)
{
	int v = 0, rc;

	if (!percent)
		return ZPA_EINVAL;
	rc = zone_index(m, nid, zone_type, order, extfrag_for_order_int, &v);
	if (!rc)
		*percent = (unsigned)v;
	return rc;
}

int zpa_zone_frag_indexes(struct zpa_machine *m, int nid, int zone_type, struct zpa_frag_indexes *out)
{
	struct zone *z = lookup_zone(m, nid, zone_type);
	unsigned long nr_free[ZPA_MAX_ORDER_LIMIT];

	if (!z)
		return ZPA_ENOENT;
	if (!out)
		return ZPA_EINVAL;
	memset(out, 0, sizeof(*out));
	out->nr_orders = m->max_order;

	/* One look at the counts, then the arithmetic outside the lock. */
	zpa_spin_lock(&z->lock);
	for (unsigned o = 0; o < m->max_order; o++)
		nr_free[o] = z->free_area[o].nr_free;
	zpa_spin_unlock(&z->lock);

	for (unsigned o = 0; o < m->max_order; o++) {
		struct contig_page_info info = { 0, 0, 0 };

		for (unsigned k = 0; k < m->max_order; k++) {
			info.free_blocks_total += nr_free[k];
			info.free_pages += nr_free[k] << k;
			if (k >= o)
				info.free_blocks_suitable += nr_free[k] << (k - o);
		}
		out->info[o].free_pages = info.free_pages;
		out->info[o].free_blocks_total = info.free_blocks_total;
		out->info[o].free_blocks_suitable = info.free_blocks_suitable;
		out->extfrag_index[o] = __fragmentation_index(o, &info);
		out->unusable_index[o] = unusable_free_index(o, &info);
	}
	return 0;
}

/* ----------------------------------------------------------------- events */

/* Take or release every zone lock, in node then zone-index order. */
static void lock_zones(struct zpa_machine *m, bool lock)
{
	for (unsigned nid = 0; nid < m->nr_nodes; nid++) {
		if (!m->nodes[nid])
			continue;
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone *z = &m->nodes[nid]->node_zones[zi];

			if (lock)
				zpa_spin_lock(&z->lock);
			else
				zpa_spin_unlock(&z->lock);
		}
	}
}

void zpa_set_trace_hook(struct zpa_machine *m, zpa_trace_fn fn, void *arg)
{
	if (!m)
		return;
	zpa_spin_lock(&m->setup_lock);
	lock_zones(m, true);
	m->trace_hook = fn;
	m->trace_hook_arg = fn ? arg : NULL;
	lock_zones(m, false);
	zpa_spin_unlock(&m->setup_lock);
}

void trace_mm_page_alloc_extfrag(struct zpa_machine *m, struct zone *z, unsigned long pfn, unsigned alloc_order,
				 unsigned fallback_order, int alloc_mt, int fallback_mt, bool change_ownership)
{
	bool fragmenting = fallback_order < m->pageblock_order;

	assert_zone_locked(m, z);
	count_vm_event(m, EXTFRAG_EVENT, 1);
	if (change_ownership)
		count_vm_event(m, EXTFRAG_CHANGE_OWNERSHIP, 1);
	if (fragmenting) {
		count_vm_event(m, EXTFRAG_FRAGMENTING, 1);
		if (!change_ownership)
			count_vm_event(m, EXTFRAG_MIXED, 1);
		switch (alloc_mt) {
		case ZPA_MIGRATE_UNMOVABLE:
			count_vm_event(m, EXTFRAG_FRAG_UNMOVABLE, 1);
			if (fallback_mt == ZPA_MIGRATE_MOVABLE)
				count_vm_event(m, EXTFRAG_UNMOVABLE_IN_MOVABLE, 1);
			break;
		case ZPA_MIGRATE_RECLAIMABLE:
			count_vm_event(m, EXTFRAG_FRAG_RECLAIMABLE, 1);
			if (fallback_mt == ZPA_MIGRATE_MOVABLE)
				count_vm_event(m, EXTFRAG_RECLAIMABLE_IN_MOVABLE, 1);
			break;
		case ZPA_MIGRATE_MOVABLE:
			count_vm_event(m, EXTFRAG_FRAG_MOVABLE, 1);
			break;
		default:
			break;
		}
	}

	if (m->trace_hook) {
		struct zpa_trace_event ev = {
			.type = ZPA_TRACE_MM_PAGE_ALLOC_EXTFRAG,
			.name = "mm_page_alloc_extfrag",
			.nid = z->zone_pgdat->node_id,
			.zone_type = z->type,
		};

		ev.u.extfrag = (struct zpa_trace_extfrag){
			.pfn = pfn,
			.alloc_order = (int)alloc_order,
			.fallback_order = (int)fallback_order,
			.pageblock_order = (int)m->pageblock_order,
			.alloc_migratetype = alloc_mt,
			.fallback_migratetype = fallback_mt,
			.fragmenting = fragmenting,
			.change_ownership = change_ownership,
		};
		m->trace_hook(m->trace_hook_arg, &ev);
	}
}

int zpa_trace_event_format(const struct zpa_trace_event *ev, char *buf, size_t size)
{
	const struct zpa_trace_extfrag *e;

	if (!ev || (!buf && size))
		return ZPA_EINVAL;
	if (ev->type != ZPA_TRACE_MM_PAGE_ALLOC_EXTFRAG)
		return ZPA_EINVAL;
	e = &ev->u.extfrag;
	return snprintf(buf, size,
			"pfn=0x%llx alloc_order=%d fallback_order=%d pageblock_order=%d "
			"alloc_migratetype=%d fallback_migratetype=%d fragmenting=%d change_ownership=%d",
			(unsigned long long)e->pfn, e->alloc_order, e->fallback_order, e->pageblock_order,
			e->alloc_migratetype, e->fallback_migratetype, e->fragmenting ? 1 : 0,
			e->change_ownership ? 1 : 0);
}
