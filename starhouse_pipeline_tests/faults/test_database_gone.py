"""The database going away mid-load: a clear failure, nothing partial, a bounded retry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse import bookkeeping
from starhouse_pipeline.warehouse.tables import import_runs, transactions
from starhouse_pipeline_tests.bad_input.running import run_job, step_failure_messages
from starhouse_pipeline_tests.faults.state import (
    IDS,
    count,
    make_export,
    seed_crm,
    warehouse_contents,
)
from starhouse_pipeline_tests.support import fetch_all


@contextmanager
def _admin(admin_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _drop_connections(admin_url: str, database: str, *, refuse_new: bool) -> None:
    """Terminate every session on the database, as a server restart or a network cut would."""
    with _admin(admin_url) as admin:
        if refuse_new:
            admin.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
        admin.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :database AND pid <> pg_backend_pid()"
            ),
            {"database": database},
        )


def _cut_during_load(
    monkeypatch: pytest.MonkeyPatch, admin_url: str, database: str, *, refuse_new: bool
) -> Callable[[], int]:
    """Drop the connection right after the load's inserts and updates, before its commit."""
    original = bookkeeping.finish_import_run
    cuts = []

    def finish_then_cut(*args, **kwargs):
        original(*args, **kwargs)
        if not cuts:
            cuts.append(1)
            _drop_connections(admin_url, database, refuse_new=refuse_new)

    monkeypatch.setattr(bookkeeping, "finish_import_run", finish_then_cut)
    return lambda: len(cuts)


@pytest.mark.postgres
def test_database_gone_for_good_fails_clearly_and_writes_nothing_partial(
    postgres_url: str,
    postgres_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: dict,
) -> None:
    database = sa.make_url(postgres_url).database
    seed_crm(postgres_url)
    export = make_export(tmp_path / "kajabi.csv", IDS)
    cuts = _cut_during_load(monkeypatch, postgres_admin_url, database, refuse_new=True)
    try:
        result = run_job(postgres_url, export, max_quarantine_share=1.0)
    finally:
        with _admin(postgres_admin_url) as admin:
            admin.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))

    assert cuts() == 1
    assert not result.success
    failure = step_failure_messages(result)["loaded_transactions"]
    assert "Exceeded max_retries of 2" in failure
    assert "lost the warehouse database postgresql+psycopg://postgres@127.0.0.1:" in failure
    assert "nothing of this step was committed" in failure
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 2
    assert count(postgres_url, transactions) == 0
    assert fetch_all(postgres_url, sa.select(import_runs.c.finished_at)) == [(None,)]
    assert not result.asset_materializations_for_node("loaded_transactions")
    assert not result.asset_materializations_for_node("import_report")

    monkeypatch.undo()
    again = run_job(postgres_url, export, max_quarantine_share=1.0)
    assert again.success
    assert warehouse_contents(postgres_url) == reference


@pytest.mark.postgres
def test_a_dropped_connection_is_retried_and_the_run_succeeds(
    postgres_url: str,
    postgres_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: dict,
) -> None:
    database = sa.make_url(postgres_url).database
    seed_crm(postgres_url)
    cuts = _cut_during_load(monkeypatch, postgres_admin_url, database, refuse_new=False)

    result = run_job(
        postgres_url, make_export(tmp_path / "kajabi.csv", IDS), max_quarantine_share=1
    )

    assert cuts() == 1
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert [e.step_key for e in retries] == ["loaded_transactions"]
    assert warehouse_contents(postgres_url) == reference


def test_data_errors_are_not_retried(sqlite_url: str, tmp_path: Path, monkeypatch) -> None:
    """Only a lost connection is retried; any other database error fails at once."""

    def broken(*_args, **_kwargs):
        raise sa.exc.IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(bookkeeping, "finish_import_run", broken)
    result = run_job(sqlite_url, make_export(tmp_path / "kajabi.csv", range(1, 20)))
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert count(sqlite_url, transactions) == 0
