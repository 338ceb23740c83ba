"""`starhouse`: the pipeline for people who do not open the Dagster UI.

Every job has a command (`import`, `import-subscriptions`, `import-people`, `analytics`), and
each runs its job through the Dagster instance (`run.run_job`), so the run, its checks and
its report show up in the UI like any other. Results print as aligned tables.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starhouse_pipeline.samples.guard import ALLOW_SAMPLE_FLAG
from starhouse_pipeline.settings import SAMPLE_CRM_DIR

if TYPE_CHECKING:
    from rich.console import Console

    from starhouse_pipeline.run import JobRunOutcome

_ALLOW_SAMPLE_HELP = (
    "load the bundled sample data (invented customers and payments) even though the "
    "warehouse is not the embedded demo one; without it the sample is refused there"
)
_DRY_RUN_HELP = "compute and report everything, write nothing (the report says 'would ...')"


@dataclass(frozen=True)
class JobCommand:
    """A command that runs one job; `export` describes the PATH it takes, if any."""

    name: str
    job_name: str
    help: str
    export: str | None
    dry_run: bool
    show: Callable[[Console, JobRunOutcome], None]
    quarantine_share: bool = False


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="starhouse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    db = commands.add_parser("db", help="manage the warehouse schema and sample data")
    db_commands = db.add_subparsers(required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="apply the migrations").set_defaults(handler=_upgrade)
    plan = db_commands.add_parser(
        "plan",
        help="print what `db upgrade` would do to this database (writes nothing; exit status "
        "1 when the upgrade would refuse)",
    )
    plan.add_argument("--sql", action="store_true", help="print each SQL statement in full")
    plan.set_defaults(handler=_plan)
    sample = db_commands.add_parser(
        "load-sample",
        help="load the sample CRM state (once); only into the embedded demo warehouse",
        description="Load the bundled sample CRM state (contacts, products, transactions of "
        "invented customers) into the warehouse, once. Refused in any warehouse but the "
        f"embedded demo one unless {ALLOW_SAMPLE_FLAG} is given.",
    )
    sample.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=SAMPLE_CRM_DIR,
        help="folder of contacts.csv, products.csv, transactions.csv (default: the bundled one)",
    )
    sample.add_argument(
        ALLOW_SAMPLE_FLAG, dest="allow_sample", action="store_true", help=_ALLOW_SAMPLE_HELP
    )
    sample.set_defaults(handler=_load_sample)
    for command in JOB_COMMANDS:
        _add_job_command(commands, command)
    dashboard = commands.add_parser(
        "dashboard",
        help="recompute the metrics and open the revenue dashboard",
        description="Run analytics_job through the Dagster instance (the run shows in the UI), "
        "which writes the revenue dashboard, one HTML file that works offline, then open it "
        "in a browser (or print its path where there is no display).",
    )
    dashboard.add_argument(
        "--no-refresh",
        action="store_true",
        help="open the latest dashboard as it is, without recomputing the metrics",
    )
    dashboard.add_argument(
        "--no-open", action="store_true", help="print the dashboard's path, open no browser"
    )
    dashboard.set_defaults(handler=_dashboard)
    dev = commands.add_parser("dev", help="the Dagster UI and daemon, bound to 127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(handler=_dev)
    return parser


def _add_job_command(commands: argparse._SubParsersAction, command: JobCommand) -> None:
    runs = f"Runs {command.job_name} through the Dagster instance: the run shows in the UI."
    parser = commands.add_parser(
        command.name,
        help=command.help,
        description=f"{command.help[0].upper()}{command.help[1:]}. {runs}",
    )
    if command.export is not None:
        parser.add_argument("path", type=_export_file, metavar="PATH", help=command.export)
        parser.add_argument(
            ALLOW_SAMPLE_FLAG, dest="allow_sample", action="store_true", help=_ALLOW_SAMPLE_HELP
        )
    if command.dry_run:
        parser.add_argument("--dry-run", action="store_true", help=_DRY_RUN_HELP)
    if command.quarantine_share:
        parser.add_argument(
            "--max-quarantine-share",
            type=float,
            default=None,
            metavar="SHARE",
            help="largest share of rows that may be quarantined before the load stops "
            "(default 0.01, i.e. 1 %%)",
        )
    parser.set_defaults(handler=lambda args: _run_job_command(command, args))


def _export_file(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path.resolve()


def _run_job_command(command: JobCommand, args: argparse.Namespace) -> int:
    from starhouse_pipeline.run import run_job

    options: dict[str, object] = {}
    if command.export is not None and args.allow_sample:
        options["allow_sample_in_this_warehouse"] = True
    if command.dry_run and args.dry_run:
        options["dry_run"] = True
    if command.quarantine_share:
        options["max_quarantine_share"] = args.max_quarantine_share
    outcome = run_job(command.job_name, getattr(args, "path", None), **options)
    console = _console()
    command.show(console, outcome)
    _show_checks(console, outcome)
    # Unwrapped, so a message can be searched for and copied whole.
    for warning in outcome.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    for problem in outcome.problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    console.print(f"Run {outcome.run_id} of {outcome.job_name}; the UI (make dev) shows it.")
    return 0 if outcome.succeeded else 1


def _console() -> Console:
    """Standard output as a rich console; piped output gets 100 columns rather than 80."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 100)
    return Console(width=width, highlight=False)


def _print_markdown(console: Console, markdown: str) -> None:
    from rich.markdown import Markdown

    console.print(Markdown(markdown, hyperlinks=False))


def _show_import(console: Console, outcome: JobRunOutcome) -> None:
    if outcome.report:
        _print_markdown(console, outcome.report)


def _show_export_import(asset: str, title: str, sections: dict[str, str]):
    """How an export import shows: title, summary, counts, then its tables by metadata key."""

    def show(console: Console, outcome: JobRunOutcome) -> None:
        metadata = outcome.materializations.get(asset)
        if metadata is None:
            return
        dry_run = " (DRY RUN: nothing was written)" if metadata.get("dry_run") else ""
        parts = [f"# {title}{dry_run}", f"- {metadata['summary']}", "## Counts", metadata["counts"]]
        for key, heading in sections.items():
            if key in metadata:
                parts += [f"## {heading}", metadata[key]]
        _print_markdown(console, "\n\n".join(parts))

    return show


def _show_analytics(console: Console, outcome: JobRunOutcome) -> None:
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    table = Table(title="Revenue analytics", title_justify="left", box=SIMPLE_HEAD)
    table.add_column("asset", no_wrap=True)
    table.add_column("latest")
    for asset, metadata in outcome.materializations.items():
        table.add_row(asset, str(metadata.get("summary", "")))
    console.print(table)


def _show_checks(console: Console, outcome: JobRunOutcome) -> None:
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    if not outcome.checks:
        return
    table = Table(title="Checks", title_justify="left", box=SIMPLE_HEAD)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("note", min_width=30)
    for check in outcome.checks:
        if check.metadata.get("skipped") is True:
            result = "skipped"
        elif check.passed:
            result = "passed"
        else:
            result = "FAILED" if check.fails_run else "warning"
        table.add_row(check.name, result, check.description or "")
    console.print(table)


JOB_COMMANDS = (
    JobCommand(
        "import",
        "import_job",
        "import one Kajabi transactions export into contacts, products and transactions",
        export="a Kajabi transactions export (Sales → Payments → Transactions → Export), CSV",
        dry_run=True,
        quarantine_share=True,
        show=_show_import,
    ),
    JobCommand(
        "import-subscriptions",
        "subscriptions_import_job",
        "import one Kajabi Subscriptions export into the subscriptions table",
        export="a Kajabi Subscriptions export (Sales → Subscriptions → Export), CSV",
        dry_run=True,
        show=_show_export_import(
            "kajabi_subscriptions",
            "Kajabi Subscriptions import",
            {
                "by_status": "By status",
                "unmapped_offers": "Offers without a product",
                "quarantine_by_rule": "Quarantined rows",
            },
        ),
    ),
    JobCommand(
        "import-people",
        "people_import_job",
        "merge one Kajabi People export into contacts, never overwriting a value",
        export="a Kajabi People export (Contacts → Export), CSV",
        dry_run=True,
        show=_show_export_import(
            "kajabi_people", "Kajabi People import", {"conflicts_by_field": "Differing values"}
        ),
    ),
    JobCommand(
        "import-paypal",
        "paypal_import_job",
        "import one PayPal activity export into contacts and transactions (non-sales skipped)",
        export="a PayPal activity export (Activity → Download, all transactions, tab-delimited)",
        dry_run=True,
        quarantine_share=True,
        show=_show_import,
    ),
    JobCommand(
        "analytics",
        "analytics_job",
        "recompute every revenue metric from what the warehouse holds",
        export=None,
        dry_run=False,
        show=_show_analytics,
    ),
)


def _engine():
    from starhouse_pipeline.warehouse.engine import create_warehouse_engine, database_url

    return create_warehouse_engine(database_url())


def _upgrade(_args: argparse.Namespace) -> int:
    from starhouse_pipeline.warehouse.engine import database_url, redacted
    from starhouse_pipeline.warehouse.migrate import (
        UpgradeRefused,
        current_revision,
        upgrade_database,
    )

    engine = _engine()
    try:
        upgrade_database(engine)
    except UpgradeRefused as refused:
        print("db upgrade refused, changing nothing:", file=sys.stderr)
        print("\n".join(f"  - {reason}" for reason in refused.reasons), file=sys.stderr)
        return 1
    print(f"warehouse {redacted(database_url())} is at revision {current_revision(engine)}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from starhouse_pipeline.warehouse.engine import database_url, redacted
    from starhouse_pipeline.warehouse.migrate import describe, plan_upgrade

    plan = plan_upgrade(_engine())
    print(f"warehouse {redacted(database_url())}, at revision {plan.from_revision or 'none'}")
    if plan.refusals:
        print("db upgrade would refuse, changing nothing:")
        print("\n".join(f"  - {reason}" for reason in plan.refusals))
        return 1
    if not plan.statements:
        print("db upgrade has nothing to do")
        return 0
    print(f"db upgrade would bring it to revision {plan.to_revision}:")
    for statement in plan.statements:
        print(f"  - {statement if args.sql else describe(statement)}")
    return 0


def _load_sample(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from starhouse_pipeline.samples.guard import SampleRefused, refuse_sample_outside_embedded
    from starhouse_pipeline.warehouse.engine import database_url
    from starhouse_pipeline.warehouse.seed import load_crm_state
    from starhouse_pipeline.warehouse.tables import contacts

    try:
        refuse_sample_outside_embedded(args.directory, database_url(), allowed=args.allow_sample)
    except SampleRefused as refusal:
        print(f"REFUSED: {refusal}", file=sys.stderr)
        return 1
    with _engine().begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(contacts)).scalar():
            print("the warehouse already has contacts; sample CRM state not loaded again")
            return 0
        counts = load_crm_state(connection, args.directory)
    print("loaded sample CRM state: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import dagster as dg

    from starhouse_pipeline.defs.dashboard import dashboard_path
    from starhouse_pipeline.instance import prepare_dagster_home

    if not args.no_refresh:
        analytics = next(command for command in JOB_COMMANDS if command.name == "analytics")
        status = _run_job_command(analytics, args)
        if status:
            return status
    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        path = dashboard_path(instance)
    if not path.exists():
        print(
            f"no revenue dashboard at {path} yet: run `starhouse dashboard` without "
            "--no-refresh (or `starhouse analytics`) first",
            file=sys.stderr,
        )
        return 1
    print(f"revenue dashboard: {path.as_uri()}")
    if not args.no_open and _has_display():
        import webbrowser

        webbrowser.open(path.as_uri())
    return 0


def _has_display() -> bool:
    """A browser can be shown: a desktop session, not a server's terminal (where Python's
    webbrowser would start a text browser in it)."""
    import os

    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


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
