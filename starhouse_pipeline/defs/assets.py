"""The Kajabi transactions import as software-defined assets: read, validate (both made by
the export factory), resolve products, enrich contacts, load.

Each asset reads its inputs, calls the domain's pure functions, writes through the
warehouse package in one database transaction, and reports counts and a masked preview.
"""

from datetime import timedelta
from functools import partial

import dagster as dg
import polars as pl

from starhouse_pipeline.defs.exports import WAREHOUSE_POOL, HeldRows, export_assets
from starhouse_pipeline.defs.io import LAZY_FRAMES
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain import contacts as contact_rules
from starhouse_pipeline.domain import products as product_rules
from starhouse_pipeline.domain.changes import classify_changes
from starhouse_pipeline.domain.fields import LINE_COLUMN
from starhouse_pipeline.domain.formatting import markdown_table
from starhouse_pipeline.domain.kajabi_transactions import TRANSACTIONS
from starhouse_pipeline.domain.keys import CRM_KEY
from starhouse_pipeline.domain.masking import mask_email_expr
from starhouse_pipeline.domain.transactions import (
    UNCHANGED_COLUMNS,
    LoadOutcome,
    export_facts,
    record_batches,
    record_keys,
)
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.settings import ENRICHMENT_SOURCE, SOURCE_SYSTEM
from starhouse_pipeline.warehouse import bookkeeping, contacts, products, transactions
from starhouse_pipeline.warehouse import paypal as warehouse_paypal

IMPORT_GROUP = "kajabi_import"


def validated_scan(asset: str) -> dg.AssetIn:
    """A validated export whose valid and unchanged rows are scans, read a batch at a time
    (the load's `record_batches`, the contacts' `valid_batches`) or summed by the streaming
    engine, never whole."""
    return dg.AssetIn(asset, metadata={LAZY_FRAMES: ["valid", "unchanged"]})


def _masked_preview(valid: pl.DataFrame, rows: int = 5) -> pl.DataFrame:
    return valid.head(rows).select(
        pl.col(LINE_COLUMN).alias("line"),
        pl.col("external_transaction_id").alias("id"),
        "transaction_type",
        "status",
        "amount",
        "currency",
        pl.col("transaction_date").dt.strftime("%Y-%m-%d %H:%M UTC").alias("date"),
        mask_email_expr("email").alias("email"),
        "offer_title",
    )


def held_transactions(source_system: str) -> HeldRows:
    """How `transactions` tells the rows of `source_system` it holds as they are (the
    transactions exports of every source), keeping what the checks and report sum."""
    return HeldRows(
        holds_any=partial(transactions.holds_rows_of, source_system=source_system),
        not_held=partial(transactions.fingerprints_not_held, source_system=source_system),
        columns=UNCHANGED_COLUMNS,
    )


# The chain's first two assets, as every export has them; their names are the client's and
# persist in run history.
TRANSACTIONS_EXPORT = export_assets(
    TRANSACTIONS,
    raw_name="raw_kajabi_csv",
    validated_name="validated_transactions",
    group=IMPORT_GROUP,
    refusals=transactions.refused_by_crm,
    resolves_earlier_quarantine=True,
    preview=_masked_preview,
    held=held_transactions(SOURCE_SYSTEM),
)
raw_kajabi_csv = TRANSACTIONS_EXPORT.raw
validated_transactions = TRANSACTIONS_EXPORT.validated


@dg.asset(
    group_name=IMPORT_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    ins={"validated_transactions": validated_scan("validated_transactions")},
)
def resolved_products(
    validated_transactions: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[pl.DataFrame]:
    """Each Kajabi Offer ID resolved to a CRM product: by offer id, by name, or created.

    A name match back-fills the Offer ID onto a product that has none. A name shared with a
    product that already carries a different Offer ID (or with several products) is refused
    and reported; that offer gets a product of its own, named with its Offer ID appended so
    no two products share a normalized name.
    """
    offers = product_rules.offers_in_export(
        validated_transactions.valid_batches(product_rules.OFFER_COLUMNS)
    )
    dry_run = import_options.dry_run
    with warehouse.transaction(dry_run=dry_run) as connection:
        plan = product_rules.plan_products(offers, products.read_products(connection))
        created = (
            plan.to_create.select("offer_id", pl.lit(None, CRM_KEY).alias("product_id"))
            if dry_run
            else products.apply_product_plan(connection, plan)
        )
    product_ids = product_rules.product_ids_by_offer(plan, created)
    return dg.Output(
        product_ids,
        metadata={
            "offers": offers.height,
            "matched_by_offer_id": plan.matched_by_id.height,
            "matched_by_name": plan.matched_by_name.height,
            "created": plan.to_create.height,
            "name_collisions_refused": plan.collisions.height,
            "collisions": dg.MetadataValue.md(markdown_table(plan.collisions)),
            "created_under_a_distinct_name": dg.MetadataValue.md(markdown_table(plan.renamed)),
            "dry_run": dry_run,
        },
    )


# Ordered after products so the chain reads (and runs) as one line in the UI: an export
# whose offers cannot be resolved stops before any contact is touched.
@dg.asset(
    group_name=IMPORT_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    deps=["resolved_products"],
    ins={"validated_transactions": validated_scan("validated_transactions")},
)
def contact_enrichments(
    context: dg.AssetExecutionContext,
    validated_transactions: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[contact_rules.ContactOutcome]:
    """Customers matched to CRM contacts by normalized email; only empty fields are filled.

    An empty phone is filled from the billing phone (`phone_source = 'kajabi_transaction'`);
    when `address_line_1` is empty, the empty fields of the address block are filled from
    the billing address (`billing_address_source = 'kajabi_transaction'`). Every fill is
    logged in `contact_enrichment_log`. Customers without a contact become new contacts.
    Existing values are never overwritten: the UPDATE itself refuses non-empty fields.
    """
    return enrich_contacts(
        context, validated_transactions, warehouse, import_options, source=ENRICHMENT_SOURCE
    )


def enrich_contacts(
    context: dg.AssetExecutionContext,
    validated: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
    *,
    source: str,
    source_system: str = SOURCE_SYSTEM,
) -> dg.Output[contact_rules.ContactOutcome]:
    """Match an export's customers to contacts, create the missing ones and fill only empty
    fields, with `source` as the provenance (the transactions imports of every source)."""
    # Parted by email: a batch of lines holds mostly distinct customers, so per-batch picks
    # would be nearly as large as the rows (at 5M rows, a 2.2 GB peak against 1.35 GB).
    customers = contact_rules.customers_in_export(
        validated.valid_partitions("email", contact_rules.CUSTOMER_COLUMNS)
    )
    dry_run = import_options.dry_run
    with warehouse.transaction(dry_run=dry_run) as connection:
        emails = contacts.stage_emails(connection, customers.get_column("email"))
        snapshot = contacts.read_contact_snapshot(connection, emails)
        plan = contact_rules.plan_contacts(customers, snapshot)
        counts = (
            contact_rules.planned_counts(plan)
            if dry_run
            else contacts.apply_contact_plan(
                connection, plan, context.run_id, source, source_system
            )
        )
        contact_ids = contacts.contact_ids_for_emails(connection, emails)
    outcome = contact_rules.ContactOutcome(
        dry_run=dry_run, contact_ids=contact_ids, snapshot=snapshot, counts=counts
    )
    return dg.Output(
        outcome,
        metadata={"customers": customers.height, "matched": plan.matched.height, **counts},
    )


@dg.asset(
    group_name=IMPORT_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    ins={"validated_transactions": validated_scan("validated_transactions")},
)
def loaded_transactions(
    context: dg.AssetExecutionContext,
    validated_transactions: ValidatedExport,
    resolved_products: pl.DataFrame,
    contact_enrichments: contact_rules.ContactOutcome,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[LoadOutcome]:
    """Validated transactions in the CRM, keyed on (source_system, external_transaction_id).

    New transactions are inserted and ones Kajabi changed are updated, each linked to its
    contact and product, with `raw_source` holding the original CSV row and `import_run_id`
    the run that wrote it. Re-importing the same export changes nothing. Kajabi charges
    through PayPal that PayPal's export also holds are recorded as one payment each
    (`starhouse.same_payments`), so every metric counts them once.
    """
    return load_transactions(
        context,
        validated_transactions,
        resolved_products,
        contact_enrichments.contact_ids,
        warehouse,
        import_options,
    )


def load_transactions(
    context: dg.AssetExecutionContext,
    validated: ValidatedExport,
    product_ids: pl.DataFrame,
    contact_ids: pl.DataFrame,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
    *,
    source_system: str = SOURCE_SYSTEM,
    product_key: str = "offer_id",
) -> dg.Output[LoadOutcome]:
    """Insert an export's new transactions and update the changed ones, keyed on
    (`source_system`, external id); what is unchanged is only counted. Then record again
    which payments sit in both sources (`starhouse.same_payments`)."""
    dry_run = import_options.dry_run
    batches = partial(
        record_batches,
        validated,
        product_ids=product_ids,
        contact_ids=contact_ids,
        source_system=source_system,
        product_key=product_key,
    )
    with warehouse.transaction(dry_run=dry_run) as connection:
        totals_before = transactions.totals_by_source_system(connection)
        # Asked again under the write lock, of the rows to write only: another import may
        # have loaded some of them since this one's validation told the unchanged rows apart.
        keys = record_keys(validated, source_system)
        not_held_as_is = transactions.keys_not_held_as_they_are(connection, keys)
        changes = classify_changes(
            keys.select("external_transaction_id", LINE_COLUMN).collect(), not_held_as_is
        )
        inserted, updated = changes.new.height, changes.changed.height
        unchanged = changes.unchanged + validated.unchanged_rows
        if not dry_run:
            inserted = transactions.insert_new(
                connection, batches(changes.new.get_column(LINE_COLUMN)), context.run_id
            )
            updated = transactions.update_changed(
                connection, batches(changes.changed.get_column(LINE_COLUMN)), context.run_id
            )
            bookkeeping.finish_import_run(
                connection,
                context.run_id,
                rows_new=inserted,
                rows_updated=updated,
                rows_unchanged=unchanged,
            )
        # In the load's own transaction: whichever source arrives second completes a pair,
        # and no reader ever sees the new rows without the record of which count once.
        window = timedelta(minutes=import_options.same_payment_window_minutes)
        same = warehouse_paypal.record_same_payments(connection, context.run_id, window)
        # Read while the write lock is held, as the batches were: no other import replaces
        # the validated rows' file in between.
        export = export_facts(validated, source_system)
    outcome = LoadOutcome(
        dry_run=dry_run,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        totals_before=totals_before,
        export=export,
        same_payments=same.pairs.height,
        ambiguous_same_payments=same.ambiguous.height,
    )
    metadata = {
        **outcome.counts,
        "same_payments": outcome.same_payments,
        "ambiguous_same_payment_rows": outcome.ambiguous_same_payments,
        "dry_run": dry_run,
    }
    return dg.Output(outcome, metadata=metadata)
