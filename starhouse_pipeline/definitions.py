"""The code location: every asset, check, job, schedule, sensor and resource, in one place."""

import dagster as dg

from starhouse_pipeline.defs import (
    analytics,
    assets,
    checks,
    dashboard,
    paypal,
    people,
    subscriptions,
)
from starhouse_pipeline.defs.automation import daily_import_schedule, import_job, inbox_sensor
from starhouse_pipeline.defs.io import frame_files_io_manager
from starhouse_pipeline.defs.report import import_report
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource

# Retries: a lost database connection (a restarted server, a dropped socket) makes
# `WarehouseResource.transaction` roll back and raise `dg.RetryRequested`, bounded by its
# `connection_retries` (2) and `retry_wait_seconds` (5). No op-wide `dg.RetryPolicy`: it
# would also retry data errors and whole-file failures, which fail the same way again.


def build_definitions(warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """All definitions; tests pass their own warehouse."""
    return dg.Definitions(
        assets=[
            *dg.load_assets_from_modules(
                [assets, analytics, subscriptions, people, paypal, dashboard]
            ),
            import_report,
        ],
        asset_checks=[
            *dg.load_asset_checks_from_modules([checks, analytics, subscriptions, people, paypal]),
        ],
        jobs=[
            import_job,
            analytics.analytics_job,
            subscriptions.subscriptions_import_job,
            people.people_import_job,
            paypal.paypal_import_job,
        ],
        schedules=[daily_import_schedule],
        sensors=[inbox_sensor],
        resources={
            "io_manager": frame_files_io_manager,
            "warehouse": warehouse or WarehouseResource(),
            "import_options": ImportOptions(),
            "analytics_options": analytics.AnalyticsOptions(),
        },
    )


defs = build_definitions()


def job_for_runs(job_name: str) -> dg.JobDefinition:
    """A job of `defs`, rebuilt from this module by name in the process that runs it.

    `run.run_job` hands `dg.execute_job` a reconstructable reference to this function, so the
    `starhouse` commands run every job as the UI and the daemon do. `execute_in_process`
    would keep every step's output in memory until the run ends (it captures them for its
    result object): for an import, the whole validated export for the length of the load.
    """
    return defs.resolve_job_def(job_name)
