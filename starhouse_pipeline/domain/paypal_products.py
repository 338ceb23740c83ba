"""Which product a PayPal item title is: the operator's alias table first, then the name.

PayPal's item titles are free text (`antares starhouse membership` for Kajabi's `StarHouse
Membership - Antares monthly`), so a title is looked up in the product-alias table (title →
product), then matched to the one product of the same normalized name. Nothing here creates
a product: a title neither finds is reported as unmapped, with its transaction count, for the
operator to alias.
"""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.patterns import normalize_name

BY_ALIAS = "alias"
BY_NAME = "name"


def item_titles(valid: pl.DataFrame) -> pl.DataFrame:
    """Each item title of an export's sales and refunds with its transaction count."""
    return (
        valid.filter(pl.col("offer_title").is_not_null())
        .group_by("offer_title")
        .agg(pl.len().cast(pl.Int64).alias("transactions"))
        .sort("offer_title")
    )


def resolve_item_titles(
    titles: pl.DataFrame, products: pl.DataFrame, aliases: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve `titles` [offer_title, transactions] to products [id, name].

    `aliases` [title, product_id] is consulted first, then product names; both compared by
    `patterns.normalize_name`. A key that names two products (two aliases disagreeing, or two
    products sharing a normalized name) matches neither. Returns `resolved` [offer_title,
    product_id, matched_by] and `unmapped` [offer_title, transactions], the most used first.
    """
    keyed = titles.with_columns(normalize_name("offer_title").alias("_key"))
    by_alias = _unique_targets(_alias_targets(aliases, products))
    by_name = _unique_targets(
        products.select(normalize_name("name").alias("_key"), pl.col("id").alias("product_id"))
    )
    alias_hits = keyed.join(by_alias, on="_key", how="inner").with_columns(
        pl.lit(BY_ALIAS).alias("matched_by")
    )
    rest = keyed.join(alias_hits.select("offer_title"), on="offer_title", how="anti")
    name_hits = rest.join(by_name, on="_key", how="inner").with_columns(
        pl.lit(BY_NAME).alias("matched_by")
    )
    resolved = pl.concat([alias_hits, name_hits]).select("offer_title", "product_id", "matched_by")
    unmapped = keyed.join(resolved, on="offer_title", how="anti", nulls_equal=True)
    return (
        resolved.sort("offer_title"),
        unmapped.select("offer_title", "transactions").sort(
            ["transactions", "offer_title"], descending=[True, False], nulls_last=True
        ),
    )


def _alias_targets(aliases: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Aliases keyed by normalized title, pointing only at products that exist."""
    product_ids = products.select(pl.col("id").alias("product_id"))
    return (
        aliases.select(
            normalize_name("title").alias("_key"),
            pl.col("product_id").cast(product_ids.schema["product_id"]),
        )
        .join(product_ids, on="product_id", how="semi")
        .unique()
    )


def _unique_targets(keyed: pl.DataFrame) -> pl.DataFrame:
    """Keys that point at exactly one product; a key shared by two is no match at all."""
    return keyed.drop_nulls("_key").unique().filter(pl.len().over("_key") == 1)
