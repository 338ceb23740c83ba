from pathlib import Path

import polars as pl
import pytest

from starhouse_pipeline.domain import reading
from starhouse_pipeline.domain.export_spec import ExportContractError
from starhouse_pipeline.domain.exports import read_transactions_export
from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline_tests.support import export_row, write_export


def test_reads_bom_crlf_quoted_commas_and_newlines_with_exact_line_numbers(tmp_path: Path):
    rows = [
        export_row(ID="1", Address="1 Main St, Apt 2"),
        export_row(ID="2", Address="line one\r\nline two"),
        export_row(ID="3"),
    ]
    raw = read_transactions_export(write_export(tmp_path / "export.csv", rows))

    assert raw.rows.get_column("ID").to_list() == ["1", "2", "3"]
    assert raw.rows.get_column("Address").to_list()[:2] == [
        "1 Main St, Apt 2",
        "line one\r\nline two",
    ]
    # Row 2 spans lines 3-4, so row 3 starts on line 5.
    assert raw.rows.get_column(LINE_COLUMN).to_list() == [2, 3, 5]
    assert raw.file.encoding == "utf-8"
    assert len(raw.file.sha256) == 64


def test_every_value_is_kept_as_text(tmp_path: Path):
    raw = read_transactions_export(write_export(tmp_path / "e.csv", [export_row(Amount="0022.10")]))
    assert raw.rows.get_column("Amount").to_list() == ["0022.10"]


def test_extra_and_reordered_columns_are_accepted_and_kept(tmp_path: Path):
    columns = ["Internal Note", *reversed(TRANSACTION_COLUMNS)]
    row = {**export_row(ID="7"), "Internal Note": "vip"}
    raw = read_transactions_export(write_export(tmp_path / "e.csv", [row], columns))

    assert raw.header.extra == ("Internal Note",)
    assert raw.rows.row(0, named=True)["ID"] == "7"
    assert raw.rows.row(0, named=True)["Internal Note"] == "vip"


def test_missing_required_columns_name_the_file_and_the_columns(tmp_path: Path):
    columns = [c for c in TRANSACTION_COLUMNS if c not in ("Amount", "Customer Email")]
    path = write_export(tmp_path / "no_amount.csv", [export_row()], columns)

    with pytest.raises(ExportContractError) as error:
        read_transactions_export(path)
    assert "no_amount.csv" in str(error.value)
    assert "Amount" in str(error.value)
    assert "Customer Email" in str(error.value)


def test_missing_optional_columns_are_reported_and_read_as_empty(tmp_path: Path):
    columns = [c for c in TRANSACTION_COLUMNS if c != "Card Funding"]
    raw = read_transactions_export(write_export(tmp_path / "e.csv", [export_row()], columns))
    assert raw.header.missing_optional == ("Card Funding",)
    assert raw.rows.get_column("Card Funding").to_list() == [None]


def test_header_variants_of_the_same_columns_are_recognized(tmp_path: Path):
    renamed = {"Order No.": "order no", "Zipcode": "Zip Code", "Address": "Address Line 1"}
    columns = [renamed.get(c, c) for c in TRANSACTION_COLUMNS]
    row = {renamed.get(k, k): v for k, v in export_row(Zipcode="80302", Address="1 Main").items()}
    raw = read_transactions_export(write_export(tmp_path / "e.csv", [row], columns))

    assert raw.header.extra == ()
    assert raw.header.missing_optional == ()
    assert raw.rows.select("Zipcode", "Address").row(0) == ("80302", "1 Main")


def _multiline_export(tmp_path: Path) -> Path:
    rows = [
        export_row(ID=str(n), Address=f"{n} Main St\r\nunit {n}" if n % 2 else f"{n}, Elm St")
        for n in range(1, 8)
    ]
    return write_export(tmp_path / "export.csv", rows)


def test_batches_read_by_byte_range_equal_the_whole_file_read_at_once(tmp_path: Path):
    raw = read_transactions_export(_multiline_export(tmp_path))
    assert raw.parsed is None  # a regular UTF-8 file is streamed from disk, not held

    batches = list(raw.batches(batch_rows=3))

    assert [batch.height for batch in batches] == [3, 3, 1]
    assert pl.concat(batches).equals(raw.lazy().collect())
    assert batches[1].get_column("Address").to_list() == [
        "4, Elm St",
        "5 Main St\r\nunit 5",
        "6, Elm St",
    ]


@pytest.mark.parametrize("strict", [False, True], ids=["by_byte_range", "strict_reader"])
def test_batches_of_some_lines_are_exactly_those_rows_of_the_whole_read(
    tmp_path: Path, strict: bool
):
    path = _multiline_export(tmp_path)
    if strict:  # a blank line sends the file down the strict reader's path
        path.write_bytes(path.read_bytes() + b"\r\n")
    raw = read_transactions_export(path)
    assert (raw.parsed is not None) == strict
    whole = raw.lazy().collect()
    # Runs of consecutive records, lone ones, a multi-line record and the file's last.
    lines = whole.get_column(LINE_COLUMN).gather([0, 1, 4, 6])

    batches = list(raw.batches(batch_rows=2, lines=lines))

    wanted = whole.filter(pl.col(LINE_COLUMN).is_in(lines.implode()))
    assert pl.concat(batches).equals(wanted)
    assert "5 Main St\r\nunit 5" in wanted.get_column("Address").to_list()


def test_batches_refuse_lines_that_are_not_the_exports_records(tmp_path: Path):
    raw = read_transactions_export(_multiline_export(tmp_path))

    with pytest.raises(ValueError, match="line numbers of this export's records"):
        list(raw.batches(lines=pl.Series([2, 3, 999])))


def test_a_carriage_return_alone_is_read_exactly_by_the_strict_reader(tmp_path: Path):
    path = write_export(
        tmp_path / "export.csv", [export_row(ID="1", Address="a\rb"), export_row(ID="2")]
    )
    raw = read_transactions_export(path)

    assert raw.parsed is not None
    assert raw.rows.get_column("Address").to_list()[0] == "a\rb"
    assert raw.rows.get_column(LINE_COLUMN).to_list() == [2, 4]


def test_a_file_changed_after_it_was_read_stops_the_import(tmp_path: Path):
    path = _multiline_export(tmp_path)
    raw = read_transactions_export(path)
    path.write_bytes(path.read_bytes().replace(b"Elm", b"Oak"))

    with pytest.raises(
        ExportContractError, match=r"export\.csv: the file changed after it was read"
    ):
        list(raw.batches())


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 5, 8, 13, 64])
def test_double_encoding_is_found_wherever_the_file_is_split_into_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_bytes: int
):
    """The byte search that decides which blocks' text is searched misses no candidate that
    crosses a block's border."""
    monkeypatch.setattr(reading, "_CHUNK_BYTES", block_bytes)
    rows = [export_row(ID="1001"), export_row(ID="1002", Customer_Name="JosÃ© Müller")]
    path = write_export(tmp_path / "export.csv", rows)
    with pytest.raises(reading.ExportFileError, match="line 3: the text is double-encoded"):
        read_transactions_export(path)


def test_an_export_as_kajabi_writes_it_is_scanned_by_byte_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """BOM, CRLF, quoted delimiters and line breaks: the strict reader is not needed."""

    def refuse(*args):
        raise AssertionError("the strict reader was used")

    monkeypatch.setattr(reading, "_strict_scan", refuse)
    rows = [export_row(ID="1"), export_row(ID="2", Customer_Name='A "B", C\nD'), export_row()]
    raw = read_transactions_export(write_export(tmp_path / "export.csv", rows))
    assert raw.lines.get_column(LINE_COLUMN).to_list() == [2, 3, 5]
    assert raw.lazy().collect().get_column("Customer Name")[1] == 'A "B", C\nD'


@pytest.mark.parametrize("strict", [False, True], ids=["by_byte_range", "strict_reader"])
def test_batches_mapped_on_threads_come_back_in_file_order(tmp_path: Path, strict: bool):
    path = _multiline_export(tmp_path)
    if strict:
        path.write_bytes(path.read_bytes() + b"\r\n")
    raw = read_transactions_export(path)
    lines = raw.lazy().collect().get_column(LINE_COLUMN).gather([0, 2, 3, 4, 6])

    def first_lines(batch: pl.DataFrame) -> list[int]:
        return batch.get_column(LINE_COLUMN).to_list()

    mapped = list(raw.map_batches(first_lines, batch_rows=2, lines=lines, threads=3))

    assert mapped == [first_lines(batch) for batch in raw.batches(batch_rows=2, lines=lines)]
    assert [line for batch in mapped for line in batch] == lines.to_list()


def test_mapping_on_threads_takes_no_more_batches_ahead_than_it_has_threads():
    taken: list[int] = []

    def items():
        for item in range(10):
            taken.append(item)
            yield item

    results = reading._ordered_map(lambda item: (item, len(taken)), items(), threads=3)

    for item, taken_when_done in results:
        assert len(taken) == min(item + 3, 10)  # taken ahead while this one is handed out
        assert taken_when_done <= item + 3
