"""The Kajabi Subscriptions export: who subscribes to what, imported with its checks.

`raw_kajabi_subscriptions` and `validated_kajabi_subscriptions` read and check the export as
every export is (`defs/exports.py`); `kajabi_subscriptions` fills the import's own table (and
the CRM's `subscriptions` table, where it has one); `subscriptions_import_job` runs them.
"""

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.exports import (
    EXPORTS_GROUP,
    WAREHOUSE_POOL,
    export_assets,
    row_accounting_check,
    summary_line,
)
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import subscriptions as subscription_rules
from starhouse_pipeline.domain.formatting import counts_frame, markdown_table
from starhouse_pipeline.domain.report import quarantine_by_rule
from starhouse_pipeline.domain.subscriptions import (
    SUBSCRIPTION_LABELS,
    SUBSCRIPTIONS,
    subscriptions_summary,
)
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.warehouse import bookkeeping, crm_subscriptions
from starhouse_pipeline.warehouse import contacts as warehouse_contacts
from starhouse_pipeline.warehouse import products as warehouse_products
from starhouse_pipeline.warehouse import subscriptions as warehouse_subscriptions

SUBSCRIPTIONS_EXPORT = export_assets(
    SUBSCRIPTIONS,
    raw_name="raw_kajabi_subscriptions",
    validated_name="validated_kajabi_subscriptions",
    group=EXPORTS_GROUP,
    # A few hundred rows: one bad row is already 1%. The gate warns; the load goes on.
    gate_stops_load=False,
    refusals=crm_subscriptions.refused_by_crm,
)
raw_kajabi_subscriptions = SUBSCRIPTIONS_EXPORT.raw
validated_kajabi_subscriptions = SUBSCRIPTIONS_EXPORT.validated
subscriptions_quarantine_gate = SUBSCRIPTIONS_EXPORT.quarantine_gate


@dg.asset(group_name=EXPORTS_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL)
def kajabi_subscriptions(
    context: dg.AssetExecutionContext,
    validated_kajabi_subscriptions: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[subscription_rules.SubscriptionImport]:
    """Who subscribes to what, at what price and interval, as Kajabi's Subscriptions export
    says: table `kajabi_subscriptions`, linked to contacts (by email) and products (by Offer
    ID).

    Offers with no product are reported (never created here), as are customers without a
    contact. Re-importing changes nothing; a newer export updates what Kajabi changed.

    Where the CRM has a `subscriptions` table of its own, it is filled too (matched on
    `kajabi_subscription_id`, statuses mapped into its enum, the product linked when the
    offer resolves); a field a person set is never overwritten. Rows its constraints would
    refuse were quarantined by `validated_kajabi_subscriptions`.
    """
    validated = validated_kajabi_subscriptions
    dry_run = import_options.dry_run
    with warehouse.transaction(dry_run=dry_run) as connection:
        linked = subscription_rules.link_products(
            validated.valid, warehouse_products.read_products(connection)
        )
        contact_ids = warehouse_contacts.contact_ids_for_emails(
            connection, warehouse_contacts.stage_emails(connection, linked["email"].unique())
        )
        records = subscription_rules.subscription_records(linked, contact_ids, validated.raw_rows())
        has_crm_table = crm_subscriptions.crm_has_subscriptions(connection)
        if has_crm_table:
            last_written = warehouse_subscriptions.read_subscription_records(
                connection, records.get_column("external_subscription_id")
            )
        counts = warehouse_subscriptions.upsert_subscriptions(
            connection, records, context.run_id, dry_run=dry_run
        )
        crm_counts = (
            crm_subscriptions.fill_crm_subscriptions(
                connection,
                subscription_rules.crm_subscription_rows(records),
                subscription_rules.crm_subscription_rows(last_written),
                dry_run=dry_run,
            ).as_metadata()
            if has_crm_table
            else {}
        )
        bookkeeping.finish_import_run(
            connection,
            context.run_id,
            rows_new=counts["inserted"],
            rows_updated=counts["updated"],
            rows_unchanged=counts["unchanged"],
        )
    outcome = subscription_rules.SubscriptionImport(
        file=validated.file,
        dry_run=dry_run,
        rows_read=validated.rows_read,
        quarantined=validated.quarantined.height,
        collapsed=len(validated.collapsed_lines),
        valid_ids=records.get_column("external_subscription_id").to_list(),
        expected_totals=subscription_rules.totals_by_status(records),
        counts=counts,
        unmapped_offers=subscription_rules.unmapped_offers(linked),
        without_contact=records.filter(pl.col("contact_id").is_null()).height,
    )
    numbers = {
        "rows_read": outcome.rows_read,
        **counts,
        "quarantined": outcome.quarantined,
        "duplicates_collapsed": outcome.collapsed,
        "unmapped_subscriptions": int(outcome.unmapped_offers["subscriptions"].sum()),
        "subscriptions_without_contact": outcome.without_contact,
    }
    return dg.Output(
        outcome,
        metadata={
            **summary_line(subscriptions_summary(numbers, dry_run)),
            "counts": dg.MetadataValue.md(
                markdown_table(counts_frame(numbers, SUBSCRIPTION_LABELS, dry_run))
            ),
            **numbers,
            **crm_counts,
            "unmapped_offers": dg.MetadataValue.md(markdown_table(outcome.unmapped_offers)),
            "quarantine_by_rule": dg.MetadataValue.md(
                markdown_table(quarantine_by_rule(validated.quarantined))
            ),
            "by_status": dg.MetadataValue.md(markdown_table(outcome.expected_totals)),
            "dry_run": dry_run,
        },
    )


@dg.asset_check(asset=kajabi_subscriptions, blocking=True)
def subscriptions_reconcile_with_export(
    kajabi_subscriptions: subscription_rules.SubscriptionImport, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Per (status, currency): count and exact amount read equal those in `subscriptions`."""
    outcome = kajabi_subscriptions
    if outcome.dry_run:
        return dg.AssetCheckResult(passed=True, description="Dry run: nothing was written.")
    with warehouse.transaction(dry_run=True) as connection:
        stored = warehouse_subscriptions.read_subscriptions_by_id(
            connection, pl.Series(outcome.valid_ids, dtype=pl.String)
        )
    found = subscription_rules.totals_by_status(stored)
    expected = outcome.expected_totals
    return dg.AssetCheckResult(
        passed=expected.equals(found),
        metadata={
            "expected": dg.MetadataValue.md(markdown_table(expected)),
            "in_warehouse": dg.MetadataValue.md(markdown_table(found)),
        },
    )


every_subscription_row_accounted_for = row_accounting_check(kajabi_subscriptions)


@dg.asset_check(asset=kajabi_subscriptions)
def subscriptions_have_product_and_contact(
    kajabi_subscriptions: subscription_rules.SubscriptionImport,
) -> dg.AssetCheckResult:
    """Every subscription's offer has a product and its customer a contact (a warning:
    unmapped offers are listed so the operator can create or map the products)."""
    outcome = kajabi_subscriptions
    unmapped = int(outcome.unmapped_offers["subscriptions"].sum())
    return dg.AssetCheckResult(
        passed=unmapped == 0 and outcome.without_contact == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unmapped_subscriptions": unmapped,
            "unmapped_offers": dg.MetadataValue.md(markdown_table(outcome.unmapped_offers)),
            "subscriptions_without_contact": outcome.without_contact,
        },
    )


# Each job runs in one process, like `import_job`: its steps are short (0.2-1 s) and touch one
# database, so a process per step (Dagster's default) cost more than the work: the analytics
# took 39 s for 800 rows that way.
subscriptions_import_job = dg.define_asset_job(
    "subscriptions_import_job",
    selection=dg.AssetSelection.assets(*SUBSCRIPTIONS_EXPORT.assets, kajabi_subscriptions),
    description="Import one Kajabi Subscriptions export into `subscriptions`, with its checks.",
    executor_def=dg.in_process_executor,
)
