"""The drift report as one self-contained HTML file: no network, no CDN, no script needed
to see it. Per column (drifted first): the verdict, the test, its statistic and threshold,
and reference vs current drawn as overlaid histograms (numeric) or paired bars
(categorical) in inline SVG. Every text from the data is escaped.

A few lines of inline script only count the bars the browser laid out into
`<body data-rendered=N>`, so a test in a real browser can see that the plots rendered.
"""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 560, 160, 24
REF_COLOUR, CUR_COLOUR = "#4c78a8", "#f58518"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:64rem}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin:1.6rem 0 .3rem}
.drift{color:#b00020} .ok{color:#1b5e20} table{border-collapse:collapse}
td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
svg{background:#fafafa;border:1px solid #eee}
"""
_COUNT = (
    "<script>document.body.dataset.rendered=[...document.querySelectorAll('rect.bar')]"
    ".filter(r=>{const b=r.getBBox();return b.width>0&&b.height>0}).length;</script>"
)


def render_html(doc: dict[str, Any]) -> str:
    ref, cur = doc["reference"], doc["current"]
    verdict = (
        '<p class="drift"><b>Data set drift</b>'
        if doc["dataset_drift"]
        else '<p class="ok"><b>No data set drift</b>'
    )
    drifted = len(doc["drifted_columns"])
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Drift of {escape(doc['model'])}@{escape(doc['version'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Drift of {escape(doc['model'])}@{escape(doc['version'])}</h1>",
        f"{verdict}: {drifted} of {len(doc['columns'])} columns drifted"
        f" (threshold {doc['drift_share']:.0%}).</p>",
        "<table>",
        f"<tr><th>reference</th><td>{escape(ref['path'])} ({ref['rows']:,} rows,"
        f" md5 {escape(ref['md5'][:12])})</td></tr>",
        f"<tr><th>current</th><td>{cur['rows']:,} rows from "
        f"{escape(', '.join(cur['files']))}</td></tr>",
        "</table>",
        '<p class="legend"><span style="background:' + REF_COLOUR + '"></span>reference'
        '<span style="background:' + CUR_COLOUR + '"></span>current</p>',
    ]
    if doc["missing_columns"]:
        missing = escape(", ".join(doc["missing_columns"]))
        parts.append(f'<p class="drift">Not in the current data: {missing}</p>')
    for col in doc["columns"]:
        parts.append(_column(col))
    parts.append(_COUNT + "</body></html>\n")
    return "\n".join(parts)


def _column(col: dict[str, Any]) -> str:
    mark = '<b class="drift">drifted</b>' if col["drifted"] else '<span class="ok">stable</span>'
    reads = "p-value" if col["statistic_kind"] == "p_value" else "distance"
    head = (
        f"<h2>{escape(col['column'])}: {mark}</h2>"
        f"<p>{escape(col['kind'])}, {escape(col['method'])} {reads}"
        f" {col['statistic']:.4g} (threshold {col['threshold']:g});"
        f" {col['reference_rows']:,} / {col['current_rows']:,} rows,"
        f" missing {col['reference_missing']:,} / {col['current_missing']:,}</p>"
    )
    return head + _svg(col["histogram"], col["column"])


def _svg(hist: dict[str, Any], name: str) -> str:
    ref, cur = hist.get("reference") or [], hist.get("current") or []
    if not ref:
        return "<p>no values to draw</p>"
    top = max([*ref, *cur, 1e-12])
    n = len(ref)
    slot = (WIDTH - 2 * PAD) / n
    bars = []
    categorical = "categories" in hist
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = PAD + i * slot
        for share, colour, offset, width in (
            (r, REF_COLOUR, 0.0, slot * (0.45 if categorical else 1.0)),
            (
                c,
                CUR_COLOUR,
                slot * (0.5 if categorical else 0.0),
                slot * (0.45 if categorical else 1.0),
            ),
        ):
            h = (HEIGHT - 2 * PAD) * share / top
            bars.append(
                f'<rect class="bar" x="{x + offset:.2f}" y="{HEIGHT - PAD - h:.2f}"'
                f' width="{max(width - 1, 0.5):.2f}" height="{h:.2f}" fill="{colour}"'
                f' fill-opacity="{0.9 if categorical else 0.55}"><title>{share:.2%}</title></rect>'
            )
    labels = []
    if categorical:
        for i, label in enumerate(hist["categories"]):
            x = PAD + (i + 0.5) * slot
            labels.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle">'
                f"{escape(str(label)[:12])}</text>"
            )
    else:
        edges = hist["edges"]
        for x, value in ((PAD, edges[0]), (WIDTH - PAD, edges[-1])):
            labels.append(
                f'<text x="{x}" y="{HEIGHT - 6}" font-size="10" text-anchor="middle">'
                f"{value:.4g}</text>"
            )
    return (
        f'<svg role="img" aria-label="{escape(name)}: reference and current"'
        f' width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
        + "".join(bars)
        + "".join(labels)
        + "</svg>"
    )
