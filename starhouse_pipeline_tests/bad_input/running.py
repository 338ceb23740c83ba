"""Running the import job as the bad-input tests need it: the shared runner, failure messages."""

from __future__ import annotations

import dagster as dg

from starhouse_pipeline_tests.support import run_import

QUARANTINE_CHECK = "quarantine_share_within_threshold"


def run_job(database_url: str, path, **options) -> dg.ExecuteInProcessResult:
    """`import_job` on `path`; no wait between connection retries unless asked."""
    return run_import(database_url, path, **{"retry_wait_seconds": 0.0, **options})


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
