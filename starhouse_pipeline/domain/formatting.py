"""Numbers as people read them, in one place: the report, the UI's text metadata, the terminal.

Money is the ISO currency code, then the amount with thousands separators and two decimals
(`USD 112,115.00`, `USD -8,787.00`): one form for every currency, no symbol guessed. Rates
are percentages (`7.55 %`), counts have thousands separators (`4,403`), identifiers stay as
they are (`2148020969`). Numeric metadata that Dagster plots stays numeric; these are only
for what people read.

`display_frame` applies the same rules to a whole frame by column type and name, so every
table (Markdown for the UI and the report files, aligned text in the terminal) agrees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

CENT = Decimal("0.01")
CURRENCY_COLUMN = "currency"

# Float columns holding a ratio shown as a percentage; `lift` is a multiple (2.50×).
_RATE_NAME = re.compile(r"(^|_)(rate|share|support|retention|confidence)(_|$)")
_MULTIPLE_NAMES = frozenset({"lift"})
_IDENTIFIER_NAME = re.compile(r"(^|_)id$")


def money(amount: Decimal | float | int | None, currency: str | None = None) -> str:
    """`USD 112,115.00`; without a currency just `112,115.00`; empty for no amount."""
    if amount is None:
        return ""
    value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    return f"{currency} {text}" if currency else text


def money_by_currency(amounts: dict[str, Decimal]) -> str:
    """Several currencies' amounts in one line (`EUR 425.00, USD 112,115.00`), or `none`."""
    return ", ".join(money(amounts[c], c) for c in sorted(amounts)) or "none"


def percent(rate: float | Decimal | None, decimals: int = 2) -> str:
    """A ratio as a percentage: 0.0755 -> `7.55 %`; empty for an undefined rate."""
    if rate is None:
        return ""
    return f"{float(rate) * 100:,.{decimals}f} %"


def count(value: int | None) -> str:
    """`4,403`; empty for no value."""
    return "" if value is None else f"{int(value):,}"


def multiple(value: float | None) -> str:
    """A ratio read as "times": 2.5 -> `2.50×`."""
    return "" if value is None else f"{value:,.2f}×"


def is_rate_column(name: str) -> bool:
    return bool(_RATE_NAME.search(name))


def display_frame(frame: pl.DataFrame, *, rates: Iterable[str] = ()) -> pl.DataFrame:
    """`frame` with every value as the text a person reads (all columns strings).

    Decimal columns are money in the row's `currency` (the column is then dropped: every
    amount names its currency); integer columns are counts unless named like an id; float
    columns named like a rate (`refund_rate`, `support`, ...) or listed in `rates` are
    percentages, `lift` a multiple, other floats two decimals. Nulls become empty text.
    """
    rates = set(rates)
    money_columns = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    currencies = (
        frame.get_column(CURRENCY_COLUMN).to_list()
        if money_columns and CURRENCY_COLUMN in frame.columns
        else [None] * frame.height
    )
    columns = {}
    for name, dtype in frame.schema.items():
        if name == CURRENCY_COLUMN and money_columns:
            continue
        values = frame.get_column(name).to_list()
        if name in money_columns:
            cells = [money(v, c) for v, c in zip(values, currencies, strict=True)]
        else:
            cells = [_cell(name, dtype, v, name in rates) for v in values]
        columns[name] = pl.Series(name, cells, dtype=pl.String)
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def numeric_columns(frame: pl.DataFrame) -> list[str]:
    """The columns a table should right-align: numbers and money."""
    return [
        name
        for name, dtype in frame.schema.items()
        if (dtype.is_numeric() or isinstance(dtype, pl.Decimal))
        and not _IDENTIFIER_NAME.search(name)
    ]


def _cell(name: str, dtype: pl.DataType, value: object, is_rate: bool) -> str:
    if value is None:
        return ""
    if dtype.is_integer() and not isinstance(value, bool):
        return str(value) if _IDENTIFIER_NAME.search(name) else count(value)
    if dtype.is_float():
        if is_rate or is_rate_column(name):
            return percent(value)
        if name in _MULTIPLE_NAMES:
            return multiple(value)
        return f"{value:,.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def markdown_table(
    frame: pl.DataFrame, max_rows: int = 50, *, rates: Iterable[str] = (), what: str = "rows"
) -> str:
    """A small frame as a Markdown table with numbers for people, numbers right-aligned.

    The Dagster UI renders it; the terminal shows it aligned (see `starhouse_pipeline.cli`).
    When rows are cut, the table says how many of how many it shows.
    """
    if frame.is_empty():
        return "_none_"
    right = set(numeric_columns(frame))
    shown = display_frame(frame.head(max_rows), rates=rates)
    lines = [
        "| " + " | ".join(_escape(c) for c in shown.columns) + " |",
        "|" + "".join("---:|" if c in right else "---|" for c in shown.columns),
    ]
    lines.extend("| " + " | ".join(_escape(v) for v in row) + " |" for row in shown.iter_rows())
    if frame.height > max_rows:
        lines.append(f"\n_first {count(max_rows)} of {count(frame.height)} {what} shown_")
    return "\n".join(lines)


def _escape(value: str) -> str:
    """A value safe inside a Markdown table cell: no pipes, no line breaks."""
    return " ".join(value.split()).replace("|", "\\|")


def label(labels: dict[str, tuple[str, str]], key: str, dry_run: bool) -> str:
    """What a count is called after a run, or on a dry run ("would ...")."""
    done, would = labels.get(key, (key.replace("_", " "),) * 2)
    return would if dry_run else done


def counts_frame(
    counts: dict[str, int], labels: dict[str, tuple[str, str]], dry_run: bool
) -> pl.DataFrame:
    """Counts as a (what, count) table, each named as `labels` says for a run or a dry run."""
    return pl.DataFrame(
        {
            "what": [label(labels, key, dry_run) for key in counts],
            "count": [int(value) for value in counts.values()],
        },
        schema={"what": pl.String, "count": pl.Int64},
    )
