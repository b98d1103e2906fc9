/*
 * report.c - what the `zpa` program prints about a workload run: aligned
 * tables of requests by GFP class and by order, pages by node and zone and
 * the numastat deltas (numa.c), the page balance and the zpa_check() line,
 * plus the same numbers as JSON for scripts.
 *
 * The text is for people; the JSON is for programs and holds only
 * deterministic values (no timings), so two runs with the same seed and
 * machine write identical JSON.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

void cli_heading(FILE *f, const char *fmt, ...)
{
	va_list ap;

	fputs("\n=== ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputs(" ===\n\n", f);
}

/* part as a percentage of whole (0 when whole is 0). */
static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Width of the widest formatted GFP mask of wl_classes, for the table. */
static unsigned gfp_width(void)
{
	unsigned w = (unsigned)strlen("gfp flags");
	char buf[256];

	for (unsigned c = 0; c < WL_NR_CLASSES; c++) {
		unsigned n = (unsigned)zpa_gfp_format(wl_classes[c].gfp, buf, sizeof(buf));

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;

		if (n > w)
			w = n;
	}
	return w;
}

/* The table of requests by GFP class, with a total row. */
static void print_classes(FILE *f, const struct wl_result *r)
{
	unsigned gw = gfp_width();
	char gfp[256], orders[16];
	uint64_t req = 0, fail = 0, pages = 0, frees = 0, live = 0;

	fprintf(f, "Allocation requests by GFP class:\n");
	uint64_t reclaimed = 0;
	fprintf(f, "  %-16s %-*s %-6s %10s %9s %7s %11s %10s %9s %10s\n", "class", (int)gw,
		"gfp flags", "orders", "requests", "failed", "fail%", "pages", "freed", "held", "reclaimed");
	for (unsigned c = 0; c < WL_NR_CLASSES; c++) {
		const struct wl_class *k = &wl_classes[c];
		const struct wl_class_stats *s = &r->cls[c];

		zpa_gfp_format(k->gfp, gfp, sizeof(gfp));
		if (k->min_order == k->max_order)
			snprintf(orders, sizeof(orders), "%u", k->min_order);
		else
			snprintf(orders, sizeof(orders), "%u-%u", k->min_order, k->max_order);
		fprintf(f, "  %-16s %-*s %-6s %10llu %9llu %6.2f%% %11llu %10llu %9llu %10llu\n", k->name,
			(int)gw, gfp, orders, (unsigned long long)s->requests,
			(unsigned long long)s->failures, pct(s->failures, s->requests),
			(unsigned long long)s->pages, (unsigned long long)s->frees,
			(unsigned long long)s->live, (unsigned long long)s->reclaimed);
		req += s->requests, fail += s->failures, pages += s->pages;
		frees += s->frees, live += s->live, reclaimed += s->reclaimed;
	}
	fprintf(f, "  %-16s %-*s %-6s %10llu %9llu %6.2f%% %11llu %10llu %9llu %10llu\n", "total",
		(int)gw, "", "", (unsigned long long)req, (unsigned long long)fail,
		pct(fail, req), (unsigned long long)pages, (unsigned long long)frees,
		(unsigned long long)live, (unsigned long long)reclaimed);
	fprintf(f, "  (pages: pages handed out; freed/held: blocks freed again / still held;\n"
		   "   reclaimed: page cache blocks kswapd or direct reclaim evicted)\n");
}

/* The table of requests by order (orders never requested are left out). */
static void print_orders(FILE *f, const struct wl_result *r)
{
	fprintf(f, "Allocation requests by order:\n");
	fprintf(f, "  %-5s %10s %9s %7s\n", "order", "requests", "failed", "fail%");
	for (unsigned o = 0; o < ZPA_MAX_ORDER_LIMIT; o++) {
		const struct wl_order_stats *s = &r->order[o];

		if (!s->requests)
			continue;
		fprintf(f, "  %-5u %10llu %9llu %6.2f%%\n", o, (unsigned long long)s->requests,
			(unsigned long long)s->failures, pct(s->failures, s->requests));
	}
}

/*
 * Each populated zone's free pages against its watermarks at the end; the
 * boost column explains failures above the plain min watermark.
 */
static void print_zones(FILE *f, struct zpa_machine *m)
{
	bool boosted = false;

	fprintf(f, "Zones at the end:\n");
	fprintf(f, "  %-4s %-8s %10s %10s %7s %8s %8s %8s %8s\n", "node", "zone", "managed",
		"free", "free%", "min", "low", "high", "boost");
	for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++) {
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
			struct zpa_zone_info z;

			if (zpa_zone_info(m, (int)nid, t, &z) != 0 || z.managed == 0)
				continue;
			fprintf(f, "  %-4u %-8s %10llu %10llu %6.2f%% %8llu %8llu %8llu %8llu\n", nid,
				z.name, (unsigned long long)z.managed, (unsigned long long)z.free,
				pct(z.free, z.managed), (unsigned long long)z.min,
				(unsigned long long)z.low, (unsigned long long)z.high,
				(unsigned long long)z.boost);
			boosted |= z.boost != 0;
		}
	}
	fprintf(f, "  (free: pages in the buddy lists, NR_FREE_PAGES; per-CPU lists not included)\n");
	if (boosted)
		fprintf(f, "  (a boost raises every watermark of its zone after a pageblock fallback;\n"
			   "   kswapd gives it back when it runs; with nothing reclaimable a node that\n"
			   "   failed 16 times is left alone, as Linux leaves a hopeless node)\n");
}

void cli_print_summary(FILE *f, struct zpa_machine *m, const struct wl_result *r,
		       int check_rc, const char *check_report, double seconds)
{
	uint64_t managed = zpa_total_managed(m), free_pages = zpa_total_free(m);
	uint64_t used = managed > free_pages ? managed - free_pages : 0;

	fprintf(f, "seed %llu: %llu operations (%llu allocation requests, %llu frees) in %.2f s\n",
		(unsigned long long)r->seed, (unsigned long long)r->ops,
		(unsigned long long)r->allocs, (unsigned long long)r->frees, seconds);
	fputc('\n', f);
	print_classes(f, r);
	fputc('\n', f);
	print_orders(f, r);
	fputc('\n', f);
	cli_print_numa_report(f, m, r);
	fputc('\n', f);
	print_zones(f, m);
	fputc('\n', f);
	fprintf(f, "Pages:\n");
	fprintf(f, "  %-34s %11llu\n", "managed", (unsigned long long)managed);
	fprintf(f, "  %-34s %11llu  (%.1f%% of managed, %llu blocks)\n", "held by the workload at the end",
		(unsigned long long)r->in_use, pct(r->in_use, managed),
		(unsigned long long)r->live_blocks);
	fprintf(f, "  %-34s %11llu  (%.1f%%; targets: fill %.0f%%, peak %.1f%%)\n", "peak held",
		(unsigned long long)r->peak_in_use, pct(r->peak_in_use, managed),
		pct(r->target_pages, managed), pct(r->peak_target_pages, managed));
	fprintf(f, "  %-34s %11llu  (managed - free, where free counts the per-CPU lists)\n",
		"allocated", (unsigned long long)used);
	fputc('\n', f);
	fprintf(f, "Failures: %llu of %llu requests (%.2f%%)", (unsigned long long)r->failures,
		(unsigned long long)r->allocs, pct(r->failures, r->allocs));
	if (r->failures)
		fprintf(f, "; expected under pressure: only the page cache class is reclaimable and no task is registered to kill");
	fputc('\n', f);
	{
		static const char *const names[] = { "pgscan_kswapd", "pgsteal_kswapd", "pgscan_direct", "pgsteal_direct",
						      "allocstall_dma", "allocstall_dma32", "allocstall_normal",
						      "allocstall_movable", "compact_stall", "compact_success",
						      "pgmigrate_success", "oom_kill" };
		uint64_t v[sizeof names / sizeof names[0]];
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			v[i] = zpa_vmstat(m, names[i], NULL);
		fprintf(f, "Reclaim: kswapd scanned %llu, reclaimed %llu; direct reclaim scanned %llu, reclaimed %llu "
			   "(allocstall %llu)\n",
			(unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
			(unsigned long long)v[3], (unsigned long long)(v[4] + v[5] + v[6] + v[7]));
		fprintf(f, "Compaction: %llu stalls, %llu successes, %llu pages migrated; OOM kills: %llu\n",
			(unsigned long long)v[8], (unsigned long long)v[9], (unsigned long long)v[10],
			(unsigned long long)v[11]);
	}
	if (r->free_errors)
		fprintf(f, "Refused frees: %llu (first: %s) -- a bug\n",
			(unsigned long long)r->free_errors, zpa_strerror(r->first_free_error));
	else
		fprintf(f, "Refused frees: 0\n");
	fputc('\n', f);
	if (check_rc == 0)
		fprintf(f, "zpa_check: ok\n");
	else
		fprintf(f, "zpa_check: FAILED (%s)\n%s\n", zpa_strerror(check_rc),
			check_report ? check_report : "");
}

/* Print s as a JSON string. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int cli_write_json(FILE *f, struct zpa_machine *m, const struct wl_result *r,
		   int check_rc, const char *check_report)
{
	char gfp[256];
	unsigned nodes = zpa_nr_nodes(m);

	fprintf(f, "{\n  \"seed\": %llu,\n  \"ops\": %llu,\n  \"allocs\": %llu,\n  \"frees\": %llu,\n",
		(unsigned long long)r->seed, (unsigned long long)r->ops,
		(unsigned long long)r->allocs, (unsigned long long)r->frees);
	fprintf(f, "  \"cpu\": %d,\n  \"policy\": ", r->cpu);
	if (r->policy)
		json_string(f, r->policy);
	else
		fputs("null", f);
	fputs(",\n", f);
	fprintf(f, "  \"failures\": %llu,\n  \"refused_frees\": %llu,\n",
		(unsigned long long)r->failures, (unsigned long long)r->free_errors);
	fprintf(f, "  \"managed_pages\": %llu,\n  \"free_pages\": %llu,\n",
		(unsigned long long)zpa_total_managed(m), (unsigned long long)zpa_total_free(m));
	fprintf(f, "  \"held_pages\": %llu,\n  \"held_blocks\": %llu,\n  \"peak_held_pages\": %llu,\n",
		(unsigned long long)r->in_use, (unsigned long long)r->live_blocks,
		(unsigned long long)r->peak_in_use);
	cli_write_numa_json(f, m, r);
	fprintf(f, "  \"classes\": [\n");
	for (unsigned c = 0; c < WL_NR_CLASSES; c++) {
		const struct wl_class_stats *s = &r->cls[c];

		zpa_gfp_format(wl_classes[c].gfp, gfp, sizeof(gfp));
		fprintf(f, "    {\"name\": ");
		json_string(f, wl_classes[c].name);
		fprintf(f, ", \"gfp\": ");
		json_string(f, gfp);
		fprintf(f, ", \"gfp_mask\": \"%#x\", \"min_order\": %u, \"max_order\": %u, "
			"\"requests\": %llu, \"failures\": %llu, \"pages\": %llu, \"frees\": %llu, "
			"\"held\": %llu, \"reclaimed\": %llu, \"migrated\": %llu, \"node_pages\": [",
			(unsigned)wl_classes[c].gfp, wl_classes[c].min_order, wl_classes[c].max_order,
			(unsigned long long)s->requests, (unsigned long long)s->failures,
			(unsigned long long)s->pages, (unsigned long long)s->frees,
			(unsigned long long)s->live, (unsigned long long)s->reclaimed,
			(unsigned long long)s->migrated);
		for (unsigned nid = 0; nid < nodes && nid < ZPA_MAX_NODES; nid++)
			fprintf(f, "%s%llu", nid ? ", " : "", (unsigned long long)s->node_pages[nid]);
		fprintf(f, "]}%s\n", c + 1 < WL_NR_CLASSES ? "," : "");
	}
	fprintf(f, "  ],\n  \"orders\": [\n");
	bool first = true;
	for (unsigned o = 0; o < ZPA_MAX_ORDER_LIMIT; o++) {
		if (!r->order[o].requests)
			continue;
		fprintf(f, "%s    {\"order\": %u, \"requests\": %llu, \"failures\": %llu}",
			first ? "" : ",\n", o, (unsigned long long)r->order[o].requests,
			(unsigned long long)r->order[o].failures);
		first = false;
	}
	fprintf(f, "\n  ],\n  \"check\": ");
	json_string(f, check_rc == 0 ? "ok" : (check_report && *check_report ? check_report
								       : zpa_strerror(check_rc)));
	fprintf(f, "\n}\n");
	return ferror(f) ? -1 : 0;
}
