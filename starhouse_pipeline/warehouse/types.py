"""Column types that keep money exact and timestamps in UTC on every dialect."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class UtcDateTime(sa.TypeDecorator[datetime]):
    """`timestamptz` on PostgreSQL; on SQLite, naive UTC text read back as aware UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime: the time zone would be lost")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _TypedByTheDatabase(sa.types.UserDefinedType[Any]):
    """A bound value sent without a cast, so PostgreSQL gives it the type of its column.

    The CRM declares keys as `uuid`, `bigint` identity, `serial` or `integer`, and codes as
    enum types or `citext`: a value compared with or written into such a column takes that
    column's type, as a literal in plain SQL would. DDL for tables the pipeline creates
    itself uses `ddl_type` (the contract's type, or the CRM's key type read by `crm.py`).
    """

    cache_ok = True

    def __init__(self, ddl_type: str = "TEXT") -> None:
        self.ddl_type = ddl_type

    def get_col_spec(self, **_kw: Any) -> str:
        return self.ddl_type


class CrmKey(sa.TypeDecorator[str]):
    """A key of a CRM table, or a reference to one, always handled as text in frames.

    Written without a cast (see `_TypedByTheDatabase`); read back as text whatever the
    database declares, so a uuid and a bigint key travel through polars alike.
    """

    impl = _TypedByTheDatabase
    cache_ok = True

    def __init__(self) -> None:
        super().__init__("BIGINT")

    @property
    def python_type(self) -> type[str]:
        return str

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return _TypedByTheDatabase("INTEGER" if dialect.name == "sqlite" else "BIGINT")

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class CrmText(sa.TypeDecorator[str]):
    """Text the CRM may declare as an enum type, `citext` or `varchar`: bound without a cast,
    so `status = 'completed'` compares as the database's own type does."""

    impl = _TypedByTheDatabase
    cache_ok = True

    @property
    def python_type(self) -> type[str]:
        return str

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


CENT = Decimal("0.01")


class Money(sa.TypeDecorator[Decimal]):
    """Dollars as `NUMERIC(12,2)` on every dialect, readable as dollars by any SQL client.

    SQLite's NUMERIC keeps a value as INTEGER or REAL (a float) and sqlite3 cannot bind a
    Decimal, so there a value is bound as the float nearest to it (`SELECT amount` shows
    22.05, or 22 for 22.00) and read back exactly: a float is rounded to whole cents, never
    used in Decimal arithmetic. Summing floats is not exact: sum with `money_sum`.
    """

    impl = sa.Numeric(12, 2, asdecimal=True)
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Raw values reach process_result_value: SQLAlchemy's own Decimal conversion
            # of a float is not the one wanted here.
            return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if value != value.quantize(CENT):
            raise ValueError(f"amount {value} has more than two decimal places")
        return float(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            return Decimal(_whole_cents(value)).scaleb(-2)
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _whole_cents(dollars: float) -> int:
    """A stored float's cents, rounded half away from zero as SQLite's ROUND does."""
    cents = math.floor(abs(dollars) * 100 + 0.5)
    return -cents if dollars < 0 else cents


class _MoneyTotal(sa.TypeDecorator[Decimal]):
    """The result of `money_sum`: integer cents on SQLite, NUMERIC on PostgreSQL, as dollars."""

    impl = sa.Numeric(asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)
        return Decimal(value).quantize(CENT)


class MoneySum(FunctionElement[Decimal]):
    """The SQL of `money_sum`, compiled per dialect below."""

    type = _MoneyTotal()
    name = "money_sum"
    inherit_cache = True


def money_sum(amount: sa.ColumnElement[Any]) -> MoneySum:
    """`SUM` of a money column (or expression), exact on every dialect, read as Decimal dollars.

    PostgreSQL sums NUMERIC exactly: `SUM(amount)`. SQLite would sum floats, so there every
    value becomes whole cents first and the integers are summed:
    `SUM(CAST(ROUND(amount * 100) AS INTEGER))`. NULL when there are no values, like SUM.
    """
    return MoneySum(amount)


@compiles(MoneySum)
def _sum_dollars(element: MoneySum, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(sa.func.sum(*element.clauses), **kw)


@compiles(MoneySum, "sqlite")
def _sum_whole_cents(element: MoneySum, compiler: SQLCompiler, **kw: Any) -> str:
    (amount,) = element.clauses
    cents = sa.cast(sa.func.round(amount * sa.literal_column("100")), sa.Integer)
    return compiler.process(sa.func.sum(cents), **kw)


def sqlite_storage_expressions(table: sa.Table, columns: list[str]) -> list[pl.Expr]:
    """The representation the types above give SQLite, as polars expressions for bulk loads.

    Money becomes the float nearest to its dollars (the one Python's `float(Decimal)` gives)
    and UtcDateTime naive UTC text, exactly as the type decorators would write them one value
    at a time.
    """
    expressions = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, Money) or _reflected_money(column_type):
            # polars casts a Decimal as one division of its exact integer by 100; dividing
            # by a literal in an expression would multiply by 0.01 (-3.05 would become
            # -3.0500000000000003), so no arithmetic happens here.
            expressions.append(pl.col(name).cast(pl.Float64).alias(name))
        elif isinstance(column_type, UtcDateTime):
            text = pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
            expressions.append(text.alias(name))
    return expressions


def _reflected_money(column_type: sa.types.TypeEngine) -> bool:
    """A NUMERIC column of a table read from the database (e.g. the CRM's own tables)."""
    return isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float)
