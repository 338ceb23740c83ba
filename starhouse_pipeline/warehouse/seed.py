"""Loading a CRM state from CSV files (the bundled sample's "existing CRM"), ids included."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.warehouse.tables import contacts, products, transactions

_TABLES_IN_LOAD_ORDER = (contacts, products, transactions)


def load_crm_state(connection: sa.Connection, directory: Path) -> dict[str, int]:
    """Insert `<table>.csv` rows for contacts, products and transactions, keeping their ids."""
    counts = {}
    for table in _TABLES_IN_LOAD_ORDER:
        path = directory / f"{table.name}.csv"
        if not path.exists():
            continue
        rows = [_typed(table, row) for row in _read_rows(path)]
        if rows:
            connection.execute(table.insert(), rows)
        counts[table.name] = len(rows)
        _advance_identity(connection, table)
    return counts


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows as dicts; a column empty in every row is left out, so its default applies."""
    frame = pl.read_csv(path, infer_schema=False, empty_string_is_null=True)
    return frame.select(c for c in frame.columns if frame[c].null_count() < frame.height).to_dicts()


def _typed(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if name not in table.c:
            continue
        python_type = table.c[name].type.python_type
        if value is None:
            typed[name] = None
        elif python_type is datetime:
            typed[name] = datetime.fromisoformat(value)
        elif python_type is Decimal:
            typed[name] = Decimal(value)
        elif python_type is int:
            typed[name] = int(value)
        else:
            typed[name] = value
    return typed


def _advance_identity(connection: sa.Connection, table: sa.Table) -> None:
    """After explicit ids, move PostgreSQL's identity past them so new rows do not collide."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        sa.text(
            "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
            f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
        ),
        {"table": table.name},
    )
