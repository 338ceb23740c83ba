"""From raw export rows to validated rows plus a quarantine, with every row accounted for:
one validator for every export, driven by its spec.

A row ends in exactly one place: `valid` (goes on to its planner), `quarantined` (kept with
its line and reason), `collapsed` (an identical repeat of a valid row with the same key),
`skipped` (read, but not something this pipeline imports, counted per label: a PayPal card
purchase, say), or `unchanged` (the warehouse already holds the very same row).

Unchanged rows are told before typing: `fingerprint_rows` gives every row's id and row hash
(and the few typed columns the reconciliation sums), the warehouse says which of those it
holds with that hash (`held_as_they_are`), and `validate_export` types and checks only the
others. The daily import re-reads the whole history, so that is most of its rows.

Valid rows keep their original text columns, not the JSON of the row: the JSON repeats every
column name on every row (three times the text), so it is built batch by batch where it is
written (`raw_source_batches`), and only its SHA-256 travels with the row.

Given a folder (`spill_dir`), validation writes each batch's valid rows there as Parquet as
soon as they are typed and keeps only their keys: the valid rows are then a scan of those
files, and memory stays a batch deep at any export size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandera.polars as pa
import polars as pl
import polars_hash  # noqa: F401  (registers the `chash` namespace on every expression)

from starhouse_pipeline.domain.export_spec import ExportSpec
from starhouse_pipeline.domain.fields import (
    LINE_COLUMN,
    QUARANTINE_REASON,
    QUARANTINE_RULE,
    structure_rules,
    type_rows,
)
from starhouse_pipeline.domain.reading import (
    EXTRA_FIELDS_COLUMN,
    ExportFile,
    RawExport,
)

RAW_JSON = "raw_json"
ROW_HASH = "source_row_hash"
# The quarantine's key for a row's own id, whatever the export (a transaction's, a
# subscription's, a person's): stored as quarantined_rows.source_row_id.
SOURCE_ROW_ID = "source_row_id"
SKIP_LABEL = "skip_label"
# Rows per batch wherever a row's JSON is built: bounds memory at any export size.
BATCH_ROWS = 25_000
# The fingerprint keeps only a hash of each row's JSON, so its batches can be larger.
FINGERPRINT_BATCH_ROWS = 100_000
# Rows per batch where a step goes through the stored valid rows: two Parquet row groups.
SCAN_BATCH_ROWS = 200_000
# Rows per part where a step reduces the stored valid rows per key (`valid_partitions`).
PARTITION_ROWS = 1_000_000
QUARANTINE_COLUMNS = (LINE_COLUMN, SOURCE_ROW_ID, QUARANTINE_RULE, QUARANTINE_REASON)
# A row broken in shape is quarantined even when it would be skipped: its values sit under
# the wrong headers, so what it is cannot be told.
_STRUCTURE_RULES = tuple(rule.name for rule in structure_rules())


@dataclass(frozen=True)
class ValidatedExport:
    """The outcome of validating one export: where each row it read went."""

    file: ExportFile
    rows_read: int
    # A scan (of the Parquet files validation wrote, or as the load is given them) or a frame.
    valid: pl.DataFrame | pl.LazyFrame
    quarantined: pl.DataFrame
    collapsed_lines: list[int]
    # The export the rows came from: each valid row's original JSON is rebuilt from it, a
    # batch at a time, where it is written (`original_json`).
    export: RawExport
    # Rows read but not imported, per label (skip_label, rows).
    skipped: pl.DataFrame = dataclasses.field(
        default_factory=lambda: pl.DataFrame(schema={SKIP_LABEL: pl.String, "rows": pl.Int64})
    )
    # Rows the warehouse already held exactly as they are (same id, same row hash): not typed
    # or checked again, only the fingerprint's columns (`fingerprint_rows`) are kept.
    unchanged: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)

    @property
    def spec(self) -> ExportSpec:
        return self.export.spec

    @property
    def source_columns(self) -> tuple[str, ...]:
        return _source_columns(self.export)

    @property
    def skipped_rows(self) -> int:
        return int(self.skipped.get_column("rows").sum())

    @property
    def valid_rows(self) -> int:
        return _height(self.valid)

    @property
    def unchanged_rows(self) -> int:
        return _height(self.unchanged)

    @property
    def accounted_rows(self) -> int:
        kept = self.valid_rows + self.quarantined.height + len(self.collapsed_lines)
        return kept + self.skipped_rows + self.unchanged_rows

    def valid_or_unchanged(self, columns: Sequence[str]) -> pl.LazyFrame:
        """`columns` of every row the warehouse is to hold: the valid rows and the unchanged
        ones (whose `columns` must be among the fingerprint's), as one scan: only `columns`
        of them are read, and only when it is collected."""
        valid = self.valid.lazy().select(columns)
        if not self.unchanged.collect_schema().names():
            return valid  # no unchanged rows were even looked for
        return pl.concat([valid, self.unchanged.lazy().select(columns)], how="vertical")

    def valid_batches(
        self, columns: Sequence[str], batch_rows: int = SCAN_BATCH_ROWS
    ) -> Iterator[pl.DataFrame]:
        """(line, `columns`) of the valid rows, `batch_rows` at a time in line order (one
        empty batch when there are none). Of a scan, each batch is a range of lines, so it
        reads only its own row groups."""
        valid = self.valid.lazy().select(LINE_COLUMN, *columns)
        lines = valid.select(LINE_COLUMN).collect().to_series().sort()
        if lines.is_empty():
            yield valid.collect()
        for first in range(0, lines.len(), batch_rows):
            chosen = lines.slice(first, batch_rows)
            yield valid.filter(pl.col(LINE_COLUMN).is_between(chosen[0], chosen[-1])).collect()

    def valid_partitions(
        self, key: str, columns: Sequence[str], part_rows: int = PARTITION_ROWS
    ) -> Iterator[pl.DataFrame]:
        """(line, `columns`) of the valid rows in parts of about `part_rows` rows, each
        holding every row of its values of `key` (parted by the key's hash): what a step
        that reduces per key needs, when keys are too many for per-batch partial results
        to be much smaller than the batches."""
        valid = self.valid.lazy().select(LINE_COLUMN, *columns)
        parts = max(1, -(-self.valid_rows // part_rows))
        if parts == 1:
            yield valid.collect()
            return
        for part in range(parts):
            in_part = pl.col(key).hash() % parts == part
            yield valid.filter(in_part).collect(engine="streaming")

    def raw_rows(self, lines: pl.Series | None = None) -> pl.DataFrame:
        """(line, original JSON) of the valid rows (or of `lines`): small exports and tests."""
        if lines is None:
            lines = self.valid.lazy().select(LINE_COLUMN).collect().to_series()
        batches = list(original_json(lines, self.export, self.source_columns))
        if not batches:
            return pl.DataFrame(schema={LINE_COLUMN: pl.Int64, RAW_JSON: pl.String})
        return pl.concat(batches, how="vertical")

    def raw_sources(self) -> pl.Series:
        """Each valid row's original JSON, in file order."""
        return self.raw_rows().get_column(RAW_JSON)

    def seen_ids(self) -> pl.Series:
        """Every id this export read, loaded or quarantined again."""
        return pl.concat(
            [
                self.valid_or_unchanged([self.spec.id_column])
                .collect()
                .to_series()
                .alias(SOURCE_ROW_ID),
                self.quarantined.get_column(SOURCE_ROW_ID),
            ]
        )


def _height(rows: pl.DataFrame | pl.LazyFrame) -> int:
    if isinstance(rows, pl.DataFrame):
        return rows.height
    return rows.select(pl.len()).collect().item()


def fingerprint_batches(raw: RawExport, columns: Sequence[str] = ()) -> Iterator[pl.DataFrame]:
    """Every row's line, id and row hash, plus the typed `columns` named, a batch at a time
    in file order: nothing else of the row is typed. What the warehouse compares to tell
    the rows it already holds as they are."""
    spec = raw.spec
    wanted = {spec.id_column, *columns}
    typing = [expr for expr in spec.typed_columns() if expr.meta.output_name() in wanted]
    fingerprint = [LINE_COLUMN, *typing, row_hash(raw_source_json(_source_columns(raw)))]
    if not raw.row_count:
        yield raw.lazy().head(0).collect().select(fingerprint)
        return
    yield from raw.map_batches(lambda batch: batch.select(fingerprint), FINGERPRINT_BATCH_ROWS)


def fingerprint_rows(raw: RawExport, columns: Sequence[str] = ()) -> pl.DataFrame:
    """`fingerprint_batches`, all at once (small exports and tests)."""
    return pl.concat(list(fingerprint_batches(raw, columns)), how="vertical")


def held_as_they_are(fingerprints: pl.DataFrame, not_held: pl.DataFrame, key: str) -> pl.DataFrame:
    """The fingerprinted rows the warehouse holds as they are: every row whose id it did not
    name in `not_held` (id, held), except rows without an id and ids the export repeats
    (those take the full path, where the duplicate rules judge them together)."""
    lines = _lines_not_held(fingerprints.select(LINE_COLUMN, key), not_held, key)
    # The hash has served: a million of them are 64 bytes each that no later step reads.
    return fingerprints.drop(ROW_HASH).filter(~pl.col(LINE_COLUMN).is_in(lines.implode()))


def rows_held_as_they_are(
    raw: RawExport,
    columns: Sequence[str],
    not_held: Callable[[Iterator[pl.DataFrame]], pl.DataFrame],
    spill_dir: Path | None = None,
) -> pl.DataFrame | pl.LazyFrame:
    """`held_as_they_are` of the export, fingerprinted a batch at a time: each batch's id and
    row hash go to `not_held` as they are made (the warehouse stages them as they come, and
    answers with the ids it lacks or holds otherwise), the fingerprint's other `columns` are
    kept (written to `spill_dir` when given), and only lines and ids are held in memory."""
    key = raw.spec.id_column
    kept = _BatchedRows(spill_dir, (LINE_COLUMN, key), name="unchanged")

    def hashes() -> Iterator[pl.DataFrame]:
        for batch in fingerprint_batches(raw, columns):
            kept.add(batch.drop(ROW_HASH))
            yield batch.select(key, ROW_HASH)

    answer = not_held(hashes())
    return kept.without(_lines_not_held(pl.concat(kept.keys), answer, key))


def _lines_not_held(keys: pl.DataFrame, not_held: pl.DataFrame, key: str) -> pl.Series:
    """The lines of rows that are not unchanged: without an id, with an id the export
    repeats, or with one the warehouse named in `not_held`."""
    ids = pl.col(key)
    once = ids.is_not_null() & ~ids.is_duplicated()
    named = ids.is_in(not_held.get_column(key).implode()).fill_null(False)
    return keys.filter(~once | named).get_column(LINE_COLUMN)


def validate_export(
    raw: RawExport,
    unchanged: pl.DataFrame | pl.LazyFrame | None = None,
    spill_dir: Path | None = None,
) -> ValidatedExport:
    """Type, check and de-duplicate one export's rows, streaming it in bounded batches.

    `unchanged` (from `held_as_they_are`) are rows the warehouse already holds as they are:
    they are counted and kept as fingerprinted, and only the other rows are typed and checked.
    With a `spill_dir`, the valid rows are written there batch by batch and given as a scan;
    the folder must outlive the result.
    """
    spec = raw.spec
    if unchanged is None:
        unchanged = pl.DataFrame()
    elif isinstance(unchanged, pl.DataFrame):
        unchanged = unchanged.sort(LINE_COLUMN)  # a scan is in file order already
    good = _BatchedRows(spill_dir, _key_columns(spec), name="valid")
    bad, skipped = [], []
    for batch in _batches_or_empty(raw, _lines_other_than(raw, unchanged)):
        typed = _validate_batch(batch, raw)
        if spec.skip_label is not None:
            is_skipped = _is_skipped(typed)
            skipped.append(typed.filter(is_skipped).group_by(SKIP_LABEL).len("rows"))
            typed = typed.filter(~is_skipped).drop(SKIP_LABEL)
        is_bad = typed.get_column(QUARANTINE_RULE).is_not_null()
        good.add(typed.filter(~is_bad).drop(QUARANTINE_RULE, QUARANTINE_REASON, RAW_JSON))
        bad.append(typed.filter(is_bad))
    leaving, bad, collapsed_lines = _settle_repeated_keys(good, pl.concat(bad), spec.key)
    quarantined = _with_every_raw_json(bad, raw)
    return ValidatedExport(
        file=raw.file,
        rows_read=raw.row_count,
        valid=good.without(leaving),
        quarantined=quarantined.select(
            LINE_COLUMN,
            pl.col(spec.id_column).alias(SOURCE_ROW_ID),
            *QUARANTINE_COLUMNS[2:],
            RAW_JSON,
        ),
        collapsed_lines=collapsed_lines,
        export=raw,
        skipped=_skip_counts(skipped),
        unchanged=unchanged,
    )


def _key_columns(spec: ExportSpec) -> tuple[str, ...]:
    """What the duplicate rules read of every valid row (the row hash only of rows whose
    key repeats: `_ValidRows.gather`)."""
    return tuple(dict.fromkeys((LINE_COLUMN, spec.key, spec.id_column)))


@dataclass
class _BatchedRows:
    """Rows as each batch is made (the valid rows, the unchanged ones): kept as frames, or
    (given `spill_dir`) written to a Parquet file per batch, `name`-numbered, so that only
    their `key_columns` stay in memory."""

    spill_dir: Path | None
    key_columns: tuple[str, ...]
    name: str
    parts: list[pl.DataFrame | Path] = dataclasses.field(default_factory=list)
    keys: list[pl.DataFrame] = dataclasses.field(default_factory=list)

    def add(self, rows: pl.DataFrame) -> None:
        self.keys.append(rows.select(self.key_columns))
        if self.spill_dir is None:
            self.parts.append(rows)
            return
        path = self.spill_dir / f"{self.name}-{len(self.parts):06d}.parquet"
        rows.write_parquet(path, compression="lz4")
        self.parts.append(path)

    def gather(self, where: pl.Expr) -> pl.DataFrame:
        """The key columns and row hash of the rows `where` is true of."""
        columns = [*self.key_columns, ROW_HASH]
        if self.spill_dir is None:
            return pl.concat([part.filter(where).select(columns) for part in self.parts])
        return pl.scan_parquet(self.parts).filter(where).select(columns).collect()

    def without(self, lines: pl.Series) -> pl.DataFrame | pl.LazyFrame:
        """Every row but those at `lines`."""
        if self.spill_dir is None:
            valid = pl.concat(self.parts, rechunk=False)
        else:
            valid = pl.scan_parquet(self.parts)
        if lines.is_empty():
            return valid
        return valid.filter(~pl.col(LINE_COLUMN).is_in(lines.implode()))


def _lines_other_than(raw: RawExport, unchanged: pl.DataFrame | pl.LazyFrame) -> pl.Series | None:
    """The lines of the rows to validate: all (None) unless some are unchanged."""
    if not unchanged.collect_schema().names():
        return None
    held = unchanged.lazy().select(LINE_COLUMN).collect()
    if held.is_empty():
        return None
    lines = raw.lines.select(LINE_COLUMN)
    others = lines.join(held, on=LINE_COLUMN, how="anti", maintain_order="left")
    return others.to_series()


def _is_skipped(typed: pl.DataFrame) -> pl.Series:
    broken = typed.get_column(QUARANTINE_RULE).is_in(_STRUCTURE_RULES).fill_null(False)
    return typed.get_column(SKIP_LABEL).is_not_null() & ~broken


def _skip_counts(parts: list[pl.DataFrame]) -> pl.DataFrame:
    counts = pl.concat(
        [part.with_columns(pl.col("rows").cast(pl.Int64)) for part in parts if part.height]
        or [pl.DataFrame(schema={SKIP_LABEL: pl.String, "rows": pl.Int64})]
    )
    return (
        counts.group_by(SKIP_LABEL)
        .agg(pl.col("rows").sum())
        .sort("rows", SKIP_LABEL, descending=[True, False])
    )


def quarantine_refused(validated: ValidatedExport, refused: pl.DataFrame) -> ValidatedExport:
    """Move valid rows the CRM itself would refuse (`refused`: line, rule, reason) to the
    quarantine, each with its original row; the other rows go on unchanged."""
    if refused.is_empty():
        return validated
    refused = refused.unique(LINE_COLUMN, keep="first", maintain_order=True)
    lines = refused.get_column(LINE_COLUMN).sort()
    documents = pl.concat(list(original_json(lines, validated.export, validated.source_columns)))
    moved = (
        validated.valid.lazy()
        .select(LINE_COLUMN, pl.col(validated.spec.id_column).alias(SOURCE_ROW_ID))
        .join(
            refused.rename({"rule": QUARANTINE_RULE, "reason": QUARANTINE_REASON}).lazy(),
            on=LINE_COLUMN,
        )
        .join(documents.lazy(), on=LINE_COLUMN)
        .select(*QUARANTINE_COLUMNS, RAW_JSON)
        .collect()
    )
    return dataclasses.replace(
        validated,
        valid=validated.valid.filter(~pl.col(LINE_COLUMN).is_in(lines.implode())),
        quarantined=pl.concat([validated.quarantined, moved]).sort(LINE_COLUMN),
    )


def _batches_or_empty(raw: RawExport, lines: pl.Series | None = None) -> Iterator[pl.DataFrame]:
    """The export's rows (those at `lines` when given) in batches; one empty frame of the
    export's columns when there are none, so every step still sees the columns."""
    if raw.row_count and (lines is None or not lines.is_empty()):
        yield from raw.batches(BATCH_ROWS, lines=lines)
    else:
        yield raw.lazy().head(0).collect()


def _settle_repeated_keys(
    valid: _BatchedRows, bad: pl.DataFrame, key: str
) -> tuple[pl.Series, pl.DataFrame, list[int]]:
    """Apply the duplicate rules to the rows of IDs that appear more than once.

    Reads only the keys of the valid rows, and gathers only the rows of repeated IDs
    (usually few); every row of a repeated ID is in the gathered set, which makes the rules
    exact. Returns the lines that leave the valid rows (collapsed and newly conflicting),
    the quarantine with the conflicting rows added, and the collapsed lines.
    """
    ids = pl.concat([*(part.get_column(key) for part in valid.keys), bad[key]])
    repeated = ids.filter(ids.is_duplicated() & ids.is_not_null()).unique()
    if repeated.is_empty():
        return pl.Series(LINE_COLUMN, [], dtype=pl.Int64), bad, []
    is_repeated = pl.col(key).is_in(repeated.implode()).fill_null(False)
    rows = pl.concat([valid.gather(is_repeated), bad.filter(is_repeated)], how="diagonal")
    rows, collapsed_lines = _collapse_identical_duplicates(rows.sort(LINE_COLUMN), key)
    rows = _flag_conflicting_duplicates(rows, key)
    newly_bad = rows.filter(pl.col(QUARANTINE_RULE).is_not_null())
    leaving = pl.concat([pl.Series(collapsed_lines, dtype=pl.Int64), newly_bad[LINE_COLUMN]])
    bad = pl.concat([bad.filter(~is_repeated), newly_bad.select(bad.columns)])
    return leaving, bad.sort(LINE_COLUMN), collapsed_lines


def _validate_batch(batch: pl.DataFrame, raw: RawExport) -> pl.DataFrame:
    """Typed columns, row hash, skip label and rule verdicts of one batch; the original text
    is dropped, except as JSON on rows already bound for quarantine."""
    spec = raw.spec
    typed = type_rows(batch, spec.typed_columns(), spec.row_rules())
    if spec.skip_label is not None:
        typed = typed.with_columns(spec.skip_label().alias(SKIP_LABEL))
    typed = typed.with_columns(raw_source_json(_source_columns(raw)))
    typed = typed.with_columns(row_hash(pl.col(RAW_JSON)))
    typed = _apply_model(typed, spec).with_columns(
        pl.when(pl.col(QUARANTINE_RULE).is_not_null()).then(pl.col(RAW_JSON)).alias(RAW_JSON)
    )
    return typed.drop(c for c in batch.columns if c != LINE_COLUMN)


def _with_every_raw_json(quarantined: pl.DataFrame, raw: RawExport) -> pl.DataFrame:
    """Rows quarantined only once the whole export was seen (conflicting duplicates) get
    their original JSON from a second pass over the file."""
    missing = quarantined.filter(pl.col(RAW_JSON).is_null()).get_column(LINE_COLUMN)
    if missing.is_empty():
        return quarantined
    found = pl.concat(original_json(missing, raw, _source_columns(raw)))
    found = found.rename({RAW_JSON: "_json"})
    return (
        quarantined.join(found, on=LINE_COLUMN, how="left", maintain_order="left")
        .with_columns(pl.coalesce(RAW_JSON, "_json").alias(RAW_JSON))
        .drop("_json")
    )


def original_json(
    lines: pl.Series, raw: RawExport, source_columns: tuple[str, ...], batch_rows: int = BATCH_ROWS
) -> Iterator[pl.DataFrame]:
    """(LINE_COLUMN, RAW_JSON) of the rows at `lines`, in file order, read again from the
    export `batch_rows` at a time (only the JSON of one batch is held at once)."""
    if lines.is_empty():
        return
    for batch in raw.batches(batch_rows, lines=lines.sort()):
        yield batch.select(LINE_COLUMN, raw_source_json(source_columns))


def row_hash(document: pl.Expr) -> pl.Expr:
    """The SHA-256 (hex) of each row's original JSON: an unchanged row hashes the same in
    every export, and the same as hashlib would (warehouses hold hashes made that way)."""
    return document.chash.sha2_256().alias(ROW_HASH)


def _source_columns(raw: RawExport) -> tuple[str, ...]:
    return tuple(name for name in raw.header.canonical_names if name != "") or raw.spec.columns


def raw_source_json(source_columns: tuple[str, ...]) -> pl.Expr:
    """The original CSV row as a JSON object, keyed by the file's own column names.

    A row with more fields than the header keeps the surplus under `"_extra_fields"`.
    """
    columns = list(source_columns)
    row = pl.struct(pl.col(name) for name in columns).struct.json_encode()
    with_extra = pl.concat_str(
        row.str.strip_suffix("}"),
        pl.lit(',"_extra_fields":'),
        pl.col(EXTRA_FIELDS_COLUMN),
        pl.lit("}"),
    )
    return (
        pl.when(pl.col(EXTRA_FIELDS_COLUMN).is_null())
        .then(row)
        .otherwise(with_extra)
        .alias(RAW_JSON)
    )


def _apply_model(typed: pl.DataFrame, spec: ExportSpec) -> pl.DataFrame:
    """Run the spec's pandera model on rows that passed the rules; record its failures."""
    if spec.model is None:
        return typed
    checked = [name for name in spec.model.to_schema().columns if name in typed.columns]
    # Skipped rows are not what the model describes (a card purchase has no sale type).
    skipped = pl.col(SKIP_LABEL).is_not_null() if SKIP_LABEL in typed.columns else pl.lit(False)
    candidates = (
        typed.select(*checked, QUARANTINE_RULE, skipped.alias("_skipped"))
        .with_row_index("_row")
        .filter(pl.col(QUARANTINE_RULE).is_null() & ~pl.col("_skipped"))
        .drop("_skipped")
    )
    try:
        spec.model.validate(candidates, lazy=True)
        return typed
    except pa.errors.SchemaErrors as errors:
        failures = _model_failures(errors.failure_cases, candidates, spec)
    return (
        typed.with_row_index("_row")
        .join(failures, on="_row", how="left")
        .with_columns(
            pl.coalesce(QUARANTINE_RULE, "_schema_rule").alias(QUARANTINE_RULE),
            pl.coalesce(QUARANTINE_REASON, "_schema_reason").alias(QUARANTINE_REASON),
        )
        .drop("_row", "_schema_rule", "_schema_reason")
    )


def _model_failures(
    failure_cases: pl.DataFrame, candidates: pl.DataFrame, spec: ExportSpec
) -> pl.DataFrame:
    """One (rule, reason) per failing row; failure values are not copied (they may be PII)."""
    rule = pl.col("check")
    reason = (
        pl.col("check")
        .replace_strict(dict(spec.model_reasons), default=None, return_dtype=pl.String)
        .fill_null(pl.format("{} fails {}", pl.col("column"), pl.col("check")))
    )
    per_case = (
        failure_cases.filter(pl.col("index").is_not_null())
        .select(pl.col("index").cast(pl.UInt32).alias("_candidate"), rule, reason.alias("reason"))
        .group_by("_candidate", maintain_order=True)
        .agg(pl.col("check").first().alias("_schema_rule"), pl.col("reason").str.join("; "))
    )
    row_of_candidate = candidates.select(pl.col("_row")).with_row_index("_candidate")
    return per_case.join(row_of_candidate, on="_candidate").select(
        "_row", "_schema_rule", pl.col("reason").alias("_schema_reason")
    )


def _collapse_identical_duplicates(typed: pl.DataFrame, key: str) -> tuple[pl.DataFrame, list[int]]:
    """Keep the first of rows that repeat the same key with the very same content."""
    repeat = pl.col(LINE_COLUMN).rank("ordinal").over(key, ROW_HASH) > 1
    has_id = pl.col(key).is_not_null()
    is_repeat = typed.select((repeat & has_id).fill_null(False)).to_series()
    if not is_repeat.any():
        return typed, []
    collapsed = typed.filter(is_repeat).get_column(LINE_COLUMN).to_list()
    return typed.filter(~is_repeat), collapsed


def _flag_conflicting_duplicates(typed: pl.DataFrame, key: str) -> pl.DataFrame:
    """Quarantine every row of a key that appears with different content: no guessing."""
    rows_with_id = pl.len().over(key)
    lines = pl.col(LINE_COLUMN).cast(pl.String).str.join(", ").over(key)
    conflicting = (rows_with_id > 1) & pl.col(key).is_not_null()
    return typed.with_columns(
        pl.when(conflicting & pl.col(QUARANTINE_RULE).is_null())
        .then(pl.lit("unique_id"))
        .otherwise(pl.col(QUARANTINE_RULE))
        .alias(QUARANTINE_RULE),
        pl.when(conflicting & pl.col(QUARANTINE_RULE).is_null())
        .then(
            pl.format(
                "ID {} appears with different values on lines {}",
                pl.col(key),
                lines,
            )
        )
        .otherwise(pl.col(QUARANTINE_REASON))
        .alias(QUARANTINE_REASON),
    )
