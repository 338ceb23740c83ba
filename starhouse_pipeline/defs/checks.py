"""Asset checks: what was read reconciles exactly with what the warehouse now holds.

The blocking ones stop the run before the report when a downstream result would be wrong.
On a dry run nothing was written, so the checks that compare with the warehouse say so
and pass; the row accounting still runs on the planned counts.
"""

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.assets import (
    contact_enrichments,
    loaded_transactions,
    validated_transactions,
)
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import reconciliation
from starhouse_pipeline.domain.contacts import ContactOutcome, is_blank
from starhouse_pipeline.domain.quarantine import quarantine_share_verdict
from starhouse_pipeline.domain.report import markdown_table, quarantine_by_rule
from starhouse_pipeline.domain.transactions import LoadOutcome
from starhouse_pipeline.domain.validation import ValidatedTransactions
from starhouse_pipeline.warehouse import contacts, transactions

_VALIDATED = {"validated": dg.AssetIn("validated_transactions")}


def _dry_run_result() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=True, description="Dry run: nothing was written, so nothing to compare."
    )


def _loaded_for_export(
    warehouse: WarehouseResource, validated: ValidatedTransactions
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The warehouse rows and completed revenue for the export's valid ids (read-only)."""
    with warehouse.transaction(dry_run=True) as connection:
        staged = transactions.stage_transaction_keys(
            connection, validated.valid.get_column("external_transaction_id")
        )
        return (
            transactions.read_loaded(connection, staged),
            transactions.revenue_for_staged(connection, staged),
        )


@dg.asset_check(asset=loaded_transactions, blocking=True, additional_ins=_VALIDATED)
def transactions_reconcile_with_export(
    loaded_transactions: LoadOutcome,
    validated: ValidatedTransactions,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """Per (type, status, currency): row count and exact amount read equal those loaded."""
    if loaded_transactions.dry_run:
        return _dry_run_result()
    loaded, _ = _loaded_for_export(warehouse, validated)
    expected = reconciliation.totals_by_kind(validated.valid)
    mismatches = reconciliation.compare_totals(expected, reconciliation.totals_by_kind(loaded))
    return dg.AssetCheckResult(
        passed=mismatches.is_empty(),
        metadata={
            "groups": expected.height,
            "rows_expected": validated.valid.height,
            "rows_in_warehouse": loaded.height,
            "amount_expected": str(reconciliation.decimal_total(validated.valid)),
            "amount_in_warehouse": str(reconciliation.decimal_total(loaded)),
            "totals": dg.MetadataValue.md(markdown_table(expected)),
            "mismatches": dg.MetadataValue.md(markdown_table(mismatches)),
        },
    )


@dg.asset_check(asset=loaded_transactions, blocking=True, additional_ins=_VALIDATED)
def every_row_accounted_for(
    loaded_transactions: LoadOutcome, validated: ValidatedTransactions
) -> dg.AssetCheckResult:
    """Rows read = loaded new + updated + unchanged + quarantined + collapsed duplicates."""
    load = loaded_transactions
    accounted = (
        load.inserted
        + load.updated
        + load.unchanged
        + validated.quarantined.height
        + len(validated.collapsed_lines)
    )
    return dg.AssetCheckResult(
        passed=accounted == validated.rows_read,
        metadata={
            "rows_read": validated.rows_read,
            "accounted": accounted,
            **load.counts,
            "quarantined": validated.quarantined.height,
            "duplicates_collapsed": len(validated.collapsed_lines),
        },
    )


@dg.asset_check(asset=loaded_transactions, blocking=True, additional_ins=_VALIDATED)
def transactions_have_contact_and_product(
    loaded_transactions: LoadOutcome,
    validated: ValidatedTransactions,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """Every loaded transaction has a contact, and a product whenever it has an Offer ID."""
    if loaded_transactions.dry_run:
        return _dry_run_result()
    loaded, _ = _loaded_for_export(warehouse, validated)
    offers = validated.valid.select("external_transaction_id", "offer_id")
    joined = loaded.join(offers, on="external_transaction_id", how="left")
    no_contact = joined.filter(pl.col("contact_id").is_null())
    no_product = joined.filter(pl.col("offer_id").is_not_null() & pl.col("product_id").is_null())
    return dg.AssetCheckResult(
        passed=no_contact.is_empty() and no_product.is_empty(),
        metadata={
            "without_contact": no_contact.height,
            "with_offer_but_without_product": no_product.height,
            "example_ids": ", ".join(
                pl.concat([no_contact, no_product])["external_transaction_id"].head(10).to_list()
            )
            or "none",
        },
    )


@dg.asset_check(asset=loaded_transactions, additional_ins=_VALIDATED)
def revenue_counts_completed_only(
    loaded_transactions: LoadOutcome,
    validated: ValidatedTransactions,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """Revenue (completed rows, refunds negative) agrees between polars and SQL; failed and
    pending money is reported apart and never counted."""
    if loaded_transactions.dry_run:
        return _dry_run_result()
    _, revenue_in_sql = _loaded_for_export(warehouse, validated)
    revenue = reconciliation.revenue_by_currency(validated.valid)
    not_revenue = reconciliation.not_revenue_by_status(validated.valid)
    return dg.AssetCheckResult(
        passed=_by_currency(revenue) == _by_currency(revenue_in_sql),
        metadata={
            "revenue": dg.MetadataValue.md(markdown_table(revenue)),
            "revenue_in_warehouse": dg.MetadataValue.md(markdown_table(revenue_in_sql)),
            "failed_and_pending": dg.MetadataValue.md(markdown_table(not_revenue)),
        },
    )


def _by_currency(revenue: pl.DataFrame) -> dict[str, str]:
    return {row["currency"]: str(row["revenue"]) for row in revenue.iter_rows(named=True)}


@dg.asset_check(asset=contact_enrichments, blocking=True)
def enrichment_never_overwrote(
    context: dg.AssetCheckExecutionContext,
    contact_enrichments: ContactOutcome,
    warehouse: WarehouseResource,
) -> dg.AssetCheckResult:
    """Every field this run filled was empty before, and every value it found is still there."""
    if contact_enrichments.dry_run:
        return _dry_run_result()
    with warehouse.transaction(dry_run=True) as connection:
        log = contacts.read_enrichment_log(connection, context.run.run_id)
        touched = log.get_column("contact_id").unique().to_list()
        current = contacts.read_contact_fields(connection, touched)
    before = contact_enrichments.snapshot.unpivot(
        index="id", on=[c for c in current.columns if c != "id"], variable_name="field"
    )
    filled_over_value = log.join(
        before, left_on=["contact_id", "field"], right_on=["id", "field"], how="inner"
    ).filter(~is_blank("value_right"))
    now = current.unpivot(index="id", variable_name="field", value_name="now")
    lost = (
        before.filter(pl.col("id").is_in(touched) & ~is_blank("value"))
        .join(now, on=["id", "field"])
        .filter(pl.col("value") != pl.col("now"))
    )
    return dg.AssetCheckResult(
        passed=filled_over_value.is_empty() and lost.is_empty(),
        metadata={
            "fields_filled": log.height,
            "filled_over_existing_value": filled_over_value.height,
            "existing_values_changed": lost.height,
        },
    )


def quarantine_share_check() -> dg.AssetChecksDefinition:
    """The blocking quarantine-share gate on `validated_transactions`.

    Built by a function, not at module level, so `definitions.py` decides where it is wired.
    """

    @dg.asset_check(asset=validated_transactions, blocking=True)
    def quarantine_share_within_threshold(
        validated_transactions: ValidatedTransactions, import_options: ImportOptions
    ) -> dg.AssetCheckResult:
        """At most `max_quarantine_share` of the rows read (default 1%) are quarantined; above
        that the export is probably wrong as a whole, so the run stops before the load."""
        validated = validated_transactions
        verdict = quarantine_share_verdict(
            validated.rows_read, validated.quarantined.height, import_options.max_quarantine_share
        )
        return dg.AssetCheckResult(
            passed=verdict.passed,
            description=verdict.description,
            metadata={
                "rows_read": validated.rows_read,
                "quarantined": validated.quarantined.height,
                "quarantined_share": dg.MetadataValue.float(verdict.share),
                "max_quarantine_share": dg.MetadataValue.float(verdict.threshold),
                "quarantine_by_rule": dg.MetadataValue.md(
                    markdown_table(quarantine_by_rule(validated.quarantined))
                ),
            },
        )

    return quarantine_share_within_threshold
