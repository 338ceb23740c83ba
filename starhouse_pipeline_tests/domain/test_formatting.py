"""Numbers for people: money with its currency, rates as percentages, counts with separators."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from starhouse_pipeline.domain.formatting import (
    display_frame,
    markdown_table,
    money,
    money_by_currency,
    percent,
)

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (D("112115.00"), "USD", "USD 112,115.00"),
        (D("-8787"), "USD", "USD -8,787.00"),
        (D("0.005"), "EUR", "EUR 0.01"),  # half away from zero, to the cent
        (D("1234567.5"), None, "1,234,567.50"),
        (22.1, "USD", "USD 22.10"),  # a plot number prints as its decimal, not 22.100000001
        (None, "USD", ""),
    ],
)
def test_money_names_its_currency_with_thousands_separators(amount, currency, shown) -> None:
    assert money(amount, currency) == shown


def test_rates_are_percentages_and_several_currencies_read_as_one_line() -> None:
    assert percent(0.0755) == "7.55 %"
    assert percent(1) == "100.00 %"
    assert percent(None) == ""
    assert money_by_currency({"USD": D("112115.00"), "EUR": D("425.00")}) == (
        "EUR 425.00, USD 112,115.00"
    )
    assert money_by_currency({}) == "none"


def test_a_frame_reads_as_people_read_it() -> None:
    frame = pl.DataFrame(
        {
            "product": ["Annual | Membership", "Course"],
            "offer_id": ["2148020969", "2148015077"],
            "contact_id": [12345, 7],
            "currency": ["USD", "EUR"],
            "sales": [4403, 2],
            "net": [D("22748.00"), D("-66.00")],
            "refund_rate": [0.0755, None],
            "lift": [2.5, 1.0],
            "month": [date(2025, 11, 1), date(2025, 10, 1)],
        },
        schema_overrides={"net": pl.Decimal(12, 2)},
    )
    shown = display_frame(frame)
    assert shown.columns == [c for c in frame.columns if c != "currency"]  # amounts carry it
    assert shown.row(0) == (
        "Annual | Membership",
        "2148020969",
        "12345",  # an id, not a count
        "4,403",
        "USD 22,748.00",
        "7.55 %",
        "2.50×",
        "2025-11-01",
    )
    assert shown.row(1)[4:6] == ("EUR -66.00", "")


def test_markdown_tables_right_align_numbers_escape_pipes_and_say_what_they_cut() -> None:
    frame = pl.DataFrame({"rule": ["a|b", "c", "d"], "rows": [1200, 3, 1]})
    table = markdown_table(frame, max_rows=2)
    assert table.splitlines()[:4] == [
        "| rule | rows |",
        "|---|---:|",
        "| a\\|b | 1,200 |",
        "| c | 3 |",
    ]
    assert table.endswith("_first 2 of 3 rows shown_")
    assert markdown_table(frame.clear()) == "_none_"
