"""The byte-position scan gives the strict reader's answer or none: never another one."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from starhouse_pipeline.domain.reading import ExportFileError, _strict_scan
from starhouse_pipeline.domain.record_scan import scan_record_starts

# Pieces a CSV file is made of, including the ones the strict reader treats specially. No
# carriage return alone: such a file never reaches this scan (`inspect_export_file`).
_PIECES = ["a", "bc", "é", ",", ";", '"', '""', "\n", "\r\n", " ", "\x1a", "\ufeff"]
_FIELD = st.lists(st.sampled_from(["x", "é", ",", '"', "\n", "\r\n", " ", ";"]), max_size=6).map(
    "".join
)


def _strict(path: Path, delimiter: str):
    try:
        return _strict_scan(path, delimiter)
    except ExportFileError:
        return None


def _assert_agrees_or_declines(data: bytes, delimiter: str, block_bytes: int) -> bool:
    """True when the scan answered (and agreed with the strict reader)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "export.csv"
        path.write_bytes(data)
        fast = scan_record_starts(path, delimiter, block_bytes=block_bytes)
        if fast is None:
            return False
        strict = _strict(path, delimiter)
    assert strict is not None, f"the strict reader refuses {data!r}, the scan read it"
    assert strict.blank_lines == 0
    assert fast.header == strict.header
    assert fast.start_lines.tolist() == list(strict.start_lines)
    assert fast.field_counts.tolist() == list(strict.field_counts)
    assert fast.byte_offsets.tolist() == list(strict.byte_offsets)
    return True


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=40),
    delimiter=st.sampled_from([",", ";"]),
    block_bytes=st.integers(min_value=1, max_value=48),
)
def test_any_bytes_are_read_as_the_strict_reader_reads_them_or_left_to_it(
    pieces: list[str], delimiter: str, block_bytes: int
):
    _assert_agrees_or_declines("".join(pieces).encode(), delimiter, block_bytes)


def _written(rows: list[list[str]], quoting: int, line_end: str, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator=line_end, delimiter=delimiter)
    writer.writerows(rows)
    return out.getvalue().encode()


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_FIELD, min_size=1, max_size=4), min_size=2, max_size=12),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    line_end=st.sampled_from(["\n", "\r\n"]),
    last_line_end=st.booleans(),
    block_bytes=st.integers(min_value=1, max_value=64),
)
def test_files_a_csv_writer_writes_are_read_by_byte_positions(
    rows: list[list[str]], quoting: int, line_end: str, last_line_end: bool, block_bytes: int
):
    """Whatever the fields hold (delimiters, quotes, line breaks), a writer's quoting is
    plain, so the fast scan answers, whatever block it reads at a time."""
    rows = [row for row in rows if row != [""]] or [["x"]]  # a lone empty field: a blank line
    data = _written([["ID", "Name"], *rows], quoting, line_end)
    if not last_line_end:
        data = data.removesuffix(line_end.encode())
    assert _assert_agrees_or_declines(data, ",", block_bytes)


def test_a_byte_order_mark_before_a_quoted_header_is_the_strict_readers_too():
    data = b'\xef\xbb\xbf"ID","Name"\r\n"1","A, B"\r\n"2","line\nbreak"\r\n'
    assert _assert_agrees_or_declines(data, ",", 7)


@pytest.mark.parametrize(
    "data",
    [
        b"ID,Name\n1,a\n\n2,b\n",  # a blank line
        b'ID,Name\n1,a"b\n',  # a quote inside an unquoted field
        b'ID,Name\n1,"ab"c\n',  # text after a closing quote
        b'ID,Name\n1,"open\n',  # the file ends inside quotes
        b"ID,Name\n1,a\n\x1a",  # an end-of-file mark
        b"ID,Name\n",  # a header alone
    ],
)
def test_what_only_the_strict_reader_can_judge_is_left_to_it(data: bytes):
    assert not _assert_agrees_or_declines(data, ",", 1024)
