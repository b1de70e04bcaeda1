"""Inline SVG charts, drawn in Python: grouped bars and lines over a run axis.

Pure functions from numbers to markup, no script and no external reference, so a page that
holds them renders offline and inside Databricks ``displayHTML``. Every drawn value is an
element of class ``mark`` with a ``<title>`` (the browser's tooltip) naming run and value;
every text is escaped. A value of ``None`` (no such layer in that run) draws nothing; a zero
bar is drawn one pixel high, so a run that wrote nothing is still visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

Series = tuple[str, Sequence[float | None]]

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 14, 46
PALETTE = ("#b7791f", "#718096", "#2b6cb0", "#2f855a", "#c53030", "#6b46c1", "#d53f8c", "#319795")


def _scale_top(value: float, percent: bool) -> float:
    """The axis' top: four equal steps of 1, 2 or 5 times a power of ten (whole rows for counts)."""
    if value <= 0:
        return 4.0
    power = 10 ** math.floor(math.log10(value / 4))
    step = next(m * power for m in (1, 2, 5, 10) if m * power * 4 >= value)
    if not percent:
        step = max(step, 1)
    return min(step * 4, 100.0) if percent else step * 4


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1f}%" if value % 1 else f"{value:.0f}%"
    return f"{value:,.0f}"


PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def _frame(
    title: str, labels: Sequence[str], series: Sequence[Series], percent: bool
) -> tuple[list[str], float]:
    """The svg element, grid lines with their values and the run labels (every k-th), and the
    axis' top value for ``series``."""
    top = _scale_top(max((v for _, vs in series for v in vs if v is not None), default=0), percent)
    plot_h = PLOT_H
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_number(top * i / 4, percent))}</text>"
        )
    step = max(1, math.ceil(len(labels) / 7))
    slot = PLOT_W / max(len(labels), 1)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            x = LEFT + slot * (i + 0.5)
            out.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    out.append(f'<text class="axis" x="{LEFT}" y="{HEIGHT - 8}">runs, oldest to newest</text>')
    return out, top


def bars(title: str, labels: Sequence[str], tips: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped bars: one group per run (``labels``, ``tips`` its tooltip name), one bar per series."""
    out, top = _frame(title, labels, series, percent=False)
    plot_h, slot = PLOT_H, PLOT_W / max(len(labels), 1)
    width = slot * 0.8 / max(len(series), 1)
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(vs):
            if value is None:
                continue
            h = max(plot_h * value / top, 1.0)
            x = LEFT + slot * i + slot * 0.1 + width * s
            out.append(
                f'<rect class="mark" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(width - 1, 1):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(tips[i])}: {escape(name)} '
                f"{escape(_number(value, False))} rows</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)


def lines(title: str, labels: Sequence[str], tips: Sequence[str], series: Sequence[Series]) -> str:
    """Lines of percentages over the runs, a point per value (``None`` leaves a gap)."""
    out, top = _frame(title, labels, series, percent=True)
    plot_h, slot = PLOT_H, PLOT_W / max(len(labels), 1)
    for s, (name, vs) in enumerate(series):
        color = PALETTE[s % len(PALETTE)]
        points = [
            (i, LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * v / top, v)
            for i, v in enumerate(vs)
            if v is not None
        ]
        runs: list[list[str]] = []
        for n, (i, x, y, _) in enumerate(points):
            if n == 0 or points[n - 1][0] != i - 1:
                runs.append([])
            runs[-1].append(f"{x:.1f},{y:.1f}")
        for path in runs:
            if len(path) > 1:
                out.append(f'<polyline class="line" fill="none" stroke="{color}" points="{" ".join(path)}"/>')
        for i, x, y, v in points:
            out.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>'
                f"{escape(tips[i])}: {escape(name)} {escape(_number(v, True))}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)
