"""The pipeline fits a StarHouse database that already exists, with other systems' data."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import current_revision, upgrade_database
from starhouse_pipeline_tests.support import check_results, export_row, run_import, write_export

# A plausible pre-existing schema: PostgreSQL enums, SERIAL ids, columns of its own, no
# defaults on created_at, and rows from Ticket Tailor and from the old one-off script.
EXISTING_POSTGRES_SCHEMA = """
CREATE TYPE transaction_kind AS ENUM ('purchase', 'subscription', 'refund', 'adjustment');
CREATE TYPE transaction_state AS ENUM ('completed', 'failed', 'pending');
CREATE TABLE contacts (
    id SERIAL PRIMARY KEY, email VARCHAR(320) NOT NULL UNIQUE, first_name TEXT, last_name TEXT,
    phone TEXT, phone_source TEXT, address_line_1 TEXT, address_line_2 TEXT, city TEXT,
    state TEXT, postal_code TEXT, country TEXT, billing_address_source TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    deleted_at TIMESTAMPTZ, tags TEXT[] DEFAULT '{}', lifetime_value NUMERIC(12,2)
);
CREATE TABLE products (
    id SERIAL PRIMARY KEY, name TEXT NOT NULL, kajabi_offer_id TEXT UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    active BOOLEAN NOT NULL DEFAULT true
);
CREATE TABLE transactions (
    id SERIAL PRIMARY KEY, contact_id INTEGER REFERENCES contacts(id),
    product_id INTEGER REFERENCES products(id), source_system TEXT NOT NULL,
    external_transaction_id TEXT, external_order_id TEXT, transaction_date TIMESTAMPTZ,
    transaction_type transaction_kind NOT NULL, status transaction_state NOT NULL,
    amount NUMERIC(10,2) NOT NULL, currency CHAR(3) NOT NULL, payment_method TEXT,
    payment_processor TEXT, raw_source JSONB, created_at TIMESTAMPTZ NOT NULL,
    notes TEXT, UNIQUE (source_system, external_transaction_id)
);
INSERT INTO contacts (email, first_name, phone, phone_source)
    VALUES ('Ann@Example.com', 'Ann', '720-555-0000', 'ticket_tailor');
INSERT INTO products (name, kajabi_offer_id) VALUES ('Full Moon Gathering', NULL);
INSERT INTO transactions (contact_id, product_id, source_system, external_transaction_id,
    transaction_date, transaction_type, status, amount, currency, created_at, notes)
VALUES
    (1, 1, 'ticket_tailor', 'tt-1', '2025-01-05 18:00+00', 'purchase', 'completed', 35.00,
     'USD', '2025-01-05 18:00+00', 'door sale'),
    (1, NULL, 'kajabi', '1001', '2025-11-08 11:11+00', 'subscription', 'completed', 22.00,
     'USD', '2025-11-09 00:00+00', 'old script');
"""


@pytest.fixture
def existing_postgres(postgres_database: str) -> str:
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS starhouse CASCADE"))
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
        connection.exec_driver_sql(EXISTING_POSTGRES_SCHEMA)
    engine.dispose()
    return postgres_database


@pytest.mark.postgres
def test_migration_and_import_fit_an_existing_database(existing_postgres: str, tmp_path: Path):
    engine = create_warehouse_engine(existing_postgres)
    upgrade_database(engine)
    upgrade_database(engine)  # applying it again is a no-op
    assert current_revision(engine) is not None

    rows = [
        export_row(ID="1001", Customer_Email="ann@example.com", Phone="303-555-0101"),
        export_row(ID="1002", Type="refund", Amount="-22.00", Customer_Email="new@example.net"),
    ]
    result = run_import(existing_postgres, write_export(tmp_path / "export.csv", rows))

    assert result.success
    assert all(check_results(result).values())
    with engine.connect() as connection:
        ticket = connection.execute(
            sa.text("SELECT amount, notes FROM transactions WHERE external_transaction_id = 'tt-1'")
        ).one()
        old = connection.execute(
            sa.text(
                "SELECT id, notes, raw_source->>'ID' AS raw_id, product_id, source_row_hash "
                "FROM transactions WHERE external_transaction_id = '1001'"
            )
        ).one()
        ann = connection.execute(sa.text("SELECT phone, tags FROM contacts WHERE id = 1")).one()
        refund = connection.execute(
            sa.text(
                "SELECT amount, created_at FROM transactions WHERE external_transaction_id = '1002'"
            )
        ).one()
    engine.dispose()
    assert ticket == (Decimal("35.00"), "door sale")
    assert (old.id, old.notes, old.raw_id) == (2, "old script", "1001")
    assert old.product_id is not None
    assert old.source_row_hash is not None
    assert ann == ("720-555-0000", [])
    assert refund.amount == Decimal("-22.00")
    assert refund.created_at <= datetime.now(UTC)


def test_migration_names_the_ids_when_existing_contacts_share_an_email(sqlite_url: str):
    engine = sa.create_engine(sqlite_url.replace("warehouse.db", "existing.db"))
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL, "
            "first_name TEXT, created_at TEXT, updated_at TEXT)"
        )
        connection.exec_driver_sql(
            "INSERT INTO contacts (id, email) VALUES "
            "(7, 'ann@example.com'), (9, ' ANN@example.com'), (10, 'bob@example.com')"
        )
    with pytest.raises(RuntimeError, match=r"contacts has rows sharing .* ids 7\.\.9") as error:
        upgrade_database(create_warehouse_engine(engine.url))
    assert "ann@example.com" not in str(error.value).lower()


# Another system's CRM state, written on SQLite with plain SQL in dollars: 100 Ticket Tailor
# sales of 1143.09 (114309.00 in all) and a failed one, which is no revenue.
PLAIN_SQL_CRM_STATE = """
INSERT INTO contacts (id, email, first_name) VALUES (1, 'ann@example.com', 'Ann');
INSERT INTO products (id, name) VALUES (1, 'Full Moon Gathering');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO transactions (contact_id, product_id, source_system, external_transaction_id,
    transaction_date, transaction_type, status, amount, currency)
SELECT 1, 1, 'ticket_tailor', 'tt-' || i, '2025-01-05 18:00:00', 'purchase', 'completed',
    1143.09, 'USD' FROM n;
INSERT INTO transactions (contact_id, product_id, source_system, external_transaction_id,
    transaction_date, transaction_type, status, amount, currency)
VALUES (1, 1, 'ticket_tailor', 'tt-failed', '2025-01-06 18:00:00', 'purchase', 'failed',
    35.00, 'USD');
"""


def test_a_crm_state_written_with_plain_sql_is_reported_in_dollars(sqlite_url: str, tmp_path: Path):
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        for statement in PLAIN_SQL_CRM_STATE.split(";")[:-1]:
            connection.exec_driver_sql(statement)
    rows = [
        export_row(ID="1001", Amount="22.50"),
        export_row(ID="1002", Type="charge", Amount="297.05", Offer_ID="77", Offer_Title="Course"),
        export_row(ID="1003", Type="refund", Amount="-22.50"),
        export_row(ID="1004", Status="failed", Amount="22.50", Charge_Attempt="1"),
    ]
    reports = tmp_path / "reports"

    result = run_import(
        sqlite_url, write_export(tmp_path / "export.csv", rows), reports_dir=reports
    )

    assert result.success
    assert all(check_results(result).values()), check_results(result)
    report = (reports / "latest.md").read_text(encoding="utf-8")
    totals = report.split("## Database totals per source system")[1].split("##")[0]
    assert "| kajabi | 0 | 4 | USD 0.00 | USD 297.05 |" in totals
    assert "| ticket_tailor | 101 | 101 | USD 114,309.00 | USD 114,309.00 |" in totals
    with engine.connect() as connection:
        kajabi_sum = connection.exec_driver_sql(
            "SELECT SUM(amount) FROM transactions WHERE source_system = 'kajabi'"
        ).scalar_one()
        ticket_tailor_sum = connection.exec_driver_sql(
            "SELECT SUM(amount) FROM transactions "
            "WHERE source_system = 'ticket_tailor' AND status = 'completed'"
        ).scalar_one()
    engine.dispose()
    assert round(kajabi_sum, 2) == 319.55
    assert round(ticket_tailor_sum, 2) == 114309.00
