"""The generated exports the benchmark reads, cached in bench/cache/ by size and seed."""

from __future__ import annotations

import csv
import hashlib
import inspect
import os
import random
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

from starhouse_pipeline.domain.kajabi_transactions import TRANSACTION_COLUMNS
from starhouse_pipeline.samples import generator
from starhouse_pipeline.samples.generator import generate_export_rows, write_export

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"

NEW_SHARE = 0.01
CHANGED_SHARE = 0.005
_COL = {name: index for index, name in enumerate(TRANSACTION_COLUMNS)}


def _generator_version() -> str:
    """A fingerprint of the generator's source: a changed generator never reuses old files."""
    return hashlib.sha256(inspect.getsource(generator).encode()).hexdigest()[:8]


def _cached(n_rows: int, seed: int, suffix: str = "") -> Path:
    return CACHE_DIR / f"export_{n_rows}_seed{seed}_gen{_generator_version()}{suffix}.csv"


def base_export(n_rows: int, seed: int) -> Path:
    """A messy generated export of `n_rows` rows, written once and reused."""
    path = _cached(n_rows, seed)
    if not path.exists():
        _atomically(path, lambda tmp: write_export(tmp, n_rows, seed))
    return path


def newer_export(n_rows: int, seed: int) -> Path:
    """The base export as Kajabi would list it later: 1% new rows on top, 0.5% changed.

    New rows come from the generator with another seed and get IDs above every base ID;
    changed rows are base rows whose ID appears once, picked with a seeded draw: a pending or
    failed payment that succeeded since, or a corrected amount (sign kept).
    """
    path = _cached(n_rows, seed, "_newer")
    if path.exists():
        return path
    base = base_export(n_rows, seed)
    with base.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    ids = Counter(row[_COL["ID"]] for row in rows)
    rng = random.Random(seed + 10_007)
    singles = [index for index, row in enumerate(rows) if ids[row[_COL["ID"]]] == 1]
    for index in rng.sample(singles, round(len(rows) * CHANGED_SHARE)):
        _change(rows[index])
    next_id = max(int(row[_COL["ID"]]) for row in rows if row[_COL["ID"]].isdigit()) + 1
    fresh = []
    for offset, row in enumerate(generate_export_rows(round(n_rows * NEW_SHARE), seed + 1)):
        row[_COL["ID"]] = str(next_id + offset)
        fresh.append(row)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(fresh)
            writer.writerows(rows)

    _atomically(path, write)
    return path


def newer_counts(n_rows: int) -> tuple[int, int]:
    """(new rows, changed rows) in the newer export of a base of `n_rows`."""
    return round(n_rows * NEW_SHARE), round(n_rows * CHANGED_SHARE)


def _change(row: list[str]) -> None:
    status = _COL["Status"]
    if row[status] in ("pending", "failed"):
        row[status] = "succeeded"
        row[_COL["Failure Message"]] = ""
        return
    try:
        amount = Decimal(row[_COL["Amount"]])
    except InvalidOperation:
        row[status] = "pending"
        return
    step = Decimal("1.00") if amount >= 0 else Decimal("-1.00")
    row[_COL["Amount"]] = f"{amount + step:.2f}"


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def _atomically(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
