"""The real-CRM fixture behaves like the operator's production database, and its diff sees.

Each test provokes one rule of that database (or one kind of change for the diff) and checks
that the named constraint, index, trigger or diff entry is what answers, so a fixture that
drifted from CONTEXT.md fails here before it misleads a pipeline test.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from starhouse_pipeline.settings import SAMPLE_EXPORT
from starhouse_pipeline_tests.warehouse.real_crm import (
    OPERATOR_TABLES,
    PIPELINE_SCHEMA,
    build_real_crm,
    changes,
    crm_snapshot,
)

pytestmark = pytest.mark.postgres

# The contract columns of CONTEXT.md, "The database the pipeline must fit".
CONTRACT_COLUMNS = {
    "contacts": {
        "id", "email", "first_name", "last_name", "phone", "phone_source", "address_line_1",
        "address_line_2", "city", "state", "postal_code", "country", "billing_address_source",
        "created_at", "updated_at", "deleted_at",
    },
    "products": {"id", "name", "kajabi_offer_id", "created_at", "updated_at"},
    "transactions": {
        "id", "contact_id", "product_id", "source_system", "external_transaction_id",
        "external_order_id", "transaction_date", "transaction_type", "status", "amount",
        "currency", "payment_method", "payment_processor", "raw_source", "created_at",
    },
}  # fmt: skip

_ANN = "SELECT id FROM contacts WHERE email = 'ann.lee@example.com'"
_NEW_TRANSACTION = f"""
INSERT INTO transactions (contact_id, source_system, external_transaction_id,
    transaction_date, transaction_type, status, amount)
VALUES (({_ANN}), :source, :external_id, '2025-11-08 11:11:00+00', :type, 'completed', :amount)
"""


@pytest.fixture
def crm(real_crm_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(real_crm_url)
    yield engine
    engine.dispose()


def _refusal(engine: sa.Engine, sql: str, **params: object) -> psycopg.Error:
    """The driver's error for a statement the database must refuse."""
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as connection:
        connection.execute(sa.text(sql), params)
    return caught.value.orig


def _violates(error: psycopg.Error, kind: type[psycopg.Error], constraint: str) -> bool:
    return isinstance(error, kind) and error.diag.constraint_name == constraint


def test_the_contract_columns_are_there_beside_other_systems_columns(crm: sa.Engine):
    inspector = sa.inspect(crm)
    for table, contract in CONTRACT_COLUMNS.items():
        assert contract <= {column["name"] for column in inspector.get_columns(table)}
    contact_columns = {column["name"] for column in inspector.get_columns("contacts")}
    assert {"source_system", "kajabi_id", "kajabi_member_id", "zoho_id", "notes"} <= (
        contact_columns
    )


def test_keys_are_uuids_generated_by_the_database(crm: sa.Engine):
    with crm.begin() as connection:
        key_types = connection.execute(
            sa.text(
                "SELECT table_name || '.' || column_name, data_type"
                " FROM information_schema.columns WHERE table_schema = 'public'"
                " AND (column_name = 'id' OR column_name LIKE '%\\_id' ESCAPE '\\')"
                " AND data_type = 'uuid'"
            )
        ).all()
        created = connection.execute(
            sa.text("INSERT INTO contacts (email) VALUES ('new@example.net') RETURNING id")
        ).scalar_one()
    assert {f"{table}.id" for table in OPERATOR_TABLES} | {
        "transactions.contact_id",
        "transactions.product_id",
        "transactions.subscription_id",
        "subscriptions.contact_id",
        "subscriptions.product_id",
    } <= {name for name, _ in key_types}
    assert uuid.UUID(str(created)).version == 4
    defaults = crm_snapshot(crm.url.render_as_string(hide_password=False)).columns
    assert {defaults[f"{table}.id"].default for table in OPERATOR_TABLES} == {"uuid_generate_v4()"}


@pytest.mark.parametrize("email", ["not-an-email", " ann@example.com", "ann@example"])
def test_the_email_check_refuses_what_is_not_a_trimmed_address(crm: sa.Engine, email: str):
    error = _refusal(crm, "INSERT INTO contacts (email) VALUES (:email)", email=email)
    assert _violates(error, psycopg.errors.CheckViolation, "contacts_email_check")


def test_citext_makes_an_email_in_other_case_collide_with_the_seed(crm: sa.Engine):
    with crm.connect() as connection:
        seed = connection.execute(
            sa.text("SELECT email::text FROM contacts WHERE email = 'ann.lee@example.com'")
        ).scalar_one()
    assert seed == "Ann.Lee@Example.com"
    error = _refusal(crm, "INSERT INTO contacts (email) VALUES ('ANN.LEE@example.com')")
    assert _violates(error, psycopg.errors.UniqueViolation, "contacts_email_key")


@pytest.mark.parametrize(("kind", "amount"), [("refund", "22.00"), ("purchase", "-22.00")])
def test_the_amount_sign_follows_the_transaction_type(crm: sa.Engine, kind: str, amount: str):
    error = _refusal(
        crm, _NEW_TRANSACTION, source="kajabi", external_id="1001", type=kind, amount=amount
    )
    assert _violates(error, psycopg.errors.CheckViolation, "transactions_amount_sign_check")


def test_an_unknown_source_system_is_refused_on_contacts_and_transactions(crm: sa.Engine):
    contact = _refusal(
        crm, "INSERT INTO contacts (email, source_system) VALUES ('x@example.com', 'stripe')"
    )
    transaction = _refusal(
        crm, _NEW_TRANSACTION, source="stripe", external_id="1001", type="purchase", amount="1"
    )
    assert _violates(contact, psycopg.errors.CheckViolation, "contacts_source_system_check")
    assert _violates(transaction, psycopg.errors.CheckViolation, "transactions_source_system_check")


def test_a_product_differing_in_case_and_surrounding_spaces_is_refused(crm: sa.Engine):
    error = _refusal(crm, "INSERT INTO products (name) VALUES ('  ANNUAL membership ')")
    assert _violates(error, psycopg.errors.UniqueViolation, "idx_products_name_norm")


def test_the_database_does_not_collapse_inner_spaces_of_product_names(crm: sa.Engine):
    """lower(trim()) only: the export's 'Birth Chart  Intensive ' gets past the index."""
    with crm.begin() as connection:
        name_norm = connection.execute(
            sa.text(
                "INSERT INTO products (name) VALUES ('Birth Chart  Intensive ') RETURNING name_norm"
            )
        ).scalar_one()
    assert name_norm == "birth chart  intensive"


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO products (name, name_norm) VALUES ('Solar Return', 'solar return')",
        "UPDATE products SET name_norm = 'annual membership' WHERE kajabi_offer_id = '2148020969'",
    ],
)
def test_name_norm_is_generated_and_cannot_be_written(crm: sa.Engine, statement: str):
    error = _refusal(crm, statement)
    assert isinstance(error, psycopg.errors.GeneratedAlways)


def test_transactions_are_unique_by_source_and_external_id_only_where_there_is_one(
    crm: sa.Engine,
):
    with crm.connect() as connection:
        definition = connection.execute(
            sa.text(
                "SELECT indexdef FROM pg_indexes"
                " WHERE tablename = 'transactions' AND indexname = :name"
            ),
            {"name": "idx_transactions_source_external_id"},
        ).scalar_one()
        unique_constraints = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_constraint"
                " WHERE conrelid = 'transactions'::regclass AND contype = 'u'"
            )
        ).scalar_one()
    assert definition.startswith("CREATE UNIQUE INDEX")
    predicate = (
        "(source_system, external_transaction_id) WHERE (external_transaction_id IS NOT NULL)"
    )
    assert definition.endswith(predicate)
    assert unique_constraints == 0
    seeded = {"source": "ticket_tailor", "external_id": "or_51061916", "type": "purchase"}
    duplicate = _refusal(crm, _NEW_TRANSACTION, **seeded, amount="33.00")
    assert _violates(
        duplicate, psycopg.errors.UniqueViolation, "idx_transactions_source_external_id"
    )
    # An upsert must repeat the predicate: without it ON CONFLICT finds no arbiter index.
    upsert = _NEW_TRANSACTION + " ON CONFLICT (source_system, external_transaction_id)"
    no_arbiter = _refusal(crm, upsert + " DO NOTHING", **seeded, amount="33.00")
    assert isinstance(no_arbiter, psycopg.errors.InvalidColumnReference)
    with crm.begin() as connection:
        skipped = connection.execute(
            sa.text(upsert + " WHERE external_transaction_id IS NOT NULL DO NOTHING"),
            {**seeded, "amount": "33.00"},
        ).rowcount
    assert skipped == 0


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("contacts", "notes"),
        ("products", "description"),
        ("subscriptions", "coupon_code"),
        ("transactions", "coupon_code"),
    ],
)
def test_the_updated_at_trigger_fires_on_update(crm: sa.Engine, table: str, column: str):
    with crm.begin() as connection:
        before = dict(
            connection.exec_driver_sql(f"SELECT id, updated_at FROM {table}").tuples().all()
        )
        connection.exec_driver_sql(f"UPDATE {table} SET {column} = 'touched'")
        after = dict(
            connection.exec_driver_sql(f"SELECT id, updated_at FROM {table}").tuples().all()
        )
        now = connection.exec_driver_sql("SELECT now()").scalar_one()
    assert before.keys() == after.keys()
    assert all(stamp < now for stamp in before.values())
    assert set(after.values()) == {now}


def test_row_level_security_is_on_with_a_permissive_policy_and_views_report(crm: sa.Engine):
    with crm.connect() as connection:
        secured = (
            connection.execute(
                sa.text(
                    "SELECT c.relname FROM pg_class c JOIN pg_policies p"
                    " ON p.tablename = c.relname AND p.schemaname = 'public'"
                    " WHERE c.relrowsecurity AND p.permissive = 'PERMISSIVE'"
                )
            )
            .scalars()
            .all()
        )
        revenue = connection.execute(
            sa.text("SELECT source_system, revenue::text FROM v_revenue_by_source")
        ).all()
    assert set(secured) == set(OPERATOR_TABLES)
    assert dict(revenue) == {"ticket_tailor": "93.00", "paypal": "0.00"}


def test_seed_rows_overlap_the_sample_export_where_enrichment_and_matching_happen(
    real_crm_url: str,
):
    with SAMPLE_EXPORT.open(encoding="utf-8-sig", newline="") as handle:
        export = list(csv.DictReader(handle))
    export_emails = {row["Customer Email"].strip().lower() for row in export}
    offers = {row["Offer ID"]: " ".join(row["Offer Title"].split()).lower() for row in export}
    seed = crm_snapshot(real_crm_url).rows
    emails = {row["email"].lower() for row in seed["contacts"].values()}
    products = {row["name_norm"]: row["kajabi_offer_id"] for row in seed["products"].values()}

    assert emails - export_emails == {"ann.lee@example.com"}
    assert products["annual membership"] in offers
    assert "birth chart intensive" in offers.values()
    assert products["birth chart intensive"] is None
    assert "full moon gathering" not in offers.values()


def test_building_it_drops_the_pipelines_schema(postgres_database: str):
    engine = sa.create_engine(postgres_database)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {PIPELINE_SCHEMA}")
    build_real_crm(postgres_database)
    with engine.connect() as connection:
        schemas = connection.exec_driver_sql("SELECT nspname FROM pg_namespace").scalars().all()
    engine.dispose()
    assert PIPELINE_SCHEMA not in schemas


def test_an_unchanged_database_has_no_changes(real_crm_url: str):
    result = changes(crm_snapshot(real_crm_url), crm_snapshot(real_crm_url))
    assert (result.changed_existing, result.added_rows, result.added_objects) == ([], [], [])


def test_changes_name_a_changed_field_and_a_deleted_row(crm: sa.Engine, real_crm_url: str):
    before = crm_snapshot(real_crm_url)
    with crm.begin() as connection:
        larsen = connection.execute(
            sa.text(
                "UPDATE contacts SET phone = '+13035550148'"
                " WHERE email = 'elarsen@example.com' RETURNING id"
            )
        ).scalar_one()
        subscription = connection.execute(
            sa.text("DELETE FROM subscriptions RETURNING id")
        ).scalar_one()
    result = changes(before, crm_snapshot(real_crm_url))

    changed = {(entry.kind, entry.name, entry.column) for entry in result.changed_existing}
    assert changed == {
        ("row changed", f"contacts {larsen}", "phone"),
        ("row changed", f"contacts {larsen}", "updated_at"),
        ("row deleted", f"subscriptions {subscription}", None),
    }
    phone = next(entry for entry in result.changed_existing if entry.column == "phone")
    assert (phone.before, phone.after) == (None, "+13035550148")
    assert str(phone) == f"row changed contacts {larsen}: phone None -> '+13035550148'"
    assert result.added_rows == []


def test_changes_report_added_rows_and_columns_apart(crm: sa.Engine, real_crm_url: str):
    before = crm_snapshot(real_crm_url)
    with crm.begin() as connection:
        product = connection.execute(
            sa.text("INSERT INTO products (name) VALUES ('Solar Return Workshop') RETURNING id")
        ).scalar_one()
        connection.exec_driver_sql(
            "ALTER TABLE transactions ADD COLUMN import_run_id uuid DEFAULT uuid_generate_v4()"
        )
        connection.exec_driver_sql("ALTER TYPE payment_status ADD VALUE 'voided'")
    result = changes(before, crm_snapshot(real_crm_url))

    assert result.changed_existing == []
    assert [str(entry) for entry in result.added_rows] == [f"row added products {product}"]
    assert [(entry.kind, entry.name) for entry in result.added_objects] == [
        ("column added", "transactions.import_run_id"),
        ("enum label added", "payment_status.voided"),
    ]


# Each statement alters one object of the operator's schema; the kinds it must be reported as.
_SCHEMA_EDITS = {
    "DROP INDEX idx_products_kajabi_offer_id": {"index removed"},
    "ALTER TABLE contacts DISABLE TRIGGER update_contacts_updated_at": {"trigger changed"},
    "ALTER TABLE transactions DROP CONSTRAINT transactions_currency_check": {"constraint removed"},
    "ALTER TABLE transactions ALTER COLUMN payment_method SET NOT NULL": {"column changed"},
    "DROP VIEW v_active_subscriptions": {"view removed", "relation removed", "column removed"},
    "CREATE OR REPLACE VIEW v_revenue_by_source AS SELECT source_system,"
    " count(*) AS transaction_count, sum(amount) AS revenue FROM transactions"
    " GROUP BY source_system": {"view changed"},
    "ALTER TABLE products DISABLE ROW LEVEL SECURITY": {"relation changed"},
    "ALTER TYPE payment_status RENAME VALUE 'disputed' TO 'chargeback'": {"enum label removed"},
    "ALTER FUNCTION update_updated_at_column() RENAME TO touch": {
        "function removed",
        "trigger changed",
    },
}


@pytest.mark.parametrize(("statement", "expected"), _SCHEMA_EDITS.items())
def test_changes_see_schema_objects_changed_or_removed(
    crm: sa.Engine, real_crm_url: str, statement: str, expected: set[str]
):
    before = crm_snapshot(real_crm_url)
    with crm.begin() as connection:
        connection.exec_driver_sql(statement)
    result = changes(before, crm_snapshot(real_crm_url))
    assert {entry.kind for entry in result.changed_existing} == expected
    assert result.added_rows == []
