/*
 * procparse.h - parsers for the text of Linux's /proc/zoneinfo, buddyinfo
 * and pagetypeinfo, for tests: they compare zpa with real kernels (the
 * oracle dumps) and zpa's own printed views with Linux's layout.
 *
 * The parsers accept what Linux 6.1 prints (and the few extra fields newer
 * kernels add, such as "promo" and "high_min"/"high_max"), and reject
 * anything else with "line N: reason" in err, so a test that parses zpa's
 * output also checks that every line is in a shape Linux prints.  Results
 * are heap-allocated; free them with the matching *_free().  No global
 * state; nothing here depends on cmocka.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef ZPA_TESTS_PROCPARSE_H
#define ZPA_TESTS_PROCPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_NAME_MAX   24   /* zone, migratetype and counter names */
#define PP_MAX_ORDERS 32   /* free-block count columns */
#define PP_MAX_PROT   8    /* protection entries of one zone */
#define PP_MAX_TYPES  8    /* migratetype columns of "Number of blocks type" */

/* ------------------------------------------------------------ files */

/* Read a whole file as a NUL-terminated string (malloc'd), or NULL. */
char *pp_read_file(const char *path, size_t *len);

/* Zone type (enum zpa_zone_type value) of a zone name ("DMA32"), or -1. */
int pp_zone_type(const char *name);

/* ------------------------------------------------------------ zoneinfo */

/* A "name value" counter line (nr_free_pages 3712, numa_hit 1, ...). */
struct pp_stat {
	char name[48];
	uint64_t value;
};

/* One CPU's pageset block of a zone. */
struct pp_pageset {
	int cpu;
	long count, high, batch;
	bool has_high_min;           /* newer kernels: high_min/high_max */
	long high_min, high_max;
	long stat_threshold;         /* "vm stats threshold:", -1 if absent */
};

struct pp_zone {
	int nid;
	char name[PP_NAME_MAX];      /* "DMA32" */
	unsigned line;               /* of the "Node N, zone X" header */
	uint64_t free, boost, min, low, high, spanned, present, managed, cma;
	bool has_promo;              /* newer kernels */
	uint64_t promo;
	unsigned nr_protection;
	uint64_t protection[PP_MAX_PROT];
	bool has_start_pfn;          /* Linux prints it for populated zones only */
	uint64_t start_pfn;
	bool has_node_unreclaimable;
	long node_unreclaimable;
	unsigned nr_pagesets;
	struct pp_pageset *pagesets;
	unsigned nr_stats;           /* zone counters after "protection:" */
	struct pp_stat *stats;
	unsigned nr_node_stats;      /* "per-node stats" printed inside this zone */
	struct pp_stat *node_stats;
};

struct pp_zoneinfo {
	unsigned nr_zones;
	struct pp_zone *zones;       /* in file order */
};

/* Parse zoneinfo text.  Returns 0, or -1 with "line N: reason" in err. */
int pp_parse_zoneinfo(const char *text, struct pp_zoneinfo *out, char *err, size_t errlen);
/* pp_parse_zoneinfo() of a file; err names the file on failure. */
int pp_load_zoneinfo(const char *path, struct pp_zoneinfo *out, char *err, size_t errlen);
void pp_zoneinfo_free(struct pp_zoneinfo *zi);
/* The zone of node nid named name, or NULL. */
const struct pp_zone *pp_zoneinfo_find(const struct pp_zoneinfo *zi, int nid, const char *name);
/* A zone counter by name (false if the zone has none). */
bool pp_zone_stat(const struct pp_zone *z, const char *name, uint64_t *value);
/* The pageset of cpu in z, or NULL. */
const struct pp_pageset *pp_zone_pageset(const struct pp_zone *z, int cpu);

/* ------------------------------------------------------------ buddyinfo */

struct pp_buddy_row {
	int nid;
	char zone[PP_NAME_MAX];
	unsigned nr_orders;
	uint64_t count[PP_MAX_ORDERS];   /* free blocks per order */
};

struct pp_buddyinfo {
	unsigned nr_rows;
	struct pp_buddy_row *rows;
};

int pp_parse_buddyinfo(const char *text, struct pp_buddyinfo *out, char *err, size_t errlen);
void pp_buddyinfo_free(struct pp_buddyinfo *bi);
const struct pp_buddy_row *pp_buddyinfo_find(const struct pp_buddyinfo *bi, int nid, const char *zone);

/* ------------------------------------------------------------ pagetypeinfo */

/* "Node 0, zone DMA32, type Movable  1 2 ..." */
struct pp_pagetype_row {
	int nid;
	char zone[PP_NAME_MAX];
	char type[PP_NAME_MAX];
	unsigned nr_orders;
	uint64_t count[PP_MAX_ORDERS];
};

/* "Node 0, zone DMA32  61 953 2 0 0" under "Number of blocks type ...". */
struct pp_blocks_row {
	int nid;
	char zone[PP_NAME_MAX];
	unsigned nr_types;
	uint64_t count[PP_MAX_TYPES];    /* in the order of block_types */
};

struct pp_pagetypeinfo {
	int pageblock_order;             /* "Page block order:", -1 if absent */
	long pages_per_block;            /* "Pages per block:", -1 if absent */
	unsigned nr_orders;              /* columns of the "at order" header */
	unsigned nr_free_rows;
	struct pp_pagetype_row *free_rows;
	unsigned nr_block_types;         /* columns of "Number of blocks type" */
	char block_types[PP_MAX_TYPES][PP_NAME_MAX];
	unsigned nr_block_rows;
	struct pp_blocks_row *block_rows;
};

int pp_parse_pagetypeinfo(const char *text, struct pp_pagetypeinfo *out, char *err, size_t errlen);
void pp_pagetypeinfo_free(struct pp_pagetypeinfo *pi);
const struct pp_pagetype_row *pp_pagetypeinfo_find(const struct pp_pagetypeinfo *pi, int nid,
						   const char *zone, const char *type);
const struct pp_blocks_row *pp_pagetypeinfo_blocks(const struct pp_pagetypeinfo *pi, int nid,
						   const char *zone);

#endif /* ZPA_TESTS_PROCPARSE_H */
