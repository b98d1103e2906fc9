/*
 * machine_file.c - machine files: a small line-based text description of a
 * machine (memory map, nodes, CPUs, zone limits, tunables), documented in
 * docs/MACHINE.md, and the text helpers the snapshot loader shares.
 *
 * A file is read line by line.  '#' starts a comment; blank lines are
 * skipped; every other line is a keyword and its arguments separated by
 * blanks.  Numbers are decimal or 0x-hex with an optional K/M/G/T/P/E suffix
 * (powers of 1024).  Address ranges are "A-B" (B inclusive, as Linux prints
 * [mem A-B]) or "A+SIZE".  Later lines override earlier ones for settings;
 * ranges, nodes and CPUs accumulate.
 *
 * Checks that need the whole file (nodes declared after they are used,
 * overlapping RAM, reserved memory outside RAM, the lowmem_reserve_ratio
 * count against the configured zones) run after the last line and still
 * name the offending line.  The caller's cfg is written only on success;
 * errors are "file:line: reason".  Nothing here aborts or prints.  This file
 * reads files with stdio: hosted builds only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"


/* ---------------------------------------------------------------------- */
/* Shared text helpers                                                      */

/* A number at s: decimal, or hex after 0x.  Returns 0 (value and end set) or -1. */
static int parse_number(const char *s, const char **endp, uint64_t *out)
{
	const char *p = s;
	unsigned base = 10;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
		base = 16;
		p += 2;
	} else if (!isdigit((unsigned char)*p)) {
		return -1;
	}
	for (;; p++) {
		unsigned d;
		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	*endp = p;
	return 0;
}

/*
 * zpa_parse_size(): a number at s (decimal, or hex after 0x) with an
 * optional suffix K, M, G, T, P or E (either case, powers of 1024), like
 * Linux's memparse().  Returns 0 with *out and *endp just past what was
 * read, or -1 if there is no number or it overflows 64 bits.
 */
int zpa_parse_size(const char *s, const char **endp, uint64_t *out)
{
	const char *p;
	uint64_t v;

	if (parse_number(s, &p, &v))
		return -1;
	unsigned shift = 0;
	switch (*p) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	case 'p': case 'P': shift = 50; break;
	case 'e': case 'E': shift = 60; break;
	}
	if (shift) {
		if (v > (UINT64_MAX >> shift))
			return -1;
		v <<= shift;
		p++;
	}
	*out = v;
	if (endp)
		*endp = p;
	return 0;
}

/*
 * zpa_parse_cpulist(): a CPU list as sysfs prints it ("0-3,5", or empty),
 * leading and trailing blanks allowed.  Sets the listed bits in bits (nbits
 * wide, not cleared first).  Returns 0, or -1 for bad syntax, a reversed
 * range or a CPU >= nbits.
 */
int zpa_parse_cpulist(const char *s, uint64_t *bits, unsigned nbits)
{
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;
	for (;;) {
		uint64_t a, b;
		if (parse_number(p, &p, &a))
			return -1;
		b = a;
		if (*p == '-') {
			p++;
			if (parse_number(p, &p, &b))
				return -1;
		}
		if (b < a || b >= nbits)
			return -1;
		for (uint64_t c = a; c <= b; c++)
			bits[c / 64] |= 1ull << (c % 64);
		if (*p != ',')
			break;
		p++;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return *p ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* The machine file                                                         */

#define MF_MAX_TOKENS 16
#define MF_LINE_MAX   4096

struct mf_range {
	uint64_t start, end;      /* bytes, [start, end) */
	int type, nid;
	unsigned line;
};

struct mf {
	const char *path;
	char *err;
	size_t errlen;
	unsigned line;            /* current line */
	struct zpa_machine_config c;

	struct mf_range ranges[ZPA_MAX_RANGES];
	unsigned nr_ranges;

	unsigned nodes_declared, nodes_line;       /* `nodes N`; 0: not given */
	unsigned node_ref_line[ZPA_MAX_NODES];     /* first line naming each node; 0: none */
	unsigned base_nodes;                       /* nodes of a snapshot base */

	unsigned cpus_declared, cpus_line;         /* `cpus N`; 0: not given */
	unsigned cpu_line[ZPA_MAX_CPUS];           /* line that placed each CPU; 0: none */
	unsigned base_cpus;                        /* CPUs of a snapshot base */

	bool dist_set[ZPA_MAX_NODES][ZPA_MAX_NODES];

	char lrr[512];                             /* lowmem_reserve_ratio text */
	unsigned lrr_line;
	bool any_directive;
};

static int __attribute__((format(printf, 2, 3)))
mf_error(struct mf *f, const char *fmt, ...)
{
	if (f->err && f->errlen) {
		int n = f->line ? snprintf(f->err, f->errlen, "%s:%u: ", f->path, f->line)
				: snprintf(f->err, f->errlen, "%s: ", f->path);
		if (n >= 0 && (size_t)n < f->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(f->err + n, f->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return ZPA_EPARSE;
}

/* Error about an earlier line. */
static int __attribute__((format(printf, 3, 4)))
mf_error_at(struct mf *f, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	f->line = line;
	return mf_error(f, "%s", msg);
}

/* A whole token as a size. */
static int tok_size(struct mf *f, const char *tok, const char *what, uint64_t *out)
{
	const char *end;
	if (zpa_parse_size(tok, &end, out) || *end)
		return mf_error(f, "bad %s \"%s\" (expected a number like 4096, 0x1000 or 16M)", what, tok);
	return 0;
}

/* A whole token as a plain number in [lo, hi]. */
static int tok_uint(struct mf *f, const char *tok, const char *what, uint64_t lo, uint64_t hi,
		    uint64_t *out)
{
	const char *end;
	if (parse_number(tok, &end, out) || *end)
		return mf_error(f, "bad %s \"%s\" (expected a number)", what, tok);
	if (*out < lo || *out > hi)
		return mf_error(f, "%s %" PRIu64 " out of range %" PRIu64 "..%" PRIu64, what, *out, lo, hi);
	return 0;
}

static int tok_node(struct mf *f, const char *tok, int *nid)
{
	uint64_t v;
	int r = tok_uint(f, tok, "node", 0, ZPA_MAX_NODES - 1, &v);
	if (r)
		return r;
	*nid = (int)v;
	if (!f->node_ref_line[v])
		f->node_ref_line[v] = f->line;
	return 0;
}

static int tok_onoff(struct mf *f, const char *tok, const char *what, bool *out)
{
	if (!strcmp(tok, "on") || !strcmp(tok, "yes") || !strcmp(tok, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(tok, "off") || !strcmp(tok, "no") || !strcmp(tok, "0")) {
		*out = false;
		return 0;
	}
	return mf_error(f, "%s takes on or off, not \"%s\"", what, tok);
}

/* "A-B" (B inclusive) or "A+SIZE" into bytes [start, end). */
static int tok_range(struct mf *f, const char *tok, uint64_t *start, uint64_t *end)
{
	const char *p;
	uint64_t a, b;
	if (zpa_parse_size(tok, &p, &a) || (*p != '-' && *p != '+'))
		return mf_error(f, "bad range \"%s\" (expected START-END or START+SIZE)", tok);
	char op = *p++;
	const char *q;
	if (zpa_parse_size(p, &q, &b) || *q)
		return mf_error(f, "bad range \"%s\" (expected START-END or START+SIZE)", tok);
	if (op == '-') {
		if (b < a)
			return mf_error(f, "range \"%s\" ends before it starts", tok);
		if (b == UINT64_MAX)
			return mf_error(f, "range \"%s\" reaches past the 64-bit address space", tok);
		*start = a;
		*end = b + 1;
	} else {
		if (!b)
			return mf_error(f, "range \"%s\" is empty", tok);
		if (b > UINT64_MAX - a)
			return mf_error(f, "range \"%s\" reaches past the 64-bit address space", tok);
		*start = a;
		*end = a + b;
	}
	return 0;
}

static int add_range(struct mf *f, uint64_t start, uint64_t end, int type, int nid)
{
	if (f->nr_ranges >= ZPA_MAX_RANGES)
		return mf_error(f, "more than %d ranges", ZPA_MAX_RANGES);
	f->ranges[f->nr_ranges++] = (struct mf_range){ start, end, type, nid, f->line };
	return 0;
}

/* movablecore/kernelcore: "SIZE" or "N%". */
static int tok_core(struct mf *f, const char *kw, const char *tok, uint64_t *bytes, unsigned *percent)
{
	size_t n = strlen(tok);
	if (n && tok[n - 1] == '%') {
		char buf[32];
		uint64_t v;
		if (n >= sizeof buf)
			return mf_error(f, "bad %s \"%s\"", kw, tok);
		memcpy(buf, tok, n - 1);
		buf[n - 1] = '\0';
		int r = tok_uint(f, buf, kw, 0, 100, &v);
		if (r)
			return r;
		*percent = (unsigned)v;
		*bytes = 0;
		return 0;
	}
	int r = tok_size(f, tok, kw, bytes);
	if (!r)
		*percent = 0;
	return r;
}

static const char *const zone_kw[ZPA_NR_ZONE_TYPES] = {
	"dma", "dma32", "normal", "highmem", "movable", "device",
};

static int do_zones(struct mf *f, char **tok, int n)
{
	bool want[ZPA_NR_ZONE_TYPES] = { false };
	for (int i = 1; i < n; i++) {
		int t = -1;
		for (int k = 0; k < ZPA_NR_ZONE_TYPES; k++)
			if (!strcasecmp(tok[i], zone_kw[k]))
				t = k;
		if (t < 0)
			return mf_error(f, "unknown zone \"%s\" (dma, dma32, normal, highmem, movable, device)",
					tok[i]);
		want[t] = true;
	}
	if (!want[ZPA_ZONE_NORMAL])
		return mf_error(f, "the Normal zone always exists: list normal");
	if (!want[ZPA_ZONE_DMA])
		f->c.dma_limit = 0;
	else if (!f->c.dma_limit)
		f->c.dma_limit = 16ull << 20;
	if (!want[ZPA_ZONE_DMA32])
		f->c.dma32_limit = 0;
	else if (!f->c.dma32_limit)
		f->c.dma32_limit = 4ull << 30;
	if (!want[ZPA_ZONE_HIGHMEM])
		f->c.highmem_start = 0;
	else if (!f->c.highmem_start)
		f->c.highmem_start = 896ull << 20;
	f->c.zone_device = want[ZPA_ZONE_DEVICE];
	return 0;
}

static int do_sysctl(struct mf *f, char **tok, int n)
{
	/* "sysctl name=value..." or "sysctl name value..." */
	char name[64], value[512];
	if (n < 2)
		return mf_error(f, "sysctl needs NAME=VALUE");
	const char *eq = strchr(tok[1], '=');
	size_t nl = eq ? (size_t)(eq - tok[1]) : strlen(tok[1]);
	if (nl >= sizeof name)
		return mf_error(f, "unknown sysctl \"%s\"", tok[1]);
	memcpy(name, tok[1], nl);
	name[nl] = '\0';
	value[0] = '\0';
	size_t vl = 0;
	if (eq && eq[1])
		vl = (size_t)snprintf(value, sizeof value, "%s", eq + 1);
	for (int i = 2; i < n && vl < sizeof value; i++)
		vl += (size_t)snprintf(value + vl, sizeof value - vl, "%s%s", vl ? " " : "", tok[i]);
	if (vl >= sizeof value)
		return mf_error(f, "sysctl value too long");
	if (!value[0])
		return mf_error(f, "sysctl %s has no value", name);

	if (!strcmp(name, "lowmem_reserve_ratio")) {
		/* Checked against the zones once the whole file is read. */
		snprintf(f->lrr, sizeof f->lrr, "%s", value);
		f->lrr_line = f->line;
		return 0;
	}
	static const struct { const char *name; size_t off; uint64_t lo, hi; } scalars[] = {
		{ "min_free_kbytes", offsetof(struct zpa_machine_config, min_free_kbytes), 0, INT_MAX },
		{ "watermark_scale_factor", offsetof(struct zpa_machine_config, watermark_scale_factor), 1, 3000 },
		{ "watermark_boost_factor", offsetof(struct zpa_machine_config, watermark_boost_factor), 0, INT_MAX },
		{ "percpu_pagelist_high_fraction",
		  offsetof(struct zpa_machine_config, percpu_pagelist_high_fraction), 0, INT_MAX },
	};
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if (strcmp(name, scalars[i].name))
			continue;
		uint64_t v;
		int r = tok_uint(f, value, name, scalars[i].lo, scalars[i].hi, &v);
		if (r)
			return r;
		if (!strcmp(name, "percpu_pagelist_high_fraction") && v && v < 8)
			return mf_error(f, "percpu_pagelist_high_fraction must be 0 or at least 8, not %" PRIu64, v);
		*(long *)((char *)&f->c + scalars[i].off) = (long)v;
		return 0;
	}
	return mf_error(f, "unknown sysctl \"%s\" (min_free_kbytes, watermark_scale_factor, "
			"watermark_boost_factor, lowmem_reserve_ratio, percpu_pagelist_high_fraction)", name);
}

static int do_node(struct mf *f, char **tok, int n)
{
	int nid, r;
	if (n < 2)
		return mf_error(f, "node needs a node number");
	if ((r = tok_node(f, tok[1], &nid)))
		return r;
	if (n == 2)
		return 0;
	if (strcmp(tok[2], "cpus") || n > 4)
		return mf_error(f, "expected \"node N\" or \"node N cpus LIST\"");
	if (n == 3 || !strcmp(tok[3], "none"))
		return 0;
	uint64_t bits[(ZPA_MAX_CPUS + 63) / 64] = { 0 };
	if (zpa_parse_cpulist(tok[3], bits, ZPA_MAX_CPUS))
		return mf_error(f, "bad CPU list \"%s\" (ranges like 0-3,5 below %d)", tok[3], ZPA_MAX_CPUS);
	for (unsigned cpu = 0; cpu < ZPA_MAX_CPUS; cpu++) {
		if (!(bits[cpu / 64] >> (cpu % 64) & 1))
			continue;
		if (f->cpu_line[cpu])
			return mf_error(f, "CPU %u is already on node %d (line %u)", cpu, f->c.cpu_node[cpu],
					f->cpu_line[cpu]);
		f->cpu_line[cpu] = f->line;
		f->c.cpu_node[cpu] = nid;
	}
	return 0;
}

/* Start from a snapshot directory (first directive only). */
static int do_snapshot(struct mf *f, const char *arg)
{
	char dir[4096], msg[1024];
	if (f->any_directive)
		return mf_error(f, "snapshot must be the first directive");
	if (arg[0] == '/') {
		snprintf(dir, sizeof dir, "%s", arg);
	} else {
		const char *slash = strrchr(f->path, '/');
		int base = slash ? (int)(slash - f->path) : 0;
		if (slash)
			snprintf(dir, sizeof dir, "%.*s/%s", base, f->path, arg);
		else
			snprintf(dir, sizeof dir, "%s", arg);
	}
	msg[0] = '\0';
	int r = zpa_config_from_snapshot(dir, &f->c, msg, sizeof msg);
	if (r) {
		mf_error(f, "snapshot %s: %s", arg, msg);
		return r == ZPA_EIO ? ZPA_EIO : ZPA_EPARSE;
	}
	/* Its ranges join ours (re-added at the end); its shape is the base. */
	for (unsigned i = 0; i < f->c.nr_ranges; i++) {
		const struct zpa_range *zr = &f->c.ranges[i];
		if ((r = add_range(f, zr->start, zr->end, zr->type, zr->nid)))
			return r;
	}
	f->c.nr_ranges = 0;
	f->base_nodes = f->c.nr_nodes;
	f->base_cpus = f->c.nr_cpus;
	for (unsigned a = 0; a < f->c.nr_nodes; a++)
		for (unsigned b = 0; b < f->c.nr_nodes; b++)
			f->dist_set[a][b] = f->c.distance[a][b] != 0;
	return 0;
}

static int log_level_by_name(const char *s)
{
	if (!strcmp(s, "err") || !strcmp(s, "error"))
		return ZPA_LOG_ERR;
	if (!strcmp(s, "warn") || !strcmp(s, "warning"))
		return ZPA_LOG_WARN;
	if (!strcmp(s, "info"))
		return ZPA_LOG_INFO;
	if (!strcmp(s, "debug"))
		return ZPA_LOG_DEBUG;
	return -1;
}

static int do_line(struct mf *f, char **tok, int n)
{
	const char *kw = tok[0];
	uint64_t v;
	int r;

#define NEED(k) do { if (n != (k) + 1) return mf_error(f, "%s takes %d argument%s", kw, (k), (k) == 1 ? "" : "s"); } while (0)
	if (!strcmp(kw, "snapshot")) {
		NEED(1);
		return do_snapshot(f, tok[1]);
	}
	if (!strcmp(kw, "page_size")) {
		NEED(1);
		if ((r = tok_size(f, tok[1], kw, &v)))
			return r;
		if (v < 4096 || v > (1u << 20) || (v & (v - 1)))
			return mf_error(f, "page_size %" PRIu64 " must be a power of two from 4K to 1M", v);
		f->c.page_shift = (unsigned)__builtin_ctzll(v);
		return 0;
	}
	if (!strcmp(kw, "page_shift")) {
		NEED(1);
		if ((r = tok_uint(f, tok[1], kw, 12, 20, &v)))
			return r;
		f->c.page_shift = (unsigned)v;
		return 0;
	}
	if (!strcmp(kw, "max_order")) {
		NEED(1);
		if ((r = tok_uint(f, tok[1], kw, 1, ZPA_MAX_ORDER_LIMIT, &v)))
			return r;
		f->c.max_order = (unsigned)v;
		return 0;
	}
	if (!strcmp(kw, "pageblock_order")) {
		NEED(1);
		if ((r = tok_uint(f, tok[1], kw, 0, ZPA_MAX_ORDER_LIMIT - 1, &v)))
			return r;
		f->c.pageblock_order = (unsigned)v;
		return 0;
	}
	if (!strcmp(kw, "nodes")) {
		NEED(1);
		if ((r = tok_uint(f, tok[1], kw, 1, ZPA_MAX_NODES, &v)))
			return r;
		f->nodes_declared = (unsigned)v;
		f->nodes_line = f->line;
		return 0;
	}
	if (!strcmp(kw, "node"))
		return do_node(f, tok, n);
	if (!strcmp(kw, "cpus")) {
		NEED(1);
		if ((r = tok_uint(f, tok[1], kw, 1, ZPA_MAX_CPUS, &v)))
			return r;
		f->cpus_declared = (unsigned)v;
		f->cpus_line = f->line;
		return 0;
	}
	if (!strcmp(kw, "ram")) {
		uint64_t s, e;
		int nid = 0;
		if (n != 2 && !(n == 4 && !strcmp(tok[2], "node")))
			return mf_error(f, "expected \"ram RANGE\" or \"ram RANGE node N\"");
		if ((r = tok_range(f, tok[1], &s, &e)))
			return r;
		if (n == 4 && (r = tok_node(f, tok[3], &nid)))
			return r;
		if (n == 2 && !f->node_ref_line[0])
			f->node_ref_line[0] = f->line;
		return add_range(f, s, e, ZPA_RANGE_USABLE, nid);
	}
	if (!strcmp(kw, "reserved")) {
		uint64_t s, e;
		NEED(1);
		if ((r = tok_range(f, tok[1], &s, &e)))
			return r;
		return add_range(f, s, e, ZPA_RANGE_RESERVED, 0);
	}
	if (!strcmp(kw, "distance")) {
		int a, b;
		NEED(3);
		if ((r = tok_node(f, tok[1], &a)) || (r = tok_node(f, tok[2], &b)) ||
		    (r = tok_uint(f, tok[3], kw, 1, 255, &v)))
			return r;
		if (a == b && v != 10)
			return mf_error(f, "a node's distance to itself is 10, not %" PRIu64, v);
		if (a != b && v <= 10)
			return mf_error(f, "distance between two nodes must exceed 10, not %" PRIu64, v);
		f->c.distance[a][b] = (uint8_t)v;
		f->dist_set[a][b] = true;
		return 0;
	}
	if (!strcmp(kw, "dma_limit") || !strcmp(kw, "dma32_limit") || !strcmp(kw, "highmem_start")) {
		NEED(1);
		if ((r = tok_size(f, tok[1], kw, &v)))
			return r;
		if (v & ((1ull << f->c.page_shift) - 1))
			return mf_error(f, "%s %#" PRIx64 " is not page aligned", kw, v);
		if (!strcmp(kw, "dma_limit"))
			f->c.dma_limit = v;
		else if (!strcmp(kw, "dma32_limit"))
			f->c.dma32_limit = v;
		else
			f->c.highmem_start = v;
		return 0;
	}
	if (!strcmp(kw, "zones")) {
		if (n < 2)
			return mf_error(f, "zones needs a list of zone names");
		return do_zones(f, tok, n);
	}
	if (!strcmp(kw, "zone_device")) {
		NEED(1);
		return tok_onoff(f, tok[1], kw, &f->c.zone_device);
	}
	if (!strcmp(kw, "movablecore")) {
		NEED(1);
		return tok_core(f, kw, tok[1], &f->c.movablecore, &f->c.movablecore_percent);
	}
	if (!strcmp(kw, "kernelcore")) {
		NEED(1);
		return tok_core(f, kw, tok[1], &f->c.kernelcore, &f->c.kernelcore_percent);
	}
	if (!strcmp(kw, "sysctl"))
		return do_sysctl(f, tok, n);
	if (!strcmp(kw, "thp")) {
		bool on;
		NEED(1);
		if ((r = tok_onoff(f, tok[1], kw, &on)))
			return r;
		f->c.thp_enabled = on;
		return 0;
	}
	if (!strcmp(kw, "log_level")) {
		NEED(1);
		int lvl = log_level_by_name(tok[1]);
		if (lvl < 0)
			return mf_error(f, "log_level is err, warn, info or debug, not \"%s\"", tok[1]);
		f->c.log_level = lvl;
		return 0;
	}
#undef NEED
	return mf_error(f, "unknown keyword \"%s\"", kw);
}

static int cmp_range_start(const void *a, const void *b)
{
	const struct mf_range *x = *(const struct mf_range *const *)a;
	const struct mf_range *y = *(const struct mf_range *const *)b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Whole-file checks, then the final config. */
static int finish(struct mf *f)
{
	struct zpa_machine_config *c = &f->c;
	struct mf_range *sorted[ZPA_MAX_RANGES];
	unsigned nr_ram = 0, nr_resv = 0;
	int r;

	f->line = 0;
	/* RAM ranges must not overlap each other. */
	for (unsigned i = 0; i < f->nr_ranges; i++)
		if (f->ranges[i].type == ZPA_RANGE_USABLE)
			sorted[nr_ram++] = &f->ranges[i];
	if (!nr_ram)
		return mf_error(f, "no ram ranges: the machine has no memory");
	qsort(sorted, nr_ram, sizeof(sorted[0]), cmp_range_start);
	for (unsigned i = 1; i < nr_ram; i++)
		if (sorted[i]->start < sorted[i - 1]->end) {
			const struct mf_range *later = sorted[i]->line >= sorted[i - 1]->line ? sorted[i] : sorted[i - 1];
			const struct mf_range *other = later == sorted[i] ? sorted[i - 1] : sorted[i];
			return mf_error_at(f, later->line, "ram range overlaps the one on line %u", other->line);
		}
	/* Reserved ranges lie inside RAM and do not overlap each other. */
	struct mf_range *resv[ZPA_MAX_RANGES];
	for (unsigned i = 0; i < f->nr_ranges; i++)
		if (f->ranges[i].type == ZPA_RANGE_RESERVED)
			resv[nr_resv++] = &f->ranges[i];
	qsort(resv, nr_resv, sizeof(resv[0]), cmp_range_start);
	for (unsigned i = 0; i < nr_resv; i++) {
		if (i && resv[i]->start < resv[i - 1]->end) {
			const struct mf_range *later = resv[i]->line >= resv[i - 1]->line ? resv[i] : resv[i - 1];
			const struct mf_range *other = later == resv[i] ? resv[i - 1] : resv[i];
			return mf_error_at(f, later->line, "reserved range overlaps the one on line %u", other->line);
		}
		uint64_t pos = resv[i]->start;
		for (unsigned j = 0; j < nr_ram && pos < resv[i]->end; j++)
			if (sorted[j]->start <= pos && pos < sorted[j]->end)
				pos = sorted[j]->end;
		if (pos < resv[i]->end)
			return mf_error_at(f, resv[i]->line,
					   "reserved range is not all RAM (no ram line covers %#" PRIx64 ")", pos);
	}

	/* Nodes. */
	unsigned nr_nodes = f->base_nodes;
	for (unsigned nid = 0; nid < ZPA_MAX_NODES; nid++)
		if (f->node_ref_line[nid] && nid + 1 > nr_nodes)
			nr_nodes = nid + 1;
	for (unsigned i = 0; i < f->nr_ranges; i++)
		if (f->ranges[i].type == ZPA_RANGE_USABLE && (unsigned)f->ranges[i].nid + 1 > nr_nodes)
			nr_nodes = (unsigned)f->ranges[i].nid + 1;
	if (f->nodes_declared) {
		for (unsigned nid = f->nodes_declared; nid < ZPA_MAX_NODES; nid++)
			if (f->node_ref_line[nid])
				return mf_error_at(f, f->node_ref_line[nid], "node %u is beyond the %u nodes declared on line %u",
						   nid, f->nodes_declared, f->nodes_line);
		if (f->nodes_declared < f->base_nodes)
			return mf_error_at(f, f->nodes_line, "the snapshot has %u nodes", f->base_nodes);
		nr_nodes = f->nodes_declared;
	}
	c->nr_nodes = nr_nodes;

	/* Distances: a pair given one way holds both ways. */
	for (unsigned a = 0; a < nr_nodes; a++)
		for (unsigned b = 0; b < nr_nodes; b++)
			if (f->dist_set[a][b] && !f->dist_set[b][a])
				c->distance[b][a] = c->distance[a][b];

	/* CPUs: listed ones on their nodes, the rest of `cpus N` on node 0. */
	unsigned nr_cpus = f->base_cpus;
	for (unsigned cpu = 0; cpu < ZPA_MAX_CPUS; cpu++)
		if (f->cpu_line[cpu] && cpu + 1 > nr_cpus)
			nr_cpus = cpu + 1;
	if (f->cpus_declared) {
		if (f->cpus_declared < nr_cpus)
			return mf_error_at(f, f->cpus_line, "cpus %u, but CPU %u is placed on a node",
					   f->cpus_declared, nr_cpus - 1);
		nr_cpus = f->cpus_declared;
	}
	if (!nr_cpus)
		nr_cpus = 1;
	for (unsigned cpu = f->base_cpus; cpu < nr_cpus; cpu++)
		if (!f->cpu_line[cpu])
			c->cpu_node[cpu] = 0;
	c->nr_cpus = nr_cpus;

	/* Orders and zone limits. */
	if (c->pageblock_order >= c->max_order)
		return mf_error(f, "pageblock_order %u must be below max_order %u", c->pageblock_order,
				c->max_order);
	if (c->dma_limit && c->dma32_limit && c->dma_limit > c->dma32_limit)
		return mf_error(f, "dma_limit %#" PRIx64 " is above dma32_limit %#" PRIx64, c->dma_limit,
				c->dma32_limit);
	uint64_t low = c->dma32_limit ? c->dma32_limit : c->dma_limit;
	if (c->highmem_start && c->highmem_start < low)
		return mf_error(f, "highmem_start %#" PRIx64 " is below the DMA zones' limit %#" PRIx64,
				c->highmem_start, low);

	/* lowmem_reserve_ratio: one value per configured zone type, in order. */
	if (f->lrr_line) {
		int types[ZPA_NR_ZONE_TYPES], nt = 0;
		if (c->dma_limit)
			types[nt++] = ZPA_ZONE_DMA;
		if (c->dma32_limit)
			types[nt++] = ZPA_ZONE_DMA32;
		types[nt++] = ZPA_ZONE_NORMAL;
		if (c->highmem_start)
			types[nt++] = ZPA_ZONE_HIGHMEM;
		types[nt++] = ZPA_ZONE_MOVABLE;
		if (c->zone_device)
			types[nt++] = ZPA_ZONE_DEVICE;
		long vals[ZPA_NR_ZONE_TYPES];
		int nv = 0;
		const char *p = f->lrr;
		f->line = f->lrr_line;
		for (;;) {
			while (*p == ' ' || *p == '\t' || *p == ',')
				p++;
			if (!*p)
				break;
			uint64_t x;
			if (parse_number(p, &p, &x) || (*p && *p != ' ' && *p != '\t' && *p != ',') ||
			    x > INT_MAX)
				return mf_error(f, "bad lowmem_reserve_ratio \"%s\"", f->lrr);
			if (nv == ZPA_NR_ZONE_TYPES)
				return mf_error(f, "too many lowmem_reserve_ratio values");
			vals[nv++] = (long)x;
		}
		if (nv != nt)
			return mf_error(f, "lowmem_reserve_ratio has %d values but the machine has %d zone types",
					nv, nt);
		for (int i = 0; i < nt; i++)
			c->lowmem_reserve_ratio[types[i]] = vals[i];
		f->line = 0;
	}

	/* Ranges into the config, in file order. */
	c->nr_ranges = 0;
	for (unsigned i = 0; i < f->nr_ranges; i++) {
		const struct mf_range *mr = &f->ranges[i];
		if ((r = zpa_config_add_range(c, mr->start, mr->end, mr->type, mr->nid)))
			return mf_error_at(f, mr->line, "range rejected: %s", zpa_strerror(r));
	}
	c->nr_nodes = nr_nodes;
	return 0;
}

/* Split a line into blank-separated tokens in place, dropping a '#' comment. */
static int tokenize(char *line, char **tok, int max)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	int n = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			return n;
		if (n == max)
			return -1;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

int zpa_config_from_file(const char *path, struct zpa_machine_config *cfg, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!path || !cfg) {
		if (err && errlen)
			snprintf(err, errlen, "no machine file or config given");
		return ZPA_EINVAL;
	}
	FILE *fp = fopen(path, "r");
	if (!fp) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ZPA_EIO;
	}
	struct mf *f = calloc(1, sizeof(*f));
	char *line = malloc(MF_LINE_MAX + 2);
	int ret = 0;
	if (!f || !line) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		ret = ZPA_ENOMEM;
		goto out;
	}
	f->path = path;
	f->err = err;
	f->errlen = errlen;
	zpa_machine_config_init(&f->c);

	while (fgets(line, MF_LINE_MAX + 2, fp)) {
		size_t len = strlen(line);
		f->line++;
		if (len > MF_LINE_MAX && line[len - 1] != '\n' && !feof(fp)) {
			ret = mf_error(f, "line longer than %d characters", MF_LINE_MAX);
			goto out;
		}
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		for (size_t i = 0; i < len; i++)
			if (!isprint((unsigned char)line[i]) && line[i] != '\t' && line[i] != '\r') {
				ret = mf_error(f, "unprintable character");
				goto out;
			}
		char *tok[MF_MAX_TOKENS];
		int n = tokenize(line, tok, MF_MAX_TOKENS);
		if (n < 0) {
			ret = mf_error(f, "too many words");
			goto out;
		}
		if (!n)
			continue;
		if ((ret = do_line(f, tok, n)))
			goto out;
		f->any_directive = true;
	}
	if (ferror(fp)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
		ret = ZPA_EIO;
		goto out;
	}
	if ((ret = finish(f)))
		goto out;
	*cfg = f->c;
out:
	fclose(fp);
	free(line);
	free(f);
	return ret;
}
