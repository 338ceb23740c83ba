"""Reading any export into an all-text frame, with exact line numbers: one reader for all.

What a file must look like (its columns, its delimiter) comes from the export's spec
(`domain/export_spec.py`).

Two parsers cooperate: Python's strict `csv` reader walks the file once to find each
record's starting line and field count (and fails fast, naming the line, on broken
quoting); polars then reads the same bytes fast into columns. When the two disagree on the
record count, or a row is ragged, the frame is built from the strict reader instead, so
what reaches the rules is always exactly what the file says.
"""

from __future__ import annotations

import array
import codecs
import csv
import hashlib
import io
import json
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import polars as pl

from starhouse_pipeline.domain.export_spec import (
    ExportContractError,
    ExportSpec,
    HeaderMapping,
    is_unnamed_column,
    map_header,
    recognize_line,
    with_delimiter_of,
)
from starhouse_pipeline.domain.fields import LINE_COLUMN, STRUCTURE_ERROR_COLUMN
from starhouse_pipeline.domain.record_scan import scan_record_starts

S = TypeVar("S")
T = TypeVar("T")

# Fields beyond the header's width, as a JSON list, so a ragged row is kept whole.
EXTRA_FIELDS_COLUMN = "_extra_fields"

_CHUNK_BYTES = 16 * 1024 * 1024
# Enough of a file's start to hold its header line, however wide.
_HEADER_BYTES = 64 * 1024
# A carriage return not followed by a line feed (checked per chunk; one split across chunks
# is taken for one, which only sends the file down the slower, exact path).
_BARE_CR = re.compile(rb"\r(?!\n)")
BYTE_OFFSET_COLUMN = "_byte_offset"
# Batches parsed and computed at once by `RawExport.map_batches`: one per core, and one
# more while the next batch's bytes are read (measured at 1M rows on 2 cores: 3.4 s on one
# thread, 2.4 s on two, 1.8 s on three). At most four: each thread holds a batch.
BATCH_THREADS = min(4, (os.cpu_count() or 1) + 1)
_EOF_MARKER = "\x1a"  # the Ctrl-Z some Windows tools still append
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
# The UTF-8 bytes every candidate starts with ("Â".."ô" is C3 82..C3 B4; each continuation
# character's UTF-8 begins C2, C5, C6, CB or E2): a byte search ten times faster than the
# text's, so the text is searched only in the rare block that has them. A block's search
# also covers the previous block's last bytes, where a candidate across the border begins
# (the three characters carried over, and a character the decoder held back).
_MOJIBAKE_BYTES = re.compile(rb"\xc3[\x82-\xb4][\xc2\xc5\xc6\xcb\xe2]")
_MOJIBAKE_TAIL_BYTES = 16

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
    """One export as read: every value text, plus its line number and any structural error.

    A well-formed UTF-8 file is not held in memory: `lazy()` scans the file itself, and
    `batches()` streams it a bounded number of rows at a time (checking first that the file
    still is the one that was read). Irregular files (ragged rows, blank lines, cp1252) are
    parsed by the strict reader into `parsed` instead.
    """

    file: ExportFile
    spec: ExportSpec
    header: HeaderMapping
    # One row per record, in file order: LINE_COLUMN and STRUCTURE_ERROR_COLUMN.
    lines: pl.DataFrame
    # The names polars gives the file's columns, before empty unnamed ones are dropped.
    file_columns: tuple[str, ...] = ()
    parsed: pl.DataFrame | None = None
    blank_lines_skipped: int = 0

    @property
    def row_count(self) -> int:
        return self.lines.height

    @property
    def rows(self) -> pl.DataFrame:
        """Every row at once (small exports and tests; the import streams `batches()`)."""
        return (
            pl.concat(self.batches(), how="vertical") if self.row_count else self.lazy().collect()
        )

    def lazy(self) -> pl.LazyFrame:
        """All rows: the header's columns as text, missing optional ones as nulls, line numbers."""
        if self.parsed is not None:
            rows = self.parsed.lazy()
        else:
            rows = self._scan_file().with_columns(
                pl.lit(None, dtype=pl.String).alias(EXTRA_FIELDS_COLUMN)
            )
        return pl.concat([rows, self.lines.lazy()], how="horizontal").select(self._columns())

    def _columns(self) -> list[pl.Expr]:
        missing = [c for c in self.spec.columns if c not in self.header.canonical_names]
        return [
            *(pl.col(name) for name in self.header.canonical_names),
            *(pl.lit(None, dtype=pl.String).alias(column) for column in missing),
            pl.col(EXTRA_FIELDS_COLUMN),
            pl.col(LINE_COLUMN),
            pl.col(STRUCTURE_ERROR_COLUMN),
        ]

    def _scan_file(self) -> pl.LazyFrame:
        return pl.scan_csv(
            self.file.path,
            has_header=True,
            new_columns=list(self.file_columns),
            infer_schema=False,
            empty_string_is_null=False,
            quote_char='"',
            separator=self.spec.delimiter,
        )

    def batches(
        self, batch_rows: int = 100_000, lines: pl.Series | None = None
    ) -> Iterator[pl.DataFrame]:
        """The rows in file order, `batch_rows` at a time; only those at `lines` (sorted line
        numbers of records, as in LINE_COLUMN) when given.

        A file-backed export is read by byte range: the strict scan noted where each record
        starts, so each batch reads exactly its own bytes and memory stays one batch deep
        (polars' streaming collect reads ahead in proportion to the file). A few rows of a
        large file (a re-import's changed ones) cost only their own bytes.
        """
        if self.parsed is not None:
            yield from _only_lines(self.lazy().collect_batches(chunk_size=batch_rows), lines)
            return
        for data, lines_of_batch in self._batch_bytes(batch_rows, lines):
            yield self._batch_frame(data, lines_of_batch)

    def map_batches(
        self,
        function: Callable[[pl.DataFrame], T],
        batch_rows: int = 100_000,
        lines: pl.Series | None = None,
        *,
        threads: int = BATCH_THREADS,
    ) -> Iterator[T]:
        """`function` of each of `batches(batch_rows, lines)`, in file order, `threads`
        batches at a time: polars releases the GIL while it parses and computes, so a
        function of polars expressions uses every core. At most `threads` batches are held.
        """
        if self.parsed is not None:
            yield from _ordered_map(function, self.batches(batch_rows, lines), threads)
            return

        def parsed(item: tuple[bytes, pl.DataFrame]) -> T:
            return function(self._batch_frame(*item))

        yield from _ordered_map(parsed, self._batch_bytes(batch_rows, lines), threads)

    def _batch_bytes(
        self, batch_rows: int, lines: pl.Series | None
    ) -> Iterator[tuple[bytes, pl.DataFrame]]:
        """Each batch's records as the file's bytes, with their lines."""
        if file_sha256(Path(self.file.path)) != self.file.sha256:
            raise ExportFileError(
                f"{self.file.name}: the file changed after it was read; run the import again"
            )
        rows = self._row_positions(lines)
        # Where each record starts, and where the last one ends (the end of the file).
        bounds = pl.concat(
            [self.lines.get_column(BYTE_OFFSET_COLUMN), pl.Series([self.file.size_bytes])]
        )
        with Path(self.file.path).open("rb") as stream:
            for first in range(0, len(rows), batch_rows):
                chosen = rows[first : first + batch_rows]
                yield b"".join(_record_bytes(stream, bounds, chosen)), self.lines[chosen]

    def _row_positions(self, lines: pl.Series | None) -> pl.Series:
        """The positions in `self.lines` of the records at `lines` (all when None)."""
        if lines is None:
            return pl.int_range(self.row_count, dtype=pl.Int64, eager=True)
        file_lines = self.lines.get_column(LINE_COLUMN)
        rows = file_lines.search_sorted(lines).cast(pl.Int64)
        found = rows.filter(rows < self.row_count)
        if found.len() != lines.len() or (file_lines.gather(found) != lines).any():
            raise ValueError("`lines` must be sorted line numbers of this export's records")
        return rows

    def _batch_frame(self, data: bytes, lines: pl.DataFrame) -> pl.DataFrame:
        frame = pl.read_csv(
            data,
            has_header=False,
            schema=dict.fromkeys(self.file_columns, pl.String),
            empty_string_is_null=False,
            quote_char='"',
            separator=self.spec.delimiter,
        )
        if frame.height != lines.height:
            raise ExportFileError(
                f"{self.file.name}: line {lines.get_column(LINE_COLUMN)[0]}: the records from "
                "here on could not be read again as the first pass read them"
            )
        extra = pl.lit(None, dtype=pl.String).alias(EXTRA_FIELDS_COLUMN)
        return pl.concat([frame.with_columns(extra), lines], how="horizontal").select(
            self._columns()
        )


def _ordered_map(function: Callable[[S], T], items: Iterable[S], threads: int) -> Iterator[T]:
    """`function` of each item on `threads` threads, in order, never more than `threads`
    items taken ahead of the one yielded."""
    if threads <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque[Future[T]] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _record_bytes(stream: io.BufferedReader, bounds: pl.Series, rows: pl.Series) -> Iterator[bytes]:
    """The bytes of the records at `rows` (sorted positions; record i spans `bounds[i]` to
    `bounds[i + 1]`), one read per run of consecutive records."""
    run_starts = (rows.diff() != 1).fill_null(True)
    firsts = rows.filter(run_starts)
    afters = rows.filter(run_starts.shift(-1, fill_value=True)) + 1
    begins, ends = bounds.gather(firsts).to_list(), bounds.gather(afters).to_list()
    for begin, end in zip(begins, ends, strict=True):
        stream.seek(begin)
        yield stream.read(end - begin)


def line_span(sorted_lines: pl.Series, batch_lines: pl.Series) -> slice:
    """The positions in `sorted_lines` of the lines from a batch's first to its last."""
    if batch_lines.is_empty():
        return slice(0, 0)
    start = sorted_lines.search_sorted(batch_lines[0], side="left")
    end = sorted_lines.search_sorted(batch_lines[-1], side="right")
    return slice(start, end)


def _only_lines(frames: Iterable[pl.DataFrame], lines: pl.Series | None) -> Iterator[pl.DataFrame]:
    for frame in frames:
        if lines is None:
            yield frame
            continue
        span = line_span(lines, frame.get_column(LINE_COLUMN))
        if span.stop > span.start:
            yield frame.filter(pl.col(LINE_COLUMN).is_in(lines[span].implode()))


def read_export(
    path: str | Path, spec: ExportSpec, others: tuple[ExportSpec, ...] = ()
) -> RawExport:
    """Read and contract-check one export; raise ExportFileError for whole-file problems.

    `others` are the exports a wrong file may be, so the message can say which it looks like.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportFileError(f"{path}: no such file")
    file, streamable = inspect_export_file(path, spec)
    header_line = first_line(path)
    spec = with_delimiter_of(spec, header_line)
    _refuse_another_sources_export(path.name, header_line, spec, others)
    if streamable:
        scan = _fast_scan(path, spec.delimiter) or _strict_scan(path, spec.delimiter)
    else:
        with _open_text(path, file.encoding) as stream:
            scan = _scan_records(path.name, stream, spec.delimiter)
    _refuse_other_delimiters(path.name, scan.header, spec.delimiter)
    header = map_header(spec, path.name, scan.header, others)
    raw = RawExport(
        file=file,
        spec=spec,
        header=header,
        lines=scan.lines(len(header.canonical_names)),
        file_columns=header.canonical_names,
        blank_lines_skipped=scan.blank_lines,
    )
    if not _polars_reads_it_alike(raw, scan):
        with _open_text(path, file.encoding) as stream:
            raw = replace(raw, parsed=_frame_from_records(stream, header, spec.delimiter))
    return _drop_empty_unnamed_columns(raw)


def inspect_export_file(path: Path, spec: ExportSpec) -> tuple[ExportFile, bool]:
    """Whole-file checks and facts in one streaming pass; the file is never held whole.

    Also says whether the file can be streamed by byte range: UTF-8 without a carriage
    return that is not followed by a line feed (such a file is split into lines differently
    by Python's universal newlines and by polars, so the strict reader alone parses it).

    A file that is not valid UTF-8 is rare and small in practice (a spreadsheet's save), so
    that case is decided on the whole bytes by `decode_export`.
    """
    digest, size, encoding = hashlib.sha256(), 0, "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines_before, tail, tail_bytes, has_text, has_bare_cr = 0, "", b"", False, False
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            has_bare_cr = has_bare_cr or bool(_BARE_CR.search(chunk))
            if size == 0:
                _refuse_binary_start(path.name, chunk, spec)
            _refuse_nul(path.name, chunk, lines_before)
            digest.update(chunk)
            size += len(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                _, encoding = decode_export(path.name, path.read_bytes(), spec)
                file = _export_file(path, file_sha256(path), path.stat().st_size, encoding)
                return file, False
            has_text = has_text or bool(text.strip())
            if _MOJIBAKE_BYTES.search(tail_bytes + chunk):
                _refuse_double_encoding(path.name, tail + text, lines_before - tail.count("\n"))
            lines_before += text.count("\n")
            tail, tail_bytes = (tail + text)[-3:], (tail_bytes + chunk)[-_MOJIBAKE_TAIL_BYTES:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        _, encoding = decode_export(path.name, path.read_bytes(), spec)
    if not has_text:
        raise ExportFileError(f"{path.name}: the file is empty")
    streamable = encoding == "utf-8" and not has_bare_cr
    return _export_file(path, digest.hexdigest(), size, encoding), streamable


def _export_file(path: Path, sha256: str, size: int, encoding: str) -> ExportFile:
    return ExportFile(
        path=str(path), name=path.name, size_bytes=size, sha256=sha256, encoding=encoding
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (the file is never held whole)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    return path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="")


def _refuse_binary_start(file_name: str, data: bytes, spec: ExportSpec) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportFileError(
            f"{file_name}: the file is UTF-16 (a spreadsheet's 'Unicode text'); "
            f"save it as UTF-8 (a spreadsheet's 'CSV UTF-8') or {spec.how_to_export} again"
        )
    for magic, kind in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ExportFileError(
                f"{file_name}: the file is {kind}, not a CSV export; {spec.how_to_export}"
            )


def _refuse_nul(file_name: str, data: bytes, lines_before: int = 0) -> None:
    if b"\x00" in data:
        line = lines_before + data[: data.index(b"\x00")].count(b"\n") + 1
        raise ExportFileError(
            f"{file_name}: line {line}: NUL byte: a binary file, not a CSV export"
        )


def decode_export(file_name: str, data: bytes, spec: ExportSpec) -> tuple[str, str]:
    """Decode as UTF-8 (BOM optional); fall back to cp1252 only when that is certain."""
    if not data.strip():
        raise ExportFileError(f"{file_name}: the file is empty")
    _refuse_binary_start(file_name, data, spec)
    _refuse_nul(file_name, data)
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
    return text[:-1] if text.endswith(_EOF_MARKER) else text


def _certainly_cp1252(data: bytes) -> bool:
    """A spreadsheet's cp1252/Latin-1 file: no UTF-8 sequences at all, no undefined bytes.

    Mixed files (some valid UTF-8 multi-byte sequences next to stray high bytes) are
    refused, because decoding either way would load mojibake for some rows.
    """
    if _CP1252_UNDEFINED.search(data):
        return False
    return not _UTF8_MULTIBYTE.search(data)


def _refuse_double_encoding(file_name: str, text: str, lines_before: int = 0) -> None:
    """Refuse UTF-8 text that was already decoded once as cp1252 (mojibake such as "Ã©")."""
    for match in _MOJIBAKE_CANDIDATE.finditer(text):
        for length in range(2, len(match.group()) + 1):
            damaged = match.group()[:length]
            try:
                original = damaged.encode("cp1252").decode("utf-8")
            except UnicodeError:
                continue
            line = lines_before + text.count("\n", 0, match.start()) + 1
            raise ExportFileError(
                f"{file_name}: line {line}: the text is double-encoded (mojibake such as "
                f"'{damaged}' for '{original}'), probably by a spreadsheet; export it "
                "from Kajabi again, or save it from the spreadsheet as CSV UTF-8"
            )


class _TrackedLines:
    """A UTF-8 file's lines (split at line feeds) for csv.reader, counting the bytes read."""

    def __init__(self, stream: io.BufferedIOBase) -> None:
        self._stream = stream
        self.position = 0

    def __iter__(self) -> Iterator[str]:
        for line in self._stream:
            text = line.decode("utf-8-sig" if self.position == 0 else "utf-8")
            self.position += len(line)
            yield text


@dataclass
class _Scan:
    header: list[str]
    start_lines: Sequence[int]
    field_counts: Sequence[int]
    blank_lines: int
    # Where each record starts in the file; empty when the scan read decoded text.
    byte_offsets: Sequence[int]
    # Whether the byte-position scan read it: the plain quoting a CSV writer produces.
    plain_quoting: bool = False

    def lines(self, expected: int) -> pl.DataFrame:
        counts = pl.Series(self.field_counts, dtype=pl.Int64)
        offsets = self.byte_offsets if len(self.byte_offsets) else [None] * len(self.start_lines)
        return pl.DataFrame(
            {
                LINE_COLUMN: pl.Series(self.start_lines, dtype=pl.Int64),
                BYTE_OFFSET_COLUMN: pl.Series(offsets, dtype=pl.Int64),
                STRUCTURE_ERROR_COLUMN: pl.select(
                    pl.when(counts != expected)
                    .then(
                        pl.format("row has {} fields, the header has {}", counts, pl.lit(expected))
                    )
                    .otherwise(None)
                ).to_series(),
            }
        )


def _fast_scan(path: Path, delimiter: str) -> _Scan | None:
    """The strict reader's scan from byte positions, when the file's quoting lets them say it
    (`record_scan`); None sends the file through the strict reader."""
    found = scan_record_starts(path, delimiter)
    if found is None:
        return None
    return _Scan(
        header=found.header,
        start_lines=found.start_lines,
        field_counts=found.field_counts,
        blank_lines=0,
        byte_offsets=found.byte_offsets,
        plain_quoting=True,
    )


def _strict_scan(path: Path, delimiter: str) -> _Scan:
    with path.open("rb") as stream:
        return _scan_records(path.name, _TrackedLines(stream), delimiter)


def _strict_reader(stream: Iterable[str], delimiter: str) -> csv.reader:
    csv.field_size_limit(sys.maxsize)
    return csv.reader(stream, strict=True, delimiter=delimiter)


def _scan_records(file_name: str, stream: io.TextIOBase | _TrackedLines, delimiter: str) -> _Scan:
    reader = _strict_reader(stream, delimiter)
    scan = _Scan(
        header=[],
        start_lines=array.array("q"),
        field_counts=array.array("q"),
        blank_lines=0,
        byte_offsets=array.array("q"),
    )
    tracked = stream if isinstance(stream, _TrackedLines) else None
    next_line, record_start = 1, 0
    try:
        for record in reader:
            if not scan.header:
                scan.header = record
            elif not record:
                scan.blank_lines += 1
            elif record != [_EOF_MARKER]:
                scan.start_lines.append(next_line)
                scan.field_counts.append(len(record))
                if tracked is not None:
                    scan.byte_offsets.append(record_start)
            next_line = reader.line_num + 1
            record_start = tracked.position if tracked is not None else 0
    except csv.Error as error:
        raise ExportFileError(
            f"{file_name}: line {next_line}: malformed CSV ({error}); the file may be truncated"
        ) from error
    if not scan.header:
        raise ExportFileError(f"{file_name}: the file has no header row")
    return scan


def _polars_reads_it_alike(raw: RawExport, scan: _Scan) -> bool:
    """Whether polars' fast scan of the file yields exactly the strict reader's records."""
    if not len(scan.byte_offsets) or scan.blank_lines:
        return False
    if raw.lines.get_column(STRUCTURE_ERROR_COLUMN).is_not_null().any():
        return False  # a ragged row: polars would pad or cut it
    if scan.plain_quoting:
        # Nothing for polars to read otherwise, and counting maps the whole file into memory
        # (1.3 GB of RSS for a 1.2 GB export). Each batch's row count is still checked.
        return True
    try:
        scanned = raw._scan_file().select(pl.len()).collect().item()
    except pl.exceptions.PolarsError:
        return False
    return scanned == raw.row_count


def _frame_from_records(
    stream: io.TextIOBase, header: HeaderMapping, delimiter: str
) -> pl.DataFrame:
    width = len(header.canonical_names)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    extra: list[str | None] = []
    reader = _strict_reader(stream, delimiter)
    next(reader)
    for record in reader:
        if not record or record == [_EOF_MARKER]:
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


_DELIMITER_NAMES = {",": "commas", ";": "';'", "\t": "tabs"}


def _refuse_other_delimiters(file_name: str, header: list[str], delimiter: str) -> None:
    """A one-column header holding another separator: a spreadsheet saved with another
    locale's separator (or the wrong kind of file)."""
    if len(header) != 1:
        return
    for other, said in _DELIMITER_NAMES.items():
        if other != delimiter and other in header[0]:
            raise ExportFileError(
                f"{file_name}: the columns are separated by {said}, not "
                f"{_DELIMITER_NAMES[delimiter]} (a spreadsheet set to another locale?); "
                "save it with the export's own separator or export it again"
            )


def first_line(path: Path) -> str:
    """A file's first line (its header), decoded leniently: enough to tell which export."""
    with path.open("rb") as stream:
        start = stream.read(_HEADER_BYTES).decode("utf-8-sig", errors="replace")
    return start.splitlines()[0] if start else ""


def _refuse_another_sources_export(
    file_name: str, header_line: str, spec: ExportSpec, others: tuple[ExportSpec, ...]
) -> None:
    """A file whose first line is another export's header under a separator not this
    export's (a PayPal download given to the Kajabi import, or the reverse) is named for what
    it is; under this export's own separator, `map_header` says what it looks like."""
    other = recognize_line(
        header_line, [o for o in others if o.name != spec.name], except_delimiter=spec.delimiter
    )
    if other is not None:
        raise ExportContractError(
            f"{file_name}: this is a {other.name} export, not a {spec.name} export; "
            "import it with its own command or job"
        )


def _drop_empty_unnamed_columns(raw: RawExport) -> RawExport:
    """Blank-headed columns a spreadsheet added are dropped when no row has a value there;
    one that holds values is kept (in each row's raw JSON) under its unnamed-column name."""
    unnamed = [name for name in raw.header.canonical_names if is_unnamed_column(name)]
    if not unnamed:
        return raw
    is_empty = raw.lazy().select(
        pl.col(name).fill_null("").str.strip_chars().eq("").all() for name in unnamed
    )
    empty = [name for name, value in is_empty.collect().row(0, named=True).items() if value]
    keep = tuple(name for name in raw.header.canonical_names if name not in empty)
    extra = tuple(name for name in raw.header.extra if name not in empty)
    return replace(raw, header=replace(raw.header, canonical_names=keep, extra=extra))
