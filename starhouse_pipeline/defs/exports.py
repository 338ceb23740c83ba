"""One asset factory for every export: `raw_<export>` and `validated_<export>`, the quarantine
gate on the validated rows, and the row-accounting check on the export's load.

Each export is declared once as a spec (`domain/export_spec.py`); `export_assets` turns it
into the same two assets, with the same metadata and checks, so the Kajabi transactions,
Subscriptions and People imports (and the next source) read alike in the UI. What differs per
export is its planner and load, in its own `defs` module.
"""

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import dagster as dg
import polars as pl
import sqlalchemy as sa
from pydantic import Field

from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import exports
from starhouse_pipeline.domain.accounting import RowAccounting
from starhouse_pipeline.domain.export_spec import ExportContractError, ExportSpec
from starhouse_pipeline.domain.formatting import count, counts_frame, markdown_table
from starhouse_pipeline.domain.masking import mask_email_expr
from starhouse_pipeline.domain.quarantine import masked_sample, quarantine_share_verdict
from starhouse_pipeline.domain.reading import RawExport
from starhouse_pipeline.domain.report import quarantine_by_rule
from starhouse_pipeline.domain.validation import (
    ValidatedExport,
    quarantine_refused,
    rows_held_as_they_are,
    validate_export,
)
from starhouse_pipeline.warehouse import bookkeeping
from starhouse_pipeline.warehouse.crm import CrmRefusesEveryRow

EXPORTS_GROUP = "kajabi_exports"
WAREHOUSE_POOL = "starhouse_warehouse"
# What the CRM's own constraints refuse of an export's valid rows (a scan of them, at most a
# frame): (line, rule, reason).
Refusals = Callable[[sa.Connection, pl.DataFrame | pl.LazyFrame], pl.DataFrame]


@dataclass(frozen=True)
class HeldRows:
    """How the warehouse tells which of an export's rows it already holds as they are.

    `holds_any`: whether it holds any row of this source (if not, nothing is compared);
    `not_held`: given the rows' fingerprints (id, row hash, in batches as they are made),
    the ids it lacks or holds with another hash, as (id, held); `columns`: the typed
    columns kept of each unchanged row.
    """

    holds_any: Callable[[sa.Connection], bool]
    not_held: Callable[[sa.Connection, Iterable[pl.DataFrame]], pl.DataFrame]
    columns: tuple[str, ...]


class ExportConfig(dg.Config):
    """Which export file to import: required, so a run launched by hand asks for it."""

    path: str = Field(description="Path of the export file, as the server sees it.")


@dataclass(frozen=True)
class ExportAssets:
    raw: dg.AssetsDefinition
    validated: dg.AssetsDefinition
    quarantine_gate: dg.AssetChecksDefinition

    @property
    def assets(self) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
        return (self.raw, self.validated)


def summary_line(text: str) -> dict:
    """The one line a person reads first (also what the `starhouse` commands print)."""
    return {"summary": dg.MetadataValue.text(text)}


def export_assets(
    spec: ExportSpec,
    *,
    raw_name: str,
    validated_name: str,
    group: str,
    refusals: Refusals | None = None,
    resolves_earlier_quarantine: bool = False,
    preview: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    gate_stops_load: bool = True,
    held: HeldRows | None = None,
) -> ExportAssets:
    """The raw and validated assets of `spec`'s export, and the gate between them and the load.

    `refusals` asks the CRM which valid rows its constraints would refuse (they are
    quarantined under the constraint's name); `resolves_earlier_quarantine` closes earlier
    quarantined rows this export deals with (ids are unique per export only where that is
    true of the ids); `preview` shows a few valid rows, masked, in the metadata.
    `gate_stops_load`: whether a quarantine above the threshold stops the run before the
    load (an error) or only warns. `held`: how the warehouse says which rows it already holds
    as they are, so only the others are typed and checked (None: every row is).
    """
    raw = _raw_asset(spec, raw_name, group)
    validated = _validated_asset(
        spec,
        raw_name,
        validated_name,
        group,
        _ValidationSteps(refusals, resolves_earlier_quarantine, preview, held),
    )
    return ExportAssets(raw, validated, _quarantine_gate(validated, gate_stops_load))


def _raw_asset(spec: ExportSpec, name: str, group: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=group,
        kinds={"csv", "polars"},
        description=f"""One {spec.name} export, every value as text, checked against the export's
        columns.

        A file that is not a usable export (missing required columns, broken quoting, not
        UTF-8 or certainly cp1252, another export's header) fails the run here, naming the file
        and the problem, before anything is written. Extra or reordered columns are accepted and
        kept. The bundled sample is refused unless the warehouse is the embedded demo one or the
        run allows it.""",
    )
    def raw_export(
        config: ExportConfig, warehouse: WarehouseResource, import_options: ImportOptions
    ) -> dg.Output[RawExport]:
        import_options.refuse_bundled_sample(config.path, warehouse)
        try:
            raw = exports.read(config.path, spec)
        except ExportContractError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from error
        return dg.Output(raw, metadata=_raw_metadata(raw))

    return raw_export


def _raw_metadata(raw: RawExport) -> dict:
    return {
        "file_name": raw.file.name,
        "size_bytes": raw.file.size_bytes,
        "sha256": raw.file.sha256,
        "encoding": raw.file.encoding,
        "rows": raw.row_count,
        "blank_lines_skipped": raw.blank_lines_skipped,
        "missing_optional_columns": ", ".join(raw.header.missing_optional) or "none",
        "extra_columns": ", ".join(raw.header.extra) or "none",
    }


@dataclass(frozen=True)
class _ValidationSteps:
    """What an export's validated asset does besides validating (see `export_assets`)."""

    refusals: Refusals | None
    resolves_earlier_quarantine: bool
    preview: Callable[[pl.DataFrame], pl.DataFrame] | None
    held: HeldRows | None


def _validated_asset(
    spec: ExportSpec, raw_name: str, name: str, group: str, steps: _ValidationSteps
) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=group,
        kinds={"polars", "pandera"} if spec.model is not None else {"polars"},
        pool=WAREHOUSE_POOL,
        ins={"raw": dg.AssetIn(raw_name)},
        description=_validated_description(spec, steps),
    )
    def validated_export(
        context: dg.AssetExecutionContext,
        raw: RawExport,
        warehouse: WarehouseResource,
        import_options: ImportOptions,
    ) -> Iterator[dg.Output[ValidatedExport]]:
        # The valid rows are written to this folder as they are typed, and read from it when
        # the output is stored, which happens at the `yield`: only then may it go.
        with _spill_directory(context, name) as spill:
            unchanged = _unchanged_rows(raw, warehouse, steps.held, Path(spill))
            validated = validate_export(raw, unchanged, Path(spill))
            resolved = 0
            with warehouse.transaction(dry_run=import_options.dry_run) as connection:
                if steps.refusals is not None:
                    validated = _without_refused(connection, validated, steps.refusals)
                bookkeeping.record_validated_export(connection, context.run_id, validated)
                if steps.resolves_earlier_quarantine:
                    # Resolved with the new quarantine, under the same lock, so concurrent
                    # imports agree on which verdict is the latest (this run's never are).
                    resolved = bookkeeping.resolve_quarantine(
                        connection, context.run_id, validated.file, validated.seen_ids()
                    )
            metadata = validated_metadata(validated) | {"earlier_quarantine_resolved": resolved}
            if steps.preview is not None:
                first_rows = validated.valid.lazy().head(5).collect()
                metadata["preview"] = dg.MetadataValue.md(markdown_table(steps.preview(first_rows)))
            yield dg.Output(validated, metadata=metadata)

    return validated_export


def _spill_directory(
    context: dg.AssetExecutionContext, name: str
) -> tempfile.TemporaryDirectory[str]:
    """A folder of this step's own beside the asset storage, on the same disk."""
    storage = Path(context.instance.storage_directory())
    storage.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=f".{name}-{context.run_id[:8]}-", dir=storage)


def _validated_description(spec: ExportSpec, steps: _ValidationSteps) -> str:
    unchanged = (
        "Rows the warehouse already holds exactly as they are (same id, same SHA-256 of the "
        "original row) are counted as unchanged and not typed again; the checks still sum "
        "them from the export.\n\n"
        if steps.held is not None
        else ""
    )
    return (
        f"The {spec.name} export's rows typed and checked: exact amounts, UTC times, mapped "
        f"codes.\n\n{unchanged}"
        "Rows that break a rule, or that the CRM's own constraints would refuse (its CHECKs "
        "and enum types, read from the database), are written to `quarantined_rows` with "
        "file, line, rule and the raw row; good rows go on. Identical repeats of a row "
        "collapse to one; rows that repeat a key with different values are all quarantined. "
        "Rows that are read but not imported (not sales) are counted per kind. A constraint "
        "refusing what every row carries fails the run here, before anything is written."
    )


def _unchanged_rows(
    raw: RawExport, warehouse: WarehouseResource, held: HeldRows | None, spill: Path
) -> pl.DataFrame | pl.LazyFrame | None:
    """The rows the warehouse holds as they are; None when it holds nothing of this source
    (a first import) or the export has no such shortcut."""
    if held is None:
        return None
    # Only reads (and a temporary table the fingerprints stream into): no write lock, and
    # rolled back. The load asks again, under the lock, of the rows it writes.
    with warehouse.transaction(dry_run=True) as connection:
        if not held.holds_any(connection):
            return None
        not_held = partial(held.not_held, connection)
        return rows_held_as_they_are(raw, held.columns, not_held, spill)


def _without_refused(
    connection: sa.Connection, validated: ValidatedExport, refusals: Refusals
) -> ValidatedExport:
    try:
        refused = refusals(connection, validated.valid)
    except CrmRefusesEveryRow as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    return quarantine_refused(validated, refused)


def validated_metadata(validated: ValidatedExport) -> dict:
    """Counts, the quarantine per rule and a masked sample of it: no personal data."""
    counts = {
        "rows_read": validated.rows_read,
        "unchanged": validated.unchanged_rows,  # held by the warehouse as they are
        "valid": validated.valid_rows,
        "quarantined": validated.quarantined.height,
        "duplicates_collapsed": len(validated.collapsed_lines),
        "skipped": validated.skipped_rows,
    }
    return {
        **summary_line(
            f"{count(validated.rows_read)} rows read: {_unchanged_words(validated)}"
            f"{count(validated.valid_rows)} valid, "
            f"{count(validated.quarantined.height)} quarantined, "
            f"{count(len(validated.collapsed_lines))} identical duplicates collapsed, "
            f"{count(validated.skipped_rows)} skipped (not imported)."
        ),
        "counts": dg.MetadataValue.md(markdown_table(counts_frame(counts, {}, dry_run=False))),
        **counts,
        "skipped_by_kind": dg.MetadataValue.md(markdown_table(validated.skipped)),
        "quarantine_by_rule": dg.MetadataValue.md(
            markdown_table(quarantine_by_rule(validated.quarantined))
        ),
        "quarantine_sample": dg.MetadataValue.md(
            markdown_table(masked_sample(validated.quarantined, validated.spec.email_column))
        ),
    }


def _unchanged_words(validated: ValidatedExport) -> str:
    if not validated.unchanged_rows:
        return ""
    return f"{count(validated.unchanged_rows)} unchanged (held by the warehouse as they are), "


def masked_preview(valid: pl.DataFrame, columns: Mapping[str, str], rows: int = 5) -> pl.DataFrame:
    """The first valid rows' `columns` (name shown: column), the email masked."""
    return valid.head(rows).select(
        mask_email_expr(column).alias(shown) if column == "email" else pl.col(column).alias(shown)
        for shown, column in columns.items()
    )


def _quarantine_gate(validated: dg.AssetsDefinition, stops_load: bool) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity.ERROR if stops_load else dg.AssetCheckSeverity.WARN

    @dg.asset_check(asset=validated, name="quarantine_share_within_threshold", blocking=stops_load)
    def quarantine_share_within_threshold(
        context: dg.AssetCheckExecutionContext, import_options: ImportOptions
    ) -> dg.AssetCheckResult:
        """At most `max_quarantine_share` of the rows read (default 1%) are quarantined; above
        that the export is probably wrong as a whole, so the run stops before the load (for
        the Subscriptions and People exports, whose files are small, it warns instead).

        Judged on the counts the materialization recorded (this run's, else the latest), so
        the gate never loads the validated rows: at a million rows that alone was 0.4 GB.
        """
        counts = _materialization_metadata(context, validated.key)
        rows_read, quarantined = counts["rows_read"].value, counts["quarantined"].value
        verdict = quarantine_share_verdict(
            rows_read, quarantined, import_options.max_quarantine_share
        )
        return dg.AssetCheckResult(
            passed=verdict.passed,
            severity=severity,
            description=verdict.description,
            metadata={
                "rows_read": rows_read,
                "quarantined": quarantined,
                "quarantined_share": dg.MetadataValue.float(verdict.share),
                "max_quarantine_share": dg.MetadataValue.float(verdict.threshold),
                "quarantine_by_rule": counts["quarantine_by_rule"],
            },
        )

    return quarantine_share_within_threshold


def _materialization_metadata(
    context: dg.AssetCheckExecutionContext, asset_key: dg.AssetKey
) -> Mapping[str, dg.MetadataValue]:
    """The metadata of this run's materialization of `asset_key`, or of the latest one when
    the check runs on its own."""
    in_this_run = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, ascending=False
    ).records
    for record in in_this_run:
        if record.asset_key == asset_key:
            return record.asset_materialization.metadata
    latest = context.instance.get_latest_materialization_event(asset_key)
    if latest is None or latest.asset_materialization is None:
        raise dg.Failure(f"{asset_key.to_user_string()} has never been materialized")
    return latest.asset_materialization.metadata


def row_accounting_check(load: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The blocking check that every row the export read ended in exactly one place."""

    @dg.asset_check(asset=load, name="every_row_accounted_for", blocking=True)
    def every_row_accounted_for(outcome) -> dg.AssetCheckResult:
        """Rows read = the sum of where they went: loaded new, updated, unchanged,
        quarantined, collapsed duplicates, skipped (each export names its own places)."""
        accounting: RowAccounting = outcome.accounting
        return dg.AssetCheckResult(
            passed=accounting.balanced,
            description=accounting.description,
            metadata=accounting.as_metadata(),
        )

    return every_row_accounted_for
