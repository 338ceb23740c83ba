"""MRR, its movements, churn rates, ARPA and LTV, pinned by the hand-built history.

Default options: 14 days of past-due grace, fully refunded charges not in MRR, LTV churn
over a trailing 12 months. Each charge is active at the end of every month its paid period
(interval + grace) still covers; see history.py for who does what.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from starhouse_pipeline.domain.analytics import mrr
from starhouse_pipeline.domain.analytics.frames import MetricOptions
from starhouse_pipeline.domain.analytics.refunds import fully_refunded_charges, link_refunds
from starhouse_pipeline.warehouse.analytics_tables import customer_mrr as customer_mrr_table
from starhouse_pipeline.warehouse.analytics_tables import mrr_monthly
from starhouse_pipeline_tests.analytics.history import (
    ANNUAL,
    BASIC,
    frame_of,
    history_frame,
    transaction,
)
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)

D = Decimal
DEFAULTS = MetricOptions()


def _summary(transactions: pl.DataFrame, options: MetricOptions = DEFAULTS) -> pl.DataFrame:
    links = link_refunds(transactions, options.reporting_timezone)
    charges = mrr.subscription_charges(transactions, options, fully_refunded_charges(links))
    active = mrr.customer_mrr(charges, options)
    as_of = mrr.as_of_month(transactions, options.reporting_timezone)
    movements = mrr.mrr_movements(active, as_of)
    summary = mrr.mrr_by_month(movements, active["month"].min(), as_of)
    return mrr.with_lifetime_value(summary, options.ltv_churn_window_months)


def _movements(transactions: pl.DataFrame, options: MetricOptions = DEFAULTS) -> list[tuple]:
    links = link_refunds(transactions, options.reporting_timezone)
    charges = mrr.subscription_charges(transactions, options, fully_refunded_charges(links))
    active = mrr.customer_mrr(charges, options)
    moves = mrr.mrr_movements(active, mrr.as_of_month(transactions, options.reporting_timezone))
    return [
        (row["month"].month, row["contact_id"], row["movement"], str(row["movement_amount"]))
        for row in moves.filter(pl.col("movement") != "flat").iter_rows(named=True)
    ]


def _column(summary: pl.DataFrame, column: str) -> list:
    values = summary.get_column(column).to_list()
    return [str(v) if isinstance(v, Decimal) else v for v in values]


# Customer MRR at each month end, Jan..Oct 2025:
#   1: 22 22 44 44 22  0  0  0 22 22   (upgrade Mar, downgrade May, churn Jun, back Sep)
#   2:  0 20 20 20 20 20 20 20 20 20   (annual $240 / 12 from Feb)
#   3:  0  0 22 22  0 ...              (Apr renewal recovered Apr 12, paid to May 12 + 14d)
#   4:  0  0  0  0  0 22 22  0 ...     (Jun 20 paid to Jul 20 + 14d = Aug 3: active end Jul)
#   6: never (the only charge was refunded in full)
EXPECTED_MRR = ["22.00", "42.00", "86.00", "86.00", "42.00", "42.00", "42.00", "20.00", "42.00",
                "42.00"]  # fmt: skip
EXPECTED_MOVEMENTS = [
    (1, "1", "new", "22.00"),
    (2, "2", "new", "20.00"),
    (3, "1", "expansion", "22.00"),  # Basic 22 -> Premium 44
    (3, "3", "new", "22.00"),
    (5, "1", "contraction", "-22.00"),  # Premium 44 -> Basic 22
    (5, "3", "churn", "-22.00"),
    (6, "1", "churn", "-22.00"),
    (6, "4", "new", "22.00"),
    (8, "4", "churn", "-22.00"),
    (9, "1", "reactivation", "22.00"),
]


def test_mrr_per_month() -> None:
    summary = _summary(history_frame())
    assert summary["month"].to_list() == [date(2025, m, 1) for m in range(1, 11)]
    assert _column(summary, "mrr") == EXPECTED_MRR
    assert _column(summary, "customers") == [1, 2, 3, 3, 2, 2, 2, 1, 2, 2]


def test_movements_per_customer() -> None:
    assert _movements(history_frame()) == EXPECTED_MOVEMENTS


def test_movement_totals_add_up() -> None:
    summary = _summary(history_frame())
    assert mrr.movements_add_up(summary).is_empty()
    may = summary.row(4, named=True)
    assert (may["starting_mrr"], may["contraction_mrr"], may["churned_mrr"]) == (
        D("86.00"),
        D("-22.00"),
        D("-22.00"),
    )


def test_churn_rates() -> None:
    summary = _summary(history_frame())
    # May: 3 customers at the start (1, 2, 3), 3 churns: 1/3. Lost MRR 22 + 22 of 86.
    # Jun: 1 of 2 churns; 22 of 42. Aug: 4 churns, 1 of 2; 22 of 42.
    # Mar: no loss, expansion 22 of 42 -> net churn -22/42. Sep: reactivation 22 of 20.
    assert _column(summary, "customer_churn_rate") == [
        None, 0.0, 0.0, 0.0, 0.3333, 0.5, 0.0, 0.5, 0.0, 0.0
    ]  # fmt: skip
    assert _column(summary, "gross_mrr_churn_rate") == [
        None, 0.0, 0.0, 0.0, 0.5116, 0.5238, 0.0, 0.5238, 0.0, 0.0
    ]  # fmt: skip
    assert _column(summary, "net_mrr_churn_rate") == [
        None, 0.0, -0.5238, 0.0, 0.5116, 0.5238, 0.0, 0.5238, -1.1, 0.0
    ]  # fmt: skip


def test_arpa_and_ltv() -> None:
    summary = _summary(history_frame())
    # ARPA = MRR / customers: Mar 86/3 = 28.666.. -> 28.67; Oct 42/2 = 21.00.
    assert _column(summary, "arpa")[2] == "28.67"
    october = summary.row(-1, named=True)
    assert october["arpa"] == D("21.00")
    # Trailing 12 months to Oct: customers at risk (starting customers) 0+1+2+3+3+2+2+2+1+2
    # = 18 customer-months, 3 churned (May, Jun, Aug): churn 1/6, LTV = 21.00 x 6 = 126.00.
    assert october["ltv"] == D("126.00")
    assert october["trailing_customer_churn_rate"] == 0.1667
    # Before anyone churned, LTV is not measurable.
    assert _column(summary, "ltv")[:4] == [None, None, None, None]


def test_ltv_window_is_an_option() -> None:
    summary = _summary(history_frame(), replace(DEFAULTS, ltv_churn_window_months=3))
    # Aug-Oct: at risk 2 + 1 + 2 = 5, churned 1 (Aug): LTV = 21.00 x 5 / 1 = 105.00.
    assert summary.row(-1, named=True)["ltv"] == D("105.00")


def test_annual_plan_is_spread_over_twelve_months() -> None:
    frame = frame_of(
        transaction(1, "2024-01-10", "subscription", "completed", "242.00", 1, ANNUAL),
        transaction(2, "2025-03-01", "purchase", "completed", "1.00", 2, None),
    )
    summary = _summary(frame)
    # 242 / 12 = 20.1666.. -> 20.17 every month Jan-Dec 2024; churn recognized in Jan 2025,
    # when the paid year (plus grace) has ended without a renewal.
    assert _column(summary, "mrr")[:12] == ["20.17"] * 12
    assert _column(summary, "churned_mrr")[12] == "-20.17"
    assert _column(summary, "mrr")[12:] == ["0.00", "0.00", "0.00"]


def test_interval_comes_from_the_subscriptions_export_first() -> None:
    charges = frame_of(
        transaction(1, "2025-01-10", "subscription", "completed", "120.00", 1, BASIC),
    )
    known = pl.DataFrame({"product_id": [BASIC], "interval_months": [3]})
    intervals = mrr.plan_intervals(charges, known)
    assert intervals.row(0, named=True)["interval_months"] == 3
    assert intervals.row(0, named=True)["interval_source"] == "subscriptions_export"
    by_name = mrr.plan_intervals(
        frame_of(transaction(1, "2025-01-10", "subscription", "completed", "1.00", 1, ANNUAL))
    )
    assert by_name.row(0, named=True)["interval_source"] == "product_name"


def test_same_month_signup_and_churn_refund_setting() -> None:
    refunded = frame_of(
        transaction(1, "2025-07-03", "subscription", "completed", "22.00", 6, BASIC),
        transaction(2, "2025-07-15", "refund", "completed", "-22.00", 6, BASIC),
        transaction(3, "2025-09-01", "purchase", "completed", "1.00", 7, None),
    )
    # Default: a fully refunded charge was never paid for, so no MRR, no new, no churn.
    links = link_refunds(refunded, DEFAULTS.reporting_timezone)
    charges = mrr.subscription_charges(refunded, DEFAULTS, fully_refunded_charges(links))
    assert charges.is_empty()
    # ChartMogul's setting: refunds do not touch MRR: new in July, churn in August.
    keep = replace(DEFAULTS, refunded_signups_count_in_mrr=True)
    assert _movements(refunded, keep) == [(7, "6", "new", "22.00"), (8, "6", "churn", "-22.00")]


def test_a_refund_later_in_a_subscription_does_not_change_mrr() -> None:
    # Three monthly charges; the second is refunded in full. Not a signup taken back, so
    # MRR stays 22 throughout: no churn in February, no reactivation in March.
    frame = frame_of(
        transaction(1, "2025-01-10", "subscription", "completed", "22.00", 1, BASIC),
        transaction(2, "2025-02-10", "subscription", "completed", "22.00", 1, BASIC),
        transaction(3, "2025-02-12", "refund", "completed", "-22.00", 1, BASIC),
        transaction(4, "2025-03-10", "subscription", "completed", "22.00", 1, BASIC),
    )
    assert _movements(frame) == [(1, "1", "new", "22.00")]
    assert _column(_summary(frame), "mrr") == ["22.00", "22.00", "22.00"]


def test_refunded_charges_setting_on_the_history() -> None:
    keep = replace(DEFAULTS, refunded_signups_count_in_mrr=True)
    summary = _summary(history_frame(), keep)
    # Customer 6 adds 22 in July and churns in August with customer 4.
    assert _column(summary, "mrr")[6:8] == ["64.00", "20.00"]
    assert _column(summary, "churned_customers")[7] == 2


@pytest.mark.parametrize(
    ("grace_days", "expected"),
    [
        # Jan 28 paid to Feb 28; the renewal fails Feb 28 and is recovered Mar 3.
        # No grace: inactive at the end of Feb (churn), back in March (reactivation).
        (
            0,
            [
                (1, "1", "new", "22.00"),
                (2, "1", "churn", "-22.00"),
                (3, "1", "reactivation", "22.00"),
            ],
        ),
        # 14 days of grace cover the retry: one continuous subscriber.
        (14, [(1, "1", "new", "22.00")]),
    ],
)
def test_past_due_grace(grace_days: int, expected: list[tuple]) -> None:
    frame = frame_of(
        transaction(1, "2025-01-28", "subscription", "completed", "22.00", 1, BASIC),
        transaction(2, "2025-02-28", "subscription", "failed", "22.00", 1, BASIC),
        transaction(3, "2025-03-03", "subscription", "completed", "22.00", 1, BASIC),
        transaction(4, "2025-03-20", "purchase", "completed", "1.00", 2, None),
    )
    assert _movements(frame, replace(DEFAULTS, past_due_grace_days=grace_days)) == expected


def test_no_grace_on_the_history_moves_customer_4s_churn_to_july() -> None:
    moves = _movements(history_frame(), replace(DEFAULTS, past_due_grace_days=0))
    assert (7, "4", "churn", "-22.00") in moves
    assert (8, "4", "churn", "-22.00") not in moves


def test_month_end_is_the_reporting_time_zone_month_end() -> None:
    # 05:00 UTC on Mar 1 is still Feb 28 in Denver: a February charge there.
    late = datetime(2025, 3, 1, 5, 0, tzinfo=UTC)
    frame = frame_of(
        transaction(1, late, "subscription", "completed", "22.00", 1, BASIC),
        transaction(2, "2025-03-15", "purchase", "completed", "1.00", 2, None),
    )
    assert _movements(frame)[0] == (2, "1", "new", "22.00")


def test_mrr_asset_on_the_warehouse(database_url: str) -> None:
    seed_history(database_url)
    result = materialize_analytics(database_url, ["mrr_movements"])
    assert result.success
    stored = read_table(database_url, mrr_monthly).sort("month")
    assert [str(v) for v in stored["mrr"]] == EXPECTED_MRR
    assert stored.row(-1, named=True)["ltv"] == D("126.00")
    per_customer = read_table(database_url, customer_mrr_table)
    assert per_customer.filter(pl.col("movement") != "flat").height == len(EXPECTED_MOVEMENTS)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"mrr_movements_explain_every_change": True}
    metadata = result.asset_materializations_for_node("mrr_movements")[0].metadata
    assert metadata["latest_mrr_exact"].value == "USD 42.00"
    assert metadata["latest_customer_churn_rate"].value == 0.0
