"""Failed payments: how many are recovered, how fast, and how much revenue is lost.

A failed payment is a run of failed charges of one customer for one offer (and currency)
with no successful charge in between: the first attempt and its retries. It is recovered
when the next successful charge for that customer and offer comes within
`recovery_window_days` of the first failure; lost when the window has passed without one;
open while the window is still running at the as-of time. Revenue lost is the amount of
the first failed attempt of each lost payment; retries are not counted again.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from starhouse_pipeline.domain.analytics.frames import (
    COMPLETED,
    FAILED,
    SALE_TYPES,
    money_sum,
    month_of,
    rate,
)

_KEYS = ("contact_id", "product_id", "currency")
_SECONDS_PER_DAY = 86_400


def failed_payments(
    transactions: pl.DataFrame, window_days: int, as_of: datetime, timezone: str
) -> pl.DataFrame:
    """One row per failed payment (first attempt plus retries) with its outcome."""
    charges = (
        transactions.filter(
            pl.col("transaction_type").is_in(SALE_TYPES)
            & pl.col("status").is_in([COMPLETED, FAILED])
            & pl.col("contact_id").is_not_null()
        )
        .sort("transaction_date", "transaction_id")
        .with_columns(
            (pl.col("status") == COMPLETED)
            .cum_sum()
            .over(_KEYS, order_by=["transaction_date", "transaction_id"])
            .alias("_successes_before")
        )
    )
    successes = charges.filter(pl.col("status") == COMPLETED).select(
        *_KEYS,
        pl.col("_successes_before").alias("_success_number"),
        pl.col("transaction_id").alias("recovered_transaction_id"),
        pl.col("transaction_date").alias("recovered_at"),
    )
    episodes = (
        charges.filter(pl.col("status") == FAILED)
        .group_by(*_KEYS, "_successes_before")
        .agg(
            pl.col("transaction_id").first().alias("first_failed_transaction_id"),
            pl.col("transaction_date").first().alias("first_failed_at"),
            pl.col("amount").first().alias("amount"),
            pl.len().cast(pl.Int64).alias("failed_attempts"),
        )
        .with_columns((pl.col("_successes_before") + 1).alias("_success_number"))
    )
    deadline = pl.col("first_failed_at") + pl.duration(days=window_days)
    joined = episodes.join(successes, on=[*_KEYS, "_success_number"], how="left", nulls_equal=True)
    in_window = pl.col("recovered_at") <= deadline
    outcome = (
        pl.when(in_window)
        .then(pl.lit("recovered"))
        .when(deadline <= as_of)
        .then(pl.lit("lost"))
        .otherwise(pl.lit("open"))
    )
    elapsed = (pl.col("recovered_at") - pl.col("first_failed_at")).dt.total_seconds()
    return (
        joined.with_columns(
            outcome.alias("outcome"),
            month_of("first_failed_at", timezone).alias("month"),
        )
        .with_columns(
            pl.when(in_window)
            .then(pl.col("recovered_transaction_id"))
            .alias("recovered_transaction_id"),
            pl.when(in_window).then(pl.col("recovered_at")).alias("recovered_at"),
            pl.when(in_window)
            .then((elapsed / _SECONDS_PER_DAY).round(2))
            .alias("days_to_recovery"),
        )
        .drop("_successes_before", "_success_number")
        .sort("first_failed_at", "first_failed_transaction_id")
    )


def failed_payments_by_month(payments: pl.DataFrame) -> pl.DataFrame:
    """Per month of the first failure: failed payments, attempts, outcomes, money, speed.

    recovery_rate = recovered ÷ (recovered + lost); open payments are not yet decided.
    """
    outcome = pl.col("outcome")
    summary = payments.group_by("month", "currency").agg(
        pl.len().cast(pl.Int64).alias("failed_payments"),
        pl.col("failed_attempts").sum().cast(pl.Int64),
        *(
            (outcome == name).sum().cast(pl.Int64).alias(name)
            for name in ("recovered", "lost", "open")
        ),
        money_sum(pl.col("amount").filter(outcome == "recovered")).alias("recovered_amount"),
        money_sum(pl.col("amount").filter(outcome == "lost")).alias("lost_amount"),
        pl.col("days_to_recovery").median().alias("median_days_to_recovery"),
    )
    return summary.with_columns(
        rate(pl.col("recovered"), pl.col("recovered") + pl.col("lost")).alias("recovery_rate")
    ).sort("month", "currency")


OUTCOMES = ("recovered", "lost", "open")


def outcome_counts(payments: pl.DataFrame) -> dict[str, int]:
    """How many failed payments were recovered, lost, or are still open."""
    if payments.is_empty():
        return dict.fromkeys(OUTCOMES, 0)
    return {name: int((payments.get_column("outcome") == name).sum()) for name in OUTCOMES}


def recovery_rate(outcomes: dict[str, int]) -> float | None:
    """Recovered over decided (recovered + lost), to 4 places; open ones are not decided yet,
    and with none decided there is no rate."""
    decided = outcomes["recovered"] + outcomes["lost"]
    return round(outcomes["recovered"] / decided, 4) if decided else None
