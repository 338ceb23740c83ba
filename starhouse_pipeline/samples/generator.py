"""Deterministic, realistic Kajabi transactions exports, plus a matching "existing CRM" state.

The pipeline is built for the export format, not for one file, so the generator produces the
format's whole range: the type and status mix, refunds as negative rows, failed payments with
their attempt and message, Mountain-time offsets that follow daylight saving, accented and
apostrophised names, and (when `messy`) the noise that real downloads and spreadsheet
round-trips carry. It must also be fast enough to produce millions of rows for benchmarks, so
everything per customer and per offer is formatted once and each row is assembled from
precomputed strings.

Only example domains (example.com/.org/.net) and fictional 555-01xx phone numbers are used.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import random
import sys
import time
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS

__all__ = [
    "SAMPLE_EXPORT_NAME",
    "SAMPLE_ROWS",
    "SAMPLE_SEED",
    "TRANSACTION_COLUMNS",
    "ExportModel",
    "Sample",
    "SampleFacts",
    "build_sample",
    "csv_text",
    "generate_export_rows",
    "main",
    "write_export",
    "write_sample",
]

SAMPLE_SEED = 2026
# Enough rows that its seven deliberately bad rows stay under the 1% quarantine gate.
SAMPLE_ROWS = 800
SAMPLE_EXPORT_NAME = "kajabi_transactions_sample.csv"
SAMPLE_CRM_DIR_NAME = "crm"

CONTACT_COLUMNS: tuple[str, ...] = (
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "phone_source",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "postal_code",
    "country",
    "billing_address_source",
    "created_at",
    "updated_at",
    "deleted_at",
)
PRODUCT_COLUMNS: tuple[str, ...] = ("id", "name", "kajabi_offer_id", "created_at")
CRM_TRANSACTION_COLUMNS: tuple[str, ...] = (
    "id",
    "contact_id",
    "product_id",
    "source_system",
    "external_transaction_id",
    "external_order_id",
    "transaction_date",
    "transaction_type",
    "status",
    "amount",
    "currency",
    "payment_method",
    "payment_processor",
    "created_at",
)

_T = TypeVar("_T")
Draw = Callable[[], float]  # a bound Random.random

# Column positions, so rows can be edited by name without a dict per row.
_COL = {name: index for index, name in enumerate(TRANSACTION_COLUMNS)}

SUBSCRIPTION = "subscription"
CHARGE = "charge"
PAYMENT_PLAN = "payment plan"
REFUND = "refund"

# Shares of the whole export. Refunds are always "succeeded", so the failed/pending shares
# are divided by the non-refund share to land on ~8% / ~2% overall.
_TYPE_CUTS = (0.45, 0.80, 0.95)  # subscription < .45 <= charge < .80 <= plan < .95 <= refund
_FAILED_SHARE = 0.08 / 0.95
_PENDING_SHARE = 0.02 / 0.95
_RENEWAL_SHARE = 0.85  # subscription rows that are renewals, hence have no Order No.
_COUPON_SHARE = 0.08
_DUPLICATE_SHARE = 0.001
_ROWS_PER_CUSTOMER = 4.4

_FIRST_DAY = date(2020, 12, 1)
_LAST_DAY = date(2025, 11, 30)
_MOUNTAIN_STANDARD = "-0700"
_MOUNTAIN_DAYLIGHT = "-0600"

_TRANSACTION_ID_BASE = 1_400_000_000
_CUSTOMER_ID_BASE = 1_860_000_000
_OFFER_ID_BASE = 2_148_000_000
_ORDER_NO_BASE = 1_000_000

# (title, type, price). Order matters: small exports use the first offers, so the head of
# the list mixes memberships, courses, events and payment plans.
_CURATED_OFFERS: tuple[tuple[str, str, str], ...] = (
    ("StarHouse Membership (Monthly)", SUBSCRIPTION, "22.00"),
    ("Astrology Foundations", CHARGE, "197.00"),
    ("Annual Membership", SUBSCRIPTION, "242.00"),
    ("Birth Chart Intensive", CHARGE, "497.00"),
    ("Astrology Certification Level 1 (3 Payments)", PAYMENT_PLAN, "499.00"),
    ("The Moon Through the Signs", CHARGE, "97.00"),
    ("Full Moon Gathering (Live)", CHARGE, "22.00"),
    ("Inner Circle (Monthly)", SUBSCRIPTION, "44.00"),
    ("Reading Your Transits", CHARGE, "147.00"),
    ("Birth Chart Intensive (Payment Plan)", PAYMENT_PLAN, "175.00"),
    ("Saturn Return Workshop", CHARGE, "67.00"),
    ("Relationship Astrology: Synastry", CHARGE, "247.00"),
    ("Mercury Retrograde Survival Guide", CHARGE, "27.00"),
    ("New Moon Intention Circle", CHARGE, "33.00"),
    ("Predictive Astrology Masterclass", CHARGE, "397.00"),
    ("Astrology Mentorship Program (6 Payments)", PAYMENT_PLAN, "250.00"),
    ("Solar Return Workshop", CHARGE, "77.00"),
    ("Intro to Evolutionary Astrology", CHARGE, "297.00"),
    ("Chiron: The Wounded Healer", CHARGE, "97.00"),
    ("Inner Circle (Annual)", SUBSCRIPTION, "444.00"),
    ("Astrology Certification Level 1", CHARGE, "1497.00"),
    ("Astrology Certification Level 2", CHARGE, "1497.00"),
    ("Astrology Certification Level 2 (3 Payments)", PAYMENT_PLAN, "499.00"),
    ("Lunar Nodes & Life Purpose", CHARGE, "127.00"),
    ("Venus Retrograde Workshop", CHARGE, "47.00"),
    ("Eclipse Season Live Call", CHARGE, "22.00"),
    ("Houses and Aspects Bootcamp", CHARGE, "197.00"),
    ("Tarot for Astrologers", CHARGE, "147.00"),
    ("Winter Solstice Retreat", CHARGE, "555.00"),
    ("Winter Solstice Retreat (Deposit)", CHARGE, "150.00"),
    ("Moon Circle Membership (Monthly)", SUBSCRIPTION, "11.00"),
    ("Electional Astrology Deep Dive", CHARGE, "197.00"),
    ("Medical Astrology Primer", CHARGE, "97.00"),
    ("Horary Astrology Course", CHARGE, "297.00"),
    ("Horary Astrology Course (4 Payments)", PAYMENT_PLAN, "79.00"),
    ("Mundane Astrology: Cycles of History", CHARGE, "197.00"),
    ("Asteroid Goddesses Workshop", CHARGE, "67.00"),
    ("Fixed Stars Masterclass", CHARGE, "147.00"),
    ("Progressions and Directions", CHARGE, "197.00"),
    ("Your Year Ahead Forecast 2025", CHARGE, "44.00"),
    ("Your Year Ahead Forecast 2024", CHARGE, "44.00"),
    ("Astrology of Relationships Bundle", CHARGE, "397.00"),
    ("Private Chart Reading (60 min)", CHARGE, "175.00"),
    ("Private Chart Reading (90 min)", CHARGE, "250.00"),
    ("Legacy Membership (Monthly)", SUBSCRIPTION, "18.00"),
    ("Astrology for Beginners Mini-Course", CHARGE, "37.00"),
    ("Jupiter Return Workshop", CHARGE, "67.00"),
    ("Pluto in Aquarius Live Webinar", CHARGE, "27.00"),
    ("Spring Equinox Gathering", CHARGE, "33.00"),
    ("Astrology Teacher Training (12 Payments)", PAYMENT_PLAN, "125.00"),
)
# Beyond the curated list (platform-scale exports), titles are composed from these.
_TOPICS = (
    "Saturn", "Jupiter", "Mars", "Venus", "Mercury", "Moon", "Sun", "Pluto", "Neptune",
    "Uranus", "Chiron", "Lilith", "Vesta", "Ceres", "Juno", "Pallas", "Lunar Nodes",
    "Eclipses", "Midheaven", "Ascendant", "Twelfth House", "Eighth House", "Fire Signs",
    "Water Signs", "Earth Signs", "Air Signs",
)  # fmt: skip
_FORMATS = (
    "Transits Workshop", "Deep Dive", "Masterclass", "Study Group", "Live Intensive",
    "Webinar Replay", "Retreat Day", "Mini-Course", "Journaling Series", "Meditation Series",
)  # fmt: skip
_COMPOSED_CHARGE_PRICES = ("27.00", "37.00", "47.00", "67.00", "97.00", "147.00", "197.00")
_COMPOSED_PLAN_PRICES = ("99.00", "149.00", "199.00")
_COUPONS = (("NEWMOON20", 20), ("WELCOME10", 10), ("SOLSTICE15", 15), ("ECLIPSE25", 25))

_FIRST_NAMES = (
    "José", "María", "Chloé", "Zoë", "Renée", "Siobhán", "François", "Björn", "Inès", "Søren",
    "Lucía", "Joaquín", "Raúl", "Noémie", "Aria", "Luna", "Sage", "Willow", "Jasmine", "Olivia",
    "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Camila", "Avery", "Scarlett", "Grace", "Lily", "Hannah", "Nora", "Riley",
    "Leah", "Hazel", "Violet", "Aurora", "Audrey", "Claire", "Lucy", "Anna", "Caroline", "Nova",
    "Maya", "Naomi", "Aaliyah", "Elena", "Sarah", "Alice", "Cora", "Ruby", "Eva", "Autumn",
    "Ivy", "Piper", "Lydia", "Julia", "Vivian", "Sophie", "Priya", "Aisha", "Mei", "Yuki",
    "Amara", "Leilani", "Marisol", "Guadalupe", "Liam", "Noah", "Oliver", "Elijah", "James",
    "William", "Benjamin", "Lucas", "Henry", "Theodore", "Jack", "Levi", "Alexander", "Mateo",
    "Daniel", "Michael", "Sebastian", "Ethan", "Owen", "Samuel", "Asher", "John", "Joseph",
    "David", "Leo", "Luke", "Julian", "Ezra", "Gabriel", "Isaac", "Anthony", "Thomas", "Miles",
    "Andrew", "Nathan", "Adrian", "Santiago", "Aaron", "Ryan", "Kai", "Roman", "Ian", "Everett",
    "Silas", "Rowan", "Micah", "River", "Jasper", "Omar", "Kwame", "Tariq", "Hiroshi",
)  # fmt: skip
_LAST_NAMES = (
    "Muñoz", "O'Brien", "O'Connor", "D'Angelo", "García", "Hernández", "Martínez", "López",
    "González", "Pérez", "Sánchez", "Ramírez", "Núñez", "Müller", "Søndergaard", "Lefèvre",
    "Bélanger", "Côté", "St. Clair", "De la Cruz", "McAllister", "MacDonald", "Smith", "Johnson",
    "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
    "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Phillips", "Evans", "Turner", "Parker", "Collins",
    "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Peterson", "Cooper",
    "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson",
    "Brooks", "Bennett", "Gray", "James", "Hughes", "Price", "Sanders", "Patel", "Myers", "Long",
    "Ross", "Foster", "Kim", "Park", "Tanaka", "Yamamoto", "Chen", "Wong", "Okafor", "Mensah",
    "Haddad", "Cohen", "Levy", "Rossi", "Bianchi", "Novak", "Kowalski", "Larsen", "Lindqvist",
)  # fmt: skip
_NAME_SUFFIXES = (", Jr.", ", III", ", PhD")
_EMAIL_DOMAINS = ("example.com",) * 6 + ("example.org",) * 3 + ("example.net",)
# Local-part shapes as (part, separator, part) over (first, last, initial): jane.doe,
# janedoe, jdoe, jane_doe, doe.jane. None ends in a digit (see ExportModel.unique_email).
_EMAIL_PATTERNS = ((0, ".", 1), (0, "", 1), (2, "", 1), (0, "_", 1), (1, ".", 0))


@dataclass(frozen=True)
class _Place:
    """A city customers live in: what its address, phone and clock look like."""

    city: str
    state: str
    country: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]
    other_offsets: tuple[str, ...]
    streets: tuple[str, ...]
    weight: int


_US_STREETS = (
    "Pearl St", "Walnut St", "Spruce St", "Pine St", "Mapleton Ave", "Arapahoe Ave",
    "Baseline Rd", "Table Mesa Dr", "Broadway", "Folsom St", "Canyon Blvd", "Iris Ave",
    "Valmont Rd", "Linden Ave", "Juniper Ave", "College Ave", "Main St", "Oak St", "Cedar Ln",
    "Sunshine Canyon Dr", "Colfax Ave", "Larimer St", "Aspen Way", "Cottonwood Dr",
)  # fmt: skip
_US_OFFSETS = ("-0500", "-0400", "-0800")


def _us_place(city: str, state: str, zips: str, area_codes: str, weight: int) -> _Place:
    return _Place(
        city=city,
        state=state,
        country="US",
        zips=tuple(zips.split()),
        area_codes=tuple(area_codes.split()),
        other_offsets=_US_OFFSETS,
        streets=_US_STREETS,
        weight=weight,
    )


def _abroad(
    city: str,
    state: str,
    country: str,
    zips: str,
    area: str,
    offset: str,
    streets: str,
    weight: int,
) -> _Place:
    """A place outside the US; `zips` and `streets` are "|"-separated."""
    return _Place(
        city,
        state,
        country,
        tuple(zips.split("|")),
        (area,),
        (offset,),
        tuple(streets.split("|")),
        weight,
    )


# Mostly Boulder and the Front Range, some elsewhere in the US, a few abroad.
_PLACES: tuple[_Place, ...] = (
    _us_place("Boulder", "CO", "80301 80302 80303 80304 80305", "303 720", 30),
    _us_place("Denver", "CO", "80202 80203 80205 80206 80210 80218", "303 720", 15),
    _us_place("Longmont", "CO", "80501 80503", "303 720", 5),
    _us_place("Louisville", "CO", "80027", "303 720", 3),
    _us_place("Lafayette", "CO", "80026", "303 720", 3),
    _us_place("Fort Collins", "CO", "80521 80524 80525", "970", 4),
    _us_place("Nederland", "CO", "80466", "303", 1),
    _us_place("Santa Fe", "NM", "87501 87505", "505", 3),
    _us_place("Sedona", "AZ", "86336", "928", 2),
    _us_place("Austin", "TX", "78701 78704", "512", 3),
    _us_place("Portland", "OR", "97205 97214", "503", 3),
    _us_place("Asheville", "NC", "28801", "828", 2),
    _us_place("Brooklyn", "NY", "11201 11215", "718 347", 3),
    _us_place("Oakland", "CA", "94612 94610", "510", 3),
    _us_place("Ojai", "CA", "93023", "805", 1),
    _us_place("Seattle", "WA", "98103 98122", "206", 3),
    _us_place("Minneapolis", "MN", "55408", "612", 2),
    _abroad("Vancouver", "BC", "CA", "V6B 1A1|V5K 0A1", "604", "-0800", "Main St|Commercial Dr", 2),
    _abroad("Toronto", "ON", "CA", "M5V 2T6|M4C 1B5", "416", "-0500", "Queen St W|Danforth Ave", 2),
    _abroad("Berlin", "", "DE", "10115|10437", "+49 30", "+0100", "Torstraße|Kastanienallee", 1),
    _abroad("Amsterdam", "", "NL", "1012 AB", "+31 20", "+0100", "Prinsengracht|Herengracht", 1),
    _abroad("London", "", "GB", "N1 9GU|E8 3PB", "+44 20", "+0000", "Upper Street|Mare Street", 1),
)
_NO_ADDRESS = ("", "", "", "", "", "")
_UNITS = ("Apt 4B", "Unit 12", "Suite 200", "#3", "Apt 2", "Unit 7C")
_US_PHONE_FORMATS = (
    "+1 {a}-555-01{x}",
    "({a}) 555-01{x}",
    "{a}-555-01{x}",
    "{a}.555.01{x}",
    "+1{a}55501{x}",
    "{a}55501{x}",
)
# (Payment Method, Provider, Card Brand, Card Funding), repeated by weight: PayPal ~15%,
# cards visa > mastercard > amex, mostly credit.
_PAYMENTS: tuple[tuple[str, str, str, str], ...] = (
    (("paypal", "paypal", "", ""),) * 15
    + (("card", "stripe", "visa", "credit"),) * 36
    + (("card", "stripe", "visa", "debit"),) * 14
    + (("card", "stripe", "visa", "prepaid"),) * 2
    + (("card", "stripe", "mastercard", "credit"),) * 17
    + (("card", "stripe", "mastercard", "debit"),) * 7
    + (("card", "stripe", "amex", "credit"),) * 9
)
_CHARGE_ATTEMPTS = ("1", "1", "1", "1", "2", "2", "3", "4")
_FAILURE_MESSAGES = (
    "Your card was declined.",
    "Your card was declined.",
    "Your card has insufficient funds.",
    "Your card has expired.",
    "Your card's security code is incorrect.",
    "The card was declined for an unknown reason.",
)


# (Amount, Currency, Offer ID, Offer Title, Coupon Used): the offer's five columns of a row.
Sale = tuple[str, str, str, str, str]


@dataclass(slots=True)
class Offer:
    """One Kajabi offer with every string a row needs, formatted once."""

    offer_id: str
    title: str  # as the export writes it (stray spaces when messy)
    clean_title: str
    type: str
    price: str
    currency: str
    sale: Sale
    refund: Sale
    coupon_sales: tuple[Sale, ...]


@dataclass(frozen=True, slots=True)
class _Profile:
    """Where a customer lives, how they pay and what clock their rows show."""

    place: _Place
    phone: str
    address: tuple[str, str, str, str, str, str]
    offset: str | None  # None: the store's Mountain time
    payment: tuple[str, str, str, str]  # Payment Method, Provider, Card Brand, Card Funding


@dataclass(slots=True)
class Customer:
    """One Kajabi customer; `block` is the ten contiguous customer columns of a row."""

    index: int
    customer_id: str
    first_name: str
    last_name: str
    name: str
    email: str
    phone: str
    address: tuple[str, str, str, str, str, str]
    offset: str | None
    payment: tuple[str, str, str, str]
    membership: Offer
    weight: int
    block: list[str]
    messy_block: list[str] | None  # same columns with the email as carelessly typed


# ---------------------------------------------------------------------------------------------
# Small formatting helpers


def _ascii_fold(text: str) -> str:
    """Letters of a name as an email local part would spell them ("Muñoz" -> "munoz")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha()).lower()


_FIRST = tuple((name, _ascii_fold(name)) for name in _FIRST_NAMES)
_LAST = tuple((name, _ascii_fold(name)) for name in _LAST_NAMES)


def _cents_to_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _text_to_cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _offer_count(n_rows: int) -> int:
    """~100 offers at StarHouse's 4,400 rows, growing slowly for platform-scale exports."""
    if n_rows >= 4_400:
        return min(100 + n_rows // 10_000, 5_000)
    return max(20, n_rows // 44)


def _customer_count(n_rows: int) -> int:
    return max(1, round(n_rows / _ROWS_PER_CUSTOMER)) if n_rows else 0


# ---------------------------------------------------------------------------------------------
# The calendar: precomputed so a row's timestamp is three list lookups and two concatenations


@dataclass(frozen=True)
class _Calendar:
    days: tuple[str, ...]  # "2025-11-08"
    mountain_offsets: tuple[str, ...]  # the day's offset outside the 2 a.m. switch
    switch: tuple[int, ...]  # 0 none, 1 spring forward, 2 fall back
    cumulative: tuple[float, ...]  # running total of the day weights, inclusive
    starts: tuple[float, ...]  # running total before the day
    widths: tuple[float, ...]
    minute_quantiles: tuple[int, ...]  # minute of day by quantile (busy daytime)
    clock: tuple[str, ...]  # " HH:MM:00 " per minute of day


_SPRING_FORWARD = 1
_FALL_BACK = 2
# Relative activity per hour of the day (Mountain): quiet nights, busy days and evenings.
_HOUR_WEIGHTS = (
    1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.0, 5.0, 5.5, 5.5,
    5.5, 5.5, 5.5, 5.0, 5.0, 5.0, 5.5, 6.0, 6.0, 5.0, 3.5, 2.0,
)  # fmt: skip
_MONTH_WEIGHTS = {1: 1.25, 7: 0.85, 11: 1.15, 12: 0.9}
_MINUTE_QUANTILES = 4096


def _nth_sunday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def _is_mountain_daylight(day: date) -> bool:
    """US rule since 2007: second Sunday of March to first Sunday of November."""
    return _nth_sunday(day.year, 3, 2) <= day < _nth_sunday(day.year, 11, 1)


@functools.cache
def _calendar() -> _Calendar:
    n_days = (_LAST_DAY - _FIRST_DAY).days + 1
    days, offsets, switch, weights = [], [], [], []
    for index in range(n_days):
        day = _FIRST_DAY + timedelta(days=index)
        days.append(day.isoformat())
        offsets.append(_MOUNTAIN_DAYLIGHT if _is_mountain_daylight(day) else _MOUNTAIN_STANDARD)
        switch.append(
            _SPRING_FORWARD
            if day == _nth_sunday(day.year, 3, 2)
            else _FALL_BACK
            if day == _nth_sunday(day.year, 11, 1)
            else 0
        )
        # The business grows over five years; weekends and summer are quieter.
        growth = 0.45 + 0.55 * index / n_days
        weekend = 0.8 if day.weekday() >= 5 else 1.0
        weights.append(growth * weekend * _MONTH_WEIGHTS.get(day.month, 1.0))
    cumulative, starts, total = [], [], 0.0
    for weight in weights:
        starts.append(total)
        total += weight
        cumulative.append(total)
    return _Calendar(
        days=tuple(days),
        mountain_offsets=tuple(offsets),
        switch=tuple(switch),
        cumulative=tuple(cumulative),
        starts=tuple(starts),
        widths=tuple(end - start for start, end in zip(starts, cumulative, strict=True)),
        minute_quantiles=_minute_quantiles(),
        clock=tuple(f" {m // 60:02d}:{m % 60:02d}:00 " for m in range(1440)),
    )


def _minute_quantiles() -> tuple[int, ...]:
    """Minute of day at evenly spaced quantiles, so a uniform fraction maps to busy hours.

    Sorted, so later fractions of a day give later minutes and the export stays in order.
    """
    cumulative, total = [], 0.0
    for minute in range(1440):
        total += _HOUR_WEIGHTS[minute // 60]
        cumulative.append(total)
    table = [
        min(1439, bisect_left(cumulative, total * k / _MINUTE_QUANTILES))
        for k in range(_MINUTE_QUANTILES)
    ]
    table.append(1439)  # a fraction of exactly 1.0
    return tuple(table)


def _mountain_switch_day(kind: int, minute: int) -> tuple[int, str]:
    """Offset on a daylight-saving switch day; the skipped spring hour is moved forward."""
    if kind == _SPRING_FORWARD:
        if minute < 120:
            return minute, _MOUNTAIN_STANDARD
        return (minute + 60 if minute < 180 else minute), _MOUNTAIN_DAYLIGHT
    # Fall back: 01:00-01:59 happens twice; the first pass (daylight time) is used.
    return minute, (_MOUNTAIN_DAYLIGHT if minute < 120 else _MOUNTAIN_STANDARD)


# ---------------------------------------------------------------------------------------------
# The model: offers, customers and outcomes, then rows

# Type, Status, Charge Attempt, Failure Message, has an Order No., the pool the offer is drawn
# from (None: the customer's own membership).
_Outcome = tuple[str, str, str, str, bool, list[Sale] | None]
_OUTCOME_RESOLUTION = 2_000
_PROFILE_LIMIT = 8_192


class ExportModel:
    """Offers and customers of one export, and the rows drawn from them.

    Customers are created as the rows need them (newest rows first, as Kajabi lists them),
    so every customer appears at least once and none is built in vain. Where customers live
    and how they pay comes from a pool of profiles built up front: creating a customer from
    scratch costs more than several rows, and households and shared cards are real anyway.
    `rows()` may be iterated once; afterwards `customers` holds everyone it used.
    """

    def __init__(self, n_rows: int, seed: int = 7, *, messy: bool = True) -> None:
        if n_rows < 0:
            raise ValueError("n_rows must not be negative")
        self.n_rows = n_rows
        self.messy = messy
        self.rng = random.Random(seed)
        self.n_customers = _customer_count(n_rows)
        self.customers: list[Customer] = []
        self._email_uses: dict[str, int] = {}
        self.offers = self._build_offers(_offer_count(n_rows))
        self._memberships = self._popular(SUBSCRIPTION, exponent=1.3, entries=lambda o: [o])
        self._outcomes = self._build_outcomes()
        rnd = self.rng.random
        places = [place for place in _PLACES for _ in range(place.weight)]
        self._profiles = [
            _new_profile(rnd, _pick(rnd, places))
            for _ in range(min(_PROFILE_LIMIT, max(1, self.n_customers)))
        ]
        # A heavy tail: most customers buy a few times, members renew for years.
        self._weights = [min(40, 1 + int(self.rng.paretovariate(1.6))) for _ in range(1024)]
        self._used = False

    # -- offers -------------------------------------------------------------------------------

    def _build_offers(self, count: int) -> list[Offer]:
        rnd = self.rng.random
        catalogue = list(_CURATED_OFFERS[:count])
        catalogue.extend(self._composed_offers(count - len(catalogue)))
        charge_positions = [i for i, (_, kind, _) in enumerate(catalogue) if kind == CHARGE]
        # Popular but never the first course, which the sample uses for name matching.
        messy_positions = set(charge_positions[1::7][: max(1, round(count * 0.03))])
        offers = []
        for index, (title, kind, price) in enumerate(catalogue):
            offer_id = str(_OFFER_ID_BASE + index * 9_973 + int(rnd() * 9_973))
            shown = _messy_title(title) if self.messy and index in messy_positions else title
            # The core catalogue sells in USD; a few later offers are priced in CAD or EUR.
            draw = rnd()
            currency = "USD" if index < 10 or draw < 0.93 else ("CAD" if draw < 0.98 else "EUR")
            offers.append(_make_offer(offer_id, shown, title, kind, price, currency))
        return offers

    def _composed_offers(self, count: int) -> Iterator[tuple[str, str, str]]:
        rnd = self.rng.random
        combos = len(_TOPICS) * len(_FORMATS)
        for k in range(count):
            title = f"{_TOPICS[k % len(_TOPICS)]} {_FORMATS[(k // len(_TOPICS)) % len(_FORMATS)]}"
            cohort = k // combos
            if cohort:
                title = f"{title} (Cohort {cohort + 1})"
            if k % 10 == 9:
                yield f"{title} (3 Payments)", PAYMENT_PLAN, _pick(rnd, _COMPOSED_PLAN_PRICES)
            else:
                yield title, CHARGE, _pick(rnd, _COMPOSED_CHARGE_PRICES)

    def _popular(
        self, kind: str, exponent: float, entries: Callable[[Offer], Sequence[_T]]
    ) -> list[_T]:
        """Each offer's entries repeated by a Zipf-like weight, so one index draw picks by
        popularity; earlier (older, flagship) offers sell most."""
        ranked = [offer for offer in self.offers if offer.type == kind]
        pool: list[_T] = []
        for rank, offer in enumerate(ranked):
            pool.extend(list(entries(offer)) * max(1, round(60 / (rank + 1) ** exponent)))
        return pool

    def _build_outcomes(self) -> list[_Outcome]:
        """Every row's type/status/order-number combination in its exact share.

        One draw from this table replaces a chain of draws and branches per row; the shares
        are exact to 1/2,000, so the mix holds on any export large enough to show it.
        """
        # 46 plain sales to 4 with a coupon: 8% of charges use one.
        charges = self._popular(CHARGE, 0.7, lambda o: [o.sale] * 46 + list(o.coupon_sales))
        pools: dict[str, list[Sale] | None] = {
            SUBSCRIPTION: None,
            CHARGE: charges,
            PAYMENT_PLAN: self._popular(PAYMENT_PLAN, 0.7, lambda o: [o.sale]),
            REFUND: self._popular(CHARGE, 0.7, lambda o: [o.refund]),
        }
        outcomes: list[_Outcome] = []
        failures = 0
        lower = 0.0
        for kind, upper in zip(pools, (*_TYPE_CUTS, 1.0), strict=True):
            count = round((upper - lower) * _OUTCOME_RESOLUTION)
            lower = upper
            failed = 0 if kind == REFUND else round(count * _FAILED_SHARE)
            pending = 0 if kind == REFUND else round(count * _PENDING_SHARE)
            for position in range(count):
                status, attempt, message = "succeeded", "", ""
                if position < failed:
                    status = "failed"
                    attempt = _CHARGE_ATTEMPTS[failures % len(_CHARGE_ATTEMPTS)]
                    message = _FAILURE_MESSAGES[failures // 8 % len(_FAILURE_MESSAGES)]
                    failures += 1
                elif position < failed + pending:
                    status = "pending"
                # Subscription renewals carry no Order No.; 15% are first payments, which do.
                numbered = kind != SUBSCRIPTION or position % 20 < 3
                outcomes.append((kind, status, attempt, message, numbered, pools[kind]))
        return outcomes

    # -- customers ----------------------------------------------------------------------------

    def unique_email(self, first: str, last: str) -> str:
        """A plausible address, unique in this model: repeats get a number after the name.

        Local parts from the patterns never end in a digit, so "jane.doe2" can only come from
        the second "jane.doe" and uniqueness holds without a set of every address.
        """
        rnd = self.rng.random
        parts = (first, last, first[:1])
        head, separator, tail = _EMAIL_PATTERNS[int(rnd() * len(_EMAIL_PATTERNS))]
        local = parts[head] + separator + parts[tail]
        domain = _EMAIL_DOMAINS[int(rnd() * len(_EMAIL_DOMAINS))]
        key = f"{local}@{domain}"
        uses = self._email_uses.get(key, 0)
        self._email_uses[key] = uses + 1
        return key if uses == 0 else f"{local}{uses + 1}@{domain}"

    def _new_customer(self, index: int) -> Customer:
        # Inline draws: a quarter of all rows create a customer, so this is hot too.
        rnd = self.rng.random
        first, first_ascii = _FIRST[int(rnd() * len(_FIRST))]
        last, last_ascii = _LAST[int(rnd() * len(_LAST))]
        email = self.unique_email(first_ascii, last_ascii)
        profile = self._profiles[int(rnd() * len(self._profiles))]
        address = profile.address
        name = f"{first} {last}"
        messy_block = None
        if self.messy:
            # Index-based picks guarantee each kind of mess shows up even in a small sample.
            if index % 97 == 11:
                name = _comma_name(first, last, index)
            if index % 53 == 7:
                address = _address(rnd, profile.place, comma=True)
            elif index % 331 == 17:
                address = _address(rnd, profile.place, newline=True)
        customer_id = str(_CUSTOMER_ID_BASE + (self.n_customers - index) * 41 + int(rnd() * 41))
        block = [customer_id, name, email, profile.phone, *address]
        if self.messy and index % 29 == 5:
            messy_block = block.copy()
            messy_block[2] = _messy_email(email, index)
        return Customer(  # positional: keyword passing costs measurably here
            index,
            customer_id,
            first,
            last,
            name,
            email,
            profile.phone,
            address,
            profile.offset,
            profile.payment,
            self._memberships[int(rnd() * len(self._memberships))],
            self._weights[int(rnd() * len(self._weights))],
            block,
            messy_block,
        )

    # -- rows ---------------------------------------------------------------------------------

    def rows(self) -> Iterator[list[str]]:
        """Yield the export's rows, newest first, each a list of 28 strings."""
        if self._used:
            raise RuntimeError("an ExportModel yields its rows once; make a new one")
        self._used = True
        cal = _calendar()
        # Locals, not attribute look-ups, in the loop that runs millions of times.
        days, clock, mountain, switches = cal.days, cal.clock, cal.mountain_offsets, cal.switch
        cumulative, starts, widths = cal.cumulative, cal.starts, cal.widths
        quantiles, quantile_scale = cal.minute_quantiles, _MINUTE_QUANTILES
        total_weight = cumulative[-1]
        outcomes, n_outcomes = self._outcomes, len(self._outcomes)
        rnd = self.rng.random
        new_customer, customers, tickets = self._new_customer, self.customers, []
        n, n_customers = self.n_rows, self.n_customers
        p_new = n_customers / n if n else 0.0
        step = total_weight / n if n else 0.0
        messy, duplicate_share = self.messy, _DUPLICATE_SHARE
        previous: list[str] | None = None
        unmet = n_customers
        for i in range(n):
            remaining = n - i
            if messy and rnd() < duplicate_share and previous is not None and remaining > unmet:
                yield previous.copy()
                continue
            if unmet and (unmet >= remaining or not tickets or rnd() < p_new):
                customer = new_customer(n_customers - unmet)
                unmet -= 1
                customers.append(customer)
                tickets.extend([customer] * customer.weight)
                block = customer.messy_block or customer.block
            else:
                customer = tickets[int(rnd() * len(tickets))]
                block = customer.block
                if customer.messy_block is not None and rnd() < 0.5:
                    block = customer.messy_block

            # When: rows run newest to oldest, spread by the calendar's day weights.
            target = total_weight - (i + rnd()) * step
            day = bisect_left(cumulative, target)
            minute = quantiles[int((target - starts[day]) / widths[day] * quantile_scale)]
            offset = customer.offset
            if offset is None:
                switch = switches[day]
                if switch:
                    minute, offset = _mountain_switch_day(switch, minute)
                else:
                    offset = mountain[day]

            kind, status, attempt, failure, numbered, pool = outcomes[int(rnd() * n_outcomes)]
            amount, currency, offer_id, title, coupon = (
                customer.membership.sale if pool is None else pool[int(rnd() * len(pool))]
            )
            method, provider, brand, funding = customer.payment
            row = [
                str(_TRANSACTION_ID_BASE + remaining * 3 + int(rnd() * 3)),
                amount, currency, status, kind, method, days[day] + clock[minute] + offset,
                str(_ORDER_NO_BASE + remaining) if numbered else "",
                provider, offer_id, title, *block,
                coupon, brand, funding, "0.00", "1", attempt, failure,
            ]  # fmt: skip
            previous = row
            yield row


def _make_offer(
    offer_id: str, shown: str, title: str, kind: str, price: str, currency: str
) -> Offer:
    cents = _text_to_cents(price)
    coupons = tuple(
        # Discounts round down to whole dollars, as the coupons are set up.
        (_cents_to_text(cents * (100 - pct) // 10_000 * 100), currency, offer_id, shown, code)
        for code, pct in _COUPONS
    )
    return Offer(
        offer_id=offer_id,
        title=shown,
        clean_title=title,
        type=kind,
        price=price,
        currency=currency,
        sale=(price, currency, offer_id, shown, ""),
        refund=(_cents_to_text(-cents), currency, offer_id, shown, ""),
        coupon_sales=coupons,
    )


def _messy_title(title: str) -> str:
    """A title as typed carelessly in Kajabi's admin: a doubled inner space, a trailing one."""
    head, _, tail = title.rpartition(" ")
    return f"{head}  {tail} " if head else f"{title} "


def _messy_email(email: str, index: int) -> str:
    variants = (f" {email.title()}", f"{email.upper()} ", f"  {email[:1].upper()}{email[1:]}  ")
    return variants[index % len(variants)]


def _comma_name(first: str, last: str, index: int) -> str:
    if index % 2:
        return f"{last}, {first}"
    return f"{first} {last}{_NAME_SUFFIXES[index % len(_NAME_SUFFIXES)]}"


def _pick(rnd: Draw, options: Sequence[_T]) -> _T:
    """One uniform choice; random.choice/randrange are several times slower."""
    return options[int(rnd() * len(options))]


def _new_profile(rnd: Draw, place: _Place) -> _Profile:
    # Shoppers abroad often see their own clock; a few US ones do too.
    share = 0.03 if place.country == "US" else 0.6
    return _Profile(
        place=place,
        phone=_phone(rnd, place) if rnd() >= 0.40 else "",
        address=_address(rnd, place) if rnd() >= 0.30 else _NO_ADDRESS,
        offset=_pick(rnd, place.other_offsets) if rnd() < share else None,
        payment=_pick(rnd, _PAYMENTS),
    )


def _address(
    rnd: Draw, place: _Place, *, comma: bool = False, newline: bool = False
) -> tuple[str, str, str, str, str, str]:
    street = _pick(rnd, place.streets)
    number = 100 + int(rnd() * 4900)
    line_1 = f"{number} {street}" if place.country in ("US", "CA") else f"{street} {number % 200}"
    unit = _pick(rnd, _UNITS)
    line_2 = unit if rnd() < 0.2 else ""
    if comma:
        line_1, line_2 = f"{line_1}, {unit}", ""
    elif newline:
        line_1, line_2 = f"{line_1}\n{unit}", ""
    return line_1, line_2, place.city, place.state, _pick(rnd, place.zips), place.country


def _phone(rnd: Draw, place: _Place) -> str:
    last_two = f"{int(rnd() * 100):02d}"
    area = _pick(rnd, place.area_codes)
    if area.startswith("+"):
        return f"{area} 555 01{last_two}"
    return _pick(rnd, _US_PHONE_FORMATS).format(a=area, x=last_two)


# ---------------------------------------------------------------------------------------------
# Public API: rows and files


def generate_export_rows(n_rows: int, seed: int = 7, *, messy: bool = True) -> Iterator[list[str]]:
    """Yield `n_rows` rows (no header) of a realistic transactions export; same seed, same rows."""
    return ExportModel(n_rows, seed, messy=messy).rows()


def write_export(path: str | Path, n_rows: int, seed: int = 7, *, messy: bool = True) -> Path:
    """Write an export as a spreadsheet round-trip leaves it: UTF-8 with BOM, CRLF lines."""
    return _write_export_rows(Path(path), generate_export_rows(n_rows, seed, messy=messy))


def _write_export_rows(path: Path, rows: Iterable[Sequence[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        handle.writelines(csv_text(rows, header=TRANSACTION_COLUMNS))
    return path


_CHUNK_ROWS = 8_192


def csv_text(rows: Iterable[Sequence[str]], header: Sequence[str] | None = None) -> Iterator[str]:
    """CRLF CSV text in chunks, byte for byte what csv.writer (minimal quoting) writes.

    csv.writer alone runs slower than the generator; almost no row needs quoting, so a
    plain join is used whenever the joined line proves no field has a comma, quote or line
    break, and csv.writer only for the rare row that does.
    """
    quoted = io.StringIO()
    # Lines are kept without their CRLF and joined with it, saving a copy of every line. The
    # writer keeps its CRLF terminator because that is what makes it quote line breaks.
    writer = csv.writer(quoted, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    chunk: list[str] = []
    if header is not None:
        writer.writerow(header)
        chunk.append(quoted.getvalue()[:-2])
    for row in rows:
        line = ",".join(row)
        # An empty line would be a lone empty field, which csv.writer writes as "".
        plain = line and line.count(",") == len(row) - 1
        if plain and not ('"' in line or "\n" in line or "\r" in line):
            chunk.append(line)
        else:
            quoted.seek(0)
            quoted.truncate()
            writer.writerow(row)
            chunk.append(quoted.getvalue()[:-2])
        if len(chunk) >= _CHUNK_ROWS:
            yield "\r\n".join(chunk) + "\r\n"
            chunk.clear()
    if chunk:
        yield "\r\n".join(chunk) + "\r\n"


def _write_table(path: Path, columns: Sequence[str], records: Iterable[dict[str, str]]) -> None:
    """A CRM table as a database dump writes it: plain UTF-8, LF lines, empty for NULL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


# ---------------------------------------------------------------------------------------------
# The bundled sample: an export with known defects and the CRM state it meets


@dataclass(frozen=True)
class SampleFacts:
    """What the sample is built to show, so tests and docs can state expected outcomes."""

    rows: int
    bad_lines: dict[str, int]  # defect -> the file line its record starts on (header = 1)
    exact_duplicate_line: int
    conflicting_id: str
    name_matched_offer_id: str
    name_matched_offer_title: str
    name_matched_product_name: str
    offers_to_create: tuple[str, ...]
    customers: int
    contacts_matched: int
    contacts_to_create: int
    phone_fills: int
    address_fills: int
    contacts_to_enrich: int
    protected_phones: int
    recased_emails: int


@dataclass(frozen=True)
class Sample:
    """The sample export's records and the three CRM tables, in memory."""

    rows: list[list[str]]
    contacts: list[dict[str, str]]
    products: list[dict[str, str]]
    transactions: list[dict[str, str]]
    facts: SampleFacts


# Good-row positions before which each deliberate defect is inserted, spread through the file.
_DEFECT_POSITIONS = (
    ("unknown_type", 40),
    ("unknown_status", 95),
    ("exact_duplicate", 160),
    ("unparseable_amount", 220),
    ("missing_offset", 290),
    ("empty_email", 330),
    ("conflicting_duplicate", 360),
)
_CRM_NOW = datetime(2025, 11, 15, 18, 0, tzinfo=UTC)
_OTHER_SYSTEM_PRODUCTS = ("Ticket Tailor: Full Moon Gathering", "PayPal: Private Chart Reading")
_ENRICHMENT_QUOTAS = (
    ("enrich_both", 6),
    ("enrich_phone", 3),
    ("enrich_address", 2),
    ("protected_phone", 4),
    ("recased_email", 3),
)


def build_sample(seed: int = SAMPLE_SEED, n_rows: int = SAMPLE_ROWS) -> Sample:
    """Build the bundled sample in memory: export records, CRM tables and their facts."""
    n_good = n_rows - len(_DEFECT_POSITIONS)
    if n_good <= _DEFECT_POSITIONS[-1][1] + 20:
        raise ValueError(f"the sample needs more than {_DEFECT_POSITIONS[-1][1] + 27} rows")
    model = ExportModel(n_good, seed, messy=True)
    good = list(model.rows())
    rows, defect_rows = _insert_defects(good, random.Random(seed + 1))
    conflicting_id = defect_rows["conflicting_duplicate"][_COL["ID"]]
    valid = [row for row in good if row[_COL["ID"]] != conflicting_id]
    crm_rng = random.Random(seed + 2)
    products, name_match, to_create = _crm_products(model.offers, valid, crm_rng)
    contacts, groups = _crm_contacts(model, valid, crm_rng)
    transactions = _crm_transactions(contacts, products, crm_rng)
    lines = _record_lines(rows)
    line_of = {id(row): line for row, line in zip(rows, lines, strict=True)}
    facts = _sample_facts(
        rows=rows,
        valid=valid,
        contacts=contacts,
        groups=groups,
        bad_lines={
            name: line_of[id(row)] for name, row in defect_rows.items() if name != "exact_duplicate"
        },
        exact_duplicate_line=line_of[id(defect_rows["exact_duplicate"])],
        conflicting_id=conflicting_id,
        name_match=name_match,
        to_create=to_create,
    )
    return Sample(rows, contacts, products, transactions, facts)


def write_sample(directory: Path) -> None:
    """Write the bundled sample export and the crm/ tables it is imported against."""
    _write_sample_files(Path(directory), build_sample())


def _write_sample_files(directory: Path, sample: Sample) -> None:
    _write_export_rows(directory / SAMPLE_EXPORT_NAME, sample.rows)
    crm = directory / SAMPLE_CRM_DIR_NAME
    _write_table(crm / "contacts.csv", CONTACT_COLUMNS, sample.contacts)
    _write_table(crm / "products.csv", PRODUCT_COLUMNS, sample.products)
    _write_table(crm / "transactions.csv", CRM_TRANSACTION_COLUMNS, sample.transactions)


# -- defects ----------------------------------------------------------------------------------


def _is_plain(row: list[str]) -> bool:
    """A succeeded charge on one physical line: a clean base for exactly one defect."""
    return (
        row[_COL["Type"]] == CHARGE
        and row[_COL["Status"]] == "succeeded"
        and row[_COL["Coupon Used"]] == ""
        and not any("\n" in field for field in row)
        and row[_COL["Customer Email"]] == row[_COL["Customer Email"]].strip()
    )


def _insert_defects(
    good: list[list[str]], rng: random.Random
) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Place one row per defect among the good rows; return all rows and the defect rows."""
    used_ids = {row[_COL["ID"]] for row in good}
    plain = [index for index, row in enumerate(good) if _is_plain(row)]
    repeat_customers = Counter(row[_COL["Customer ID"]] for row in good)
    defects: dict[str, list[str]] = {}
    for name, position in _DEFECT_POSITIONS:
        neighbour = good[position - 1]
        if name in ("exact_duplicate", "conflicting_duplicate"):
            source = _earlier_plain(good, plain, position, repeat_customers)
            defects[name] = _duplicate(source, conflicting=name == "conflicting_duplicate")
            continue
        donor = good[plain[rng.randrange(len(plain))]].copy()
        donor[_COL["ID"]] = _fresh_id(neighbour[_COL["ID"]], used_ids)
        donor[_COL["Created At"]] = neighbour[_COL["Created At"]]
        defects[name] = _apply_defect(name, donor)
    rows: list[list[str]] = []
    starts = dict(_DEFECT_POSITIONS)
    by_position = {starts[name]: row for name, row in defects.items()}
    for index, row in enumerate(good):
        if index in by_position:
            rows.append(by_position[index])
        rows.append(row)
    return rows, defects


def _earlier_plain(
    good: list[list[str]], plain: list[int], position: int, repeats: Counter[str]
) -> list[str]:
    """A plain row well before `position` whose customer also has other rows.

    The other rows keep that customer importable even if the pipeline sets aside every row
    sharing a conflicting ID.
    """
    for index in reversed(plain):
        if index < position - 20 and repeats[good[index][_COL["Customer ID"]]] > 1:
            return good[index]
    raise RuntimeError("no plain row to duplicate; the sample is too small")


def _duplicate(source: list[str], *, conflicting: bool) -> list[str]:
    row = source.copy()
    if conflicting:
        changed = _text_to_cents(row[_COL["Amount"]]) + 1_000
        row[_COL["Amount"]] = _cents_to_text(changed)
    return row


def _fresh_id(near: str, used: set[str]) -> str:
    candidate = int(near) + 1
    while str(candidate) in used:
        candidate += 1
    used.add(str(candidate))
    return str(candidate)


def _apply_defect(name: str, row: list[str]) -> list[str]:
    if name == "unknown_type":
        row[_COL["Type"]] = "gift"
    elif name == "unknown_status":
        row[_COL["Status"]] = "disputed"
    elif name == "unparseable_amount":
        row[_COL["Amount"]] = "twelve"
    elif name == "missing_offset":
        row[_COL["Created At"]] = row[_COL["Created At"]].rsplit(" ", 1)[0]
    elif name == "empty_email":
        row[_COL["Customer Email"]] = ""
    else:
        raise ValueError(f"unknown defect {name}")
    return row


def _record_lines(rows: list[list[str]]) -> list[int]:
    """The physical line each record starts on, counting the header as line 1."""
    lines, line = [], 2
    for row in rows:
        lines.append(line)
        line += 1 + sum(field.count("\n") for field in row)
    return lines


# -- CRM products -----------------------------------------------------------------------------


def _crm_products(
    offers: list[Offer], valid: list[list[str]], rng: random.Random
) -> tuple[list[dict[str, str]], Offer, list[Offer]]:
    """Products for most offers; one only by a differently written name; two missing."""
    usage = Counter(row[_COL["Offer ID"]] for row in valid)
    used = [offer for offer in offers if usage[offer.offer_id]]
    name_match = next(
        (offer for offer in used if offer.clean_title == "Astrology Foundations"),
        max((o for o in used if o.type == CHARGE), key=lambda o: usage[o.offer_id]),
    )
    # Rarely bought, recently added offers are the plausible ones not in the CRM yet.
    candidates = [o for o in used if o is not name_match and o.type != SUBSCRIPTION]
    to_create = sorted(candidates, key=lambda o: (usage[o.offer_id], o.offer_id))[:2]
    missing = {offer.offer_id for offer in to_create}
    products: list[tuple[str, str]] = []
    for offer in offers:
        if offer.offer_id in missing:
            continue
        if offer is name_match:
            products.append((_scrambled_name(offer.clean_title), ""))
        else:
            products.append((offer.clean_title, offer.offer_id))
    products.extend((name, "") for name in _OTHER_SYSTEM_PRODUCTS)
    records = [
        {
            "id": "",
            "name": name,
            "kajabi_offer_id": offer_id,
            "created_at": _iso_utc(_random_moment(rng, date(2019, 6, 1), date(2025, 6, 1))),
        }
        for name, offer_id in products
    ]
    _number_by_creation(records)
    return records, name_match, to_create


def _scrambled_name(title: str) -> str:
    """The same name typed differently elsewhere: other case, padded and doubled spaces."""
    words = title.split()
    shaped = [word.upper() if i % 2 else word.lower() for i, word in enumerate(words)]
    return f"  {'   '.join(shaped)} "


def _random_moment(rng: random.Random, start: date, end: date) -> datetime:
    span = int((end - start).total_seconds())
    base = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return base + timedelta(seconds=rng.randrange(span))


# -- CRM contacts -----------------------------------------------------------------------------


def _crm_contacts(
    model: ExportModel, valid: list[list[str]], rng: random.Random
) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """~70% of the export's customers plus ~10 people from other systems.

    Returns the contact records and, per scenario, the emails placed in it.
    """
    seen = {row[_COL["Customer ID"]] for row in valid}
    customers = [c for c in model.customers if c.customer_id in seen]
    existing = rng.sample(customers, round(0.7 * len(customers)))
    groups: dict[str, list[str]] = {name: [] for name, _ in _ENRICHMENT_QUOTAS}
    records = []
    for customer in existing:
        scenario = _scenario_for(customer, groups)
        if scenario:
            groups[scenario].append(customer.email)
        records.append(_contact_from_customer(customer, scenario, rng))
    records.extend(_other_system_contact(model, rng) for _ in range(10))
    _number_by_creation(records)
    return records, groups


def _number_by_creation(records: list[dict[str, str]]) -> None:
    """Identity ids follow insertion order, as they would in the real table."""
    records.sort(key=lambda record: record["created_at"])
    for number, record in enumerate(records, start=1):
        record["id"] = str(number)


def _scenario_for(customer: Customer, groups: dict[str, list[str]]) -> str | None:
    has_phone, has_address = bool(customer.phone), bool(customer.address[0])
    fits = {
        "enrich_both": has_phone and has_address,
        "enrich_phone": has_phone,
        "enrich_address": has_address,
        "protected_phone": has_phone,
        "recased_email": customer.messy_block is None,
    }
    for name, quota in _ENRICHMENT_QUOTAS:
        if fits[name] and len(groups[name]) < quota:
            return name
    return None


def _contact_from_customer(
    customer: Customer, scenario: str | None, rng: random.Random
) -> dict[str, str]:
    phone = customer.phone
    address = customer.address
    email = customer.email
    if scenario in ("enrich_both", "enrich_phone"):
        phone = ""
    if scenario in ("enrich_both", "enrich_address"):
        address = _NO_ADDRESS
    if scenario == "protected_phone":
        phone = f"(303) 555-01{(int(customer.phone[-2:]) + 37) % 100:02d}"
    if scenario == "recased_email":
        local, _, domain = email.partition("@")
        email = f"{local.title()}@{domain.upper()}"
    return _contact_record(
        email, customer.first_name, customer.last_name, phone, address, rng, "manual"
    )


def _other_system_contact(model: ExportModel, rng: random.Random) -> dict[str, str]:
    first, first_ascii = _FIRST[rng.randrange(len(_FIRST))]
    last, last_ascii = _LAST[rng.randrange(len(_LAST))]
    email = model.unique_email(first_ascii, last_ascii)
    place = _PLACES[rng.randrange(3)]
    phone = _phone(rng.random, place) if rng.random() < 0.6 else ""
    address = _address(rng.random, place) if rng.random() < 0.5 else _NO_ADDRESS
    source = rng.choice(("ticket_tailor", "paypal"))
    return _contact_record(email, first, last, phone, address, rng, source)


def _contact_record(
    email: str,
    first: str,
    last: str,
    phone: str,
    address: tuple[str, str, str, str, str, str],
    rng: random.Random,
    source: str,
) -> dict[str, str]:
    created = _random_moment(rng, date(2019, 1, 1), date(2025, 9, 1))
    updated = min(_CRM_NOW, created + timedelta(days=rng.randrange(0, 400)))
    line_1, line_2, city, state, postal, country = address
    return {
        "id": "",
        "email": email,
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "phone_source": source if phone else "",
        "address_line_1": line_1,
        "address_line_2": line_2,
        "city": city,
        "state": state,
        "postal_code": postal,
        "country": country,
        "billing_address_source": source if line_1 else "",
        "created_at": _iso_utc(created),
        "updated_at": _iso_utc(updated),
        "deleted_at": "",
    }


# -- CRM transactions -------------------------------------------------------------------------


def _crm_transactions(
    contacts: list[dict[str, str]], products: list[dict[str, str]], rng: random.Random
) -> list[dict[str, str]]:
    """Twenty Ticket Tailor and PayPal rows: what the import must leave untouched."""
    product_ids = {record["name"]: record["id"] for record in products}
    ticket_product = product_ids[_OTHER_SYSTEM_PRODUCTS[0]]
    paypal_product = product_ids[_OTHER_SYSTEM_PRODUCTS[1]]
    records = []
    for number in range(1, 21):
        contact = contacts[rng.randrange(len(contacts))]
        when = _random_moment(rng, date(2022, 1, 1), date(2025, 11, 1))
        if number <= 12:
            order = f"or_{rng.randrange(10**7, 10**8)}"
            values = ("ticket_tailor", ticket_product, order, order, "purchase")
            amount, method, processor = rng.choice(("33.00", "44.00")), "card", "stripe"
        else:
            is_refund = number == 20
            paypal_id = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(17))
            kind = "refund" if is_refund else "purchase"
            values = ("paypal", paypal_product, paypal_id, "", kind)
            amount = "-175.00" if is_refund else rng.choice(("175.00", "250.00"))
            method, processor = "paypal", "paypal"
        source, product, external_id, order_id, kind = values
        records.append(
            {
                "id": str(number),
                "contact_id": contact["id"],
                "product_id": product,
                "source_system": source,
                "external_transaction_id": external_id,
                "external_order_id": order_id,
                "transaction_date": _iso_utc(when),
                "transaction_type": kind,
                "status": "completed",
                "amount": amount,
                "currency": "USD",
                "payment_method": method,
                "payment_processor": processor,
                "created_at": _iso_utc(when + timedelta(minutes=rng.randrange(1, 90))),
            }
        )
    return records


# -- facts ------------------------------------------------------------------------------------


def _sample_facts(
    *,
    rows: list[list[str]],
    valid: list[list[str]],
    contacts: list[dict[str, str]],
    groups: dict[str, list[str]],
    bad_lines: dict[str, int],
    exact_duplicate_line: int,
    conflicting_id: str,
    name_match: Offer,
    to_create: list[Offer],
) -> SampleFacts:
    """Expected outcomes, computed from the data itself rather than from intentions."""
    phone_by_email: dict[str, str] = {}
    address_by_email: dict[str, str] = {}
    for row in valid:
        key = row[_COL["Customer Email"]].strip().lower()
        if row[_COL["Phone"]].strip():
            phone_by_email.setdefault(key, row[_COL["Phone"]])
        if row[_COL["Address"]].strip():
            address_by_email.setdefault(key, row[_COL["Address"]])
    emails = {row[_COL["Customer Email"]].strip().lower() for row in valid}
    by_email = {c["email"].strip().lower(): c for c in contacts}
    matched = [by_email[email] for email in emails if email in by_email]
    phone_fills = {c["email"] for c in matched if not c["phone"] and _key(c) in phone_by_email}
    address_fills = {
        c["email"] for c in matched if not c["address_line_1"] and _key(c) in address_by_email
    }
    protected = [
        c for c in matched if c["phone"] and phone_by_email.get(_key(c), c["phone"]) != c["phone"]
    ]
    return SampleFacts(
        rows=len(rows),
        bad_lines=bad_lines,
        exact_duplicate_line=exact_duplicate_line,
        conflicting_id=conflicting_id,
        name_matched_offer_id=name_match.offer_id,
        name_matched_offer_title=name_match.title,
        name_matched_product_name=_scrambled_name(name_match.clean_title),
        offers_to_create=tuple(offer.offer_id for offer in to_create),
        customers=len(emails),
        contacts_matched=len(matched),
        contacts_to_create=len(emails) - len(matched),
        phone_fills=len(phone_fills),
        address_fills=len(address_fills),
        contacts_to_enrich=len(phone_fills | address_fills),
        protected_phones=len(protected),
        recased_emails=len(groups["recased_email"]),
    )


def _key(contact: dict[str, str]) -> str:
    return contact["email"].strip().lower()


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the bundled sample, or write one big export for benchmarks."""
    parser = argparse.ArgumentParser(
        prog="python -m starhouse_pipeline.samples.generator",
        description="Write the bundled sample (a directory) or, with --rows, one export file.",
    )
    parser.add_argument("target", type=Path, help="sample directory, or export file with --rows")
    parser.add_argument("--rows", type=int, help="write an export of this many rows")
    parser.add_argument("--seed", type=int, default=7, help="seed for --rows (default 7)")
    parser.add_argument("--clean", action="store_true", help="no deliberate mess (with --rows)")
    args = parser.parse_args(argv)
    if args.rows is None:
        sample = build_sample()
        _write_sample_files(args.target, sample)
        sys.stdout.write(_describe(args.target, sample.facts))
        return 0
    started = time.perf_counter()
    path = write_export(args.target, args.rows, args.seed, messy=not args.clean)
    seconds = time.perf_counter() - started
    rate = args.rows / seconds if seconds else float("inf")
    sys.stdout.write(f"wrote {args.rows:,} rows to {path} in {seconds:.1f}s ({rate:,.0f} rows/s)\n")
    return 0


def _describe(directory: Path, facts: SampleFacts) -> str:
    bad = ", ".join(f"{name} line {line}" for name, line in facts.bad_lines.items())
    return (
        f"wrote the sample to {directory}: {facts.rows} rows\n"
        f"  defects: {bad}; exact duplicate line {facts.exact_duplicate_line}\n"
        f"  name-matched offer {facts.name_matched_offer_id} '{facts.name_matched_offer_title}'"
        f" <- product {facts.name_matched_product_name!r}\n"
        f"  offers without product: {', '.join(facts.offers_to_create)}\n"
        f"  customers {facts.customers}: {facts.contacts_matched} existing contacts, "
        f"{facts.contacts_to_create} to create; {facts.contacts_to_enrich} to enrich "
        f"({facts.phone_fills} phone, {facts.address_fills} address); "
        f"{facts.protected_phones} differing phones kept\n"
    )


if __name__ == "__main__":
    sys.exit(main())
