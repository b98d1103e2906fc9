#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""zpa-report.py - plots and a self-contained HTML report of a `zpa replay`.

Usage:
    zpa-report.py RUN.json [--html OUT.html] [--png-dir DIR]

RUN.json is what `zpa replay --json` writes (a what-if run's second
configuration sits under "vs").  The plots, drawn with matplotlib:

  free-pages.png    pages in free blocks of each order over the trace's time,
                    one panel per zone (and per run): where free memory sits
  unusable.png      the unusable free index (Linux's debugfs unusable_index:
                    the share of free memory in blocks too small for the
                    order) over time, one line per order
  pageblocks.png    every pageblock of physical memory coloured by its
                    migratetype, at the start and at the end of the replay
  extfrag.png       fallback (extfrag) events so far, zpa against the trace

The HTML page embeds the PNGs as data: URIs and has no script or style from
the network: it opens anywhere, offline.  A few lines of inline script mark
<body> with data-images="decoded" once every image has decoded (and count
script errors), so a headless browser can check the page.

Exit status: 0, 1 on an unreadable JSON or missing matplotlib.
"""
import argparse
import base64
import html
import io
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    import numpy as np
except ImportError as e:  # pragma: no cover - reported to the user
    sys.stderr.write("zpa-report: matplotlib and numpy are needed (Debian: apt-get install "
                     "python3-matplotlib): %s\n" % e)
    sys.exit(1)

PB_TYPES = "UMRHCI."
PB_NAMES = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate", "no memory"]
PB_COLORS = ["#d62728", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#7f7f7f", "#ffffff"]


def runs_of(doc):
    """The runs in the document: A, and B for a what-if."""
    runs = [doc]
    if "vs" in doc:
        runs.append(doc["vs"])
    return runs


def run_name(run, i, n):
    if n == 1:
        return run.get("label") or "zpa"
    return "%s: %s" % ("AB"[i], run.get("label") or "defaults")


def zone_name(z):
    return "Node %d %s" % (z["node"], z["zone"])


def rel_times(series, t0):
    return [t - t0 for t in series["ts"]]


def fig_free_pages(doc, t0):
    runs = runs_of(doc)
    zones = doc["series"]["zones"]
    orders = doc["series"]["orders"]
    fig, axes = plt.subplots(len(zones), len(runs), figsize=(7.5 * len(runs), 2.6 * len(zones)),
                             squeeze=False, sharex=True)
    cmap = plt.get_cmap("viridis")
    for c, run in enumerate(runs):
        s = run["series"]
        x = rel_times(s, t0)
        for r, z in enumerate(zones):
            ax = axes[r][c]
            ys = []
            for o in range(orders):
                ys.append([sample[r][o] << o for sample in s["nr_free"]])
            ax.stackplot(x, ys, colors=[cmap(o / max(1, orders - 1)) for o in range(orders)],
                         labels=["order %d" % o for o in range(orders)], linewidth=0)
            ax.set_title("%s - %s" % (zone_name(z), run_name(run, c, len(runs))), fontsize=9)
            ax.set_ylabel("free pages")
            ax.grid(alpha=0.3)
            if r == len(zones) - 1:
                ax.set_xlabel("trace time (s)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles[::-1], labels[::-1], loc="center right", fontsize=8, title="free blocks of")
    fig.suptitle("Free pages per order over time", fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.88, 0.97))
    return fig


def fig_unusable(doc, t0):
    runs = runs_of(doc)
    zones = doc["series"]["zones"]
    orders = doc["series"]["orders"]
    fig, axes = plt.subplots(len(zones), len(runs), figsize=(7.5 * len(runs), 2.6 * len(zones)),
                             squeeze=False, sharex=True, sharey=True)
    cmap = plt.get_cmap("plasma")
    for c, run in enumerate(runs):
        s = run["series"]
        x = rel_times(s, t0)
        for r, z in enumerate(zones):
            ax = axes[r][c]
            for o in range(1, orders):
                y = [sample[r][o] / 1000.0 for sample in s["unusable"]]
                ax.plot(x, y, color=cmap(o / orders), linewidth=1.2, label="order %d" % o)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title("%s - %s" % (zone_name(z), run_name(run, c, len(runs))), fontsize=9)
            ax.set_ylabel("unusable index")
            ax.grid(alpha=0.3)
            if r == len(zones) - 1:
                ax.set_xlabel("trace time (s)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8)
    fig.suptitle("Unusable free space index over time (share of free memory too fragmented for the order)",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.9, 0.97))
    return fig


def pageblock_grid(types, width):
    codes = [PB_TYPES.index(ch) if ch in PB_TYPES else 6 for ch in types]
    rows = (len(codes) + width - 1) // width
    grid = np.full(rows * width, 6, dtype=np.int8)
    grid[:len(codes)] = codes
    return grid.reshape(rows, width)


def fig_pageblocks(doc):
    runs = runs_of(doc)
    pb = doc.get("pageblocks")
    if not pb:
        return None
    panels = []
    for c, run in enumerate(runs):
        p = run.get("pageblocks") or pb
        panels.append(("start", run_name(run, c, len(runs)), p["start"]))
        panels.append(("end", run_name(run, c, len(runs)), p["end"]))
    zones = pb["start"]
    order = pb["order"]
    width = 128
    heights = [max(1, (len(z["types"]) + width - 1) // width) for z in zones]
    fig, axes = plt.subplots(len(zones), len(panels), figsize=(3.4 * len(panels), 1.2 + 0.035 * sum(heights) + 0.9 * len(zones)),
                             squeeze=False, gridspec_kw={"height_ratios": [h + 4 for h in heights]})
    cmap = ListedColormap(PB_COLORS)
    for c, (when, name, zlist) in enumerate(panels):
        for r, z in enumerate(zlist):
            ax = axes[r][c]
            grid = pageblock_grid(z["types"], width)
            ax.imshow(grid, cmap=cmap, vmin=0, vmax=6, aspect="auto", interpolation="nearest")
            start_gib = z["start_pfn"] * 4096 / 2 ** 30
            row_mib = width * (2 ** order) * 4096 / 2 ** 20
            ax.set_title("%s, %s\n%s" % (zone_name(z), when, name), fontsize=8)
            ax.set_xticks([])
            nrows = grid.shape[0]
            ticks = sorted(set([0, nrows - 1] + list(range(0, nrows, max(1, nrows // 4)))))
            ax.set_yticks(ticks)
            ax.set_yticklabels(["%.2f GiB" % (start_gib + t * row_mib / 1024) for t in ticks], fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PB_COLORS[i], ec="#999999") for i in range(7)]
    fig.legend(handles, PB_NAMES, loc="lower center", ncol=7, fontsize=8)
    fig.suptitle("Pageblocks by migratetype (%d pageblocks of %d KiB per row; physical address down)"
                 % (width, (2 ** order) * 4), fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    return fig


def fig_extfrag(doc, t0):
    runs = runs_of(doc)
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    for c, run in enumerate(runs):
        s = run["series"]
        x = rel_times(s, t0)
        ax.plot(x, s["extfrag"], label="zpa (%s)" % run_name(run, c, len(runs)), linewidth=1.5)
    s = doc["series"]
    ax.plot(rel_times(s, t0), s["extfrag_trace"], label="the kernel (trace)", color="black", linestyle="--")
    ax.set_xlabel("trace time (s)")
    ax.set_ylabel("extfrag events so far")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Fallbacks to another migratetype (mm_page_alloc_extfrag)", fontsize=10)
    fig.tight_layout()
    return fig


def png_bytes(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def make_plots(doc):
    t0 = doc["series"]["ts"][0] if doc["series"]["ts"] else 0.0
    plots = [("free-pages.png", "Free pages per order over time", fig_free_pages(doc, t0)),
             ("unusable.png", "Unusable free space index over time", fig_unusable(doc, t0)),
             ("pageblocks.png", "Pageblocks by migratetype (physical memory map)", fig_pageblocks(doc)),
             ("extfrag.png", "Fallback (extfrag) events", fig_extfrag(doc, t0))]
    return [(name, title, png_bytes(fig)) for name, title, fig in plots if fig is not None]


KEYS = [("events", "events"), ("allocs", "allocations"), ("frees", "frees"),
        ("zpa_only_failures", "allocations zpa failed, the kernel served"),
        ("node_agreement", "node placement agreement"), ("zone_agreement", "zone placement agreement"),
        ("extfrag_zpa", "extfrag events, zpa"), ("extfrag_trace", "extfrag events, trace"),
        ("seconds", "replay time (s)")]
DETAIL = [("kernel_failures", "allocations the kernel failed"), ("zpa_failures", "allocations zpa failed"),
          ("frees_pretrace", "frees of pages in use before the trace"), ("frees_split", "frees of part of a block"),
          ("frees_unmatched", "unmatched frees"), ("realloc_live", "pfns reused without a traced free"),
          ("end_free_pages", "free pages at the end")]


def fmt(key, v):
    if key.endswith("agreement"):
        return "%.2f%%" % (100.0 * v)
    if isinstance(v, float):
        return "%.3f" % v
    return "{:,}".format(v)


def write_html(doc, plots, path):
    runs = runs_of(doc)
    t = doc["trace"]
    e = html.escape
    out = []
    out.append("<!DOCTYPE html><html><head><meta charset='utf-8'><title>zpa replay report</title>")
    out.append("<style>body{font-family:sans-serif;margin:2em;max-width:1400px;color:#222}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
               "text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
               "img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}code{background:#f4f4f4}</style>")
    out.append("</head><body data-images='pending' data-errors='0'>")
    out.append("<h1>zpa replay report</h1>")
    out.append("<p>Trace <code>%s</code> (%s, %s compression): %s lines, %s malformed, %d CPUs, %.3f s of trace time.</p>"
               % (e(t["path"]), e(t["format"]), e(t["compression"]), "{:,}".format(t["lines"]),
                  "{:,}".format(t["malformed"]), t["cpus"], t["last_ts"] - t["first_ts"]))
    out.append("<h2>Results</h2><table><tr><th></th>")
    for i, run in enumerate(runs):
        out.append("<th>%s</th>" % e(run_name(run, i, len(runs))))
    out.append("</tr>")
    for key, label in KEYS:
        out.append("<tr><td>%s</td>%s</tr>" % (e(label), "".join("<td>%s</td>" % fmt(key, r[key]) for r in runs)))
    for key, label in DETAIL:
        out.append("<tr><td>%s</td>%s</tr>" % (e(label), "".join("<td>%s</td>" % fmt(key, r["detail"][key]) for r in runs)))
    out.append("</table>")
    st = doc["start_state"]
    out.append("<h2>Starting state</h2>")
    if st["built"]:
        out.append("<p>Rebuilt from the snapshot: L1 distance to its pagetypeinfo %s pages of %s free (%.3f%%), "
                   "pageblock types off by %s.</p>" % ("{:,}".format(st["l1_pages"]), "{:,}".format(st["target_free_pages"]),
                                                     100.0 * st["l1_pages"] / max(1, st["target_free_pages"]),
                                                     "{:,}".format(st["l1_pageblocks"])))
        out.append("<table><tr><th>zone</th><th>free (zpa)</th><th>free (snapshot)</th><th>L1 pages</th>"
                   "<th>pageblocks off</th><th>per-CPU pages</th></tr>")
        for z in st["zones"]:
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s/%s</td></tr>"
                       % (e(zone_name(z)), "{:,}".format(z["zpa_free_pages"]), "{:,}".format(z["target_free_pages"]),
                          "{:,}".format(z["l1_pages"]), z["l1_pageblocks"], z["pcp_placed"], z["pcp_target"]))
        out.append("</table>")
    else:
        out.append("<p>Not rebuilt: %s</p>" % e(st["why_not"]))
    out.append("<h2>Pages placed per zone</h2><table><tr><th>zone</th><th>kernel</th>")
    for i, run in enumerate(runs):
        out.append("<th>zpa %s</th>" % e(run_name(run, i, len(runs))))
    out.append("</tr>")
    for zi, z in enumerate(doc["zones"]):
        out.append("<tr><td>%s</td><td>%s</td>%s</tr>" % (e(zone_name(z)), "{:,}".format(z["pages_trace"]),
                   "".join("<td>%s</td>" % "{:,}".format(r["zones"][zi]["pages_zpa"]) for r in runs)))
    out.append("</table><h2>Plots</h2>")
    for name, title, data in plots:
        out.append("<h3>%s</h3><img alt='%s' src='data:image/png;base64,%s'>"
                   % (e(title), e(title), base64.b64encode(data).decode("ascii")))
    if t["marks"]:
        out.append("<h2>Marks in the trace</h2><table><tr><th>time (s)</th><th>event</th><th>text</th></tr>")
        for m in t["marks"]:
            out.append("<tr><td>%.6f</td><td>%s</td><td>%s</td></tr>" % (m["ts"], "{:,}".format(m["event"]), e(m["text"])))
        out.append("</table>")
    if t["bad_lines"]:
        out.append("<h2>Malformed lines</h2><ul>")
        for b in t["bad_lines"]:
            out.append("<li>line %d: %s</li>" % (b["line"], e(b["reason"])))
        out.append("</ul>")
    out.append("<script>window.addEventListener('error',function(){var b=document.body;"
               "b.setAttribute('data-errors',String(1+Number(b.getAttribute('data-errors'))))});"
               "window.addEventListener('load',function(){var im=document.images,ok=im.length>0;"
               "for(var i=0;i<im.length;i++)ok=ok&&im[i].complete&&im[i].naturalWidth>0;"
               "document.body.setAttribute('data-images',ok?'decoded':'broken');"
               "document.body.setAttribute('data-image-count',String(im.length))});</script>")
    out.append("</body></html>\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(out))


def main():
    ap = argparse.ArgumentParser(description="Plots and an HTML report of a zpa replay (its --json output).")
    ap.add_argument("json")
    ap.add_argument("--html", help="write a self-contained HTML report here")
    ap.add_argument("--png-dir", help="write the plots as PNG files into this directory")
    a = ap.parse_args()
    try:
        with open(a.json, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as ex:
        sys.stderr.write("zpa-report: %s: %s\n" % (a.json, ex))
        return 1
    if "series" not in doc:
        sys.stderr.write("zpa-report: %s: not a zpa replay JSON (no series)\n" % a.json)
        return 1
    plots = make_plots(doc)
    if a.png_dir:
        os.makedirs(a.png_dir, exist_ok=True)
        for name, _, data in plots:
            with open(os.path.join(a.png_dir, name), "wb") as f:
                f.write(data)
    if a.html:
        write_html(doc, plots, a.html)
    if not a.html and not a.png_dir:
        sys.stderr.write("zpa-report: nothing to do: give --html FILE and/or --png-dir DIR\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
