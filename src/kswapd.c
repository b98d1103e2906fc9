/*
 * kswapd.c - kswapd.  PLACEHOLDER being replaced by the kswapd work of issue
 * #6: for now a woken kswapd finds nothing to scan and, as Linux's
 * balance_pgdat() does at its end, takes back the watermark boost.
 *
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "internal.h"

int kswapd_init(struct zpa_machine *m)
{
	for (unsigned n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n])
			m->nodes[n]->kswapd_highest_zoneidx = (int)m->nr_zone_types;
	return 0;
}

void kswapd_destroy(struct zpa_machine *m) { (void)m; }

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

bool pgdat_balanced(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	(void)m; (void)pgdat; (void)order; (void)highest_zoneidx;
	return true;
}
