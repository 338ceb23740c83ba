"""The PayPal source in the warehouse: product aliases, the candidates for the same payment
in both sources, and the record of the pairs found.

Which rows could be the same payment is a question of the CRM's `transactions`: Kajabi's
completed sales charged through PayPal (`payment_processor` paypal) and PayPal's completed
payments. The pairs are replaced whole each time, so a corrected export or a changed window
never leaves a stale pair behind.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.cross_source import INPUT_COLUMNS, SamePayments
from starhouse_pipeline.domain.cross_source import same_payments as same_payments_in
from starhouse_pipeline.domain.fields import MONEY
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.paypal import SOURCE_SYSTEM as PAYPAL
from starhouse_pipeline.settings import SOURCE_SYSTEM as KAJABI
from starhouse_pipeline.warehouse.paypal_tables import product_aliases, same_payments
from starhouse_pipeline.warehouse.tables import transactions

_AS_TEXT = sa.Text()
_CANDIDATE_SCHEMA = {
    "transaction_id": CRM_KEY,
    "external_transaction_id": pl.String,
    "contact_id": CRM_KEY,
    "amount": MONEY,
    "currency": pl.String,
    "transaction_date": pl.Datetime("us", "UTC"),
}


def read_product_aliases(connection: sa.Connection) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(product_aliases.c.title, product_aliases.c.product_id)
    ).all()
    return pl.DataFrame(rows, schema={"title": pl.String, "product_id": CRM_KEY}, orient="row")


def _completed_sales(source_system: str) -> list[sa.ColumnElement[bool]]:
    # As text: an existing CRM may declare these columns as enums.
    return [
        transactions.c.source_system == source_system,
        sa.cast(transactions.c.status, _AS_TEXT) == "completed",
        sa.cast(transactions.c.transaction_type, _AS_TEXT) != "refund",
        transactions.c.contact_id.is_not(None),
    ]


def read_candidates(connection: sa.Connection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(Kajabi's completed sales charged through PayPal, PayPal's completed payments).

    PayPal's are read first: without any, no Kajabi row can pair, and a warehouse of Kajabi
    rows only is never read whole after each of its imports."""
    paypal = _read(connection, _completed_sales(PAYPAL))
    through_paypal = sa.func.lower(sa.cast(transactions.c.payment_processor, _AS_TEXT)) == PAYPAL
    kajabi = [*_completed_sales(KAJABI), through_paypal]
    if paypal.is_empty():
        return pl.DataFrame(schema=_CANDIDATE_SCHEMA).select(INPUT_COLUMNS), paypal
    return _read(connection, kajabi), paypal


def _read(connection: sa.Connection, where: list[sa.ColumnElement[bool]]) -> pl.DataFrame:
    columns = [
        transactions.c.id.label("transaction_id"),
        *(transactions.c[name] for name in INPUT_COLUMNS[1:]),
    ]
    rows = connection.execute(sa.select(*columns).where(*where)).all()
    return pl.DataFrame(rows, schema=_CANDIDATE_SCHEMA, orient="row").select(INPUT_COLUMNS)


def record_same_payments(connection: sa.Connection, run_id: str, window: timedelta) -> SamePayments:
    """Find the payments in both sources as `transactions` holds them now and record them in
    place of the previous record (in the caller's transaction, with the load that changed
    them)."""
    kajabi, paypal = read_candidates(connection)
    found = same_payments_in(kajabi, paypal, window)
    replace_same_payments(connection, found, run_id)
    return found


def replace_same_payments(connection: sa.Connection, found: SamePayments, run_id: str) -> None:
    """Record the pairs (and the ambiguous candidates, never counted out) in place of the
    previous record."""
    connection.execute(sa.delete(same_payments))
    rows = pl.concat(
        [
            found.pairs.with_columns(ambiguous=pl.lit(False)),
            found.ambiguous.select(found.pairs.columns).with_columns(ambiguous=pl.lit(True)),
        ]
    ).with_columns(recorded_by_run_id=pl.lit(run_id))
    if rows.height:
        connection.execute(same_payments.insert(), rows.to_dicts())


def paypal_side_of_pairs() -> sa.Select:
    """The PayPal transactions recorded as the same payment as a Kajabi one: every metric
    leaves them out, so each real payment counts once."""
    return sa.select(same_payments.c.paypal_transaction_id).where(~same_payments.c.ambiguous)


def count_pairs(connection: sa.Connection) -> int:
    """How many payments are recorded as being in both sources (ambiguous rows not)."""
    return connection.execute(
        sa.select(sa.func.count()).select_from(paypal_side_of_pairs().subquery())
    ).scalar_one()
