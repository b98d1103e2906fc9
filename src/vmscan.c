/*
 * vmscan.c - kswapd and reclaim.  PLACEHOLDER being replaced by the reclaim
 * work of issue #6: for now a woken kswapd finds nothing to scan and, as
 * Linux's balance_pgdat() does at its end, takes back the watermark boost.
 *
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "internal.h"

int vmscan_init(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n])
			m->nodes[n]->kswapd_highest_zoneidx = (int)m->nr_zone_types;
	return 0;
}

void vmscan_destroy(struct zpa_machine *m) { (void)m; }

uint64_t machine_now_ms(const struct zpa_machine *m)
{
	if (m->daemon_mode == ZPA_DAEMON_MANUAL)
		return atomic_load(&((struct zpa_machine *)m)->sim_now_ms);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void wakeup_kswapd(struct zpa_machine *m, struct zone *z, zpa_gfp_t gfp, unsigned order, int highest_zoneidx)
{
	pg_data_t *pgdat = z->zone_pgdat;
	(void)gfp;
	(void)order;
	count_vm_event(m, KSWAPD_WAKE, 1);
	for (int i = 0; i <= highest_zoneidx && i < (int)m->nr_zone_types; i++) {
		struct zone *zone = &pgdat->node_zones[i];
		if (!READ_ONCE(zone->watermark_boost) && !(READ_ONCE(zone->flags) & ZONE_BOOSTED_WATERMARK))
			continue;
		zpa_spin_lock(&zone->lock);
		WRITE_ONCE(zone->watermark_boost, 0);
		WRITE_ONCE(zone->flags, zone->flags & ~ZONE_BOOSTED_WATERMARK);
		zpa_spin_unlock(&zone->lock);
	}
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

bool pgdat_balanced(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	(void)m; (void)pgdat; (void)order; (void)highest_zoneidx;
	return true;
}
