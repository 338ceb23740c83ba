"""Reading and writing products."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.products import PRODUCT_SCHEMA, ProductPlan
from starhouse_pipeline.warehouse.dialect import locking, upsert_insert
from starhouse_pipeline.warehouse.tables import products


def read_products(connection: sa.Connection) -> pl.DataFrame:
    """Every product (the table is small), locked for the rest of the transaction."""
    query = locking(
        connection,
        sa.select(products.c.id, products.c.name, products.c.kajabi_offer_id),
        products,
    )
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=PRODUCT_SCHEMA, orient="row")


def apply_product_plan(connection: sa.Connection, plan: ProductPlan) -> pl.DataFrame:
    """Back-fill offer ids onto name-matched products and create the rest.

    Returns offer_id → product_id for created products. The back-fill only touches a
    product whose offer id is still empty, and raises if that changed under us.
    """
    for row in plan.matched_by_name.iter_rows(named=True):
        result = connection.execute(
            sa.update(products)
            .where(products.c.id == row["product_id"], products.c.kajabi_offer_id.is_(None))
            .values(kajabi_offer_id=row["offer_id"], updated_at=sa.func.now())
        )
        if result.rowcount != 1:
            raise RuntimeError(f"product {row['product_id']} gained an offer id concurrently")
    if not plan.to_create.is_empty():
        now = datetime.now(UTC)
        insert = upsert_insert(connection, products).on_conflict_do_nothing()
        connection.execute(
            insert,
            [
                {
                    "name": row["name"],
                    "kajabi_offer_id": row["offer_id"],
                    "created_at": now,
                    "updated_at": now,
                }
                for row in plan.to_create.iter_rows(named=True)
            ],
        )
    return product_ids_for_offers(connection, plan.to_create.get_column("offer_id").to_list())


def product_ids_for_offers(connection: sa.Connection, offer_ids: list[str]) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(products.c.kajabi_offer_id, products.c.id).where(
            products.c.kajabi_offer_id.in_(offer_ids)
        )
    ).all()
    return pl.DataFrame(rows, schema={"offer_id": pl.String, "product_id": CRM_KEY}, orient="row")
