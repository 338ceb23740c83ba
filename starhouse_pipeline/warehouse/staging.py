"""Moving a polars frame into a temporary table in bulk: COPY on PostgreSQL, batches on SQLite.

Every set-based write starts here: stage the frame once, then one INSERT ... SELECT or
UPDATE ... FROM per target table.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa

_SQLITE_BATCH_ROWS = 20_000


def stage_frame(
    connection: sa.Connection,
    name: str,
    frame: pl.DataFrame,
    column_types: Mapping[str, sa.types.TypeEngine],
) -> sa.Table:
    """Create temporary table `name` with `column_types` and fill it with `frame`'s columns."""
    table = sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column, column_type) for column, column_type in column_types.items()),
        prefixes=["TEMPORARY"],
    )
    table.drop(connection, checkfirst=True)
    table.create(connection)
    frame = frame.select(list(column_types))
    if connection.dialect.name == "postgresql":
        _copy_into(connection, table, frame)
    else:
        _insert_batches(connection, table, frame)
    return table


def _copy_into(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    """CSV COPY: polars writes null unquoted and empty text as "", which COPY keeps apart."""
    if frame.is_empty():
        return
    columns = ", ".join(f'"{column}"' for column in frame.columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
        for chunk in frame.iter_slices(n_rows=200_000):
            copy.write(chunk.write_csv(include_header=False))


def _insert_batches(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    rows = frame.iter_rows(named=True)
    while batch := list(itertools.islice(rows, _SQLITE_BATCH_ROWS)):
        connection.execute(table.insert(), batch)
