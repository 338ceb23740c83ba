"""Property: whatever the mix of good and bad rows, every row is accounted for and the money
in the warehouse equals, to the cent, the money of the rows that should load.

The expected outcome is computed here from how each row was generated, independently of the
pipeline's rules. One SQLite warehouse is shared by all examples, so later examples also
meet IDs an earlier one loaded (unchanged or updated rows).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline.warehouse.tables import transactions
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.support import check_results, export_row, materialization_metadata

TYPES = {"charge": "purchase", "payment plan": "purchase", "subscription": "subscription"}
STATUSES = {"succeeded": "completed", "failed": "failed", "pending": "pending"}
# Corruptions that each make an otherwise good row invalid.
CORRUPTIONS: dict[str, dict[str, str]] = {
    "amount_parentheses": {"Amount": "(12.00)"},
    "amount_text": {"Amount": "free"},
    "amount_empty": {"Amount": ""},
    "type_unknown": {"Type": "gift"},
    "status_unknown": {"Status": "refunded"},
    "date_without_offset": {"Created At": "2025-11-08 04:11:00"},
    "date_unparseable": {"Created At": "someday"},
    "email_malformed": {"Customer Email": "not-an-email"},
    "id_missing": {"ID": ""},
    "refund_positive": {"Type": "refund", "Amount": "5.00"},
    "purchase_negative": {"Type": "charge", "Amount": "-5.00"},
}


@dataclass(frozen=True)
class Row:
    fields: tuple[str | None, ...]  # exactly what the file holds; None past a short row's end
    valid: bool
    kind: tuple[str, str, str] | None = None  # (CRM type, CRM status, currency) when valid
    amount: Decimal | None = None

    @property
    def transaction_id(self) -> str | None:
        return (self.fields[0] or "").strip() or None


def _amount_text(cents: int, dollar_sign: bool) -> str:
    text = f"{abs(cents) // 100:,}.{abs(cents) % 100:02d}" if dollar_sign else None
    text = text or f"{abs(cents) // 100}.{abs(cents) % 100:02d}"
    sign = "-" if cents < 0 else ""
    return f"{sign}${text}" if dollar_sign else f"{sign}{text}"


@st.composite
def good_rows(draw: st.DrawFn) -> Row:
    refund = draw(st.booleans()) and draw(st.booleans())
    kajabi_type = "refund" if refund else draw(st.sampled_from(sorted(TYPES)))
    status = draw(st.sampled_from(sorted(STATUSES)))
    currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
    cents = draw(st.integers(min_value=0, max_value=250_000_00))
    cents = -cents if refund else cents
    customer = draw(st.integers(min_value=1, max_value=6))
    row = export_row(
        ID=str(draw(st.integers(min_value=1, max_value=40))),
        Amount=_amount_text(cents, dollar_sign=draw(st.booleans())),
        Currency=currency,
        Status=status,
        Type=kajabi_type,
        Offer_ID=str(draw(st.integers(min_value=100, max_value=104))),
        Offer_Title=f"Offer {draw(st.integers(min_value=0, max_value=3))}",
        Customer_Name=f"Customer {customer}",
        Customer_Email=draw(
            st.sampled_from([f"c{customer}@example.com", f" C{customer}@Example.com "])
        ),
    )
    crm_type = "refund" if refund else TYPES[kajabi_type]
    return Row(
        fields=tuple(row[column] for column in TRANSACTION_COLUMNS),
        valid=True,
        kind=(crm_type, STATUSES[status], currency),
        amount=Decimal(cents) / 100,
    )


@st.composite
def bad_rows(draw: st.DrawFn) -> Row:
    good = draw(good_rows())
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        width = draw(st.sampled_from([3, 27, 29]))
        fields = (*good.fields, "surplus")[:width]
        return Row(fields=fields + (None,) * (len(TRANSACTION_COLUMNS) - width), valid=False)
    corruption = CORRUPTIONS[draw(st.sampled_from(sorted(CORRUPTIONS)))]
    row = dict(zip(TRANSACTION_COLUMNS, good.fields, strict=True)) | corruption
    return Row(fields=tuple(row[column] for column in TRANSACTION_COLUMNS), valid=False)


@st.composite
def exports(draw: st.DrawFn) -> list[Row]:
    rows = draw(st.lists(st.one_of(good_rows(), bad_rows()), max_size=25))
    repeats = draw(st.lists(st.integers(min_value=0, max_value=max(len(rows) - 1, 0)), max_size=4))
    for index in repeats if rows else []:
        rows.insert(draw(st.integers(min_value=0, max_value=len(rows))), rows[index])
    return rows


def _write(path: Path, rows: list[Row]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TRANSACTION_COLUMNS)
    for row in rows:
        width = len(row.fields) - row.fields.count(None) if None in row.fields else len(row.fields)
        writer.writerow(row.fields[:width])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")


@dataclass
class Expected:
    loaded: dict[str, Row]
    quarantined: int
    collapsed: int


def _expected(rows: list[Row]) -> Expected:
    """Identical repeats of an ID collapse; an ID with different contents loads no copy."""
    seen: set[tuple] = set()
    kept: list[Row] = []
    collapsed = 0
    for row in rows:
        key = (row.transaction_id, row.fields)
        if row.transaction_id is not None and key in seen:
            collapsed += 1
            continue
        seen.add(key)
        kept.append(row)
    per_id: dict[str | None, int] = defaultdict(int)
    for row in kept:
        per_id[row.transaction_id] += 1
    loaded = {
        row.transaction_id: row
        for row in kept
        if row.valid and row.transaction_id is not None and per_id[row.transaction_id] == 1
    }
    return Expected(loaded=loaded, quarantined=len(kept) - len(loaded), collapsed=collapsed)


_WAREHOUSE = Path(tempfile.mkdtemp(prefix="starhouse-property-"))
_URL = f"sqlite:///{_WAREHOUSE / 'warehouse.db'}"


def _warehouse() -> str:
    if not (_WAREHOUSE / "warehouse.db").exists():
        engine = create_warehouse_engine(_URL)
        upgrade_database(engine)
        engine.dispose()
    return _URL


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=exports())
def test_every_row_is_accounted_for_and_money_reconciles_exactly(rows: list[Row]) -> None:
    url = _warehouse()
    path = _WAREHOUSE / "export.csv"
    _write(path, rows)
    expected = _expected(rows)

    result = run_job(url, path, max_quarantine_share=1.0)

    assert result.success
    assert all(check_results(result).values()), check_results(result)
    validated = materialization_metadata(result, "validated_transactions")
    loaded = materialization_metadata(result, "loaded_transactions")
    assert validated["rows_read"] == len(rows)
    assert validated["quarantined"] == expected.quarantined
    assert validated["duplicates_collapsed"] == expected.collapsed
    # One warehouse serves every example: rows an earlier example loaded are held unchanged.
    assert validated["valid"] + validated["unchanged"] == len(expected.loaded)
    written = loaded["loaded new"] + loaded["updated"]
    assert written + loaded["unchanged"] == len(expected.loaded)
    assert len(rows) == written + loaded["unchanged"] + expected.quarantined + expected.collapsed

    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in expected.loaded.values():
        totals[row.kind] += row.amount
    engine = create_warehouse_engine(url)
    with engine.connect() as connection:
        held = connection.execute(
            sa.select(
                transactions.c.transaction_type,
                transactions.c.status,
                transactions.c.currency,
                transactions.c.amount,
            ).where(transactions.c.external_transaction_id.in_(list(expected.loaded)))
        ).all()
    engine.dispose()
    in_warehouse: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for kind_type, status, currency, amount in held:
        in_warehouse[(kind_type, status, currency)] += amount
    assert len(held) == len(expected.loaded)
    assert in_warehouse == totals
