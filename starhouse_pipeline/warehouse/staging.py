"""Moving polars frames into tables in bulk: COPY on PostgreSQL, raw batches on SQLite.

Every set-based write starts here: stage the frame once, then one INSERT ... SELECT or
UPDATE ... FROM per target table; rows known to be new are copied straight in.
"""

from collections.abc import Mapping

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.warehouse.types import sqlite_storage_expressions

_SQLITE_BATCH_ROWS = 50_000
_COPY_SLICE_ROWS = 100_000


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
    copy_rows(connection, table, frame.select(list(column_types)))
    return table


def stage_like(
    connection: sa.Connection, name: str, target: sa.Table, frame: pl.DataFrame
) -> sa.Table:
    """Stage `frame` in a temporary table whose columns have the target's own types.

    On PostgreSQL the column types are read from the live table, so an existing database
    whose columns use enums, json or varchar is staged in exactly those types and the
    UPDATE ... FROM that follows needs no casts.
    """
    columns = list(frame.columns)
    table = sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(column, target.c[column].type) for column in columns),
        prefixes=["TEMPORARY"],
    )
    table.drop(connection, checkfirst=True)
    if connection.dialect.name == "postgresql":
        selected = ", ".join(f'"{column}"' for column in columns)
        source = f'SELECT {selected} FROM "{target.name}" WITH NO DATA'
        connection.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" AS {source}')
    else:
        table.create(connection)
    copy_rows(connection, table, frame)
    return table


def copy_rows(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's) and return how many."""
    if frame.is_empty():
        return 0
    if connection.dialect.name == "postgresql":
        return _copy_into(connection, table, frame)
    return _insert_batches(connection, table, frame)


def _copy_into(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """CSV COPY: polars writes null unquoted and empty text as "", which COPY keeps apart."""
    columns = ", ".join(f'"{column}"' for column in frame.columns)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT csv)') as copy:
        for chunk in frame.iter_slices(n_rows=_COPY_SLICE_ROWS):
            copy.write(chunk.write_csv(include_header=False))
    return cursor.rowcount


def _insert_batches(connection: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Plain DB-API batches in SQLite's own representation (see warehouse.types)."""
    stored = frame.with_columns(sqlite_storage_expressions(table, frame.columns))
    columns = ", ".join(f'"{column}"' for column in stored.columns)
    marks = ", ".join("?" for _ in stored.columns)
    sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
    for chunk in stored.iter_slices(n_rows=_SQLITE_BATCH_ROWS):
        connection.exec_driver_sql(sql, chunk.rows())
    return stored.height
