"""The revenue dashboard: one self-contained HTML page of the revenue charts.

The page works offline and from a file: Vega, Vega-Lite and Vega-Embed are inlined once
(vl-convert's bundle of the version Altair writes), each chart's specification carries its
own data, and nothing is fetched from anywhere. It shows the metric tables only: amounts,
counts, months and product names, never a contact.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

import polars as pl
import vl_convert

from starhouse_pipeline.domain.analytics import charts
from starhouse_pipeline.domain.analytics.charts import VEGA_LITE_VERSION, Chart
from starhouse_pipeline.domain.analytics.revenue import revenue_totals

PAGE_TITLE = "StarHouse revenue dashboard"


@dataclass(frozen=True)
class DashboardInputs:
    """The metric tables the page draws, as the warehouse holds them."""

    revenue: pl.DataFrame
    mrr: pl.DataFrame
    failed_payments: pl.DataFrame
    refunds: pl.DataFrame
    products: pl.DataFrame
    pairs: pl.DataFrame
    cohorts: pl.DataFrame
    customer_value: pl.DataFrame = field(default_factory=pl.DataFrame)


@dataclass(frozen=True)
class Section:
    """A heading, a sentence saying what is drawn, and its charts (one per currency)."""

    key: str
    heading: str
    explanation: str
    charts: list[Chart]


def dashboard_sections(inputs: DashboardInputs) -> list[Section]:
    """Every section of the page, in reading order."""
    revenue = inputs.revenue
    months = charts.period(revenue["month"]) if "month" in revenue.columns else "no months yet"
    monthly = revenue_totals(revenue) if not revenue.is_empty() else revenue
    return [
        Section(
            "mrr",
            "MRR and its movements",
            "Recurring revenue at each month's end, rebuilt from subscription charges (annual "
            "plans spread over their months), and what moved it: new, expansion and "
            "reactivation up; contraction and churn down.",
            _when(inputs.mrr, charts.mrr_charts),
        ),
        Section(
            "revenue",
            "Revenue by month",
            "Money received: gross sales of completed purchases and subscriptions, refunds in "
            "the month they were paid out, and net; then net by the system it came through "
            "(Kajabi, PayPal).",
            [
                *_when(monthly, charts.revenue_charts),
                *_when(revenue, charts.revenue_by_source_charts),
            ],
        ),
        Section(
            "failed-payments",
            "Failed-payment recovery",
            "Failed payments (a first failed attempt and its retries) by the month they "
            "failed: recovered by a later successful charge within the window, lost, or "
            "still open.",
            _when(inputs.failed_payments, charts.failed_payment_charts),
        ),
        Section(
            "refunds",
            "Refunds by product",
            "Money refunded per product over the whole period, labelled with the share of "
            "that product's gross sales.",
            _when(inputs.refunds, charts.refund_charts),
        ),
        Section(
            "products",
            "Top products and products bought together",
            "Net revenue per product, and the pairs of products the same customers bought "
            "(customers counted, not named).",
            [
                *_when(inputs.products, lambda frame: charts.product_charts(frame, months)),
                *_when(inputs.pairs, lambda frame: charts.product_pair_chart(frame, months)),
            ],
        ),
        Section(
            "cohorts",
            "Signup-cohort retention",
            "Each row is the customers whose first purchase fell in that month; each cell the "
            "share of them still buying or holding MRR that many months later.",
            _when(inputs.cohorts, charts.cohort_charts),
        ),
        Section(
            "customer-value",
            "Realized value per customer",
            "How many customers have brought in how much so far: sales minus refunds.",
            _when(inputs.customer_value, charts.customer_value_charts),
        ),
    ]


def render_dashboard(
    sections: list[Section], *, generated_at: datetime, reporting_timezone: str
) -> str:
    """The page as HTML: every chart's specification and the charting library inlined."""
    drawn = [chart for section in sections for chart in section.charts]
    currencies = sorted({chart.currency for chart in drawn if chart.currency})
    specs = {chart.name: chart.spec for chart in drawn}
    body = "\n".join(_section_html(section, currencies) for section in sections)
    contents = " · ".join(
        f'<a href="#{section.key}">{escape(section.heading)}</a>' for section in sections
    )
    about = (
        f"Generated {generated_at:%Y-%m-%d %H:%M %Z} from the warehouse's analytics tables. "
        f"Months are calendar months in {escape(reporting_timezone)}. "
        f"Currencies are never added together: "
        f"{escape(', '.join(currencies)) or 'none yet'}, each with its own charts. "
        "Definitions: docs/metrics.md."
    )
    return _PAGE.format(
        title=escape(PAGE_TITLE),
        about=about,
        contents=contents,
        body=body,
        charts=len(drawn),
        library=_javascript_bundle().replace("</script", "<\\/script"),
        # "<" as \u003c: no product name can end the script element or open a comment.
        specs=json.dumps(specs, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c"),
    )


def _when(frame: pl.DataFrame, build) -> list[Chart]:
    """The charts of a table, or none while the table is empty."""
    return [] if frame.is_empty() else build(frame)


def _section_html(section: Section, currencies: list[str]) -> str:
    """The section's charts, and a line for each currency of the page it has nothing of."""
    if section.charts:
        figures = "\n".join(
            f'<figure class="chart" id="chart-{escape(chart.name)}" '
            f'data-chart="{escape(chart.name)}" aria-label="{escape(chart.title)}">'
            f'<div class="plot"></div><figcaption>{escape(chart.title)}</figcaption></figure>'
            for chart in section.charts
        )
    else:
        figures = (
            '<p class="empty">No data yet: run <code>analytics_job</code> after an import.</p>'
        )
    drawn = {chart.currency for chart in section.charts}
    missing = [c for c in currencies if c not in drawn] if None not in drawn else []
    notes = "".join(
        f'<p class="empty">{escape(currency)}: no rows in this table, so no chart.</p>'
        for currency in missing
        if section.charts
    )
    return (
        f'<section id="{section.key}"><h2>{escape(section.heading)}</h2>'
        f"<p>{escape(section.explanation)}</p>"
        f'<div class="charts">{figures}</div>{notes}</section>'
    )


@functools.cache
def _javascript_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed in one script (built once per process: ~3 s)."""
    return vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 0 auto; padding: 16px 24px;
         max-width: 1560px; color: #222; background: #f6f7f9; }}
  header p, section > p {{ color: #555; max-width: 70em; }}
  nav a {{ color: #2f6db5; }}
  h1 {{ margin: 0.2em 0; font-size: 24px; }}
  h2 {{ margin: 1.2em 0 0.2em; font-size: 19px; }}
  .charts {{ display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }}
  figure.chart {{ margin: 0; padding: 8px; background: #fff; border: 1px solid #dde1e6;
                  border-radius: 6px; min-width: 320px; }}
  figure.chart > figcaption {{ display: none; }}
  figure.chart.failed > figcaption {{ display: block; color: #c23b3b; }}
  .empty {{ font-style: italic; }}
</style>
</head>
<body data-charts="{charts}">
<header>
<h1>{title}</h1>
<p>{about}</p>
<nav>{contents}</nav>
<noscript><p>The charts are drawn by JavaScript inlined in this file: allow it to see them.
</p></noscript>
</header>
<main>
{body}
</main>
<script>{library}</script>
<script>
const specs = {specs};
const drawing = Object.entries(specs).map(([name, spec]) => {{
  const figure = document.getElementById("chart-" + name);
  const options = {{ renderer: "svg", actions: false }};
  return vegaEmbed(figure.querySelector(".plot"), spec, options).catch((error) => {{
    figure.classList.add("failed");
    figure.querySelector("figcaption").textContent += ": " + error;
    throw error;
  }});
}});
Promise.allSettled(drawing).then((results) => {{
  document.body.dataset.drawn = results.filter((r) => r.status === "fulfilled").length;
}});
</script>
</body>
</html>
"""
