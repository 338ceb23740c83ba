"""Resources: the warehouse connection and the per-run import options."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from starhouse_pipeline.warehouse.engine import create_warehouse_engine, database_url, redacted


class WarehouseResource(dg.ConfigurableResource):
    """The StarHouse CRM database.

    Leave `database_url` empty to use `STARHOUSE_DATABASE_URL`, read when a run starts (never
    at import), or the embedded SQLite file when that is unset too.
    """

    database_url: str = ""
    _engine: sa.Engine | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.database_url or database_url()

    def display_url(self) -> str:
        """The URL with its password hidden: the only form that may reach logs or metadata."""
        return redacted(self.resolved_url())

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = create_warehouse_engine(self.resolved_url())
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def transaction(self, *, dry_run: bool = False) -> Iterator[sa.Connection]:
        """One database transaction: committed whole, or rolled back whole (and on dry runs)."""
        with self.engine.connect() as connection:
            transaction = connection.begin()
            try:
                yield connection
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()


class ImportOptions(dg.ConfigurableResource):
    """Per-run choices. Set `dry_run: true` in the launchpad to see what would change.

    `max_quarantine_share` is the largest share of an export's rows that may be quarantined
    before the run stops ahead of the load (0.01: more than 1% stops it).
    """

    dry_run: bool = False
    max_quarantine_share: float = Field(default=0.01, ge=0.0, le=1.0)
