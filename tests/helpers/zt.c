/* zt.c - shared test helpers (see zt.h).  SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "helpers/zt.h"

void zt_log_fn(void *arg, int level, const char *msg)
{
	struct zt_log *l = arg;
	(void)level;
	l->count++;
	snprintf(l->last, sizeof l->last, "%s", msg);
}

void zt_config_all_zones(struct zpa_machine_config *cfg, struct zt_log *log)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	zpa_machine_config_init(cfg);
	zpa_config_add_range(cfg, 4096, 64 * M, ZPA_RANGE_USABLE, 0);
	zpa_config_add_range(cfg, 0, 1 * M, ZPA_RANGE_RESERVED, 0);
	zpa_config_add_range(cfg, 4 * G, 4 * G + 192 * M, ZPA_RANGE_USABLE, 1);
	cfg->highmem_start = 4 * G + 96 * M;
	cfg->movablecore = 32 * M;
	cfg->nr_cpus = 2;
	cfg->cpu_node[0] = 0;
	cfg->cpu_node[1] = 1;
	if (log) {
		cfg->log = zt_log_fn;
		cfg->log_arg = log;
	}
}

void zt_config_simple(struct zpa_machine_config *cfg, unsigned mib, struct zt_log *log)
{
	zpa_machine_config_init(cfg);
	zpa_config_add_range(cfg, 1ull << 20, (uint64_t)(mib + 1) << 20, ZPA_RANGE_USABLE, 0);
	cfg->nr_cpus = 1;
	if (log) {
		cfg->log = zt_log_fn;
		cfg->log_arg = log;
	}
}

void zt_assert_clean(struct zpa_machine *m)
{
	char report[4096];
	int rc = zpa_check(m, report, sizeof report);
	if (rc)
		fprintf(stderr, "zpa_check: %s\n", report);
	assert_int_equal(rc, 0);
}
