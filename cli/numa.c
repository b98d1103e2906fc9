/*
 * numa.c - the NUMA side of the `zpa` program: the --policy syntax, each
 * node's numastat read back through the library's "node/N/numastat" view,
 * and the summary tables of where a run's pages went (pages per node and
 * zone, numastat deltas).
 *
 * --policy text is MODE[=FLAGS][:NODELIST], the syntax of Linux's tmpfs
 * mpol= mount option, or MODE[:NODELIST][=FLAGS]; the two cannot be
 * confused because a node list has no '=' and a flag no ':'.  The parser
 * checks the syntax only and leaves every semantic rule (which modes take a
 * node list, nodes without memory, both flags) to zpa_mpol_new() and
 * zpa_set_mempolicy(), so the program refuses exactly what the library does.
 *
 * The numastat deltas are after - before of each node's six counters, read
 * through the same view `zpa info ... node/N/numastat` prints, so what the
 * report shows is what the view shows.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *const cli_numa_event_names[CLI_NUMA_EVENTS] = {
	"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node",
};

/* Mode names and the aliases accepted on the command line. */
static const struct {
	const char *name;
	int mode;
} policy_modes[] = {
	{ "default", ZPA_MPOL_DEFAULT },
	{ "preferred", ZPA_MPOL_PREFERRED },
	{ "prefer", ZPA_MPOL_PREFERRED },
	{ "bind", ZPA_MPOL_BIND },
	{ "interleave", ZPA_MPOL_INTERLEAVE },
	{ "local", ZPA_MPOL_LOCAL },
	{ "preferred_many", ZPA_MPOL_PREFERRED_MANY },
	{ "preferred-many", ZPA_MPOL_PREFERRED_MANY },
};

/* A decimal node number below ZPA_MAX_NODES at *s; advances *s.  False if none. */
static bool parse_node(const char **s, unsigned *out)
{
	unsigned v = 0;

	if (!isdigit((unsigned char)**s))
		return false;
	while (isdigit((unsigned char)**s)) {
		v = v * 10 + (unsigned)(**s - '0');
		if (v >= ZPA_MAX_NODES)
			return false;
		(*s)++;
	}
	*out = v;
	return true;
}

bool cli_parse_nodelist(const char *text, zpa_nodemask_t *out)
{
	const char *s = text;

	zpa_nodemask_clear(out);
	if (!s || !*s)
		return false;
	for (;;) {
		unsigned a, b;

		if (!parse_node(&s, &a))
			return false;
		b = a;
		if (*s == '-') {
			s++;
			if (!parse_node(&s, &b) || b < a)
				return false;
		}
		for (unsigned n = a; n <= b; n++)
			zpa_nodemask_set(out, (int)n);
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			return false;
	}
}

/* Copy [s, s + n) into buf as a string; false if it does not fit. */
static bool copy_part(char *buf, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

bool cli_parse_policy(const char *text, struct cli_policy *p, char *why, size_t whylen)
{
	char mode[32] = "", flags[32] = "", nodes[256] = "";
	const char *colon = strchr(text, ':'), *eq = strchr(text, '=');
	const char *mode_end = text + strlen(text);
	unsigned i;

	memset(p, 0, sizeof(*p));
	p->text = text;
	if (colon && colon < mode_end)
		mode_end = colon;
	if (eq && eq < mode_end)
		mode_end = eq;
	if (!copy_part(mode, sizeof(mode), text, (size_t)(mode_end - text)))
		goto bad_mode;
	/* The flag runs to the ':' after it, or to the end; the list likewise to a later '='. */
	if (eq) {
		const char *end = colon && colon > eq ? colon : text + strlen(text);

		if (!copy_part(flags, sizeof(flags), eq + 1, (size_t)(end - eq - 1))) {
			snprintf(why, whylen, "'%s' is not a flag (static or relative)", eq + 1);
			return false;
		}
	}
	if (colon) {
		const char *end = eq && eq > colon ? eq : text + strlen(text);

		if (!copy_part(nodes, sizeof(nodes), colon + 1, (size_t)(end - colon - 1))) {
			snprintf(why, whylen, "node list too long");
			return false;
		}
	}
	if ((colon && strchr(colon + 1, ':')) || (eq && strchr(eq + 1, '='))) {
		snprintf(why, whylen, "'%s' is not MODE[=FLAGS][:NODELIST]", text);
		return false;
	}

	for (i = 0; i < sizeof(policy_modes) / sizeof(policy_modes[0]); i++)
		if (strcmp(mode, policy_modes[i].name) == 0)
			break;
	if (i == sizeof(policy_modes) / sizeof(policy_modes[0]))
		goto bad_mode;
	p->mode = policy_modes[i].mode;

	if (eq) {
		if (strcmp(flags, "static") == 0) {
			p->mode |= ZPA_MPOL_F_STATIC_NODES;
		} else if (strcmp(flags, "relative") == 0) {
			p->mode |= ZPA_MPOL_F_RELATIVE_NODES;
		} else {
			snprintf(why, whylen, "'%s' is not a flag (static or relative)", flags);
			return false;
		}
	}
	if (colon) {
		if (!cli_parse_nodelist(nodes, &p->nodes)) {
			snprintf(why, whylen, "'%s' is not a node list such as 0-1,3 (nodes below %d)",
				 nodes, ZPA_MAX_NODES);
			return false;
		}
		p->has_nodes = true;
	}
	return true;

bad_mode:
	snprintf(why, whylen, "'%s' is not a mode (default, preferred, bind, interleave, local, "
		 "preferred_many)", mode);
	return false;
}

int cli_read_numastat(struct zpa_machine *m, unsigned nid, uint64_t ev[CLI_NUMA_EVENTS])
{
	char view[32], buf[1024];
	const char *s = buf;
	long len;

	snprintf(view, sizeof(view), "node/%u/numastat", nid);
	len = zpa_show(m, view, buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	if ((size_t)len >= sizeof(buf))
		return ZPA_EPARSE;
	for (unsigned i = 0; i < CLI_NUMA_EVENTS; i++) {
		size_t n = strlen(cli_numa_event_names[i]);
		char *end;

		if (strncmp(s, cli_numa_event_names[i], n) != 0 || s[n] != ' ')
			return ZPA_EPARSE;
		ev[i] = strtoull(s + n + 1, &end, 10);
		if (*end != '\n')
			return ZPA_EPARSE;
		s = end + 1;
	}
	return *s ? ZPA_EPARSE : 0;
}

/* Zone types with present pages on some node: the columns of the page table. */
static unsigned present_zone_types(struct zpa_machine *m, int *types)
{
	unsigned n = 0;

	for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++) {
		for (unsigned nid = 0; nid < zpa_nr_nodes(m); nid++) {
			struct zpa_zone_info z;

			if (zpa_zone_info(m, (int)nid, t, &z) == 0 && z.present) {
				types[n++] = t;
				break;
			}
		}
	}
	return n;
}

/* part as a percentage of whole (0 when whole is 0). */
static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The delta of one numastat counter (0 if it went backwards, which it cannot). */
static uint64_t numa_delta(const struct wl_result *r, unsigned nid, unsigned i)
{
	return r->numa_after[nid][i] >= r->numa_before[nid][i] ? r->numa_after[nid][i] - r->numa_before[nid][i]
							       : 0;
}

void cli_print_numa_report(FILE *f, struct zpa_machine *m, const struct wl_result *r)
{
	unsigned nodes = zpa_nr_nodes(m);
	int types[ZPA_NR_ZONE_TYPES];
	unsigned nt = present_zone_types(m, types);
	uint64_t total = 0;

	if (nodes > ZPA_MAX_NODES)
		nodes = ZPA_MAX_NODES;
	for (unsigned nid = 0; nid < nodes; nid++)
		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			total += r->zone_pages[nid][t];

	fprintf(f, "Pages handed out by node and zone:\n");
	fprintf(f, "  %-4s %11s %7s", "node", "pages", "share");
	for (unsigned k = 0; k < nt; k++)
		fprintf(f, " %11s", zpa_zone_type_name(types[k]));
	fputc('\n', f);
	for (unsigned nid = 0; nid < nodes; nid++) {
		uint64_t n = 0;

		for (int t = 0; t < ZPA_NR_ZONE_TYPES; t++)
			n += r->zone_pages[nid][t];
		fprintf(f, "  %-4u %11llu %6.2f%%", nid, (unsigned long long)n, share(n, total));
		for (unsigned k = 0; k < nt; k++)
			fprintf(f, " %11llu", (unsigned long long)r->zone_pages[nid][types[k]]);
		fputc('\n', f);
	}
	fputc('\n', f);

	/* numastat(8)'s layout, indented like the other tables. */
	fprintf(f, "NUMA events during the run (numastat deltas):\n");
	fprintf(f, "  %16s", "");
	for (unsigned nid = 0; nid < nodes; nid++) {
		char name[16];

		snprintf(name, sizeof(name), "node%u", nid);
		fprintf(f, "%16s", name);
	}
	fputc('\n', f);
	for (unsigned i = 0; i < CLI_NUMA_EVENTS; i++) {
		fprintf(f, "  %-16s", cli_numa_event_names[i]);
		for (unsigned nid = 0; nid < nodes; nid++)
			fprintf(f, "%16llu", (unsigned long long)numa_delta(r, nid, i));
		fputc('\n', f);
	}
	fprintf(f, "  (one event per allocation request, whatever its order; hit/miss: on the\n"
		   "   preferred node or not, foreign: on the node that was preferred, local/other:\n"
		   "   on the allocating CPU's node or not)\n");
}

void cli_write_numa_json(FILE *f, struct zpa_machine *m, const struct wl_result *r)
{
	unsigned nodes = zpa_nr_nodes(m);
	int types[ZPA_NR_ZONE_TYPES];
	unsigned nt = present_zone_types(m, types);

	if (nodes > ZPA_MAX_NODES)
		nodes = ZPA_MAX_NODES;
	fprintf(f, "  \"zones\": [");
	for (unsigned k = 0; k < nt; k++)
		fprintf(f, "%s\"%s\"", k ? ", " : "", zpa_zone_type_name(types[k]));
	fprintf(f, "],\n  \"node_zone_pages\": [");
	for (unsigned nid = 0; nid < nodes; nid++) {
		fprintf(f, "%s[", nid ? ", " : "");
		for (unsigned k = 0; k < nt; k++)
			fprintf(f, "%s%llu", k ? ", " : "", (unsigned long long)r->zone_pages[nid][types[k]]);
		fprintf(f, "]");
	}
	fprintf(f, "],\n  \"numastat_delta\": {");
	for (unsigned i = 0; i < CLI_NUMA_EVENTS; i++) {
		fprintf(f, "%s\"%s\": [", i ? ", " : "", cli_numa_event_names[i]);
		for (unsigned nid = 0; nid < nodes; nid++)
			fprintf(f, "%s%llu", nid ? ", " : "", (unsigned long long)numa_delta(r, nid, i));
		fprintf(f, "]");
	}
	fprintf(f, "},\n");
}
