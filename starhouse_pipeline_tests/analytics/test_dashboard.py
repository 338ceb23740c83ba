"""The revenue dashboard: a page that works offline, shows every currency and no contact;
written by `analytics_job` where its config says, and pointed at by the import report."""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.dashboard import dashboard_path, default_dashboard_path
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.analytics.dashboard import (
    DashboardInputs,
    dashboard_sections,
    render_dashboard,
)
from starhouse_pipeline.settings import DASHBOARD_PATH_ENV, SAMPLE_EXPORT
from starhouse_pipeline_tests.analytics import test_charts as tables
from starhouse_pipeline_tests.support import materialization_metadata, run_import

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# A script or stylesheet fetched from elsewhere: <script src=...>, <link href=...>, url(...).
FETCHED = re.compile(
    r"<script\b[^>]*\bsrc\s*=|<link\b[^>]*\bhref\s*=|@import|url\(\s*['\"]?(https?:)?//", re.I
)
METRIC_ASSETS = (
    "revenue_by_month",
    "mrr_movements",
    "failed_payment_recovery",
    "refund_analysis",
    "product_performance",
    "signup_cohorts",
    "customer_value",
)


def inputs(**overrides: pl.DataFrame) -> DashboardInputs:
    pairs = pl.DataFrame(
        {
            "product_name_a": ["Course"],
            "product_name_b": ["Membership"],
            "customers_with_both": [2],
            "support": [0.5],
            "lift": [1.2],
        }
    )
    frames = {
        "revenue": tables.revenue(),
        "mrr": tables.mrr(),
        "failed_payments": tables.failed_payments(),
        "refunds": tables.refunds(),
        "products": tables.products(),
        "pairs": pairs,
        "cohorts": tables.cohorts(),
        "customer_value": tables.customer_values(),
    }
    return DashboardInputs(**(frames | overrides))


def page(data: DashboardInputs) -> str:
    return render_dashboard(
        dashboard_sections(data),
        generated_at=datetime(2025, 4, 1, 12, tzinfo=UTC),
        reporting_timezone="America/Denver",
    )


def outside_scripts(html: str) -> str:
    """The page without its two script elements (the charting library and the specs)."""
    return re.sub(r"<script>.*?</script>", "", html, flags=re.S)


def test_the_page_carries_its_library_once_and_fetches_nothing() -> None:
    html = page(inputs())
    assert not FETCHED.search(html)
    assert html.count("<script>") == 2
    assert "vegaEmbed" in html
    figures = re.findall(r'<figure class="chart" id="chart-([\w-]+)"', html)
    assert figures == [
        "mrr_movements_USD",
        "mrr_movements_EUR",
        "revenue_by_month_USD",
        "revenue_by_month_EUR",
        "revenue_by_source_USD",
        "revenue_by_source_EUR",
        "failed_payment_recovery_USD",
        "failed_payment_recovery_EUR",
        "refunds_by_product_USD",
        "refunds_by_product_EUR",
        "top_products_USD",
        "top_products_EUR",
        "products_bought_together",
        "signup_cohorts_USD",
        "signup_cohorts_EUR",
        "customer_value_USD",
        "customer_value_EUR",
    ]
    assert f'data-charts="{len(figures)}"' in html
    assert "Currencies are never added together: EUR, USD" in html


def test_a_product_name_cannot_end_the_script() -> None:
    hostile = "</script><script>alert(1)</script><!--"
    products = tables.products().with_columns(pl.lit(hostile).alias("product_name"))
    html = page(inputs(products=products))
    assert "alert(1)" in html
    assert "<script>alert(1)" not in html
    assert html.count("<script>") == 2
    assert "<!--" not in html


def test_a_currency_without_rows_in_a_table_is_said_not_dropped() -> None:
    html = outside_scripts(page(inputs(mrr=tables.mrr().filter(pl.col("currency") == "USD"))))
    mrr_section = html.split('<section id="mrr">', 1)[1].split("</section>", 1)[0]
    assert "EUR: no rows in this table, so no chart." in mrr_section


def test_an_empty_warehouse_gives_a_page_that_says_so() -> None:
    empty = pl.DataFrame()
    html = page(DashboardInputs(empty, empty, empty, empty, empty, empty, empty, empty))
    assert 'data-charts="0"' in html
    assert outside_scripts(html).count("No data yet") == 7


def test_the_default_path_is_read_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DASHBOARD_PATH_ENV, str(tmp_path / "elsewhere.html"))
    assert default_dashboard_path() == tmp_path / "elsewhere.html"
    assert dashboard_path(dg.DagsterInstance.ephemeral()) == tmp_path / "elsewhere.html"
    monkeypatch.delenv(DASHBOARD_PATH_ENV)
    assert default_dashboard_path().parts[-3:] == ("data", "dashboard", "revenue_dashboard.html")


def sample_people() -> set[str]:
    """Every email and name in the bundled sample export."""
    with SAMPLE_EXPORT.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    people = {row["Customer Email"].strip().lower() for row in rows}
    people |= {row["Customer Name"].strip().lower() for row in rows}
    return {value for value in people if value}


def test_analytics_job_writes_the_dashboard_after_the_sample_import(
    sqlite_url: str, tmp_path: Path
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    first = run_import(
        sqlite_url,
        SAMPLE_EXPORT,
        instance=instance,
        reports_dir=tmp_path,
        allow_sample_in_this_warehouse=True,
    )
    assert first.success
    assert "Revenue dashboard" not in materialization_metadata(first, "import_report")["report"]

    target = tmp_path / "out" / "revenue_dashboard.html"
    definitions = build_definitions(WarehouseResource(database_url=sqlite_url))
    result = definitions.resolve_job_def("analytics_job").execute_in_process(
        run_config={"ops": {"revenue_dashboard": {"config": {"path": str(target)}}}},
        instance=instance,
        raise_on_error=False,
    )
    assert result.success

    metadata = materialization_metadata(result, "revenue_dashboard")
    assert (metadata["path"], metadata["url"]) == (str(target), target.as_uri())
    assert metadata["currencies"] == "EUR, USD"
    assert metadata["sections_without_data"] == "none"
    html = target.read_text(encoding="utf-8")
    assert not FETCHED.search(html)
    lowered = html.lower()
    assert not [person for person in sample_people() if person in lowered]
    assert not EMAIL.search(outside_scripts(html))
    titles = re.findall(r'aria-label="([^"]+)"', html)
    for heading in (
        "Revenue by month",
        "Failed payments by month",
        "Refunds by product",
        "Top products by net revenue",
        "Customer retention by signup cohort",
    ):
        assert {t.split(",")[1].split(":")[0].strip() for t in titles if t.startswith(heading)} == {
            "USD",
            "EUR",
        }, heading
    assert "MRR and its movements by month, USD" in titles
    assert dashboard_path(instance) == target

    # Every metric asset has its charts in metadata, over business months, per currency.
    for asset in METRIC_ASSETS:
        chart = materialization_metadata(result, asset)["chart"]
        assert "data:image/svg+xml;base64," in chart, asset
    revenue = materialization_metadata(result, "revenue_by_month")
    assert revenue["chart"].count("data:image/svg+xml") == 2
    assert revenue["chart_by_source"].count("data:image/svg+xml") == 2
    assert "Net revenue by month and source, EUR" in titles
    assert revenue["by_month"].startswith("_last 24 of 60 months, every currency")

    again = run_import(
        sqlite_url,
        SAMPLE_EXPORT,
        instance=instance,
        reports_dir=tmp_path,
        allow_sample_in_this_warehouse=True,
    )
    report = materialization_metadata(again, "import_report")["report"]
    assert f"Revenue dashboard (charts as of the last `analytics_job`): `{target}`" in report
