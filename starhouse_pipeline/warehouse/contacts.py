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
from starhouse_pipeline.warehouse.staging import stage_frame
from starhouse_pipeline.warehouse.tables import CONTACT_EMAIL_KEY, contact_enrichment_log, contacts

_TEXT = sa.Text()


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


def read_contact_snapshot(connection: sa.Connection, emails: sa.Table) -> pl.DataFrame:
    """The contacts these customers match, locked until the transaction ends."""
    query = locking(
        connection,
        sa.select(
            contacts.c.id,
            CONTACT_EMAIL_KEY.label("email_key"),
            contacts.c.deleted_at.is_not(None).label("deleted"),
            *(contacts.c[field] for field in ENRICHABLE_FIELDS),
        ).join(emails, email_matches(connection, contacts, emails.c.email)),
        contacts,
    )
    rows = connection.execute(query).all()
    return pl.DataFrame(rows, schema=CONTACT_SNAPSHOT_SCHEMA, orient="row")


def create_contacts(connection: sa.Connection, to_create: pl.DataFrame, run_id: str) -> int:
    """Insert new contacts with their provenance; an email that appeared meanwhile is kept."""
    if to_create.is_empty():
        return 0
    records = to_create.with_columns(
        pl.when(pl.col("phone").is_not_null())
        .then(pl.lit(ENRICHMENT_SOURCE))
        .alias("phone_source"),
        pl.when(pl.col("address_line_1").is_not_null())
        .then(pl.lit(ENRICHMENT_SOURCE))
        .alias("billing_address_source"),
        pl.lit(SOURCE_SYSTEM).alias("source_system"),
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


def fill_phones(connection: sa.Connection, fills: pl.DataFrame) -> list[int]:
    """Fill empty phones; returns the ids actually filled."""
    if fills.is_empty():
        return []
    staged = stage_frame(
        connection,
        "stage_phone_fills",
        fills,
        {"contact_id": contact_key(connection), "phone": _TEXT},
    )
    statement = (
        sa.update(contacts)
        .where(contacts.c.id == staged.c.contact_id, blank(contacts.c.phone))
        .values(phone=staged.c.phone, phone_source=ENRICHMENT_SOURCE, updated_at=sa.func.now())
        .returning(contacts.c.id)
    )
    return [row.id for row in connection.execute(statement)]


def fill_addresses(connection: sa.Connection, fills: pl.DataFrame) -> list[int]:
    """Fill the empty fields of the address block where `address_line_1` is empty."""
    if fills.is_empty():
        return []
    types = {"contact_id": contact_key(connection), **dict.fromkeys(ADDRESS_FIELDS, _TEXT)}
    staged = stage_frame(connection, "stage_address_fills", fills, types)
    values = {
        field: sa.case((blank(contacts.c[field]), staged.c[field]), else_=contacts.c[field])
        for field in ADDRESS_FIELDS
    }
    statement = (
        sa.update(contacts)
        .where(contacts.c.id == staged.c.contact_id, blank(contacts.c.address_line_1))
        .values(**values, billing_address_source=ENRICHMENT_SOURCE, updated_at=sa.func.now())
        .returning(contacts.c.id)
    )
    return [row.id for row in connection.execute(statement)]


def apply_contact_plan(connection: sa.Connection, plan: ContactPlan, run_id: str) -> dict[str, int]:
    """Create, fill and log in one go; returns counts of what was written."""
    created = create_contacts(connection, plan.to_create, run_id)
    phones = fill_phones(connection, plan.phone_fills)
    addresses = fill_addresses(connection, plan.address_fills)
    log = enrichment_log_rows(
        plan.phone_fills.filter(pl.col("contact_id").is_in(phones)),
        plan.address_fills.filter(pl.col("contact_id").is_in(addresses)),
    )
    if not log.is_empty():
        connection.execute(
            contact_enrichment_log.insert(),
            log.with_columns(
                pl.lit(ENRICHMENT_SOURCE).alias("source"), pl.lit(run_id).alias("run_id")
            ).to_dicts(),
        )
    return {
        "contacts_created": created,
        "phones_filled": len(phones),
        "addresses_filled": len(addresses),
        "fields_filled": log.height,
    }


def contact_ids_for_emails(connection: sa.Connection, emails: sa.Table) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(emails.c.email, contacts.c.id).join(
            contacts, email_matches(connection, contacts, emails.c.email)
        )
    ).all()
    return pl.DataFrame(rows, schema={"email": pl.String, "contact_id": CRM_KEY}, orient="row")


def read_enrichment_log(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    """What a run filled: contact, field, value."""
    rows = connection.execute(
        sa.select(
            contact_enrichment_log.c.contact_id,
            contact_enrichment_log.c.field,
            contact_enrichment_log.c.value,
        ).where(contact_enrichment_log.c.run_id == run_id)
    ).all()
    return pl.DataFrame(
        rows, schema={"contact_id": CRM_KEY, "field": pl.String, "value": pl.String}, orient="row"
    )


def read_contact_fields(connection: sa.Connection, contact_ids: list[int]) -> pl.DataFrame:
    """Current enrichable fields of some contacts, for the no-overwrite check."""
    rows = connection.execute(
        sa.select(contacts.c.id, *(contacts.c[field] for field in ENRICHABLE_FIELDS)).where(
            contacts.c.id.in_(contact_ids)
        )
    ).all()
    schema = {"id": CRM_KEY, **dict.fromkeys(ENRICHABLE_FIELDS, pl.String)}
    return pl.DataFrame(rows, schema=schema, orient="row")
