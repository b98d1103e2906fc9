/*
 * trace.c - struct rp_trace, the parsed trace: an array of 32-byte events in
 * file order, the phase marks, and what did not parse.  rp_trace_load()
 * opens a file (input.c sniffs its compression), recognises trace.dat by
 * its magic, refuses binary data, and feeds every text line to the ftrace /
 * perf script parser (trace_text.c).
 *
 * Foreign input is refused early and clearly: binary bytes in the first
 * 4 KiB, or no line with the shape of a trace line among the first
 * RP_SNIFF_LINES non-comment lines, is "not a trace" (ZPA_EPARSE), not a
 * replay of nothing.  Within a real trace a bad line is counted and kept
 * with its number (the first RP_BAD_KEPT), and reading goes on unless the
 * caller asked for strict mode.
 *
 * The event array grows geometrically: reading a million events costs a few
 * reallocations, never one per event.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rp_int.h"

#define RP_SNIFF_LINES 200
#define TRACE_DAT_MAGIC "\027\010\104tracing"

const char *const rp_event_names[RP_NR_EVENT_TYPES] = {
	[RP_EV_ALLOC] = "mm_page_alloc",
	[RP_EV_FREE] = "mm_page_free",
	[RP_EV_FREE_BATCHED] = "mm_page_free_batched",
	[RP_EV_EXTFRAG] = "mm_page_alloc_extfrag",
	[RP_EV_PCPU_DRAIN] = "mm_page_pcpu_drain",
	[RP_EV_ZONE_LOCKED] = "mm_page_alloc_zone_locked",
	[RP_EV_MARK] = "tracing_mark_write",
};

int rp_trace_push(struct rp_trace *t, const struct rp_event *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 65536;
		struct rp_event *ev = realloc(t->ev, cap * sizeof(*ev));
		if (!ev)
			return ZPA_ENOMEM;
		t->ev = ev;
		t->cap = cap;
	}
	if (t->n == 0)
		t->first_ts = e->ts;
	else if (e->ts < t->last_ts)
		t->unsorted = true;
	t->last_ts = e->ts;
	t->ev[t->n++] = *e;
	t->count[e->type]++;
	if (e->cpu > t->max_cpu)
		t->max_cpu = e->cpu;
	return 0;
}

int rp_trace_add_mark(struct rp_trace *t, const char *text, size_t len)
{
	if (t->nr_marks == t->cap_marks) {
		unsigned cap = t->cap_marks ? t->cap_marks * 2 : 16;
		char **mk = realloc(t->marks, cap * sizeof(*mk));
		if (!mk)
			return ZPA_ENOMEM;
		t->marks = mk;
		t->cap_marks = cap;
	}
	char *s = malloc(len + 1);
	if (!s)
		return ZPA_ENOMEM;
	memcpy(s, text, len);
	s[len] = '\0';
	t->marks[t->nr_marks] = s;
	return (int)t->nr_marks++;
}

void rp_trace_bad(struct rp_trace *t, uint64_t line, const char *fmt, ...)
{
	va_list ap;

	t->malformed++;
	if (t->nr_bad >= RP_BAD_KEPT)
		return;
	struct rp_bad_line *b = &t->bad[t->nr_bad++];
	b->line = line;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}

void rp_trace_free(struct rp_trace *t)
{
	free(t->ev);
	for (unsigned i = 0; i < t->nr_marks; i++)
		free(t->marks[i]);
	free(t->marks);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a: cheap and good enough for a few dozen short strings. */
static uint64_t hash_text(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

int rp_gfp_lookup(struct rp_gfp_cache *c, const char *text, size_t len, uint32_t *gfp)
{
	char tmp[512];
	uint64_t h = hash_text(text, len);
	unsigned i = (unsigned)h & (RP_GFP_CACHE - 1);

	if (len < sizeof(c->e[0].text)) {
		for (unsigned probe = 0; probe < 8; probe++, i = (i + 1) & (RP_GFP_CACHE - 1)) {
			if (!c->e[i].used)
				break;
			if (c->e[i].hash == h && c->e[i].len == len && memcmp(c->e[i].text, text, len) == 0) {
				*gfp = c->e[i].gfp;
				return 0;
			}
		}
	}
	if (len >= sizeof(tmp))
		return ZPA_EINVAL;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	zpa_gfp_t v;
	if (zpa_gfp_parse(tmp, &v) != 0)
		return ZPA_EINVAL;
	*gfp = v;
	if (len < sizeof(c->e[0].text) && !c->e[i].used) {
		c->e[i].used = true;
		c->e[i].hash = h;
		c->e[i].len = (uint32_t)len;
		c->e[i].gfp = v;
		memcpy(c->e[i].text, text, len);
	}
	return 0;
}

static int load_error(struct rp_trace *t, int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int load_error(struct rp_trace *t, int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	char path[sizeof(t->path)];

	memcpy(path, t->path, sizeof(path));
	if (err && errlen) {
		size_t n = (size_t)snprintf(err, errlen, "%s: ", path);
		if (n < errlen) {
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - n, fmt, ap);
			va_end(ap);
		}
	}
	rp_trace_free(t);
	return code;
}

/* Binary data: NUL bytes or many control characters in the first bytes. */
static bool looks_binary(const unsigned char *d, size_t n)
{
	size_t ctl = 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i] == 0)
			return true;
		if (d[i] < 0x09 || (d[i] > 0x0d && d[i] < 0x20) || d[i] == 0x7f)
			ctl++;
	}
	return n && ctl * 20 > n;
}

/* A compressed trace.dat: copy its decompressed bytes to a temporary file for libtracecmd. */
static int load_compressed_dat(struct rp_input *in, const struct rp_load_opts *o, struct rp_trace *t, char *err,
			       size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char tmpl[1100];
	char *buf;
	int fd, rc = 0;

	snprintf(tmpl, sizeof(tmpl), "%s/zpa-trace-XXXXXX.dat", dir && *dir ? dir : "/tmp");
	fd = mkstemps(tmpl, 4);
	if (fd < 0)
		return load_error(t, ZPA_EIO, err, errlen, "cannot create a temporary file for the decompressed "
				  "trace.dat: %s", strerror(errno));
	buf = malloc(1 << 20);
	if (!buf) {
		close(fd);
		unlink(tmpl);
		return ZPA_ENOMEM;
	}
	for (;;) {
		size_t got;
		rc = rp_input_read(in, buf, 1 << 20, &got, err, errlen);
		if (rc || got == 0)
			break;
		if (write(fd, buf, got) != (ssize_t)got) {
			rc = load_error(t, ZPA_EIO, err, errlen, "cannot write the temporary trace.dat: %s",
					strerror(errno));
			break;
		}
	}
	free(buf);
	close(fd);
	if (!rc) {
		char comp[8];
		memcpy(comp, t->compression, sizeof(comp));
		double t0 = rp_now();
		rc = rp_trace_dat_load(tmpl, o, t, err, errlen);
		t->seconds = rp_now() - t0;
		if (!rc) {
			memcpy(t->compression, comp, sizeof(comp));
			snprintf(t->path, sizeof(t->path), "%s", in->path);
		}
	} else {
		rp_trace_free(t);
	}
	unlink(tmpl);
	return rc;
}

int rp_trace_load(const char *path, const struct rp_load_opts *o, struct rp_trace *t, char *err, size_t errlen)
{
	static const struct rp_load_opts none;
	struct rp_input in;
	struct rp_text_parser *p;
	const unsigned char *head;
	size_t nhead;
	char *line;
	size_t len;
	int rc;

	double t0 = rp_now();

	if (!o)
		o = &none;
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	rc = rp_input_open(&in, path, err, errlen);
	if (rc)
		return rc;
	snprintf(t->compression, sizeof(t->compression), "%s", rp_input_kind_name(&in));
	rc = rp_input_peek(&in, 4096, &head, &nhead, err, errlen);
	if (rc) {
		rp_input_close(&in);
		rp_trace_free(t);
		return rc;
	}
	if (nhead >= sizeof(TRACE_DAT_MAGIC) - 1 && memcmp(head, TRACE_DAT_MAGIC, sizeof(TRACE_DAT_MAGIC) - 1) == 0) {
		if (in.kind == RP_IN_PLAIN) {
			rp_input_close(&in);
			rc = rp_trace_dat_load(path, o, t, err, errlen);
			if (!rc)
				t->seconds = rp_now() - t0;
			return rc;
		}
		rc = load_compressed_dat(&in, o, t, err, errlen);
		rp_input_close(&in);
		return rc;
	}
	if (nhead == 0) {
		rp_input_close(&in);
		return load_error(t, ZPA_EPARSE, err, errlen, "empty file: no trace in it");
	}
	if (looks_binary(head, nhead)) {
		rp_input_close(&in);
		return load_error(t, ZPA_EPARSE, err, errlen,
				  "binary data: not an ftrace/perf text trace nor a trace-cmd trace.dat");
	}

	p = calloc(1, sizeof(*p));
	if (!p) {
		rp_input_close(&in);
		return ZPA_ENOMEM;
	}
	uint64_t nonblank = 0;
	while ((rc = rp_input_line(&in, &line, &len, err, errlen)) == 1) {
		uint64_t lineno = in.lineno;
		int r = rp_text_parse_line(p, t, line, len, lineno);
		t->lines = lineno;
		if (r < -1) {
			rc = r;
			break;
		}
		if (r == -1 && in.last_unterminated && t->nr_bad && t->bad[t->nr_bad - 1].line == lineno) {
			char reason[sizeof(t->bad[0].reason) + 32];
			snprintf(reason, sizeof(reason), "truncated last line (%.70s)", t->bad[t->nr_bad - 1].reason);
			memcpy(t->bad[t->nr_bad - 1].reason, reason, sizeof(t->bad[0].reason) - 1);
			t->bad[t->nr_bad - 1].reason[sizeof(t->bad[0].reason) - 1] = '\0';
		}
		if (r != 0)
			nonblank++;
		else
			t->comments++;
		if (r == -1 && o->strict) {
			rc = load_error(t, ZPA_EPARSE, err, errlen, "line %llu: %s (--strict)", (unsigned long long)lineno,
					t->bad[t->nr_bad - 1].reason);
			break;
		}
		if (p->trace_lines == 0 && nonblank >= RP_SNIFF_LINES) {
			rc = load_error(t, ZPA_EPARSE, err, errlen,
					"not a kernel trace: none of the first %llu lines is an ftrace or perf script "
					"event line (line %llu: %s)", (unsigned long long)nonblank,
					(unsigned long long)t->bad[0].line, t->bad[0].reason);
			break;
		}
		if (o->progress && (lineno & 0xffff) == 0)
			o->progress(o->progress_arg, in.file_read, in.file_size);
	}
	if (rc == 0 && p->trace_lines == 0 && t->malformed) {
		rc = load_error(t, ZPA_EPARSE, err, errlen,
				"not a kernel trace: no line is an ftrace or perf script event line (line %llu: %s)",
				(unsigned long long)t->bad[0].line, t->bad[0].reason);
	} else if (rc < 0) {
		/* an input error (corrupt or truncated data): nothing is replayed */
		rp_trace_free(t);
	}
	if (rc == 0) {
		t->seconds = rp_now() - t0;
		t->bytes = in.total_out;
		snprintf(t->format, sizeof(t->format), "%s", p->perf ? "perf script" : "ftrace text");
		if (o->progress)
			o->progress(o->progress_arg, in.file_size, in.file_size);
	}
	free(p);
	rp_input_close(&in);
	return rc < 0 ? rc : 0;
}
