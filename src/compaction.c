/*
 * compaction.c - PLACEHOLDER being replaced by the compaction work of issue #6.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

int compaction_init(struct zpa_machine *m) { (void)m; return 0; }
void compaction_destroy(struct zpa_machine *m) { (void)m; }

enum compact_result try_to_compact_pages(struct zpa_machine *m, zpa_gfp_t gfp, unsigned order, unsigned alloc_flags,
					 const struct alloc_context *ac, enum compact_priority prio,
					 struct zpa_page **capture, struct zone **capture_zone)
{
	(void)m; (void)gfp; (void)order; (void)alloc_flags; (void)ac; (void)prio; (void)capture_zone;
	*capture = NULL;
	return COMPACT_SKIPPED;
}

bool compaction_zonelist_suitable(struct zpa_machine *m, const struct alloc_context *ac, unsigned order,
				  unsigned alloc_flags)
{
	(void)m; (void)ac; (void)order; (void)alloc_flags;
	return false;
}

void compaction_defer_reset(struct zone *z, int order, bool alloc_success) { (void)z; (void)order; (void)alloc_success; }
void wakeup_kcompactd(struct zpa_machine *m, pg_data_t *pgdat, int order, int highest_zoneidx)
{
	(void)m; (void)pgdat; (void)order; (void)highest_zoneidx;
}
void reset_isolation_suitable(struct zpa_machine *m, pg_data_t *pgdat) { (void)m; (void)pgdat; }
uint64_t kcompactd_step(struct zpa_machine *m, pg_data_t *pgdat, uint64_t now_ms)
{
	(void)m; (void)pgdat; (void)now_ms;
	return 0;
}
