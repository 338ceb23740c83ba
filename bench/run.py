"""`make bench`: the import beside the physical floor and the alternatives, in one run.

For each size, on the same generated file and the same PostgreSQL server, every method runs
`--repeats` times in a subprocess of its own (the methods take turns, so a slow minute on a
busy machine does not land on one method only), each against a fresh database. The table
shows the median seconds, rows per second, the ratio to the floor and the peak RSS of the
method's whole process tree; the JSON under bench/results/ keeps every run. Run it with
`python -m bench.run --help` for the options.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import exports, postgres
from bench.measure import MIB, CommandFailed, Sample, run_measured
from starhouse_pipeline.settings import PROJECT_ROOT, REPORTS_DIR
from starhouse_pipeline.warehouse.engine import create_warehouse_engine
from starhouse_pipeline.warehouse.migrate import upgrade_database

RESULTS_DIR = exports.BENCH_DIR / "results"
SAMPLE_SIZE = 4_403  # the operator's real export, which the old script took ~30 s for
TEMPLATE = postgres.RUN_PREFIX + "loaded_template"
GIB = 1024 * MIB

# (key, label) in the order the table shows them.
METHODS: tuple[tuple[str, str], ...] = (
    ("floor", "floor: psql \\copy into an unlogged all-text table"),
    ("crm_floor", "CRM write floor: psql \\copy of the import's rows into `transactions`"),
    ("project", "project import in process (PostgreSQL)"),
    ("cli", "project via `starhouse import` (PostgreSQL)"),
    ("sqlite", "project in process (embedded SQLite)"),
    ("sqlite_floor", "SQLite write floor: executemany of the same rows, one transaction"),
    ("dlt", "dlt merge on ID, csv loader (PostgreSQL)"),
    ("dlt_parquet", "dlt merge on ID, parquet loader via ADBC (PostgreSQL)"),
    ("old", "old script: per-row Python, INSERT x500"),
    ("reimport", "project re-import, unchanged file"),
    ("newer", "project import of newer export (+1% new, 0.5% changed)"),
)
LABELS = dict(METHODS)
SAMPLE_METHODS: tuple[tuple[str, str], ...] = (
    ("sample_cli", f"`starhouse import` of {SAMPLE_SIZE:,} rows (embedded SQLite)"),
    ("sample_project", f"project in process, {SAMPLE_SIZE:,} rows (PostgreSQL)"),
)
LABELS.update(SAMPLE_METHODS)


@dataclass
class MethodRuns:
    method: str
    rows: int
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return bool(self.samples)

    @property
    def median_seconds(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return max(sample.peak_rss_bytes for sample in self.samples) / MIB

    def as_dict(self, floor: float | None, write_floor: float | None = None) -> dict:
        median = self.median_seconds if self.measured else None
        return {
            "method": self.method,
            "label": LABELS[self.method],
            "rows": self.rows,
            "median_seconds": round(median, 3) if median else None,
            "rows_per_second": round(self.rows / median) if median else None,
            "ratio_to_floor": round(median / floor, 2) if median and floor else None,
            "ratio_to_write_floor": (
                round(median / write_floor, 2) if median and write_floor else None
            ),
            "peak_rss_mib": round(self.peak_rss_mib, 1) if self.measured else None,
            "failures": self.failures,
            "runs": [
                {
                    "seconds": round(sample.seconds, 3),
                    "wall_seconds": round(sample.wall_seconds, 3),
                    "peak_rss_mib": round(sample.peak_rss_bytes / MIB, 1),
                    **sample.details,
                }
                for sample in self.samples
            ],
        }


EMPTY = MethodRuns("floor", 0)
RSS_METHODS = ("project", "cli", "reimport", "newer")
# The write floor each method's first write is read against: its own database's.
WRITE_FLOOR_OF = {"project": "crm_floor", "cli": "crm_floor", "sqlite": "sqlite_floor"}


class Bench:
    """Runs the methods for one export and keeps their samples."""

    def __init__(
        self, path: Path, rows: int, seed: int, timeout: float, max_rss_bytes: int
    ) -> None:
        self.path = path
        self.rows = rows
        self.seed = seed
        self.limits = {"timeout": timeout, "max_rss_bytes": max_rss_bytes}
        self.python = sys.executable
        self.starhouse = str(Path(sys.executable).with_name("starhouse"))
        self.has_template = False
        self._crm_dump: tempfile.TemporaryDirectory | None = None

    def _driver(self, method: str, url: str, path: Path, *extra: str) -> Sample:
        command = [self.python, "-m", "bench.drivers", method, "--url", url, "--file", str(path)]
        return run_measured([*command, *extra], cwd=PROJECT_ROOT, **self.limits)

    def floor(self) -> Sample:
        with postgres.scratch_database("floor") as name:
            postgres.create_floor_table(name)
            sample = run_measured(
                postgres.psql_copy_command(name, str(self.path)),
                env={"PGCLIENTENCODING": "UTF8"},
                **self.limits,
            )
            sample.details["rows_loaded"] = postgres.count_rows(name, postgres.FLOOR_TABLE)
        return sample

    def crm_rows(self) -> Path:
        """The loaded template's `transactions` rows as the import wrote them (untimed, once)."""
        self.ensure_template()
        if self._crm_dump is None:
            self._crm_dump = tempfile.TemporaryDirectory(prefix="starhouse_bench_crm_rows_")
            path = Path(self._crm_dump.name) / "transactions.csv"
            postgres.dump_transactions(TEMPLATE, str(path))
        return Path(self._crm_dump.name) / "transactions.csv"

    def crm_floor(self) -> Sample:
        """Only the COPY of the import's final rows into a fresh, migrated warehouse is timed."""
        rows = self.crm_rows()
        with postgres.scratch_database("crm_floor") as name:
            engine = create_warehouse_engine(postgres.sqlalchemy_url(name))
            upgrade_database(engine)
            engine.dispose()
            postgres.copy_tables(TEMPLATE, name, postgres.CRM_PARENT_TABLES)
            sample = run_measured(
                postgres.crm_write_command(name, str(rows)), env=postgres.PSQL_ENV, **self.limits
            )
            sample.details["rows_loaded"] = postgres.count_rows(name, "transactions")
        return sample

    def sqlite_floor(self) -> Sample:
        rows = self.crm_rows()
        source = postgres.sqlalchemy_url(TEMPLATE)
        with tempfile.TemporaryDirectory(prefix="starhouse_bench_sqlite_") as directory:
            url = f"sqlite:///{Path(directory) / 'warehouse.db'}"
            return self._driver("sqlite_floor", url, rows, "--source", source)

    def project(self) -> Sample:
        with postgres.scratch_database("project") as name:
            sample = self._driver("project", postgres.sqlalchemy_url(name), self.path)
            if not self.has_template:
                self._keep_as_template(name)
        return sample

    def _keep_as_template(self, name: str) -> None:
        """The first full import becomes the loaded state re-imports start from."""
        postgres.create_database(TEMPLATE, template=name)
        self.has_template = True

    def ensure_template(self) -> None:
        if self.has_template:
            return
        with postgres.scratch_database("template_build") as name:
            self._driver("project", postgres.sqlalchemy_url(name), self.path)
            self._keep_as_template(name)

    def reimport(self) -> Sample:
        return self._from_loaded("reimport", self.path)

    def newer(self) -> Sample:
        return self._from_loaded("newer", exports.newer_export(self.rows, self.seed))

    def _from_loaded(self, method: str, path: Path) -> Sample:
        self.ensure_template()
        with postgres.scratch_database(method, template=TEMPLATE) as name:
            return self._driver("project", postgres.sqlalchemy_url(name), path, "--no-migrate")

    def cli(self) -> Sample:
        with postgres.scratch_database("cli") as name:
            return self._starhouse_import(postgres.sqlalchemy_url(name), self.path)

    def _starhouse_import(self, url: str, path: Path) -> Sample:
        with tempfile.TemporaryDirectory(prefix="starhouse_bench_home_") as home:
            env = {"STARHOUSE_DATABASE_URL": url, "DAGSTER_HOME": home}
            env.pop("DAGSTER_POSTGRES_URL", None)
            subprocess.run(
                [self.starhouse, "db", "upgrade"],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
            sample = run_measured([self.starhouse, "import", str(path)], env=env, **self.limits)
        _remove_cli_report(sample.output)
        return sample

    def sqlite(self) -> Sample:
        with tempfile.TemporaryDirectory(prefix="starhouse_bench_sqlite_") as directory:
            url = f"sqlite:///{Path(directory) / 'warehouse.db'}"
            return self._driver("project", url, self.path)

    def dlt(self) -> Sample:
        return self._dlt("dlt")

    def dlt_parquet(self) -> Sample:
        return self._dlt("dlt_parquet")

    def _dlt(self, method: str) -> Sample:
        with postgres.scratch_database(method) as name:
            sample = self._driver(method, postgres.sqlalchemy_url(name), self.path)
            sample.details["rows_loaded"] = postgres.count_rows(name, "transactions", "kajabi")
        return sample

    def old(self) -> Sample:
        with postgres.scratch_database("old") as name:
            return self._driver("old", postgres.sqlalchemy_url(name), self.path)

    def sample_cli(self) -> Sample:
        with tempfile.TemporaryDirectory(prefix="starhouse_bench_sqlite_") as directory:
            return self._starhouse_import(f"sqlite:///{Path(directory) / 'w.db'}", self.path)

    def sample_project(self) -> Sample:
        with postgres.scratch_database("sample") as name:
            return self._driver("project", postgres.sqlalchemy_url(name), self.path)

    def close(self) -> None:
        if self._crm_dump is not None:
            self._crm_dump.cleanup()
            self._crm_dump = None
        if self.has_template:
            postgres.drop_database(TEMPLATE)
            self.has_template = False


def _remove_cli_report(output: str) -> None:
    """`starhouse import` writes its report under data/reports/; the benchmark's go again."""
    for run_id in set(re.findall(r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-", output)):
        (REPORTS_DIR / f"import-{run_id}.md").unlink(missing_ok=True)


def run_methods(
    bench: Bench, methods: Sequence[str], repeats: int, log: Callable[[str], None]
) -> dict[str, MethodRuns]:
    runs: dict[str, MethodRuns] = {}
    for repeat in range(1, repeats + 1):
        for method in methods:
            rows = bench.rows
            if method == "newer":
                rows = exports.count_rows(exports.newer_export(bench.rows, bench.seed))
            entry = runs.setdefault(method, MethodRuns(method, rows))
            try:
                sample = getattr(bench, method)()
            except (CommandFailed, subprocess.TimeoutExpired) as error:
                entry.failures.append(str(error)[-3000:])
                log(f"  [{repeat}/{repeats}] {method:<15} FAILED: {str(error)[:300]}")
                continue
            entry.samples.append(sample)
            log(
                f"  [{repeat}/{repeats}] {method:<15} {sample.seconds:9.2f} s  "
                f"peak {sample.peak_rss_bytes / MIB:7.1f} MiB  {_short(sample.details)}"
            )
    return runs


def _short(details: dict) -> str:
    return json.dumps(details, sort_keys=True)[:160] if details else ""


# ---------------------------------------------------------------------------------------------
# Targets of issue 13 (and issue 3's that still stand), judged on ratios measured in this run


@dataclass(frozen=True)
class Target:
    name: str
    met: bool | None  # None: not measured in this run
    measured: str


def judge_targets(
    by_size: dict[int, dict[str, MethodRuns]], sample: dict[str, MethodRuns]
) -> list[Target]:
    targets: list[Target] = []
    for size, runs in sorted(by_size.items()):
        targets.extend(_size_targets(size, runs))
    sample = {method: entry for method, entry in sample.items() if entry.measured}
    if "sample_cli" in sample:
        seconds = sample["sample_cli"].median_seconds
        targets.append(
            Target(
                f"{SAMPLE_SIZE:,}-row sample through `starhouse import` < 10 s",
                seconds < 10,
                f"{seconds:.2f} s",
            )
        )
    if "sample_project" in sample:
        seconds = sample["sample_project"].median_seconds
        targets.append(
            Target(
                f"in-process import of {SAMPLE_SIZE:,} rows < 1 s (issue 3)",
                seconds < 1,
                f"{seconds:.2f} s",
            )
        )
    return targets


def _size_targets(size: int, runs: dict[str, MethodRuns]) -> list[Target]:
    tag = _size_label(size)
    killed = [
        method
        for method in RSS_METHODS
        if method in runs and any("RSS" in failure for failure in runs[method].failures)
    ]
    runs = {method: entry for method, entry in runs.items() if entry.measured}
    floor = runs.get("floor")
    targets: list[Target] = []

    def ratio(method: str) -> float | None:
        if method not in runs or floor is None:
            return None
        return runs[method].median_seconds / floor.median_seconds

    def limit(name: str, value: float | None, bound: float, unit: str = "x floor") -> None:
        if value is None:
            targets.append(Target(f"{tag}: {name}", None, "not measured"))
        else:
            targets.append(Target(f"{tag}: {name}", value <= bound, f"{value:.2f} {unit}"))

    def write_ratio(method: str, write_floor: str) -> float | None:
        if method not in runs or write_floor not in runs:
            return None
        return runs[method].median_seconds / runs[write_floor].median_seconds

    # Issue 13 replaces issue 3's "full import <= 5x floor": the CRM table's own write
    # (foreign keys, JSONB, unique key, indexes) is the first import's bound, not the raw COPY.
    limit(
        "full import <= 1.2x CRM write floor",
        write_ratio("project", "crm_floor"),
        1.2,
        "x write floor",
    )
    if "cli" in runs:
        limit(
            "`starhouse import` <= 1.2x CRM write floor",
            write_ratio("cli", "crm_floor"),
            1.2,
            "x write floor",
        )
    limit("re-import unchanged <= 2x floor", ratio("reimport"), 2)
    limit("newer export (+1%) <= 2x floor", ratio("newer"), 2)
    peak = max((runs[m].peak_rss_mib for m in RSS_METHODS if m in runs), default=None)
    name = "peak RSS <= 1.5 GiB" if size >= 5_000_000 else "peak RSS <= 1 GiB"
    if size >= 1_000_000 and killed:
        targets.append(Target(f"{tag}: {name}", False, f"killed at the RSS limit: {killed}"))
    elif size >= 5_000_000:
        limit(name, peak, 1536, "MiB")
    elif size >= 1_000_000:
        limit(name, peak, 1024, "MiB")
    # Issue 3's that still stand. dlt is taken at its faster loader (csv or parquet): issue 13
    # asks for its fastest format as the fair comparison.
    dlt = [runs[m] for m in ("dlt", "dlt_parquet") if m in runs]
    if dlt and "project" in runs:
        fastest = min(dlt, key=lambda entry: entry.median_seconds)
        speedup = fastest.median_seconds / runs["project"].median_seconds
        targets.append(
            Target(
                f"{tag}: full import >= 2x faster than dlt's fastest loader (issue 3)",
                speedup >= 2,
                f"{speedup:.2f}x against {fastest.method}",
            )
        )
    limit("SQLite <= 10x PostgreSQL floor (issue 3)", ratio("sqlite"), 10)
    return targets


# ---------------------------------------------------------------------------------------------
# Output


def table_rows(by_size: dict[int, dict[str, MethodRuns]], sample: dict[str, MethodRuns]):
    rows = []
    for _size, runs in sorted(by_size.items()):
        floor = runs["floor"].median_seconds if runs.get("floor", EMPTY).measured else None
        for key, _ in METHODS:
            if key not in runs:
                continue
            write_floor = runs.get(WRITE_FLOOR_OF.get(key, ""), EMPTY)
            write_seconds = write_floor.median_seconds if write_floor.measured else None
            rows.append(runs[key].as_dict(floor, write_seconds))
    rows.extend(sample[key].as_dict(None) for key, _ in SAMPLE_METHODS if key in sample)
    return rows


def step_medians(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Median seconds per Dagster step, for each project method that reported its steps."""
    medians: dict[str, dict[str, float]] = {}
    for row in rows:
        per_step: dict[str, list[float]] = {}
        for run in row["runs"]:
            for step, seconds in run.get("steps", {}).items():
                per_step.setdefault(step, []).append(seconds)
        if per_step:
            ordered = sorted(per_step.items(), key=lambda item: -statistics.median(item[1]))
            key = f"{row['method']} {row['rows']:,}"
            medians[key] = {step: round(statistics.median(v), 2) for step, v in ordered}
    return medians


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| method | rows | median s | rows/s | × floor | × write floor | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row["median_seconds"] is None:
            lines.append(f"| {row['label']} | {row['rows']:,} | failed | – | – | – | – |")
            continue
        ratio = f"{row['ratio_to_floor']:.2f}" if row["ratio_to_floor"] is not None else "–"
        write = row.get("ratio_to_write_floor")
        write_ratio = f"{write:.2f}" if write is not None else "–"
        lines.append(
            f"| {row['label']} | {row['rows']:,} | {row['median_seconds']:.2f} | "
            f"{row['rows_per_second']:,} | {ratio} | {write_ratio} | {row['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines)


def targets_text(targets: list[Target]) -> str:
    marks = {True: "MET", False: "NOT MET", None: "not measured"}
    return "\n".join(f"- {marks[t.met]}: {t.name} ({t.measured})" for t in targets)


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in (
        "dagster",
        "polars",
        "sqlalchemy",
        "psycopg",
        "dlt",
        "pyarrow",
        "adbc-driver-postgresql",
    ):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / GIB, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": postgres.server_version(),
        "packages": versions,
        "git_commit": commit,
    }


def _size_label(size: int) -> str:
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{name}"
    return str(size)


def _parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default="100k,1M",
        help="comma-separated export sizes in rows, e.g. 20000 or 100k,1M (default: 100k,1M)",
    )
    parser.add_argument("--with-5m", action="store_true", help="also run 5M rows (slow)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (default: 3)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default: 7)")
    parser.add_argument(
        "--methods",
        default=",".join(key for key, _ in METHODS),
        help="comma-separated subset of: " + ", ".join(key for key, _ in METHODS),
    )
    parser.add_argument("--no-sample", action="store_true", help="skip the 4,403-row checks")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds before one run is abandoned"
    )
    parser.add_argument(
        "--max-rss-gib",
        type=float,
        default=round(psutil.virtual_memory().total * 0.75 / GIB, 1),
        help="kill a run whose process tree passes this RSS (default: 75%% of the RAM)",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default: bench/results/...)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = [_parse_size(size) for size in args.sizes.split(",") if size.strip()]
    if args.with_5m and 5_000_000 not in sizes:
        sizes.append(5_000_000)
    methods = [method.strip() for method in args.methods.split(",") if method.strip()]
    unknown = set(methods) - {key for key, _ in METHODS}
    if unknown:
        sys.exit(f"unknown methods: {', '.join(sorted(unknown))}")
    if args.repeats < 1:
        sys.exit("--repeats must be at least 1")
    if "floor" in methods and not postgres.psql_available():
        sys.exit("psql is needed for the floor (apt-get install postgresql-client)")

    def log(message: str) -> None:
        print(message, flush=True)  # noqa: T201

    max_rss = int(args.max_rss_gib * GIB)
    left = postgres.drop_leftovers()
    if left:
        log(f"dropped databases left by an interrupted run: {', '.join(left)}")
    started = time.time()
    info = machine()
    log(f"machine: {info['cpu']}, {info['logical_cpus']} CPUs, {info['memory_gib']} GiB")
    by_size: dict[int, dict[str, MethodRuns]] = {}
    sample: dict[str, MethodRuns] = {}
    try:
        for size in sorted(sizes):
            log(f"{_size_label(size)} rows: preparing the export (cached in bench/cache/)")
            path = exports.base_export(size, args.seed)
            bench = Bench(path, size, args.seed, args.timeout, max_rss)
            if "newer" in methods:
                exports.newer_export(size, args.seed)
            try:
                by_size[size] = run_methods(bench, methods, args.repeats, log)
            finally:
                bench.close()
        if not args.no_sample:
            log(f"{SAMPLE_SIZE:,} rows: the sample-sized checks")
            path = exports.base_export(SAMPLE_SIZE, args.seed)
            bench = Bench(path, SAMPLE_SIZE, args.seed, args.timeout, max_rss)
            sample = run_methods(bench, [key for key, _ in SAMPLE_METHODS], args.repeats, log)
    finally:
        postgres.drop_leftovers()
    rows = table_rows(by_size, sample)
    targets = judge_targets(by_size, sample)
    log("")
    log(markdown_table(rows))
    steps = step_medians(rows)
    for method, per_step in steps.items():
        slowest = ", ".join(f"{step} {seconds:.1f}" for step, seconds in list(per_step.items())[:5])
        log(f"slowest steps, {method} (median s): {slowest}")
    log("")
    log("Targets of issue 13, and issue 3's that still stand (ratios from this run):")
    log(targets_text(targets))
    result = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(time.time() - started),
        "machine": info,
        "settings": {
            "sizes": sorted(sizes),
            "repeats": args.repeats,
            "seed": args.seed,
            "methods": methods,
        },
        "results": rows,
        "targets": [{"target": t.name, "met": t.met, "measured": t.measured} for t in targets],
        "step_medians": steps,
        "markdown": markdown_table(rows),
    }
    output = args.output or RESULTS_DIR / (
        f"{datetime.now(UTC):%Y-%m-%d}_{'-'.join(_size_label(s) for s in sorted(sizes))}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = output.relative_to(PROJECT_ROOT) if output.is_relative_to(PROJECT_ROOT) else output
    log(f"\nwritten {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
