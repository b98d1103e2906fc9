/*
 * machine.c - the MACHINE options every `zpa` command accepts, turning them
 * into a struct zpa_machine_config and a created machine, and the
 * human-readable description of a machine.
 *
 * A machine comes from exactly one source:
 *   --snapshot DIR   a Linux snapshot (zpa_config_from_snapshot),
 *   --machine FILE   a machine file (zpa_config_from_file),
 *   layout flags     a simulated PC built here (see build_pc_layout),
 *   nothing          the library's default machine (zpa_machine_config_default).
 * --set NAME=VALUE tunables are applied after creation with zpa_sysctl_set(),
 * whatever the source, in command-line order.
 *
 * The PC layout: each node owns `mem` bytes of physical address space, taken
 * in node order from address 0 upward, skipping the PCI hole [3 GiB, 4 GiB).
 * Inside node 0's first MiB only [one page, 0x9fc00) is usable RAM, as on a
 * PC whose firmware keeps page 0 and the legacy VGA/BIOS area.  Every range
 * is page-aligned.  CPUs are spread over the nodes in contiguous blocks
 * (CPU c on node c * nodes / cpus), so with fewer CPUs than nodes the last
 * nodes have none.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PCI_HOLE_START  (3ULL << 30)
#define PCI_HOLE_END    (4ULL << 30)
#define LEGACY_START    0x9fc00ULL
#define LEGACY_END      0x100000ULL

#define DEFAULT_NODES   2
#define DEFAULT_MEM     (4ULL << 30)

const char cli_machine_help[] =
	"Machine (pick at most one source; the default machine otherwise):\n"
	"  --snapshot DIR        a Linux snapshot directory (proc/zoneinfo, proc/sys/vm/,\n"
	"                        node files, dmesg.txt), e.g. an oracle recomputed/ dump\n"
	"  --machine FILE        a machine file (docs/MACHINE.md)\n"
	"  --nodes N             simulated PC with N NUMA nodes (default 2)\n"
	"  --mem SIZE            memory per node, K/M/G/T suffixes (default 4G)\n"
	"  --cpus N              CPUs, spread over the nodes in blocks (default: one per node)\n"
	"  --page-size SIZE      page size, a power of two >= 4K (default 4K)\n"
	"  --max-order N         buddy orders 0..N-1 (default 11)\n"
	"  --pageblock-order N   pages per pageblock = 2^N (default 9, or max-order - 1\n"
	"                        if that is smaller)\n"
	"  --movablecore SIZE    memory for ZONE_MOVABLE (like movablecore=), or N%\n"
	"  --no-thp              no transparent hugepages: min_free_kbytes from the\n"
	"                        square-root formula instead of the THP recommendation\n"
	"  --set NAME=VALUE      set a /proc/sys/vm tunable after creation (repeatable;\n"
	"                        also with --snapshot/--machine): min_free_kbytes,\n"
	"                        watermark_scale_factor, watermark_boost_factor,\n"
	"                        lowmem_reserve_ratio, percpu_pagelist_high_fraction\n"
	"\n"
	"The default machine: 2 nodes of 4 GiB (8 GiB), 2 CPUs (one per node),\n"
	"distances 10/20, a PC-like memory map (640 KiB low memory, the legacy hole,\n"
	"RAM up to 3 GiB, the PCI hole, RAM above 4 GiB): zones DMA, DMA32 and Normal\n"
	"on node 0 and Normal on node 1.  --nodes/--mem/--cpus/--page-size build the\n"
	"same kind of PC with other numbers.\n";

/* Remember the first layout flag, to name it if a snapshot/file is given too. */
static void note_layout(struct cli_machine_opts *o, const char *flag)
{
	if (!o->layout_flag)
		o->layout_flag = flag;
}

int cli_machine_option(struct cli_args *a, const char *cmd, struct cli_machine_opts *o)
{
	const char *v = NULL;
	bool bad = false;
	uint64_t n;

	if (cli_take_option(a, "--snapshot", true, &v, &bad)) {
		if (bad)
			return -1;
		if (o->snapshot || o->machine_file) {
			cli_usage_error(cmd, "only one of --snapshot and --machine may be given");
			return -1;
		}
		o->snapshot = v;
	} else if (cli_take_option(a, "--machine", true, &v, &bad)) {
		if (bad)
			return -1;
		if (o->snapshot || o->machine_file) {
			cli_usage_error(cmd, "only one of --snapshot and --machine may be given");
			return -1;
		}
		o->machine_file = v;
	} else if (cli_take_option(a, "--nodes", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_u64(v, ZPA_MAX_NODES, &n) || n == 0) {
			cli_usage_error(cmd, "--nodes: '%s' is not a number from 1 to %d", v, ZPA_MAX_NODES);
			return -1;
		}
		o->nodes = (unsigned)n;
		note_layout(o, "--nodes");
	} else if (cli_take_option(a, "--mem", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_size(v, &o->mem) || o->mem == 0 || o->mem > (1ULL << 50)) {
			cli_usage_error(cmd, "--mem: '%s' is not a size such as 512M or 4G", v);
			return -1;
		}
		note_layout(o, "--mem");
	} else if (cli_take_option(a, "--cpus", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_u64(v, ZPA_MAX_CPUS, &n) || n == 0) {
			cli_usage_error(cmd, "--cpus: '%s' is not a number from 1 to %d", v, ZPA_MAX_CPUS);
			return -1;
		}
		o->cpus = (unsigned)n;
		note_layout(o, "--cpus");
	} else if (cli_take_option(a, "--page-size", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_size(v, &o->page_size) || o->page_size < 4096 ||
		    o->page_size > (1ULL << 30) || (o->page_size & (o->page_size - 1))) {
			cli_usage_error(cmd, "--page-size: '%s' is not a power of two from 4K to 1G", v);
			return -1;
		}
		note_layout(o, "--page-size");
	} else if (cli_take_option(a, "--max-order", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_u64(v, ZPA_MAX_ORDER_LIMIT, &n) || n == 0) {
			cli_usage_error(cmd, "--max-order: '%s' is not a number from 1 to %d",
					v, ZPA_MAX_ORDER_LIMIT);
			return -1;
		}
		o->max_order = (unsigned)n;
		o->max_order_set = true;
		note_layout(o, "--max-order");
	} else if (cli_take_option(a, "--pageblock-order", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!cli_parse_u64(v, ZPA_MAX_ORDER_LIMIT, &n)) {
			cli_usage_error(cmd, "--pageblock-order: '%s' is not a number from 0 to %d",
					v, ZPA_MAX_ORDER_LIMIT);
			return -1;
		}
		o->pageblock_order = (unsigned)n;
		o->pageblock_order_set = true;
		note_layout(o, "--pageblock-order");
	} else if (cli_take_option(a, "--movablecore", true, &v, &bad)) {
		if (bad)
			return -1;
		o->movablecore = v;
		note_layout(o, "--movablecore");
	} else if (cli_take_option(a, "--no-thp", false, &v, &bad)) {
		if (bad)
			return -1;
		o->no_thp = true;
		note_layout(o, "--no-thp");
	} else if (cli_take_option(a, "--set", true, &v, &bad)) {
		if (bad)
			return -1;
		if (!strchr(v, '=') || v[0] == '=') {
			cli_usage_error(cmd, "--set: '%s' is not NAME=VALUE", v);
			return -1;
		}
		if (o->nr_sets == CLI_MAX_SETS) {
			cli_usage_error(cmd, "--set: at most %d settings", CLI_MAX_SETS);
			return -1;
		}
		o->sets[o->nr_sets++] = v;
	} else {
		return 0;
	}
	return 1;
}

/*
 * Append [start, end) of node nid, cut at the PCI hole, to cfg.  Both ends
 * are page-aligned.  Returns 0 or a ZPA_E* code.
 */
static int add_usable(struct zpa_machine_config *cfg, uint64_t start, uint64_t end, int nid)
{
	if (start < PCI_HOLE_START && end > PCI_HOLE_START) {
		int rc = add_usable(cfg, start, PCI_HOLE_START, nid);

		if (rc)
			return rc;
		start = PCI_HOLE_END;
	}
	if (start >= end)
		return 0;
	return zpa_config_add_range(cfg, start, end, ZPA_RANGE_USABLE, nid);
}

/* Advance an address by len bytes of memory, jumping over the PCI hole. */
static uint64_t advance_addr(uint64_t addr, uint64_t len)
{
	if (addr < PCI_HOLE_START && addr + len >= PCI_HOLE_START)
		return addr + len + (PCI_HOLE_END - PCI_HOLE_START);
	return addr + len;
}

/* Build the simulated PC described in the file comment. */
static int build_pc_layout(const char *cmd, const struct cli_machine_opts *o,
			   struct zpa_machine_config *cfg)
{
	unsigned nodes = o->nodes ? o->nodes : DEFAULT_NODES;
	uint64_t mem = o->mem ? o->mem : DEFAULT_MEM;
	unsigned cpus = o->cpus ? o->cpus : nodes;
	uint64_t page = o->page_size ? o->page_size : 4096;
	uint64_t addr = 0;
	unsigned shift = 0;
	int rc;

	while ((1ULL << shift) < page)
		shift++;
	if (mem % page)
		return cli_usage_error(cmd, "--mem must be a multiple of the page size (%llu)",
				       (unsigned long long)page);
	if (mem < 2 * LEGACY_END)
		return cli_usage_error(cmd, "--mem must be at least 2M per node");
	if (cpus > ZPA_MAX_CPUS)
		return cli_usage_error(cmd, "--cpus: at most %d", ZPA_MAX_CPUS);

	zpa_machine_config_init(cfg);
	cfg->page_shift = shift;
	cfg->nr_nodes = nodes;
	cfg->nr_cpus = cpus;
	for (unsigned c = 0; c < cpus; c++)
		cfg->cpu_node[c] = cpus >= nodes ? (int)((uint64_t)c * nodes / cpus) : (int)c;

	for (unsigned nid = 0; nid < nodes; nid++) {
		uint64_t end = advance_addr(addr, mem);

		if (nid == 0) {
			uint64_t low_end = LEGACY_START & ~(page - 1);

			rc = low_end > page ? add_usable(cfg, page, low_end, 0) : 0;
			if (!rc)
				rc = add_usable(cfg, LEGACY_END > page ? LEGACY_END : page, end, 0);
		} else {
			rc = add_usable(cfg, addr, end, (int)nid);
		}
		if (rc)
			return cli_error("cannot describe node %u's memory: %s", nid, zpa_strerror(rc));
		addr = end;
	}
	return CLI_EXIT_OK;
}

int cli_machine_config(const char *cmd, const struct cli_machine_opts *o,
		       struct zpa_machine_config *cfg)
{
	char err[512] = "";
	int rc;

	if ((o->snapshot || o->machine_file) && o->layout_flag)
		return cli_usage_error(cmd, "%s cannot be combined with %s (only --set can)",
				       o->layout_flag, o->snapshot ? "--snapshot" : "--machine");
	if (o->snapshot) {
		rc = zpa_config_from_snapshot(o->snapshot, cfg, err, sizeof(err));
		if (rc)
			return cli_error("cannot load snapshot %s: %s%s%s", o->snapshot,
					 zpa_strerror(rc), err[0] ? ": " : "", err);
		return CLI_EXIT_OK;
	}
	if (o->machine_file) {
		rc = zpa_config_from_file(o->machine_file, cfg, err, sizeof(err));
		if (rc)
			return cli_error("cannot load machine file %s: %s%s%s", o->machine_file,
					 zpa_strerror(rc), err[0] ? ": " : "", err);
		return CLI_EXIT_OK;
	}
	if (o->nodes || o->mem || o->cpus || o->page_size) {
		rc = build_pc_layout(cmd, o, cfg);
		if (rc)
			return rc;
	} else {
		zpa_machine_config_default(cfg);
	}
	if (o->max_order_set)
		cfg->max_order = o->max_order;
	if (o->pageblock_order_set)
		cfg->pageblock_order = o->pageblock_order;
	else if (cfg->pageblock_order >= cfg->max_order)
		cfg->pageblock_order = cfg->max_order - 1; /* Linux: min(HUGETLB order, MAX_ORDER - 1) */
	if (o->no_thp)
		cfg->thp_enabled = 0;
	if (o->movablecore) {
		const char *v = o->movablecore;
		size_t len = strlen(v);
		uint64_t n;

		if (len > 1 && v[len - 1] == '%') {
			char num[32];

			if (len - 1 >= sizeof(num))
				return cli_usage_error(cmd, "--movablecore: '%s' is not a size or a percentage", v);
			memcpy(num, v, len - 1);
			num[len - 1] = '\0';
			if (!cli_parse_u64(num, 100, &n))
				return cli_usage_error(cmd, "--movablecore: '%s' is not a percentage from 0%% to 100%%", v);
			cfg->movablecore_percent = (unsigned)n;
		} else if (cli_parse_size(v, &n)) {
			cfg->movablecore = n;
		} else {
			return cli_usage_error(cmd, "--movablecore: '%s' is not a size or a percentage", v);
		}
	}
	return CLI_EXIT_OK;
}

int cli_machine_create(const struct cli_machine_opts *o, const struct zpa_machine_config *cfg,
		       struct zpa_machine **out)
{
	struct zpa_machine *m = NULL;
	int rc = zpa_machine_create(cfg, &m);

	if (rc)
		return cli_error("cannot create the machine: %s", zpa_strerror(rc));
	for (unsigned i = 0; i < o->nr_sets; i++) {
		const char *eq = strchr(o->sets[i], '=');
		char name[128];
		size_t len = (size_t)(eq - o->sets[i]);

		if (len >= sizeof(name)) {
			zpa_machine_destroy(m);
			return cli_error("--set %s: %s", o->sets[i], zpa_strerror(ZPA_ENOENT));
		}
		memcpy(name, o->sets[i], len);
		name[len] = '\0';
		rc = zpa_sysctl_set(m, name, eq + 1);
		if (rc) {
			zpa_machine_destroy(m);
			return cli_error("--set %s: %s", o->sets[i], zpa_strerror(rc));
		}
	}
	*out = m;
	return CLI_EXIT_OK;
}

int cli_print_view(FILE *f, struct zpa_machine *m, const char *view)
{
	size_t size = 1 << 16;
	char *buf = NULL;
	long len;

	for (;;) {
		char *nbuf = realloc(buf, size);

		if (!nbuf) {
			free(buf);
			return ZPA_ENOMEM;
		}
		buf = nbuf;
		len = zpa_show(m, view, buf, size);
		if (len < 0 || (size_t)len < size)
			break;
		size = (size_t)len + 1;
	}
	if (len >= 0)
		fwrite(buf, 1, (size_t)len, f);
	free(buf);
	return len < 0 ? (int)len : 0;
}

/* Print the memory ranges of the config, dmesg-like, at most `limit` of them. */
static void describe_ranges(FILE *f, const struct zpa_machine_config *cfg, unsigned limit)
{
	char size[32];

	fprintf(f, "Memory ranges (%u):\n", cfg->nr_ranges);
	for (unsigned i = 0; i < cfg->nr_ranges && i < limit; i++) {
		const struct zpa_range *r = &cfg->ranges[i];

		fprintf(f, "  [mem 0x%016llx-0x%016llx] %-8s", (unsigned long long)r->start,
			(unsigned long long)(r->end - 1),
			r->type == ZPA_RANGE_USABLE ? "usable" : "reserved");
		if (r->type == ZPA_RANGE_USABLE)
			fprintf(f, " node %d", r->nid);
		fprintf(f, "  %s\n", cli_format_size(r->end - r->start, size, sizeof(size)));
	}
	if (cfg->nr_ranges > limit)
		fprintf(f, "  ... and %u more\n", cfg->nr_ranges - limit);
}

/* Print each node's CPUs and distances. */
static void describe_nodes(FILE *f, const struct zpa_machine_config *cfg, unsigned nodes)
{
	fprintf(f, "Nodes:\n");
	for (unsigned nid = 0; nid < nodes; nid++) {
		bool any = false;

		fprintf(f, "  node %u: CPUs ", nid);
		for (unsigned c = 0; c < cfg->nr_cpus; c++) {
			if (cfg->cpu_node[c] != (int)nid)
				continue;
			fprintf(f, "%s%u", any ? "," : "", c);
			any = true;
		}
		if (!any)
			fprintf(f, "none");
		if (nodes > 1 && nodes <= ZPA_MAX_NODES) {
			fprintf(f, "; distances");
			for (unsigned j = 0; j < nodes; j++) {
				unsigned d = cfg->distance[nid][j];

				fprintf(f, " %u", d ? d : (nid == j ? 10 : 20));
			}
		}
		fputc('\n', f);
	}
}

/* Print a table of the populated zones. */
static void describe_zones(FILE *f, struct zpa_machine *m, unsigned nodes, uint64_t page)
{
	char size[32];
	unsigned empty = 0;

	fprintf(f, "Zones:\n");
	fprintf(f, "  %-4s %-8s %12s %12s %10s %10s %10s %11s %8s %8s %8s\n", "node", "zone",
		"start_pfn", "end_pfn", "spanned", "present", "managed", "size", "min",
		"low", "high");
	for (unsigned nid = 0; nid < nodes; nid++) {
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info z;

			if (zpa_zone_info(m, (int)nid, t, &z) != 0)
				continue;
			if (z.spanned == 0) {
				empty++;
				continue;
			}
			fprintf(f, "  %-4u %-8s %12llu %12llu %10llu %10llu %10llu %11s %8llu %8llu %8llu\n",
				nid, z.name, (unsigned long long)z.start_pfn,
				(unsigned long long)(z.start_pfn + z.spanned),
				(unsigned long long)z.spanned, (unsigned long long)z.present,
				(unsigned long long)z.managed,
				cli_format_size(z.managed * page, size, sizeof(size)),
				(unsigned long long)z.min, (unsigned long long)z.low,
				(unsigned long long)z.high);
		}
	}
	if (empty)
		fprintf(f, "  (%u empty zone%s not listed; end_pfn is exclusive)\n", empty,
			empty == 1 ? "" : "s");
}

/* Print every tunable as /proc/sys/vm would show it. */
static void describe_tunables(FILE *f, struct zpa_machine *m)
{
	const char *const *names = zpa_sysctl_names();
	char val[256];

	fprintf(f, "Tunables (/proc/sys/vm):\n");
	for (unsigned i = 0; names && names[i]; i++) {
		if (zpa_sysctl_get(m, names[i], val, sizeof(val)) < 0)
			continue;
		val[strcspn(val, "\n")] = '\0';
		for (char *t = val; *t; t++)
			if (*t == '\t')
				*t = ' ';
		fprintf(f, "  %-32s %s\n", names[i], val);
	}
}

void cli_describe_machine(FILE *f, struct zpa_machine *m, const struct zpa_machine_config *cfg)
{
	unsigned nodes = zpa_nr_nodes(m);
	uint64_t page = 1ULL << cfg->page_shift;
	uint64_t ram = 0;
	char s1[32], s2[32], s3[32];

	for (unsigned i = 0; i < cfg->nr_ranges; i++)
		if (cfg->ranges[i].type == ZPA_RANGE_USABLE)
			ram += cfg->ranges[i].end - cfg->ranges[i].start;
	fprintf(f, "%u node%s, %u CPU%s, %s of usable RAM, %s managed by the allocator\n",
		nodes, nodes == 1 ? "" : "s", zpa_nr_cpus(m), zpa_nr_cpus(m) == 1 ? "" : "s",
		cli_format_size(ram, s1, sizeof(s1)),
		cli_format_size(zpa_total_managed(m) * page, s2, sizeof(s2)));
	fprintf(f, "page size %s, max_order %u (largest block %s), pageblock_order %u\n",
		cli_format_size(page, s1, sizeof(s1)), zpa_max_order(m),
		cli_format_size(page << (zpa_max_order(m) - 1), s3, sizeof(s3)),
		cfg->pageblock_order);
	fputc('\n', f);
	describe_ranges(f, cfg, 16);
	fputc('\n', f);
	describe_nodes(f, cfg, nodes);
	fputc('\n', f);
	describe_zones(f, m, nodes, page);
	fputc('\n', f);
	describe_tunables(f, m);
}
