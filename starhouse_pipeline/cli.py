"""`starhouse`: the pipeline for people who do not open the Dagster UI.

`starhouse import` runs the same job through the Dagster instance, so the run, its checks
and its report show up in the UI like any other.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from starhouse_pipeline.settings import SAMPLE_CRM_DIR, SAMPLE_EXPORT


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="starhouse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    db = commands.add_parser("db", help="manage the warehouse schema and sample data")
    db_commands = db.add_subparsers(required=True)
    db_commands.add_parser("upgrade", help="apply the migrations").set_defaults(handler=_upgrade)
    sample = db_commands.add_parser("load-sample", help="load the sample CRM state (once)")
    sample.add_argument("directory", nargs="?", type=Path, default=SAMPLE_CRM_DIR)
    sample.set_defaults(handler=_load_sample)
    run = commands.add_parser("import", help="import one Kajabi transactions export")
    run.add_argument("path", nargs="?", type=Path, default=SAMPLE_EXPORT)
    run.add_argument("--dry-run", action="store_true", help="compute and report, write nothing")
    run.add_argument(
        "--max-quarantine-share",
        type=float,
        default=None,
        help="largest share of rows that may be quarantined before the load stops (default 0.01)",
    )
    run.set_defaults(handler=_import)
    dev = commands.add_parser("dev", help="the Dagster UI and daemon, bound to 127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(handler=_dev)
    return parser


def _engine():
    from starhouse_pipeline.warehouse.engine import create_warehouse_engine, database_url

    return create_warehouse_engine(database_url())


def _upgrade(_args: argparse.Namespace) -> int:
    from starhouse_pipeline.warehouse.engine import database_url, redacted
    from starhouse_pipeline.warehouse.migrate import current_revision, upgrade_database

    engine = _engine()
    upgrade_database(engine)
    print(f"warehouse {redacted(database_url())} is at revision {current_revision(engine)}")
    return 0


def _load_sample(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from starhouse_pipeline.warehouse.seed import load_crm_state
    from starhouse_pipeline.warehouse.tables import contacts

    with _engine().begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(contacts)).scalar():
            print("the warehouse already has contacts; sample CRM state not loaded again")
            return 0
        counts = load_crm_state(connection, args.directory)
    print("loaded sample CRM state: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def _import(args: argparse.Namespace) -> int:
    from starhouse_pipeline.run import run_import

    outcome = run_import(
        args.path.resolve(), dry_run=args.dry_run, max_quarantine_share=args.max_quarantine_share
    )
    if outcome.report:
        print(outcome.report)
    for problem in outcome.problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 0 if outcome.succeeded else 1


def _dev(args: argparse.Namespace) -> int:
    import os
    import signal

    from starhouse_pipeline.instance import prepare_dagster_home
    from starhouse_pipeline.settings import PROJECT_ROOT

    home = prepare_dagster_home()
    dg = Path(sys.executable).with_name("dg")
    workspace = PROJECT_ROOT / "workspace.yaml"
    command = [str(dg), "dev", "-h", "127.0.0.1", "-p", str(args.port), "-w", str(workspace)]
    # Dagster reads its instance settings from DAGSTER_HOME and warns that a dagster.yaml in the
    # folder it starts in "will not be used"; the project's is the template written into
    # DAGSTER_HOME, so the UI starts there, next to the settings it runs with.
    os.chdir(home)
    # Whoever started us may ignore SIGINT (a background job of a non-interactive shell does),
    # and exec keeps an ignored signal ignored: Python would never raise KeyboardInterrupt, and
    # Dagster maps SIGTERM to SIGINT's handling, so neither signal would stop the UI.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(command[0], command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
