"""Charts as server-rendered SVG: no JavaScript, no chart library to download, crisp on phones.

Each function returns an ``<svg>`` string (labels escaped) sized by a viewBox, so it scales to
its container. Colours follow the dashboard: green tests, red positives, blue certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

GREEN, RED, BLUE = "#3a9d5d", "#d64541", "#3b73b9"


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    for power in range(0, 12):
        for step in (1, 2, 2.5, 5):
            top = int(step * 10**power)
            if top >= value:
                return top
    return value


def day_bars(days: Sequence[date], totals: dict[date, int], highlights: dict[date, int],
             *, colour: str = GREEN, highlight: str = RED, title: str = "",
             width: int = 960, height: int = 200) -> str:
    """Bars per day (``totals``), the ``highlights`` part of each bar drawn over it in red."""
    left, right, top, bottom = 40, 10, 18, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([totals.get(d, 0) for d in days] + [1]))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e6e9ee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="tick">{value:g}</text>')
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        total, part = totals.get(d, 0), highlights.get(d, 0)
        h = plot_h * total / peak
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                     f'height="{h:.1f}" rx="2" fill="{colour}"><title>{d}: {total}</title></rect>')
        if part:
            hp = plot_h * part / peak
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - hp:.1f}" width="{bar:.1f}" '
                         f'height="{hp:.1f}" rx="2" fill="{highlight}"><title>{d}: {part}'
                         f'</title></rect>')
        if len(days) <= 14 or i % max(len(days) // 7, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                         f'class="tick">{d:%m-%d}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbars(items: Sequence[tuple[str, int]], *, colour: str = RED, title: str = "",
          width: int = 360, row: int = 26) -> str:
    """Horizontal bars, one row per ``(label, count)``, largest first as given."""
    if not items:
        return (f'<svg class="chart" viewBox="0 0 {width} {row}" '
                f'xmlns="http://www.w3.org/2000/svg"><text x="4" y="{row - 8}" class="tick">—'
                f'</text></svg>')
    label_w, count_w = 110, 40
    plot_w = width - label_w - count_w
    peak = max(n for _, n in items) or 1
    height = row * len(items) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, n) in enumerate(items):
        y = i * row + 4
        w = max(plot_w * n / peak, 2)
        parts.append(f'<text x="{label_w - 6}" y="{y + row / 2 + 3:.1f}" text-anchor="end" '
                     f'class="label">{escape(label[:16])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
                     f'rx="3" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + row / 2 + 3:.1f}" '
                     f'class="tick">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)
