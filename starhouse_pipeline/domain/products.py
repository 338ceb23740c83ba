"""Matching Kajabi offers to CRM products: by Offer ID, else by normalized name, else new.

A name match only back-fills an Offer ID onto a product that has none, and only when exactly
one product and one offer share that name; anything else is a refused collision and the
offer gets a product of its own. That product needs a name no other product has under
normalization (the CRM may hold it unique, as a generated `lower(trim(name))` column), so a
colliding title gets its Offer ID appended: "Title (Kajabi offer 123)".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.latest import latest_per_key
from starhouse_pipeline.domain.patterns import normalize_name

PRODUCT_SCHEMA = {"id": CRM_KEY, "name": pl.String, "kajabi_offer_id": pl.String}


@dataclass(frozen=True)
class ProductPlan:
    """What resolving the export's offers means for the products table."""

    matched_by_id: pl.DataFrame  # offer_id, product_id
    matched_by_name: pl.DataFrame  # offer_id, product_id, name (back-fill offer_id)
    to_create: pl.DataFrame  # offer_id, name
    collisions: pl.DataFrame  # offer_id, name, reason
    renamed: pl.DataFrame  # offer_id, name (the export's title), created_as


# What `offers_in_export` reads of each valid row.
OFFER_COLUMNS = ("transaction_date", "offer_id", "offer_title")


def offers_in_export(valid: pl.DataFrame | Iterable[pl.DataFrame]) -> pl.DataFrame:
    """One row per Offer ID, named by its most recent title in the export (`latest_per_key`;
    `valid` may come a batch at a time)."""
    batches = [valid] if isinstance(valid, pl.DataFrame) else valid
    with_offer = (batch.filter(pl.col("offer_id").is_not_null()) for batch in batches)
    latest = latest_per_key(with_offer, "offer_id", {"offer_title": ("offer_title",)})
    return (
        latest.select("offer_id", pl.col("offer_title").alias("name"))
        .with_columns(pl.col("name").fill_null(pl.format("Kajabi offer {}", pl.col("offer_id"))))
        .sort("offer_id")
    )


def plan_products(offers: pl.DataFrame, products: pl.DataFrame) -> ProductPlan:
    """Decide, for each offer, which product it belongs to."""
    by_id = offers.join(
        products.select(pl.col("id").alias("product_id"), pl.col("kajabi_offer_id")),
        left_on="offer_id",
        right_on="kajabi_offer_id",
        how="inner",
    ).select("offer_id", "product_id")
    unmatched = offers.join(by_id, on="offer_id", how="anti").with_columns(
        normalize_name("name").alias("_key")
    )
    candidates = products.with_columns(normalize_name("name").alias("_key"))
    matched_by_name, collisions = _match_by_name(unmatched, candidates)
    to_create = unmatched.join(matched_by_name, on="offer_id", how="anti").select(
        "offer_id", "name"
    )
    to_create, renamed = _distinct_names(to_create, products)
    return ProductPlan(
        matched_by_id=by_id,
        matched_by_name=matched_by_name,
        to_create=to_create,
        collisions=collisions,
        renamed=renamed,
    )


def _distinct_names(
    to_create: pl.DataFrame, products: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """New products' names, made distinct from every product's and from each other's."""
    taken = products.select(normalize_name("name").alias("_key")).unique()
    keyed = to_create.with_columns(normalize_name("name").alias("_key"))
    colliding = keyed.join(taken, on="_key", how="semi").get_column("offer_id")
    shared = keyed.filter(pl.len().over("_key") > 1).get_column("offer_id")
    needs_suffix = pl.col("offer_id").is_in(pl.concat([colliding, shared]).implode())
    named = keyed.with_columns(
        pl.when(needs_suffix)
        .then(pl.format("{} (Kajabi offer {})", pl.col("name"), pl.col("offer_id")))
        .otherwise(pl.col("name"))
        .alias("created_as")
    )
    renamed = named.filter(needs_suffix).select("offer_id", "name", "created_as")
    return named.select("offer_id", pl.col("created_as").alias("name")), renamed


def _match_by_name(
    unmatched: pl.DataFrame, candidates: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    same_name = unmatched.join(
        candidates.select(
            pl.col("id").alias("product_id"), "_key", pl.col("kajabi_offer_id").alias("_taken")
        ),
        on="_key",
        how="inner",
    )
    counted = same_name.with_columns(
        pl.len().over("offer_id").alias("_products_with_name"),
        pl.col("offer_id").n_unique().over("_key").alias("_offers_with_name"),
    )
    clean = (
        pl.col("_taken").is_null()
        & (pl.col("_products_with_name") == 1)
        & (pl.col("_offers_with_name") == 1)
    )
    matched = counted.filter(clean).select("offer_id", "product_id", "name")
    refused = (
        counted.filter(~clean)
        .group_by("offer_id", maintain_order=True)
        .agg(pl.col("name").first(), _collision_reason().first().alias("reason"))
        .sort("offer_id")
    )
    return matched, refused


def _collision_reason() -> pl.Expr:
    return (
        pl.when(pl.col("_taken").is_not_null())
        .then(pl.format("a product of that name already carries Offer ID {}", pl.col("_taken")))
        .when(pl.col("_products_with_name") > 1)
        .then(pl.lit("several products share that name"))
        .otherwise(pl.lit("several offers in the export share that name"))
    )


def product_ids_by_offer(plan: ProductPlan, created: pl.DataFrame) -> pl.DataFrame:
    """offer_id → product_id and how it was resolved, once created products have ids."""
    return pl.concat(
        [
            plan.matched_by_id.with_columns(pl.lit("offer_id").alias("matched_by")),
            plan.matched_by_name.select(
                "offer_id", "product_id", pl.lit("name").alias("matched_by")
            ),
            created.select("offer_id", "product_id", pl.lit("created").alias("matched_by")),
        ],
        how="vertical_relaxed",
    )
