"""New, changed or unchanged: one classification for every import that keys its rows.

A record is new when the warehouse lacks its key, changed when it holds the key with another
row hash (the SHA-256 of the original row), unchanged otherwise. Where the rows are many
(transactions) the database compares the hashes and returns only the keys to write; where
they are few (subscriptions) `not_held_as_they_are` compares them in polars. Either way the
split is `classify_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain.validation import ROW_HASH


@dataclass(frozen=True)
class Changes:
    """Incoming records split by what the warehouse already holds."""

    new: pl.DataFrame
    changed: pl.DataFrame
    unchanged: int

    @property
    def counts(self) -> dict[str, int]:
        return {
            "inserted": self.new.height,
            "updated": self.changed.height,
            "unchanged": self.unchanged,
        }


def not_held_as_they_are(records: pl.DataFrame, held: pl.DataFrame, key: str) -> pl.DataFrame:
    """(key, held) of the records the warehouse lacks (held false) or holds with another row
    hash (held true); `held` is the warehouse's (key, row hash) for these keys."""
    joined = records.select(key, ROW_HASH).join(
        held.rename({ROW_HASH: "_held_hash"}), on=key, how="left"
    )
    differs = pl.col("_held_hash").is_null() | (pl.col("_held_hash") != pl.col(ROW_HASH))
    return joined.filter(differs).select(key, pl.col("_held_hash").is_not_null().alias("held"))


def classify_changes(
    records: pl.DataFrame, not_held_as_is: pl.DataFrame, key: str = "external_transaction_id"
) -> Changes:
    """Split records by the keys the warehouse does not hold exactly as they are.

    `not_held_as_is` has (key, held): a key the warehouse lacks is new, one it holds with
    another row hash changed; every other record is unchanged. Keys are unique among the
    records. Records are filtered only when a split is needed, so a first import copies no
    million-row frame (nor builds a set of its keys).
    """
    ids = pl.col(key)
    held = not_held_as_is.get_column("held")
    if not held.any() and not_held_as_is.height == records.height:
        return Changes(new=records, changed=records.clear(), unchanged=0)
    new_ids = not_held_as_is.get_column(key).filter(~held)
    changed_ids = not_held_as_is.get_column(key).filter(held)
    return Changes(
        new=_rows_where(records, ids.is_in(new_ids.implode())),
        changed=_rows_where(records, ids.is_in(changed_ids.implode())),
        unchanged=records.height - not_held_as_is.height,
    )


def _rows_where(records: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
    mask = records.select(condition.fill_null(False)).to_series()
    return records if mask.all() else records.filter(mask)
