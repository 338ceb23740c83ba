"""Asset checks: what was read reconciles exactly with what the warehouse now holds.

The blocking ones stop the run before the report when a downstream result would be wrong.
On a dry run nothing was written, so the checks that compare with the warehouse say so
and pass; the row accounting still runs on the planned counts.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.assets import (
    TRANSACTIONS_EXPORT,
    contact_enrichments,
    loaded_transactions,
)
from starhouse_pipeline.defs.exports import row_accounting_check
from starhouse_pipeline.defs.resources import WarehouseResource
from starhouse_pipeline.domain import reconciliation
from starhouse_pipeline.domain.contacts import (
    ENRICHABLE_FIELDS,
    ContactOutcome,
    fills_over_values,
    values_changed,
    values_held,
)
from starhouse_pipeline.domain.formatting import markdown_table, money_by_currency
from starhouse_pipeline.domain.transactions import ExportFacts, LoadOutcome
from starhouse_pipeline.warehouse import analytics as warehouse_analytics
from starhouse_pipeline.warehouse import contacts, transactions
from starhouse_pipeline.warehouse import paypal as warehouse_paypal


def _dry_run_result(check_name: str | None = None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=True,
        description="Dry run: nothing was written, so nothing to compare.",
    )


RECONCILE = "transactions_reconcile_with_export"
LINKED = "transactions_have_contact_and_product"
REVENUE = "revenue_counts_completed_only"


def _warehouse_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            RECONCILE,
            asset=asset,
            blocking=True,
            description="Per (type, status, currency): row count and exact amount read equal "
            "those the warehouse holds for the export's ids.",
        ),
        dg.AssetCheckSpec(
            LINKED,
            asset=asset,
            blocking=True,
            description="Every loaded transaction has a contact, and a product whenever it "
            "has an Offer ID.",
        ),
        dg.AssetCheckSpec(
            REVENUE,
            asset=asset,
            description="Revenue (completed rows, refunds negative) agrees between polars over "
            "the export and the database's sums; failed and pending money is reported apart "
            "and never counted.",
        ),
    ]


def warehouse_agreement_checks(asset: str, name: str) -> dg.AssetChecksDefinition:
    """The reconciliation, link and revenue checks of a transactions load (`asset`)."""
    specs = _warehouse_check_specs(asset)

    @dg.multi_asset_check(specs=specs, name=name, ins={"load": dg.AssetIn(asset)})
    def warehouse_agrees_with_export(
        load: LoadOutcome, warehouse: WarehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        """The export's expectations against what the database now holds, read once.

        The export's ids are staged once and the database sums their rows per (type, status,
        currency) in one pass, so the three checks cost one aggregate query, however large
        the export.
        """
        if load.dry_run:
            for spec in specs:
                yield _dry_run_result(spec.name)
            return
        export = load.export
        with warehouse.transaction(dry_run=True) as connection:
            staged = transactions.stage_export_keys(connection, export.keys, export.source_system)
            held = transactions.totals_for_staged(connection, staged)
            unlinked = held.select(pl.sum("without_contact", "without_product")).row(0)
            examples = transactions.unlinked_examples(connection, staged) if any(unlinked) else []
        yield _reconciliation_result(export, held.drop("without_contact", "without_product"))
        yield _linked_result(*unlinked, examples)
        yield _revenue_result(export, reconciliation.revenue_by_currency(held))

    return warehouse_agrees_with_export


warehouse_agrees_with_export = warehouse_agreement_checks(
    "loaded_transactions", "warehouse_agrees_with_export"
)


def _reconciliation_result(export: ExportFacts, held: pl.DataFrame) -> dg.AssetCheckResult:
    mismatches = reconciliation.compare_totals(export.totals, held)
    return dg.AssetCheckResult(
        check_name=RECONCILE,
        passed=mismatches.is_empty(),
        metadata={
            "groups": export.totals.height,
            "rows_expected": int(export.totals.get_column("rows").sum()),
            "rows_in_warehouse": int(held.get_column("rows").sum()),
            "amount_expected": money_by_currency(_amount_by_currency(export.totals)),
            "amount_in_warehouse": money_by_currency(_amount_by_currency(held)),
            "totals": dg.MetadataValue.md(markdown_table(export.totals)),
            "mismatches": dg.MetadataValue.md(markdown_table(mismatches)),
        },
    )


def _amount_by_currency(totals: pl.DataFrame) -> dict:
    """The exact amount per currency of a (type, status, currency) totals frame."""
    if totals.is_empty():
        return {}
    return dict(totals.group_by("currency").agg(pl.col("amount").sum()).iter_rows())


def _linked_result(
    without_contact: int, without_product: int, examples: list[str]
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=LINKED,
        passed=without_contact == 0 and without_product == 0,
        metadata={
            "without_contact": without_contact,
            "with_offer_but_without_product": without_product,
            "example_ids": ", ".join(examples) or "none",
        },
    )


def _revenue_result(export: ExportFacts, revenue_in_sql: pl.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=REVENUE,
        passed=_by_currency(export.revenue) == _by_currency(revenue_in_sql),
        metadata={
            "revenue": dg.MetadataValue.md(markdown_table(export.revenue)),
            "revenue_in_warehouse": dg.MetadataValue.md(markdown_table(revenue_in_sql)),
            "failed_and_pending": dg.MetadataValue.md(markdown_table(export.not_revenue)),
        },
    )


def _by_currency(revenue: pl.DataFrame) -> dict[str, str]:
    return {row["currency"]: str(row["revenue"]) for row in revenue.iter_rows(named=True)}


every_row_accounted_for = row_accounting_check(loaded_transactions)


def no_overwrite_check(contacts_asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The blocking check that a contacts step filled only empty fields and lost nothing."""

    @dg.asset_check(asset=contacts_asset, name="enrichment_never_overwrote", blocking=True)
    def enrichment_never_overwrote(
        context: dg.AssetCheckExecutionContext,
        outcome: ContactOutcome,
        warehouse: WarehouseResource,
    ) -> dg.AssetCheckResult:
        """Every field this run filled was empty before, and every value it found is still
        there."""
        if outcome.dry_run:
            return _dry_run_result()
        with warehouse.transaction(dry_run=True) as connection:
            log = contacts.read_enrichment_log(connection, context.run.run_id)
            touched = log.get_column("contact_id").unique().to_list()
            current = contacts.read_contact_fields(connection, touched)
        held = values_held(outcome.snapshot, ENRICHABLE_FIELDS)
        filled_over_value = fills_over_values(log, held)
        lost = values_changed(held, current)
        return dg.AssetCheckResult(
            passed=filled_over_value.is_empty() and lost.is_empty(),
            metadata={
                "fields_filled": log.height,
                "filled_over_existing_value": filled_over_value.height,
                "existing_values_changed": lost.height,
            },
        )

    return enrichment_never_overwrote


enrichment_never_overwrote = no_overwrite_check(contact_enrichments)


def counted_once_check(load: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    """The blocking check that revenue never counts a payment found in both sources twice."""

    @dg.asset_check(asset=load, name="revenue_counts_each_payment_once", blocking=True)
    def revenue_counts_each_payment_once(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        """Revenue by month never counts a recorded pair twice: of each payment in both the
        Kajabi and the PayPal export, only the Kajabi row passes the predicate every metric
        reads transactions through (`counted_once`). Asked of the pairs only, so it costs the
        same at a million transactions."""
        with warehouse.transaction(dry_run=True) as connection:
            pairs = warehouse_paypal.count_pairs(connection)
            twice = warehouse_analytics.pairs_counted_twice(connection)
        return dg.AssetCheckResult(
            passed=twice == 0, metadata={"pairs": pairs, "pairs_counted_twice": twice}
        )

    return revenue_counts_each_payment_once


revenue_counts_each_payment_once = counted_once_check(loaded_transactions)
quarantine_share_within_threshold = TRANSACTIONS_EXPORT.quarantine_gate
