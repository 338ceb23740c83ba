"""The whole analytics job, as the UI's "Materialize all" in the analytics group runs it."""

from __future__ import annotations

import re

import dagster as dg

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline_tests.analytics.warehouse_support import seed_history

_PERSONAL = re.compile(r"@|customer\d@|example\.com")


def _run_job(url: str) -> dg.ExecuteInProcessResult:
    definitions = build_definitions(WarehouseResource(database_url=url))
    return definitions.resolve_job_def("analytics_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_analytics_job_materializes_every_metric_without_personal_data(database_url: str) -> None:
    seed_history(database_url)
    result = _run_job(database_url)
    assert result.success
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert {
        "revenue_by_month",
        "product_performance",
        "mrr_movements",
        "customer_value",
        "failed_payment_recovery",
        "refund_analysis",
        "signup_cohorts",
    } <= materialized
    assert all(e.passed for e in result.get_asset_check_evaluations())
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        text = " ".join(str(value.value) for value in metadata.values())
        assert not _PERSONAL.search(text), event.asset_key


def test_analytics_job_on_an_empty_warehouse(database_url: str) -> None:
    assert _run_job(database_url).success
