/*
 * snapshot.c - build a machine config from what a running Linux printed.
 *
 * zpa_config_from_snapshot() reads a snapshot directory and fills a struct
 * zpa_machine_config that zpa_machine_create() turns into a machine with the
 * snapshot's nodes, zones, spans and present and managed page counts.
 *
 * A snapshot ("dump") directory holds proc/zoneinfo (or zoneinfo), the vm
 * tunables as proc/sys/vm/<name> files or a vm-sysctls.txt of name=value
 * lines, and optionally sys/devices/system/node/node<N>/{distance,cpulist},
 * sys/kernel/mm/transparent_hugepage/enabled, proc/buddyinfo and
 * proc/pagetypeinfo.  The boot log dmesg.txt and the kernel command line
 * cmdline.txt are looked for in the dump directory and then its parent.  A
 * configuration directory of the oracle (with boot/ and recomputed/ dumps)
 * is accepted too: its recomputed/ dump is used when present, else boot/.
 *
 * Algorithm
 *  1. Memory map (page frame ranges per node).  Best source: dmesg's "Early
 *     memory node ranges" block, memblock's final RAM per node.  Else the
 *     BIOS-e820 table replayed with its "e820: update" / "e820: remove" edits
 *     in log order (an update retypes the covered part of entries of the old
 *     type, a remove deletes it), usable RAM minus whatever a non-RAM entry
 *     also claims, rounded inward to whole pages, then split between nodes by
 *     the "ACPI: SRAT: Node N PXM P [mem A-B]" lines (RAM no SRAT line covers
 *     goes to node 0; no SRAT at all means one node).  Edits printed after
 *     "Zone ranges:" are ignored: memblock is built by then.  Without a dmesg
 *     that has a memory map, each populated zone of zoneinfo becomes RAM, with
 *     its spanned - present hole put right after the zone's first page, which
 *     keeps start, span and present exact but invents where holes are.
 *  2. Managed pages.  Linux held present - managed pages of each zone back
 *     (memblock reservations).  They become ZPA_RANGE_RESERVED ranges inside
 *     the zone, on RAM only: first the zone's RAM below 1 MiB, lowest first
 *     (x86 reserves all of it), then from the top of the zone's RAM down, as
 *     memblock allocates top-down.  Zone bounds for this come from zoneinfo's
 *     own start_pfn and spanned.
 *  3. Shape: nodes (the largest node id any source names, + 1), distances
 *     from node<N>/distance (unset: 10 local, 20 remote), CPUs from
 *     node<N>/cpulist, else as many CPUs as zoneinfo has pagesets, spread
 *     round-robin over the nodes.  Zone types from zoneinfo's zone headers,
 *     zone limits from dmesg's "Zone ranges:" where a later zone proves the
 *     printed end is the limit, max_order from buddyinfo's columns,
 *     pageblock_order from pagetypeinfo.
 *  4. kernelcore= and movablecore= from the command line; the vm sysctls
 *     (lowmem_reserve_ratio mapped onto zoneinfo's zone types in order) and
 *     THP's enabled mode.
 *
 * Invariants: the caller's cfg is written only on success (everything is
 * built in a private copy); every parse error names the file and line; the
 * data sources must agree (zoneinfo's present pages total equals the memory
 * map's RAM, no zone manages more pages than the map gives it).  Nothing here
 * aborts or prints.  This file reads files with stdio: hosted builds only.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"


#define SNAP_PATH      4096
#define SNAP_MAX_E820  256
#define SNAP_MAX_MAP   ZPA_MAX_RANGES
#define SNAP_MAX_ZONES (ZPA_MAX_NODES * ZPA_NR_ZONE_TYPES)
#define SNAP_MAX_FILE  (256u << 20)
#define SNAP_SRC       (SNAP_PATH + 96)   /* "path:line" */

/* e820 entry types, as Linux numbers them (only "usable" matters here). */
enum { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4, E820_UNUSABLE = 5,
       E820_UNKNOWN = 1000 };

struct e820_entry {
	uint64_t start, end;      /* bytes, [start, end) */
	int type;
};

struct span {
	uint64_t start, end;      /* bytes, [start, end) */
};

struct pfn_range {
	uint64_t start, end;      /* pfns, [start, end) */
	int nid;
};

/* One zone as zoneinfo printed it. */
struct snap_zone {
	int nid, type;
	unsigned line;            /* of its "Node N, zone X" header */
	bool has_spanned, has_present, has_managed, has_start;
	uint64_t start_pfn, spanned, present, managed;
};

/* Zone ranges: block of dmesg (bytes, end exclusive). */
struct zone_range {
	bool seen, empty;
	uint64_t start, end;
};

struct snap {
	char *err;
	size_t errlen;
	unsigned page_shift;

	char dump[SNAP_PATH];           /* the dump directory */
	char parent[SNAP_PATH];         /* where dmesg.txt/cmdline.txt may also live */
	char zoneinfo_path[SNAP_PATH];

	struct snap_zone zones[SNAP_MAX_ZONES];
	unsigned nr_zones;
	int zone_order[ZPA_NR_ZONE_TYPES]; /* zone types in zoneinfo's order */
	unsigned nr_zone_order;
	int max_pageset_cpu;            /* -1: none seen */
	int max_nid;                    /* -1: none seen */

	/* From dmesg.txt. */
	char dmesg_path[SNAP_PATH];
	bool have_dmesg;
	char cmdline[4096];
	char cmdline_src[SNAP_SRC];    /* file the command line came from */
	bool have_cmdline;
	struct e820_entry e820[SNAP_MAX_E820];
	unsigned nr_e820;
	bool e820_seen;
	struct pfn_range early[SNAP_MAX_MAP];
	unsigned nr_early;
	struct pfn_range srat[SNAP_MAX_MAP];
	unsigned nr_srat;
	struct zone_range zr[ZPA_NR_ZONE_TYPES];
	bool zr_seen;

	/* The final memory map: RAM page ranges with their nodes, sorted. */
	struct pfn_range ram[SNAP_MAX_MAP];
	unsigned nr_ram;
	bool map_exact;                 /* from dmesg, not invented from zoneinfo */

	char *vm_sysctls;               /* vm-sysctls.txt, NULL if absent */
	char vm_sysctls_path[SNAP_PATH];
};

static const char *const zone_type_names[ZPA_NR_ZONE_TYPES] = {
	"DMA", "DMA32", "Normal", "HighMem", "Movable", "Device",
};

/* Write "fmt ..." to the caller's error buffer; returns code. */
static int __attribute__((format(printf, 3, 4)))
snap_error(struct snap *s, int code, const char *fmt, ...)
{
	if (s->err && s->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---------------------------------------------------------------------- */
/* Files and lines                                                          */

static bool path_join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, SNAP_PATH, "%s/%s", a, b);
	return n > 0 && n < SNAP_PATH;
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

/*
 * Read a whole text file into a NUL-terminated heap buffer.  Returns 0,
 * ZPA_ENOENT if it does not exist, ZPA_EIO if it cannot be read, or
 * ZPA_EPARSE if it holds NUL bytes (not text).  The error message is set
 * for the last two.
 */
static int read_text(struct snap *s, const char *path, char **out)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ZPA_ENOENT;
		return snap_error(s, ZPA_EIO, "%s: %s", path, strerror(errno));
	}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return snap_error(s, ZPA_ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		if (cap - len < 2) {
			if (cap >= SNAP_MAX_FILE) {
				free(buf);
				fclose(f);
				return snap_error(s, ZPA_EIO, "%s: file too large", path);
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return snap_error(s, ZPA_ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap *= 2;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return snap_error(s, ZPA_EIO, "%s: read error", path);
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		free(buf);
		return snap_error(s, ZPA_EPARSE, "%s: binary data, not a text file", path);
	}
	*out = buf;
	return 0;
}

/* Line iterator over a buffer it splits in place. */
struct lines {
	char *p;
	unsigned no;
};

static char *next_line(struct lines *it)
{
	if (!it->p || !*it->p)
		return NULL;
	char *line = it->p;
	char *nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		it->p = nl + 1;
	} else {
		it->p = line + strlen(line);
	}
	size_t n = strlen(line);
	if (n && line[n - 1] == '\r')
		line[n - 1] = '\0';
	it->no++;
	return line;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool only_ws(const char *p)
{
	p = skip_ws(p);
	return *p == '\0' || *p == '\n';
}

/* An unsigned number: decimal, or hex with 0x.  Advances *pp; false if none or overflow. */
static bool parse_u64(const char **pp, uint64_t *out)
{
	const char *p = skip_ws(*pp);
	unsigned base = 10;
	uint64_t v = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p) || (base == 10 && !isdigit((unsigned char)*p)))
		return false;
	for (;;) {
		int d;
		if (isdigit((unsigned char)*p))
			d = *p - '0';
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = tolower((unsigned char)*p) - 'a' + 10;
		else
			break;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
		p++;
	}
	*out = v;
	*pp = p;
	return true;
}

/* A signed decimal that must be followed only by blanks. */
static bool parse_long_all(const char *p, long *out)
{
	p = skip_ws(p);
	bool neg = *p == '-';
	if (neg)
		p++;
	uint64_t v;
	if (!parse_u64(&p, &v) || !only_ws(p) || v > (uint64_t)LONG_MAX)
		return false;
	*out = neg ? -(long)v : (long)v;
	return true;
}

static int zone_type_by_name(const char *name, size_t len)
{
	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
		if (strlen(zone_type_names[t]) == len && !strncmp(name, zone_type_names[t], len))
			return t;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Directory resolution                                                     */

static bool has_zoneinfo(const char *dir, char *path)
{
	return (path_join(path, dir, "proc/zoneinfo") && is_file(path)) ||
	       (path_join(path, dir, "zoneinfo") && is_file(path));
}

/* Find the dump directory (dir itself, or dir/recomputed, or dir/boot). */
static int resolve_dirs(struct snap *s, const char *dir)
{
	char sub[SNAP_PATH];

	if (!dir || !*dir)
		return snap_error(s, ZPA_EINVAL, "no snapshot directory given");
	if (!is_dir(dir))
		return snap_error(s, ZPA_EIO, "%s: not a directory", dir);
	if (strlen(dir) >= SNAP_PATH - 64)
		return snap_error(s, ZPA_EINVAL, "%s: path too long", dir);
	if (has_zoneinfo(dir, s->zoneinfo_path)) {
		snprintf(s->dump, sizeof s->dump, "%s", dir);
	} else if (path_join(sub, dir, "recomputed") && has_zoneinfo(sub, s->zoneinfo_path)) {
		snprintf(s->dump, sizeof s->dump, "%s", sub);
	} else if (path_join(sub, dir, "boot") && has_zoneinfo(sub, s->zoneinfo_path)) {
		snprintf(s->dump, sizeof s->dump, "%s", sub);
	} else {
		return snap_error(s, ZPA_EIO,
				  "%s: no proc/zoneinfo (nor recomputed/ or boot/ dump holding one)", dir);
	}
	/* The parent of the dump directory. */
	snprintf(s->parent, sizeof s->parent, "%s", s->dump);
	size_t n = strlen(s->parent);
	while (n > 1 && s->parent[n - 1] == '/')
		s->parent[--n] = '\0';
	char *slash = strrchr(s->parent, '/');
	if (!slash)
		snprintf(s->parent, sizeof s->parent, "%s", strcmp(s->dump, ".") ? "." : "..");
	else if (slash == s->parent)
		s->parent[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/* Path of an optional file in the dump directory or its parent; false if in neither. */
static bool find_meta_file(struct snap *s, const char *name, char *path)
{
	return (path_join(path, s->dump, name) && is_file(path)) ||
	       (path_join(path, s->parent, name) && is_file(path));
}

/* ---------------------------------------------------------------------- */
/* zoneinfo                                                                 */

static struct snap_zone *find_zone(struct snap *s, int nid, int type)
{
	for (unsigned i = 0; i < s->nr_zones; i++)
		if (s->zones[i].nid == nid && s->zones[i].type == type)
			return &s->zones[i];
	return NULL;
}

/* "key  N" at p (after leading blanks): true and *v if the line is that key. */
static int keyed_number(const char *p, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	if (strncmp(p, key, kl) || (p[kl] != ' ' && p[kl] != '\t' && p[kl] != ':'))
		return 0;
	p += kl;
	if (*p == ':')
		p++;
	if (!parse_u64(&p, v) || !only_ws(p))
		return -1;
	return 1;
}

static int parse_zoneinfo(struct snap *s)
{
	char *text;
	int ret = read_text(s, s->zoneinfo_path, &text);
	if (ret == ZPA_ENOENT)
		return snap_error(s, ZPA_EIO, "%s: cannot open", s->zoneinfo_path);
	if (ret)
		return ret;

	struct lines it = { text, 0 };
	struct snap_zone *z = NULL;
	bool in_pagesets = false;
	char *line;
	const char *path = s->zoneinfo_path;

	while ((line = next_line(&it))) {
		for (const char *c = line; *c; c++)
			if (!isprint((unsigned char)*c) && *c != '\t') {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: unprintable character", path, it.no);
				goto out;
			}
		if (only_ws(line))
			continue;
		if (!strncmp(line, "Node", 4)) {
			/* "Node N, zone NAME" */
			const char *p = line + 4;
			uint64_t nid;
			if (!parse_u64(&p, &nid) || *p != ',' ) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: expected \"Node N, zone NAME\"", path, it.no);
				goto out;
			}
			p = skip_ws(p + 1);
			if (strncmp(p, "zone", 4)) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: expected \"Node N, zone NAME\"", path, it.no);
				goto out;
			}
			p = skip_ws(p + 4);
			size_t nl = 0;
			while (p[nl] && p[nl] != ' ' && p[nl] != '\t')
				nl++;
			int type = zone_type_by_name(p, nl);
			if (type < 0 || !only_ws(p + nl)) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: unknown zone \"%.*s\"", path, it.no,
						 (int)nl, p);
				goto out;
			}
			if (nid >= ZPA_MAX_NODES) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: node %" PRIu64 " beyond the limit of %d nodes",
						 path, it.no, nid, ZPA_MAX_NODES);
				goto out;
			}
			if (find_zone(s, (int)nid, type)) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: zone %s of node %d listed twice",
						 path, it.no, zone_type_names[type], (int)nid);
				goto out;
			}
			z = &s->zones[s->nr_zones++];
			memset(z, 0, sizeof(*z));
			z->nid = (int)nid;
			z->type = type;
			z->line = it.no;
			in_pagesets = false;
			if ((int)nid > s->max_nid)
				s->max_nid = (int)nid;
			bool known = false;
			for (unsigned i = 0; i < s->nr_zone_order; i++)
				known |= s->zone_order[i] == type;
			if (!known)
				s->zone_order[s->nr_zone_order++] = type;
			continue;
		}
		const char *p = skip_ws(line);
		if (!z) {
			ret = snap_error(s, ZPA_EPARSE, "%s:%u: expected \"Node N, zone NAME\" before \"%.40s\"",
					 path, it.no, p);
			goto out;
		}
		if (!isalpha((unsigned char)*p)) {
			ret = snap_error(s, ZPA_EPARSE, "%s:%u: malformed line \"%.40s\"", path, it.no, p);
			goto out;
		}
		uint64_t v;
		int r;
		if (!strncmp(p, "pagesets", 8) && only_ws(p + 8)) {
			in_pagesets = true;
			continue;
		}
		if (!strncmp(p, "pages free", 10)) {
			const char *q = p + 10;
			if (!parse_u64(&q, &v) || !only_ws(q))
				goto bad_number;
			continue;
		}
		if ((r = keyed_number(p, "spanned", &v))) {
			if (r < 0)
				goto bad_number;
			z->spanned = v;
			z->has_spanned = true;
		} else if ((r = keyed_number(p, "present", &v))) {
			if (r < 0)
				goto bad_number;
			z->present = v;
			z->has_present = true;
		} else if ((r = keyed_number(p, "managed", &v))) {
			if (r < 0)
				goto bad_number;
			z->managed = v;
			z->has_managed = true;
		} else if ((r = keyed_number(p, "start_pfn", &v))) {
			if (r < 0)
				goto bad_number;
			z->start_pfn = v;
			z->has_start = true;
		} else if (in_pagesets && (r = keyed_number(p, "cpu", &v))) {
			if (r < 0 || v >= ZPA_MAX_CPUS)
				goto bad_number;
			if ((int)v > s->max_pageset_cpu)
				s->max_pageset_cpu = (int)v;
		}
		continue;
bad_number:
		ret = snap_error(s, ZPA_EPARSE, "%s:%u: bad number in \"%.40s\"", path, it.no, p);
		goto out;
	}

	if (!s->nr_zones) {
		ret = snap_error(s, ZPA_EPARSE, "%s: no \"Node N, zone NAME\" lines: not a zoneinfo", path);
		goto out;
	}
	for (unsigned i = 0; i < s->nr_zones; i++) {
		z = &s->zones[i];
		const char *missing = !z->has_spanned ? "spanned" : !z->has_present ? "present" :
				      !z->has_managed ? "managed" : NULL;
		if (missing) {
			ret = snap_error(s, ZPA_EPARSE, "%s:%u: zone %s of node %d has no \"%s\" line",
					 path, z->line, zone_type_names[z->type], z->nid, missing);
			goto out;
		}
		if (z->present > z->spanned || z->managed > z->present) {
			ret = snap_error(s, ZPA_EPARSE,
					 "%s:%u: zone %s of node %d: inconsistent spanned %" PRIu64
					 ", present %" PRIu64 ", managed %" PRIu64,
					 path, z->line, zone_type_names[z->type], z->nid, z->spanned,
					 z->present, z->managed);
			goto out;
		}
		if (z->spanned && !z->has_start) {
			ret = snap_error(s, ZPA_EPARSE, "%s:%u: zone %s of node %d spans pages but has no start_pfn",
					 path, z->line, zone_type_names[z->type], z->nid);
			goto out;
		}
	}
	ret = 0;
out:
	free(text);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* buddyinfo and pagetypeinfo: max_order and pageblock_order               */

static int parse_orders(struct snap *s, struct zpa_machine_config *c)
{
	char path[SNAP_PATH], *text;
	int ret;

	if ((path_join(path, s->dump, "proc/buddyinfo") && is_file(path)) ||
	    (path_join(path, s->dump, "buddyinfo") && is_file(path))) {
		if ((ret = read_text(s, path, &text)))
			return ret;
		struct lines it = { text, 0 };
		char *line;
		unsigned width = 0;
		while ((line = next_line(&it))) {
			if (only_ws(line))
				continue;
			/* "Node 0, zone      DMA      0      1 ..." */
			const char *p = strstr(line, "zone");
			unsigned n = 0;
			if (strncmp(line, "Node", 4) || !p) {
				free(text);
				return snap_error(s, ZPA_EPARSE, "%s:%u: expected \"Node N, zone NAME counts...\"",
						  path, it.no);
			}
			p = skip_ws(p + 4);
			while (*p && *p != ' ' && *p != '\t')
				p++;
			uint64_t v;
			while (parse_u64(&p, &v))
				n++;
			if (!only_ws(p) || n < 1 || n > ZPA_MAX_ORDER_LIMIT) {
				free(text);
				return snap_error(s, ZPA_EPARSE, "%s:%u: bad free-block counts", path, it.no);
			}
			if (width && n != width) {
				free(text);
				return snap_error(s, ZPA_EPARSE, "%s:%u: %u free-block counts, earlier rows have %u",
						  path, it.no, n, width);
			}
			width = n;
		}
		free(text);
		if (width)
			c->max_order = width;
	}
	if ((path_join(path, s->dump, "proc/pagetypeinfo") && is_file(path)) ||
	    (path_join(path, s->dump, "pagetypeinfo") && is_file(path))) {
		if ((ret = read_text(s, path, &text)))
			return ret;
		struct lines it = { text, 0 };
		char *line;
		while ((line = next_line(&it))) {
			if (!strncmp(line, "Page block order:", 17)) {
				const char *p = line + 17;
				uint64_t v;
				if (!parse_u64(&p, &v) || !only_ws(p) || v >= ZPA_MAX_ORDER_LIMIT) {
					free(text);
					return snap_error(s, ZPA_EPARSE, "%s:%u: bad page block order", path, it.no);
				}
				c->pageblock_order = (unsigned)v;
				break;
			}
		}
		free(text);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* dmesg                                                                    */

/* The message of a dmesg line: drop a "<N>" level and a "[ time]" stamp. */
static const char *dmesg_text(const char *line)
{
	const char *p = line;
	if (*p == '<') {
		const char *q = strchr(p, '>');
		if (q && q - p <= 4)
			p = q + 1;
	}
	if (*p == '[') {
		const char *q = strchr(p, ']');
		if (q)
			p = q + 1;
	}
	return skip_ws(p);
}

/* "[mem A-B]" at p: bytes [A, B] inclusive.  Advances *pp past the ']'. */
static bool parse_mem_bracket(const char **pp, uint64_t *a, uint64_t *b)
{
	const char *p = skip_ws(*pp);
	if (strncmp(p, "[mem", 4))
		return false;
	p += 4;
	if (!parse_u64(&p, a) || *p != '-')
		return false;
	p++;
	if (!parse_u64(&p, b) || *p != ']' || *b < *a)
		return false;
	*pp = p + 1;
	return true;
}

/* The e820 type a name stands for ("usable", "ACPI NVS", "type 12", ...). */
static int e820_type_code(const char *t, size_t len)
{
	static const struct { const char *name; int type; } names[] = {
		{ "usable", E820_RAM }, { "reserved", E820_RESERVED },
		{ "ACPI data", E820_ACPI }, { "ACPI NVS", E820_NVS },
		{ "unusable", E820_UNUSABLE }, { "soft reserved", E820_UNKNOWN + 1 },
	};
	while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == len && !strncmp(t, names[i].name, len))
			return names[i].type;
	const char *p = t;
	if (len > 12 && !strncmp(p, "persistent (", 12))
		p += 12;
	if (!strncmp(p, "type ", 5)) {
		p += 5;
		uint64_t v;
		if (parse_u64(&p, &v) && v < 100000 && v != E820_RAM)
			return (int)v + 2000;
	}
	return E820_UNKNOWN;
}

static int e820_append(struct snap *s, uint64_t start, uint64_t end, int type)
{
	if (end <= start)
		return 0;
	if (s->nr_e820 >= SNAP_MAX_E820)
		return snap_error(s, ZPA_EPARSE, "%s: more than %d e820 entries", s->dmesg_path, SNAP_MAX_E820);
	s->e820[s->nr_e820++] = (struct e820_entry){ start, end, type };
	return 0;
}

/*
 * Apply an e820 edit to the table: the part of every entry of type old_type
 * (any type if !check) inside [start, end) gets new_type, or is deleted when
 * new_type is 0.
 */
static int e820_edit(struct snap *s, uint64_t start, uint64_t end, int old_type, bool check,
		     int new_type)
{
	unsigned n = s->nr_e820;
	for (unsigned i = 0; i < n; i++) {
		struct e820_entry *e = &s->e820[i];
		if (check && e->type != old_type)
			continue;
		uint64_t lo = e->start > start ? e->start : start;
		uint64_t hi = e->end < end ? e->end : end;
		if (lo >= hi)
			continue;
		struct e820_entry orig = *e;
		/* Shrink the entry to its part below the edit; add the rest. */
		e->end = lo;
		int r = e820_append(s, hi, orig.end, orig.type);
		if (!r && new_type)
			r = e820_append(s, lo, hi, new_type);
		if (r)
			return r;
		e = &s->e820[i];
		if (e->end <= e->start)
			e->type = 0; /* emptied: ignored from now on */
	}
	return 0;
}

/* Handle one e820 line of dmesg ("BIOS-e820:", "e820: update", "e820: remove"). */
static int dmesg_e820(struct snap *s, const char *msg, unsigned lineno)
{
	uint64_t a, b;
	const char *p;

	if (!strncmp(msg, "BIOS-e820:", 10)) {
		p = msg + 10;
		if (!parse_mem_bracket(&p, &a, &b))
			goto bad;
		p = skip_ws(p);
		s->e820_seen = true;
		return e820_append(s, a, b + 1, e820_type_code(p, strlen(p)));
	}
	if (!strncmp(msg, "e820: update", 12)) {
		p = msg + 12;
		if (!parse_mem_bracket(&p, &a, &b))
			goto bad;
		p = skip_ws(p);
		const char *arrow = strstr(p, "==>");
		if (!arrow)
			goto bad;
		int old_type = e820_type_code(p, (size_t)(arrow - p));
		const char *nt = skip_ws(arrow + 3);
		int new_type = e820_type_code(nt, strlen(nt));
		if (old_type == new_type)
			return 0;
		return e820_edit(s, a, b + 1, old_type, true, new_type);
	}
	if (!strncmp(msg, "e820: remove", 12)) {
		p = msg + 12;
		if (!parse_mem_bracket(&p, &a, &b))
			goto bad;
		p = skip_ws(p);
		bool check = *p != '\0';
		return e820_edit(s, a, b + 1, check ? e820_type_code(p, strlen(p)) : 0, check, 0);
	}
	return 0;
bad:
	return snap_error(s, ZPA_EPARSE, "%s:%u: malformed e820 line \"%.60s\"", s->dmesg_path, lineno, msg);
}

static int add_pfn_range(struct snap *s, struct pfn_range *tab, unsigned *nr, uint64_t start_b,
			 uint64_t end_incl_b, int nid, unsigned lineno)
{
	uint64_t ps = 1ull << s->page_shift;
	uint64_t start = (start_b + ps - 1) >> s->page_shift;
	uint64_t end = end_incl_b == UINT64_MAX ? (UINT64_MAX >> s->page_shift) :
		       (end_incl_b + 1) >> s->page_shift;
	if (nid < 0 || nid >= ZPA_MAX_NODES)
		return snap_error(s, ZPA_EPARSE, "%s:%u: node %d beyond the limit of %d nodes",
				  s->dmesg_path, lineno, nid, ZPA_MAX_NODES);
	if (end <= start)
		return 0;
	if (*nr >= SNAP_MAX_MAP)
		return snap_error(s, ZPA_EPARSE, "%s:%u: more than %d memory ranges", s->dmesg_path,
				  lineno, SNAP_MAX_MAP);
	tab[(*nr)++] = (struct pfn_range){ start, end, nid };
	if (nid > s->max_nid)
		s->max_nid = nid;
	return 0;
}

static int parse_dmesg(struct snap *s)
{
	char *text;
	int ret;

	if (!find_meta_file(s, "dmesg.txt", s->dmesg_path))
		return 0;
	if ((ret = read_text(s, s->dmesg_path, &text)))
		return ret == ZPA_ENOENT ? 0 : ret;
	s->have_dmesg = true;

	enum { NONE, EARLY, ZONES } block = NONE;
	bool e820_done = false, early_done = false;
	struct lines it = { text, 0 };
	char *line;
	while ((line = next_line(&it))) {
		const char *msg = dmesg_text(line);
		uint64_t a, b;
		const char *p;

		if (block == EARLY) {
			/* "  node   N: [mem A-B]" */
			if (!strncmp(msg, "node", 4)) {
				p = msg + 4;
				uint64_t nid;
				if (!parse_u64(&p, &nid) || *p != ':' || (p++, !parse_mem_bracket(&p, &a, &b))) {
					ret = snap_error(s, ZPA_EPARSE, "%s:%u: malformed memory node range",
							 s->dmesg_path, it.no);
					goto out;
				}
				if ((ret = add_pfn_range(s, s->early, &s->nr_early, a, b,
							 nid >= ZPA_MAX_NODES ? -1 : (int)nid, it.no)))
					goto out;
				continue;
			}
			block = NONE;
			early_done = true;
		} else if (block == ZONES) {
			/* "  DMA32    [mem A-B]" or "  Normal   empty" */
			size_t nl = 0;
			while (msg[nl] && msg[nl] != ' ' && msg[nl] != '\t')
				nl++;
			int type = zone_type_by_name(msg, nl);
			p = skip_ws(msg + nl);
			if (type >= 0 && !strcmp(p, "empty")) {
				s->zr[type] = (struct zone_range){ true, true, 0, 0 };
				continue;
			}
			if (type >= 0 && parse_mem_bracket(&p, &a, &b) && only_ws(p)) {
				s->zr[type] = (struct zone_range){ true, false, a, b + 1 };
				continue;
			}
			block = NONE;
		}

		if (!strncmp(msg, "Command line:", 13) && !s->have_cmdline) {
			snprintf(s->cmdline, sizeof s->cmdline, "%s", skip_ws(msg + 13));
			snprintf(s->cmdline_src, sizeof s->cmdline_src, "%s:%u", s->dmesg_path, it.no);
			s->have_cmdline = true;
		} else if (!strncmp(msg, "Zone ranges:", 12)) {
			block = ZONES;
			s->zr_seen = true;
			e820_done = true;
		} else if (!strncmp(msg, "Early memory node ranges", 24)) {
			if (!early_done) {
				block = EARLY;
				s->nr_early = 0;
			}
			e820_done = true;
		} else if (!e820_done && (!strncmp(msg, "BIOS-e820:", 10) || !strncmp(msg, "e820: update", 12) ||
					  !strncmp(msg, "e820: remove", 12))) {
			if ((ret = dmesg_e820(s, msg, it.no)))
				goto out;
		} else if ((p = strstr(msg, "SRAT: Node "))) {
			/* "ACPI: SRAT: Node N PXM P [mem A-B]" (maybe " hotplug") */
			p += 11;
			uint64_t nid, pxm;
			const char *q = p;
			if (!parse_u64(&q, &nid) || strncmp(skip_ws(q), "PXM", 3)) {
				continue; /* another SRAT message */
			}
			q = skip_ws(q) + 3;
			if (!parse_u64(&q, &pxm) || !parse_mem_bracket(&q, &a, &b)) {
				ret = snap_error(s, ZPA_EPARSE, "%s:%u: malformed SRAT memory affinity line",
						 s->dmesg_path, it.no);
				goto out;
			}
			if ((ret = add_pfn_range(s, s->srat, &s->nr_srat, a, b,
						 nid >= ZPA_MAX_NODES ? -1 : (int)nid, it.no)))
				goto out;
		}
	}
	ret = 0;
out:
	free(text);
	return ret;
}

static int parse_cmdline_file(struct snap *s)
{
	char path[SNAP_PATH], *text;
	int ret;

	if (!find_meta_file(s, "cmdline.txt", path))
		return 0;
	if ((ret = read_text(s, path, &text)))
		return ret == ZPA_ENOENT ? 0 : ret;
	char *nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	snprintf(s->cmdline, sizeof s->cmdline, "%s", text);
	snprintf(s->cmdline_src, sizeof s->cmdline_src, "%s", path);
	s->have_cmdline = true;
	free(text);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The memory map                                                           */

static int cmp_pfn_range(const void *a, const void *b)
{
	const struct pfn_range *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Add a RAM range to the final map (merged later). */
static int ram_add(struct snap *s, uint64_t start, uint64_t end, int nid)
{
	if (end <= start)
		return 0;
	if (s->nr_ram >= SNAP_MAX_MAP)
		return snap_error(s, ZPA_EPARSE, "memory map has more than %d ranges", SNAP_MAX_MAP);
	s->ram[s->nr_ram++] = (struct pfn_range){ start, end, nid };
	if (nid > s->max_nid)
		s->max_nid = nid;
	return 0;
}

/* Usable RAM of the replayed e820 table, in pages, split by SRAT. */
static int map_from_e820(struct snap *s)
{
	struct pfn_range usable[SNAP_MAX_E820];
	unsigned nu = 0;
	uint64_t ps = 1ull << s->page_shift;

	/* Usable byte ranges minus every non-RAM entry, rounded inward to pages. */
	for (unsigned i = 0; i < s->nr_e820; i++) {
		const struct e820_entry *e = &s->e820[i];
		if (e->type != E820_RAM || e->end <= e->start)
			continue;
		/* Cut e by the other entries: collect pieces in a small work list. */
		struct span work[SNAP_MAX_E820];
		unsigned nw = 1;
		work[0].start = e->start;
		work[0].end = e->end;
		for (unsigned j = 0; j < s->nr_e820 && nw; j++) {
			const struct e820_entry *o = &s->e820[j];
			if (o->type == E820_RAM || o->type == 0 || o->end <= o->start)
				continue;
			unsigned nn = 0;
			for (unsigned k = 0; k < nw; k++) {
				uint64_t ws = work[k].start, we = work[k].end;
				if (o->end <= ws || o->start >= we) {
					work[nn++] = work[k];
					continue;
				}
				uint64_t ls = ws, le = o->start > ws ? o->start : ws;
				uint64_t rs = o->end < we ? o->end : we, re = we;
				if (le > ls && nn < SNAP_MAX_E820)
					work[nn++] = (struct span){ ls, le };
				if (re > rs && nn < SNAP_MAX_E820)
					work[nn++] = (struct span){ rs, re };
			}
			nw = nn;
		}
		for (unsigned k = 0; k < nw; k++) {
			uint64_t sp = (work[k].start + ps - 1) >> s->page_shift;
			uint64_t ep = work[k].end >> s->page_shift;
			if (ep > sp && nu < SNAP_MAX_E820)
				usable[nu++] = (struct pfn_range){ sp, ep, 0 };
		}
	}
	if (!nu)
		return snap_error(s, ZPA_EPARSE, "%s: the e820 map has no usable RAM", s->dmesg_path);

	for (unsigned i = 0; i < nu; i++) {
		uint64_t start = usable[i].start, end = usable[i].end;
		if (!s->nr_srat) {
			int r = ram_add(s, start, end, 0);
			if (r)
				return r;
			continue;
		}
		/* Split by the SRAT ranges; pieces no SRAT range covers go to node 0. */
		uint64_t pos = start;
		while (pos < end) {
			uint64_t next = end;
			int nid = 0;
			bool covered = false;
			for (unsigned j = 0; j < s->nr_srat; j++) {
				const struct pfn_range *sr = &s->srat[j];
				if (sr->start <= pos && pos < sr->end) {
					covered = true;
					nid = sr->nid;
					next = sr->end < end ? sr->end : end;
					break;
				}
			}
			if (!covered) {
				for (unsigned j = 0; j < s->nr_srat; j++)
					if (s->srat[j].start > pos && s->srat[j].start < next)
						next = s->srat[j].start;
			}
			int r = ram_add(s, pos, next, nid);
			if (r)
				return r;
			pos = next;
		}
	}
	return 0;
}

/* Invent RAM from zoneinfo's zones: hole (spanned - present) after the first page. */
static int map_from_zoneinfo(struct snap *s)
{
	for (unsigned i = 0; i < s->nr_zones; i++) {
		const struct snap_zone *z = &s->zones[i];
		if (!z->present)
			continue;
		uint64_t start = z->start_pfn, end = z->start_pfn + z->spanned;
		uint64_t hole = z->spanned - z->present;
		int r;
		if (!hole) {
			r = ram_add(s, start, end, z->nid);
		} else {
			r = ram_add(s, start, start + 1, z->nid);
			if (!r)
				r = ram_add(s, start + 1 + hole, end, z->nid);
		}
		if (r)
			return r;
	}
	return 0;
}

/* Sort and merge the RAM ranges; overlapping ranges of two nodes are an error. */
static int ram_normalize(struct snap *s)
{
	if (!s->nr_ram)
		return 0;
	qsort(s->ram, s->nr_ram, sizeof(s->ram[0]), cmp_pfn_range);
	unsigned n = 0;
	for (unsigned i = 0; i < s->nr_ram; i++) {
		struct pfn_range *r = &s->ram[i];
		if (n && r->start <= s->ram[n - 1].end) {
			struct pfn_range *last = &s->ram[n - 1];
			if (r->start < last->end && r->nid != last->nid)
				return snap_error(s, ZPA_EPARSE,
						  "memory map: pfns %#" PRIx64 "-%#" PRIx64 " belong to nodes %d and %d",
						  r->start, (r->end < last->end ? r->end : last->end) - 1,
						  last->nid, r->nid);
			if (r->nid == last->nid) {
				if (r->end > last->end)
					last->end = r->end;
				continue;
			}
		}
		s->ram[n++] = *r;
	}
	s->nr_ram = n;
	return 0;
}

static int build_memory_map(struct snap *s)
{
	int ret;
	if (s->nr_early) {
		for (unsigned i = 0; i < s->nr_early; i++)
			if ((ret = ram_add(s, s->early[i].start, s->early[i].end, s->early[i].nid)))
				return ret;
		s->map_exact = true;
	} else if (s->e820_seen) {
		if ((ret = map_from_e820(s)))
			return ret;
		s->map_exact = true;
	} else {
		if ((ret = map_from_zoneinfo(s)))
			return ret;
	}
	return ram_normalize(s);
}

/* RAM pages of node nid inside [lo, hi). */
static uint64_t ram_in(const struct snap *s, int nid, uint64_t lo, uint64_t hi)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < s->nr_ram; i++) {
		const struct pfn_range *r = &s->ram[i];
		if (r->nid != nid)
			continue;
		uint64_t a = r->start > lo ? r->start : lo, b = r->end < hi ? r->end : hi;
		if (b > a)
			n += b - a;
	}
	return n;
}

/* The snapshot's zones and the memory map must describe the same RAM. */
static int check_map(struct snap *s)
{
	uint64_t map_total = 0, zi_total = 0;
	for (unsigned i = 0; i < s->nr_ram; i++)
		map_total += s->ram[i].end - s->ram[i].start;
	for (unsigned i = 0; i < s->nr_zones; i++) {
		const struct snap_zone *z = &s->zones[i];
		zi_total += z->present;
		if (!z->present)
			continue;
		uint64_t have = ram_in(s, z->nid, z->start_pfn, z->start_pfn + z->spanned);
		if (have < z->managed)
			return snap_error(s, ZPA_EPARSE,
					  "%s:%u: zone %s of node %d manages %" PRIu64
					  " pages but the memory map%s%s gives it only %" PRIu64 " RAM pages",
					  s->zoneinfo_path, z->line, zone_type_names[z->type], z->nid,
					  z->managed, s->map_exact ? " of " : "",
					  s->map_exact ? s->dmesg_path : "", have);
	}
	if (!map_total)
		return snap_error(s, ZPA_EPARSE, "%s: no zone has present pages", s->zoneinfo_path);
	if (map_total != zi_total)
		return snap_error(s, ZPA_EPARSE,
				  "%s: the memory map holds %" PRIu64 " RAM pages but %s's zones present %" PRIu64,
				  s->dmesg_path, map_total, s->zoneinfo_path, zi_total);
	return 0;
}

static int add_reserved(struct snap *s, struct zpa_machine_config *c, uint64_t start, uint64_t end,
			int nid)
{
	if (end <= start)
		return 0;
	int r = zpa_config_add_range(c, start << s->page_shift, end << s->page_shift,
				     ZPA_RANGE_RESERVED, nid);
	if (r)
		return snap_error(s, r, "cannot add reserved range %#" PRIx64 "-%#" PRIx64 ": %s",
				  start << s->page_shift, (end << s->page_shift) - 1, zpa_strerror(r));
	return 0;
}

/*
 * Reserve (RAM in the zone's span) - managed pages of each zone: RAM below
 * 1 MiB first, lowest first, then from the top down.  Pages only on RAM.
 */
static int place_reserved(struct snap *s, struct zpa_machine_config *c)
{
	uint64_t low_end = (1ull << 20) >> s->page_shift;
	int ret;

	for (unsigned i = 0; i < s->nr_zones; i++) {
		const struct snap_zone *z = &s->zones[i];
		if (!z->present)
			continue;
		uint64_t lo = z->start_pfn, hi = z->start_pfn + z->spanned;
		uint64_t need = ram_in(s, z->nid, lo, hi) - z->managed;

		for (unsigned j = 0; j < s->nr_ram && need; j++) {
			const struct pfn_range *r = &s->ram[j];
			uint64_t a = r->start > lo ? r->start : lo;
			uint64_t b = r->end < hi ? r->end : hi;
			if (b > low_end)
				b = low_end;
			if (r->nid != z->nid || b <= a)
				continue;
			uint64_t take = b - a < need ? b - a : need;
			if ((ret = add_reserved(s, c, a, a + take, z->nid)))
				return ret;
			need -= take;
		}
		for (unsigned j = s->nr_ram; j-- > 0 && need;) {
			const struct pfn_range *r = &s->ram[j];
			uint64_t a = r->start > lo ? r->start : lo;
			uint64_t b = r->end < hi ? r->end : hi;
			if (a < low_end)
				a = low_end;
			if (r->nid != z->nid || b <= a)
				continue;
			uint64_t take = b - a < need ? b - a : need;
			if ((ret = add_reserved(s, c, b - take, b, z->nid)))
				return ret;
			need -= take;
		}
		if (need) /* cannot happen after check_map(); keep the contract anyway */
			return snap_error(s, ZPA_EPARSE, "zone %s of node %d: %" PRIu64 " reserved pages left unplaced",
					  zone_type_names[z->type], z->nid, need);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Nodes: distances and CPUs                                                */

static int node_dir_count(struct snap *s, char *nodes_dir, bool *present, int *max_dir_nid)
{
	*max_dir_nid = -1;
	if (!path_join(nodes_dir, s->dump, "sys/devices/system/node") || !is_dir(nodes_dir))
		return 0;
	DIR *d = opendir(nodes_dir);
	if (!d)
		return snap_error(s, ZPA_EIO, "%s: %s", nodes_dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *p = de->d_name;
		uint64_t nid;
		if (strncmp(p, "node", 4))
			continue;
		p += 4;
		if (!isdigit((unsigned char)*p) || !parse_u64(&p, &nid) || *p)
			continue;
		if (nid >= ZPA_MAX_NODES) {
			closedir(d);
			return snap_error(s, ZPA_EPARSE, "%s/%s: node beyond the limit of %d nodes",
					  nodes_dir, de->d_name, ZPA_MAX_NODES);
		}
		present[nid] = true;
		if ((int)nid > *max_dir_nid)
			*max_dir_nid = (int)nid;
	}
	closedir(d);
	return 0;
}

static int read_nodes(struct snap *s, struct zpa_machine_config *c)
{
	char nodes_dir[SNAP_PATH], path[SNAP_PATH + 64];
	bool present[ZPA_MAX_NODES] = { false };
	int max_dir_nid, ret;

	if ((ret = node_dir_count(s, nodes_dir, present, &max_dir_nid)))
		return ret;
	if (max_dir_nid > s->max_nid)
		s->max_nid = max_dir_nid;
	for (unsigned i = 0; i < s->nr_srat; i++)
		if (s->srat[i].nid > s->max_nid)
			s->max_nid = s->srat[i].nid;
	c->nr_nodes = (unsigned)s->max_nid + 1;

	/* Distances: one row per node directory. */
	for (int nid = 0; nid <= max_dir_nid; nid++) {
		char *text;
		if (!present[nid])
			continue;
		snprintf(path, sizeof path, "%s/node%d/distance", nodes_dir, nid);
		ret = read_text(s, path, &text);
		if (ret == ZPA_ENOENT)
			continue;
		if (ret)
			return ret;
		const char *p = text;
		unsigned j = 0;
		uint64_t v;
		while (parse_u64(&p, &v)) {
			if (j >= ZPA_MAX_NODES || v < 1 || v > 255) {
				free(text);
				return snap_error(s, ZPA_EPARSE, "%s:1: distance %" PRIu64 " to node %u out of range",
						  path, v, j);
			}
			c->distance[nid][j++] = (uint8_t)v;
		}
		bool bad = !only_ws(p) && !(p[0] == '\n' && only_ws(p + 1));
		free(text);
		if (bad)
			return snap_error(s, ZPA_EPARSE, "%s:1: expected distances separated by blanks", path);
		if (j > c->nr_nodes)
			c->nr_nodes = j;
	}

	/* CPUs: node<N>/cpulist. */
	uint64_t seen[(ZPA_MAX_CPUS + 63) / 64] = { 0 };
	bool any_list = false;
	int max_cpu = -1;
	for (int nid = 0; nid <= max_dir_nid; nid++) {
		char *text;
		uint64_t bits[(ZPA_MAX_CPUS + 63) / 64] = { 0 };
		if (!present[nid])
			continue;
		snprintf(path, sizeof path, "%s/node%d/cpulist", nodes_dir, nid);
		ret = read_text(s, path, &text);
		if (ret == ZPA_ENOENT)
			continue;
		if (ret)
			return ret;
		any_list = true;
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		ret = zpa_parse_cpulist(text, bits, ZPA_MAX_CPUS);
		free(text);
		if (ret)
			return snap_error(s, ZPA_EPARSE, "%s:1: bad CPU list (ranges like 0-3,5 below %d)",
					  path, ZPA_MAX_CPUS);
		for (int cpu = 0; cpu < ZPA_MAX_CPUS; cpu++) {
			if (!(bits[cpu / 64] >> (cpu % 64) & 1))
				continue;
			if (seen[cpu / 64] >> (cpu % 64) & 1)
				return snap_error(s, ZPA_EPARSE, "%s:1: CPU %d is also listed by another node",
						  path, cpu);
			seen[cpu / 64] |= 1ull << (cpu % 64);
			c->cpu_node[cpu] = nid;
			if (cpu > max_cpu)
				max_cpu = cpu;
		}
	}
	if (any_list && max_cpu >= 0) {
		c->nr_cpus = (unsigned)max_cpu + 1;
		for (int cpu = 0; cpu <= max_cpu; cpu++)
			if (!(seen[cpu / 64] >> (cpu % 64) & 1))
				c->cpu_node[cpu] = 0; /* offline or unlisted CPU */
	} else {
		c->nr_cpus = s->max_pageset_cpu >= 0 ? (unsigned)s->max_pageset_cpu + 1 : 1;
		for (unsigned cpu = 0; cpu < c->nr_cpus; cpu++)
			c->cpu_node[cpu] = (int)(cpu % c->nr_nodes);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Zone types and limits                                                    */

static bool zoneinfo_has(const struct snap *s, int type)
{
	for (unsigned i = 0; i < s->nr_zone_order; i++)
		if (s->zone_order[i] == type)
			return true;
	return false;
}

static void set_zone_limits(struct snap *s, struct zpa_machine_config *c)
{
	/* A printed zone end is the zone's limit when a later zone holds memory. */
	static const int lowmem[] = { ZPA_ZONE_DMA, ZPA_ZONE_DMA32, ZPA_ZONE_NORMAL, ZPA_ZONE_HIGHMEM };
	for (unsigned i = 0; i < 3; i++) {
		const struct zone_range *zr = &s->zr[lowmem[i]];
		bool later = false;
		for (unsigned j = i + 1; j < 4; j++)
			later |= s->zr[lowmem[j]].seen && !s->zr[lowmem[j]].empty;
		if (!zr->seen || zr->empty || !later)
			continue;
		if (lowmem[i] == ZPA_ZONE_DMA)
			c->dma_limit = zr->end;
		else if (lowmem[i] == ZPA_ZONE_DMA32)
			c->dma32_limit = zr->end;
		else
			c->highmem_start = zr->end;
	}
	if (!zoneinfo_has(s, ZPA_ZONE_DMA))
		c->dma_limit = 0;
	if (!zoneinfo_has(s, ZPA_ZONE_DMA32))
		c->dma32_limit = 0;
	c->zone_device = zoneinfo_has(s, ZPA_ZONE_DEVICE);
	if (zoneinfo_has(s, ZPA_ZONE_HIGHMEM) && !c->highmem_start) {
		/* No usable "Zone ranges:": the lowest HighMem zone start, else 896 MiB. */
		uint64_t lowest = UINT64_MAX;
		for (unsigned i = 0; i < s->nr_zones; i++)
			if (s->zones[i].type == ZPA_ZONE_HIGHMEM && s->zones[i].spanned &&
			    s->zones[i].start_pfn < lowest)
				lowest = s->zones[i].start_pfn;
		c->highmem_start = lowest != UINT64_MAX ? lowest << s->page_shift : 896ull << 20;
	}
	if (!zoneinfo_has(s, ZPA_ZONE_HIGHMEM))
		c->highmem_start = 0;
}

/* ---------------------------------------------------------------------- */
/* Command line                                                             */

/* kernelcore=/movablecore= value: "N%" or a size with K/M/G/T/P/E suffix. */
static int parse_core_value(const char *v, size_t len, uint64_t *bytes, unsigned *percent)
{
	char buf[64];
	if (!len || len >= sizeof buf)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (buf[len - 1] == '%') {
		const char *p = buf;
		uint64_t pc;
		if (!parse_u64(&p, &pc) || *p != '%' || pc > 100)
			return -1;
		*percent = (unsigned)pc;
		*bytes = 0;
		return 0;
	}
	const char *end;
	if (zpa_parse_size(buf, &end, bytes) || *end)
		return -1;
	*percent = 0;
	return 0;
}

static int apply_cmdline(struct snap *s, struct zpa_machine_config *c)
{
	bool core_given = false;
	if (s->have_cmdline) {
		const char *p = s->cmdline;
		while (*(p = skip_ws(p))) {
			size_t len = 0;
			while (p[len] && p[len] != ' ' && p[len] != '\t')
				len++;
			const char *val = NULL;
			uint64_t *bytes = NULL;
			unsigned *percent = NULL;
			if (len > 11 && !strncmp(p, "kernelcore=", 11)) {
				val = p + 11;
				bytes = &c->kernelcore;
				percent = &c->kernelcore_percent;
			} else if (len > 12 && !strncmp(p, "movablecore=", 12)) {
				val = p + 12;
				bytes = &c->movablecore;
				percent = &c->movablecore_percent;
			}
			if (val) {
				size_t vl = len - (size_t)(val - p);
				if (bytes == &c->kernelcore && vl == 6 && !strncmp(val, "mirror", 6)) {
					/* kernelcore=mirror needs mirrored memory: not modelled. */
				} else if (parse_core_value(val, vl, bytes, percent)) {
					return snap_error(s, ZPA_EPARSE, "%s: bad value in \"%.*s\"",
							  s->cmdline_src, (int)len, p);
				} else {
					core_given = true;
				}
			}
			p += len;
		}
	}
	if (!core_given) {
		/* No command line to say why: approximate a Movable zone by its size. */
		uint64_t movable = 0;
		for (unsigned i = 0; i < s->nr_zones; i++)
			if (s->zones[i].type == ZPA_ZONE_MOVABLE)
				movable += s->zones[i].present;
		if (movable)
			c->movablecore = movable << s->page_shift;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* vm tunables and THP                                                      */

/*
 * The text of a vm sysctl: proc/sys/vm/<name>, else its line in
 * vm-sysctls.txt.  Returns 1 and fills val/src, 0 if absent, or an error.
 */
static int read_sysctl(struct snap *s, const char *name, char *val, size_t vlen, char *src)
{
	char path[SNAP_PATH + 64], *text;
	int ret;

	snprintf(path, sizeof path, "%s/proc/sys/vm/%s", s->dump, name);
	ret = read_text(s, path, &text);
	if (ret && ret != ZPA_ENOENT)
		return ret;
	if (!ret) {
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		snprintf(val, vlen, "%s", text);
		snprintf(src, SNAP_SRC, "%s:1", path);
		free(text);
		return 1;
	}
	if (!s->vm_sysctls) {
		if (!path_join(s->vm_sysctls_path, s->dump, "vm-sysctls.txt"))
			return 0;
		ret = read_text(s, s->vm_sysctls_path, &s->vm_sysctls);
		if (ret == ZPA_ENOENT) {
			s->vm_sysctls = NULL;
			return 0;
		}
		if (ret)
			return ret;
	}
	/* Scan a copy: the iterator splits in place. */
	char *copy = strdup(s->vm_sysctls);
	if (!copy)
		return snap_error(s, ZPA_ENOMEM, "out of memory");
	struct lines it = { copy, 0 };
	char *line;
	size_t nl = strlen(name);
	ret = 0;
	while ((line = next_line(&it))) {
		if (!strncmp(line, name, nl) && line[nl] == '=') {
			snprintf(val, vlen, "%s", line + nl + 1);
			snprintf(src, SNAP_SRC, "%s:%u", s->vm_sysctls_path, it.no);
			ret = 1;
			break;
		}
	}
	free(copy);
	return ret;
}

static int apply_sysctls(struct snap *s, struct zpa_machine_config *c)
{
	static const struct { const char *name; size_t off; } scalars[] = {
		{ "min_free_kbytes", offsetof(struct zpa_machine_config, min_free_kbytes) },
		{ "watermark_scale_factor", offsetof(struct zpa_machine_config, watermark_scale_factor) },
		{ "watermark_boost_factor", offsetof(struct zpa_machine_config, watermark_boost_factor) },
		{ "percpu_pagelist_high_fraction",
		  offsetof(struct zpa_machine_config, percpu_pagelist_high_fraction) },
	};
	char val[512], src[SNAP_SRC];
	int r;

	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		if ((r = read_sysctl(s, scalars[i].name, val, sizeof val, src)) < 0)
			return r;
		if (!r)
			continue;
		long v;
		if (!parse_long_all(val, &v) || v < 0)
			return snap_error(s, ZPA_EPARSE, "%s: %s is not a non-negative number: \"%.40s\"",
					  src, scalars[i].name, val);
		*(long *)((char *)c + scalars[i].off) = v;
	}

	if ((r = read_sysctl(s, "lowmem_reserve_ratio", val, sizeof val, src)) < 0)
		return r;
	if (r) {
		/* One value per zone type zoneinfo lists, in Linux's order. */
		long ratio[ZPA_NR_ZONE_TYPES];
		unsigned n = 0;
		const char *p = val;
		uint64_t v;
		while (parse_u64(&p, &v)) {
			if (n >= ZPA_NR_ZONE_TYPES || v > (uint64_t)LONG_MAX)
				return snap_error(s, ZPA_EPARSE, "%s: too many lowmem_reserve_ratio values", src);
			ratio[n++] = (long)v;
		}
		if (!only_ws(p))
			return snap_error(s, ZPA_EPARSE, "%s: bad lowmem_reserve_ratio \"%.60s\"", src, val);
		if (n != s->nr_zone_order)
			return snap_error(s, ZPA_EPARSE,
					  "%s: lowmem_reserve_ratio has %u values but %s lists %u zone types",
					  src, n, s->zoneinfo_path, s->nr_zone_order);
		/* zoneinfo lists zones in zone-index order, so this is Linux's order. */
		for (unsigned i = 0; i < n; i++)
			c->lowmem_reserve_ratio[s->zone_order[i]] = ratio[i];
	}

	char path[SNAP_PATH], *text;
	if (path_join(path, s->dump, "sys/kernel/mm/transparent_hugepage/enabled")) {
		r = read_text(s, path, &text);
		if (r && r != ZPA_ENOENT)
			return r;
		if (!r) {
			if (strstr(text, "[never]"))
				c->thp_enabled = 0;
			else if (strstr(text, "[always]") || strstr(text, "[madvise]"))
				c->thp_enabled = 1;
			else
				r = snap_error(s, ZPA_EPARSE, "%s:1: no [mode] selected", path);
			free(text);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

/* Zone types of zoneinfo must appear in zone-index order. */
static int check_zone_order(struct snap *s)
{
	for (unsigned i = 1; i < s->nr_zone_order; i++)
		if (s->zone_order[i] <= s->zone_order[i - 1])
			return snap_error(s, ZPA_EPARSE, "%s: zone %s listed after %s", s->zoneinfo_path,
					  zone_type_names[s->zone_order[i]], zone_type_names[s->zone_order[i - 1]]);
	return 0;
}

int zpa_config_from_snapshot(const char *dir, struct zpa_machine_config *cfg, char *err,
			     size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!cfg) {
		if (err && errlen)
			snprintf(err, errlen, "no config to fill");
		return ZPA_EINVAL;
	}
	struct snap *s = calloc(1, sizeof(*s));
	struct zpa_machine_config *c = malloc(sizeof(*c));
	int ret;
	if (!s || !c) {
		free(s);
		free(c);
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return ZPA_ENOMEM;
	}
	s->err = err;
	s->errlen = errlen;
	s->max_pageset_cpu = -1;
	s->max_nid = -1;
	zpa_machine_config_init(c);
	s->page_shift = c->page_shift;

	if ((ret = resolve_dirs(s, dir)) || (ret = parse_zoneinfo(s)) || (ret = check_zone_order(s)) ||
	    (ret = parse_orders(s, c)) || (ret = parse_dmesg(s)) || (ret = parse_cmdline_file(s)) ||
	    (ret = build_memory_map(s)) || (ret = check_map(s)))
		goto out;
	if (c->pageblock_order >= c->max_order) {
		ret = snap_error(s, ZPA_EPARSE, "%s: pageblock order %u not below max_order %u",
				 s->dump, c->pageblock_order, c->max_order);
		goto out;
	}
	if ((ret = read_nodes(s, c)))
		goto out;
	for (unsigned i = 0; i < s->nr_ram; i++) {
		const struct pfn_range *r = &s->ram[i];
		ret = zpa_config_add_range(c, r->start << s->page_shift, r->end << s->page_shift,
					   ZPA_RANGE_USABLE, r->nid);
		if (ret) {
			ret = snap_error(s, ret, "cannot add RAM range %#" PRIx64 "-%#" PRIx64 " of node %d: %s",
					 r->start << s->page_shift, (r->end << s->page_shift) - 1, r->nid,
					 zpa_strerror(ret));
			goto out;
		}
	}
	if ((ret = place_reserved(s, c)))
		goto out;
	set_zone_limits(s, c);
	if ((ret = apply_cmdline(s, c)) || (ret = apply_sysctls(s, c)))
		goto out;
	*cfg = *c;
	ret = 0;
out:
	free(s->vm_sysctls);
	free(s);
	free(c);
	return ret;
}
