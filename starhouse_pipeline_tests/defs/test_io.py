import dataclasses
import pickle
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.io import (
    _FrameFile,
    attach_frames,
    detach_frames,
    frame_files_io_manager,
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


def test_frames_stored_as_arrow_files_by_the_previous_version_are_still_read(tmp_path: Path):
    frame = pl.DataFrame({"id": ["1", "2"]})
    frame.write_ipc(tmp_path / "frame0.arrow")
    # What that version pickled: a reference without a suffix field.
    reference = _FrameFile("frame0")
    object.__delattr__(reference, "suffix")
    old_skeleton = pickle.loads(pickle.dumps(_Inner(reference, "x")))

    restored = attach_frames(old_skeleton, tmp_path)

    assert restored.frame.equals(frame)


def test_values_stored_by_the_default_pickle_io_manager_are_read_and_replaced(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    old_value = {"rows": 3}
    storage = home / "storage"
    storage.mkdir()
    (storage / "counts").write_bytes(pickle.dumps(old_value))

    @dg.asset
    def counts() -> dict:
        return {"rows": 4}

    @dg.asset
    def doubled(counts: dict) -> int:
        return counts["rows"] * 2

    with dg.instance_for_test(temp_dir=str(home)) as instance:
        resources = {"io_manager": frame_files_io_manager}
        only_downstream = dg.materialize(
            [counts, doubled], selection=["doubled"], resources=resources, instance=instance
        )
        both = dg.materialize([counts, doubled], resources=resources, instance=instance)

    assert only_downstream.output_for_node("doubled") == 6
    assert both.output_for_node("doubled") == 8


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
