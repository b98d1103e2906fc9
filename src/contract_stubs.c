/*
 * contract_stubs.c - WEAK placeholders for the public calls of zpa/reclaim.h
 * whose implementations come with the reclaim work (vmscan.c): the
 * shrinkers and drop_caches.  They let the models (model.c) and `zpa run
 * pressure` build and run against the contract before that work is merged.
 * Every definition is weak, so the real one wins wherever both are linked;
 * DELETE THIS FILE once vmscan.c defines these calls (`nm libzpa.a | grep
 * ' W zpa_'` then shows none of them).
 *
 * What the placeholders do: nothing, and they report nothing done.
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
