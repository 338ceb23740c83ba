"""Deterministic Kajabi Subscriptions and People exports that match the transactions sample.

Both are derived from the bundled transactions sample (`generator.build_sample`), so the
same fictional customers (example.com addresses, 555-01xx phones) and offers appear in all
three files, and the analytics can cross-check MRR against the Subscriptions export. Each
file carries a few deliberate defects, listed in `AnalyticsSampleFacts`.

    python -m starhouse_pipeline.samples.analytics_samples [DIRECTORY]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.domain.people import PEOPLE_COLUMNS
from starhouse_pipeline.domain.subscriptions import SUBSCRIPTION_COLUMNS
from starhouse_pipeline.samples.generator import build_sample
from starhouse_pipeline.settings import (
    SAMPLE_PEOPLE_EXPORT,
    SAMPLE_SUBSCRIPTIONS_EXPORT,
    SAMPLES_DIR,
)

SUBSCRIPTIONS_SAMPLE_NAME = SAMPLE_SUBSCRIPTIONS_EXPORT.name
PEOPLE_SAMPLE_NAME = SAMPLE_PEOPLE_EXPORT.name
CUSTOM_FIELD = "Birth Time (birth_time)"
UNMAPPED_OFFER_ID = "2999999999"
_SUBSCRIPTION_ID_BASE = 3_100_000_000
_PERSON_ID_BASE = 4_200_000_000
_ANNUAL_WORDS = ("annual", "yearly", "year")


@dataclass(frozen=True)
class AnalyticsSampleFacts:
    """What the samples are built to show."""

    subscriptions: int
    subscription_defect_lines: dict[str, int]
    unmapped_offer_id: str
    people: int
    people_defect_lines: dict[str, int]
    changed_phone_emails: tuple[str, ...]


def _transactions() -> list[dict[str, str]]:
    rows = build_sample().rows
    width = len(TRANSACTION_COLUMNS)
    return [dict(zip(TRANSACTION_COLUMNS, row, strict=True)) for row in rows if len(row) == width]


def _created_at(row: dict[str, str]) -> datetime | None:
    try:
        return datetime.strptime(row["Created At"].strip(), "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None


def _kajabi_date(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _kajabi_amount(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def _latest_charges(rows: list[dict[str, str]]) -> list[tuple[dict[str, str], datetime]]:
    """The latest succeeded subscription charge per (customer email, offer)."""
    latest: dict[tuple[str, str], tuple[dict[str, str], datetime]] = {}
    for row in rows:
        when = _created_at(row)
        if row["Type"] != "subscription" or row["Status"] != "succeeded" or when is None:
            continue
        key = (row["Customer Email"].strip().lower(), row["Offer ID"])
        if key not in latest or latest[key][1] < when:
            latest[key] = (row, when)
    return sorted(latest.values(), key=lambda item: (item[1], item[0]["ID"]))


def build_subscriptions(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One subscription per customer and subscription offer, with status from recency."""
    last_day = max(d for d in (_created_at(r) for r in rows) if d is not None).date()
    records = []
    for index, (row, when) in enumerate(_latest_charges(rows)):
        annual = any(word in row["Offer Title"].lower() for word in _ANNUAL_WORDS)
        months = 12 if annual else 1
        renews = (when + timedelta(days=366 if annual else 31)).date()
        active = renews + timedelta(days=14) >= last_day
        status = "active" if active else "canceled"
        if active and index % 7 == 3:
            status = "pending cancellation"
        records.append(
            {
                "Kajabi Subscription ID": str(_SUBSCRIPTION_ID_BASE + index),
                "Customer Email": row["Customer Email"].strip(),
                "Customer Name": row["Customer Name"],
                "Customer ID": row["Customer ID"],
                "Offer ID": row["Offer ID"],
                "Offer Title": row["Offer Title"],
                "Amount": _kajabi_amount(Decimal(row["Amount"].replace("$", "").replace(",", ""))),
                "Currency": row["Currency"] or "USD",
                "Interval": "year" if months == 12 else "month",
                "Status": status,
                "Created At": _kajabi_date(when.date() - timedelta(days=30 * (index % 9))),
                "Next Payment Date": _kajabi_date(renews) if status == "active" else "",
                "Canceled On": "" if status == "active" else _kajabi_date(min(renews, last_day)),
                "Trial Ends On": "",
                "Provider": row["Provider"] or "stripe",
                "Coupon Used": row["Coupon Used"],
            }
        )
    return records


def _with_subscription_defects(
    records: list[dict[str, str]],
) -> tuple[list[dict[str, str]], dict[str, int]]:
    """An unmapped offer, an unknown interval, an unparseable amount, an exact duplicate."""
    unmapped = dict(records[0])
    unmapped.update(
        {
            "Kajabi Subscription ID": str(_SUBSCRIPTION_ID_BASE + 90_000),
            "Offer ID": UNMAPPED_OFFER_ID,
            "Offer Title": "Legacy Star Circle (retired)",
            "Amount": "$11.00",
            "Status": "active",
            "Interval": "month",
        }
    )
    bad_interval = dict(records[1], Interval="fortnight")
    bad_interval["Kajabi Subscription ID"] = str(_SUBSCRIPTION_ID_BASE + 90_001)
    bad_amount = dict(records[2], Amount="about $20")
    bad_amount["Kajabi Subscription ID"] = str(_SUBSCRIPTION_ID_BASE + 90_002)
    duplicate = dict(records[9])
    out = [*records[:5], bad_interval, *records[5:10], duplicate, *records[10:]]
    out.insert(len(out) // 2, bad_amount)
    out.append(unmapped)
    lines = {
        name: start_line(out, record, SUBSCRIPTION_COLUMNS)
        for name, record in (
            ("unknown_interval", bad_interval),
            ("unparseable_amount", bad_amount),
            ("exact_duplicate", duplicate),
            ("unmapped_offer", unmapped),
        )
    }
    return out, lines


def build_people(
    rows: list[dict[str, str]],
) -> tuple[list[dict[str, str]], dict[str, int], tuple[str, ...]]:
    """One person per customer (latest billing data), a few leads, and two changed phones."""
    latest: dict[str, dict[str, str]] = {}
    products: dict[str, set[str]] = {}
    dated = [(when, row) for row in rows if (when := _created_at(row)) is not None]
    for _, row in sorted(dated, key=lambda item: (item[0], item[1]["ID"])):
        email = row["Customer Email"].strip().lower()
        if "@" not in email:
            continue
        latest[email] = row
        products.setdefault(email, set()).add(row["Offer Title"])
    people = [_person(index, row, products[email]) for index, (email, row) in
              enumerate(sorted(latest.items()))]  # fmt: skip
    changed, added = [], 0
    for person in people:
        if person["Phone Number (phone_number)"] and len(changed) < 2:
            person["Phone Number (phone_number)"] = f"(303) 555-01{90 + len(changed):02d}"
            changed.append(person["Email"].lower())
        elif not person["Phone Number (phone_number)"] and added < 2:
            # A mobile number only Kajabi knows: the People import fills the empty phone.
            person["Mobile Phone Number (mobile_phone_number)"] = f"(720) 555-01{80 + added:02d}"
            added += 1
    for lead in range(3):
        people.append(_lead(len(people) + lead, lead))
    broken = _lead(len(people), 3)
    broken["Email"] = "not-an-email"
    people.insert(7, broken)
    columns = (*PEOPLE_COLUMNS, CUSTOM_FIELD)
    return people, {"malformed_email": start_line(people, broken, columns)}, tuple(changed)


def _person(index: int, row: dict[str, str], offers: set[str]) -> dict[str, str]:
    name = row["Customer Name"].strip()
    first, _, last = name.partition(" ")
    return {
        "Name": name,
        "First Name": first,
        "Last Name": last,
        "Email": row["Customer Email"].strip(),
        "Phone Number (phone_number)": row["Phone"],
        "Mobile Phone Number (mobile_phone_number)": "",
        "Address (address_line_1)": row["Address"],
        "Address Line 2 (address_line_2)": row["Address 2"],
        "City (address_city)": row["City"],
        "State (address_state)": row["State"],
        "Zip Code (address_zip)": row["Zipcode"],
        "Country (address_country)": row["Country"],
        "ID": str(_PERSON_ID_BASE + index),
        "Member ID": row["Customer ID"],
        "Products": ", ".join(sorted(o for o in offers if o)),
        "Tags": "customer",
        "Last Activity": _kajabi_date((_created_at(row) or datetime(2025, 1, 1)).date()),
        CUSTOM_FIELD: "",
    }


def _lead(index: int, number: int) -> dict[str, str]:
    return {
        **dict.fromkeys(PEOPLE_COLUMNS, ""),
        "Name": f"Newsletter Reader{number}",
        "First Name": "Newsletter",
        "Last Name": f"Reader{number}",
        "Email": f"reader{number}@example.org",
        "ID": str(_PERSON_ID_BASE + index),
        "Tags": "newsletter",
        CUSTOM_FIELD: "06:30",
    }


def start_line(
    records: list[dict[str, str]], record: dict[str, str], columns: Sequence[str]
) -> int:
    """The file line a record starts on (header = 1), counting newlines inside fields."""
    line = 2
    for other in records:
        if other is record:
            return line
        line += 1 + sum(other.get(column, "").count("\n") for column in columns)
    raise ValueError("record not in records")


def _write(path: Path, columns: Sequence[str], records: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)


def write_analytics_samples(directory: Path = SAMPLES_DIR) -> AnalyticsSampleFacts:
    """Write both sample exports into `directory` and say what they contain."""
    rows = _transactions()
    subscriptions, subscription_lines = _with_subscription_defects(build_subscriptions(rows))
    people, people_lines, changed = build_people(rows)
    _write(directory / SUBSCRIPTIONS_SAMPLE_NAME, SUBSCRIPTION_COLUMNS, subscriptions)
    _write(directory / PEOPLE_SAMPLE_NAME, (*PEOPLE_COLUMNS, CUSTOM_FIELD), people)
    return AnalyticsSampleFacts(
        subscriptions=len(subscriptions),
        subscription_defect_lines=subscription_lines,
        unmapped_offer_id=UNMAPPED_OFFER_ID,
        people=len(people),
        people_defect_lines=people_lines,
        changed_phone_emails=changed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m starhouse_pipeline.samples.analytics_samples")
    parser.add_argument("directory", type=Path, nargs="?", default=SAMPLES_DIR)
    facts = write_analytics_samples(parser.parse_args(argv).directory)
    sys.stdout.write(f"{facts}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
