"""The Kajabi People export against the contacts: what it matches, what it fills, conflicts.

Filling goes through `warehouse.contacts` (the one writer that never overwrites a contact);
what differs from a value already held is recorded in `contact_conflicts`, never applied.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.people import (
    PEOPLE_FIELDS,
    PEOPLE_SOURCE,
    SNAPSHOT_SCHEMA,
    PeoplePlan,
)
from starhouse_pipeline.warehouse.contacts import (
    create_contacts,
    fill_empty,
    log_fills,
    read_contact_snapshot,
    stage_emails,
)
from starhouse_pipeline.warehouse.crm import refused_rows
from starhouse_pipeline.warehouse.people_tables import contact_conflicts


def read_people_snapshot(connection: sa.Connection, emails: pl.Series) -> pl.DataFrame:
    """The contacts these people match, with the fields the People export may fill."""
    staged = stage_emails(connection, emails.unique())
    return read_contact_snapshot(connection, staged, PEOPLE_FIELDS, SNAPSHOT_SCHEMA)


def apply_people_plan(connection: sa.Connection, plan: PeoplePlan, run_id: str) -> dict[str, int]:
    """Create new contacts, fill only empty fields (logged), record conflicts; count all."""
    created = create_contacts(connection, plan.to_create, run_id, PEOPLE_SOURCE)
    filled = fill_empty(connection, plan.fills, PEOPLE_SOURCE)
    log_fills(connection, filled, PEOPLE_SOURCE, run_id)
    conflicts = plan.conflicts.with_columns(
        pl.lit(PEOPLE_SOURCE).alias("source"), pl.lit(run_id).alias("run_id")
    )
    if conflicts.height:
        connection.execute(contact_conflicts.insert(), conflicts.to_dicts())
    return {
        "contacts_created": created,
        "fields_filled": filled.height,
        "conflicts_reported": conflicts.height,
    }


def read_conflicts(connection: sa.Connection, run_id: str) -> pl.DataFrame:
    rows = connection.execute(
        sa.select(contact_conflicts.c.contact_id, contact_conflicts.c.field).where(
            contact_conflicts.c.run_id == run_id
        )
    ).all()
    return pl.DataFrame(rows, schema={"contact_id": CRM_KEY, "field": pl.String}, orient="row")


def refused_by_crm(connection: sa.Connection, valid: pl.DataFrame) -> pl.DataFrame:
    """The valid people (line, rule, reason) whose email the CRM's `contacts` CHECKs would
    refuse (a person the import may have to create as a contact)."""
    rows = valid.select(LINE_COLUMN, "email")
    return refused_rows(connection, "contacts", rows, {}).select(LINE_COLUMN, "rule", "reason")
