"""What an operator sees from `starhouse import` when the database is unreachable: its
address, never its password (also nowhere under DAGSTER_HOME)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline_tests.support import export_row, write_export

FAKE_PASSWORD = "N0t-For-Logs-Pa55"


def _starhouse_import(path: Path, database_url: str, home: Path) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "STARHOUSE_DATABASE_URL": database_url,
        "DAGSTER_HOME": str(home),
    }
    return subprocess.run(
        [sys.executable, "-m", "starhouse_pipeline.cli", "import", str(path)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://starhouse:{FAKE_PASSWORD}@127.0.0.1:1/crm"
    path = write_export(tmp_path / "kajabi.csv", [export_row()])
    done = _starhouse_import(path, url, tmp_path / "home")
    assert done.returncode == 1
    assert "lost the warehouse database postgresql+psycopg://starhouse:***@127.0.0.1:1/crm" in (
        done.stderr
    )
    assert FAKE_PASSWORD not in done.stdout + done.stderr
    for log in (tmp_path / "home").rglob("*"):
        if log.is_file():
            assert FAKE_PASSWORD.encode() not in log.read_bytes(), log
