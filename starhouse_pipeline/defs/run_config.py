"""The run config of every job, built in one place.

The command line, the schedule, the sensor, the benchmark and the tests all build a run's
config here, so a path or an option always lands where the job reads it (the launchpad YAML
in the README has the same shape).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The asset of each import job that takes the export's path as its config.
EXPORT_ASSET = {
    "import_job": "raw_kajabi_csv",
    "subscriptions_import_job": "raw_kajabi_subscriptions",
    "people_import_job": "raw_kajabi_people",
    "paypal_import_job": "raw_paypal_activity",
}
# The import report of each job that writes one.
REPORT_ASSET = {"import_job": "import_report", "paypal_import_job": "paypal_import_report"}
_IMPORT_OPTIONS = ("dry_run", "max_quarantine_share", "allow_sample_in_this_warehouse")


def job_run_config(
    job_name: str,
    path: str | Path | None = None,
    *,
    reports_dir: str | Path | None = None,
    log_level: str | None = None,
    **import_options: Any,
) -> dict[str, Any]:
    """The run config for `job_name`: the export's path (import jobs need one), the
    `import_options` that are not None (`dry_run`, `max_quarantine_share`,
    `allow_sample_in_this_warehouse`), where the import report goes, the console log level."""
    unknown = set(import_options) - set(_IMPORT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown import options: {', '.join(sorted(unknown))}")
    options = {key: value for key, value in import_options.items() if value is not None}
    config: dict[str, Any] = {}
    export_asset = EXPORT_ASSET.get(job_name)
    if export_asset is not None:
        if path is None:
            raise ValueError(f"{job_name} needs the path of an export")
        config["ops"] = {export_asset: {"config": {"path": str(path)}}}
    elif path is not None or options:
        raise ValueError(f"{job_name} imports no export: it takes no path and no import options")
    if options:
        config["resources"] = {"import_options": {"config": options}}
    if reports_dir is not None and job_name in REPORT_ASSET:
        config["ops"][REPORT_ASSET[job_name]] = {"config": {"reports_dir": str(reports_dir)}}
    if log_level is not None:
        config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    return config
