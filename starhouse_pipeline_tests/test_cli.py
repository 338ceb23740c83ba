"""`starhouse` as an operator runs it: a real process, a real Dagster instance."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from starhouse_pipeline.instance import instance_yaml
from starhouse_pipeline_tests.support import export_row, write_export

STARHOUSE = Path(sys.executable).with_name("starhouse")


def _starhouse(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STARHOUSE), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "STARHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def test_upgrade_then_import_prints_the_report_and_records_the_run(cli_env, tmp_path):
    export = write_export(tmp_path / "export.csv", [export_row(ID="1"), export_row(ID="2")])

    upgrade = _starhouse("db", "upgrade", env=cli_env)
    imported = _starhouse("import", str(export), env=cli_env)

    assert upgrade.returncode == 0, upgrade.stderr
    assert imported.returncode == 0, imported.stderr
    assert "# Kajabi import report" in imported.stdout
    assert "| loaded new | 2 |" in imported.stdout
    os.environ["DAGSTER_HOME"] = cli_env["DAGSTER_HOME"]
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert [run.job_name for run in runs] == ["import_job"]
    assert runs[0].is_success


def test_dry_run_flag_writes_nothing(cli_env, tmp_path):
    export = write_export(tmp_path / "export.csv", [export_row(ID="1")])
    _starhouse("db", "upgrade", env=cli_env)

    dry = _starhouse("import", str(export), "--dry-run", env=cli_env)
    real = _starhouse("import", str(export), env=cli_env)

    assert dry.returncode == 0, dry.stderr
    assert "DRY RUN" in dry.stdout
    assert "| loaded new | 1 |" in real.stdout  # the dry run left it to load


def test_failed_run_exits_non_zero_naming_file_and_column(cli_env, tmp_path):
    columns = [c for c in export_row() if c != "Created At"]
    export = write_export(tmp_path / "no_dates.csv", [export_row()], columns)
    _starhouse("db", "upgrade", env=cli_env)

    result = _starhouse("import", str(export), env=cli_env)

    assert result.returncode == 1
    assert "no_dates.csv" in result.stderr
    assert "Created At" in result.stderr


def test_instance_yaml_uses_dagster_postgres_only_when_configured():
    assert "postgres" not in instance_yaml({}).split("telemetry")[1]
    configured = instance_yaml({"DAGSTER_POSTGRES_URL": "postgresql://u:pw-9f3k@h/db"})
    assert "env: DAGSTER_POSTGRES_URL" in configured
    assert "pw-9f3k" not in configured


@pytest.mark.postgres
def test_runs_are_stored_in_dagster_postgres_when_configured(cli_env, tmp_path, postgres_admin_url):
    name = f"starhouse_dagster_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    dagster_url = sa.make_url(postgres_admin_url).set(drivername="postgresql", database=name)
    env = {**cli_env, "DAGSTER_POSTGRES_URL": dagster_url.render_as_string(hide_password=False)}
    try:
        _starhouse("db", "upgrade", env=env)
        export = write_export(tmp_path / "export.csv", [export_row()])
        result = _starhouse("import", str(export), env=env)
        assert result.returncode == 0, result.stderr
        engine = sa.create_engine(dagster_url.set(drivername="postgresql+psycopg"))
        with engine.connect() as connection:
            runs = connection.execute(sa.text("SELECT pipeline_name, status FROM runs")).all()
        engine.dispose()
        assert runs == [("import_job", "SUCCESS")]
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
