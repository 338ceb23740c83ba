"""Resources: the warehouse connection and the per-run import options."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from starhouse_pipeline.domain.cross_source import DEFAULT_WINDOW
from starhouse_pipeline.domain.masking import mask_free_text
from starhouse_pipeline.samples.guard import SampleRefused, refuse_sample_outside_embedded
from starhouse_pipeline.warehouse.engine import create_warehouse_engine, database_url, redacted
from starhouse_pipeline.warehouse.locks import take_write_lock


class WarehouseResource(dg.ConfigurableResource):
    """The StarHouse CRM database.

    Leave `database_url` empty to use `STARHOUSE_DATABASE_URL`, read when a run starts (never
    at import), or the embedded SQLite file when that is unset too.
    """

    database_url: str = ""
    connection_retries: int = Field(default=2, ge=0, description="Retries after a lost connection")
    retry_wait_seconds: float = Field(default=5.0, ge=0.0)
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
        """One database transaction: committed whole, or rolled back whole (and on dry runs).

        A writing transaction first takes the warehouse write lock (see `warehouse.locks`).
        Losing the database (refused, dropped or terminated connection) rolls back whatever
        the transaction did and asks Dagster to retry the step, at most `connection_retries`
        times; the failure names the database with its password hidden. Any other database
        error fails the step at once, its message masked (it may quote row values).
        """
        try:
            with self.engine.connect() as connection:
                transaction = connection.begin()
                try:
                    if not dry_run:
                        take_write_lock(connection)
                    yield connection
                except BaseException:
                    transaction.rollback()
                    raise
                if dry_run:
                    transaction.rollback()
                else:
                    transaction.commit()
        except sa.exc.DBAPIError as error:
            if not _lost_connection(error):
                # The driver's message may quote row values (PostgreSQL's DETAIL line does):
                # only its first line, masked, reaches Dagster; the original is not chained.
                raise dg.Failure(
                    description=f"the warehouse database {self.display_url()} refused this "
                    f"step's writes: {mask_free_text(_first_line(error.orig))} "
                    f"({type(error.orig).__name__}); nothing of this step was committed",
                    metadata={"statement": dg.MetadataValue.text(str(error.statement)[:2000])},
                    allow_retries=False,
                ) from None
            failure = dg.Failure(
                description=f"lost the warehouse database {self.display_url()}: "
                f"{mask_free_text(_first_line(error.orig))}; nothing of this step was committed",
                allow_retries=True,
            )
            raise dg.RetryRequested(
                max_retries=self.connection_retries, seconds_to_wait=self.retry_wait_seconds
            ) from failure


def _lost_connection(error: sa.exc.DBAPIError) -> bool:
    """A refused, dropped or terminated connection: worth retrying, unlike a data error.

    Said by the database's own codes, never by its (translatable) messages: PostgreSQL's
    SQLSTATE class 08 (connection exception) and 57P01-57P03 (the server shutting down,
    crashed, or not yet accepting connections); a psycopg error with no SQLSTATE at all is the
    client's own (it never reached the server); SQLite's SQLITE_CANTOPEN.
    """
    if error.connection_invalidated or isinstance(error, sa.exc.InterfaceError):
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    original = error.orig
    if getattr(original, "sqlite_errorname", None) == "SQLITE_CANTOPEN":
        return True
    if not hasattr(original, "sqlstate"):
        return False
    sqlstate = original.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_GOING_AWAY


# admin_shutdown, crash_shutdown, cannot_connect_now.
_SERVER_GOING_AWAY = ("57P01", "57P02", "57P03")


def _first_line(error: BaseException | None) -> str:
    return (str(error).strip().splitlines() or ["connection lost"])[0]


class ImportOptions(dg.ConfigurableResource):
    """Per-run choices. Set `dry_run: true` in the launchpad to see what would change.

    `max_quarantine_share` is the largest share of an export's rows that may be quarantined
    before the run stops ahead of the load (0.01: more than 1% stops it).
    `same_payment_window_minutes` is how far apart a Kajabi charge through PayPal and PayPal's
    row of it may be to count as one payment (docs/paypal.md).
    `allow_sample_in_this_warehouse` lets the bundled sample data into a warehouse other than
    the embedded demo one (see `samples.guard`); leave it off for a real CRM.
    """

    dry_run: bool = Field(default=False, description="Compute and report everything, write nothing")
    max_quarantine_share: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Largest share of rows that may be quarantined before the load stops",
    )
    same_payment_window_minutes: int = Field(
        default=int(DEFAULT_WINDOW / timedelta(minutes=1)),
        ge=0,
        le=24 * 60,
        description="Largest time between a Kajabi charge through PayPal and PayPal's row of "
        "the same payment, for them to count as one payment",
    )
    allow_sample_in_this_warehouse: bool = Field(
        default=False,
        description="Load the bundled sample data (invented customers and payments) even "
        "though this warehouse is not the embedded demo one",
    )

    def refuse_bundled_sample(self, path: str, warehouse: WarehouseResource) -> None:
        """Fail the step, before anything is read or written, when `path` is the bundled
        sample and this warehouse is not the embedded demo one (unless allowed)."""
        try:
            refuse_sample_outside_embedded(
                path, warehouse.resolved_url(), allowed=self.allow_sample_in_this_warehouse
            )
        except SampleRefused as refusal:
            raise dg.Failure(description=str(refusal), allow_retries=False) from None
