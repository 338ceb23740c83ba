"""The typed-transaction contract, as a pandera model on the polars backend."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.mapping import CRM_STATUSES, CRM_TRANSACTION_TYPES
from starhouse_pipeline.domain.parsing import MONEY, UTC_TIMESTAMP


class TypedTransaction(pa.DataFrameModel):
    """One Kajabi transaction after typing: what the warehouse may store."""

    external_transaction_id: str = pa.Field(str_matches=r"^\d{1,18}$")
    amount: MONEY = pa.Field()
    currency: str = pa.Field(str_matches=patterns.CURRENCY)
    transaction_type: str = pa.Field(isin=list(CRM_TRANSACTION_TYPES))
    status: str = pa.Field(isin=list(CRM_STATUSES))
    transaction_date: UTC_TIMESTAMP = pa.Field()
    email: str = pa.Field(str_matches=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
    offer_id: str = pa.Field(nullable=True, str_matches=r"^\S+$")

    @pa.dataframe_check
    def refund_amount_is_not_positive(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A refund gives money back: its amount is zero or negative."""
        return data.lazyframe.select(
            (pl.col("transaction_type") != "refund") | (pl.col("amount") <= 0)
        )

    @pa.dataframe_check
    def sale_amount_is_not_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """Purchases and subscription charges take money in: zero or positive."""
        return data.lazyframe.select(
            (pl.col("transaction_type") == "refund") | (pl.col("amount") >= 0)
        )

    class Config:
        strict = False
        coerce = False
