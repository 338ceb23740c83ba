from datetime import UTC, datetime

import polars as pl

from starhouse_pipeline.domain.products import (
    PRODUCT_SCHEMA,
    offers_in_export,
    plan_products,
    product_ids_by_offer,
)


def _offers(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"offer_id": pl.String, "name": pl.String}, orient="row")


def _products(*rows: tuple[int, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PRODUCT_SCHEMA, orient="row")


def test_offer_id_match_wins_over_name():
    plan = plan_products(_offers(("10", "Astrology 101")), _products(("1", "Other", "10")))
    assert plan.matched_by_id.rows() == [("10", "1")]
    assert plan.matched_by_name.is_empty()
    assert plan.to_create.is_empty()


def test_name_match_ignores_case_and_whitespace_and_backfills_the_offer_id():
    plan = plan_products(
        _offers(("10", "Astrology Foundations")),
        _products(("1", "  astrology   FOUNDATIONS ", None)),
    )
    assert plan.matched_by_name.select("offer_id", "product_id").rows() == [("10", "1")]
    assert plan.to_create.is_empty()


def test_a_name_already_carrying_another_offer_id_is_refused_and_a_product_created():
    plan = plan_products(_offers(("10", "Astrology 101")), _products(("1", "Astrology 101", "99")))
    assert plan.matched_by_name.is_empty()
    assert plan.collisions["offer_id"].to_list() == ["10"]
    assert "99" in plan.collisions["reason"][0]
    # Its own product needs a name no other product has under normalization.
    assert plan.to_create.rows() == [("10", "Astrology 101 (Kajabi offer 10)")]
    assert plan.renamed.rows() == [("10", "Astrology 101", "Astrology 101 (Kajabi offer 10)")]


def test_ambiguous_names_are_refused_rather_than_guessed():
    two_products = plan_products(
        _offers(("10", "Course")), _products(("1", "Course", None), ("2", "course", None))
    )
    two_offers = plan_products(
        _offers(("10", "Course"), ("11", "COURSE")), _products(("1", "Course", None))
    )

    assert two_products.matched_by_name.is_empty()
    assert two_products.collisions["offer_id"].to_list() == ["10"]
    assert two_offers.matched_by_name.is_empty()
    assert sorted(two_offers.to_create["offer_id"].to_list()) == ["10", "11"]


def test_unknown_offers_are_created_and_every_offer_ends_with_a_product():
    plan = plan_products(
        _offers(("10", "A"), ("11", "B"), ("12", "C")),
        _products(("1", "A", "10"), ("2", "b", None)),
    )
    created = pl.DataFrame({"offer_id": ["12"], "product_id": ["3"]})
    resolved = product_ids_by_offer(plan, created).sort("offer_id")
    assert resolved.rows() == [("10", "1", "offer_id"), ("11", "2", "name"), ("12", "3", "created")]


def test_an_offer_is_named_by_its_latest_title_whichever_batch_holds_it():
    def sale(line: int, month: int, offer: str | None, title: str | None) -> dict:
        date = datetime(2025, month, 1, tzinfo=UTC)
        return {"_line": line, "transaction_date": date, "offer_id": offer, "offer_title": title}

    rows = pl.DataFrame(
        [
            sale(2, 3, "10", "Course (spring)"),
            sale(3, 1, "10", "Course"),
            sale(4, 3, "10", None),  # as late, later in the file, but without a title
            sale(5, 2, "20", None),
            sale(6, 2, None, "No offer"),
        ]
    )

    for size in (1, 2, 5):
        batches = (rows.slice(offset, size) for offset in range(0, rows.height, size))
        assert offers_in_export(batches).rows() == [
            ("10", "Course (spring)"),
            ("20", "Kajabi offer 20"),
        ]
