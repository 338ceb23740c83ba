"""Whole-file problems: the run fails before any write, naming the file and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.export_spec import ExportContractError
from starhouse_pipeline.domain.exports import read, read_transactions_export
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY
from starhouse_pipeline.domain.reading import ExportFileError
from starhouse_pipeline.domain.validation import validate_export
from starhouse_pipeline.settings import SAMPLE_PAYPAL_EXPORT
from starhouse_pipeline.warehouse.tables import import_runs, quarantined_rows, transactions
from starhouse_pipeline_tests.bad_input.corpus import WHOLE_FILE_CASES, WholeFileCase, csv_text
from starhouse_pipeline_tests.support import (
    export_row,
    fetch_all,
    materialization_metadata,
    run_import,
    write_export,
)

_CASES = {case.name: case for case in WHOLE_FILE_CASES}


def _write(tmp_path: Path, case: WholeFileCase) -> Path:
    path = tmp_path / f"{case.name}.csv"
    path.write_bytes(case.content)
    return path


def _step_failure(result) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert len(failures) == 1
    assert failures[0].step_key == "raw_kajabi_csv"
    return failures[0].step_failure_data.error.message


@pytest.mark.parametrize("case", WHOLE_FILE_CASES, ids=lambda case: case.name)
def test_whole_file_problem_is_refused_with_file_and_reason(
    tmp_path: Path, case: WholeFileCase
) -> None:
    path = _write(tmp_path, case)
    with pytest.raises(ExportContractError) as raised:
        read_transactions_export(path)
    message = str(raised.value)
    assert message.startswith(f"{case.name}.csv: ")
    for words in case.message:
        assert words in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExportFileError, match=r"nowhere\.csv: no such file"):
        read_transactions_export(tmp_path / "nowhere.csv")


@pytest.mark.parametrize(
    "case_name", ["empty", "people_export", "truncated_mid_quote", "double_encoded_utf8"]
)
def test_run_fails_before_any_write(database_url: str, tmp_path: Path, case_name: str) -> None:
    case = _CASES[case_name]
    result = run_import(database_url, _write(tmp_path, case))
    assert not result.success
    message = _step_failure(result)
    assert f"{case.name}.csv" in message
    assert case.message[0] in message
    assert not result.asset_materializations_for_node("validated_transactions")
    for table in (import_runs, quarantined_rows, transactions):
        assert fetch_all(database_url, sa.select(sa.func.count()).select_from(table)) == [(0,)]


def test_header_only_is_a_successful_run_of_zero_rows(database_url: str, tmp_path: Path) -> None:
    """Kajabi writes a header-only export for a period without sales; that is not an error.

    Failing would turn a quiet day into a red run of the daily schedule; the report and the
    import_runs row say zero rows were read, which is the truth.
    """
    path = write_export(tmp_path / "header_only.csv", [])
    result = run_import(database_url, path)
    assert result.success
    metadata = materialization_metadata(result, "validated_transactions")
    assert metadata["rows_read"] == 0
    assert metadata["quarantined"] == 0
    runs = fetch_all(database_url, sa.select(import_runs.c.rows_read, import_runs.c.rows_new))
    assert runs == [(0, 0)]


def test_certain_cp1252_is_decoded_exactly(tmp_path: Path) -> None:
    """A spreadsheet's cp1252 save: no UTF-8 sequences, no byte cp1252 leaves undefined."""
    name = "José Müller’s “Reading”"
    path = tmp_path / "cp1252.csv"
    path.write_bytes(
        csv_text([export_row(Customer_Name=name, Offer_Title="Café — 2€")]).encode("cp1252")
    )
    raw = read_transactions_export(path)
    assert raw.file.encoding == "cp1252"
    assert raw.rows.get_column("Customer Name").to_list() == [name]
    assert raw.rows.get_column("Offer Title").to_list() == ["Café — 2€"]


def test_latin1_file_decodes_as_cp1252(tmp_path: Path) -> None:
    """Latin-1 and cp1252 agree on every printable character, so Latin-1 files decode too."""
    path = tmp_path / "latin1.csv"
    path.write_bytes(csv_text([export_row(Customer_Name="Zoë Brontë")]).encode("latin-1"))
    raw = read_transactions_export(path)
    assert raw.rows.get_column("Customer Name").to_list() == ["Zoë Brontë"]


def test_utf8_with_bom_and_crlf_is_not_mistaken_for_anything_else(tmp_path: Path) -> None:
    path = write_export(tmp_path / "good.csv", [export_row(Customer_Name="Zoë ’ Ã")])
    raw = read_transactions_export(path)
    assert raw.file.encoding == "utf-8"
    assert raw.rows.get_column("Customer Name").to_list() == ["Zoë ’ Ã"]


def test_blank_headed_columns_a_spreadsheet_added_are_dropped_when_empty(tmp_path: Path) -> None:
    text = csv_text([export_row(ID="1001"), export_row(ID="1002")])
    lines = text.split("\r\n")
    padded = [lines[0] + ",,", lines[1] + ",,", lines[2] + ",,note", ""]
    path = tmp_path / "from_spreadsheet.csv"
    path.write_text("\r\n".join(padded), encoding="utf-8", newline="")

    raw = read_transactions_export(path)
    validated = validate_export(raw)
    assert validated.quarantined.is_empty()
    sources = [json.loads(value) for value in validated.raw_sources()]
    assert "(unnamed column 29)" not in sources[0]
    assert sources[0]["(unnamed column 30)"] == ""
    assert sources[1]["(unnamed column 30)"] == "note"
    assert raw.header.extra == ("(unnamed column 30)",)


@pytest.mark.parametrize(
    ("variant", "change"),
    [
        ("cr_only", lambda text: text.replace("\r\n", "\r")),
        ("lf_only", lambda text: text.replace("\r\n", "\n")),
        ("no_final_newline", lambda text: text.rstrip("\r\n")),
        ("ctrl_z_end_of_file", lambda text: text + "\x1a"),
        ("blank_lines_between", lambda text: text.replace("\r\n1002", "\r\n\r\n1002")),
    ],
)
def test_line_ending_variants_read_the_same_rows(tmp_path: Path, variant: str, change) -> None:
    rows = [export_row(ID="1001"), export_row(ID="1002", Customer_Name="two\nlines")]
    path = tmp_path / f"{variant}.csv"
    path.write_text(change(csv_text(rows)), encoding="utf-8", newline="")
    validated = validate_export(read_transactions_export(path))
    assert validated.quarantined.is_empty()
    assert validated.valid.get_column("external_transaction_id").to_list() == ["1001", "1002"]
    assert validated.valid.get_column("customer_name").to_list() == ["Ann Lee", "two\nlines"]


def test_an_export_given_to_the_other_source_import_says_which_export_it_is(tmp_path: Path):
    paypal = tmp_path / "Download.tsv"
    paypal.write_bytes(SAMPLE_PAYPAL_EXPORT.read_bytes())
    with pytest.raises(ExportContractError, match="this is a PayPal activity export, not a Kajabi"):
        read_transactions_export(paypal)
    kajabi = tmp_path / "transactions.csv"
    kajabi.write_text(csv_text([export_row()]), encoding="utf-8")
    with pytest.raises(ExportContractError, match="this is a Kajabi transactions export, not a"):
        read(kajabi, PAYPAL_ACTIVITY)
