"""PayPal item titles to products: aliases first, then a unique normalized name, never new."""

from __future__ import annotations

import polars as pl

from starhouse_pipeline.domain.paypal_products import resolve_item_titles

PRODUCTS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5],
        "name": [
            "StarHouse Membership - Antares monthly",
            "Astrology Foundations",
            "Birth Chart Intensive",
            "Full Moon  Gathering",
            "full moon gathering ",
        ],
    }
)
ALIASES = pl.DataFrame(
    {
        "title": ["antares starhouse membership", "Birth Chart Intensive"],
        "product_id": [1, 2],
    }
)


def _titles(*pairs: tuple[str | None, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"offer_title": [t for t, _ in pairs], "transactions": [n for _, n in pairs]},
        schema={"offer_title": pl.String, "transactions": pl.UInt32},
    )


def test_aliases_are_consulted_first_and_compared_normalized() -> None:
    resolved, unmapped = resolve_item_titles(
        _titles(("Antares StarHouse Membership", 40), ("  antares  starhouse membership", 3)),
        PRODUCTS,
        ALIASES,
    )
    assert resolved.rows() == [
        ("  antares  starhouse membership", 1, "alias"),
        ("Antares StarHouse Membership", 1, "alias"),
    ]
    assert unmapped.is_empty()


def test_an_alias_wins_over_a_product_of_the_same_name() -> None:
    resolved, _ = resolve_item_titles(_titles(("birth chart intensive", 5)), PRODUCTS, ALIASES)
    assert resolved.rows() == [("birth chart intensive", 2, "alias")]


def test_a_unique_normalized_product_name_matches() -> None:
    resolved, _ = resolve_item_titles(
        _titles(("ASTROLOGY   foundations ", 7)), PRODUCTS, ALIASES.clear()
    )
    assert resolved.rows() == [("ASTROLOGY   foundations ", 2, "name")]


def test_a_name_shared_by_two_products_is_not_a_match() -> None:
    resolved, unmapped = resolve_item_titles(
        _titles(("Full Moon Gathering", 12)), PRODUCTS, ALIASES
    )
    assert resolved.is_empty()
    assert unmapped.rows() == [("Full Moon Gathering", 12)]


def test_aliases_that_disagree_or_point_nowhere_are_not_a_match() -> None:
    aliases = pl.DataFrame(
        {"title": ["moon circle", "Moon Circle", "saturn return"], "product_id": [2, 3, 99]}
    )
    resolved, unmapped = resolve_item_titles(
        _titles(("moon circle", 4), ("Saturn Return", 2)), PRODUCTS, aliases
    )
    assert resolved.is_empty()
    assert unmapped.rows() == [("moon circle", 4), ("Saturn Return", 2)]


def test_unmapped_titles_are_reported_most_used_first_and_no_product_is_created() -> None:
    products = PRODUCTS.clone()
    resolved, unmapped = resolve_item_titles(
        _titles(("Private Reading", 3), ("donation", 18), (None, 2), ("Astrology Foundations", 1)),
        products,
        ALIASES,
    )
    assert resolved.rows() == [("Astrology Foundations", 2, "name")]
    assert unmapped.rows() == [("donation", 18), ("Private Reading", 3), (None, 2)]
    assert products.equals(PRODUCTS)


def test_string_keys_work_as_well_as_integers() -> None:
    products = PRODUCTS.with_columns(pl.format("uuid-{}", "id").alias("id"))
    aliases = pl.DataFrame({"title": ["antares starhouse membership"], "product_id": ["uuid-1"]})
    resolved, _ = resolve_item_titles(
        _titles(("Antares StarHouse Membership", 1)), products, aliases
    )
    assert resolved.rows() == [("Antares StarHouse Membership", "uuid-1", "alias")]
