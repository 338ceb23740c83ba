"""The inline SVG chart: well-formed, one bar per non-zero value, embedded as a data URI."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from starhouse_pipeline.domain.analytics.charts import bar_chart_markdown, bar_chart_svg

_SVG = "{http://www.w3.org/2000/svg}"


def test_bars_stack_up_and_down() -> None:
    svg = ET.fromstring(
        bar_chart_svg(
            "MRR <movements>",
            ["2025-01", "2025-02"],
            {"new": [22.0, 0.0], "churn": [0.0, -22.0], "expansion": [11.0, 0.0]},
        )
    )
    bars = [r for r in svg.iter(f"{_SVG}rect") if float(r.get("y", 0)) >= 40]
    assert len(bars) == 3  # zero values draw nothing
    heights = sorted(round(float(r.get("height"))) for r in bars)
    assert heights[0] * 2 == heights[1] == heights[2]  # 11 is half of 22
    assert "MRR <movements>" in "".join(svg.itertext())  # escaped, then parsed back


def test_markdown_image_decodes_to_the_svg() -> None:
    markdown = bar_chart_markdown("Revenue", ["2025-01"], {"gross": [1.0]})
    encoded = markdown.split("base64,", 1)[1].rstrip(")")
    assert base64.b64decode(encoded).decode().startswith("<svg")


def test_an_empty_chart_is_still_valid() -> None:
    ET.fromstring(bar_chart_svg("Nothing yet", [], {"gross": []}))
