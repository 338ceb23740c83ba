"""The pipeline on the operator's real CRM: adopted as it is, and nothing of theirs changed
but the rows the rules allow (see `real_crm.py` for the database this builds)."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from starhouse_pipeline import cli
from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain.contacts import ENRICHABLE_FIELDS, ENRICHMENT_PROVENANCE
from starhouse_pipeline.settings import SAMPLE_EXPORT, SAMPLE_PAYPAL_EXPORT, SAMPLES_DIR
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import current_revision, plan_upgrade, upgrade_database
from starhouse_pipeline_tests.support import (
    check_results,
    export_row,
    materialization_metadata,
    run_import,
    write_export,
)
from starhouse_pipeline_tests.warehouse.real_crm import changes, crm_snapshot

pytestmark = pytest.mark.postgres

# What an import may change in a row that was there: an empty field it fills, the
# provenance of that fill, and the timestamp the CRM's trigger sets on any update.
_FILLABLE = {
    "contacts": {*ENRICHABLE_FIELDS, *ENRICHMENT_PROVENANCE},
    "products": {"kajabi_offer_id"},
}


def _execute(url: str, sql: str) -> list[sa.Row]:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        result = connection.exec_driver_sql(sql)
        rows = result.all() if result.returns_rows else []
    engine.dispose()
    return rows


def _upgraded(url: str) -> str:
    upgrade_database(create_warehouse_engine(url))
    return url


def _only_allowed_fills(changed: list) -> list:
    """The changes to existing rows that are not fills of empty fields."""

    def allowed(change) -> bool:
        table = change.name.split(" ")[0]
        if change.kind != "row changed" or table not in _FILLABLE:
            return False
        return change.column == "updated_at" or (
            change.before is None and change.column in _FILLABLE[table]
        )

    return [change for change in changed if not allowed(change)]


def test_plan_writes_nothing_and_upgrade_runs_exactly_the_plan(real_crm_url: str):
    before = crm_snapshot(real_crm_url)
    engine = create_warehouse_engine(real_crm_url)

    plan = plan_upgrade(engine)

    assert plan.refusals == []
    assert plan.from_revision is None
    untouched = changes(before, crm_snapshot(real_crm_url))
    assert str(untouched) == "no changes"
    assert _execute(real_crm_url, "SELECT 1 FROM pg_namespace WHERE nspname = 'starhouse'") == []

    executed = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: executed.append(statement.strip()),
    )
    upgrade_database(engine)
    ran = [statement for statement in executed if statement in plan.statements]
    # The same statements (a table's indexes may be created in another order).
    assert sorted(ran) == sorted(plan.statements)
    assert current_revision(engine) == plan.to_revision

    adopted = changes(before, crm_snapshot(real_crm_url))
    assert adopted.changed_existing == []
    assert adopted.added_rows == []
    added = sorted(str(change).split(":")[0] for change in adopted.added_objects)
    assert added == [
        "column added contacts.created_by_run_id",
        "column added transactions.import_run_id",
        "column added transactions.source_row_hash",
        "index added products.uq_products_kajabi_offer_id",
    ]
    own = _execute(
        real_crm_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = "
        "'starhouse' AND table_name IN ('import_runs', 'quarantined_rows', 'kajabi_subscriptions')",
    )
    assert len(own) == 3
    key_types = _execute(
        real_crm_url,
        "SELECT table_name, data_type FROM information_schema.columns WHERE table_schema = "
        "'starhouse' AND column_name = 'contact_id' ORDER BY table_name",
    )
    assert {data_type for _, data_type in key_types} == {"uuid"}
    engine.dispose()


def test_import_reimport_newer_export_and_dry_run(real_crm_url: str, tmp_path: Path):
    url = _upgraded(real_crm_url)
    before = crm_snapshot(url)

    first = run_import(url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True)

    assert first.success
    assert all(check_results(first).values()), check_results(first)
    imported = changes(before, crm_snapshot(url))
    assert _only_allowed_fills(imported.changed_existing) == []
    assert imported.added_rows
    kajabi = _execute(
        url,
        "SELECT count(*), sum(amount) FILTER (WHERE status = 'completed'), "
        "count(*) FILTER (WHERE raw_source->>'ID' = external_transaction_id) "
        "FROM transactions WHERE source_system = 'kajabi'",
    )[0]
    assert kajabi[0] == kajabi[2] > 700
    assert kajabi[1] > 1000  # dollars, NUMERIC

    after_first = crm_snapshot(url)
    again = run_import(url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True)
    assert again.success
    assert all(check_results(again).values())
    assert str(changes(after_first, crm_snapshot(url))) == "no changes"

    newer = _newer_export(SAMPLE_EXPORT, tmp_path / "newer.csv")  # not the sample any more
    dry = run_import(url, newer, dry_run=True)
    assert dry.success
    assert str(changes(after_first, crm_snapshot(url))) == "no changes"

    result = run_import(url, newer)
    assert result.success
    assert all(check_results(result).values())
    assert materialization_metadata(result, "loaded_transactions")["updated"] == 1
    assert (
        _execute(
            url, "SELECT status::text FROM transactions WHERE external_transaction_id = '9999999'"
        )[0][0]
        == "completed"
    )


def _newer_export(source: Path, target: Path) -> Path:
    """The export with one row's status changed and one new row."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows, columns = list(reader), reader.fieldnames
    changed = next(row for row in rows if row["Status"] == "failed")
    changed["Status"] = "succeeded"
    rows.append({**rows[0], "ID": "9999999", "Order No.": ""})
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return target


def _run_job(url: str, job: str, path: Path | None = None) -> dg.ExecuteInProcessResult:
    if path is None:
        definitions = build_definitions(WarehouseResource(database_url=url))
        return definitions.resolve_job_def(job).execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    # The bundled samples stand in for the operator's exports here.
    return run_import(url, path, job_name=job, allow_sample_in_this_warehouse=True)


def _blocking_checks_pass(result: dg.ExecuteInProcessResult) -> bool:
    """The run succeeded and every check passed, but warnings the bundled samples raise on
    purpose (an offer without product, refunds not following a sale of their offer, export
    MRR that differs from the transactions for some customers)."""
    warnings = {
        "quarantine_share_within_threshold",  # the samples' deliberately broken rows
        "subscriptions_have_product_and_contact",
        "refunds_link_to_a_charge",
        "mrr_agrees_with_subscriptions_export",
    }
    failed = [
        evaluation.check_name
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.check_name not in warnings
    ]
    assert result.success
    assert not failed, failed
    return True


def test_subscriptions_people_and_analytics(real_crm_url: str, tmp_path: Path):
    url = _upgraded(real_crm_url)
    assert run_import(url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True).success
    before = crm_snapshot(url)
    subscriptions_export = SAMPLES_DIR / "kajabi_subscriptions_sample.csv"

    imported = _run_job(url, "subscriptions_import_job", subscriptions_export)
    people = _run_job(url, "people_import_job", SAMPLES_DIR / "kajabi_people_sample.csv")
    analytics = _run_job(url, "analytics_job")

    assert _blocking_checks_pass(imported)
    assert _blocking_checks_pass(people)
    assert _blocking_checks_pass(analytics)
    metadata = materialization_metadata(imported, "kajabi_subscriptions")
    in_crm = _execute(
        url,
        "SELECT count(*), count(*) FILTER (WHERE product_id IS NULL) FROM subscriptions "
        "WHERE kajabi_subscription_id IS NOT NULL",
    )[0]
    assert metadata["crm_subscriptions_inserted"] == metadata["inserted"] == in_crm[0] - 1
    assert metadata["crm_subscriptions_without_product"] == in_crm[1]
    assert _only_allowed_fills(changes(before, crm_snapshot(url)).changed_existing) == []

    # A person corrects one subscription's billing cycle; Kajabi then cancels it.
    subscription_id = _execute(
        url,
        "SELECT kajabi_subscription_id FROM subscriptions WHERE status = 'active' "
        "AND kajabi_subscription_id LIKE '31%%' ORDER BY kajabi_subscription_id LIMIT 1",
    )[0][0]
    _execute(
        url,
        "UPDATE subscriptions SET billing_cycle = 'yearly (renews in May)' "
        f"WHERE kajabi_subscription_id = '{subscription_id}'",
    )
    newer = _canceled(subscriptions_export, tmp_path / "newer.csv", subscription_id)
    updated = _run_job(url, "subscriptions_import_job", newer)

    assert _blocking_checks_pass(updated)
    status, cycle = _execute(
        url,
        "SELECT status::text, billing_cycle FROM subscriptions "
        f"WHERE kajabi_subscription_id = '{subscription_id}'",
    )[0]
    assert (status, cycle) == ("canceled", "yearly (renews in May)")
    metadata = materialization_metadata(updated, "kajabi_subscriptions")
    assert metadata["crm_subscriptions_updated"] == 1
    assert metadata["crm_values_kept_as_a_person_set_them"] == 1


def _canceled(source: Path, target: Path, subscription_id: str) -> Path:
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows, columns = list(reader), reader.fieldnames
    for row in rows:
        if row["Kajabi Subscription ID"] == subscription_id:
            row["Status"], row["Canceled On"], row["Next Payment Date"] = (
                "canceled",
                "Dec 1, 2026",
                "",
            )
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_what_the_crm_constraints_refuse_is_quarantined_with_the_constraint(
    real_crm_url: str, tmp_path: Path
):
    url = _upgraded(real_crm_url)
    _execute(
        url,
        "ALTER TABLE contacts ADD CONSTRAINT contacts_no_plus_addresses CHECK (email !~ '[+]');"
        "ALTER TABLE transactions ADD CONSTRAINT transactions_amount_below_1000 "
        "CHECK (amount < 1000);"
        "INSERT INTO products (name, kajabi_offer_id) VALUES ('Astrology 101', 'other-offer');",
    )
    rows = [
        export_row(ID="1", Customer_Email="ann+kajabi@example.com"),
        export_row(ID="2", Amount="1500.00", Type="charge", Customer_Email="bo@example.com"),
        export_row(ID="3", Offer_ID="offer-10", Offer_Title="astrology  101 "),
        export_row(ID="4", Customer_Email="cy@example.com"),
    ]

    result = run_import(url, write_export(tmp_path / "export.csv", rows), max_quarantine_share=0.9)

    assert result.success
    assert all(check_results(result).values())
    quarantined = _execute(
        url, "SELECT source_row_id, rule FROM starhouse.quarantined_rows ORDER BY 1"
    )
    assert [tuple(row) for row in quarantined] == [
        ("1", "crm_check_contacts_no_plus_addresses"),
        ("2", "crm_check_transactions_amount_below_1000"),
    ]
    loaded = _execute(
        url,
        "SELECT external_transaction_id FROM transactions "
        "WHERE source_system = 'kajabi' ORDER BY 1",
    )
    assert [row[0] for row in loaded] == ["3", "4"]
    product = _execute(url, "SELECT name FROM products WHERE kajabi_offer_id = 'offer-10'")
    assert product[0][0] == "astrology  101 (Kajabi offer offer-10)"
    renamed = materialization_metadata(result, "resolved_products")
    assert "offer-10" in renamed["created_under_a_distinct_name"]


def test_a_source_system_the_crm_refuses_fails_before_any_write(real_crm_url: str, tmp_path):
    _execute(
        real_crm_url,
        "ALTER TABLE transactions DROP CONSTRAINT transactions_source_system_check;"
        "ALTER TABLE transactions ADD CONSTRAINT transactions_source_system_check "
        "CHECK (source_system IN ('paypal', 'ticket_tailor'));",
    )
    plan = plan_upgrade(create_warehouse_engine(real_crm_url))
    assert len(plan.refusals) == 1
    assert "transactions_source_system_check" in plan.refusals[0]
    assert "kajabi" in plan.refusals[0]


def test_plan_names_every_refusal_and_exits_non_zero(
    real_crm_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    _execute(
        real_crm_url,
        "INSERT INTO products (name, kajabi_offer_id) VALUES ('Copy A', 'dup'), ('Copy B', 'dup');"
        "ALTER TABLE contacts ADD COLUMN crm_owner text NOT NULL DEFAULT 'me';"
        "ALTER TABLE contacts ALTER COLUMN crm_owner DROP DEFAULT;",
    )
    monkeypatch.setenv("STARHOUSE_DATABASE_URL", real_crm_url)
    before = crm_snapshot(real_crm_url)

    status = cli.main(["db", "plan"])

    printed = capsys.readouterr().out
    assert status == 1
    assert "products has rows sharing" in printed
    assert "contacts.crm_owner is NOT NULL without a default" in printed
    assert "Copy" not in printed
    assert str(changes(before, crm_snapshot(real_crm_url))) == "no changes"
    assert cli.main(["db", "upgrade"]) == 1
    assert str(changes(before, crm_snapshot(real_crm_url))) == "no changes"


def test_two_concurrent_imports_still_serialize(real_crm_url: str, tmp_path: Path):
    """The overlapping-exports race of `faults/test_concurrency.py`, on uuid keys and citext."""
    from starhouse_pipeline_tests.faults.state import make_export, race_overlapping_imports

    url = _upgraded(real_crm_url)
    first = make_export(tmp_path / "first.csv", range(1, 201))
    second = make_export(tmp_path / "second.csv", range(101, 301))

    for outcome in race_overlapping_imports(url, first, second):
        assert outcome["success"], outcome
        assert all(outcome["checks"].values()), outcome["checks"]
    loaded, distinct = _execute(
        url,
        "SELECT count(*), count(DISTINCT external_transaction_id) FROM transactions "
        "WHERE source_system = 'kajabi'",
    )[0]
    quarantined = _execute(
        url,
        "SELECT count(DISTINCT source_row_id) FROM starhouse.quarantined_rows "
        "WHERE resolved_at IS NULL",
    )[0][0]
    assert loaded == distinct == 300 - quarantined
    offers = _execute(
        url,
        "SELECT kajabi_offer_id, count(*) FROM products "
        "WHERE kajabi_offer_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1",
    )
    assert offers == []


def test_an_import_stops_before_any_write_when_the_crm_refuses_its_source_system(
    real_crm_url: str, tmp_path: Path
):
    url = _upgraded(real_crm_url)
    _execute(
        url,
        "ALTER TABLE transactions DROP CONSTRAINT transactions_source_system_check;"
        "ALTER TABLE transactions ADD CONSTRAINT transactions_source_system_check "
        "CHECK (source_system IN ('paypal', 'ticket_tailor'));",
    )
    before = crm_snapshot(url)

    result = run_import(url, write_export(tmp_path / "export.csv", [export_row()]))

    assert not result.success
    failure = next(event for event in result.all_events if event.is_step_failure)
    assert failure.step_key == "validated_transactions"
    assert "transactions_source_system_check" in failure.step_failure_data.error.message
    assert str(changes(before, crm_snapshot(url))) == "no changes"
    assert _execute(url, "SELECT count(*) FROM starhouse.import_runs")[0][0] == 0


def test_plan_has_nothing_to_do_once_upgraded(real_crm_url: str):
    engine = create_warehouse_engine(_upgraded(real_crm_url))

    plan = plan_upgrade(engine)

    assert (plan.refusals, plan.statements) == ([], [])
    assert plan.from_revision == plan.to_revision == current_revision(engine)
    engine.dispose()


def test_paypal_imports_into_the_operators_crm_and_counts_shared_payments_once(
    real_crm_url: str,
):
    url = _upgraded(real_crm_url)
    assert run_import(url, SAMPLE_EXPORT, allow_sample_in_this_warehouse=True).success
    before = crm_snapshot(url)
    # The operator's own script once imported some PayPal rows by hand: they stay as they are.
    by_hand = _execute(url, "SELECT count(*) FROM transactions WHERE source_system = 'paypal'")

    paypal = run_import(
        url, SAMPLE_PAYPAL_EXPORT, job_name="paypal_import_job", allow_sample_in_this_warehouse=True
    )
    again = run_import(
        url, SAMPLE_PAYPAL_EXPORT, job_name="paypal_import_job", allow_sample_in_this_warehouse=True
    )

    assert all(check_results(paypal).values()), check_results(paypal)
    assert _only_allowed_fills(changes(before, crm_snapshot(url)).changed_existing) == []
    loaded = _execute(
        url,
        "SELECT count(*), count(*) FILTER (WHERE transaction_type::text = 'refund'), "
        "count(*) FILTER (WHERE raw_source->>'Transaction ID' = external_transaction_id) "
        "FROM transactions WHERE source_system = 'paypal'",
    )[0]
    assert loaded[0] - by_hand[0][0] == 280
    assert loaded[2] == loaded[0]  # each keeps its original row
    assert loaded[1] > 0
    pairs = _execute(url, "SELECT count(*) FROM starhouse.same_payments WHERE NOT ambiguous")
    assert pairs[0][0] == 35
    reimport = materialization_metadata(again, "loaded_paypal_transactions")
    assert (reimport["loaded new"], reimport["unchanged"]) == (0, 280)
    assert _run_job(url, "analytics_job").success
