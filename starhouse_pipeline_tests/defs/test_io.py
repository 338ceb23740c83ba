import dataclasses
from decimal import Decimal
from pathlib import Path

import polars as pl

from starhouse_pipeline.defs.io import attach_frames, detach_frames


@dataclasses.dataclass(frozen=True)
class _Inner:
    frame: pl.DataFrame
    note: str


@dataclasses.dataclass(frozen=True)
class _Outer:
    rows: pl.DataFrame
    inner: _Inner
    counts: dict[str, int]


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
    for name, frame in frames.items():
        frame.write_ipc(tmp_path / f"{name}.arrow")
    restored = attach_frames(skeleton, tmp_path)

    assert len(frames) == 2
    assert restored.rows.equals(value.rows)
    assert restored.inner.frame.equals(money)
    assert restored.inner.frame.schema == money.schema
    assert (restored.inner.note, restored.counts) == ("kept", {"a": 1})
