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


def dlt_merge(url: str, path: Path) -> None:
    """dlt's fast path: the CSV read into an Arrow table, merged on ID through COPY of csv."""
    import dlt
    import polars as pl
    import sqlalchemy as sa

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
            loader_file_format="csv",
        )
        seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    write_result(seconds, rows_in=frame.height)


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
    parser.add_argument("method", choices=["project", "dlt", "old"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    if args.method == "project":
        project(args.url, args.file, migrate=not args.no_migrate)
    elif args.method == "dlt":
        dlt_merge(args.url, args.file)
    else:
        old_script(args.url, args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
