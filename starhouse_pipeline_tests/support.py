"""Test helpers: building small exports, seeding CRM rows and running the import job."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.defs.run_config import job_run_config
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.staging import sql_name

# The import's assets in lineage order, as the mission draws the chain.
IMPORT_CHAIN = (
    "raw_kajabi_csv",
    "validated_transactions",
    "resolved_products",
    "contact_enrichments",
    "loaded_transactions",
    "import_report",
)

_GOOD_ROW: dict[str, str] = {
    "ID": "1001",
    "Amount": "22.00",
    "Currency": "USD",
    "Status": "succeeded",
    "Type": "subscription",
    "Payment Method": "card",
    "Created At": "2025-11-08 04:11:00 -0700",
    "Order No.": "",
    "Provider": "stripe",
    "Offer ID": "2148572615",
    "Offer Title": "StarHouse Membership (Monthly)",
    "Customer ID": "9001",
    "Customer Name": "Ann Lee",
    "Customer Email": "ann@example.com",
    "Phone": "",
    "Address": "",
    "Address 2": "",
    "City": "",
    "State": "",
    "Zipcode": "",
    "Country": "",
    "Coupon Used": "",
    "Card Brand": "visa",
    "Card Funding": "credit",
    "Tax Amount": "0.00",
    "Quantity": "1",
    "Charge Attempt": "",
    "Failure Message": "",
}


def export_row(**overrides: str) -> dict[str, str]:
    """A valid export row; keyword names use underscores for spaces (`Customer_Email`)."""
    row = dict(_GOOD_ROW)
    for key, value in overrides.items():
        column = key.replace("_", " ")
        column = {"Order No": "Order No."}.get(column, column)
        if column not in row:
            raise KeyError(f"no export column {column!r}")
        row[column] = value
    return row


def write_export(
    path: Path,
    rows: Iterable[Mapping[str, str]],
    columns: Iterable[str] = TRANSACTION_COLUMNS,
    *,
    bom: bool = True,
    line_ending: str = "\r\n",
) -> Path:
    """Write rows as Kajabi does (BOM, CRLF by default)."""
    columns = list(columns)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator=line_ending)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})
    return path


def insert_rows(url: str, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    columns = {key for row in rows for key in row}
    rows = [dict.fromkeys(columns) | row for row in rows]
    engine = create_warehouse_engine(url)
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
        if connection.dialect.name == "postgresql":
            name = sql_name(connection, table)
            connection.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence(:name, 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                ),
                {"name": name},
            )
    engine.dispose()


def fetch_all(url: str, query: sa.Select) -> list[sa.Row]:
    engine = create_warehouse_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    engine.dispose()
    return rows


def run_import(
    database_url: str,
    path: Path,
    *,
    job_name: str = "import_job",
    instance: dg.DagsterInstance | None = None,
    reports_dir: Path | None = None,
    retry_wait_seconds: float | None = None,
    **import_options: Any,
) -> dg.ExecuteInProcessResult:
    """Run an import job in process on `path`, with the run config `starhouse import` builds
    (`import_options`: dry_run, max_quarantine_share, allow_sample_in_this_warehouse).

    In process, with a warehouse resource of the test's own, so the result keeps its events:
    the one way the tests run an import.
    """
    retries = {} if retry_wait_seconds is None else {"retry_wait_seconds": retry_wait_seconds}
    definitions = build_definitions(WarehouseResource(database_url=database_url, **retries))
    run_config = job_run_config(job_name, path, reports_dir=reports_dir, **import_options)
    return definitions.resolve_job_def(job_name).execute_in_process(
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    materializations = result.asset_materializations_for_node(asset)
    assert materializations, f"{asset} was not materialized"
    return {key: value.value for key, value in materializations[-1].metadata.items()}
