"""Signup cohorts and realized customer value, pinned by the hand-built history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from starhouse_pipeline.domain.analytics import mrr
from starhouse_pipeline.domain.analytics.frames import MetricOptions
from starhouse_pipeline.domain.analytics.refunds import fully_refunded_charges, link_refunds
from starhouse_pipeline.domain.analytics.retention import (
    customer_value,
    retention_grid,
    signup_cohorts,
)
from starhouse_pipeline.warehouse.analytics_tables import cohorts as cohorts_table
from starhouse_pipeline.warehouse.analytics_tables import customer_value as value_table
from starhouse_pipeline_tests.analytics.history import history_frame
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)

D = Decimal
OPTIONS = MetricOptions()
DENVER = OPTIONS.reporting_timezone

# Net revenue per customer: 1: 22+22+150+44+44+22+22+22 = 348; 2: 240; 3: 22+22 = 44;
# 4: 22; 5: 150-50 = 100; 6: 22-22 = 0; 7: 35 (the pending row is not money).
EXPECTED_VALUE = {"1": "348.00", "2": "240.00", "3": "44.00", "4": "22.00", "5": "100.00",
                  "6": "0.00", "7": "35.00"}  # fmt: skip


def _cohorts() -> pl.DataFrame:
    transactions = history_frame()
    links = link_refunds(transactions, DENVER)
    charges = mrr.subscription_charges(transactions, OPTIONS, fully_refunded_charges(links))
    active = mrr.customer_mrr(charges, OPTIONS)
    return signup_cohorts(transactions, active, date(2025, 10, 1), DENVER)


def test_realized_value_per_customer() -> None:
    values = customer_value(history_frame(), DENVER)
    assert {r["contact_id"]: str(r["net_revenue"]) for r in values.iter_rows(named=True)} == (
        EXPECTED_VALUE
    )
    assert values["net_revenue"].sum() == D("789.00")  # the history's total net revenue


def test_cohort_customer_retention() -> None:
    cohorts = _cohorts()
    january = cohorts.filter(pl.col("cohort_month") == date(2025, 1, 1))
    # Customer 1: active Jan-May, gone Jun-Aug, back Sep-Oct.
    assert january["active_customers"].to_list() == [1, 1, 1, 1, 1, 0, 0, 0, 1, 1]
    assert january["months_since_signup"].to_list() == list(range(10))
    # The annual subscriber (Feb cohort) stays active every month without buying again.
    february = cohorts.filter(pl.col("cohort_month") == date(2025, 2, 1))
    assert set(february["customer_retention"].to_list()) == {1.0}
    # Customer 4 (June): active in June (bought) and July (past due, within grace).
    june = cohorts.filter(pl.col("cohort_month") == date(2025, 6, 1))
    assert june["active_customers"].to_list() == [1, 1, 0, 0, 0]


def test_cohort_revenue_retention() -> None:
    cohorts = _cohorts()
    january = cohorts.filter(pl.col("cohort_month") == date(2025, 1, 1))
    # Month 0: 22. Month 1: 22 + the 150 course = 172 -> 7.8182. Month 2: Premium 44 -> 2.0.
    assert january["revenue_retention"].to_list()[:3] == [1.0, 7.8182, 2.0]
    # The July cohort's month-0 net is 0 (fully refunded): retention is not defined.
    july = cohorts.filter(pl.col("cohort_month") == date(2025, 7, 1))
    assert july["revenue_retention"].to_list() == [None, None, None, None]


def test_cohort_mrr_retention() -> None:
    cohorts = _cohorts()
    january = cohorts.filter(pl.col("cohort_month") == date(2025, 1, 1))
    # Customer 1's MRR: 22, 22, 44, 44, 22, 0, 0, 0, 22, 22 -> retention against 22.
    assert january["mrr_retention"].to_list() == [1.0, 1.0, 2.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    # The annual subscriber's cohort keeps 100 % of its MRR although it pays once a year.
    february = cohorts.filter(pl.col("cohort_month") == date(2025, 2, 1))
    assert set(february["mrr_retention"].to_list()) == {1.0}
    # The course buyer's cohort never had MRR: retention is not defined.
    april = cohorts.filter(pl.col("cohort_month") == date(2025, 4, 1))
    assert set(april["mrr_retention"].to_list()) == {None}


def test_retention_grid_is_a_triangle() -> None:
    grid = retention_grid(_cohorts())
    assert grid.row(0, named=True)["cohort_month"] == date(2025, 7, 1)
    assert grid.filter(pl.col("cohort_month") == date(2025, 3, 1)).row(0, named=True)["2"] == 0.0


def test_cohort_and_value_assets(database_url: str) -> None:
    seed_history(database_url)
    result = materialize_analytics(database_url, ["signup_cohorts", "customer_value"])
    assert result.success
    values = read_table(database_url, value_table)
    assert {r["contact_id"]: str(r["net_revenue"]) for r in values.iter_rows(named=True)} == (
        EXPECTED_VALUE
    )
    stored = read_table(database_url, cohorts_table)
    assert stored.height == _cohorts().height
    assert stored.filter(
        (pl.col("cohort_month") == date(2025, 1, 1)) & (pl.col("months_since_signup") == 5)
    )["customer_retention"].to_list() == [0.0]
    # The grid people read: rates as percentages (every cohort keeps all of month 0).
    grid = result.asset_materializations_for_node("signup_cohorts")[0].metadata
    text = grid["customer_retention"].value
    assert "| 100.00 % |" in text
    assert "0.00 %" in text
    assert "10,000" not in text
