"""The Kajabi transactions export contract: which columns exist and which the rules need."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Column order of Sales → Payments → Transactions → Export.
TRANSACTION_COLUMNS: tuple[str, ...] = (
    "ID",
    "Amount",
    "Currency",
    "Status",
    "Type",
    "Payment Method",
    "Created At",
    "Order No.",
    "Provider",
    "Offer ID",
    "Offer Title",
    "Customer ID",
    "Customer Name",
    "Customer Email",
    "Phone",
    "Address",
    "Address 2",
    "City",
    "State",
    "Zipcode",
    "Country",
    "Coupon Used",
    "Card Brand",
    "Card Funding",
    "Tax Amount",
    "Quantity",
    "Charge Attempt",
    "Failure Message",
)

# The columns the business rules cannot work without. The rest are carried when present
# (older exports lack some of them) and treated as empty when absent.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "ID",
    "Amount",
    "Currency",
    "Status",
    "Type",
    "Created At",
    "Offer ID",
    "Offer Title",
    "Customer Name",
    "Customer Email",
)

# Headers that identify Kajabi's other exports, so a wrong file gets a helpful message.
_OTHER_EXPORT_SIGNATURES: dict[str, frozenset[str]] = {
    "a Kajabi People (contacts) export": frozenset({"Email", "First Name", "Member ID"}),
    "a Kajabi Subscriptions export": frozenset({"Kajabi Subscription ID", "Interval"}),
}


def unnamed_column(position: int) -> str:
    """The name given to a column whose header cell is blank (a spreadsheet adds these)."""
    return f"(unnamed column {position})"


def is_unnamed_column(name: str) -> bool:
    return name.startswith("(unnamed column ")


class ExportContractError(ValueError):
    """The file is not a Kajabi transactions export this pipeline can read."""


@dataclass(frozen=True)
class HeaderMapping:
    """How a file's header lines up with the contract."""

    canonical_names: tuple[str, ...]
    missing_optional: tuple[str, ...]
    extra: tuple[str, ...]


# Names other tools (or older exports) give the same columns, after normalization.
_ALIASES: dict[str, str] = {
    "order number": "Order No.",
    "zip": "Zipcode",
    "zip code": "Zipcode",
    "postal code": "Zipcode",
    "address 1": "Address",
    "address line 1": "Address",
    "address line 2": "Address 2",
    "phone number": "Phone",
}


def _normalize_header(name: str) -> str:
    """Case, spacing and punctuation ignored: `Order No.`, `order no` and `ORDER  NO` agree."""
    cleaned = re.sub(r"[^\w\s]", " ", name.replace("\ufeff", ""))
    return " ".join(cleaned.split()).casefold()


def map_header(file_name: str, header: Sequence[str]) -> HeaderMapping:
    """Match a header to the contract, tolerating case, spacing, order and extra columns.

    Raises ExportContractError naming the file and the missing required columns.
    """
    by_normal = {_normalize_header(column): column for column in TRANSACTION_COLUMNS}
    by_normal |= {alias: column for alias, column in _ALIASES.items() if alias not in by_normal}
    canonical = tuple(
        by_normal.get(_normalize_header(name), name.strip()) or unnamed_column(position)
        for position, name in enumerate(header, start=1)
    )
    duplicated = sorted({name for name in canonical if canonical.count(name) > 1})
    if duplicated:
        raise ExportContractError(f"{file_name}: header repeats column(s) {', '.join(duplicated)}")
    present = set(canonical)
    missing_required = [column for column in REQUIRED_COLUMNS if column not in present]
    if missing_required:
        raise ExportContractError(
            f"{file_name}: not a usable Kajabi transactions export: missing required "
            f"column(s) {', '.join(missing_required)}{_looks_like(present)}"
        )
    return HeaderMapping(
        canonical_names=canonical,
        missing_optional=tuple(c for c in TRANSACTION_COLUMNS if c not in present),
        extra=tuple(name for name in canonical if name not in TRANSACTION_COLUMNS),
    )


def _looks_like(present: set[str]) -> str:
    for description, signature in _OTHER_EXPORT_SIGNATURES.items():
        if signature <= present:
            return f" (the header looks like {description})"
    if present.isdisjoint(REQUIRED_COLUMNS):
        return " (the header has none of the required columns: it looks like another CSV)"
    return ""
