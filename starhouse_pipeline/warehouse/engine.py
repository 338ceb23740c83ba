"""Choosing and opening the warehouse database."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from starhouse_pipeline.settings import DATABASE_URL_ENV, EMBEDDED_WAREHOUSE_DIR

EMBEDDED_DATABASE_FILE = EMBEDDED_WAREHOUSE_DIR / "starhouse.db"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """`STARHOUSE_DATABASE_URL`, or the embedded SQLite file when it is unset."""
    environ = os.environ if environ is None else environ
    return environ.get(DATABASE_URL_ENV) or f"sqlite:///{EMBEDDED_DATABASE_FILE}"


def redacted(url: str | URL) -> str:
    """The URL as safe to show: the password never leaves this function."""
    return sa.make_url(url).render_as_string(hide_password=True)


def create_warehouse_engine(url: str | URL) -> Engine:
    """An engine with each dialect set up for safe, whole-transaction writes."""
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
    engine = sa.create_engine(url, hide_parameters=True, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        # Take the write lock up front: a run's reads and writes see one consistent state.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
