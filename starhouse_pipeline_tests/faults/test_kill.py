"""SIGKILL during the load: each asset's writes are all there or not at all, and running
again converges to exactly what an uninterrupted run leaves (compared table by table)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.locks import write_lock_holders
from starhouse_pipeline.warehouse.tables import (
    contact_enrichment_log,
    contacts,
    import_runs,
    products,
    quarantined_rows,
    transactions,
)
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.faults.state import (
    IDS,
    count,
    make_export,
    seed_crm,
    start_driver,
    warehouse_contents,
)

SEEDED_CONTACTS = 20


def _tables(url: str) -> dict[str, int]:
    tables = (import_runs, quarantined_rows, products, contacts, contact_enrichment_log)
    return {table.name: count(url, table) for table in (*tables, transactions)}


# Where the process is killed: inside an asset's open transaction, right after the named
# warehouse call wrote its rows (`finish_import_run` comes after the load's inserts and
# updates); and what must hold right after the kill: earlier assets committed, this one not.
KILL_POINTS = {
    "bookkeeping.write_quarantine": {"import_runs": 0, "quarantined_rows": 0},
    "contacts.apply_contact_plan": {
        "contacts": SEEDED_CONTACTS,
        "contact_enrichment_log": 0,
        "products": 12,
        "quarantined_rows": len(IDS) // 25,
    },
    "bookkeeping.finish_import_run": {"transactions": 0, "contacts": 40},
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_import_leaves_whole_assets_and_a_rerun_converges(
    database_url: str, tmp_path: Path, reference: dict, point: str
) -> None:
    seed_crm(database_url)
    export = make_export(tmp_path / "kajabi.csv", IDS)

    driver = start_driver(database_url, export, pause_after=point)
    driver.wait_for_pause()
    driver.kill()

    after_kill = _tables(database_url)
    for table, expected in KILL_POINTS[point].items():
        assert after_kill[table] == expected, (table, after_kill)

    result = run_job(database_url, export, max_quarantine_share=1.0)
    assert result.success
    assert warehouse_contents(database_url) == reference


def test_a_killed_writer_releases_its_lock(postgres_url: str, tmp_path: Path):
    """A killed writer's advisory lock dies with its connection: the next import proceeds."""
    seed_crm(postgres_url)
    export = make_export(tmp_path / "kajabi.csv", IDS)
    holder = start_driver(postgres_url, export, pause_after="contacts.apply_contact_plan")
    holder.wait_for_pause()
    engine = create_warehouse_engine(postgres_url)
    with engine.connect() as connection:
        assert write_lock_holders(connection)
    engine.dispose()
    holder.kill()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            holders = write_lock_holders(connection)
        if not holders:
            break
        time.sleep(0.1)
    engine.dispose()
    assert holders == [], "the server kept the killed writer's lock"
    result = run_job(postgres_url, export, max_quarantine_share=1.0)
    assert result.success


def test_starhouse_import_killed_after_a_delay_converges(
    sqlite_url: str, tmp_path: Path, reference: dict
) -> None:
    """No hook at all: the real command, killed a moment after its first commit."""
    seed_crm(sqlite_url)
    export = make_export(tmp_path / "kajabi.csv", IDS)
    command = [
        *(sys.executable, "-m", "starhouse_pipeline.cli", "import", str(export)),
        *("--max-quarantine-share", "1"),
    ]
    environment = {
        **os.environ,
        "STARHOUSE_DATABASE_URL": sqlite_url,
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while count(sqlite_url, import_runs) == 0 and process.poll() is None:
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    time.sleep(0.3)
    process.kill()
    process.wait(timeout=30)

    subprocess.run(command, cwd=PROJECT_ROOT, env=environment, check=True, timeout=180)
    assert warehouse_contents(sqlite_url) == reference
