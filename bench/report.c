/*
 * report.c - zpa-bench's output: the text table, zpa's ratios, the issue's
 * targets, and --json.
 *
 * A cell holds one ns/op value per repetition; bench_cell_finish() sorts a
 * copy and keeps the median (mean of the middle two for an even count), the
 * min and the max.  Ratios are zpa's median over the other allocator's
 * median in the same run: below 1 zpa is faster.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_cell_finish(struct bench_cell *c)
{
	double v[BENCH_MAX_REPS];
	if (!c->nr)
		return;
	memcpy(v, c->ns, c->nr * sizeof(*v));
	qsort(v, c->nr, sizeof(*v), cmp_double);
	c->min = v[0];
	c->max = v[c->nr - 1];
	c->median = c->nr % 2 ? v[c->nr / 2] : (v[c->nr / 2 - 1] + v[c->nr / 2]) / 2;
	c->done = true;
}

static const char *const workload_desc[W_NR] = {
	[W_1] = "order-0 alloc then free",
	[W_2_LIFO] = "100k allocs, LIFO frees",
	[W_2_RAND] = "100k allocs, random frees",
	[W_3] = "order mix, 50% full",
	[W_4] = "W1 on 2 threads",
	[W_BULK] = "128 pages per call",
};

#define COL 20

static bool shown(const struct bench_results *r, int b)
{
	return r->backend_selected[b] && bench_backends[b].available;
}

/* A number with as many decimals as its size deserves. */
static int fmt_num(char *buf, size_t len, double v)
{
	return snprintf(buf, len, v < 10 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f", v);
}

static void fmt_cell(char *buf, size_t len, const struct bench_cell *c)
{
	char a[24], b[24], d[24];
	if (!c->done) {
		snprintf(buf, len, "-");
		return;
	}
	fmt_num(a, sizeof(a), c->median);
	fmt_num(b, sizeof(b), c->min);
	fmt_num(d, sizeof(d), c->max);
	snprintf(buf, len, "%s [%s-%s]", a, b, d);
}

static const struct bench_cell *zcell(const struct bench_results *r, int w)
{
	const struct bench_cell *c = &r->cell[B_ZPA][w];
	return shown(r, B_ZPA) && c->done ? c : NULL;
}

static void print_targets(const struct bench_results *r)
{
	const struct bench_cell *w1 = zcell(r, W_1), *c;
	const struct bench_cell *tc = shown(r, B_TCMALLOC) && r->cell[B_TCMALLOC][W_1].done ? &r->cell[B_TCMALLOC][W_1] : NULL;
	const struct bench_cell *st = shown(r, B_STACK) && r->cell[B_STACK][W_1].done ? &r->cell[B_STACK][W_1] : NULL;
	if (!shown(r, B_ZPA))
		return;
	printf("\nTargets (issue 3), zpa's medians:\n");
#define TARGET(ok, ...)                                               \
	do {                                                          \
		printf("  %-7s ", (ok) ? "met" : "MISSED");           \
		printf(__VA_ARGS__);                                  \
		printf("\n");                                         \
	} while (0)
	if (w1) {
		TARGET(w1->median <= 6, "W1 <= 6 ns/op: %.2f", w1->median);
		if (r->instr_per_op[B_ZPA] >= 0)
			TARGET(r->instr_per_op[B_ZPA] < 40, "W1 < 40 instructions/op: %.1f", r->instr_per_op[B_ZPA]);
		if (tc)
			TARGET(w1->median < tc->median, "W1 ahead of tcmalloc: %.2f vs %.2f", w1->median, tc->median);
		if (st)
			TARGET(w1->median <= 2.5 * st->median, "W1 within 2.5x of the array stack: %.2fx",
			       w1->median / st->median);
	}
	if ((c = zcell(r, W_2_LIFO)))
		TARGET(c->median <= 15, "W2 LIFO <= 15 ns/op: %.2f", c->median);
	if ((c = zcell(r, W_2_RAND)))
		TARGET(c->median <= 15, "W2 random <= 15 ns/op: %.2f", c->median);
	if ((c = zcell(r, W_3)))
		TARGET(c->median <= 20 && c->failures == 0, "W3 <= 20 ns/op with no failures: %.2f, %llu failures",
		       c->median, (unsigned long long)c->failures);
	if ((c = zcell(r, W_4)) && w1) {
		/* The array stack shares nothing between threads: its W4/W1 is the machine's own. */
		const struct bench_cell *s4 = st && r->cell[B_STACK][W_4].done ? &r->cell[B_STACK][W_4] : NULL;
		char ref[64] = "";
		if (s4)
			snprintf(ref, sizeof(ref), " (array stack: %.2fx)", s4->median / st->median);
		TARGET(c->median <= 1.25 * w1->median, "W4 per-thread <= 1.25x W1: %.2fx%s", c->median / w1->median,
		       ref);
	}
	if ((c = zcell(r, W_BULK)))
		TARGET(c->median <= 3, "bulk <= 3 ns per page operation: %.2f", c->median);
#undef TARGET
}

void bench_print_table(const struct bench_results *r)
{
	char buf[96];
	printf("zpa-bench: %s\n", r->machine);
	printf("zpa machine: %s\n", r->zpa_machine);
	printf("%u repetitions per cell, scale %g, %.1f s in all\n\n", r->reps, r->scale, r->wall_s);

	printf("Allocators:\n");
	for (int b = 0; b < B_NR; b++) {
		const struct bench_backend *k = &bench_backends[b];
		if (!r->backend_selected[b])
			continue;
		printf("  %-12s %-10s %s\n", k->name, k->version[0] ? k->version : "", k->where);
		if (k->available)
			printf("  %-12s %-10s %s\n", "", "", k->api);
		if (k->note[0])
			printf("  %-12s %-10s note: %s\n", "", "", k->note);
	}

	printf("\nns per operation (one allocation or one free): median [min-max] over %u repetitions\n", r->reps);
	printf("%-9s %-26s", "workload", "");
	for (int b = 0; b < B_NR; b++)
		if (shown(r, b))
			printf(" %-*s", COL, bench_backends[b].name);
	printf("\n");
	for (int w = 0; w < W_NR; w++) {
		if (!r->selected[w])
			continue;
		printf("%-9s %-26s", bench_workload_names[w], workload_desc[w]);
		for (int b = 0; b < B_NR; b++) {
			if (!shown(r, b))
				continue;
			fmt_cell(buf, sizeof(buf), &r->cell[b][w]);
			printf(" %-*s", COL, buf);
		}
		printf("\n");
	}
	if (r->selected[W_1]) {
		printf("%-9s %-26s", "W1", "instructions/op, callgrind");
		for (int b = 0; b < B_NR; b++) {
			if (!shown(r, b))
				continue;
			if (r->instr_per_op[b] >= 0)
				snprintf(buf, sizeof(buf), "%.1f", r->instr_per_op[b]);
			else
				snprintf(buf, sizeof(buf), "-");
			printf(" %-*s", COL, buf);
		}
		printf("\n");
		if (r->callgrind_note[0])
			printf("  (instructions: %s)\n", r->callgrind_note);
	}
	for (int w = 0; w < W_NR; w++) {
		for (int b = 0; b < B_NR; b++) {
			const struct bench_cell *c = &r->cell[b][w];
			if (!shown(r, b) || !c->done || (!c->failures && !c->errors))
				continue;
			printf("  %s %s: %llu failed allocations, %llu free errors over all repetitions\n",
			       bench_workload_names[w], bench_backends[b].name, (unsigned long long)c->failures,
			       (unsigned long long)c->errors);
		}
	}

	if (shown(r, B_ZPA)) {
		printf("\nzpa / x (ratio of medians, below 1: zpa is faster)\n");
		printf("%-9s", "workload");
		for (int b = 0; b < B_NR; b++)
			if (b != B_ZPA && shown(r, b))
				printf(" %12s", bench_backends[b].name);
		printf("\n");
		for (int w = 0; w < W_NR; w++) {
			const struct bench_cell *z = zcell(r, w);
			if (!r->selected[w] || !z)
				continue;
			printf("%-9s", bench_workload_names[w]);
			for (int b = 0; b < B_NR; b++) {
				if (b == B_ZPA || !shown(r, b))
					continue;
				const struct bench_cell *c = &r->cell[b][w];
				if (c->done && c->median > 0)
					printf(" %12.2f", z->median / c->median);
				else
					printf(" %12s", "-");
			}
			printf("\n");
		}
	}
	for (int b = 0; b < B_NR; b++)
		if (r->backend_selected[b] && !bench_backends[b].available)
			printf("%s: not measured (%s%s%s)\n", bench_backends[b].name, bench_backends[b].where,
			       bench_backends[b].note[0] ? "; " : "", bench_backends[b].note);
	print_targets(r);
	fflush(stdout);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int bench_write_json(const struct bench_results *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\n  \"unit\": \"ns per operation (one allocation or one free)\",\n  \"machine\": ");
	json_str(f, r->machine);
	fprintf(f, ",\n  \"zpa_machine\": ");
	json_str(f, r->zpa_machine);
	fprintf(f, ",\n  \"repetitions\": %u,\n  \"scale\": %g,\n  \"allocators\": [", r->reps, r->scale);
	bool first = true;
	for (int b = 0; b < B_NR; b++) {
		const struct bench_backend *k = &bench_backends[b];
		if (!r->backend_selected[b])
			continue;
		fprintf(f, "%s\n    {\"name\": ", first ? "" : ",");
		json_str(f, k->name);
		fprintf(f, ", \"available\": %s, \"version\": ", k->available ? "true" : "false");
		json_str(f, k->version);
		fprintf(f, ", \"where\": ");
		json_str(f, k->where);
		fprintf(f, ", \"api\": ");
		json_str(f, k->api);
		fprintf(f, ", \"note\": ");
		json_str(f, k->note);
		if (r->instr_per_op[b] >= 0)
			fprintf(f, ", \"w1_instructions_per_op\": %.2f", r->instr_per_op[b]);
		fprintf(f, "}");
		first = false;
	}
	fprintf(f, "\n  ],\n  \"cells\": [");
	first = true;
	for (int b = 0; b < B_NR; b++) {
		for (int w = 0; w < W_NR; w++) {
			const struct bench_cell *c = &r->cell[b][w];
			if (!shown(r, b) || !r->selected[w] || !c->done)
				continue;
			fprintf(f, "%s\n    {\"allocator\": ", first ? "" : ",");
			json_str(f, bench_backends[b].name);
			fprintf(f, ", \"workload\": ");
			json_str(f, bench_workload_names[w]);
			fprintf(f, ", \"median_ns\": %.4f, \"min_ns\": %.4f, \"max_ns\": %.4f", c->median, c->min, c->max);
			const struct bench_cell *z = zcell(r, w);
			if (z && b != B_ZPA && c->median > 0)
				fprintf(f, ", \"zpa_ratio\": %.4f", z->median / c->median);
			fprintf(f, ", \"ops_per_rep\": %llu, \"failures\": %llu, \"errors\": %llu, \"ns\": [",
				(unsigned long long)c->ops, (unsigned long long)c->failures, (unsigned long long)c->errors);
			for (unsigned i = 0; i < c->nr; i++)
				fprintf(f, "%s%.4f", i ? ", " : "", c->ns[i]);
			fprintf(f, "]}");
			first = false;
		}
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f))
		return -1;
	return 0;
}
