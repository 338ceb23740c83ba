"""The revenue dashboard asset, and where the latest dashboard is (`dashboard_path`)."""

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import Field

from starhouse_pipeline.defs import analytics
from starhouse_pipeline.defs.assets import WAREHOUSE_POOL
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.analytics import dashboard as page
from starhouse_pipeline.settings import DASHBOARD_FILE, DASHBOARD_PATH_ENV
from starhouse_pipeline.warehouse import analytics_tables
from starhouse_pipeline.warehouse.analytics import read_metric_table

REVENUE_DASHBOARD = dg.AssetKey("revenue_dashboard")

# The metric table behind each input of the page.
_TABLES = {
    "revenue": analytics_tables.revenue_monthly,
    "mrr": analytics_tables.mrr_monthly,
    "failed_payments": analytics_tables.failed_payments_monthly,
    "refunds": analytics_tables.refunds_monthly,
    "products": analytics_tables.product_performance,
    "pairs": analytics_tables.product_pairs,
    "cohorts": analytics_tables.cohorts,
    "customer_value": analytics_tables.customer_value,
}


def default_dashboard_path() -> Path:
    """`STARHOUSE_DASHBOARD_PATH`, else data/dashboard/revenue_dashboard.html (read at run time)."""
    return Path(os.environ.get(DASHBOARD_PATH_ENV) or DASHBOARD_FILE)


def dashboard_path(instance: dg.DagsterInstance | None = None) -> Path:
    """Where the latest revenue dashboard is: the file the last materialization recorded in
    `instance` wrote, when it is still there; otherwise the default path (which may not exist
    yet: `analytics_job` writes it)."""
    if instance is not None:
        event = instance.get_latest_materialization_event(REVENUE_DASHBOARD)
        materialization = event.asset_materialization if event else None
        recorded = materialization.metadata.get("path") if materialization else None
        if recorded is not None and Path(str(recorded.value)).exists():
            return Path(str(recorded.value))
    return default_dashboard_path()


class DashboardConfig(dg.Config):
    """Where the dashboard's HTML file goes."""

    path: str | None = Field(
        default=None,
        description=(
            "File the dashboard is written to. Default: STARHOUSE_DASHBOARD_PATH, else "
            "data/dashboard/revenue_dashboard.html in the project."
        ),
    )


@dg.asset(
    group_name=analytics.ANALYTICS_GROUP,
    deps=[
        analytics.revenue_by_month,
        analytics.mrr_movements,
        analytics.failed_payment_recovery,
        analytics.refund_analysis,
        analytics.product_performance,
        analytics.signup_cohorts,
        analytics.customer_value,
    ],
    kinds={"html"},
    pool=WAREHOUSE_POOL,
)
def revenue_dashboard(
    config: DashboardConfig,
    warehouse: WarehouseResource,
    analytics_options: analytics.AnalyticsOptions,
) -> dg.MaterializeResult:
    """The business in pictures: one HTML page, opened from the file and working offline, with
    MRR and its movements, revenue, failed-payment recovery, refunds by product, top products
    and products bought together, and signup-cohort retention; each chart per currency.

    Drawn from the `analytics_*` tables as the metric assets left them: amounts, counts,
    months and product names, no contact. `starhouse dashboard` opens it.
    """
    with warehouse.transaction(dry_run=True) as connection:
        inputs = page.DashboardInputs(
            **{name: read_metric_table(connection, table) for name, table in _TABLES.items()}
        )
    sections = page.dashboard_sections(inputs)
    timezone = analytics_options.reporting_timezone
    html = page.render_dashboard(
        sections,
        generated_at=datetime.now(ZoneInfo(timezone)),
        reporting_timezone=timezone,
    )
    path = Path(config.path) if config.path else default_dashboard_path()
    _write_atomically(path, html)
    drawn = [chart for section in sections for chart in section.charts]
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "url": dg.MetadataValue.url(path.resolve().as_uri()),
            "charts": len(drawn),
            "currencies": ", ".join(sorted({c.currency for c in drawn if c.currency})) or "none",
            "sections_without_data": ", ".join(s.heading for s in sections if not s.charts)
            or "none",
            "size_kib": round(len(html.encode("utf-8")) / 1024),
        }
    )


def _write_atomically(path: Path, text: str) -> None:
    """A browser showing the old page never reads half of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
