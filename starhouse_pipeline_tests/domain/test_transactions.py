import polars as pl

from starhouse_pipeline.domain.changes import classify_changes
from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS


def _records(*pairs: tuple[str, str]) -> pl.DataFrame:
    rows = [
        dict.fromkeys(TRANSACTION_RECORD_COLUMNS)
        | {"external_transaction_id": transaction_id, "source_row_hash": row_hash}
        for transaction_id, row_hash in pairs
    ]
    schema = dict.fromkeys(TRANSACTION_RECORD_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema)


def _not_held_as_is(*pairs: tuple[str, bool]) -> pl.DataFrame:
    schema = {"external_transaction_id": pl.String, "held": pl.Boolean}
    return pl.DataFrame(pairs, schema=schema, orient="row")


def test_split_into_new_changed_and_unchanged():
    records = _records(("1", "a"), ("2", "b"), ("3", "c"), ("4", "d"))
    changes = classify_changes(records, _not_held_as_is(("1", False), ("3", True), ("4", True)))

    assert changes.new["external_transaction_id"].to_list() == ["1"]
    assert changes.changed["external_transaction_id"].to_list() == ["3", "4"]
    assert changes.unchanged == 1


def test_first_import_and_unchanged_reimport():
    records = _records(("1", "a"), ("2", "b"))
    first = classify_changes(records, _not_held_as_is(("1", False), ("2", False)))
    assert (first.new.height, first.changed.height, first.unchanged) == (2, 0, 0)
    again = classify_changes(records, _not_held_as_is())
    assert (again.new.height, again.changed.height, again.unchanged) == (0, 0, 2)
