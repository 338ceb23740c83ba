"""PayPal's activity export, imported through the same framework as Kajabi's.

`raw_paypal_activity` and `validated_paypal_activity` come from the export factory like every
export's (the spec is `domain/paypal.py`): rows that are not sales are counted per kind as
skipped, never quarantined. Then the same steps as the Kajabi chain, with PayPal's
provenance: products by item title (the alias table first), contacts by the payer's email
(only empty fields filled, `paypal_transaction` as the source), the sales and refunds loaded
as `source_system = 'paypal'`, with the payments Kajabi charged through PayPal that appear in
both exports recorded as one payment each (in the load's transaction, by Kajabi's load too),
so revenue counts each once.
"""

import dagster as dg
import polars as pl
import sqlalchemy as sa

from starhouse_pipeline.defs.assets import (
    enrich_contacts,
    held_transactions,
    load_transactions,
    validated_scan,
)
from starhouse_pipeline.defs.checks import (
    counted_once_check,
    no_overwrite_check,
    warehouse_agreement_checks,
)
from starhouse_pipeline.defs.exports import (
    WAREHOUSE_POOL,
    export_assets,
    masked_preview,
    row_accounting_check,
)
from starhouse_pipeline.defs.report import ReportSource, import_report_asset
from starhouse_pipeline.defs.resources import ImportOptions, WarehouseResource
from starhouse_pipeline.domain.contacts import ContactOutcome
from starhouse_pipeline.domain.formatting import markdown_table
from starhouse_pipeline.domain.paypal import ENRICHMENT_SOURCE, PAYPAL_ACTIVITY, SOURCE_SYSTEM
from starhouse_pipeline.domain.paypal_products import item_titles, resolve_item_titles
from starhouse_pipeline.domain.report import TITLE_LABELS
from starhouse_pipeline.domain.transactions import LoadOutcome
from starhouse_pipeline.domain.validation import ValidatedExport
from starhouse_pipeline.warehouse import paypal as warehouse_paypal
from starhouse_pipeline.warehouse import products, transactions

PAYPAL_GROUP = "paypal_activity"
_PREVIEW = {
    "line": "_line",
    "id": "external_transaction_id",
    "type": "transaction_type",
    "status": "status",
    "amount": "amount",
    "fee": "fee",
    "currency": "currency",
    "email": "email",
    "item": "offer_title",
}


def _preview(valid: pl.DataFrame) -> pl.DataFrame:
    return masked_preview(valid, _PREVIEW)


def _refused_by_crm(connection: sa.Connection, valid: pl.DataFrame) -> pl.DataFrame:
    return transactions.refused_by_crm(connection, valid, SOURCE_SYSTEM)


PAYPAL_EXPORT = export_assets(
    PAYPAL_ACTIVITY,
    raw_name="raw_paypal_activity",
    validated_name="validated_paypal_activity",
    group=PAYPAL_GROUP,
    refusals=_refused_by_crm,
    resolves_earlier_quarantine=True,
    preview=_preview,
    held=held_transactions(SOURCE_SYSTEM),
)
raw_paypal_activity = PAYPAL_EXPORT.raw
validated_paypal_activity = PAYPAL_EXPORT.validated
paypal_quarantine_gate = PAYPAL_EXPORT.quarantine_gate


@dg.asset(group_name=PAYPAL_GROUP, kinds={"polars", "sql"}, pool=WAREHOUSE_POOL)
def paypal_products(
    validated_paypal_activity: ValidatedExport, warehouse: WarehouseResource
) -> dg.Output[pl.DataFrame]:
    """Each PayPal item title resolved to a CRM product: the `product_aliases` table first
    (title → product, kept by the operator), then the one product of the same normalized
    name. Nothing is created: a title neither finds is reported with its transaction count,
    to be aliased; its transactions load without a product."""
    titles = item_titles(validated_paypal_activity.valid)
    with warehouse.transaction(dry_run=True) as connection:
        known = products.read_products(connection)
        aliases = warehouse_paypal.read_product_aliases(connection)
    resolved, unmapped = resolve_item_titles(titles, known, aliases)
    by = resolved.get_column("matched_by")
    return dg.Output(
        pl.concat([resolved, unmapped.select("offer_title")], how="diagonal_relaxed").select(
            "offer_title", "product_id", "matched_by"
        ),
        metadata={
            "titles": titles.height,
            "matched_by_alias": int((by == "alias").sum()),
            "matched_by_name": int((by == "name").sum()),
            "unmapped_titles": unmapped.height,
            "unmapped_transactions": int(unmapped.get_column("transactions").sum()),
            "unmapped": dg.MetadataValue.md(markdown_table(unmapped.head(20))),
        },
    )


@dg.asset(
    group_name=PAYPAL_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    deps=[paypal_products],
    ins={"validated_paypal_activity": validated_scan("validated_paypal_activity")},
)
def paypal_contacts(
    context: dg.AssetExecutionContext,
    validated_paypal_activity: ValidatedExport,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[ContactOutcome]:
    """PayPal's customers (the payer of a payment, the payee of a refund) matched to CRM
    contacts by normalized email, as Kajabi's are: only empty phone and address fields are
    filled (`paypal_transaction` as their source, each fill logged), customers without a
    contact become contacts from `paypal`, and no existing value is ever overwritten."""
    return enrich_contacts(
        context,
        validated_paypal_activity,
        warehouse,
        import_options,
        source=ENRICHMENT_SOURCE,
        source_system=SOURCE_SYSTEM,
    )


@dg.asset(
    group_name=PAYPAL_GROUP,
    kinds={"polars", "sql"},
    pool=WAREHOUSE_POOL,
    ins={"validated_paypal_activity": validated_scan("validated_paypal_activity")},
)
def loaded_paypal_transactions(
    context: dg.AssetExecutionContext,
    validated_paypal_activity: ValidatedExport,
    paypal_products: pl.DataFrame,
    paypal_contacts: ContactOutcome,
    warehouse: WarehouseResource,
    import_options: ImportOptions,
) -> dg.Output[LoadOutcome]:
    """PayPal's sales and refunds in the CRM's `transactions`, keyed on (`paypal`,
    Transaction ID): Gross as the amount, the UTC time from Date, Time and TimeZone, each
    linked to its contact and (where the title resolves) product, `raw_source` holding the
    original row (Fee and Net included). Re-importing the same export changes nothing.

    In the same transaction, the payments found in both sources are recorded again
    (`starhouse.same_payments`): a Kajabi sale charged through PayPal and a PayPal payment of
    the same contact, amount and currency within `same_payment_window_minutes` (import
    option, default 10) are one payment, its evidence kept (both ids, seconds apart); a row
    with two candidates is recorded as ambiguous and never merged. The Kajabi load does the
    same, so the export that arrives second completes a pair whatever the order."""
    return load_transactions(
        context,
        validated_paypal_activity,
        paypal_products,
        paypal_contacts.contact_ids,
        warehouse,
        import_options,
        source_system=SOURCE_SYSTEM,
        product_key="offer_title",
    )


paypal_rows_accounted_for = row_accounting_check(loaded_paypal_transactions)
paypal_warehouse_agrees_with_export = warehouse_agreement_checks(
    "loaded_paypal_transactions", "paypal_warehouse_agrees_with_export"
)
paypal_enrichment_never_overwrote = no_overwrite_check(paypal_contacts)
paypal_revenue_counts_each_payment_once = counted_once_check(loaded_paypal_transactions)


def _same_payments_note(load: LoadOutcome) -> list[str]:
    pairs = load.same_payments
    return [
        f"{pairs} of the warehouse's PayPal payments are also in the Kajabi export: each "
        "counts once (table starhouse.same_payments)"
    ]


paypal_import_report = import_report_asset(
    "paypal_import_report",
    PAYPAL_GROUP,
    ReportSource(
        title="PayPal import report",
        source_name="PayPal",
        product_key="offer_title",
        validated="validated_paypal_activity",
        products="paypal_products",
        contacts="paypal_contacts",
        load="loaded_paypal_transactions",
        product_labels=TITLE_LABELS,
        notes=_same_payments_note,
    ),
)


# One process, like every import job: its steps are short and touch one database.
paypal_import_job = dg.define_asset_job(
    "paypal_import_job",
    selection=dg.AssetSelection.groups(PAYPAL_GROUP),
    description="Import one PayPal activity export into contacts and transactions, with its "
    "checks, and find the payments that are also in the Kajabi export.",
    executor_def=dg.in_process_executor,
)
