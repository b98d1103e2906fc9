/*
 * test_stress_highalloc.c - `zpa run stress-highalloc` (cli/cmd_stress.c),
 * run as a child process (ZPA_CLI), and what it must show.
 *
 *   - The Must-show of anti-fragmentation: on the default machine and seed,
 *     with grouping by mobility on, the order-9 allocations at rest reach at
 *     least 90% of the ideal count, and at least 3 times what the same
 *     workload gets with grouping off, in one invocation.
 *   - The numbers hang together: nothing beats the free aligned pageblocks
 *     there are, the ideal never exceeds free pages / 512, the success rate
 *     is allocated / ideal, grouping on has its fallbacks counted and packs
 *     the kernel's pages into fewer pageblocks, zpa_check() is clean after
 *     both runs.
 *   - Deterministic: the same seed writes identical JSON; another seed does
 *     not; --no-mobility is exactly the second run of the full invocation.
 *   - The text report has both columns; bad options exit 2.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers/zt.h"

#define TIMEOUT_S "300"

struct result {
	int status;        /* exit status, or -1 if killed / not run */
	char *out, *err;
};

#define read_file zt_read_file /* tests/helpers/zt.c */

/* Run `zpa <args>` under a timeout and capture both streams. */
static struct result run_zpa(const char *args)
{
	char cmd[4096], out_path[] = "/tmp/zpa-stress-out-XXXXXX", err_path[] = "/tmp/zpa-stress-err-XXXXXX";
	struct result r = { .status = -1 };
	int fo = mkstemp(out_path), fe = mkstemp(err_path), st;

	assert_true(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	snprintf(cmd, sizeof(cmd), "timeout " TIMEOUT_S " '%s' %s >'%s' 2>'%s'", ZPA_CLI, args, out_path, err_path);
	st = system(cmd);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 124)
		r.status = WEXITSTATUS(st);
	r.out = read_file(out_path);
	r.err = read_file(err_path);
	unlink(out_path);
	unlink(err_path);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
}

/* The text of the run object whose "mobility" is `on` (NULL if absent). */
static const char *find_run(const char *json, bool on)
{
	return strstr(json, on ? "\"mobility\": true" : "\"mobility\": false");
}

/* The number after "\"key\": " in the run object starting at run. */
static double num(const char *run, const char *key)
{
	char pat[128];
	const char *p, *end = strstr(run + 1, "\"mobility\":");

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(run, pat);
	if (!p || (end && p > end))
		fail_msg("no %s in the run", key);
	return strtod(p + strlen(pat), NULL);
}

/* The run object (from '{' to its closing "    }") holding `run`, as a new string. */
static char *run_object(const char *json, const char *run)
{
	const char *start = run, *end = strstr(run, "\n    }");
	char *s;

	while (start > json && *start != '{')
		start--;
	assert_non_null(end);
	s = strndup(start, (size_t)(end - start));
	assert_non_null(s);
	return s;
}

static void test_must_show(void **state)
{
	struct result r = run_zpa("run stress-highalloc --json -");
	const char *on, *off;

	(void)state;
	if (r.status != 0)
		fail_msg("exit %d: %s", r.status, r.err);
	on = find_run(r.out, true);
	off = find_run(r.out, false);
	assert_non_null(on);
	assert_non_null(off);
	assert_true(on < off);

	double frac = num(on, "order9_success_fraction");
	double got_on = num(on, "order9_allocated"), got_off = num(off, "order9_allocated");
	double ideal_on = num(on, "order9_ideal");

	print_message("stress-highalloc: mobility on %.0f of %.0f ideal (%.1f%%), off %.0f (%.1f%%), %.2fx\n",
		      got_on, ideal_on, 100 * frac, got_off, 100 * num(off, "order9_success_fraction"),
		      got_off > 0 ? got_on / got_off : 0.0);
	/* The Must-show. */
	assert_true(frac >= 0.90);
	assert_true(got_on >= 3 * got_off);
	assert_true(got_on > 0);

	for (int i = 0; i < 2; i++) {
		const char *run = i ? off : on;

		/* Allocations never exceed the free aligned pageblocks at rest, nor the
		 * ideal by more than a pcp batch per zone, and the ideal never
		 * exceeds free pages / 512. */
		assert_true(num(run, "order9_allocated") <= num(run, "free_pageblocks_at_rest"));
		assert_true(num(run, "order9_ideal") <= num(run, "order9_ideal_free_pages"));
		assert_true(num(run, "order9_allocated") <= num(run, "order9_ideal") + 4);
		double diff = num(run, "order9_success_fraction") - num(run, "order9_allocated") / num(run, "order9_ideal");
		assert_true(diff < 1e-5 && diff > -1e-5);
		assert_true(num(run, "polluted_pageblocks") <= num(run, "pageblocks"));
		assert_true(num(run, "free_errors") == 0);
		char *obj = run_object(r.out, run);
		assert_non_null(strstr(obj, "\"check\": \"ok\""));
		free(obj);
	}
	/* Grouping on: the kernel's pageblocks were taken by fallbacks, counted. */
	assert_true(num(on, "zpa_extfrag") > 0);
	assert_true(num(on, "zpa_extfrag") >= num(on, "zpa_extfrag_fragmenting"));
	assert_true(num(on, "zpa_extfrag_fragmenting") >= num(on, "zpa_extfrag_mixed"));
	/* Grouping on packs kernel pages into fewer pageblocks. */
	assert_true(num(on, "polluted_pageblocks") < num(off, "polluted_pageblocks"));
	result_free(&r);
}

static void test_deterministic(void **state)
{
	/* A smaller machine than the default keeps this quick. */
	struct result a = run_zpa("run stress-highalloc --mem 512M --no-mobility --seed 7 --json -");
	struct result b = run_zpa("run stress-highalloc --mem 512M --no-mobility --seed 7 --json -");
	struct result c = run_zpa("run stress-highalloc --mem 512M --no-mobility --seed 8 --json -");
	struct result full = run_zpa("run stress-highalloc --mem 512M --seed 7 --json -");

	(void)state;
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	assert_int_equal(c.status, 0);
	assert_int_equal(full.status, 0);
	assert_string_equal(a.out, b.out);
	assert_true(strcmp(a.out, c.out) != 0);
	/* --no-mobility has one run, grouping off, equal to the full run's second. */
	assert_null(find_run(a.out, true));
	char *alone = run_object(a.out, find_run(a.out, false));
	char *second = run_object(full.out, find_run(full.out, false));
	assert_string_equal(alone, second);
	free(alone);
	free(second);
	result_free(&a), result_free(&b), result_free(&c), result_free(&full);
}

static void test_text_and_usage(void **state)
{
	struct result t = run_zpa("run stress-highalloc --nodes 1 --mem 256M --cpus 1");
	struct result h = run_zpa("run stress-highalloc --help");
	struct result bad = run_zpa("run stress-highalloc --bogus");
	struct result badseed = run_zpa("run stress-highalloc --seed x");
	struct result badval = run_zpa("run stress-highalloc --no-mobility=1");

	(void)state;
	assert_int_equal(t.status, 0);
	assert_non_null(strstr(t.out, "mobility on"));
	assert_non_null(strstr(t.out, "mobility off"));
	assert_non_null(strstr(t.out, "success rate"));
	assert_non_null(strstr(t.out, "zpa_extfrag_fragmenting"));
	assert_int_equal(h.status, 0);
	assert_non_null(strstr(h.out, "--no-mobility"));
	assert_non_null(strstr(h.out, "--seed"));
	assert_non_null(strstr(h.out, "--json"));
	assert_non_null(strstr(h.out, "--set NAME=VALUE"));
	assert_int_equal(bad.status, 2);
	assert_int_equal(badseed.status, 2);
	assert_int_equal(badval.status, 2);
	assert_string_equal(bad.out, "");
	result_free(&t), result_free(&h), result_free(&bad), result_free(&badseed), result_free(&badval);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_must_show),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_text_and_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
