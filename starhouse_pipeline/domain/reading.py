"""Reading a Kajabi transactions export into an all-text frame, with exact line numbers.

Two parsers cooperate: Python's strict `csv` reader walks the file once to find each
record's starting line and field count (and fails fast, naming the line, on broken
quoting); polars then reads the same bytes fast into columns. When the two disagree on the
record count, or a row is ragged, the frame is built from the strict reader instead, so
what reaches the rules is always exactly what the file says.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from starhouse_pipeline.domain.export_contract import (
    TRANSACTION_COLUMNS,
    ExportContractError,
    HeaderMapping,
    is_unnamed_column,
    map_header,
)

LINE_COLUMN = "_line"
STRUCTURE_ERROR_COLUMN = "_structure_error"
# Fields beyond the header's width, as a JSON list, so a ragged row is kept whole.
EXTRA_FIELDS_COLUMN = "_extra_fields"

# cp1252 leaves these bytes undefined; seeing one means the file is not cp1252 either.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# A UTF-8 lead byte followed by a continuation byte: the start of a multi-byte character.
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# What UTF-8 looks like after a spreadsheet read it as cp1252 and saved it again as UTF-8:
# a lead byte shown as Â..ô followed by continuation bytes shown as cp1252 characters
# ("Ã©" for "é", "â€™" for "’"). Each candidate is confirmed by undoing the damage.
_CP1252_CONTINUATION = "".join(
    re.escape(bytes([byte]).decode("cp1252"))
    for byte in range(0x80, 0xC0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
)
_MOJIBAKE_CANDIDATE = re.compile(f"[\u00c2-\u00f4][{_CP1252_CONTINUATION}]{{1,3}}")

# Files an operator may pick by mistake, named so the message says what they are.
_BINARY_MAGIC: dict[bytes, str] = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook is one)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
    b"\x1f\x8b": "gzip-compressed",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
}


class ExportFileError(ExportContractError):
    """A whole-file problem: the run stops before anything is written."""


@dataclass(frozen=True)
class ExportFile:
    """Facts about the file itself, safe to show anywhere."""

    path: str
    name: str
    size_bytes: int
    sha256: str
    encoding: str


@dataclass(frozen=True)
class RawExport:
    """One export as read: every value text, plus its line number and any structural error."""

    file: ExportFile
    header: HeaderMapping
    rows: pl.DataFrame
    blank_lines_skipped: int = 0


def read_transactions_export(path: str | Path) -> RawExport:
    """Read and contract-check one export; raise ExportFileError for whole-file problems."""
    path = Path(path)
    if not path.is_file():
        raise ExportFileError(f"{path}: no such file")
    data = path.read_bytes()
    text, encoding = decode_export(path.name, data)
    scan = _scan_records(path.name, text)
    _refuse_other_delimiters(path.name, scan.header)
    header = map_header(path.name, scan.header)
    rows = _frame_from_polars(text, encoding, data, header, scan)
    if rows is None:
        rows = _frame_from_records(path.name, text, header)
    if EXTRA_FIELDS_COLUMN not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(EXTRA_FIELDS_COLUMN))
    rows = rows.with_columns(
        pl.Series(LINE_COLUMN, scan.start_lines, dtype=pl.Int64),
        pl.Series(STRUCTURE_ERROR_COLUMN, scan.structure_errors(len(header.canonical_names))),
    )
    rows = _add_missing_optional_columns(rows, header)
    rows, header = _drop_empty_unnamed_columns(rows, header)
    file = ExportFile(
        path=str(path),
        name=path.name,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
    )
    return RawExport(file=file, header=header, rows=rows, blank_lines_skipped=scan.blank_lines)


def decode_export(file_name: str, data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (BOM optional); fall back to cp1252 only when that is certain."""
    if not data.strip():
        raise ExportFileError(f"{file_name}: the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportFileError(
            f"{file_name}: the file is UTF-16 (a spreadsheet's 'Unicode text'); "
            "save it as CSV UTF-8 or export it from Kajabi again"
        )
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ExportFileError(
                f"{file_name}: the file is {kind}, not a CSV export; export the transactions "
                "from Kajabi as CSV"
            )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ExportFileError(
            f"{file_name}: line {line}: NUL byte: a binary file, not a CSV export"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        utf8_error = error
    else:
        if not text.strip():
            raise ExportFileError(f"{file_name}: the file is empty")
        _refuse_double_encoding(file_name, text)
        return _without_eof_marker(text), "utf-8"
    if _certainly_cp1252(data):
        return _without_eof_marker(data.decode("cp1252")), "cp1252"
    line = data[: utf8_error.start].count(b"\n") + 1
    raise ExportFileError(
        f"{file_name}: line {line}: not valid UTF-8 (byte 0x{data[utf8_error.start]:02x}) and not "
        "certainly cp1252/Latin-1; re-export it as UTF-8"
    )


def _without_eof_marker(text: str) -> str:
    """Drop the Ctrl-Z that some Windows tools still append as an end-of-file mark."""
    return text[:-1] if text.endswith("\x1a") else text


def _certainly_cp1252(data: bytes) -> bool:
    """A spreadsheet's cp1252/Latin-1 file: no UTF-8 sequences at all, no undefined bytes.

    Mixed files (some valid UTF-8 multi-byte sequences next to stray high bytes) are
    refused, because decoding either way would load mojibake for some rows.
    """
    if _CP1252_UNDEFINED.search(data):
        return False
    return not _UTF8_MULTIBYTE.search(data)


def _refuse_double_encoding(file_name: str, text: str) -> None:
    """Refuse UTF-8 text that was already decoded once as cp1252 (mojibake such as "Ã©")."""
    for match in _MOJIBAKE_CANDIDATE.finditer(text):
        for length in range(2, len(match.group()) + 1):
            damaged = match.group()[:length]
            try:
                original = damaged.encode("cp1252").decode("utf-8")
            except UnicodeError:
                continue
            line = text.count("\n", 0, match.start()) + 1
            raise ExportFileError(
                f"{file_name}: line {line}: the text is double-encoded (mojibake such as "
                f"'{damaged}' for '{original}'), probably by a spreadsheet; export it "
                "from Kajabi again, or save it from the spreadsheet as CSV UTF-8"
            )


@dataclass
class _Scan:
    header: list[str]
    start_lines: list[int]
    field_counts: list[int]
    blank_lines: int

    def structure_errors(self, expected: int) -> pl.Series:
        counts = pl.Series(self.field_counts, dtype=pl.Int64)
        return (
            pl.select(
                pl.when(counts != expected)
                .then(pl.format("row has {} fields, the header has {}", counts, pl.lit(expected)))
                .otherwise(None)
            )
            .to_series()
            .alias(STRUCTURE_ERROR_COLUMN)
        )


def _strict_reader(text: str) -> csv.reader:
    csv.field_size_limit(sys.maxsize)
    return csv.reader(io.StringIO(text, newline=""), strict=True)


def _scan_records(file_name: str, text: str) -> _Scan:
    reader = _strict_reader(text)
    scan = _Scan(header=[], start_lines=[], field_counts=[], blank_lines=0)
    next_line = 1
    try:
        for record in reader:
            if not scan.header:
                scan.header = record
            elif not record:
                scan.blank_lines += 1
            else:
                scan.start_lines.append(next_line)
                scan.field_counts.append(len(record))
            next_line = reader.line_num + 1
    except csv.Error as error:
        raise ExportFileError(
            f"{file_name}: line {next_line}: malformed CSV ({error}); the file may be truncated"
        ) from error
    if not scan.header:
        raise ExportFileError(f"{file_name}: the file has no header row")
    return scan


def _frame_from_polars(
    text: str, encoding: str, data: bytes, header: HeaderMapping, scan: _Scan
) -> pl.DataFrame | None:
    """Fast path for well-formed files; None when the strict reader must build the frame."""
    expected = len(header.canonical_names)
    if scan.blank_lines or any(count != expected for count in scan.field_counts):
        return None
    source = data if encoding == "utf-8" else text.encode("utf-8")
    try:
        frame = pl.read_csv(
            source,
            has_header=True,
            new_columns=list(header.canonical_names),
            infer_schema=False,
            empty_string_is_null=False,
            quote_char='"',
        )
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == len(scan.start_lines) else None


def _frame_from_records(file_name: str, text: str, header: HeaderMapping) -> pl.DataFrame:
    width = len(header.canonical_names)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    extra: list[str | None] = []
    reader = _strict_reader(text)
    next(reader)
    for record in reader:
        if not record:
            continue
        padded = record[:width] + [None] * (width - len(record))
        for index, value in enumerate(padded):
            columns[index].append(value)
        extra.append(
            json.dumps(record[width:], ensure_ascii=False) if len(record) > width else None
        )
    return pl.DataFrame(
        {
            **{
                name: pl.Series(name, values, dtype=pl.String)
                for name, values in zip(header.canonical_names, columns, strict=True)
            },
            EXTRA_FIELDS_COLUMN: pl.Series(EXTRA_FIELDS_COLUMN, extra, dtype=pl.String),
        }
    )


def _refuse_other_delimiters(file_name: str, header: list[str]) -> None:
    """A one-column header holding `;` or tabs: a spreadsheet saved with another separator."""
    if len(header) != 1:
        return
    for delimiter, said in ((";", "';'"), ("\t", "tabs")):
        if delimiter in header[0]:
            raise ExportFileError(
                f"{file_name}: the columns are separated by {said}, not commas (a spreadsheet "
                "set to another locale?); save it as CSV with commas or export it again"
            )


def _drop_empty_unnamed_columns(
    rows: pl.DataFrame, header: HeaderMapping
) -> tuple[pl.DataFrame, HeaderMapping]:
    """Blank-headed columns a spreadsheet added are dropped when no row has a value there;
    one that holds values is kept (in each row's raw JSON) under its unnamed-column name."""
    empty = [
        name
        for name in header.canonical_names
        if is_unnamed_column(name)
        and rows.get_column(name).fill_null("").str.strip_chars().eq("").all()
    ]
    if not empty:
        return rows, header
    keep = tuple(name for name in header.canonical_names if name not in empty)
    extra = tuple(name for name in header.extra if name not in empty)
    return rows.drop(empty), replace(header, canonical_names=keep, extra=extra)


def _add_missing_optional_columns(rows: pl.DataFrame, header: HeaderMapping) -> pl.DataFrame:
    missing = [column for column in TRANSACTION_COLUMNS if column not in rows.columns]
    return rows.with_columns(pl.lit(None, dtype=pl.String).alias(column) for column in missing)
