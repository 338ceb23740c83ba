"""Running the import job through the Dagster instance, outside the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from starhouse_pipeline.defs.automation import import_run_config
from starhouse_pipeline.instance import prepare_dagster_home


@dataclass
class ImportRunOutcome:
    succeeded: bool
    run_id: str
    report: str | None
    problems: list[str] = field(default_factory=list)


def run_import(
    path: Path, *, dry_run: bool = False, max_quarantine_share: float | None = None
) -> ImportRunOutcome:
    """Execute `import_job` for one export; the run is recorded in DAGSTER_HOME's instance."""
    from starhouse_pipeline import definitions

    prepare_dagster_home()
    run_config = import_run_config(path)
    options: dict[str, object] = {"dry_run": dry_run}
    if max_quarantine_share is not None:
        options["max_quarantine_share"] = max_quarantine_share
    run_config["resources"] = {"import_options": {"config": options}}
    run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    job = dg.reconstructable(definitions.import_job_for_runs)
    with (
        dg.DagsterInstance.get() as instance,
        dg.execute_job(job, instance, run_config=run_config) as result,
    ):
        return _outcome(result)


def _outcome(result: dg.ExecuteJobResult) -> ImportRunOutcome:
    failed_checks = [
        f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    step_failures = [
        f"{event.step_key}: {_failure_message(event)}"
        for event in result.all_events
        if event.is_step_failure
    ]
    return ImportRunOutcome(
        succeeded=result.success and not failed_checks,
        run_id=result.run_id,
        report=_report_markdown(result),
        problems=failed_checks + step_failures,
    )


def _failure_message(event: dg.DagsterEvent) -> str:
    error = event.step_failure_data.error
    if error is None:
        return "failed"
    cause = error
    while cause.cause is not None and cause.cls_name != "Failure":
        cause = cause.cause
    message = cause.message.strip()
    # Dagster prefixes the exception's class path; the operator needs only what went wrong.
    prefix, separator, rest = message.partition(": ")
    return rest if separator and "." in prefix and " " not in prefix else message


def _report_markdown(result: dg.ExecuteJobResult) -> str | None:
    for materialization in result.asset_materializations_for_node("import_report"):
        report = materialization.metadata.get("report")
        if report is not None:
            return report.value
    return None
