"""Revenue analytics: pure polars functions over the warehouse's transactions.

No Dagster and no SQL here. Every function takes frames shaped like `TRANSACTIONS_SCHEMA`
(plus, for MRR, the product intervals) and returns a frame at the grain of one metric table.
Money stays Decimal; ratios are Float64 rounded to `RATE_DECIMALS` places.
"""
