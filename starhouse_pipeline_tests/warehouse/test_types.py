"""Money is dollars on every database, and its totals are exact, on SQLite and PostgreSQL."""

import random
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse import analytics, transactions
from starhouse_pipeline.warehouse.analytics_tables import revenue_monthly
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.staging import copy_rows
from starhouse_pipeline.warehouse.tables import metadata
from starhouse_pipeline.warehouse.tables import transactions as transactions_table
from starhouse_pipeline.warehouse.types import Money, money_sum

_CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> sa.Engine:
    engine = create_warehouse_engine(database_url)
    yield engine
    engine.dispose()


def _row(transaction_id: str, amount: Decimal, **values: object) -> dict:
    return {
        "source_system": "kajabi",
        "external_transaction_id": transaction_id,
        "transaction_type": "purchase",
        "status": "completed",
        "amount": amount,
        "currency": "USD",
        "created_at": _CREATED,
        **values,
    }


def _amounts(connection: sa.Connection) -> list[Decimal]:
    query = sa.select(transactions_table.c.amount).order_by(transactions_table.c.id)
    return list(connection.execute(query).scalars())


def test_every_money_column_is_declared_numeric_on_sqlite(sqlite_url: str):
    engine = create_warehouse_engine(sqlite_url)
    with engine.connect() as connection:
        declared = {
            (table.name, column.name): connection.exec_driver_sql(
                f"SELECT type FROM pragma_table_info('{table.name}') WHERE name = ?",
                (column.name,),
            ).scalar_one()
            for table in metadata.sorted_tables
            for column in table.columns
            if isinstance(column.type, Money)
        }
    engine.dispose()
    assert ("transactions", "amount") in declared
    assert ("analytics_mrr_monthly", "ltv") in declared
    assert set(declared.values()) == {"NUMERIC(12, 2)"}


def test_sqlite_stores_dollars_the_same_way_row_by_row_and_in_bulk(sqlite_url: str):
    shown = [Decimal(text) for text in ("22.00", "22.50", "22.05", "-3.05", "0.10", "0.00")]
    cents = [
        *range(-10_000, 10_001),
        *(random.Random(11).randrange(1 - 10**12, 10**12) for _ in range(5_000)),
    ]
    amounts = shown + [Decimal(c).scaleb(-2) for c in cents]
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(
            transactions_table.insert(),
            [_row(f"row-{i}", amount) for i, amount in enumerate(amounts)],
        )
        bulk = pl.DataFrame(
            [_row(f"bulk-{i}", amount) for i, amount in enumerate(amounts)],
            schema_overrides={"amount": pl.Decimal(12, 2)},
        )
        copy_rows(connection, transactions_table, bulk)
        stored = connection.exec_driver_sql(
            "SELECT amount, typeof(amount) FROM transactions ORDER BY id"
        ).all()
        read = _amounts(connection)
    engine.dispose()

    by_row, in_bulk = stored[: len(amounts)], stored[len(amounts) :]
    assert by_row[: len(shown)] == [
        (22, "integer"),
        (22.5, "real"),
        (22.05, "real"),
        (-3.05, "real"),
        (0.1, "real"),
        (0, "integer"),
    ]
    assert [(float(amount), kind) for amount, kind in by_row] == [
        (float(amount), "integer" if amount == amount.to_integral() else "real")
        for amount in amounts
    ]
    assert in_bulk == by_row
    assert read == amounts * 2
    assert [str(value) for value in read[: len(shown)]] == [str(amount) for amount in shown]


def test_sqlite_reads_every_cent_back_exactly(sqlite_url: str):
    cents = [*range(-20_000, 20_001), 999_999_999_999, -999_999_999_999, 123_456_789_01]
    amounts = [Decimal(c).scaleb(-2) for c in cents]
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(
            transactions_table.insert(),
            [_row(str(i), amount) for i, amount in enumerate(amounts)],
        )
        read = _amounts(connection)
    engine.dispose()
    assert read == amounts


def test_sqlite_reads_floats_other_tools_wrote_as_whole_cents(sqlite_url: str):
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO transactions (source_system, external_transaction_id, "
            "transaction_type, status, amount, currency) VALUES "
            "('paypal', 'a', 'purchase', 'completed', 1143.09, 'USD'), "
            "('paypal', 'b', 'purchase', 'completed', 0.1 + 0.2, 'USD'), "
            "('paypal', 'c', 'refund', 'completed', -0.1 - 0.2, 'USD'), "
            "('paypal', 'd', 'purchase', 'completed', '22.05', 'USD'), "
            "('paypal', 'e', 'purchase', 'completed', 20.00, 'USD')"
        )
        read = [str(value) for value in _amounts(connection)]
    engine.dispose()
    assert read == ["1143.09", "0.30", "-0.30", "22.05", "20.00"]


def test_money_sums_are_exact_where_float_sums_are_not(engine: sa.Engine):
    """Kajabi: 1,000 x 0.10 and 7 x 0.20; Ticket Tailor: amounts so large that a float can
    no longer hold their total's cents. Every warehouse sum equals the Decimal sum."""
    kajabi = [Decimal("0.10")] * 1_000 + [Decimal("0.20")] * 7
    ticket_tailor = [Decimal("9999999999.99")] * 10_000 + [Decimal("0.01")]
    expected = {"kajabi": sum(kajabi), "ticket_tailor": sum(ticket_tailor)}
    assert expected == {"kajabi": Decimal("101.40"), "ticket_tailor": Decimal("99999999999900.01")}
    for amounts, total in (
        (kajabi, expected["kajabi"]),
        (ticket_tailor, expected["ticket_tailor"]),
    ):
        assert sum(float(amount) for amount in amounts) != float(total)

    rows = [_row(f"k{i}", amount) for i, amount in enumerate(kajabi)]
    rows += [
        _row(f"t{i}", amount, source_system="ticket_tailor", currency="EUR")
        for i, amount in enumerate(ticket_tailor)
    ]
    net = [
        {"month": datetime(2026, 1, 1).date(), "currency": row["currency"], "net": row["amount"]}
        | {"source_system": row["source_system"]}
        for row in rows
    ]
    with engine.begin() as connection:
        connection.execute(transactions_table.insert(), rows)
        connection.execute(revenue_monthly.insert(), net)
        summed = dict(
            connection.execute(
                sa.select(
                    transactions_table.c.source_system, money_sum(transactions_table.c.amount)
                ).group_by(transactions_table.c.source_system)
            ).all()
        )
        by_system = transactions.totals_by_source_system(connection)
        revenue = analytics.completed_revenue_by_currency(connection)
        metric_net = analytics.metric_net_by_currency(connection, revenue_monthly)
        staged = transactions.stage_export_keys(
            connection,
            pl.DataFrame(
                {
                    "external_transaction_id": [row["external_transaction_id"] for row in rows],
                    "offer_id": [None] * len(rows),
                },
                schema={"external_transaction_id": pl.String, "offer_id": pl.String},
            ),
        )
        # Only the Kajabi rows are in the staged export's source system.
        staged_totals = transactions.totals_for_staged(connection, staged)

    assert summed == expected
    assert dict(by_system.select("source_system", "revenue").rows()) == expected
    by_currency = {"USD": expected["kajabi"], "EUR": expected["ticket_tailor"]}
    assert revenue == by_currency
    assert metric_net == by_currency
    assert staged_totals.select("amount").rows() == [(expected["kajabi"],)]
