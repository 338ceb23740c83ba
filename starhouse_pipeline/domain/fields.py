"""What every export's typing is made of: a trimmed text field, a row rule, exact types,
and the verdicts (first failing rule, every reason) the validator quarantines by.

An export's spec (`domain/export_spec.py`) lists its typing expressions and its rules in
these terms; `type_rows` applies them to a batch of raw text rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

MONEY = pl.Decimal(12, 2)
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
QUARANTINE_RULE = "quarantine_rule"
QUARANTINE_REASON = "quarantine_reason"
# Set by the reader: the line each record starts on, and on a record whose field count
# differs from the header's, what is wrong with its shape.
LINE_COLUMN = "_line"
STRUCTURE_ERROR_COLUMN = "_structure_error"
MAX_FIELD_CHARS = 65_536


@dataclass(frozen=True)
class Rule:
    """A row-level rule: `fails` is true where the row breaks it; `reason` explains why.

    `screen`, when given, is a cheaper condition true wherever `fails` is: every row is
    screened, and only screened rows pay for `fails` and `reason`.
    """

    name: str
    fails: pl.Expr
    reason: pl.Expr
    screen: pl.Expr | None = None

    @property
    def may_fail(self) -> pl.Expr:
        return (self.fails if self.screen is None else self.screen).fill_null(False)


def text(column: str) -> pl.Expr:
    """A field with surrounding whitespace removed; empty becomes null."""
    stripped = pl.col(column).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def structure_rules() -> list[Rule]:
    """The rules every export starts with: a record shaped like its header, no huge field."""
    return [
        Rule(
            "well_formed_row",
            pl.col(STRUCTURE_ERROR_COLUMN).is_not_null(),
            pl.col(STRUCTURE_ERROR_COLUMN),
        ),
        Rule(
            "field_size",
            pl.max_horizontal(pl.col(pl.String).exclude(STRUCTURE_ERROR_COLUMN).str.len_bytes())
            > MAX_FIELD_CHARS,
            pl.lit(f"a field is longer than {MAX_FIELD_CHARS} bytes"),
        ),
    ]


def type_rows(
    raw_rows: pl.DataFrame, typed_columns: Sequence[pl.Expr], rules: Sequence[Rule]
) -> pl.DataFrame:
    """The raw rows plus their typed columns, the first failing rule and every reason."""
    typed = raw_rows.with_columns(typed_columns)
    may_break_a_rule = pl.any_horizontal(rule.may_fail for rule in rules)
    screened = typed.select(may_break_a_rule).to_series().arg_true()
    # Verdicts are worked out only for the rows that may need one (usually a handful per
    # batch): formatting reasons for every row cost as much as typing the rows.
    verdicts = _verdicts(typed[screened], rules)
    failing = verdicts.get_column(QUARANTINE_RULE).is_not_null()
    verdicts, screened = verdicts.filter(failing), screened.filter(failing)
    return typed.with_columns(
        _scattered(verdicts, QUARANTINE_RULE, screened, typed.height),
        _scattered(verdicts, QUARANTINE_REASON, screened, typed.height),
    )


def _verdicts(rows: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """The first failing rule and every reason of each row (both null where none fails)."""
    failing = [pl.when(rule.fails.fill_null(False)).then(rule.reason) for rule in rules]
    first_rule = pl.coalesce(
        pl.when(rule.fails.fill_null(False)).then(pl.lit(rule.name)) for rule in rules
    )
    # A ragged row's values sit under the wrong headers: only its shape is reported.
    all_reasons = pl.concat_str(failing, separator="; ", ignore_nulls=True).replace("", None)
    structure = (
        pl.col(STRUCTURE_ERROR_COLUMN) if STRUCTURE_ERROR_COLUMN in rows.columns else pl.lit(None)
    )
    return rows.select(
        first_rule.alias(QUARANTINE_RULE),
        pl.coalesce(structure, all_reasons).cast(pl.String).alias(QUARANTINE_REASON),
    )


def _scattered(verdicts: pl.DataFrame, column: str, rows: pl.Series, height: int) -> pl.Series:
    """`verdicts[column]` placed at `rows` of an otherwise empty column of `height`."""
    empty = pl.repeat(None, height, dtype=pl.String, eager=True).alias(column)
    return empty.scatter(rows, verdicts.get_column(column)) if rows.len() else empty
