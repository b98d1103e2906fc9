/*
 * info.c - read-only queries of a machine's shape and zones for callers and
 * tools (the numbers behind /proc/zoneinfo, as a struct).
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

unsigned zpa_nr_nodes(const struct zpa_machine *m) { return m->nr_nodes; }
unsigned zpa_nr_cpus(const struct zpa_machine *m) { return m->cfg.nr_cpus; }
unsigned zpa_max_order(const struct zpa_machine *m) { return m->max_order; }

int zpa_zone_info(struct zpa_machine *m, int nid, int zone_type, struct zpa_zone_info *out)
{
	if (nid < 0 || (unsigned)nid >= m->nr_nodes || zone_type < 0 || zone_type >= ZPA_NR_ZONE_TYPES ||
	    m->zone_idx_of[zone_type] < 0)
		return ZPA_ENOENT;
	struct zone *z = &m->nodes[nid]->node_zones[m->zone_idx_of[zone_type]];
	struct zone_stats st;
	memset(out, 0, sizeof(*out));
	zone_stats_snapshot(m, z, &st);
	zpa_spin_lock(&z->lock);
	out->nid = nid;
	out->zone_type = zone_type;
	out->name = z->name;
	out->start_pfn = z->zone_start_pfn;
	out->spanned = z->spanned_pages;
	out->present = z->present_pages;
	out->managed = z->managed_pages;
	out->free = st.stat[NR_FREE_PAGES];
	out->pcp = st.pcp_pages;
	out->min = z->_watermark[WMARK_MIN];
	out->low = z->_watermark[WMARK_LOW];
	out->high = z->_watermark[WMARK_HIGH];
	out->boost = z->watermark_boost;
	out->nr_protection = m->nr_zone_types;
	for (unsigned i = 0; i < m->nr_zone_types; i++)
		out->protection[i] = (uint64_t)z->lowmem_reserve[i];
	for (unsigned o = 0; o < m->max_order; o++)
		out->nr_free[o] = z->free_area[o].nr_free;
	zpa_spin_unlock(&z->lock);
	return 0;
}

uint64_t zpa_total_managed(const struct zpa_machine *m)
{
	uint64_t n = 0;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++)
			n += m->nodes[nid]->node_zones[zi].managed_pages;
	return n;
}

uint64_t zpa_total_free(struct zpa_machine *m)
{
	uint64_t n = 0;
	for (unsigned nid = 0; nid < m->nr_nodes; nid++)
		for (unsigned zi = 0; zi < m->nr_zone_types; zi++) {
			struct zone_stats st;
			zone_stats_snapshot(m, &m->nodes[nid]->node_zones[zi], &st);
			n += st.stat[NR_FREE_PAGES] + st.pcp_pages;
		}
	return n;
}

uint64_t zpa_totalreserve_pages(const struct zpa_machine *m)
{
	return m->totalreserve_pages;
}
