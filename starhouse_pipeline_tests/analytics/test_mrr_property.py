"""Properties of the MRR timeline that hold for any history of subscription charges."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from starhouse_pipeline.domain.analytics import mrr
from starhouse_pipeline.domain.analytics.frames import MetricOptions, transactions_frame
from starhouse_pipeline.domain.analytics.refunds import fully_refunded_charges, link_refunds
from starhouse_pipeline_tests.analytics.history import PRODUCTS

_START = datetime(2023, 1, 1, tzinfo=UTC)

_charges = st.lists(
    st.fixed_dictionaries(
        {
            "transaction_date": st.integers(0, 3 * 365 * 24).map(
                lambda hours: _START + timedelta(hours=hours)
            ),
            "transaction_type": st.sampled_from(["subscription", "subscription", "refund"]),
            "status": st.sampled_from(["completed", "completed", "failed"]),
            "amount": st.sampled_from(["22.00", "44.00", "242.00", "19.99"]).map(Decimal),
            "currency": st.just("USD"),
            "source_system": st.just("kajabi"),
            "contact_id": st.integers(1, 6).map(str),
            "product_id": st.sampled_from(list(PRODUCTS)),
        }
    ),
    min_size=1,
    max_size=40,
)


def _with_names_and_signs(rows: list[dict]) -> pl.DataFrame:
    for index, row in enumerate(rows, start=1):
        row["transaction_id"] = str(index)
        row["product_name"] = PRODUCTS[row["product_id"]][0]
        if row["transaction_type"] == "refund":
            row["amount"] = -row["amount"]
    return transactions_frame(rows)


@settings(max_examples=120, deadline=None)
@given(rows=_charges, grace=st.sampled_from([0, 14]), keep_refunded=st.booleans())
def test_movements_always_explain_the_mrr(rows: list[dict], grace: int, keep_refunded: bool):
    options = replace(
        MetricOptions(), past_due_grace_days=grace, refunded_signups_count_in_mrr=keep_refunded
    )
    transactions = _with_names_and_signs(rows)
    links = link_refunds(transactions, options.reporting_timezone)
    charges = mrr.subscription_charges(transactions, options, fully_refunded_charges(links))
    active = mrr.customer_mrr(charges, options)
    as_of = mrr.as_of_month(transactions, options.reporting_timezone)
    if active.is_empty():
        return
    movements = mrr.mrr_movements(active, as_of)
    summary = mrr.mrr_by_month(movements, active["month"].min(), as_of)
    assert mrr.movements_add_up(summary).is_empty()
    assert (summary["mrr"] >= 0).all()
    assert (summary["customers"] >= 0).all()
    # Per customer, the movements add up to the MRR they hold at the as-of month.
    held = active.filter(pl.col("month") == as_of).select("contact_id", "mrr")
    moved = movements.group_by("contact_id").agg(pl.col("movement_amount").sum())
    joined = moved.join(held, on="contact_id", how="left").with_columns(pl.col("mrr").fill_null(0))
    assert (joined["movement_amount"] == joined["mrr"]).all()
    # A customer is new at most once.
    assert movements.filter(pl.col("movement") == "new")["contact_id"].is_unique().all()
