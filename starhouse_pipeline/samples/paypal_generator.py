"""Deterministic PayPal activity exports that share customers and payments with a Kajabi export.

PayPal's activity download is mostly not sales, so the generator writes the whole mix in the
operator's proportions (CONTEXT.md): subscription and checkout payments, refunds that
reference their payment, pending rows, debit-card spending, authorizations and holds, cash
back, a currency conversion, bank transfers with thousands separators, Mountain time on both
sides of a daylight-saving change. Its payers are the Kajabi export's customers, and a chosen
share of that export's PayPal-charged sales appear here too (same email, amount and
currency, seconds to minutes later): the payments counted twice unless recognized.

The file is as PayPal writes it: UTF-8 with a BOM, tab-separated, every field quoted.
Only example domains and the Kajabi export's fictional people are used.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from starhouse_pipeline.domain.patterns import EMAIL
from starhouse_pipeline.domain.paypal import PAYPAL_COLUMNS
from starhouse_pipeline.settings import SAMPLE_EXPORT, SAMPLES_DIR

__all__ = [
    "PAYPAL_COLUMNS",
    "SAMPLE_EXPORT_NAME",
    "SAMPLE_ROWS",
    "SAMPLE_SEED",
    "SAMPLE_SHARED_SHARE",
    "Activity",
    "generate_activity",
    "main",
    "read_kajabi_rows",
    "tsv_text",
    "write_activity",
    "write_sample",
]

SAMPLE_SEED = 2026
SAMPLE_ROWS = 400
SAMPLE_SHARED_SHARE = 0.6
SAMPLE_EXPORT_NAME = "paypal_activity_sample.tsv"

# The Kajabi generator's five years: the download's date range covers the Kajabi export's.
_FIRST_DAY = date(2020, 12, 1)
_LAST_DAY = date(2025, 11, 30)
_MOUNTAIN = ZoneInfo("America/Denver")
_OPERATOR_EMAIL = "payments@starhouse.example.org"
_START_BALANCE = Decimal("2500.00")
_CENT = Decimal("0.01")
# PayPal's rate on StarHouse's account: 1.99% + $0.49 (22.00 -> fee -0.93, net 21.07).
_FEE_RATE, _FEE_FIXED = Decimal("0.0199"), Decimal("0.49")

# Rows per kind in the operator's file of 2,237 rows (CONTEXT.md); "Other" (15) is left out,
# it is quarantined by design. Incoming and outgoing checkout/general payments are split by
# judgement: the operator pays some suppliers through PayPal too.
_MIX: tuple[tuple[str, int], ...] = (
    ("subscription", 901),
    ("checkout", 460),
    ("checkout_out", 83),
    ("card", 160),
    ("general", 90),
    ("general_out", 36),
    ("hold", 86),  # each with its Reversal of General Account Hold: 2 rows
    ("authorization", 162),
    ("cash_back", 39),
    ("mobile", 33),
    ("refund", 24),
    ("website", 18),
    ("donation", 18),
    ("direct_card", 15),
    ("void", 4),
    ("withdrawal", 4),
    ("deposit", 3),
    ("conversion", 2),  # each a Debit in one currency and a Credit in another: 2 rows
)
_MIX_TOTAL = sum(weight for kind, weight in _MIX) + 86 + 2
_PENDING_SHARE = 6 / 901
_INCOMING = {
    "subscription": "Subscription Payment",
    "checkout": "Express Checkout Payment",
    "general": "General Payment",
    "mobile": "Mobile Payment",
    "website": "Website Payment",
    "donation": "Donation Payment",
    "direct_card": "Direct Credit Card Payment",
}
_MERCHANTS = (
    ("King Soopers", "receipts@kingsoopers.example.net"),
    ("Zoom Video Communications", "billing@zoom.example.net"),
    ("Boulder Book Store", "orders@bookstore.example.net"),
    ("Canva", "billing@canva.example.net"),
    ("Amazon.com", "payments@amazon.example.net"),
)
# Legacy PayPal subscriptions, titled as typed in PayPal's button editor years ago.
_PAYPAL_PLANS = (
    ("antares starhouse membership", "22.00"),
    ("Antares StarHouse Membership", "22.00"),
    ("StarHouse Inner Circle", "44.00"),
    ("moon circle monthly", "11.00"),
)
_DONATION_AMOUNTS = ("18", "25", "36", "50", "108", "1080")
_COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "DE": "Germany",
    "NL": "Netherlands",
    "GB": "United Kingdom",
}
_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
_EMAIL = re.compile(EMAIL)


@dataclass(frozen=True)
class _Customer:
    email: str
    name: str
    phone: str
    address: tuple[str, str, str, str, str, str]  # line 1, line 2, city, state, zip, country


@dataclass
class _Row:
    """One balance event before formatting; `fields` holds the text columns."""

    when: datetime  # UTC
    kind: str
    gross: Decimal
    fee: Decimal
    currency: str
    impact: str
    status: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Activity:
    """A generated export: its records (header excluded) and what it shares with Kajabi."""

    rows: list[list[str]]
    shared: list[tuple[str, str]]  # (Kajabi ID, PayPal Transaction ID), one per shared payment
    kinds: dict[str, int]


# ---------------------------------------------------------------------------------------------
# Kajabi input


def read_kajabi_rows(path: str | Path) -> list[dict[str, str]]:
    """The records of a Kajabi transactions export, by column name."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _customers(kajabi: Sequence[Mapping[str, str]]) -> list[_Customer]:
    """The export's customers with a usable email, each once, in order of appearance."""
    found: dict[str, _Customer] = {}
    for row in kajabi:
        email = row["Customer Email"].strip().lower()
        if _EMAIL.match(email) and email not in found:
            address = tuple(
                " ".join(row[column].split())
                for column in ("Address", "Address 2", "City", "State", "Zipcode", "Country")
            )
            found[email] = _Customer(email, row["Customer Name"].strip(), row["Phone"], address)
    return list(found.values())


def _shareable(kajabi: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]]:
    """Kajabi's succeeded PayPal sales inside the activity's dates, each ID only once."""
    ids = [row["ID"] for row in kajabi]
    repeated = {value for value in ids if ids.count(value) > 1}
    chosen = []
    for row in kajabi:
        moment = _kajabi_time(row["Created At"])
        if (
            row["Provider"] == "paypal"
            and row["Status"] == "succeeded"
            and row["Type"] in ("subscription", "charge", "payment plan")
            and row["ID"] not in repeated
            and _EMAIL.match(row["Customer Email"].strip().lower())
            and moment is not None
            and _FIRST_DAY <= moment.astimezone(_MOUNTAIN).date() <= _LAST_DAY
        ):
            chosen.append(row)
    return chosen


def _kajabi_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


def _offers(kajabi: Sequence[Mapping[str, str]]) -> list[tuple[str, str, str]]:
    """(title, price, currency) of the export's one-time offers, each once."""
    seen: dict[str, tuple[str, str, str]] = {}
    for row in kajabi:
        if row["Type"] == "charge" and row["Status"] == "succeeded" and row["Coupon Used"] == "":
            title = " ".join(row["Offer Title"].split())
            seen.setdefault(title, (title, row["Amount"], row["Currency"]))
    return sorted(seen.values())


# ---------------------------------------------------------------------------------------------
# The model


class _Model:
    """Draws every row of one export from a seeded generator, in a fixed order."""

    def __init__(self, kajabi: Sequence[Mapping[str, str]], seed: int) -> None:
        self.rng = random.Random(seed)
        self.customers = _customers(kajabi)
        if not self.customers:
            raise ValueError("the Kajabi export has no customer with a usable email")
        self.offers = _offers(kajabi) or [("Private Chart Reading (60 min)", "175.00", "USD")]
        self._ids: set[str] = set()

    def txn_id(self) -> str:
        while True:
            candidate = "".join(self.rng.choice(_ID_ALPHABET) for _ in range(17))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def moment(self, start: date = _FIRST_DAY, end: date = _LAST_DAY) -> datetime:
        """A time during Mountain business hours on a day in [start, end], in UTC."""
        day = start + timedelta(days=self.rng.randrange((end - start).days + 1))
        seconds = self.rng.randrange(7 * 3600, 22 * 3600)
        local = datetime.combine(day, time(), _MOUNTAIN) + timedelta(seconds=seconds)
        return local.astimezone(UTC)

    def customer(self) -> _Customer:
        return self.customers[self.rng.randrange(len(self.customers))]

    def incoming(
        self, kind: str, when: datetime, who: _Customer, gross: str, currency: str, title: str
    ) -> _Row:
        amount = Decimal(gross)
        row = _Row(when, kind, amount, -_fee(amount), currency, "Credit", "Completed")
        row.fields = _payer_fields(who) | {
            "From Email Address": who.email,
            "To Email Address": _OPERATOR_EMAIL,
            "Item Title": title,
            "Transaction ID": self.txn_id(),
        }
        return row

    def subscriptions(self, count: int) -> list[_Row]:
        """Monthly payments of legacy PayPal subscribers, each with its profile (I-...)."""
        subscribers = [
            (self.customer(), "I-" + self.txn_id()[:12], *_PAYPAL_PLANS[i % len(_PAYPAL_PLANS)])
            for i in range(max(1, count // 20))
        ]
        months = -(-count // len(subscribers))
        latest = _LAST_DAY - timedelta(days=31 * months)
        starts = [self.moment(_FIRST_DAY, max(_FIRST_DAY, latest)) for _ in subscribers]
        rows = []
        for index in range(count):
            who, profile, title, price = subscribers[index % len(subscribers)]
            when = _months_later(starts[index % len(subscribers)], index // len(subscribers))
            row = self.incoming("subscription", when, who, price, "USD", title)
            row.fields["Reference Txn ID"] = profile
            rows.append(row)
        return rows

    def sale(self, kind: str) -> _Row:
        title, price, currency = self.offers[self.rng.randrange(len(self.offers))]
        if kind == "donation":
            title, price, currency = (
                "Donation to StarHouse",
                self.rng.choice(_DONATION_AMOUNTS),
                "USD",
            )
        elif self.rng.random() < 0.5:
            title = title.lower()  # free text: typed as the buyer's button said
        return self.incoming(kind, self.moment(), self.customer(), price, currency, title)

    def refund(self, payment: _Row) -> _Row:
        partial = self.rng.random() < 0.3
        gross = (payment.gross / 2).quantize(_CENT) if partial else payment.gross
        payment.status = "Partially Refunded" if partial else "Refunded"
        when = payment.when + timedelta(
            days=self.rng.randrange(1, 10), seconds=self.rng.randrange(3600)
        )
        # PayPal keeps its fixed fee and returns the percentage on a refund.
        returned = (gross * _FEE_RATE).quantize(_CENT, ROUND_HALF_UP)
        row = _Row(when, "refund", -gross, returned, payment.currency, "Debit", "Completed")
        row.fields = _payer_fields(payment) | {
            "From Email Address": _OPERATOR_EMAIL,
            "To Email Address": payment.fields["From Email Address"],
            "Item Title": payment.fields["Item Title"],
            "Reference Txn ID": payment.fields["Transaction ID"],
            "Transaction ID": self.txn_id(),
        }
        return row

    def operator_event(self, kind: str) -> list[_Row]:
        """Rows that are not sales: spending, holds, cash back, transfers."""
        rng, when = self.rng, self.moment()
        merchant, merchant_email = _MERCHANTS[rng.randrange(len(_MERCHANTS))]
        spend = Decimal(rng.randrange(500, 25_000)) / 100
        out = {"From Email Address": _OPERATOR_EMAIL, "To Email Address": merchant_email}
        simple = {
            "card": ("General PayPal Debit Card Transaction", -spend, "Debit", "Completed"),
            "checkout_out": ("Express Checkout Payment", -spend, "Debit", "Completed"),
            "general_out": ("General Payment", -spend, "Debit", "Completed"),
            "authorization": ("General Authorization", -spend, "Memo", "Pending"),
            "void": ("Void of Authorization", spend, "Memo", "Completed"),
            "cash_back": (
                "Debit Card Cash Back Bonus",
                (spend / 100).quantize(_CENT),
                "Credit",
                "Completed",
            ),
            "deposit": ("Bank Deposit to PP Account", Decimal("500.00"), "Credit", "Completed"),
            "withdrawal": ("General Withdrawal", Decimal(0), "Debit", "Completed"),
        }
        if kind in simple:
            paypal_type, gross, impact, status = simple[kind]
            name = "" if kind in ("deposit", "withdrawal") else merchant
            return [self._event(when, kind, paypal_type, gross, impact, status, name, out)]
        if kind == "hold":
            return self._hold(when, merchant, spend, out)
        return self._conversion(when)

    def _hold(
        self, when: datetime, merchant: str, spend: Decimal, out: dict[str, str]
    ) -> list[_Row]:
        """A hold for an open authorization and, days later, its release."""
        kind, rng = "hold", self.rng
        hold = self._event(
            when,
            kind,
            "Account Hold for Open Authorization",
            -spend,
            "Debit",
            "Pending",
            merchant,
            out,
        )
        released = self._event(
            when + timedelta(days=rng.randrange(1, 4)),
            kind,
            "Reversal of General Account Hold",
            spend,
            "Credit",
            "Completed",
            merchant,
            out,
        )
        released.fields["Reference Txn ID"] = hold.fields["Transaction ID"]
        return [hold, released]

    def _conversion(self, when: datetime) -> list[_Row]:
        """A Canadian payment's dollars converted: out of CAD, into USD."""
        cad = Decimal(self.rng.randrange(5_000, 30_000)) / 100
        usd = (cad * Decimal("0.7312")).quantize(_CENT, ROUND_HALF_UP)
        kind, paypal_type = "conversion", "General Currency Conversion"
        return [
            self._event(when, kind, paypal_type, -cad, "Debit", "Completed", "", {}, "CAD"),
            self._event(when, kind, paypal_type, usd, "Credit", "Completed", "", {}),
        ]

    def _event(
        self,
        when: datetime,
        kind: str,
        paypal_type: str,
        gross: Decimal,
        impact: str,
        status: str,
        name: str,
        parties: dict[str, str],
        currency: str = "USD",
    ) -> _Row:
        row = _Row(when, kind, gross, Decimal(0), currency, impact, status)
        row.fields = parties | {"Name": name, "Type": paypal_type, "Transaction ID": self.txn_id()}
        return row


def _fee(gross: Decimal) -> Decimal:
    return (gross * _FEE_RATE + _FEE_FIXED).quantize(_CENT, ROUND_HALF_UP)


def _months_later(moment: datetime, months: int) -> datetime:
    """The same Mountain wall-clock time `months` later (day capped at the 28th)."""
    local = moment.astimezone(_MOUNTAIN)
    year, month = divmod(local.month - 1 + months, 12)
    moved = local.replace(year=local.year + year, month=month + 1, day=min(local.day, 28))
    return moved.replace(tzinfo=_MOUNTAIN).astimezone(UTC)


def _payer_fields(source: _Customer | _Row) -> dict[str, str]:
    """Name, phone and address block of a payer (or of the payment a refund gives back)."""
    if isinstance(source, _Row):
        return {key: source.fields.get(key, "") for key in ("Name", "Contact Phone Number")}
    line_1, line_2, city, state, postal, country = source.address
    fields = {"Name": source.name, "Contact Phone Number": source.phone}
    if line_1:
        fields |= {
            "Address Status": "Confirmed",
            "Shipping Address": f"{source.name}, {line_1}, {city}, {state} {postal}, {country}",
            "Address Line 1": line_1,
            "Address Line 2/District/Neighborhood": line_2,
            "Town/City": city,
            "State/Province/Region/County/Territory/Prefecture/Republic": state,
            "Zip/Postal Code": postal,
            "Country": _COUNTRY_NAMES.get(country, country),
            "Country Code": country,
        }
    return fields


# ---------------------------------------------------------------------------------------------
# Public API: rows and files


def generate_activity(
    kajabi: Sequence[Mapping[str, str]],
    n_rows: int = SAMPLE_ROWS,
    seed: int = SAMPLE_SEED,
    shared_share: float = SAMPLE_SHARED_SHARE,
) -> Activity:
    """About `n_rows` activity records whose payers are `kajabi`'s customers.

    `shared_share` of Kajabi's succeeded PayPal sales inside the activity's dates are also
    PayPal payments here. Same inputs and seed, same records.
    """
    model = _Model(kajabi, seed)
    counts = _counts(n_rows)
    shared_rows, shared = _shared(model, kajabi, shared_share)
    by_kind = {kind: sum(row.kind == kind for row in shared_rows) for kind in counts}
    sales = model.subscriptions(max(1, counts["subscription"] - by_kind["subscription"]))
    for kind in _INCOMING:
        if kind != "subscription":
            sales += [model.sale(kind) for _ in range(max(1, counts[kind] - by_kind[kind]))]
    rows = shared_rows + sales + _refunds_and_pending(model, sales, counts)
    for kind in counts:
        if kind not in _INCOMING and kind != "refund":
            rows += [row for _ in range(counts[kind]) for row in model.operator_event(kind)]
    rows.sort(key=lambda row: row.when)
    _settle_balances(rows)
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    return Activity([_record(row) for row in rows], shared, kinds)


def _counts(n_rows: int) -> dict[str, int]:
    """Events per kind for about `n_rows` records, every kind at least once."""
    return {kind: max(1, round(weight * n_rows / _MIX_TOTAL)) for kind, weight in _MIX}


def _shared(
    model: _Model, kajabi: Sequence[Mapping[str, str]], share: float
) -> tuple[list[_Row], list[tuple[str, str]]]:
    """PayPal's rows of Kajabi's PayPal-charged sales, seconds to minutes after Kajabi's."""
    candidates = _shareable(kajabi)
    picked = sorted(model.rng.sample(range(len(candidates)), round(share * len(candidates))))
    by_email = {customer.email: customer for customer in model.customers}
    rows, pairs = [], []
    for index in picked:
        source = candidates[index]
        kind = "subscription" if source["Type"] == "subscription" else "checkout"
        when = _kajabi_time(source["Created At"]) + timedelta(seconds=model.rng.randrange(5, 300))
        who = by_email[source["Customer Email"].strip().lower()]
        title = " ".join(source["Offer Title"].split())
        row = model.incoming(kind, when, who, source["Amount"], source["Currency"], title)
        rows.append(row)
        pairs.append((source["ID"], row.fields["Transaction ID"]))
    return rows, pairs


def _refunds_and_pending(model: _Model, sales: list[_Row], counts: dict[str, int]) -> list[_Row]:
    """Refund some completed sales (each refund referencing its payment); leave a few pending."""
    cutoff = datetime.combine(_LAST_DAY - timedelta(days=10), time(), UTC)
    refundable = [row for row in sales if row.kind != "donation" and row.when < cutoff]
    refunded = model.rng.sample(refundable, min(counts["refund"], len(refundable)))
    refunds = [model.refund(payment) for payment in refunded]
    open_sales = [
        row
        for row in sales
        if row.status == "Completed" and row.kind in ("subscription", "checkout")
    ]
    pending = max(2, round(len(open_sales) * _PENDING_SHARE))
    for row in model.rng.sample(open_sales, pending):
        row.status = "Pending"
    return refunds


def _settle_balances(rows: list[_Row]) -> None:
    """Running balance per currency in time order; withdrawals move most of it to the bank."""
    balances = {"USD": _START_BALANCE}
    for row in rows:
        if row.kind == "withdrawal":
            row.gross = -max(Decimal(100), balances["USD"] * Decimal("0.9")).quantize(_CENT)
        if row.impact != "Memo" and row.status != "Pending":
            balances[row.currency] = balances.get(row.currency, Decimal(0)) + row.gross + row.fee
        row.fields["Balance"] = _amount_text(balances.get(row.currency, Decimal(0)))


def _record(row: _Row) -> list[str]:
    """The row's 42 fields as PayPal writes them."""
    local = row.when.astimezone(_MOUNTAIN)
    paypal_type = "Payment Refund" if row.kind == "refund" else _INCOMING.get(row.kind)
    values = dict.fromkeys(PAYPAL_COLUMNS, "") | row.fields
    values |= {
        "Date": local.strftime("%m/%d/%Y"),
        "Time": f"{local.hour}:{local.minute:02d}:{local.second:02d}",
        "TimeZone": local.tzname() or "",
        "Status": row.status,
        "Currency": row.currency,
        "Gross": _amount_text(row.gross),
        "Fee": _amount_text(row.fee),
        "Net": _amount_text(row.gross + row.fee),
        "Balance Impact": row.impact,
    }
    if paypal_type is not None:
        values |= {"Type": paypal_type, "Quantity": "1"}
    return [values[column] for column in PAYPAL_COLUMNS]


def _amount_text(amount: Decimal) -> str:
    """PayPal's way: thousands separated, whole amounts without cents (`22`, `-17,463.22`)."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,.2f}"


def tsv_text(rows: Iterable[Sequence[str]], header: Sequence[str] = PAYPAL_COLUMNS) -> str:
    """Tab-separated, every field quoted (quotes doubled), CRLF lines, as PayPal writes."""
    lines = [
        "\t".join(f'"{value.replace(chr(34), chr(34) * 2)}"' for value in row)
        for row in (header, *rows)
    ]
    return "\r\n".join(lines) + "\r\n"


def write_activity(path: str | Path, activity: Activity) -> Path:
    """Write the export as PayPal's download is: UTF-8 with a BOM."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tsv_text(activity.rows), encoding="utf-8-sig", newline="")
    return path


def write_sample(directory: Path = SAMPLES_DIR, kajabi_export: Path = SAMPLE_EXPORT) -> Path:
    """Write the bundled sample, matching the bundled Kajabi sample's PayPal sales."""
    activity = generate_activity(read_kajabi_rows(kajabi_export))
    return write_activity(Path(directory) / SAMPLE_EXPORT_NAME, activity)


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Write a PayPal activity export that shares customers and payments with a Kajabi one."""
    parser = argparse.ArgumentParser(
        prog="python -m starhouse_pipeline.samples.paypal_generator",
        description="Write a PayPal activity export (.tsv) matching a Kajabi transactions export.",
    )
    parser.add_argument("target", type=Path, help="the .tsv file to write")
    parser.add_argument(
        "--kajabi",
        type=Path,
        default=SAMPLE_EXPORT,
        help="Kajabi export to match (default: the bundled sample)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=SAMPLE_ROWS,
        help=f"about this many rows (default {SAMPLE_ROWS})",
    )
    parser.add_argument(
        "--seed", type=int, default=SAMPLE_SEED, help=f"seed (default {SAMPLE_SEED})"
    )
    parser.add_argument(
        "--shared",
        type=float,
        default=SAMPLE_SHARED_SHARE,
        help="share of Kajabi's PayPal sales also written here",
    )
    args = parser.parse_args(argv)
    activity = generate_activity(read_kajabi_rows(args.kajabi), args.rows, args.seed, args.shared)
    path = write_activity(args.target, activity)
    sys.stdout.write(
        f"wrote {len(activity.rows)} rows to {path}: {len(activity.shared)} payments shared "
        f"with {args.kajabi.name}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
