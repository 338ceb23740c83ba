"""What an export is to the pipeline: its columns, its id, its typing and its rules.

One reader (`domain/reading.py`) and one validator (`domain/validation.py`) serve every
export through its `ExportSpec`; what differs per export after validation is its planner
(products, contacts, subscriptions, ...). `map_header` lines a file's header up with a spec
and `recognize` says which export a header belongs to (the inbox sensor routes files by it).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from starhouse_pipeline.domain.fields import Rule


class ExportContractError(ValueError):
    """The file is not an export this pipeline can read as the spec says."""


@dataclass(frozen=True)
class ExportSpec:
    """One kind of export, declared.

    `typed_columns` and `row_rules` are expressions over the raw text columns (every column
    of `columns` is present; absent optional ones are null). `id_column` is the typed column
    holding the row's own id (quarantine rows are keyed by it); rows repeating
    `duplicate_key` collapse when identical and are quarantined when they differ. A
    non-null `skip_label` marks a row that is read but not imported (a PayPal card purchase):
    it is counted under that label, never quarantined.
    """

    name: str  # "Kajabi transactions": how messages name the export
    columns: tuple[str, ...]
    required: tuple[str, ...]
    id_column: str
    typed_columns: Callable[[], list[pl.Expr]]
    row_rules: Callable[[], list[Rule]]
    duplicate_key: str | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = ","
    # Other separators the same export is saved with (PayPal offers comma CSV beside tabs);
    # the reader takes the one under which the header is this export's.
    other_delimiters: tuple[str, ...] = ()
    # A pandera DataFrameModel run on rows that pass the rules, with a reason per check.
    model: type | None = None
    model_reasons: Mapping[str, str] = field(default_factory=dict)
    skip_label: Callable[[], pl.Expr] | None = None
    # The raw column holding the person's email (masked in samples people see).
    email_column: str | None = None
    # How to get a usable file, said when the file is not one.
    how_to_export: str = ""
    # Columns whose presence says a header is this export (for `recognize`).
    signature: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return self.duplicate_key or self.id_column


@dataclass(frozen=True)
class HeaderMapping:
    """How a file's header lines up with the spec."""

    canonical_names: tuple[str, ...]
    missing_optional: tuple[str, ...]
    extra: tuple[str, ...]


def unnamed_column(position: int) -> str:
    """The name given to a column whose header cell is blank (a spreadsheet adds these)."""
    return f"(unnamed column {position})"


def is_unnamed_column(name: str) -> bool:
    return name.startswith("(unnamed column ")


def normalize_header(name: str) -> str:
    """Case, spacing and punctuation ignored: `Order No.`, `order no` and `ORDER  NO` agree."""
    cleaned = re.sub(r"[^\w\s]", " ", name.replace("\ufeff", ""))
    return " ".join(cleaned.split()).casefold()


def map_header(
    spec: ExportSpec, file_name: str, header: Sequence[str], others: Sequence[ExportSpec] = ()
) -> HeaderMapping:
    """Match a header to the spec, tolerating case, spacing, order and extra columns.

    Raises ExportContractError naming the file and the missing required columns (and, when
    the header is one of the `others`, which export it looks like).
    """
    by_normal = {normalize_header(column): column for column in spec.columns}
    by_normal |= {alias: column for alias, column in spec.aliases.items() if alias not in by_normal}
    canonical = tuple(
        by_normal.get(normalize_header(name), name.strip()) or unnamed_column(position)
        for position, name in enumerate(header, start=1)
    )
    duplicated = sorted({name for name in canonical if canonical.count(name) > 1})
    if duplicated:
        raise ExportContractError(f"{file_name}: header repeats column(s) {', '.join(duplicated)}")
    present = set(canonical)
    missing_required = [column for column in spec.required if column not in present]
    if missing_required:
        raise ExportContractError(
            f"{file_name}: not a usable {spec.name} export: missing required "
            f"column(s) {', '.join(missing_required)}{_looks_like(spec, header, others)}"
        )
    return HeaderMapping(
        canonical_names=canonical,
        missing_optional=tuple(c for c in spec.columns if c not in present),
        extra=tuple(name for name in canonical if name not in spec.columns),
    )


def header_fields(line: str, delimiter: str) -> list[str]:
    """`line` split as a header row under `delimiter`; none when it does not parse so."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def recognize_line(
    line: str, specs: Sequence[ExportSpec], *, except_delimiter: str | None = None
) -> ExportSpec | None:
    """The export whose header `line` is, under any of that export's separators (but
    `except_delimiter`)."""
    for spec in specs:
        for delimiter in (spec.delimiter, *spec.other_delimiters):
            if delimiter != except_delimiter and recognize(header_fields(line, delimiter), [spec]):
                return spec
    return None


def with_delimiter_of(spec: ExportSpec, header_line: str) -> ExportSpec:
    """`spec` read with whichever of its separators splits `header_line` into its header
    (its own delimiter when none does, so the reader's message names that one)."""
    for delimiter in (spec.delimiter, *spec.other_delimiters):
        if recognize(header_fields(header_line, delimiter), [spec]) is not None:
            return spec if delimiter == spec.delimiter else replace(spec, delimiter=delimiter)
    return spec


def recognize(header: Sequence[str], specs: Sequence[ExportSpec]) -> ExportSpec | None:
    """The export whose signature the header carries (names compared as `map_header` does)."""
    names = {normalize_header(name) for name in header}
    for spec in specs:
        # An alias counts as the column it names (`Time Zone` for `TimeZone`).
        present = names | {normalize_header(spec.aliases[n]) for n in names if n in spec.aliases}
        if {normalize_header(name) for name in spec.signature} <= present:
            return spec
    return None


def _looks_like(spec: ExportSpec, header: Sequence[str], others: Sequence[ExportSpec]) -> str:
    other = recognize(header, [o for o in others if o.name != spec.name])
    if other is not None:
        return f" (the header looks like a {other.name} export)"
    present = {normalize_header(name) for name in header}
    if present.isdisjoint(normalize_header(name) for name in spec.required):
        return " (the header has none of the required columns: it looks like another CSV)"
    return ""
