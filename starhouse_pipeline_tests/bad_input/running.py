"""Running the import job with the quarantine gate wired and per-run import options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from starhouse_pipeline.definitions import build_definitions
from starhouse_pipeline.defs.checks import quarantine_share_check
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.defs.run_config import job_run_config

QUARANTINE_CHECK = "quarantine_share_within_threshold"


def definitions_with_quarantine_gate(warehouse: WarehouseResource) -> dg.Definitions:
    """The project's definitions, plus the quarantine-share check unless already wired."""
    definitions = build_definitions(warehouse)
    wired = {key.name for key in definitions.resolve_asset_graph().asset_check_keys}
    if QUARANTINE_CHECK in wired:
        return definitions
    return dg.Definitions.merge(
        definitions, dg.Definitions(asset_checks=[quarantine_share_check()])
    )


def run_job(
    database_url: str,
    path: Path,
    *,
    instance: dg.DagsterInstance | None = None,
    retry_wait_seconds: float = 0.0,
    **import_options: Any,
) -> dg.ExecuteInProcessResult:
    """`import_job` on `path`; `import_options` such as dry_run=True, max_quarantine_share=1."""
    run_config = job_run_config("import_job", path, **import_options)
    warehouse = WarehouseResource(database_url=database_url, retry_wait_seconds=retry_wait_seconds)
    job = definitions_with_quarantine_gate(warehouse).resolve_job_def("import_job")
    return job.execute_in_process(
        run_config=run_config,
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def step_failure_messages(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """The message of each failed step, by step key, including chained causes."""
    messages = {}
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error, parts = event.step_failure_data.error, []
            while error is not None:
                parts.append(error.message)
                error = error.cause
            messages[event.step_key] = "\n".join(parts)
    return messages
