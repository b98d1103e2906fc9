/*
 * oom_kill.c - PLACEHOLDER being replaced by the OOM work of issue #6.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

int oom_init(struct zpa_machine *m) { (void)m; return 0; }
void oom_destroy(struct zpa_machine *m) { (void)m; }
bool oom_trylock(struct zpa_machine *m) { (void)m; return true; }
void oom_unlock(struct zpa_machine *m) { (void)m; }
bool out_of_memory(struct zpa_machine *m, struct zpa_oom_control *oc) { (void)m; (void)oc; return false; }
bool mem_cgroup_out_of_memory(struct zpa_machine *m, struct zpa_memcg *g, zpa_gfp_t gfp, int order)
{
	(void)m; (void)g; (void)gfp; (void)order;
	return false;
}
uint64_t zpa_oom_reap(struct zpa_machine *m) { (void)m; return 0; }
