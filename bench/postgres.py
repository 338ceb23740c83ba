"""Scratch databases on the benchmark's PostgreSQL server: one per method run, dropped after."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import psycopg
from psycopg import sql

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS

ADMIN_URL_ENV = "STARHOUSE_BENCH_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "starhouse_bench_"
# Each harness process names its databases with its pid, so a second benchmark running at the
# same time (or a stale one's leftovers) is told apart from this one's live databases.
RUN_PREFIX = f"{PREFIX}{os.getpid()}_"
FLOOR_TABLE = "raw_export"


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL)


def database_conninfo(name: str) -> str:
    """libpq URL of database `name` on the benchmark's server."""
    base = admin_url().rsplit("/", 1)[0]
    return f"{base}/{name}"


def sqlalchemy_url(name: str) -> str:
    return database_conninfo(name).replace("postgresql://", "postgresql+psycopg://", 1)


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        connection.execute(statement)


def create_database(name: str, template: str | None = None) -> None:
    drop_database(name)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    _admin(statement)


def drop_database(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch_database(method: str, template: str | None = None) -> Iterator[str]:
    """A fresh database for one method run (a copy of `template` if given), dropped after."""
    name = RUN_PREFIX + method
    create_database(name, template)
    try:
        yield name
    finally:
        drop_database(name)


def drop_leftovers() -> list[str]:
    """Drop this run's scratch databases, and those of benchmark runs that are gone."""
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"]
            )
        ]
    dropped = [name for name in names if _owner_gone_or_me(name)]
    for name in dropped:
        drop_database(name)
    return dropped


def _owner_gone_or_me(name: str) -> bool:
    pid = name.removeprefix(PREFIX).split("_", 1)[0]
    if not pid.isdigit():
        return False
    return int(pid) == os.getpid() or not psutil.pid_exists(int(pid))


def create_floor_table(name: str) -> None:
    """The floor's target: an UNLOGGED table of the export's 28 columns, all text."""
    columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(column)) for column in TRANSACTION_COLUMNS
    )
    statement = sql.SQL("CREATE UNLOGGED TABLE {} ({})").format(
        sql.Identifier(FLOOR_TABLE), columns
    )
    with psycopg.connect(database_conninfo(name), autocommit=True) as connection:
        connection.execute(statement)


def psql_copy_command(name: str, path: str) -> list[str]:
    """`psql \\copy` of the raw file into the floor table: the physical floor."""
    copy = f"\\copy {FLOOR_TABLE} FROM '{path}' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')"
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database_conninfo(name), "-c", copy]


def server_version() -> str:
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        return str(connection.execute("SHOW server_version").fetchone()[0])


def count_rows(name: str, table: str, schema: str = "public") -> int:
    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(table)
    )
    with psycopg.connect(database_conninfo(name)) as connection:
        return int(connection.execute(query).fetchone()[0])


def psql_available() -> bool:
    try:
        subprocess.run(["psql", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True
