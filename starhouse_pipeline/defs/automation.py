"""The import job, its daily schedule, and the inbox sensor."""

import hashlib
import os
from pathlib import Path

import dagster as dg

from starhouse_pipeline.defs.run_config import job_run_config
from starhouse_pipeline.settings import BUSINESS_TIMEZONE, INBOX_DIR, INBOX_DIR_ENV

import_job = dg.define_asset_job(
    "import_job",
    selection=dg.AssetSelection.groups("kajabi_import"),
    description="Import one Kajabi transactions export into the CRM, with its checks and report.",
    # One process for the whole chain: its steps run one after another anyway, and a
    # process per step would re-import polars and Dagster and re-read every frame.
    executor_def=dg.in_process_executor,
)


def inbox_dir() -> Path:
    """The folder watched for new exports: `STARHOUSE_INBOX_DIR`, read at tick time."""
    return Path(os.environ.get(INBOX_DIR_ENV) or INBOX_DIR)


def exports_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dg.schedule(
    job=import_job,
    cron_schedule="0 6 * * *",
    execution_timezone=BUSINESS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_import_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Every day at 06:00 Mountain time, import the newest export in the inbox.

    Re-importing an export already loaded changes nothing, so a day without a new export
    is a cheap no-op run rather than a gap in the run history.
    """
    exports = exports_in(inbox_dir())
    if not exports:
        return dg.SkipReason(f"no export in {inbox_dir()}")
    newest = max(exports, key=lambda path: path.stat().st_mtime)
    return dg.RunRequest(
        run_config=job_run_config("import_job", newest), tags={"export_file": newest.name}
    )


@dg.sensor(job=import_job, minimum_interval_seconds=30)
def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new export file dropped in the inbox, keyed by content hash.

    The same bytes never run twice, even renamed or copied again; a changed file runs anew.
    """
    requests = [
        dg.RunRequest(
            run_key=file_sha256(path),
            run_config=job_run_config("import_job", path),
            tags={"export_file": path.name},
        )
        for path in exports_in(inbox_dir())
    ]
    return dg.SensorResult(run_requests=requests)
