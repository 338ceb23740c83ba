"""The state an uninterrupted import leaves, to compare every faulted run with."""

from __future__ import annotations

import pytest

from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database
from starhouse_pipeline_tests.bad_input.running import run_job
from starhouse_pipeline_tests.faults.state import IDS, make_export, seed_crm, warehouse_contents


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """What one uninterrupted import of `IDS` leaves in a seeded SQLite warehouse."""
    folder = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{folder / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    upgrade_database(engine)
    engine.dispose()
    seed_crm(url)
    result = run_job(url, make_export(folder / "kajabi.csv", IDS), max_quarantine_share=1.0)
    assert result.success
    contents = warehouse_contents(url)
    assert contents["enrichment_log"], "the export must enrich existing contacts"
    return contents
