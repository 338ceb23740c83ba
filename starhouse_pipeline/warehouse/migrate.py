"""Applying the Alembic migrations (`starhouse db upgrade`) and showing them first (`db plan`).

The plan is the upgrade itself, run in a transaction that is rolled back: PostgreSQL and
SQLite both undo DDL with the transaction, so `db plan` prints exactly the statements
`db upgrade` would execute, and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine

from starhouse_pipeline.warehouse.engine import schema_layout

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Our own version table, so an existing CRM database's Alembic history is left alone.
VERSION_TABLE = "starhouse_alembic_version"


class UpgradeRefused(RuntimeError):
    """The database cannot take the upgrade as it is; `reasons` says what to fix first."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass
class UpgradePlan:
    """What `db upgrade` would do: the statements it would run, or why it refuses."""

    from_revision: str | None
    to_revision: str | None
    statements: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the warehouse schema to `revision`, creating or fitting the CRM tables."""
    with engine.begin() as connection:
        _upgrade(connection, revision)


def plan_upgrade(engine: Engine, revision: str = "head") -> UpgradePlan:
    """The upgrade run and rolled back, with every statement that changed something."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if _changes_something(statement):
            statements.append(statement.strip())

    with engine.connect() as connection:
        transaction = connection.begin()
        before = _current_revision(connection)
        event.listen(connection, "before_cursor_execute", record)
        try:
            _upgrade(connection, revision)
            after = _current_revision(connection)
        except UpgradeRefused as refused:
            return UpgradePlan(before, None, statements, refused.reasons)
        finally:
            event.remove(connection, "before_cursor_execute", record)
            transaction.rollback()
    return UpgradePlan(before, after, statements)


def _upgrade(connection: sa.Connection, revision: str) -> None:
    _prepare_pipeline_schema(connection)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


_CHANGING = re.compile(r"^\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def _changes_something(statement: str) -> bool:
    """DDL and writes, less the temporary tables a migration uses to look at data."""
    if "TEMPORARY" in statement.upper().split("(")[0] or "stage_" in statement:
        return False
    return bool(_CHANGING.match(statement)) and "pg_advisory" not in statement


def _prepare_pipeline_schema(connection: sa.Connection) -> None:
    """Create the pipeline's schema (PostgreSQL) and move an older installation's version
    table into it, so Alembic finds the history there before any migration runs."""
    if connection.dialect.name != "postgresql":
        return
    layout = schema_layout(connection)
    inspector = sa.inspect(connection)
    if layout.pipeline not in inspector.get_schema_names():
        connection.exec_driver_sql(f'CREATE SCHEMA "{layout.pipeline}"')
    legacy = VERSION_TABLE in inspector.get_table_names(schema=layout.crm)
    current = VERSION_TABLE in inspector.get_table_names(schema=layout.pipeline)
    if legacy and not current:
        connection.exec_driver_sql(
            f'ALTER TABLE "{layout.crm}"."{VERSION_TABLE}" SET SCHEMA "{layout.pipeline}"'
        )


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _current_revision(connection)


def _current_revision(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    layout = schema_layout(connection)
    schema = layout.pipeline_schema(connection.dialect.name)
    inspector = sa.inspect(connection)
    if connection.dialect.name == "postgresql":
        found = [s for s in (layout.pipeline, layout.crm) if inspector.has_table(VERSION_TABLE, s)]
        schema = found[0] if found else schema
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE, "version_table_schema": schema}
    )
    return context.get_current_revision()


_DESCRIPTIONS = (
    (r"CREATE SCHEMA (\S+)", "create schema {0}"),
    (r"CREATE TABLE (\S+) \(.*", "create table {0}"),
    (r"ALTER TABLE (\S+) ADD (?:COLUMN )?(\S+) (\S+).*", "add column {1} {2} to {0}"),
    (r"CREATE UNIQUE INDEX (\S+) ON (\S+) (.*)", "create unique index {0} on {1} {2}"),
    (r"CREATE INDEX (\S+) ON (\S+) (.*)", "create index {0} on {1} {2}"),
    (r"ALTER TABLE (\S+) SET SCHEMA (\S+)", "move table {0} into schema {1}"),
    (r"ALTER TABLE (\S+) RENAME TO (\S+)", "rename table {0} to {1}"),
    (r"(?:INSERT INTO|UPDATE) \S*starhouse_alembic_version\b.*", "record the revision"),
)


def describe(statement: str) -> str:
    """One line a person can read for a statement of the upgrade."""
    flat = " ".join(statement.split())
    for pattern, template in _DESCRIPTIONS:
        match = re.fullmatch(pattern, flat, re.IGNORECASE)
        if match:
            return template.format(*match.groups())
    return flat if len(flat) <= 160 else flat[:157] + "..."
