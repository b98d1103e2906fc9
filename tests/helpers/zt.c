/* zt.c - shared test helpers (see zt.h).  SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
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

struct zpa_machine *zt_numa_machine(unsigned nodes, unsigned mib, bool no_pcp)
{
	const uint64_t M = 1ull << 20, G = 1ull << 30;
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	zpa_machine_config_init(&cfg);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	for (unsigned i = 0; i < nodes; i++) {
		zpa_config_add_range(&cfg, 4 * G + i * G, 4 * G + i * G + (uint64_t)mib * M, ZPA_RANGE_USABLE, (int)i);
		cfg.cpu_node[i] = (int)i;
		for (unsigned j = 0; j < nodes; j++)
			cfg.distance[i][j] = (uint8_t)(10 + 10 * (i > j ? i - j : j - i));
	}
	cfg.nr_cpus = nodes;
	cfg.no_pcp = no_pcp;
	cfg.exact_vmstat = true;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	return m;
}

zpa_nodemask_t zt_mask_of(const int *nids, int n)
{
	zpa_nodemask_t mk;
	zpa_nodemask_clear(&mk);
	for (int i = 0; i < n; i++)
		zpa_nodemask_set(&mk, nids[i]);
	return mk;
}

char *zt_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);

	assert_non_null(buf);
	if (!f) {
		buf[0] = '\0';
		return buf;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

void zt_assert_clean(struct zpa_machine *m)
{
	char report[4096];
	int rc = zpa_check(m, report, sizeof report);
	if (rc)
		fprintf(stderr, "zpa_check: %s\n", report);
	assert_int_equal(rc, 0);
}
