"""An installation from before the pipeline had a schema of its own keeps every row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import VERSION_TABLE, current_revision, upgrade_database
from starhouse_pipeline.warehouse.own_tables import TABLES_OF_0002
from starhouse_pipeline.warehouse.paypal_tables import PAYPAL_TABLES
from starhouse_pipeline.warehouse.tables import (
    contact_enrichment_log,
    import_runs,
    quarantined_rows,
)

_OWN = [import_runs, quarantined_rows, contact_enrichment_log, *TABLES_OF_0002]


def _age_to_revision_0002(connection: sa.Connection) -> None:
    """Lay the tables out as revision 0002 left them: everything in `public`, the import
    table named `subscriptions`, the version table beside them (and no table of a later
    revision)."""
    for table in PAYPAL_TABLES:
        connection.exec_driver_sql(f'DROP TABLE starhouse."{table.name}"')
    for table in _OWN:
        connection.exec_driver_sql(f'ALTER TABLE starhouse."{table.name}" SET SCHEMA public')
    connection.exec_driver_sql(f"ALTER TABLE starhouse.{VERSION_TABLE} SET SCHEMA public")
    connection.exec_driver_sql("ALTER TABLE public.kajabi_subscriptions RENAME TO subscriptions")
    connection.exec_driver_sql(f"UPDATE public.{VERSION_TABLE} SET version_num = '0002'")
    connection.exec_driver_sql("DROP SCHEMA starhouse")


@pytest.mark.postgres
def test_an_older_installation_moves_its_tables_with_their_rows(postgres_url: str):
    engine = create_warehouse_engine(postgres_url)
    with engine.begin() as connection:
        _age_to_revision_0002(connection)
        connection.exec_driver_sql(
            "INSERT INTO public.import_runs (run_id, source_file, file_sha256) "
            "VALUES ('old-run', 'old.csv', 'abc')"
        )
        connection.exec_driver_sql(
            "INSERT INTO public.subscriptions (source_system, external_subscription_id, amount, "
            "currency, billing_interval, interval_months, status) "
            "VALUES ('kajabi', '501', 22.00, 'USD', 'month', 1, 'active')"
        )

    upgrade_database(engine)

    assert current_revision(engine) == "0006"
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names(schema="public")) == {
        "contacts",
        "products",
        "transactions",
    }
    assert {t.name for t in _OWN} <= set(inspector.get_table_names(schema="starhouse"))
    with engine.connect() as connection:
        runs = connection.execute(sa.select(import_runs.c.run_id)).scalars().all()
        kept = connection.exec_driver_sql(
            "SELECT external_subscription_id, amount FROM starhouse.kajabi_subscriptions"
        ).all()
    assert runs == ["old-run"]
    assert [tuple(row) for row in kept] == [("501", 22)]
    engine.dispose()


@pytest.mark.postgres
def test_the_operators_own_subscriptions_table_is_never_taken_for_ours(postgres_url: str):
    engine = create_warehouse_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE starhouse.{VERSION_TABLE} SET version_num = '0002'")
        connection.exec_driver_sql(
            "CREATE TABLE public.subscriptions (id bigint PRIMARY KEY, status text)"
        )

    upgrade_database(engine)

    columns = {c["name"] for c in sa.inspect(engine).get_columns("subscriptions", "public")}
    assert columns == {"id", "status"}
    engine.dispose()


def test_sqlite_renames_the_import_table(sqlite_url: str):
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE kajabi_subscriptions RENAME TO subscriptions")
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0002'")
        connection.exec_driver_sql(
            "INSERT INTO subscriptions (source_system, external_subscription_id, amount, "
            "currency, billing_interval, interval_months, status) "
            "VALUES ('kajabi', '501', 2200, 'USD', 'month', 1, 'active')"
        )

    upgrade_database(engine)

    with engine.connect() as connection:
        kept = connection.exec_driver_sql(
            "SELECT external_subscription_id, amount FROM kajabi_subscriptions"
        ).all()
    assert [tuple(row) for row in kept] == [("501", 22)]  # and the cents became dollars
    engine.dispose()


def test_the_quarantine_row_id_is_renamed_with_its_values(sqlite_url: str):
    engine = create_warehouse_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "ALTER TABLE quarantined_rows RENAME COLUMN source_row_id TO external_transaction_id"
        )
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '0004'")
        connection.exec_driver_sql(
            "INSERT INTO quarantined_rows (run_id, source_file, file_sha256, line_number, "
            "external_transaction_id, rule, reason, raw_row) "
            "VALUES ('r', 'subs.csv', 'x', 3, '3100000001', 'known_status', 'why', '{}')"
        )

    upgrade_database(engine)

    with engine.connect() as connection:
        kept = connection.execute(sa.select(quarantined_rows.c.source_row_id)).scalars().all()
    assert kept == ["3100000001"]
    engine.dispose()
