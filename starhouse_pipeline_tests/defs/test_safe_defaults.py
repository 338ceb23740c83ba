"""Safe by default: a run launched by hand asks for its export, and the bundled sample stays
out of every warehouse but the embedded demo one unless the run says otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from starhouse_pipeline.definitions import build_definitions, defs
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.defs.run_config import EXPORT_ASSET, job_run_config
from starhouse_pipeline.settings import (
    SAMPLE_EXPORT,
    SAMPLE_PEOPLE_EXPORT,
    SAMPLE_SUBSCRIPTIONS_EXPORT,
)
from starhouse_pipeline.warehouse import engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline.warehouse.subscription_tables import subscriptions
from starhouse_pipeline.warehouse.tables import contacts, import_runs, transactions
from starhouse_pipeline_tests.bad_input.running import step_failure_messages
from starhouse_pipeline_tests.support import fetch_all, run_import

SAMPLES = {
    "import_job": SAMPLE_EXPORT,
    "subscriptions_import_job": SAMPLE_SUBSCRIPTIONS_EXPORT,
    "people_import_job": SAMPLE_PEOPLE_EXPORT,
}


@pytest.mark.parametrize("job_name", sorted(EXPORT_ASSET))
def test_an_import_launched_without_a_path_is_refused_by_its_config(job_name: str) -> None:
    job = defs.resolve_job_def(job_name)
    with pytest.raises(dg.DagsterInvalidConfigError) as refused:
        job.execute_in_process(run_config={}, instance=dg.DagsterInstance.ephemeral())
    message = str(refused.value)
    assert f"{EXPORT_ASSET[job_name]}" in message
    assert "'path'" in message


def _run(job_name: str, url: str, path: Path, **options) -> dg.ExecuteInProcessResult:
    definitions = build_definitions(WarehouseResource(database_url=url))
    return definitions.resolve_job_def(job_name).execute_in_process(
        run_config=job_run_config(job_name, path, **options),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.mark.postgres
def test_a_copy_of_the_sample_is_refused_by_a_postgresql_warehouse(
    postgres_url: str, tmp_path: Path
) -> None:
    copy = tmp_path / "kajabi_transactions_2025.csv"
    shutil.copyfile(SAMPLE_EXPORT, copy)

    result = run_import(postgres_url, copy)

    assert not result.success
    message = step_failure_messages(result)["raw_kajabi_csv"]
    shown_url = sa.make_url(postgres_url).render_as_string(hide_password=True)
    assert f"refusing to load it into the warehouse {shown_url}" in message
    assert "--allow-sample-in-this-warehouse" in message
    assert "allow_sample_in_this_warehouse: true" in message
    assert fetch_all(postgres_url, sa.select(transactions)) == []
    assert fetch_all(postgres_url, sa.select(import_runs)) == []


@pytest.mark.postgres
def test_a_run_that_allows_the_sample_loads_it(postgres_url: str) -> None:
    result = run_import(postgres_url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True)

    assert result.success
    assert len(fetch_all(postgres_url, sa.select(transactions.c.id))) == 792


@pytest.mark.parametrize("job_name", ["subscriptions_import_job", "people_import_job"])
def test_the_other_samples_are_refused_too(job_name: str, sqlite_url: str) -> None:
    result = _run(job_name, sqlite_url, SAMPLES[job_name])

    assert not result.success
    message = step_failure_messages(result)[EXPORT_ASSET[job_name]]
    assert "is the bundled sample data" in message
    assert fetch_all(sqlite_url, sa.select(subscriptions)) == []
    assert fetch_all(sqlite_url, sa.select(contacts)) == []
    assert _run(
        job_name, sqlite_url, SAMPLES[job_name], allow_sample_in_this_warehouse=True
    ).success


def test_the_embedded_default_warehouse_takes_the_sample_without_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `make run`'s warehouse, moved into the test's folder (the real one is the operator's).
    embedded = tmp_path / ".warehouse" / "starhouse.db"
    monkeypatch.setattr(engine, "EMBEDDED_DATABASE_FILE", embedded)
    monkeypatch.delenv("STARHOUSE_DATABASE_URL", raising=False)
    url = engine.database_url({})
    assert url == f"sqlite:///{embedded}"
    migrated = engine.create_warehouse_engine(url)
    upgrade_database(migrated)
    migrated.dispose()

    result = run_import(url, SAMPLE_EXPORT)

    assert result.success
    assert len(fetch_all(url, sa.select(transactions.c.id))) == 792
