"""Which files are the bundled sample, and which warehouses may receive it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from starhouse_pipeline.samples.guard import (
    ALLOW_SAMPLE_FLAG,
    SampleRefused,
    bundled_sample_in,
    is_embedded_warehouse,
    refuse_sample_outside_embedded,
)
from starhouse_pipeline.settings import (
    SAMPLE_CRM_DIR,
    SAMPLE_EXPORT,
    SAMPLE_PEOPLE_EXPORT,
    SAMPLE_SUBSCRIPTIONS_EXPORT,
)
from starhouse_pipeline.warehouse.engine import database_url
from starhouse_pipeline_tests.support import export_row, write_export

POSTGRES = "postgresql+psycopg://starhouse:Pa55-not-shown@db.internal:5432/crm"


@pytest.mark.parametrize(
    "sample", [SAMPLE_EXPORT, SAMPLE_SUBSCRIPTIONS_EXPORT, SAMPLE_PEOPLE_EXPORT, SAMPLE_CRM_DIR]
)
def test_the_bundled_files_and_any_copy_of_them_are_the_sample(sample: Path, tmp_path) -> None:
    assert bundled_sample_in(sample) is not None
    copy = tmp_path / "renamed_download"
    if sample.is_dir():
        shutil.copytree(sample, copy)
    else:
        shutil.copyfile(sample, copy)
    assert bundled_sample_in(copy) is not None


def test_a_real_export_is_not_the_sample_even_at_the_same_size(tmp_path: Path) -> None:
    assert bundled_sample_in(write_export(tmp_path / "export.csv", [export_row()])) is None
    same_size = tmp_path / "same_size.csv"
    data = bytearray(SAMPLE_EXPORT.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")
    same_size.write_bytes(bytes(data))
    assert bundled_sample_in(same_size) is None
    assert bundled_sample_in(tmp_path / "missing.csv") is None


def test_only_the_embedded_default_file_is_the_demo_warehouse(tmp_path: Path) -> None:
    assert is_embedded_warehouse(database_url({}))
    assert not is_embedded_warehouse(f"sqlite:///{tmp_path / 'starhouse.db'}")
    assert not is_embedded_warehouse("sqlite://")
    assert not is_embedded_warehouse(POSTGRES)


def test_the_refusal_names_the_warehouse_without_its_password_and_the_flag() -> None:
    with pytest.raises(SampleRefused) as refused:
        refuse_sample_outside_embedded(SAMPLE_EXPORT, POSTGRES, allowed=False)
    message = str(refused.value)
    assert "postgresql+psycopg://starhouse:***@db.internal:5432/crm" in message
    assert "Pa55-not-shown" not in message
    assert ALLOW_SAMPLE_FLAG in message
    assert "allow_sample_in_this_warehouse: true" in message
    refuse_sample_outside_embedded(SAMPLE_EXPORT, POSTGRES, allowed=True)
    refuse_sample_outside_embedded(SAMPLE_EXPORT, database_url({}), allowed=False)
