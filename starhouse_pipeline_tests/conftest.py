"""Fixtures: an embedded SQLite warehouse and a real PostgreSQL one, both migrated and empty.

PostgreSQL tests get a fresh database per test session (created here, dropped after) and a
fresh `public` schema per test. The server comes from STARHOUSE_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.settings import DASHBOARD_PATH_ENV, PIPELINE_SCHEMA
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database

# The operator's production CRM (`real_crm_url`), for any test module to use.
pytest_plugins = ["starhouse_pipeline_tests.warehouse.real_crm"]

ADMIN_URL = os.environ.get(
    "STARHOUSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _isolated_reports_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests from writing into the project's data/reports, data/dashboard or
    .dagster_home."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv(DASHBOARD_PATH_ENV, str(tmp_path / "dashboard" / "revenue_dashboard.html"))
    monkeypatch.setattr("starhouse_pipeline.defs.report.REPORTS_DIR", tmp_path / "reports")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test session on the real server."""
    name = f"starhouse_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for the suite and is not reachable: {error}")
    url = sa.make_url(ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """The session database with an empty, freshly migrated schema."""
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PIPELINE_SCHEMA}" CASCADE'))
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(postgres_database)
    return postgres_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    _migrate(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


def _migrate(url: str) -> None:
    engine = create_warehouse_engine(url)
    upgrade_database(engine)
    engine.dispose()
