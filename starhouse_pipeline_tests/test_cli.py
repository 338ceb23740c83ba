"""`starhouse` as an operator runs it: a real process, a real Dagster instance."""

import csv
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from starhouse_pipeline.cli import main
from starhouse_pipeline.domain.people import PEOPLE_COLUMNS
from starhouse_pipeline.domain.subscriptions import SUBSCRIPTION_COLUMNS
from starhouse_pipeline.instance import instance_yaml
from starhouse_pipeline.samples.guard import ALLOW_SAMPLE_FLAG
from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline.warehouse.tables import transactions
from starhouse_pipeline_tests.support import export_row, fetch_all, write_export

STARHOUSE = Path(sys.executable).with_name("starhouse")
FAKE_PASSWORD = "N0t-For-Terminals-9f3k"
_SUBSCRIPTION = {
    "Kajabi Subscription ID": "501",
    "Customer Email": "ann@example.com",
    "Customer Name": "Ann Lee",
    "Customer ID": "9001",
    "Offer ID": "2148572615",
    "Offer Title": "StarHouse Membership (Monthly)",
    "Amount": "$22.00",
    "Currency": "USD",
    "Interval": "month",
    "Status": "active",
    "Created At": "Nov 28, 2025",
    "Next Payment Date": "Dec 28, 2025",
}
_PERSON = {"Name": "Cy Moon", "First Name": "Cy", "Last Name": "Moon", "Email": "cy@example.com"}


def _starhouse(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(STARHOUSE), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _runs(env: dict[str, str]) -> list[tuple[str, bool]]:
    """(job, succeeded) of every run in the instance the commands used, newest first."""
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    with dg.DagsterInstance.get() as instance:
        return [(run.job_name, run.is_success) for run in instance.get_runs()]


def _line(output: str, label: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(label))


def _csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in columns} for row in rows)
    return path


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
    assert "Kajabi import report" in imported.stdout
    assert re.search(r"^ *loaded \(new\) +2 *$", imported.stdout, re.MULTILINE)
    assert _runs(cli_env) == [("import_job", True)]


def test_the_terminal_gets_aligned_tables_and_money_with_its_currency(cli_env, tmp_path):
    rows = [export_row(ID="1", Amount="1234.50"), export_row(ID="2", Amount="1234.50")]
    export = write_export(tmp_path / "export.csv", rows)
    _starhouse("db", "upgrade", env=cli_env)

    imported = _starhouse("import", str(export), env=cli_env)

    assert imported.returncode == 0, imported.stderr
    out = imported.stdout
    assert "USD 2,469.00" in out
    assert "2469" not in out
    assert not re.search(r"^\s*\|", out, re.MULTILINE), "raw Markdown table in the terminal"
    counts = [_line(out, label) for label in ("rows read", "valid", "loaded (new)")]
    assert len({len(line.rstrip()) for line in counts}) == 1, counts  # numbers right-aligned


def test_dry_run_says_would_and_writes_nothing(cli_env, tmp_path):
    export = write_export(tmp_path / "export.csv", [export_row(ID="1")])
    _starhouse("db", "upgrade", env=cli_env)

    dry = _starhouse("import", str(export), "--dry-run", env=cli_env)
    real = _starhouse("import", str(export), env=cli_env)

    assert dry.returncode == 0, dry.stderr
    assert "DRY RUN" in dry.stdout
    assert "Would load 1 new transactions" in dry.stdout
    assert re.search(r"would load \(new\) +1", dry.stdout)
    assert re.search(r"would create contacts +1", dry.stdout)
    assert not re.search(r"^ *(loaded \(new\)|contacts created) ", dry.stdout, re.MULTILINE)
    assert re.search(r"^ *loaded \(new\) +1 *$", real.stdout, re.MULTILINE)  # left to load


def test_import_asks_for_its_path(cli_env):
    missing = _starhouse("import", env=cli_env)
    helped = _starhouse("import", "--help", env=cli_env)

    assert missing.returncode == 2
    assert "required: PATH" in missing.stderr
    assert "a Kajabi transactions export" in helped.stdout
    assert ALLOW_SAMPLE_FLAG in helped.stdout
    assert not Path(cli_env["DAGSTER_HOME"]).exists()  # refused before any run was made


@pytest.mark.postgres
def test_the_sample_is_refused_by_a_postgresql_warehouse_unless_forced(postgres_url, tmp_path):
    with_password = sa.make_url(postgres_url).set(password=FAKE_PASSWORD)
    env = {
        "STARHOUSE_DATABASE_URL": with_password.render_as_string(hide_password=False),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    shown = with_password.render_as_string(hide_password=True)

    seeded = _starhouse("db", "load-sample", env=env)
    imported = _starhouse("import", str(SAMPLE_EXPORT), env=env)

    for refused in (seeded, imported):
        assert refused.returncode == 1
        assert f"refusing to load it into the warehouse {shown}" in refused.stderr
        assert ALLOW_SAMPLE_FLAG in refused.stderr
        assert FAKE_PASSWORD not in refused.stdout + refused.stderr
    assert fetch_all(postgres_url, sa.select(transactions.c.id)) == []

    seeded = _starhouse("db", "load-sample", ALLOW_SAMPLE_FLAG, env=env)
    imported = _starhouse("import", str(SAMPLE_EXPORT), ALLOW_SAMPLE_FLAG, env=env)

    assert seeded.returncode == 0, seeded.stderr
    assert imported.returncode == 0, imported.stderr
    assert len(fetch_all(postgres_url, sa.select(transactions.c.id))) == 20 + 792


def test_every_job_has_a_command_and_each_run_is_recorded(cli_env, tmp_path):
    _starhouse("db", "upgrade", env=cli_env)
    transactions_export = write_export(tmp_path / "export.csv", [export_row(ID="1")])
    subscriptions_export = _csv(tmp_path / "subs.csv", SUBSCRIPTION_COLUMNS, [_SUBSCRIPTION])
    people_export = _csv(tmp_path / "people.csv", PEOPLE_COLUMNS, [_PERSON])

    imported = _starhouse("import", str(transactions_export), env=cli_env)
    subscribed = _starhouse(
        "import-subscriptions", str(subscriptions_export), "--dry-run", env=cli_env
    )
    merged = _starhouse("import-people", str(people_export), env=cli_env)
    analysed = _starhouse("analytics", env=cli_env)

    for done in (imported, subscribed, merged, analysed):
        assert done.returncode == 0, done.stderr
    assert _runs(cli_env) == [
        ("analytics_job", True),
        ("people_import_job", True),
        ("subscriptions_import_job", True),
        ("import_job", True),
    ]
    assert "Would insert 1 new subscriptions" in subscribed.stdout
    assert re.search(r"would insert \(new\) +1", subscribed.stdout)
    assert "created 1 contacts" in merged.stdout
    # The dry run wrote no subscription, so the cross-check says why it has nothing to do.
    assert re.search(r"mrr_agrees_with_subscriptions_export +skipped", analysed.stdout)
    assert "no Kajabi Subscriptions export has been" in analysed.stdout
    assert "revenue_by_month" in analysed.stdout
    assert "USD 22.00" in analysed.stdout

    shown = _starhouse("dashboard", "--no-refresh", "--no-open", env=cli_env)
    assert shown.returncode == 0, shown.stderr
    uri = re.search(r"revenue dashboard: (file://\S+)", shown.stdout)
    assert uri, shown.stdout
    page = Path(uri.group(1).removeprefix("file://")).read_text(encoding="utf-8")
    assert "<html" in page.lower()
    assert "vega" in page.lower()


def test_dashboard_says_when_there_is_none_yet(cli_env):
    _starhouse("db", "upgrade", env=cli_env)
    missing = {**cli_env, "STARHOUSE_DASHBOARD_PATH": str(Path(cli_env["DAGSTER_HOME"]) / "x.html")}

    shown = _starhouse("dashboard", "--no-refresh", "--no-open", env=missing)

    assert shown.returncode == 1
    assert "no revenue dashboard" in shown.stderr


def test_each_command_explains_itself(capsys):
    for command in ("import", "import-subscriptions", "import-people", "analytics", "dashboard"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "through the Dagster instance" in text, command
        if command not in ("analytics", "dashboard"):
            assert "--dry-run" in text, command
            assert "PATH" in text, command


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
