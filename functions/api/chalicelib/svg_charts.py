"""Bar charts drawn on the server as inline SVG strings: no script, no CDN, no inline style (the pages' CSP
allows neither). Every text is escaped; the chart carries a <title> and <desc> for screen readers and each bar
its own <title> (value on hover)."""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

WIDTH = 640
LABEL_WIDTH = 300
VALUE_WIDTH = 120
ROW = 30
BAR = 18
TOP = 8
LABEL_CHARS = 38

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None           # None: no data (drawn as an empty row with "-")
    text: str | None = None       # the value as shown (default: the number)
    warn: bool = False            # drawn in the warning colour (e.g. beyond the standard)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(title: str, bars: Sequence[Bar], max_value: float | None = None, reference: float | None = None,
              reference_label: str | None = None, chart_class: str = "") -> Markup:
    """A horizontal bar chart as an `<svg>` element (scales to its container's width).

    `max_value`: the value of a full bar (default: the largest value, or 1); `reference`: a dashed vertical
    line (e.g. the standard, 100%) labelled `reference_label`."""
    chart_id = f"grafik-{next(_ids)}"
    values = [b.value for b in bars if b.value is not None]
    top = max_value if max_value else max([*values, reference or 0.0]) if values or reference else 1.0
    top = top or 1.0
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = TOP * 2 + ROW * max(1, len(bars)) + (16 if reference is not None else 0)
    desc = "; ".join(f"{b.label}: {b.text or ('-' if b.value is None else _num(b.value))}" for b in bars) or "Tidak ada data"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {_e(chart_class)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{_e(title)}</title>',
        f'<desc id="{chart_id}-d">{_e(desc)}</desc>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{TOP + ROW / 2 + 5}" font-size="14" fill="#555">Tidak ada data</text>')
    for index, bar in enumerate(bars):
        y = TOP + index * ROW
        shown = bar.text or ("-" if bar.value is None else _num(bar.value))
        parts.append(f'<g class="bar"><title>{_e(bar.label)}: {_e(shown)}</title>')
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + ROW / 2 + 5}" text-anchor="end" font-size="13" '
                     f'fill="#1f2933">{_e(_short(bar.label))}</text>')
        if bar.value is not None:
            length = max(0.0, min(1.0, bar.value / top)) * plot
            colour = "#b42318" if bar.warn else "#1d5fa8"
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + (ROW - BAR) / 2}" width="{length:.1f}" height="{BAR}" '
                         f'rx="2" fill="{colour}"/>')
            value_x = LABEL_WIDTH + length + 6
        else:
            value_x = LABEL_WIDTH + 6
        parts.append(f'<text x="{value_x:.1f}" y="{y + ROW / 2 + 5}" font-size="13" fill="#1f2933">{_e(shown)}</text>'
                     '</g>')
    if reference is not None and top:
        x = LABEL_WIDTH + min(1.0, reference / top) * plot
        bottom = TOP + ROW * max(1, len(bars))
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#6b7280" '
                     'stroke-dasharray="4 3" stroke-width="1.5"/>')
        if reference_label:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 13}" text-anchor="middle" font-size="12" '
                         f'fill="#4b5563">{_e(reference_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped by _e
