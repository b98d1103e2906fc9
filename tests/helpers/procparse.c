/*
 * procparse.c - parsers for Linux's /proc/zoneinfo, buddyinfo and
 * pagetypeinfo text (see procparse.h), used by the tests.
 *
 * Each parser walks the text line by line.  zoneinfo is a sequence of zone
 * blocks opened by "Node N, zone NAME"; inside one, a small state machine
 * follows Linux's print order (per-node stats, the watermark and page-count
 * lines, protection, zone counters, pagesets, then node_unreclaimable and
 * start_pfn), so counters land in the right table and an unexpected line is
 * reported with its number.  buddyinfo and pagetypeinfo are rows of counts
 * after a "Node N, zone NAME" prefix.
 *
 * Everything returned is heap memory owned by the result struct.
 *
 * SPDX-License-Identifier: MIT
 */
#include "helpers/procparse.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pp_zone_names[] = { "DMA", "DMA32", "Normal", "HighMem", "Movable", "Device" };

int pp_zone_type(const char *name)
{
	for (int i = 0; i < (int)(sizeof(pp_zone_names) / sizeof(pp_zone_names[0])); i++)
		if (!strcmp(name, pp_zone_names[i]))
			return i;
	return -1;
}

char *pp_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (cap - n < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (!got)
			break;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

static int pp_fail(char *err, size_t errlen, unsigned line, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "line %u: ", line);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

/* Grow *arr (of *nr elements of size sz) by one zeroed element; NULL on OOM. */
static void *pp_push(void **arr, unsigned *nr, size_t sz)
{
	/* Capacity is 4, then each power of two the count reaches, doubled. */
	if (*nr == 0 || (*nr >= 4 && (*nr & (*nr - 1)) == 0)) {
		size_t cap = *nr ? (size_t)*nr * 2 : 4;
		void *na = realloc(*arr, cap * sz);
		if (!na)
			return NULL;
		*arr = na;
	}
	char *e = (char *)*arr + (size_t)(*nr)++ * sz;
	memset(e, 0, sz);
	return e;
}

/* Copy the next line of *pp into buf (truncated), advancing *pp; false at end. */
static bool pp_next_line(const char **pp, char *buf, size_t size)
{
	const char *p = *pp;
	if (!*p)
		return false;
	const char *nl = strchr(p, '\n');
	size_t n = nl ? (size_t)(nl - p) : strlen(p);
	*pp = nl ? nl + 1 : p + n;
	if (n && p[n - 1] == '\r')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return true;
}

static const char *pp_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool pp_blank(const char *p)
{
	return !*pp_ws(p);
}

/* Unsigned decimal at *pp (after blanks); advances. */
static bool pp_u64(const char **pp, uint64_t *out)
{
	const char *p = pp_ws(*pp);
	if (!isdigit((unsigned char)*p))
		return false;
	uint64_t v = 0;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	*out = v;
	*pp = p;
	return true;
}

static bool pp_long(const char **pp, long *out)
{
	const char *p = pp_ws(*pp);
	bool neg = *p == '-';
	uint64_t v;
	if (neg)
		p++;
	if (!pp_u64(&p, &v) || v > (uint64_t)9223372036854775807ull)
		return false;
	*out = neg ? -(long)v : (long)v;
	*pp = p;
	return true;
}

/* A word of non-blank characters into out; advances.  False if none or too long. */
static bool pp_word(const char **pp, char *out, size_t size)
{
	const char *p = pp_ws(*pp);
	size_t n = 0;
	while (p[n] && p[n] != ' ' && p[n] != '\t')
		n++;
	if (!n || n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	*pp = p + n;
	return true;
}

/*
 * "Node N, zone NAME" prefix (buddyinfo/pagetypeinfo also have "Node    N,").
 * Advances past NAME and a following ',' if any.
 */
static bool pp_node_zone(const char **pp, int *nid, char *zone)
{
	const char *p = *pp;
	uint64_t v;
	if (strncmp(p, "Node", 4))
		return false;
	p += 4;
	if (*p != ' ' || !pp_u64(&p, &v) || *p != ',' || v > 4096)
		return false;
	p = pp_ws(p + 1);
	if (strncmp(p, "zone", 4) || (p[4] != ' ' && p[4] != '\t'))
		return false;
	p += 4;
	const char *q = pp_ws(p);
	size_t n = 0;
	while (q[n] && q[n] != ' ' && q[n] != '\t' && q[n] != ',')
		n++;
	if (!n || n >= PP_NAME_MAX)
		return false;
	memcpy(zone, q, n);
	zone[n] = '\0';
	q += n;
	if (*q == ',')
		q++;
	*nid = (int)v;
	*pp = q;
	return true;
}

/* ------------------------------------------------------------ zoneinfo */

enum zi_section { ZI_NODE_STATS, ZI_HEAD, ZI_ZONE_STATS, ZI_PAGESETS, ZI_TAIL };

static void zone_free(struct pp_zone *z)
{
	free(z->pagesets);
	free(z->stats);
	free(z->node_stats);
}

void pp_zoneinfo_free(struct pp_zoneinfo *zi)
{
	if (!zi)
		return;
	for (unsigned i = 0; i < zi->nr_zones; i++)
		zone_free(&zi->zones[i]);
	free(zi->zones);
	zi->zones = NULL;
	zi->nr_zones = 0;
}

/* Split "key words   VALUE" at the last blank run: key (no trailing ':') and value text. */
static bool split_key_value(const char *line, char *key, size_t ksize, bool *colon, const char **value)
{
	const char *p = pp_ws(line);
	const char *end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	const char *v = end;
	while (v > p && v[-1] != ' ' && v[-1] != '\t')
		v--;
	if (v == p)
		return false;
	const char *k_end = v;
	while (k_end > p && (k_end[-1] == ' ' || k_end[-1] == '\t'))
		k_end--;
	*colon = k_end > p && k_end[-1] == ':';
	if (*colon)
		k_end--;
	size_t kl = (size_t)(k_end - p);
	if (!kl || kl >= ksize)
		return false;
	memcpy(key, p, kl);
	key[kl] = '\0';
	*value = v;
	return true;
}

int pp_parse_zoneinfo(const char *text, struct pp_zoneinfo *out, char *err, size_t errlen)
{
	char line[1024];
	const char *p = text;
	unsigned no = 0;
	struct pp_zone *z = NULL;
	struct pp_pageset *ps = NULL;
	enum zi_section sec = ZI_NODE_STATS;

	memset(out, 0, sizeof(*out));
	while (pp_next_line(&p, line, sizeof line)) {
		no++;
		if (pp_blank(line))
			continue;
		if (!strncmp(line, "Node", 4)) {
			const char *q = line;
			char name[PP_NAME_MAX];
			int nid;
			if (!pp_node_zone(&q, &nid, name) || !pp_blank(q)) {
				pp_fail(err, errlen, no, "expected \"Node N, zone NAME\"");
				goto fail;
			}
			z = pp_push((void **)&out->zones, &out->nr_zones, sizeof(*z));
			if (!z) {
				pp_fail(err, errlen, no, "out of memory");
				goto fail;
			}
			z->nid = nid;
			snprintf(z->name, sizeof z->name, "%s", name);
			z->line = no;
			ps = NULL;
			sec = ZI_NODE_STATS;
			continue;
		}
		if (!z) {
			pp_fail(err, errlen, no, "text before the first \"Node N, zone NAME\"");
			goto fail;
		}
		const char *t = pp_ws(line);
		if (!strcmp(t, "per-node stats")) {
			if (sec != ZI_NODE_STATS || z->nr_node_stats) {
				pp_fail(err, errlen, no, "\"per-node stats\" out of place");
				goto fail;
			}
			continue;
		}
		if (!strcmp(t, "pagesets")) {
			if (sec != ZI_ZONE_STATS) {
				pp_fail(err, errlen, no, "\"pagesets\" before the zone's counters");
				goto fail;
			}
			sec = ZI_PAGESETS;
			continue;
		}
		if (!strncmp(t, "protection:", 11)) {
			const char *q = pp_ws(t + 11);
			if (sec != ZI_HEAD || *q != '(') {
				pp_fail(err, errlen, no, "malformed or misplaced protection line");
				goto fail;
			}
			q++;
			for (;;) {
				uint64_t v;
				if (z->nr_protection >= PP_MAX_PROT || !pp_u64(&q, &v)) {
					pp_fail(err, errlen, no, "bad protection list");
					goto fail;
				}
				z->protection[z->nr_protection++] = v;
				if (*q == ',') {
					q++;
					continue;
				}
				if (*q == ')' && pp_blank(q + 1))
					break;
				pp_fail(err, errlen, no, "bad protection list");
				goto fail;
			}
			sec = ZI_ZONE_STATS;
			continue;
		}

		char key[64];
		bool colon;
		const char *val;
		if (!split_key_value(line, key, sizeof key, &colon, &val)) {
			pp_fail(err, errlen, no, "unexpected line \"%.60s\"", t);
			goto fail;
		}
		long lv;
		uint64_t uv;
		const char *vq = val;
		bool is_u = pp_u64(&vq, &uv) && pp_blank(vq);
		vq = val;
		bool is_l = pp_long(&vq, &lv) && pp_blank(vq);

		if (sec == ZI_PAGESETS && colon && !strcmp(key, "cpu")) {
			if (!is_u || uv > 1u << 20) {
				pp_fail(err, errlen, no, "bad cpu number");
				goto fail;
			}
			ps = pp_push((void **)&z->pagesets, &z->nr_pagesets, sizeof(*ps));
			if (!ps) {
				pp_fail(err, errlen, no, "out of memory");
				goto fail;
			}
			ps->cpu = (int)uv;
			ps->stat_threshold = -1;
			continue;
		}
		if (sec == ZI_PAGESETS && colon && ps) {
			if (!is_l) {
				pp_fail(err, errlen, no, "bad number in \"%.60s\"", t);
				goto fail;
			}
			if (!strcmp(key, "count"))
				ps->count = lv;
			else if (!strcmp(key, "high"))
				ps->high = lv;
			else if (!strcmp(key, "batch"))
				ps->batch = lv;
			else if (!strcmp(key, "high_min")) {
				ps->high_min = lv;
				ps->has_high_min = true;
			} else if (!strcmp(key, "high_max"))
				ps->high_max = lv;
			else if (!strcmp(key, "vm stats threshold"))
				ps->stat_threshold = lv;
			else if (!strcmp(key, "node_unreclaimable") || !strcmp(key, "start_pfn"))
				goto tail;
			else {
				pp_fail(err, errlen, no, "unexpected pageset line \"%.60s\"", t);
				goto fail;
			}
			continue;
		}
tail:
		if (colon && (!strcmp(key, "node_unreclaimable") || !strcmp(key, "start_pfn"))) {
			if (!is_u) {
				pp_fail(err, errlen, no, "bad number in \"%.60s\"", t);
				goto fail;
			}
			if (key[0] == 'n') {
				z->node_unreclaimable = (long)uv;
				z->has_node_unreclaimable = true;
			} else {
				z->start_pfn = uv;
				z->has_start_pfn = true;
			}
			sec = ZI_TAIL;
			continue;
		}
		if (colon || !is_u) {
			pp_fail(err, errlen, no, "unexpected line \"%.60s\"", t);
			goto fail;
		}
		if (!strcmp(key, "pages free")) {
			if (sec != ZI_NODE_STATS) {
				pp_fail(err, errlen, no, "\"pages free\" out of place");
				goto fail;
			}
			z->free = uv;
			sec = ZI_HEAD;
			continue;
		}
		if (sec == ZI_HEAD) {
			static const struct { const char *k; size_t off; } head[] = {
				{ "boost", offsetof(struct pp_zone, boost) },
				{ "min", offsetof(struct pp_zone, min) },
				{ "low", offsetof(struct pp_zone, low) },
				{ "high", offsetof(struct pp_zone, high) },
				{ "promo", offsetof(struct pp_zone, promo) },
				{ "spanned", offsetof(struct pp_zone, spanned) },
				{ "present", offsetof(struct pp_zone, present) },
				{ "managed", offsetof(struct pp_zone, managed) },
				{ "cma", offsetof(struct pp_zone, cma) },
			};
			size_t i;
			for (i = 0; i < sizeof(head) / sizeof(head[0]); i++)
				if (!strcmp(key, head[i].k))
					break;
			if (i == sizeof(head) / sizeof(head[0])) {
				pp_fail(err, errlen, no, "unexpected zone line \"%.60s\"", t);
				goto fail;
			}
			*(uint64_t *)((char *)z + head[i].off) = uv;
			if (!strcmp(key, "promo"))
				z->has_promo = true;
			continue;
		}
		if (sec == ZI_NODE_STATS || sec == ZI_ZONE_STATS) {
			struct pp_stat **arr = sec == ZI_NODE_STATS ? &z->node_stats : &z->stats;
			unsigned *nr = sec == ZI_NODE_STATS ? &z->nr_node_stats : &z->nr_stats;
			struct pp_stat *st = pp_push((void **)arr, nr, sizeof(**arr));
			if (!st || strlen(key) >= sizeof st->name || strchr(key, ' ')) {
				pp_fail(err, errlen, no, st ? "bad counter name" : "out of memory");
				goto fail;
			}
			memcpy(st->name, key, strlen(key) + 1);
			st->value = uv;
			continue;
		}
		pp_fail(err, errlen, no, "unexpected line \"%.60s\"", t);
		goto fail;
	}
	if (!out->nr_zones) {
		pp_fail(err, errlen, no, "no zones");
		goto fail;
	}
	return 0;
fail:
	pp_zoneinfo_free(out);
	return -1;
}

int pp_load_zoneinfo(const char *path, struct pp_zoneinfo *out, char *err, size_t errlen)
{
	char msg[512];
	char *text = pp_read_file(path, NULL);
	memset(out, 0, sizeof(*out));
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "%s: cannot read", path);
		return -1;
	}
	int r = pp_parse_zoneinfo(text, out, msg, sizeof msg);
	free(text);
	if (r && err && errlen)
		snprintf(err, errlen, "%s: %s", path, msg);
	return r;
}

const struct pp_zone *pp_zoneinfo_find(const struct pp_zoneinfo *zi, int nid, const char *name)
{
	for (unsigned i = 0; i < zi->nr_zones; i++)
		if (zi->zones[i].nid == nid && !strcmp(zi->zones[i].name, name))
			return &zi->zones[i];
	return NULL;
}

bool pp_zone_stat(const struct pp_zone *z, const char *name, uint64_t *value)
{
	for (unsigned i = 0; i < z->nr_stats; i++)
		if (!strcmp(z->stats[i].name, name)) {
			*value = z->stats[i].value;
			return true;
		}
	return false;
}

const struct pp_pageset *pp_zone_pageset(const struct pp_zone *z, int cpu)
{
	for (unsigned i = 0; i < z->nr_pagesets; i++)
		if (z->pagesets[i].cpu == cpu)
			return &z->pagesets[i];
	return NULL;
}

/* ------------------------------------------------------------ buddyinfo */

/* Counts until the end of the line; false on junk. */
static bool pp_counts(const char *q, uint64_t *count, unsigned max, unsigned *n)
{
	*n = 0;
	for (;;) {
		uint64_t v;
		if (pp_blank(q))
			return *n > 0;
		if (*n >= max || !pp_u64(&q, &v) || (*q && *q != ' ' && *q != '\t'))
			return false;
		count[(*n)++] = v;
	}
}

void pp_buddyinfo_free(struct pp_buddyinfo *bi)
{
	if (!bi)
		return;
	free(bi->rows);
	bi->rows = NULL;
	bi->nr_rows = 0;
}

int pp_parse_buddyinfo(const char *text, struct pp_buddyinfo *out, char *err, size_t errlen)
{
	char line[1024];
	const char *p = text;
	unsigned no = 0;

	memset(out, 0, sizeof(*out));
	while (pp_next_line(&p, line, sizeof line)) {
		no++;
		if (pp_blank(line))
			continue;
		const char *q = line;
		struct pp_buddy_row row = { 0 };
		if (!pp_node_zone(&q, &row.nid, row.zone) ||
		    !pp_counts(q, row.count, PP_MAX_ORDERS, &row.nr_orders)) {
			pp_fail(err, errlen, no, "expected \"Node N, zone NAME count...\"");
			goto fail;
		}
		if (out->nr_rows && row.nr_orders != out->rows[0].nr_orders) {
			pp_fail(err, errlen, no, "%u orders, the first row has %u", row.nr_orders,
				out->rows[0].nr_orders);
			goto fail;
		}
		struct pp_buddy_row *r = pp_push((void **)&out->rows, &out->nr_rows, sizeof(*r));
		if (!r) {
			pp_fail(err, errlen, no, "out of memory");
			goto fail;
		}
		*r = row;
	}
	if (!out->nr_rows) {
		pp_fail(err, errlen, no, "no rows");
		goto fail;
	}
	return 0;
fail:
	pp_buddyinfo_free(out);
	return -1;
}

const struct pp_buddy_row *pp_buddyinfo_find(const struct pp_buddyinfo *bi, int nid, const char *zone)
{
	for (unsigned i = 0; i < bi->nr_rows; i++)
		if (bi->rows[i].nid == nid && !strcmp(bi->rows[i].zone, zone))
			return &bi->rows[i];
	return NULL;
}

/* ------------------------------------------------------------ pagetypeinfo */

void pp_pagetypeinfo_free(struct pp_pagetypeinfo *pi)
{
	if (!pi)
		return;
	free(pi->free_rows);
	free(pi->block_rows);
	memset(pi, 0, sizeof(*pi));
}

int pp_parse_pagetypeinfo(const char *text, struct pp_pagetypeinfo *out, char *err, size_t errlen)
{
	enum { NONE, FREE, BLOCKS, MIXED } sec = NONE;
	char line[2048];
	const char *p = text;
	unsigned no = 0;

	memset(out, 0, sizeof(*out));
	out->pageblock_order = -1;
	out->pages_per_block = -1;
	while (pp_next_line(&p, line, sizeof line)) {
		no++;
		if (pp_blank(line))
			continue;
		const char *q = line;
		long v;
		if (!strncmp(line, "Page block order:", 17)) {
			q += 17;
			if (!pp_long(&q, &v) || !pp_blank(q) ||
			    (out->pageblock_order >= 0 && out->pageblock_order != v)) {
				pp_fail(err, errlen, no, "bad page block order");
				goto fail;
			}
			out->pageblock_order = (int)v;
			sec = NONE;
			continue;
		}
		if (!strncmp(line, "Pages per block:", 16)) {
			q += 16;
			if (!pp_long(&q, &v) || !pp_blank(q) ||
			    (out->pages_per_block >= 0 && out->pages_per_block != v)) {
				pp_fail(err, errlen, no, "bad pages per block");
				goto fail;
			}
			out->pages_per_block = v;
			sec = NONE;
			continue;
		}
		if (!strncmp(line, "Free pages count per migrate type at order", 42)) {
			uint64_t cols[PP_MAX_ORDERS];
			unsigned n;
			if (!pp_counts(line + 42, cols, PP_MAX_ORDERS, &n)) {
				pp_fail(err, errlen, no, "bad order header");
				goto fail;
			}
			for (unsigned i = 0; i < n; i++)
				if (cols[i] != i) {
					pp_fail(err, errlen, no, "order header does not count 0, 1, 2, ...");
					goto fail;
				}
			if (out->nr_orders && out->nr_orders != n) {
				pp_fail(err, errlen, no, "order header changed width");
				goto fail;
			}
			out->nr_orders = n;
			sec = FREE;
			continue;
		}
		if (!strncmp(line, "Number of blocks type", 21)) {
			char names[PP_MAX_TYPES][PP_NAME_MAX];
			unsigned n = 0;
			memset(names, 0, sizeof names); /* compared whole below */
			q = line + 21;
			while (!pp_blank(q)) {
				if (n >= PP_MAX_TYPES || !pp_word(&q, names[n], PP_NAME_MAX)) {
					pp_fail(err, errlen, no, "bad block type header");
					goto fail;
				}
				n++;
			}
			if (out->nr_block_types &&
			    (n != out->nr_block_types || memcmp(names, out->block_types, n * sizeof(names[0])))) {
				pp_fail(err, errlen, no, "block type header changed");
				goto fail;
			}
			memcpy(out->block_types, names, n * sizeof(names[0]));
			out->nr_block_types = n;
			sec = BLOCKS;
			continue;
		}
		if (!strncmp(line, "Number of mixed blocks", 22)) {
			sec = MIXED;
			continue;
		}
		int nid;
		char zone[PP_NAME_MAX];
		if (!pp_node_zone(&q, &nid, zone)) {
			pp_fail(err, errlen, no, "unexpected line \"%.60s\"", line);
			goto fail;
		}
		if (sec == FREE) {
			struct pp_pagetype_row row = { .nid = nid };
			snprintf(row.zone, sizeof row.zone, "%s", zone);
			q = pp_ws(q);
			if (strncmp(q, "type", 4) || !(q += 4, pp_word(&q, row.type, PP_NAME_MAX)) ||
			    !pp_counts(q, row.count, PP_MAX_ORDERS, &row.nr_orders) ||
			    row.nr_orders != out->nr_orders) {
				pp_fail(err, errlen, no, "expected \"Node N, zone NAME, type TYPE count...\"");
				goto fail;
			}
			struct pp_pagetype_row *r = pp_push((void **)&out->free_rows, &out->nr_free_rows, sizeof(*r));
			if (!r) {
				pp_fail(err, errlen, no, "out of memory");
				goto fail;
			}
			*r = row;
		} else if (sec == BLOCKS) {
			struct pp_blocks_row row = { .nid = nid };
			snprintf(row.zone, sizeof row.zone, "%s", zone);
			if (!pp_counts(q, row.count, PP_MAX_TYPES, &row.nr_types) ||
			    row.nr_types != out->nr_block_types) {
				pp_fail(err, errlen, no, "expected one block count per type");
				goto fail;
			}
			struct pp_blocks_row *r = pp_push((void **)&out->block_rows, &out->nr_block_rows, sizeof(*r));
			if (!r) {
				pp_fail(err, errlen, no, "out of memory");
				goto fail;
			}
			*r = row;
		} else if (sec != MIXED) {
			pp_fail(err, errlen, no, "zone row before any header");
			goto fail;
		}
	}
	if (!out->nr_free_rows && !out->nr_block_rows && out->pageblock_order < 0) {
		pp_fail(err, errlen, no, "not a pagetypeinfo");
		goto fail;
	}
	return 0;
fail:
	pp_pagetypeinfo_free(out);
	return -1;
}

const struct pp_pagetype_row *pp_pagetypeinfo_find(const struct pp_pagetypeinfo *pi, int nid,
						   const char *zone, const char *type)
{
	for (unsigned i = 0; i < pi->nr_free_rows; i++)
		if (pi->free_rows[i].nid == nid && !strcmp(pi->free_rows[i].zone, zone) &&
		    !strcmp(pi->free_rows[i].type, type))
			return &pi->free_rows[i];
	return NULL;
}

const struct pp_blocks_row *pp_pagetypeinfo_blocks(const struct pp_pagetypeinfo *pi, int nid,
						   const char *zone)
{
	for (unsigned i = 0; i < pi->nr_block_rows; i++)
		if (pi->block_rows[i].nid == nid && !strcmp(pi->block_rows[i].zone, zone))
			return &pi->block_rows[i];
	return NULL;
}
