/*
 * report.c - what a replay found, for people (text) and for programs (JSON,
 * CSV).  tools/zpa-report.py turns the JSON into plots and an HTML page.
 *
 * Text: the trace, the start state and how close it came to the snapshot,
 * the replay's numbers, placement agreement and pages per zone.  With a
 * what-if run (b) every number sits in two columns with the difference.
 *
 * JSON: the keys the issue names (events, allocs, frees, zpa_only_failures,
 * node_agreement, zone_agreement, extfrag_zpa, extfrag_trace, seconds) at
 * the top level, then "trace", "detail", "start_state", "zones",
 * "series" (per sample: events, trace time, extfrag counts, per zone free
 * pages, free blocks per order, unusable free index and fragmentation index
 * per order in thousandths), "pageblocks" (one letter per pageblock:
 * U M R H C I, '.' outside memory; at the start and the end) and "vs" with
 * the same for the what-if run.  Numbers are integers except the ratios and
 * the seconds; the series keys are fixed, so scripts need no guessing.
 *
 * CSV: one row per sample and zone, the series flattened.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rp_int.h"

static const char pb_letters[] = "UMRHCI";

#ifndef ZPA_REPORT_SCRIPT
#define ZPA_REPORT_SCRIPT "tools/zpa-report.py"
#endif

const char *rp_report_script(void)
{
	const char *e = getenv("ZPA_REPORT");
	return e && *e ? e : ZPA_REPORT_SCRIPT;
}

static const char *zname(int type)
{
	const char *n = zpa_zone_type_name((enum zpa_zone_type)type);
	return n ? n : "?";
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* ------------------------------------------------------------ text */

static void print_trace(FILE *f, const struct rp_trace *t)
{
	if (t->synthetic)
		fprintf(f, "Workload: %s (synthetic: block ids stand for pfns, no placement to compare)\n", t->path);
	else
		fprintf(f, "Trace:    %s (%s, %s compression)\n", t->path, t->format, t->compression);
	fprintf(f, "          %" PRIu64 " lines, %zu events: ", t->lines, t->n);
	for (int i = 0; i < RP_NR_EVENT_TYPES; i++)
		fprintf(f, "%s%s %" PRIu64, i ? ", " : "", rp_event_names[i], t->count[i]);
	fprintf(f, "\n          other events %" PRIu64 ", comments %" PRIu64 ", CPUs seen %u, %.3f s of trace time%s\n",
		t->other_events, t->comments, t->max_cpu + 1, t->n ? t->last_ts - t->first_ts : 0.0,
		t->unsorted ? " (timestamps not in order: kept in file order)" : "");
	if (t->lost_events)
		fprintf(f, "          WARNING: %" PRIu64 " lost-events notices: the ring buffer overflowed, "
			   "the replay misses events\n", t->lost_events);
	if (t->bytes)
		fprintf(f, "          read in %.2f s (%.1f MB of text); malformed lines: %" PRIu64 "\n", t->seconds,
			(double)t->bytes / 1e6, t->malformed);
	else
		fprintf(f, "          read in %.2f s; malformed records: %" PRIu64 "\n", t->seconds, t->malformed);
	for (unsigned i = 0; i < t->nr_bad && i < 10; i++)
		fprintf(f, "            line %" PRIu64 ": %s\n", t->bad[i].line, t->bad[i].reason);
	if (t->malformed > 10)
		fprintf(f, "            ... (%" PRIu64 " more)\n", t->malformed - (t->nr_bad < 10 ? t->nr_bad : 10));
}

static void print_start(FILE *f, const struct rp_result *r)
{
	const struct rp_start_state *s = &r->start;
	if (!s->built) {
		fprintf(f, "Start:    not rebuilt (%s)\n", s->why_not[0] ? s->why_not : "no snapshot numbers");
		return;
	}
	fprintf(f, "Start:    rebuilt from the snapshot in %.2f s: free pages zpa %" PRIu64 ", snapshot %" PRIu64 "\n",
		s->seconds, s->zpa_free_pages, s->target_free_pages);
	fprintf(f, "          distance to the snapshot's pagetypeinfo: L1 %" PRIu64 " pages (%.3f%% of free), %" PRIu64
		   " blocks; pageblock types off by %" PRIu64 "\n",
		s->l1_pages, pct(s->l1_pages, s->target_free_pages), s->l1_blocks, s->l1_pageblocks);
	fprintf(f, "          %-18s %10s %10s %9s %7s %5s %13s %13s\n", "zone", "free zpa", "snapshot", "L1 pages",
		"blocks", "pbs", "pcp placed", "pretrace");
	for (unsigned i = 0; i < s->nr_zones; i++) {
		const struct rp_start_zone *z = &s->zones[i];
		char name[32], pcp[32], pre[32];
		snprintf(name, sizeof(name), "Node %d %s", z->nid, zname(z->zone_type));
		snprintf(pcp, sizeof(pcp), "%" PRIu64 "/%" PRIu64, z->pcp_placed, z->pcp_target);
		snprintf(pre, sizeof(pre), "%" PRIu64 "/%" PRIu64, z->pretrace_blocks - z->pretrace_unplaced,
			 z->pretrace_blocks);
		fprintf(f, "          %-18s %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %7" PRIu64 " %5" PRIu64 " %13s %13s\n",
			name, z->zpa_free_pages, z->target_free_pages, z->l1_pages, z->l1_blocks, z->l1_pageblocks, pcp,
			pre);
	}
}

/* One row of numbers: A, and B with the difference when there is a B. */
static void row_u(FILE *f, const char *name, uint64_t a, const struct rp_result *b, uint64_t bv)
{
	if (!b)
		fprintf(f, "  %-34s %14" PRIu64 "\n", name, a);
	else
		fprintf(f, "  %-34s %14" PRIu64 " %14" PRIu64 " %+14" PRId64 "\n", name, a, bv, (int64_t)(bv - a));
}

static void row_pct(FILE *f, const char *name, double a, const struct rp_result *b, double bv)
{
	if (!b)
		fprintf(f, "  %-34s %13.2f%%\n", name, 100 * a);
	else
		fprintf(f, "  %-34s %13.2f%% %13.2f%% %+13.2f%%\n", name, 100 * a, 100 * bv, 100 * (bv - a));
}

#define ROW(name, field) row_u(f, name, a->field, b, b ? b->field : 0)

/* The lowest free page count (all zones) over the samples. */
static uint64_t series_min_free(const struct rp_series *s)
{
	uint64_t best = UINT64_MAX;
	for (unsigned k = 0; k < s->nr_samples; k++) {
		uint64_t sum = 0;
		for (unsigned z = 0; z < s->nr_zones; z++)
			sum += s->free_pages[(size_t)k * s->nr_zones + z];
		if (sum < best)
			best = sum;
	}
	return s->nr_samples ? best : 0;
}

/* The mean unusable free index of zone z at order o over the samples, as a fraction. */
static double series_mean_unusable(const struct rp_series *s, unsigned z, unsigned o)
{
	double sum = 0;
	if (!s->nr_samples || o >= s->nr_orders)
		return 0;
	for (unsigned k = 0; k < s->nr_samples; k++)
		sum += s->unusable[((size_t)k * s->nr_zones + z) * s->nr_orders + o];
	return sum / s->nr_samples / 1000.0;
}

/* Free blocks of order >= o in zone z at the last sample. */
static uint64_t series_last_high(const struct rp_series *s, unsigned z, unsigned o)
{
	uint64_t n = 0;
	if (!s->nr_samples)
		return 0;
	for (unsigned q = o; q < s->nr_orders; q++)
		n += s->nr_free[((size_t)(s->nr_samples - 1) * s->nr_zones + z) * s->nr_orders + q];
	return n;
}

void rp_print_text(FILE *f, const struct rp_trace *t, const struct rp_result *a, const struct rp_result *b)
{
	print_trace(f, t);
	print_start(f, a);
	if (b && b->start.built && (b->start.l1_pages != a->start.l1_pages))
		fprintf(f, "          (run B's start state: L1 %" PRIu64 " pages)\n", b->start.l1_pages);
	fprintf(f, "\n");
	if (b) {
		fprintf(f, "Run A:    %s\nRun B:    %s\n\n", a->label[0] ? a->label : "(defaults)",
			b->label[0] ? b->label : "(defaults)");
		fprintf(f, "  %-34s %14s %14s %14s\n", "", "A", "B", "B - A");
	}
	ROW("events", events);
	ROW("allocations (mm_page_alloc)", allocs);
	ROW("  the kernel failed", kernel_failures);
	ROW("  zpa failed", zpa_failures);
	ROW("  zpa-only failures", zpa_only_failures);
	ROW("  zpa-only successes", zpa_only_successes);
	ROW("frees (mm_page_free)", frees);
	ROW("  of pages allocated before the trace", frees_pretrace);
	ROW("  of part of a block (split first)", frees_split);
	ROW("  of pages zpa failed to allocate", frees_of_failed);
	ROW("  unmatched", frees_unmatched);
	ROW("  refused by zpa", frees_refused);
	ROW("batched frees (counted, not replayed)", frees_batched);
	ROW("pfn reused without a traced free", realloc_live);
	ROW("extfrag events: zpa", extfrag_zpa);
	ROW("extfrag events: trace", extfrag_trace);
	ROW("pcp drains (trace)", pcpu_drain_trace);
	ROW("allocations placed by both", placed);
	row_pct(f, "node agreement", a->node_agreement, b, b ? b->node_agreement : 0);
	row_pct(f, "zone agreement", a->zone_agreement, b, b ? b->zone_agreement : 0);
	ROW("free pages at the end", end_free_pages);
	row_u(f, "lowest free pages (samples)", series_min_free(&a->series), b, b ? series_min_free(&b->series) : 0);
	for (unsigned z = 0; z < a->series.nr_zones; z++) {
		char name[96];
		unsigned o = a->pageblock_order;
		snprintf(name, sizeof(name), "N%d %s unusable idx o%u, mean", a->series.zone_nid[z],
			 zname(a->series.zone_type[z]), o);
		row_pct(f, name, series_mean_unusable(&a->series, z, o), b,
			b && z < b->series.nr_zones ? series_mean_unusable(&b->series, z, o) : 0);
		snprintf(name, sizeof(name), "N%d %s free blocks >= o%u, end", a->series.zone_nid[z],
			 zname(a->series.zone_type[z]), o);
		row_u(f, name, series_last_high(&a->series, z, o), b,
		      b && z < b->series.nr_zones ? series_last_high(&b->series, z, o) : 0);
	}
	for (unsigned z = 0; b && z < a->series.nr_zones; z++) {
		static const char *const wn[3] = { "min", "low", "high" };
		for (int w = 0; w < 3; w++) {
			char name[96];
			snprintf(name, sizeof(name), "N%d %s watermark %s", a->series.zone_nid[z], zname(a->series.zone_type[z]),
				 wn[w]);
			row_u(f, name, a->wmark[z][w], b, b->wmark[z][w]);
		}
	}
	ROW("allocator warnings", log_messages);
	if (a->pfn_outside || (b && b->pfn_outside))
		ROW("trace pfns outside the machine", pfn_outside);
	if (a->cpu_folded || (b && b->cpu_folded))
		ROW("events on CPUs the machine lacks", cpu_folded);
	if (!b)
		fprintf(f, "  %-34s %14.3f s (%.2f M events/s)\n", "replay time", a->seconds, a->events_per_second / 1e6);
	else
		fprintf(f, "  %-34s %13.3fs %13.3fs\n", "replay time", a->seconds, b->seconds);

	fprintf(f, "\nPages placed per zone (%s):\n", t->synthetic ? "zpa's allocations" : "allocations both served");
	fprintf(f, "  %-18s %14s %14s", "zone", "kernel", b ? "zpa A" : "zpa");
	if (b)
		fprintf(f, " %14s", "zpa B");
	fprintf(f, "\n");
	for (unsigned i = 0; i < a->series.nr_zones; i++) {
		char name[32];
		snprintf(name, sizeof(name), "Node %d %s", a->series.zone_nid[i], zname(a->series.zone_type[i]));
		fprintf(f, "  %-18s %14" PRIu64 " %14" PRIu64, name, a->zone_pages_trace[i], a->zone_pages_zpa[i]);
		if (b)
			fprintf(f, " %14" PRIu64, b->zone_pages_zpa[i]);
		fprintf(f, "\n");
	}
	const struct rp_result *runs[2] = { a, b };
	for (int k = 0; k < 2; k++) {
		const struct rp_result *r = runs[k];
		if (!r || !r->nr_fail_kept)
			continue;
		fprintf(f, "\nFirst zpa-only failures%s%s:\n", b ? " of " : "", b ? (k ? "B" : "A") : "");
		for (unsigned i = 0; i < r->nr_fail_kept; i++) {
			char gfp[200];
			zpa_gfp_format(r->fail[i].gfp, gfp, sizeof(gfp));
			fprintf(f, "  line %" PRIu64 " (%.6f s, CPU %d): order %u %s\n", r->fail[i].line, r->fail[i].ts,
				r->fail[i].cpu, r->fail[i].order, gfp);
		}
	}
	fprintf(f, "\nzpa_check after the replay: %s%s%s\n", a->check_rc ? "FAILED: " : "clean",
		a->check_rc ? a->check_report : "", b ? (b->check_rc ? " (B: FAILED)" : " (B: clean)") : "");
}

/* ------------------------------------------------------------ JSON */

static void json_u64_array(FILE *f, const uint64_t *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", v[i]);
	fputc(']', f);
}

static void json_series(FILE *f, const struct rp_series *s)
{
	fprintf(f, "{\"zones\":[");
	for (unsigned z = 0; z < s->nr_zones; z++) {
		fprintf(f, "%s{\"node\":%d,\"zone\":", z ? "," : "", s->zone_nid[z]);
		json_str(f, zname(s->zone_type[z]));
		fputc('}', f);
	}
	fprintf(f, "],\"orders\":%u,\"samples\":%u,\"event\":", s->nr_orders, s->nr_samples);
	json_u64_array(f, s->event, s->nr_samples);
	fprintf(f, ",\"ts\":[");
	for (unsigned k = 0; k < s->nr_samples; k++)
		fprintf(f, "%s%.6f", k ? "," : "", s->ts[k]);
	fprintf(f, "],\"extfrag\":");
	json_u64_array(f, s->extfrag, s->nr_samples);
	fprintf(f, ",\"extfrag_trace\":");
	json_u64_array(f, s->extfrag_trace, s->nr_samples);
	fprintf(f, ",\"free_pages\":[");
	for (unsigned k = 0; k < s->nr_samples; k++) {
		fputs(k ? "," : "", f);
		json_u64_array(f, &s->free_pages[(size_t)k * s->nr_zones], s->nr_zones);
	}
	static const char *const names[3] = { "nr_free", "unusable", "fragidx" };
	for (int which = 0; which < 3; which++) {
		fprintf(f, "],\"%s\":[", names[which]);
		for (unsigned k = 0; k < s->nr_samples; k++) {
			fprintf(f, "%s[", k ? "," : "");
			for (unsigned z = 0; z < s->nr_zones; z++) {
				size_t base = ((size_t)k * s->nr_zones + z) * s->nr_orders;
				fprintf(f, "%s[", z ? "," : "");
				for (unsigned o = 0; o < s->nr_orders; o++) {
					if (which == 0)
						fprintf(f, "%s%" PRIu64, o ? "," : "", s->nr_free[base + o]);
					else
						fprintf(f, "%s%d", o ? "," : "",
							which == 1 ? s->unusable[base + o] : s->fragidx[base + o]);
				}
				fputc(']', f);
			}
			fputc(']', f);
		}
	}
	fprintf(f, "]}");
}

static void json_pbmap(FILE *f, const struct rp_pbmap *pm)
{
	fprintf(f, "[");
	for (unsigned z = 0; z < pm->nr_zones; z++) {
		fprintf(f, "%s{\"node\":%d,\"zone\":", z ? "," : "", pm->zone_nid[z]);
		json_str(f, zname(pm->zone_type[z]));
		fprintf(f, ",\"start_pfn\":%" PRIu64 ",\"types\":\"", pm->zone_start[z]);
		for (uint64_t b = 0; b < pm->zone_blocks[z]; b++) {
			uint8_t t = pm->types[z][b];
			fputc(t < sizeof(pb_letters) - 1 ? pb_letters[t] : '.', f);
		}
		fprintf(f, "\"}");
	}
	fprintf(f, "]");
}

static void json_run(FILE *f, const struct rp_trace *t, const struct rp_result *r)
{
	fprintf(f, "\"label\":");
	json_str(f, r->label);
	fprintf(f, ",\"events\":%" PRIu64 ",\"allocs\":%" PRIu64 ",\"frees\":%" PRIu64 ",\"zpa_only_failures\":%" PRIu64
		   ",\"node_agreement\":%.6f,\"zone_agreement\":%.6f,\"extfrag_zpa\":%" PRIu64 ",\"extfrag_trace\":%" PRIu64
		   ",\"seconds\":%.6f",
		r->events, r->allocs, r->frees, r->zpa_only_failures, r->node_agreement, r->zone_agreement,
		r->extfrag_zpa, r->extfrag_trace, r->seconds);
	fprintf(f, ",\n\"detail\":{\"kernel_failures\":%" PRIu64 ",\"zpa_failures\":%" PRIu64
		   ",\"zpa_only_successes\":%" PRIu64 ",\"frees_pretrace\":%" PRIu64 ",\"frees_unmatched\":%" PRIu64
		   ",\"frees_of_failed\":%" PRIu64 ",\"frees_split\":%" PRIu64 ",\"frees_refused\":%" PRIu64
		   ",\"frees_batched\":%" PRIu64 ",\"realloc_live\":%" PRIu64 ",\"pfn_outside\":%" PRIu64
		   ",\"cpu_folded\":%" PRIu64 ",\"placed\":%" PRIu64 ",\"same_node\":%" PRIu64 ",\"same_zone\":%" PRIu64
		   ",\"pcpu_drain_trace\":%" PRIu64 ",\"zone_locked_trace\":%" PRIu64 ",\"end_free_pages\":%" PRIu64
		   ",\"allocator_warnings\":%" PRIu64 ",\"events_per_second\":%.0f,\"check\":",
		r->kernel_failures, r->zpa_failures, r->zpa_only_successes, r->frees_pretrace, r->frees_unmatched,
		r->frees_of_failed, r->frees_split, r->frees_refused, r->frees_batched, r->realloc_live, r->pfn_outside,
		r->cpu_folded, r->placed, r->same_node, r->same_zone, r->pcpu_drain_trace, r->zone_locked_trace,
		r->end_free_pages, r->log_messages, r->events_per_second);
	json_str(f, r->check_rc ? r->check_report : "clean");
	fprintf(f, ",\"order_allocs\":");
	json_u64_array(f, r->order_allocs, ZPA_MAX_ORDER_LIMIT);
	fprintf(f, ",\"order_zpa_only_failures\":");
	json_u64_array(f, r->order_zpa_only_failures, ZPA_MAX_ORDER_LIMIT);
	fprintf(f, ",\"first_zpa_only_failures\":[");
	for (unsigned i = 0; i < r->nr_fail_kept; i++) {
		char gfp[200];
		zpa_gfp_format(r->fail[i].gfp, gfp, sizeof(gfp));
		fprintf(f, "%s{\"line\":%" PRIu64 ",\"ts\":%.6f,\"cpu\":%d,\"order\":%u,\"gfp\":", i ? "," : "",
			r->fail[i].line, r->fail[i].ts, r->fail[i].cpu, r->fail[i].order);
		json_str(f, gfp);
		fputc('}', f);
	}
	fprintf(f, "]}");

	const struct rp_start_state *s = &r->start;
	fprintf(f, ",\n\"start_state\":{\"built\":%s,\"why_not\":", s->built ? "true" : "false");
	json_str(f, s->why_not);
	fprintf(f, ",\"seconds\":%.6f,\"target_free_pages\":%" PRIu64 ",\"zpa_free_pages\":%" PRIu64
		   ",\"l1_pages\":%" PRIu64 ",\"l1_blocks\":%" PRIu64 ",\"l1_pageblocks\":%" PRIu64 ",\"zones\":[",
		s->seconds, s->target_free_pages, s->zpa_free_pages, s->l1_pages, s->l1_blocks, s->l1_pageblocks);
	for (unsigned i = 0; i < s->nr_zones; i++) {
		const struct rp_start_zone *z = &s->zones[i];
		fprintf(f, "%s{\"node\":%d,\"zone\":", i ? "," : "", z->nid);
		json_str(f, zname(z->zone_type));
		fprintf(f, ",\"target_free_pages\":%" PRIu64 ",\"zpa_free_pages\":%" PRIu64 ",\"l1_pages\":%" PRIu64
			   ",\"l1_blocks\":%" PRIu64 ",\"l1_pageblocks\":%" PRIu64 ",\"pcp_target\":%" PRIu64
			   ",\"pcp_placed\":%" PRIu64 ",\"pretrace_blocks\":%" PRIu64 ",\"pretrace_unplaced\":%" PRIu64 "}",
			z->target_free_pages, z->zpa_free_pages, z->l1_pages, z->l1_blocks, z->l1_pageblocks,
			z->pcp_target, z->pcp_placed, z->pretrace_blocks, z->pretrace_unplaced);
	}
	fprintf(f, "]}");

	fprintf(f, ",\n\"zones\":[");
	for (unsigned i = 0; i < r->series.nr_zones; i++) {
		fprintf(f, "%s{\"node\":%d,\"zone\":", i ? "," : "", r->series.zone_nid[i]);
		json_str(f, zname(r->series.zone_type[i]));
		fprintf(f, ",\"pages_trace\":%" PRIu64 ",\"pages_zpa\":%" PRIu64 ",\"min\":%" PRIu64 ",\"low\":%" PRIu64
			   ",\"high\":%" PRIu64 "}",
			r->zone_pages_trace[i], r->zone_pages_zpa[i], r->wmark[i][0], r->wmark[i][1], r->wmark[i][2]);
	}
	fprintf(f, "]");
	fprintf(f, ",\n\"series\":");
	json_series(f, &r->series);
	if (r->map_start.nr_zones) {
		fprintf(f, ",\n\"pageblocks\":{\"order\":%u,\"legend\":{\"U\":\"Unmovable\",\"M\":\"Movable\","
			   "\"R\":\"Reclaimable\",\"H\":\"HighAtomic\",\"C\":\"CMA\",\"I\":\"Isolate\",\".\":\"no memory\"},"
			   "\"start\":", r->map_start.pageblock_order);
		json_pbmap(f, &r->map_start);
		fprintf(f, ",\"end\":");
		json_pbmap(f, &r->map_end);
		fprintf(f, "}");
	}
	(void)t;
}

int rp_write_json(FILE *f, const struct rp_trace *t, const struct rp_result *a, const struct rp_result *b)
{
	fprintf(f, "{");
	json_run(f, t, a);
	fprintf(f, ",\n\"trace\":{\"path\":");
	json_str(f, t->path);
	fprintf(f, ",\"format\":");
	json_str(f, t->format);
	fprintf(f, ",\"compression\":");
	json_str(f, t->compression);
	fprintf(f, ",\"lines\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"lost_events\":%" PRIu64
		   ",\"other_events\":%" PRIu64 ",\"cpus\":%u,\"first_ts\":%.6f,\"last_ts\":%.6f,\"unsorted\":%s,\"counts\":{",
		t->lines, t->bytes, t->malformed, t->lost_events, t->other_events, t->max_cpu + 1, t->first_ts,
		t->last_ts, t->unsorted ? "true" : "false");
	for (int i = 0; i < RP_NR_EVENT_TYPES; i++) {
		fprintf(f, "%s", i ? "," : "");
		json_str(f, rp_event_names[i]);
		fprintf(f, ":%" PRIu64, t->count[i]);
	}
	fprintf(f, "},\"bad_lines\":[");
	for (unsigned i = 0; i < t->nr_bad; i++) {
		fprintf(f, "%s{\"line\":%" PRIu64 ",\"reason\":", i ? "," : "", t->bad[i].line);
		json_str(f, t->bad[i].reason);
		fputc('}', f);
	}
	fprintf(f, "],\"marks\":[");
	unsigned nm = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct rp_event *e = &t->ev[i];
		if (e->type != RP_EV_MARK)
			continue;
		fprintf(f, "%s{\"event\":%zu,\"ts\":%.6f,\"text\":", nm++ ? "," : "", i, e->ts);
		json_str(f, e->gfp < t->nr_marks ? t->marks[e->gfp] : "");
		fputc('}', f);
	}
	fprintf(f, "]}");
	if (b) {
		fprintf(f, ",\n\"vs\":{");
		json_run(f, t, b);
		fprintf(f, "}");
	}
	fprintf(f, "}\n");
	return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------ CSV */

int rp_write_csv(FILE *f, const struct rp_result *r)
{
	const struct rp_series *s = &r->series;
	fprintf(f, "sample,event,ts,node,zone,free_pages,extfrag_zpa,extfrag_trace");
	for (unsigned o = 0; o < s->nr_orders; o++)
		fprintf(f, ",nr_free_%u", o);
	for (unsigned o = 0; o < s->nr_orders; o++)
		fprintf(f, ",unusable_%u", o);
	for (unsigned o = 0; o < s->nr_orders; o++)
		fprintf(f, ",fragidx_%u", o);
	fputc('\n', f);
	for (unsigned k = 0; k < s->nr_samples; k++)
		for (unsigned z = 0; z < s->nr_zones; z++) {
			size_t base = ((size_t)k * s->nr_zones + z) * s->nr_orders;
			fprintf(f, "%u,%" PRIu64 ",%.6f,%d,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64, k, s->event[k], s->ts[k],
				s->zone_nid[z], zname(s->zone_type[z]), s->free_pages[(size_t)k * s->nr_zones + z],
				s->extfrag[k], s->extfrag_trace[k]);
			for (unsigned o = 0; o < s->nr_orders; o++)
				fprintf(f, ",%" PRIu64, s->nr_free[base + o]);
			for (unsigned o = 0; o < s->nr_orders; o++)
				fprintf(f, ",%.3f", s->unusable[base + o] / 1000.0);
			for (unsigned o = 0; o < s->nr_orders; o++)
				fprintf(f, ",%.3f", s->fragidx[base + o] / 1000.0);
			fputc('\n', f);
		}
	return ferror(f) ? -1 : 0;
}
