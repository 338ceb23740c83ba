"""Column types that keep money exact and timestamps in UTC on every dialect."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Dialect


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

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


class Money(sa.TypeDecorator[Decimal]):
    """`NUMERIC(12,2)` on PostgreSQL; integer cents on SQLite, whose NUMERIC is a float.

    Storing cents keeps SQLite's SUM exact, so reconciliation is exact on both databases.
    """

    impl = sa.Numeric(12, 2, asdecimal=True)
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if value != value.quantize(Decimal("0.01")):
            raise ValueError(f"amount {value} has more than two decimal places")
        return int(value * 100) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


def sqlite_storage_expressions(table: sa.Table, columns: list[str]) -> list[pl.Expr]:
    """The representation the types above give SQLite, as polars expressions for bulk loads.

    Money becomes integer cents and UtcDateTime naive UTC text, exactly as the type
    decorators would write them one value at a time.
    """
    expressions = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, Money):
            cents = (pl.col(name) * 100).cast(pl.Int64, strict=True)
            expressions.append(cents.alias(name))
        elif isinstance(column_type, UtcDateTime):
            text = pl.col(name).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
            expressions.append(text.alias(name))
    return expressions
