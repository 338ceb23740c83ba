import dataclasses
from decimal import Decimal
from pathlib import Path

import polars as pl

from starhouse_pipeline.defs.io import (
    attach_frames,
    detach_frames,
    write_frame_file,
)


@dataclasses.dataclass(frozen=True)
class _Inner:
    frame: pl.DataFrame
    note: str


@dataclasses.dataclass(frozen=True)
class _Outer:
    rows: pl.DataFrame
    inner: _Inner
    counts: dict[str, int]


def _write(frames: dict[str, pl.DataFrame], directory: Path) -> None:
    for file_name, frame in frames.items():
        frame.write_parquet(directory / file_name)


def test_frames_inside_nested_dataclasses_round_trip_exactly(tmp_path: Path):
    money = pl.DataFrame(
        {"amount": [Decimal("1.10"), Decimal("-0.05")]}, schema={"amount": pl.Decimal(12, 2)}
    )
    value = _Outer(
        rows=pl.DataFrame({"id": ["1", "2"]}),
        inner=_Inner(frame=money, note="kept"),
        counts={"a": 1},
    )
    frames: dict[str, pl.DataFrame] = {}

    skeleton = detach_frames(value, frames)
    _write(frames, tmp_path)
    restored = attach_frames(skeleton, tmp_path)

    assert len(frames) == 2
    assert restored.rows.equals(value.rows)
    assert restored.inner.frame.equals(money)
    assert restored.inner.frame.schema == money.schema
    assert (restored.inner.note, restored.counts) == ("kept", {"a": 1})


def test_an_input_asks_for_some_columns_of_a_field_and_gets_only_those(tmp_path: Path):
    value = _Outer(
        rows=pl.DataFrame({"id": ["1", "2"], "email": ["a@x.io", "b@x.io"], "n": [1, 2]}),
        inner=_Inner(frame=pl.DataFrame({"id": ["9"], "n": [9]}), note="kept"),
        counts={},
    )
    frames: dict[str, pl.DataFrame] = {}
    skeleton = detach_frames(value, frames)
    _write(frames, tmp_path)

    restored = attach_frames(skeleton, tmp_path, {"rows": ["id", "n"]})

    assert restored.rows.columns == ["id", "n"]
    assert restored.rows.get_column("n").to_list() == [1, 2]
    assert restored.inner.frame.columns == ["id", "n"]  # another field: loaded whole


def test_an_input_asks_for_a_field_as_a_scan_and_reads_only_what_it_collects(tmp_path: Path):
    rows = pl.DataFrame({"_line": [2, 3, 4], "id": ["1", "2", "3"]})
    value = _Outer(rows=rows, inner=_Inner(frame=pl.DataFrame({"id": ["9"]}), note=""), counts={})
    frames: dict[str, pl.DataFrame] = {}
    skeleton = detach_frames(value, frames)
    _write(frames, tmp_path)

    restored = attach_frames(skeleton, tmp_path, lazy=["rows"])

    assert isinstance(restored.rows, pl.LazyFrame)
    assert restored.rows.collect().equals(rows)
    later = restored.rows.filter(pl.col("_line") > 3).select("id").collect()
    assert later.to_series().to_list() == ["3"]
    assert isinstance(restored.inner.frame, pl.DataFrame)  # another field: loaded as a frame


def test_a_scan_is_stored_as_the_rows_it_yields_and_read_back_as_a_frame(tmp_path: Path):
    source = tmp_path / "source.parquet"
    pl.DataFrame({"id": ["1", "2", "3"], "n": [1, 2, 3]}).write_parquet(source)
    value = _Outer(
        rows=pl.scan_parquet(source).filter(pl.col("n") != 2),
        inner=_Inner(frame=pl.DataFrame({"id": ["9"]}), note="kept"),
        counts={},
    )
    frames: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    skeleton = detach_frames(value, frames)
    stored = tmp_path / "stored"
    stored.mkdir()
    for file_name, frame in frames.items():
        write_frame_file(frame, stored / file_name)
    source.unlink()  # what was stored no longer needs the scan's source

    restored = attach_frames(skeleton, stored)

    assert restored.rows.to_dict(as_series=False) == {"id": ["1", "3"], "n": [1, 3]}
