"""A quarantine people can use: visible, queryable, resolved by a fixed file, and a gate."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from starhouse_pipeline.domain.quarantine import quarantine_share_verdict
from starhouse_pipeline.warehouse.tables import quarantined_rows, transactions
from starhouse_pipeline_tests.bad_input.running import QUARANTINE_CHECK, run_job
from starhouse_pipeline_tests.support import (
    check_results,
    export_row,
    fetch_all,
    materialization_metadata,
    write_export,
)

DOWNSTREAM = ["resolved_products", "contact_enrichments", "loaded_transactions", "import_report"]


def _good(count: int, start: int = 1000) -> list[dict[str, str]]:
    return [
        export_row(ID=str(start + n), Customer_Email=f"customer{n}@example.com")
        for n in range(count)
    ]


def test_metadata_counts_each_rule_and_shows_a_masked_sample(sqlite_url: str, tmp_path: Path):
    rows = [
        *_good(3),
        export_row(ID="2001", Amount="(5.00)", Customer_Email="zelda.fitz@example.com"),
        export_row(ID="2002", Amount="abc", Customer_Email="zelda.fitz@example.com"),
        export_row(ID="2003", Type="gift", Customer_Email="zelda.fitz@example.com"),
    ]
    result = run_job(sqlite_url, write_export(tmp_path / "k.csv", rows), max_quarantine_share=1)

    metadata = materialization_metadata(result, "validated_transactions")
    by_rule = metadata["quarantine_by_rule"]
    assert "| amount_parses | 2 | 5, 6 |" in by_rule
    assert "| known_type | 1 | 7 |" in by_rule
    sample = metadata["quarantine_sample"]
    assert "z***@example.com" in sample
    assert "zelda" not in sample
    assert "zelda" not in by_rule


def test_quarantine_is_queryable_and_a_fixed_file_resolves_what_now_loads(
    database_url: str, tmp_path: Path
):
    first = [
        *_good(2),
        export_row(ID="2001", Amount="(5.00)"),
        export_row(ID="", Customer_Email="nobody@example.com"),
        export_row(ID="2003", Type="gift"),
    ]
    other = run_job(
        database_url,
        write_export(tmp_path / "other.csv", [export_row(ID="9999", Status="weird")]),
        max_quarantine_share=1,
    )
    run1 = run_job(
        database_url, write_export(tmp_path / "kajabi.csv", first), max_quarantine_share=1
    )
    fixed = [
        *_good(2),
        export_row(ID="2001", Amount="5.00"),
        export_row(ID="2002", Customer_Email="nobody@example.com"),
        export_row(ID="2003", Type="gift"),
    ]
    run2 = run_job(
        database_url, write_export(tmp_path / "kajabi.csv", fixed), max_quarantine_share=1
    )

    assert all(run.success for run in (other, run1, run2))
    metadata = materialization_metadata(run2, "validated_transactions")
    assert metadata["earlier_quarantine_resolved"] == 3
    rows = fetch_all(
        database_url,
        sa.select(
            quarantined_rows.c.run_id,
            quarantined_rows.c.source_file,
            quarantined_rows.c.line_number,
            quarantined_rows.c.source_row_id,
            quarantined_rows.c.rule,
            quarantined_rows.c.resolved_by_run_id,
            quarantined_rows.c.resolved_at,
        ).order_by(quarantined_rows.c.id),
    )
    summary = [
        (
            r.run_id,
            r.source_file,
            r.line_number,
            r.source_row_id,
            r.rule,
            r.resolved_by_run_id,
        )
        for r in rows
    ]
    assert summary == [
        (other.run_id, "other.csv", 2, "9999", "known_status", None),
        (run1.run_id, "kajabi.csv", 4, "2001", "amount_parses", run2.run_id),
        (run1.run_id, "kajabi.csv", 5, None, "id_present", run2.run_id),
        (run1.run_id, "kajabi.csv", 6, "2003", "known_type", run2.run_id),
        (run2.run_id, "kajabi.csv", 6, "2003", "known_type", None),
    ]
    assert all((r.resolved_at is None) == (r.resolved_by_run_id is None) for r in rows)
    loaded = {
        r[0] for r in fetch_all(database_url, sa.select(transactions.c.external_transaction_id))
    }
    assert {"2001", "2002"} <= loaded


def test_dry_run_resolves_nothing(sqlite_url: str, tmp_path: Path):
    path = write_export(tmp_path / "kajabi.csv", [export_row(ID="2001", Amount="(5.00)")])
    run_job(sqlite_url, path, max_quarantine_share=1)
    write_export(path, [export_row(ID="2001", Amount="5.00")])
    dry = run_job(sqlite_url, path, dry_run=True)
    assert dry.success
    assert fetch_all(sqlite_url, sa.select(quarantined_rows.c.resolved_by_run_id)) == [(None,)]


def test_share_above_threshold_stops_the_run_before_the_load(database_url: str, tmp_path: Path):
    rows = [*_good(9), export_row(ID="2001", Type="gift")]
    result = run_job(database_url, write_export(tmp_path / "kajabi.csv", rows))

    assert not result.success
    assert check_results(result)[QUARANTINE_CHECK] is False
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == QUARANTINE_CHECK
    )
    assert evaluation.description.startswith(
        "1 of 10 rows (10.00 %) quarantined, above the 1.00 % threshold"
    )
    assert "nothing was loaded" in evaluation.description
    for asset in DOWNSTREAM:
        assert not result.asset_materializations_for_node(asset), asset
    assert fetch_all(database_url, sa.select(sa.func.count()).select_from(transactions)) == [(0,)]
    stored = fetch_all(database_url, sa.select(quarantined_rows.c.source_row_id))
    assert stored == [("2001",)]


def test_threshold_is_configurable_per_run(sqlite_url: str, tmp_path: Path):
    rows = [*_good(9), export_row(ID="2001", Type="gift")]
    result = run_job(
        sqlite_url, write_export(tmp_path / "kajabi.csv", rows), max_quarantine_share=0.1
    )
    assert result.success
    assert check_results(result)[QUARANTINE_CHECK] is True
    assert fetch_all(sqlite_url, sa.select(sa.func.count()).select_from(transactions)) == [(9,)]


@pytest.mark.parametrize(
    ("rows_read", "quarantined", "threshold", "passed"),
    [
        (0, 0, 0.01, True),
        (100, 1, 0.01, True),
        (99, 1, 0.01, False),
        (1000, 10, 0.01, True),
        (1000, 11, 0.01, False),
        (10, 0, 0.0, True),
        (10, 1, 0.0, False),
        (10, 10, 1.0, True),
    ],
)
def test_share_verdict_boundaries(rows_read: int, quarantined: int, threshold: float, passed):
    assert quarantine_share_verdict(rows_read, quarantined, threshold).passed is passed
