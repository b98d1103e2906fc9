/*
 * test_pressure.c - `zpa run pressure` (cli/cmd_pressure.c), run as a child
 * process (ZPA_CLI), its JSON parsed with a small parser of our own.
 *
 * What is checked:
 *   - the schema: workload, machine (managed pages, watermarks), seed,
 *     phases moderate, heavy, order-9 and oom in that order, each with
 *     ticks, free_min/free_avg/free_max, wmark_min/low/high, vmstat_delta,
 *     models_delta, info, expect (want/got/ok each) and ok; the oom
 *     object; and vmstat holding every line /proc/vmstat has on the same
 *     machine (built here as the command builds its default), by Linux's
 *     names (allocstall_normal, pgscan_kswapd, pgscan_direct,
 *     pgsteal_kswapd, pgsteal_direct, compact_stall, compact_success,
 *     oom_kill ...);
 *   - consistency: the exit status is 0 exactly when every phase is ok,
 *     the JSON's ok is the conjunction of the phases', a phase is ok
 *     exactly when all its expectations are, free_min <= free_avg <=
 *     free_max, min <= low <= high, and the text report has a block per
 *     phase and the same verdicts;
 *   - determinism: the same seed gives the same JSON, another seed another
 *     (on a smaller machine, to keep the test short);
 *   - the command line: --help, a bad option (exit 2).
 *
 * The phases must also meet their expectations: exit status 0, every ok true, and the counters
 * checked again from the raw deltas: moderate pgscan_kswapd > 0 with no
 * allocstall and no pgscan_direct, free_min >= wmark_min; heavy
 * allocstall_normal, pgscan_direct and compact_stall > 0; order-9
 * compact_success > 0; oom exactly one oom_kill, of the expected victim.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/zt.h"


#define TIMEOUT_S "600"

/* ------------------------------------------------------------ a small JSON parser */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	bool b;
	double num;
	char *str;
	struct jval **items;   /* array items or object values */
	char **keys;           /* object keys */
	size_t n;
};

struct jparser {
	const char *p;
	bool bad;
};

static void jws(struct jparser *j)
{
	while (isspace((unsigned char)*j->p))
		j->p++;
}

static struct jval *jnew(enum jtype t)
{
	struct jval *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->type = t;
	return v;
}

static char *jstring(struct jparser *j)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	if (*j->p != '"') {
		j->bad = true;
		return s;
	}
	j->p++;
	while (*j->p && *j->p != '"') {
		char c = *j->p++;

		if (c == '\\') {
			c = *j->p++;
			if (c == 'u') {     /* only \u00XX, as the writer uses */
				unsigned x = 0;

				if (sscanf(j->p, "%4x", &x) != 1)
					j->bad = true;
				j->p += 4;
				c = (char)x;
			} else if (c == 'n') {
				c = '\n';
			} else if (c != '"' && c != '\\' && c != '/') {
				j->bad = true;
			}
		}
		if (len + 2 > cap)
			assert_non_null(s = realloc(s, cap *= 2));
		s[len++] = c;
	}
	s[len] = '\0';
	if (*j->p != '"')
		j->bad = true;
	else
		j->p++;
	return s;
}

static void jpush(struct jval *v, char *key, struct jval *item)
{
	assert_non_null(v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items)));
	if (v->type == J_OBJ)
		assert_non_null(v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys)));
	if (key)
		v->keys[v->n] = key;
	v->items[v->n++] = item;
}

static struct jval *jparse(struct jparser *j)
{
	struct jval *v;

	jws(j);
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';

		v = jnew(obj ? J_OBJ : J_ARR);
		j->p++;
		jws(j);
		if (*j->p == (obj ? '}' : ']')) {
			j->p++;
			return v;
		}
		while (!j->bad) {
			char *key = NULL;

			jws(j);
			if (obj) {
				key = jstring(j);
				jws(j);
				if (*j->p++ != ':')
					j->bad = true;
			}
			jpush(v, key, jparse(j));
			jws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != (obj ? '}' : ']'))
				j->bad = true;
			break;
		}
		return v;
	}
	if (*j->p == '"') {
		v = jnew(J_STR);
		v->str = jstring(j);
		return v;
	}
	if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
		v = jnew(J_BOOL);
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
		return v;
	}
	if (strncmp(j->p, "null", 4) == 0) {
		j->p += 4;
		return jnew(J_NULL);
	}
	v = jnew(J_NUM);
	{
		char *end;

		v->num = strtod(j->p, &end);
		if (end == j->p)
			j->bad = true;
		j->p = end;
	}
	return v;
}

static void jfree(struct jval *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jfree(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static struct jval *jdoc(const char *text)
{
	struct jparser j = { text, false };
	struct jval *v = jparse(&j);

	jws(&j);
	assert_false(j.bad);
	assert_int_equal(*j.p, '\0');
	return v;
}

/* Member of an object, or NULL. */
static struct jval *jget(const struct jval *o, const char *key)
{
	if (!o || o->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->keys[i], key) == 0)
			return o->items[i];
	return NULL;
}

static struct jval *jmust(const struct jval *o, const char *key, enum jtype t)
{
	struct jval *v = jget(o, key);

	if (!v || v->type != t)
		fail_msg("JSON member \"%s\" missing or of the wrong type", key);
	return v;
}

static double jnum(const struct jval *o, const char *key)
{
	return jmust(o, key, J_NUM)->num;
}

/* ------------------------------------------------------------ running zpa */

struct result {
	int status;
	char *out, *err, *json;
};

static struct result run_pressure(const char *args, bool want_json)
{
	char cmd[4096], out_path[] = "/tmp/zpa-pressure-out-XXXXXX", err_path[] = "/tmp/zpa-pressure-err-XXXXXX",
	     json_path[] = "/tmp/zpa-pressure-json-XXXXXX";
	struct result r = { .status = -1 };
	int fo = mkstemp(out_path), fe = mkstemp(err_path), fj = mkstemp(json_path), st;

	assert_true(fo >= 0 && fe >= 0 && fj >= 0);
	close(fo);
	close(fe);
	close(fj);
	snprintf(cmd, sizeof(cmd), "timeout " TIMEOUT_S " '%s' run pressure %s %s%s%s >'%s' 2>'%s'", ZPA_CLI, args,
		 want_json ? "--json '" : "", want_json ? json_path : "", want_json ? "'" : "", out_path, err_path);
	st = system(cmd);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 124)
		r.status = WEXITSTATUS(st);
	r.out = zt_read_file(out_path);
	r.err = zt_read_file(err_path);
	r.json = zt_read_file(json_path);
	unlink(out_path);
	unlink(err_path);
	unlink(json_path);
	return r;
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	free(r->json);
}

/* The names /proc/vmstat has on the command's default machine (one node of 1 GiB above 4 GiB, 2 CPUs). */
static char *default_vmstat(void)
{
	struct zpa_machine_config cfg;
	struct zpa_machine *m;
	long len;
	char *buf;

	zpa_machine_config_init(&cfg);
	cfg.dma_limit = 0;
	cfg.dma32_limit = 0;
	zpa_config_add_range(&cfg, 4ull << 30, 5ull << 30, ZPA_RANGE_USABLE, 0);
	cfg.nr_cpus = 2;
	assert_int_equal(zpa_machine_create(&cfg, &m), 0);
	len = zpa_show(m, "vmstat", NULL, 0);
	assert_true(len > 0);
	assert_non_null(buf = malloc((size_t)len + 1));
	zpa_show(m, "vmstat", buf, (size_t)len + 1);
	zpa_machine_destroy(m);
	return buf;
}

static const char *const phase_names[] = { "moderate", "heavy", "order-9", "oom" };

static const char *const linux_names[] = {
	"nr_free_pages", "allocstall_normal", "allocstall_movable", "pgscan_kswapd", "pgscan_direct",
	"pgsteal_kswapd", "pgsteal_direct", "pswpin", "pswpout", "slabs_scanned", "compact_stall",
	"compact_fail", "compact_success", "compact_daemon_wake", "pgmigrate_success", "oom_kill",
	"drop_pagecache", "drop_slab",
};

static double delta(const struct jval *ph, const char *name)
{
	struct jval *v = jget(jmust(ph, "vmstat_delta", J_OBJ), name);

	return v && v->type == J_NUM ? v->num : 0;
}

static void test_schema_and_expectations(void **state)
{
	(void)state;
	struct result r = run_pressure("", true);
	struct jval *doc, *phases, *vm, *machine, *oom;
	char *names = default_vmstat();
	bool all_ok = true;

	if (r.status != 0 && r.status != 1)
		fail_msg("zpa run pressure: status %d\n%s", r.status, r.err);
	doc = jdoc(r.json);
	assert_string_equal(jmust(doc, "workload", J_STR)->str, "pressure");
	assert_int_equal(jnum(doc, "seed"), 42);
	assert_int_equal(jnum(doc, "tick_ms"), 10);
	machine = jmust(doc, "machine", J_OBJ);
	assert_int_equal(jnum(machine, "managed_pages"), 262144);
	assert_int_equal(jnum(machine, "nodes"), 1);
	assert_int_equal(jnum(machine, "swap_pages"), 65536);
	assert_true(jnum(machine, "wmark_min") <= jnum(machine, "wmark_low"));
	assert_true(jnum(machine, "wmark_low") <= jnum(machine, "wmark_high"));

	/* Every /proc/vmstat line, by its name, and nothing else. */
	vm = jmust(doc, "vmstat", J_OBJ);
	{
		unsigned lines = 0;

		for (char *p = names, *nl; *p; p = nl + 1) {
			char name[64];

			nl = strchr(p, '\n');
			assert_non_null(nl);
			assert_int_equal(sscanf(p, "%63s", name), 1);
			if (!jget(vm, name) || jget(vm, name)->type != J_NUM)
				fail_msg("vmstat counter %s missing from the JSON", name);
			lines++;
		}
		assert_int_equal(vm->n, lines);
	}
	for (size_t i = 0; i < sizeof(linux_names) / sizeof(linux_names[0]); i++)
		assert_non_null(jget(vm, linux_names[i]));

	phases = jmust(doc, "phases", J_ARR);
	assert_int_equal(phases->n, 4);
	for (size_t i = 0; i < phases->n; i++) {
		struct jval *ph = phases->items[i], *ex = jmust(ph, "expect", J_OBJ);
		bool ok = true;

		assert_string_equal(jmust(ph, "name", J_STR)->str, phase_names[i]);
		assert_true(jnum(ph, "ticks") > 0);
		assert_true(jnum(ph, "free_min") <= jnum(ph, "free_avg") + 0.5);
		assert_true(jnum(ph, "free_avg") <= jnum(ph, "free_max") + 0.5);
		assert_true(jnum(ph, "wmark_min") <= jnum(ph, "wmark_low"));
		assert_true(jnum(ph, "wmark_low") <= jnum(ph, "wmark_high"));
		assert_true(jnum(ph, "wmark_min") > 0);
		jmust(ph, "models_delta", J_OBJ);
		jmust(ph, "info", J_OBJ);
		assert_true(ex->n > 0);
		for (size_t k = 0; k < ex->n; k++) {
			jmust(ex->items[k], "want", J_STR);
			jmust(ex->items[k], "got", J_STR);
			ok &= jmust(ex->items[k], "ok", J_BOOL)->b;
		}
		assert_int_equal(jmust(ph, "ok", J_BOOL)->b, ok);
		all_ok &= ok;
		/* The key counters are always there. */
		assert_non_null(jget(jmust(ph, "vmstat_delta", J_OBJ), "pgscan_kswapd"));
		assert_non_null(jget(jmust(ph, "vmstat_delta", J_OBJ), "compact_stall"));
		assert_non_null(jget(jmust(ph, "vmstat_delta", J_OBJ), "oom_kill"));
		/* The text report: a block per phase with the same verdict. */
		{
			char head[128], verdict[128];

			snprintf(head, sizeof(head), "=== Phase %s: ", phase_names[i]);
			snprintf(verdict, sizeof(verdict), "phase %s: %s\n", phase_names[i], ok ? "ok" : "NOT MET");
			assert_non_null(strstr(r.out, head));
			assert_non_null(strstr(r.out, verdict));
		}
	}
	assert_int_equal(jmust(doc, "ok", J_BOOL)->b, all_ok);
	assert_int_equal(r.status, all_ok ? 0 : 1);
	oom = jmust(doc, "oom", J_OBJ);
	jmust(oom, "expected_victim", J_STR);
	jmust(oom, "actual_victim", J_STR);
	jmust(oom, "tasks", J_ARR);

	{
		struct jval *mod = phases->items[0], *heavy = phases->items[1], *o9 = phases->items[2],
			    *oomph = phases->items[3];

		assert_int_equal(r.status, 0);
		assert_true(all_ok);
		assert_true(delta(mod, "pgscan_kswapd") > 0);
		assert_true(delta(mod, "allocstall_normal") == 0 && delta(mod, "allocstall_movable") == 0);
		assert_true(delta(mod, "pgscan_direct") == 0);
		assert_true(jnum(mod, "free_min") >= jnum(mod, "wmark_min"));
		assert_true(delta(heavy, "allocstall_normal") > 0);
		assert_true(delta(heavy, "pgscan_direct") > 0);
		assert_true(delta(heavy, "compact_stall") > 0);
		assert_true(delta(o9, "compact_success") > 0);
		assert_true(delta(oomph, "oom_kill") == 1);
		assert_true(strlen(jmust(oom, "actual_victim", J_STR)->str) > 0);
		assert_string_equal(jmust(oom, "expected_victim", J_STR)->str,
				    jmust(oom, "actual_victim", J_STR)->str);
		assert_true(jmust(oom, "tasks", J_ARR)->n >= 3);
	}
	jfree(doc);
	free(names);
	result_free(&r);
}

static void test_deterministic(void **state)
{
	(void)state;
	const char *small = "--nodes 1 --mem 256M --cpus 2";
	char args[256];
	struct result a, b, c;

	snprintf(args, sizeof(args), "%s --seed 5", small);
	a = run_pressure(args, true);
	b = run_pressure(args, true);
	snprintf(args, sizeof(args), "%s --seed 6", small);
	c = run_pressure(args, true);
	assert_true(a.status == 0 || a.status == 1);
	assert_int_equal(a.status, b.status);
	assert_true(strlen(a.json) > 1000);
	assert_string_equal(a.json, b.json);
	assert_true(strcmp(a.json, c.json) != 0);
	{
		struct jval *doc = jdoc(a.json);

		assert_string_equal(jmust(jmust(doc, "machine", J_OBJ), "source", J_STR)->str, "flags");
		assert_int_equal(jnum(doc, "seed"), 5);
		jfree(doc);
	}
	result_free(&a);
	result_free(&b);
	result_free(&c);
}

static void test_command_line(void **state)
{
	(void)state;
	struct result h = run_pressure("--help", false), bad = run_pressure("--bogus", false);

	assert_int_equal(h.status, 0);
	assert_non_null(strstr(h.out, "Usage: zpa run pressure"));
	assert_non_null(strstr(h.out, "--json FILE"));
	assert_non_null(strstr(h.out, "--snapshot DIR"));
	assert_int_equal(bad.status, 2);
	assert_string_equal(bad.out, "");
	assert_non_null(strstr(bad.err, "unknown option '--bogus'"));
	result_free(&h);
	result_free(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_schema_and_expectations),
		cmocka_unit_test(test_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
