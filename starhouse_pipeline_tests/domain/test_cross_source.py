"""The same payment in Kajabi and PayPal: pairs with evidence, ambiguity never guessed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from starhouse_pipeline.domain.cross_source import (
    AMBIGUOUS_COLUMNS,
    DEFAULT_WINDOW,
    PAIR_COLUMNS,
    same_payments,
)
from starhouse_pipeline.domain.fields import MONEY, UTC_TIMESTAMP

WINDOW = timedelta(minutes=10)
NOON = datetime(2025, 3, 1, 19, 0, tzinfo=UTC)


def _frame(*rows: tuple[str, str, str, str, str, datetime]) -> pl.DataFrame:
    """(transaction_id, external id, contact, amount, currency, time) rows."""
    return pl.DataFrame(
        [
            {
                "transaction_id": tid,
                "external_transaction_id": ext,
                "contact_id": contact,
                "amount": Decimal(amount),
                "currency": currency,
                "transaction_date": when,
            }
            for tid, ext, contact, amount, currency, when in rows
        ],
        schema={
            "transaction_id": pl.String,
            "external_transaction_id": pl.String,
            "contact_id": pl.String,
            "amount": MONEY,
            "currency": pl.String,
            "transaction_date": UTC_TIMESTAMP,
        },
    )


def _pairs(kajabi: pl.DataFrame, paypal: pl.DataFrame) -> list[tuple[str, str]]:
    found = same_payments(kajabi, paypal, WINDOW).pairs
    return list(zip(found["kajabi_transaction_id"], found["paypal_transaction_id"], strict=True))


KAJABI = _frame(("k1", "1400000001", "c1", "22.00", "USD", NOON))


def test_an_exact_pair_carries_its_evidence() -> None:
    paypal = _frame(("p1", "8MC585209K746392H", "c1", "22.00", "USD", NOON + timedelta(seconds=47)))
    result = same_payments(KAJABI, paypal, WINDOW)
    assert result.pairs.columns == list(PAIR_COLUMNS)
    assert result.pairs.rows() == [
        ("k1", "p1", "1400000001", "8MC585209K746392H", "c1", Decimal("22.00"), "USD", 47)
    ]
    assert result.ambiguous.is_empty()
    assert result.ambiguous.columns == list(AMBIGUOUS_COLUMNS)


def test_the_window_is_inclusive_and_works_both_ways() -> None:
    inside = _frame(("p1", "A", "c1", "22.00", "USD", NOON + WINDOW))
    before = _frame(("p1", "A", "c1", "22.00", "USD", NOON - WINDOW))
    outside = _frame(("p1", "A", "c1", "22.00", "USD", NOON + WINDOW + timedelta(seconds=1)))
    assert _pairs(KAJABI, inside) == [("k1", "p1")]
    assert same_payments(KAJABI, before, WINDOW).pairs["seconds_apart"].to_list() == [-600]
    assert _pairs(KAJABI, outside) == []
    assert same_payments(KAJABI, outside, WINDOW).ambiguous.is_empty()


def test_a_different_amount_contact_or_currency_is_another_payment() -> None:
    paypal = _frame(
        ("p1", "A", "c1", "22.01", "USD", NOON),
        ("p2", "B", "c2", "22.00", "USD", NOON),
        ("p3", "C", "c1", "22.00", "CAD", NOON),
    )
    result = same_payments(KAJABI, paypal, WINDOW)
    assert result.pairs.is_empty()
    assert result.ambiguous.is_empty()


def test_two_paypal_candidates_for_one_kajabi_row_are_ambiguous_not_paired() -> None:
    paypal = _frame(
        ("p1", "A", "c1", "22.00", "USD", NOON + timedelta(seconds=30)),
        ("p2", "B", "c1", "22.00", "USD", NOON + timedelta(minutes=4)),
    )
    result = same_payments(KAJABI, paypal, WINDOW)
    assert result.pairs.is_empty()
    assert result.ambiguous.select(
        "kajabi_transaction_id", "paypal_transaction_id", "paypal_candidates", "kajabi_candidates"
    ).rows() == [("k1", "p1", 2, 1), ("k1", "p2", 2, 1)]


def test_two_kajabi_candidates_for_one_paypal_row_are_ambiguous_not_paired() -> None:
    kajabi = _frame(
        ("k1", "1", "c1", "22.00", "USD", NOON),
        ("k2", "2", "c1", "22.00", "USD", NOON + timedelta(minutes=2)),
    )
    paypal = _frame(("p1", "A", "c1", "22.00", "USD", NOON + timedelta(minutes=1)))
    result = same_payments(kajabi, paypal, WINDOW)
    assert result.pairs.is_empty()
    assert result.ambiguous.select(
        "kajabi_transaction_id", "paypal_transaction_id", "kajabi_candidates", "seconds_apart"
    ).rows() == [("k1", "p1", 2, 60), ("k2", "p1", 2, -60)]


def test_ambiguity_spreads_along_a_chain_but_not_to_unrelated_pairs() -> None:
    # k1 could be p1 or p2, so p2 is ambiguous even though k2 has only p2; k3-p3 is clean.
    kajabi = _frame(
        ("k1", "1", "c1", "22.00", "USD", NOON),
        ("k2", "2", "c1", "22.00", "USD", NOON + timedelta(minutes=12)),
        ("k3", "3", "c2", "242.00", "USD", NOON),
    )
    paypal = _frame(
        ("p1", "A", "c1", "22.00", "USD", NOON + timedelta(minutes=1)),
        ("p2", "B", "c1", "22.00", "USD", NOON + timedelta(minutes=8)),
        ("p3", "C", "c2", "242.00", "USD", NOON + timedelta(seconds=5)),
    )
    result = same_payments(kajabi, paypal, WINDOW)
    assert _pairs(kajabi, paypal) == [("k3", "p3")]
    assert result.ambiguous.select("kajabi_transaction_id", "paypal_transaction_id").rows() == [
        ("k1", "p1"),
        ("k1", "p2"),
        ("k2", "p2"),
    ]


def test_rows_without_a_contact_never_pair() -> None:
    kajabi = _frame(("k1", "1", None, "22.00", "USD", NOON))
    paypal = _frame(("p1", "A", None, "22.00", "USD", NOON))
    assert _pairs(kajabi, paypal) == []


def test_the_default_window_is_ten_minutes() -> None:
    paypal = _frame(("p1", "A", "c1", "22.00", "USD", NOON + timedelta(minutes=9)))
    assert timedelta(minutes=10) == DEFAULT_WINDOW
    assert same_payments(KAJABI, paypal).pairs.height == 1
