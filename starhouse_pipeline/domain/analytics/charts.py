"""Small charts for the Dagster UI: an inline SVG bar chart as a Markdown image.

Dagster has no chart widget, but renders Markdown images, including data URIs. Drawing the
SVG by hand keeps the project free of a plotting dependency. Values are floats here because
they only set bar heights; the exact amounts are in the tables beside the chart.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from html import escape

_COLORS = ("#2f6db5", "#e07b39", "#3a9d5d", "#c23b3b", "#8a63b8", "#7a7a7a")
_WIDTH, _HEIGHT, _MARGIN = 640, 240, 40
_LABEL_WIDTH = 44  # pixels a "2025-01" label needs at font size 10


def bar_chart_markdown(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]
) -> str:
    """Stacked bars per label (positives up, negatives down) as a Markdown image."""
    svg = bar_chart_svg(title, labels, series)
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{escape(title)}](data:image/svg+xml;base64,{encoded})"


def bar_chart_svg(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    top = max([_stack(series, i, positive=True) for i in range(len(labels))] or [0]) or 1.0
    bottom = max([_stack(series, i, positive=False) for i in range(len(labels))] or [0])
    plot_height = _HEIGHT - 2 * _MARGIN
    scale = plot_height / (top + bottom)
    zero_y = _MARGIN + top * scale
    slot = (_WIDTH - 2 * _MARGIN) / max(len(labels), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'font-family="sans-serif" font-size="10">',
        f'<text x="{_MARGIN}" y="16" font-size="13">{escape(title)}</text>',
        f'<line x1="{_MARGIN}" y1="{zero_y:.1f}" x2="{_WIDTH - _MARGIN}" y2="{zero_y:.1f}" '
        'stroke="#999"/>',
    ]
    label_every = math.ceil(_LABEL_WIDTH / slot)
    for index, label in enumerate(labels):
        parts.extend(_bars(series, index, _MARGIN + index * slot, slot, zero_y, scale))
        if index % label_every == 0:
            parts.append(
                f'<text x="{_MARGIN + index * slot:.1f}" y="{_HEIGHT - 8}">{escape(label)}</text>'
            )
    parts.extend(_scale(top, bottom, zero_y))
    parts.extend(_legend(series))
    parts.append("</svg>")
    return "".join(parts)


def _stack(series: Mapping[str, Sequence[float]], index: int, *, positive: bool) -> float:
    values = (values[index] for values in series.values())
    return sum(abs(v) for v in values if (v > 0) == positive and v != 0)


def _bars(
    series: Mapping[str, Sequence[float]],
    index: int,
    x: float,
    slot: float,
    zero_y: float,
    scale: float,
) -> list[str]:
    bars, up, down = [], zero_y, zero_y
    for color, values in zip(_COLORS, series.values(), strict=False):
        height = abs(values[index]) * scale
        if values[index] > 0:
            up -= height
            y = up
        elif values[index] < 0:
            y = down
            down += height
        else:
            continue
        bars.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="{color}"/>'
        )
    return bars


def _legend(series: Mapping[str, Sequence[float]]) -> list[str]:
    """One row under the title, so long names never run into it."""
    items = []
    for position, (color, name) in enumerate(zip(_COLORS, series, strict=False)):
        x = _MARGIN + 100 * position
        items.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{color}"/>')
        items.append(f'<text x="{x + 14}" y="31">{escape(name)}</text>')
    return items


def _scale(top: float, bottom: float, zero_y: float) -> list[str]:
    """The largest values up and down, so bar heights can be read."""
    marks = [f'<text x="2" y="{_MARGIN + 4}">{_number(top)}</text>']
    marks.append(f'<text x="2" y="{zero_y + 4:.1f}">0</text>')
    if bottom:
        marks.append(f'<text x="2" y="{_HEIGHT - _MARGIN + 4}">-{_number(bottom)}</text>')
    return marks


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
