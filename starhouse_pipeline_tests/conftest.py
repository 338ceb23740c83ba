"""Fixtures: an embedded SQLite warehouse and a real PostgreSQL one, both migrated and empty.

PostgreSQL tests get a fresh database per test session (created here, dropped after) and a
fresh `public` schema per test. The server is STARHOUSE_TEST_POSTGRES_URL's when one answers
there, else a throwaway one started for the session (`postgres_server`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.settings import DASHBOARD_PATH_ENV, PIPELINE_SCHEMA, REPORTS_DIR_ENV
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline_tests import postgres_server

# The operator's production CRM (`real_crm_url`), for any test module to use.
pytest_plugins = ["starhouse_pipeline_tests.warehouse.real_crm"]

SERVER_USED = pytest.StashKey[str]()


@pytest.fixture(autouse=True)
def _isolated_reports_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests from writing into the project's data/reports, data/dashboard or
    .dagster_home."""
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv(DASHBOARD_PATH_ENV, str(tmp_path / "dashboard" / "revenue_dashboard.html"))
    monkeypatch.setenv(REPORTS_DIR_ENV, str(tmp_path / "reports"))


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The server's maintenance database: the configured server's, or a throwaway server's."""
    configured = postgres_server.configured_url()
    where = postgres_server.address(configured)
    if postgres_server.answers(configured):
        request.config.stash[SERVER_USED] = f"the server at {where}"
        _require_extensions(configured)
        yield configured
        return
    bindir = postgres_server.find_binaries()
    if bindir is None:
        pytest.fail(postgres_server.MISSING_BINARIES.format(address=where))
    with postgres_server.throwaway_server(bindir) as url:
        request.config.stash[SERVER_USED] = (
            f"nothing answered at {where}; a throwaway server from {bindir} "
            f"on {postgres_server.address(url)}"
        )
        _require_extensions(url)
        yield url


@pytest.fixture(scope="session")
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A database of its own for this test session on the real server."""
    name = f"starhouse_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for the suite and is not reachable: {error}")
    url = sa.make_url(postgres_admin_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Say which PostgreSQL server the session used, if it used one."""
    if SERVER_USED in config.stash:
        terminalreporter.write_line(f"PostgreSQL: {config.stash[SERVER_USED]}")


def _require_extensions(url: str) -> None:
    missing = postgres_server.missing_extensions(url)
    if missing:
        pytest.fail(
            f"PostgreSQL at {postgres_server.address(url)} cannot create {missing}: install "
            "the server's contrib modules (Debian: postgresql-contrib, part of postgresql-15)"
        )


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
