import random
from datetime import UTC, datetime

import polars as pl
import pytest

from starhouse_pipeline.domain.contacts import (
    CONTACT_SNAPSHOT_SCHEMA,
    customers_in_export,
    enrichment_log_rows,
    plan_contacts,
)

_ADDRESS = {
    "address_line_1": "1 Main St",
    "address_line_2": None,
    "city": "Boulder",
    "state": "CO",
    "postal_code": "80302",
    "country": "US",
}


def _customer(email: str, phone: str | None = None, address: bool = False, name: str = "Ann Lee"):
    fields = _ADDRESS if address else dict.fromkeys(_ADDRESS)
    return {"email": email, "customer_name": name, "phone": phone, **fields}


def _crm(*rows: dict) -> pl.DataFrame:
    defaults = dict.fromkeys(CONTACT_SNAPSHOT_SCHEMA) | {"deleted": False}
    return pl.DataFrame([defaults | row for row in rows], schema=CONTACT_SNAPSHOT_SCHEMA)


def test_fills_only_empty_fields_and_never_overwrites():
    customers = pl.DataFrame(
        [
            _customer("empty@example.com", phone="+1 303-555-0101", address=True),
            _customer("full@example.com", phone="+1 303-555-0102", address=True),
            _customer("blank@example.com", phone="+1 303-555-0103"),
        ]
    )
    crm = _crm(
        {"id": "1", "email_key": "empty@example.com"},
        {
            "id": "2",
            "email_key": "full@example.com",
            "phone": "720-555-0000",
            "address_line_1": "9 Elm",
        },
        {"id": "3", "email_key": "blank@example.com", "phone": "   "},
    )
    plan = plan_contacts(customers, crm)

    assert sorted(plan.phone_fills.rows()) == [("1", "+1 303-555-0101"), ("3", "+1 303-555-0103")]
    assert plan.address_fills["contact_id"].to_list() == ["1"]
    assert plan.to_create.is_empty()


def test_address_fill_keeps_fields_the_contact_already_has():
    crm = _crm({"id": "1", "email_key": "a@example.com", "country": "Canada"})
    plan = plan_contacts(pl.DataFrame([_customer("a@example.com", address=True)]), crm)
    fill = plan.address_fills.row(0, named=True)
    assert fill["address_line_1"] == "1 Main St"
    assert fill["country"] is None


def test_deleted_contacts_are_matched_but_not_enriched():
    crm = _crm({"id": "1", "email_key": "gone@example.com", "deleted": True})
    plan = plan_contacts(pl.DataFrame([_customer("gone@example.com", phone="555")]), crm)
    assert plan.matched.rows() == [("gone@example.com", "1")]
    assert plan.phone_fills.is_empty()


def test_customers_without_a_contact_become_new_contacts_with_split_names():
    customers = pl.DataFrame(
        [
            _customer("new@example.com", name="María José de la Cruz"),
            _customer("x@example.com", name="Cher"),
        ]
    )
    plan = plan_contacts(customers, _crm())
    assert plan.to_create.select("email", "first_name", "last_name").rows() == [
        ("new@example.com", "María", "José de la Cruz"),
        ("x@example.com", "Cher", None),
    ]


def test_customer_billing_data_is_the_latest_non_empty():
    valid = pl.DataFrame(
        {
            "_line": [2, 3, 4],
            "email": ["a@example.com"] * 3,
            "transaction_date": [datetime(2025, month, 1, tzinfo=UTC) for month in (1, 2, 3)],
            "customer_name": ["Ann", "Ann Lee", None],
            "phone": ["111", "222", None],
            **{field: [None, value, None] for field, value in _ADDRESS.items()},
        }
    )
    customer = customers_in_export(valid).row(0, named=True)
    assert (customer["customer_name"], customer["phone"], customer["city"]) == (
        "Ann Lee",
        "222",
        "Boulder",
    )


def test_enrichment_log_has_one_row_per_filled_field():
    phones = pl.DataFrame({"contact_id": ["1"], "phone": ["555"]})
    addresses = pl.DataFrame([{"contact_id": "2", **_ADDRESS}])
    log = enrichment_log_rows(phones, addresses)
    assert log.filter(pl.col("contact_id") == "1").rows() == [("1", "phone", "555")]
    assert sorted(log.filter(pl.col("contact_id") == "2")["field"].to_list()) == [
        "address_line_1",
        "city",
        "country",
        "postal_code",
        "state",
    ]


def _random_sales(rows: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)

    def maybe(value: str) -> str | None:
        return value if rng.random() < 0.6 else None

    lines = range(2, rows + 2)
    return pl.DataFrame(
        {
            "_line": list(lines),
            "email": [f"c{rng.randrange(5)}@example.com" for _ in range(rows)],
            # Few distinct dates, so the latest date is often shared and the line decides.
            "transaction_date": [
                datetime(2025, rng.randint(1, 3), 1, tzinfo=UTC) for _ in range(rows)
            ],
            "customer_name": [maybe(f"name{i}") for i in range(rows)],
            "phone": [maybe(f"phone{i}") for i in range(rows)],
            **{field: [maybe(f"{field}{i}") for i in range(rows)] for field in _ADDRESS},
        }
    )


def _latest_by_hand(sales: pl.DataFrame) -> dict[str, tuple]:
    """The rule read plainly: per email, the values of its latest row (date, then line)
    that has them; the address block from the latest row with a first address line."""
    found: dict[str, tuple] = {}
    for email in sales["email"].unique():
        rows = sorted(
            sales.filter(pl.col("email") == email).iter_rows(named=True),
            key=lambda row: (row["transaction_date"], row["_line"]),
            reverse=True,
        )
        name = next((r["customer_name"] for r in rows if r["customer_name"]), None)
        phone = next((r["phone"] for r in rows if r["phone"]), None)
        block = next((r for r in rows if r["address_line_1"]), None)
        address = tuple(block[field] if block else None for field in _ADDRESS)
        found[email] = (name, phone, *address)
    return found


@pytest.mark.parametrize("seed", range(5))
def test_customers_are_the_same_however_the_rows_come_in_batches(seed: int):
    sales = _random_sales(60, seed)
    by_hand = _latest_by_hand(sales)
    for size in (1, 7, 60):
        batches = (sales.slice(offset, size) for offset in range(0, sales.height, size))
        customers = customers_in_export(batches)
        assert {row[0]: row[1:] for row in customers.rows()} == by_hand, f"batches of {size}"
