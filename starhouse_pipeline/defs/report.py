"""The import report asset: Markdown in the UI and a file under data/reports/."""

import os
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from starhouse_pipeline.defs.assets import IMPORT_GROUP, validated_columns
from starhouse_pipeline.defs.dashboard import dashboard_path
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.contacts import ContactOutcome
from starhouse_pipeline.domain.report import (
    PRODUCT_LABELS,
    REPORT_COLUMNS,
    ImportReportInputs,
    render_import_report,
    summary_sentence,
)
from starhouse_pipeline.domain.transactions import LoadOutcome
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.settings import REPORTS_DIR, REPORTS_DIR_ENV
from starhouse_pipeline.warehouse import transactions

ANALYTICS_NOTE = (
    "Revenue analytics (revenue by month, MRR and its movements, churn, customer value, "
    "failed payments, refunds, product performance, cohorts) are the assets of group "
    "`analytics`: run `analytics_job` (or `starhouse analytics`) after an import to refresh "
    "them; definitions in docs/metrics.md"
)


def dashboard_note(instance: dg.DagsterInstance) -> list[str]:
    """A line pointing at the revenue dashboard, once `analytics_job` has written one."""
    path = dashboard_path(instance)
    if not path.exists():
        return []
    return [
        f"Revenue dashboard (charts as of the last `analytics_job`): `{path}`; "
        "`starhouse dashboard` opens it"
    ]


class ReportConfig(dg.Config):
    """Where the Markdown report file goes."""

    reports_dir: str = Field(
        default="",
        description="Folder for the report file. Default: STARHOUSE_REPORTS_DIR, else "
        "data/reports/ in the project (read when the run starts).",
    )

    def resolved_dir(self) -> Path:
        return Path(self.reports_dir or os.environ.get(REPORTS_DIR_ENV) or REPORTS_DIR)


@dg.asset(group_name=IMPORT_GROUP, kinds={"markdown"}, ins=validated_columns(*REPORT_COLUMNS))
def import_report(
    context: dg.AssetExecutionContext,
    config: ReportConfig,
    validated_transactions: ValidatedExport,
    resolved_products: pl.DataFrame,
    contact_enrichments: ContactOutcome,
    loaded_transactions: LoadOutcome,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The import report: totals, date range, type and status breakdown, top products,
    products and contacts created or enriched (counts only), quarantined rows with reasons,
    and the warehouse's totals per source system before and after. No personal data."""
    with warehouse.transaction(dry_run=True) as connection:
        totals_after = transactions.totals_by_source_system(connection)
    matched_by = resolved_products.get_column("matched_by")
    validated = validated_transactions
    inputs = ImportReportInputs(
        file_name=validated.file.name,
        file_sha256=validated.file.sha256,
        run_id=context.run_id,
        dry_run=loaded_transactions.dry_run,
        valid=validated.valid,
        rows_read=validated.rows_read,
        quarantined=validated.quarantined,
        collapsed=len(validated.collapsed_lines),
        load_counts=loaded_transactions.counts,
        product_counts={kind: int((matched_by == kind).sum()) for kind in PRODUCT_LABELS},
        contact_counts=dict(contact_enrichments.counts),
        totals_before=loaded_transactions.totals_before,
        totals_after=totals_after,
        notes=[ANALYTICS_NOTE, *dashboard_note(context.instance)],
    )
    markdown = render_import_report(inputs)
    path = _write_report(
        config.resolved_dir(), context.run_id, loaded_transactions.dry_run, markdown
    )
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(markdown),
            "summary": dg.MetadataValue.text(summary_sentence(inputs)),
            "path": dg.MetadataValue.path(str(path)),
            "rows_read": validated.rows_read,
            "loaded_new": loaded_transactions.inserted,
            "updated": loaded_transactions.updated,
            "quarantined": validated.quarantined.height,
        }
    )


def _write_report(directory: Path, run_id: str, dry_run: bool, markdown: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-dry-run" if dry_run else ""
    path = directory / f"import-{run_id[:8]}{suffix}.md"
    path.write_text(markdown, encoding="utf-8")
    (directory / "latest.md").write_text(markdown, encoding="utf-8")
    return path
