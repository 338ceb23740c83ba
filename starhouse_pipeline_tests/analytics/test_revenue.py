"""Revenue by month, pinned by the hand-built history (see history.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl

from starhouse_pipeline.domain.analytics.revenue import revenue_by_month, revenue_totals
from starhouse_pipeline.warehouse.analytics_tables import revenue_monthly
from starhouse_pipeline_tests.analytics.history import (
    BASIC,
    COURSE,
    EVENT,
    frame_of,
    history_frame,
    transaction,
)
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)

DENVER = "America/Denver"
D = Decimal

# (month, gross, refunds, net), worked out from history.py by hand:
# Jan: 1's Basic 22. Feb: 1's Basic 22 + Course 150 + 2's Annual 240 = 412.
# Mar: 1's Premium 44 + 3's Basic 22 = 66. Apr: 1's Premium 44 + 3's recovered 22 +
# 5's Course 150 = 216, refund -50. May: 1's Basic 22 + 7's event 35 = 57 (pending 35 not
# counted). Jun: 4's 22. Jul: 6's 22 refunded in full. Aug: nothing. Sep, Oct: 1's 22.
# The failed rows (3 in Apr, 4 in Jul) are never revenue.
EXPECTED_MONTHS = [
    (date(2025, 1, 1), "22.00", "0.00", "22.00"),
    (date(2025, 2, 1), "412.00", "0.00", "412.00"),
    (date(2025, 3, 1), "66.00", "0.00", "66.00"),
    (date(2025, 4, 1), "216.00", "-50.00", "166.00"),
    (date(2025, 5, 1), "57.00", "0.00", "57.00"),
    (date(2025, 6, 1), "22.00", "0.00", "22.00"),
    (date(2025, 7, 1), "22.00", "-22.00", "0.00"),
    (date(2025, 9, 1), "22.00", "0.00", "22.00"),
    (date(2025, 10, 1), "22.00", "0.00", "22.00"),
]


def _monthly(revenue: pl.DataFrame) -> list[tuple]:
    totals = revenue_totals(revenue)
    return [
        (row["month"], str(row["gross"]), str(row["refunds"]), str(row["net"]))
        for row in totals.iter_rows(named=True)
    ]


def test_revenue_by_month_gross_refunds_net() -> None:
    assert _monthly(revenue_by_month(history_frame(), DENVER)) == EXPECTED_MONTHS


def test_revenue_by_product_and_source_system() -> None:
    revenue = revenue_by_month(history_frame(), DENVER)
    april = revenue.filter(pl.col("month") == date(2025, 4, 1))
    course = april.filter(pl.col("product_id") == COURSE).row(0, named=True)
    assert (course["gross"], course["refunds"], course["net"]) == (D("150"), D("-50"), D("100"))
    assert (course["sales"], course["refund_count"], course["customers"]) == (1, 1, 1)
    by_source = revenue_totals(revenue, by=("source_system", "currency"))
    assert dict(zip(by_source["source_system"], by_source["net"], strict=True)) == {
        "kajabi": D("754.00"),
        "ticket_tailor": D("35.00"),
    }
    july_basic = revenue.filter(
        (pl.col("month") == date(2025, 7, 1)) & (pl.col("product_id") == BASIC)
    ).row(0, named=True)
    assert july_basic["net"] == D("0.00")
    assert july_basic["product_name"] == "Membership Basic (Monthly)"


def test_months_are_reporting_time_zone_months() -> None:
    # 03:00 UTC on Feb 1 is 20:00 on Jan 31 in Denver; in UTC it would be February.
    late_evening = datetime(2025, 2, 1, 3, 0, tzinfo=UTC)
    frame = frame_of(transaction(1, late_evening, "purchase", "completed", "35.00", 1, EVENT))
    assert revenue_by_month(frame, DENVER)["month"].to_list() == [date(2025, 1, 1)]
    assert revenue_by_month(frame, "UTC")["month"].to_list() == [date(2025, 2, 1)]


def test_currencies_are_never_added_together() -> None:
    frame = frame_of(
        transaction(1, "2025-03-01", "purchase", "completed", "10.00", 1, EVENT),
        transaction(2, "2025-03-02", "purchase", "completed", "10.00", 1, EVENT, currency="EUR"),
    )
    totals = revenue_totals(revenue_by_month(frame, DENVER))
    assert totals.select("currency", "net").rows() == [("EUR", D("10.00")), ("USD", D("10.00"))]


def test_revenue_asset_writes_the_table(database_url: str) -> None:
    seed_history(database_url)
    result = materialize_analytics(database_url, ["revenue_by_month"])
    assert result.success
    stored = read_table(database_url, revenue_monthly)
    assert _monthly(stored) == EXPECTED_MONTHS
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"revenue_months_add_up_to_warehouse_revenue": True}
    metadata = result.asset_materializations_for_node("revenue_by_month")[0].metadata
    assert metadata["latest_net_exact"].value == "USD 22.00"
    assert metadata["latest_month"].value == "2025-10-01"
    assert "data:image/svg+xml;base64," in metadata["chart"].value
    assert "@" not in str({key: value.value for key, value in metadata.items()})


def test_rerunning_replaces_rather_than_appends(database_url: str) -> None:
    seed_history(database_url)
    materialize_analytics(database_url, ["revenue_by_month"])
    materialize_analytics(database_url, ["revenue_by_month"])
    assert _monthly(read_table(database_url, revenue_monthly)) == EXPECTED_MONTHS
