"""Migration 0004: an embedded warehouse that stored integer cents is converted to dollars."""

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from starhouse_pipeline.warehouse import transactions
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import alembic_config, current_revision, upgrade_database
from starhouse_pipeline.warehouse.tables import metadata
from starhouse_pipeline.warehouse.types import Money, UtcDateTime
from starhouse_pipeline_tests.support import check_results, export_row, run_import, write_export

# What the old type wrote for a Kajabi row of 22.00 and Ticket Tailor rows of 35.00 and
# 1143.09, and for every other money column (a different number of cents for each).
_TRANSACTIONS_IN_CENTS = """
INSERT INTO transactions (contact_id, product_id, source_system, external_transaction_id,
    transaction_date, transaction_type, status, amount, currency, import_run_id)
VALUES
    (1, 1, 'kajabi', '1001', '2025-11-08 11:11:00', 'subscription', 'completed', 2200, 'USD',
     'an-old-run'),
    (1, 1, 'ticket_tailor', 'tt-1', '2025-01-05 18:00:00', 'purchase', 'completed', 3500,
     'USD', NULL),
    (1, 1, 'ticket_tailor', 'tt-2', '2025-01-06 18:00:00', 'purchase', 'completed', 114309,
     'USD', NULL)
"""


@pytest.fixture
def engine_at_0002(tmp_path: Path) -> sa.Engine:
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'cents.db'}")
    upgrade_database(engine, "0002")
    yield engine
    engine.dispose()


def _insert_crm_in_cents(connection: sa.Connection, transactions_sql: str) -> None:
    connection.exec_driver_sql("INSERT INTO contacts (id, email) VALUES (1, 'ann@example.com')")
    connection.exec_driver_sql("INSERT INTO products (id, name) VALUES (1, 'Membership')")
    connection.exec_driver_sql(transactions_sql)


# Unqualified names: the pipeline's tables are declared in its own schema.
_TABLES_BY_NAME = {table.name: table for table in metadata.sorted_tables}


def _money_columns_at_0002(connection: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(connection)
    found = {}
    for table in metadata.sorted_tables:
        if table.name == "transactions" or table.name not in inspector.get_table_names():
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        money = [c.name for c in table.columns if isinstance(c.type, Money) and c.name in present]
        if money:
            found[table.name] = money
    return found


def _plain_value(column: sa.Column, cents: int) -> object:
    """Something valid for a required column, as another tool would write it."""
    if isinstance(column.type, Money):
        return cents
    if isinstance(column.type, UtcDateTime):
        return "2025-01-01 00:00:00"
    if isinstance(column.type, sa.Date):
        return "2025-01-01"
    if isinstance(column.type, (sa.Integer, sa.Float)):
        return 1
    if isinstance(column.type, sa.JSON):
        return "{}"
    return f"text-{cents}"


def _insert_cents(connection: sa.Connection, table: sa.Table, cents: int, nulls: bool) -> None:
    """One row with `cents` (or NULL where nullable and `nulls`) in every money column."""
    values = {}
    for column in table.columns:
        if column.primary_key and column.name == "id":
            continue
        if isinstance(column.type, Money) and column.nullable and nulls:
            values[column.name] = None
        elif isinstance(column.type, Money) or not column.nullable:
            values[column.name] = _plain_value(column, cents)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})", tuple(values.values())
    )


def test_a_cents_warehouse_becomes_dollars_and_imports_after(engine_at_0002, tmp_path):
    engine = engine_at_0002
    with engine.begin() as connection:
        _insert_crm_in_cents(connection, _TRANSACTIONS_IN_CENTS)
        money_columns = _money_columns_at_0002(connection)
        for table_name in money_columns:
            _insert_cents(connection, _TABLES_BY_NAME[table_name], 2205, nulls=False)
            _insert_cents(connection, _TABLES_BY_NAME[table_name], -1, nulls=True)

    upgrade_database(engine)

    assert current_revision(engine) == "0006"
    assert "analytics_mrr_monthly" in money_columns
    assert "kajabi_subscriptions" in money_columns
    with engine.connect() as connection:
        amounts = connection.exec_driver_sql(
            "SELECT external_transaction_id, amount FROM transactions ORDER BY id"
        ).all()
        for table_name, columns in money_columns.items():
            table = _TABLES_BY_NAME[table_name]
            stored = connection.exec_driver_sql(
                f"SELECT {', '.join(columns)} FROM {table_name} ORDER BY rowid"
            ).all()
            nullable = [table.c[column].nullable for column in columns]
            assert stored == [
                tuple(22.05 for _ in columns),
                tuple(None if null else -0.01 for null in nullable),
            ], table_name
            first = sa.select(*(table.c[c] for c in columns)).order_by(sa.literal_column("rowid"))
            read = connection.execute(first).first()
            assert set(read) == {Decimal("22.05")}, table_name
    assert amounts == [("1001", 22), ("tt-1", 35), ("tt-2", 1143.09)]

    rows = [
        export_row(ID="1001", Amount="22.00"),
        export_row(ID="1002", Type="refund", Amount="-22.00", Customer_Email="new@example.net"),
    ]
    result = run_import(engine.url.render_as_string(), write_export(tmp_path / "e.csv", rows))

    assert result.success
    assert all(check_results(result).values()), check_results(result)
    with engine.connect() as connection:
        totals = transactions.totals_by_source_system(connection)
        kajabi_sum = connection.exec_driver_sql(
            "SELECT SUM(amount) FROM transactions WHERE source_system = 'kajabi'"
        ).scalar_one()
    assert totals.rows() == [
        ("kajabi", "USD", 2, Decimal("0.00")),
        ("ticket_tailor", "USD", 2, Decimal("1178.09")),
    ]
    assert kajabi_sum == 0


def test_values_that_cannot_be_cents_stop_the_migration(engine_at_0002):
    engine = engine_at_0002
    with engine.begin() as connection:
        _insert_crm_in_cents(connection, _TRANSACTIONS_IN_CENTS.replace("114309,", "1143.09,"))

    with pytest.raises(
        RuntimeError, match=r"transactions\.amount is not whole cents in 1 row\(s\) \(rowids 3\)"
    ):
        upgrade_database(engine)

    assert current_revision(engine) == "0002"
    with engine.connect() as connection:
        amounts = connection.exec_driver_sql("SELECT amount FROM transactions ORDER BY id")
        assert amounts.scalars().all() == [2200, 3500, 1143.09]


def test_a_crm_file_adopted_by_the_same_upgrade_keeps_its_dollars(tmp_path: Path):
    """Tables this upgrade adopts or creates never held the old type's cents."""
    engine = create_warehouse_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE transactions (id INTEGER PRIMARY KEY, source_system TEXT NOT NULL, "
            "external_transaction_id TEXT, transaction_date TEXT, transaction_type TEXT "
            "NOT NULL, status TEXT NOT NULL, amount NUMERIC(10,2) NOT NULL, currency TEXT "
            "NOT NULL, created_at TEXT)"
        )
        connection.exec_driver_sql(
            "INSERT INTO transactions (source_system, external_transaction_id, "
            "transaction_type, status, amount, currency) VALUES "
            "('ticket_tailor', 'tt-1', 'purchase', 'completed', 35.00, 'USD'), "
            "('ticket_tailor', 'tt-2', 'purchase', 'completed', 1143.09, 'USD')"
        )

    upgrade_database(engine)

    assert current_revision(engine) == "0006"
    with engine.connect() as connection:
        amounts = connection.exec_driver_sql("SELECT amount FROM transactions ORDER BY id")
        assert amounts.scalars().all() == [35, 1143.09]
    engine.dispose()


def test_downgrade_writes_cents_again(engine_at_0002):
    engine = engine_at_0002
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO transactions (source_system, external_transaction_id, "
            "transaction_type, status, amount, currency) VALUES "
            "('ticket_tailor', 'tt-1', 'purchase', 'completed', 22.05, 'USD'), "
            "('ticket_tailor', 'tt-2', 'refund', 'completed', -0.1 - 0.2, 'USD'), "
            "('ticket_tailor', 'tt-3', 'purchase', 'completed', 1143, 'USD')"
        )
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
        amounts = connection.exec_driver_sql("SELECT amount FROM transactions ORDER BY id")
        assert amounts.scalars().all() == [2205, -30, 114300]


@pytest.mark.postgres
def test_postgresql_money_is_left_as_it_is(postgres_database: str):
    reset = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with reset.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS starhouse CASCADE"))
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    reset.dispose()
    engine = create_warehouse_engine(postgres_database)
    upgrade_database(engine, "0002")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO transactions (source_system, external_transaction_id, "
            "transaction_type, status, amount, currency) VALUES "
            "('ticket_tailor', 'tt-1', 'purchase', 'completed', 1143.09, 'USD'), "
            "('ticket_tailor', 'tt-2', 'purchase', 'completed', 3500, 'USD')"
        )

    upgrade_database(engine)

    with engine.connect() as connection:
        amounts = connection.exec_driver_sql("SELECT amount FROM transactions ORDER BY id")
        assert amounts.scalars().all() == [Decimal("1143.09"), Decimal("3500.00")]
    assert current_revision(engine) == "0006"
    engine.dispose()
