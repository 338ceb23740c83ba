"""A small hand-built StarHouse history whose every metric is worked out by hand in the tests.

All times are 12:00 UTC (06:00 Mountain), so no row sits near a month boundary unless a test
says so. Customers (contact ids) and what they illustrate:

- 1: monthly Basic ($22) Jan-Feb, upgrades to Premium ($44) Mar-Apr, downgrades to Basic in
  May, churns (no June renewal), comes back in Sep-Oct; also buys the Course ($150) in Feb.
- 2: the Annual plan, $240 on Feb 15 (=$20.00 MRR for Feb 2025 - Jan 2026).
- 3: Basic from Mar 5; the Apr 5 renewal fails twice (Apr 5, Apr 8) and is recovered on
  Apr 12 after two retries; no renewal after that.
- 4: Basic on Jun 20; the Jul 20 renewal fails and is never recovered.
- 5: buys the Course on Apr 2 and gets a partial refund of $50 on Apr 20.
- 6: Basic on Jul 3, fully refunded on Jul 15: signs up and churns in the same month.
- 7: a Ticket Tailor event ($35, completed) and a pending $35 Ticket Tailor row.

Keys are text, as the pipeline's frames and the warehouse reads hold them (a CRM's keys may
be uuids): products are "1".."5", contacts "1".."7", and the history's rows are numbered
"1".."21" in the order below. Single-digit products and contacts sort the same as text and
as numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from starhouse_pipeline.domain.analytics.frames import transactions_frame

BASIC, PREMIUM, ANNUAL, COURSE, EVENT = "1", "2", "3", "4", "5"
PRODUCTS = {
    BASIC: ("Membership Basic (Monthly)", "offer-basic"),
    PREMIUM: ("Membership Premium (Monthly)", "offer-premium"),
    ANNUAL: ("Membership (Annual)", "offer-annual"),
    COURSE: ("Birth Chart Course", "offer-course"),
    EVENT: ("Solstice Gathering", None),
}
CONTACTS = tuple(str(contact) for contact in range(1, 8))

_ROWS: list[tuple[str, str, str, str, str, int, str, str]] = [
    # date, type, status, amount, source, contact, product, comment
    ("2025-01-10", "subscription", "completed", "22.00", "kajabi", 1, BASIC, "new"),
    ("2025-02-10", "subscription", "completed", "22.00", "kajabi", 1, BASIC, ""),
    ("2025-02-20", "purchase", "completed", "150.00", "kajabi", 1, COURSE, ""),
    ("2025-03-10", "subscription", "completed", "44.00", "kajabi", 1, PREMIUM, "upgrade"),
    ("2025-04-10", "subscription", "completed", "44.00", "kajabi", 1, PREMIUM, ""),
    ("2025-05-10", "subscription", "completed", "22.00", "kajabi", 1, BASIC, "downgrade"),
    ("2025-09-10", "subscription", "completed", "22.00", "kajabi", 1, BASIC, "comes back"),
    ("2025-10-10", "subscription", "completed", "22.00", "kajabi", 1, BASIC, ""),
    ("2025-02-15", "subscription", "completed", "240.00", "kajabi", 2, ANNUAL, "annual"),
    ("2025-03-05", "subscription", "completed", "22.00", "kajabi", 3, BASIC, ""),
    ("2025-04-05", "subscription", "failed", "22.00", "kajabi", 3, BASIC, "attempt 1"),
    ("2025-04-08", "subscription", "failed", "22.00", "kajabi", 3, BASIC, "retry 1"),
    ("2025-04-12", "subscription", "completed", "22.00", "kajabi", 3, BASIC, "retry 2 ok"),
    ("2025-06-20", "subscription", "completed", "22.00", "kajabi", 4, BASIC, ""),
    ("2025-07-20", "subscription", "failed", "22.00", "kajabi", 4, BASIC, "never recovered"),
    ("2025-04-02", "purchase", "completed", "150.00", "kajabi", 5, COURSE, ""),
    ("2025-04-20", "refund", "completed", "-50.00", "kajabi", 5, COURSE, "partial refund"),
    ("2025-07-03", "subscription", "completed", "22.00", "kajabi", 6, BASIC, ""),
    ("2025-07-15", "refund", "completed", "-22.00", "kajabi", 6, BASIC, "full refund"),
    ("2025-05-15", "purchase", "completed", "35.00", "ticket_tailor", 7, EVENT, ""),
    ("2025-05-16", "purchase", "pending", "35.00", "ticket_tailor", 7, EVENT, "pending"),
]


def noon_utc(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def transaction(
    transaction_id: int,
    day: str | datetime,
    transaction_type: str,
    status: str,
    amount: str,
    contact_id: int | None,
    product_id: str | None,
    source_system: str = "kajabi",
    currency: str = "USD",
) -> dict[str, Any]:
    """One transaction row; the row and contact numbers become text keys ("3")."""
    when = noon_utc(day) if isinstance(day, str) else day
    return {
        "transaction_id": str(transaction_id),
        "source_system": source_system,
        "transaction_date": when,
        "transaction_type": transaction_type,
        "status": status,
        "amount": Decimal(amount),
        "currency": currency,
        "contact_id": None if contact_id is None else str(contact_id),
        "product_id": product_id,
        "product_name": PRODUCTS[product_id][0] if product_id in PRODUCTS else None,
    }


def history_rows() -> list[dict[str, Any]]:
    return [
        transaction(index, day, kind, status, amount, contact, product, source)
        for index, (day, kind, status, amount, source, contact, product, _) in enumerate(
            _ROWS, start=1
        )
    ]


def history_frame() -> pl.DataFrame:
    return transactions_frame(history_rows())


def frame_of(*rows: dict[str, Any]) -> pl.DataFrame:
    return transactions_frame(list(rows))
