"""The whole analytics job, as the UI's "Materialize all" in the analytics group runs it."""

from __future__ import annotations

import os
import re

import dagster as dg
import pytest

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.analytics import ANALYTICS_GROUP as ANALYTICS
from starhouse_pipeline.defs.exports import EXPORTS_GROUP as EXPORTS
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.run import run_job
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


def test_no_analytics_asset_needs_an_export_import_to_have_run() -> None:
    """*Materialize all* in the analytics group never asks for the Subscriptions import."""
    graph = build_definitions().resolve_asset_graph()
    exports = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == EXPORTS}
    for key in graph.get_all_asset_keys():
        if graph.get(key).group_name == ANALYTICS:
            assert not graph.get_ancestor_asset_keys(key) & exports, key.to_user_string()


def test_analytics_run_in_one_process_and_skip_the_export_cross_check_until_there_is_one(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_history(sqlite_url)
    monkeypatch.setenv("STARHOUSE_DATABASE_URL", sqlite_url)
    with dg.instance_for_test() as instance:
        outcome = run_job("analytics_job", instance=instance)
        step_pids = {
            entry.dagster_event.pid
            for entry in instance.all_logs(outcome.run_id)
            if entry.dagster_event is not None
            and entry.dagster_event.step_key
            and entry.dagster_event.pid is not None
        }
    assert outcome.succeeded, outcome.problems
    assert step_pids == {os.getpid()}  # every step in this process: no process per step
    (check,) = [c for c in outcome.checks if c.name == "mrr_agrees_with_subscriptions_export"]
    assert check.passed
    assert check.metadata["skipped"] is True
    assert check.description.startswith("Skipped: no Kajabi Subscriptions export has been imported")
    reconciliation = outcome.materializations["mrr_export_reconciliation"]
    assert reconciliation["summary"] == check.description
    assert reconciliation["subscriptions_export"] == "none imported"
    assert "customers_differing" not in reconciliation
    assert "export_mrr" not in reconciliation
