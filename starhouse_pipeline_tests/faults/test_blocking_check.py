"""A blocking check that fails stops the run: downstream assets stay unmaterialized."""

from __future__ import annotations

from pathlib import Path

from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline_tests.bad_input.running import run_job, step_failure_messages
from starhouse_pipeline_tests.faults.state import make_export
from starhouse_pipeline_tests.support import check_results, materialization_metadata

_TAMPER = {
    "sqlite": [
        "CREATE TRIGGER tamper AFTER INSERT ON transactions BEGIN "
        "UPDATE transactions SET amount = amount + 0.01 WHERE id = NEW.id; END"
    ],
    "postgresql": [
        "CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.amount := NEW.amount + 0.01; RETURN NEW; END $$",
        "CREATE TRIGGER tamper BEFORE INSERT ON transactions "
        "FOR EACH ROW EXECUTE FUNCTION tamper()",
    ],
}


def test_failed_reconciliation_leaves_the_report_unmaterialized(
    database_url: str, tmp_path: Path
) -> None:
    """Something else changes amounts as they are written: the load cannot be trusted."""
    engine = create_warehouse_engine(database_url)
    with engine.begin() as connection:
        for statement in _TAMPER[connection.dialect.name]:
            connection.exec_driver_sql(statement)
    engine.dispose()

    result = run_job(database_url, make_export(tmp_path / "kajabi.csv", range(1, 25)))

    assert not result.success
    assert check_results(result)["transactions_reconcile_with_export"] is False
    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "transactions_reconcile_with_export"
    )
    assert "mismatches" in evaluation.metadata
    assert materialization_metadata(result, "loaded_transactions")
    assert not result.asset_materializations_for_node("import_report")
    failure = "\n".join(step_failure_messages(result).values())
    assert "transactions_reconcile_with_export" in failure
