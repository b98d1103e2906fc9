/*
 * trace_text.c - parse one line of ftrace text or `perf script` text into a
 * struct rp_event.
 *
 * The shapes accepted (the kernel's `trace` file, `trace_pipe`, and perf):
 *
 *   ftrace:  TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS
 *            (FLAGS such as "d..3." may be absent; "(TGID)" may follow
 *            TASK-PID; TASK may contain spaces)
 *   perf:    COMM PID [CPU] TIMESTAMP: SYSTEM:EVENT: FIELDS
 *
 * The parser anchors on the first "[digits]" token (the CPU), takes the
 * first token after it that is a number followed by ':' as the timestamp
 * (at most two tokens later: the flags), then the event name (the part
 * after the last ':' of "kmem:mm_page_alloc:"), then key=value fields in
 * any order.  Numbers are hex with 0x, else decimal, so perf's
 * "[FAILED TO PARSE]" raw fields (decimal pfn and gfp_flags) read too; GFP
 * flags are names (zpa_gfp_parse) or a number.
 *
 * A failed allocation prints page=0000000000000000 and pfn=0x0 in Linux
 * 6.1 (pfn -1 in raw form); both are read as "the kernel failed".
 *
 * Lines starting with '#' and blank lines are comments.  A line without a
 * CPU, a timestamp or an event name is malformed; so is an event replay
 * uses whose fields are missing or out of range.  Events replay does not
 * use (compaction, vmscan, ...) are counted as other events.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1
#include <string.h>

#include "rp_int.h"

static inline bool is_space(char c) { return c == ' ' || c == '\t'; }
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse an unsigned number (0x hex or decimal) of s[0..n).  False if not a whole number. */
static bool parse_num(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (n == 0)
		return false;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (n > 18)
			return false;
		for (i = 2; i < n; i++) {
			char c = s[i];
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return false;
			v = v << 4 | d;
		}
	} else {
		if (n > 20)
			return false;
		for (i = 0; i < n; i++) {
			if (!is_digit(s[i]))
				return false;
			uint64_t nv = v * 10 + (uint64_t)(s[i] - '0');
			if (nv / 10 != v)
				return false;
			v = nv;
		}
	}
	*out = v;
	return true;
}

/* A signed decimal (for migratetype=-1 and the like). */
static bool parse_int(const char *s, size_t n, long *out)
{
	uint64_t v;
	bool neg = n && s[0] == '-';
	if (!parse_num(s + neg, n - neg, &v) || v > (1ull << 31))
		return false;
	*out = neg ? -(long)v : (long)v;
	return true;
}

/* "12345.678901" -> seconds.  False if not a timestamp. */
static bool parse_ts(const char *s, size_t n, double *out)
{
	uint64_t sec = 0, frac = 0;
	double scale = 1.0;
	size_t i = 0;

	if (n == 0 || !is_digit(s[0]))
		return false;
	for (; i < n && is_digit(s[i]); i++)
		sec = sec * 10 + (uint64_t)(s[i] - '0');
	if (i < n && s[i] == '.') {
		i++;
		for (; i < n && is_digit(s[i]); i++) {
			if (scale < 1e15) {
				frac = frac * 10 + (uint64_t)(s[i] - '0');
				scale *= 10.0;
			}
		}
	}
	if (i != n)
		return false;
	*out = (double)sec + (double)frac / scale;
	return true;
}

/* The fields of an event: key=value tokens. */
struct field {
	const char *key, *val;
	size_t klen, vlen;
};
#define MAX_FIELDS 16

static unsigned split_fields(const char *s, const char *end, struct field *f)
{
	unsigned n = 0;
	while (s < end && n < MAX_FIELDS) {
		while (s < end && is_space(*s))
			s++;
		if (s >= end)
			break;
		const char *tok = s;
		while (s < end && !is_space(*s))
			s++;
		const char *eq = memchr(tok, '=', (size_t)(s - tok));
		if (!eq)
			continue; /* "[FAILED TO PARSE]" and other words */
		f[n].key = tok;
		f[n].klen = (size_t)(eq - tok);
		f[n].val = eq + 1;
		f[n].vlen = (size_t)(s - eq - 1);
		n++;
	}
	return n;
}

static const struct field *get_field(const struct field *f, unsigned n, const char *key)
{
	size_t kl = strlen(key);
	for (unsigned i = 0; i < n; i++)
		if (f[i].klen == kl && memcmp(f[i].key, key, kl) == 0)
			return &f[i];
	return NULL;
}

static bool field_u64(const struct field *f, unsigned n, const char *key, uint64_t *v)
{
	const struct field *x = get_field(f, n, key);
	return x && parse_num(x->val, x->vlen, v);
}

static bool field_int(const struct field *f, unsigned n, const char *key, long *v)
{
	const struct field *x = get_field(f, n, key);
	return x && parse_int(x->val, x->vlen, v);
}

/* Is a page= value the NULL pointer (a failed allocation)? */
static bool null_page(const struct field *f, unsigned n)
{
	const struct field *x = get_field(f, n, "page");
	if (!x)
		return false;
	if (x->vlen == 6 && memcmp(x->val, "(null)", 6) == 0)
		return true;
	for (size_t i = 0; i < x->vlen; i++)
		if (x->val[i] != '0' && !(i == 1 && (x->val[i] == 'x' || x->val[i] == 'X')))
			return false;
	return x->vlen > 0;
}

enum { EV_UNKNOWN = -1, EV_OTHER = -2 };

/* The event type of a name (without its system prefix). */
static int event_type(const char *name, size_t n)
{
	switch (n) {
	case 5:
		if (memcmp(name, "print", 5) == 0)
			return RP_EV_MARK;
		break;
	case 12:
		if (memcmp(name, "mm_page_free", 12) == 0)
			return RP_EV_FREE;
		break;
	case 13:
		if (memcmp(name, "mm_page_alloc", 13) == 0)
			return RP_EV_ALLOC;
		break;
	case 18:
		if (memcmp(name, "mm_page_pcpu_drain", 18) == 0)
			return RP_EV_PCPU_DRAIN;
		if (memcmp(name, "tracing_mark_write", 18) == 0)
			return RP_EV_MARK;
		break;
	case 20:
		if (memcmp(name, "mm_page_free_batched", 20) == 0)
			return RP_EV_FREE_BATCHED;
		break;
	case 21:
		if (memcmp(name, "mm_page_alloc_extfrag", 21) == 0)
			return RP_EV_EXTFRAG;
		break;
	case 25:
		if (memcmp(name, "mm_page_alloc_zone_locked", 25) == 0)
			return RP_EV_ZONE_LOCKED;
		break;
	}
	return EV_OTHER;
}

#define BAD(...) do { rp_trace_bad(t, lineno, __VA_ARGS__); return -1; } while (0)

int rp_text_parse_line(struct rp_text_parser *p, struct rp_trace *t, char *line, size_t len, uint64_t lineno)
{
	const char *s = line, *end = line + len;
	struct field f[MAX_FIELDS];
	struct rp_event e;
	uint64_t v;
	long iv;

	while (s < end && is_space(*s))
		s++;
	if (s == end || *s == '#')
		return 0;
	if (end - s > 5 && memcmp(s, "cpus=", 5) == 0 && is_digit(s[5]))
		return 0; /* trace-cmd report's first line */

	/* The CPU: the first "[digits]". */
	const char *cpu_end = NULL;
	uint64_t cpu = 0;
	for (const char *b = memchr(s, '[', (size_t)(end - s)); b; b = memchr(b + 1, '[', (size_t)(end - b - 1))) {
		const char *d = b + 1;
		while (d < end && is_digit(*d))
			d++;
		if (d > b + 1 && d < end && *d == ']' && d - b - 1 <= 5 && (d + 1 == end || is_space(d[1]))) {
			parse_num(b + 1, (size_t)(d - b - 1), &cpu);
			cpu_end = d + 1;
			break;
		}
	}
	if (!cpu_end) {
		if (memmem(s, (size_t)(end - s), "LOST", 4) && memmem(s, (size_t)(end - s), "EVENTS", 6)) {
			t->lost_events++;
			return 0;
		}
		BAD("no [CPU] field: not a trace event line");
	}

	/* The timestamp: a number followed by ':' within the next three tokens. */
	const char *q = cpu_end;
	double ts = 0;
	bool have_ts = false;
	for (int tok = 0; tok < 3 && q < end; tok++) {
		while (q < end && is_space(*q))
			q++;
		const char *w = q;
		while (q < end && !is_space(*q))
			q++;
		if (q > w && q[-1] == ':' && parse_ts(w, (size_t)(q - w - 1), &ts)) {
			have_ts = true;
			break;
		}
	}
	if (!have_ts)
		BAD("no timestamp after the [CPU] field");

	/* The event name: "name:" or "system:name:". */
	while (q < end && is_space(*q))
		q++;
	const char *w = q;
	while (q < end && !is_space(*q))
		q++;
	if (q == w || q[-1] != ':')
		BAD("no event name after the timestamp");
	const char *name = w, *name_end = q - 1;
	for (const char *c = name_end - 1; c >= w; c--)
		if (*c == ':') {
			name = c + 1;
			p->perf = true;
			break;
		}
	p->trace_lines++;
	if (cpu > 0xffff)
		BAD("CPU %llu out of range", (unsigned long long)cpu);

	int type = event_type(name, (size_t)(name_end - name));
	if (type == EV_OTHER) {
		t->other_events++;
		return 1;
	}

	memset(&e, 0, sizeof(e));
	e.ts = ts;
	e.cpu = (uint16_t)cpu;
	e.type = (uint8_t)type;
	e.line = lineno > UINT32_MAX ? UINT32_MAX : (uint32_t)lineno;
	e.mt = -1;

	if (type == RP_EV_MARK) {
		const char *m = q;
		while (m < end && is_space(*m))
			m++;
		const char *me = end;
		const char *buf = me > m ? memmem(m, (size_t)(me - m), "buf=", 4) : NULL;
		if (buf && (buf == m || is_space(buf[-1])))
			m = buf + 4;
		/* trace-cmd report prints "print: tracing_mark_write: TEXT" */
		if (me - m > 19 && memcmp(m, "tracing_mark_write:", 19) == 0) {
			m += 19;
			while (m < me && is_space(*m))
				m++;
		}
		while (me > m && (is_space(me[-1]) || me[-1] == '\n'))
			me--;
		if (me - m >= 2 && me[-2] == '\\' && me[-1] == 'n')
			me -= 2;
		int idx = rp_trace_add_mark(t, m, (size_t)(me - m));
		if (idx < 0)
			return idx;
		e.gfp = (uint32_t)idx;
		e.pfn = RP_NO_PFN;
		return rp_trace_push(t, &e) ? ZPA_ENOMEM : 1;
	}

	unsigned nf = split_fields(q, end, f);
	const char *ename = rp_event_names[type];

	if (!field_u64(f, nf, "pfn", &v))
		BAD("%s: missing or bad pfn=", ename);
	e.pfn = v;

	switch (type) {
	case RP_EV_ALLOC: {
		if (!field_int(f, nf, "order", &iv) || iv < 0 || iv >= ZPA_MAX_ORDER_LIMIT)
			BAD("%s: missing or bad order=", ename);
		e.order = (uint8_t)iv;
		if (field_int(f, nf, "migratetype", &iv) && iv >= -1 && iv < ZPA_MIGRATE_TYPES)
			e.mt = (int8_t)iv;
		const struct field *g = get_field(f, nf, "gfp_flags");
		if (!g)
			BAD("%s: missing gfp_flags=", ename);
		uint32_t gfp;
		if (g->vlen && is_digit(g->val[0])) {
			if (!parse_num(g->val, g->vlen, &v) || v > UINT32_MAX)
				BAD("%s: bad gfp_flags=%.*s", ename, (int)(g->vlen > 40 ? 40 : g->vlen), g->val);
			gfp = (uint32_t)v;
		} else if (rp_gfp_lookup(&p->gfp, g->val, g->vlen, &gfp) != 0) {
			BAD("%s: unknown gfp_flags=%.*s", ename, (int)(g->vlen > 40 ? 40 : g->vlen), g->val);
		}
		e.gfp = gfp;
		if (null_page(f, nf) || e.pfn == RP_NO_PFN)
			e.pfn = RP_NO_PFN;
		break;
	}
	case RP_EV_FREE:
		if (!field_int(f, nf, "order", &iv) || iv < 0 || iv >= ZPA_MAX_ORDER_LIMIT)
			BAD("%s: missing or bad order=", ename);
		e.order = (uint8_t)iv;
		break;
	case RP_EV_FREE_BATCHED:
		break;
	case RP_EV_PCPU_DRAIN:
	case RP_EV_ZONE_LOCKED:
		if (!field_int(f, nf, "order", &iv) || iv < 0 || iv >= ZPA_MAX_ORDER_LIMIT)
			BAD("%s: missing or bad order=", ename);
		e.order = (uint8_t)iv;
		if (!field_int(f, nf, "migratetype", &iv) || iv < -1 || iv >= ZPA_MIGRATE_TYPES)
			BAD("%s: missing or bad migratetype=", ename);
		e.mt = (int8_t)iv;
		if (type == RP_EV_ZONE_LOCKED && field_int(f, nf, "percpu_refill", &iv))
			e.aux = iv != 0;
		if (null_page(f, nf))
			e.pfn = RP_NO_PFN;
		break;
	case RP_EV_EXTFRAG: {
		long ao, fo, am, fm, frag = 0, own = 0;
		if (!field_int(f, nf, "alloc_order", &ao) || !field_int(f, nf, "fallback_order", &fo) ||
		    !field_int(f, nf, "alloc_migratetype", &am) || !field_int(f, nf, "fallback_migratetype", &fm) ||
		    ao < 0 || ao >= ZPA_MAX_ORDER_LIMIT || fo < 0 || fo >= ZPA_MAX_ORDER_LIMIT || am < 0 ||
		    am >= ZPA_MIGRATE_TYPES || fm < 0 || fm >= ZPA_MIGRATE_TYPES)
			BAD("%s: missing or bad order/migratetype fields", ename);
		field_int(f, nf, "fragmenting", &frag);
		field_int(f, nf, "change_ownership", &own);
		e.order = (uint8_t)ao;
		e.mt = (int8_t)am;
		e.aux = (uint8_t)fo;
		e.aux2 = (uint8_t)(fm | (frag ? 0x10 : 0) | (own ? 0x20 : 0));
		break;
	}
	}
	return rp_trace_push(t, &e) ? ZPA_ENOMEM : 1;
}
