"""Kajabi's People export under the never-overwrite rule: fill empty fields, report conflicts.

The export is a full dump of Kajabi's contacts. A person matches a CRM contact by normalized
email. Kajabi may fill a contact's empty first or last name and phone, and the empty fields
of the address block when `address_line_1` is empty (the same rule as the transactions
chain). A field where both sides hold different values is a conflict: reported, never
applied. People with no contact become new contacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from starhouse_pipeline.domain import patterns
from starhouse_pipeline.domain.accounting import RowAccounting
from starhouse_pipeline.domain.contacts import ADDRESS_FIELDS, is_blank
from starhouse_pipeline.domain.export_spec import ExportSpec
from starhouse_pipeline.domain.fields import Rule, structure_rules, text
from starhouse_pipeline.domain.formatting import count
from starhouse_pipeline.domain.keys import CRM_KEY

PEOPLE_SOURCE = "kajabi_people"
PEOPLE_COLUMNS: tuple[str, ...] = (
    "Name",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number (phone_number)",
    "Mobile Phone Number (mobile_phone_number)",
    "Address (address_line_1)",
    "Address Line 2 (address_line_2)",
    "City (address_city)",
    "State (address_state)",
    "Zip Code (address_zip)",
    "Country (address_country)",
    "ID",
    "Member ID",
    "Products",
    "Tags",
    "Last Activity",
)
REQUIRED_PEOPLE_COLUMNS = ("Email",)
_ADDRESS_SOURCES = {
    "address_line_1": "Address (address_line_1)",
    "address_line_2": "Address Line 2 (address_line_2)",
    "city": "City (address_city)",
    "state": "State (address_state)",
    "postal_code": "Zip Code (address_zip)",
    "country": "Country (address_country)",
}
NAME_FIELDS = ("first_name", "last_name")
PEOPLE_FIELDS = (*NAME_FIELDS, "phone", *ADDRESS_FIELDS)
SNAPSHOT_SCHEMA = {
    "id": CRM_KEY,
    "email_key": pl.String,
    "deleted": pl.Boolean,
    **dict.fromkeys(PEOPLE_FIELDS, pl.String),
}


@dataclass(frozen=True)
class PeoplePlan:
    """What the export means for the contacts table."""

    to_create: pl.DataFrame  # email + PEOPLE_FIELDS
    fills: pl.DataFrame  # contact_id, field, value
    conflicts: pl.DataFrame  # contact_id, field (values stay in the CRM and the export)
    matched: int


def typed_columns() -> list[pl.Expr]:
    phone = pl.coalesce(
        text("Phone Number (phone_number)"), text("Mobile Phone Number (mobile_phone_number)")
    )
    return [
        text("Email").str.to_lowercase().alias("email"),
        text("ID").alias("kajabi_person_id"),
        text("First Name").alias("first_name"),
        text("Last Name").alias("last_name"),
        phone.alias("phone"),
        *(text(source).alias(field) for field, source in _ADDRESS_SOURCES.items()),
    ]


def row_rules() -> list[Rule]:
    return [
        *structure_rules(),
        Rule(
            "email_valid",
            ~pl.col("email").str.contains(patterns.EMAIL).fill_null(False),
            pl.lit("Email is missing or malformed"),
        ),
    ]


# One valid row per email: a person is matched by it, so its repeats collapse or conflict.
PEOPLE = ExportSpec(
    name="Kajabi People (contacts)",
    columns=PEOPLE_COLUMNS,
    required=REQUIRED_PEOPLE_COLUMNS,
    id_column="kajabi_person_id",
    duplicate_key="email",
    typed_columns=typed_columns,
    row_rules=row_rules,
    email_column="Email",
    how_to_export="export the contacts from Kajabi (Contacts, Export) as CSV",
    signature=frozenset({"Email", "First Name", "Member ID"}),
)


def _same(left: str, right: str) -> pl.Expr:
    """Equal once case, spacing and (for phones) punctuation are ignored."""

    return patterns.normalize_name(left) == patterns.normalize_name(right)


def _same_phone(left: str, right: str) -> pl.Expr:
    return pl.col(left).str.replace_all(r"\D", "") == pl.col(right).str.replace_all(r"\D", "")


def plan_people(valid: pl.DataFrame, snapshot: pl.DataFrame) -> PeoplePlan:
    """Decide which contacts to create, which empty fields to fill, which conflicts to report."""
    joined = valid.select("email", *PEOPLE_FIELDS).join(
        snapshot.rename({field: f"crm_{field}" for field in PEOPLE_FIELDS}),
        left_on="email",
        right_on="email_key",
        how="left",
    )
    new = joined.filter(pl.col("id").is_null()).select("email", *PEOPLE_FIELDS)
    known = joined.filter(pl.col("id").is_not_null() & ~pl.col("deleted").fill_null(False))
    fills, conflicts = [], []
    for field in PEOPLE_FIELDS:
        crm, kajabi = f"crm_{field}", field
        may_fill = is_blank(crm) & ~is_blank(kajabi)
        if field in ADDRESS_FIELDS:
            may_fill = may_fill & is_blank("crm_address_line_1")
        same = _same_phone(crm, kajabi) if field == "phone" else _same(crm, kajabi)
        differs = ~is_blank(crm) & ~is_blank(kajabi) & ~same
        fills.append(_field_rows(known.filter(may_fill), field, with_value=True))
        conflicts.append(_field_rows(known.filter(differs), field, with_value=False))
    return PeoplePlan(
        to_create=new,
        fills=pl.concat(fills).sort("contact_id", "field"),
        conflicts=pl.concat(conflicts).sort("contact_id", "field"),
        matched=joined.filter(pl.col("id").is_not_null()).height,
    )


def _field_rows(frame: pl.DataFrame, field: str, *, with_value: bool) -> pl.DataFrame:
    columns = [pl.col("id").alias("contact_id"), pl.lit(field).alias("field")]
    if with_value:
        columns.append(pl.col(field).alias("value"))
    return frame.select(columns)


def plan_counts(plan: PeoplePlan) -> dict[str, int]:
    """Counts only: safe for metadata and logs."""
    return {
        "contacts_matched": plan.matched,
        "contacts_to_create": plan.to_create.height,
        "fields_to_fill": plan.fills.height,
        "conflicts": plan.conflicts.height,
    }


@dataclass(frozen=True)
class PeopleImport:
    """What importing one People export did; the snapshot is for the no-overwrite check."""

    dry_run: bool
    rows_read: int
    quarantined: int
    collapsed: int
    counts: dict[str, int]
    snapshot: pl.DataFrame

    @property
    def accounting(self) -> RowAccounting:
        """Rows read = matched contacts + new contacts + quarantined + collapsed duplicates."""
        places = {
            "contacts_matched": self.counts["contacts_matched"],
            "contacts_to_create": self.counts["contacts_to_create"],
            "quarantined": self.quarantined,
            "duplicates_collapsed": self.collapsed,
        }
        return RowAccounting(self.rows_read, places)


PEOPLE_LABELS = {
    "rows_read": ("rows read", "rows read"),
    "contacts_matched": ("contacts matched by email", "contacts matched by email"),
    "contacts_to_create": ("contacts to create", "would create contacts"),
    "fields_to_fill": ("empty fields to fill", "would fill empty fields (each would be logged)"),
    "conflicts": ("differing values found", "would report differing values (never applied)"),
    "contacts_created": ("contacts created", "would create contacts"),
    "fields_filled": ("empty fields filled (each logged)", "would fill empty fields"),
    "conflicts_reported": (
        "differing values reported (never applied)",
        "would report differing values (never applied)",
    ),
    "quarantined": ("quarantined", "would quarantine"),
    "duplicates_collapsed": (
        "identical duplicates collapsed",
        "identical duplicates would collapse",
    ),
}
# What a People import shows: what it did, or on a dry run what it planned.
PEOPLE_DONE = ("contacts_created", "fields_filled", "conflicts_reported")
PEOPLE_PLANNED = ("contacts_to_create", "fields_to_fill", "conflicts")


def people_counts(counts: dict[str, int], dry_run: bool) -> dict[str, int]:
    """The counts a People import shows: done after a run, planned on a dry run."""
    shown = PEOPLE_PLANNED if dry_run else PEOPLE_DONE
    keys = ("rows_read", "contacts_matched", *shown, "quarantined", "duplicates_collapsed")
    return {key: counts[key] for key in keys if key in counts}


def people_summary(counts: dict[str, int], dry_run: bool) -> str:
    """What a People import did, or on a dry run would do, in one sentence."""
    matched, quarantined = (
        count(counts.get("contacts_matched", 0)),
        count(counts.get("quarantined", 0)),
    )
    if dry_run:
        return (
            f"Matched {matched} contacts by email; would create "
            f"{count(counts.get('contacts_to_create', 0))} contacts; would fill "
            f"{count(counts.get('fields_to_fill', 0))} empty fields; would report "
            f"{count(counts.get('conflicts', 0))} differing values (never applied); would "
            f"quarantine {quarantined} rows. Nothing was written."
        )
    return (
        f"Matched {matched} contacts by email; created "
        f"{count(counts.get('contacts_created', 0))} contacts; filled "
        f"{count(counts.get('fields_filled', 0))} empty fields; reported "
        f"{count(counts.get('conflicts_reported', 0))} differing values (never applied); "
        f"quarantined {quarantined} rows."
    )
