"""Product performance and product pairs, pinned by the hand-built history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from starhouse_pipeline.domain.analytics.products import product_pairs, product_performance
from starhouse_pipeline.warehouse.analytics_tables import product_pairs as pairs_table
from starhouse_pipeline.warehouse.analytics_tables import (
    product_performance as performance_table,
)
from starhouse_pipeline_tests.analytics.history import (
    ANNUAL,
    BASIC,
    COURSE,
    EVENT,
    PREMIUM,
    history_frame,
)
from starhouse_pipeline_tests.analytics.warehouse_support import (
    materialize_analytics,
    read_table,
    seed_history,
)

D = Decimal

# product: (gross, refunded, net, sales, customers, average price, refund rate)
# Basic: 1 x5 (Jan, Feb, May, Sep, Oct), 3 x2, 4 x1, 6 x1 = 9 sales of 22 = 198; 6's 22 refunded:
#   22/198 = 0.1111. Course: 1 and 5 at 150 = 300, 5's 50 refunded: 50/300 = 0.1667.
# Event: the pending row does not count.
EXPECTED = {
    COURSE: ("300.00", "50.00", "250.00", 2, 2, "150.00", 0.1667),
    ANNUAL: ("240.00", "0.00", "240.00", 1, 1, "240.00", 0.0),
    BASIC: ("198.00", "22.00", "176.00", 9, 4, "22.00", 0.1111),
    PREMIUM: ("88.00", "0.00", "88.00", 2, 1, "44.00", 0.0),
    EVENT: ("35.00", "0.00", "35.00", 1, 1, "35.00", 0.0),
}
_COLUMNS = ("gross", "refunded", "net", "sales", "customers", "average_price", "refund_rate")


def _as_expected(performance) -> dict:
    return {
        row["product_id"]: tuple(
            str(row[c]) if isinstance(row[c], Decimal) else row[c] for c in _COLUMNS
        )
        for row in performance.iter_rows(named=True)
    }


def test_product_performance() -> None:
    performance = product_performance(history_frame())
    assert _as_expected(performance) == EXPECTED
    assert performance["product_id"].to_list() == [COURSE, ANNUAL, BASIC, PREMIUM, EVENT]


def test_product_pairs_support_and_lift() -> None:
    # Buyers: 1 {Basic, Premium, Course}, 2 {Annual}, 3 {Basic}, 4 {Basic}, 5 {Course},
    # 6 {Basic}, 7 {Event}: 7 customers. Basic has 4 buyers, Course 2, Premium 1.
    # Each pair below is customer 1 alone: support 1/7 = 0.1429;
    # lift = 1 x 7 / (buyers A x buyers B).
    pairs = product_pairs(history_frame(), min_customers=1)
    found = {
        (row["product_id_a"], row["product_id_b"]): (
            row["customers_with_both"],
            row["support"],
            row["lift"],
        )
        for row in pairs.iter_rows(named=True)
    }
    assert found == {
        (BASIC, PREMIUM): (1, 0.1429, 1.75),  # 7 / (4 x 1)
        (BASIC, COURSE): (1, 0.1429, 0.875),  # 7 / (4 x 2)
        (PREMIUM, COURSE): (1, 0.1429, 3.5),  # 7 / (1 x 2)
    }
    premium_course = pairs.filter(pairs["product_id_a"] == PREMIUM).row(0, named=True)
    assert premium_course["confidence_a_to_b"] == 1.0
    assert premium_course["confidence_b_to_a"] == 0.5


def test_pairs_below_the_minimum_are_left_out() -> None:
    assert product_pairs(history_frame(), min_customers=2).is_empty()


@pytest.mark.parametrize("min_customers", [1, 2])
def test_product_performance_asset(database_url: str, min_customers: int) -> None:
    seed_history(database_url)
    result = materialize_analytics(
        database_url, ["product_performance"], min_pair_customers=min_customers
    )
    assert result.success
    assert _as_expected(read_table(database_url, performance_table)) == EXPECTED
    assert read_table(database_url, pairs_table).height == (3 if min_customers == 1 else 0)
