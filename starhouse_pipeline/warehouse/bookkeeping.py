"""The pipeline's own records: import runs and quarantined rows."""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.reading import ExportFile
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.warehouse.dialect import upsert_insert
from starhouse_pipeline.warehouse.staging import fetch_frame, stage_frame
from starhouse_pipeline.warehouse.tables import import_runs, quarantined_rows

# Rules under which a row has no usable ID: such a row can only be matched by its file.
_NO_USABLE_ID_RULES = ("id_present", "id_numeric", "id_shape")


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


def record_validated_export(
    connection: sa.Connection, run_id: str, validated: ValidatedExport
) -> None:
    """The run's row with its read counts, and its quarantined rows."""
    record_import_run(
        connection,
        run_id,
        validated.file,
        rows_read=validated.rows_read,
        rows_quarantined=validated.quarantined.height,
        rows_collapsed=len(validated.collapsed_lines),
    )
    write_quarantine(connection, run_id, validated.file, validated.quarantined)


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
            "source_row_id": row["source_row_id"],
            "rule": row["quarantine_rule"],
            "reason": row["quarantine_reason"],
            "raw_row": json.loads(row["raw_json"]),
        }
        for row in quarantined.iter_rows(named=True)
    ]
    connection.execute(quarantined_rows.insert(), records)
    return len(records)


def resolve_quarantine(
    connection: sa.Connection, run_id: str, file: ExportFile, seen_ids: pl.Series
) -> int:
    """Close earlier quarantined rows that this run has dealt with; returns how many.

    An open row is closed (`resolved_at`, `resolved_by_run_id`) when this run read a row with
    the same external ID (it now loads, or it is quarantined again under this run, so the open
    quarantine holds only the latest verdict), or when it had no usable ID and this run read
    a file of the same name (the fixed file: its rows that are still wrong are quarantined
    again under this run). Rows from other files whose IDs this export does not contain stay
    open.
    """
    ids = _open_ids_among(connection, run_id, seen_ids)
    staged = stage_frame(connection, "stage_seen_row_ids", ids, {"source_row_id": sa.Text()})
    same_id = quarantined_rows.c.source_row_id.in_(sa.select(staged.c.source_row_id))
    same_file_without_id = sa.and_(
        quarantined_rows.c.source_file == file.name,
        sa.or_(
            quarantined_rows.c.source_row_id.is_(None),
            quarantined_rows.c.rule.in_(_NO_USABLE_ID_RULES),
        ),
    )
    result = connection.execute(
        sa.update(quarantined_rows)
        .where(
            quarantined_rows.c.resolved_at.is_(None),
            quarantined_rows.c.run_id != run_id,
            sa.or_(same_id, same_file_without_id),
        )
        .values(resolved_at=sa.func.now(), resolved_by_run_id=run_id)
    )
    staged.drop(connection)
    return result.rowcount


def _open_ids_among(connection: sa.Connection, run_id: str, seen_ids: pl.Series) -> pl.DataFrame:
    """The ids of earlier runs' open quarantined rows that this run read: the open quarantine
    is small, so it is fetched and matched here rather than staging a million seen ids."""
    is_open = sa.and_(
        quarantined_rows.c.resolved_at.is_(None),
        quarantined_rows.c.run_id != run_id,
        quarantined_rows.c.source_row_id.is_not(None),
    )
    open_ids = fetch_frame(
        connection,
        sa.select(quarantined_rows.c.source_row_id).where(is_open).distinct(),
        {"source_row_id": pl.String},
    )
    return open_ids.filter(pl.col("source_row_id").is_in(seen_ids.drop_nulls().implode()))


def read_quarantine(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(
            quarantined_rows.c.line_number,
            quarantined_rows.c.source_row_id,
            quarantined_rows.c.rule,
            quarantined_rows.c.reason,
        )
        .where(quarantined_rows.c.run_id == run_id)
        .order_by(quarantined_rows.c.line_number)
    ).all()
    schema = {
        "line_number": pl.Int64,
        "source_row_id": pl.String,
        "rule": pl.String,
        "reason": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
