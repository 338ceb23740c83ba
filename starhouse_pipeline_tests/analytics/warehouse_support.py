"""Seeding a migrated warehouse with a history and materializing the analytics against it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.defs import analytics
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.warehouse.analytics import read_metric_table
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.tables import contacts, products, transactions
from starhouse_pipeline_tests.analytics.history import CONTACTS, PRODUCTS, history_rows
from starhouse_pipeline_tests.support import insert_rows

ANALYTICS_ASSETS = dg.load_assets_from_modules([analytics])


def seed_history(url: str, rows: list[dict[str, Any]] | None = None) -> None:
    """Contacts 1-7, the five products, and the history's transactions."""
    insert_rows(
        url,
        contacts,
        [{"id": contact, "email": f"customer{contact}@example.com"} for contact in CONTACTS],
    )
    insert_rows(
        url,
        products,
        [
            {"id": product, "name": name, "kajabi_offer_id": offer}
            for product, (name, offer) in PRODUCTS.items()
        ],
    )
    insert_rows(url, transactions, [_warehouse_row(row) for row in rows or history_rows()])


def _warehouse_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["transaction_id"],
        "contact_id": row["contact_id"],
        "product_id": row["product_id"],
        "source_system": row["source_system"],
        "external_transaction_id": str(row["transaction_id"]),
        "transaction_date": row["transaction_date"],
        "transaction_type": row["transaction_type"],
        "status": row["status"],
        "amount": row["amount"],
        "currency": row["currency"],
    }


def materialize_analytics(
    url: str, names: Sequence[str], **options: Any
) -> dg.ExecuteInProcessResult:
    selected = [asset for asset in ANALYTICS_ASSETS if asset.key.to_user_string() in names]
    checks = dg.load_asset_checks_from_modules([analytics])
    return dg.materialize(
        [*selected, *checks],
        resources={
            "warehouse": WarehouseResource(database_url=url),
            "analytics_options": analytics.AnalyticsOptions(**options),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )


def read_table(url: str, table: sa.Table) -> pl.DataFrame:
    engine = create_warehouse_engine(url)
    with engine.connect() as connection:
        frame = read_metric_table(connection, table)
    engine.dispose()
    return frame
