"""Every row an export read ends in exactly one place: the row accounting of an import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starhouse_pipeline.domain.formatting import count


@dataclass(frozen=True)
class RowAccounting:
    """Rows read, and how many went to each place (its name: `inserted`, `quarantined`, ...)."""

    rows_read: int
    places: Mapping[str, int]

    @property
    def accounted(self) -> int:
        return sum(self.places.values())

    @property
    def balanced(self) -> bool:
        return self.accounted == self.rows_read

    @property
    def description(self) -> str:
        parts = " + ".join(f"{count(rows)} {place}" for place, rows in self.places.items())
        relation = "=" if self.balanced else "≠"
        return f"{count(self.rows_read)} rows read {relation} {parts}"

    def as_metadata(self) -> dict[str, int]:
        return {"rows_read": self.rows_read, "accounted": self.accounted, **self.places}
