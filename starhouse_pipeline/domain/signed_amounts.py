"""The sign rule every transaction contract shares, as a pandera model to inherit from."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl


class SignedAmounts(pa.DataFrameModel):
    """A refund gives money back (zero or negative); a sale takes it in (zero or positive).

    Kajabi's and PayPal's typed-transaction models inherit these checks; each export's spec
    words their failures (`ExportSpec.model_reasons`).
    """

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
