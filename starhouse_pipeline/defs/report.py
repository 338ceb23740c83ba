"""The import report of every transactions import: Markdown in the UI and a file under
data/reports/."""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from starhouse_pipeline.defs.assets import IMPORT_GROUP, validated_scan
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


@dataclass(frozen=True)
class ReportSource:
    """The assets an import report reads, and how it names its products' matches."""

    title: str
    source_name: str
    product_key: str
    validated: str
    products: str
    contacts: str
    load: str
    product_labels: dict[str, tuple[str, str]]
    # Extra lines for the top of the report, from what the load did.
    notes: Callable[[LoadOutcome], list[str]] = lambda _load: []


def import_report_asset(
    name: str, group: str, source: ReportSource, deps: Sequence = ()
) -> dg.AssetsDefinition:
    """The report of one transactions import (Kajabi's, PayPal's): the same sections for
    every source."""

    @dg.asset(
        name=name,
        group_name=group,
        kinds={"markdown"},
        deps=list(deps),
        ins={
            # Summed over scans: a few columns of the rows, never all of them at once.
            "validated": validated_scan(source.validated),
            "products": dg.AssetIn(source.products),
            "contacts": dg.AssetIn(source.contacts),
            "load": dg.AssetIn(source.load),
        },
        description=f"""The {source.title.lower()}: totals, date range, type and status
        breakdown, top products, products and contacts matched, created or enriched (counts
        only), rows skipped and quarantined with reasons, and the warehouse's totals per source
        system before and after. No personal data.""",
    )
    def import_report(
        context: dg.AssetExecutionContext,
        config: ReportConfig,
        validated: ValidatedExport,
        products: pl.DataFrame,
        contacts: ContactOutcome,
        load: LoadOutcome,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        with warehouse.transaction(dry_run=True) as connection:
            totals_after = transactions.totals_by_source_system(connection)
        inputs = ImportReportInputs(
            file_name=validated.file.name,
            file_sha256=validated.file.sha256,
            run_id=context.run_id,
            dry_run=load.dry_run,
            valid=validated.valid_or_unchanged(REPORT_COLUMNS),
            rows_read=validated.rows_read,
            quarantined=validated.quarantined,
            collapsed=len(validated.collapsed_lines),
            load_counts=load.counts,
            product_counts=_match_counts(products, source.product_labels),
            contact_counts=dict(contacts.counts),
            totals_before=load.totals_before,
            totals_after=totals_after,
            notes=[*source.notes(load), ANALYTICS_NOTE, *dashboard_note(context.instance)],
            title=source.title,
            source_name=source.source_name,
            product_key=source.product_key,
            product_labels=source.product_labels,
            skipped=validated.skipped,
        )
        markdown = render_import_report(inputs)
        path = _write_report(config.resolved_dir(), context.run_id, load.dry_run, markdown)
        return dg.MaterializeResult(
            metadata={
                "report": dg.MetadataValue.md(markdown),
                "summary": dg.MetadataValue.text(summary_sentence(inputs)),
                "path": dg.MetadataValue.path(str(path)),
                "rows_read": validated.rows_read,
                "loaded_new": load.inserted,
                "updated": load.updated,
                "quarantined": validated.quarantined.height,
            }
        )

    return import_report


def _match_counts(products: pl.DataFrame, labels: dict[str, tuple[str, str]]) -> dict[str, int]:
    """How many of the export's products were found each way (`matched_by`); a null match
    counts as `unmapped`."""
    matched_by = products.get_column("matched_by").fill_null("unmapped")
    return {kind: int((matched_by == kind).sum()) for kind in labels}


import_report = import_report_asset(
    "import_report",
    IMPORT_GROUP,
    ReportSource(
        title="Kajabi import report",
        source_name="Kajabi",
        product_key="offer_id",
        validated="validated_transactions",
        products="resolved_products",
        contacts="contact_enrichments",
        load="loaded_transactions",
        product_labels=PRODUCT_LABELS,
    ),
)


def _write_report(directory: Path, run_id: str, dry_run: bool, markdown: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-dry-run" if dry_run else ""
    path = directory / f"import-{run_id[:8]}{suffix}.md"
    path.write_text(markdown, encoding="utf-8")
    (directory / "latest.md").write_text(markdown, encoding="utf-8")
    return path
