"""Two imports at once on PostgreSQL, in real processes: serialized writes, nothing lost.

Every writing transaction takes the warehouse advisory lock first, so the second import
waits at its next write and then plans against what the first committed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline.warehouse.tables import contact_enrichment_log, contacts, products
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.faults.state import (
    make_export,
    race_overlapping_imports,
    seed_crm,
    warehouse_contents,
)
from starhouse_pipeline_tests.support import fetch_all

pytestmark = pytest.mark.postgres

FIRST, SECOND = range(1, 301), range(151, 451)


def _sequential(tmp_path: Path, exports: list[Path]) -> dict[str, list[tuple]]:
    url = f"sqlite:///{tmp_path / 'sequential.db'}"
    engine = create_warehouse_engine(url)
    upgrade_database(engine)
    engine.dispose()
    seed_crm(url)
    for export in exports:
        assert run_job(url, export, max_quarantine_share=1.0).success
    return _order_free(warehouse_contents(url))


def _order_free(contents: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Which file's run quarantined an ID depends on the order; that it is open does not."""
    open_rows = sorted((row[2], row[3]) for row in contents.pop("open_quarantine"))
    return {**contents, "open_quarantine": open_rows}


def test_concurrent_overlapping_imports_serialize_and_lose_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    """Half of each export is in the other: the same transactions, customers and offers."""
    seed_crm(postgres_url)
    first = make_export(tmp_path / "first.csv", FIRST)
    second = make_export(tmp_path / "second.csv", SECOND)

    outcomes = race_overlapping_imports(postgres_url, first, second)

    for outcome in outcomes:
        assert outcome["success"], outcome
        assert all(outcome["checks"].values()), outcome["checks"]
    emails = fetch_all(postgres_url, sa.select(sa.func.lower(sa.func.trim(contacts.c.email))))
    assert len(emails) == len(set(emails))
    offers = fetch_all(postgres_url, sa.select(products.c.kajabi_offer_id))
    assert len(offers) == len(set(offers))
    fills = fetch_all(
        postgres_url,
        sa.select(contact_enrichment_log.c.contact_id, contact_enrichment_log.c.field),
    )
    assert fills
    assert len(fills) == len(set(fills))
    expected = _sequential(tmp_path, [first, second])
    assert _order_free(warehouse_contents(postgres_url)) == expected
