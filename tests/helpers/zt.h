/*
 * zt.h - the tiny shared part of zpa's tests: cmocka includes, machines
 * used by several tests, and the audit every test ends with.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_TESTS_ZT_H
#define ZPA_TESTS_ZT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zpa.h"

/* Log sink that counts messages instead of printing them. */
struct zt_log {
	int count;
	char last[512];
};
void zt_log_fn(void *arg, int level, const char *msg);

/*
 * A small machine with every zone type: node 0 holds DMA and DMA32
 * (RAM 4 KiB..64 MiB), node 1 holds Normal, HighMem and Movable
 * (RAM 4 GiB..4 GiB+192 MiB, highmem_start 4 GiB+96 MiB, movablecore 32 MiB).
 * Unbacked.  Messages go to *log when log is not NULL.
 */
void zt_config_all_zones(struct zpa_machine_config *cfg, struct zt_log *log);

/* A one-node machine of `mib` MiB starting at 1 MiB (DMA, DMA32, Normal as sized). */
void zt_config_simple(struct zpa_machine_config *cfg, unsigned mib, struct zt_log *log);

/*
 * A NUMA machine for placement tests: `nodes` nodes of `mib` MiB each at
 * 4 GiB + nid GiB (Normal only), CPU i on node i, distance 10 + 10 * |i - j|,
 * exact counters; no per-CPU caching when no_pcp.
 */
struct zpa_machine *zt_numa_machine(unsigned nodes, unsigned mib, bool no_pcp);

/* A node mask of the listed nodes: ZT_MASK(0, 2). */
zpa_nodemask_t zt_mask_of(const int *nids, int n);
#define ZT_MASK(...) zt_mask_of((const int[]){ __VA_ARGS__ }, (int)(sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int)))

/* A whole file as a NUL-terminated malloc'd string; "" when it cannot be read. */
char *zt_read_file(const char *path);

/* Assert zpa_check() is clean, printing its report otherwise. */
void zt_assert_clean(struct zpa_machine *m);

#endif
