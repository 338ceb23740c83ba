"""Fault-test helpers: a realistic export, a seeded CRM, and the warehouse's contents by
natural keys (ids and run ids differ between runs and dialects; the business content may not).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from starhouse_pipeline.settings import PROJECT_ROOT
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.locks import WAREHOUSE_WRITE_LOCK_KEY
from starhouse_pipeline.warehouse.tables import (
    contact_enrichment_log,
    contacts,
    products,
    quarantined_rows,
    transactions,
)
from starhouse_pipeline_tests.support import export_row, insert_rows, write_export

SEEDED_AT = datetime(2024, 1, 1, tzinfo=UTC)
IDS = range(1, 601)


def seed_crm(url: str, customers: int = 40) -> None:
    """Existing contacts for half the customers (empty phone and address: enrichable)."""
    insert_rows(
        url,
        contacts,
        [
            {"id": n + 1, "email": f"Customer{n}@Example.com", "created_at": SEEDED_AT}
            for n in range(0, customers, 2)
        ],
    )
    insert_rows(
        url,
        products,
        [{"id": 1, "name": "Offer 0", "kajabi_offer_id": "500", "created_at": SEEDED_AT}],
    )


def make_export(
    path: Path, ids: range, customers: int = 40, offers: int = 12, bad_every: int = 25
) -> Path:
    """Rows of `ids`; each customer always has the same billing data, whatever the export."""
    rows = []
    for n in ids:
        customer = n % customers
        row = export_row(
            ID=str(n),
            Amount=f"{(n % 500) + 1}.{n % 100:02d}",
            Type=("charge", "subscription", "payment plan")[n % 3],
            Status=("succeeded", "succeeded", "failed", "pending")[n % 4],
            Offer_ID=str(500 + n % offers),
            Offer_Title=f"Offer {n % offers}",
            Customer_Name=f"Customer {customer}",
            Customer_Email=f"customer{customer}@example.com",
            Phone=f"303-555-{customer:04d}",
            Address=f"{customer} Main St",
            City="Boulder",
        )
        if n % bad_every == 0:
            row["Type"] = "gift"
        rows.append(row)
    return write_export(path, rows)


def _rows(url: str, query: sa.Select) -> list[tuple]:
    engine = create_warehouse_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    engine.dispose()
    return sorted(tuple(_plain(value) for value in row) for row in rows)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return None if value is None else str(value)


def warehouse_contents(url: str) -> dict[str, list[tuple]]:
    """Every table the import writes, keyed by business identity, without surrogate ids."""
    email = sa.func.lower(sa.func.trim(contacts.c.email))
    enriched = sa.select(contacts.c.id, email.label("email")).subquery()
    offer = sa.select(products.c.id, products.c.kajabi_offer_id).subquery()
    customer = sa.select(contacts.c.id, email.label("email")).subquery()
    return {
        "contacts": _rows(
            url,
            sa.select(
                email,
                contacts.c.first_name,
                contacts.c.last_name,
                contacts.c.phone,
                contacts.c.phone_source,
                contacts.c.address_line_1,
                contacts.c.city,
                contacts.c.billing_address_source,
                contacts.c.source_system,
            ),
        ),
        "products": _rows(url, sa.select(products.c.kajabi_offer_id, products.c.name)),
        "transactions": _rows(
            url,
            sa.select(
                transactions.c.source_system,
                transactions.c.external_transaction_id,
                transactions.c.transaction_date,
                transactions.c.transaction_type,
                transactions.c.status,
                transactions.c.amount,
                transactions.c.currency,
                transactions.c.raw_source,
                transactions.c.source_row_hash,
                customer.c.email,
                offer.c.kajabi_offer_id,
            )
            .outerjoin(customer, customer.c.id == transactions.c.contact_id)
            .outerjoin(offer, offer.c.id == transactions.c.product_id),
        ),
        "enrichment_log": _rows(
            url,
            sa.select(
                enriched.c.email,
                contact_enrichment_log.c.field,
                contact_enrichment_log.c.value,
                contact_enrichment_log.c.source,
            ).join(enriched, enriched.c.id == contact_enrichment_log.c.contact_id),
        ),
        "open_quarantine": _rows(
            url,
            sa.select(
                quarantined_rows.c.source_file,
                quarantined_rows.c.line_number,
                quarantined_rows.c.source_row_id,
                quarantined_rows.c.rule,
            ).where(quarantined_rows.c.resolved_at.is_(None)),
        ),
    }


def count(url: str, table: sa.Table) -> int:
    return int(_rows(url, sa.select(sa.func.count()).select_from(table))[0][0])


@dataclass
class Driver:
    """An import running in its own process."""

    process: subprocess.Popen
    log: Path

    def wait_for_pause(self, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            if line.startswith("PAUSED"):
                return line.strip()
        raise AssertionError(f"the import never paused; it said: {self.said()}")

    def said(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGUSR1)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def outcome(self, timeout: float = 180.0) -> dict:
        stdout, _ = self.process.communicate(timeout=timeout)
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        assert lines, self.said()
        return json.loads(lines[-1])


def start_driver(
    url: str, export: Path, *, pause_after: str | None = None, pause_seconds: float = 600.0
) -> Driver:
    command = [sys.executable, "-m", "starhouse_pipeline_tests.faults.driver", url, str(export)]
    if pause_after:
        command += ["--pause-after", pause_after, "--pause-seconds", str(pause_seconds)]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "DAGSTER_HOME": str(export.parent)}
    log = export.with_suffix(f".{time.monotonic_ns()}.log")
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    return Driver(process, log)


def waiting_on_the_write_lock(url: str, timeout: float = 30.0) -> bool:
    engine = create_warehouse_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND ((classid::bigint << 32) | objid::bigint) = :key"
                    ),
                    {"key": WAREHOUSE_WRITE_LOCK_KEY},
                ).scalar_one()
            if waiting:
                return True
            time.sleep(0.1)
        return False
    finally:
        engine.dispose()


def race_overlapping_imports(url: str, first: Path, second: Path) -> list[dict]:
    """Import `first`, paused while it holds the write lock, then `second`; once the second
    waits for the lock, let the first go on. Both outcomes, in that order."""
    holder = start_driver(url, first, pause_after="products.read_products")
    holder.wait_for_pause()
    waiter = start_driver(url, second)
    try:
        waited = waiting_on_the_write_lock(url, timeout=60)
    finally:
        holder.resume()
    assert waited, "the second import did not wait for the first"
    return [holder.outcome(), waiter.outcome()]
