"""Reading and writing contacts, and the enrichment log.

Every fill is a conditional UPDATE that refuses to touch a non-empty field, so even a
concurrent edit between planning and writing cannot be overwritten.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.contacts import (
    ADDRESS_FIELDS,
    CONTACT_SNAPSHOT_SCHEMA,
    ENRICHABLE_FIELDS,
    ContactPlan,
    enrichment_log_rows,
)
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.settings import ENRICHMENT_SOURCE, SOURCE_SYSTEM
from starhouse_pipeline.warehouse.crm import crm_shape, email_matches
from starhouse_pipeline.warehouse.dialect import count_affected, locking, upsert_insert
from starhouse_pipeline.warehouse.staging import fetch_frame, stage_frame
from starhouse_pipeline.warehouse.tables import CONTACT_EMAIL_KEY, contact_enrichment_log, contacts

_TEXT = sa.Text()
FILL_SCHEMA = {"contact_id": CRM_KEY, "field": pl.String, "value": pl.String}


def blank(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """Empty in the CRM's sense: null, or nothing but whitespace."""
    return sa.or_(column.is_(None), sa.func.trim(column) == "")


def contact_key(connection: sa.Connection) -> sa.types.TypeEngine:
    """The type of `contacts.id` in this CRM, for staging contact ids to join on."""
    return crm_shape(connection).key_type("contacts")


def stage_emails(connection: sa.Connection, emails: pl.Series) -> sa.Table:
    return stage_frame(
        connection, "stage_customer_emails", emails.alias("email").to_frame(), {"email": _TEXT}
    )


def read_contact_snapshot(
    connection: sa.Connection,
    emails: sa.Table,
    fields: tuple[str, ...] = ENRICHABLE_FIELDS,
    schema: dict[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """The contacts these emails match, with `fields`, locked until the transaction ends."""
    query = locking(
        connection,
        sa.select(
            contacts.c.id,
            CONTACT_EMAIL_KEY.label("email_key"),
            contacts.c.deleted_at.is_not(None).label("deleted"),
            *(contacts.c[field] for field in fields),
        ).join(emails, email_matches(connection, contacts, emails.c.email)),
        contacts,
    )
    return fetch_frame(connection, query, schema or CONTACT_SNAPSHOT_SCHEMA)


def create_contacts(
    connection: sa.Connection,
    to_create: pl.DataFrame,
    run_id: str,
    source: str,
    source_system: str = SOURCE_SYSTEM,
) -> int:
    """Insert new contacts with their provenance; an email that appeared meanwhile is kept.

    `source` names where the values came from (`kajabi_transaction`, `kajabi_people`,
    `paypal_transaction`): it is the phone's and the address's source when the contact starts
    with one; `source_system` is the system the contact came from (`kajabi`, `paypal`).
    """
    if to_create.is_empty():
        return 0
    records = to_create.with_columns(
        pl.when(pl.col("phone").is_not_null()).then(pl.lit(source)).alias("phone_source"),
        pl.when(pl.col("address_line_1").is_not_null())
        .then(pl.lit(source))
        .alias("billing_address_source"),
        pl.lit(source_system).alias("source_system"),
        pl.lit(run_id).alias("created_by_run_id"),
    )
    staged = stage_frame(
        connection, "stage_new_contacts", records, dict.fromkeys(records.columns, _TEXT)
    )
    # `WHERE true` settles SQLite's parse of INSERT ... SELECT ... ON CONFLICT.
    # Timestamps set here rather than left to defaults an existing CRM table may not have.
    insert = upsert_insert(connection, contacts).from_select(
        [*records.columns, "created_at", "updated_at"],
        sa.select(
            *(staged.c[column] for column in records.columns), sa.func.now(), sa.func.now()
        ).where(sa.true()),
    )
    return count_affected(connection, insert.on_conflict_do_nothing())


def fill_empty(connection: sa.Connection, fills: pl.DataFrame, source: str) -> pl.DataFrame:
    """Fill contacts' empty fields (`fills`: contact_id, field, value); the fills written.

    The one writer of "never overwrite a contact": one conditional UPDATE per field, which
    refuses a field that is not empty (so even a concurrent edit is never overwritten). An
    address field is filled only while `address_line_1` is empty, which goes last, so the
    address block is filled as a whole or not at all; a filled phone or address records
    `source` as its provenance.
    """
    order = [f for f in fills.get_column("field").unique().sort() if f != "address_line_1"]
    written = []
    for field in [*order, "address_line_1"]:
        rows = fills.filter(pl.col("field") == field).select("contact_id", "value")
        if rows.is_empty():
            continue
        staged = stage_frame(
            connection,
            "stage_contact_fills",
            rows,
            {"contact_id": contact_key(connection), "value": _TEXT},
        )
        condition = [contacts.c.id == staged.c.contact_id, blank(contacts.c[field])]
        values: dict = {field: staged.c.value, "updated_at": sa.func.now()}
        if field in ADDRESS_FIELDS:
            condition.append(blank(contacts.c.address_line_1))
            values["billing_address_source"] = source
        if field == "phone":
            values["phone_source"] = source
        statement = sa.update(contacts).where(*condition).values(**values)
        ids = connection.execute(statement.returning(contacts.c.id)).scalars().all()
        written.append(
            rows.filter(pl.col("contact_id").is_in(ids)).with_columns(pl.lit(field).alias("field"))
        )
    if not written:
        return pl.DataFrame(schema=FILL_SCHEMA)
    return pl.concat(written).select(*FILL_SCHEMA)


def log_fills(connection: sa.Connection, filled: pl.DataFrame, source: str, run_id: str) -> None:
    """Every fill in `contact_enrichment_log`: contact, field, value, source, run, time."""
    if filled.height:
        log = filled.with_columns(source=pl.lit(source), run_id=pl.lit(run_id))
        connection.execute(contact_enrichment_log.insert(), log.to_dicts())


def apply_contact_plan(
    connection: sa.Connection,
    plan: ContactPlan,
    run_id: str,
    source: str = ENRICHMENT_SOURCE,
    source_system: str = SOURCE_SYSTEM,
) -> dict[str, int]:
    """Create, fill and log in one go; returns counts of what was written."""
    created = create_contacts(connection, plan.to_create, run_id, source, source_system)
    planned = enrichment_log_rows(plan.phone_fills, plan.address_fills)
    filled = fill_empty(connection, planned, source)
    log_fills(connection, filled, source, run_id)
    field = pl.col("field")
    return {
        "contacts_created": created,
        "phones_filled": filled.filter(field == "phone").height,
        "addresses_filled": filled.filter(field.is_in(ADDRESS_FIELDS))
        .get_column("contact_id")
        .n_unique(),
        "fields_filled": filled.height,
    }


def contact_ids_for_emails(connection: sa.Connection, emails: sa.Table) -> pl.DataFrame:
    query = sa.select(emails.c.email, contacts.c.id.label("contact_id")).join(
        contacts, email_matches(connection, contacts, emails.c.email)
    )
    return fetch_frame(connection, query, {"email": pl.String, "contact_id": CRM_KEY})


def read_enrichment_log(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    """What a run filled: contact, field, value."""
    rows = connection.execute(
        sa.select(
            contact_enrichment_log.c.contact_id,
            contact_enrichment_log.c.field,
            contact_enrichment_log.c.value,
        ).where(contact_enrichment_log.c.run_id == run_id)
    ).all()
    return pl.DataFrame(rows, schema=FILL_SCHEMA, orient="row")


def read_contact_fields(
    connection: sa.Connection, contact_ids: list[str], fields: tuple[str, ...] = ENRICHABLE_FIELDS
) -> pl.DataFrame:
    """Current values of some contacts' fields, for the no-overwrite checks."""
    rows = connection.execute(
        sa.select(contacts.c.id, *(contacts.c[field] for field in fields)).where(
            contacts.c.id.in_(contact_ids)
        )
    ).all()
    schema = {"id": CRM_KEY, **dict.fromkeys(fields, pl.String)}
    return pl.DataFrame(rows, schema=schema, orient="row")
