"""Choosing and opening the warehouse database, and where its tables live in it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from starhouse_pipeline.settings import (
    CRM_SCHEMA_ENV,
    DATABASE_URL_ENV,
    DEFAULT_CRM_SCHEMA,
    DEFAULT_PIPELINE_SCHEMA,
    EMBEDDED_WAREHOUSE_DIR,
    PIPELINE_SCHEMA,
    PIPELINE_SCHEMA_ENV,
)

EMBEDDED_DATABASE_FILE = EMBEDDED_WAREHOUSE_DIR / "starhouse.db"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """`STARHOUSE_DATABASE_URL`, or the embedded SQLite file when it is unset."""
    environ = os.environ if environ is None else environ
    return environ.get(DATABASE_URL_ENV) or f"sqlite:///{EMBEDDED_DATABASE_FILE}"


def redacted(url: str | URL) -> str:
    """The URL as safe to show: the password never leaves this function."""
    return sa.make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class SchemaLayout:
    """Which PostgreSQL schema holds the CRM's tables and which the pipeline's own.

    The CRM tables (`contacts`, `products`, `transactions`, the CRM's `subscriptions`) are the
    operator's and stay where they are; everything the pipeline owns (run records, quarantine,
    enrichment log, metric tables, its Alembic version table) lives in a schema of its own,
    so nothing it creates can collide with the operator's tables. SQLite has one file and no
    schemas: both are the main database there.
    """

    crm: str = DEFAULT_CRM_SCHEMA
    pipeline: str = DEFAULT_PIPELINE_SCHEMA

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SchemaLayout:
        environ = os.environ if environ is None else environ
        return cls(
            crm=environ.get(CRM_SCHEMA_ENV) or DEFAULT_CRM_SCHEMA,
            pipeline=environ.get(PIPELINE_SCHEMA_ENV) or DEFAULT_PIPELINE_SCHEMA,
        )

    def pipeline_schema(self, dialect_name: str) -> str | None:
        return self.pipeline if dialect_name == "postgresql" else None

    def crm_schema(self, dialect_name: str) -> str | None:
        return self.crm if dialect_name == "postgresql" else None


def create_warehouse_engine(url: str | URL, layout: SchemaLayout | None = None) -> Engine:
    """An engine with each dialect set up for safe, whole-transaction writes.

    The pipeline's tables are declared in the schema `PIPELINE_SCHEMA` and translated to the
    layout's (`schema_translate_map`); the CRM's are unqualified and found through the
    search path, which names the CRM schema first when it is not `public`.
    """
    url = sa.make_url(url)
    layout = layout or SchemaLayout.from_environment()
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
        layout = SchemaLayout()
    else:
        engine = _postgres_engine(url, layout)
    translate = {PIPELINE_SCHEMA: layout.pipeline_schema(engine.dialect.name)}
    return engine.execution_options(schema_translate_map=translate, **{_LAYOUT_OPTION: layout})


def schema_layout(connection: sa.Connection) -> SchemaLayout:
    """The layout a connection of `create_warehouse_engine` was opened with."""
    return connection.get_execution_options().get(_LAYOUT_OPTION) or SchemaLayout()


_LAYOUT_OPTION = "starhouse_schema_layout"


def _postgres_engine(url: URL, layout: SchemaLayout) -> Engine:
    engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if layout.crm != DEFAULT_CRM_SCHEMA:
        search_path = f'"{layout.crm}", public'

        @event.listens_for(engine, "connect")
        def _search_path(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET search_path TO {search_path}")
            cursor.close()
            dbapi_connection.commit()

    return engine


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
