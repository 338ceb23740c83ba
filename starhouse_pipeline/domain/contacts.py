"""Planning contact enrichment: match by normalized email, fill only what is empty.

Existing values are never overwritten. An existing contact's empty phone is filled from the
customer's billing phone; when its `address_line_1` is empty, the empty fields of the address
block are filled from the billing address. Customers with no contact become new contacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.latest import latest_per_key

ADDRESS_FIELDS = ("address_line_1", "address_line_2", "city", "state", "postal_code", "country")
ENRICHABLE_FIELDS = ("phone", *ADDRESS_FIELDS)
# Where a filled phone or address came from.
ENRICHMENT_PROVENANCE = ("phone_source", "billing_address_source")
# What `customers_in_export` reads of each valid row.
CUSTOMER_COLUMNS = ("transaction_date", "email", "customer_name", *ENRICHABLE_FIELDS)
CONTACT_SNAPSHOT_SCHEMA = {
    "id": CRM_KEY,
    "email_key": pl.String,
    "deleted": pl.Boolean,
    **dict.fromkeys(ENRICHABLE_FIELDS, pl.String),
}


@dataclass(frozen=True)
class ContactPlan:
    """What the export means for the contacts table."""

    to_create: pl.DataFrame  # email, first_name, last_name, phone, address fields
    phone_fills: pl.DataFrame  # contact_id, phone
    address_fills: pl.DataFrame  # contact_id, address fields (null where not to fill)
    matched: pl.DataFrame  # email, contact_id for customers that already have a contact


def is_blank(column: str) -> pl.Expr:
    """Empty in the CRM's sense: null, or nothing but whitespace."""
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def customers_in_export(valid: pl.DataFrame | Iterable[pl.DataFrame]) -> pl.DataFrame:
    """One row per customer email with their latest name, phone and full billing address
    (`latest_per_key`: the latest row that has it; the address block as one value, from the
    latest row with a first address line). `valid` may come a batch at a time (parts by
    email keep the picks small: `ValidatedExport.valid_partitions`)."""
    customers = latest_per_key(valid, "email", _PICKS)
    return customers.select("email", "customer_name", "phone", *ADDRESS_FIELDS).sort("email")


_PICKS = {
    "customer_name": ("customer_name",),
    "phone": ("phone",),
    "address_line_1": ADDRESS_FIELDS,
}


def plan_contacts(customers: pl.DataFrame, existing: pl.DataFrame) -> ContactPlan:
    """Decide which contacts to create and which empty fields to fill."""
    joined = customers.join(
        existing.rename({field: f"_crm_{field}" for field in ENRICHABLE_FIELDS}),
        left_on="email",
        right_on="email_key",
        how="left",
    )
    new = joined.filter(pl.col("id").is_null())
    known = joined.filter(pl.col("id").is_not_null())
    fillable = known.filter(~pl.col("deleted").fill_null(False))
    phone_fills = fillable.filter(is_blank("_crm_phone") & pl.col("phone").is_not_null()).select(
        pl.col("id").alias("contact_id"), "phone"
    )
    address_fills = fillable.filter(
        is_blank("_crm_address_line_1") & pl.col("address_line_1").is_not_null()
    ).select(
        pl.col("id").alias("contact_id"),
        *(
            pl.when(is_blank(f"_crm_{field}")).then(pl.col(field)).alias(field)
            for field in ADDRESS_FIELDS
        ),
    )
    return ContactPlan(
        to_create=_new_contacts(new),
        phone_fills=phone_fills,
        address_fills=address_fills,
        matched=known.select("email", pl.col("id").alias("contact_id")),
    )


def _new_contacts(new: pl.DataFrame) -> pl.DataFrame:
    name = pl.col("customer_name").fill_null("").str.strip_chars()
    first = name.str.extract(r"^(\S+)", 1)
    last = name.str.extract(r"(?s)^\S+\s+(.+)$", 1)
    return new.select(
        "email",
        first.alias("first_name"),
        last.alias("last_name"),
        "phone",
        *ADDRESS_FIELDS,
    )


def enrichment_log_rows(phone_fills: pl.DataFrame, address_fills: pl.DataFrame) -> pl.DataFrame:
    """One row per filled field: contact_id, field, value."""
    phone = phone_fills.select(
        "contact_id", pl.lit("phone").alias("field"), pl.col("phone").alias("value")
    )
    address = address_fills.unpivot(
        index="contact_id", on=list(ADDRESS_FIELDS), variable_name="field", value_name="value"
    ).filter(pl.col("value").is_not_null())
    return pl.concat([phone, address]).sort("contact_id", "field")


@dataclass(frozen=True)
class ContactOutcome:
    """What enrichment did: email → contact id, the pre-write snapshot, and counts."""

    dry_run: bool
    contact_ids: pl.DataFrame  # email, contact_id
    snapshot: pl.DataFrame
    counts: dict[str, int]


def planned_counts(plan: ContactPlan) -> dict[str, int]:
    """The counts a dry run reports: what applying the plan would write."""
    return {
        "contacts_created": plan.to_create.height,
        "phones_filled": plan.phone_fills.height,
        "addresses_filled": plan.address_fills.height,
        "fields_filled": enrichment_log_rows(plan.phone_fills, plan.address_fills).height,
    }


# -- proving "never overwrite": one rule, used by every import's check ---------------------


def values_held(snapshot: pl.DataFrame, fields: tuple[str, ...]) -> pl.DataFrame:
    """The non-empty values contacts held before an import: id, field, value."""
    long = snapshot.unpivot(index="id", on=list(fields), variable_name="field")
    return long.filter(~is_blank("value"))


def values_changed(held: pl.DataFrame, now: pl.DataFrame) -> pl.DataFrame:
    """The held values (`values_held`) that the contacts' current fields no longer equal."""
    fields = [column for column in now.columns if column != "id"]
    current = now.unpivot(index="id", on=fields, variable_name="field", value_name="now")
    return held.join(current, on=["id", "field"]).filter(pl.col("value") != pl.col("now"))


def fills_over_values(filled: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """The fills an import logged (contact_id, field, value) on a field that held a value."""
    return filled.join(held, left_on=["contact_id", "field"], right_on=["id", "field"])
