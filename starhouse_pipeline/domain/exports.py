"""The exports this pipeline knows, and reading a file as one of them.

Adding an export: declare its spec in its own domain module (columns, id, typing, rules),
list it here, then give it a planner and assets (see docs/architecture.md).
"""

from __future__ import annotations

from pathlib import Path

from starhouse_pipeline.domain.export_spec import ExportSpec, recognize_line
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTIONS
from starhouse_pipeline.domain.paypal import PAYPAL_ACTIVITY
from starhouse_pipeline.domain.people import PEOPLE
from starhouse_pipeline.domain.reading import RawExport, first_line, read_export
from starhouse_pipeline.domain.subscriptions import SUBSCRIPTIONS

KNOWN_EXPORTS: tuple[ExportSpec, ...] = (TRANSACTIONS, SUBSCRIPTIONS, PEOPLE, PAYPAL_ACTIVITY)


def read(path: str | Path, spec: ExportSpec) -> RawExport:
    """Read `path` as the `spec` export; a wrong file's message says which export it looks like."""
    return read_export(path, spec, others=KNOWN_EXPORTS)


def read_transactions_export(path: str | Path) -> RawExport:
    return read(path, TRANSACTIONS)


def recognize_file(path: Path) -> ExportSpec | None:
    """Which known export a file is, by its header line (None for anything else)."""
    try:
        return recognize_line(first_line(path), KNOWN_EXPORTS)
    except OSError:
        return None
