"""The few statements whose SQL differs between PostgreSQL and SQLite."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(connection: sa.Connection, table: sa.Table) -> sa.Insert:
    """An INSERT that can take ON CONFLICT clauses on either dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def locking(connection: sa.Connection, select: sa.Select, *tables: sa.Table) -> sa.Select:
    """Row locks for a read whose rows this transaction will update (PostgreSQL).

    SQLite needs none: its transactions take the database write lock when they begin.
    """
    if connection.dialect.name == "postgresql":
        return select.with_for_update(of=list(tables) or None)
    return select


def count_affected(connection: sa.Connection, statement: sa.Insert | sa.Update) -> int:
    """How many rows an INSERT ... SELECT or UPDATE ... FROM wrote.

    PostgreSQL reports -1 for some INSERT ... SELECT ... ON CONFLICT statements through the
    driver, so there the rows are counted from RETURNING inside a CTE (no rows travel back).
    """
    if connection.dialect.name != "postgresql":
        return connection.execute(statement).rowcount
    written = statement.returning(sa.literal_column("1")).cte("written")
    return connection.execute(sa.select(sa.func.count()).select_from(written)).scalar_one()
