import csv
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from starhouse_pipeline.domain import validation
from starhouse_pipeline.domain.exports import read_transactions_export
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.domain.validation import (
    ROW_HASH,
    ValidatedExport,
    fingerprint_rows,
    held_as_they_are,
    original_json,
    rows_held_as_they_are,
    validate_export,
)
from starhouse_pipeline_tests.support import export_row, write_export


def _validate(tmp_path: Path, *rows: dict[str, str]) -> ValidatedExport:
    return validate_export(read_transactions_export(write_export(tmp_path / "e.csv", rows)))


def _reasons(result: ValidatedExport) -> dict[int, str]:
    return dict(
        zip(
            result.quarantined["_line"].to_list(),
            result.quarantined["quarantine_rule"],
            strict=True,
        )
    )


def test_amounts_are_exact_decimals_and_dates_become_utc(tmp_path: Path):
    result = _validate(
        tmp_path,
        export_row(ID="1", Amount="1234.56", Created_At="2025-11-08 04:11:00 -0700"),
        export_row(ID="2", Amount="-22.00", Type="refund", Created_At="2025-06-01 23:30:00 +0530"),
    )

    valid = result.valid.sort("external_transaction_id")
    assert valid["amount"].to_list() == [Decimal("1234.56"), Decimal("-22.00")]
    assert valid["transaction_date"].to_list() == [
        datetime(2025, 11, 8, 11, 11, tzinfo=UTC),
        datetime(2025, 6, 1, 18, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("kajabi_type", "kajabi_status", "crm_type", "crm_status"),
    [
        ("subscription", "succeeded", "subscription", "completed"),
        ("charge", "failed", "purchase", "failed"),
        ("payment plan", "pending", "purchase", "pending"),
        ("Payment Plan", "Succeeded", "purchase", "completed"),
    ],
)
def test_type_and_status_mapping(tmp_path, kajabi_type, kajabi_status, crm_type, crm_status):
    result = _validate(tmp_path, export_row(Type=kajabi_type, Status=kajabi_status))
    assert result.valid.select("transaction_type", "status").row(0) == (crm_type, crm_status)


def test_email_is_normalized(tmp_path: Path):
    result = _validate(tmp_path, export_row(Customer_Email="  Ann.Lee@Example.COM "))
    assert result.valid["email"].to_list() == ["ann.lee@example.com"]


@pytest.mark.parametrize(
    ("override", "rule"),
    [
        ({"Type": "gift"}, "known_type"),
        ({"Status": "disputed"}, "known_status"),
        ({"Amount": "twelve"}, "amount_parses"),
        ({"Amount": "12.005"}, "amount_parses"),
        ({"Created_At": "2025-06-01 10:00:00"}, "created_at_offset"),
        ({"Created_At": "yesterday"}, "created_at_parses"),
        ({"Customer_Email": ""}, "email_valid"),
        ({"ID": ""}, "id_present"),
        ({"Type": "refund", "Amount": "22.00"}, "refund_amount_is_not_positive"),
        ({"Type": "charge", "Amount": "-5.00"}, "sale_amount_is_not_negative"),
    ],
)
def test_bad_rows_are_quarantined_with_line_and_rule_while_good_rows_go_on(
    tmp_path, override, rule
):
    result = _validate(tmp_path, export_row(ID="1"), export_row(**{"ID": "2", **override}))

    assert result.valid["external_transaction_id"].to_list() == ["1"]
    assert _reasons(result) == {3: rule}
    assert result.quarantined["quarantine_reason"][0]
    assert result.accounted_rows == result.rows_read == 2


def test_identical_duplicates_collapse_and_conflicting_ones_are_quarantined(tmp_path: Path):
    result = _validate(
        tmp_path,
        export_row(ID="1"),
        export_row(ID="1"),
        export_row(ID="2", Amount="10.00"),
        export_row(ID="2", Amount="11.00"),
    )

    assert result.valid["external_transaction_id"].to_list() == ["1"]
    assert result.collapsed_lines == [3]
    assert _reasons(result) == {4: "unique_id", 5: "unique_id"}
    assert "lines 4, 5" in result.quarantined["quarantine_reason"][0]
    assert result.accounted_rows == result.rows_read == 4


def test_raw_source_keeps_the_whole_original_row(tmp_path: Path):
    result = _validate(tmp_path, export_row(ID="9", Coupon_Used="SPRING"))
    raw = result.raw_sources()[0]
    assert '"ID":"9"' in raw
    assert '"Coupon Used":"SPRING"' in raw


def test_row_hash_is_the_sha256_of_the_original_json_whatever_the_batch(tmp_path: Path):
    rows = [export_row(ID=str(n), Amount=f"{n}.00") for n in range(1, 8)]
    result = _validate(tmp_path, *rows)
    expected = [hashlib.sha256(doc.encode()).hexdigest() for doc in result.raw_sources()]
    assert result.valid["source_row_hash"].to_list() == expected

    lines = result.valid["_line"]
    in_batches = original_json(lines, result.export, result.source_columns, batch_rows=3)
    assert [batch.height for batch in in_batches] == [3, 3, 1]
    rebuilt = pl.concat(
        b["raw_json"] for b in original_json(lines, result.export, result.source_columns, 3)
    )
    assert rebuilt.to_list() == result.raw_sources().to_list()


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2025-11-08 04:11:00 -0700", datetime(2025, 11, 8, 11, 11, tzinfo=UTC)),
        ("2025-03-09 01:59:59 -0700", datetime(2025, 3, 9, 8, 59, 59, tzinfo=UTC)),
        ("2025-03-09 03:00:00 -0600", datetime(2025, 3, 9, 9, 0, tzinfo=UTC)),
        ("2025-11-08T04:11:00.250-07:00", datetime(2025, 11, 8, 11, 11, 0, 250000, tzinfo=UTC)),
        ("2025-11-08T11:11:00Z", datetime(2025, 11, 8, 11, 11, tzinfo=UTC)),
        ("2025-11-08 11:11:00 UTC", datetime(2025, 11, 8, 11, 11, tzinfo=UTC)),
    ],
)
def test_created_at_with_an_explicit_offset_becomes_utc(tmp_path, created_at, expected):
    result = _validate(tmp_path, export_row(Created_At=created_at))
    assert result.valid["transaction_date"].to_list() == [expected]


def test_a_row_without_id_beside_repeated_ids_is_quarantined_not_lost(tmp_path: Path):
    result = _validate(
        tmp_path,
        export_row(ID="5"),
        export_row(ID=""),
        export_row(ID="5"),
        export_row(ID="6", Amount="1.00"),
        export_row(ID="6", Amount="2.00"),
    )

    assert _reasons(result) == {3: "id_present", 5: "unique_id", 6: "unique_id"}
    assert result.collapsed_lines == [4]
    assert result.valid["_line"].to_list() == [2]
    assert result.accounted_rows == result.rows_read == 5


def _export_and_fingerprints(tmp_path: Path, *rows: dict[str, str]):
    raw = read_transactions_export(write_export(tmp_path / "e.csv", rows))
    return raw, fingerprint_rows(raw, ("amount", "status"))


def test_a_fingerprint_is_the_row_hash_validation_gives_and_types_only_what_was_asked(
    tmp_path: Path,
):
    raw, fingerprints = _export_and_fingerprints(
        tmp_path, export_row(ID="1", Amount="$1,234.50"), export_row(ID="2", Status="failed")
    )

    validated = validate_export(raw)
    assert fingerprints.columns == [
        "_line",
        "external_transaction_id",
        "amount",
        "status",
        ROW_HASH,
    ]
    assert fingerprints[ROW_HASH].to_list() == validated.valid[ROW_HASH].to_list()
    assert fingerprints["amount"].to_list() == [Decimal("1234.50"), Decimal("22.00")]
    assert fingerprints["status"].to_list() == ["completed", "failed"]


@pytest.mark.parametrize("column", ["Card Brand", "Coupon Used", "Customer ID", "Quantity"])
def test_a_change_in_any_column_changes_the_fingerprint(tmp_path: Path, column: str):
    first = _export_and_fingerprints(tmp_path, export_row(ID="1"))[1]
    changed = {**export_row(ID="1"), column: "something else"}
    second = _export_and_fingerprints(tmp_path, changed)[1]

    assert first[ROW_HASH].item() != second[ROW_HASH].item()


def test_rows_held_as_they_are_leave_out_repeated_and_missing_ids(tmp_path: Path):
    _, fingerprints = _export_and_fingerprints(
        tmp_path,
        export_row(ID="1"),
        export_row(ID="2"),
        export_row(ID="2"),
        export_row(ID=""),
        export_row(ID="3"),
    )
    not_held = pl.DataFrame({"external_transaction_id": ["3"], "held": [True]})

    held = held_as_they_are(fingerprints, not_held, "external_transaction_id")

    # 2 repeats in the file, so the duplicate rules judge its rows together; 3 has changed.
    assert held["external_transaction_id"].to_list() == ["1"]


def test_rows_held_as_they_are_stream_their_hashes_to_the_warehouse_and_spill_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(validation, "FINGERPRINT_BATCH_ROWS", 2)
    ids = ["1", "2", "2", "", "3", "4", "5"]
    raw, fingerprints = _export_and_fingerprints(tmp_path, *(export_row(ID=i) for i in ids))
    spill = tmp_path / "spill"
    spill.mkdir()
    compared: list[pl.DataFrame] = []

    def not_held(batches):
        compared.extend(batches)  # as the warehouse stages them: one batch at a time
        return pl.DataFrame({"external_transaction_id": ["3", "5"], "held": [True, False]})

    held = rows_held_as_they_are(raw, ("amount", "status"), not_held, spill)

    assert [batch.columns for batch in compared] == [["external_transaction_id", ROW_HASH]] * 4
    assert pl.concat(compared).equals(fingerprints.select("external_transaction_id", ROW_HASH))
    assert isinstance(held, pl.LazyFrame)
    assert len(list(spill.glob("unchanged-*.parquet"))) == 4
    in_memory = held_as_they_are(fingerprints, not_held([]), "external_transaction_id")
    assert held.collect().equals(in_memory)
    assert in_memory["external_transaction_id"].to_list() == ["1", "4"]


def test_unchanged_rows_are_counted_not_typed_again_and_every_row_is_accounted_for(
    tmp_path: Path,
):
    raw, fingerprints = _export_and_fingerprints(
        tmp_path,
        export_row(ID="1"),
        export_row(ID="2", Amount="not money"),
        export_row(ID="3"),
        export_row(ID="3"),
    )
    unchanged = fingerprints.filter(pl.col("external_transaction_id") == "1")

    result = validate_export(raw, unchanged)

    assert result.unchanged["external_transaction_id"].to_list() == ["1"]
    assert result.valid["external_transaction_id"].to_list() == ["3"]
    assert result.quarantined["source_row_id"].to_list() == ["2"]
    assert result.collapsed_lines == [5]
    assert result.accounted_rows == result.rows_read == 4
    assert sorted(result.seen_ids().to_list()) == ["1", "2", "3"]
    totals = result.valid_or_unchanged(["external_transaction_id", "amount"]).collect()
    assert totals["amount"].to_list() == [Decimal("22.00"), Decimal("22.00")]


def test_a_row_saved_again_with_other_quoting_and_line_endings_keeps_its_fingerprint(
    tmp_path: Path,
):
    row = export_row(ID="1", Address="1 Main St, Apt 2")
    plain = fingerprint_rows(read_transactions_export(write_export(tmp_path / "a.csv", [row])))
    quoted = tmp_path / "b.csv"
    with quoted.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(TRANSACTION_COLUMNS)
        writer.writerow([row[column] for column in TRANSACTION_COLUMNS])

    resaved = fingerprint_rows(read_transactions_export(quoted))

    assert resaved[ROW_HASH].to_list() == plain[ROW_HASH].to_list()


def test_valid_rows_written_to_a_folder_batch_by_batch_are_the_rows_kept_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(validation, "BATCH_ROWS", 2)
    rows = (
        export_row(ID="1"),
        export_row(ID="2", Amount="10.00"),
        export_row(ID="1"),  # an identical repeat, in another batch
        export_row(ID="3", Amount="not money"),
        export_row(ID="2", Amount="11.00"),  # a conflicting repeat
        export_row(ID="4"),
        export_row(ID="5"),
    )
    raw = read_transactions_export(write_export(tmp_path / "e.csv", rows))
    spill = tmp_path / "spill"
    spill.mkdir()

    in_memory = validate_export(raw)
    spilled = validate_export(raw, spill_dir=spill)

    assert isinstance(spilled.valid, pl.LazyFrame)
    assert len(list(spill.glob("*.parquet"))) == 4  # one per batch of 2 rows
    assert spilled.valid.collect().equals(in_memory.valid)
    assert spilled.valid.collect()["external_transaction_id"].to_list() == ["1", "4", "5"]
    assert spilled.quarantined.equals(in_memory.quarantined)
    assert spilled.collapsed_lines == in_memory.collapsed_lines == [4]
    assert spilled.valid_rows == 3
    assert spilled.accounted_rows == spilled.rows_read == 7


def test_valid_partitions_hold_every_row_once_and_each_key_in_one_part(tmp_path: Path):
    emails = [f"c{index % 7}@example.com" for index in range(40)]
    rows = [export_row(ID=str(index), **{"Customer Email": e}) for index, e in enumerate(emails)]
    spill = tmp_path / "spill"
    spill.mkdir()
    validated = validate_export(
        read_transactions_export(write_export(tmp_path / "e.csv", rows)), spill_dir=spill
    )

    parts = list(validated.valid_partitions("email", ["email"], part_rows=10))

    assert len(parts) == 4
    assert sorted(pl.concat(parts)["_line"].to_list()) == list(range(2, 42))
    part_of = {email: i for i, part in enumerate(parts) for email in part["email"]}
    assert all(
        set(part["email"]) == {e for e, i in part_of.items() if i == n}
        for n, part in enumerate(parts)
    )
