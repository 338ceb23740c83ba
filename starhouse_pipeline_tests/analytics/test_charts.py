"""The charts on small literal metric tables: the business months on the x axis, one chart per
currency with the currency and the period in its title, only aggregates in its data, and an
SVG (for Dagster's metadata) with a mark for every value."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from starhouse_pipeline.domain.analytics import charts
from starhouse_pipeline.domain.analytics.charts import Chart

D = Decimal
JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
_SVG = "{http://www.w3.org/2000/svg}"


def rows_of(chart: Chart) -> list[dict[str, Any]]:
    """Every row of data the chart's specification carries."""
    return [row for rows in chart.spec.get("datasets", {}).values() for row in rows]


def months_of(chart: Chart) -> list[str]:
    return sorted({row["month"][:7] for row in rows_of(chart) if "month" in row})


def marks_of(svg: str) -> int:
    """Data marks (bars, lines, points, cells) drawn, not axes, legends or titles."""
    tree = ET.fromstring(svg)
    return sum(
        1
        for group in tree.iter(f"{_SVG}g")
        if "role-mark" in (group.get("class") or "")
        for child in group
        if child.tag in (f"{_SVG}path", f"{_SVG}rect")
    )


def revenue() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [JAN, FEB, MAR, FEB],
            "currency": ["USD", "USD", "USD", "EUR"],
            # One system per month: the dashboard draws this table by source too.
            "source_system": ["kajabi"] * 4,
            "gross": [D("100.00"), D("200.00"), D("150.00"), D("40.00")],
            "refunds": [D("0.00"), D("-20.00"), D("0.00"), D("-5.00")],
            "adjustments": [D("0.00")] * 4,
            "net": [D("100.00"), D("180.00"), D("150.00"), D("35.00")],
        }
    )


def decimals(*amounts: str) -> list[Decimal]:
    return [D(amount) for amount in amounts]


def revenue_by_source() -> pl.DataFrame:
    """`analytics_revenue_monthly` rows: USD through Kajabi every month (two products in
    January) and PayPal in January and March only; EUR through Kajabi in February."""
    return pl.DataFrame(
        {
            "month": [JAN, JAN, FEB, MAR, JAN, MAR, FEB],
            "currency": ["USD"] * 6 + ["EUR"],
            "source_system": ["kajabi", "kajabi", "kajabi", "kajabi", "paypal", "paypal", "kajabi"],
            "product_id": ["p-1", "p-2", "p-1", "p-1", "p-1", "p-2", "p-1"],
            "gross": decimals("100.10", "23.45", "200.00", "150.00", "60.00", "30.33", "40.00"),
            "refunds": decimals("0.00", "0.00", "-20.00", "0.00", "-60.00", "0.00", "-5.00"),
            "adjustments": [D("0.00")] * 7,
            "net": decimals("100.10", "23.45", "180.00", "150.00", "0.00", "30.33", "35.00"),
        }
    )


def mrr() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [JAN, FEB, MAR, FEB, MAR],
            "currency": ["USD", "USD", "USD", "EUR", "EUR"],
            "mrr": [D("22.00"), D("44.00"), D("22.00"), D("10.00"), D("0.00")],
            "customers": [1, 2, 1, 1, 0],
            "new_mrr": [D("22.00"), D("22.00"), D("0.00"), D("10.00"), D("0.00")],
            "expansion_mrr": [D("0.00")] * 5,
            "reactivation_mrr": [D("0.00")] * 5,
            "contraction_mrr": [D("0.00")] * 5,
            "churned_mrr": [D("0.00"), D("0.00"), D("-22.00"), D("0.00"), D("-10.00")],
        }
    )


def failed_payments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [JAN, MAR, FEB],
            "currency": ["USD", "USD", "EUR"],
            "failed_payments": [2, 1, 1],
            "recovered": [1, 0, 0],
            "lost": [1, 0, 1],
            "open": [0, 1, 0],
            "recovered_amount": [D("22.00"), D("0.00"), D("0.00")],
            "lost_amount": [D("22.00"), D("0.00"), D("9.00")],
        }
    )


def refunds() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": [JAN, FEB, FEB, MAR],
            "currency": ["USD", "USD", "USD", "EUR"],
            "product_name": ["Course", "Course", "Membership", "Course"],
            "refund_count": [1, 1, 0, 1],
            "refunded": [D("50.00"), D("100.00"), D("0.00"), D("5.00")],
            "gross": [D("300.00"), D("300.00"), D("66.00"), D("40.00")],
        }
    )


def products() -> pl.DataFrame:
    names = [f"Product {n:02d}" for n in range(20)]
    return pl.DataFrame(
        {
            "product_name": [*names, "Kurs"],
            "currency": ["USD"] * 20 + ["EUR"],
            "net": [D(f"{1000 - 10 * n}.00") for n in range(20)] + [D("35.00")],
            "sales": [10] * 21,
            "customers": [5] * 21,
            "average_price": [D("10.00")] * 21,
            "refund_rate": [0.0] * 21,
        }
    )


def cohorts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cohort_month": [JAN, JAN, JAN, FEB, FEB, FEB],
            "currency": ["USD", "USD", "USD", "USD", "USD", "EUR"],
            "months_since_signup": [0, 1, 2, 0, 1, 0],
            "month": [JAN, FEB, MAR, FEB, MAR, FEB],
            "cohort_customers": [4, 4, 4, 2, 2, 1],
            "active_customers": [4, 2, 1, 2, 2, 1],
            "customer_retention": [1.0, 0.5, 0.25, 1.0, 1.0, 1.0],
        }
    )


def customer_values() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "contact_id": ["c-1", "c-2", "c-3"],
            "currency": ["USD", "USD", "EUR"],
            "first_month": [JAN, FEB, FEB],
            "last_month": [MAR, FEB, FEB],
            "net_revenue": [D("122.00"), D("44.00"), D("35.00")],
        }
    )


# (build, table, {currency: (months on the x axis, period in the subtitle)})
MONTHLY_CHARTS: list[tuple[str, Callable[[pl.DataFrame], list[Chart]], pl.DataFrame, dict]] = [
    (
        "revenue",
        charts.revenue_charts,
        revenue(),
        {
            "USD": (["2025-01", "2025-02", "2025-03"], "Jan 2025 to Mar 2025"),
            "EUR": (["2025-02"], "Feb 2025"),
        },
    ),
    (
        "revenue by source",
        charts.revenue_by_source_charts,
        revenue_by_source(),
        {
            "USD": (["2025-01", "2025-02", "2025-03"], "Jan 2025 to Mar 2025"),
            "EUR": (["2025-02"], "Feb 2025"),
        },
    ),
    (
        "mrr",
        charts.mrr_charts,
        mrr(),
        {
            "USD": (["2025-01", "2025-02", "2025-03"], "Jan 2025 to Mar 2025"),
            "EUR": (["2025-02", "2025-03"], "Feb 2025 to Mar 2025"),
        },
    ),
    (
        "failed payments",
        charts.failed_payment_charts,
        failed_payments(),
        {
            "USD": (["2025-01", "2025-03"], "Jan 2025 to Mar 2025"),
            "EUR": (["2025-02"], "Feb 2025"),
        },
    ),
]


@pytest.mark.parametrize(
    ("build", "table", "expected"),
    [case[1:] for case in MONTHLY_CHARTS],
    ids=[case[0] for case in MONTHLY_CHARTS],
)
def test_monthly_charts_plot_business_months_per_currency(
    build: Callable[[pl.DataFrame], list[Chart]], table: pl.DataFrame, expected: dict
) -> None:
    built = build(table)
    # The currency with the most rows first; every currency gets its chart.
    assert [chart.currency for chart in built] == list(expected)
    for chart in built:
        months, period = expected[chart.currency]
        assert chart.currency in chart.title
        assert period in chart.subtitle
        assert months_of(chart) == months
        x_axes = {(e["x"]["field"], e["x"]["timeUnit"]) for e in _encodings(chart.spec)}
        assert x_axes == {("month", "utcyearmonth")}


def test_revenue_chart_draws_gross_up_refunds_down_and_net() -> None:
    usd = charts.revenue_charts(revenue())[0]
    feb = {row["series"]: row["amount"] for row in rows_of(usd) if row["month"][:7] == "2025-02"}
    assert feb == {"gross": 200.0, "refunds": -20.0, "net": 180.0}
    svg = charts.chart_svg(usd)
    # 3 gross bars and 1 refund bar (zero refunds draw nothing visible), the net line, 3 points.
    assert marks_of(svg) >= 3 + 1 + 1 + 3
    assert "Revenue by month, USD" in "".join(ET.fromstring(svg).itertext())


def test_a_month_without_revenue_is_drawn_at_zero_not_skipped() -> None:
    gap = revenue().filter(pl.col("month") != FEB)
    usd = charts.revenue_charts(gap)[0]
    assert months_of(usd) == ["2025-01", "2025-02", "2025-03"]
    feb = {row["series"]: row["amount"] for row in rows_of(usd) if row["month"][:7] == "2025-02"}
    assert feb == {"gross": 0.0, "refunds": 0.0, "net": 0.0}


def net_by_source(chart: Chart) -> dict[tuple[str, str], float]:
    return {(row["month"][:7], row["source"]): row["net"] for row in rows_of(chart)}


def source_domain(chart: Chart) -> list[str]:
    return chart.spec["encoding"]["color"]["scale"]["domain"]


def test_net_revenue_by_source_draws_every_month_for_every_source() -> None:
    usd, eur = charts.revenue_by_source_charts(revenue_by_source())
    assert (usd.name, usd.title) == (
        "revenue_by_source_USD",
        "Net revenue by month and source, USD",
    )
    assert "Jan 2025 to Mar 2025 · Kajabi, PayPal" in usd.subtitle
    # January's two Kajabi products summed; PayPal had no row in February: drawn at 0.
    assert net_by_source(usd) == {
        ("2025-01", "Kajabi"): 123.55,
        ("2025-01", "PayPal"): 0.0,
        ("2025-02", "Kajabi"): 180.0,
        ("2025-02", "PayPal"): 0.0,
        ("2025-03", "Kajabi"): 150.0,
        ("2025-03", "PayPal"): 30.33,
    }
    assert source_domain(usd) == ["Kajabi", "PayPal"]
    # Six bars (two of them zero-height) drawn from the same spec as SVG.
    assert marks_of(charts.chart_svg(usd)) == 6
    # Amounts in two currencies are never drawn on one axis.
    assert net_by_source(eur) == {("2025-02", "Kajabi"): 35.0}


def test_a_single_source_gets_one_color_and_still_every_month() -> None:
    kajabi = revenue_by_source().filter(pl.col("source_system") == "kajabi")
    usd, eur = charts.revenue_by_source_charts(kajabi)
    assert source_domain(usd) == source_domain(eur) == ["Kajabi"]
    assert months_of(usd) == ["2025-01", "2025-02", "2025-03"]
    gap = charts.revenue_by_source_charts(kajabi.filter(pl.col("month") != FEB))[0]
    assert net_by_source(gap)[("2025-02", "Kajabi")] == 0.0
    assert marks_of(charts.chart_svg(usd)) == 3


def test_another_source_system_is_drawn_after_the_known_ones_by_its_stored_name() -> None:
    frame = revenue_by_source().with_columns(pl.col("source_system").replace({"kajabi": "stripe"}))
    usd = charts.revenue_by_source_charts(frame)[0]
    assert source_domain(usd) == ["PayPal", "stripe"]
    assert net_by_source(usd)[("2025-01", "stripe")] == 123.55


def test_mrr_chart_shows_the_level_and_signed_movements() -> None:
    eur = charts.mrr_charts(mrr())[1]
    movements = {
        (row["month"][:7], row["movement"]): row["amount"]
        for row in rows_of(eur)
        if "movement" in row
    }
    # Zero movements are left out; churn is negative.
    assert movements == {("2025-02", "new"): 10.0, ("2025-03", "churn"): -10.0}
    assert marks_of(charts.chart_svg(eur)) > 0


def test_failed_payment_title_counts_recovered_of_decided() -> None:
    usd, eur = charts.failed_payment_charts(failed_payments())
    assert usd.title == "Failed payments by month, USD: recovered 1 of 2 (50%)"
    assert "USD 22.00 lost" in usd.subtitle
    assert eur.title == "Failed payments by month, EUR: recovered 0 of 1 (0%)"
    outcomes = {(row["month"][:7], row["outcome"]): row["payments"] for row in rows_of(usd)}
    assert outcomes == {("2025-01", "recovered"): 1, ("2025-01", "lost"): 1, ("2025-03", "open"): 1}


def test_refunds_are_summed_per_product_over_the_period() -> None:
    usd, eur = charts.refund_charts(refunds())
    assert usd.title == "Refunds by product, USD"
    assert "Jan 2025 to Feb 2025" in usd.subtitle
    # Membership had no refund: not drawn. Course: 150 of 600 gross.
    assert [(r["product_name"], r["refunded"], r["refund_rate"]) for r in rows_of(usd)] == [
        ("Course", 150.0, 0.25)
    ]
    assert eur.currency == "EUR"
    assert "Mar 2025" in eur.subtitle


def test_top_products_show_fifteen_and_say_how_many_there_are() -> None:
    usd, eur = charts.product_charts(products(), "Jan 2025 to Mar 2025")
    assert usd.title == "Top products by net revenue, USD"
    assert "Jan 2025 to Mar 2025" in usd.subtitle
    assert "top 15 of 20 products" in usd.subtitle
    assert [row["product_name"] for row in rows_of(usd)][:2] == ["Product 00", "Product 01"]
    assert len(rows_of(usd)) == charts.TOP_PRODUCTS
    assert (eur.title, rows_of(eur)[0]["product_name"]) == (
        "Top products by net revenue, EUR",
        "Kurs",
    )
    assert "1 product;" in eur.subtitle


def test_products_bought_together_count_customers_without_a_currency() -> None:
    pairs = pl.DataFrame(
        {
            "product_name_a": ["Course", "Course"],
            "product_name_b": ["Membership", "Event"],
            "customers_with_both": [3, 2],
            "support": [0.3, 0.2],
            "lift": [1.5, 0.8],
        }
    )
    (chart,) = charts.product_pair_chart(pairs, "Jan 2025 to Mar 2025")
    assert chart.currency is None
    assert "all currencies" in chart.subtitle
    assert "Jan 2025 to Mar 2025" in chart.subtitle
    assert [row["pair"] for row in rows_of(chart)] == ["Course + Membership", "Course + Event"]
    assert charts.product_pair_chart(pairs.clear(), "") == []


def test_cohort_heat_map_has_a_cell_per_cohort_and_month_since_signup() -> None:
    usd, eur = charts.cohort_charts(cohorts())
    assert usd.title == "Customer retention by signup cohort, USD"
    assert "Jan 2025 to Feb 2025 cohorts (2)" in usd.subtitle
    cells = {
        (row["cohort"], row["months_since_signup"]): row["customer_retention"]
        for row in rows_of(usd)
    }
    assert cells == {
        ("2025-01", 0): 1.0,
        ("2025-01", 1): 0.5,
        ("2025-01", 2): 0.25,
        ("2025-02", 0): 1.0,
        ("2025-02", 1): 1.0,
    }
    assert marks_of(charts.chart_svg(usd)) == 5
    assert "Feb 2025 cohorts (1)" in eur.subtitle


def test_customer_value_histogram_carries_amounts_only() -> None:
    usd, eur = charts.customer_value_charts(customer_values())
    assert usd.title == "Realized value per customer, USD"
    assert "Jan 2025 to Mar 2025" in usd.subtitle
    assert "2 customers" in usd.subtitle
    assert [set(row) for row in rows_of(usd)] == [{"net_revenue"}, {"net_revenue"}]
    assert eur.currency == "EUR"


def test_no_contact_reaches_a_chart() -> None:
    built = [
        *charts.revenue_charts(revenue()),
        *charts.revenue_by_source_charts(revenue_by_source()),
        *charts.customer_value_charts(customer_values()),
        *charts.refund_charts(refunds()),
    ]
    for chart in built:
        assert not re.search(r"contact|c-\d", str(chart.spec)), chart.name


def test_empty_tables_give_no_charts() -> None:
    for build, table in [
        (charts.revenue_charts, revenue()),
        (charts.revenue_by_source_charts, revenue_by_source()),
        (charts.mrr_charts, mrr()),
        (charts.refund_charts, refunds()),
        (charts.cohort_charts, cohorts()),
    ]:
        assert build(table.clear()) == []
    assert charts.charts_markdown([]) == "_no data yet_"


def test_markdown_images_decode_to_one_svg_per_chart() -> None:
    markdown = charts.charts_markdown(charts.revenue_charts(revenue()))
    images = re.findall(r"!\[([^\]]*)\]\(data:image/svg\+xml;base64,([^)]+)\)", markdown)
    assert [title for title, _ in images] == [
        "Revenue by month, USD: gross, refunds and net",
        "Revenue by month, EUR: gross, refunds and net",
    ]
    for _, encoded in images:
        assert marks_of(base64.b64decode(encoded).decode()) > 0


@pytest.mark.parametrize(
    ("months", "expected"),
    [([], "no months yet"), ([FEB], "Feb 2025"), ([MAR, JAN, None], "Jan 2025 to Mar 2025")],
)
def test_period_names_the_first_and_last_month(months: list, expected: str) -> None:
    assert charts.period(months) == expected


def _encodings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every encoding with an x channel in a (possibly layered or concatenated) spec."""
    found = [spec["encoding"]] if "x" in spec.get("encoding", {}) else []
    for key in ("layer", "vconcat", "hconcat"):
        for part in spec.get(key, []):
            found.extend(_encodings(part))
    return found
