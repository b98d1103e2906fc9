/*
 * test_trace_report.c - the replay's reports: CSV, PNG plots and the HTML
 * page, opened in a real browser.
 *
 * What is checked:
 *   - `zpa replay --csv` writes one row per sample and zone, with the
 *     header's columns, sample numbers and events rising, and the free pages
 *     of each row equal to the sum of its free blocks times their sizes.
 *   - `zpa replay --html --plots` (tools/zpa-report.py, matplotlib) writes
 *     the four PNG plots (valid PNG files of a plot's size) and one HTML
 *     file that embeds them as data: URIs and names nothing on the network.
 *   - Debian's Chromium, headless (--no-sandbox --disable-gpu
 *     --disable-background-networking), loads the page without a script
 *     error and decodes every image (the page marks <body> once all have
 *     decoded: read back with --dump-dom), and its screenshot is a PNG of
 *     the requested size whose pixels show the plots: a good share of
 *     non-white pixels, coloured (not grey) pixels and many distinct
 *     colours, which a page of text or of broken images does not have.
 * Skipped, with the reason, when python3's matplotlib or chromium is not
 * installed (tools/setup.sh installs both).
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1
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
#include <zlib.h>

#define ORACLE ZPA_ORACLE_DIR
#define SHOT_W 1280
#define SHOT_H 2400

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zpa-test-report-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	if (len)
		*len = got;
	return s;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ------------------------------------------------------------ a small PNG reader */

struct image {
	unsigned w, h, bpp;     /* bytes per pixel: 3 (RGB) or 4 (RGBA) */
	unsigned char *px;      /* w * h * bpp */
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode an 8-bit RGB/RGBA non-interlaced PNG.  Returns false if it is anything else. */
static bool png_read(const char *path, struct image *im)
{
	size_t len;
	unsigned char *d = (unsigned char *)slurp(path, &len);
	unsigned char *idat = NULL;
	size_t idat_len = 0;
	bool ok = false;

	memset(im, 0, sizeof(*im));
	if (!d || len < 33 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		goto out;
	for (size_t p = 8; p + 12 <= len;) {
		uint32_t n = be32(d + p);
		const unsigned char *type = d + p + 4, *body = d + p + 8;
		if (p + 12 + n > len)
			goto out;
		if (memcmp(type, "IHDR", 4) == 0) {
			im->w = be32(body);
			im->h = be32(body + 4);
			if (body[8] != 8 || (body[9] != 2 && body[9] != 6) || body[12] != 0)
				goto out;
			im->bpp = body[9] == 6 ? 4 : 3;
		} else if (memcmp(type, "IDAT", 4) == 0) {
			idat = realloc(idat, idat_len + n);
			memcpy(idat + idat_len, body, n);
			idat_len += n;
		}
		p += 12 + n;
	}
	if (!im->w || !im->h || !idat)
		goto out;
	size_t stride = (size_t)im->w * im->bpp;
	uLongf raw_len = (uLongf)((stride + 1) * im->h);
	unsigned char *raw = malloc(raw_len);
	if (uncompress(raw, &raw_len, idat, idat_len) != Z_OK || raw_len != (stride + 1) * im->h) {
		free(raw);
		goto out;
	}
	im->px = malloc(stride * im->h);
	for (unsigned y = 0; y < im->h; y++) {
		unsigned char *row = raw + y * (stride + 1) + 1, *out = im->px + y * stride;
		const unsigned char *up = y ? im->px + (y - 1) * stride : NULL;
		for (size_t x = 0; x < stride; x++) {
			int a = x >= im->bpp ? out[x - im->bpp] : 0, b = up ? up[x] : 0,
			    c = up && x >= im->bpp ? up[x - im->bpp] : 0;
			int v = row[x];
			switch (row[-1]) {
			case 0: break;
			case 1: v += a; break;
			case 2: v += b; break;
			case 3: v += (a + b) / 2; break;
			case 4: v += paeth(a, b, c); break;
			default: free(raw); goto out;
			}
			out[x] = (unsigned char)v;
		}
	}
	free(raw);
	ok = true;
out:
	if (!ok) {
		free(im->px);
		im->px = NULL;
	}
	free(idat);
	free(d);
	return ok;
}

/* ------------------------------------------------------------ the test */

static bool have_prereqs(char *why, size_t len)
{
	if (sh("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0) {
		snprintf(why, len, "python3-matplotlib is not installed (tools/setup.sh installs it)");
		return false;
	}
	if (sh("command -v chromium >/dev/null 2>&1") != 0) {
		snprintf(why, len, "chromium is not installed (tools/setup.sh installs it)");
		return false;
	}
	return true;
}

static void test_csv(void **state)
{
	char csv[400];
	(void)state;
	snprintf(csv, sizeof(csv), "%s/series.csv", tmpdir);
	assert_int_equal(sh("%s replay --snapshot %s/n1-2g-2cpu --csv %s --samples 30 --quiet", ZPA_CLI, ORACLE, csv), 0);
	FILE *f = fopen(csv, "r");
	assert_non_null(f);
	char line[4096];
	assert_non_null(fgets(line, sizeof(line), f));
	static const char head[] = "sample,event,ts,node,zone,free_pages,extfrag_zpa,extfrag_trace,nr_free_0,";
	assert_int_equal(strncmp(line, head, sizeof(head) - 1), 0);
	assert_non_null(strstr(line, ",unusable_10,"));
	assert_non_null(strstr(line, ",fragidx_10\n"));
	unsigned rows = 0, last_sample = 0;
	unsigned long long last_event = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned sample, node;
		unsigned long long event, free_pages, ef, et, nr[11];
		double ts;
		char zone[16];
		int n = sscanf(line, "%u,%llu,%lf,%u,%15[^,],%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu",
			       &sample, &event, &ts, &node, zone, &free_pages, &ef, &et, &nr[0], &nr[1], &nr[2], &nr[3],
			       &nr[4], &nr[5], &nr[6], &nr[7], &nr[8], &nr[9], &nr[10]);
		assert_int_equal(n, 19);
		assert_true(sample >= last_sample && event >= last_event);
		unsigned long long sum = 0;
		for (int o = 0; o < 11; o++)
			sum += nr[o] << o;
		assert_int_equal(sum, free_pages);
		last_sample = sample;
		last_event = event;
		rows++;
	}
	fclose(f);
	/* two zones (DMA, DMA32), at least the 30 samples and the first and last */
	assert_true(rows >= 2 * 30);
	assert_int_equal(rows % 2, 0);
}

static void test_html_in_chromium(void **state)
{
	char why[200], html[400], plots[400], shot[400], dom[400];
	(void)state;
	if (!have_prereqs(why, sizeof(why))) {
		print_message("skipped: %s\n", why);
		skip();
	}
	snprintf(html, sizeof(html), "%s/report.html", tmpdir);
	snprintf(plots, sizeof(plots), "%s/plots", tmpdir);
	assert_int_equal(sh("%s replay --snapshot %s/n2-4g-2cpu --set watermark_scale_factor=300 --vs --html %s "
			    "--plots %s --samples 60 --quiet",
			    ZPA_CLI, ORACLE, html, plots),
			 0);

	/* the PNG files */
	static const char *const names[] = { "free-pages.png", "unusable.png", "pageblocks.png", "extfrag.png" };
	for (unsigned i = 0; i < 4; i++) {
		char p[500];
		struct image im;
		snprintf(p, sizeof(p), "%s/%s", plots, names[i]);
		assert_true(png_read(p, &im));
		assert_true(im.w >= 400 && im.h >= 200);
		free(im.px);
	}

	/* the HTML: four embedded images, nothing from the network */
	char *page = slurp(html, NULL);
	assert_non_null(page);
	assert_int_equal(count_str(page, "src='data:image/png;base64,"), 4);
	assert_null(strstr(page, "http://"));
	assert_null(strstr(page, "https://"));
	assert_null(strstr(page, "src='/"));
	free(page);

	/* Chromium: the page loads, every image decodes, no script error. */
	snprintf(dom, sizeof(dom), "%s/dom.html", tmpdir);
	int rc = sh("timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
		    "--dump-dom 'file://%s' > '%s' 2>/dev/null",
		    html, dom);
	assert_int_equal(rc, 0);
	char *d = slurp(dom, NULL);
	assert_non_null(d);
	assert_non_null(strstr(d, "data-images=\"decoded\""));
	assert_non_null(strstr(d, "data-errors=\"0\""));
	assert_non_null(strstr(d, "data-image-count=\"4\""));
	free(d);

	/* The screenshot shows the plots. */
	snprintf(shot, sizeof(shot), "%s/shot.png", tmpdir);
	rc = sh("timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
		"--hide-scrollbars --window-size=%d,%d --screenshot='%s' 'file://%s' >/dev/null 2>&1",
		SHOT_W, SHOT_H, shot, html);
	assert_int_equal(rc, 0);
	struct image im;
	assert_true(png_read(shot, &im));
	assert_int_equal(im.w, SHOT_W);
	assert_int_equal(im.h, SHOT_H);
	uint64_t nonwhite = 0, coloured = 0, n = (uint64_t)im.w * im.h;
	static uint8_t seen[1 << 15];
	unsigned distinct = 0;
	memset(seen, 0, sizeof(seen));
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *p = im.px + i * im.bpp;
		int mx = p[0], mn = p[0];
		for (int c = 1; c < 3; c++) {
			mx = p[c] > mx ? p[c] : mx;
			mn = p[c] < mn ? p[c] : mn;
		}
		if (mn < 235)
			nonwhite++;
		if (mx - mn > 60)
			coloured++;
		unsigned key = (unsigned)(p[0] >> 3) << 10 | (unsigned)(p[1] >> 3) << 5 | (unsigned)(p[2] >> 3);
		if (!seen[key]) {
			seen[key] = 1;
			distinct++;
		}
	}
	free(im.px);
	print_message("screenshot: %.1f%% non-white, %.1f%% coloured, %u distinct colours\n", 100.0 * nonwhite / n,
		      100.0 * coloured / n, distinct);
	assert_true(nonwhite * 100 > n * 10);
	assert_true(coloured * 100 > n * 5);
	assert_true(distinct > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_html_in_chromium),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
