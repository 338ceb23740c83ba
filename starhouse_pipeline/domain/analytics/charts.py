"""The revenue charts as Vega-Lite specifications, built with Altair: one per metric and currency.

The same specification is drawn twice: as static SVG by vl-convert (a renderer bundled in its
wheel: no browser, no network) for Dagster's metadata, whose Markdown shows images but runs no
JavaScript; and live by Vega in the revenue dashboard (`dashboard.py`). The x axis of every
chart over time is the business month. Each chart names its currency and its period in its
title, and every currency present gets its own chart: amounts in two currencies are never
added or drawn on one axis.

The frames are shaped like the metric tables (`analytics_*`). Amounts become floats here
because they only place marks; the exact values are in the tables. Only aggregates reach a
chart's data: product names, months and counts, never a contact's id, name or email.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

import altair as alt
import polars as pl
import vl_convert

from starhouse_pipeline.domain.analytics.revenue import revenue_totals

# The Vega-Lite that Altair writes (e.g. v6.4.1) is the one vl-convert compiles and bundles.
VEGA_LITE_VERSION = ".".join(alt.SCHEMA_VERSION.removeprefix("v").split(".")[:2])
WIDTH = 600
TOP_PRODUCTS = 15
_MONEY_FORMAT = ",.2f"
_AXIS_MONEY_FORMAT = ",.0f"
_RATE_FORMAT = ".1%"
_MONTH_FORMAT = "%b %Y"
_CONFIG: dict[str, Any] = {
    "font": "Helvetica, Arial, sans-serif",
    "title": {"fontSize": 15, "subtitleFontSize": 12, "subtitleColor": "#555", "anchor": "start"},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
    "view": {"stroke": None},
}

# Movements up (money coming in) and down (money going out), in the order they stack.
_MRR_MOVEMENTS = {
    "new": ("new_mrr", "#2f6db5"),
    "expansion": ("expansion_mrr", "#3a9d5d"),
    "reactivation": ("reactivation_mrr", "#8a63b8"),
    "contraction": ("contraction_mrr", "#e07b39"),
    "churn": ("churned_mrr", "#c23b3b"),
}
_REVENUE_SERIES = {"gross": "#2f6db5", "refunds": "#c23b3b", "net": "#222222"}
_OUTCOMES = {"recovered": "#3a9d5d", "lost": "#c23b3b", "open": "#9a9a9a"}
# The source systems the CRM imports, as people write them, in the order they stack. A system
# not listed (a later import) is drawn after them, named as stored, in the next spare color.
_SOURCES = {"kajabi": ("Kajabi", "#2f6db5"), "paypal": ("PayPal", "#e0a030")}
_SPARE_SOURCE_COLORS = ("#3a9d5d", "#8a63b8", "#c23b3b", "#9a9a9a", "#17becf", "#8c564b")
_UNKNOWN_SOURCE = "(no source)"


@dataclass(frozen=True)
class Chart:
    """One chart: a stable name (`revenue_by_month_usd`), its title, and its specification."""

    name: str
    title: str
    subtitle: str
    currency: str | None
    spec: dict[str, Any]


def period(months: Sequence[date] | pl.Series) -> str:
    """The months a chart covers, as a person reads them: `Dec 2020 to Nov 2025`."""
    present = [month for month in months if month is not None]
    if not present:
        return "no months yet"
    first, last = min(present), max(present)
    if first == last:
        return f"{first:%b %Y}"
    return f"{first:%b %Y} to {last:%b %Y}"


def currencies(frame: pl.DataFrame) -> list[str]:
    """The currencies of a frame, the one with the most rows first (then by name)."""
    if frame.is_empty() or "currency" not in frame.columns:
        return []
    counts = frame.group_by("currency").len().sort(["len", "currency"], descending=[True, False])
    return [currency for currency in counts.get_column("currency") if currency is not None]


# -- the charts ---------------------------------------------------------------------------------


def revenue_charts(monthly: pl.DataFrame) -> list[Chart]:
    """Gross sales up, refunds down, and net as a line, per month (`revenue_totals` shape).

    A month without a completed row is a month of no revenue: drawn at 0, not skipped.
    """

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        every_month = _every_month(rows, list(_REVENUE_SERIES))
        long = _months(every_month).unpivot(
            index="month", on=list(_REVENUE_SERIES), variable_name="series", value_name="amount"
        )
        colors = _colors(_REVENUE_SERIES)
        bars = (
            alt.Chart(long.filter(pl.col("series") != "net"))
            .mark_bar()
            .encode(
                x=_month_x(),
                y=alt.Y("amount:Q", title=currency, axis=alt.Axis(format=_AXIS_MONEY_FORMAT)),
                color=alt.Color("series:N", scale=colors, title=None),
                tooltip=_month_tooltip("series:N", alt.Tooltip("amount:Q", format=_MONEY_FORMAT)),
            )
        )
        line = (
            alt.Chart(long.filter(pl.col("series") == "net"))
            .mark_line(point=True, strokeWidth=1.5)
            .encode(
                x=_month_x(centered=True),
                y="amount:Q",
                color=alt.Color("series:N", scale=colors, title=None),
                tooltip=_month_tooltip("series:N", alt.Tooltip("amount:Q", format=_MONEY_FORMAT)),
            )
        )
        return _chart(
            f"revenue_by_month_{currency}",
            f"Revenue by month, {currency}: gross, refunds and net",
            f"{period(rows['month'])} · completed transactions, in {currency}",
            currency,
            alt.layer(bars, line),
        )

    return _per_currency(monthly, build)


def revenue_by_source_charts(revenue: pl.DataFrame) -> list[Chart]:
    """Net revenue per month stacked by source system (`analytics_revenue_monthly` shape,
    rolled up here to month, currency and source system).

    Every month from the first to the last is drawn for every source present, at 0 where a
    source had no completed row, so a month's stack always has the same sources.
    """
    if revenue.is_empty():
        return []
    # A null system would never match in `_every_month`'s join: it is named instead.
    totals = revenue_totals(
        revenue.with_columns(pl.col("source_system").fill_null(_UNKNOWN_SOURCE)),
        by=("month", "currency", "source_system"),
    )

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        every_month = _every_month(rows, ["net"], keys=["source_system"])
        sources = _sources(every_month.get_column("source_system").unique().to_list())
        names = {system: name for system, (name, _) in sources.items()}
        long = _months(every_month).select(
            "month", pl.col("source_system").replace_strict(names).alias("source"), "net"
        )
        colors = dict(sources.values())
        bars = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=_month_x(),
                y=alt.Y("net:Q", title=currency, axis=alt.Axis(format=_AXIS_MONEY_FORMAT)),
                color=alt.Color("source:N", scale=_colors(colors), title=None),
                order=alt.Order("order:Q"),
                tooltip=_month_tooltip("source:N", alt.Tooltip("net:Q", format=_MONEY_FORMAT)),
            )
            .transform_calculate(order=_order_expression("source", list(colors)))
        )
        return _chart(
            f"revenue_by_source_{currency}",
            f"Net revenue by month and source, {currency}",
            f"{period(rows['month'])} · {', '.join(colors)} · completed transactions net of "
            f"refunds, in {currency}",
            currency,
            bars,
        )

    return _per_currency(totals, build)


def mrr_charts(summary: pl.DataFrame) -> list[Chart]:
    """MRR at each month's end above, and the movements that explain it below
    (`analytics_mrr_monthly` shape)."""

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        months = _months(rows)
        level = (
            alt.Chart(months.select("month", "mrr", "customers"))
            .mark_area(line={"color": "#2f6db5"}, color="#cfe0f3")
            .encode(
                x=_month_x(title=None, centered=True),
                y=alt.Y("mrr:Q", title=f"MRR ({currency})"),
                tooltip=_month_tooltip(
                    alt.Tooltip("mrr:Q", title="MRR", format=_MONEY_FORMAT),
                    alt.Tooltip("customers:Q", title="customers"),
                ),
            )
            .properties(width=WIDTH, height=150)
        )
        movements = months.unpivot(
            index="month",
            on=[column for column, _ in _MRR_MOVEMENTS.values()],
            variable_name="column",
            value_name="amount",
        ).with_columns(
            pl.col("column")
            .replace_strict({column: name for name, (column, _) in _MRR_MOVEMENTS.items()})
            .alias("movement")
        )
        bars = (
            alt.Chart(movements.filter(pl.col("amount") != 0).drop("column"))
            .mark_bar()
            .encode(
                x=_month_x(),
                y=alt.Y("amount:Q", title=f"movement ({currency})"),
                color=alt.Color(
                    "movement:N",
                    title=None,
                    scale=_colors({name: color for name, (_, color) in _MRR_MOVEMENTS.items()}),
                ),
                order=alt.Order("order:Q"),
                tooltip=_month_tooltip("movement:N", alt.Tooltip("amount:Q", format=_MONEY_FORMAT)),
            )
            .transform_calculate(order=_order_expression("movement", list(_MRR_MOVEMENTS)))
            .properties(width=WIDTH, height=170)
        )
        return _chart(
            f"mrr_movements_{currency}",
            f"MRR and its movements by month, {currency}",
            f"{period(rows['month'])} · monthly recurring revenue at each month's end, "
            f"in {currency}",
            currency,
            alt.vconcat(level, bars, spacing=8).resolve_scale(x="shared"),
            sized=False,
        )

    return _per_currency(summary, build)


def failed_payment_charts(monthly: pl.DataFrame) -> list[Chart]:
    """Failed payments per month of the first failure, by outcome
    (`analytics_failed_payments_monthly` shape)."""

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        months = _months(rows)
        outcomes = (
            months.unpivot(
                index="month", on=list(_OUTCOMES), variable_name="outcome", value_name="payments"
            )
            .join(
                months.select(
                    "month",
                    pl.col("recovered_amount").alias("recovered"),
                    pl.col("lost_amount").alias("lost"),
                ).unpivot(index="month", variable_name="outcome", value_name="amount"),
                on=["month", "outcome"],
                how="left",
            )
            .filter(pl.col("payments") > 0)
        )
        recovered, lost = int(rows["recovered"].sum()), int(rows["lost"].sum())
        lost_amount = float(rows["lost_amount"].cast(pl.Float64).sum())
        decided = recovered + lost
        share = f" ({recovered / decided:.0%})" if decided else ""
        chart = (
            alt.Chart(outcomes)
            .mark_bar()
            .encode(
                x=_month_x(),
                y=alt.Y("payments:Q", title="failed payments", axis=alt.Axis(tickMinStep=1)),
                color=alt.Color("outcome:N", scale=_colors(_OUTCOMES), title=None),
                order=alt.Order("order:Q"),
                tooltip=_month_tooltip(
                    "outcome:N",
                    alt.Tooltip("payments:Q"),
                    alt.Tooltip("amount:Q", title=f"amount ({currency})", format=_MONEY_FORMAT),
                ),
            )
            .transform_calculate(order=_order_expression("outcome", list(_OUTCOMES)))
        )
        return _chart(
            f"failed_payment_recovery_{currency}",
            f"Failed payments by month, {currency}: recovered {recovered} of {decided}{share}",
            f"{period(rows['month'])} · month of the first failed attempt · "
            f"{currency} {lost_amount:,.2f} lost",
            currency,
            chart,
        )

    return _per_currency(monthly, build)


def refund_charts(monthly: pl.DataFrame) -> list[Chart]:
    """Money refunded per product over the period, with its refund rate
    (`analytics_refunds_monthly` shape)."""

    def build(currency: str, rows: pl.DataFrame) -> Chart | None:
        per_product = (
            rows.group_by(pl.col("product_name").fill_null("(no product)"))
            .agg(
                pl.col("refunded").cast(pl.Float64).sum(),
                pl.col("gross").cast(pl.Float64).sum(),
                pl.col("refund_count").sum(),
            )
            .filter(pl.col("refund_count") > 0)
            .with_columns(
                pl.when(pl.col("gross") > 0)
                .then(pl.col("refunded") / pl.col("gross"))
                .alias("refund_rate")
            )
            .sort(["refunded", "product_name"], descending=[True, False])
        )
        if per_product.is_empty():
            return None
        shown = per_product.head(TOP_PRODUCTS)
        bars = (
            alt.Chart(shown)
            .mark_bar(color="#c23b3b")
            .encode(
                x=alt.X("refunded:Q", title=f"refunded ({currency})"),
                y=_ranked_y("product_name", shown),
                tooltip=[
                    alt.Tooltip("product_name:N", title="product"),
                    alt.Tooltip("refunded:Q", format=_MONEY_FORMAT),
                    alt.Tooltip("refund_count:Q", title="refunds"),
                    alt.Tooltip("gross:Q", title="gross sales", format=_MONEY_FORMAT),
                    alt.Tooltip("refund_rate:Q", title="refund rate", format=_RATE_FORMAT),
                ],
            )
        )
        labels = bars.mark_text(align="left", dx=4, color="#333").encode(
            text=alt.Text("refund_rate:Q", format=_RATE_FORMAT)
        )
        return _chart(
            f"refunds_by_product_{currency}",
            f"Refunds by product, {currency}",
            f"{period(rows['month'])} · {_top(shown, per_product)}; label: refunded ÷ gross sales",
            currency,
            alt.layer(bars, labels),
            sized=False,
            width=WIDTH - 120,
            height_per_row=True,
        )

    return _per_currency(monthly, build)


def product_charts(performance: pl.DataFrame, months: str) -> list[Chart]:
    """Net revenue per product over all time (`analytics_product_performance` shape)."""

    def build(currency: str, rows: pl.DataFrame) -> Chart | None:
        ranked = rows.with_columns(
            pl.col("product_name").fill_null("(no name)"),
            pl.col("net", "average_price").cast(pl.Float64),
        ).sort(["net", "product_name"], descending=[True, False])
        if ranked.is_empty():
            return None
        shown = ranked.head(TOP_PRODUCTS).select(
            "product_name", "net", "sales", "customers", "average_price", "refund_rate"
        )
        bars = (
            alt.Chart(shown)
            .mark_bar(color="#2f6db5")
            .encode(
                x=alt.X("net:Q", title=f"net revenue ({currency})"),
                y=_ranked_y("product_name", shown),
                tooltip=[
                    alt.Tooltip("product_name:N", title="product"),
                    alt.Tooltip("net:Q", title="net", format=_MONEY_FORMAT),
                    alt.Tooltip("sales:Q"),
                    alt.Tooltip("customers:Q"),
                    alt.Tooltip("average_price:Q", title="average price", format=_MONEY_FORMAT),
                    alt.Tooltip("refund_rate:Q", title="refund rate", format=_RATE_FORMAT),
                ],
            )
        )
        return _chart(
            f"top_products_{currency}",
            f"Top products by net revenue, {currency}",
            f"{months} · {_top(shown, ranked)}; net = sales − refunds",
            currency,
            bars,
            sized=False,
            width=WIDTH - 120,
            height_per_row=True,
        )

    return _per_currency(performance, build)


def product_pair_chart(pairs: pl.DataFrame, months: str) -> list[Chart]:
    """Pairs of products bought by the same customers (`analytics_product_pairs` shape).

    Customers are counted across currencies, so this one chart has no currency.
    """
    if pairs.is_empty():
        return []
    ranked = (
        pairs.select(
            pl.concat_str(
                pl.col("product_name_a").fill_null("?"),
                pl.lit(" + "),
                pl.col("product_name_b").fill_null("?"),
            ).alias("pair"),
            "customers_with_both",
            "support",
            "lift",
        )
        .sort(["customers_with_both", "lift", "pair"], descending=[True, True, False])
        .unique("pair", keep="first", maintain_order=True)
    )
    shown = ranked.head(TOP_PRODUCTS)
    bars = (
        alt.Chart(shown)
        .mark_bar(color="#8a63b8")
        .encode(
            x=alt.X(
                "customers_with_both:Q",
                title="customers who bought both",
                axis=alt.Axis(tickMinStep=1),
            ),
            y=_ranked_y("pair", shown, label_limit=360),
            tooltip=[
                alt.Tooltip("pair:N"),
                alt.Tooltip("customers_with_both:Q", title="customers"),
                alt.Tooltip("support:Q", format=_RATE_FORMAT),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
    )
    labels = bars.mark_text(align="left", dx=4, color="#333").encode(
        text=alt.Text("lift:Q", format=".1f")
    )
    return [
        _chart(
            "products_bought_together",
            "Products bought together",
            f"{months} · customers, all currencies · {_top(shown, ranked, 'pairs')}; "
            "label: lift (above 1: more often than chance)",
            None,
            alt.layer(bars, labels),
            sized=False,
            width=WIDTH - 260,
            height_per_row=True,
        )
    ]


def cohort_charts(cohorts: pl.DataFrame) -> list[Chart]:
    """Customer retention of each signup cohort as a heat map (`analytics_cohorts` shape):
    one row per cohort month, one column per month since signup."""

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        cells = rows.select(
            pl.col("cohort_month").dt.strftime("%Y-%m").alias("cohort"),
            "months_since_signup",
            "cohort_customers",
            "active_customers",
            pl.col("customer_retention").cast(pl.Float64),
        )
        cohorts_shown = cells.get_column("cohort").n_unique()
        columns = int(cells.get_column("months_since_signup").max() or 0) + 1
        step = max(6, min(24, (WIDTH - 60) // max(columns, 1)))
        heat = (
            alt.Chart(cells)
            .mark_rect()
            .encode(
                x=alt.X(
                    "months_since_signup:O",
                    title="months since signup",
                    axis=alt.Axis(labelAngle=0, values=_every(columns, step)),
                ),
                y=alt.Y("cohort:O", title="signup month", sort="descending"),
                color=alt.Color(
                    "customer_retention:Q",
                    title="active",
                    scale=alt.Scale(domain=[0, 1], range=["#f3f7fb", "#08519c"]),
                    legend=alt.Legend(format=".0%", orient="right"),
                ),
                tooltip=[
                    alt.Tooltip("cohort:O", title="signup month"),
                    alt.Tooltip("months_since_signup:O", title="months since signup"),
                    alt.Tooltip("cohort_customers:Q", title="cohort customers"),
                    alt.Tooltip("active_customers:Q", title="active customers"),
                    alt.Tooltip("customer_retention:Q", title="retention", format=_RATE_FORMAT),
                ],
            )
            .properties(width=alt.Step(step), height=alt.Step(max(12, min(step, 16))))
        )
        return _chart(
            f"signup_cohorts_{currency}",
            f"Customer retention by signup cohort, {currency}",
            f"{period(rows['cohort_month'])} cohorts ({cohorts_shown}) · share of each cohort "
            "buying or holding MRR, month by month",
            currency,
            heat,
            sized=False,
        )

    return _per_currency(cohorts, build)


def customer_value_charts(values: pl.DataFrame) -> list[Chart]:
    """How many customers have brought in how much so far (`analytics_customer_value`)."""

    def build(currency: str, rows: pl.DataFrame) -> Chart:
        amounts = rows.select(pl.col("net_revenue").cast(pl.Float64))
        chart = (
            alt.Chart(amounts)
            .mark_bar(color="#3a9d5d")
            .encode(
                x=alt.X(
                    "net_revenue:Q",
                    bin=alt.Bin(maxbins=30),
                    title=f"net revenue per customer ({currency})",
                ),
                y=alt.Y("count():Q", title="customers"),
                tooltip=[
                    alt.Tooltip("net_revenue:Q", bin=True, title=f"net ({currency})"),
                    alt.Tooltip("count():Q", title="customers"),
                ],
            )
        )
        months = pl.concat([rows["first_month"], rows["last_month"]])
        return _chart(
            f"customer_value_{currency}",
            f"Realized value per customer, {currency}",
            f"{period(months)} · {rows.height} customers · sales − refunds so far",
            currency,
            chart,
        )

    return _per_currency(values, build)


# -- drawing ------------------------------------------------------------------------------------


def chart_svg(chart: Chart) -> str:
    """The chart as a static SVG image, drawn by vl-convert's bundled renderer.

    Without the marks' ARIA labels: inside an image nothing reads them, and they would make
    the cohort heat map three times larger.
    """
    return vl_convert.vegalite_to_svg(
        chart.spec, vl_version=VEGA_LITE_VERSION, config={"mark": {"aria": False}}
    )


def charts_markdown(charts: Sequence[Chart], empty: str = "_no data yet_") -> str:
    """The charts as Markdown images (SVG data URIs), one after the other."""
    if not charts:
        return empty
    images = []
    for chart in charts:
        encoded = base64.b64encode(chart_svg(chart).encode("utf-8")).decode("ascii")
        images.append(f"![{escape(chart.title)}](data:image/svg+xml;base64,{encoded})")
    return "\n\n".join(images)


# -- shared pieces --------------------------------------------------------------------------


def _per_currency(
    frame: pl.DataFrame, build: Callable[[str, pl.DataFrame], Chart | None]
) -> list[Chart]:
    charts = (
        build(currency, frame.filter(pl.col("currency") == currency))
        for currency in currencies(frame)
    )
    return [chart for chart in charts if chart is not None]


def _chart(
    name: str,
    title: str,
    subtitle: str,
    currency: str | None,
    chart: alt.TopLevelMixin,
    *,
    sized: bool = True,
    width: int = WIDTH,
    height_per_row: bool = False,
) -> Chart:
    if sized:
        chart = chart.properties(width=width, height=260)
    elif height_per_row:
        chart = chart.properties(width=width, height=alt.Step(20))
    titled = chart.properties(title=alt.TitleParams(text=title, subtitle=subtitle))
    spec = titled.to_dict()
    spec["config"] = {**_CONFIG, **spec.get("config", {})}
    spec["background"] = "white"
    spec["padding"] = 8
    return Chart(name=name, title=title, subtitle=subtitle, currency=currency, spec=spec)


def _months(rows: pl.DataFrame) -> pl.DataFrame:
    """Month as an ISO date string (Vega reads it as UTC) and every amount as a float."""
    return rows.sort("month").with_columns(
        pl.col("month").dt.strftime("%Y-%m-%d"),
        pl.col(pl.Decimal).cast(pl.Float64),
    )


def _every_month(rows: pl.DataFrame, amounts: list[str], keys: Sequence[str] = ()) -> pl.DataFrame:
    """Every month from the first to the last row's, the months without a row at 0; with
    `keys`, every month for each of their combinations present (keys must not be null)."""
    months = rows.get_column("month")
    grid = pl.DataFrame({"month": pl.date_range(months.min(), months.max(), "1mo", eager=True)})
    if keys:
        grid = grid.join(rows.select(keys).unique(), how="cross")
    return (
        grid.join(rows.select("month", *keys, *amounts), on=["month", *keys], how="left")
        .with_columns(pl.col(amounts).fill_null(0))
        .sort("month", *keys)
    )


def _month_x(title: str | None = "month", *, centered: bool = False) -> alt.X:
    """The month axis. utcyearmonth: months are dates, not instants, so a viewer's time zone
    must not move them; `centered` puts a line's points in the middle of the month's bar."""
    return alt.X(
        "utcyearmonth(month):T",
        title=title,
        axis=alt.Axis(format=_MONTH_FORMAT, labelOverlap=True, labelAngle=0),
        **({"bandPosition": 0.5} if centered else {}),
    )


def _month_tooltip(*rest: alt.Tooltip | str) -> list[alt.Tooltip | str]:
    return [alt.Tooltip("utcyearmonth(month):T", title="month", format=_MONTH_FORMAT), *rest]


def _ranked_y(column: str, shown: pl.DataFrame, label_limit: int = 240) -> alt.Y:
    """A category axis in the frame's order (largest first), every label long enough."""
    return alt.Y(
        f"{column}:N",
        sort=shown.get_column(column).to_list(),
        title=None,
        axis=alt.Axis(labelLimit=label_limit),
    )


def _colors(colors: dict[str, str]) -> alt.Scale:
    return alt.Scale(domain=list(colors), range=list(colors.values()))


def _sources(systems: list[str]) -> dict[str, tuple[str, str]]:
    """Each stored source system's name for people and its color, in stacking order: the
    known ones in `_SOURCES` order, then the others by name."""
    known = {system: _SOURCES[system] for system in _SOURCES if system in systems}
    others = sorted(system for system in systems if system not in _SOURCES)
    spare = [_SPARE_SOURCE_COLORS[i % len(_SPARE_SOURCE_COLORS)] for i in range(len(others))]
    return known | {system: (system, color) for system, color in zip(others, spare, strict=True)}


def _order_expression(field: str, names: list[str]) -> str:
    """A Vega expression giving each value of `field` its stacking position."""
    return f"indexof({names!r}, datum.{field})"


def _top(shown: pl.DataFrame, ranked: pl.DataFrame, what: str = "products") -> str:
    if ranked.height == 1:
        return f"1 {what.removesuffix('s')}"
    if shown.height == ranked.height:
        return f"all {ranked.height} {what}"
    return f"top {shown.height} of {ranked.height} {what}"


def _every(columns: int, step: int) -> list[int]:
    """Axis labels every few columns, so narrow cells do not print over each other."""
    every = max(1, -(-24 // step))
    return list(range(0, columns, every))
