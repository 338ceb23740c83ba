"""The pipeline's own records: import runs and quarantined rows."""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.reading import ExportFile
from starhouse_pipeline.warehouse.dialect import upsert_insert
from starhouse_pipeline.warehouse.tables import import_runs, quarantined_rows


def record_import_run(
    connection: sa.Connection, run_id: str, file: ExportFile, **counts: int
) -> None:
    """Create or update the run's row with whatever counts this stage knows."""
    insert = upsert_insert(connection, import_runs).values(
        run_id=run_id, source_file=file.name, file_sha256=file.sha256, **counts
    )
    connection.execute(
        insert.on_conflict_do_update(index_elements=["run_id"], set_=counts)
        if counts
        else insert.on_conflict_do_nothing()
    )


def finish_import_run(connection: sa.Connection, run_id: str, **counts: int) -> None:
    connection.execute(
        sa.update(import_runs)
        .where(import_runs.c.run_id == run_id)
        .values(finished_at=sa.func.now(), **counts)
    )


def write_quarantine(
    connection: sa.Connection, run_id: str, file: ExportFile, quarantined: pl.DataFrame
) -> int:
    """Store each quarantined row with its line, rule, reason and the raw row."""
    if quarantined.is_empty():
        return 0
    records = [
        {
            "run_id": run_id,
            "source_file": file.name,
            "file_sha256": file.sha256,
            "line_number": row["_line"],
            "external_transaction_id": row["external_transaction_id"],
            "rule": row["quarantine_rule"],
            "reason": row["quarantine_reason"],
            "raw_row": json.loads(row["raw_json"]),
        }
        for row in quarantined.iter_rows(named=True)
    ]
    connection.execute(quarantined_rows.insert(), records)
    return len(records)


def read_quarantine(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(
            quarantined_rows.c.line_number,
            quarantined_rows.c.external_transaction_id,
            quarantined_rows.c.rule,
            quarantined_rows.c.reason,
        )
        .where(quarantined_rows.c.run_id == run_id)
        .order_by(quarantined_rows.c.line_number)
    ).all()
    schema = {
        "line_number": pl.Int64,
        "external_transaction_id": pl.String,
        "rule": pl.String,
        "reason": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
