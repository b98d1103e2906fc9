/*
 * contract_stubs.c - WEAK placeholders for the public calls of zpa/reclaim.h
 * and zpa/oom.h whose implementations come with the slow-path work (vmscan.c,
 * kswapd.c, compaction.c, oom_kill.c).  They let the models (model.c) and
 * `zpa run pressure` build and run against the contract before that work is
 * merged.  Every definition is weak, so the real one wins wherever both are
 * linked; DELETE THIS FILE once the real implementations are merged.
 *
 * What the placeholders do: the daemon mode and the MANUAL clock are
 * recorded (so zpa_clock_ms() follows zpa_daemon_step()); everything else
 * does nothing and reports nothing done.
 *
 * SPDX-License-Identifier: MIT
 */
#include "internal.h"

#define ZPA_WEAK __attribute__((weak))

ZPA_WEAK int zpa_shrinker_register(struct zpa_machine *m, const struct zpa_shrinker_ops *ops, void *arg,
				   struct zpa_shrinker **out)
{
	(void)m; (void)ops; (void)arg;
	if (out)
		*out = NULL;
	return 0;
}

ZPA_WEAK void zpa_shrinker_unregister(struct zpa_machine *m, struct zpa_shrinker *s) { (void)m; (void)s; }

ZPA_WEAK uint64_t zpa_drop_caches(struct zpa_machine *m, int what) { (void)m; (void)what; return 0; }

ZPA_WEAK int zpa_set_daemon_mode(struct zpa_machine *m, int mode)
{
	if (!m || mode < ZPA_DAEMON_INLINE || mode > ZPA_DAEMON_MANUAL || mode == ZPA_DAEMON_THREAD)
		return ZPA_EINVAL;
	m->daemon_mode = mode;
	return 0;
}

ZPA_WEAK int zpa_daemon_mode(const struct zpa_machine *m) { return m->daemon_mode; }

ZPA_WEAK uint64_t zpa_daemon_step(struct zpa_machine *m, uint64_t now_ms)
{
	if (now_ms > atomic_load(&m->sim_now_ms))
		atomic_store(&m->sim_now_ms, now_ms);
	return 0;
}

ZPA_WEAK uint64_t zpa_clock_ms(const struct zpa_machine *m) { return machine_now_ms(m); }

ZPA_WEAK uint64_t zpa_compact_memory(struct zpa_machine *m) { (void)m; return 0; }
ZPA_WEAK int64_t zpa_compact_node(struct zpa_machine *m, int nid)
{
	return nid >= 0 && (unsigned)nid < m->nr_nodes && m->nodes[nid] ? 0 : ZPA_ENOENT;
}
ZPA_WEAK int zpa_fragmentation_score(struct zpa_machine *m, int nid) { (void)m; (void)nid; return 0; }

ZPA_WEAK void zpa_set_oom_handler(struct zpa_machine *m, zpa_oom_fn fn, void *arg) { (void)m; (void)fn; (void)arg; }
ZPA_WEAK int zpa_oom_task_add(struct zpa_machine *m, struct zpa_task *task, const struct zpa_oom_task_info *info)
{
	(void)m; (void)task;
	if (!info || !info->ops || info->oom_score_adj < -1000 || info->oom_score_adj > 1000)
		return ZPA_EINVAL;
	return 0;
}
ZPA_WEAK int zpa_oom_task_remove(struct zpa_machine *m, struct zpa_task *task) { (void)m; (void)task; return 0; }
ZPA_WEAK int zpa_oom_task_set_adj(struct zpa_machine *m, struct zpa_task *task, short adj)
{
	(void)m; (void)task;
	return adj < -1000 || adj > 1000 ? ZPA_EINVAL : 0;
}
ZPA_WEAK bool zpa_task_is_oom_victim(const struct zpa_task *task) { return task && tsk_is_oom_victim(task); }
ZPA_WEAK int64_t zpa_oom_badness(struct zpa_machine *m, struct zpa_task *task, uint64_t totalpages)
{
	(void)m; (void)task; (void)totalpages;
	return INT64_MIN;
}
ZPA_WEAK uint64_t zpa_oom_reap(struct zpa_machine *m) { (void)m; return 0; }
ZPA_WEAK bool zpa_oom_kill(struct zpa_machine *m) { (void)m; return false; }
