from decimal import Decimal

import polars as pl

from starhouse_pipeline.domain.reconciliation import (
    compare_totals,
    not_revenue_by_status,
    revenue_by_currency,
    totals_by_kind,
)

D = Decimal


def _transactions(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, s, c, D(a)) for t, s, c, a in rows],
        schema={
            "transaction_type": pl.String,
            "status": pl.String,
            "currency": pl.String,
            "amount": pl.Decimal(12, 2),
        },
        orient="row",
    )


SAMPLE = _transactions(
    ("purchase", "completed", "USD", "0.10"),
    ("purchase", "completed", "USD", "0.20"),
    ("refund", "completed", "USD", "-0.05"),
    ("purchase", "failed", "USD", "497.00"),
    ("subscription", "pending", "USD", "22.00"),
    ("subscription", "completed", "CAD", "30.00"),
)


def test_totals_are_exact_per_type_status_and_currency():
    totals = {(t, s, c): (n, a) for t, s, c, n, a in totals_by_kind(SAMPLE).rows()}
    assert totals[("purchase", "completed", "USD")] == (2, D("0.30"))
    assert totals[("refund", "completed", "USD")] == (1, D("-0.05"))


def test_revenue_counts_completed_rows_only_with_refunds_negative():
    assert revenue_by_currency(SAMPLE).rows() == [("CAD", D("30.00")), ("USD", D("0.25"))]
    assert not_revenue_by_status(SAMPLE).rows() == [
        ("failed", "USD", 1, D("497.00")),
        ("pending", "USD", 1, D("22.00")),
    ]


def test_compare_totals_finds_a_one_cent_difference_and_a_missing_group():
    loaded = _transactions(
        ("purchase", "completed", "USD", "0.10"),
        ("purchase", "completed", "USD", "0.21"),
        ("refund", "completed", "USD", "-0.05"),
        ("purchase", "failed", "USD", "497.00"),
        ("subscription", "completed", "CAD", "30.00"),
    )
    mismatches = compare_totals(totals_by_kind(SAMPLE), totals_by_kind(loaded))
    assert mismatches.select("transaction_type", "status").rows() == [
        ("purchase", "completed"),
        ("subscription", "pending"),
    ]
    assert compare_totals(totals_by_kind(SAMPLE), totals_by_kind(SAMPLE)).is_empty()
