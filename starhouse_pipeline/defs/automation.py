"""The import job, its daily schedule, and the inbox sensor that routes every export."""

import os
from pathlib import Path

import dagster as dg

from starhouse_pipeline.defs.paypal import paypal_import_job
from starhouse_pipeline.defs.people import people_import_job
from starhouse_pipeline.defs.run_config import job_run_config
from starhouse_pipeline.defs.subscriptions import subscriptions_import_job
from starhouse_pipeline.domain.exports import recognize_file
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTIONS
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY
from starhouse_pipeline.domain.people import PEOPLE
from starhouse_pipeline.domain.reading import file_sha256
from starhouse_pipeline.domain.subscriptions import SUBSCRIPTIONS
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


# The job that imports each known export (by the name its spec gives it).
JOB_FOR_EXPORT = {
    TRANSACTIONS.name: import_job,
    SUBSCRIPTIONS.name: subscriptions_import_job,
    PEOPLE.name: people_import_job,
    PAYPAL_ACTIVITY.name: paypal_import_job,
}
# What the inbox looks at: Kajabi's CSVs, tab-separated downloads saved as .tsv.
_EXPORT_SUFFIXES = (".csv", ".tsv")


def exports_in(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in _EXPORT_SUFFIXES
    )


def job_for_file(path: Path) -> dg.JobDefinition:
    """The import job of the export `path` is, told by its header; a file that is no known
    export goes to `import_job`, whose run then fails naming the file and what it looks like."""
    spec = recognize_file(path)
    return JOB_FOR_EXPORT.get(spec.name, import_job) if spec is not None else import_job


@dg.schedule(
    job=import_job,
    cron_schedule="0 6 * * *",
    execution_timezone=BUSINESS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_import_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Every day at 06:00 Mountain time, import the newest transactions export in the inbox
    (Subscriptions and People exports there are the sensor's to route).

    Re-importing an export already loaded changes nothing, so a day without a new export
    is a cheap no-op run rather than a gap in the run history.
    """
    exports = [path for path in exports_in(inbox_dir()) if job_for_file(path) is import_job]
    if not exports:
        return dg.SkipReason(f"no transactions export in {inbox_dir()}")
    newest = max(exports, key=lambda path: path.stat().st_mtime)
    return dg.RunRequest(
        run_config=job_run_config("import_job", newest), tags={"export_file": newest.name}
    )


@dg.sensor(jobs=list(JOB_FOR_EXPORT.values()), minimum_interval_seconds=30)
def inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new export file dropped in the inbox, keyed by content hash, in the job
    of the export its header says it is (transactions, Subscriptions, People, PayPal).

    The same bytes never run twice, even renamed or copied again; a changed file runs anew.
    """
    requests = []
    for path in exports_in(inbox_dir()):
        job = job_for_file(path)
        requests.append(
            dg.RunRequest(
                run_key=file_sha256(path),
                job_name=job.name,
                run_config=job_run_config(job.name, path),
                tags={"export_file": path.name},
            )
        )
    return dg.SensorResult(run_requests=requests)
