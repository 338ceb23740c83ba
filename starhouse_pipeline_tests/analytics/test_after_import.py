"""End to end: the bundled sample imported by the import job, then every analytics asset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.exports import read_transactions_export
from starhouse_pipeline.domain.reconciliation import revenue_by_currency
from starhouse_pipeline.domain.validation import validate_export
from starhouse_pipeline.samples.generator import SAMPLE_EXPORT_NAME, write_sample
from starhouse_pipeline.warehouse.analytics_tables import revenue_monthly
from starhouse_pipeline_tests.analytics.warehouse_support import read_table
from starhouse_pipeline_tests.support import run_import


def test_revenue_by_month_adds_up_to_the_imported_revenue(
    database_url: str, tmp_path: Path
) -> None:
    write_sample(tmp_path)
    export = tmp_path / SAMPLE_EXPORT_NAME
    # The generator writes the bundled sample's bytes: a test warehouse must ask for it.
    assert run_import(database_url, export, allow_sample_in_this_warehouse=True).success
    definitions = build_definitions(WarehouseResource(database_url=database_url))
    result = definitions.resolve_job_def("analytics_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert result.success
    errors = [
        e for e in result.get_asset_check_evaluations() if e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert errors
    assert all(e.passed for e in errors)
    valid = validate_export(read_transactions_export(export)).valid
    expected = dict(revenue_by_currency(valid).iter_rows())
    stored = read_table(database_url, revenue_monthly)
    found = dict(stored.group_by("currency").agg(pl.col("net").sum()).iter_rows())
    assert found == expected
