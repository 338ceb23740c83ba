"""Cross-checking the charge timeline's MRR with what the Subscriptions export says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import dagster as dg
import polars as pl

from starhouse_pipeline.domain.analytics.mrr import reconcile_with_export
from starhouse_pipeline.domain.subscriptions import export_mrr
from starhouse_pipeline.warehouse.analytics_tables import mrr_reconciliation
from starhouse_pipeline.warehouse.subscription_tables import subscriptions
from starhouse_pipeline_tests.analytics.history import ANNUAL, BASIC
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)
from starhouse_pipeline_tests.support import insert_rows

D = Decimal
OCTOBER = date(2025, 10, 1)


def _export(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "contact_id": pl.String,
            "currency": pl.String,
            "amount": pl.Decimal(12, 2),
            "interval_months": pl.Int64,
            "status": pl.String,
        },
        orient="row",
    )


def test_export_mrr_counts_paying_subscriptions_monthly() -> None:
    export = _export(
        [
            ("1", "USD", D("22.00"), 1, "active"),
            ("2", "USD", D("242.00"), 12, "pending_cancellation"),  # still paying: 20.17
            ("3", "USD", D("22.00"), 1, "canceled"),
            ("4", "USD", D("22.00"), 1, "trial"),  # trials are not revenue yet
        ]
    )
    assert export_mrr(export).sort("contact_id").rows() == [
        ("1", "USD", D("22.00")),
        ("2", "USD", D("20.17")),
    ]


def test_differences_and_their_causes() -> None:
    timeline = pl.DataFrame(
        {
            "contact_id": ["1", "2", "3"],
            "currency": ["USD"] * 3,
            "month": [OCTOBER] * 3,
            "mrr": [D("22.00"), D("20.00"), D("44.00")],
        },
        schema_overrides={"mrr": pl.Decimal(38, 2)},
    )
    export = pl.DataFrame(
        {
            "contact_id": ["1", "3", "4", None],
            "currency": ["USD"] * 4,
            "export_mrr": [D("22.00"), D("39.60"), D("22.00"), D("11.00")],
        },
        schema_overrides={"export_mrr": pl.Decimal(38, 2), "contact_id": pl.String},
    )
    found = reconcile_with_export(timeline, export, OCTOBER)
    assert found.select("contact_id", "difference", "cause").rows() == [
        ("3", D("4.40"), "amounts differ (coupon, price change, or interval)"),
        (
            "2",
            D("20.00"),
            "charged in the timeline, not paying in the export (canceled/paused/trial)",
        ),
        (None, D("-11.00"), "export subscription not linked to a contact"),
        ("4", D("-22.00"), "paying in the export, no subscription charge covers the month"),
    ]


def test_reconciliation_asset(database_url: str) -> None:
    seed_history(database_url)
    # The export agrees about customer 1 (Basic) and 2 (Annual, 240/12 = 20.00) and also
    # lists customer 3 as active, whom the charges show as churned in May.
    insert_rows(
        database_url,
        subscriptions,
        [
            _subscription(1, "1", BASIC, "22.00", 1),
            _subscription(2, "2", ANNUAL, "240.00", 12),
            _subscription(3, "3", BASIC, "22.00", 1),
        ],
    )
    result = materialize_analytics(database_url, ["mrr_export_reconciliation"])
    assert result.success
    stored = read_table(database_url, mrr_reconciliation)
    assert stored.select("contact_id", "timeline_mrr", "export_mrr").rows() == [
        ("3", D("0.00"), D("22.00"))
    ]
    metadata = result.asset_materializations_for_node("mrr_export_reconciliation")[0].metadata
    assert metadata["timeline_mrr"].value == "USD 42.00"
    assert metadata["export_mrr"].value == "USD 64.00"
    assert metadata["customers_differing"].value == 1
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "mrr_agrees_with_subscriptions_export"
    assert (check.passed, check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert check.description.endswith("customers differing: 1")


def _subscription(row_id: int, contact: str, product: str, amount: str, months: int) -> dict:
    return {
        "id": row_id,
        "source_system": "kajabi",
        "external_subscription_id": str(500 + row_id),
        "contact_id": contact,
        "product_id": product,
        "amount": D(amount),
        "currency": "USD",
        "billing_interval": "year" if months == 12 else "month",
        "interval_months": months,
        "status": "active",
    }
