"""Property: whatever the transactions, the months' net adds up to the reconciled revenue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from starhouse_pipeline.domain.analytics.frames import transactions_frame
from starhouse_pipeline.domain.analytics.revenue import revenue_by_month, revenue_totals
from starhouse_pipeline.domain.reconciliation import revenue_by_currency

_START = datetime(2020, 1, 1, tzinfo=UTC)

_rows = st.lists(
    st.fixed_dictionaries(
        {
            "transaction_date": st.integers(0, 6 * 365 * 24 * 60).map(
                lambda minutes: _START + timedelta(minutes=minutes)
            ),
            "transaction_type": st.sampled_from(
                ["purchase", "subscription", "refund", "adjustment"]
            ),
            "status": st.sampled_from(["completed", "failed", "pending"]),
            "amount": st.integers(-100_000, 100_000).map(lambda cents: Decimal(cents) / 100),
            "currency": st.sampled_from(["USD", "EUR"]),
            "source_system": st.sampled_from(["kajabi", "paypal", "ticket_tailor"]),
            "contact_id": st.integers(1, 20).map(str),
            "product_id": st.one_of(st.none(), st.integers(1, 5).map(str)),
        }
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rows=_rows, timezone=st.sampled_from(["America/Denver", "UTC", "Pacific/Auckland"]))
def test_months_sum_to_reconciled_revenue(rows: list[dict], timezone: str) -> None:
    frame = transactions_frame(rows)
    monthly = revenue_totals(revenue_by_month(frame, timezone), by=("currency",))
    reconciled = revenue_by_currency(frame)
    assert dict(zip(monthly["currency"], monthly["net"], strict=True)) == dict(
        zip(reconciled["currency"], reconciled["revenue"], strict=True)
    )
    parts = monthly.select(pl.col("gross") + pl.col("refunds") + pl.col("adjustments"))
    assert parts.to_series().to_list() == monthly["net"].to_list()
