"""The child side of each measured method: `python -m bench.drivers METHOD ...`.

Each driver does its untimed set-up (migrations, imports of libraries), times only the
work being compared, and reports the seconds through `measure.write_result`.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from bench.measure import write_result

if TYPE_CHECKING:
    from starhouse_pipeline.run import JobRunOutcome


def project(url: str, path: Path, *, migrate: bool = True) -> None:
    """The project's whole import job, run the way `starhouse import` runs it (`run.run_job`)."""
    import os

    import dagster as dg

    from starhouse_pipeline.run import run_job
    from starhouse_pipeline.warehouse.engine import create_warehouse_engine
    from starhouse_pipeline.warehouse.migrate import upgrade_database

    if migrate:
        engine = create_warehouse_engine(url)
        upgrade_database(engine)
        engine.dispose()
    # The warehouse resource reads it when the run starts, as in a deployment.
    os.environ["STARHOUSE_DATABASE_URL"] = url
    with (
        tempfile.TemporaryDirectory(prefix="starhouse_bench_reports_") as reports,
        tempfile.TemporaryDirectory(prefix="starhouse_bench_home_") as home,
        dg.DagsterInstance.local_temp(home) as instance,
    ):
        started = time.perf_counter()
        outcome = run_job("import_job", path, instance=instance, reports_dir=reports)
        seconds = time.perf_counter() - started
        steps = {
            stats.step_key: round(stats.end_time - stats.start_time, 2)
            for stats in instance.get_run_step_stats(outcome.run_id)
            if stats.start_time is not None and stats.end_time is not None
        }
        _report_project_run(outcome, seconds, steps)


def _report_project_run(outcome: JobRunOutcome, seconds: float, steps: dict[str, float]) -> None:
    if not outcome.succeeded:
        sys.exit(f"import failed: {'; '.join(problem[:500] for problem in outcome.problems)}")
    loaded = outcome.materializations.get("loaded_transactions", {})
    counts = {key: value for key, value in loaded.items() if isinstance(value, int)}
    write_result(seconds, counts=counts, steps=steps)


def dlt_merge(url: str, path: Path, loader_file_format: str = "csv") -> None:
    """dlt's fast path: the CSV read into an Arrow table, merged on ID.

    `csv`: dlt writes the Arrow table as CSV and COPYs it. `parquet`: dlt writes Parquet and
    ingests it through the ADBC PostgreSQL driver (binary COPY); without that driver dlt would
    fall back to another format with only a warning, so its absence is an error here.
    """
    import dlt
    import polars as pl
    import sqlalchemy as sa

    if loader_file_format == "parquet":
        from dlt.destinations._adbc_jobs import has_adbc_driver
        from dlt.destinations.impl.postgres.factory import get_adbc_driver_location

        found, problem = has_adbc_driver(get_adbc_driver_location())
        if not found:
            sys.exit(f"dlt's parquet loader needs adbc-driver-postgresql: {problem}")
    parsed = sa.make_url(url)
    # dlt insists on a password; with trust authentication any one will do.
    credentials = parsed.set(drivername="postgresql", password=parsed.password or "trust")
    credentials = credentials.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="starhouse_bench_dlt_") as pipelines_dir:
        started = time.perf_counter()
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8").with_columns(
            pl.col("ID").cast(pl.Int64),
            pl.col("Amount", "Tax Amount").cast(pl.Decimal(12, 2), strict=False),
            pl.col("Created At").str.to_datetime("%Y-%m-%d %H:%M:%S %z", strict=False),
        )
        pipeline = dlt.pipeline(
            pipeline_name="starhouse_bench",
            pipelines_dir=pipelines_dir,
            destination=dlt.destinations.postgres(credentials=credentials),
            dataset_name="kajabi",
        )
        info = pipeline.run(
            frame.to_arrow(),
            table_name="transactions",
            write_disposition="merge",
            primary_key="ID",
            loader_file_format=loader_file_format,
        )
        seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    formats = sorted(
        {
            job.job_file_info.file_format
            for package in info.load_packages
            for job in package.jobs["completed_jobs"]
        }
    )
    if loader_file_format not in formats:
        sys.exit(f"dlt loaded {formats}, not the {loader_file_format} asked for")
    write_result(seconds, rows_in=frame.height, file_formats=formats)


_SQLITE_SLICE_ROWS = 50_000


def sqlite_floor(url: str, path: Path, source_url: str) -> None:
    """The CRM write floor on SQLite: the import's final rows inserted, nothing computed.

    Untimed: a fresh warehouse migrated as the project does, the contacts and products of the
    loaded PostgreSQL warehouse `source_url` copied with their ids (the foreign keys are on),
    and the rows of `path` (headerless CSV of `postgres.CRM_WRITE_COLUMNS`) put in SQLite's
    representation (`sqlite_storage_expressions`: dollars as floats, naive UTC text) and made
    into tuples, one slice at a time. Timed: only `executemany` of the prepared INSERT over
    those tuples and the COMMIT, in one transaction, on a connection with the project's PRAGMAs.
    """
    import polars as pl
    import sqlalchemy as sa

    from bench.postgres import CRM_PARENT_TABLES, CRM_WRITE_COLUMNS
    from starhouse_pipeline.warehouse import tables
    from starhouse_pipeline.warehouse.engine import create_warehouse_engine
    from starhouse_pipeline.warehouse.migrate import upgrade_database
    from starhouse_pipeline.warehouse.staging import copy_rows
    from starhouse_pipeline.warehouse.types import Money, UtcDateTime, sqlite_storage_expressions

    engine = create_warehouse_engine(url)
    upgrade_database(engine)
    source = sa.create_engine(source_url)
    with engine.begin() as connection:
        for name in CRM_PARENT_TABLES:
            parent = tables.metadata.tables[name]
            # A column that is null throughout (deleted_at) would otherwise come back untyped.
            overrides = {
                column.name: pl.Datetime("us", "UTC")
                for column in parent.columns
                if isinstance(column.type, UtcDateTime)
            }
            with source.connect() as reader:
                frame = pl.read_database(
                    f"SELECT * FROM {name} ORDER BY id", reader, schema_overrides=overrides
                )
            copy_rows(connection, parent, frame)
    source.dispose()
    table = tables.transactions
    columns = list(CRM_WRITE_COLUMNS)
    frame = pl.read_csv(
        path,
        has_header=False,
        new_columns=columns,
        infer_schema=False,
    )
    casts = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, UtcDateTime):
            casts.append(pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f%#z", time_zone="UTC"))
        elif isinstance(kind, Money):
            casts.append(pl.col(name).cast(pl.Decimal(12, 2)))
        elif name in ("contact_id", "product_id"):
            casts.append(pl.col(name).cast(pl.Int64))
    frame = frame.with_columns(casts)
    frame = frame.with_columns(sqlite_storage_expressions(table, columns))
    statement = (
        f"INSERT INTO transactions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        seconds = 0.0
        started = time.perf_counter()
        cursor.execute("BEGIN IMMEDIATE")
        seconds += time.perf_counter() - started
        for chunk in frame.iter_slices(n_rows=_SQLITE_SLICE_ROWS):
            rows = chunk.rows()
            started = time.perf_counter()
            cursor.executemany(statement, rows)
            seconds += time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("COMMIT")
        seconds += time.perf_counter() - started
        loaded = cursor.execute("SELECT count(*) FROM transactions").fetchone()[0]
    finally:
        raw.close()
    engine.dispose()
    write_result(seconds, rows_loaded=loaded, rows_in=frame.height)


_TYPES = {"subscription": "subscription", "charge": "purchase", "payment plan": "purchase"}
_TYPES["refund"] = "refund"
_STATUSES = {"succeeded": "completed", "failed": "failed", "pending": "pending"}
_OLD_COLUMNS = (
    "source_system",
    "external_transaction_id",
    "external_order_id",
    "transaction_date",
    "transaction_type",
    "status",
    "amount",
    "currency",
    "payment_method",
    "payment_processor",
)
_BATCH = 500


def old_script(url: str, path: Path) -> None:
    """The one-off script's way: csv module, Decimal and strptime per row, INSERTs of 500."""
    import psycopg

    from starhouse_pipeline.warehouse.engine import create_warehouse_engine
    from starhouse_pipeline.warehouse.migrate import upgrade_database

    engine = create_warehouse_engine(url)
    upgrade_database(engine)
    engine.dispose()
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    one_row = "(" + ", ".join(["%s"] * len(_OLD_COLUMNS)) + ")"
    statement_head = f"INSERT INTO transactions ({', '.join(_OLD_COLUMNS)}) VALUES "
    statement_tail = " ON CONFLICT (source_system, external_transaction_id) DO NOTHING"
    started = time.perf_counter()
    inserted = skipped = 0
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        batch: list[tuple] = []

        def flush() -> None:
            nonlocal inserted
            sql = statement_head + ", ".join([one_row] * len(batch)) + statement_tail
            cursor.execute(sql, [value for row in batch for value in row])
            inserted += cursor.rowcount
            batch.clear()

        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.DictReader(handle):
                try:
                    row = (
                        "kajabi",
                        record["ID"].strip(),
                        record["Order No."].strip() or None,
                        datetime.strptime(record["Created At"].strip(), "%Y-%m-%d %H:%M:%S %z"),
                        _TYPES[record["Type"].strip().lower()],
                        _STATUSES[record["Status"].strip().lower()],
                        Decimal(record["Amount"].strip()),
                        record["Currency"].strip().upper() or "USD",
                        record["Payment Method"].strip() or None,
                        record["Provider"].strip() or None,
                    )
                except (KeyError, ValueError, InvalidOperation):
                    skipped += 1
                    continue
                batch.append(row)
                if len(batch) == _BATCH:
                    flush()
            if batch:
                flush()
        connection.commit()
    write_result(time.perf_counter() - started, inserted=inserted, skipped=skipped)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drivers")
    parser.add_argument("method", choices=["project", "dlt", "dlt_parquet", "sqlite_floor", "old"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--no-migrate", action="store_true")
    parser.add_argument("--source", help="sqlite_floor: the loaded PostgreSQL warehouse")
    args = parser.parse_args(argv)
    if args.method == "project":
        project(args.url, args.file, migrate=not args.no_migrate)
    elif args.method == "dlt":
        dlt_merge(args.url, args.file)
    elif args.method == "dlt_parquet":
        dlt_merge(args.url, args.file, loader_file_format="parquet")
    elif args.method == "sqlite_floor":
        if not args.source:
            parser.error("sqlite_floor needs --source")
        sqlite_floor(args.url, args.file, args.source)
    else:
        old_script(args.url, args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
