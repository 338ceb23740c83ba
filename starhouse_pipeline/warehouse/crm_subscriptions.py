"""Filling the CRM's own `subscriptions` table from the Kajabi Subscriptions import.

The operator's CRM keeps subscriptions in a table of its own shape (uuid keys, an enum of
statuses, `billing_cycle`, `start_date`, ...). Where it has one, each imported subscription
is matched on `kajabi_subscription_id`: a new one is inserted; an existing one has a field
set only when that field is empty or still holds what the pipeline wrote last time. A value
a person put there (anything else) is never overwritten, and is counted as kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.subscriptions import CRM_SUBSCRIPTION_COLUMNS, in_crm_terms
from starhouse_pipeline.warehouse.crm import crm_shape, reflected_table, refused_rows
from starhouse_pipeline.warehouse.dialect import count_affected
from starhouse_pipeline.warehouse.staging import stage_like

CRM_TABLE = "subscriptions"
KEY = "kajabi_subscription_id"


def crm_has_subscriptions(connection: sa.Connection) -> bool:
    return crm_shape(connection).has(CRM_TABLE)


def refused_by_crm(connection: sa.Connection, valid: pl.DataFrame) -> pl.DataFrame:
    """The valid subscriptions (line, rule, reason) the CRM `subscriptions` table's CHECKs or
    enums would refuse; none where the CRM has no such table."""
    if not crm_has_subscriptions(connection):
        return pl.DataFrame(schema={LINE_COLUMN: pl.Int64, "rule": pl.String, "reason": pl.String})
    rows = in_crm_terms(valid, LINE_COLUMN)
    return refused_rows(connection, CRM_TABLE, rows, {}).select(LINE_COLUMN, "rule", "reason")


@dataclass(frozen=True)
class CrmSubscriptionCounts:
    inserted: int
    updated: int
    person_values_kept: int
    without_product: int

    def as_metadata(self) -> dict[str, int]:
        return {
            "crm_subscriptions_inserted": self.inserted,
            "crm_subscriptions_updated": self.updated,
            "crm_values_kept_as_a_person_set_them": self.person_values_kept,
            "crm_subscriptions_without_product": self.without_product,
        }


def fill_crm_subscriptions(
    connection: sa.Connection, rows: pl.DataFrame, last_written: pl.DataFrame, *, dry_run: bool
) -> CrmSubscriptionCounts:
    """Insert new subscriptions into the CRM table and fill what the rules allow.

    `rows` and `last_written` are in the CRM table's terms (`crm_subscription_rows`): this
    export's values, and the values the pipeline wrote for the same ids before this run.
    """
    table = reflected_table(connection, CRM_TABLE)
    columns = [c for c in CRM_SUBSCRIPTION_COLUMNS if c in table.c and c in rows.columns]
    new = stage_like(connection, "stage_crm_subscriptions", table, columns, [rows.select(columns)])
    held = sa.exists().where(table.c[KEY] == new.c[KEY])
    if dry_run:
        inserted = connection.execute(
            sa.select(sa.func.count()).select_from(new).where(~held)
        ).scalar_one()
        return CrmSubscriptionCounts(inserted, 0, 0, _without_product(connection, table))
    before = stage_like(
        connection, "stage_crm_subscriptions_before", table, columns, [last_written.select(columns)]
    )
    source, fields = _source(new, before, columns), [c for c in columns if c != KEY]
    kept = _person_values(connection, table, source, fields)
    updated = _update_existing(connection, table, source, fields)
    inserted = _insert_new(connection, table, new, columns, held)
    return CrmSubscriptionCounts(inserted, updated, kept, _without_product(connection, table))


def _insert_new(
    connection: sa.Connection,
    table: sa.Table,
    new: sa.Table,
    columns: list[str],
    held: sa.Exists,
) -> int:
    stamps = [c for c in ("created_at", "updated_at") if c in table.c]
    insert = table.insert().from_select(
        [*columns, *stamps],
        sa.select(*(new.c[c] for c in columns), *(sa.func.now() for _ in stamps)).where(~held),
    )
    return count_affected(connection, insert)


def _source(new: sa.Table, before: sa.Table, columns: list[str]) -> sa.Subquery:
    """This export's values beside what the pipeline wrote last (null where it wrote nothing)."""
    return (
        sa.select(
            *(new.c[c] for c in columns),
            *(before.c[c].label(f"before_{c}") for c in columns if c != KEY),
        )
        .select_from(new.outerjoin(before, before.c[KEY] == new.c[KEY]))
        .subquery()
    )


def _ours_to_set(table: sa.Table, source: sa.Subquery, column: str) -> sa.ColumnElement[bool]:
    """The CRM field may take the export's value: empty, or still the pipeline's last value."""
    current = table.c[column]
    return sa.or_(current.is_(None), current.is_not_distinct_from(source.c[f"before_{column}"]))


def _differs(table: sa.Table, source: sa.Subquery, column: str) -> sa.ColumnElement[bool]:
    return table.c[column].is_distinct_from(source.c[column])


def _update_existing(
    connection: sa.Connection, table: sa.Table, source: sa.Subquery, fields: list[str]
) -> int:
    values = {
        c: sa.case((_ours_to_set(table, source, c), source.c[c]), else_=table.c[c]) for c in fields
    }
    if "updated_at" in table.c:
        values["updated_at"] = sa.func.now()
    changes = [sa.and_(_ours_to_set(table, source, c), _differs(table, source, c)) for c in fields]
    update = sa.update(table).where(table.c[KEY] == source.c[KEY], sa.or_(*changes))
    return count_affected(connection, update.values(values))


def _person_values(
    connection: sa.Connection, table: sa.Table, source: sa.Subquery, fields: list[str]
) -> int:
    """How many fields hold a value a person set that differs from the export's (kept)."""
    kept = [
        sa.func.count().filter(sa.and_(~_ours_to_set(table, source, c), _differs(table, source, c)))
        for c in fields
    ]
    query = sa.select(*kept).select_from(table.join(source, table.c[KEY] == source.c[KEY]))
    return sum(connection.execute(query).one())


def _without_product(connection: sa.Connection, table: sa.Table) -> int:
    """Subscriptions in the CRM table (from any source) that still have no product."""
    if "product_id" not in table.c:
        return 0
    query = sa.select(sa.func.count()).select_from(table).where(table.c.product_id.is_(None))
    return connection.execute(query).scalar_one()
