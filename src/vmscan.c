/*
 * vmscan.c - kswapd.  For now only the part of Linux's balance_pgdat() that
 * exists without reclaimable memory: zpa has no page cache, anonymous or
 * slab pages to reclaim yet (the slow-path work adds reclaim providers), so
 * a woken kswapd finds nothing to scan and, as Linux's balance_pgdat() does
 * at its end, takes back the watermark boost it was woken for.  It runs
 * synchronously at wake-up: the simulated machine's kswapd finishes at once.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

/*
 * wakeup_kswapd(): zone z's node needs background work for a request of
 * `order` up to highest_zoneidx (Linux: from rmqueue() after a boost, from
 * wake_all_kswapds() in the slow path).  Takes each zone lock of the node.
 */
void wakeup_kswapd(struct zpa_machine *m, struct zone *z, zpa_gfp_t gfp, unsigned order, int highest_zoneidx)
{
	pg_data_t *pgdat = z->zone_pgdat;
	(void)gfp;
	(void)order;
	count_vm_event(m, KSWAPD_WAKE, 1);
	/* balance_pgdat(): with nothing reclaimable the scan ends at once; the
	 * boost that was applied is then reset for every eligible zone. */
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
