"""The latest value per key (a customer's latest phone, an offer's latest title), read a
batch at a time.

"Latest" is the latest transaction date that has the value, then the latest line. Each batch
is reduced to one pick per key, and the picks again: the reduction gives the same answer
however the rows are split, so a step holds one batch and the keys, never every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import polars as pl

from starhouse_pipeline.domain.fields import LINE_COLUMN

_ORDER = ("transaction_date", LINE_COLUMN)


def latest_per_key(
    rows: pl.DataFrame | Iterable[pl.DataFrame],
    key: str,
    picks: Mapping[str, Sequence[str]],
) -> pl.DataFrame:
    """One row per value of `key` in `rows` (a frame, or batches of one); for each pick
    (`present`: `fields`), the `fields` of that key's latest row where `present` is set
    (null when none has it)."""
    batches = [rows] if isinstance(rows, pl.DataFrame) else rows
    keys, found = [], {present: [] for present in picks}
    for batch in batches:
        keys.append(batch.select(pl.col(key).unique()))
        for present, fields in picks.items():
            found[present].append(_latest(batch, key, present, fields))
    result = pl.concat(keys).unique()
    for present, fields in picks.items():
        latest = _latest(pl.concat(found[present]), key, present, fields)
        result = result.join(latest.select(key, *fields), on=key, how="left", nulls_equal=True)
    return result


def _latest(rows: pl.DataFrame, key: str, present: str, fields: Sequence[str]) -> pl.DataFrame:
    """Per `key`, the `fields` of its latest row where `present` is set, with that row's
    date and line: applied to its own results it gives the same, so batches reduce."""
    return (
        rows.filter(pl.col(present).is_not_null())
        .group_by(key)
        .agg(pl.col(*_ORDER, *dict.fromkeys((present, *fields))).sort_by(_ORDER).last())
    )
