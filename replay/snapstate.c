/*
 * snapstate.c - the numbers of a snapshot that describe the allocator's
 * state (not its shape, which zpa_config_from_snapshot() reads): per zone,
 * zoneinfo's start_pfn, spans, free pages and per-CPU list counts,
 * buddyinfo's free blocks per order, and pagetypeinfo's free blocks per
 * order and migratetype and pageblocks per migratetype.
 *
 * Files are looked for as DUMP/proc/NAME, then DUMP/NAME.  Migratetype
 * columns are matched by name ("Unmovable", "Movable", "Reclaimable",
 * "HighAtomic", "CMA", "Isolate"), so kernels with and without CMA read
 * alike.  A line this parser does not understand inside a known block is an
 * error naming the file and line; lines outside the blocks it reads (the
 * per-node stats of zoneinfo) are skipped.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rp_int.h"

static int snap_err(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int snap_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int rp_snapshot_dump_dir(const char *dir, char *out, size_t outlen)
{
	static const char *const starts[] = { "before-workload", "before" };
	static const char *const dumps[] = { "recomputed", "boot" };
	char p[1200];

	for (unsigned i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, starts[i]);
		if (is_dir(p)) {
			snprintf(out, outlen, "%s", p);
			return 0;
		}
	}
	if (!is_dir(dir))
		return ZPA_ENOENT;
	/* A dump itself, else an oracle configuration's dump (as the machine loader picks it). */
	snprintf(p, sizeof(p), "%s/proc/zoneinfo", dir);
	bool has = is_file(p);
	snprintf(p, sizeof(p), "%s/zoneinfo", dir);
	has = has || is_file(p);
	for (unsigned i = 0; !has && i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dumps[i]);
		if (is_dir(p)) {
			snprintf(out, outlen, "%s", p);
			return 0;
		}
	}
	snprintf(out, outlen, "%s", dir);
	return 0;
}

/* Read DUMP/proc/NAME or DUMP/NAME; *path gets the one used.  NULL if neither exists. */
static char *read_dump_file(const char *dump, const char *name, char *path, size_t plen)
{
	snprintf(path, plen, "%s/proc/%s", dump, name);
	if (!is_file(path))
		snprintf(path, plen, "%s/%s", dump, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap + 1);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int zone_type_of(const char *name, size_t n)
{
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		const char *zn = zpa_zone_type_name((enum zpa_zone_type)t);
		if (zn && strlen(zn) == n && strncmp(zn, name, n) == 0)
			return t;
	}
	return -1;
}

static int migratetype_of(const char *name, size_t n)
{
	for (int mt = 0; mt < ZPA_MIGRATE_TYPES; mt++) {
		const char *mn = zpa_migratetype_name(mt);
		if (mn && strlen(mn) == n && strncmp(mn, name, n) == 0)
			return mt;
	}
	return -1;
}

static struct rp_snap_zone *get_zone(struct rp_snapshot *s, int nid, int type, bool create)
{
	for (unsigned i = 0; i < s->nr_zones; i++)
		if (s->zones[i].nid == nid && s->zones[i].zone_type == type)
			return &s->zones[i];
	if (!create || s->nr_zones >= RP_MAX_ZONES)
		return NULL;
	struct rp_snap_zone *z = &s->zones[s->nr_zones++];
	memset(z, 0, sizeof(*z));
	z->nid = nid;
	z->zone_type = type;
	return z;
}

/* "Node 0, zone   Normal" at p: nid, zone type and the rest of the line. */
static bool parse_zone_header(const char *p, int *nid, int *type, const char **rest)
{
	char *e;
	if (strncmp(p, "Node", 4) != 0)
		return false;
	long n = strtol(p + 4, &e, 10);
	if (e == p + 4 || *e != ',' || n < 0 || n >= ZPA_MAX_NODES)
		return false;
	p = e + 1;
	while (*p == ' ')
		p++;
	if (strncmp(p, "zone", 4) != 0)
		return false;
	p += 4;
	while (*p == ' ')
		p++;
	const char *w = p;
	while (*p && *p != ' ' && *p != ',' && *p != '\n')
		p++;
	int t = zone_type_of(w, (size_t)(p - w));
	if (t < 0)
		return false;
	*nid = (int)n;
	*type = t;
	*rest = p;
	return true;
}

/* Up to max unsigned numbers separated by blanks; returns how many. */
static unsigned parse_counts(const char *p, uint64_t *out, unsigned max, const char **endp)
{
	unsigned n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p) || n == max)
			break;
		char *e;
		out[n++] = strtoull(p, &e, 10);
		p = e;
	}
	if (endp)
		*endp = p;
	return n;
}

static char *next_line(char **cur)
{
	char *l = *cur;
	if (!*l)
		return NULL;
	char *nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = l + strlen(l);
	}
	return l;
}

static int parse_zoneinfo(struct rp_snapshot *s, char *text, const char *path, char *err, size_t errlen)
{
	struct rp_snap_zone *z = NULL;
	unsigned lineno = 0;
	int cpu = -1;
	char *cur = text, *l;

	while ((l = next_line(&cur))) {
		int nid, type;
		const char *rest;
		lineno++;
		if (parse_zone_header(l, &nid, &type, &rest)) {
			z = get_zone(s, nid, type, true);
			if (!z)
				return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: too many zones", path, lineno);
			cpu = -1;
			continue;
		}
		if (!z)
			continue;
		const char *p = l;
		while (*p == ' ')
			p++;
		uint64_t v;
		char *e;
		if (strncmp(p, "pages free", 10) == 0) {
			z->free_pages = strtoull(p + 10, &e, 10);
		} else if (strncmp(p, "spanned", 7) == 0) {
			z->spanned = strtoull(p + 7, &e, 10);
		} else if (strncmp(p, "present", 7) == 0) {
			z->present = strtoull(p + 7, &e, 10);
		} else if (strncmp(p, "managed", 7) == 0) {
			z->managed = strtoull(p + 7, &e, 10);
		} else if (strncmp(p, "start_pfn:", 10) == 0) {
			z->start_pfn = strtoull(p + 10, &e, 10);
		} else if (strncmp(p, "cpu:", 4) == 0) {
			v = strtoull(p + 4, &e, 10);
			if (e == p + 4 || v >= ZPA_MAX_CPUS)
				return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: bad cpu line", path, lineno);
			cpu = (int)v;
		} else if (strncmp(p, "count:", 6) == 0 && cpu >= 0) {
			v = strtoull(p + 6, &e, 10);
			if (z->nr_pcp < ZPA_MAX_CPUS) {
				z->pcp_cpu[z->nr_pcp] = cpu;
				z->pcp_count[z->nr_pcp] = (int)v;
				z->nr_pcp++;
			}
		}
	}
	return 0;
}

static int parse_buddyinfo(struct rp_snapshot *s, char *text, const char *path, char *err, size_t errlen)
{
	unsigned lineno = 0;
	char *cur = text, *l;

	while ((l = next_line(&cur))) {
		int nid, type;
		const char *rest;
		lineno++;
		if (!*l)
			continue;
		if (!parse_zone_header(l, &nid, &type, &rest))
			return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: not a buddyinfo line", path, lineno);
		struct rp_snap_zone *z = get_zone(s, nid, type, true);
		if (!z)
			return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: too many zones", path, lineno);
		unsigned n = parse_counts(rest, z->buddy, ZPA_MAX_ORDER_LIMIT, NULL);
		if (n == 0)
			return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: no free block counts", path, lineno);
		z->has_buddy = true;
		if (!s->nr_orders || n < s->nr_orders)
			s->nr_orders = n;
	}
	return 0;
}

static int parse_pagetypeinfo(struct rp_snapshot *s, char *text, const char *path, char *err, size_t errlen)
{
	unsigned lineno = 0;
	char *cur = text, *l;
	int block_cols[ZPA_MIGRATE_TYPES];
	unsigned nr_block_cols = 0;

	while ((l = next_line(&cur))) {
		int nid, type;
		const char *rest;
		lineno++;
		if (strncmp(l, "Number of blocks type", 21) == 0) {
			/* The column names: which migratetype each count is. */
			const char *p = l + 21;
			nr_block_cols = 0;
			for (;;) {
				while (*p == ' ')
					p++;
				if (!*p)
					break;
				const char *w = p;
				while (*p && *p != ' ')
					p++;
				int mt = migratetype_of(w, (size_t)(p - w));
				if (mt < 0 || nr_block_cols >= ZPA_MIGRATE_TYPES)
					return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: unknown migratetype '%.*s'", path,
							lineno, (int)(p - w), w);
				block_cols[nr_block_cols++] = mt;
			}
			continue;
		}
		if (strncmp(l, "Node", 4) != 0)
			continue;
		/* "Node    0, zone      DMA, type    Unmovable      0 ..." or a block count row. */
		char *p = l + 4;
		while (*p == ' ')
			p++;
		char hdr[128];
		snprintf(hdr, sizeof(hdr), "Node %s", p);
		if (!parse_zone_header(hdr, &nid, &type, &rest))
			return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: bad zone header", path, lineno);
		struct rp_snap_zone *z = get_zone(s, nid, type, true);
		if (!z)
			return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: too many zones", path, lineno);
		const char *tp = strstr(l, ", type");
		if (tp) {
			tp += 6;
			while (*tp == ' ')
				tp++;
			const char *w = tp;
			while (*tp && *tp != ' ')
				tp++;
			int mt = migratetype_of(w, (size_t)(tp - w));
			if (mt < 0)
				return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: unknown migratetype '%.*s'", path, lineno,
						(int)(tp - w), w);
			uint64_t counts[ZPA_MAX_ORDER_LIMIT];
			unsigned n = parse_counts(tp, counts, ZPA_MAX_ORDER_LIMIT, NULL);
			if (n == 0)
				return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: no free block counts", path, lineno);
			for (unsigned o = 0; o < n; o++)
				z->free[o][mt] = counts[o];
			z->has_free_types = true;
			if (!s->nr_orders || n < s->nr_orders)
				s->nr_orders = n;
		} else {
			/* a block-count row: "Node 0, zone      DMA            1            7 ..." */
			const char *after = strstr(l, "zone");
			after += 4;
			while (*after == ' ')
				after++;
			while (*after && *after != ' ')
				after++;
			uint64_t counts[ZPA_MIGRATE_TYPES];
			unsigned n = parse_counts(after, counts, ZPA_MIGRATE_TYPES, NULL);
			if (!nr_block_cols || n != nr_block_cols)
				return snap_err(err, errlen, ZPA_EPARSE, "%s:%u: %u block counts for %u columns", path,
						lineno, n, nr_block_cols);
			for (unsigned i = 0; i < n; i++)
				z->blocks[block_cols[i]] = counts[i];
			z->has_blocks = true;
		}
	}
	return 0;
}

int rp_snapshot_read(const char *dump, struct rp_snapshot *s, char *err, size_t errlen)
{
	char path[1300];
	char *text;
	int rc;

	memset(s, 0, sizeof(*s));
	snprintf(s->dump, sizeof(s->dump), "%s", dump);
	text = read_dump_file(dump, "zoneinfo", path, sizeof(path));
	if (!text)
		return snap_err(err, errlen, ZPA_EIO, "%s: no proc/zoneinfo or zoneinfo", dump);
	rc = parse_zoneinfo(s, text, path, err, errlen);
	free(text);
	if (rc)
		return rc;
	text = read_dump_file(dump, "buddyinfo", path, sizeof(path));
	if (text) {
		rc = parse_buddyinfo(s, text, path, err, errlen);
		free(text);
		if (rc)
			return rc;
	}
	text = read_dump_file(dump, "pagetypeinfo", path, sizeof(path));
	if (text) {
		rc = parse_pagetypeinfo(s, text, path, err, errlen);
		free(text);
		if (rc)
			return rc;
	}
	return 0;
}
