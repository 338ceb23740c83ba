import polars as pl

from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS, classify_changes


def _records(*pairs: tuple[str, str]) -> pl.DataFrame:
    rows = [
        dict.fromkeys(TRANSACTION_RECORD_COLUMNS)
        | {"external_transaction_id": transaction_id, "source_row_hash": row_hash}
        for transaction_id, row_hash in pairs
    ]
    schema = dict.fromkeys(TRANSACTION_RECORD_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema)


def _held(*pairs: tuple[str, str | None]) -> pl.DataFrame:
    schema = {"external_transaction_id": pl.String, "source_row_hash": pl.String}
    return pl.DataFrame(pairs, schema=schema, orient="row")


def test_split_into_new_changed_and_unchanged_by_row_hash():
    records = _records(("1", "a"), ("2", "b"), ("3", "c"), ("4", "d"))
    # 3 was loaded by a tool that kept no hash: it counts as changed, so it gains one.
    changes = classify_changes(records, _held(("2", "b"), ("3", None), ("4", "old")))

    assert changes.new["external_transaction_id"].to_list() == ["1"]
    assert changes.changed["external_transaction_id"].to_list() == ["3", "4"]
    assert changes.unchanged == 1


def test_first_import_and_unchanged_reimport():
    records = _records(("1", "a"), ("2", "b"))
    assert classify_changes(records, _held()).new.height == 2
    again = classify_changes(records, _held(("1", "a"), ("2", "b")))
    assert (again.new.height, again.changed.height, again.unchanged) == (0, 0, 2)
