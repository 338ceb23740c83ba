"""Row problems: the row is quarantined with its line and reason, and the rest loads."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.exports import read_transactions_export
from starhouse_pipeline.domain.validation import ValidatedExport, validate_export
from starhouse_pipeline.warehouse.tables import import_runs, quarantined_rows, transactions
from starhouse_pipeline_tests.bad_input.corpus import csv_text
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.support import check_results, export_row, fetch_all

SEVERAL_MEGABYTES = 3 * 1024 * 1024

# (case, overrides of one otherwise good row, rule, words of the reason)
ROW_CASES: list[tuple[str, dict[str, str], str, str]] = [
    (
        "amount_unparseable",
        {"Amount": "twenty"},
        "amount_parses",
        "Amount (value not shown) is not",
    ),
    ("amount_empty", {"Amount": ""}, "amount_parses", "Amount is empty"),
    ("amount_parentheses", {"Amount": "(12.00)"}, "amount_parses", "'(12.00)' is not"),
    ("amount_european", {"Amount": "1.234,50"}, "amount_parses", "'1.234,50' is not"),
    ("amount_three_decimals", {"Amount": "12.345"}, "amount_parses", "'12.345' is not"),
    ("amount_two_signs", {"Amount": "--5.00"}, "amount_parses", "'--5.00' is not"),
    ("amount_bad_grouping", {"Amount": "1,23.00"}, "amount_parses", "'1,23.00' is not"),
    ("amount_euro_sign", {"Amount": "€12.00"}, "amount_parses", "'€12.00' is not"),
    ("amount_too_large", {"Amount": "12345678901.00"}, "amount_parses", "is not an exact"),
    ("currency_unknown", {"Currency": "US$"}, "currency_code", "Currency 'US$'"),
    ("date_unparseable", {"Created_At": "yesterday"}, "created_at_parses", "'yesterday'"),
    ("date_empty", {"Created_At": ""}, "created_at_parses", "is not a date"),
    (
        "date_impossible",
        {"Created_At": "2025-02-30 04:11:00 -0700"},
        "created_at_parses",
        "is not a date and time",
    ),
    (
        "date_without_offset",
        {"Created_At": "2025-11-08 04:11:00"},
        "created_at_offset",
        "has no time-zone offset",
    ),
    ("date_only", {"Created_At": "2025-11-08"}, "created_at_offset", "no time-zone offset"),
    ("type_unknown", {"Type": "dispute"}, "known_type", "unknown Type 'dispute'"),
    ("type_empty", {"Type": ""}, "known_type", "unknown Type ''"),
    ("status_unknown", {"Status": "refunded"}, "known_status", "unknown Status 'refunded'"),
    ("id_missing", {"ID": ""}, "id_present", "ID is empty"),
    ("id_not_a_number", {"ID": "TX-12"}, "id_numeric", "ID 'TX-12' is not"),
    ("email_missing", {"Customer_Email": ""}, "email_valid", "Customer Email is missing"),
    (
        "email_malformed",
        {"Customer_Email": "ann(at)example.com"},
        "email_valid",
        "missing or malformed",
    ),
    ("email_two_ats", {"Customer_Email": "a@b@example.com"}, "email_valid", "malformed"),
    (
        "refund_positive",
        {"Type": "refund", "Amount": "22.00"},
        "refund_amount_is_not_positive",
        "refund is positive",
    ),
    (
        "purchase_negative",
        {"Type": "charge", "Amount": "-22.00"},
        "sale_amount_is_not_negative",
        "purchase or subscription is negative",
    ),
    (
        "field_of_several_megabytes",
        {"Offer_Title": "x" * SEVERAL_MEGABYTES},
        "field_size",
        "a field is longer than",
    ),
]


def _with(row: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    return {**row, **{key.replace("_", " "): value for key, value in overrides.items()}}


def _validate(tmp_path: Path, text: str) -> ValidatedExport:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8", newline="")
    return validate_export(read_transactions_export(path))


def _only_quarantined(validated: ValidatedExport) -> dict:
    assert validated.quarantined.height == 1, validated.quarantined
    return validated.quarantined.row(0, named=True)


@pytest.mark.parametrize(
    ("overrides", "rule", "reason"),
    [case[1:] for case in ROW_CASES],
    ids=[case[0] for case in ROW_CASES],
)
def test_bad_row_is_quarantined_with_line_and_reason(
    tmp_path: Path, overrides: dict[str, str], rule: str, reason: str
) -> None:
    good = export_row(ID="1001")
    bad = _with(export_row(ID="1002"), overrides)
    validated = _validate(tmp_path, csv_text([good, bad, export_row(ID="1003")]))

    row = _only_quarantined(validated)
    assert row["_line"] == 3
    assert row["quarantine_rule"] == rule
    assert reason in row["quarantine_reason"]
    assert json.loads(row["raw_json"]) == bad
    assert validated.valid.get_column("external_transaction_id").to_list() == ["1001", "1003"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22.00", "22.00"),
        ("22", "22.00"),
        ("0.5", "0.50"),
        ("$1,234.50", "1234.50"),
        ("1,234,567.89", "1234567.89"),
        ("-22.00", "-22.00"),
        ("-$1,234.50", "-1234.50"),
        ("$-22.00", "-22.00"),
        (" 22.00 ", "22.00"),
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_kajabi_and_spreadsheet_amounts_parse_exactly(
    tmp_path: Path, text: str, expected: str
) -> None:
    kind = "refund" if text.strip().startswith(("-", "$-")) else "charge"
    validated = _validate(tmp_path, csv_text([export_row(Amount=text, Type=kind)]))
    assert validated.quarantined.is_empty(), validated.quarantined
    assert validated.valid.get_column("amount").to_list() == [Decimal(expected)]


def test_conflicting_duplicate_ids_quarantine_every_copy_and_identical_ones_collapse(
    tmp_path: Path,
) -> None:
    rows = [
        export_row(ID="1001"),
        export_row(ID="2000", Amount="22.00"),
        export_row(ID="1001"),
        export_row(ID="2000", Amount="44.00"),
    ]
    validated = _validate(tmp_path, csv_text(rows))
    quarantined = validated.quarantined.sort("_line")
    assert quarantined.get_column("_line").to_list() == [3, 5]
    assert set(quarantined.get_column("quarantine_rule")) == {"unique_id"}
    assert "ID 2000 appears with different values on lines 3, 5" in quarantined.row(0)[3]
    assert validated.collapsed_lines == [4]
    assert validated.valid.get_column("external_transaction_id").to_list() == ["1001"]


def test_too_many_and_too_few_fields_are_quarantined_and_kept_whole(tmp_path: Path) -> None:
    good = csv_text([export_row(ID="1001")])
    too_many = csv_text([export_row(ID="1002")]).split("\r\n")[1] + ",surplus,ann@example.com"
    too_few = "1003,22.00,USD,succeeded"
    validated = _validate(tmp_path, f"{good}{too_many}\r\n{too_few}\r\n")

    quarantined = validated.quarantined.sort("_line")
    assert quarantined.get_column("_line").to_list() == [3, 4]
    assert set(quarantined.get_column("quarantine_rule")) == {"well_formed_row"}
    assert quarantined.get_column("quarantine_reason").to_list() == [
        "row has 30 fields, the header has 28",
        "row has 4 fields, the header has 28",
    ]
    assert json.loads(quarantined.row(0, named=True)["raw_json"])["_extra_fields"] == [
        "surplus",
        "ann@example.com",
    ]
    assert json.loads(quarantined.row(1, named=True)["raw_json"])["Currency"] == "USD"
    assert validated.valid.height == 1


def test_values_quoted_in_reasons_never_carry_personal_data(tmp_path: Path) -> None:
    """A row shifted by a column puts an email, phone or street where a code belongs; the
    reason quotes only values shaped like what the column should hold."""
    rows = [
        export_row(ID="1001", Amount="ann.lee@example.com"),
        export_row(ID="1002", Type="+1 (303) 555-0101"),
        export_row(ID="1003", Status="Ann Lee"),
        export_row(ID="1004", Created_At="1234 Elm Street"),
        export_row(ID="(720) 555-0199"),
        export_row(ID="1006", Amount="303.555.0177"),
        export_row(ID="1007", Currency="ann@x.io"),
        export_row(ID="1008", Created_At="x" * 500),
    ]
    validated = _validate(tmp_path, csv_text(rows))
    reasons = validated.quarantined.get_column("quarantine_reason").to_list()
    assert len(reasons) == len(rows)
    text = " ".join(reasons)
    for personal in ("ann", "Ann", "555", "Elm", "720", "303", "xxxx"):
        assert personal not in text
    assert text.count("(value not shown)") == len(rows)


def _mixed_export(tmp_path: Path) -> tuple[Path, int, dict[str, str]]:
    """Good rows, then one row per case, then ragged rows; returns path, good count, rules."""
    good = [export_row(ID=str(5000 + n), Customer_Email=f"c{n}@example.com") for n in range(5)]
    bad = []
    for n, (_name, overrides, _rule, _reason) in enumerate(ROW_CASES):
        bad.append(_with(export_row(ID=str(7000 + n)), overrides))
    text = csv_text(good + bad) + "7999,22.00,USD\r\n"
    path = tmp_path / "mixed.csv"
    path.write_text(text, encoding="utf-8-sig", newline="")
    rules = {str(2 + len(good) + n): case[2] for n, case in enumerate(ROW_CASES)}
    rules[str(2 + len(good) + len(bad))] = "well_formed_row"
    return path, len(good), rules


def test_bad_rows_are_quarantined_in_the_warehouse_while_the_rest_loads(
    database_url: str, tmp_path: Path
) -> None:
    path, good, rules = _mixed_export(tmp_path)
    result = run_job(database_url, path, max_quarantine_share=1.0)

    assert result.success
    assert all(check_results(result).values())
    stored = fetch_all(
        database_url,
        sa.select(
            quarantined_rows.c.line_number,
            quarantined_rows.c.rule,
            quarantined_rows.c.reason,
            quarantined_rows.c.raw_row,
            quarantined_rows.c.source_file,
        ),
    )
    assert {str(row.line_number): row.rule for row in stored} == rules
    assert all(row.reason and row.source_file == "mixed.csv" for row in stored)
    big = next(row for row in stored if row.rule == "field_size")
    assert len(big.raw_row["Offer Title"]) == SEVERAL_MEGABYTES
    loaded = fetch_all(database_url, sa.select(transactions.c.external_transaction_id))
    assert sorted(row[0] for row in loaded) == [str(5000 + n) for n in range(good)]
    run = fetch_all(database_url, sa.select(import_runs))[0]
    assert (run.rows_read, run.rows_quarantined, run.rows_new) == (
        good + len(rules),
        len(rules),
        good,
    )


def test_quarantine_frame_has_one_row_per_bad_line(tmp_path: Path) -> None:
    path, _good, rules = _mixed_export(tmp_path)
    validated = validate_export(read_transactions_export(path))
    lines = validated.quarantined.get_column("_line").cast(pl.String).to_list()
    assert sorted(lines, key=int) == sorted(rules, key=int)
