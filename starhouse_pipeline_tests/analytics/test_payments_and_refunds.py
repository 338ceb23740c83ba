"""Failed-payment recovery and refunds, pinned by the hand-built history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from starhouse_pipeline.domain.analytics.payments import (
    failed_payments,
    failed_payments_by_month,
    recovery_rate,
)
from starhouse_pipeline.domain.analytics.refunds import (
    fully_refunded_charges,
    link_refunds,
    refunds_by_month,
)
from starhouse_pipeline.warehouse.analytics_tables import (
    failed_payments_monthly,
    refund_links,
    refunds_monthly,
)
from starhouse_pipeline_tests.analytics.history import (
    BASIC,
    COURSE,
    frame_of,
    history_frame,
    noon_utc,
    transaction,
)
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)

D = Decimal
DENVER = "America/Denver"
AS_OF = noon_utc("2025-10-10")


def _outcomes(window_days: int) -> list[tuple]:
    payments = failed_payments(history_frame(), window_days, AS_OF, DENVER)
    return [
        (
            row["contact_id"],
            row["failed_attempts"],
            row["outcome"],
            row["recovered_transaction_id"],
            row["days_to_recovery"],
        )
        for row in payments.iter_rows(named=True)
    ]


def test_failed_payment_recovered_after_two_retries_and_one_lost() -> None:
    # Customer 3: failed Apr 5 and Apr 8 (one payment, two attempts), paid Apr 12 (row 13):
    # recovered after 7 days. Customer 4: failed Jul 20, nothing after: the 30 days ended
    # Aug 19, before the as-of date, so lost.
    assert _outcomes(30) == [("3", 2, "recovered", "13", 7.0), ("4", 1, "lost", None, None)]


def test_recovery_window_is_an_option() -> None:
    # With 5 days, the Apr 12 payment comes too late: both are lost.
    assert _outcomes(5) == [("3", 2, "lost", None, None), ("4", 1, "lost", None, None)]


def test_a_failure_whose_window_is_still_running_is_open() -> None:
    payments = failed_payments(history_frame(), 30, noon_utc("2025-08-01"), DENVER)
    assert payments["outcome"].to_list() == ["recovered", "open"]


def test_failed_payments_by_month() -> None:
    monthly = failed_payments_by_month(failed_payments(history_frame(), 30, AS_OF, DENVER))
    april, july = monthly.rows(named=True)
    assert april["month"] == date(2025, 4, 1)
    assert (april["failed_payments"], april["failed_attempts"], april["recovered"]) == (1, 2, 1)
    assert (april["recovery_rate"], april["recovered_amount"]) == (1.0, D("22.00"))
    assert april["median_days_to_recovery"] == 7.0
    assert (july["lost"], july["lost_amount"], july["recovery_rate"]) == (1, D("22.00"), 0.0)


def test_a_success_of_another_offer_does_not_recover() -> None:
    frame = frame_of(
        transaction(1, "2025-01-05", "subscription", "failed", "22.00", 1, BASIC),
        transaction(2, "2025-01-06", "purchase", "completed", "150.00", 1, COURSE),
    )
    payments = failed_payments(frame, 30, noon_utc("2025-06-01"), DENVER)
    assert payments["outcome"].to_list() == ["lost"]


def test_refunds_link_to_the_charge_they_reverse() -> None:
    links = link_refunds(history_frame(), DENVER)
    found = [
        (r["refund_transaction_id"], r["charge_transaction_id"], r["link"], r["days_after_charge"])
        for r in links.iter_rows(named=True)
    ]
    # Row 17 (-50) partially reverses customer 5's course (row 16, 18 days earlier);
    # row 19 (-22) fully reverses customer 6's membership (row 18, 12 days earlier).
    assert found == [("17", "16", "partial", 18.0), ("19", "18", "full", 12.0)]
    assert fully_refunded_charges(links).to_list() == ["18"]


def test_exact_amount_wins_over_a_later_larger_charge() -> None:
    frame = frame_of(
        transaction(1, "2025-01-05", "purchase", "completed", "50.00", 1, COURSE),
        transaction(2, "2025-01-06", "purchase", "completed", "150.00", 1, COURSE),
        transaction(3, "2025-01-07", "refund", "completed", "-50.00", 1, COURSE),
        transaction(4, "2025-01-08", "refund", "completed", "-500.00", 1, COURSE),
    )
    links = link_refunds(frame, DENVER)
    assert links["charge_transaction_id"].to_list() == ["1", None]
    assert links["link"].to_list() == ["full", "unlinked"]


def test_refund_rates_per_product_and_month() -> None:
    monthly = refunds_by_month(history_frame(), link_refunds(history_frame(), DENVER), DENVER)
    rates = {
        (r["month"].month, r["product_id"]): (r["refunded"], r["gross"], r["refund_rate"])
        for r in monthly.iter_rows(named=True)
        if r["refund_count"]
    }
    # April course: 50 of 150 sold that month; July basic: 22 of 22.
    assert rates == {
        (4, COURSE): (D("50.00"), D("150.00"), 0.3333),
        (7, BASIC): (D("22.00"), D("22.00"), 1.0),
    }


@pytest.mark.parametrize("window_days", [30, 5])
def test_failed_payment_and_refund_assets(database_url: str, window_days: int) -> None:
    seed_history(database_url)
    result = materialize_analytics(
        database_url,
        ["failed_payment_recovery", "refund_analysis"],
        recovery_window_days=window_days,
    )
    assert result.success
    monthly = read_table(database_url, failed_payments_monthly).sort("month")
    assert monthly["recovered"].to_list() == ([1, 0] if window_days == 30 else [0, 0])
    assert monthly["lost_amount"].to_list() == (
        [D("0.00"), D("22.00")] if window_days == 30 else [D("22.00"), D("22.00")]
    )
    assert read_table(database_url, refund_links).sort("refund_transaction_id")[
        "link"
    ].to_list() == ["partial", "full"]
    assert read_table(database_url, refunds_monthly)["refunded"].sum() == D("72.00")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"refunds_link_to_a_charge": True}


def test_the_recovery_rate_counts_decided_payments_only():
    assert recovery_rate({"recovered": 1, "lost": 2, "open": 5}) == 0.3333
    assert recovery_rate({"recovered": 0, "lost": 0, "open": 3}) is None
