"""The Subscriptions and People exports: contract, quarantine, links, never-overwrite."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.export_spec import ExportContractError
from starhouse_pipeline.domain.exports import read
from starhouse_pipeline.domain.people import (
    PEOPLE,
    PEOPLE_COLUMNS,
    SNAPSHOT_SCHEMA,
    plan_people,
)
from starhouse_pipeline.domain.subscriptions import (
    SUBSCRIPTION_COLUMNS,
    SUBSCRIPTIONS,
    link_products,
    unmapped_offers,
)
from starhouse_pipeline.domain.validation import ValidatedExport, validate_export
from starhouse_pipeline.samples.analytics_samples import write_analytics_samples
from starhouse_pipeline.settings import SAMPLES_DIR
from starhouse_pipeline.warehouse.people_tables import contact_conflicts
from starhouse_pipeline.warehouse.subscription_tables import subscriptions
from starhouse_pipeline.warehouse.tables import contact_enrichment_log, contacts, products
from starhouse_pipeline_tests.support import fetch_all, insert_rows, run_import

D = Decimal


def validate_subscriptions(path: Path) -> ValidatedExport:
    return validate_export(read(path, SUBSCRIPTIONS))


def validate_people(path: Path) -> ValidatedExport:
    return validate_export(read(path, PEOPLE))


def _subscription(**values: str) -> dict[str, str]:
    row = {
        "Kajabi Subscription ID": "501",
        "Customer Email": "ann@example.com",
        "Customer Name": "Ann Lee",
        "Customer ID": "9001",
        "Offer ID": "offer-basic",
        "Offer Title": "Membership Basic (Monthly)",
        "Amount": "$22.00",
        "Currency": "USD",
        "Interval": "month",
        "Status": "active",
        "Created At": "Nov 28, 2025",
        "Next Payment Date": "Dec 28, 2025",
        "Canceled On": "",
        "Trial Ends On": "",
        "Provider": "stripe",
        "Coupon Used": "",
    }
    row.update(values)
    return row


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


SUBSCRIPTION_ROWS = [
    _subscription(),  # line 2: Basic, monthly, active
    _subscription(
        **{
            "Kajabi Subscription ID": "502",
            "Customer Email": "BOB@example.com ",
            "Offer ID": "offer-annual",
            "Offer Title": "Membership (Annual)",
            "Amount": "$1,242.00",
            "Interval": "year",
        }
    ),
    _subscription(**{"Kajabi Subscription ID": "503", "Interval": "fortnight"}),  # line 4
    _subscription(**{"Kajabi Subscription ID": "504", "Amount": "twenty"}),  # line 5
    _subscription(
        **{"Kajabi Subscription ID": "505", "Status": "canceled", "Canceled On": "31/12/2025"}
    ),  # line 6: not a date
    _subscription(),  # line 7: identical repeat of line 2 -> collapsed
    _subscription(
        **{
            "Kajabi Subscription ID": "506",
            "Offer ID": "offer-retired",
            "Offer Title": "Retired Circle",
            "Status": "pending cancellation",
            "Customer Email": "nobody@example.com",
        }
    ),
    _subscription(**{"Kajabi Subscription ID": "507", "Status": "Past Due"}),  # line 9
]


def test_subscriptions_are_typed_and_bad_rows_quarantined(tmp_path: Path) -> None:
    path = _write(tmp_path / "subs.csv", SUBSCRIPTION_COLUMNS, SUBSCRIPTION_ROWS)
    validated = validate_subscriptions(path)
    assert validated.rows_read == 8
    assert validated.collapsed_lines == [7]
    assert validated.quarantined.select("_line", "quarantine_rule").rows() == [
        (4, "known_interval"),
        (5, "amount_parses"),
        (6, "canceled_on_parses"),
    ]
    annual = validated.valid.filter(pl.col("external_subscription_id") == "502").row(0, named=True)
    assert (annual["amount"], annual["interval_months"], annual["email"]) == (
        D("1242.00"),
        12,
        "bob@example.com",
    )
    assert annual["started_on"] == date(2025, 11, 28)
    statuses = validated.valid.sort("external_subscription_id")["status"].to_list()
    assert statuses == ["active", "active", "pending_cancellation", "past_due"]


def test_a_file_that_is_not_a_subscriptions_export_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "people.csv", PEOPLE_COLUMNS, [])
    with pytest.raises(ExportContractError, match="missing required column"):
        read(path, SUBSCRIPTIONS)


def test_unmapped_offers_are_reported_not_created() -> None:
    valid = pl.DataFrame(
        {
            "kajabi_offer_id": ["offer-basic", "x-1", "x-2", "x-2"],
            "offer_title": ["Whatever", "Membership  basic (monthly)", "Gone", "Gone"],
        }
    )
    known = pl.DataFrame(
        {
            "id": ["1", "2"],
            "name": ["Membership Basic (Monthly)", "Other"],
            "kajabi_offer_id": ["offer-basic", None],
        }
    )
    linked = link_products(valid, known)
    # x-1 matches no Offer ID, and its name belongs to a product with another Offer ID.
    assert linked["product_id"].to_list() == ["1", None, None, None]
    assert unmapped_offers(linked).select("kajabi_offer_id", "subscriptions").rows() == [
        ("x-2", 2),
        ("x-1", 1),
    ]


def _seed(url: str) -> None:
    insert_rows(
        url,
        contacts,
        [
            {"id": "1", "email": "ann@example.com", "first_name": "Ann", "phone": "303-555-0101"},
            {"id": "2", "email": "Bob@Example.com", "last_name": "Stone"},
        ],
    )
    insert_rows(
        url,
        products,
        [
            {"id": "1", "name": "Membership Basic (Monthly)", "kajabi_offer_id": "offer-basic"},
            {"id": "3", "name": "Membership (Annual)", "kajabi_offer_id": "offer-annual"},
        ],
    )


def _run(url: str, job: str, path: Path, *, dry_run: bool = False) -> dg.ExecuteInProcessResult:
    # These files are bad on purpose (3 of 8 rows): the quarantine gate would stop the load.
    return run_import(url, path, job_name=job, dry_run=dry_run, max_quarantine_share=1.0)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    event = result.asset_materializations_for_node(asset)[-1]
    return {key: value.value for key, value in event.metadata.items()}


def test_subscriptions_import(database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    path = _write(tmp_path / "subs.csv", SUBSCRIPTION_COLUMNS, SUBSCRIPTION_ROWS)
    result = _run(database_url, "subscriptions_import_job", path)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "quarantine_share_within_threshold": True,
        "subscriptions_reconcile_with_export": True,
        "every_row_accounted_for": True,
        "subscriptions_have_product_and_contact": False,  # offer-retired, nobody@: a warning
    }
    metadata = _metadata(result, "kajabi_subscriptions")
    assert (metadata["inserted"], metadata["quarantined"], metadata["duplicates_collapsed"]) == (
        4,
        3,
        1,
    )
    assert metadata["unmapped_subscriptions"] == 1
    assert metadata["subscriptions_without_contact"] == 1
    assert "@" not in str(metadata)
    stored = fetch_all(
        database_url,
        sa.select(
            subscriptions.c.external_subscription_id,
            subscriptions.c.contact_id,
            subscriptions.c.product_id,
            subscriptions.c.amount,
            subscriptions.c.interval_months,
        ).order_by(subscriptions.c.external_subscription_id),
    )
    assert [tuple(row) for row in stored] == [
        ("501", "1", "1", D("22.00"), 1),
        ("502", "2", "3", D("1242.00"), 12),
        ("506", None, None, D("22.00"), 1),
        ("507", "1", "1", D("22.00"), 1),
    ]
    again = _run(database_url, "subscriptions_import_job", path)
    assert _metadata(again, "kajabi_subscriptions")["unchanged"] == 4
    changed = [dict(SUBSCRIPTION_ROWS[0], Status="canceled", **{"Canceled On": "Dec 1, 2025"})]
    newer = _write(tmp_path / "newer.csv", SUBSCRIPTION_COLUMNS, changed)
    assert (
        _metadata(_run(database_url, "subscriptions_import_job", newer), "kajabi_subscriptions")[
            "updated"
        ]
        == 1
    )


def _person(email: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(PEOPLE_COLUMNS, "")
    row.update({"Email": email, **values})
    return row


PEOPLE_ROWS = [
    # Ann: first name same (case differs), phone differs -> conflict; last name empty in CRM.
    _person(
        "ANN@example.com",
        **{
            "First Name": "ann",
            "Last Name": "Lee",
            "Phone Number (phone_number)": "(303) 555-0199",
            "Address (address_line_1)": "1 Main St",
            "City (address_city)": "Boulder",
        },
    ),
    # Bob: last name differs -> conflict; first name and phone (mobile) fill.
    _person(
        "bob@example.com",
        **{
            "First Name": "Bob",
            "Last Name": "Stein",
            "Mobile Phone Number (mobile_phone_number)": "720-555-0102",
        },
    ),
    _person("new@example.org", **{"First Name": "Nia"}),  # a new contact
    _person("not-an-email"),  # quarantined, line 5
]


def test_people_plan_fills_empty_fields_and_reports_conflicts(tmp_path: Path) -> None:
    path = _write(tmp_path / "people.csv", PEOPLE_COLUMNS, PEOPLE_ROWS)
    validated = validate_people(path)
    assert validated.quarantined.select("_line", "quarantine_rule").rows() == [(5, "email_valid")]
    snapshot = pl.DataFrame(
        {
            "id": ["1", "2"],
            "email_key": ["ann@example.com", "bob@example.com"],
            "deleted": [False, False],
            "first_name": ["Ann", None],
            "last_name": [None, "Stone"],
            "phone": ["303-555-0101", None],
            **{f: [None, None] for f in ("address_line_1", "address_line_2", "city")},
            **{f: [None, None] for f in ("state", "postal_code", "country")},
        },
        schema=SNAPSHOT_SCHEMA,
    )
    plan = plan_people(validated.valid, snapshot)
    assert plan.fills.rows() == [
        ("1", "address_line_1", "1 Main St"),
        ("1", "city", "Boulder"),
        ("1", "last_name", "Lee"),
        ("2", "first_name", "Bob"),
        ("2", "phone", "720-555-0102"),
    ]
    assert plan.conflicts.rows() == [("1", "phone"), ("2", "last_name")]
    assert plan.to_create["email"].to_list() == ["new@example.org"]


def test_people_import_never_overwrites(database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    path = _write(tmp_path / "people.csv", PEOPLE_COLUMNS, PEOPLE_ROWS)
    result = _run(database_url, "people_import_job", path)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "quarantine_share_within_threshold": True,
        "people_import_never_overwrote": True,
        "every_row_accounted_for": True,
    }
    rows = fetch_all(
        database_url,
        sa.select(
            contacts.c.id, contacts.c.first_name, contacts.c.last_name, contacts.c.phone
        ).order_by(contacts.c.id),
    )
    assert [tuple(r) for r in rows][:2] == [
        ("1", "Ann", "Lee", "303-555-0101"),  # phone kept, last name filled
        ("2", "Bob", "Stone", "720-555-0102"),  # last name kept, first name and phone filled
    ]
    assert len(rows) == 3
    conflicts = fetch_all(
        database_url,
        sa.select(contact_conflicts.c.contact_id, contact_conflicts.c.field).order_by(
            contact_conflicts.c.contact_id
        ),
    )
    assert [tuple(r) for r in conflicts] == [("1", "phone"), ("2", "last_name")]
    logged = fetch_all(
        database_url,
        sa.select(sa.func.count()).where(contact_enrichment_log.c.source == "kajabi_people"),
    )
    assert logged[0][0] == 5
    metadata = _metadata(result, "kajabi_people")
    assert (metadata["contacts_created"], metadata["conflicts_reported"]) == (1, 2)
    assert "@" not in str(metadata)


def test_people_dry_run_writes_nothing(database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    path = _write(tmp_path / "people.csv", PEOPLE_COLUMNS, PEOPLE_ROWS)
    result = _run(database_url, "people_import_job", path, dry_run=True)
    assert result.success
    assert len(fetch_all(database_url, sa.select(contacts.c.id))) == 2
    assert _metadata(result, "kajabi_people")["conflicts"] == 2


def test_the_samples_import_as_their_facts_say(sqlite_url: str, tmp_path: Path) -> None:
    facts = write_analytics_samples(tmp_path)
    subs = validate_subscriptions(tmp_path / "kajabi_subscriptions_sample.csv")
    lines = facts.subscription_defect_lines
    assert sorted(subs.quarantined["_line"].to_list()) == sorted(
        [lines["unknown_interval"], lines["unparseable_amount"]]
    )
    assert subs.collapsed_lines == [lines["exact_duplicate"]]
    people = validate_people(tmp_path / "kajabi_people_sample.csv")
    assert people.quarantined["_line"].to_list() == [facts.people_defect_lines["malformed_email"]]
    assert people.valid.height == facts.people - 1


def test_subscriptions_dry_run_writes_nothing(database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    path = _write(tmp_path / "subs.csv", SUBSCRIPTION_COLUMNS, SUBSCRIPTION_ROWS)
    result = _run(database_url, "subscriptions_import_job", path, dry_run=True)
    assert result.success
    assert _metadata(result, "kajabi_subscriptions")["inserted"] == 4
    assert fetch_all(database_url, sa.select(subscriptions.c.id)) == []


def test_people_export_needs_only_an_email_column(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("\ufeffEMAIL,first name\r\nann@example.com,Ann\r\n", encoding="utf-8")
    validated = validate_people(path)
    assert validated.valid.select("email", "first_name", "phone").rows() == [
        ("ann@example.com", "Ann", None)
    ]


def test_the_bundled_samples_are_what_the_generator_writes(tmp_path: Path) -> None:
    write_analytics_samples(tmp_path)
    for name in ("kajabi_subscriptions_sample.csv", "kajabi_people_sample.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLES_DIR / name).read_bytes(), name
