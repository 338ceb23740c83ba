import dataclasses
import hashlib
import json
from pathlib import Path

import polars as pl

from starhouse_pipeline.domain.changes import classify_changes
from starhouse_pipeline.domain.exports import read_transactions_export
from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS, record_batches
from starhouse_pipeline.domain.validation import validate_export
from starhouse_pipeline_tests.support import export_row, write_export


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


def test_records_are_built_a_batch_at_a_time_from_valid_rows_given_as_a_scan(tmp_path: Path):
    rows = [
        export_row(ID=str(n), Amount=f"{n}.00", Customer_Email=f"p{n}@x.io") for n in range(1, 8)
    ]
    validated = validate_export(read_transactions_export(write_export(tmp_path / "e.csv", rows)))
    scanned = dataclasses.replace(validated, valid=validated.valid.lazy())
    lines = validated.valid.get_column(LINE_COLUMN).filter(validated.valid["amount"] != 4)
    products = pl.DataFrame({"offer_id": [validated.valid["offer_id"][0]], "product_id": ["p"]})
    contacts = pl.DataFrame({"email": ["p2@x.io"], "contact_id": ["c2"]})

    batches = list(record_batches(scanned, lines, products, contacts, batch_rows=4))

    assert [batch.height for batch in batches] == [4, 2]
    records = pl.concat(batches)
    assert records.columns == list(TRANSACTION_RECORD_COLUMNS)
    assert records["external_transaction_id"].to_list() == ["1", "2", "3", "5", "6", "7"]
    assert records["contact_id"].to_list() == [None, "c2", None, None, None, None]
    assert records["product_id"].drop_nulls().len() == 6
    # Each row's raw_source is its own original row, and hashes to its source_row_hash.
    for record in records.iter_rows(named=True):
        assert json.loads(record["raw_source"])["ID"] == record["external_transaction_id"]
        digest = hashlib.sha256(record["raw_source"].encode()).hexdigest()
        assert digest == record["source_row_hash"]
