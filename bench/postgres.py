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
from starhouse_pipeline.domain.transactions import TRANSACTION_RECORD_COLUMNS

ADMIN_URL_ENV = "STARHOUSE_BENCH_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "starhouse_bench_"
# Each harness process names its databases with its pid, so a second benchmark running at the
# same time (or a stale one's leftovers) is told apart from this one's live databases.
RUN_PREFIX = f"{PREFIX}{os.getpid()}_"
FLOOR_TABLE = "raw_export"
# What the import's first write puts in `transactions` (warehouse.transactions.insert_new): the
# record columns plus the run id and created_at it sets itself; `id` comes from the identity.
CRM_WRITE_COLUMNS = (*TRANSACTION_RECORD_COLUMNS, "import_run_id", "created_at")
# The tables `transactions` refers to, copied with their ids so its foreign keys hold.
CRM_PARENT_TABLES = ("contacts", "products")
# Timestamps dumped in UTC, so the SQLite floor can read them back without a zone table.
PSQL_ENV = {"PGCLIENTENCODING": "UTF8", "PGTZ": "UTC"}


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
    return _psql(name, copy)


def _psql(name: str, command: str) -> list[str]:
    return [
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        database_conninfo(name),
        "-c",
        command,
    ]


def dump_transactions(name: str, path: str) -> None:
    """The import's final rows, as it wrote them, to a headerless CSV (untimed set-up)."""
    columns = ", ".join(CRM_WRITE_COLUMNS)
    copy = f"\\copy (SELECT {columns} FROM transactions ORDER BY id) TO '{path}' WITH (FORMAT csv)"
    subprocess.run(_psql(name, copy), env={**os.environ, **PSQL_ENV}, check=True)


def crm_write_command(name: str, path: str) -> list[str]:
    """`psql \\copy` of those rows into `transactions`: the CRM write floor."""
    columns = ", ".join(CRM_WRITE_COLUMNS)
    return _psql(name, f"\\copy transactions ({columns}) FROM '{path}' WITH (FORMAT csv)")


def copy_tables(source: str, target: str, tables: tuple[str, ...]) -> None:
    """Copy every row of `tables` from database `source` into the same tables of `target`.

    Binary COPY of all columns, ids included; both databases are at the same migration, so
    the columns line up. The identity sequences are moved past the copied ids.
    """
    with (
        psycopg.connect(database_conninfo(source)) as reader,
        psycopg.connect(database_conninfo(target)) as writer,
    ):
        for table in tables:
            name = sql.Identifier(table)
            out = sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(name)
            into = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(name)
            with (
                reader.cursor().copy(out) as source_copy,
                writer.cursor().copy(into) as target_copy,
            ):
                for chunk in source_copy:
                    target_copy.write(chunk)
            writer.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({table}, 'id'), "
                    "coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                ).format(table=sql.Literal(table), name=name)
            )
        writer.commit()
    with psycopg.connect(database_conninfo(target), autocommit=True) as connection:
        for table in tables:
            connection.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


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
