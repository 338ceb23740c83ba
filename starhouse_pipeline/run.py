"""Running any job through the Dagster instance, outside the UI: one way for every job.

`run_job` executes a job of the code location with `dg.execute_job`, recorded in the instance
of DAGSTER_HOME (or the one given), so a run started from the command line shows in the UI
like any other. Its outcome carries what people need to see of the run: each asset's
metadata, each check's verdict, and what failed, in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from starhouse_pipeline.defs.run_config import REPORT_ASSET, job_run_config
from starhouse_pipeline.instance import prepare_dagster_home

_DEFINITIONS_MODULE = "starhouse_pipeline.definitions"


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check's verdict, as the UI's Checks tab shows it."""

    name: str
    asset: str
    passed: bool
    severity: str  # "ERROR" or "WARN"
    description: str | None
    metadata: dict[str, Any]

    @property
    def fails_run(self) -> bool:
        """A failed ERROR check makes the run a failure; a failed WARN check is a warning."""
        return not self.passed and self.severity == dg.AssetCheckSeverity.ERROR.value


@dataclass
class JobRunOutcome:
    """What one run did: per asset its latest metadata (plain values), the checks, problems."""

    job_name: str
    succeeded: bool
    run_id: str
    materializations: dict[str, dict[str, Any]]
    checks: list[CheckOutcome]
    problems: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [
            f"check {check.name} on {check.asset} warns" + _said(check.description)
            for check in self.checks
            if not check.passed and not check.fails_run
        ]

    @property
    def report(self) -> str | None:
        """The import report (Markdown), when the run produced one."""
        asset = REPORT_ASSET.get(self.job_name, "import_report")
        return self.materializations.get(asset, {}).get("report")


def run_job(
    job_name: str,
    path: str | Path | None = None,
    *,
    instance: dg.DagsterInstance | None = None,
    quiet: bool = True,
    **options: Any,
) -> JobRunOutcome:
    """Execute `job_name` (on the export at `path`, for the import jobs) and wait for it.

    `options` are those of `defs.run_config.job_run_config` (`dry_run`,
    `max_quarantine_share`, `allow_sample_in_this_warehouse`, `reports_dir`). Without an
    `instance`, the run is recorded in DAGSTER_HOME's, prepared as `starhouse dev` prepares
    it. `quiet` keeps Dagster's event log off the console.
    """
    run_config = job_run_config(job_name, path, log_level="CRITICAL" if quiet else None, **options)
    job = dg.build_reconstructable_job(_DEFINITIONS_MODULE, "job_for_runs", (job_name,))
    if instance is not None:
        return _execute(job_name, job, instance, run_config)
    prepare_dagster_home()
    with dg.DagsterInstance.get() as home_instance:
        return _execute(job_name, job, home_instance, run_config)


def _execute(
    job_name: str, job: Any, instance: dg.DagsterInstance, run_config: dict[str, Any]
) -> JobRunOutcome:
    with dg.execute_job(job, instance, run_config=run_config) as result:
        checks = [_check(evaluation) for evaluation in result.get_asset_check_evaluations()]
        failed_checks = [
            f"check {check.name} on {check.asset} failed" + _said(check.description)
            for check in checks
            if check.fails_run
        ]
        step_failures = [
            f"{event.step_key}: {_failure_message(event)}"
            for event in result.all_events
            if event.is_step_failure
        ]
        return JobRunOutcome(
            job_name=job_name,
            succeeded=result.success and not failed_checks,
            run_id=result.run_id,
            materializations=_materializations(result),
            checks=checks,
            problems=failed_checks + step_failures,
        )


def _check(evaluation: dg.AssetCheckEvaluation) -> CheckOutcome:
    return CheckOutcome(
        name=evaluation.check_name,
        asset=evaluation.asset_key.to_user_string(),
        passed=evaluation.passed,
        severity=evaluation.severity.value,
        description=evaluation.description,
        metadata={key: value.value for key, value in evaluation.metadata.items()},
    )


def _materializations(result: dg.ExecuteJobResult) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    return found


def _said(description: str | None) -> str:
    return f": {description}" if description else ""


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
