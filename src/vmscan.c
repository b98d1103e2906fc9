/*
 * vmscan.c - LRU reclaim and shrinkers.  PLACEHOLDER being replaced by the
 * reclaim work of issue #6.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

int vmscan_init(struct zpa_machine *m) { (void)m; return 0; }
void vmscan_destroy(struct zpa_machine *m) { (void)m; }

void shrink_node(struct zpa_machine *m, pg_data_t *pgdat, struct scan_control *sc) { (void)m; (void)pgdat; (void)sc; }
unsigned long shrink_slab(struct zpa_machine *m, zpa_gfp_t gfp, int nid, struct zpa_memcg *memcg, int priority)
{
	(void)m; (void)gfp; (void)nid; (void)memcg; (void)priority;
	return 0;
}

unsigned long try_to_free_pages(struct zpa_machine *m, const struct alloc_context *ac, unsigned order, zpa_gfp_t gfp)
{
	(void)m; (void)ac; (void)order; (void)gfp;
	return 0;
}

unsigned long try_to_free_mem_cgroup_pages(struct zpa_machine *m, struct zpa_memcg *g, unsigned long nr_pages,
					   zpa_gfp_t gfp, bool may_swap)
{
	(void)m; (void)g; (void)nr_pages; (void)gfp; (void)may_swap;
	return 0;
}

unsigned long zone_reclaimable_pages(struct zpa_machine *m, struct zone *z)
{
	unsigned long nr = zone_page_state(z, NR_ZONE_INACTIVE_FILE) + zone_page_state(z, NR_ZONE_ACTIVE_FILE);
	if (nr_swap_pages(m) > 0)
		nr += zone_page_state(z, NR_ZONE_INACTIVE_ANON) + zone_page_state(z, NR_ZONE_ACTIVE_ANON);
	return nr;
}

