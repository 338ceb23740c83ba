"""What the warehouse finds new or changed, and what it sums, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse import transactions
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline.warehouse.tables import transactions as transactions_table


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = create_warehouse_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


def _held_row(transaction_id: str, row_hash: str | None, **values: object) -> dict:
    return {
        "source_system": "kajabi",
        "external_transaction_id": transaction_id,
        "transaction_type": "purchase",
        "status": "completed",
        "amount": Decimal("10.00"),
        "currency": "USD",
        "source_row_hash": row_hash,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        **values,
    }


def test_only_keys_of_rows_to_write_come_back(engine: sa.Engine):
    with engine.begin() as connection:
        connection.execute(
            transactions_table.insert(),
            # "3" was loaded by a tool that kept no hash: it differs, so it gains one.
            [_held_row("2", "b"), _held_row("3", None), _held_row("4", "old")],
        )
        records = pl.DataFrame(
            {
                "source_system": ["kajabi"] * 4,
                "external_transaction_id": ["1", "2", "3", "4"],
                "source_row_hash": ["a", "b", "c", "d"],
            }
        )
        found = transactions.keys_not_held_as_they_are(connection, records)

    assert found.sort("external_transaction_id").rows() == [
        ("1", False),
        ("3", True),
        ("4", True),
    ]


def test_totals_count_unlinked_rows_per_kind(engine: sa.Engine):
    with engine.begin() as connection:
        connection.execute(
            transactions_table.insert(),
            [
                _held_row("1", "a", amount=Decimal("10.10")),
                _held_row("2", "b", amount=Decimal("-3.05"), transaction_type="refund"),
                _held_row("3", "c", amount=Decimal("0.20")),
                _held_row("9", "z"),  # not in the export: never counted
            ],
        )
        keys = pl.DataFrame(
            {"external_transaction_id": ["1", "2", "3"], "offer_id": ["o", None, "o"]}
        )
        staged = transactions.stage_export_keys(connection, keys)
        totals = transactions.totals_for_staged(connection, staged)
        examples = transactions.unlinked_examples(connection, staged)

    assert totals.rows() == [
        ("purchase", "completed", "USD", 2, Decimal("10.30"), 2, 2),
        ("refund", "completed", "USD", 1, Decimal("-3.05"), 1, 0),
    ]
    assert examples == ["1", "2", "3"]
